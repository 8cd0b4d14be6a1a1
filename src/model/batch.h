/* Scoring many sequences in few passes: sequences that share leading ids
 * (one conversation's answers) run the shared prefix once, identical
 * sequences run once, and short ones are packed together into passes of at
 * most a token budget, so that the GEMMs stay large and memory stays flat. */
#ifndef RMB_MODEL_BATCH_H
#define RMB_MODEL_BATCH_H

#include "model/backend.h"

/* A sequence as the network sees it: ids[0..n) then, when extra >= 0, the
 * token extra (InternLM2's reward token). */
typedef struct rmb_seq {
    const int32_t *ids;
    size_t n;
    int32_t extra;
} rmb_seq;

/* Counts of the plan, for benches: rows computed vs the sum of lengths. */
typedef struct rmb_batch_stats {
    size_t tokens, rows, passes;
} rmb_batch_stats;

/* What scores a batch: the network, the backend that runs its layers and
 * the host's kernel set, which its head computes with. */
typedef struct rmb_engine {
    const rmb_net *net;
    rmb_backend *backend;
    const struct rmb_kernels *host;
} rmb_engine;

/* An open model's engine, for what drives the backend beyond scoring (a
 * language-model head's logprobs; tests/model/test_logprobs.c). */
const rmb_engine *rmb_model_engine(const rmb_model *m);

/* Scores seq[0..count): n_labels outputs each to scores, and item_err[i]
 * per sequence (an invalid one fails alone).  budget: most rows per pass,
 * unless one sequence is longer.  Fails as a whole only for lack of memory
 * (or when the backend fails).  stats may be NULL. */
rmb_status rmb_batch_score(const rmb_engine *eng, const rmb_seq *seq, size_t count,
                           size_t budget, float *scores, rmb_error *item_err,
                           rmb_batch_stats *stats, rmb_error *err);

#endif
