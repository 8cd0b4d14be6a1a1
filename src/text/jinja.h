/* The Jinja interpreter behind chat templates (internal to librmb).
 *
 * It implements the subset of Jinja2 that model chat templates use, with the
 * environment transformers sets up: trim_blocks, lstrip_blocks, the
 * loopcontrols extension, a sandbox where lists and dicts are immutable, a
 * tojson filter that keeps non-ASCII text, and the globals raise_exception
 * and strftime_now.  The goal is byte-identical output to Python's jinja2.
 *
 * The modules: jinja_lex.c (source to tokens, whitespace control),
 * jinja_parse.c (tokens to an AST), jinja_value.c (values, Python-like
 * printing and comparisons), jinja_eval.c (statements and expressions),
 * jinja_builtins.c (filters, tests, methods, globals). */
#ifndef RMB_TEXT_JINJA_H
#define RMB_TEXT_JINJA_H

#include "rmb/common.h"
#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory: everything of one parse or one render lives in an arena ---- */

typedef struct jarena jarena;
/* limit: the most bytes the arena may hold (0 = none). */
jarena *jarena_new(size_t limit);
void jarena_free(jarena *a);
/* Zeroed memory, or NULL when out of memory or over the limit. */
void *jarena_alloc(jarena *a, size_t size);
/* A copy of the n elements (of size elem) of old in a new array of cap
 * elements, for growing arrays; NULL when out of memory. */
void *jarena_grow(jarena *a, const void *old, size_t n, size_t cap, size_t elem);

/* ---- values ---- */

typedef enum jv_kind {
    JV_UNDEF, /* a name or attribute that does not exist */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_LIST,  /* also tuples (is_tuple), which print with parentheses */
    JV_DICT,
    JV_NS,    /* namespace(): the one mutable object */
    JV_LOOP,  /* the loop variable of a for loop */
    JV_MACRO,
    JV_FUNC   /* a global function (range, namespace, raise_exception...) */
} jv_kind;

typedef struct jstr {
    size_t len;
    char s[]; /* NUL-terminated UTF-8 */
} jstr;

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jloop jloop;
typedef struct jnode jnode;
typedef struct jmacro jmacro;

typedef struct jv {
    jv_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        const jstr *s;
        const char *undef_name; /* for "'x' is undefined" */
        jlist *l;
        jdict *d;
        jloop *loop;
        const jmacro *macro;
        int func;
    } u;
} jv;

struct jlist {
    size_t n;
    bool is_tuple;
    jv *v;
};

/* Insertion-ordered, linear lookup: template dicts are small. */
struct jdict {
    size_t n, cap;
    jv *k, *v;
};

typedef struct jframe jframe;

/* A macro: its definition and the scope it was defined in (a call block's
 * caller sees the variables around the call). */
struct jmacro {
    const jnode *node;
    jframe *closure;
};

struct jloop {
    const jv *items;
    size_t n, index0;
};

/* ---- AST ---- */

typedef enum jnode_kind {
    /* statements */
    JN_TEXT, JN_OUTPUT, JN_IF, JN_FOR, JN_SET, JN_SET_BLOCK, JN_MACRO, JN_BREAK, JN_CONTINUE,
    JN_FILTER_BLOCK, JN_CALL_BLOCK,
    /* expressions */
    JN_CONST, JN_NAME, JN_LIST, JN_TUPLE, JN_DICT, JN_ATTR, JN_ITEM, JN_SLICE, JN_CALL,
    JN_FILTER, JN_TEST, JN_NOT, JN_NEG, JN_POS, JN_BINOP, JN_AND, JN_OR, JN_COMPARE, JN_COND
} jnode_kind;

/* Binary and comparison operators. */
typedef enum jop {
    JOP_ADD, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW, JOP_CONCAT,
    JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE, JOP_IN, JOP_NOTIN
} jop;

/* One node shape for all: each kind documents which members it uses in
 * jinja_parse.c.  kids/kids2 are bodies or argument lists, names are
 * keyword-argument, parameter or target names. */
struct jnode {
    jnode_kind kind;
    int line;
    int op;           /* jop, or a flag (negated test, tuple target...) */
    jnode *a, *b, *c; /* operands */
    jnode **kids;
    size_t n_kids;
    jnode **kids2;
    size_t n_kids2;
    const char **names;
    size_t n_names;
    const char *name; /* a name, attribute, filter or test */
    jv value;         /* JN_CONST */
};

/* ---- the interpreter's API ---- */

typedef struct jinja_template jinja_template;

/* Parses source (len bytes of UTF-8).  Errors name the line. */
rmb_status jinja_parse(jinja_template **out, const char *source, size_t len, rmb_error *err);
void jinja_free(jinja_template *t);

/* Renders with the variables of the JSON objects globals and vars (vars win;
 * either may be NULL); both are only read, so concurrent renders may share
 * them.  text is malloc'ed and NUL-terminated. */
rmb_status jinja_render(const jinja_template *t, const json_t *globals, const json_t *vars,
                        char **text, size_t *len, rmb_error *err);

/* ---- shared between the interpreter's modules ---- */

/* Tokens of the lexer. */
typedef enum jtok_kind {
    JT_EOF, JT_TEXT, JT_VAR_BEGIN, JT_VAR_END, JT_BLOCK_BEGIN, JT_BLOCK_END,
    JT_NAME, JT_STRING, JT_INT, JT_FLOAT, JT_OP
} jtok_kind;

