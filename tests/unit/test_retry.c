/*
 * test_retry.c - the default retry policy, backoff with jitter,
 * retry-after parsing (numbers and the three HTTP date forms) and the
 * per-client retry budget.
 */
#include "test.h"
#include "internal.h"
#include "hooks/hooks.h"

#define LLM_EXPERIMENTAL 1
#include "llm_experimental.h"

#include <locale.h>
#include <pthread.h>

static struct llm_attempt failed_attempt(int32_t number, int retryable, int64_t retry_after)
{
    struct llm_attempt a;
    memset(&a, 0, sizeof a);
    a.provider = "openai";
    a.model = "gpt-4o";
    a.number = number;
    a.status = LLM_ERR_RATE_LIMITED;
    a.http_status = 429;
    a.retryable = retryable;
    a.retry_after_ms = retry_after;
    a.ttft_ms = -1;
    a.max_cost_nanos = -1;
    return a;
}

TEST(backoff_stays_in_its_jitter_band)
{
    llm_test_seed_jitter(12345);
    static const int64_t base[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
    for (int32_t n = 0; n < 7; n++) {
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 400; i++) {
            int64_t d = llm__backoff_ms(n);
            if (d < lo)
                lo = d;
            if (d > hi)
                hi = d;
        }
        /* (0.75, 1] of the base, and the draws really spread over it. */
        CHECK(lo > base[n] * 3 / 4);
        CHECK(hi <= base[n]);
        CHECK(hi - lo > base[n] / 8);
    }
    CHECK(llm__backoff_ms(100) <= 8000);
    CHECK(llm__backoff_ms(100) > 6000);
    CHECK(llm__backoff_ms(INT32_MAX) <= 8000);
    int64_t neg = llm__backoff_ms(-5);
    CHECK(neg > 375 && neg <= 500);
}

TEST(seeded_jitter_repeats)
{
    int64_t a[20], b[20], c[20];
    llm_test_seed_jitter(42);
    for (int i = 0; i < 20; i++)
        a[i] = llm__backoff_ms(3);
    llm_test_seed_jitter(42);
    for (int i = 0; i < 20; i++)
        b[i] = llm__backoff_ms(3);
    llm_test_seed_jitter(43);
    for (int i = 0; i < 20; i++)
        c[i] = llm__backoff_ms(3);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
}

TEST(random_is_uniform_enough)
{
    llm_test_seed_jitter(7);
    double sum = 0, lo = 1, hi = 0;
    int buckets[10] = {0};
    for (int i = 0; i < 20000; i++) {
        double r = llm__random();
        CHECK(r >= 0.0 && r < 1.0);
        sum += r;
        if (r < lo)
            lo = r;
        if (r > hi)
            hi = r;
        buckets[(int)(r * 10)]++;
    }
    CHECK(sum / 20000 > 0.48 && sum / 20000 < 0.52);
    CHECK(lo < 0.01 && hi > 0.99);
    for (int i = 0; i < 10; i++)
        CHECK(buckets[i] > 1700 && buckets[i] < 2300);
}

