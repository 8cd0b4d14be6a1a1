/* What rmb compare and rmb report share: their command line. */
#ifndef RMB_CLI_CMD_COMPARE_H
#define RMB_CLI_CMD_COMPARE_H

#include "rmb/compare.h"

#include <stdbool.h>

/* The --help lines of the options both commands share. */
#define COMPARE_SHARED_OPTIONS                                                               \
    "  --data DIR         the RMB_dataset directory, for conversations and answer texts\n"    \
    "                     (default: the first run's, then $RMB_DATA, ./RMB_dataset,\n"        \
    "                     ../shared/RMB_dataset)\n"                                           \
    "  --bootstrap N      bootstrap replicates (default 1000)\n"                              \
    "  --seed S           the resampling seed (default 0)\n"                                  \
    "  -q, --quiet        no progress display\n"                                              \
    "  -h, --help         this help\n"

typedef struct compare_args {
    rmb_compare_options opt;
    const char *out;   /* -o/--out */
    bool quiet;
    bool help;
} compare_args;

/* Parses RUN... [-o OUT] [--data DIR] [--bootstrap N] [--seed S] [-q] [-h];
 * returns EXIT_OK or a usage error's exit code (already reported).  The
 * runs point into argv. */
int compare_parse_args(const char *command, int argc, char **argv, compare_args *a);

/* Builds the leaderboard, reporting errors; NULL after printing one (its
 * exit code in *code). */
rmb_leaderboard *compare_build(const compare_args *a, int *code);

#endif
