/* Native reward-model inference from a Hugging Face checkpoint directory
 * (config.json + model.safetensors or a sharded index) or the GGUF file rmb
 * convert makes of one.  A model scores one token sequence at a time with a
 * single forward pass (prefill only) and reports the classification head's
 * outputs at the last token that is not the pad token, as transformers'
 * *ForSequenceClassification does. */
#ifndef RMB_MODEL_H
#define RMB_MODEL_H

#include "rmb/checkpoint.h"
#include "rmb/common.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rmb_model rmb_model;

/* How the projections compute (rmb_model_options.compute).  The fast
 * paths are never the default; scores move slightly under them. */
typedef enum rmb_compute {
    /* fp32 activations and accumulation, bf16/f16 weights widened exactly */
    RMB_COMPUTE_EXACT = 0,
    /* the projections' inputs rounded to bf16, products summed in fp32
     * (AVX512-BF16 where the CPU has it, else a slow reference) */
    RMB_COMPUTE_BF16,
    /* Q8_0 weights times activations quantized like them (per token,
     * blocks of 32: int8 and an fp32 scale), int32 block sums scaled in fp32
     * (AVX512-VNNI where the CPU has it, else a slow reference); other
     * tensors exact.  rmb_model_open fails (RMB_EUSAGE) when no layer
     * matrix is Q8_0 */
    RMB_COMPUTE_INT8,
} rmb_compute;

/* "exact", "bf16", "int8"; NULL for a value outside the enum. */
const char *rmb_compute_name(rmb_compute c);
/* The compute mode called name (NULL: exact); fails (RMB_EUSAGE) naming
 * name and the choices otherwise. */
rmb_status rmb_compute_parse(const char *name, rmb_compute *out, rmb_error *err);

/* Zero-initialised means defaults. */
typedef struct rmb_model_options {
    int threads;         /* worker threads including the caller; 0 = one per CPU */
    rmb_compute compute; /* RMB_COMPUTE_EXACT by default; a value outside the enum fails
                          * (RMB_EUSAGE) */
    const char *kernels; /* "scalar", "avx2", "avx512" (rmb_model_kernel_set); NULL = the
                          * best this CPU runs; another fails (RMB_EUNSUPPORTED) */
    int chunk_tokens;    /* tokens per pass through the weights; 0 = 256 */
    const char *device;  /* the compute backend: "cpu" (default, NULL); "cuda[:N]" where
                          * built with CUDA; anything else fails (RMB_EUNSUPPORTED, naming
                          * the backends the build has) */
} rmb_model_options;

/* The kernel sets this CPU runs, best first (i = 0: the default), the last
 * "scalar"; NULL for i past the last. */
const char *rmb_model_kernel_set(size_t i);

/* Opens the checkpoint in model, a directory or a GGUF file written by
 * rmb convert (its rmb.config_json replaces config.json; F32, F16, BF16 and
 * Q8_0 tensors): reads the configuration, maps the weights, checks every
 * tensor's name and shape against the configuration.  Fails with a message
 * naming the file and field (an unknown architecture lists the supported
 * ones).  opt may be NULL. */
rmb_status rmb_model_open(rmb_model **out, const char *model, const rmb_model_options *opt,
                          rmb_error *err);
/* The same from an open checkpoint (include/rmb/checkpoint.h), which must
 * stay open while the model is: a GGUF file's weights are used in its
 * mapping. */
rmb_status rmb_model_open_checkpoint(rmb_model **out, const rmb_checkpoint *ck,
                                     const rmb_model_options *opt, rmb_error *err);
void rmb_model_close(rmb_model *m);

/* config.json's architectures[0], e.g. "Qwen3ForSequenceClassification". */
const char *rmb_model_architecture(const rmb_model *m);
/* Outputs of the head per sequence (num_labels; 1 for usual reward models). */
int rmb_model_n_outputs(const rmb_model *m);
/* max_position_embeddings. */
int rmb_model_context_length(const rmb_model *m);
/* The pad token id from config.json, or -1. */
int rmb_model_pad_token_id(const rmb_model *m);
/* The backend it runs on, as opened ("cpu"), for reports. */
const char *rmb_model_device(const rmb_model *m);
/* The kernel set in use ("avx512", ...) and the number of threads. */
const char *rmb_model_kernels(const rmb_model *m);
int rmb_model_threads(const rmb_model *m);
/* Bytes of tensor data in the checkpoint's files. */
size_t rmb_model_weight_bytes(const rmb_model *m);

/* Scores ids[0..n): writes rmb_model_n_outputs() values to scores, read at
 * the last token whose id is not the pad token (the first token when every
 * token is padding).  Tokens after that one cannot change the result and are
 * not computed.  Fails (RMB_EUSAGE) for n == 0 and (RMB_EDATA) for an id
 * outside the vocabulary.  Not thread-safe on one model: it owns the
 * scratch memory and the thread pool. */
rmb_status rmb_model_score(rmb_model *m, const int32_t *ids, size_t n, float *scores,
                           rmb_error *err);

/* Scores count sequences: sequence i is ids[i][0..n[i]).  Writes
 * rmb_model_n_outputs() values per sequence to scores[i * n_outputs ...] and
 * item_err[i] (status RMB_OK, or why that one sequence failed, as
 * rmb_model_score would).  The sequences may share leading ids (one
 * conversation's prefix before each of its answers): the model is free to
 * compute what they share once and to pack short sequences into one pass,
 * but every score equals what rmb_model_score gives for that sequence alone.
 * Returns non-OK only when the whole call failed (out of memory).
 *
 * How: neighbours sharing at least 16 leading ids run them once (their
 * K/V serve every member, at the same positions), identical sequences run
 * once, and what remains is packed into passes of a bounded number of
 * tokens (pass_tokens), each row attending only
 * within its own sequence.  Every row computes exactly what it computes
 * alone, so the scores are bit-identical to rmb_model_score's. */
rmb_status rmb_model_score_batch(rmb_model *m, const int32_t *const *ids, const size_t *n,
                                 size_t count, float *scores, rmb_error *item_err,
                                 rmb_error *err);

/* The most tokens rmb_model_score_batch runs in one pass (a longer
 * sequence runs alone); 0 restores the default, about 256 MiB of
 * activations.  Scores do not depend on it. */
void rmb_model_set_pass_tokens(rmb_model *m, size_t tokens);

/* The last batch's plan: tokens of its valid sequences (the naive plan),
 * token rows actually computed, and passes through the weights. */
void rmb_model_batch_stats(const rmb_model *m, size_t *tokens, size_t *rows, size_t *passes);

#ifdef __cplusplus
}
#endif
#endif
