/*
 * random.c - the jitter source of retry backoff: xorshift64* (Vigna,
 * "An experimental exploration of Marsaglia's xorshift generators", 2014)
 * behind a mutex.  Not for anything secret: it only spreads retries.
 */
#include "internal.h"

#define LLM_EXPERIMENTAL 1
#include "llm_experimental.h"

#include <pthread.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_state;       /* 0: not seeded yet (xorshift never yields 0) */

/* splitmix64 finaliser: spreads a weak seed (a clock, an address) over all
 * 64 bits so that nearby seeds give unrelated sequences. */
static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void seed_locked(uint64_t seed)
{
    g_state = mix(seed);
    if (g_state == 0)
        g_state = 0x9E3779B97F4A7C15u;
}

void llm_test_seed_jitter(uint64_t seed)
{
    pthread_mutex_lock(&g_lock);
    seed_locked(seed);
    pthread_mutex_unlock(&g_lock);
}

double llm__random(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_state == 0) {
        /* Processes started in the same millisecond still differ by their
         * address-space layout. */
        int local;
        seed_locked((uint64_t)llm__now_ms() ^ ((uint64_t)llm__wall_ms() << 20) ^
                    (uint64_t)(uintptr_t)&local ^ ((uint64_t)(uintptr_t)&g_state << 7));
    }
    uint64_t x = g_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g_state = x;
    pthread_mutex_unlock(&g_lock);
    /* The top 53 bits of the scrambled output, as a double in [0, 1). */
    return (double)((x * 0x2545F4914F6CDD1Du) >> 11) * (1.0 / 9007199254740992.0);
}
