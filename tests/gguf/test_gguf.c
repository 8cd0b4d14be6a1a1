/* The GGUF reader on hand-made images (every value type, alignment, two
 * tensors) and on corrupted ones (every truncation, lying sizes, bad
 * alignment, huge counts); the writer round trip; the encoders on values
 * whose IEEE half/bfloat16/Q8_0 encodings are worked out by hand; the
 * engine's weights read from a GGUF file; Q4_K and Q6_K blocks decoded on
 * hand-worked values. */
#include "model/gguf.h"
#include "model/cpu/kernels.h"
#include "model/weights.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

/* ---- a little image builder ---- */

typedef struct img {
    uint8_t b[4096];
    size_t n;
} img;

static void put(img *m, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void put_s(img *m, const char *s)
{
    put(m, strlen(s), 8);
    memcpy(m->b + m->n, s, strlen(s));
    m->n += strlen(s);
}

static void key(img *m, const char *k, uint32_t type)
{
    put_s(m, k);
    put(m, type, 4);
}

static void header(img *m, uint64_t n_tensors, uint64_t n_kvs)
{
    m->n = 0;
    memcpy(m->b, "GGUF", 4);
    m->n = 4;
    put(m, 3, 4);
    put(m, n_tensors, 8);
    put(m, n_kvs, 8);
}

static void tensor(img *m, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                   uint64_t offset)
{
    put_s(m, name);
    put(m, n_dims, 4);
    for (uint32_t i = 0; i < n_dims; i++)
        put(m, ne[i], 8);
    put(m, type, 4);
    put(m, offset, 8);
}

static void pad_to(img *m, size_t align)
{
    while (m->n % align)
        m->b[m->n++] = 0;
}

static uint64_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* The good image: one key of every scalar type, a string, two arrays,
 * alignment 64, an F32 [2 x 3] tensor and a Q8_0 [32] tensor at 64. */
static void good(img *m)
{
    static const uint64_t ne_a[] = {3, 2}, ne_b[] = {32};
    header(m, 2, 16);
    key(m, "u8", 0), put(m, 200, 1);
    key(m, "i8", 1), put(m, (uint8_t)-5, 1);
    key(m, "u16", 2), put(m, 60000, 2);
    key(m, "i16", 3), put(m, (uint16_t)-300, 2);
    key(m, "u32", 4), put(m, 4000000000u, 4);
    key(m, "i32", 5), put(m, (uint32_t)-70000, 4);
    key(m, "f32", 6), put(m, f32_bits(1.5f), 4);
    key(m, "bool", 7), put(m, 1, 1);
    key(m, "str", 8), put_s(m, "hello");
    key(m, "arr16", 9), put(m, 2, 4), put(m, 3, 8), put(m, 1, 2), put(m, 2, 2), put(m, 3, 2);
    key(m, "arrs", 9), put(m, 8, 4), put(m, 2, 8), put_s(m, "a"), put_s(m, "bc");
    key(m, "u64", 10), put(m, 1ull << 40, 8);
    key(m, "i64", 11), put(m, (uint64_t)-(1ll << 40), 8);
    double d = 0.1;
    uint64_t db;
    memcpy(&db, &d, 8);
    key(m, "f64", 12), put(m, db, 8);
    key(m, "empty", 9), put(m, 4, 4), put(m, 0, 8);
    key(m, "general.alignment", 4), put(m, 64, 4);
    tensor(m, "a", 2, ne_a, 0, 0);
    tensor(m, "b", 1, ne_b, 8, 64);
    pad_to(m, 64);
    for (int i = 0; i < 6; i++)
        put(m, f32_bits((float)i), 4);
    pad_to(m, 64);
    for (int i = 0; i < 34; i++)
        put(m, (uint64_t)i, 1);
}

static rmb_status parse(const img *m, size_t n, rmb_gguf_file *f, rmb_error *err)
{
    memset(f, 0, sizeof *f);
    memset(err, 0, sizeof *err);
    return rmb_gguf_parse(f, m->b, n, "test.gguf", err);
}

static void test_good(void)
{
    img m;
    good(&m);
    rmb_gguf_file f;
    rmb_error err;
    CHECK_EQ_INT(parse(&m, m.n, &f, &err), RMB_OK);
    CHECK_EQ_INT(f.n_kvs, 16);
    CHECK_EQ_INT(f.alignment, 64);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "u8")->u, 200);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "i8")->i, -5);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "u16")->u, 60000);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "i16")->i, -300);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "u32")->u, 4000000000u);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "i32")->i, -70000);
    CHECK_NEAR(rmb_gguf_find_kv(&f, "f32")->f, 1.5, 0);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "bool")->u, 1);
    const rmb_gguf_kv *s = rmb_gguf_find_kv(&f, "str");
    CHECK(s->type == RMB_GGUF_STRING && s->str.len == 5 && !memcmp(s->str.s, "hello", 5));
    const rmb_gguf_kv *a = rmb_gguf_find_kv(&f, "arr16");
    CHECK(a->elem == RMB_GGUF_UINT16 && a->n == 3 && ((const uint8_t *)a->data)[4] == 3);
    const rmb_gguf_kv *as = rmb_gguf_find_kv(&f, "arrs");
    CHECK(as->n == 2 && as->strs[1].len == 2 && !memcmp(as->strs[1].s, "bc", 2));
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "u64")->u, 1ull << 40);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "i64")->i, -(1ll << 40));
    CHECK_NEAR(rmb_gguf_find_kv(&f, "f64")->f, 0.1, 0);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "empty")->n, 0);
    CHECK(rmb_gguf_find_kv(&f, "missing") == NULL);
    CHECK_EQ_INT(f.n_tensors, 2);
    const rmb_gguf_tensor *ta = rmb_gguf_find_tensor(&f, "a"), *tb = rmb_gguf_find_tensor(&f, "b");
    CHECK(ta && tb && ta->type == RMB_GGML_F32 && ta->n_dims == 2 && ta->ne[0] == 3);
    CHECK_EQ_INT(f.data_offset % 64, 0);
    CHECK_EQ_INT(ta->n_bytes, 24);
    CHECK_EQ_INT(tb->n_bytes, 34);
    float v;
    memcpy(&v, (const uint8_t *)ta->data + 20, 4);
    CHECK_NEAR(v, 5.0, 0);
    CHECK_EQ_INT(((const uint8_t *)tb->data)[33], 33);
    CHECK((const uint8_t *)tb->data + 34 == m.b + m.n);
    rmb_gguf_close(&f);
}

