/* Chat templates: finding a model's template and special tokens, and
 * rendering conversations with the variables transformers passes
 * (messages, add_generation_prompt, tools=None, documents=None and the
 * special tokens the tokenizer config defines). */
#include "rmb/chat_template.h"

#include "common/fileio.h"
#include "text/jinja.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rmb_chat_template {
    jinja_template *jinja;
    json_t *tokens; /* special-token variables; only read while rendering */
};

void rmb_chat_template_close(rmb_chat_template *t)
{
    if (!t)
        return;
    jinja_free(t->jinja);
    json_decref(t->tokens);
    free(t);
}

/* Parses source[0..len); origin names where it came from in error
 * messages. */
static rmb_status parse_with_tokens(rmb_chat_template **out, const char *source, size_t len,
                                    json_t *tokens, const char *origin, rmb_error *err)
{
    *out = NULL;
    rmb_chat_template *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(tokens);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    t->tokens = tokens;
    rmb_error local;
    if (!err)
        err = &local;
    if (jinja_parse(&t->jinja, source, len, err)) {
        rmb_chat_template_close(t);
        return rmb_error_prefix(err, "%s: ", origin);
    }
    *out = t;
    return RMB_OK;
}

rmb_status rmb_chat_template_parse(rmb_chat_template **out, const char *source,
                                   const char *bos_token, const char *eos_token, rmb_error *err)
{
    json_t *tokens = json_object();
    if (!tokens || (bos_token && json_object_set_new(tokens, "bos_token", json_string(bos_token)))
        || (eos_token && json_object_set_new(tokens, "eos_token", json_string(eos_token)))) {
        json_decref(tokens);
        return rmb_fail(err, RMB_ENOMEM, "out of memory (or a token is not valid UTF-8)");
    }
    return parse_with_tokens(out, source, strlen(source), tokens, "chat template", err);
}

/* A special token's text: a string, or an AddedToken object's "content". */
static const char *token_text(const json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The special-token variables of a tokenizer config, as transformers'
 * special_tokens_map: unset (null) tokens are left out. */
static rmb_status read_tokens(const json_t *config, const char *path, json_t **out, rmb_error *err)
{
    static const char *const names[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                        "pad_token", "cls_token", "mask_token"};
    json_t *tokens = json_object();
    if (!tokens)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const json_t *v = json_object_get(config, names[k]);
        if (!v || json_is_null(v))
            continue;
        const char *text = token_text(v);
        if (!text) {
            json_decref(tokens);
            return rmb_fail(err, RMB_EDATA, "%s: %s: expected a string or {\"content\": ...}", path,
                            names[k]);
        }
        json_object_set_new(tokens, names[k], json_string(text));
    }
    const json_t *extra = json_object_get(config, "additional_special_tokens");
    if (json_is_array(extra)) {
        json_t *list = json_array();
        for (size_t i = 0; i < json_array_size(extra); i++) {
            const char *text = token_text(json_array_get(extra, i));
            if (!text) {
                json_decref(list);
                json_decref(tokens);
                return rmb_fail(err, RMB_EDATA, "%s: additional_special_tokens[%zu]: expected a string",
                                path, i);
            }
            json_array_append_new(list, json_string(text));
        }
        json_object_set_new(tokens, "additional_special_tokens", list);
    }
    *out = tokens;
    return RMB_OK;
}

/* chat_template as a string, or the "default" of a list of named ones. */
static rmb_status pick_template(const json_t *value, const char *path, const char **source,
                                rmb_error *err)
{
    if (json_is_string(value)) {
        *source = json_string_value(value);
        return RMB_OK;
    }
    if (!json_is_array(value))
        return rmb_fail(err, RMB_EDATA, "%s: chat_template: expected a string or a list of "
                        "{\"name\", \"template\"}", path);
    for (size_t i = 0; i < json_array_size(value); i++) {
        const json_t *item = json_array_get(value, i);
        const json_t *name = json_object_get(item, "name"), *tpl = json_object_get(item, "template");
        if (!json_is_string(name) || !json_is_string(tpl))
            return rmb_fail(err, RMB_EDATA, "%s: chat_template[%zu]: expected {\"name\": string, "
                            "\"template\": string}", path, i);
        if (!strcmp(json_string_value(name), "default")) {
            *source = json_string_value(tpl);
            return RMB_OK;
        }
    }
    return rmb_fail(err, RMB_EDATA, "%s: chat_template: no template is named \"default\"", path);
}

/* The template from chat_template.jinja or chat_template.json beside the
 * config: *source and *len, and in name the file's path; *source is NULL
 * (and no error) when neither exists, name then saying so. */
