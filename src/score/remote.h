/* What the remote scorers (vllm:, sglang:, judge:) share: spec parsing, the
 * transport's configuration, conversations as JSON, and the driver that
 * turns a batch of sequences into requests and responses into scores. */
#ifndef RMB_SCORE_REMOTE_H
#define RMB_SCORE_REMOTE_H

#include "rmb/scorer.h"
#include "score/http.h"

#include <jansson.h>
#include <stdbool.h>

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

/* Where requests go: url itself when it already ends in one of the API's
 * paths, else url + paths[0]; *base receives url without that path (both
 * freed by the caller).  *which is the index of the path in use. */
rmb_status rmb_remote_endpoint(const char *url, const char *const *paths, size_t n_paths,
                               char **endpoint, char **base, size_t *which, rmb_error *err);

/* Asks the server at base + path which model it serves: the "model_path"
 * of SGLang's /get_model_info or data[0].id of an OpenAI /v1/models. */
rmb_status rmb_remote_served_model(rmb_http *h, const char *base, const char *path,
                                   char **model, rmb_error *err);

/* [{"role", "content"}...] of the conversation followed by the answer as
 * the assistant's turn (answer NULL: the conversation only). */
json_t *rmb_remote_messages(const rmb_conversation *conv, const char *answer, rmb_error *err);

/* Sets a scorer's name (prefix-<last path part of model>, file-name safe)
 * and its fingerprint (printf-style). */
rmb_status rmb_remote_identify(rmb_scorer *s, const char *prefix, const char *model,
                               rmb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Sequences per score() call: enough to keep every request slot busy. */
size_t rmb_remote_batch_size(const rmb_scorer_options *opt);

/* How one API turns sequences into a request and a response into rewards. */
typedef struct rmb_remote_api {
    /* The request body for seqs[0..count). */
    json_t *(*body)(rmb_scorer *self, const rmb_sequence *seqs, size_t count, rmb_error *err);
    /* Exactly count rewards, in order, from a parsed response. */
    rmb_status (*rewards)(rmb_scorer *self, json_t *response, size_t count, double *out,
                          rmb_error *err);
} rmb_remote_api;

/* A sequence scorer's score(): sends seqs in requests of per_request
 * sequences each, to url through h.  A request that fails for good fails
 * its sequences' item_err, naming each by its key. */
rmb_status rmb_remote_score(rmb_scorer *self, rmb_http *h, const char *url,
                            const rmb_remote_api *api, size_t per_request,
                            const rmb_sequence *seqs, size_t n, double *scores,
                            rmb_error *item_err, const rmb_context *ctx, rmb_error *err);

/* The report every remote scorer starts from: backend, model, requests
 * and retries (a JSON object; NULL when out of memory). */
json_t *rmb_remote_report(rmb_http *h, const char *backend, const char *model);

/* A reward from a JSON value: a number, or an array of exactly one number. */
rmb_status rmb_remote_reward(json_t *value, const char *field, double *out, rmb_error *err);

#endif
