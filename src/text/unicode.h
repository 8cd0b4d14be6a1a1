/* UTF-8 and Unicode character classes for the tokenizer. */
#ifndef RMB_TEXT_UNICODE_H
#define RMB_TEXT_UNICODE_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the UTF-8 character that starts with byte b (1 for a stray
 * continuation byte, so that loops over valid text always advance). */
static inline size_t utf8_len(unsigned char b)
{
    return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* Decodes the character at s (valid UTF-8, at least one byte) into *cp and
 * returns its length in bytes. */
size_t utf8_decode(const char *s, int32_t *cp);

/* Appends code point cp encoded as UTF-8. */
void utf8_append(rmb_buf *b, int32_t cp);

/* Length of the longest prefix of s[0..n) that is valid UTF-8. */
size_t utf8_valid_prefix(const char *s, size_t n);

/* Appends s[0..n) to out with every maximal invalid subsequence replaced by
 * U+FFFD, exactly as Python's bytes.decode("utf-8", "replace") does. */
void utf8_lossy_append(rmb_buf *out, const char *s, size_t n);

/* Rust's char::is_whitespace (the White_Space property). */
bool uni_is_whitespace(int32_t cp);
/* Rust's char::is_numeric (general categories Nd, Nl, No). */
bool uni_is_numeric(int32_t cp);
/* Rust's char::is_alphanumeric (letters and numbers). */
bool uni_is_alphanumeric(int32_t cp);
/* Hugging Face's is_punctuation: ASCII punctuation or categories P*. */
bool uni_is_punctuation(int32_t cp);
/* Combining marks (categories Mn, Mc, Me). */
bool uni_is_mark(int32_t cp);

/* GPT-2's byte-level alphabet: the UTF-8 text (1 or 2 bytes, NUL-padded)
 * of the printable character that stands for byte b. */
const char *uni_byte_char(unsigned char b);

#endif
