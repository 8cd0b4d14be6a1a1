/* tokenizer.json -> rmb_tokenizer.  Every field is checked for presence and
 * type; errors name the JSON path ("pre_tokenizer.pretokenizers[1].pattern")
 * and the problem, and unsupported component types are named. */
#include "text/tokenizer_internal.h"
#include "text/unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_MAX 256

static rmb_status bad(rmb_error *err, const char *where, const char *what)
{
    return rmb_fail(err, RMB_EDATA, "%s: %s", where, what);
}

/* A string member: *s stays NULL when absent or null and not required. */
static rmb_status get_str(const json_t *o, const char *key, const char *where, bool required,
                          const char **s, size_t *n, rmb_error *err)
{
    json_t *v = json_object_get(o, key);
    *s = NULL;
    *n = 0;
    if (!v || json_is_null(v)) {
        if (!required)
            return RMB_OK;
        return rmb_fail(err, RMB_EDATA, "%s.%s: missing", where, key);
    }
    if (!json_is_string(v))
        return rmb_fail(err, RMB_EDATA, "%s.%s: expected a string", where, key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return RMB_OK;
}

static rmb_status get_bool(const json_t *o, const char *key, const char *where, bool dflt,
                           bool *out, rmb_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return RMB_OK;
    if (!json_is_boolean(v))
        return rmb_fail(err, RMB_EDATA, "%s.%s: expected true or false", where, key);
    *out = json_is_true(v);
    return RMB_OK;
}

static rmb_status get_array(const json_t *o, const char *key, const char *where, json_t **out,
                            rmb_error *err)
{
    *out = json_object_get(o, key);
    if (!json_is_array(*out))
        return rmb_fail(err, RMB_EDATA, "%s.%s: expected an array", where, key);
    return RMB_OK;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;

static void onig_setup(void)
{
    OnigEncoding enc = ONIG_ENCODING_UTF8;
    onig_initialize(&enc, 1);
}

regex_t *tk_regex_new(const char *pattern, size_t len, char *why, size_t why_size)
{
    pthread_once(&onig_once, onig_setup);
    regex_t *re = NULL;
    OnigErrorInfo info;
    const UChar *p = (const UChar *)pattern;
    int r = onig_new(&re, p, p + len, ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT,
                     &info);
    if (r != ONIG_NORMAL) {
        UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &info);
        snprintf(why, why_size, "%s", (const char *)msg);
        return NULL;
    }
    return re;
}

/* {"String": s} or {"Regex": r}. */
static rmb_status parse_pattern(const json_t *o, const char *where, tk_pattern *pat,
                                rmb_error *err)
{
    json_t *p = json_object_get(o, "pattern");
    const char *s;
    size_t n;
    if (!json_is_object(p))
        return rmb_fail(err, RMB_EDATA, "%s.pattern: expected {\"String\": ...} or {\"Regex\": ...}", where);
    if (json_object_get(p, "String")) {
        if (get_str(p, "String", where, true, &s, &n, err))
            return err->status;
        if (!(pat->str = dup_bytes(s, n)))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
        pat->len = n;
        return RMB_OK;
    }
    if (get_str(p, "Regex", where, true, &s, &n, err))
        return err->status;
    char why[128];
    if (!(pat->re = tk_regex_new(s, n, why, sizeof why)))
        return rmb_fail(err, RMB_EDATA, "%s.pattern.Regex: invalid regex: %s", where, why);
    return RMB_OK;
}

static rmb_status parse_behavior(const json_t *o, const char *key, const char *where,
                                 tk_behavior *out, rmb_error *err)
{
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious",
                                        "MergedWithNext", "Contiguous"};
    const char *s;
    size_t n;
    if (get_str(o, key, where, false, &s, &n, err))
        return err->status;
    if (!s)
        return RMB_OK; /* keeps the default */
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (tk_behavior)i;
            return RMB_OK;
        }
    return rmb_fail(err, RMB_EDATA, "%s.%s: unknown behavior \"%s\"", where, key, s);
}

