"""An independent re-implementation of rmb compare's statistics (docs/report.md),
standard library only: the items every run scored, in dataset order; clusters
= distinct conversations numbered by first appearance; splitmix64 draws of
clusters with replacement; percentile intervals (type 7) and paired p-values
against each group's best run."""
import math

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def quantile7(values, p):
    v = sorted(x for x in values if not math.isnan(x))
    if not v:
        return None
    h = (len(v) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def paired_p(best, other):
    pairs = [(a, b) for a, b in zip(best, other) if not (math.isnan(a) or math.isnan(b))]
    if not pairs:
        return None
    le = sum(1 for a, b in pairs if a - b <= 0)
    ge = sum(1 for a, b in pairs if a - b >= 0)
    return min(1.0, 2.0 * min(le, ge) / len(pairs))


SET_KEYS = [("helpfulness", "pairwise"), ("helpfulness", "bon"), ("harmlessness", "pairwise"), ("harmlessness", "bon")]


def group_keys(path, set_name):
    """The (kind, key) groups an item counts in, besides overall."""
    parts = path.split("/")
    goal = parts[1].lower()
    keys = [("set", goal + "/" + set_name)]
    if goal == "helpfulness" and len(parts) >= 4:
        keys.append(("category", (set_name, parts[2])))
    keys.append(("scenario", path))
    return keys


def leaderboard(items, correct, replicates, seed):
    """items: [(set, path, conversation_key)] aligned; correct[r][i]: bool.
    Returns {group id: {"total", "acc": [per run], "ci": [(lo, hi)], "p": [...], "best": r}}."""
    n_runs = len(correct)
    cluster_of, clusters = {}, []
    members = []
    for i, (s, path, conv) in enumerate(items):
        if conv not in cluster_of:
            cluster_of[conv] = len(clusters)
            clusters.append(conv)
            members.append([])
        members[cluster_of[conv]].append(i)
    item_groups = [group_keys(path, s) for s, path, _ in items]
    every_set = {("set", goal + "/" + st) for goal, st in SET_KEYS}  # present even when empty
    groups = sorted({g for gs in item_groups for g in gs} | every_set,
                    key=lambda g: (["set", "category", "scenario"].index(g[0]),
                                   SET_KEYS.index(tuple(g[1].split("/"))) if g[0] == "set"
                                   else (g[1][0] != "pairwise", g[1][1].encode()) if g[0] == "category"
                                   else g[1].encode()))

    def accuracies(weights):
        """weights: per item multiplicity.  Returns {group: [acc per run]} with overall."""
        tot, cor = {}, {}
        for i, w in weights.items():
            for g in item_groups[i]:
                tot[g] = tot.get(g, 0) + w
                c = cor.setdefault(g, [0] * n_runs)
                for r in range(n_runs):
                    c[r] += w * correct[r][i]
        acc = {g: [cor[g][r] / tot[g] for r in range(n_runs)] if tot.get(g) else [math.nan] * n_runs
               for g in groups}
        overall = []
        for r in range(n_runs):
            s = 0.0
            for goal, st in SET_KEYS:
                s += acc.get(("set", goal + "/" + st), [math.nan] * n_runs)[r]
            overall.append(s / 4)
        acc[("overall", "overall")] = overall
        return acc, tot

    point, totals = accuracies({i: 1 for i in range(len(items))})
    rng = SplitMix64(seed)
    k = len(clusters)
    reps = {g: [[] for _ in range(n_runs)] for g in point}
    for _ in range(replicates):
        weights = {}
        for _ in range(k):
            c = rng.next() % k
            for i in members[c]:
                weights[i] = weights.get(i, 0) + 1
        acc, _ = accuracies(weights)
        for g in point:
            for r in range(n_runs):
                reps[g][r].append(acc[g][r] if g in acc else math.nan)
    out = {}
    for g, accs in point.items():
        best = None
        for r, a in enumerate(accs):
            if not math.isnan(a) and (best is None or a > accs[best]):
                best = r
        out[g] = {
            "total": totals.get(g, 0) if g[0] != "overall" else len(items),
            "acc": accs,
            "ci": [(quantile7(reps[g][r], 0.025), quantile7(reps[g][r], 0.975)) for r in range(n_runs)],
            "p": [None if best is None or r == best else paired_p(reps[g][best], reps[g][r]) for r in range(n_runs)],
            "best": best,
        }
    return out, len(clusters)
