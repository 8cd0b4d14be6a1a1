/* The scalar reference kernels, runtime dispatch, and the GEMM driver that
 * splits work over the thread pool. */
#include "model/kernels.h"

static void scalar_gemm_rows(const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt,
                             size_t j0, size_t j1, float *y, size_t ldy)
{
    for (size_t t = 0; t < nt; t++)
        for (size_t j = j0; j < j1; j++) {
            float sum = 0;
            for (size_t i = 0; i < k; i++)
                sum += x[t * k + i] * rmb_load_weight(w, dt, j * k + i);
            y[t * ldy + j] = sum;
        }
}

static float scalar_dot(const float *a, const float *b, size_t n)
{
    float sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static void scalar_axpy(float *y, float a, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static const rmb_kernels scalar_kernels = {"scalar", scalar_gemm_rows, scalar_dot, scalar_axpy};

const rmb_kernels *const *rmb_kernels_available(size_t *count)
{
    static const rmb_kernels *list[3];
    static size_t n;
    if (!n) { /* idempotent, so a race only repeats the same writes */
        size_t m = 0;
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl"))
            list[m++] = &rmb_kernels_avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            list[m++] = &rmb_kernels_avx2;
        list[m++] = &scalar_kernels;
        n = m;
    }
    *count = n;
    return list;
}

const rmb_kernels *rmb_kernels_find(const char *name)
{
    size_t n;
    const rmb_kernels *const *list = rmb_kernels_available(&n);
    if (!name)
        return list[0];
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i]->name, name))
            return list[i];
    return NULL;
}

void rmb_widen(const void *w, rmb_dtype dt, size_t offset, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = rmb_load_weight(w, dt, offset + i);
}

/* Output columns per task: a multiple of every kernel's tile width, small
 * enough to balance the threads, large enough to amortise the activations. */
#define GEMM_COLS 32

typedef struct gemm_job {
    const rmb_kernels *kern;
    const float *x;
    size_t nt, k, n;
    const void *w;
    rmb_dtype dt;
    float *y;
} gemm_job;

static void gemm_task(void *arg, size_t task, int thread)
{
    (void)thread;
    const gemm_job *g = arg;
    size_t j0 = task * GEMM_COLS, j1 = j0 + GEMM_COLS < g->n ? j0 + GEMM_COLS : g->n;
    g->kern->gemm_rows(g->x, g->nt, g->k, g->w, g->dt, j0, j1, g->y, g->n);
}

void rmb_gemm(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
              const void *w, rmb_dtype dt, size_t n, float *y)
{
    gemm_job g = {kern, x, nt, k, n, w, dt, y};
    rmb_pool_run(pool, (n + GEMM_COLS - 1) / GEMM_COLS, gemm_task, &g);
}
