/* The batch planner: groups, shared prefixes, duplicates, packs. */
#include "model/batch.h"

#include "model/cpu/kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fewer shared tokens than this are not worth a prefix span. */
#define MIN_SHARED 16
#define NONE SIZE_MAX

static size_t seq_len(const rmb_seq *s)
{
    return s->n + (s->extra >= 0);
}

static int32_t seq_tok(const rmb_seq *s, size_t i)
{
    return i < s->n ? s->ids[i] : s->extra;
}

static size_t common_prefix(const rmb_seq *a, const rmb_seq *b)
{
    size_t n = rmb_min_size(seq_len(a), seq_len(b)), i = 0;
    while (i < n && seq_tok(a, i) == seq_tok(b, i))
        i++;
    return i;
}

/* One pass being filled: its rows and spans, and which span scores which
 * sequence. */
typedef struct pack {
    int32_t *ids;
    uint32_t *span_of;
    rmb_span *spans;
    size_t *seq_of; /* per span: the sequence it scores, or NONE for a prefix */
    size_t rows, n_spans, cap_rows, cap_spans;
} pack;

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = need > 2 * *cap ? need : 2 * *cap;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* Appends rows [from, seq_len) of s as a span after plen positions at
 * prefix rows; scored is the sequence index or NONE. */
static bool add_span(pack *pk, const rmb_seq *s, size_t from, size_t prefix, size_t scored)
{
    size_t len = seq_len(s) - from, cap_rows = pk->cap_rows, cap_spans = pk->cap_spans;
    if (!grow((void **)&pk->ids, &cap_rows, pk->rows + len, sizeof *pk->ids) ||
        !grow((void **)&pk->span_of, &pk->cap_rows, pk->rows + len, sizeof *pk->span_of) ||
        !grow((void **)&pk->spans, &cap_spans, pk->n_spans + 1, sizeof *pk->spans) ||
        !grow((void **)&pk->seq_of, &pk->cap_spans, pk->n_spans + 1, sizeof *pk->seq_of))
        return false;
    for (size_t i = 0; i < len; i++) {
        pk->ids[pk->rows + i] = seq_tok(s, from + i);
        pk->span_of[pk->rows + i] = (uint32_t)pk->n_spans;
    }
    pk->spans[pk->n_spans] = (rmb_span){prefix, from, pk->rows, len};
    pk->seq_of[pk->n_spans++] = scored;
    pk->rows += len;
    return true;
}

typedef struct planner {
    const rmb_engine *eng;
    const rmb_seq *seq;
    size_t budget, n_out;
    float *scores;
    rmb_error *item_err;
    rmb_batch_stats stats;
    pack pk;
} planner;

/* ---- through the backend ---- */

/* The pack row of position pos of span sp's sequence. */
static size_t pack_row(const rmb_span *sp, size_t pos)
{
    return pos < sp->plen ? sp->prefix + pos : sp->start + (pos - sp->plen);
}

/* The head's rows of every scored span of the run pack, fetched from the
 * backend in one call, then each span's head on them; a span whose head
 * refuses its sequence fails alone (item_err). */
