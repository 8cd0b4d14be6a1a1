/* rmb_convert (include/rmb/convert.h): a checkpoint directory -> one GGUF
 * file, tensors streamed through in chunks so memory stays bounded. */
#include "rmb/convert.h"

#include "common/fileio.h"
#include "model/arch.h"
#include "model/cpu/kernels.h"
#include "model/weights.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* By rmb_convert_type. */
static const struct {
    const char *name;
    rmb_ggml_type type;
    uint32_t file_type; /* llama.cpp's general.file_type (llama_ftype) */
} types[] = {[RMB_CONVERT_F32] = {"f32", RMB_GGML_F32, 0},
             [RMB_CONVERT_F16] = {"f16", RMB_GGML_F16, 1},
             [RMB_CONVERT_BF16] = {"bf16", RMB_GGML_BF16, 32},
             [RMB_CONVERT_Q8_0] = {"q8_0", RMB_GGML_Q8_0, 7}};

bool rmb_convert_type_parse(const char *name, rmb_convert_type *out)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(name, types[i].name)) {
            *out = (rmb_convert_type)i;
            return true;
        }
    return false;
}

/* Values converted per write: bounds the memory a huge tensor needs. */
#define CHUNK_VALUES (1u << 20)

typedef struct job {
    rmb_weights w;
    rmb_config cfg;
    rmb_gguf_writer *out;
    rmb_ggml_type type;
    const rmb_context *ctx;
    uint64_t done, total; /* source bytes converted, for progress */
} job;

/* The type a tensor is stored as: matrices take the requested type, the
 * rest stays F32 as in llama.cpp's converter; Q8_0 needs whole blocks. */
static rmb_ggml_type tensor_type(const rmb_tensor *t, rmb_ggml_type want)
{
    if (t->n_dims < 2)
        return RMB_GGML_F32;
    if (want == RMB_GGML_Q8_0 && t->shape[t->n_dims - 1] % RMB_Q8_0_BLOCK)
        return RMB_GGML_F16;
    return want;
}

/* GGUF needs at least one dimension: a scalar becomes [1]. */
static int gguf_shape(const rmb_tensor *t, int64_t *shape)
{
    static const int64_t one = 1;
    memcpy(shape, t->n_dims ? t->shape : &one, (size_t)(t->n_dims ? t->n_dims : 1) * sizeof *shape);
    return t->n_dims ? t->n_dims : 1;
}

static rmb_status declare_tensors(job *j, rmb_error *err)
{
    for (size_t f = 0; f < j->w.n_files; f++)
        for (size_t i = 0; i < j->w.files[f].n_tensors; i++) {
            const rmb_tensor *t = &j->w.files[f].tensors[i];
            int64_t shape[RMB_MAX_DIMS];
            int n = gguf_shape(t, shape);
            if (rmb_gguf_writer_add_tensor(j->out, t->name, tensor_type(t, j->type), n, shape,
                                           err))
                return err->status;
            j->total += t->n_bytes;
        }
    return RMB_OK;
}

/* Widens and re-encodes t in chunks of whole rows (whole blocks). */
static rmb_status write_tensor(job *j, const rmb_tensor *t, float *src, uint8_t *dst,
                               rmb_error *err)
{
    rmb_ggml_type type = tensor_type(t, j->type);
    size_t n = rmb_tensor_elements(t);
    size_t row = t->n_dims ? (size_t)t->shape[t->n_dims - 1] : 1;
    /* Whole rows, or a multiple of every block size for rows longer than a chunk. */
    size_t step = row && row < CHUNK_VALUES ? CHUNK_VALUES / row * row : CHUNK_VALUES;
    for (size_t at = 0; at < n; at += step) {
        size_t k = n - at < step ? n - at : step, bytes;
        rmb_widen(t->data, t->dtype, at, k, src);
        rmb_ggml_from_f32(type, src, k, dst);
        rmb_ggml_nbytes(type, k, &bytes);
        if (rmb_gguf_writer_write(j->out, dst, bytes, err))
            return err->status;
        if (rmb_canceled(j->ctx))
            return rmb_fail(err, RMB_ECANCELED, "canceled; nothing was written");
        j->done += rmb_dtype_bytes(t->dtype, k);
        rmb_progress(j->ctx, "converting (bytes)", j->done, j->total);
    }
    return RMB_OK;
}

static rmb_status write_tensors(job *j, rmb_error *err)
{
    float *src = malloc(CHUNK_VALUES * sizeof *src);
    uint8_t *dst = malloc(CHUNK_VALUES * sizeof(float));
    rmb_status st = src && dst ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t f = 0; f < j->w.n_files && st == RMB_OK; f++)
        for (size_t i = 0; i < j->w.files[f].n_tensors && st == RMB_OK; i++)
            st = write_tensor(j, &j->w.files[f].tensors[i], src, dst, err);
    free(src);
    free(dst);
    return st;
}

