/* The run store: a SQLite file (WAL) of every value a scorer produced (a
 * sequence's score, a judge's verdict on a comparison), keyed by the
 * scorer's fingerprint and the exact text, so that a killed run resumes
 * where it stopped, shards merge, and runs that need the same (scorer,
 * sequence) share the value.
 *
 * A key is the 64-bit FNV-1a of the text's canonical bytes (for a sequence,
 * rmb_sequence_key's) plus an independent 64-bit check hash of an
 * unambiguous (length-prefixed) encoding and the text's length in bytes; a
 * stored row whose key matches but whose check or length does not is a
 * hash collision or a damaged file: reported, never used. */
#ifndef RMB_STORE_H
#define RMB_STORE_H

#include "rmb/common.h"
#include "rmb/dataset.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rmb_store rmb_store;

typedef struct rmb_store_key {
    uint64_t key;    /* FNV-1a of the canonical bytes (rmb_sequence_key for a sequence) */
    uint64_t check;  /* an independent hash of the same text, length-prefixed */
    uint64_t length; /* the text's length in bytes */
} rmb_store_key;

/* The key of a sequence (second == NULL) or of a judge's comparison of
 * answers first and second (in that order) to one conversation. */
rmb_store_key rmb_store_key_of(const rmb_conversation *conversation, const char *first,
                               const char *second);

/* Opens (creating if absent) the store at path for the scorer identified by
 * fingerprint.  A file that is not an rmb store (not SQLite, truncated,
 * another schema) fails with RMB_EDATA naming the file.  Rows of other
 * fingerprints are left alone; ctx (may be NULL) gets a note that they are
 * ignored. */
rmb_status rmb_store_open(rmb_store **out, const char *path, const char *fingerprint,
                          const rmb_context *ctx, rmb_error *err);
/* Commits what is pending and closes; NULL is fine.  Returns the commit's
 * status (err may be NULL). */
rmb_status rmb_store_close(rmb_store *s, rmb_error *err);

/* Looks k up: *found tells whether a value was stored, *value receives it. */
rmb_status rmb_store_get(rmb_store *s, const rmb_store_key *k, double *value, bool *found,
                         rmb_error *err);
/* Adds *value under k to the open transaction (one is begun if none is).
 * replace (--fresh) overwrites a stored row.  Otherwise a row that another
 * process stored meanwhile wins: *value becomes the stored value, so every
 * run reading the store sees one value per key. */
rmb_status rmb_store_put(rmb_store *s, const rmb_store_key *k, double *value, bool replace,
                         rmb_error *err);
/* Makes the pending puts durable (one SQLite transaction, fsynced). */
rmb_status rmb_store_commit(rmb_store *s, rmb_error *err);

/* Copies the rows of this store's fingerprint from the store file at path
 * (a shard's) into s; a key stored in both with a different text identity
 * or a different value is an error. */
rmb_status rmb_store_merge(rmb_store *s, const char *path, rmb_error *err);

#ifdef __cplusplus
}
#endif
#endif
