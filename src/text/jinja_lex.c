/* Jinja lexer: template source to tokens.
 *
 * It follows jinja2's lexer with trim_blocks and lstrip_blocks on, because
 * the whitespace rules are where chat templates are easiest to get wrong:
 *  - newlines (\r\n, \r, \n) become \n and one trailing newline is dropped;
 *  - "{%-" / "{{-" / "{#-" strip all whitespace before the tag, "-%}" etc.
 *    all whitespace after it;
 *  - trim_blocks drops the one "\n" right after "%}" or "#}" (not "}}");
 *  - lstrip_blocks drops spaces before "{%" or "{#" when only whitespace
 *    precedes the tag on its line; "+" in "{%+" keeps them, "+%}" keeps
 *    the newline. */
#include "text/jinja.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    jarena *arena;
    const char *src;
    size_t len, pos;
    int line;
    bool line_starting; /* the last token ended with a newline */
    jtok *toks;
    size_t n, cap;
    rmb_error *err;
} lexer;

static rmb_status lex_fail(lexer *lx, const char *what)
{
    return rmb_fail(lx->err, RMB_EDATA, "line %d: %s", lx->line, what);
}

static void count_lines(lexer *lx, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lx->line += s[i] == '\n';
}

static rmb_status push(lexer *lx, jtok_kind kind, const char *s, size_t len, jtok **out)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 256;
        jtok *t = jarena_grow(lx->arena, lx->toks, lx->n, cap, sizeof *t);
        if (!t)
            return rmb_fail(lx->err, RMB_ENOMEM, "out of memory");
        lx->toks = t, lx->cap = cap;
    }
    jtok *t = &lx->toks[lx->n++];
    t->kind = kind, t->line = lx->line, t->s = s, t->len = len;
    if (out)
        *out = t;
    return RMB_OK;
}

static bool starts(const lexer *lx, size_t pos, const char *lit)
{
    size_t n = strlen(lit);
    return pos + n <= lx->len && !memcmp(lx->src + pos, lit, n);
}

static size_t skip_space(const lexer *lx, size_t pos)
{
    size_t n;
    while (pos < lx->len && utf8_isspace(lx->src + pos, lx->len - pos, &n))
        pos += n;
    return pos;
}

/* Emits the text before a tag, applying "-" (strip) or lstrip_blocks. */
static rmb_status emit_text(lexer *lx, const char *text, size_t n, char sign, bool is_var)
{
    const char *start = text;
    size_t full = n;
    if (sign == '-') {
        n -= utf8_space_suffix(text, n);
    } else if (sign != '+' && !is_var) {
        size_t l_pos = n;
        while (l_pos > 0 && text[l_pos - 1] != '\n')
            l_pos--;
        size_t ws = utf8_space_prefix(text + l_pos, n - l_pos);
        if ((l_pos > 0 || lx->line_starting) && ws > 0 && l_pos + ws == n)
            n = l_pos;
    }
    if (n > 0) {
        char *s = jarena_alloc(lx->arena, n + 1);
        if (!s)
            return rmb_fail(lx->err, RMB_ENOMEM, "out of memory");
        memcpy(s, start, n);
        rmb_status st = push(lx, JT_TEXT, s, n, NULL);
        if (st)
            return st;
    }
    count_lines(lx, start, full);
    return RMB_OK;
}

/* The end of a block ("%}") or comment ("#}") at pos: "+%}", "-%}" with the
 * whitespace after it, or "%}" with trim_blocks' newline.  Returns the
 * length matched, 0 if none. */
static size_t match_block_end(const lexer *lx, size_t pos, char c)
{
    char end[3] = {c, '}', 0};
    if (lx->src[pos] == '+' && starts(lx, pos + 1, end))
        return 3;
    if (lx->src[pos] == '-' && starts(lx, pos + 1, end))
        return skip_space(lx, pos + 3) - pos;
    if (starts(lx, pos, end))
        return 2 + (pos + 2 < lx->len && lx->src[pos + 2] == '\n');
    return 0;
}

static size_t match_var_end(const lexer *lx, size_t pos)
{
    if (lx->src[pos] == '-' && starts(lx, pos + 1, "}}"))
        return skip_space(lx, pos + 3) - pos;
    return starts(lx, pos, "}}") ? 2 : 0;
}

