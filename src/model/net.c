/* What a model is: its tensors bound by name, the classifier head, and the
 * host-side steps every backend's rows go through. */
#include "model/net.h"

#include "model/cpu/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fmt (with an optional %d for the layer) followed by suffix. */
static void tensor_name(char *buf, size_t size, const char *fmt, int layer, const char *suffix)
{
    snprintf(buf, size, fmt, layer);
    strncat(buf, suffix, size - strlen(buf) - 1);
}

static rmb_status bind_matrix(const rmb_weights *w, const char *fmt, int layer, int64_t rows,
                              int64_t cols, const rmb_tensor **out, rmb_error *err)
{
    char name[256];
    tensor_name(name, sizeof name, fmt, layer, ".weight");
    int64_t shape[2] = {rows, cols};
    return rmb_weights_get(w, name, 2, shape, false, out, err);
}

/* A vector copied to float; plus_one adds 1 to every element (Gemma norms).
 * suffix is ".weight" or ".bias"; a NULL fmt or an absent optional vector
 * leaves *out NULL. */
static rmb_status bind_vector(const rmb_weights *w, const char *fmt, int layer,
                              const char *suffix, int64_t n, bool optional, bool plus_one,
                              float **out, rmb_error *err)
{
    *out = NULL;
    if (!fmt)
        return RMB_OK;
    char name[256];
    tensor_name(name, sizeof name, fmt, layer, suffix);
    const rmb_tensor *t;
    rmb_status st = rmb_weights_get(w, name, 1, &n, optional, &t, err);
    if (st != RMB_OK || !t)
        return st;
    if (!(*out = malloc((size_t)n * sizeof **out)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_tensor_to_f32(t, *out);
    for (int64_t i = 0; plus_one && i < n; i++)
        (*out)[i] += 1.0f;
    return RMB_OK;
}

/* q, k and v projections and biases, or the one packed matrix. */
static rmb_status bind_qkv(rmb_net *net, const rmb_weights *w, int l, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    const rmb_arch_desc *d = net->desc;
    const rmb_tensor_names *nm = &d->names;
    rmb_layer *L = &net->layers[l];
    int64_t h = c->hidden, qd = (int64_t)c->n_heads * c->head_dim,
            kvd = (int64_t)c->n_kv_heads * c->head_dim;
    rmb_status st;
    if (d->packed_qkv) {
        if ((st = bind_matrix(w, nm->q, l, qd + 2 * kvd, h, &L->wq, err)))
            return st;
        return bind_vector(w, d->qkv_bias ? nm->q : NULL, l, ".bias", qd + 2 * kvd, false,
                           false, &L->bq, err);
    }
    if ((st = bind_matrix(w, nm->q, l, qd, h, &L->wq, err)) ||
        (st = bind_matrix(w, nm->k, l, kvd, h, &L->wk, err)) ||
        (st = bind_matrix(w, nm->v, l, kvd, h, &L->wv, err)) ||
        (st = bind_vector(w, d->qkv_bias ? nm->q : NULL, l, ".bias", qd, false, false, &L->bq, err)) ||
        (st = bind_vector(w, d->qkv_bias ? nm->k : NULL, l, ".bias", kvd, false, false, &L->bk, err)))
        return st;
    return bind_vector(w, d->qkv_bias ? nm->v : NULL, l, ".bias", kvd, false, false, &L->bv, err);
}

static rmb_status bind_layer(rmb_net *net, const rmb_weights *w, int l, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    const rmb_arch_desc *d = net->desc;
    const rmb_tensor_names *nm = &d->names;
    rmb_layer *L = &net->layers[l];
    int64_t h = c->hidden, qd = (int64_t)c->n_heads * c->head_dim, in = c->intermediate;
    bool p1 = d->norm_plus_one;
    rmb_status st;
    if ((st = bind_qkv(net, w, l, err)) || (st = bind_matrix(w, nm->o, l, h, qd, &L->wo, err)) ||
        (st = bind_matrix(w, nm->gate, l, in, h, &L->wg, err)) ||
        (st = bind_matrix(w, nm->up, l, in, h, &L->wu, err)) ||
        (st = bind_matrix(w, nm->down, l, h, in, &L->wd, err)) ||
        (st = bind_vector(w, d->o_bias ? nm->o : NULL, l, ".bias", h, false, false, &L->bo, err)) ||
        (st = bind_vector(w, d->mlp_bias ? nm->gate : NULL, l, ".bias", in, false, false, &L->bg, err)) ||
        (st = bind_vector(w, d->mlp_bias ? nm->up : NULL, l, ".bias", in, false, false, &L->bu, err)) ||
        (st = bind_vector(w, d->mlp_bias ? nm->down : NULL, l, ".bias", h, false, false, &L->bd, err)) ||
        (st = bind_vector(w, nm->attn_norm, l, ".weight", h, false, p1, &L->attn_norm, err)) ||
        (st = bind_vector(w, nm->mlp_norm, l, ".weight", h, false, p1, &L->mlp_norm, err)))
        return st;
    if (d->sandwich_norms &&
        ((st = bind_vector(w, nm->post_attn_norm, l, ".weight", h, false, p1, &L->post_attn_norm, err)) ||
         (st = bind_vector(w, nm->post_mlp_norm, l, ".weight", h, false, p1, &L->post_mlp_norm, err))))
        return st;
    if (d->qk_norm &&
        ((st = bind_vector(w, nm->q_norm, l, ".weight", c->head_dim, false, p1, &L->q_norm, err)) ||
         (st = bind_vector(w, nm->k_norm, l, ".weight", c->head_dim, false, p1, &L->k_norm, err))))
        return st;
    return RMB_OK;
}

/* ---- the classifier: names.head on the last token ---- */

/* The head's label count comes from its shape unless the config says it. */
static rmb_status classifier_bind(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    char name[256];
    tensor_name(name, sizeof name, net->desc->names.head, 0, ".weight");
    const rmb_tensor *t = rmb_weights_find(w, name);
    int64_t n = net->cfg->num_labels;
    if (n < 0)
        n = t && t->n_dims == 2 ? t->shape[0] : 1;
    int64_t shape[2] = {n, net->cfg->hidden};
    rmb_status st = rmb_weights_get(w, name, 2, shape, false, &t, err);
    if (st != RMB_OK)
        return st;
    net->n_labels = (int)n;
    if (!(net->head = malloc((size_t)(n * shape[1]) * sizeof(float))))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_tensor_to_f32(t, net->head);
    return RMB_OK;
}

static rmb_status classifier_rows(const rmb_net *net, const int32_t *ids, size_t n,
                                  size_t *pos, size_t *count, rmb_error *err)
{
    (void)net, (void)ids, (void)err;
    pos[0] = n - 1;
    *count = 1;
    return RMB_OK;
}

static rmb_status classifier_run(const rmb_net *net, const rmb_kernels *host, const float *rows,
                                 float *out, rmb_error *err)
{
    size_t hid = (size_t)net->cfg->hidden;
    float *norm = malloc(hid * sizeof *norm);
    if (!norm)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_net_final_norm(net, rows, norm);
    for (int i = 0; i < net->n_labels; i++)
        out[i] = host->dot(net->head + (size_t)i * hid, norm, hid);
    free(norm);
    return RMB_OK;
}

static void classifier_unbind(rmb_net *net)
{
    free(net->head);
    net->head = NULL;
}

static const rmb_head_ops classifier = {
    .bind = classifier_bind,
    .rows = classifier_rows,
    .run = classifier_run,
    .unbind = classifier_unbind,
};

const rmb_head_ops *rmb_net_head_ops(const rmb_net *net)
{
    return net->desc->head_ops ? net->desc->head_ops : &classifier;
}

/* names.lm_head when the checkpoint has it, else the embedding when the
 * config ties the two, else none. */
static rmb_status bind_lm_head(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    bool tied = false;
    net->lm_head = NULL;
    if (net->desc->names.lm_head) {
        char name[256];
        tensor_name(name, sizeof name, net->desc->names.lm_head, 0, ".weight");
        int64_t shape[2] = {c->vocab, c->hidden};
        rmb_status st = rmb_weights_get(w, name, 2, shape, true, &net->lm_head, err);
        if (st != RMB_OK || net->lm_head)
            return st;
    }
    rmb_status st = rmb_config_bool(c, NULL, "tie_word_embeddings", &tied, err);
    if (st == RMB_OK && tied)
        net->lm_head = net->embed;
    return st;
}

rmb_status rmb_net_bind(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    const rmb_arch_desc *d = net->desc;
    rmb_status st = bind_matrix(w, d->names.embed, 0, c->vocab, c->hidden, &net->embed, err);
    if (st == RMB_OK)
        st = bind_vector(w, d->names.final_norm, 0, ".weight", c->hidden, false,
                         d->norm_plus_one, &net->final_norm, err);
    if (st == RMB_OK)
        st = bind_lm_head(net, w, err);
    if (st == RMB_OK)
        st = rmb_net_head_ops(net)->bind(net, w, err);
    if (st == RMB_OK && !(net->layers = calloc((size_t)c->n_layers, sizeof *net->layers)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (int l = 0; st == RMB_OK && l < c->n_layers; l++)
        st = bind_layer(net, w, l, err);
    return st;
}

void rmb_net_unbind(rmb_net *net)
{
    for (int l = 0; net->layers && l < net->cfg->n_layers; l++) {
        rmb_layer *L = &net->layers[l];
        float *owned[] = {L->bq, L->bk, L->bv, L->bo, L->bg, L->bu, L->bd, L->attn_norm,
                          L->mlp_norm, L->post_attn_norm, L->post_mlp_norm, L->q_norm, L->k_norm};
        for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
            free(owned[i]);
    }
    rmb_net_head_ops(net)->unbind(net);
    free(net->layers);
    free(net->final_norm);
    net->layers = NULL;
    net->final_norm = NULL;
}

/* ---- on the host ---- */

void rmb_net_final_norm(const rmb_net *net, const float *x, float *y)
{
    rmb_rmsnorm(y, x, net->final_norm, (size_t)net->cfg->hidden, (float)net->cfg->rms_eps);
}

rmb_status rmb_net_check_ids(const rmb_net *net, const int32_t *ids, size_t n, rmb_error *err)
{
    if (n == 0)
        return rmb_fail(err, RMB_EUSAGE, "an empty sequence has no token to score");
    for (size_t t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= net->cfg->vocab)
            return rmb_fail(err, RMB_EDATA, "token %zu: id %d is outside the vocabulary (%d)", t,
                            (int)ids[t], net->cfg->vocab);
    return RMB_OK;
}