static const char *type_of(const json_t *o, const char *where, rmb_error *err)
{
    const char *t;
    size_t n;
    if (!json_is_object(o)) {
        bad(err, where, "expected an object");
        return NULL;
    }
    if (get_str(o, "type", where, true, &t, &n, err))
        return NULL;
    return t;
}

/* Parses arr (a JSON array) into a malloc'ed array of items via parse. */
#define PARSE_LIST(arr, where, field, items, n_items, parse)                                  \
    do {                                                                                      \
        size_t cnt_ = json_array_size(arr);                                                   \
        if (!((items) = calloc(cnt_ ? cnt_ : 1, sizeof *(items))))                            \
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);                     \
        for (size_t i_ = 0; i_ < cnt_; i_++) {                                                \
            char sub_[WHERE_MAX];                                                             \
            snprintf(sub_, sizeof sub_, "%s.%s[%zu]", where, field, i_);                      \
            (n_items) = i_ + 1;                                                               \
            if (parse(json_array_get(arr, i_), sub_, &(items)[i_], err))                      \
                return err->status;                                                           \
        }                                                                                     \
    } while (0)

static rmb_status parse_normalizer(const json_t *o, const char *where, tk_normalizer *nm,
                                   rmb_error *err)
{
    static const struct { const char *name; tk_norm_type type; } simple[] = {
        {"NFC", NORM_NFC}, {"NFD", NORM_NFD}, {"NFKC", NORM_NFKC}, {"NFKD", NORM_NFKD},
        {"Lowercase", NORM_LOWERCASE}, {"StripAccents", NORM_STRIP_ACCENTS}};
    const char *t = type_of(o, where, err), *s;
    size_t n;
    if (!t)
        return err->status;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(t, simple[i].name) == 0) {
            nm->type = simple[i].type;
            return RMB_OK;
        }
    if (strcmp(t, "Replace") == 0 || strcmp(t, "Prepend") == 0) {
        bool rep = t[0] == 'R';
        nm->type = rep ? NORM_REPLACE : NORM_PREPEND;
        if (rep && parse_pattern(o, where, &nm->pattern, err))
            return err->status;
        if (get_str(o, rep ? "content" : "prepend", where, true, &s, &n, err))
            return err->status;
        if (!(nm->content = dup_bytes(s, n)))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
        nm->content_len = n;
        return RMB_OK;
    }
    if (strcmp(t, "Strip") == 0) {
        nm->type = NORM_STRIP;
        if (get_bool(o, "strip_left", where, true, &nm->left, err) ||
            get_bool(o, "strip_right", where, true, &nm->right, err))
            return err->status;
        return RMB_OK;
    }
    if (strcmp(t, "Sequence") == 0) {
        json_t *arr;
        nm->type = NORM_SEQUENCE;
        if (get_array(o, "normalizers", where, &arr, err))
            return err->status;
        PARSE_LIST(arr, where, "normalizers", nm->items, nm->n_items, parse_normalizer);
        return RMB_OK;
    }
    return rmb_fail(err, RMB_EUNSUPPORTED, "%s: normalizer type \"%s\" is not supported", where, t);
}

static bool is_numeric(int32_t cp, int32_t arg) { (void)arg; return uni_is_numeric(cp); }
static bool is_space(int32_t cp, int32_t arg) { (void)arg; return uni_is_whitespace(cp); }
static bool is_punct(int32_t cp, int32_t arg) { (void)arg; return uni_is_punctuation(cp); }
static bool is_delim(int32_t cp, int32_t arg) { return cp == arg; }

/* Compiles one of the regexes built into Hugging Face's pre-tokenizers. */
static rmb_status builtin_regex(tk_pattern *pat, const char *re, const char *where, rmb_error *err)
{
    char why[128];
    if (!(pat->re = tk_regex_new(re, strlen(re), why, sizeof why)))
        return rmb_fail(err, RMB_EDATA, "%s: built-in regex: %s", where, why);
    return RMB_OK;
}

static void pred_split(tk_pretok *pt, bool (*pred)(int32_t, int32_t), int32_t arg,
                       tk_behavior behavior)
{
    pt->type = PRE_SPLIT;
    pt->pattern.pred = pred;
    pt->pattern.arg = arg;
    pt->behavior = behavior;
}

