/* AVX-512 kernels: weights widened into float panels, 4 activation rows x 4
 * weight rows per tile, 16 floats per step, masked loads for the tails so
 * nothing is read past a row. */
#include "model/kernels.h"

#include <immintrin.h>
#include <stdbool.h>

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

/* Weights are widened once into a float panel of PANEL_ROWS rows x
 * PANEL_K columns, which every 4-token tile then reads: the conversion is
 * paid once per panel instead of once per tile, and the inner loop is plain
 * loads and FMAs. */
#define PANEL_ROWS 32
#define PANEL_K 1024

static inline __mmask16 tail_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* panel[r * kb + i] = W[j + r][k0 + i] for r < nr, i < kb. */
INLINE void widen_panel_dt(const void *w, rmb_dtype dt, size_t k, size_t j, size_t nr, size_t k0,
                           size_t kb, float *panel)
{
    for (size_t r = 0; r < nr; r++)
        for (size_t i = 0; i < kb; i += 16)
            _mm512_mask_storeu_ps(panel + r * kb + i, tail_mask(kb - i),
                                  load_w(w, dt, (j + r) * k + k0 + i, tail_mask(kb - i)));
}

TARGET static void widen_panel(const void *w, rmb_dtype dt, size_t k, size_t j, size_t nr,
                               size_t k0, size_t kb, float *panel)
{
    if (dt == RMB_DT_F32)
        widen_panel_dt(w, RMB_DT_F32, k, j, nr, k0, kb, panel);
    else if (dt == RMB_DT_F16)
        widen_panel_dt(w, RMB_DT_F16, k, j, nr, k0, kb, panel);
    else
        widen_panel_dt(w, RMB_DT_BF16, k, j, nr, k0, kb, panel);
}

/* y[i][j] (+)= x row i . panel row j for up to 4 x 4 of them: x rows are ldx
 * apart, panel rows kb apart.  Rows past the edge repeat the last valid row;
 * their sums are dropped. */
INLINE void tile(const float *x, size_t ldx, size_t nt, size_t kb, const float *panel, size_t nr,
                 float *y, size_t ldy, bool accumulate)
{
    const float *xr[4], *wr[4];
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++) {
        xr[i] = x + rmb_min_size((size_t)i, nt - 1) * ldx;
        wr[i] = panel + rmb_min_size((size_t)i, nr - 1) * kb;
        for (int j = 0; j < 4; j++)
            acc[i][j] = _mm512_setzero_ps();
    }
    for (size_t k0 = 0; k0 < kb; k0 += 16) {
        __mmask16 m = tail_mask(kb - k0);
        __m512 xv[4];
        for (int i = 0; i < 4; i++)
            xv[i] = _mm512_maskz_loadu_ps(m, xr[i] + k0);
        for (int j = 0; j < 4; j++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, wr[j] + k0);
            for (int i = 0; i < 4; i++)
                acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    for (size_t i = 0; i < rmb_min_size(nt, 4); i++)
        for (size_t j = 0; j < rmb_min_size(nr, 4); j++)
            y[i * ldy + j] = (accumulate ? y[i * ldy + j] : 0) + _mm512_reduce_add_ps(acc[i][j]);
}

TARGET static void gemm_rows(const float *x, size_t nt, size_t k, const void *w, rmb_dtype dt,
                             size_t j0, size_t j1, float *y, size_t ldy)
{
    float panel[PANEL_ROWS * PANEL_K];
    for (size_t jb = j0; jb < j1; jb += PANEL_ROWS) {
        size_t nr = rmb_min_size(PANEL_ROWS, j1 - jb);
        for (size_t k0 = 0; k0 < k; k0 += PANEL_K) {
            size_t kb = rmb_min_size(PANEL_K, k - k0);
            widen_panel(w, dt, k, jb, nr, k0, kb, panel);
            for (size_t t = 0; t < nt; t += 4)
                for (size_t j = 0; j < nr; j += 4)
                    tile(x + t * k + k0, k, rmb_min_size(nt - t, 4), kb, panel + j * kb,
                         rmb_min_size(nr - j, 4), y + t * ldy + jb + j, ldy, k0 > 0);
        }
    }
}

TARGET static float dot(const float *a, const float *b, size_t n)
{
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
                              acc);
    }
    return _mm512_reduce_add_ps(acc);
}

TARGET static void axpy(float *y, float a, const float *x, size_t n)
{
    __m512 av = _mm512_set1_ps(a);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 yv = _mm512_maskz_loadu_ps(m, y + i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), yv));
    }
}

const rmb_kernels rmb_kernels_avx512 = {"avx512", gemm_rows, dot, axpy};
