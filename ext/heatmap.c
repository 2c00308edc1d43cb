/*
** heatmap.c: pictures of attention, as SQL functions.
**
**   attn_heatmap(qpos, kpos, weight [, qlabel [, klabel]])
**        aggregate: the group's score rows as a standalone SVG document
**   attn_textmap(qpos, kpos, weight [, qlabel [, klabel]])
**        aggregate: the same map as lines of shade characters, for the
**        sqlite3 shell (.mode box or list)
**   attn_bar(weight [, width])
**        one weight in [0, 1] as a bar of Unicode block characters,
**        width characters long for weight 1 (default 10)
**   attn_explorer(head, qpos, kpos, weight [, qlabel [, klabel [, layer]]])
**        aggregate: every head (and layer) of the group's score rows as one
**        self-contained interactive HTML document (src/explorer.c)
**
** One group is one map: GROUP BY head (and seq) draws one map per head;
** for attn_explorer one group is one sequence, of any number of heads and
** layers.
** The aggregates collect the rows with src/heatmap.c and draw in xFinal.
** Like SUM() they skip rows whose qpos, kpos or weight is NULL, and return
** NULL for a group with no other row.  qpos and kpos are integers, weight a
** finite number (an infinite weight is an error naming its row); labels are
** read as text, whatever their type.  What the pictures show is described
** in src/heatmap.h, src/explorer.h and docs/sql-pictures.md.  The size of
** an explorer is measured before it is built, so one larger than
** SQLITE_LIMIT_LENGTH fails without being built.
*/
#include "common.h"
#include "../src/alloc.h"
#include "../src/heatmap.h"
#include "../src/explorer.h"

/* Variants of the aggregate (AttnFunc.iAux). */
#define HEATMAP_SVG   0
#define HEATMAP_TEXT  1

#define HEATMAP_FLAGS (SQLITE_UTF8|SQLITE_DETERMINISTIC|SQLITE_INNOCUOUS)

/* State of attn_heatmap and attn_textmap. */
typedef struct HeatmapAgg HeatmapAgg;
struct HeatmapAgg {
  attn_heatmap *pMap;   /* rows so far; NULL before the first one */
  int64_t nRow;         /* rows seen, NULL ones included (for messages) */
  int bError;           /* a row failed: xFinal only cleans up */
};

static const char *const azHeatmapArg[] = {
  "qpos", "kpos", "weight", "qlabel", "klabel"
};

/* Report "argument 3 (weight) of row 7 is Infinity, expected ...", the
** argument named by azArg[iArg], and mark the group failed. */
static void pictureArgError(sqlite3_context *ctx, const char *const *azArg,
                            int64_t nRow, int *pbError, int iArg,
                            attn_err *pErr){
  attnError(ctx, pErr->rc, "argument %d (%s) of row %lld %s", iArg+1,
            azArg[iArg], (long long)nRow, pErr->zMsg);
  *pbError = 1;
}
static void heatmapArgError(sqlite3_context *ctx, HeatmapAgg *p, int iArg,
                            attn_err *pErr){
  pictureArgError(ctx, azHeatmapArg, p->nRow, &p->bError, iArg, pErr);
}

/* Label argument iArg as text (*pz NULL when absent or NULL).  Returns
** non-zero when out of memory. */
static int heatmapArgLabel(int argc, sqlite3_value **argv, int iArg,
                           const char **pz, int *pn){
  *pz = 0;
  *pn = 0;
  if( iArg>=argc || sqlite3_value_type(argv[iArg])==SQLITE_NULL ) return 0;
  *pz = (const char*)sqlite3_value_text(argv[iArg]);
  if( *pz==0 ) return 1;
  *pn = sqlite3_value_bytes(argv[iArg]);
  return 0;
}

