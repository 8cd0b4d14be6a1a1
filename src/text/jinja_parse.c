/* Jinja parser: tokens to an AST, by recursive descent with jinja2's
 * precedence (lowest first): x if c else y, or, and, not, comparisons and
 * in, + -, ~, * / // %, **, unary - +, then postfix (.attr, [i], [a:b:c],
 * calls) and filters/tests (| f, is t), which bind tighter than any binary
 * operator: 'a' + x | trim is 'a' + (x | trim).
 *
 * Node members by kind:
 *   JN_TEXT value          JN_OUTPUT a          JN_IF a kids kids2(else)
 *   JN_FOR names(targets) op(1: unpack) a(iterable) b(filter) kids kids2(else)
 *   JN_SET names(targets) op(1: unpack) name(ns attribute, or NULL) a
 *   JN_SET_BLOCK names[0] kids        JN_FILTER_BLOCK name kids2(args) kids(body)
 *   JN_MACRO name names(params) kids2(defaults, NULL-padded) kids(body)
 *   JN_CONST value  JN_NAME name  JN_LIST/JN_TUPLE kids  JN_DICT kids(keys) kids2(values)
 *   JN_ATTR a name  JN_ITEM a b  JN_SLICE a kids[3](start, stop, step; NULL if absent)
 *   JN_CALL a kids(positional) names+kids2(keyword) b(*args) c(**kwargs)
 *   JN_CALL_BLOCK a(the JN_CALL) kids(the caller's body) name("caller")
 *   JN_FILTER/JN_TEST a name kids names+kids2, op(1: "is not")
 *   JN_NOT/JN_NEG/JN_POS a   JN_BINOP op a b   JN_AND/JN_OR a b   JN_COND a b(cond) c */
#include "text/jinja.h"

#include <string.h>

#define MAX_DEPTH 200

typedef struct parser {
    jarena *arena;
    const jtok *t;
    size_t n, pos;
    int depth;      /* expression nesting, bounded against stack exhaustion */
    int loop_depth; /* for break/continue */
    rmb_error *err;
} parser;

/* Growable node arrays while parsing. */
typedef struct nodes {
    jnode **v;
    size_t n, cap;
} nodes;

static const jtok *cur(const parser *p) { return &p->t[p->pos]; }
static const jtok *peek(const parser *p, size_t k)
{
    return p->pos + k < p->n ? &p->t[p->pos + k] : &p->t[p->n - 1];
}

static bool is_op(const jtok *t, const char *op) { return t->kind == JT_OP && !strcmp(t->s, op); }
static bool is_name(const jtok *t, const char *name)
{
    return t->kind == JT_NAME && !strcmp(t->s, name);
}

static const char *describe(const jtok *t)
{
    switch (t->kind) {
    case JT_EOF: return "end of template";
    case JT_TEXT: return "template text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "'}}'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "'%}'";
    case JT_STRING: return "string";
    case JT_INT: return "integer";
    case JT_FLOAT: return "float";
    default: return t->s;
    }
}

static rmb_status fail_at(parser *p, const char *what)
{
    return rmb_fail(p->err, RMB_EDATA, "line %d: %s (at %s)", cur(p)->line, what, describe(cur(p)));
}

static jnode *new_node(parser *p, jnode_kind kind, int line)
{
    jnode *n = jarena_alloc(p->arena, sizeof *n);
    if (n)
        n->kind = kind, n->line = line;
    else
        rmb_fail(p->err, RMB_ENOMEM, "out of memory");
    return n;
}

static rmb_status nodes_push(parser *p, nodes *ns, jnode *n)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 8;
        jnode **v = jarena_grow(p->arena, ns->v, ns->n, cap, sizeof *v);
        if (!v)
            return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
        ns->v = v, ns->cap = cap;
    }
    ns->v[ns->n++] = n;
    return RMB_OK;
}

static rmb_status expect_op(parser *p, const char *op)
{
    if (!is_op(cur(p), op)) {
        char what[64];
        snprintf(what, sizeof what, "expected '%s'", op);
        return fail_at(p, what);
    }
    p->pos++;
    return RMB_OK;
}

static rmb_status expect_block_end(parser *p)
{
    if (cur(p)->kind != JT_BLOCK_END)
        return fail_at(p, "expected end of statement '%}'");
    p->pos++;
    return RMB_OK;
}

