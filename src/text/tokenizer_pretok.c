/* Pattern matching as Hugging Face's find_matches does it, the split
 * behaviours, and the pre-tokenizers built on them. */
#include "text/tokenizer_internal.h"
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>

/* The next match at or after from: 1 (and *ms, *me), 0 for none, -1 when
 * the regex engine fails. */
static int pattern_find(const tk_pattern *pat, const char *s, size_t n, size_t from,
                        size_t *ms, size_t *me, tk_scratch *sc)
{
    if (pat->re) {
        const UChar *u = (const UChar *)s;
        int r = onig_search(pat->re, u, u + n, u + from, u + n, sc->region, ONIG_OPTION_NONE);
        if (r == ONIG_MISMATCH)
            return 0;
        if (r < 0)
            return -1;
        *ms = (size_t)sc->region->beg[0];
        *me = (size_t)sc->region->end[0];
        return 1;
    }
    if (pat->pred) {
        for (size_t i = from; i < n;) {
            int32_t cp;
            size_t k = utf8_decode(s + i, &cp);
            if (pat->pred(cp, pat->arg)) {
                *ms = i;
                *me = i + k;
                return 1;
            }
            i += k;
        }
        return 0;
    }
    const char *hit = pat->len ? memmem(s + from, n - from, pat->str, pat->len) : s + from;
    if (!hit)
        return 0;
    *ms = (size_t)(hit - s);
    *me = *ms + pat->len;
    return 1;
}

static bool push_seg(tk_scratch *sc, size_t start, size_t end, bool match)
{
    if (!tk_grow(&sc->segs, &sc->cap_segs, sc->n_segs, sizeof *sc->segs))
        return false;
    sc->segs[sc->n_segs++] = (struct tk_seg){start, end, match};
    return true;
}

bool tk_pattern_segments(const tk_pattern *pat, const char *s, size_t n, tk_scratch *sc)
{
    sc->n_segs = 0;
    if (n == 0)
        return push_seg(sc, 0, 0, false);
    /* The onig crate's find_iter: an empty match right where the previous
     * match ended is skipped by stepping one character. */
    size_t prev = 0, last_end = 0, ms, me;
    bool have_last = false;
    while (last_end <= n) {
        int r = pattern_find(pat, s, n, last_end, &ms, &me, sc);
        if (r < 0)
            return false;
        if (r == 0)
            break;
        if (ms == me && have_last && me == prev) {
            last_end += last_end < n ? utf8_len((unsigned char)s[last_end]) : 1;
            continue;
        }
        last_end = me;
        have_last = true;
        if (prev != ms && !push_seg(sc, prev, ms, false))
            return false;
        if (!push_seg(sc, ms, me, true))
            return false;
        prev = me;
    }
    return prev == n || push_seg(sc, prev, n, false);
}

/* Rewrites scratch->segs into the pieces a behaviour keeps
 * (SplitDelimiterBehavior in Hugging Face's NormalizedString::split). */
static void apply_behavior(tk_scratch *sc, tk_behavior behavior, bool invert)
{
    struct tk_seg *v = sc->segs;
    size_t n = sc->n_segs, k = 0;
    bool prev = false;
    if (invert)
        for (size_t i = 0; i < n; i++)
            v[i].match = !v[i].match;
    switch (behavior) {
    case SPLIT_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!v[i].match)
                v[k++] = v[i];
        break;
    case SPLIT_ISOLATED:
        k = n;
        break;
    case SPLIT_MERGED_PREV:
        for (size_t i = 0; i < n; i++) {
            bool m = v[i].match;
            if (m && !prev && k > 0)
                v[k - 1].end = v[i].end;
            else
                v[k++] = v[i];
            prev = m;
        }
        break;
    case SPLIT_MERGED_NEXT:
        k = n;
        for (size_t i = n; i-- > 0;) {
            bool m = v[i].match;
            if (m && !prev && k < n)
                v[k].start = v[i].start;
            else
                v[--k] = v[i];
            prev = m;
        }
        memmove(v, v + k, (n - k) * sizeof *v);
        k = n - k;
        break;
    case SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            bool m = v[i].match;
            if (k > 0 && m == prev)
                v[k - 1].end = v[i].end;
            else
                v[k++] = v[i];
            prev = m;
        }
        break;
    }
    sc->n_segs = k;
}

/* Splits s[0..n) (a piece, first if it starts the original text) and
 * appends the kept parts to out, each mapped through byte_level if set. */
static bool split_into(const tk_pattern *pat, tk_behavior behavior, bool invert, const char *s,
                       size_t n, bool first, bool byte_level, tk_pieces *out, tk_scratch *sc)
{
    if (!tk_pattern_segments(pat, s, n, sc))
        return false;
    apply_behavior(sc, behavior, invert);
    for (size_t i = 0; i < sc->n_segs; i++) {
        const struct tk_seg *g = &sc->segs[i];
        bool f = first && g->start == 0;
        if (!byte_level) {
            tk_pieces_add(out, s + g->start, g->end - g->start, -1, f);
            continue;
        }
        rmb_buf *b = &sc->tmp[1];
        b->len = 0;
        for (size_t j = g->start; j < g->end; j++) {
            const char *c = uni_byte_char((unsigned char)s[j]);
            rmb_buf_append(b, c, c[1] ? 2 : 1);
        }
        if (b->oom)
            return false;
        tk_pieces_add(out, b->data, b->len, -1, f);
    }
    return !out->text.oom;
}

