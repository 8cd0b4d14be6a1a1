/* An open-addressing hash map from 64-bit hashes to indices, for sets of
 * things stored elsewhere (uids, conversations, sequences).  Several entries
 * may share a hash: lookups walk the matches and the caller compares the
 * real keys. */
#ifndef RMB_COMMON_HASHMAP_H
#define RMB_COMMON_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rmb_hashmap {
    uint64_t *hashes;
    size_t *values; /* SIZE_MAX marks an empty slot */
    size_t cap;     /* a power of two */
    size_t count;
} rmb_hashmap;

/* Adds (hash, value); false when out of memory. */
bool rmb_hashmap_put(rmb_hashmap *m, uint64_t hash, size_t value);

/* Iterates the values stored under hash: start with *slot = 0 and call until
 * it returns false. */
bool rmb_hashmap_next(const rmb_hashmap *m, uint64_t hash, size_t *slot, size_t *value);

void rmb_hashmap_free(rmb_hashmap *m);

/* A fast hash of bytes for table lookups (8 bytes a step), continuing from
 * h (start with 0).  Not stable across versions: never store it. */
uint64_t rmb_hash_bytes(uint64_t h, const void *data, size_t len);

/* FNV-1a of bytes, continuing from h (start with RMB_FNV_OFFSET): stable,
 * documented, for identities that outlive a run (sequence keys). */
#define RMB_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t rmb_fnv1a(uint64_t h, const void *data, size_t len);

#endif
