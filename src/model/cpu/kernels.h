/* Compute kernels.  The exact path keeps activations and accumulation in
 * fp32 and widens bf16/f16 weights on the fly.  Each instruction set supplies
 * the same small set of functions; kernels.c holds the scalar reference and
 * picks the best set the CPU supports at run time. */
#ifndef RMB_MODEL_KERNELS_H
#define RMB_MODEL_KERNELS_H

#include "model/cpu/quant.h"
#include "model/tensor.h"
#include "model/cpu/threadpool.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Activations quantized for the int8 path (nt tokens x k, k a multiple of
 * 32), row-major: q[t * k + i] is the quant + 128 as an unsigned byte
 * (vpdpbusd's unsigned operand; the SIMD kernels take 128 x the weight
 * block's sum back out), d[t * (k / 32) + b] the scale of token t's block b. */
typedef struct rmb_q8_acts {
    uint8_t *q;
    float *d;
} rmb_q8_acts;

typedef struct rmb_kernels {
    const char *name; /* "scalar", "avx2", "avx512" */
    /* y[t*ldy + j] = sum_k x[t*k + kk] * w[j*k + kk] for t < nt, j in [j0, j1):
     * rows j0..j1 of the weight matrix w (out x k, stored as dt) against nt
     * activation rows.  NULL when the set has gemm_packed instead. */
    void (*gemm_rows)(const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt,
                      size_t j0, size_t j1, float *y, size_t ldy);
    /* The same with the activations packed, xt[rmb_pack_at(nt, k,
     * RMB_PACK_K, 1, t, i)] = x[t][i]; NULL when the set has none (rmb_gemm
     * then uses gemm_rows).  rmb_gemm packs once per product, shared by
     * every task. */
    void (*gemm_packed)(const float *xt, size_t nt, size_t k, const void *w, rmb_dtype dt,
                        size_t j0, size_t j1, float *y, size_t ldy);
    /* The bf16 compute path: the same product with activations and weights
     * rounded to bf16 (nearest even) and products summed in fp32.  xp holds
     * the activations packed in bf16 pairs: xp[rmb_pack_at(nt, k,
     * RMB_PACK_K_BF16, 2, t, i)] = bf16(x[t][i]) (k even).  bf16 weights are
     * read as stored, others are rounded.  NULL when the set has none (rmb_gemm_bf16 then uses the
     * scalar reference). */
    void (*gemm_bf16)(const uint16_t *xp, size_t nt, size_t k, const void *w, rmb_dtype dt,
                      size_t j0, size_t j1, float *y, size_t ldy);
    /* Elements [k0, k0 + kb) of every row of the nt x k activations x (one
     * block of rmb_pack_at's layout, kb and k0 multiples of u) packed for
     * gemm_packed (u = 1: floats) or gemm_bf16 (u = 2: bf16 pairs, rounded
     * as rmb_to_bf16) into out, which holds the whole packed matrix. */
    void (*pack)(const float *x, size_t nt, size_t k, size_t k0, size_t kb, size_t u, void *out);
    /* BF16 weights w (n x k, k even) laid out once, at load, as
     * RMB_DT_BF16_PANELS, which this set's gemm_packed and gemm_bf16 take
     * instead of w (bit-identical results; row ranges start at multiples of
     * 32): out, 64-byte aligned, holds rmb_prepacked_elements(n, k) halves.
     * NULL when the set has none. */
    void (*prepack)(const uint16_t *w, size_t n, size_t k, uint16_t *out);
    /* The int8 compute path for Q8_0 weights, on activations quantized by
     * quantize_q8 (rmb_q8_acts):
     *     y[t][j] = sum over blocks b, in order, of
     *               fmaf(d_x[t][b] * d_w[j][b], (float)isum, partial)
     * where isum = sum over the block of q_x * q_w in int32 (exact; so is its
     * float).  Every set computes exactly the reference's arithmetic, so
     * results are bit-identical. */
    void (*gemm_q8)(const rmb_q8_acts *x, size_t nt, size_t k, const void *w, size_t j0,
                    size_t j1, float *y, size_t ldy);
    /* The nt x k activations x quantized into out as ggml's
     * quantize_row_q8_0 does, but with d kept in fp32: per block d = max |x|
     * / 127, q = roundf(x * (1 / d)) (half away from zero; |q| <= 127); q = 0
     * where 1 / d is not finite (max |x| below about 1e-36); a block holding
     * inf or NaN gets d = NaN and q = 0, so the outputs it feeds are NaN. */
    void (*quantize_q8)(const float *x, size_t nt, size_t k, const rmb_q8_acts *out);
    float (*dot)(const float *a, const float *b, size_t n);
    /* Blocked attention: many query rows (of one kv head) against a run of
     * keys, so that each key is loaded once for all of them.  Every result
     * element is computed by the same operations whatever nq, nk and the
     * split of a run into calls, so a row's attention does not depend on the
     * rows it is batched with.
     * dots: s[m * lds + t] = sum over i < hd, in order, of q[m * hd + i] *
     * kt[i * ldk + t], for m < nq, t < nk (the keys given transposed). */
    void (*dots)(const float *q, size_t nq, const float *kt, size_t ldk, size_t nk, size_t hd,
                 float *s, size_t lds);
    /* wsum: out[m * hd + i] += p[m * ldp + t] * v[t * ldv + i] for t < nk in
     * order, m < nq, i < hd: the probability-weighted values. */
    void (*wsum)(float *out, size_t nq, const float *p, size_t ldp, const float *v, size_t ldv,
                 size_t nk, size_t hd);
    /* p[t] = exp(p[t] - max) for t < n; returns their sum.  The SIMD sets use
     * a polynomial within 2 ulp of expf. */
    float (*exp_sum)(float *p, size_t n, float max);
    /* gate[i] = silu(gate[i]) * up[i] (the SwiGLU MLP), exp as in exp_sum. */
    void (*silu_mul)(float *gate, const float *up, size_t n);
} rmb_kernels;

/* The kernel sets this CPU can run, best first; the last is "scalar". */
const rmb_kernels *const *rmb_kernels_available(size_t *count);
/* The set called name, or the best one when name is NULL; NULL when the CPU
 * lacks it or the name is unknown. */
const rmb_kernels *rmb_kernels_find(const char *name);

/* Instruction-set variants (defined in kernels_<isa>.c). */
extern const rmb_kernels rmb_kernels_avx2;
extern const rmb_kernels rmb_kernels_avx512;
/* The same with the int8 product in AVX512-VNNI (vpdpbusd), when the CPU
 * has it; and with the bf16 product in AVX512-BF16 (vdpbf16ps) too, for
 * CPUs that have both (every CPU with AVX512-BF16 so far has VNNI). */
extern const rmb_kernels rmb_kernels_avx512_vnni;
extern const rmb_kernels rmb_kernels_avx512_bf16;

/* Defines `static void name(...)` with gemm_rows' signature, stepping a
 * tile(x, nt, k, w, dt, nr, y, ldy) function over tm activation rows x tn
 * weight rows at a time.  One specialisation per dtype, so that the tile's
 * weight loads are resolved at compile time; attr carries the target ISA. */
#define RMB_DEFINE_GEMM_ROWS(attr, name, tile, tm, tn)                                     \
    attr static inline __attribute__((always_inline)) void name##_dt(                      \
        const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt, size_t j0,       \
        size_t j1, float *y, size_t ldy)                                                  \
    {                                                                                     \
        for (size_t t = 0; t < nt; t += (tm))                                             \
            for (size_t j = j0; j < j1; j += (tn))                                        \
                tile(x + t * k, nt - t < (tm) ? nt - t : (tm), k,                         \
                     (const char *)w + rmb_dtype_bytes(dt, j * k), dt,                    \
                     j1 - j < (tn) ? j1 - j : (tn), y + t * ldy + j, ldy);                \
    }                                                                                     \
    attr static void name(const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt, \
                          size_t j0, size_t j1, float *y, size_t ldy)                     \
    {                                                                                     \
        if (dt == RMB_DT_F32)                                                             \
            name##_dt(x, nt, k, w, RMB_DT_F32, j0, j1, y, ldy);                           \
        else if (dt == RMB_DT_F16)                                                        \
            name##_dt(x, nt, k, w, RMB_DT_F16, j0, j1, y, ldy);                           \
        else if (dt == RMB_DT_Q8_0)                                                       \
            name##_dt(x, nt, k, w, RMB_DT_Q8_0, j0, j1, y, ldy);                          \
        else                                                                              \
            name##_dt(x, nt, k, w, RMB_DT_BF16, j0, j1, y, ldy);                          \
    }

