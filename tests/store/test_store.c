/* The run store's API: keys (golden FNV-1a values computed in Python over
 * the canonical bytes), exact values, concurrent writers, merges, and rows
 * that must be refused. */
#include "rmb/store.h"

#include "test.h"

#include <math.h>
#include <stdlib.h>

static char dir[] = "/tmp/rmb-store-test-XXXXXX";
static const rmb_message hi[] = {{"user", "Hi"}};
static const rmb_conversation conv = {hi, 1};

static char *path_in_dir(const char *name)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static rmb_store *open_store(const char *name, const char *fingerprint)
{
    rmb_store *s = NULL;
    rmb_error err;
    if (rmb_store_open(&s, path_in_dir(name), fingerprint, NULL, &err) != RMB_OK)
        fprintf(stderr, "open %s: %s\n", name, err.msg);
    CHECK(s != NULL);
    return s;
}

static void test_setup(void)
{
    CHECK(mkdtemp(dir) != NULL);
}

static void test_keys(void)
{
    /* python: FNV-1a 64 of b"user\x1fHi\x1eassistant\x1fHello!" (and + b"\x1dBye") */
    rmb_store_key k = rmb_store_key_of(&conv, "Hello!", NULL);
    CHECK(k.key == 0x6c1967c19cc8edd4ULL);
    CHECK_EQ_INT(k.length, strlen("userHiHello!"));
    rmb_store_key c = rmb_store_key_of(&conv, "Hello!", "Bye");
    CHECK(c.key == 0x761554914e648f09ULL);
    rmb_store_key swapped = rmb_store_key_of(&conv, "Bye", "Hello!");
    CHECK(swapped.key != c.key && swapped.check != c.check);
}

/* Texts whose separator-joined bytes are equal share an FNV key; the
 * length-prefixed check tells them apart, and the store refuses the row. */
static void test_ambiguous_texts(void)
{
    static const rmb_message turn[] = {{"assistant", "z"}};
    const rmb_conversation a = {turn, 1}, b = {NULL, 0};
    rmb_store_key ka = rmb_store_key_of(&a, "w", NULL);
    rmb_store_key kb = rmb_store_key_of(&b, "z\x1e" "assistant\x1fw", NULL);
    CHECK(ka.key == kb.key && ka.check != kb.check);
    rmb_store *s = open_store("ambiguous.sqlite", "fp");
    rmb_error err;
    double v = 0.5, got = 0;
    bool found = true;
    CHECK(rmb_store_put(s, &ka, &v, false, &err) == RMB_OK);
    CHECK(rmb_store_get(s, &kb, &got, &found, &err) == RMB_EDATA);
    CHECK_CONTAINS(err.msg, "does not match the sequence");
    rmb_store_close(s, NULL);
}

/* Values come back bit for bit, NaN and -0.0 included; another
 * fingerprint sees none of them. */
static void test_exact_values(void)
{
    const double values[] = {-0.0, NAN, 1e-310, 0.1 + 0.2, -3.5};
    const char *answers[] = {"a", "b", "c", "d", "e"};
    rmb_store *s = open_store("exact.sqlite", "fp");
    rmb_error err;
    for (size_t i = 0; i < 5; i++) {
        rmb_store_key k = rmb_store_key_of(&conv, answers[i], NULL);
        double v = values[i];
        CHECK(rmb_store_put(s, &k, &v, false, &err) == RMB_OK);
    }
    CHECK(rmb_store_close(s, &err) == RMB_OK);
    s = open_store("exact.sqlite", "fp");
    rmb_store *other = open_store("exact.sqlite", "another fp");
    for (size_t i = 0; i < 5; i++) {
        rmb_store_key k = rmb_store_key_of(&conv, answers[i], NULL);
        double got = 7;
        bool found = false;
        CHECK(rmb_store_get(s, &k, &got, &found, &err) == RMB_OK && found);
        CHECK(memcmp(&got, &values[i], sizeof got) == 0);
        CHECK(rmb_store_get(other, &k, &got, &found, &err) == RMB_OK && !found);
    }
    rmb_store_close(s, NULL);
    rmb_store_close(other, NULL);
}

/* Two runs on one store: the first committed value is the one; --fresh
 * replaces it. */
static void test_first_writer_wins(void)
{
    rmb_store *a = open_store("shared.sqlite", "fp"), *b = open_store("shared.sqlite", "fp");
    rmb_store_key k = rmb_store_key_of(&conv, "Hello!", NULL);
    rmb_error err;
    double va = 1, vb = 2, got = 0;
    bool found;
    CHECK(rmb_store_put(a, &k, &va, false, &err) == RMB_OK && rmb_store_commit(a, &err) == RMB_OK);
    CHECK(rmb_store_put(b, &k, &vb, false, &err) == RMB_OK && rmb_store_commit(b, &err) == RMB_OK);
    CHECK(vb == 1);
    vb = 3;
    CHECK(rmb_store_put(b, &k, &vb, true, &err) == RMB_OK && rmb_store_commit(b, &err) == RMB_OK);
    CHECK(rmb_store_get(a, &k, &got, &found, &err) == RMB_OK && found && got == 3);
    rmb_store_close(a, NULL);
    rmb_store_close(b, NULL);
}

/* Shards merge into one store; a shard that disagrees is refused. */
static void test_merge(void)
{
    rmb_store *s1 = open_store("shard1.sqlite", "fp"), *s2 = open_store("shard2.sqlite", "fp");
    rmb_store_key k1 = rmb_store_key_of(&conv, "one", NULL), k2 = rmb_store_key_of(&conv, "two", NULL);
    rmb_error err;
    double v1 = 0.25, v2 = 0.75, other = 0.5, got = 0;
    bool found;
    CHECK(rmb_store_put(s1, &k1, &v1, false, &err) == RMB_OK);
    CHECK(rmb_store_put(s2, &k2, &v2, false, &err) == RMB_OK);
    rmb_store_close(s1, NULL);
    rmb_store_close(s2, NULL);
    rmb_store *m = open_store("merged.sqlite", "fp");
    CHECK(rmb_store_merge(m, path_in_dir("shard1.sqlite"), &err) == RMB_OK);
    CHECK(rmb_store_merge(m, path_in_dir("shard2.sqlite"), &err) == RMB_OK);
    CHECK(rmb_store_get(m, &k1, &got, &found, &err) == RMB_OK && found && got == 0.25);
    CHECK(rmb_store_get(m, &k2, &got, &found, &err) == RMB_OK && found && got == 0.75);
    rmb_store *bad = open_store("disagree.sqlite", "fp");
    CHECK(rmb_store_put(bad, &k1, &other, false, &err) == RMB_OK);
    rmb_store_close(bad, NULL);
    CHECK(rmb_store_merge(m, path_in_dir("disagree.sqlite"), &err) == RMB_EDATA);
    CHECK_CONTAINS(err.msg, "disagree");
    CHECK(rmb_store_get(m, &k1, &got, &found, &err) == RMB_OK && found && got == 0.25);
    rmb_store_close(m, NULL);
}

static void test_cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

TEST_MAIN(test_setup, test_keys, test_ambiguous_texts, test_exact_values, test_first_writer_wins,
          test_merge, test_cleanup)
