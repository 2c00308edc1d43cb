/*
** bench.c: `make bench`, the speed of sqlite-attention against NumPy and
** PyTorch on the same data, in one run.
**
**   bench REF.PY [--quick] [--only SUBSTRING]
**
** For each configuration (the table at the end of main()):
**   1. inputs: seeded N(0,1) float32 rows (q, k, v for one head; x plus
**      weights ~ N(0, 1/D) and biases ~ N(0, 0.01) for multi-head), written
**      as .npy files to a temporary folder for the Python side;
**   2. ours through the C API: attn_state_new() + attn_forward() + reading
**      every output row (attn_output(), copied out);
**   3. ours through SQL: the same rows in a table of an in-memory database,
**      `SELECT output FROM attention('SELECT q, k, v FROM t') WHERE ...`
**      (or x with wq..bo and heads), every output blob read and copied out;
**      its output must equal the C API's bit for bit, and with 2 threads the
**      1-thread output bit for bit;
**   4. peak memory of ours: a child process (this program, --mem) builds
**      the same inputs, resets its peak RSS (/proc/self/clear_refs), runs
**      once, and reports the growth of VmHWM over VmRSS before the run: the
**      memory the attention needed beyond its inputs (the table, for SQL);
**   5. the references, in ref.py (a coprocess per thread count), on the
**      .npy inputs, compared with our output (largest absolute difference;
**      "WRONG" past the tolerance).
** Timing: one untimed run, then runs until 1 s and 5 runs (at most 30;
** only 2 when a run takes over 1.5 s; none when it took over 3 s, and that
** run is the result); the median is reported (wall clock).  Ours through
** the C API and through SQL run in turn in the same rounds (benchMedians)
** with the baseline of the row's speed-up target, if it has one (both
** again on one thread for a row with threads, both without the mask for a
** causal row), so the SQL overhead and the speed-ups are not skewed by the
** shared host's speed drifting between them.  So does the floor of the
** SQL path: stepping the source SELECT and copying each of its vectors
** into one array, the least any reader of those rows through SQLite must
** spend (SQLite itself copies each blob out of its page in OP_Column).
** GFLOP/s counts 4·N²·d for the attention (dense: causal runs are
** credited the full count, as the issue states them) plus 8·N·D² for the
** projections of the multi-head rows.  Ratios are reference time / our SQL
** time.  The load average is printed before and after: the machine is
** shared, so rerun when it is high.
*/
#define _GNU_SOURCE
#include <sqlite3.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "attention.h"
#include "kernels.h"

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

/* One configuration. */
typedef struct Cfg Cfg;
struct Cfg {
  const char *zName;
  int bMha;            /* x with projections and heads; else q, k, v */
  int n, d, nHead, bCausal, nThread;
  int bQuick;          /* part of --quick */
};

/* What a configuration measured. */
typedef struct Row Row;
struct Row {
  const Cfg *pCfg;
  double msApi, msSql;
  double msApi1, msSql1;  /* the baseline of a speed-up, timed in the same
                          ** rounds: for threads > 1 the same on one thread,
                          ** for a causal row the same without the mask
                          ** (NAN otherwise) */
  double msRead;       /* stepping the source SELECT, copying its vectors */
  double msPair;       /* threads > 1: two independent one-thread C API runs
                       ** at once, on two threads of this process (the best
                       ** the host allows two threads; NAN otherwise) */
  double mibApi, mibSql;
  int bSqlSame;        /* SQL output == C API output, bitwise */
  int bThreadSame;     /* (threads > 1) == 1-thread output, bitwise; -1 n/a */
  double msNp, mibNp, diffNp, maxNp;
  double msTorch, mibTorch, diffTorch;
  int bWrong;
};

/*
** Small utilities.
*/
static double benchNow(void){
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9*(double)t.tv_nsec;
}

