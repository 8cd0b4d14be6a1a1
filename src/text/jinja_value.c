/* Jinja values: arena memory, UTF-8 helpers, and the Python behaviour that
 * templates observe: str() and repr() of values, truthiness, equality,
 * ordering, len() and iteration, and json.dumps for tojson. */
#include "text/jinja.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- arena ---- */

typedef struct jchunk {
    struct jchunk *next;
    size_t used, cap;
    max_align_t data[];
} jchunk;

struct jarena {
    jchunk *head;
    size_t total, limit;
};

jarena *jarena_new(size_t limit)
{
    jarena *a = calloc(1, sizeof *a);
    if (a)
        a->limit = limit;
    return a;
}

void jarena_free(jarena *a)
{
    if (!a)
        return;
    for (jchunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *jarena_alloc(jarena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    jchunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        if (a->limit && a->total + cap > a->limit)
            return NULL;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        c->used = 0, c->cap = cap, c->next = a->head;
        a->head = c;
        a->total += cap;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

void *jarena_grow(jarena *a, const void *old, size_t n, size_t cap, size_t elem)
{
    void *p = cap <= SIZE_MAX / elem ? jarena_alloc(a, cap * elem) : NULL;
    if (p && n)
        memcpy(p, old, n * elem);
    return p;
}

/* ---- UTF-8 ---- */

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

size_t utf8_offset(const char *s, size_t len, size_t i)
{
    size_t off = 0;
    while (off < len && i > 0) {
        off++;
        while (off < len && ((unsigned char)s[off] & 0xC0) == 0x80)
            off++;
        i--;
    }
    return off;
}

int32_t utf8_next(const char *s, size_t len, size_t *n)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &cp);
    if (k <= 0)
        k = 1, cp = 0xFFFD;
    *n = (size_t)k;
    return cp;
}

bool utf8_isspace(const char *s, size_t len, size_t *n)
{
    int32_t cp = utf8_next(s, len, n);
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0
           || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
           || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t utf8_space_prefix(const char *s, size_t len)
{
    size_t i = 0, n;
    while (i < len && utf8_isspace(s + i, len - i, &n))
        i += n;
    return i;
}

size_t utf8_space_suffix(const char *s, size_t len)
{
    size_t end = len;
    while (end > 0) {
        size_t start = end - 1, n;
        while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
            start--;
        if (!utf8_isspace(s + start, end - start, &n) || start + n != end)
            break;
        end = start;
    }
    return len - end;
}

/* ---- constructors ---- */

jv jv_undef(const char *name) { return (jv){.kind = JV_UNDEF, .u.undef_name = name}; }
jv jv_none(void) { return (jv){.kind = JV_NONE}; }
jv jv_bool(bool b) { return (jv){.kind = JV_BOOL, .u.b = b}; }
jv jv_int(int64_t i) { return (jv){.kind = JV_INT, .u.i = i}; }
jv jv_float(double f) { return (jv){.kind = JV_FLOAT, .u.f = f}; }

static rmb_status oom(jctx *c)
{
    return rmb_fail(c->err, RMB_ENOMEM, "line %d: out of memory (or over the render's memory limit)",
                    c->line);
}

rmb_status jv_str(jctx *c, const char *s, size_t len, jv *out)
{
    jstr *str = jarena_alloc(c->arena, sizeof *str + len + 1);
    if (!str)
        return oom(c);
    if (len)
        memcpy(str->s, s, len);
    str->len = len;
    *out = (jv){.kind = JV_STR, .u.s = str};
    return RMB_OK;
}

rmb_status jv_list(jctx *c, size_t n, jv *out)
{
    jlist *l = jarena_alloc(c->arena, sizeof *l);
    if (!l || (n && !(l->v = jarena_alloc(c->arena, n * sizeof *l->v))))
        return oom(c);
    l->n = n;
    *out = (jv){.kind = JV_LIST, .u.l = l};
    return RMB_OK;
}

rmb_status jv_dict(jctx *c, jv *out)
{
    jdict *d = jarena_alloc(c->arena, sizeof *d);
    if (!d)
        return oom(c);
    *out = (jv){.kind = JV_DICT, .u.d = d};
    return RMB_OK;
}

const jv *jdict_get(const jdict *d, jv key)
{
    for (size_t i = 0; i < d->n; i++)
        if (jv_equal(d->k[i], key))
            return &d->v[i];
    return NULL;
}

rmb_status jdict_set(jctx *c, jdict *d, jv key, jv val)
{
    jv *slot = (jv *)jdict_get(d, key);
    if (slot) {
        *slot = val;
        return RMB_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        jv *k = jarena_grow(c->arena, d->k, d->n, cap, sizeof *k);
        jv *v = jarena_grow(c->arena, d->v, d->n, cap, sizeof *v);
        if (!k || !v)
            return oom(c);
        d->k = k, d->v = v, d->cap = cap;
    }
    d->k[d->n] = key, d->v[d->n] = val;
    d->n++;
    return RMB_OK;
}

/* ---- truth, equality, order ---- */

bool jv_truthy(jv v)
{
    switch (v.kind) {
    case JV_UNDEF:
    case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s->len > 0;
    case JV_LIST: return v.u.l->n > 0;
    case JV_DICT: return v.u.d->n > 0;
    default: return true;
    }
}

static bool is_number(jv v) { return v.kind == JV_BOOL || v.kind == JV_INT || v.kind == JV_FLOAT; }

/* bool is an int in Python: True + 1 == 2. */
static double num_value(jv v)
{
    return v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : (double)v.u.b;
}

static int64_t int_value(jv v) { return v.kind == JV_INT ? v.u.i : (int64_t)v.u.b; }

bool jv_equal(jv a, jv b)
{
    if (is_number(a) && is_number(b)) {
        if (a.kind == JV_FLOAT || b.kind == JV_FLOAT)
            return num_value(a) == num_value(b);
        return int_value(a) == int_value(b);
    }
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR: return a.u.s->len == b.u.s->len && !memcmp(a.u.s->s, b.u.s->s, a.u.s->len);
    case JV_LIST:
        if (a.u.l->n != b.u.l->n || a.u.l->is_tuple != b.u.l->is_tuple)
            return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i]))
                return false;
        return true;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n)
            return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            const jv *other = jdict_get(b.u.d, a.u.d->k[i]);
            if (!other || !jv_equal(a.u.d->v[i], *other))
                return false;
        }
        return true;
    case JV_NS: return a.u.d == b.u.d;
    case JV_LOOP: return a.u.loop == b.u.loop;
    case JV_MACRO: return a.u.macro == b.u.macro;
    case JV_FUNC: return a.u.func == b.u.func;
    default: return false;
    }
}

