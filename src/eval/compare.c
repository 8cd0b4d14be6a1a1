/* The leaderboard's numbers: groups, point accuracies, cluster-bootstrap
 * intervals and paired p-values against each group's best run. */
#include "eval/compare.h"

#include "eval/analysis.h"
#include "eval/bootstrap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const goal_titles[] = {"Helpfulness", "Harmlessness"};
static const char *const set_titles[] = {"pairwise", "Best-of-N"};

const char *rmb_lb_group_title(const rmb_lb_group *g, char *buf, size_t size)
{
    if (g->kind != RMB_GROUP_SET)
        return g->key;
    snprintf(buf, size, "%s %s", goal_titles[g->goal], set_titles[g->set]);
    return buf;
}

/* ---- groups ---- */

/* The third component of a path, "X_set/Helpfulness/<Category>/<Scenario>";
 * false when the path has fewer than four. */
static bool category_of(const char *path, const char **start, size_t *len)
{
    const char *slash[3];
    int n = 0;
    for (const char *p = path; *p && n < 3; p++)
        if (*p == '/')
            slash[n++] = p;
    if (n < 3)
        return false;
    *start = slash[1] + 1;
    *len = (size_t)(slash[2] - *start);
    return true;
}

static int compare_groups(const void *a, const void *b)
{
    const rmb_lb_group *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    if (x->kind == RMB_GROUP_CATEGORY && x->set != y->set)
        return (int)x->set - (int)y->set;
    if (x->kind == RMB_GROUP_SET)
        return (int)(x->goal * 2 + x->set) - (int)(y->goal * 2 + y->set);
    return strcmp(x->key, y->key);
}

/* The group of (kind, set, key) in the sorted groups, or SIZE_MAX. */
static size_t group_index(const rmb_leaderboard *lb, rmb_group_kind kind, rmb_set set, rmb_goal goal, const char *key)
{
    rmb_lb_group probe = {(char *)key, kind, set, goal, 0, 0};
    const rmb_lb_group *g = bsearch(&probe, lb->groups, lb->n_groups, sizeof probe, compare_groups);
    return g ? (size_t)(g - lb->groups) : SIZE_MAX;
}

static bool add_group(rmb_leaderboard *lb, size_t *cap, rmb_group_kind kind, const rmb_item *it, const char *key,
                      size_t len)
{
    for (size_t g = lb->n_groups; g-- > 0;) { /* items come grouped: look back */
        const rmb_lb_group *x = &lb->groups[g];
        if (x->kind == kind && x->set == it->set && strlen(x->key) == len && !strncmp(x->key, key, len))
            return true;
    }
    if (lb->n_groups == *cap) {
        rmb_lb_group *grown = realloc(lb->groups, (*cap = *cap * 2 + 8) * sizeof *grown);
        if (!grown)
            return false;
        lb->groups = grown;
    }
    rmb_lb_group *g = &lb->groups[lb->n_groups];
    *g = (rmb_lb_group){strndup(key, len), kind, it->set, it->goal, 0, SIZE_MAX};
    lb->n_groups += g->key != NULL;
    return g->key != NULL;
}

static const char *const set_keys[] = {"helpfulness/pairwise", "helpfulness/bon", "harmlessness/pairwise",
                                       "harmlessness/bon"};

static bool make_groups(rmb_leaderboard *lb)
{
    size_t cap = 0;
    rmb_item fake = {0};
    bool ok = add_group(lb, &cap, RMB_GROUP_OVERALL, &fake, "overall", 7);
    for (int k = 0; ok && k < 4; k++) {
        fake.goal = (rmb_goal)(k / 2);
        fake.set = (rmb_set)(k % 2);
        ok = add_group(lb, &cap, RMB_GROUP_SET, &fake, set_keys[k], strlen(set_keys[k]));
    }
    for (size_t i = 0; ok && i < lb->rs.n_items; i++) {
        const rmb_item *it = lb->rs.items[i];
        const char *cat;
        size_t len;
        ok = add_group(lb, &cap, RMB_GROUP_SCENARIO, it, it->category_path, strlen(it->category_path));
        if (ok && it->goal == RMB_GOAL_HELPFULNESS && category_of(it->category_path, &cat, &len))
            ok = add_group(lb, &cap, RMB_GROUP_CATEGORY, it, cat, len);
    }
    if (ok)
        qsort(lb->groups, lb->n_groups, sizeof *lb->groups, compare_groups);
    return ok;
}

