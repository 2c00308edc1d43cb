/*
** fuzz_sql.c: the extension through SQL, with the system SQLite: rows and
** option values chosen by the input, good and malformed.
**
** The input fills a table t(id, x, seq, pos) with up to 24 rows (128 narrow
** ones on 1 input in 8, so more than one block of the engine) whose x is
** a float32 blob of the table's dimension (elements sometimes NaN, Inf,
** huge or denormal), or of another one, or NULL, an integer, a real, an
** empty or odd-length blob, JSON text (well formed or raw input bytes);
** seq and pos are small integers, NULL, text, a real or out of range.
** Then it runs attention() and attention_scores() with a source (and
** sometimes keys) SELECT picked from a list that includes broken ones, and
** hidden arguments set to values of every type: NULL, small and edge
** integers, reals from the input, text, blobs of random length (weights of
** the right shape or not), JSON.  Also attn_pool (aggregate and window),
** attn_heatmap/attn_textmap over the scores, and the vector functions over
** the rows.
**
** Properties: nothing crashes, leaks (LeakSanitizer) or reads out of
** bounds; every statement ends with SQLITE_OK, SQLITE_ERROR or
** SQLITE_TOOBIG, never another code (out of memory included: the sizes
** here are small); every error has a real message, not SQLite's generic
** text for a code the extension returned without one; attention() rows
** have NULL or finite float32 output and lse; attention_scores() rows have
** a finite score and a weight in [0, 1] (see fuzz.h for a known bug); every
** message is valid UTF-8.  Last (fsqlSafety), the classes of issue 13: SQL
** text given to attention() (PRAGMA and EXPLAIN forms, pragma_ tables,
** second statements, raw input bytes), after which every connection
** setting must read back as before; OR on qid or qpos, which must give
** the rows of the IN form; attn_pool over every kind of window frame,
** whose every value must be the row's own q over its frame (an aggregate
** over the rows the frame holds, computed in SQL), or an error.  Then
** (fsqlParams) the params argument and the packed projections wqkv and
** bqkv, from a one-row table of values of every kind.
*/
#include "fuzz.h"
#include <math.h>
#include <sqlite3.h>

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

static const char *const azFsqlArg[] = {
  "wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo", "heads", "kv_heads",
  "scale", "causal", "window", "alibi", "rope", "rope_style", "softcap",
  "threads"
};
#define FSQL_NARG ((int)(sizeof(azFsqlArg)/sizeof(azFsqlArg[0])))

/* Set for an input with many rows (LLVMFuzzerTestOneInput): heads is then
** at most 2 when an integer, so a run stays fast.  make fuzz runs a flash
** call (64 queries × 64 keys × 1 head) in about 2 ms (ASan and coverage,
** the SIMD sets at -O0): 128 rows with 2 heads are 8 calls, a run ~20 ms. */
static int fsqlBig = 0;

static const char *const azFsqlSource[] = {
  "SELECT id, x, seq, pos FROM t",
  "SELECT x FROM t",
  "SELECT id, x, seq FROM t ORDER BY id DESC",
  "SELECT id, x AS q, x AS k, attn_scale(x, 2) AS v, pos FROM t",
  "SELECT x, pos FROM t WHERE id % 2 = 0",
  "SELECT id, x, x FROM t",
  "SELECT id, x, seq, pos FROM t; SELECT 1",
  "SELECT id FROM t",
  "SELECT id, output AS x FROM attention('SELECT x FROM t')",
  "SELECT id, x, seq, pos FROM t WHERE seq = 1",
  "SELECT id, x, seq, pos FROM t ORDER BY pos",
  "SELECT x AS q FROM t",
  "INSERT INTO t(x) VALUES(1)",
  "SELECT x, ?1 FROM t",
  "",
};
static const char *const azFsqlKeys[] = {
  "SELECT x FROM t WHERE id % 3 = 0",
  "SELECT id, x, seq, pos FROM t WHERE id > 4",
  "SELECT x AS k, x AS v FROM t",
  "SELECT id, x AS k, attn_slice(x, 0, 1) AS v, seq FROM t",
  "SELECT 1 AS x",
};

/* What fsqlRun checks in each row. */
#define FSQL_ROWS_ANY        0
#define FSQL_ROWS_ATTENTION  1   /* output, lse: NULL or finite float32 */
#define FSQL_ROWS_SCORES     2   /* score finite, weight in [0, 1] */

/* Is column i NULL or a blob of finite float32 values? */
static int fsqlFiniteBlob(sqlite3_stmt *pStmt, int i){
  const unsigned char *a;
  int n, j;
  if( sqlite3_column_type(pStmt, i)==SQLITE_NULL ) return 1;
  if( sqlite3_column_type(pStmt, i)!=SQLITE_BLOB ) return 0;
  a = sqlite3_column_blob(pStmt, i);
  n = sqlite3_column_bytes(pStmt, i);
  if( n==0 || n%4 ) return 0;
  for(j=0; j<n; j+=4){
    uint32_t u = (uint32_t)a[j] | (uint32_t)a[j+1]<<8 | (uint32_t)a[j+2]<<16
               | (uint32_t)a[j+3]<<24;
    if( (u & 0x7f800000)==0x7f800000 ) return 0;
  }
  return 1;
}

