/*
** threads.h: a small pool of worker threads for one attention computation.
**
** attn_pool_run() runs xTask(pArg, i, iWorker) for every i in [0, nTask) on
** the calling thread (worker 0) and the pool's workers (1..n-1), and returns
** when all are done.  Tasks are claimed from a shared counter, so the split
** adapts to load; a task's result must not depend on which worker runs it
** (each has its own scratch, indexed by iWorker), which keeps the output
** bits independent of the thread count.
**
** Workers start on the first run that has more than one task, sleep on a
** condition variable between runs (never spin), and are joined by
** attn_pool_free().  If a thread cannot be started, the pool simply runs
** with fewer.
*/
#ifndef ATTN_THREADS_H
#define ATTN_THREADS_H

#include <stdint.h>

/* The most threads a pool will run. */
#define ATTN_MAX_THREADS 64

typedef struct attn_pool attn_pool;

typedef void (*attn_task_fn)(void *pArg, int64_t iTask, int iWorker);

/* A pool of nThread threads in all, counting the caller (1..ATTN_MAX_THREADS).
** Returns NULL when out of memory. */
attn_pool *attn_pool_new(int nThread);

/* Stop and join the workers, free the pool.  NULL is a no-op. */
void attn_pool_free(attn_pool *p);

/* Number of threads (workers + caller); scratch arrays need this many. */
int attn_pool_size(const attn_pool *p);

/* Run nTask tasks; returns when all have finished. */
void attn_pool_run(attn_pool *p, int64_t nTask, attn_task_fn xTask, void *pArg);

#endif /* ATTN_THREADS_H */
