/* A growable byte buffer, always NUL-terminated, for building text. */
#ifndef RMB_COMMON_BUF_H
#define RMB_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct rmb_buf {
    char *data; /* NUL-terminated; NULL until something is appended */
    size_t len;
    size_t cap;
    int oom;    /* set once an allocation failed; later appends are ignored */
} rmb_buf;

void rmb_buf_append(rmb_buf *b, const char *data, size_t len);
void rmb_buf_puts(rmb_buf *b, const char *s);
void rmb_buf_printf(rmb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rmb_buf_vprintf(rmb_buf *b, const char *fmt, va_list ap);
/* Hands the text to the caller (who frees it); NULL if an allocation failed. */
char *rmb_buf_take(rmb_buf *b);
void rmb_buf_free(rmb_buf *b);

#endif