/* Step pStmt to the end, reading every column and checking the rows as
** eRows says; return the final code. */
static int fsqlRun(sqlite3 *db, sqlite3_stmt *pStmt, int eRows){
  int rc, i, n = sqlite3_column_count(pStmt);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    for(i=0; i<n; i++){
      if( sqlite3_column_type(pStmt, i)==SQLITE_BLOB ){
        (void)sqlite3_column_blob(pStmt, i);
      }else{
        (void)sqlite3_column_text(pStmt, i);
      }
    }
    if( eRows==FSQL_ROWS_ATTENTION ){
      if( !fsqlFiniteBlob(pStmt, 3) || !fsqlFiniteBlob(pStmt, 4) ){
        fuzzFail("attention() returned a non-finite or malformed output/lse");
      }
    }else if( eRows==FSQL_ROWS_SCORES ){
      double rScore = sqlite3_column_double(pStmt, 6);
      double rWeight = sqlite3_column_double(pStmt, 7);
      int tScore = sqlite3_column_type(pStmt, 6);
      int tWeight = sqlite3_column_type(pStmt, 7);
      if( FUZZ_KNOWN_SCORES_OVERFLOW && (tWeight==SQLITE_NULL
       || (tScore==SQLITE_FLOAT && (rScore>1e308 || rScore<-1e308))) ){
        continue;                          /* see fuzz.h */
      }
      if( tScore==SQLITE_NULL || tWeight==SQLITE_NULL
       || !(rScore<=1e308 && rScore>=-1e308)
       || !(rWeight>=0.0 && rWeight<=1.0) ){
        fuzzFail("attention_scores() row with score %g (type %d), weight %g "
                 "(type %d)", rScore, tScore, rWeight, tWeight);
      }
    }
  }
  rc = sqlite3_finalize(pStmt);
  if( rc!=SQLITE_OK && rc!=SQLITE_ERROR && rc!=SQLITE_TOOBIG ){
    fuzzFail("statement ended with code %d: %s", rc, sqlite3_errmsg(db));
  }
  if( rc && strcmp(sqlite3_errmsg(db), sqlite3_errstr(rc))==0 ){
    fuzzFail("error %d without a message", rc);
  }
  if( rc && !fuzzUtf8(sqlite3_errmsg(db)) ){
    fuzzFail("message not valid UTF-8: %s", sqlite3_errmsg(db));
  }
  return rc;
}

/* A blob of n floats from the input (sqlite3_malloc'd, or NULL). */
static void fsqlBindFloats(FuzzIn *p, sqlite3_stmt *pStmt, int iParam,
                           int64_t n){
  float *a;
  int64_t i;
  if( n<=0 ){
    sqlite3_bind_zeroblob(pStmt, iParam, 0);
    return;
  }
  a = sqlite3_malloc64(4*(sqlite3_uint64)n);
  if( a==0 ) return;
  for(i=0; i<n; i++){
    a[i] = (fuzzByte(p)&15)==0 ? fuzzFloat(p)
                               : ((float)(int)fuzzByte(p) - 128.0f)/128.0f;
  }
  sqlite3_bind_blob64(pStmt, iParam, a, 4*(sqlite3_uint64)n, sqlite3_free);
}

/* Bind a value of any kind, chosen by the input, to parameter iParam.
** nGood is the element count of a well-shaped weight (0: not a weight). */
static void fsqlBindValue(FuzzIn *p, sqlite3_stmt *pStmt, int iParam,
                          int iArg, int64_t nGood){
  static const int64_t aEdge[] = { 0, -1, 1, 2, 4, 64, 65, 1024, 1025,
    2147483647LL, -2147483648LL, 9007199254740993LL, (int64_t)1<<62 };
  static const char *const azText[] = { "neox", "interleaved", "NEOX", "",
    "[1, 2]", "[[1,2],[3,4]]", "[1e39]", "x", "1" };
  unsigned k = fuzzByte(p) % 9;
  if( nGood>0 && k>=6 ){
    /* A weight or bias: mostly the right shape. */
    int64_t n = k==8 ? (int64_t)fuzzRange(p, 40) : nGood;
    fsqlBindFloats(p, pStmt, iParam, n);
    return;
  }
  switch( k ){
    case 0: sqlite3_bind_null(pStmt, iParam); break;
    case 1: case 6:
      if( strcmp(azFsqlArg[iArg], "threads")==0 ){
        sqlite3_bind_int(pStmt, iParam, 1 + (int)fuzzRange(p, 4));
      }else if( fsqlBig && strcmp(azFsqlArg[iArg], "heads")==0 ){
        sqlite3_bind_int(pStmt, iParam, (int)fuzzRange(p, 3));
      }else{
        sqlite3_bind_int(pStmt, iParam, (int)fuzzRange(p, 10) - 1);
      }
      break;
    case 2: {
      int64_t v = aEdge[fuzzRange(p, sizeof(aEdge)/sizeof(aEdge[0]))];
      /* No more than a few threads per run (threads up to 64 is valid). */
      if( strcmp(azFsqlArg[iArg], "threads")==0 && v>4 && v<=64 ) v = 4;
      if( fsqlBig && strcmp(azFsqlArg[iArg], "heads")==0 && v>2 ) v = 2;
      sqlite3_bind_int64(pStmt, iParam, v);
      break;
    }
    case 3: sqlite3_bind_double(pStmt, iParam, (double)fuzzFloat(p)); break;
    case 4: case 7:
      sqlite3_bind_text(pStmt, iParam,
          azText[fuzzRange(p, sizeof(azText)/sizeof(azText[0]))], -1,
          SQLITE_STATIC);
      break;
    default:
      fsqlBindFloats(p, pStmt, iParam, (int64_t)fuzzRange(p, 20));
  }
}

