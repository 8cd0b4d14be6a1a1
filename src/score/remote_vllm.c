/* vllm:URL[#MODEL]: a reward model served by vLLM's pooling API, POSTed to
 * URL/pooling (or to URL itself when it already ends in /pooling or
 * /classify), in one of two forms:
 *
 * Chat form (no --tokenizer): one conversation per request,
 *   {"model", "messages": [..., {"role": "assistant", "content": answer}],
 *    "add_generation_prompt": false, "use_activation": false,
 *    "truncate_prompt_tokens": N}
 * and the server applies the model's own chat template and truncation
 * (N = --max-length, default 2048, -1 = the served model's; none with
 * --truncation none; vLLM keeps the last tokens, so left only).
 *
 * Token-id form (--tokenizer DIR): rmb renders and encodes each sequence
 * as the native engine does (score/encode.h) and sends IDS_PER_REQUEST of
 * them per request as {"model", "input": [[ids], ...], "use_activation":
 * false}, so the ids are exactly rmb's.
 *
 * Both add "task": "classify" on /pooling (one value per sequence, not per
 * token).  The reward is data[i].data[0] (/pooling) or data[i].probs[0]
 * (/classify), data[i].index naming the sequence.
 *
 * use_activation is always false: vLLM applies a sigmoid to one-label heads
 * by default, which squeezes large rewards into 1.0 and turns clear wins
 * into ties; rmb wants the raw logit.  Without #MODEL the model is the one
 * the server lists first at URL/v1/models. */
#include "score/backends.h"
#include "score/encode.h"
#include "score/remote.h"

#include <stdlib.h>
#include <string.h>

#define IDS_PER_REQUEST 8

typedef struct vllm_scorer {
    rmb_remote_scorer remote;
    int truncate; /* chat form: truncate_prompt_tokens (-1: the model's); 0 = none */
} vllm_scorer;

enum { PATH_POOLING, PATH_CLASSIFY };
static const char *const vllm_paths[] = {"/pooling", "/classify"};

static rmb_status vllm_setup(rmb_remote_scorer *self, const char *spec,
                             const rmb_scorer_options *opt, rmb_buf *fp, rmb_error *err)
{
    vllm_scorer *v = (vllm_scorer *)self;
    rmb_buf_printf(fp, " use_activation=false");
    if (opt->tokenizer) {
        self->per_request = IDS_PER_REQUEST;
        return rmb_remote_use_ids(self, spec, opt, fp, err);
    }
    const char *trunc = rmb_truncation_name(opt->truncation);
    if (strcmp(trunc, "right") == 0)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "--model %s: vLLM truncates from the left only (--truncation "
                        "left|none), or give --tokenizer DIR to truncate locally",
                        spec);
    if (strcmp(trunc, "none") != 0)
        v->truncate = opt->max_length > 0    ? opt->max_length
                      : opt->max_length == 0 ? RMB_DEFAULT_MAX_LENGTH
                                             : -1;
    rmb_buf_printf(fp, " form=chat truncate=%d", v->truncate);
    return RMB_OK;
}

/* The chat form's members: one conversation and its answer. */
static int set_chat(vllm_scorer *v, json_t *body, const rmb_sequence *seq, rmb_error *err)
{
    json_t *messages = rmb_remote_messages(seq->conversation, seq->answer, err);
    if (!messages)
        return -1;
    int bad = json_object_set_new(body, "messages", messages) ||
              json_object_set_new(body, "add_generation_prompt", json_false());
    if (!bad && v->truncate)
        bad = json_object_set_new(body, "truncate_prompt_tokens", json_integer(v->truncate));
    if (bad)
        rmb_fail(err, RMB_ENOMEM, "out of memory");
    return bad ? -1 : 0;
}

static json_t *vllm_body(rmb_remote_scorer *self, const rmb_remote_input *in, size_t count,
                         rmb_error *err)
{
    json_t *body = json_pack("{s:s, s:b}", "model", self->model, "use_activation", 0);
    /* Newer vLLMs answer /pooling per token unless told the task; older ones ignore it. */
    int bad = !body || (self->path == PATH_POOLING &&
                        json_object_set_new(body, "task", json_string("classify")) != 0);
    if (!bad && self->enc)
        bad = json_object_set_new(body, "input", rmb_remote_ids_json(in, count)) != 0;
    if (bad)
        rmb_fail(err, RMB_ENOMEM, "out of memory");
    else if (!self->enc) /* the chat form sends one conversation per request */
        bad = set_chat((vllm_scorer *)self, body, in[0].seq, err) != 0;
    if (bad)
        json_decref(body), body = NULL;
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
    "vllm", vllm_paths, 2, "/v1/models", vllm_setup, vllm_body, vllm_rewards, NULL,
};

rmb_status rmb_vllm_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                const rmb_scorer_options *opt, rmb_error *err)
{
    return rmb_remote_scorer_open(out, sizeof(vllm_scorer), &vllm_api, spec, arg, opt, err);
}
