/* LlamaForSequenceClassification, and the defaults the other Llama-like
 * architectures start from. */
#include "model/arch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const rmb_tensor_names rmb_hf_llama_names = {
    .embed = "model.embed_tokens",
    .final_norm = "model.norm",
    .head = "score",
    .lm_head = "lm_head",
    .q = "model.layers.%d.self_attn.q_proj",
    .k = "model.layers.%d.self_attn.k_proj",
    .v = "model.layers.%d.self_attn.v_proj",
    .o = "model.layers.%d.self_attn.o_proj",
    .gate = "model.layers.%d.mlp.gate_proj",
    .up = "model.layers.%d.mlp.up_proj",
    .down = "model.layers.%d.mlp.down_proj",
    .attn_norm = "model.layers.%d.input_layernorm",
    .mlp_norm = "model.layers.%d.post_attention_layernorm",
    .q_norm = "model.layers.%d.self_attn.q_norm",
    .k_norm = "model.layers.%d.self_attn.k_norm",
};

rmb_status rmb_arch_llama_defaults(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    memset(d, 0, sizeof *d);
    d->names = rmb_hf_llama_names;
    d->act = RMB_ACT_SILU;
    d->append_token = -1;
    d->attn_scale = (float)pow(cfg->head_dim, -0.5);
    rmb_status st;
    if ((st = rmb_config_bool(cfg, NULL, "attention_bias", &d->qkv_bias, err)) ||
        (st = rmb_config_bool(cfg, NULL, "mlp_bias", &d->mlp_bias, err)))
        return st;
    d->o_bias = d->qkv_bias;
    if ((st = rmb_arch_activation(d, cfg, "hidden_act", err)))
        return st;
    if (!(d->window = calloc((size_t)cfg->n_layers, sizeof *d->window)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    return rmb_rope_init(d, cfg, err);
}

rmb_status rmb_arch_activation(rmb_arch_desc *d, const rmb_config *cfg, const char *key,
                                rmb_error *err)
{
    const char *act = rmb_config_str(cfg, NULL, key);
    if (!act || !strcmp(act, "silu"))
        return RMB_OK;
    if (!strcmp(act, "gelu_pytorch_tanh")) {
        d->act = RMB_ACT_GELU_TANH;
        return RMB_OK;
    }
    return rmb_fail(err, RMB_EUNSUPPORTED,
                    "%s: %s: '%s' is not supported (silu, gelu_pytorch_tanh)", cfg->path, key, act);
}

rmb_status rmb_arch_set_windows(rmb_arch_desc *d, const rmb_config *cfg,
                                bool (*sliding)(int layer, const rmb_config *cfg), int window,
                                rmb_error *err)
{
    json_t *types = json_object_get(cfg->root, "layer_types");
    if (types && !json_is_null(types) &&
        (!json_is_array(types) || json_array_size(types) != (size_t)cfg->n_layers))
        return rmb_fail(err, RMB_EDATA, "%s: layer_types: not a list of %d layer types", cfg->path,
                        cfg->n_layers);
    for (int i = 0; i < cfg->n_layers; i++) {
        bool slide = sliding(i, cfg);
        const char *type = json_string_value(json_array_get(types, (size_t)i));
        if (json_is_array(types)) {
            if (!type || (strcmp(type, "full_attention") && strcmp(type, "sliding_attention")))
                return rmb_fail(err, RMB_EDATA, "%s: layer_types[%d]: unknown layer type",
                                cfg->path, i);
            slide = !strcmp(type, "sliding_attention");
        }
        d->window[i] = slide ? window : 0;
    }
    return RMB_OK;
}

void rmb_arch_desc_free(rmb_arch_desc *d)
{
    free(d->window);
    free(d->inv_freq);
    memset(d, 0, sizeof *d);
}

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    return rmb_arch_llama_defaults(d, cfg, err);
}

const rmb_arch rmb_arch_llama = {
    .name = "LlamaForSequenceClassification", .gguf_name = "llama", .configure = configure};
