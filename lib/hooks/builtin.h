/*
 * builtin.h - the built-in policies behind hooks.h, as hooks.c and the
 * unit tests see them: memory cache, rate limiter, spend cap, and helpers
 * shared by the cache key and the cache serialiser.  Internal.
 */
#ifndef LLM_HOOKS_BUILTIN_H
#define LLM_HOOKS_BUILTIN_H

#include "hooks/hooks.h"

/* ---- memory cache (memcache.c) ----------------------------------------
 * A thread-safe LRU of byte keys to byte values.  0 for a limit means no
 * limit; ttl_ms 0 means entries never expire. */
int    llm__memcache_new(struct llm__memcache **out, size_t max_entries, size_t max_bytes);
void   llm__memcache_free(struct llm__memcache *m);
/* LLM_OK with the value copied into val (replacing its contents), or
 * LLM_ERR_NOT_AVAILABLE on a miss (expired entries are misses and go). */
int    llm__memcache_get(struct llm__memcache *m, const char *key, size_t klen, llm__buf *val);
/* Copy key and value in; an entry larger than max_bytes is not stored
 * (and an older value under the key is dropped).  LLM_OK or NOMEM. */
int    llm__memcache_put(struct llm__memcache *m, const char *key, size_t klen,
                         const void *val, size_t len, int64_t ttl_ms);
size_t llm__memcache_count(struct llm__memcache *m);
size_t llm__memcache_bytes(struct llm__memcache *m);

/* ---- rate limiter and spend cap (ratelimit.c) --------------------------
 * Token bucket: `requests` calls and `tokens` estimated tokens per
 * interval_ms, refilled continuously; 0 for either means no limit of that
 * kind.  take() is all-or-nothing; give() returns what take() took. */
int  llm__ratelimit_new(struct llm__ratelimit **out, int64_t requests, int64_t tokens,
                        int64_t interval_ms);
void llm__ratelimit_free(struct llm__ratelimit *r);
int  llm__ratelimit_take(struct llm__ratelimit *r, int64_t tokens, int64_t now_ms);
void llm__ratelimit_give(struct llm__ratelimit *r, int64_t tokens, int64_t now_ms);

/* Spend cap per user (NULL user: the anonymous user ""). */
int  llm__spendcap_new(struct llm__spendcap **out, int64_t cap_nanos);
void llm__spendcap_free(struct llm__spendcap *s);
/* 1 and `reserve` reserved, 0 if the user is at the cap or the reservation
 * would pass it; LLM_ERR_NOMEM. */
int  llm__spendcap_reserve(struct llm__spendcap *s, const char *user, int64_t reserve);
/* Replace a reservation by the actual cost (0 to just release it). */
void llm__spendcap_settle(struct llm__spendcap *s, const char *user, int64_t reserved,
                          int64_t actual);
/* Settled and reserved nano-USD of a user (0 for an unknown user). */
void llm__spendcap_get(struct llm__spendcap *s, const char *user, int64_t *settled_out,
                       int64_t *reserved_out);

/* ---- prices (prices.c) ------------------------------------------------- */
/* The provider whose prices win where they differ ("azure": Azure's
 * gpt-4o-mini; Bedrock regional inference profiles are recognised from
 * the model id alone).  NULL: none.  Thread-safe. */
int  llm__prices_set_provider(struct llm__prices *p, const char *provider);
/* The date of the built-in table (providers.md 11), "YYYY-MM-DD". */
extern const char llm__prices_table_date[];

/* ---- shared JSON helpers (serialize.c) --------------------------------- */
/* A JSON string for UTF-8 bytes, or {"b64": ...} for bytes that are not
 * UTF-8 (so the two can never collide); NULL on NOMEM. */
json_t *llm__json_bytes(const char *s, size_t n);
/* The reverse; LLM_ERR_PROTOCOL for anything else. *out is allocated. */
int     llm__json_bytes_get(const json_t *j, char **out, size_t *n_out);

/* ---- re-entrancy (hooks.c) --------------------------------------------- */
/* Non-zero while the calling thread is inside a host hook, so that core
 * can refuse everything but accessors with LLM_ERR_REENTRANT. */
int  llm__hooks_in_callback(void);

#endif /* LLM_HOOKS_BUILTIN_H */
