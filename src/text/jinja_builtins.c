/* Jinja builtins: the global functions, filters, tests and the methods of
 * str, dict and list that chat templates call, each with the Python
 * semantics jinja2 gives it (str.strip(chars), str.split(), the sandbox's
 * refusal to mutate lists and dicts...). */
#include "text/jinja.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#define MAX_RANGE 100000 /* the sandbox's limit on range() */

/* ---- arguments ---- */

/* Argument i, by position or by keyword name; def when absent. */
static jv arg(const jargs *a, size_t i, const char *name, jv def)
{
    if (i < a->n_pos)
        return a->pos[i];
    for (size_t k = 0; name && k < a->n_kw; k++)
        if (!strcmp(a->kw_names[k], name))
            return a->kw[k];
    return def;
}

static rmb_status want_str(jctx *c, jv v, const char *what, const jstr **out)
{
    if (v.kind != JV_STR)
        return jfail(c, "%s must be a string, not %s", what, jv_type(v));
    *out = v.u.s;
    return RMB_OK;
}

static rmb_status want_int(jctx *c, jv v, const char *what, int64_t *out)
{
    if (v.kind == JV_INT)
        *out = v.u.i;
    else if (v.kind == JV_BOOL)
        *out = v.u.b;
    else
        return jfail(c, "%s must be an integer, not %s", what, jv_type(v));
    return RMB_OK;
}

static rmb_status buf_value(jctx *c, rmb_buf *b, jv *out)
{
    rmb_status st = b->oom ? jfail(c, "out of memory") : jv_str(c, b->data ? b->data : "", b->len, out);
    rmb_buf_free(b);
    return st;
}

/* ---- globals ---- */

static rmb_status g_range(jctx *c, const jargs *a, jv *out)
{
    int64_t start = 0, stop = 0, stepv = 1;
    if (a->n_pos == 0 || a->n_pos > 3)
        return jfail(c, "range expected 1 to 3 arguments, got %zu", a->n_pos);
    if (a->n_pos == 1) {
        if (want_int(c, a->pos[0], "range()", &stop))
            return c->err->status;
    } else if (want_int(c, a->pos[0], "range()", &start) || want_int(c, a->pos[1], "range()", &stop)
               || (a->n_pos == 3 && want_int(c, a->pos[2], "range()", &stepv))) {
        return c->err->status;
    }
    if (stepv == 0)
        return jfail(c, "range() arg 3 must not be zero");
    size_t n = 0;
    for (int64_t i = start; stepv > 0 ? i < stop : i > stop; i += stepv)
        if (++n > MAX_RANGE)
            return jfail(c, "range too big: the sandbox allows at most %d items", MAX_RANGE);
    if (jv_list(c, n, out))
        return c->err->status;
    for (size_t k = 0; k < n; k++)
        out->u.l->v[k] = jv_int(start + (int64_t)k * stepv);
    return RMB_OK;
}

/* namespace(...) and dict(...): a dict from an optional dict plus keywords. */
static rmb_status g_mapping(jctx *c, const jargs *a, jv_kind kind, jv *out)
{
    if (a->n_pos > 1 || (a->n_pos == 1 && a->pos[0].kind != JV_DICT))
        return jfail(c, "%s() takes an optional dict and keyword arguments",
                      kind == JV_NS ? "namespace" : "dict");
    if (jv_dict(c, out))
        return c->err->status;
    out->kind = kind;
    if (a->n_pos)
        for (size_t i = 0; i < a->pos[0].u.d->n; i++)
            if (jdict_set(c, out->u.d, a->pos[0].u.d->k[i], a->pos[0].u.d->v[i]))
                return c->err->status;
    for (size_t k = 0; k < a->n_kw; k++) {
        jv key;
        if (jv_str(c, a->kw_names[k], strlen(a->kw_names[k]), &key)
            || jdict_set(c, out->u.d, key, a->kw[k]))
            return c->err->status;
    }
    return RMB_OK;
}

static rmb_status g_strftime_now(jctx *c, const jargs *a, jv *out)
{
    const jstr *fmt = NULL;
    if (want_str(c, arg(a, 0, "format", jv_undef("format")), "strftime_now's format", &fmt))
        return c->err->status;
    time_t now = time(NULL);
    struct tm tm;
    char text[512];
    localtime_r(&now, &tm);
    size_t n = fmt->len ? strftime(text, sizeof text, fmt->s, &tm) : 0;
    return jv_str(c, text, n, out);
}

int jbuiltin_global(const char *name)
{
    static const char *const names[JF_COUNT] = {"range", "namespace", "dict", "raise_exception",
                                                "strftime_now"};
    for (int k = 0; k < JF_COUNT; k++)
        if (!strcmp(name, names[k]))
            return k;
    return -1;
}

rmb_status jbuiltin_call(jctx *c, int func, const jargs *a, jv *out)
{
    jv msg;
    switch (func) {
    case JF_RANGE: return g_range(c, a, out);
    case JF_NAMESPACE: return g_mapping(c, a, JV_NS, out);
    case JF_DICT: return g_mapping(c, a, JV_DICT, out);
    case JF_RAISE_EXCEPTION:
        if (jv_to_str(c, arg(a, 0, "message", jv_undef(NULL)), &msg))
            return c->err->status;
        return jfail(c, "the template raised an exception: %s", msg.u.s->s);
    default: return g_strftime_now(c, a, out);
    }
}

/* ---- strings ---- */

/* Whether the code point at s is in the UTF-8 set chars (NULL: whitespace). */
static bool in_set(const char *s, size_t len, const jstr *chars, size_t *n)
{
    if (!chars)
        return utf8_isspace(s, len, n);
    *n = utf8_offset(s, len, 1);
    for (size_t i = 0; i < chars->len;) {
        size_t k = utf8_offset(chars->s + i, chars->len - i, 1);
        if (k == *n && !memcmp(chars->s + i, s, k))
            return true;
        i += k;
    }
    return false;
}

/* str.strip/lstrip/rstrip: which 1 = left, 2 = right, 3 = both. */
static rmb_status str_strip(jctx *c, jv v, jv chars_v, int which, jv *out)
{
    const jstr *s = v.u.s, *chars = NULL;
    if (chars_v.kind != JV_NONE && chars_v.kind != JV_UNDEF
        && want_str(c, chars_v, "strip's chars", &chars))
        return c->err->status;
    size_t a = 0, b = s->len, n;
    while ((which & 1) && a < b && in_set(s->s + a, b - a, chars, &n))
        a += n;
    while ((which & 2) && b > a) {
        size_t start = b - 1;
        while (start > a && ((unsigned char)s->s[start] & 0xC0) == 0x80)
            start--;
        if (!in_set(s->s + start, b - start, chars, &n))
            break;
        b = start;
    }
    return jv_str(c, s->s + a, b - a, out);
}

