/* The tokenizer's public API and the encode pipeline (see
 * tokenizer_internal.h for the stages). */
#include "common/fileio.h"
#include "text/tokenizer_internal.h"
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void trie_free(tk_trie *t)
{
    tk_u64map_free(&t->edges);
    free(t->token);
}

void rmb_tokenizer_close(rmb_tokenizer *tok)
{
    if (!tok)
        return;
    tk_bpe_free(&tok->bpe);
    tk_normalizer_free(tok->normalizer);
    free(tok->normalizer);
    tk_pretok_free(tok->pretok);
    free(tok->pretok);
    for (size_t i = 0; i < tok->n_added; i++)
        free(tok->added[i].content);
    free(tok->added);
    tk_strmap_free(&tok->added_ids);
    trie_free(&tok->raw_trie);
    trie_free(&tok->norm_trie);
    free(tok->prefix.v);
    free(tok->suffix.v);
    free(tok->id_to_token);
    free(tok);
}

static rmb_status load_json(rmb_tokenizer **out, const char *json, size_t len, rmb_error *err);

rmb_status rmb_tokenizer_load(rmb_tokenizer **out, const char *json, size_t len, rmb_error *caller_err)
{
    /* The loader tests err->status as it goes: it needs a clean record. */
    rmb_error local = {0}, *err = &local;
    rmb_status st = load_json(out, json, len, err);
    if (st && caller_err)
        *caller_err = local;
    return st;
}

static rmb_status load_json(rmb_tokenizer **out, const char *json, size_t len, rmb_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &jerr);
    if (!root)
        return rmb_fail(err, RMB_EDATA, "line %d: %s", jerr.line, jerr.text);
    rmb_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        rmb_fail(err, RMB_ENOMEM, "out of memory");
    else if (tk_load(tok, root, err) == RMB_OK)
        *out = tok;
    json_decref(root);
    if (!*out) {
        rmb_tokenizer_close(tok);
        return err->status;
    }
    return RMB_OK;
}

