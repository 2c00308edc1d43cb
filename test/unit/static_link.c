/*
** static_link.c: the static library (dist/libattention.a, built with
** -DSQLITE_CORE) linked into a program with the system SQLite and
** registered with sqlite3_auto_extension(), as the README shows.
**
** Checks that the functions work in such a program, that vector results
** carry subtype 223 (sqlite-vec's float32 tag) and attn_json() results
** the JSON subtype 74, that sqlite-vec int8/bit vectors (subtypes 225,
** 224) are refused, that SQLITE_LIMIT_LENGTH gives SQLITE_TOOBIG, and that
** no path, error paths included, leaks memory: every allocation of the
** extension goes through sqlite3_malloc64, so sqlite3_memory_used() is back
** to its starting value once the connections are closed.
*/
#include "unit.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include "version.h"

#ifndef SQLITE_RESULT_SUBTYPE
# define SQLITE_RESULT_SUBTYPE 0x001000000
#endif

/* The entry point, as an application declares it (README). */
int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

/* subtype_of(x): the subtype of its argument. */
static void probeSubtypeOf(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc;
  sqlite3_result_int(ctx, (int)sqlite3_value_subtype(argv[0]));
}

/* with_subtype(x, n): x with subtype n (to imitate sqlite-vec's vectors). */
static void probeWithSubtype(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc;
  sqlite3_result_value(ctx, argv[0]);
  sqlite3_result_subtype(ctx, (unsigned)sqlite3_value_int(argv[1]));
}

/* The first column of the first row of zSql as text ("" for NULL, the error
** message prefixed with "ERROR <code>: " on error), in a static buffer. */
static const char *sqlText(sqlite3 *db, const char *zSql){
  static char zOut[4096];
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  zOut[0] = 0;
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW ){
      const unsigned char *z = sqlite3_column_text(pStmt, 0);
      snprintf(zOut, sizeof(zOut), "%s", z ? (const char*)z : "");
      rc = SQLITE_OK;
    }else if( rc==SQLITE_DONE ){
      rc = SQLITE_OK;
    }
  }
  if( rc!=SQLITE_OK ){
    snprintf(zOut, sizeof(zOut), "ERROR %d: %s", sqlite3_extended_errcode(db),
             sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return zOut;
}

static int sqlInt(sqlite3 *db, const char *zSql){
  return atoi(sqlText(db, zSql));
}

#define CHECK_TEXT(db, zSql, zWant) do{ \
  const char *zGot_ = sqlText(db, zSql); \
  if( strcmp(zGot_, zWant)==0 ){ UNIT_PASS(); } \
  else{ UNIT_FAIL(); fprintf(stderr, "FAIL %s:%d: %s\n  got  [%s]\n  want [%s]\n", \
        __FILE__, __LINE__, zSql, zGot_, zWant); } \
}while(0)

#define CHECK_SUBTYPE(db, zExpr, n) do{ \
  int got_ = sqlInt(db, "SELECT subtype_of(" zExpr ")"); \
  if( got_==(n) ){ UNIT_PASS(); } \
  else{ UNIT_FAIL(); fprintf(stderr, "FAIL %s:%d: subtype of %s is %d, want %d\n", \
        __FILE__, __LINE__, zExpr, got_, (n)); } \
}while(0)

static void registerProbes(sqlite3 *db){
  int rc = sqlite3_create_function(db, "subtype_of", 1,
      SQLITE_UTF8|SQLITE_SUBTYPE, 0, probeSubtypeOf, 0, 0);
  CHECK(rc==SQLITE_OK);
  rc = sqlite3_create_function(db, "with_subtype", 2,
      SQLITE_UTF8|SQLITE_RESULT_SUBTYPE, 0, probeWithSubtype, 0, 0);
  CHECK(rc==SQLITE_OK);
}

