/* Local prompt encoding shared by the scorers that feed token ids. */
#include "score/encode.h"

#include "common/fileio.h"
#include "common/hashmap.h"
#include "model/gguf.h"

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

/* The tokenizer, template and their files' digest from a directory. */
static rmb_status open_dir(rmb_encoder *e, const char *dir, rmb_error *err)
{
    static const char *const text_files[] = {"tokenizer.json", "tokenizer_config.json",
                                             "chat_template.jinja"};
    rmb_status st = rmb_tokenizer_open(&e->tok, dir, err);
    if (st == RMB_OK)
        st = rmb_chat_template_open(&e->tpl, dir, err);
    if (st == RMB_OK)
        st = rmb_digest_dir(RMB_FNV_OFFSET, dir, text_files, 3, &e->digest, err);
    return st;
}

/* The tokenizer and template from texts of the GGUF file at path. */
static rmb_status load_texts(rmb_encoder *e, const char *path, rmb_gguf_str tok,
                             rmb_gguf_str config, rmb_gguf_str tpl, rmb_error *err)
{
    if (rmb_tokenizer_load(&e->tok, tok.s, tok.len, err))
        return rmb_error_prefix(err, "%s: rmb.tokenizer_json: ", path);
    char config_name[4200], tpl_name[4200];
    snprintf(config_name, sizeof config_name, "%s: rmb.tokenizer_config_json", path);
    snprintf(tpl_name, sizeof tpl_name, "%s: rmb.chat_template", path);
    return rmb_chat_template_load(&e->tpl, config.s, config.len, config_name, tpl.s, tpl.len,
                                  tpl_name, err);
}

/* The same from the texts rmb convert keeps in a GGUF file.  The digest
 * is the one the files they came from give (in rmb_digest_dir's name
 * order), so a GGUF file and its checkpoint encode alike and say so. */
static rmb_status open_gguf(rmb_encoder *e, const char *path, rmb_error *err)
{
    rmb_gguf_file f;
    rmb_gguf_str tok, config, tpl;
    rmb_status st;
    if ((st = rmb_gguf_open(&f, path, err)) ||
        (st = rmb_gguf_get_str(&f, "rmb.tokenizer_json", false, &tok, err)) ||
        (st = rmb_gguf_get_str(&f, "rmb.tokenizer_config_json", false, &config, err)) ||
        (st = rmb_gguf_get_str(&f, "rmb.chat_template", true, &tpl, err)) ||
        (st = load_texts(e, path, tok, config, tpl, err))) {
        rmb_gguf_close(&f);
        return st;
    }
    uint64_t h = RMB_FNV_OFFSET;
    if (tpl.s)
        h = rmb_digest_bytes(h, "chat_template.jinja", tpl.s, tpl.len);
    h = rmb_digest_bytes(h, "tokenizer.json", tok.s, tok.len);
    e->digest = rmb_digest_bytes(h, "tokenizer_config.json", config.s, config.len);
    rmb_gguf_close(&f);
    return RMB_OK;
}

rmb_status rmb_encoder_open(rmb_encoder **out, const char *model, int max_length,
                            const char *truncation, int context_length, rmb_error *err)
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
        st = rmb_gguf_is_file(model) ? open_gguf(e, model, err) : open_dir(e, model, err);
    if (st) {
        rmb_encoder_close(e);
        return st;
    }
    *out = e;
    return RMB_OK;
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
