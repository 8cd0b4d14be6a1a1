/* The scorer options that every scoring command shares (rmb eval, rmb
 * score): one table, one parser, one help text. */
#ifndef RMB_CLI_SCORER_FLAGS_H
#define RMB_CLI_SCORER_FLAGS_H

#include "rmb/scorer.h"

#include <getopt.h>

enum {
    OPT_MAXLEN = 300, OPT_TRUNC, OPT_THREADS, OPT_COMPUTE, OPT_TOKENIZER, OPT_APIKEY,
    OPT_INFLIGHT, OPT_TIMEOUT, OPT_ATTEMPTS, OPT_JUDGE_PROMPT
};

/* Entries for a command's getopt_long table. */
#define CLI_SCORER_LONG_OPTIONS                                                                    \
    {"max-length", required_argument, NULL, OPT_MAXLEN},                                           \
        {"truncation", required_argument, NULL, OPT_TRUNC},                                        \
        {"threads", required_argument, NULL, OPT_THREADS},                                         \
        {"compute", required_argument, NULL, OPT_COMPUTE},                                         \
        {"dtype", required_argument, NULL, OPT_COMPUTE},                                           \
        {"tokenizer", required_argument, NULL, OPT_TOKENIZER},                                     \
        {"api-key-env", required_argument, NULL, OPT_APIKEY},                                      \
        {"in-flight", required_argument, NULL, OPT_INFLIGHT},                                      \
        {"timeout", required_argument, NULL, OPT_TIMEOUT},                                         \
        {"max-attempts", required_argument, NULL, OPT_ATTEMPTS},                                   \
        {"judge-prompt", required_argument, NULL, OPT_JUDGE_PROMPT}

/* The --model specs and the options above, for a command's --help. */
extern const char cli_scorer_help[];

/* Applies option c (a getopt_long result) with value arg to o.  Returns 1
 * when c is a scorer option (then *code is EXIT_OK or the usage error's
 * exit code), 0 when it is not. */
int cli_scorer_option(const char *command, int c, const char *arg, rmb_scorer_options *o,
                      int *code);

#endif
