/* The scoring plan: the distinct sequences behind a set of items.
 *
 * The same (conversation, answer) appears in many items (every Best-of-N
 * answer is also in a pair, and pairs repeat), so each distinct sequence is
 * scored once and every item reads its answers' scores from that table.
 * Sequences are ordered by conversation so that the answers of one
 * conversation reach a scorer together (shared prefixes). */
#ifndef RMB_EVAL_PLAN_H
#define RMB_EVAL_PLAN_H

#include "rmb/dataset.h"
#include "rmb/scorer.h"

typedef struct rmb_plan {
    rmb_sequence *sequences;
    size_t n_sequences;
    size_t *answer_sequence; /* answer j of item i: answer_sequence[first_answer[i] + j] */
    size_t *first_answer;
    size_t n_answers;        /* the naive plan: one sequence per (item, answer) */
} rmb_plan;

rmb_status rmb_plan_build(rmb_plan *plan, const rmb_dataset *ds, const rmb_item *items, size_t n,
                          rmb_error *err);
void rmb_plan_free(rmb_plan *plan);

/* Judges compare answers instead: the distinct (conversation, preferred,
 * other) triples, one per dispreferred answer of each item. */
typedef struct rmb_comparison_plan {
    rmb_comparison *comparisons;
    size_t n_comparisons;
    size_t *item_comparison; /* answer j>=1 of item i: item_comparison[first[i] + j - 1] */
    size_t *first;
    size_t n_naive;
} rmb_comparison_plan;

rmb_status rmb_comparison_plan_build(rmb_comparison_plan *plan, const rmb_dataset *ds,
                                     const rmb_item *items, size_t n, rmb_error *err);
void rmb_comparison_plan_free(rmb_comparison_plan *plan);

#endif
