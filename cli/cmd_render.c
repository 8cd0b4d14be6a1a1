/* rmb render: renders JSONL conversations with a model's chat template, to
 * compare rmb's text with transformers' apply_chat_template(tokenize=False). */
#include "cli.h"

#include "rmb/chat_template.h"
#include "rmb/checkpoint.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rmb render --model DIR [--generation-prompt]\n"
    "\n"
    "Reads JSON lines {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} on stdin\n"
    "and writes one line {\"text\": ...} for each: the conversation rendered with the\n"
    "chat template of DIR/tokenizer_config.json (or DIR/chat_template.jinja), with\n"
    "its special tokens as variables.  Stops at the first bad line.\n"
    "\n"
    "options:\n"
    "  --model DIR          the model (or tokenizer) directory, or a GGUF from rmb convert\n"
    "  --generation-prompt  set add_generation_prompt (end with the assistant header)\n"
    "  -h, --help           this help\n";

/* Renders one input line to its output line. */
static rmb_status render_line(const rmb_chat_template *t, const char *line, bool gen, char **out,
                              rmb_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(line, 0, &jerr);
    if (!doc)
        return rmb_fail(err, RMB_EDATA, "%s", jerr.text);
    json_t *messages = json_object_get(doc, "messages");
    if (!json_is_array(messages)) {
        json_decref(doc);
        return rmb_fail(err, RMB_EDATA, "messages: expected a list");
    }
    char *text = NULL;
    rmb_status st = rmb_chat_template_render_json(t, messages, gen, &text, err);
    json_decref(doc);
    if (st)
        return st;
    json_t *result = json_pack("{s:s}", "text", text);
    *out = result ? json_dumps(result, JSON_COMPACT) : NULL;
    json_decref(result);
    free(text);
    return *out ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
}

int cmd_render(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"generation-prompt", no_argument, NULL, 'g'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *model = NULL;
    bool gen = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'm')
            model = optarg;
        else if (c == 'g')
            gen = true;
        else if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("render", "invalid option");
    }
    if (optind < argc)
        return cli_usage_error("render", "unexpected argument '%s'", argv[optind]);
    if (!model)
        return cli_usage_error("render", "--model DIR is required");
    rmb_error err = {0};
    rmb_chat_template *t = NULL;
    rmb_checkpoint *ck = NULL;
    rmb_status st = rmb_checkpoint_open(&ck, model, &err);
    if (st == RMB_OK)
        st = rmb_checkpoint_chat_template(ck, &t, &err);
    rmb_checkpoint_close(ck);
    if (st)
        return cli_report(&err);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = EXIT_OK;
    for (size_t lineno = 1; (n = getline(&line, &cap, stdin)) > 0; lineno++) {
        if (strspn(line, " \t\r\n") == (size_t)n)
            continue;
        char *out;
        if (render_line(t, line, gen, &out, &err)) {
            rmb_error_prefix(&err, "stdin: line %zu: ", lineno);
            rc = cli_report(&err);
            break;
        }
        puts(out);
        free(out);
    }
    free(line);
    rmb_chat_template_close(t);
    if (fflush(stdout) != 0 && rc == EXIT_OK) {
        fputs("rmb render: error writing the output\n", stderr);
        rc = EXIT_RUNTIME;
    }
    return rc;
}
