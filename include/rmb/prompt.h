/* Conversation + answer to token ids, by the Hugging Face rule.
 *
 * The conversation followed by the answer as an assistant turn is rendered
 * with the model's chat template (add_generation_prompt=false), and the text
 * is encoded WITHOUT adding special tokens again, because the template
 * already wrote them: this is what apply_chat_template(tokenize=True) does.
 * The double_bos option encodes with special tokens instead (so Llama-3
 * gets two <|begin_of_text|>), the behaviour some published RMB results
 * used.  Truncation to max_length keeps the end (left, RMB's default) or
 * the start (right) of the ids; with double_bos the added special tokens
 * are kept and the text's tokens truncated, as Hugging Face tokenizers do. */
#ifndef RMB_PROMPT_H
#define RMB_PROMPT_H

#include "rmb/chat_template.h"
#include "rmb/common.h"
#include "rmb/dataset.h"
#include "rmb/tokenizer.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rmb_truncation { RMB_TRUNCATE_LEFT, RMB_TRUNCATE_RIGHT, RMB_TRUNCATE_NONE } rmb_truncation;

typedef struct rmb_prompt_options {
    int max_length;            /* tokens; 0 = no limit */
    rmb_truncation truncation; /* default LEFT, as RMB */
    bool double_bos;           /* encode the rendered text WITH special tokens again; default
                                  false = as apply_chat_template(tokenize=True) */
} rmb_prompt_options;

/* The defaults: no limit, left truncation, no doubled BOS. */
void rmb_prompt_options_default(rmb_prompt_options *opt);

/* Parses "left", "right" or "none" (a --truncation value). */
rmb_status rmb_truncation_parse(const char *name, rmb_truncation *out, rmb_error *err);
/* The name rmb_truncation_parse reads for t. */
const char *rmb_truncation_name(rmb_truncation t);

/* Renders conv + answer (rmb_chat_template_render_answer), encodes it (add_special =
 * opt->double_bos) and truncates it.
 *   tok: the model's tokenizer.  tpl: its chat template (NULL: an error).
 *   opt: NULL for the defaults.
 *   ids, n_ids: receive the ids (malloc'ed; the caller frees *ids).
 * Fails with RMB_EUSAGE when max_length cannot even hold the special tokens
 * that double_bos adds. */
rmb_status rmb_prompt_encode(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                             const rmb_conversation *conv, const char *answer,
                             const rmb_prompt_options *opt, int32_t **ids, size_t *n_ids,
                             rmb_error *err);

/* rmb_prompt_encode, and *untruncated receives the length the ids had
 * before truncation (*n_ids when nothing was cut): how a caller counts the
 * sequences max_length shortened without encoding them twice. */
rmb_status rmb_prompt_encode_counted(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                                     const rmb_conversation *conv, const char *answer,
                                     const rmb_prompt_options *opt, int32_t **ids,
                                     size_t *n_ids, size_t *untruncated, rmb_error *err);

/* The ids of conv followed by each of its answers (as rmb_prompt_encode),
 * and how many leading ids all of them share: the conversation prefix a
 * model can evaluate once for every answer.  The prefix is found on the ids
 * themselves, so it is exact whatever the template and truncation do.
 *   answers, n_answers: the answers (n_answers >= 1).
 *   ids, n_ids: arrays of n_answers entries the caller provides; each
 *     ids[i] is malloc'ed (the caller frees each).  Nothing is left
 *     allocated on failure.
 *   shared: receives the length of the common prefix. */
rmb_status rmb_prompt_encode_answers(const rmb_tokenizer *tok, const rmb_chat_template *tpl,
                                     const rmb_conversation *conv, const char *const *answers,
                                     size_t n_answers, const rmb_prompt_options *opt,
                                     int32_t **ids, size_t *n_ids, size_t *shared,
                                     rmb_error *err);

#ifdef __cplusplus
}
#endif
#endif
