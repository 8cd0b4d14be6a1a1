"""rmb compare and rmb report end to end on a subset of the real dataset.

Every leaderboard number (accuracies, bootstrap intervals, paired p-values,
ranks) must equal the independent Python implementation (bootstrap_oracle.py)
on the same scores and seeds; every run's analyses must equal rmb_oracle's;
the report must render in headless Chromium with every chart present.
usage: test_report.py RMB_BINARY DATA_DIR OUT_DIR [FAKE_SERVER]
(the screenshot goes to OUT_DIR; FAKE_SERVER, tests/remote's, serves a judge)"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
import bootstrap_oracle as boot  # noqa: E402
import rmb_oracle as oracle  # noqa: E402

RMB, DATA, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
FAKE_SERVER = sys.argv[4] if len(sys.argv) > 4 else None
SUBSET = ["*/Harmlessness/S1", "*/Helpfulness/Code/*"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(args, expect=0):
    p = subprocess.run([RMB] + args, capture_output=True, text=True)
    check(p.returncode == expect, f"rmb {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def load(path):
    with open(path) as f:
        return json.load(f)


def close(a, b, what):
    """Equal numbers (None for NaN/null); the arithmetic is the same, so exactly."""
    ok = (a is None and b is None) or (a is not None and b is not None and a == b)
    return check(ok, f"{what}: rmb {a}, oracle {b}")


def nan_to_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def make_runs(tmp):
    """length, random:1, random:2 on the subset, and a results run missing a few items."""
    sel = [a for p in SUBSET for a in ("--subset", p)]
    runs = {}
    for model in ("length", "random:1", "random:2"):
        d = os.path.join(tmp, model.replace(":", "-"))
        run(["eval", "--model", model, "--data", DATA, "--out", d, "-q"] + sel)
        runs[model] = d
    recs = load(os.path.join(runs["random:2"], "pairwise.json"))[5:] + load(os.path.join(runs["random:2"], "bon.json"))
    res = os.path.join(tmp, "partial.jsonl")
    with open(res, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    d = os.path.join(tmp, "partial")
    run(["eval", "--model", "results:" + res, "--data", DATA, "--out", d, "-q"])
    runs["partial"] = d
    return runs


def run_items(d):
    """{(set, uid): rewards} from a run's records."""
    out = {}
    for r in load(os.path.join(d, "pairwise.json")):
        out[("pairwise", r["pair_uid"])] = [r["chosen_reward"], r["reject_reward"]]
    for r in load(os.path.join(d, "bon.json")):
        out[("bon", r["bon_uid"])] = [r["best_reward"]] + r["loser_rewards"]
    return out


def oracle_group_id(g):
    if g["kind"] == "overall":
        return ("overall", "overall")
    if g["kind"] == "set":
        return ("set", g["key"])
    if g["kind"] == "category":
        return ("category", (g["set"], g["key"]))
    return ("scenario", g["key"])


