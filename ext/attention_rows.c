/*
** attention_rows.c: reading the rows of attention()'s source and keys
** SELECTs, and the one row of its params SELECT (see attention_rows.h).
**
** The SELECT runs on the caller's connection and every row is read before
** the first output row (never streamed while the caller may write: the
** Halloween problem).  What the SQL may be is decided on its text before it
** is prepared (src/sqltext.h: SQLite applies many PRAGMAs while preparing
** them).  A thread-local depth counter stops attention() called from inside
** its own source.
*/
#include "attention_rows.h"
#include <string.h>
#include "../src/alloc.h"
#include "../src/attention.h"
#include "../src/params.h"
#include "../src/sqltext.h"
#include "../src/utf8.h"

static _Thread_local int rowsDepth = 0;

static const char *const azRowsVec[4] = { "x", "q", "k", "v" };

static int rowsError(const AttnRowsCtx *c, int rc, const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  rc = attnVtabErrorV(c->pVtab, c->zFunc, rc, zFmt, ap);
  va_end(ap);
  return rc;
}

char *attnRowsName(const char *zSide, const AttnRows *p, int64_t i){
  sqlite3_value *pId = p->aId ? p->aId[i] : 0;
  if( pId && sqlite3_value_type(pId)!=SQLITE_NULL ){
    /* As src/ quotes values: a BLOB id as x'00ff'. */
    char zShow[ATTN_QUOTE_SIZE(40)];
    int eKind;
    int64_t nId;
    const char *zId = attnValueBytes(pId, &eKind, &nId);
    if( zId==0 ) return 0;
    return sqlite3_mprintf("%s row %lld (id %s)", zSide, (long long)i+1,
        attn_quote(zShow, sizeof(zShow), eKind, zId, nId, 40));
  }
  return sqlite3_mprintf("%s row %lld", zSide, (long long)i+1);
}

/* Report "<row>: <text>" for row i of p (an engine predicate in pErr). */
static int rowsRowError(const AttnRowsCtx *c, const char *zSide,
                        const AttnRows *p, int64_t i, const char *zWhat,
                        const attn_err *pErr){
  char *zRow = attnRowsName(zSide, p, i);
  int rc = zRow==0 ? SQLITE_NOMEM
         : rowsError(c, pErr->rc, "%s: %s %s", zRow, zWhat, pErr->zMsg);
  sqlite3_free(zRow);
  return rc;
}

void attnRowsClear(AttnRows *p){
  int64_t i;
  int k;
  for(i=0; i<p->n; i++) sqlite3_value_free(p->aId[i]);
  sqlite3_free(p->aId);
  sqlite3_free(p->aSeq);
  sqlite3_free(p->aPos);
  sqlite3_free(p->aBias);
  for(k=0; k<4; k++){
    int j;
    for(j=0; j<p->aVec[k].nBlock; j++) sqlite3_free(p->aVec[k].apBlock[j]);
    sqlite3_free(p->aVec[k].apRow);
  }
  memset(p, 0, sizeof(*p));
}

const struct AttnRowsVec *attnRowsInput(const AttnRows *p, int k){
  return &p->aVec[p->aVec[k].iCol>=0 ? k : ROWS_X];
}

/* Add a block of storage to vector column v for rows [iFirst, iEnd). */
static int rowsVecBlock(struct AttnRowsVec *v, int64_t iFirst, int64_t iEnd){
  float *a;
  if( v->nBlock>=ROWS_MAX_BLOCK ) return SQLITE_NOMEM;  /* not reached */
  a = sqlite3_malloc64(4*(sqlite3_uint64)v->nDim*(sqlite3_uint64)(iEnd-iFirst));
  if( a==0 ) return SQLITE_NOMEM;
  v->apBlock[v->nBlock++] = a;
  v->iBlockRow = iFirst;
  return SQLITE_OK;
}

