/* One checkpoint handle: a directory or a GGUF file, identified once; the
 * configuration, tokenizer and chat template read from it. */
#include "model/checkpoint.h"

#include "common/fileio.h"
#include "common/hashmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The files of a directory that decide the ids, and those that decide the
 * scores given the ids. */
static const char *const text_files[] = {RMB_FILE_TOKENIZER, RMB_FILE_TOKENIZER_CONFIG,
                                         RMB_FILE_CHAT_TEMPLATE};
static const char *const model_files[] = {".safetensors", RMB_FILE_CONFIG};

static bool is_gguf_name(const char *path)
{
    size_t len = strlen(path);
    return len > 5 && !strcmp(path + len - 5, ".gguf");
}

bool rmb_checkpoint_is_gguf(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        return S_ISREG(sb.st_mode);
    return is_gguf_name(path);
}

rmb_status rmb_checkpoint_open(rmb_checkpoint **out, const char *path, rmb_error *err)
{
    *out = NULL;
    rmb_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->path = strdup(path))) {
        free(ck);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    ck->is_gguf = rmb_checkpoint_is_gguf(path);
    rmb_status st = ck->is_gguf ? rmb_gguf_open(&ck->gguf, path, err) : RMB_OK;
    if (st != RMB_OK) {
        rmb_checkpoint_close(ck);
        return st;
    }
    *out = ck;
    return RMB_OK;
}

void rmb_checkpoint_close(rmb_checkpoint *ck)
{
    if (!ck)
        return;
    rmb_gguf_close(&ck->gguf);
    free(ck->path);
    free(ck);
}

const char *rmb_checkpoint_path(const rmb_checkpoint *ck)
{
    return ck->path;
}

const char *rmb_checkpoint_format(const rmb_checkpoint *ck)
{
    return ck->is_gguf ? "gguf" : "safetensors";
}

/* "PATH: KEY", how messages name a text kept in the GGUF file. */
static void key_name(const rmb_checkpoint *ck, const char *key, char *out, size_t size)
{
    snprintf(out, size, "%s: %s", ck->path, key);
}

rmb_status rmb_checkpoint_config(const rmb_checkpoint *ck, rmb_config *cfg, rmb_error *err)
{
    char name[4200];
    if (!ck->is_gguf) {
        if ((size_t)snprintf(name, sizeof name, "%s/" RMB_FILE_CONFIG, ck->path) >= 4096)
            return rmb_fail(err, RMB_EUSAGE, "%s: path too long", ck->path);
        return rmb_config_load(cfg, name, err);
    }
    rmb_gguf_str text;
    rmb_status st = rmb_gguf_get_str(&ck->gguf, RMB_GGUF_KEY_CONFIG, false, &text, err);
    if (st != RMB_OK)
        return st;
    key_name(ck, RMB_GGUF_KEY_CONFIG, name, sizeof name);
    return rmb_config_parse(cfg, text.s, text.len, name, err);
}

/* The texts rmb convert keeps for the encoder, looked up in this order
 * whichever is wanted, so a file lacking several names the same one. */
typedef struct gguf_texts {
    rmb_gguf_str tokenizer, config, chat_template;
} gguf_texts;

static rmb_status get_texts(const rmb_checkpoint *ck, gguf_texts *t, rmb_error *err)
{
    rmb_status st;
    if ((st = rmb_gguf_get_str(&ck->gguf, RMB_GGUF_KEY_TOKENIZER, false, &t->tokenizer, err)) ||
        (st = rmb_gguf_get_str(&ck->gguf, RMB_GGUF_KEY_TOKENIZER_CONFIG, false, &t->config,
                               err)))
        return st;
    return rmb_gguf_get_str(&ck->gguf, RMB_GGUF_KEY_CHAT_TEMPLATE, true, &t->chat_template, err);
}

rmb_status rmb_checkpoint_tokenizer(const rmb_checkpoint *ck, rmb_tokenizer **out,
                                    rmb_error *err)
{
    *out = NULL;
    if (!ck->is_gguf)
        return rmb_tokenizer_open(out, ck->path, err);
    gguf_texts t;
    rmb_status st = get_texts(ck, &t, err);
    if (st == RMB_OK && rmb_tokenizer_load(out, t.tokenizer.s, t.tokenizer.len, err))
        return rmb_error_prefix(err, "%s: " RMB_GGUF_KEY_TOKENIZER ": ", ck->path);
    return st;
}

rmb_status rmb_checkpoint_chat_template(const rmb_checkpoint *ck, rmb_chat_template **out,
                                        rmb_error *err)
{
    *out = NULL;
    if (!ck->is_gguf)
        return rmb_chat_template_open(out, ck->path, err);
    gguf_texts t;
    rmb_status st = get_texts(ck, &t, err);
    if (st != RMB_OK)
        return st;
    char config_name[4200], tpl_name[4200];
    key_name(ck, RMB_GGUF_KEY_TOKENIZER_CONFIG, config_name, sizeof config_name);
    key_name(ck, RMB_GGUF_KEY_CHAT_TEMPLATE, tpl_name, sizeof tpl_name);
    return rmb_chat_template_load(out, t.config.s, t.config.len, config_name,
                                  t.chat_template.s, t.chat_template.len, tpl_name, err);
}

rmb_status rmb_checkpoint_text_digest(const rmb_checkpoint *ck, uint64_t *out, rmb_error *err)
{
    if (!ck->is_gguf)
        return rmb_digest_dir(RMB_FNV_OFFSET, ck->path, text_files, 3, out, err);
    gguf_texts t;
    rmb_status st = get_texts(ck, &t, err);
    if (st != RMB_OK)
        return st;
    /* In rmb_digest_dir's order: the file names sorted. */
    uint64_t h = RMB_FNV_OFFSET;
    if (t.chat_template.s)
        h = rmb_digest_bytes(h, RMB_FILE_CHAT_TEMPLATE, t.chat_template.s, t.chat_template.len);
    h = rmb_digest_bytes(h, RMB_FILE_TOKENIZER, t.tokenizer.s, t.tokenizer.len);
    *out = rmb_digest_bytes(h, RMB_FILE_TOKENIZER_CONFIG, t.config.s, t.config.len);
    return RMB_OK;
}

/* A GGUF file is digested through a mapping of its own, given back at
 * once, so that the weights the model released stay released. */
rmb_status rmb_checkpoint_model_digest(const rmb_checkpoint *ck, uint64_t *out, rmb_error *err)
{
    return ck->is_gguf ? rmb_digest_file(RMB_FNV_OFFSET, ck->path, NULL, out, err)
                       : rmb_digest_dir(RMB_FNV_OFFSET, ck->path, model_files, 2, out, err);
}

rmb_status rmb_checkpoint_open_tokenizer(const char *path, rmb_tokenizer **out, rmb_error *err)
{
    *out = NULL;
    if (!is_gguf_name(path))
        return rmb_tokenizer_open(out, path, err);
    rmb_checkpoint *ck;
    rmb_status st = rmb_checkpoint_open(&ck, path, err);
    if (st == RMB_OK)
        st = rmb_checkpoint_tokenizer(ck, out, err);
    rmb_checkpoint_close(ck);
    return st;
}
