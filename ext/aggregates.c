/*
** aggregates.c: the vector aggregates of sqlite-attention.
**
**   attn_sum(v)      element-wise Σ v over the group
**   attn_avg(v)      element-wise mean of v over the group
**   attn_wsum(w, v)  Σ w·v over the group (w a number)
**   attn_stack(v)    the group's vectors, in the order they arrive, as one
**                    row-major matrix BLOB (rows × dim)
**   attn_merge(output, lse), attn_merge_lse(output, lse)
**                    attention results of one query row over disjoint key
**                    sets merged into the result over all of them: the
**                    output, and the lse (src/merge.h)
**
** Like SUM(), they skip rows whose vector (or weight) is NULL and return
** NULL for a group with no such rows.  Every vector of a group must have the
** dimension of the first.  Sums accumulate in float64, so the order of rows
** hardly matters and long sums do not drift; results are float32 BLOBs with
** subtype 223.  To stack rows in a given order, feed them from a subquery
** with ORDER BY:  SELECT attn_stack(v) FROM (SELECT v FROM t ORDER BY id).
*/
#include "common.h"
#include <string.h>
#include "../src/merge.h"

/* Variants of the sum implementation (AttnFunc.iAux). */
#define AGG_SUM   0
#define AGG_AVG   1
#define AGG_WSUM  2

/* State of attn_sum/attn_avg/attn_wsum. */
typedef struct AggSum AggSum;
struct AggSum {
  double *aSum;     /* running sums, nDim of them; NULL before the first row */
  int64_t nDim;     /* dimension fixed by the first row */
  int64_t nRow;     /* rows accumulated */
};

/* Read the vector of argument iArg and check it against the group's
** dimension *pnDim (0 before the first row).  Returns 0 on success. */
static int aggReadRow(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                      int64_t nRow, int64_t *pnDim, AttnVec *pVec){
  if( attnArgVector(ctx, argv, iArg, pVec) ) return 1;
  if( *pnDim!=0 && pVec->n!=*pnDim ){
    attnError(ctx, SQLITE_ERROR, "vector %lld of the group has %lld "
              "dimensions, expected %lld like vector 1",
              (long long)nRow+1, (long long)pVec->n, (long long)*pnDim);
    sqlite3_free(pVec->a);
    pVec->a = 0;
    return 1;
  }
  return 0;
}

static void aggSumStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  int bWeighted = attnFunc(ctx)->iAux==AGG_WSUM;
  int iVec = bWeighted ? 1 : 0;
  AggSum *p;
  AttnVec v;
  double w = 1.0;
  int64_t i;
  (void)argc;
  if( attnAnyNull(iVec+1, argv) ) return;
  p = sqlite3_aggregate_context(ctx, sizeof(*p));
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( bWeighted && attnArgNumber(ctx, argv, 0, &w) ) return;
  if( aggReadRow(ctx, argv, iVec, p->nRow, &p->nDim, &v) ) return;
  if( p->aSum==0 ){
    p->aSum = sqlite3_malloc64(sizeof(double)*(sqlite3_uint64)v.n);
    if( p->aSum==0 ){
      sqlite3_free(v.a);
      sqlite3_result_error_nomem(ctx);
      return;
    }
    /* Start from -0, the identity of IEEE addition (+0 would turn a sum of
    ** negative zeros into +0). */
    for(i=0; i<v.n; i++) p->aSum[i] = -0.0;
    p->nDim = v.n;
  }
  for(i=0; i<v.n; i++) p->aSum[i] += w*(double)v.a[i];
  p->nRow++;
  sqlite3_free(v.a);
}

static void aggSumFinal(sqlite3_context *ctx){
  AggSum *p = sqlite3_aggregate_context(ctx, 0);
  if( p && p->aSum ){
    float *aOut = attnAllocVector(ctx, p->nDim);
    if( aOut ){
      double r = attnFunc(ctx)->iAux==AGG_AVG ? 1.0/(double)p->nRow : 1.0;
      int64_t i;
      for(i=0; i<p->nDim; i++) aOut[i] = (float)(p->aSum[i]*r);
      attnResultVector(ctx, aOut, p->nDim);
    }
    sqlite3_free(p->aSum);
    p->aSum = 0;
  }
}

/* State of attn_stack. */
typedef struct AggStack AggStack;
struct AggStack {
  float *a;         /* rows so far, row-major */
  int64_t nDim;     /* dimension fixed by the first row */
  int64_t nRow;     /* rows stored */
  int64_t nAlloc;   /* capacity of a[] in floats */
};

