/* The option table (rmb/options.h) and the loops over it. */
#include "rmb/options.h"

#include "rmb/model.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const truncation_names[] = {"left", "right", "none", NULL};
static const char *const compute_names[] = {"exact", "bf16", "int8", NULL};
static const char *const kernel_set_names[] = {"auto", "scalar", "avx2", "avx512", NULL};

/* A forced kernel set must be one this CPU runs: the engine would refuse it
 * only once the model is mapped. */
static rmb_status check_kernels(const rmb_option *opt, const rmb_scorer_options *o,
                                rmb_error *err)
{
    const char *name = rmb_kernel_set_name(o->kernels);
    for (size_t i = 0; name && rmb_model_kernel_set(i); i++)
        if (!strcmp(rmb_model_kernel_set(i), name))
            return RMB_OK;
    if (!name)
        return RMB_OK;
    return rmb_fail(err, RMB_EUSAGE, "--%s %s: this CPU does not run the %s kernels", opt->flag,
                    name, name);
}

#define FIELD(f) offsetof(rmb_scorer_options, f)

/* In run.json's order (the record predates the table). */
static const rmb_option table[] = {
    {.name = "max_length", .flag = "max-length", .type = RMB_OPTION_COUNT,
     .offset = FIELD(max_length), .zero = RMB_MAX_LENGTH_CONTEXT, .metavar = "N",
     .help = "tokens per sequence for model scorers (default 2048, as RMB;\n"
             "0 = the model's context length)",
     .flags = RMB_OPTION_CHANGES_SCORES | RMB_OPTION_IN_SUMMARY},
    {.name = "truncation", .flag = "truncation", .type = RMB_OPTION_CHOICE,
     .offset = FIELD(truncation), .choices = truncation_names, .metavar = "SIDE",
     .help = "which end survives --max-length: left (default, as RMB: keeps the\n"
             "end), right, or none",
     .flags = RMB_OPTION_CHANGES_SCORES | RMB_OPTION_IN_SUMMARY},
    {.name = "threads", .flag = "threads", .type = RMB_OPTION_COUNT, .offset = FIELD(threads),
     .metavar = "N", .help = "worker threads for the native engine (default: all cores)"},
    {.name = "compute", .flag = "compute", .alias = "dtype", .type = RMB_OPTION_CHOICE,
     .offset = FIELD(compute), .choices = compute_names, .metavar = "MODE",
     .help = "exact (default: fp32 activations), bf16 (faster, approximate) or\n"
             "int8 (Q8_0 weights only, as rmb convert --type q8_0 writes: int8\n"
             "activations, fastest, approximate);\n"
             "--dtype is the same option",
     .flags = RMB_OPTION_CHANGES_SCORES | RMB_OPTION_IN_SUMMARY},
    {.name = "tokenizer", .flag = "tokenizer", .type = RMB_OPTION_TEXT,
     .offset = FIELD(tokenizer), .metavar = "DIR",
     .help = "tokenize locally with this model directory (remote scorers)",
     .flags = RMB_OPTION_CHANGES_SCORES | RMB_OPTION_IN_SUMMARY},
    {.name = "api_key_env", .flag = "api-key-env", .type = RMB_OPTION_TEXT,
     .offset = FIELD(api_key_env), .metavar = "VAR",
     .help = "environment variable holding the API key (default OPENAI_API_KEY)"},
    {.name = "in_flight", .flag = "in-flight", .type = RMB_OPTION_COUNT,
     .offset = FIELD(in_flight), .min = 1, .metavar = "N",
     .help = "concurrent requests for remote scorers (default 32)"},
    /* The judge's fingerprint digests the prompt; summary.json never
     * recorded the path. */
    {.name = "judge_prompt", .flag = "judge-prompt", .type = RMB_OPTION_TEXT,
     .offset = FIELD(judge_prompt), .metavar = "FILE",
     .help = "judges: a prompt file {\"system\", \"user\"} (default MT-Bench pairwise)",
     .flags = RMB_OPTION_CHANGES_SCORES},
    {.name = "timeout_s", .flag = "timeout", .type = RMB_OPTION_SECONDS,
     .offset = FIELD(timeout_s), .min = 1, .metavar = "SECONDS",
     .help = "remote: seconds per request attempt (default 300)"},
    {.name = "max_attempts", .flag = "max-attempts", .type = RMB_OPTION_COUNT,
     .offset = FIELD(max_attempts), .min = 1, .metavar = "N",
     .help = "remote: attempts per request before the item fails (default 4)"},
    /* Kernel sets agree to rounding, not bit for bit (tests/model/
     * test_kernels.c bounds each against the scalar set), so a forced set is
     * in the native fingerprint; the default (the best this CPU runs) is
     * not, as before. */
    {.name = "kernels", .flag = "kernels", .type = RMB_OPTION_CHOICE, .offset = FIELD(kernels),
     .choices = kernel_set_names, .check = check_kernels, .metavar = "NAME",
     .help = "native: force a kernel set: scalar, avx2 or avx512 (default auto:\n"
             "the best this CPU runs)",
     .flags = RMB_OPTION_CHANGES_SCORES | RMB_OPTION_IN_SUMMARY},
    /* Every row computes what it computes alone, however the tokens are
     * chunked: scores do not depend on it. */
    {.name = "chunk_tokens", .flag = "chunk-tokens", .type = RMB_OPTION_COUNT,
     .offset = FIELD(chunk_tokens), .min = 1, .metavar = "N",
     .help = "native: tokens per pass through the weights (default 256)"},
    {.name = "device", .flag = "device", .type = RMB_OPTION_TEXT, .offset = FIELD(device),
     .metavar = "NAME", .help = "native: the compute backend (default cpu)"},
};