static rmb_status parse_metaspace(const json_t *o, const char *where, tk_pretok *pt,
                                  rmb_error *err)
{
    const char *s;
    size_t n;
    bool legacy;
    pt->type = PRE_METASPACE;
    if (get_str(o, "replacement", where, true, &s, &n, err))
        return err->status;
    if (n == 0 || utf8_valid_prefix(s, n) != n || utf8_len((unsigned char)s[0]) != n)
        return bad(err, where, "replacement: expected one character");
    utf8_decode(s, &pt->ch);
    if (get_bool(o, "split", where, true, &pt->split, err) ||
        get_bool(o, "add_prefix_space", where, true, &legacy, err) ||
        get_str(o, "prepend_scheme", where, false, &s, &n, err))
        return err->status;
    pt->prepend = legacy ? PREPEND_ALWAYS : PREPEND_NEVER;
    if (s && strcmp(s, "always") == 0)
        pt->prepend = PREPEND_ALWAYS;
    else if (s && strcmp(s, "first") == 0)
        pt->prepend = PREPEND_FIRST;
    else if (s && strcmp(s, "never") == 0)
        pt->prepend = PREPEND_NEVER;
    else if (s)
        return rmb_fail(err, RMB_EDATA, "%s.prepend_scheme: unknown scheme \"%s\"", where, s);
    return RMB_OK;
}

static rmb_status parse_pretok(const json_t *o, const char *where, tk_pretok *pt, rmb_error *err)
{
    const char *t = type_of(o, where, err), *s;
    size_t n;
    bool b;
    if (!t)
        return err->status;
    if (strcmp(t, "Split") == 0) {
        pt->type = PRE_SPLIT;
        pt->behavior = SPLIT_ISOLATED;
        if (parse_pattern(o, where, &pt->pattern, err) ||
            parse_behavior(o, "behavior", where, &pt->behavior, err) ||
            get_bool(o, "invert", where, false, &pt->invert, err))
            return err->status;
        if (!json_object_get(o, "behavior"))
            return rmb_fail(err, RMB_EDATA, "%s.behavior: missing", where);
        return RMB_OK;
    }
    if (strcmp(t, "ByteLevel") == 0) {
        pt->type = PRE_BYTELEVEL;
        if (get_bool(o, "add_prefix_space", where, true, &pt->add_prefix_space, err) ||
            get_bool(o, "use_regex", where, true, &pt->use_regex, err))
            return err->status;
        return pt->use_regex ? builtin_regex(&pt->pattern,
                                             "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                                             where, err)
                             : RMB_OK;
    }
    if (strcmp(t, "Metaspace") == 0)
        return parse_metaspace(o, where, pt, err);
    if (strcmp(t, "Digits") == 0) {
        if (get_bool(o, "individual_digits", where, false, &b, err))
            return err->status;
        pred_split(pt, is_numeric, 0, b ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS);
        return RMB_OK;
    }
    if (strcmp(t, "Whitespace") == 0) {
        pt->type = PRE_SPLIT;
        pt->behavior = SPLIT_REMOVED;
        pt->invert = true;
        return builtin_regex(&pt->pattern, "\\w+|[^\\w\\s]+", where, err);
    }
    if (strcmp(t, "WhitespaceSplit") == 0) {
        pred_split(pt, is_space, 0, SPLIT_REMOVED);
        return RMB_OK;
    }
    if (strcmp(t, "Punctuation") == 0) {
        pred_split(pt, is_punct, 0, SPLIT_ISOLATED);
        return parse_behavior(o, "behavior", where, &pt->behavior, err);
    }
    if (strcmp(t, "CharDelimiterSplit") == 0) {
        if (get_str(o, "delimiter", where, true, &s, &n, err))
            return err->status;
        if (n == 0 || utf8_valid_prefix(s, n) != n || utf8_len((unsigned char)s[0]) != n)
            return bad(err, where, "delimiter: expected one character");
        int32_t cp;
        utf8_decode(s, &cp);
        pred_split(pt, is_delim, cp, SPLIT_REMOVED);
        return RMB_OK;
    }
    if (strcmp(t, "BertPreTokenizer") == 0) {
        pt->type = PRE_SEQUENCE;
        if (!(pt->items = calloc(2, sizeof *pt->items)))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
        pt->n_items = 2;
        pred_split(&pt->items[0], is_space, 0, SPLIT_REMOVED);
        pred_split(&pt->items[1], is_punct, 0, SPLIT_ISOLATED);
        return RMB_OK;
    }
    if (strcmp(t, "Sequence") == 0) {
        json_t *arr;
        pt->type = PRE_SEQUENCE;
        if (get_array(o, "pretokenizers", where, &arr, err))
            return err->status;
        PARSE_LIST(arr, where, "pretokenizers", pt->items, pt->n_items, parse_pretok);
        return RMB_OK;
    }
    return rmb_fail(err, RMB_EUNSUPPORTED, "%s: pre-tokenizer type \"%s\" is not supported", where, t);
}

/* ---- model ---- */

static rmb_status parse_vocab(tk_bpe *bpe, const json_t *vocab, rmb_error *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(vocab))
        return bad(err, "model.vocab", "expected an object");
    json_object_foreach((json_t *)vocab, key, v) {
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= INT32_MAX)
            return rmb_fail(err, RMB_EDATA, "model.vocab[\"%.64s\"]: expected an id from 0 to %d",
                            key, INT32_MAX - 1);
        if (!tk_strmap_put(&bpe->vocab, key, strlen(key), (int32_t)id))
            return rmb_fail(err, RMB_ENOMEM, "model.vocab: out of memory");
    }
    /* Most BPE lookups are of single characters: a direct table for them. */
    if (!(bpe->bmp_ids = malloc(0x10000 * sizeof *bpe->bmp_ids)))
        return rmb_fail(err, RMB_ENOMEM, "model.vocab: out of memory");
    memset(bpe->bmp_ids, 0xFF, 0x10000 * sizeof *bpe->bmp_ids);
    for (size_t i = 0; i < bpe->vocab.n; i++) {
        const char *k = tk_strmap_key(&bpe->vocab, i);
        size_t len = bpe->vocab.ents[i].len;
        int32_t cp;
        if (len && len <= 3 && utf8_valid_prefix(k, len) == len && utf8_decode(k, &cp) == len)
            bpe->bmp_ids[cp] = bpe->vocab.ents[i].val;
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        bpe->byte_ids[b] = tk_strmap_get(&bpe->vocab, name, strlen(name));
    }
    return RMB_OK;
}