/* Grow the arrays of p (the rows of the SELECT of argument zArg) to hold at
** least one more row.  No array may pass ATTN_MAX_ALLOC bytes (about 2 GiB,
** the most sqlite3_malloc64() hands out): reaching it is SQLITE_TOOBIG, with
** a message naming the limit, not an out-of-memory error. */
static int rowsGrow(const AttnRowsCtx *c, const char *zArg, AttnRows *p){
  int64_t nNew = p->nAlloc ? 2*p->nAlloc : 64;
  int64_t nDim = 0, nMax;
  const char *zCol = 0;
  void *pNew;
  int k;
  for(k=0; k<4; k++){
    if( p->aVec[k].iCol>=0 && p->aVec[k].nDim>nDim ){
      nDim = p->aVec[k].nDim;
      zCol = azRowsVec[k];
    }
  }
  nMax = (int64_t)(ATTN_MAX_ALLOC / (nDim>2 ? 4*(uint64_t)nDim : 8));
  if( p->nAlloc>=nMax ){
    if( zCol==0 ){
      return rowsError(c, SQLITE_TOOBIG, "%s SELECT has more than %lld "
                       "rows, which would need more than %llu bytes, the "
                       "largest buffer allowed", zArg, (long long)nMax,
                       (unsigned long long)ATTN_MAX_ALLOC);
    }
    return rowsError(c, SQLITE_TOOBIG, "%s SELECT has more than %lld rows "
                     "of %lld-dimensional vectors (column %s), which would need "
                     "more than %llu bytes, the largest buffer allowed", zArg,
                     (long long)nMax, (long long)nDim, zCol,
                     (unsigned long long)ATTN_MAX_ALLOC);
  }
  if( nNew>nMax ) nNew = nMax;
  pNew = sqlite3_realloc64(p->aId, sizeof(sqlite3_value*)*(sqlite3_uint64)nNew);
  if( pNew==0 ) return SQLITE_NOMEM;
  p->aId = pNew;
  pNew = sqlite3_realloc64(p->aSeq, sizeof(int64_t)*(sqlite3_uint64)nNew);
  if( pNew==0 ) return SQLITE_NOMEM;
  p->aSeq = pNew;
  pNew = sqlite3_realloc64(p->aPos, sizeof(int64_t)*(sqlite3_uint64)nNew);
  if( pNew==0 ) return SQLITE_NOMEM;
  p->aPos = pNew;
  if( p->iBiasCol>=0 ){
    pNew = sqlite3_realloc64(p->aBias, sizeof(float)*(sqlite3_uint64)nNew);
    if( pNew==0 ) return SQLITE_NOMEM;
    p->aBias = pNew;
  }
  for(k=0; k<4; k++){
    struct AttnRowsVec *v = &p->aVec[k];
    if( v->iCol<0 ) continue;
    pNew = sqlite3_realloc64(v->apRow, sizeof(float*)*(sqlite3_uint64)nNew);
    if( pNew==0 ) return SQLITE_NOMEM;
    v->apRow = pNew;
    /* Before the first row the dimension is unknown: rowsReadVector()
    ** allocates the first block. */
    if( v->nDim>0 && rowsVecBlock(v, p->nAlloc, nNew) ) return SQLITE_NOMEM;
  }
  p->nAlloc = nNew;
  return SQLITE_OK;
}

/* Prepare pSql (argument zArg) as exactly one read-only statement that
** returns columns.  What the text may be is decided on the text before
** anything is prepared (src/sqltext.h): SQLite applies many PRAGMAs while
** preparing them, so a refused PRAGMA would already have changed the
** connection.  Only the statement is prepared, from its first word; what
** follows it must be blank and is never prepared. */
static int rowsPrepare(const AttnRowsCtx *c, const char *zArg,
                       sqlite3_value *pSql, sqlite3_stmt **ppStmt){
  const char *zSql, *zTail = 0;
  sqlite3_stmt *pStmt = 0;
  int64_t nSql, iStart = 0;
  attn_err err;
  int rc;
  *ppStmt = 0;
  if( sqlite3_value_type(pSql)!=SQLITE_TEXT ){
    int t = sqlite3_value_type(pSql);
    return rowsError(c, SQLITE_ERROR, "%s must be the text of a SELECT "
                     "statement, found %s", zArg,
                     t==SQLITE_INTEGER ? "an integer" :
                     t==SQLITE_FLOAT ? "a real number" : "a blob");
  }
  zSql = (const char*)sqlite3_value_text(pSql);
  if( zSql==0 ) return SQLITE_NOMEM;
  nSql = sqlite3_value_bytes(pSql);
  if( (int64_t)strlen(zSql)!=nSql ){
    return rowsError(c, SQLITE_ERROR, "%s contains a NUL character, expected "
                     "the text of one SELECT statement", zArg);
  }
  attn_err_clear(&err);
  if( attn_sql_query(zArg, zSql, nSql, &iStart, &err) ){
    return rowsError(c, err.rc, "%s", err.zMsg);
  }
  rc = sqlite3_prepare_v2(c->db, zSql+iStart, (int)(nSql-iStart), &pStmt,
                          &zTail);
  if( rc ){
    return rowsError(c, rc, "%s SELECT: %s", zArg, sqlite3_errmsg(c->db));
  }
  if( pStmt==0 ){
    return rowsError(c, SQLITE_ERROR, "%s is empty, expected one SELECT "
                     "statement", zArg);
  }
  if( zTail && !attn_sql_blank(zTail, (int64_t)strlen(zTail)) ){
    sqlite3_finalize(pStmt);
    return rowsError(c, SQLITE_ERROR, "%s has more than one statement, "
                     "expected exactly one SELECT (what follows the first is "
                     "never prepared)", zArg);
  }
  if( !sqlite3_stmt_readonly(pStmt) || sqlite3_column_count(pStmt)==0 ){
    int bWrites = !sqlite3_stmt_readonly(pStmt);
    const char *zText = zSql+iStart;
    int nText = (int)strlen(zText), nShow = attn_utf8_prefix(zText, nText, 60);
    sqlite3_finalize(pStmt);
    return rowsError(c, SQLITE_ERROR, bWrites
        ? "%s must be a read-only SELECT, but this statement writes: %.*s%s"
        : "%s must be a SELECT that returns columns, but this statement "
          "returns none: %.*s%s",
        zArg, nShow, zText, nShow<nText ? "..." : "");
  }
  if( sqlite3_bind_parameter_count(pStmt)>0 ){
    sqlite3_finalize(pStmt);
    return rowsError(c, SQLITE_ERROR, "%s SELECT has parameters, which "
                     "cannot be bound here: put the values in the text", zArg);
  }
  *ppStmt = pStmt;
  return SQLITE_OK;
}

