/* Local prompt encoding for scorers that need token ids (the native engine,
 * remote servers fed ids): the tokenizer and chat template of one directory
 * or GGUF file, the --max-length/--truncation rule, and a digest of the
 * files that decide the ids, for the scorer's fingerprint. */
#ifndef RMB_SCORE_ENCODE_H
#define RMB_SCORE_ENCODE_H

#include "rmb/checkpoint.h"
#include "rmb/prompt.h"
#include "rmb/scorer.h"

#include <stdint.h>

/* The default --max-length of model scorers: RMB's own. */
#define RMB_DEFAULT_MAX_LENGTH 2048

typedef struct rmb_encoder {
    rmb_tokenizer *tok;
    rmb_chat_template *tpl;
    rmb_prompt_options prompt;
    uint64_t digest;  /* of tokenizer.json, tokenizer_config.json, chat_template.jinja */
    size_t encoded;   /* sequences encoded so far */
    size_t tokens;    /* their ids after truncation */
    size_t truncated; /* how many were longer than max_length */
} rmb_encoder;

/* Opens the tokenizer and chat template of model: a directory, or a GGUF
 * file written by rmb convert (its rmb.tokenizer_json,
 * rmb.tokenizer_config_json and rmb.chat_template).  max_length follows
 * rmb_scorer_options: 0 = RMB_DEFAULT_MAX_LENGTH, negative = context_length
 * (the model's; 0 when unknown, which is then an error).  truncation: NULL
 * = "left". */
rmb_status rmb_encoder_open(rmb_encoder **out, const char *model, int max_length,
                            const char *truncation, int context_length, rmb_error *err);
/* The same from an open checkpoint (the model's own, so a GGUF file is
 * mapped once); the encoder keeps nothing of ck. */
rmb_status rmb_encoder_open_checkpoint(rmb_encoder **out, const rmb_checkpoint *ck,
                                       int max_length, const char *truncation,
                                       int context_length, rmb_error *err);
void rmb_encoder_close(rmb_encoder *e);

/* Encodes seqs[0..n): ids[i] (malloc'ed; NULL when item_err[i] failed) and
 * n_ids[i].  A sequence that cannot be rendered or encoded fails alone. */
void rmb_encoder_encode(rmb_encoder *e, const rmb_sequence *seqs, size_t n, int32_t **ids,
                        size_t *n_ids, rmb_error *item_err);

/* "max_length=N truncation=T template+tokenizer=HEX": what the ids depend on. */
void rmb_encoder_describe(const rmb_encoder *e, char *out, size_t size);

/* The ids' statistics as a JSON object's members for a scorer's report:
 * "max_length", "truncation", "sequences", "tokens", "truncated". */
struct json_t;
int rmb_encoder_report(const rmb_encoder *e, struct json_t *obj);

#endif
