/*
** interrupt.c: sqlite3_interrupt() stops a long attention() promptly, and
** the connection stays usable.
**
** The extension is linked in (dist/libattention.a) and registered with
** sqlite3_auto_extension().  A table of 32,768 rows of 256-dimensional
** vectors is attended over with
**
**   SELECT count(*) FROM attention('SELECT x FROM t') [WHERE wq = ... ]
**
** and a second thread calls sqlite3_interrupt().  What is measured is the
** time from that call until sqlite3_step() returns: it must return
** SQLITE_INTERRUPT within 250 ms, and the next query on the connection must
** work.  Four variants:
**
**   A  no projections, interrupted 300 ms after the start (wherever that
**      falls: reading rows, preparing, or the first output blocks);
**   B  W_Q, W_K, W_V of 256×256, interrupted after 300 ms;
**   C  the same, interrupted while xFilter projects the rows: the second
**      thread waits until the engine polls for the first time (a progress
**      handler sees its poll statement running), then 20 ms more.  The
**      error must be the engine's own, "attention(): interrupted", which
**      proves the engine's poll caught it;
**   D  no projections, interrupted 50 ms after the first output row
**      (rowmark() counts rows): the interrupt arrives while output blocks
**      are computed in xNext, and SQLite's own check between rows must
**      catch it ("interrupted").
**
** It runs once, at the best kernel level (it checks time, not numbers).
** Two clocks are read: the wall time from the interrupt to the return, and
** the CPU time the stepping thread spent in between (the work done before
** the interrupt was noticed, whatever else the machine is doing).  The
** bound is checked on the wall time, or on the CPU time when the machine is
** visibly busy (wall > 1.5 × CPU + 20 ms; then the wall check is a SKIP with
** both numbers printed).
**
** What the bound can honestly claim: the engine checks for an interrupt
** between chunks of projected rows (1,024 at a time) and, through SQLite,
** between output rows; but the output row that starts a new chunk of
** output blocks (blocks of 64 query rows, each against every key) waits
** for the whole chunk, computed without a check.  With the scalar kernel
** one block over 32,768 keys × 256 dimensions takes about half a second of
** CPU, so when the scalar kernel misses 250 ms the check is reported as
** SKIP with the measured numbers, and a weaker bound is asserted instead:
** it stopped within about one chunk (timed here), not at the end of the
** whole computation.  Under sanitizers the timing bounds are skipped
** (instrumented code is many times slower) but every other check runs;
** under valgrind the program is skipped.
*/
#include "unit.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

#define N_ROWS   32768
#define N_DIM    256
#define BOUND_MS 250.0


static double nowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec*1e3 + (double)ts.tv_nsec/1e6;
}

/* CPU time of the calling thread, or of thread th, in ms. */
static double cpuMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec*1e3 + (double)ts.tv_nsec/1e6;
}
static double cpuMsOf(pthread_t th){
  struct timespec ts;
  clockid_t cid;
  if( pthread_getcpuclockid(th, &cid) || clock_gettime(cid, &ts) ) return -1.0;
  return (double)ts.tv_sec*1e3 + (double)ts.tv_nsec/1e6;
}

static void sleepMs(double ms){
  struct timespec ts;
  ts.tv_sec = (time_t)(ms/1000.0);
  ts.tv_nsec = (long)((ms - (double)ts.tv_sec*1000.0)*1e6);
  nanosleep(&ts, 0);
}

static void skip(const char *zName, const char *zReason){
  UNIT_SKIP(zName, zReason);
}

/* Run SQL that returns one integer. */
static long long queryInt(sqlite3 *db, const char *zSql, int *pRc){
  sqlite3_stmt *pStmt = 0;
  long long v = -1;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc==SQLITE_OK ){
    rc = sqlite3_step(pStmt);
    if( rc==SQLITE_ROW ){ v = sqlite3_column_int64(pStmt, 0); rc = SQLITE_OK; }
  }
  if( rc!=SQLITE_OK ) fprintf(stderr, "%s: %s\n", zSql, sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
  if( pRc ) *pRc = rc;
  return v;
}

