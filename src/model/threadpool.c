/* The pool: workers sleep on a condition variable until a new generation of
 * work is posted, claim task indices with an atomic counter, and the last
 * one to finish wakes the caller. */
#include "model/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct worker_slot {
    pthread_t thread;
    rmb_pool *pool;
    int index;
} worker_slot;

struct rmb_pool {
    int n_threads;
    worker_slot *workers; /* [0] is the caller's and has no thread */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation; /* bumped for each posted loop */
    int busy;                 /* workers still inside the current loop */
    bool quit;
    rmb_task_fn fn;
    void *arg;
    size_t n_tasks;
    atomic_size_t next;
};

static void drain(rmb_pool *p, int thread)
{
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n_tasks;)
        p->fn(p->arg, i, thread);
}

static void *worker(void *arg)
{
    worker_slot *slot = arg;
    rmb_pool *p = slot->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        drain(p, slot->index);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

rmb_status rmb_pool_create(rmb_pool **out, int n_threads, rmb_error *err)
{
    *out = NULL;
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)(n < 256 ? n : 256) : 1;
    }
    rmb_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc((size_t)n_threads, sizeof *p->workers))) {
        free(p);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n_threads = 1;
    for (int i = 1; i < n_threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].index = i;
        if (pthread_create(&p->workers[i].thread, NULL, worker, &p->workers[i]) != 0) {
            rmb_pool_destroy(p);
            return rmb_fail(err, RMB_ENOMEM, "cannot start thread %d of %d", i + 1, n_threads);
        }
        p->n_threads++;
    }
    *out = p;
    return RMB_OK;
}

void rmb_pool_destroy(rmb_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->n_threads; i++)
        pthread_join(p->workers[i].thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

int rmb_pool_threads(const rmb_pool *p)
{
    return p->n_threads;
}

void rmb_pool_run(rmb_pool *p, size_t n_tasks, rmb_task_fn fn, void *arg)
{
    if (p->n_threads == 1 || n_tasks <= 1) {
        for (size_t i = 0; i < n_tasks; i++)
            fn(arg, i, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    p->busy = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    drain(p, 0);
    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
