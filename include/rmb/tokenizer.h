/* rmb: Hugging Face tokenizer.json encoder.
 *
 * Loads the tokenizer.json that Hugging Face models ship and encodes text to
 * the very ids that Hugging Face `tokenizers` produces: added/special tokens
 * split out first, then the normalizer, the pre-tokenizer, the BPE model
 * (byte-level or SentencePiece-style with byte fallback) and the
 * post-processor.  Unsupported models (WordPiece, Unigram, WordLevel) and
 * components fail at open with an error that names them. */
#ifndef RMB_TOKENIZER_H
#define RMB_TOKENIZER_H

#include "rmb/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rmb_tokenizer rmb_tokenizer;

/* Loads a tokenizer.  path: a tokenizer.json file, or a model directory
 * containing one.  On success *out is a tokenizer to free with
 * rmb_tokenizer_close; on failure *out is NULL and err names the file, the
 * JSON field and the problem. */
rmb_status rmb_tokenizer_open(rmb_tokenizer **out, const char *path, rmb_error *err);

/* Loads a tokenizer from the len bytes of a tokenizer.json document held in
 * memory; otherwise as rmb_tokenizer_open (errors name the JSON field). */
rmb_status rmb_tokenizer_load(rmb_tokenizer **out, const char *json, size_t len, rmb_error *err);

/* Frees a tokenizer (NULL is fine). */
void rmb_tokenizer_close(rmb_tokenizer *tok);

/* Encodes len bytes of UTF-8 text (invalid UTF-8 is decoded lossily, each
 * invalid stretch -> U+FFFD, as Python's errors="replace" would).
 * add_special: apply the post-processor (BOS etc.) as HF's
 * add_special_tokens=True does.  *ids is malloc'ed (possibly NULL when
 * *n_ids is 0), caller frees.  Thread-safe for concurrent calls on one
 * tokenizer. */
rmb_status rmb_tokenizer_encode(const rmb_tokenizer *tok, const char *text, size_t len,
                                bool add_special, int32_t **ids, size_t *n_ids, rmb_error *err);

/* Token id of a token string (added/special or vocab), or -1. */
int32_t rmb_tokenizer_token_id(const rmb_tokenizer *tok, const char *token);

/* Token string of an id (added/special or vocab), or NULL.  The string
 * lives as long as the tokenizer. */
const char *rmb_tokenizer_token(const rmb_tokenizer *tok, int32_t id);

/* One more than the largest id (vocab and added tokens). */
size_t rmb_tokenizer_vocab_size(const rmb_tokenizer *tok);

#ifdef __cplusplus
}
#endif
#endif
