/*
** attention_tvf.c: the table-valued functions attention() and
** attention_scores(), self-attention (and cross-attention) over the rows of
** any query.
**
**   SELECT id, output FROM attention('SELECT id, emb AS x FROM tokens')
**    WHERE wq = :wq AND wk = :wk AND wv = :wv AND heads = 4 AND causal = 1;
**
**   SELECT qid, kid, head, weight
**     FROM attention_scores('SELECT id, emb AS x, doc AS seq FROM tokens')
**    WHERE qid = 17;
**
** Arguments.  source (first) is one read-only SELECT whose result columns
** are found by name: id (any value; default the row number, from 1), x (the
** input embedding) or q, k, v (inputs of W_Q, W_K, W_V, each falling back
** to x), seq (integer; rows with equal seq form one independent sequence)
** and pos (integer position; default the row's order in its sequence, from
** 0).  keys (second, optional) is a second SELECT with id, x or k and v,
** seq and pos: the rows attended to (cross-attention).  The other arguments
** are hidden columns, set with WHERE name = value (or positionally after
** keys): wq wk wv wo (matrix BLOBs or JSON; a missing one is the identity),
** bq bk bv bo (bias vectors), heads, kv_heads, scale, causal, window,
** alibi, rope (the RoPE base; NULL = off), rope_style ('neox' or
** 'interleaved'), softcap, threads.  NULL for any of them is the default.
**
** Results.  attention() returns id, seq, pos, output, lse: one row per
** source row, in source order; output is the concatenated heads times W_O
** (+ b_O), lse the per-head log-sum-exp; both are NULL for a row with no
** key it may attend to.  attention_scores() returns qid, kid, seq, qpos,
** kpos, head, score, weight: for each query row in source order, for each
** head (from 0), each allowed key in position order.  Equality constraints
** on qid, qpos and head are used to compute only those query rows / heads.
**
** How it works.  xFilter prepares the SQL on the same connection, checks it
** is exactly one read-only statement that returns columns, reads every row
** (never streaming the nested statement while the caller may write: the
** Halloween problem), and hands the rows to the engine (src/attention.h),
** which projects them and prepares the blocks.  xNext then computes outputs
** a block of query rows at a time, so SQLite's interrupt and progress
** handler run between rows.  xBestIndex hands xFilter every argument and
** the BINARY equality filters of qid, qpos and head; SQLite rechecks
** constraints past its 16th, which a NULL argument would fail, so the
** arguments that may be NULL come first and a NULL one SQLite would
** recheck is an error (idxStr says which).  A thread-local depth counter
** stops attention() called from inside its own source with an error.  Both
** functions are DIRECTONLY: a view or trigger cannot run them, so a
** database file cannot make them run SQL or spend CPU on its own.
**
** Schema (hidden columns are the arguments):
**   attention(id, seq, pos, output, lse, source HIDDEN, keys HIDDEN, ...)
**   attention_scores(qid, kid, seq, qpos, kpos, head, score, weight,
**                    source HIDDEN, keys HIDDEN, ...)
*/
#include "common.h"
#include <stdarg.h>
#include <string.h>
#include "../src/alloc.h"
#include "../src/attention.h"
#include "../src/position.h"
#include "../src/sqltext.h"
#include "../src/threads.h"
#include "../src/utf8.h"
#include "../src/vector.h"

#ifndef SQLITE_OMIT_VIRTUALTABLE

/* How deep attention() may nest inside its own source SQL. */
#define TVF_MAX_DEPTH 16

/* Positions are limited (as in the engine) so that distances are exact. */
#define TVF_MAX_POS ((int64_t)1<<53)

/* The hidden arguments, in column order, and how each is read. */
#define TVF_SQL     0
#define TVF_VECTOR  1
#define TVF_INT     2
#define TVF_NUMBER  3
#define TVF_BOOL    4
#define TVF_STYLE   5

static const struct TvfArg {
  const char *zName;
  int eKind;
} aTvfArg[] = {
  { "source",     TVF_SQL    },
  { "keys",       TVF_SQL    },
  { "wq",         TVF_VECTOR },
  { "wk",         TVF_VECTOR },
  { "wv",         TVF_VECTOR },
  { "wo",         TVF_VECTOR },
  { "bq",         TVF_VECTOR },
  { "bk",         TVF_VECTOR },
  { "bv",         TVF_VECTOR },
  { "bo",         TVF_VECTOR },
  { "heads",      TVF_INT    },
  { "kv_heads",   TVF_INT    },
  { "scale",      TVF_NUMBER },
  { "causal",     TVF_BOOL   },
  { "window",     TVF_INT    },
  { "alibi",      TVF_BOOL   },
  { "rope",       TVF_NUMBER },
  { "rope_style", TVF_STYLE  },
  { "softcap",    TVF_NUMBER },
  { "threads",    TVF_INT    },
};
#define TVF_NARG ((int)(sizeof(aTvfArg)/sizeof(aTvfArg[0])))

/* Argument numbers (index into aTvfArg). */
#define ARG_SOURCE 0
#define ARG_KEYS   1
#define ARG_WQ     2
#define ARG_BQ     6
#define ARG_HEADS  10
#define ARG_KVHEADS 11
#define ARG_SCALE  12
#define ARG_CAUSAL 13
#define ARG_WINDOW 14
#define ARG_ALIBI  15
#define ARG_ROPE   16
#define ARG_STYLE  17
#define ARG_SOFTCAP 18
#define ARG_THREADS 19

/* Output columns. */
#define ATT_ID      0
#define ATT_SEQ     1
#define ATT_POS     2
#define ATT_OUTPUT  3
#define ATT_LSE     4
#define ATT_NCOL    5

#define SCO_QID     0
#define SCO_KID     1
#define SCO_SEQ     2
#define SCO_QPOS    3
#define SCO_KPOS    4
#define SCO_HEAD    5
#define SCO_SCORE   6
#define SCO_WEIGHT  7
#define SCO_NCOL    8

/* idxNum bits above the argument bits: pushed-down filters of scores. */
#define FILTER_QID   (1<<TVF_NARG)
#define FILTER_QPOS  (1<<(TVF_NARG+1))
#define FILTER_HEAD  (1<<(TVF_NARG+2))

static _Thread_local int tvfDepth = 0;

typedef struct TvfVtab TvfVtab;
/* What one registration of the module keeps for its connection. */
typedef struct TvfModule TvfModule;
struct TvfModule {
  int bScores;              /* 1 for attention_scores */
  attn_threads *pThreads;   /* the workers of its queries with threads > 1:
                            ** started by the first, joined when the
                            ** connection closes (tvfModuleFree) */
};

struct TvfVtab {
  sqlite3_vtab base;        /* Base class - must be first */
  sqlite3 *db;
  TvfModule *pMod;
  int bScores;              /* 1 for attention_scores */
  const char *zName;        /* "attention" or "attention_scores" */
  int nCol;                 /* output columns before the hidden ones */
};

/* Blocks of rows per vector column: nAlloc doubles from 64 and stays below
** ATTN_MAX_ROWS (2^30), so 25 blocks are the most one column can have. */
#define TVF_MAX_BLOCK 32

/* The rows of one SELECT, as read by tvfReadRows(). */
typedef struct TvfRows TvfRows;
struct TvfRows {
  int64_t n, nAlloc;
  sqlite3_value **aId;      /* id values (NULL entries: default row number) */
  int64_t *aSeq;            /* NULL when there is no seq column */
  int64_t *aPos;            /* explicit or default positions */
  int bSeq;                 /* the SELECT has a seq column */
  struct TvfVecCol {        /* the vector columns x, q, k, v */
    int iCol;               /* column of the statement, -1 if absent/unused */
    int64_t nDim;
    float **apRow;          /* row i's nDim floats (nAlloc pointers) */
    /* The rows' storage: blocks that never move, each holding the rows
    ** that one growth of nAlloc added (so growing copies no vector). */
    float *apBlock[TVF_MAX_BLOCK];
    int nBlock;
    int64_t iBlockRow;      /* first row of the last block */
  } aVec[4];
};
#define VEC_X 0
#define VEC_Q 1
#define VEC_K 2
#define VEC_V 3
static const char *const azVecName[4] = { "x", "q", "k", "v" };