rmb_status rmb_tokenizer_open(rmb_tokenizer **out, const char *path, rmb_error *err)
{
    *out = NULL;
    rmb_buf file = {0};
    struct stat st;
    rmb_buf_puts(&file, path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rmb_buf_puts(&file, "/tokenizer.json");
    if (file.oom)
        return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", path);
    char *data = NULL;
    size_t len = 0;
    rmb_status status = rmb_read_file(file.data, &data, &len, err);
    if (status == RMB_OK && (status = rmb_tokenizer_load(out, data, len, err)) != RMB_OK)
        rmb_error_prefix(err, "%s: ", file.data);
    free(data);
    rmb_buf_free(&file);
    return status;
}

/* \w as the Rust regex crate has it, for single_word tokens. */
static bool is_word(int32_t cp)
{
    return cp == '_' || uni_is_alphanumeric(cp) || uni_is_mark(cp);
}

static bool word_before(const char *s, size_t at)
{
    if (at == 0)
        return false;
    size_t j = at - 1;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
        j--;
    int32_t cp;
    utf8_decode(s + j, &cp);
    return is_word(cp);
}

static bool word_after(const char *s, size_t n, size_t at)
{
    int32_t cp;
    return at < n && (utf8_decode(s + at, &cp), is_word(cp));
}

/* The longest added token starting at s[i], as an index into tok->added. */
static int32_t trie_match(const tk_trie *t, const char *s, size_t n, size_t i, size_t *end)
{
    int32_t node = t->root[(unsigned char)s[i]], best = -1;
    for (size_t j = i + 1; node >= 0; j++) {
        if (t->token[node] >= 0) {
            best = t->token[node];
            *end = j;
        }
        uint64_t child;
        if (j == n || !tk_u64map_get(&t->edges, (uint64_t)node << 8 | (unsigned char)s[j], &child))
            break;
        node = (int32_t)child;
    }
    return best;
}

/* Hugging Face's AddedVocabulary::split_with_indices: leftmost-longest
 * matches, single_word checks, lstrip/rstrip widening over whitespace. */
static void split_added(const rmb_tokenizer *tok, const tk_trie *t, const char *s, size_t n,
                        bool first, tk_pieces *out)
{
    size_t start_offset = 0, i = 0, end = 0;
    while (i < n) {
        int32_t k = t->root[(unsigned char)s[i]] >= 0 ? trie_match(t, s, n, i, &end) : -1;
        if (k < 0) {
            i++;
            continue;
        }
        const tk_added *a = &tok->added[k];
        size_t start = i, stop = end;
        i = end;
        if (a->single_word && (word_before(s, start) || word_after(s, n, stop)))
            continue;
        if (a->lstrip) {
            size_t j = start;
            while (j > 0) {
                size_t c = j - 1;
                while (c > 0 && ((unsigned char)s[c] & 0xC0) == 0x80)
                    c--;
                int32_t cp;
                utf8_decode(s + c, &cp);
                if (!uni_is_whitespace(cp))
                    break;
                j = c;
            }
            start = j > start_offset ? j : start_offset;
        }
        if (a->rstrip) {
            int32_t cp;
            while (stop < n) {
                size_t c = utf8_decode(s + stop, &cp);
                if (!uni_is_whitespace(cp))
                    break;
                stop += c;
            }
        }
        if (start_offset < start)
            tk_pieces_add(out, s + start_offset, start - start_offset, -1, first && start_offset == 0);
        tk_pieces_add(out, NULL, 0, a->id, false);
        start_offset = stop;
    }
    if (start_offset < n)
        tk_pieces_add(out, s + start_offset, n - start_offset, -1, first && start_offset == 0);
}

typedef struct encoder {
    tk_scratch sc;
    tk_pieces a, b;
    rmb_buf norm;
} encoder;

static void encoder_free(encoder *e)
{
    if (e->sc.region)
        onig_region_free(e->sc.region, 1);
    free(e->sc.segs);
    rmb_buf_free(&e->sc.tmp[0]);
    rmb_buf_free(&e->sc.tmp[1]);
    tk_pieces_free(&e->a);
    tk_pieces_free(&e->b);
    rmb_buf_free(&e->norm);
}

/* Runs the stages on valid UTF-8 s[0..n) and appends the ids. */
static bool encode_text(const rmb_tokenizer *tok, encoder *e, const char *s, size_t n, tk_ids *ids)
{
    tk_pieces *cur = &e->a, *next = &e->b;
    split_added(tok, &tok->raw_trie, s, n, true, cur);
    for (size_t i = 0; i < cur->n; i++) {
        const tk_piece *p = &cur->p[i];
        if (p->id >= 0) {
            tk_pieces_add(next, NULL, 0, p->id, false);
            continue;
        }
        const char *text = cur->text.data + p->off;
        size_t len = p->len;
        if (tok->normalizer) {
            e->norm.len = 0;
            if (!tk_normalize(tok->normalizer, text, len, &e->norm, &e->sc))
                return false;
            text = e->norm.data ? e->norm.data : "";
            len = e->norm.len;
        }
        split_added(tok, &tok->norm_trie, text, len, p->first, next);
    }
    if (next->text.oom || cur->text.oom)
        return false;
    if (tok->pretok) {
        tk_pieces_clear(cur);
        if (!tk_pretokenize(tok->pretok, next, cur, &e->sc))
            return false;
        next = cur;
    }
    for (size_t i = 0; i < next->n; i++) {
        const tk_piece *p = &next->p[i];
        if (!(p->id >= 0 ? tk_ids_push(ids, p->id)
                         : tk_bpe_word(&tok->bpe, next->text.data + p->off, p->len, ids)))
            return false;
    }
    return true;
}

rmb_status rmb_tokenizer_encode(const rmb_tokenizer *tok, const char *text, size_t len,
                                bool add_special, int32_t **ids, size_t *n_ids, rmb_error *err)
{
    *ids = NULL;
    *n_ids = 0;
    rmb_buf fixed = {0};
    if (utf8_valid_prefix(text, len) != len) {
        utf8_lossy_append(&fixed, text, len);
        if (fixed.oom)
            return rmb_fail(err, RMB_ENOMEM, "tokenizer: out of memory");
        text = fixed.data;
        len = fixed.len;
    }
    encoder e = {0};
    tk_ids out = {0};
    e.sc.region = onig_region_new();
    bool ok = e.sc.region != NULL;
    for (size_t i = 0; ok && add_special && i < tok->prefix.n; i++)
        ok = tk_ids_push(&out, tok->prefix.v[i]);
    ok = ok && encode_text(tok, &e, text, len, &out);
    for (size_t i = 0; ok && add_special && i < tok->suffix.n; i++)
        ok = tk_ids_push(&out, tok->suffix.v[i]);
    encoder_free(&e);
    rmb_buf_free(&fixed);
    if (!ok) {
        free(out.v);
        return rmb_fail(err, RMB_ENOMEM, "tokenizer: out of memory or regex failure");
    }
    *ids = out.v;
    *n_ids = out.n;
    return RMB_OK;
}

int32_t rmb_tokenizer_token_id(const rmb_tokenizer *tok, const char *token)
{
    size_t n = strlen(token);
    int32_t id = tk_strmap_get(&tok->added_ids, token, n);
    return id >= 0 ? id : tk_strmap_get(&tok->bpe.vocab, token, n);
}

const char *rmb_tokenizer_token(const rmb_tokenizer *tok, int32_t id)
{
    return id >= 0 && (size_t)id < tok->n_ids ? tok->id_to_token[id] : NULL;
}

size_t rmb_tokenizer_vocab_size(const rmb_tokenizer *tok)
{
    return tok->n_ids;
}
