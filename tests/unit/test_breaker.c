/*
 * test_breaker.c - the circuit breaker's states, driven with explicit
 * clock values: closed -> open -> half-open (one probe) -> closed or open.
 */
#include "test.h"
#include "internal.h"
#include "hooks/hooks.h"

#include <pthread.h>

static void setup(struct llm__breaker *b, int32_t threshold, int64_t cooldown)
{
    llm__breaker_init(b);
    b->threshold = threshold;
    b->cooldown_ms = cooldown;
}

TEST(disabled_never_opens)
{
    struct llm__breaker b;
    llm__breaker_init(&b);
    CHECK_INT(b.threshold, 0);
    for (int i = 0; i < 100; i++) {
        CHECK_INT(llm__breaker_allow(&b, i), 1);
        llm__breaker_record(&b, 0, i);
    }
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_CLOSED);
    llm__breaker_destroy(&b);
    CHECK_INT(llm__breaker_allow(NULL, 0), 1);
    llm__breaker_record(NULL, 0, 0);
    CHECK_INT(llm__breaker_state(NULL), LLM__BREAKER_CLOSED);
}

TEST(opens_after_consecutive_failures)
{
    struct llm__breaker b;
    setup(&b, 3, 1000);
    llm__breaker_record(&b, 0, 10);
    llm__breaker_record(&b, 0, 20);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_CLOSED);
    /* A success in between starts the count again. */
    llm__breaker_record(&b, 1, 30);
    llm__breaker_record(&b, 0, 40);
    llm__breaker_record(&b, 0, 50);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_CLOSED);
    CHECK_INT(llm__breaker_allow(&b, 55), 1);
    llm__breaker_record(&b, 0, 60);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_OPEN);
    CHECK_INT(llm__breaker_allow(&b, 61), 0);
    CHECK_INT(llm__breaker_allow(&b, 1059), 0);
    llm__breaker_destroy(&b);
}

TEST(half_open_lets_one_probe_through)
{
    struct llm__breaker b;
    setup(&b, 2, 1000);
    llm__breaker_record(&b, 0, 0);
    llm__breaker_record(&b, 0, 100);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_OPEN);
    CHECK_INT(llm__breaker_allow(&b, 1099), 0);
    CHECK_INT(llm__breaker_allow(&b, 1100), 1);        /* the probe */
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_HALF_OPEN);
    CHECK_INT(llm__breaker_allow(&b, 1101), 0);        /* everyone else waits */
    CHECK_INT(llm__breaker_allow(&b, 5000), 0);

    /* The probe fails: open again, for a full cooldown from now. */
    llm__breaker_record(&b, 0, 6000);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_OPEN);
    CHECK_INT(llm__breaker_allow(&b, 6999), 0);
    CHECK_INT(llm__breaker_allow(&b, 7000), 1);
    CHECK_INT(llm__breaker_allow(&b, 7000), 0);

    /* The probe succeeds: closed, and failures count from zero. */
    llm__breaker_record(&b, 1, 7500);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_CLOSED);
    for (int i = 0; i < 5; i++)
        CHECK_INT(llm__breaker_allow(&b, 7600 + i), 1);
    llm__breaker_record(&b, 0, 7700);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_CLOSED);
    llm__breaker_record(&b, 0, 7800);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_OPEN);
    llm__breaker_destroy(&b);
}

TEST(late_failures_do_not_extend_the_cooldown)
{
    struct llm__breaker b;
    setup(&b, 1, 1000);
    llm__breaker_record(&b, 0, 0);
    CHECK_INT(llm__breaker_state(&b), LLM__BREAKER_OPEN);
    /* A call let through before the breaker opened fails late. */
    llm__breaker_record(&b, 0, 900);
    CHECK_INT(llm__breaker_allow(&b, 1000), 1);
    llm__breaker_destroy(&b);
}

TEST(a_lost_probe_is_replaced)
{
    struct llm__breaker b;
    setup(&b, 1, 100);
    llm__breaker_record(&b, 0, 0);
    CHECK_INT(llm__breaker_allow(&b, 100), 1);
    /* Its call vanished without an outcome; after the lease another
     * caller probes instead of the breaker staying half-open for ever. */
    CHECK_INT(llm__breaker_allow(&b, 100 + 599999), 0);
    CHECK_INT(llm__breaker_allow(&b, 100 + 600000), 1);
    CHECK_INT(llm__breaker_allow(&b, 100 + 600001), 0);
    llm__breaker_destroy(&b);
}

TEST(zero_cooldown_still_one_probe_at_a_time)
{
    struct llm__breaker b;
    setup(&b, 1, 0);
    llm__breaker_record(&b, 0, 50);
    CHECK_INT(llm__breaker_allow(&b, 50), 1);
    CHECK_INT(llm__breaker_allow(&b, 50), 0);
    llm__breaker_record(&b, 1, 51);
    CHECK_INT(llm__breaker_allow(&b, 51), 1);
    CHECK_INT(llm__breaker_allow(&b, 51), 1);
    llm__breaker_destroy(&b);
}

static struct llm__breaker shared;
static int allowed[16];

static void *racer(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < 200; i++)
        *ok += llm__breaker_allow(&shared, 10000);
    return NULL;
}

TEST(concurrent_callers_get_one_probe)
{
    setup(&shared, 1, 1000);
    llm__breaker_record(&shared, 0, 0);
    pthread_t t[16];
    for (int i = 0; i < 16; i++) {
        allowed[i] = 0;
        pthread_create(&t[i], NULL, racer, &allowed[i]);
    }
    int total = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        total += allowed[i];
    }
    CHECK_INT(total, 1);
    CHECK_INT(llm__breaker_state(&shared), LLM__BREAKER_HALF_OPEN);
    llm__breaker_destroy(&shared);
}

int main(void)
{
    RUN(disabled_never_opens);
    RUN(opens_after_consecutive_failures);
    RUN(half_open_lets_one_probe_through);
    RUN(late_failures_do_not_extend_the_cooldown);
    RUN(a_lost_probe_is_replaced);
    RUN(zero_cooldown_still_one_probe_at_a_time);
    RUN(concurrent_callers_get_one_probe);
    return test_summary();
}
