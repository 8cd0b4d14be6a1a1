/* ArmoRM (LlamaForRewardModelWithGating, RLHFlow/ArmoRM-Llama3-8B): a
 * Llama body with a multi-objective head, as its published modeling code
 * computes it:
 *   rewards = regression_layer(h[last])          num_objectives values
 *   gate    = softmax(MLP(h[g]) / temperature) * logit_scale
 *   score   = sum(gate * (rewards @ reward_transform_matrix))
 * where last is the token before the first pad token (the last token when
 * there is none) and g is where the last "<|eot_id|><|start_header_id|>
 * assistant<|end_header_id|>\n\n" (Llama-3 ids) starts; the MLP has
 * gating_n_hidden ReLU layers of gating_hidden_dim.  Outputs: the score,
 * then the num_objectives rewards. */
#include "model/cpu/kernels.h"
#include "model/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int32_t gating_pattern[] = {128009, 128006, 78191, 128007, 271};
#define PATTERN_LEN (sizeof gating_pattern / sizeof gating_pattern[0])
#define MAX_GATING_LAYERS 8

typedef struct armorm_head {
    int objectives, n_layers; /* gating layers, the last one included */
    float temperature, logit_scale;
    float *regression;          /* objectives x hidden */
    float *transform;           /* objectives x objectives */
    float *w[MAX_GATING_LAYERS], *b[MAX_GATING_LAYERS];
    int in[MAX_GATING_LAYERS], out[MAX_GATING_LAYERS];
} armorm_head;

