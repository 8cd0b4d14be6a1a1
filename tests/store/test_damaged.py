"""Damaged or foreign stores: a clear error naming the file (exit 1, no
results written), or rows ignored with a note — never wrong numbers."""
import os
import shutil
import sqlite3
import sys
import tempfile

from storetest import OUTPUTS, reuse_line, rmb, same_outputs

binary, data = sys.argv[1], sys.argv[2]
common = ["--data", data, "--subset", "*/Harmlessness/S2"]


def fails(store, out, want):
    p = rmb(binary, "eval", "--model", "random:5", *common, "--store", store, "--out", out, check=False)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert store in p.stderr and want in p.stderr, p.stderr
    assert not any(os.path.exists(os.path.join(out, f)) for f in OUTPUTS), "results written"


with tempfile.TemporaryDirectory() as tmp:
    good = os.path.join(tmp, "good")
    rmb(binary, "eval", "--model", "random:5", *common, "--out", good)
    store = os.path.join(good, "store.sqlite")
    out = os.path.join(tmp, "out")

    junk = os.path.join(tmp, "junk.sqlite")
    with open(junk, "wb") as f:
        f.write(b"this is not a database" * 100)
    fails(junk, out, "not a usable rmb store")

    truncated = os.path.join(tmp, "truncated.sqlite")
    with open(store, "rb") as f:
        blob = f.read()
    with open(truncated, "wb") as f:
        f.write(blob[: len(blob) // 3])
    fails(truncated, out, "store")

    other = os.path.join(tmp, "other.sqlite")
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE scores(a, b)")
    fails(other, out, "field schema")

    # A damaged row — its text identity or its value — is refused, never read.
    for column in ("check_hash", "length", "value_bits"):
        tampered = os.path.join(tmp, f"tampered-{column}.sqlite")
        shutil.copy(store, tampered)
        with sqlite3.connect(tampered) as db:
            db.execute(f"UPDATE scores SET {column} = {column} + 1 WHERE key = (SELECT min(key) FROM scores)")
        fails(tampered, out, "does not match the sequence")

    # Another scorer's store: its rows are ignored (noted), numbers unchanged.
    shared = os.path.join(tmp, "shared.sqlite")
    shutil.copy(store, shared)
    p = rmb(binary, "eval", "--model", "random:6", *common, "--store", shared, "--out", os.path.join(tmp, "r6"))
    assert "other scorers" in p.stderr and reuse_line(p.stderr)[0] == 0, p.stderr
    p = rmb(binary, "eval", "--model", "random:6", *common, "--out", os.path.join(tmp, "r6b"))
    same_outputs(os.path.join(tmp, "r6"), os.path.join(tmp, "r6b"))
    p = rmb(binary, "eval", "--model", "random:5", *common, "--store", shared, "--out", out)
    assert reuse_line(p.stderr)[0] == reuse_line(p.stderr)[1], p.stderr
    same_outputs(good, out)
    print("ok: junk, truncated, foreign schema, damaged rows (identity, value) refused; other fingerprints ignored")
