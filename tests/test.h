/* A minimal test harness: CHECK* macros count failures, TEST_MAIN runs the
 * listed test functions and exits non-zero if any check failed. */
#ifndef RMB_TEST_H
#define RMB_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            test_failures++;                                                             \
        }                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        if (a_ != b_) {                                                                  \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,        \
                    __LINE__, #a, a_, #b, b_);                                           \
            test_failures++;                                                             \
        }                                                                                \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                               \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,          \
                    __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
            test_failures++;                                                             \
        }                                                                                \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                 \
    do {                                                                                 \
        const char *h_ = (haystack), *n_ = (needle);                                     \
        if (!h_ || !strstr(h_, n_)) {                                                    \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,         \
                    __LINE__, h_ ? h_ : "(null)", n_);                                   \
            test_failures++;                                                             \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double a_ = (a), b_ = (b);                                                       \
        if (!(fabs(a_ - b_) <= (tol))) {                                                 \
            fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g (tol %g)\n", __FILE__,   \
                    __LINE__, #a, a_, b_, (double)(tol));                                \
            test_failures++;                                                             \
        }                                                                                \
    } while (0)

#define TEST_MAIN(...)                                                                   \
    int main(void)                                                                       \
    {                                                                                    \
        void (*tests_[])(void) = {__VA_ARGS__};                                          \
        for (size_t i_ = 0; i_ < sizeof tests_ / sizeof tests_[0]; i_++)                 \
            tests_[i_]();                                                                \
        if (test_failures)                                                               \
            fprintf(stderr, "%d check(s) failed\n", test_failures);                      \
        return test_failures != 0;                                                       \
    }

#endif
