/* rmb eval: run the benchmark and print the headline table. */
#include "cli.h"
#include "scorer_flags.h"

#include "rmb/eval.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
    "usage: rmb eval --model SPEC [--data DIR] [--subset PATTERN]... [--out DIR] [--quiet]\n"
    "\n"
    "Scores the RMB benchmark with a model and reports its accuracy: pairwise\n"
    "(chosen beats rejected) and Best-of-N (best beats every loser), pooled per\n"
    "goal (Helpfulness, Harmlessness), and overall as the mean of the four.\n"
    "Every distinct (conversation, answer) is scored once, and kept in a run\n"
    "store as it is scored: a rerun of a killed run resumes (docs/store.md).\n"
    "\n"
    "options:\n";
static const char usage_tail[] =
    "  --model results:FILE  no scoring: the rewards of a results file (pairwise.json,\n"
    "                     bon.json of rmb or the original harness; JSON array or JSONL)\n"
    "  --data DIR         the RMB_dataset directory (default: $RMB_DATA, ./RMB_dataset,\n"
    "                     ../shared/RMB_dataset)\n"
    "  --subset PATTERN   only scenarios whose category_path matches: a plain pattern is a\n"
    "                     prefix of whole path components (Pairwise_set/Helpfulness/Code),\n"
    "                     a glob must match the whole path (*/Harmlessness/S1); repeat for\n"
    "                     a union\n"
    "  --out DIR          where to write pairwise.json, bon.json, summary.json, summary.md\n"
    "                     and run.json (default: results/<model name>/)\n"
    "  --store FILE       the run store (default: DIR/store.sqlite of --out): every score\n"
    "                     is committed there as it is computed, and a rerun reuses it\n"
    "  --fresh            reuse nothing from the store (new scores replace stored ones)\n"
    "  --shard I/N        score only shard I (1..N) of the distinct sequences, into the\n"
    "                     store; writes no results (combine the shards with rmb merge)\n"
    "  -q, --quiet        no progress display\n"
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  rmb eval --model length\n"
    "  rmb eval --model random:7 --subset Pairwise_set/Harmlessness --out /tmp/r7\n"
    "  rmb eval --model results:results/length/pairwise.json\n"
    "  rmb eval --model length --subset '*/Helpfulness/Code/*' --subset BoN_set/Harmlessness/S1\n"
    "  rmb eval --model random:7 --shard 2/4 --out shards/2   (then: rmb merge shards/* ...)\n"
    "\n"
    "exit status: 0 success, 1 data or runtime error, 2 usage error\n";

enum { OPT_DATA = 256, OPT_SUBSET, OPT_OUT, OPT_STORE, OPT_FRESH, OPT_SHARD };

static const struct option own_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"data", required_argument, NULL, OPT_DATA},
    {"subset", required_argument, NULL, OPT_SUBSET},
    {"out", required_argument, NULL, OPT_OUT},
    {"store", required_argument, NULL, OPT_STORE},
    {"fresh", no_argument, NULL, OPT_FRESH},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --shard I/N with 1 <= I <= N. */
static bool parse_shard(const char *text, int *index, int *count)
{
    char slash;
    int used = 0;
    return sscanf(text, "%d%c%d%n", index, &slash, count, &used) == 3 && slash == '/' &&
           text[used] == '\0' && *count >= 1 && *index >= 1 && *index <= *count;
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    rmb_eval_options opt;
    memset(&opt, 0, sizeof opt);
    const char **patterns = calloc((size_t)argc, sizeof *patterns);
    struct option *long_options = cli_long_options(own_options);
    size_t n_patterns = 0;
    bool quiet = false;
    int c, code = EXIT_OK;
    if (!patterns || !long_options)
        code = cli_usage_error(cmd, "out of memory");
    optind = 1;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, "m:qh", long_options, NULL)) != -1) {
        if (cli_scorer_option(cmd, c, optarg, &opt.scorer, &code))
            continue;
        switch (c) {
        case 'm': opt.model = optarg; break;
        case OPT_DATA: opt.data_dir = optarg; break;
        case OPT_SUBSET: patterns[n_patterns++] = optarg; break;
        case OPT_OUT: opt.out_dir = optarg; break;
        case OPT_STORE: opt.store_path = optarg; break;
        case OPT_FRESH: opt.fresh = 1; break;
        case OPT_SHARD:
            if (!parse_shard(optarg, &opt.shard_index, &opt.shard_count))
                code = cli_usage_error(cmd, "--shard %s: expected I/N with 1 <= I <= N", optarg);
            break;
        case 'q': quiet = true; break;
        case 'h':
            fputs(usage_head, stdout);
            cli_scorer_help(stdout);
            fputs(usage_tail, stdout);
            free(patterns);
            free(long_options);
            return EXIT_OK;
        default: code = cli_usage_error(cmd, "invalid option"); break;
        }
    }
    if (code == EXIT_OK && optind < argc)
        code = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && !opt.model)
        code = cli_usage_error(cmd, "--model is required (e.g. --model length)");
    if (code == EXIT_OK && (opt.shard_count || opt.store_path || opt.fresh) &&
        !strncmp(opt.model, "results:", 8))
        code = cli_usage_error(cmd, "--model results:FILE is not scored: no run store, nothing to shard");
    free(long_options);
    if (code != EXIT_OK) {
        free(patterns);
        return code;
    }
    opt.subset = (rmb_subset){patterns, n_patterns};

    code = cli_eval_run(&opt, quiet);
    free(patterns);
    return code;
}

int cli_eval_run(const rmb_eval_options *opt, bool quiet)
{
    rmb_context ctx;
    cli_context_init(&ctx, quiet);
    rmb_error err;
    rmb_eval_result *res;
    rmb_status st = rmb_eval_run(opt, &ctx, &res, &err);
    cli_progress_done();
    if (st != RMB_OK)
        return cli_report(&err);
    fputs(rmb_eval_result_table(res), stdout);
    if (!opt->shard_count)
        printf("results: %s/\n", rmb_eval_result_out_dir(res));
    rmb_eval_result_free(res);
    return EXIT_OK;
}