static rmb_status parse_expr(parser *p, jnode **out);
static rmb_status parse_or(parser *p, jnode **out);
static rmb_status parse_unary(parser *p, bool with_filter, jnode **out);
static rmb_status parse_primary(parser *p, jnode **out);
static rmb_status parse_postfix(parser *p, jnode **node);

/* Positional and keyword arguments up to ')'; the '(' is consumed. */
static rmb_status parse_args(parser *p, jnode *call)
{
    nodes pos = {0}, kw = {0};
    const char **names = NULL;
    size_t n_names = 0;
    while (!is_op(cur(p), ")")) {
        if ((pos.n + kw.n > 0 || call->b || call->c) && expect_op(p, ","))
            return p->err->status;
        if (is_op(cur(p), ")"))
            break;
        jnode *arg;
        if (is_op(cur(p), "*") || is_op(cur(p), "**")) { /* f(*list, **dict) */
            jnode **slot = cur(p)->s[1] ? &call->c : &call->b;
            if (*slot)
                return fail_at(p, "more than one *args or **kwargs");
            p->pos++;
            if (parse_expr(p, slot))
                return p->err->status;
            continue;
        }
        if (call->b || call->c)
            return fail_at(p, "an argument after *args or **kwargs");
        if (cur(p)->kind == JT_NAME && is_op(peek(p, 1), "=")) {
            const char **grown = jarena_grow(p->arena, names, n_names, n_names + 1, sizeof *grown);
            if (!grown)
                return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
            grown[n_names++] = cur(p)->s;
            names = grown;
            p->pos += 2;
            if (parse_expr(p, &arg) || nodes_push(p, &kw, arg))
                return p->err->status;
        } else {
            if (kw.n)
                return fail_at(p, "positional argument after keyword argument");
            if (parse_expr(p, &arg) || nodes_push(p, &pos, arg))
                return p->err->status;
        }
    }
    p->pos++;
    call->kids = pos.v, call->n_kids = pos.n;
    call->kids2 = kw.v, call->n_kids2 = kw.n;
    call->names = names, call->n_names = n_names;
    return RMB_OK;
}

/* Comma-separated expressions up to the closing bracket `close`. */
static rmb_status parse_items(parser *p, const char *close, nodes *items, nodes *values)
{
    while (!is_op(cur(p), close)) {
        if (items->n && expect_op(p, ","))
            return p->err->status;
        if (is_op(cur(p), close))
            break;
        jnode *e;
        if (parse_expr(p, &e) || nodes_push(p, items, e))
            return p->err->status;
        if (values && (expect_op(p, ":") || parse_expr(p, &e) || nodes_push(p, values, e)))
            return p->err->status;
    }
    p->pos++;
    return RMB_OK;
}

static rmb_status parse_const(parser *p, jnode **out, jv value)
{
    jnode *n = new_node(p, JN_CONST, cur(p)->line);
    if (!n)
        return RMB_ENOMEM;
    n->value = value;
    *out = n;
    return RMB_OK;
}

/* Adjacent string literals join, as in Python. */
static rmb_status parse_string(parser *p, jnode **out)
{
    size_t total = 0, start = p->pos;
    for (size_t k = start; k < p->n && p->t[k].kind == JT_STRING; k++)
        total += p->t[k].len;
    jstr *s = jarena_alloc(p->arena, sizeof *s + total + 1);
    if (!s)
        return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
    for (; cur(p)->kind == JT_STRING; p->pos++) {
        memcpy(s->s + s->len, cur(p)->s, cur(p)->len);
        s->len += cur(p)->len;
    }
    p->pos--; /* parse_const reads the line of the last one */
    jv v = {.kind = JV_STR, .u.s = s};
    rmb_status st = parse_const(p, out, v);
    p->pos++;
    return st;
}

