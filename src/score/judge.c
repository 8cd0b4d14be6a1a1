/* judge:URL#MODEL: a generative model as a pairwise judge, through an
 * OpenAI-compatible chat completions API (URL is the API base, requests go
 * to URL/chat/completions).
 *
 * Each comparison is asked twice, once in each order, with temperature 0 and
 * seed 0.  The verdict of one answer is the last of [[A]], [[B]] or [[C]]
 * in its text (the prompt asks for it at the end); none is "unparseable".
 * A comparison is won only when both orders agree: [[A]] with the first
 * answer shown as A and [[B]] with it shown as B.  Anything else (a tie,
 * disagreeing orders, an unparseable answer) is no win for either side and
 * never stops the run.  Every answer is appended to judgments.jsonl in the
 * artifacts directory. */
#include "score/backends.h"
#include "score/remote.h"

#include "common/buf.h"
#include "common/fileio.h"
#include "common/hashmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 2048

/* The MT-Bench pairwise judge prompt (pair-v2, Zheng et al. 2023). */
static const char default_system[] =
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. You should choose the assistant that "
    "follows the user's instructions and answers the user's question better. Your evaluation "
    "should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, "
    "and level of detail of their responses. Begin your evaluation by comparing the two "
    "responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow "
    "the length of the responses to influence your evaluation. Do not favor certain names of "
    "the assistants. Be as objective as possible. After providing your explanation, output your "
    "final verdict by strictly following this format: \"[[A]]\" if assistant A is better, "
    "\"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.";
static const char default_user[] =
    "[User Question]\n{question}\n\n"
    "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]";

static const char *const placeholders[] = {"{question}", "{answer_a}", "{answer_b}"};

typedef struct judge_scorer {
    rmb_scorer base;
    rmb_http *http;
    char *endpoint;
    char *model;
    char *system; /* "" sends no system message */
    char *user;   /* the template with the placeholders */
    char *prompt_name;
    FILE *log;    /* judgments.jsonl, appended; NULL without an artifacts dir */
    unsigned long long comparisons, answers, unparseable, both_parsed, consistent, ties, wins;
} judge_scorer;

/* ---- prompts ---- */

/* The question as the judge sees it: a lone user turn verbatim, else every
 * turn as "### User:" / "### Assistant:" sections. */
static void render_question(rmb_buf *b, const rmb_conversation *conv)
{
    if (conv->n_messages == 1) {
        rmb_buf_puts(b, conv->messages[0].content);
        return;
    }
    for (size_t i = 0; i < conv->n_messages; i++) {
        const char *role = conv->messages[i].role;
        rmb_buf_printf(b, "%s### %s:\n%s", i ? "\n\n" : "",
                       strcmp(role, "user") == 0        ? "User"
                       : strcmp(role, "assistant") == 0 ? "Assistant"
                                                        : role,
                       conv->messages[i].content);
    }
}

/* The user prompt: one left-to-right pass, so that an answer that contains
 * a placeholder's text is never substituted again. */
static char *render_prompt(const char *tpl, const rmb_conversation *conv, const char *a,
                           const char *b)
{
    rmb_buf out = {0};
    const char *p = tpl;
    while (*p) {
        size_t k = 0;
        while (k < 3 && strncmp(p, placeholders[k], strlen(placeholders[k])) != 0)
            k++;
        if (k == 3) {
            rmb_buf_append(&out, p++, 1);
            continue;
        }
        if (k == 0)
            render_question(&out, conv);
        else
            rmb_buf_puts(&out, k == 1 ? a : b);
        p += strlen(placeholders[k]);
    }
    return rmb_buf_take(&out);
}

