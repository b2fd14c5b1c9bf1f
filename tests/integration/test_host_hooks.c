/*
 * test_hooks.c - the host hooks through the public API over loopback, with
 * faults injected by the test server: retry storms and the retry budget,
 * fallback from a dead primary, the circuit breaker's open -> half-open ->
 * closed, the memory cache (hit, miss, expiry; complete and streamed),
 * admission (a host hook, the rate limiter), cost and credentials hooks,
 * and proof that no secret reaches a hook, a log line, an error or a key.
 */
#define LLM_EXPERIMENTAL 1
#include "llm.h"
#include "llm_experimental.h"
#include "test.h"
#include "tserver.h"

#include <stdlib.h>
#include <time.h>

static const char *SECRET = "sk-hook-secret-9f8e7d6c5b4a";

static _Atomic int64_t skipped;
static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static int64_t fake_now(void *ud) { (void)ud; return mono() + skipped; }
static int64_t fake_wall(void *ud) { (void)ud; return (int64_t)time(NULL) * 1000 + skipped; }
static void fake_sleep(int64_t ms, void *ud) { (void)ud; skipped += ms; }

static int nonce;
static char fbuf[128];
static const char *faults(const char *f)
{
    snprintf(fbuf, sizeof fbuf, "%s%sh%d", f ? f : "", f ? "," : "", ++nonce);
    return fbuf;
}

static llm_client *openai(const char *kase, const char *f, llm_hooks *h)
{
    llm_client *c = NULL;
    CHECK_INT(llm_client_new(&c, "openai"), LLM_OK);
    char *url = tserver_url("openai", kase, f, "v1");
    CHECK_INT(llm_client_set_base_url(c, url), LLM_OK);
    free(url);
    CHECK_INT(llm_client_set_api_key(c, SECRET), LLM_OK);
    CHECK_INT(llm_client_set_model(c, "gpt-4o-mini"), LLM_OK);
    if (h)
        CHECK_INT(llm_client_set_hooks(c, h), LLM_OK);
    return c;
}

static llm_request *say_hi(void)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Say hi."), LLM_OK);
    return r;
}

static long server_requests(const char *kase, const char *f)
{
    char pfx[200];
    snprintf(pfx, sizeof pfx, "/t/openai/%s/%s", kase, f);
    long reqs = -1, acc = -1;
    tserver_stats(pfx, &reqs, &acc);
    return reqs;
}

/* ---- everything a hook or log saw, searched for the secret afterwards -- */

static char seen[1 << 16];
static size_t seen_len;
static void saw(const char *s)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (seen_len + n + 1 < sizeof seen) {
        memcpy(seen + seen_len, s, n);
        seen_len += n;
        seen[seen_len++] = '\n';
    }
}

static void log_fn(int level, const char *line, void *ud) { (void)level; (void)ud; saw(line); }

static int observed;
static void observe_fn(const llm_attempt *a, void *ud)
{
    (void)ud;
    observed++;
    saw(llm_attempt_provider(a));
    saw(llm_attempt_model(a));
    saw(llm_attempt_error_type(a));
    saw(llm_attempt_request_id(a));
    for (size_t i = 0; i < llm_attempt_attr_count(a); i++) {
        saw(llm_attempt_attr_name(a, i));
        saw(llm_attempt_attr_value(a, i));
    }
}

static int cache_get_fn(const char *key, size_t n, llm_cache_sink *sink, void *ud)
{
    (void)sink;
    (void)ud;
    char k[128];
    snprintf(k, sizeof k, "%.*s", (int)n, key);
    saw(k);
    return 0;   /* always a miss */
}

static int cache_put_fn(const char *key, size_t n, const void *v, size_t len, int64_t ttl, void *ud)
{
    (void)ttl;
    (void)ud;
    char k[128];
    snprintf(k, sizeof k, "%.*s", (int)n, key);
    saw(k);
    if (memmem(v, len, SECRET, strlen(SECRET)))
        saw(SECRET);
    return 0;
}