static void heatmapStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  HeatmapAgg *p = sqlite3_aggregate_context(ctx, sizeof(*p));
  int64_t q, k;
  double w;
  const char *zQ, *zK;
  int nQ, nK;
  attn_err err;
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  p->nRow++;
  if( attnAnyNull(3, argv) ) return;
  attn_err_clear(&err);
  if( attnValueInteger(argv[0], &q, &err) ){
    heatmapArgError(ctx, p, 0, &err);
    return;
  }
  if( attnValueInteger(argv[1], &k, &err) ){
    heatmapArgError(ctx, p, 1, &err);
    return;
  }
  if( attnValueNumber(argv[2], &w, &err) ){
    heatmapArgError(ctx, p, 2, &err);
    return;
  }
  if( p->pMap==0 ) p->pMap = attn_heatmap_new(ATTN_HEATMAP_MAX_ROWS);
  if( p->pMap==0 || heatmapArgLabel(argc, argv, 3, &zQ, &nQ)
   || heatmapArgLabel(argc, argv, 4, &zK, &nK) ){
    p->bError = 1;
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( attn_heatmap_add(p->pMap, q, k, w, zQ, nQ, zK, nK, &err) ){
    p->bError = 1;
    attnErrorFrom(ctx, "", &err);
  }
}

static void heatmapFinal(sqlite3_context *ctx){
  HeatmapAgg *p = sqlite3_aggregate_context(ctx, 0);
  int bSvg = attnFunc(ctx)->iAux==HEATMAP_SVG;
  char *z = 0;
  int64_t n = 0;
  attn_err err;
  int rc;
  if( p==0 || p->pMap==0 ) return;          /* no rows: NULL */
  if( p->bError ){
    attn_heatmap_free(p->pMap);
    p->pMap = 0;
    return;
  }
  attn_err_clear(&err);
  if( bSvg ){
    rc = attn_heatmap_svg(p->pMap, &z, &n, &err);
  }else{
    rc = attn_heatmap_text(p->pMap, &z, &n, &err);
  }
  attn_heatmap_free(p->pMap);
  p->pMap = 0;
  if( rc ){
    attnErrorFrom(ctx, "", &err);
  }else if( attnCheckLength(ctx, (uint64_t)n,
                            bSvg ? "the SVG document" : "the text map") ){
    attn_free(z);
  }else{
    sqlite3_result_text64(ctx, z, (sqlite3_uint64)n, attn_free, SQLITE_UTF8);
  }
}

/*
** attn_bar(weight [, width])
*/
static void heatmapBar(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  char zBar[3*ATTN_BAR_MAX_WIDTH + 1];
  double w;
  int64_t nWidth = 10;
  int n;
  if( attnAnyNull(argc, argv) ) return;
  if( attnArgNumber(ctx, argv, 0, &w) ) return;
  if( w<0.0 || w>1.0 ){
    attnError(ctx, SQLITE_ERROR, "argument 1 is %!.15g, expected a weight "
              "from 0 to 1", w);
    return;
  }
  if( argc>1 ){
    if( attnArgInteger(ctx, argv, 1, &nWidth) ) return;
    if( nWidth<1 || nWidth>ATTN_BAR_MAX_WIDTH ){
      attnError(ctx, SQLITE_ERROR, "argument 2 is %lld, expected a width "
                "from 1 to %d", (long long)nWidth, ATTN_BAR_MAX_WIDTH);
      return;
    }
  }
  n = attn_bar(w, (int)nWidth, zBar);
  if( attnCheckLength(ctx, (uint64_t)n, "the bar") ) return;
  sqlite3_result_text(ctx, zBar, n, SQLITE_TRANSIENT);
}

/*
** attn_explorer(head, qpos, kpos, weight [, qlabel [, klabel [, layer]]])
*/
typedef struct ExplorerAgg ExplorerAgg;
struct ExplorerAgg {
  attn_explorer *p;     /* rows so far; NULL before the first one */
  int64_t nRow;         /* rows seen, NULL ones included (for messages) */
  int bError;           /* a row failed: xFinal only cleans up */
};

static const char *const azExplorerArg[] = {
  "head", "qpos", "kpos", "weight", "qlabel", "klabel", "layer"
};

static void explorerArgError(sqlite3_context *ctx, ExplorerAgg *p, int iArg,
                             attn_err *pErr){
  pictureArgError(ctx, azExplorerArg, p->nRow, &p->bError, iArg, pErr);
}

