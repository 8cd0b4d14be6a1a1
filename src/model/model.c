/* rmb_model: from a checkpoint directory or GGUF file to a bound network
 * and the backend that runs it. */
#include "rmb/model.h"

#include "model/batch.h"
#include "model/cpu/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every architecture rmb runs; the first matching name wins. */
static const rmb_arch *const archs[] = {
    &rmb_arch_llama,  &rmb_arch_mistral, &rmb_arch_qwen2,
    &rmb_arch_qwen3, &rmb_arch_gemma2, &rmb_arch_internlm2, &rmb_arch_armorm,
};

/* Every compute backend this build has, by rmb_model_options.device's
 * name (before any ":unit"); the first is the default.  A CUDA backend
 * ("cuda[:N]") goes here, where the build has one. */
static const rmb_backend_ops *const backends[] = {
    &rmb_backend_cpu,
};

struct rmb_model {
    rmb_checkpoint *own_ckpt; /* opened by rmb_model_open (NULL when the caller's) */
    rmb_config cfg;
    rmb_weights weights;
    rmb_arch_desc desc;
    rmb_net net;
    rmb_engine eng;        /* net, its backend, the host's kernel set */
    char device[64];       /* the backend's name and unit, as opened */
    size_t budget;         /* rows per pass */
    size_t default_budget;
    rmb_batch_stats stats; /* of the last batch */
};

const rmb_arch *rmb_arch_find(const char *name)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (!strcmp(archs[i]->name, name))
            return archs[i];
    return NULL;
}

static rmb_status find_arch(const rmb_config *cfg, const rmb_arch **out, rmb_error *err)
{
    if ((*out = rmb_arch_find(cfg->architecture)))
        return RMB_OK;
    char list[512] = "";
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, archs[i]->name, sizeof list - strlen(list) - 1);
    }
    return rmb_fail(err, RMB_EUNSUPPORTED,
                    "%s: architectures: '%s' is not supported (supported: %s)", cfg->path,
                    cfg->architecture, list);
}

/* The backend device names ("name" or "name:unit"), and its unit. */
static rmb_status find_backend(const char *device, const rmb_backend_ops **out,
                               const char **unit, rmb_error *err)
{
    char list[256] = "";
    size_t len = device ? strcspn(device, ":") : 0;
    *unit = device && device[len] ? device + len + 1 : NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        if (!device || (strlen(backends[i]->name) == len && !strncmp(backends[i]->name, device, len))) {
            *out = backends[i];
            if (backends[i]->version != RMB_BACKEND_VERSION)
                return rmb_fail(err, RMB_EUNSUPPORTED, "device '%s': backend version %d, expected %d",
                                backends[i]->name, backends[i]->version, RMB_BACKEND_VERSION);
            return RMB_OK;
        }
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, backends[i]->name, sizeof list - strlen(list) - 1);
    }
    return rmb_fail(err, RMB_EUNSUPPORTED, "device '%s': not in this build (it has: %s)", device,
                    list);
}

static rmb_status check_options(const rmb_model_options *opt, rmb_error *err)
{
    if (!rmb_compute_name(opt->compute))
        return rmb_fail(err, RMB_EUSAGE, "compute %d: expected 'exact', 'bf16' or 'int8'",
                        (int)opt->compute);
    if (opt->threads < 0 || opt->chunk_tokens < 0)
        return rmb_fail(err, RMB_EUSAGE, "threads and chunk_tokens must not be negative");
    return RMB_OK;
}

/* Whether any layer matrix is Q8_0: the int8 path has nothing to do
 * otherwise, and silently computing exactly would hide the mistake. */
static bool has_q8_0(const rmb_net *net)
{
    for (int l = 0; l < net->cfg->n_layers; l++) {
        const rmb_layer *L = &net->layers[l];
        const rmb_tensor *w[] = {L->wq, L->wk, L->wv, L->wo, L->wg, L->wu, L->wd};
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
            if (w[i] && w[i]->dtype == RMB_DT_Q8_0)
                return true;
    }
    return false;
}