/* Each item's set, category (or SIZE_MAX) and scenario groups. */
static size_t *item_groups(const rmb_leaderboard *lb)
{
    size_t *ig = malloc((lb->rs.n_items * 3 + 1) * sizeof *ig);
    for (size_t i = 0; ig && i < lb->rs.n_items; i++) {
        const rmb_item *it = lb->rs.items[i];
        const char *cat;
        size_t len;
        char key[256] = "";
        if (it->goal == RMB_GOAL_HELPFULNESS && category_of(it->category_path, &cat, &len))
            snprintf(key, sizeof key, "%.*s", (int)len, cat);
        ig[i * 3] = 1 + (size_t)it->goal * 2 + (size_t)it->set;
        ig[i * 3 + 1] = *key ? group_index(lb, RMB_GROUP_CATEGORY, it->set, it->goal, key) : SIZE_MAX;
        ig[i * 3 + 2] = group_index(lb, RMB_GROUP_SCENARIO, it->set, it->goal, it->category_path);
    }
    return ig;
}

/* ---- accuracies ---- */

/* acc[g * R + r] from weighted counts: weight[i] per item (all 1 for the
 * point estimates).  Counts are integers, so every quotient is exact and
 * reproducible; overall sums the four set accuracies in group order. */
static void accuracies(const rmb_leaderboard *lb, const size_t *ig, const unsigned char *correct,
                       const uint32_t *weight, const size_t *cluster, uint64_t *c, uint64_t *t, double *acc)
{
    size_t R = lb->rs.n_runs, N = lb->rs.n_items;
    memset(c, 0, lb->n_groups * R * sizeof *c);
    memset(t, 0, lb->n_groups * sizeof *t);
    for (size_t i = 0; i < N; i++) {
        uint64_t w = weight ? weight[cluster[i]] : 1;
        if (!w)
            continue;
        for (int k = 0; k < 3; k++) {
            size_t g = ig[i * 3 + k];
            if (g == SIZE_MAX)
                continue;
            t[g] += w;
            for (size_t r = 0; r < R; r++)
                c[g * R + r] += w * correct[r * N + i];
        }
    }
    for (size_t g = 1; g < lb->n_groups; g++)
        for (size_t r = 0; r < R; r++)
            acc[g * R + r] = t[g] ? (double)c[g * R + r] / (double)t[g] : NAN;
    for (size_t r = 0; r < R; r++) {
        double sum = 0;
        for (size_t g = 1; g <= 4; g++)
            sum += acc[g * R + r];
        acc[r] = sum / 4;
    }
}

typedef struct work {
    size_t *ig;
    unsigned char *correct; /* [run * N + item] */
    uint64_t *c, *t;
    double *acc;
    double *reps;           /* [(g * R + r) * B + b] */
    uint32_t *weight;
    double *sorted;
} work;

static void work_free(work *w)
{
    free(w->ig);
    free(w->correct);
    free(w->c);
    free(w->t);
    free(w->acc);
    free(w->reps);
    free(w->weight);
    free(w->sorted);
}

static bool work_alloc(const rmb_leaderboard *lb, work *w)
{
    size_t R = lb->rs.n_runs, N = lb->rs.n_items, G = lb->n_groups, B = lb->replicates;
    w->ig = item_groups(lb);
    w->correct = malloc(R * N + 1);
    w->c = malloc((G * R + 1) * sizeof *w->c);
    w->t = malloc((G + 1) * sizeof *w->t);
    w->acc = malloc((G * R + 1) * sizeof *w->acc);
    w->reps = G * R <= SIZE_MAX / sizeof(double) / B ? malloc(G * R * B * sizeof *w->reps) : NULL;
    w->weight = malloc((lb->rs.n_clusters + 1) * sizeof *w->weight);
    w->sorted = malloc((B + 1) * sizeof *w->sorted);
    if (!(w->ig && w->correct && w->c && w->t && w->acc && w->reps && w->weight && w->sorted))
        return false;
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < N; i++)
            w->correct[r * N + i] = rmb_outcome_correct(&lb->rs.runs[r].outcomes[i]);
    return true;
}

static void point_estimates(rmb_leaderboard *lb, work *w)
{
    size_t R = lb->rs.n_runs;
    accuracies(lb, w->ig, w->correct, NULL, lb->rs.cluster, w->c, w->t, w->acc);
    for (size_t g = 0; g < lb->n_groups; g++) {
        lb->groups[g].total = g ? w->t[g] : lb->rs.n_items;
        for (size_t r = 0; r < R; r++) {
            rmb_lb_cell *cell = &lb->cells[g * R + r];
            cell->accuracy = w->acc[g * R + r];
            cell->correct = g ? w->c[g * R + r] : 0;
            if (!isnan(cell->accuracy) &&
                (lb->groups[g].best == SIZE_MAX || cell->accuracy > lb->cells[g * R + lb->groups[g].best].accuracy))
                lb->groups[g].best = r;
        }
    }
    for (size_t r = 0; r < R; r++)
        for (size_t g = 1; g <= 4; g++)
            lb->cells[r].correct += lb->cells[g * R + r].correct;
}