/* dir/name verbatim under key; a missing optional file is skipped. */
static rmb_status add_file(job *j, const char *dir, const char *name, const char *key,
                           bool required, rmb_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat sb;
    if (!required && stat(path, &sb) != 0) {
        if (!strcmp(name, RMB_FILE_TOKENIZER))
            rmb_log(j->ctx, RMB_LOG_WARN, "%s: missing: the GGUF file will hold no tokenizer",
                    path);
        return RMB_OK;
    }
    char *text;
    size_t len;
    if (rmb_read_file(path, &text, &len, err))
        return err->status;
    rmb_gguf_writer_add_str(j->out, key, text, len);
    free(text);
    return RMB_OK;
}

static void add_hparams(job *j)
{
    const rmb_config *c = &j->cfg;
    const rmb_arch *known = rmb_arch_find(c->architecture);
    /* llama.cpp has no name for one rmb does not run: keep the keys under rmb. */
    const char *arch = known ? known->gguf_name : "rmb";
    rmb_gguf_writer_add_str(j->out, RMB_GGUF_KEY_GENERAL_ARCHITECTURE, arch, strlen(arch));
    rmb_gguf_writer_add_str(j->out, RMB_GGUF_KEY_ARCHITECTURE, c->architecture,
                            strlen(c->architecture));
    static const struct {
        const char *key;
        size_t field;
    } ints[] = {{"context_length", offsetof(rmb_config, max_positions)},
                {"embedding_length", offsetof(rmb_config, hidden)},
                {"block_count", offsetof(rmb_config, n_layers)},
                {"feed_forward_length", offsetof(rmb_config, intermediate)},
                {"attention.head_count", offsetof(rmb_config, n_heads)},
                {"attention.head_count_kv", offsetof(rmb_config, n_kv_heads)},
                {"attention.key_length", offsetof(rmb_config, head_dim)},
                {"attention.value_length", offsetof(rmb_config, head_dim)},
                {"vocab_size", offsetof(rmb_config, vocab)}};
    char key[128];
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int v;
        memcpy(&v, (const char *)c + ints[i].field, sizeof v);
        snprintf(key, sizeof key, "%s.%s", arch, ints[i].key);
        rmb_gguf_writer_add_u32(j->out, key, (uint32_t)v);
    }
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    rmb_gguf_writer_add_f32(j->out, key, (float)c->rms_eps);
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    rmb_gguf_writer_add_f32(j->out, key, (float)c->rope_theta);
}

static rmb_status add_metadata(job *j, const char *dir, uint32_t file_type, rmb_error *err)
{
    add_hparams(j);
    rmb_gguf_writer_add_u32(j->out, RMB_GGUF_KEY_FILE_TYPE, file_type);
    if (j->type == RMB_GGML_Q8_0)
        rmb_gguf_writer_add_u32(j->out, RMB_GGUF_KEY_QUANTIZATION_VERSION, 2);
    size_t len;
    const char *name = rmb_path_last(dir, &len);
    rmb_gguf_writer_add_str(j->out, RMB_GGUF_KEY_NAME, name, len);
    if (add_file(j, dir, RMB_FILE_CONFIG, RMB_GGUF_KEY_CONFIG, true, err) ||
        add_file(j, dir, RMB_FILE_TOKENIZER, RMB_GGUF_KEY_TOKENIZER, false, err) ||
        add_file(j, dir, RMB_FILE_TOKENIZER_CONFIG, RMB_GGUF_KEY_TOKENIZER_CONFIG, false, err) ||
        add_file(j, dir, RMB_FILE_CHAT_TEMPLATE, RMB_GGUF_KEY_CHAT_TEMPLATE, false, err))
        return err->status;
    return RMB_OK;
}

rmb_status rmb_convert(const char *dir, const char *out, rmb_convert_type type,
                       const rmb_context *ctx, rmb_error *err)
{
    job j = {.type = types[type].type, .ctx = ctx};
    rmb_checkpoint *ck = NULL;
    rmb_status st = rmb_checkpoint_open(&ck, dir, err);
    if (st == RMB_OK && ck->is_gguf)
        st = rmb_fail(err, RMB_EUSAGE, "%s: not a checkpoint directory", dir);
    if (st == RMB_OK)
        st = rmb_checkpoint_config(ck, &j.cfg, err);
    if (st == RMB_OK)
        st = rmb_weights_open(&j.w, ck, err);
    if (st == RMB_OK)
        st = rmb_gguf_writer_open(&j.out, out, err);
    if (st == RMB_OK)
        st = add_metadata(&j, dir, types[type].file_type, err);
    if (st == RMB_OK)
        st = declare_tensors(&j, err);
    if (st == RMB_OK)
        st = rmb_gguf_writer_begin_data(j.out, err);
    if (st == RMB_OK)
        st = write_tensors(&j, err);
    if (st == RMB_OK) {
        st = rmb_gguf_writer_finish(j.out, err);
        j.out = NULL;
    }
    rmb_gguf_writer_discard(j.out);
    rmb_weights_close(&j.w);
    rmb_config_free(&j.cfg);
    rmb_checkpoint_close(ck);
    return st;
}
