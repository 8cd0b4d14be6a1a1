/* rmb compare and rmb report: several finished runs side by side.
 *
 * A leaderboard holds, for every run and every group of items (overall, the
 * four (goal, set) accuracies, the helpfulness categories, the scenarios),
 * the accuracy on the items all runs scored, a 95% cluster-bootstrap
 * interval (conversations resampled, since the items of one conversation are
 * correlated) and the paired bootstrap p-value against the group's best run.
 * docs/report.md defines the resampling exactly. */
#ifndef RMB_COMPARE_H
#define RMB_COMPARE_H

#include "rmb/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RMB_COMPARE_REPLICATES 1000

typedef struct rmb_compare_options {
    const char *const *runs;  /* rmb eval --out directories */
    size_t n_runs;
    const char *data_dir;     /* NULL: the first run's data, then the usual places */
    size_t replicates;        /* bootstrap replicates; 0: RMB_COMPARE_REPLICATES */
    uint64_t seed;            /* the resampling RNG's seed */
} rmb_compare_options;

typedef struct rmb_leaderboard rmb_leaderboard;

rmb_status rmb_leaderboard_build(const rmb_compare_options *opt, const rmb_context *ctx,
                                 rmb_leaderboard **out, rmb_error *err);
void rmb_leaderboard_free(rmb_leaderboard *lb);

/* The headline table (four numbers and overall per run, with intervals) as
 * text the caller frees; NULL when out of memory. */
char *rmb_leaderboard_table(const rmb_leaderboard *lb);

/* Writes leaderboard.json, leaderboard.md and rm_rank.json (the original
 * harness's ranking: {model: {"ACC", "rank"}}) into dir, all or nothing. */
rmb_status rmb_leaderboard_write(const rmb_leaderboard *lb, const char *dir, rmb_error *err);

/* Writes the self-contained HTML report to path (atomically). */
rmb_status rmb_report_write(const rmb_leaderboard *lb, const char *path, rmb_error *err);

#ifdef __cplusplus
}
#endif
#endif
