/* The pool runs every task of every loop exactly once, whether its workers
 * are spinning (loops back to back) or asleep (loops far apart), with more
 * or fewer tasks than threads, and shuts down from either state. */
#include "model/cpu/threadpool.h"
#include "test.h"

#include <stdatomic.h>
#include <time.h>

#define MAX_TASKS 64

typedef struct {
    atomic_int runs[MAX_TASKS];
    atomic_int bad_thread;
    int threads;
} counts;

static void count_task(void *arg, size_t task, int thread)
{
    counts *c = arg;
    atomic_fetch_add(&c->runs[task], 1);
    if (thread < 0 || thread >= c->threads)
        atomic_fetch_add(&c->bad_thread, 1);
}

static void nap(long ns)
{
    struct timespec t = {0, ns};
    nanosleep(&t, NULL);
}

/* Loops of 0..MAX_TASKS tasks; every fourth one after a pause longer than
 * the pool's spin, so that its workers sleep first. */
static void check_pool(int n_threads)
{
    rmb_pool *pool;
    rmb_error err;
    CHECK_EQ_INT(rmb_pool_create(&pool, n_threads, &err), RMB_OK);
    CHECK_EQ_INT(rmb_pool_threads(pool), n_threads);
    for (int loop = 0; loop < 400; loop++) {
        counts c = {.threads = n_threads};
        size_t n = (size_t)(loop * 7) % (MAX_TASKS + 1);
        if (loop % 4 == 3)
            nap(1000000);
        rmb_pool_run(pool, n, count_task, &c);
        int wrong = 0;
        for (size_t i = 0; i < MAX_TASKS; i++)
            wrong += atomic_load(&c.runs[i]) != (i < n);
        CHECK_EQ_INT(wrong, 0);
        CHECK_EQ_INT(atomic_load(&c.bad_thread), 0);
    }
    rmb_pool_destroy(pool); /* workers still spinning */
    CHECK_EQ_INT(rmb_pool_create(&pool, n_threads, &err), RMB_OK);
    nap(5000000);
    rmb_pool_destroy(pool); /* workers asleep */
}

static void test_pool(void)
{
    for (int n = 1; n <= 4; n++)
        check_pool(n);
}

TEST_MAIN(test_pool)