enum { N_OPTIONS = sizeof table / sizeof table[0] };
_Static_assert(N_OPTIONS <= sizeof(unsigned) * CHAR_BIT, "rmb_scorer_options.given has a bit each");

const rmb_option *rmb_options_table(size_t *n)
{
    *n = N_OPTIONS;
    return table;
}

const rmb_option *rmb_option_find(const char *key)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (!strcmp(key, table[i].name) || !strcmp(key, table[i].flag) ||
            (table[i].alias && !strcmp(key, table[i].alias)))
            return &table[i];
    return NULL;
}

static unsigned bit_of(const rmb_option *opt) { return 1u << (opt - table); }

/* The field of opt in o. */
static void *field(const rmb_option *opt, rmb_scorer_options *o)
{
    return (char *)o + opt->offset;
}

static const void *field_of(const rmb_option *opt, const rmb_scorer_options *o)
{
    return (const char *)o + opt->offset;
}

/* CHOICE fields are enums: int-sized, as the static asserts below check. */
static int choice_value(const rmb_option *opt, const rmb_scorer_options *o)
{
    return *(const int *)field_of(opt, o);
}
_Static_assert(sizeof(rmb_truncation) == sizeof(int) && sizeof(rmb_compute) == sizeof(int) &&
                   sizeof(rmb_kernel_set) == sizeof(int),
               "CHOICE fields are int-sized enums");

static size_t n_choices(const rmb_option *opt)
{
    size_t n = 0;
    while (opt->choices[n])
        n++;
    return n;
}

static bool valid_choice(const rmb_option *opt, int value)
{
    return value >= 0 && (size_t)value < n_choices(opt);
}

const char *rmb_option_choice_name(const rmb_option *opt, const rmb_scorer_options *o)
{
    if (opt->type != RMB_OPTION_CHOICE || !valid_choice(opt, choice_value(opt, o)))
        return NULL;
    return opt->choices[choice_value(opt, o)];
}

bool rmb_option_is_set(const rmb_option *opt, const rmb_scorer_options *o)
{
    switch (opt->type) {
    case RMB_OPTION_COUNT: return *(const int *)field_of(opt, o) != 0;
    case RMB_OPTION_SECONDS: return *(const double *)field_of(opt, o) != 0;
    case RMB_OPTION_TEXT: return *(const char *const *)field_of(opt, o) != NULL;
    case RMB_OPTION_CHOICE: return (o->given & bit_of(opt)) != 0;
    }
    return false;
}

static rmb_status parse_choice(const rmb_option *opt, const char *text, rmb_scorer_options *o,
                               rmb_error *err)
{
    char expected[128] = "";
    for (size_t i = 0; opt->choices[i]; i++) {
        if (!strcmp(text, opt->choices[i])) {
            *(int *)field(opt, o) = (int)i;
            return RMB_OK;
        }
        strncat(expected, i ? ", " : "", sizeof expected - strlen(expected) - 1);
        strncat(expected, opt->choices[i], sizeof expected - strlen(expected) - 1);
    }
    return rmb_fail(err, RMB_EUSAGE, "--%s %s: expected one of %s", opt->flag, text, expected);
}

/* A whole number >= opt->min. */
static rmb_status parse_count(const rmb_option *opt, const char *text, int *out, rmb_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno || v < opt->min || v > INT_MAX)
        return rmb_fail(err, RMB_EUSAGE, "--%s %s: expected a number >= %d", opt->flag, text,
                        opt->min);
    *out = (int)v;
    return RMB_OK;
}

rmb_status rmb_option_parse(const rmb_option *opt, const char *text, rmb_scorer_options *o,
                            rmb_error *err)
{
    rmb_status st = RMB_OK;
    int n = 0;
    switch (opt->type) {
    case RMB_OPTION_COUNT:
        if ((st = parse_count(opt, text, &n, err)) == RMB_OK)
            *(int *)field(opt, o) = n ? n : opt->zero;
        break;
    case RMB_OPTION_SECONDS:
        if ((st = parse_count(opt, text, &n, err)) == RMB_OK)
            *(double *)field(opt, o) = n;
        break;
    case RMB_OPTION_TEXT: *(const char **)field(opt, o) = text; break;
    case RMB_OPTION_CHOICE: st = parse_choice(opt, text, o, err); break;
    }
    if (st == RMB_OK && opt->check)
        st = opt->check(opt, o, err);
    if (st == RMB_OK)
        o->given |= bit_of(opt);
    return st;
}