TEST(default_policy)
{
    llm_test_seed_jitter(99);
    int retry = -1;
    int64_t delay = -1;

    struct llm_attempt a = failed_attempt(1, 0, -1);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK_INT(retry, 0);
    CHECK_INT(delay, 0);

    /* A server's wait within the cap is taken as is. */
    a = failed_attempt(1, 1, 1500);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK_INT(retry, 1);
    CHECK_INT(delay, 1500);
    a = failed_attempt(2, 1, LLM__RETRY_AFTER_CAP_MS);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK_INT(retry, 1);
    CHECK_INT(delay, 60000);

    /* Beyond it: no retry (core reports when one may succeed). */
    a = failed_attempt(1, 1, LLM__RETRY_AFTER_CAP_MS + 1);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK_INT(retry, 0);

    /* No usable wait: exponential backoff by the attempt number. */
    a = failed_attempt(1, 1, -1);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK_INT(retry, 1);
    CHECK(delay > 375 && delay <= 500);
    a = failed_attempt(3, 1, 0);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK_INT(retry, 1);
    CHECK(delay > 1500 && delay <= 2000);
    a = failed_attempt(9, 1, -1);
    CHECK_INT(llm_retry_default(&a, &retry, &delay, NULL), LLM_OK);
    CHECK(delay > 6000 && delay <= 8000);

    retry = 5;
    delay = 5;
    CHECK_INT(llm_retry_default(NULL, &retry, &delay, NULL), LLM_ERR_MISUSE);
    CHECK_INT(retry, 0);
    CHECK_INT(delay, 0);
    CHECK_INT(llm_retry_default(&a, NULL, &delay, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_retry_default(&a, &retry, NULL, NULL), LLM_ERR_MISUSE);
}

#define NOV_1994 (784111777LL * 1000)    /* Sun, 06 Nov 1994 08:49:37 GMT */

TEST(retry_after_numbers)
{
    CHECK_INT(llm__retry_after_ms(NULL, NULL, 0), -1);
    CHECK_INT(llm__retry_after_ms("1500", NULL, 0), 1500);
    CHECK_INT(llm__retry_after_ms("1500", "9", 0), 1500);   /* -ms wins */
    CHECK_INT(llm__retry_after_ms("  250 ", NULL, 0), 250);
    CHECK_INT(llm__retry_after_ms("1.2", NULL, 0), 2);      /* never early */
    CHECK_INT(llm__retry_after_ms("0", NULL, 0), 0);
    CHECK_INT(llm__retry_after_ms("-30", NULL, 0), 0);
    CHECK_INT(llm__retry_after_ms(NULL, "2", 0), 2000);
    CHECK_INT(llm__retry_after_ms(NULL, "0.5", 0), 500);
    CHECK_INT(llm__retry_after_ms(NULL, ".25", 0), 250);
    CHECK_INT(llm__retry_after_ms(NULL, "-1", 0), 0);
    CHECK_INT(llm__retry_after_ms(NULL, "61", 0), 61000);
    /* Junk in -ms falls through to retry-after. */
    CHECK_INT(llm__retry_after_ms("soon", "3", 0), 3000);
    CHECK_INT(llm__retry_after_ms("soon", NULL, 0), -1);
    CHECK_INT(llm__retry_after_ms(NULL, "", 0), -1);
    CHECK_INT(llm__retry_after_ms(NULL, "1e3", 0), -1);
    CHECK_INT(llm__retry_after_ms(NULL, "12abc", 0), -1);
    CHECK_INT(llm__retry_after_ms(NULL, ".", 0), -1);
    CHECK_INT(llm__retry_after_ms(NULL, "1,5", 0), -1);
    /* Absurd waits are clamped, not overflowed. */
    int64_t huge = llm__retry_after_ms(NULL, "99999999999999999999999999", 0);
    CHECK(huge > LLM__RETRY_AFTER_CAP_MS);
    CHECK(huge < INT64_MAX / 2);
}

TEST(retry_after_http_dates)
{
    CHECK_INT(llm__retry_after_ms(NULL, "Sun, 06 Nov 1994 08:49:37 GMT", NOV_1994 - 30000), 30000);
    CHECK_INT(llm__retry_after_ms(NULL, "Sun, 06 Nov 1994 08:49:37 GMT", NOV_1994 - 1), 1);
    CHECK_INT(llm__retry_after_ms(NULL, "Sun, 06 Nov 1994 08:49:37 GMT", NOV_1994 + 5000), 0);
    CHECK_INT(llm__retry_after_ms(NULL, "Sunday, 06-Nov-94 08:49:37 GMT", NOV_1994 - 2000), 2000);
    CHECK_INT(llm__retry_after_ms(NULL, "Sun Nov  6 08:49:37 1994", NOV_1994 - 7000), 7000);
    /* A leap day and the end of a day, far from 1970. */
    CHECK_INT(llm__retry_after_ms(NULL, "Tue, 29 Feb 2028 00:00:00 GMT",
                                  (1772323200LL + 730LL * 86400) * 1000 - 1000), 1000);
    CHECK_INT(llm__retry_after_ms(NULL, "Sat, 28 Feb 2026 23:59:59 GMT", 1772323199LL * 1000 - 4000),
              4000);
    static const char *const bad[] = {
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "tomorrow",
        ",",
        "Sun,",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++)
        CHECK_INT(llm__retry_after_ms(NULL, bad[i], NOV_1994), -1);
}

TEST(retry_after_ignores_the_locale)
{
    /* A host in a comma-decimal locale must not change how headers read.
     * Only checkable where such a locale is installed. */
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc)
        loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    CHECK_INT(llm__retry_after_ms(NULL, "1.5", 0), 1500);
    setlocale(LC_NUMERIC, "C");
}

TEST(budget_counts)
{
    struct llm__retry_budget b;
    llm__retry_budget_init(&b);
    int ok = 0;
    for (int i = 0; i < 150; i++)
        ok += llm__retry_budget_take(&b, 0);
    CHECK_INT(ok, 100);                       /* 500 tokens, 5 a retry */
    CHECK_INT(llm__retry_budget_take(&b, 0), 0);
    for (int i = 0; i < 4; i++)
        llm__retry_budget_refund(&b);
    CHECK_INT(llm__retry_budget_take(&b, 0), 0);
    llm__retry_budget_refund(&b);
    CHECK_INT(llm__retry_budget_take(&b, 0), 1);
    for (int i = 0; i < 9; i++)
        llm__retry_budget_refund(&b);
    CHECK_INT(llm__retry_budget_take(&b, 1), 0);  /* a timeout costs 10 */
    llm__retry_budget_refund(&b);
    CHECK_INT(llm__retry_budget_take(&b, 1), 1);
    /* Refunds never raise the quota past its size. */
    for (int i = 0; i < 2000; i++)
        llm__retry_budget_refund(&b);
    CHECK_INT(b.tokens, 500);
    llm__retry_budget_destroy(&b);
    CHECK_INT(llm__retry_budget_take(NULL, 0), 1);
    llm__retry_budget_refund(NULL);
}

static struct llm__retry_budget shared_budget;
static int thread_ok[8];

static void *taker(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < 40; i++)
        *ok += llm__retry_budget_take(&shared_budget, i % 2);
    return NULL;
}

TEST(budget_is_thread_safe)
{
    llm__retry_budget_init(&shared_budget);
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        thread_ok[i] = 0;
        pthread_create(&t[i], NULL, taker, &thread_ok[i]);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += thread_ok[i];
    }
    /* 320 takes, half at 5 and half at 10: the 500 tokens run out. */
    CHECK(total >= 50 && total <= 100);
    CHECK(shared_budget.tokens >= 0 && shared_budget.tokens < 10);
    llm__retry_budget_destroy(&shared_budget);
}

int main(void)
{
    RUN(backoff_stays_in_its_jitter_band);
    RUN(seeded_jitter_repeats);
    RUN(random_is_uniform_enough);
    RUN(default_policy);
    RUN(retry_after_numbers);
    RUN(retry_after_http_dates);
    RUN(retry_after_ignores_the_locale);
    RUN(budget_counts);
    RUN(budget_is_thread_safe);
    return test_summary();
}