def check_leaderboard(dirs, board, replicates, seed):
    all_items = oracle.load_items(DATA)
    per_run = [run_items(d) for d in dirs]
    aligned = [it for it in all_items if all((it[0], it[1]) in pr for pr in per_run)]
    items = [(s, path, json.dumps([[t["role"], t["content"]] for t in conv])) for s, uid, path, conv, _ in aligned]
    correct = [[oracle.correct(pr[(it[0], it[1])]) for it in aligned] for pr in per_run]
    expected, n_clusters = boot.leaderboard(items, correct, replicates, seed)
    close(board["items"], len(aligned), "aligned items")
    close(board["clusters"], n_clusters, "clusters")
    close(board["left_out"], sum(len(pr) for pr in per_run) - len(aligned) * len(per_run), "left out")
    overall_id = ("overall", "overall")
    check([oracle_group_id(g) for g in board["groups"]] == [overall_id] + [g for g in expected if g != overall_id],
          "groups: overall, the four sets, categories by (set, name), scenarios by path")
    check(len(board["groups"]) == len(expected), f"{len(board['groups'])} groups, oracle {len(expected)}")
    labels = [r["model"] for r in board["runs"]]
    for g in board["groups"]:
        e = expected.get(oracle_group_id(g))
        if not check(e is not None, f"group {g['kind']} {g['key']} unknown to the oracle"):
            continue
        what = f"{g['kind']} {g['key']} {g['set']}"
        close(g["total"], e["total"], what + " total")
        close(g["best"], None if e["best"] is None else labels[e["best"]], what + " best")
        for r, res in enumerate(g["results"]):
            close(res["accuracy"], nan_to_none(e["acc"][r]), f"{what} {labels[r]} accuracy")
            close(res["ci"][0], e["ci"][r][0], f"{what} {labels[r]} ci low")
            close(res["ci"][1], e["ci"][r][1], f"{what} {labels[r]} ci high")
            close(res["p_vs_best"], e["p"][r], f"{what} {labels[r]} p")
    # ranks: competition ranking by overall accuracy
    overall = expected[("overall", "overall")]["acc"]
    for r, info in enumerate(board["runs"]):
        want = 1 + sum(1 for o in overall if not math.isnan(o) and (math.isnan(overall[r]) or o > overall[r]))
        close(info["rank"], want, f"{labels[r]} rank")
    return aligned, per_run


def check_analyses(board, aligned, per_run):
    for r, info in enumerate(board["runs"]):
        items = [(s, oracle.goal_of(path), answers, per_run[r][(s, uid)]) for s, uid, path, conv, answers in aligned]
        want = oracle.analysis(items)
        check(info["analysis"] == want, f"{info['model']}: analysis differs from the oracle")


def test_compare(runs, tmp):
    dirs = [runs["length"], runs["random:1"], runs["random:2"], runs["partial"]]
    out = os.path.join(tmp, "board")
    p = run(["compare"] + dirs + ["--bootstrap", "200", "--seed", "12345", "--out", out, "-q"])
    if p.returncode:
        return
    board = load(os.path.join(out, "leaderboard.json"))
    check(board["replicates"] == 200 and board["seed"] == 12345, "replicates and seed recorded")
    aligned, per_run = check_leaderboard(dirs, board, 200, 12345)
    check_analyses(board, aligned, per_run)
    rank = load(os.path.join(out, "rm_rank.json"))
    check(set(rank) == {r["model"] for r in board["runs"]}, f"rm_rank.json models {list(rank)}")
    for r in board["runs"]:
        check(rank[r["model"]] == {"ACC": r["overall"], "rank": r["rank"]}, f"rm_rank {r['model']}")
    check(list(rank.values()) == sorted(rank.values(), key=lambda v: v["rank"]), "rm_rank.json best first")
    check(all(r["model"] in p.stdout for r in board["runs"]) and "Harmlessness Best-of-N" in p.stdout,
          "the headline table on stdout")
    check("left out" in p.stderr, "the partial run's missing items are reported")
    md = open(os.path.join(out, "leaderboard.md")).read()
    check("## Scenarios" in md and "## Helpfulness categories" in md, "leaderboard.md has every table")
    # Same seed, same numbers; another seed, other intervals.
    again = os.path.join(tmp, "again")
    run(["compare"] + dirs + ["--bootstrap", "200", "--seed", "12345", "--out", again, "-q"])
    check(open(os.path.join(again, "leaderboard.json")).read() == open(os.path.join(out, "leaderboard.json")).read(),
          "compare is deterministic")
    other = os.path.join(tmp, "other")
    run(["compare"] + dirs[:2] + ["--bootstrap", "50", "--seed", "7", "--out", other, "-q"])
    b2 = load(os.path.join(other, "leaderboard.json"))
    if check(b2["replicates"] == 50, "--bootstrap 50"):
        check_leaderboard(dirs[:2], b2, 50, 7)