const char *jv_type(jv v)
{
    static const char *const names[] = {"Undefined", "NoneType", "bool",      "int",
                                        "float",     "str",      "list",      "dict",
                                        "Namespace", "LoopContext", "Macro", "function"};
    if (v.kind == JV_LIST && v.u.l->is_tuple)
        return "tuple";
    return names[v.kind];
}

rmb_status jv_compare(jctx *c, jv a, jv b, int *cmp)
{
    if (is_number(a) && is_number(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT) {
            int64_t x = int_value(a), y = int_value(b);
            *cmp = (x > y) - (x < y);
        } else {
            double x = num_value(a), y = num_value(b);
            *cmp = (x > y) - (x < y);
        }
        return RMB_OK;
    }
    if (a.kind == JV_STR && b.kind == JV_STR) {
        size_t n = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int r = memcmp(a.u.s->s, b.u.s->s, n);
        *cmp = r ? (r > 0) - (r < 0) : (a.u.s->len > b.u.s->len) - (a.u.s->len < b.u.s->len);
        return RMB_OK;
    }
    if (a.kind == JV_LIST && b.kind == JV_LIST && a.u.l->is_tuple == b.u.l->is_tuple) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++) {
            if (jv_equal(a.u.l->v[i], b.u.l->v[i]))
                continue;
            return jv_compare(c, a.u.l->v[i], b.u.l->v[i], cmp);
        }
        *cmp = (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
        return RMB_OK;
    }
    return jfail(c, "'<' not supported between instances of '%s' and '%s'", jv_type(a), jv_type(b));
}

/* ---- printing ---- */

/* Python's repr(float): the shortest digits that round-trip, positional
 * for exponents -4..15, else scientific with a two-digit exponent. */
static void print_float(rmb_buf *b, double f)
{
    if (isnan(f)) {
        rmb_buf_puts(b, "nan");
        return;
    }
    if (isinf(f)) {
        rmb_buf_puts(b, f < 0 ? "-inf" : "inf");
        return;
    }
    char sci[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, f);
        if (strtod(sci, NULL) == f)
            break;
    }
    /* sci is [-]d[.ddd]e[+-]xx: split digits and exponent. */
    char digits[32];
    size_t nd = 0;
    const char *p = sci;
    bool neg = *p == '-';
    p += neg;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    if (neg)
        rmb_buf_puts(b, "-");
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            rmb_buf_puts(b, "0.");
            for (int k = -1; k > exp; k--)
                rmb_buf_puts(b, "0");
            rmb_buf_puts(b, digits);
        } else {
            for (int k = 0; k <= exp; k++)
                rmb_buf_append(b, (size_t)k < nd ? &digits[k] : "0", 1);
            rmb_buf_puts(b, ".");
            rmb_buf_puts(b, (size_t)exp + 1 < nd ? digits + exp + 1 : "0");
        }
        return;
    }
    rmb_buf_append(b, digits, 1);
    if (nd > 1) {
        rmb_buf_puts(b, ".");
        rmb_buf_puts(b, digits + 1);
    }
    rmb_buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
}

