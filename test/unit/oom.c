/*
** oom.c: the out-of-memory loop, SQLite-style.
**
** The extension is linked in (dist/libattention.a, built with -DSQLITE_CORE)
** and the system libsqlite3 is given a counting, failing allocator with
** sqlite3_config(SQLITE_CONFIG_MALLOC) before sqlite3_initialize().  Every
** allocation of the extension goes through sqlite3_malloc64() (the engine's
** through the src/alloc.h hook that ext/extension.c sets), so this allocator
** sees every byte the extension asks for.
**
** Each scenario is a prep script (run without faults) and a body: SQL
** statements, or the extension's entry point itself.  The body first runs
** without faults; that run gives the expected answer, a text of every row
** of every statement (or the expected error).  Then, for N = 1, 2, 3, ...,
** a fresh connection runs the prep, the allocator is armed to fail the Nth
** allocation of the body, and the body runs: it must give exactly the
** expected answer or stop with SQLITE_NOMEM (never another error, never
** other rows, never a crash), and once the connection is closed
** sqlite3_memory_used() must be 0 (nothing leaked).  One exception, which
** is SQLite's and not the extension's: SQLite copies a statement's error
** message into the connection with an allocation it marks "benign"; when a
** fault hits it, the code stays and the message becomes SQLite's generic
** text.  The driver sees benign sections through SQLite's benign-malloc
** hooks and accepts exactly that, counting it.  The loop ends at the
** first N whose fault never fired: the body ran to completion.  It runs
** twice, once transient (only the Nth allocation fails) and once persistent
** (the Nth and every later one fail), as SQLite's own malloc tests do.
**
** The scenarios must cover the whole SQL surface: the driver lists the
** functions and modules the extension registers (pragma_function_list and
** pragma_module_list of a connection with the extension, minus those of
** one without) and fails if any of them appears in no scenario, so a new
** function cannot go untested here.
**
** Some scenarios also give their expected answer (regressions).  The
** driver also checks that no thread but the one running the statement
** allocates (the engine's workers for threads=N must not).
**
** attn_tensors reads test/fixtures/tensors/ relative to the working
** directory: the repository root, as make test runs it (ATTN_FIXTURES
** overrides).  It prints, per scenario, the injection points exercised
** (N values whose fault fired), transient and persistent, and the total
** (a NOTE line, which test/all.tcl shows).
**
** Under valgrind (ATTN_SANITIZER=valgrind) only a sample of N values runs
** (every 7th, and the first 16), to keep the time reasonable.
*/
#include "unit.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

/*
** The failing allocator.
*/
static sqlite3_mem_methods oomOrig;          /* the real allocator */
static atomic_int oomArmed;                  /* counting and failing on */
static atomic_llong oomCountdown;            /* allocations left before a fault */
static atomic_int oomPersistent;             /* keep failing after the first */
static atomic_int oomFired;                  /* faults injected since armed */
static atomic_llong oomCount;                /* allocations since armed */
static atomic_int oomBenign;                 /* inside a benign-malloc section */
static atomic_int oomFiredBenign;            /* faults injected inside one */

/* SQLite marks some allocations "benign": their failure is not an error
** (copying a statement's error message into the connection is one; when it
** fails the result code stays and the message is lost).  The hooks tell the
** driver when a fault hit one. */
/* The engine's worker threads (threads=N) must not allocate: only the
** thread that runs the statement may.  Allocations from any other thread
** while armed are counted here. */
static pthread_t oomOwner;
static atomic_llong oomForeign;

static void oomBenignBegin(void){ atomic_fetch_add(&oomBenign, 1); }
static void oomBenignEnd(void){ atomic_fetch_sub(&oomBenign, 1); }

/* Should this allocation fail? */
static int oomShouldFail(void){
  if( !atomic_load(&oomArmed) ) return 0;
  if( !pthread_equal(pthread_self(), oomOwner) ) atomic_fetch_add(&oomForeign, 1);
  atomic_fetch_add(&oomCount, 1);
  if( (atomic_load(&oomFired) && atomic_load(&oomPersistent))
   || atomic_fetch_sub(&oomCountdown, 1)==1 ){
    atomic_fetch_add(&oomFired, 1);
    if( atomic_load(&oomBenign) ) atomic_fetch_add(&oomFiredBenign, 1);
    return 1;
  }
  return 0;
}

static void *oomMalloc(int n){
  return oomShouldFail() ? 0 : oomOrig.xMalloc(n);
}
static void oomFree(void *p){ oomOrig.xFree(p); }
static void *oomRealloc(void *p, int n){
  return oomShouldFail() ? 0 : oomOrig.xRealloc(p, n);
}
static int oomSize(void *p){ return oomOrig.xSize(p); }
static int oomRoundup(int n){ return oomOrig.xRoundup(n); }
static int oomInit(void *p){ return oomOrig.xInit(p); }
static void oomShutdown(void *p){ oomOrig.xShutdown(p); }

