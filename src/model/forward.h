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
    rmb_pool *pool;
    const rmb_kernels *kern;
    size_t chunk; /* tokens per pass through a weight matrix */
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

/* Runs ids[0..n) (n >= 1) and writes the head's n_labels outputs for the
 * last token to out.  *scratch is created or grown as needed. */
rmb_status rmb_net_forward(const rmb_net *net, rmb_scratch **scratch, const int32_t *ids,
                           size_t n, float *out, rmb_error *err);

#endif
