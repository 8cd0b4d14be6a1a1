/* Error records and the context callbacks (logging, progress, cancel). */
#include "rmb/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

rmb_status rmb_fail(rmb_error *err, rmb_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

rmb_status rmb_error_prefix(rmb_error *err, const char *fmt, ...)
{
    if (!err)
        return RMB_OK;
    char prefix[RMB_ERROR_MAX], old[RMB_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    memcpy(err->msg, prefix, n + 1);
    strncat(err->msg, old, sizeof err->msg - n - 1);
    return err->status;
}

const char *rmb_status_name(rmb_status status)
{
    switch (status) {
    case RMB_OK: return "ok";
    case RMB_EUSAGE: return "usage error";
    case RMB_EIO: return "I/O error";
    case RMB_EDATA: return "data error";
    case RMB_ENOMEM: return "out of memory";
    case RMB_ECANCELED: return "canceled";
    case RMB_EUNSUPPORTED: return "unsupported";
    case RMB_EREMOTE: return "remote error";
    }
    return "unknown error";
}

void rmb_log(const rmb_context *ctx, rmb_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->log)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, msg);
}

void rmb_progress(const rmb_context *ctx, const char *stage, uint64_t done, uint64_t total)
{
    if (ctx && ctx->progress)
        ctx->progress(ctx->progress_user, stage, done, total);
}

int rmb_canceled(const rmb_context *ctx)
{
    return ctx && ctx->cancel && *ctx->cancel;
}