/* Fill t from the input. */
static void fsqlFill(sqlite3 *db, FuzzIn *p, int nRow, int nDim){
  sqlite3_stmt *pIns = 0;
  int i;
  sqlite3_prepare_v2(db, "INSERT INTO t(x, seq, pos) VALUES(?1, ?2, ?3)", -1,
                     &pIns, 0);
  if( pIns==0 ) return;
  for(i=0; i<nRow; i++){
    unsigned k = fuzzByte(p) % 32, s = fuzzByte(p) % 8, q = fuzzByte(p) % 8;
    if( k<24 ){
      fsqlBindFloats(p, pIns, 1, nDim);
    }else switch( k ){
      case 24: fsqlBindFloats(p, pIns, 1, nDim + 1 + (int)fuzzRange(p, 3)); break;
      case 25: sqlite3_bind_null(pIns, 1); break;
      case 26: {
        unsigned n = fuzzRange(p, 24);
        if( p->i + n > p->n ) n = (unsigned)(p->n - p->i);
        sqlite3_bind_text(pIns, 1, (const char*)p->a + p->i, (int)n,
                          SQLITE_TRANSIENT);
        p->i += n;
        break;
      }
      case 27: {
        char z[600];
        int j, m = 0;
        m += snprintf(z+m, sizeof(z)-(size_t)m, "[");
        for(j=0; j<nDim; j++){
          m += snprintf(z+m, sizeof(z)-(size_t)m, "%s%.9g", j ? ", " : "",
                        ((double)(int)fuzzByte(p) - 128.0)/16.0);
        }
        snprintf(z+m, sizeof(z)-(size_t)m, "]");
        sqlite3_bind_text(pIns, 1, z, -1, SQLITE_TRANSIENT);
        break;
      }
      case 28: sqlite3_bind_int(pIns, 1, (int)fuzzByte(p)); break;
      case 29: sqlite3_bind_zeroblob(pIns, 1, 0); break;
      case 30: sqlite3_bind_double(pIns, 1, 1.5); break;
      default: {
        unsigned char b[7] = {1, 2, 3, 4, 5, 6, 7};
        sqlite3_bind_blob(pIns, 1, b, 1 + (int)fuzzRange(p, 7), SQLITE_TRANSIENT);
      }
    }
    if( s<5 ) sqlite3_bind_int(pIns, 2, (int)fuzzRange(p, 3));
    else if( s==5 ) sqlite3_bind_null(pIns, 2);
    else if( s==6 ) sqlite3_bind_text(pIns, 2, "a", -1, SQLITE_STATIC);
    else sqlite3_bind_double(pIns, 2, 1.5);
    if( q<6 ) sqlite3_bind_int(pIns, 3, (int)fuzzRange(p, 30) - 5);
    else if( q==6 ) sqlite3_bind_int64(pIns, 3, (int64_t)1<<60);
    else sqlite3_bind_null(pIns, 3);
    sqlite3_step(pIns);
    sqlite3_reset(pIns);
    sqlite3_clear_bindings(pIns);
  }
  sqlite3_finalize(pIns);
}

/* The WHERE clause of hidden arguments: which are set (bit i of *pmArgs). */
static void fsqlArgs(FuzzIn *p, char *zWhere, size_t nWhere, unsigned *pmArgs){
  size_t m = 0;
  int i;
  *pmArgs = 0;
  zWhere[0] = 0;
  for(i=0; i<FSQL_NARG; i++){
    if( (fuzzByte(p)&3)!=0 ) continue;
    *pmArgs |= 1u<<i;
    m += (size_t)snprintf(zWhere+m, nWhere-m, " AND %s = ?%d", azFsqlArg[i], i+3);
  }
}