static rmb_status parse_primary(parser *p, jnode **out)
{
    const jtok *t = cur(p);
    int line = t->line;
    if (t->kind == JT_STRING)
        return parse_string(p, out);
    if (t->kind == JT_INT || t->kind == JT_FLOAT) {
        rmb_status st = parse_const(p, out, t->kind == JT_INT ? jv_int(t->i) : jv_float(t->f));
        p->pos++;
        return st;
    }
    if (t->kind == JT_NAME) {
        rmb_status st;
        if (is_name(t, "true") || is_name(t, "True"))
            st = parse_const(p, out, jv_bool(true));
        else if (is_name(t, "false") || is_name(t, "False"))
            st = parse_const(p, out, jv_bool(false));
        else if (is_name(t, "none") || is_name(t, "None"))
            st = parse_const(p, out, jv_none());
        else if ((*out = new_node(p, JN_NAME, line)) != NULL)
            (*out)->name = t->s, st = RMB_OK;
        else
            st = RMB_ENOMEM;
        p->pos++;
        return st;
    }
    if (is_op(t, "(")) {
        p->pos++;
        nodes items = {0};
        bool trailing_comma = false;
        while (!is_op(cur(p), ")")) {
            if (items.n && expect_op(p, ","))
                return p->err->status;
            if ((trailing_comma = is_op(cur(p), ")")))
                break;
            jnode *e;
            if (parse_expr(p, &e) || nodes_push(p, &items, e))
                return p->err->status;
        }
        p->pos++;
        if (items.n == 1 && !trailing_comma) {
            *out = items.v[0];
            return RMB_OK;
        }
        if (!(*out = new_node(p, JN_TUPLE, line)))
            return RMB_ENOMEM;
        (*out)->kids = items.v, (*out)->n_kids = items.n;
        return RMB_OK;
    }
    if (is_op(t, "[") || is_op(t, "{")) {
        bool is_dict = is_op(t, "{");
        p->pos++;
        nodes items = {0}, values = {0};
        if (parse_items(p, is_dict ? "}" : "]", &items, is_dict ? &values : NULL))
            return p->err->status;
        if (!(*out = new_node(p, is_dict ? JN_DICT : JN_LIST, line)))
            return RMB_ENOMEM;
        (*out)->kids = items.v, (*out)->n_kids = items.n;
        (*out)->kids2 = values.v, (*out)->n_kids2 = values.n;
        return RMB_OK;
    }
    return fail_at(p, "unexpected token in expression");
}

/* x[...]: an index or a slice a:b:c with any part left out. */
static rmb_status parse_subscript(parser *p, jnode **node)
{
    int line = cur(p)->line;
    p->pos++;
    jnode *parts[3] = {NULL, NULL, NULL};
    int colons = 0;
    for (;;) {
        if (is_op(cur(p), "]"))
            break;
        if (is_op(cur(p), ":")) {
            if (++colons > 2)
                return fail_at(p, "too many ':' in slice");
            p->pos++;
            continue;
        }
        if (parts[colons])
            return fail_at(p, "expected ']'");
        if (parse_expr(p, &parts[colons]))
            return p->err->status;
    }
    p->pos++;
    jnode *n = new_node(p, colons ? JN_SLICE : JN_ITEM, line);
    if (!n)
        return RMB_ENOMEM;
    n->a = *node;
    if (colons) {
        if (!(n->kids = jarena_alloc(p->arena, 3 * sizeof *n->kids)))
            return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
        memcpy(n->kids, parts, sizeof parts);
        n->n_kids = 3;
    } else {
        if (!parts[0])
            return fail_at(p, "expected an index");
        n->b = parts[0];
    }
    *node = n;
    return RMB_OK;
}

static rmb_status parse_call(parser *p, jnode **node)
{
    jnode *n = new_node(p, JN_CALL, cur(p)->line);
    if (!n)
        return RMB_ENOMEM;
    p->pos++;
    n->a = *node;
    *node = n;
    return parse_args(p, n);
}

static rmb_status parse_postfix(parser *p, jnode **node)
{
    for (;;) {
        const jtok *t = cur(p);
        if (is_op(t, ".")) {
            const jtok *name = peek(p, 1);
            jnode *n;
            if (name->kind == JT_NAME) {
                if (!(n = new_node(p, JN_ATTR, t->line)))
                    return RMB_ENOMEM;
                n->name = name->s;
            } else if (name->kind == JT_INT) {
                if (!(n = new_node(p, JN_ITEM, t->line)))
                    return RMB_ENOMEM;
                p->pos++;
                if (parse_const(p, &n->b, jv_int(name->i)))
                    return RMB_ENOMEM;
                p->pos--;
            } else {
                p->pos++;
                return fail_at(p, "expected an attribute name after '.'");
            }
            n->a = *node;
            *node = n;
            p->pos += 2;
        } else if (is_op(t, "[")) {
            if (parse_subscript(p, node))
                return p->err->status;
        } else if (is_op(t, "(")) {
            if (parse_call(p, node))
                return p->err->status;
        } else {
            return RMB_OK;
        }
    }
}

