/* rmb_model: from a checkpoint directory to a bound network. */
#include "rmb/model.h"

#include "model/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every architecture rmb runs; the first matching name wins. */
static const rmb_arch *const archs[] = {
    &rmb_arch_llama,  &rmb_arch_mistral, &rmb_arch_qwen2,
    &rmb_arch_qwen3, &rmb_arch_gemma2, &rmb_arch_internlm2, &rmb_arch_armorm,
};

struct rmb_model {
    rmb_config cfg;
    rmb_weights weights;
    rmb_arch_desc desc;
    rmb_net net;
    rmb_scratch *scratch;
};

static rmb_status find_arch(const rmb_config *cfg, const rmb_arch **out, rmb_error *err)
{
    char list[512] = "";
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
        if (!strcmp(archs[i]->name, cfg->architecture)) {
            *out = archs[i];
            return RMB_OK;
        }
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, archs[i]->name, sizeof list - strlen(list) - 1);
    }
    return rmb_fail(err, RMB_EUNSUPPORTED,
                    "%s: architectures: '%s' is not supported (supported: %s)", cfg->path,
                    cfg->architecture, list);
}

static rmb_status check_options(const rmb_model_options *opt, rmb_error *err)
{
    if (opt->compute && strcmp(opt->compute, "exact"))
        return rmb_fail(err, strcmp(opt->compute, "bf16") ? RMB_EUSAGE : RMB_EUNSUPPORTED,
                        "compute '%s': only 'exact' is available in this build", opt->compute);
    if (opt->threads < 0 || opt->chunk_tokens < 0)
        return rmb_fail(err, RMB_EUSAGE, "threads and chunk_tokens must not be negative");
    if (!rmb_kernels_find(opt->kernels))
        return rmb_fail(err, RMB_EUNSUPPORTED, "kernels '%s': unknown or not supported by this CPU",
                        opt->kernels);
    return RMB_OK;
}

static rmb_status load(rmb_model *m, const char *dir, const rmb_model_options *opt,
                       rmb_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/config.json", dir) >= sizeof path)
        return rmb_fail(err, RMB_EUSAGE, "%s: path too long", dir);
    const rmb_arch *arch = NULL;
    rmb_status st;
    if ((st = rmb_config_load(&m->cfg, path, err)) || (st = find_arch(&m->cfg, &arch, err)) ||
        (st = arch->configure(&m->desc, &m->cfg, err)) ||
        (st = rmb_weights_open(&m->weights, dir, err)))
        return st;
    m->net.cfg = &m->cfg;
    m->net.desc = &m->desc;
    m->net.kern = rmb_kernels_find(opt->kernels);
    m->net.chunk = opt->chunk_tokens ? (size_t)opt->chunk_tokens : 256;
    if ((st = rmb_net_bind(&m->net, &m->weights, err)))
        return st;
    return rmb_pool_create(&m->net.pool, opt->threads, err);
}

rmb_status rmb_model_open(rmb_model **out, const char *dir, const rmb_model_options *opt,
                          rmb_error *err)
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
    if ((st = load(m, dir, opt, err)) != RMB_OK) {
        rmb_model_close(m);
        return st;
    }
    *out = m;
    return RMB_OK;
}

void rmb_model_close(rmb_model *m)
{
    if (!m)
        return;
    rmb_pool_destroy(m->net.pool);
    rmb_scratch_free(m->scratch);
    if (m->net.cfg)
        rmb_net_unbind(&m->net);
    rmb_weights_close(&m->weights);
    rmb_arch_desc_free(&m->desc);
    rmb_config_free(&m->cfg);
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

const char *rmb_model_kernels(const rmb_model *m)
{
    return m->net.kern->name;
}

int rmb_model_threads(const rmb_model *m)
{
    return rmb_pool_threads(m->net.pool);
}

size_t rmb_model_weight_bytes(const rmb_model *m)
{
    return m->weights.total_bytes;
}

/* InternLM2 reward: the reward token follows every sequence, and its
 * hidden state is scored (the last token of the attention mask). */
static rmb_status score_with_token(rmb_model *m, const int32_t *ids, size_t n, float *scores,
                                   rmb_error *err)
{
    int32_t *all = malloc((n + 1) * sizeof *all);
    if (!all)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    memcpy(all, ids, n * sizeof *all);
    all[n] = m->desc.append_token;
    rmb_status st = rmb_net_forward(&m->net, &m->scratch, all, n + 1, scores, err);
    free(all);
    return st;
}

rmb_status rmb_model_score(rmb_model *m, const int32_t *ids, size_t n, float *scores,
                           rmb_error *err)
{
    if (n == 0)
        return rmb_fail(err, RMB_EUSAGE, "an empty sequence has no token to score");
    if (m->desc.append_token >= 0)
        return score_with_token(m, ids, n, scores, err);
    if (m->desc.head_ops) /* the head reads the positions it needs */
        return rmb_net_forward(&m->net, &m->scratch, ids, n, scores, err);
    /* transformers: the last position whose id differs from pad_token_id
     * (argmax of position * mask, hence 0 when every token is padding). */
    size_t last = n - 1;
    while (last > 0 && ids[last] == m->cfg.pad_token_id)
        last--;
    return rmb_net_forward(&m->net, &m->scratch, ids, last + 1, scores, err);
}

rmb_status rmb_model_score_batch(rmb_model *m, const int32_t *const *ids, const size_t *n,
                                 size_t count, float *scores, rmb_error *item_err,
                                 rmb_error *err)
{
    size_t n_out = (size_t)rmb_model_n_outputs(m);
    for (size_t i = 0; i < count; i++) {
        item_err[i].status = RMB_OK;
        rmb_status st = rmb_model_score(m, ids[i], n[i], scores + i * n_out, &item_err[i]);
        if (st == RMB_ENOMEM)
            return rmb_fail(err, st, "%s", item_err[i].msg);
    }
    return RMB_OK;
}
