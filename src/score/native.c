/* The native engine as a scorer: --model DIR, a Hugging Face reward-model
 * checkpoint (docs/native-engine.md), or --model FILE.gguf, the GGUF file
 * rmb convert makes of one (docs/gguf.md).  Sequences are rendered and encoded
 * locally (score/encode.h) and scored by rmb_model_score_batch, which may
 * share the conversation prefix among the answers handed to it together. */
#include "score/backends.h"
#include "score/encode.h"

#include "common/fileio.h"
#include "rmb/checkpoint.h"
#include "rmb/model.h"
#include "rmb/options.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct native_scorer {
    rmb_scorer base;
    rmb_checkpoint *ckpt; /* the model's and the encoder's, opened once */
    rmb_model *model;
    rmb_encoder *enc;
    char compute[16];
    const char *kernels; /* the forced kernel set (a static name), or NULL */
    size_t rows;   /* token rows the model computed (shared prefixes once) */
    size_t passes; /* passes through the weights */
} native_scorer;

static void native_destroy(rmb_scorer *self)
{
    native_scorer *s = (native_scorer *)self;
    rmb_model_close(s->model);
    rmb_encoder_close(s->enc);
    rmb_checkpoint_close(s->ckpt);
    rmb_scorer_free(self);
}

static void free_ids(int32_t **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
}

static void count_work(native_scorer *s)
{
    size_t tokens, rows, passes;
    rmb_model_batch_stats(s->model, &tokens, &rows, &passes);
    s->rows += rows;
    s->passes += passes;
}

/* Scores the sequences that encoded; outputs holds n_outputs values each. */
static rmb_status native_score_outputs(rmb_scorer *self, const rmb_sequence *seqs, size_t n,
                                       double *outputs, rmb_error *item_err,
                                       const rmb_context *ctx, rmb_error *err)
{
    (void)ctx;
    native_scorer *s = (native_scorer *)self;
    size_t n_out = self->n_outputs;
    int32_t **ids = calloc(n ? n : 1, sizeof *ids);
    size_t *n_ids = calloc(n ? n : 1, sizeof *n_ids);
    float *scores = calloc(n ? n * n_out : 1, sizeof *scores);
    rmb_error *model_err = calloc(n ? n : 1, sizeof *model_err);
    rmb_status st = RMB_OK;
    if (!ids || !n_ids || !scores || !model_err)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK) {
        rmb_encoder_encode(s->enc, seqs, n, ids, n_ids, item_err);
        /* Only the encoded ones go to the model: pack them to the front. */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (item_err[i].status == RMB_OK) {
                ids[k] = ids[i];
                n_ids[k++] = n_ids[i];
            }
        st = rmb_model_score_batch(s->model, (const int32_t *const *)ids, n_ids, k, scores,
                                   model_err, err);
        count_work(s);
        free_ids(ids, k);
        for (size_t i = 0, j = 0; st == RMB_OK && i < n; i++) {
            if (item_err[i].status != RMB_OK)
                continue;
            item_err[i] = model_err[j];
            for (size_t o = 0; o < n_out; o++)
                outputs[i * n_out + o] = scores[j * n_out + o];
            j++;
        }
    }
    free(ids);
    free(n_ids);
    free(scores);
    free(model_err);
    return st;
}

/* The evaluation reads the first output (the reward; ArmoRM's gated score). */
static rmb_status native_score(rmb_scorer *self, const rmb_sequence *seqs, size_t n,
                               double *scores, rmb_error *item_err, const rmb_context *ctx,
                               rmb_error *err)
{
    size_t n_out = self->n_outputs;
    if (n_out == 1)
        return native_score_outputs(self, seqs, n, scores, item_err, ctx, err);
    double *all = malloc((n ? n : 1) * n_out * sizeof *all);
    if (!all)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = native_score_outputs(self, seqs, n, all, item_err, ctx, err);
    for (size_t i = 0; i < n; i++)
        scores[i] = all[i * n_out];
    free(all);
    return st;
}