/* A prompt file: {"system": "...", "user": "...{question}...{answer_a}...{answer_b}..."}. */
static rmb_status load_prompt(judge_scorer *j, const char *path, rmb_error *err)
{
    if (!path) {
        j->system = strdup(default_system);
        j->user = strdup(default_user);
        j->prompt_name = strdup("mt-bench-pair-v2");
        return j->system && j->user && j->prompt_name ? RMB_OK
                                                      : rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    char *text;
    size_t len;
    if (rmb_read_file(path, &text, &len, err) != RMB_OK)
        return err->status;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!doc)
        return rmb_fail(err, RMB_EDATA, "%s: line %d: %s", path, jerr.line, jerr.text);
    const char *sys = json_string_value(json_object_get(doc, "system"));
    const char *user = json_string_value(json_object_get(doc, "user"));
    rmb_status st = RMB_OK;
    if (!sys || !user)
        st = rmb_fail(err, RMB_EDATA, "%s: \"system\" and \"user\" must be strings", path);
    for (size_t k = 0; st == RMB_OK && k < 3; k++)
        if (!strstr(user, placeholders[k]))
            st = rmb_fail(err, RMB_EDATA, "%s: \"user\": no %s placeholder", path,
                          placeholders[k]);
    if (st == RMB_OK && (!(j->system = strdup(sys)) || !(j->user = strdup(user)) ||
                         !(j->prompt_name = strdup(path))))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    json_decref(doc);
    return st;
}

/* ---- verdicts ---- */

/* 'A', 'B', 'C', or 0 when the text has no verdict. */
static char parse_verdict(const char *text)
{
    char v = 0;
    for (const char *p = strstr(text, "[["); p; p = strstr(p + 1, "[["))
        if ((p[2] == 'A' || p[2] == 'B' || p[2] == 'C') && p[3] == ']' && p[4] == ']')
            v = p[2];
    return v;
}

static json_t *request_body(const judge_scorer *j, const rmb_comparison *c, int swapped,
                            rmb_error *err)
{
    char *prompt = render_prompt(j->user, c->conversation, swapped ? c->second : c->first,
                                 swapped ? c->first : c->second);
    json_t *messages = json_array();
    int bad = !prompt || !messages;
    if (!bad && j->system[0])
        bad = json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "system", "content",
                                                        j->system)) != 0;
    if (!bad)
        bad = json_array_append_new(messages,
                                    json_pack("{s:s, s:s}", "role", "user", "content", prompt)) != 0;
    free(prompt);
    json_t *body = bad ? NULL
                       : json_pack("{s:s, s:O, s:i, s:i, s:i}", "model", j->model, "messages",
                                   messages, "temperature", 0, "seed", 0, "max_tokens",
                                   MAX_TOKENS);
    json_decref(messages);
    if (!body)
        rmb_fail(err, RMB_EDATA, "an answer is not valid UTF-8 (or out of memory)");
    return body;
}

static rmb_status take_answer(void *user, size_t index, const char *body, size_t len,
                              rmb_error *err)
{
    char **texts = user;
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc)
        return rmb_fail(err, RMB_EREMOTE, "malformed JSON: %s", jerr.text);
    json_t *message = json_object_get(json_array_get(json_object_get(doc, "choices"), 0), "message");
    json_t *content = json_object_get(message, "content");
    rmb_status st = RMB_OK;
    if (!json_is_object(message) || !(json_is_string(content) || json_is_null(content)))
        st = rmb_fail(err, RMB_EREMOTE, "response: no choices[0].message.content");
    else if (!(texts[index] = strdup(json_is_string(content) ? json_string_value(content) : "")))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    json_decref(doc);
    return st;
}