typedef utf8proc_int32_t (*case_fn)(utf8proc_int32_t);

/* Maps each code point; first (if not NULL) applies to the first one. */
static rmb_status map_case(jctx *c, const jstr *s, case_fn first, case_fn rest, jv *out)
{
    rmb_buf b = {0};
    for (size_t i = 0; i < s->len;) {
        size_t k;
        int32_t cp = utf8_next(s->s + i, s->len - i, &k);
        utf8proc_uint8_t enc[4];
        cp = (i == 0 && first ? first : rest)(cp);
        rmb_buf_append(&b, (const char *)enc, (size_t)utf8proc_encode_char(cp, enc));
        i += k;
    }
    return buf_value(c, &b, out);
}

static bool is_cased(utf8proc_int32_t cp)
{
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

/* Title case: starts of words upper, the rest lower.  Python's str.title
 * starts a word after any uncased character; jinja's title filter only
 * after whitespace, '-', '(', '{', '[' and '<'. */
static rmb_status title_case(jctx *c, const jstr *s, bool jinja_filter, jv *out)
{
    rmb_buf b = {0};
    bool prev_cased = false;
    for (size_t i = 0; i < s->len;) {
        size_t k;
        int32_t cp = utf8_next(s->s + i, s->len - i, &k);
        size_t n;
        bool boundary = jinja_filter ? utf8_isspace(s->s + i, s->len - i, &n) || cp == '-'
                                           || cp == '(' || cp == '{' || cp == '[' || cp == '<'
                                     : !is_cased(cp);
        utf8proc_int32_t mapped = prev_cased ? utf8proc_tolower(cp) : utf8proc_totitle(cp);
        prev_cased = !boundary;
        utf8proc_uint8_t enc[4];
        rmb_buf_append(&b, (const char *)enc, (size_t)utf8proc_encode_char(mapped, enc));
        i += k;
    }
    return buf_value(c, &b, out);
}

/* Splits s on sep (NULL: runs of whitespace, ends trimmed) at most max
 * times (<0: no limit). */
static rmb_status str_split(jctx *c, const jstr *s, const jstr *sep, int64_t max, jv *out)
{
    if (sep && sep->len == 0)
        return jfail(c, "split: empty separator");
    jv parts[64];
    size_t np = 0;
    jv acc;
    if (jv_list(c, 0, &acc))
        return c->err->status;
    size_t i = 0, n;
    if (!sep)
        i = utf8_space_prefix(s->s, s->len);
    for (;;) {
        size_t end;
        if (sep) {
            const char *hit = max != 0 ? memmem(s->s + i, s->len - i, sep->s, sep->len) : NULL;
            end = hit ? (size_t)(hit - s->s) : s->len;
        } else {
            if (i >= s->len)
                break;
            end = i;
            while (max != 0 && end < s->len && !utf8_isspace(s->s + end, s->len - end, &n))
                end += utf8_offset(s->s + end, s->len - end, 1);
            if (max == 0)
                end = s->len - utf8_space_suffix(s->s + i, s->len - i);
        }
        if (np == 64) { /* flush the batch into the growing list */
            jv grown;
            if (jv_list(c, acc.u.l->n + np, &grown))
                return c->err->status;
            if (acc.u.l->n)
                memcpy(grown.u.l->v, acc.u.l->v, acc.u.l->n * sizeof(jv));
            memcpy(grown.u.l->v + acc.u.l->n, parts, np * sizeof(jv));
            acc = grown, np = 0;
        }
        if (jv_str(c, s->s + i, end - i, &parts[np++]))
            return c->err->status;
        if (max > 0)
            max--;
        if (sep) {
            if (end == s->len)
                break;
            i = end + sep->len;
        } else {
            i = end + utf8_space_prefix(s->s + end, s->len - end);
        }
    }
    if (jv_list(c, acc.u.l->n + np, out))
        return c->err->status;
    if (acc.u.l->n)
        memcpy(out->u.l->v, acc.u.l->v, acc.u.l->n * sizeof(jv));
    if (np)
        memcpy(out->u.l->v + acc.u.l->n, parts, np * sizeof(jv));
    return RMB_OK;
}

static rmb_status str_replace(jctx *c, const jstr *s, jv old_v, jv new_v, jv count_v, jv *out)
{
    const jstr *old = NULL, *new = NULL;
    int64_t count = -1;
    if (want_str(c, old_v, "replace's old", &old) || want_str(c, new_v, "replace's new", &new)
        || (count_v.kind != JV_NONE && count_v.kind != JV_UNDEF
            && want_int(c, count_v, "replace's count", &count)))
        return c->err->status;
    rmb_buf b = {0};
    size_t i = 0;
    if (old->len == 0) { /* Python inserts new between all characters */
        size_t nchars = utf8_count(s->s, s->len);
        for (size_t k = 0; k <= nchars; k++) {
            if (count < 0 || (int64_t)k < count)
                rmb_buf_append(&b, new->s, new->len);
            if (k < nchars) {
                size_t step = utf8_offset(s->s + i, s->len - i, 1);
                rmb_buf_append(&b, s->s + i, step);
                i += step;
            }
        }
        return buf_value(c, &b, out);
    }
    while (count != 0) {
        const char *hit = memmem(s->s + i, s->len - i, old->s, old->len);
        if (!hit)
            break;
        rmb_buf_append(&b, s->s + i, (size_t)(hit - s->s) - i);
        rmb_buf_append(&b, new->s, new->len);
        i = (size_t)(hit - s->s) + old->len;
        if (count > 0)
            count--;
    }
    rmb_buf_append(&b, s->s + i, s->len - i);
    return buf_value(c, &b, out);
}

/* startswith/endswith with a string or a tuple of strings. */
static rmb_status str_affix(jctx *c, const jstr *s, jv affix, bool at_end, jv *out)
{
    const jv *cands = &affix;
    size_t n = 1;
    if (affix.kind == JV_LIST && affix.u.l->is_tuple)
        cands = affix.u.l->v, n = affix.u.l->n;
    bool r = false;
    for (size_t k = 0; k < n; k++) {
        const jstr *a = NULL;
        if (want_str(c, cands[k], at_end ? "endswith's argument" : "startswith's argument", &a))
            return c->err->status;
        if (a->len <= s->len && !memcmp(at_end ? s->s + s->len - a->len : s->s, a->s, a->len))
            r = true;
    }
    *out = jv_bool(r);
    return RMB_OK;
}

/* str.isdigit() and friends over every code point (False when empty). */
static bool str_class(const jstr *s, const char *name)
{
    bool r = s->len > 0, any_cased = false;
    for (size_t i = 0; i < s->len;) {
        size_t k;
        int32_t cp = utf8_next(s->s + i, s->len - i, &k);
        utf8proc_category_t cat = utf8proc_category(cp);
        bool letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        bool digit = cat == UTF8PROC_CATEGORY_ND;
        size_t n;
        if (!strcmp(name, "isdigit") || !strcmp(name, "isdecimal") || !strcmp(name, "isnumeric"))
            r = r && digit;
        else if (!strcmp(name, "isalpha"))
            r = r && letter;
        else if (!strcmp(name, "isalnum"))
            r = r && (letter || digit);
        else if (!strcmp(name, "isspace"))
            r = r && utf8_isspace(s->s + i, s->len - i, &n);
        else if (!strcmp(name, "isupper"))
            r = r && cat != UTF8PROC_CATEGORY_LL, any_cased |= is_cased(cp);
        else
            r = r && cat != UTF8PROC_CATEGORY_LU && cat != UTF8PROC_CATEGORY_LT,
            any_cased |= is_cased(cp);
        i += k;
    }
    if (!strcmp(name, "isupper") || !strcmp(name, "islower"))
        r = r && any_cased;
    return r;
}

static rmb_status join_values(jctx *c, const jv *items, size_t n, const jstr *sep, jv *out)
{
    rmb_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i && sep)
            rmb_buf_append(&b, sep->s, sep->len);
        if (jv_print(c, &b, items[i], false)) {
            rmb_buf_free(&b);
            return c->err->status;
        }
    }
    return buf_value(c, &b, out);
}

