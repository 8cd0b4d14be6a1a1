/* MistralForSequenceClassification: Llama with a sliding window on every
 * layer whenever config.sliding_window is set (transformers' Mistral mask),
 * and no attention biases. */
#include "model/arch.h"

static bool every_layer(int layer, const rmb_config *cfg)
{
    (void)layer, (void)cfg;
    return true;
}

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    rmb_status st = rmb_arch_llama_defaults(d, cfg, err);
    d->qkv_bias = d->o_bias = d->mlp_bias = false;
    int window = 0;
    if (st == RMB_OK)
        st = rmb_config_int(cfg, NULL, "sliding_window", 1, 1L << 30, &window, err);
    if (st == RMB_OK)
        st = rmb_arch_set_windows(d, cfg, every_layer, window, err);
    return st;
}

const rmb_arch rmb_arch_mistral = {
    .name = "MistralForSequenceClassification", .gguf_name = "llama", .configure = configure};