/* Find the columns of pStmt by name.  bNeedQ/bNeedKV: which vector inputs
** this SELECT must provide (bNeedKV: its rows are the key rows, which a
** bias column belongs to). */
static int rowsFindColumns(const AttnRowsCtx *c, const char *zArg,
                           sqlite3_stmt *pStmt, AttnRows *p, int *piId,
                           int *piSeq, int *piPos, int bNeedQ, int bNeedKV){
  int nCol = sqlite3_column_count(pStmt), i, k;
  *piId = *piSeq = *piPos = -1;
  p->iBiasCol = -1;
  for(k=0; k<4; k++) p->aVec[k].iCol = -1;
  for(i=0; i<nCol; i++){
    const char *z = sqlite3_column_name(pStmt, i);
    int *piSlot = 0;
    if( z==0 ) return SQLITE_NOMEM;
    if( sqlite3_stricmp(z, "id")==0 ) piSlot = piId;
    else if( sqlite3_stricmp(z, "seq")==0 ) piSlot = piSeq;
    else if( sqlite3_stricmp(z, "pos")==0 ) piSlot = piPos;
    else if( sqlite3_stricmp(z, "bias")==0 ) piSlot = &p->iBiasCol;
    else{
      for(k=0; k<4; k++){
        if( sqlite3_stricmp(z, azRowsVec[k])==0 ) piSlot = &p->aVec[k].iCol;
      }
    }
    if( piSlot==0 ) continue;
    if( *piSlot>=0 ){
      return rowsError(c, SQLITE_ERROR, "%s SELECT has two columns named %s",
                       zArg, z);
    }
    *piSlot = i;
  }
  if( p->iBiasCol>=0 && !bNeedKV ){
    return rowsError(c, SQLITE_ERROR, "%s SELECT has a bias column, but a "
                     "bias belongs to the key rows: with keys, give it in the "
                     "keys SELECT", zArg);
  }
  /* Keep only the vector columns this side feeds. */
  if( !bNeedQ ) p->aVec[ROWS_Q].iCol = -1;
  if( !bNeedKV ){
    p->aVec[ROWS_K].iCol = -1;
    p->aVec[ROWS_V].iCol = -1;
  }
  if( bNeedQ && p->aVec[ROWS_Q].iCol<0 && p->aVec[ROWS_X].iCol<0 ){
    return rowsError(c, SQLITE_ERROR, "%s SELECT has no column named x or q: "
                     "name the embedding column x (SELECT emb AS x ...)", zArg);
  }
  if( bNeedKV && p->aVec[ROWS_X].iCol<0
   && (p->aVec[ROWS_K].iCol<0 || p->aVec[ROWS_V].iCol<0) ){
    return rowsError(c, SQLITE_ERROR, "%s SELECT has no column named %s and "
                     "no x to use instead", zArg,
                     p->aVec[ROWS_K].iCol<0 ? "k" : "v");
  }
  /* x is only read when some input falls back to it. */
  if( (!bNeedQ || p->aVec[ROWS_Q].iCol>=0)
   && (!bNeedKV || (p->aVec[ROWS_K].iCol>=0 && p->aVec[ROWS_V].iCol>=0)) ){
    p->aVec[ROWS_X].iCol = -1;
  }
  p->bSeq = *piSeq>=0;
  p->bPos = *piPos>=0;
  return SQLITE_OK;
}

