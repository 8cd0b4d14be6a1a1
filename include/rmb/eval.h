/* rmb eval: the benchmark end to end.
 *
 * Loads the data (or a results file), scores every distinct sequence once
 * through the scorer named by the model spec, computes the RMB metrics and
 * writes the run's files into the output directory:
 *   pairwise.json, bon.json  per-item records (the original harness's format)
 *   summary.json, summary.md the metrics, coverage and configuration
 *   run.json                 how this process got its values (store, reuse, shard)
 * and keeps every score in the run store (rmb/store.h; default
 * <out>/store.sqlite) as it is computed, so that a rerun resumes.  The four
 * result files appear only when everything succeeded (all-or-nothing) and
 * are the same bytes however the scores were obtained (resumed, merged),
 * but for summary.json's scorer_report: the scorer's account of the work
 * this process did. */
#ifndef RMB_EVAL_H
#define RMB_EVAL_H

#include "rmb/dataset.h"
#include "rmb/metrics.h"
#include "rmb/scorer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rmb_eval_options {
    const char *model;        /* --model: a scorer spec, or "results:FILE" */
    const char *data_dir;     /* --data; NULL: $RMB_DATA, ./RMB_dataset, ../shared/RMB_dataset */
    rmb_subset subset;        /* --subset patterns (none: everything) */
    const char *out_dir;      /* --out; NULL: results/<scorer name> */
    rmb_scorer_options scorer; /* passed to the scorer (artifacts_dir is set to the out dir) */
    const char *store_path;   /* --store: the run store (rmb/store.h); NULL: <out>/store.sqlite */
    int fresh;                /* --fresh: reuse nothing from the store (new scores replace old) */
    int shard_index;          /* --shard I/N: score only shard I (1..N) of the distinct */
    int shard_count;          /* sequences into the store; writes run.json only; 0 = unsharded */
    const char *const *merge_stores; /* rmb merge: the shards' store files, copied into */
    size_t n_merge_stores;           /* this run's store; nothing is scored */
} rmb_eval_options;

typedef struct rmb_eval_result rmb_eval_result;

rmb_status rmb_eval_run(const rmb_eval_options *opt, const rmb_context *ctx, rmb_eval_result **out,
                        rmb_error *err);
void rmb_eval_result_free(rmb_eval_result *r);

/* The headline table (four numbers, overall, counts, coverage) as text. */
const char *rmb_eval_result_table(const rmb_eval_result *r);
/* Where the run's files were written. */
const char *rmb_eval_result_out_dir(const rmb_eval_result *r);
const rmb_metrics *rmb_eval_result_metrics(const rmb_eval_result *r);

#ifdef __cplusplus
}
#endif
#endif
