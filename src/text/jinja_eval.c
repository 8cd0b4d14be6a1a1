/* Jinja interpreter: runs the AST of jinja_parse.c against variables.
 *
 * Scoping follows jinja2: each loop iteration and each macro call gets a
 * fresh frame, so a {% set %} inside a loop body is gone at the next
 * iteration and after the loop (templates use namespace() to carry state
 * out); {% if %} opens no scope.  Lists and dicts are immutable, as in the
 * sandbox transformers uses, which lets values be shared without copies; all
 * of a render's memory is one arena, freed at the end. */
#include "text/jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define MAX_MACRO_DEPTH 64
#define RENDER_MEMORY (256u << 20)  /* bytes per render, arena and output alike */

struct jinja_template {
    jarena *arena;
    jnode *root;
};

struct jframe {
    jframe *parent;
    size_t n, cap;
    const char **names;
    jv *vals;
};

/* What a statement asks of its enclosing loop. */
typedef enum flow { FLOW_NEXT, FLOW_BREAK, FLOW_CONTINUE } flow;

rmb_status jfail(jctx *c, const char *fmt, ...)
{
    char msg[RMB_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rmb_fail(c->err, RMB_EDATA, "line %d: %s", c->line, msg);
}

static rmb_status step(jctx *c, const jnode *n)
{
    c->line = n->line;
    if (++c->steps > JINJA_MAX_STEPS)
        return jfail(c, "the template takes too many steps (over %u)", JINJA_MAX_STEPS);
    return RMB_OK;
}

/* ---- frames ---- */

static jframe *frame_new(jctx *c, jframe *parent)
{
    jframe *f = jarena_alloc(c->arena, sizeof *f);
    if (f)
        f->parent = parent;
    else
        jfail(c, "out of memory");
    return f;
}

static rmb_status frame_set(jctx *c, jframe *f, const char *name, jv v)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name)) {
            f->vals[i] = v;
            return RMB_OK;
        }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        const char **names = jarena_grow(c->arena, f->names, f->n, cap, sizeof *names);
        jv *vals = jarena_grow(c->arena, f->vals, f->n, cap, sizeof *vals);
        if (!names || !vals)
            return jfail(c, "out of memory");
        f->names = names, f->vals = vals, f->cap = cap;
    }
    f->names[f->n] = name, f->vals[f->n] = v;
    f->n++;
    return RMB_OK;
}

static jv lookup(const jctx *c, const char *name)
{
    for (const jframe *f = c->frame; f; f = f->parent)
        for (size_t i = f->n; i-- > 0;)
            if (!strcmp(f->names[i], name))
                return f->vals[i];
    int func = jbuiltin_global(name);
    if (func >= 0)
        return (jv){.kind = JV_FUNC, .u.func = func};
    return jv_undef(name);
}

/* ---- attribute and item access ---- */

static rmb_status undefined_error(jctx *c, jv v)
{
    return jfail(c, "'%s' is undefined", v.u.undef_name ? v.u.undef_name : "value");
}

static rmb_status loop_attr(jctx *c, const jloop *l, const char *name, jv *out)
{
    int64_t i = (int64_t)l->index0, n = (int64_t)l->n;
    if (!strcmp(name, "index")) *out = jv_int(i + 1);
    else if (!strcmp(name, "index0")) *out = jv_int(i);
    else if (!strcmp(name, "revindex")) *out = jv_int(n - i);
    else if (!strcmp(name, "revindex0")) *out = jv_int(n - i - 1);
    else if (!strcmp(name, "first")) *out = jv_bool(i == 0);
    else if (!strcmp(name, "last")) *out = jv_bool(i == n - 1);
    else if (!strcmp(name, "length")) *out = jv_int(n);
    else if (!strcmp(name, "depth")) *out = jv_int(1);
    else if (!strcmp(name, "depth0")) *out = jv_int(0);
    else if (!strcmp(name, "previtem")) *out = i > 0 ? l->items[i - 1] : jv_undef("previtem");
    else if (!strcmp(name, "nextitem")) *out = i + 1 < n ? l->items[i + 1] : jv_undef("nextitem");
    else *out = jv_undef(name);
    (void)c;
    return RMB_OK;
}

rmb_status jeval_getattr(jctx *c, jv obj, const char *name, jv *out)
{
    switch (obj.kind) {
    case JV_UNDEF: return undefined_error(c, obj);
    case JV_DICT:
    case JV_NS: {
        jv key;
        if (jv_str(c, name, strlen(name), &key))
            return c->err->status;
        const jv *v = jdict_get(obj.u.d, key);
        *out = v ? *v : jv_undef(name);
        return RMB_OK;
    }
    case JV_LOOP: return loop_attr(c, obj.u.loop, name, out);
    default: *out = jv_undef(name); return RMB_OK;
    }
}

