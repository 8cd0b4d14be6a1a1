/* Private pieces of the tokenizer: hash maps, the components of a
 * tokenizer.json (normalizer, pre-tokenizer, BPE model, post-processor) and
 * the text pieces an encode passes from one stage to the next.
 *
 * The stages follow Hugging Face tokenizers' TokenizerImpl::encode: split out
 * the added tokens that are matched on raw text, normalize each remaining
 * piece, split out the added tokens matched on normalized text, pre-tokenize,
 * run the model on each word, then post-process. */
#ifndef RMB_TEXT_TOKENIZER_INTERNAL_H
#define RMB_TEXT_TOKENIZER_INTERNAL_H

#include "common/buf.h"
#include "rmb/tokenizer.h"

#include <jansson.h>
#include <oniguruma.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- hash maps and arrays (tokenizer_map.c) ---- */

/* Makes room for one more element in the array *v of *cap elements of size
 * elem holding n: doubles it when full.  False when out of memory. */
bool tk_grow(void *v, size_t *cap, size_t n, size_t elem);

/* Byte strings (owned copies, may hold NUL) to int32 values. */
typedef struct tk_strmap {
    rmb_buf pool;       /* the keys, back to back */
    struct tk_strent {
        size_t off;
        uint32_t len;
        int32_t val;
    } *ents;
    size_t n, cap;
    uint32_t *slots;    /* entry index + 1; 0 is empty */
    size_t mask;
} tk_strmap;

/* Adds or replaces key -> val; false when out of memory. */
bool tk_strmap_put(tk_strmap *m, const char *key, size_t len, int32_t val);
/* The value of key, or -1. */
int32_t tk_strmap_get(const tk_strmap *m, const char *key, size_t len);
/* The stored copy of entry i's key (valid until the next put). */
const char *tk_strmap_key(const tk_strmap *m, size_t i);
void tk_strmap_free(tk_strmap *m);

/* uint64 keys to uint64 values; UINT64_MAX is not a valid key. */
typedef struct tk_u64map {
    struct tk_u64ent {
        uint64_t key, val; /* side by side: one cache miss per probe */
    } *ents;
    size_t n, mask;
} tk_u64map;

bool tk_u64map_put(tk_u64map *m, uint64_t key, uint64_t val);
/* Finds key: true and *val set, or false. */
bool tk_u64map_get(const tk_u64map *m, uint64_t key, uint64_t *val);
void tk_u64map_free(tk_u64map *m);

/* ---- text pieces passed between stages ---- */

typedef struct tk_piece {
    size_t off, len; /* the piece's text in its tk_pieces' text buffer */
    int32_t id;      /* an added token already resolved, or -1 for text */
    bool first;      /* starts at offset 0 of the original text */
} tk_piece;

typedef struct tk_pieces {
    rmb_buf text;
    tk_piece *p;
    size_t n, cap;
} tk_pieces;

/* Appends a text piece (its bytes copied) or a token piece (id >= 0);
 * empty text pieces are dropped, as Hugging Face drops them. */
void tk_pieces_add(tk_pieces *ps, const char *s, size_t len, int32_t id, bool first);
void tk_pieces_clear(tk_pieces *ps);
void tk_pieces_free(tk_pieces *ps);

/* ---- patterns: a literal string or an Oniguruma regex ---- */

typedef struct tk_pattern {
    regex_t *re;                       /* a regex, or else: */
    bool (*pred)(int32_t cp, int32_t arg); /* each character it accepts, or else: */
    int32_t arg;
    char *str;                         /* a literal string */
    size_t len;
} tk_pattern;

/* Per-call scratch memory, so that one tokenizer serves many threads. */
typedef struct tk_scratch {
    OnigRegion *region;
    struct tk_seg {
        size_t start, end;
        bool match;
    } *segs;
    size_t n_segs, cap_segs;
    rmb_buf tmp[2];
} tk_scratch;

/* Finds the matches of a pattern in s[0..n) as Hugging Face's find_matches
 * does (the whole text cut into match and non-match segments, in
 * scratch->segs).  False when out of memory or the regex engine fails. */
bool tk_pattern_segments(const tk_pattern *pat, const char *s, size_t n, tk_scratch *scratch);

/* ---- normalizers (tokenizer_normalize.c) ---- */

typedef enum tk_norm_type {
    NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWERCASE, NORM_REPLACE, NORM_PREPEND,
    NORM_STRIP, NORM_STRIP_ACCENTS, NORM_SEQUENCE
} tk_norm_type;

