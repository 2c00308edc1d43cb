/*
** threads.c: unit tests of the worker threads (src/threads.h).
**
**   - every task runs exactly once, for runs of 0..40 tasks on 1..8
**     threads in a random order of thread counts on one set (workers
**     started by a larger run stay out of smaller ones: no task sees a
**     worker number at or past its run's thread count);
**   - a run uses at most as many threads as it has tasks;
**   - a process forked after workers were started (the child has none of
**     them) still completes its runs, on the calling thread, and frees the
**     set without waiting for them; the parent's set keeps working.
*/
#include "unit.h"
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "threads.h"

typedef struct Run Run;
struct Run {
  int nThread;                 /* threads the run was asked for */
  atomic_int aCount[64];       /* times each task ran */
  atomic_int nBadWorker;       /* tasks that saw iWorker >= nThread */
  atomic_int mWorkers;         /* bit per worker number seen */
};

static void runTask(void *pArg, int64_t iTask, int iWorker){
  Run *r = (Run*)pArg;
  volatile double x = 0.0;
  int k;
  atomic_fetch_add(&r->aCount[iTask], 1);
  if( iWorker<0 || iWorker>=r->nThread ) atomic_fetch_add(&r->nBadWorker, 1);
  if( iWorker>=0 && iWorker<31 ) atomic_fetch_or(&r->mWorkers, 1<<iWorker);
  for(k=0; k<20000; k++) x += k;         /* long enough for workers to join */
}

/* One run; returns the number of problems. */
static int oneRun(attn_threads *p, int nThread, int nTask, int *pmWorkers){
  Run r;
  int i, nBad = 0;
  memset(&r, 0, sizeof(r));
  r.nThread = nThread;
  for(i=0; i<64; i++) atomic_init(&r.aCount[i], 0);
  atomic_init(&r.nBadWorker, 0);
  atomic_init(&r.mWorkers, 0);
  attn_threads_run(p, nThread, nTask, runTask, &r);
  for(i=0; i<nTask; i++) if( atomic_load(&r.aCount[i])!=1 ) nBad++;
  for(i=nTask; i<64; i++) if( atomic_load(&r.aCount[i])!=0 ) nBad++;
  nBad += atomic_load(&r.nBadWorker);
  if( pmWorkers ) *pmWorkers = atomic_load(&r.mWorkers);
  return nBad;
}

int main(void){
  attn_threads *p = attn_threads_new();
  int i, nBad = 0, nTooMany = 0, m;
  unsigned s = 12345;
  CHECK(p!=0);

  /* Random thread and task counts on one set. */
  for(i=0; i<400; i++){
    int nThread, nTask, b;
    s = s*1103515245u + 12345u;
    nThread = 1 + (int)((s>>16)%8);
    s = s*1103515245u + 12345u;
    nTask = (int)((s>>16)%41);
    nBad += oneRun(p, nThread, nTask, &m);
    for(b=0; b<31; b++){
      if( (m>>b)&1 && b>=nTask ) nTooMany++;   /* worker b had no task to take */
    }
  }
  CHECK(nBad==0);
  CHECK(nTooMany==0);
  /* NULL set or one thread: all on the caller. */
  CHECK(oneRun(0, 4, 10, &m)==0 && m==1);
  CHECK(oneRun(p, 1, 10, &m)==0 && m==1);

  /* fork() after workers were started. */
  {
    pid_t pid;
    int status = -1;
    fflush(stdout);
    pid = fork();
    if( pid==0 ){
      int bad;
      alarm(20);                          /* a hang fails, not blocks */
      bad = oneRun(p, 4, 30, &m);
      if( m!=1 ) bad++;                   /* only the caller ran tasks */
      attn_threads_free(p);
      _exit(bad==0 ? 0 : 1);
    }
    CHECK(pid>0);
    if( pid>0 ) waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status)==0);
    CHECK(oneRun(p, 4, 30, 0)==0);        /* the parent's set still works */
  }

  attn_threads_free(p);
  attn_threads_free(0);
  return UNIT_DONE();
}
