#!/usr/bin/python3
"""One build of the native engine against another, in the same run: prefill
of TOKENS tokens on the Qwen3-0.6B shape (random bf16 weights) on the paths
--modes names (exact by default; bf16, int8 on a Q8_0 GGUF), and the engine
bench's RMB slice (rmb_model_score_batch over the sequences of conversations
spread over the benchmark, on the small Qwen3-family slice model), each
binary in turn, ROUNDS rounds, the best of each.  Prints tokens/s (slice:
wall seconds) and new / base ratios, and whether both builds wrote the same
slice scores.  For a refactor that must not slow anything down: a ratio
within a few percent of 1.00 is noise on a shared machine.

usage: /usr/bin/python3 bench/ab_bench.py --base BUILD_DIR [--build build]
         [--modes exact,bf16,int8] [--threads 2] [--tokens 512] [--rounds 3]
         [--slice 100] [--cache /tmp/rmb-bench-qwen3-0.6b]
         [--data ../shared/RMB_dataset]
BUILD_DIR is a CMake build of the baseline (its librmb.a, rmb and, if
present, a model_bench already built from the baseline's own sources:
bench/model_bench.c follows the library's internal headers, so each build
needs its own).  bf16 and int8 run the scalar reference on CPUs without
AVX512-BF16 / AVX512-VNNI (minutes per prefill): name them only where the
CPU has those."""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "model"))
import engine_bench  # noqa: E402
import model_bench  # noqa: E402


def bench_exe(build):
    exe = os.path.join(build, "model_bench")
    return exe if os.path.exists(exe) else model_bench.build_bench(build)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--slice", type=int, default=100)
    ap.add_argument("--modes", default="exact",
                    help="prefill paths, comma-separated: exact,bf16,int8 (bf16 and int8 run "
                         "the scalar reference on CPUs without AVX512-BF16 / -VNNI: minutes)")
    ap.add_argument("--cache", default="/tmp/rmb-bench-qwen3-0.6b")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "RMB_dataset"))
    a = ap.parse_args()
    exes = {"base": bench_exe(a.base), "new": model_bench.build_bench(a.build)}
    big = engine_bench.ensure_checkpoint(a.cache, model_bench.QWEN3_06B, 1)
    small = engine_bench.ensure_checkpoint(a.cache + "-slice", engine_bench.SLICE_MODEL, 2)
    q8 = a.cache + ".rmb-q8_0.gguf"
    if not os.path.exists(q8):
        subprocess.check_call([os.path.join(a.base, "rmb"), "convert", big, q8, "--type", "q8_0",
                               "--quiet"])
    work = a.cache + "-work"
    os.makedirs(work, exist_ok=True)
    ids = os.path.join(work, "ab-slice%d.ids" % a.slice)
    engine_bench.run_json([exes["base"], "ids", a.data, engine_bench.TOKENIZER, str(a.slice), ids])

    th, tok = str(a.threads), str(a.tokens)
    weights = {"exact": big, "bf16": big, "int8": q8}
    cases = {"prefill " + m: (lambda exe, m=m: [exe, weights[m], th, tok, "1", "-", m])
             for m in a.modes.split(",")}
    best = {}
    scores = {}
    for _ in range(a.rounds):
        for case, cmd in cases.items():
            for name, exe in exes.items():
                r = engine_bench.run_json(cmd(exe))
                key = (case, name)
                best[key] = max(best.get(key, 0.0), r["tokens_per_second"])
        for name, exe in exes.items():
            out = os.path.join(work, "ab-%s.scores" % name)
            r = engine_bench.run_json([exe, "slice", small, th, "exact", ids, out, "batch"])
            key = ("slice seconds", name)
            best[key] = min(best.get(key, 1e30), r["seconds"])
            with open(out, "rb") as f:
                scores[name] = f.read()
    print("A/B on %d threads: base = %s, new = %s (best of %d rounds each)" % (
        a.threads, os.path.abspath(a.base), os.path.abspath(a.build), a.rounds))
    print("%-16s %12s %12s %8s" % ("", "base", "new", "new/base"))
    for case in list(cases) + ["slice seconds"]:
        b, n = best[(case, "base")], best[(case, "new")]
        speed = b / n if case == "slice seconds" else n / b
        print("%-16s %12.1f %12.1f %7.3fx" % (case, b, n, speed))
    print("(prefill in tokens/s; slice in wall seconds, ratio as speed: base/new)")
    print("slice scores identical: %s" % ("yes" if scores["base"] == scores["new"] else "NO"))


if __name__ == "__main__":
    main()