/* Every proper prefix of the good image is an error naming the file. */
static void test_truncations(void)
{
    img m;
    good(&m);
    for (size_t n = 0; n < m.n; n++) {
        rmb_gguf_file f;
        rmb_error err;
        rmb_status st = parse(&m, n, &f, &err);
        if (st != RMB_EDATA)
            fprintf(stderr, "prefix %zu: status %d\n", n, (int)st);
        CHECK_EQ_INT(st, RMB_EDATA);
        CHECK_CONTAINS(err.msg, "test.gguf: ");
        rmb_gguf_close(&f);
    }
}

static void expect(const img *m, rmb_status want, const char *text)
{
    rmb_gguf_file f;
    rmb_error err;
    CHECK_EQ_INT(parse(m, m->n, &f, &err), want);
    CHECK_CONTAINS(err.msg, text);
    rmb_gguf_close(&f);
}

/* An image of one key/value and one F32 [8] tensor at offset. */
static void one(img *m, const char *k, uint32_t type, uint64_t value, uint64_t offset)
{
    static const uint64_t ne[] = {8};
    header(m, 1, 1);
    key(m, k, type);
    put(m, value, 4);
    tensor(m, "t", 1, ne, 0, offset);
    pad_to(m, 32);
    m->n += 64;
    memset(m->b + m->n - 64, 0, 64);
}

