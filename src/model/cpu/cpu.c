/* The CPU backend: the kernel sets, the compute modes, prepacked weights,
 * the thread pool and the chunked forward pass (forward.c).
 *
 * Bit identity: a row of a pack computes exactly what it computes alone,
 * for every kernel set, compute mode (exact, bf16, int8), chunk size, pass
 * budget and thread count: GEMM rows are independent chains over k, the
 * int8 path quantizes per token, attention visits each row's positions in
 * the same order whatever the block it shares, and element-wise steps are
 * per element.  Different kernel sets agree within rounding only. */
#include "model/cpu/forward.h"

#include <math.h>
#include <stdlib.h>

/* Pass rows are bounded by this much residual stream, K/V and rotary
 * tables. */
#define PASS_BYTES ((size_t)256 << 20)

/* Log-probabilities: rows normed and multiplied at once, and vocabulary
 * rows per product (a block of logits is LOGPROB_ROWS x VOCAB_BLOCK). */
#define LOGPROB_ROWS 64
#define VOCAB_BLOCK 2048

/* Whether the product that will multiply t takes it prepacked. */
static bool takes_prepacked(const rmb_cpu *cpu, const rmb_tensor *t)
{
    /* k even, so the bf16 path (when chosen) takes it too, as in project() */
    return cpu->kern->prepack && t->dtype == RMB_DT_BF16 && t->shape[1] % 2 == 0 &&
           (cpu->bf16 ? cpu->kern->gemm_bf16 != NULL : cpu->kern->gemm_packed != NULL);
}

/* The layers' BF16 matrices laid out once for the kernel set
 * (rmb_kernels.prepack), each file copy's pages given back as soon as it is
 * done: the products then read every block of a panel as one run instead
 * of gathering it from 32 rows each time, and memory holds one copy. */
