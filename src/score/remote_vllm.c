/* vllm:URL[#MODEL]: a reward model served by vLLM's pooling API.
 *
 * Chat form: one conversation per request, POSTed to URL/pooling (or to URL
 * itself when it already ends in /pooling or /classify) as
 *   {"model", "messages": [..., {"role": "assistant", "content": answer}],
 *    "add_generation_prompt": false, "use_activation": false}
 * plus "task": "classify" on /pooling (one value per sequence, not per token)
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
    rmb_remote_scorer remote;
    int truncate; /* truncate_prompt_tokens (keeps the last tokens); 0 = none */
} vllm_scorer;

enum { PATH_POOLING, PATH_CLASSIFY };
static const char *const vllm_paths[] = {"/pooling", "/classify"};

static rmb_status vllm_setup(rmb_remote_scorer *self, const char *spec,
                             const rmb_scorer_options *opt, rmb_buf *fp, rmb_error *err)
{
    vllm_scorer *v = (vllm_scorer *)self;
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
    rmb_buf_printf(fp, " form=chat use_activation=false truncate=%d", v->truncate);
    return RMB_OK;
}

static json_t *vllm_body(rmb_remote_scorer *self, const rmb_sequence *seqs, size_t count,
                         rmb_error *err)
{
    vllm_scorer *v = (vllm_scorer *)self;
    (void)count; /* the chat form sends one conversation per request */
    json_t *messages = rmb_remote_messages(seqs[0].conversation, seqs[0].answer, err);
    if (!messages)
        return NULL;
    json_t *body = json_pack("{s:s, s:o, s:b, s:b}", "model", self->model, "messages", messages,
                             "add_generation_prompt", 0, "use_activation", 0);
    /* Newer vLLMs answer /pooling per token unless told the task; older ones ignore it. */
    if (body && self->path == PATH_POOLING &&
        json_object_set_new(body, "task", json_string("classify")) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (body && v->truncate > 0 &&
        json_object_set_new(body, "truncate_prompt_tokens", json_integer(v->truncate)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        rmb_fail(err, RMB_ENOMEM, "out of memory");
    return body;
}

static rmb_status vllm_rewards(rmb_remote_scorer *self, json_t *response, size_t count,
                               double *out, rmb_error *err)
{
    json_t *data = json_object_get(response, "data");
    if (!json_is_array(data) || json_array_size(data) != count)
        return rmb_fail(err, RMB_EREMOTE, "response: \"data\" must be an array of %zu result(s)",
                        count);
    const char *field = self->path == PATH_CLASSIFY ? "probs" : "data";
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

static const rmb_remote_api vllm_api = {
    "vllm", vllm_paths, 2, "/v1/models", 1, vllm_setup, vllm_body, vllm_rewards, NULL,
};

rmb_status rmb_vllm_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                const rmb_scorer_options *opt, rmb_error *err)
{
    return rmb_remote_scorer_open(out, sizeof(vllm_scorer), &vllm_api, spec, arg, opt, err);
}
