"""rmb_prompt_encode_answers (conversation + each answer to ids, and the
prefix all answers share) against the Hugging Face rule computed by
independent oracles: jinja2 (the transformers setup) renders the text,
Hugging Face's Rust tokenizers (Node binding) encode it with
add_special_tokens=False (or True for the doubled-BOS option) and truncate
it with their own left/right truncation; the shared prefix must be the
longest common prefix of the oracle's ids of an item's answers.

usage: test_prompt_ids.py PROMPT_TOOL ORACLE_MODULES DATA_DIR EVERY
  EVERY: test one dataset item in EVERY (1 = the whole dataset)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle  # noqa: E402
import rmb_data  # noqa: E402

MODELS = ["qwen3", "llama3", "llama3_1", "gemma3"]
# (max_length, truncation, double_bos)
SETTINGS = [(0, "left", 0), (256, "left", 0), (256, "left", 1), (256, "right", 1), (64, "none", 1)]


def run(args, lines):
    p = subprocess.run(args, input="".join(lines).encode("utf-8"), capture_output=True)
    if p.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {p.stderr.decode('utf-8', 'replace')[-2000:]}")
    return [json.loads(l) for l in p.stdout.decode("utf-8").split("\n") if l]


def common_prefix(lists):
    n = min(len(x) for x in lists)
    k = 0
    while k < n and all(x[k] == lists[0][k] for x in lists):
        k += 1
    return k


def main():
    tool, modules, data_dir, every = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    items = rmb_data.load(data_dir, every)
    input_lines = [json.dumps({"messages": m, "answers": a}, ensure_ascii=False) + "\n"
                   for m, a in items]
    failures = 0
    for model in MODELS:
        model_dir, template, tokens = oracle.real_model(modules, model)
        texts = [oracle.render(template, m + [{"role": "assistant", "content": a}], False, tokens)
                 for m, answers in items for a in answers]
        text_lines = [json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts]
        oracle_ids = [r["ids"] for r in run(
            ["node", os.path.join(HERE, "oracle_ids.js"), os.path.join(model_dir, "tokenizer.json")]
            + [f"{m}:{s}:{d}" for m, s, d in SETTINGS], text_lines)]
        all_results = run([tool, model_dir] + [f"{m}:{s}:{d}" for m, s, d in SETTINGS],
                          input_lines)
        for k_setting, (max_length, side, double) in enumerate(SETTINGS):
            expected = [ids[k_setting] for ids in oracle_ids]
            results = all_results[k_setting::len(SETTINGS)]
            got = [ids for r in results for ids in r["ids"]]
            bad = [i for i in range(len(expected)) if i >= len(got) or got[i] != expected[i]]
            k, bad_shared = 0, 0
            for (m, answers), r in zip(items, results):
                bad_shared += r["shared"] != common_prefix(expected[k:k + len(answers)])
                k += len(answers)
            name = f"{model} max_length={max_length} {side} double_bos={double}"
            print(f"{name}: {len(expected) - len(bad)}/{len(expected)} identical, "
                  f"{len(results) - bad_shared}/{len(results)} shared prefixes right")
            for i in bad[:2]:
                print(f"  text {i}: {texts[i][:200]!r}\n    oracle: {expected[i][:40]}\n"
                      f"    rmb:    {got[i][:40] if i < len(got) else None}")
            failures += bool(bad) or bool(bad_shared)
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
