"""rmb convert against an independent GGUF reader written from the public
GGUF v3 specification (gguf_reader.py): tiny random checkpoints
(tests/model/checkpoint.py) are converted to every type, and each tensor's
shape, type and values, the metadata and the error behaviour are checked.

usage: test_convert.py RMB OUT_DIR"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
import checkpoint  # noqa: E402
import make_models  # noqa: E402
from gguf_reader import read_gguf, q8_0_dequant  # noqa: E402

RMB, OUT = sys.argv[1], sys.argv[2]


# ---- independent expectations ----

def half_bits(x):
    return np.asarray(x, dtype=np.float16).view(np.uint16)


def q8_0_numpy(x):
    """ggml's reference quantiser: d = amax/127 (fp32), stored as fp16;
    q = round-half-away(x * (1/d)) with fp32 arithmetic."""
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d > 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (b * inv[:, None]).astype(np.float32).astype(np.float64)
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)
    out = np.zeros((b.shape[0], 34), dtype=np.uint8)
    out[:, :2] = half_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes(), d


def check_tensor(name, want, got, typ):
    kind, shape, raw = got
    want_shape = list(want.shape) or [1]
    assert shape == want_shape, "%s: shape %s, want %s" % (name, shape, want_shape)
    x = want.float().numpy().reshape(-1)
    expect_kind = "F32" if want.dim() < 2 else typ
    if typ == "Q8_0" and want.dim() >= 2 and want.shape[-1] % 32:
        expect_kind = "F16"  # llama.cpp's fallback for rows that are not whole blocks
    assert kind == expect_kind, "%s: type %s, want %s" % (name, kind, expect_kind)
    if kind == "F32":
        assert raw == x.astype("<f4").tobytes(), name + ": F32 values differ"
    elif kind == "F16":
        assert raw == want.to(torch.float16).numpy().tobytes(), name + ": F16 rounding differs"
    elif kind == "BF16":
        assert raw == want.to(torch.bfloat16).view(torch.int16).numpy().tobytes(), \
            name + ": BF16 rounding differs"
    else:
        blocks, d = q8_0_numpy(x)
        assert raw == blocks, name + ": Q8_0 blocks differ from the numpy quantiser"
        # |x - q*d16| <= d/2 (rounding) + 127 |d - d16| (fp16 scale, rel. error <= 2^-11)
        err = np.abs(q8_0_dequant(raw, x.size) - x).reshape(-1, 32).max(axis=1)
        bound = d * (0.5 + 127 * 2.0 ** -11) * (1 + 1e-6) + 1e-30
        assert (err <= bound).all(), name + ": Q8_0 error above the bound"
        return float((err / np.maximum(d, 1e-30)).max())
    return 0.0


def base(arch, **kw):
    """The model tests' tiny shapes, with a small vocabulary."""
    return make_models.base(arch, **dict({"vocab_size": 256}, **kw))


# (name, config, dtype, llama.cpp arch, tokenizer, sharded)
MODELS = [
    ("qwen3", base("Qwen3ForSequenceClassification", head_dim=32, num_key_value_heads=1,
                   rope_theta=1000000.0), "BF16", "qwen3", True, False),
    ("llama_odd", base("LlamaForSequenceClassification", intermediate_size=33, num_labels=3,
                       rms_norm_eps=1e-5), "F16", "llama", False, False),
    ("armorm", base("LlamaForRewardModelWithGating", hidden_size=32, intermediate_size=64,
                    pad_token_id=255, num_objectives=5, gating_hidden_dim=12,
                    gating_n_hidden=2, gating_temperature=2.0), "BF16", "llama", False, False),
    ("internlm2", base("InternLM2ForRewardModel", reward_token_id=255, bias=False),
     "F32", "internlm2", False, True),
    ("gemma2", base("Gemma2ForSequenceClassification", head_dim=16, query_pre_attn_scalar=16,
                    hidden_activation="gelu_pytorch_tanh"), "F32", "gemma2", False, False),
]
TYPES = {"f32": ("F32", 0), "f16": ("F16", 1), "bf16": ("BF16", 32), "q8_0": ("Q8_0", 7)}


def make(name, cfg, dtype, tok, sharded):
    d = os.path.join(OUT, name)
    src = d + "_single" if sharded else d
    for p in (d, src):
        shutil.rmtree(p, ignore_errors=True)
    W = checkpoint.write_model(src, cfg, dtype, seed=len(name), with_tokenizer=tok)
    if sharded:  # the same tensors as two shards and an index
        checkpoint.write_sharded(d, os.path.join(src, "config.json"), W, dtype)
    if tok:
        with open(os.path.join(d, "chat_template.jinja"), "w") as f:
            f.write("{% for m in messages %}{{ m.content }}{% endfor %}")
    return d, W


