"""rmb score / rmb eval with --model FILE.gguf: a tiny Qwen3 checkpoint with
the real Qwen3 tokenizer and chat template is converted with rmb convert,
then scored from the GGUF file.

  * f32 from an F32 checkpoint and bf16 from a BF16 one hold the same
    values: their scores equal the directory's exactly;
  * every GGUF file's scores match the PyTorch reference (reference.py) on
    weights read from the GGUF bytes by gguf_reader.py (Q8_0 dequantised
    there from the spec) and ids from jinja2 + HF tokenizers, within 1e-4;
  * Q4_K and Q6_K tensors (random super-blocks written into a converted
    file) match the reference on their numpy-dequantised values;
  * broken files (a Q4_0 tensor, a bad or no rmb.config_json, no
    tokenizer, a truncated or missing file) fail with a message naming the
    file.

usage: test_score_gguf.py RMB DATA_DIR OUT_DIR"""
import json
import os
import shutil
import struct
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
import checkpoint  # noqa: E402
import reference  # noqa: E402
import test_score_e2e as e2e  # noqa: E402
import numpy as np  # noqa: E402
from gguf_reader import dequantize, read_gguf, write_gguf  # noqa: E402

RMB, DATA, OUT = sys.argv[1:4]
TOL = 1e-4
# intermediate_size 48: down_proj's rows are not whole Q8_0 blocks (F16).
CONFIG = {"architectures": ["Qwen3ForSequenceClassification"], "hidden_size": 32,
          "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 2,
          "num_key_value_heads": 1, "head_dim": 16, "vocab_size": 151669,
          "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
          "pad_token_id": 151643, "num_labels": 1}


def make_checkpoints():
    """bf16: the template inside tokenizer_config.json; f32: the same
    template moved to chat_template.jinja (GGUF key rmb.chat_template)."""
    dirs = {}
    for dtype in ("F32", "BF16"):
        d = os.path.join(OUT, "qwen3_" + dtype.lower())
        shutil.rmtree(d, ignore_errors=True)
        checkpoint.write_model(d, CONFIG, dtype, seed=5)
        dirs[dtype] = d
    path = os.path.join(dirs["F32"], "tokenizer_config.json")
    cfg = json.load(open(path, encoding="utf-8"))
    with open(os.path.join(dirs["F32"], "chat_template.jinja"), "w", encoding="utf-8") as f:
        f.write(cfg.pop("chat_template"))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False)
    return dirs


def convert(src, name, typ):
    out = os.path.join(OUT, name + ".gguf")
    p = subprocess.run([RMB, "convert", src, out, "--type", typ, "--quiet"], capture_output=True)
    assert p.returncode == 0, p.stderr
    return out


def score(model, *flags):
    lines = "".join(json.dumps({"id": k, "messages": c}) + "\n"
                    for k, c in enumerate(e2e.CONVERSATIONS))
    return subprocess.run([RMB, "score", "--model", model, "--threads", "2", *flags],
                          input=lines.encode(), capture_output=True)


def scores(model, *flags):
    p = score(model, *flags)
    assert p.returncode == 0, (model, p.stderr)
    got = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert [g["id"] for g in got] == list(range(len(e2e.CONVERSATIONS))), got
    return [g["score"] for g in got]


def reference_scores(path, ids):
    """reference.py on the weights as the GGUF file stores them."""
    kv, _, tensors = read_gguf(path)
    cfg = json.loads(kv["rmb.config_json"])
    W = {n: torch.from_numpy(dequantize(kind, shape, raw).copy())
         for n, (kind, shape, raw) in tensors.items()}
    kinds = sorted({kind for kind, _, _ in tensors.values()})
    return [float(reference.score(cfg, W, i)[0]) for i in ids], kinds


def check_scores(dirs):
    # The template text is the same in both directories; bf16's keeps it
    # where render() reads it.
    ids = e2e.encode(dirs["BF16"], [e2e.render(dirs["BF16"], c) for c in e2e.CONVERSATIONS])
    files = {"f32": convert(dirs["F32"], "qwen3_f32", "f32"),
             "bf16": convert(dirs["BF16"], "qwen3_bf16", "bf16"),
             "q8_0": convert(dirs["F32"], "qwen3_q8_0", "q8_0")}
    assert scores(files["f32"]) == scores(dirs["F32"]), "f32 GGUF != F32 checkpoint"
    assert scores(files["bf16"]) == scores(dirs["BF16"]), "bf16 GGUF != BF16 checkpoint"
    for typ, path in files.items():
        want, kinds = reference_scores(path, ids)
        got = scores(path)
        worst = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got, want))
        assert worst <= TOL, (typ, got, want)
        print("%s (%s): %d scores, worst relative difference %.2e"
              % (typ, "+".join(kinds), len(got), worst))
    return files


def check_eval(path):
    """rmb eval names the scorer after the file, without .gguf."""
    subset = "BoN_set/Helpfulness/Classification/Quality and Compliance Assessment"
    out = os.path.join(OUT, "eval")
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([RMB, "eval", "--model", path, "--data", DATA, "--subset", subset,
                        "--out", out, "--quiet"], capture_output=True)
    assert p.returncode == 0, p.stderr
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["scorer"] == "qwen3_q8_0", summary["scorer"]
    assert summary["scorer_report"]["format"] == "gguf", summary["scorer_report"]
    print("eval ok")


