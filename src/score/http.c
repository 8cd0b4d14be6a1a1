/* The remote scorers' transport: libcurl multi, retries, backoff (see http.h). */
#include "score/http.h"

#include "common/buf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RESPONSE (256u << 20) /* larger answers are not ours to parse */
#define MAX_DELAY_S 30.0          /* longest computed backoff */
#define MAX_RETRY_AFTER_S 300.0   /* longest wait a server may ask for */
#define POLL_MS 100               /* how often cancellation is checked while waiting */

struct rmb_http {
    CURLM *multi; /* kept across runs: its connection cache keeps connections alive */
    struct curl_slist *headers;
    int in_flight;
    long timeout_ms;
    int max_attempts;
    double backoff_s;
    uint64_t rng; /* jitter only; never affects a result */
    unsigned long long attempts, retries;
};

/* One attempt in flight. */
typedef struct transfer {
    CURL *easy;
    size_t req;
    rmb_buf body;
    char curl_msg[CURL_ERROR_SIZE];
} transfer;

/* A run's bookkeeping. */
typedef struct run {
    rmb_http *h;
    const char *url;
    rmb_http_request *reqs;
    size_t n;
    rmb_http_parse_fn parse;
    void *user;
    const rmb_context *ctx;
    int *tries;         /* attempts made per request */
    double *ready_at;   /* when a request waiting to be retried may start */
    size_t *waiting;    /* requests waiting to be retried */
    size_t n_waiting;
    size_t next_fresh;  /* requests [next_fresh, n) were never started */
    transfer **active;  /* in_flight slots; NULL when free */
    int n_active;
    size_t n_done;
} run;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

rmb_status rmb_http_open(rmb_http **out, const rmb_http_config *cfg, rmb_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return rmb_fail(err, RMB_EREMOTE, "libcurl: %s", curl_easy_strerror(curl_init_result));
    rmb_http *h = calloc(1, sizeof *h);
    if (!h)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    h->in_flight = cfg->in_flight > 0 ? cfg->in_flight : 32;
    h->timeout_ms = (long)((cfg->timeout_s > 0 ? cfg->timeout_s : 300.0) * 1000.0);
    h->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 4;
    h->backoff_s = cfg->backoff_s > 0 ? cfg->backoff_s : 0.25;
    h->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)h ^ 0x9e3779b97f4a7c15ULL;
    h->multi = curl_multi_init();
    if (h->multi) /* one kept-alive connection per slot */
        curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->in_flight);
    /* "Expect:" turns off curl's 100-continue round trip on large bodies. */
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    hs = hs ? curl_slist_append(hs, "Accept: application/json") : NULL;
    hs = hs ? curl_slist_append(hs, "Expect:") : NULL;
    const char *key = getenv(cfg->api_key_env ? cfg->api_key_env : "OPENAI_API_KEY");
    if (hs && key && *key) {
        rmb_buf auth = {0};
        rmb_buf_printf(&auth, "Authorization: Bearer %s", key);
        struct curl_slist *with = auth.data ? curl_slist_append(hs, auth.data) : NULL;
        if (auth.data)
            memset(auth.data, 0, auth.len); /* no copy of the key outlives its use */
        rmb_buf_free(&auth);
        if (!with)
            curl_slist_free_all(hs);
        hs = with;
    }
    h->headers = hs;
    if (!h->multi || !h->headers) {
        rmb_http_close(h);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    *out = h;
    return RMB_OK;
}

void rmb_http_close(rmb_http *h)
{
    if (!h)
        return;
    if (h->multi)
        curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->headers);
    free(h);
}

void rmb_http_counts(const rmb_http *h, unsigned long long *attempts,
                     unsigned long long *retries)
{
    *attempts = h->attempts;
    *retries = h->retries;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    transfer *t = user;
    size_t len = size * nmemb;
    if (t->body.len + len > MAX_RESPONSE)
        return 0; /* makes curl fail the transfer with a write error */
    rmb_buf_append(&t->body, data, len);
    return t->body.oom ? 0 : len;
}