/* One merge, "a b" or ["a", "b"]: splits it into its two tokens. */
static rmb_status merge_parts(const json_t *m, size_t i, const char **a, size_t *an,
                              const char **b, size_t *bn, rmb_error *err)
{
    if (json_is_string(m)) {
        const char *s = json_string_value(m), *sp = strchr(s, ' ');
        if (!sp)
            return rmb_fail(err, RMB_EDATA, "model.merges[%zu]: expected \"a b\"", i);
        *a = s;
        *an = (size_t)(sp - s);
        *b = sp + 1;
        *bn = json_string_length(m) - *an - 1;
        return RMB_OK;
    }
    json_t *x = json_array_get(m, 0), *y = json_array_get(m, 1);
    if (json_array_size(m) != 2 || !json_is_string(x) || !json_is_string(y))
        return rmb_fail(err, RMB_EDATA, "model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", i);
    *a = json_string_value(x);
    *an = json_string_length(x);
    *b = json_string_value(y);
    *bn = json_string_length(y);
    return RMB_OK;
}

static rmb_status parse_merges(tk_bpe *bpe, const json_t *merges, rmb_error *err)
{
    rmb_buf joined = {0};
    size_t plen = bpe->prefix ? strlen(bpe->prefix) : 0;
    if (!json_is_array(merges))
        return bad(err, "model.merges", "expected an array");
    for (size_t i = 0; i < json_array_size(merges); i++) {
        const char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        if (merge_parts(json_array_get(merges, i), i, &a, &an, &b, &bn, err))
            break;
        int32_t ia = tk_strmap_get(&bpe->vocab, a, an), ib = tk_strmap_get(&bpe->vocab, b, bn);
        joined.len = 0;
        rmb_buf_append(&joined, a, an);
        rmb_buf_append(&joined, b + (bn >= plen ? plen : 0), bn >= plen ? bn - plen : bn);
        int32_t in = joined.oom ? -1 : tk_strmap_get(&bpe->vocab, joined.data, joined.len);
        if (ia < 0 || ib < 0 || in < 0) {
            rmb_fail(err, RMB_EDATA, "model.merges[%zu]: token \"%.64s\" is not in the vocab", i,
                     ia < 0 ? a : ib < 0 ? b : joined.data ? joined.data : "");
            break;
        }
        if (!tk_u64map_put(&bpe->merges, (uint64_t)ia << 32 | (uint32_t)ib,
                           (uint64_t)i << 32 | (uint32_t)in)) {
            rmb_fail(err, RMB_ENOMEM, "model.merges: out of memory");
            break;
        }
    }
    rmb_buf_free(&joined);
    return err->status;
}