static void test_corrupt(void)
{
    img m;
    one(&m, "x", 4, 7, 0);
    expect(&m, RMB_OK, "");
    m.b[0] = 'X';
    expect(&m, RMB_EDATA, "test.gguf: header: magic");
    one(&m, "x", 4, 7, 0);
    m.b[4] = 2;
    expect(&m, RMB_EUNSUPPORTED, "version: 2");
    header(&m, 1ull << 62, 0);
    expect(&m, RMB_EDATA, "cannot fit");
    header(&m, 0, 1);
    put(&m, 1ull << 40, 8); /* a key claiming a terabyte */
    put(&m, 0, 8);
    expect(&m, RMB_EDATA, "key/value 0: key: string length 1099511627776");
    header(&m, 0, 1);
    key(&m, "big", 9), put(&m, 5, 4), put(&m, 1ull << 61, 8);
    expect(&m, RMB_EDATA, "big: array length");
    header(&m, 0, 1);
    key(&m, "nest", 9), put(&m, 9, 4), put(&m, 1, 8);
    expect(&m, RMB_EUNSUPPORTED, "nest: array type");
    one(&m, "general.alignment", 4, 3, 0);
    expect(&m, RMB_EDATA, "general.alignment: not a uint32 power of two");
    one(&m, "general.alignment", 5, 32, 0);
    expect(&m, RMB_EDATA, "general.alignment");
    one(&m, "x", 4, 7, 8);
    expect(&m, RMB_EDATA, "test.gguf: t: offset: 8 is not a multiple of 32");
    one(&m, "x", 4, 7, 64);
    expect(&m, RMB_EDATA, "t: offset: 32 bytes at 64 run past the 64 data bytes");
    one(&m, "x", 13, 7, 0);
    expect(&m, RMB_EDATA, "x: type: 13");
    /* a bool of 2 */
    header(&m, 0, 1);
    key(&m, "flag", 7), put(&m, 2, 1);
    expect(&m, RMB_EDATA, "flag: value: bool");
    header(&m, 0, 2);
    key(&m, "k", 4), put(&m, 1, 4);
    key(&m, "k", 4), put(&m, 1, 4);
    expect(&m, RMB_EDATA, "k: key: duplicate");
}

static void test_bad_tensors(void)
{
    img m;
    static const uint64_t ne8[] = {8}, ne33[] = {33}, ne5[] = {1, 1, 1, 1, 1},
                          huge[] = {1ull << 32, 1ull << 32, 1ull << 32};
    header(&m, 1, 0), tensor(&m, "q", 1, ne33, 8, 0);
    expect(&m, RMB_EDATA, "q: dimensions: row length 33 does not fit Q8_0 blocks");
    header(&m, 1, 0), tensor(&m, "u", 1, ne8, 99, 0);
    expect(&m, RMB_EUNSUPPORTED, "u: type: ggml type 99");
    header(&m, 1, 0), tensor(&m, "d", 5, ne5, 0, 0);
    expect(&m, RMB_EDATA, "d: n_dims: 5");
    header(&m, 1, 0), tensor(&m, "h", 3, huge, 0, 0);
    expect(&m, RMB_EDATA, "h: dimensions: element count overflows");
    header(&m, 2, 0), tensor(&m, "x", 1, ne8, 0, 0), tensor(&m, "y", 1, ne8, 0, 0);
    pad_to(&m, 32), m.n += 64;
    expect(&m, RMB_EDATA, ": offset: overlaps tensor ");
    header(&m, 2, 0), tensor(&m, "x", 1, ne8, 0, 0), tensor(&m, "x", 1, ne8, 0, 32);
    expect(&m, RMB_EDATA, "x: name: duplicate");
}

