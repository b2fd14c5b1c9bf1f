/*
 * test_ratelimit.c - the token bucket (calls and estimated tokens per
 * interval, refilled continuously) and the per-user spend cap, on explicit
 * clock values.
 */
#include "test.h"
#include "internal.h"
#include "hooks/builtin.h"

#include <pthread.h>

static struct llm__ratelimit *bucket(int64_t req, int64_t tok, int64_t interval)
{
    struct llm__ratelimit *r = NULL;
    CHECK_INT(llm__ratelimit_new(&r, req, tok, interval), LLM_OK);
    /* Start the bucket's clock at 0 whatever the real clock says. */
    llm__ratelimit_take(r, 0, 0);
    llm__ratelimit_give(r, 0, 0);
    return r;
}

TEST(requests_per_interval)
{
    struct llm__ratelimit *r = bucket(2, 0, 1000);
    CHECK_INT(llm__ratelimit_take(r, 999999, 0), 1);   /* no token limit */
    CHECK_INT(llm__ratelimit_take(r, 0, 0), 1);
    CHECK_INT(llm__ratelimit_take(r, 0, 0), 0);
    CHECK_INT(llm__ratelimit_take(r, 0, 499), 0);
    CHECK_INT(llm__ratelimit_take(r, 0, 500), 1);      /* one refilled */
    CHECK_INT(llm__ratelimit_take(r, 0, 500), 0);
    /* A long pause refills to the capacity and no further. */
    CHECK_INT(llm__ratelimit_take(r, 0, 100000), 1);
    CHECK_INT(llm__ratelimit_take(r, 0, 100000), 1);
    CHECK_INT(llm__ratelimit_take(r, 0, 100000), 0);
    llm__ratelimit_free(r);
}

TEST(tokens_per_interval)
{
    struct llm__ratelimit *r = bucket(0, 100, 1000);
    CHECK_INT(llm__ratelimit_take(r, 60, 0), 1);
    CHECK_INT(llm__ratelimit_take(r, 60, 0), 0);       /* 40 left */
    CHECK_INT(llm__ratelimit_take(r, 40, 0), 1);
    CHECK_INT(llm__ratelimit_take(r, 30, 200), 0);     /* 20 back */
    CHECK_INT(llm__ratelimit_take(r, 20, 200), 1);
    /* Giving back what a denied call took. */
    CHECK_INT(llm__ratelimit_take(r, 50, 700), 1);
    llm__ratelimit_give(r, 50, 700);
    CHECK_INT(llm__ratelimit_take(r, 50, 700), 1);
    llm__ratelimit_free(r);
}

TEST(oversized_estimates_wait_for_a_full_bucket)
{
    struct llm__ratelimit *r = bucket(0, 100, 1000);
    /* More than the capacity: once the bucket is full it goes through and
     * leaves a debt, rather than being refused for ever. */
    CHECK_INT(llm__ratelimit_take(r, 250, 0), 1);
    CHECK_INT(llm__ratelimit_take(r, 1, 1000), 0);     /* -150 + 100 = -50 */
    CHECK_INT(llm__ratelimit_take(r, 1, 1509), 0);
    CHECK_INT(llm__ratelimit_take(r, 1, 1520), 1);
    CHECK_INT(llm__ratelimit_take(r, 250, 2000), 0);   /* not full yet */
    CHECK_INT(llm__ratelimit_take(r, 250, 3600), 1);
    llm__ratelimit_free(r);
}