static rmb_status prepack_layers(rmb_cpu *cpu, const rmb_weights *w, rmb_error *err)
{
    int n = cpu->cfg->n_layers;
    if (!cpu->kern->prepack)
        return RMB_OK;
    if (!(cpu->prepacked = calloc((size_t)n * 7, sizeof *cpu->prepacked)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (int l = 0; l < n; l++) {
        rmb_layer *L = &cpu->layers[l];
        const rmb_tensor **slot[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
        for (size_t i = 0; i < 7; i++) {
            const rmb_tensor *t = *slot[i];
            if (!t || !takes_prepacked(cpu, t))
                continue;
            size_t rows = (size_t)t->shape[0], k = (size_t)t->shape[1],
                   bytes = rmb_prepacked_elements(rows, k) * sizeof(uint16_t);
            rmb_tensor *p = &cpu->prepacked[(size_t)l * 7 + i];
            uint16_t *data = aligned_alloc(64, (bytes + 63) / 64 * 64);
            if (!data)
                return rmb_fail(err, RMB_ENOMEM, "out of memory prepacking %s", t->name);
            cpu->kern->prepack(t->data, rows, k, data);
            rmb_weights_release(w, t);
            *p = *t;
            p->dtype = RMB_DT_BF16_PANELS;
            p->data = data;
            p->n_bytes = bytes;
            *slot[i] = p;
        }
    }
    return RMB_OK;
}

/* The network's layers as this backend reads them: the same tensors, the
 * BF16 matrices its kernel set takes prepacked swapped for its copies. */
static rmb_status copy_layers(rmb_cpu *cpu, const rmb_weights *w, rmb_error *err)
{
    size_t n = (size_t)cpu->cfg->n_layers;
    if (!(cpu->layers = malloc(n * sizeof *cpu->layers)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    memcpy(cpu->layers, cpu->net->layers, n * sizeof *cpu->layers);
    return prepack_layers(cpu, w, err);
}

static void cpu_close(rmb_backend *b)
{
    rmb_cpu *cpu = (rmb_cpu *)b;
    if (!cpu)
        return;
    for (size_t i = 0; cpu->prepacked && i < (size_t)cpu->cfg->n_layers * 7; i++)
        free((void *)cpu->prepacked[i].data);
    free(cpu->prepacked);
    free(cpu->layers);
    rmb_pool_destroy(cpu->pool);
    rmb_scratch_free(cpu->scratch);
    free(cpu);
}

static rmb_status cpu_open(rmb_backend **out, const rmb_net *net, const rmb_weights *w,
                           const rmb_backend_options *opt, rmb_error *err)
{
    *out = NULL;
    if (opt->unit) /* the pool uses every CPU it is given; there is no CPU to pick */
        return rmb_fail(err, RMB_EUSAGE, "device 'cpu:%s': the cpu backend takes no unit",
                        opt->unit);
    const rmb_kernels *kern = rmb_kernels_find(opt->kernels);
    if (!kern)
        return rmb_fail(err, RMB_EUNSUPPORTED, "kernels '%s': unknown or not supported by this CPU",
                        opt->kernels);
    rmb_cpu *cpu = calloc(1, sizeof *cpu);
    if (!cpu)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    *cpu = (rmb_cpu){.base = {&rmb_backend_cpu}, .net = net, .cfg = net->cfg, .desc = net->desc,
                     .embed = net->embed, .kern = kern,
                     .chunk = opt->chunk_tokens ? opt->chunk_tokens : 256,
                     .bf16 = opt->compute == RMB_COMPUTE_BF16,
                     .int8 = opt->compute == RMB_COMPUTE_INT8};
    rmb_status st = copy_layers(cpu, w, err);
    if (st == RMB_OK)
        st = rmb_pool_create(&cpu->pool, opt->threads, err);
    if (st != RMB_OK) {
        cpu_close(&cpu->base);
        return st;
    }
    *out = &cpu->base;
    return RMB_OK;
}

static size_t cpu_pass_rows(const rmb_backend *b)
{
    const rmb_cpu *cpu = (const rmb_cpu *)b;
    const rmb_config *c = cpu->cfg;
    size_t row = ((size_t)c->hidden + 2 * (size_t)c->n_kv_heads * c->head_dim +
                  (size_t)c->head_dim) * 4;
    return PASS_BYTES / row > cpu->chunk ? PASS_BYTES / row : cpu->chunk;
}

static void cpu_info(const rmb_backend *b, rmb_backend_info *out)
{
    const rmb_cpu *cpu = (const rmb_cpu *)b;
    out->kernels = cpu->kern->name;
    out->threads = rmb_pool_threads(cpu->pool);
}

static rmb_status cpu_run(rmb_backend *b, const rmb_pack *pk, rmb_error *err)
{
    return rmb_cpu_run((rmb_cpu *)b, pk, err);
}

static rmb_status cpu_hidden(rmb_backend *b, const size_t *rows, size_t n, float *out,
                             rmb_error *err)
{
    (void)err;
    const rmb_cpu *cpu = (const rmb_cpu *)b;
    size_t hid = (size_t)cpu->cfg->hidden;
    const float *x = rmb_cpu_residual(cpu);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * hid, x + rows[i] * hid, hid * sizeof *out);
    return RMB_OK;
}

/* A running log-sum-exp per row over the vocabulary blocks, and the
 * target token's logit when its block passes. */
typedef struct lse_rows {
    double *max, *sum;
    float *target;
} lse_rows;

/* Folds one block of logits (nr rows x nb, vocabulary ids j0...) in. */
static void lse_block(lse_rows *acc, const float *logits, size_t nr, size_t nb, size_t j0,
                      const int32_t *tokens)
{
    for (size_t r = 0; r < nr; r++) {
        const float *l = logits + r * nb;
        double m = l[0];
        for (size_t j = 1; j < nb; j++)
            m = l[j] > m ? l[j] : m;
        double s = 0;
        for (size_t j = 0; j < nb; j++)
            s += exp(l[j] - m);
        if (m > acc->max[r]) {
            acc->sum[r] = acc->sum[r] * exp(acc->max[r] - m) + s;
            acc->max[r] = m;
        } else {
            acc->sum[r] += s * exp(m - acc->max[r]);
        }
        if ((size_t)tokens[r] >= j0 && (size_t)tokens[r] < j0 + nb)
            acc->target[r] = l[tokens[r] - (int32_t)j0];
    }
}

/* One group of at most LOGPROB_ROWS rows: normed, then multiplied by the
 * head a block of the vocabulary at a time (the normed rows packed once). */
static void logprob_rows(const rmb_cpu *cpu, const rmb_tensor *head, const size_t *rows,
                         const int32_t *tokens, size_t nr, float *work, float *out)
{
    size_t hid = (size_t)cpu->cfg->hidden, vocab = (size_t)cpu->cfg->vocab;
    float *x = work, *xt = x + LOGPROB_ROWS * hid, *logits = xt + LOGPROB_ROWS * hid + 16;
    double max[LOGPROB_ROWS], sum[LOGPROB_ROWS];
    float target[LOGPROB_ROWS];
    lse_rows acc = {max, sum, target};
    const float *res = rmb_cpu_residual(cpu);
    for (size_t r = 0; r < nr; r++) {
        rmb_net_final_norm(cpu->net, res + rows[r] * hid, x + r * hid);
        max[r] = -INFINITY;
        sum[r] = 0;
    }
    for (size_t j0 = 0; j0 < vocab; j0 += VOCAB_BLOCK) {
        size_t nb = rmb_min_size(VOCAB_BLOCK, vocab - j0);
        const char *w = (const char *)head->data + rmb_dtype_bytes(head->dtype, j0 * hid);
        rmb_gemm(cpu->pool, cpu->kern, x, nr, hid, w, head->dtype, nb, logits, xt, j0 > 0);
        lse_block(&acc, logits, nr, nb, j0, tokens);
    }
    for (size_t r = 0; r < nr; r++)
        out[r] = (float)((double)target[r] - (max[r] + log(sum[r])));
}

static rmb_status cpu_logprobs(rmb_backend *b, const size_t *rows, const int32_t *tokens,
                               size_t n, float *out, rmb_error *err)
{
    const rmb_cpu *cpu = (const rmb_cpu *)b;
    const rmb_tensor *head = cpu->net->lm_head;
    if (!head)
        return rmb_fail(err, RMB_EUNSUPPORTED,
                        "%s: %s has no language-model head (lm_head, or tied embeddings) to take "
                        "log-probabilities from",
                        cpu->cfg->path, cpu->cfg->architecture);
    size_t hid = (size_t)cpu->cfg->hidden;
    float *work = malloc((2 * LOGPROB_ROWS * hid + 16 + LOGPROB_ROWS * VOCAB_BLOCK) * sizeof *work);
    if (!work)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i += LOGPROB_ROWS)
        logprob_rows(cpu, head, rows + i, tokens + i, rmb_min_size(LOGPROB_ROWS, n - i), work,
                     out + i);
    free(work);
    return RMB_OK;
}

const rmb_backend_ops rmb_backend_cpu = {
    .version = RMB_BACKEND_VERSION,
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .pass_rows = cpu_pass_rows,
    .info = cpu_info,
    .run = cpu_run,
    .hidden = cpu_hidden,
    .logprobs = cpu_logprobs,
};