/* Skips a consumed stretch, tracking lines and line_starting. */
static void advance(lexer *lx, size_t to)
{
    count_lines(lx, lx->src + lx->pos, to - lx->pos);
    lx->line_starting = to > lx->pos && lx->src[to - 1] == '\n';
    lx->pos = to;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes a Python escape after the backslash at s[0..n): returns the bytes
 * consumed (0 for an escape Python keeps verbatim), -1 if malformed. */
static int decode_escape(const char *s, size_t n, char *out, size_t *out_len)
{
    static const char simple[] = "\\\\''\"\"n\nt\tr\ra\ab\bf\fv\v";
    for (size_t k = 0; simple[k]; k += 2)
        if (s[0] == simple[k]) {
            out[0] = simple[k + 1];
            *out_len = 1;
            return 1;
        }
    if (s[0] == '\n') {
        *out_len = 0;
        return 1;
    }
    uint32_t cp = 0;
    int used = 0;
    if (s[0] >= '0' && s[0] <= '7') {
        while (used < 3 && (size_t)used < n && s[used] >= '0' && s[used] <= '7')
            cp = cp * 8 + (uint32_t)(s[used++] - '0');
    } else if (s[0] == 'x' || s[0] == 'u' || s[0] == 'U') {
        int digits = s[0] == 'x' ? 2 : s[0] == 'u' ? 4 : 8;
        if ((size_t)digits >= n)
            return -1;
        for (int k = 1; k <= digits; k++) {
            int h = hexval(s[k]);
            if (h < 0)
                return -1;
            cp = cp * 16 + (uint32_t)h;
        }
        used = digits + 1;
    } else {
        return s[0] == 'N' ? -1 : 0; /* \N{name}: no Unicode name table here */
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *out_len = put_utf8(out, cp);
    return used;
}

static rmb_status lex_string(lexer *lx)
{
    char quote = lx->src[lx->pos];
    size_t end = lx->pos + 1;
    while (end < lx->len && lx->src[end] != quote)
        end += lx->src[end] == '\\' ? 2 : 1;
    if (end >= lx->len)
        return lex_fail(lx, "unterminated string literal");
    const char *s = lx->src + lx->pos + 1;
    size_t n = end - lx->pos - 1;
    char *out = jarena_alloc(lx->arena, n + 1);
    if (!out)
        return rmb_fail(lx->err, RMB_ENOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            out[o++] = s[i++];
            continue;
        }
        size_t len = 0;
        int used = decode_escape(s + i + 1, n - i - 1, out + o, &len);
        if (used < 0)
            return lex_fail(lx, "malformed escape in string literal");
        if (used == 0) { /* unknown escapes keep their backslash */
            out[o++] = s[i++];
            continue;
        }
        o += len;
        i += 1 + (size_t)used;
    }
    rmb_status st = push(lx, JT_STRING, out, o, NULL);
    if (!st)
        advance(lx, end + 1);
    return st;
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_name_start(char ch) { return ch == '_' || ((ch | 32) >= 'a' && (ch | 32) <= 'z'); }

/* Digits with single underscores between them, from pos; returns the end. */
static size_t scan_digits(const lexer *lx, size_t pos)
{
    size_t p = pos;
    while (p < lx->len && is_digit(lx->src[p])) {
        p++;
        if (p + 1 < lx->len && lx->src[p] == '_' && is_digit(lx->src[p + 1]))
            p++;
    }
    return p;
}

/* An integer or a float; digits copied without underscores. */
static rmb_status lex_number(lexer *lx)
{
    size_t p = scan_digits(lx, lx->pos);
    bool is_float = false;
    if (p + 1 < lx->len && lx->src[p] == '.' && is_digit(lx->src[p + 1]))
        p = scan_digits(lx, p + 1), is_float = true;
    if (p < lx->len && (lx->src[p] | 32) == 'e') {
        size_t q = p + 1;
        if (q < lx->len && (lx->src[q] == '+' || lx->src[q] == '-'))
            q++;
        if (q < lx->len && is_digit(lx->src[q]))
            p = scan_digits(lx, q), is_float = true;
    }
    char buf[128];
    size_t o = 0;
    for (size_t i = lx->pos; i < p && o + 1 < sizeof buf; i++)
        if (lx->src[i] != '_')
            buf[o++] = lx->src[i];
    buf[o] = 0;
    if (p - lx->pos >= sizeof buf)
        return lex_fail(lx, "number literal too long");
    jtok *t = NULL;
    rmb_status st = push(lx, is_float ? JT_FLOAT : JT_INT, NULL, 0, &t);
    if (st)
        return st;
    char *end;
    if (is_float) {
        t->f = strtod(buf, &end);
    } else {
        errno = 0;
        t->i = strtoll(buf, &end, 10);
        if (errno)
            return lex_fail(lx, "integer literal out of range");
    }
    advance(lx, p);
    return RMB_OK;
}

static rmb_status lex_operator(lexer *lx)
{
    static const char *const ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*",
                                      "%",  "~",  "[",  "]",  "(",  ")",  "{", "}", ">", "<",
                                      "=",  ".",  ":",  "|",  ",",  ";"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (starts(lx, lx->pos, ops[k])) {
            rmb_status st = push(lx, JT_OP, ops[k], strlen(ops[k]), NULL);
            if (!st)
                advance(lx, lx->pos + strlen(ops[k]));
            return st;
        }
    return rmb_fail(lx->err, RMB_EDATA, "line %d: unexpected character '%c'", lx->line,
                    lx->src[lx->pos]);
}

/* Tracks brackets: a tag only ends where they are balanced. */
static rmb_status balance(lexer *lx, char *stack, int *depth)
{
    const jtok *t = &lx->toks[lx->n - 1];
    if (t->kind != JT_OP || t->len != 1)
        return RMB_OK;
    char ch = t->s[0];
    if (ch == '(' || ch == '[' || ch == '{') {
        if (*depth >= 64)
            return lex_fail(lx, "brackets nested too deeply");
        stack[(*depth)++] = ch == '(' ? ')' : ch == '[' ? ']' : '}';
    } else if (ch == ')' || ch == ']' || ch == '}') {
        if (*depth == 0 || stack[*depth - 1] != ch)
            return rmb_fail(lx->err, RMB_EDATA, "line %d: unexpected '%c'", t->line, ch);
        (*depth)--;
    }
    return RMB_OK;
}

/* The inside of a {{ }} or {% %} tag, up to and including its end. */
static rmb_status lex_tag(lexer *lx, bool is_block)
{
    char stack[64];
    int depth = 0;
    for (;;) {
        if (lx->pos >= lx->len)
            return lex_fail(lx, is_block ? "unexpected end of template: missing '%}'"
                                         : "unexpected end of template: missing '}}'");
        size_t end = depth ? 0
                     : is_block ? match_block_end(lx, lx->pos, '%')
                                : match_var_end(lx, lx->pos);
        if (end) {
            rmb_status st = push(lx, is_block ? JT_BLOCK_END : JT_VAR_END, NULL, 0, NULL);
            if (!st)
                advance(lx, lx->pos + end);
            return st;
        }
        char ch = lx->src[lx->pos];
        size_t n;
        rmb_status st = RMB_OK;
        if (utf8_isspace(lx->src + lx->pos, lx->len - lx->pos, &n)) {
            advance(lx, lx->pos + n);
            continue;
        }
        if (is_digit(ch) && !(lx->pos > 0 && lx->src[lx->pos - 1] == '.'
                              && lx->n && lx->toks[lx->n - 1].kind == JT_OP)) {
            st = lex_number(lx);
        } else if (is_digit(ch)) { /* x.0: an attribute named by digits */
            size_t p = scan_digits(lx, lx->pos);
            st = push(lx, JT_INT, NULL, 0, NULL);
            if (!st) {
                lx->toks[lx->n - 1].i = strtoll(lx->src + lx->pos, NULL, 10);
                advance(lx, p);
            }
        } else if (is_name_start(ch)) {
            size_t p = lx->pos;
            while (p < lx->len && (is_name_start(lx->src[p]) || is_digit(lx->src[p])))
                p++;
            char *s = jarena_alloc(lx->arena, p - lx->pos + 1);
            if (!s)
                return rmb_fail(lx->err, RMB_ENOMEM, "out of memory");
            memcpy(s, lx->src + lx->pos, p - lx->pos);
            st = push(lx, JT_NAME, s, p - lx->pos, NULL);
            if (!st)
                advance(lx, p);
        } else if (ch == '\'' || ch == '"') {
            st = lex_string(lx);
        } else {
            st = lex_operator(lx);
            if (!st)
                st = balance(lx, stack, &depth);
        }
        if (st)
            return st;
    }
}

/* "{% raw %}...{% endraw %}": the text in between is output as is. */
static bool match_raw_begin(const lexer *lx, size_t pos, size_t *end)
{
    size_t p = pos + 2;
    if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+'))
        p++;
    p = skip_space(lx, p);
    if (!starts(lx, p, "raw"))
        return false;
    p = skip_space(lx, p + 3);
    if (starts(lx, p, "-%}")) {
        *end = skip_space(lx, p + 3);
        return true;
    }
    if (starts(lx, p, "%}")) {
        *end = p + 2;
        return true;
    }
    return false;
}

static rmb_status lex_raw(lexer *lx, size_t body)
{
    advance(lx, body);
    for (size_t p = body; p + 1 < lx->len; p++) {
        if (lx->src[p] != '{' || lx->src[p + 1] != '%')
            continue;
        size_t q = p + 2;
        char sign = q < lx->len && (lx->src[q] == '-' || lx->src[q] == '+') ? lx->src[q++] : 0;
        q = skip_space(lx, q);
        if (!starts(lx, q, "endraw"))
            continue;
        q = skip_space(lx, q + 6);
        size_t end = q < lx->len ? match_block_end(lx, q, '%') : 0;
        if (!end)
            continue;
        rmb_status st = emit_text(lx, lx->src + body, p - body, sign, false);
        if (st)
            return st;
        lx->pos = p;
        advance(lx, q + end);
        return RMB_OK;
    }
    return lex_fail(lx, "missing end of raw directive");
}

/* A comment: up to the first "#}" (with its whitespace control). */
static rmb_status lex_comment(lexer *lx)
{
    for (size_t p = lx->pos; p < lx->len; p++) {
        size_t end = match_block_end(lx, p, '#');
        if (end) {
            advance(lx, p + end);
            return RMB_OK;
        }
    }
    return lex_fail(lx, "missing end of comment tag");
}

/* The earliest tag start from pos; returns lx->len if none. */
static size_t find_tag(const lexer *lx, size_t pos)
{
    for (size_t p = pos; p + 1 < lx->len; p++)
        if (lx->src[p] == '{' && (lx->src[p + 1] == '%' || lx->src[p + 1] == '{'
                                  || lx->src[p + 1] == '#'))
            return p;
    return lx->len;
}

static rmb_status lex_root(lexer *lx)
{
    while (lx->pos < lx->len) {
        size_t tag = find_tag(lx, lx->pos);
        if (tag == lx->len)
            return emit_text(lx, lx->src + lx->pos, lx->len - lx->pos, '+', true);
        char kind = lx->src[tag + 1];
        char sign = tag + 2 < lx->len && (lx->src[tag + 2] == '-' || lx->src[tag + 2] == '+')
                        ? lx->src[tag + 2] : 0;
        rmb_status st = emit_text(lx, lx->src + lx->pos, tag - lx->pos, sign, kind == '{');
        if (st)
            return st;
        size_t raw_body;
        if (kind == '%' && match_raw_begin(lx, tag, &raw_body)) {
            lx->pos = tag;
            st = lex_raw(lx, raw_body);
        } else {
            lx->pos = tag + 2 + (sign != 0);
            lx->line_starting = false;
            if (kind == '#')
                st = lex_comment(lx);
            else if (!(st = push(lx, kind == '%' ? JT_BLOCK_BEGIN : JT_VAR_BEGIN, NULL, 0, NULL)))
                st = lex_tag(lx, kind == '%');
        }
        if (st)
            return st;
    }
    return RMB_OK;
}

/* Newlines to "\n" and one trailing newline dropped, as jinja2 does. */
static char *normalize(jarena *arena, const char *src, size_t len, size_t *out_len)
{
    char *s = jarena_alloc(arena, len + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[o++] = '\n';
            i += i + 1 < len && src[i + 1] == '\n';
        } else {
            s[o++] = src[i];
        }
    }
    if (o > 0 && s[o - 1] == '\n')
        o--;
    s[o] = 0;
    *out_len = o;
    return s;
}

rmb_status jinja_lex(jarena *arena, const char *source, size_t len, jtok **toks, size_t *n,
                     rmb_error *err)
{
    lexer lx = {.arena = arena, .line = 1, .line_starting = true, .err = err};
    lx.src = normalize(arena, source, len, &lx.len);
    if (!lx.src)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = lex_root(&lx);
    if (!st)
        st = push(&lx, JT_EOF, NULL, 0, NULL);
    if (st)
        return st;
    *toks = lx.toks;
    *n = lx.n;
    return RMB_OK;
}