static rmb_status read_template_file(const char *dir, char **source, size_t *len, char *name,
                                     size_t name_size, rmb_error *err)
{
    *source = NULL;
    *len = 0;
    snprintf(name, name_size, "%s/chat_template.jinja", dir);
    FILE *probe = fopen(name, "rb");
    if (probe) {
        fclose(probe);
        return rmb_read_file(name, source, len, err);
    }
    snprintf(name, name_size, "%s/chat_template.json", dir);
    if (!(probe = fopen(name, "rb"))) {
        snprintf(name, name_size, "chat_template.jinja or chat_template.json");
        return RMB_OK;
    }
    fclose(probe);
    json_error_t jerr;
    json_t *doc = json_load_file(name, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!doc)
        return rmb_fail(err, RMB_EDATA, "%s: line %d: %s", name, jerr.line, jerr.text);
    const char *text = NULL;
    rmb_status st = pick_template(json_object_get(doc, "chat_template"), name, &text, err);
    if (!st && !(*source = strdup(text)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (*source)
        *len = strlen(*source);
    json_decref(doc);
    return st;
}

/* tokenizer_config.json's text as a JSON object. */
static rmb_status parse_config(const char *text, size_t len, const char *name, json_t **out,
                               rmb_error *err)
{
    json_error_t jerr;
    *out = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!*out)
        return rmb_fail(err, RMB_EDATA, "%s: %s (line %d)", name, jerr.text, jerr.line);
    if (json_is_object(*out))
        return RMB_OK;
    json_decref(*out);
    *out = NULL;
    return rmb_fail(err, RMB_EDATA, "%s: expected a JSON object", name);
}

/* The config's chat_template, else the separate template: a NUL-terminated
 * copy in *source (the lexer reads numbers with strtoll), *len bytes, and
 * in origin where it came from. */
static rmb_status pick_source(const json_t *config, const char *config_name, const char *text,
                              size_t len, const char *text_name, char **source, size_t *out_len,
                              char *origin, size_t origin_size, rmb_error *err)
{
    const json_t *value = json_object_get(config, "chat_template");
    snprintf(origin, origin_size, "%s", text_name);
    if (value && !json_is_null(value)) {
        snprintf(origin, origin_size, "%s: chat_template", config_name);
        rmb_status st = pick_template(value, config_name, &text, err);
        if (st)
            return st;
        len = strlen(text);
    } else if (!text) {
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "%s: the model has no chat template (none in it, and no %s)", config_name,
                        text_name);
    }
    if (!(*source = malloc(len + 1)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    memcpy(*source, text, len);
    (*source)[len] = 0;
    *out_len = len;
    return RMB_OK;
}

rmb_status rmb_chat_template_load(rmb_chat_template **out, const char *config_json,
                                  size_t config_len, const char *config_name,
                                  const char *template_source, size_t template_len,
                                  const char *template_name, rmb_error *err)
{
    *out = NULL;
    json_t *config, *tokens = NULL;
    char *source = NULL, origin[4200];
    size_t len = 0;
    rmb_status st = parse_config(config_json, config_len, config_name, &config, err);
    if (st == RMB_OK && !(st = read_tokens(config, config_name, &tokens, err)) &&
        !(st = pick_source(config, config_name, template_source, template_len, template_name,
                           &source, &len, origin, sizeof origin, err))) {
        st = parse_with_tokens(out, source, len, tokens, origin, err);
        tokens = NULL;
    }
    json_decref(tokens);
    json_decref(config);
    free(source);
    return st;
}

rmb_status rmb_chat_template_open(rmb_chat_template **out, const char *model_dir, rmb_error *err)
{
    *out = NULL;
    char path[4096], template_name[4200];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", model_dir);
    char *config = NULL, *source = NULL;
    size_t config_len, len;
    rmb_status st = rmb_read_file(path, &config, &config_len, err);
    if (!st)
        st = read_template_file(model_dir, &source, &len, template_name, sizeof template_name, err);
    if (!st)
        st = rmb_chat_template_load(out, config, config_len, path, source, len, template_name,
                                    err);
    free(config);
    free(source);
    return st;
}

rmb_status rmb_chat_template_render_json(const rmb_chat_template *t, json_t *messages,
                                         bool add_generation_prompt, char **text, rmb_error *err)
{
    *text = NULL;
    json_t *vars = json_object();
    if (!vars || !messages || json_object_set(vars, "messages", messages)
        || json_object_set_new(vars, "add_generation_prompt", json_boolean(add_generation_prompt))
        || json_object_set_new(vars, "tools", json_null())
        || json_object_set_new(vars, "documents", json_null())) {
        json_decref(vars);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    rmb_error local;
    if (!err)
        err = &local;
    size_t len;
    rmb_status st = jinja_render(t->jinja, t->tokens, vars, text, &len, err);
    json_decref(vars);
    return st ? rmb_error_prefix(err, "chat template: ") : RMB_OK;
}

rmb_status rmb_chat_template_render(const rmb_chat_template *t, const rmb_message *messages,
                                    size_t n_messages, bool add_generation_prompt, char **text,
                                    rmb_error *err)
{
    *text = NULL;
    json_t *list = json_array();
    for (size_t i = 0; list && i < n_messages; i++) {
        json_t *m = json_pack("{s:s?, s:s?}", "role", messages[i].role, "content",
                              messages[i].content);
        if (!m || json_array_append_new(list, m)) {
            json_decref(list);
            return rmb_fail(err, RMB_EDATA, "message %zu: role or content is not valid UTF-8", i);
        }
    }
    rmb_status st = rmb_chat_template_render_json(t, list, add_generation_prompt, text, err);
    json_decref(list);
    return st;
}


rmb_status rmb_chat_template_render_answer(const rmb_chat_template *tpl,
                                           const rmb_conversation *conv, const char *answer,
                                           char **text, rmb_error *err)
{
    *text = NULL;
    if (!tpl)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "the model has no chat template, so its conversations cannot be rendered");
    rmb_message *msgs = malloc((conv->n_messages + 1) * sizeof *msgs);
    if (!msgs)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (conv->n_messages)
        memcpy(msgs, conv->messages, conv->n_messages * sizeof *msgs);
    msgs[conv->n_messages] = (rmb_message){"assistant", answer};
    rmb_status st = rmb_chat_template_render(tpl, msgs, conv->n_messages + 1, false, text, err);
    free(msgs);
    return st;
}
