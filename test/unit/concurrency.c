/*
** concurrency.c: attention() on several connections in several threads
** gives the same bits as alone, and threads=N inside one query gives the
** same bits for every N.
**
** The extension is linked in (dist/libattention.a) and registered with
** sqlite3_auto_extension(), so each connection a thread opens loads it.
** Every connection builds the same data (attn_random() is deterministic):
** 600 rows of 48-dimensional vectors in 3 sequences, and weights for 4
** heads.  The queries:
**
**   A  attention() with W_Q, W_K, W_V, W_O, heads 4, causal, RoPE, ALiBi
**   B  attention_scores() of the same, all rows
**   C  attn_pool() as a window function, and attn_sum()
**
** Each answer is a 64-bit hash of every column of every row (blob bits
** included).  First each runs alone on the main thread: the reference.
** Then:
**
**   1. threads = 1, 2, 3, 4 and 8 inside one query: the same hash as the
**      reference (work is split by query blocks, never by keys);
**   2. two threads, each with its own connection, run A, B and C at the
**      same time, several times, one of them with threads = 3: every
**      answer equals the reference;
**   3. four threads open their connections at the same moment (the
**      extension's entry point runs concurrently) and run A, B and C.
**
** make tsan runs this program under ThreadSanitizer (built with
** -fsanitize=thread), which must report nothing; make test runs it plainly
** and under ASan.
*/
#include "unit.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

#define PREP \
  "CREATE TABLE tok(id INTEGER PRIMARY KEY, doc INT, pos INT, x BLOB);" \
  "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<600)" \
  " INSERT INTO tok SELECT i, i%3, i/3, attn_random(48, i, 0.5) FROM c;" \
  "CREATE TABLE w(name TEXT PRIMARY KEY, m BLOB);" \
  "INSERT INTO w VALUES('wq', attn_random(48*48, 1, 0.2))," \
  " ('wk', attn_random(48*48, 2, 0.2)), ('wv', attn_random(48*48, 3, 0.2))," \
  " ('wo', attn_random(48*48, 4, 0.2));"

#define WEIGHTS \
  " AND wq = (SELECT m FROM w WHERE name='wq')" \
  " AND wk = (SELECT m FROM w WHERE name='wk')" \
  " AND wv = (SELECT m FROM w WHERE name='wv')" \
  " AND wo = (SELECT m FROM w WHERE name='wo')"

/* %s: extra hidden arguments, e.g. " AND threads = 3". */
static const char *const azQuery[] = {
  "SELECT id, seq, pos, output, lse FROM attention("
  "'SELECT id, x, doc AS seq, pos FROM tok') WHERE heads = 4 AND causal = 1"
  " AND rope = 10000 AND alibi = 1" WEIGHTS "%s",

  "SELECT qid, kid, head, score, weight FROM attention_scores("
  "'SELECT id, x, doc AS seq, pos FROM tok') WHERE heads = 4 AND causal = 1"
  " AND rope = 10000 AND alibi = 1" WEIGHTS "%s",

  "SELECT id, attn_pool(x, x, x) OVER (PARTITION BY doc ORDER BY pos"
  " ROWS BETWEEN 31 PRECEDING AND CURRENT ROW) FROM tok"
  " UNION ALL SELECT doc, attn_sum(x) FROM tok GROUP BY doc /*%s*/",
};
#define N_QUERY 3

static unsigned long long hashBytes(unsigned long long h, const void *p, int n){
  const unsigned char *a = (const unsigned char*)p;
  int i;
  for(i=0; i<n; i++){ h ^= a[i]; h *= 1099511628211ULL; }
  return h;
}