/* Python's str.isprintable for one code point. */
static bool printable(int32_t cp)
{
    if (cp == ' ')
        return true;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
    }
}

static void repr_str(rmb_buf *b, const jstr *s)
{
    char quote = memchr(s->s, '\'', s->len) && !memchr(s->s, '"', s->len) ? '"' : '\'';
    rmb_buf_append(b, &quote, 1);
    for (size_t i = 0; i < s->len;) {
        size_t k;
        int32_t cp = utf8_next(s->s + i, s->len - i, &k);
        if (cp == '\\' || cp == quote)
            rmb_buf_printf(b, "\\%c", (char)cp);
        else if (cp == '\n')
            rmb_buf_puts(b, "\\n");
        else if (cp == '\r')
            rmb_buf_puts(b, "\\r");
        else if (cp == '\t')
            rmb_buf_puts(b, "\\t");
        else if (printable(cp))
            rmb_buf_append(b, s->s + i, k);
        else if (cp < 0x100)
            rmb_buf_printf(b, "\\x%02x", (unsigned)cp);
        else if (cp < 0x10000)
            rmb_buf_printf(b, "\\u%04x", (unsigned)cp);
        else
            rmb_buf_printf(b, "\\U%08x", (unsigned)cp);
        i += k;
    }
    rmb_buf_append(b, &quote, 1);
}

static rmb_status print_items(jctx *c, rmb_buf *b, const jdict *d, const char *open)
{
    rmb_buf_puts(b, open);
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            rmb_buf_puts(b, ", ");
        if (jv_print(c, b, d->k[i], true))
            return c->err->status;
        rmb_buf_puts(b, ": ");
        if (jv_print(c, b, d->v[i], true))
            return c->err->status;
    }
    rmb_buf_puts(b, "}");
    return RMB_OK;
}

rmb_status jv_print(jctx *c, rmb_buf *b, jv v, bool repr_mode)
{
    if (++c->steps > JINJA_MAX_STEPS)
        return jfail(c, "the template takes too many steps (over %u)", JINJA_MAX_STEPS);
    switch (v.kind) {
    case JV_UNDEF:
        if (repr_mode)
            rmb_buf_puts(b, "Undefined");
        break;
    case JV_NONE: rmb_buf_puts(b, "None"); break;
    case JV_BOOL: rmb_buf_puts(b, v.u.b ? "True" : "False"); break;
    case JV_INT: rmb_buf_printf(b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT: print_float(b, v.u.f); break;
    case JV_STR:
        if (repr_mode)
            repr_str(b, v.u.s);
        else
            rmb_buf_append(b, v.u.s->s, v.u.s->len);
        break;
    case JV_LIST: {
        rmb_buf_puts(b, v.u.l->is_tuple ? "(" : "[");
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                rmb_buf_puts(b, ", ");
            if (jv_print(c, b, v.u.l->v[i], true))
                return c->err->status;
        }
        rmb_buf_puts(b, !v.u.l->is_tuple ? "]" : v.u.l->n == 1 ? ",)" : ")");
        break;
    }
    case JV_DICT: return print_items(c, b, v.u.d, "{");
    case JV_NS:
        if (print_items(c, b, v.u.d, "<Namespace {"))
            return c->err->status;
        rmb_buf_puts(b, ">");
        break;
    case JV_LOOP:
        rmb_buf_printf(b, "<LoopContext %zu/%zu>", v.u.loop->index0 + 1, v.u.loop->n);
        break;
    case JV_MACRO: rmb_buf_printf(b, "<Macro '%s'>", v.u.macro->node->name); break;
    case JV_FUNC: rmb_buf_puts(b, "<function>"); break;
    }
    return b->oom ? oom(c) : RMB_OK;
}

rmb_status jv_to_str(jctx *c, jv v, jv *out)
{
    if (v.kind == JV_STR) {
        *out = v;
        return RMB_OK;
    }
    rmb_buf b = {0};
    rmb_status st = jv_print(c, &b, v, false);
    if (!st)
        st = jv_str(c, b.data ? b.data : "", b.len, out);
    rmb_buf_free(&b);
    return st;
}