/* Python's index normalization: negative counts from the end. */
static bool norm_index(jv key, size_t n, size_t *i)
{
    if (key.kind != JV_INT && key.kind != JV_BOOL)
        return false;
    int64_t k = key.kind == JV_INT ? key.u.i : key.u.b;
    if (k < 0)
        k += (int64_t)n;
    if (k < 0 || k >= (int64_t)n)
        return false;
    *i = (size_t)k;
    return true;
}

static rmb_status getitem(jctx *c, jv obj, jv key, jv *out)
{
    size_t i;
    switch (obj.kind) {
    case JV_UNDEF: return undefined_error(c, obj);
    case JV_DICT: {
        const jv *v = jdict_get(obj.u.d, key);
        *out = v ? *v : jv_undef(key.kind == JV_STR ? key.u.s->s : NULL);
        return RMB_OK;
    }
    case JV_LIST:
        *out = norm_index(key, obj.u.l->n, &i) ? obj.u.l->v[i] : jv_undef(NULL);
        return RMB_OK;
    case JV_STR: {
        const jstr *s = obj.u.s;
        if (!norm_index(key, utf8_count(s->s, s->len), &i)) {
            *out = jv_undef(NULL);
            return RMB_OK;
        }
        size_t off = utf8_offset(s->s, s->len, i);
        size_t end = off + utf8_offset(s->s + off, s->len - off, 1);
        return jv_str(c, s->s + off, end - off, out);
    }
    default:
        if (key.kind == JV_STR)
            return jeval_getattr(c, obj, key.u.s->s, out);
        *out = jv_undef(NULL);
        return RMB_OK;
    }
}

/* A slice bound: None keeps the default, ints clamp as Python's do. */
static rmb_status slice_bound(jctx *c, jv v, int64_t n, int64_t step, bool is_start, int64_t *out)
{
    if (v.kind == JV_NONE || v.kind == JV_UNDEF) {
        *out = step > 0 ? (is_start ? 0 : n) : (is_start ? n - 1 : -1);
        return RMB_OK;
    }
    if (v.kind != JV_INT && v.kind != JV_BOOL)
        return jfail(c, "slice indices must be integers or None");
    int64_t k = v.kind == JV_INT ? v.u.i : v.u.b;
    if (k < 0)
        k += n;
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1;
    *out = k < lo ? lo : k > hi ? hi : k;
    return RMB_OK;
}

static rmb_status slice(jctx *c, jv obj, jv start, jv stop, jv stepv, jv *out)
{
    if (obj.kind == JV_UNDEF)
        return undefined_error(c, obj);
    if (obj.kind != JV_LIST && obj.kind != JV_STR) { /* jinja2 turns the TypeError into undefined */
        *out = jv_undef(NULL);
        return RMB_OK;
    }
    int64_t st = 1;
    if (stepv.kind == JV_INT || stepv.kind == JV_BOOL)
        st = stepv.kind == JV_INT ? stepv.u.i : stepv.u.b;
    else if (stepv.kind != JV_NONE && stepv.kind != JV_UNDEF)
        return jfail(c, "slice indices must be integers or None");
    if (st == 0)
        return jfail(c, "slice step cannot be zero");
    jv *items;
    size_t n;
    if (jv_iterate(c, obj, &items, &n))
        return c->err->status;
    int64_t a = 0, b = 0;
    if (slice_bound(c, start, (int64_t)n, st, true, &a) || slice_bound(c, stop, (int64_t)n, st, false, &b))
        return c->err->status;
    size_t count = 0;
    for (int64_t i = a; st > 0 ? i < b : i > b; i += st)
        count++;
    jv list;
    if (jv_list(c, count, &list))
        return c->err->status;
    size_t k = 0;
    for (int64_t i = a; st > 0 ? i < b : i > b; i += st)
        list.u.l->v[k++] = items[i];
    if (obj.kind == JV_LIST) {
        list.u.l->is_tuple = obj.u.l->is_tuple;
        *out = list;
        return RMB_OK;
    }
    rmb_buf buf = {0};
    for (size_t i = 0; i < count; i++)
        rmb_buf_append(&buf, list.u.l->v[i].u.s->s, list.u.l->v[i].u.s->len);
    rmb_status s = jv_str(c, buf.data ? buf.data : "", buf.len, out);
    rmb_buf_free(&buf);
    return s;
}

/* ---- operators ---- */

static bool is_num(jv v) { return v.kind == JV_INT || v.kind == JV_BOOL || v.kind == JV_FLOAT; }
static bool is_int(jv v) { return v.kind == JV_INT || v.kind == JV_BOOL; }
static int64_t ival(jv v) { return v.kind == JV_INT ? v.u.i : v.u.b; }
static double fval(jv v) { return v.kind == JV_FLOAT ? v.u.f : (double)ival(v); }

