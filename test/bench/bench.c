/*
** bench.c: `make bench`, the speed of sqlite-attention against ONNX Runtime,
** NumPy and PyTorch on the same data, in one run, and against the FMA peak
** of the machine it runs on.
**
**   bench REF.PY [--quick] [--only SUBSTRING] [--out DIR] [--also-kernel K]
**
** --out DIR writes DIR/results.md (what is printed), DIR/results.tsv (one
** line per row, for chart.py).  --also-kernel K times the flash rows again
** with kernel set K (ATTN_KERNEL=K in a child); by default the avx2 set is
** run this way when the chosen set runs zmm FMAs (avx512, and avx512bf16
** and amx, whose float32 kernels are avx512's), so both levels are held to
** their own FMA peak.
**
** First, the FMA peak of each SIMD level the CPU has: a loop of independent
** FMAs on registers only (12 ymm accumulators for avx2, 24 zmm for avx512,
** enough to cover the FMA latency on every port; compiled with the target
** attributes of src/kernels_avx2.c and kernels_avx512.c), on one thread and
** on two threads at once, the best of several 50 ms runs, at the start and
** at the end (the machine's peak, printed and drawn).  The same loop also
** runs in each row's rounds (below), about 20 ms a round, on as many
** threads as the row; each row's GFLOP/s is printed as a share of that
** figure, so it is comparable between machines and moves with the load of
** a shared host as the row does.
**
** Then, for each configuration (the table in main()):
**   1. inputs: seeded N(0,1) float32 rows (q, k, v for one head; x plus
**      weights ~ N(0, 1/D) and biases ~ N(0, 0.01) for multi-head), written
**      as .npy files to a temporary folder for the references;
**   2. the references load them: ref.py (NumPy, PyTorch; one coprocess per
**      thread count, kept for the whole bench) and ort.js (ONNX Runtime
**      under node, its model built by ort_model.py; a fresh process per
**      configuration, so its peak memory is not hidden by memory an earlier
**      session freed), each of which then runs when told to (their
**      protocol is in ref.py); each gets one untimed run that also gives
**      its peak memory, then a second untimed run (below);
**   3. the timed functions run in turn in the same rounds (benchMedians):
**      ours through the C API (attn_state_new() + attn_forward() + copying
**      every output row out), through SQL (`SELECT output FROM
**      attention('SELECT q, k, v FROM t') WHERE ...` over a table of an
**      in-memory database, or x with wq..bo and heads, every output blob
**      read and copied out), the floor of the SQL path (stepping the source
**      SELECT and copying its vectors into one array: SQLite itself copies
**      each blob out of its page in OP_Column), for the flash rows the
**      kernel alone (attn_forward() on a state prepared untimed), the
**      baseline of the row's speed-up (both on one thread for a row on two
**      threads at N <= 4096, with two independent one-thread runs at once;
**      both without the mask for a causal row), and each reference, whose
**      run is timed inside its own process.  Before every timed run the
**      bench waits until the reference processes use no CPU (ORT's and
**      OpenBLAS's worker threads spin for a while after a run), at least
**      2 ms, so no run shares the cores with the last one's leftovers;
**   4. checks: the SQL output must equal the C API output bit for bit, the
**      kernel alone and the two-thread output the one-thread output bit
**      for bit, and each reference must agree with ours within 1e-4
**      (relative to the output's size): otherwise the row says WRONG and
**      the bench fails;
**   5. peak memory of ours: a child process (this program, --mem) builds
**      the same inputs, resets its peak RSS (/proc/self/clear_refs), runs
**      once, and reports the growth of VmHWM over VmRSS before the run: the
**      memory the attention needed beyond its inputs (the table, for SQL);
**   6. the other kernel level, if any (--also-kernel): a child process with
**      ATTN_KERNEL set times the C API and the kernel alone in its own
**      rounds and compares its output with ours (same tolerance).
**   7. half BLOBs (issue 15): the floor of the SQL path for the same q, k,
**      v rows stored as float32, float16 and bfloat16 BLOBs (one head, N in
**      {4096, 16384}, d in {64, 384, 1536}), each in an in-memory database
**      and in a database file (DIR/half-<dtype>.db with --out, else in the
**      temporary folder; opened with SQLite's defaults, page size and page
**      cache; just written, so its pages come from the OS cache; deleted
**      after the configuration): stepping SELECT q, k, v, reading each
**      value as attention_rows.c does (sqlite3_column_value(), then its
**      bytes and blob), and copying every blob's bytes into one array, or
**      decoding it into float32 with src/vector.c's decoder, which is what
**      attention() runs on each row (dtype = 'f16' / 'bf16': the kernel
**      set's xWidenHalf; for float32 the copy that also checks
**      finiteness); the twelve in the same rounds, the half ones as a share
**      of float32 (target: at most 0.6), with the sizes of the files (a
**      half row of more than half a page, d = 384 at 4 KiB pages, fills a
**      page alone).
**   8. one new row over a stored history (issue 17): the output of the
**      newest of 16384 rows (d = 384, 6 heads, causal, RoPE), through SQL,
**      recomputing every row, with WHERE id = N (only that query row), and
**      over k and v stored as columns when the rows were inserted; the
**      pushed-down row must equal the full result's bit for bit, the
**      stored-history row within 1e-5 of it (relative to its size).
** Timing: round 0 is untimed (the references' second warm-up); then rounds
** until each function has run for 1 s and 5 rounds (at most 30); 2 rounds
** when round 0 took over 1.5 s per function; none when it took over 3 s,
** and round 0 is the result; a reference whose first run took over 10 s
** (PyTorch at N = 16384) runs only that once, and is skipped for later
** configurations of as much work on as many threads.  Medians of the wall-clock
** times are reported.  The machine is shared and its speed drifts, so
** what a ratio compares is timed in the same rounds.
** GFLOP/s counts 4·N²·d for the attention (dense: causal runs are
** credited the full count, as the issue states them) plus 8·N·D² for the
** projections of the multi-head rows; the share of the peak counts only
** the allowed pairs of a causal row, N(N+1)/2.  Ratios are reference time / our
** time.  The load average is printed before and after.
*/
#define _GNU_SOURCE
#include <sqlite3.h>
#include <dirent.h>
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
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
# include <immintrin.h>
# define BENCH_X86 1
#endif
#include "attention.h"
#include "kernels.h"
#include "vector.h"

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

/* One configuration. */
typedef struct Cfg Cfg;
struct Cfg {
  const char *zName;
  int bMha;            /* x with projections and heads; else q, k, v */
  int n, d, nHead, bCausal, nThread;
  int bQuick;          /* part of --quick */
  int bBf16;           /* precision = 'bf16' (against our fp32 and ORT) */
};

/* The references, in the order of the tables. */
enum { REF_ORT, REF_NP, REF_TORCH, N_REF };
static const char *azRefName[N_REF] = { "ort", "numpy", "torch" };
static const char *azRefShort[N_REF] = { "ORT", "NumPy", "PyTorch" };

