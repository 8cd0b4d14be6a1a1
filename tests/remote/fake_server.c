/* The fake inference server (see fake_server.h), on libmicrohttpd with one
 * thread per connection so that slow answers do not hold up the others. */
#include "fake_server.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEEN_SLOTS (1u << 16) /* distinct bodies remembered for fault counting */

struct fake_server {
    struct MHD_Daemon *d;
    fake_config cfg;
    pthread_mutex_t lock;
    uint64_t *seen_hash; /* open addressing: body hash -> arrivals */
    int *seen_count;
    fake_stats stats;
    int concurrent;
    FILE *record; /* cfg.record_path, open */
};

typedef struct upload {
    char *data;
    size_t len;
} upload;

uint64_t fake_fnv1a(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

double fake_reward(const char *answer)
{
    return (double)(fake_fnv1a(answer) >> 58) / 4.0 - 8.0;
}

double fake_ids_reward(const int32_t *ids, size_t n)
{
    char *text = malloc(n * 12 + 1);
    size_t len = 0;
    if (!text)
        return 0;
    text[0] = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, i ? ",%d" : "%d", (int)ids[i]);
    double r = fake_reward(text);
    free(text);
    return r;
}

/* The ids rule on a JSON array of integers; NAN when it is not one. */
static double json_ids_reward(json_t *list)
{
    size_t n = json_array_size(list);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    int ok = ids && json_is_array(list);
    for (size_t i = 0; ok && i < n; i++) {
        json_t *v = json_array_get(list, i);
        ok = json_is_integer(v) && json_integer_value(v) >= 0 &&
             json_integer_value(v) <= INT32_MAX;
        ids[i] = ok ? (int32_t)json_integer_value(v) : 0;
    }
    double r = ok ? fake_ids_reward(ids, n) : NAN;
    free(ids);
    return r;
}

/* Rewards of a token-id request's list of id lists (a bare list of ints is
 * one sequence); NULL when it is neither. */
