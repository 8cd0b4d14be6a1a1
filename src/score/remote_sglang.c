/* sglang:URL[#MODEL]: a reward model served by SGLang's native /classify.
 *
 * SGLang takes text, not messages, so rmb renders each sequence with the
 * model's chat template (--tokenizer DIR) and sends SEQS_PER_REQUEST of them
 * per request as {"model", "text": [...]}; the answer is a list, in order, of
 * {"embedding": [reward], "meta_info"}.  Without #MODEL the model is the
 * server's model_path from URL/get_model_info. */
#include "score/backends.h"
#include "score/remote.h"

#include "rmb/chat_template.h"

#include <stdlib.h>
#include <string.h>

#define SEQS_PER_REQUEST 4

typedef struct sglang_scorer {
    rmb_remote_scorer remote;
    rmb_chat_template *tpl;
} sglang_scorer;

static const char *const sglang_paths[] = {"/classify"};

static rmb_status sglang_setup(rmb_remote_scorer *self, const char *spec,
                               const rmb_scorer_options *opt, rmb_buf *fp, rmb_error *err)
{
    sglang_scorer *s = (sglang_scorer *)self;
    if (!opt->tokenizer)
        return rmb_fail(err, RMB_EUSAGE,
                        "--model %s: SGLang takes templated text: give the model's directory "
                        "with --tokenizer DIR",
                        spec);
    if (opt->max_length > 0)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "--model %s: SGLang's /classify cannot truncate; leave --max-length out",
                        spec);
    if (rmb_chat_template_open(&s->tpl, opt->tokenizer, err) != RMB_OK)
        return err->status;
    rmb_buf_printf(fp, " form=text template=%s", opt->tokenizer);
    return RMB_OK;
}

/* The conversation and the answer as the model sees them. */
static char *render(const sglang_scorer *s, const rmb_sequence *seq, rmb_error *err)
{
    size_t n = seq->conversation->n_messages;
    rmb_message *msgs = malloc((n + 1) * sizeof *msgs);
    if (!msgs)
        return rmb_fail(err, RMB_ENOMEM, "out of memory"), NULL;
    memcpy(msgs, seq->conversation->messages, n * sizeof *msgs);
    msgs[n] = (rmb_message){"assistant", seq->answer};
    char *text = NULL;
    if (rmb_chat_template_render(s->tpl, msgs, n + 1, false, &text, err) != RMB_OK)
        text = NULL;
    free(msgs);
    return text;
}

static json_t *sglang_body(rmb_remote_scorer *self, const rmb_sequence *seqs, size_t count,
                           rmb_error *err)
{
    sglang_scorer *s = (sglang_scorer *)self;
    json_t *texts = json_array();
    for (size_t i = 0; texts && i < count; i++) {
        char *text = render(s, &seqs[i], err);
        json_t *t = text ? json_string(text) : NULL;
        if (!t || json_array_append_new(texts, t) != 0) {
            if (text && !t)
                rmb_fail(err, RMB_EDATA, "the rendered text is not valid UTF-8");
            free(text);
            json_decref(texts);
            return NULL;
        }
        free(text);
    }
    json_t *body = texts ? json_pack("{s:s, s:o}", "model", self->model, "text", texts) : NULL;
    if (!body)
        rmb_fail(err, RMB_ENOMEM, "out of memory");
    return body;
}

static rmb_status sglang_rewards(rmb_remote_scorer *self, json_t *response, size_t count,
                                 double *out, rmb_error *err)
{
    (void)self;
    /* SGLang answers a one-element list with one bare object. */
    if (json_is_object(response) && count == 1)
        return rmb_remote_reward(json_object_get(response, "embedding"), "embedding", out, err);
    if (!json_is_array(response) || json_array_size(response) != count)
        return rmb_fail(err, RMB_EREMOTE, "response: expected a list of %zu result(s)", count);
    for (size_t i = 0; i < count; i++)
        if (rmb_remote_reward(json_object_get(json_array_get(response, i), "embedding"),
                              "embedding", &out[i], err) != RMB_OK)
            return rmb_error_prefix(err, "response: [%zu]: ", i);
    return RMB_OK;
}

static void sglang_cleanup(rmb_remote_scorer *self)
{
    rmb_chat_template_close(((sglang_scorer *)self)->tpl);
}

static const rmb_remote_api sglang_api = {
    "sglang", sglang_paths, 1, "/get_model_info", SEQS_PER_REQUEST,
    sglang_setup, sglang_body, sglang_rewards, sglang_cleanup,
};

rmb_status rmb_sglang_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err)
{
    return rmb_remote_scorer_open(out, sizeof(sglang_scorer), &sglang_api, spec, arg, opt, err);
}
