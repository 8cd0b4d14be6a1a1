/* config.json of a Hugging Face checkpoint: the fields the architectures
 * share, read and range-checked once.  Architecture-specific switches are read
 * by each arch_*.c from the kept JSON root with the same helpers. */
#ifndef RMB_MODEL_CONFIG_H
#define RMB_MODEL_CONFIG_H

#include "rmb/common.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct rmb_config {
    json_t *root;
    char *path;         /* config.json's path (or its name in a GGUF file), for messages */
    char *architecture; /* architectures[0] */
    int hidden, intermediate, n_layers, n_heads, n_kv_heads, head_dim, vocab;
    int max_positions; /* max_position_embeddings */
    int num_labels;    /* -1 when the config does not say */
    int pad_token_id;  /* -1 when none */
    double rms_eps, rope_theta;
} rmb_config;

rmb_status rmb_config_load(rmb_config *cfg, const char *path, rmb_error *err);
/* The same from config.json's len bytes of text held in memory; name (e.g.
 * "FILE.gguf: rmb.config_json") replaces the path in messages. */
rmb_status rmb_config_parse(rmb_config *cfg, const char *text, size_t len, const char *name,
                            rmb_error *err);
void rmb_config_free(rmb_config *cfg);

/* Reads an optional integer key of obj (cfg->root when obj is NULL) into
 * *out, keeping *out when the key is absent or null; fails naming the key
 * when the value is not an integer in [lo, hi]. */
rmb_status rmb_config_int(const rmb_config *cfg, json_t *obj, const char *key, long lo, long hi,
                          int *out, rmb_error *err);
/* The same for a number (integer or real) in [lo, hi]. */
rmb_status rmb_config_num(const rmb_config *cfg, json_t *obj, const char *key, double lo,
                          double hi, double *out, rmb_error *err);
/* The same for a boolean. */
rmb_status rmb_config_bool(const rmb_config *cfg, json_t *obj, const char *key, bool *out,
                           rmb_error *err);
/* A string value, or NULL when absent. */
const char *rmb_config_str(const rmb_config *cfg, json_t *obj, const char *key);

#endif