static rmb_status parse_affix(const json_t *m, const char *key, char **out, rmb_error *err)
{
    const char *s;
    size_t n;
    if (get_str(m, key, "model", false, &s, &n, err))
        return err->status;
    if (s && n && !(*out = dup_bytes(s, n)))
        return rmb_fail(err, RMB_ENOMEM, "model.%s: out of memory", key);
    return RMB_OK;
}

static rmb_status parse_model(tk_bpe *bpe, const json_t *m, rmb_error *err)
{
    const char *t, *unk;
    size_t n;
    if (!json_is_object(m))
        return bad(err, "model", "expected an object");
    if (get_str(m, "type", "model", false, &t, &n, err))
        return err->status;
    if (t && strcmp(t, "BPE") != 0)
        return rmb_fail(err, RMB_EUNSUPPORTED, "model.type: model \"%s\" is not supported (only BPE)", t);
    if (!t && !json_object_get(m, "merges"))
        return bad(err, "model.type", "missing");
    json_t *dropout = json_object_get(m, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0))
        return rmb_fail(err, RMB_EUNSUPPORTED, "model.dropout: BPE dropout is not supported");
    if (get_bool(m, "fuse_unk", "model", false, &bpe->fuse_unk, err) ||
        get_bool(m, "byte_fallback", "model", false, &bpe->byte_fallback, err) ||
        get_bool(m, "ignore_merges", "model", false, &bpe->ignore_merges, err) ||
        parse_affix(m, "continuing_subword_prefix", &bpe->prefix, err) ||
        parse_affix(m, "end_of_word_suffix", &bpe->suffix, err) ||
        parse_vocab(bpe, json_object_get(m, "vocab"), err) ||
        parse_merges(bpe, json_object_get(m, "merges"), err) ||
        get_str(m, "unk_token", "model", false, &unk, &n, err))
        return err->status;
    bpe->unk_id = unk ? tk_strmap_get(&bpe->vocab, unk, n) : -1;
    if (unk && bpe->unk_id < 0)
        return rmb_fail(err, RMB_EDATA, "model.unk_token: \"%.64s\" is not in the vocab", unk);
    return RMB_OK;
}

/* ---- added tokens ---- */

/* The id Hugging Face's AddedVocabulary::add_tokens gives a token: the id
 * of an equal token already known (added, then model), else the next one
 * after the model's vocab and the added ids so far.  (The "id" written in
 * the file is not used: real files agree with this rule.) */
static int32_t added_id(const rmb_tokenizer *tok, const char *s, size_t n, int64_t *max_id)
{
    int64_t vocab_size = (int64_t)tok->bpe.vocab.n;
    int32_t id = tk_strmap_get(&tok->added_ids, s, n);
    if (id < 0)
        id = tk_strmap_get(&tok->bpe.vocab, s, n);
    if (id < 0)
        id = (int32_t)(*max_id >= vocab_size ? *max_id + 1 : vocab_size);
    if (id > *max_id)
        *max_id = id;
    return id;
}