/* Bind ?1 .. ?5 of the vector-function statements below (a matrix of a
** multiple of nDim elements, a vector of nDim, two integers, a number or
** text, each sometimes of the wrong kind), and run the statement. */
static void fsqlBindVectorArgs(FuzzIn *p, sqlite3 *db, sqlite3_stmt *pStmt,
                               int64_t nDim){
  fsqlBindValue(p, pStmt, 1, 0, nDim*(1 + (int64_t)fuzzRange(p, 3)));
  fsqlBindValue(p, pStmt, 2, 4, nDim);
  fsqlBindValue(p, pStmt, 3, 8, 0);
  fsqlBindValue(p, pStmt, 4, 8, 0);
  fsqlBindValue(p, pStmt, 5, 10, 0);
  fsqlRun(db, pStmt, FSQL_ROWS_ANY);
}

/* Bind source (?1), keys (?2) and the hidden arguments set in mArgs. */
static void fsqlBindAll(FuzzIn *p, sqlite3_stmt *pStmt, const char *zSource,
                        const char *zKeys, unsigned mArgs, int nDim){
  int i;
  if( (fuzzByte(p)&31)==0 ){
    sqlite3_bind_int(pStmt, 1, 7);           /* not text */
  }else{
    sqlite3_bind_text(pStmt, 1, zSource, -1, SQLITE_STATIC);
  }
  if( zKeys ) sqlite3_bind_text(pStmt, 2, zKeys, -1, SQLITE_STATIC);
  for(i=0; i<FSQL_NARG; i++){
    if( mArgs & (1u<<i) ){
      int64_t nGood = 0;
      if( i<4 ) nGood = (int64_t)nDim*nDim*(1 + (int64_t)(fuzzByte(p)&1));
      else if( i<8 ) nGood = nDim;
      fsqlBindValue(p, pStmt, i+3, i, nGood);
    }
  }
}

/*
** The classes of issue 13, last in the input (so the seeds of the steps
** above keep their meaning): SQL text that must change nothing, OR on
** pushed-down columns, and attn_pool frames.
*/

/* Connection settings that a PRAGMA would change, read back as one text. */
static void fsqlState(sqlite3 *db, char *z, size_t n){
  static const char *const azPragma[] = {
    "writable_schema", "trusted_schema", "query_only", "cache_size",
    "foreign_keys", "recursive_triggers", "busy_timeout", "automatic_index",
    "reverse_unordered_selects", "legacy_alter_table", "cell_size_check",
    "defer_foreign_keys", "ignore_check_constraints", "temp_store",
    "threads", "analysis_limit", "user_version", "schema_version",
  };
  size_t m = 0;
  int i;
  z[0] = 0;
  for(i=0; i<(int)(sizeof(azPragma)/sizeof(azPragma[0])); i++){
    sqlite3_stmt *p = 0;
    char zSql[64];
    snprintf(zSql, sizeof(zSql), "PRAGMA %s", azPragma[i]);
    if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK
     && sqlite3_step(p)==SQLITE_ROW ){
      m += (size_t)snprintf(z+m, n-m, "%s=%s ", azPragma[i],
                            (const char*)sqlite3_column_text(p, 0));
    }
    sqlite3_finalize(p);
  }
  {
    sqlite3_stmt *p = 0;
    if( sqlite3_prepare_v2(db, "SELECT 'a' LIKE 'A', (SELECT count(*) FROM "
                           "sqlite_schema)", -1, &p, 0)==SQLITE_OK
     && sqlite3_step(p)==SQLITE_ROW ){
      snprintf(z+m, n-m, "like=%d schema=%d", sqlite3_column_int(p, 0),
               sqlite3_column_int(p, 1));
    }
    sqlite3_finalize(p);
  }
}

/* Are the float32 blobs (or NULLs) of columns i and j of pStmt the same
** result, within a relative 2^-20 of their largest element?  The two are
** means of the same v rows with weights computed in float64 by the same
** rule, in another order at most: any wrong row or frame is far off. */
static int fsqlSameVector(sqlite3_stmt *pStmt, int i, int j){
  int n = sqlite3_column_bytes(pStmt, i), t;
  const float *a, *b;
  double rMax = 0.0;
  if( sqlite3_column_type(pStmt, i)==SQLITE_NULL
   || sqlite3_column_type(pStmt, j)==SQLITE_NULL ){
    return sqlite3_column_type(pStmt, i)==sqlite3_column_type(pStmt, j);
  }
  if( n!=sqlite3_column_bytes(pStmt, j) || n%4 ) return 0;
  a = (const float*)sqlite3_column_blob(pStmt, i);
  b = (const float*)sqlite3_column_blob(pStmt, j);
  for(t=0; t<n/4; t++){
    if( fabs(a[t])>rMax ) rMax = fabs(a[t]);
    if( fabs(b[t])>rMax ) rMax = fabs(b[t]);
  }
  for(t=0; t<n/4; t++){
    if( !(fabs((double)a[t] - (double)b[t])<=rMax*0x1p-20) ) return 0;
  }
  return 1;
}

