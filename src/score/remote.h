/* What the remote scorers (vllm:, sglang:, judge:) share: spec parsing, the
 * transport's configuration, conversations as JSON, and the driver that
 * turns a batch of sequences into requests and responses into scores. */
#ifndef RMB_SCORE_REMOTE_H
#define RMB_SCORE_REMOTE_H

#include "rmb/scorer.h"
#include "score/http.h"

#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Splits "URL[#MODEL]" into its parts (the caller frees both; *model is
 * NULL when absent).  The URL must be http:// or https://; a trailing '/' is
 * dropped so that paths can be appended. */
rmb_status rmb_remote_parse_spec(const char *spec, const char *arg, bool model_required,
                                 char **url, char **model, rmb_error *err);

/* Opens the transport with the scorer options' in_flight, timeout_s,
 * max_attempts and api_key_env. */
rmb_status rmb_remote_http_open(rmb_http **out, const rmb_scorer_options *opt, rmb_error *err);

/* base + path, freshly allocated; NULL when out of memory. */
char *rmb_remote_url(const char *base, const char *path);

/* [{"role", "content"}...] of the conversation followed by the answer as
 * the assistant's turn (answer NULL: the conversation only). */
json_t *rmb_remote_messages(const rmb_conversation *conv, const char *answer, rmb_error *err);

/* prefix-<last path part of model> (model NULL: "server"), file-name safe;
 * NULL when out of memory. */
char *rmb_remote_name(const char *prefix, const char *model);
/* Sets a scorer's name (prefix-<last path part of model>, file-name safe)
 * and its fingerprint (printf-style). */
rmb_status rmb_remote_identify(rmb_scorer *s, const char *prefix, const char *model,
                               rmb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Sequences per score() call: enough to keep every request slot busy. */
size_t rmb_remote_batch_size(const rmb_scorer_options *opt);

/* The report every remote scorer starts from: backend, model, requests
 * and retries (a JSON object; NULL when out of memory). */
json_t *rmb_remote_report(rmb_http *h, const char *backend, const char *model);

/* A reward from a JSON value: a number, or an array of exactly one number. */
rmb_status rmb_remote_reward(json_t *value, const char *field, double *out, rmb_error *err);

/* ---- sequence scorers (remote_seq.c): vllm:, sglang: ---- */

typedef struct rmb_remote_scorer rmb_remote_scorer;
struct rmb_encoder;

/* One sequence of a request: its text, and its ids when rmb encodes
 * locally (the token-id form; ids NULL otherwise). */
typedef struct rmb_remote_input {
    const rmb_sequence *seq;
    const int32_t *ids;
    size_t n_ids;
} rmb_remote_input;

/* What one reward-model API does differently from the others. */
typedef struct rmb_remote_api {
    const char *backend;      /* "vllm": the scorer's name prefix, fingerprint, report */
    const char *const *paths; /* the API's endpoint paths; paths[0] unless the URL names one */
    size_t n_paths;
    const char *model_path;   /* where the server names its model (without #MODEL) */
    /* Checks the options and sets the backend's own fields and per_request,
     * before any request; appends what changes a score to fp (the
     * fingerprint).  It may open self->enc (rmb_remote_use_ids). */
    rmb_status (*setup)(rmb_remote_scorer *self, const char *spec, const rmb_scorer_options *opt,
                        rmb_buf *fp, rmb_error *err);
    /* The request body for in[0..count). */
    json_t *(*body)(rmb_remote_scorer *self, const rmb_remote_input *in, size_t count,
                    rmb_error *err);
    /* Exactly count rewards, in order, from a parsed response. */
    rmb_status (*rewards)(rmb_remote_scorer *self, json_t *response, size_t count, double *out,
                          rmb_error *err);
    void (*cleanup)(rmb_remote_scorer *self); /* frees the backend's own fields; may be NULL */
} rmb_remote_api;

/* The common head of a remote sequence scorer (backends extend it). */
struct rmb_remote_scorer {
    rmb_scorer base;
    const rmb_remote_api *api;
    rmb_http *http;
    char *endpoint; /* the URL requests go to */
    size_t path;    /* which of api->paths it ends in */
    char *model;
    size_t per_request;       /* sequences per request (1 unless setup says more) */
    struct rmb_encoder *enc;  /* the token-id form's local encoder; NULL otherwise */
};

/* The token-id form: opens self->enc on opt->tokenizer with --max-length
 * and --truncation as the native engine applies them (default 2048 tokens,
 * left) and appends " form=ids" and what the ids depend on to fp. */
rmb_status rmb_remote_use_ids(rmb_remote_scorer *self, const char *spec,
                              const rmb_scorer_options *opt, rmb_buf *fp, rmb_error *err);

/* An array of in[0..count)'s ids ([[ids], ...]); NULL when out of memory. */
json_t *rmb_remote_ids_json(const rmb_remote_input *in, size_t count);

/* Opens a scorer of `size` bytes (a struct that starts with an
 * rmb_remote_scorer) for "URL[#MODEL]": its score() encodes the sequences
 * first in the token-id form (one that cannot be encoded fails alone), sends
 * per_request sequences per request, and a request that fails for good
 * fails its sequences' item_err, naming each by its key. */
rmb_status rmb_remote_scorer_open(rmb_scorer **out, size_t size, const rmb_remote_api *api,
                                  const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err);

#endif