/* The name of a filter or test, and its arguments. */
static rmb_status parse_filter_or_test(parser *p, jnode **node, bool is_test)
{
    int line = cur(p)->line;
    p->pos++;
    bool negated = false;
    if (is_test && is_name(cur(p), "not"))
        negated = true, p->pos++;
    if (cur(p)->kind != JT_NAME)
        return fail_at(p, is_test ? "expected a test name" : "expected a filter name");
    const char *name = cur(p)->s;
    if (is_test ? !jbuiltin_has_test(name) : !jbuiltin_has_filter(name))
        return rmb_fail(p->err, RMB_EDATA, "line %d: no %s named '%s'", cur(p)->line,
                        is_test ? "test" : "filter", name);
    p->pos++;
    jnode *n = new_node(p, is_test ? JN_TEST : JN_FILTER, line);
    if (!n)
        return RMB_ENOMEM;
    n->a = *node, n->name = name, n->op = negated;
    *node = n;
    if (is_op(cur(p), "(")) {
        p->pos++;
        return parse_args(p, n);
    }
    const jtok *t = cur(p);
    bool arg_follows = t->kind == JT_STRING || t->kind == JT_INT || t->kind == JT_FLOAT
                       || is_op(t, "[") || is_op(t, "{")
                       || (t->kind == JT_NAME && !is_name(t, "else") && !is_name(t, "or")
                           && !is_name(t, "and"));
    if (!is_test || !arg_follows)
        return RMB_OK;
    if (is_name(t, "is"))
        return fail_at(p, "tests cannot be chained with 'is'");
    jnode *arg;
    if (parse_primary(p, &arg) || parse_postfix(p, &arg))
        return p->err->status;
    if (!(n->kids = jarena_alloc(p->arena, sizeof *n->kids)))
        return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
    n->kids[0] = arg, n->n_kids = 1;
    return RMB_OK;
}

static rmb_status parse_filters(parser *p, jnode **node)
{
    for (;;) {
        rmb_status st;
        if (is_op(cur(p), "|"))
            st = parse_filter_or_test(p, node, false);
        else if (is_name(cur(p), "is"))
            st = parse_filter_or_test(p, node, true);
        else if (is_op(cur(p), "("))
            st = parse_call(p, node);
        else
            return RMB_OK;
        if (st)
            return st;
    }
}

static rmb_status enter(parser *p)
{
    if (++p->depth > MAX_DEPTH)
        return fail_at(p, "expression nested too deeply");
    return RMB_OK;
}

static rmb_status parse_unary(parser *p, bool with_filter, jnode **out)
{
    if (enter(p))
        return p->err->status;
    rmb_status st;
    const jtok *t = cur(p);
    if (is_op(t, "-") || is_op(t, "+")) {
        jnode *n = new_node(p, is_op(t, "-") ? JN_NEG : JN_POS, t->line);
        if (!n)
            return RMB_ENOMEM;
        p->pos++;
        st = parse_unary(p, false, &n->a);
        *out = n;
    } else {
        st = parse_primary(p, out);
    }
    if (!st)
        st = parse_postfix(p, out);
    if (!st && with_filter)
        st = parse_filters(p, out);
    p->depth--;
    return st;
}

static rmb_status binop(parser *p, jnode_kind kind, int op, int line, jnode **left, jnode *right)
{
    jnode *n = new_node(p, kind, line);
    if (!n)
        return RMB_ENOMEM;
    n->op = op, n->a = *left, n->b = right;
    *left = n;
    return RMB_OK;
}

typedef rmb_status (*level_fn)(parser *p, jnode **out);

/* A left-associative level: operand (op operand)*. */
static rmb_status parse_level(parser *p, jnode **out, level_fn operand, const char *const *ops,
                              const int *codes)
{
    if (operand(p, out))
        return p->err->status;
    for (;;) {
        size_t k = 0;
        while (ops[k] && !is_op(cur(p), ops[k]))
            k++;
        if (!ops[k])
            return RMB_OK;
        int line = cur(p)->line;
        p->pos++;
        jnode *right;
        if (operand(p, &right) || binop(p, JN_BINOP, codes[k], line, out, right))
            return p->err->status;
    }
}

static rmb_status parse_unary_filtered(parser *p, jnode **out) { return parse_unary(p, true, out); }

