/* Per-item results files, in the original RMB harness's format:
 *   pairwise: {pair_uid, category_path, chosen_reward, reject_reward, is_correct}
 *   Best-of-N: {bon_uid, category_path, best_reward, loser_rewards: [...], is_correct}
 * rmb eval writes them (pairwise.json, bon.json) and reads them back as a
 * scorer-free source of outcomes (--model results:FILE). */
#ifndef RMB_EVAL_RECORDS_H
#define RMB_EVAL_RECORDS_H

#include "common/arena.h"
#include "rmb/metrics.h"

#include <stdio.h>

typedef struct rmb_records {
    rmb_item *items;
    rmb_outcome *outcomes; /* one per item, scores in the arena */
    size_t n;
    size_t is_correct_mismatches; /* stored is_correct that disagrees with the rewards */
    rmb_arena arena;
} rmb_records;

/* Reads a JSON array or JSONL file of records, keeping those whose
 * category_path the subset selects.  Pairwise and Best-of-N records may be
 * mixed in any order.  Fails on the first bad record, naming file, record
 * (index and uid) and field; a duplicate uid is an error too. */
rmb_status rmb_records_read(rmb_records *r, const char *path, const rmb_subset *subset,
                            const rmb_context *ctx, rmb_error *err);
/* The same from text in memory (len bytes, NUL-terminated); path names it. */
rmb_status rmb_records_parse(rmb_records *r, const char *path, const char *text, size_t len,
                             const rmb_subset *subset, rmb_error *err);
void rmb_records_free(rmb_records *r);

/* Writes the records of one set (pairwise or Best-of-N) as a JSON array, one
 * record per line, in the order given. */
rmb_status rmb_records_write(FILE *fp, rmb_set set, const rmb_outcome *outcomes, size_t n,
                             const char *path, rmb_error *err);

#endif
