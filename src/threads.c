/*
** threads.c: the worker pool (see threads.h).
**
** One mutex and two condition variables: workers wait on cvWork for a new
** generation of work, the caller waits on cvDone for the last worker to
** leave it.  Tasks are handed out by an atomic counter.
*/
#include "threads.h"
#include "alloc.h"
#include <pthread.h>
#include <stdatomic.h>

struct attn_pool {
  int nThread;                /* threads in all, including the caller */
  int nStarted;               /* workers actually running */
  pthread_t aThread[ATTN_MAX_THREADS];
  pthread_mutex_t mutex;
  pthread_cond_t cvWork;      /* signalled when a generation starts or on stop */
  pthread_cond_t cvDone;      /* signalled when the last worker finishes */
  uint64_t iGeneration;       /* incremented for each run */
  int bStop;                  /* workers exit */
  int nBusy;                  /* workers still in the current generation */
  attn_task_fn xTask;         /* current run */
  void *pArg;
  int64_t nTask;
  atomic_llong iNext;         /* next task to claim */
};

typedef struct PoolWorker PoolWorker;
struct PoolWorker { attn_pool *pPool; int iWorker; };

/* Claim and run tasks until none are left. */
static void poolDrain(attn_pool *p, int iWorker){
  while( 1 ){
    int64_t i = (int64_t)atomic_fetch_add(&p->iNext, 1);
    if( i>=p->nTask ) break;
    p->xTask(p->pArg, i, iWorker);
  }
}

static void *poolMain(void *pArg){
  attn_pool *p = ((PoolWorker*)pArg)->pPool;
  int iWorker = ((PoolWorker*)pArg)->iWorker;
  uint64_t iSeen = 0;
  attn_free(pArg);
  pthread_mutex_lock(&p->mutex);
  while( 1 ){
    while( !p->bStop && p->iGeneration==iSeen ){
      pthread_cond_wait(&p->cvWork, &p->mutex);
    }
    if( p->bStop ) break;
    iSeen = p->iGeneration;
    pthread_mutex_unlock(&p->mutex);
    poolDrain(p, iWorker);
    pthread_mutex_lock(&p->mutex);
    if( --p->nBusy==0 ) pthread_cond_signal(&p->cvDone);
  }
  pthread_mutex_unlock(&p->mutex);
  return 0;
}

attn_pool *attn_pool_new(int nThread){
  attn_pool *p = attn_malloc_zero(sizeof(*p));
  if( p==0 ) return 0;
  if( nThread<1 ) nThread = 1;
  if( nThread>ATTN_MAX_THREADS ) nThread = ATTN_MAX_THREADS;
  p->nThread = nThread;
  pthread_mutex_init(&p->mutex, 0);
  pthread_cond_init(&p->cvWork, 0);
  pthread_cond_init(&p->cvDone, 0);
  atomic_init(&p->iNext, 0);
  return p;
}

int attn_pool_size(const attn_pool *p){
  return p ? p->nThread : 1;
}

/* Start the workers (once).  A failure leaves the pool smaller. */
static void poolStart(attn_pool *p){
  while( p->nStarted<p->nThread-1 ){
    PoolWorker *pW = attn_malloc(sizeof(*pW));
    if( pW==0 ) break;
    pW->pPool = p;
    pW->iWorker = p->nStarted+1;
    if( pthread_create(&p->aThread[p->nStarted], 0, poolMain, pW)!=0 ){
      attn_free(pW);
      break;
    }
    p->nStarted++;
  }
  /* Workers beyond those started never run; shrink to the truth. */
  p->nThread = p->nStarted+1;
}

void attn_pool_run(attn_pool *p, int64_t nTask, attn_task_fn xTask, void *pArg){
  int64_t i;
  if( p==0 || p->nThread<=1 || nTask<=1 ){
    for(i=0; i<nTask; i++) xTask(pArg, i, 0);
    return;
  }
  if( p->nStarted==0 ) poolStart(p);
  pthread_mutex_lock(&p->mutex);
  p->xTask = xTask;
  p->pArg = pArg;
  p->nTask = nTask;
  atomic_store(&p->iNext, 0);
  p->nBusy = p->nStarted;
  p->iGeneration++;
  pthread_cond_broadcast(&p->cvWork);
  pthread_mutex_unlock(&p->mutex);
  poolDrain(p, 0);
  pthread_mutex_lock(&p->mutex);
  while( p->nBusy>0 ) pthread_cond_wait(&p->cvDone, &p->mutex);
  pthread_mutex_unlock(&p->mutex);
}

void attn_pool_free(attn_pool *p){
  int i;
  if( p==0 ) return;
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
