/* The BPE model: a word becomes one symbol per character (or per byte with
 * byte fallback), then the pair of lowest merge rank is merged until none is
 * left, as Hugging Face's Word::merge_all does, with a binary heap of
 * candidate merges over a linked list of symbols. */
#include "text/tokenizer_internal.h"
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>

typedef struct sym {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    uint32_t len;       /* 0 once merged into its left neighbour */
} sym;

typedef struct cand {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} cand;

typedef struct word {
    sym *s;
    size_t n, cap;
    cand *h;
    size_t hn, hcap;
} word;

static bool cand_less(const cand *a, const cand *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static bool heap_push(word *w, cand c)
{
    if (!tk_grow(&w->h, &w->hcap, w->hn, sizeof *w->h))
        return false;
    size_t i = w->hn++;
    while (i > 0 && cand_less(&c, &w->h[(i - 1) / 2])) {
        w->h[i] = w->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->h[i] = c;
    return true;
}

static cand heap_pop(word *w)
{
    cand top = w->h[0], last = w->h[--w->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->hn)
            break;
        if (c + 1 < w->hn && cand_less(&w->h[c + 1], &w->h[c]))
            c++;
        if (!cand_less(&w->h[c], &last))
            break;
        w->h[i] = w->h[c];
        i = c;
    }
    if (w->hn)
        w->h[i] = last;
    return top;
}

static bool sym_push(word *w, int32_t id, size_t len)
{
    if (!tk_grow(&w->s, &w->cap, w->n, sizeof *w->s))
        return false;
    int32_t i = (int32_t)w->n++;
    w->s[i] = (sym){id, i - 1, -1, (uint32_t)len};
    if (i > 0)
        w->s[i - 1].next = i;
    return true;
}

/* Pushes the merge of the pair starting at symbol pos, if there is one. */
static bool try_pair(const tk_bpe *bpe, word *w, int32_t pos)
{
    if (pos < 0 || w->s[pos].next < 0)
        return true;
    uint64_t key = (uint64_t)(uint32_t)w->s[pos].id << 32 | (uint32_t)w->s[w->s[pos].next].id, v;
    if (!tk_u64map_get(&bpe->merges, key, &v))
        return true;
    return heap_push(w, (cand){(uint32_t)(v >> 32), (uint32_t)pos, (int32_t)(uint32_t)v});
}

static bool merge_all(const tk_bpe *bpe, word *w)
{
    for (int32_t i = 0; i + 1 < (int32_t)w->n; i++)
        if (!try_pair(bpe, w, i))
            return false;
    while (w->hn) {
        cand top = heap_pop(w);
        sym *a = &w->s[top.pos];
        if (a->len == 0 || a->next < 0)
            continue;
        sym *b = &w->s[a->next];
        uint64_t key = (uint64_t)(uint32_t)a->id << 32 | (uint32_t)b->id, v;
        if (!tk_u64map_get(&bpe->merges, key, &v) || (int32_t)(uint32_t)v != top.new_id)
            continue; /* stale: one side was merged since */
        a->id = top.new_id;
        a->len += b->len;
        b->len = 0;
        a->next = b->next;
        if (b->next >= 0)
            w->s[b->next].prev = (int32_t)top.pos;
        if (!try_pair(bpe, w, a->prev) || !try_pair(bpe, w, (int32_t)top.pos))
            return false;
    }
    return true;
}

/* Looks up one character (with the subword prefix/suffix when set). */
static int32_t char_id(const tk_bpe *bpe, const char *c, size_t k, bool first, bool last,
                       rmb_buf *tmp)
{
    if ((first || !bpe->prefix) && (!last || !bpe->suffix)) {
        if (k <= 3) {
            int32_t cp;
            utf8_decode(c, &cp);
            return bpe->bmp_ids[cp];
        }
        return tk_strmap_get(&bpe->vocab, c, k);
    }
    tmp->len = 0;
    if (!first && bpe->prefix)
        rmb_buf_puts(tmp, bpe->prefix);
    rmb_buf_append(tmp, c, k);
    if (last && bpe->suffix)
        rmb_buf_puts(tmp, bpe->suffix);
    return tmp->oom ? -1 : tk_strmap_get(&bpe->vocab, tmp->data, tmp->len);
}

/* Byte fallback applies when every byte of the character has its <0xXX>. */
static bool bytes_known(const tk_bpe *bpe, const char *c, size_t k)
{
    if (!bpe->byte_fallback || bpe->prefix || bpe->suffix)
        return false;
    for (size_t j = 0; j < k; j++)
        if (bpe->byte_ids[(unsigned char)c[j]] < 0)
            return false;
    return true;
}

/* Hugging Face's merge_word: unknown characters go to byte fallback, else to
 * the unknown token (fused when fuse_unk), else they are dropped. */
static bool initial_symbols(const tk_bpe *bpe, const char *s, size_t n, word *w)
{
    rmb_buf tmp = {0};
    int32_t unk = -1;
    size_t unk_len = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n;) {
        size_t k = utf8_len((unsigned char)s[i]);
        if (k > n - i)
            k = n - i;
        int32_t id = char_id(bpe, s + i, k, i == 0, i + k == n, &tmp);
        if (id >= 0) {
            if (unk >= 0)
                ok = sym_push(w, unk, unk_len);
            unk = -1;
            ok = ok && sym_push(w, id, k);
        } else if (bytes_known(bpe, s + i, k)) {
            for (size_t j = 0; ok && j < k; j++)
                ok = sym_push(w, bpe->byte_ids[(unsigned char)s[i + j]], 1);
        } else if (bpe->unk_id >= 0) {
            if (unk >= 0 && bpe->fuse_unk)
                unk_len += k;
            else {
                if (unk >= 0)
                    ok = sym_push(w, unk, unk_len);
                unk = bpe->unk_id;
                unk_len = k;
            }
        }
        i += k;
    }
    if (ok && unk >= 0)
        ok = sym_push(w, unk, unk_len);
    rmb_buf_free(&tmp);
    return ok;
}

bool tk_bpe_word(const tk_bpe *bpe, const char *s, size_t n, tk_ids *ids)
{
    if (n == 0)
        return true;
    if (bpe->ignore_merges) {
        int32_t id = tk_strmap_get(&bpe->vocab, s, n);
        if (id >= 0)
            return tk_ids_push(ids, id);
    }
    word w = {0};
    bool ok = initial_symbols(bpe, s, n, &w) && merge_all(bpe, &w);
    for (size_t i = 0; ok && i < w.n; i++)
        if (w.s[i].len)
            ok = tk_ids_push(ids, w.s[i].id);
    free(w.s);
    free(w.h);
    return ok;
}

void tk_bpe_free(tk_bpe *bpe)
{
    tk_strmap_free(&bpe->vocab);
    tk_u64map_free(&bpe->merges);
    free(bpe->prefix);
    free(bpe->suffix);
    free(bpe->bmp_ids);
}
