/* GGUF reading and writing.  Every byte of a file read is outside input:
 * counts are bounded by the bytes left before anything is allocated, sizes
 * are computed with overflow checks, and each tensor must lie, aligned and
 * without overlapping another, inside the file. */
#include "model/gguf.h"

#include "common/buf.h"
#include "common/fileio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_VERSION 3

static const struct {
    rmb_ggml_type type;
    const char *name;
    uint32_t block, bytes; /* values per block, bytes per block */
} ggml_types[] = {
    {RMB_GGML_F32, "F32", 1, 4},      {RMB_GGML_F16, "F16", 1, 2},
    {RMB_GGML_Q4_0, "Q4_0", 32, 18},  {RMB_GGML_Q8_0, "Q8_0", RMB_Q8_0_BLOCK, RMB_Q8_0_BYTES},
    {RMB_GGML_Q4_K, "Q4_K", 256, 144}, {RMB_GGML_Q6_K, "Q6_K", 256, 210},
    {RMB_GGML_BF16, "BF16", 1, 2},
};

static int type_index(rmb_ggml_type t)
{
    for (size_t i = 0; i < sizeof ggml_types / sizeof ggml_types[0]; i++)
        if (ggml_types[i].type == t)
            return (int)i;
    return -1;
}

const char *rmb_ggml_type_name(rmb_ggml_type t)
{
    int i = type_index(t);
    return i < 0 ? NULL : ggml_types[i].name;
}

bool rmb_ggml_nbytes(rmb_ggml_type t, uint64_t n, size_t *out)
{
    int i = type_index(t);
    if (i < 0 || n % ggml_types[i].block)
        return false;
    uint64_t blocks = n / ggml_types[i].block;
    if (blocks > SIZE_MAX / ggml_types[i].bytes)
        return false;
    *out = (size_t)blocks * ggml_types[i].bytes;
    return true;
}

/* Sizes of the fixed-size value types; 0 for string and array. */
static size_t vtype_size(uint32_t t)
{
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof sizes / sizeof sizes[0] ? sizes[t] : 0;
}

/* ---- reading ---- */

typedef struct cursor {
    const uint8_t *base;
    size_t size, pos;
    const char *file;
    rmb_error *err;
} cursor;

static size_t left(const cursor *c)
{
    return c->size - c->pos;
}

