/* rmb eval: run the benchmark and print the headline table. */
#include "cli.h"

#include "rmb/eval.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rmb eval --model SPEC [--data DIR] [--subset PATTERN]... [--out DIR] [--quiet]\n"
    "\n"
    "Scores the RMB benchmark with a model and reports its accuracy: pairwise\n"
    "(chosen beats rejected) and Best-of-N (best beats every loser), pooled per\n"
    "goal (Helpfulness, Harmlessness), and overall as the mean of the four.\n"
    "Every distinct (conversation, answer) is scored once.\n"
    "\n"
    "options:\n"
    "  --model SPEC       what gives the scores:\n"
    "                       length          the answer's length in code points (baseline)\n"
    "                       random[:SEED]   reproducible random scores (default seed 0)\n"
    "                       results:FILE    rewards from a results file (pairwise.json/bon.json\n"
    "                                       of rmb or the original harness; JSON array or JSONL)\n"
    "                       vllm:URL[#MODEL]   a reward model served by vLLM (docs/remote.md)\n"
    "                       sglang:URL[#MODEL] a reward model served by SGLang (needs --tokenizer)\n"
    "                       judge:URL#MODEL    an LLM judge over an OpenAI-compatible API\n"
    "  --data DIR         the RMB_dataset directory (default: $RMB_DATA, ./RMB_dataset,\n"
    "                     ../shared/RMB_dataset)\n"
    "  --subset PATTERN   only scenarios whose category_path matches: a plain pattern is a\n"
    "                     prefix of whole path components (Pairwise_set/Helpfulness/Code),\n"
    "                     a glob must match the whole path (*/Harmlessness/S1); repeat for\n"
    "                     a union\n"
    "  --out DIR          where to write pairwise.json, bon.json, summary.json, summary.md\n"
    "                     (default: results/<model name>/)\n"
    "  --max-length N     tokens per sequence for model scorers (default 2048; 0 = model's)\n"
    "  --truncation SIDE  left (default, as RMB), right or none\n"
    "  --threads N        worker threads for model scorers (default: all cores)\n"
    "  --compute MODE     exact (default) or bf16, for the native engine\n"
    "  --tokenizer DIR    tokenize locally with this model directory (remote scorers)\n"
    "  --api-key-env VAR  environment variable holding the API key (default OPENAI_API_KEY)\n"
    "  --in-flight N      concurrent requests for remote scorers (default 32)\n"
    "  --timeout SECONDS  remote: seconds per request attempt (default 300)\n"
    "  --max-attempts N   remote: attempts per request before the item fails (default 4)\n"
    "  --judge-prompt FILE  judges: a prompt file {\"system\", \"user\"} (default MT-Bench pairwise)\n"
    "  -q, --quiet        no progress display\n"
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  rmb eval --model length\n"
    "  rmb eval --model random:7 --subset Pairwise_set/Harmlessness --out /tmp/r7\n"
    "  rmb eval --model results:results/length/pairwise.json\n"
    "  rmb eval --model length --subset '*/Helpfulness/Code/*' --subset BoN_set/Harmlessness/S1\n"
    "\n"
    "exit status: 0 success, 1 data or runtime error, 2 usage error\n";

enum { OPT_DATA = 256, OPT_SUBSET, OPT_OUT, OPT_MAXLEN, OPT_TRUNC, OPT_THREADS, OPT_COMPUTE,
       OPT_TOKENIZER, OPT_APIKEY, OPT_INFLIGHT, OPT_TIMEOUT, OPT_ATTEMPTS, OPT_JUDGE_PROMPT };