/* What a configuration measured (NAN: not measured). */
typedef struct Row Row;
struct Row {
  const Cfg *pCfg;
  double msApi, msSql;
  double msRead;       /* stepping the source SELECT, copying its vectors */
  double msFlash;      /* attn_forward() alone (flash rows) */
  double msApi1, msSql1;  /* the baseline of a speed-up, timed in the same
                          ** rounds: for threads > 1 the same on one thread,
                          ** for a causal row the same without the mask */
  double msPair;       /* threads > 1: two independent one-thread C API runs
                       ** at once, on two threads of this process (the best
                       ** the host allows two threads) */
  double mibApi, mibSql;
  int bSqlSame;        /* SQL output == C API output, bitwise */
  int bThreadSame;     /* (threads > 1) == 1-thread output, bitwise; -1 n/a */
  int bFlashSame;      /* kernel alone == C API output, bitwise; -1 n/a */
  double msRef[N_REF], mibRef[N_REF], diffRef[N_REF], maxRef[N_REF];
  double msPauseRef[N_REF];  /* longest wait for its processes to go idle
                             ** after one of its runs */
  double rPeak;        /* GFLOP/s of the FMA loop of the level in use, on as
                       ** many threads, timed in the same rounds */
  /* The other kernel level (--also-kernel), in a child. */
  double msLvlApi, msLvlFlash, diffLvl, rLvlPeak;
  double rBf16Err;     /* bf16 rows: max |bf16 − fp32| / max |fp32| */
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

static void benchSleep(double s){
  struct timespec t;
  t.tv_sec = (time_t)s;
  t.tv_nsec = (long)((s - (double)t.tv_sec)*1e9);
  while( nanosleep(&t, &t) && errno==EINTR ){}
}

/* What is printed goes to stdout and, with --out, to results.md. */
static FILE *pMd = 0;
static void benchOut(const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  if( pMd ){
    va_start(ap, zFmt);
    vfprintf(pMd, zFmt, ap);
    va_end(ap);
  }
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

/* Read back n floats of a .npy file benchNpy() wrote (0 if it cannot). */
static int benchNpyRead(const char *zPath, float *a, int64_t n){
  unsigned char aHdr[10];
  FILE *f = fopen(zPath, "rb");
  int ok;
  if( f==0 ) return 0;
  ok = fread(aHdr, 1, 10, f)==10
    && fseek(f, 10 + (long)(aHdr[8] | aHdr[9]<<8), SEEK_SET)==0
    && fread(a, sizeof(float), (size_t)n, f)==(size_t)n;
  fclose(f);
  return ok;
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

/* The rows whose kernel is also timed alone: one head, one thread, no
** mask (what the FMA-peak targets are about). */
static int benchHasFlash(const Cfg *c){
  return !c->bMha && !c->bCausal && c->nThread==1 && !c->bBf16;
}
/* The rows whose speed-up baseline is timed in their rounds: causal (vs
** full), two threads (vs one), bf16 (vs fp32). */
static int benchHasBase(const Cfg *c){
  return c->bCausal || (c->nThread>1 && c->n<=4096) || c->bBf16;
}

static double benchFlop(const Cfg *c);

/*
** The FMA peak: independent FMAs on registers only.  acc = acc·a + b
** converges to b/(1-a) = 1, so no value overflows or turns denormal.
*/
#define PEAK_YMM_ACC 12
#define PEAK_ZMM_ACC 24
#ifdef BENCH_X86
__attribute__((target("avx2,fma")))
static float benchFmaYmm(int64_t nIter){
  __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  __m256 c[PEAK_YMM_ACC], s;
  float aOut[8];
  int64_t i;
  int j;
  for(j=0; j<PEAK_YMM_ACC; j++) c[j] = _mm256_set1_ps((float)j*0.01f);
  for(i=0; i<nIter; i++){
#pragma GCC unroll 12
    for(j=0; j<PEAK_YMM_ACC; j++) c[j] = _mm256_fmadd_ps(c[j], a, b);
  }
  s = c[0];
  for(j=1; j<PEAK_YMM_ACC; j++) s = _mm256_add_ps(s, c[j]);
  _mm256_storeu_ps(aOut, s);
  return aOut[0];
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
static float benchFmaZmm(int64_t nIter){
  __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  __m512 c[PEAK_ZMM_ACC], s;
  float aOut[16];
  int64_t i;
  int j;
  for(j=0; j<PEAK_ZMM_ACC; j++) c[j] = _mm512_set1_ps((float)j*0.01f);
  for(i=0; i<nIter; i++){
#pragma GCC unroll 24
    for(j=0; j<PEAK_ZMM_ACC; j++) c[j] = _mm512_fmadd_ps(c[j], a, b);
  }
  s = c[0];
  for(j=1; j<PEAK_ZMM_ACC; j++) s = _mm512_add_ps(s, c[j]);
  _mm512_storeu_ps(aOut, s);
  return aOut[0];
}
#endif

/* The levels the peak is measured for: index 0 avx2 (ymm), 1 avx512 (zmm). */
typedef struct Peak Peak;
struct Peak {
  const char *zLevel;      /* kernel set name */
  const char *zReg;
  int bHave;               /* the CPU has it (the library offers the set) */
  double r1[2];            /* GFLOP/s on one thread: at the start, the end */
  double r2a[2], r2b[2];   /* two threads at once (each) */
};
static Peak aPeak[2] = {
  { "avx2", "ymm", 0, {0,0}, {0,0}, {0,0} },
  { "avx512", "zmm", 0, {0,0}, {0,0}, {0,0} },
};
static volatile float benchSink;

/* FLOPs of one iteration of level iLevel's loop. */
static double benchPeakFlops(int iLevel){
  return iLevel ? 2.0*16*PEAK_ZMM_ACC : 2.0*8*PEAK_YMM_ACC;
}

/* GFLOP/s of nIter iterations of level iLevel's loop on this thread. */
static double benchPeakOnce(int iLevel, int64_t nIter){
  double t0 = benchNow(), t;
#ifdef BENCH_X86
  benchSink = iLevel ? benchFmaZmm(nIter) : benchFmaYmm(nIter);
#else
  (void)iLevel;
#endif
  t = benchNow()-t0;
  return benchPeakFlops(iLevel)*(double)nIter/t*1e-9;
}

typedef struct PeakArg PeakArg;
struct PeakArg { int iLevel; int64_t nIter; double r; };
static void *benchPeakMain(void *pArg){
  PeakArg *a = (PeakArg*)pArg;
  a->r = benchPeakOnce(a->iLevel, a->nIter);
  return 0;
}

/* Iterations of a 20 ms run of each level's loop (set by benchPeaks()). */
static int64_t aPeakIter[2] = { 200000, 100000 };

/* The FMA loop (index into aPeak) whose instructions kernel set zLevel's
** float32 kernels run: avx2's ymm, or zmm for avx512 and for the sets
** built on it (avx512bf16 and amx add bf16 products only; their float32
** kernels are avx512's); -1 for the others (scalar, the emulations). */
static int benchFmaFamily(const char *zLevel){
  static const char *const azZmm[] = { "avx512", "avx512bf16", "amx" };
  int i;
  if( zLevel && strcmp(zLevel, "avx2")==0 ) return 0;
  for(i=0; zLevel && i<3; i++){
    if( strcmp(zLevel, azZmm[i])==0 ) return 1;
  }
  return -1;
}

/* The level index of kernel set zLevel (-1: no FMA loop for it). */
static int benchPeakLevel(const char *zLevel){
  int i = benchFmaFamily(zLevel);
  return i>=0 && aPeak[i].bHave ? i : -1;
}

/* The FMA loop as a function of the rounds: about 20 ms of level iLevel's
** loop on nThread threads (1 or 2) at once; returns the wall time. */
typedef struct PeakJob PeakJob;
struct PeakJob { int iLevel, nThread; };
static double benchPeakFn(void *pArg){
  PeakJob *j = (PeakJob*)pArg;
  PeakArg a[2];
  pthread_t t;
  double t0 = benchNow();
  a[0].iLevel = a[1].iLevel = j->iLevel;
  a[0].nIter = a[1].nIter = aPeakIter[j->iLevel];
  if( j->nThread>1 && pthread_create(&t, 0, benchPeakMain, &a[1]) ){
    benchDie("pthread_create");
  }
  benchPeakMain(&a[0]);
  if( j->nThread>1 ) pthread_join(t, 0);
  return benchNow()-t0;
}

/* GFLOP/s of benchPeakFn() taking ms. */
static double benchPeakRate(const PeakJob *j, double ms){
  return benchPeakFlops(j->iLevel)*(double)aPeakIter[j->iLevel]
         *(double)(j->nThread>1 ? 2 : 1)/(ms*1e6);
}

/* Set aPeakIter[] alone (the --level-child process). */
static void benchPeakCalibrate(void){
  int i;
  for(i=0; i<2; i++){
    if( aPeak[i].bHave ){
      double r = benchPeakOnce(i, 100000);
      aPeakIter[i] = (int64_t)(0.02*r*1e9/benchPeakFlops(i));
      if( aPeakIter[i]<1000 ) aPeakIter[i] = 1000;
    }
  }
}

/* Measure the peaks (iWhen 0: at the start; 1: at the end): the best of 5
** runs of about 50 ms each, alone and two at once. */
static void benchPeaks(int iWhen){
  int i, j;
  for(i=0; i<2; i++){
    Peak *p = &aPeak[i];
    int64_t nIter = 100000;
    double r;
    if( !p->bHave ) continue;
    r = benchPeakOnce(i, nIter);                      /* calibrate */
    nIter = (int64_t)(0.05*r*1e9/benchPeakFlops(i));
    if( nIter<1000 ) nIter = 1000;
    if( iWhen==0 ) aPeakIter[i] = nIter*2/5;   /* 20 ms */
    p->r1[iWhen] = p->r2a[iWhen] = p->r2b[iWhen] = 0.0;
    for(j=0; j<5; j++){
      PeakArg a[2];
      pthread_t t;
      r = benchPeakOnce(i, nIter);
      if( r>p->r1[iWhen] ) p->r1[iWhen] = r;
      a[0].iLevel = a[1].iLevel = i;
      a[0].nIter = a[1].nIter = nIter;
      if( pthread_create(&t, 0, benchPeakMain, &a[1]) ) benchDie("pthread_create");
      benchPeakMain(&a[0]);
      pthread_join(t, 0);
      if( a[0].r + a[1].r > p->r2a[iWhen] + p->r2b[iWhen] ){
        p->r2a[iWhen] = a[0].r;
        p->r2b[iWhen] = a[1].r;
      }
    }
  }
}

/* The peak of kernel set zLevel on nThread threads (1 or 2), GFLOP/s:
** the higher of the start and end figures; NAN when not measured. */
static double benchPeak(const char *zLevel, int nThread){
  int i;
  for(i=0; i<2; i++){
    const Peak *p = &aPeak[i];
    if( p->bHave && i==benchFmaFamily(zLevel) ){
      double r0 = nThread>1 ? p->r2a[0]+p->r2b[0] : p->r1[0];
      double r1 = nThread>1 ? p->r2a[1]+p->r2b[1] : p->r1[1];
      return r0>r1 ? r0 : r1;
    }
  }
  return NAN;
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

static attn_state *benchApiState(const Cfg *c, const Inputs *p, int nThread){
  attn_input in;
  attn_options opt;
  attn_state *st;
  attn_err err;
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
  opt.ePrecision = c->bBf16 ? ATTN_PRECISION_BF16 : ATTN_PRECISION_FP32;
  if( nThread>1 && pBenchThreads==0 ){
    pBenchThreads = attn_threads_new();
    if( pBenchThreads==0 ) benchDie("out of memory");
  }
  opt.pThreads = pBenchThreads;
  if( attn_state_new(&in, &opt, &st, &err) ) benchDie("attn_state_new: %s", err.zMsg);
  return st;
}

static void benchApiForward(attn_state *st){
  attn_err err;
  if( attn_forward(st, &err) ) benchDie("attn_forward: %s", err.zMsg);
}

static void benchApiCopy(const Cfg *c, attn_state *st, float *aOut){
  attn_err err;
  int64_t i;
  for(i=0; i<c->n; i++){
    const float *o, *l;
    if( attn_output(st, i, &o, &l, &err) ) benchDie("attn_output: %s", err.zMsg);
    memcpy(aOut + i*c->d, o, sizeof(float)*(size_t)c->d);
  }
}

static void benchApiRun(const Cfg *c, const Inputs *p, int nThread,
                        float *aOut){
  attn_state *st = benchApiState(c, p, nThread);
  benchApiForward(st);
  benchApiCopy(c, st, aOut);
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
             " AND causal = %d AND threads = %d%s", c->nHead, c->bCausal,
             nThread, c->bBf16 ? " AND precision = 'bf16'" : "");
  }else{
    snprintf(zSql, sizeof(zSql), "SELECT output FROM attention('SELECT q, k, "
             "v FROM t ORDER BY id') WHERE causal = %d AND threads = %d%s",
             c->bCausal, nThread, c->bBf16 ? " AND precision = 'bf16'" : "");
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
** The reference processes: ref.py (one per thread count) and ort.js.
*/
typedef struct Coproc Coproc;
struct Coproc {
  const char *zWho;       /* for messages */
  pid_t pid;
  FILE *pIn, *pOut;       /* to its stdin, from its stdout */
  int bDead;              /* failed to start or died: skipped */
  char zReady[512];       /* what its READY line said */
};
static Coproc aPy[2] = { { "ref.py (threads 1)", 0, 0, 0, 0, "" },
                         { "ref.py (threads 2)", 0, 0, 0, 0, "" } };
static Coproc coOrt = { "ort.js", 0, 0, 0, 0, "" };
static const char *zRefPy;         /* test/bench/ref.py */
static char zBenchDir[4096];       /* its folder */
static const char *zOrtWhy = 0;    /* why ONNX Runtime is skipped */

/* Start co running azArg (the environment set up by xEnv in the child) and
** wait for its READY line; 0 if it cannot. */
static int benchCoStart(Coproc *co, const char *const *azArg,
                        void (*xEnv)(void*), void *pEnvArg){
  int aToChild[2], aFromChild[2];
  char zLine[1024];
  if( pipe(aToChild) || pipe(aFromChild) ) benchDie("pipe failed");
  co->pid = fork();
  if( co->pid<0 ) benchDie("fork failed");
  if( co->pid==0 ){
    dup2(aToChild[0], 0);
    dup2(aFromChild[1], 1);
    close(aToChild[0]); close(aToChild[1]);
    close(aFromChild[0]); close(aFromChild[1]);
    if( xEnv ) xEnv(pEnvArg);
    execv(azArg[0], (char *const*)azArg);
    _exit(127);
  }
  close(aToChild[0]);
  close(aFromChild[1]);
  co->pIn = fdopen(aToChild[1], "w");
  co->pOut = fdopen(aFromChild[0], "r");
  while( fgets(zLine, sizeof(zLine), co->pOut) ){
    zLine[strcspn(zLine, "\n")] = 0;
    if( strncmp(zLine, "READY", 5)==0 ){
      if( co->zReady[0]==0 ){
        snprintf(co->zReady, sizeof(co->zReady), "%.500s", zLine+5+(zLine[5]==' '));
        fprintf(stderr, "bench: %s: %s\n", co->zWho, co->zReady);
      }
      return 1;
    }
    fprintf(stderr, "bench: %s: %s\n", co->zWho, zLine);
  }
  fprintf(stderr, "bench: %s did not start: skipped\n", co->zWho);
  co->bDead = 1;
  return 0;
}

static void benchCoStop(Coproc *co){
  if( co->pid==0 ) return;
  if( !co->bDead ) fprintf(co->pIn, "quit\n");
  fclose(co->pIn);
  fclose(co->pOut);
  waitpid(co->pid, 0, 0);
  co->pid = 0;
}

/* Send a command and read its answer into zReply: 1 on an answer, 0 when
** the command failed ("FAILED") or the process died (then it is skipped
** from now on).  "NOTE" lines go to stderr. */
static int benchCoAsk(Coproc *co, char *zReply, int nReply,
                      const char *zFmt, ...){
  va_list ap;
  if( co->pid==0 || co->bDead ) return 0;
  va_start(ap, zFmt);
  vfprintf(co->pIn, zFmt, ap);
  va_end(ap);
  fputc('\n', co->pIn);
  fflush(co->pIn);
  while( fgets(zReply, nReply, co->pOut) ){
    zReply[strcspn(zReply, "\n")] = 0;
    if( strncmp(zReply, "NOTE ", 5)==0 ){
      fprintf(stderr, "bench: %s: %s\n", co->zWho, zReply+5);
      continue;
    }
    return strcmp(zReply, "FAILED")!=0;
  }
  fprintf(stderr, "bench: %s died: skipped from now on\n", co->zWho);
  co->bDead = 1;
  return 0;
}

/* The value of "KEY=value" in an answer; NAN when absent or "-". */
static double benchKv(const char *zLine, const char *zKey){
  size_t n = strlen(zKey);
  const char *z = zLine;
  while( (z = strstr(z, zKey))!=0 ){
    if( (z==zLine || z[-1]==' ') && z[n]=='=' ){
      return z[n+1]=='-' && (z[n+2]==' ' || z[n+2]==0) ? NAN : atof(z+n+1);
    }
    z += n;
  }
  return NAN;
}

static void benchPyEnv(void *pArg){
  char zT[16];
  snprintf(zT, sizeof(zT), "%d", *(int*)pArg);
  setenv("OPENBLAS_NUM_THREADS", zT, 1);
  setenv("OMP_NUM_THREADS", zT, 1);
  setenv("MKL_NUM_THREADS", zT, 1);
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  /* The targets are against OpenBLAS's AVX-512 sgemm; 0.3.21 does not
  ** know every AVX-512 CPU (it runs its AVX2 kernel on AMD Zen 4/5), so
  ** it is named on such CPUs unless the caller chose a core. */
  if( strstr(attn_kernels_available(), "avx512") ){
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  }
}

static void benchOrtEnv(void *pArg){
  setenv("NODE_PATH", (const char*)pArg, 1);
}

static char *benchWhich(const char *zProg){
  static char zPath[4096];
  const char *zDirs = getenv("PATH");
  while( zDirs && *zDirs ){
    size_t n = strcspn(zDirs, ":");
    snprintf(zPath, sizeof(zPath), "%.*s/%s", (int)n, zDirs, zProg);
    if( access(zPath, X_OK)==0 ) return zPath;
    zDirs += n + (zDirs[n]==':');
  }
  return 0;
}

/* The ref.py process for nThread threads, started on first use. */
static Coproc *benchPy(int nThread){
  Coproc *co = &aPy[nThread>1];
  if( co->pid==0 && !co->bDead ){
    static int aT[2];
    const char *azArg[3];
    aT[nThread>1] = nThread;
    if( access("/usr/bin/python3", X_OK) ){
      fprintf(stderr, "bench: /usr/bin/python3 not found: NumPy and PyTorch "
              "skipped (sh test/deps.sh bench)\n");
      co->bDead = 1;
      return 0;
    }
    azArg[0] = "/usr/bin/python3"; azArg[1] = zRefPy; azArg[2] = 0;
    benchCoStart(co, azArg, benchPyEnv, &aT[nThread>1]);
  }
  return co->bDead ? 0 : co;
}

/* The ort.js process, started on first use. */
static Coproc *benchOrt(void){
  static char zModules[4200], zScript[4200];
  if( coOrt.pid==0 && !coOrt.bDead ){
    const char *azArg[3];
    char *zNode = benchWhich("node"), zBinding[4400];
    snprintf(zModules, sizeof(zModules), "%s/../.cache/ort/node_modules", zBenchDir);
    snprintf(zScript, sizeof(zScript), "%s/ort.js", zBenchDir);
    snprintf(zBinding, sizeof(zBinding), "%s/onnxruntime-node/package.json", zModules);
    coOrt.bDead = 1;
    if( zNode==0 ){
      zOrtWhy = "node is not installed (sudo apt-get install nodejs npm, then "
                "sh test/deps.sh bench)";
    }else if( access(zBinding, R_OK) ){
      zOrtWhy = "onnxruntime-node is not installed in test/.cache/ort "
                "(sh test/deps.sh bench installs it with npm)";
    }else{
      azArg[0] = zNode; azArg[1] = zScript; azArg[2] = 0;
      coOrt.bDead = 0;
      if( !benchCoStart(&coOrt, azArg, benchOrtEnv, zModules) ){
        zOrtWhy = "ort.js did not start";
      }else if( strstr(coOrt.zReady, "ort=none") ){
        zOrtWhy = "onnxruntime-node did not load (see the notes above)";
        benchCoStop(&coOrt);
        coOrt.bDead = 1;
      }
    }
    if( coOrt.bDead ) fprintf(stderr, "bench: ONNX Runtime skipped: %s\n", zOrtWhy);
  }
  return coOrt.bDead ? 0 : &coOrt;
}

/* Nanoseconds of CPU the reference processes have used, all threads
** (/proc/PID/task/TID/schedstat). */
static double benchCoCpu(void){
  Coproc *a[3];
  double ns = 0.0;
  int i;
  a[0] = &aPy[0]; a[1] = &aPy[1]; a[2] = &coOrt;
  for(i=0; i<3; i++){
    char zDir[64], zPath[600];
    DIR *pDir;
    struct dirent *e;
    if( a[i]->pid==0 || a[i]->bDead ) continue;
    snprintf(zDir, sizeof(zDir), "/proc/%d/task", (int)a[i]->pid);
    pDir = opendir(zDir);
    if( pDir==0 ) continue;
    while( (e = readdir(pDir))!=0 ){
      FILE *f;
      double t;
      if( e->d_name[0]=='.' ) continue;
      snprintf(zPath, sizeof(zPath), "%s/%s/schedstat", zDir, e->d_name);
      f = fopen(zPath, "r");
      if( f==0 ) continue;
      if( fscanf(f, "%lf", &t)==1 ) ns += t;
      fclose(f);
    }
    closedir(pDir);
  }
  return ns;
}

/* Wait until the reference processes are idle: less than 5 % of a CPU used
** over a 2 ms window (at most 1 s).  Returns the seconds waited. */
static double benchQuiet(void){
  double t0 = benchNow(), c0 = benchCoCpu(), c1;
  if( aPy[0].pid==0 && aPy[1].pid==0 && coOrt.pid==0 ) return 0.0;
  for(;;){
    benchSleep(0.002);
    c1 = benchCoCpu();
    if( c1-c0 < 0.05*2e6 || benchNow()-t0 > 1.0 ) break;
    c0 = c1;
  }
  return benchNow()-t0;
}

/*
** Timing.
*/
typedef double (*BenchFn)(void *pArg);   /* one run: its seconds, or NAN */
typedef struct Job Job;
struct Job {
  BenchFn x;
  void *pArg;
  double ms;          /* out: the median */
  double msPause;     /* out: the longest wait for quiet after one of its runs */
};

/* Time nJob functions side by side: round 0 runs each once, untimed; then
** rounds run each once in turn, and the median of each is its result.  The
** number of rounds: until 1 s per function and at least 5 rounds, at most
** 30; 2 rounds when round 0 took over 1.5 s per function; none when it
** took over 3 s (round 0 is the result).  Interleaving keeps a drift of the
** machine's speed (a shared host) out of the ratios between the functions.
** Before each run it waits for the reference processes to be idle; a
** function that fails (NAN) is dropped. */
#define MAX_JOB 12
#define MAX_ROUND 30
static void benchMedians(int nJob, Job *aJob){
  double a[MAX_JOB][MAX_ROUND], tRound = 0.0, sum = 0.0, tmp, t;
  int n = 0, nMin = 5, i, j, f, nLive = 0;
  double rBudget;
  for(f=0; f<nJob; f++){
    aJob[f].msPause = 0.0;
    t = aJob[f].x(aJob[f].pArg);
    t = isnan(t) ? NAN : t;
    aJob[f].ms = 1e3*t;
    if( !isnan(t) ){ tRound += t; nLive++; }
    t = benchQuiet();
    if( t*1e3>aJob[f].msPause ) aJob[f].msPause = t*1e3;
  }
  if( nLive==0 || tRound>3.0*nLive ) return;    /* round 0 is the result */
  rBudget = 1.0*nLive;
  if( tRound>1.5*nLive ){ nMin = 2; rBudget = 0.0; }
  while( n<MAX_ROUND && (n<nMin || sum<rBudget) ){
    for(f=0; f<nJob; f++){
      if( isnan(aJob[f].ms) ){ a[f][n] = NAN; continue; }
      t = aJob[f].x(aJob[f].pArg);
      a[f][n] = t;
      if( isnan(t) ) aJob[f].ms = NAN; else sum += t;
      t = benchQuiet();
      if( t*1e3>aJob[f].msPause ) aJob[f].msPause = t*1e3;
    }
    n++;
  }
  for(f=0; f<nJob; f++){
    double *x = a[f];
    if( isnan(aJob[f].ms) ) continue;
    for(i=1; i<n; i++){
      for(j=i; j>0 && x[j-1]>x[j]; j--){ tmp = x[j]; x[j] = x[j-1]; x[j-1] = tmp; }
    }
    aJob[f].ms = 1e3*(n%2 ? x[n/2] : 0.5*(x[n/2-1]+x[n/2]));
  }
}

/*
** Half BLOBs: the floor of the SQL path by dtype, in an in-memory database
** and in a database file.
*/
static const struct HalfCfg { int n, d; } aHalfCfg[] = {
  { 4096, 64 }, { 4096, 384 }, { 16384, 64 }, { 16384, 384 },
  { 4096, 1536 }, { 16384, 1536 },
};
#define N_HALF_CFG ((int)(sizeof(aHalfCfg)/sizeof(aHalfCfg[0])))
static const int aHalfDtype[3] = { ATTN_VEC_F32, ATTN_VEC_F16, ATTN_VEC_BF16 };
#define HALF_MEM  0            /* the storages, in the order of the rows */
#define HALF_FILE 1
typedef struct HalfRow HalfRow;
struct HalfRow {
  int n, d;
  double ms[2][2][3];    /* [storage][copy, decode][f32, f16, bf16] */
  int64_t nByte[3];      /* bytes of vector data read */
  int64_t nFile[3];      /* bytes of the database file */
};
static HalfRow aHalfRow[N_HALF_CFG];
static int nHalfRow = 0;

/* A table t(id, q, k, v) of n rows in db, their blobs the n × 3 blobs of
** w·d bytes in aBlob, row-major. */
static void benchHalfFill(sqlite3 *db, int n, int nb, const unsigned char *aBlob){
  sqlite3_stmt *pIns;
  int i, j;
  if( sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, q BLOB, "
                   "k BLOB, v BLOB); BEGIN", 0, 0, 0)
   || sqlite3_prepare_v2(db, "INSERT INTO t(q, k, v) VALUES(?1, ?2, ?3)", -1,
                         &pIns, 0) ){
    benchDie("%s", sqlite3_errmsg(db));
  }
  for(i=0; i<n; i++){
    for(j=0; j<3; j++){
      sqlite3_bind_blob(pIns, 1+j, aBlob + ((size_t)3*i + j)*nb, nb,
                        SQLITE_STATIC);
    }
    if( sqlite3_step(pIns)!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(db));
    sqlite3_reset(pIns);
  }
  sqlite3_finalize(pIns);
  if( sqlite3_exec(db, "COMMIT", 0, 0, 0) ) benchDie("%s", sqlite3_errmsg(db));
}

/* The same q, k, v rows (aIn: n × d each) as BLOBs of dtype eDtype, in an
** in-memory database (*pMem) and in the database file zFile (*pFile, a new
** file, opened with SQLite's defaults: its page size and page cache). */
static void benchHalfDbs(int n, int d, int eDtype, float *const *aIn,
                         const char *zFile, sqlite3 **pMem, sqlite3 **pFile){
  int nb = attn_vec_dtype_size(eDtype)*d, i, j;
  unsigned char *aBlob = benchMalloc((size_t)3*n*nb);
  attn_err err;
  for(i=0; i<n; i++){
    for(j=0; j<3; j++){
      if( attn_vec_encode(aIn[j] + (size_t)i*d, d, eDtype,
                          aBlob + ((size_t)3*i + j)*nb, &err) ){
        benchDie("attn_vec_encode: %s", err.zMsg);
      }
    }
  }
  unlink(zFile);
  if( sqlite3_open(":memory:", pMem) || sqlite3_open(zFile, pFile) ){
    benchDie("sqlite3_open failed (%s)", zFile);
  }
  benchHalfFill(*pMem, n, nb, aBlob);
  benchHalfFill(*pFile, n, nb, aBlob);
  free(aBlob);
}

typedef struct HalfArg HalfArg;
struct HalfArg {
  sqlite3 *db; int n, d, eDtype, bDecode; float *aOut; int64_t nByte;
};

/* Step SELECT q, k, v and copy every blob's bytes into aOut, as the floor
** of the float32 rows does, or (bDecode) decode it into aOut as float32
** (3 × n × d floats), as attention() does; each value read as
** attention_rows.c reads it (sqlite3_column_value(), then the value's
** bytes and blob). */
static double benchHalfFn(void *pArg){
  HalfArg *a = (HalfArg*)pArg;
  sqlite3_stmt *pStmt;
  size_t iAt = 0;
  int j, rc;
  attn_err err;
  double t0 = benchNow();
  a->nByte = 0;
  if( sqlite3_prepare_v2(a->db, "SELECT q, k, v FROM t ORDER BY id", -1,
                         &pStmt, 0) ){
    benchDie("%s", sqlite3_errmsg(a->db));
  }
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    for(j=0; j<3; j++){
      sqlite3_value *pVal = sqlite3_column_value(pStmt, j);
      int nb = sqlite3_value_bytes(pVal);
      const void *pBlob = sqlite3_value_blob(pVal);
      if( pBlob==0 ) benchDie("unexpected source row");
      if( !a->bDecode ){
        memcpy(a->aOut + iAt, pBlob, (size_t)nb);
      }else if( attn_vec_decode(pBlob, nb, a->eDtype, a->aOut + iAt, a->d,
                                &err) ){
        benchDie("unexpected source row: %s", err.zMsg);
      }
      a->nByte += nb;
      iAt += (size_t)a->d;
    }
  }
  if( rc!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(a->db));
  sqlite3_finalize(pStmt);
  return benchNow()-t0;
}

/* Each configuration: the 12 functions (2 storages × copy or decode × 3
** dtypes) in the same rounds, the database files in zDir, deleted after. */
static void benchHalf(const char *zDir){
  int i, j;
  for(i=0; i<N_HALF_CFG; i++){
    int n = aHalfCfg[i].n, d = aHalfCfg[i].d;
    float *aIn[3], *aOut;
    sqlite3 *aDb[2][3];
    char azFile[3][4096];
    HalfArg arg[12];
    Job job[12];
    HalfRow *r = &aHalfRow[nHalfRow++];
    fprintf(stderr, "bench: half BLOBs, the floor of the SQL path, N=%d d=%d "
            "...\n", n, d);
    for(j=0; j<3; j++) aIn[j] = benchGauss((int64_t)n*d, 1.0);
    for(j=0; j<3; j++){
      struct stat st;
      snprintf(azFile[j], sizeof(azFile[j]), "%s/half-%s.db", zDir,
               attn_vec_dtype_name(aHalfDtype[j]));
      benchHalfDbs(n, d, aHalfDtype[j], aIn, azFile[j], &aDb[HALF_MEM][j],
                   &aDb[HALF_FILE][j]);
      r->nFile[j] = stat(azFile[j], &st)==0 ? (int64_t)st.st_size : -1;
    }
    for(j=0; j<3; j++) free(aIn[j]);
    /* the runs take turns, so one output array serves them all */
    aOut = benchMalloc(sizeof(float)*(size_t)n*(size_t)d*3);
    for(j=0; j<12; j++){
      arg[j].db = aDb[j/6][j%3];
      arg[j].n = n;
      arg[j].d = d;
      arg[j].eDtype = aHalfDtype[j%3];
      arg[j].bDecode = (j/3)%2;
      arg[j].aOut = aOut;
      job[j].x = benchHalfFn;
      job[j].pArg = &arg[j];
    }
    benchMedians(12, job);
    r->n = n;
    r->d = d;
    for(j=0; j<12; j++){
      r->ms[j/6][(j/3)%2][j%3] = job[j].ms;
      r->nByte[j%3] = arg[j].nByte;
    }
    free(aOut);
    for(j=0; j<3; j++){
      sqlite3_close(aDb[HALF_MEM][j]);
      sqlite3_close(aDb[HALF_FILE][j]);
      unlink(azFile[j]);
    }
    for(j=0; j<2; j++){
      fprintf(stderr, "bench:   %s: copy: float32 %.2f ms, float16 %.2f ms, "
              "bfloat16 %.2f ms; decode: %.2f, %.2f, %.2f ms\n",
              j==HALF_MEM ? "in memory" : "file", r->ms[j][0][0],
              r->ms[j][0][1], r->ms[j][0][2], r->ms[j][1][0], r->ms[j][1][1],
              r->ms[j][1][2]);
    }
  }
}

static void benchTarget(const char *zWhat, const char *zWanted,
                        const char *zMeasured, const char *zStatus);

static void benchHalfReport(void){
  static const char *azStore[2] = { "in-memory database",
                                    "database file" };
  double rWorst[2][2] = { { 0.0, 0.0 }, { 0.0, 0.0 } };
  char zW[160], zM[160];
  int i, j, k, m;
  if( nHalfRow==0 ) return;
  benchOut("\n### Half BLOBs: the floor of the SQL path by dtype\n\n"
           "Stepping `SELECT q, k, v FROM t ORDER BY id` (one head) and "
           "reading each value as attention() does (sqlite3_column_value()), "
           "then copying every blob's bytes into one array (the floor of the "
           "other rows), or decoding every blob into float32 with the "
           "decoder attention() runs for dtype 'f32', 'f16', 'bf16' (what "
           "attention() cannot avoid); the same rows in an in-memory "
           "database and in a database file (opened with SQLite's defaults: "
           "its page size and page cache; the file was just written, so its "
           "pages come from the OS cache), the twelve in the same rounds; "
           "ratios to float32.  File MB: the database files, whose pages "
           "the rows fill.\n\n"
           "| N | d | storage | MB read (f32 / half) | file MB (f32 / f16 / "
           "bf16) | copy: float32 | float16 | bfloat16 | decode: float32 | "
           "float16 | bfloat16 |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for(m=0; m<2; m++){
    for(i=0; i<nHalfRow; i++){
      const HalfRow *r = &aHalfRow[i];
      benchOut("| %d | %d | %s | %.1f / %.1f | %.1f / %.1f / %.1f ", r->n,
               r->d, m==HALF_MEM ? "memory" : "file", r->nByte[0]/1e6,
               r->nByte[1]/1e6, r->nFile[0]/1e6, r->nFile[1]/1e6,
               r->nFile[2]/1e6);
      for(k=0; k<2; k++){
        const double *a = r->ms[m][k];
        benchOut("| %.2f ms | %.2f ms (%.2f×) | %.2f ms (%.2f×) ", a[0], a[1],
                 a[1]/a[0], a[2], a[2]/a[0]);
        for(j=1; j<3; j++){
          if( a[j]/a[0]>rWorst[m][k] ) rWorst[m][k] = a[j]/a[0];
        }
      }
      benchOut("|\n");
    }
  }
  benchOut("\n| target | wanted | measured | status |\n|---|---|---|---|\n");
  for(m=0; m<2; m++){
    for(k=0; k<2; k++){
      snprintf(zW, sizeof(zW), "reading half BLOBs through SQL, %s: the "
               "floor%s vs float32 BLOBs", azStore[m],
               k ? " with decoding to float32" : " (copy)");
      snprintf(zM, sizeof(zM), "%.2f× (the worst row and type)",
               rWorst[m][k]);
      benchTarget(zW, "≤ 0.6×", zM, isnan(rWorst[m][k]) ? "not measured"
                  : rWorst[m][k]<=0.6 ? "met" : "NOT MET");
    }
  }
}

/*
** One new row over a stored history (issue 17): the output of the newest
** row of N, three ways, through SQL, in the same rounds.
*/
#define NEWROW_N     16384
#define NEWROW_D     384
#define NEWROW_HEADS 6
typedef struct NewRowArg NewRowArg;
struct NewRowArg {
  sqlite3 *db;
  const char *zSql;
  float *aOut;            /* the output of the newest row (d floats) */
  int nRow;               /* rows the query returned */
};
static struct {
  int bRun;
  double ms[3];           /* full, WHERE id = N, over the stored k, v */
  double rErr[2];         /* |pushed down − full|, |stored − full| / |full| */
  int bWrong;
} newRow;

/* Step zSql, binding W_Q..W_O, b_Q..b_O (table w) as ?1..?8, and keep the
** output of the last row. */
static double benchNewRowFn(void *pArg){
  NewRowArg *a = (NewRowArg*)pArg;
  sqlite3_stmt *pStmt;
  int rc;
  double t0 = benchNow();
  if( sqlite3_prepare_v2(a->db, a->zSql, -1, &pStmt, 0) ){
    benchDie("%s: %s", a->zSql, sqlite3_errmsg(a->db));
  }
  a->nRow = 0;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const void *pBlob = sqlite3_column_blob(pStmt, 0);
    if( pBlob==0 || sqlite3_column_bytes(pStmt, 0)!=4*NEWROW_D ){
      benchDie("unexpected output row");
    }
    memcpy(a->aOut, pBlob, 4*NEWROW_D);
    a->nRow++;
  }
  if( rc!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(a->db));
  sqlite3_finalize(pStmt);
  return benchNow()-t0;
}

/* max |a − b| / max |b| over d elements. */
static double benchRelDiff(const float *a, const float *b, int d){
  double m = 0.0, s = 0.0;
  int i;
  for(i=0; i<d; i++){
    double e = fabs((double)a[i]-(double)b[i]);
    if( e>m ) m = e;
    if( fabs((double)b[i])>s ) s = fabs((double)b[i]);
  }
  return s>0.0 ? m/s : m;
}

static void benchNewRow(void){
  /* The arguments of the layer: weights bound from table w in each query
  ** (the stored-history query reads them inside its source SELECT). */
  static const char zArgs[] =
    " wq = (SELECT wq FROM w) AND wk = (SELECT wk FROM w) AND wv = (SELECT wv"
    " FROM w) AND wo = (SELECT wo FROM w) AND bq = (SELECT bq FROM w) AND"
    " bk = (SELECT bk FROM w) AND bv = (SELECT bv FROM w) AND bo = (SELECT bo"
    " FROM w) AND heads = 6 AND causal = 1 AND rope = 10000";
  char zFull[1024], zPushed[1100], zStored[2048];
  const int d = NEWROW_D, n = NEWROW_N;
  float *aW[4], *aB[4], *x = benchGauss((int64_t)n*d, 1.0);
  sqlite3 *db;
  sqlite3_stmt *pIns;
  char *zErr = 0;
  NewRowArg arg[3];
  Job job[3];
  int i, j;
  fprintf(stderr, "bench: one new row over a stored history, N=%d d=%d "
          "heads=%d ...\n", n, d, NEWROW_HEADS);
  for(j=0; j<4; j++){
    aW[j] = benchGauss((int64_t)d*d, 1.0/sqrt((double)d));
    aB[j] = benchGauss(d, 0.1);
  }
  if( sqlite3_open(":memory:", &db) ) benchDie("sqlite3_open failed");
  if( sqlite3_attention_init(db, &zErr, 0) ) benchDie("init: %s", zErr);
  sqlite3_exec(db, "CREATE TABLE w(wq, wk, wv, wo, bq, bk, bv, bo);"
               "CREATE TABLE t(id INTEGER PRIMARY KEY, pos INTEGER, x BLOB, "
               "k BLOB, v BLOB); BEGIN", 0, 0, 0);
  if( sqlite3_prepare_v2(db, "INSERT INTO w VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
                         -1, &pIns, 0) ){
    benchDie("%s", sqlite3_errmsg(db));
  }
  for(j=0; j<4; j++){
    sqlite3_bind_blob(pIns, 1+j, aW[j], 4*d*d, SQLITE_STATIC);
    sqlite3_bind_blob(pIns, 5+j, aB[j], 4*d, SQLITE_STATIC);
  }
  if( sqlite3_step(pIns)!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(db));
  sqlite3_finalize(pIns);
  /* The history: each row's k (RoPE-rotated per head) and v, written once
  ** as the row is inserted (untimed). */
  if( sqlite3_prepare_v2(db, "INSERT INTO t(id, pos, x, k, v) SELECT ?1, ?1 - 1,"
        " ?2, attn_rope(attn_project(?2, wk, bk), ?1 - 1, 10000, 'neox', 6),"
        " attn_project(?2, wv, bv) FROM w", -1, &pIns, 0) ){
    benchDie("%s", sqlite3_errmsg(db));
  }
  for(i=0; i<n; i++){
    sqlite3_bind_int(pIns, 1, i+1);
    sqlite3_bind_blob(pIns, 2, x + (size_t)i*d, 4*d, SQLITE_STATIC);
    if( sqlite3_step(pIns)!=SQLITE_DONE ) benchDie("%s", sqlite3_errmsg(db));
    sqlite3_reset(pIns);
  }
  sqlite3_finalize(pIns);
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
  snprintf(zFull, sizeof(zFull), "SELECT output FROM attention('SELECT id, "
           "pos, x FROM t ORDER BY id') WHERE%s", zArgs);
  snprintf(zPushed, sizeof(zPushed), "%s AND id = %d", zFull, n);
  snprintf(zStored, sizeof(zStored), "SELECT output FROM attention('SELECT "
           "pos, attn_rope(attn_project(x, (SELECT wq FROM w), (SELECT bq FROM "
           "w)), pos, 10000, ''neox'', 6) AS q FROM t WHERE id = %d', 'SELECT "
           "pos, k, v FROM t') WHERE wo = (SELECT wo FROM w) AND bo = (SELECT "
           "bo FROM w) AND heads = 6 AND causal = 1", n);
  arg[0].zSql = zFull;
  arg[1].zSql = zPushed;
  arg[2].zSql = zStored;
  for(j=0; j<3; j++){
    arg[j].db = db;
    arg[j].aOut = benchMalloc(4*(size_t)d);
    job[j].x = benchNewRowFn;
    job[j].pArg = &arg[j];
  }
  benchMedians(3, job);
  newRow.bRun = 1;
  for(j=0; j<3; j++) newRow.ms[j] = job[j].ms;
  newRow.rErr[0] = benchRelDiff(arg[1].aOut, arg[0].aOut, d);
  newRow.rErr[1] = benchRelDiff(arg[2].aOut, arg[0].aOut, d);
  /* The pushed-down row is the full result's row bit for bit; the stored
  ** history differs by the float32 rounding of two computations. */
  newRow.bWrong = arg[0].nRow!=n || arg[1].nRow!=1 || arg[2].nRow!=1
               || newRow.rErr[0]!=0.0 || !(newRow.rErr[1]<=1e-5);
  fprintf(stderr, "bench:   full %.1f ms, WHERE id = N %.1f ms, stored k, v "
          "%.2f ms; differences %.1e, %.1e%s\n", newRow.ms[0], newRow.ms[1],
          newRow.ms[2], newRow.rErr[0], newRow.rErr[1],
          newRow.bWrong ? "  WRONG" : "");
  for(j=0; j<3; j++) free(arg[j].aOut);
  for(j=0; j<4; j++){ free(aW[j]); free(aB[j]); }
  free(x);
  sqlite3_close(db);
}

static void benchNewRowReport(void){
  if( !newRow.bRun ) return;
  benchOut("\n### One new row over a stored history\n\n"
           "The output of the newest of N = %d rows (d = %d, %d heads, causal, "
           "RoPE, projections with biases), through SQL, three ways in the "
           "same rounds: everything recomputed (`attention('SELECT id, pos, x "
           "FROM t')`, every row), the same call `WHERE id = N` (only that "
           "query row is computed; every row is still projected as a key), and "
           "over the history's k (RoPE-rotated) and v stored as columns when "
           "each row was inserted (`attention('SELECT … AS q FROM t WHERE id "
           "= N', 'SELECT pos, k, v FROM t')`: O(N·d)); "
           "docs/recipes.md has the recipe. Difference: max |row − full "
           "recomputation's row| / max |row|.\n\n"
           "| full recomputation | WHERE id = N | over stored k, v | "
           "difference (WHERE / stored) | check |\n|---|---|---|---|---|\n"
           "| %.1f ms | %.1f ms (%.0f× faster) | %.2f ms (%.0f× faster) | "
           "%.1e / %.1e | %s |\n", NEWROW_N, NEWROW_D, NEWROW_HEADS,
           newRow.ms[0], newRow.ms[1], newRow.ms[0]/newRow.ms[1],
           newRow.ms[2], newRow.ms[0]/newRow.ms[2], newRow.rErr[0],
           newRow.rErr[1], newRow.bWrong ? "WRONG" : "ok");
}

typedef struct RunArg RunArg;
struct RunArg { const Cfg *c; const Inputs *p; sqlite3 *db; int nThread; float *aOut; };
static double benchApiFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  double t0 = benchNow();
  benchApiRun(r->c, r->p, r->nThread, r->aOut);
  return benchNow()-t0;
}
static double benchSqlFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  double t0 = benchNow();
  benchSqlRun(r->c, r->db, r->p, r->nThread, r->aOut);
  return benchNow()-t0;
}
static double benchReadFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  double t0 = benchNow();
  benchReadRun(r->c, r->db, r->aOut);
  return benchNow()-t0;
}
/* The kernel alone: attn_forward() on a state prepared untimed. */
static double benchFlashFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  attn_state *st = benchApiState(r->c, r->p, r->nThread);
  double t0 = benchNow(), t;
  benchApiForward(st);
  t = benchNow()-t0;
  benchApiCopy(r->c, st, r->aOut);
  attn_state_free(st);
  return t;
}
static void *benchPairMain(void *pArg){
  benchApiFn(pArg);
  return 0;
}
/* Two one-thread C API runs at once, each on its own thread and output
** (r[0] and r[1]). */
static double benchPairFn(void *pArg){
  RunArg *r = (RunArg*)pArg;
  pthread_t t;
  double t0 = benchNow();
  if( pthread_create(&t, 0, benchPairMain, &r[1]) ) benchDie("pthread_create");
  benchApiFn(&r[0]);
  pthread_join(t, 0);
  return benchNow()-t0;
}

