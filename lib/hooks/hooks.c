/*
 * hooks.c - the hooks object: typed host callbacks with their userdata,
 * the built-in policies chosen on it, and the dispatch core calls
 * (DESIGN.md 5.6).  Cache failures fail open; admission and credentials
 * fail closed.
 */
#include "hooks/builtin.h"

#include <stdio.h>

/* A hook runs on the thread that drives the call; this marks that thread
 * so that re-entrant calls can be refused.  A counter, because a log hook
 * may fire while another hook's dispatch is on the stack. */
static _Thread_local int t_in_hook;

int llm__hooks_in_callback(void)
{
    return t_in_hook;
}

#define ENTER() (t_in_hook++)
#define LEAVE() (t_in_hook--)

/* ---- the object -------------------------------------------------------- */

static void slot_clear(struct llm__hook_slot *s)
{
    /* Drop the userdata exactly once, then forget it, so that a later
     * clear (or the final free) cannot run free_ud a second time. */
    llm_free_fn f = s->free_ud;
    void *ud = s->ud;
    s->fn = NULL;
    s->ud = NULL;
    s->free_ud = NULL;
    if (f)
        f(ud);
}

/* A setter that succeeds owns the userdata from then on and releases it
 * exactly once: when replaced, when the default is restored (at once, as a
 * NULL fn keeps nothing), or with the last reference.  A setter that fails
 * leaves it with the caller. */
static void slot_set(struct llm__hook_slot *s, void *fn, void *ud, llm_free_fn free_ud)
{
    slot_clear(s);
    if (fn) {
        s->fn = fn;
        s->ud = ud;
        s->free_ud = free_ud;
    } else if (free_ud) {
        free_ud(ud);
    }
}

int llm_hooks_new(llm_hooks **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!llm__initialised())
        return LLM_ERR_MISUSE;
    llm_hooks *h = llm__calloc(1, sizeof *h);
    if (!h)
        return LLM_ERR_NOMEM;
    atomic_init(&h->refs, 1);
    atomic_init(&h->frozen, 0);
    h->log_level = LLM_LOG_WARN;
    *out = h;
    return LLM_OK;
}

void llm_hooks_free(llm_hooks *h)
{
    if (!h)
        return;
    if (atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    slot_clear(&h->retry);
    slot_clear(&h->cache);
    slot_clear(&h->admit);
    slot_clear(&h->cost);
    slot_clear(&h->observe);
    slot_clear(&h->log);
    slot_clear(&h->creds);
    llm__memcache_free(h->memcache);
    llm__ratelimit_free(h->ratelimit);
    llm__spendcap_free(h->spendcap);
    llm__free(h);
}

llm_hooks *llm__hooks_ref(llm_hooks *h)
{
    if (!h)
        return NULL;
    atomic_fetch_add(&h->refs, 1);
    atomic_store(&h->frozen, 1);
    return h;
}

static int writable(const llm_hooks *h)
{
    return h && !atomic_load(&((llm_hooks *)h)->frozen) && !t_in_hook;
}

int llm_hooks_set_retry(llm_hooks *h, llm_retry_fn fn, void *ud, llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    slot_set(&h->retry, fn ? (void *)(uintptr_t)fn : NULL, ud, free_ud);
    return LLM_OK;
}

static void drop_cache(llm_hooks *h)
{
    slot_clear(&h->cache);
    h->cache_put = NULL;
    h->cache_ttl_ms = 0;
    llm__memcache_free(h->memcache);
    h->memcache = NULL;
}

int llm_hooks_set_cache(llm_hooks *h, llm_cache_get_fn get, llm_cache_put_fn put,
                        int64_t ttl_ms, void *ud, llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    if (get && ttl_ms < 0)
        return LLM_ERR_INVALID_ARG;
    drop_cache(h);
    if (!get) {
        if (free_ud)
            free_ud(ud);
        return LLM_OK;
    }
    slot_set(&h->cache, (void *)(uintptr_t)get, ud, free_ud);
    h->cache_put = put;
    h->cache_ttl_ms = ttl_ms;
    return LLM_OK;
}

int llm_hooks_set_admit(llm_hooks *h, llm_admit_fn fn, void *ud, llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    slot_set(&h->admit, fn ? (void *)(uintptr_t)fn : NULL, ud, free_ud);
    return LLM_OK;
}

int llm_hooks_set_cost(llm_hooks *h, llm_cost_fn fn, void *ud, llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    slot_set(&h->cost, fn ? (void *)(uintptr_t)fn : NULL, ud, free_ud);
    return LLM_OK;
}

int llm_hooks_set_observe(llm_hooks *h, llm_observe_fn fn, void *ud, llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    slot_set(&h->observe, fn ? (void *)(uintptr_t)fn : NULL, ud, free_ud);
    return LLM_OK;
}

int llm_hooks_set_log(llm_hooks *h, llm_log_fn fn, int max_level, void *ud,
                      llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    if (fn && (max_level < LLM_LOG_ERROR || max_level > LLM_LOG_DEBUG))
        return LLM_ERR_INVALID_ARG;
    slot_set(&h->log, fn ? (void *)(uintptr_t)fn : NULL, ud, free_ud);
    h->log_level = fn ? max_level : LLM_LOG_WARN;
    return LLM_OK;
}

int llm_hooks_set_credentials(llm_hooks *h, llm_credentials_fn fn, void *ud,
                              llm_free_fn free_ud)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    slot_set(&h->creds, fn ? (void *)(uintptr_t)fn : NULL, ud, free_ud);
    return LLM_OK;
}

