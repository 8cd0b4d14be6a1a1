/* AVX-512 kernels: weights packed into panels of 32 rows, multiplied with
 * the packed activations 14 tokens x 32 weight rows at a time; masked
 * loads for the tails so nothing is read past a row. */
#include "model/cpu/kernels.h"

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define INLINE TARGET static inline __attribute__((always_inline))

INLINE __m512 load_w(const void *w, rmb_dtype dt, size_t i, __mmask16 m)
{
    if (dt == RMB_DT_Q8_0) { /* i and i + 15 lie in one block */
        const signed char *q;
        float d = rmb_q8_0_scale(w, i, &q);
        __m128i b = _mm_maskz_loadu_epi8(m, q + i % 32);
        return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), _mm512_set1_ps(d));
    }
    if (dt == RMB_DT_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i);
    if (dt == RMB_DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#define PANEL_ROWS 32

static inline __mmask16 tail_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* Loops over a tile's registers, unrolled so that the arrays stay in
 * registers (too large for the compilers' own complete unrolling). */
#define UNROLL _Pragma("GCC unroll 16")

/* ---- the exact and bf16 products ---- */

/* Both multiply the packed activations (rmb_pack_at) by weight panels of
 * PANEL_ROWS rows (two vectors) packed unit-major, one block of k at a
 * time: a tile of RMB_PACK_TOKENS tokens x PANEL_ROWS rows holds y[t][j..
 * j + 32) in two accumulators per token, and per unit of k loads two
 * weight vectors and broadcasts one unit per token.  The panel (PANEL_K
 * units) stays in L1 while the tiles of every token group read it, the
 * activations' block stays in L2.  Each output is one chain over k in
 * order (the accumulators start from y after the first block), whatever
 * the place of its token in a group or of its row in a panel. */
#define PANEL_K RMB_PACK_K
_Static_assert(RMB_PACK_K_BF16 / 2 == PANEL_K, "a bf16 block is a panel of pairs");

/* The 16 x 16 transpose of 32-bit elements: for d = 1, 2, 4, 8, the
 * off-diagonal d x d blocks of every 2d x 2d block swap places. */
INLINE void transpose16(__m512 r[16])
{
    const __m512i c = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                  other = _mm512_set1_epi32(16);
    UNROLL for (int d = 1; d < 16; d *= 2) {
        __m512i vd = _mm512_set1_epi32(d);
        __mmask16 odd = _mm512_test_epi32_mask(c, vd);
        /* row i keeps its columns without d and takes row i + d's with; row
         * i + d the reverse */
        __m512i lo = _mm512_mask_add_epi32(c, odd, _mm512_xor_si512(c, vd), other),
                hi = _mm512_mask_add_epi32(_mm512_or_si512(c, vd), odd, c, other);
        UNROLL for (int i = 0; i < 16; i++)
            if (!(i & d)) {
                __m512 a = r[i], b = r[i + d];
                r[i] = _mm512_permutex2var_ps(a, lo, b);
                r[i + d] = _mm512_permutex2var_ps(a, hi, b);
            }
    }
}

/* x rounded to bf16 (as rmb_to_bf16), 16 halves. */
INLINE __m256i round_bf16(__m512 x)
{
    __m512i bits = _mm512_castps_si512(x), high = _mm512_srli_epi32(bits, 16);
    __m512i r = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)),
                                 _mm512_and_si512(high, _mm512_set1_epi32(1)));
    r = _mm512_srli_epi32(r, 16);
    r = _mm512_mask_or_epi32(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), high,
                             _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(r);
}

/* 16 units of a weight row from element i (left units remain, zeros past
 * them): floats, or (u = 2) bf16 pairs, bf16 weights as stored. */
INLINE __m512 load_units(const void *w, rmb_dtype dt, size_t u, size_t i, size_t left)
{
    if (u == 1)
        return load_w(w, dt, i, tail_mask(left));
    if (dt == RMB_DT_BF16)
        return _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(
            left >= 16 ? ~(__mmask32)0 : (__mmask32)((1u << 2 * left) - 1),
            (const uint16_t *)w + i));
    __m256i lo = round_bf16(load_w(w, dt, i, tail_mask(2 * left))),
            hi = round_bf16(load_w(w, dt, i + 16, tail_mask(left > 8 ? 2 * left - 16 : 0)));
    return _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
}

/* wp[s * PANEL_ROWS + r] = unit s of row j + r from element k0, for s < nu
 * and r < PANEL_ROWS (zero from row nr on). */
