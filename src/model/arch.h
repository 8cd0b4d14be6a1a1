/* What distinguishes one decoder architecture from another, as data: each
 * arch_*.c fills an rmb_arch_desc from config.json, and every backend runs
 * any description (model/cpu/forward.c on the CPU).  Adding an
 * architecture is a new small file and one line in model.c's table, not a
 * new branch in the forward pass. */
#ifndef RMB_MODEL_ARCH_H
#define RMB_MODEL_ARCH_H

#include "model/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rmb_act { RMB_ACT_SILU, RMB_ACT_GELU_TANH } rmb_act;

/* Tensor names.  Per-layer names are printf formats with one %d (the layer)
 * and no suffix: ".weight" / ".bias" are appended.  NULL: not used. */
typedef struct rmb_tensor_names {
    const char *embed, *final_norm, *head, *lm_head;
    const char *q, *k, *v, *o, *gate, *up, *down;
    const char *attn_norm, *mlp_norm, *post_attn_norm, *post_mlp_norm, *q_norm, *k_norm;
} rmb_tensor_names;

/* Hugging Face's Llama-family names (Llama, Mistral, Qwen2, Qwen3). */
extern const rmb_tensor_names rmb_hf_llama_names;

struct rmb_net;
struct rmb_weights;
struct rmb_kernels;

/* The most hidden rows a head reads per sequence. */
#define RMB_HEAD_MAX_ROWS 2

/* What turns the network's hidden states into a sequence's outputs, on the
 * host (the classifier on the last token, net.c, unless the description
 * names another).  bind reads its tensors (a custom head owns them in
 * net->head_state) and sets net->n_labels.  rows names the positions of
 * the sequence ids[0..n) whose hidden rows run reads, in the order run
 * gets them (*count <= RMB_HEAD_MAX_ROWS), or fails for that sequence
 * alone.  run computes net->n_labels outputs from those rows (each hidden
 * floats: the residual stream before the final norm), with the host's
 * kernel set (the products' order makes the scores). */
typedef struct rmb_head_ops {
    rmb_status (*bind)(struct rmb_net *net, const struct rmb_weights *w, rmb_error *err);
    rmb_status (*rows)(const struct rmb_net *net, const int32_t *ids, size_t n, size_t *pos,
                       size_t *count, rmb_error *err);
    rmb_status (*run)(const struct rmb_net *net, const struct rmb_kernels *host,
                      const float *rows, float *out, rmb_error *err);
    void (*unbind)(struct rmb_net *net);
} rmb_head_ops;

typedef struct rmb_arch_desc {
    const rmb_head_ops *head_ops; /* NULL: the classifier names.head on the last non-pad token */
    rmb_tensor_names names;
    bool norm_plus_one; /* norm weights are stored as w - 1 (Gemma) */
    bool qk_norm;       /* RMSNorm over each q and k head before RoPE (Qwen3) */
    bool packed_qkv;    /* one matrix (names.q) holds q, k, v grouped per kv head (InternLM2) */
    bool qkv_bias, o_bias, mlp_bias;
    bool sandwich_norms; /* extra norms after attention and after the MLP (Gemma2) */
    rmb_act act;
    float embed_scale;  /* 0: none; else embeddings are multiplied by it */
    float attn_scale;   /* multiplies q.k */
    float attn_softcap; /* 0: none; else scores = cap * tanh(scores / cap) */
    int append_token;   /* >= 0: appended to every sequence and scored (InternLM2's reward token) */
    int *window;        /* per layer: 0 = full causal attention, else the sliding window */
    float *inv_freq;    /* head_dim / 2 rotary inverse frequencies */
} rmb_arch_desc;

typedef struct rmb_arch {
    const char *name;      /* config.json architectures[0] */
    const char *gguf_name; /* llama.cpp's general.architecture, the prefix of its hparam keys */
    rmb_status (*configure)(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err);
} rmb_arch;

extern const rmb_arch rmb_arch_llama, rmb_arch_mistral, rmb_arch_qwen2, rmb_arch_qwen3,
    rmb_arch_gemma2, rmb_arch_internlm2, rmb_arch_armorm;

/* The architecture called name (config.json's architectures[0]), or NULL. */
const rmb_arch *rmb_arch_find(const char *name);

/* The Llama defaults every architecture starts from: HF names, SiLU,
 * attention_bias / mlp_bias from the config, 1/sqrt(head_dim), full
 * attention everywhere, RoPE from rope_theta and rope_scaling. */
rmb_status rmb_arch_llama_defaults(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err);
/* Reads the MLP activation named by config key (absent = SiLU). */
rmb_status rmb_arch_activation(rmb_arch_desc *d, const rmb_config *cfg, const char *key,
                               rmb_error *err);
/* Qwen2/Qwen3 windows: use_sliding_window, max_window_layers, sliding_window. */
rmb_status rmb_qwen_windows(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err);
/* Sets every layer's window to window (0 = full); layers of "layer_types",
 * when the config lists them, override: "full_attention" -> 0. */
rmb_status rmb_arch_set_windows(rmb_arch_desc *d, const rmb_config *cfg,
                                bool (*sliding)(int layer, const rmb_config *cfg), int window,
                                rmb_error *err);
/* Fills d->inv_freq from rope_theta, head_dim and rope_scaling (rope.c). */
rmb_status rmb_rope_init(rmb_arch_desc *d, const rmb_config *cfg, rmb_error *err);
void rmb_arch_desc_free(rmb_arch_desc *d);

#endif