/* y (nt x n) = x (nt x k) times w (n x k, as dt) transposed, split over the
 * pool by blocks of output columns.  xt (nt x k floats) is workspace for
 * the kernels that take the activations packed; reuse says it already
 * holds them, from the previous call on the same x (q, k and v share their
 * input, as do gate and up). */
void rmb_gemm(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
              const void *w, rmb_dtype dt, size_t n, float *y, float *xt, bool reuse);

/* rmb_gemm for the bf16 compute path (k even); xp (nt x k halves) is
 * workspace for the bf16 pairs, reused as rmb_gemm reuses xt. */
void rmb_gemm_bf16(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
                   const void *w, rmb_dtype dt, size_t n, float *y, uint16_t *xp, bool reuse);

/* rmb_gemm for the int8 compute path (w Q8_0, k a multiple of 32); work
 * holds the quantized activations, nt * k * 9 / 8 bytes (4-byte aligned),
 * reused as rmb_gemm reuses xt. */
void rmb_gemm_q8(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt, size_t k,
                 const void *w, size_t n, float *y, void *work, bool reuse);

/* The size of a prepacked matrix: its rows padded to whole panels. */
#define RMB_PREPACK_ROWS 32
static inline size_t rmb_prepacked_elements(size_t n, size_t k)
{
    return (n + RMB_PREPACK_ROWS - 1) / RMB_PREPACK_ROWS * RMB_PREPACK_ROWS * k;
}

