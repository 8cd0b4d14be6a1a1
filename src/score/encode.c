/* Local prompt encoding shared by the scorers that feed token ids. */
#include "score/encode.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

void rmb_encoder_close(rmb_encoder *e)
{
    if (!e)
        return;
    rmb_tokenizer_close(e->tok);
    rmb_chat_template_close(e->tpl);
    free(e);
}

static rmb_status resolve_max_length(int max_length, int context_length, int *out,
                                     rmb_error *err)
{
    if (max_length > 0)
        *out = max_length;
    else if (max_length == 0)
        *out = RMB_DEFAULT_MAX_LENGTH;
    else if (context_length > 0)
        *out = context_length;
    else
        return rmb_fail(err, RMB_EUSAGE,
                        "max length: the model's context length is unknown; give --max-length N");
    return RMB_OK;
}

/* The tokenizer, the template and the digest of the texts they came from. */
static rmb_status open_parts(rmb_encoder *e, const rmb_checkpoint *ck, rmb_error *err)
{
    rmb_status st;
    if ((st = rmb_checkpoint_tokenizer(ck, &e->tok, err)) ||
        (st = rmb_checkpoint_chat_template(ck, &e->tpl, err)))
        return st;
    return rmb_checkpoint_text_digest(ck, &e->digest, err);
}

rmb_status rmb_encoder_open_checkpoint(rmb_encoder **out, const rmb_checkpoint *ck,
                                       int max_length, const char *truncation,
                                       int context_length, rmb_error *err)
{
    *out = NULL;
    rmb_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_prompt_options_default(&e->prompt);
    rmb_status st = resolve_max_length(max_length, context_length, &e->prompt.max_length, err);
    if (st == RMB_OK)
        st = rmb_truncation_parse(truncation ? truncation : "left", &e->prompt.truncation, err);
    if (st == RMB_OK)
        st = open_parts(e, ck, err);
    if (st) {
        rmb_encoder_close(e);
        return st;
    }
    *out = e;
    return RMB_OK;
}

rmb_status rmb_encoder_open(rmb_encoder **out, const char *model, int max_length,
                            const char *truncation, int context_length, rmb_error *err)
{
    rmb_checkpoint *ck;
    rmb_status st = rmb_checkpoint_open(&ck, model, err);
    if (st == RMB_OK)
        st = rmb_encoder_open_checkpoint(out, ck, max_length, truncation, context_length, err);
    rmb_checkpoint_close(ck);
    return st;
}

/* One sequence, counted as truncated when max_length cut it. */
static rmb_status encode_one(rmb_encoder *e, const rmb_sequence *s, int32_t **ids, size_t *n,
                             rmb_error *err)
{
    size_t untruncated;
    rmb_status st = rmb_prompt_encode_counted(e->tok, e->tpl, s->conversation, s->answer,
                                              &e->prompt, ids, n, &untruncated, err);
    e->truncated += st == RMB_OK && untruncated > *n;
    return st;
}

void rmb_encoder_encode(rmb_encoder *e, const rmb_sequence *seqs, size_t n, int32_t **ids,
                        size_t *n_ids, rmb_error *item_err)
{
    for (size_t i = 0; i < n; i++) {
        item_err[i].status = RMB_OK;
        ids[i] = NULL;
        n_ids[i] = 0;
        if (encode_one(e, &seqs[i], &ids[i], &n_ids[i], &item_err[i]) == RMB_OK) {
            e->encoded++;
            e->tokens += n_ids[i];
        }
    }
}

void rmb_encoder_describe(const rmb_encoder *e, char *out, size_t size)
{
    snprintf(out, size, "max_length=%d truncation=%s template+tokenizer=%016" PRIx64,
             e->prompt.max_length, rmb_truncation_name(e->prompt.truncation), e->digest);
}

int rmb_encoder_report(const rmb_encoder *e, json_t *obj)
{
    return json_object_set_new(obj, "max_length", json_integer(e->prompt.max_length)) ||
           json_object_set_new(obj, "truncation",
                               json_string(rmb_truncation_name(e->prompt.truncation))) ||
           json_object_set_new(obj, "sequences", json_integer((json_int_t)e->encoded)) ||
           json_object_set_new(obj, "tokens", json_integer((json_int_t)e->tokens)) ||
           json_object_set_new(obj, "truncated", json_integer((json_int_t)e->truncated));
}