typedef struct TvfCursor TvfCursor;
struct TvfCursor {
  sqlite3_vtab_cursor base; /* Base class - must be first */
  sqlite3_value *apArg[TVF_NARG];   /* argument values, for xColumn */
  TvfRows src, keys;        /* source rows and (cross-attention) key rows */
  int bKeys;                /* keys were given */
  attn_state *pState;
  sqlite3_stmt *pPoll;      /* "SELECT 1", stepped to notice interrupts */
  int64_t *aQRow;           /* query rows given to the engine → source row */
  int64_t nQRow;
  int64_t iQ;               /* current query row (index into aQRow) */
  const float *aOut, *aLse; /* outputs of the current row (attention) */
  int iHeadFilter;          /* -1 or the head asked for (scores) */
  attn_score_iter *pIter;   /* score rows of the current query row */
  attn_score score;         /* current score row */
  int bEof;
};

/*
** Errors.
*/
static int tvfError(TvfVtab *pTab, int rc, const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  rc = attnVtabErrorV(&pTab->base, pTab->zName, rc, zFmt, ap);
  va_end(ap);
  return rc;
}

/* Describe source row i (0-based) for messages: "source row 3 (id 17)".
** NULL when out of memory. */
static char *tvfRowName(const char *zSide, const TvfRows *p, int64_t i,
                        sqlite3_value *pId){
  if( pId && sqlite3_value_type(pId)!=SQLITE_NULL ){
    const char *zId = (const char*)sqlite3_value_text(pId);
    int nId = sqlite3_value_bytes(pId), nShow;
    if( zId==0 ) return 0;
    /* Quoted up to 40 bytes, never cutting a character. */
    nShow = attn_utf8_prefix(zId, nId, 40);
    return sqlite3_mprintf("%s row %lld (id %.*s%s)", zSide, (long long)i+1,
                           nShow, zId, nShow<nId ? "..." : "");
  }
  (void)p;
  return sqlite3_mprintf("%s row %lld", zSide, (long long)i+1);
}

/*
** xConnect, xDisconnect, xBestIndex.
*/
static int tvfConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr){
  TvfModule *pMod = (TvfModule*)pAux;
  int bScores = pMod->bScores;
  /* Not sqlite3_str_new(db): the schema must not depend on the caller's
  ** SQLITE_LIMIT_LENGTH (a low limit would make the table unusable). */
  sqlite3_str *pSql = sqlite3_str_new(0);
  char *zSql;
  TvfVtab *pTab;
  int i, rc;
  (void)argc; (void)argv;
  sqlite3_str_appendall(pSql, bScores
      ? "CREATE TABLE x(qid,kid,seq,qpos,kpos,head,score,weight"
      : "CREATE TABLE x(id,seq,pos,output,lse");
  for(i=0; i<TVF_NARG; i++){
    sqlite3_str_appendf(pSql, ",%s HIDDEN", aTvfArg[i].zName);
  }
  sqlite3_str_appendall(pSql, ")");
  zSql = sqlite3_str_finish(pSql);
  if( zSql==0 ) return SQLITE_NOMEM;
  rc = sqlite3_declare_vtab(db, zSql);
  if( rc ){
    /* SQLite keeps the schema text within SQLITE_LIMIT_LENGTH: say so
    ** rather than "vtable constructor failed". */
    *pzErr = sqlite3_mprintf("%s(): cannot declare the table (is "
                             "SQLITE_LIMIT_LENGTH, now %d bytes, below 500?): "
                             "%s", bScores ? "attention_scores" : "attention",
                             sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1),
                             sqlite3_errmsg(db));
    if( *pzErr ) attn_utf8_repair(*pzErr);
  }
  sqlite3_free(zSql);
  if( rc ) return rc;
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if( pTab==0 ) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->db = db;
  pTab->pMod = pMod;
  pTab->bScores = bScores;
  pTab->zName = bScores ? "attention_scores" : "attention";
  pTab->nCol = bScores ? SCO_NCOL : ATT_NCOL;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

static int tvfDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* Is the right-hand side of constraint iCons a constant known not to be
** NULL?  (1 if so, else 0.) */
static int tvfKnownNonNull(sqlite3_index_info *pInfo, int iCons){
  sqlite3_value *pVal = 0;
  return sqlite3_vtab_rhs_value(pInfo, iCons, &pVal)==SQLITE_OK && pVal!=0
      && sqlite3_value_type(pVal)!=SQLITE_NULL;
}

static int tvfBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  TvfVtab *pTab = (TvfVtab*)pVtab;
  int aIdx[TVF_NARG+3];
  char zIdx[TVF_NARG+4];
  unsigned char aUnusable[TVF_NARG];
  int i, iPass, nArg = 0, idxNum = 0;
  for(i=0; i<TVF_NARG+3; i++) aIdx[i] = -1;
  memset(aUnusable, 0, sizeof(aUnusable));
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    int iArg = -1;
    if( c->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
    if( c->iColumn>=pTab->nCol ){
      iArg = c->iColumn - pTab->nCol;
    }else if( pTab->bScores ){
      /* Our equality of qid, qpos and head is BINARY: a constraint with
      ** another collation ('a' = 'A' COLLATE NOCASE) is left to SQLite. */
      const char *zColl = sqlite3_vtab_collation(pInfo, i);
      if( zColl && sqlite3_stricmp(zColl, "BINARY")!=0 ) continue;
      if( c->iColumn==SCO_QID ) iArg = TVF_NARG;
      else if( c->iColumn==SCO_QPOS ) iArg = TVF_NARG+1;
      else if( c->iColumn==SCO_HEAD ) iArg = TVF_NARG+2;
    }
    if( iArg<0 ) continue;
    if( !c->usable ){
      if( iArg<TVF_NARG ) aUnusable[iArg] = 1;
      continue;
    }
    if( aIdx[iArg]<0 ) aIdx[iArg] = i;
  }
  /* An argument whose value is not available in this plan (it comes from a
  ** table later in the join): ask SQLite for another plan, rather than run
  ** with the argument missing. */
  for(i=0; i<TVF_NARG; i++){
    if( aUnusable[i] && aIdx[i]<0 ) return SQLITE_CONSTRAINT;
  }

  /* argv order: first the arguments whose value may be NULL (not a known
  ** non-NULL constant), then the others, then the filters.  SQLite omits a
  ** constraint from its recheck only if both its number and its argv
  ** position are below 16; a rechecked argument is compared with its
  ** hidden column, which returns it, so it holds unless it is NULL, and
  ** only the arguments that may be NULL need the first places.  idxStr
  ** tells xFilter what each argv is: 'a'+i for argument or filter i, 'A'+i
  ** when SQLite will recheck it.  Filters of output columns are always
  ** rechecked (our equality is looser than SQL's). */
  for(iPass=0; iPass<3; iPass++){
    for(i=0; i<TVF_NARG+3; i++){
      int c = aIdx[i];
      if( c<0 ) continue;
      if( (i>=TVF_NARG ? 2 : tvfKnownNonNull(pInfo, c))!=iPass ) continue;
      pInfo->aConstraintUsage[c].argvIndex = ++nArg;
      pInfo->aConstraintUsage[c].omit = i<TVF_NARG;
      zIdx[nArg-1] = (char)((c<16 && nArg<=16 ? 'a' : 'A') + i);
      idxNum |= 1<<i;
    }
  }
  zIdx[nArg] = 0;
  pInfo->idxStr = sqlite3_mprintf("%s", zIdx);
  if( pInfo->idxStr==0 ) return SQLITE_NOMEM;
  pInfo->needToFreeIdxStr = 1;
  pInfo->idxNum = idxNum;
  if( aIdx[ARG_SOURCE]<0 ){
    /* No source in this plan: SQLite plans each branch of an OR on its own
    ** (WHERE qid = 1 OR qid = 3), and the branch has none.  A cost no plan
    ** with the source reaches makes SQLite take another whenever there is
    ** one; a query with no source at all runs this plan, and xFilter says
    ** the source is missing (declining every plan would leave SQLite's "no
    ** query solution" instead). */
    pInfo->estimatedCost = 1e99;
    pInfo->estimatedRows = 2147483647;
  }else{
    pInfo->estimatedCost = (idxNum & (FILTER_QID|FILTER_QPOS)) ? 1000.0 : 1e6;
    pInfo->estimatedRows = (idxNum & (FILTER_QID|FILTER_QPOS)) ? 1000 : 1000000;
  }
  return SQLITE_OK;
}