/* ByteLevel: an optional leading space, GPT-2's regex split, then every
 * byte mapped to its printable stand-in. */
static bool byte_level(const tk_pretok *pt, const char *s, size_t n, bool first, tk_pieces *out,
                       tk_scratch *sc)
{
    if (pt->add_prefix_space && s[0] != ' ') {
        rmb_buf *b = &sc->tmp[0];
        b->len = 0;
        rmb_buf_append(b, " ", 1);
        rmb_buf_append(b, s, n);
        if (b->oom)
            return false;
        s = b->data;
        n = b->len;
    }
    if (!pt->use_regex) {
        rmb_buf *b = &sc->tmp[1];
        b->len = 0;
        for (size_t j = 0; j < n; j++) {
            const char *c = uni_byte_char((unsigned char)s[j]);
            rmb_buf_append(b, c, c[1] ? 2 : 1);
        }
        if (b->oom)
            return false;
        tk_pieces_add(out, b->data, b->len, -1, first);
        return !out->text.oom;
    }
    return split_into(&pt->pattern, SPLIT_ISOLATED, false, s, n, first, true, out, sc);
}

static bool is_char(int32_t cp, int32_t arg)
{
    return cp == arg;
}

/* Metaspace: spaces become the replacement character, which is prepended
 * per the scheme, and the piece is split before each replacement. */
static bool metaspace(const tk_pretok *pt, const char *s, size_t n, bool first, tk_pieces *out,
                      tk_scratch *sc)
{
    char rep[8];
    rmb_buf enc = {0};
    utf8_append(&enc, pt->ch);
    if (enc.oom || enc.len > 4) {
        rmb_buf_free(&enc);
        return false;
    }
    size_t rep_len = enc.len;
    memcpy(rep, enc.data, rep_len);
    rmb_buf_free(&enc);
    rmb_buf *r = &sc->tmp[1], *b = &sc->tmp[0];
    r->len = b->len = 0;
    for (size_t i = 0; i < n; i++)
        rmb_buf_append(r, s[i] == ' ' ? rep : s + i, s[i] == ' ' ? rep_len : 1);
    if (r->oom)
        return false;
    bool starts = r->len >= rep_len && memcmp(r->data, rep, rep_len) == 0;
    if (!starts && (pt->prepend == PREPEND_ALWAYS || (pt->prepend == PREPEND_FIRST && first)))
        rmb_buf_append(b, rep, rep_len);
    rmb_buf_append(b, r->data, r->len);
    if (b->oom)
        return false;
    if (!pt->split) {
        tk_pieces_add(out, b->data, b->len, -1, first);
        return !out->text.oom;
    }
    tk_pattern pat = {.pred = is_char, .arg = pt->ch};
    return split_into(&pat, SPLIT_MERGED_NEXT, false, b->data, b->len, first, false, out, sc);
}

static bool pretok_piece(const tk_pretok *pt, const char *s, size_t n, bool first,
                         tk_pieces *out, tk_scratch *sc)
{
    switch (pt->type) {
    case PRE_SPLIT:
        return split_into(&pt->pattern, pt->behavior, pt->invert, s, n, first, false, out, sc);
    case PRE_BYTELEVEL:
        return byte_level(pt, s, n, first, out, sc);
    case PRE_METASPACE:
        return metaspace(pt, s, n, first, out, sc);
    case PRE_SEQUENCE:
        break;
    }
    return false;
}

bool tk_pretokenize(const tk_pretok *pt, const tk_pieces *in, tk_pieces *out, tk_scratch *sc)
{
    if (pt->type == PRE_SEQUENCE) {
        tk_pieces a = {0}, b = {0};
        const tk_pieces *cur = in;
        bool ok = true;
        for (size_t i = 0; ok && i < pt->n_items; i++) {
            tk_pieces *dst = i + 1 == pt->n_items ? out : (cur == &a ? &b : &a);
            tk_pieces_clear(dst);
            ok = tk_pretokenize(&pt->items[i], cur, dst, sc);
            cur = dst;
        }
        if (ok && pt->n_items == 0)
            for (size_t i = 0; i < in->n; i++)
                tk_pieces_add(out, in->text.data + in->p[i].off, in->p[i].len, in->p[i].id,
                              in->p[i].first);
        tk_pieces_free(&a);
        tk_pieces_free(&b);
        return ok && !out->text.oom;
    }
    for (size_t i = 0; i < in->n; i++) {
        const tk_piece *p = &in->p[i];
        if (p->id >= 0)
            tk_pieces_add(out, NULL, 0, p->id, p->first);
        else if (!pretok_piece(pt, in->text.data + p->off, p->len, p->first, out, sc))
            return false;
    }
    return !out->text.oom;
}

void tk_pattern_free(tk_pattern *pat)
{
    if (pat->re)
        onig_free(pat->re);
    free(pat->str);
    memset(pat, 0, sizeof *pat);
}

void tk_pretok_free(tk_pretok *pt)
{
    if (!pt)
        return;
    tk_pattern_free(&pt->pattern);
    for (size_t i = 0; i < pt->n_items; i++)
        tk_pretok_free(&pt->items[i]);
    free(pt->items);
}