/* str.format with {} / {0} / {name} fields and no format specs. */
static rmb_status str_format(jctx *c, const jstr *s, const jargs *a, jv *out)
{
    rmb_buf b = {0};
    size_t auto_index = 0;
    for (size_t i = 0; i < s->len; i++) {
        char ch = s->s[i];
        if ((ch == '{' || ch == '}') && i + 1 < s->len && s->s[i + 1] == ch) {
            rmb_buf_append(&b, &ch, 1);
            i++;
            continue;
        }
        if (ch != '{') {
            rmb_buf_append(&b, &ch, 1);
            continue;
        }
        const char *close = memchr(s->s + i, '}', s->len - i);
        if (!close) {
            rmb_buf_free(&b);
            return jfail(c, "format: single '{' encountered in format string");
        }
        size_t flen = (size_t)(close - s->s) - i - 1;
        char field[64];
        if (flen >= sizeof field || memchr(s->s + i + 1, ':', flen) || memchr(s->s + i + 1, '!', flen)) {
            rmb_buf_free(&b);
            return jfail(c, "format: only plain {} fields are supported");
        }
        memcpy(field, s->s + i + 1, flen);
        field[flen] = 0;
        jv v = jv_undef(NULL);
        if (flen == 0 || (field[0] >= '0' && field[0] <= '9')) {
            size_t idx = flen ? (size_t)atoi(field) : auto_index++;
            v = arg(a, idx, NULL, jv_undef(NULL));
            if (idx >= a->n_pos) {
                rmb_buf_free(&b);
                return jfail(c, "format: replacement index %zu out of range", idx);
            }
        } else {
            v = arg(a, SIZE_MAX, field, jv_undef(NULL));
            if (v.kind == JV_UNDEF) {
                rmb_buf_free(&b);
                return jfail(c, "format: no argument named '%s'", field);
            }
        }
        if (jv_print(c, &b, v, false)) {
            rmb_buf_free(&b);
            return c->err->status;
        }
        i = (size_t)(close - s->s);
    }
    return buf_value(c, &b, out);
}

static rmb_status str_find(jctx *c, const jstr *s, jv sub_v, bool last, bool count, jv *out)
{
    const jstr *sub = NULL;
    if (want_str(c, sub_v, "the substring", &sub))
        return c->err->status;
    int64_t found = -1, n = 0;
    for (size_t i = 0; i + sub->len <= s->len;) {
        if (!memcmp(s->s + i, sub->s, sub->len)) {
            found = (int64_t)utf8_count(s->s, i);
            n++;
            if (!last && !count)
                break;
            i += sub->len ? sub->len : 1;
        } else {
            i++;
        }
    }
    *out = jv_int(count ? n : found);
    return RMB_OK;
}

static rmb_status str_method(jctx *c, jv v, const char *name, const jargs *a, jv *out, bool *found)
{
    const jstr *s = v.u.s;
    jv none = jv_none();
    *found = true;
    if (!strcmp(name, "strip")) return str_strip(c, v, arg(a, 0, "chars", none), 3, out);
    if (!strcmp(name, "lstrip")) return str_strip(c, v, arg(a, 0, "chars", none), 1, out);
    if (!strcmp(name, "rstrip")) return str_strip(c, v, arg(a, 0, "chars", none), 2, out);
    if (!strcmp(name, "upper")) return map_case(c, s, NULL, utf8proc_toupper, out);
    if (!strcmp(name, "lower")) return map_case(c, s, NULL, utf8proc_tolower, out);
    if (!strcmp(name, "capitalize")) return map_case(c, s, utf8proc_totitle, utf8proc_tolower, out);
    if (!strcmp(name, "title")) return title_case(c, s, false, out);
    if (!strcmp(name, "startswith")) return str_affix(c, s, arg(a, 0, NULL, none), false, out);
    if (!strcmp(name, "endswith")) return str_affix(c, s, arg(a, 0, NULL, none), true, out);
    if (!strcmp(name, "replace"))
        return str_replace(c, s, arg(a, 0, NULL, none), arg(a, 1, NULL, none),
                           arg(a, 2, "count", none), out);
    if (!strcmp(name, "find")) return str_find(c, s, arg(a, 0, NULL, none), false, false, out);
    if (!strcmp(name, "rfind")) return str_find(c, s, arg(a, 0, NULL, none), true, false, out);
    if (!strcmp(name, "count")) return str_find(c, s, arg(a, 0, NULL, none), false, true, out);
    if (!strcmp(name, "format")) return str_format(c, s, a, out);
    if (!strncmp(name, "is", 2)) {
        static const char *const classes[] = {"isdigit", "isdecimal", "isnumeric", "isalpha",
                                              "isalnum", "isspace", "isupper", "islower"};
        for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++)
            if (!strcmp(name, classes[k])) {
                *out = jv_bool(str_class(s, name));
                return RMB_OK;
            }
    }
    if (!strcmp(name, "split")) {
        jv sep = arg(a, 0, "sep", none);
        const jstr *sp = NULL;
        int64_t max = -1;
        if ((sep.kind != JV_NONE && want_str(c, sep, "split's sep", &sp))
            || want_int(c, arg(a, 1, "maxsplit", jv_int(-1)), "split's maxsplit", &max))
            return c->err->status;
        return str_split(c, s, sp, max, out);
    }
    if (!strcmp(name, "join")) {
        jv *items;
        size_t n;
        if (jv_iterate(c, arg(a, 0, NULL, none), &items, &n))
            return c->err->status;
        for (size_t i = 0; i < n; i++)
            if (items[i].kind != JV_STR)
                return jfail(c, "join: sequence item %zu: expected str, %s found", i,
                             jv_type(items[i]));
        return join_values(c, items, n, s, out);
    }
    *found = false;
    return RMB_OK;
}

