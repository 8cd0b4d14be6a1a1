/* The forward pass: embedding, decoder layers as the description says, the
 * final norm and the classification head on the last token. */
#include "model/forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- binding tensors ---- */

/* fmt (with an optional %d for the layer) followed by suffix. */
static void tensor_name(char *buf, size_t size, const char *fmt, int layer, const char *suffix)
{
    snprintf(buf, size, fmt, layer);
    strncat(buf, suffix, size - strlen(buf) - 1);
}

static rmb_status bind_matrix(const rmb_weights *w, const char *fmt, int layer, int64_t rows,
                              int64_t cols, const rmb_tensor **out, rmb_error *err)
{
    char name[256];
    tensor_name(name, sizeof name, fmt, layer, ".weight");
    int64_t shape[2] = {rows, cols};
    return rmb_weights_get(w, name, 2, shape, false, out, err);
}

/* A vector copied to float; plus_one adds 1 to every element (Gemma norms).
 * suffix is ".weight" or ".bias"; a NULL fmt or an absent optional vector
 * leaves *out NULL. */
static rmb_status bind_vector(const rmb_weights *w, const char *fmt, int layer,
                              const char *suffix, int64_t n, bool optional, bool plus_one,
                              float **out, rmb_error *err)
{
    *out = NULL;
    if (!fmt)
        return RMB_OK;
    char name[256];
    tensor_name(name, sizeof name, fmt, layer, suffix);
    const rmb_tensor *t;
    rmb_status st = rmb_weights_get(w, name, 1, &n, optional, &t, err);
    if (st != RMB_OK || !t)
        return st;
    if (!(*out = malloc((size_t)n * sizeof **out)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_tensor_to_f32(t, *out);
    for (int64_t i = 0; plus_one && i < n; i++)
        (*out)[i] += 1.0f;
    return RMB_OK;
}

/* q, k and v projections and biases, or the one packed matrix. */
static rmb_status bind_qkv(rmb_net *net, const rmb_weights *w, int l, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    const rmb_arch_desc *d = net->desc;
    const rmb_tensor_names *nm = &d->names;
    rmb_layer *L = &net->layers[l];
    int64_t h = c->hidden, qd = (int64_t)c->n_heads * c->head_dim,
            kvd = (int64_t)c->n_kv_heads * c->head_dim;
    rmb_status st;
    if (d->packed_qkv) {
        if ((st = bind_matrix(w, nm->q, l, qd + 2 * kvd, h, &L->wq, err)))
            return st;
        return bind_vector(w, d->qkv_bias ? nm->q : NULL, l, ".bias", qd + 2 * kvd, false,
                           false, &L->bq, err);
    }
    if ((st = bind_matrix(w, nm->q, l, qd, h, &L->wq, err)) ||
        (st = bind_matrix(w, nm->k, l, kvd, h, &L->wk, err)) ||
        (st = bind_matrix(w, nm->v, l, kvd, h, &L->wv, err)) ||
        (st = bind_vector(w, d->qkv_bias ? nm->q : NULL, l, ".bias", qd, false, false, &L->bq, err)) ||
        (st = bind_vector(w, d->qkv_bias ? nm->k : NULL, l, ".bias", kvd, false, false, &L->bk, err)))
        return st;
    return bind_vector(w, d->qkv_bias ? nm->v : NULL, l, ".bias", kvd, false, false, &L->bv, err);
}

static rmb_status bind_layer(rmb_net *net, const rmb_weights *w, int l, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    const rmb_arch_desc *d = net->desc;
    const rmb_tensor_names *nm = &d->names;
    rmb_layer *L = &net->layers[l];
    int64_t h = c->hidden, qd = (int64_t)c->n_heads * c->head_dim, in = c->intermediate;
    bool p1 = d->norm_plus_one;
    rmb_status st;
    if ((st = bind_qkv(net, w, l, err)) || (st = bind_matrix(w, nm->o, l, h, qd, &L->wo, err)) ||
        (st = bind_matrix(w, nm->gate, l, in, h, &L->wg, err)) ||
        (st = bind_matrix(w, nm->up, l, in, h, &L->wu, err)) ||
        (st = bind_matrix(w, nm->down, l, h, in, &L->wd, err)) ||
        (st = bind_vector(w, d->o_bias ? nm->o : NULL, l, ".bias", h, false, false, &L->bo, err)) ||
        (st = bind_vector(w, d->mlp_bias ? nm->gate : NULL, l, ".bias", in, false, false, &L->bg, err)) ||
        (st = bind_vector(w, d->mlp_bias ? nm->up : NULL, l, ".bias", in, false, false, &L->bu, err)) ||
        (st = bind_vector(w, d->mlp_bias ? nm->down : NULL, l, ".bias", h, false, false, &L->bd, err)) ||
        (st = bind_vector(w, nm->attn_norm, l, ".weight", h, false, p1, &L->attn_norm, err)) ||
        (st = bind_vector(w, nm->mlp_norm, l, ".weight", h, false, p1, &L->mlp_norm, err)))
        return st;
    if (d->sandwich_norms &&
        ((st = bind_vector(w, nm->post_attn_norm, l, ".weight", h, false, p1, &L->post_attn_norm, err)) ||
         (st = bind_vector(w, nm->post_mlp_norm, l, ".weight", h, false, p1, &L->post_mlp_norm, err))))
        return st;
    if (d->qk_norm &&
        ((st = bind_vector(w, nm->q_norm, l, ".weight", c->head_dim, false, p1, &L->q_norm, err)) ||
         (st = bind_vector(w, nm->k_norm, l, ".weight", c->head_dim, false, p1, &L->k_norm, err))))
        return st;
    return RMB_OK;
}

/* The head's label count comes from its shape unless the config says it. */
static rmb_status bind_head(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    char name[256];
    tensor_name(name, sizeof name, net->desc->names.head, 0, ".weight");
    const rmb_tensor *t = rmb_weights_find(w, name);
    int64_t n = net->cfg->num_labels;
    if (n < 0)
        n = t && t->n_dims == 2 ? t->shape[0] : 1;
    int64_t shape[2] = {n, net->cfg->hidden};
    rmb_status st = rmb_weights_get(w, name, 2, shape, false, &t, err);
    if (st != RMB_OK)
        return st;
    net->n_labels = (int)n;
    if (!(net->head = malloc((size_t)(n * shape[1]) * sizeof(float))))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_tensor_to_f32(t, net->head);
    return RMB_OK;
}

/* Whether the product that will multiply t takes it prepacked. */
static bool takes_prepacked(const rmb_net *net, const rmb_tensor *t)
{
    /* k even, so the bf16 path (when chosen) takes it too, as in project() */
    return net->kern->prepack && t->dtype == RMB_DT_BF16 && t->shape[1] % 2 == 0 &&
           (net->bf16 ? net->kern->gemm_bf16 != NULL : net->kern->gemm_packed != NULL);
}

/* The layers' BF16 matrices laid out once for the kernel set
 * (rmb_kernels.prepack), each file copy's pages given back as soon as it is
 * done: the products then read every block of a panel as one run instead
 * of gathering it from 32 rows each time, and memory holds one copy. */
static rmb_status prepack_layers(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    int n = net->cfg->n_layers;
    if (!net->kern->prepack)
        return RMB_OK;
    if (!(net->prepacked = calloc((size_t)n * 7, sizeof *net->prepacked)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (int l = 0; l < n; l++) {
        rmb_layer *L = &net->layers[l];
        const rmb_tensor **slot[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
        for (size_t i = 0; i < 7; i++) {
            const rmb_tensor *t = *slot[i];
            if (!t || !takes_prepacked(net, t))
                continue;
            size_t rows = (size_t)t->shape[0], k = (size_t)t->shape[1],
                   bytes = rmb_prepacked_elements(rows, k) * sizeof(uint16_t);
            rmb_tensor *p = &net->prepacked[(size_t)l * 7 + i];
            uint16_t *data = aligned_alloc(64, (bytes + 63) / 64 * 64);
            if (!data)
                return rmb_fail(err, RMB_ENOMEM, "out of memory prepacking %s", t->name);
            net->kern->prepack(t->data, rows, k, data);
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

rmb_status rmb_net_bind(rmb_net *net, const rmb_weights *w, rmb_error *err)
{
    const rmb_config *c = net->cfg;
    const rmb_arch_desc *d = net->desc;
    rmb_status st = bind_matrix(w, d->names.embed, 0, c->vocab, c->hidden, &net->embed, err);
    if (st == RMB_OK)
        st = bind_vector(w, d->names.final_norm, 0, ".weight", c->hidden, false,
                         d->norm_plus_one, &net->final_norm, err);
    if (st == RMB_OK)
        st = d->head_ops ? d->head_ops->bind(net, w, err) : bind_head(net, w, err);
    if (st == RMB_OK && !(net->layers = calloc((size_t)c->n_layers, sizeof *net->layers)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (int l = 0; st == RMB_OK && l < c->n_layers; l++)
        st = bind_layer(net, w, l, err);
    return st == RMB_OK ? prepack_layers(net, w, err) : st;
}

void rmb_net_unbind(rmb_net *net)
{
    for (int l = 0; net->layers && l < net->cfg->n_layers; l++) {
        rmb_layer *L = &net->layers[l];
        float *owned[] = {L->bq, L->bk, L->bv, L->bo, L->bg, L->bu, L->bd, L->attn_norm,
                          L->mlp_norm, L->post_attn_norm, L->post_mlp_norm, L->q_norm, L->k_norm};
        for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
            free(owned[i]);
    }
    for (size_t i = 0; net->prepacked && i < (size_t)net->cfg->n_layers * 7; i++)
        free((void *)net->prepacked[i].data);
    free(net->prepacked);
    net->prepacked = NULL;
    if (net->desc->head_ops && net->head_state)
        net->desc->head_ops->unbind(net);
    free(net->layers);
    free(net->final_norm);
    free(net->head);
    net->layers = NULL;
    net->final_norm = net->head = NULL;
}

/* ---- scratch ---- */

struct rmb_scratch {
    size_t cap;   /* tokens the sequence-sized buffers hold */
    float *x;     /* residual stream, cap x hidden */
    /* One layer's keys and values, each kv head's apart (the attention
     * kernels' layouts): kt[(g * head_dim + i) * ldk + row], keys
     * transposed (ldk >= cap); vh[(g * cap + row) * head_dim + i]. */
    float *kt, *vh;
    size_t ldk;
    size_t seq_cap; /* positions of the longest sequence probs holds */
    float *probs;   /* attention scratch, attn_slab(seq_cap) floats per thread */
    float *cos, *sin; /* cap x head_dim / 2: every row's rotary angles, once per pass */
    /* chunk-sized: */
    float *k, *v;    /* chunk x kv_dim, as projected */
    float *xn, *tmp; /* chunk x hidden */
    float *q, *att;  /* chunk x q_dim */
    float *qkv;      /* chunk x (q_dim + 2 kv_dim), packed projections */
    float *xt;       /* chunk x the widest GEMM input, prepared activations */
    int xt_path;     /* which project() path prepared xt (int8 and exact differ per tensor) */
    float *gate, *up; /* chunk x intermediate */
};

void rmb_scratch_free(rmb_scratch *s)
{
    if (!s)
        return;
    float *all[] = {s->x,   s->k,   s->v,  s->kt,  s->vh,  s->probs, s->xn, s->tmp,
                    s->q,   s->att, s->qkv, s->xt, s->gate, s->up,  s->cos,   s->sin};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    free(s);
}

static float *alloc_floats(size_t rows, size_t cols, bool *ok)
{
    float *p = malloc(rows * cols * sizeof(float) + 64);
    *ok = *ok && p;
    return p;
}

/* Query rows per attention task: a block of rows times the query heads
 * that share one kv head (GQA) make ATTN_ROW_HEADS rows against the same
 * keys, so each key and value is loaded once for all of them. */
#define ATTN_ROW_HEADS 32

static size_t heads_per_kv(const rmb_config *c)
{
    return (size_t)(c->n_heads / c->n_kv_heads);
}

static size_t attn_block_rows(const rmb_config *c)
{
    return heads_per_kv(c) < ATTN_ROW_HEADS ? ATTN_ROW_HEADS / heads_per_kv(c) : 1;
}

/* A thread's attention scratch: for each row-head of a block, its scores
 * (one per position of a sequence up to `longest`), its query and its
 * output. */
static size_t attn_slab(const rmb_config *c, size_t longest)
{
    return attn_block_rows(c) * heads_per_kv(c) * (longest + 2 * (size_t)c->head_dim);
}

/* The transposed keys' row length: cap rounded to an odd number of cache
 * lines, so that the rows a strip of keys spans fall in different sets. */
static size_t keys_ld(size_t cap)
{
    size_t lines = (cap + 15) / 16;
    return (lines | 1) * 16;
}

/* A capacity of at least want, growing geometrically from have. */
static size_t grown(size_t want, size_t have)
{
    return want > 2 * have ? want : 2 * have;
}

static rmb_status scratch_reserve(const rmb_net *net, rmb_scratch **sp, const rmb_pack *pk,
                                  rmb_error *err)
{
    size_t n = pk->rows, longest = 0;
    for (size_t i = 0; i < pk->n_spans; i++)
        if (pk->spans[i].plen + pk->spans[i].len > longest)
            longest = pk->spans[i].plen + pk->spans[i].len;
    const rmb_config *c = net->cfg;
    size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    size_t ch = net->chunk;
    bool ok = true;
    rmb_scratch *s = *sp;
    if (!s) {
        if (!(s = *sp = calloc(1, sizeof *s)))
            return rmb_fail(err, RMB_ENOMEM, "out of memory");
        s->k = alloc_floats(ch, kvd, &ok);
        s->v = alloc_floats(ch, kvd, &ok);
        s->xn = alloc_floats(ch, (size_t)c->hidden, &ok);
        s->tmp = alloc_floats(ch, (size_t)c->hidden, &ok);
        s->q = alloc_floats(ch, qd, &ok);
        s->att = alloc_floats(ch, qd, &ok);
        size_t widest = qd > (size_t)c->intermediate ? qd : (size_t)c->intermediate;
        s->xt = alloc_floats(ch, widest > (size_t)c->hidden ? widest : (size_t)c->hidden, &ok);
        if (net->desc->packed_qkv)
            s->qkv = alloc_floats(ch, qd + 2 * kvd, &ok);
        s->gate = alloc_floats(ch, (size_t)c->intermediate, &ok);
        s->up = alloc_floats(ch, (size_t)c->intermediate, &ok);
    }
    if (ok && n > s->cap) {
        size_t cap = grown(n, s->cap);
        free(s->x), free(s->kt), free(s->vh), free(s->cos), free(s->sin);
        s->ldk = keys_ld(cap);
        s->x = alloc_floats(cap, (size_t)c->hidden, &ok);
        s->kt = alloc_floats(kvd, s->ldk, &ok);
        s->vh = alloc_floats(cap, kvd, &ok);
        s->cos = alloc_floats(cap, (size_t)c->head_dim / 2, &ok);
        s->sin = alloc_floats(cap, (size_t)c->head_dim / 2, &ok);
        s->cap = ok ? cap : 0;
    }
    if (ok && longest > s->seq_cap) {
        size_t cap = grown(longest, s->seq_cap);
        free(s->probs);
        s->probs = alloc_floats(attn_slab(c, cap), (size_t)rmb_pool_threads(net->pool), &ok);
        s->seq_cap = ok ? cap : 0;
    }
    return ok ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory for a %zu-token sequence", n);
}

/* ---- element-wise building blocks ---- */

/* y = x / rms(x) * w, the norm of every architecture here (w already holds
 * Gemma's 1 + w).  The squares (exact in double) are summed in eight
 * interleaved partial sums, then pairwise: one serial chain of n additions
 * was 7% of an int8 prefill. */
static void rmsnorm(float *y, const float *x, const float *w, size_t n, float eps)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++)
            part[j] += (double)x[i + j] * x[i + j];
    for (; i < n; i++)
        part[i % 8] += (double)x[i] * x[i];
    double ss = ((part[0] + part[1]) + (part[2] + part[3])) +
                ((part[4] + part[5]) + (part[6] + part[7]));
    float inv = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (i = 0; i < n; i++)
        y[i] = w[i] * (x[i] * inv);
}

static void rmsnorm_rows(float *y, const float *x, const float *w, size_t rows, size_t n,
                         float eps)
{
    for (size_t r = 0; r < rows; r++)
        rmsnorm(y + r * n, x + r * n, w, n, eps);
}

static void add_bias(float *y, const float *b, size_t rows, size_t n)
{
    for (size_t r = 0; b && r < rows; r++)
        for (size_t i = 0; i < n; i++)
            y[r * n + i] += b[i];
}

static void add_rows(float *y, const float *x, size_t rows, size_t n)
{
    for (size_t i = 0; i < rows * n; i++)
        y[i] += x[i];
}

/* Rotates pairs (i, i + half) of every head of every row by its position's
 * angles (the "rotate_half" convention of transformers). */
static void rope(float *x, size_t rows, size_t heads, size_t hd, const float *cos,
                 const float *sin)
{
    size_t half = hd / 2;
    for (size_t r = 0; r < rows; r++)
        for (size_t h = 0; h < heads; h++) {
            float *v = x + (r * heads + h) * hd;
            const float *c = cos + r * half, *s = sin + r * half;
            for (size_t i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * c[i] - b * s[i];
                v[i + half] = b * c[i] + a * s[i];
            }
        }
}

typedef struct act_job {
    const rmb_net *net;
    float *gate;
    const float *up;
    size_t n;
} act_job;

#define ACT_BLOCK 4096

/* gate = act(gate) * up over one block of elements. */
static void act_task(void *arg, size_t task, int thread)
{
    (void)thread;
    const act_job *j = arg;
    size_t i0 = task * ACT_BLOCK, n = rmb_min_size(ACT_BLOCK, j->n - i0);
    float *gate = j->gate + i0;
    const float *up = j->up + i0;
    if (j->net->desc->act == RMB_ACT_SILU) {
        j->net->kern->silu_mul(gate, up, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = 0.5f * g * (1.0f + tanhf(0.7978845608028654f * (g + 0.044715f * g * g * g))) * up[i];
    }
}

static void gated_act(const rmb_net *net, float *gate, const float *up, size_t n)
{
    act_job j = {net, gate, up, n};
    rmb_pool_run(net->pool, (n + ACT_BLOCK - 1) / ACT_BLOCK, act_task, &j);
}

/* ---- attention ---- */

typedef struct attn_job {
    const rmb_net *net;
    rmb_scratch *s;
    const rmb_pack *pk;
    size_t r0, nt; /* chunk rows [r0, r0 + nt) of the pack */
    int window;
} attn_job;

/* Scales (and soft-caps) the scores p[0..n), returning their maximum. */
static float scale_scores(const rmb_arch_desc *d, float *p, size_t n)
{
    float max = -INFINITY;
    for (size_t t = 0; t < n; t++) {
        float sc = p[t] * d->attn_scale;
        if (d->attn_softcap > 0)
            sc = tanhf(sc / d->attn_softcap) * d->attn_softcap;
        p[t] = sc;
        max = sc > max ? sc : max;
    }
    return max;
}

/* The first position a row at pos attends to. */
static size_t key_lo(int window, size_t pos)
{
    return window && pos + 1 > (size_t)window ? pos + 1 - (size_t)window : 0;
}

/* The rows [a, b) of one block that belong to one span: they attend to
 * positions of the same sequence, row a + i to [lo(pos0 + i), pos0 + i].
 * Per thread: each row-head m (row a + m / heads_per_kv, the kv head's
 * query heads in order) has its query q[m], its output o[m] and its
 * scores p[m] (ldp floats, from position lo(pos0) on). */
typedef struct attn_seg {
    const attn_job *j;
    const rmb_span *sp;
    size_t g, a, b, pos0, lo0;
    float *q, *o, *p;
    size_t ldp;
} attn_seg;

/* The pack row of a span's position: the prefix's rows below plen, its
 * own rows from there. */
static size_t key_row(const rmb_span *sp, size_t pos)
{
    return pos < sp->plen ? sp->prefix + pos : sp->start + (pos - sp->plen);
}

/* The positions [c0, c1) cut where they change from prefix to own rows:
 * the end of the first run of consecutive pack rows. */
static size_t run_end(const rmb_span *sp, size_t c0, size_t c1)
{
    return c0 < sp->plen && sp->plen < c1 ? sp->plen : c1;
}

/* Scores of every row-head against the positions [c0, c1). */
static void seg_scores(const attn_seg *e, size_t c0, size_t c1)
{
    const rmb_config *c = e->j->net->cfg;
    size_t hd = (size_t)c->head_dim, ldk = e->j->s->ldk, nq = (e->b - e->a) * heads_per_kv(c);
    for (size_t end; c0 < c1; c0 = end) {
        end = run_end(e->sp, c0, c1);
        const float *kt = e->j->s->kt + e->g * hd * ldk + key_row(e->sp, c0);
        e->j->net->kern->dots(e->q, nq, kt, ldk, end - c0, hd, e->p + (c0 - e->lo0), e->ldp);
    }
}

/* Row-heads [m0, m0 + nq) accumulate the values of positions [c0, c1). */
static void seg_values(const attn_seg *e, size_t m0, size_t nq, size_t c0, size_t c1)
{
    const rmb_config *c = e->j->net->cfg;
    size_t hd = (size_t)c->head_dim;
    for (size_t end; c0 < c1; c0 = end) {
        end = run_end(e->sp, c0, c1);
        const float *v = e->j->s->vh + (e->g * e->j->s->cap + key_row(e->sp, c0)) * hd;
        e->j->net->kern->wsum(e->o + m0 * hd, nq, e->p + m0 * e->ldp + (c0 - e->lo0), e->ldp, v,
                              hd, end - c0, hd);
    }
}

/* Softmax over each row-head's own positions, in place. */
static void seg_softmax(const attn_seg *e)
{
    const rmb_net *net = e->j->net;
    size_t per = heads_per_kv(net->cfg);
    for (size_t m = 0; m < (e->b - e->a) * per; m++) {
        size_t pos = e->pos0 + m / per, lo = key_lo(e->j->window, pos), n = pos + 1 - lo;
        float *p = e->p + m * e->ldp + (lo - e->lo0);
        float max = scale_scores(net->desc, p, n);
        float sum = net->kern->exp_sum(p, n, max);
        for (size_t t = 0; t < n; t++)
            p[t] /= sum;
    }
}

/* Scores for every position any row attends to (a row's own come out as
 * alone: each is its own chain), then each row's softmax over its own,
 * then each row's values in position order: the positions before those
 * every row shares, the shared ones for all rows at once, the rest. */
static void attn_segment(attn_seg *e)
{
    const rmb_config *c = e->j->net->cfg;
    size_t per = heads_per_kv(c), hd = (size_t)c->head_dim, qd = (size_t)c->n_heads * hd;
    size_t width = per * hd, rows = e->b - e->a, last = e->pos0 + rows - 1;
    int w = e->j->window;
    for (size_t r = 0; r < rows; r++)
        memcpy(e->q + r * width, e->j->s->q + (e->a + r) * qd + e->g * width,
               width * sizeof(float));
    seg_scores(e, e->lo0, last + 1);
    seg_softmax(e);
    memset(e->o, 0, rows * width * sizeof(float));
    size_t s0 = key_lo(w, last), s1 = s0 > e->pos0 + 1 ? s0 : e->pos0 + 1; /* shared */
    for (size_t m = 0; m < rows * per; m++) {
        size_t pos = e->pos0 + m / per;
        seg_values(e, m, 1, key_lo(w, pos), s0 < pos + 1 ? s0 : pos + 1);
    }
    seg_values(e, 0, rows * per, s0, s1);
    for (size_t m = 0; m < rows * per; m++)
        seg_values(e, m, 1, s1, e->pos0 + m / per + 1);
    for (size_t r = 0; r < rows; r++)
        memcpy(e->j->s->att + (e->a + r) * qd + e->g * width, e->o + r * width,
               width * sizeof(float));
}

/* One kv head over one block of query rows, span by span. */
static void attn_task(void *arg, size_t task, int thread)
{
    const attn_job *j = arg;
    const rmb_config *c = j->net->cfg;
    size_t kvh = (size_t)c->n_kv_heads, rows = attn_block_rows(c), hd = (size_t)c->head_dim;
    size_t b0 = task / kvh * rows, b1 = rmb_min_size(b0 + rows, j->nt);
    size_t most = rows * heads_per_kv(c);
    float *slab = j->s->probs + (size_t)thread * attn_slab(c, j->s->seq_cap);
    attn_seg e = {.j = j, .g = task % kvh, .p = slab, .ldp = j->s->seq_cap};
    e.q = slab + most * e.ldp;
    e.o = e.q + most * hd;
    for (e.a = b0; e.a < b1; e.a = e.b) {
        const uint32_t *span_of = j->pk->span_of + j->r0;
        for (e.b = e.a + 1; e.b < b1 && span_of[e.b] == span_of[e.a];)
            e.b++;
        e.sp = &j->pk->spans[span_of[e.a]];
        e.pos0 = e.sp->plen + (j->r0 + e.a - e.sp->start);
        e.lo0 = key_lo(j->window, e.pos0);
        attn_segment(&e);
    }
}

/* ---- one layer over one chunk ---- */

/* y = x w^T + bias; reuse: x is the previous projection's input, whose
 * prepared form s->xt still holds. */
static void project(const rmb_net *net, rmb_scratch *s, const float *x, size_t nt,
                    const rmb_tensor *w, const float *bias, float *y, bool reuse)
{
    size_t k = (size_t)w->shape[1], n = (size_t)w->shape[0];
    enum { EXACT, BF16, INT8 } path = net->int8 && w->dtype == RMB_DT_Q8_0 ? INT8
                                      : net->bf16 && k % 2 == 0          ? BF16
                                                                         : EXACT;
    reuse = reuse && s->xt_path == (int)path; /* q, k and v may differ in dtype */
    s->xt_path = (int)path;
    if (path == INT8)
        rmb_gemm_q8(net->pool, net->kern, x, nt, k, w->data, n, y, s->xt, reuse);
    else if (path == BF16)
        rmb_gemm_bf16(net->pool, net->kern, x, nt, k, w->data, w->dtype, n, y, (uint16_t *)s->xt,
                      reuse);
    else
        rmb_gemm(net->pool, net->kern, x, nt, k, w->data, w->dtype, n, y, s->xt, reuse);
    add_bias(y, bias, nt, n);
}

/* cos and sin of every row's position (within its own sequence), shared by
 * every layer. */
static void rope_tables(const rmb_net *net, rmb_scratch *s, const rmb_pack *pk)
{
    size_t half = (size_t)net->cfg->head_dim / 2;
    for (size_t r = 0; r < pk->rows; r++)
        for (size_t i = 0; i < half; i++) {
            const rmb_span *sp = &pk->spans[pk->span_of[r]];
            float angle = (float)(sp->plen + r - sp->start) * net->desc->inv_freq[i];
            s->cos[r * half + i] = cosf(angle);
            s->sin[r * half + i] = sinf(angle);
        }
}

/* InternLM2's wqkv rows: for each kv head, its query heads, then its key,
 * then its value. */
static void unpack_qkv(const rmb_config *c, const float *qkv, size_t nt, float *q, float *k,
                       float *v)
{
    size_t hd = (size_t)c->head_dim, kvh = (size_t)c->n_kv_heads;
    size_t g = (size_t)(c->n_heads / c->n_kv_heads), width = kvh * (g + 2) * hd;
    for (size_t r = 0; r < nt; r++)
        for (size_t h = 0; h < kvh; h++) {
            const float *src = qkv + r * width + h * (g + 2) * hd;
            memcpy(q + (r * kvh + h) * g * hd, src, g * hd * sizeof *q);
            memcpy(k + (r * kvh + h) * hd, src + g * hd, hd * sizeof *k);
            memcpy(v + (r * kvh + h) * hd, src + (g + 1) * hd, hd * sizeof *v);
        }
}

/* The chunk's keys and values into the layer's, in the kernels' layouts. */
static void store_keys_values(const rmb_config *c, rmb_scratch *s, size_t r0, size_t nt)
{
    size_t hd = (size_t)c->head_dim, kvh = (size_t)c->n_kv_heads, kvd = kvh * hd;
    for (size_t e = 0; e < kvd; e++) /* writing kt's rows in order */
        for (size_t r = 0; r < nt; r++)
            s->kt[e * s->ldk + r0 + r] = s->k[r * kvd + e];
    for (size_t g = 0; g < kvh; g++)
        for (size_t r = 0; r < nt; r++)
            memcpy(s->vh + (g * s->cap + r0 + r) * hd, s->v + r * kvd + g * hd,
                   hd * sizeof(float));
}

static void attention_block(const rmb_net *net, rmb_scratch *s, const rmb_pack *pk, int l,
                            size_t r0, size_t nt)
{
    const rmb_config *c = net->cfg;
    const rmb_layer *L = &net->layers[l];
    size_t hd = (size_t)c->head_dim, hid = (size_t)c->hidden;
    float eps = (float)c->rms_eps;
    float *x = s->x + r0 * hid, *k = s->k, *v = s->v;
    rmsnorm_rows(s->xn, x, L->attn_norm, nt, hid, eps);
    if (net->desc->packed_qkv) {
        project(net, s, s->xn, nt, L->wq, L->bq, s->qkv, false);
        unpack_qkv(c, s->qkv, nt, s->q, k, v);
    } else {
        project(net, s, s->xn, nt, L->wq, L->bq, s->q, false);
        project(net, s, s->xn, nt, L->wk, L->bk, k, true);
        project(net, s, s->xn, nt, L->wv, L->bv, v, true);
    }
    if (net->desc->qk_norm) {
        rmsnorm_rows(s->q, s->q, L->q_norm, nt * (size_t)c->n_heads, hd, eps);
        rmsnorm_rows(k, k, L->k_norm, nt * (size_t)c->n_kv_heads, hd, eps);
    }
    const float *cos = s->cos + r0 * (hd / 2), *sin = s->sin + r0 * (hd / 2);
    rope(s->q, nt, (size_t)c->n_heads, hd, cos, sin);
    rope(k, nt, (size_t)c->n_kv_heads, hd, cos, sin);
    store_keys_values(c, s, r0, nt);
    attn_job job = {net, s, pk, r0, nt, net->desc->window[l]};
    size_t rows = attn_block_rows(c);
    rmb_pool_run(net->pool, (size_t)c->n_kv_heads * ((nt + rows - 1) / rows), attn_task, &job);
    project(net, s, s->att, nt, L->wo, L->bo, s->tmp, false);
    if (L->post_attn_norm)
        rmsnorm_rows(s->tmp, s->tmp, L->post_attn_norm, nt, hid, eps);
    add_rows(x, s->tmp, nt, hid);
}

static void mlp_block(const rmb_net *net, rmb_scratch *s, int l, size_t r0, size_t nt)
{
    const rmb_config *c = net->cfg;
    const rmb_layer *L = &net->layers[l];
    size_t hid = (size_t)c->hidden;
    float eps = (float)c->rms_eps;
    float *x = s->x + r0 * hid;
    rmsnorm_rows(s->xn, x, L->mlp_norm, nt, hid, eps);
    project(net, s, s->xn, nt, L->wg, L->bg, s->gate, false);
    project(net, s, s->xn, nt, L->wu, L->bu, s->up, true);
    gated_act(net, s->gate, s->up, nt * (size_t)c->intermediate);
    project(net, s, s->gate, nt, L->wd, L->bd, s->tmp, false);
    if (L->post_mlp_norm)
        rmsnorm_rows(s->tmp, s->tmp, L->post_mlp_norm, nt, hid, eps);
    add_rows(x, s->tmp, nt, hid);
}

/* ---- the whole pass ---- */

void rmb_net_final_norm(const rmb_net *net, const float *x, float *y)
{
    rmsnorm(y, x, net->final_norm, (size_t)net->cfg->hidden, (float)net->cfg->rms_eps);
}

static void embed(const rmb_net *net, rmb_scratch *s, const int32_t *ids, size_t n)
{
    size_t hid = (size_t)net->cfg->hidden;
    float scale = net->desc->embed_scale;
    for (size_t t = 0; t < n; t++) {
        float *row = s->x + t * hid;
        rmb_widen(net->embed->data, net->embed->dtype, (size_t)ids[t] * hid, hid, row);
        for (size_t i = 0; scale != 0 && i < hid; i++)
            row[i] *= scale;
    }
}

rmb_status rmb_net_run(const rmb_net *net, rmb_scratch **scratch, const rmb_pack *pk,
                       rmb_error *err)
{
    const rmb_config *c = net->cfg;
    rmb_status st = scratch_reserve(net, scratch, pk, err);
    if (st != RMB_OK)
        return st;
    rmb_scratch *s = *scratch;
    embed(net, s, pk->ids, pk->rows);
    rope_tables(net, s, pk);
    for (int l = 0; l < c->n_layers; l++)
        for (size_t r0 = 0; r0 < pk->rows; r0 += net->chunk) {
            size_t nt = pk->rows - r0 < net->chunk ? pk->rows - r0 : net->chunk;
            attention_block(net, s, pk, l, r0, nt);
            mlp_block(net, s, l, r0, nt);
        }
    return RMB_OK;
}

/* A custom head reads the whole sequence: its prefix and own rows, gathered. */
static rmb_status custom_head(const rmb_net *net, const rmb_scratch *s, const rmb_span *sp,
                              const int32_t *ids, float *out, rmb_error *err)
{
    size_t hid = (size_t)net->cfg->hidden, n = sp->plen + sp->len;
    if (!sp->plen)
        return net->desc->head_ops->run(net, s->x + sp->start * hid, ids, n, out, err);
    float *x = malloc(n * hid * sizeof *x);
    if (!x)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    memcpy(x, s->x + sp->prefix * hid, sp->plen * hid * sizeof *x);
    memcpy(x + sp->plen * hid, s->x + sp->start * hid, sp->len * hid * sizeof *x);
    rmb_status st = net->desc->head_ops->run(net, x, ids, n, out, err);
    free(x);
    return st;
}

rmb_status rmb_net_head(const rmb_net *net, rmb_scratch *s, const rmb_pack *pk, size_t span,
                        const int32_t *ids, float *out, rmb_error *err)
{
    const rmb_span *sp = &pk->spans[span];
    if (net->desc->head_ops)
        return custom_head(net, s, sp, ids, out, err);
    size_t hid = (size_t)net->cfg->hidden;
    rmb_net_final_norm(net, s->x + (sp->start + sp->len - 1) * hid, s->tmp);
    for (int i = 0; i < net->n_labels; i++)
        out[i] = net->kern->dot(net->head + (size_t)i * hid, s->tmp, hid);
    return RMB_OK;
}

rmb_status rmb_net_check_ids(const rmb_net *net, const int32_t *ids, size_t n, rmb_error *err)
{
    if (n == 0)
        return rmb_fail(err, RMB_EUSAGE, "an empty sequence has no token to score");
    for (size_t t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= net->cfg->vocab)
            return rmb_fail(err, RMB_EDATA, "token %zu: id %d is outside the vocabulary (%d)", t,
                            (int)ids[t], net->cfg->vocab);
    return RMB_OK;
}