/*
** The interrupting thread.  It calls sqlite3_interrupt() msDelay after the
** statement starts (WAIT_TIME), or msDelay after a phase of the statement
** begins, as seen by a progress handler (which SQLite calls from every
** running statement of the connection, nested ones included):
**
**   WAIT_PROJECT  the engine's first poll: it steps the statement
**                 "SELECT 1" (ext/attention_tvf.c, tvfPoll) between chunks
**                 of projected rows in xFilter;
**   WAIT_ROWS     the first output row: the statement under test calls
**                 rowmark() (defined here) on every row it reads, so once
**                 it has been called xFilter has returned and rows are being
**                 produced, one xNext at a time.
*/
#define WAIT_TIME    0
#define WAIT_PROJECT 1
#define WAIT_ROWS    2

static atomic_int gRowsSeen;     /* rows seen by rowmark() */

typedef struct Interrupter Interrupter;
struct Interrupter {
  sqlite3 *db;
  sqlite3_stmt *pOuter;      /* the statement under test */
  double msDelay;
  int eWait;                 /* WAIT_* */
  atomic_int bPolled;        /* WAIT_PROJECT phase reached */
  atomic_int bDone;          /* the statement has returned */
  pthread_t thStep;          /* the thread running the statement */
  double tStart;             /* when the statement was started */
  double tInterrupt;         /* when sqlite3_interrupt() was called */
  double cpuInterrupt;       /* thStep's CPU time then */
};

static void *interrupterMain(void *pArg){
  Interrupter *p = (Interrupter*)pArg;
  if( p->eWait!=WAIT_TIME ){
    atomic_int *pFlag = p->eWait==WAIT_PROJECT ? &p->bPolled : &gRowsSeen;
    while( !atomic_load(pFlag) && !atomic_load(&p->bDone) ) sleepMs(1);
    if( atomic_load(&p->bDone) ) return 0;
    sleepMs(p->msDelay);
  }else{
    double t = p->tStart + p->msDelay - nowMs();
    if( t>0 ) sleepMs(t);
  }
  if( atomic_load(&p->bDone) ) return 0;
  p->cpuInterrupt = cpuMsOf(p->thStep);
  p->tInterrupt = nowMs();
  sqlite3_interrupt(p->db);
  return 0;
}

static int progressPoll(void *pArg){
  Interrupter *p = (Interrupter*)pArg;
  sqlite3_stmt *pStmt;
  for(pStmt=sqlite3_next_stmt(p->db, 0); pStmt;
      pStmt=sqlite3_next_stmt(p->db, pStmt)){
    if( pStmt!=p->pOuter && sqlite3_stmt_busy(pStmt)
     && strcmp(sqlite3_sql(pStmt), "SELECT 1")==0 ){
      atomic_store(&p->bPolled, 1);
    }
  }
  return 0;
}

/* rowmark(X): count a row read by the statement under test; returns 1. */
static void rowmarkFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  atomic_fetch_add(&gRowsSeen, 1);
  sqlite3_result_int(ctx, 1);
}