static rmb_status parse_added(rmb_tokenizer *tok, const json_t *arr, rmb_error *err)
{
    if (!arr || json_is_null(arr))
        return RMB_OK;
    if (!json_is_array(arr))
        return bad(err, "added_tokens", "expected an array");
    size_t cnt = json_array_size(arr);
    int64_t max_id = -1;
    if (!(tok->added = calloc(cnt ? cnt : 1, sizeof *tok->added)))
        return rmb_fail(err, RMB_ENOMEM, "added_tokens: out of memory");
    for (size_t i = 0; i < cnt; i++) {
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu]", i);
        const json_t *o = json_array_get(arr, i);
        tk_added *a = &tok->added[i];
        const char *s;
        size_t n;
        if (!json_is_object(o))
            return bad(err, where, "expected an object");
        json_t *id = json_object_get(o, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= INT32_MAX)
            return rmb_fail(err, RMB_EDATA, "%s.id: expected an id from 0 to %d", where, INT32_MAX - 1);
        if (get_str(o, "content", where, true, &s, &n, err) ||
            get_bool(o, "single_word", where, false, &a->single_word, err) ||
            get_bool(o, "lstrip", where, false, &a->lstrip, err) ||
            get_bool(o, "rstrip", where, false, &a->rstrip, err) ||
            get_bool(o, "special", where, false, &a->special, err) ||
            get_bool(o, "normalized", where, !a->special, &a->normalized, err))
            return err->status;
        if (n == 0)
            return bad(err, where, "content: empty");
        if (!(a->content = dup_bytes(s, n)))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
        tok->n_added = i + 1;
        a->len = n;
        a->id = added_id(tok, s, n, &max_id);
        if (!tk_strmap_put(&tok->added_ids, s, n, a->id))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
    }
    return RMB_OK;
}

/* ---- post-processor: what add_special puts before and after ---- */

static rmb_status push_ids(tk_ids *dst, const tk_ids *src, const char *where, rmb_error *err)
{
    for (size_t i = 0; i < src->n; i++)
        if (!tk_ids_push(dst, src->v[i]))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
    return RMB_OK;
}

/* Wraps the current prefix/suffix in pre ... post (a later processor of a
 * Sequence wraps what the earlier ones produced). */
static rmb_status wrap(rmb_tokenizer *tok, const tk_ids *pre, const tk_ids *post,
                       const char *where, rmb_error *err)
{
    tk_ids p = {0};
    if (push_ids(&p, pre, where, err) || push_ids(&p, &tok->prefix, where, err) ||
        push_ids(&tok->suffix, post, where, err)) {
        free(p.v);
        return err->status;
    }
    free(tok->prefix.v);
    tok->prefix = p;
    return RMB_OK;
}

static rmb_status template_special(const json_t *specials, const char *name, const char *where,
                                   tk_ids *out, rmb_error *err)
{
    json_t *ids = json_object_get(json_object_get(specials, name), "ids");
    if (!json_is_array(ids))
        return rmb_fail(err, RMB_EDATA, "%s.special_tokens: \"%.64s\" missing or without ids", where, name);
    for (size_t i = 0; i < json_array_size(ids); i++) {
        json_t *v = json_array_get(ids, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= INT32_MAX)
            return rmb_fail(err, RMB_EDATA, "%s.special_tokens[\"%.64s\"].ids[%zu]: expected an id", where, name, i);
        if (!tk_ids_push(out, (int32_t)json_integer_value(v)))
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
    }
    return RMB_OK;
}

