/* The HTTP transport of the remote scorers: many JSON requests in flight
 * over libcurl's multi interface, with timeouts and retries.
 *
 * A run hands over an array of requests to one URL.  Each request is tried
 * until its response is accepted by the caller's parse function or its
 * attempts are spent; a request that fails for good keeps the reason in its
 * own err (naming its label), so that no item is ever dropped silently.
 *
 * Retried: connection errors and timeouts, HTTP 408, 429 and 5xx, and 2xx
 * responses the parse function rejects (malformed JSON, wrong number of
 * results).  Not retried: other 4xx answers (the request itself is wrong).
 * The delay before attempt k+1 is the server's Retry-After when it sent one,
 * else backoff_s * 2^(k-1), at most 30 s, times a random factor in [0.5, 1.5)
 * so that clients that failed together do not come back together. */
#ifndef RMB_SCORE_HTTP_H
#define RMB_SCORE_HTTP_H

#include "rmb/common.h"

#include <stddef.h>

typedef struct rmb_http_config {
    int in_flight;           /* requests in flight at once; 0 = 32 */
    double timeout_s;        /* per attempt, connection included; 0 = 300 */
    int max_attempts;        /* per request; 0 = 4 */
    double backoff_s;        /* delay before the first retry; 0 = 0.25 */
    const char *api_key_env; /* sent as a bearer token when set; NULL = OPENAI_API_KEY */
} rmb_http_config;

typedef struct rmb_http_request {
    char *body;      /* JSON text to POST, owned by the caller; NULL sends a GET */
    char label[160]; /* names the item(s) in a failure: "sequence 12 (key ...)" */
    rmb_error err;   /* after the run: RMB_OK, or why the request failed for good */
} rmb_http_request;

/* Receives each 2xx response body of request `index`.  Returns RMB_OK when it
 * took the results, or an error (message in err) that makes the attempt
 * count as failed. */
typedef rmb_status (*rmb_http_parse_fn)(void *user, size_t index, const char *body, size_t len,
                                        rmb_error *err);

typedef struct rmb_http rmb_http;

/* The API key is read from the environment here, once; it is never logged
 * nor put in a message. */
rmb_status rmb_http_open(rmb_http **out, const rmb_http_config *cfg, rmb_error *err);
void rmb_http_close(rmb_http *h);

/* Sends reqs[0..n) to url.  Returns RMB_OK when every request ended (each
 * with its own err), RMB_ECANCELED when ctx asked to stop (responses already
 * parsed stay valid), or RMB_ENOMEM. */
rmb_status rmb_http_run(rmb_http *h, const char *url, rmb_http_request *reqs, size_t n,
                        rmb_http_parse_fn parse, void *user, const rmb_context *ctx,
                        rmb_error *err);

/* Totals over every run so far: attempts made and retries among them. */
void rmb_http_counts(const rmb_http *h, unsigned long long *attempts,
                     unsigned long long *retries);

#endif