/* attn_pool(x, x, x [, pos]) over FRAME, against the same q (and scale) of
** each row as an aggregate over the rows zRows says its frame holds.  The
** statement may fail (a frame attn_pool refuses, a bad row), which part 3
** checks; when it gives rows, each must agree. */
static void fsqlPoolOracle(sqlite3 *db, const char *zFrame, const char *zRows,
                           int bScale){
  char zSql[1200];
  sqlite3_stmt *pStmt = 0;
  int bRows = strncmp(zFrame, "ROWS", 4)==0;
  snprintf(zSql, sizeof(zSql),
    "WITH r AS (SELECT id, x, seq, pos,"
    " row_number() OVER (PARTITION BY seq ORDER BY pos, id) AS rn,"
    " dense_rank() OVER (PARTITION BY seq ORDER BY pos) AS dr FROM t)"
    " SELECT c.id, c.w, (SELECT attn_pool(c.x, f.x, f.x%s) FROM r f"
    " WHERE f.seq IS c.seq AND %s) FROM (SELECT *, attn_pool(x, x, x%s)"
    " OVER (PARTITION BY seq ORDER BY pos%s %s) AS w FROM r) c",
    bScale ? ", c.pos" : "", zRows, bScale ? ", pos" : "",
    bRows ? ", id" : "", zFrame);
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    fuzzFail("prepare: %s", sqlite3_errmsg(db));
  }
  while( sqlite3_step(pStmt)==SQLITE_ROW ){
    if( !fsqlSameVector(pStmt, 1, 2) ){
      fuzzFail("attn_pool OVER (... %s): row id %lld is not its own q over "
               "its frame", zFrame, (long long)sqlite3_column_int64(pStmt, 0));
    }
  }
  sqlite3_finalize(pStmt);
}