rmb_status rmb_options_check(const rmb_scorer_options *o, rmb_error *err)
{
    for (const rmb_option *opt = table; opt < table + N_OPTIONS; opt++) {
        bool ok = true;
        if (opt->type == RMB_OPTION_COUNT)
            ok = *(const int *)field_of(opt, o) >= (opt->zero < 0 ? opt->zero : 0);
        else if (opt->type == RMB_OPTION_SECONDS)
            ok = *(const double *)field_of(opt, o) >= 0;
        else if (opt->type == RMB_OPTION_CHOICE)
            ok = valid_choice(opt, choice_value(opt, o));
        if (!ok)
            return rmb_fail(err, RMB_EUSAGE, "scorer options: field %s: out of range", opt->name);
        rmb_status st = opt->check ? opt->check(opt, o, err) : RMB_OK;
        if (st != RMB_OK)
            return st;
    }
    return RMB_OK;
}

/* The option's value as JSON; null when a TEXT or CHOICE is unset. */
static json_t *value_json(const rmb_option *opt, const rmb_scorer_options *o)
{
    switch (opt->type) {
    case RMB_OPTION_COUNT: return json_integer(*(const int *)field_of(opt, o));
    case RMB_OPTION_SECONDS: return json_real(*(const double *)field_of(opt, o));
    case RMB_OPTION_TEXT: {
        const char *text = *(const char *const *)field_of(opt, o);
        return text ? json_string(text) : json_null();
    }
    case RMB_OPTION_CHOICE:
        return rmb_option_is_set(opt, o) ? json_string(rmb_option_choice_name(opt, o)) : json_null();
    }
    return json_null();
}

/* The options with all of the flags in need (0: every one) that pass the
 * set test (NULL: every one). */
static json_t *options_json(const rmb_scorer_options *o, unsigned need,
                            bool (*keep)(const rmb_option *, const rmb_scorer_options *))
{
    json_t *j = json_object();
    for (const rmb_option *opt = table; j && opt < table + N_OPTIONS; opt++)
        if ((opt->flags & need) == need && (!keep || keep(opt, o)) &&
            json_object_set_new(j, opt->name, value_json(opt, o)) != 0) {
            json_decref(j);
            return NULL;
        }
    return j;
}

json_t *rmb_options_json(const rmb_scorer_options *o) { return options_json(o, 0, NULL); }

json_t *rmb_options_summary_json(const rmb_scorer_options *o)
{
    return options_json(o, RMB_OPTION_IN_SUMMARY, rmb_option_is_set);
}

static rmb_status read_value(const rmb_option *opt, const json_t *v, const char *where,
                             rmb_scorer_options *o, rmb_error *err)
{
    bool ok = true;
    switch (opt->type) {
    case RMB_OPTION_COUNT:
        ok = json_is_integer(v) && json_integer_value(v) >= INT_MIN && json_integer_value(v) <= INT_MAX;
        if (ok)
            *(int *)field(opt, o) = (int)json_integer_value(v);
        break;
    case RMB_OPTION_SECONDS:
        if ((ok = json_is_number(v)))
            *(double *)field(opt, o) = json_number_value(v);
        break;
    case RMB_OPTION_TEXT:
        if ((ok = json_is_string(v)))
            *(const char **)field(opt, o) = json_string_value(v);
        break;
    case RMB_OPTION_CHOICE:
        if ((ok = json_is_string(v)) && parse_choice(opt, json_string_value(v), o, err) != RMB_OK)
            return rmb_error_prefix(err, "%s: field %s: ", where, opt->name);
        break;
    }
    if (!ok)
        return rmb_fail(err, RMB_EDATA, "%s: field %s: not a %s", where, opt->name,
                        opt->type == RMB_OPTION_TEXT || opt->type == RMB_OPTION_CHOICE ? "string"
                                                                                        : "number");
    o->given |= bit_of(opt);
    return RMB_OK;
}

rmb_status rmb_options_from_json(const json_t *json, const char *where, rmb_scorer_options *o,
                                 rmb_error *err)
{
    for (const rmb_option *opt = table; opt < table + N_OPTIONS; opt++) {
        const json_t *v = json_object_get(json, opt->name);
        rmb_status st = v && !json_is_null(v) ? read_value(opt, v, where, o, err) : RMB_OK;
        if (st != RMB_OK)
            return st;
    }
    return RMB_OK;
}

const char *rmb_kernel_set_name(rmb_kernel_set k)
{
    return k > RMB_KERNELS_AUTO && k <= RMB_KERNELS_AVX512 ? kernel_set_names[k] : NULL;
}
