/*
** pool.c: attn_pool(q, k, v [, scale]), attention pooling as an aggregate
** and as a window function.
**
**   SELECT doc, attn_pool(:query, emb, emb) FROM chunks GROUP BY doc;
**
**   SELECT pos, attn_pool(x, x, x) OVER (PARTITION BY doc ORDER BY pos
**            ROWS BETWEEN 127 PRECEDING AND CURRENT ROW) FROM tokens;
**
** As an aggregate, one q attends over the rows of the group (q and scale
** must be the same in every row); as a window function, each row's q and
** scale attend over the rows of its frame, which must end at the current
** row and include it (the second query is causal sliding-window
** self-attention).  scale defaults to 1/√dim(q).  Rows with a NULL q, k or
** v are skipped, as SUM skips NULLs; a group with none left gives NULL.
**
** How it works.  The engine (src/pool.h) does the work and owns the rules:
** it tells the two uses apart from the order of the calls (SQLite calls the
** same xStep, xInverse, xValue and xFinal for both) and refuses the window
** frames whose results it could not give to the right row.  This file
** converts the SQL values, keeps the engine's state in the aggregate
** context, and reports.
*/
#include "common.h"
#include <string.h>
#include "../src/pool.h"

/* The state of a call, in SQLite's aggregate context (zeroed there). */
static attn_pool *poolState(sqlite3_context *ctx){
  attn_pool *p = sqlite3_aggregate_context(ctx, sizeof(attn_pool));
  if( p==0 ) sqlite3_result_error_nomem(ctx);
  return p;
}

/* Return the engine's result (NULL when aOut is) or its error. */
static void poolReport(sqlite3_context *ctx, int rc, const float *aOut,
                       int64_t n, attn_err *pErr){
  float *a;
  if( rc ){
    attnErrorFrom(ctx, "", pErr);
    return;
  }
  if( aOut==0 ) return;                                /* NULL */
  a = attnAllocVector(ctx, n);
  if( a ){
    memcpy(a, aOut, 4*(size_t)n);
    attnResultVector(ctx, a, n);
  }
}

static void poolStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  attn_pool *p = poolState(ctx);
  AttnVec q, k, v;
  double rScale = 0.0;
  int bScale = argc>3 && sqlite3_value_type(argv[3])!=SQLITE_NULL;
  attn_err err;
  int rc;
  if( p==0 ) return;
  q.a = k.a = v.a = 0;
  q.n = k.n = v.n = 0;
  if( bScale && attnArgNumber(ctx, argv, 3, &rScale) ) return;
  if( !attnAnyNull(3, argv) ){
    if( attnArgVector(ctx, argv, 0, &q) || attnArgVector(ctx, argv, 1, &k)
     || attnArgVector(ctx, argv, 2, &v) ){
      goto done;
    }
  }
  attn_err_clear(&err);
  rc = attn_pool_add(p, q.a, q.n, k.a, k.n, v.a, v.n, bScale ? &rScale : 0,
                     &err);
  if( rc ) attnErrorFrom(ctx, "", &err);
done:
  sqlite3_free(q.a);
  sqlite3_free(k.a);
  sqlite3_free(v.a);
}

static void poolInverse(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  attn_pool *p = poolState(ctx);
  (void)argc; (void)argv;
  if( p ) attn_pool_remove(p);
}

static void poolValue(sqlite3_context *ctx){
  /* Allocated here too: a frame that ends before the first row reaches
  ** xValue before any xStep, and the engine says so. */
  attn_pool *p = poolState(ctx);
  const float *aOut;
  int64_t n;
  attn_err err;
  int rc;
  if( p==0 ) return;
  attn_err_clear(&err);
  rc = attn_pool_value(p, &aOut, &n, &err);
  poolReport(ctx, rc, aOut, n, &err);
}

static void poolFinal(sqlite3_context *ctx){
  attn_pool *p = sqlite3_aggregate_context(ctx, 0);
  const float *aOut;
  int64_t n;
  attn_err err;
  int rc;
  if( p==0 ) return;                       /* no row at all: NULL */
  attn_err_clear(&err);
  rc = attn_pool_final(p, &aOut, &n, &err);
  poolReport(ctx, rc, aOut, n, &err);
  attn_pool_clear(p);
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