INLINE void pack_panel_dt(const void *w, rmb_dtype dt, size_t u, size_t k, size_t j, size_t nr,
                          size_t k0, size_t nu, float *wp)
{
    for (size_t s = 0; s < nu; s += 16)
        for (size_t h = 0; h < PANEL_ROWS; h += 16) {
            __m512 r[16];
            UNROLL for (size_t i = 0; i < 16; i++)
                r[i] = h + i < nr ? load_units(w, dt, u, (j + h + i) * k + k0 + s * u, nu - s)
                                  : _mm512_setzero_ps();
            transpose16(r);
            UNROLL for (size_t i = 0; i < 16; i++)
                if (s + i < nu)
                    _mm512_store_ps(wp + (s + i) * PANEL_ROWS + h, r[i]);
        }
}

TARGET static void pack_panel(const void *w, rmb_dtype dt, size_t u, size_t k, size_t j,
                              size_t nr, size_t k0, size_t nu, float *wp)
{
    if (dt == RMB_DT_F32)
        pack_panel_dt(w, RMB_DT_F32, u, k, j, nr, k0, nu, wp);
    else if (dt == RMB_DT_F16)
        pack_panel_dt(w, RMB_DT_F16, u, k, j, nr, k0, nu, wp);
    else if (dt == RMB_DT_Q8_0)
        pack_panel_dt(w, RMB_DT_Q8_0, u, k, j, nr, k0, nu, wp);
    else
        pack_panel_dt(w, RMB_DT_BF16, u, k, j, nr, k0, nu, wp);
}

/* y[t][0..32) (+)= ng tokens' units xs (ng per step) times the panel's nu
 * steps, madd(acc, weights, unit broadcast) per step; m masks the panel's
 * rows.  Tokens past ng (a group's tail) repeat the last one, unstored.
 * Defined per product, as the bf16 one needs its own target. */
#define DEFINE_TILE(attr, name, madd)                                                        \
    attr static inline __attribute__((always_inline)) void name##_n(                         \
        const char *xs, size_t ng, size_t nu, const float *wp, const __mmask16 *m, float *y,  \
        size_t ldy, bool accumulate)                                                          \
    {                                                                                         \
        __m512 acc[RMB_PACK_TOKENS][2];                                                       \
        UNROLL for (size_t t = 0; t < RMB_PACK_TOKENS; t++)                                  \
            UNROLL for (int v = 0; v < 2; v++) acc[t][v] =                                    \
                accumulate && t < ng ? _mm512_maskz_loadu_ps(m[v], y + t * ldy + 16 * v)     \
                                     : _mm512_setzero_ps();                                   \
        for (size_t s = 0; s < nu; s++, xs += 4 * ng, wp += PANEL_ROWS) {                     \
            __m512 w0 = _mm512_load_ps(wp), w1 = _mm512_load_ps(wp + 16);                     \
            UNROLL for (size_t t = 0; t < RMB_PACK_TOKENS; t++) {                            \
                float unit;                                                                   \
                memcpy(&unit, xs + 4 * rmb_min_size(t, ng - 1), 4);                           \
                __m512 b = _mm512_set1_ps(unit);                                              \
                acc[t][0] = madd(acc[t][0], w0, b);                                           \
                acc[t][1] = madd(acc[t][1], w1, b);                                           \
            }                                                                                 \
        }                                                                                     \
        UNROLL for (size_t t = 0; t < RMB_PACK_TOKENS; t++)                                  \
            UNROLL for (int v = 0; v < 2; v++) if (t < ng)                                    \
                _mm512_mask_storeu_ps(y + t * ldy + 16 * v, m[v], acc[t][v]);                 \
    }                                                                                         \
    attr static void name(const char *xs, size_t ng, size_t nu, const float *wp,              \
                          const __mmask16 *m, float *y, size_t ldy, bool accumulate)          \
    {                                                                                         \
        if (ng == RMB_PACK_TOKENS) /* the full group with its offsets known */               \
            name##_n(xs, RMB_PACK_TOKENS, nu, wp, m, y, ldy, accumulate);                     \
        else                                                                                  \
            name##_n(xs, ng, nu, wp, m, y, ldy, accumulate);                                  \
    }

typedef void tile_fn(const char *xs, size_t ng, size_t nu, const float *wp, const __mmask16 *m,
                     float *y, size_t ldy, bool accumulate);