static void fsqlSafety(sqlite3 *db, FuzzIn *in, int nDim){
  static const char *const azPrefix[] = {
    "PRAGMA ", "EXPLAIN PRAGMA ", "EXPLAIN QUERY PLAN PRAGMA ",
    "SELECT x FROM t; PRAGMA ", "/* c */ -- c\n PRAGMA ", "; PRAGMA main.",
    "SELECT 1 AS x FROM pragma_", "SELECT 1 AS x FROM 'pragma_", "",
  };
  static const char *const azSet[] = {
    "writable_schema = 1", "trusted_schema = 0", "query_only = 1",
    "cache_size = 7", "foreign_keys = 1", "recursive_triggers = 1",
    "busy_timeout = 99", "case_sensitive_like = 1", "threads = 3",
    "temp_store = 2", "user_version = 5", "optimize",
  };
  /* Each frame, and which rows it holds, for the oracle of part 4: a test
  ** of the frame row f against the current row c, by their row numbers rn
  ** (ORDER BY pos, id) for ROWS frames and their dense ranks dr (ORDER BY
  ** pos: peers share one) for RANGE and GROUPS; NULL for EXCLUDE, whose
  ** documented limit (docs/sql-aggregates.md) the oracle would flag. */
  static const char *const azFrame[][2] = {
    { "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW", "f.rn BETWEEN c.rn-1 AND c.rn" },
    { "", "f.dr <= c.dr" },
    { "RANGE CURRENT ROW", "f.dr = c.dr" },
    { "GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW", "f.dr BETWEEN c.dr-1 AND c.dr" },
    { "ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING", "f.rn BETWEEN c.rn-2 AND c.rn-1" },
    { "ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING", "f.rn BETWEEN c.rn-1 AND c.rn+1" },
    { "ROWS BETWEEN 1 FOLLOWING AND 2 FOLLOWING", "f.rn BETWEEN c.rn+1 AND c.rn+2" },
    { "ROWS UNBOUNDED PRECEDING EXCLUDE CURRENT ROW", 0 },
    { "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE TIES", 0 },
  };
  char zBefore[1200], zAfter[1200], zText[200], zSql[600];
  sqlite3_stmt *pStmt = 0;
  size_t m;
  unsigned k, nRaw, iFrame;
  int i;
  if( !fuzzLeft(in) ) return;
  /* 1. SQL text given to attention(): a prefix, a setting, raw input bytes;
  ** refused or not, the connection's settings must be as before. */
  fsqlState(db, zBefore, sizeof(zBefore));
  for(i=0; i<3 && fuzzLeft(in); i++){
    k = fuzzByte(in);
    m = (size_t)snprintf(zText, sizeof(zText), "%s%s",
        azPrefix[k % (sizeof(azPrefix)/sizeof(azPrefix[0]))],
        azSet[fuzzRange(in, sizeof(azSet)/sizeof(azSet[0]))]);
    nRaw = fuzzRange(in, 40);
    while( nRaw-- && m+1<sizeof(zText) && fuzzLeft(in) ){
      char c = (char)fuzzByte(in);
      zText[m++] = c ? c : ' ';
    }
    zText[m] = 0;
    snprintf(zSql, sizeof(zSql), "SELECT * FROM %s(?1%s)",
             (k & 0x40) ? "attention_scores" : "attention",
             (k & 0x80) ? ", 'SELECT x FROM t'" : "");
    if( (k & 0x20) && sqlite3_prepare_v2(db, "SELECT * FROM attention("
          "'SELECT x FROM t', ?1)", -1, &pStmt, 0)==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zText, -1, SQLITE_STATIC);
      fsqlRun(db, pStmt, FSQL_ROWS_ANY);
    }else if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
      sqlite3_bind_text(pStmt, 1, zText, -1, SQLITE_STATIC);
      fsqlRun(db, pStmt, FSQL_ROWS_ANY);
    }
  }
  fsqlState(db, zAfter, sizeof(zAfter));
  if( strcmp(zBefore, zAfter)!=0 ){
    fuzzFail("source SQL changed the connection: [%s] then [%s]", zBefore,
             zAfter);
  }
  /* 2. OR on a pushed-down column: the rows of the IN form, never an
  ** error about a missing source. */
  {
    int a = (int)fuzzRange(in, 12), b = (int)fuzzRange(in, 12), n1 = -1, n2 = -2;
    const char *zCol = (fuzzByte(in)&1) ? "qid" : "qpos";
    snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM attention_scores('SELECT"
             " x FROM t') WHERE %s = %d OR %s = %d", zCol, a, zCol, b);
    if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
      if( sqlite3_step(pStmt)==SQLITE_ROW ) n1 = sqlite3_column_int(pStmt, 0);
      else if( strstr(sqlite3_errmsg(db), "missing the source") ){
        fuzzFail("OR: %s", sqlite3_errmsg(db));
      }
      sqlite3_finalize(pStmt);
    }
    snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM attention_scores('SELECT"
             " x FROM t') WHERE %s IN (%d, %d)", zCol, a, b);
    if( n1>=0 && sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
      if( sqlite3_step(pStmt)==SQLITE_ROW ) n2 = sqlite3_column_int(pStmt, 0);
      sqlite3_finalize(pStmt);
      if( n2>=0 && n1!=n2 ) fuzzFail("OR gives %d rows, IN %d", n1, n2);
    }
  }
  /* 3. attn_pool over a frame of any kind (with a scale per row): the
  ** frames it cannot answer for are errors with a message (fsqlRun). */
  k = fuzzByte(in);
  iFrame = k % (sizeof(azFrame)/sizeof(azFrame[0]));
  snprintf(zSql, sizeof(zSql), "SELECT attn_pool(x, x, x%s) OVER (PARTITION "
           "BY seq ORDER BY pos %s) FROM t%s", (k & 16) ? ", pos" : "",
           azFrame[iFrame][0], (k & 32) ? " LIMIT 1" : "");
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    fsqlRun(db, pStmt, FSQL_ROWS_ANY);
  }
  /* 4. What a window gives (issue 13, findings 1, 2 and 6: a peer given
  ** another row's answer, a frame that ends before its row, a scale read
  ** from one row): each row's value is its own q (and scale) over the rows
  ** of its frame, computed as an aggregate (fsqlPoolOracle). */
  if( azFrame[iFrame][1] ) fsqlPoolOracle(db, azFrame[iFrame][0],
                                          azFrame[iFrame][1], k & 16);
  (void)nDim;
}