/* Run query iQuery with the extra arguments zExtra on db; return the hash
** of its rows, or 0 on error (after printing it). */
static unsigned long long runQuery(sqlite3 *db, int iQuery, const char *zExtra){
  unsigned long long h = 1469598103934665603ULL;
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf(azQuery[iQuery], zExtra);
  int rc, i, nRow = 0;
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  while( rc==SQLITE_OK && (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    for(i=0; i<sqlite3_column_count(pStmt); i++){
      int t = sqlite3_column_type(pStmt, i);
      h = hashBytes(h, &t, sizeof(t));
      if( t==SQLITE_INTEGER ){
        sqlite3_int64 v = sqlite3_column_int64(pStmt, i);
        h = hashBytes(h, &v, sizeof(v));
      }else if( t==SQLITE_FLOAT ){
        double r = sqlite3_column_double(pStmt, i);
        h = hashBytes(h, &r, sizeof(r));
      }else if( t!=SQLITE_NULL ){
        const void *p = sqlite3_column_blob(pStmt, i);
        h = hashBytes(h, p, sqlite3_column_bytes(pStmt, i));
      }
    }
    nRow++;
    rc = SQLITE_OK;
  }
  if( rc!=SQLITE_DONE ){
    fprintf(stderr, "query %d%s failed: %s\n", iQuery, zExtra, sqlite3_errmsg(db));
    h = 0;
  }else if( nRow==0 ){
    h = 0;
  }
  sqlite3_finalize(pStmt);
  return h;
}

static sqlite3 *openDb(void){
  sqlite3 *db = 0;
  if( sqlite3_open(":memory:", &db)!=SQLITE_OK
   || sqlite3_exec(db, PREP, 0, 0, 0)!=SQLITE_OK ){
    fprintf(stderr, "cannot set up a connection: %s\n", sqlite3_errmsg(db));
    exit(2);
  }
  return db;
}

static unsigned long long aRef[N_QUERY];

typedef struct Worker Worker;
struct Worker {
  const char *zExtra;      /* hidden arguments added to A and B */
  int nRound;              /* times to run A, B, C */
  pthread_barrier_t *pBarrier;
  int nBad;                /* answers that differ from the reference */
  int nRun;
};

static void *workerMain(void *pArg){
  Worker *p = (Worker*)pArg;
  sqlite3 *db;
  int r, q;
  /* Open together (the entry point runs concurrently), then start the
  ** queries together (so they overlap for certain). */
  if( p->pBarrier ) pthread_barrier_wait(p->pBarrier);
  db = openDb();
  if( p->pBarrier ) pthread_barrier_wait(p->pBarrier);
  for(r=0; r<p->nRound; r++){
    for(q=0; q<N_QUERY; q++){
      unsigned long long h = runQuery(db, (q + r) % N_QUERY, p->zExtra);
      if( h!=aRef[(q + r) % N_QUERY] ) p->nBad++;
      p->nRun++;
    }
  }
  sqlite3_close(db);
  return 0;
}

/* Run nWorker workers at once; check every answer. */
static void runWorkers(const char *zName, int nWorker, const char *const *azExtra,
                       int nRound, int bBarrier){
  pthread_t aThread[8];
  Worker aW[8];
  pthread_barrier_t barrier;
  int i, nBad = 0, nRun = 0;
  if( bBarrier ) pthread_barrier_init(&barrier, 0, (unsigned)nWorker);
  for(i=0; i<nWorker; i++){
    memset(&aW[i], 0, sizeof(aW[i]));
    aW[i].zExtra = azExtra[i];
    aW[i].nRound = nRound;
    aW[i].pBarrier = bBarrier ? &barrier : 0;
    if( pthread_create(&aThread[i], 0, workerMain, &aW[i])!=0 ){
      /* The others would wait at the barrier for ever. */
      fprintf(stderr, "concurrency.c: cannot start a thread\n");
      exit(2);
    }
  }
  for(i=0; i<nWorker; i++){
    pthread_join(aThread[i], 0);
    nBad += aW[i].nBad;
    nRun += aW[i].nRun;
  }
  if( bBarrier ) pthread_barrier_destroy(&barrier);
  printf("NOTE %s: %d queries in %d threads, %d differ from the solo run\n",
         zName, nRun, nWorker, nBad);
  CHECK( nBad==0 );
  CHECK( nRun==nWorker*nRound*N_QUERY );
}

int main(void){
  sqlite3 *db;
  int q, i;
  const char *zSan = getenv("ATTN_SANITIZER");
  int bSlow = zSan && (strcmp(zSan, "valgrind")==0 || strcmp(zSan, "tsan")==0);
  static const char *const azThreads[] = { "", " AND threads = 1",
    " AND threads = 2", " AND threads = 3", " AND threads = 4",
    " AND threads = 8" };

  CHECK( sqlite3_threadsafe()!=0 );
  sqlite3_auto_extension((void(*)(void))sqlite3_attention_init);

  /* The reference: each query alone, on this thread. */
  db = openDb();
  for(q=0; q<N_QUERY; q++){
    aRef[q] = runQuery(db, q, "");
    CHECK( aRef[q]!=0 );
  }

  /* 1. threads = N inside one query. */
  for(q=0; q<2; q++){
    int nSame = 0;
    for(i=0; i<(int)(sizeof(azThreads)/sizeof(azThreads[0])); i++){
      unsigned long long h = runQuery(db, q, azThreads[i]);
      if( h==aRef[q] ){
        nSame++;
      }else{
        fprintf(stderr, "FAIL query %d with%s differs from the reference\n",
                q, azThreads[i]);
      }
      CHECK( h==aRef[q] );
    }
    printf("query %c: threads = default, 1, 2, 3, 4, 8: %d of 6 identical\n",
           'A'+q, nSame);
  }
  sqlite3_close(db);

  /* 2. Two connections in two threads at the same time. */
  {
    static const char *const azPlain[] = { "", "" };
    static const char *const azMixed[] = { "", " AND threads = 3" };
    runWorkers("two connections", 2, azPlain, bSlow ? 1 : 3, 1);
    runWorkers("two connections, one with threads = 3", 2, azMixed,
               bSlow ? 1 : 3, 1);
  }

  /* 3. Four threads open their connections at once and run everything. */
  {
    static const char *const azFour[] = { "", " AND threads = 2", "",
                                          " AND threads = 3" };
    runWorkers("four connections opened at once", 4, azFour, 1, 1);
  }

  sqlite3_reset_auto_extension();
  CHECK( sqlite3_memory_used()==0 );
  return UNIT_DONE();
}
