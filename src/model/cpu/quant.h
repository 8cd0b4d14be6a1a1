/* ggml's k-quants, Q4_K and Q6_K: super-blocks of 256 values.
 *
 *   Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes packing eight 6-bit
 *     scales and eight 6-bit mins (one of each per 32 values), 128 bytes of
 *     4-bit quants; value = d * scale * q - dmin * min.
 *   Q6_K (210 bytes): 128 bytes of low 4 bits, 64 bytes of high 2 bits,
 *     sixteen int8 scales (one per 16 values), fp16 d;
 *     value = d * scale * (q - 32).
 *
 * The GEMM kernels never see these types: rmb_gemm hands them to
 * rmb_kquant_gemm, which widens one super-block at a time. */
#ifndef RMB_MODEL_QUANT_H
#define RMB_MODEL_QUANT_H

#include "model/tensor.h"

#include <stdbool.h>
#include <stddef.h>

#define RMB_QK_K 256

struct rmb_pool;
struct rmb_kernels;

static inline bool rmb_dtype_is_kquant(rmb_dtype dt)
{
    return dt == RMB_DT_Q4_K || dt == RMB_DT_Q6_K;
}

/* dst[0..n) = elements [offset, offset + n) of w (Q4_K or Q6_K). */
void rmb_kquant_widen(const void *w, rmb_dtype dt, size_t offset, size_t n, float *dst);
/* Element i of w. */
float rmb_kquant_value(const void *w, rmb_dtype dt, size_t i);

/* y (nt x n) = x (nt x k) times w (n x k, Q4_K or Q6_K) transposed, split
 * over the pool by weight rows.  bf16 rounds activations and weights to
 * bf16 first, as the bf16 compute path does. */
void rmb_kquant_gemm(struct rmb_pool *pool, const struct rmb_kernels *kern, const float *x,
                     size_t nt, size_t k, const void *w, rmb_dtype dt, size_t n, float *y,
                     bool bf16);

#endif