int llm_hooks_use_memory_cache(llm_hooks *h, size_t max_entries, size_t max_bytes,
                               int64_t ttl_ms)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    if (ttl_ms < 0)
        return LLM_ERR_INVALID_ARG;
    struct llm__memcache *m;
    int rc = llm__memcache_new(&m, max_entries, max_bytes);
    if (rc)
        return rc;
    drop_cache(h);
    h->memcache = m;
    h->cache_ttl_ms = ttl_ms;
    return LLM_OK;
}

int llm_hooks_use_rate_limit(llm_hooks *h, int64_t requests, int64_t tokens,
                             int64_t interval_ms)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    if (requests < 0 || tokens < 0 || interval_ms < 0 ||
        ((requests || tokens) && interval_ms == 0))
        return LLM_ERR_INVALID_ARG;
    struct llm__ratelimit *r = NULL;
    if (requests || tokens) {
        int rc = llm__ratelimit_new(&r, requests, tokens, interval_ms);
        if (rc)
            return rc;
    }
    llm__ratelimit_free(h->ratelimit);
    h->ratelimit = r;
    return LLM_OK;
}

int llm_hooks_use_spend_cap(llm_hooks *h, int64_t cap_nanos)
{
    if (!writable(h))
        return h && t_in_hook ? LLM_ERR_REENTRANT : LLM_ERR_MISUSE;
    if (cap_nanos < 0)
        return LLM_ERR_INVALID_ARG;
    struct llm__spendcap *s;
    int rc = llm__spendcap_new(&s, cap_nanos);
    if (rc)
        return rc;
    llm__spendcap_free(h->spendcap);
    h->spendcap = s;
    return LLM_OK;
}

/* ---- admission --------------------------------------------------------- */

/* What an admitted call holds until it settles. */
struct admit_ticket {
    int64_t tokens;            /* taken from the rate limiter (not returned on success) */
    int     spend;             /* a spend-cap reservation is held */
    int64_t reserved;
    char   *user;              /* NULL: the anonymous user */
};

static void ticket_free(struct admit_ticket *t)
{
    if (!t)
        return;
    llm__free(t->user);
    llm__free(t);
}

int llm__hooks_admit(llm_hooks *h, const struct llm_attempt *a, int32_t *deny_code_out,
                     void **ticket_out)
{
    if (deny_code_out)
        *deny_code_out = 0;
    if (ticket_out)
        *ticket_out = NULL;
    if (!deny_code_out || !ticket_out)
        return LLM_ERR_MISUSE;
    if (!h)
        return LLM_OK;
    if (!a)
        return LLM_ERR_MISUSE;
    int64_t now = llm__now_ms();
    int64_t tokens = a->input_estimate > 0 ? a->input_estimate : 0;
    int took_rate = 0;
    struct admit_ticket *t = NULL;

    if (h->ratelimit) {
        if (!llm__ratelimit_take(h->ratelimit, tokens, now)) {
            *deny_code_out = LLM_ERR_RATE_LIMITED;
            return LLM_ERR_DENIED;
        }
        took_rate = 1;
    }
    if (h->spendcap) {
        t = llm__calloc(1, sizeof *t);
        if (!t || (a->user && !(t->user = llm__strdup(a->user)))) {
            ticket_free(t);
            if (took_rate)
                llm__ratelimit_give(h->ratelimit, tokens, now);
            return LLM_ERR_NOMEM;
        }
        /* An unknown worst case reserves nothing but still stops a user
         * who is already at the cap. */
        t->reserved = a->max_cost_nanos > 0 ? a->max_cost_nanos : 0;
        int ok = llm__spendcap_reserve(h->spendcap, a->user, t->reserved);
        if (ok != 1) {
            ticket_free(t);
            if (took_rate)
                llm__ratelimit_give(h->ratelimit, tokens, now);
            if (ok < 0)
                return ok;
            *deny_code_out = LLM_ERR_QUOTA;
            return LLM_ERR_DENIED;
        }
        t->spend = 1;
    }
    if (h->admit.fn) {
        llm_admit_fn fn = (llm_admit_fn)(uintptr_t)h->admit.fn;
        int32_t code = 0;
        ENTER();
        int rc = fn(a, &code, h->admit.ud);
        LEAVE();
        if (rc != 0 || code != 0) {
            if (t && t->spend)
                llm__spendcap_settle(h->spendcap, t->user, t->reserved, 0);
            ticket_free(t);
            if (took_rate)
                llm__ratelimit_give(h->ratelimit, tokens, now);
            if (rc != 0)
                return LLM_ERR_CALLBACK;
            *deny_code_out = code;
            return LLM_ERR_DENIED;
        }
    }
    *ticket_out = t;
    return LLM_OK;
}

