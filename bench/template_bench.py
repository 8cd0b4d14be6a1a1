#!/usr/bin/env python3
"""Chat-template rendering speed: rmb render against jinja2 (the transformers
setup) on the same corpus, one run: every RMB conversation with each of its
answers appended, for the four real templates.  rmb's time is the whole
`rmb render` process, most of it parsing and writing JSON lines (jansson);
jinja2's is the render calls alone.  (Correctness is checked by
tests/template/test_real_templates.py.)

usage: /usr/bin/python3 bench/template_bench.py [RMB] [DATA_DIR]"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "template"))
import oracle  # noqa: E402
import rmb_data  # noqa: E402


def main():
    rmb = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "rmb")
    data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "shared", "RMB_dataset")
    modules = os.path.join(ROOT, "tests", "oracles", "node_modules")
    items = rmb_data.load(data)
    convs = [m + [{"role": "assistant", "content": a}] for m, answers in items for a in answers]
    print(f"{len(convs)} conversations with answers")
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl") as f:
        for m in convs:
            f.write(json.dumps({"messages": m}, ensure_ascii=False) + "\n")
        f.flush()
        for model in ["qwen3", "llama3", "llama3_1", "gemma3"]:
            model_dir, template, tokens = oracle.real_model(modules, model)
            t0 = time.perf_counter()
            for m in convs:
                oracle.render(template, m, False, tokens)
            t1 = time.perf_counter()
            with open(f.name, "rb") as inp:
                subprocess.run([rmb, "render", "--model", model_dir], stdin=inp,
                               stdout=subprocess.DEVNULL, check=True)
            t2 = time.perf_counter()
            print(f"{model:9s} jinja2 {t1 - t0:6.2f} s   rmb render {t2 - t1:6.2f} s   "
                  f"ratio jinja2/rmb {(t1 - t0) / (t2 - t1):5.2f}")

if __name__ == "__main__":
    main()
