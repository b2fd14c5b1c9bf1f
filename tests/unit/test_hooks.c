/*
 * test_hooks.c - the hooks object (references, freezing, userdata
 * release), the dispatch core calls (admission, cache, retry, observe,
 * cost, log, credentials) with its fail-open and fail-closed rules, and
 * the attempt record with its OpenTelemetry attributes.
 */
#include "test.h"
#include "internal.h"
#include "hooks/builtin.h"

#define LLM_EXPERIMENTAL 1
#include "llm_experimental.h"

/* ---- helpers ------------------------------------------------------------ */

static int frees[16];
static void free_counter(void *ud)
{
    frees[(intptr_t)ud]++;
}

static llm_hooks *new_hooks(void)
{
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    return h;
}

static struct llm__usage usage_of(int64_t in, int64_t out)
{
    struct llm__usage u;
    for (size_t i = 0; i < LLM__ARRAY_LEN(u.v); i++)
        u.v[i] = -1;
    u.v[LLM_USAGE_INPUT] = in;
    u.v[LLM_USAGE_OUTPUT] = out;
    return u;
}

static struct llm_attempt record(void)
{
    struct llm_attempt a;
    memset(&a, 0, sizeof a);
    a.provider = "openai";
    a.model = "gpt-4o";
    a.number = 1;
    a.ttft_ms = -1;
    a.retry_after_ms = -1;
    a.input_estimate = 100;
    a.max_cost_nanos = -1;
    return a;
}

static int64_t fake_now;
static int64_t clock_fn(void *ud)
{
    (void)ud;
    return fake_now;
}

/* Hooks with no behaviour of their own, for the lifetime tests. */
static int nop_retry(const llm_attempt *a, int *r, int64_t *d, void *ud)
{
    (void)a; (void)r; (void)d; (void)ud;
    return 0;
}
static int nop_get(const char *k, size_t n, llm_cache_sink *s, void *ud)
{
    (void)k; (void)n; (void)s; (void)ud;
    return 0;
}
static int nop_admit(const llm_attempt *a, int32_t *c, void *ud)
{
    (void)a; (void)c; (void)ud;
    return 0;
}
static int nop_cost(const llm_attempt *a, void *ud)
{
    (void)a; (void)ud;
    return 0;
}
static void nop_observe(const llm_attempt *a, void *ud)
{
    (void)a; (void)ud;
}
static void nop_log(int l, const char *s, void *ud)
{
    (void)l; (void)s; (void)ud;
}
static int nop_creds(const llm_attempt *a, llm_credentials *c, void *ud)
{
    (void)a; (void)c; (void)ud;
    return 0;
}

/* ---- the object --------------------------------------------------------- */

TEST(needs_init)
{
    llm_hooks *h = (llm_hooks *)1;
    CHECK_INT(llm_hooks_new(&h), LLM_ERR_MISUSE);
    CHECK(h == NULL);
    CHECK_INT(llm_hooks_new(NULL), LLM_ERR_MISUSE);
}