/* Read integer column iCol (seq or pos, zCol) of the current row. */
static int rowsReadInt(const AttnRowsCtx *c, const char *zSide, AttnRows *p,
                       sqlite3_stmt *pStmt, int iCol, const char *zCol,
                       int64_t *pOut){
  sqlite3_value *pVal = sqlite3_column_value(pStmt, iCol);
  attn_err err;
  attn_err_clear(&err);
  if( sqlite3_value_type(pVal)==SQLITE_NULL ){
    attn_err_set(&err, ATTN_ERROR, "is NULL, expected an integer");
  }else if( attnValueInteger(pVal, pOut, &err)==ATTN_OK && zCol[0]=='p' ){
    attn_check_pos(*pOut, &err);           /* the engine's limit */
  }
  if( err.rc==ATTN_OK ) return SQLITE_OK;
  return rowsRowError(c, zSide, p, p->n, zCol, &err);
}

/* Read the bias column of the current row (a finite number). */
static int rowsReadBias(const AttnRowsCtx *c, const char *zSide, AttnRows *p,
                        sqlite3_stmt *pStmt){
  sqlite3_value *pVal = sqlite3_column_value(pStmt, p->iBiasCol);
  attn_err err;
  double r = 0.0;
  attn_err_clear(&err);
  if( sqlite3_value_type(pVal)==SQLITE_NULL ){
    attn_err_set(&err, ATTN_ERROR, "is NULL, expected a number (0 for no "
                 "bias)");
  }else if( attnValueNumber(pVal, &r, &err)==ATTN_OK ){
    attn_check_bias(r, &err);              /* the engine's rule */
  }
  if( err.rc==ATTN_OK ){
    p->aBias[p->n] = (float)r;
    return SQLITE_OK;
  }
  return rowsRowError(c, zSide, p, p->n, "bias", &err);
}

/* Read vector column k of the current row into its storage. */
static int rowsReadVector(const AttnRowsCtx *c, const char *zSide,
                          AttnRows *p, sqlite3_stmt *pStmt, int k){
  struct AttnRowsVec *v = &p->aVec[k];
  sqlite3_value *pVal = sqlite3_column_value(pStmt, v->iCol);
  attn_err err;
  int64_t nDim = 0;
  char zCol[16];
  attn_err_clear(&err);
  if( sqlite3_value_type(pVal)==SQLITE_NULL ){
    attn_err_set(&err, ATTN_ERROR, "is NULL, expected a vector");
  }else if( attnValueDim(pVal, c->eDtype, &nDim, &err)==ATTN_OK ){
    if( p->n==0 ){
      if( attn_check_dim(nDim, &err)==ATTN_OK ){   /* the engine's limit */
        v->nDim = nDim;
        if( rowsVecBlock(v, 0, p->nAlloc) ) return SQLITE_NOMEM;
      }
    }else if( nDim!=v->nDim ){
      attn_err_set(&err, ATTN_ERROR, "has %lld dimensions, expected %lld "
                   "like row 1", (long long)nDim, (long long)v->nDim);
    }
    if( err.rc==ATTN_OK ){
      /* Row n is in the last block, which holds rows up to nAlloc. */
      float *a = v->apBlock[v->nBlock-1] + (p->n - v->iBlockRow)*v->nDim;
      v->apRow[p->n] = a;
      attnValueDecode(pVal, c->eDtype, a, nDim, &err);
    }
  }
  if( err.rc==ATTN_OK ) return SQLITE_OK;
  if( err.rc==ATTN_NOMEM ) return SQLITE_NOMEM;
  sqlite3_snprintf(sizeof(zCol), zCol, "column %s", azRowsVec[k]);
  return rowsRowError(c, zSide, p, p->n, zCol, &err);
}