static void benchDie(const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  fprintf(stderr, "bench: ");
  vfprintf(stderr, zFmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void *benchMalloc(size_t n){
  void *p = malloc(n ? n : 1);
  if( p==0 ) benchDie("out of memory (%zu bytes)", n);
  return p;
}

/* Seeded N(0,1) floats (xorshift64* + Box-Muller), times rScale. */
static uint64_t benchSeed;
static double benchU(void){
  benchSeed ^= benchSeed >> 12; benchSeed ^= benchSeed << 25;
  benchSeed ^= benchSeed >> 27;
  return ((double)((benchSeed*2685821657736338717ull) >> 11) + 0.5)
         / 9007199254740992.0;
}
static float *benchGauss(int64_t n, double rScale){
  float *a = benchMalloc(sizeof(float)*(size_t)n);
  int64_t i;
  for(i=0; i<n; i+=2){
    double r = sqrt(-2.0*log(benchU())), t = 6.283185307179586*benchU();
    a[i] = (float)(r*cos(t)*rScale);
    if( i+1<n ) a[i+1] = (float)(r*sin(t)*rScale);
  }
  return a;
}

/* A float32 .npy file of shape (n0, n1), or (n1) when n0 is 0. */
static void benchNpy(const char *zDir, const char *zName, const float *a,
                     int64_t n0, int64_t n1){
  char zPath[4096], zHdr[256];
  FILE *f;
  int nHdr;
  snprintf(zPath, sizeof(zPath), "%s/%s.npy", zDir, zName);
  if( n0 ){
    nHdr = snprintf(zHdr, sizeof(zHdr), "{'descr': '<f4', 'fortran_order': "
                    "False, 'shape': (%lld, %lld), }", (long long)n0,
                    (long long)n1);
  }else{
    nHdr = snprintf(zHdr, sizeof(zHdr), "{'descr': '<f4', 'fortran_order': "
                    "False, 'shape': (%lld,), }", (long long)n1);
  }
  while( (10 + nHdr + 1)%64 ) zHdr[nHdr++] = ' ';
  zHdr[nHdr++] = '\n';
  f = fopen(zPath, "wb");
  if( f==0 ) benchDie("cannot write %s: %s", zPath, strerror(errno));
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(nHdr & 0xff, f);
  fputc(nHdr >> 8, f);
  fwrite(zHdr, 1, (size_t)nHdr, f);
  fwrite(a, sizeof(float), (size_t)(n0 ? n0*n1 : n1), f);
  if( fclose(f) ) benchDie("cannot write %s", zPath);
}

/* The inputs of a configuration (deterministic in its fields). */
typedef struct Inputs Inputs;
struct Inputs {
  float *q, *k, *v;                /* single head */
  float *x, *w[4], *b[4];          /* multi-head: wq wk wv wo, bq bk bv bo */
};

static void benchInputs(const Cfg *c, Inputs *p){
  int64_t nd = (int64_t)c->n*c->d;
  int i;
  memset(p, 0, sizeof(*p));
  benchSeed = 0x9E3779B97F4A7C15ull ^ ((uint64_t)c->n<<32) ^ (uint64_t)c->d
            ^ ((uint64_t)c->nHead<<20) ^ ((uint64_t)c->bMha<<28);
  if( c->bMha ){
    p->x = benchGauss(nd, 1.0);
    for(i=0; i<4; i++) p->w[i] = benchGauss((int64_t)c->d*c->d, 1.0/sqrt(c->d));
    for(i=0; i<4; i++) p->b[i] = benchGauss(c->d, 0.1);
  }else{
    p->q = benchGauss(nd, 1.0);
    p->k = benchGauss(nd, 1.0);
    p->v = benchGauss(nd, 1.0);
  }
}

static void benchInputsFree(Inputs *p){
  int i;
  free(p->q); free(p->k); free(p->v); free(p->x);
  for(i=0; i<4; i++){ free(p->w[i]); free(p->b[i]); }
}

/*
** Ours through the C API.  Runs with threads share one set of workers, as
** an application making many calls would (and as the SQL functions do per
** connection), so no run starts and joins threads.  It is made by the first
** such run, which comes after a database was opened: the extension's entry
** point routes the engine's allocations to sqlite3_malloc64(), and what is
** allocated must be freed by the same allocator.
*/
static attn_threads *pBenchThreads = 0;

static void benchApiRun(const Cfg *c, const Inputs *p, int nThread,
                        float *aOut){
  attn_input in;
  attn_options opt;
  attn_state *st;
  attn_err err;
  int64_t i;
  int j;
  memset(&in, 0, sizeof(in));
  memset(&opt, 0, sizeof(opt));
  in.nQuery = in.nKey = c->n;
  in.nXq = in.nXk = in.nXv = c->d;
  if( c->bMha ){
    attn_tensor *aw[4], *ab[4];
    aw[0] = &in.wq; aw[1] = &in.wk; aw[2] = &in.wv; aw[3] = &in.wo;
    ab[0] = &in.bq; ab[1] = &in.bk; ab[2] = &in.bv; ab[3] = &in.bo;
    in.aXq = in.aXk = in.aXv = p->x;
    for(j=0; j<4; j++){
      aw[j]->a = p->w[j]; aw[j]->n = (int64_t)c->d*c->d;
      ab[j]->a = p->b[j]; ab[j]->n = c->d;
    }
  }else{
    in.aXq = p->q; in.aXk = p->k; in.aXv = p->v;
  }
  opt.nHead = c->nHead;
  opt.bCausal = c->bCausal;
  opt.nThread = nThread;
  if( nThread>1 && pBenchThreads==0 ){
    pBenchThreads = attn_threads_new();
    if( pBenchThreads==0 ) benchDie("out of memory");
  }
  opt.pThreads = pBenchThreads;
  if( attn_state_new(&in, &opt, &st, &err) ) benchDie("attn_state_new: %s", err.zMsg);
  if( attn_forward(st, &err) ) benchDie("attn_forward: %s", err.zMsg);
  for(i=0; i<c->n; i++){
    const float *o, *l;
    if( attn_output(st, i, &o, &l, &err) ) benchDie("attn_output: %s", err.zMsg);
    memcpy(aOut + i*c->d, o, sizeof(float)*(size_t)c->d);
  }
  attn_state_free(st);
}

/*
** Ours through SQL.
*/
static sqlite3 *benchDb(const Cfg *c, const Inputs *p){
  sqlite3 *db;
  sqlite3_stmt *pIns;
  char *zErr = 0;
  int64_t i;
  size_t nb = sizeof(float)*(size_t)c->d;
  if( sqlite3_open(":memory:", &db) ) benchDie("sqlite3_open failed");
  if( sqlite3_attention_init(db, &zErr, 0) ) benchDie("init: %s", zErr);
  sqlite3_exec(db, c->bMha ? "CREATE TABLE t(id INTEGER PRIMARY KEY, x BLOB)"
                 : "CREATE TABLE t(id INTEGER PRIMARY KEY, q BLOB, k BLOB, v BLOB)",
               0, 0, 0);
  sqlite3_exec(db, "BEGIN", 0, 0, 0);
  if( sqlite3_prepare_v2(db, c->bMha ? "INSERT INTO t(x) VALUES(?1)"
                         : "INSERT INTO t(q, k, v) VALUES(?1, ?2, ?3)", -1,
                         &pIns, 0) ){
    benchDie("%s", sqlite3_errmsg(db));
  }
  for(i=0; i<c->n; i++){
    if( c->bMha ){
      sqlite3_bind_blob(pIns, 1, p->x + i*c->d, (int)nb, SQLITE_STATIC);
    }else{
      sqlite3_bind_blob(pIns, 1, p->q + i*c->d, (int)nb, SQLITE_STATIC);
      sqlite3_bind_blob(pIns, 2, p->k + i*c->d, (int)nb, SQLITE_STATIC);
      sqlite3_bind_blob(pIns, 3, p->v + i*c->d, (int)nb, SQLITE_STATIC);
    }
    if( sqlite3_step(pIns)!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(db));
    sqlite3_reset(pIns);
  }
  sqlite3_finalize(pIns);
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
  return db;
}

static void benchSqlRun(const Cfg *c, sqlite3 *db, const Inputs *p,
                        int nThread, float *aOut){
  char zSql[1024];
  sqlite3_stmt *pStmt;
  int64_t i = 0;
  int j, rc;
  if( c->bMha ){
    snprintf(zSql, sizeof(zSql), "SELECT output FROM attention('SELECT x FROM "
             "t ORDER BY id') WHERE wq = ?1 AND wk = ?2 AND wv = ?3 AND wo = ?4"
             " AND bq = ?5 AND bk = ?6 AND bv = ?7 AND bo = ?8 AND heads = %d"
             " AND causal = %d AND threads = %d", c->nHead, c->bCausal,
             nThread);
  }else{
    snprintf(zSql, sizeof(zSql), "SELECT output FROM attention('SELECT q, k, "
             "v FROM t ORDER BY id') WHERE causal = %d AND threads = %d",
             c->bCausal, nThread);
  }
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) ){
    benchDie("%s: %s", zSql, sqlite3_errmsg(db));
  }
  if( c->bMha ){
    for(j=0; j<4; j++){
      sqlite3_bind_blob(pStmt, 1+j, p->w[j], (int)(sizeof(float)*(size_t)c->d
                        *(size_t)c->d), SQLITE_STATIC);
      sqlite3_bind_blob(pStmt, 5+j, p->b[j], (int)(sizeof(float)*(size_t)c->d),
                        SQLITE_STATIC);
    }
  }
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const void *pBlob = sqlite3_column_blob(pStmt, 0);
    int nByte = sqlite3_column_bytes(pStmt, 0);
    if( i>=c->n || nByte!=(int)(sizeof(float)*(size_t)c->d) || pBlob==0 ){
      benchDie("unexpected output row %lld (%d bytes)", (long long)i, nByte);
    }
    memcpy(aOut + i*c->d, pBlob, (size_t)nByte);
    i++;
  }
  if( rc!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(db));
  if( i!=c->n ) benchDie("%lld output rows, expected %d", (long long)i, c->n);
  sqlite3_finalize(pStmt);
}

