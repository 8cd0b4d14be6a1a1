"""Generates the model tests' fixtures into OUT (in the build tree):
tiny random checkpoints of every architecture in several shapes and
dtypes, the reference scores of token sequences computed by reference.py
(cases.json), broken checkpoints for the error tests (errors.json), and
language-model heads with reference log-probabilities (logprobs.json)."""
import json
import os
import shutil
import struct
import sys

import torch

import checkpoint
import reference


def base(arch, **kw):
    cfg = {"architectures": [arch], "hidden_size": 64, "intermediate_size": 96,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "vocab_size": 512, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
           "rope_theta": 10000.0, "pad_token_id": 0, "num_labels": 1}
    cfg.update(kw)
    return cfg


# (name, config, dtype): shapes vary GQA ratio, head_dim, odd sizes, biases.
MODELS = [
    ("llama_f32", base("LlamaForSequenceClassification"), "F32"),
    ("llama3_bf16", base("LlamaForSequenceClassification", hidden_size=72, intermediate_size=100,
                         num_attention_heads=3, num_key_value_heads=1, num_hidden_layers=3,
                         rope_theta=500000.0, attention_bias=True, mlp_bias=True,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 16}), "BF16"),
    ("llama_3labels_f16", base("LlamaForSequenceClassification", num_labels=3,
                               num_key_value_heads=4, intermediate_size=33), "F16"),
    ("mistral_f32", base("MistralForSequenceClassification", sliding_window=6, head_dim=24), "F32"),
    ("qwen2_f32", base("Qwen2ForSequenceClassification", hidden_size=48, num_attention_heads=6,
                       num_key_value_heads=2, intermediate_size=80, num_hidden_layers=3,
                       use_sliding_window=True, sliding_window=7, max_window_layers=1), "F32"),
    ("qwen2_bf16", base("Qwen2ForSequenceClassification", use_sliding_window=False,
                        sliding_window=4096, max_window_layers=2), "BF16"),
    ("qwen3_f32", base("Qwen3ForSequenceClassification", head_dim=32, num_attention_heads=4,
                       num_key_value_heads=1, use_sliding_window=False, max_window_layers=2), "F32"),
    ("qwen3_bf16", base("Qwen3ForSequenceClassification", hidden_size=40, head_dim=10,
                        num_attention_heads=5, num_key_value_heads=5, intermediate_size=70,
                        num_hidden_layers=3, attention_bias=True), "BF16"),
    ("internlm2_f32", base("InternLM2ForRewardModel", num_attention_heads=4, num_key_value_heads=2,
                           reward_token_id=511, bias=False), "F32"),
    ("internlm2_bf16", base("InternLM2ForRewardModel", hidden_size=48, num_attention_heads=6,
                            num_key_value_heads=2, num_hidden_layers=3, reward_token_id=7,
                            bias=True), "BF16"),
    ("armorm_bf16", base("LlamaForRewardModelWithGating", hidden_size=32, intermediate_size=40,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=128256,
                         pad_token_id=128255, num_objectives=5, gating_hidden_dim=12,
                         gating_n_hidden=2, gating_temperature=2.0), "BF16"),
    ("gemma2_f32", base("Gemma2ForSequenceClassification", head_dim=16, query_pre_attn_scalar=16,
                        attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                        sliding_window=5, num_hidden_layers=4,
                        hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh"),
     "F32"),
    ("gemma2_bf16", base("Gemma2ForSequenceClassification", hidden_size=48, head_dim=12,
                         num_attention_heads=2, num_key_value_heads=1, query_pre_attn_scalar=24,
                         attn_logit_softcapping=50.0, sliding_window=9, num_hidden_layers=3,
                         hidden_activation="gelu_pytorch_tanh"), "BF16"),
]

LENGTHS = [1, 2, 9, 23, 41]


def sequences(cfg, gen):
    seqs = []
    for n in LENGTHS:
        seqs.append(torch.randint(1, cfg["vocab_size"], (n,), generator=gen).tolist())
    if cfg["architectures"][0] == "LlamaForRewardModelWithGating":
        # ArmoRM gates on the last assistant-header pattern: put one or two in.
        pattern = reference.ARMORM_PATTERN
        seqs = [s[:3] + pattern + s[3:] + (pattern + s[:4] if len(s) > 20 else []) for s in seqs]
    # Trailing pad tokens: the score is read at the last non-pad token.
    seqs.append(seqs[2] + [cfg["pad_token_id"]] * 3)
    # One conversation's answers, adjacent: a shared 30-id prefix, answers of
    # several lengths (one padded, one repeated, one that is the prefix plus
    # a single id), for the batch path's shared prefix and duplicates.
    conv = seqs[4][:30]
    for n in (1, 6, 17):
        seqs.append(conv + torch.randint(1, cfg["vocab_size"], (n,), generator=gen).tolist())
    seqs.append(seqs[-1])
    seqs.append(seqs[-2] + [cfg["pad_token_id"]] * 2)
    return seqs


def write_cases(out):
    gen = torch.Generator().manual_seed(1234)
    models = []
    for i, (name, cfg, dtype) in enumerate(MODELS):
        d = os.path.join(out, name)
        W = checkpoint.write_model(d, cfg, dtype, seed=100 + i, with_tokenizer=False)
        cases = [{"ids": ids, "scores": reference.score(cfg, W, ids).tolist()}
                 for ids in sequences(cfg, gen)]
        models.append({"dir": d, "cases": cases})
        if name == "llama3_bf16":  # the same model as shards: the same scores
            sharded = os.path.join(out, name + "_sharded")
            checkpoint.write_sharded(sharded, os.path.join(d, "config.json"), W, dtype)
            models.append({"dir": sharded, "cases": cases})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"models": models}, f, indent=1)


