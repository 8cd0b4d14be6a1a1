/* rmb: a model checkpoint, identified and opened once.
 *
 * A checkpoint is either a Hugging Face directory (config.json,
 * model.safetensors or its shards, tokenizer.json, tokenizer_config.json,
 * chat_template.jinja) or the single GGUF file rmb convert makes of one
 * (docs/gguf.md), whose rmb.* keys hold those texts.  Opening decides which
 * it is and maps a GGUF file; the model (rmb_model_open_checkpoint), the
 * tokenizer and the chat template are then all read from the one handle. */
#ifndef RMB_CHECKPOINT_H
#define RMB_CHECKPOINT_H

#include "rmb/chat_template.h"
#include "rmb/common.h"
#include "rmb/tokenizer.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rmb_checkpoint rmb_checkpoint;

/* Whether path is taken as a GGUF file: a regular file, or a name ending in
 * .gguf that is no directory (so a missing one is reported as a missing
 * file).  Anything else is taken as a checkpoint directory. */
bool rmb_checkpoint_is_gguf(const char *path);

/* Opens path, a GGUF file or a directory as rmb_checkpoint_is_gguf tells.
 * A directory's files are read only when asked for (so errors name the
 * file that is missing or broken); a GGUF file is mapped and parsed here,
 * errors naming the file and what is wrong. */
rmb_status rmb_checkpoint_open(rmb_checkpoint **out, const char *path, rmb_error *err);
/* Unmaps and frees (NULL is fine); whatever was opened from it must be
 * closed first. */
void rmb_checkpoint_close(rmb_checkpoint *ck);

/* The path it was opened with. */
const char *rmb_checkpoint_path(const rmb_checkpoint *ck);
/* "gguf" or "safetensors". */
const char *rmb_checkpoint_format(const rmb_checkpoint *ck);

/* The checkpoint's tokenizer (tokenizer.json, or rmb.tokenizer_json). */
rmb_status rmb_checkpoint_tokenizer(const rmb_checkpoint *ck, rmb_tokenizer **out,
                                    rmb_error *err);
/* Its chat template and special tokens (tokenizer_config.json and
 * chat_template.jinja, or rmb.tokenizer_config_json and rmb.chat_template). */
rmb_status rmb_checkpoint_chat_template(const rmb_checkpoint *ck, rmb_chat_template **out,
                                        rmb_error *err);

/* A digest of what decides the token ids: tokenizer.json,
 * tokenizer_config.json and chat_template.jinja.  A GGUF file gives the
 * digest of the files its texts came from, so both encode alike and say so. */
rmb_status rmb_checkpoint_text_digest(const rmb_checkpoint *ck, uint64_t *out, rmb_error *err);
/* A digest of what decides the scores given the ids: every byte of a GGUF
 * file, or a directory's config.json and *.safetensors files. */
rmb_status rmb_checkpoint_model_digest(const rmb_checkpoint *ck, uint64_t *out, rmb_error *err);

/* Opens the tokenizer at path: a GGUF file when the name ends in .gguf,
 * else a tokenizer.json file or a directory holding one (rmb tokenize's
 * --tokenizer). */
rmb_status rmb_checkpoint_open_tokenizer(const char *path, rmb_tokenizer **out, rmb_error *err);

#ifdef __cplusplus
}
#endif
#endif