/* The floor of the SQL path: step the source SELECT of benchSqlRun() and
** copy every vector of every row into aOut (n × d floats per column). */
static void benchReadRun(const Cfg *c, sqlite3 *db, float *aOut){
  sqlite3_stmt *pStmt;
  int nCol, j, rc;
  size_t nb = sizeof(float)*(size_t)c->d, iAt = 0;
  if( sqlite3_prepare_v2(db, c->bMha ? "SELECT x FROM t ORDER BY id"
                         : "SELECT q, k, v FROM t ORDER BY id", -1, &pStmt,
                         0) ){
    benchDie("%s", sqlite3_errmsg(db));
  }
  nCol = sqlite3_column_count(pStmt);
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    for(j=0; j<nCol; j++){
      const void *pBlob = sqlite3_column_blob(pStmt, j);
      if( pBlob==0 || (size_t)sqlite3_column_bytes(pStmt, j)!=nb ){
        benchDie("unexpected source row");
      }
      memcpy(aOut + iAt, pBlob, nb);
      iAt += (size_t)c->d;
    }
  }
  if( rc!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
}

/*
** Timing.
*/
typedef void (*BenchFn)(void *pArg);

/* Time nFn functions side by side: one untimed run of each, then rounds
** that run each once in turn, and the median of each.  The number of rounds
** follows the rule of ref.py applied to a round (until 1 s per function and
** at least 5 rounds, at most 30; 2 rounds when a round takes over 1.5 s per
** function; none when it took over 3 s, and the untimed run is the result).
** Interleaving keeps a drift of the machine's speed (a shared host) out of
** the ratios between the functions: the SQL overhead, the thread speed-up. */
static void benchMedians(int nFn, BenchFn *axFn, void **apArg, double *aMs){
  double a[6][30], t0, tRound = 0.0, sum = 0.0, tmp;
  int n = 0, nMin = 5, i, j, f;
  double rBudget = 1.0*nFn;
  for(f=0; f<nFn; f++){
    t0 = benchNow();
    axFn[f](apArg[f]);
    aMs[f] = benchNow()-t0;
    tRound += aMs[f];
  }
  if( tRound>3.0*nFn ){
    for(f=0; f<nFn; f++) aMs[f] *= 1e3;     /* one run is all they get */
    return;
  }
  if( tRound>1.5*nFn ){ nMin = 2; rBudget = 0.0; }
  while( n<30 && (n<nMin || sum<rBudget) ){
    for(f=0; f<nFn; f++){
      t0 = benchNow();
      axFn[f](apArg[f]);
      a[f][n] = benchNow()-t0;
      sum += a[f][n];
    }
    n++;
  }
  for(f=0; f<nFn; f++){
    double *x = a[f];
    for(i=1; i<n; i++){
      for(j=i; j>0 && x[j-1]>x[j]; j--){ tmp = x[j]; x[j] = x[j-1]; x[j-1] = tmp; }
    }
    aMs[f] = 1e3*(n%2 ? x[n/2] : 0.5*(x[n/2-1]+x[n/2]));
  }
}

