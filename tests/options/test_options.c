/* The option table (rmb/options.h, src/score/options.c): every entry is
 * complete and unique; parsing text sets the field the entry names, with
 * the command line's meanings (--max-length 0 is the context length); bad
 * values fail naming the flag and the value; run.json's record reads back
 * into the same struct; summary.json records only the options that change
 * scores; and rmb eval --help and rmb score --help list every flag. */
#include "rmb/options.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const rmb_option *table_of(size_t *n) { return rmb_options_table(n); }

static const rmb_option *find(const char *key)
{
    const rmb_option *opt = rmb_option_find(key);
    if (!opt)
        fprintf(stderr, "no option '%s' in the table\n", key);
    return opt;
}

/* Parses --flag text into a fresh struct; the status, *o filled. */
static rmb_status parse(const char *flag, const char *text, rmb_scorer_options *o,
                        rmb_error *err)
{
    *o = (rmb_scorer_options){0};
    const rmb_option *opt = find(flag);
    return opt ? rmb_option_parse(opt, text, o, err) : RMB_EDATA; /* missing, reported above */
}

static void test_entries_complete_and_unique(void)
{
    size_t n;
    const rmb_option *t = table_of(&n);
    CHECK(n >= 13);
    for (size_t i = 0; i < n; i++) {
        CHECK(t[i].name && *t[i].name);
        CHECK(t[i].flag && *t[i].flag);
        CHECK(t[i].help && *t[i].help);
        CHECK(t[i].metavar && *t[i].metavar);
        CHECK(t[i].offset < sizeof(rmb_scorer_options));
        CHECK(t[i].type != RMB_OPTION_CHOICE || (t[i].choices && t[i].choices[0]));
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(t[i].name, t[j].name) != 0);
            CHECK(strcmp(t[i].flag, t[j].flag) != 0);
            CHECK(t[i].offset != t[j].offset);
        }
        CHECK(rmb_option_find(t[i].name) == &t[i]);
        CHECK(rmb_option_find(t[i].flag) == &t[i]);
    }
    CHECK(rmb_option_find("dtype") == rmb_option_find("compute"));
    CHECK(rmb_option_find("no-such-option") == NULL);
}