typedef struct tk_normalizer {
    tk_norm_type type;
    tk_pattern pattern;         /* Replace */
    char *content;              /* Replace's content, Prepend's prepend */
    size_t content_len;
    bool left, right;           /* Strip */
    struct tk_normalizer *items; /* Sequence */
    size_t n_items;
} tk_normalizer;

/* Appends the normalized form of s[0..n) to out. */
bool tk_normalize(const tk_normalizer *nm, const char *s, size_t n, rmb_buf *out,
                  tk_scratch *scratch);
void tk_normalizer_free(tk_normalizer *nm);

/* ---- pre-tokenizers (tokenizer_pretok.c) ---- */

typedef enum tk_behavior {
    SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS
} tk_behavior;

/* Split, Digits, Whitespace, WhitespaceSplit, Punctuation and
 * CharDelimiterSplit are all a PRE_SPLIT with their own pattern and
 * behaviour; BertPreTokenizer is a sequence of two of them. */
typedef enum tk_pre_type { PRE_SPLIT, PRE_BYTELEVEL, PRE_METASPACE, PRE_SEQUENCE } tk_pre_type;

typedef enum tk_prepend { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } tk_prepend;

typedef struct tk_pretok {
    tk_pre_type type;
    tk_pattern pattern;      /* Split; ByteLevel's when use_regex */
    tk_behavior behavior;    /* Split */
    bool invert;             /* Split */
    bool add_prefix_space;   /* ByteLevel */
    bool use_regex;          /* ByteLevel */
    int32_t ch;              /* Metaspace's replacement */
    tk_prepend prepend;      /* Metaspace */
    bool split;              /* Metaspace */
    struct tk_pretok *items; /* Sequence */
    size_t n_items;
} tk_pretok;

/* Pre-tokenizes every text piece of in into out (token pieces pass). */
bool tk_pretokenize(const tk_pretok *pt, const tk_pieces *in, tk_pieces *out, tk_scratch *scratch);
void tk_pretok_free(tk_pretok *pt);

/* ---- BPE model (tokenizer_bpe.c) ---- */

typedef struct tk_bpe {
    tk_strmap vocab;
    tk_u64map merges;        /* (left id << 32 | right id) -> (rank << 32 | new id) */
    int32_t unk_id;          /* -1: none */
    bool fuse_unk, byte_fallback, ignore_merges;
    char *prefix, *suffix;   /* continuing_subword_prefix, end_of_word_suffix */
    int32_t byte_ids[256];   /* "<0xXX>" tokens for byte fallback, -1 if absent */
    int32_t *bmp_ids;        /* vocab id of each BMP character alone, -1 if absent */
} tk_bpe;

/* Appends the ids of one word to *ids. */
typedef struct tk_ids {
    int32_t *v;
    size_t n, cap;
} tk_ids;

bool tk_ids_push(tk_ids *ids, int32_t id);
bool tk_bpe_word(const tk_bpe *bpe, const char *w, size_t n, tk_ids *ids);
void tk_bpe_free(tk_bpe *bpe);

/* ---- the tokenizer (tokenizer.c, tokenizer_load.c) ---- */

typedef struct tk_trie {
    tk_u64map edges;         /* (node << 8 | byte) -> child node */
    int32_t *token;          /* node -> added token index, or -1 */
    size_t n_nodes;
    int32_t root[256];       /* root's children, -1 if none */
} tk_trie;

typedef struct tk_added {
    char *content;
    size_t len;
    int32_t id;
    bool single_word, lstrip, rstrip, normalized, special;
} tk_added;

struct rmb_tokenizer {
    tk_bpe bpe;
    tk_normalizer *normalizer;   /* NULL: none */
    tk_pretok *pretok;           /* NULL: none */
    tk_added *added;
    size_t n_added;
    tk_strmap added_ids;         /* content -> id */
    tk_trie raw_trie, norm_trie; /* added tokens matched before / after normalizing */
    tk_ids prefix, suffix;       /* what the post-processor adds around the ids */
    const char **id_to_token;    /* id -> token string (added over vocab) */
    size_t n_ids;
};

/* Parses a tokenizer.json document into tok (zeroed by the caller). */
rmb_status tk_load(rmb_tokenizer *tok, json_t *root, rmb_error *err);
/* Compiles a regex with the syntax and encoding Hugging Face uses. */
regex_t *tk_regex_new(const char *pattern, size_t len, char *why, size_t why_size);
void tk_pattern_free(tk_pattern *pat);

#endif