static void transfer_free(transfer *t)
{
    if (!t)
        return;
    curl_easy_cleanup(t->easy);
    rmb_buf_free(&t->body);
    free(t);
}

static rmb_status start(run *r, size_t req, rmb_error *err)
{
    rmb_http *h = r->h;
    transfer *t = calloc(1, sizeof *t);
    if (!t || !(t->easy = curl_easy_init())) {
        free(t);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    t->req = req;
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "rmb");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 10000 ? h->timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_msg);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    const char *body = r->reqs[req].body;
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        transfer_free(t);
        return rmb_fail(err, RMB_ENOMEM, "libcurl: cannot add a transfer");
    }
    for (int i = 0; i < h->in_flight; i++)
        if (!r->active[i]) {
            r->active[i] = t;
            break;
        }
    r->n_active++;
    r->tries[req]++;
    h->attempts++;
    return RMB_OK;
}

/* The wait a server asked for, in seconds, or -1 when it did not ask. */
static double retry_after(CURL *e)
{
    struct curl_header *hd;
    if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return -1;
    const char *v = hd->value;
    char *end;
    double s = strtod(v, &end);
    if (end == v || *end) { /* not delta-seconds: an HTTP date */
        time_t at = curl_getdate(v, NULL);
        if (at <= 0)
            return -1;
        s = difftime(at, time(NULL));
    }
    if (!(s >= 0))
        return -1;
    return s < MAX_RETRY_AFTER_S ? s : MAX_RETRY_AFTER_S;
}