/* ---- dict, list and loop methods ---- */

static rmb_status dict_items(jctx *c, const jdict *d, jv *out)
{
    if (jv_list(c, d->n, out))
        return c->err->status;
    for (size_t i = 0; i < d->n; i++) {
        jv pair;
        if (jv_list(c, 2, &pair))
            return c->err->status;
        pair.u.l->is_tuple = true;
        pair.u.l->v[0] = d->k[i], pair.u.l->v[1] = d->v[i];
        out->u.l->v[i] = pair;
    }
    return RMB_OK;
}

static rmb_status copy_values(jctx *c, const jv *v, size_t n, jv *out)
{
    if (jv_list(c, n, out))
        return c->err->status;
    if (n)
        memcpy(out->u.l->v, v, n * sizeof *v);
    return RMB_OK;
}

static bool is_mutator(const char *name)
{
    static const char *const names[] = {"append", "extend", "insert", "pop", "popitem", "remove",
                                        "clear", "update", "setdefault", "sort", "reverse",
                                        "add", "discard", "__setitem__", "__delitem__"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (!strcmp(name, names[k]))
            return true;
    return false;
}

rmb_status jbuiltin_method(jctx *c, jv v, const char *name, const jargs *a, jv *out, bool *found)
{
    *found = true;
    if ((v.kind == JV_LIST || v.kind == JV_DICT) && is_mutator(name))
        return jfail(c, "access to attribute '%s' of '%s' object is unsafe", name, jv_type(v));
    if (v.kind == JV_STR)
        return str_method(c, v, name, a, out, found);
    if (v.kind == JV_DICT) {
        if (!strcmp(name, "items"))
            return dict_items(c, v.u.d, out);
        if (!strcmp(name, "keys"))
            return copy_values(c, v.u.d->k, v.u.d->n, out);
        if (!strcmp(name, "values"))
            return copy_values(c, v.u.d->v, v.u.d->n, out);
        if (!strcmp(name, "get")) {
            const jv *hit = jdict_get(v.u.d, arg(a, 0, NULL, jv_none()));
            *out = hit ? *hit : arg(a, 1, NULL, jv_none());
            return RMB_OK;
        }
    }
    if (v.kind == JV_LIST && (!strcmp(name, "index") || !strcmp(name, "count"))) {
        jv x = arg(a, 0, NULL, jv_undef(NULL));
        int64_t n = 0;
        for (size_t i = 0; i < v.u.l->n; i++)
            if (jv_equal(v.u.l->v[i], x)) {
                if (name[0] == 'i') {
                    *out = jv_int((int64_t)i);
                    return RMB_OK;
                }
                n++;
            }
        if (name[0] == 'i')
            return jfail(c, "list.index(x): x not in list");
        *out = jv_int(n);
        return RMB_OK;
    }
    if (v.kind == JV_LOOP && !strcmp(name, "cycle")) {
        if (a->n_pos == 0)
            return jfail(c, "no items for cycling given");
        *out = a->pos[v.u.loop->index0 % a->n_pos];
        return RMB_OK;
    }
    *found = false;
    return RMB_OK;
}

/* ---- filters ---- */

/* Sorting keys: strings lower-cased unless case_sensitive. */
static rmb_status sort_key(jctx *c, jv v, jv attribute, bool case_sensitive, jv *key)
{
    *key = v;
    if (attribute.kind == JV_STR && jeval_getattr(c, v, attribute.u.s->s, key))
        return c->err->status;
    if (!case_sensitive && key->kind == JV_STR)
        return map_case(c, key->u.s, NULL, utf8proc_tolower, key);
    return RMB_OK;
}

/* Stable merge sort of items by keys (both permuted together). */
static rmb_status merge_sort(jctx *c, jv *items, jv *keys, size_t n, bool reverse)
{
    if (n < 2)
        return RMB_OK;
    size_t h = n / 2;
    if (merge_sort(c, items, keys, h, reverse) || merge_sort(c, items + h, keys + h, n - h, reverse))
        return c->err->status;
    jv *ti = jarena_alloc(c->arena, n * sizeof *ti), *tk = jarena_alloc(c->arena, n * sizeof *tk);
    if (!ti || !tk)
        return jfail(c, "out of memory");
    size_t i = 0, j = h, k = 0;
    while (i < h || j < n) {
        bool take_left = j >= n;
        if (i < h && j < n) {
            int cmp;
            if (jv_compare(c, keys[i], keys[j], &cmp))
                return c->err->status;
            take_left = reverse ? cmp >= 0 : cmp <= 0;
        }
        size_t from = take_left ? i++ : j++;
        ti[k] = items[from], tk[k++] = keys[from];
    }
    memcpy(items, ti, n * sizeof *ti);
    memcpy(keys, tk, n * sizeof *tk);
    return RMB_OK;
}

static rmb_status sorted_copy(jctx *c, jv v, bool reverse, bool case_sensitive, jv attribute,
                              jv *out)
{
    jv *items, *keys;
    size_t n;
    if (jv_iterate(c, v, &items, &n) || copy_values(c, items, n, out))
        return c->err->status;
    if (!(keys = jarena_alloc(c->arena, (n + 1) * sizeof *keys)))
        return jfail(c, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (sort_key(c, out->u.l->v[i], attribute, case_sensitive, &keys[i]))
            return c->err->status;
    return merge_sort(c, out->u.l->v, keys, n, reverse);
}

static rmb_status f_minmax(jctx *c, jv v, const jargs *a, bool is_max, jv *out)
{
    jv sorted;
    if (sorted_copy(c, v, false, jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false))),
                    arg(a, 1, "attribute", jv_none()), &sorted))
        return c->err->status;
    size_t n = sorted.u.l->n;
    if (n == 0) {
        *out = jv_undef(NULL);
        return RMB_OK;
    }
    /* max: the first of the largest, as Python's max() returns. */
    size_t pick = 0;
    if (is_max) {
        jv last_key;
        pick = n - 1;
        if (sort_key(c, sorted.u.l->v[pick], arg(a, 1, "attribute", jv_none()),
                     jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false))), &last_key))
            return c->err->status;
        while (pick > 0) {
            jv k;
            if (sort_key(c, sorted.u.l->v[pick - 1], arg(a, 1, "attribute", jv_none()),
                         jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false))), &k))
                return c->err->status;
            if (!jv_equal(k, last_key))
                break;
            pick--;
        }
    }
    *out = sorted.u.l->v[pick];
    return RMB_OK;
}