TEST(retry_storm_and_budget)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    /* A storm: every attempt 429 with retry-after; each call gives up after
     * its retries, having waited what the server asked. */
    llm_client *c = openai("text", faults("fail=1000x429,ra=1"), NULL);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    int64_t t0 = fake_now(NULL);
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_RATE_LIMITED);
    CHECK_INT(llm_response_attempts(resp), 3);
    CHECK(fake_now(NULL) - t0 >= 2000);
    llm_response_free(resp);
    /* The client-wide budget (500 tokens, 5 per retry) ends the storm. */
    int budget_hit = 0;
    for (int i = 0; i < 60 && !budget_hit; i++) {
        CHECK(llm_complete(c, r, NULL, &resp) != LLM_OK);
        budget_hit = llm_response_status(resp) == LLM_ERR_RETRY_BUDGET;
        if (budget_hit)
            CHECK(llm_response_http_status(resp) == 429);
        llm_response_free(resp);
    }
    CHECK(budget_hit);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(overloaded_529_is_retried)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    const char *f = faults("fail=2x529");
    char fcopy[128];
    snprintf(fcopy, sizeof fcopy, "%s", f);
    llm_client *c = openai("text", fcopy, NULL);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_attempts(resp), 3);
    CHECK_INT(server_requests("text", fcopy), 3);
    llm_response_free(resp);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(dead_primary_falls_back)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    llm_client *primary = NULL, *backup = NULL;
    CHECK_INT(llm_client_new(&primary, "openai"), LLM_OK);
    /* Nothing listens on port 9 of loopback: connection refused. */
    CHECK_INT(llm_client_set_base_url(primary, "http://127.0.0.1:9/v1"), LLM_OK);
    CHECK_INT(llm_client_set_api_key(primary, SECRET), LLM_OK);
    CHECK_INT(llm_client_set_model(primary, "gpt-4o-mini"), LLM_OK);
    CHECK_INT(llm_client_new(&backup, "anthropic"), LLM_OK);
    char *url = tserver_url("anthropic", "text", faults(NULL), "");
    CHECK_INT(llm_client_set_base_url(backup, url), LLM_OK);
    free(url);
    CHECK_INT(llm_client_set_api_key(backup, "ant-key-123456"), LLM_OK);
    CHECK_INT(llm_client_set_model(backup, "claude-sonnet-4-5"), LLM_OK);
    CHECK_INT(llm_client_set_fallback(primary, backup), LLM_OK);
    CHECK_INT(llm_client_set_fallback(backup, primary), LLM_ERR_INVALID_ARG);   /* a cycle */
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(primary, r, NULL, &resp), LLM_OK);
    CHECK_STR(llm_response_provider(resp), "anthropic");
    CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
    CHECK_INT(llm_response_attempts(resp), 4);   /* 3 on the primary, 1 on the backup */
    llm_response_free(resp);
    llm_request_free(r);
    llm_client_free(backup);   /* the primary keeps it alive */
    llm_client_free(primary);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(breaker_open_half_open_closed)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    const char *f = faults("fail=2x500");
    char fcopy[128];
    snprintf(fcopy, sizeof fcopy, "%s", f);
    llm_client *c = openai("text", fcopy, NULL);
    CHECK_INT(llm_client_set_max_retries(c, 0), LLM_OK);
    CHECK_INT(llm_client_set_breaker(c, 2, 5000), LLM_OK);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_client_breaker_state(c), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_SERVER);
        llm_response_free(resp);
    }
    CHECK_INT(llm_client_breaker_state(c), 1);
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_CIRCUIT_OPEN);
    llm_response_free(resp);
    CHECK_INT(server_requests("text", fcopy), 2);   /* the open breaker sent nothing */
    skipped += 5001;
    CHECK_INT(llm_client_breaker_state(c), 1);
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);   /* the probe succeeds */
    llm_response_free(resp);
    CHECK_INT(llm_client_breaker_state(c), 0);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

static void stream_all(llm_client *c, llm_request *r, int *deltas, llm_response **out)
{
    llm_stream *s = NULL;
    *deltas = 0;
    int rc = llm_stream_open(c, r, NULL, &s);
    const llm_event *ev;
    while (rc == LLM_OK && (rc = llm_stream_next(s, &ev)) == LLM_OK)
        if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA)
            (*deltas)++;
    CHECK_INT(rc, LLM_DONE);
    CHECK_INT(llm_stream_take_response(s, out), LLM_OK);
    llm_stream_free(s);
}

