/* Every SIMD kernel set this CPU runs against the scalar reference, on odd
 * sizes that exercise every tile edge and loop tail, for each weight dtype. */
#include "model/cpu/kernels.h"
#include "test.h"

#include <stdlib.h>

static float frand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (float)((*state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* Any f16 bit pattern but inf/nan: exponent below 31. */
static uint16_t random_f16(unsigned *state)
{
    uint16_t h = (uint16_t)((*state >> 3) & 0xFFFF);
    frand(state);
    return ((h >> 10) & 31) == 31 ? h ^ 0x4000 : h;
}

/* Weights stored as dt: f32 as is, f16/bf16 by truncating the float's bits
 * (any bit pattern of the format is a fair test of widening), Q8_0 blocks
 * of a random scale and random quants (n a multiple of 32). */
static void *make_weights(rmb_dtype dt, size_t n, unsigned *state)
{
    unsigned char *w = malloc(rmb_dtype_bytes(dt, n) + 1);
    for (size_t b = 0; dt == RMB_DT_Q8_0 && b < n / 32; b++) {
        uint16_t d = random_f16(state);
        memcpy(w + 34 * b, &d, 2);
        for (int i = 0; i < 32; i++)
            w[34 * b + 2 + i] = (unsigned char)(signed char)(frand(state) * 127.0f);
    }
    for (size_t i = 0; dt != RMB_DT_Q8_0 && i < n; i++) {
        float f = frand(state);
        if (dt == RMB_DT_F32) {
            memcpy(w + 4 * i, &f, 4);
        } else if (dt == RMB_DT_BF16) {
            uint32_t bits;
            memcpy(&bits, &f, 4);
            uint16_t h = (uint16_t)(bits >> 16);
            memcpy(w + 2 * i, &h, 2);
        } else {
            uint16_t h = random_f16(state);
            memcpy(w + 2 * i, &h, 2);
        }
    }
    return w;
}

/* A packed copy of x (nt x k), freed at the next call. */
static const float *pack(const float *x, size_t nt, size_t k)
{
    static float *xt;
    free(xt);
    xt = malloc(nt * k * sizeof *xt);
    for (size_t t = 0; t < nt; t++)
        for (size_t i = 0; i < k; i++)
            xt[rmb_pack_at(nt, k, RMB_PACK_K, 1, t, i)] = x[t * k + i];
    return xt;
}

static void check_gemm(const rmb_kernels *k, rmb_dtype dt, size_t nt, size_t kk, size_t n)
{
    unsigned state = (unsigned)(nt * 131 + kk * 7 + n);
    float *x = malloc(nt * kk * sizeof *x), *y = malloc(nt * n * sizeof *y),
          *ref = malloc(nt * n * sizeof *ref);
    for (size_t i = 0; i < nt * kk; i++)
        x[i] = frand(&state);
    void *w = make_weights(dt, n * kk, &state);
    const rmb_kernels *scalar = rmb_kernels_find("scalar");
    scalar->gemm_rows(x, nt, kk, w, dt, 0, n, ref, n);
    /* A sub-range of rows [1, n) checks the j0 offset handling too. */
    for (size_t i = 0; i < nt * n; i++)
        y[i] = -12345.0f;
    if (k->gemm_rows)
        k->gemm_rows(x, nt, kk, w, dt, 1, n, y, n);
    else /* the packed-activation kernel directly */
        k->gemm_packed(pack(x, nt, kk), nt, kk, w, dt, 1, n, y, n);
    /* Tolerance: relative to sum |x * w| of each output. */
    double *scale = calloc(nt * n, sizeof *scale);
    for (size_t t = 0; t < nt; t++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < kk; i++)
                scale[t * n + j] += fabs(x[t * kk + i] * rmb_load_weight(w, dt, j * kk + i));
    int bad = 0;
    for (size_t t = 0; t < nt; t++) {
        bad += y[t * n] != -12345.0f;
        for (size_t j = 1; j < n; j++)
            bad += !(fabs(y[t * n + j] - ref[t * n + j]) <= 1e-5 * scale[t * n + j] + 1e-30);
    }
    /* The driver, which may hand the kernels packed activations. */
    rmb_pool *pool;
    rmb_error err;
    float *xt = malloc(nt * kk * sizeof *xt);
    CHECK_EQ_INT(rmb_pool_create(&pool, 2, &err), RMB_OK);
    rmb_gemm(pool, k, x, nt, kk, w, dt, n, y, xt, false);
    rmb_pool_destroy(pool);
    for (size_t i = 0; i < nt * n; i++)
        bad += !(fabs(y[i] - ref[i]) <= 1e-5 * scale[i] + 1e-30);
    if (bad)
        fprintf(stderr, "%s gemm %s nt=%zu k=%zu n=%zu: %d bad\n", k->name, rmb_dtype_name(dt), nt,
                kk, n, bad);
    CHECK_EQ_INT(bad, 0);
    free(x), free(y), free(ref), free(w), free(xt), free(scale);
}

static void test_gemm(void)
{
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    CHECK_EQ_STR(list[count - 1]->name, "scalar");
    static const size_t shapes[][3] = {{1, 1, 2}, {1, 16, 5}, {3, 17, 9}, {5, 31, 13},
                                       {4, 64, 8}, {7, 100, 33}, {2, 8, 3},
                                       {50, 1030, 40}, {97, 33, 70}, {33, 2080, 19}};
    for (size_t i = 0; i < count; i++)
        for (int dt = RMB_DT_F32; dt <= RMB_DT_Q8_0; dt++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                if (shapes[s][1] % rmb_dtype_block((rmb_dtype)dt) == 0)
                    check_gemm(list[i], (rmb_dtype)dt, shapes[s][0], shapes[s][1], shapes[s][2]);
}

/* The bf16 product of every set (and the driver, which rounds the
 * activations into pairs) against the scalar reference on the same pairs;
 * the reference itself against a double-precision sum of the rounded
 * operands.  Only the summation order differs. */
static void check_gemm_bf16(const rmb_kernels *k, rmb_dtype dt, size_t nt, size_t kk, size_t n)
{
    unsigned state = (unsigned)(nt * 31 + kk * 17 + n);
    float *x = malloc(nt * kk * sizeof *x), *y = malloc(nt * n * sizeof *y),
          *ref = malloc(nt * n * sizeof *ref);
    uint16_t *xp = malloc(nt * kk * sizeof *xp);
    for (size_t i = 0; i < nt * kk; i++)
        x[i] = frand(&state);
    for (size_t t = 0; t < nt; t++)
        for (size_t i = 0; i < kk; i++)
            xp[rmb_pack_at(nt, kk, RMB_PACK_K_BF16, 2, t, i)] = rmb_to_bf16(x[t * kk + i]);
    void *w = make_weights(dt, n * kk, &state);
    rmb_gemm_bf16_ref(xp, nt, kk, w, dt, 0, n, ref, n);
    int bad = 0;
    double *scale = calloc(nt * n, sizeof *scale);
    for (size_t t = 0; t < nt; t++)
        for (size_t j = 0; j < n; j++) {
            double exact = 0;
            for (size_t i = 0; i < kk; i++) {
                double a = rmb_from_bf16(rmb_to_bf16(x[t * kk + i]));
                double b = rmb_from_bf16(rmb_to_bf16(rmb_load_weight(w, dt, j * kk + i)));
                exact += a * b;
                scale[t * n + j] += fabs(a * b);
            }
            bad += !(fabs(ref[t * n + j] - exact) <= 1e-5 * scale[t * n + j] + 1e-30);
        }
    for (size_t i = 0; i < nt * n; i++)
        y[i] = -12345.0f;
    if (k->gemm_bf16)
        k->gemm_bf16(xp, nt, kk, w, dt, 1, n, y, n);
    for (size_t t = 0; k->gemm_bf16 && t < nt; t++) {
        bad += y[t * n] != -12345.0f;
        for (size_t j = 1; j < n; j++)
            bad += !(fabs(y[t * n + j] - ref[t * n + j]) <= 1e-5 * scale[t * n + j] + 1e-30);
    }
    rmb_pool *pool;
    rmb_error err;
    CHECK_EQ_INT(rmb_pool_create(&pool, 2, &err), RMB_OK);
    rmb_gemm_bf16(pool, k, x, nt, kk, w, dt, n, y, xp, false);
    rmb_pool_destroy(pool);
    for (size_t i = 0; i < nt * n; i++)
        bad += !(fabs(y[i] - ref[i]) <= 1e-5 * scale[i] + 1e-30);
    if (bad)
        fprintf(stderr, "%s gemm_bf16 %s nt=%zu k=%zu n=%zu: %d bad\n", k->name,
                rmb_dtype_name(dt), nt, kk, n, bad);
    CHECK_EQ_INT(bad, 0);
    free(x), free(y), free(ref), free(w), free(xp), free(scale);
}

static void test_gemm_bf16(void)
{
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    static const size_t shapes[][3] = {{1, 2, 2},    {1, 16, 5},  {3, 18, 9},    {17, 32, 13},
                                       {4, 64, 8},   {7, 100, 33}, {49, 2050, 41}, {97, 34, 70},
                                       {33, 2080, 19}};
    for (size_t i = 0; i < count; i++)
        for (int dt = RMB_DT_F32; dt <= RMB_DT_Q8_0; dt++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                if (shapes[s][1] % rmb_dtype_block((rmb_dtype)dt) == 0)
                    check_gemm_bf16(list[i], (rmb_dtype)dt, shapes[s][0], shapes[s][1], shapes[s][2]);
    /* Round to nearest even; NaN stays NaN. */
    CHECK_EQ_INT(rmb_to_bf16(1.0f), 0x3F80);
    CHECK_EQ_INT(rmb_to_bf16(1.0f + 0x1p-8f), 0x3F80);            /* tie: even */
    CHECK_EQ_INT(rmb_to_bf16(1.0f + 0x1p-7f + 0x1p-8f), 0x3F82);  /* tie: even (up) */
    CHECK_EQ_INT(rmb_to_bf16(1.0f + 0x1p-8f + 0x1p-12f), 0x3F81); /* above the tie */
    CHECK(isnan(rmb_from_bf16(rmb_to_bf16(NAN))));
}

/* A token's outputs must not depend on the tokens it is batched with nor
 * on its row's place in a panel: every set's exact and bf16 products of
 * NB tokens (groups and a tail, k over several blocks) against each token
 * alone, and of a sub-range of rows against the whole, bit for bit. */
#define NB 37
#define KB 608 /* a multiple of 32, for Q8_0 */
#define NW 70

/* The exact or bf16 product of nt tokens through the driver. */
static void product(rmb_pool *pool, const rmb_kernels *kern, bool bf16, const float *x,
                    size_t nt, size_t k, const void *w, rmb_dtype dt, size_t n, float *y,
                    float *work)
{
    if (bf16)
        rmb_gemm_bf16(pool, kern, x, nt, k, w, dt, n, y, (uint16_t *)work, false);
    else
        rmb_gemm(pool, kern, x, nt, k, w, dt, n, y, work, false);
}

static int check_invariance(const rmb_kernels *k, rmb_dtype dt, bool bf16)
{
    unsigned state = 99u + (unsigned)dt;
    float *x = malloc(NB * KB * sizeof *x), *y = malloc(NB * NW * sizeof *y),
          *all = malloc(NB * NW * sizeof *all), *one = malloc(NW * sizeof *one),
          *work = malloc(NB * KB * sizeof *work);
    for (size_t i = 0; i < NB * KB; i++)
        x[i] = frand(&state);
    void *w = make_weights(dt, NW * KB, &state);
    rmb_pool *pool;
    rmb_error err;
    CHECK_EQ_INT(rmb_pool_create(&pool, 2, &err), RMB_OK);
    int bad = 0;
    product(pool, k, bf16, x, NB, KB, w, dt, NW, all, work);
    for (size_t t = 0; t < NB; t++) {
        product(pool, k, bf16, x + t * KB, 1, KB, w, dt, NW, one, work);
        bad += memcmp(one, all + t * NW, NW * sizeof *one) != 0;
    }
    /* rows [5, NW) alone, on the activations the driver prepared in work */
    product(pool, k, bf16, x, NB, KB, w, dt, NW, y, work);
    if (bf16 && k->gemm_bf16)
        k->gemm_bf16((uint16_t *)work, NB, KB, w, dt, 5, NW, y, NW);
    else if (!bf16 && k->gemm_packed)
        k->gemm_packed(work, NB, KB, w, dt, 5, NW, y, NW);
    bad += memcmp(y, all, NB * NW * sizeof *y) != 0;
    rmb_pool_destroy(pool);
    if (bad)
        fprintf(stderr, "%s %s %s: %d outputs depend on the batch\n", k->name,
                bf16 ? "gemm_bf16" : "gemm", rmb_dtype_name(dt), bad);
    free(x), free(y), free(all), free(one), free(work), free(w);
    return bad;
}

static void test_gemm_invariance(void)
{
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    for (size_t i = 0; i < count; i++)
        for (int dt = RMB_DT_F32; dt <= RMB_DT_Q8_0; dt++)
            for (int bf16 = 0; bf16 < 2; bf16++)
                CHECK_EQ_INT(check_invariance(list[i], (rmb_dtype)dt, bf16), 0);
}

/* Blocked attention of one set on one shape: dots and wsum for NQ rows
 * against nk keys, against a double-precision sum (relative to the sum of
 * |terms|), and bit for bit against the same rows computed one at a time
 * over the keys cut in three runs, as a row packed with others must
 * compute what it computes alone. */
#define NQ 11
#define LDK 53 /* the transposed keys' row length, past nk */
#define LDV 150

static int check_blocked(const rmb_kernels *k, size_t hd, size_t nk)
{
    unsigned state = (unsigned)(hd * 7 + nk);
    float *q = malloc(NQ * hd * sizeof *q), *kt = malloc(hd * LDK * sizeof *kt),
          *v = malloc(nk * LDV * sizeof *v), *s = malloc(NQ * LDK * sizeof *s),
          *one = malloc(LDK * sizeof *one), *o = malloc(NQ * hd * sizeof *o),
          *o1 = malloc(hd * sizeof *o1), *o0 = malloc(NQ * hd * sizeof *o0);
    for (size_t i = 0; i < NQ * hd; i++)
        q[i] = frand(&state), o0[i] = o[i] = frand(&state);
    for (size_t i = 0; i < hd * LDK; i++)
        kt[i] = frand(&state);
    for (size_t i = 0; i < nk * LDV; i++)
        v[i] = frand(&state);
    int bad = 0;
    k->dots(q, NQ, kt, LDK, nk, hd, s, LDK);
    k->wsum(o, NQ, s, LDK, v, LDV, nk, hd); /* the scores serve as weights */
    size_t cut1 = nk / 3, cut2 = nk - nk / 5;
    for (size_t m = 0; m < NQ; m++) {
        for (size_t t = 0; t < nk; t++) {
            double want = 0, scale = 0;
            for (size_t i = 0; i < hd; i++) {
                want += (double)q[m * hd + i] * kt[i * LDK + t];
                scale += fabs((double)q[m * hd + i] * kt[i * LDK + t]);
            }
            bad += !(fabs(s[m * LDK + t] - want) <= 1e-5 * scale + 1e-30);
        }
        for (size_t i = 0; i < hd; i++) {
            double want = o0[m * hd + i], scale = fabs(want);
            for (size_t t = 0; t < nk; t++) {
                want += (double)s[m * LDK + t] * v[t * LDV + i];
                scale += fabs((double)s[m * LDK + t] * v[t * LDV + i]);
            }
            bad += !(fabs(o[m * hd + i] - want) <= 1e-5 * scale + 1e-30);
        }
        size_t cuts[4] = {0, cut1, cut2, nk};
        memcpy(o1, o0 + m * hd, hd * sizeof *o1);
        for (int c = 0; c < 3; c++) {
            size_t c0 = cuts[c], n = cuts[c + 1] - c0;
            k->dots(q + m * hd, 1, kt + c0, LDK, n, hd, one + c0, LDK);
            k->wsum(o1, 1, s + m * LDK + c0, LDK, v + c0 * LDV, LDV, n, hd);
        }
        bad += memcmp(one, s + m * LDK, nk * sizeof *one) != 0;
        bad += memcmp(o1, o + m * hd, hd * sizeof *o1) != 0;
    }
    if (bad)
        fprintf(stderr, "%s attention hd=%zu nk=%zu: %d bad\n", k->name, hd, nk, bad);
    free(q), free(kt), free(v), free(s), free(one), free(o), free(o1), free(o0);
    return bad;
}

static void test_blocked_attention(void)
{
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    static const size_t shapes[][2] = {{1, 1}, {16, 7}, {17, 33}, {64, 48}, {77, 17},
                                       {128, 45}, {130, 32}};
    for (size_t i = 0; i < count; i++)
        for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
            CHECK_EQ_INT(check_blocked(list[i], shapes[sh][0], shapes[sh][1]), 0);
}

/* dot against the scalar set, exp_sum and silu_mul against expf. */

/* The test's own reading of the int8 path's quantization: per token and
 * block of 32, d = max |x| / 127 in fp32, q = roundf(x * (1 / d)) (ggml's
 * rounding; the blocks here are far from 1 / d overflowing); row-major. */
static void quantize_rows(const float *x, size_t nt, size_t k, int *q, float *d)
{
    for (size_t t = 0; t < nt; t++)
        for (size_t b = 0; b < k / 32; b++) {
            float amax = 0;
            for (size_t i = b * 32; i < b * 32 + 32; i++)
                amax = fmaxf(amax, fabsf(x[t * k + i]));
            float s = d[t * (k / 32) + b] = amax / 127.0f;
            for (size_t i = b * 32; i < b * 32 + 32; i++)
                q[t * k + i] = s > 0 ? (int)lroundf(x[t * k + i] * (1.0f / s)) : 0;
        }
}

/* The workspace of the int8 path for nt x k activations. */
static rmb_q8_acts q8_alloc(size_t nt, size_t k)
{
    rmb_q8_acts a = {malloc(nt * k), malloc(nt * k / 32 * sizeof(float))};
    return a;
}

static void q8_free(rmb_q8_acts a)
{
    free(a.q), free(a.d);
}

/* quantize_q8 of set kern against quantize_rows: the same quants (+ 128)
 * and scales, row-major; returns the mismatches. */
static int check_quantize(const rmb_kernels *kern, const float *x, size_t nt, size_t k,
                          const rmb_q8_acts *out)
{
    int *q = malloc(nt * k * sizeof *q), bad = 0;
    float *d = malloc(nt * k / 32 * sizeof *d);
    quantize_rows(x, nt, k, q, d);
    memset(out->q, 0x55, nt * k);
    kern->quantize_q8(x, nt, k, out);
    for (size_t i = 0; i < nt * k; i++)
        bad += out->q[i] != q[i] + 128;
    for (size_t i = 0; i < nt * k / 32; i++)
        bad += out->d[i] != d[i];
    free(q), free(d);
    return bad;
}

/* The int8 product: every set's quantization against the test's own; the
 * scalar reference against a double-precision sum of d_x d_w q_x q_w from
 * the row-major quants; every set's gemm_q8 and the driver (2 threads)
 * bit-identical to the reference, which they compute exactly. */
static void check_gemm_q8(const rmb_kernels *kern, size_t nt, size_t kk, size_t n)
{
    unsigned state = (unsigned)(nt * 37 + kk * 11 + n);
    float *x = malloc(nt * kk * sizeof *x), *y = malloc(nt * n * sizeof *y),
          *ref = malloc(nt * n * sizeof *ref), *d = malloc(nt * kk / 32 * sizeof *d);
    void *work = malloc(nt * kk * 9 / 8);
    int *q = malloc(nt * kk * sizeof *q);
    rmb_q8_acts xq = q8_alloc(nt, kk);
    for (size_t i = 0; i < nt * kk; i++) /* token scales from 1e-3 to 10 */
        x[i] = frand(&state) * powf(10.0f, (float)(i / kk % 5) - 3.0f);
    for (size_t i = 0; i < 32 && nt * kk >= 64; i++) /* a block of zeros */
        x[32 + i] = 0;
    unsigned char *w = make_weights(RMB_DT_Q8_0, n * kk, &state);
    int bad = check_quantize(kern, x, nt, kk, &xq);
    rmb_gemm_q8_ref(&xq, nt, kk, w, 0, n, ref, n);
    quantize_rows(x, nt, kk, q, d);
    for (size_t t = 0; t < nt; t++)
        for (size_t j = 0; j < n; j++) {
            double exact = 0, scale = 0;
            for (size_t b = 0; b < kk / 32; b++) {
                const unsigned char *blk = w + (j * kk / 32 + b) * 34;
                uint16_t h;
                memcpy(&h, blk, 2);
                double isum = 0;
                for (size_t i = 0; i < 32; i++)
                    isum += q[t * kk + b * 32 + i] * (double)(signed char)blk[2 + i];
                exact += (double)d[t * (kk / 32) + b] * rmb_load_f16(h) * isum;
                scale += fabs((double)d[t * (kk / 32) + b] * rmb_load_f16(h) * isum);
            }
            bad += !(fabs(ref[t * n + j] - exact) <= 1e-6 * scale + 1e-30);
        }
    for (size_t i = 0; i < nt * n; i++)
        y[i] = -12345.0f;
    kern->gemm_q8(&xq, nt, kk, w, 1, n, y, n);
    for (size_t t = 0; t < nt; t++) {
        bad += y[t * n] != -12345.0f;
        for (size_t j = 1; j < n; j++)
            bad += y[t * n + j] != ref[t * n + j];
    }
    rmb_pool *pool;
    rmb_error err;
    CHECK_EQ_INT(rmb_pool_create(&pool, 2, &err), RMB_OK);
    rmb_gemm_q8(pool, kern, x, nt, kk, w, n, y, work, false);
    rmb_pool_destroy(pool);
    for (size_t i = 0; i < nt * n; i++)
        bad += y[i] != ref[i];
    if (bad)
        fprintf(stderr, "%s gemm_q8 nt=%zu k=%zu n=%zu: %d bad\n", kern->name, nt, kk, n, bad);
    CHECK_EQ_INT(bad, 0);
    free(x), free(y), free(ref), free(d), free(work), free(q), free(w);
    q8_free(xq);
}

/* Rounding half away from zero, zero blocks, inf or NaN making the block's
 * scale NaN and its quants 0, and a block so small that 1 / d overflows
 * quantizing to 0 (one token: element i of block b at b * 32 + i). */
static void check_quantize_edges(const rmb_kernels *kern)
{
    float x[5 * 32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.49999997f, 126.5f, -127.0f, 1.4999999f};
    x[64] = INFINITY, x[96] = NAN, x[97] = 5.0f;
    for (int i = 0; i < 32; i++) /* subnormal: d = 2^-149, 1 / d overflows */
        x[128 + i] = (float)(i + 159) * 0x1p-149f;
    rmb_q8_acts a = q8_alloc(1, 5 * 32);
    kern->quantize_q8(x, 1, 5 * 32, &a);
    static const int want[8] = {127, 3, -3, 1, 0, 127, -127, 1};
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(a.q[i] - 128, want[i]);
    CHECK(a.d[0] == 1.0f && a.d[1] == 0.0f && isnan(a.d[2]) && isnan(a.d[3]));
    CHECK(a.d[4] == 0x1p-149f);
    for (int i = 32; i < 160; i++)
        CHECK_EQ_INT(a.q[i], 128);
    q8_free(a);
}

static void test_gemm_q8(void)
{
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    /* k = 2080 and 4128: the AVX-512 kernel's panels (2048 columns) and a tail */
    static const size_t nts[] = {1, 3, 17, 49, 97}, ks[] = {32, 64, 1056, 2080, 4128},
                        ns[] = {1, 5, 19, 70};
    for (size_t i = 0; i < count; i++) {
        check_quantize_edges(list[i]);
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++)
                for (size_t c = 0; c < 4; c++)
                    check_gemm_q8(list[i], nts[a], ks[b], ns[c]);
    }
    /* The AVX-512 variants this CPU runs but rmb_kernels_available passes
     * over for a better one, on one shape. */
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl");
    const rmb_kernels *more[] = {avx512 ? &rmb_kernels_avx512 : NULL,
                                 avx512 && __builtin_cpu_supports("avx512vnni")
                                     ? &rmb_kernels_avx512_vnni
                                     : NULL};
    for (size_t i = 0; i < 2; i++)
        if (more[i]) {
            check_quantize_edges(more[i]);
            check_gemm_q8(more[i], 49, 4128, 19);
        }
}

/* dot, dots and wsum against the scalar set, exp_sum and silu_mul against
 * expf. */
static void test_attention_kernels(void)
{
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    unsigned state = 99;
    float a[77], b[77], p[77], e0[77], e1[77];
    for (int i = 0; i < 77; i++)
        a[i] = frand(&state), b[i] = frand(&state), p[i] = frand(&state);
    const rmb_kernels *scalar = list[count - 1];
    for (size_t i = 0; i < count; i++)
        for (size_t n = 0; n <= 77; n += 11) {
            CHECK_NEAR(list[i]->dot(a, b, n), scalar->dot(a, b, n), 1e-5);
            for (size_t j = 0; j < n; j++)
                e0[j] = e1[j] = 40.0f * a[j] - (float)j; /* down to e^-116: underflow */
            float s0 = list[i]->exp_sum(e0, n, 3.0f), s1 = rmb_exp_sum_ref(e1, n, 3.0f);
            CHECK(fabsf(s0 - s1) <= 1e-6f * s1);
            for (size_t j = 0; j < n; j++)
                CHECK(fabsf(e0[j] - e1[j]) <= 3e-7f * e1[j] + 1e-38f);
            for (size_t j = 0; j < n; j++)
                e0[j] = e1[j] = 30.0f * a[j]; /* silu over [-30, 30] */
            list[i]->silu_mul(e0, p, n);
            rmb_silu_mul_ref(e1, p, n);
            for (size_t j = 0; j < n; j++)
                CHECK(fabsf(e0[j] - e1[j]) <= 1e-6f * fabsf(e1[j]) + 1e-30f);
        }
}

static void test_f16_widening(void)
{
    /* Exact values: 1, -2, the smallest subnormal, 65504, infinity. */
    CHECK(rmb_load_f16(0x3C00) == 1.0f);
    CHECK(rmb_load_f16(0xC000) == -2.0f);
    CHECK(rmb_load_f16(0x0001) == 0x1p-24f);
    CHECK(rmb_load_f16(0x03FF) == 0x3FFp-24f);
    CHECK(rmb_load_f16(0x7BFF) == 65504.0f);
    CHECK(isinf(rmb_load_f16(0x7C00)));
    CHECK(rmb_kernels_find("no-such-isa") == NULL);
}

/* Each set's pack against rmb_pack_at element by element, block by block
 * as rmb_gemm calls it, on group and unit tails; the bf16 pairs hold
 * values that round half to even, infinities and NaNs. */
static int check_pack(const rmb_kernels *kern, size_t nt, size_t k, size_t u)
{
    size_t kc = u == 2 ? RMB_PACK_K_BF16 : RMB_PACK_K, size = u == 2 ? 2 : 4;
    unsigned state = (unsigned)(nt * 7 + k);
    float *x = malloc(nt * k * sizeof *x);
    unsigned char *want = malloc(nt * k * size), *got = malloc(nt * k * size);
    for (size_t i = 0; i < nt * k; i++) {
        x[i] = frand(&state);
        if (i % 7 == 3) /* a tie: bf16 keeps the even one */
            x[i] = (i % 2 ? 1.0f + 0x1p-8f : 1.0f + 0x3p-8f);
        if (i % 61 == 5)
            x[i] = i % 2 ? INFINITY : NAN;
    }
    for (size_t t = 0; t < nt; t++)
        for (size_t i = 0; i < k; i++) {
            size_t at = rmb_pack_at(nt, k, kc, u, t, i);
            if (u == 2) {
                uint16_t h = rmb_to_bf16(x[t * k + i]);
                memcpy(want + 2 * at, &h, 2);
            } else {
                memcpy(want + 4 * at, &x[t * k + i], 4);
            }
        }
    memset(got, 0xA5, nt * k * size);
    for (size_t k0 = 0; k0 < k; k0 += kc)
        kern->pack(x, nt, k, k0, rmb_min_size(kc, k - k0), u, got);
    int same = !memcmp(got, want, nt * k * size);
    if (!same)
        fprintf(stderr, "%s pack nt=%zu k=%zu u=%zu differs\n", kern->name, nt, k, u);
    free(x), free(want), free(got);
    return same;
}

static void test_pack(void)
{
    static const size_t nts[] = {1, 3, 13, 14, 15, 29, 44}, ks[] = {2, 16, 34, 256, 530, 1040};
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    const rmb_kernels scalar = {.name = "reference", .pack = rmb_pack_ref};
    for (size_t i = 0; i <= count; i++) {
        const rmb_kernels *kern = i < count ? list[i] : &scalar;
        for (size_t a = 0; kern->pack && a < sizeof nts / sizeof nts[0]; a++)
            for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
                for (size_t u = 1; u <= 2; u++)
                    CHECK(check_pack(kern, nts[a], ks[b], u));
    }
}

/* The exact and bf16 products of every set with prepack give the same bits
 * on its prepacked weights as on the BF16 weights they came from, on panel
 * and block tails (k even, as prepack needs). */
static int check_prepacked(rmb_pool *pool, const rmb_kernels *kern, size_t nt, size_t k,
                           size_t n)
{
    unsigned state = (unsigned)(nt * 13 + k * 5 + n);
    float *x = malloc(nt * k * sizeof *x), *work = malloc(nt * k * sizeof *work),
          *want = malloc(nt * n * sizeof *want), *got = malloc(nt * n * sizeof *got);
    for (size_t i = 0; i < nt * k; i++)
        x[i] = frand(&state);
    uint16_t *w = make_weights(RMB_DT_BF16, n * k, &state),
             *wp = aligned_alloc(64, (rmb_prepacked_elements(n, k) * sizeof *wp + 63) / 64 * 64);
    kern->prepack(w, n, k, wp);
    int bad = 0;
    for (int bf16 = 0; bf16 <= (kern->gemm_bf16 != NULL); bf16++) {
        product(pool, kern, bf16, x, nt, k, w, RMB_DT_BF16, n, want, work);
        product(pool, kern, bf16, x, nt, k, wp, RMB_DT_BF16_PANELS, n, got, work);
        bad += memcmp(want, got, nt * n * sizeof *got) != 0;
    }
    if (bad)
        fprintf(stderr, "%s prepacked nt=%zu k=%zu n=%zu differs\n", kern->name, nt, k, n);
    free(x), free(work), free(want), free(got), free(w), free(wp);
    return bad;
}

static void test_prepacked(void)
{
    static const size_t shapes[][3] = {{1, 2, 1},    {3, 18, 33},  {14, 256, 32},
                                       {15, 530, 70}, {29, 1040, 200}, {44, 512, 300}};
    size_t count;
    const rmb_kernels *const *list = rmb_kernels_available(&count);
    rmb_pool *pool;
    rmb_error err;
    CHECK_EQ_INT(rmb_pool_create(&pool, 2, &err), RMB_OK);
    for (size_t i = 0; i < count; i++)
        for (size_t s = 0; list[i]->prepack && s < sizeof shapes / sizeof shapes[0]; s++)
            CHECK_EQ_INT(check_prepacked(pool, list[i], shapes[s][0], shapes[s][1], shapes[s][2]),
                         0);
    rmb_pool_destroy(pool);
}

static void test_cleanup(void)
{
    free((void *)pack(NULL, 0, 0));
}

TEST_MAIN(test_gemm, test_gemm_bf16, test_pack, test_prepacked, test_gemm_invariance, test_gemm_q8, test_blocked_attention, test_attention_kernels,
          test_f16_widening, test_cleanup)