/* ---- len() and iteration ---- */

rmb_status jv_length(jctx *c, jv v, int64_t *n)
{
    switch (v.kind) {
    case JV_UNDEF: *n = 0; return RMB_OK;
    case JV_STR: *n = (int64_t)utf8_count(v.u.s->s, v.u.s->len); return RMB_OK;
    case JV_LIST: *n = (int64_t)v.u.l->n; return RMB_OK;
    case JV_DICT: *n = (int64_t)v.u.d->n; return RMB_OK;
    default: return jfail(c, "object of type '%s' has no len()", jv_type(v));
    }
}

rmb_status jv_iterate(jctx *c, jv v, jv **items, size_t *n)
{
    switch (v.kind) {
    case JV_UNDEF: *items = NULL, *n = 0; return RMB_OK;
    case JV_LIST: *items = v.u.l->v, *n = v.u.l->n; return RMB_OK;
    case JV_DICT: *items = v.u.d->k, *n = v.u.d->n; return RMB_OK;
    case JV_STR: {
        const jstr *s = v.u.s;
        size_t count = utf8_count(s->s, s->len);
        jv *out = jarena_alloc(c->arena, (count ? count : 1) * sizeof *out);
        if (!out)
            return oom(c);
        size_t off = 0;
        for (size_t i = 0; i < count; i++) {
            size_t next = off + utf8_offset(s->s + off, s->len - off, 1);
            if (jv_str(c, s->s + off, next - off, &out[i]))
                return c->err->status;
            off = next;
        }
        *items = out, *n = count;
        return RMB_OK;
    }
    default: return jfail(c, "'%s' object is not iterable", jv_type(v));
    }
}

/* ---- JSON ---- */

rmb_status jv_from_json(jctx *c, const json_t *j, jv *out)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (jv_dict(c, out))
            return c->err->status;
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)j, key, val) {
            jv k, v;
            if (jv_str(c, key, strlen(key), &k) || jv_from_json(c, val, &v)
                || jdict_set(c, out->u.d, k, v))
                return c->err->status;
        }
        return RMB_OK;
    }
    case JSON_ARRAY: {
        if (jv_list(c, json_array_size(j), out))
            return c->err->status;
        for (size_t i = 0; i < json_array_size(j); i++)
            if (jv_from_json(c, json_array_get(j, i), &out->u.l->v[i]))
                return c->err->status;
        return RMB_OK;
    }
    case JSON_STRING: return jv_str(c, json_string_value(j), json_string_length(j), out);
    case JSON_INTEGER: *out = jv_int(json_integer_value(j)); return RMB_OK;
    case JSON_REAL: *out = jv_float(json_real_value(j)); return RMB_OK;
    case JSON_TRUE: *out = jv_bool(true); return RMB_OK;
    case JSON_FALSE: *out = jv_bool(false); return RMB_OK;
    default: *out = jv_none(); return RMB_OK;
    }
}

static void json_put_string(rmb_buf *b, const jstr *s, bool ascii)
{
    rmb_buf_puts(b, "\"");
    for (size_t i = 0; i < s->len;) {
        unsigned char ch = (unsigned char)s->s[i];
        const char *esc = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\n' ? "\\n"
                        : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : ch == '\b' ? "\\b"
                        : ch == '\f' ? "\\f" : NULL;
        if (esc) {
            rmb_buf_puts(b, esc);
            i++;
        } else if (ch < 0x20) {
            rmb_buf_printf(b, "\\u%04x", ch);
            i++;
        } else if (ch < 0x80 || !ascii) {
            rmb_buf_append(b, s->s + i, 1);
            i++;
        } else {
            size_t k;
            int32_t cp = utf8_next(s->s + i, s->len - i, &k);
            if (cp >= 0x10000)
                rmb_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + ((cp - 0x10000) >> 10),
                               0xDC00 + ((cp - 0x10000) & 0x3FF));
            else
                rmb_buf_printf(b, "\\u%04x", (unsigned)cp);
            i += k;
        }
    }
    rmb_buf_puts(b, "\"");
}

typedef struct json_style {
    bool ascii, sort;
    int indent;
    const char *item_sep, *key_sep;
} json_style;

static void json_newline(rmb_buf *b, const json_style *st, int level)
{
    rmb_buf_puts(b, "\n");
    for (int k = 0; k < st->indent * level; k++)
        rmb_buf_puts(b, " ");
}

