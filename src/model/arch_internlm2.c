/* InternLM2ForRewardModel (internlm2-*-reward): the Llama block with its own
 * tensor names, q/k/v packed in one wqkv matrix grouped per kv head, biases
 * switched by config "bias", a v_head (hidden -> 1) on the hidden state of
 * the reward token (config reward_token_id, 92527 by default) that is
 * appended to every sequence. */
#include "model/arch.h"

static rmb_status configure(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err)
{
    rmb_status st = rmb_arch_llama_defaults(d, cfg, err);
    if (st)
        return st;
    d->names = (rmb_tensor_names){
        .embed = "model.tok_embeddings",
        .final_norm = "model.norm",
        .head = "v_head",
        .lm_head = "output",
        .q = "model.layers.%d.attention.wqkv",
        .o = "model.layers.%d.attention.wo",
        .gate = "model.layers.%d.feed_forward.w1",
        .up = "model.layers.%d.feed_forward.w3",
        .down = "model.layers.%d.feed_forward.w2",
        .attn_norm = "model.layers.%d.attention_norm",
        .mlp_norm = "model.layers.%d.ffn_norm",
    };
    d->packed_qkv = true;
    d->mlp_bias = false;
    d->append_token = 92527;
    if ((st = rmb_config_bool(cfg, NULL, "bias", &d->qkv_bias, err)) ||
        (st = rmb_config_int(cfg, NULL, "reward_token_id", 0, cfg->vocab - 1, &d->append_token,
                             err)))
        return st;
    d->o_bias = d->qkv_bias;
    if (d->append_token >= cfg->vocab)
        return rmb_fail(err, RMB_EDATA, "%s: reward_token_id: %d is outside the vocabulary (%d)",
                        cfg->path, d->append_token, cfg->vocab);
    return RMB_OK;
}

const rmb_arch rmb_arch_internlm2 = {
    .name = "InternLM2ForRewardModel", .gguf_name = "internlm2", .configure = configure};
