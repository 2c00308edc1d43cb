/*
** threads.h: worker threads for the attention engine.
**
** attn_threads_run() runs xTask(pArg, i, iWorker) for every i in [0, nTask)
** on the calling thread (worker 0) and workers 1..nThread-1, and returns
** when all are done.  Tasks are claimed from a shared counter, so the split
** adapts to load; a task's result must not depend on which worker runs it
** (each has its own scratch, indexed by iWorker), which keeps the output
** bits independent of the thread count.
**
** Workers start on the first run that needs them (a run with nThread
** threads starts the ones it lacks), sleep on a condition variable between
** runs (never spin), and are joined by attn_threads_free().  One set of
** workers can serve many computations one after the other, with different
** thread counts (the workers a run does not use wake, see it go by and
** sleep again): the SQL functions keep one per connection
** (attn_options.pThreads), so a query does not start and join threads.
** If a thread cannot be started, runs simply use fewer.  One caller at a
** time.
*/
#ifndef ATTN_THREADS_H
#define ATTN_THREADS_H

#include <stdint.h>

/* The most threads a run uses, the caller included. */
#define ATTN_MAX_THREADS 64

typedef struct attn_threads attn_threads;

typedef void (*attn_task_fn)(void *pArg, int64_t iTask, int iWorker);

/* No workers yet; NULL when out of memory. */
attn_threads *attn_threads_new(void);

/* Stop and join the workers, free the set.  NULL is a no-op. */
void attn_threads_free(attn_threads *p);

/* Run nTask tasks on nThread threads in all (1..ATTN_MAX_THREADS; with
** p NULL or nThread 1 the caller runs them all); returns when all have
** finished. */
void attn_threads_run(attn_threads *p, int nThread, int64_t nTask,
                      attn_task_fn xTask, void *pArg);

#endif /* ATTN_THREADS_H */
