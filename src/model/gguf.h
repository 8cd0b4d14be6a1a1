/* GGUF (version 3) files, the single-file model format of ggml/llama.cpp:
 * "GGUF", a version, tensor and key/value counts, the typed key/values, the
 * tensor infos (name, dimensions innermost first, ggml type, offset), then
 * the tensor data, each tensor aligned to general.alignment (32 by default).
 * The reader maps a file and checks every count, size and offset against the
 * bytes really there; values and tensors point into the mapping.  The writer
 * streams tensors into a temporary file renamed into place at the end. */
#ifndef RMB_MODEL_GGUF_H
#define RMB_MODEL_GGUF_H

#include "rmb/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key/value types, numbered as in the file. */
typedef enum rmb_gguf_vtype {
    RMB_GGUF_UINT8 = 0,
    RMB_GGUF_INT8 = 1,
    RMB_GGUF_UINT16 = 2,
    RMB_GGUF_INT16 = 3,
    RMB_GGUF_UINT32 = 4,
    RMB_GGUF_INT32 = 5,
    RMB_GGUF_FLOAT32 = 6,
    RMB_GGUF_BOOL = 7,
    RMB_GGUF_STRING = 8,
    RMB_GGUF_ARRAY = 9,
    RMB_GGUF_UINT64 = 10,
    RMB_GGUF_INT64 = 11,
    RMB_GGUF_FLOAT64 = 12
} rmb_gguf_vtype;

/* The ggml tensor types rmb knows the block layout of. */
typedef enum rmb_ggml_type {
    RMB_GGML_F32 = 0,
    RMB_GGML_F16 = 1,
    RMB_GGML_Q4_0 = 2,
    RMB_GGML_Q8_0 = 8,
    RMB_GGML_Q4_K = 12,
    RMB_GGML_Q6_K = 14,
    RMB_GGML_BF16 = 30
} rmb_ggml_type;

/* The keys rmb convert writes and rmb reads back: the checkpoint's files
 * verbatim (docs/gguf.md), its architectures[0], and llama.cpp's general.*
 * keys.  The per-architecture hyperparameters are "ARCH.KEY" with ARCH the
 * architecture's rmb_arch.gguf_name. */
#define RMB_GGUF_KEY_CONFIG "rmb.config_json"
#define RMB_GGUF_KEY_TOKENIZER "rmb.tokenizer_json"
#define RMB_GGUF_KEY_TOKENIZER_CONFIG "rmb.tokenizer_config_json"
#define RMB_GGUF_KEY_CHAT_TEMPLATE "rmb.chat_template"
#define RMB_GGUF_KEY_ARCHITECTURE "rmb.architecture"
#define RMB_GGUF_KEY_GENERAL_ARCHITECTURE "general.architecture"
#define RMB_GGUF_KEY_FILE_TYPE "general.file_type"
#define RMB_GGUF_KEY_QUANTIZATION_VERSION "general.quantization_version"
#define RMB_GGUF_KEY_NAME "general.name"
#define RMB_GGUF_KEY_ALIGNMENT "general.alignment"

/* The files of a checkpoint directory those keys hold. */
#define RMB_FILE_CONFIG "config.json"
#define RMB_FILE_TOKENIZER "tokenizer.json"
#define RMB_FILE_TOKENIZER_CONFIG "tokenizer_config.json"
#define RMB_FILE_CHAT_TEMPLATE "chat_template.jinja"

#define RMB_GGUF_MAX_DIMS 4
#define RMB_GGUF_DEFAULT_ALIGNMENT 32
/* Q8_0: blocks of 32 values, an fp16 scale then 32 int8 quants. */
#define RMB_Q8_0_BLOCK 32
#define RMB_Q8_0_BYTES 34

/* A string inside the file: len bytes, not NUL-terminated. */
typedef struct rmb_gguf_str {
    const char *s;
    size_t len;
} rmb_gguf_str;

typedef struct rmb_gguf_kv {
    rmb_gguf_str key;
    rmb_gguf_vtype type;
    /* Scalars, widened: unsigned types and bool in u, signed in i, floats
     * in f, a string in str. */
    uint64_t u;
    int64_t i;
    double f;
    rmb_gguf_str str;
    /* Arrays: element type and count; fixed-size elements lie little-endian
     * at data, string elements are listed in strs (allocated).  Arrays of
     * arrays are rejected. */
    rmb_gguf_vtype elem;
    size_t n;
    const void *data;
    rmb_gguf_str *strs;
} rmb_gguf_kv;