/* The backend the options name, on the bound network; the heads compute
 * on the host with the kernel set the options name (the CPU backend's
 * own), else the best this CPU runs. */
static rmb_status open_backend(rmb_model *m, const rmb_model_options *opt, rmb_error *err)
{
    const rmb_backend_ops *ops;
    const char *unit;
    rmb_status st = find_backend(opt->device, &ops, &unit, err);
    rmb_backend_options bo = {.threads = opt->threads, .kernels = opt->kernels,
                              .compute = opt->compute, .chunk_tokens = (size_t)opt->chunk_tokens,
                              .unit = unit};
    if (st == RMB_OK)
        st = ops->open(&m->eng.backend, &m->net, &m->weights, &bo, err);
    if (st != RMB_OK)
        return st;
    snprintf(m->device, sizeof m->device, "%s%s%s", ops->name, unit ? ":" : "", unit ? unit : "");
    m->eng.net = &m->net;
    m->eng.host = rmb_kernels_find(opt->kernels);
    if (!m->eng.host)
        m->eng.host = rmb_kernels_find(NULL);
    m->default_budget = m->budget = ops->pass_rows(m->eng.backend);
    return RMB_OK;
}

static rmb_status load(rmb_model *m, const rmb_checkpoint *ck, const rmb_model_options *opt,
                       rmb_error *err)
{
    const rmb_arch *arch = NULL;
    rmb_status st;
    if ((st = rmb_checkpoint_config(ck, &m->cfg, err)) || (st = find_arch(&m->cfg, &arch, err)) ||
        (st = arch->configure(&m->desc, &m->cfg, err)) ||
        (st = rmb_weights_open(&m->weights, ck, err)))
        return st;
    m->net.cfg = &m->cfg;
    m->net.desc = &m->desc;
    if ((st = rmb_net_bind(&m->net, &m->weights, err)))
        return st;
    if (opt->compute == RMB_COMPUTE_INT8 && !has_q8_0(&m->net))
        return rmb_fail(err, RMB_EUSAGE,
                        "%s: compute 'int8' needs Q8_0 weights (a GGUF written by rmb convert "
                        "--type q8_0)",
                        rmb_checkpoint_path(ck));
    return open_backend(m, opt, err);
}

rmb_status rmb_model_open_checkpoint(rmb_model **out, const rmb_checkpoint *ck,
                                     const rmb_model_options *opt, rmb_error *err)
{
    static const rmb_model_options defaults;
    *out = NULL;
    if (!opt)
        opt = &defaults;
    rmb_status st = check_options(opt, err);
    if (st != RMB_OK)
        return st;
    rmb_model *m = calloc(1, sizeof *m);
    if (!m)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    if ((st = load(m, ck, opt, err)) != RMB_OK) {
        rmb_model_close(m);
        return st;
    }
    *out = m;
    return RMB_OK;
}

rmb_status rmb_model_open(rmb_model **out, const char *model, const rmb_model_options *opt,
                          rmb_error *err)
{
    rmb_checkpoint *ck;
    rmb_status st = rmb_checkpoint_open(&ck, model, err);
    if (st == RMB_OK && (st = rmb_model_open_checkpoint(out, ck, opt, err)) == RMB_OK)
        (*out)->own_ckpt = ck;
    else
        rmb_checkpoint_close(ck);
    return st;
}

void rmb_model_close(rmb_model *m)
{
    if (!m)
        return;
    if (m->eng.backend)
        m->eng.backend->ops->close(m->eng.backend);
    if (m->net.cfg)
        rmb_net_unbind(&m->net);
    rmb_weights_close(&m->weights);
    rmb_arch_desc_free(&m->desc);
    rmb_config_free(&m->cfg);
    rmb_checkpoint_close(m->own_ckpt);
    free(m);
}

const char *rmb_model_architecture(const rmb_model *m)
{
    return m->cfg.architecture;
}

int rmb_model_n_outputs(const rmb_model *m)
{
    return m->net.n_labels;
}

int rmb_model_context_length(const rmb_model *m)
{
    return m->cfg.max_positions;
}

