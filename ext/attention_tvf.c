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
** bq bk bv bo (bias vectors), then the engine's options (src/attention.h):
** heads, kv_heads, scale, causal, window, alibi, rope (the RoPE base; NULL
** = off), rope_style ('neox' or 'interleaved'), softcap, threads, precision,
** dtype (how the vector BLOBs of the source and keys SELECTs are stored:
** 'f32', 'f16' or 'bf16'; src/vector.h decodes them); then wqkv and bqkv
** (W_Q, W_K, W_V packed side by side, each row Q | K | V, and b_Q | b_K |
** b_V: the engine splits them) and params: one read-only SELECT returning
** one row whose columns set the arguments of their names (a layer stored as
** a row; src/params.h has its rules); then window_left and window_right
** (the engine's later options: an asymmetric window), alibi_slopes and
** sinks (vectors of one slope, one sink logit, per query head).  NULL for
** any of them is the default.  A column bias of the keys SELECT (of the
** source without keys) adds a number to every score of its key row.
**
** Results.  attention() returns id, seq, pos, output, lse: one row per
** source row, in source order; output is the concatenated heads times W_O
** (+ b_O), lse the per-head log-sum-exp; both are NULL for a row with no
** key it may attend to, and only for such a row.  attention_scores()
** returns qid, kid, seq, qpos, kpos, head, score, weight: for each query row
** in source order, for each head (from 0), each allowed key in position
** order.  Constraints on id and pos (qid and qpos: =, IN, ranges) and on
** head (=) are used to compute only the query rows / heads that might
** match (attention_filter.c).
**
** How it works.  xFilter takes the arguments (tvfTakeArgs) and those of
** the params row (tvfParams), sets the engine's options from them
** (tvfOptions: this file converts SQL values, the engine checks them and
** owns the messages), reads every row of the
** SELECTs (attention_rows.c), picks the query rows the filters want
** (tvfSelectRows) and starts the engine on them (tvfStart), which projects
** the rows and prepares the blocks.  xNext then computes outputs a block of
** query rows at a time, so SQLite's interrupt and progress handler run
** between rows.  xBestIndex hands xFilter every argument and the BINARY
** filters of the id, the position and the head (an IN list whole, with
** sqlite3_vtab_in); SQLite rechecks constraints past
** its 16th, which a NULL argument would fail, so the arguments that may be
** NULL come first and a NULL one SQLite would recheck is an error (idxStr
** says which).  A plan without the source (a branch of an OR) costs more
** than any with it.  Both functions are DIRECTONLY: a view or trigger of a
** database file cannot run them, so a database file cannot make them run
** SQL or spend CPU on its own (TEMP views and triggers, which only the
** application can create, can); params is how one stored layer serves many
** calls instead.
**
** Schema (hidden columns are the arguments):
**   attention(id, seq, pos, output, lse, source HIDDEN, keys HIDDEN, ...)
**   attention_scores(qid, kid, seq, qpos, kpos, head, score, weight,
**                    source HIDDEN, keys HIDDEN, ...)
*/
#include "attention_rows.h"
#include "attention_filter.h"
#include <stdarg.h>
#include <string.h>
#include "../src/alloc.h"
#include "../src/attention.h"
#include "../src/params.h"
#include "../src/threads.h"
#include "../src/utf8.h"
#include "../src/vector.h"

#ifndef SQLITE_OMIT_VIRTUALTABLE

/* The arguments, in hidden-column order, each list after the ones before
** it as it was added, so positional calls keep their meaning: the two
** SELECTs and the weights (TVF_ARGS), the engine's first TVF_OPT_SPLIT
** options in its order (option i is ARG_OPT0 + i), the arguments of
** TVF_ARGS_MID, the engine's later options (option i is ARG_OPT1 + i −
** TVF_OPT_SPLIT), then TVF_ARGS_END.  The numbers ARG_* come from these
** lists. */
#define TVF_ARGS(X) \
  X(SOURCE, "source") X(KEYS, "keys") \
  X(WQ, "wq") X(WK, "wk") X(WV, "wv") X(WO, "wo") \
  X(BQ, "bq") X(BK, "bk") X(BV, "bv") X(BO, "bo")
#define TVF_ARGS_MID(X) \
  X(WQKV, "wqkv") X(BQKV, "bqkv") X(PARAMS, "params")
#define TVF_ARGS_END(X) \
  X(ALIBI_SLOPES, "alibi_slopes") X(SINKS, "sinks")
#define TVF_OPT_SPLIT (ATTN_OPT_DTYPE+1)
enum {
#define TVF_ARG_ID(id, name) ARG_##id,
  TVF_ARGS(TVF_ARG_ID)
  ARG_OPT0,
  ARG_OPTLAST = ARG_OPT0 + TVF_OPT_SPLIT - 1,    /* the last of the first */
  TVF_ARGS_MID(TVF_ARG_ID)
  ARG_OPT1,
  ARG_OPT1LAST = ARG_OPT1 + ATTN_OPT_COUNT - TVF_OPT_SPLIT - 1,
  TVF_ARGS_END(TVF_ARG_ID)
#undef TVF_ARG_ID
  TVF_NARG
};
#define TVF_ARG_NAME(id, name) name,
static const char *const azTvfArg[ARG_OPT0] = { TVF_ARGS(TVF_ARG_NAME) };
static const char *const azTvfArgMid[ARG_OPT1 - ARG_OPTLAST - 1] = {
  TVF_ARGS_MID(TVF_ARG_NAME)
};
static const char *const azTvfArgEnd[TVF_NARG - ARG_OPT1LAST - 1] = {
  TVF_ARGS_END(TVF_ARG_NAME)
};
#undef TVF_ARG_NAME

/* xBestIndex tells xFilter what each of its argv is in idxStr, two
** characters per argv: 'a' (an argument SQLite will not check again) or
** 'A' (one it will), or a filter's operator (FILTER_OP_CHARS), then '0'
** plus the argument's number or the filter's column (TVF_FCOL_*).  idxNum
** says whether the plan has the source (TVF_PLAN_SOURCE) and filters.  The
** params row is matched against every argument (src/params.h). */
_Static_assert('0'+TVF_NARG<127 && TVF_NARG<=ATTN_PARAMS_MAX_ARGS,
               "too many arguments for idxStr");

/* The weight arguments, the engine's input each goes to (tvfStart). */
#define TVF_WEIGHTS(X) \
  X(WQ, wq) X(WK, wk) X(WV, wv) X(WO, wo) X(BQ, bq) X(BK, bk) X(BV, bv) \
  X(BO, bo) X(WQKV, wqkv) X(BQKV, bqkv) X(ALIBI_SLOPES, alibiSlopes) \
  X(SINKS, sinks)
#define TVF_WEIGHT_ARG(id, field) ARG_##id,
static const int aTvfWeight[] = { TVF_WEIGHTS(TVF_WEIGHT_ARG) };
#undef TVF_WEIGHT_ARG
#define TVF_NWEIGHT ((int)(sizeof(aTvfWeight)/sizeof(aTvfWeight[0])))

/* The arguments a params row may not set: the SELECTs. */
#define TVF_NOT_FROM_PARAMS \
  ((1u<<ARG_SOURCE) | (1u<<ARG_KEYS) | (1u<<ARG_PARAMS))

/* The name of argument i (a hidden column). */
static const char *tvfArgName(int i){
  if( i<ARG_OPT0 ) return azTvfArg[i];
  if( i<=ARG_OPTLAST ) return attn_option_name(i - ARG_OPT0);
  if( i<ARG_OPT1 ) return azTvfArgMid[i - ARG_OPTLAST - 1];
  if( i<=ARG_OPT1LAST ) return attn_option_name(i - ARG_OPT1 + TVF_OPT_SPLIT);
  return azTvfArgEnd[i - ARG_OPT1LAST - 1];
}

/* The argument of engine option iOpt. */
static int tvfOptArg(int iOpt){
  return iOpt<TVF_OPT_SPLIT ? ARG_OPT0 + iOpt : ARG_OPT1 + iOpt - TVF_OPT_SPLIT;
}

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

/* The columns a filter may constrain: the query row's id (attention's id,
** attention_scores' qid), its position (pos, qpos), and the head (of
** attention_scores, equality only). */
#define TVF_FCOL_ID    0
#define TVF_FCOL_POS   1
#define TVF_FCOL_HEAD  2

/* idxNum bits. */
#define TVF_PLAN_SOURCE  1          /* the source is in this plan */
#define TVF_PLAN_ROWS    2          /* a filter of ids, exact or IN */
#define TVF_PLAN_RANGE   4          /* a filter of ids or positions, a range */

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

typedef struct TvfCursor TvfCursor;
struct TvfCursor {
  sqlite3_vtab_cursor base; /* Base class - must be first */
  sqlite3_value *apArg[TVF_NARG];   /* argument values, for xColumn */
  AttnRows src, keys;       /* source rows and (cross-attention) key rows */
  int bKeys;                /* keys were given */
  attn_state *pState;
  sqlite3_stmt *pPoll;      /* "SELECT 1", stepped to notice interrupts */
  int64_t *aQRow;           /* query rows given to the engine → source row */
  int64_t nQRow;
  int64_t iQ;               /* current query row (index into aQRow) */
  const float *aOut, *aLse; /* outputs of the current row (attention) */
  AttnFilter aFilter[FILTER_MAX];  /* the filters of this run (xFilter) */
  int nFilter;
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

/* Where attention_rows.c reports. */
static AttnRowsCtx tvfRowsCtx(TvfVtab *pTab){
  AttnRowsCtx c;
  c.db = pTab->db;
  c.pVtab = &pTab->base;
  c.zFunc = pTab->zName;
  c.eDtype = ATTN_VEC_F32;
  return c;
}

/* Report the engine's message pErr about the current query row. */
static int tvfRowError(TvfCursor *pCur, const attn_err *pErr){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  int64_t iSrc = pCur->aQRow[pCur->iQ];
  char *zRow;
  int rc;
  if( pErr->rc==ATTN_NOMEM ) return SQLITE_NOMEM;
  zRow = attnRowsName("source", &pCur->src, iSrc);
  rc = zRow==0 ? SQLITE_NOMEM : tvfError(pTab, pErr->rc, "%s: %s", zRow,
                                         pErr->zMsg);
  sqlite3_free(zRow);
  return rc;
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
    sqlite3_str_appendf(pSql, ",%s HIDDEN", tvfArgName(i));
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

/* The filter column of output column iCol, or -1. */
static int tvfFilterColumn(TvfVtab *pTab, int iCol){
  if( pTab->bScores ){
    if( iCol==SCO_QID ) return TVF_FCOL_ID;
    if( iCol==SCO_QPOS ) return TVF_FCOL_POS;
    if( iCol==SCO_HEAD ) return TVF_FCOL_HEAD;
  }else{
    if( iCol==ATT_ID ) return TVF_FCOL_ID;
    if( iCol==ATT_POS ) return TVF_FCOL_POS;
  }
  return -1;
}

/* The filter constraint i would be, or -1: equality, IN and ranges of the
** id and the position, equality of the head, with the BINARY collation
** (our comparisons are by bytes: 'a' = 'A' COLLATE NOCASE is left to
** SQLite).  *pbIn is set when it is an IN taken all at once.  A head IN
** is left to SQLite too: one run gives every head. */
static int tvfPlanFilter(TvfVtab *pTab, sqlite3_index_info *pInfo, int i,
                         int *piCol){
  const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
  const char *zColl;
  int eOp, bIn = 0;
  *piCol = tvfFilterColumn(pTab, c->iColumn);
  if( *piCol<0 ) return -1;
  zColl = sqlite3_vtab_collation(pInfo, i);
  if( zColl && sqlite3_stricmp(zColl, "BINARY")!=0 ) return -1;
  if( c->op==SQLITE_INDEX_CONSTRAINT_EQ ) bIn = sqlite3_vtab_in(pInfo, i, -1);
  eOp = attnFilterOp(c->op, bIn);
  if( *piCol==TVF_FCOL_HEAD && eOp!=FILTER_EQ ) return -1;
  return eOp;
}

/* Record argv entry n of the plan: constraint c, told to xFilter as the
** two characters k, '0'+i. */
static void tvfPlanUse(sqlite3_index_info *pInfo, char *zIdx, int *pnArg,
                       int c, char k, int i, int bOmit){
  int n = ++*pnArg;
  pInfo->aConstraintUsage[c].argvIndex = n;
  pInfo->aConstraintUsage[c].omit = (unsigned char)bOmit;
  zIdx[2*n-2] = k;
  zIdx[2*n-1] = (char)('0'+i);
}

static int tvfBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  TvfVtab *pTab = (TvfVtab*)pVtab;
  int aIdx[TVF_NARG];
  int aFCons[FILTER_MAX], aFCol[FILTER_MAX], aFOp[FILTER_MAX];
  char zIdx[2*(TVF_NARG+FILTER_MAX)+1];
  unsigned char aUnusable[TVF_NARG];
  int i, iPass, nArg = 0, nFilter = 0, idxNum = 0;
  for(i=0; i<TVF_NARG; i++) aIdx[i] = -1;
  memset(aUnusable, 0, sizeof(aUnusable));
  for(i=0; i<pInfo->nConstraint; i++){
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if( c->iColumn>=pTab->nCol ){
      int iArg = c->iColumn - pTab->nCol;
      if( c->op!=SQLITE_INDEX_CONSTRAINT_EQ ) continue;
      if( !c->usable ){
        aUnusable[iArg] = 1;
      }else if( aIdx[iArg]<0 ){
        aIdx[iArg] = i;
      }
    }else if( c->usable && nFilter<FILTER_MAX ){
      int iCol, eOp = tvfPlanFilter(pTab, pInfo, i, &iCol);
      if( eOp<0 ) continue;
      aFCons[nFilter] = i;
      aFCol[nFilter] = iCol;
      aFOp[nFilter++] = eOp;
    }
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
  ** only the arguments that may be NULL need the first places.  Filters are
  ** always rechecked: they only tell which rows might pass. */
  for(iPass=0; iPass<2; iPass++){
    for(i=0; i<TVF_NARG; i++){
      int c = aIdx[i];
      if( c<0 || tvfKnownNonNull(pInfo, c)!=iPass ) continue;
      tvfPlanUse(pInfo, zIdx, &nArg, c, c<16 && nArg<16 ? 'a' : 'A', i, 1);
    }
  }
  for(i=0; i<nFilter; i++){
    tvfPlanUse(pInfo, zIdx, &nArg, aFCons[i], FILTER_OP_CHARS[aFOp[i]],
               aFCol[i], 0);
    if( aFOp[i]==FILTER_IN ) sqlite3_vtab_in(pInfo, aFCons[i], 1);
    if( aFCol[i]!=TVF_FCOL_HEAD ){
      idxNum |= aFOp[i]<=FILTER_IN ? TVF_PLAN_ROWS : TVF_PLAN_RANGE;
    }
  }
  zIdx[2*nArg] = 0;
  pInfo->idxStr = sqlite3_mprintf("%s", zIdx);
  if( pInfo->idxStr==0 ) return SQLITE_NOMEM;
  pInfo->needToFreeIdxStr = 1;
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
    idxNum |= TVF_PLAN_SOURCE;
    pInfo->estimatedCost = (idxNum & TVF_PLAN_ROWS) ? 1000.0
                         : (idxNum & TVF_PLAN_RANGE) ? 1e5 : 1e6;
    pInfo->estimatedRows = (idxNum & TVF_PLAN_ROWS) ? 1000
                         : (idxNum & TVF_PLAN_RANGE) ? 100000 : 1000000;
  }
  pInfo->idxNum = idxNum;
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
  attnRowsClear(&pCur->src);
  attnRowsClear(&pCur->keys);
  sqlite3_free(pCur->aQRow);
  pCur->aQRow = 0;
  pCur->nQRow = pCur->iQ = 0;
  pCur->aOut = pCur->aLse = 0;
  for(i=0; i<TVF_NARG; i++){
    sqlite3_value_free(pCur->apArg[i]);
    pCur->apArg[i] = 0;
  }
  for(i=0; i<pCur->nFilter; i++) attnFilterClear(&pCur->aFilter[i]);
  pCur->nFilter = 0;
  pCur->iHeadFilter = -1;
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

/* Does source row i pass the filters of ids and positions?  (Positions are
** known: tvfSelectRows fills the defaults first when there is a filter.) */
static int tvfRowWanted(TvfCursor *pCur, int64_t i){
  int j;
  for(j=0; j<pCur->nFilter; j++){
    const AttnFilter *f = &pCur->aFilter[j];
    if( f->iCol==TVF_FCOL_ID ){
      if( !attnFilterMaybe(f, pCur->src.aId[i], i+1) ) return 0;
    }else if( f->iCol==TVF_FCOL_POS ){
      if( !attnFilterMaybe(f, 0, pCur->src.aPos[i]) ) return 0;
    }
  }
  return 1;
}

/* Does the plan filter ids or positions (not only heads)? */
static int tvfRowFilters(TvfCursor *pCur){
  int j;
  for(j=0; j<pCur->nFilter; j++){
    if( pCur->aFilter[j].iCol!=TVF_FCOL_HEAD ) return 1;
  }
  return 0;
}

/* The head the head filters allow, when there is one such head: -1 (all
** heads: no filter, or several might pass), a head, or ATTN_MAX_HEADS
** (none: past the last head, so no score row has it). */
static int tvfHeadWanted(TvfCursor *pCur, int nHead){
  int h, j, iFound = -1, nFound = 0;
  int bAny = 0;
  for(j=0; j<pCur->nFilter; j++) bAny |= pCur->aFilter[j].iCol==TVF_FCOL_HEAD;
  if( !bAny ) return -1;
  for(h=0; h<nHead; h++){
    for(j=0; j<pCur->nFilter; j++){
      const AttnFilter *f = &pCur->aFilter[j];
      if( f->iCol==TVF_FCOL_HEAD && !attnFilterMaybe(f, 0, h) ) break;
    }
    if( j==pCur->nFilter ){ iFound = h; nFound++; }
  }
  return nFound==0 ? ATTN_MAX_HEADS : nFound==1 ? iFound : -1;
}

/*
** xFilter, in steps.
*/

/* Step 1: the arguments and filters, in the order xBestIndex numbered them
** (idxStr: two characters per argv).  Arguments are kept for xColumn,
** filters in pCur->aFilter. */
static int tvfTakeArgs(TvfCursor *pCur, const char *idxStr, int argc,
                       sqlite3_value **argv){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  int j, eTextEnc = -1;
  for(j=0; j<argc && idxStr && idxStr[2*j] && idxStr[2*j+1]; j++){
    char k = idxStr[2*j];
    int i = idxStr[2*j+1] - '0';
    const char *zOp = strchr(FILTER_OP_CHARS, k);
    if( k=='A' && sqlite3_value_type(argv[j])==SQLITE_NULL ){
      return tvfError(pTab, SQLITE_ERROR, "%s is NULL, but with more than "
          "16 constraints on the table SQLite checks it again after the call, "
          "and NULL = NULL is never true, so no row would pass: leave %s out "
          "to get its default", tvfArgName(i), tvfArgName(i));
    }
    if( k=='a' || k=='A' ){
      pCur->apArg[i] = sqlite3_value_dup(argv[j]);
      if( pCur->apArg[i]==0 ) return SQLITE_NOMEM;
    }else if( zOp && pCur->nFilter<FILTER_MAX ){
      int rc;
      if( eTextEnc<0 ) eTextEnc = attnFilterTextEncoding(pTab->db);
      rc = attnFilterInit(&pCur->aFilter[pCur->nFilter], i,
                          (int)(zOp - FILTER_OP_CHARS), argv[j], eTextEnc);
      if( rc ) return rc;
      pCur->nFilter++;
    }
  }
  return SQLITE_OK;
}

/* Is argument i given (not absent, not NULL)? */
static int tvfArgGiven(TvfCursor *pCur, int i){
  return pCur->apArg[i]!=0 && sqlite3_value_type(pCur->apArg[i])!=SQLITE_NULL;
}

/* Step 1b: the arguments of the params row, when params is given.
** attention_rows.c runs the SELECT (the rules of source and keys) and
** gives the row's values by argument (src/params.h matches the names); an
** argument given both ways is an error, a NULL counts as not given.  The
** row's values join the others in apArg (for xColumn too). */
static int tvfParams(TvfCursor *pCur){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  AttnRowsCtx c = tvfRowsCtx(pTab);
  const char *azName[TVF_NARG];
  sqlite3_value *apRow[TVF_NARG];
  attn_err err;
  int i, rc;
  if( !tvfArgGiven(pCur, ARG_PARAMS) ) return SQLITE_OK;
  for(i=0; i<TVF_NARG; i++) azName[i] = tvfArgName(i);
  rc = attnRowsParams(&c, pCur->apArg[ARG_PARAMS], TVF_NARG, azName,
                      TVF_NOT_FROM_PARAMS, apRow);
  if( rc ) return rc;
  attn_err_clear(&err);
  for(i=0; i<TVF_NARG; i++){
    if( apRow[i]==0 ) continue;
    if( err.rc==ATTN_OK && tvfArgGiven(pCur, i) ){
      attn_params_twice(tvfArgName(i), &err);
    }
    if( err.rc ){
      sqlite3_value_free(apRow[i]);
      continue;
    }
    sqlite3_value_free(pCur->apArg[i]);     /* absent, or a NULL */
    pCur->apArg[i] = apRow[i];
  }
  if( err.rc ) return tvfError(pTab, err.rc, "%s", err.zMsg);
  return SQLITE_OK;
}

/* Step 2: the engine's options from the arguments.  The SQL values are
** converted to the option's kind here; the engine checks the value and
** owns the message. */
static int tvfOptions(TvfCursor *pCur, attn_options *pOpt){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  int i;
  attn_options_init(pOpt);
  for(i=0; i<ATTN_OPT_COUNT; i++){
    sqlite3_value *pVal = pCur->apArg[tvfOptArg(i)];
    const char *zName = attn_option_name(i);
    attn_err err;
    int64_t iVal = 0, nVal = 0;
    double rVal = 0.0;
    const char *z;
    int eKind;
    if( !tvfArgGiven(pCur, tvfOptArg(i)) ) continue;
    attn_err_clear(&err);
    switch( attn_option_kind(i) ){
      case ATTN_OPT_INT:
      case ATTN_OPT_BOOL:
        if( attnValueInteger(pVal, &iVal, &err) ){
          return tvfError(pTab, err.rc, "%s %s", zName, err.zMsg);
        }
        attn_option_set_int(pOpt, i, iVal, &err);
        break;
      case ATTN_OPT_REAL:
        if( attnValueNumber(pVal, &rVal, &err) ){
          return tvfError(pTab, err.rc, "%s %s", zName, err.zMsg);
        }
        attn_option_set_real(pOpt, i, rVal, &err);
        break;
      default:
        z = attnValueBytes(pVal, &eKind, &nVal);
        if( z==0 ) return tvfError(pTab, SQLITE_NOMEM, "out of memory");
        attn_option_set_word(pOpt, i, eKind, z, nVal, &err);
        break;
    }
    if( err.rc ) return tvfError(pTab, err.rc, "%s", err.zMsg);
  }
  pOpt->bNoValues = pTab->bScores;
  if( pOpt->nThread>1 ){
    /* The connection's workers: a query does not start and join threads. */
    if( pTab->pMod->pThreads==0 ){
      pTab->pMod->pThreads = attn_threads_new();
      if( pTab->pMod->pThreads==0 ){
        return tvfError(pTab, SQLITE_NOMEM, "out of memory");
      }
    }
    pOpt->pThreads = pTab->pMod->pThreads;
  }
  return SQLITE_OK;
}

/* Step 3: the rows of the source and keys SELECTs, their vector BLOBs
** read as the dtype option says. */
static int tvfReadInputs(TvfCursor *pCur, const attn_options *pOpt){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  AttnRowsCtx c = tvfRowsCtx(pTab);
  c.eDtype = pOpt->eDtype;
  pCur->bKeys = tvfArgGiven(pCur, ARG_KEYS);
  return attnRowsRead(&c, pCur->apArg[ARG_SOURCE],
                      pCur->bKeys ? pCur->apArg[ARG_KEYS] : 0, &pCur->src,
                      &pCur->keys);
}

/* The key rows (the source rows without keys). */
static AttnRows *tvfKeyRows(TvfCursor *pCur){
  return pCur->bKeys ? &pCur->keys : &pCur->src;
}

/* Step 4: the query rows, all or those the filters of ids and positions
** select.  The source rows' default positions are computed here (by the
** engine's rule) when something needs them before the engine runs: a
** filter of positions, a subset of the rows (the defaults count every
** row), or no engine at all (no key rows).  Otherwise the engine computes
** them. */
static int tvfSelectRows(TvfCursor *pCur){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  AttnRowsCtx c = tvfRowsCtx(pTab);
  int64_t i;
  int rc;
  if( tvfRowFilters(pCur) || tvfKeyRows(pCur)->n==0 ){
    if( (rc = attnRowsDefaultPositions(&c, &pCur->src))!=SQLITE_OK ) return rc;
  }
  pCur->aQRow = sqlite3_malloc64(sizeof(int64_t)*(sqlite3_uint64)
                                 (pCur->src.n ? pCur->src.n : 1));
  if( pCur->aQRow==0 ) return SQLITE_NOMEM;
  for(i=0; i<pCur->src.n; i++){
    if( tvfRowWanted(pCur, i) ) pCur->aQRow[pCur->nQRow++] = i;
  }
  return SQLITE_OK;
}

/* Read the vector argument iArg into *pT (a copy in *paOwn, the caller's). */
static int tvfArgVector(TvfVtab *pTab, sqlite3_value *pVal, int iArg,
                        attn_tensor *pT, float **paOwn){
  attn_err err;
  int64_t n = 0;
  float *a;
  attn_err_clear(&err);
  if( attnValueDim(pVal, ATTN_VEC_F32, &n, &err)==ATTN_OK ){
    a = sqlite3_malloc64(4*(sqlite3_uint64)n);
    if( a==0 ) return tvfError(pTab, SQLITE_NOMEM, "out of memory");
    if( attnValueDecode(pVal, ATTN_VEC_F32, a, n, &err)==ATTN_OK ){
      *paOwn = a;
      pT->a = a;
      pT->n = n;
      return SQLITE_OK;
    }
    sqlite3_free(a);
  }
  return tvfError(pTab, err.rc, "%s %s", tvfArgName(iArg), err.zMsg);
}

/* Step 5: the engine's input and state, for the selected query rows
** against every key row.  Without a query row or a key row the engine is
** not needed: every row has nothing to attend to.  When the filters leave
** no query row of a source that has some, the engine still checks the
** arguments, on the first source row (and is then freed): a filter must
** not turn the error the same query without it gives into no rows. */
static int tvfStart(TvfCursor *pCur, attn_options *pOpt){
  TvfVtab *pTab = (TvfVtab*)pCur->base.pVtab;
  AttnRows *pQ = &pCur->src, *pK = tvfKeyRows(pCur);
  const struct AttnRowsVec *cq, *ck, *cv;
  attn_input in;
#define TVF_WEIGHT_FIELD(id, field) &in.field,
  attn_tensor *apW[] = { TVF_WEIGHTS(TVF_WEIGHT_FIELD) };
#undef TVF_WEIGHT_FIELD
  float *aOwn[TVF_NWEIGHT];
  const float **apXq = 0;
  int64_t *aSeqQ = 0, *aPosQ = 0, i, nQ = pCur->nQRow;
  attn_err err;
  int rc = SQLITE_OK, bCheckOnly = 0;
  if( pQ->n==0 || pK->n==0 ) return SQLITE_OK;
  if( nQ==0 ){
    bCheckOnly = 1;
    nQ = 1;
    pCur->aQRow[0] = 0;
  }
  memset(&in, 0, sizeof(in));
  memset(aOwn, 0, sizeof(aOwn));
  for(i=0; rc==SQLITE_OK && i<TVF_NWEIGHT; i++){
    int iArg = aTvfWeight[i];
    if( tvfArgGiven(pCur, iArg) ){
      rc = tvfArgVector(pTab, pCur->apArg[iArg], iArg, apW[i], &aOwn[i]);
    }
  }
  if( rc ) goto start_done;
  cq = attnRowsInput(pQ, ROWS_Q);
  ck = attnRowsInput(pK, ROWS_K);
  cv = attnRowsInput(pK, ROWS_V);
  in.nQuery = nQ;
  in.nKey = pK->n;
  in.nXq = cq->nDim;
  in.nXk = ck->nDim;
  in.nXv = cv->nDim;
  in.apXk = (const float *const*)ck->apRow;
  in.apXv = (const float *const*)cv->apRow;
  in.aSeqK = pK->bSeq ? pK->aSeq : 0;
  in.aPosK = pK->bPos ? pK->aPos : 0;        /* NULL: the engine's defaults */
  in.aBiasK = pK->aBias;                     /* NULL without a bias column */
  if( nQ==pQ->n ){
    in.apXq = (const float *const*)cq->apRow;
    in.aSeqQ = pQ->bSeq ? pQ->aSeq : 0;
    in.aPosQ = pQ->bPos ? pQ->aPos : 0;
  }else{
    /* A filtered subset of the query rows, with their positions (filled by
    ** tvfSelectRows: the defaults count every row). */
    apXq = sqlite3_malloc64(sizeof(float*)*(sqlite3_uint64)nQ);
    aSeqQ = sqlite3_malloc64(8*(sqlite3_uint64)nQ);
    aPosQ = sqlite3_malloc64(8*(sqlite3_uint64)nQ);
    if( apXq==0 || aSeqQ==0 || aPosQ==0 ){ rc = SQLITE_NOMEM; goto start_done; }
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
  rc = sqlite3_prepare_v2(pTab->db, "SELECT 1", -1, &pCur->pPoll, 0);
  if( rc ) goto start_done;
  pOpt->xPoll = tvfPoll;
  pOpt->pPollArg = pCur->pPoll;
  attn_err_clear(&err);
  if( attn_state_new(&in, pOpt, &pCur->pState, &err) ){
    rc = tvfError(pTab, err.rc, "%s", err.zMsg);
  }else if( bCheckOnly ){
    attn_state_free(pCur->pState);
    pCur->pState = 0;
  }
start_done:
  for(i=0; i<TVF_NWEIGHT; i++) sqlite3_free(aOwn[i]);
  sqlite3_free(apXq);
  sqlite3_free(aSeqQ);
  sqlite3_free(aPosQ);
  return rc;
}

static int tvfAdvance(TvfCursor *pCur);

static int tvfFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv){
  TvfCursor *pCur = (TvfCursor*)cur;
  TvfVtab *pTab = (TvfVtab*)cur->pVtab;
  attn_options opt;
  int rc;
  tvfReset(pCur);
  if( (idxNum & TVF_PLAN_SOURCE)==0 ){
    return tvfError(pTab, SQLITE_ERROR, "missing the source SELECT (the "
                    "first argument)");
  }
  rc = tvfTakeArgs(pCur, idxStr, argc, argv);
  if( rc==SQLITE_OK && !tvfArgGiven(pCur, ARG_SOURCE) ){
    return SQLITE_OK;                  /* NULL source: no rows */
  }
  if( rc==SQLITE_OK ) rc = tvfParams(pCur);
  if( rc==SQLITE_OK ) rc = tvfOptions(pCur, &opt);
  if( rc==SQLITE_OK ) rc = tvfReadInputs(pCur, &opt);
  if( rc==SQLITE_OK ) rc = tvfSelectRows(pCur);
  if( rc==SQLITE_OK ) rc = tvfStart(pCur, &opt);
  if( rc==SQLITE_OK && pCur->pState ){
    pCur->iHeadFilter = tvfHeadWanted(pCur, attn_state_heads(pCur->pState));
  }
  if( rc==SQLITE_OK ){
    pCur->bEof = 0;
    pCur->iQ = -1;
    rc = tvfAdvance(pCur);
  }
  if( rc ) tvfReset(pCur);
  return rc;
}

/* Open the score rows of the current query row (iHead < 0: all heads); an
** error (scores that overflow float32) names the source row. */
static int tvfScoresOpen(TvfCursor *pCur, int iHead, attn_score_iter **ppIter){
  attn_err err;
  attn_err_clear(&err);
  if( attn_scores_open(pCur->pState, pCur->iQ, iHead, ppIter, &err)==ATTN_OK ){
    return SQLITE_OK;
  }
  return tvfRowError(pCur, &err);
}

/* Move to the next output row.  A NULL output means no key to attend to
** (the engine's guarantee); an output that does not fit float32 is the
** engine's error, named with the row. */
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
    pCur->aOut = pCur->aLse = 0;
    if( pCur->pState && attn_output(pCur->pState, pCur->iQ, &pCur->aOut,
                                    &pCur->aLse, &err) ){
      return tvfRowError(pCur, &err);
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

/* The position of source row iSrc (query row iQ of the engine) and of key
** row iKey: read, filled as defaults, or the engine's defaults. */
static int64_t tvfQueryPos(TvfCursor *pCur, int64_t iSrc){
  if( pCur->src.bPos ) return pCur->src.aPos[iSrc];
  return attn_query_pos(pCur->pState, pCur->iQ);
}
static int64_t tvfKeyPos(TvfCursor *pCur, int64_t iKey){
  AttnRows *pK = tvfKeyRows(pCur);
  if( pK->bPos ) return pK->aPos[iKey];
  return attn_key_pos(pCur->pState, iKey);
}

/* Return a[0..n), the output or lse (zCol) of the current row, as a vector
** BLOB (copied); a NULL a is SQL NULL.  Fails with SQLITE_TOOBIG when the
** BLOB would be longer than SQLITE_LIMIT_LENGTH.  An lse the engine gives
** as +Infinity (it overflows float32; the output is exact) is an error
** here, where it is read. */
static int tvfResultFloats(TvfCursor *pCur, sqlite3_context *ctx,
                           const char *zCol, const float *a, int64_t n){
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
    attn_err e = err;
    attn_err_set(&err, e.rc, "%s %s", zCol, e.zMsg);
    return tvfRowError(pCur, &err);
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
  AttnRows *pQ = &pCur->src;
  if( i>=pTab->nCol ){
    sqlite3_value *pArg = pCur->apArg[i-pTab->nCol];
    if( pArg ) sqlite3_result_value(ctx, pArg);
    return SQLITE_OK;
  }
  if( !pTab->bScores ){
    switch( i ){
      case ATT_ID:  tvfResultId(ctx, pQ->aId[iSrc], iSrc); break;
      case ATT_SEQ: if( pQ->bSeq ) sqlite3_result_int64(ctx, pQ->aSeq[iSrc]); break;
      case ATT_POS: sqlite3_result_int64(ctx, tvfQueryPos(pCur, iSrc)); break;
      case ATT_OUTPUT:
        return tvfResultFloats(pCur, ctx, "output", pCur->aOut,
                               pCur->aOut ? attn_state_out_dim(pCur->pState) : 0);
      case ATT_LSE:
        return tvfResultFloats(pCur, ctx, "lse", pCur->aLse,
                               pCur->aLse ? attn_state_heads(pCur->pState) : 0);
    }
  }else{
    AttnRows *pK = tvfKeyRows(pCur);
    int64_t iKey = pCur->score.iKey;
    switch( i ){
      case SCO_QID:   tvfResultId(ctx, pQ->aId[iSrc], iSrc); break;
      case SCO_KID:   tvfResultId(ctx, pK->aId[iKey], iKey); break;
      case SCO_SEQ:   if( pQ->bSeq ) sqlite3_result_int64(ctx, pQ->aSeq[iSrc]); break;
      case SCO_QPOS:  sqlite3_result_int64(ctx, tvfQueryPos(pCur, iSrc)); break;
      case SCO_KPOS:  sqlite3_result_int64(ctx, tvfKeyPos(pCur, iKey)); break;
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