typedef struct rmb_gguf_tensor {
    rmb_gguf_str name;
    rmb_ggml_type type;
    int n_dims;
    uint64_t ne[RMB_GGUF_MAX_DIMS]; /* innermost first (ne[0] = row length) */
    uint64_t offset;                /* from the start of the data section */
    const void *data;
    size_t n_bytes;
} rmb_gguf_tensor;

typedef struct rmb_gguf_file {
    char *path;
    void *map; /* NULL when parsed from a caller's buffer */
    size_t map_size;
    uint32_t version;
    uint32_t alignment;
    size_t data_offset; /* where the data section starts */
    rmb_gguf_kv *kvs;
    size_t n_kvs;
    rmb_gguf_tensor *tensors;
    size_t n_tensors;
} rmb_gguf_file;

/* "F32", "Q8_0", ...; NULL for a type rmb does not know. */
const char *rmb_ggml_type_name(rmb_ggml_type t);
/* Bytes of n consecutive values of type t; fails when t is unknown, n is
 * not a multiple of its block size or the size overflows. */
bool rmb_ggml_nbytes(rmb_ggml_type t, uint64_t n, size_t *out);

/* Parses a whole GGUF image in data[0..size); name is used in messages.
 * Values and tensors point into data. */
rmb_status rmb_gguf_parse(rmb_gguf_file *out, const void *data, size_t size, const char *name,
                          rmb_error *err);
/* Maps path read-only and parses it. */
rmb_status rmb_gguf_open(rmb_gguf_file *out, const char *path, rmb_error *err);
/* Unmaps and frees; safe on a zeroed or failed file. */
void rmb_gguf_close(rmb_gguf_file *f);

/* The key/value called key, or NULL. */
const rmb_gguf_kv *rmb_gguf_find_kv(const rmb_gguf_file *f, const char *key);
/* The tensor called name, or NULL. */
const rmb_gguf_tensor *rmb_gguf_find_tensor(const rmb_gguf_file *f, const char *name);

/* The string value of key in *out.  A missing key fails (RMB_EUNSUPPORTED:
 * the rmb.* keys are written only by rmb convert) unless optional, which
 * leaves out->s NULL; a value of another type fails naming the key. */
rmb_status rmb_gguf_get_str(const rmb_gguf_file *f, const char *key, bool optional,
                            rmb_gguf_str *out, rmb_error *err);

/* Encodes n floats as type t (F32, F16, BF16 rounding to nearest even, or
 * Q8_0 as ggml's reference quantiser: d = max|x| / 127 stored as fp16,
 * q = round(x / d) with the unrounded d); n is a multiple of the block. */
void rmb_ggml_from_f32(rmb_ggml_type t, const float *src, size_t n, void *dst);

/* The writer: key/values and tensor infos are declared first, then the
 * tensors' bytes are written in declaration order, then finish renames the
 * temporary file to path.  Any failure leaves no file at path. */
typedef struct rmb_gguf_writer rmb_gguf_writer;

rmb_status rmb_gguf_writer_open(rmb_gguf_writer **w, const char *path, rmb_error *err);
void rmb_gguf_writer_add_u32(rmb_gguf_writer *w, const char *key, uint32_t v);
void rmb_gguf_writer_add_f32(rmb_gguf_writer *w, const char *key, float v);
void rmb_gguf_writer_add_str(rmb_gguf_writer *w, const char *key, const char *s, size_t len);
/* Declares a tensor of type t with HF (outermost first) shape[0..n_dims),
 * 1 <= n_dims <= 4; fails when the row length does not fit t's blocks. */
rmb_status rmb_gguf_writer_add_tensor(rmb_gguf_writer *w, const char *name, rmb_ggml_type t,
                                      int n_dims, const int64_t *shape, rmb_error *err);
/* Writes the header; no key/values or tensors may be declared after it. */
rmb_status rmb_gguf_writer_begin_data(rmb_gguf_writer *w, rmb_error *err);
/* Appends tensor bytes; a tensor may arrive in several pieces. */
rmb_status rmb_gguf_writer_write(rmb_gguf_writer *w, const void *data, size_t n, rmb_error *err);
/* Checks every tensor was written in full, then renames into place; frees w. */
rmb_status rmb_gguf_writer_finish(rmb_gguf_writer *w, rmb_error *err);
/* Removes the temporary file and frees w (NULL is fine). */
void rmb_gguf_writer_discard(rmb_gguf_writer *w);

#endif