/*
** Reading the rows of the source and keys SELECTs.
*/
static void tvfRowsClear(TvfRows *p){
  int64_t i;
  int k;
  for(i=0; i<p->n; i++) sqlite3_value_free(p->aId[i]);
  sqlite3_free(p->aId);
  sqlite3_free(p->aSeq);
  sqlite3_free(p->aPos);
  for(k=0; k<4; k++){
    int j;
    for(j=0; j<p->aVec[k].nBlock; j++) sqlite3_free(p->aVec[k].apBlock[j]);
    sqlite3_free(p->aVec[k].apRow);
  }
  memset(p, 0, sizeof(*p));
}

/* Add a block of storage to vector column c for rows [iFirst, iEnd). */
static int tvfVecBlock(struct TvfVecCol *c, int64_t iFirst, int64_t iEnd){
  float *a;
  if( c->nBlock>=TVF_MAX_BLOCK ) return SQLITE_NOMEM;  /* not reached */
  a = sqlite3_malloc64(4*(sqlite3_uint64)c->nDim*(sqlite3_uint64)(iEnd-iFirst));
  if( a==0 ) return SQLITE_NOMEM;
  c->apBlock[c->nBlock++] = a;
  c->iBlockRow = iFirst;
  return SQLITE_OK;
}

/* Grow the arrays of p (the rows of the SELECT of argument zArg) to hold at
** least one more row.  No array may pass ATTN_MAX_ALLOC bytes (about 2 GiB,
** the most sqlite3_malloc64() hands out): reaching it is SQLITE_TOOBIG, with
** a message naming the limit, not an out-of-memory error. */
static int tvfRowsGrow(TvfVtab *pTab, const char *zArg, TvfRows *p){
  int64_t nNew = p->nAlloc ? 2*p->nAlloc : 64;
  int64_t nDim = 0, nMax;
  const char *zCol = 0;
  void *pNew;
  int k;
  for(k=0; k<4; k++){
    if( p->aVec[k].iCol>=0 && p->aVec[k].nDim>nDim ){
      nDim = p->aVec[k].nDim;
      zCol = azVecName[k];
    }
  }
  nMax = (int64_t)(ATTN_MAX_ALLOC / (nDim>2 ? 4*(uint64_t)nDim : 8));
  if( p->nAlloc>=nMax ){
    if( zCol==0 ){
      return tvfError(pTab, SQLITE_TOOBIG, "%s SELECT has more than %lld "
                      "rows, which would need more than %llu bytes, the "
                      "largest buffer allowed", zArg, (long long)nMax,
                      (unsigned long long)ATTN_MAX_ALLOC);
    }
    return tvfError(pTab, SQLITE_TOOBIG, "%s SELECT has more than %lld rows "
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
  for(k=0; k<4; k++){
    struct TvfVecCol *c = &p->aVec[k];
    if( c->iCol<0 ) continue;
    pNew = sqlite3_realloc64(c->apRow, sizeof(float*)*(sqlite3_uint64)nNew);
    if( pNew==0 ) return SQLITE_NOMEM;
    c->apRow = pNew;
    /* Before the first row the dimension is unknown: tvfReadVector()
    ** allocates the first block. */
    if( c->nDim>0 && tvfVecBlock(c, p->nAlloc, nNew) ) return SQLITE_NOMEM;
  }
  p->nAlloc = nNew;
  return SQLITE_OK;
}

/* Prepare zSql (argument zArg of the function) as exactly one read-only
** statement that returns columns.  What the text may be is decided on the
** text before anything is prepared (src/sqltext.h): SQLite applies many
** PRAGMAs while preparing them, so a refused PRAGMA would already have
** changed the connection.  Only the statement is prepared, from its first
** word; what follows it must be blank and is never prepared. */
static int tvfPrepare(TvfVtab *pTab, const char *zArg, sqlite3_value *pSql,
                      sqlite3_stmt **ppStmt){
  const char *zSql, *zTail = 0;
  sqlite3_stmt *pStmt = 0;
  int64_t nSql, iStart = 0;
  attn_err err;
  int rc;
  *ppStmt = 0;
  if( sqlite3_value_type(pSql)!=SQLITE_TEXT ){
    int t = sqlite3_value_type(pSql);
    return tvfError(pTab, SQLITE_ERROR, "%s must be the text of a SELECT "
                    "statement, found %s", zArg,
                    t==SQLITE_INTEGER ? "an integer" :
                    t==SQLITE_FLOAT ? "a real number" : "a blob");
  }
  zSql = (const char*)sqlite3_value_text(pSql);
  if( zSql==0 ) return SQLITE_NOMEM;
  nSql = sqlite3_value_bytes(pSql);
  if( (int64_t)strlen(zSql)!=nSql ){
    return tvfError(pTab, SQLITE_ERROR, "%s contains a NUL character, "
                    "expected the text of one SELECT statement", zArg);
  }
  attn_err_clear(&err);
  if( attn_sql_query(zArg, zSql, nSql, &iStart, &err) ){
    return tvfError(pTab, err.rc, "%s", err.zMsg);
  }
  rc = sqlite3_prepare_v2(pTab->db, zSql+iStart, (int)(nSql-iStart), &pStmt,
                          &zTail);
  if( rc ){
    return tvfError(pTab, rc, "%s SELECT: %s", zArg, sqlite3_errmsg(pTab->db));
  }
  if( pStmt==0 ){
    return tvfError(pTab, SQLITE_ERROR, "%s is empty, expected one SELECT "
                    "statement", zArg);
  }
  if( zTail && !attn_sql_blank(zTail, (int64_t)strlen(zTail)) ){
    sqlite3_finalize(pStmt);
    return tvfError(pTab, SQLITE_ERROR, "%s has more than one statement, "
                    "expected exactly one SELECT (what follows the first is "
                    "never prepared)", zArg);
  }
  if( !sqlite3_stmt_readonly(pStmt) || sqlite3_column_count(pStmt)==0 ){
    int bWrites = !sqlite3_stmt_readonly(pStmt);
    const char *zText = zSql+iStart;
    int nText = (int)strlen(zText), nShow = attn_utf8_prefix(zText, nText, 60);
    sqlite3_finalize(pStmt);
    return tvfError(pTab, SQLITE_ERROR, bWrites
        ? "%s must be a read-only SELECT, but this statement writes: %.*s%s"
        : "%s must be a SELECT that returns columns, but this statement "
          "returns none: %.*s%s",
        zArg, nShow, zText, nShow<nText ? "..." : "");
  }
  if( sqlite3_bind_parameter_count(pStmt)>0 ){
    sqlite3_finalize(pStmt);
    return tvfError(pTab, SQLITE_ERROR, "%s SELECT has parameters, which "
                    "cannot be bound here: put the values in the text",
                    zArg);
  }
  *ppStmt = pStmt;
  return SQLITE_OK;
}

/* Find the columns of pStmt by name.  bNeedQ/bNeedKV: which vector inputs
** this SELECT must provide. */
static int tvfFindColumns(TvfVtab *pTab, const char *zArg, sqlite3_stmt *pStmt,
                          TvfRows *p, int *piId, int *piSeq, int *piPos,
                          int bNeedQ, int bNeedKV){
  int nCol = sqlite3_column_count(pStmt), i, k;
  *piId = *piSeq = *piPos = -1;
  for(k=0; k<4; k++) p->aVec[k].iCol = -1;
  for(i=0; i<nCol; i++){
    const char *z = sqlite3_column_name(pStmt, i);
    int *piSlot = 0;
    if( z==0 ) return SQLITE_NOMEM;
    if( sqlite3_stricmp(z, "id")==0 ) piSlot = piId;
    else if( sqlite3_stricmp(z, "seq")==0 ) piSlot = piSeq;
    else if( sqlite3_stricmp(z, "pos")==0 ) piSlot = piPos;
    else{
      for(k=0; k<4; k++){
        if( sqlite3_stricmp(z, azVecName[k])==0 ) piSlot = &p->aVec[k].iCol;
      }
    }
    if( piSlot==0 ) continue;
    if( *piSlot>=0 ){
      return tvfError(pTab, SQLITE_ERROR, "%s SELECT has two columns named "
                      "%s", zArg, z);
    }
    *piSlot = i;
  }
  /* Keep only the vector columns this side feeds. */
  if( !bNeedQ ) p->aVec[VEC_Q].iCol = -1;
  if( !bNeedKV ){
    p->aVec[VEC_K].iCol = -1;
    p->aVec[VEC_V].iCol = -1;
  }
  if( bNeedQ && p->aVec[VEC_Q].iCol<0 && p->aVec[VEC_X].iCol<0 ){
    return tvfError(pTab, SQLITE_ERROR, "%s SELECT has no column named x "
                    "or q: name the embedding column x (SELECT emb AS x ...)",
                    zArg);
  }
  if( bNeedKV && p->aVec[VEC_X].iCol<0
   && (p->aVec[VEC_K].iCol<0 || p->aVec[VEC_V].iCol<0) ){
    return tvfError(pTab, SQLITE_ERROR, "%s SELECT has no column named %s "
                    "and no x to use instead", zArg,
                    p->aVec[VEC_K].iCol<0 ? "k" : "v");
  }
  /* x is only read when some input falls back to it. */
  if( (!bNeedQ || p->aVec[VEC_Q].iCol>=0)
   && (!bNeedKV || (p->aVec[VEC_K].iCol>=0 && p->aVec[VEC_V].iCol>=0)) ){
    p->aVec[VEC_X].iCol = -1;
  }
  p->bSeq = *piSeq>=0;
  return SQLITE_OK;
}

/* Read integer column iCol of the current row for seq or pos. */
static int tvfReadInt(TvfVtab *pTab, const char *zSide, TvfRows *p,
                      sqlite3_stmt *pStmt, int iCol, const char *zCol,
                      int64_t *pOut){
  sqlite3_value *pVal = sqlite3_column_value(pStmt, iCol);
  attn_err err;
  if( sqlite3_value_type(pVal)==SQLITE_NULL
   || attnValueInteger(pVal, pOut, &err) ){
    char *zRow = tvfRowName(zSide, p, p->n, p->aId[p->n]);
    int rc = zRow==0 ? SQLITE_NOMEM : tvfError(pTab, SQLITE_ERROR, "%s: %s %s",
                      zRow, zCol, sqlite3_value_type(pVal)==SQLITE_NULL
                        ? "is NULL, expected an integer" : err.zMsg);
    sqlite3_free(zRow);
    return rc;
  }
  if( zCol[0]=='p' && (*pOut>TVF_MAX_POS || *pOut<-TVF_MAX_POS) ){
    char *zRow = tvfRowName(zSide, p, p->n, p->aId[p->n]);
    int rc = zRow==0 ? SQLITE_NOMEM : tvfError(pTab, SQLITE_ERROR, "%s: pos "
                      "is %lld, expected -2^53 to 2^53", zRow,
                      (long long)*pOut);
    sqlite3_free(zRow);
    return rc;
  }
  return SQLITE_OK;
}

/* Read vector column k of the current row into its array. */
static int tvfReadVector(TvfVtab *pTab, const char *zSide, TvfRows *p,
                         sqlite3_stmt *pStmt, int k){
  struct TvfVecCol *c = &p->aVec[k];
  sqlite3_value *pVal = sqlite3_column_value(pStmt, c->iCol);
  attn_err err;
  int64_t nDim = 0;
  char *zRow;
  int rc;
  attn_err_clear(&err);
  if( sqlite3_value_type(pVal)==SQLITE_NULL ){
    attn_err_set(&err, ATTN_ERROR, "is NULL, expected a vector");
  }else if( attnValueDim(pVal, &nDim, &err)==ATTN_OK ){
    if( p->n==0 ){
      if( nDim>ATTN_MAX_DIM ){
        attn_err_set(&err, ATTN_ERROR, "has %lld dimensions, more than the "
                     "maximum %d", (long long)nDim, ATTN_MAX_DIM);
      }else{
        c->nDim = nDim;
        if( tvfVecBlock(c, 0, p->nAlloc) ) return SQLITE_NOMEM;
      }
    }else if( nDim!=c->nDim ){
      attn_err_set(&err, ATTN_ERROR, "has %lld dimensions, expected %lld "
                   "like row 1", (long long)nDim, (long long)c->nDim);
    }
    if( err.rc==ATTN_OK ){
      /* Row n is in the last block, which holds rows up to nAlloc. */
      float *a = c->apBlock[c->nBlock-1] + (p->n - c->iBlockRow)*c->nDim;
      c->apRow[p->n] = a;
      attnValueDecode(pVal, a, nDim, &err);
    }
  }
  if( err.rc==ATTN_OK ) return SQLITE_OK;
  if( err.rc==ATTN_NOMEM ) return SQLITE_NOMEM;
  zRow = tvfRowName(zSide, p, p->n, p->aId[p->n]);
  if( zRow==0 ) return SQLITE_NOMEM;
  rc = tvfError(pTab, err.rc, "%s: column %s %s", zRow, azVecName[k],
                err.zMsg);
  sqlite3_free(zRow);
  return rc;
}

/* Run the SELECT of argument zArg and read all its rows into p. */
static int tvfReadRows(TvfVtab *pTab, const char *zArg, sqlite3_value *pSql,
                       int bNeedQ, int bNeedKV, TvfRows *p){
  sqlite3_stmt *pStmt = 0;
  int iId, iSeq, iPos, k, rc;
  rc = tvfPrepare(pTab, zArg, pSql, &pStmt);
  if( rc ) return rc;
  rc = tvfFindColumns(pTab, zArg, pStmt, p, &iId, &iSeq, &iPos, bNeedQ,
                      bNeedKV);
  while( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_DONE ){ rc = SQLITE_OK; break; }
    if( rc!=SQLITE_ROW ){
      const char *zErr = sqlite3_errmsg(pTab->db);
      if( sqlite3_strnicmp(zErr, "attention(): ", 13)==0
       || sqlite3_strnicmp(zErr, "attention_scores(): ", 20)==0 ){
        /* An attention() nested in this SELECT failed: its message already
        ** says what went wrong (prefixing it at every level of a deep
        ** nesting would bury it). */
        sqlite3_free(pTab->base.zErrMsg);
        pTab->base.zErrMsg = sqlite3_mprintf("%s", zErr);
        if( pTab->base.zErrMsg==0 ) rc = SQLITE_NOMEM;
        else attn_utf8_repair(pTab->base.zErrMsg);
      }else{
        rc = tvfError(pTab, rc, "%s SELECT: %s", zArg, zErr);
      }
      break;
    }
    rc = SQLITE_OK;
    if( p->n>=ATTN_MAX_ROWS ){
      rc = tvfError(pTab, SQLITE_TOOBIG, "%s SELECT returned more than the "
                    "maximum %lld rows", zArg, (long long)ATTN_MAX_ROWS);
      break;
    }
    if( p->n>=p->nAlloc && (rc = tvfRowsGrow(pTab, zArg, p))!=SQLITE_OK ) break;
    p->aId[p->n] = 0;
    if( iId>=0 ){
      p->aId[p->n] = sqlite3_value_dup(sqlite3_column_value(pStmt, iId));
      if( p->aId[p->n]==0 ){ rc = SQLITE_NOMEM; break; }
    }
    p->aSeq[p->n] = 0;
    p->aPos[p->n] = 0;
    if( iSeq>=0 ){
      rc = tvfReadInt(pTab, zArg, p, pStmt, iSeq, "seq", &p->aSeq[p->n]);
    }
    if( rc==SQLITE_OK && iPos>=0 ){
      rc = tvfReadInt(pTab, zArg, p, pStmt, iPos, "pos", &p->aPos[p->n]);
    }
    for(k=0; rc==SQLITE_OK && k<4; k++){
      if( p->aVec[k].iCol>=0 ) rc = tvfReadVector(pTab, zArg, p, pStmt, k);
    }
    if( rc==SQLITE_OK ){
      p->n++;
    }else{
      sqlite3_value_free(p->aId[p->n]);
    }
  }
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_NOMEM ) return tvfError(pTab, SQLITE_NOMEM, "out of memory");
  if( rc==SQLITE_OK && iPos<0 && p->n>0 ){
    attn_err err;
    if( attn_default_positions(p->n, p->bSeq ? p->aSeq : 0, p->aPos, &err) ){
      rc = tvfError(pTab, err.rc, "%s", err.zMsg);
    }
  }
  return rc;
}

