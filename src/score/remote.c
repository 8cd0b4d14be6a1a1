/* Shared parts of the remote scorers (see remote.h). */
#include "score/remote.h"

#include "common/buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

rmb_status rmb_remote_parse_spec(const char *spec, const char *arg, bool model_required,
                                 char **url, char **model, rmb_error *err)
{
    *url = *model = NULL;
    if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0)
        return rmb_fail(err, RMB_EUSAGE, "--model %s: the URL must start with http:// or https://",
                        spec);
    const char *hash = strchr(arg, '#');
    size_t len = hash ? (size_t)(hash - arg) : strlen(arg);
    while (len > 0 && arg[len - 1] == '/')
        len--;
    if (hash && !hash[1])
        return rmb_fail(err, RMB_EUSAGE, "--model %s: empty model name after '#'", spec);
    if (!hash && model_required)
        return rmb_fail(err, RMB_EUSAGE, "--model %s: name the model: URL#MODEL", spec);
    *url = strndup(arg, len);
    *model = hash ? strdup(hash + 1) : NULL;
    if (!*url || (hash && !*model)) {
        free(*url), free(*model);
        *url = *model = NULL;
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    return RMB_OK;
}

rmb_status rmb_remote_http_open(rmb_http **out, const rmb_scorer_options *opt, rmb_error *err)
{
    if (opt->in_flight < 0 || opt->max_attempts < 0 || opt->timeout_s < 0)
        return rmb_fail(err, RMB_EUSAGE,
                        "in-flight requests, attempts and timeout must not be negative");
    rmb_http_config cfg = {.in_flight = opt->in_flight,
                           .timeout_s = opt->timeout_s,
                           .max_attempts = opt->max_attempts,
                           .api_key_env = opt->api_key_env};
    return rmb_http_open(out, &cfg, err);
}

char *rmb_remote_url(const char *base, const char *path)
{
    rmb_buf b = {0};
    rmb_buf_printf(&b, "%s%s", base, path);
    return rmb_buf_take(&b);
}

static rmb_status keep_json(void *user, size_t index, const char *body, size_t len,
                            rmb_error *err)
{
    (void)index;
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return rmb_fail(err, RMB_EREMOTE, "malformed JSON: %s", jerr.text);
    json_decref(*(json_t **)user);
    *(json_t **)user = j;
    return RMB_OK;
}

static rmb_status get_json(rmb_http *h, const char *url, json_t **out, rmb_error *err)
{
    *out = NULL;
    rmb_http_request req = {0};
    snprintf(req.label, sizeof req.label, "the served model");
    rmb_status st = rmb_http_run(h, url, &req, 1, keep_json, out, NULL, err);
    if (st == RMB_OK && req.err.status != RMB_OK) {
        *err = req.err;
        st = err->status;
    }
    return st;
}