TEST(memory_cache_hit_miss_expiry)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_use_memory_cache(h, 100, 1 << 20, 60000), LLM_OK);
    const char *f = faults(NULL);
    char fcopy[128];
    snprintf(fcopy, sizeof fcopy, "%s", f);
    llm_client *c = openai("text", fcopy, h);
    llm_hooks_free(h);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_cache_hit(resp), 0);
    llm_response_free(resp);
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_cache_hit(resp), 1);
    CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
    int64_t cost = -1;
    CHECK_INT(llm_response_cost_nanos(resp, &cost), LLM_OK);
    CHECK_INT(cost, 0);
    llm_response_free(resp);
    CHECK_INT(server_requests("text", fcopy), 1);
    /* A streamed call hits the same entry and replays it as deltas. */
    int deltas;
    stream_all(c, r, &deltas, &resp);
    CHECK_INT(llm_response_cache_hit(resp), 1);
    CHECK_INT(deltas, 1);
    CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
    llm_response_free(resp);
    CHECK_INT(server_requests("text", fcopy), 1);
    /* A different request is a miss. */
    llm_request *r2 = say_hi();
    CHECK_INT(llm_request_set_temperature(r2, 0.3), LLM_OK);
    CHECK_INT(llm_complete(c, r2, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_cache_hit(resp), 0);
    llm_response_free(resp);
    /* Past the TTL the entry is gone. */
    skipped += 60001;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_cache_hit(resp), 0);
    llm_response_free(resp);
    CHECK_INT(server_requests("text", fcopy), 3);
    int64_t hits;
    CHECK_INT(llm_client_total(c, LLM_TOTAL_CACHE_HITS, &hits), LLM_OK);
    CHECK_INT(hits, 2);
    llm_request_free(r2);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(streamed_answers_are_cached_too)
{
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_use_memory_cache(h, 10, 0, 0), LLM_OK);
    const char *f = faults("split=5");
    char fcopy[128];
    snprintf(fcopy, sizeof fcopy, "%s", f);
    llm_client *c = openai("tools", fcopy, h);
    llm_hooks_free(h);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    int deltas;
    stream_all(c, r, &deltas, &resp);
    CHECK_INT(llm_response_cache_hit(resp), 0);
    llm_response_free(resp);
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_cache_hit(resp), 1);
    CHECK_INT((int)llm_response_tool_call_count(resp), 1);
    CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(resp), LLM_FINISH_TOOL_CALLS);
    llm_response_free(resp);
    CHECK_INT(server_requests("tools", fcopy), 1);
    llm_request_free(r);
    llm_client_free(c);
}

static int deny_all(const llm_attempt *a, int32_t *deny, void *ud)
{
    (void)ud;
    CHECK(llm_attempt_input_estimate(a) > 0);
    *deny = 42;
    return 0;
}

TEST(admission_denies)
{
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_set_admit(h, deny_all, NULL, NULL), LLM_OK);
    const char *f = faults(NULL);
    char fcopy[128];
    snprintf(fcopy, sizeof fcopy, "%s", f);
    llm_client *c = openai("text", fcopy, h);
    CHECK_INT(llm_hooks_set_admit(h, NULL, NULL, NULL), LLM_ERR_MISUSE);   /* frozen */
    llm_hooks_free(h);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_DENIED);
    CHECK_INT(llm_response_deny_code(resp), 42);
    llm_response_free(resp);
    llm_stream *s = NULL;
    CHECK_INT(llm_stream_open(c, r, NULL, &s), LLM_ERR_DENIED);
    const llm_event *ev;
    CHECK_INT(llm_stream_next(s, &ev), LLM_ERR_DENIED);
    llm_stream_free(s);
    CHECK_INT(server_requests("text", fcopy), 0);
    llm_request_free(r);
    llm_client_free(c);

    /* The built-in limiter: two requests per minute. */
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_use_rate_limit(h, 2, 0, 60000), LLM_OK);
    c = openai("text", faults(NULL), h);
    llm_hooks_free(h);
    r = say_hi();
    for (int i = 0; i < 3; i++) {
        int rc = llm_complete(c, r, NULL, &resp);
        CHECK_INT(rc, i < 2 ? LLM_OK : LLM_ERR_DENIED);
        llm_response_free(resp);
    }
    llm_request_free(r);
    llm_client_free(c);
}

static int64_t cost_seen = -1;
static int cost_fn(const llm_attempt *a, void *ud)
{
    (void)ud;
    llm_attempt_cost_nanos(a, &cost_seen);
    return 0;
}

static int rotations;
static int creds_fn(const llm_attempt *a, llm_credentials *cr, void *ud)
{
    (void)a;
    (void)ud;
    rotations++;
    return llm_credentials_set_api_key(cr, rotations % 2 ? "sk-rotated-one-111" : "sk-rotated-two-222");
}