static void log_comparison(judge_scorer *j, const rmb_comparison *c, const char *ab,
                           const char *ba, char vab, char vba, int judgment)
{
    int verdict = rmb_judgment_verdict(judgment);
    if (!j->log)
        return;
    char first[17], second[17];
    snprintf(first, sizeof first, "%016" PRIx64, rmb_sequence_key(c->conversation, c->first));
    snprintf(second, sizeof second, "%016" PRIx64, rmb_sequence_key(c->conversation, c->second));
    char sab[2] = {vab, 0}, sba[2] = {vba, 0};
    json_t *line = json_pack("{s:I, s:s, s:s, s:{s:s?, s:s}, s:{s:s?, s:s}, s:s}", "conversation_id",
                             (json_int_t)c->conversation_id, "first_key", first, "second_key",
                             second, "first_as_a", "verdict", vab ? sab : NULL, "output", ab,
                             "first_as_b", "verdict", vba ? sba : NULL, "output", ba, "verdict",
                             verdict == RMB_VERDICT_FIRST    ? "first"
                             : verdict == RMB_VERDICT_SECOND ? "second"
                                                             : "none");
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (text)
        fprintf(j->log, "%s\n", text);
    free(text);
    json_decref(line);
}

/* What a verdict letter says about the answers, given which one was shown
 * as A. */
static int said(char verdict, int first_shown_as_a)
{
    switch (verdict) {
    case 'A': return first_shown_as_a ? RMB_SAID_FIRST : RMB_SAID_SECOND;
    case 'B': return first_shown_as_a ? RMB_SAID_SECOND : RMB_SAID_FIRST;
    case 'C': return RMB_SAID_TIE;
    default: return RMB_SAID_NOTHING;
    }
}

/* Both orders' answers to one judgment, counted for the report. */
static int judge_both(judge_scorer *j, char vab, char vba)
{
    int a = said(vab, 1), b = said(vba, 0);
    j->comparisons++;
    j->answers += 2;
    j->unparseable += (a == RMB_SAID_NOTHING) + (b == RMB_SAID_NOTHING);
    if (a != RMB_SAID_NOTHING && b != RMB_SAID_NOTHING) {
        j->both_parsed++;
        j->consistent += a == b;
        j->ties += a == b && a == RMB_SAID_TIE;
        j->wins += a == b && a != RMB_SAID_TIE;
    }
    return RMB_JUDGMENT(a, b);
}

static rmb_status judge_compare(rmb_scorer *self, const rmb_comparison *cmps, size_t n,
                                int *judgments, rmb_error *item_err, const rmb_context *ctx,
                                rmb_error *err)
{
    judge_scorer *j = (judge_scorer *)self;
    rmb_http_request *reqs = calloc(2 * n + 1, sizeof *reqs);
    char **texts = calloc(2 * n + 1, sizeof *texts);
    rmb_status st = reqs && texts ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t r = 0; r < 2 * n && st == RMB_OK; r++) {
        const rmb_comparison *c = &cmps[r / 2];
        snprintf(reqs[r].label, sizeof reqs[r].label,
                 "comparison of the answers with keys %016" PRIx64 " and %016" PRIx64 " (%s)",
                 rmb_sequence_key(c->conversation, c->first),
                 rmb_sequence_key(c->conversation, c->second),
                 r % 2 ? "second answer shown as A" : "first answer shown as A");
        json_t *body = request_body(j, c, (int)(r % 2), err);
        reqs[r].body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!reqs[r].body)
            st = rmb_error_prefix(err, "%s: ", reqs[r].label);
    }
    if (st == RMB_OK)
        st = rmb_http_run(j->http, j->endpoint, reqs, 2 * n, take_answer, texts, ctx, err);
    for (size_t i = 0; st == RMB_OK && i < n; i++) {
        const rmb_http_request *failed = reqs[2 * i].err.status != RMB_OK ? &reqs[2 * i]
                                         : reqs[2 * i + 1].err.status != RMB_OK
                                             ? &reqs[2 * i + 1]
                                             : NULL;
        judgments[i] = RMB_JUDGMENT(RMB_SAID_NOTHING, RMB_SAID_NOTHING);
        item_err[i] = failed ? failed->err : (rmb_error){0};
        if (failed)
            continue;
        char vab = parse_verdict(texts[2 * i]), vba = parse_verdict(texts[2 * i + 1]);
        judgments[i] = judge_both(j, vab, vba);
        log_comparison(j, &cmps[i], texts[2 * i], texts[2 * i + 1], vab, vba, judgments[i]);
    }
    if (j->log && fflush(j->log) != 0 && st == RMB_OK)
        st = rmb_fail(err, RMB_EIO, "judgments.jsonl: write failed");
    for (size_t r = 0; reqs && texts && r < 2 * n; r++) {
        free(reqs[r].body);
        free(texts[r]);
    }
    free(reqs);
    free(texts);
    return st;
}

