/* The forward pass on the CPU: embedding, then the decoder layers as the
 * description says. */
#include "model/cpu/forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static rmb_status scratch_reserve(const rmb_cpu *cpu, rmb_scratch **sp, const rmb_pack *pk,
                                  rmb_error *err)
{
    size_t n = pk->rows, longest = 0;
    for (size_t i = 0; i < pk->n_spans; i++)
        if (pk->spans[i].plen + pk->spans[i].len > longest)
            longest = pk->spans[i].plen + pk->spans[i].len;
    const rmb_config *c = cpu->cfg;
    size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    size_t ch = cpu->chunk;
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
        if (cpu->desc->packed_qkv)
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
        s->probs = alloc_floats(attn_slab(c, cap), (size_t)rmb_pool_threads(cpu->pool), &ok);
        s->seq_cap = ok ? cap : 0;
    }
    return ok ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory for a %zu-token sequence", n);
}

/* ---- element-wise building blocks ---- */

static void rmsnorm_rows(float *y, const float *x, const float *w, size_t rows, size_t n,
                         float eps)
{
    for (size_t r = 0; r < rows; r++)
        rmb_rmsnorm(y + r * n, x + r * n, w, n, eps);
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
    const rmb_cpu *cpu;
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
    if (j->cpu->desc->act == RMB_ACT_SILU) {
        j->cpu->kern->silu_mul(gate, up, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = 0.5f * g * (1.0f + tanhf(0.7978845608028654f * (g + 0.044715f * g * g * g))) * up[i];
    }
}

static void gated_act(const rmb_cpu *cpu, float *gate, const float *up, size_t n)
{
    act_job j = {cpu, gate, up, n};
    rmb_pool_run(cpu->pool, (n + ACT_BLOCK - 1) / ACT_BLOCK, act_task, &j);
}

/* ---- attention ---- */

typedef struct attn_job {
    const rmb_cpu *cpu;
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
    const rmb_config *c = e->j->cpu->cfg;
    size_t hd = (size_t)c->head_dim, ldk = e->j->s->ldk, nq = (e->b - e->a) * heads_per_kv(c);
    for (size_t end; c0 < c1; c0 = end) {
        end = run_end(e->sp, c0, c1);
        const float *kt = e->j->s->kt + e->g * hd * ldk + key_row(e->sp, c0);
        e->j->cpu->kern->dots(e->q, nq, kt, ldk, end - c0, hd, e->p + (c0 - e->lo0), e->ldp);
    }
}

/* Row-heads [m0, m0 + nq) accumulate the values of positions [c0, c1). */
static void seg_values(const attn_seg *e, size_t m0, size_t nq, size_t c0, size_t c1)
{
    const rmb_config *c = e->j->cpu->cfg;
    size_t hd = (size_t)c->head_dim;
    for (size_t end; c0 < c1; c0 = end) {
        end = run_end(e->sp, c0, c1);
        const float *v = e->j->s->vh + (e->g * e->j->s->cap + key_row(e->sp, c0)) * hd;
        e->j->cpu->kern->wsum(e->o + m0 * hd, nq, e->p + m0 * e->ldp + (c0 - e->lo0), e->ldp, v,
                              hd, end - c0, hd);
    }
}

/* Softmax over each row-head's own positions, in place. */
static void seg_softmax(const attn_seg *e)
{
    const rmb_cpu *cpu = e->j->cpu;
    size_t per = heads_per_kv(cpu->cfg);
    for (size_t m = 0; m < (e->b - e->a) * per; m++) {
        size_t pos = e->pos0 + m / per, lo = key_lo(e->j->window, pos), n = pos + 1 - lo;
        float *p = e->p + m * e->ldp + (lo - e->lo0);
        float max = scale_scores(cpu->desc, p, n);
        float sum = cpu->kern->exp_sum(p, n, max);
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
    const rmb_config *c = e->j->cpu->cfg;
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
    const rmb_config *c = j->cpu->cfg;
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
static void project(const rmb_cpu *cpu, rmb_scratch *s, const float *x, size_t nt,
                    const rmb_tensor *w, const float *bias, float *y, bool reuse)
{
    size_t k = (size_t)w->shape[1], n = (size_t)w->shape[0];
    enum { EXACT, BF16, INT8 } path = cpu->int8 && w->dtype == RMB_DT_Q8_0 ? INT8
                                      : cpu->bf16 && k % 2 == 0          ? BF16
                                                                         : EXACT;
    reuse = reuse && s->xt_path == (int)path; /* q, k and v may differ in dtype */
    s->xt_path = (int)path;
    if (path == INT8)
        rmb_gemm_q8(cpu->pool, cpu->kern, x, nt, k, w->data, n, y, s->xt, reuse);
    else if (path == BF16)
        rmb_gemm_bf16(cpu->pool, cpu->kern, x, nt, k, w->data, w->dtype, n, y, (uint16_t *)s->xt,
                      reuse);
    else
        rmb_gemm(cpu->pool, cpu->kern, x, nt, k, w->data, w->dtype, n, y, s->xt, reuse);
    add_bias(y, bias, nt, n);
}

/* cos and sin of every row's position (within its own sequence), shared by
 * every layer. */
static void rope_tables(const rmb_cpu *cpu, rmb_scratch *s, const rmb_pack *pk)
{
    size_t half = (size_t)cpu->cfg->head_dim / 2;
    for (size_t r = 0; r < pk->rows; r++)
        for (size_t i = 0; i < half; i++) {
            const rmb_span *sp = &pk->spans[pk->span_of[r]];
            float angle = (float)(sp->plen + r - sp->start) * cpu->desc->inv_freq[i];
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

static void attention_block(const rmb_cpu *cpu, rmb_scratch *s, const rmb_pack *pk, int l,
                            size_t r0, size_t nt)
{
    const rmb_config *c = cpu->cfg;
    const rmb_layer *L = &cpu->layers[l];
    size_t hd = (size_t)c->head_dim, hid = (size_t)c->hidden;
    float eps = (float)c->rms_eps;
    float *x = s->x + r0 * hid, *k = s->k, *v = s->v;
    rmsnorm_rows(s->xn, x, L->attn_norm, nt, hid, eps);
    if (cpu->desc->packed_qkv) {
        project(cpu, s, s->xn, nt, L->wq, L->bq, s->qkv, false);
        unpack_qkv(c, s->qkv, nt, s->q, k, v);
    } else {
        project(cpu, s, s->xn, nt, L->wq, L->bq, s->q, false);
        project(cpu, s, s->xn, nt, L->wk, L->bk, k, true);
        project(cpu, s, s->xn, nt, L->wv, L->bv, v, true);
    }
    if (cpu->desc->qk_norm) {
        rmsnorm_rows(s->q, s->q, L->q_norm, nt * (size_t)c->n_heads, hd, eps);
        rmsnorm_rows(k, k, L->k_norm, nt * (size_t)c->n_kv_heads, hd, eps);
    }
    const float *cos = s->cos + r0 * (hd / 2), *sin = s->sin + r0 * (hd / 2);
    rope(s->q, nt, (size_t)c->n_heads, hd, cos, sin);
    rope(k, nt, (size_t)c->n_kv_heads, hd, cos, sin);
    store_keys_values(c, s, r0, nt);
    attn_job job = {cpu, s, pk, r0, nt, cpu->desc->window[l]};
    size_t rows = attn_block_rows(c);
    rmb_pool_run(cpu->pool, (size_t)c->n_kv_heads * ((nt + rows - 1) / rows), attn_task, &job);
    project(cpu, s, s->att, nt, L->wo, L->bo, s->tmp, false);
    if (L->post_attn_norm)
        rmsnorm_rows(s->tmp, s->tmp, L->post_attn_norm, nt, hid, eps);
    add_rows(x, s->tmp, nt, hid);
}

static void mlp_block(const rmb_cpu *cpu, rmb_scratch *s, int l, size_t r0, size_t nt)
{
    const rmb_config *c = cpu->cfg;
    const rmb_layer *L = &cpu->layers[l];
    size_t hid = (size_t)c->hidden;
    float eps = (float)c->rms_eps;
    float *x = s->x + r0 * hid;
    rmsnorm_rows(s->xn, x, L->mlp_norm, nt, hid, eps);
    project(cpu, s, s->xn, nt, L->wg, L->bg, s->gate, false);
    project(cpu, s, s->xn, nt, L->wu, L->bu, s->up, true);
    gated_act(cpu, s->gate, s->up, nt * (size_t)c->intermediate);
    project(cpu, s, s->gate, nt, L->wd, L->bd, s->tmp, false);
    if (L->post_mlp_norm)
        rmsnorm_rows(s->tmp, s->tmp, L->post_mlp_norm, nt, hid, eps);
    add_rows(x, s->tmp, nt, hid);
}

/* ---- the whole pass ---- */

static void embed(const rmb_cpu *cpu, rmb_scratch *s, const int32_t *ids, size_t n)
{
    size_t hid = (size_t)cpu->cfg->hidden;
    float scale = cpu->desc->embed_scale;
    for (size_t t = 0; t < n; t++) {
        float *row = s->x + t * hid;
        rmb_widen(cpu->embed->data, cpu->embed->dtype, (size_t)ids[t] * hid, hid, row);
        for (size_t i = 0; scale != 0 && i < hid; i++)
            row[i] *= scale;
    }
}

rmb_status rmb_cpu_run(rmb_cpu *cpu, const rmb_pack *pk, rmb_error *err)
{
    const rmb_config *c = cpu->cfg;
    rmb_status st = scratch_reserve(cpu, &cpu->scratch, pk, err);
    if (st != RMB_OK)
        return st;
    rmb_scratch *s = cpu->scratch;
    embed(cpu, s, pk->ids, pk->rows);
    rope_tables(cpu, s, pk);
    for (int l = 0; l < c->n_layers; l++)
        for (size_t r0 = 0; r0 < pk->rows; r0 += cpu->chunk) {
            size_t nt = pk->rows - r0 < cpu->chunk ? pk->rows - r0 : cpu->chunk;
            attention_block(cpu, s, pk, l, r0, nt);
            mlp_block(cpu, s, l, r0, nt);
        }
    return RMB_OK;
}

const float *rmb_cpu_residual(const rmb_cpu *cpu)
{
    return cpu->scratch->x;
}
