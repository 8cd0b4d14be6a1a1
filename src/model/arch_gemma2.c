/* Gemma2ForSequenceClassification: embeddings scaled by sqrt(hidden), norm
 * weights stored as w - 1, norms before and after both attention and MLP,
 * attention logits soft-capped, a sliding window on every other layer
 * (layers 0, 2, ...), GELU-tanh MLP, scores scaled by
 * query_pre_attn_scalar^-1/2.  final_logit_softcapping belongs to the
 * causal-LM head only: the classification head does not apply it. */
#include "model/arch.h"

#include <math.h>

static bool even_layers(int layer, const rmb_config *cfg)
{
    (void)cfg;
    return layer % 2 == 0;
}

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    rmb_status st = rmb_arch_llama_defaults(d, cfg, err);
    if (st)
        return st;
    /* Gemma2's four norms per layer. */
    d->names.post_attn_norm = "model.layers.%d.post_attention_layernorm";
    d->names.mlp_norm = "model.layers.%d.pre_feedforward_layernorm";
    d->names.post_mlp_norm = "model.layers.%d.post_feedforward_layernorm";
    d->norm_plus_one = d->sandwich_norms = true;
    d->act = RMB_ACT_GELU_TANH;
    d->embed_scale = sqrtf((float)cfg->hidden);
    double scalar = 256, cap = 50;
    int window = 4096;
    if ((st = rmb_arch_activation(d, cfg, "hidden_activation", err)) ||
        (st = rmb_config_num(cfg, NULL, "query_pre_attn_scalar", 1e-6, 1e9, &scalar, err)) ||
        (st = rmb_config_num(cfg, NULL, "attn_logit_softcapping", 0, 1e9, &cap, err)) ||
        (st = rmb_config_int(cfg, NULL, "sliding_window", 1, 1L << 30, &window, err)))
        return st;
    /* An explicit null turns soft-capping off. */
    json_t *capv = json_object_get(cfg->root, "attn_logit_softcapping");
    d->attn_softcap = capv && json_is_null(capv) ? 0.0f : (float)cap;
    d->attn_scale = (float)pow(scalar, -0.5);
    return rmb_arch_set_windows(d, cfg, even_layers, window, err);
}

const rmb_arch rmb_arch_gemma2 = {
    .name = "Gemma2ForSequenceClassification", .gguf_name = "gemma2", .configure = configure};