/* The scalar pack (the sets without a SIMD one use it). */
void rmb_pack_ref(const float *x, size_t nt, size_t k, size_t k0, size_t kb, size_t u, void *out);

/* The scalar references of gemm_q8 and quantize_q8: the specification. */
void rmb_gemm_q8_ref(const rmb_q8_acts *x, size_t nt, size_t k, const void *w, size_t j0,
                     size_t j1, float *y, size_t ldy);
void rmb_quantize_q8_ref(const float *x, size_t nt, size_t k, const rmb_q8_acts *out);

/* The activations as the SIMD exact and bf16 products read them: k in
 * blocks of kc elements (the last holds the rest), each block's tokens in
 * groups of RMB_PACK_TOKENS (the last holds the rest), each group
 * unit-major: a unit is u consecutive elements of one token (a float, or a
 * bf16 pair), a group's tokens side by side per unit.  A tile then reads
 * one contiguous run per group and block, and a block of every token stays
 * in cache while weight panels stream past it. */
#define RMB_PACK_TOKENS 14
#define RMB_PACK_K 256      /* floats per block (the exact path) */
#define RMB_PACK_K_BF16 512 /* bf16 elements per block */

/* The index of token t's element i in the packed activations (kc a
 * multiple of u). */
static inline size_t rmb_pack_at(size_t nt, size_t k, size_t kc, size_t u, size_t t, size_t i)
{
    size_t k0 = i - i % kc, kb = k - k0 < kc ? k - k0 : kc;
    size_t g0 = t - t % RMB_PACK_TOKENS,
           ng = nt - g0 < RMB_PACK_TOKENS ? nt - g0 : RMB_PACK_TOKENS;
    return k0 * nt + g0 * kb + ((i - k0) / u * ng + t - g0) * u + i % u;
}

/* The scalar exp_sum and silu_mul (expf), which the AVX2 set uses too. */
float rmb_exp_sum_ref(float *p, size_t n, float max);
void rmb_silu_mul_ref(float *gate, const float *up, size_t n);

/* The scalar reference of gemm_bf16 (every set's is tested against it). */
void rmb_gemm_bf16_ref(const uint16_t *xp, size_t nt, size_t k, const void *w, rmb_dtype dt,
                       size_t j0, size_t j1, float *y, size_t ldy);

/* f rounded to bf16, nearest even (as vcvtne2ps2bf16 rounds; NaN stays NaN). */
static inline uint16_t rmb_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)(bits >> 16 | 0x40);
    return (uint16_t)((bits + 0x7FFFu + (bits >> 16 & 1)) >> 16);
}

static inline float rmb_from_bf16(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* dst[0..n) = elements [offset, offset + n) of w widened to float. */
void rmb_widen(const void *w, rmb_dtype dt, size_t offset, size_t n, float *dst);

/* y = x / rms(x) * w, the norm of every architecture here (w already holds
 * Gemma's 1 + w).  The squares (exact in double) are summed in eight
 * interleaved partial sums, then pairwise: one serial chain of n additions
 * was 7% of an int8 prefill. */
static inline void rmb_rmsnorm(float *y, const float *x, const float *w, size_t n, float eps)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++)
            part[j] += (double)x[i + j] * x[i + j];
    for (; i < n; i++)
        part[i % 8] += (double)x[i] * x[i];
    double ss = ((part[0] + part[1]) + (part[2] + part[3])) +
                ((part[4] + part[5]) + (part[6] + part[7]));
    float inv = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (i = 0; i < n; i++)
        y[i] = w[i] * (x[i] * inv);
}

static inline size_t rmb_min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* One weight element widened to float (the scalar reference's load; reads
 * through memcpy because mapped tensors need not be aligned). */
static inline float rmb_load_f16(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023u, bits;
    if (exp == 31) {
        bits = sign | 0x7F800000u | man << 13;
    } else if (exp) {
        bits = sign | (exp + 112) << 23 | man << 13;
    } else if (man) { /* subnormal: normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 1024u));
        bits = sign | (uint32_t)(112 - e) << 23 | (man & 1023u) << 13;
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The scale of the Q8_0 block that element i lies in, and that block. */
static inline float rmb_q8_0_scale(const void *w, size_t i, const signed char **quants)
{
    const unsigned char *b = (const unsigned char *)w + i / 32 * 34;
    uint16_t d;
    memcpy(&d, b, 2);
    *quants = (const signed char *)b + 2;
    return rmb_load_f16(d);
}

static inline float rmb_load_weight(const void *w, rmb_dtype dt, size_t i)
{
    const unsigned char *p = w;
    if (dt == RMB_DT_Q8_0) {
        const signed char *q;
        float d = rmb_q8_0_scale(w, i, &q);
        return d * (float)q[i % 32];
    }
    if (dt == RMB_DT_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    if (rmb_dtype_is_kquant(dt))
        return rmb_kquant_value(w, dt, i);
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    if (dt == RMB_DT_F16)
        return rmb_load_f16(h);
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#endif
