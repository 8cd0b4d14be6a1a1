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

static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"data", required_argument, NULL, OPT_DATA},
    {"subset", required_argument, NULL, OPT_SUBSET},
    {"out", required_argument, NULL, OPT_OUT},
    {"store", required_argument, NULL, OPT_STORE},
    {"fresh", no_argument, NULL, OPT_FRESH},
    {"shard", required_argument, NULL, OPT_SHARD},
    CLI_SCORER_LONG_OPTIONS,
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char merge_usage[] =
    "usage: rmb merge SHARD_DIR... --out DIR --model SPEC [eval options]\n"
    "\n"
    "Combines the run stores of shard runs (rmb eval --shard I/N --out SHARD_DIR) into\n"
    "DIR/store.sqlite (or --store FILE) and writes the normal results in DIR, byte for\n"
    "byte those of an unsharded rmb eval with the same options.  Give the options the\n"
    "shards ran with (--model, --data, --subset, scorer options): nothing is scored,\n"
    "and a value that no shard has is an error (a missing or unfinished shard).\n"
    "See rmb eval --help for the options and docs/store.md.\n"
    "\n"
    "example:\n"
    "  for i in 1 2 3 4; do rmb eval --model random:7 --shard $i/4 --out shards/$i; done\n"
    "  rmb merge shards/1 shards/2 shards/3 shards/4 --model random:7 --out results/r7\n";

/* --shard I/N with 1 <= I <= N. */
static bool parse_shard(const char *text, int *index, int *count)
{
    char slash;
    int used = 0;
    return sscanf(text, "%d%c%d%n", index, &slash, count, &used) == 3 && slash == '/' &&
           text[used] == '\0' && *count >= 1 && *index >= 1 && *index <= *count;
}

/* rmb eval and rmb merge share the options; merge takes shard
 * directories as arguments. */
static int eval_or_merge(int argc, char **argv, bool merge)
{
    const char *cmd = merge ? "merge" : "eval";
    rmb_eval_options opt;
    memset(&opt, 0, sizeof opt);
    const char **patterns = calloc((size_t)argc, sizeof *patterns);
    size_t n_patterns = 0;
    bool quiet = false;
    int c, code = EXIT_OK;
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
            if (merge || !parse_shard(optarg, &opt.shard_index, &opt.shard_count))
                code = cli_usage_error(cmd, "--shard %s: expected I/N with 1 <= I <= N", optarg);
            break;
        case 'q': quiet = true; break;
        case 'h':
            if (merge)
                fputs(merge_usage, stdout);
            else
                printf("%s%s%s", usage_head, cli_scorer_help, usage_tail);
            free(patterns);
            return EXIT_OK;
        default: code = cli_usage_error(cmd, "invalid option"); break;
        }
    }
    if (code == EXIT_OK && !merge && optind < argc)
        code = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && merge && (optind == argc || !opt.out_dir))
        code = cli_usage_error(cmd, "needs shard directories and --out DIR");
    if (code == EXIT_OK && !opt.model)
        code = cli_usage_error(cmd, "--model is required (e.g. --model length)");
    if (code == EXIT_OK && (opt.shard_count || merge) && !strncmp(opt.model, "results:", 8))
        code = cli_usage_error(cmd, "--model results:FILE is not scored: nothing to shard or merge");
    if (code != EXIT_OK) {
        free(patterns);
        return code;
    }
    opt.subset = (rmb_subset){patterns, n_patterns};
    if (merge) {
        opt.merge_dirs = (const char *const *)argv + optind;
        opt.n_merge_dirs = (size_t)(argc - optind);
    }

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
    if (!opt.shard_count)
        printf("results: %s/\n", rmb_eval_result_out_dir(res));
    rmb_eval_result_free(res);
    return EXIT_OK;
}

int cmd_eval(int argc, char **argv) { return eval_or_merge(argc, argv, false); }
int cmd_merge(int argc, char **argv) { return eval_or_merge(argc, argv, true); }