static rmb_status f_tojson(jctx *c, jv v, const jargs *a, jv *out)
{
    jv indent_v = arg(a, 0, "indent", jv_none()), seps = arg(a, 1, "separators", jv_none());
    int64_t indent = -1;
    if (indent_v.kind != JV_NONE && want_int(c, indent_v, "tojson's indent", &indent))
        return c->err->status;
    if (indent > 64)
        return jfail(c, "tojson: indent too large");
    const char *item_sep = indent >= 0 ? "," : ", ", *key_sep = ": ";
    if (seps.kind == JV_LIST) {
        if (seps.u.l->n != 2 || seps.u.l->v[0].kind != JV_STR || seps.u.l->v[1].kind != JV_STR)
            return jfail(c, "tojson: separators must be two strings");
        item_sep = seps.u.l->v[0].u.s->s, key_sep = seps.u.l->v[1].u.s->s;
    }
    rmb_buf b = {0};
    if (jv_to_json(c, &b, v, jv_truthy(arg(a, 2, "ensure_ascii", jv_bool(false))), (int)indent,
                   item_sep, key_sep, jv_truthy(arg(a, 3, "sort_keys", jv_bool(false))))) {
        rmb_buf_free(&b);
        return c->err->status;
    }
    return buf_value(c, &b, out);
}

static rmb_status f_join(jctx *c, jv v, const jargs *a, jv *out)
{
    jv sep_v = arg(a, 0, "d", jv_undef(NULL)), attribute = arg(a, 1, "attribute", jv_none());
    jv *items;
    size_t n;
    jv sep = sep_v;
    if (sep_v.kind != JV_UNDEF && jv_to_str(c, sep_v, &sep))
        return c->err->status;
    if (jv_iterate(c, v, &items, &n))
        return c->err->status;
    if (attribute.kind == JV_STR) {
        jv *picked = jarena_alloc(c->arena, (n + 1) * sizeof *picked);
        if (!picked)
            return jfail(c, "out of memory");
        for (size_t i = 0; i < n; i++)
            if (jeval_getattr(c, items[i], attribute.u.s->s, &picked[i]))
                return c->err->status;
        items = picked;
    }
    return join_values(c, items, n, sep.kind == JV_STR ? sep.u.s : NULL, out);
}

/* select/reject/selectattr/rejectattr: by_attr reads an attribute first. */
static rmb_status f_select(jctx *c, jv v, const jargs *a, bool by_attr, bool keep_if, jv *out)
{
    jv *items;
    size_t n, first = by_attr ? 1 : 0;
    if (jv_iterate(c, v, &items, &n) || jv_list(c, 0, out))
        return c->err->status;
    jv attr = by_attr ? arg(a, 0, NULL, jv_undef(NULL)) : jv_none();
    if (by_attr && attr.kind != JV_STR)
        return jfail(c, "selectattr/rejectattr need an attribute name");
    jv test = arg(a, first, NULL, jv_none());
    if (test.kind != JV_NONE && test.kind != JV_STR)
        return jfail(c, "select: the test must be named by a string");
    jargs rest = {a->n_pos > first + 1 ? a->pos + first + 1 : NULL,
                  a->n_pos > first + 1 ? a->n_pos - first - 1 : 0, NULL, NULL, 0};
    jv *kept = jarena_alloc(c->arena, (n + 1) * sizeof *kept);
    if (!kept)
        return jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        jv x = items[i];
        bool r;
        if (by_attr && jeval_getattr(c, x, attr.u.s->s, &x))
            return c->err->status;
        if (test.kind == JV_STR) {
            if (jbuiltin_test(c, test.u.s->s, x, &rest, &r))
                return c->err->status;
        } else {
            r = jv_truthy(x);
        }
        if (r == keep_if)
            kept[k++] = items[i];
    }
    out->u.l->v = kept, out->u.l->n = k;
    return RMB_OK;
}

static rmb_status f_map(jctx *c, jv v, const jargs *a, jv *out)
{
    jv *items;
    size_t n;
    if (jv_iterate(c, v, &items, &n) || jv_list(c, n, out))
        return c->err->status;
    jv attribute = arg(a, SIZE_MAX, "attribute", jv_undef(NULL));
    jv def = arg(a, SIZE_MAX, "default", jv_undef(NULL));
    jv filter = a->n_pos ? a->pos[0] : jv_none();
    if (attribute.kind != JV_STR && filter.kind != JV_STR)
        return jfail(c, "map needs a filter name or attribute=");
    jargs rest = {a->n_pos > 1 ? a->pos + 1 : NULL, a->n_pos > 1 ? a->n_pos - 1 : 0, NULL, NULL, 0};
    for (size_t i = 0; i < n; i++) {
        jv *slot = &out->u.l->v[i];
        if (attribute.kind == JV_STR) {
            if (jeval_getattr(c, items[i], attribute.u.s->s, slot))
                return c->err->status;
            if (slot->kind == JV_UNDEF && def.kind != JV_UNDEF)
                *slot = def;
        } else if (jbuiltin_filter(c, filter.u.s->s, items[i], &rest, slot)) {
            return c->err->status;
        }
    }
    return RMB_OK;
}

static rmb_status f_indent(jctx *c, jv v, const jargs *a, jv *out)
{
    jv s, width = arg(a, 0, "width", jv_int(4));
    bool first = jv_truthy(arg(a, 1, "first", jv_bool(false)));
    bool blank = jv_truthy(arg(a, 2, "blank", jv_bool(false)));
    jv pad;
    if (v.kind != JV_STR)
        return jfail(c, "indent: expected a string, not %s", jv_type(v));
    s = v;
    if (width.kind == JV_STR) {
        pad = width;
    } else {
        int64_t w = 0;
        if (want_int(c, width, "indent's width", &w))
            return c->err->status;
        jv space;
        if (jv_str(c, " ", 1, &space) || jv_list(c, 0, &pad))
            return c->err->status;
        char *spaces = jarena_alloc(c->arena, (size_t)(w > 0 ? w : 0) + 1);
        if (!spaces || w > 1000)
            return jfail(c, "indent: width too large");
        memset(spaces, ' ', (size_t)(w > 0 ? w : 0));
        if (jv_str(c, spaces, (size_t)(w > 0 ? w : 0), &pad))
            return c->err->status;
    }
    rmb_buf b = {0};
    const jstr *str = s.u.s;
    size_t i = 0;
    bool line_start = true;
    for (size_t line = 0; i <= str->len; line++) {
        const char *nl = memchr(str->s + i, '\n', str->len - i);
        size_t end = nl ? (size_t)(nl - str->s) : str->len;
        bool empty = end == i;
        if ((line > 0 || first) && (blank || !empty) && line_start)
            rmb_buf_append(&b, pad.u.s->s, pad.u.s->len);
        rmb_buf_append(&b, str->s + i, end - i);
        if (!nl)
            break;
        rmb_buf_puts(&b, "\n");
        i = end + 1;
    }
    return buf_value(c, &b, out);
}