/* Report the failed step (code rc) of the SELECT of argument zArg. */
static int rowsStepError(const AttnRowsCtx *c, const char *zArg, int rc){
  const char *zErr = sqlite3_errmsg(c->db);
  if( sqlite3_strnicmp(zErr, "attention(): ", 13)==0
   || sqlite3_strnicmp(zErr, "attention_scores(): ", 20)==0 ){
    /* An attention() nested in this SELECT failed: its message already
    ** says what went wrong (prefixing it at every level of a deep nesting
    ** would bury it). */
    sqlite3_free(c->pVtab->zErrMsg);
    c->pVtab->zErrMsg = sqlite3_mprintf("%s", zErr);
    if( c->pVtab->zErrMsg==0 ) return SQLITE_NOMEM;
    attn_utf8_repair(c->pVtab->zErrMsg);
    return rc;
  }
  return rowsError(c, rc, "%s SELECT: %s", zArg, zErr);
}

/* Step pStmt to its end, reading every row into p. */
static int rowsStep(const AttnRowsCtx *c, const char *zArg,
                    sqlite3_stmt *pStmt, int iId, int iSeq, int iPos,
                    AttnRows *p){
  int k, rc;
  while( 1 ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ) return SQLITE_OK;
    if( rc!=SQLITE_ROW ) return rowsStepError(c, zArg, rc);
    if( p->n>=ATTN_MAX_ROWS ){
      return rowsError(c, SQLITE_TOOBIG, "%s SELECT returned more than the "
                       "maximum %lld rows", zArg, (long long)ATTN_MAX_ROWS);
    }
    if( p->n>=p->nAlloc && (rc = rowsGrow(c, zArg, p))!=SQLITE_OK ) return rc;
    p->aId[p->n] = 0;
    if( iId>=0 ){
      p->aId[p->n] = sqlite3_value_dup(sqlite3_column_value(pStmt, iId));
      if( p->aId[p->n]==0 ) return SQLITE_NOMEM;
    }
    p->aSeq[p->n] = 0;
    p->aPos[p->n] = 0;
    rc = SQLITE_OK;
    if( iSeq>=0 ) rc = rowsReadInt(c, zArg, p, pStmt, iSeq, "seq", &p->aSeq[p->n]);
    if( rc==SQLITE_OK && iPos>=0 ){
      rc = rowsReadInt(c, zArg, p, pStmt, iPos, "pos", &p->aPos[p->n]);
    }
    if( rc==SQLITE_OK && p->iBiasCol>=0 ) rc = rowsReadBias(c, zArg, p, pStmt);
    for(k=0; rc==SQLITE_OK && k<4; k++){
      if( p->aVec[k].iCol>=0 ) rc = rowsReadVector(c, zArg, p, pStmt, k);
    }
    if( rc ){
      sqlite3_value_free(p->aId[p->n]);
      return rc;
    }
    p->n++;
  }
}

/* Run the SELECT of argument zArg and read all its rows into p. */
static int rowsReadOne(const AttnRowsCtx *c, const char *zArg,
                       sqlite3_value *pSql, int bNeedQ, int bNeedKV,
                       AttnRows *p){
  sqlite3_stmt *pStmt = 0;
  int iId, iSeq, iPos, rc;
  rc = rowsPrepare(c, zArg, pSql, &pStmt);
  if( rc ) return rc;
  rc = rowsFindColumns(c, zArg, pStmt, p, &iId, &iSeq, &iPos, bNeedQ, bNeedKV);
  if( rc==SQLITE_OK ) rc = rowsStep(c, zArg, pStmt, iId, iSeq, iPos, p);
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_NOMEM ) return rowsError(c, SQLITE_NOMEM, "out of memory");
  return rc;
}

/* One more level of SQL run by attention() (zArg's SELECT), or an error
** past ROWS_MAX_DEPTH; rowsDepth-- when it is done. */
static int rowsEnter(const AttnRowsCtx *c, const char *zArg){
  if( rowsDepth>=ROWS_MAX_DEPTH ){
    return rowsError(c, SQLITE_ERROR, "nested more than %d deep: does the "
                     "%s SELECT call attention() on itself?",
                     ROWS_MAX_DEPTH, zArg);
  }
  rowsDepth++;
  return SQLITE_OK;
}

