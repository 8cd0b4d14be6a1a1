/* The scorer options that every scoring command shares (rmb eval, rmb
 * score): getopt entries, the parser and the help text, all loops over the
 * library's option table (rmb/options.h). */
#ifndef RMB_CLI_SCORER_FLAGS_H
#define RMB_CLI_SCORER_FLAGS_H

#include "rmb/options.h"

#include <getopt.h>
#include <stdio.h>

/* A command's getopt_long table: own (ended by an all-zero entry) followed
 * by the scorer options; malloc'ed (the caller frees it), NULL when out of
 * memory. */
struct option *cli_long_options(const struct option *own);

/* The --model specs and the scorer options, for a command's --help. */
void cli_scorer_help(FILE *out);

/* Applies option c (a getopt_long result) with value arg to o.  Returns 1
 * when c is a scorer option (then *code is EXIT_OK or the usage error's
 * exit code), 0 when it is not. */
int cli_scorer_option(const char *command, int c, const char *arg, rmb_scorer_options *o,
                      int *code);

#endif
