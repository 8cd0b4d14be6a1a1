/* Several finished runs (rmb eval --out directories) with their items lined
 * up: the items every run scored, in the dataset's order, each with its
 * conversation cluster, and each run's scores for them.
 *
 * A run directory holds summary.json, pairwise.json and bon.json.  The
 * dataset (for conversations and answer texts) is found as rmb eval finds
 * it, trying the first run's recorded data directory before the defaults;
 * without one, every item is its own cluster and lengths are unknown. */
#ifndef RMB_EVAL_RUNSET_H
#define RMB_EVAL_RUNSET_H

#include "eval/records.h"

#include <jansson.h>

typedef struct rmb_run_entry {
    char *dir;
    char *label;          /* the model spec, made unique with the directory */
    json_t *summary;      /* its summary.json */
    rmb_records records[2]; /* [rmb_set] */
    rmb_outcome *outcomes; /* one per runset item: the runset's item, this run's scores */
} rmb_run_entry;

typedef struct rmb_runset {
    rmb_run_entry *runs;
    size_t n_runs;
    const rmb_item **items; /* dataset items where known, else the first run's records */
    size_t n_items;
    size_t *cluster;        /* per item: clusters numbered by first appearance */
    size_t n_clusters;
    size_t dropped;         /* items some runs lack (left out of the comparison) */
    rmb_dataset *ds;        /* NULL when no dataset was found */
    char *data_dir;
} rmb_runset;

/* data_dir NULL: the first run's "data", then the defaults. */
rmb_status rmb_runset_open(rmb_runset *rs, const char *const *dirs, size_t n_dirs,
                           const char *data_dir, const rmb_context *ctx, rmb_error *err);
void rmb_runset_close(rmb_runset *rs);

#endif