static rmb_status need(cursor *c, size_t n, const char *what, const char *field)
{
    if (n <= left(c))
        return RMB_OK;
    return rmb_fail(c->err, RMB_EDATA,
                    "%s: %s: %s: needs %zu bytes at offset %zu but the file has %zu (truncated "
                    "file?)",
                    c->file, what, field, n, c->pos, c->size);
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static rmb_status get_uint(cursor *c, size_t n, const char *what, const char *field,
                           uint64_t *out)
{
    *out = 0;
    rmb_status st = need(c, n, what, field);
    if (st != RMB_OK)
        return st;
    *out = le(c->base + c->pos, n);
    c->pos += n;
    return RMB_OK;
}

static rmb_status get_str(cursor *c, const char *what, const char *field, rmb_gguf_str *out)
{
    uint64_t len;
    out->s = NULL;
    out->len = 0;
    rmb_status st = get_uint(c, 8, what, field, &len);
    if (st != RMB_OK)
        return st;
    if (len > left(c))
        return rmb_fail(c->err, RMB_EDATA,
                        "%s: %s: %s: string length %llu exceeds the %zu bytes left (truncated "
                        "file?)",
                        c->file, what, field, (unsigned long long)len, left(c));
    out->s = (const char *)c->base + c->pos;
    out->len = (size_t)len;
    c->pos += (size_t)len;
    return RMB_OK;
}

/* Stores a fixed-size scalar of type t at the cursor into kv. */
static rmb_status get_scalar(cursor *c, uint32_t t, const char *key, rmb_gguf_kv *kv)
{
    uint64_t v;
    size_t n = vtype_size(t);
    if (get_uint(c, n, key, "value", &v))
        return c->err->status;
    if (t == RMB_GGUF_FLOAT32) {
        uint32_t b = (uint32_t)v;
        float f;
        memcpy(&f, &b, 4);
        kv->f = f;
    } else if (t == RMB_GGUF_FLOAT64) {
        memcpy(&kv->f, &v, 8);
    } else if (t == RMB_GGUF_INT8 || t == RMB_GGUF_INT16 || t == RMB_GGUF_INT32 ||
               t == RMB_GGUF_INT64) {
        int shift = (int)(64 - 8 * n); /* sign-extend */
        kv->i = (int64_t)(v << shift) >> shift;
    } else {
        if (t == RMB_GGUF_BOOL && v > 1)
            return rmb_fail(c->err, RMB_EDATA, "%s: %s: value: bool is %llu, not 0 or 1",
                            c->file, key, (unsigned long long)v);
        kv->u = v;
    }
    return RMB_OK;
}

static rmb_status get_array(cursor *c, const char *key, rmb_gguf_kv *kv)
{
    uint64_t elem, n;
    if (get_uint(c, 4, key, "array type", &elem) || get_uint(c, 8, key, "array length", &n))
        return c->err->status;
    if (elem == RMB_GGUF_ARRAY || elem > RMB_GGUF_FLOAT64)
        return rmb_fail(c->err, elem == RMB_GGUF_ARRAY ? RMB_EUNSUPPORTED : RMB_EDATA,
                        "%s: %s: array type: %llu is not a %s", c->file, key,
                        (unsigned long long)elem,
                        elem == RMB_GGUF_ARRAY ? "supported element type (nested arrays)"
                                               : "GGUF value type");
    kv->elem = (rmb_gguf_vtype)elem;
    /* Each element takes at least its size (a string at least its length). */
    size_t min = elem == RMB_GGUF_STRING ? 8 : vtype_size((uint32_t)elem);
    if (n > left(c) / min)
        return rmb_fail(c->err, RMB_EDATA,
                        "%s: %s: array length: %llu elements cannot fit in the %zu bytes left",
                        c->file, key, (unsigned long long)n, left(c));
    kv->n = (size_t)n;
    kv->data = c->base + c->pos;
    if (elem != RMB_GGUF_STRING) {
        c->pos += kv->n * min;
        return RMB_OK;
    }
    if (!(kv->strs = calloc(kv->n + 1, sizeof *kv->strs)))
        return rmb_fail(c->err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < kv->n; i++)
        if (get_str(c, key, "array element", &kv->strs[i]))
            return c->err->status;
    return RMB_OK;
}

/* How much of a name messages show: all of a sane one. */
static int shown(rmb_gguf_str s)
{
    return (int)(s.len < 120 ? s.len : 120);
}

static bool str_eq(rmb_gguf_str s, const char *z)
{
    return strlen(z) == s.len && !memcmp(s.s, z, s.len);
}

static rmb_status get_kv(cursor *c, rmb_gguf_file *f, size_t index, rmb_gguf_kv *kv)
{
    char what[48];
    snprintf(what, sizeof what, "key/value %zu", index);
    uint64_t t;
    if (get_str(c, what, "key", &kv->key))
        return c->err->status;
    /* Messages name the key from here on (cut to a sane length). */
    char key[160];
    snprintf(key, sizeof key, "%.*s", shown(kv->key), kv->key.s);
    if (kv->key.len == 0)
        return rmb_fail(c->err, RMB_EDATA, "%s: %s: key: empty", c->file, what);
    for (size_t i = 0; i < index; i++)
        if (f->kvs[i].key.len == kv->key.len && !memcmp(f->kvs[i].key.s, kv->key.s, kv->key.len))
            return rmb_fail(c->err, RMB_EDATA, "%s: %s: key: duplicate", c->file, key);
    if (get_uint(c, 4, key, "type", &t))
        return c->err->status;
    if (t > RMB_GGUF_FLOAT64)
        return rmb_fail(c->err, RMB_EDATA, "%s: %s: type: %llu is not a GGUF value type",
                        c->file, key, (unsigned long long)t);
    kv->type = (rmb_gguf_vtype)t;
    if (t == RMB_GGUF_STRING)
        return get_str(c, key, "value", &kv->str);
    if (t == RMB_GGUF_ARRAY)
        return get_array(c, key, kv);
    return get_scalar(c, (uint32_t)t, key, kv);
}

static rmb_status get_tensor_info(cursor *c, size_t index, rmb_gguf_tensor *t)
{
    char what[48];
    snprintf(what, sizeof what, "tensor %zu", index);
    uint64_t n_dims, type;
    if (get_str(c, what, "name", &t->name))
        return c->err->status;
    char name[160];
    snprintf(name, sizeof name, "%.*s", shown(t->name), t->name.s);
    if (get_uint(c, 4, name, "n_dims", &n_dims))
        return c->err->status;
    if (n_dims < 1 || n_dims > RMB_GGUF_MAX_DIMS)
        return rmb_fail(c->err, RMB_EDATA, "%s: %s: n_dims: %llu is not in 1..%d", c->file, name,
                        (unsigned long long)n_dims, RMB_GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    uint64_t count = 1;
    for (int d = 0; d < t->n_dims; d++) {
        if (get_uint(c, 8, name, "dimensions", &t->ne[d]))
            return c->err->status;
        if (t->ne[d] && count > INT64_MAX / t->ne[d])
            return rmb_fail(c->err, RMB_EDATA, "%s: %s: dimensions: element count overflows",
                            c->file, name);
        count *= t->ne[d];
    }
    if (get_uint(c, 4, name, "type", &type) || get_uint(c, 8, name, "offset", &t->offset))
        return c->err->status;
    t->type = (rmb_ggml_type)type;
    if (!rmb_ggml_type_name(t->type))
        return rmb_fail(c->err, RMB_EUNSUPPORTED,
                        "%s: %s: type: ggml type %llu is not supported (F32, F16, BF16, Q4_0, "
                        "Q8_0, Q4_K, Q6_K)",
                        c->file, name, (unsigned long long)type);
    if (!rmb_ggml_nbytes(t->type, t->ne[0], &t->n_bytes) ||
        !rmb_ggml_nbytes(t->type, count, &t->n_bytes))
        return rmb_fail(c->err, RMB_EDATA,
                        "%s: %s: dimensions: row length %llu does not fit %s blocks (or the size "
                        "overflows)",
                        c->file, name, (unsigned long long)t->ne[0], rmb_ggml_type_name(t->type));
    return RMB_OK;
}

static int cmp_offset(const void *a, const void *b)
{
    const rmb_gguf_tensor *x = *(rmb_gguf_tensor *const *)a, *y = *(rmb_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Tensors lie aligned inside the data section, without overlapping. */
static rmb_status place_tensors(cursor *c, rmb_gguf_file *f)
{
    size_t data_size = c->size - f->data_offset;
    for (size_t i = 0; i < f->n_tensors; i++) {
        rmb_gguf_tensor *t = &f->tensors[i];
        const char *nm = t->name.s;
        int nl = shown(t->name);
        if (t->offset % f->alignment)
            return rmb_fail(c->err, RMB_EDATA, "%s: %.*s: offset: %llu is not a multiple of %u",
                            c->file, nl, nm, (unsigned long long)t->offset, f->alignment);
        if (t->offset > data_size || t->n_bytes > data_size - t->offset)
            return rmb_fail(c->err, RMB_EDATA,
                            "%s: %.*s: offset: %zu bytes at %llu run past the %zu data bytes "
                            "(truncated file?)",
                            c->file, nl, nm, t->n_bytes, (unsigned long long)t->offset,
                            data_size);
        t->data = c->base + f->data_offset + t->offset;
    }
    rmb_gguf_tensor **order = malloc((f->n_tensors + 1) * sizeof *order);
    if (!order)
        return rmb_fail(c->err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->n_tensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, cmp_offset);
    rmb_status st = RMB_OK;
    for (size_t i = 1; i < f->n_tensors && st == RMB_OK; i++)
        if (order[i - 1]->offset + order[i - 1]->n_bytes > order[i]->offset)
            st = rmb_fail(c->err, RMB_EDATA, "%s: %.*s: offset: overlaps tensor %.*s", c->file,
                          shown(order[i]->name), order[i]->name.s,
                          shown(order[i - 1]->name), order[i - 1]->name.s);
    free(order);
    return st;
}

static rmb_status get_alignment(cursor *c, rmb_gguf_file *f)
{
    f->alignment = RMB_GGUF_DEFAULT_ALIGNMENT;
    const rmb_gguf_kv *kv = rmb_gguf_find_kv(f, RMB_GGUF_KEY_ALIGNMENT);
    if (!kv)
        return RMB_OK;
    if (kv->type != RMB_GGUF_UINT32 || kv->u == 0 || (kv->u & (kv->u - 1)))
        return rmb_fail(c->err, RMB_EDATA,
                        "%s: general.alignment: not a uint32 power of two (type %d, value %llu)",
                        c->file, (int)kv->type, (unsigned long long)kv->u);
    f->alignment = (uint32_t)kv->u;
    return RMB_OK;
}

static rmb_status get_counts(cursor *c, rmb_gguf_file *f, uint64_t *n_tensors, uint64_t *n_kvs)
{
    uint64_t version;
    if (need(c, 4, "header", "magic"))
        return c->err->status;
    if (memcmp(c->base, GGUF_MAGIC, 4))
        return rmb_fail(c->err, RMB_EDATA, "%s: header: magic: not a GGUF file", c->file);
    c->pos = 4;
    if (get_uint(c, 4, "header", "version", &version))
        return c->err->status;
    if (version != GGUF_VERSION)
        return rmb_fail(c->err, RMB_EUNSUPPORTED, "%s: header: version: %llu (rmb reads 3)",
                        c->file, (unsigned long long)version);
    f->version = (uint32_t)version;
    if (get_uint(c, 8, "header", "tensor count", n_tensors) ||
        get_uint(c, 8, "header", "key/value count", n_kvs))
        return c->err->status;
    /* A key/value takes at least 13 bytes, a tensor info at least 29. */
    if (*n_kvs > left(c) / 13 || *n_tensors > left(c) / 29)
        return rmb_fail(c->err, RMB_EDATA,
                        "%s: header: %llu key/values and %llu tensors cannot fit in %zu bytes",
                        c->file, (unsigned long long)*n_kvs, (unsigned long long)*n_tensors,
                        c->size);
    return RMB_OK;
}

static rmb_status parse_body(cursor *c, rmb_gguf_file *f)
{
    uint64_t n_tensors = 0, n_kvs = 0;
    if (get_counts(c, f, &n_tensors, &n_kvs))
        return c->err->status;
    f->kvs = calloc((size_t)n_kvs + 1, sizeof *f->kvs);
    f->tensors = calloc((size_t)n_tensors + 1, sizeof *f->tensors);
    if (!f->kvs || !f->tensors)
        return rmb_fail(c->err, RMB_ENOMEM, "out of memory");
    for (; f->n_kvs < n_kvs; f->n_kvs++)
        if (get_kv(c, f, f->n_kvs, &f->kvs[f->n_kvs])) {
            f->n_kvs++; /* so that close frees its strings */
            return c->err->status;
        }
    for (; f->n_tensors < n_tensors; f->n_tensors++) {
        rmb_gguf_tensor *t = &f->tensors[f->n_tensors];
        if (get_tensor_info(c, f->n_tensors, t))
            return c->err->status;
        for (size_t i = 0; i < f->n_tensors; i++)
            if (f->tensors[i].name.len == t->name.len &&
                !memcmp(f->tensors[i].name.s, t->name.s, t->name.len))
                return rmb_fail(c->err, RMB_EDATA, "%s: %.*s: name: duplicate tensor", c->file,
                                shown(t->name), t->name.s);
    }
    if (get_alignment(c, f))
        return c->err->status;
    size_t pad = (f->alignment - c->pos % f->alignment) % f->alignment;
    if (f->n_tensors && pad > left(c))
        return rmb_fail(c->err, RMB_EDATA,
                        "%s: data: the file ends inside the alignment padding (truncated file?)",
                        c->file);
    f->data_offset = pad > left(c) ? c->size : c->pos + pad;
    return place_tensors(c, f);
}

rmb_status rmb_gguf_parse(rmb_gguf_file *out, const void *data, size_t size, const char *name,
                          rmb_error *err)
{
    rmb_error local;
    if (!err)
        err = &local;
    if (!out->path && !(out->path = strdup(name)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    cursor c = {data, size, 0, name, err};
    return parse_body(&c, out);
}

rmb_status rmb_gguf_open(rmb_gguf_file *out, const char *path, rmb_error *err)
{
    memset(out, 0, sizeof *out);
    rmb_status st = rmb_map_file(path, &out->map, &out->map_size, err);
    if (st == RMB_OK && out->map_size == 0)
        st = rmb_fail(err, RMB_EDATA, "%s: an empty file is no GGUF", path);
    if (st == RMB_OK)
        st = rmb_gguf_parse(out, out->map, out->map_size, path, err);
    if (st != RMB_OK)
        rmb_gguf_close(out);
    return st;
}

void rmb_gguf_close(rmb_gguf_file *f)
{
    for (size_t i = 0; i < f->n_kvs; i++)
        free(f->kvs[i].strs);
    free(f->kvs);
    free(f->tensors);
    rmb_unmap_file(f->map, f->map_size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const rmb_gguf_kv *rmb_gguf_find_kv(const rmb_gguf_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_kvs; i++)
        if (str_eq(f->kvs[i].key, key))
            return &f->kvs[i];
    return NULL;
}

const rmb_gguf_tensor *rmb_gguf_find_tensor(const rmb_gguf_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (str_eq(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

rmb_status rmb_gguf_get_str(const rmb_gguf_file *f, const char *key, bool optional,
                            rmb_gguf_str *out, rmb_error *err)
{
    const rmb_gguf_kv *kv = rmb_gguf_find_kv(f, key);
    out->s = NULL;
    out->len = 0;
    if (!kv)
        return optional ? RMB_OK
                        : rmb_fail(err, RMB_EUNSUPPORTED,
                                   "%s: %s: missing; rmb scores GGUF files written by `rmb "
                                   "convert`, which keep the checkpoint's config and tokenizer "
                                   "under rmb.* keys",
                                   f->path, key);
    if (kv->type != RMB_GGUF_STRING)
        return rmb_fail(err, RMB_EDATA, "%s: %s: expected a string (type %d)", f->path, key,
                        (int)kv->type);
    *out = kv->str;
    return RMB_OK;
}

/* ---- encoding ---- */

static uint32_t f32_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

static uint16_t f32_to_bf16(float x)
{
    uint32_t b = f32_bits(x);
    if ((b & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a (quiet) NaN */
        return (uint16_t)(b >> 16 | 0x40);
    return (uint16_t)((b + 0x7fffu + (b >> 16 & 1)) >> 16);
}

/* IEEE half, rounding to nearest even; overflow gives infinity. */
static uint16_t f32_to_f16(float x)
{
    uint32_t b = f32_bits(x);
    uint16_t sign = (uint16_t)(b >> 16 & 0x8000);
    uint32_t a = b & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00;
    if (a >= 0x477ff000u) /* rounds to 65520 or more */
        return sign | 0x7c00;
    if (a < 0x38800000u) { /* below the smallest normal half: a subnormal */
        float m = fabsf(x) * 16777216.0f; /* in units of 2^-24, rounded by rintf */
        return sign | (uint16_t)rintf(m);
    }
    uint32_t r = a - 0x38000000u; /* rebias exponent 127 -> 15 */
    r += 0xfffu + (r >> 13 & 1);
    return sign | (uint16_t)(r >> 13);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void quantize_q8_0(const float *x, uint8_t *out)
{
    float amax = 0;
    for (int i = 0; i < RMB_Q8_0_BLOCK; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
    put16(out, f32_to_f16(d));
    for (int i = 0; i < RMB_Q8_0_BLOCK; i++)
        out[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
}

void rmb_ggml_from_f32(rmb_ggml_type t, const float *src, size_t n, void *dst)
{
    uint8_t *p = dst;
    if (t == RMB_GGML_F32)
        memcpy(dst, src, n * sizeof *src);
    else if (t == RMB_GGML_F16)
        for (size_t i = 0; i < n; i++)
            put16(p + 2 * i, f32_to_f16(src[i]));
    else if (t == RMB_GGML_BF16)
        for (size_t i = 0; i < n; i++)
            put16(p + 2 * i, f32_to_bf16(src[i]));
    else if (t == RMB_GGML_Q8_0)
        for (size_t i = 0; i < n / RMB_Q8_0_BLOCK; i++)
            quantize_q8_0(src + i * RMB_Q8_0_BLOCK, p + i * RMB_Q8_0_BYTES);
}

/* ---- writing ---- */

struct rmb_gguf_writer {
    rmb_outfile out;
    rmb_buf kvs, infos; /* the header's two lists, built in memory */
    uint64_t n_kvs, n_tensors;
    size_t *sizes;        /* bytes of each tensor */
    uint64_t data_size;   /* the data section so far, tensors padded */
    size_t cur, cur_done; /* the tensor being written and its bytes so far */
    bool failed;          /* a write went wrong: finish must not commit */
};

static void put_le(rmb_buf *b, uint64_t v, size_t n)
{
    char bytes[8];
    for (size_t i = 0; i < n; i++)
        bytes[i] = (char)(v >> (8 * i));
    rmb_buf_append(b, bytes, n);
}

static void put_str(rmb_buf *b, const char *s, size_t len)
{
    put_le(b, len, 8);
    rmb_buf_append(b, s, len);
}

static void put_key(rmb_gguf_writer *w, const char *key, rmb_gguf_vtype t)
{
    put_str(&w->kvs, key, strlen(key));
    put_le(&w->kvs, t, 4);
    w->n_kvs++;
}

rmb_status rmb_gguf_writer_open(rmb_gguf_writer **w, const char *path, rmb_error *err)
{
    *w = calloc(1, sizeof **w);
    if (!*w)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = rmb_outfile_open(&(*w)->out, path, err);
    if (st != RMB_OK) {
        free(*w);
        *w = NULL;
        return st;
    }
    rmb_gguf_writer_add_u32(*w, RMB_GGUF_KEY_ALIGNMENT, RMB_GGUF_DEFAULT_ALIGNMENT);
    return RMB_OK;
}

void rmb_gguf_writer_add_u32(rmb_gguf_writer *w, const char *key, uint32_t v)
{
    put_key(w, key, RMB_GGUF_UINT32);
    put_le(&w->kvs, v, 4);
}

void rmb_gguf_writer_add_f32(rmb_gguf_writer *w, const char *key, float v)
{
    put_key(w, key, RMB_GGUF_FLOAT32);
    put_le(&w->kvs, f32_bits(v), 4);
}

void rmb_gguf_writer_add_str(rmb_gguf_writer *w, const char *key, const char *s, size_t len)
{
    put_key(w, key, RMB_GGUF_STRING);
    put_str(&w->kvs, s, len);
}

static uint64_t padding(uint64_t n)
{
    return (RMB_GGUF_DEFAULT_ALIGNMENT - n % RMB_GGUF_DEFAULT_ALIGNMENT) %
           RMB_GGUF_DEFAULT_ALIGNMENT;
}

rmb_status rmb_gguf_writer_add_tensor(rmb_gguf_writer *w, const char *name, rmb_ggml_type t,
                                      int n_dims, const int64_t *shape, rmb_error *err)
{
    uint64_t count = 1;
    size_t bytes = 0;
    bool ok = n_dims >= 1 && n_dims <= RMB_GGUF_MAX_DIMS;
    for (int d = 0; ok && d < n_dims; d++) {
        ok = shape[d] >= 0 && (!shape[d] || count <= INT64_MAX / (uint64_t)shape[d]);
        count *= ok ? (uint64_t)shape[d] : 1;
    }
    if (!ok || !rmb_ggml_nbytes(t, (uint64_t)shape[n_dims - 1], &bytes) ||
        !rmb_ggml_nbytes(t, count, &bytes))
        return rmb_fail(err, RMB_EUSAGE, "%s: shape does not fit type %s", name,
                        rmb_ggml_type_name(t) ? rmb_ggml_type_name(t) : "?");
    size_t *sizes = realloc(w->sizes, (w->n_tensors + 1) * sizeof *sizes);
    if (!sizes)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    w->sizes = sizes;
    sizes[w->n_tensors++] = bytes;
    put_str(&w->infos, name, strlen(name));
    put_le(&w->infos, (uint64_t)n_dims, 4);
    for (int d = n_dims - 1; d >= 0; d--) /* GGUF lists the innermost first */
        put_le(&w->infos, (uint64_t)shape[d], 8);
    put_le(&w->infos, t, 4);
    put_le(&w->infos, w->data_size, 8);
    w->data_size += bytes + padding(bytes);
    return RMB_OK;
}

static rmb_status write_bytes(rmb_gguf_writer *w, const void *p, size_t n, rmb_error *err)
{
    if (n && fwrite(p, 1, n, w->out.fp) != n) {
        w->failed = true;
        return rmb_fail(err, RMB_EIO, "%s: write failed", w->out.path);
    }
    return RMB_OK;
}

static rmb_status write_zeros(rmb_gguf_writer *w, uint64_t n, rmb_error *err)
{
    static const char zeros[RMB_GGUF_DEFAULT_ALIGNMENT];
    return write_bytes(w, zeros, (size_t)n, err);
}

rmb_status rmb_gguf_writer_begin_data(rmb_gguf_writer *w, rmb_error *err)
{
    rmb_buf head = {0};
    rmb_buf_append(&head, GGUF_MAGIC, 4);
    put_le(&head, GGUF_VERSION, 4);
    put_le(&head, w->n_tensors, 8);
    put_le(&head, w->n_kvs, 8);
    rmb_status st = RMB_OK;
    if (head.oom || w->kvs.oom || w->infos.oom)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = write_bytes(w, head.data, head.len, err);
    if (st == RMB_OK)
        st = write_bytes(w, w->kvs.data, w->kvs.len, err);
    if (st == RMB_OK)
        st = write_bytes(w, w->infos.data, w->infos.len, err);
    if (st == RMB_OK)
        st = write_zeros(w, padding(head.len + w->kvs.len + w->infos.len), err);
    rmb_buf_free(&head);
    return st;
}

rmb_status rmb_gguf_writer_write(rmb_gguf_writer *w, const void *data, size_t n, rmb_error *err)
{
    const uint8_t *p = data;
    while (n) {
        if (w->cur >= w->n_tensors) {
            w->failed = true;
            return rmb_fail(err, RMB_EUSAGE, "%s: more tensor bytes than declared",
                            w->out.path);
        }
        size_t take = n < w->sizes[w->cur] - w->cur_done ? n : w->sizes[w->cur] - w->cur_done;
        if (write_bytes(w, p, take, err))
            return err->status;
        p += take;
        n -= take;
        w->cur_done += take;
        if (w->cur_done == w->sizes[w->cur]) {
            if (write_zeros(w, padding(w->cur_done), err))
                return err->status;
            w->cur++;
            w->cur_done = 0;
        }
    }
    return RMB_OK;
}

rmb_status rmb_gguf_writer_finish(rmb_gguf_writer *w, rmb_error *err)
{
    /* Zero-byte tensors need no write call: step over them. */
    while (w->cur < w->n_tensors && w->sizes[w->cur] == 0)
        w->cur++;
    rmb_status st = RMB_OK;
    if (w->failed)
        st = rmb_fail(err, RMB_EUSAGE, "%s: an earlier write failed", w->out.path);
    else if (w->cur != w->n_tensors)
        st = rmb_fail(err, RMB_EUSAGE, "%s: tensor %zu of %llu not written in full", w->out.path,
                      w->cur + 1, (unsigned long long)w->n_tensors);
    if (st == RMB_OK)
        st = rmb_outfile_close(&w->out, err);
    if (st == RMB_OK)
        st = rmb_outfile_commit(&w->out, err);
    rmb_gguf_writer_discard(w);
    return st;
}

void rmb_gguf_writer_discard(rmb_gguf_writer *w)
{
    if (!w)
        return;
    rmb_outfile_discard(&w->out);
    rmb_buf_free(&w->kvs);
    rmb_buf_free(&w->infos);
    free(w->sizes);
    free(w);
}