TEST(userdata_freed_once_with_the_last_reference)
{
    memset(frees, 0, sizeof frees);
    llm_hooks *h = new_hooks();
    CHECK_INT(llm_hooks_set_retry(h, nop_retry, (void *)1, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_cache(h, nop_get, NULL, 0, (void *)2, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_admit(h, nop_admit, (void *)3, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_cost(h, nop_cost, (void *)4, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_observe(h, nop_observe, (void *)5, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_log(h, nop_log, LLM_LOG_DEBUG, (void *)6, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_credentials(h, nop_creds, (void *)7, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_use_rate_limit(h, 10, 0, 1000), LLM_OK);
    CHECK_INT(llm_hooks_use_spend_cap(h, 1000), LLM_OK);

    /* Attached (as llm_client_set_hooks does): frozen, two references. */
    CHECK(llm__hooks_ref(h) == h);
    CHECK_INT(llm_hooks_set_retry(h, nop_retry, (void *)8, free_counter), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_set_cache(h, NULL, NULL, 0, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_set_admit(h, NULL, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_set_cost(h, NULL, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_set_observe(h, NULL, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_set_log(h, NULL, 0, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_set_credentials(h, NULL, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_use_memory_cache(h, 1, 1, 1), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_use_rate_limit(h, 1, 1, 1), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_use_spend_cap(h, 1), LLM_ERR_MISUSE);
    CHECK_INT(frees[8], 0);                  /* a refused setter keeps nothing */

    llm_hooks_free(h);                       /* the host's reference */
    for (int i = 1; i <= 7; i++)
        CHECK_INT(frees[i], 0);
    llm_hooks_free(h);                       /* the client's, the last */
    for (int i = 1; i <= 7; i++)
        CHECK_INT(frees[i], 1);
    llm_hooks_free(NULL);
    CHECK(llm__hooks_ref(NULL) == NULL);
}

TEST(replacing_or_clearing_releases_at_once)
{
    memset(frees, 0, sizeof frees);
    llm_hooks *h = new_hooks();
    CHECK_INT(llm_hooks_set_observe(h, nop_observe, (void *)1, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_set_observe(h, nop_observe, (void *)2, free_counter), LLM_OK);
    CHECK_INT(frees[1], 1);
    CHECK_INT(llm_hooks_set_observe(h, NULL, (void *)3, free_counter), LLM_OK);
    CHECK_INT(frees[2], 1);
    CHECK_INT(frees[3], 1);                  /* the default keeps no userdata */
    /* A set that fails leaves the userdata with the caller. */
    CHECK_INT(llm_hooks_set_log(h, nop_log, 9, (void *)4, free_counter), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_hooks_set_cache(h, nop_get, NULL, -1, (void *)5, free_counter),
              LLM_ERR_INVALID_ARG);
    CHECK_INT(frees[4] + frees[5], 0);
    /* The built-in cache replaces a host cache and the other way round. */
    CHECK_INT(llm_hooks_set_cache(h, nop_get, NULL, 0, (void *)6, free_counter), LLM_OK);
    CHECK_INT(llm_hooks_use_memory_cache(h, 10, 0, 0), LLM_OK);
    CHECK_INT(frees[6], 1);
    CHECK(h->memcache != NULL && h->cache.fn == NULL);
    CHECK_INT(llm_hooks_set_cache(h, nop_get, NULL, 0, (void *)7, free_counter), LLM_OK);
    CHECK(h->memcache == NULL && h->cache.fn != NULL);
    CHECK_INT(llm_hooks_set_cache(h, NULL, NULL, 0, NULL, NULL), LLM_OK);
    CHECK_INT(frees[7], 1);
    CHECK_INT(llm__hooks_has_cache(h), 0);
    CHECK_INT(llm_hooks_use_memory_cache(h, 0, 0, -1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_hooks_use_rate_limit(h, -1, 0, 1000), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_hooks_use_rate_limit(h, 5, 0, 0), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_hooks_use_rate_limit(h, 0, 0, 0), LLM_OK);    /* none */
    CHECK(h->ratelimit == NULL);
    CHECK_INT(llm_hooks_use_spend_cap(h, -1), LLM_ERR_INVALID_ARG);
    llm_hooks_free(h);
    CHECK_INT(llm_hooks_set_retry(NULL, nop_retry, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_hooks_use_memory_cache(NULL, 0, 0, 0), LLM_ERR_MISUSE);
}

/* ---- admission ---------------------------------------------------------- */

static int admit_calls;
static int32_t admit_code;
static int admit_fail;
static int admit_hook(const llm_attempt *a, int32_t *code, void *ud)
{
    admit_calls++;
    CHECK_STR(llm_attempt_user(a), "ann");
    CHECK(ud == (void *)&admit_calls);
    CHECK(llm__hooks_in_callback());
    *code = admit_code;
    return admit_fail;
}

TEST(admission_order_and_outcomes)
{
    fake_now = 0;
    llm_test_set_clock(clock_fn, clock_fn, NULL, NULL);
    llm_hooks *h = new_hooks();
    CHECK_INT(llm_hooks_use_rate_limit(h, 2, 0, 1000), LLM_OK);
    CHECK_INT(llm_hooks_set_admit(h, admit_hook, &admit_calls, NULL), LLM_OK);
    struct llm_attempt a = record();
    a.user = "ann";
    int32_t code = -1;
    void *ticket = (void *)1;
    admit_calls = 0;
    admit_code = 0;
    admit_fail = 0;

    CHECK_INT(llm__hooks_admit(h, &a, &code, &ticket), LLM_OK);
    CHECK_INT(code, 0);
    CHECK(ticket == NULL);                    /* nothing to settle */
    /* The host denies: its code; the rate-limit slot is given back. */
    admit_code = 4242;
    CHECK_INT(llm__hooks_admit(h, &a, &code, &ticket), LLM_ERR_DENIED);
    CHECK_INT(code, 4242);
    /* The host fails: closed. */
    admit_code = 0;
    admit_fail = 1;
    CHECK_INT(llm__hooks_admit(h, &a, &code, &ticket), LLM_ERR_CALLBACK);
    CHECK_INT(code, 0);
    admit_fail = 0;
    CHECK_INT(admit_calls, 3);
    CHECK_INT(llm__hooks_admit(h, &a, &code, &ticket), LLM_OK);
    /* Two calls a second, both spent: the built-in refuses first and the
     * host's hook is not asked. */
    CHECK_INT(llm__hooks_admit(h, &a, &code, &ticket), LLM_ERR_DENIED);
    CHECK_INT(code, LLM_ERR_RATE_LIMITED);
    CHECK_INT(admit_calls, 4);
    CHECK(ticket == NULL);
    fake_now = 500;
    CHECK_INT(llm__hooks_admit(h, &a, &code, &ticket), LLM_OK);
    llm_hooks_free(h);

    /* No hooks: everything is admitted. */
    CHECK_INT(llm__hooks_admit(NULL, &a, &code, &ticket), LLM_OK);
    CHECK_INT(llm__hooks_admit(NULL, &a, NULL, &ticket), LLM_ERR_MISUSE);
    llm__hooks_settle(NULL, NULL, NULL);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(spend_cap_through_admission)
{
    llm_hooks *h = new_hooks();
    CHECK_INT(llm_hooks_use_spend_cap(h, 1000), LLM_OK);
    CHECK_INT(llm_hooks_use_rate_limit(h, 1, 0, 1000000), LLM_OK);
    struct llm_attempt a = record();
    a.user = "ann";
    a.max_cost_nanos = 700;
    int32_t code;
    void *t1 = NULL, *t2 = NULL;
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t1), LLM_OK);
    CHECK(t1 != NULL);
    int64_t st, rs;
    llm__spendcap_get(h->spendcap, "ann", &st, &rs);
    CHECK_INT(rs, 700);
    /* The cap refuses the second (700 + 700 > 1000), with LLM_ERR_QUOTA;
     * the rate-limit slot it took goes back, or the next call would be
     * refused by the bucket instead. */
    llm__ratelimit_give(h->ratelimit, 0, llm__now_ms());
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t2), LLM_ERR_DENIED);
    CHECK_INT(code, LLM_ERR_QUOTA);
    CHECK(t2 == NULL);

    /* The first call cost 250: the reservation is replaced. */
    struct llm_attempt fin = record();
    fin.user = "ann";
    fin.cost_known = 1;
    fin.cost_nanos = 250;
    llm__hooks_settle(h, t1, &fin);
    llm__spendcap_get(h->spendcap, "ann", &st, &rs);
    CHECK_INT(st, 250);
    CHECK_INT(rs, 0);
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t2), LLM_OK);
    /* A failure of unknown cost costs nothing. */
    fin.cost_known = 0;
    fin.status = LLM_ERR_SERVER;
    llm__hooks_settle(h, t2, &fin);
    llm__spendcap_get(h->spendcap, "ann", &st, &rs);
    CHECK_INT(st, 250);
    CHECK_INT(rs, 0);
    /* A success of unknown cost keeps its reservation as the estimate. */
    llm__ratelimit_give(h->ratelimit, 0, llm__now_ms());
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t2), LLM_OK);
    fin.status = LLM_OK;
    llm__hooks_settle(h, t2, &fin);
    llm__spendcap_get(h->spendcap, "ann", &st, &rs);
    CHECK_INT(st, 950);
    /* An unknown worst case reserves nothing but still stops a user at the
     * cap. */
    a.max_cost_nanos = -1;
    llm__ratelimit_give(h->ratelimit, 0, llm__now_ms());
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t2), LLM_OK);
    fin.cost_known = 1;
    fin.cost_nanos = 100;
    llm__hooks_settle(h, t2, &fin);
    llm__ratelimit_give(h->ratelimit, 0, llm__now_ms());
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t2), LLM_ERR_DENIED);
    CHECK_INT(code, LLM_ERR_QUOTA);
    /* Other users are untouched. */
    a.user = "bob";
    CHECK_INT(llm__hooks_admit(h, &a, &code, &t2), LLM_OK);
    llm__hooks_settle(h, t2, NULL);
    llm_hooks_free(h);
}

/* ---- cache -------------------------------------------------------------- */

struct fake_cache {
    int mode;                  /* 0 hit, 1 miss, 2 fail, 3 hit twice */
    int gets, puts;
    llm__buf stored;
    int64_t ttl;
};

static int fake_get(const char *key, size_t n, llm_cache_sink *sink, void *ud)
{
    struct fake_cache *c = ud;
    c->gets++;
    CHECK_INT(n, 4);
    CHECK(memcmp(key, "abcd", 4) == 0);
    if (c->mode == 0)
        CHECK_INT(llm_cache_sink_set(sink, c->stored.data, c->stored.len), LLM_OK);
    if (c->mode == 3) {
        CHECK_INT(llm_cache_sink_set(sink, "first", 5), LLM_OK);
        CHECK_INT(llm_cache_sink_set(sink, "2nd", 3), LLM_OK);
    }
    if (c->mode == 2)
        CHECK_INT(llm_cache_sink_set(sink, "ignored", 7), LLM_OK);
    return c->mode == 2 ? -1 : 0;
}

static int fake_put(const char *key, size_t n, const void *v, size_t len, int64_t ttl, void *ud)
{
    struct fake_cache *c = ud;
    (void)key;
    (void)n;
    c->puts++;
    c->ttl = ttl;
    if (c->mode == 2)
        return 7;
    llm__buf_reset(&c->stored);
    llm__buf_append(&c->stored, v, len);
    return 0;
}

TEST(host_cache_fails_open)
{
    struct fake_cache fc = {0};
    llm_hooks *h = new_hooks();
    CHECK_INT(llm__hooks_has_cache(h), 0);
    llm__buf val = {0};
    CHECK_INT(llm__hooks_cache_get(h, "abcd", 4, &val), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__hooks_cache_put(h, "abcd", 4, "x", 1), LLM_OK);
    CHECK_INT(llm_hooks_set_cache(h, fake_get, fake_put, 30000, &fc, NULL), LLM_OK);
    CHECK_INT(llm__hooks_has_cache(h), 1);

    CHECK_INT(llm__hooks_cache_put(h, "abcd", 4, "va\0lue", 6), LLM_OK);
    CHECK_INT(fc.ttl, 30000);
    CHECK_INT(llm__hooks_cache_get(h, "abcd", 4, &val), LLM_OK);
    CHECK_INT(val.len, 6);
    CHECK(memcmp(val.data, "va\0lue", 6) == 0);
    fc.mode = 1;
    CHECK_INT(llm__hooks_cache_get(h, "abcd", 4, &val), LLM_ERR_NOT_AVAILABLE);
    fc.mode = 3;
    CHECK_INT(llm__hooks_cache_get(h, "abcd", 4, &val), LLM_OK);
    CHECK_STR(val.data, "2nd");                /* a second set replaces */
    fc.mode = 2;
    CHECK_INT(llm__hooks_cache_get(h, "abcd", 4, &val), LLM_ERR_CALLBACK);
    CHECK_INT(val.len, 0);                     /* a failure hands out nothing */
    CHECK_INT(llm__hooks_cache_put(h, "abcd", 4, "v", 1), LLM_ERR_CALLBACK);
    CHECK_INT(fc.gets, 4);
    CHECK_INT(fc.puts, 2);

    /* A read-only cache: no put function. */
    CHECK_INT(llm_hooks_set_cache(h, fake_get, NULL, 0, &fc, NULL), LLM_OK);
    CHECK_INT(llm__hooks_cache_put(h, "abcd", 4, "v", 1), LLM_OK);
    CHECK_INT(fc.puts, 2);
    CHECK_INT(llm_cache_sink_set(NULL, "x", 1), LLM_ERR_MISUSE);
    struct llm_cache_sink sink = {&val, 0};
    CHECK_INT(llm_cache_sink_set(&sink, NULL, 3), LLM_ERR_MISUSE);
    CHECK_INT(llm_cache_sink_set(&sink, NULL, 0), LLM_OK);
    CHECK_INT(sink.set, 1);
    llm__buf_free(&val);
    llm__buf_free(&fc.stored);
    llm_hooks_free(h);
}

TEST(memory_cache_through_dispatch)
{
    fake_now = 0;
    llm_test_set_clock(clock_fn, clock_fn, NULL, NULL);
    llm_hooks *h = new_hooks();
    CHECK_INT(llm_hooks_use_memory_cache(h, 2, 0, 1000), LLM_OK);
    CHECK_INT(llm__hooks_has_cache(h), 1);
    llm__buf val = {0};
    CHECK_INT(llm__hooks_cache_get(h, "k1", 2, &val), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__hooks_cache_put(h, "k1", 2, "v1", 2), LLM_OK);
    CHECK_INT(llm__hooks_cache_get(h, "k1", 2, &val), LLM_OK);
    CHECK_STR(val.data, "v1");
    fake_now = 1000;                           /* the ttl given with the cache */
    CHECK_INT(llm__hooks_cache_get(h, "k1", 2, &val), LLM_ERR_NOT_AVAILABLE);
    llm__buf_free(&val);
    llm_hooks_free(h);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

/* ---- retry, observe, cost, log ------------------------------------------ */

static int my_retry(const llm_attempt *a, int *retry, int64_t *delay, void *ud)
{
    int *mode = ud;
    CHECK_INT(llm_attempt_number(a), 2);
    if (*mode == 1)
        return 1;
    /* Delegating to the default is allowed from inside a hook. */
    int rc = llm_retry_default(a, retry, delay, NULL);
    if (*mode == 2)
        *delay = -50;
    return rc;
}

TEST(retry_dispatch)
{
    llm_test_seed_jitter(1);
    struct llm_attempt a = record();
    a.number = 2;
    a.retryable = 1;
    a.retry_after_ms = 1234;
    int retry = 0;
    int64_t delay = 0;
    /* No hooks object or no hook: the default policy. */
    CHECK_INT(llm__hooks_retry(NULL, &a, &retry, &delay), LLM_OK);
    CHECK_INT(retry, 1);
    CHECK_INT(delay, 1234);
    llm_hooks *h = new_hooks();
    CHECK_INT(llm__hooks_retry(h, &a, &retry, &delay), LLM_OK);
    CHECK_INT(delay, 1234);
    int mode = 0;
    CHECK_INT(llm_hooks_set_retry(h, my_retry, &mode, NULL), LLM_OK);
    CHECK_INT(llm__hooks_retry(h, &a, &retry, &delay), LLM_OK);
    CHECK_INT(retry, 1);
    CHECK_INT(delay, 1234);
    mode = 2;
    CHECK_INT(llm__hooks_retry(h, &a, &retry, &delay), LLM_OK);
    CHECK_INT(delay, 0);                        /* a negative wait is no wait */
    mode = 1;
    CHECK_INT(llm__hooks_retry(h, &a, &retry, &delay), LLM_ERR_CALLBACK);
    CHECK_INT(retry, 0);
    CHECK_INT(llm__hooks_retry(h, &a, NULL, &delay), LLM_ERR_MISUSE);
    llm_hooks_free(h);
}

static int observed, costed;
static void my_observe(const llm_attempt *a, void *ud)
{
    (void)ud;
    observed++;
    CHECK(llm__hooks_in_callback());
    /* Re-entrant configuration is refused. */
    llm_hooks *other = NULL;
    CHECK_INT(llm_hooks_new(&other), LLM_OK);
    CHECK_INT(llm_hooks_set_retry(other, nop_retry, NULL, NULL), LLM_ERR_REENTRANT);
    llm_hooks_free(other);
    CHECK_STR(llm_attempt_model(a), "gpt-4o");
}
static int my_cost(const llm_attempt *a, void *ud)
{
    int64_t c;
    costed++;
    CHECK_INT(llm_attempt_cost_nanos(a, &c), LLM_OK);
    CHECK_INT(c, 777);
    return *(int *)ud;
}

TEST(observe_and_cost)
{
    llm_hooks *h = new_hooks();
    struct llm_attempt a = record();
    a.cost_known = 1;
    a.cost_nanos = 777;
    llm__hooks_observe(h, &a);                 /* nothing set: nothing happens */
    CHECK_INT(llm__hooks_cost(h, &a), LLM_OK);
    int rc = 0;
    CHECK_INT(llm_hooks_set_observe(h, my_observe, NULL, NULL), LLM_OK);
    CHECK_INT(llm_hooks_set_cost(h, my_cost, &rc, NULL), LLM_OK);
    llm__hooks_observe(h, &a);
    CHECK_INT(observed, 1);
    CHECK(!llm__hooks_in_callback());
    CHECK_INT(llm__hooks_cost(h, &a), LLM_OK);
    rc = 3;
    CHECK_INT(llm__hooks_cost(h, &a), LLM_ERR_CALLBACK);
    CHECK_INT(costed, 2);
    llm__hooks_observe(NULL, &a);
    CHECK_INT(llm__hooks_cost(NULL, &a), LLM_OK);
    llm_hooks_free(h);
}

static int log_lines;
static int last_level;
static char last_line[5000];
static void my_log(int level, const char *line, void *ud)
{
    (void)ud;
    log_lines++;
    last_level = level;
    snprintf(last_line, sizeof last_line, "%s", line);
}

TEST(log_levels_and_truncation)
{
    llm_hooks *h = new_hooks();
    CHECK_INT(llm__hooks_log_enabled(h, LLM_LOG_ERROR), 0);
    llm__hooks_log(h, LLM_LOG_ERROR, "dropped");
    CHECK_INT(llm_hooks_set_log(h, my_log, LLM_LOG_INFO, NULL, NULL), LLM_OK);
    CHECK_INT(llm__hooks_log_enabled(h, LLM_LOG_INFO), 1);
    CHECK_INT(llm__hooks_log_enabled(h, LLM_LOG_DEBUG), 0);
    CHECK_INT(llm__hooks_log_enabled(h, 0), 0);
    llm__hooks_log(h, LLM_LOG_DEBUG, "too detailed %d", 1);
    CHECK_INT(log_lines, 0);
    llm__hooks_log(h, LLM_LOG_WARN, "retry %d in %lld ms", 2, 500LL);
    CHECK_INT(log_lines, 1);
    CHECK_INT(last_level, LLM_LOG_WARN);
    CHECK_STR(last_line, "retry 2 in 500 ms");
    /* A long line is cut to the bound, on a character boundary, marked. */
    char big[6000];
    memset(big, 'a', sizeof big);
    for (size_t i = 4000; i + 1 < sizeof big; i += 2) {
        big[i] = (char)0xC3;
        big[i + 1] = (char)0xA9;             /* e-acute */
    }
    big[sizeof big - 1] = '\0';
    llm__hooks_log(h, LLM_LOG_ERROR, "%s", big);
    size_t n = strlen(last_line);
    CHECK(n < 4096 && n > 4000);
    CHECK(strcmp(last_line + n - 3, "...") == 0);
    CHECK(llm__utf8_valid(last_line, n));
    llm__hooks_log(NULL, LLM_LOG_ERROR, "x");
    llm_hooks_free(h);
}

/* ---- credentials -------------------------------------------------------- */

static int creds_mode;
static int my_creds(const llm_attempt *a, llm_credentials *c, void *ud)
{
    (void)ud;
    CHECK_STR(llm_attempt_provider(a), "openai");
    switch (creds_mode) {
    case 0:
        CHECK_INT(llm_credentials_set_api_key(c, "sk-one"), LLM_OK);
        CHECK_INT(llm_credentials_set_api_key(c, "sk-two"), LLM_OK);   /* replaces */
        CHECK_INT(llm_credentials_set_bearer_token(c, "tok"), LLM_OK);
        return 0;
    case 1:
        CHECK_INT(llm_credentials_set_aws(c, "AKID", "SECRET", NULL), LLM_OK);
        return 0;
    case 2:
        CHECK_INT(llm_credentials_set_api_key(c, "sk-leaks?"), LLM_OK);
        return -1;
    default:
        CHECK_INT(llm_credentials_set_api_key(c, "bad\r\nX-Injected: 1"), LLM_ERR_INVALID_ARG);
        CHECK_INT(llm_credentials_set_aws(c, NULL, "s", NULL), LLM_ERR_MISUSE);
        CHECK_INT(llm_credentials_set_aws(c, "a", "s", "t\n"), LLM_ERR_INVALID_ARG);
        CHECK_INT(llm_credentials_set_api_key(NULL, "x"), LLM_ERR_MISUSE);
        return 0;
    }
}

TEST(credentials_fail_closed)
{
    llm_hooks *h = new_hooks();
    struct llm_credentials c;
    memset(&c, 0, sizeof c);
    struct llm_attempt a = record();
    CHECK_INT(llm__hooks_has_credentials(h), 0);
    CHECK_INT(llm__hooks_credentials(h, &a, &c), LLM_OK);
    CHECK(c.api_key == NULL);
    CHECK_INT(llm_hooks_set_credentials(h, my_creds, NULL, NULL), LLM_OK);
    CHECK_INT(llm__hooks_has_credentials(h), 1);
    creds_mode = 0;
    CHECK_INT(llm__hooks_credentials(h, &a, &c), LLM_OK);
    CHECK_STR(c.api_key, "sk-two");
    CHECK_STR(c.bearer_token, "tok");
    /* Each attempt starts from nothing. */
    creds_mode = 1;
    CHECK_INT(llm__hooks_credentials(h, &a, &c), LLM_OK);
    CHECK(c.api_key == NULL && c.bearer_token == NULL);
    CHECK_STR(c.aws_access_key_id, "AKID");
    CHECK_STR(c.aws_secret_access_key, "SECRET");
    CHECK(c.aws_session_token == NULL);
    creds_mode = 2;
    CHECK_INT(llm__hooks_credentials(h, &a, &c), LLM_ERR_CALLBACK);
    CHECK(c.api_key == NULL && c.aws_access_key_id == NULL);
    creds_mode = 3;
    CHECK_INT(llm__hooks_credentials(h, &a, &c), LLM_OK);
    CHECK(c.api_key == NULL);
    llm__creds_clear(&c);
    llm__creds_clear(NULL);
    CHECK_INT(llm__hooks_credentials(h, &a, NULL), LLM_ERR_MISUSE);
    llm_hooks_free(h);
}

/* ---- the attempt record -------------------------------------------------- */

static const char *attr(const llm_attempt *a, const char *name)
{
    for (size_t i = 0; i < llm_attempt_attr_count(a); i++)
        if (strcmp(llm_attempt_attr_name(a, i), name) == 0)
            return llm_attempt_attr_value(a, i);
    return NULL;
}

TEST(getters_are_null_safe)
{
    int64_t v = 5;
    CHECK(llm_attempt_provider(NULL) == NULL);
    CHECK(llm_attempt_model(NULL) == NULL);
    CHECK(llm_attempt_user(NULL) == NULL);
    CHECK(llm_attempt_error_type(NULL) == NULL);
    CHECK(llm_attempt_request_id(NULL) == NULL);
    CHECK_INT(llm_attempt_number(NULL), 0);
    CHECK_INT(llm_attempt_status(NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_attempt_http_status(NULL), 0);
    CHECK_INT(llm_attempt_retryable(NULL), 0);
    CHECK_INT(llm_attempt_retry_after_ms(NULL), -1);
    CHECK_INT(llm_attempt_latency_ms(NULL), 0);
    CHECK_INT(llm_attempt_ttft_ms(NULL), -1);
    CHECK_INT(llm_attempt_cache_hit(NULL), 0);
    CHECK_INT(llm_attempt_streaming(NULL), 0);
    CHECK_INT(llm_attempt_input_estimate(NULL), -1);
    CHECK_INT(llm_attempt_max_cost_nanos(NULL), -1);
    CHECK_INT(llm_attempt_usage(NULL, LLM_USAGE_INPUT, &v), LLM_ERR_MISUSE);
    CHECK_INT(v, -1);
    v = 5;
    CHECK_INT(llm_attempt_cost_nanos(NULL, &v), LLM_ERR_MISUSE);
    CHECK_INT(v, -1);
    CHECK_INT(llm_attempt_attr_count(NULL), 0);
    CHECK(llm_attempt_attr_name(NULL, 0) == NULL);
    CHECK(llm_attempt_attr_value(NULL, 0) == NULL);
    llm__attempt_clear(NULL);
}

TEST(usage_and_cost)
{
    struct llm_attempt a = record();
    int64_t v = 0;
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_INPUT, &v), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(v, -1);
    struct llm__usage u = usage_of(1200, 300);
    u.v[LLM_USAGE_CACHE_READ] = 200;
    a.usage = &u;
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_INPUT, &v), LLM_OK);
    CHECK_INT(v, 1200);
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_CACHE_READ, &v), LLM_OK);
    CHECK_INT(v, 200);
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_TOTAL, &v), LLM_OK);
    CHECK_INT(v, 1500);
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_REASONING, &v), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(v, -1);
    CHECK_INT(llm_attempt_usage(&a, 0, &v), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_attempt_usage(&a, 99, &v), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_INPUT, NULL), LLM_ERR_MISUSE);
    u.v[LLM_USAGE_OUTPUT] = -1;
    CHECK_INT(llm_attempt_usage(&a, LLM_USAGE_TOTAL, &v), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm_attempt_cost_nanos(&a, &v), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(v, -1);
    a.cost_known = 1;
    a.cost_nanos = 0;                          /* a cache hit costs nothing */
    CHECK_INT(llm_attempt_cost_nanos(&a, &v), LLM_OK);
    CHECK_INT(v, 0);
}

