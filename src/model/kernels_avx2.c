/* AVX2 + FMA + F16C kernels: 2 activation rows x 4 weight rows per tile, 8
 * floats per step; the k tail (k % 8) is summed by the scalar loads. */
#include "model/kernels.h"

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

TARGET static void dots(const float *q, const float *k, size_t ld, size_t n, size_t hd,
                        float *out)
{
    for (size_t t = 0; t < n; t++)
        out[t] = dot(q, k + t * ld, hd);
}

TARGET static void wsum(float *out, const float *p, const float *v, size_t ld, size_t n,
                        size_t hd)
{
    size_t n8 = hd & ~(size_t)7;
    for (size_t t = 0; t < n; t++) {
        const float *x = v + t * ld;
        __m256 av = _mm256_set1_ps(p[t]);
        for (size_t i = 0; i < n8; i += 8)
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i),
                                                      _mm256_loadu_ps(out + i)));
        for (size_t i = n8; i < hd; i++)
            out[i] += p[t] * x[i];
    }
}

const rmb_kernels rmb_kernels_avx2 = {
    "avx2", gemm_rows, NULL, NULL, rmb_gemm_q8_ref, rmb_quantize_q8_ref, dot, dots, wsum,
    rmb_exp_sum_ref, rmb_silu_mul_ref};
