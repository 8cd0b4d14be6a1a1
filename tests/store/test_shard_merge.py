"""A 4-shard run merged equals the unsharded run byte for byte; the shards
split the distinct sequences (disjoint, complete, balanced by bytes); a
merge missing a shard fails and writes nothing."""
import os
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


with tempfile.TemporaryDirectory() as tmp:
    whole = os.path.join(tmp, "whole")
    total = reuse_line(rmb(binary, "eval", *common, "--out", whole).stderr)[1]
    shards = [os.path.join(tmp, f"shard{i}") for i in range(1, 5)]
    parts = []
    for i, d in enumerate(shards, 1):
        p = rmb(binary, "eval", *common, "--shard", f"{i}/4", "--out", d)
        assert f"shard {i}/4" in p.stdout, p.stdout
        assert not any(os.path.exists(os.path.join(d, f)) for f in OUTPUTS), "a shard wrote results"
        parts.append(keys(os.path.join(d, "store.sqlite")))
    union = {}
    for part in parts:
        assert not union.keys() & part.keys(), "shards overlap"
        union.update(part)
    assert union == keys(os.path.join(whole, "store.sqlite")) and len(union) == total
    loads = [sum(p.values()) for p in parts]
    assert max(loads) - min(loads) <= max(max(p.values()) for p in parts), loads

    merged = os.path.join(tmp, "merged")
    p = rmb(binary, "merge", *shards, *common, "--out", merged)
    assert reuse_line(p.stderr) == (total, total, 0), p.stderr
    same_outputs(whole, merged)

    partial = os.path.join(tmp, "partial")
    p = rmb(binary, "merge", *shards[:3], *common, "--out", partial, check=False)
    assert p.returncode == 1 and "lack" in p.stderr, p.stderr
    assert not any(os.path.exists(os.path.join(partial, f)) for f in OUTPUTS)
    p = rmb(binary, "merge", os.path.join(tmp, "nowhere"), *common, "--out", partial, check=False)
    assert p.returncode == 1 and "no run store" in p.stderr, p.stderr
    p = rmb(binary, "eval", *common, "--shard", "5/4", check=False)
    assert p.returncode == 2 and "--shard" in p.stderr, p.stderr
    print(f"ok: 4 shards of {total} sequences, loads {loads}, merged outputs identical")
