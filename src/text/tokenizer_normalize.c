/* Normalizers: Unicode forms via utf8proc, and the string edits of Hugging
 * Face's normalizers (Replace, Prepend, Lowercase, Strip, StripAccents). */
#include "text/tokenizer_internal.h"
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static bool unicode_form(const char *s, size_t n, utf8proc_option_t opts, rmb_buf *out)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    if (i == n) { /* ASCII is already in every normal form */
        rmb_buf_append(out, s, n);
        return !out->oom;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                      opts | UTF8PROC_STABLE);
    if (k < 0)
        return false;
    rmb_buf_append(out, (const char *)dst, (size_t)k);
    free(dst);
    return !out->oom;
}

/* Rust's char::to_lowercase: utf8proc's mapping plus the one unconditional
 * multi-character lowercase (U+0130 -> "i" U+0307). */
static void lowercase(const char *s, size_t n, rmb_buf *out)
{
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += utf8_decode(s + i, &cp);
        if (cp == 0x130)
            rmb_buf_append(out, "i\xCC\x87", 3);
        else
            utf8_append(out, utf8proc_tolower(cp));
    }
}

static void strip(const tk_normalizer *nm, const char *s, size_t n, rmb_buf *out)
{
    size_t a = 0, b = n;
    int32_t cp;
    while (nm->left && a < b) {
        size_t k = utf8_decode(s + a, &cp);
        if (!uni_is_whitespace(cp))
            break;
        a += k;
    }
    while (nm->right && b > a) {
        size_t j = b - 1;
        while (j > a && ((unsigned char)s[j] & 0xC0) == 0x80)
            j--;
        utf8_decode(s + j, &cp);
        if (!uni_is_whitespace(cp))
            break;
        b = j;
    }
    rmb_buf_append(out, s + a, b - a);
}

static void strip_accents(const char *s, size_t n, rmb_buf *out)
{
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = utf8_decode(s + i, &cp);
        if (!uni_is_mark(cp))
            rmb_buf_append(out, s + i, k);
        i += k;
    }
}

static bool replace(const tk_normalizer *nm, const char *s, size_t n, rmb_buf *out,
                    tk_scratch *sc)
{
    if (!tk_pattern_segments(&nm->pattern, s, n, sc))
        return false;
    for (size_t i = 0; i < sc->n_segs; i++) {
        const struct tk_seg *g = &sc->segs[i];
        if (g->match)
            rmb_buf_append(out, nm->content, nm->content_len);
        else
            rmb_buf_append(out, s + g->start, g->end - g->start);
    }
    return true;
}

static bool sequence(const tk_normalizer *nm, const char *s, size_t n, rmb_buf *out,
                     tk_scratch *sc)
{
    rmb_buf a = {0}, b = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < nm->n_items; i++) {
        rmb_buf *dst = i + 1 == nm->n_items ? out : (s == a.data ? &b : &a);
        if (dst != out)
            dst->len = 0;
        ok = tk_normalize(&nm->items[i], s, n, dst, sc) && !dst->oom;
        s = dst->data ? dst->data : "";
        n = dst->len;
    }
    if (nm->n_items == 0)
        rmb_buf_append(out, s, n);
    rmb_buf_free(&a);
    rmb_buf_free(&b);
    return ok && !out->oom;
}

bool tk_normalize(const tk_normalizer *nm, const char *s, size_t n, rmb_buf *out,
                  tk_scratch *sc)
{
    switch (nm->type) {
    case NORM_NFC: return unicode_form(s, n, UTF8PROC_COMPOSE, out);
    case NORM_NFD: return unicode_form(s, n, UTF8PROC_DECOMPOSE, out);
    case NORM_NFKC: return unicode_form(s, n, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, out);
    case NORM_NFKD: return unicode_form(s, n, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, out);
    case NORM_LOWERCASE: lowercase(s, n, out); break;
    case NORM_REPLACE:
        if (!replace(nm, s, n, out, sc))
            return false;
        break;
    case NORM_PREPEND:
        if (n)
            rmb_buf_append(out, nm->content, nm->content_len);
        rmb_buf_append(out, s, n);
        break;
    case NORM_STRIP: strip(nm, s, n, out); break;
    case NORM_STRIP_ACCENTS: strip_accents(s, n, out); break;
    case NORM_SEQUENCE: return sequence(nm, s, n, out, sc);
    }
    return !out->oom;
}

void tk_normalizer_free(tk_normalizer *nm)
{
    if (!nm)
        return;
    tk_pattern_free(&nm->pattern);
    free(nm->content);
    for (size_t i = 0; i < nm->n_items; i++)
        tk_normalizer_free(&nm->items[i]);
    free(nm->items);
}