static void oomInstall(void){
  static sqlite3_mem_methods m = {
    oomMalloc, oomFree, oomRealloc, oomSize, oomRoundup, oomInit,
    oomShutdown, 0
  };
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &oomOrig);
  m.pAppData = oomOrig.pAppData;
  sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
  sqlite3_test_control(SQLITE_TESTCTRL_BENIGN_MALLOC_HOOKS, oomBenignBegin,
                       oomBenignEnd);
}

/* Fail the nth allocation from now on (n>=1); 0 disarms; -1 counts
** allocations without failing any. */
static void oomArm(long long n, int bPersistent){
  atomic_store(&oomArmed, 0);
  atomic_store(&oomCountdown, n);
  atomic_store(&oomPersistent, bPersistent);
  atomic_store(&oomFired, 0);
  atomic_store(&oomFiredBenign, 0);
  if( n!=0 ){
    atomic_store(&oomCount, 0);
    atomic_store(&oomArmed, 1);
  }
}

/*
** Results as text (built with libc malloc, outside SQLite's accounting, and
** without asking SQLite to convert anything, which could allocate).
*/
typedef struct Buf Buf;
struct Buf { char *z; size_t n, nAlloc; };

static void bufAppend(Buf *p, const char *z, size_t n){
  if( z==0 ) n = 0;
  if( p->n+n+1>p->nAlloc ){
    size_t nNew = (p->nAlloc+n+1)*2;
    char *zNew = realloc(p->z, nNew);
    if( zNew==0 ){ fprintf(stderr, "oom.c: out of real memory\n"); exit(2); }
    p->z = zNew;
    p->nAlloc = nNew;
  }
  if( n ) memcpy(p->z+p->n, z, n);
  p->n += n;
  p->z[p->n] = 0;
}
static void bufStr(Buf *p, const char *z){ bufAppend(p, z, strlen(z)); }

/* A 64-bit FNV-1a hash, so long blobs print short. */
static unsigned long long fnv(const unsigned char *a, int n){
  unsigned long long h = 1469598103934665603ULL;
  int i;
  for(i=0; i<n; i++){ h ^= a[i]; h *= 1099511628211ULL; }
  return h;
}

static void bufValue(Buf *p, sqlite3_stmt *pStmt, int i){
  char z[64];
  switch( sqlite3_column_type(pStmt, i) ){
    case SQLITE_NULL: bufStr(p, "NULL"); break;
    case SQLITE_INTEGER:
      snprintf(z, sizeof(z), "%lld", sqlite3_column_int64(pStmt, i));
      bufStr(p, z);
      break;
    case SQLITE_FLOAT:
      snprintf(z, sizeof(z), "%.17g", sqlite3_column_double(pStmt, i));
      bufStr(p, z);
      break;
    case SQLITE_TEXT: {
      /* As a blob: sqlite3_column_text() would allocate to add a NUL to a
      ** text result set with an explicit length (and under an armed fault
      ** return NULL, which would read as an empty string). */
      const unsigned char *t = sqlite3_column_blob(pStmt, i);
      int n = sqlite3_column_bytes(pStmt, i);
      if( n>200 ){
        snprintf(z, sizeof(z), "text(%d,%016llx)", n, fnv(t, n));
        bufStr(p, z);
      }else{
        bufAppend(p, (const char*)t, (size_t)n);
      }
      break;
    }
    default: {
      const unsigned char *b = sqlite3_column_blob(pStmt, i);
      int n = sqlite3_column_bytes(pStmt, i);
      snprintf(z, sizeof(z), "blob(%d,%016llx)", n, fnv(b, n));
      bufStr(p, z);
    }
  }
}

/*
** Scenarios.
*/
typedef struct Scenario Scenario;
struct Scenario {
  const char *zName;
  const char *zPrep;       /* run without faults on a fresh connection */
  const char *zBody;       /* run with faults; NULL: the entry point */
  const char *zWant;       /* if not NULL, the answer without faults */
};

/* A table of 24 rows of 8-dim vectors (two sequences) and weights. */
#define PREP_TOKENS \
  "CREATE TABLE tok(id INTEGER PRIMARY KEY, doc INT, pos INT, x BLOB);" \
  "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<24)" \
  " INSERT INTO tok SELECT i, i%2, i/2, attn_random(8, i, 0.5) FROM c;" \
  "CREATE TABLE w(name TEXT PRIMARY KEY, m BLOB);" \
  "INSERT INTO w VALUES('wq', attn_random(64, 101, 0.3))," \
  " ('wk', attn_random(64, 102, 0.3)), ('wv', attn_random(64, 103, 0.3))," \
  " ('wo', attn_random(64, 104, 0.3)), ('b', attn_random(8, 105, 0.1))," \
  " ('wkv', attn_random(32, 106, 0.3));"