static json_t *ids_rewards(json_t *input)
{
    json_t *first = json_array_get(input, 0);
    if (!json_is_array(input) || !first)
        return NULL;
    json_t *out = json_array();
    if (!json_is_array(first)) {
        double r = json_ids_reward(input);
        json_array_append_new(out, json_real(r));
    }
    for (size_t i = 0; json_is_array(first) && i < json_array_size(input); i++)
        json_array_append_new(out, json_real(json_ids_reward(json_array_get(input, i))));
    for (size_t i = 0; i < json_array_size(out); i++)
        if (isnan(json_real_value(json_array_get(out, i)))) {
            json_decref(out);
            return NULL;
        }
    return out;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Arrivals of this body so far, this one included. */
static int arrivals(fake_server *s, uint64_t h)
{
    uint32_t i = (uint32_t)(h % SEEN_SLOTS);
    pthread_mutex_lock(&s->lock);
    while (s->seen_count[i] && s->seen_hash[i] != h)
        i = (i + 1) % SEEN_SLOTS;
    s->seen_hash[i] = h;
    int n = ++s->seen_count[i];
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The fault kind for this body now, or 0. */
static unsigned pick_fault(fake_server *s, const char *body)
{
    if (!s->cfg.faults)
        return 0;
    uint64_t h = fake_fnv1a(body);
    unsigned every = s->cfg.fault_every ? s->cfg.fault_every : 3;
    int times = s->cfg.fault_times ? s->cfg.fault_times : 2;
    if (h % every != 0 || arrivals(s, h) > times)
        return 0;
    unsigned kinds[8], n = 0;
    for (unsigned k = 1; k <= FAULT_COUNT; k <<= 1)
        if (s->cfg.faults & k)
            kinds[n++] = k;
    return kinds[(h / every) % n];
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             int retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    enum MHD_Result ok = text ? reply(c, status, text, 0) : MHD_NO;
    free(text);
    return ok;
}

static const char *last_content(json_t *messages)
{
    size_t n = json_array_size(messages);
    return n ? json_string_value(json_object_get(json_array_get(messages, n - 1), "content"))
             : NULL;
}

/* vLLM /pooling and /classify: the chat form (one conversation) or the
 * token-id form ("input": one result per id list). */
static json_t *vllm_answer(json_t *req, int classify, int extra)
{
    const char *answer = last_content(json_object_get(req, "messages"));
    json_t *ids = json_object_get(req, "input");
    const char *task = json_string_value(json_object_get(req, "task"));
    if (!answer == !ids || json_object_get(req, "use_activation") != json_false() ||
        (answer && json_object_get(req, "add_generation_prompt") != json_false()) ||
        (!classify && (!task || strcmp(task, "classify") != 0)))
        return NULL;
    json_t *rewards = ids ? ids_rewards(ids) : json_pack("[f]", fake_reward(answer));
    if (!rewards)
        return NULL;
    json_t *data = json_array();
    size_t n = json_array_size(rewards);
    for (size_t i = 0; i < n + (size_t)extra; i++)
        json_array_append_new(data, json_pack("{s:i, s:s, s:[O]}", "index", (int)(i % n), "object",
                                              classify ? "classification" : "pooling",
                                              classify ? "probs" : "data",
                                              json_array_get(rewards, i % n)));
    json_decref(rewards);
    return json_pack("{s:s, s:s, s:i, s:O, s:o, s:{s:i}}", "id", "pool-0", "object", "list",
                     "created", 0, "model", json_object_get(req, "model"), "data", data, "usage",
                     "prompt_tokens", 1);
}

/* SGLang /classify: a list of {"embedding": [reward], "meta_info"} per
 * text or per id list. */
static json_t *sglang_answer(json_t *req, int extra)
{
    json_t *texts = json_object_get(req, "text");
    json_t *rewards = json_is_array(texts) ? json_array() : ids_rewards(json_object_get(req, "input_ids"));
    for (size_t i = 0; json_is_array(texts) && i < json_array_size(texts); i++) {
        const char *t = json_string_value(json_array_get(texts, i));
        json_array_append_new(rewards, json_real(fake_reward(t ? t : "")));
    }
    size_t n = json_array_size(rewards);
    if (!n || (texts && json_object_get(req, "input_ids"))) {
        json_decref(rewards);
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n + (size_t)extra; i++)
        json_array_append_new(out, json_pack("{s:[O], s:{s:s, s:i}}", "embedding",
                                             json_array_get(rewards, i % n), "meta_info", "id",
                                             "x", "prompt_tokens", 1));
    json_decref(rewards);
    return out;
}

/* The text between "[The Start of Assistant X's Answer]\n" and its end marker. */
static char *shown_answer(const char *prompt, char x)
{
    char start[64], end[64];
    snprintf(start, sizeof start, "[The Start of Assistant %c's Answer]\n", x);
    snprintf(end, sizeof end, "\n[The End of Assistant %c's Answer]", x);
    const char *a = strstr(prompt, start);
    const char *b = a ? strstr(a + strlen(start), end) : NULL;
    return b ? strndup(a + strlen(start), (size_t)(b - a - strlen(start))) : NULL;
}

static json_t *judge_answer(json_t *req, int count_fault)
{
    const char *prompt = last_content(json_object_get(req, "messages"));
    json_t *temp = json_object_get(req, "temperature");
    if (!prompt || !json_is_number(temp) || json_number_value(temp) != 0 ||
        !json_is_integer(json_object_get(req, "seed")))
        return NULL;
    char *a = shown_answer(prompt, 'A'), *b = shown_answer(prompt, 'B');
    if (!a || !b) {
        free(a), free(b);
        return NULL;
    }
    unsigned m = (unsigned)((fake_fnv1a(a) ^ fake_fnv1a(b)) >> 61);
    double ra = fake_reward(a), rb = fake_reward(b);
    const char *v = m == 1 ? "A" : m == 2 ? "C" : ra > rb ? "A" : ra < rb ? "B" : "C";
    char text[160];
    if (m == 0)
        snprintf(text, sizeof text, "Both answers have merits; I cannot decide.");
    else
        snprintf(text, sizeof text, "Choosing between [[A]] or [[B]] needs care.\n\nVerdict: [[%s]]",
                 v);
    free(a), free(b);
    json_t *choices = count_fault ? json_array()
                                  : json_pack("[{s:i, s:{s:s, s:s}, s:s}]", "index", 0, "message",
                                              "role", "assistant", "content", text,
                                              "finish_reason", "stop");
    return json_pack("{s:s, s:s, s:i, s:O, s:o}", "id", "chat-0", "object", "chat.completion",
                     "created", 0, "model", json_object_get(req, "model"), "choices", choices);
}

/* Appends "URL BODY" to the record file: the requests answered in full
 * (a slow answer too, even when the client gave up waiting for it). */
static void record(fake_server *s, const char *url, const char *body)
{
    if (!s->record)
        return;
    pthread_mutex_lock(&s->lock);
    fprintf(s->record, "%s %s\n", url, body);
    pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result serve(fake_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, const upload *up)
{
    if (s->cfg.api_key) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        char want[256];
        snprintf(want, sizeof want, "Bearer %s", s->cfg.api_key);
        if (!auth || strcmp(auth, want) != 0)
            return reply(c, 401, "{\"error\": \"bad key\"}", 0);
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/models") == 0)
        return reply(c, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"fake/rm-1\",\"object\":\"model\"}]}", 0);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/get_model_info") == 0)
        return reply(c, 200, "{\"model_path\":\"fake/sglang-rm\",\"is_generation\":false}", 0);
    const char *body = up->data ? up->data : "";
    unsigned fault = pick_fault(s, body);
    if (fault) {
        pthread_mutex_lock(&s->lock);
        s->stats.faults++;
        pthread_mutex_unlock(&s->lock);
    }
    if (fault == FAULT_SLOW)
        sleep_ms(s->cfg.slow_ms ? s->cfg.slow_ms : 2500);
    if (fault == FAULT_DROP)
        return MHD_NO;
    if (fault == FAULT_429)
        return reply(c, 429, "{\"error\": \"slow down\"}", 1);
    if (fault == FAULT_500)
        return reply(c, 500, "{\"error\": \"internal\"}", 0);
    if (fault == FAULT_MALFORMED)
        return reply(c, 200, "{\"data\": [{\"index\": 0, \"da", 0);
    json_t *req = json_loadb(body, up->len, 0, NULL);
    int extra = fault == FAULT_COUNT;
    json_t *out = NULL;
    if (req && strcmp(url, "/pooling") == 0)
        out = vllm_answer(req, 0, extra);
    else if (req && strcmp(url, "/classify") == 0)
        out = json_object_get(req, "text") || json_object_get(req, "input_ids")
                  ? sglang_answer(req, extra)
                  : vllm_answer(req, 1, extra);
    else if (req && strcmp(url, "/v1/chat/completions") == 0)
        out = judge_answer(req, extra);
    json_decref(req);
    if (out && !extra)
        record(s, url, body);
    return out ? reply_json(c, 200, out) : reply(c, 400, "{\"error\": \"bad request\"}", 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    fake_server *s = cls;
    upload *up = *con_cls;
    if (!up) {
        if (!(up = calloc(1, sizeof *up)))
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_size) {
        char *p = realloc(up->data, up->len + *upload_size + 1);
        if (!p)
            return MHD_NO;
        memcpy(p + up->len, upload_data, *upload_size);
        up->data = p;
        up->len += *upload_size;
        p[up->len] = 0;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->lock);
    s->stats.requests++;
    if (++s->concurrent > s->stats.max_concurrent)
        s->stats.max_concurrent = s->concurrent;
    pthread_mutex_unlock(&s->lock);
    if (s->cfg.delay_ms)
        sleep_ms(s->cfg.delay_ms);
    enum MHD_Result r = serve(s, c, url, method, up);
    pthread_mutex_lock(&s->lock);
    s->concurrent--;
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    upload *up = *con_cls;
    if (up)
        free(up->data);
    free(up);
    *con_cls = NULL;
}

fake_server *fake_start(const fake_config *cfg)
{
    fake_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->seen_hash = calloc(SEEN_SLOTS, sizeof *s->seen_hash);
    s->seen_count = calloc(SEEN_SLOTS, sizeof *s->seen_count);
    pthread_mutex_init(&s->lock, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (cfg->record_path && !(s->record = fopen(cfg->record_path, "w"))) {
        fake_stop(s);
        return NULL;
    }
    if (s->seen_hash && s->seen_count)
        s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                    MHD_USE_POLL,
                                0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
                                MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!s->d) {
        fake_stop(s);
        return NULL;
    }
    return s;
}

int fake_port(const fake_server *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : -1;
}

fake_stats fake_get_stats(fake_server *s)
{
    pthread_mutex_lock(&s->lock);
    fake_stats st = s->stats;
    pthread_mutex_unlock(&s->lock);
    return st;
}

void fake_stop(fake_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    if (s->record)
        fclose(s->record);
    pthread_mutex_destroy(&s->lock);
    free(s->seen_hash);
    free(s->seen_count);
    free(s);
}
