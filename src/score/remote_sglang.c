/* sglang:URL[#MODEL]: a reward model served by SGLang's native /classify.
 *
 * SGLang takes text or token ids, never messages, so rmb needs the model's
 * directory (--tokenizer DIR) and sends SEQS_PER_REQUEST sequences per
 * request in one of two forms:
 *
 * Token-id form (DIR has tokenizer.json): rmb renders and encodes each
 * sequence as the native engine does (score/encode.h) and sends
 * {"model", "input_ids": [[ids], ...]}: the ids are exactly rmb's.
 *
 * Text form (DIR has only the chat template): {"model", "text": [...]},
 * each sequence rendered with the template, as SGLang's own reward-model
 * example does; the server then tokenizes with its tokenizer's special
 * tokens (a second BOS for Llama-3) and its own context length, so
 * --max-length is refused.
 *
 * The answer is a list, in order, of {"embedding": [reward], "meta_info"}.
 * Without #MODEL the model is the server's model_path from
 * URL/get_model_info. */
#include "score/backends.h"
#include "score/remote.h"

#include "common/fileio.h"
#include "common/hashmap.h"
#include "rmb/chat_template.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SEQS_PER_REQUEST 8

typedef struct sglang_scorer {
    rmb_remote_scorer remote;
    rmb_chat_template *tpl; /* the text form's */
} sglang_scorer;

static const char *const sglang_paths[] = {"/classify"};

static int has_tokenizer(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    return access(path, F_OK) == 0;
}

static rmb_status text_setup(sglang_scorer *s, const char *spec, const rmb_scorer_options *opt,
                             rmb_buf *fp, rmb_error *err)
{
    static const char *const template_files[] = {"tokenizer_config.json", "chat_template.jinja"};
    if (opt->max_length > 0)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "--model %s: --tokenizer %s has no tokenizer.json, so rmb sends text "
                        "and SGLang cannot truncate it; leave --max-length out or give a "
                        "directory with tokenizer.json",
                        spec, opt->tokenizer);
    uint64_t digest;
    if (rmb_chat_template_open(&s->tpl, opt->tokenizer, err) != RMB_OK ||
        rmb_digest_dir(RMB_FNV_OFFSET, opt->tokenizer, template_files, 2, &digest, err) != RMB_OK)
        return rmb_error_prefix(err, "--model %s: ", spec);
    rmb_buf_printf(fp, " form=text template=%016" PRIx64, digest);
    return RMB_OK;
}

static rmb_status sglang_setup(rmb_remote_scorer *self, const char *spec,
                               const rmb_scorer_options *opt, rmb_buf *fp, rmb_error *err)
{
    if (!opt->tokenizer)
        return rmb_fail(err, RMB_EUSAGE,
                        "--model %s: SGLang takes token ids or templated text, not messages: "
                        "give the model's directory with --tokenizer DIR",
                        spec);
    self->per_request = SEQS_PER_REQUEST;
    if (has_tokenizer(opt->tokenizer))
        return rmb_remote_use_ids(self, spec, opt, fp, err);
    return text_setup((sglang_scorer *)self, spec, opt, fp, err);
}

/* The sequences as the model sees them; a failure names the sequence
 * (a request carries several). */
static json_t *texts_json(const sglang_scorer *s, const rmb_remote_input *in, size_t count,
                          rmb_error *err)
{
    json_t *texts = json_array();
    if (!texts)
        return rmb_fail(err, RMB_ENOMEM, "out of memory"), NULL;
    for (size_t i = 0; i < count; i++) {
        char *text = NULL;
        rmb_status st = rmb_chat_template_render_answer(s->tpl, in[i].seq->conversation,
                                                        in[i].seq->answer, &text, err);
        json_t *t = st == RMB_OK ? json_string(text) : NULL;
        free(text);
        if (st == RMB_OK && !t) /* jansson refuses text that is not valid UTF-8 */
            st = rmb_fail(err, RMB_EDATA, "the rendered text is not valid UTF-8");
        if (st == RMB_OK && json_array_append_new(texts, t) != 0)
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
        if (st != RMB_OK) {
            rmb_error_prefix(err, "sequence with key %016" PRIx64 ": ", in[i].seq->key);
            json_decref(texts);
            return NULL;
        }
    }
    return texts;
}

static json_t *sglang_body(rmb_remote_scorer *self, const rmb_remote_input *in, size_t count,
                           rmb_error *err)
{
    json_t *items = self->enc ? rmb_remote_ids_json(in, count)
                              : texts_json((sglang_scorer *)self, in, count, err);
    if (!items) {
        if (self->enc)
            rmb_fail(err, RMB_ENOMEM, "out of memory");
        return NULL;
    }
    json_t *body = json_pack("{s:s, s:o}", "model", self->model,
                             self->enc ? "input_ids" : "text", items);
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
    "sglang", sglang_paths, 1, "/get_model_info", sglang_setup, sglang_body, sglang_rewards, sglang_cleanup,
};

rmb_status rmb_sglang_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err)
{
    return rmb_remote_scorer_open(out, sizeof(sglang_scorer), &sglang_api, spec, arg, opt, err);
}
