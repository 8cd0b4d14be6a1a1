/* Constructors of the scorer backends, looked up by rmb_scorer_open. */
#ifndef RMB_SCORE_BACKENDS_H
#define RMB_SCORE_BACKENDS_H

#include "rmb/scorer.h"

/* arg is the part of the spec after "name:" (NULL when there is none). */
typedef rmb_status (*rmb_scorer_open_fn)(rmb_scorer **out, const char *spec, const char *arg,
                                         const rmb_scorer_options *opt, rmb_error *err);

rmb_status rmb_length_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err);
rmb_status rmb_random_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err);
/* Remote scorers (docs/remote.md): vllm:URL[#MODEL], sglang:URL[#MODEL], judge:URL#MODEL. */
rmb_status rmb_vllm_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                const rmb_scorer_options *opt, rmb_error *err);
rmb_status rmb_sglang_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err);
rmb_status rmb_judge_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                 const rmb_scorer_options *opt, rmb_error *err);

/* The native engine on a Hugging Face checkpoint directory (spec = the
 * directory; docs/native-engine.md). */
rmb_status rmb_native_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err);

/* Allocates a scorer with the common fields set; NULL when out of memory. */
rmb_scorer *rmb_scorer_new(size_t size, const rmb_scorer_ops *ops, const char *name,
                           const char *fingerprint, size_t batch_size);
/* Frees the common fields and s itself (for a backend's destroy). */
void rmb_scorer_free(rmb_scorer *s);

#endif
