/*
** pool.c: attn_pool(q, k, v [, scale]), attention pooling as an aggregate
** and as a window function.
**
** As an aggregate, one query q attends over the rows of the group:
**
**     attn_pool(q, k, v) = Σ_j softmax_j(scale·q·k_j) · v_j
**
**   SELECT doc, attn_pool(:query, emb, emb) FROM chunks GROUP BY doc;
**
** q must be the same in every row of a group (an error otherwise).  One
** pass, online softmax (running max, rescaled sum and accumulator in
** float64), O(d) memory whatever the group size.
**
** As a window function whose frame ends at the current row, each row's q
** attends over the rows of its frame:
**
**   SELECT pos, attn_pool(x, x, x) OVER (PARTITION BY doc ORDER BY pos
**            ROWS BETWEEN 127 PRECEDING AND CURRENT ROW) FROM tokens;
**
** is causal sliding-window self-attention.  The frame's k and v are kept
** in a ring buffer (xInverse drops the oldest); xValue computes the current
** row's attention over it.
**
** scale defaults to 1/√dim(q).  Rows with a NULL q, k or v are skipped, as
** SUM skips NULLs; a group with none left gives NULL.
**
** How the two uses are told apart: SQLite calls a window function's xValue
** after every row when the frame ends at the current row, and never calls
** an aggregate's.  Rows are buffered until the second row arrives; if no
** xValue came in between, the function is an aggregate, the buffer is
** dropped and the rest streams through the online softmax.  (A frame that
** ends after the current row is refused with an error.)
*/
#include "common.h"
SQLITE_EXTENSION_INIT3
#include <math.h>
#include <string.h>

#define POOL_UNKNOWN    0
#define POOL_AGGREGATE  1
#define POOL_WINDOW     2

typedef struct PoolState PoolState;
struct PoolState {
  int eMode;              /* POOL_UNKNOWN, POOL_AGGREGATE or POOL_WINDOW */
  int64_t nDimK, nDimV;   /* fixed by the first row */
  int64_t nStep;          /* xStep calls so far (including NULL rows) */
  double rScale;
  int bScale;             /* the scale argument was given */
  /* Aggregate: the group's q and the online softmax state. */
  float *aQ;
  double rMax, rSum;
  double *aAcc;           /* nDimV */
  /* Window: the frame's rows in a ring (k then v per slot; a NULL row is
  ** kept as a slot with bNull set, so xInverse stays in step) and the q of
  ** the current row. */
  float *aRing;           /* nSlot × nRingW */
  unsigned char *aNull;   /* nSlot */
  int64_t nSlot, iHead, nRow;
  int64_t nRingW;         /* floats per slot of aRing: nDimK + nDimV once a
                          ** non-NULL row has fixed them (0 before) */
  float *aLastQ;          /* nDimK; NULL while the current row's q is NULL */
  int bLastNull;
};

/* Fold (k, v) into the online softmax of the aggregate. */
static void poolFold(PoolState *p, const float *k, const float *v){
  double s = 0.0, w;
  int64_t i;
  for(i=0; i<p->nDimK; i++) s += (double)p->aQ[i]*(double)k[i];
  s *= p->rScale;
  if( s>p->rMax ){
    double r = p->rSum>0.0 ? exp(p->rMax - s) : 0.0;
    for(i=0; i<p->nDimV; i++) p->aAcc[i] *= r;
    p->rSum *= r;
    p->rMax = s;
  }
  w = exp(s - p->rMax);
  p->rSum += w;
  for(i=0; i<p->nDimV; i++) p->aAcc[i] += w*(double)v[i];
}

