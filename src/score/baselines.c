/* Scorers that need no model: the length-bias baseline and reproducible
 * random scores (the chance level). */
#include "score/backends.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void baseline_destroy(rmb_scorer *s)
{
    rmb_scorer_free(s);
}

/* ---- length: Unicode code points of the answer ---- */

static size_t utf8_codepoints(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

static rmb_status length_score(rmb_scorer *self, const rmb_sequence *seqs, size_t n,
                               double *scores, rmb_error *item_err, const rmb_context *ctx,
                               rmb_error *err)
{
    (void)self, (void)ctx, (void)err;
    for (size_t i = 0; i < n; i++) {
        scores[i] = (double)utf8_codepoints(seqs[i].answer);
        item_err[i].status = RMB_OK;
    }
    return RMB_OK;
}

static const rmb_scorer_ops length_ops = {.score = length_score, .destroy = baseline_destroy};

rmb_status rmb_length_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err)
{
    (void)spec, (void)arg, (void)opt;
    *out = rmb_scorer_new(sizeof(rmb_scorer), &length_ops, "length", "length/1", 4096);
    return *out ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
}

/* ---- random[:SEED]: a hash of (seed, sequence text), uniform in [0,1) ----
 * The score depends only on the seed and the sequence, so the same sequence
 * gets the same score in every run and every subset. */

typedef struct random_scorer {
    rmb_scorer base;
    uint64_t seed;
    /* Test hooks for the run store's tests: $RMB_TEST_SLOW_SCORER_US makes
     * it a stand-in for a slow model (that long per sequence, batches of 8);
     * $RMB_TEST_SCORER_LOG=FILE appends the key of every sequence it scored,
     * so a test can prove no score was computed twice. */
    long slow_us;
    int log_fd; /* -1 when off */
} random_scorer;

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* One line per batch (its keys, space-separated), in one append, so that a
 * kill never leaves half a line: a test learns the keys and each batch's
 * size. */
static void log_keys(const random_scorer *rs, const rmb_sequence *seqs, size_t n)
{
    char *line = rs->log_fd >= 0 && n ? malloc(17 * n + 1) : NULL;
    if (!line)
        return;
    for (size_t i = 0; i < n; i++)
        snprintf(line + 17 * i, 18, "%016" PRIx64 "%c", seqs[i].key, i + 1 < n ? ' ' : '\n');
    ssize_t written = write(rs->log_fd, line, 17 * n); /* a short log fails that test */
    (void)written;
    free(line);
}

static rmb_status random_score(rmb_scorer *self, const rmb_sequence *seqs, size_t n,
                               double *scores, rmb_error *item_err, const rmb_context *ctx,
                               rmb_error *err)
{
    (void)ctx, (void)err;
    const random_scorer *rs = (const random_scorer *)self;
    uint64_t salt = splitmix64(rs->seed);
    if (rs->slow_us > 0)
        usleep((useconds_t)(rs->slow_us * (long)n));
    for (size_t i = 0; i < n; i++) {
        scores[i] = (double)(splitmix64(seqs[i].key ^ salt) >> 11) * 0x1.0p-53;
        item_err[i].status = RMB_OK;
    }
    log_keys(rs, seqs, n);
    return RMB_OK;
}

static void random_destroy(rmb_scorer *self)
{
    random_scorer *rs = (random_scorer *)self;
    if (rs->log_fd >= 0)
        close(rs->log_fd);
    rmb_scorer_free(self);
}

static const rmb_scorer_ops random_ops = {.score = random_score, .destroy = random_destroy};

static void open_test_hooks(random_scorer *s)
{
    const char *slow = getenv("RMB_TEST_SLOW_SCORER_US");
    if (slow && (s->slow_us = strtol(slow, NULL, 10)) > 0)
        s->base.batch_size = 8;
    const char *log = getenv("RMB_TEST_SCORER_LOG");
    s->log_fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
}

rmb_status rmb_random_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                  const rmb_scorer_options *opt, rmb_error *err)
{
    (void)opt;
    uint64_t seed = 0;
    if (arg) {
        char *end;
        errno = 0;
        seed = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || *arg == '-' || *arg == '+')
            return rmb_fail(err, RMB_EUSAGE, "--model %s: the seed must be a non-negative integer",
                            spec);
    }
    char name[48], fingerprint[64];
    snprintf(name, sizeof name, "random-%" PRIu64, seed);
    snprintf(fingerprint, sizeof fingerprint, "random/1 seed=%" PRIu64, seed);
    random_scorer *s =
        (random_scorer *)rmb_scorer_new(sizeof *s, &random_ops, name, fingerprint, 4096);
    if (!s)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    s->seed = seed;
    open_test_hooks(s);
    *out = &s->base;
    return RMB_OK;
}