static void testFunctions(sqlite3 *db){
  /* Registered by the auto extension, working. */
  CHECK_TEXT(db, "SELECT attn_version()", ATTN_VERSION);
  CHECK_TEXT(db, "SELECT attn_json(attn_add('[1,2]', '[3,4]'))", "[4,6]");
  CHECK_TEXT(db, "SELECT attn_dot('[1,2,3]', '[4,5,6]')", "32.0");
  CHECK_TEXT(db, "SELECT attn_json(attn_project('[1,2]', '[[1,2],[3,4]]', '[1,1]'))",
             "[8,11]");
  CHECK_TEXT(db, "SELECT hex(attn_vec('[1, -2]'))", "0000803F000000C0");
  CHECK_TEXT(db, "SELECT attn_json(attn_sum(v)) FROM (SELECT '[1,2]' v "
                 "UNION ALL SELECT '[3,4]')", "[4,6]");
  /* The static library was compiled with -DSQLITE_CORE. */
  CHECK(strstr(sqlText(db, "SELECT attn_debug()"), "-DSQLITE_CORE")!=0);

  /* Vector results carry subtype 223, through every function and
  ** aggregate that returns one; JSON text carries 74 ('J'); numbers none. */
  CHECK_SUBTYPE(db, "attn_vec('[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_add('[1,2]', '[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_sub('[1,2]', '[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_scale('[1,2]', 2)", 223);
  CHECK_SUBTYPE(db, "attn_normalize('[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_slice('[1,2]', 1, 1)", 223);
  CHECK_SUBTYPE(db, "attn_concat('[1]', '[2]')", 223);
  CHECK_SUBTYPE(db, "attn_softmax('[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_softmax('[1,2]', 2)", 223);
  CHECK_SUBTYPE(db, "attn_random(4, 1)", 223);
  CHECK_SUBTYPE(db, "attn_random(4, 1, 0)", 223);
  CHECK_SUBTYPE(db, "attn_project('[1,2]', '[1,2,3,4]')", 223);
  CHECK_SUBTYPE(db, "attn_project('[1,2]', '[1,2,3,4]', '[1,1]')", 223);
  CHECK_SUBTYPE(db, "attn_transpose('[1,2,3,4]', 2)", 223);
  CHECK_SUBTYPE(db, "attn_cols('[1,2,3,4]', 2, 1, 1)", 223);
  CHECK_SUBTYPE(db, "attn_mul('[1,2]', '[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_layernorm('[1,2]', '[1,1]', '[0,0]')", 223);
  CHECK_SUBTYPE(db, "attn_rmsnorm('[1,2]', '[1,1]')", 223);
  CHECK_SUBTYPE(db, "attn_gelu('[1,2]', 'tanh')", 223);
  CHECK_SUBTYPE(db, "attn_silu('[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_relu('[1,2]')", 223);
  CHECK_SUBTYPE(db, "attn_json('[1,2]')", 74);
  CHECK_SUBTYPE(db, "attn_dot('[1,2]', '[1,2]')", 0);
  CHECK_SUBTYPE(db, "attn_dim('[1,2]')", 0);
  CHECK(sqlInt(db, "SELECT subtype_of(attn_sum(v)) FROM "
                   "(SELECT '[1,2]' v UNION ALL SELECT '[3,4]')")==223);
  CHECK(sqlInt(db, "SELECT subtype_of(attn_avg(v)) FROM "
                   "(SELECT '[1,2]' v UNION ALL SELECT '[3,4]')")==223);
  CHECK(sqlInt(db, "SELECT subtype_of(attn_wsum(2, v)) FROM "
                   "(SELECT '[1,2]' v UNION ALL SELECT '[3,4]')")==223);
  CHECK(sqlInt(db, "SELECT subtype_of(attn_stack(v)) FROM "
                   "(SELECT '[1,2]' v UNION ALL SELECT '[3,4]')")==223);
  CHECK(sqlInt(db, "SELECT subtype_of(attn_merge(v, '[0]')) FROM "
                   "(SELECT '[1,2]' v UNION ALL SELECT '[3,4]')")==223);
  CHECK(sqlInt(db, "SELECT subtype_of(attn_merge_lse(v, '[0]')) FROM "
                   "(SELECT '[1,2]' v UNION ALL SELECT '[3,4]')")==223);
  /* A plain BLOB has none (the probe itself is honest). */
  CHECK_SUBTYPE(db, "x'0000803f'", 0);

  /* Our vectors, re-tagged by hand as sqlite-vec would tag them: float32
  ** (223) is accepted, int8 (225) and bit (224) are refused. */
  CHECK_TEXT(db, "SELECT attn_json(with_subtype(x'0000803f', 223))", "[1]");
  CHECK_TEXT(db, "SELECT attn_dim(with_subtype(x'01020304', 225))",
      "ERROR 1: attn_dim(): argument 1 is a sqlite-vec int8 vector, expected "
      "float32 (convert it with vec_f32() or vec_to_json())");
  CHECK_TEXT(db, "SELECT attn_dot('[1]', with_subtype(x'01020304', 224))",
      "ERROR 1: attn_dot(): argument 2 is a sqlite-vec bit vector, expected "
      "float32 (convert it with vec_f32() or vec_to_json())");
  CHECK_TEXT(db, "SELECT attn_sum(with_subtype(x'01020304', 225))",
      "ERROR 1: attn_sum(): argument 1 is a sqlite-vec int8 vector, expected "
      "float32 (convert it with vec_f32() or vec_to_json())");

  /* SQLITE_LIMIT_LENGTH, lowered: SQLITE_TOOBIG with the documented text. */
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1000);
  CHECK_TEXT(db, "SELECT length(attn_random(250, 1))", "1000");
  CHECK_TEXT(db, "SELECT attn_random(251, 1)",
      "ERROR 18: attn_random(): the result would have 251 elements, more than "
      "the 250 that fit SQLITE_LIMIT_LENGTH (1000 bytes)");
  CHECK_TEXT(db, "SELECT attn_concat(zeroblob(800), zeroblob(800))",
      "ERROR 18: attn_concat(): the result would have 400 elements, more than "
      "the 250 that fit SQLITE_LIMIT_LENGTH (1000 bytes)");
  CHECK_TEXT(db, "SELECT attn_stack(zeroblob(400)) FROM (SELECT 1 UNION ALL "
                 "SELECT 2 UNION ALL SELECT 3)",
      "ERROR 18: attn_stack(): the matrix of 3 rows of 100 dimensions would be "
      "more than SQLITE_LIMIT_LENGTH (1000 bytes)");
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1000000000);
}

