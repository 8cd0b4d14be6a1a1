/* rmb report: a self-contained HTML report of one or more runs. */
#include "cmd_compare.h"

#include "cli.h"

#include <stdio.h>

static const char usage[] =
    "usage: rmb report RUN... -o FILE.html [--data DIR] [--bootstrap N] [--seed S] [--quiet]\n"
    "\n"
    "Writes one self-contained HTML file (no network, no scripts) about finished runs\n"
    "(rmb eval --out directories): the headline table with 95% bootstrap confidence\n"
    "intervals and paired p-values against the best run, per-scenario bars and a\n"
    "scenario x model heatmap (inline SVG), tie rates, the length-bias view, score\n"
    "distributions and each run's exact configuration.  The numbers are those of\n"
    "rmb compare (same options, same seed, same intervals).\n"
    "\n"
    "options:\n"
    "  -o, --out FILE     the HTML file to write (required)\n"
    COMPARE_SHARED_OPTIONS
    "\n"
    "examples:\n"
    "  rmb report results/length -o length.html\n"
    "  rmb report results/length results/random-7 -o board.html\n"
    "\n"
    "exit status: 0 success, 1 data or runtime error, 2 usage error\n";

int cmd_report(int argc, char **argv)
{
    compare_args a;
    int code = compare_parse_args("report", argc, argv, &a);
    if (code != EXIT_OK || a.help) {
        if (a.help)
            fputs(usage, stdout);
        return code;
    }
    if (!a.out)
        return cli_usage_error("report", "-o FILE.html is required");
    rmb_leaderboard *lb = compare_build(&a, &code);
    if (!lb)
        return code;
    rmb_error err;
    if (rmb_report_write(lb, a.out, &err) != RMB_OK)
        code = cli_report(&err);
    else
        printf("report: %s\n", a.out);
    rmb_leaderboard_free(lb);
    return code;
}