static void test_encoders(void)
{
    static const struct {
        float x;
        uint16_t f16, bf16;
    } cases[] = {
        {1.0f, 0x3c00, 0x3f80},
        {-2.0f, 0xc000, 0xc000},
        {65504.0f, 0x7bff, 0x4780},
        {65519.99f, 0x7bff, 0x4780},
        {65520.0f, 0x7c00, 0x4780},
        {0x1p-24f, 0x0001, 0x3380},
        {0x1p-25f, 0x0000, 0x3300},         /* a tie: to even (zero) */
        {0x3p-25f, 0x0002, 0x33c0},         /* 1.5 subnormal steps: to even */
        {0x1p-14f - 0x1p-26f, 0x0400, 0x3880}, /* rounds up into the normals */
        {1.0f + 0x1p-11f, 0x3c00, 0x3f80},  /* tie in f16: to even */
        {1.0f + 0x3p-11f, 0x3c02, 0x3f80},
        {1.0f + 0x1p-8f, 0x3c04, 0x3f80},   /* tie in bf16: to even */
        {1.0f + 0x3p-8f, 0x3c0c, 0x3f82},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t h[2], b[2];
        rmb_ggml_from_f32(RMB_GGML_F16, &cases[i].x, 1, h);
        rmb_ggml_from_f32(RMB_GGML_BF16, &cases[i].x, 1, b);
        CHECK_EQ_INT(h[0] | h[1] << 8, cases[i].f16);
        CHECK_EQ_INT(b[0] | b[1] << 8, cases[i].bf16);
    }
    float x[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 1); /* -1 .. 30 */
    uint8_t q[RMB_Q8_0_BYTES];
    rmb_ggml_from_f32(RMB_GGML_Q8_0, x, 32, q);
    /* d = 30/127 = 1.8898 * 2^-3: fp16 exponent 12, mantissa round(0.8898 * 1024) = 911. */
    CHECK_EQ_INT(q[0] | q[1] << 8, 12 << 10 | 911);
    CHECK_EQ_INT((int8_t)q[2], -4);   /* -1 * 127/30 = -4.23 */
    CHECK_EQ_INT((int8_t)q[3], 0);
    CHECK_EQ_INT((int8_t)q[4], 4);    /* 4.23 */
    CHECK_EQ_INT((int8_t)q[33], 127); /* the maximum */
    memset(x, 0, sizeof x);
    rmb_ggml_from_f32(RMB_GGML_Q8_0, x, 32, q);
    for (int i = 0; i < RMB_Q8_0_BYTES; i++)
        CHECK_EQ_INT(q[i], 0);
}