static const char *op_symbol(int op)
{
    static const char *const s[] = {"+", "-", "*", "/", "//", "%", "**", "~"};
    return op < JOP_EQ ? s[op] : "comparison";
}

static rmb_status type_error(jctx *c, int op, jv a, jv b)
{
    return jfail(c, "unsupported operand type(s) for %s: '%s' and '%s'", op_symbol(op),
                 jv_type(a), jv_type(b));
}

static rmb_status int_arith(jctx *c, int op, int64_t x, int64_t y, jv *out)
{
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case JOP_ADD: overflow = __builtin_add_overflow(x, y, &r); break;
    case JOP_SUB: overflow = __builtin_sub_overflow(x, y, &r); break;
    case JOP_MUL: overflow = __builtin_mul_overflow(x, y, &r); break;
    case JOP_FLOORDIV:
    case JOP_MOD:
        if (y == 0)
            return jfail(c, "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) {
            overflow = op == JOP_FLOORDIV;
            break;
        }
        r = op == JOP_FLOORDIV ? x / y - ((x % y != 0) && ((x < 0) != (y < 0)))
                               : (x % y + (x % y != 0 && (x < 0) != (y < 0) ? y : 0));
        break;
    case JOP_POW: {
        if (y < 0) {
            *out = jv_float(pow((double)x, (double)y));
            return RMB_OK;
        }
        int64_t base = x;
        r = 1;
        for (int64_t e = y; e > 0 && !overflow;) { /* by squaring, overflow checked */
            if (e & 1)
                overflow = __builtin_mul_overflow(r, base, &r);
            e >>= 1;
            if (e && !overflow)
                overflow = __builtin_mul_overflow(base, base, &base);
        }
        break;
    }
    }
    if (overflow)
        return jfail(c, "integer result out of range");
    *out = jv_int(r);
    return RMB_OK;
}

static rmb_status float_arith(jctx *c, int op, double x, double y, jv *out)
{
    double r;
    switch (op) {
    case JOP_ADD: r = x + y; break;
    case JOP_SUB: r = x - y; break;
    case JOP_MUL: r = x * y; break;
    case JOP_DIV:
        if (y == 0)
            return jfail(c, "division by zero");
        r = x / y;
        break;
    case JOP_FLOORDIV:
    case JOP_MOD: {
        if (y == 0)
            return jfail(c, "float division by zero");
        double m = fmod(x, y);
        if (m != 0 && (m < 0) != (y < 0))
            m += y;
        r = op == JOP_MOD ? m : floor((x - m) / y + 0.5);
        break;
    }
    default: r = pow(x, y); break;
    }
    *out = jv_float(r);
    return RMB_OK;
}

/* s * n, or list * n. */
static rmb_status repeat(jctx *c, jv seq, int64_t times, jv *out)
{
    if (times < 0)
        times = 0;
    size_t unit = seq.kind == JV_STR ? seq.u.s->len : seq.u.l->n;
    if (unit && (uint64_t)times > (RENDER_MEMORY / 16) / unit)
        return jfail(c, "repeated sequence too long");
    size_t total = unit * (size_t)times;
    if (seq.kind == JV_STR) {
        char *buf = jarena_alloc(c->arena, total + 1);
        if (!buf)
            return jfail(c, "out of memory");
        for (int64_t k = 0; k < times; k++)
            memcpy(buf + (size_t)k * unit, seq.u.s->s, unit);
        return jv_str(c, buf, total, out);
    }
    if (jv_list(c, total, out))
        return c->err->status;
    for (size_t k = 0; k < total; k++)
        out->u.l->v[k] = seq.u.l->v[k % unit];
    out->u.l->is_tuple = seq.u.l->is_tuple;
    return RMB_OK;
}

static rmb_status concat_seq(jctx *c, jv a, jv b, jv *out)
{
    if (a.kind == JV_STR) {
        char *buf = jarena_alloc(c->arena, a.u.s->len + b.u.s->len + 1);
        if (!buf)
            return jfail(c, "out of memory");
        memcpy(buf, a.u.s->s, a.u.s->len);
        memcpy(buf + a.u.s->len, b.u.s->s, b.u.s->len);
        return jv_str(c, buf, a.u.s->len + b.u.s->len, out);
    }
    if (jv_list(c, a.u.l->n + b.u.l->n, out))
        return c->err->status;
    if (a.u.l->n)
        memcpy(out->u.l->v, a.u.l->v, a.u.l->n * sizeof(jv));
    if (b.u.l->n)
        memcpy(out->u.l->v + a.u.l->n, b.u.l->v, b.u.l->n * sizeof(jv));
    out->u.l->is_tuple = a.u.l->is_tuple;
    return RMB_OK;
}