typedef struct jtok {
    jtok_kind kind;
    int line;
    const char *s; /* text, name, decoded string literal or operator (NUL-terminated) */
    size_t len;
    int64_t i;
    double f;
} jtok;

/* Splits normalized source into tokens allocated in arena. */
rmb_status jinja_lex(jarena *arena, const char *source, size_t len, jtok **toks, size_t *n,
                     rmb_error *err);

/* Parses tokens into the body of a template. */
rmb_status jinja_parse_tokens(jarena *arena, const jtok *toks, size_t n, jnode **root,
                              rmb_error *err);

/* Evaluation steps (nodes, loop iterations, printed values) per render. */
#define JINJA_MAX_STEPS 10000000u

/* The state of one render. */
typedef struct jctx {
    jarena *arena;
    rmb_error *err;
    jframe *globals;
    jframe *frame;
    uint64_t steps; /* evaluation steps, bounded so that no template runs forever */
    int depth;      /* macro call depth */
    int line;       /* line of the node being evaluated, for errors */
} jctx;

/* Fails the render with "line N: message". */
rmb_status jfail(jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Values (jinja_value.c). */
jv jv_undef(const char *name);
jv jv_none(void);
jv jv_bool(bool b);
jv jv_int(int64_t i);
jv jv_float(double f);
rmb_status jv_str(jctx *c, const char *s, size_t len, jv *out);
rmb_status jv_list(jctx *c, size_t n, jv *out); /* n items, all undefined */
rmb_status jv_dict(jctx *c, jv *out);
rmb_status jdict_set(jctx *c, jdict *d, jv key, jv val);
/* The value of key, or NULL. */
const jv *jdict_get(const jdict *d, jv key);
bool jv_truthy(jv v);
bool jv_equal(jv a, jv b);
/* Python's type name ("str", "int"...), for messages. */
const char *jv_type(jv v);
/* Appends Python's str(v) (repr_mode false) or repr(v). */
rmb_status jv_print(jctx *c, rmb_buf *b, jv v, bool repr_mode);
/* str(v) as a string value. */
rmb_status jv_to_str(jctx *c, jv v, jv *out);
/* Orders numbers or strings as Python does; fails for other types. */
rmb_status jv_compare(jctx *c, jv a, jv b, int *cmp);
/* Converts a JSON value. */
rmb_status jv_from_json(jctx *c, const json_t *j, jv *out);
/* Appends json.dumps(v, ensure_ascii=ascii, indent=indent (<0: None),
 * separators=(item_sep, key_sep), sort_keys=sort). */
rmb_status jv_to_json(jctx *c, rmb_buf *b, jv v, bool ascii, int indent, const char *item_sep,
                      const char *key_sep, bool sort);
/* Number of code points of UTF-8 text; byte offset of code point i. */
size_t utf8_count(const char *s, size_t len);
size_t utf8_offset(const char *s, size_t len, size_t i);
/* The code point at s (its length in *n); U+FFFD for a byte that starts no
 * valid sequence (strings here are valid UTF-8, checked on the way in). */
int32_t utf8_next(const char *s, size_t len, size_t *n);
/* Python's str.isspace for the code point at s (its length in *n). */
bool utf8_isspace(const char *s, size_t len, size_t *n);
/* Length of the whitespace run that ends at s + len, going backwards. */
size_t utf8_space_suffix(const char *s, size_t len);
size_t utf8_space_prefix(const char *s, size_t len);
/* Iterates v (list, tuple, dict keys, string characters; undefined is
 * empty) into a fresh array. */
rmb_status jv_iterate(jctx *c, jv v, jv **items, size_t *n);
/* Python's `needle in hay`. */
rmb_status jv_contains(jctx *c, jv needle, jv hay, bool *out);
/* Python's len(). */
rmb_status jv_length(jctx *c, jv v, int64_t *n);

/* Builtins (jinja_builtins.c). */
typedef struct jargs {
    const jv *pos;
    size_t n_pos;
    const char *const *kw_names;
    const jv *kw;
    size_t n_kw;
} jargs;
enum { JF_RANGE, JF_NAMESPACE, JF_DICT, JF_RAISE_EXCEPTION, JF_STRFTIME_NOW, JF_COUNT };
/* The global function named name, or -1. */
int jbuiltin_global(const char *name);
rmb_status jbuiltin_call(jctx *c, int func, const jargs *args, jv *out);
rmb_status jbuiltin_filter(jctx *c, const char *name, jv v, const jargs *args, jv *out);
rmb_status jbuiltin_test(jctx *c, const char *name, jv v, const jargs *args, bool *out);
/* Calls v.name(args) for a built-in method of str, dict or list; *found is
 * false when v has no such method. */
rmb_status jbuiltin_method(jctx *c, jv v, const char *name, const jargs *args, jv *out,
                           bool *found);
/* Whether a filter or test of that name exists (checked at parse time). */
bool jbuiltin_has_filter(const char *name);
bool jbuiltin_has_test(const char *name);
/* Calls a macro (jinja_eval.c), for map and the like. */
rmb_status jeval_call_value(jctx *c, jv fn, const jargs *args, jv *out);
/* Applies a binary or comparison operator (a jop) as Python does. */
rmb_status jeval_binop(jctx *c, int op, jv a, jv b, jv *out);
/* Looks an attribute up as Jinja does (getattr, then item). */
rmb_status jeval_getattr(jctx *c, jv obj, const char *name, jv *out);

#endif