static rmb_status parse_template(rmb_tokenizer *tok, const json_t *o, const char *where,
                                 rmb_error *err)
{
    json_t *single, *specials = json_object_get(o, "special_tokens");
    tk_ids side[2] = {{0}, {0}};
    bool seen_a = false;
    if (get_array(o, "single", where, &single, err))
        return err->status;
    for (size_t i = 0; !err->status && i < json_array_size(single); i++) {
        json_t *item = json_array_get(single, i), *sp = json_object_get(item, "SpecialToken");
        json_t *seq = json_object_get(item, "Sequence");
        if (sp) {
            json_t *id = json_object_get(sp, "id");
            if (!json_is_string(id))
                rmb_fail(err, RMB_EDATA, "%s.single[%zu].SpecialToken.id: expected a string", where, i);
            else
                template_special(specials, json_string_value(id), where, &side[seen_a], err);
        } else if (seq && !seen_a) {
            seen_a = true;
        } else
            rmb_fail(err, RMB_EDATA, "%s.single[%zu]: expected one SpecialToken or Sequence", where, i);
    }
    if (!err->status && !seen_a)
        rmb_fail(err, RMB_EDATA, "%s.single: no Sequence", where);
    if (!err->status)
        wrap(tok, &side[0], &side[1], where, err);
    free(side[0].v);
    free(side[1].v);
    return err->status;
}

/* RobertaProcessing / BertProcessing: cls A sep, each a [token, id] pair. */
static rmb_status parse_cls_sep(rmb_tokenizer *tok, const json_t *o, const char *where,
                                rmb_error *err)
{
    tk_ids side[2] = {{0}, {0}};
    const char *keys[2] = {"cls", "sep"};
    for (int k = 0; k < 2 && !err->status; k++) {
        json_t *id = json_array_get(json_object_get(o, keys[k]), 1);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= INT32_MAX)
            rmb_fail(err, RMB_EDATA, "%s.%s: expected [token, id]", where, keys[k]);
        else if (!tk_ids_push(&side[k], (int32_t)json_integer_value(id)))
            rmb_fail(err, RMB_ENOMEM, "%s: out of memory", where);
    }
    if (!err->status)
        wrap(tok, &side[0], &side[1], where, err);
    free(side[0].v);
    free(side[1].v);
    return err->status;
}

static rmb_status parse_post(rmb_tokenizer *tok, const json_t *o, const char *where,
                             rmb_error *err)
{
    const char *t = type_of(o, where, err);
    if (!t)
        return err->status;
    if (strcmp(t, "ByteLevel") == 0)
        return RMB_OK; /* changes offsets only */
    if (strcmp(t, "TemplateProcessing") == 0)
        return parse_template(tok, o, where, err);
    if (strcmp(t, "RobertaProcessing") == 0 || strcmp(t, "BertProcessing") == 0)
        return parse_cls_sep(tok, o, where, err);
    if (strcmp(t, "Sequence") == 0) {
        json_t *arr;
        if (get_array(o, "processors", where, &arr, err))
            return err->status;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char sub[WHERE_MAX];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", where, i);
            if (parse_post(tok, json_array_get(arr, i), sub, err))
                return err->status;
        }
        return RMB_OK;
    }
    return rmb_fail(err, RMB_EUNSUPPORTED, "%s: post-processor type \"%s\" is not supported", where, t);
}

/* ---- the whole file ---- */

static rmb_status build_trie(rmb_tokenizer *tok, tk_trie *t, bool normalized, rmb_error *err);
static rmb_status build_id_table(rmb_tokenizer *tok, rmb_error *err);

rmb_status tk_load(rmb_tokenizer *tok, json_t *root, rmb_error *err)
{
    json_t *nm = json_object_get(root, "normalizer"), *pt = json_object_get(root, "pre_tokenizer");
    json_t *pp = json_object_get(root, "post_processor");
    if (!json_is_object(root))
        return bad(err, "(top level)", "expected an object");
    if (!json_object_get(root, "model"))
        return bad(err, "model", "missing");
    if (parse_model(&tok->bpe, json_object_get(root, "model"), err))
        return err->status;
    if (nm && !json_is_null(nm)) {
        if (!(tok->normalizer = calloc(1, sizeof *tok->normalizer)))
            return rmb_fail(err, RMB_ENOMEM, "normalizer: out of memory");
        if (parse_normalizer(nm, "normalizer", tok->normalizer, err))
            return err->status;
    }
    if (pt && !json_is_null(pt)) {
        if (!(tok->pretok = calloc(1, sizeof *tok->pretok)))
            return rmb_fail(err, RMB_ENOMEM, "pre_tokenizer: out of memory");
        if (parse_pretok(pt, "pre_tokenizer", tok->pretok, err))
            return err->status;
    }
    if (pp && !json_is_null(pp) && parse_post(tok, pp, "post_processor", err))
        return err->status;
    if (parse_added(tok, json_object_get(root, "added_tokens"), err) ||
        build_trie(tok, &tok->raw_trie, false, err) || build_trie(tok, &tok->norm_trie, true, err))
        return err->status;
    return build_id_table(tok, err);
}