static void test_parse_sets_fields(void)
{
    rmb_scorer_options o;
    rmb_error err;
    CHECK_EQ_INT(parse("max-length", "0", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.max_length, RMB_MAX_LENGTH_CONTEXT);
    CHECK_EQ_INT(parse("max-length", "4096", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.max_length, 4096);
    CHECK_EQ_INT(parse("truncation", "right", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.truncation, RMB_TRUNCATE_RIGHT);
    CHECK(rmb_option_is_set(find("truncation"), &o));
    CHECK_EQ_STR(rmb_option_choice_name(find("truncation"), &o), "right");
    CHECK_EQ_INT(parse("truncation", "left", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.truncation, RMB_TRUNCATE_LEFT);
    CHECK(rmb_option_is_set(find("truncation"), &o)); /* given, though the default */
    CHECK_EQ_INT(parse("timeout", "5", &o, &err), RMB_OK);
    CHECK(o.timeout_s == 5.0);
    CHECK_EQ_INT(parse("kernels", "scalar", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.kernels, RMB_KERNELS_SCALAR);
    CHECK_EQ_STR(rmb_kernel_set_name(o.kernels), "scalar");
    CHECK_EQ_INT(parse("device", "cpu", &o, &err), RMB_OK);
    CHECK_EQ_STR(o.device, "cpu");
    CHECK_EQ_INT(parse("chunk-tokens", "64", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.chunk_tokens, 64);
    CHECK_EQ_INT(parse("dtype", "bf16", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.compute, RMB_COMPUTE_BF16);
    CHECK_EQ_INT(parse("in-flight", "3", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.in_flight, 3);
    CHECK_EQ_INT(parse("max-attempts", "2", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.max_attempts, 2);
    CHECK_EQ_INT(parse("threads", "7", &o, &err), RMB_OK);
    CHECK_EQ_INT(o.threads, 7);
    CHECK_EQ_INT(parse("api-key-env", "MY_KEY", &o, &err), RMB_OK);
    CHECK_EQ_STR(o.api_key_env, "MY_KEY");
    CHECK(!rmb_option_is_set(find("truncation"), &(rmb_scorer_options){0}));
}

/* --flag value fails with RMB_EUSAGE, naming the flag and the value. */
static void check_refused(const char *flag, const char *value)
{
    rmb_scorer_options o;
    rmb_error err = {0};
    char named[128];
    CHECK_EQ_INT(parse(flag, value, &o, &err), RMB_EUSAGE);
    snprintf(named, sizeof named, "--%s %s", flag, value);
    CHECK_CONTAINS(err.msg, named);
    CHECK_EQ_INT(o.given, 0);
}

static void test_bad_values_refused(void)
{
    check_refused("truncation", "up");
    check_refused("in-flight", "0");
    check_refused("kernels", "bogus");
    check_refused("max-length", "-3");
    check_refused("max-length", "12x");
    check_refused("timeout", "0");
    check_refused("compute", "fp64");
    rmb_scorer_options o;
    rmb_error err = {0};
    parse("truncation", "up", &o, &err);
    CHECK_CONTAINS(err.msg, "left, right, none");
}

/* Every option set to a value other than its default. */
static rmb_scorer_options fully_set(void)
{
    rmb_scorer_options o = {0};
    static const char *const text[][2] = {
        {"max-length", "0"},       {"truncation", "none"},  {"threads", "3"},
        {"compute", "bf16"},       {"tokenizer", "tok/dir"}, {"api-key-env", "KEY_VAR"},
        {"in-flight", "5"},        {"judge-prompt", "p.json"}, {"timeout", "7"},
        {"max-attempts", "2"},     {"kernels", "scalar"},   {"chunk-tokens", "64"},
        {"device", "cpu"},
    };
    rmb_error err;
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        CHECK_EQ_INT(rmb_option_parse(find(text[i][0]), text[i][1], &o, &err), RMB_OK);
    return o;
}

static void test_json_round_trip(void)
{
    size_t n;
    const rmb_option *t = table_of(&n);
    rmb_scorer_options in = fully_set(), out = {0};
    for (size_t i = 0; i < n; i++)
        CHECK(rmb_option_is_set(&t[i], &in)); /* fully_set covers the table */
    json_t *j = rmb_options_json(&in);
    CHECK_EQ_INT(json_object_size(j), n);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "max_length")), RMB_MAX_LENGTH_CONTEXT);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "truncation")), "none");
    CHECK(json_real_value(json_object_get(j, "timeout_s")) == 7.0);
    /* through text, as run.json is written and read back */
    char *text = json_dumps(j, JSON_COMPACT);
    json_t *back = json_loads(text, 0, NULL);
    rmb_error err;
    CHECK_EQ_INT(rmb_options_from_json(back, "run.json: config.options", &out, &err), RMB_OK);
    CHECK_EQ_INT(out.max_length, in.max_length);
    CHECK_EQ_INT(out.truncation, in.truncation);
    CHECK_EQ_INT(out.threads, in.threads);
    CHECK_EQ_INT(out.compute, in.compute);
    CHECK_EQ_STR(out.tokenizer, in.tokenizer);
    CHECK_EQ_STR(out.api_key_env, in.api_key_env);
    CHECK_EQ_INT(out.in_flight, in.in_flight);
    CHECK_EQ_STR(out.judge_prompt, in.judge_prompt);
    CHECK(out.timeout_s == in.timeout_s);
    CHECK_EQ_INT(out.max_attempts, in.max_attempts);
    CHECK_EQ_INT(out.kernels, in.kernels);
    CHECK_EQ_INT(out.chunk_tokens, in.chunk_tokens);
    CHECK_EQ_STR(out.device, in.device);
    CHECK_EQ_INT(out.given, in.given);
    /* an unset struct writes nulls for TEXT and CHOICE, and reads back unset */
    rmb_scorer_options none = {0}, none_back = {0};
    json_t *empty = rmb_options_json(&none);
    CHECK(json_is_null(json_object_get(empty, "truncation")));
    CHECK(json_is_null(json_object_get(empty, "device")));
    CHECK_EQ_INT(rmb_options_from_json(empty, "run.json", &none_back, &err), RMB_OK);
    for (size_t i = 0; i < n; i++)
        CHECK(!rmb_option_is_set(&t[i], &none_back));
    /* a bad value names where and the field */
    json_object_set_new(back, "threads", json_string("many"));
    CHECK_EQ_INT(rmb_options_from_json(back, "shards/1/run.json: config.options", &out, &err),
                 RMB_EDATA);
    CHECK_CONTAINS(err.msg, "shards/1/run.json: config.options");
    CHECK_CONTAINS(err.msg, "threads");
    json_decref(empty);
    json_decref(back);
    free(text);
    json_decref(j);
}

static void test_summary_only_score_changing(void)
{
    size_t n;
    const rmb_option *t = table_of(&n);
    rmb_scorer_options o = fully_set();
    json_t *s = rmb_options_summary_json(&o);
    size_t in_summary = 0;
    for (size_t i = 0; i < n; i++) {
        bool listed = json_object_get(s, t[i].name) != NULL;
        CHECK(listed == ((t[i].flags & RMB_OPTION_IN_SUMMARY) != 0));
        CHECK(!listed || (t[i].flags & RMB_OPTION_CHANGES_SCORES));
        in_summary += listed;
    }
    CHECK_EQ_INT(json_object_size(s), in_summary);
    /* today's record: these five, never machine settings or remote plumbing */
    const char *const want[] = {"max_length", "truncation", "compute", "tokenizer", "kernels"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(json_object_get(s, want[i]) != NULL);
    const char *const never[] = {"threads", "api_key_env", "in_flight", "judge_prompt",
                                 "timeout_s", "max_attempts", "chunk_tokens", "device"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        CHECK(json_object_get(s, never[i]) == NULL);
    json_decref(s);
    /* unset options are left out */
    rmb_scorer_options only = {0};
    rmb_error err;
    CHECK_EQ_INT(rmb_option_parse(find("truncation"), "right", &only, &err), RMB_OK);
    s = rmb_options_summary_json(&only);
    CHECK_EQ_INT(json_object_size(s), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(s, "truncation")), "right");
    json_decref(s);
}

/* The output of `rmb <command> --help` (stdout and stderr), malloc'd. */
static char *help_of(const char *command)
{
    const char *exe = getenv("RMB_EXE");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' %s --help 2>&1", exe ? exe : "rmb", command);
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, len = 0;
    char *text = calloc(cap, 1);
    if (!p || !text)
        return text;
    size_t got;
    while ((got = fread(text + len, 1, cap - 1 - len, p)) > 0 && (len += got) < cap - 1)
        ;
    pclose(p);
    return text;
}

static void check_help_lists_flags(const char *command)
{
    char *help = help_of(command);
    size_t n;
    const rmb_option *t = table_of(&n);
    CHECK(help && strlen(help) > 100);
    for (size_t i = 0; i < n; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s ", t[i].flag);
        if (!help || !strstr(help, flag))
            fprintf(stderr, "rmb %s --help does not list %s\n", command, flag);
        CHECK(help && strstr(help, flag));
        if (t[i].alias) {
            snprintf(flag, sizeof flag, "--%s", t[i].alias);
            CHECK_CONTAINS(help, flag);
        }
    }
    free(help);
}

static void test_help_lists_every_flag(void)
{
    check_help_lists_flags("eval");
    check_help_lists_flags("score");
}

TEST_MAIN(test_entries_complete_and_unique, test_parse_sets_fields, test_bad_values_refused,
          test_json_round_trip, test_summary_only_score_changing, test_help_lists_every_flag)