typedef struct RunArg RunArg;
struct RunArg { const Cfg *c; const Inputs *p; sqlite3 *db; int nThread; float *aOut; };
static void benchApiFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  benchApiRun(r->c, r->p, r->nThread, r->aOut);
}
static void benchSqlFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  benchSqlRun(r->c, r->db, r->p, r->nThread, r->aOut);
}
static void benchReadFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  benchReadRun(r->c, r->db, r->aOut);
}
static void *benchPairMain(void *pArg){
  benchApiFn(pArg);
  return 0;
}
/* Two one-thread C API runs at once, each on its own thread and output
** (r[0] and r[1]). */
static void benchPairFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  pthread_t t;
  if( pthread_create(&t, 0, benchPairMain, &r[1]) ) benchDie("pthread_create");
  benchApiFn(&r[0]);
  pthread_join(t, 0);
}

/*
** Peak memory, in a child process (--mem): growth of VmHWM over VmRSS.
*/
static long benchStatusKib(const char *zKey){
  char zLine[256];
  long n = -1;
  size_t nKey = strlen(zKey);
  FILE *f = fopen("/proc/self/status", "r");
  if( f==0 ) return -1;
  while( fgets(zLine, sizeof(zLine), f) ){
    if( strncmp(zLine, zKey, nKey)==0 && zLine[nKey]==':' ){
      n = atol(zLine + nKey + 1);
      break;
    }
  }
  fclose(f);
  return n;
}

static int benchResetPeak(void){
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if( f==0 ) return 0;
  fputs("5", f);
  return fclose(f)==0;
}

static void benchMemChild(const Cfg *c){
  Inputs in;
  sqlite3 *db;
  float *aOut = benchMalloc(sizeof(float)*(size_t)c->n*(size_t)c->d);
  long r0, r1;
  benchInputs(c, &in);
  memset(aOut, 0, sizeof(float)*(size_t)c->n*(size_t)c->d);
  if( !benchResetPeak() ){ printf("MEM - -\n"); return; }
  r0 = benchStatusKib("VmRSS");
  benchApiRun(c, &in, c->nThread, aOut);
  r1 = benchStatusKib("VmHWM");
  printf("MEM %.1f", (double)(r1-r0)/1024.0);
  db = benchDb(c, &in);
  benchResetPeak();
  r0 = benchStatusKib("VmRSS");
  benchSqlRun(c, db, &in, c->nThread, aOut);
  r1 = benchStatusKib("VmHWM");
  printf(" %.1f\n", (double)(r1-r0)/1024.0);
  sqlite3_close(db);
  benchInputsFree(&in);
  free(aOut);
}

static const char *zSelf;
static void benchMem(int iCfg, Row *pRow){
  char zCmd[4096], zLine[256];
  FILE *f;
  pRow->mibApi = pRow->mibSql = NAN;
  snprintf(zCmd, sizeof(zCmd), "'%s' --mem %d", zSelf, iCfg);
  f = popen(zCmd, "r");
  if( f==0 ) return;
  while( fgets(zLine, sizeof(zLine), f) ){
    double a, b;
    if( sscanf(zLine, "MEM %lf %lf", &a, &b)==2 ){
      pRow->mibApi = a;
      pRow->mibSql = b;
    }
  }
  pclose(f);
}

/*
** The Python coprocesses (ref.py), one per thread count.
*/
typedef struct Ref Ref;
struct Ref {
  int nThread;
  pid_t pid;
  FILE *pIn, *pOut;       /* to its stdin, from its stdout */
  int bDead;
};
static Ref aRef[2];
static const char *zRefPy;
static char zRefInfo[512] = "";     /* the READY line of the first */

static Ref *benchRef(int nThread){
  Ref *r = &aRef[nThread>1];
  int aToChild[2], aFromChild[2];
  char zLine[1024], zT[16];
  if( r->pid || r->bDead ) return r->bDead ? 0 : r;
  r->nThread = nThread;
  if( access("/usr/bin/python3", X_OK) ){
    fprintf(stderr, "bench: /usr/bin/python3 not found: references skipped "
            "(sh test/deps.sh bench)\n");
    r->bDead = 1;
    return 0;
  }
  if( pipe(aToChild) || pipe(aFromChild) ) benchDie("pipe failed");
  r->pid = fork();
  if( r->pid<0 ) benchDie("fork failed");
  if( r->pid==0 ){
    dup2(aToChild[0], 0);
    dup2(aFromChild[1], 1);
    close(aToChild[0]); close(aToChild[1]);
    close(aFromChild[0]); close(aFromChild[1]);
    snprintf(zT, sizeof(zT), "%d", nThread);
    setenv("OPENBLAS_NUM_THREADS", zT, 1);
    setenv("OMP_NUM_THREADS", zT, 1);
    setenv("MKL_NUM_THREADS", zT, 1);
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execl("/usr/bin/python3", "python3", zRefPy, (char*)0);
    _exit(127);
  }
  close(aToChild[0]);
  close(aFromChild[1]);
  r->pIn = fdopen(aToChild[1], "w");
  r->pOut = fdopen(aFromChild[0], "r");
  while( fgets(zLine, sizeof(zLine), r->pOut) ){
    zLine[strcspn(zLine, "\n")] = 0;
    if( strncmp(zLine, "READY", 5)==0 ){
      if( zRefInfo[0]==0 ){
        snprintf(zRefInfo, sizeof(zRefInfo), "%.500s", zLine+6);
      }
      fprintf(stderr, "bench: references (threads %d): %s\n", nThread, zLine+6);
      return r;
    }
    fprintf(stderr, "bench: ref.py: %s\n", zLine);
  }
  fprintf(stderr, "bench: ref.py did not start: references skipped\n");
  r->bDead = 1;
  return 0;
}

