"""Shared helpers of the run-store tests: run rmb, compare output files."""
import os
import re
import sqlite3
import subprocess
import sys

OUTPUTS = ("pairwise.json", "bon.json", "summary.json", "summary.md")


def rmb(binary, *args, env=None, check=True):
    p = subprocess.run([binary, *args, "--quiet"], capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: rmb {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p


def reuse_line(stderr):
    """(reused, total, computed) from the run store's log line."""
    m = re.search(r"reused (\d+) of (\d+), (\d+) to compute", stderr)
    assert m, f"no reuse line in: {stderr!r}"
    return tuple(int(x) for x in m.groups())


def store_keys(store):
    """The keys (unsigned, as rmb_sequence_key) of the store's rows."""
    if not os.path.exists(store):
        return set()
    db = sqlite3.connect(store)
    try:
        return {k & (2**64 - 1) for (k,) in db.execute("SELECT key FROM scores")}
    except sqlite3.OperationalError:  # killed before the tables were made
        return set()
    finally:
        db.close()


def same_outputs(a, b, names=OUTPUTS):
    for name in names:
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            if fa.read() != fb.read():
                sys.exit(f"FAIL: {a}/{name} and {b}/{name} differ")