INLINE __m512 madd_f32(__m512 acc, __m512 w, __m512 x)
{
    return _mm512_fmadd_ps(w, x, acc);
}

DEFINE_TILE(TARGET, tile_f32, madd_f32)

/* Weights of the next block (rows j..j + nr, elements k0..k0 + kb) on
 * their way to L1 while the tiles run, a few rows before each tile (a
 * burst would stall the core on memory as packing does): the hardware
 * prefetchers do not follow 32 rows at once. */
static void prefetch_block(const void *w, rmb_dtype dt, size_t k, size_t j, size_t nr, size_t k0,
                           size_t kb)
{
    size_t bytes = rmb_dtype_bytes(dt, kb);
    for (size_t r = j; r < j + nr; r++) {
        const char *p = (const char *)w + rmb_dtype_bytes(dt, r * k + k0);
        for (size_t b = 0; b < bytes; b += 64)
            _mm_prefetch(p + b, _MM_HINT_T0);
    }
}

/* ---- prepacked weights ---- */

/* RMB_DT_BF16_PANELS: panels of PANEL_ROWS rows (the last padded with zero
 * rows), each pair-major over the whole k: for each pair of elements p <
 * k / 2, the pair of every row side by side, one dword per row.  A block
 * of k is then one contiguous run: gemm_bf16 multiplies it in place and
 * gemm_packed widens it with a shift and a mask, with no transposes and no
 * reads from 32 rows apart at each use. */
_Static_assert(PANEL_ROWS == RMB_PREPACK_ROWS, "prepacked panels are the tiles' panels");

TARGET static void prepack(const uint16_t *w, size_t n, size_t k, uint16_t *out)
{
    for (size_t jb = 0; jb < n; jb += PANEL_ROWS)
        pack_panel(w, RMB_DT_BF16, 2, k, jb, rmb_min_size(PANEL_ROWS, n - jb), 0, k / 2,
                   (float *)(out + jb * k));
}

/* The block of a prepacked matrix at rows jb.., elements k0.. (k0 even). */
static const float *panel_block(const void *w, size_t k, size_t jb, size_t k0)
{
    return (const float *)((const uint16_t *)w + jb * k) + k0 / 2 * PANEL_ROWS;
}

/* A prepacked block of kb elements as the exact tile reads it: a pair's
 * first element is the dword's low half, its second the high half. */
TARGET static void widen_block(const float *pairs, size_t kb, float *wp)
{
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    for (size_t p = 0; p < kb / 2; p++)
        for (size_t h = 0; h < PANEL_ROWS; h += 16) {
            __m512i d = _mm512_loadu_si512(pairs + p * PANEL_ROWS + h);
            _mm512_store_si512(wp + 2 * p * PANEL_ROWS + h, _mm512_slli_epi32(d, 16));
            _mm512_store_si512(wp + (2 * p + 1) * PANEL_ROWS + h, _mm512_and_si512(d, high));
        }
}

/* Part `part` of `parts` of a contiguous run of bytes on its way to L1. */
static void prefetch_run(const void *p, size_t bytes, size_t part, size_t parts)
{
    size_t lines = (bytes + 63) / 64;
    for (size_t i = part * lines / parts; i < (part + 1) * lines / parts; i++)
        _mm_prefetch((const char *)p + 64 * i, _MM_HINT_T0);
}

/* Rows [j0, j1) of y against the packed activations xs, u elements per
 * unit and kc per block, by tile; the weights as stored (a block packed
 * into wp at a time) or prepacked. */
