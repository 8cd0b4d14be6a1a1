/* rmb compare: a leaderboard of several runs with confidence intervals. */
#include "cmd_compare.h"

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rmb compare RUN... [--out DIR] [--data DIR] [--bootstrap N] [--seed S] [--quiet]\n"
    "\n"
    "Puts finished runs (rmb eval --out directories) side by side: the four RMB\n"
    "numbers and overall, per helpfulness category and per scenario, each with a 95%\n"
    "bootstrap confidence interval (conversations are resampled, since the items of\n"
    "one conversation are correlated) and a paired bootstrap p-value against the\n"
    "best run.  Only the items every run scored are compared.  Prints the headline\n"
    "table and writes into the output directory:\n"
    "  leaderboard.md    every table (sets, categories, scenarios)\n"
    "  leaderboard.json  every number, with each run's analyses (docs/report.md)\n"
    "  rm_rank.json      the original RMB harness's ranking: {model: {\"ACC\", \"rank\"}}\n"
    "\n"
    "options:\n"
    "  -o, --out DIR      where to write them (default: results/compare)\n"
    COMPARE_SHARED_OPTIONS
    "\n"
    "examples:\n"
    "  rmb compare results/length results/random-7\n"
    "  rmb compare runs/* --bootstrap 5000 --seed 1 --out /tmp/board\n"
    "\n"
    "exit status: 0 success, 1 data or runtime error, 2 usage error\n";

enum { OPT_DATA = 256, OPT_BOOTSTRAP, OPT_SEED };

static const struct option long_options[] = {
    {"out", required_argument, NULL, 'o'},
    {"data", required_argument, NULL, OPT_DATA},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static bool parse_u64(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || *text == '-')
        return false;
    *out = v;
    return true;
}

int compare_parse_args(const char *command, int argc, char **argv, compare_args *a)
{
    memset(a, 0, sizeof *a);
    int c, replicates;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'o': a->out = optarg; break;
        case OPT_DATA: a->opt.data_dir = optarg; break;
        case OPT_BOOTSTRAP:
            if (!cli_parse_int(optarg, &replicates) || replicates < 1)
                return cli_usage_error(command, "--bootstrap %s: expected a number >= 1", optarg);
            a->opt.replicates = (size_t)replicates;
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, &a->opt.seed))
                return cli_usage_error(command, "--seed %s: expected a number from 0 to 2^64-1", optarg);
            break;
        case 'q': a->quiet = true; break;
        case 'h': a->help = true; return EXIT_OK;
        default: return cli_usage_error(command, "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(command, "no runs given (rmb eval --out directories)");
    a->opt.runs = (const char *const *)argv + optind;
    a->opt.n_runs = (size_t)(argc - optind);
    return EXIT_OK;
}

rmb_leaderboard *compare_build(const compare_args *a, int *code)
{
    rmb_context ctx;
    cli_context_init(&ctx, a->quiet);
    rmb_error err;
    rmb_leaderboard *lb;
    rmb_status st = rmb_leaderboard_build(&a->opt, &ctx, &lb, &err);
    cli_progress_done();
    *code = st == RMB_OK ? EXIT_OK : cli_report(&err);
    return st == RMB_OK ? lb : NULL;
}

int cmd_compare(int argc, char **argv)
{
    compare_args a;
    int code = compare_parse_args("compare", argc, argv, &a);
    if (code != EXIT_OK || a.help) {
        if (a.help)
            fputs(usage, stdout);
        return code;
    }
    rmb_leaderboard *lb = compare_build(&a, &code);
    if (!lb)
        return code;
    const char *dir = a.out ? a.out : "results/compare";
    rmb_error err;
    char *table = rmb_leaderboard_table(lb);
    if (!table)
        code = cli_report(&(rmb_error){RMB_ENOMEM, "out of memory"});
    else if (rmb_leaderboard_write(lb, dir, &err) != RMB_OK)
        code = cli_report(&err);
    else
        printf("%sresults: %s/\n", table, dir);
    free(table);
    rmb_leaderboard_free(lb);
    return code;
}