static const Scenario aScenario[] = {
  { "entry point", "", 0, 0 },
  { "vectors",
    "",
    "SELECT attn_version(), length(attn_debug())>0;"
    "SELECT attn_vec('[1, 2.5, -3]'), attn_json(attn_vec('[0.1, -0, 3e38]'));"
    "SELECT attn_dim('[[1,2],[3,4]]'), attn_dim(zeroblob(64));"
    "SELECT attn_dot('[1,2,3]', x'0000803f0000803f0000803f');"
    "SELECT attn_add('[1,2]', '[3,4]'), attn_sub('[1,2]', '[3,4]');"
    "SELECT attn_scale('[1,-2,0.5]', 3), attn_norm('[3,4]');"
    "SELECT attn_normalize('[3,4]'), attn_normalize('[0,0]');"
    "SELECT attn_slice('[10,11,12,13]', 1, 2), attn_concat('[1,2]', '[3]', x'00008040');",
    0
  },
  { "vectors 2",
    "",
    "SELECT attn_softmax('[1,2,3]'), attn_softmax('[1,2,3]', 0.5);"
    "SELECT attn_random(16, 7), attn_random(5, 7, 0.02);"
    "SELECT attn_project('[1,2]', '[[1,2,3],[4,5,6]]'),"
    "       attn_project('[1,2]', '[[1,2,3],[4,5,6]]', '[0.5,0.5,0.5]');"
    "SELECT attn_transpose('[[1,2,3],[4,5,6]]', 2);"
    "SELECT attn_json(attn_random(300, 3));"
    "SELECT attn_rope('[1,2,3,4]', 3), attn_rope('[1,2,3,4]', 3, 500),"
    "       attn_rope('[1,2,3,4]', 3, 10000, 'interleaved');"
    "SELECT attn_sinusoid(5, 8), attn_sinusoid(5, 8, 100);",
    0
  },
  { "block functions",
    "",
    "SELECT attn_cols('[[1,2,3],[4,5,6]]', 2, 1, 2), attn_mul('[1,2]', '[3,4]');"
    "SELECT attn_layernorm('[1,2,4]', '[1,1,2]', '[0,1,0]'),"
    "       attn_layernorm('[5,5]', '[1,1]', '[0,1]', 1e-12);"
    "SELECT attn_rmsnorm('[3,4]', '[1,2]'), attn_rmsnorm('[3,4]', '[1,2]', 1e-5);"
    "SELECT attn_gelu('[-1,0,1]'), attn_gelu('[-1,0,1]', 'tanh'),"
    "       attn_silu('[-1,2]'), attn_relu('[-1,2]');",
    0
  },
  { "block errors",
    "",
    "SELECT attn_layernorm('[1,2]', '[1]', '[0,0]');",
    0
  },
  { "attn_merge",
    PREP_TOKENS,
    "WITH s AS (SELECT id, output, lse FROM attention('SELECT id, x, doc AS seq,"
    " pos FROM tok', 'SELECT x, doc AS seq, pos FROM tok WHERE id % 2 = 0')"
    " WHERE heads = 2 AND causal = 1 UNION ALL SELECT id, output, lse FROM"
    " attention('SELECT id, x, doc AS seq, pos FROM tok', 'SELECT x, doc AS seq,"
    " pos FROM tok WHERE id % 2 = 1') WHERE heads = 2 AND causal = 1)"
    " SELECT id, attn_merge(output, lse), attn_merge_lse(output, lse)"
    "  FROM s GROUP BY id ORDER BY id;",
    0
  },
  { "attn_merge error",
    "",
    "WITH t(o, l) AS (VALUES ('[1,2]', '[0]'), ('[1,2,3]', '[0]'))"
    " SELECT attn_merge(o, l) FROM t;",
    0
  },
  { "half vectors",
    PREP_TOKENS
    "UPDATE tok SET x = attn_vec(x, 'f16');",
    "SELECT attn_vec('[1, 2.5, -3]', 'f16'), attn_vec(x'0000803f', 'bf16');"
    "SELECT attn_f32(x'003c00c0', 'f16'), attn_json(x'803f', 'bf16'),"
    "       attn_dim(x'803f', 'bf16'), attn_json(attn_vec('[0.1, 1e-7]', 'f16'), 'f16');"
    "SELECT id, output FROM attention('SELECT id, x, doc AS seq FROM tok')"
    " WHERE dtype = 'f16' AND heads = 2;"
    "SELECT name, data_dtype, data FROM attn_tensors(:dir || 'model.safetensors', 1);",
    0
  },
  { "half errors",
    "",
    "SELECT attn_vec('[1, 70000]', 'f16');",
    0
  },
  { "vector errors",
    "",
    "SELECT attn_vec('[1,,2]');",
    0
  },
  { "vector errors 2",
    "",
    "SELECT attn_dot('[1,2]', '[1,2,3]');",
    0
  },
  { "vector errors 3",
    "",
    "SELECT attn_project('[1,2]', '[1,2,3]');",
    0
  },
  { "aggregates",
    PREP_TOKENS,
    "SELECT doc, attn_sum(x), attn_avg(x), attn_wsum(pos*0.5, x)"
    "  FROM tok GROUP BY doc ORDER BY doc;"
    "SELECT attn_stack(x) FROM (SELECT x FROM tok ORDER BY id);"
    "SELECT attn_sum(x) FROM tok WHERE id>100;",
    0
  },
  { "aggregate error",
    "CREATE TABLE t(v); INSERT INTO t VALUES('[1,2]'),('[1,2,3]');",
    "SELECT attn_sum(v) FROM t;",
    0
  },
  { "attn_pool aggregate",
    PREP_TOKENS,
    "SELECT doc, attn_pool(attn_random(8, 9), x, x),"
    "       attn_pool(attn_random(8, 9), x, x, 0.25)"
    "  FROM tok GROUP BY doc ORDER BY doc;",
    0
  },
  { "attn_pool window",
    PREP_TOKENS,
    "SELECT id, attn_pool(x, x, x) OVER (PARTITION BY doc ORDER BY pos"
    "  ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) FROM tok ORDER BY id;"
    "SELECT id, attn_pool(x, x, x) OVER (ORDER BY id"
    "  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM tok ORDER BY id;",
    0
  },
  { "attn_pool NULL rows",
    "",
    /* Regression (fuzz_sql): NULL rows before the first vector used to
    ** size attn_pool's buffers for 0 dimensions (heap overflow). */
    "WITH t(i, x) AS (VALUES (1, NULL), (2, '[1,2,3]'), (3, '[3,4,5]'))"
    " SELECT attn_json(attn_pool(x, x, x) OVER (ORDER BY i ROWS BETWEEN"
    " 2 PRECEDING AND CURRENT ROW)) FROM t;"
    "WITH t(q, x) AS (VALUES (NULL, NULL), ('[1,0,0]', '[1,2,3]'),"
    " ('[1,0,0]', '[3,4,5]')) SELECT attn_json(attn_pool(q, x, x, 0)) FROM t;",
    "NULL\n[1,2,3]\n[2.999998,3.999998,4.999998]\n;\n[2,3,4]\n;\n"
  },
  { "attention",
    PREP_TOKENS,
    "SELECT id, seq, pos, output, lse FROM attention("
    "  'SELECT id, x, doc AS seq, pos FROM tok')"
    " WHERE heads = 2 AND causal = 1 AND threads = 2"
    "   AND wq = (SELECT m FROM w WHERE name='wq')"
    "   AND wk = (SELECT m FROM w WHERE name='wk')"
    "   AND wv = (SELECT m FROM w WHERE name='wv')"
    "   AND wo = (SELECT m FROM w WHERE name='wo')"
    "   AND bq = (SELECT m FROM w WHERE name='b')"
    "   AND bo = (SELECT m FROM w WHERE name='b');",
    0
  },
  { "attention options",
    PREP_TOKENS,
    "SELECT id, output, lse FROM attention('SELECT x, doc AS seq FROM tok')"
    " WHERE heads = 4 AND kv_heads = 2 AND rope = 10000 AND rope_style = 'interleaved'"
    "   AND alibi = 1 AND window = 3 AND softcap = 30 AND scale = 0.5"
    "   AND wk = (SELECT m FROM w WHERE name='wkv')"
    "   AND wv = (SELECT m FROM w WHERE name='wkv');",
    0
  },
  { "attention params",
    PREP_TOKENS
    "CREATE TABLE layers(name TEXT, wqkv BLOB, bqkv BLOB, wo BLOB, heads INT,"
    " kv_heads INT);"
    "INSERT INTO layers SELECT 'l0', attn_random(128, 107, 0.3),"
    " attn_random(16, 108, 0.1), m, 4, 2 FROM w WHERE name = 'wo';",
    "SELECT id, output, lse FROM attention('SELECT id, x, doc AS seq FROM tok')"
    " WHERE params = 'SELECT * FROM layers WHERE name = ''l0''' AND causal = 1;"
    "SELECT qid, kid, head, weight FROM attention_scores('SELECT id, x FROM tok')"
    " WHERE params = 'SELECT wqkv, heads, kv_heads FROM layers' AND qid = 3;",
    0
  },
  { "attention filters",
    PREP_TOKENS,
    "SELECT id, pos, output FROM attention('SELECT id, x, doc AS seq FROM tok')"
    " WHERE id IN (2, 'a', 7.0, x'01', 5) AND pos >= 1 AND pos < 100;"
    "SELECT qid, kid, weight FROM attention_scores('SELECT id, x FROM tok')"
    " WHERE qid IN (1, 3) AND head = 0 AND qpos > 0;",
    0
  },
  { "attention params error",
    PREP_TOKENS,
    "SELECT output FROM attention('SELECT x FROM tok')"
    " WHERE heads = 2 AND params = 'SELECT 1 AS causal, 2 AS heads';",
    0
  },
  { "attention params error 2",
    PREP_TOKENS,
    "SELECT output FROM attention('SELECT x FROM tok')"
    " WHERE params = 'SELECT 1 AS causal, 2 AS hedas';",
    0
  },
  { "attention cross",
    PREP_TOKENS,
    "SELECT id, output FROM attention("
    "  'SELECT id, x AS q FROM tok WHERE doc=0',"
    "  'SELECT id, x AS k, attn_scale(x, 2) AS v FROM tok WHERE doc=1')"
    " WHERE threads = 3;"
    "SELECT count(*) FROM attention('SELECT x FROM tok WHERE id>100');",
    0
  },
  { "attention nested",
    PREP_TOKENS,
    "SELECT id, output FROM attention("
    "  'SELECT id, output AS x FROM attention(''SELECT id, x FROM tok'')');",
    0
  },
  { "attention error",
    PREP_TOKENS,
    "SELECT output FROM attention('SELECT x FROM tok') WHERE heads = 3;",
    0
  },
  { "attention error 2",
    PREP_TOKENS
    "INSERT INTO tok VALUES(99, 0, 99, '[1,2]');",
    "SELECT output FROM attention('SELECT x, doc AS seq FROM tok');",
    0
  },
  { "attention error 3",
    PREP_TOKENS
    "UPDATE tok SET doc = NULL WHERE id = 5;",
    "SELECT output FROM attention('SELECT x, doc AS seq FROM tok');",
    0
  },
  { "attention error 4",
    PREP_TOKENS,
    "SELECT output FROM attention('SELECT x FROM tok WHERE');",
    0
  },
  { "attention error 5",
    "CREATE TABLE big(x); INSERT INTO big VALUES('[1, 1]'), ('[1, 2]');",
    "SELECT output FROM attention('SELECT x FROM big') WHERE wo = '[[3e38,3e38],[3e38,3e38]]';",
    0
  },
  { "attention error 6",
    PREP_TOKENS,
    "SELECT output FROM attention('SELECT id, output AS x FROM attention("
    "''SELECT x FROM tok'') WHERE heads = 5');",
    0
  },
  { "attention_scores",
    PREP_TOKENS,
    "SELECT qid, kid, seq, qpos, kpos, head, score, weight FROM attention_scores("
    "  'SELECT id, x, doc AS seq, pos FROM tok')"
    " WHERE heads = 2 AND causal = 1 AND qid = 7;"
    "SELECT qid, head, count(*), sum(weight) FROM attention_scores("
    "  'SELECT id, x FROM tok') WHERE heads = 2 AND head = 1 AND qpos < 4"
    " GROUP BY qid, head;",
    0
  },
  { "heatmap",
    PREP_TOKENS,
    "SELECT attn_heatmap(qpos, kpos, weight), attn_heatmap(qpos, kpos, weight, 'q'||qpos),"
    "       attn_heatmap(qpos, kpos, weight, qpos, 'k'||kpos)"
    "  FROM attention_scores('SELECT x, pos FROM tok WHERE doc=1') WHERE causal = 1;"
    "SELECT attn_textmap(qpos, kpos, weight), attn_textmap(qpos, kpos, weight, 'q'),"
    "       attn_textmap(qpos, kpos, weight, 'q', 'k')"
    "  FROM attention_scores('SELECT x FROM tok WHERE doc=0');"
    "SELECT attn_bar(0.5), attn_bar(0.3, 20);",
    0
  },
  { "explorer",
    PREP_TOKENS,
    "SELECT attn_explorer(head, qpos, kpos, weight),"
    "       attn_explorer(head, qpos, kpos, weight, 'q'||qpos, 'k'||kpos, qpos % 2)"
    "  FROM attention_scores('SELECT x, pos FROM tok WHERE doc=1')"
    " WHERE heads = 2 AND causal = 1;"
    "SELECT attn_explorer(0, qpos, kpos, weight, 'q'), attn_explorer(1, qpos, kpos, weight, 'q', 'k')"
    "  FROM attention_scores('SELECT x FROM tok WHERE doc=0');",
    0
  },
  { "explorer error",
    "",
    "SELECT attn_explorer(0, column1, column2, column3)"
    "  FROM (VALUES(1,1,0.5),(1,1,0.5));",
    0
  },
  { "attn_pool error",
    PREP_TOKENS,
    "SELECT attn_pool(x, x, x) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING"
    " AND 1 FOLLOWING) FROM tok;",
    0
  },
  { "heatmap error",
    "",
    "SELECT attn_heatmap(column1, column2, column3)"
    "  FROM (VALUES(1,1,0.5),(1,1,0.5));",
    0
  },
  { "attn_tensors",
    "",
    "SELECT name, dtype, shape, data FROM attn_tensors(:dir || 'model.safetensors');"
    "SELECT name, dtype, shape, data FROM attn_tensors(:dir || 'weights.npz');"
    "SELECT name, dtype, shape, data FROM attn_tensors(:dir || 'fortran3d.npy');"
    "SELECT name, shape, data FROM attn_tensors(:dir || 'bigendian_i2.npy');",
    0
  },
  { "attn_tensors error",
    "",
    "SELECT name FROM attn_tensors(:dir || 'compressed.npz');",
    0
  },
  { "attn_tensors error 2",
    "",
    "SELECT name FROM attn_tensors(:dir || 'no-such-file.npy');",
    0
  },
};
#define N_SCENARIO ((int)(sizeof(aScenario)/sizeof(aScenario[0])))

