/*
 * hooks.h - what core calls of the hooks object and the built-in
 * policies (retry, memory cache, price table, rate limiter, spend cap,
 * circuit breaker, cache key).  Internal; never installed.
 */
#ifndef LLM_HOOKS_H
#define LLM_HOOKS_H

#include "internal.h"

#include <pthread.h>

/* The record every hook reads through llm_attempt_* getters.  Core fills
 * it; strings are borrowed for the duration of the callback. */
struct llm_attempt {
    const char *provider;
    const char *model;
    const char *user;
    const char *error_type;
    const char *request_id;
    int32_t number;            /* 1-based, counted across fallbacks */
    int     status;
    int     http_status;
    int     retryable;
    int     cache_hit;
    int     streaming;
    int64_t retry_after_ms;    /* -1 none */
    int64_t latency_ms;
    int64_t ttft_ms;           /* -1 none */
    int64_t input_estimate;
    int64_t max_cost_nanos;    /* -1 unknown */
    const struct llm__usage *usage;   /* NULL: nothing reported */
    int     cost_known;
    int64_t cost_nanos;
    /* OpenTelemetry attributes, built on first use by llm_attempt_attr_*. */
    char  **attr_names;
    char  **attr_values;
    size_t  nattrs;
    int     attrs_built;
};

/* Release what llm_attempt_attr_* built; core calls it after the hooks ran. */
void llm__attempt_clear(struct llm_attempt *a);

struct llm__hook_slot {
    void       *fn;            /* the typed function, cast back at the call */
    void       *ud;
    llm_free_fn free_ud;
};

struct llm__memcache;
struct llm__ratelimit;
struct llm__spendcap;

struct llm_hooks {
    atomic_int refs;
    atomic_int frozen;         /* attached to a client: setters fail */
    struct llm__hook_slot retry, cache, admit, cost, observe, log, creds;
    llm_cache_put_fn cache_put;
    int64_t cache_ttl_ms;
    int     log_level;
    struct llm__memcache  *memcache;    /* built-in cache, when chosen */
    struct llm__ratelimit *ratelimit;   /* built-in admission policies */
    struct llm__spendcap  *spendcap;
};

/* Take a reference and freeze (llm_client_set_hooks). */
llm_hooks *llm__hooks_ref(llm_hooks *h);

/* Admission: built-in rate limit, then spend cap, then the host's hook.
 * LLM_OK, LLM_ERR_DENIED (*deny_code_out set) or LLM_ERR_CALLBACK.
 * *ticket_out carries what was reserved, to be settled exactly once. */
int  llm__hooks_admit(llm_hooks *h, const struct llm_attempt *a,
                      int32_t *deny_code_out, void **ticket_out);
/* Settle a reservation with the final record (cost known or not). */
void llm__hooks_settle(llm_hooks *h, void *ticket, const struct llm_attempt *final);

/* 1 if a cache (host or built-in) is configured. */
int  llm__hooks_has_cache(const llm_hooks *h);
/* LLM_OK with *val filled on a hit, LLM_ERR_NOT_AVAILABLE on a miss,
 * LLM_ERR_CALLBACK when the hook failed (core fails open). */
int  llm__hooks_cache_get(llm_hooks *h, const char *key, size_t key_len, llm__buf *val);
int  llm__hooks_cache_put(llm_hooks *h, const char *key, size_t key_len,
                          const void *val, size_t len);

/* The retry decision: the host's hook or llm_retry_default.  LLM_OK with
 * *retry_out and *delay_ms_out set, or LLM_ERR_CALLBACK. */
int  llm__hooks_retry(llm_hooks *h, const struct llm_attempt *a,
                      int *retry_out, int64_t *delay_ms_out);

void llm__hooks_observe(llm_hooks *h, const struct llm_attempt *a);
int  llm__hooks_cost(llm_hooks *h, const struct llm_attempt *a);
int  llm__hooks_log_enabled(const llm_hooks *h, int level);
void llm__hooks_log(llm_hooks *h, int level, const char *fmt, ...) LLM__PRINTF(3, 4);

/* Credentials of one attempt, wiped by llm__creds_clear. */
struct llm_credentials {
    char *api_key;
    char *bearer_token;
    char *aws_access_key_id;
    char *aws_secret_access_key;
    char *aws_session_token;
};
int  llm__hooks_has_credentials(const llm_hooks *h);
/* LLM_OK or LLM_ERR_CALLBACK (fails closed). */
int  llm__hooks_credentials(llm_hooks *h, const struct llm_attempt *a,
                            struct llm_credentials *out);
void llm__creds_clear(struct llm_credentials *c);

