/* A checkpoint's tensors: model.safetensors, the shards listed by
 * model.safetensors.index.json, or the tensors of the checkpoint's GGUF
 * file, looked up by name with the shape the configuration implies. */
#ifndef RMB_MODEL_WEIGHTS_H
#define RMB_MODEL_WEIGHTS_H

#include "model/checkpoint.h"
#include "model/safetensors.h"

#include <stdbool.h>

typedef struct rmb_weights {
    rmb_st_file *files;
    size_t n_files;
    size_t total_bytes; /* tensor bytes over all files */
    const rmb_gguf_file *gguf; /* the checkpoint's GGUF file (NULL for a directory) */
} rmb_weights;

/* Opens a directory checkpoint's model.safetensors, or every shard named by
 * its model.safetensors.index.json; or takes a GGUF checkpoint's tensors,
 * in its mapping, as files[0]'s (Hugging Face names and shapes: GGUF's
 * dimensions reversed).  GGUF tensors of types the engine does not compute
 * with fail with RMB_EUNSUPPORTED naming the file, tensor and type.  ck
 * must stay open while w is. */
rmb_status rmb_weights_open(rmb_weights *w, const rmb_checkpoint *ck, rmb_error *err);
void rmb_weights_close(rmb_weights *w);

/* The tensor called name, or NULL. */
const rmb_tensor *rmb_weights_find(const rmb_weights *w, const char *name);
/* The tensor called name with exactly the given shape (n_dims sizes), or an
 * error naming the tensor and both shapes.  When optional is true, a missing
 * tensor yields *out = NULL and RMB_OK. */
rmb_status rmb_weights_get(const rmb_weights *w, const char *name, int n_dims,
                           const int64_t *shape, bool optional, const rmb_tensor **out,
                           rmb_error *err);

/* Gives back the memory of t's bytes when they lie in a file mapping (the
 * caller has copied what it needs); a later read maps them again. */
void rmb_weights_release(const rmb_weights *w, const rmb_tensor *t);

/* The product of the tensor's dimensions. */
size_t rmb_tensor_elements(const rmb_tensor *t);

/* Copies a 1-D or 2-D tensor widened to float (for small tensors: norms,
 * biases, heads).  dst holds the tensor's element count. */
void rmb_tensor_to_f32(const rmb_tensor *t, float *dst);

#endif