static void explorerStep(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  ExplorerAgg *p = sqlite3_aggregate_context(ctx, sizeof(*p));
  int64_t aInt[3], layer = 0;
  double w;
  const char *zQ, *zK;
  int nQ, nK, i;
  attn_err err;
  if( p==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  p->nRow++;
  if( p->bError ) return;
  if( attnAnyNull(4, argv) ) return;
  if( argc>6 && sqlite3_value_type(argv[6])==SQLITE_NULL ) return;
  attn_err_clear(&err);
  for(i=0; i<3; i++){
    if( attnValueInteger(argv[i], &aInt[i], &err) ){
      explorerArgError(ctx, p, i, &err);
      return;
    }
  }
  if( attnValueNumber(argv[3], &w, &err) ){
    explorerArgError(ctx, p, 3, &err);
    return;
  }
  if( argc>6 && attnValueInteger(argv[6], &layer, &err) ){
    explorerArgError(ctx, p, 6, &err);
    return;
  }
  if( p->p==0 ) p->p = attn_explorer_new(ATTN_EXPLORER_MAX_ROWS, argc>6);
  if( p->p==0 || heatmapArgLabel(argc, argv, 4, &zQ, &nQ)
   || heatmapArgLabel(argc, argv, 5, &zK, &nK) ){
    p->bError = 1;
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( attn_explorer_add(p->p, layer, aInt[0], aInt[1], aInt[2], w,
                        zQ, nQ, zK, nK, &err) ){
    p->bError = 1;
    attnErrorFrom(ctx, "", &err);
  }
}

static void explorerFinal(sqlite3_context *ctx){
  ExplorerAgg *p = sqlite3_aggregate_context(ctx, 0);
  char *z = 0;
  int64_t n = 0;
  uint64_t nByte = 0;
  attn_err err;
  if( p==0 || p->p==0 ) return;             /* no rows: NULL */
  attn_err_clear(&err);
  if( p->bError ){
    /* The error is reported already. */
  }else if( attn_explorer_layout(p->p, &nByte, &err) ){
    attnErrorFrom(ctx, "", &err);
  }else if( attnCheckLength(ctx, nByte, "the HTML document") ){
    /* Too large: refused before it is built. */
  }else if( attn_explorer_write(p->p, &z, &n, &err) ){
    attnErrorFrom(ctx, "", &err);
  }else{
    sqlite3_result_text64(ctx, z, (sqlite3_uint64)n, attn_free, SQLITE_UTF8);
  }
  attn_explorer_free(p->p);
  p->p = 0;
}

int attnRegisterHeatmap(sqlite3 *db){
  static const AttnFunc aFunc[] = {
    /*             zName        nArg eFlags      iAux          xStep        xFinal */
    ATTN_AGGREGATE("attn_heatmap", 3, HEATMAP_FLAGS, HEATMAP_SVG,  heatmapStep, heatmapFinal),
    ATTN_AGGREGATE("attn_heatmap", 4, HEATMAP_FLAGS, HEATMAP_SVG,  heatmapStep, heatmapFinal),
    ATTN_AGGREGATE("attn_heatmap", 5, HEATMAP_FLAGS, HEATMAP_SVG,  heatmapStep, heatmapFinal),
    ATTN_AGGREGATE("attn_textmap", 3, HEATMAP_FLAGS, HEATMAP_TEXT, heatmapStep, heatmapFinal),
    ATTN_AGGREGATE("attn_textmap", 4, HEATMAP_FLAGS, HEATMAP_TEXT, heatmapStep, heatmapFinal),
    ATTN_AGGREGATE("attn_textmap", 5, HEATMAP_FLAGS, HEATMAP_TEXT, heatmapStep, heatmapFinal),
    /*             zName      nArg eFlags      iAux xFunc */
    ATTN_SCALAR(   "attn_bar",   1, HEATMAP_FLAGS, 0, heatmapBar),
    ATTN_SCALAR(   "attn_bar",   2, HEATMAP_FLAGS, 0, heatmapBar),
    /*             zName          nArg eFlags      iAux xStep         xFinal */
    ATTN_AGGREGATE("attn_explorer", 4, HEATMAP_FLAGS, 0, explorerStep, explorerFinal),
    ATTN_AGGREGATE("attn_explorer", 5, HEATMAP_FLAGS, 0, explorerStep, explorerFinal),
    ATTN_AGGREGATE("attn_explorer", 6, HEATMAP_FLAGS, 0, explorerStep, explorerFinal),
    ATTN_AGGREGATE("attn_explorer", 7, HEATMAP_FLAGS, 0, explorerStep, explorerFinal),
  };
  return attnRegisterFunctions(db, aFunc, (int)(sizeof(aFunc)/sizeof(aFunc[0])));
}
