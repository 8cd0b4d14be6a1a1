/* Qwen3ForSequenceClassification: Qwen2's layout without default biases
 * (attention_bias decides), plus q/k RMSNorm per head. */
#include "model/arch.h"

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    rmb_status st = rmb_arch_llama_defaults(d, cfg, err);
    d->qk_norm = true;
    d->mlp_bias = false;
    return st ? st : rmb_qwen_windows(d, cfg, err);
}

const rmb_arch rmb_arch_qwen3 = {
    .name = "Qwen3ForSequenceClassification", .gguf_name = "qwen3", .configure = configure};
