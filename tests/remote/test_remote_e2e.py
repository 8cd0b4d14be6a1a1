"""rmb eval with the remote scorers against the fake server, end to end.

The fake server's rewards and verdicts follow documented rules of the
request's text or token ids (tests/remote/fake_server.h); this script
recomputes them in Python, derives the metrics with the independent oracle
(tests/eval/rmb_oracle.py) and requires summary.json to equal them, without
faults and with every kind of fault injected.

In the token-id forms (--tokenizer with a real model directory) the ids are
those of the Hugging Face rule computed by independent oracles: jinja2
renders the conversation and answer (tests/template/oracle.py), Hugging
Face's Rust tokenizers encode it without adding special tokens and truncate
it (tests/template/oracle_ids.js).  The server records the requests it
answered, and the ids in them must be exactly the oracle's, each distinct
sequence once.

usage: test_remote_e2e.py RMB FAKE_SERVER DATA_DIR ORACLE_MODULES"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "eval"))
sys.path.insert(0, os.path.join(HERE, "..", "template"))
import rmb_oracle as oracle  # noqa: E402
import oracle as template_oracle  # noqa: E402  (tests/template/oracle.py)

RMB, SERVER, DATA, MODULES = sys.argv[1:5]
CHAT_MODEL = os.path.join(HERE, "chat_model")
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


def ids_reward(ids):
    """fake_server.h: the reward rule over the ids as "1,2,3"."""
    return reward(",".join(str(i) for i in ids))


def oracle_ids(items, model, max_length, side):
    """{(conversation as JSON, answer): the Hugging Face rule's ids} for every
    sequence of items, with model's template and tokenizer."""
    model_dir, template, tokens = template_oracle.real_model(MODULES, model)
    keys, texts = [], []
    for _, _, _, conv, answers in items:
        msgs = [{"role": t["role"], "content": t["content"]} for t in conv]
        for a in answers:
            keys.append((json.dumps(msgs), a))
            texts.append(template_oracle.render(template, msgs + [{"role": "assistant", "content": a}],
                                                False, tokens))
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    p = subprocess.run(["node", os.path.join(HERE, "..", "template", "oracle_ids.js"),
                        os.path.join(model_dir, "tokenizer.json"), f"{max_length}:{side}:0"],
                       input=lines.encode(), capture_output=True, check=True)
    ids = [json.loads(l)["ids"][0] for l in p.stdout.decode().split("\n") if l]
    return model_dir, dict(zip(keys, ids))


def recorded_ids(path):
    """The id lists of the requests the server answered in full (its record)."""
    out = []
    with open(path) as f:
        for line in f:
            url, body = line.split(" ", 1)
            req = json.loads(body)
            out += req.get("input") or req.get("input_ids") or []
    return out


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


def run_eval(model, out, extra_args):
    args = [RMB, "eval", "--model", model, "--data", DATA, "--out", out, "--quiet"] + extra_args
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

    # The token-id forms: (model, max_length or None for the default 2048, side).
    id_runs = {}
    for model, max_length, side in (("llama3_1", None, "left"), ("qwen3", 256, "right"),
                                    ("gemma3", 512, "left")):
        model_dir, ids = oracle_ids(items, model, max_length or 2048, side)
        key = lambda conv, a: (json.dumps([{"role": t["role"], "content": t["content"]} for t in conv]), a)
        expected = oracle.metrics(oracle.score_items(items, lambda conv, a: ids_reward(ids[key(conv, a)])))
        args = ["--tokenizer", model_dir, "--truncation", side]
        args += ["--max-length", str(max_length)] if max_length else []
        id_runs[model] = (args, expected, ids)
    truncated = sum(len(v) == 256 for v in id_runs["qwen3"][2].values())
    check(truncated > 10, f"qwen3 at 256 tokens: only {truncated} sequences truncated")

    # (form, URL tail, options, expected metrics, expected ids or None)
    runs = [("vllm", "#rm", [], by_rewards, None), ("vllm", "/classify#rm", [], by_rewards, None),
            ("vllm", "#rm", *id_runs["llama3_1"]), ("vllm", "/classify#rm", *id_runs["qwen3"]),
            ("sglang", "", ["--tokenizer", CHAT_MODEL], by_text, None),
            ("sglang", "", *id_runs["gemma3"]),
            ("judge", "/v1#judge", [], by_judge, None)]
    faults = [[], ["--faults", "all", "--slow-ms", "300"]]
    for extra in faults:
        tag = "faults" if extra else "clean"
        for form, tail, args, expected, ids in runs:
            with tempfile.TemporaryDirectory() as out:
                record = os.path.join(out, "requests.txt")
                server = Server(*extra, "--record", record)
                model = f"{form}:http://127.0.0.1:{server.port}{tail}"
                summary = run_eval(model, os.path.join(out, "run"), args)
                stats = server.stop()
                label = f"{model} {' '.join(args)} ({tag})"
                if summary is None:
                    continue
                compare(summary, expected, label)
                print(f"{label}: overall {summary['overall']}, {stats['requests']} requests, "
                      f"{stats['faults']} faults")
                report = summary.get("scorer_report", {})
                check(report.get("backend") == form, f"{label}: scorer_report {report}")
                check((report.get("http_retries", 0) > 0) == bool(extra), f"{label}: retries {report}")
                check((stats["faults"] > 0) == bool(extra), f"{label}: server {stats}")
                if ids:
                    check_ids(label, record, ids, report)
                elif form == "vllm":  # the chat form: vLLM truncates, to RMB's default
                    with open(record) as f:
                        limits = {json.loads(line.split(" ", 1)[1]).get("truncate_prompt_tokens") for line in f}
                    check(limits == {2048}, f"{label}: truncate_prompt_tokens {limits}")
                if form == "judge":
                    check(report.get("comparisons") == len(distinct), f"{label}: {report} vs {len(distinct)} comparisons")
                    check(report.get("unparseable") == unparseable, f"{label}: {report} vs {unparseable} unparseable")
                    with open(os.path.join(out, "run", "judgments.jsonl")) as f:
                        lines = [json.loads(line) for line in f]
                    check(len(lines) == len(distinct), f"{label}: {len(lines)} judgments")
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)


def check_ids(label, record, ids, report):
    """The server got exactly the oracle's ids, each distinct sequence once,
    several per request."""
    got = sorted(map(tuple, recorded_ids(record)))
    want = sorted(map(tuple, ids.values()))
    check(got == want, f"{label}: {len(got)} id lists received, {len(want)} expected; "
                       f"{len(set(got) - set(want))} not the oracle's")
    with open(record) as f:
        n_requests = sum(1 for _ in f)
    print(f"  {len(got)} id lists in {n_requests} answered requests; "
          f"{sum(map(len, want))} tokens, {report.get('truncated')} truncated, as the oracle's: {got == want}")
    check(n_requests * 2 <= len(want), f"{label}: {n_requests} requests for {len(want)} sequences")
    check(report.get("sequences") == len(want) and report.get("tokens") == sum(map(len, want)),
          f"{label}: report {report}")


main()