static void aggStackStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AggStack *p;
  AttnVec v;
  (void)argc;
  if( sqlite3_value_type(argv[0])==SQLITE_NULL ) return;
  p = sqlite3_aggregate_context(ctx, sizeof(*p));
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( aggReadRow(ctx, argv, 0, p->nRow, &p->nDim, &v) ) return;
  if( (p->nRow+1)*v.n > p->nAlloc ){
    int mx = sqlite3_limit(sqlite3_context_db_handle(ctx),
                           SQLITE_LIMIT_LENGTH, -1);
    int64_t nNew = p->nAlloc ? 2*p->nAlloc : 16*v.n;
    float *aNew;
    /* Room for 16 rows at first, but not megabytes for a group that may
    ** have a single large row. */
    if( p->nAlloc==0 && nNew>(1<<20) ) nNew = v.n>(1<<20) ? v.n : (1<<20);
    if( (p->nRow+1)*v.n > mx/4 ){
      attnError(ctx, SQLITE_TOOBIG, "the matrix of %lld rows of %lld "
                "dimensions would be more than SQLITE_LIMIT_LENGTH (%d bytes)",
                (long long)p->nRow+1, (long long)v.n, mx);
      sqlite3_free(v.a);
      return;
    }
    if( nNew > mx/4 ) nNew = mx/4;
    aNew = sqlite3_realloc64(p->a, 4*(sqlite3_uint64)nNew);
    if( aNew==0 ){
      sqlite3_free(v.a);
      sqlite3_result_error_nomem(ctx);
      return;
    }
    p->a = aNew;
    p->nAlloc = nNew;
  }
  memcpy(p->a + p->nRow*v.n, v.a, 4*(size_t)v.n);
  p->nDim = v.n;
  p->nRow++;
  sqlite3_free(v.a);
}

static void aggStackFinal(sqlite3_context *ctx){
  AggStack *p = sqlite3_aggregate_context(ctx, 0);
  if( p && p->a ){
    attnResultVector(ctx, p->a, p->nRow*p->nDim);
    p->a = 0;
  }
}

/* attn_merge (iAux 0) and attn_merge_lse (iAux 1).  Rows with a NULL
** output or lse (a shard with no key for the row) are skipped.  Not a
** window function: SQLite refuses OVER for it. */
static void aggMergeStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  attn_merge *p;
  AttnVec o, lse;
  attn_err err;
  (void)argc;
  if( attnAnyNull(2, argv) ) return;
  p = sqlite3_aggregate_context(ctx, sizeof(*p));
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( attnArgVector(ctx, argv, 0, &o) ) return;
  if( attnArgVector(ctx, argv, 1, &lse)==0 ){
    attn_err_clear(&err);
    if( attn_merge_add(p, o.a, o.n, lse.a, lse.n, &err) ){
      attnErrorFrom(ctx, "", &err);
    }
    sqlite3_free(lse.a);
  }
  sqlite3_free(o.a);
}

static void aggMergeFinal(sqlite3_context *ctx){
  attn_merge *p = sqlite3_aggregate_context(ctx, 0);
  int bLse = attnFunc(ctx)->iAux;
  float *aOut;
  double *aLse;
  int64_t h, n;
  if( p==0 || p->nRow==0 ) goto done;
  n = bLse ? p->nHead : p->nDimOut;
  aOut = sqlite3_malloc64(4*(sqlite3_uint64)p->nDimOut);
  aLse = sqlite3_malloc64(8*(sqlite3_uint64)p->nHead);
  if( aOut==0 || aLse==0 ){
    sqlite3_free(aOut);
    sqlite3_free(aLse);
    sqlite3_result_error_nomem(ctx);
    goto done;
  }
  attn_merge_result(p, aOut, aLse);
  for(h=0; bLse && h<n; h++) aOut[h] = (float)aLse[h];
  sqlite3_free(aLse);
  attnResultVector(ctx, aOut, n);
done:
  if( p ) attn_merge_clear(p);
}

int attnRegisterAggregates(sqlite3 *db){
  static const AttnFunc aFunc[] = {
    /*             zName       nArg eFlags  iAux      xStep         xFinal */
    ATTN_AGGREGATE("attn_sum",   1, ATTN_PURE, AGG_SUM,  aggSumStep,   aggSumFinal),
    ATTN_AGGREGATE("attn_avg",   1, ATTN_PURE, AGG_AVG,  aggSumStep,   aggSumFinal),
    ATTN_AGGREGATE("attn_wsum",  2, ATTN_PURE, AGG_WSUM, aggSumStep,   aggSumFinal),
    ATTN_AGGREGATE("attn_stack", 1, ATTN_PURE, 0,        aggStackStep, aggStackFinal),
    ATTN_AGGREGATE("attn_merge", 2, ATTN_PURE, 0,        aggMergeStep, aggMergeFinal),
    ATTN_AGGREGATE("attn_merge_lse", 2, ATTN_PURE, 1,    aggMergeStep, aggMergeFinal),
  };
  return attnRegisterFunctions(db, aFunc, (int)(sizeof(aFunc)/sizeof(aFunc[0])));
}