TARGET static void gemm_panels(const void *xs, size_t nt, size_t k, size_t u, size_t kc,
                               const void *w, rmb_dtype dt, size_t j0, size_t j1, float *y,
                               size_t ldy, tile_fn *tile)
{
    _Alignas(64) float wp[PANEL_K * PANEL_ROWS];
    bool prepacked = dt == RMB_DT_BF16_PANELS;
    size_t groups = (nt + RMB_PACK_TOKENS - 1) / RMB_PACK_TOKENS;
    for (size_t jb = j0; jb < j1; jb += PANEL_ROWS) {
        size_t nr = rmb_min_size(PANEL_ROWS, j1 - jb);
        __mmask16 m[2] = {tail_mask(nr), tail_mask(nr > 16 ? nr - 16 : 0)};
        for (size_t k0 = 0; k0 < k; k0 += kc) {
            size_t kb = rmb_min_size(kc, k - k0);
            const float *block = wp;
            if (!prepacked)
                pack_panel(w, dt, u, k, jb, nr, k0, kb / u, wp);
            else if (u == 1)
                widen_block(panel_block(w, k, jb, k0), kb, wp);
            else
                block = panel_block(w, k, jb, k0);
            /* the next block: this panel's, or the next panel's first */
            size_t jn = k0 + kc < k ? jb : jb + PANEL_ROWS, kn = k0 + kc < k ? k0 + kc : 0,
                   nrn = jn < j1 ? rmb_min_size(PANEL_ROWS, j1 - jn) : 0,
                   kbn = rmb_min_size(kc, k - kn);
            for (size_t g = 0; g < groups; g++) {
                size_t g0 = g * RMB_PACK_TOKENS;
                if (prepacked && nrn)
                    prefetch_run(panel_block(w, k, jn, kn), kbn / 2 * PANEL_ROWS * 4, g, groups);
                else if (!prepacked)
                    prefetch_block(w, dt, k, jn + g * nrn / groups,
                                   (g + 1) * nrn / groups - g * nrn / groups, kn, kbn);
                tile((const char *)xs + (k0 * nt + g0 * kb) / u * 4,
                     rmb_min_size(RMB_PACK_TOKENS, nt - g0), kb / u, block, m,
                     y + g0 * ldy + jb, ldy, k0 > 0);
            }
        }
    }
}

/* rmb_kernels.pack: per group, 16 units of each token (a row of floats, or
 * of bf16 pairs rounded as rmb_to_bf16) transposed so that each unit's
 * tokens lie side by side, as the tiles broadcast them. */
TARGET static void pack(const float *x, size_t nt, size_t k, size_t k0, size_t kb, size_t u,
                        void *out)
{
    size_t nu = kb / u;
    for (size_t g0 = 0; g0 < nt; g0 += RMB_PACK_TOKENS) {
        size_t ng = rmb_min_size(RMB_PACK_TOKENS, nt - g0);
        float *o = (float *)out + (k0 * nt + g0 * kb) / u;
        for (size_t s = 0; s < nu; s += 16) {
            __m512 r[16];
            UNROLL for (size_t t = 0; t < 16; t++)
                r[t] = t < ng ? load_units(x + (g0 + t) * k, RMB_DT_F32, u, k0 + s * u, nu - s)
                              : _mm512_setzero_ps();
            transpose16(r);
            UNROLL for (size_t i = 0; i < 16; i++)
                if (s + i < nu)
                    _mm512_mask_storeu_ps(o + (s + i) * ng, tail_mask(ng), r[i]);
        }
    }
}