static const char *zFixDir = "test/fixtures/tensors/";

/* Run the SQL in zSql on db, appending rows (or the error) to pOut.
** Returns the result code of the first failing statement, or SQLITE_OK. */
static int runSql(sqlite3 *db, const char *zSql, Buf *pOut){
  const char *zTail = zSql;
  int rc = SQLITE_OK;
  while( rc==SQLITE_OK && zTail && zTail[0] ){
    sqlite3_stmt *pStmt = 0;
    int i, n;
    rc = sqlite3_prepare_v2(db, zTail, -1, &pStmt, &zTail);
    if( rc ) break;
    if( pStmt==0 ) continue;
    i = sqlite3_bind_parameter_index(pStmt, ":dir");
    if( i>0 ) rc = sqlite3_bind_text(pStmt, i, zFixDir, -1, SQLITE_STATIC);
    n = sqlite3_column_count(pStmt);
    while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
      for(i=0; i<n; i++){
        if( i ) bufStr(pOut, "|");
        bufValue(pOut, pStmt, i);
      }
      bufStr(pOut, "\n");
      rc = SQLITE_OK;
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    sqlite3_finalize(pStmt);
    bufStr(pOut, ";\n");
  }
  if( rc ){
    char z[64];
    /* The code comes from the connection, after the finalize: a fault in
    ** an xColumn may surface only there. */
    rc = sqlite3_errcode(db);
    if( rc==SQLITE_OK ) rc = SQLITE_ERROR;
    snprintf(z, sizeof(z), "error %d: ", rc);
    bufStr(pOut, z);
    bufStr(pOut, sqlite3_errmsg(db));
  }
  return rc;
}

