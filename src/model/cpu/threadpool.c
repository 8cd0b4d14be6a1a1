/* The pool: workers claim task indices with an atomic counter.  Between
 * loops a worker spins for a short while on the generation counter before
 * it sleeps on a condition variable, and the caller spins on the count of
 * busy workers before it sleeps: a forward pass posts hundreds of loops a
 * second, and a futex wake-up per loop left a core idle for tens of
 * microseconds each time. */
#include "model/cpu/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long a thread spins before it sleeps: longer than the gaps between
 * the loops of one forward pass, short enough not to matter when idle. */
#define SPIN_NS 200000L

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
    atomic_ulong generation; /* bumped for each posted loop */
    atomic_int busy;         /* workers still inside the current loop */
    atomic_bool quit;
    bool spin; /* no more threads than CPUs: spinning takes no one's time */
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

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Spins up to SPIN_NS until done(p, arg); whether it came true. */
static bool spin_until(rmb_pool *p, bool (*done)(rmb_pool *, unsigned long), unsigned long arg)
{
    if (!p->spin)
        return false;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1;; i++) {
        if (done(p, arg))
            return true;
        if (i % 64 == 0 && elapsed_ns(&t0) > SPIN_NS)
            return false;
    }
}

static bool new_generation(rmb_pool *p, unsigned long seen)
{
    return atomic_load(&p->generation) != seen || p->quit;
}

static bool all_done(rmb_pool *p, unsigned long unused)
{
    (void)unused;
    return atomic_load(&p->busy) == 0;
}

static void *worker(void *arg)
{
    worker_slot *slot = arg;
    rmb_pool *p = slot->pool;
    unsigned long seen = 0;
    for (;;) {
        if (!spin_until(p, new_generation, seen)) {
            pthread_mutex_lock(&p->lock);
            while (!p->quit && atomic_load(&p->generation) == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        if (p->quit)
            return NULL;
        seen = atomic_load(&p->generation);
        drain(p, slot->index);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

rmb_status rmb_pool_create(rmb_pool **out, int n_threads, rmb_error *err)
{
    *out = NULL;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads <= 0)
        n_threads = cpus > 0 ? (int)(cpus < 256 ? cpus : 256) : 1;
    rmb_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc((size_t)n_threads, sizeof *p->workers))) {
        free(p);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n_threads = 1;
    p->spin = n_threads <= cpus;
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
    atomic_store(&p->busy, p->n_threads - 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    drain(p, 0);
    if (spin_until(p, all_done, 0))
        return;
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->busy) > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
