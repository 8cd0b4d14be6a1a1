/* The scalar reference kernels, runtime dispatch, and the GEMM driver that
 * splits work over the thread pool. */
#include "model/cpu/kernels.h"

#include <float.h>
#include <math.h>

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

void rmb_gemm_bf16_ref(const uint16_t *xp, size_t nt, size_t k, const void *w, rmb_dtype dt,
                       size_t j0, size_t j1, float *y, size_t ldy)
{
    for (size_t t = 0; t < nt; t++)
        for (size_t j = j0; j < j1; j++) {
            float sum = 0;
            for (size_t i = 0; i < k; i++) {
                float wi = rmb_from_bf16(rmb_to_bf16(rmb_load_weight(w, dt, j * k + i)));
                sum += rmb_from_bf16(xp[rmb_pack_at(nt, k, RMB_PACK_K_BF16, 2, t, i)]) * wi;
            }
            y[t * ldy + j] = sum;
        }
}

void rmb_quantize_q8_ref(const float *x, size_t nt, size_t k, const rmb_q8_acts *out)
{
    for (size_t t = 0; t < nt; t++)
        for (size_t b = 0; b < k / 32; b++) {
            const float *xb = x + t * k + b * 32;
            float amax = 0;
            bool finite = true;
            for (int i = 0; i < 32; i++) {
                float a = fabsf(xb[i]);
                finite = finite && a <= FLT_MAX;
                amax = a > amax ? a : amax;
            }
            float d = finite ? amax / 127 : NAN, id = d > 0 && 1 / d <= FLT_MAX ? 1 / d : 0;
            for (size_t i = 0; i < 32; i++) {
                float v = id > 0 ? roundf(xb[i] * id) : 0;
                out->q[t * k + b * 32 + i] = (uint8_t)((int)v + 128);
            }
            out->d[t * (k / 32) + b] = d;
        }
}