/* Is got the expected answer want (which ends with an error of code rc)
** with the message SQLite gives when it could not copy the real one?  The
** rows before the error must be the same, and the message must be SQLite's
** generic text for rc: alone, or quoted by a statement around the one that
** failed (a nested attention() passes the message of its source SELECT
** up). */
static int lostMessage(const Buf *pWant, const Buf *pGot, int rc){
  char z[64];
  const char *zErr;
  size_t nPrefix;
  snprintf(z, sizeof(z), "error %d: ", rc);
  zErr = strstr(pWant->z, z);
  if( zErr==0 ) return 0;
  nPrefix = (size_t)(zErr - pWant->z) + strlen(z);
  return pGot->n>=nPrefix && memcmp(pGot->z, pWant->z, nPrefix)==0
      && strstr(pGot->z + nPrefix, sqlite3_errstr(rc))!=0;
}

/* Is got (which ends with SQLITE_NOMEM) the expected answer want up to
** the error?  The rows that came out before the fault must be right: the
** text before "error 7: ", less the ";\n" that closed the statement that
** failed, must begin want.  (The entry point scenario's answer is "init
** failed: ..." then, with nothing before it.) */
static int nomemPrefix(const Buf *pWant, const Buf *pGot){
  char z[64];
  const char *zErr;
  size_t n;
  if( strncmp(pGot->z, "init failed", 11)==0 ) return 1;
  snprintf(z, sizeof(z), "error %d: ", SQLITE_NOMEM);
  zErr = strstr(pGot->z, z);
  if( zErr==0 ) return 0;
  n = (size_t)(zErr - pGot->z);
  if( n>=2 && memcmp(zErr-2, ";\n", 2)==0 ) n -= 2;
  return n<=pWant->n && memcmp(pGot->z, pWant->z, n)==0;
}