static json_t *rate(unsigned long long part, unsigned long long whole)
{
    return whole ? json_real((double)part / (double)whole) : json_null();
}

static char *judge_report(rmb_scorer *self)
{
    judge_scorer *j = (judge_scorer *)self;
    json_t *r = rmb_remote_report(j->http, "judge", j->model);
    if (r && json_object_update_new(
                 r, json_pack("{s:s, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:I}", "prompt",
                              j->prompt_name, "comparisons", (json_int_t)j->comparisons,
                              "judge_answers", (json_int_t)j->answers, "unparseable",
                              (json_int_t)j->unparseable, "unparseable_rate",
                              rate(j->unparseable, j->answers), "both_orders_parsed",
                              (json_int_t)j->both_parsed, "position_consistent",
                              (json_int_t)j->consistent, "position_consistency_rate",
                              rate(j->consistent, j->both_parsed), "consistent_ties",
                              (json_int_t)j->ties, "wins", (json_int_t)j->wins)) != 0) {
        json_decref(r);
        r = NULL;
    }
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    return text;
}

static void judge_destroy(rmb_scorer *self)
{
    judge_scorer *j = (judge_scorer *)self;
    rmb_http_close(j->http);
    if (j->log)
        fclose(j->log);
    free(j->endpoint);
    free(j->model);
    free(j->system);
    free(j->user);
    free(j->prompt_name);
    rmb_scorer_free(self);
}

static const rmb_scorer_ops judge_ops = {
    .compare = judge_compare, .report = judge_report, .destroy = judge_destroy};

static rmb_status open_log(judge_scorer *j, const char *dir, rmb_error *err)
{
    if (!dir)
        return RMB_OK;
    if (rmb_mkdirs(dir, err) != RMB_OK)
        return err->status;
    char *path = rmb_remote_url(dir, "/judgments.jsonl");
    if (!path)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    j->log = fopen(path, "a");
    rmb_status st = j->log ? RMB_OK : rmb_fail(err, RMB_EIO, "%s: cannot open for appending", path);
    free(path);
    return st;
}

rmb_status rmb_judge_scorer_open(rmb_scorer **out, const char *spec, const char *arg,
                                 const rmb_scorer_options *opt, rmb_error *err)
{
    *out = NULL;
    judge_scorer *j = (judge_scorer *)rmb_scorer_new(sizeof *j, &judge_ops, "judge", "judge",
                                                     rmb_remote_batch_size(opt) / 2);
    if (!j)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    char *url = NULL;
    rmb_status st = rmb_remote_parse_spec(spec, arg, true, &url, &j->model, err);
    if (st == RMB_OK && !(j->endpoint = rmb_remote_url(url, "/chat/completions")))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = load_prompt(j, opt->judge_prompt, err);
    if (st == RMB_OK)
        st = rmb_remote_http_open(&j->http, opt, err);
    if (st == RMB_OK)
        st = open_log(j, opt->artifacts_dir, err);
    if (st == RMB_OK) {
        uint64_t h = rmb_fnv1a(RMB_FNV_OFFSET, j->system, strlen(j->system) + 1);
        h = rmb_fnv1a(h, j->user, strlen(j->user));
        st = rmb_remote_identify(&j->base, "judge", j->model, err,
                                 "judge/2 model=%s prompt=%016" PRIx64
                                 " temperature=0 seed=0 max_tokens=%d orders=both",
                                 j->model, h, MAX_TOKENS);
    }
    free(url);
    if (st != RMB_OK) {
        judge_destroy(&j->base);
        return st;
    }
    *out = &j->base;
    return RMB_OK;
}
