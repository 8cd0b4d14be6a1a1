#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(rmb_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void rmb_buf_append(rmb_buf *b, const char *data, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void rmb_buf_puts(rmb_buf *b, const char *s)
{
    rmb_buf_append(b, s, strlen(s));
}

void rmb_buf_vprintf(rmb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void rmb_buf_printf(rmb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rmb_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *rmb_buf_take(rmb_buf *b)
{
    if (b->oom) {
        rmb_buf_free(b);
        return NULL;
    }
    char *s = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void rmb_buf_free(rmb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
