/* A fixed pool of pthreads that runs one parallel loop at a time: task
 * indices 0..n-1 are handed out dynamically, the calling thread works too. */
#ifndef RMB_MODEL_THREADPOOL_H
#define RMB_MODEL_THREADPOOL_H

#include "rmb/common.h"

#include <stddef.h>

typedef struct rmb_pool rmb_pool;
/* thread is the runner's index in [0, rmb_pool_threads()), for per-thread scratch. */
typedef void (*rmb_task_fn)(void *arg, size_t task, int thread);

/* n_threads counts the caller; 0 means one per online CPU. */
rmb_status rmb_pool_create(rmb_pool **out, int n_threads, rmb_error *err);
void rmb_pool_destroy(rmb_pool *pool);
int rmb_pool_threads(const rmb_pool *pool);
/* Runs fn(arg, i, thread) for every i < n_tasks and returns when all are done. */
void rmb_pool_run(rmb_pool *pool, size_t n_tasks, rmb_task_fn fn, void *arg);

#endif