TARGET static void gemm_packed(const float *xt, size_t nt, size_t k, const void *w,
                               rmb_dtype dt, size_t j0, size_t j1, float *y, size_t ldy)
{
    gemm_panels(xt, nt, k, 1, RMB_PACK_K, w, dt, j0, j1, y, ldy, tile_f32);
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

/* ---- blocked attention ---- */

/* Keys per strip of dots and wsum: a strip (ATTN_KEYS x hd floats) stays in
 * L1 while every query row passes over it, and the first pass over a strip
 * prefetches the next (a head's keys outgrow L2 on long sequences, and the
 * hardware prefetchers do not follow the strided rows). */
#define ATTN_KEYS 32

INLINE void prefetch_lines(const float *p, size_t floats)
{
    for (size_t i = 0; i < floats; i += 16)
        _mm_prefetch((const char *)(p + i), _MM_HINT_T1);
}
/* Query rows per pass of dots: 8 rows x 2 vectors of keys accumulate in
 * registers; per step 2 key loads and 8 broadcasts feed 16 FMAs. */
#define DOTS_ROWS 8

/* Each score is a chain of FMAs over i in its own lane: no horizontal
 * sums, and nothing depends on the other rows or keys of the call. */
TARGET static void dots(const float *q, size_t nq, const float *kt, size_t ldk, size_t nk,
                        size_t hd, float *s, size_t lds)
{
    for (size_t t = 0; t < nk; t += ATTN_KEYS) {
        __mmask16 m0 = tail_mask(nk - t), m1 = tail_mask(nk - t > 16 ? nk - t - 16 : 0);
        for (size_t r = 0; r < nq; r += DOTS_ROWS) {
            const float *qr[DOTS_ROWS];
            __m512 acc[DOTS_ROWS][2];
            for (int j = 0; j < DOTS_ROWS; j++) {
                qr[j] = q + rmb_min_size(r + (size_t)j, nq - 1) * hd;
                acc[j][0] = acc[j][1] = _mm512_setzero_ps();
            }
            for (size_t i = 0; i < hd; i++) {
                const float *k = kt + i * ldk + t;
                if (r == 0 && t + 2 * ATTN_KEYS < nk)
                    prefetch_lines(k + 2 * ATTN_KEYS, ATTN_KEYS);
                __m512 k0 = _mm512_maskz_loadu_ps(m0, k), k1 = _mm512_maskz_loadu_ps(m1, k + 16);
                for (int j = 0; j < DOTS_ROWS; j++) {
                    __m512 b = _mm512_set1_ps(qr[j][i]);
                    acc[j][0] = _mm512_fmadd_ps(b, k0, acc[j][0]);
                    acc[j][1] = _mm512_fmadd_ps(b, k1, acc[j][1]);
                }
            }
            for (int j = 0; j < DOTS_ROWS; j++)
                if (r + (size_t)j < nq) {
                    _mm512_mask_storeu_ps(s + (r + (size_t)j) * lds + t, m0, acc[j][0]);
                    _mm512_mask_storeu_ps(s + (r + (size_t)j) * lds + t + 16, m1, acc[j][1]);
                }
        }
    }
}

/* Query rows x output columns per pass of wsum: 4 x 64 accumulate in
 * registers; per key 4 value loads and 4 broadcasts feed 16 FMAs. */
#define WSUM_ROWS 4
#define WSUM_COLS 64

TARGET static void wsum(float *out, size_t nq, const float *p, size_t ldp, const float *v,
                        size_t ldv, size_t nk, size_t hd)
{
    for (size_t t0 = 0; t0 < nk; t0 += ATTN_KEYS) {
        size_t nt = rmb_min_size(ATTN_KEYS, nk - t0);
        for (size_t r = 0; r < nq; r += WSUM_ROWS)
            for (size_t i0 = 0; i0 < hd; i0 += WSUM_COLS) {
                const float *pr[WSUM_ROWS];
                float *o[WSUM_ROWS];
                __m512 acc[WSUM_ROWS][4];
                __mmask16 m[4];
                for (int c = 0; c < 4; c++)
                    m[c] = tail_mask(hd - i0 > (size_t)c * 16 ? hd - i0 - (size_t)c * 16 : 0);
                for (int j = 0; j < WSUM_ROWS; j++) {
                    size_t row = rmb_min_size(r + (size_t)j, nq - 1);
                    pr[j] = p + row * ldp + t0;
                    o[j] = out + row * hd + i0;
                    for (int c = 0; c < 4; c++)
                        acc[j][c] = _mm512_maskz_loadu_ps(m[c], o[j] + c * 16);
                }
                for (size_t t = 0; t < nt; t++) {
                    const float *x = v + (t0 + t) * ldv + i0;
                    if (r == 0 && t0 + ATTN_KEYS + t < nk)
                        prefetch_lines(x + ATTN_KEYS * ldv, rmb_min_size(WSUM_COLS, hd - i0));
                    __m512 xv[4];
                    for (int c = 0; c < 4; c++)
                        xv[c] = _mm512_maskz_loadu_ps(m[c], x + c * 16);
                    for (int j = 0; j < WSUM_ROWS; j++) {
                        __m512 b = _mm512_set1_ps(pr[j][t]);
                        for (int c = 0; c < 4; c++)
                            acc[j][c] = _mm512_fmadd_ps(b, xv[c], acc[j][c]);
                    }
                }
                for (int j = 0; j < WSUM_ROWS; j++)
                    for (int c = 0; r + (size_t)j < nq && c < 4; c++)
                        _mm512_mask_storeu_ps(o[j] + c * 16, m[c], acc[j][c]);
            }
    }
}

/* ---- softmax and activation ---- */

/* exp(x) (for x <= 88; meant for x <= 0): x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial
 * for e^r (Cephes' expf coefficients), scaled by 2^n with vscalefps (which
 * underflows to 0 cleanly). */
INLINE __m512 exp_neg(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f)); /* below: 0 in float anyway */
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, n);
}

