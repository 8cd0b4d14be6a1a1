/* rmb score: JSONL conversations in, the same lines with their scores out. */
#include "cli.h"
#include "scorer_flags.h"

#include "rmb/scorer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
    "usage: rmb score --model SPEC [OPTIONS] < in.jsonl > out.jsonl\n"
    "\n"
    "Reads JSON lines {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} (any other\n"
    "fields, such as \"id\", are kept); the last message is the assistant answer to\n"
    "score.  Writes each line back with \"score\": the reward (and \"scores\": [...]\n"
    "for models with several outputs).  A line that cannot be scored is written\n"
    "back with \"error\" and reported on stderr; the exit status is then 1.\n"
    "\n"
    "options:\n";
static const char usage_tail[] =
    "  -q, --quiet        no messages but errors\n"
    "  -h, --help         this help\n"
    "\n"
    "example:\n"
    "  echo '{\"id\": 1, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},\n"
    "        {\"role\": \"assistant\", \"content\": \"Hello!\"}]}' | rmb score --model DIR\n"
    "\n"
    "exit status: 0 success, 1 a line or the model failed, 2 usage error\n";

/* One input line and what it needs to be scored. */
typedef struct line {
    size_t lineno;
    json_t *doc; /* NULL when the line is not a JSON object */
    rmb_message *messages;
    rmb_conversation conversation;
    rmb_sequence seq;
    rmb_error err;
} line;

static void line_free(line *l)
{
    json_decref(l->doc);
    free(l->messages);
    memset(l, 0, sizeof *l);
}

/* Reads messages into l: all but the last form the conversation, the last
 * (an assistant message) is the answer. */
static rmb_status parse_messages(line *l, rmb_error *err)
{
    json_t *messages = json_object_get(l->doc, "messages");
    size_t n = json_array_size(messages);
    if (!json_is_array(messages) || n == 0)
        return rmb_fail(err, RMB_EDATA, "messages: expected a non-empty list");
    if (!(l->messages = calloc(n, sizeof *l->messages)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(messages, i);
        l->messages[i].role = json_string_value(json_object_get(m, "role"));
        l->messages[i].content = json_string_value(json_object_get(m, "content"));
        if (!l->messages[i].role || !l->messages[i].content)
            return rmb_fail(err, RMB_EDATA, "messages[%zu]: expected string role and content", i);
    }
    if (strcmp(l->messages[n - 1].role, "assistant"))
        return rmb_fail(err, RMB_EDATA,
                        "the last message must be the assistant answer to score, not '%s'",
                        l->messages[n - 1].role);
    l->conversation = (rmb_conversation){l->messages, n - 1};
    l->seq.conversation = &l->conversation;
    l->seq.answer = l->messages[n - 1].content;
    l->seq.key = rmb_sequence_key(&l->conversation, l->seq.answer);
    return RMB_OK;
}

static void parse_line(line *l, const char *text, size_t lineno)
{
    json_error_t jerr;
    l->lineno = lineno;
    l->err.status = RMB_OK;
    l->doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!l->doc)
        rmb_fail(&l->err, RMB_EDATA, "not JSON: %s", jerr.text);
    else if (!json_is_object(l->doc))
        rmb_fail(&l->err, RMB_EDATA, "expected a JSON object");
    else
        parse_messages(l, &l->err);
}

static int same_conversation(const rmb_conversation *a, const rmb_conversation *b)
{
    if (a->n_messages != b->n_messages)
        return 0;
    for (size_t i = 0; i < a->n_messages; i++)
        if (strcmp(a->messages[i].role, b->messages[i].role) ||
            strcmp(a->messages[i].content, b->messages[i].content))
            return 0;
    return 1;
}

/* Scores the good lines of batch together; neighbours with the same
 * conversation share a conversation_id, so the model may reuse its prefix. */
static rmb_status score_batch(rmb_scorer *s, line *batch, size_t n, double *outputs,
                              const rmb_context *ctx, rmb_error *err)
{
    rmb_sequence *seqs = calloc(n, sizeof *seqs);
    rmb_error *item_err = calloc(n, sizeof *item_err);
    size_t *at = calloc(n, sizeof *at);
    size_t k = 0;
    rmb_status st = seqs && item_err && at ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; st == RMB_OK && i < n; i++) {
        if (batch[i].err.status != RMB_OK)
            continue;
        seqs[k] = batch[i].seq;
        seqs[k].conversation_id =
            k && same_conversation(seqs[k - 1].conversation, seqs[k].conversation)
                ? seqs[k - 1].conversation_id
                : i;
        at[k++] = i;
    }
    if (st == RMB_OK && k)
        st = rmb_scorer_score_outputs(s, seqs, k, outputs, item_err, ctx, err);
    for (size_t j = 0; st == RMB_OK && j < k; j++)
        batch[at[j]].err = item_err[j];
    /* Scores live in order of the good lines: spread them back to their lines. */
    size_t n_out = s->n_outputs;
    for (size_t j = k; st == RMB_OK && j-- > 0;)
        memmove(outputs + at[j] * n_out, outputs + j * n_out, n_out * sizeof *outputs);
    free(seqs);
    free(item_err);
    free(at);
    return st;
}