TEST(cost_and_credentials_hooks)
{
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_set_cost(h, cost_fn, NULL, NULL), LLM_OK);
    CHECK_INT(llm_hooks_set_credentials(h, creds_fn, NULL, NULL), LLM_OK);
    const char *f = faults(NULL);
    char fcopy[128];
    snprintf(fcopy, sizeof fcopy, "%s", f);
    llm_client *c = openai("text", fcopy, h);
    llm_hooks_free(h);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    int64_t cost;
    CHECK_INT(llm_response_cost_nanos(resp, &cost), LLM_OK);
    CHECK_INT(cost_seen, cost);
    llm_response_free(resp);
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    llm_response_free(resp);
    int64_t total;
    CHECK_INT(llm_client_total(c, LLM_TOTAL_COST_NANOS, &total), LLM_OK);
    CHECK_INT(total, 2 * cost);
    char pfx[200];
    snprintf(pfx, sizeof pfx, "/t/openai/text/%s", fcopy);
    json_t *reqs = tserver_requests(pfx);
    CHECK_INT((int)json_array_size(reqs), 2);
    char *dump = json_dumps(reqs, 0);
    CHECK(dump && strstr(dump, "Bearer sk-rotated-one-111") && strstr(dump, "Bearer sk-rotated-two-222"));
    CHECK(dump && !strstr(dump, SECRET));
    free(dump);
    json_decref(reqs);
    llm_request_free(r);
    llm_client_free(c);
    /* Caching with a credentials hook needs a namespace. */
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_set_credentials(h, creds_fn, NULL, NULL), LLM_OK);
    CHECK_INT(llm_hooks_use_memory_cache(h, 10, 0, 0), LLM_OK);
    c = openai("text", faults(NULL), h);
    llm_hooks_free(h);
    r = say_hi();
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_MISUSE);
    CHECK(strstr(llm_response_errmsg(resp), "namespace") != NULL);
    llm_response_free(resp);
    llm_request_free(r);
    llm_client_free(c);
    llm_hooks_free(NULL);
}

TEST(no_secret_reaches_hooks_logs_errors_or_keys)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_set_log(h, log_fn, LLM_LOG_DEBUG, NULL, NULL), LLM_OK);
    CHECK_INT(llm_hooks_set_observe(h, observe_fn, NULL, NULL), LLM_OK);
    CHECK_INT(llm_hooks_set_cache(h, cache_get_fn, cache_put_fn, 0, NULL, NULL), LLM_OK);
    /* The injected 401 quotes the credential back, as OpenAI's "Incorrect
     * API key provided" message does. */
    static const char *const kases[][2] = {{"text", NULL}, {"error_401", NULL},
                                           {"text", "status=401,echoauth"},
                                           {"text", "fail=1x500,echoauth"}};
    for (size_t k = 0; k < 4; k++) {
        llm_client *c = openai(kases[k][0], faults(kases[k][1]), h);
        llm_request *r = say_hi();
        llm_response *resp = NULL;
        llm_complete(c, r, NULL, &resp);
        saw(llm_response_errmsg(resp));
        saw(llm_response_error_message(resp));
        const char *raw = llm_response_raw(resp, NULL);
        saw(raw);
        if (k == 2)
            CHECK(raw && strstr(raw, "Bearer [REDACTED]") != NULL);
        llm_response_free(resp);
        llm_request_free(r);
        llm_client_free(c);
    }
    llm_hooks_free(h);
    CHECK(observed >= 3);
    CHECK(seen_len > 0);
    CHECK(memmem(seen, seen_len, SECRET, strlen(SECRET)) == NULL);
    CHECK(memmem(seen, seen_len, "[REDACTED]", 10) != NULL);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

int main(void)
{
    CHECK_INT(llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV), LLM_OK);
    if (tserver_start(getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers") < 0) {
        printf("not ok - test server did not start\n");
        return 1;
    }
    RUN(retry_storm_and_budget);
    RUN(overloaded_529_is_retried);
    RUN(dead_primary_falls_back);
    RUN(breaker_open_half_open_closed);
    RUN(memory_cache_hit_miss_expiry);
    RUN(streamed_answers_are_cached_too);
    RUN(admission_denies);
    RUN(cost_and_credentials_hooks);
    RUN(no_secret_reaches_hooks_logs_errors_or_keys);
    tserver_stop();
    llm_global_cleanup();
    return test_summary();
}