rmb_status jv_contains(jctx *c, jv needle, jv hay, bool *out)
{
    switch (hay.kind) {
    case JV_UNDEF: *out = false; return RMB_OK;
    case JV_STR:
        if (needle.kind != JV_STR)
            return jfail(c, "'in <string>' requires string as left operand, not %s",
                         jv_type(needle));
        *out = memmem(hay.u.s->s, hay.u.s->len, needle.u.s->s, needle.u.s->len) != NULL;
        return RMB_OK;
    case JV_LIST:
        *out = false;
        for (size_t i = 0; i < hay.u.l->n && !*out; i++)
            *out = jv_equal(hay.u.l->v[i], needle);
        return RMB_OK;
    case JV_DICT:
        if (needle.kind == JV_DICT || (needle.kind == JV_LIST && !needle.u.l->is_tuple))
            return jfail(c, "unhashable type: '%s'", jv_type(needle));
        *out = jdict_get(hay.u.d, needle) != NULL;
        return RMB_OK;
    default: return jfail(c, "argument of type '%s' is not iterable", jv_type(hay));
    }
}

rmb_status jeval_binop(jctx *c, int op, jv a, jv b, jv *out)
{
    if (op == JOP_CONCAT) {
        jv sa, sb;
        if (jv_to_str(c, a, &sa) || jv_to_str(c, b, &sb))
            return c->err->status;
        return concat_seq(c, sa, sb, out);
    }
    if (op >= JOP_EQ) {
        bool r;
        int cmp;
        switch (op) {
        case JOP_EQ: r = jv_equal(a, b); break;
        case JOP_NE: r = !jv_equal(a, b); break;
        case JOP_IN:
        case JOP_NOTIN:
            if (jv_contains(c, a, b, &r))
                return c->err->status;
            r = op == JOP_IN ? r : !r;
            break;
        default:
            if (a.kind == JV_UNDEF || b.kind == JV_UNDEF)
                return undefined_error(c, a.kind == JV_UNDEF ? a : b);
            if (jv_compare(c, a, b, &cmp))
                return c->err->status;
            r = op == JOP_LT ? cmp < 0 : op == JOP_LE ? cmp <= 0 : op == JOP_GT ? cmp > 0 : cmp >= 0;
        }
        *out = jv_bool(r);
        return RMB_OK;
    }
    if (a.kind == JV_UNDEF || b.kind == JV_UNDEF)
        return undefined_error(c, a.kind == JV_UNDEF ? a : b);
    if (is_num(a) && is_num(b)) {
        if (is_int(a) && is_int(b) && op != JOP_DIV)
            return int_arith(c, op, ival(a), ival(b), out);
        return float_arith(c, op, fval(a), fval(b), out);
    }
    bool same_seq = a.kind == b.kind && (a.kind == JV_STR
                                         || (a.kind == JV_LIST && a.u.l->is_tuple == b.u.l->is_tuple));
    if (op == JOP_ADD && same_seq)
        return concat_seq(c, a, b, out);
    if (op == JOP_MUL && (a.kind == JV_STR || a.kind == JV_LIST) && is_int(b))
        return repeat(c, a, ival(b), out);
    if (op == JOP_MUL && (b.kind == JV_STR || b.kind == JV_LIST) && is_int(a))
        return repeat(c, b, ival(a), out);
    if (op == JOP_MOD && a.kind == JV_STR)
        return jfail(c, "printf-style string formatting (%%) is not supported");
    return type_error(c, op, a, b);
}

/* ---- expressions ---- */

static rmb_status eval(jctx *c, const jnode *n, jv *out);

/* Evaluates a call's arguments into args (arena memory), spreading
 * *list and **dict. */
static rmb_status eval_args(jctx *c, const jnode *n, jargs *args)
{
    jv spread, kwspread = jv_none();
    jv *more = NULL;
    size_t n_more = 0, n_kwmore = 0;
    if (n->b && (eval(c, n->b, &spread) || jv_iterate(c, spread, &more, &n_more)))
        return c->err->status;
    if (n->c) {
        if (eval(c, n->c, &kwspread))
            return c->err->status;
        if (kwspread.kind != JV_DICT)
            return jfail(c, "**kwargs must be a dict, not %s", jv_type(kwspread));
        n_kwmore = kwspread.u.d->n;
    }
    jv *pos = jarena_alloc(c->arena, (n->n_kids + n_more + 1) * sizeof *pos);
    jv *kw = jarena_alloc(c->arena, (n->n_kids2 + n_kwmore + 1) * sizeof *kw);
    const char **names = jarena_alloc(c->arena, (n->n_kids2 + n_kwmore + 1) * sizeof *names);
    if (!pos || !kw || !names)
        return jfail(c, "out of memory");
    for (size_t i = 0; i < n->n_kids; i++)
        if (eval(c, n->kids[i], &pos[i]))
            return c->err->status;
    if (n_more)
        memcpy(pos + n->n_kids, more, n_more * sizeof *pos);
    for (size_t i = 0; i < n->n_kids2; i++) {
        names[i] = n->names[i];
        if (eval(c, n->kids2[i], &kw[i]))
            return c->err->status;
    }
    for (size_t i = 0; i < n_kwmore; i++) {
        if (kwspread.u.d->k[i].kind != JV_STR)
            return jfail(c, "keywords must be strings");
        names[n->n_kids2 + i] = kwspread.u.d->k[i].u.s->s;
        kw[n->n_kids2 + i] = kwspread.u.d->v[i];
    }
    *args = (jargs){pos, n->n_kids + n_more, names, kw, n->n_kids2 + n_kwmore};
    return RMB_OK;
}

