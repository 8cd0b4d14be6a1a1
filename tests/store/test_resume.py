"""rmb eval killed with SIGKILL at random points (several of them inside a
store commit) resumes to outputs byte-identical to an uninterrupted run, and
no committed score is ever computed again.

The proof of the second part does not trust rmb's own counts: the test
scorer (random, with $RMB_TEST_SCORER_LOG) appends the key of every sequence
it scores to a log, and before each run the test reads the keys the store
holds.  A run may only compute keys the store did not hold when it started;
what a kill loses (computed, never committed) is at most one batch (the
store commits after every batch; a batch is 8 sequences, stretched to the
end of its last conversation, and the log has one line per batch).  $RMB_TEST_COMMIT_TRACE
marks each commit's start and end and stretches it, so the test knows which
kills landed inside a commit."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from storetest import reuse_line, rmb, same_outputs, store_keys

binary, data = sys.argv[1], sys.argv[2]
common = ["--model", "random:3", "--data", data, "--subset", "*/Harmlessness/S1"]
BATCH = 8  # the slow test scorer's batch, before it is stretched to a conversation's end


def new_lines(path, offset):
    """The keys scored since offset, and the largest batch among them."""
    if not os.path.exists(path):
        return [], 0, offset
    with open(path) as f:
        f.seek(offset)
        text = f.read()
    batches = [line.split() for line in text.splitlines()]
    assert all(len(b) >= 1 for b in batches), "an empty batch in the scorer log"
    return [int(k, 16) for b in batches for k in b], max(map(len, batches), default=0), offset + len(text)


def tail(path, offset):
    if not os.path.exists(path):
        return "", offset
    with open(path) as f:
        f.seek(offset)
        text = f.read()
    return text, offset + len(text)


def series(tmp, number, whole, total, rng):
    """One store from empty to complete: runs killed at random points, then
    a final run; every invariant checked.  Returns (kills, kills inside a
    commit)."""
    resumed = os.path.join(tmp, f"resumed{number}")
    store = os.path.join(resumed, "store.sqlite")
    log = os.path.join(tmp, f"scored{number}.log")
    trace = os.path.join(tmp, f"commits{number}.trace")
    env = dict(os.environ, RMB_TEST_SLOW_SCORER_US="5000", RMB_TEST_SCORER_LOG=log,
               RMB_TEST_COMMIT_TRACE=trace)  # ~4 s for the subset
    kills = in_commit = computed_total = lost_total = 0
    log_at = trace_at = 0
    for attempt in range(60):
        before = store_keys(store)
        if len(before) == total:
            break
        proc = subprocess.Popen([binary, "eval", *common, "--out", resumed, "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.02, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        err = proc.communicate()[1]
        scored, largest, log_at = new_lines(log, log_at)
        marks, trace_at = tail(trace, trace_at)
        if proc.returncode == -signal.SIGKILL and marks.endswith("b"):
            in_commit += 1
        after = store_keys(store)
        assert not set(scored) & before, f"run {attempt} recomputed committed scores"
        assert before <= after and after - before <= set(scored), "the store changed beyond this run's scores"
        lost = len(set(scored) - after)
        assert lost <= max(largest, BATCH), f"a kill lost {lost} computed scores, more than one batch"
        if "reused" in err:
            assert reuse_line(err) == (len(before), total, total - len(before)), (err, len(before))
        computed_total += len(scored)
        lost_total += lost

    before = store_keys(store)
    p = rmb(binary, "eval", *common, "--out", resumed, env=env)
    scored, _, log_at = new_lines(log, log_at)
    assert reuse_line(p.stderr) == (len(before), total, total - len(before)), (p.stderr, len(before))
    assert not set(scored) & before and len(scored) == total - len(before)
    computed_total += len(scored)
    assert store_keys(store) == store_keys(os.path.join(whole, "store.sqlite"))
    assert computed_total == total + lost_total, (computed_total, total, lost_total)
    with open(os.path.join(resumed, "run.json")) as f:
        run = json.load(f)
    assert (run["units"], run["reused"], run["computed"]) == (total, len(before), len(scored)), run
    same_outputs(whole, resumed)
    return kills, in_commit


with tempfile.TemporaryDirectory() as tmp:
    whole = os.path.join(tmp, "whole")
    p = rmb(binary, "eval", *common, "--out", whole)
    reused, total, computed = reuse_line(p.stderr)
    assert (reused, computed) == (0, total) and total > 100, p.stderr
    assert len(store_keys(os.path.join(whole, "store.sqlite"))) == total

    # Kills land inside a commit by chance: run fresh series until enough did.
    rng = random.Random(20261128)
    kills = in_commit = 0
    for number in range(6):
        k, c = series(tmp, number, whole, total, rng)
        kills, in_commit = kills + k, in_commit + c
        if kills >= 6 and in_commit >= 2:
            break
    assert kills >= 6 and in_commit >= 2, f"{kills} kills, {in_commit} inside a commit"
    print(f"{kills} kills ({in_commit} inside a store commit) over {number + 1} series; every resumed run identical")