static rmb_status f_first_last(jctx *c, jv v, bool last, jv *out)
{
    jv *items;
    size_t n;
    if (jv_iterate(c, v, &items, &n))
        return c->err->status;
    *out = n ? items[last ? n - 1 : 0] : jv_undef(NULL);
    return RMB_OK;
}

static rmb_status f_unique(jctx *c, jv v, const jargs *a, jv *out)
{
    jv *items;
    size_t n;
    bool cs = jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false)));
    jv attribute = arg(a, 1, "attribute", jv_none());
    if (jv_iterate(c, v, &items, &n) || jv_list(c, 0, out))
        return c->err->status;
    jv *kept = jarena_alloc(c->arena, (n + 1) * sizeof *kept);
    jv *keys = jarena_alloc(c->arena, (n + 1) * sizeof *keys);
    if (!kept || !keys)
        return jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        jv key;
        bool seen = false;
        if (sort_key(c, items[i], attribute, cs, &key))
            return c->err->status;
        for (size_t j = 0; j < k && !seen; j++)
            seen = jv_equal(keys[j], key);
        if (!seen)
            keys[k] = key, kept[k++] = items[i];
    }
    out->u.l->v = kept, out->u.l->n = k;
    return RMB_OK;
}

static rmb_status f_number(jv v, const jargs *a, bool to_int, jv *out)
{
    jv def = arg(a, 0, "default", to_int ? jv_int(0) : jv_float(0.0));
    if (v.kind == JV_INT || v.kind == JV_BOOL) {
        *out = to_int ? jv_int(v.kind == JV_INT ? v.u.i : v.u.b)
                      : jv_float((double)(v.kind == JV_INT ? v.u.i : v.u.b));
        return RMB_OK;
    }
    if (v.kind == JV_FLOAT) {
        if (to_int && !(fabs(v.u.f) < 9.2e18)) {
            *out = def;
            return RMB_OK;
        }
        *out = to_int ? jv_int((int64_t)v.u.f) : v;
        return RMB_OK;
    }
    if (v.kind != JV_STR) {
        *out = def;
        return RMB_OK;
    }
    const jstr *s = v.u.s;
    size_t a0 = utf8_space_prefix(s->s, s->len), b0 = s->len - utf8_space_suffix(s->s, s->len);
    char buf[64];
    if (b0 <= a0 || b0 - a0 >= sizeof buf) {
        *out = def;
        return RMB_OK;
    }
    size_t o = 0;
    for (size_t i = a0; i < b0; i++)
        if (s->s[i] != '_')
            buf[o++] = s->s[i];
    buf[o] = 0;
    char *end;
    errno = 0;
    if (to_int) {
        long long x = strtoll(buf, &end, 10);
        if (*end || errno) { /* jinja's int filter falls back to float("1.5") */
            double f = strtod(buf, &end);
            *out = *end || !(fabs(f) < 9.2e18) ? def : jv_int((int64_t)f);
        } else {
            *out = jv_int(x);
        }
    } else {
        double f = strtod(buf, &end);
        *out = *end || (buf[0] == '0' && (buf[1] | 32) == 'x') ? def : jv_float(f);
    }
    return RMB_OK;
}

static rmb_status f_round(jctx *c, jv v, const jargs *a, jv *out)
{
    int64_t prec = 0;
    jv method = arg(a, 1, "method", jv_undef(NULL));
    if (want_int(c, arg(a, 0, "precision", jv_int(0)), "round's precision", &prec))
        return c->err->status;
    if (v.kind != JV_INT && v.kind != JV_BOOL && v.kind != JV_FLOAT)
        return jfail(c, "round: expected a number, not %s", jv_type(v));
    if (v.kind != JV_FLOAT && prec >= 0) { /* Python's round(int, n) stays an int */
        *out = jv_int(v.kind == JV_INT ? v.u.i : v.u.b);
        return RMB_OK;
    }
    double x = v.kind == JV_FLOAT ? v.u.f : (double)(v.kind == JV_INT ? v.u.i : v.u.b);
    double m = pow(10.0, (double)prec), r;
    const char *how = method.kind == JV_STR ? method.u.s->s : "common";
    if (!strcmp(how, "ceil"))
        r = ceil(x * m) / m;
    else if (!strcmp(how, "floor"))
        r = floor(x * m) / m;
    else if (!strcmp(how, "common"))
        r = nearbyint(x * m) / m; /* Python's round(): half to even */
    else
        return jfail(c, "round: method must be 'common', 'ceil' or 'floor'");
    *out = jv_float(r);
    return RMB_OK;
}

static rmb_status f_escape(jctx *c, jv v, jv *out)
{
    jv s;
    if (jv_to_str(c, v, &s))
        return c->err->status;
    rmb_buf b = {0};
    for (size_t i = 0; i < s.u.s->len; i++) {
        char ch = s.u.s->s[i];
        const char *rep = ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;"
                        : ch == '"' ? "&#34;" : ch == '\'' ? "&#39;" : NULL;
        if (rep)
            rmb_buf_puts(&b, rep);
        else
            rmb_buf_append(&b, &ch, 1);
    }
    return buf_value(c, &b, out);
}

static rmb_status f_sum(jctx *c, jv v, const jargs *a, jv *out)
{
    jv *items;
    size_t n;
    jv attribute = arg(a, 0, "attribute", jv_none());
    *out = arg(a, 1, "start", jv_int(0));
    if (jv_iterate(c, v, &items, &n))
        return c->err->status;
    for (size_t i = 0; i < n; i++) {
        jv x = items[i];
        if (attribute.kind == JV_STR && jeval_getattr(c, x, attribute.u.s->s, &x))
            return c->err->status;
        if (jeval_binop(c, JOP_ADD, *out, x, out))
            return c->err->status;
    }
    return RMB_OK;
}

