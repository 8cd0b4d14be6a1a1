/* Open-addressing hash maps for the vocabulary, the merge ranks and the
 * added-token trie, and the small growable arrays the stages share. */
#include "text/tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

bool tk_grow(void *v, size_t *cap, size_t n, size_t elem)
{
    void **p = v;
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix64(h ^ w);
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    return mix64(h ^ w);
}

/* Doubles the slot table when it is half full. */
static bool strmap_grow(tk_strmap *m)
{
    size_t size = m->mask ? (m->mask + 1) * 2 : 64;
    uint32_t *slots = calloc(size, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < m->n; i++) {
        const struct tk_strent *e = &m->ents[i];
        size_t h = hash_bytes(m->pool.data + e->off, e->len) & (size - 1);
        while (slots[h])
            h = (h + 1) & (size - 1);
        slots[h] = (uint32_t)i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->mask = size - 1;
    return true;
}

static size_t strmap_find(const tk_strmap *m, const char *key, size_t len)
{
    size_t h = hash_bytes(key, len) & m->mask;
    for (;;) {
        uint32_t s = m->slots[h];
        if (!s)
            return h;
        const struct tk_strent *e = &m->ents[s - 1];
        if (e->len == len && memcmp(m->pool.data + e->off, key, len) == 0)
            return h;
        h = (h + 1) & m->mask;
    }
}

bool tk_strmap_put(tk_strmap *m, const char *key, size_t len, int32_t val)
{
    if (len > UINT32_MAX || m->n >= UINT32_MAX - 1)
        return false;
    if ((m->n + 1) * 2 > m->mask + 1 && !strmap_grow(m))
        return false;
    size_t h = strmap_find(m, key, len);
    if (m->slots[h]) {
        m->ents[m->slots[h] - 1].val = val;
        return true;
    }
    if (!tk_grow(&m->ents, &m->cap, m->n, sizeof *m->ents))
        return false;
    size_t off = m->pool.len;
    rmb_buf_append(&m->pool, key, len);
    rmb_buf_append(&m->pool, "", 1); /* keys stay NUL-terminated for callers */
    if (m->pool.oom)
        return false;
    m->ents[m->n] = (struct tk_strent){off, (uint32_t)len, val};
    m->slots[h] = (uint32_t)++m->n;
    return true;
}

int32_t tk_strmap_get(const tk_strmap *m, const char *key, size_t len)
{
    if (!m->n)
        return -1;
    uint32_t s = m->slots[strmap_find(m, key, len)];
    return s ? m->ents[s - 1].val : -1;
}

const char *tk_strmap_key(const tk_strmap *m, size_t i)
{
    return m->pool.data + m->ents[i].off;
}

void tk_strmap_free(tk_strmap *m)
{
    rmb_buf_free(&m->pool);
    free(m->ents);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static bool u64map_grow(tk_u64map *m)
{
    size_t size = m->mask ? (m->mask + 1) * 2 : 64;
    struct tk_u64ent *ents = malloc(size * sizeof *ents);
    if (!ents)
        return false;
    for (size_t i = 0; i < size; i++)
        ents[i].key = UINT64_MAX;
    for (size_t i = 0; m->mask && i <= m->mask; i++) {
        if (m->ents[i].key == UINT64_MAX)
            continue;
        size_t h = mix64(m->ents[i].key) & (size - 1);
        while (ents[h].key != UINT64_MAX)
            h = (h + 1) & (size - 1);
        ents[h] = m->ents[i];
    }
    free(m->ents);
    m->ents = ents;
    m->mask = size - 1;
    return true;
}

bool tk_u64map_put(tk_u64map *m, uint64_t key, uint64_t val)
{
    if ((m->n + 1) * 2 > m->mask + 1 && !u64map_grow(m))
        return false;
    size_t h = mix64(key) & m->mask;
    while (m->ents[h].key != UINT64_MAX && m->ents[h].key != key)
        h = (h + 1) & m->mask;
    if (m->ents[h].key == UINT64_MAX)
        m->n++;
    m->ents[h] = (struct tk_u64ent){key, val};
    return true;
}

bool tk_u64map_get(const tk_u64map *m, uint64_t key, uint64_t *val)
{
    if (!m->n)
        return false;
    size_t h = mix64(key) & m->mask;
    for (;;) {
        if (m->ents[h].key == key) {
            *val = m->ents[h].val;
            return true;
        }
        if (m->ents[h].key == UINT64_MAX)
            return false;
        h = (h + 1) & m->mask;
    }
}

void tk_u64map_free(tk_u64map *m)
{
    free(m->ents);
    memset(m, 0, sizeof *m);
}

void tk_pieces_add(tk_pieces *ps, const char *s, size_t len, int32_t id, bool first)
{
    if (id < 0 && len == 0)
        return;
    if (!tk_grow(&ps->p, &ps->cap, ps->n, sizeof *ps->p)) {
        ps->text.oom = 1;
        return;
    }
    ps->p[ps->n++] = (tk_piece){ps->text.len, len, id, first};
    rmb_buf_append(&ps->text, s, len);
}

void tk_pieces_clear(tk_pieces *ps)
{
    ps->n = 0;
    ps->text.len = 0;
}

void tk_pieces_free(tk_pieces *ps)
{
    rmb_buf_free(&ps->text);
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}

bool tk_ids_push(tk_ids *ids, int32_t id)
{
    if (!tk_grow(&ids->v, &ids->cap, ids->n, sizeof *ids->v))
        return false;
    ids->v[ids->n++] = id;
    return true;
}