static rmb_status read_heads(planner *p, const rmb_pack *run, rmb_error *err)
{
    const rmb_net *net = p->eng->net;
    const rmb_head_ops *head = rmb_net_head_ops(net);
    size_t hid = (size_t)net->cfg->hidden, n_rows = 0;
    size_t *rows = malloc(run->n_spans * RMB_HEAD_MAX_ROWS * sizeof *rows);
    size_t *first = malloc((run->n_spans + 1) * sizeof *first); /* each span's rows */
    float *hidden = NULL;
    rmb_status st = rows && first ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; st == RMB_OK && i < run->n_spans; i++) {
        const rmb_span *sp = &run->spans[i];
        size_t s = p->pk.seq_of[i], pos[RMB_HEAD_MAX_ROWS], k = 0;
        first[i] = n_rows;
        if (s == NONE ||
            head->rows(net, p->seq[s].ids, sp->plen + sp->len, pos, &k, &p->item_err[s]) != RMB_OK)
            continue;
        for (size_t j = 0; j < k; j++)
            rows[n_rows++] = pack_row(sp, pos[j]);
    }
    first[run->n_spans] = n_rows;
    if (st == RMB_OK && !(hidden = malloc((n_rows ? n_rows : 1) * hid * sizeof *hidden)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = p->eng->backend->ops->hidden(p->eng->backend, rows, n_rows, hidden, err);
    for (size_t i = 0; st == RMB_OK && i < run->n_spans; i++) {
        size_t s = p->pk.seq_of[i];
        if (first[i + 1] > first[i])
            head->run(net, p->eng->host, hidden + first[i] * hid, p->scores + s * p->n_out,
                      &p->item_err[s]);
    }
    free(rows), free(first), free(hidden);
    return st;
}

/* Runs the pack and reads every scored span's head. */
static rmb_status flush(planner *p, rmb_error *err)
{
    pack *pk = &p->pk;
    if (!pk->rows)
        return RMB_OK;
    rmb_pack run = {pk->ids, pk->rows, pk->spans, pk->n_spans, pk->span_of};
    rmb_backend *be = p->eng->backend;
    rmb_status st = be->ops->run(be, &run, err);
    if (st == RMB_OK)
        st = read_heads(p, &run, err);
    p->stats.rows += pk->rows;
    p->stats.passes++;
    pk->rows = pk->n_spans = 0;
    return st;
}

/* Members m[0..k) (not duplicates) over a prefix of plen positions: the
 * prefix span (when plen > 0), then each member's rest. */
static rmb_status add_group(planner *p, const size_t *m, size_t k, size_t plen, rmb_error *err)
{
    size_t rows = plen;
    for (size_t i = 0; i < k; i++)
        rows += seq_len(&p->seq[m[i]]) - plen;
    if (p->pk.rows && p->pk.rows + rows > p->budget) {
        rmb_status st = flush(p, err);
        if (st != RMB_OK)
            return st;
    }
    size_t prefix = p->pk.rows;
    rmb_seq head = {p->seq[m[0]].ids, plen, -1};
    bool ok = !plen || add_span(&p->pk, &head, 0, 0, NONE);
    for (size_t i = 0; ok && i < k; i++)
        ok = add_span(&p->pk, &p->seq[m[i]], plen, prefix, m[i]);
    return ok ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
}

/* A group's distinct members, split into parts that each fit the budget
 * with their own copy of the prefix. */
static rmb_status add_members(planner *p, const size_t *m, size_t k, size_t plen, rmb_error *err)
{
    size_t i = 0;
    while (i < k) {
        size_t j = i + 1, rows = plen + seq_len(&p->seq[m[i]]) - plen;
        while (j < k && rows + seq_len(&p->seq[m[j]]) - plen <= p->budget)
            rows += seq_len(&p->seq[m[j++]]) - plen;
        rmb_status st = add_group(p, m + i, j - i, j - i > 1 ? plen : 0, err);
        if (st != RMB_OK)
            return st;
        i = j;
    }
    return RMB_OK;
}

/* The valid sequences v[0..nv) in order: runs of neighbours that share at
 * least MIN_SHARED leading ids (and at least half of what the run shares so
 * far) form a group; within a group, a sequence identical to an earlier
 * member is scored once (dup[] names the original). */
static rmb_status plan(planner *p, const size_t *v, size_t nv, size_t *dup, size_t *distinct,
                       rmb_error *err)
{
    for (size_t i = 0; i < nv;) {
        const rmb_seq *first = &p->seq[v[i]];
        size_t shared = seq_len(first), j = i + 1;
        for (; j < nv; j++) {
            size_t c = rmb_min_size(shared, common_prefix(first, &p->seq[v[j]]));
            if (c < MIN_SHARED || (j > i + 1 && 2 * c < shared))
                break;
            shared = c;
        }
        size_t k = 0;
        for (size_t a = i; a < j; a++) {
            const rmb_seq *s = &p->seq[v[a]];
            for (size_t b = 0; b < k && dup[v[a]] == NONE; b++)
                if (seq_len(&p->seq[distinct[b]]) == seq_len(s) &&
                    common_prefix(&p->seq[distinct[b]], s) == seq_len(s))
                    dup[v[a]] = distinct[b];
            if (dup[v[a]] == NONE) {
                distinct[k++] = v[a];
                shared = rmb_min_size(shared, seq_len(s) - 1); /* every member keeps a row */
            }
        }
        rmb_status st = add_members(p, distinct, k, k > 1 && shared >= MIN_SHARED ? shared : 0, err);
        if (st != RMB_OK)
            return st;
        i = j;
    }
    return flush(p, err);
}

rmb_status rmb_batch_score(const rmb_engine *eng, const rmb_seq *seq, size_t count,
                           size_t budget, float *scores, rmb_error *item_err,
                           rmb_batch_stats *stats, rmb_error *err)
{
    const rmb_net *net = eng->net;
    planner p = {eng, seq, budget, (size_t)net->n_labels, scores, item_err, {0, 0, 0}, {0}};
    size_t *v = malloc((3 * count + 1) * sizeof *v), nv = 0;
    if (!v)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    size_t *dup = v + count, *distinct = dup + count;
    for (size_t i = 0; i < count; i++) {
        dup[i] = NONE;
        item_err[i].status = RMB_OK;
        if (rmb_net_check_ids(net, seq[i].ids, seq[i].n, &item_err[i]) == RMB_OK) {
            v[nv++] = i;
            p.stats.tokens += seq_len(&seq[i]);
        }
    }
    rmb_status st = plan(&p, v, nv, dup, distinct, err);
    for (size_t i = 0; st == RMB_OK && i < count; i++)
        if (dup[i] != NONE) {
            memcpy(scores + i * p.n_out, scores + dup[i] * p.n_out, p.n_out * sizeof *scores);
            item_err[i] = item_err[dup[i]];
        }
    if (stats)
        *stats = p.stats;
    free(v);
    free(p.pk.ids), free(p.pk.span_of), free(p.pk.spans), free(p.pk.seq_of);
    return st;
}
