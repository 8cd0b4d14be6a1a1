/* The scorer seam: everything that turns (conversation, answer) sequences
 * into scalar rewards implements rmb_scorer_ops.  Baselines, the native
 * engine and remote servers all plug in here; the evaluation never knows
 * which one it drives. */
#ifndef RMB_SCORER_H
#define RMB_SCORER_H

#include "rmb/common.h"
#include "rmb/dataset.h"
#include "rmb/model.h"
#include "rmb/prompt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One distinct sequence to score: a conversation followed by an assistant
 * answer.  conversation_id is equal for sequences that share a conversation,
 * so a scorer may reuse work across them (shared prefixes). */
typedef struct rmb_sequence {
    const rmb_conversation *conversation;
    size_t conversation_id;
    const char *answer;
    uint64_t key; /* rmb_sequence_key of the sequence's text */
} rmb_sequence;

/* Which kernel set the native engine runs (rmb_model_options.kernels). */
typedef enum rmb_kernel_set {
    RMB_KERNELS_AUTO = 0, /* the best this CPU runs */
    RMB_KERNELS_SCALAR,
    RMB_KERNELS_AVX2,
    RMB_KERNELS_AVX512,
} rmb_kernel_set;

/* Options every scorer may read; each ignores what does not apply to it.
 * Zero-initialised means defaults.  Each field a user sets is described
 * once, in the option table (rmb/options.h: type, default, allowed values,
 * help); read the meaning of max_length there. */
typedef struct rmb_scorer_options {
    int max_length;            /* tokens; 0 = the scorer's default (2048, RMB's, for model
                                  scorers); RMB_MAX_LENGTH_CONTEXT = the model's context length */
    rmb_truncation truncation; /* default left */
    int threads;               /* 0 = all cores */
    rmb_compute compute;       /* default exact */
    const char *tokenizer;     /* a local tokenizer directory, for remote scorers */
    const char *api_key_env;
    int in_flight;             /* concurrent remote requests; 0 = default */
    const char *artifacts_dir; /* not an option: rmb eval sets it to the run's --out, where a
                                  scorer may keep raw outputs */
    const char *judge_prompt;  /* judges: a prompt file (docs/remote.md); NULL = MT-Bench pairwise */
    double timeout_s;          /* remote: seconds per request attempt; 0 = 300 */
    int max_attempts;          /* remote: attempts per request before it fails; 0 = 4 */
    rmb_kernel_set kernels;    /* native: the kernel set to force; default the best */
    int chunk_tokens;          /* native: tokens per pass through the weights; 0 = 256 */
    const char *device;        /* native: the compute backend; NULL = "cpu" */
    unsigned given;            /* bit i: the option of table entry i was given (set by
                                  rmb_option_parse and rmb_options_from_json); what tells a
                                  given CHOICE from its default in the records */
} rmb_scorer_options;

/* A pairwise comparison for judges: which of two answers to one
 * conversation is better. */
typedef struct rmb_comparison {
    const rmb_conversation *conversation;
    size_t conversation_id;
    const char *first;
    const char *second;
} rmb_comparison;

enum { RMB_VERDICT_NONE = 0, RMB_VERDICT_FIRST = 1, RMB_VERDICT_SECOND = -1 };

/* What a judge said about one comparison in one order, mapped to the
 * answers (not to the positions they were shown in). */
enum { RMB_SAID_NOTHING = 0, /* no parseable verdict */
       RMB_SAID_FIRST = 1, RMB_SAID_SECOND = 2, RMB_SAID_TIE = 3 };

/* A judgment: both orders' answers in one int (0..15), which is what a run
 * store keeps, so that statistics over the orders (position consistency)
 * survive a resume or a merge.  shown_first: the order with the first
 * answer shown first; shown_second: the swapped order. */
#define RMB_JUDGMENT(shown_first, shown_second) ((shown_first) * 4 + (shown_second))

/* The verdict of a judgment: RMB_VERDICT_FIRST or _SECOND when both orders
 * preferred that answer, else RMB_VERDICT_NONE (also for a value that is no
 * judgment). */