def edit_config(d, **kw):
    path = os.path.join(d, "config.json")
    cfg = json.load(open(path))
    cfg.update(kw)
    json.dump(cfg, open(path, "w"))


def rewrite_header(d, change):
    """Rewrites model.safetensors' header through change(header)."""
    path = os.path.join(d, "model.safetensors")
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    change(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])


def write_errors(out):
    """Broken copies of a good model, each with the text its error must contain."""
    good = os.path.join(out, "llama_f32")
    errors = []

    def broken(name, expect):
        d = os.path.join(out, "bad_" + name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(good, d)
        errors.append({"dir": d, "expect": expect})
        return d

    edit_config(broken("arch", ["'FooForSequenceClassification' is not supported",
                                "Qwen3ForSequenceClassification"]),
                architectures=["FooForSequenceClassification"])
    rewrite_header(broken("missing", ["model.layers.1.mlp.up_proj.weight", "missing"]),
                   lambda h: h.pop("model.layers.1.mlp.up_proj.weight"))
    edit_config(broken("shape", ["model.layers.0.mlp.gate_proj.weight", "[96, 64]", "[97, 64]"]),
                intermediate_size=97)
    edit_config(broken("labels", ["score.weight", "[1, 64]", "[2, 64]"]), num_labels=2)
    d = broken("truncated", ["model.safetensors", "truncated"])
    path = os.path.join(d, "model.safetensors")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) - 100])

    def lie(h):
        h["model.norm.weight"]["data_offsets"][1] += 4
    rewrite_header(broken("lying", ["model.norm.weight", "data_offsets"]), lie)
    d = broken("header_length", ["header length"])
    path = os.path.join(d, "model.safetensors")
    data = open(path, "rb").read()
    open(path, "wb").write(struct.pack("<Q", 1 << 40) + data[8:])
    edit_config(broken("config", ["config.json", "num_attention_heads"]), num_attention_heads=0)
    with open(os.path.join(out, "errors.json"), "w") as f:
        json.dump({"errors": errors}, f, indent=1)


# Language-model heads for the backend's logprobs: a real lm_head.weight
# (proves the name binding; vocabulary over two streamed blocks of 2048,
# the last partial) and tied embeddings (tie_word_embeddings, no lm_head).
LM_MODELS = [
    ("lm_llama_f32", base("LlamaForSequenceClassification", vocab_size=5000), "F32", True),
    ("lm_qwen3_tied_bf16", base("Qwen3ForSequenceClassification", hidden_size=40, head_dim=10,
                                num_attention_heads=5, num_key_value_heads=5, intermediate_size=70,
                                vocab_size=2100, tie_word_embeddings=True,
                                use_sliding_window=False, max_window_layers=2), "BF16", False),
]


def lm_pairs(cfg, W, head, ids):
    """(row, token, log-prob) for every next token (the DPO scorer's reads)
    and the most and least likely token of a few rows."""
    windows = reference.qwen_windows(cfg) if "Qwen" in cfg["architectures"][0] \
        else [None] * cfg["num_hidden_layers"]
    with torch.no_grad():
        h = reference.llama_hidden(cfg, W, torch.tensor(ids), windows, qk_norm="Qwen3" in
                                   cfg["architectures"][0])
        lp = torch.log_softmax(h.double() @ head.double().T, dim=-1)
    pairs = [(t, ids[t + 1]) for t in range(len(ids) - 1)]
    for t in (0, len(ids) // 2, len(ids) - 1):
        pairs += [(t, int(lp[t].argmax())), (t, int(lp[t].argmin()))]
    return [[t, tok, float(lp[t, tok])] for t, tok in pairs]


def write_logprobs(out):
    gen = torch.Generator().manual_seed(4321)
    models = []
    for i, (name, cfg, dtype, own_head) in enumerate(LM_MODELS):
        d = os.path.join(out, name)
        W = checkpoint.write_model(d, cfg, dtype, seed=300 + i, with_tokenizer=False)
        if own_head:
            W["lm_head.weight"] = torch.randn(cfg["vocab_size"], cfg["hidden_size"],
                                              generator=gen) / cfg["hidden_size"] ** 0.5 * 4
            checkpoint.write_safetensors(os.path.join(d, "model.safetensors"), W, dtype,
                                         {"format": "pt"})
            W = checkpoint.stored(W, dtype)
        head = W["lm_head.weight"] if own_head else W["model.embed_tokens.weight"]
        seqs = [torch.randint(1, cfg["vocab_size"], (n,), generator=gen).tolist()
                for n in (70, 9)]
        models.append({"dir": d, "seqs": [{"ids": ids, "pairs": lm_pairs(cfg, W, head, ids)}
                                          for ids in seqs]})
    with open(os.path.join(out, "logprobs.json"), "w") as f:
        json.dump({"models": models, "no_head": os.path.join(out, "llama_f32")}, f, indent=1)


def write_e2e(out):
    """A tiny Qwen3 model with the real Qwen3 tokenizer (full vocabulary),
    for rmb score / rmb eval end to end."""
    cfg = base("Qwen3ForSequenceClassification", hidden_size=32, intermediate_size=48,
               num_attention_heads=2, num_key_value_heads=1, head_dim=16, vocab_size=151669,
               pad_token_id=151643, max_position_embeddings=40960)
    checkpoint.write_model(os.path.join(out, "qwen3_tiny"), cfg, "BF16", seed=7)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    write_cases(out)
    write_errors(out)
    write_logprobs(out)
    write_e2e(out)


if __name__ == "__main__":
    main()
