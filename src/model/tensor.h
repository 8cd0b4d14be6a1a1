/* A tensor as every checkpoint format describes it (safetensors, GGUF)
 * and every consumer reads it: a name, an element type, a shape and the
 * bytes, wherever they live.  The dtype functions are defined with the
 * safetensors reader, which met the types first. */
#ifndef RMB_MODEL_TENSOR_H
#define RMB_MODEL_TENSOR_H

#include "rmb/common.h"

#include <stddef.h>
#include <stdint.h>

/* How weight elements are stored.  Q8_0 (ggml's blocks of 32: an fp16 scale
 * d, then 32 int8 q, value d * q) and the k-quants Q4_K and Q6_K (blocks of
 * 256, model/quant.h) come only from GGUF files; a quantised matrix's rows
 * are whole blocks. */
typedef enum rmb_dtype {
    RMB_DT_F32,
    RMB_DT_F16,
    RMB_DT_BF16,
    RMB_DT_Q8_0,
    RMB_DT_Q4_K,
    RMB_DT_Q6_K,
    /* Never in a file: BF16 weights laid out by rmb_kernels.prepack, for
     * the kernel set that made them (rows padded to its panels). */
    RMB_DT_BF16_PANELS
} rmb_dtype;

#define RMB_MAX_DIMS 4

typedef struct rmb_tensor {
    char *name;
    rmb_dtype dtype;
    int n_dims;
    int64_t shape[RMB_MAX_DIMS];
    const void *data; /* inside the file's mapping (or the parsed buffer) */
    size_t n_bytes;
    const char *file; /* the file it came from, for messages */
} rmb_tensor;

/* Bytes of n consecutive elements (n a multiple of rmb_dtype_block). */
size_t rmb_dtype_bytes(rmb_dtype dt, size_t n);
/* Elements per block: 1, 32 for Q8_0, 256 for Q4_K and Q6_K. */
size_t rmb_dtype_block(rmb_dtype dt);
/* "F32", "F16", "BF16", "Q8_0", "Q4_K", "Q6_K". */
const char *rmb_dtype_name(rmb_dtype dt);

#endif
