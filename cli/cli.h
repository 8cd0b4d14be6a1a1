/* What every rmb subcommand shares: exit codes, messages, the context. */
#ifndef RMB_CLI_H
#define RMB_CLI_H

#include "rmb/common.h"

#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* A context that logs to stderr and, when stderr is a terminal and quiet is
 * false, draws progress there.  SIGINT/SIGTERM set its cancel flag. */
void cli_context_init(rmb_context *ctx, bool quiet);
/* Ends a progress line if one is drawn. */
void cli_progress_done(void);

/* Prints "rmb: message" for err and returns its exit code. */
int cli_report(const rmb_error *err);
/* Prints a usage error with a pointer to --help and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a non-negative int option value; returns false on junk. */
bool cli_parse_int(const char *text, int *out);

/* Runs rmb eval (or merge) with opt and prints its table: the exit code. */
struct rmb_eval_options;
int cli_eval_run(const struct rmb_eval_options *opt, bool quiet);

int cmd_eval(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_convert(int argc, char **argv);

#endif