static rmb_status parse_pow(parser *p, jnode **out)
{
    static const char *const ops[] = {"**", NULL};
    static const int codes[] = {JOP_POW};
    return parse_level(p, out, parse_unary_filtered, ops, codes);
}

static rmb_status parse_math2(parser *p, jnode **out)
{
    static const char *const ops[] = {"*", "/", "//", "%", NULL};
    static const int codes[] = {JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD};
    return parse_level(p, out, parse_pow, ops, codes);
}

static rmb_status parse_concat(parser *p, jnode **out)
{
    static const char *const ops[] = {"~", NULL};
    static const int codes[] = {JOP_CONCAT};
    return parse_level(p, out, parse_math2, ops, codes);
}

static rmb_status parse_math1(parser *p, jnode **out)
{
    static const char *const ops[] = {"+", "-", NULL};
    static const int codes[] = {JOP_ADD, JOP_SUB};
    return parse_level(p, out, parse_concat, ops, codes);
}

/* a < b < c is (a < b) and (b < c), b shared (expressions have no side
 * effects worth evaluating once). */
static rmb_status parse_compare(parser *p, jnode **out)
{
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    static const int codes[] = {JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE};
    jnode *left;
    if (parse_math1(p, &left))
        return p->err->status;
    *out = NULL;
    for (;;) {
        int op = -1, line = cur(p)->line;
        for (size_t k = 0; k < 6; k++)
            if (is_op(cur(p), ops[k]))
                op = codes[k], p->pos++;
        if (op < 0 && is_name(cur(p), "in"))
            op = JOP_IN, p->pos++;
        if (op < 0 && is_name(cur(p), "not") && is_name(peek(p, 1), "in"))
            op = JOP_NOTIN, p->pos += 2;
        if (op < 0)
            break;
        jnode *right, *cmp = left;
        if (parse_math1(p, &right) || binop(p, JN_BINOP, op, line, &cmp, right))
            return p->err->status;
        if (*out) {
            if (binop(p, JN_AND, 0, line, out, cmp))
                return p->err->status;
        } else {
            *out = cmp;
        }
        left = right;
    }
    if (!*out)
        *out = left;
    return RMB_OK;
}

static rmb_status parse_not(parser *p, jnode **out)
{
    if (!is_name(cur(p), "not"))
        return parse_compare(p, out);
    if (enter(p))
        return p->err->status;
    jnode *n = new_node(p, JN_NOT, cur(p)->line);
    if (!n)
        return RMB_ENOMEM;
    p->pos++;
    *out = n;
    rmb_status st = parse_not(p, &n->a);
    p->depth--;
    return st;
}

static rmb_status parse_logic(parser *p, jnode **out, const char *word, jnode_kind kind,
                              level_fn operand)
{
    if (operand(p, out))
        return p->err->status;
    while (is_name(cur(p), word)) {
        int line = cur(p)->line;
        p->pos++;
        jnode *right;
        if (operand(p, &right) || binop(p, kind, 0, line, out, right))
            return p->err->status;
    }
    return RMB_OK;
}

static rmb_status parse_and(parser *p, jnode **out)
{
    return parse_logic(p, out, "and", JN_AND, parse_not);
}

static rmb_status parse_or(parser *p, jnode **out)
{
    return parse_logic(p, out, "or", JN_OR, parse_and);
}

/* An expression with conditionals: a if c else b (the else is optional). */
static rmb_status parse_expr(parser *p, jnode **out)
{
    if (enter(p) || parse_or(p, out))
        return p->err->status;
    while (is_name(cur(p), "if")) {
        jnode *n = new_node(p, JN_COND, cur(p)->line);
        if (!n)
            return RMB_ENOMEM;
        p->pos++;
        n->a = *out;
        if (parse_or(p, &n->b))
            return p->err->status;
        if (is_name(cur(p), "else")) {
            p->pos++;
            if (parse_expr(p, &n->c))
                return p->err->status;
        }
        *out = n;
    }
    p->depth--;
    return RMB_OK;
}

/* An expression, or a bare tuple a, b (in {{ }}, set and for). */
static rmb_status parse_tuple(parser *p, jnode **out, level_fn item)
{
    int line = cur(p)->line;
    if (item(p, out))
        return p->err->status;
    if (!is_op(cur(p), ","))
        return RMB_OK;
    nodes items = {0};
    if (nodes_push(p, &items, *out))
        return p->err->status;
    while (is_op(cur(p), ",")) {
        p->pos++;
        if (cur(p)->kind == JT_BLOCK_END || cur(p)->kind == JT_VAR_END || is_name(cur(p), "in")
            || is_op(cur(p), "="))
            break;
        jnode *e;
        if (item(p, &e) || nodes_push(p, &items, e))
            return p->err->status;
    }
    if (!(*out = new_node(p, JN_TUPLE, line)))
        return RMB_ENOMEM;
    (*out)->kids = items.v, (*out)->n_kids = items.n;
    return RMB_OK;
}