TARGET static float exp_sum(float *p, size_t n, float max)
{
    __m512 sum = _mm512_setzero_ps(), mv = _mm512_set1_ps(max);
    for (size_t t = 0; t < n; t += 16) {
        __mmask16 m = tail_mask(n - t);
        __m512 e = exp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + t), mv));
        _mm512_mask_storeu_ps(p + t, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

TARGET static void silu_mul(float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 e = exp_neg(_mm512_sub_ps(_mm512_setzero_ps(), g)); /* e^-g */
        __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

/* ---- the bf16 product (AVX512-BF16) ---- */

#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))
#define INLINE_BF16 TARGET_BF16 static inline __attribute__((always_inline))

INLINE_BF16 __m512 madd_bf16(__m512 acc, __m512 w, __m512 x)
{
    return _mm512_dpbf16_ps(acc, (__m512bh)w, (__m512bh)x);
}

DEFINE_TILE(TARGET_BF16, tile_bf16, madd_bf16)

TARGET static void gemm_bf16(const uint16_t *xp, size_t nt, size_t k, const void *w,
                             rmb_dtype dt, size_t j0, size_t j1, float *y, size_t ldy)
{
    gemm_panels(xp, nt, k, 2, RMB_PACK_K_BF16, w, dt, j0, j1, y, ldy, tile_bf16);
}

/* ---- the int8 product (AVX512-VNNI) ---- */

/* quantize_q8 (AVX-512F; the VNNI-less sets use it too): each token's
 * block as two vectors, x * id rounded half away from zero exactly as
 * roundf: t = trunc(v), then t + trunc(2 (v - t)), where v - t is exact. */
INLINE __m512i quantize16(const float *x, __m512 id)
{
    __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x), id);
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(v, t);
    v = _mm512_add_ps(t, _mm512_roundscale_ps(_mm512_add_ps(f, f),
                                              _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
    return _mm512_cvttps_epi32(v);
}

TARGET static void quantize_q8(const float *x, size_t nt, size_t k, const rmb_q8_acts *out)
{
    const __m512 big = _mm512_set1_ps(FLT_MAX);
    const __m512i off = _mm512_set1_epi32(128);
    for (size_t t = 0; t < nt; t++)
        for (size_t b = 0; b < k / 32; b++) {
            const float *xb = x + t * k + b * 32;
            uint8_t *q = out->q + t * k + b * 32;
            __m512 a0 = _mm512_abs_ps(_mm512_loadu_ps(xb)),
                   a1 = _mm512_abs_ps(_mm512_loadu_ps(xb + 16));
            bool finite = !(_mm512_cmp_ps_mask(a0, big, _CMP_NLE_UQ) |
                            _mm512_cmp_ps_mask(a1, big, _CMP_NLE_UQ));
            float d = finite ? _mm512_reduce_max_ps(_mm512_max_ps(a0, a1)) / 127 : NAN,
                  id = d > 0 && 1 / d <= FLT_MAX ? 1 / d : 0;
            out->d[t * (k / 32) + b] = d;
            if (!(id > 0)) {
                memset(q, 128, 32);
                continue;
            }
            __m512 iv = _mm512_set1_ps(id);
            for (int h = 0; h < 2; h++)
                _mm_storeu_si128((__m128i *)(q + 16 * h),
                                 _mm512_cvtepi32_epi8(
                                     _mm512_add_epi32(quantize16(xb + 16 * h, iv), off)));
        }
}

#define TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")))
#define INLINE_VNNI TARGET_VNNI static inline __attribute__((always_inline))

#define Q8_BLOCK_BYTES 34
/* Tokens per tile, against 32 weight rows (two vectors of 16): 2 x 12
 * accumulators (int32 per block, fp32 over all blocks), two weight vectors
 * and a broadcast activation quad fit the 32 registers. */
#define Q8_TOKENS 6
/* Blocks per packed panel: 2048 columns of 32 rows (80 KiB, in L2 while
 * every token passes over them); smaller panels, sized for L1, measured
 * slower, as each one costs the tiles a pass through y. */
#define Q8_PANEL_BLOCKS 64

/* One block of a packed panel of 32 weight rows: -128 x the sum of each
 * row's quants (taking the activations' +128 offset back out of vpdpbusd's
 * sum), the scales as float, and the quants quad-major, q[i][r] holding
 * row r's quad i, so that a vector load gives one quad of 16 rows. */
typedef struct q8_block {
    int32_t off[32];
    float d[32];
    int32_t q[8][32];
} q8_block;

/* out[i] = dword i of a[0..7] (eight rows of 8 dwords), rows in order: an
 * 8 x 8 transpose, 4 x 4 within each 128-bit lane and then across lanes. */
INLINE_VNNI void transpose8(const __m256i *a, __m256i *out)
{
    __m256i t[8], u[8];
    UNROLL for (int h = 0; h < 8; h += 4) {
        UNROLL for (int j = 0; j < 4; j += 2) {
            t[h + j] = _mm256_unpacklo_epi32(a[h + j], a[h + j + 1]);
            t[h + j + 1] = _mm256_unpackhi_epi32(a[h + j], a[h + j + 1]);
        }
        UNROLL for (int j = 0; j < 2; j++) {
            u[h + 2 * j] = _mm256_unpacklo_epi64(t[h + j], t[h + j + 2]);
            u[h + 2 * j + 1] = _mm256_unpackhi_epi64(t[h + j], t[h + j + 2]);
        }
    }
    UNROLL for (int i = 0; i < 4; i++) {
        out[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
        out[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
    }
}

/* Rows [0, nr) of w (row_bytes apart), blocks [0, nb), eight rows at a time
 * transposed into quad-major order; rows past nr are zero.  The quants' sum
 * by psadbw on the quants + 128. */
TARGET_VNNI static void pack_q8(const unsigned char *w, size_t row_bytes, size_t nr, size_t nb,
                                q8_block *p)
{
    const __m256i k80 = _mm256_set1_epi8((char)0x80);
    for (size_t b = 0; b < nb; b++)
        for (size_t r0 = 0; r0 < 32; r0 += 8) {
            __m256i a[8], q[8];
            for (size_t r = r0; r < r0 + 8; r++) {
                const unsigned char *blk = w + r * row_bytes + b * Q8_BLOCK_BYTES;
                a[r - r0] = _mm256_setzero_si256();
                p[b].d[r] = 0, p[b].off[r] = 0;
                if (r >= nr)
                    continue;
                uint16_t h;
                memcpy(&h, blk, 2);
                p[b].d[r] = _cvtsh_ss(h);
                a[r - r0] = _mm256_loadu_si256((const __m256i *)(blk + 2));
                __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(a[r - r0], k80),
                                              _mm256_setzero_si256());
                __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sad),
                                           _mm256_extracti128_si256(sad, 1));
                int32_t sum =
                    (int32_t)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1)) - 32 * 128;
                p[b].off[r] = -128 * sum;
            }
            transpose8(a, q);
            for (int i = 0; i < 8; i++)
                _mm256_store_si256((__m256i *)&p[b].q[i][r0], q[i]);
        }
}

