/* AVX-512 kernels: 4 activation rows x 4 weight rows per tile, 16 floats per
 * step, masked loads for the tail so nothing is read past a row. */
#include "model/kernels.h"

#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define INLINE TARGET static inline __attribute__((always_inline))

INLINE __m512 load_w(const void *w, rmb_dtype dt, size_t i, __mmask16 m)
{
    if (dt == RMB_DT_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i);
    if (dt == RMB_DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Rows past the edge repeat the last valid row; their sums are dropped. */
INLINE void tile(const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt, size_t nr,
                 float *y, size_t ldy)
{
    const float *xr[4];
    size_t wr[4];
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++) {
        xr[i] = x + rmb_min_size((size_t)i, nt - 1) * k;
        wr[i] = rmb_min_size((size_t)i, nr - 1) * k;
        for (int j = 0; j < 4; j++)
            acc[i][j] = _mm512_setzero_ps();
    }
    for (size_t k0 = 0; k0 < k; k0 += 16) {
        __mmask16 m = k - k0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - k0)) - 1);
        __m512 xv[4];
        for (int i = 0; i < 4; i++)
            xv[i] = _mm512_maskz_loadu_ps(m, xr[i] + k0);
        for (int j = 0; j < 4; j++) {
            __m512 wv = load_w(w, dt, wr[j] + k0, m);
            for (int i = 0; i < 4; i++)
                acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    for (size_t i = 0; i < rmb_min_size(nt, 4); i++)
        for (size_t j = 0; j < rmb_min_size(nr, 4); j++)
            y[i * ldy + j] = _mm512_reduce_add_ps(acc[i][j]);
}

RMB_DEFINE_GEMM_ROWS(TARGET, gemm_rows, tile, 4, 4)

TARGET static float dot(const float *a, const float *b, size_t n)
{
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
                              acc);
    }
    return _mm512_reduce_add_ps(acc);
}

TARGET static void axpy(float *y, float a, const float *x, size_t n)
{
    __m512 av = _mm512_set1_ps(a);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 yv = _mm512_maskz_loadu_ps(m, y + i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), yv));
    }
}

const rmb_kernels rmb_kernels_avx512 = {"avx512", gemm_rows, dot, axpy};