/* Append a row to the ring, growing it as needed.  The ring is also
** rebuilt when the slot width changes: rows before the first non-NULL one
** are kept while the dimensions are still unknown (width 0), and only NULL
** rows can be in it then, so no data moves between widths. */
static int poolPush(PoolState *p, const float *k, const float *v){
  int64_t nW = p->nDimK + p->nDimV, iSlot;
  if( p->nRow==p->nSlot || nW!=p->nRingW ){
    int64_t nNew = p->nRow==p->nSlot ? (p->nSlot ? 2*p->nSlot : 16) : p->nSlot;
    int64_t i;
    float *aNew = sqlite3_malloc64(4*(sqlite3_uint64)(nNew*(nW ? nW : 1)));
    unsigned char *aNullNew = sqlite3_malloc64((sqlite3_uint64)nNew);
    if( aNew==0 || aNullNew==0 ){
      sqlite3_free(aNew);
      sqlite3_free(aNullNew);
      return SQLITE_NOMEM;
    }
    for(i=0; i<p->nRow; i++){
      int64_t j = (p->iHead + i) % p->nSlot;
      aNullNew[i] = p->aNull[j];
      if( !p->aNull[j] ){
        /* Only when the width is unchanged: a non-NULL row fixed it. */
        memcpy(aNew + i*nW, p->aRing + j*p->nRingW, 4*(size_t)nW);
      }
    }
    sqlite3_free(p->aRing);
    sqlite3_free(p->aNull);
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
  return SQLITE_OK;
}

static void poolFreeWindow(PoolState *p){
  sqlite3_free(p->aRing);
  sqlite3_free(p->aNull);
  sqlite3_free(p->aLastQ);
  p->aRing = p->aLastQ = 0;
  p->aNull = 0;
  p->nSlot = p->nRow = p->iHead = p->nRingW = 0;
}

static void poolFree(PoolState *p){
  poolFreeWindow(p);
  sqlite3_free(p->aQ);
  sqlite3_free(p->aAcc);
  p->aQ = 0;
  p->aAcc = 0;
}

/* Check the dims of q, k and v against the group's. */
static int poolCheckDims(sqlite3_context *ctx, PoolState *p, const AttnVec *q,
                         const AttnVec *k, const AttnVec *v){
  if( q->n!=k->n ){
    attnError(ctx, SQLITE_ERROR, "q has %lld dimensions and k has %lld, "
              "expected equal dimensions", (long long)q->n, (long long)k->n);
    return 1;
  }
  if( p->nDimK && (q->n!=p->nDimK || v->n!=p->nDimV) ){
    attnError(ctx, SQLITE_ERROR, "row %lld has q, k of %lld and v of %lld "
              "dimensions, expected %lld and %lld like the first row",
              (long long)p->nStep, (long long)q->n, (long long)v->n,
              (long long)p->nDimK, (long long)p->nDimV);
    return 1;
  }
  return 0;
}

/* The accumulator of the aggregate, once the dimensions are known (the
** first non-NULL row fixes them; until then there is nothing to add). */
static int poolAccAlloc(PoolState *p){
  if( p->aAcc==0 && p->nDimK>0 ){
    p->aAcc = sqlite3_malloc64(8*(sqlite3_uint64)p->nDimV);
    if( p->aAcc==0 ) return SQLITE_NOMEM;
    memset(p->aAcc, 0, 8*(size_t)p->nDimV);
  }
  return SQLITE_OK;
}

/* Leave unknown mode: the second row arrived without an xValue. */
static int poolBecomeAggregate(PoolState *p){
  int64_t i, nW = p->nRingW;
  p->eMode = POOL_AGGREGATE;
  p->rMax = -INFINITY;
  p->rSum = 0.0;
  if( poolAccAlloc(p) ) return SQLITE_NOMEM;
  if( p->aLastQ ){
    p->aQ = p->aLastQ;
    p->aLastQ = 0;
    for(i=0; i<p->nRow; i++){
      int64_t j = (p->iHead + i) % p->nSlot;
      if( !p->aNull[j] ){
        poolFold(p, p->aRing + j*nW, p->aRing + j*nW + p->nDimK);
      }
    }
  }
  poolFreeWindow(p);
  return SQLITE_OK;
}

static void poolStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  PoolState *p = sqlite3_aggregate_context(ctx, sizeof(*p));
  AttnVec q, k, v;
  int bNull, rc = SQLITE_OK;
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  p->nStep++;
  if( p->eMode==POOL_UNKNOWN && p->nStep==2 ){
    if( poolBecomeAggregate(p) ){
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  if( argc>3 && !p->bScale && sqlite3_value_type(argv[3])!=SQLITE_NULL ){
    if( attnArgNumber(ctx, argv, 3, &p->rScale) ) return;
    p->bScale = 1;
  }
  bNull = attnAnyNull(3, argv);
  q.a = k.a = v.a = 0;
  if( !bNull ){
    if( attnArgVector(ctx, argv, 0, &q) ) return;
    if( attnArgVector(ctx, argv, 1, &k) || attnArgVector(ctx, argv, 2, &v)
     || poolCheckDims(ctx, p, &q, &k, &v) ){
      goto done;
    }
    if( p->nDimK==0 ){
      p->nDimK = q.n;
      p->nDimV = v.n;
      if( !p->bScale ) p->rScale = 1.0/sqrt((double)q.n);
    }
  }
  if( p->eMode==POOL_AGGREGATE ){
    if( bNull ) return;
    if( p->aQ==0 ){
      p->aQ = q.a;
      q.a = 0;
    }else if( memcmp(p->aQ, q.a, 4*(size_t)q.n)!=0 ){
      attnError(ctx, SQLITE_ERROR, "q must be the same in every row of a "
                "group, but row %lld has a different q (as a window "
                "function, the frame must end at the current row)",
                (long long)p->nStep);
      goto done;
    }
    if( poolAccAlloc(p) ){
      rc = SQLITE_NOMEM;
      goto done;
    }
    poolFold(p, k.a, v.a);
  }else{
    /* Window (or not yet known): keep the row, and q as the current one. */
    rc = poolPush(p, bNull ? 0 : k.a, bNull ? 0 : v.a);
    sqlite3_free(p->aLastQ);
    p->aLastQ = q.a;
    q.a = 0;
    p->bLastNull = bNull;
  }
done:
  sqlite3_free(q.a);
  sqlite3_free(k.a);
  sqlite3_free(v.a);
  if( rc ) sqlite3_result_error_nomem(ctx);
}

static void poolInverse(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  PoolState *p = sqlite3_aggregate_context(ctx, sizeof(*p));
  (void)argc; (void)argv;
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( p->eMode==POOL_AGGREGATE ) return;   /* reported by poolValue */
  p->eMode = POOL_WINDOW;
  if( p->nRow>0 ){
    p->iHead = (p->iHead + 1) % p->nSlot;
    p->nRow--;
  }
}

/* The current row's q over the frame in the ring. */
static void poolWindowResult(sqlite3_context *ctx, PoolState *p){
  int64_t i, j, d, nW = p->nRingW;
  double rMax = -INFINITY, rSum = 0.0;
  double *aAcc;
  float *aOut;
  if( p->bLastNull || p->aLastQ==0 ) return;           /* NULL */
  for(i=0; i<p->nRow; i++){
    j = (p->iHead + i) % p->nSlot;
    if( !p->aNull[j] ){
      const float *k = p->aRing + j*nW;
      double s = 0.0;
      for(d=0; d<p->nDimK; d++) s += (double)p->aLastQ[d]*(double)k[d];
      if( s*p->rScale>rMax ) rMax = s*p->rScale;
    }
  }
  if( rMax==-INFINITY ) return;                        /* NULL */
  aAcc = sqlite3_malloc64(8*(sqlite3_uint64)p->nDimV);
  if( aAcc==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  memset(aAcc, 0, 8*(size_t)p->nDimV);
  for(i=0; i<p->nRow; i++){
    j = (p->iHead + i) % p->nSlot;
    if( !p->aNull[j] ){
      const float *k = p->aRing + j*nW, *v = k + p->nDimK;
      double s = 0.0, w;
      for(d=0; d<p->nDimK; d++) s += (double)p->aLastQ[d]*(double)k[d];
      w = exp(s*p->rScale - rMax);
      rSum += w;
      for(d=0; d<p->nDimV; d++) aAcc[d] += w*(double)v[d];
    }
  }
  aOut = attnAllocVector(ctx, p->nDimV);
  if( aOut ){
    for(d=0; d<p->nDimV; d++) aOut[d] = (float)(aAcc[d]/rSum);
    attnResultVector(ctx, aOut, p->nDimV);
  }
  sqlite3_free(aAcc);
}

static void poolAggregateResult(sqlite3_context *ctx, PoolState *p){
  float *aOut;
  int64_t d;
  if( p->rSum<=0.0 ) return;                           /* NULL */
  aOut = attnAllocVector(ctx, p->nDimV);
  if( aOut ){
    for(d=0; d<p->nDimV; d++) aOut[d] = (float)(p->aAcc[d]/p->rSum);
    attnResultVector(ctx, aOut, p->nDimV);
  }
}

static void poolValue(sqlite3_context *ctx){
  PoolState *p = sqlite3_aggregate_context(ctx, 0);
  if( p==0 ) return;
  if( p->eMode==POOL_AGGREGATE ){
    attnError(ctx, SQLITE_ERROR, "as a window function, the frame must end "
              "at the current row (e.g. ROWS BETWEEN 127 PRECEDING AND "
              "CURRENT ROW)");
    return;
  }
  p->eMode = POOL_WINDOW;
  poolWindowResult(ctx, p);
}

static void poolFinal(sqlite3_context *ctx){
  PoolState *p = sqlite3_aggregate_context(ctx, 0);
  if( p==0 ) return;
  if( p->eMode==POOL_AGGREGATE ){
    poolAggregateResult(ctx, p);
  }else{
    /* A single-row group, or the end of a window partition. */
    poolWindowResult(ctx, p);
  }
  poolFree(p);
}

int attnRegisterPool(sqlite3 *db){
  static const AttnFunc aFunc[] = {
    ATTN_WINDOW("attn_pool", 3, ATTN_PURE, 0, poolStep, poolFinal, poolValue,
                poolInverse),
    ATTN_WINDOW("attn_pool", 4, ATTN_PURE, 0, poolStep, poolFinal, poolValue,
                poolInverse),
  };
  return attnRegisterFunctions(db, aFunc, (int)(sizeof(aFunc)/sizeof(aFunc[0])));
}
