/* Shared parts of the remote scorers (see remote.h). */
#include "score/remote.h"

#include "common/buf.h"
#include "common/fileio.h"

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

/* json_pack fails on text that is not valid UTF-8; append_new then fails too. */
static int add_message(json_t *list, const char *role, const char *content)
{
    return json_array_append_new(list, json_pack("{s:s, s:s}", "role", role, "content", content));
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

char *rmb_remote_name(const char *prefix, const char *model)
{
    size_t len;
    const char *last = rmb_path_last(model ? model : "server", &len);
    rmb_buf name = {0};
    rmb_buf_printf(&name, "%s-%.*s", prefix, (int)len, last);
    for (size_t i = 0; name.data && i < name.len; i++) {
        char c = name.data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            name.data[i] = '_';
    }
    return rmb_buf_take(&name);
}

rmb_status rmb_remote_identify(rmb_scorer *s, const char *prefix, const char *model,
                               rmb_error *err, const char *fmt, ...)
{
    rmb_buf fp = {0};
    char *name = rmb_remote_name(prefix, model);
    va_list ap;
    va_start(ap, fmt);
    rmb_buf_vprintf(&fp, fmt, ap);
    va_end(ap);
    if (!name || !fp.data) {
        free(name), rmb_buf_free(&fp);
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    free(s->name);
    free(s->fingerprint);
    s->name = name;
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