/* Run zSql with an interrupt; return the latency in ms (or -1 when the
** statement ended before the interrupt), the CPU time the stepping thread
** spent in it (*pCpu), and the result code and message of the step. */
static double runInterrupted(sqlite3 *db, const char *zSql, double msDelay,
                             int eWait, double *pCpu, int *pRc, char *zErr,
                             int nErr){
  Interrupter it;
  pthread_t th;
  sqlite3_stmt *pStmt = 0;
  double tEnd, cpuEnd;
  int rc;
  memset(&it, 0, sizeof(it));
  it.db = db;
  it.msDelay = msDelay;
  it.eWait = eWait;
  atomic_init(&it.bPolled, 0);
  atomic_init(&it.bDone, 0);
  rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if( rc ){
    fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
    *pRc = rc;
    return -1.0;
  }
  it.pOuter = pStmt;
  it.thStep = pthread_self();
  atomic_store(&gRowsSeen, 0);
  if( eWait==WAIT_PROJECT ) sqlite3_progress_handler(db, 1, progressPoll, &it);
  it.tStart = nowMs();
  pthread_create(&th, 0, interrupterMain, &it);
  rc = sqlite3_step(pStmt);
  tEnd = nowMs();
  cpuEnd = cpuMs();
  atomic_store(&it.bDone, 1);
  pthread_join(th, 0);
  *pCpu = cpuEnd - it.cpuInterrupt;   /* written by the interrupter: after the join */
  sqlite3_progress_handler(db, 0, 0, 0);
  snprintf(zErr, (size_t)nErr, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
  *pRc = rc;
  if( it.tInterrupt==0.0 ) return -1.0;
  return tEnd - it.tInterrupt;
}

/* Run one variant: the statement must stop with SQLITE_INTERRUPT (and
** message zWant, if given) within BOUND_MS of the interrupt, and the
** connection must work afterwards.
**
** Two clocks: the wall time from sqlite3_interrupt() to the return, and the
** CPU time the stepping thread spent in that interval, which is the work
** done before the interrupt was noticed and does not depend on how busy
** the machine is.  The bound applies to the wall time when the machine is
** not contended (wall within 1.5 × CPU + 20 ms), else to the CPU time, with
** the wall-time check reported as SKIP and both numbers printed.  The
** scalar kernel is allowed its chunk (see the header). */
static void variant(sqlite3 *db, const char *zName, const char *zSql,
                    double msDelay, int eWait, const char *zWant,
                    int bTiming, int bScalar, double msChunk){
  char zErr[200], zWhy[400];
  int rc;
  double cpu = 0.0, ms;
  ms = runInterrupted(db, zSql, msDelay, eWait, &cpu, &rc, zErr, sizeof(zErr));
  printf("%s: sqlite3_interrupt() to return %.1f ms (%.1f ms of CPU), "
         "rc=%d (%s)\n", zName, ms, cpu, rc, zErr);
  CHECK( rc==SQLITE_INTERRUPT );
  CHECK( ms>=0.0 );
  if( zWant ) CHECK( strcmp(zErr, zWant)==0 );
  if( !bTiming ){
    skip(zName, "the 250 ms bound is not checked under sanitizers");
  }else if( bScalar && cpu>=BOUND_MS ){
    snprintf(zWhy, sizeof(zWhy), "250 ms bound not met by the scalar "
             "kernel: %.0f ms (%.0f ms of CPU) from the interrupt; one chunk "
             "of output blocks (against %d keys of %d dims) takes %.0f ms of "
             "CPU here and the engine does not poll inside it; checked "
             "instead: it stopped within about one chunk", ms, cpu, N_ROWS,
             N_DIM, msChunk);
    skip(zName, zWhy);
    CHECK( cpu < msChunk*2.0 + 250.0 );
  }else if( ms>=BOUND_MS && ms>cpu*1.5 + 20.0 ){
    snprintf(zWhy, sizeof(zWhy), "wall-time bound not checked: the machine "
             "is busy (%.0f ms of wall time for %.0f ms of CPU); checked "
             "instead: CPU time < 250 ms", ms, cpu);
    skip(zName, zWhy);
    CHECK( cpu < BOUND_MS );
  }else{
    CHECK( ms < BOUND_MS );
  }
  CHECK( queryInt(db, "SELECT count(*) FROM t", &rc)==N_ROWS && rc==SQLITE_OK );
}

int main(void){
  sqlite3 *db = 0;
  char zKernel[32] = "?";
  const char *zSan = getenv("ATTN_SANITIZER");
  int bTiming = zSan==0 || zSan[0]==0;
  int bScalar, rc;
  double msChunk = -1.0;
  const char *zPlain = "attention('SELECT x FROM t')";
  const char *zProj =
    "attention('SELECT x FROM t') WHERE wq=(SELECT m FROM w WHERE name='wq')"
    " AND wk=(SELECT m FROM w WHERE name='wk')"
    " AND wv=(SELECT m FROM w WHERE name='wv')";
  char *zSql;

  if( zSan && strcmp(zSan, "valgrind")==0 ){
    /* 32,768 × 256 under valgrind would take many minutes and measure
    ** nothing: the sanitizer runs cover this code through asan. */
    skip("interrupt", "not run under valgrind (a timing test; asan covers "
         "its memory safety)");
    return UNIT_DONE();
  }

  sqlite3_auto_extension((void(*)(void))sqlite3_attention_init);
  rc = sqlite3_open(":memory:", &db);
  CHECK( rc==SQLITE_OK );
  {
    sqlite3_stmt *pStmt = 0;
    sqlite3_prepare_v2(db, "SELECT attn_debug()", -1, &pStmt, 0);
    if( sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = strstr((const char*)sqlite3_column_text(pStmt, 0),
                             "\nkernel ");
      if( z ) sscanf(z+8, "%31s", zKernel);
    }
    sqlite3_finalize(pStmt);
  }
  bScalar = strcmp(zKernel, "scalar")==0;
  sqlite3_create_function(db, "rowmark", 1, SQLITE_UTF8, 0, rowmarkFunc, 0, 0);
  printf("kernel %s, %d rows of %d dimensions\n", zKernel, N_ROWS, N_DIM);

  /* The data: 32,768 Gaussian vectors, and 256×256 weights scaled by
  ** 1/sqrt(256) so projections keep unit variance. */
  rc = sqlite3_exec(db,
      "CREATE TABLE t(x);"
      "WITH RECURSIVE c(i) AS"
      " (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<32768)"
      " INSERT INTO t SELECT attn_random(256, i) FROM c;"
      "CREATE TABLE w(name, m);"
      "INSERT INTO w VALUES('wq', attn_random(65536, -1, 0.0625)),"
      " ('wk', attn_random(65536, -2, 0.0625)),"
      " ('wv', attn_random(65536, -3, 0.0625));", 0, 0, 0);
  CHECK( rc==SQLITE_OK );
  CHECK( queryInt(db, "SELECT count(*) FROM t WHERE attn_dim(x)=256", 0)
         ==N_ROWS );

  /* How long one chunk of output blocks takes, computed in one go with no
  ** check for an interrupt: step through the output rows and time each
  ** step.  The first chunk is computed in xFilter, before row 1; the rows
  ** after it are ready at once, until the row that starts the next chunk:
  ** its step is the chunk.  (Only used for the timing checks.) */
  if( bTiming ){
    sqlite3_stmt *pStmt = 0;
    int nRow = 0;
    zSql = sqlite3_mprintf("SELECT id FROM %s", zPlain);
    rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
    sqlite3_free(zSql);
    CHECK( rc==SQLITE_OK );
    while( rc==SQLITE_OK ){
      double t0 = nowMs(), c0 = cpuMs(), t;
      if( sqlite3_step(pStmt)!=SQLITE_ROW ) break;
      t = nowMs() - t0;
      if( ++nRow>1 && t>2.0 ){
        msChunk = cpuMs() - c0;
        printf("one chunk: %.0f ms (%.0f ms of CPU; the first %d output rows "
               "were ready after the first)\n", t, msChunk, nRow-1);
        break;
      }
    }
    sqlite3_finalize(pStmt);
    CHECK( msChunk>0.0 );
  }

  /* A: no projections, interrupted after 300 ms. */
  zSql = sqlite3_mprintf("SELECT count(*) FROM %s", zPlain);
  variant(db, "A (no projections, after 300 ms)", zSql, 300.0, WAIT_TIME,
          0, bTiming, bScalar, msChunk);
  sqlite3_free(zSql);

  /* B: projections, interrupted after 300 ms. */
  zSql = sqlite3_mprintf("SELECT count(*) FROM %s", zProj);
  variant(db, "B (W_Q, W_K, W_V, after 300 ms)", zSql, 300.0, WAIT_TIME,
          0, bTiming, bScalar, msChunk);
  sqlite3_free(zSql);

  /* C: interrupted while xFilter projects the rows: the engine's poll must
  ** catch it, so the error is the engine's own. */
  zSql = sqlite3_mprintf("SELECT count(*) FROM %s", zProj);
  variant(db, "C (during the projections in xFilter)", zSql, 20.0,
          WAIT_PROJECT, "attention(): interrupted", bTiming, 0, msChunk);
  sqlite3_free(zSql);

  /* D: interrupted while output rows are produced (xNext): SQLite notices
  ** between rows, so the error is SQLite's own. */
  zSql = sqlite3_mprintf("SELECT count(rowmark(id)) FROM %s", zPlain);
  variant(db, "D (during output rows in xNext)", zSql, 50.0, WAIT_ROWS,
          "interrupted", bTiming, bScalar, msChunk);
  sqlite3_free(zSql);

  /* The connection still runs attention() correctly afterwards. */
  CHECK( queryInt(db, "SELECT count(*) FROM attention("
                      "'SELECT x FROM t LIMIT 50') WHERE output IS NOT NULL",
                  &rc)==50 && rc==SQLITE_OK );

  sqlite3_close(db);
  return UNIT_DONE();
}