TEST(otel_attributes)
{
    struct llm_attempt a = record();
    struct llm__usage u = usage_of(1200, 300);
    u.v[LLM_USAGE_REASONING] = 100;
    a.usage = &u;
    a.http_status = 200;
    a.latency_ms = 850;
    a.ttft_ms = 120;
    a.request_id = "req_123";
    a.cost_known = 1;
    a.cost_nanos = 6000;
    a.streaming = 1;
    CHECK_STR(attr(&a, "gen_ai.provider.name"), "openai");
    CHECK_STR(attr(&a, "gen_ai.system"), "openai");
    CHECK_STR(attr(&a, "gen_ai.operation.name"), "chat");
    CHECK_STR(attr(&a, "gen_ai.request.model"), "gpt-4o");
    CHECK_STR(attr(&a, "gen_ai.usage.input_tokens"), "1200");
    CHECK_STR(attr(&a, "gen_ai.usage.output_tokens"), "300");
    CHECK_STR(attr(&a, "http.response.status_code"), "200");
    CHECK_STR(attr(&a, "libllm.attempt"), "1");
    CHECK_STR(attr(&a, "libllm.latency_ms"), "850");
    CHECK_STR(attr(&a, "libllm.ttft_ms"), "120");
    CHECK_STR(attr(&a, "libllm.cost_nanos"), "6000");
    CHECK_STR(attr(&a, "libllm.request_id"), "req_123");
    CHECK_STR(attr(&a, "libllm.cache_hit"), "0");
    CHECK_STR(attr(&a, "libllm.streaming"), "1");
    CHECK_STR(attr(&a, "libllm.status"), "LLM_OK");
    CHECK_STR(attr(&a, "libllm.usage.reasoning_tokens"), "100");
    CHECK(attr(&a, "error.type") == NULL);
    CHECK(attr(&a, "libllm.usage.cache_read_tokens") == NULL);
    size_t n = llm_attempt_attr_count(&a);
    CHECK(n > 10);
    CHECK(llm_attempt_attr_name(&a, n) == NULL);
    CHECK(llm_attempt_attr_value(&a, n) == NULL);
    /* Built once: the same strings on every read. */
    CHECK(llm_attempt_attr_value(&a, 0) == llm_attempt_attr_value(&a, 0));
    llm__attempt_clear(&a);
    CHECK_INT(a.nattrs, 0);

    /* A failed Azure attempt. */
    struct llm_attempt f = record();
    f.provider = "azure";
    f.status = LLM_ERR_RATE_LIMITED;
    f.http_status = 429;
    f.retryable = 1;
    f.retry_after_ms = 2000;
    CHECK_STR(attr(&f, "gen_ai.provider.name"), "azure.ai.openai");
    CHECK_STR(attr(&f, "gen_ai.system"), "az.ai.openai");
    CHECK_STR(attr(&f, "error.type"), "LLM_ERR_RATE_LIMITED");
    CHECK_STR(attr(&f, "libllm.retryable"), "1");
    CHECK_STR(attr(&f, "libllm.retry_after_ms"), "2000");
    CHECK(attr(&f, "gen_ai.usage.input_tokens") == NULL);
    CHECK(attr(&f, "libllm.cost_nanos") == NULL);
    CHECK(attr(&f, "libllm.ttft_ms") == NULL);
    llm__attempt_clear(&f);
    /* The provider's own error type wins; other providers map too. */
    f.error_type = "rate_limit_error";
    f.provider = "anthropic";
    CHECK_STR(attr(&f, "error.type"), "rate_limit_error");
    CHECK_STR(attr(&f, "gen_ai.provider.name"), "anthropic");
    llm__attempt_clear(&f);
    f.provider = "gemini";
    CHECK_STR(attr(&f, "gen_ai.provider.name"), "gcp.gemini");
    llm__attempt_clear(&f);
    f.provider = "bedrock";
    CHECK_STR(attr(&f, "gen_ai.system"), "aws.bedrock");
    llm__attempt_clear(&f);
    f.provider = "my-gateway";
    CHECK_STR(attr(&f, "gen_ai.provider.name"), "my-gateway");
    llm__attempt_clear(&f);
}

int main(void)
{
    RUN(needs_init);
    if (llm_global_init(0) != LLM_OK)
        return 1;
    RUN(userdata_freed_once_with_the_last_reference);
    RUN(replacing_or_clearing_releases_at_once);
    RUN(admission_order_and_outcomes);
    RUN(spend_cap_through_admission);
    RUN(host_cache_fails_open);
    RUN(memory_cache_through_dispatch);
    RUN(retry_dispatch);
    RUN(observe_and_cost);
    RUN(log_levels_and_truncation);
    RUN(credentials_fail_closed);
    RUN(getters_are_null_safe);
    RUN(usage_and_cost);
    RUN(otel_attributes);
    llm_global_cleanup();
    return test_summary();
}