void rmb_gemm_q8_ref(const rmb_q8_acts *x, size_t nt, size_t k, const void *w, size_t j0,
                     size_t j1, float *y, size_t ldy)
{
    for (size_t t = 0; t < nt; t++)
        for (size_t j = j0; j < j1; j++) {
            float sum = 0;
            for (size_t b = 0; b < k / 32; b++) {
                const signed char *q;
                float dw = rmb_q8_0_scale(w, j * k + b * 32, &q);
                int32_t isum = 0;
                for (size_t i = 0; i < 32; i++)
                    isum += (x->q[t * k + b * 32 + i] - 128) * q[i];
                sum = fmaf(x->d[t * (k / 32) + b] * dw, (float)isum, sum);
            }
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

static void scalar_dots(const float *q, size_t nq, const float *kt, size_t ldk, size_t nk,
                        size_t hd, float *s, size_t lds)
{
    for (size_t m = 0; m < nq; m++)
        for (size_t t = 0; t < nk; t++) {
            float sum = 0;
            for (size_t i = 0; i < hd; i++)
                sum += q[m * hd + i] * kt[i * ldk + t];
            s[m * lds + t] = sum;
        }
}

static void scalar_wsum(float *out, size_t nq, const float *p, size_t ldp, const float *v,
                        size_t ldv, size_t nk, size_t hd)
{
    for (size_t m = 0; m < nq; m++)
        for (size_t t = 0; t < nk; t++)
            for (size_t i = 0; i < hd; i++)
                out[m * hd + i] += p[m * ldp + t] * v[t * ldv + i];
}

float rmb_exp_sum_ref(float *p, size_t n, float max)
{
    float sum = 0;
    for (size_t t = 0; t < n; t++)
        sum += p[t] = expf(p[t] - max);
    return sum;
}

void rmb_silu_mul_ref(float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static const rmb_kernels scalar_kernels = {
    .name = "scalar",
    .gemm_rows = scalar_gemm_rows,
    .gemm_bf16 = rmb_gemm_bf16_ref,
    .gemm_q8 = rmb_gemm_q8_ref,
    .quantize_q8 = rmb_quantize_q8_ref,
    .dot = scalar_dot,
    .dots = scalar_dots,
    .wsum = scalar_wsum,
    .exp_sum = rmb_exp_sum_ref,
    .silu_mul = rmb_silu_mul_ref,
};

const rmb_kernels *const *rmb_kernels_available(size_t *count)
{
    static const rmb_kernels *list[3];
    static size_t n;
    if (!n) { /* idempotent, so a race only repeats the same writes */
        size_t m = 0;
        __builtin_cpu_init();
        bool vnni = __builtin_cpu_supports("avx512vnni");
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl"))
            list[m++] = vnni && __builtin_cpu_supports("avx512bf16") ? &rmb_kernels_avx512_bf16
                        : vnni                                       ? &rmb_kernels_avx512_vnni
                                                                     : &rmb_kernels_avx512;
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
    if (rmb_dtype_is_kquant(dt)) /* a super-block at a time */
        rmb_kquant_widen(w, dt, offset, n, dst);
    else
        for (size_t i = 0; i < n; i++)
            dst[i] = rmb_load_weight(w, dt, offset + i);
}

/* Output columns per task: a multiple of every kernel's tile width, small
 * enough to balance the threads, large enough to amortise the activations
 * and to let a task prefetch its next panel while it finishes one. */
#define GEMM_COLS 128

typedef struct gemm_job {
    const rmb_kernels *kern;
    const float *x;  /* or, for gemm_packed, the packed activations */
    const uint16_t *xp; /* gemm_bf16's pairs, or NULL */
    const rmb_q8_acts *xq; /* gemm_q8's quantized activations, or NULL */
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
    if (g->xq)
        g->kern->gemm_q8(g->xq, g->nt, g->k, g->w, j0, j1, g->y, g->n);
    else if (g->xp)
        (g->kern->gemm_bf16 ? g->kern->gemm_bf16 : rmb_gemm_bf16_ref)(g->xp, g->nt, g->k, g->w,
                                                                      g->dt, j0, j1, g->y, g->n);
    else if (g->kern->gemm_packed)
        g->kern->gemm_packed(g->x, g->nt, g->k, g->w, g->dt, j0, j1, g->y, g->n);
    else
        g->kern->gemm_rows(g->x, g->nt, g->k, g->w, g->dt, j0, j1, g->y, g->n);
}

void rmb_pack_ref(const float *x, size_t nt, size_t k, size_t k0, size_t kb, size_t u, void *out)
{
    /* A token at a time: rows k apart read at once would share cache sets. */
    for (size_t g0 = 0; g0 < nt; g0 += RMB_PACK_TOKENS) {
        size_t ng = rmb_min_size(RMB_PACK_TOKENS, nt - g0);
        for (size_t t = 0; t < ng; t++) {
            const float *xr = x + (g0 + t) * k + k0;
            size_t at = k0 * nt + g0 * kb + t * u;
            if (u == 2)
                for (size_t i = 0; i < kb; i += 2, at += ng * 2) {
                    ((uint16_t *)out)[at] = rmb_to_bf16(xr[i]);
                    ((uint16_t *)out)[at + 1] = rmb_to_bf16(xr[i + 1]);
                }
            else
                for (size_t i = 0; i < kb; i++, at += ng)
                    ((float *)out)[at] = xr[i];
        }
    }
}

/* One block of k of every token packed (rmb_pack_at): floats into y, or
 * bf16 pairs into xp when the job has xp. */
static void pack_task(void *arg, size_t task, int thread)
{
    (void)thread;
    const gemm_job *g = arg;
    size_t u = g->xp ? 2 : 1, kc = g->xp ? RMB_PACK_K_BF16 : RMB_PACK_K, k0 = task * kc;
    (g->kern->pack ? g->kern->pack : rmb_pack_ref)(g->x, g->nt, g->k, k0,
                                                   rmb_min_size(kc, g->k - k0), u,
                                                   g->xp ? (void *)g->xp : (void *)g->y);
}

/* The product of a job whose activations are prepared: k-quant weights a
 * super-block at a time (from x itself; bf16 rounds both sides), the rest
 * by the kernel set's tiles over blocks of output columns. */
static void run_products(rmb_pool *pool, gemm_job *g, const float *x, bool bf16)
{
    if (rmb_dtype_is_kquant(g->dt))
        rmb_kquant_gemm(pool, g->kern, x, g->nt, g->k, g->w, g->dt, g->n, g->y, bf16);
    else
        rmb_pool_run(pool, (g->n + GEMM_COLS - 1) / GEMM_COLS, gemm_task, g);
}

void rmb_gemm(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
              const void *w, rmb_dtype dt, size_t n, float *y, float *xt, bool reuse)
{
    if (kern->gemm_packed && !reuse) {
        gemm_job pj = {kern, x, NULL, NULL, nt, k, 0, NULL, dt, xt};
        rmb_pool_run(pool, (k + RMB_PACK_K - 1) / RMB_PACK_K, pack_task, &pj);
    }
    /* k-quants: xt is made even so, as the next product may reuse it. */
    gemm_job g = {kern, kern->gemm_packed ? xt : x, NULL, NULL, nt, k, n, w, dt, y};
    run_products(pool, &g, x, false);
}

void rmb_gemm_bf16(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
                   const void *w, rmb_dtype dt, size_t n, float *y, uint16_t *xp, bool reuse)
{
    gemm_job g = {kern, x, xp, NULL, nt, k, n, w, dt, y};
    if (!reuse)
        rmb_pool_run(pool, (k + RMB_PACK_K_BF16 - 1) / RMB_PACK_K_BF16, pack_task, &g);
    run_products(pool, &g, x, true);
}

/* Tokens per quantize task: whole rows, so that each task streams through
 * contiguous memory (tasks of 64 columns read every row in short strided
 * runs, and took 1.6 times as long). */
#define QUANTIZE_ROWS 16

static void quantize_task(void *arg, size_t task, int thread)
{
    (void)thread;
    const gemm_job *g = arg;
    size_t t0 = task * QUANTIZE_ROWS, k = g->k;
    rmb_q8_acts rows = {g->xq->q + t0 * k, g->xq->d + t0 * (k / 32)};
    g->kern->quantize_q8(g->x + t0 * k, rmb_min_size(QUANTIZE_ROWS, g->nt - t0), k, &rows);
}

void rmb_gemm_q8(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
                 const void *w, size_t n, float *y, void *work, bool reuse)
{
    uint8_t *q = work;
    rmb_q8_acts xq = {q, (float *)(q + nt * k)};
    gemm_job g = {kern, x, NULL, &xq, nt, k, n, w, RMB_DT_Q8_0, y};
    if (!reuse)
        rmb_pool_run(pool, (nt + QUANTIZE_ROWS - 1) / QUANTIZE_ROWS, quantize_task, &g);
    run_products(pool, &g, x, false);
}