static rmb_status f_reverse(jctx *c, jv v, jv *out)
{
    jv *items;
    size_t n;
    if (jv_iterate(c, v, &items, &n) || jv_list(c, n, out))
        return c->err->status;
    for (size_t i = 0; i < n; i++)
        out->u.l->v[i] = items[n - 1 - i];
    if (v.kind != JV_STR)
        return RMB_OK;
    return join_values(c, out->u.l->v, n, NULL, out);
}

static rmb_status f_strip(jctx *c, jv v, const jargs *a, jv *out)
{
    jv s;
    if (jv_to_str(c, v, &s))
        return c->err->status;
    return str_strip(c, s, arg(a, 0, "chars", jv_none()), 3, out);
}

static rmb_status f_string_op(jctx *c, const char *name, jv v, const jargs *a, jv *out)
{
    jv s;
    bool found;
    if (jv_to_str(c, v, &s))
        return c->err->status;
    if (!strcmp(name, "title"))
        return title_case(c, s.u.s, true, out);
    return str_method(c, s, name, a, out, &found);
}

/* Runs of word characters (Python's \w: letters, digits, '_'). */
static rmb_status f_wordcount(jctx *c, jv v, jv *out)
{
    jv s;
    if (jv_to_str(c, v, &s))
        return c->err->status;
    int64_t words = 0;
    bool in_word = false;
    for (size_t i = 0, k; i < s.u.s->len; i += k) {
        int32_t cp = utf8_next(s.u.s->s + i, s.u.s->len - i, &k);
        utf8proc_category_t cat = utf8proc_category(cp);
        bool word = cp == '_' || (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO)
                    || (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
        words += word && !in_word;
        in_word = word;
    }
    *out = jv_int(words);
    return RMB_OK;
}

typedef enum filter_id {
    F_TRIM, F_LENGTH, F_COUNT, F_DEFAULT, F_D, F_TOJSON, F_UPPER, F_LOWER, F_CAPITALIZE, F_TITLE,
    F_JOIN, F_FIRST, F_LAST, F_LIST, F_ITEMS, F_REPLACE, F_STRING, F_INT, F_FLOAT, F_ABS,
    F_ROUND, F_SELECT, F_REJECT, F_SELECTATTR, F_REJECTATTR, F_MAP, F_INDENT, F_SORT, F_UNIQUE,
    F_MIN, F_MAX, F_SUM, F_REVERSE, F_SAFE, F_ESCAPE, F_E, F_ATTR, F_DICTSORT, F_WORDCOUNT,
    F_COUNT_ALL
} filter_id;

static const char *const filter_names[F_COUNT_ALL] = {
    "trim", "length", "count", "default", "d", "tojson", "upper", "lower", "capitalize", "title",
    "join", "first", "last", "list", "items", "replace", "string", "int", "float", "abs",
    "round", "select", "reject", "selectattr", "rejectattr", "map", "indent", "sort", "unique",
    "min", "max", "sum", "reverse", "safe", "escape", "e", "attr", "dictsort", "wordcount"};

static int filter_id_of(const char *name)
{
    for (int k = 0; k < F_COUNT_ALL; k++)
        if (!strcmp(name, filter_names[k]))
            return k;
    return -1;
}

bool jbuiltin_has_filter(const char *name) { return filter_id_of(name) >= 0; }

static rmb_status f_dictsort(jctx *c, jv v, const jargs *a, jv *out)
{
    if (v.kind != JV_DICT)
        return jfail(c, "dictsort: expected a dict, not %s", jv_type(v));
    jv items, by = arg(a, 1, "by", jv_undef(NULL));
    if (dict_items(c, v.u.d, &items))
        return c->err->status;
    bool by_value = by.kind == JV_STR && !strcmp(by.u.s->s, "value");
    jv *keys = jarena_alloc(c->arena, (items.u.l->n + 1) * sizeof *keys);
    if (!keys)
        return jfail(c, "out of memory");
    for (size_t i = 0; i < items.u.l->n; i++)
        if (sort_key(c, items.u.l->v[i].u.l->v[by_value], jv_none(),
                     jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false))), &keys[i]))
            return c->err->status;
    *out = items;
    return merge_sort(c, items.u.l->v, keys, items.u.l->n,
                      jv_truthy(arg(a, 2, "reverse", jv_bool(false))));
}

rmb_status jbuiltin_filter(jctx *c, const char *name, jv v, const jargs *a, jv *out)
{
    int64_t n;
    jv *items;
    size_t count;
    switch ((filter_id)filter_id_of(name)) {
    case F_TRIM: return f_strip(c, v, a, out);
    case F_LENGTH:
    case F_COUNT:
        if (jv_length(c, v, &n))
            return c->err->status;
        *out = jv_int(n);
        return RMB_OK;
    case F_DEFAULT:
    case F_D: {
        bool boolean = jv_truthy(arg(a, 1, "boolean", jv_bool(false)));
        bool use_default = v.kind == JV_UNDEF || (boolean && !jv_truthy(v));
        jv def;
        if (use_default && a->n_pos == 0 && a->n_kw == 0)
            return jv_str(c, "", 0, out);
        def = arg(a, 0, "default_value", jv_none());
        *out = use_default ? def : v;
        return RMB_OK;
    }
    case F_TOJSON: return f_tojson(c, v, a, out);
    case F_UPPER:
    case F_LOWER:
    case F_CAPITALIZE:
    case F_TITLE: return f_string_op(c, name, v, a, out);
    case F_JOIN: return f_join(c, v, a, out);
    case F_FIRST:
    case F_LAST: return f_first_last(c, v, !strcmp(name, "last"), out);
    case F_LIST:
        if (jv_iterate(c, v, &items, &count))
            return c->err->status;
        return copy_values(c, items, count, out);
    case F_ITEMS:
        if (v.kind == JV_UNDEF)
            return jv_list(c, 0, out);
        if (v.kind != JV_DICT)
            return jfail(c, "items: can only get item pairs from a mapping, not %s", jv_type(v));
        return dict_items(c, v.u.d, out);
    case F_REPLACE: {
        jv s;
        if (jv_to_str(c, v, &s))
            return c->err->status;
        return str_replace(c, s.u.s, arg(a, 0, "old", jv_none()), arg(a, 1, "new", jv_none()),
                           arg(a, 2, "count", jv_none()), out);
    }
    case F_STRING: return jv_to_str(c, v, out);
    case F_INT: return f_number(v, a, true, out);
    case F_FLOAT: return f_number(v, a, false, out);
    case F_ABS:
        if (v.kind == JV_FLOAT)
            *out = jv_float(fabs(v.u.f));
        else if (v.kind == JV_INT && v.u.i != INT64_MIN)
            *out = jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
        else if (v.kind == JV_BOOL)
            *out = jv_int(v.u.b);
        else
            return jfail(c, "bad operand type for abs(): '%s'", jv_type(v));
        return RMB_OK;
    case F_ROUND: return f_round(c, v, a, out);
    case F_SELECT: return f_select(c, v, a, false, true, out);
    case F_REJECT: return f_select(c, v, a, false, false, out);
    case F_SELECTATTR: return f_select(c, v, a, true, true, out);
    case F_REJECTATTR: return f_select(c, v, a, true, false, out);
    case F_MAP: return f_map(c, v, a, out);
    case F_INDENT: return f_indent(c, v, a, out);
    case F_SORT:
        return sorted_copy(c, v, jv_truthy(arg(a, 0, "reverse", jv_bool(false))),
                           jv_truthy(arg(a, 1, "case_sensitive", jv_bool(false))),
                           arg(a, 2, "attribute", jv_none()), out);
    case F_UNIQUE: return f_unique(c, v, a, out);
    case F_MIN:
    case F_MAX: return f_minmax(c, v, a, !strcmp(name, "max"), out);
    case F_SUM: return f_sum(c, v, a, out);
    case F_REVERSE: return f_reverse(c, v, out);
    case F_SAFE: *out = v; return RMB_OK;
    case F_ESCAPE:
    case F_E: return f_escape(c, v, out);
    case F_ATTR: {
        jv attr_name = arg(a, 0, "name", jv_undef(NULL));
        if (attr_name.kind != JV_STR)
            return jfail(c, "attr: the attribute name must be a string");
        if (v.kind == JV_DICT) { /* a Python attribute, never a key */
            *out = jv_undef(attr_name.u.s->s);
            return RMB_OK;
        }
        return jeval_getattr(c, v, attr_name.u.s->s, out);
    }
    case F_DICTSORT: return f_dictsort(c, v, a, out);
    case F_WORDCOUNT: return f_wordcount(c, v, out);
    default: return jfail(c, "no filter named '%s'", name);
    }
}

