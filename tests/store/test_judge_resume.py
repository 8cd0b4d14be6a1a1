"""A judge's verdicts go through the run store too, keyed by the comparison
(conversation, preferred answer, other answer, in that order): a rerun asks
the judge nothing, and a run killed twice resumes asking only for what was
not committed (at most one batch per kill), to the uninterrupted run's
outputs.  summary.json is compared without its scorer_report: the report
counts the work of the process that wrote it, and says how much came from
the store (docs/store.md).  The judge is
tests/remote's fake server, which counts the requests it answered."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from storetest import reuse_line, rmb, same_outputs, store_keys

binary, data, fake = sys.argv[1], sys.argv[2], sys.argv[3]
IN_FLIGHT = 2
SUBSET = "Pairwise_set/Harmlessness/S1"


def largest_batch_requests(data):
    """A judge batch is in_flight * 8 / 2 comparisons, stretched to the end of
    its last conversation (rmb eval hands a conversation's comparisons over
    together); two requests (orders) each."""
    with open(os.path.join(data, SUBSET + ".json")) as f:
        pairs = json.load(f)
    per_conversation = {}
    for p in pairs:
        key = json.dumps(p["conversation_input"], sort_keys=True)
        per_conversation[key] = per_conversation.get(key, 0) + 1
    return 2 * (IN_FLIGHT * 8 // 2 + max(per_conversation.values()) - 1)


def serve(*args):
    proc = subprocess.Popen([fake, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def requests(proc):
    proc.stdin.close()
    counts = json.loads(proc.stdout.read().strip().splitlines()[-1])
    proc.wait(timeout=30)
    return counts["requests"]


def args(port, out):
    return ["eval", "--model", f"judge:http://127.0.0.1:{port}/v1#judge", "--data", data,
            "--subset", SUBSET, "--in-flight", str(IN_FLIGHT), "--out", out]


def load(d, name):
    """A summary with the fake server's port (part of --model) masked."""
    with open(os.path.join(d, name)) as f:
        text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", f.read())
    return json.loads(text) if name.endswith(".json") else text


def same_summary_but_report(a, b, reused):
    """Everything but the scorer's own report (what this process computed)
    is identical, the position consistency included: the store keeps both
    orders' verdicts."""
    same_outputs(a, b, ("pairwise.json", "bon.json"))
    assert load(a, "summary.md") == load(b, "summary.md"), "summary.md differs"
    sa, sb = load(a, "summary.json"), load(b, "summary.json")
    report = sb.pop("scorer_report")
    whole_report = sa.pop("scorer_report")
    assert sa["analysis"]["position_consistency"] == whole_report["position_consistency_rate"], sa
    assert sa == sb, "summary.json differs beyond scorer_report"
    assert report["store"]["reused"] == reused and report["comparisons"] == report["store"]["computed"], report


with tempfile.TemporaryDirectory() as tmp:
    whole = os.path.join(tmp, "whole")
    server, port = serve()
    p = rmb(binary, *args(port, whole))
    n_whole = requests(server)
    reused, total, computed = reuse_line(p.stderr)
    assert (reused, computed) == (0, total) and n_whole == 2 * total, (p.stderr, n_whole)

    server, port = serve()
    again = os.path.join(tmp, "again")
    p = rmb(binary, *args(port, whole)[:-1], again, "--store", os.path.join(whole, "store.sqlite"))
    assert requests(server) == 0 and reuse_line(p.stderr) == (total, total, 0), p.stderr
    same_summary_but_report(whole, again, total)

    resumed = os.path.join(tmp, "resumed")
    server, port = serve("--delay-ms", "5")
    kills = 0
    for extra in (0.1, 0.4):
        # Killed a moment after its first commit: it has done some of the work.
        held = len(store_keys(os.path.join(resumed, "store.sqlite")))
        proc = subprocess.Popen([binary, *args(port, resumed), "-q"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while proc.poll() is None and time.time() < deadline and \
                len(store_keys(os.path.join(resumed, "store.sqlite"))) == held:
            time.sleep(0.02)
        time.sleep(extra)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    p = rmb(binary, *args(port, resumed))
    n_resumed = requests(server)
    before = reuse_line(p.stderr)[0]
    assert kills == 2 and 0 < before < total, (kills, p.stderr)
    assert n_whole <= n_resumed <= n_whole + kills * largest_batch_requests(data), (n_whole, n_resumed)
    same_summary_but_report(whole, resumed, before)
    print(f"ok: {total} comparisons; a rerun asked 0 requests; 2 kills then a resume asked "
          f"{n_resumed} requests (uninterrupted: {n_whole}); outputs identical")
