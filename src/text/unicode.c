/* UTF-8 decoding, lossy repair and the character classes the tokenizer's
 * components are defined with (Rust's char methods, via utf8proc). */
#include "text/unicode.h"

#include <pthread.h>
#include <utf8proc.h>

size_t utf8_decode(const char *s, int32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = ((u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return 2;
    }
    if (u[0] < 0xF0) {
        *cp = ((u[0] & 0x0F) << 12) | ((u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    *cp = ((u[0] & 0x07) << 18) | ((u[1] & 0x3F) << 12) | ((u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    return 4;
}

void utf8_append(rmb_buf *b, int32_t cp)
{
    char tmp[4];
    rmb_buf_append(b, tmp, (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)tmp));
}

/* How many bytes of s[0..n) form a valid character (0: none valid) and, via
 * *bad, how many bytes one U+FFFD replaces when it is not valid: the lead
 * byte plus the continuation bytes that could still have completed it (the
 * Unicode "maximal subpart" rule that Python and WHATWG follow). */
static size_t utf8_char_check(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char b = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    *bad = 1;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        need = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0;
        if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90;
        if (b == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    for (size_t i = 1; i < need; i++) {
        if (i >= n)
            return 0;
        unsigned char c = s[i];
        if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF))
            return 0;
        *bad = i + 1;
    }
    return need;
}

size_t utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_char_check(u + i, n - i, &bad);
        if (!k)
            break;
        i += k;
    }
    return i;
}

void utf8_lossy_append(rmb_buf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t ok = utf8_valid_prefix(s + i, n - i);
        rmb_buf_append(out, s + i, ok);
        i += ok;
        if (i < n) {
            size_t bad;
            utf8_char_check((const unsigned char *)s + i, n - i, &bad);
            rmb_buf_append(out, "\xEF\xBF\xBD", 3);
            i += bad;
        }
    }
}

bool uni_is_whitespace(int32_t cp)
{
    if (cp <= 0x20)
        return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool uni_is_numeric(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool uni_is_alphanumeric(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || uni_is_numeric(cp);
}

bool uni_is_punctuation(int32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
               (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool uni_is_mark(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

/* bytes_to_unicode() of GPT-2: printable Latin-1 bytes stand for
 * themselves, the other 68 bytes for U+0100, U+0101, ... in byte order. */
static char byte_chars[256][3];
static pthread_once_t byte_chars_once = PTHREAD_ONCE_INIT;

static void byte_chars_init(void)
{
    int32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        int32_t cp = printable ? b : next++;
        utf8proc_encode_char(cp, (utf8proc_uint8_t *)byte_chars[b]);
    }
}

const char *uni_byte_char(unsigned char b)
{
    pthread_once(&byte_chars_once, byte_chars_init);
    return byte_chars[b];
}