/* Targets of for and set: a name, or names separated by commas. */
static rmb_status parse_targets(parser *p, jnode *n)
{
    bool paren = is_op(cur(p), "(");
    p->pos += paren;
    size_t count = 0;
    const char **names = NULL;
    do {
        if (count)
            p->pos++;
        if (cur(p)->kind != JT_NAME)
            return fail_at(p, "expected a variable name");
        const char **grown = jarena_grow(p->arena, names, count, count + 1, sizeof *grown);
        if (!grown)
            return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
        grown[count++] = cur(p)->s;
        names = grown;
        p->pos++;
    } while (is_op(cur(p), ","));
    if (paren && expect_op(p, ")"))
        return p->err->status;
    n->names = names, n->n_names = count;
    n->op = count > 1 || paren;
    return RMB_OK;
}

static rmb_status parse_body(parser *p, const char *const *ends, jnode ***out, size_t *n,
                             const char **end_found);

/* Parses a body that ends with one of ends; consumes the end tag's name. */
static rmb_status parse_sub(parser *p, const char *const *ends, jnode *node, bool second,
                            const char **end)
{
    jnode **kids;
    size_t count;
    if (parse_body(p, ends, &kids, &count, end))
        return p->err->status;
    if (second)
        node->kids2 = kids, node->n_kids2 = count;
    else
        node->kids = kids, node->n_kids = count;
    return RMB_OK;
}

/* "%}", a body up to {% end_name %} into node->kids, and that tag's "%}".
 * A macro's body (own_scope) cannot break out of a loop around it. */
static rmb_status parse_block(parser *p, jnode *node, const char *end_name, bool own_scope)
{
    const char *const ends[] = {end_name, NULL};
    const char *end;
    int loops = p->loop_depth;
    if (own_scope)
        p->loop_depth = 0;
    rmb_status st = expect_block_end(p);
    if (!st)
        st = parse_sub(p, ends, node, false, &end);
    p->loop_depth = loops;
    return st ? st : expect_block_end(p);
}

static rmb_status parse_for(parser *p, jnode *n)
{
    static const char *const ends[] = {"endfor", "else", NULL};
    static const char *const end_only[] = {"endfor", NULL};
    if (parse_targets(p, n))
        return p->err->status;
    if (!is_name(cur(p), "in"))
        return fail_at(p, "expected 'in'");
    p->pos++;
    if (parse_tuple(p, &n->a, parse_or))
        return p->err->status;
    if (is_name(cur(p), "if")) {
        p->pos++;
        if (parse_expr(p, &n->b))
            return p->err->status;
    }
    if (is_name(cur(p), "recursive"))
        return fail_at(p, "recursive loops are not supported");
    const char *end;
    if (expect_block_end(p))
        return p->err->status;
    p->loop_depth++;
    rmb_status st = parse_sub(p, ends, n, false, &end);
    p->loop_depth--;
    if (st)
        return st;
    if (!strcmp(end, "else") && (expect_block_end(p) || parse_sub(p, end_only, n, true, &end)))
        return p->err->status;
    return expect_block_end(p);
}

static rmb_status parse_if(parser *p, jnode *n)
{
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    static const char *const end_only[] = {"endif", NULL};
    const char *end;
    if (parse_expr(p, &n->a) || expect_block_end(p) || parse_sub(p, ends, n, false, &end))
        return p->err->status;
    if (!strcmp(end, "elif")) {
        jnode *elif = new_node(p, JN_IF, cur(p)->line);
        if (!elif || !(n->kids2 = jarena_alloc(p->arena, sizeof *n->kids2)))
            return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
        n->kids2[0] = elif, n->n_kids2 = 1;
        return parse_if(p, elif); /* consumes the shared endif */
    }
    if (!strcmp(end, "else") && (expect_block_end(p) || parse_sub(p, end_only, n, true, &end)))
        return p->err->status;
    return expect_block_end(p);
}