def check_metadata(d, kv, types, arch, ftype, cfg, tok):
    def raw(fname):
        with open(os.path.join(d, fname), encoding="utf-8") as f:
            return f.read()
    assert kv["general.architecture"] == arch, kv["general.architecture"]
    assert kv["rmb.architecture"] == cfg["architectures"][0]
    assert kv["general.alignment"] == 32 and types["general.alignment"] == 4
    assert kv["general.file_type"] == ftype
    assert kv["rmb.config_json"] == raw("config.json")
    c = json.loads(raw("config.json"))
    head_dim = c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
    want = {"context_length": c["max_position_embeddings"], "embedding_length": c["hidden_size"],
            "block_count": c["num_hidden_layers"], "feed_forward_length": c["intermediate_size"],
            "attention.head_count": c["num_attention_heads"],
            "attention.head_count_kv": c["num_key_value_heads"],
            "attention.key_length": head_dim, "attention.value_length": head_dim,
            "vocab_size": c["vocab_size"]}
    for k, v in want.items():
        assert kv[arch + "." + k] == v and types[arch + "." + k] == 4, (k, kv[arch + "." + k], v)
    for k, v in (("attention.layer_norm_rms_epsilon", c["rms_norm_eps"]),
                 ("rope.freq_base", c["rope_theta"])):
        assert types[arch + "." + k] == 6 and kv[arch + "." + k] == np.float32(v), k
    if tok:
        assert kv["rmb.tokenizer_json"] == raw("tokenizer.json")
        assert kv["rmb.tokenizer_config_json"] == raw("tokenizer_config.json")
        assert kv["rmb.chat_template"] == raw("chat_template.jinja")
    else:
        assert "rmb.tokenizer_json" not in kv and "rmb.chat_template" not in kv


def run(*args):
    return subprocess.run([RMB, "convert", *args], capture_output=True, text=True)


def check_models():
    worst = 0.0
    for name, cfg, dtype, arch, tok, sharded in MODELS:
        d, W = make(name, cfg, dtype, tok, sharded)
        for t, (typ, ftype) in TYPES.items():
            out = os.path.join(OUT, "%s_%s.gguf" % (name, t))
            p = run(d, out, "--type", t)
            warning = "" if tok else "tokenizer.json: missing: the GGUF file will hold no tokenizer"
            assert p.returncode == 0 and warning in p.stderr, (name, t, p.stderr)
            assert len(p.stderr.splitlines()) == (0 if tok else 1), p.stderr
            kv, types, tensors = read_gguf(out)
            check_metadata(d, kv, types, arch, ftype, cfg, tok)
            assert sorted(tensors) == sorted(W), (name, sorted(set(tensors) ^ set(W)))
            for tn, w in W.items():
                worst = max(worst, check_tensor("%s %s %s" % (name, t, tn), w, tensors[tn], typ))
            os.remove(out)
        print("%s: %d tensors, all types ok" % (name, len(W)))
    print("worst Q8_0 error: %.4f d (bound %.4f d)" % (worst, 0.5 + 127 * 2.0 ** -11))


def check_q8_0_edges():
    """Zeros, a constant block, exact ties and a huge range in one matrix."""
    d = os.path.join(OUT, "edges")
    os.makedirs(d, exist_ok=True)
    cfg = base("Qwen3ForSequenceClassification", head_dim=16, hidden_size=64)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    rows = [np.zeros(64), np.full(64, 3.0), np.arange(64) - 31.5,
            np.linspace(-1e4, 1e-4, 64), np.tile([127.0, 0.5, -0.5, 1.5], 16)]
    m = torch.tensor(np.stack(rows), dtype=torch.float32)
    checkpoint.write_safetensors(os.path.join(d, "model.safetensors"), {"edge.weight": m}, "F32")
    out = os.path.join(OUT, "edges.gguf")
    p = run(d, out, "--type", "q8_0")
    assert p.returncode == 0, p.stderr
    _, _, tensors = read_gguf(out)
    check_tensor("edge.weight", m, tensors["edge.weight"], "Q8_0")
    print("Q8_0 edge blocks ok")


def check_errors():
    d, _ = make("err_model", base("Qwen3ForSequenceClassification"), "F32", False, False)
    out = os.path.join(OUT, "err.gguf")
    cases = [
        (("/nonexistent/model", out), 2, "not a directory"),
        ((d, out, "--type", "q4_k"), 2, "q4_k"),
        ((d,), 2, "expected DIR"),
        ((d, "/nonexistent/dir/out.gguf"), 1, "/nonexistent/dir/out.gguf"),
    ]
    empty = os.path.join(OUT, "empty_dir")
    os.makedirs(empty, exist_ok=True)
    cases.append(((empty, out), 1, "config.json"))
    broken = os.path.join(OUT, "broken")
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(d, broken)
    with open(os.path.join(broken, "model.safetensors"), "r+b") as f:
        f.truncate(200)
    cases.append(((broken, out), 1, "model.safetensors"))
    for args, code, text in cases:
        p = run(*args)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert text in p.stderr, (args, p.stderr)
        assert not os.path.exists(out), args
    left = [f for f in os.listdir(OUT) if ".tmp." in f]
    assert not left, left
    print("errors ok")


os.makedirs(OUT, exist_ok=True)
check_models()
check_q8_0_edges()
check_errors()