static void benchRefRun(const Cfg *c, const char *zDir, Row *pRow){
  Ref *r = benchRef(c->nThread);
  char zLine[4096];
  pRow->msNp = pRow->mibNp = pRow->diffNp = pRow->maxNp = NAN;
  pRow->msTorch = pRow->mibTorch = pRow->diffTorch = NAN;
  if( r==0 ) return;
  fprintf(r->pIn, "run %s %s %d %d %d %d %d\n", zDir, c->bMha ? "mha" : "single",
          c->n, c->d, c->nHead, c->bCausal, c->nThread);
  fflush(r->pIn);
  while( fgets(zLine, sizeof(zLine), r->pOut) ){
    char *z;
    zLine[strcspn(zLine, "\n")] = 0;
    if( strncmp(zLine, "RESULT", 6) ){
      fprintf(stderr, "bench: ref.py: %s\n", zLine);
      continue;
    }
    for(z=strtok(zLine+6, " "); z; z=strtok(0, " ")){
      char *e = strchr(z, '=');
      double v;
      if( e==0 ) continue;
      *e++ = 0;
      v = atof(e);
      if( strcmp(z, "np_ms")==0 ) pRow->msNp = v;
      else if( strcmp(z, "np_mib")==0 ) pRow->mibNp = v;
      else if( strcmp(z, "np_diff")==0 ) pRow->diffNp = v;
      else if( strcmp(z, "np_max")==0 ) pRow->maxNp = v;
      else if( strcmp(z, "torch_ms")==0 ) pRow->msTorch = v;
      else if( strcmp(z, "torch_mib")==0 ) pRow->mibTorch = v;
      else if( strcmp(z, "torch_diff")==0 ) pRow->diffTorch = v;
    }
    return;
  }
  fprintf(stderr, "bench: ref.py (threads %d) died: references skipped\n",
          r->nThread);
  r->bDead = 1;
}

/*
** One configuration.
*/
static const char *zTmpDir;

static void benchConfig(const Cfg *c, int iCfg, Row *pRow){
  Inputs in;
  sqlite3 *db;
  int64_t nOut = (int64_t)c->n*c->d;
  float *aApi = benchMalloc(sizeof(float)*(size_t)nOut);
  float *aSql = benchMalloc(sizeof(float)*(size_t)nOut);
  char zDir[4096];
  memset(pRow, 0, sizeof(*pRow));
  pRow->pCfg = c;
  benchInputs(c, &in);
  snprintf(zDir, sizeof(zDir), "%s/cfg%d", zTmpDir, iCfg);
  if( mkdir(zDir, 0700) && errno!=EEXIST ) benchDie("mkdir %s", zDir);
  if( c->bMha ){
    static const char *azW[] = { "wq", "wk", "wv", "wo" };
    static const char *azB[] = { "bq", "bk", "bv", "bo" };
    int j;
    benchNpy(zDir, "x", in.x, c->n, c->d);
    for(j=0; j<4; j++){
      benchNpy(zDir, azW[j], in.w[j], c->d, c->d);
      benchNpy(zDir, azB[j], in.b[j], 0, c->d);
    }
  }else{
    benchNpy(zDir, "q", in.q, c->n, c->d);
    benchNpy(zDir, "k", in.k, c->n, c->d);
    benchNpy(zDir, "v", in.v, c->n, c->d);
  }

  /* C API, SQL and the SQL floor, timed in the same rounds as the
  ** baseline of the row's speed-up, if any: C API and SQL on one thread
  ** (threads > 1, with two one-thread runs at once) or without the causal
  ** mask. */
  db = benchDb(c, &in);
  {
    RunArg ra[5], aPair[2];
    BenchFn axFn[6] = { benchApiFn, benchSqlFn, benchReadFn, benchApiFn,
                        benchSqlFn, benchPairFn };
    void *apArg[6];
    double aMs[6];
    Cfg base = *c;
    int nFn = c->nThread>1 ? 6 : c->bCausal ? 5 : 3, f;
    float *aOne = nFn>3 ? benchMalloc(sizeof(float)*(size_t)nOut*4) : 0;
    float *aRead = benchMalloc(sizeof(float)*(size_t)c->n*(size_t)c->d*3);
    if( c->nThread>1 ) base.nThread = 1; else base.bCausal = 0;
    for(f=0; f<5; f++){
      ra[f].c = f<3 ? c : &base; ra[f].p = &in;
      ra[f].db = f==0 || f==3 ? 0 : db;
      ra[f].nThread = f<3 ? c->nThread : base.nThread;
      ra[f].aOut = f==0 ? aApi : f==1 ? aSql : f==2 ? aRead
                 : aOne ? aOne + (f-3)*nOut : 0;
      apArg[f] = &ra[f];
    }
    for(f=0; f<2; f++){
      aPair[f] = ra[3];
      aPair[f].aOut = aOne ? aOne + (2+f)*nOut : 0;
    }
    apArg[5] = aPair;
    benchMedians(nFn, axFn, apArg, aMs);
    free(aRead);
    pRow->msApi = aMs[0];
    pRow->msSql = aMs[1];
    pRow->msRead = aMs[2];
    pRow->msApi1 = nFn>3 ? aMs[3] : NAN;
    pRow->msSql1 = nFn>3 ? aMs[4] : NAN;
    pRow->msPair = nFn>5 ? aMs[5] : NAN;
    pRow->bSqlSame = memcmp(aApi, aSql, sizeof(float)*(size_t)nOut)==0;
    pRow->bThreadSame = -1;
    if( c->nThread>1 ){
      pRow->bThreadSame = memcmp(aApi, aOne, sizeof(float)*(size_t)nOut)==0
                       && memcmp(aApi, aOne+nOut, sizeof(float)*(size_t)nOut)==0;
    }
    free(aOne);
  }
  sqlite3_close(db);
  benchNpy(zDir, "ours", aApi, c->n, c->d);
  benchInputsFree(&in);
  free(aApi);
  free(aSql);

  benchMem(iCfg, pRow);
  benchRefRun(c, zDir, pRow);
  {
    /* Tolerance: float32 rounding of both sides, relative to the output. */
    double tol = 1e-4 + 1e-4*(isnan(pRow->maxNp) ? 1.0 : pRow->maxNp);
    pRow->bWrong = !pRow->bSqlSame || pRow->bThreadSame==0
                || pRow->diffNp>tol || pRow->diffTorch>tol;
  }
  {
    char zCmd[4200];
    snprintf(zCmd, sizeof(zCmd), "rm -rf '%s'", zDir);
    if( system(zCmd) ){ /* leave it */ }
  }
}

