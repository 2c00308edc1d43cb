/*
** threads.c: the worker threads (see threads.h).
**
** One mutex and two condition variables: workers wait on cvWork for a new
** generation of work, the caller waits on cvDone for the last worker of the
** run to leave it.  Each run says how many threads it uses (nUse); workers
** numbered from nUse on see the generation go by and wait for the next.
** Tasks are handed out by an atomic counter.
**
** A process forked while workers exist has none of them in the child (only
** the forking thread is copied): there runs are done by the caller alone,
** and the workers are neither waited for nor joined (the set remembers the
** process that started them).
*/
#include "threads.h"
#include "alloc.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

struct attn_threads {
  int nStarted;               /* workers running, numbered 1..nStarted */
  int bStartFailed;           /* pthread_create() failed: start no more */
  pid_t pid;                  /* the process the workers run in */
  pthread_t aThread[ATTN_MAX_THREADS];
  pthread_mutex_t mutex;
  pthread_cond_t cvWork;      /* signalled when a generation starts or on stop */
  pthread_cond_t cvDone;      /* signalled when the last worker finishes */
  uint64_t iGeneration;       /* incremented for each run */
  int bStop;                  /* workers exit */
  int nUse;                   /* threads of the current run, caller included */
  int nBusy;                  /* workers still in the current run */
  attn_task_fn xTask;         /* current run */
  void *pArg;
  int64_t nTask;
  atomic_llong iNext;         /* next task to claim */
};

typedef struct ThreadsWorker ThreadsWorker;
struct ThreadsWorker {
  attn_threads *p;
  int iWorker;
  uint64_t iSeen;             /* the generation current when it started */
};

/* Claim and run tasks until none are left. */
static void threadsDrain(attn_threads *p, int iWorker){
  while( 1 ){
    int64_t i = (int64_t)atomic_fetch_add(&p->iNext, 1);
    if( i>=p->nTask ) break;
    p->xTask(p->pArg, i, iWorker);
  }
}

static void *threadsMain(void *pArg){
  ThreadsWorker *pW = (ThreadsWorker*)pArg;
  attn_threads *p = pW->p;
  int iWorker = pW->iWorker;
  uint64_t iSeen = pW->iSeen;
  attn_free(pW);
  pthread_mutex_lock(&p->mutex);
  while( 1 ){
    while( !p->bStop && p->iGeneration==iSeen ){
      pthread_cond_wait(&p->cvWork, &p->mutex);
    }
    if( p->bStop ) break;
    iSeen = p->iGeneration;
    if( iWorker>=p->nUse ) continue;        /* not in this run */
    pthread_mutex_unlock(&p->mutex);
    threadsDrain(p, iWorker);
    pthread_mutex_lock(&p->mutex);
    if( --p->nBusy==0 ) pthread_cond_signal(&p->cvDone);
  }
  pthread_mutex_unlock(&p->mutex);
  return 0;
}

attn_threads *attn_threads_new(void){
  attn_threads *p = attn_malloc_zero(sizeof(*p));
  if( p==0 ) return 0;
  pthread_mutex_init(&p->mutex, 0);
  pthread_cond_init(&p->cvWork, 0);
  pthread_cond_init(&p->cvDone, 0);
  atomic_init(&p->iNext, 0);
  return p;
}

/* Start workers up to number nWorker.  A failure leaves fewer (and, for
** pthread_create(), no later run tries again). */
static void threadsStart(attn_threads *p, int nWorker){
  if( p->nStarted==0 ) p->pid = getpid();
  while( p->nStarted<nWorker && !p->bStartFailed ){
    ThreadsWorker *pW = attn_malloc(sizeof(*pW));
    if( pW==0 ) break;
    pW->p = p;
    pW->iWorker = p->nStarted+1;
    pW->iSeen = p->iGeneration;   /* only the caller changes it */
    if( pthread_create(&p->aThread[p->nStarted], 0, threadsMain, pW)!=0 ){
      attn_free(pW);
      p->bStartFailed = 1;
      break;
    }
    p->nStarted++;
  }
}

void attn_threads_run(attn_threads *p, int nThread, int64_t nTask,
                      attn_task_fn xTask, void *pArg){
  int64_t i;
  if( nThread>ATTN_MAX_THREADS ) nThread = ATTN_MAX_THREADS;
  if( nThread>nTask ) nThread = (int)nTask;
  if( p && p->nStarted>0 && p->pid!=getpid() ) p = 0;   /* a forked child */
  if( p && nThread>1 ){
    threadsStart(p, nThread-1);
    if( nThread>p->nStarted+1 ) nThread = p->nStarted+1;
  }
  if( p==0 || nThread<=1 || nTask<=1 ){
    for(i=0; i<nTask; i++) xTask(pArg, i, 0);
    return;
  }
  pthread_mutex_lock(&p->mutex);
  p->xTask = xTask;
  p->pArg = pArg;
  p->nTask = nTask;
  atomic_store(&p->iNext, 0);
  p->nUse = nThread;
  p->nBusy = nThread-1;
  p->iGeneration++;
  pthread_cond_broadcast(&p->cvWork);
  pthread_mutex_unlock(&p->mutex);
  threadsDrain(p, 0);
  pthread_mutex_lock(&p->mutex);
  while( p->nBusy>0 ) pthread_cond_wait(&p->cvDone, &p->mutex);
  pthread_mutex_unlock(&p->mutex);
}

void attn_threads_free(attn_threads *p){
  int i;
  if( p==0 ) return;
  if( p->nStarted>0 && p->pid!=getpid() ){
    attn_free(p);          /* a forked child: the workers are the parent's */
    return;
  }
  pthread_mutex_lock(&p->mutex);
  p->bStop = 1;
  pthread_cond_broadcast(&p->cvWork);
  pthread_mutex_unlock(&p->mutex);
  for(i=0; i<p->nStarted; i++) pthread_join(p->aThread[i], 0);
  pthread_cond_destroy(&p->cvDone);
  pthread_cond_destroy(&p->cvWork);
  pthread_mutex_destroy(&p->mutex);
  attn_free(p);
}
