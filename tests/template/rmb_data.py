"""The RMB dataset read directly (no rmb code), for the oracle tests: its
distinct conversations (role and content only, as rmb_message holds them)
and the answers of each item."""
import glob
import json
import os


def load(data_dir, every=1):
    """Returns [(messages, [answer, ...])], one entry per item; every > 1
    keeps one item in `every` (a deterministic sample)."""
    files = sorted(glob.glob(os.path.join(data_dir, "**", "*.json"), recursive=True))
    if not files:
        raise SystemExit(f"no dataset under {data_dir}")
    items = []
    k = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            for item in json.load(f):
                k += 1
                if (k - 1) % every:
                    continue
                messages = [{"role": m["role"], "content": m["content"]}
                            for m in item["conversation_input"]]
                if "chosen" in item:
                    answers = [item["chosen"]["answer"], item["reject"]["answer"]]
                else:
                    answers = [item["bon_best"]["answer"]] + [a["answer"] for a in item["loser_list"]]
                items.append((messages, answers))
    return items


def conversations(items):
    """Distinct conversations, in first-seen order."""
    seen = {}
    for messages, _ in items:
        seen.setdefault(json.dumps(messages, ensure_ascii=False), messages)
    return list(seen.values())
