/*
** merge.h: merging partial attention results, the engine of the aggregates
** attn_merge(output, lse) and attn_merge_lse(output, lse).
**
** Attention of one query row over disjoint key sets K_1 … K_n (shards)
** gives, per head h, outputs o_ph and log-sum-exps lse_ph = log Σ_{j∈K_p}
** exp(s_j).  Over all the keys,
**
**     lse_h = log Σ_p exp(lse_ph)      o_h = Σ_p exp(lse_ph − lse_h)·o_ph
**
** exactly: the weights exp(lse_ph − lse_h) are each shard's share of the
** softmax denominator.  Each head is an online softmax (pool.h) over the
** shards with score lse_ph and value o_ph, scale 1: float64 sums, the
** exponents relative to the largest lse so far, so any finite lse works.
** The output is a convex combination of the o_ph (within their range) and
** is rounded to float32 once.
**
** A row gives the heads' lse (nHead elements) and output (nHead·d: the
** heads concatenated, each head's d elements in turn); the first row fixes
** nHead and d.  NULL rows (a shard with no key for the row) are the
** caller's to skip.  A zeroed attn_merge is an empty one; attn_merge_clear()
** frees what it holds.
*/
#ifndef ATTN_MERGE_H
#define ATTN_MERGE_H

#include <stdint.h>
#include "error.h"
#include "pool.h"

typedef struct attn_merge attn_merge;
struct attn_merge {
  int64_t nHead;             /* lse elements, fixed by the first row */
  int64_t nDimOut;           /* output elements, a multiple of nHead */
  int64_t nRow;              /* rows added */
  attn_softmax_acc *aAcc;    /* nHead accumulators */
  double *aSum;              /* nDimOut, the accumulators' sums */
};

/* Add a row: output o (nO elements) and lse (nLse elements). */
int attn_merge_add(attn_merge *p, const float *o, int64_t nO,
                   const float *lse, int64_t nLse, attn_err *pErr);

/* The merged output (p->nDimOut floats) and lse (p->nHead doubles, each
** the head's log Σ exp(lse)); 0 when no row was added (nothing written). */
int attn_merge_result(const attn_merge *p, float *aOut, double *aLse);

/* Free what p holds and zero it. */
void attn_merge_clear(attn_merge *p);

#endif /* ATTN_MERGE_H */
