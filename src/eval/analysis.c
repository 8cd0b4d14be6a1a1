#include "eval/analysis.h"

#include "eval/bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const goal_names[] = {"helpfulness", "harmlessness"};
static const char *const set_names[] = {"pairwise", "bon"};

static json_t *rate_json(size_t part, size_t total)
{
    return total ? json_real((double)part / (double)total) : json_null();
}

/* ---- tie rate ---- */

static bool tied(const rmb_outcome *o)
{
    double best = o->scores[1];
    for (size_t a = 2; a < o->item->n_answers; a++)
        if (o->scores[a] > best)
            best = o->scores[a];
    return o->scores[0] == best;
}

static json_t *tie_rate_json(const rmb_outcome *o, size_t n)
{
    size_t ties[2][2] = {{0}}, total[2][2] = {{0}}, all_ties = 0;
    for (size_t i = 0; i < n; i++) {
        bool t = tied(&o[i]);
        ties[o[i].item->goal][o[i].item->set] += t;
        total[o[i].item->goal][o[i].item->set]++;
        all_ties += t;
    }
    json_t *j = json_pack("{s:o}", "all", rate_json(all_ties, n));
    for (int g = 0; g < 2; g++)
        json_object_set_new(j, goal_names[g], json_pack("{s:o, s:o}", set_names[0], rate_json(ties[g][0], total[g][0]),
                                                        set_names[1], rate_json(ties[g][1], total[g][1])));
    return j;
}

/* ---- length bias ---- */

enum { LONGER, SHORTER, OTHER };
static const char *const length_groups[] = {"longer", "shorter", "other"};

typedef struct length_counts {
    size_t correct[3], total[3];
} length_counts;

static size_t codepoints(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* LONGER, SHORTER or OTHER; -1 when an answer text is unknown. */
static int length_group(const rmb_item *it)
{
    if (!it->answers)
        return -1;
    for (size_t a = 0; a < it->n_answers; a++)
        if (!it->answers[a].text)
            return -1;
    size_t pref = codepoints(it->answers[0].text);
    bool longest = true, shortest = true;
    for (size_t a = 1; a < it->n_answers; a++) {
        size_t len = codepoints(it->answers[a].text);
        longest &= pref > len;
        shortest &= pref < len;
    }
    return longest ? LONGER : shortest ? SHORTER : OTHER;
}

static json_t *length_counts_json(const length_counts *c)
{
    json_t *j = json_object();
    size_t all = 0;
    for (int k = 0; k < 3; k++) {
        all += c->total[k];
        json_object_set_new(j, length_groups[k],
                            json_pack("{s:o, s:I, s:I}", "accuracy", rate_json(c->correct[k], c->total[k]),
                                      "correct", (json_int_t)c->correct[k], "total", (json_int_t)c->total[k]));
    }
    json_object_set_new(j, "length_baseline_accuracy", rate_json(c->total[LONGER], all));
    return j;
}

static json_t *length_bias_json(const rmb_outcome *o, size_t n)
{
    length_counts all = {{0}, {0}}, per[2][2];
    memset(per, 0, sizeof per);
    for (size_t i = 0; i < n; i++) {
        int k = length_group(o[i].item);
        if (k < 0)
            return json_null();
        bool ok = rmb_outcome_correct(&o[i]);
        length_counts *c = &per[o[i].item->goal][o[i].item->set];
        c->correct[k] += ok;
        c->total[k]++;
        all.correct[k] += ok;
        all.total[k]++;
    }
    json_t *j = json_pack("{s:o}", "all", length_counts_json(&all));
    for (int g = 0; g < 2; g++)
        json_object_set_new(j, goal_names[g], json_pack("{s:o, s:o}", set_names[0], length_counts_json(&per[g][0]),
                                                        set_names[1], length_counts_json(&per[g][1])));
    return j;
}

/* ---- score distribution ---- */

static json_t *number_json(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* v[0..n) sorted finite scores; bins over [lo, hi]. */
static json_t *distribution_json(const double *v, size_t n, double lo, double hi)
{
    if (!n)
        return json_pack("{s:i}", "count", 0);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sq += (v[i] - mean) * (v[i] - mean);
    json_t *bins = json_array();
    size_t counts[RMB_ANALYSIS_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        double pos = hi > lo ? (v[i] - lo) / (hi - lo) * RMB_ANALYSIS_BINS : 0;
        size_t b = (size_t)pos;
        counts[b < RMB_ANALYSIS_BINS ? b : RMB_ANALYSIS_BINS - 1]++;
    }
    for (int b = 0; b < RMB_ANALYSIS_BINS; b++)
        json_array_append_new(bins, json_integer((json_int_t)counts[b]));
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "count", (json_int_t)n,
                     "mean", number_json(mean), "sd", number_json(sqrt(sq / (double)n)), "min", json_real(v[0]),
                     "p05", json_real(rmb_quantile_sorted(v, n, 0.05)), "p25",
                     json_real(rmb_quantile_sorted(v, n, 0.25)), "p50", json_real(rmb_quantile_sorted(v, n, 0.5)),
                     "p75", json_real(rmb_quantile_sorted(v, n, 0.75)), "p95",
                     json_real(rmb_quantile_sorted(v, n, 0.95)), "max", json_real(v[n - 1]), "histogram", bins);
}

/* Finite scores of one goal: preferred ones (kind 0) or the others (1). */
static size_t collect(const rmb_outcome *o, size_t n, int goal, int kind, double *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if ((int)o[i].item->goal != goal)
            continue;
        for (size_t a = kind ? 1 : 0; a < (kind ? o[i].item->n_answers : 1); a++)
            if (isfinite(o[i].scores[a]))
                out[m++] = o[i].scores[a];
    }
    return rmb_sort_values(out, m);
}

static json_t *score_distribution_json(const rmb_outcome *o, size_t n)
{
    size_t n_scores = 1;
    for (size_t i = 0; i < n; i++)
        n_scores += o[i].item->n_answers;
    double *v[2] = {malloc(n_scores * sizeof(double)), malloc(n_scores * sizeof(double))};
    json_t *j = v[0] && v[1] ? json_object() : NULL;
    for (int g = 0; j && g < 2; g++) {
        size_t m[2] = {collect(o, n, g, 0, v[0]), collect(o, n, g, 1, v[1])};
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < 2; k++)
            if (m[k]) {
                lo = fmin(lo, v[k][0]);
                hi = fmax(hi, v[k][m[k] - 1]);
            }
        json_object_set_new(j, goal_names[g],
                            json_pack("{s:o, s:o, s:o, s:o}", "preferred", distribution_json(v[0], m[0], lo, hi),
                                      "other", distribution_json(v[1], m[1], lo, hi), "bins_min",
                                      number_json(lo), "bins_max", number_json(hi)));
    }
    free(v[0]);
    free(v[1]);
    return j;
}

json_t *rmb_analysis_json(const rmb_outcome *outcomes, size_t n, double position_consistency)
{
    json_t *dist = score_distribution_json(outcomes, n);
    if (!dist)
        return NULL;
    return json_pack("{s:o, s:o, s:o, s:o}", "tie_rate", tie_rate_json(outcomes, n), "length_bias",
                     length_bias_json(outcomes, n), "score_distribution", dist, "position_consistency",
                     number_json(position_consistency));
}

double rmb_analysis_number(const json_t *j, const char *k0, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(j, k0);
    if (k1)
        v = json_object_get(v, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_is_number(v) ? json_number_value(v) : NAN;
}