int rmb_model_pad_token_id(const rmb_model *m)
{
    return m->cfg.pad_token_id;
}

const char *rmb_model_device(const rmb_model *m)
{
    return m->device;
}

const char *rmb_model_kernels(const rmb_model *m)
{
    rmb_backend_info info;
    m->eng.backend->ops->info(m->eng.backend, &info);
    return info.kernels;
}

int rmb_model_threads(const rmb_model *m)
{
    rmb_backend_info info;
    m->eng.backend->ops->info(m->eng.backend, &info);
    return info.threads;
}

const char *rmb_model_kernel_set(size_t i)
{
    size_t n;
    const rmb_kernels *const *sets = rmb_kernels_available(&n);
    return i < n ? sets[i]->name : NULL;
}

static const char *const compute_names[] = {
    [RMB_COMPUTE_EXACT] = "exact",
    [RMB_COMPUTE_BF16] = "bf16",
    [RMB_COMPUTE_INT8] = "int8",
};

const char *rmb_compute_name(rmb_compute c)
{
    return (unsigned)c < sizeof compute_names / sizeof compute_names[0] ? compute_names[c] : NULL;
}

rmb_status rmb_compute_parse(const char *name, rmb_compute *out, rmb_error *err)
{
    *out = RMB_COMPUTE_EXACT;
    for (size_t i = 0; name && i < sizeof compute_names / sizeof compute_names[0]; i++)
        if (!strcmp(name, compute_names[i])) {
            *out = (rmb_compute)i;
            return RMB_OK;
        }
    return name ? rmb_fail(err, RMB_EUSAGE, "compute '%s': expected 'exact', 'bf16' or 'int8'",
                           name)
                : RMB_OK;
}

size_t rmb_model_weight_bytes(const rmb_model *m)
{
    return m->weights.total_bytes;
}

/* The sequence the network runs for ids: InternLM2's reward token follows
 * every sequence and is scored (the last token of the attention mask); a
 * custom head reads the positions it needs from the whole sequence; else,
 * as transformers does, the last position whose id differs from
 * pad_token_id is scored (argmax of position * mask, hence 0 when every
 * token is padding) and nothing after it is computed. */
static rmb_seq effective(const rmb_model *m, const int32_t *ids, size_t n)
{
    rmb_seq s = {ids, n, -1};
    if (m->desc.append_token >= 0 && n > 0)
        s.extra = m->desc.append_token;
    else if (!m->desc.head_ops)
        while (s.n > 1 && ids[s.n - 1] == m->cfg.pad_token_id)
            s.n--;
    return s;
}

rmb_status rmb_model_score(rmb_model *m, const int32_t *ids, size_t n, float *scores,
                           rmb_error *err)
{
    const int32_t *const one[1] = {ids};
    rmb_error item;
    rmb_status st = rmb_model_score_batch(m, one, &n, 1, scores, &item, err);
    if (st == RMB_OK && item.status != RMB_OK)
        *err = item;
    return st == RMB_OK ? item.status : st;
}

rmb_status rmb_model_score_batch(rmb_model *m, const int32_t *const *ids, const size_t *n,
                                 size_t count, float *scores, rmb_error *item_err,
                                 rmb_error *err)
{
    rmb_seq *seq = malloc((count ? count : 1) * sizeof *seq);
    if (!seq)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        seq[i] = effective(m, ids[i], n[i]);
    rmb_status st =
        rmb_batch_score(&m->eng, seq, count, m->budget, scores, item_err, &m->stats, err);
    free(seq);
    return st;
}

const rmb_engine *rmb_model_engine(const rmb_model *m) { return &m->eng; }

void rmb_model_set_pass_tokens(rmb_model *m, size_t tokens)
{
    m->budget = tokens ? tokens : m->default_budget;
}

void rmb_model_batch_stats(const rmb_model *m, size_t *tokens, size_t *rows, size_t *passes)
{
    *tokens = m->stats.tokens;
    *rows = m->stats.rows;
    *passes = m->stats.passes;
}