void llm__hooks_settle(llm_hooks *h, void *ticket, const struct llm_attempt *final)
{
    struct admit_ticket *t = ticket;
    if (!t)
        return;
    if (h && h->spendcap && t->spend) {
        /* A known cost replaces the reservation.  A success of unknown cost
         * keeps the reservation as its best estimate; a failure without a
         * cost is taken to have cost nothing. */
        int64_t actual = 0;
        if (final && final->cost_known)
            actual = final->cost_nanos > 0 ? final->cost_nanos : 0;
        else if (final && final->status == LLM_OK)
            actual = t->reserved;
        llm__spendcap_settle(h->spendcap, t->user, t->reserved, actual);
    }
    ticket_free(t);
}

/* ---- cache ------------------------------------------------------------- */

int llm__hooks_has_cache(const llm_hooks *h)
{
    return h && (h->cache.fn || h->memcache);
}

int llm_cache_sink_set(llm_cache_sink *sink, const void *value, size_t len)
{
    if (!sink || !sink->val || (!value && len))
        return LLM_ERR_MISUSE;
    llm__buf_reset(sink->val);
    sink->set = 0;
    if (llm__buf_append(sink->val, value ? value : "", len) != LLM_OK ||
        llm__buf_reserve(sink->val, 0) != LLM_OK)
        return LLM_ERR_NOMEM;
    sink->set = 1;
    return LLM_OK;
}

int llm__hooks_cache_get(llm_hooks *h, const char *key, size_t key_len, llm__buf *val)
{
    if (!h || !key || !val)
        return LLM_ERR_MISUSE;
    llm__buf_reset(val);
    if (h->cache.fn) {
        llm_cache_get_fn fn = (llm_cache_get_fn)(uintptr_t)h->cache.fn;
        struct llm_cache_sink sink = {val, 0};
        ENTER();
        int rc = fn(key, key_len, &sink, h->cache.ud);
        LEAVE();
        if (rc != 0) {
            llm__buf_reset(val);
            return LLM_ERR_CALLBACK;
        }
        return sink.set ? LLM_OK : LLM_ERR_NOT_AVAILABLE;
    }
    if (h->memcache)
        return llm__memcache_get(h->memcache, key, key_len, val);
    return LLM_ERR_NOT_AVAILABLE;
}

int llm__hooks_cache_put(llm_hooks *h, const char *key, size_t key_len, const void *val,
                         size_t len)
{
    if (!h || !key || (!val && len))
        return LLM_ERR_MISUSE;
    if (h->cache.fn) {
        if (!h->cache_put)
            return LLM_OK;     /* a read-only cache */
        ENTER();
        int rc = h->cache_put(key, key_len, val ? val : "", len, h->cache_ttl_ms, h->cache.ud);
        LEAVE();
        return rc ? LLM_ERR_CALLBACK : LLM_OK;
    }
    if (h->memcache) {
        /* A store that fails for want of memory is a cache failure like
         * any other: counted, and the call goes on. */
        return llm__memcache_put(h->memcache, key, key_len, val ? val : "", len,
                                 h->cache_ttl_ms) == LLM_OK ? LLM_OK : LLM_ERR_CALLBACK;
    }
    return LLM_OK;
}

/* ---- retry, observe, cost ---------------------------------------------- */

int llm__hooks_retry(llm_hooks *h, const struct llm_attempt *a, int *retry_out,
                     int64_t *delay_ms_out)
{
    if (!retry_out || !delay_ms_out)
        return LLM_ERR_MISUSE;
    *retry_out = 0;
    *delay_ms_out = 0;
    if (h && h->retry.fn) {
        llm_retry_fn fn = (llm_retry_fn)(uintptr_t)h->retry.fn;
        ENTER();
        int rc = fn(a, retry_out, delay_ms_out, h->retry.ud);
        LEAVE();
        if (rc != 0) {
            *retry_out = 0;
            *delay_ms_out = 0;
            return LLM_ERR_CALLBACK;
        }
        *retry_out = *retry_out != 0;
        if (*delay_ms_out < 0)
            *delay_ms_out = 0;
        return LLM_OK;
    }
    return llm_retry_default(a, retry_out, delay_ms_out, NULL) == LLM_OK ? LLM_OK
                                                                          : LLM_ERR_CALLBACK;
}

