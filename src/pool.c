/*
** pool.c: attention pooling (see pool.h for what it computes and how the
** group and frame uses are told apart).
*/
#include "pool.h"
#include "alloc.h"
#include "vecops.h"
#include <float.h>
#include <math.h>
#include <string.h>

/*
** The online softmax.
*/
void attn_softmax_start(attn_softmax_acc *a, double rScale, double *aAcc,
                        int64_t nDimV){
  a->rScale = rScale;
  a->rBest = 0.0;
  a->rSum = 0.0;
  a->aAcc = aAcc;
  a->nDimV = nDimV;
  a->bAny = 0;
}

void attn_softmax_add(attn_softmax_acc *a, double s, const float *v){
  int64_t i;
  double e, w;
  if( !a->bAny ){
    a->bAny = 1;
    a->rBest = s;
    a->rSum = 1.0;
    for(i=0; i<a->nDimV; i++) a->aAcc[i] = (double)v[i];
    return;
  }
  /* The exponent relative to the best row so far.  s − rBest is finite;
  ** times a huge scale it may be ±Infinity, which exp() takes to 0 (or, for
  ** a new best row, makes the old rows' rescale factor 0): never NaN. */
  e = a->rScale*(s - a->rBest);
  if( e>0.0 ){
    double r = exp(-e);
    for(i=0; i<a->nDimV; i++) a->aAcc[i] *= r;
    a->rSum *= r;
    a->rBest = s;
    w = 1.0;
  }else{
    w = exp(e);
  }
  if( w==0.0 ) return;
  a->rSum += w;
  for(i=0; i<a->nDimV; i++) a->aAcc[i] += w*(double)v[i];
}

int attn_softmax_result(const attn_softmax_acc *a, float *aOut){
  int64_t i;
  if( !a->bAny ) return 0;
  for(i=0; i<a->nDimV; i++){
    /* A convex combination of float32 values: within ±FLT_MAX but for the
    ** rounding of the sums, which the clamp removes. */
    double x = a->aAcc[i]/a->rSum;
    if( x>FLT_MAX ) x = FLT_MAX;
    if( x<-FLT_MAX ) x = -FLT_MAX;
    aOut[i] = (float)x;
  }
  return 1;
}

int attn_softmax_result64(const attn_softmax_acc *a, double *aOut,
                          double *pLse){
  int64_t i;
  if( !a->bAny ) return 0;
  for(i=0; i<a->nDimV; i++) aOut[i] = a->aAcc[i]/a->rSum;
  *pLse = attn_softmax_lse(a);
  return 1;
}

double attn_softmax_lse(const attn_softmax_acc *a){
  return a->bAny ? a->rScale*a->rBest + log(a->rSum) : -INFINITY;
}

/*
** The pool.
*/

/* The frame errors all start the same way. */
#define POOL_FRAME_RULE "as a window function, each row's frame must end " \
  "at that row and include it (ROWS BETWEEN n PRECEDING AND CURRENT ROW)"

/* Allocate p's buffers for the dimensions just fixed. */
static int poolAllocDims(attn_pool *p, attn_err *pErr){
  p->aQ = attn_malloc(4*(uint64_t)p->nDimK);
  p->aOut = attn_malloc(4*(uint64_t)p->nDimV);
  p->aWork = attn_malloc(8*(uint64_t)p->nDimV);
  p->aAcc = attn_malloc(8*(uint64_t)p->nDimV);
  if( p->aQ==0 || p->aOut==0 || p->aWork==0 || p->aAcc==0 ){
    return attn_err_nomem(pErr);
  }
  return ATTN_OK;
}

/* Check the dimensions of a row against each other and the first row's. */
static int poolCheckDims(attn_pool *p, int64_t nQ, int64_t nK, int64_t nV,
                         attn_err *pErr){
  if( nQ!=nK ){
    return attn_err_set(pErr, ATTN_ERROR, "q has %lld dimensions and k has "
        "%lld, expected equal dimensions", (long long)nQ, (long long)nK);
  }
  if( nQ<1 || nV<1 ){
    return attn_err_set(pErr, ATTN_ERROR, "row %lld has q, k of %lld and v "
        "of %lld dimensions, expected at least 1", (long long)p->nAdd,
        (long long)nQ, (long long)nV);
  }
  if( p->nDimK==0 ){
    p->nDimK = nQ;
    p->nDimV = nV;
    return poolAllocDims(p, pErr);
  }
  if( nQ!=p->nDimK || nV!=p->nDimV ){
    return attn_err_set(pErr, ATTN_ERROR, "row %lld has q, k of %lld and v "
        "of %lld dimensions, expected %lld and %lld like the first row",
        (long long)p->nAdd, (long long)nQ, (long long)nV,
        (long long)p->nDimK, (long long)p->nDimV);
  }
  return ATTN_OK;
}

