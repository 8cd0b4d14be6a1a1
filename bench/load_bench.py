#!/usr/bin/env python3
"""Loading and validating the whole RMB dataset (rmb list: parse, check every
field, intern conversations) against Python's json.load merely parsing the
same files.  Prints the best of N runs of each and their ratio.
usage: bench/load_bench.py [RMB_BINARY] [DATA_DIR] [RUNS]"""
import glob
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
rmb = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build", "rmb")
data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "shared", "RMB_dataset")
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
files = sorted(glob.glob(os.path.join(data, "**", "*.json"), recursive=True))


def python_parse():
    for f in files:
        with open(f, "rb") as fp:
            json.load(fp)


def rmb_load():
    subprocess.run([rmb, "list", "--data", data], check=True, stdout=subprocess.DEVNULL)


def best(fn):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


size = sum(os.path.getsize(f) for f in files) / 1e6
py, rm = best(python_parse), best(rmb_load)
print(f"dataset: {len(files)} files, {size:.1f} MB; best of {runs} runs")
print(f"python json.load (parse only):      {py:.3f} s")
print(f"rmb list (load + validate, process): {rm:.3f} s")
print(f"ratio rmb / python: {rm / py:.2f}  ({'faster' if rm < py else 'SLOWER'} than python's parse)")
