#include "common/hashmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}

uint64_t rmb_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    h ^= len * 0x9e3779b97f4a7c15ULL;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, len);
    return mix(h ^ tail ^ ((uint64_t)len << 56));
}

uint64_t rmb_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Spreads the hash's bits over the table index. */
static size_t home_slot(const rmb_hashmap *m, uint64_t hash)
{
    return (size_t)((hash * 0x9e3779b97f4a7c15ULL) >> 17) & (m->cap - 1);
}

static bool grow(rmb_hashmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    rmb_hashmap bigger = {malloc(cap * sizeof(uint64_t)), malloc(cap * sizeof(size_t)), cap, 0};
    if (!bigger.hashes || !bigger.values) {
        rmb_hashmap_free(&bigger);
        return false;
    }
    for (size_t i = 0; i < cap; i++)
        bigger.values[i] = SIZE_MAX;
    for (size_t i = 0; i < m->cap; i++)
        if (m->values[i] != SIZE_MAX)
            rmb_hashmap_put(&bigger, m->hashes[i], m->values[i]);
    rmb_hashmap_free(m);
    *m = bigger;
    return true;
}

bool rmb_hashmap_put(rmb_hashmap *m, uint64_t hash, size_t value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && !grow(m))
        return false;
    size_t i = home_slot(m, hash);
    while (m->values[i] != SIZE_MAX)
        i = (i + 1) & (m->cap - 1);
    m->hashes[i] = hash;
    m->values[i] = value;
    m->count++;
    return true;
}

bool rmb_hashmap_next(const rmb_hashmap *m, uint64_t hash, size_t *slot, size_t *value)
{
    if (!m->cap)
        return false;
    /* *slot counts probes from the home slot, so iteration resumes there. */
    for (size_t i = (home_slot(m, hash) + *slot) & (m->cap - 1); m->values[i] != SIZE_MAX;
         i = (i + 1) & (m->cap - 1)) {
        ++*slot;
        if (m->hashes[i] == hash) {
            *value = m->values[i];
            return true;
        }
    }
    return false;
}

void rmb_hashmap_free(rmb_hashmap *m)
{
    free(m->hashes);
    free(m->values);
    m->hashes = NULL;
    m->values = NULL;
    m->cap = m->count = 0;
}