static rmb_status exec_body(jctx *c, rmb_buf *out, jnode *const *kids, size_t n, flow *fl);

/* Renders a body into a fresh string value. */
static rmb_status render_to_value(jctx *c, jnode *const *kids, size_t n, jv *out)
{
    rmb_buf buf = {0};
    flow fl = FLOW_NEXT;
    rmb_status st = exec_body(c, &buf, kids, n, &fl);
    if (!st && buf.oom)
        st = jfail(c, "out of memory");
    if (!st)
        st = jv_str(c, buf.data ? buf.data : "", buf.len, out);
    rmb_buf_free(&buf);
    return st;
}

/* Calls a macro; caller (if not NULL) is bound as the macro's caller(). */
static rmb_status call_macro(jctx *c, const jmacro *mac, const jargs *args, const jv *caller,
                             jv *out)
{
    const jnode *m = mac->node;
    if (args->n_pos > m->n_names)
        return jfail(c, "macro '%s' takes not more than %zu argument(s)", m->name, m->n_names);
    if (c->depth >= MAX_MACRO_DEPTH)
        return jfail(c, "macro calls nested too deeply");
    jframe *f = frame_new(c, mac->closure), *saved = c->frame;
    if (!f)
        return c->err->status;
    c->frame = f;
    rmb_status st = caller ? frame_set(c, f, "caller", *caller) : RMB_OK;
    for (size_t i = 0; i < m->n_names && !st; i++) {
        jv v = jv_undef(m->names[i]);
        bool given = i < args->n_pos;
        if (given)
            v = args->pos[i];
        for (size_t k = 0; k < args->n_kw; k++)
            if (!strcmp(args->kw_names[k], m->names[i]))
                v = args->kw[k], given = true;
        if (!given && m->kids2[i])
            st = eval(c, m->kids2[i], &v);
        if (!st)
            st = frame_set(c, f, m->names[i], v);
    }
    for (size_t k = 0; k < args->n_kw && !st; k++) {
        bool known = false;
        for (size_t i = 0; i < m->n_names; i++)
            known |= !strcmp(args->kw_names[k], m->names[i]);
        if (!known)
            st = jfail(c, "macro '%s' takes no keyword argument '%s'", m->name, args->kw_names[k]);
    }
    c->depth++;
    if (!st)
        st = render_to_value(c, m->kids, m->n_kids, out);
    c->depth--;
    c->frame = saved;
    return st;
}

rmb_status jeval_call_value(jctx *c, jv fn, const jargs *args, jv *out)
{
    switch (fn.kind) {
    case JV_MACRO: return call_macro(c, fn.u.macro, args, NULL, out);
    case JV_FUNC: return jbuiltin_call(c, fn.u.func, args, out);
    case JV_UNDEF: return undefined_error(c, fn);
    default: return jfail(c, "'%s' object is not callable", jv_type(fn));
    }
}

static rmb_status eval_call(jctx *c, const jnode *n, jv *out)
{
    jargs args;
    jv fn;
    if (n->a->kind == JN_ATTR) {
        jv obj;
        bool found;
        if (eval(c, n->a->a, &obj) || eval_args(c, n, &args))
            return c->err->status;
        c->line = n->line;
        if (jbuiltin_method(c, obj, n->a->name, &args, out, &found))
            return c->err->status;
        if (found)
            return RMB_OK;
        if (jeval_getattr(c, obj, n->a->name, &fn))
            return c->err->status;
    } else if (eval(c, n->a, &fn) || eval_args(c, n, &args)) {
        return c->err->status;
    }
    c->line = n->line;
    return jeval_call_value(c, fn, &args, out);
}

static rmb_status eval_seq(jctx *c, const jnode *n, jv *out)
{
    if (jv_list(c, n->n_kids, out))
        return c->err->status;
    out->u.l->is_tuple = n->kind == JN_TUPLE;
    for (size_t i = 0; i < n->n_kids; i++)
        if (eval(c, n->kids[i], &out->u.l->v[i]))
            return c->err->status;
    return RMB_OK;
}

