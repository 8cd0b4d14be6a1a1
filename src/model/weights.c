/* Tensor lookup over one or several safetensors files, or a GGUF file. */
#include "model/weights.h"

#include "common/fileio.h"
#include "model/cpu/kernels.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static rmb_status add_file(rmb_weights *w, const char *dir, const char *name, rmb_error *err)
{
    for (size_t i = 0; i < w->n_files; i++)
        if (!strcmp(strrchr(w->files[i].path, '/') + 1, name))
            return RMB_OK;
    if (strchr(name, '/') || !strcmp(name, "..") || !*name)
        return rmb_fail(err, RMB_EDATA, "%s/model.safetensors.index.json: weight_map: '%s' is not "
                        "a file name in the model directory", dir, name);
    char *path = join(dir, name);
    if (!path)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = rmb_safetensors_open(&w->files[w->n_files], path, err);
    free(path);
    if (st != RMB_OK)
        return st;
    for (size_t i = 0; i < w->files[w->n_files].n_tensors; i++)
        w->total_bytes += w->files[w->n_files].tensors[i].n_bytes;
    w->n_files++;
    return RMB_OK;
}

static rmb_status open_sharded(rmb_weights *w, const char *dir, const char *index_path,
                               rmb_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rmb_fail(err, RMB_EDATA, "%s: line %d: %s", index_path, jerr.line, jerr.text);
    json_t *map = json_object_get(root, "weight_map");
    rmb_status st = RMB_OK;
    if (!json_is_object(map) || !(w->files = calloc(json_object_size(map) + 1, sizeof *w->files)))
        st = rmb_fail(err, json_is_object(map) ? RMB_ENOMEM : RMB_EDATA,
                      "%s: weight_map: missing or not an object", index_path);
    const char *key;
    json_t *value;
    json_object_foreach(map, key, value) {
        if (st != RMB_OK)
            break;
        if (!json_is_string(value))
            st = rmb_fail(err, RMB_EDATA, "%s: weight_map: %s: not a file name", index_path, key);
        else
            st = add_file(w, dir, json_string_value(value), err);
    }
    json_decref(root);
    return st;
}

/* The ggml types the engine computes with, as its dtypes. */
static bool ggml_dtype(rmb_ggml_type t, rmb_dtype *out)
{
    static const struct {
        rmb_ggml_type ggml;
        rmb_dtype dtype;
    } known[] = {{RMB_GGML_F32, RMB_DT_F32},
                 {RMB_GGML_F16, RMB_DT_F16},
                 {RMB_GGML_BF16, RMB_DT_BF16},
                 {RMB_GGML_Q8_0, RMB_DT_Q8_0},
                 {RMB_GGML_Q4_K, RMB_DT_Q4_K},
                 {RMB_GGML_Q6_K, RMB_DT_Q6_K}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].ggml == t) {
            *out = known[i].dtype;
            return true;
        }
    return false;
}

