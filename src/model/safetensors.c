/* Safetensors parsing.  Every byte of the header is outside input: lengths
 * are checked before use, sizes are computed with overflow checks, and an
 * entry must describe exactly the bytes its dtype and shape need, inside the
 * file. */
#include "model/safetensors.h"

#include "common/fileio.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Real headers are a few hundred KiB; anything far larger is not a header. */
#define MAX_HEADER_BYTES (100u << 20)

/* Indexed by rmb_dtype.  The first SAFETENSORS_DTYPES are those a
 * safetensors file may hold. */
static const struct {
    const char *name;
    rmb_dtype dtype;
    size_t block, block_bytes;
} dtypes[] = {{"F32", RMB_DT_F32, 1, 4},
              {"F16", RMB_DT_F16, 1, 2},
              {"BF16", RMB_DT_BF16, 1, 2},
              {"Q8_0", RMB_DT_Q8_0, 32, 34},
              {"Q4_K", RMB_DT_Q4_K, 256, 144},
              {"Q6_K", RMB_DT_Q6_K, 256, 210},
              {"BF16 (prepacked)", RMB_DT_BF16_PANELS, 1, 2}};
#define SAFETENSORS_DTYPES 3

size_t rmb_dtype_bytes(rmb_dtype dt, size_t n)
{
    return n / dtypes[dt].block * dtypes[dt].block_bytes;
}

size_t rmb_dtype_block(rmb_dtype dt)
{
    return dtypes[dt].block;
}

const char *rmb_dtype_name(rmb_dtype dt)
{
    return dtypes[dt].name;
}

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp(((const rmb_tensor *)a)->name, ((const rmb_tensor *)b)->name);
}

void rmb_tensors_sort(rmb_tensor *t, size_t n)
{
    if (n)
        qsort(t, n, sizeof *t, cmp_tensor);
}

static rmb_status parse_dtype(const char *file, const char *name, json_t *v, rmb_tensor *t,
                              rmb_error *err)
{
    const char *s = json_string_value(v);
    if (!s)
        return rmb_fail(err, RMB_EDATA, "%s: %s: dtype: missing or not a string", file, name);
    for (size_t i = 0; i < SAFETENSORS_DTYPES; i++)
        if (!strcmp(s, dtypes[i].name)) {
            t->dtype = dtypes[i].dtype;
            return RMB_OK;
        }
    return rmb_fail(err, RMB_EUNSUPPORTED, "%s: %s: dtype: '%s' is not supported (F32, F16, BF16)",
                    file, name, s);
}

/* Shape must be an array of at most RMB_MAX_DIMS non-negative integers whose
 * byte size fits in size_t. */
static rmb_status parse_shape(const char *file, const char *name, json_t *v, rmb_tensor *t,
                              size_t *n_bytes, rmb_error *err)
{
    if (!json_is_array(v) || json_array_size(v) > RMB_MAX_DIMS)
        return rmb_fail(err, RMB_EDATA, "%s: %s: shape: not an array of at most %d dimensions",
                        file, name, RMB_MAX_DIMS);
    size_t bytes = rmb_dtype_bytes(t->dtype, 1);
    t->n_dims = (int)json_array_size(v);
    for (int i = 0; i < t->n_dims; i++) {
        json_t *d = json_array_get(v, (size_t)i);
        json_int_t n = json_is_integer(d) ? json_integer_value(d) : -1;
        if (n < 0)
            return rmb_fail(err, RMB_EDATA, "%s: %s: shape[%d]: not a non-negative integer", file,
                            name, i);
        t->shape[i] = n;
        if (n && bytes > SIZE_MAX / (uint64_t)n)
            return rmb_fail(err, RMB_EDATA, "%s: %s: shape: size overflows", file, name);
        bytes *= (size_t)n;
    }
    *n_bytes = bytes;
    return RMB_OK;
}