/* Writes l back with its score(s) or its error; reports the error. */
static int write_line(const rmb_scorer *s, line *l, const double *out)
{
    json_t *doc = l->doc ? l->doc : json_pack("{s:I}", "line", (json_int_t)l->lineno);
    if (l->err.status != RMB_OK) {
        json_object_set_new(doc, "error", json_string(l->err.msg));
        fprintf(stderr, "rmb score: stdin line %zu: %s\n", l->lineno, l->err.msg);
    } else {
        json_object_set_new(doc, "score", json_real(out[0]));
        if (s->n_outputs > 1) {
            json_t *all = json_array();
            for (size_t o = 0; o < s->n_outputs; o++)
                json_array_append_new(all, json_real(out[o]));
            json_object_set_new(doc, "scores", all);
        }
    }
    int ok = json_dumpf(doc, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF;
    if (!l->doc)
        json_decref(doc);
    return ok;
}

/* Reads, scores and writes batches of lines until the end of stdin. */
static int score_stream(rmb_scorer *s, const rmb_context *ctx)
{
    size_t cap_lines = s->batch_size ? s->batch_size : 64;
    line *batch = calloc(cap_lines, sizeof *batch);
    double *outputs = calloc(cap_lines * s->n_outputs, sizeof *outputs);
    if (!batch || !outputs) {
        free(batch);
        free(outputs);
        fputs("rmb score: out of memory\n", stderr);
        return EXIT_RUNTIME;
    }
    char *text = NULL;
    size_t cap = 0, lineno = 0, n = 0, failed = 0;
    int rc = EXIT_OK;
    for (bool eof = false; !eof && rc == EXIT_OK;) {
        ssize_t len = getline(&text, &cap, stdin);
        eof = len < 0;
        if (!eof && strspn(text, " \t\r\n") != (size_t)len)
            parse_line(&batch[n++], text, lineno + 1);
        lineno += !eof;
        if (n < cap_lines && !eof)
            continue;
        rmb_error err = {0};
        if (n && score_batch(s, batch, n, outputs, ctx, &err) != RMB_OK)
            rc = cli_report(&err);
        for (size_t i = 0; i < n; i++) {
            if (rc == EXIT_OK && !write_line(s, &batch[i], outputs + i * s->n_outputs))
                rc = EXIT_RUNTIME;
            failed += batch[i].err.status != RMB_OK;
            line_free(&batch[i]);
        }
        n = 0;
    }
    free(text);
    free(batch);
    free(outputs);
    if (fflush(stdout) != 0 && rc == EXIT_OK) {
        fputs("rmb score: error writing the output\n", stderr);
        rc = EXIT_RUNTIME;
    }
    return rc == EXIT_OK && failed ? EXIT_RUNTIME : rc;
}

int cmd_score(int argc, char **argv)
{
    static const struct option own_options[] = {
        {"model", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    rmb_scorer_options opt;
    memset(&opt, 0, sizeof opt);
    const char *model = NULL;
    bool quiet = false, help = false;
    int c, code = EXIT_OK;
    struct option *long_options = cli_long_options(own_options);
    if (!long_options)
        code = cli_usage_error("score", "out of memory");
    optind = 1;
    while (code == EXIT_OK && !help &&
           (c = getopt_long(argc, argv, "m:qh", long_options, NULL)) != -1) {
        if (cli_scorer_option("score", c, optarg, &opt, &code))
            continue;
        switch (c) {
        case 'm': model = optarg; break;
        case 'q': quiet = true; break;
        case 'h': help = true; break;
        default: code = cli_usage_error("score", "invalid option"); break;
        }
    }
    free(long_options);
    if (help) {
        fputs(usage_head, stdout);
        cli_scorer_help(stdout);
        fputs(usage_tail, stdout);
        return EXIT_OK;
    }
    if (code == EXIT_OK && optind < argc)
        code = cli_usage_error("score", "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && !model)
        code = cli_usage_error("score", "--model is required (e.g. --model path/to/checkpoint)");
    if (code != EXIT_OK)
        return code;
    rmb_context ctx;
    cli_context_init(&ctx, quiet);
    rmb_error err;
    rmb_scorer *s;
    if (rmb_scorer_open(&s, model, &opt, &err) != RMB_OK)
        return cli_report(&err);
    if (!s->ops->score) {
        rmb_scorer_close(s);
        return cli_usage_error("score", "--model %s: a judge compares answers; it gives no scores",
                               model);
    }
    int rc = score_stream(s, &ctx);
    rmb_scorer_close(s);
    return rc;
}