void llm__hooks_observe(llm_hooks *h, const struct llm_attempt *a)
{
    if (!h || !h->observe.fn || !a)
        return;
    llm_observe_fn fn = (llm_observe_fn)(uintptr_t)h->observe.fn;
    ENTER();
    fn(a, h->observe.ud);
    LEAVE();
}

int llm__hooks_cost(llm_hooks *h, const struct llm_attempt *a)
{
    if (!h || !h->cost.fn || !a)
        return LLM_OK;
    llm_cost_fn fn = (llm_cost_fn)(uintptr_t)h->cost.fn;
    ENTER();
    int rc = fn(a, h->cost.ud);
    LEAVE();
    return rc ? LLM_ERR_CALLBACK : LLM_OK;
}

/* ---- log --------------------------------------------------------------- */

#define LOG_LINE_MAX 4096

int llm__hooks_log_enabled(const llm_hooks *h, int level)
{
    return h && h->log.fn && level >= LLM_LOG_ERROR && level <= h->log_level;
}

void llm__hooks_log(llm_hooks *h, int level, const char *fmt, ...)
{
    if (!llm__hooks_log_enabled(h, level) || !fmt)
        return;
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        /* Cut at a UTF-8 boundary so the host never sees half a character,
         * and say that the line was cut. */
        size_t end = sizeof line - 4;
        while (end > 0 && ((unsigned char)line[end] & 0xC0) == 0x80)
            end--;
        memcpy(line + end, "...", 4);
    }
    llm_log_fn fn = (llm_log_fn)(uintptr_t)h->log.fn;
    ENTER();
    fn(level, line, h->log.ud);
    LEAVE();
}

/* ---- credentials ------------------------------------------------------- */

int llm__hooks_has_credentials(const llm_hooks *h)
{
    return h && h->creds.fn;
}

void llm__creds_clear(struct llm_credentials *c)
{
    if (!c)
        return;
    llm__free_secret(c->api_key);
    llm__free_secret(c->bearer_token);
    llm__free_secret(c->aws_access_key_id);
    llm__free_secret(c->aws_secret_access_key);
    llm__free_secret(c->aws_session_token);
    memset(c, 0, sizeof *c);
}

int llm__hooks_credentials(llm_hooks *h, const struct llm_attempt *a,
                           struct llm_credentials *out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    llm__creds_clear(out);
    if (!h || !h->creds.fn)
        return LLM_OK;
    llm_credentials_fn fn = (llm_credentials_fn)(uintptr_t)h->creds.fn;
    ENTER();
    int rc = fn(a, out, h->creds.ud);
    LEAVE();
    if (rc != 0) {
        llm__creds_clear(out);
        return LLM_ERR_CALLBACK;
    }
    return LLM_OK;
}

/* A credential becomes a header value: CR, LF or NUL would split it. */
static int set_secret(char **field, const char *s)
{
    if (s && llm__has_ctl(s, strlen(s)))
        return LLM_ERR_INVALID_ARG;
    char *d = NULL;
    if (s && !(d = llm__strdup(s)))
        return LLM_ERR_NOMEM;
    llm__free_secret(*field);
    *field = d;
    return LLM_OK;
}

int llm_credentials_set_api_key(llm_credentials *c, const char *key)
{
    return c ? set_secret(&c->api_key, key) : LLM_ERR_MISUSE;
}

int llm_credentials_set_bearer_token(llm_credentials *c, const char *token)
{
    return c ? set_secret(&c->bearer_token, token) : LLM_ERR_MISUSE;
}

int llm_credentials_set_aws(llm_credentials *c, const char *access_key_id,
                            const char *secret_access_key, const char *session_token)
{
    if (!c || !access_key_id || !secret_access_key)
        return LLM_ERR_MISUSE;
    if (llm__has_ctl(access_key_id, strlen(access_key_id)) ||
        llm__has_ctl(secret_access_key, strlen(secret_access_key)) ||
        (session_token && llm__has_ctl(session_token, strlen(session_token))))
        return LLM_ERR_INVALID_ARG;
    char *id = llm__strdup(access_key_id);
    char *secret = llm__strdup(secret_access_key);
    char *token = session_token ? llm__strdup(session_token) : NULL;
    if (!id || !secret || (session_token && !token)) {
        llm__free_secret(id);
        llm__free_secret(secret);
        llm__free_secret(token);
        return LLM_ERR_NOMEM;
    }
    llm__free_secret(c->aws_access_key_id);
    llm__free_secret(c->aws_secret_access_key);
    llm__free_secret(c->aws_session_token);
    c->aws_access_key_id = id;
    c->aws_secret_access_key = secret;
    c->aws_session_token = token;
    return LLM_OK;
}