/* Every function once, for the leak check below. */
static const char *azOkSql[] = {
  "SELECT attn_version(), attn_debug()",
  "SELECT attn_vec('[1,2]'), attn_json(x'0000803f'), attn_dim('[[1],[2]]')",
  "SELECT attn_dot('[1,2]', x'0000803f0000803f'), attn_norm('[3,4]')",
  "SELECT attn_add('[1]', '[2]'), attn_sub('[1]', '[2]'), attn_scale('[1]', 2)",
  "SELECT attn_normalize('[3,4]'), attn_normalize('[0,0]')",
  "SELECT attn_slice('[1,2,3]', 1, 2), attn_concat('[1]', '[2]', x'00000040')",
  "SELECT attn_softmax('[1,2]'), attn_softmax('[1,2]', 0.5)",
  "SELECT attn_random(5, 1), attn_random(5, 1, 0), attn_random(5, 1, 2)",
  "SELECT attn_project('[1,2]', '[1,2,3,4]'), attn_project('[1,2]', '[1,2,3,4]', '[1,1]')",
  "SELECT attn_transpose('[1,2,3,4,5,6]', 2)",
  "SELECT attn_cols('[1,2,3,4,5,6]', 2, 1, 2), attn_mul('[1]', '[2]')",
  "SELECT attn_layernorm('[1,2]', '[1,1]', '[0,0]'), attn_rmsnorm('[1,2]', '[1,1]', 1e-5)",
  "SELECT attn_gelu('[1]'), attn_gelu('[1]', 'tanh'), attn_silu('[1]'), attn_relu('[1]')",
  "SELECT attn_merge(v, '[0]'), attn_merge_lse(v, '[0]') FROM "
    "(SELECT '[1,2]' v UNION ALL SELECT NULL UNION ALL SELECT '[3,4]')",
  "SELECT attn_sum(v), attn_avg(v), attn_wsum(2, v), attn_stack(v) FROM "
    "(SELECT '[1,2]' v UNION ALL SELECT NULL UNION ALL SELECT '[3,4]')",
  "SELECT attn_sum(v) FROM (SELECT '[1]' v WHERE 0)",
};