static void test_writer(void)
{
    char dir[] = "/tmp/rmb_gguf_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/w.gguf", dir);
    rmb_error err = {0};
    rmb_gguf_writer *w;
    static const int64_t sa[] = {2, 3}, sb[] = {1, 32};
    float va[6] = {1, 2, 3, 4, 5, 6}, vb[32] = {0};
    uint8_t qb[RMB_Q8_0_BYTES];
    vb[5] = 2.54f;
    rmb_ggml_from_f32(RMB_GGML_Q8_0, vb, 32, qb);
    CHECK_EQ_INT(rmb_gguf_writer_open(&w, path, &err), RMB_OK);
    rmb_gguf_writer_add_u32(w, "n", 42);
    rmb_gguf_writer_add_f32(w, "eps", 1e-6f);
    rmb_gguf_writer_add_str(w, "s", "text", 4);
    CHECK_EQ_INT(rmb_gguf_writer_add_tensor(w, "a", RMB_GGML_F32, 2, sa, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_add_tensor(w, "b", RMB_GGML_Q8_0, 2, sb, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_add_tensor(w, "bad", RMB_GGML_Q8_0, 1, sa, &err), RMB_EUSAGE);
    CHECK_EQ_INT(rmb_gguf_writer_begin_data(w, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_write(w, va, 8, &err), RMB_OK); /* in two pieces */
    CHECK_EQ_INT(rmb_gguf_writer_write(w, va + 2, 16, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_write(w, qb, sizeof qb, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_finish(w, &err), RMB_OK);
    rmb_gguf_file f;
    CHECK_EQ_INT(rmb_gguf_open(&f, path, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "general.alignment")->u, 32);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "n")->u, 42);
    CHECK_NEAR(rmb_gguf_find_kv(&f, "eps")->f, 1e-6f, 0);
    CHECK_EQ_INT(rmb_gguf_find_kv(&f, "s")->str.len, 4);
    const rmb_gguf_tensor *a = rmb_gguf_find_tensor(&f, "a"), *b = rmb_gguf_find_tensor(&f, "b");
    CHECK(a && a->ne[0] == 3 && a->ne[1] == 2 && !memcmp(a->data, va, sizeof va));
    CHECK(b && b->ne[0] == 32 && b->ne[1] == 1 && b->offset == 32 &&
          !memcmp(b->data, qb, sizeof qb));
    rmb_gguf_close(&f);
    unlink(path);
    /* A tensor left short: no file. */
    CHECK_EQ_INT(rmb_gguf_writer_open(&w, path, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_add_tensor(w, "a", RMB_GGML_F32, 2, sa, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_begin_data(w, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_write(w, va, 8, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_finish(w, &err), RMB_EUSAGE);
    CHECK(access(path, F_OK) != 0);
    /* Too many bytes: the writer stays failed. */
    CHECK_EQ_INT(rmb_gguf_writer_open(&w, path, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_add_tensor(w, "a", RMB_GGML_F32, 2, sa, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_begin_data(w, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_write(w, va, 100, &err), RMB_EUSAGE);
    CHECK_EQ_INT(rmb_gguf_writer_finish(w, &err), RMB_EUSAGE);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(rmb_gguf_open(&f, path, &err), RMB_EIO);
    CHECK(rmdir(dir) == 0); /* nothing left behind */
}

typedef struct tensor_spec {
    const char *name;
    rmb_ggml_type type;
    int dims;
    int64_t shape[2];
    size_t bytes;
} tensor_spec;

/* Writes a GGUF file holding "rmb.config_json" and the n tensors of specs,
 * their bytes taken in turn from data. */
static void write_model(const char *path, const tensor_spec *specs, int n, const uint8_t *data)
{
    rmb_error err = {0};
    rmb_gguf_writer *w;
    CHECK_EQ_INT(rmb_gguf_writer_open(&w, path, &err), RMB_OK);
    rmb_gguf_writer_add_str(w, "rmb.config_json", "{}", 2);
    for (int i = 0; i < n; i++)
        CHECK_EQ_INT(rmb_gguf_writer_add_tensor(w, specs[i].name, specs[i].type, specs[i].dims,
                                                specs[i].shape, &err),
                     RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_begin_data(w, &err), RMB_OK);
    for (int i = 0; i < n; data += specs[i++].bytes)
        CHECK_EQ_INT(rmb_gguf_writer_write(w, data, specs[i].bytes, &err), RMB_OK);
    CHECK_EQ_INT(rmb_gguf_writer_finish(w, &err), RMB_OK);
}

/* rmb_weights_open on a GGUF file: tensors found by name whatever their
 * order in the file, with HF shapes (GGUF's dimensions reversed), the
 * engine's dtypes and their bytes in place; missing tensors, wrong shapes,
 * missing keys and a type the engine does not compute with are errors
 * naming the file. */
static void test_weights(void)
{
    char dir[] = "/tmp/rmb_gguf_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    static const tensor_spec specs[] = {{"z", RMB_GGML_F32, 2, {2, 3}, 24},
                                        {"a", RMB_GGML_BF16, 1, {4, 0}, 8},
                                        {"m", RMB_GGML_Q8_0, 2, {1, 32}, RMB_Q8_0_BYTES}};
    static const rmb_dtype dtypes[] = {RMB_DT_F32, RMB_DT_BF16, RMB_DT_Q8_0};
    uint8_t data[24 + 8 + RMB_Q8_0_BYTES];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    write_model(path, specs, 3, data);
    rmb_weights w;
    rmb_error err = {0};
    rmb_checkpoint *ck;
    CHECK_EQ_INT(rmb_checkpoint_open(&ck, path, &err), RMB_OK);
    CHECK_EQ_INT(rmb_weights_open(&w, ck, &err), RMB_OK);
    CHECK_EQ_INT(w.n_files, 1);
    CHECK_EQ_INT(w.total_bytes, sizeof data);
    for (size_t i = 0, at = 0; i < 3; at += specs[i++].bytes) {
        const rmb_tensor *t = rmb_weights_find(&w, specs[i].name);
        CHECK(t && t->dtype == dtypes[i] && t->n_dims == specs[i].dims &&
              t->n_bytes == specs[i].bytes);
        for (int d = 0; t && d < specs[i].dims; d++)
            CHECK_EQ_INT(t->shape[d], specs[i].shape[d]);
        CHECK(t && !memcmp(t->data, data + at, specs[i].bytes) && !strcmp(t->file, path));
    }
    CHECK(rmb_weights_find(&w, "b") == NULL);
    const rmb_tensor *t;
    static const int64_t turned[] = {3, 2};
    CHECK_EQ_INT(rmb_weights_get(&w, "z", 2, turned, false, &t, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "'z' has shape [2, 3]");
    CHECK_EQ_INT(rmb_weights_get(&w, "b", 2, turned, false, &t, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "m.gguf: tensor 'b' is missing");
    rmb_gguf_str s;
    CHECK_EQ_INT(rmb_gguf_get_str(w.gguf, "rmb.config_json", false, &s, &err), RMB_OK);
    CHECK(s.len == 2 && !memcmp(s.s, "{}", 2));
    CHECK_EQ_INT(rmb_gguf_get_str(w.gguf, "rmb.chat_template", true, &s, &err), RMB_OK);
    CHECK(s.s == NULL);
    CHECK_EQ_INT(rmb_gguf_get_str(w.gguf, "rmb.tokenizer_json", false, &s, &err),
                 RMB_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "m.gguf: rmb.tokenizer_json: missing");
    CHECK_CONTAINS(err.msg, "rmb convert");
    CHECK_EQ_INT(rmb_gguf_get_str(w.gguf, "general.alignment", false, &s, &err), RMB_EDATA);
    rmb_weights_close(&w);
    rmb_checkpoint_close(ck);

    static const tensor_spec q4 = {"k", RMB_GGML_Q4_0, 1, {32, 0}, 18};
    uint8_t zeros[18] = {0};
    write_model(path, &q4, 1, zeros);
    CHECK_EQ_INT(rmb_checkpoint_open(&ck, path, &err), RMB_OK);
    CHECK_EQ_INT(rmb_weights_open(&w, ck, &err), RMB_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "m.gguf: k: ggml type Q4_0 is not supported");
    CHECK_EQ_INT(w.n_files, 0);
    rmb_checkpoint_close(ck);
    unlink(path);
    CHECK(rmdir(dir) == 0);
}

/* Two copies of one block; widened whole, element by element, and across
 * the block boundary. */
static void check_kquant(rmb_dtype dt, const uint8_t *block, size_t size, const int *at,
                         const float *want, int n_want)
{
    uint8_t two[2 * 210];
    memcpy(two, block, size);
    memcpy(two + size, block, size);
    float all[512], part[12];
    rmb_widen(two, dt, 0, 512, all);
    for (int i = 0; i < n_want; i++) {
        CHECK_NEAR(all[at[i]], want[i], 0);
        CHECK_NEAR(all[256 + at[i]], want[i], 0);
        CHECK_NEAR(rmb_load_weight(two, dt, (size_t)at[i]), want[i], 0);
    }
    rmb_widen(two, dt, 250, 12, part);
    CHECK(!memcmp(part, all + 250, sizeof part));
}

static void test_kquants(void)
{
    /* Q4_K: d 1, dmin 0.5; sub-block 1 scale 3 min 2 (bytes 1, 5), whose
     * spare top bits make sub-block 5's scale 32 + 1 and min 16 + 7 with
     * byte 9; elements 35 (high nibble of byte 3) and 167 (high nibble of
     * byte 64 + 7); sub-blocks 0 and 4 have scale and min 0. */
    uint8_t q4[144] = {0x00, 0x3C, 0x00, 0x38};
    q4[4 + 1] = 0x80 | 3;
    q4[4 + 5] = 0x40 | 2;
    q4[4 + 9] = 0x71;
    q4[16 + 3] = 0xA5;
    q4[16 + 64 + 7] = 0xC0;
    static const int q4_at[] = {35, 3, 167, 135, 36};
    static const float q4_want[] = {3 * 10 - 1.0f, 0, 33 * 12 - 11.5f, 0, -1.0f};
    check_kquant(RMB_DT_Q4_K, q4, sizeof q4, q4_at, q4_want, 5);
    /* Q6_K: d 0.5, scales[0] 2, scales[15] -3.  Element 244 (half 1,
     * quarter 3, l 20): high nibble of byte 64 + 20 + 32 = 9, bits 6-7 of
     * byte 128 + 32 + 20 = 2, q = 41 - 32.  Element 5: low nibble of byte 5
     * = 15, bits 0-1 of byte 133 = 1, q = -1.  Element 240: q = 0 - 32. */
    uint8_t q6[210] = {0};
    q6[208] = 0x00, q6[209] = 0x38;
    q6[192] = 2;
    q6[192 + 15] = (uint8_t)-3;
    q6[116] = 0x90;
    q6[180] = 0x80;
    q6[5] = 0x0F;
    q6[133] = 0x01;
    static const int q6_at[] = {244, 5, 240, 69, 20};
    static const float q6_want[] = {-13.5f, -1.0f, 48.0f, 0, 0};
    check_kquant(RMB_DT_Q6_K, q6, sizeof q6, q6_at, q6_want, 5);
}

TEST_MAIN(test_good, test_truncations, test_corrupt, test_bad_tensors, test_encoders,
          test_writer, test_weights, test_kquants)