/*
** Arguments.
*/

/* Read the vector argument iArg into *pT (a copy the cursor owns). */
static int tvfArgVector(TvfVtab *pTab, sqlite3_value *pVal, int iArg,
                        attn_tensor *pT, float **paOwn){
  attn_err err;
  int64_t n = 0;
  float *a;
  attn_err_clear(&err);
  if( attnValueDim(pVal, &n, &err)==ATTN_OK ){
    a = sqlite3_malloc64(4*(sqlite3_uint64)n);
    if( a==0 ) return tvfError(pTab, SQLITE_NOMEM, "out of memory");
    if( attnValueDecode(pVal, a, n, &err)==ATTN_OK ){
      *paOwn = a;
      pT->a = a;
      pT->n = n;
      return SQLITE_OK;
    }
    sqlite3_free(a);
  }
  return tvfError(pTab, err.rc, "%s %s", aTvfArg[iArg].zName, err.zMsg);
}

/* Read the options from the arguments into *pOpt. */
static int tvfArgOptions(TvfVtab *pTab, sqlite3_value **apArg,
                         attn_options *pOpt){
  int i;
  memset(pOpt, 0, sizeof(*pOpt));
  pOpt->nHead = 1;
  pOpt->nThread = 1;
  for(i=ARG_HEADS; i<TVF_NARG; i++){
    sqlite3_value *pVal = apArg[i];
    attn_err err;
    int64_t iVal = 0;
    double rVal = 0.0;
    if( pVal==0 || sqlite3_value_type(pVal)==SQLITE_NULL ) continue;
    attn_err_clear(&err);
    switch( aTvfArg[i].eKind ){
      case TVF_INT:
      case TVF_BOOL:
        attnValueInteger(pVal, &iVal, &err);
        if( err.rc==ATTN_OK && aTvfArg[i].eKind==TVF_BOOL
         && iVal!=0 && iVal!=1 ){
          attn_err_set(&err, ATTN_ERROR, "is %lld, expected 0 or 1",
                       (long long)iVal);
        }
        break;
      case TVF_NUMBER:
        attnValueNumber(pVal, &rVal, &err);
        break;
      default: {
        const char *z = (const char*)sqlite3_value_text(pVal);
        int eStyle = 0;
        if( z==0 ) return tvfError(pTab, SQLITE_NOMEM, "out of memory");
        attn_rope_style(z, sqlite3_value_bytes(pVal), &eStyle, &err);
        iVal = eStyle;
      }
    }
    if( err.rc ){
      return tvfError(pTab, err.rc, "%s %s", aTvfArg[i].zName, err.zMsg);
    }
    switch( i ){
      case ARG_HEADS:
      case ARG_KVHEADS:
      case ARG_THREADS: {
        int mx = i==ARG_THREADS ? ATTN_MAX_THREADS : ATTN_MAX_HEADS;
        if( iVal<1 || iVal>mx ){
          return tvfError(pTab, SQLITE_ERROR, "%s is %lld, expected 1 to %d",
                          aTvfArg[i].zName, (long long)iVal, mx);
        }
        if( i==ARG_HEADS ) pOpt->nHead = (int)iVal;
        else if( i==ARG_KVHEADS ) pOpt->nKvHead = (int)iVal;
        else pOpt->nThread = (int)iVal;
        break;
      }
      case ARG_SCALE:   pOpt->bScale = 1; pOpt->rScale = rVal; break;
      case ARG_CAUSAL:  pOpt->bCausal = (int)iVal; break;
      case ARG_ALIBI:   pOpt->bAlibi = (int)iVal; break;
      case ARG_WINDOW:
        if( iVal<1 ){
          return tvfError(pTab, SQLITE_ERROR, "window is %lld, expected 1 or "
                          "more (NULL for no window)", (long long)iVal);
        }
        pOpt->nWindow = iVal;
        break;
      case ARG_ROPE:
        if( !(rVal>0.0) ){
          return tvfError(pTab, SQLITE_ERROR, "rope is %g, expected a "
                          "positive base such as 10000 (NULL for no RoPE)",
                          rVal);
        }
        pOpt->rRopeBase = rVal;
        break;
      case ARG_STYLE:   pOpt->eRopeStyle = (int)iVal; break;
      case ARG_SOFTCAP:
        if( !(rVal>0.0) ){
          return tvfError(pTab, SQLITE_ERROR, "softcap is %g, expected a "
                          "positive number (NULL for none)", rVal);
        }
        pOpt->rSoftcap = rVal;
        break;
    }
  }
  return SQLITE_OK;
}