static rmb_status parse_set(parser *p, jnode *n)
{
    if (cur(p)->kind == JT_NAME && is_op(peek(p, 1), ".") && peek(p, 2)->kind == JT_NAME) {
        if (!(n->names = jarena_alloc(p->arena, sizeof *n->names)))
            return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
        n->names[0] = cur(p)->s, n->n_names = 1;
        n->name = peek(p, 2)->s;
        p->pos += 3;
    } else if (parse_targets(p, n)) {
        return p->err->status;
    }
    if (is_op(cur(p), "=")) {
        p->pos++;
        if (parse_tuple(p, &n->a, parse_expr))
            return p->err->status;
        return expect_block_end(p);
    }
    if (n->name || n->op)
        return fail_at(p, "expected '='");
    n->kind = JN_SET_BLOCK;
    return parse_block(p, n, "endset", false);
}

static rmb_status parse_macro(parser *p, jnode *n)
{
    if (cur(p)->kind != JT_NAME)
        return fail_at(p, "expected a macro name");
    n->name = cur(p)->s;
    p->pos++;
    if (expect_op(p, "("))
        return p->err->status;
    jnode call = {0};
    if (parse_args(p, &call))
        return p->err->status;
    if (call.b || call.c)
        return rmb_fail(p->err, RMB_EUNSUPPORTED, "line %d: macro varargs are not supported",
                        n->line);
    /* Parameters parse as arguments: names positionally, defaults by keyword. */
    size_t count = call.n_kids + call.n_names;
    n->names = jarena_alloc(p->arena, (count + 1) * sizeof *n->names);
    n->kids2 = jarena_alloc(p->arena, (count + 1) * sizeof *n->kids2);
    if (!n->names || !n->kids2)
        return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
    for (size_t k = 0; k < call.n_kids; k++) {
        if (call.kids[k]->kind != JN_NAME)
            return rmb_fail(p->err, RMB_EDATA, "line %d: macro parameters must be names",
                            n->line);
        n->names[k] = call.kids[k]->name;
    }
    for (size_t k = 0; k < call.n_names; k++) {
        n->names[call.n_kids + k] = call.names[k];
        n->kids2[call.n_kids + k] = call.kids2[k];
    }
    n->n_names = n->n_kids2 = count;
    return parse_block(p, n, "endmacro", true);
}

static rmb_status parse_filter_block(parser *p, jnode *n)
{
    if (cur(p)->kind != JT_NAME || !jbuiltin_has_filter(cur(p)->s))
        return fail_at(p, "expected a filter name");
    n->name = cur(p)->s;
    p->pos++;
    jnode call = {0};
    if (is_op(cur(p), "(")) {
        p->pos++;
        if (parse_args(p, &call))
            return p->err->status;
    }
    n->kids2 = call.kids, n->n_kids2 = call.n_kids;
    if (call.n_names || call.b || call.c)
        return fail_at(p, "keyword arguments in a filter block are not supported");
    return parse_block(p, n, "endfilter", false);
}

/* {% call m(args) %}body{% endcall %}: calls macro m with caller() bound
 * to a macro that renders body. */
static rmb_status parse_call_block(parser *p, jnode *n)
{
    if (is_op(cur(p), "("))
        return fail_at(p, "call blocks with caller parameters are not supported");
    if (parse_expr(p, &n->a))
        return p->err->status;
    if (n->a->kind != JN_CALL)
        return fail_at(p, "expected a macro call after 'call'");
    n->name = "caller";
    return parse_block(p, n, "endcall", true);
}

/* {% generation %}: transformers' marker of assistant text; rendered as is. */
static rmb_status parse_generation(parser *p, nodes *body)
{
    jnode holder = {0};
    if (parse_block(p, &holder, "endgeneration", false))
        return p->err->status;
    for (size_t k = 0; k < holder.n_kids; k++)
        if (nodes_push(p, body, holder.kids[k]))
            return p->err->status;
    return RMB_OK;
}