static double jitter(rmb_http *h)
{
    h->rng ^= h->rng >> 12, h->rng ^= h->rng << 25, h->rng ^= h->rng >> 27;
    return 0.5 + (double)((h->rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

/* A printable excerpt of a response body for messages. */
static void excerpt(const rmb_buf *b, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len && n + 1 < size && i < 200; i++) {
        unsigned char c = (unsigned char)b->data[i];
        out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = 0;
}

/* Judges one finished attempt: parsed, to retry, or failed for good.  Returns
 * whether it may be retried; why is in *why either way. */
static int judge_attempt(run *r, transfer *t, CURLcode code, rmb_error *why, double *wait)
{
    *wait = -1;
    if (code != CURLE_OK) {
        rmb_fail(why, RMB_EREMOTE, "%s%s%s", curl_easy_strerror(code), t->curl_msg[0] ? ": " : "",
                 t->curl_msg);
        return code != CURLE_URL_MALFORMAT && code != CURLE_UNSUPPORTED_PROTOCOL;
    }
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        char text[256];
        excerpt(&t->body, text, sizeof text);
        rmb_fail(why, RMB_EREMOTE, "HTTP %ld: %s", status, text);
        *wait = retry_after(t->easy);
        return status == 408 || status == 429 || status >= 500;
    }
    if (t->body.oom)
        return rmb_fail(why, RMB_ENOMEM, "out of memory"), 0;
    const char *body = t->body.data ? t->body.data : "";
    if (r->parse(r->user, t->req, body, t->body.len, why) == RMB_OK)
        return why->status = RMB_OK, 0;
    return why->status != RMB_ENOMEM;
}

static void finish(run *r, transfer *t, CURLcode code)
{
    rmb_http *h = r->h;
    rmb_http_request *q = &r->reqs[t->req];
    rmb_error why = {0};
    double wait;
    int retry = judge_attempt(r, t, code, &why, &wait);
    if (why.status == RMB_OK) {
        q->err.status = RMB_OK;
        r->n_done++;
    } else if (retry && r->tries[t->req] < h->max_attempts) {
        int doublings = r->tries[t->req] - 1 < 16 ? r->tries[t->req] - 1 : 16;
        double delay = h->backoff_s * (double)(1u << doublings);
        delay = wait >= 0 ? wait : (delay < MAX_DELAY_S ? delay : MAX_DELAY_S) * jitter(h);
        r->ready_at[t->req] = now_s() + delay;
        r->waiting[r->n_waiting++] = t->req;
        h->retries++;
        rmb_log(r->ctx, RMB_LOG_DEBUG, "%s: %s: %s; retrying in %.2f s (attempt %d of %d)", r->url,
                q->label, why.msg, delay, r->tries[t->req] + 1, h->max_attempts);
    } else {
        rmb_fail(&q->err, why.status, "%s: %s: %s (gave up after %d attempt%s)", r->url, q->label,
                 why.msg, r->tries[t->req], r->tries[t->req] == 1 ? "" : "s");
        r->n_done++;
    }
}

static void collect(run *r)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(r->h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        transfer *t;
        CURLcode code = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(r->h->multi, t->easy);
        for (int i = 0; i < r->h->in_flight; i++)
            if (r->active[i] == t)
                r->active[i] = NULL;
        r->n_active--;
        finish(r, t, code);
        transfer_free(t);
    }
}

/* Starts what may start: retries that are due first, then fresh requests.
 * Returns how long to wait for the next due retry (ms, capped at POLL_MS). */
static rmb_status start_due(run *r, int *wait_ms, rmb_error *err)
{
    double now = now_s(), next = now + POLL_MS / 1000.0;
    for (size_t i = 0; i < r->n_waiting;) {
        size_t req = r->waiting[i];
        if (r->ready_at[req] <= now && r->n_active < r->h->in_flight) {
            r->waiting[i] = r->waiting[--r->n_waiting];
            if (start(r, req, err) != RMB_OK)
                return err->status;
            continue;
        }
        if (r->ready_at[req] < next)
            next = r->ready_at[req];
        i++;
    }
    while (r->next_fresh < r->n && r->n_active < r->h->in_flight)
        if (start(r, r->next_fresh++, err) != RMB_OK)
            return err->status;
    double ms = (next - now) * 1000.0;
    *wait_ms = ms < 1 ? 1 : (int)ms;
    return RMB_OK;
}

static void run_free(run *r)
{
    for (int i = 0; r->active && i < r->h->in_flight; i++)
        if (r->active[i]) {
            curl_multi_remove_handle(r->h->multi, r->active[i]->easy);
            transfer_free(r->active[i]);
        }
    free(r->active);
    free(r->tries);
    free(r->ready_at);
    free(r->waiting);
}

rmb_status rmb_http_run(rmb_http *h, const char *url, rmb_http_request *reqs, size_t n,
                        rmb_http_parse_fn parse, void *user, const rmb_context *ctx,
                        rmb_error *err)
{
    run r = {.h = h, .url = url, .reqs = reqs, .n = n, .parse = parse, .user = user, .ctx = ctx};
    r.tries = calloc(n ? n : 1, sizeof *r.tries);
    r.ready_at = calloc(n ? n : 1, sizeof *r.ready_at);
    r.waiting = calloc(n ? n : 1, sizeof *r.waiting);
    r.active = calloc((size_t)h->in_flight, sizeof *r.active);
    rmb_status st = RMB_OK;
    if (!r.tries || !r.ready_at || !r.waiting || !r.active)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        rmb_fail(&reqs[i].err, RMB_EREMOTE, "%s: not sent", reqs[i].label);
    while (st == RMB_OK && r.n_done < n) {
        if (rmb_canceled(ctx)) {
            st = rmb_fail(err, RMB_ECANCELED, "canceled");
            break;
        }
        int wait_ms = POLL_MS, running;
        if ((st = start_due(&r, &wait_ms, err)) != RMB_OK)
            break;
        curl_multi_perform(h->multi, &running);
        collect(&r);
        /* A freed slot with fresh work waiting starts at once, not after a poll. */
        if (r.n_done < n && !(r.n_active < h->in_flight && r.next_fresh < n))
            curl_multi_poll(h->multi, NULL, 0, wait_ms, NULL);
    }
    run_free(&r);
    return st;
}