def test_empty_sets(tmp):
    """Runs without Best-of-N or helpfulness items: those sets are null, and so is overall."""
    dirs = []
    for model in ("random:1", "random:2"):
        d = os.path.join(tmp, "harm-" + model.replace(":", "-"))
        run(["eval", "--model", model, "--data", DATA, "--out", d, "-q", "--subset", "Pairwise_set/Harmlessness/S1"])
        dirs.append(d)
    out = os.path.join(tmp, "harm-board")
    if run(["compare"] + dirs + ["--bootstrap", "30", "--out", out, "-q"]).returncode:
        return
    board = load(os.path.join(out, "leaderboard.json"))
    check_leaderboard(dirs, board, 30, 0)
    rank = load(os.path.join(out, "rm_rank.json"))
    check(rank == {"random:1": {"ACC": None, "rank": 1}, "random:2": {"ACC": None, "rank": 1}},
          f"no overall: ACC null, equal ranks ({rank})")


def test_judge(tmp):
    """A judge's position consistency reaches the analyses (a single-run comparison)."""
    if not FAKE_SERVER:
        print("note: no fake server given: the judge check is skipped")
        return
    server = subprocess.Popen([FAKE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        d = os.path.join(tmp, "judge")
        p = run(["eval", "--model", f"judge:http://127.0.0.1:{port}/v1#judge", "--data", DATA,
                 "--subset", "Pairwise_set/Harmlessness/S1", "--out", d, "-q"])
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    if p.returncode:
        return
    rate = load(os.path.join(d, "summary.json"))["scorer_report"]["position_consistency_rate"]
    out = os.path.join(tmp, "judge-board")
    if run(["compare", d, "--bootstrap", "20", "--out", out, "-q"]).returncode == 0:
        board = load(os.path.join(out, "leaderboard.json"))
        check(board["runs"][0]["analysis"]["position_consistency"] == rate, "the judge's position consistency")
        check(board["groups"][1]["results"][0]["p_vs_best"] is None, "a single run is its own best")


def test_summary_analysis(runs):
    """summary.json's analysis, when rmb eval records one, equals the oracle on the run's items."""
    items = {(s, uid): (path, answers) for s, uid, path, conv, answers in oracle.load_items(DATA)}
    for model in ("length", "random:1"):
        s = load(os.path.join(runs[model], "summary.json"))
        if "analysis" not in s:
            print(f"note: {model}: summary.json has no analysis (rmb eval does not pass its outcomes yet)")
            continue
        recs = run_items(runs[model])
        want = oracle.analysis([(k[0], oracle.goal_of(items[k][0]), items[k][1], rw) for k, rw in recs.items()])
        check(s["analysis"] == want, f"{model}: summary.json analysis differs from the oracle")
        md = open(os.path.join(runs[model], "summary.md")).read()
        check(f"- tie rate: {want['tie_rate']['all']:.4f}" in md, f"{model}: summary.md shows the tie rate")


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []  # (tag, attrs)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def count(dom, tag, **attrs):
    return sum(1 for t, a in dom.tags if t == tag and all(a.get(k) == v for k, v in attrs.items()))


def test_report(runs, tmp):
    dirs = [runs["length"], runs["random:1"], runs["random:2"]]
    html = os.path.join(tmp, "report.html")
    p = run(["report"] + dirs + ["-o", html, "--bootstrap", "100", "-q"])
    if p.returncode:
        return
    text = open(html, encoding="utf-8").read()
    # Self-contained: no scripts, nothing fetched.
    check("<script" not in text.lower(), "no scripts")
    check(not re.search(r"\b(src|href)\s*=|url\(|@import", text), "nothing loaded from elsewhere")
    board_dir = os.path.join(tmp, "board100")
    run(["compare"] + dirs + ["--bootstrap", "100", "--out", board_dir, "-q"])
    board = load(os.path.join(board_dir, "leaderboard.json"))
    n_scen = sum(1 for g in board["groups"] if g["kind"] == "scenario")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is not installed (scripts/setup.sh installs it): the rendering checks are skipped")
        return 77
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + os.path.join(tmp, "chr"),
            "--enable-logging=stderr", "--v=0"]
    p = subprocess.run(base + ["--dump-dom", "file://" + html], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"chromium --dump-dom: exit {p.returncode}\n{p.stderr[-2000:]}")
    check(not re.search(r"CONSOLE|Uncaught|SyntaxError", p.stderr), f"page errors: {p.stderr[-2000:]}")
    dom = Dom()
    dom.feed(p.stdout)
    for tag, ident in (("table", "headline-table"), ("svg", "scenario-bars"), ("svg", "heatmap-svg"),
                       ("table", "categories-table"), ("table", "length-bias-table"), ("svg", "length-bias-svg"),
                       ("table", "ties-table"), ("section", "config")):
        check(count(dom, tag, id=ident) == 1, f"the page has {tag}#{ident}")
    check(count(dom, "tr", **{"class": "run"}) == 3, "a headline row per run")
    check(count(dom, "rect", **{"class": "bar"}) == n_scen * 3, f"a bar per scenario and run ({n_scen} x 3)")
    check(count(dom, "line", **{"class": "ci"}) == n_scen * 3, "an interval whisker per bar")
    check(count(dom, "rect", **{"class": "cell"}) == n_scen * 3, "a heatmap cell per scenario and run")
    check(count(dom, "rect", **{"class": "length-bar"}) >= 5, "length-bias bars")
    check(count(dom, "div", **{"class": "run-config"}) == 3, "each run's configuration")
    for r in board["runs"]:
        check(r["overall"] is not None and f"{r['overall']:.4f}" in p.stdout, f"{r['model']}'s overall score on the page")
    shot = os.path.join(OUT, "report.png")
    if os.path.exists(shot):
        os.remove(shot)
    p = subprocess.run(base + ["--screenshot=" + shot, "--window-size=1400,2400", "file://" + html],
                       capture_output=True, text=True, timeout=120)
    if check(os.path.exists(shot), f"screenshot written ({p.stderr[-1000:]})"):
        with open(shot, "rb") as f:
            head = f.read(24)
        check(head[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(head[16:20], "big") == 1400, "a 1400-wide PNG")
        print("screenshot:", shot)
    return 0


def test_usage_errors(runs, tmp):
    run(["compare"], expect=2)
    run(["compare", runs["length"], "--bootstrap", "0"], expect=2)
    run(["compare", runs["length"], "--seed", "-1"], expect=2)
    run(["report", runs["length"]], expect=2)
    p = run(["compare", os.path.join(tmp, "nope"), "--out", os.path.join(tmp, "x")], expect=1)
    check("nope/summary.json" in p.stderr, "a missing run names its summary.json")
    bad = os.path.join(tmp, "bad")
    shutil.copytree(runs["length"], bad)
    with open(os.path.join(bad, "summary.json"), "w") as f:
        f.write("{\"model\": ")
    p = run(["compare", bad, "--out", os.path.join(tmp, "y")], expect=1)
    check("bad/summary.json" in p.stderr and "not JSON" in p.stderr, "a broken summary.json is named")
    check(not os.path.exists(os.path.join(tmp, "y")), "no output after an error")
    p = run(["compare", "--help"])
    check("rm_rank.json" in p.stdout and "examples" in p.stdout, "compare --help")
    p = run(["report", "--help"])
    check("-o" in p.stdout and "examples" in p.stdout, "report --help")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        runs = make_runs(tmp)
        if failures:
            return 1
        status = 0
        for name, t in (("compare", lambda: test_compare(runs, tmp)), ("empty sets", lambda: test_empty_sets(tmp)),
                        ("judge", lambda: test_judge(tmp)),
                        ("summary analysis", lambda: test_summary_analysis(runs)),
                        ("report", lambda: test_report(runs, tmp)), ("usage errors", lambda: test_usage_errors(runs, tmp))):
            before = len(failures)
            rc = t()
            status = rc if rc == 77 and not status else status
            print(f"{name}: {'ok' if len(failures) == before else 'FAILED'}")
    return 1 if failures else status


sys.exit(main())