static rmb_status from_gguf(const rmb_gguf_file *g, const rmb_gguf_tensor *src, rmb_tensor *t,
                            rmb_error *err)
{
    if (!ggml_dtype(src->type, &t->dtype))
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "%s: %.*s: ggml type %s is not supported (rmb computes with F32, F16, "
                        "BF16, Q8_0, Q4_K and Q6_K weights)",
                        g->path, (int)(src->name.len < 200 ? src->name.len : 200), src->name.s,
                        rmb_ggml_type_name(src->type));
    if (!(t->name = strndup(src->name.s, src->name.len)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    t->n_dims = src->n_dims;
    for (int d = 0; d < src->n_dims; d++)
        t->shape[d] = (int64_t)src->ne[src->n_dims - 1 - d];
    t->data = src->data;
    t->n_bytes = src->n_bytes;
    t->file = g->path;
    return RMB_OK;
}

/* The GGUF file's tensors as one sorted file of rmb_tensors pointing into
 * its mapping. */
static rmb_status open_gguf(rmb_weights *w, const rmb_gguf_file *g, rmb_error *err)
{
    w->gguf = g;
    rmb_status st;
    rmb_st_file *f = w->files = calloc(1, sizeof *w->files);
    if (!f)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    w->n_files = 1;
    if (!(f->path = strdup(g->path)) ||
        !(f->tensors = calloc(g->n_tensors + 1, sizeof *f->tensors)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (; f->n_tensors < g->n_tensors; f->n_tensors++) {
        rmb_tensor *t = &f->tensors[f->n_tensors];
        if ((st = from_gguf(g, &g->tensors[f->n_tensors], t, err)) != RMB_OK)
            return st;
        w->total_bytes += t->n_bytes;
    }
    rmb_tensors_sort(f->tensors, f->n_tensors);
    return RMB_OK;
}

static rmb_status open_dir(rmb_weights *w, const char *dir, rmb_error *err)
{
    char *index = join(dir, "model.safetensors.index.json");
    if (!index)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    FILE *probe = fopen(index, "r");
    rmb_status st;
    if (probe) {
        fclose(probe);
        st = open_sharded(w, dir, index, err);
    } else if (!(w->files = calloc(1, sizeof *w->files))) {
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    } else {
        st = add_file(w, dir, "model.safetensors", err);
    }
    free(index);
    return st;
}

rmb_status rmb_weights_open(rmb_weights *w, const rmb_checkpoint *ck, rmb_error *err)
{
    memset(w, 0, sizeof *w);
    rmb_status st = ck->is_gguf ? open_gguf(w, &ck->gguf, err) : open_dir(w, ck->path, err);
    if (st != RMB_OK)
        rmb_weights_close(w);
    return st;
}

void rmb_weights_close(rmb_weights *w)
{
    for (size_t i = 0; i < w->n_files; i++)
        rmb_safetensors_close(&w->files[i]);
    free(w->files);
    memset(w, 0, sizeof *w);
}

static int cmp_name(const void *key, const void *t)
{
    return strcmp(key, ((const rmb_tensor *)t)->name);
}

static void format_shape(char *buf, size_t size, int n_dims, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n_dims && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

const rmb_tensor *rmb_weights_find(const rmb_weights *w, const char *name)
{
    const rmb_tensor *t = NULL;
    for (size_t i = 0; i < w->n_files && !t; i++)
        t = bsearch(name, w->files[i].tensors, w->files[i].n_tensors, sizeof(rmb_tensor),
                    cmp_name);
    return t;
}

rmb_status rmb_weights_get(const rmb_weights *w, const char *name, int n_dims,
                           const int64_t *shape, bool optional, const rmb_tensor **out,
                           rmb_error *err)
{
    *out = NULL;
    const rmb_tensor *t = rmb_weights_find(w, name);
    if (!t)
        return optional ? RMB_OK
                        : rmb_fail(err, RMB_EDATA, "%s: tensor '%s' is missing",
                                   w->n_files ? w->files[0].path : "weights", name);
    bool same = t->n_dims == n_dims;
    for (int i = 0; same && i < n_dims; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char have[96], want[96];
        format_shape(have, sizeof have, t->n_dims, t->shape);
        format_shape(want, sizeof want, n_dims, shape);
        return rmb_fail(err, RMB_EDATA,
                        "%s: tensor '%s' has shape %s, but config.json implies %s", t->file, name,
                        have, want);
    }
    *out = t;
    return RMB_OK;
}

static bool inside(const void *p, size_t n, const void *map, size_t size)
{
    uintptr_t a = (uintptr_t)p, m = (uintptr_t)map;
    return map && a >= m && a - m <= size && n <= size - (a - m);
}

void rmb_weights_release(const rmb_weights *w, const rmb_tensor *t)
{
    bool mapped = w->gguf && inside(t->data, t->n_bytes, w->gguf->map, w->gguf->map_size);
    for (size_t i = 0; !mapped && i < w->n_files; i++)
        mapped = inside(t->data, t->n_bytes, w->files[i].map, w->files[i].map_size);
    if (mapped)
        rmb_map_release(t->data, t->n_bytes);
}

size_t rmb_tensor_elements(const rmb_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->n_dims; i++)
        n *= (size_t)t->shape[i];
    return n;
}

void rmb_tensor_to_f32(const rmb_tensor *t, float *dst)
{
    rmb_widen(t->data, t->dtype, 0, rmb_tensor_elements(t), dst);
}