static char *native_report(rmb_scorer *self)
{
    native_scorer *s = (native_scorer *)self;
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "engine", "native", "format",
                          rmb_checkpoint_format(s->ckpt), "architecture", rmb_model_architecture(s->model), "compute",
                          s->compute, "threads", rmb_model_threads(s->model), "outputs",
                          rmb_model_n_outputs(s->model));
    char *text = NULL;
    /* "tokens" (the encoder's) against "tokens_computed": what sharing saved. */
    if (r && json_object_set_new(r, "kernels", json_string(rmb_model_kernels(s->model))) == 0 &&
        rmb_encoder_report(s->enc, r) == 0 &&
        json_object_set_new(r, "tokens_computed", json_integer((json_int_t)s->rows)) == 0 &&
        json_object_set_new(r, "passes", json_integer((json_int_t)s->passes)) == 0)
        text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return text;
}

static char *native_machine(rmb_scorer *self)
{
    native_scorer *s = (native_scorer *)self;
    json_t *r = json_pack("{s:s, s:s, s:i}", "device", rmb_model_device(s->model), "kernels",
                          rmb_model_kernels(s->model), "threads", rmb_model_threads(s->model));
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    return text;
}

static const rmb_scorer_ops native_ops = {.score = native_score,
                                          .report = native_report,
                                          .machine = native_machine,
                                          .destroy = native_destroy,
                                          .score_outputs = native_score_outputs};

/* Everything that changes a score: the files (weights, config, tokenizer,
 * template: all of a GGUF file's bytes), how ids are made, and the
 * arithmetic (compute, and a forced kernel set: rmb/options.h). */
static rmb_status fingerprint(native_scorer *s, char *out, size_t size, rmb_error *err)
{
    uint64_t files;
    rmb_status st = rmb_checkpoint_model_digest(s->ckpt, &files, err);
    if (st)
        return st;
    char ids[160];
    rmb_encoder_describe(s->enc, ids, sizeof ids);
    snprintf(out, size, "native/1 %s model=%016" PRIx64 " %s compute=%s%s%s",
             rmb_model_architecture(s->model), files, ids, s->compute,
             s->kernels ? " kernels=" : "", s->kernels ? s->kernels : "");
    return RMB_OK;
}

/* The one place scorer options become model options. */
static rmb_model_options model_options(const rmb_scorer_options *opt)
{
    return (rmb_model_options){.threads = opt->threads,
                               .compute = opt->compute,
                               .kernels = rmb_kernel_set_name(opt->kernels),
                               .chunk_tokens = opt->chunk_tokens,
                               .device = opt->device};
}

static rmb_status open_parts(native_scorer *s, const char *model,
                             const rmb_scorer_options *opt, rmb_error *err)
{
    rmb_model_options mo = model_options(opt);
    rmb_status st = rmb_checkpoint_open(&s->ckpt, model, err);
    if (st == RMB_OK)
        st = rmb_model_open_checkpoint(&s->model, s->ckpt, &mo, err);
    if (st == RMB_OK)
        st = rmb_encoder_open_checkpoint(&s->enc, s->ckpt, opt->max_length,
                                         rmb_truncation_name(opt->truncation),
                                         rmb_model_context_length(s->model), err);
    snprintf(s->compute, sizeof s->compute, "%s", rmb_compute_name(opt->compute));
    s->kernels = rmb_kernel_set_name(opt->kernels);
    return st;
}

rmb_status rmb_native_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err)
{
    (void)arg;
    *out = NULL;
    /* The name: the directory's, or the file's without .gguf. */
    size_t len;
    const char *last = rmb_path_last(spec, &len);
    if (len > 5 && !strncmp(last + len - 5, ".gguf", 5))
        len -= 5;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)len, last);
    /* Small batches (the evaluation completes each one's last conversation,
     * so prefixes are still shared): a kill loses at most a few sequences'
     * work, and progress and cancellation stay close to the work. */
    native_scorer *s =
        (native_scorer *)rmb_scorer_new(sizeof *s, &native_ops, name, "native", 8);
    if (!s)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    char fp[512];
    rmb_status st = open_parts(s, spec, opt, err);
    if (st == RMB_OK)
        st = fingerprint(s, fp, sizeof fp, err);
    if (st == RMB_OK) {
        char *copy = strdup(fp);
        if (!copy)
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
        free(s->base.fingerprint);
        s->base.fingerprint = copy;
        s->base.n_outputs = (size_t)rmb_model_n_outputs(s->model);
    }
    if (st) {
        native_destroy(&s->base);
        return rmb_error_prefix(err, "--model %s: ", spec);
    }
    *out = &s->base;
    return RMB_OK;
}