static rmb_status parse_entry(const char *file, const char *name, json_t *entry,
                              const uint8_t *body, size_t body_size, rmb_tensor *t,
                              rmb_error *err)
{
    if (!json_is_object(entry))
        return rmb_fail(err, RMB_EDATA, "%s: %s: not an object", file, name);
    size_t want = 0;
    rmb_status st = parse_dtype(file, name, json_object_get(entry, "dtype"), t, err);
    if (st == RMB_OK)
        st = parse_shape(file, name, json_object_get(entry, "shape"), t, &want, err);
    if (st != RMB_OK)
        return st;
    json_t *off = json_object_get(entry, "data_offsets");
    json_t *b = json_array_get(off, 0), *e = json_array_get(off, 1);
    if (!json_is_array(off) || json_array_size(off) != 2 || !json_is_integer(b) ||
        !json_is_integer(e))
        return rmb_fail(err, RMB_EDATA, "%s: %s: data_offsets: not [begin, end]", file, name);
    json_int_t begin = json_integer_value(b), end = json_integer_value(e);
    if (begin < 0 || end < begin || (uint64_t)end > body_size)
        return rmb_fail(err, RMB_EDATA,
                        "%s: %s: data_offsets: [%lld, %lld] outside the %zu data bytes (truncated "
                        "file?)",
                        file, name, (long long)begin, (long long)end, body_size);
    if ((uint64_t)(end - begin) != want)
        return rmb_fail(err, RMB_EDATA,
                        "%s: %s: data_offsets: %lld bytes, but dtype %s and the shape need %zu",
                        file, name, (long long)(end - begin), rmb_dtype_name(t->dtype), want);
    t->data = body + begin;
    t->n_bytes = want;
    t->name = strdup(name);
    return t->name ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
}

static rmb_status parse_header(rmb_st_file *out, json_t *root, const uint8_t *body,
                               size_t body_size, const char *file, rmb_error *err)
{
    out->tensors = calloc(json_object_size(root) + 1, sizeof *out->tensors);
    if (!out->tensors)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        if (!strcmp(key, "__metadata__"))
            continue;
        rmb_tensor *t = &out->tensors[out->n_tensors];
        rmb_status st = parse_entry(file, key, value, body, body_size, t, err);
        if (st != RMB_OK)
            return st;
        t->file = out->path;
        out->n_tensors++;
    }
    rmb_tensors_sort(out->tensors, out->n_tensors);
    return RMB_OK;
}

rmb_status rmb_safetensors_parse(rmb_st_file *out, const void *data, size_t size,
                                 const char *name, rmb_error *err)
{
    const uint8_t *p = data;
    if (!out->path && !(out->path = strdup(name)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (size < 8)
        return rmb_fail(err, RMB_EDATA, "%s: %zu bytes, too short for a safetensors header", name,
                        size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | p[i];
    if (n > size - 8 || n > MAX_HEADER_BYTES)
        return rmb_fail(err, RMB_EDATA,
                        "%s: header length %llu exceeds the file (%zu bytes; truncated file?)",
                        name, (unsigned long long)n, size);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rmb_fail(err, RMB_EDATA, "%s: header: invalid JSON at byte %d: %s", name,
                        jerr.position, jerr.text);
    rmb_status st = json_is_object(root)
                        ? parse_header(out, root, p + 8 + n, size - 8 - (size_t)n, name, err)
                        : rmb_fail(err, RMB_EDATA, "%s: header: not a JSON object", name);
    json_decref(root);
    return st;
}

rmb_status rmb_safetensors_open(rmb_st_file *out, const char *path, rmb_error *err)
{
    memset(out, 0, sizeof *out);
    rmb_status st = rmb_map_file(path, &out->map, &out->map_size, err);
    if (st == RMB_OK && out->map_size < 8)
        st = rmb_fail(err, RMB_EDATA, "%s: %zu bytes, too short for a safetensors header", path,
                      out->map_size);
    if (st == RMB_OK)
        st = rmb_safetensors_parse(out, out->map, out->map_size, path, err);
    if (st != RMB_OK)
        rmb_safetensors_close(out);
    return st;
}

void rmb_safetensors_close(rmb_st_file *f)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    rmb_unmap_file(f->map, f->map_size);
    free(f->path);
    memset(f, 0, sizeof *f);
}