TEST(both_limits_or_nothing)
{
    struct llm__ratelimit *r = bucket(5, 100, 1000);
    CHECK_INT(llm__ratelimit_take(r, 90, 0), 1);
    /* Refused on tokens: the call slot is not spent either. */
    for (int i = 0; i < 10; i++)
        CHECK_INT(llm__ratelimit_take(r, 50, 0), 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(llm__ratelimit_take(r, 1, 0), 1);
    CHECK_INT(llm__ratelimit_take(r, 1, 0), 0);        /* five calls made */
    llm__ratelimit_free(r);
}

TEST(a_clock_going_back_refills_nothing)
{
    struct llm__ratelimit *r = bucket(1, 0, 1000);
    CHECK_INT(llm__ratelimit_take(r, 0, 5000), 1);
    CHECK_INT(llm__ratelimit_take(r, 0, 100), 0);
    CHECK_INT(llm__ratelimit_take(r, 0, 1099), 0);
    CHECK_INT(llm__ratelimit_take(r, 0, 1100), 1);
    llm__ratelimit_free(r);
}

TEST(bad_arguments)
{
    struct llm__ratelimit *r = (struct llm__ratelimit *)1;
    CHECK_INT(llm__ratelimit_new(&r, -1, 0, 1000), LLM_ERR_INVALID_ARG);
    CHECK(r == NULL);
    CHECK_INT(llm__ratelimit_new(&r, 1, -1, 1000), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__ratelimit_new(&r, 1, 1, 0), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__ratelimit_new(NULL, 1, 1, 10), LLM_ERR_MISUSE);
    CHECK_INT(llm__ratelimit_take(NULL, 5, 0), 1);
    llm__ratelimit_give(NULL, 5, 0);
    llm__ratelimit_free(NULL);
    struct llm__spendcap *s = (struct llm__spendcap *)1;
    CHECK_INT(llm__spendcap_new(&s, -1), LLM_ERR_INVALID_ARG);
    CHECK(s == NULL);
    CHECK_INT(llm__spendcap_new(NULL, 1), LLM_ERR_MISUSE);
    llm__spendcap_free(NULL);
}

TEST(spend_cap_reserves_and_settles)
{
    struct llm__spendcap *s = NULL;
    CHECK_INT(llm__spendcap_new(&s, 1000), LLM_OK);
    CHECK_INT(llm__spendcap_reserve(s, "ann", 600), 1);
    CHECK_INT(llm__spendcap_reserve(s, "ann", 600), 0);   /* would pass 1000 */
    CHECK_INT(llm__spendcap_reserve(s, "ann", 400), 1);   /* exactly at it */
    CHECK_INT(llm__spendcap_reserve(s, "ann", 0), 0);     /* at the cap */
    int64_t st, rs;
    llm__spendcap_get(s, "ann", &st, &rs);
    CHECK_INT(st, 0);
    CHECK_INT(rs, 1000);
    /* The first call cost 100 of its 600. */
    llm__spendcap_settle(s, "ann", 600, 100);
    llm__spendcap_get(s, "ann", &st, &rs);
    CHECK_INT(st, 100);
    CHECK_INT(rs, 400);
    CHECK_INT(llm__spendcap_reserve(s, "ann", 500), 1);
    CHECK_INT(llm__spendcap_reserve(s, "ann", 1), 0);
    llm__spendcap_settle(s, "ann", 400, 0);
    llm__spendcap_settle(s, "ann", 500, 500);
    llm__spendcap_get(s, "ann", &st, &rs);
    CHECK_INT(st, 600);
    CHECK_INT(rs, 0);
    /* Users are separate; no user is the anonymous user. */
    CHECK_INT(llm__spendcap_reserve(s, "bob", 1000), 1);
    CHECK_INT(llm__spendcap_reserve(s, NULL, 1000), 1);
    CHECK_INT(llm__spendcap_reserve(s, "", 1), 0);
    llm__spendcap_get(s, "nobody", &st, &rs);
    CHECK_INT(st, 0);
    CHECK_INT(rs, 0);
    /* Costs over the reservation still count in full. */
    llm__spendcap_settle(s, "bob", 1000, 5000);
    llm__spendcap_get(s, "bob", &st, &rs);
    CHECK_INT(st, 5000);
    CHECK_INT(llm__spendcap_reserve(s, "bob", 0), 0);
    llm__spendcap_free(s);
}

TEST(spend_cap_saturates)
{
    struct llm__spendcap *s = NULL;
    CHECK_INT(llm__spendcap_new(&s, INT64_MAX), LLM_OK);
    CHECK_INT(llm__spendcap_reserve(s, "x", INT64_MAX - 10), 1);
    /* Sums saturate at the largest value, which is the cap itself. */
    CHECK_INT(llm__spendcap_reserve(s, "x", 100), 1);
    CHECK_INT(llm__spendcap_reserve(s, "x", 0), 0);
    llm__spendcap_settle(s, "x", INT64_MAX - 10, INT64_MAX);
    llm__spendcap_settle(s, "x", 100, INT64_MAX);
    int64_t st, rs;
    llm__spendcap_get(s, "x", &st, &rs);
    CHECK_INT(st, INT64_MAX);
    CHECK_INT(rs, 0);
    llm__spendcap_free(s);
}

static struct llm__spendcap *shared;
static int granted[8];

static void *spender(void *arg)
{
    int *g = arg;
    for (int i = 0; i < 500; i++) {
        if (llm__spendcap_reserve(shared, i % 2 ? "a" : "b", 10) == 1) {
            (*g)++;
            llm__spendcap_settle(shared, i % 2 ? "a" : "b", 10, 10);
        }
    }
    return NULL;
}

TEST(spend_cap_threads)
{
    CHECK_INT(llm__spendcap_new(&shared, 5000), LLM_OK);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, spender, &granted[i]);
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += granted[i];
    }
    /* 500 calls of 10 per user fit under each user's 5000. */
    CHECK_INT(total, 1000);
    int64_t st, rs;
    llm__spendcap_get(shared, "a", &st, &rs);
    CHECK_INT(st, 5000);
    CHECK_INT(rs, 0);
    llm__spendcap_free(shared);
}

int main(void)
{
    RUN(requests_per_interval);
    RUN(tokens_per_interval);
    RUN(oversized_estimates_wait_for_a_full_bucket);
    RUN(both_limits_or_nothing);
    RUN(a_clock_going_back_refills_nothing);
    RUN(bad_arguments);
    RUN(spend_cap_reserves_and_settles);
    RUN(spend_cap_saturates);
    RUN(spend_cap_threads);
    return test_summary();
}
