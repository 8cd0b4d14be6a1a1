/* The transformer forward pass over one sequence, for any architecture
 * description.  Processing is layer by layer over the whole sequence, in
 * chunks of at most `chunk` tokens: the residual stream holds every token,
 * K/V hold one layer, and the chunk buffers bound the rest, so memory grows
 * linearly with the sequence and not with its square. */
#ifndef RMB_MODEL_FORWARD_H
#define RMB_MODEL_FORWARD_H

#include "model/arch.h"
#include "model/kernels.h"
#include "model/weights.h"

typedef struct rmb_layer {
    const rmb_tensor *wq, *wk, *wv, *wo, *wg, *wu, *wd; /* mapped, as stored */
    float *bq, *bk, *bv, *bo, *bg, *bu, *bd;            /* NULL when absent */
    float *attn_norm, *mlp_norm, *post_attn_norm, *post_mlp_norm, *q_norm, *k_norm;
} rmb_layer;

typedef struct rmb_net {
    const rmb_config *cfg;
    const rmb_arch_desc *desc;
    const rmb_tensor *embed;
    float *final_norm;
    float *head; /* n_labels x hidden */
    int n_labels;
    void *head_state; /* a custom head's tensors (rmb_head_ops) */
    rmb_layer *layers;
    rmb_tensor *prepacked; /* owned copies of the layers' BF16 matrices, as
                            * RMB_DT_BF16_PANELS (n_layers x 7 slots) */
    rmb_pool *pool;
    const rmb_kernels *kern;
    size_t chunk; /* tokens per pass through a weight matrix */
    bool bf16;    /* the bf16 compute path for the projections (k even) */
    bool int8;    /* the int8 compute path for the Q8_0 projections */
} rmb_net;

/* Binds every tensor the description names, checking shapes against the
 * config; small tensors are copied to float. */
rmb_status rmb_net_bind(rmb_net *net, const rmb_weights *w, rmb_error *err);
void rmb_net_unbind(rmb_net *net);

/* y = the final norm of one residual row x (hidden floats). */
void rmb_net_final_norm(const rmb_net *net, const float *x, float *y);

/* Scratch for one forward pass, grown on demand. */
typedef struct rmb_scratch rmb_scratch;
void rmb_scratch_free(rmb_scratch *s);

/* Several sequences in one pass.  A span is a sequence's own rows
 * [start, start + len) of the pack, at positions plen, plen + 1, ...: its
 * first plen positions are the rows [prefix, prefix + plen), a prefix that
 * several spans share (itself a span with plen 0, placed before them).
 * Every row attends only within its own sequence, so each span's result
 * is what the sequence gives alone. */
typedef struct rmb_span {
    size_t prefix, plen, start, len;
} rmb_span;

typedef struct rmb_pack {
    const int32_t *ids; /* rows tokens, checked against the vocabulary */
    size_t rows;
    const rmb_span *spans;
    size_t n_spans;
    const uint32_t *span_of; /* each row's span */
} rmb_pack;

/* Fails (naming the token) for n == 0 or an id outside the vocabulary. */
rmb_status rmb_net_check_ids(const rmb_net *net, const int32_t *ids, size_t n, rmb_error *err);
/* Runs every row of the pack through the layers, leaving the residual
 * stream in the scratch for rmb_net_head. */
rmb_status rmb_net_run(const rmb_net *net, rmb_scratch **scratch, const rmb_pack *pk,
                       rmb_error *err);
/* The head's outputs for one span after rmb_net_run; ids are the span's
 * whole sequence (prefix included), for heads that read tokens. */
rmb_status rmb_net_head(const rmb_net *net, rmb_scratch *s, const rmb_pack *pk, size_t span,
                        const int32_t *ids, float *out, rmb_error *err);

#endif