/* ---- tests ---- */

static const char *const test_names[] = {
    "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true",
    "false", "mapping", "sequence", "iterable", "callable", "odd", "even", "divisibleby", "eq",
    "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">",
    "ge", ">=", "in", "sameas", "lower", "upper", "filter", "test", "escaped", NULL};

bool jbuiltin_has_test(const char *name)
{
    for (size_t k = 0; test_names[k]; k++)
        if (!strcmp(name, test_names[k]))
            return true;
    return false;
}

static bool is_one_of(const char *name, const char *a, const char *b, const char *d)
{
    return !strcmp(name, a) || (b && !strcmp(name, b)) || (d && !strcmp(name, d));
}

static rmb_status compare_test(jctx *c, const char *name, jv v, jv other, bool *out)
{
    int cmp;
    if (is_one_of(name, "eq", "equalto", "==")) {
        *out = jv_equal(v, other);
        return RMB_OK;
    }
    if (is_one_of(name, "ne", "!=", NULL)) {
        *out = !jv_equal(v, other);
        return RMB_OK;
    }
    if (jv_compare(c, v, other, &cmp))
        return c->err->status;
    if (is_one_of(name, "lt", "lessthan", "<"))
        *out = cmp < 0;
    else if (is_one_of(name, "le", "<=", NULL))
        *out = cmp <= 0;
    else if (is_one_of(name, "gt", "greaterthan", ">"))
        *out = cmp > 0;
    else
        *out = cmp >= 0;
    return RMB_OK;
}

rmb_status jbuiltin_test(jctx *c, const char *name, jv v, const jargs *a, bool *out)
{
    jv other = arg(a, 0, NULL, jv_undef(NULL));
    jv_kind k = v.kind;
    if (!strcmp(name, "defined")) *out = k != JV_UNDEF;
    else if (!strcmp(name, "undefined")) *out = k == JV_UNDEF;
    else if (!strcmp(name, "none")) *out = k == JV_NONE;
    else if (!strcmp(name, "string")) *out = k == JV_STR;
    else if (!strcmp(name, "number")) *out = k == JV_INT || k == JV_FLOAT || k == JV_BOOL;
    else if (!strcmp(name, "integer")) *out = k == JV_INT;
    else if (!strcmp(name, "float")) *out = k == JV_FLOAT;
    else if (!strcmp(name, "boolean")) *out = k == JV_BOOL;
    else if (!strcmp(name, "true")) *out = k == JV_BOOL && v.u.b;
    else if (!strcmp(name, "false")) *out = k == JV_BOOL && !v.u.b;
    else if (!strcmp(name, "mapping")) *out = k == JV_DICT;
    else if (!strcmp(name, "sequence")) *out = k == JV_STR || k == JV_LIST || k == JV_DICT;
    else if (!strcmp(name, "iterable")) *out = k == JV_STR || k == JV_LIST || k == JV_DICT || k == JV_UNDEF;
    else if (!strcmp(name, "callable")) *out = k == JV_MACRO || k == JV_FUNC;
    else if (!strcmp(name, "odd") || !strcmp(name, "even") || !strcmp(name, "divisibleby")) {
        jv rem; /* value % 2 == 1, value % 2 == 0, value % num == 0, as jinja2 */
        if (jeval_binop(c, JOP_MOD, v, name[0] == 'd' ? other : jv_int(2), &rem))
            return c->err->status;
        *out = jv_equal(rem, jv_int(name[0] == 'o' ? 1 : 0));
    } else if (!strcmp(name, "in")) {
        return jv_contains(c, v, other, out);
    } else if (!strcmp(name, "sameas")) {
        *out = k == other.kind && (k == JV_NONE || k == JV_UNDEF || (k == JV_BOOL && v.u.b == other.u.b)
                                   || (k == JV_INT && v.u.i == other.u.i)
                                   || (k == JV_STR && v.u.s == other.u.s)
                                   || ((k == JV_LIST) && v.u.l == other.u.l)
                                   || ((k == JV_DICT || k == JV_NS) && v.u.d == other.u.d));
    } else if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        jv s;
        if (jv_to_str(c, v, &s))
            return c->err->status;
        *out = str_class(s.u.s, name[0] == 'l' ? "islower" : "isupper");
    } else if (!strcmp(name, "filter") || !strcmp(name, "test")) {
        *out = k == JV_STR && (name[0] == 'f' ? jbuiltin_has_filter(v.u.s->s) : jbuiltin_has_test(v.u.s->s));
    } else if (!strcmp(name, "escaped")) {
        *out = false;
    } else {
        return compare_test(c, name, v, other, out);
    }
    return RMB_OK;
}