/* Statements that fail in every way the vector functions can, mid-group
** for the aggregates, so that the leak check below covers error paths. */
static const char *azErrorSql[] = {
  "SELECT attn_vec(x'000000')",
  "SELECT attn_vec('[1,2')",
  "SELECT attn_vec('[1e39]')",
  "SELECT attn_dot('[1,2]', '[1,2,3]')",
  "SELECT attn_add('[3e38]', '[3e38]')",
  "SELECT attn_scale('[1]', 'x')",
  "SELECT attn_slice('[1,2]', 5, 1)",
  "SELECT attn_concat('[1]', '[2]', 'x')",
  "SELECT attn_softmax('[1]', 0)",
  "SELECT attn_random(0, 1)",
  "SELECT attn_project('[1,2]', '[1,2,3]')",
  "SELECT attn_project('[1,2]', '[1,2,3,4]', '[1]')",
  "SELECT attn_project('[1,2]', '[1,2,3,4]', x'00')",
  "SELECT attn_transpose('[1,2,3]', 2)",
  "SELECT attn_cols('[1,2,3,4]', 2, 1, 2)",
  "SELECT attn_layernorm('[1,2]', '[1,1]', '[0]')",
  "SELECT attn_rmsnorm('[1,2]', '[1,1]', 0)",
  "SELECT attn_gelu('[1]', 'x')",
  "SELECT attn_merge(v, '[0]') FROM (SELECT '[1,2]' v UNION ALL SELECT '[1]')",
  "SELECT attn_merge_lse(v, l) FROM (SELECT '[1,2]' v, '[0]' l UNION ALL SELECT '[1,2]', 'x')",
  "SELECT attn_sum(v) FROM (SELECT '[1,2]' v UNION ALL SELECT '[1]')",
  "SELECT attn_avg(v) FROM (SELECT '[1,2]' v UNION ALL SELECT 'x')",
  "SELECT attn_wsum(w, v) FROM (SELECT 1 w, '[1,2]' v UNION ALL SELECT 'x', '[1,2]')",
  "SELECT attn_stack(v) FROM (SELECT '[1,2]' v UNION ALL SELECT '[1]')",
  "SELECT attn_sum(v) FROM (SELECT '[3e38]' v UNION ALL SELECT '[3e38]')",
};

int main(void){
  sqlite3 *db = 0, *db2 = 0;
  sqlite3_int64 nBase;
  char *zErr = 0;
  int rc, i;

  /* Baseline before anything is allocated.  The auto extension list is
  ** allocated too, and freed by sqlite3_reset_auto_extension() below. */
  sqlite3_initialize();
  nBase = sqlite3_memory_used();
  rc = sqlite3_auto_extension((void(*)(void))sqlite3_attention_init);
  CHECK(rc==SQLITE_OK);

  rc = sqlite3_open(":memory:", &db);
  CHECK(rc==SQLITE_OK);
  registerProbes(db);
  testFunctions(db);
  for(i=0; i<(int)(sizeof(azOkSql)/sizeof(azOkSql[0])); i++){
    CHECK(strncmp(sqlText(db, azOkSql[i]), "ERROR", 5)!=0);
  }
  for(i=0; i<(int)(sizeof(azErrorSql)/sizeof(azErrorSql[0])); i++){
    CHECK(strncmp(sqlText(db, azErrorSql[i]), "ERROR 1: ", 9)==0);
  }
  /* Large vectors. */
  CHECK_TEXT(db, "SELECT attn_dim(attn_stack(v)) FROM (SELECT attn_random(4096, k) v "
                 "FROM (SELECT 1 k UNION ALL SELECT 2 UNION ALL SELECT 3))", "12288");
  CHECK_TEXT(db, "SELECT length(attn_json(attn_random(100000, 9))) > 100000", "1");

  /* With SQLITE_CORE the entry point ignores its pApi argument: calling it
  ** directly (NULL API table) registers the functions on another db. */
  sqlite3_reset_auto_extension();
  rc = sqlite3_open(":memory:", &db2);
  CHECK(rc==SQLITE_OK);
  CHECK(strncmp(sqlText(db2, "SELECT attn_version()"), "ERROR 1: no such function",
                25)==0);
  rc = sqlite3_attention_init(db2, &zErr, 0);
  CHECK(rc==SQLITE_OK && zErr==0);
  CHECK_TEXT(db2, "SELECT attn_json(attn_scale('[1,2]', 10))", "[10,20]");

  sqlite3_close(db);
  sqlite3_close(db2);
  /* Nothing left allocated by any of it. */
  if( sqlite3_memory_used()!=nBase ){
    fprintf(stderr, "FAIL: %lld bytes still allocated after closing\n",
            (long long)(sqlite3_memory_used()-nBase));
  }
  CHECK(sqlite3_memory_used()==nBase);
  return UNIT_DONE();
}
