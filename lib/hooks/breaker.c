/*
 * breaker.c - the per-client circuit breaker.
 *
 *   closed --threshold consecutive retryable failures--> open
 *   open --cooldown elapsed, next caller becomes the probe--> half-open
 *   half-open --probe succeeds--> closed;  --probe fails--> open again
 *
 * While half-open every caller but the probe is refused.  A probe whose
 * outcome is never recorded (its call was freed mid-flight) would keep
 * the breaker half-open for good, so a probe is presumed lost after
 * PROBE_LEASE_MS and the next caller probes instead.
 */
#include "hooks/hooks.h"

/* The default attempt timeout: no live probe can take longer. */
#define PROBE_LEASE_MS 600000

void llm__breaker_init(struct llm__breaker *b)
{
    pthread_mutex_init(&b->lock, NULL);
    b->threshold = 0;
    b->cooldown_ms = 30000;
    b->failures = 0;
    b->state = LLM__BREAKER_CLOSED;
    b->opened_at = 0;
    b->probe_out = 0;
}

void llm__breaker_destroy(struct llm__breaker *b)
{
    pthread_mutex_destroy(&b->lock);
}

int llm__breaker_allow(struct llm__breaker *b, int64_t now_ms)
{
    if (!b)
        return 1;
    pthread_mutex_lock(&b->lock);
    int ok = 1;
    if (b->threshold > 0) {
        switch (b->state) {
        case LLM__BREAKER_OPEN:
            if (now_ms - b->opened_at >= b->cooldown_ms) {
                /* opened_at now times the probe's lease. */
                b->state = LLM__BREAKER_HALF_OPEN;
                b->probe_out = 1;
                b->opened_at = now_ms;
            } else {
                ok = 0;
            }
            break;
        case LLM__BREAKER_HALF_OPEN:
            if (!b->probe_out || now_ms - b->opened_at >= PROBE_LEASE_MS) {
                b->probe_out = 1;
                b->opened_at = now_ms;
            } else {
                ok = 0;
            }
            break;
        default:
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return ok;
}

void llm__breaker_record(struct llm__breaker *b, int success, int64_t now_ms)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    if (b->threshold <= 0) {
        b->state = LLM__BREAKER_CLOSED;
        b->failures = 0;
        b->probe_out = 0;
    } else if (success) {
        b->state = LLM__BREAKER_CLOSED;
        b->failures = 0;
        b->probe_out = 0;
    } else if (b->state == LLM__BREAKER_HALF_OPEN) {
        b->state = LLM__BREAKER_OPEN;
        b->opened_at = now_ms;
        b->probe_out = 0;
    } else if (b->state == LLM__BREAKER_CLOSED) {
        if (b->failures < INT32_MAX)
            b->failures++;
        if (b->failures >= b->threshold) {
            b->state = LLM__BREAKER_OPEN;
            b->opened_at = now_ms;
        }
    }
    /* A failure of a call let through before the breaker opened leaves
     * the open state and its cooldown as they are. */
    pthread_mutex_unlock(&b->lock);
}

int llm__breaker_state(struct llm__breaker *b)
{
    if (!b)
        return LLM__BREAKER_CLOSED;
    pthread_mutex_lock(&b->lock);
    int s = b->threshold > 0 ? b->state : LLM__BREAKER_CLOSED;
    pthread_mutex_unlock(&b->lock);
    return s;
}
