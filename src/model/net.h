/* What a model is, whatever runs it: its configuration, its architecture
 * description and its tensors, bound by name and checked against the
 * configuration.  A compute backend (model/backend.h) runs the layers; the
 * heads (arch.h's rmb_head_ops) read the rows it hands back, on the host. */
#ifndef RMB_MODEL_NET_H
#define RMB_MODEL_NET_H

#include "model/arch.h"
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
    /* vocab x hidden: names.lm_head, else the embedding when the config
     * ties them (tie_word_embeddings); NULL when the model has none. */
    const rmb_tensor *lm_head;
    float *final_norm;
    float *head; /* the classifier's n_labels x hidden (custom heads: NULL) */
    int n_labels;
    void *head_state; /* a custom head's tensors (rmb_head_ops) */
    rmb_layer *layers;
} rmb_net;

/* Binds every tensor the description names, checking shapes against the
 * config; small tensors are copied to float. */
rmb_status rmb_net_bind(rmb_net *net, const rmb_weights *w, rmb_error *err);
void rmb_net_unbind(rmb_net *net);

/* The head that reads the network's outputs: the description's, or the
 * classifier on the last token. */
const rmb_head_ops *rmb_net_head_ops(const rmb_net *net);

/* y = the final norm of one residual row x (hidden floats), on the host,
 * with the arithmetic every backend's bit identity is measured against. */
void rmb_net_final_norm(const rmb_net *net, const float *x, float *y);

/* Fails (naming the token) for n == 0 or an id outside the vocabulary. */
rmb_status rmb_net_check_ids(const rmb_net *net, const int32_t *ids, size_t n, rmb_error *err);

#endif
