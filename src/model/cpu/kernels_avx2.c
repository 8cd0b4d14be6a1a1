/* AVX2 + FMA + F16C kernels: 2 activation rows x 4 weight rows per tile, 8
 * floats per step; the k tail (k % 8) is summed by the scalar loads. */
#include "model/cpu/kernels.h"

#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define INLINE TARGET static inline __attribute__((always_inline))

INLINE __m256 load_w(const void *w, rmb_dtype dt, size_t i)
{
    if (dt == RMB_DT_Q8_0) { /* i and i + 7 lie in one block */
        const signed char *q;
        float d = rmb_q8_0_scale(w, i, &q);
        __m128i b = _mm_loadl_epi64((const __m128i *)(q + i % 32));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), _mm256_set1_ps(d));
    }
    if (dt == RMB_DT_F32)
        return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (dt == RMB_DT_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE void tile(const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt, size_t nr,
                 float *y, size_t ldy)
{
    const float *xr[2];
    size_t wr[4];
    __m256 acc[2][4];
    for (int i = 0; i < 4; i++) {
        if (i < 2)
            xr[i] = x + rmb_min_size((size_t)i, nt - 1) * k;
        wr[i] = rmb_min_size((size_t)i, nr - 1) * k;
        for (int t = 0; t < 2; t++)
            acc[t][i] = _mm256_setzero_ps();
    }
    size_t k8 = k & ~(size_t)7;
    for (size_t k0 = 0; k0 < k8; k0 += 8) {
        __m256 x0 = _mm256_loadu_ps(xr[0] + k0), x1 = _mm256_loadu_ps(xr[1] + k0);
        for (int j = 0; j < 4; j++) {
            __m256 wv = load_w(w, dt, wr[j] + k0);
            acc[0][j] = _mm256_fmadd_ps(x0, wv, acc[0][j]);
            acc[1][j] = _mm256_fmadd_ps(x1, wv, acc[1][j]);
        }
    }
    for (size_t i = 0; i < rmb_min_size(nt, 2); i++)
        for (size_t j = 0; j < rmb_min_size(nr, 4); j++) {
            float sum = hsum(acc[i][j]);
            for (size_t kk = k8; kk < k; kk++)
                sum += xr[i][kk] * rmb_load_weight(w, dt, wr[j] + kk);
            y[i * ldy + j] = sum;
        }
}

RMB_DEFINE_GEMM_ROWS(TARGET, gemm_rows, tile, 2, 4)

TARGET static float dot(const float *a, const float *b, size_t n)
{
    __m256 acc = _mm256_setzero_ps();
    size_t n8 = n & ~(size_t)7;
    for (size_t i = 0; i < n8; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float sum = hsum(acc);
    for (size_t i = n8; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* ---- blocked attention ---- */

/* The first `left` lanes (all for left >= 8), for maskload and maskstore. */
INLINE __m256i lanes(size_t left)
{
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1};
    return _mm256_loadu_si256((const __m256i *)(ones + 8 - rmb_min_size(left, 8)));
}

/* As the AVX-512 set: each score a chain of FMAs in its own lane, 4 query
 * rows x 16 keys (2 vectors) at a time, tails masked so that every key
 * takes the same path; wsum over strips of ATTN_KEYS keys, 4 query rows x
 * 16 output columns at a time. */
#define DOTS_ROWS 4
#define WSUM_ROWS 4
#define ATTN_KEYS 32

TARGET static void dots(const float *q, size_t nq, const float *kt, size_t ldk, size_t nk,
                        size_t hd, float *s, size_t lds)
{
    for (size_t t = 0; t < nk; t += 16) {
        __m256i m0 = lanes(nk - t), m1 = lanes(nk - t > 8 ? nk - t - 8 : 0);
        for (size_t r = 0; r < nq; r += DOTS_ROWS) {
            const float *qr[DOTS_ROWS];
            __m256 acc[DOTS_ROWS][2];
            for (int j = 0; j < DOTS_ROWS; j++) {
                qr[j] = q + rmb_min_size(r + (size_t)j, nq - 1) * hd;
                acc[j][0] = acc[j][1] = _mm256_setzero_ps();
            }
            for (size_t i = 0; i < hd; i++) {
                const float *k = kt + i * ldk + t;
                __m256 k0 = _mm256_maskload_ps(k, m0), k1 = _mm256_maskload_ps(k + 8, m1);
                for (int j = 0; j < DOTS_ROWS; j++) {
                    __m256 b = _mm256_set1_ps(qr[j][i]);
                    acc[j][0] = _mm256_fmadd_ps(b, k0, acc[j][0]);
                    acc[j][1] = _mm256_fmadd_ps(b, k1, acc[j][1]);
                }
            }
            for (int j = 0; j < DOTS_ROWS; j++)
                if (r + (size_t)j < nq) {
                    _mm256_maskstore_ps(s + (r + (size_t)j) * lds + t, m0, acc[j][0]);
                    _mm256_maskstore_ps(s + (r + (size_t)j) * lds + t + 8, m1, acc[j][1]);
                }
        }
    }
}

TARGET static void wsum(float *out, size_t nq, const float *p, size_t ldp, const float *v,
                        size_t ldv, size_t nk, size_t hd)
{
    for (size_t t0 = 0; t0 < nk; t0 += ATTN_KEYS) {
        size_t nt = rmb_min_size(ATTN_KEYS, nk - t0);
        for (size_t r = 0; r < nq; r += WSUM_ROWS)
            for (size_t i = 0; i < hd; i += 16) {
                __m256i m0 = lanes(hd - i), m1 = lanes(hd - i > 8 ? hd - i - 8 : 0);
                const float *pr[WSUM_ROWS];
                float *o[WSUM_ROWS];
                __m256 acc[WSUM_ROWS][2];
                for (int j = 0; j < WSUM_ROWS; j++) {
                    size_t row = rmb_min_size(r + (size_t)j, nq - 1);
                    pr[j] = p + row * ldp + t0;
                    o[j] = out + row * hd + i;
                    acc[j][0] = _mm256_maskload_ps(o[j], m0);
                    acc[j][1] = _mm256_maskload_ps(o[j] + 8, m1);
                }
                for (size_t t = 0; t < nt; t++) {
                    const float *x = v + (t0 + t) * ldv + i;
                    __m256 x0 = _mm256_maskload_ps(x, m0), x1 = _mm256_maskload_ps(x + 8, m1);
                    for (int j = 0; j < WSUM_ROWS; j++) {
                        __m256 b = _mm256_set1_ps(pr[j][t]);
                        acc[j][0] = _mm256_fmadd_ps(b, x0, acc[j][0]);
                        acc[j][1] = _mm256_fmadd_ps(b, x1, acc[j][1]);
                    }
                }
                for (int j = 0; j < WSUM_ROWS; j++)
                    if (r + (size_t)j < nq) {
                        _mm256_maskstore_ps(o[j], m0, acc[j][0]);
                        _mm256_maskstore_ps(o[j] + 8, m1, acc[j][1]);
                    }
            }
    }
}

const rmb_kernels rmb_kernels_avx2 = {
    .name = "avx2",
    .gemm_rows = gemm_rows,
    .gemm_q8 = rmb_gemm_q8_ref,
    .quantize_q8 = rmb_quantize_q8_ref,
    .dot = dot,
    .dots = dots,
    .wsum = wsum,
    .exp_sum = rmb_exp_sum_ref,
    .silu_mul = rmb_silu_mul_ref,
};