/* nt <= Q8_TOKENS tokens (x row-major, k apart) x the panel's 32 rows over
 * nb blocks: per block, int32 sums by vpdpbusd (a token's quad + 128 as
 * unsigned bytes broadcast, times a quad of 16 rows), which start from the
 * panel's -128 x sum of the weight block, then each scaled into its fp32
 * accumulator (which starts from y after the first panel).  Tokens past nt
 * repeat the last one and are not stored; m masks the rows. */
INLINE_VNNI void tile_q8(const uint8_t *xq, const float *xd, size_t k, size_t nt, size_t nb,
                         const q8_block *p, float *y, size_t ldy, const __mmask16 *m,
                         bool accumulate)
{
    const uint8_t *xr[Q8_TOKENS];
    const float *dr[Q8_TOKENS];
    __m512 acc[2 * Q8_TOKENS];
    UNROLL for (int t = 0; t < Q8_TOKENS; t++) {
        size_t tt = rmb_min_size((size_t)t, nt - 1);
        xr[t] = xq + tt * k;
        dr[t] = xd + tt * (k / 32);
        UNROLL for (int v = 0; v < 2; v++)
            acc[2 * t + v] = accumulate ? _mm512_maskz_loadu_ps(m[v], y + tt * ldy + 16 * v)
                                        : _mm512_setzero_ps();
    }
    for (size_t b = 0; b < nb; b++, p++) {
        __m512i s[2 * Q8_TOKENS];
        UNROLL for (int v = 0; v < 2; v++) {
            __m512i off = _mm512_load_si512(p->off + 16 * v);
            UNROLL for (int t = 0; t < Q8_TOKENS; t++)
                s[2 * t + v] = off;
        }
        UNROLL for (int i = 0; i < 8; i++) {
            __m512i wq[2] = {_mm512_load_si512(p->q[i]), _mm512_load_si512(p->q[i] + 16)};
            UNROLL for (int t = 0; t < Q8_TOKENS; t++) {
                int quad;
                memcpy(&quad, xr[t] + 32 * b + 4 * i, 4);
                __m512i xb = _mm512_set1_epi32(quad);
                UNROLL for (int v = 0; v < 2; v++)
                    s[2 * t + v] = _mm512_dpbusd_epi32(s[2 * t + v], xb, wq[v]);
            }
        }
        __m512 dw[2] = {_mm512_load_ps(p->d), _mm512_load_ps(p->d + 16)};
        UNROLL for (int t = 0; t < Q8_TOKENS; t++) {
            __m512 dx = _mm512_set1_ps(dr[t][b]);
            UNROLL for (int v = 0; v < 2; v++)
                acc[2 * t + v] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dw[v]),
                                                 _mm512_cvtepi32_ps(s[2 * t + v]),
                                                 acc[2 * t + v]);
        }
    }
    for (size_t t = 0; t < nt; t++)
        UNROLL for (int v = 0; v < 2; v++)
            _mm512_mask_storeu_ps(y + t * ldy + 16 * v, m[v], acc[2 * t + v]);
}