static rmb_status eval_dict(jctx *c, const jnode *n, jv *out)
{
    if (jv_dict(c, out))
        return c->err->status;
    for (size_t i = 0; i < n->n_kids; i++) {
        jv k, v;
        if (eval(c, n->kids[i], &k) || eval(c, n->kids2[i], &v))
            return c->err->status;
        if (k.kind == JV_LIST && !k.u.l->is_tuple)
            return jfail(c, "unhashable type: 'list'");
        if (k.kind == JV_DICT)
            return jfail(c, "unhashable type: 'dict'");
        if (jdict_set(c, out->u.d, k, v))
            return c->err->status;
    }
    return RMB_OK;
}

static rmb_status eval_slice(jctx *c, const jnode *n, jv *out)
{
    jv obj, parts[3];
    if (eval(c, n->a, &obj))
        return c->err->status;
    for (int k = 0; k < 3; k++) {
        parts[k] = jv_none();
        if (n->kids[k] && eval(c, n->kids[k], &parts[k]))
            return c->err->status;
    }
    c->line = n->line;
    return slice(c, obj, parts[0], parts[1], parts[2], out);
}

static rmb_status eval_unary(jctx *c, const jnode *n, jv *out)
{
    jv v;
    if (eval(c, n->a, &v))
        return c->err->status;
    c->line = n->line;
    if (n->kind == JN_NOT) {
        *out = jv_bool(!jv_truthy(v));
        return RMB_OK;
    }
    if (v.kind == JV_UNDEF)
        return undefined_error(c, v);
    if (!is_num(v))
        return jfail(c, "bad operand type for unary %s: '%s'", n->kind == JN_NEG ? "-" : "+",
                     jv_type(v));
    if (n->kind == JN_POS)
        *out = v.kind == JV_BOOL ? jv_int(v.u.b) : v;
    else if (v.kind == JV_FLOAT)
        *out = jv_float(-v.u.f);
    else if (ival(v) == INT64_MIN)
        return jfail(c, "integer result out of range");
    else
        *out = jv_int(-ival(v));
    return RMB_OK;
}

static rmb_status eval_filter_or_test(jctx *c, const jnode *n, jv *out)
{
    jv v;
    jargs args;
    if (eval(c, n->a, &v) || eval_args(c, n, &args))
        return c->err->status;
    c->line = n->line;
    if (n->kind == JN_FILTER)
        return jbuiltin_filter(c, n->name, v, &args, out);
    bool r;
    if (jbuiltin_test(c, n->name, v, &args, &r))
        return c->err->status;
    *out = jv_bool(n->op ? !r : r);
    return RMB_OK;
}

static rmb_status eval(jctx *c, const jnode *n, jv *out)
{
    if (step(c, n))
        return c->err->status;
    jv a, b;
    switch (n->kind) {
    case JN_CONST: *out = n->value; return RMB_OK;
    case JN_NAME: *out = lookup(c, n->name); return RMB_OK;
    case JN_LIST:
    case JN_TUPLE: return eval_seq(c, n, out);
    case JN_DICT: return eval_dict(c, n, out);
    case JN_ATTR:
        if (eval(c, n->a, &a))
            return c->err->status;
        c->line = n->line;
        return jeval_getattr(c, a, n->name, out);
    case JN_ITEM:
        if (eval(c, n->a, &a) || eval(c, n->b, &b))
            return c->err->status;
        c->line = n->line;
        return getitem(c, a, b, out);
    case JN_SLICE: return eval_slice(c, n, out);
    case JN_CALL: return eval_call(c, n, out);
    case JN_FILTER:
    case JN_TEST: return eval_filter_or_test(c, n, out);
    case JN_NOT:
    case JN_NEG:
    case JN_POS: return eval_unary(c, n, out);
    case JN_BINOP:
        if (eval(c, n->a, &a) || eval(c, n->b, &b))
            return c->err->status;
        c->line = n->line;
        return jeval_binop(c, n->op, a, b, out);
    case JN_AND:
    case JN_OR:
        if (eval(c, n->a, &a))
            return c->err->status;
        if (jv_truthy(a) == (n->kind == JN_OR)) {
            *out = a;
            return RMB_OK;
        }
        return eval(c, n->b, out);
    case JN_COND:
        if (eval(c, n->b, &a))
            return c->err->status;
        if (jv_truthy(a))
            return eval(c, n->a, out);
        if (n->c)
            return eval(c, n->c, out);
        *out = jv_undef(NULL);
        return RMB_OK;
    default: return jfail(c, "internal error: statement used as an expression");
    }
}

/* ---- statements ---- */

/* Binds names to v, unpacking it when there are several (or parentheses). */
static rmb_status assign(jctx *c, const jnode *n, jv v)
{
    if (!n->op)
        return frame_set(c, c->frame, n->names[0], v);
    jv *items;
    size_t count;
    if (jv_iterate(c, v, &items, &count))
        return c->err->status;
    if (count != n->n_names)
        return jfail(c, "cannot unpack %zu values into %zu names", count, n->n_names);
    for (size_t i = 0; i < count; i++)
        if (frame_set(c, c->frame, n->names[i], items[i]))
            return c->err->status;
    return RMB_OK;
}