/*
** Output.
*/
static double benchFlop(const Cfg *c){
  double f = 4.0*(double)c->n*(double)c->n*(double)c->d;
  if( c->bMha ) f += 8.0*(double)c->n*(double)c->d*(double)c->d;
  return f;
}

static void benchCell(char *z, size_t n, const char *zFmt, double v){
  if( isnan(v) ) snprintf(z, n, "–");
  else snprintf(z, n, zFmt, v);
}

static const Row *benchFind(const Row *aRow, int nRow, int bMha, int n, int d,
                            int bCausal, int nThread){
  int i;
  for(i=0; i<nRow; i++){
    const Cfg *c = aRow[i].pCfg;
    if( c->bMha==bMha && c->n==n && c->d==d && c->bCausal==bCausal
     && c->nThread==nThread ) return &aRow[i];
  }
  return 0;
}

static void benchLoad(char *z, size_t n){
  FILE *f = fopen("/proc/loadavg", "r");
  z[0] = 0;
  if( f ){
    if( fgets(z, (int)n, f)==0 ) z[0] = 0;
    fclose(f);
    z[strcspn(z, "\n")] = 0;
  }
}

static void benchCpu(char *zModel, size_t nModel){
  char zLine[4096];
  FILE *f = fopen("/proc/cpuinfo", "r");
  snprintf(zModel, nModel, "unknown");
  if( f==0 ) return;
  while( fgets(zLine, sizeof(zLine), f) ){
    if( strncmp(zLine, "model name", 10)==0 ){
      char *z = strchr(zLine, ':');
      if( z ){
        z += 2;
        z[strcspn(z, "\n")] = 0;
        snprintf(zModel, nModel, "%s", z);
      }
      break;
    }
  }
  fclose(f);
}

/* One line of the targets table: the measured value through SQL and, where
** it means something, through the C API (NAN: not shown). */
static void benchTarget(const char *zWhat, double rSql, double rApi,
                        double rWant, int bAtMost, const char *zUnit){
  char zSql[64], zApi[64];
  const char *zStatus;
  if( isnan(rSql) ) snprintf(zSql, sizeof(zSql), "–");
  else snprintf(zSql, sizeof(zSql), "%.2f%s", rSql, zUnit);
  if( isnan(rApi) ) snprintf(zApi, sizeof(zApi), "–");
  else snprintf(zApi, sizeof(zApi), "%.2f%s", rApi, zUnit);
  if( isnan(rSql) ) zStatus = "not measured";
  else if( bAtMost ? rSql<=rWant : rSql>=rWant ) zStatus = "met";
  else if( !isnan(rApi) && (bAtMost ? rApi<=rWant : rApi>=rWant) ){
    zStatus = "met through the C API only";
  }else zStatus = "NOT MET";
  printf("| %s | %s %g%s | %s | %s | %s |\n", zWhat, bAtMost ? "≤" : "≥",
         rWant, zUnit, zSql, zApi, zStatus);
}