/* Prefetches into L2 the next `lines` cache lines from *at (up to end).
 * Addresses as integers: prefetching never faults, so the next panel may
 * lie past the weights' end (the last task's). */
static inline void prefetch_ahead(uintptr_t *at, uintptr_t end, size_t lines)
{
    for (; lines && *at < end; lines--, *at += 64)
        _mm_prefetch((const char *)*at, _MM_HINT_T1);
}

/* Panels of 32 rows; while one is multiplied, the weights of the 32 rows
 * after it (the next panel, or the next task's) are prefetched a little per
 * tile: the pack's loads otherwise wait on memory (a fifth of the time). */
TARGET_VNNI static void gemm_q8(const rmb_q8_acts *x, size_t nt, size_t k, const void *w,
                                size_t j0, size_t j1, float *y, size_t ldy)
{
    _Alignas(64) q8_block p[Q8_PANEL_BLOCKS];
    size_t row_bytes = k / 32 * Q8_BLOCK_BYTES, nc = (k / 32 + Q8_PANEL_BLOCKS - 1) / Q8_PANEL_BLOCKS;
    size_t tiles = nc * ((nt + Q8_TOKENS - 1) / Q8_TOKENS), lines = row_bytes / 2;
    for (size_t jb = j0; jb < j1; jb += 32) {
        size_t nr = rmb_min_size(32, j1 - jb);
        __mmask16 m[2] = {tail_mask(nr), tail_mask(nr > 16 ? nr - 16 : 0)};
        uintptr_t next = (uintptr_t)w + (jb + 32) * row_bytes, end = next + 32 * row_bytes;
        for (size_t c0 = 0; c0 < k / 32; c0 += Q8_PANEL_BLOCKS) {
            size_t nb = rmb_min_size(Q8_PANEL_BLOCKS, k / 32 - c0);
            pack_q8((const unsigned char *)w + jb * row_bytes + c0 * Q8_BLOCK_BYTES, row_bytes,
                    nr, nb, p);
            for (size_t t = 0; t < nt; t += Q8_TOKENS) {
                tile_q8(x->q + t * k + c0 * 32, x->d + t * (k / 32) + c0, k,
                        rmb_min_size(Q8_TOKENS, nt - t), nb, p, y + t * ldy + jb, ldy, m,
                        c0 > 0);
                prefetch_ahead(&next, end, (lines + tiles - 1) / tiles);
            }
        }
    }
}

/* Every AVX-512 set shares these; the sets differ in the products the CPU
 * has instructions for (VNNI's vpdpbusd, AVX512-BF16's vdpbf16ps). */
#define AVX512_COMMON                                                                              \
    .name = "avx512", .gemm_packed = gemm_packed, .pack = pack, .prepack = prepack,               \
    .quantize_q8 = quantize_q8, .dot = dot, .dots = dots, .wsum = wsum, .exp_sum = exp_sum,        \
    .silu_mul = silu_mul

const rmb_kernels rmb_kernels_avx512 = {AVX512_COMMON, .gemm_q8 = rmb_gemm_q8_ref};
const rmb_kernels rmb_kernels_avx512_vnni = {AVX512_COMMON, .gemm_q8 = gemm_q8};
const rmb_kernels rmb_kernels_avx512_bf16 = {AVX512_COMMON, .gemm_q8 = gemm_q8,
                                             .gemm_bf16 = gemm_bf16};
