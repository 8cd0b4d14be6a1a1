"""rmb score end to end on the tiny random Qwen3 checkpoint (real Qwen3
tokenizer and chat template) against an independent chain: jinja2 renders
the conversation as transformers' apply_chat_template does, Hugging Face's
Rust tokenizers (Node binding, tests/oracles) encode it without special
tokens, and reference.py scores the ids in PyTorch.  Also: rmb eval with
the model directory on a small subset of RMB writes its summary.

usage: test_score_e2e.py RMB MODEL_DIR DATA_DIR OUT_DIR"""
import json
import os
import struct
import subprocess
import sys

import jinja2
import jinja2.ext
import jinja2.sandbox
import numpy
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import checkpoint  # noqa: E402
import reference  # noqa: E402

ORACLES = os.path.join(HERE, "..", "oracles", "node_modules")
TOL = 1e-4
QWEN3_TINY_3 = {
    "architectures": ["Qwen3ForSequenceClassification"], "hidden_size": 32,
    "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 1, "head_dim": 16, "vocab_size": 151669,
    "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "pad_token_id": 151643, "num_labels": 3}

CONVERSATIONS = [
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"},
     {"role": "user", "content": "Und auf Deutsch? Ünïcödé ✓"},
     {"role": "assistant", "content": "Vier."}],
    [{"role": "system", "content": "Be brief."},
     {"role": "user", "content": "Write a haiku about CPUs.\n\nPlease."},
     {"role": "assistant", "content": "Silicon hums warm\nbillions of gates blink in time\nheat " * 3}],
]


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    W = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        raw = body[e["data_offsets"][0]:e["data_offsets"][1]]
        if e["dtype"] == "BF16":
            t = torch.from_numpy(numpy.frombuffer(raw, dtype=numpy.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(numpy.frombuffer(raw, dtype=numpy.float32).copy())
        W[name] = t.float().reshape(e["shape"])
    return W


def render(model_dir, messages):
    """transformers' apply_chat_template(tokenize=False, add_generation_prompt=False)."""
    cfg = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = lambda m: (_ for _ in ()).throw(jinja2.TemplateError(m))
    special = {k: (v["content"] if isinstance(v, dict) else v) for k, v in cfg.items()
               if k.endswith("_token") and v is not None}
    return env.from_string(cfg["chat_template"]).render(
        messages=messages, add_generation_prompt=False, **special)


def encode(model_dir, texts):
    script = ("const {Tokenizer}=require(process.argv[1]);"
              "const t=Tokenizer.fromFile(process.argv[2]);"
              "const xs=JSON.parse(require('fs').readFileSync(0,'utf8'));"
              "t.encodeBatch(xs,{addSpecialTokens:false}).then(es=>"
              "console.log(JSON.stringify(es.map(e=>Array.from(e.getIds())))));")
    out = subprocess.run(["node", "-e", script, os.path.join(ORACLES, "@anush008", "tokenizers"),
                          os.path.join(model_dir, "tokenizer.json")],
                         input=json.dumps(texts).encode(), capture_output=True, check=True)
    return json.loads(out.stdout)


def check_score(rmb, model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    ids = encode(model_dir, [render(model_dir, c) for c in CONVERSATIONS])
    want = [float(reference.score(cfg, W, i)[0]) for i in ids]
    lines = "".join(json.dumps({"id": k, "messages": c}) + "\n" for k, c in enumerate(CONVERSATIONS))
    lines += '{"id": "bad", "messages": [{"role": "user", "content": "no answer"}]}\n'
    p = subprocess.run([rmb, "score", "--model", model_dir, "--threads", "2"],
                       input=lines.encode(), capture_output=True)
    assert p.returncode == 1, (p.returncode, p.stderr)  # the bad line
    got = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert len(got) == len(CONVERSATIONS) + 1, got
    for k, (g, w) in enumerate(zip(got, want)):
        assert g["id"] == k and g["messages"] == CONVERSATIONS[k], g
        assert abs(g["score"] - w) <= TOL * max(1.0, abs(w)), (k, g["score"], w)
    assert "error" in got[-1] and "last message" in got[-1]["error"], got[-1]
    assert b"stdin line 4" in p.stderr, p.stderr


def run_score(rmb, model_dir, conversations, *flags):
    lines = "".join(json.dumps({"id": k, "messages": c}) + "\n" for k, c in enumerate(conversations))
    p = subprocess.run([rmb, "score", "--model", model_dir, "--threads", "2", *flags],
                       input=lines.encode(), capture_output=True)
    assert p.returncode == 0, (p.returncode, p.stderr)
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


def check_truncation(rmb, model_dir):
    """--max-length 8 keeps the last 8 ids (left, RMB's default), --truncation
    right the first 8, none all of them."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    ids = encode(model_dir, [render(model_dir, c) for c in CONVERSATIONS])
    for flags, cut in ((["--max-length", "8"], lambda x: x[-8:]),
                       (["--max-length", "8", "--truncation", "right"], lambda x: x[:8]),
                       (["--max-length", "8", "--truncation", "none"], lambda x: x)):
        got = run_score(rmb, model_dir, CONVERSATIONS, *flags)
        for k, g in enumerate(got):
            w = float(reference.score(cfg, W, cut(ids[k]))[0])
            assert abs(g["score"] - w) <= TOL * max(1.0, abs(w)), (flags, k, g["score"], w)


def check_multi_label(rmb, out_dir):
    """A head with 3 labels: "score" is the first, "scores" all of them."""
    cfg = QWEN3_TINY_3
    model_dir = os.path.join(out_dir, "qwen3_tiny_3labels")
    W = checkpoint.write_model(model_dir, cfg, "F32", seed=11)
    ids = encode(model_dir, [render(model_dir, c) for c in CONVERSATIONS])
    got = run_score(rmb, model_dir, CONVERSATIONS)
    for k, g in enumerate(got):
        want = [float(x) for x in reference.score(cfg, W, ids[k])]
        assert len(want) == 3 and len(g["scores"]) == 3, g
        assert g["score"] == g["scores"][0], g
        for a, b in zip(g["scores"], want):
            assert abs(a - b) <= TOL * max(1.0, abs(b)), (k, g["scores"], want)


def check_eval(rmb, model_dir, data_dir, out_dir):
    """rmb eval on one BoN subset at --max-length 256: the scorer's report
    counts the distinct sequences, their ids after truncation and how many
    were cut, as the oracle's ids say."""
    subset = "BoN_set/Helpfulness/Classification/Quality and Compliance Assessment"
    p = subprocess.run([rmb, "eval", "--model", model_dir, "--data", data_dir, "--subset", subset,
                        "--max-length", "256", "--out", out_dir, "--fresh", "--quiet"],
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    summary = json.load(open(os.path.join(out_dir, "summary.json")))
    assert json.dumps(summary).find("qwen3_tiny") >= 0, summary
    texts = set()
    for item in json.load(open(os.path.join(data_dir, subset + ".json"))):
        conv = [{"role": t["role"], "content": t["content"]} for t in item["conversation_input"]]
        for a in [item["bon_best"]] + item["loser_list"]:
            texts.add(render(model_dir, conv + [{"role": "assistant", "content": a["answer"]}]))
    lengths = [len(ids) for ids in encode(model_dir, sorted(texts))]
    report = next(v for v in _values(summary) if isinstance(v, dict) and "truncated" in v)
    want = (len(lengths), sum(min(n, 256) for n in lengths), sum(n > 256 for n in lengths))
    got = (report["sequences"], report["tokens"], report["truncated"])
    assert got == want and want[2] > 0, (got, want)


def _values(x):
    """Every value nested in a JSON document, depth first."""
    yield x
    for v in (x.values() if isinstance(x, dict) else x if isinstance(x, list) else ()):
        yield from _values(v)


def main():
    rmb, model_dir, data_dir, out_dir = sys.argv[1:5]
    torch.set_num_threads(1)
    check_score(rmb, model_dir)
    check_truncation(rmb, model_dir)
    check_multi_label(rmb, out_dir)
    check_eval(rmb, model_dir, data_dir, out_dir)
    print("ok")


if __name__ == "__main__":
    main()
