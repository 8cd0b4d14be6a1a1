/* The scorer options shared by rmb eval and rmb score. */
#include "scorer_flags.h"

#include "cli.h"

#include <string.h>

const char cli_scorer_help[] =
    "  --model SPEC       what gives the scores:\n"
    "                       DIR             a Hugging Face reward-model checkpoint (config.json,\n"
    "                                       *.safetensors, tokenizer): the native engine\n"
    "                       length          the answer's length in code points (baseline)\n"
    "                       random[:SEED]   reproducible random scores (default seed 0)\n"
    "                       vllm:URL[#MODEL]   a reward model served by vLLM (docs/remote.md)\n"
    "                       sglang:URL[#MODEL] a reward model served by SGLang (needs --tokenizer)\n"
    "                       judge:URL#MODEL    an LLM judge over an OpenAI-compatible API\n"
    "  --max-length N     tokens per sequence for model scorers (default 2048, as RMB;\n"
    "                     0 = the model's context length)\n"
    "  --truncation SIDE  which end survives --max-length: left (default, as RMB: keeps the\n"
    "                     end), right, or none\n"
    "  --threads N        worker threads for the native engine (default: all cores)\n"
    "  --compute MODE     exact (default: fp32 activations), bf16 (faster, approximate) or\n"
    "                     int8 (Q8_0 weights only, as rmb convert --type q8_0 writes: int8\n"
    "                     activations, fastest, approximate);\n"
    "                     --dtype is the same option\n"
    "  --tokenizer DIR    tokenize locally with this model directory (remote scorers)\n"
    "  --api-key-env VAR  environment variable holding the API key (default OPENAI_API_KEY)\n"
    "  --in-flight N      concurrent requests for remote scorers (default 32)\n"
    "  --timeout SECONDS  remote: seconds per request attempt (default 300)\n"
    "  --max-attempts N   remote: attempts per request before the item fails (default 4)\n"
    "  --judge-prompt FILE  judges: a prompt file {\"system\", \"user\"} (default MT-Bench pairwise)\n";

/* A count option that must be at least min. */
static int count(const char *command, const char *flag, const char *arg, int min, int *out)
{
    if (cli_parse_int(arg, out) && *out >= min)
        return EXIT_OK;
    return cli_usage_error(command, "--%s %s: expected a number >= %d", flag, arg, min);
}

/* A word option that must be one of choices (NULL-terminated). */
static int word(const char *command, const char *flag, const char *arg,
                const char *const *choices, const char **out)
{
    char expected[64] = "";
    for (size_t i = 0; choices[i]; i++) {
        if (!strcmp(arg, choices[i])) {
            *out = arg;
            return EXIT_OK;
        }
        strncat(expected, i ? ", " : "", sizeof expected - strlen(expected) - 1);
        strncat(expected, choices[i], sizeof expected - strlen(expected) - 1);
    }
    return cli_usage_error(command, "--%s %s: expected one of %s", flag, arg, expected);
}

int cli_scorer_option(const char *command, int c, const char *arg, rmb_scorer_options *o,
                      int *code)
{
    static const char *const sides[] = {"left", "right", "none", NULL};
    static const char *const modes[] = {"exact", "bf16", "int8", NULL};
    int seconds;
    switch (c) {
    case OPT_MAXLEN:
        /* The library's field: 0 = the default, negative = the context length. */
        if ((*code = count(command, "max-length", arg, 0, &o->max_length)) == EXIT_OK &&
            o->max_length == 0)
            o->max_length = -1;
        return 1;
    case OPT_TRUNC: *code = word(command, "truncation", arg, sides, &o->truncation); return 1;
    case OPT_THREADS: *code = count(command, "threads", arg, 0, &o->threads); return 1;
    case OPT_COMPUTE: *code = word(command, "compute", arg, modes, &o->compute); return 1;
    case OPT_TOKENIZER: o->tokenizer = arg; *code = EXIT_OK; return 1;
    case OPT_APIKEY: o->api_key_env = arg; *code = EXIT_OK; return 1;
    case OPT_INFLIGHT: *code = count(command, "in-flight", arg, 1, &o->in_flight); return 1;
    case OPT_TIMEOUT:
        *code = count(command, "timeout", arg, 1, &seconds);
        o->timeout_s = seconds;
        return 1;
    case OPT_ATTEMPTS: *code = count(command, "max-attempts", arg, 1, &o->max_attempts); return 1;
    case OPT_JUDGE_PROMPT: o->judge_prompt = arg; *code = EXIT_OK; return 1;
    default: return 0;
    }
}
