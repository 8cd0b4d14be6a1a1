/* vllm:URL[#MODEL]: a reward model served by vLLM's pooling API.
 *
 * Chat form: one conversation per request, POSTed to URL/pooling (or to URL
 * itself when it already ends in /pooling or /classify) as
 *   {"model", "messages": [..., {"role": "assistant", "content": answer}],
 *    "add_generation_prompt": false, "use_activation": false}
 * and the server applies the model's own chat template.  The reward is
 * data[0].data[0] (/pooling) or data[0].probs[0] (/classify).
 *
 * use_activation is always false: vLLM applies a sigmoid to one-label heads
 * by default, which squeezes large rewards into 1.0 and turns clear wins
 * into ties; rmb wants the raw logit.  Without #MODEL the model is the one
 * the server lists first at URL/v1/models. */
#include "score/backends.h"
#include "score/remote.h"

#include <stdlib.h>
#include <string.h>

typedef struct vllm_scorer {
    rmb_scorer base;
    rmb_http *http;
    char *endpoint; /* the URL requests go to */
    char *model;
    int classify;   /* the endpoint is /classify: rewards are in "probs" */
    int truncate;   /* truncate_prompt_tokens (keeps the last tokens); 0 = none */
} vllm_scorer;

static json_t *vllm_body(rmb_scorer *self, const rmb_sequence *seqs, size_t count,
                         rmb_error *err)
{
    vllm_scorer *v = (vllm_scorer *)self;
    (void)count; /* the chat form sends one conversation per request */
    json_t *messages = rmb_remote_messages(seqs[0].conversation, seqs[0].answer, err);
    if (!messages)
        return NULL;
    json_t *body = json_pack("{s:s, s:o, s:b, s:b}", "model", v->model, "messages", messages,
                             "add_generation_prompt", 0, "use_activation", 0);
    if (body && v->truncate > 0 &&
        json_object_set_new(body, "truncate_prompt_tokens", json_integer(v->truncate)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        rmb_fail(err, RMB_ENOMEM, "out of memory");
    return body;
}

static rmb_status vllm_rewards(rmb_scorer *self, json_t *response, size_t count, double *out,
                               rmb_error *err)
{
    vllm_scorer *v = (vllm_scorer *)self;
    json_t *data = json_object_get(response, "data");
    if (!json_is_array(data) || json_array_size(data) != count)
        return rmb_fail(err, RMB_EREMOTE, "response: \"data\" must be an array of %zu result(s)",
                        count);
    const char *field = v->classify ? "probs" : "data";
    char *seen = calloc(count, 1);
    if (!seen)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = RMB_OK;
    for (size_t i = 0; i < count && st == RMB_OK; i++) {
        json_t *item = json_array_get(data, i);
        json_t *index = json_object_get(item, "index");
        json_int_t k = json_is_integer(index) ? json_integer_value(index) : -1;
        if (k < 0 || (size_t)k >= count || seen[k])
            st = rmb_fail(err, RMB_EREMOTE, "response: data[%zu]: bad or repeated \"index\"", i);
        else if ((st = rmb_remote_reward(json_object_get(item, field), field, &out[k], err)) ==
                 RMB_OK)
            seen[k] = 1;
        else
            rmb_error_prefix(err, "response: data[%zu]: ", i);
    }
    free(seen);
    return st;
}

static const rmb_remote_api vllm_api = {vllm_body, vllm_rewards};

static rmb_status vllm_score(rmb_scorer *self, const rmb_sequence *seqs, size_t n,
                             double *scores, rmb_error *item_err, const rmb_context *ctx,
                             rmb_error *err)
{
    vllm_scorer *v = (vllm_scorer *)self;
    return rmb_remote_score(self, v->http, v->endpoint, &vllm_api, 1, seqs, n, scores, item_err,
                            ctx, err);
}

static void vllm_destroy(rmb_scorer *self)
{
    vllm_scorer *v = (vllm_scorer *)self;
    rmb_http_close(v->http);
    free(v->endpoint);
    free(v->model);
    rmb_scorer_free(self);
}

static char *vllm_report(rmb_scorer *self)
{
    vllm_scorer *v = (vllm_scorer *)self;
    json_t *r = rmb_remote_report(v->http, "vllm", v->model);
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    return text;
}

static const rmb_scorer_ops vllm_ops = {vllm_score, NULL, vllm_report, vllm_destroy};

/* Fills what the options and the spec decide; the fingerprint names all of it. */
static rmb_status vllm_setup(vllm_scorer *v, const char *spec, const char *url,
                             const rmb_scorer_options *opt, rmb_error *err)
{
    if (opt->tokenizer)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "--model %s: the token-id form (--tokenizer) is not available yet; "
                        "leave --tokenizer out to let vLLM apply the chat template",
                        spec);
    const char *trunc = opt->truncation ? opt->truncation : "left";
    if (strcmp(trunc, "right") == 0)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "--model %s: vLLM truncates from the left only (--truncation left|none)",
                        spec);
    if (strcmp(trunc, "none") != 0)
        v->truncate = opt->max_length;
    static const char *const paths[] = {"/pooling", "/classify"};
    char *base;
    size_t which;
    rmb_status st = rmb_remote_endpoint(url, paths, 2, &v->endpoint, &base, &which, err);
    v->classify = which == 1;
    if (st == RMB_OK && !v->model &&
        (st = rmb_remote_served_model(v->http, base, "/v1/models", &v->model, err)) != RMB_OK)
        rmb_error_prefix(err, "--model %s: ", spec);
    free(base);
    return st;
}

rmb_status rmb_vllm_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                const rmb_scorer_options *opt, rmb_error *err)
{
    *out = NULL;
    vllm_scorer *v = (vllm_scorer *)rmb_scorer_new(sizeof *v, &vllm_ops, "vllm", "vllm",
                                                   rmb_remote_batch_size(opt));
    if (!v)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    char *url = NULL;
    rmb_status st = rmb_remote_parse_spec(spec, arg, false, &url, &v->model, err);
    if (st == RMB_OK)
        st = rmb_remote_http_open(&v->http, opt, err);
    if (st == RMB_OK)
        st = vllm_setup(v, spec, url, opt, err);
    if (st == RMB_OK)
        st = rmb_remote_identify(&v->base, "vllm", v->model, err,
                                 "vllm/1 model=%s endpoint=%s form=chat use_activation=false "
                                 "truncate=%d",
                                 v->model, v->classify ? "classify" : "pooling", v->truncate);
    free(url);
    if (st != RMB_OK) {
        vllm_destroy(&v->base);
        return st;
    }
    *out = &v->base;
    return RMB_OK;
}