int attnRowsRead(const AttnRowsCtx *c, sqlite3_value *pSrcSql,
                 sqlite3_value *pKeysSql, AttnRows *pSrc, AttnRows *pKeys){
  int rc;
  if( (rc = rowsEnter(c, "source"))!=SQLITE_OK ) return rc;
  rc = rowsReadOne(c, "source", pSrcSql, 1, pKeysSql==0, pSrc);
  if( rc==SQLITE_OK && pKeysSql ){
    rc = rowsReadOne(c, "keys", pKeysSql, 0, 1, pKeys);
  }
  rowsDepth--;
  if( rc==SQLITE_OK && pKeysSql && pSrc->bSeq!=pKeys->bSeq ){
    rc = rowsError(c, SQLITE_ERROR, "the %s SELECT has a seq column but the "
                   "%s SELECT does not: give both a seq column, or neither",
                   pSrc->bSeq ? "source" : "keys",
                   pSrc->bSeq ? "keys" : "source");
  }
  return rc;
}

int attnRowsDefaultPositions(const AttnRowsCtx *c, AttnRows *p){
  attn_err err;
  if( p->bPos || p->n==0 ) return SQLITE_OK;
  attn_err_clear(&err);
  if( attn_default_positions(p->n, p->bSeq ? p->aSeq : 0, p->aPos, &err) ){
    return rowsError(c, err.rc, "%s", err.zMsg);
  }
  p->bPos = 1;
  return SQLITE_OK;
}

/* The params row: match its column names (before it runs), then step it
** for exactly one row, copying its values. */
static int rowsParamsStep(const AttnRowsCtx *c, sqlite3_stmt *pStmt,
                          int nArg, const char *const *azArg, uint32_t mFixed,
                          int *aiArg, sqlite3_value **apVal){
  int nCol = sqlite3_column_count(pStmt), i, rc;
  const char **azCol;
  attn_err err;
  azCol = sqlite3_malloc64(sizeof(char*)*(sqlite3_uint64)nCol);
  if( azCol==0 ) return SQLITE_NOMEM;
  for(i=0; i<nCol; i++){
    azCol[i] = sqlite3_column_name(pStmt, i);
    if( azCol[i]==0 ){
      sqlite3_free(azCol);
      return SQLITE_NOMEM;
    }
  }
  attn_err_clear(&err);
  rc = attn_params_match(nCol, azCol, nArg, azArg, mFixed, aiArg, &err);
  sqlite3_free(azCol);
  if( rc ) return rowsError(c, err.rc, "%s", err.zMsg);
  rc = sqlite3_step(pStmt);
  if( rc==SQLITE_DONE ) attn_params_rows(0, &err);
  if( rc!=SQLITE_ROW && rc!=SQLITE_DONE ) return rowsStepError(c, "params", rc);
  for(i=0; rc==SQLITE_ROW && i<nCol; i++){
    sqlite3_value *pVal = sqlite3_column_value(pStmt, i);
    if( aiArg[i]<0 || sqlite3_value_type(pVal)==SQLITE_NULL ) continue;
    apVal[aiArg[i]] = sqlite3_value_dup(pVal);
    if( apVal[aiArg[i]]==0 ) return SQLITE_NOMEM;
  }
  if( rc==SQLITE_ROW ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW ) attn_params_rows(2, &err);
    else if( rc!=SQLITE_DONE ) return rowsStepError(c, "params", rc);
  }
  if( err.rc ) return rowsError(c, err.rc, "%s", err.zMsg);
  return SQLITE_OK;
}

int attnRowsParams(const AttnRowsCtx *c, sqlite3_value *pSql, int nArg,
                   const char *const *azArg, uint32_t mFixed,
                   sqlite3_value **apVal){
  sqlite3_stmt *pStmt = 0;
  int *aiArg = 0;
  int i, rc;
  for(i=0; i<nArg; i++) apVal[i] = 0;
  if( (rc = rowsEnter(c, "params"))!=SQLITE_OK ) return rc;
  rc = rowsPrepare(c, "params", pSql, &pStmt);
  if( rc==SQLITE_OK ){
    aiArg = sqlite3_malloc64(sizeof(int)*
                             (sqlite3_uint64)sqlite3_column_count(pStmt));
    rc = aiArg ? rowsParamsStep(c, pStmt, nArg, azArg, mFixed, aiArg, apVal)
               : SQLITE_NOMEM;
  }
  sqlite3_free(aiArg);
  sqlite3_finalize(pStmt);
  rowsDepth--;
  if( rc ){
    for(i=0; i<nArg; i++){
      sqlite3_value_free(apVal[i]);
      apVal[i] = 0;
    }
    if( rc==SQLITE_NOMEM ) return rowsError(c, SQLITE_NOMEM, "out of memory");
  }
  return rc;
}
