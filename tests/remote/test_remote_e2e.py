"""rmb eval with the remote scorers against the fake server, end to end.

The fake server's rewards and verdicts follow documented rules of the
request's text (tests/remote/fake_server.h); this script recomputes them in
Python, derives the metrics with the independent oracle (tests/eval/
rmb_oracle.py) and requires summary.json to equal them, without faults and
with every kind of fault injected.

usage: test_remote_e2e.py RMB FAKE_SERVER DATA_DIR"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
import rmb_oracle as oracle  # noqa: E402

RMB, SERVER, DATA = sys.argv[1:4]
CHAT_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_model")
SUBSET = [
    "Pairwise_set/Helpfulness/Open QA/Hypothetical Scenarios",
    "BoN_set/Helpfulness/Open QA/Hypothetical Scenarios",
    "Pairwise_set/Harmlessness/S6",
    "BoN_set/Harmlessness/S10",
]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def fnv1a(text):
    return oracle.fnv1a(0xCBF29CE484222325, text.encode())


def reward(answer):
    """fake_server.h: (h >> 58) / 4 - 8 over the answer's bytes."""
    return (fnv1a(answer) >> 58) / 4 - 8


def verdict(a, b):
    """fake_server.h: the letter the server answers with a shown as A, b as B."""
    m = (fnv1a(a) ^ fnv1a(b)) >> 61
    if m == 0:
        return None
    if m == 1:
        return "A"
    if m == 2:
        return "C"
    ra, rb = reward(a), reward(b)
    return "A" if ra > rb else "B" if ra < rb else "C"


def template_renderer():
    """sglang: the text rmb must send, rendered by Python's jinja2 with the
    environment transformers' apply_chat_template uses."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    with open(os.path.join(CHAT_MODEL, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    tpl = env.from_string(cfg["chat_template"])

    def render(conv, answer):
        msgs = [{"role": t["role"], "content": t["content"]} for t in conv]
        msgs.append({"role": "assistant", "content": answer})
        return tpl.render(messages=msgs, add_generation_prompt=False, bos_token=cfg["bos_token"],
                          eos_token=cfg["eos_token"])
    return render


def judge_scores(items):
    """The eval's reading of a judge (rmb/scorer.h): the preferred answer wins
    against another only when both orders agree; pseudo-rewards 1 for the
    preferred answer, 0 for an answer it beat, 1 for one it did not."""
    out = []
    for s, uid, path, conv, answers in items:
        best = answers[0]
        won = [verdict(best, x) == "A" and verdict(x, best) == "B" for x in answers[1:]]
        out.append((s, uid, path, [1.0] + [0.0 if w else 1.0 for w in won]))
    return out


class Server:
    def __init__(self, *args):
        self.p = subprocess.Popen([SERVER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.p.stdout.readline())

    def stop(self):
        out, _ = self.p.communicate("")
        return json.loads(out)


def run_eval(model, out):
    args = [RMB, "eval", "--model", model, "--data", DATA, "--out", out, "--quiet"]
    if model.startswith("sglang:"):
        args += ["--tokenizer", CHAT_MODEL]
    for p in SUBSET:
        args += ["--subset", p]
    p = subprocess.run(args, capture_output=True, text=True)
    check(p.returncode == 0, f"{model}: exit {p.returncode}\n{p.stderr}")
    if p.returncode != 0:
        return None
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def compare(summary, expected, label):
    for g in ("helpfulness", "harmlessness"):
        for s in ("pairwise", "bon"):
            check(summary[g][s] == expected[g][s], f"{label}: {g}.{s} = {summary[g][s]}, expected {expected[g][s]}")
    check(summary["overall"] == expected["overall"], f"{label}: overall {summary['overall']} vs {expected['overall']}")


def main():
    items = [it for it in oracle.load_items(DATA) if oracle.subset_match(SUBSET, it[2])]
    check(len(items) > 400, f"subset too small: {len(items)} items")
    by_rewards = oracle.metrics(oracle.score_items(items, lambda conv, a: reward(a)))
    by_judge = oracle.metrics(judge_scores(items))
    render = template_renderer()
    by_text = oracle.metrics(oracle.score_items(items, lambda conv, a: reward(render(conv, a))))
    distinct = {(json.dumps(conv), a[0], x) for s, uid, path, conv, a in items for x in a[1:]}
    unparseable = sum((verdict(b, x) is None) + (verdict(x, b) is None) for _, b, x in distinct)

    faults = [[], ["--faults", "all", "--slow-ms", "300"]]
    for extra in faults:
        tag = "faults" if extra else "clean"
        for form, tail, expected in (("vllm", "#rm", by_rewards), ("vllm", "/classify#rm", by_rewards),
                                     ("sglang", "", by_text),
                                     ("judge", "/v1#judge", by_judge)):
            server = Server(*extra)
            model = f"{form}:http://127.0.0.1:{server.port}{tail}"
            with tempfile.TemporaryDirectory() as out:
                summary = run_eval(model, out)
                stats = server.stop()
                label = f"{model} ({tag})"
                if summary is None:
                    continue
                compare(summary, expected, label)
                report = summary.get("scorer_report", {})
                check(report.get("backend") == form, f"{label}: scorer_report {report}")
                check((report.get("http_retries", 0) > 0) == bool(extra), f"{label}: retries {report}")
                check((stats["faults"] > 0) == bool(extra), f"{label}: server {stats}")
                if form == "judge":
                    check(report.get("comparisons") == len(distinct), f"{label}: {report} vs {len(distinct)} comparisons")
                    check(report.get("unparseable") == unparseable, f"{label}: {report} vs {unparseable} unparseable")
                    with open(os.path.join(out, "judgments.jsonl")) as f:
                        lines = [json.loads(line) for line in f]
                    check(len(lines) == len(distinct), f"{label}: {len(lines)} judgments")
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)


main()