/* Append a row's k and v to the ring (k NULL: a skipped row), growing it.
** The float storage is (re)made when the slot width changes, which happens
** once, when the first row without a NULL fixes the dimensions: every row
** in the ring before it is a NULL slot, whose floats are never read. */
static int poolPush(attn_pool *p, const float *k, const float *v,
                    attn_err *pErr){
  int64_t nW = p->nDimK + p->nDimV, iSlot;
  if( p->nRow==p->nSlot || nW!=p->nRingW ){
    int64_t nNew = p->nRow==p->nSlot ? (p->nSlot ? 2*p->nSlot : 16) : p->nSlot;
    uint64_t nByte;
    float *aNew;
    unsigned char *aNullNew;
    int64_t i;
    if( attn_size_mul((uint64_t)nNew, 4*(uint64_t)(nW ? nW : 1), &nByte) ){
      return attn_err_set(pErr, ATTN_TOOBIG, "the window frame holds %lld "
          "rows of %lld floats, more than the %llu-byte buffer limit",
          (long long)nNew, (long long)nW, (unsigned long long)ATTN_MAX_ALLOC);
    }
    aNew = attn_malloc(nByte);
    aNullNew = attn_malloc((uint64_t)nNew);
    if( aNew==0 || aNullNew==0 ){
      attn_free(aNew);
      attn_free(aNullNew);
      return attn_err_nomem(pErr);
    }
    for(i=0; i<p->nRow; i++){
      int64_t j = (p->iHead + i) % p->nSlot;
      aNullNew[i] = p->aNull[j];
      if( !p->aNull[j] ){
        memcpy(aNew + i*nW, p->aRing + j*p->nRingW, 4*(size_t)nW);
      }
    }
    attn_free(p->aRing);
    attn_free(p->aNull);
    p->aRing = aNew;
    p->aNull = aNullNew;
    p->nSlot = nNew;
    p->nRingW = nW;
    p->iHead = 0;
  }
  iSlot = (p->iHead + p->nRow) % p->nSlot;
  p->aNull[iSlot] = k==0;
  if( k ){
    memcpy(p->aRing + iSlot*nW, k, 4*(size_t)p->nDimK);
    memcpy(p->aRing + iSlot*nW + p->nDimK, v, 4*(size_t)p->nDimV);
  }
  p->nRow++;
  return ATTN_OK;
}

/* Fold a row into the group's online softmax. */
static void poolFold(attn_pool *p, const float *k, const float *v){
  attn_softmax_add(&p->acc, attn_dot(p->aQ, k, p->nDimK), v);
}

/* The second row came before any result: the rows form a group.  The
** first row, if it was not skipped, is the ring's only row and its q is
** p->aQ.  (The accumulator exists once the dimensions are known.) */
static void poolBecomeGroup(attn_pool *p){
  p->eMode = ATTN_POOL_GROUP;
  if( p->nRow==1 && !p->aNull[p->iHead] && !p->bQNull ){
    attn_softmax_start(&p->acc, p->rScale, p->aAcc, p->nDimV);
    p->iGroupRow = 1;
    poolFold(p, p->aRing + p->iHead*p->nRingW,
             p->aRing + p->iHead*p->nRingW + p->nDimK);
  }
  attn_free(p->aRing);
  attn_free(p->aNull);
  p->aRing = 0;
  p->aNull = 0;
  p->nSlot = p->nRow = p->iHead = p->nRingW = 0;
}

int attn_pool_add(attn_pool *p, const float *q, int64_t nQ, const float *k,
                  int64_t nK, const float *v, int64_t nV, const double *pScale,
                  attn_err *pErr){
  int bNull = q==0 || k==0 || v==0;
  double rScale = 0.0;
  int rc;
  p->nAdd++;
  if( !bNull ){
    if( (rc = poolCheckDims(p, nQ, nK, nV, pErr))!=ATTN_OK ) return rc;
    rScale = pScale ? *pScale : 1.0/sqrt((double)nQ);
  }
  if( p->eMode==ATTN_POOL_UNKNOWN && p->nAdd==2 ) poolBecomeGroup(p);
  if( p->eMode==ATTN_POOL_GROUP ){
    int64_t i;
    if( bNull || p->iBadRow ) return ATTN_OK;
    if( !p->acc.bAny ){
      memcpy(p->aQ, q, 4*(size_t)nQ);
      p->rScale = rScale;
      attn_softmax_start(&p->acc, rScale, p->aAcc, p->nDimV);
      p->iGroupRow = p->nAdd;
    }else{
      for(i=0; i<nQ && p->aQ[i]==q[i]; i++){}
      if( i<nQ || rScale!=p->rScale ){
        /* Reported by attn_pool_final(), or as a frame error if a result
        ** is asked for: this may be a window frame reaching past its row. */
        p->iBadRow = p->nAdd;
        p->bBadScale = i==nQ;
        p->rBadScale = rScale;
        return ATTN_OK;
      }
    }
    poolFold(p, k, v);
    return ATTN_OK;
  }
  /* Not known yet, or a frame: keep the row; it is the current one. */
  if( (rc = poolPush(p, bNull ? 0 : k, v, pErr))!=ATTN_OK ) return rc;
  p->bQNull = bNull;
  if( !bNull ){
    memcpy(p->aQ, q, 4*(size_t)nQ);
    p->rScale = rScale;
  }
  p->nSinceValue++;
  return ATTN_OK;
}

