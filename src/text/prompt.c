/* Conversation + answer to token ids (see include/rmb/prompt.h for the rule
 * and why the special tokens are not added a second time by default). */
#include "rmb/prompt.h"

#include <stdlib.h>
#include <string.h>

void rmb_prompt_options_default(rmb_prompt_options *opt)
{
    opt->max_length = 0;
    opt->truncation = RMB_TRUNCATE_LEFT;
    opt->double_bos = false;
}

static const char *const truncation_names[] = {"left", "right", "none"}; /* by rmb_truncation */

const char *rmb_truncation_name(rmb_truncation t)
{
    return truncation_names[t];
}

rmb_status rmb_truncation_parse(const char *name, rmb_truncation *out, rmb_error *err)
{
    for (int k = 0; k < 3; k++)
        if (!strcmp(name, truncation_names[k])) {
            *out = (rmb_truncation)k;
            return RMB_OK;
        }
    return rmb_fail(err, RMB_EUSAGE, "truncation: expected left, right or none, not '%s'", name);
}

/* Keeps n of the ids: the last n (left truncation) or the first n. */
static void keep(int32_t *ids, size_t *n_ids, size_t n, rmb_truncation side)
{
    if (*n_ids <= n)
        return;
    if (side == RMB_TRUNCATE_LEFT)
        memmove(ids, ids + (*n_ids - n), n * sizeof *ids);
    *n_ids = n;
}

/* Truncates ids encoded WITH special tokens the way Hugging Face does: the
 * text's tokens are cut so that they and the added tokens fit max.  The
 * added tokens are found by encoding the text without them: the plain ids
 * appear whole inside the full ones. */
static rmb_status truncate_with_specials(const rmb_tokenizer *tok, const char *text, size_t max,
                                         rmb_truncation side, int32_t *ids, size_t *n_ids,
                                         rmb_error *err)
{
    int32_t *plain;
    size_t n_plain;
    rmb_status st = rmb_tokenizer_encode(tok, text, strlen(text), false, &plain, &n_plain, err);
    if (st)
        return st;
    size_t added = n_plain <= *n_ids ? *n_ids - n_plain : 0, at = 0;
    while (n_plain <= *n_ids && at <= added && memcmp(ids + at, plain, n_plain * sizeof *plain))
        at++;
    free(plain);
    if (n_plain > *n_ids || at > added)
        return rmb_fail(err, RMB_EUNSUPPORTED, "the tokenizer's special tokens do not surround "
                        "the text, so the ids cannot be truncated as Hugging Face does");
    if (max < added)
        return rmb_fail(err, RMB_EUSAGE, "max_length %zu cannot hold the %zu special tokens the "
                        "tokenizer adds", max, added);
    size_t budget = max - added, cut = n_plain - budget;
    /* ids = prefix (at) + text (n_plain) + suffix: drop cut text tokens. */
    size_t from = side == RMB_TRUNCATE_LEFT ? at : at + budget;
    memmove(ids + from, ids + from + cut, (*n_ids - from - cut) * sizeof *ids);
    *n_ids -= cut;
    return RMB_OK;
}

rmb_status rmb_prompt_encode(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                             const rmb_conversation *conv, const char *answer,
                             const rmb_prompt_options *opt, int32_t **ids, size_t *n_ids,
                             rmb_error *err)
{
    size_t untruncated;
    return rmb_prompt_encode_counted(tok, tpl, conv, answer, opt, ids, n_ids, &untruncated, err);
}

rmb_status rmb_prompt_encode_counted(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                                     const rmb_conversation *conv, const char *answer,
                                     const rmb_prompt_options *opt, int32_t **ids,
                                     size_t *n_ids, size_t *untruncated, rmb_error *err)
{
    rmb_prompt_options defaults;
    if (!opt) {
        rmb_prompt_options_default(&defaults);
        opt = &defaults;
    }
    *ids = NULL;
    *n_ids = *untruncated = 0;
    if (opt->max_length < 0)
        return rmb_fail(err, RMB_EUSAGE, "max_length must not be negative");
    char *text;
    rmb_status st = rmb_chat_template_render_answer(tpl, conv, answer, &text, err);
    if (st)
        return st;
    st = rmb_tokenizer_encode(tok, text, strlen(text), opt->double_bos, ids, n_ids, err);
    *untruncated = *n_ids;
    size_t max = (size_t)opt->max_length;
    if (!st && max && *n_ids > max && opt->truncation != RMB_TRUNCATE_NONE) {
        if (opt->double_bos)
            st = truncate_with_specials(tok, text, max, opt->truncation, *ids, n_ids, err);
        else
            keep(*ids, n_ids, max, opt->truncation);
    }
    free(text);
    if (st) {
        free(*ids);
        *ids = NULL;
        *n_ids = *untruncated = 0;
    }
    return st;
}

rmb_status rmb_prompt_encode_answers(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                                     const rmb_conversation *conv, const char *const *answers,
                                     size_t n_answers, const rmb_prompt_options *opt,
                                     int32_t **ids, size_t *n_ids, size_t *shared,
                                     rmb_error *err)
{
    *shared = 0;
    for (size_t i = 0; i < n_answers; i++) {
        rmb_status st = rmb_prompt_encode(tok, tpl, conv, answers[i], opt, &ids[i], &n_ids[i], err);
        if (st) {
            size_t failed = i;
            while (i-- > 0) {
                free(ids[i]);
                ids[i] = NULL;
            }
            return err ? rmb_error_prefix(err, "answer %zu: ", failed) : st;
        }
    }
    size_t len = n_answers ? n_ids[0] : 0;
    for (size_t i = 1; i < n_answers; i++) {
        size_t k = 0;
        while (k < len && k < n_ids[i] && ids[i][k] == ids[0][k])
            k++;
        len = k;
    }
    *shared = len;
    return RMB_OK;
}
