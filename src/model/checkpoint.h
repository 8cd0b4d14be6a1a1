/* The checkpoint handle's insides (include/rmb/checkpoint.h), for the
 * model module: its configuration and its weights. */
#ifndef RMB_MODEL_CHECKPOINT_H
#define RMB_MODEL_CHECKPOINT_H

#include "rmb/checkpoint.h"

#include "model/config.h"
#include "model/gguf.h"

#include <stdbool.h>

struct rmb_checkpoint {
    char *path;
    bool is_gguf;
    rmb_gguf_file gguf; /* the mapped file when is_gguf (zeroed otherwise) */
};

/* The configuration: dir/config.json, or the GGUF file's rmb.config_json. */
rmb_status rmb_checkpoint_config(const rmb_checkpoint *ck, rmb_config *cfg, rmb_error *err);

#endif