/* The items a for loop visits, after its "if" filter. */
static rmb_status loop_items(jctx *c, const jnode *n, jv **items, size_t *count)
{
    jv seq;
    if (eval(c, n->a, &seq))
        return c->err->status;
    c->line = n->line;
    if (jv_iterate(c, seq, items, count))
        return c->err->status;
    if (!n->b)
        return RMB_OK;
    jv *kept = jarena_alloc(c->arena, (*count + 1) * sizeof *kept);
    if (!kept)
        return jfail(c, "out of memory");
    size_t k = 0;
    jframe *saved = c->frame, *f = frame_new(c, saved);
    if (!f)
        return c->err->status;
    c->frame = f;
    for (size_t i = 0; i < *count; i++) {
        jv ok;
        f->n = 0; /* a fresh scope for each item, its memory reused */
        if (assign(c, n, (*items)[i]) || eval(c, n->b, &ok)) {
            c->frame = saved;
            return c->err->status;
        }
        if (jv_truthy(ok))
            kept[k++] = (*items)[i];
    }
    c->frame = saved;
    *items = kept, *count = k;
    return RMB_OK;
}

static rmb_status exec_for(jctx *c, rmb_buf *out, const jnode *n)
{
    jv *items;
    size_t count;
    if (loop_items(c, n, &items, &count))
        return c->err->status;
    jframe *saved = c->frame, *f = frame_new(c, saved);
    jloop *state = jarena_alloc(c->arena, sizeof *state);
    if (!f || !state)
        return jfail(c, "out of memory");
    state->items = items, state->n = count;
    rmb_status st = RMB_OK;
    for (size_t i = 0; i < count && !st; i++) {
        state->index0 = i;
        flow fl = FLOW_NEXT;
        c->line = n->line;
        if (++c->steps > JINJA_MAX_STEPS)
            st = jfail(c, "the template takes too many steps (over %u)", JINJA_MAX_STEPS);
        f->n = 0; /* a fresh scope for each iteration, its memory reused */
        c->frame = f;
        if (!st)
            st = frame_set(c, c->frame, "loop", (jv){.kind = JV_LOOP, .u.loop = state});
        if (!st)
            st = assign(c, n, items[i]);
        if (!st)
            st = exec_body(c, out, n->kids, n->n_kids, &fl);
        c->frame = saved;
        if (fl == FLOW_BREAK)
            break;
    }
    if (!st && count == 0 && n->n_kids2) {
        flow fl = FLOW_NEXT;
        f->n = 0;
        c->frame = f;
        st = exec_body(c, out, n->kids2, n->n_kids2, &fl);
        c->frame = saved;
    }
    return st;
}

static rmb_status exec_set(jctx *c, const jnode *n)
{
    jv v;
    if (n->kind == JN_SET_BLOCK) {
        if (render_to_value(c, n->kids, n->n_kids, &v))
            return c->err->status;
        return frame_set(c, c->frame, n->names[0], v);
    }
    if (eval(c, n->a, &v))
        return c->err->status;
    c->line = n->line;
    if (!n->name)
        return assign(c, n, v);
    jv ns = lookup(c, n->names[0]), key;
    if (ns.kind != JV_NS)
        return jfail(c, "cannot assign attribute on non-namespace object '%s'", n->names[0]);
    if (jv_str(c, n->name, strlen(n->name), &key))
        return c->err->status;
    return jdict_set(c, ns.u.d, key, v);
}

static rmb_status exec_filter_block(jctx *c, rmb_buf *out, const jnode *n)
{
    jv body, result;
    jv *pos = jarena_alloc(c->arena, (n->n_kids2 + 1) * sizeof *pos);
    if (!pos)
        return jfail(c, "out of memory");
    for (size_t i = 0; i < n->n_kids2; i++)
        if (eval(c, n->kids2[i], &pos[i]))
            return c->err->status;
    if (render_to_value(c, n->kids, n->n_kids, &body))
        return c->err->status;
    jargs args = {pos, n->n_kids2, NULL, NULL, 0};
    c->line = n->line;
    if (jbuiltin_filter(c, n->name, body, &args, &result))
        return c->err->status;
    return jv_print(c, out, result, false);
}

/* {% call m(args) %}: m is called with caller() rendering the block. */
static rmb_status exec_call_block(jctx *c, rmb_buf *out, const jnode *n, jv caller)
{
    jv fn, result;
    jargs args;
    if (eval(c, n->a->a, &fn) || eval_args(c, n->a, &args))
        return c->err->status;
    c->line = n->line;
    if (fn.kind != JV_MACRO)
        return jfail(c, "a call block needs a macro, not %s", jv_type(fn));
    if (call_macro(c, fn.u.macro, &args, &caller, &result))
        return c->err->status;
    return jv_print(c, out, result, false);
}

