/* The skeleton of the remote sequence scorers (vllm:, sglang:): opening,
 * scoring a batch through the transport, the report (see remote.h). */
#include "score/backends.h"
#include "score/encode.h"
#include "score/remote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rmb_status keep_json(void *user, size_t index, const char *body, size_t len,
                            rmb_error *err)
{
    (void)index;
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return rmb_fail(err, RMB_EREMOTE, "malformed JSON: %s", jerr.text);
    json_decref(*(json_t **)user);
    *(json_t **)user = j;
    return RMB_OK;
}

static rmb_status get_json(rmb_http *h, const char *url, json_t **out, rmb_error *err)
{
    *out = NULL;
    rmb_http_request req = {0};
    snprintf(req.label, sizeof req.label, "the served model");
    rmb_status st = rmb_http_run(h, url, &req, 1, keep_json, out, NULL, err);
    if (st == RMB_OK && req.err.status != RMB_OK) {
        *err = req.err;
        st = err->status;
    }
    return st;
}

/* Asks the server which model it serves: "model_path" (SGLang's
 * /get_model_info) or data[0].id (an OpenAI /v1/models). */
static rmb_status served_model(rmb_http *h, const char *base, const char *path, char **model,
                               rmb_error *err)
{
    char *url = rmb_remote_url(base, path);
    json_t *j = NULL;
    rmb_status st = url ? get_json(h, url, &j, err) : rmb_fail(err, RMB_ENOMEM, "out of memory");
    const char *name = json_string_value(json_object_get(j, "model_path"));
    if (!name)
        name = json_string_value(
            json_object_get(json_array_get(json_object_get(j, "data"), 0), "id"));
    if (st == RMB_OK && !name)
        st = rmb_fail(err, RMB_EREMOTE, "%s: no model name in the answer; name it: URL#MODEL", url);
    else if (st == RMB_OK && !(*model = strdup(name)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    json_decref(j);
    free(url);
    return st;
}

/* Where requests go: url itself when it already ends in one of the API's
 * paths, else url + paths[0]; *base receives url without that path. */
static rmb_status endpoint(const char *url, const char *const *paths, size_t n_paths,
                           char **endpoint, char **base, size_t *which, rmb_error *err)
{
    size_t len = strlen(url), k = 0;
    while (k < n_paths && !(len >= strlen(paths[k]) &&
                            strcmp(url + len - strlen(paths[k]), paths[k]) == 0))
        k++;
    *which = k < n_paths ? k : 0;
    *endpoint = k < n_paths ? strdup(url) : rmb_remote_url(url, paths[0]);
    *base = strndup(url, k < n_paths ? len - strlen(paths[k]) : len);
    if (*endpoint && *base)
        return RMB_OK;
    free(*endpoint), free(*base);
    *endpoint = *base = NULL;
    return rmb_fail(err, RMB_ENOMEM, "out of memory");
}

/* ---- the token-id form ---- */

rmb_status rmb_remote_use_ids(rmb_remote_scorer *self, const char *spec,
                              const rmb_scorer_options *opt, rmb_buf *fp, rmb_error *err)
{
    /* The server's context length is unknown here, so "the model's" needs
     * an explicit --max-length (the encoder says so). */
    if (rmb_encoder_open(&self->enc, opt->tokenizer, opt->max_length,
                         rmb_truncation_name(opt->truncation), 0, err))
        return rmb_error_prefix(err, "--model %s: --tokenizer %s: ", spec, opt->tokenizer);
    char what[160];
    rmb_encoder_describe(self->enc, what, sizeof what);
    rmb_buf_printf(fp, " form=ids %s", what);
    return RMB_OK;
}

json_t *rmb_remote_ids_json(const rmb_remote_input *in, size_t count)
{
    json_t *all = json_array();
    for (size_t i = 0; all && i < count; i++) {
        json_t *ids = json_array();
        for (size_t k = 0; ids && k < in[i].n_ids; k++)
            if (json_array_append_new(ids, json_integer(in[i].ids[k])) != 0)
                json_decref(ids), ids = NULL;
        if (!ids || json_array_append_new(all, ids) != 0)
            json_decref(all), all = NULL;
    }
    return all;
}

/* ---- score(): sequences to requests, responses to scores ---- */

/* One score() call: the sequences that go out (all of them, or in the
 * token-id form those that could be encoded) and where their scores go. */
typedef struct score_run {
    rmb_remote_scorer *self;
    rmb_remote_input *in;
    size_t *where; /* in[k] is sequence where[k] */
    size_t n_in;
    int32_t **ids; /* per sequence, token-id form only */
    size_t *n_ids;
    double *scores;
} score_run;

static rmb_status take_rewards(void *user, size_t index, const char *body, size_t len,
                               rmb_error *err)
{
    score_run *s = user;
    size_t per = s->self->per_request, first = index * per;
    size_t count = s->n_in - first < per ? s->n_in - first : per;
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return rmb_fail(err, RMB_EREMOTE, "malformed JSON: %s", jerr.text);
    double *got = malloc(count * sizeof *got);
    rmb_status st = got ? s->self->api->rewards(s->self, j, count, got, err)
                        : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t k = 0; st == RMB_OK && k < count; k++) /* all of the request's rewards or none */
        s->scores[s->where[first + k]] = got[k];
    free(got);
    json_decref(j);
    return st;
}

/* Fills s->in and s->where: every sequence, or in the token-id form every
 * one that could be encoded (the others' item_err say why). */
static rmb_status gather(score_run *s, const rmb_sequence *seqs, size_t n, rmb_error *item_err,
                         rmb_error *err)
{
    s->in = calloc(n ? n : 1, sizeof *s->in);
    s->where = calloc(n ? n : 1, sizeof *s->where);
    if (s->self->enc) {
        s->ids = calloc(n ? n : 1, sizeof *s->ids);
        s->n_ids = calloc(n ? n : 1, sizeof *s->n_ids);
    }
    if (!s->in || !s->where || (s->self->enc && (!s->ids || !s->n_ids)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (s->self->enc)
        rmb_encoder_encode(s->self->enc, seqs, n, s->ids, s->n_ids, item_err);
    for (size_t i = 0; i < n; i++) {
        if (s->self->enc && item_err[i].status != RMB_OK)
            continue;
        s->where[s->n_in] = i;
        s->in[s->n_in++] = (rmb_remote_input){&seqs[i], s->ids ? s->ids[i] : NULL,
                                              s->n_ids ? s->n_ids[i] : 0};
    }
    return RMB_OK;
}

static void score_run_free(score_run *s, size_t n)
{
    for (size_t i = 0; s->ids && i < n; i++)
        free(s->ids[i]);
    free(s->ids);
    free(s->n_ids);
    free(s->in);
    free(s->where);
}

/* The requests' bodies; a sequence that cannot be sent (text that is not
 * valid UTF-8) fails the batch, naming it. */
static rmb_status make_requests(score_run *s, rmb_http_request *reqs, size_t n_req,
                                rmb_error *err)
{
    size_t per = s->self->per_request;
    for (size_t r = 0; r < n_req; r++) {
        size_t first = r * per, count = s->n_in - first < per ? s->n_in - first : per;
        snprintf(reqs[r].label, sizeof reqs[r].label, "sequence with key %016" PRIx64 "%s",
                 s->in[first].seq->key, count > 1 ? " and the ones batched with it" : "");
        rmb_error why = {0};
        json_t *body = s->self->api->body(s->self, s->in + first, count, &why);
        reqs[r].body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!reqs[r].body)
            return body ? rmb_fail(err, RMB_ENOMEM, "out of memory")
                        : rmb_fail(err, why.status, "%s: %s", reqs[r].label, why.msg);
    }
    return RMB_OK;
}

static rmb_status remote_score(rmb_scorer *base, const rmb_sequence *seqs, size_t n,
                               double *scores, rmb_error *item_err, const rmb_context *ctx,
                               rmb_error *err)
{
    rmb_remote_scorer *self = (rmb_remote_scorer *)base;
    score_run s = {.self = self, .scores = scores};
    rmb_status st = gather(&s, seqs, n, item_err, err);
    size_t per = self->per_request, n_req = (s.n_in + per - 1) / per;
    rmb_http_request *reqs = st ? NULL : calloc(n_req ? n_req : 1, sizeof *reqs);
    if (st == RMB_OK && !reqs)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = make_requests(&s, reqs, n_req, err);
    if (st == RMB_OK && n_req)
        st = rmb_http_run(self->http, self->endpoint, reqs, n_req, take_rewards, &s, ctx, err);
    for (size_t k = 0; st == RMB_OK && k < s.n_in; k++)
        item_err[s.where[k]] = reqs[k / per].err;
    for (size_t r = 0; reqs && r < n_req; r++)
        free(reqs[r].body);
    free(reqs);
    score_run_free(&s, n);
    return st;
}

static char *remote_report(rmb_scorer *base)
{
    rmb_remote_scorer *self = (rmb_remote_scorer *)base;
    json_t *r = rmb_remote_report(self->http, self->api->backend, self->model);
    if (r && self->enc && rmb_encoder_report(self->enc, r) != 0)
        json_decref(r), r = NULL;
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    return text;
}

static void remote_destroy(rmb_scorer *base)
{
    rmb_remote_scorer *self = (rmb_remote_scorer *)base;
    if (self->api->cleanup)
        self->api->cleanup(self);
    rmb_encoder_close(self->enc);
    rmb_http_close(self->http);
    free(self->endpoint);
    free(self->model);
    rmb_scorer_free(base);
}

static const rmb_scorer_ops remote_ops = {
    .score = remote_score, .report = remote_report, .destroy = remote_destroy};

/* ---- opening ---- */

/* Everything after the allocation; the caller destroys self on failure. */
static rmb_status remote_setup(rmb_remote_scorer *self, const char *spec, const char *arg,
                               const rmb_scorer_options *opt, rmb_error *err)
{
    const rmb_remote_api *api = self->api;
    char *url = NULL, *base = NULL;
    rmb_buf fp = {0};
    rmb_status st = rmb_remote_parse_spec(spec, arg, false, &url, &self->model, err);
    if (st == RMB_OK)
        st = rmb_remote_http_open(&self->http, opt, err);
    if (st == RMB_OK)
        st = api->setup(self, spec, opt, &fp, err);
    if (st == RMB_OK)
        st = endpoint(url, api->paths, api->n_paths, &self->endpoint, &base, &self->path, err);
    if (st == RMB_OK && !self->model &&
        (st = served_model(self->http, base, api->model_path, &self->model, err)) != RMB_OK)
        rmb_error_prefix(err, "--model %s: ", spec);
    if (st == RMB_OK)
        st = rmb_remote_identify(&self->base, api->backend, self->model, err,
                                 "%s/1 model=%s endpoint=%s%s", api->backend, self->model,
                                 api->paths[self->path], fp.data ? fp.data : "");
    if (st == RMB_OK && fp.oom)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_buf_free(&fp);
    free(url);
    free(base);
    return st;
}

rmb_status rmb_remote_scorer_open(rmb_scorer **out, size_t size, const rmb_remote_api *api,
                                  const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err)
{
    *out = NULL;
    rmb_remote_scorer *self = (rmb_remote_scorer *)rmb_scorer_new(
        size, &remote_ops, api->backend, api->backend, rmb_remote_batch_size(opt));
    if (!self)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    self->api = api;
    self->per_request = 1;
    rmb_status st = remote_setup(self, spec, arg, opt, err);
    if (st != RMB_OK) {
        remote_destroy(&self->base);
        return st;
    }
    /* enough sequences per call for several rounds of every request slot */
    self->base.batch_size *= self->per_request;
    *out = &self->base;
    return RMB_OK;
}
