/* rmb_scorer_open: from a --model spec to a backend. */
#include "score/backends.h"

#include "common/hashmap.h"
#include "rmb/checkpoint.h"
#include "rmb/options.h"
#include "score/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The name of a scorer that keeps artifacts, from its spec's argument. */
typedef char *(*artifacts_name_fn)(const char *arg);

/* judge:URL#MODEL is named after MODEL (rmb_remote_identify). */
static char *judge_name(const char *arg)
{
    const char *hash = strchr(arg, '#');
    return hash && hash[1] ? rmb_remote_name("judge", hash + 1) : NULL;
}

typedef struct backend {
    const char *name; /* the spec is NAME or NAME:ARG */
    int takes_arg;    /* 0: no argument, 1: optional, 2: required */
    rmb_scorer_open_fn open;
    artifacts_name_fn artifacts_name; /* scorers that write to artifacts_dir */
} backend;

static const backend backends[] = {
    {"length", 0, rmb_length_scorer_open, NULL},
    {"random", 1, rmb_random_scorer_open, NULL},
    {"vllm", 2, rmb_vllm_scorer_open, NULL},
    {"sglang", 2, rmb_sglang_scorer_open, NULL},
    {"judge", 2, rmb_judge_scorer_open, judge_name},
};

/* The backend a NAME or NAME:ARG spec names; NULL when none does. */
static const backend *find_backend(const char *spec)
{
    const char *colon = strchr(spec, ':');
    size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strlen(backends[i].name) == name_len && !strncmp(spec, backends[i].name, name_len))
            return &backends[i];
    return NULL;
}

char *rmb_scorer_artifacts_name(const char *spec)
{
    const backend *b = find_backend(spec);
    const char *colon = strchr(spec, ':');
    return b && b->artifacts_name && colon ? b->artifacts_name(colon + 1) : NULL;
}

/* A spec naming a directory is a checkpoint for the native engine; a
 * directory without config.json is a mistake worth naming.  So is a regular
 * file named *.gguf (rmb convert's output). */
static int is_directory(const char *spec)
{
    struct stat st;
    return stat(spec, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_gguf_file(const char *spec)
{
    size_t len = strlen(spec);
    return len > 5 && !strcmp(spec + len - 5, ".gguf") && rmb_checkpoint_is_gguf(spec);
}

static rmb_status open_model_dir(rmb_scorer **out, const char *spec,
                                 const rmb_scorer_options *opt, rmb_error *err)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/config.json", spec);
    if (stat(path, &st) != 0)
        return rmb_fail(err, RMB_EUSAGE,
                        "--model %s: a directory without config.json is not a model checkpoint",
                        spec);
    return rmb_native_scorer_open(out, spec, NULL, opt, err);
}

rmb_status rmb_scorer_open(rmb_scorer **out, const char *spec, const rmb_scorer_options *opt,
                           rmb_error *err)
{
    static const rmb_scorer_options defaults;
    if (!opt)
        opt = &defaults;
    *out = NULL;
    rmb_status st = rmb_options_check(opt, err);
    if (st != RMB_OK)
        return st;
    if (is_directory(spec))
        return open_model_dir(out, spec, opt, err);
    if (is_gguf_file(spec))
        return rmb_native_scorer_open(out, spec, NULL, opt, err);
    const char *colon = strchr(spec, ':');
    const backend *b = find_backend(spec);
    if (b && colon && b->takes_arg == 0)
        return rmb_fail(err, RMB_EUSAGE, "--model %s: '%s' takes no argument", spec, b->name);
    if (b && !colon && b->takes_arg == 2)
        return rmb_fail(err, RMB_EUSAGE, "--model %s: '%s' needs an argument (%s:...)", spec,
                        b->name, b->name);
    if (b)
        return b->open(out, spec, colon ? colon + 1 : NULL, opt, err);
    return rmb_fail(err, RMB_EUSAGE,
                    "--model %s: unknown model spec (expected a model directory, a .gguf file, length, "
                    "random[:SEED], results:FILE, vllm:URL[#MODEL], sglang:URL[#MODEL] or "
                    "judge:URL#MODEL)",
                    spec);
}

rmb_status rmb_scorer_score(rmb_scorer *s, const rmb_sequence *seqs, size_t n, double *scores,
                            rmb_error *item_err, const rmb_context *ctx, rmb_error *err)
{
    if (rmb_canceled(ctx))
        return rmb_fail(err, RMB_ECANCELED, "canceled");
    return s->ops->score(s, seqs, n, scores, item_err, ctx, err);
}

rmb_status rmb_scorer_score_outputs(rmb_scorer *s, const rmb_sequence *seqs, size_t n,
                                    double *outputs, rmb_error *item_err, const rmb_context *ctx,
                                    rmb_error *err)
{
    if (!s->ops->score_outputs)
        return rmb_scorer_score(s, seqs, n, outputs, item_err, ctx, err);
    if (rmb_canceled(ctx))
        return rmb_fail(err, RMB_ECANCELED, "canceled");
    return s->ops->score_outputs(s, seqs, n, outputs, item_err, ctx, err);
}

void rmb_scorer_close(rmb_scorer *s)
{
    if (s)
        s->ops->destroy(s);
}

rmb_scorer *rmb_scorer_new(size_t size, const rmb_scorer_ops *ops, const char *name,
                           const char *fingerprint, size_t batch_size)
{
    rmb_scorer *s = calloc(1, size);
    if (!s)
        return NULL;
    s->ops = ops;
    s->name = strdup(name);
    s->fingerprint = strdup(fingerprint);
    s->batch_size = batch_size;
    s->n_outputs = 1;
    if (!s->name || !s->fingerprint) {
        rmb_scorer_free(s);
        return NULL;
    }
    return s;
}

void rmb_scorer_free(rmb_scorer *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->fingerprint);
    free(s);
}

static uint64_t fnv1a_field(uint64_t h, const char *s, unsigned char sep)
{
    h = rmb_fnv1a(h, s, strlen(s));
    return rmb_fnv1a(h, &sep, 1);
}

int rmb_judgment_verdict(int judgment)
{
    if (judgment == RMB_JUDGMENT(RMB_SAID_FIRST, RMB_SAID_FIRST))
        return RMB_VERDICT_FIRST;
    if (judgment == RMB_JUDGMENT(RMB_SAID_SECOND, RMB_SAID_SECOND))
        return RMB_VERDICT_SECOND;
    return RMB_VERDICT_NONE;
}

uint64_t rmb_sequence_key(const rmb_conversation *conversation, const char *answer)
{
    uint64_t h = RMB_FNV_OFFSET;
    for (size_t i = 0; i < conversation->n_messages; i++) {
        h = fnv1a_field(h, conversation->messages[i].role, 0x1F);
        h = fnv1a_field(h, conversation->messages[i].content, 0x1E);
    }
    h = fnv1a_field(h, "assistant", 0x1F);
    return rmb_fnv1a(h, answer, strlen(answer));
}
