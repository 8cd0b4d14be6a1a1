/* Qwen2ForSequenceClassification and Qwen3ForSequenceClassification.  Both
 * use a sliding window only when use_sliding_window is true, and then only
 * on layers from max_window_layers on.  Qwen2 has q/k/v biases; Qwen3 has
 * attention_bias and an RMSNorm over each q and k head. */
#include "model/arch.h"

static bool from_max_window_layers(int layer, const rmb_config *cfg)
{
    bool use = false;
    int from = 28; /* transformers' default */
    rmb_config_bool(cfg, NULL, "use_sliding_window", &use, NULL);
    rmb_config_int(cfg, NULL, "max_window_layers", 0, 1L << 20, &from, NULL);
    return use && layer >= from;
}

rmb_status rmb_qwen_windows(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    bool use = false;
    int from = 28, window = 0; /* transformers' default max_window_layers */
    rmb_status st;
    if ((st = rmb_config_bool(cfg, NULL, "use_sliding_window", &use, err)) ||
        (st = rmb_config_int(cfg, NULL, "max_window_layers", 0, 1L << 20, &from, err)) ||
        (st = rmb_config_int(cfg, NULL, "sliding_window", 1, 1L << 30, &window, err)))
        return st;
    if (use && !window)
        return rmb_fail(err, RMB_EDATA, "%s: use_sliding_window is true but sliding_window is not "
                        "set", cfg->path);
    return rmb_arch_set_windows(d, cfg, from_max_window_layers, use ? window : 0, err);
}

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    rmb_status st = rmb_arch_llama_defaults(d, cfg, err);
    d->qkv_bias = true;
    d->o_bias = d->mlp_bias = false;
    return st ? st : rmb_qwen_windows(d, cfg, err);
}

const rmb_arch rmb_arch_qwen2 = {
    .name = "Qwen2ForSequenceClassification", .gguf_name = "qwen2", .configure = configure};
