/* config.json parsing.  Every size is bounded so that later products
 * (hidden * vocab, heads * head_dim) cannot overflow. */
#include "model/config.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DIM (1L << 20)

rmb_status rmb_config_int(const rmb_config *cfg, json_t *obj, const char *key, long lo, long hi,
                          int *out, rmb_error *err)
{
    json_t *v = json_object_get(obj ? obj : cfg->root, key);
    if (!v || json_is_null(v))
        return RMB_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return rmb_fail(err, RMB_EDATA, "%s: %s: expected an integer in [%ld, %ld]", cfg->path, key,
                        lo, hi);
    *out = (int)json_integer_value(v);
    return RMB_OK;
}

rmb_status rmb_config_num(const rmb_config *cfg, json_t *obj, const char *key, double lo,
                          double hi, double *out, rmb_error *err)
{
    json_t *v = json_object_get(obj ? obj : cfg->root, key);
    if (!v || json_is_null(v))
        return RMB_OK;
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= lo && d <= hi))
        return rmb_fail(err, RMB_EDATA, "%s: %s: expected a number in [%g, %g]", cfg->path, key, lo,
                        hi);
    *out = d;
    return RMB_OK;
}

rmb_status rmb_config_bool(const rmb_config *cfg, json_t *obj, const char *key, bool *out,
                           rmb_error *err)
{
    json_t *v = json_object_get(obj ? obj : cfg->root, key);
    if (!v || json_is_null(v))
        return RMB_OK;
    if (!json_is_boolean(v))
        return rmb_fail(err, RMB_EDATA, "%s: %s: expected true or false", cfg->path, key);
    *out = json_is_true(v);
    return RMB_OK;
}

const char *rmb_config_str(const rmb_config *cfg, json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj ? obj : cfg->root, key));
}

/* A required size. */
static rmb_status need_int(const rmb_config *cfg, const char *key, int *out, rmb_error *err)
{
    *out = -1;
    rmb_status st = rmb_config_int(cfg, NULL, key, 1, MAX_DIM, out, err);
    if (st == RMB_OK && *out < 0)
        st = rmb_fail(err, RMB_EDATA, "%s: %s: missing", cfg->path, key);
    return st;
}

/* num_labels, or the size of id2label, as transformers derives it. */
static rmb_status read_labels(rmb_config *cfg, rmb_error *err)
{
    cfg->num_labels = -1;
    json_t *id2label = json_object_get(cfg->root, "id2label");
    if (json_is_object(id2label))
        cfg->num_labels = (int)json_object_size(id2label);
    return rmb_config_int(cfg, NULL, "num_labels", 1, 1 << 16, &cfg->num_labels, err);
}

static rmb_status read_fields(rmb_config *cfg, rmb_error *err)
{
    json_t *arch = json_object_get(cfg->root, "architectures");
    const char *name = json_string_value(json_array_get(arch, 0));
    if (!name)
        return rmb_fail(err, RMB_EDATA, "%s: architectures: missing or not a list of names",
                        cfg->path);
    if (!(cfg->architecture = strdup(name)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st;
    if ((st = need_int(cfg, "hidden_size", &cfg->hidden, err)) ||
        (st = need_int(cfg, "intermediate_size", &cfg->intermediate, err)) ||
        (st = need_int(cfg, "num_hidden_layers", &cfg->n_layers, err)) ||
        (st = need_int(cfg, "num_attention_heads", &cfg->n_heads, err)) ||
        (st = need_int(cfg, "vocab_size", &cfg->vocab, err)))
        return st;
    cfg->n_kv_heads = cfg->n_heads;
    cfg->head_dim = cfg->hidden / cfg->n_heads;
    cfg->max_positions = 2048;
    cfg->pad_token_id = -1;
    cfg->rms_eps = 1e-6;
    cfg->rope_theta = 10000.0;
    if ((st = rmb_config_int(cfg, NULL, "num_key_value_heads", 1, cfg->n_heads, &cfg->n_kv_heads,
                             err)) ||
        (st = rmb_config_int(cfg, NULL, "head_dim", 1, 4096, &cfg->head_dim, err)) ||
        (st = rmb_config_int(cfg, NULL, "max_position_embeddings", 1, 1 << 26,
                             &cfg->max_positions, err)) ||
        (st = rmb_config_int(cfg, NULL, "pad_token_id", 0, 1L << 30, &cfg->pad_token_id,
                             err)) ||
        (st = rmb_config_num(cfg, NULL, "rms_norm_eps", 0, 1, &cfg->rms_eps, err)) ||
        (st = rmb_config_num(cfg, NULL, "rope_theta", 1, 1e12, &cfg->rope_theta, err)) ||
        (st = read_labels(cfg, err)))
        return st;
    if (cfg->n_heads % cfg->n_kv_heads)
        return rmb_fail(err, RMB_EDATA,
                        "%s: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)",
                        cfg->path, cfg->n_heads, cfg->n_kv_heads);
    if (cfg->head_dim % 2)
        return rmb_fail(err, RMB_EDATA, "%s: head_dim: %d is odd (rotary needs pairs)", cfg->path,
                        cfg->head_dim);
    return RMB_OK;
}

/* Takes root (NULL when it did not parse, jerr saying why); name names
 * the JSON in messages. */
static rmb_status load_root(rmb_config *cfg, json_t *root, const json_error_t *jerr,
                            const char *name, rmb_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->root = root;
    rmb_status st;
    if (!(cfg->path = strdup(name)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    else if (!root)
        st = rmb_fail(err, RMB_EDATA, "%s: line %d: %s", name, jerr->line, jerr->text);
    else if (!json_is_object(root))
        st = rmb_fail(err, RMB_EDATA, "%s: not a JSON object", name);
    else
        st = read_fields(cfg, err);
    if (st != RMB_OK)
        rmb_config_free(cfg);
    return st;
}

rmb_status rmb_config_load(rmb_config *cfg, const char *path, rmb_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    return load_root(cfg, root, &jerr, path, err);
}

rmb_status rmb_config_parse(rmb_config *cfg, const char *text, size_t len, const char *name,
                            rmb_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    return load_root(cfg, root, &jerr, name, err);
}

void rmb_config_free(rmb_config *cfg)
{
    json_decref(cfg->root);
    free(cfg->path);
    free(cfg->architecture);
    memset(cfg, 0, sizeof *cfg);
}