/* xPoll for the engine: step a trivial statement, which fails with
** SQLITE_INTERRUPT once sqlite3_interrupt() has been called. */
static int tvfPoll(void *pArg){
  sqlite3_stmt *pStmt = (sqlite3_stmt*)pArg;
  int rc = sqlite3_step(pStmt);
  sqlite3_reset(pStmt);
  return rc==SQLITE_INTERRUPT;
}

/*
** Cursor.
*/
static int tvfOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  TvfCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  (void)pVtab;
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static void tvfReset(TvfCursor *pCur){
  int i;
  attn_scores_close(pCur->pIter);
  pCur->pIter = 0;
  attn_state_free(pCur->pState);
  pCur->pState = 0;
  sqlite3_finalize(pCur->pPoll);
  pCur->pPoll = 0;
  tvfRowsClear(&pCur->src);
  tvfRowsClear(&pCur->keys);
  sqlite3_free(pCur->aQRow);
  pCur->aQRow = 0;
  pCur->nQRow = pCur->iQ = 0;
  pCur->aOut = pCur->aLse = 0;
  for(i=0; i<TVF_NARG; i++){
    sqlite3_value_free(pCur->apArg[i]);
    pCur->apArg[i] = 0;
  }
  pCur->bEof = 1;
}

static int tvfClose(sqlite3_vtab_cursor *cur){
  TvfCursor *pCur = (TvfCursor*)cur;
  tvfReset(pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/*
** Pushed-down filters of attention_scores.  SQLite rechecks every row it
** gets, so a filter may let through rows SQL's "=" rejects (that only costs
** work) but must never drop a row it accepts.  SQL's "=" converts types when
** the right-hand side has an affinity (qid = t.c with c TEXT compares the
** integer id 5 as '5'), so a number and a text that reads as the same number
** count as maybe equal here.
*/

/* The number a value reads as: *pr for an INTEGER or REAL, or for TEXT that
** reads as a number.  Returns 0 for other values. */
static int tvfValueAsNumber(sqlite3_value *pVal, double *pr){
  int t = sqlite3_value_type(pVal);
  if( t==SQLITE_TEXT ){
    sqlite3_value *pCopy = sqlite3_value_dup(pVal);
    int tNum = pCopy ? sqlite3_value_numeric_type(pCopy) : SQLITE_TEXT;
    if( tNum==SQLITE_INTEGER || tNum==SQLITE_FLOAT ){
      *pr = sqlite3_value_double(pCopy);
    }
    sqlite3_value_free(pCopy);
    /* No copy (out of memory): maybe equal to anything. */
    return pCopy==0 ? 2 : (tNum==SQLITE_INTEGER || tNum==SQLITE_FLOAT);
  }
  if( t==SQLITE_INTEGER || t==SQLITE_FLOAT ){
    *pr = sqlite3_value_double(pVal);
    return 1;
  }
  return 0;
}

/* Might two numbers compare equal after a round trip through text?  (A
** REAL becomes text with 15 significant digits.) */
static int tvfNumberNear(double a, double b){
  double d = a>b ? a-b : b-a;
  double m = (a<0 ? -a : a) > (b<0 ? -b : b) ? (a<0 ? -a : a) : (b<0 ? -b : b);
  return d<=m*1e-14;
}

/* Might the integer iVal (an id, a position, a head) equal pArg? */
static int tvfIntMaybeEqual(int64_t iVal, sqlite3_value *pArg){
  double r = 0.0;
  int e;
  if( sqlite3_value_type(pArg)==SQLITE_INTEGER ){
    return sqlite3_value_int64(pArg)==iVal;
  }
  e = tvfValueAsNumber(pArg, &r);
  return e==2 || (e==1 && tvfNumberNear((double)iVal, r));
}

/* Might id value pA equal pB (BINARY collation)? */
static int tvfValueMaybeEqual(sqlite3_value *pA, sqlite3_value *pB){
  int tA = sqlite3_value_type(pA), tB = sqlite3_value_type(pB);
  if( tA==SQLITE_NULL || tB==SQLITE_NULL ) return 0;
  if( tA==SQLITE_INTEGER && tB==SQLITE_INTEGER ){
    return sqlite3_value_int64(pA)==sqlite3_value_int64(pB);
  }
  if( tA==SQLITE_BLOB || tB==SQLITE_BLOB ){
    const void *a, *b;
    int n = sqlite3_value_bytes(pA);
    if( tA!=tB ) return 0;               /* affinity never makes a blob */
    a = sqlite3_value_blob(pA);
    b = sqlite3_value_blob(pB);
    return n==sqlite3_value_bytes(pB) && (n==0 || memcmp(a, b, (size_t)n)==0);
  }
  if( tA==SQLITE_TEXT && tB==SQLITE_TEXT ){
    const unsigned char *a = sqlite3_value_text(pA);
    const unsigned char *b = sqlite3_value_text(pB);
    int n = sqlite3_value_bytes(pA);
    if( a==0 || b==0 ) return 1;         /* out of memory: let SQLite decide */
    return n==sqlite3_value_bytes(pB) && memcmp(a, b, (size_t)n)==0;
  }
  /* Numbers, or a number and a text. */
  {
    double a = 0.0, b = 0.0;
    int eA = tvfValueAsNumber(pA, &a), eB = tvfValueAsNumber(pB, &b);
    if( eA==2 || eB==2 ) return 1;
    if( eA==0 || eB==0 ) return 0;
    if( tA==SQLITE_TEXT || tB==SQLITE_TEXT ) return tvfNumberNear(a, b);
    return a==b;
  }
}

/* Does source row i pass the qid/qpos filters? */
static int tvfRowWanted(TvfCursor *pCur, int64_t i, sqlite3_value *pQid,
                        sqlite3_value *pQpos){
  if( pQid ){
    sqlite3_value *pId = pCur->src.aId[i];
    if( pId ){
      if( !tvfValueMaybeEqual(pId, pQid) ) return 0;
    }else{
      if( !tvfIntMaybeEqual(i+1, pQid) ) return 0;
    }
  }
  if( pQpos && !tvfIntMaybeEqual(pCur->src.aPos[i], pQpos) ) return 0;
  return 1;
}

static int tvfAdvance(TvfCursor *pCur);

static int tvfFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv){
  TvfCursor *pCur = (TvfCursor*)cur;
  TvfVtab *pTab = (TvfVtab*)cur->pVtab;
  sqlite3_value *pQid = 0, *pQpos = 0;
  attn_input in;
  attn_options opt;
  attn_tensor *apW[8];
  float *aOwn[8];
  const float **apXq = 0;
  int64_t *aSeqQ = 0, *aPosQ = 0;
  int i, j, rc = SQLITE_OK;
  attn_err err;
  tvfReset(pCur);
  memset(aOwn, 0, sizeof(aOwn));
  memset(&in, 0, sizeof(in));
  pCur->iHeadFilter = -1;

  if( (idxNum & (1<<ARG_SOURCE))==0 ){
    return tvfError(pTab, SQLITE_ERROR, "missing the source SELECT (the "
                    "first argument)");
  }
  /* Arguments and filters, in the order xBestIndex numbered them. */
  for(j=0; j<argc && idxStr && idxStr[j]; j++){
    int bRecheck = idxStr[j]<'a';
    i = idxStr[j] - (bRecheck ? 'A' : 'a');
    if( i<TVF_NARG && bRecheck && sqlite3_value_type(argv[j])==SQLITE_NULL ){
      return tvfError(pTab, SQLITE_ERROR, "%s is NULL, but with more than "
          "16 constraints on the table SQLite checks it again after the call, "
          "and NULL = NULL is never true, so no row would pass: leave %s out "
          "to get its default", aTvfArg[i].zName, aTvfArg[i].zName);
    }
    if( i<TVF_NARG ){
      pCur->apArg[i] = sqlite3_value_dup(argv[j]);
      if( pCur->apArg[i]==0 ) return SQLITE_NOMEM;
    }else if( i==TVF_NARG ){
      pQid = argv[j];
    }else if( i==TVF_NARG+1 ){
      pQpos = argv[j];
    }else{
      /* head = value: the head it may equal, or none (ATTN_MAX_HEADS is
      ** past the last head, so no score row has it). */
      double r = -1.0;
      int e = tvfValueAsNumber(argv[j], &r);
      pCur->iHeadFilter = ATTN_MAX_HEADS;
      if( e==2 ){
        pCur->iHeadFilter = -1;          /* out of memory: all heads */
      }else if( e==1 && r>=-0.5 && r<ATTN_MAX_HEADS ){
        int h = (int)(r+0.5);
        if( tvfNumberNear((double)h, r) ) pCur->iHeadFilter = h;
      }
    }
  }
  if( pCur->apArg[ARG_SOURCE]==0
   || sqlite3_value_type(pCur->apArg[ARG_SOURCE])==SQLITE_NULL ){
    return SQLITE_OK;                  /* NULL source: no rows */
  }
  rc = tvfArgOptions(pTab, pCur->apArg, &opt);
  if( rc ) return rc;
  opt.bNoValues = pTab->bScores;
  if( opt.nThread>1 ){
    /* The connection's workers: a query does not start and join threads. */
    if( pTab->pMod->pThreads==0 ){
      pTab->pMod->pThreads = attn_threads_new();
      if( pTab->pMod->pThreads==0 ){
        return tvfError(pTab, SQLITE_NOMEM, "out of memory");
      }
    }
    opt.pThreads = pTab->pMod->pThreads;
  }
  apW[0] = &in.wq; apW[1] = &in.wk; apW[2] = &in.wv; apW[3] = &in.wo;
  apW[4] = &in.bq; apW[5] = &in.bk; apW[6] = &in.bv; apW[7] = &in.bo;
  for(i=0; rc==SQLITE_OK && i<8; i++){
    sqlite3_value *pVal = pCur->apArg[ARG_WQ+i];
    if( pVal && sqlite3_value_type(pVal)!=SQLITE_NULL ){
      rc = tvfArgVector(pTab, pVal, ARG_WQ+i, apW[i], &aOwn[i]);
    }
  }
  if( rc ) goto filter_done;

  /* Read the rows (depth-guarded: the SQL may call attention() again). */
  pCur->bKeys = pCur->apArg[ARG_KEYS]!=0
             && sqlite3_value_type(pCur->apArg[ARG_KEYS])!=SQLITE_NULL;
  if( tvfDepth>=TVF_MAX_DEPTH ){
    rc = tvfError(pTab, SQLITE_ERROR, "nested more than %d deep: does the "
                  "source SELECT call attention() on itself?", TVF_MAX_DEPTH);
    goto filter_done;
  }
  tvfDepth++;
  rc = tvfReadRows(pTab, "source", pCur->apArg[ARG_SOURCE], 1, !pCur->bKeys,
                   &pCur->src);
  if( rc==SQLITE_OK && pCur->bKeys ){
    rc = tvfReadRows(pTab, "keys", pCur->apArg[ARG_KEYS], 0, 1, &pCur->keys);
  }
  tvfDepth--;
  if( rc==SQLITE_OK && pCur->bKeys && pCur->src.bSeq!=pCur->keys.bSeq ){
    rc = tvfError(pTab, SQLITE_ERROR, "the %s SELECT has a seq column but "
                  "the %s SELECT does not: give both a seq column, or neither",
                  pCur->src.bSeq ? "source" : "keys",
                  pCur->src.bSeq ? "keys" : "source");
  }
  if( rc ) goto filter_done;

  /* The query rows: all, or those the qid/qpos filters select. */
  pCur->aQRow = sqlite3_malloc64(sizeof(int64_t)*(sqlite3_uint64)
                                 (pCur->src.n ? pCur->src.n : 1));
  if( pCur->aQRow==0 ){ rc = SQLITE_NOMEM; goto filter_done; }
  for(i=0; i<pCur->src.n; i++){
    if( tvfRowWanted(pCur, i, pQid, pQpos) ) pCur->aQRow[pCur->nQRow++] = i;
  }

  /* No query rows, or no keys at all: every row has nothing to attend to,
  ** and the engine is not needed. */
  if( pCur->nQRow==0 || (pCur->bKeys ? pCur->keys.n : pCur->src.n)==0 ){
    pCur->bEof = 0;
    pCur->iQ = -1;
    rc = tvfAdvance(pCur);
    goto filter_done;
  }

  /* The engine's input. */
  {
    TvfRows *pQ = &pCur->src;
    TvfRows *pK = pCur->bKeys ? &pCur->keys : &pCur->src;
    struct TvfVecCol *cq = &pQ->aVec[pQ->aVec[VEC_Q].iCol>=0 ? VEC_Q : VEC_X];
    struct TvfVecCol *ck = &pK->aVec[pK->aVec[VEC_K].iCol>=0 ? VEC_K : VEC_X];
    struct TvfVecCol *cv = &pK->aVec[pK->aVec[VEC_V].iCol>=0 ? VEC_V : VEC_X];
    int64_t nQ = pCur->nQRow;
    in.nQuery = nQ;
    in.nKey = pK->n;
    in.nXq = cq->nDim ? cq->nDim : 1;
    in.nXk = ck->nDim ? ck->nDim : 1;
    in.nXv = cv->nDim ? cv->nDim : 1;
    in.apXk = (const float *const*)ck->apRow;
    in.apXv = (const float *const*)cv->apRow;
    in.aSeqK = pK->bSeq ? pK->aSeq : 0;
    in.aPosK = pK->aPos;
    if( nQ==pQ->n ){
      in.apXq = (const float *const*)cq->apRow;
      in.aSeqQ = pQ->bSeq ? pQ->aSeq : 0;
      in.aPosQ = pQ->aPos;
    }else{
      /* A filtered subset of the query rows. */
      apXq = sqlite3_malloc64(sizeof(float*)*(sqlite3_uint64)(nQ ? nQ : 1));
      aSeqQ = sqlite3_malloc64(8*(sqlite3_uint64)(nQ ? nQ : 1));
      aPosQ = sqlite3_malloc64(8*(sqlite3_uint64)(nQ ? nQ : 1));
      if( apXq==0 || aSeqQ==0 || aPosQ==0 ){ rc = SQLITE_NOMEM; goto filter_done; }
      for(i=0; i<nQ; i++){
        int64_t r = pCur->aQRow[i];
        apXq[i] = cq->apRow[r];
        aSeqQ[i] = pQ->aSeq[r];
        aPosQ[i] = pQ->aPos[r];
      }
      in.apXq = apXq;
      in.aSeqQ = aSeqQ;
      in.aPosQ = aPosQ;
    }
  }
  rc = sqlite3_prepare_v2(pTab->db, "SELECT 1", -1, &pCur->pPoll, 0);
  if( rc ) goto filter_done;
  opt.xPoll = tvfPoll;
  opt.pPollArg = pCur->pPoll;
  attn_err_clear(&err);
  if( attn_state_new(&in, &opt, &pCur->pState, &err) ){
    rc = tvfError(pTab, err.rc, "%s", err.zMsg);
    goto filter_done;
  }
  pCur->bEof = 0;
  pCur->iQ = -1;
  rc = tvfAdvance(pCur);

filter_done:
  for(i=0; i<8; i++) sqlite3_free(aOwn[i]);
  sqlite3_free(apXq);
  sqlite3_free(aSeqQ);
  sqlite3_free(aPosQ);
  if( rc==SQLITE_NOMEM ){
    tvfReset(pCur);
    return SQLITE_NOMEM;
  }
  if( rc ) tvfReset(pCur);
  return rc;
}

/* Open the score rows of the current query row (iHead < 0: all heads); an
** error (scores that overflow float32) names the source row. */
static int tvfScoresOpen(TvfCursor *pCur, int iHead, attn_score_iter **ppIter){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  attn_err err;
  int64_t iSrc;
  char *zRow;
  int rc;
  attn_err_clear(&err);
  if( attn_scores_open(pCur->pState, pCur->iQ, iHead, ppIter, &err)==ATTN_OK ){
    return SQLITE_OK;
  }
  if( err.rc==ATTN_NOMEM ) return SQLITE_NOMEM;
  iSrc = pCur->aQRow[pCur->iQ];
  zRow = tvfRowName("source", &pCur->src, iSrc, pCur->src.aId[iSrc]);
  rc = zRow==0 ? SQLITE_NOMEM : tvfError(pTab, err.rc, "%s: %s", zRow, err.zMsg);
  sqlite3_free(zRow);
  return rc;
}

/* The engine gave no output for the current query row: make sure the row
** really has no key it may attend to.  (The engine's float32 scores of
** huge inputs can overflow, and it then reports the row the same way; the
** score rows, computed in float64, still show the keys.)  Checking costs
** one mask test per key of the row's sequence, and a dot product only for
** allowed keys, of which a row with nothing to attend to has none. */
static int tvfCheckNothing(TvfCursor *pCur){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  attn_score_iter *pIter = 0;
  attn_score sc;
  int bAny;
  int rc = tvfScoresOpen(pCur, 0, &pIter);
  if( rc ) return rc;
  bAny = attn_scores_next(pIter, &sc);
  attn_scores_close(pIter);
  if( bAny ){
    int64_t iSrc = pCur->aQRow[pCur->iQ];
    char *zRow = tvfRowName("source", &pCur->src, iSrc, pCur->src.aId[iSrc]);
    int rc = zRow==0 ? SQLITE_NOMEM : tvfError(pTab, SQLITE_ERROR, "%s: the "
        "attention scores overflow float32 (a score of %g), so the output "
        "cannot be computed: scale down the inputs or weights", zRow,
        sc.rScore);
    sqlite3_free(zRow);
    return rc;
  }
  return SQLITE_OK;
}

/* Move to the next output row. */
static int tvfAdvance(TvfCursor *pCur){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  attn_err err;
  int rc;
  attn_err_clear(&err);
  if( !pTab->bScores ){
    pCur->iQ++;
    if( pCur->iQ>=pCur->nQRow ){
      pCur->bEof = 1;
      return SQLITE_OK;
    }
    if( pCur->pState==0 ){
      pCur->aOut = pCur->aLse = 0;     /* no keys at all */
    }else if( attn_output(pCur->pState, pCur->iQ, &pCur->aOut, &pCur->aLse,
                          &err) ){
      return tvfError(pTab, err.rc, "%s", err.zMsg);
    }else if( pCur->aOut==0 ){
      return tvfCheckNothing(pCur);
    }
    return SQLITE_OK;
  }
  if( pCur->pState==0 ){
    pCur->bEof = 1;
    return SQLITE_OK;
  }
  while( 1 ){
    if( pCur->pIter && attn_scores_next(pCur->pIter, &pCur->score) ){
      return SQLITE_OK;
    }
    attn_scores_close(pCur->pIter);
    pCur->pIter = 0;
    pCur->iQ++;
    if( pCur->iQ>=pCur->nQRow ){
      pCur->bEof = 1;
      return SQLITE_OK;
    }
    rc = tvfScoresOpen(pCur, pCur->iHeadFilter, &pCur->pIter);
    if( rc ) return rc;
  }
}

static int tvfNext(sqlite3_vtab_cursor *cur){
  return tvfAdvance((TvfCursor*)cur);
}

static int tvfEof(sqlite3_vtab_cursor *cur){
  return ((TvfCursor*)cur)->bEof;
}

/* Return id value pId, or the default row number iRow+1. */
static void tvfResultId(sqlite3_context *ctx, sqlite3_value *pId, int64_t iRow){
  if( pId ){
    sqlite3_result_value(ctx, pId);
  }else{
    sqlite3_result_int64(ctx, iRow+1);
  }
}

/* Return a[0..n), the output or lse (zCol) of source row iSrc, as a vector
** BLOB (copied); a NULL a is SQL NULL.  Fails with SQLITE_TOOBIG when the
** BLOB would be longer than SQLITE_LIMIT_LENGTH, and names the element when
** one is not finite (float32 overflow of large inputs or weights). */
static int tvfResultFloats(TvfCursor *pCur, sqlite3_context *ctx,
                           const char *zCol, int64_t iSrc, const float *a,
                           int64_t n){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  int mx = sqlite3_limit(pTab->db, SQLITE_LIMIT_LENGTH, -1);
  attn_err err;
  float *aCopy;
  if( a==0 ) return SQLITE_OK;         /* NULL */
  if( 4*n>(int64_t)mx ){
    return tvfError(pTab, SQLITE_TOOBIG, "%s would be %lld bytes (%lld "
                    "elements), more than SQLITE_LIMIT_LENGTH (%d bytes)",
                    zCol, (long long)4*n, (long long)n, mx);
  }
  attn_err_clear(&err);
  if( attn_vec_check_finite(a, n, &err) ){
    char *zRow = tvfRowName("source", &pCur->src, iSrc, pCur->src.aId[iSrc]);
    int rc = zRow==0 ? SQLITE_NOMEM : tvfError(pTab, err.rc, "%s of %s %s",
                                               zCol, zRow, err.zMsg);
    sqlite3_free(zRow);
    return rc;
  }
  if( ATTN_LITTLE_ENDIAN ){
    /* SQLite copies it into the result cell, reusing that cell's buffer
    ** from row to row. */
    sqlite3_result_blob64(ctx, a, 4*(sqlite3_uint64)n, SQLITE_TRANSIENT);
  }else{
    aCopy = sqlite3_malloc64(4*(sqlite3_uint64)n);
    if( aCopy==0 ) return SQLITE_NOMEM;
    attn_vec_to_blob(a, n, aCopy);
    sqlite3_result_blob64(ctx, aCopy, 4*(sqlite3_uint64)n, sqlite3_free);
  }
  sqlite3_result_subtype(ctx, ATTN_SUBTYPE_F32);
  return SQLITE_OK;
}

static int tvfColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  TvfCursor *pCur = (TvfCursor*)cur;
  TvfVtab *pTab = (TvfVtab*)cur->pVtab;
  int64_t iSrc = pCur->aQRow ? pCur->aQRow[pCur->iQ] : 0;
  TvfRows *pQ = &pCur->src;
  if( i>=pTab->nCol ){
    sqlite3_value *pArg = pCur->apArg[i-pTab->nCol];
    if( pArg ) sqlite3_result_value(ctx, pArg);
    return SQLITE_OK;
  }
  if( !pTab->bScores ){
    switch( i ){
      case ATT_ID:  tvfResultId(ctx, pQ->aId[iSrc], iSrc); break;
      case ATT_SEQ: if( pQ->bSeq ) sqlite3_result_int64(ctx, pQ->aSeq[iSrc]); break;
      case ATT_POS: sqlite3_result_int64(ctx, pQ->aPos[iSrc]); break;
      case ATT_OUTPUT:
        if( pCur->aOut==0 ) break;      /* nothing to attend to: NULL */
        return tvfResultFloats(pCur, ctx, "output", iSrc, pCur->aOut,
                               attn_state_out_dim(pCur->pState));
      case ATT_LSE:
        if( pCur->aLse==0 ) break;
        return tvfResultFloats(pCur, ctx, "lse", iSrc, pCur->aLse,
                               attn_state_heads(pCur->pState));
    }
  }else{
    TvfRows *pK = pCur->bKeys ? &pCur->keys : &pCur->src;
    int64_t iKey = pCur->score.iKey;
    switch( i ){
      case SCO_QID:   tvfResultId(ctx, pQ->aId[iSrc], iSrc); break;
      case SCO_KID:   tvfResultId(ctx, pK->aId[iKey], iKey); break;
      case SCO_SEQ:   if( pQ->bSeq ) sqlite3_result_int64(ctx, pQ->aSeq[iSrc]); break;
      case SCO_QPOS:  sqlite3_result_int64(ctx, pQ->aPos[iSrc]); break;
      case SCO_KPOS:  sqlite3_result_int64(ctx, pK->aPos[iKey]); break;
      case SCO_HEAD:  sqlite3_result_int(ctx, pCur->score.iHead); break;
      case SCO_SCORE: sqlite3_result_double(ctx, pCur->score.rScore); break;
      case SCO_WEIGHT: sqlite3_result_double(ctx, pCur->score.rWeight); break;
    }
  }
  return SQLITE_OK;
}