static rmb_status exec(jctx *c, rmb_buf *out, const jnode *n, flow *fl)
{
    if (step(c, n))
        return c->err->status;
    jv v;
    switch (n->kind) {
    case JN_TEXT: rmb_buf_append(out, n->value.u.s->s, n->value.u.s->len); break;
    case JN_OUTPUT:
        if (eval(c, n->a, &v) || jv_print(c, out, v, false))
            return c->err->status;
        break;
    case JN_IF:
        if (eval(c, n->a, &v))
            return c->err->status;
        if (jv_truthy(v))
            return exec_body(c, out, n->kids, n->n_kids, fl);
        return exec_body(c, out, n->kids2, n->n_kids2, fl);
    case JN_FOR: return exec_for(c, out, n);
    case JN_SET:
    case JN_SET_BLOCK: return exec_set(c, n);
    case JN_MACRO:
    case JN_CALL_BLOCK: {
        jmacro *m = jarena_alloc(c->arena, sizeof *m);
        if (!m)
            return jfail(c, "out of memory");
        m->node = n, m->closure = c->frame;
        v = (jv){.kind = JV_MACRO, .u.macro = m};
        if (n->kind == JN_MACRO)
            return frame_set(c, c->frame, n->name, v);
        return exec_call_block(c, out, n, v);
    }
    case JN_FILTER_BLOCK: return exec_filter_block(c, out, n);
    case JN_BREAK: *fl = FLOW_BREAK; break;
    case JN_CONTINUE: *fl = FLOW_CONTINUE; break;
    default: return jfail(c, "internal error: expression used as a statement");
    }
    if (out->oom || out->len > RENDER_MEMORY)
        return jfail(c, "out of memory (the output is over %u bytes)", RENDER_MEMORY);
    return RMB_OK;
}

static rmb_status exec_body(jctx *c, rmb_buf *out, jnode *const *kids, size_t n, flow *fl)
{
    for (size_t i = 0; i < n && *fl == FLOW_NEXT; i++)
        if (exec(c, out, kids[i], fl))
            return c->err->status;
    return RMB_OK;
}

/* ---- API ---- */

static bool valid_utf8(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        int32_t cp;
        utf8proc_ssize_t k = 0;
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80) {
            i++;
            continue;
        }
        k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0)
            return false;
        i += (size_t)k;
    }
    return true;
}

rmb_status jinja_parse(jinja_template **out, const char *source, size_t len, rmb_error *err)
{
    *out = NULL;
    if (!valid_utf8(source, len))
        return rmb_fail(err, RMB_EDATA, "the template is not valid UTF-8");
    if (memchr(source, 0, len))
        return rmb_fail(err, RMB_EDATA, "the template contains a NUL byte");
    jinja_template *t = calloc(1, sizeof *t);
    if (!t || !(t->arena = jarena_new(0))) {
        free(t);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    jtok *toks;
    size_t n;
    if (jinja_lex(t->arena, source, len, &toks, &n, err)
        || jinja_parse_tokens(t->arena, toks, n, &t->root, err)) {
        jinja_free(t);
        return err->status;
    }
    *out = t;
    return RMB_OK;
}

void jinja_free(jinja_template *t)
{
    if (!t)
        return;
    jarena_free(t->arena);
    free(t);
}

static rmb_status load_vars(jctx *c, const json_t *vars)
{
    if (!vars)
        return RMB_OK;
    if (!json_is_object(vars))
        return jfail(c, "template variables must be a JSON object");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)vars, key, val) {
        jv v;
        char *name = jarena_alloc(c->arena, strlen(key) + 1);
        if (!name)
            return jfail(c, "out of memory");
        strcpy(name, key);
        if (jv_from_json(c, val, &v) || frame_set(c, c->globals, name, v))
            return c->err->status;
    }
    return RMB_OK;
}

rmb_status jinja_render(const jinja_template *t, const json_t *globals, const json_t *vars,
                        char **text, size_t *len, rmb_error *err)
{
    *text = NULL;
    jctx c = {.err = err, .line = 1};
    if (!(c.arena = jarena_new(RENDER_MEMORY)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_buf out = {0};
    flow fl = FLOW_NEXT;
    rmb_status st = RMB_OK;
    if (!(c.globals = c.frame = frame_new(&c, NULL)) || load_vars(&c, globals)
        || load_vars(&c, vars) || exec_body(&c, &out, t->root->kids, t->root->n_kids, &fl))
        st = err->status;
    if (!st && !out.data)
        rmb_buf_puts(&out, "");
    if (!st && out.oom)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    jarena_free(c.arena);
    if (st) {
        rmb_buf_free(&out);
        return st;
    }
    *len = out.len;
    *text = rmb_buf_take(&out);
    return RMB_OK;
}
