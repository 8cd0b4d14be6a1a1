/* rmb: errors, logging, progress and cancellation shared by every module.
 *
 * Every fallible library function returns an rmb_status and, when it fails,
 * fills the caller's rmb_error with a message that names the file, the item
 * and the field.  The library never prints: it reports through the callbacks
 * of an rmb_context, which may be NULL everywhere one is accepted. */
#ifndef RMB_COMMON_H
#define RMB_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rmb_status {
    RMB_OK = 0,
    RMB_EUSAGE,       /* an argument or option value is invalid */
    RMB_EIO,          /* a file could not be read or written */
    RMB_EDATA,        /* input is malformed or inconsistent */
    RMB_ENOMEM,       /* out of memory */
    RMB_ECANCELED,    /* the caller asked to stop */
    RMB_EUNSUPPORTED, /* valid input that rmb does not handle (yet) */
    RMB_EREMOTE       /* a remote service failed after all retries */
} rmb_status;

#define RMB_ERROR_MAX 1024

typedef struct rmb_error {
    rmb_status status;
    char msg[RMB_ERROR_MAX];
} rmb_error;

/* Records status and a printf-style message in err (which may be NULL) and
 * returns status, so that failures read `return rmb_fail(err, RMB_EDATA, ...)`. */
rmb_status rmb_fail(rmb_error *err, rmb_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err's message with a printf-style context ("file.json: ") and
 * returns its status. */
rmb_status rmb_error_prefix(rmb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A short constant name for a status ("data error", ...). */
const char *rmb_status_name(rmb_status status);

typedef enum rmb_log_level {
    RMB_LOG_ERROR,
    RMB_LOG_WARN,
    RMB_LOG_INFO,
    RMB_LOG_DEBUG
} rmb_log_level;

typedef void (*rmb_log_fn)(void *user, rmb_log_level level, const char *message);

/* stage names the work ("scoring"), done/total count its units. */
typedef void (*rmb_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

/* How a long operation talks to its caller.  Every member may be NULL. */
typedef struct rmb_context {
    rmb_log_fn log;
    void *log_user;
    rmb_progress_fn progress;
    void *progress_user;
    /* Polled between batches: non-zero asks the operation to stop with
     * RMB_ECANCELED, keeping what it has finished. */
    const volatile sig_atomic_t *cancel;
} rmb_context;

void rmb_log(const rmb_context *ctx, rmb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rmb_progress(const rmb_context *ctx, const char *stage, uint64_t done, uint64_t total);
int rmb_canceled(const rmb_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