static rmb_status json_value(jctx *c, rmb_buf *b, jv v, const json_style *st, int level);

/* The positions of d's keys in output order (sorted when asked). */
static rmb_status key_order(jctx *c, const jdict *d, bool sort, size_t **order)
{
    size_t *o = jarena_alloc(c->arena, (d->n + 1) * sizeof *o);
    if (!o)
        return oom(c);
    for (size_t i = 0; i < d->n; i++) {
        o[i] = i;
        if (sort && d->k[i].kind != JV_STR)
            return jfail(c, "tojson: sort_keys needs string keys");
    }
    for (size_t i = 1; sort && i < d->n; i++) /* insertion sort: dicts are small */
        for (size_t j = i; j > 0; j--) {
            int cmp;
            if (jv_compare(c, d->k[o[j - 1]], d->k[o[j]], &cmp))
                return c->err->status;
            if (cmp <= 0)
                break;
            size_t t = o[j];
            o[j] = o[j - 1], o[j - 1] = t;
        }
    *order = o;
    return RMB_OK;
}

/* A dict key as json.dumps writes it: strings as is, numbers, bools and
 * None as their JSON text in quotes. */
static rmb_status json_key(jctx *c, rmb_buf *b, jv k, const json_style *st)
{
    if (k.kind == JV_STR) {
        json_put_string(b, k.u.s, st->ascii);
        return RMB_OK;
    }
    if (!is_number(k) && k.kind != JV_NONE)
        return jfail(c, "tojson: keys must be str, int, float, bool or None, not %s", jv_type(k));
    rmb_buf_puts(b, "\"");
    if (k.kind == JV_BOOL)
        rmb_buf_puts(b, k.u.b ? "true" : "false");
    else if (k.kind == JV_NONE)
        rmb_buf_puts(b, "null");
    else if (json_value(c, b, k, st, 0))
        return c->err->status;
    rmb_buf_puts(b, "\"");
    return RMB_OK;
}

static rmb_status json_container(jctx *c, rmb_buf *b, jv v, const json_style *st, int level)
{
    bool is_dict = v.kind == JV_DICT;
    size_t n = is_dict ? v.u.d->n : v.u.l->n;
    rmb_buf_puts(b, is_dict ? "{" : "[");
    if (n == 0) {
        rmb_buf_puts(b, is_dict ? "}" : "]");
        return RMB_OK;
    }
    size_t *order = NULL;
    if (is_dict && key_order(c, v.u.d, st->sort, &order))
        return c->err->status;
    for (size_t i = 0; i < n; i++) {
        if (i)
            rmb_buf_puts(b, st->item_sep);
        if (st->indent >= 0)
            json_newline(b, st, level + 1);
        if (is_dict) {
            if (json_key(c, b, v.u.d->k[order[i]], st))
                return c->err->status;
            rmb_buf_puts(b, st->key_sep);
        }
        if (json_value(c, b, is_dict ? v.u.d->v[order[i]] : v.u.l->v[i], st, level + 1))
            return c->err->status;
    }
    if (st->indent >= 0)
        json_newline(b, st, level);
    rmb_buf_puts(b, is_dict ? "}" : "]");
    return RMB_OK;
}

static rmb_status json_value(jctx *c, rmb_buf *b, jv v, const json_style *st, int level)
{
    if (level > 500)
        return jfail(c, "tojson: value nested too deeply");
    switch (v.kind) {
    case JV_NONE: rmb_buf_puts(b, "null"); break;
    case JV_BOOL: rmb_buf_puts(b, v.u.b ? "true" : "false"); break;
    case JV_INT: rmb_buf_printf(b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT:
        if (isnan(v.u.f))
            rmb_buf_puts(b, "NaN");
        else if (isinf(v.u.f))
            rmb_buf_puts(b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else
            print_float(b, v.u.f);
        break;
    case JV_STR: json_put_string(b, v.u.s, st->ascii); break;
    case JV_LIST:
    case JV_DICT: return json_container(c, b, v, st, level);
    default: return jfail(c, "tojson: Object of type %s is not JSON serializable", jv_type(v));
    }
    return RMB_OK;
}

rmb_status jv_to_json(jctx *c, rmb_buf *b, jv v, bool ascii, int indent, const char *item_sep,
                      const char *key_sep, bool sort)
{
    json_style st = {.ascii = ascii, .sort = sort, .indent = indent, .item_sep = item_sep,
                     .key_sep = key_sep};
    rmb_status s = json_value(c, b, v, &st, 0);
    return s ? s : b->oom ? oom(c) : RMB_OK;
}
