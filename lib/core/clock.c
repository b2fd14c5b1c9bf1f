/*
 * clock.c - the one clock every timer, backoff, TTL and bucket reads, and
 * its test replacement (llm_experimental.h).
 */
#include "internal.h"

#define LLM_EXPERIMENTAL 1
#include "llm_experimental.h"

#include <time.h>

static llm_clock_fn g_now, g_wall;
static llm_sleep_fn g_sleep;
static void *g_clock_ud;

void llm_test_set_clock(llm_clock_fn now_ms, llm_clock_fn wall_ms, llm_sleep_fn sleep_ms,
                        void *userdata)
{
    g_now = now_ms;
    g_wall = wall_ms;
    g_sleep = sleep_ms;
    g_clock_ud = userdata;
}

int64_t llm__now_ms(void)
{
    if (g_now)
        return g_now(g_clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t llm__wall_ms(void)
{
    if (g_wall)
        return g_wall(g_clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int llm__clock_sleep_hook(int64_t ms)
{
    if (!g_sleep)
        return 0;
    g_sleep(ms, g_clock_ud);
    return 1;
}