/* A reference, run in its process (timed there). */
typedef struct RefArg RefArg;
struct RefArg { Coproc *co; int iRef; };
static double benchRefFn(void *pArg){
  RefArg *r = (RefArg*)pArg;
  char zLine[512];
  double ms;
  if( !benchCoAsk(r->co, zLine, sizeof(zLine), "time %s", azRefName[r->iRef]) ){
    return NAN;
  }
  ms = benchKv(zLine, "ms");
  return ms/1e3;
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
** The other kernel level, in a child (--level-child ICFG OURS.NPY, with
** ATTN_KERNEL set): the C API and the kernel alone in its own rounds, then
** "LEVEL kernel=NAME api=MS flash=MS diff=X" (diff: largest absolute
** difference from OURS.NPY, the output of the chosen level).
*/
static void benchLevelChild(const Cfg *c, const char *zOurs){
  Inputs in;
  int64_t nOut = (int64_t)c->n*c->d, i;
  float *aApi = benchMalloc(sizeof(float)*(size_t)nOut);
  float *aFlash = benchMalloc(sizeof(float)*(size_t)nOut);
  float *aOurs = benchMalloc(sizeof(float)*(size_t)nOut);
  RunArg ra[2];
  Job aJob[3];
  PeakJob pj;
  int nJob = 2;
  double diff = 0.0;
  benchInputs(c, &in);
  ra[0].c = ra[1].c = c; ra[0].p = ra[1].p = &in; ra[0].db = ra[1].db = 0;
  ra[0].nThread = ra[1].nThread = c->nThread;
  ra[0].aOut = aApi; ra[1].aOut = aFlash;
  aJob[0].x = benchApiFn; aJob[0].pArg = &ra[0];
  aJob[1].x = benchFlashFn; aJob[1].pArg = &ra[1];
  pj.iLevel = benchPeakLevel(attn_kernels()->zName);
  pj.nThread = c->nThread;
  if( pj.iLevel>=0 ){
    benchPeakCalibrate();
    aJob[2].x = benchPeakFn; aJob[2].pArg = &pj;
    nJob = 3;
  }
  benchMedians(nJob, aJob);
  if( !benchNpyRead(zOurs, aOurs, nOut) ) benchDie("cannot read %s", zOurs);
  for(i=0; i<nOut; i++){
    double e = fabs((double)aApi[i] - (double)aOurs[i]);
    if( !(e<=diff) ) diff = e;
  }
  if( memcmp(aApi, aFlash, sizeof(float)*(size_t)nOut) ) diff = NAN;
  printf("LEVEL kernel=%s api=%.3f flash=%.3f diff=%.3g peak=%.2f\n",
         attn_kernels()->zName, aJob[0].ms, aJob[1].ms, diff,
         nJob>2 ? benchPeakRate(&pj, aJob[2].ms) : NAN);
  benchInputsFree(&in);
  free(aApi); free(aFlash); free(aOurs);
}

static const char *zAlsoKernel = 0;   /* the other level, or NULL */
static void benchLevel(int iCfg, const char *zOurs, Row *pRow){
  char zCmd[8400], zLine[512];
  FILE *f;
  pRow->msLvlApi = pRow->msLvlFlash = pRow->diffLvl = pRow->rLvlPeak = NAN;
  snprintf(zCmd, sizeof(zCmd), "ATTN_KERNEL=%s '%s' --level-child %d '%s'",
           zAlsoKernel, zSelf, iCfg, zOurs);
  f = popen(zCmd, "r");
  if( f==0 ) return;
  while( fgets(zLine, sizeof(zLine), f) ){
    char zK[32];
    if( sscanf(zLine, "LEVEL kernel=%31s", zK)==1 ){
      if( strcmp(zK, zAlsoKernel) ){
        fprintf(stderr, "bench: ATTN_KERNEL=%s ran kernel set %s: not "
                "reported\n", zAlsoKernel, zK);
        continue;
      }
      pRow->msLvlApi = benchKv(zLine, "api");
      pRow->msLvlFlash = benchKv(zLine, "flash");
      pRow->diffLvl = benchKv(zLine, "diff");
      pRow->rLvlPeak = benchKv(zLine, "peak");
      if( isnan(pRow->diffLvl) ) pRow->diffLvl = INFINITY;  /* mismatch */
    }
  }
  pclose(f);
}

/*
** One configuration.
*/
static const char *zTmpDir;

/* The reference processes a configuration uses, and their loaded state. */
typedef struct RefSet RefSet;
struct RefSet {
  Coproc *aCo[N_REF];      /* NULL: not loaded for this configuration */
  RefArg aArg[N_REF];
  int bSingle[N_REF];      /* its first run was its result */
};

static void benchRefsLoad(const Cfg *c, const char *zDir, RefSet *s){
  Coproc *aCo[2];
  char zLine[512];
  int i, j;
  memset(s, 0, sizeof(*s));
  aCo[0] = benchOrt();
  aCo[1] = c->bBf16 ? 0 : benchPy(c->nThread);  /* bf16: against ORT only */
  for(i=0; i<2; i++){
    if( aCo[i]==0 ) continue;
    if( !benchCoAsk(aCo[i], zLine, sizeof(zLine), "load %s %s %d %d %d %d %d",
                    zDir, c->bMha ? "mha" : "single", c->n, c->d, c->nHead,
                    c->bCausal, c->nThread) ){
      continue;
    }
    for(j=0; j<N_REF; j++){
      const char *z = strstr(zLine, azRefName[j]);
      size_t n = strlen(azRefName[j]);
      if( z && z[-1]==' ' && (z[n]==' ' || z[n]==0) ){
        s->aCo[j] = aCo[i];
        s->aArg[j].co = aCo[i];
        s->aArg[j].iRef = j;
      }
    }
  }
}

/* A reference whose first run takes longer than this runs only once, and
** not at all for later configurations of as much work (GFLOP) or more on
** as many threads: PyTorch's one-head reference at N = 16384 takes 13 s to
** a minute a run, and would double the bench's time. */
#ifndef REF_SLOW_MS
# define REF_SLOW_MS 10000.0
#endif
static double aRefSlowFlop[N_REF][2];   /* 0: none yet */

/* First warm-up of each reference: its peak memory. */
static void benchRefsWarm(const Cfg *c, RefSet *s, Row *pRow){
  char zLine[512];
  int j, t = c->nThread>1;
  for(j=0; j<N_REF; j++){
    if( s->aCo[j]==0 ) continue;
    if( aRefSlowFlop[j][t]>0.0 && benchFlop(c)>=aRefSlowFlop[j][t] ){
      fprintf(stderr, "bench: %s skipped: a configuration of %.0f GFLOP took "
              "it over %g s a run\n", azRefShort[j], aRefSlowFlop[j][t]*1e-9,
              REF_SLOW_MS/1e3);
      s->aCo[j] = 0;
      continue;
    }
    benchQuiet();
    if( !benchCoAsk(s->aCo[j], zLine, sizeof(zLine), "warm %s", azRefName[j]) ){
      s->aCo[j] = 0;
      continue;
    }
    pRow->mibRef[j] = benchKv(zLine, "mib");
    if( benchKv(zLine, "ms")>REF_SLOW_MS ){
      s->bSingle[j] = 1;
      pRow->msRef[j] = benchKv(zLine, "ms");
      if( aRefSlowFlop[j][t]==0.0 || benchFlop(c)<aRefSlowFlop[j][t] ){
        aRefSlowFlop[j][t] = benchFlop(c);
      }
    }
  }
}

static void benchRefsCheck(RefSet *s, Row *pRow){
  char zLine[512];
  int j;
  for(j=0; j<N_REF; j++){
    if( s->aCo[j]==0 || isnan(pRow->msRef[j]) ) continue;
    if( benchCoAsk(s->aCo[j], zLine, sizeof(zLine), "check %s", azRefName[j]) ){
      pRow->diffRef[j] = benchKv(zLine, "diff");
      pRow->maxRef[j] = benchKv(zLine, "max");
    }
  }
  if( s->aCo[REF_ORT] ) benchCoAsk(s->aCo[REF_ORT], zLine, sizeof(zLine), "unload");
  if( s->aCo[REF_NP] ){
    benchCoAsk(s->aCo[REF_NP], zLine, sizeof(zLine), "unload");
  }else if( s->aCo[REF_TORCH] ){
    benchCoAsk(s->aCo[REF_TORCH], zLine, sizeof(zLine), "unload");
  }
}

static void benchConfig(const Cfg *c, int iCfg, Row *pRow){
  Inputs in;
  sqlite3 *db;
  int64_t nOut = (int64_t)c->n*c->d;
  float *aApi = benchMalloc(sizeof(float)*(size_t)nOut);
  float *aSql = benchMalloc(sizeof(float)*(size_t)nOut);
  float *aRead = benchMalloc(sizeof(float)*(size_t)nOut*3);
  float *aFlash = 0, *aOne = 0;
  char zDir[4096], zOurs[4200];
  RefSet refs;
  RunArg ra[6], aPair[2];
  PeakJob pj;
  Job aJob[MAX_JOB];
  int iJob[16], nJob = 0, j;
  Cfg base = *c;
  enum { J_API, J_SQL, J_READ, J_FLASH, J_API1, J_SQL1, J_PAIR, J_PEAK, J_REF };

  memset(pRow, 0, sizeof(*pRow));
  memset(iJob, 0, sizeof(iJob));
  pRow->pCfg = c;
  pRow->msFlash = pRow->msApi1 = pRow->msSql1 = pRow->msPair = NAN;
  for(j=0; j<N_REF; j++){
    pRow->msRef[j] = pRow->mibRef[j] = pRow->diffRef[j] = pRow->maxRef[j] = NAN;
    pRow->msPauseRef[j] = NAN;
  }
  pRow->msLvlApi = pRow->msLvlFlash = pRow->diffLvl = pRow->rLvlPeak = NAN;
  pRow->rPeak = pRow->rBf16Err = NAN;
  benchInputs(c, &in);
  snprintf(zDir, sizeof(zDir), "%s/cfg%d", zTmpDir, iCfg);
  if( mkdir(zDir, 0700) && errno!=EEXIST ) benchDie("mkdir %s", zDir);
  if( c->bMha ){
    static const char *azW[] = { "wq", "wk", "wv", "wo" };
    static const char *azB[] = { "bq", "bk", "bv", "bo" };
    for(j=0; j<4; j++){
      benchNpy(zDir, azW[j], in.w[j], c->d, c->d);
      benchNpy(zDir, azB[j], in.b[j], 0, c->d);
    }
    benchNpy(zDir, "x", in.x, c->n, c->d);
  }else{
    benchNpy(zDir, "q", in.q, c->n, c->d);
    benchNpy(zDir, "k", in.k, c->n, c->d);
    benchNpy(zDir, "v", in.v, c->n, c->d);
  }

  /* The references load the inputs and run once (their peak memory). */
  benchRefsLoad(c, zDir, &refs);
  benchRefsWarm(c, &refs, pRow);

  /* Everything timed, in the same rounds. */
  db = benchDb(c, &in);
  if( c->bBf16 ) base.bBf16 = 0;
  else if( c->nThread>1 ) base.nThread = 1;
  else base.bCausal = 0;
  for(j=0; j<6; j++){
    ra[j].c = j<4 ? c : &base;
    ra[j].p = &in;
    ra[j].db = db;
    ra[j].nThread = j<4 ? c->nThread : 1;
    ra[j].aOut = 0;
  }
  ra[J_API].aOut = aApi;
  ra[J_SQL].aOut = aSql;
  ra[J_READ].aOut = aRead;
  aJob[nJob].x = benchApiFn; aJob[nJob].pArg = &ra[J_API]; iJob[J_API] = nJob++;
  aJob[nJob].x = benchSqlFn; aJob[nJob].pArg = &ra[J_SQL]; iJob[J_SQL] = nJob++;
  aJob[nJob].x = benchReadFn; aJob[nJob].pArg = &ra[J_READ]; iJob[J_READ] = nJob++;
  if( benchHasFlash(c) ){
    aFlash = benchMalloc(sizeof(float)*(size_t)nOut);
    ra[J_FLASH].aOut = aFlash;
    aJob[nJob].x = benchFlashFn; aJob[nJob].pArg = &ra[J_FLASH];
    iJob[J_FLASH] = nJob++;
  }
  if( benchHasBase(c) ){
    /* ra[4], ra[5]: C API and SQL of the baseline. */
    aOne = benchMalloc(sizeof(float)*(size_t)nOut*4);
    ra[4].aOut = aOne;
    ra[5].aOut = aOne + nOut;
    aJob[nJob].x = benchApiFn; aJob[nJob].pArg = &ra[4]; iJob[J_API1] = nJob++;
    aJob[nJob].x = benchSqlFn; aJob[nJob].pArg = &ra[5]; iJob[J_SQL1] = nJob++;
    if( c->nThread>1 ){
      aPair[0] = aPair[1] = ra[4];
      aPair[0].aOut = aOne + 2*nOut;
      aPair[1].aOut = aOne + 3*nOut;
      aJob[nJob].x = benchPairFn; aJob[nJob].pArg = aPair; iJob[J_PAIR] = nJob++;
    }
  }
  pj.iLevel = benchPeakLevel(attn_kernels()->zName);
  pj.nThread = c->nThread;
  if( pj.iLevel>=0 ){
    aJob[nJob].x = benchPeakFn; aJob[nJob].pArg = &pj; iJob[J_PEAK] = nJob++;
  }
  for(j=0; j<N_REF; j++){
    if( refs.aCo[j]==0 || refs.bSingle[j] ) continue;
    aJob[nJob].x = benchRefFn; aJob[nJob].pArg = &refs.aArg[j];
    iJob[J_REF+j] = nJob++;
  }
  benchMedians(nJob, aJob);
  if( pj.iLevel>=0 ) pRow->rPeak = benchPeakRate(&pj, aJob[iJob[J_PEAK]].ms);
  sqlite3_close(db);

  pRow->msApi = aJob[iJob[J_API]].ms;
  pRow->msSql = aJob[iJob[J_SQL]].ms;
  pRow->msRead = aJob[iJob[J_READ]].ms;
  pRow->bSqlSame = memcmp(aApi, aSql, sizeof(float)*(size_t)nOut)==0;
  pRow->bFlashSame = -1;
  pRow->bThreadSame = -1;
  if( aFlash ){
    pRow->msFlash = aJob[iJob[J_FLASH]].ms;
    pRow->bFlashSame = memcmp(aApi, aFlash, sizeof(float)*(size_t)nOut)==0;
  }
  if( aOne ){
    pRow->msApi1 = aJob[iJob[J_API1]].ms;
    pRow->msSql1 = aJob[iJob[J_SQL1]].ms;
    if( c->bBf16 ){
      double rMax = 0.0, rDiff = 0.0;
      int64_t t;
      for(t=0; t<nOut; t++){
        if( fabs(aOne[t])>rMax ) rMax = fabs(aOne[t]);
        if( fabs(aApi[t]-aOne[t])>rDiff ) rDiff = fabs(aApi[t]-aOne[t]);
      }
      pRow->rBf16Err = rMax>0 ? rDiff/rMax : rDiff;
    }
    if( c->nThread>1 ){
      pRow->msPair = aJob[iJob[J_PAIR]].ms;
      pRow->bThreadSame = memcmp(aApi, aOne, sizeof(float)*(size_t)nOut)==0
          && memcmp(aApi, aOne+nOut, sizeof(float)*(size_t)nOut)==0
          && memcmp(aApi, aOne+2*nOut, sizeof(float)*(size_t)nOut)==0
          && memcmp(aApi, aOne+3*nOut, sizeof(float)*(size_t)nOut)==0;
    }
  }
  for(j=0; j<N_REF; j++){
    if( refs.aCo[j]==0 || refs.bSingle[j] ) continue;
    pRow->msRef[j] = aJob[iJob[J_REF+j]].ms;
    pRow->msPauseRef[j] = aJob[iJob[J_REF+j]].msPause;
  }

  /* Checks against ours. */
  benchNpy(zDir, "ours", aApi, c->n, c->d);
  benchRefsCheck(&refs, pRow);
  benchCoStop(&coOrt);      /* a fresh one for the next configuration */
  if( zOrtWhy==0 ) coOrt.bDead = 0;   /* even if this one failed */
  benchInputsFree(&in);
  benchMem(iCfg, pRow);
  snprintf(zOurs, sizeof(zOurs), "%s/ours.npy", zDir);
  if( zAlsoKernel && benchHasFlash(c) ) benchLevel(iCfg, zOurs, pRow);
  {
    /* Tolerance: float32 rounding of both sides, relative to the output. */
    double rMax = NAN, tol;
    for(j=0; j<N_REF; j++) if( !isnan(pRow->maxRef[j]) ){ rMax = pRow->maxRef[j]; break; }
    tol = 1e-4 + 1e-4*(isnan(rMax) ? 1.0 : rMax);
    if( c->bBf16 ) tol = 1e-2*(isnan(rMax) ? 1.0 : rMax);  /* bf16's bound */
    pRow->bWrong = !pRow->bSqlSame || pRow->bThreadSame==0 || pRow->bFlashSame==0
                || pRow->diffLvl>tol || pRow->rBf16Err>1e-2;
    for(j=0; j<N_REF; j++){
      if( !isnan(pRow->msRef[j]) && !(pRow->diffRef[j]<=tol) ) pRow->bWrong = 1;
    }
  }
  {
    char zCmd[4200];
    snprintf(zCmd, sizeof(zCmd), "rm -rf '%s'", zDir);
    if( system(zCmd) ){ /* leave it */ }
  }
  free(aApi); free(aSql); free(aRead); free(aFlash); free(aOne);
}

/*
** Output.
*/
static double benchFlop(const Cfg *c){
  double f = 4.0*(double)c->n*(double)c->n*(double)c->d;
  if( c->bMha ) f += 8.0*(double)c->n*(double)c->d*(double)c->d;
  return f;
}

/* GFLOP/s of a run of configuration c taking ms. */
static double benchGflops(const Cfg *c, double ms){
  return benchFlop(c)/(ms*1e6);
}

/* A table cell: "–" for NAN. */
static const char *benchCell(char *z, size_t n, const char *zFmt, double v){
  if( isnan(v) ) snprintf(z, n, "–");
  else snprintf(z, n, zFmt, v);
  return z;
}

/* "a / b" of two ratios, or "–". */
static const char *benchPair2(char *z, size_t n, const char *zFmt, double a,
                              double b){
  char za[32], zb[32];
  if( isnan(a) && isnan(b) ) snprintf(z, n, "–");
  else snprintf(z, n, "%s / %s", benchCell(za, 32, zFmt, a),
                benchCell(zb, 32, zFmt, b));
  return z;
}

static const Row *benchFind(const Row *aRow, int nRow, int bMha, int n, int d,
                            int bCausal, int nThread){
  int i;
  for(i=0; i<nRow; i++){
    const Cfg *c = aRow[i].pCfg;
    if( c->bMha==bMha && c->n==n && c->d==d && c->bCausal==bCausal
     && c->nThread==nThread && !c->bBf16 ) return &aRow[i];
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

/* The CPU, from /proc/cpuinfo (first processor) and sysfs: model name,
** family/model/stepping, the SIMD flags the kernels and the peak loops use
** (and those they would: AVX-512 BF16/FP16, AMX), the caches. */
static void benchCpu(char *zOut, size_t nOut, char *zModel, size_t nModel){
  static const char *azFlag[] = {
    "sse4_2", "avx", "fma", "f16c", "avx2", "avx512f", "avx512dq", "avx512bw",
    "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
    "amx_bf16", "amx_int8",
  };
  char zLine[8192], zFam[32] = "?", zMod[32] = "?", zStep[32] = "?";
  char zHave[512] = "", zLack[512] = "", zCache[256] = "";
  char *zFlags = 0;
  FILE *f = fopen("/proc/cpuinfo", "r");
  size_t i;
  snprintf(zModel, nModel, "unknown CPU");
  while( f && fgets(zLine, sizeof(zLine), f) ){
    char *z = strchr(zLine, ':');
    if( zLine[0]=='\n' ) break;                 /* end of processor 0 */
    if( z==0 ) continue;
    z += 1 + (z[1]==' ');
    z[strcspn(z, "\n")] = 0;
    if( strncmp(zLine, "model name", 10)==0 ) snprintf(zModel, nModel, "%s", z);
    else if( strncmp(zLine, "cpu family", 10)==0 ) snprintf(zFam, sizeof(zFam), "%s", z);
    else if( strncmp(zLine, "model\t", 6)==0 ) snprintf(zMod, sizeof(zMod), "%s", z);
    else if( strncmp(zLine, "stepping", 8)==0 ) snprintf(zStep, sizeof(zStep), "%s", z);
    else if( strncmp(zLine, "flags", 5)==0 && zFlags==0 ){
      size_t n = strlen(z);
      zFlags = benchMalloc(n+3);
      snprintf(zFlags, n+3, " %s ", z);
    }
  }
  if( f ) fclose(f);
  for(i=0; i<sizeof(azFlag)/sizeof(azFlag[0]); i++){
    char zPat[40];
    char *zTo = zHave;
    snprintf(zPat, sizeof(zPat), " %s ", azFlag[i]);
    if( zFlags==0 || strstr(zFlags, zPat)==0 ) zTo = zLack;
    snprintf(zTo+strlen(zTo), 512-strlen(zTo), "%s%s", zTo[0] ? " " : "", azFlag[i]);
  }
  for(i=0; i<5; i++){
    char zPath[128], zLevel[16] = "", zType[32] = "", zSize[32] = "";
    FILE *g;
    snprintf(zPath, sizeof(zPath), "/sys/devices/system/cpu/cpu0/cache/index%d/level", (int)i);
    if( (g = fopen(zPath, "r"))==0 ) break;
    if( fscanf(g, "%15s", zLevel)!=1 ) zLevel[0] = 0;
    fclose(g);
    snprintf(zPath, sizeof(zPath), "/sys/devices/system/cpu/cpu0/cache/index%d/type", (int)i);
    if( (g = fopen(zPath, "r")) ){ if( fscanf(g, "%31s", zType)!=1 ) zType[0] = 0; fclose(g); }
    snprintf(zPath, sizeof(zPath), "/sys/devices/system/cpu/cpu0/cache/index%d/size", (int)i);
    if( (g = fopen(zPath, "r")) ){ if( fscanf(g, "%31s", zSize)!=1 ) zSize[0] = 0; fclose(g); }
    if( strcmp(zType, "Instruction")==0 ) continue;
    snprintf(zCache+strlen(zCache), sizeof(zCache)-strlen(zCache), "%sL%s%s %s",
             zCache[0] ? ", " : "", zLevel, strcmp(zType, "Data")==0 ? "d" : "",
             zSize);
  }
  snprintf(zOut, nOut, "%s (/proc/cpuinfo: family %s, model %s, stepping %s); "
           "%ld logical CPUs; flags: %s; not: %s; caches of cpu0: %s",
           zModel, zFam, zMod, zStep, sysconf(_SC_NPROCESSORS_ONLN),
           zHave[0] ? zHave : "none of these", zLack[0] ? zLack : "none",
           zCache[0] ? zCache : "unknown");
  free(zFlags);
}

/* One line of the targets table. */
static int nTargetMet = 0, nTargetNot = 0;
static void benchTarget(const char *zWhat, const char *zWanted,
                        const char *zMeasured, const char *zStatus){
  if( strncmp(zStatus, "met", 3)==0 ) nTargetMet++;
  else if( strncmp(zStatus, "not measured", 12) ) nTargetNot++;
  benchOut("| %s | %s | %s | %s |\n", zWhat, zWanted, zMeasured, zStatus);
}

/* A ratio target (≥ rWant, or ≤ with bAtMost) measured through SQL and
** the C API: met when SQL meets it. */
static void benchTarget2(const char *zWhat, double rSql, double rApi,
                         double rWant, int bAtMost, const char *zUnit){
  char zM[128], zWant[64], zS[32], zA[32], zFmt[16];
  const char *zStatus;
  snprintf(zFmt, sizeof(zFmt), "%%.%df%s", zUnit[0]==' ' ? 1 : 2, zUnit);
  snprintf(zWant, sizeof(zWant), "%s %g%s", bAtMost ? "≤" : "≥", rWant, zUnit);
  snprintf(zM, sizeof(zM), "%s / %s", benchCell(zS, 32, zFmt, rSql),
           benchCell(zA, 32, zFmt, rApi));
  if( isnan(rSql) ) zStatus = "not measured";
  else if( bAtMost ? rSql<=rWant : rSql>=rWant ) zStatus = "met";
  else if( !isnan(rApi) && (bAtMost ? rApi<=rWant : rApi>=rWant) ){
    zStatus = "met through the C API only";
  }else zStatus = "NOT MET";
  benchTarget(zWhat, zWant, zM, zStatus);
}

/* The share of its level's peak of a run of c taking ms (NAN if none).
** For a causal row only the allowed pairs count here, N(N+1)/2 of N², so
** the share is of work that had to be done. */
static double benchShare(const Row *r, double ms, int bAlso){
  const Cfg *c = r->pCfg;
  double f = benchFlop(c);
  if( c->bCausal ){
    f -= 4.0*(double)c->n*(double)c->n*(double)c->d
         * (1.0 - ((double)c->n+1.0)/(2.0*(double)c->n));
  }
  return 100.0*f/(ms*1e6)/(bAlso ? r->rLvlPeak : r->rPeak);
}

static void benchTables(const Row *aRow, int nRow, const char *zLevel){
  char a[24][80];
  int i, j;

  benchOut("### Ours\n\n"
    "| configuration | N | d | threads | SQL (ms) | GFLOP/s | %% of peak | "
    "C API (ms) | GFLOP/s | %% of peak | kernel alone (ms) | %% of peak | "
    "FMA peak, same rounds (GFLOP/s) | "
    "SQL overhead | of it, reading the source rows | speed-up: SQL / C API "
    "| check |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  for(i=0; i<nRow; i++){
    const Row *r = &aRow[i];
    const Cfg *c = r->pCfg;
    char zUp[80];
    benchPair2(zUp, sizeof(zUp), "%.2f×", r->msSql1/r->msSql, r->msApi1/r->msApi);
    if( strcmp(zUp, "–") ){
      size_t n = strlen(zUp);
      snprintf(zUp+n, sizeof(zUp)-n, " %s", c->bBf16 ? "vs fp32" :
               c->bCausal ? "vs full" : "vs 1 thread");
    }
    benchOut("| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | "
             "%s | %s | %s | %s | %s%s |\n",
             c->zName, c->n, c->d, c->nThread,
             benchCell(a[0], 80, "%.1f", r->msSql),
             benchCell(a[1], 80, "%.0f", benchGflops(c, r->msSql)),
             benchCell(a[2], 80, "%.0f %%", benchShare(r, r->msSql, 0)),
             benchCell(a[3], 80, "%.1f", r->msApi),
             benchCell(a[4], 80, "%.0f", benchGflops(c, r->msApi)),
             benchCell(a[5], 80, "%.0f %%", benchShare(r, r->msApi, 0)),
             benchCell(a[6], 80, "%.1f", r->msFlash),
             benchCell(a[7], 80, "%.0f %%", benchShare(r, r->msFlash, 0)),
             benchCell(a[10], 80, "%.0f", r->rPeak),
             benchCell(a[8], 80, "%+.1f %%", 100.0*(r->msSql/r->msApi - 1.0)),
             benchCell(a[9], 80, "%.1f %%", 100.0*r->msRead/r->msApi),
             zUp, r->bWrong ? "WRONG" : "ok",
             r->bThreadSame==1 ? " (= 1 thread, bitwise)" : "");
  }

  benchOut("\n### References (same data, same rounds)\n\n"
    "| configuration | N | d | threads | ONNX Runtime (ms) | × ORT: SQL / C API "
    "| NumPy (ms) | × NumPy: SQL / C API | PyTorch (ms) | × PyTorch: SQL / C API |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  for(i=0; i<nRow; i++){
    const Row *r = &aRow[i];
    const Cfg *c = r->pCfg;
    benchOut("| %s | %d | %d | %d |", c->zName, c->n, c->d, c->nThread);
    for(j=0; j<N_REF; j++){
      benchOut(" %s | %s |", benchCell(a[0], 80, "%.1f", r->msRef[j]),
               benchPair2(a[1], 80, "%.2f", r->msRef[j]/r->msSql,
                          r->msRef[j]/r->msApi));
    }
    benchOut("\n");
  }

  benchOut("\n### Memory and checks\n\n"
    "| configuration | N | d | threads | peak MiB: ours C API / SQL | ORT | NumPy "
    "| PyTorch | max abs diff vs ORT / NumPy / PyTorch | check |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  for(i=0; i<nRow; i++){
    const Row *r = &aRow[i];
    const Cfg *c = r->pCfg;
    char zWhy[200] = "";
    if( !r->bSqlSame ) strcat(zWhy, "; SQL ≠ C API");
    if( r->bThreadSame==0 ) strcat(zWhy, "; ≠ 1 thread");
    if( r->bFlashSame==0 ) strcat(zWhy, "; kernel alone ≠ C API");
    benchOut("| %s | %d | %d | %d | %s | %s | %s | %s | %s / %s / %s | %s%s |\n",
             c->zName, c->n, c->d, c->nThread,
             benchPair2(a[0], 80, "%.1f", r->mibApi, r->mibSql),
             benchCell(a[1], 80, "%.0f", r->mibRef[REF_ORT]),
             benchCell(a[2], 80, "%.0f", r->mibRef[REF_NP]),
             benchCell(a[3], 80, "%.0f", r->mibRef[REF_TORCH]),
             benchCell(a[4], 80, "%.1e", r->diffRef[REF_ORT]),
             benchCell(a[5], 80, "%.1e", r->diffRef[REF_NP]),
             benchCell(a[6], 80, "%.1e", r->diffRef[REF_TORCH]),
             r->bWrong ? "WRONG" : "ok", zWhy);
  }

  /* precision = 'bf16' against our fp32 path and ONNX Runtime (fp32). */
  for(i=0; i<nRow && !aRow[i].pCfg->bBf16; i++){}
  if( i<nRow ){
    benchOut("\n### precision = 'bf16' (bf16 kernel: %s)\n\n"
      "| configuration | N | d | SQL (ms) | C API (ms) | GFLOP/s | our fp32, C API "
      "(ms) | × our fp32: SQL / C API | ONNX Runtime fp32 (ms) | × ORT: SQL / C "
      "API | max error (of the output scale) |\n"
      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n", attn_kernels_bf16());
    for(; i<nRow; i++){
      const Row *r = &aRow[i];
      const Cfg *c = r->pCfg;
      if( !c->bBf16 ) continue;
      benchOut("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
               c->zName, c->n, c->d,
               benchCell(a[0], 80, "%.1f", r->msSql),
               benchCell(a[1], 80, "%.1f", r->msApi),
               benchCell(a[2], 80, "%.0f", benchGflops(c, r->msApi)),
               benchCell(a[3], 80, "%.1f", r->msApi1),
               benchPair2(a[4], 80, "%.2f", r->msSql1/r->msSql,
                          r->msApi1/r->msApi),
               benchCell(a[5], 80, "%.1f", r->msRef[REF_ORT]),
               benchPair2(a[6], 80, "%.2f", r->msRef[REF_ORT]/r->msSql,
                          r->msRef[REF_ORT]/r->msApi),
               benchCell(a[7], 80, "%.1e", r->rBf16Err));
    }
    benchOut("\nThe error is max |bf16 − fp32| / max |fp32| over every output "
             "element, our fp32 being within 1e-6 of float64 (make test); "
             "the bound is 1e-2.\n");
  }

  /* The kernel alone, at each level against its own peak. */
  for(i=0; i<nRow && !benchHasFlash(aRow[i].pCfg); i++){}
  if( i==nRow ) return;
  benchOut("\n### The flash kernel alone (attn_forward() on a prepared state, "
           "one head, one thread)\n\n"
           "| N | d | kernel set | FMA peak, same rounds (GFLOP/s) | kernel alone (ms) | "
           "GFLOP/s | %% of peak | C API (ms) | %% of peak | SQL: %% of peak "
           "| max abs diff vs %s |\n"
           "|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|\n", zLevel);
  for(j=0; j<2; j++){
    const char *zL = j ? zAlsoKernel : zLevel;
    if( zL==0 ) continue;
    for(i=0; i<nRow; i++){
      const Row *r = &aRow[i];
      const Cfg *c = r->pCfg;
      double msF = j ? r->msLvlFlash : r->msFlash;
      double msA = j ? r->msLvlApi : r->msApi;
      if( !benchHasFlash(c) ) continue;
      benchOut("| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
               c->n, c->d, zL,
               benchCell(a[0], 80, "%.0f", j ? r->rLvlPeak : r->rPeak),
               benchCell(a[1], 80, "%.1f", msF),
               benchCell(a[2], 80, "%.0f", benchGflops(c, msF)),
               benchCell(a[3], 80, "%.0f %%", benchShare(r, msF, j)),
               benchCell(a[4], 80, "%.1f", msA),
               benchCell(a[5], 80, "%.0f %%", benchShare(r, msA, j)),
               j ? "–" : benchCell(a[6], 80, "%.0f %%", benchShare(r, r->msSql, 0)),
               j ? benchCell(a[7], 80, "%.1e", r->diffLvl) : "–");
    }
  }
}

/* The targets of the performance issue. */
static void benchTargets(const Row *aRow, int nRow, const char *zLevel){
  static const int aN[3] = { 1024, 4096, 16384 };
  static const int aD[3] = { 64, 128, 384 };
  const Row *a, *b;
  char zWhat[600], zM[300], zWant[64];
  double x;
  int i, j, t;

  benchOut("\n### Targets\n\n| target | wanted | measured | status |\n"
           "|---|---|---|---|\n");
  /* The kernel (C API) and SQL against the FMA peak. */
  for(i=1; i<3; i++){
    for(j=0; j<3; j++){
      double rF, rA, rS;
      a = benchFind(aRow, nRow, 0, aN[i], aD[j], 0, 1);
      rF = a ? benchShare(a, a->msFlash, 0) : NAN;
      rA = a ? benchShare(a, a->msApi, 0) : NAN;
      rS = a ? benchShare(a, a->msSql, 0) : NAN;
      snprintf(zWhat, sizeof(zWhat), "flash kernel (%s), N=%d, d=%d: share of "
               "the FMA peak", zLevel, aN[i], aD[j]);
      snprintf(zM, sizeof(zM), "kernel alone %.0f %%, C API %.0f %%", rF, rA);
      benchTarget(zWhat, "≥ 80 %", a ? zM : "–",
                  !a || isnan(rF) ? "not measured" : rA>=80.0 ? "met"
                  : rF>=80.0 ? "met by the kernel alone" : "NOT MET");
      snprintf(zWhat, sizeof(zWhat), "through SQL, N=%d, d=%d: share of the "
               "FMA peak", aN[i], aD[j]);
      snprintf(zM, sizeof(zM), "%.0f %%", rS);
      benchTarget(zWhat, "≥ 75 %", a ? zM : "–",
                  !a || isnan(rS) ? "not measured" : rS>=75.0 ? "met" : "NOT MET");
    }
  }
  /* The AVX2 level against its own peak. */
  {
    const char *zL = strcmp(zLevel, "avx2")==0 ? zLevel
                   : zAlsoKernel && strcmp(zAlsoKernel, "avx2")==0 ? zAlsoKernel : 0;
    for(i=1; i<3; i++){
      for(j=0; j<3; j++){
        double r;
        a = benchFind(aRow, nRow, 0, aN[i], aD[j], 0, 1);
        r = !a || !zL ? NAN : zL==zLevel ? benchShare(a, a->msFlash, 0)
                                         : benchShare(a, a->msLvlFlash, 1);
        snprintf(zWhat, sizeof(zWhat), "AVX2 level, kernel alone, N=%d, d=%d: "
                 "share of the ymm FMA peak", aN[i], aD[j]);
        snprintf(zM, sizeof(zM), "%.0f %%", r);
        benchTarget(zWhat, "≥ 75 %", isnan(r) ? "–" : zM,
                    isnan(r) ? "not measured" : r>=75.0 ? "met" : "NOT MET");
      }
    }
  }
  /* ONNX Runtime, every non-causal configuration, 1 and 2 threads. */
  for(t=1; t<=2; t++){
    for(i=0; i<3; i++){
      for(j=0; j<3; j+=2){
        a = benchFind(aRow, nRow, 0, aN[i], aD[j], 0, t);
        snprintf(zWhat, sizeof(zWhat), "× ONNX Runtime (MultiHeadAttention), "
                 "one head, N=%d, d=%d, threads=%d (SQL / C API)", aN[i], aD[j], t);
        benchTarget2(zWhat, a ? a->msRef[REF_ORT]/a->msSql : NAN,
                     a ? a->msRef[REF_ORT]/a->msApi : NAN, 1.3, 0, "×");
      }
    }
    a = benchFind(aRow, nRow, 1, 4096, 384, 0, t);
    snprintf(zWhat, sizeof(zWhat), "× ONNX Runtime, 6 heads of 64 + "
             "projections, N=4096, threads=%d (SQL / C API)", t);
    benchTarget2(zWhat, a ? a->msRef[REF_ORT]/a->msSql : NAN,
                 a ? a->msRef[REF_ORT]/a->msApi : NAN, 1.3, 0, "×");
  }
  /* NumPy. */
  for(i=0; i<3; i++){
    for(j=0; j<3; j+=2){
      a = benchFind(aRow, nRow, 0, aN[i], aD[j], 0, 1);
      snprintf(zWhat, sizeof(zWhat), "× NumPy, N=%d, d=%d (SQL / C API)",
               aN[i], aD[j]);
      benchTarget2(zWhat, a ? a->msRef[REF_NP]/a->msSql : NAN,
                   a ? a->msRef[REF_NP]/a->msApi : NAN, aD[j]==64 ? 3.5 : 1.6,
                   0, "×");
    }
  }
  a = benchFind(aRow, nRow, 1, 4096, 384, 0, 1);
  benchTarget2("× nn.MultiheadAttention, 6 heads + projections, N=4096 (SQL / "
               "C API)", a ? a->msRef[REF_TORCH]/a->msSql : NAN,
               a ? a->msRef[REF_TORCH]/a->msApi : NAN, 3.0, 0, "×");
  /* Causal: against full attention timed in the same rounds. */
  b = benchFind(aRow, nRow, 0, 4096, 64, 1, 1);
  benchTarget2("causal vs full, N=4096, d=64 (speed-up, SQL / C API)",
               b ? b->msSql1/b->msSql : NAN, b ? b->msApi1/b->msApi : NAN,
               1.8, 0, "×");
  b = benchFind(aRow, nRow, 1, 4096, 384, 1, 1);
  {
    /* The projections are not shortened by the mask: with them a share
    ** f of the work, halving the rest gives at most 1/(f + (1-f)/2). */
    double rProj = 8.0*4096*384*384, rAttn = 4.0*4096*4096*384;
    double f = rProj/(rProj + rAttn);
    snprintf(zWhat, sizeof(zWhat), "causal vs full, N=4096, 6 heads + proj "
             "(speed-up, SQL / C API; the projections, %.0f %% of the work, "
             "cost the same, so at most %.2f×)", 100.0*f, 1.0/(f + (1.0-f)/2.0));
    benchTarget2(zWhat, b ? b->msSql1/b->msSql : NAN,
                 b ? b->msApi1/b->msApi : NAN, 1.8, 0, "×");
  }
  /* Threads: against one thread timed in the same rounds. */
  for(i=0; i<2; i++){
    b = i==0 ? benchFind(aRow, nRow, 0, 4096, 64, 0, 2)
             : benchFind(aRow, nRow, 1, 4096, 384, 0, 2);
    snprintf(zWhat, sizeof(zWhat), "threads 2 vs 1, N=4096, %s (speed-up, SQL "
             "/ C API", i==0 ? "d=64" : "6 heads + proj");
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
    benchTarget2(zWhat, b ? b->msSql1/b->msSql : NAN,
                 b ? b->msApi1/b->msApi : NAN, 1.8, 0, "×");
  }
  a = benchFind(aRow, nRow, 0, 16384, 64, 0, 1);
  benchTarget2("memory beyond the inputs, N=16384, d=64 (SQL / C API)",
               a ? a->mibSql : NAN, a ? a->mibApi : NAN, 64, 1, " MiB");
  x = NAN;
  a = 0;
  for(i=0; i<nRow; i++){
    double o = 100.0*(aRow[i].msSql/aRow[i].msApi - 1.0);
    if( aRow[i].pCfg->n>=4096 && (isnan(x) || o>x) ){ x = o; a = &aRow[i]; }
  }
  if( a ){
    snprintf(zWhat, sizeof(zWhat), "SQL over the C API, worst configuration "
             "with N ≥ 4096 (%s, N=%d, d=%d, threads=%d; reading its source "
             "rows through SQLite alone: %.1f %%)", a->pCfg->zName, a->pCfg->n,
             a->pCfg->d, a->pCfg->nThread, 100.0*a->msRead/a->msApi);
  }else{
    snprintf(zWhat, sizeof(zWhat), "SQL over the C API, worst configuration "
             "with N ≥ 4096");
  }
  snprintf(zM, sizeof(zM), "%+.1f %%", x);
  snprintf(zWant, sizeof(zWant), "≤ 10 %%");
  benchTarget(zWhat, zWant, isnan(x) ? "–" : zM, isnan(x) ? "not measured"
              : x<=10.0 ? "met" : "NOT MET");
}

/* results.tsv: one line per row (times in ms, NAN as "nan"), after
** "#"-lines naming the machine and the peaks; chart.py reads it. */
static void benchTsv(const char *zPath, const Row *aRow, int nRow,
                     const char *zCpu, const char *zLevel){
  FILE *f = fopen(zPath, "w");
  int i, j;
  if( f==0 ){ fprintf(stderr, "bench: cannot write %s\n", zPath); return; }
  fprintf(f, "#cpu\t%s\n#kernel\t%s\n", zCpu, zLevel);
  for(i=0; i<2; i++){
    if( !aPeak[i].bHave ) continue;
    fprintf(f, "#peak\t%s\t1\t%.1f\n#peak\t%s\t2\t%.1f\n", aPeak[i].zLevel,
            benchPeak(aPeak[i].zLevel, 1), aPeak[i].zLevel,
            benchPeak(aPeak[i].zLevel, 2));
  }
  if( zAlsoKernel ) fprintf(f, "#also_kernel\t%s\n", zAlsoKernel);
  fprintf(f, "name\tmha\tn\td\theads\tcausal\tthreads\tgflop\tms_sql\tms_api"
          "\tms_flash\tms_ort\tms_numpy\tms_torch\tms_also_flash\tms_also_api"
          "\tcheck\n");
  for(i=0; i<nRow; i++){
    const Row *r = &aRow[i];
    const Cfg *c = r->pCfg;
    double am[8];
    am[0] = r->msSql; am[1] = r->msApi; am[2] = r->msFlash;
    am[3] = r->msRef[REF_ORT]; am[4] = r->msRef[REF_NP]; am[5] = r->msRef[REF_TORCH];
    am[6] = r->msLvlFlash; am[7] = r->msLvlApi;
    fprintf(f, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.6f", c->zName, c->bMha, c->n,
            c->d, c->nHead, c->bCausal, c->nThread, benchFlop(c)*1e-9);
    for(j=0; j<8; j++){
      if( isnan(am[j]) ) fprintf(f, "\tnan"); else fprintf(f, "\t%.4f", am[j]);
    }
    fprintf(f, "\t%s\n", r->bWrong ? "WRONG" : "ok");
  }
  fclose(f);
}

int main(int argc, char **argv){
  static const Cfg aCfg[] = {
    /* name              mha  n      d    H  causal T  quick bf16 */
    { "one head",          0, 1024,  64,  1, 0, 1, 1, 0 },
    { "one head",          0, 1024,  128, 1, 0, 1, 0, 0 },
    { "one head",          0, 1024,  384, 1, 0, 1, 0, 0 },
    { "one head",          0, 4096,  64,  1, 0, 1, 1, 0 },
    { "one head",          0, 4096,  128, 1, 0, 1, 0, 0 },
    { "one head",          0, 4096,  384, 1, 0, 1, 0, 0 },
    { "one head",          0, 16384, 64,  1, 0, 1, 0, 0 },
    { "one head",          0, 16384, 128, 1, 0, 1, 0, 0 },
    { "one head",          0, 16384, 384, 1, 0, 1, 0, 0 },
    { "one head, causal",  0, 4096,  64,  1, 1, 1, 1, 0 },
    { "6 heads + proj",    1, 4096,  384, 6, 0, 1, 1, 0 },
    { "6 heads + proj, causal", 1, 4096, 384, 6, 1, 1, 0, 0 },
    { "one head",          0, 1024,  64,  1, 0, 2, 0, 0 },
    { "one head",          0, 1024,  128, 1, 0, 2, 0, 0 },
    { "one head",          0, 1024,  384, 1, 0, 2, 0, 0 },
    { "one head",          0, 4096,  64,  1, 0, 2, 1, 0 },
    { "one head",          0, 4096,  128, 1, 0, 2, 0, 0 },
    { "one head",          0, 4096,  384, 1, 0, 2, 0, 0 },
    { "one head",          0, 16384, 64,  1, 0, 2, 0, 0 },
    { "one head",          0, 16384, 128, 1, 0, 2, 0, 0 },
    { "one head",          0, 16384, 384, 1, 0, 2, 0, 0 },
    { "6 heads + proj",    1, 4096,  384, 6, 0, 2, 0, 0 },
    /* name              mha  n      d    H  causal T  quick bf16 */
    { "bf16 one head",     0, 4096,  64,  1, 0, 1, 1, 1 },
    { "bf16 one head",     0, 4096,  128, 1, 0, 1, 0, 1 },
    { "bf16 one head",     0, 4096,  384, 1, 0, 1, 0, 1 },
    { "bf16 one head",     0, 16384, 64,  1, 0, 1, 0, 1 },
    { "bf16 one head",     0, 16384, 128, 1, 0, 1, 0, 1 },
    { "bf16 one head",     0, 16384, 384, 1, 0, 1, 0, 1 },
    { "bf16 6 heads + proj", 1, 4096, 384, 6, 0, 1, 0, 1 },
  };
  const int nCfg = (int)(sizeof(aCfg)/sizeof(aCfg[0]));
  Row aRow[sizeof(aCfg)/sizeof(aCfg[0])];
  int nRow = 0, i, j, bQuick = 0, nWrong = 0;
  const char *zOnly = 0, *zOutDir = 0, *zLevel;
  char zTmpl[] = "/tmp/attn-bench-XXXXXX", zModel[256], zCpu[2048];
  char zLoad0[128], zLoad1[128], zPath[4200];
  double t0 = benchNow();

  zSelf = argv[0];
  if( argc==3 && strcmp(argv[1], "--mem")==0 ){
    i = atoi(argv[2]);
    if( i<0 || i>=nCfg ) return 1;
    benchMemChild(&aCfg[i]);
    return 0;
  }
  if( argc==4 && strcmp(argv[1], "--level-child")==0 ){
    aPeak[0].bHave = strstr(attn_kernels_available(), "avx2")!=0;
    aPeak[1].bHave = strstr(attn_kernels_available(), "avx512")!=0;
    i = atoi(argv[2]);
    if( i<0 || i>=nCfg ) return 1;
    benchLevelChild(&aCfg[i], argv[3]);
    return 0;
  }
  if( argc<2 ){
    fprintf(stderr, "usage: %s REF.PY [--quick] [--only NAME] [--out DIR] "
            "[--also-kernel SET]\n", argv[0]);
    return 2;
  }
  zRefPy = argv[1];
  snprintf(zBenchDir, sizeof(zBenchDir), "%s", zRefPy);
  if( strrchr(zBenchDir, '/') ) *strrchr(zBenchDir, '/') = 0;
  else snprintf(zBenchDir, sizeof(zBenchDir), ".");
  for(i=2; i<argc; i++){
    if( strcmp(argv[i], "--quick")==0 ) bQuick = 1;
    else if( strcmp(argv[i], "--only")==0 && i+1<argc ) zOnly = argv[++i];
    else if( strcmp(argv[i], "--out")==0 && i+1<argc ) zOutDir = argv[++i];
    else if( strcmp(argv[i], "--also-kernel")==0 && i+1<argc ) zAlsoKernel = argv[++i];
    else benchDie("unknown argument %s", argv[i]);
  }
  signal(SIGPIPE, SIG_IGN);
  attn_kernels_init();
  zLevel = attn_kernels()->zName;
  aPeak[0].bHave = strstr(attn_kernels_available(), "avx2")!=0;
  aPeak[1].bHave = strstr(attn_kernels_available(), "avx512")!=0;
  if( zAlsoKernel==0 && benchFmaFamily(zLevel)==1 && aPeak[0].bHave ){
    zAlsoKernel = "avx2";
  }
  if( zAlsoKernel && (strcmp(zAlsoKernel, zLevel)==0
                      || strstr(attn_kernels_available(), zAlsoKernel)==0) ){
    fprintf(stderr, "bench: --also-kernel %s: this CPU offers %s, in use %s: "
            "ignored\n", zAlsoKernel, attn_kernels_available(), zLevel);
    zAlsoKernel = 0;
  }
  if( zOutDir ){
    snprintf(zPath, sizeof(zPath), "%s/results.tsv", zOutDir);
    unlink(zPath);                      /* no chart of an older run */
    snprintf(zPath, sizeof(zPath), "%s/results.md", zOutDir);
    pMd = fopen(zPath, "w");
    if( pMd==0 ) benchDie("cannot write %s", zPath);
  }
  zTmpDir = mkdtemp(zTmpl);
  if( zTmpDir==0 ) benchDie("mkdtemp failed");
  benchCpu(zCpu, sizeof(zCpu), zModel, sizeof(zModel));
  benchLoad(zLoad0, sizeof(zLoad0));
  fprintf(stderr, "bench: %s\nbench: kernel set %s (available: %s), load "
          "average %s\n", zCpu, zLevel, attn_kernels_available(), zLoad0);
  benchPeaks(0);
  for(i=0; i<2; i++){
    if( aPeak[i].bHave ){
      fprintf(stderr, "bench: FMA peak (%s, %s): %.0f GFLOP/s on one thread, "
              "%.0f + %.0f on two at once\n", aPeak[i].zLevel, aPeak[i].zReg,
              aPeak[i].r1[0], aPeak[i].r2a[0], aPeak[i].r2b[0]);
    }
  }

  for(i=0; i<nCfg; i++){
    const Cfg *c = &aCfg[i];
    Row *r = &aRow[nRow];
    char zDesc[128];
    if( bQuick && !c->bQuick ) continue;
    snprintf(zDesc, sizeof(zDesc), "%s N=%d d=%d%s threads=%d", c->zName,
             c->n, c->d, c->bCausal ? " causal" : "", c->nThread);
    if( zOnly && strstr(zDesc, zOnly)==0 ) continue;
    fprintf(stderr, "bench: %s ...\n", zDesc);
    benchConfig(c, i, r);
    fprintf(stderr, "bench:   ours %.1f ms (C API %.1f ms", r->msSql, r->msApi);
    if( !isnan(r->msFlash) ) fprintf(stderr, ", kernel %.1f ms", r->msFlash);
    if( !isnan(r->msLvlFlash) ) fprintf(stderr, ", %s kernel %.1f ms", zAlsoKernel, r->msLvlFlash);
    fprintf(stderr, ")");
    for(j=0; j<N_REF; j++) fprintf(stderr, ", %s %.1f ms", azRefShort[j], r->msRef[j]);
    fprintf(stderr, "%s\n", r->bWrong ? "  WRONG" : "");
    nWrong += r->bWrong;
    nRow++;
  }
  if( zOnly==0 || strstr("half BLOBs", zOnly) ){
    benchHalf(zOutDir ? zOutDir : zTmpDir);
  }
  if( zOnly==0 || strstr("new row", zOnly) ) benchNewRow();
  benchCoStop(&aPy[0]);
  benchCoStop(&aPy[1]);
  benchCoStop(&coOrt);
  rmdir(zTmpDir);
  benchPeaks(1);
  benchLoad(zLoad1, sizeof(zLoad1));

  /* The report. */
  benchOut("CPU: %s.\n\n", zCpu);
  benchOut("Kernel set: %s (this CPU offers: %s); SQLite %s.\n\n", zLevel,
           attn_kernels_available(), sqlite3_libversion());
  for(i=0; i<2; i++){
    if( !aPeak[i].bHave ) continue;
    benchOut("FMA peak, %s (%s, %d independent accumulators): %.0f GFLOP/s on "
             "one thread (start %.0f, end %.0f); two threads at once %.0f "
             "(start %.0f + %.0f, end %.0f + %.0f).\n\n", aPeak[i].zLevel,
             aPeak[i].zReg, i ? PEAK_ZMM_ACC : PEAK_YMM_ACC,
             benchPeak(aPeak[i].zLevel, 1), aPeak[i].r1[0], aPeak[i].r1[1],
             benchPeak(aPeak[i].zLevel, 2), aPeak[i].r2a[0], aPeak[i].r2b[0],
             aPeak[i].r2a[1], aPeak[i].r2b[1]);
  }
  benchOut("References: ref.py %s; ort.js %s%s%s.\n\n",
           aPy[0].zReady[0] ? aPy[0].zReady : aPy[1].zReady[0] ? aPy[1].zReady
           : "not run (sh test/deps.sh bench)",
           coOrt.zReady[0] ? coOrt.zReady : "not run",
           zOrtWhy ? ": " : "", zOrtWhy ? zOrtWhy : "");
  benchOut("Load average before / after: %s / %s.  Total bench time %.0f s.\n\n",
           zLoad0, zLoad1, benchNow()-t0);
  benchTables(aRow, nRow, zLevel);
  benchTargets(aRow, nRow, zLevel);
  benchHalfReport();
  benchNewRowReport();
  benchOut("\nTargets met: %d; not met: %d.\n", nTargetMet, nTargetNot);
  {
    double rPause[N_REF];
    for(j=0; j<N_REF; j++){
      rPause[j] = 0.0;
      for(i=0; i<nRow; i++){
        if( aRow[i].msPauseRef[j]>rPause[j] ) rPause[j] = aRow[i].msPauseRef[j];
      }
    }
    benchOut("\nTimes are medians (wall clock) of runs in the same rounds; "
             "ratios are reference time / our time (SQL / C API); GFLOP/s = "
             "(4·N²·d [+ 8·N·d² projections]) / time, the dense count also "
             "for causal rows; %% of peak = GFLOP/s / the FMA peak timed in "
             "the same rounds (about 20 ms a round of the FMA loop of the "
             "kernel set in use, on as many threads; so it moves with the "
             "host's load as the row does), counting, for causal rows, only "
             "the allowed pairs: N(N+1)/2.  \"Kernel alone\": attn_forward() "
             "on a state prepared untimed.  \"Reading the source rows\": "
             "stepping the source SELECT and copying its vectors into one "
             "array, as a share of the C API time (the part of the SQL "
             "overhead no extension can avoid).  Peak memory is the growth of "
             "VmHWM over VmRSS during one call (after resetting the peak "
             "through /proc/self/clear_refs): for ours in a fresh process, "
             "beyond the input arrays (C API) or the filled table (SQL); for "
             "the references in their long-lived process, beyond the loaded "
             "inputs, on their first run.  Longest wait for a reference's "
             "processes to go idle after one of its runs: ORT %.0f ms, NumPy "
             "%.0f ms, PyTorch %.0f ms (at least 2 ms).\n", rPause[REF_ORT],
             rPause[REF_NP], rPause[REF_TORCH]);
  }
  nWrong += newRow.bWrong;
  if( nWrong ) benchOut("\n%d configuration(s) WRONG: see the check column.\n", nWrong);
  if( zOutDir ){
    snprintf(zPath, sizeof(zPath), "%s/results.tsv", zOutDir);
    benchTsv(zPath, aRow, nRow, zCpu, zLevel);
    fclose(pMd);
  }
  attn_threads_free(pBenchThreads);
  return nWrong ? 1 : 0;
}