static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"data", required_argument, NULL, OPT_DATA},
    {"subset", required_argument, NULL, OPT_SUBSET},
    {"out", required_argument, NULL, OPT_OUT},
    {"max-length", required_argument, NULL, OPT_MAXLEN},
    {"truncation", required_argument, NULL, OPT_TRUNC},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"compute", required_argument, NULL, OPT_COMPUTE},
    {"tokenizer", required_argument, NULL, OPT_TOKENIZER},
    {"api-key-env", required_argument, NULL, OPT_APIKEY},
    {"in-flight", required_argument, NULL, OPT_INFLIGHT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-attempts", required_argument, NULL, OPT_ATTEMPTS},
    {"judge-prompt", required_argument, NULL, OPT_JUDGE_PROMPT},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_eval(int argc, char **argv)
{
    rmb_eval_options opt;
    memset(&opt, 0, sizeof opt);
    const char **patterns = calloc((size_t)argc, sizeof *patterns);
    size_t n_patterns = 0;
    bool quiet = false;
    int c, code = EXIT_OK;
    optind = 1;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, "m:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'm': opt.model = optarg; break;
        case OPT_DATA: opt.data_dir = optarg; break;
        case OPT_SUBSET: patterns[n_patterns++] = optarg; break;
        case OPT_OUT: opt.out_dir = optarg; break;
        case OPT_MAXLEN:
            if (!cli_parse_int(optarg, &opt.scorer.max_length))
                code = cli_usage_error("eval", "--max-length %s: expected a number >= 0", optarg);
            break;
        case OPT_TRUNC:
            if (strcmp(optarg, "left") && strcmp(optarg, "right") && strcmp(optarg, "none"))
                code = cli_usage_error("eval", "--truncation %s: expected left, right or none", optarg);
            opt.scorer.truncation = optarg;
            break;
        case OPT_THREADS:
            if (!cli_parse_int(optarg, &opt.scorer.threads))
                code = cli_usage_error("eval", "--threads %s: expected a number >= 0", optarg);
            break;
        case OPT_COMPUTE:
            if (strcmp(optarg, "exact") && strcmp(optarg, "bf16"))
                code = cli_usage_error("eval", "--compute %s: expected exact or bf16", optarg);
            opt.scorer.compute = optarg;
            break;
        case OPT_TOKENIZER: opt.scorer.tokenizer = optarg; break;
        case OPT_APIKEY: opt.scorer.api_key_env = optarg; break;
        case OPT_INFLIGHT:
            if (!cli_parse_int(optarg, &opt.scorer.in_flight) || opt.scorer.in_flight == 0)
                code = cli_usage_error("eval", "--in-flight %s: expected a number >= 1", optarg);
            break;
        case OPT_TIMEOUT: {
            int seconds;
            if (!cli_parse_int(optarg, &seconds) || seconds == 0)
                code = cli_usage_error("eval", "--timeout %s: expected a number of seconds >= 1", optarg);
            opt.scorer.timeout_s = seconds;
            break;
        }
        case OPT_ATTEMPTS:
            if (!cli_parse_int(optarg, &opt.scorer.max_attempts) || opt.scorer.max_attempts == 0)
                code = cli_usage_error("eval", "--max-attempts %s: expected a number >= 1", optarg);
            break;
        case OPT_JUDGE_PROMPT: opt.scorer.judge_prompt = optarg; break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); free(patterns); return EXIT_OK;
        default: code = cli_usage_error("eval", "invalid option"); break;
        }
    }
    if (code == EXIT_OK && optind < argc)
        code = cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && !opt.model)
        code = cli_usage_error("eval", "--model is required (e.g. --model length)");
    if (code != EXIT_OK) {
        free(patterns);
        return code;
    }
    opt.subset = (rmb_subset){patterns, n_patterns};

    rmb_context ctx;
    cli_context_init(&ctx, quiet);
    rmb_error err;
    rmb_eval_result *res;
    rmb_status st = rmb_eval_run(&opt, &ctx, &res, &err);
    cli_progress_done();
    free(patterns);
    if (st != RMB_OK)
        return cli_report(&err);
    fputs(rmb_eval_result_table(res), stdout);
    printf("results: %s/\n", rmb_eval_result_out_dir(res));
    rmb_eval_result_free(res);
    return EXIT_OK;
}
