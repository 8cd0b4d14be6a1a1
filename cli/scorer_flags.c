/* The scorer options shared by rmb eval and rmb score. */
#include "scorer_flags.h"

#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* getopt_long's value for table entry i is FIRST_VALUE + i. */
enum { FIRST_VALUE = 1000 };

static const char model_help[] =
    "  --model SPEC       what gives the scores:\n"
    "                       DIR             a Hugging Face reward-model checkpoint (config.json,\n"
    "                                       *.safetensors, tokenizer): the native engine\n"
    "                       length          the answer's length in code points (baseline)\n"
    "                       random[:SEED]   reproducible random scores (default seed 0)\n"
    "                       vllm:URL[#MODEL]   a reward model served by vLLM (docs/remote.md)\n"
    "                       sglang:URL[#MODEL] a reward model served by SGLang (needs --tokenizer)\n"
    "                       judge:URL#MODEL    an LLM judge over an OpenAI-compatible API\n";

struct option *cli_long_options(const struct option *own)
{
    size_t n_own = 0, n_table;
    while (own[n_own].name)
        n_own++;
    const rmb_option *table = rmb_options_table(&n_table);
    struct option *all = calloc(n_own + 2 * n_table + 1, sizeof *all);
    if (!all)
        return NULL;
    memcpy(all, own, n_own * sizeof *all);
    size_t k = n_own;
    for (size_t i = 0; i < n_table; i++) {
        int value = FIRST_VALUE + (int)i;
        all[k++] = (struct option){table[i].flag, required_argument, NULL, value};
        if (table[i].alias)
            all[k++] = (struct option){table[i].alias, required_argument, NULL, value};
    }
    return all;
}

void cli_scorer_help(FILE *out)
{
    fputs(model_help, out);
    size_t n;
    const rmb_option *table = rmb_options_table(&n);
    for (size_t i = 0; i < n; i++) {
        char head[64];
        snprintf(head, sizeof head, "--%s %s", table[i].flag, table[i].metavar);
        fprintf(out, "  %-17s  ", head);
        for (const char *line = table[i].help; line;) {
            const char *end = strchr(line, '\n');
            fprintf(out, "%s%.*s\n", line == table[i].help ? "" : "                     ",
                    end ? (int)(end - line) : (int)strlen(line), line);
            line = end ? end + 1 : NULL;
        }
    }
}

int cli_scorer_option(const char *command, int c, const char *arg, rmb_scorer_options *o,
                      int *code)
{
    size_t n;
    const rmb_option *table = rmb_options_table(&n);
    if (c < FIRST_VALUE || (size_t)(c - FIRST_VALUE) >= n)
        return 0;
    rmb_error err;
    *code = rmb_option_parse(&table[c - FIRST_VALUE], arg, o, &err) == RMB_OK
                ? EXIT_OK
                : cli_usage_error(command, "%s", err.msg);
    return 1;
}
