/* Test driver for rmb_prompt_encode_answers: reads JSON lines
 * {"messages": [...], "answers": ["...", ...]} on stdin and writes, for each
 * line and each setting, a line {"ids": [[...], ...], "shared": N} (all the
 * settings of a line in a row), so that test_prompt_ids.py can compare them
 * with jinja2 + Hugging Face tokenizers.  The tokenizer is loaded once.
 *
 * usage: prompt_tool MODEL_DIR SETTING...
 *   SETTING: MAX_LENGTH:left|right|none:0|1 (1 = double_bos) */
#include "rmb/prompt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const rmb_error *err)
{
    fprintf(stderr, "prompt_tool: %s: %s\n", what, err ? err->msg : "bad input line");
    return 1;
}

static void print_ids(int32_t *const *ids, const size_t *n_ids, size_t n, size_t shared)
{
    fputs("{\"ids\": [", stdout);
    for (size_t a = 0; a < n; a++) {
        fputs(a ? ", [" : "[", stdout);
        for (size_t i = 0; i < n_ids[a]; i++)
            printf(i ? ", %d" : "%d", (int)ids[a][i]);
        fputs("]", stdout);
    }
    printf("], \"shared\": %zu}\n", shared);
}

/* Encodes one input line and prints its ids. */
static int encode_line(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                       const rmb_prompt_options *opt, const char *line)
{
    json_t *doc = json_loads(line, 0, NULL);
    const json_t *list = json_object_get(doc, "messages"), *answers = json_object_get(doc, "answers");
    size_t n = json_array_size(list), n_answers = json_array_size(answers);
    rmb_message *msgs = calloc(n + 1, sizeof *msgs);
    const char **texts = calloc(n_answers + 1, sizeof *texts);
    int32_t **ids = calloc(n_answers + 1, sizeof *ids);
    size_t *n_ids = calloc(n_answers + 1, sizeof *n_ids), shared;
    int rc = !doc || !n_answers || !msgs || !texts || !ids || !n_ids ? fail("input", NULL) : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        msgs[i].role = json_string_value(json_object_get(json_array_get(list, i), "role"));
        msgs[i].content = json_string_value(json_object_get(json_array_get(list, i), "content"));
    }
    for (size_t a = 0; !rc && a < n_answers; a++)
        texts[a] = json_string_value(json_array_get(answers, a));
    rmb_conversation conv = {msgs, n};
    rmb_error err;
    if (!rc && rmb_prompt_encode_answers(tok, tpl, &conv, texts, n_answers, opt, ids, n_ids,
                                         &shared, &err))
        rc = fail("rmb_prompt_encode_answers", &err);
    else if (!rc)
        print_ids(ids, n_ids, n_answers, shared);
    for (size_t a = 0; !rc && a < n_answers; a++)
        free(ids[a]);
    free(msgs), free(texts), free(ids), free(n_ids);
    json_decref(doc);
    return rc;
}

/* Parses MAX_LENGTH:SIDE:DOUBLE into opt. */
static int parse_setting(const char *text, rmb_prompt_options *opt)
{
    char side[16];
    int max_length, double_bos;
    rmb_error err = {0};
    rmb_prompt_options_default(opt);
    if (sscanf(text, "%d:%15[a-z]:%d", &max_length, side, &double_bos) != 3
        || rmb_truncation_parse(side, &opt->truncation, &err))
        return fail("setting", NULL);
    opt->max_length = max_length;
    opt->double_bos = double_bos != 0;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: prompt_tool MODEL_DIR MAX_LENGTH:left|right|none:0|1...\n", stderr);
        return 2;
    }
    size_t n_settings = (size_t)argc - 2;
    rmb_prompt_options *opts = calloc(n_settings, sizeof *opts);
    for (size_t k = 0; k < n_settings; k++)
        if (!opts || parse_setting(argv[2 + k], &opts[k])) {
            free(opts);
            return 2;
        }
    rmb_error err = {0};
    rmb_tokenizer *tok = NULL;
    rmb_chat_template *tpl = NULL;
    int rc = 0;
    if (rmb_tokenizer_open(&tok, argv[1], &err))
        rc = fail("tokenizer", &err);
    else if (rmb_chat_template_open(&tpl, argv[1], &err))
        rc = fail("chat template", &err);
    char *line = NULL;
    size_t cap = 0;
    while (!rc && getline(&line, &cap, stdin) > 0)
        for (size_t k = 0; !rc && k < n_settings; k++)
            rc = encode_line(tok, tpl, &opts[k], line);
    free(line);
    free(opts);
    rmb_chat_template_close(tpl);
    rmb_tokenizer_close(tok);
    return rc;
}
