/* Chat templates: a model's Jinja chat_template rendered to text.
 *
 * rmb interprets the template itself (no Python), with the environment that
 * Hugging Face transformers sets up for apply_chat_template: trim_blocks,
 * lstrip_blocks, loop controls, an immutable sandbox, a tojson filter that
 * keeps non-ASCII text, and the globals raise_exception and strftime_now.
 * The output is meant to be byte-identical to transformers'.  See
 * docs/chat-templates.md for the supported Jinja subset. */
#ifndef RMB_CHAT_TEMPLATE_H
#define RMB_CHAT_TEMPLATE_H

#include "rmb/common.h"
#include "rmb/dataset.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rmb_chat_template rmb_chat_template;

/* Reads model_dir/tokenizer_config.json: its chat_template (a string, or a
 * list of {name, template} of which "default" is used), or else a separate
 * chat_template.jinja or chat_template.json file, as transformers does; and
 * its special tokens (bos_token, eos_token, unk_token, pad_token, sep_token,
 * cls_token, mask_token: strings or {"content": ...} objects, plus
 * additional_special_tokens), which become template variables.  Fails with
 * a clear message when the model has no chat template.
 *   out: receives the template; close it with rmb_chat_template_close.
 *   model_dir: a directory holding tokenizer_config.json.
 *   err: filled on failure (may be NULL). */
rmb_status rmb_chat_template_open(rmb_chat_template **out, const char *model_dir, rmb_error *err);

/* The same from texts held in memory (a GGUF file's rmb.* keys; the
 * directory version reads its files and calls this).
 *   config_json, config_len: tokenizer_config.json's text; config_name
 *     names it in messages.
 *   template_source, template_len: a separate template's text (as
 *     chat_template.jinja), used when the config has no chat_template; NULL
 *     when there is none.  template_name names it in messages. */
rmb_status rmb_chat_template_load(rmb_chat_template **out, const char *config_json,
                                  size_t config_len, const char *config_name,
                                  const char *template_source, size_t template_len,
                                  const char *template_name, rmb_error *err);

/* Parses template source text.
 *   source: the Jinja template (UTF-8, NUL-terminated).
 *   bos_token, eos_token: the values of those variables; NULL leaves the
 *     variable undefined (as transformers does for a model without one). */
rmb_status rmb_chat_template_parse(rmb_chat_template **out, const char *source,
                                   const char *bos_token, const char *eos_token, rmb_error *err);

void rmb_chat_template_close(rmb_chat_template *t);

/* Renders messages to text.  Thread-safe: several threads may render with
 * one template at once.
 *   messages, n_messages: the conversation (role and content of each turn).
 *   add_generation_prompt: the template's add_generation_prompt variable
 *     (appends the assistant header where the template supports it).
 *   text: receives the NUL-terminated text, which the caller frees. */
rmb_status rmb_chat_template_render(const rmb_chat_template *t, const rmb_message *messages,
                                    size_t n_messages, bool add_generation_prompt, char **text,
                                    rmb_error *err);

/* Renders messages given as JSON (an array of objects, only read; each
 * message may carry any field a template reads, as rmb render's input
 * does), otherwise as rmb_chat_template_render. */
struct json_t;
rmb_status rmb_chat_template_render_json(const rmb_chat_template *t, struct json_t *messages,
                                         bool add_generation_prompt, char **text,
                                         rmb_error *err);

/* Renders conv followed by {"role": "assistant", "content": answer} with
 * add_generation_prompt=false: the text a reward model scores.  The caller
 * frees *text.  tpl NULL fails with a clear message (a model without a chat
 * template). */
rmb_status rmb_chat_template_render_answer(const rmb_chat_template *tpl,
                                           const rmb_conversation *conv, const char *answer,
                                           char **text, rmb_error *err);

#ifdef __cplusplus
}
#endif
#endif
