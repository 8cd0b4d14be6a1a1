/* The chat-template API in C: error reporting (unterminated tags, unknown
 * filters, raise_exception, the line named), model directories without a
 * template, and concurrent renders.  Rendered text itself is checked against
 * jinja2 by test_jinja_cases.py and test_real_templates.py. */
#include "rmb/chat_template.h"
#include "test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parsing or rendering src fails with a message containing each needle. */
static void check_error(const char *src, const char *needle1, const char *needle2)
{
    rmb_error err = {0};
    rmb_chat_template *t = NULL;
    rmb_status st = rmb_chat_template_parse(&t, src, "<s>", NULL, &err);
    if (st == RMB_OK) {
        rmb_message m = {"user", "hi"};
        char *text = NULL;
        st = rmb_chat_template_render(t, &m, 1, false, &text, &err);
        CHECK(text == NULL);
        rmb_chat_template_close(t);
    } else {
        CHECK(t == NULL);
    }
    CHECK(st != RMB_OK);
    CHECK_EQ_INT(err.status, st);
    CHECK_CONTAINS(err.msg, needle1);
    if (needle2)
        CHECK_CONTAINS(err.msg, needle2);
}

static void test_errors(void)
{
    check_error("a\n{% for m in messages %}\nx", "line 3", "opened on line 2 needs '{% endfor %}'");
    check_error("{% if x %}\n\n{% endfor %}", "line 3", "endfor");
    check_error("{{ messages", "line 1", "}}");
    check_error("{% if true", "line 1", "%}");
    check_error("one\ntwo\n{{ 'x' | frobnicate }}", "line 3", "frobnicate");
    check_error("{{ x is frobnicated }}", "frobnicated", NULL);
    check_error("{% frobnicate %}", "frobnicate", NULL);
    check_error("x\n{% include 'other.jinja' %}", "line 2", "'include' is not supported");
    check_error("{# no end", "comment", NULL);
    check_error("{{ 'no end }}", "string", NULL);
    check_error("\n{{ raise_exception('Conversation roles must alternate') }}", "line 2",
                "Conversation roles must alternate");
    check_error("{{ messages.pop() }}", "unsafe", NULL);
    check_error("{{ nothing.here }}", "'nothing' is undefined", NULL);
    check_error("{% set r = range(100000) %}{% for x in r %}{% for y in r %}{% endfor %}{% endfor %}",
                "too many steps", NULL);
    check_error("{% for x in range(100000) %}{% set s = 'x' * 10000000 %}{% endfor %}",
                "out of memory", NULL);
    check_error("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "nested too deeply", NULL);
    char deep[4000];
    memset(deep, '(', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    memcpy(deep, "{{ ", 3);
    check_error(deep, "nested too deeply", NULL);
    check_error("\xff{{ 1 }}", "UTF-8", NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Model directories: no template at all, a named-template list without
 * "default", and a template in chat_template.jinja. */
static void test_open(void)
{
    char dir[] = "/tmp/rmb_template_XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    rmb_error err = {0};
    rmb_chat_template *t = NULL;

    write_file(path, "{\"bos_token\": {\"content\": \"<s>\"}}");
    CHECK_EQ_INT(rmb_chat_template_open(&t, dir, &err), RMB_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "no chat template");

    write_file(path, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}");
    CHECK_EQ_INT(rmb_chat_template_open(&t, dir, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "default");

    write_file(path, "{\"chat_template\": \"{% if %}\"}");
    CHECK_EQ_INT(rmb_chat_template_open(&t, dir, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "tokenizer_config.json: chat_template: line 1");

    write_file(path, "{\"eos_token\": 7, \"chat_template\": \"x\"}");
    CHECK_EQ_INT(rmb_chat_template_open(&t, dir, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "eos_token");

    write_file(path, "[1, 2");
    CHECK(rmb_chat_template_open(&t, dir, &err) != RMB_OK);
    CHECK_CONTAINS(err.msg, "tokenizer_config.json");

    write_file(path, "{\"bos_token\": {\"content\": \"<s>\"}}");
    char jinja[256];
    snprintf(jinja, sizeof jinja, "%s/chat_template.jinja", dir);
    write_file(jinja, "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}\n");
    CHECK_EQ_INT(rmb_chat_template_open(&t, dir, &err), RMB_OK);
    rmb_message m = {"user", "hi"};
    char *text = NULL;
    CHECK_EQ_INT(rmb_chat_template_render(t, &m, 1, false, &text, &err), RMB_OK);
    CHECK_EQ_STR(text, "<s>hi"); /* jinja2 drops the template's trailing newline */
    free(text);
    rmb_chat_template_close(t);
    unlink(jinja);
    unlink(path);
    rmdir(dir);
}

typedef struct job {
    const rmb_chat_template *t;
    const char *expected;
    int mismatches;
} job;

static void *render_many(void *arg)
{
    job *j = arg;
    rmb_message msgs[3] = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}};
    for (int i = 0; i < 200; i++) {
        char *text = NULL;
        rmb_error err;
        if (rmb_chat_template_render(j->t, msgs, 3, true, &text, &err) || strcmp(text, j->expected))
            j->mismatches++;
        free(text);
    }
    return NULL;
}

/* Renders from four threads agree with a render from one. */
static void test_threads(void)
{
    rmb_chat_template *t = NULL;
    rmb_error err;
    const char *src = "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
                      "{{ bos_token }}{{ m.role }}:{{ m.content | upper }}{{ ns.n }}{% endfor %}"
                      "{% if add_generation_prompt %}>{% endif %}";
    CHECK_EQ_INT(rmb_chat_template_parse(&t, src, "<s>", "</s>", &err), RMB_OK);
    rmb_message msgs[3] = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}};
    char *expected = NULL;
    CHECK_EQ_INT(rmb_chat_template_render(t, msgs, 3, true, &expected, &err), RMB_OK);
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){t, expected, 0};
        pthread_create(&th[i], NULL, render_many, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(jobs[i].mismatches, 0);
    }
    free(expected);
    rmb_chat_template_close(t);
}

/* render_answer is the conversation plus an assistant turn; NULL (a model
 * without a template) is a clear error. */
static void test_render_answer(void)
{
    rmb_chat_template *t = NULL;
    rmb_error err;
    CHECK_EQ_INT(rmb_chat_template_parse(&t, "{% for m in messages %}<{{ m.role }}>{{ m.content }}"
                                             "{% endfor %}{% if add_generation_prompt %}!{% endif %}",
                                         NULL, NULL, &err),
                 RMB_OK);
    rmb_message msgs[2] = {{"user", "q"}, {"assistant", "a"}};
    rmb_conversation conv = {msgs, 1};
    char *direct = NULL, *text = NULL;
    CHECK_EQ_INT(rmb_chat_template_render(t, msgs, 2, false, &direct, &err), RMB_OK);
    CHECK_EQ_INT(rmb_chat_template_render_answer(t, &conv, "a", &text, &err), RMB_OK);
    CHECK_EQ_STR(text, direct);
    free(text);
    free(direct);
    CHECK_EQ_INT(rmb_chat_template_render_answer(NULL, &conv, "a", &text, &err), RMB_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "no chat template");
    CHECK(text == NULL);
    rmb_chat_template_close(t);
}

TEST_MAIN(test_errors, test_open, test_threads, test_render_answer)