static void bootstrap(rmb_leaderboard *lb, work *w, const rmb_context *ctx)
{
    size_t R = lb->rs.n_runs, G = lb->n_groups, B = lb->replicates;
    rmb_rng rng = {lb->seed};
    for (size_t b = 0; b < B; b++) {
        rmb_bootstrap_draw(&rng, lb->rs.n_clusters, w->weight);
        accuracies(lb, w->ig, w->correct, w->weight, lb->rs.cluster, w->c, w->t, w->acc);
        for (size_t k = 0; k < G * R; k++)
            w->reps[k * B + b] = w->acc[k];
        if ((b + 1) % 50 == 0 || b + 1 == B)
            rmb_progress(ctx, "bootstrap", b + 1, B);
    }
    for (size_t g = 0; g < G; g++)
        for (size_t r = 0; r < R; r++) {
            rmb_lb_cell *cell = &lb->cells[g * R + r];
            const double *mine = &w->reps[(g * R + r) * B];
            size_t best = lb->groups[g].best;
            cell->p = best == SIZE_MAX || best == r ? NAN : rmb_paired_p(&w->reps[(g * R + best) * B], mine, B);
            memcpy(w->sorted, mine, B * sizeof *w->sorted);
            size_t n = rmb_sort_values(w->sorted, B);
            cell->lo = rmb_quantile_sorted(w->sorted, n, 0.025);
            cell->hi = rmb_quantile_sorted(w->sorted, n, 0.975);
        }
}

/* Competition ranking by overall accuracy (a run without one ranks last). */
static void rank_runs(rmb_leaderboard *lb)
{
    size_t R = lb->rs.n_runs;
    for (size_t r = 0; r < R; r++) {
        double mine = lb->cells[r].accuracy;
        lb->rank[r] = 1;
        for (size_t q = 0; q < R; q++) {
            double other = lb->cells[q].accuracy;
            lb->rank[r] += !isnan(other) && (isnan(mine) || other > mine);
        }
    }
    size_t n = 0;
    for (size_t k = 1; k <= R; k++)
        for (size_t r = 0; r < R; r++)
            if (lb->rank[r] == k)
                lb->order[n++] = r;
}

static bool analyse(rmb_leaderboard *lb)
{
    for (size_t r = 0; r < lb->rs.n_runs; r++) {
        /* The judge's figure covers all its judgments: the run's own. */
        double consistency = rmb_analysis_number(
            json_object_get(lb->rs.runs[r].summary, "analysis"), "position_consistency", NULL, NULL);
        lb->analysis[r] = rmb_analysis_json(lb->rs.runs[r].outcomes, lb->rs.n_items, consistency);
        if (!lb->analysis[r])
            return false;
    }
    return true;
}

rmb_status rmb_leaderboard_build(const rmb_compare_options *opt, const rmb_context *ctx,
                                 rmb_leaderboard **out, rmb_error *err)
{
    *out = NULL;
    if (opt->n_runs == 0)
        return rmb_fail(err, RMB_EUSAGE, "no runs to compare");
    rmb_leaderboard *lb = calloc(1, sizeof *lb);
    if (!lb)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    lb->replicates = opt->replicates ? opt->replicates : RMB_COMPARE_REPLICATES;
    lb->seed = opt->seed;
    rmb_status st = rmb_runset_open(&lb->rs, opt->runs, opt->n_runs, opt->data_dir, ctx, err);
    if (st != RMB_OK) {
        free(lb);
        return st;
    }
    size_t R = lb->rs.n_runs;
    work w = {0};
    bool ok = make_groups(lb) && (lb->cells = calloc(lb->n_groups * R, sizeof *lb->cells)) &&
              (lb->rank = calloc(R, sizeof *lb->rank)) && (lb->order = calloc(R, sizeof *lb->order)) &&
              (lb->analysis = calloc(R, sizeof *lb->analysis)) && work_alloc(lb, &w) && analyse(lb);
    if (ok) {
        point_estimates(lb, &w);
        bootstrap(lb, &w, ctx);
        rank_runs(lb);
    }
    work_free(&w);
    if (!ok) {
        rmb_leaderboard_free(lb);
        return rmb_fail(err, RMB_ENOMEM, "out of memory comparing %zu runs", R);
    }
    *out = lb;
    return RMB_OK;
}

void rmb_leaderboard_free(rmb_leaderboard *lb)
{
    if (!lb)
        return;
    for (size_t g = 0; g < lb->n_groups; g++)
        free(lb->groups[g].key);
    for (size_t r = 0; lb->analysis && r < lb->rs.n_runs; r++)
        json_decref(lb->analysis[r]);
    free(lb->groups);
    free(lb->cells);
    free(lb->rank);
    free(lb->order);
    free(lb->analysis);
    rmb_runset_close(&lb->rs);
    free(lb);
}