def random_blocks(kind, n_blocks, rng):
    """Random k-quant super-blocks with scales that keep values near 0.1."""
    size, d_at = {"Q4_K": (144, [0, 2]), "Q6_K": (210, [208])}[kind]
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for at in d_at:
        d = rng.uniform(2e-5, 1e-4, n_blocks).astype(np.float16)
        b[:, at:at + 2] = d.view(np.uint8).reshape(-1, 2)
    return b.tobytes()


def check_kquants(src):
    """Q4_K and Q6_K down projections (rows of 256) in a converted file:
    rmb against the reference on the numpy-dequantised weights, and against
    the same values stored as F32, exact and with --compute bf16."""
    d = os.path.join(OUT, "qwen3_k")
    shutil.rmtree(d, ignore_errors=True)
    checkpoint.write_model(d, dict(CONFIG, intermediate_size=256), "F32", seed=9)
    kv, types, tensors = read_gguf(convert(d, "qwen3_k_f32", "f32"))
    rng = np.random.default_rng(3)
    widened = dict(tensors)
    for layer, kind in ((0, "Q4_K"), (1, "Q6_K")):
        name = "model.layers.%d.mlp.down_proj.weight" % layer
        shape = tensors[name][1]
        raw = random_blocks(kind, shape[0] * shape[1] // 256, rng)
        tensors[name] = (kind, shape, raw)
        widened[name] = ("F32", shape, dequantize(kind, shape, raw).astype("<f4").tobytes())
    kfile, ffile = os.path.join(OUT, "qwen3_k.gguf"), os.path.join(OUT, "qwen3_k_wide.gguf")
    write_gguf(kfile, kv, types, tensors)
    write_gguf(ffile, kv, types, widened)
    ids = e2e.encode(src, [e2e.render(src, c) for c in e2e.CONVERSATIONS])
    want, kinds = reference_scores(kfile, ids)
    assert kinds == ["F32", "Q4_K", "Q6_K"], kinds
    got = scores(kfile)
    worst = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got, want))
    assert worst <= TOL, (got, want)
    for flags in ((), ("--compute", "bf16")):
        a, b = scores(kfile, *flags), scores(ffile, *flags)
        assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-5, (flags, a, b)
    print("Q4_K + Q6_K: %d scores, worst relative difference %.2e; bf16 compute ok"
          % (len(got), worst))


def tensor_type_at(data, name):
    """Where the ggml type of tensor info name lies (after its dimensions)."""
    key = struct.pack("<Q", len(name)) + name.encode()
    at = data.index(key) + len(key)
    n_dims = struct.unpack_from("<I", data, at)[0]
    return at + 4 + 8 * n_dims


def broken(src, name, edit):
    data = bytearray(open(src, "rb").read())
    edit(data)
    path = os.path.join(OUT, name + ".gguf")
    with open(path, "wb") as f:
        f.write(data)
    return path


def check_errors(dirs, files):
    q8 = files["q8_0"]

    def q4_0(data):  # a Q4_0 block is smaller: the tensor still fits
        data[tensor_type_at(data, "model.layers.0.mlp.gate_proj.weight")] = 2

    def bad_config(data):
        at = data.index(b'"hidden_size": 32')
        data[at:at + 17] = b'"hidden_size": -2'

    def no_config(data):
        at = data.index(b"rmb.config_json")
        data[at:at + 15] = b"rmb.config_jsoX"

    no_tok = os.path.join(OUT, "qwen3_no_tok")
    shutil.rmtree(no_tok, ignore_errors=True)
    os.makedirs(no_tok)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(dirs["F32"], f), no_tok)
    p = subprocess.run([RMB, "convert", no_tok, os.path.join(OUT, "no_tok.gguf"), "--quiet"],
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    cases = [
        (broken(q8, "q4_0", q4_0),
         "model.layers.0.mlp.gate_proj.weight: ggml type Q4_0 is not supported"),
        (broken(q8, "bad_config", bad_config), "rmb.config_json: hidden_size: expected an "
         "integer"),
        (os.path.join(OUT, "absent.gguf"), "cannot open"),
        (broken(q8, "no_config", no_config), "rmb.config_json: missing; rmb scores GGUF files "
         "written by `rmb convert`"),
        (os.path.join(OUT, "no_tok.gguf"), "rmb.tokenizer_json: missing"),
        (broken(q8, "truncated", lambda d: d.__delitem__(slice(len(d) // 2, None))),
         "truncated file?"),
    ]
    for path, text in cases:
        p = score(path)
        err = p.stderr.decode()
        assert p.returncode != 0 and not p.stdout, (path, p.returncode, p.stdout)
        assert path in err and text in err, (path, err)
    print("errors ok")


def check_texts(src, path):
    """rmb render and rmb tokenize read the template and tokenizer a GGUF
    file embeds: the oracle's text and ids, as from the directory."""
    conv = e2e.CONVERSATIONS[0]
    p = subprocess.run([RMB, "render", "--model", path],
                       input=(json.dumps({"messages": conv}) + "\n").encode(), capture_output=True)
    assert p.returncode == 0, p.stderr
    text = json.loads(p.stdout)["text"]
    assert text == e2e.render(src, conv), (text, e2e.render(src, conv))
    p = subprocess.run([RMB, "tokenize", "--tokenizer", path, "--no-special"],
                       input=(json.dumps({"text": e2e.render(src, conv)}) + "\n").encode(),
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ids"] == e2e.encode(src, [e2e.render(src, conv)])[0], p.stdout


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    dirs = make_checkpoints()
    files = check_scores(dirs)
    check_eval(files["q8_0"])
    check_texts(dirs["BF16"], files["q8_0"])
    check_kquants(dirs["BF16"])
    check_errors(dirs, files)
    print("ok")


if __name__ == "__main__":
    main()
