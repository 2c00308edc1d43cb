/*
** merge.c: merging partial attention results (see merge.h).
*/
#include "merge.h"
#include "alloc.h"
#include <math.h>
#include <string.h>

/* Fix the shape from the first row and allocate the accumulators. */
static int mergeStart(attn_merge *p, int64_t nO, int64_t nLse,
                      attn_err *pErr){
  int64_t h, d;
  if( nO%nLse!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "output has %lld elements, which "
        "the %lld heads of lse (one element per head) cannot divide: "
        "expected the heads' outputs concatenated, before W_O",
        (long long)nO, (long long)nLse);
  }
  d = nO/nLse;
  /* nO and nLse are element counts of vectors (below 2^31), so neither
  ** byte count can overflow. */
  p->aAcc = attn_malloc(sizeof(attn_softmax_acc)*(uint64_t)nLse);
  p->aSum = attn_malloc(8*(uint64_t)nO);
  if( p->aAcc==0 || p->aSum==0 ){
    attn_merge_clear(p);
    return attn_err_nomem(pErr);
  }
  for(h=0; h<nLse; h++) attn_softmax_start(&p->aAcc[h], 1.0, p->aSum + h*d, d);
  p->nHead = nLse;
  p->nDimOut = nO;
  return ATTN_OK;
}

int attn_merge_add(attn_merge *p, const float *o, int64_t nO,
                   const float *lse, int64_t nLse, attn_err *pErr){
  int64_t h, d;
  if( p->nRow==0 ){
    int rc = mergeStart(p, nO, nLse, pErr);
    if( rc ) return rc;
  }else if( nO!=p->nDimOut || nLse!=p->nHead ){
    return attn_err_set(pErr, ATTN_ERROR, "row %lld of the group has an "
        "output of %lld and an lse of %lld elements, expected %lld and %lld "
        "like row 1 (rows counted without the NULL ones)",
        (long long)p->nRow+1, (long long)nO, (long long)nLse,
        (long long)p->nDimOut, (long long)p->nHead);
  }
  d = p->nDimOut/p->nHead;
  for(h=0; h<p->nHead; h++) attn_softmax_add(&p->aAcc[h], lse[h], o + h*d);
  p->nRow++;
  return ATTN_OK;
}

int attn_merge_result(const attn_merge *p, float *aOut, double *aLse){
  int64_t h, d;
  if( p->nRow==0 ) return 0;
  d = p->nDimOut/p->nHead;
  for(h=0; h<p->nHead; h++){
    const attn_softmax_acc *a = &p->aAcc[h];
    attn_softmax_result(a, aOut + h*d);
    aLse[h] = attn_softmax_lse(a);
  }
  return 1;
}

void attn_merge_clear(attn_merge *p){
  attn_free(p->aAcc);
  attn_free(p->aSum);
  memset(p, 0, sizeof(*p));
}