int main(int argc, char **argv){
  static const Cfg aCfg[] = {
    /* name              mha  n      d    H  causal T  quick */
    { "one head",          0, 1024,  64,  1, 0, 1, 1 },
    { "one head",          0, 1024,  384, 1, 0, 1, 0 },
    { "one head",          0, 4096,  64,  1, 0, 1, 1 },
    { "one head",          0, 4096,  384, 1, 0, 1, 0 },
    { "one head",          0, 16384, 64,  1, 0, 1, 0 },
    { "one head",          0, 16384, 384, 1, 0, 1, 0 },
    { "one head, causal",  0, 4096,  64,  1, 1, 1, 1 },
    { "6 heads + proj",    1, 4096,  384, 6, 0, 1, 1 },
    { "6 heads + proj, causal", 1, 4096, 384, 6, 1, 1, 0 },
    { "one head",          0, 4096,  64,  1, 0, 2, 1 },
    { "6 heads + proj",    1, 4096,  384, 6, 0, 2, 0 },
  };
  const int nCfg = (int)(sizeof(aCfg)/sizeof(aCfg[0]));
  Row aRow[sizeof(aCfg)/sizeof(aCfg[0])];
  int nRow = 0, i, bQuick = 0, nWrong = 0;
  const char *zOnly = 0;
  char zTmpl[] = "/tmp/attn-bench-XXXXXX", zModel[256], zLoad0[128], zLoad1[128];
  double t0 = benchNow();

  zSelf = argv[0];
  if( argc==3 && strcmp(argv[1], "--mem")==0 ){
    i = atoi(argv[2]);
    if( i<0 || i>=nCfg ) return 1;
    benchMemChild(&aCfg[i]);
    return 0;
  }
  if( argc<2 ){
    fprintf(stderr, "usage: %s REF.PY [--quick] [--only NAME]\n", argv[0]);
    return 2;
  }
  zRefPy = argv[1];
  for(i=2; i<argc; i++){
    if( strcmp(argv[i], "--quick")==0 ) bQuick = 1;
    else if( strcmp(argv[i], "--only")==0 && i+1<argc ) zOnly = argv[++i];
  }
  signal(SIGPIPE, SIG_IGN);
  zTmpDir = mkdtemp(zTmpl);
  if( zTmpDir==0 ) benchDie("mkdtemp failed");
  benchCpu(zModel, sizeof(zModel));
  benchLoad(zLoad0, sizeof(zLoad0));
  fprintf(stderr, "bench: %s, kernel %s, load average %s\n", zModel,
          attn_kernels()->zName, zLoad0);

  for(i=0; i<nCfg; i++){
    const Cfg *c = &aCfg[i];
    char zDesc[128];
    if( bQuick && !c->bQuick ) continue;
    snprintf(zDesc, sizeof(zDesc), "%s N=%d d=%d%s threads=%d", c->zName,
             c->n, c->d, c->bCausal ? " causal" : "", c->nThread);
    if( zOnly && strstr(zDesc, zOnly)==0 ) continue;
    fprintf(stderr, "bench: %s ...\n", zDesc);
    benchConfig(c, i, &aRow[nRow]);
    fprintf(stderr, "bench:   ours %.1f ms (C API %.1f ms), NumPy %.1f ms, "
            "PyTorch %.1f ms\n", aRow[nRow].msSql, aRow[nRow].msApi,
            aRow[nRow].msNp, aRow[nRow].msTorch);
    nWrong += aRow[nRow].bWrong;
    nRow++;
  }
  for(i=0; i<2; i++){
    if( aRef[i].pid ){
      fprintf(aRef[i].pIn, "quit\n");
      fclose(aRef[i].pIn);
      fclose(aRef[i].pOut);
      waitpid(aRef[i].pid, 0, 0);
    }
  }
  rmdir(zTmpDir);
  benchLoad(zLoad1, sizeof(zLoad1));

  /* The table. */
  printf("Machine: %s, %ld logical CPUs; kernel set: %s; SQLite %s.\n",
         zModel, sysconf(_SC_NPROCESSORS_ONLN), attn_kernels()->zName,
         sqlite3_libversion());
  printf("References: %s.\n", zRefInfo[0] ? zRefInfo : "none (skipped)");
  printf("Load average before / after: %s / %s.  Total bench time %.0f s.\n\n",
         zLoad0, zLoad1, benchNow()-t0);
  printf("| configuration | N | d | threads | ours, SQL (ms) | GFLOP/s | "
         "C API (ms) | SQL overhead | of it, reading the source rows | NumPy (ms) | × NumPy | PyTorch (ms) | "
         "× PyTorch | peak MiB: ours C API / SQL | NumPy | PyTorch | "
         "max abs diff vs NumPy / PyTorch | check |\n");
  printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  for(i=0; i<nRow; i++){
    const Row *r = &aRow[i];
    const Cfg *c = r->pCfg;
    char a[16][64], zRead[64];
    benchCell(a[0], 64, "%.1f", r->msSql);
    benchCell(a[1], 64, "%.0f", benchFlop(c)/(r->msSql*1e6));
    benchCell(a[2], 64, "%.1f", r->msApi);
    benchCell(a[3], 64, "%+.1f %%", 100.0*(r->msSql/r->msApi - 1.0));
    benchCell(a[4], 64, "%.1f", r->msNp);
    benchCell(a[5], 64, "%.2f", r->msNp/r->msSql);
    benchCell(a[6], 64, "%.1f", r->msTorch);
    benchCell(a[7], 64, "%.2f", r->msTorch/r->msSql);
    benchCell(a[8], 64, "%.1f", r->mibApi);
    benchCell(a[9], 64, "%.1f", r->mibSql);
    benchCell(a[10], 64, "%.0f", r->mibNp);
    benchCell(a[11], 64, "%.0f", r->mibTorch);
    benchCell(a[12], 64, "%.1e", r->diffNp);
    benchCell(a[13], 64, "%.1e", r->diffTorch);
    benchCell(zRead, 64, "%.1f %%", 100.0*r->msRead/r->msApi);
    printf("| %s%s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | "
           "%s | %s / %s | %s | %s | %s / %s | %s%s |\n",
           c->zName, c->bMha ? "" : "", c->n, c->d, c->nThread, a[0], a[1],
           a[2], a[3], zRead, a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
           a[12], a[13], r->bWrong ? "WRONG" : "ok",
           r->bThreadSame==1 ? " (= 1 thread, bitwise)" : "");
  }

  /* The targets of the issue. */
  {
    const Row *a, *b;
    double x;
    printf("\n| target | wanted | measured (SQL) | measured (C API) | status |\n"
           "|---|---|---|---|---|\n");
    a = benchFind(aRow, nRow, 0, 4096, 64, 0, 1);
    benchTarget("× NumPy, N=4096, d=64", a ? a->msNp/a->msSql : NAN,
                a ? a->msNp/a->msApi : NAN, 2.5, 0, "×");
    a = benchFind(aRow, nRow, 0, 4096, 384, 0, 1);
    benchTarget("× NumPy, N=4096, d=384", a ? a->msNp/a->msSql : NAN,
                a ? a->msNp/a->msApi : NAN, 1.3, 0, "×");
    a = benchFind(aRow, nRow, 1, 4096, 384, 0, 1);
    benchTarget("× nn.MultiheadAttention, N=4096, D=384, 6 heads, projections",
                a ? a->msTorch/a->msSql : NAN, a ? a->msTorch/a->msApi : NAN,
                2.5, 0, "×");
    /* Causal: against full attention timed in the same rounds. */
    b = benchFind(aRow, nRow, 0, 4096, 64, 1, 1);
    benchTarget("causal vs full, N=4096, d=64 (speed-up)",
                b ? b->msSql1/b->msSql : NAN,
                b ? b->msApi1/b->msApi : NAN, 1.8, 0, "×");
    b = benchFind(aRow, nRow, 1, 4096, 384, 1, 1);
    {
      /* The projections are not shortened by the mask: with them a share
      ** f of the work, halving the rest gives at most 1/(f + (1-f)/2). */
      double rProj = 8.0*4096*384*384, rAttn = 4.0*4096*4096*384;
      double f = rProj/(rProj + rAttn);
      char zWhat[200];
      snprintf(zWhat, sizeof(zWhat), "causal vs full, N=4096, 6 heads + proj "
               "(speed-up; the projections, %.0f %% of the work, cost the "
               "same, so at most %.2f×)", 100.0*f, 1.0/(f + (1.0-f)/2.0));
      benchTarget(zWhat, b ? b->msSql1/b->msSql : NAN,
                  b ? b->msApi1/b->msApi : NAN, 1.8, 0, "×");
    }
    /* Threads: against one thread timed in the same rounds. */
    for(i=0; i<2; i++){
      char zWhat[400];
      b = i==0 ? benchFind(aRow, nRow, 0, 4096, 64, 0, 2)
               : benchFind(aRow, nRow, 1, 4096, 384, 0, 2);
      snprintf(zWhat, sizeof(zWhat), "threads 2 vs 1, N=4096, %s (speed-up",
               i==0 ? "d=64" : "6 heads + proj");
      if( b && !isnan(b->msPair) ){
        /* What SQL adds at 2 threads (reading the rows, one step per output
        ** row) runs on one thread: with the C API part exactly halved, SQL
        ** would still take msApi1/2 + that. */
        size_t n = strlen(zWhat);
        double msSerial = b->msSql - b->msApi;
        snprintf(zWhat+n, sizeof(zWhat)-n, "; two independent one-thread "
                 "runs at once take %+.1f %% each, so this host allows at "
                 "most %.2f×; SQL's own %.1f ms, serial, allow SQL at most "
                 "%.2f×", 100.0*(b->msPair/b->msApi1 - 1.0),
                 2.0*b->msApi1/b->msPair, msSerial,
                 b->msSql1/(b->msApi1/2.0 + msSerial));
      }
      strcat(zWhat, ")");
      benchTarget(zWhat, b ? b->msSql1/b->msSql : NAN,
                  b ? b->msApi1/b->msApi : NAN, 1.8, 0, "×");
    }
    a = benchFind(aRow, nRow, 0, 16384, 64, 0, 1);
    benchTarget("memory beyond the inputs, N=16384, d=64",
                a ? a->mibSql : NAN, a ? a->mibApi : NAN, 64, 1, " MiB");
    x = NAN;
    a = 0;
    for(i=0; i<nRow; i++){
      double o = 100.0*(aRow[i].msSql/aRow[i].msApi - 1.0);
      if( aRow[i].pCfg->n>=4096 && (isnan(x) || o>x) ){ x = o; a = &aRow[i]; }
    }
    {
      char zWhat[256];
      if( a ){
        snprintf(zWhat, sizeof(zWhat), "SQL over the C API, worst "
                 "configuration with N ≥ 4096 (%s, N=%d, d=%d, threads=%d; "
                 "reading its source rows through SQLite alone: %.1f %%)",
                 a->pCfg->zName, a->pCfg->n, a->pCfg->d, a->pCfg->nThread,
                 100.0*a->msRead/a->msApi);
      }else{
        snprintf(zWhat, sizeof(zWhat), "SQL over the C API, worst "
                 "configuration with N ≥ 4096");
      }
      benchTarget(zWhat, x, NAN, 10, 1, " %");
    }
  }
  printf("\nRatios are reference time / our SQL time; GFLOP/s = (4·N²·d "
         "[+ 8·N·d² projections]) / our SQL time, the dense count also for "
         "causal rows.  Times are medians (wall clock).  \"Of it, reading "
         "the source rows\": stepping the source SELECT and copying its "
         "vectors into one array, as a share of the C API time (the part of "
         "the SQL overhead no extension can avoid).  Peak memory is the "
         "growth of VmHWM over VmRSS during one call (after resetting the "
         "peak through /proc/self/clear_refs): for ours in a fresh process, "
         "beyond the input arrays (C API) or the filled table (SQL); for the "
         "references in their long-lived process, beyond the loaded inputs.\n");
  if( nWrong ) printf("\n%d configuration(s) WRONG: see the check column.\n", nWrong);
  attn_threads_free(pBenchThreads);
  return nWrong ? 1 : 0;
}