/* One run of scenario p: fresh connection, prep, body with faults armed as
** given (n==0: none).  Fills pOut with the answer; returns the result code
** and sets *pnFired to the faults injected. */
static int runOnce(const Scenario *p, long long n, int bPersistent, Buf *pOut,
                   int *pnFired, int *pnBenign, long long *pnAlloc){
  sqlite3 *db = 0;
  int rc;
  pOut->n = 0;
  bufStr(pOut, "");
  rc = sqlite3_open(":memory:", &db);
  if( rc ){
    fprintf(stderr, "oom.c: cannot open a database: %d\n", rc);
    exit(2);
  }
  if( p->zBody ){
    rc = sqlite3_attention_init(db, 0, 0);
    if( rc==SQLITE_OK ){
      Buf prep = {0, 0, 0};
      rc = runSql(db, p->zPrep, &prep);
      if( rc ){
        fprintf(stderr, "oom.c: prep of '%s' failed: %s\n", p->zName, prep.z);
        exit(2);
      }
      free(prep.z);
    }
    oomArm(n, bPersistent);
    rc = runSql(db, p->zBody, pOut);
  }else{
    char *zErr = 0;
    oomArm(n, bPersistent);
    rc = sqlite3_attention_init(db, &zErr, 0);
    bufStr(pOut, rc ? "init failed" : "init ok");
    /* Under persistent faults the message itself may not be allocated. */
    if( rc && zErr ){
      bufStr(pOut, ": ");
      bufStr(pOut, zErr);
    }
    sqlite3_free(zErr);
    if( rc==SQLITE_OK ){
      /* The registrations that succeeded must work. */
      rc = runSql(db, "SELECT attn_version();", pOut);
    }
  }
  *pnFired = atomic_load(&oomFired);
  *pnBenign = atomic_load(&oomFiredBenign);
  *pnAlloc = atomic_load(&oomCount);
  oomArm(0, 0);
  sqlite3_close(db);
  return rc;
}

