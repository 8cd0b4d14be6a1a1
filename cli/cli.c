#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t cancel_requested;
static bool progress_drawn;

static void on_signal(int sig)
{
    (void)sig;
    cancel_requested = 1;
}

static void log_to_stderr(void *user, rmb_log_level level, const char *message)
{
    (void)user;
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};
    cli_progress_done();
    fprintf(stderr, "rmb: %s%s\n", prefix[level], message);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* At most ten redraws a second, and always the last one. */
static void progress_to_terminal(void *user, const char *stage, uint64_t done, uint64_t total)
{
    (void)user;
    static double last;
    double t = now_seconds();
    if (done < total && t - last < 0.1)
        return;
    last = t;
    double pct = total ? 100.0 * (double)done / (double)total : 100.0;
    fprintf(stderr, "\r\033[K%s: %llu/%llu (%.1f%%)", stage, (unsigned long long)done,
            (unsigned long long)total, pct);
    fflush(stderr);
    progress_drawn = true;
}

void cli_progress_done(void)
{
    if (progress_drawn) {
        fputs("\r\033[K", stderr);
        progress_drawn = false;
    }
}

void cli_context_init(rmb_context *ctx, bool quiet)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->log = log_to_stderr;
    if (!quiet && isatty(STDERR_FILENO))
        ctx->progress = progress_to_terminal;
    ctx->cancel = &cancel_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_report(const rmb_error *err)
{
    cli_progress_done();
    fprintf(stderr, "rmb: %s\n", err->msg);
    return err->status == RMB_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rmb %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'rmb %s --help'.\n", command);
    va_end(ap);
    return EXIT_USAGE;
}

bool cli_parse_int(const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > INT_MAX)
        return false;
    *out = (int)v;
    return true;
}