static int tvfRowid(sqlite3_vtab_cursor *cur, sqlite_int64 *pRowid){
  TvfCursor *pCur = (TvfCursor*)cur;
  *pRowid = pCur->iQ;
  return SQLITE_OK;
}

static sqlite3_module tvfModule = {
  0,                  /* iVersion */
  0,                  /* xCreate: eponymous only */
  tvfConnect,         /* xConnect */
  tvfBestIndex,       /* xBestIndex */
  tvfDisconnect,      /* xDisconnect */
  0,                  /* xDestroy */
  tvfOpen,            /* xOpen */
  tvfClose,           /* xClose */
  tvfFilter,          /* xFilter */
  tvfNext,            /* xNext */
  tvfEof,             /* xEof */
  tvfColumn,          /* xColumn */
  tvfRowid,           /* xRowid */
  0,                  /* xUpdate */
  0,                  /* xBegin */
  0,                  /* xSync */
  0,                  /* xCommit */
  0,                  /* xRollback */
  0,                  /* xFindMethod */
  0,                  /* xRename */
  0,                  /* xSavepoint */
  0,                  /* xRelease */
  0,                  /* xRollbackTo */
  0,                  /* xShadowName */
};

static void tvfModuleFree(void *p){
  if( p ){
    attn_threads_free(((TvfModule*)p)->pThreads);
    sqlite3_free(p);
  }
}

/* Register zName with its own TvfModule (SQLite calls tvfModuleFree() if
** the registration fails, and when the connection closes). */
static int tvfRegister(sqlite3 *db, const char *zName, int bScores){
  TvfModule *pMod = sqlite3_malloc64(sizeof(*pMod));
  if( pMod==0 ) return SQLITE_NOMEM;
  pMod->bScores = bScores;
  pMod->pThreads = 0;
  return sqlite3_create_module_v2(db, zName, &tvfModule, pMod, tvfModuleFree);
}
#endif /* SQLITE_OMIT_VIRTUALTABLE */

int attnRegisterAttention(sqlite3 *db){
  int rc = SQLITE_OK;
#ifndef SQLITE_OMIT_VIRTUALTABLE
  rc = tvfRegister(db, "attention", 0);
  if( rc==SQLITE_OK ) rc = tvfRegister(db, "attention_scores", 1);
#endif
  return rc;
}