int main(void){
  int bValgrind;
  long long nTotal[2] = {0, 0};
  double t0 = (double)clock();
  int iSc, bPersist;
  const char *zEnv;
  Buf got = {0, 0, 0}, want = {0, 0, 0};

  zEnv = getenv("ATTN_SANITIZER");
  bValgrind = zEnv && strcmp(zEnv, "valgrind")==0;
  zEnv = getenv("ATTN_FIXTURES");
  if( zEnv && zEnv[0] ) zFixDir = zEnv;

  oomOwner = pthread_self();     /* the thread that runs every statement */
  oomInstall();
  if( sqlite3_initialize()!=SQLITE_OK ){
    fprintf(stderr, "oom.c: sqlite3_initialize failed\n");
    return 2;
  }
  CHECK( sqlite3_memory_used()==0 );

  /* Coverage: every function and module of the extension is in a body. */
  {
    sqlite3 *db0 = 0, *db1 = 0;
    sqlite3_stmt *pStmt = 0;
    int nName = 0;
    sqlite3_open(":memory:", &db0);
    sqlite3_open(":memory:", &db1);
    sqlite3_attention_init(db1, 0, 0);
    sqlite3_prepare_v2(db1, "SELECT b.name FROM (SELECT name FROM"
        " pragma_function_list UNION SELECT name FROM pragma_module_list) AS b"
        " ORDER BY 1", -1, &pStmt, 0);
    while( sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *zName = (const char*)sqlite3_column_text(pStmt, 0);
      sqlite3_stmt *pOld = 0;
      int bBuiltin, i, bFound = 0;
      size_t nLen = strlen(zName);
      sqlite3_prepare_v2(db0, "SELECT 1 FROM pragma_function_list WHERE name=?1"
          " UNION SELECT 1 FROM pragma_module_list WHERE name=?1", -1, &pOld, 0);
      sqlite3_bind_text(pOld, 1, zName, -1, SQLITE_TRANSIENT);
      bBuiltin = sqlite3_step(pOld)==SQLITE_ROW;
      sqlite3_finalize(pOld);
      if( bBuiltin ) continue;
      nName++;
      for(i=0; i<N_SCENARIO && !bFound; i++){
        const char *z = aScenario[i].zBody;
        while( z && (z = strstr(z, zName))!=0 ){
          char cBefore = z==aScenario[i].zBody ? ' ' : z[-1];
          char cAfter = z[nLen];
          if( !(cBefore=='_' || (cBefore>='a' && cBefore<='z'))
           && !(cAfter=='_' || (cAfter>='a' && cAfter<='z')) ){
            bFound = 1;
            break;
          }
          z += nLen;
        }
      }
      if( !bFound ){
        fprintf(stderr, "FAIL: %s, registered by the extension, is in no "
                "scenario of oom.c\n", zName);
      }
      CHECK( bFound );
    }
    sqlite3_finalize(pStmt);
    sqlite3_close(db0);
    sqlite3_close(db1);
    printf("coverage: %d functions and modules of the extension, each in a "
           "scenario\n", nName);
    CHECK( nName>=25 );
  }
  CHECK( sqlite3_memory_used()==0 );

  for(iSc=0; iSc<N_SCENARIO; iSc++){
    const Scenario *p = &aScenario[iSc];
    long long aPoints[2] = {0, 0}, aLost[2] = {0, 0}, nAlloc = 0;
    int rcWant, nFired, nBenign;
    rcWant = runOnce(p, -1, 0, &want, &nFired, &nBenign, &nAlloc);
    if( p->zWant && strcmp(want.z, p->zWant)!=0 ){
      fprintf(stderr, "FAIL %s: the answer without faults is\n%s\nexpected\n%s\n",
              p->zName, want.z, p->zWant);
      UNIT_FAIL();
    }
    if( rcWant!=SQLITE_OK && strstr(p->zName, "error")==0 ){
      fprintf(stderr, "FAIL %s: without faults: %s\n", p->zName, want.z);
      UNIT_FAIL();
      continue;
    }
    /* An "error" scenario must fail without faults, and in the extension
    ** (its message names one of our functions: "name(): ..."), not in
    ** SQLite's parser or for want of memory. */
    if( strstr(p->zName, "error")!=0
     && (rcWant==SQLITE_OK || rcWant==SQLITE_NOMEM
         || strstr(want.z, "(): ")==0) ){
      fprintf(stderr, "FAIL %s: expected an error of the extension without "
              "faults, got rc=%d: %s\n", p->zName, rcWant, want.z);
      UNIT_FAIL();
      continue;
    }
    CHECK( sqlite3_memory_used()==0 );
    for(bPersist=0; bPersist<2; bPersist++){
      long long n;
      for(n=1; ; n++){
        int rc;
        long long nA;
        if( bValgrind && n>16 && n%7!=0 ){
          if( n>nAlloc+1 ) break;
          continue;
        }
        rc = runOnce(p, n, bPersist, &got, &nFired, &nBenign, &nA);
        if( nFired==0 ){
          /* The body completed before the Nth allocation: the answer must
          ** be the expected one. */
          if( strcmp(got.z, want.z)!=0 ){
            fprintf(stderr, "FAIL %s: run without a fault differs:\n%s\n"
                    "expected:\n%s\n", p->zName, got.z, want.z);
            UNIT_FAIL();
          }
          break;
        }
        aPoints[bPersist]++;
        if( rc!=SQLITE_NOMEM && nBenign>0 && rc==rcWant
         && lostMessage(&want, &got, rc) ){
          /* A benign allocation failed: SQLite kept the error code and
          ** dropped the message (sqlite3VdbeTransferError).  Not ours. */
          aLost[bPersist]++;
          UNIT_PASS();
        }else if( !(rc==SQLITE_NOMEM ? nomemPrefix(&want, &got)
                    : (rc==rcWant && strcmp(got.z, want.z)==0)) ){
          UNIT_FAIL();
          fprintf(stderr, "FAIL %s (%s, fault at allocation %lld): rc=%d\n"
                  "got:\n%s\nexpected (or out of memory):\n%s\n", p->zName,
                  bPersist ? "persistent" : "transient", n, rc, got.z, want.z);
        }else{
          UNIT_PASS();
        }
        if( sqlite3_memory_used()!=0 ){
          UNIT_FAIL();
          fprintf(stderr, "FAIL %s (%s, fault at allocation %lld): %lld bytes "
                  "leaked\n", p->zName, bPersist ? "persistent" : "transient",
                  n, (long long)sqlite3_memory_used());
          /* One report per scenario is enough. */
          break;
        }
      }
    }
    printf("%-22s %5lld allocations, %5lld transient + %5lld persistent "
           "injection points", p->zName, nAlloc, aPoints[0], aPoints[1]);
    if( aLost[0]+aLost[1] ){
      printf(" (%lld + %lld of them: SQLite lost the error message in a "
             "benign allocation)", aLost[0], aLost[1]);
    }
    printf("\n");
    nTotal[0] += aPoints[0];
    nTotal[1] += aPoints[1];
  }
  printf("NOTE allocations by other threads (the engine's workers): %lld\n",
         (long long)atomic_load(&oomForeign));
  CHECK( atomic_load(&oomForeign)==0 );
  printf("NOTE injection points: %lld transient + %lld persistent = %lld, in %d "
         "scenarios (%.1f s CPU)%s\n", nTotal[0], nTotal[1],
         nTotal[0]+nTotal[1], N_SCENARIO, ((double)clock()-t0)/CLOCKS_PER_SEC,
         bValgrind ? " [valgrind: a sample of N]" : "");
  free(got.z);
  free(want.z);
  return UNIT_DONE();
}