/* One {% ... %} statement; the '{%' is consumed and cur is its name. */
static rmb_status parse_statement(parser *p, nodes *body)
{
    const jtok *t = cur(p);
    if (t->kind != JT_NAME)
        return fail_at(p, "expected a statement name");
    static const struct {
        const char *name;
        jnode_kind kind;
        rmb_status (*parse)(parser *, jnode *);
    } table[] = {
        {"for", JN_FOR, parse_for},       {"if", JN_IF, parse_if},
        {"set", JN_SET, parse_set},       {"macro", JN_MACRO, parse_macro},
        {"filter", JN_FILTER_BLOCK, parse_filter_block},
        {"call", JN_CALL_BLOCK, parse_call_block},
    };
    p->pos++;
    if (!strcmp(t->s, "generation"))
        return parse_generation(p, body);
    if (!strcmp(t->s, "break") || !strcmp(t->s, "continue")) {
        if (!p->loop_depth)
            return rmb_fail(p->err, RMB_EDATA, "line %d: '%s' outside of a loop", t->line, t->s);
        jnode *n = new_node(p, t->s[0] == 'b' ? JN_BREAK : JN_CONTINUE, t->line);
        if (!n || expect_block_end(p))
            return p->err->status;
        return nodes_push(p, body, n);
    }
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
        if (strcmp(t->s, table[k].name))
            continue;
        jnode *n = new_node(p, table[k].kind, t->line);
        if (!n || table[k].parse(p, n))
            return p->err->status;
        return nodes_push(p, body, n);
    }
    static const char *const unsupported[] = {"extends", "block", "include", "import", "from",
                                              "with", "autoescape", "do", "trans"};
    for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++)
        if (!strcmp(t->s, unsupported[k]))
            return rmb_fail(p->err, RMB_EUNSUPPORTED,
                            "line %d: the Jinja tag '%s' is not supported in chat templates",
                            t->line, t->s);
    return rmb_fail(p->err, RMB_EDATA, "line %d: unknown or unexpected tag '%s'", t->line, t->s);
}

/* Statements until a {% name %} with name in ends (NULL-terminated; ends
 * NULL means the end of the template).  Returns the body's node array and
 * the end name found. */
static rmb_status parse_body(parser *p, const char *const *ends, jnode ***out, size_t *n,
                             const char **end_found)
{
    nodes body = {0};
    int start_line = p->pos > 0 ? p->t[p->pos - 1].line : 1; /* the opening tag's '%}' */
    for (;;) {
        const jtok *t = cur(p);
        jnode *node;
        if (t->kind == JT_EOF) {
            if (!ends)
                break;
            return rmb_fail(p->err, RMB_EDATA,
                            "line %d: unexpected end of template: the block opened on line %d "
                            "needs '{%% %s %%}'",
                            t->line, start_line, ends[0]);
        }
        if (t->kind == JT_TEXT) {
            jv s;
            jstr *str = jarena_alloc(p->arena, sizeof *str + t->len + 1);
            if (!str)
                return rmb_fail(p->err, RMB_ENOMEM, "out of memory");
            memcpy(str->s, t->s, t->len);
            str->len = t->len;
            s.kind = JV_STR, s.u.s = str;
            if (parse_const(p, &node, s) || nodes_push(p, &body, node))
                return p->err->status;
            node->kind = JN_TEXT;
            p->pos++;
        } else if (t->kind == JT_VAR_BEGIN) {
            p->pos++;
            if (!(node = new_node(p, JN_OUTPUT, t->line)) || parse_tuple(p, &node->a, parse_expr))
                return p->err->status;
            if (cur(p)->kind != JT_VAR_END)
                return fail_at(p, "expected end of print statement '}}'");
            p->pos++;
            if (nodes_push(p, &body, node))
                return p->err->status;
        } else if (t->kind == JT_BLOCK_BEGIN) {
            const jtok *name = peek(p, 1);
            for (size_t k = 0; ends && ends[k]; k++)
                if (is_name(name, ends[k])) {
                    p->pos += 2;
                    *end_found = ends[k];
                    *out = body.v;
                    *n = body.n;
                    return RMB_OK;
                }
            p->pos++;
            if (parse_statement(p, &body))
                return p->err->status;
        } else {
            return fail_at(p, "unexpected token");
        }
    }
    *out = body.v;
    *n = body.n;
    return RMB_OK;
}

rmb_status jinja_parse_tokens(jarena *arena, const jtok *toks, size_t n, jnode **root,
                              rmb_error *err)
{
    parser p = {.arena = arena, .t = toks, .n = n, .err = err};
    jnode *r = new_node(&p, JN_IF, 1); /* a body holder; only kids is used */
    if (!r)
        return RMB_ENOMEM;
    const char *end = NULL;
    if (parse_body(&p, NULL, &r->kids, &r->n_kids, &end))
        return err->status;
    *root = r;
    return RMB_OK;
}