/* The params argument and the packed projections, last in the input (after
** fsqlSafety, so older seeds keep their meaning): a one-row table of a
** layer's values of any kind (wqkv mostly nDim × 3·nDim), read through a
** params SELECT picked from a list (good ones, ones that name no
** argument, a fixed one, zero and two rows) or made of raw input bytes,
** with an argument given directly too, or not. */
static void fsqlParams(sqlite3 *db, FuzzIn *in, int nDim){
  static const char *const azCol[] = { "wqkv", "bqkv", "heads", "kv_heads",
                                       "causal" };
  static const char *const azParams[] = {
    "SELECT * FROM lay", "SELECT wqkv, heads FROM lay", "SELECT wqkv AS WQ,"
    " bqkv AS bQkv FROM lay", "SELECT * FROM lay, lay", "SELECT * FROM lay"
    " WHERE 0", "SELECT 'SELECT 1' AS keys", "SELECT heads AS head FROM lay",
    "SELECT wqkv, wqkv AS wq FROM lay", "SELECT *, 'n' AS name FROM lay",
    "SELECT 1 AS heads, 2 AS HEADS",
  };
  char zText[120];
  sqlite3_stmt *pStmt = 0;
  unsigned k;
  int i, j;
  if( !fuzzLeft(in) ) return;
  sqlite3_exec(db, "CREATE TABLE lay(wqkv, bqkv, heads, kv_heads, causal);"
               "INSERT INTO lay VALUES(NULL, NULL, NULL, NULL, NULL)", 0, 0, 0);
  if( sqlite3_prepare_v2(db, "UPDATE lay SET wqkv = ?1, bqkv = ?2, heads = ?3,"
                         " kv_heads = ?4, causal = ?5", -1, &pStmt, 0)==SQLITE_OK ){
    for(i=0; i<5; i++){
      /* fsqlBindValue's option rules, by the name of the column */
      int iArg = 0;
      for(j=0; j<FSQL_NARG; j++){
        if( strcmp(azFsqlArg[j], azCol[i])==0 ) iArg = j;
      }
      if( (fuzzByte(in)&3)==0 ) continue;          /* NULL */
      fsqlBindValue(in, pStmt, i+1, iArg,
                    i==0 ? (int64_t)nDim*3*nDim : i==1 ? 3*nDim : 0);
    }
    sqlite3_step(pStmt);
  }
  sqlite3_finalize(pStmt);
  for(i=0; i<2 && fuzzLeft(in); i++){
    k = fuzzByte(in);
    if( (k & 7)==7 ){
      unsigned n = fuzzRange(in, sizeof(zText));
      if( in->i + n > in->n ) n = (unsigned)(in->n - in->i);
      memcpy(zText, in->a + in->i, n);
      in->i += n;
      zText[n] = 0;
    }else{
      snprintf(zText, sizeof(zText), "%s",
               azParams[fuzzRange(in, sizeof(azParams)/sizeof(azParams[0]))]);
    }
    pStmt = 0;
    if( sqlite3_prepare_v2(db, (k & 8)
          ? "SELECT qid, kid, seq, qpos, kpos, head, score, weight FROM"
            " attention_scores('SELECT x, seq FROM t') WHERE params = ?1 AND"
            " qid = 1 AND heads = ?2"
          : "SELECT id, seq, pos, output, lse FROM attention('SELECT x, seq,"
            " pos FROM t') WHERE params = ?1 AND heads = ?2", -1, &pStmt,
          0)!=SQLITE_OK ){
      fuzzFail("prepare: %s", sqlite3_errmsg(db));
      continue;
    }
    sqlite3_bind_text(pStmt, 1, zText, -1, SQLITE_TRANSIENT);
    if( k & 16 ) fsqlBindValue(in, pStmt, 2, 8, 0);  /* heads, or NULL */
    fsqlRun(db, pStmt, (k & 8) ? FSQL_ROWS_SCORES : FSQL_ROWS_ATTENTION);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  FuzzIn in = { data, size, 0 };
  static int bInit = 0;
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  char zWhere[600], zSql[1200];
  const char *zSource, *zKeys;
  unsigned mArgs, k;
  int nRow, nDim, bBig, bQid, bHead;
  if( !bInit ){
    sqlite3_auto_extension((void(*)(void))sqlite3_attention_init);
    bInit = 1;
  }
  if( sqlite3_open(":memory:", &db) ){ sqlite3_close(db); return 0; }
  sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, x, seq, pos)", 0, 0, 0);
  /* Mostly up to 24 rows; when the first byte is 224 or more (1 input in
  ** 8), 25 to 128 narrow rows (1 to 4 dims) and few heads (fsqlBig): more
  ** than one query block or key tile (ATTN_BLOCK_Q, ATTN_TILE_K: 64), so
  ** that the engine's split into blocks, tiles and threads is fuzzed too. */
  k = fuzzByte(&in);
  bBig = fsqlBig = k>=224;
  if( bBig ){
    nRow = 25 + (int)fuzzRange(&in, 104);
    nDim = 1 + (int)fuzzRange(&in, 4);
  }else{
    nRow = (int)(k % 25);
    nDim = 1 + (int)fuzzRange(&in, 12);
  }
  fsqlFill(db, &in, nRow, nDim);

  zSource = azFsqlSource[fuzzRange(&in, sizeof(azFsqlSource)/sizeof(azFsqlSource[0]))];
  zKeys = (fuzzByte(&in)&3)==0
        ? azFsqlKeys[fuzzRange(&in, sizeof(azFsqlKeys)/sizeof(azFsqlKeys[0]))] : 0;
  fsqlArgs(&in, zWhere, sizeof(zWhere), &mArgs);

  /* attention() */
  snprintf(zSql, sizeof(zSql), "SELECT id, seq, pos, output, lse FROM "
           "attention(?1%s) WHERE 1%s", zKeys ? ", ?2" : "", zWhere);
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    fsqlBindAll(&in, pStmt, zSource, zKeys, mArgs, nDim);
    fsqlRun(db, pStmt, FSQL_ROWS_ATTENTION);
  }else{
    fuzzFail("prepare: %s", sqlite3_errmsg(db));
  }

  /* attention_scores(), sometimes with pushed-down filters; always one qid
  ** for many rows, which would give nRow² score rows per head.  The bytes
  ** are read in statements of their own: the order in which a compiler
  ** evaluates the arguments of one call is unspecified, and a saved input
  ** must mean the same under clang and gcc. */
  bQid = (fuzzByte(&in)&1) || bBig;
  bHead = fuzzByte(&in)&1;
  snprintf(zSql, sizeof(zSql), "SELECT qid, kid, seq, qpos, kpos, head, score, "
           "weight FROM attention_scores(?1%s) WHERE 1%s%s%s", zKeys ? ", ?2" : "",
           zWhere, bQid ? " AND qid = ?30" : "", bHead ? " AND head = ?31" : "");
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
    fsqlBindAll(&in, pStmt, zSource, zKeys, mArgs, nDim);
    sqlite3_bind_int(pStmt, 30, (int)fuzzRange(&in, bBig ? nRow+5 : 30) - 2);
    sqlite3_bind_int(pStmt, 31, (int)fuzzRange(&in, 4));
    fsqlRun(db, pStmt, FSQL_ROWS_SCORES);
  }else{
    fuzzFail("prepare: %s", sqlite3_errmsg(db));
  }

  /* Heatmaps of the scores, one per head (of one qid for many rows). */
  if( fuzzByte(&in)&1 ){
    snprintf(zSql, sizeof(zSql), "SELECT head, attn_heatmap(qpos, kpos, weight,"
             " qid), attn_textmap(qpos, kpos, weight, NULL, kid) FROM "
             "attention_scores(?1%s) WHERE 1%s%s GROUP BY head",
             zKeys ? ", ?2" : "", zWhere, bBig ? " AND qid = ?30" : "");
    if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
      fsqlBindAll(&in, pStmt, zSource, zKeys, mArgs, nDim);
      if( bBig ) sqlite3_bind_int(pStmt, 30, (int)fuzzRange(&in, nRow+5) - 2);
      fsqlRun(db, pStmt, FSQL_ROWS_ANY);
    }
  }

  /* Aggregates, window, vector functions over the rows. */
  if( sqlite3_prepare_v2(db, "SELECT seq, attn_pool(x, x, x), attn_pool(?1, x, x, ?2),"
        " attn_sum(x), attn_avg(x), attn_wsum(pos, x), attn_stack(x)"
        " FROM t GROUP BY seq", -1, &pStmt, 0)==SQLITE_OK ){
    fsqlBindValue(&in, pStmt, 1, 0, nDim);
    fsqlBindValue(&in, pStmt, 2, 10, 0);
    fsqlRun(db, pStmt, FSQL_ROWS_ANY);
  }
  if( sqlite3_prepare_v2(db, "SELECT attn_pool(x, x, x) OVER (PARTITION BY seq "
        "ORDER BY pos ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t", -1,
        &pStmt, 0)==SQLITE_OK ){
    fsqlRun(db, pStmt, FSQL_ROWS_ANY);
  }
  if( sqlite3_prepare_v2(db, "SELECT attn_project(x, ?1), attn_project(x, ?1, ?2),"
        " attn_transpose(?1, ?3), attn_json(x), attn_dot(x, ?2),"
        " attn_slice(x, ?3, ?4), attn_concat(x, ?2, x), attn_softmax(x, ?5),"
        " attn_normalize(x), attn_add(x, ?2), attn_bar(?5, ?3)"
        " FROM t", -1, &pStmt, 0)==SQLITE_OK ){
    fsqlBindVectorArgs(&in, db, pStmt, nDim);
  }
  /* The block functions and the merge, on the same kinds of values. */
  if( sqlite3_prepare_v2(db, "SELECT attn_cols(?1, ?3, ?4, ?3), attn_mul(x, ?2),"
        " attn_layernorm(x, ?2, ?2, ?5), attn_rmsnorm(x, ?2, ?5), attn_gelu(x, ?5),"
        " attn_gelu(x), attn_silu(x), attn_relu(x) FROM t", -1, &pStmt,
        0)==SQLITE_OK ){
    fsqlBindVectorArgs(&in, db, pStmt, nDim);
  }
  if( sqlite3_prepare_v2(db, "SELECT seq, attn_merge(x, ?1), attn_merge_lse(x, ?1)"
        " FROM t GROUP BY seq", -1, &pStmt, 0)==SQLITE_OK ){
    fsqlBindValue(&in, pStmt, 1, 4, 1 + (int64_t)fuzzRange(&in, 2));
    fsqlRun(db, pStmt, FSQL_ROWS_ANY);
  }
  fsqlSafety(db, &in, nDim);
  fsqlParams(db, &in, nDim);
  sqlite3_close(db);
  return 0;
}
