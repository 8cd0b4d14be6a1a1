/* The leaderboard's insides, shared by its writers (compare.c, report.c). */
#ifndef RMB_EVAL_COMPARE_H
#define RMB_EVAL_COMPARE_H

#include "eval/runset.h"
#include "rmb/compare.h"

typedef enum rmb_group_kind {
    RMB_GROUP_OVERALL,
    RMB_GROUP_SET,      /* (goal, set): index 1 + goal * 2 + set */
    RMB_GROUP_CATEGORY, /* a helpfulness category within a set */
    RMB_GROUP_SCENARIO  /* a category_path */
} rmb_group_kind;

typedef struct rmb_lb_group {
    char *key;     /* "overall", "helpfulness/pairwise", "Code", or the category_path */
    rmb_group_kind kind;
    rmb_set set;
    rmb_goal goal;
    size_t total;  /* items */
    size_t best;   /* the run with the highest accuracy (first of equals); SIZE_MAX if none */
} rmb_lb_group;

typedef struct rmb_lb_cell {
    double accuracy; /* NaN when the group is empty (overall: when a set is) */
    size_t correct;
    double lo, hi;   /* the 95% percentile interval */
    double p;        /* paired p-value against the group's best run; NaN for the best */
} rmb_lb_cell;

struct rmb_leaderboard {
    rmb_runset rs;
    size_t replicates;
    uint64_t seed;
    rmb_lb_group *groups; /* overall, the four sets, categories by (set, key), scenarios by path */
    size_t n_groups;
    rmb_lb_cell *cells;   /* [group * n_runs + run] */
    size_t *rank;         /* per run: 1 + the runs with a higher overall accuracy */
    size_t *order;        /* runs by rank, then as given */
    json_t **analysis;    /* per run, on the compared items (eval/analysis.h) */
};

static inline const rmb_lb_cell *rmb_lb_cell_at(const rmb_leaderboard *lb, size_t g, size_t r)
{
    return &lb->cells[g * lb->rs.n_runs + r];
}

/* "Helpfulness pairwise" for a set group, else the key. */
const char *rmb_lb_group_title(const rmb_lb_group *g, char *buf, size_t size);

#endif
