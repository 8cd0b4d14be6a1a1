/* The RMB metrics, exactly as the reference harness computes them:
 * - a pairwise item is correct iff score(chosen) > score(rejected), strictly;
 * - a Best-of-N item is correct iff score(best) > score(l) for every loser l;
 * - a set's accuracy within a goal pools its items over all scenarios;
 * - overall is the plain mean of the four (goal, set) accuracies. */
#ifndef RMB_METRICS_H
#define RMB_METRICS_H

#include "rmb/dataset.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An item with one score per answer (scores[0] the preferred answer's). */
typedef struct rmb_outcome {
    const rmb_item *item;
    const double *scores;
} rmb_outcome;

typedef struct rmb_count {
    size_t correct;
    size_t total;
    size_t ties; /* items whose preferred answer only tied the best other one */
} rmb_count;

/* correct / total, or NaN when total is 0. */
double rmb_count_accuracy(rmb_count c);

bool rmb_outcome_correct(const rmb_outcome *o);

/* One row of a breakdown: a scenario (key = category_path) or a helpfulness
 * category (key = e.g. "Code"). */
typedef struct rmb_breakdown {
    char *key;
    rmb_set set;
    rmb_goal goal;
    rmb_count count;
} rmb_breakdown;

typedef struct rmb_metrics {
    rmb_count sets[2][2];      /* [rmb_goal][rmb_set] */
    double overall;            /* NaN unless all four sets have items */
    rmb_breakdown *scenarios;  /* sorted by category_path */
    size_t n_scenarios;
    rmb_breakdown *categories; /* helpfulness categories, sorted by (set, key) */
    size_t n_categories;
} rmb_metrics;

rmb_status rmb_metrics_compute(const rmb_outcome *outcomes, size_t n, rmb_metrics *m,
                               rmb_error *err);
void rmb_metrics_free(rmb_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
