/* rmb convert: a Hugging Face reward-model checkpoint -> one GGUF file with
 * every tensor (reward head included) in the requested type, llama.cpp's
 * hyperparameter keys and the original config/tokenizer files verbatim. */
#include "cli.h"

#include "common/fileio.h"
#include "model/config.h"
#include "model/gguf.h"
#include "model/cpu/kernels.h"
#include "model/weights.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: rmb convert DIR OUT.gguf [--type f32|f16|bf16|q8_0] [--quiet]\n"
    "\n"
    "Writes the checkpoint in DIR (config.json, model.safetensors or its shards,\n"
    "tokenizer files) as one GGUF file: every tensor under its Hugging Face name,\n"
    "matrices in the requested type (norms, biases and other 1-D tensors stay F32;\n"
    "Q8_0 matrices whose rows are not a multiple of 32 become F16), llama.cpp's\n"
    "hyperparameter keys and rmb.* keys holding the original files.\n"
    "\n"
    "options:\n"
    "  --type TYPE   f32, f16, bf16 or q8_0 (default f16)\n"
    "  -q, --quiet   no progress\n"
    "  -h, --help    this help\n";

static const struct {
    const char *name;
    rmb_ggml_type type;
    uint32_t file_type; /* llama.cpp's general.file_type (llama_ftype) */
} types[] = {{"f32", RMB_GGML_F32, 0},
             {"f16", RMB_GGML_F16, 1},
             {"bf16", RMB_GGML_BF16, 32},
             {"q8_0", RMB_GGML_Q8_0, 7}};

/* llama.cpp's architecture names for the checkpoints rmb scores. */
static const struct {
    const char *prefix, *arch;
} archs[] = {{"Qwen3", "qwen3"},  {"Qwen2", "qwen2"},         {"Gemma2", "gemma2"},
             {"Llama", "llama"},  {"Mistral", "llama"},       {"InternLM2", "internlm2"}};

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
        if (!strcmp(name, "tokenizer.json"))
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
    const char *arch = NULL;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0] && !arch; i++)
        if (!strncmp(c->architecture, archs[i].prefix, strlen(archs[i].prefix)))
            arch = archs[i].arch;
    if (!arch)
        arch = "rmb"; /* llama.cpp has no name for it: keep the keys under rmb. */
    rmb_gguf_writer_add_str(j->out, "general.architecture", arch, strlen(arch));
    rmb_gguf_writer_add_str(j->out, "rmb.architecture", c->architecture,
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
    rmb_gguf_writer_add_u32(j->out, "general.file_type", file_type);
    if (j->type == RMB_GGML_Q8_0)
        rmb_gguf_writer_add_u32(j->out, "general.quantization_version", 2);
    size_t len;
    const char *name = rmb_path_last(dir, &len);
    rmb_gguf_writer_add_str(j->out, "general.name", name, len);
    if (add_file(j, dir, "config.json", "rmb.config_json", true, err) ||
        add_file(j, dir, "tokenizer.json", "rmb.tokenizer_json", false, err) ||
        add_file(j, dir, "tokenizer_config.json", "rmb.tokenizer_config_json", false, err) ||
        add_file(j, dir, "chat_template.jinja", "rmb.chat_template", false, err))
        return err->status;
    return RMB_OK;
}

static rmb_status convert(const char *dir, const char *out, int type, const rmb_context *ctx,
                          rmb_error *err)
{
    job j = {.type = types[type].type, .ctx = ctx};
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    rmb_status st = rmb_config_load(&j.cfg, path, err);
    if (st == RMB_OK)
        st = rmb_weights_open(&j.w, dir, err);
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
    return st;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, NULL, 't'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int type = 1, c;
    bool quiet = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        if (c == 't') {
            type = -1;
            for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
                if (!strcmp(optarg, types[i].name))
                    type = (int)i;
            if (type < 0)
                return cli_usage_error("convert", "--type: '%s' is not f32, f16, bf16 or q8_0",
                                       optarg);
        } else if (c == 'q') {
            quiet = true;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        } else {
            return cli_usage_error("convert", "invalid option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "expected DIR and OUT.gguf");
    const char *dir = argv[optind], *out = argv[optind + 1];
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cli_usage_error("convert", "%s: not a directory", dir);
    rmb_context ctx;
    cli_context_init(&ctx, quiet);
    rmb_error err = {0};
    if (convert(dir, out, type, &ctx, &err))
        return cli_report(&err);
    cli_progress_done();
    return EXIT_OK;
}
