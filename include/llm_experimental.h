/*
 * llm_experimental.h - opt-in, unversioned API for static users and tests.
 *
 * Nothing here is in the version script: it is reachable only by linking
 * libllm.a, and it may change in any release.  Define LLM_EXPERIMENTAL
 * before including it.
 */
#ifndef LLM_EXPERIMENTAL_H
#define LLM_EXPERIMENTAL_H

#include "llm.h"

#ifndef LLM_EXPERIMENTAL
#error "define LLM_EXPERIMENTAL to use llm_experimental.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A replacement clock.  now_ms returns monotonic milliseconds, wall_ms epoch
 * milliseconds (signing, retry-after dates).  When sleep_ms is set, libllm
 * calls it instead of waiting for a retry backoff, so a test can advance
 * its fake time and return at once.  All NULL restores the real clock.
 * Init-only. */
typedef int64_t (*llm_clock_fn)(void *userdata);
typedef void    (*llm_sleep_fn)(int64_t ms, void *userdata);
void llm_test_set_clock(llm_clock_fn now_ms, llm_clock_fn wall_ms,
                        llm_sleep_fn sleep_ms, void *userdata);

/* Seed the jitter of retry backoff so that tests are repeatable. Init-only. */
void llm_test_seed_jitter(uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif
