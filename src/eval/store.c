/* The run store (see rmb/store.h): one SQLite file in WAL mode.
 *
 *   meta(name, value)    name "schema" = "rmb-store 1"
 *   scores(fingerprint, key, check_hash, length, value_bits, seal)
 *                        primary key (fingerprint, key)
 *
 * value_bits is the IEEE-754 bit pattern of the value (exact, NaN too); seal
 * is a hash of the row's key fields and value, so that a damaged row is
 * refused rather than read as another number.
 *
 * Puts go into an open transaction that the caller commits after every
 * scorer batch; WAL with synchronous=FULL makes each commit durable and keeps
 * the file consistent whatever instant the process dies at.
 *
 * Test hook: $RMB_TEST_COMMIT_TRACE=FILE appends "b" to FILE before every
 * commit and "e" after it, and stretches the commit (10 ms before and after
 * the WAL write), so that a test can kill a run inside a commit and know
 * that it did. */
#include "rmb/store.h"

#include "common/hashmap.h"
#include "rmb/scorer.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_SCHEMA "rmb-store 1"
#define TEST_PAUSE_US 10000

struct rmb_store {
    sqlite3 *db;
    char *path;
    char *fingerprint;
    sqlite3_stmt *get, *put, *put_replace;
    bool in_txn;
    int trace_fd; /* the test hook's file, -1 when off */
};

/* ---- keys ---- */

/* A multiply-xorshift hash over length-prefixed fields: independent of
 * FNV-1a, and no two different field lists give the same bytes. */
static uint64_t check_bytes(uint64_t h, const char *s)
{
    uint64_t n = strlen(s);
    h = (h ^ n) * 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = 0; i < n; i++) {
        h = (h + (unsigned char)s[i] + 1) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
    }
    return h;
}

rmb_store_key rmb_store_key_of(const rmb_conversation *conversation, const char *first,
                               const char *second)
{
    rmb_store_key k = {rmb_sequence_key(conversation, first), 0x2545f4914f6cdd1dULL, 0};
    k.check = (k.check ^ conversation->n_messages) * 0x94d049bb133111ebULL;
    for (size_t i = 0; i < conversation->n_messages; i++) {
        k.check = check_bytes(k.check, conversation->messages[i].role);
        k.check = check_bytes(k.check, conversation->messages[i].content);
        k.length += strlen(conversation->messages[i].role) + strlen(conversation->messages[i].content);
    }
    k.check = check_bytes(k.check, first);
    k.length += strlen(first);
    if (second) {
        k.key = rmb_fnv1a(rmb_fnv1a(k.key, "\x1D", 1), second, strlen(second));
        k.check = check_bytes(k.check ^ 0x1D, second);
        k.length += strlen(second);
    }
    return k;
}

/* ---- the file ---- */

static rmb_status db_fail(rmb_store *s, rmb_error *err, const char *what)
{
    int code = sqlite3_errcode(s->db);
    rmb_status st = code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? RMB_EDATA : RMB_EIO;
    return rmb_fail(err, st, "%s: run store: %s: %s%s", s->path, what, sqlite3_errmsg(s->db),
                    st == RMB_EDATA ? " (not a usable rmb store: remove it or pass another --store)" : "");
}

/* Runs sql; what names it in a failure. */
static rmb_status exec(rmb_store *s, const char *sql, const char *what, rmb_error *err)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? RMB_OK : db_fail(s, err, what);
}

/* Creates the tables in a file that has none; fails when the file has
 * tables but is no rmb store of this schema. */
static rmb_status check_schema(rmb_store *s, rmb_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_schema", -1, &q, NULL) != SQLITE_OK)
        return db_fail(s, err, "reading the schema");
    int rc = sqlite3_step(q);
    sqlite3_int64 n_tables = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return db_fail(s, err, "reading the schema");
    if (n_tables == 0)
        return exec(s, "BEGIN IMMEDIATE;"
                       "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);"
                       "CREATE TABLE IF NOT EXISTS scores(fingerprint TEXT NOT NULL, key INTEGER NOT NULL,"
                       " check_hash INTEGER NOT NULL, length INTEGER NOT NULL, value_bits INTEGER NOT NULL,"
                       " seal INTEGER NOT NULL,"
                       " PRIMARY KEY(fingerprint, key)) WITHOUT ROWID;"
                       "INSERT OR IGNORE INTO meta VALUES('schema', '" STORE_SCHEMA "');"
                       "COMMIT;", "creating the tables", err);
    char schema[64] = "";
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE name = 'schema'", -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
            snprintf(schema, sizeof schema, "%s", (const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    if (strcmp(schema, STORE_SCHEMA) != 0)
        return rmb_fail(err, RMB_EDATA,
                        "%s: run store: field schema: \"%s\", expected \"%s\" (not an rmb store: "
                        "remove it or pass another --store)", s->path, schema, STORE_SCHEMA);
    return RMB_OK;
}

static void note_foreign(rmb_store *s, const rmb_context *ctx)
{
    sqlite3_stmt *q;
    if (!ctx || sqlite3_prepare_v2(s->db, "SELECT count(*) FROM scores WHERE fingerprint <> ?", -1,
                                   &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(q, 1, s->fingerprint, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0)
        rmb_log(ctx, RMB_LOG_INFO, "%s: %lld stored values of other scorers (other fingerprints) are ignored",
                s->path, (long long)sqlite3_column_int64(q, 0));
    sqlite3_finalize(q);
}

/* ---- the test hook ---- */

static int pause_hook(void *arg)
{
    (void)arg;
    usleep(TEST_PAUSE_US);
    return 0; /* go on committing */
}

static int wal_pause_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)arg, (void)db, (void)name, (void)pages;
    usleep(TEST_PAUSE_US);
    return SQLITE_OK;
}

static void trace(const rmb_store *s, const char *mark)
{
    if (s->trace_fd >= 0 && write(s->trace_fd, mark, 1) != 1)
        return; /* a test hook: a lost mark only weakens that test */
}

static void open_test_hook(rmb_store *s)
{
    const char *path = getenv("RMB_TEST_COMMIT_TRACE");
    s->trace_fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (s->trace_fd >= 0) {
        sqlite3_commit_hook(s->db, pause_hook, NULL);
        sqlite3_wal_hook(s->db, wal_pause_hook, NULL);
    }
}

/* ---- the API ---- */

static rmb_status prepare(rmb_store *s, rmb_error *err)
{
    static const char get[] =
        "SELECT check_hash, length, value_bits, seal FROM scores WHERE fingerprint = ?1 AND key = ?2";
    static const char put[] = "INSERT OR IGNORE INTO scores VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    static const char put_replace[] = "INSERT OR REPLACE INTO scores VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    if (sqlite3_prepare_v2(s->db, get, -1, &s->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, put, -1, &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, put_replace, -1, &s->put_replace, NULL) != SQLITE_OK)
        return db_fail(s, err, "preparing statements");
    return RMB_OK;
}

rmb_status rmb_store_open(rmb_store **out, const char *path, const char *fingerprint,
                          const rmb_context *ctx, rmb_error *err)
{
    *out = NULL;
    rmb_store *s = calloc(1, sizeof *s);
    if (s)
        s->trace_fd = -1;
    if (!s || !(s->path = strdup(path)) || !(s->fingerprint = strdup(fingerprint))) {
        rmb_store_close(s, NULL);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    rmb_status st = RMB_OK;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        st = s->db ? db_fail(s, err, "opening") : rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK) {
        /* Runs sharing a store wait for each other's commits. */
        sqlite3_busy_timeout(s->db, 30000);
        st = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "opening", err);
    }
    if (st == RMB_OK)
        st = check_schema(s, err);
    if (st == RMB_OK)
        st = prepare(s, err);
    if (st != RMB_OK) {
        rmb_store_close(s, NULL);
        return st;
    }
    note_foreign(s, ctx);
    open_test_hook(s);
    *out = s;
    return RMB_OK;
}

rmb_status rmb_store_commit(rmb_store *s, rmb_error *err)
{
    if (!s->in_txn)
        return RMB_OK;
    s->in_txn = false;
    trace(s, "b");
    rmb_status st = exec(s, "COMMIT", "committing", err);
    trace(s, "e");
    return st;
}

rmb_status rmb_store_close(rmb_store *s, rmb_error *err)
{
    if (!s)
        return RMB_OK;
    rmb_status st = s->db ? rmb_store_commit(s, err) : RMB_OK;
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->put_replace);
    sqlite3_close(s->db);
    if (s->trace_fd >= 0)
        close(s->trace_fd);
    free(s->path);
    free(s->fingerprint);
    free(s);
    return st;
}

/* A row's seal: its key fields and value bits mixed (splitmix64's finaliser). */
static uint64_t seal_of(const rmb_store_key *k, uint64_t bits)
{
    uint64_t h = k->key ^ (k->check * 0x9e3779b97f4a7c15ULL) ^ (k->length << 17) ^ (bits * 0xd6e8feb86659fd93ULL);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static void bind_key(sqlite3_stmt *q, const rmb_store *s, const rmb_store_key *k)
{
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, s->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)k->key);
}

