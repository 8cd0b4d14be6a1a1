/* Q4_K and Q6_K decoding, written from the block layouts in quant.h. */
#include "model/cpu/quant.h"

#include "model/cpu/kernels.h"

#include <stdint.h>

#define Q4_K_BYTES 144
#define Q6_K_BYTES 210

static float half_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return rmb_load_f16(h);
}

/* Sub-block s's 6-bit scale and min: s < 4 in the low 6 bits of bytes s and
 * s + 4; s >= 4 in the nibbles of byte s + 4 with their top 2 bits in the
 * spare top bits of bytes s - 4 and s. */
static void q4_k_scale_min(const uint8_t *p, int s, int *scale, int *min)
{
    if (s < 4) {
        *scale = p[s] & 63;
        *min = p[s + 4] & 63;
    } else {
        *scale = (p[s + 4] & 15) | (p[s - 4] >> 6) << 4;
        *min = (p[s + 4] >> 4) | (p[s] >> 6) << 4;
    }
}

/* Sub-blocks 2c and 2c + 1 share 32 quant bytes: low nibbles, then high. */
static void q4_k_block(const uint8_t *b, float *y)
{
    float d = half_at(b), dmin = half_at(b + 2);
    for (int s = 0; s < 8; s++) {
        int scale, min;
        q4_k_scale_min(b + 4, s, &scale, &min);
        float ds = d * (float)scale, dm = dmin * (float)min;
        const uint8_t *q = b + 16 + 32 * (s / 2);
        int shift = 4 * (s % 2);
        for (int l = 0; l < 32; l++)
            y[32 * s + l] = ds * (float)(q[l] >> shift & 15) - dm;
    }
}

/* Each half of 128 values: quarter k (32 values) takes the low (k < 2) or
 * high nibble of low-bit bytes l or l + 32 (k odd) and bits 2k, 2k + 1 of
 * high-bit byte l; one scale per 16 values. */
static void q6_k_block(const uint8_t *b, float *y)
{
    const int8_t *scales = (const int8_t *)(b + 192);
    float d = half_at(b + 208);
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++) {
                int lo = b[64 * h + l + 32 * (k & 1)] >> 4 * (k >> 1) & 15;
                int hi = b[128 + 32 * h + l] >> 2 * k & 3;
                float scale = (float)scales[8 * h + l / 16 + 2 * k];
                y[128 * h + 32 * k + l] = d * scale * (float)((lo | hi << 4) - 32);
            }
}

void rmb_kquant_widen(const void *w, rmb_dtype dt, size_t offset, size_t n, float *dst)
{
    const uint8_t *base = w;
    float block[RMB_QK_K];
    while (n > 0) {
        size_t index = offset / RMB_QK_K, at = offset % RMB_QK_K;
        size_t take = rmb_min_size(n, RMB_QK_K - at);
        if (dt == RMB_DT_Q4_K)
            q4_k_block(base + index * Q4_K_BYTES, block);
        else
            q6_k_block(base + index * Q6_K_BYTES, block);
        memcpy(dst, block + at, take * sizeof *dst);
        dst += take;
        offset += take;
        n -= take;
    }
}

float rmb_kquant_value(const void *w, rmb_dtype dt, size_t i)
{
    float v;
    rmb_kquant_widen(w, dt, i, 1, &v);
    return v;
}

typedef struct kquant_job {
    const rmb_kernels *kern;
    const float *x;
    size_t nt, k, n;
    const void *w;
    rmb_dtype dt;
    float *y;
    bool bf16;
} kquant_job;

/* Weight rows per task: few, as each row costs k * nt multiply-adds. */
#define KQ_ROWS 4

static void round_bf16(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = rmb_from_bf16(rmb_to_bf16(src[i]));
}

/* Each super-block of a row is widened once, then dotted with every
 * token's matching 256 activations; y accumulates over the row's blocks. */
static void kquant_task(void *arg, size_t task, int thread)
{
    (void)thread;
    const kquant_job *g = arg;
    float wb[RMB_QK_K], xb[RMB_QK_K];
    size_t j1 = rmb_min_size(task * KQ_ROWS + KQ_ROWS, g->n);
    for (size_t j = task * KQ_ROWS; j < j1; j++) {
        for (size_t t = 0; t < g->nt; t++)
            g->y[t * g->n + j] = 0;
        for (size_t k0 = 0; k0 < g->k; k0 += RMB_QK_K) {
            rmb_kquant_widen(g->w, g->dt, j * g->k + k0, RMB_QK_K, wb);
            if (g->bf16)
                round_bf16(wb, wb, RMB_QK_K);
            for (size_t t = 0; t < g->nt; t++) {
                const float *xr = g->x + t * g->k + k0;
                if (g->bf16)
                    round_bf16(xb, xr, RMB_QK_K);
                g->y[t * g->n + j] += g->kern->dot(g->bf16 ? xb : xr, wb, RMB_QK_K);
            }
        }
    }
}

void rmb_kquant_gemm(rmb_pool *pool, const rmb_kernels *kern, const float *x, size_t nt,
                     size_t k, const void *w, rmb_dtype dt, size_t n, float *y, bool bf16)
{
    kquant_job g = {kern, x, nt, k, n, w, dt, y, bf16};
    rmb_pool_run(pool, (n + KQ_ROWS - 1) / KQ_ROWS, kquant_task, &g);
}
