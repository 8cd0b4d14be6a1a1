"""Every bad input gets a message naming the file, the item and the field,
exit status 1, and no output files.  usage: test_bad_input.py RMB_BINARY"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

RMB = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def pair(uid, chosen="a good answer", reject="bad"):
    return {"pair_uid": uid, "conversation_input": [{"role": "user", "content": "hi", "language": "English"}],
            "chosen": {"llm_name": "m1", "answer": chosen}, "reject": {"llm_name": "m2", "answer": reject},
            "category_path": "Pairwise_set/Helpfulness/Chat/Discussion"}


def bon(uid):
    return {"bon_uid": uid, "conversation_input": [{"role": "user", "content": "q"}],
            "bon_best": {"llm_name": "m1", "answer": "the best one"},
            "loser_list": [{"llm_name": "m2", "answer": "meh"}, {"llm_name": "m3", "answer": "no"}],
            "category_path": "BoN_set/Harmlessness/S1"}


def write_dataset(root, pairs_text=None, bon_text=None):
    p = os.path.join(root, "Pairwise_set", "Helpfulness", "Chat")
    b = os.path.join(root, "BoN_set", "Harmlessness")
    os.makedirs(p)
    os.makedirs(b)
    with open(os.path.join(p, "Discussion.json"), "wb") as f:
        f.write(pairs_text if pairs_text is not None else json.dumps([pair("0"), pair("1")]).encode())
    with open(os.path.join(b, "S1.json"), "wb") as f:
        f.write(bon_text if bon_text is not None else json.dumps([bon("0")]).encode())


def expect_failure(label, needles, pairs_text=None, bon_text=None, model="length", extra_files=()):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        write_dataset(data, pairs_text, bon_text)
        for rel, content in extra_files:
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
        out = os.path.join(tmp, "out")
        model = model.replace("TMP", tmp)
        p = subprocess.run([RMB, "eval", "--model", model, "--data", data, "--out", out, "-q"],
                           capture_output=True, text=True)
        check(p.returncode == 1, f"{label}: exit {p.returncode}, expected 1 ({p.stderr.strip()})")
        for n in needles:
            check(n in p.stderr, f"{label}: message lacks {n!r}: {p.stderr.strip()}")
        check(not os.path.exists(out) or os.listdir(out) == [], f"{label}: output files were written")
        check("Traceback" not in p.stderr and "Sanitizer" not in p.stderr, f"{label}: crash")


def mutate(fn):
    items = [pair("0"), pair("1")]
    fn(items)
    return json.dumps(items).encode()


PFILE = "Pairwise_set/Helpfulness/Chat/Discussion.json"
BFILE = "BoN_set/Harmlessness/S1.json"


def test_dataset_errors():
    expect_failure("malformed JSON", [PFILE, "line 1", "invalid JSON"], pairs_text=b'[{"pair_uid": "0",')
    expect_failure("trailing garbage", [PFILE, "invalid JSON"], pairs_text=json.dumps([pair("0")]).encode() + b" x")
    expect_failure("not an array", [PFILE, "expected a JSON array"], pairs_text=b'{"a": 1}')
    expect_failure("missing answer", [PFILE, "item 1", "pair_uid 1", "field chosen.answer", "missing"],
                   pairs_text=mutate(lambda it: it[1]["chosen"].pop("answer")))
    expect_failure("missing reject", [PFILE, "item 0", "field reject", "missing"],
                   pairs_text=mutate(lambda it: it[0].pop("reject")))
    expect_failure("mistyped uid", [PFILE, "item 1", "field pair_uid", "expected a string, got a number"],
                   pairs_text=mutate(lambda it: it[1].__setitem__("pair_uid", 7)))
    expect_failure("mistyped content", [PFILE, "item 0", "field conversation_input[0].content", "expected a string"],
                   pairs_text=mutate(lambda it: it[0]["conversation_input"][0].__setitem__("content", None)))
    expect_failure("bad role", [PFILE, "field conversation_input[0].role", "robot"],
                   pairs_text=mutate(lambda it: it[0]["conversation_input"][0].__setitem__("role", "robot")))
    expect_failure("empty conversation", [PFILE, "item 0", "field conversation_input", "empty"],
                   pairs_text=mutate(lambda it: it[0].__setitem__("conversation_input", [])))
    empty_losers = bon("5")
    empty_losers["loser_list"] = []
    expect_failure("empty loser_list", [BFILE, "item 0", "bon_uid 5", "field loser_list", "empty"],
                   bon_text=json.dumps([empty_losers]).encode())
    bad_loser = bon("5")
    bad_loser["loser_list"][1]["answer"] = 3
    expect_failure("mistyped loser", [BFILE, "field loser_list[1].answer", "expected a string"],
                   bon_text=json.dumps([bad_loser]).encode())
    expect_failure("duplicate uid", [PFILE, "item 1", "field pair_uid", "duplicate", "item 0"],
                   pairs_text=json.dumps([pair("4"), pair("4")]).encode())
    expect_failure("duplicate key", [PFILE, "field chosen", "twice"],
                   pairs_text=b'[{"pair_uid":"0","chosen":{"llm_name":"a","answer":"b"},"chosen":{}}]')
    expect_failure("category mismatch", [PFILE, "field category_path", "does not match"],
                   pairs_text=mutate(lambda it: it[0].__setitem__("category_path", "Pairwise_set/Helpfulness/Code/X")))
    text = json.dumps([pair("0", chosen="caf\u00e9")], ensure_ascii=False).encode().replace("é".encode(), b"\xff\xfe")
    expect_failure("invalid UTF-8", [PFILE, "invalid JSON", "UTF8"], pairs_text=text)
    # An unreadable file: a dangling symlink where a scenario file should be.
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        write_dataset(data)
        os.symlink("/nonexistent/target", os.path.join(data, "Pairwise_set", "Helpfulness", "Chat", "Gone.json"))
        p = subprocess.run([RMB, "eval", "--model", "length", "--data", data, "--out", os.path.join(tmp, "o"), "-q"],
                           capture_output=True, text=True)
        check(p.returncode == 1 and "Gone.json" in p.stderr, f"unreadable file: {p.returncode} {p.stderr}")
        check(not os.path.exists(os.path.join(tmp, "o")), "unreadable file: no output")


def results_file(records):
    return [("r.jsonl", "\n".join(json.dumps(r) for r in records).encode())]


def test_results_errors():
    good = {"pair_uid": "0", "category_path": "Pairwise_set/Helpfulness/Chat/Discussion", "chosen_reward": 1.0,
            "reject_reward": 0.5}
    cases = [
        ("missing reward", [dict(good, pair_uid="1", chosen_reward=None) | {}], ["record 1", "uid 1", "field chosen_reward", "expected a number"]),
        ("string reward", [dict(good, pair_uid="1", reject_reward="0.3")], ["record 1", "field reject_reward", "expected a number"]),
        ("duplicate uid", [dict(good)], ["record 1", "uid 0", "duplicate"]),
        ("empty losers", [{"bon_uid": "0", "category_path": "BoN_set/Harmlessness/S1", "best_reward": 1, "loser_rewards": []}],
         ["record 1", "field loser_rewards", "empty"]),
        ("bad loser", [{"bon_uid": "0", "category_path": "BoN_set/Harmlessness/S1", "best_reward": 1, "loser_rewards": [1, "x"]}],
         ["record 1", "field loser_rewards[1]"]),
        ("no uid", [{"category_path": "x", "chosen_reward": 1}], ["record 1", "neither pair_uid nor bon_uid"]),
        ("loser count vs dataset", [{"bon_uid": "0", "category_path": "BoN_set/Harmlessness/S1", "best_reward": 1, "loser_rewards": [0]}],
         ["record 1", "uid 0", "loser_rewards", "2 losers"]),
        ("scenario vs dataset", [dict(good, pair_uid="1", category_path="Pairwise_set/Helpfulness/Code/Documentation")],
         ["record 1", "uid 1", "category_path", "Chat/Discussion"]),
    ]
    for label, extra, needles in cases:
        recs = [good] + extra
        if label == "missing reward":
            recs[1].pop("chosen_reward")
            needles = ["record 1", "field chosen_reward", "missing"]
        expect_failure("results " + label, ["r.jsonl"] + needles, model="results:TMP/r.jsonl",
                       extra_files=results_file(recs))
    expect_failure("results malformed", ["r.jsonl", "line 2", "invalid JSON"], model="results:TMP/r.jsonl",
                   extra_files=[("r.jsonl", json.dumps(good).encode() + b"\n{bad\n")])
    expect_failure("results unreadable", ["missing.jsonl", "cannot open"], model="results:TMP/missing.jsonl")


for t in (test_dataset_errors, test_results_errors):
    before = len(failures)
    t()
    print(f"{t.__name__}: {'ok' if len(failures) == before else 'FAILED'}")
sys.exit(1 if failures else 0)