static rmb_status trie_insert(tk_trie *t, const char *s, size_t n, int32_t index, rmb_error *err)
{
    int64_t node = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        uint64_t child;
        bool found = node == 0 ? t->root[b] >= 0 : tk_u64map_get(&t->edges, (uint64_t)node << 8 | b, &child);
        if (node == 0 && found)
            child = (uint64_t)t->root[b];
        if (!found) {
            int32_t *tokn = realloc(t->token, (t->n_nodes + 1) * sizeof *tokn);
            if (!tokn)
                return rmb_fail(err, RMB_ENOMEM, "added_tokens: out of memory");
            t->token = tokn;
            child = t->n_nodes;
            t->token[t->n_nodes++] = -1;
            if (node == 0)
                t->root[b] = (int32_t)child;
            else if (!tk_u64map_put(&t->edges, (uint64_t)node << 8 | b, child))
                return rmb_fail(err, RMB_ENOMEM, "added_tokens: out of memory");
        }
        node = (int64_t)child;
    }
    if (t->token[node] < 0) /* the first of equal contents wins */
        t->token[node] = index;
    return RMB_OK;
}

static rmb_status build_trie(rmb_tokenizer *tok, tk_trie *t, bool normalized, rmb_error *err)
{
    memset(t->root, 0xFF, sizeof t->root);
    if (!(t->token = malloc(sizeof *t->token)))
        return rmb_fail(err, RMB_ENOMEM, "added_tokens: out of memory");
    t->token[0] = -1;
    t->n_nodes = 1;
    tk_scratch sc = {0};
    sc.region = onig_region_new();
    rmb_buf norm = {0};
    for (size_t i = 0; !err->status && i < tok->n_added; i++) {
        const tk_added *a = &tok->added[i];
        if (a->normalized != normalized)
            continue;
        norm.len = 0;
        if (normalized && tok->normalizer) {
            if (!tk_normalize(tok->normalizer, a->content, a->len, &norm, &sc))
                rmb_fail(err, RMB_EDATA, "added_tokens[%zu]: cannot normalize", i);
        } else
            rmb_buf_append(&norm, a->content, a->len);
        if (!err->status && norm.len)
            trie_insert(t, norm.data, norm.len, (int32_t)i, err);
    }
    rmb_buf_free(&norm);
    onig_region_free(sc.region, 1);
    free(sc.segs);
    rmb_buf_free(&sc.tmp[0]);
    rmb_buf_free(&sc.tmp[1]);
    return err->status;
}

static rmb_status build_id_table(rmb_tokenizer *tok, rmb_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < tok->bpe.vocab.n; i++)
        if ((size_t)tok->bpe.vocab.ents[i].val + 1 > n)
            n = (size_t)tok->bpe.vocab.ents[i].val + 1;
    for (size_t i = 0; i < tok->n_added; i++)
        if ((size_t)tok->added[i].id + 1 > n)
            n = (size_t)tok->added[i].id + 1;
    if (n > 64u * 1024 * 1024)
        return bad(err, "model.vocab", "ids above 64M are not supported");
    if (!(tok->id_to_token = calloc(n ? n : 1, sizeof *tok->id_to_token)))
        return rmb_fail(err, RMB_ENOMEM, "vocab: out of memory");
    tok->n_ids = n;
    for (size_t i = 0; i < tok->bpe.vocab.n; i++)
        tok->id_to_token[tok->bpe.vocab.ents[i].val] = tk_strmap_key(&tok->bpe.vocab, i);
    for (size_t i = 0; i < tok->n_added; i++)
        tok->id_to_token[tok->added[i].id] = tok->added[i].content;
    return RMB_OK;
}