int rmb_judgment_verdict(int judgment);

typedef struct rmb_scorer rmb_scorer;

typedef struct rmb_scorer_ops {
    /* Scores seqs[0..n): writes scores[i] and item_err[i].status = RMB_OK, or
     * a failed item_err[i] (status and message) when that one sequence could
     * not be scored.  Returns non-OK only when the whole batch failed or
     * ctx asked to cancel; scores already written stay valid. */
    rmb_status (*score)(rmb_scorer *self, const rmb_sequence *seqs, size_t n, double *scores,
                        rmb_error *item_err, const rmb_context *ctx, rmb_error *err);
    /* Judges implement compare instead of score (score is then NULL): for
     * each comparison, judgments[i] = RMB_JUDGMENT(a, b) with what the judge
     * said in each order (rmb_judgment_verdict gives the verdict).  Same
     * error contract. */
    rmb_status (*compare)(rmb_scorer *self, const rmb_comparison *cmps, size_t n, int *judgments,
                          rmb_error *item_err, const rmb_context *ctx, rmb_error *err);
    /* Optional: a JSON object (text the caller frees) of the scorer's own
     * statistics for summary.json's "scorer" field; NULL if none. */
    char *(*report)(rmb_scorer *self);
    void (*destroy)(rmb_scorer *self);
    /* Optional, for models with several outputs (multi-label heads, ArmoRM's
     * objectives): as score, but writes n_outputs values per sequence to
     * outputs[i * n_outputs ...]; the first is what score writes. */
    rmb_status (*score_outputs)(rmb_scorer *self, const rmb_sequence *seqs, size_t n,
                                double *outputs, rmb_error *item_err, const rmb_context *ctx,
                                rmb_error *err);
    /* Optional: a JSON object (text the caller frees) saying what this
     * process computes on (the native engine: device, kernel set, threads),
     * for run.json's "machine" field: facts of the process, not of the
     * scores; NULL if none. */
    char *(*machine)(rmb_scorer *self);
} rmb_scorer_ops;

struct rmb_scorer {
    const rmb_scorer_ops *ops;
    char *name;        /* short, file-name safe: "length", "random-7", a model's directory name */
    char *fingerprint; /* identifies everything that changes a score (model, options) */
    size_t batch_size; /* sequences the caller should hand over per score() call */
    size_t n_outputs;  /* values per sequence from rmb_scorer_score_outputs (>= 1) */
};

/* Opens the scorer named by a --model spec: "length", "random[:SEED]", a
 * model directory (one holding config.json: the native engine), or any spec
 * registered by another backend.  "results:FILE" is not a scorer
 * (see rmb/eval.h). */
rmb_status rmb_scorer_open(rmb_scorer **out, const char *spec, const rmb_scorer_options *opt,
                           rmb_error *err);
/* The name rmb_scorer_open gives the scorer of spec when that scorer keeps
 * files in opt->artifacts_dir (judges: "judge-MODEL") and the spec alone
 * decides it, so that a caller can choose that directory by the name
 * before opening it; NULL for other specs (or when out of memory). */
char *rmb_scorer_artifacts_name(const char *spec);
rmb_status rmb_scorer_score(rmb_scorer *s, const rmb_sequence *seqs, size_t n, double *scores,
                            rmb_error *item_err, const rmb_context *ctx, rmb_error *err);
/* As rmb_scorer_score, with all s->n_outputs values per sequence in
 * outputs[i * n_outputs ...] (just the score for one-output scorers). */
rmb_status rmb_scorer_score_outputs(rmb_scorer *s, const rmb_sequence *seqs, size_t n,
                                    double *outputs, rmb_error *item_err, const rmb_context *ctx,
                                    rmb_error *err);
void rmb_scorer_close(rmb_scorer *s);

/* 64-bit identity of a sequence's text (FNV-1a over the canonical bytes:
 * for each message role 0x1F content 0x1E, then "assistant" 0x1F answer). */
uint64_t rmb_sequence_key(const rmb_conversation *conversation, const char *answer);

#ifdef __cplusplus
}
#endif
#endif