/* Sinks hand a cached value across the boundary (copied). */
struct llm_cache_sink {
    llm__buf *val;
    int       set;
};

/* ------------------------------------------------------------------------
 * Retry policy helpers (retry.c).
 */
#define LLM__RETRY_AFTER_CAP_MS  60000   /* longer server waits are not slept */

/* Parse retry-after-ms, then retry-after (seconds or HTTP date) into ms;
 * -1 if absent or unparsable.  now_wall_ms: epoch ms for dates. */
int64_t llm__retry_after_ms(const char *retry_after_ms, const char *retry_after,
                            int64_t now_wall_ms);
/* Backoff for retry n (0 for the first): min(500 * 2^n, 8000) ms times a
 * jitter in (0.75, 1]. */
int64_t llm__backoff_ms(int32_t n);

/* Per-client retry budget in the style of the AWS SDKs' standard mode: a
 * quota of 500 tokens, 5 per retry (10 per timeout), 1 back per success. */
struct llm__retry_budget {
    pthread_mutex_t lock;
    int32_t tokens;
};
void llm__retry_budget_init(struct llm__retry_budget *b);
void llm__retry_budget_destroy(struct llm__retry_budget *b);
/* 1 and tokens taken if a retry may proceed; 0 when the budget is empty. */
int  llm__retry_budget_take(struct llm__retry_budget *b, int is_timeout);
void llm__retry_budget_refund(struct llm__retry_budget *b);

/* ------------------------------------------------------------------------
 * Prices and cost (prices.c).
 */
struct llm__prices;
int  llm__prices_new(struct llm__prices **out);     /* loaded with the built-in table */
void llm__prices_free(struct llm__prices *p);
int  llm__prices_set(struct llm__prices *p, const char *model, int kind, double value);
int  llm__prices_load_json(struct llm__prices *p, const char *json, size_t len, llm__buf *err);
/* Cost of a usage record in nano-USD; LLM_ERR_NOT_AVAILABLE when the model
 * has no price or usage lacks input or output.  Matches exact names, then
 * dated-version aliases ("gpt-4o-2024-08-06" -> "gpt-4o"), then names with
 * a provider prefix ("anthropic.claude-..." on Bedrock). */
int  llm__prices_cost(struct llm__prices *p, const char *model,
                      const struct llm__usage *u, int64_t *nanos_out);
/* Worst case for admission: input estimate plus max_tokens output. */
int  llm__prices_max_cost(struct llm__prices *p, const char *model,
                          int64_t input_tokens, int64_t max_output, int64_t *nanos_out);

/* ------------------------------------------------------------------------
 * Circuit breaker (breaker.c).  Thread-safe.
 */
#define LLM__BREAKER_CLOSED     0
#define LLM__BREAKER_OPEN       1
#define LLM__BREAKER_HALF_OPEN  2
struct llm__breaker {
    pthread_mutex_t lock;
    int32_t threshold;         /* 0: disabled */
    int64_t cooldown_ms;
    int32_t failures;
    int     state;
    int64_t opened_at;
    int     probe_out;         /* half-open: a probe is in flight */
};
void llm__breaker_init(struct llm__breaker *b);
void llm__breaker_destroy(struct llm__breaker *b);
/* 1 if a call may go; moves open -> half-open after the cooldown and lets
 * exactly one probe through. */
int  llm__breaker_allow(struct llm__breaker *b, int64_t now_ms);
/* Record the outcome of an allowed call: success closes, a retryable
 * failure counts (and reopens from half-open). */
void llm__breaker_record(struct llm__breaker *b, int success, int64_t now_ms);
int  llm__breaker_state(struct llm__breaker *b);

/* ------------------------------------------------------------------------
 * Cache key (cachekey.c): SHA-256 hex over the canonical form.
 */
struct llm__cache_key_input {
    const char *provider;
    const char *base_url;
    const char *api_version;
    const char *model;
    const char *scope;         /* namespace or credential fingerprint */
    const llm_request *req;
    const struct llm__header *headers;   /* the client's extra headers */
    size_t nheaders;
};
/* canon receives the canonical text; key_out 64 hex digits + NUL. */
int  llm__cache_key(const struct llm__cache_key_input *in, llm__buf *canon, char key_out[65]);
/* One-way fingerprint of a credential: "cred:" + first 16 hex of
 * SHA-256("libllm-scope-v1" || secret). */
int  llm__credential_fingerprint(const char *secret, char out[22]);

/* Serialise a final response for the cache (versioned) and back. */
int  llm__response_serialize(const llm_response *r, llm__buf *out);
int  llm__response_deserialize(llm_response *r, const char *data, size_t len);

#endif /* LLM_HOOKS_H */
