/* The CPU backend's state and its forward pass over one pack.  Processing
 * is layer by layer over every row of the pack, in chunks of at most
 * `chunk` tokens: the residual stream holds every row, K/V hold one layer,
 * and the chunk buffers bound the rest, so memory grows linearly with the
 * pass and not with its square.  Private to model/cpu/. */
#ifndef RMB_MODEL_CPU_FORWARD_H
#define RMB_MODEL_CPU_FORWARD_H

#include "model/backend.h"
#include "model/cpu/kernels.h"

/* Scratch for one forward pass, grown on demand. */
typedef struct rmb_scratch rmb_scratch;
void rmb_scratch_free(rmb_scratch *s);

typedef struct rmb_cpu {
    rmb_backend base;
    const rmb_net *net;
    const rmb_config *cfg;     /* net's */
    const rmb_arch_desc *desc; /* net's */
    const rmb_tensor *embed;   /* net's */
    rmb_layer *layers;     /* net's layers, their BF16 matrices swapped for prepacked */
    rmb_tensor *prepacked; /* owned copies of the layers' BF16 matrices, as
                            * RMB_DT_BF16_PANELS (n_layers x 7 slots) */
    rmb_pool *pool;
    const rmb_kernels *kern;
    size_t chunk; /* tokens per pass through a weight matrix */
    bool bf16;    /* the bf16 compute path for the projections (k even) */
    bool int8;    /* the int8 compute path for the Q8_0 projections */
    rmb_scratch *scratch;
} rmb_cpu;

/* Runs every row of the pack through the layers, leaving the residual
 * stream in the scratch. */
rmb_status rmb_cpu_run(rmb_cpu *cpu, const rmb_pack *pk, rmb_error *err);
/* The last run's residual stream, rows x hidden. */
const float *rmb_cpu_residual(const rmb_cpu *cpu);

#endif
