/*
 * test.h - the tests' minimal harness.
 *
 * Each test binary defines its tests with TEST(name), registers them in
 * main through RUN(name), and ends with `return test_summary();`.  A
 * failing CHECK records the file, line and expression, and the test goes
 * on so that one run shows every failure.  tests/run.sh adds up the
 * "# totals P F" lines of every binary and prints the closing
 * "N passed, N failed" line that CI reads.
 */
#ifndef LLM_TEST_H
#define LLM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_checks;
static int test_passed, test_failed;
static const char *test_current;

#define TEST(name) static void name(void)

#define RUN(name)                                                          \
    do {                                                                   \
        int before_ = test_failed_checks;                                  \
        test_current = #name;                                              \
        name();                                                            \
        if (test_failed_checks == before_) {                               \
            test_passed++;                                                 \
            printf("ok - %s\n", #name);                                    \
        } else {                                                           \
            test_failed++;                                                 \
            printf("not ok - %s\n", #name);                                \
        }                                                                  \
        fflush(stdout);                                                    \
    } while (0)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            test_failed_checks++;                                          \
            printf("#   %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, \
                   test_current, #cond);                                   \
        }                                                                  \
    } while (0)

#define CHECK_INT(a, b)                                                    \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            test_failed_checks++;                                          \
            printf("#   %s:%d: %s: %s == %lld, expected %s == %lld\n",     \
                   __FILE__, __LINE__, test_current, #a, a_, #b, b_);      \
        }                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *a_ = (a), *b_ = (b);                                   \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                           \
            test_failed_checks++;                                          \
            printf("#   %s:%d: %s: %s == \"%s\", expected \"%s\"\n",       \
                   __FILE__, __LINE__, test_current, #a,                   \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
        }                                                                  \
    } while (0)

static inline int test_summary(void)
{
    printf("# totals %d %d\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
