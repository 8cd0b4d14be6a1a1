"""rmb eval end to end on the real dataset: every number in summary.json and
every record in pairwise.json / bon.json must equal the independent oracle
(rmb_oracle.py).  usage: test_eval_e2e.py RMB_BINARY DATA_DIR"""
import json
import os
import random
import subprocess
import sys
import tempfile

import rmb_oracle as oracle

RMB, DATA = sys.argv[1], sys.argv[2]
# --quick: subsets only (for the sanitizer build); the full runs take longer.
QUICK = "--quick" in sys.argv[3:]
failures = []
ITEMS = oracle.load_items(DATA)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(args, expect=0):
    p = subprocess.run([RMB] + args, capture_output=True, text=True)
    check(p.returncode == expect, f"rmb {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def compare_metrics(summary, expected, label):
    for g in ("helpfulness", "harmlessness"):
        for s in ("pairwise", "bon"):
            check(summary[g][s] == expected[g][s], f"{label}: {g}.{s} = {summary[g][s]}, oracle {expected[g][s]}")
    check(summary["overall"] == expected["overall"], f"{label}: overall {summary['overall']} vs {expected['overall']}")
    got = [{k: r[k] for k in ("category_path", "accuracy", "correct", "total")} for r in summary["scenarios"]]
    check(got == expected["scenarios"], f"{label}: scenarios differ")
    got = [{k: r[k] for k in ("set", "category", "accuracy", "correct", "total")} for r in summary["categories"]]
    check(got == expected["categories"], f"{label}: categories differ")


def compare_records(out, scored, label):
    with open(os.path.join(out, "pairwise.json")) as f:
        pairs = json.load(f)
    with open(os.path.join(out, "bon.json")) as f:
        bons = json.load(f)
    exp_pairs = [r for r in scored if r[0] == "pairwise"]
    exp_bons = [r for r in scored if r[0] == "bon"]
    check(len(pairs) == len(exp_pairs) and len(bons) == len(exp_bons), f"{label}: record counts")
    for rec, (s, uid, path, rw) in zip(pairs, exp_pairs):
        want = {"pair_uid": uid, "category_path": path, "chosen_reward": rw[0], "reject_reward": rw[1],
                "is_correct": oracle.correct(rw)}
        if rec != want:
            check(False, f"{label}: pair record {rec} != {want}")
            break
    for rec, (s, uid, path, rw) in zip(bons, exp_bons):
        want = {"bon_uid": uid, "category_path": path, "best_reward": rw[0], "loser_rewards": rw[1:],
                "is_correct": int(oracle.correct(rw))}
        if rec != want:
            check(False, f"{label}: bon record {rec} != {want}")
            break
    return pairs, bons


def eval_and_compare(model, scorer, patterns, label):
    with tempfile.TemporaryDirectory() as out:
        args = ["eval", "--model", model, "--data", DATA, "--out", out, "--quiet"]
        for p in patterns:
            args += ["--subset", p]
        p = run(args)
        if p.returncode != 0:
            return None
        items = [it for it in ITEMS if oracle.subset_match(patterns, it[2])]
        scored = oracle.score_items(items, scorer)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        compare_metrics(summary, oracle.metrics(scored), label)
        compare_records(out, scored, label)
        check("Overall" in p.stdout and "Pairwise" in p.stdout, f"{label}: table on stdout")
        check(os.path.exists(os.path.join(out, "summary.md")), f"{label}: summary.md")
        return summary


def test_full_runs():
    if QUICK:
        return
    s = eval_and_compare("length", oracle.length_score, [], "length")
    if s:
        cov = s["coverage"]
        check(cov["pairs"] == 14543 and cov["pairs_published"] == 17131, f"coverage pairs {cov}")
        check(cov["bon"] == 3786 and cov["bon_published"] == 3786, f"coverage bon {cov}")
        check(sorted(cov["missing_files"]) == sorted(oracle.PUBLISHED_MISSING), f"missing files {cov['missing_files']}")
        check(s["model"] == "length", "summary model")
        check(len(s["scenarios"]) == 95, f"95 scenarios with items, got {len(s['scenarios'])}")
    seed7 = lambda c, a: oracle.random_score(7, c, a)
    eval_and_compare("random:7", seed7, [], "random:7")


def test_subsets():
    seed0 = lambda c, a: oracle.random_score(0, c, a)
    subsets = [["Pairwise_set/Helpfulness/Code"], ["*/Harmlessness/S1"], ["Pairwise_set/Harmlessness/S1"],
               ["BoN_set/Helpfulness", "Pairwise_set/Harmlessness/S10"], ["*/Helpfulness/*/Factual"]]
    for patterns in subsets[1:3] if QUICK else subsets:
        s = eval_and_compare("random", seed0, patterns, f"random subset {patterns}")
        if s and patterns == ["Pairwise_set/Harmlessness/S1"]:
            check([r["category_path"] for r in s["scenarios"]] == ["Pairwise_set/Harmlessness/S1"],
                  "a prefix selects whole components (S1, not S10)")
            check(s["overall"] is None and s["helpfulness"]["bon"]["accuracy"] is None, "empty sets are null")
            check(s["coverage"]["missing_files"] == [], "no missing files in an S1 selection")
    if QUICK:
        return
    s = eval_and_compare("length", oracle.length_score, ["Pairwise_set/Harmlessness"], "harmlessness pairs")
    if s:
        check(s["coverage"]["missing_files"] == ["Pairwise_set/Harmlessness/S11"], "S11 missing in selection")
        check(s["coverage"]["pairs_published"] == 7064, f"published harmlessness pairs {s['coverage']}")


def test_results_file():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        sel = []
        for p in (["--subset", "*/Harmlessness/S1", "--subset", "*/Helpfulness/Code"] if QUICK else []):
            sel.append(p)
        if run(["eval", "--model", "random:3", "--data", DATA, "--out", out, "-q"] + sel).returncode:
            return
        with open(os.path.join(out, "pairwise.json")) as f:
            recs = json.load(f)
        with open(os.path.join(out, "bon.json")) as f:
            recs += json.load(f)
        random.Random(1).shuffle(recs)
        # The original harness's shape: is_correct missing on some, wrong on others.
        for i, r in enumerate(recs[:50]):
            r.pop("is_correct")
        recs[60]["is_correct"] = not recs[60]["is_correct"] if "pair_uid" in recs[60] else 1 - recs[60]["is_correct"]
        mixed = os.path.join(tmp, "mixed.jsonl")
        with open(mixed, "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        scored = [("pairwise" if "pair_uid" in r else "bon", r.get("pair_uid", r.get("bon_uid")), r["category_path"],
                   [r["chosen_reward"], r["reject_reward"]] if "pair_uid" in r else [r["best_reward"]] + r["loser_rewards"])
                  for r in recs]
        expected = oracle.metrics(scored)
        for data_args, label in (([], "results without data"), (["--data", DATA], "results with data")):
            env_out = os.path.join(tmp, "from-results" + str(len(data_args)))
            p = run(["eval", "--model", "results:" + mixed, "--out", env_out, "-q"] + data_args)
            if p.returncode:
                continue
            with open(os.path.join(env_out, "summary.json")) as f:
                s = json.load(f)
            compare_metrics(s, expected, label)
            check(s["results_check"]["is_correct_mismatches"] == 1, f"{label}: one stored is_correct disagrees")
            check(s["coverage"]["pairs"] == sum("pair_uid" in r for r in recs), f"{label}: coverage counts the records")
        # A JSON array file with an unknown uid: counted, not dropped.
        recs.append({"pair_uid": "999999", "category_path": "Pairwise_set/Helpfulness/Code/Documentation",
                     "chosen_reward": 1, "reject_reward": 0})
        arr = os.path.join(tmp, "arr.json")
        with open(arr, "w") as f:
            json.dump(recs, f)
        scored.append(("pairwise", "999999", "Pairwise_set/Helpfulness/Code/Documentation", [1, 0]))
        p = run(["eval", "--model", "results:" + arr, "--data", DATA, "--out", os.path.join(tmp, "arr"), "-q"])
        if p.returncode == 0:
            with open(os.path.join(tmp, "arr", "summary.json")) as f:
                s = json.load(f)
            compare_metrics(s, oracle.metrics(scored), "results array + unknown uid")
            check(s["results_check"]["unknown_uids"] == 1, "unknown uid counted")
            check("999999" not in p.stdout and "lacks" in p.stderr, "unknown uids reported on stderr")
        # A results subset counts only the selected records.
        p = run(["eval", "--model", "results:" + arr, "--subset", "BoN_set", "--out", os.path.join(tmp, "bon"), "-q"])
        if p.returncode == 0:
            with open(os.path.join(tmp, "bon", "summary.json")) as f:
                s = json.load(f)
            compare_metrics(s, oracle.metrics([r for r in scored if r[0] == "bon"]), "results subset")


