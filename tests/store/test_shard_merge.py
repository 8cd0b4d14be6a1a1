"""A 4-shard run merged equals the unsharded run byte for byte; the shards
split the distinct sequences (disjoint, complete, balanced by text bytes,
whole conversations); a merge of an incomplete or mixed set of shards fails
and writes nothing."""
import json
import os
import shutil
import sqlite3
import sys
import tempfile

from storetest import OUTPUTS, reuse_line, rmb, same_outputs

binary, data = sys.argv[1], sys.argv[2]
common = ["--model", "random:11", "--data", data, "--subset", "Pairwise_set/Harmlessness",
          "--subset", "BoN_set/Helpfulness/Code"]


def keys(store):
    with sqlite3.connect(store) as db:
        return {k: n for k, n in db.execute("SELECT key, length FROM scores")}


def fails(args, code, needle, out):
    p = rmb(binary, "merge", *args, "--out", out, check=False)
    assert p.returncode == code and needle in p.stderr, (args, p.returncode, p.stderr)
    assert not any(os.path.exists(os.path.join(out, f)) for f in OUTPUTS), "a failed merge wrote results"


with tempfile.TemporaryDirectory() as tmp:
    whole = os.path.join(tmp, "whole")
    total = reuse_line(rmb(binary, "eval", *common, "--out", whole).stderr)[1]
    shards = [os.path.join(tmp, f"shard{i}") for i in range(1, 5)]
    parts = []
    for i, d in enumerate(shards, 1):
        p = rmb(binary, "eval", *common, "--shard", f"{i}/4", "--out", d)
        assert f"shard {i}/4" in p.stdout, p.stdout
        assert not any(os.path.exists(os.path.join(d, f)) for f in OUTPUTS), "a shard wrote results"
        with open(os.path.join(d, "run.json")) as f:
            run = json.load(f)
        assert run["shard"] == [i, 4] and run["computed"] == run["units"] > 0, run
        parts.append(keys(os.path.join(d, "store.sqlite")))
    union = {}
    for part in parts:
        assert not union.keys() & part.keys(), "shards overlap"
        union.update(part)
    assert union == keys(os.path.join(whole, "store.sqlite")) and len(union) == total
    loads = [sum(p.values()) for p in parts]
    assert max(loads) <= 1.02 * min(loads), f"shards unbalanced: {loads}"

    merged = os.path.join(tmp, "merged")
    p = rmb(binary, "merge", *shards, "--out", merged)
    assert reuse_line(p.stderr) == (total, total, 0), p.stderr
    same_outputs(whole, merged)
    with open(os.path.join(merged, "run.json")) as f:
        run = json.load(f)
    assert run["merged_from"] == [os.path.join(d, "store.sqlite") for d in shards], run

    out = os.path.join(tmp, "bad")
    fails(shards[:3], 2, "every shard 1..N", out)
    fails([*shards[:3], shards[0]], 2, "given twice", out)
    fails([*shards[:3], os.path.join(tmp, "nowhere")], 1, "run.json", out)
    other = os.path.join(tmp, "other4")
    rmb(binary, "eval", *common, "--subset", "BoN_set/Harmlessness/S1", "--shard", "4/4", "--out", other)
    fails([*shards[:3], other], 2, "field config differs", out)
    # A shard that did not finish: the merged stores lack its missing values.
    cut = os.path.join(tmp, "cut4")
    shutil.copytree(shards[3], cut)
    with open(os.path.join(cut, "run.json")) as f:
        run = json.load(f)
    run["store"] = os.path.join(cut, "store.sqlite")
    with open(os.path.join(cut, "run.json"), "w") as f:
        json.dump(run, f)
    with sqlite3.connect(run["store"]) as db:
        db.execute("DELETE FROM scores WHERE key IN (SELECT key FROM scores LIMIT 5)")
    fails([*shards[:3], cut], 1, "lack 5 of the", out)
    p = rmb(binary, "eval", *common, "--shard", "5/4", check=False)
    assert p.returncode == 2 and "--shard" in p.stderr, p.stderr
    p = rmb(binary, "eval", "--model", "results:" + os.path.join(whole, "pairwise.json"), "--shard", "1/2",
            check=False)
    assert p.returncode == 2 and "not scored" in p.stderr, p.stderr

    # --dtype is --compute (issue 4's name): recorded in the configuration.
    p = rmb(binary, "eval", *common, "--dtype", "bf16", "--shard", "1/4", "--out", out)
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["config"]["options"]["compute"] == "bf16"
    p = rmb(binary, "eval", *common, "--dtype", "fp8", check=False)
    assert p.returncode == 2 and "--compute fp8" in p.stderr, p.stderr
    print(f"ok: 4 shards of {total} sequences, text bytes per shard {loads}, merged outputs identical")
