#!/usr/bin/python3
"""Prefill throughput of the native engine on a model with Qwen3-0.6B's
exact shape (random bf16 weights), at 1 and 2 threads, beside the plain
PyTorch reference forward (tests/model/reference.py, float32 on the same
bf16-rounded weights) in the same run, and rmb's peak resident memory
against the weights' size.

usage: /usr/bin/python3 bench/model_bench.py [--build build] [--tokens 512]
         [--repeats 3] [--cache /tmp/rmb-bench-qwen3-0.6b]
Run with Debian's python3 (torch 1.13).  Prints one table and the ratios."""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "model"))
import checkpoint  # noqa: E402
import reference  # noqa: E402

# Qwen3-0.6B's config.json (Skywork-Reward-V2-Qwen3-0.6B has the same shape).
QWEN3_06B = {
    "architectures": ["Qwen3ForSequenceClassification"], "hidden_size": 1024,
    "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
    "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
    "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "pad_token_id": 151643, "num_labels": 1, "attention_bias": False,
    "use_sliding_window": False, "max_window_layers": 28, "tie_word_embeddings": True,
}


def build_bench(build):
    exe = os.path.join(build, "model_bench")
    libs = subprocess.check_output(["pkg-config", "--libs", "jansson", "yajl", "sqlite3", "libcurl",
                                    "oniguruma", "libutf8proc"], text=True).split()
    subprocess.check_call(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra",
                           "-I", os.path.join(ROOT, "include"), "-I", os.path.join(ROOT, "src"),
                           os.path.join(ROOT, "bench", "model_bench.c"),
                           os.path.join(build, "librmb.a"), *libs, "-lpthread", "-lm", "-o", exe])
    return exe


def model(cache):
    if not os.path.exists(os.path.join(cache, "model.safetensors")):
        print("writing a random bf16 Qwen3-0.6B-shaped checkpoint to", cache, file=sys.stderr)
        checkpoint.write_model(cache, QWEN3_06B, "BF16", seed=1, with_tokenizer=False)
    W = checkpoint.random_weights(QWEN3_06B, torch.Generator().manual_seed(1))
    return checkpoint.stored(W, "BF16")


def torch_tps(W, ids, threads, repeats):
    """Run in a child whose BLAS pool has the same number of threads: torch's
    set_num_threads does not size OpenBLAS's own pool (it uses every core)."""
    torch.set_num_threads(threads)
    best = 1e30
    for r in range(repeats + 1):
        t0 = time.perf_counter()
        s = reference.score(QWEN3_06B, W, ids)
        if r:
            best = min(best, time.perf_counter() - t0)
    return len(ids) / best, float(s[0])


def blas_name():
    """Which BLAS torch calls (Debian's torch uses the system libblas.so.3)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
        return ", ".join(sorted(os.path.basename(l) for l in libs)) or "unknown"
    except OSError:
        return "unknown"


def torch_child(a, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.check_output([sys.executable, os.path.abspath(__file__), "--torch-threads",
                                   str(threads), "--tokens", str(a.tokens), "--repeats",
                                   str(a.repeats), "--cache", a.cache], env=env, text=True)
    return json.loads(out)


def rmb_run(exe, cache, threads, tokens, repeats):
    out = subprocess.check_output([exe, cache, str(threads), str(tokens), str(repeats)], text=True)
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/rmb-bench-qwen3-0.6b")
    ap.add_argument("--torch-threads", type=int, help=argparse.SUPPRESS)  # the child's mode
    a = ap.parse_args()
    ids = [1 + (i * 7919) % 100000 for i in range(a.tokens)]
    if a.torch_threads:
        t, ts = torch_tps(model(a.cache), ids, a.torch_threads, a.repeats)
        print(json.dumps({"tokens_per_second": t, "score": ts}))
        return
    exe = build_bench(a.build)
    model(a.cache)
    print("PyTorch %s, BLAS: %s" % (torch.__version__, blas_name()))
    print("prefill of %d tokens, Qwen3-0.6B shape, bf16 weights, exact fp32 compute" % a.tokens)
    print("%-8s %14s %14s %8s %12s" % ("threads", "rmb tok/s", "torch tok/s", "ratio", "score diff"))
    for threads in (1, 2):
        r = rmb_run(exe, a.cache, threads, a.tokens, a.repeats)
        tr = torch_child(a, threads)
        t, ts = tr["tokens_per_second"], tr["score"]
        print("%-8d %14.1f %14.1f %7.2fx %12.2e" % (threads, r["tokens_per_second"], t,
                                                   r["tokens_per_second"] / t, abs(r["score"] - ts)))
    print("rmb peak RSS %.0f MiB for %.0f MiB of weights (%.2fx; kernels %s)" % (
        r["peak_rss_bytes"] / 2**20, r["weight_bytes"] / 2**20,
        r["peak_rss_bytes"] / r["weight_bytes"], r["kernels"]))


if __name__ == "__main__":
    main()