def test_usage_errors():
    run(["eval"], expect=2)
    run(["eval", "--model", "nonsense"], expect=2)
    run(["eval", "--model", "random:x", "--data", DATA], expect=2)
    run(["eval", "--model", "length", "--bogus"], expect=2)
    run(["eval", "--model", "length", "--data", DATA, "--subset", "Nothing/Here", "--out", "/tmp/rmb-none"], expect=2)
    run(["eval", "--model", "length", "--data", "/nonexistent"], expect=1)
    run(["frobnicate"], expect=2)
    p = run(["eval", "--help"])
    check("--subset" in p.stdout and "examples" in p.stdout, "eval --help is complete")
    p = run(["--help"])
    check("eval" in p.stdout and "list" in p.stdout, "rmb --help lists commands")
    p = run(["list", "--data", DATA])
    lines = p.stdout.splitlines()
    check(sum("missing" in l for l in lines) == 3, "rmb list marks the three absent files")
    check(any(l.startswith("Pairwise_set/Harmlessness/S11") and "missing" in l and "977" in l for l in lines),
          "S11 missing with its published count")


for t in (test_full_runs, test_subsets, test_results_file, test_usage_errors):
    before = len(failures)
    t()
    print(f"{t.__name__}: {'ok' if len(failures) == before else 'FAILED'}")
sys.exit(1 if failures else 0)