rmb_status rmb_store_get(rmb_store *s, const rmb_store_key *k, double *value, bool *found,
                         rmb_error *err)
{
    *found = false;
    bind_key(s->get, s, k);
    int rc = sqlite3_step(s->get);
    if (rc == SQLITE_DONE)
        return RMB_OK;
    if (rc != SQLITE_ROW)
        return db_fail(s, err, "reading a score");
    uint64_t bits = (uint64_t)sqlite3_column_int64(s->get, 2);
    if ((uint64_t)sqlite3_column_int64(s->get, 0) != k->check ||
        (uint64_t)sqlite3_column_int64(s->get, 1) != k->length ||
        (uint64_t)sqlite3_column_int64(s->get, 3) != seal_of(k, bits))
        return rmb_fail(err, RMB_EDATA,
                        "%s: run store: key %016llx: field check_hash/length/value_bits/seal: the stored "
                        "row does not match the sequence (hash collision or damaged store; use --fresh "
                        "or another --store)", s->path, (unsigned long long)k->key);
    memcpy(value, &bits, sizeof *value);
    *found = true;
    return RMB_OK;
}

rmb_status rmb_store_put(rmb_store *s, const rmb_store_key *k, double *value, bool replace,
                         rmb_error *err)
{
    if (!s->in_txn) {
        rmb_status st = exec(s, "BEGIN IMMEDIATE", "beginning a transaction", err);
        if (st != RMB_OK)
            return st;
        s->in_txn = true;
    }
    sqlite3_stmt *q = replace ? s->put_replace : s->put;
    bind_key(q, s, k);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)k->check);
    uint64_t bits;
    memcpy(&bits, value, sizeof bits);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)k->length);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)bits);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)seal_of(k, bits));
    if (sqlite3_step(q) != SQLITE_DONE)
        return db_fail(s, err, "storing a score");
    if (sqlite3_changes(s->db) > 0)
        return RMB_OK;
    /* Another run stored this key first: its value is the one. */
    bool found;
    rmb_status st = rmb_store_get(s, k, value, &found, err);
    return st != RMB_OK || found ? st : db_fail(s, err, "storing a score");
}

/* Fails when a row of the attached shard disagrees with main's. */
static rmb_status check_agreement(rmb_store *s, const char *path, rmb_error *err)
{
    sqlite3_stmt *q = NULL;
    rmb_status st = RMB_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM shard.scores o JOIN main.scores m USING (fingerprint, key)"
                           " WHERE o.fingerprint = ?1 AND (o.check_hash <> m.check_hash OR"
                           " o.length <> m.length OR o.value_bits <> m.value_bits OR o.seal <> m.seal)", -1, &q, NULL) != SQLITE_OK)
        st = db_fail(s, err, "comparing stores");
    else {
        sqlite3_bind_text(q, 1, s->fingerprint, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_ROW)
            st = db_fail(s, err, "comparing stores");
        else if (sqlite3_column_int64(q, 0) > 0)
            st = rmb_fail(err, RMB_EDATA, "%s: run store: %lld values disagree with those already merged "
                          "into %s (different scorers under one fingerprint?)", path,
                          (long long)sqlite3_column_int64(q, 0), s->path);
    }
    sqlite3_finalize(q);
    return st;
}

rmb_status rmb_store_merge(rmb_store *s, const char *path, rmb_error *err)
{
    /* Opening it as a store checks the shard's schema first. */
    rmb_store *other;
    rmb_status st = rmb_store_open(&other, path, s->fingerprint, NULL, err);
    if (st != RMB_OK)
        return st;
    rmb_store_close(other, NULL);
    if ((st = rmb_store_commit(s, err)) != RMB_OK)
        return st;
    char *sql = sqlite3_mprintf("ATTACH %Q AS shard", path);
    st = sql ? exec(s, sql, "attaching a shard's store", err) : rmb_fail(err, RMB_ENOMEM, "out of memory");
    sqlite3_free(sql);
    if (st != RMB_OK)
        return st;
    st = check_agreement(s, path, err);
    if (st == RMB_OK) {
        char *copy = sqlite3_mprintf("INSERT OR IGNORE INTO main.scores SELECT * FROM shard.scores"
                                     " WHERE fingerprint = %Q", s->fingerprint);
        st = copy ? exec(s, copy, "copying a shard's values", err) : rmb_fail(err, RMB_ENOMEM, "out of memory");
        sqlite3_free(copy);
    }
    rmb_status detach = exec(s, "DETACH shard", "detaching a shard's store", st == RMB_OK ? err : NULL);
    return st != RMB_OK ? st : detach;
}