rmb_status rmb_remote_served_model(rmb_http *h, const char *base, const char *path,
                                   char **model, rmb_error *err)
{
    char *url = rmb_remote_url(base, path);
    json_t *j = NULL;
    rmb_status st = url ? get_json(h, url, &j, err) : rmb_fail(err, RMB_ENOMEM, "out of memory");
    const char *name = json_string_value(json_object_get(j, "model_path"));
    if (!name)
        name = json_string_value(
            json_object_get(json_array_get(json_object_get(j, "data"), 0), "id"));
    if (st == RMB_OK && !name)
        st = rmb_fail(err, RMB_EREMOTE, "%s: no model name in the answer; name it: URL#MODEL", url);
    else if (st == RMB_OK && !(*model = strdup(name)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    json_decref(j);
    free(url);
    return st;
}

rmb_status rmb_remote_endpoint(const char *url, const char *const *paths, size_t n_paths,
                               char **endpoint, char **base, size_t *which, rmb_error *err)
{
    size_t len = strlen(url), k = 0;
    while (k < n_paths && !(len >= strlen(paths[k]) &&
                            strcmp(url + len - strlen(paths[k]), paths[k]) == 0))
        k++;
    *which = k < n_paths ? k : 0;
    *endpoint = k < n_paths ? strdup(url) : rmb_remote_url(url, paths[0]);
    *base = strndup(url, k < n_paths ? len - strlen(paths[k]) : len);
    if (*endpoint && *base)
        return RMB_OK;
    free(*endpoint), free(*base);
    *endpoint = *base = NULL;
    return rmb_fail(err, RMB_ENOMEM, "out of memory");
}

static int add_message(json_t *list, const char *role, const char *content)
{
    json_t *m = json_object();
    json_t *r = json_string(role), *c = json_string(content);
    int bad = !m || !r || !c;
    bad = bad || json_object_set_new(m, "role", r) != 0;
    r = NULL;
    bad = bad || json_object_set_new(m, "content", c) != 0;
    c = NULL;
    bad = bad || json_array_append_new(list, m) != 0;
    if (bad) {
        json_decref(r), json_decref(c);
        return -1;
    }
    return 0;
}

json_t *rmb_remote_messages(const rmb_conversation *conv, const char *answer, rmb_error *err)
{
    json_t *list = json_array();
    int bad = !list;
    for (size_t i = 0; !bad && i < conv->n_messages; i++)
        bad = add_message(list, conv->messages[i].role, conv->messages[i].content) != 0;
    if (!bad && answer)
        bad = add_message(list, "assistant", answer) != 0;
    if (bad) {
        json_decref(list);
        /* jansson refuses text that is not valid UTF-8; memory is the other cause */
        rmb_fail(err, RMB_EDATA, "a message is not valid UTF-8 (or out of memory)");
        return NULL;
    }
    return list;
}

rmb_status rmb_remote_identify(rmb_scorer *s, const char *prefix, const char *model,
                               rmb_error *err, const char *fmt, ...)
{
    const char *base = model ? model : "server";
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && base[start - 1] != '/')
        start--;
    rmb_buf name = {0}, fp = {0};
    rmb_buf_printf(&name, "%s-%.*s", prefix, (int)(len - start), base + start);
    for (size_t i = 0; name.data && i < name.len; i++) {
        char c = name.data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            name.data[i] = '_';
    }
    va_list ap;
    va_start(ap, fmt);
    rmb_buf_vprintf(&fp, fmt, ap);
    va_end(ap);
    if (!name.data || !fp.data) {
        rmb_buf_free(&name), rmb_buf_free(&fp);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    free(s->name);
    free(s->fingerprint);
    s->name = rmb_buf_take(&name);
    s->fingerprint = rmb_buf_take(&fp);
    return RMB_OK;
}

size_t rmb_remote_batch_size(const rmb_scorer_options *opt)
{
    return (size_t)(opt->in_flight > 0 ? opt->in_flight : 32) * 8;
}

json_t *rmb_remote_report(rmb_http *h, const char *backend, const char *model)
{
    unsigned long long attempts, retries;
    rmb_http_counts(h, &attempts, &retries);
    return json_pack("{s:s, s:s, s:I, s:I}", "backend", backend, "model", model, "http_attempts",
                     (json_int_t)attempts, "http_retries", (json_int_t)retries);
}

rmb_status rmb_remote_reward(json_t *value, const char *field, double *out, rmb_error *err)
{
    if (json_is_array(value)) {
        if (json_array_size(value) != 1)
            return rmb_fail(err, RMB_EREMOTE,
                            "\"%s\" has %zu values, expected one reward (is the model a "
                            "one-label classifier?)",
                            field, json_array_size(value));
        value = json_array_get(value, 0);
    }
    if (!json_is_number(value))
        return rmb_fail(err, RMB_EREMOTE, "\"%s\" is not a number", field);
    *out = json_number_value(value);
    if (!isfinite(*out))
        return rmb_fail(err, RMB_EREMOTE, "\"%s\" is not finite", field);
    return RMB_OK;
}

/* ---- the sequence-scoring driver ---- */

typedef struct score_run {
    rmb_scorer *self;
    const rmb_remote_api *api;
    size_t per_request;
    size_t n;
    double *scores;
} score_run;

static rmb_status take_rewards(void *user, size_t index, const char *body, size_t len,
                               rmb_error *err)
{
    score_run *s = user;
    size_t first = index * s->per_request;
    size_t count = s->n - first < s->per_request ? s->n - first : s->per_request;
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!j)
        return rmb_fail(err, RMB_EREMOTE, "malformed JSON: %s", jerr.text);
    double *got = malloc(count * sizeof *got);
    rmb_status st = got ? s->api->rewards(s->self, j, count, got, err)
                        : rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK) /* all of the request's rewards or none */
        memcpy(s->scores + first, got, count * sizeof *got);
    free(got);
    json_decref(j);
    return st;
}

rmb_status rmb_remote_score(rmb_scorer *self, rmb_http *h, const char *url,
                            const rmb_remote_api *api, size_t per_request,
                            const rmb_sequence *seqs, size_t n, double *scores,
                            rmb_error *item_err, const rmb_context *ctx, rmb_error *err)
{
    size_t n_req = (n + per_request - 1) / per_request;
    rmb_http_request *reqs = calloc(n_req ? n_req : 1, sizeof *reqs);
    if (!reqs)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = RMB_OK;
    for (size_t r = 0; r < n_req && st == RMB_OK; r++) {
        size_t first = r * per_request, count = n - first < per_request ? n - first : per_request;
        snprintf(reqs[r].label, sizeof reqs[r].label, "sequence with key %016" PRIx64 "%s",
                 seqs[first].key, count > 1 ? " and the ones batched with it" : "");
        rmb_error why = {0};
        json_t *body = api->body(self, seqs + first, count, &why);
        reqs[r].body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!reqs[r].body)
            st = body ? rmb_fail(err, RMB_ENOMEM, "out of memory")
                      : rmb_fail(err, why.status, "%s: %s", reqs[r].label, why.msg);
    }
    score_run s = {self, api, per_request, n, scores};
    if (st == RMB_OK)
        st = rmb_http_run(h, url, reqs, n_req, take_rewards, &s, ctx, err);
    for (size_t i = 0; st == RMB_OK && i < n; i++)
        item_err[i] = reqs[i / per_request].err;
    for (size_t r = 0; r < n_req; r++)
        free(reqs[r].body);
    free(reqs);
    return st;
}
