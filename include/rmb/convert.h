/* rmb: a Hugging Face reward-model checkpoint directory -> one GGUF file
 * (docs/gguf.md): every tensor (reward head included) under its Hugging
 * Face name, matrices in the requested type (norms, biases and other 1-D
 * tensors stay F32; Q8_0 matrices whose rows are not a multiple of 32
 * become F16), llama.cpp's hyperparameter keys, and rmb.* keys holding
 * config.json, tokenizer.json, tokenizer_config.json and
 * chat_template.jinja verbatim. */
#ifndef RMB_CONVERT_H
#define RMB_CONVERT_H

#include "rmb/common.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The type the matrices are written as. */
typedef enum rmb_convert_type {
    RMB_CONVERT_F32,
    RMB_CONVERT_F16,
    RMB_CONVERT_BF16,
    RMB_CONVERT_Q8_0
} rmb_convert_type;

/* Reads "f32", "f16", "bf16" or "q8_0"; false for anything else. */
bool rmb_convert_type_parse(const char *name, rmb_convert_type *out);

/* Converts the checkpoint directory dir to the GGUF file out, written to a
 * temporary file renamed into place at the end: a failure or a
 * cancellation (ctx) leaves no file at out.  A missing tokenizer.json is
 * logged as a warning through ctx (the file then holds no tokenizer);
 * progress is reported as "converting (bytes)".  ctx may be NULL. */
rmb_status rmb_convert(const char *dir, const char *out, rmb_convert_type type,
                       const rmb_context *ctx, rmb_error *err);

#ifdef __cplusplus
}
#endif
#endif
