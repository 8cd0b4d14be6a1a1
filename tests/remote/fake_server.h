/* A fake inference server on 127.0.0.1 for the remote scorers' tests: the
 * documented request/response shapes of vLLM's pooling API, SGLang's
 * /classify and OpenAI chat completions, with answers that follow from the
 * request's text and faults injected on demand.
 *
 * Rewards (vLLM, SGLang): with h = FNV-1a 64 of the answer's UTF-8 bytes
 * (the content of the last message),
 *     reward = (h >> 58) / 4 - 8
 * (the top bits: FNV-1a's low bits depend only on the bytes' low bits),
 * an exact binary fraction in [-8, 7.75], so ties are common on purpose.
 *
 * In the token-id forms (vLLM "input", SGLang "input_ids": lists of ids),
 * the same rule over the ids written in decimal, separated by commas
 * ("128000,882,271"): reward = (FNV-1a 64 of that text >> 58) / 4 - 8.
 *
 * Verdicts (judge): the answers shown as A and B are the texts between the
 * MT-Bench prompt's "[The Start of Assistant X's Answer]\n" and
 * "\n[The End of Assistant X's Answer]" markers.  With ha, hb their FNV-1a
 * 64 and m = (ha xor hb) >> 61 (the same in both orders):
 *     m = 0: no verdict at all                      (unparseable)
 *     m = 1: "[[A]]" whatever the order             (position bias)
 *     m = 2: "[[C]]"                                (tie)
 *     else:  "[[A]]" if reward(A) > reward(B), "[[B]]" if less, else "[[C]]"
 * Every judge answer first mentions "[[A]] or [[B]]" as a decoy, so that only
 * the last verdict in the text counts.
 *
 * Faults: a request whose body has FNV-1a 64 divisible by fault_every fails
 * its first fault_times arrivals (counted per distinct body) with one of the
 * kinds in `faults` (chosen by that hash), then is answered normally. */
#ifndef RMB_TEST_FAKE_SERVER_H
#define RMB_TEST_FAKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

enum {
    FAULT_SLOW = 1 << 0,      /* answers after slow_ms (beyond the client's timeout) */
    FAULT_DROP = 1 << 1,      /* closes the connection without an answer */
    FAULT_429 = 1 << 2,       /* 429 with Retry-After: 1 */
    FAULT_500 = 1 << 3,       /* 500 */
    FAULT_MALFORMED = 1 << 4, /* 200 with truncated JSON */
    FAULT_COUNT = 1 << 5      /* 200 with the wrong number of results */
};

typedef struct fake_config {
    int delay_ms;        /* every answer waits this long */
    unsigned faults;     /* FAULT_* kinds to inject; 0 = none */
    unsigned fault_every;/* 0 = 3 */
    int fault_times;     /* 0 = 2 */
    int slow_ms;         /* 0 = 2500 */
    const char *api_key; /* when set, requests must carry "Authorization: Bearer KEY" */
    const char *record_path; /* when set, every request answered in full is written
                                there as a line "URL BODY" (see fake_server.c) */
} fake_config;

typedef struct fake_stats {
    uint64_t requests, faults;
    int max_concurrent;
} fake_stats;

typedef struct fake_server fake_server;

/* Starts serving on an ephemeral port; NULL on failure. */
fake_server *fake_start(const fake_config *cfg);
int fake_port(const fake_server *s);
fake_stats fake_get_stats(fake_server *s);
void fake_stop(fake_server *s);

/* The documented rules, for the tests' own expectations. */
uint64_t fake_fnv1a(const char *text);
double fake_reward(const char *answer);
double fake_ids_reward(const int32_t *ids, size_t n);

#endif
