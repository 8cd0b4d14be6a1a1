/* The run's summary: coverage, summary.json, summary.md and the headline
 * table printed by rmb eval. */
#ifndef RMB_EVAL_SUMMARY_H
#define RMB_EVAL_SUMMARY_H

#include "rmb/metrics.h"
#include "rmb/scorer.h"

typedef struct rmb_coverage {
    size_t pairs, pairs_published;
    size_t bon, bon_published;
    const char **missing; /* published scenarios (in the selection) with no items */
    size_t n_missing;
} rmb_coverage;

/* What the summary says about how the numbers were made. */
typedef struct rmb_run_info {
    const char *model;        /* the --model spec */
    const char *scorer_name;
    const char *data_dir;     /* NULL when no dataset was loaded */
    const rmb_subset *subset;
    const rmb_scorer_options *options; /* NULL for results files */
    size_t naive_sequences;   /* (item, answer) pairs, or comparisons for judges */
    size_t distinct_sequences;
    const char *scorer_report; /* JSON object text, or NULL */
    const char *results_file;  /* for results:FILE runs */
    size_t unknown_uids;       /* results records the dataset lacks */
    size_t is_correct_mismatches;
    const rmb_outcome *outcomes; /* the scored items, for the analyses (eval/analysis.h); */
    size_t n_outcomes;           /* NULL: summary.json has no "analysis" */
    size_t both_orders_parsed;   /* judges: comparisons with a verdict in both orders, */
    size_t position_consistent;  /* and those whose orders agreed (0, 0 otherwise) */
} rmb_run_info;

/* missing is malloc'ed (pointing at static strings): free it. */
rmb_status rmb_coverage_compute(const rmb_metrics *m, const rmb_subset *subset, rmb_coverage *c,
                                rmb_error *err);

/* Each returns text the caller frees, or NULL when out of memory. */
char *rmb_summary_json(const rmb_metrics *m, const rmb_coverage *c, const rmb_run_info *info);
char *rmb_summary_markdown(const rmb_metrics *m, const rmb_coverage *c, const rmb_run_info *info);
char *rmb_summary_table(const rmb_metrics *m, const rmb_coverage *c, const rmb_run_info *info);

#endif