void attn_pool_remove(attn_pool *p){
  p->bRemoved = 1;
  if( p->nRow>0 ){
    p->iHead = (p->iHead + 1) % p->nSlot;
    p->nRow--;
  }
}

/* The current row's q over the rows of the ring. */
static int poolFrameResult(attn_pool *p, const float **paOut){
  attn_softmax_acc a;
  int64_t i;
  attn_softmax_start(&a, p->rScale, p->aWork, p->nDimV);
  for(i=0; i<p->nRow; i++){
    int64_t j = (p->iHead + i) % p->nSlot;
    if( !p->aNull[j] ){
      const float *kv = p->aRing + j*p->nRingW;
      attn_softmax_add(&a, attn_dot(p->aQ, kv, p->nDimK), kv + p->nDimK);
    }
  }
  if( attn_softmax_result(&a, p->aOut) ) *paOut = p->aOut;
  return ATTN_OK;
}

int attn_pool_value(attn_pool *p, const float **paOut, int64_t *pnOut,
                    attn_err *pErr){
  long long iRow = (long long)(++p->nValue);
  *paOut = 0;
  *pnOut = p->nDimV;
  if( p->eMode==ATTN_POOL_GROUP || p->nSinceValue>1 ){
    return attn_err_set(pErr, ATTN_ERROR, POOL_FRAME_RULE ", but the frame "
        "of row %lld reaches past it: it ends after the row (FOLLOWING), or "
        "the row has peers (equal ORDER BY values), which share one result "
        "in a RANGE frame (the default with ORDER BY) or a GROUPS frame",
        iRow);
  }
  if( p->nSinceValue==0 ){
    return attn_err_set(pErr, ATTN_ERROR, POOL_FRAME_RULE ", but the frame "
        "of row %lld ends before it (PRECEDING), or FILTER left the row out",
        iRow);
  }
  if( p->nRow==0 ){
    return attn_err_set(pErr, ATTN_ERROR, POOL_FRAME_RULE ", but the frame "
        "of row %lld starts after it", iRow);
  }
  p->eMode = ATTN_POOL_FRAME;
  p->nSinceValue = 0;
  if( p->bQNull ) return ATTN_OK;                   /* a skipped row: NULL */
  return poolFrameResult(p, paOut);
}

/* The hint of the group errors: where a window function meets them. */
#define POOL_EXCLUDE_HINT " (with EXCLUDE, SQLite computes each row's " \
  "window frame as such a group: give a constant q, or leave EXCLUDE out)"

int attn_pool_final(attn_pool *p, const float **paOut, int64_t *pnOut,
                    attn_err *pErr){
  *paOut = 0;
  *pnOut = p->nDimV;
  if( p->eMode==ATTN_POOL_FRAME || p->bRemoved ){
    return ATTN_OK;                  /* the end of a window partition */
  }
  if( p->eMode==ATTN_POOL_UNKNOWN ){
    /* A group of one row (or none): that row's q over itself. */
    if( p->nRow==0 || p->bQNull ) return ATTN_OK;
    return poolFrameResult(p, paOut);
  }
  if( p->iBadRow && p->bBadScale ){
    return attn_err_set(pErr, ATTN_ERROR, "scale must be the same in every "
        "row of a group, but row %lld has %.17g and row %lld has %.17g"
        POOL_EXCLUDE_HINT, (long long)p->iBadRow, p->rBadScale,
        (long long)p->iGroupRow, p->rScale);
  }
  if( p->iBadRow ){
    return attn_err_set(pErr, ATTN_ERROR, "q must be the same in every row "
        "of a group, but row %lld has a different q from row %lld"
        POOL_EXCLUDE_HINT, (long long)p->iBadRow, (long long)p->iGroupRow);
  }
  if( attn_softmax_result(&p->acc, p->aOut) ) *paOut = p->aOut;
  return ATTN_OK;
}

void attn_pool_clear(attn_pool *p){
  attn_free(p->aQ);
  attn_free(p->aAcc);
  attn_free(p->aRing);
  attn_free(p->aNull);
  attn_free(p->aOut);
  attn_free(p->aWork);
  memset(p, 0, sizeof(*p));
}