static rmb_status copy_tensor(const rmb_weights *w, const char *name, int n_dims, int64_t d0,
                              int64_t d1, float **out, rmb_error *err)
{
    int64_t shape[2] = {d0, d1};
    const rmb_tensor *t;
    rmb_status st = rmb_weights_get(w, name, n_dims, shape, false, &t, err);
    if (st != RMB_OK)
        return st;
    if (!(*out = malloc((size_t)(d0 * (n_dims == 2 ? d1 : 1)) * sizeof **out)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_tensor_to_f32(t, *out);
    return RMB_OK;
}

static rmb_status read_config(armorm_head *h, const rmb_config *cfg, int *hidden_dim,
                              rmb_error *err)
{
    double temperature = 10;
    int n_hidden = 3;
    h->objectives = 19;
    *hidden_dim = 1024;
    rmb_status st;
    if ((st = rmb_config_int(cfg, NULL, "num_objectives", 1, 4096, &h->objectives, err)) ||
        (st = rmb_config_num(cfg, NULL, "gating_temperature", 1e-6, 1e6, &temperature, err)) ||
        (st = rmb_config_int(cfg, NULL, "gating_hidden_dim", 1, 1 << 16, hidden_dim, err)) ||
        (st = rmb_config_int(cfg, NULL, "gating_n_hidden", 0, MAX_GATING_LAYERS - 1, &n_hidden,
                             err)))
        return st;
    h->temperature = (float)temperature;
    h->n_layers = n_hidden + 1;
    return RMB_OK;
}

static void armorm_unbind(rmb_net *net)
{
    armorm_head *h = net->head_state;
    if (!h) /* the binding failed before the head's */
        return;
    free(h->regression);
    free(h->transform);
    for (int i = 0; i < MAX_GATING_LAYERS; i++)
        free(h->w[i]), free(h->b[i]);
    free(h);
    net->head_state = NULL;
}

static rmb_status armorm_bind(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    armorm_head *h = calloc(1, sizeof *h);
    if (!(net->head_state = h))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    int hidden_dim, hidden = net->cfg->hidden;
    rmb_status st = read_config(h, net->cfg, &hidden_dim, err);
    float *scale = NULL;
    if (st == RMB_OK)
        st = copy_tensor(w, "regression_layer.weight", 2, h->objectives, hidden, &h->regression,
                         err);
    if (st == RMB_OK)
        st = copy_tensor(w, "reward_transform_matrix", 2, h->objectives, h->objectives,
                         &h->transform, err);
    if (st == RMB_OK)
        st = copy_tensor(w, "gating.logit_scale", 1, 1, 0, &scale, err);
    for (int i = 0; st == RMB_OK && i < h->n_layers; i++) {
        char name[64];
        h->in[i] = i ? hidden_dim : hidden;
        h->out[i] = i + 1 < h->n_layers ? hidden_dim : h->objectives;
        snprintf(name, sizeof name, "gating.layers.%d.weight", i);
        st = copy_tensor(w, name, 2, h->out[i], h->in[i], &h->w[i], err);
        snprintf(name, sizeof name, "gating.layers.%d.bias", i);
        if (st == RMB_OK)
            st = copy_tensor(w, name, 1, h->out[i], 0, &h->b[i], err);
    }
    if (scale)
        h->logit_scale = scale[0];
    free(scale);
    net->n_labels = 1 + h->objectives;
    return st;
}

/* The start of the pattern's last occurrence, or -1. */
static long find_gating_token(const int32_t *ids, size_t n)
{
    for (size_t j = n >= PATTERN_LEN ? n - PATTERN_LEN + 1 : 0; j-- > 0;)
        if (!memcmp(ids + j, gating_pattern, sizeof gating_pattern))
            return (long)j;
    return -1;
}

/* The gating MLP on one normed hidden state; gate receives the objectives'
 * weights.  buf holds two layers' outputs. */
static void gating(const rmb_kernels *host, const armorm_head *h, const float *x, float *buf,
                   float *gate)
{
    const float *in = x;
    int width = 0;
    for (int l = 0; l < h->n_layers; l++) {
        float *out = l + 1 < h->n_layers ? buf + (l % 2) * (size_t)h->out[0] : gate;
        for (int j = 0; j < h->out[l]; j++) {
            float v = host->dot(h->w[l] + (size_t)j * h->in[l], in, (size_t)h->in[l]) +
                      h->b[l][j];
            out[j] = l + 1 < h->n_layers && v < 0 ? 0 : v;
        }
        in = out;
        width = h->out[l];
    }
    float max = -INFINITY, sum = 0;
    for (int j = 0; j < width; j++)
        max = fmaxf(max, gate[j] / h->temperature);
    for (int j = 0; j < width; j++)
        sum += gate[j] = expf(gate[j] / h->temperature - max);
    for (int j = 0; j < width; j++)
        gate[j] = gate[j] / sum * h->logit_scale;
}

/* The rows the head reads: the last token's (before the first pad) for
 * the rewards, then the gating token's. */
static rmb_status armorm_rows(const rmb_net *net, const int32_t *ids, size_t n, size_t *pos,
                              size_t *count, rmb_error *err)
{
    long g = find_gating_token(ids, n);
    if (g < 0)
        return rmb_fail(err, RMB_EDATA, "ArmoRM: the sequence has no <|eot_id|><|start_header_id|>"
                        "assistant<|end_header_id|> token pattern to gate on");
    size_t last = n - 1;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == net->cfg->pad_token_id) {
            last = i ? i - 1 : n - 1;
            break;
        }
    pos[0] = last;
    pos[1] = (size_t)g;
    *count = 2;
    return RMB_OK;
}

static rmb_status armorm_run(const rmb_net *net, const rmb_kernels *host, const float *rows,
                             float *out, rmb_error *err)
{
    const armorm_head *h = net->head_state;
    size_t hid = (size_t)net->cfg->hidden, k = (size_t)h->objectives;
    float *norm = malloc((2 * hid + 2 * (size_t)h->out[0] + 2 * k) * sizeof *norm);
    if (!norm)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    float *buf = norm + hid, *gate = buf + 2 * (size_t)h->out[0], *rewards = gate + k;
    rmb_net_final_norm(net, rows, norm);
    for (size_t j = 0; j < k; j++)
        rewards[j] = host->dot(h->regression + j * hid, norm, hid);
    rmb_net_final_norm(net, rows + hid, norm);
    gating(host, h, norm, buf, gate);
    float score = 0;
    for (size_t j = 0; j < k; j++) {
        float adjusted = 0;
        for (size_t i = 0; i < k; i++)
            adjusted += rewards[i] * h->transform[i * k + j];
        score += gate[j] * adjusted;
    }
    out[0] = score;
    memcpy(out + 1, rewards, k * sizeof *out);
    free(norm);
    return RMB_OK;
}

static const rmb_head_ops armorm_ops = {
    .bind = armorm_bind,
    .rows = armorm_rows,
    .run = armorm_run,
    .unbind = armorm_unbind,
};

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    rmb_status st = rmb_arch_llama_defaults(d, cfg, err);
    d->head_ops = &armorm_ops;
    return st;
}

const rmb_arch rmb_arch_armorm = {
    .name = "LlamaForRewardModelWithGating", .gguf_name = "llama", .configure = configure};
