/* rmb_model: from a checkpoint directory or GGUF file to a bound network. */
#include "rmb/model.h"

#include "model/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every architecture rmb runs; the first matching name wins. */
static const rmb_arch *const archs[] = {
    &rmb_arch_llama,  &rmb_arch_mistral, &rmb_arch_qwen2,
    &rmb_arch_qwen3, &rmb_arch_gemma2, &rmb_arch_internlm2, &rmb_arch_armorm,
};

struct rmb_model {
    rmb_checkpoint *own_ckpt; /* opened by rmb_model_open (NULL when the caller's) */
    rmb_config cfg;
    rmb_weights weights;
    rmb_arch_desc desc;
    rmb_net net;
    rmb_scratch *scratch;
    size_t budget;         /* rows per pass */
    size_t default_budget;
    rmb_batch_stats stats; /* of the last batch */
};

/* Pass rows are bounded by this much residual stream, K/V and rotary
 * tables. */
#define PASS_BYTES ((size_t)256 << 20)

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

static rmb_status check_options(const rmb_model_options *opt, rmb_error *err)
{
    if (opt->compute && strcmp(opt->compute, "exact") && strcmp(opt->compute, "bf16") &&
        strcmp(opt->compute, "int8"))
        return rmb_fail(err, RMB_EUSAGE, "compute '%s': expected 'exact', 'bf16' or 'int8'",
                        opt->compute);
    if (opt->threads < 0 || opt->chunk_tokens < 0)
        return rmb_fail(err, RMB_EUSAGE, "threads and chunk_tokens must not be negative");
    if (opt->device && strcmp(opt->device, "cpu"))
        return rmb_fail(err, RMB_EUNSUPPORTED, "device '%s': this build has only the 'cpu' backend",
                        opt->device);
    if (!rmb_kernels_find(opt->kernels))
        return rmb_fail(err, RMB_EUNSUPPORTED, "kernels '%s': unknown or not supported by this CPU",
                        opt->kernels);
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
    m->net.kern = rmb_kernels_find(opt->kernels);
    m->net.chunk = opt->chunk_tokens ? (size_t)opt->chunk_tokens : 256;
    m->net.bf16 = opt->compute && !strcmp(opt->compute, "bf16");
    m->net.int8 = opt->compute && !strcmp(opt->compute, "int8");
    if ((st = rmb_net_bind(&m->net, &m->weights, err)))
        return st;
    if (m->net.int8 && !has_q8_0(&m->net))
        return rmb_fail(err, RMB_EUSAGE,
                        "%s: compute 'int8' needs Q8_0 weights (a GGUF written by rmb convert "
                        "--type q8_0)",
                        rmb_checkpoint_path(ck));
    size_t row = ((size_t)m->cfg.hidden + 2 * (size_t)m->cfg.n_kv_heads * m->cfg.head_dim +
                  (size_t)m->cfg.head_dim) * 4;
    m->default_budget = PASS_BYTES / row > m->net.chunk ? PASS_BYTES / row : m->net.chunk;
    m->budget = m->default_budget;
    return rmb_pool_create(&m->net.pool, opt->threads, err);
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
    rmb_pool_destroy(m->net.pool);
    rmb_scratch_free(m->scratch);
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
    rmb_status st = rmb_batch_score(&m->net, &m->scratch, seq, count, m->budget, scores,
                                    item_err, &m->stats, err);
    free(seq);
    return st;
}

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
