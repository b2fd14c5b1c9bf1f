/*
 * test_calls.c - the call engine through the public API only, over
 * loopback HTTP against the test server: complete and streamed calls,
 * retries and retry-after, timeouts, faults, limits, cancellation,
 * deadline, connection reuse and what goes on the wire.
 */
#define LLM_EXPERIMENTAL 1
#include "llm.h"
#include "llm_experimental.h"
#include "test.h"
#include "tserver.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int port;
static int scale = 1;   /* LLM_TEST_TIME_SCALE: slower under valgrind */

/* A clock whose waits cost nothing: real time plus what sleeps skipped. */
static _Atomic int64_t skipped;
static int64_t real_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static int64_t fake_now(void *ud) { (void)ud; return real_mono() + skipped; }
static int64_t fake_wall(void *ud) { (void)ud; return (int64_t)time(NULL) * 1000 + skipped; }
static void fake_sleep(int64_t ms, void *ud) { (void)ud; skipped += ms; }

static llm_client *client_for(const char *kase, const char *faults)
{
    llm_client *c = NULL;
    CHECK_INT(llm_client_new(&c, "openai"), LLM_OK);
    char *url = tserver_url("openai", kase, faults, "v1");
    CHECK_INT(llm_client_set_base_url(c, url), LLM_OK);
    free(url);
    CHECK_INT(llm_client_set_api_key(c, "sk-test-secret-0123456789"), LLM_OK);
    CHECK_INT(llm_client_set_model(c, "gpt-4o-mini"), LLM_OK);
    return c;
}

static llm_request *say_hi(void)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Say hi."), LLM_OK);
    return r;
}

static char *prefix(const char *kase, const char *faults)
{
    char *p = malloc(256);
    snprintf(p, 256, "/t/openai/%s/%s", kase, faults);
    return p;
}

TEST(complete_text)
{
    llm_client *c = client_for("text", "n1");
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
    CHECK_INT(llm_response_finish(resp), LLM_FINISH_STOP);
    CHECK_STR(llm_response_provider(resp), "openai");
    CHECK_INT(llm_response_http_status(resp), 200);
    CHECK_INT(llm_response_attempts(resp), 1);
    int64_t v;
    CHECK_INT(llm_response_usage(resp, LLM_USAGE_INPUT, &v), LLM_OK);
    CHECK_INT(v, 12);
    CHECK_INT(llm_response_usage(resp, LLM_USAGE_OUTPUT, &v), LLM_OK);
    CHECK_INT(v, 5);
    CHECK(llm_response_raw(resp, NULL) != NULL);
    CHECK(llm_response_request_id(resp) != NULL);
    /* gpt-4o-mini is priced, so the call has a cost. */
    CHECK_INT(llm_response_cost_nanos(resp, &v), LLM_OK);
    CHECK(v > 0);
    llm_response_free(resp);

    /* What went on the wire. */
    char *pfx = prefix("text", "n1");
    json_t *reqs = tserver_requests(pfx);
    CHECK(json_array_size(reqs) == 1);
    json_t *q = json_array_get(reqs, 0);
    CHECK_STR(json_string_value(json_object_get(q, "method")), "POST");
    CHECK(strstr(json_string_value(json_object_get(q, "path")), "/v1/chat/completions") != NULL);
    int auth = 0, ua = 0, ctype = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(q, "headers"), i, h) {
        const char *n = json_string_value(json_array_get(h, 0));
        const char *val = json_string_value(json_array_get(h, 1));
        if (strcasecmp(n, "Authorization") == 0)
            auth = strcmp(val, "Bearer sk-test-secret-0123456789") == 0;
        if (strcasecmp(n, "User-Agent") == 0)
            ua = strncmp(val, "libllm/", 7) == 0;
        if (strcasecmp(n, "Content-Type") == 0)
            ctype = strcmp(val, "application/json") == 0;
        CHECK(strcasecmp(n, "Expect") != 0);
    }
    CHECK(auth && ua && ctype);
    json_t *body = json_loads(json_string_value(json_object_get(q, "body")), 0, NULL);
    CHECK_STR(json_string_value(json_object_get(body, "model")), "gpt-4o-mini");
    json_decref(body);
    json_decref(reqs);
    free(pfx);
    llm_request_free(r);
    llm_client_free(c);
}

static void stream_text(const char *faults)
{
    llm_client *c = client_for("text", faults);
    llm_request *r = say_hi();
    llm_stream *s = NULL;
    CHECK_INT(llm_stream_open(c, r, NULL, &s), LLM_OK);
    const llm_event *ev;
    int rc, deltas = 0, usage = 0;
    char text[256] = "";
    while ((rc = llm_stream_next(s, &ev)) == LLM_OK) {
        size_t n;
        const char *t = llm_event_text(ev, &n);
        if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA) {
            deltas++;
            strncat(text, t, n);
        }
        if (llm_event_type(ev) == LLM_EVENT_USAGE)
            usage++;
    }
    CHECK_INT(rc, LLM_DONE);
    CHECK_INT(llm_stream_next(s, &ev), LLM_DONE);
    CHECK_STR(text, "Hello from libllm.");
    CHECK(deltas >= 3);
    CHECK(usage >= 1);
    const llm_response *acc = llm_stream_response(s);
    CHECK_STR(llm_response_text(acc, NULL), "Hello from libllm.");
    CHECK(llm_response_raw(acc, NULL) == NULL);
    llm_response *fin = NULL;
    CHECK_INT(llm_stream_take_response(s, &fin), LLM_OK);
    CHECK_INT(llm_stream_take_response(s, &fin), LLM_ERR_MISUSE);
    CHECK_INT(llm_response_finish(fin), LLM_FINISH_STOP);
    int64_t v;
    CHECK_INT(llm_response_usage(fin, LLM_USAGE_OUTPUT, &v), LLM_OK);
    CHECK_INT(v, 5);
    llm_response_free(fin);
    llm_stream_free(s);
    llm_request_free(r);
    llm_client_free(c);
}

TEST(stream_text_whole) { stream_text("n2"); }
TEST(stream_text_split_bytes) { stream_text("split=3"); stream_text("split=11"); stream_text("split=12345"); }

TEST(stream_tool_call_fragments)
{
    llm_client *c = client_for("tools", "split=5");
    llm_request *r = say_hi();
    llm_stream *s = NULL;
    CHECK_INT(llm_stream_open(c, r, NULL, &s), LLM_OK);
    const llm_event *ev;
    int rc, starts = 0, ends = 0, deltas = 0;
    while ((rc = llm_stream_next(s, &ev)) == LLM_OK) {
        switch (llm_event_type(ev)) {
        case LLM_EVENT_TOOL_CALL_START:
            starts++;
            CHECK_STR(llm_event_tool_name(ev), "get_weather");
            CHECK_INT(llm_event_tool_index(ev), 0);
            break;
        case LLM_EVENT_TOOL_CALL_DELTA: deltas++; break;
        case LLM_EVENT_TOOL_CALL_END: ends++; break;
        }
    }
    CHECK_INT(rc, LLM_DONE);
    CHECK_INT(starts, 1);
    CHECK_INT(ends, 1);
    CHECK(deltas >= 5);
    const llm_response *acc = llm_stream_response(s);
    CHECK_INT((int)llm_response_tool_call_count(acc), 1);
    CHECK_STR(llm_response_tool_call_arguments(acc, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(acc), LLM_FINISH_TOOL_CALLS);
    llm_stream_free(s);
    llm_request_free(r);
    llm_client_free(c);
}

TEST(errors_keep_provider_details)
{
    llm_client *c = client_for("error_401", "n3");
    CHECK_INT(llm_client_set_max_retries(c, 2), LLM_OK);
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_AUTH);
    CHECK_INT(llm_response_status(resp), LLM_ERR_AUTH);
    CHECK_INT(llm_response_http_status(resp), 401);
    CHECK_INT(llm_response_attempts(resp), 1);   /* not retryable */
    CHECK(llm_response_error_type(resp) != NULL);
    CHECK(llm_response_error_message(resp) != NULL);
    CHECK(llm_response_raw(resp, NULL) != NULL);
    CHECK(strlen(llm_response_errmsg(resp)) > 0);
    /* The key never shows in anything handed out. */
    CHECK(strstr(llm_response_errmsg(resp), "sk-test-secret") == NULL);
    CHECK(strstr(llm_response_raw(resp, NULL), "sk-test-secret") == NULL);
    llm_response_free(resp);
    llm_request_free(r);
    llm_client_free(c);
}

TEST(retry_after_then_success)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    int64_t before = fake_now(NULL);
    llm_client *c = client_for("text", "fail=2x429,ra=2,n4");
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
    CHECK_INT(llm_response_attempts(resp), 3);
    CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
    /* Both waits honoured the server's two seconds (on the call's clock,
     * which real time also moves, slowly under valgrind). */
    int64_t waited = fake_now(NULL) - before;
    CHECK(waited >= 4000 && waited < 4000 + 2000 * scale);
    long reqs = 0, acc = 0;
    char *pfx = prefix("text", "fail=2x429,ra=2,n4");
    CHECK_INT(tserver_stats(pfx, &reqs, &acc), 0);
    CHECK_INT(reqs, 3);
    free(pfx);
    int64_t total;
    CHECK_INT(llm_client_total(c, LLM_TOTAL_ATTEMPTS, &total), LLM_OK);
    CHECK_INT(total, 3);
    llm_response_free(resp);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(retries_exhausted_keep_last_error)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    llm_client *c = client_for("text", "fail=9x500,n5");
    llm_request *r = say_hi();
    llm_call_opts *o;
    CHECK_INT(llm_call_opts_new(&o), LLM_OK);
    CHECK_INT(llm_call_opts_set_max_retries(o, 1), LLM_OK);
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, o, &resp), LLM_ERR_SERVER);
    CHECK_INT(llm_response_attempts(resp), 2);
    CHECK_INT(llm_response_http_status(resp), 500);
    CHECK_INT(llm_response_retryable(resp), 1);
    llm_response_free(resp);
    llm_call_opts_free(o);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(long_retry_after_is_not_slept)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    int64_t before = skipped;
    llm_client *c = client_for("text", "fail=1x429,ra=600,n6");
    llm_request *r = say_hi();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_ERR_RATE_LIMITED);
    CHECK_INT(llm_response_retry_after_ms(resp), 600000);
    CHECK(llm_response_retry_at_ms(resp) > 0);
    CHECK(skipped - before < 1000);
    CHECK_INT(llm_response_attempts(resp), 1);
    llm_response_free(resp);
    llm_request_free(r);
    llm_client_free(c);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

static int call_status(const char *kase, const char *faults, int streaming, llm_response **out,
                       void (*tune)(llm_client *))
{
    llm_client *c = client_for(kase, faults);
    CHECK_INT(llm_client_set_max_retries(c, 0), LLM_OK);
    if (tune)
        tune(c);
    llm_request *r = say_hi();
    int rc;
    if (!streaming) {
        rc = llm_complete(c, r, NULL, out);
    } else {
        llm_stream *s = NULL;
        rc = llm_stream_open(c, r, NULL, &s);
        const llm_event *ev;
        if (rc == LLM_OK)
            while ((rc = llm_stream_next(s, &ev)) == LLM_OK)
                ;
        if (rc == LLM_DONE)
            rc = LLM_OK;
        llm_stream_take_response(s, out);
        llm_stream_free(s);
    }
    llm_request_free(r);
    llm_client_free(c);
    return rc;
}

static void short_idle(llm_client *c) { llm_client_set_timeout_ms(c, LLM_TIMEOUT_IDLE, 200 * scale); }
static void short_first_byte(llm_client *c) { llm_client_set_timeout_ms(c, LLM_TIMEOUT_FIRST_BYTE, 150 * scale); }
static void short_attempt(llm_client *c) { llm_client_set_timeout_ms(c, LLM_TIMEOUT_ATTEMPT, 200 * scale); }
static void small_body(llm_client *c) { llm_client_set_limit(c, LLM_LIMIT_RESPONSE_BYTES, 1000); }
static void small_event(llm_client *c) { llm_client_set_limit(c, LLM_LIMIT_EVENT_BYTES, 16); }

TEST(faults_map_to_statuses)
{
    llm_response *resp = NULL;
    CHECK_INT(call_status("text", "badjson,n7", 0, &resp, NULL), LLM_ERR_PROTOCOL);
    CHECK(strlen(llm_response_errmsg(resp)) > 0);
    llm_response_free(resp);
    CHECK_INT(call_status("text", "reset=40,n8", 1, &resp, NULL), LLM_ERR_NETWORK);
    llm_response_free(resp);
    CHECK_INT(call_status("text", "cut=60,n9", 1, &resp, NULL), LLM_ERR_NETWORK);
    llm_response_free(resp);
    CHECK_INT(call_status("text", "big=100000,n10", 0, &resp, small_body), LLM_ERR_TOO_LARGE);
    CHECK(strstr(llm_response_errmsg(resp), "1000") != NULL);
    llm_response_free(resp);
    CHECK_INT(call_status("text", "n11", 1, &resp, small_event), LLM_ERR_TOO_LARGE);
    llm_response_free(resp);
}

TEST(timeouts_say_which_clock)
{
    llm_response *resp = NULL;
    CHECK_INT(call_status("text", "stall=5000,stallat=30,n12", 1, &resp, short_idle), LLM_ERR_TIMEOUT);
    CHECK_INT(llm_response_timeout_kind(resp), LLM_TIMEOUT_IDLE);
    llm_response_free(resp);
    CHECK_INT(call_status("text", "delay=3000,n13", 0, &resp, short_first_byte), LLM_ERR_TIMEOUT);
    CHECK_INT(llm_response_timeout_kind(resp), LLM_TIMEOUT_FIRST_BYTE);
    llm_response_free(resp);
    CHECK_INT(call_status("text", "delay=3000,n14", 0, &resp, short_attempt), LLM_ERR_TIMEOUT);
    CHECK_INT(llm_response_timeout_kind(resp), LLM_TIMEOUT_ATTEMPT);
    llm_response_free(resp);
}

TEST(deadline_spans_retries)
{
    llm_client *c = client_for("text", "fail=50x503,n15");
    CHECK_INT(llm_client_set_max_retries(c, 50), LLM_OK);
    llm_request *r = say_hi();
    llm_call_opts *o;
    CHECK_INT(llm_call_opts_new(&o), LLM_OK);
    CHECK_INT(llm_call_opts_set_deadline_ms(o, 300 * scale), LLM_OK);
    int64_t t0 = real_mono();
    llm_response *resp = NULL;
    int rc = llm_complete(c, r, o, &resp);
    int64_t took = real_mono() - t0;
    CHECK(rc == LLM_ERR_TIMEOUT || rc == LLM_ERR_OVERLOADED);
    CHECK(took < 1500 * scale);
    CHECK(llm_response_attempts(resp) < 50);
    llm_response_free(resp);
    llm_call_opts_free(o);
    llm_request_free(r);
    llm_client_free(c);
}

static void *cancel_later(void *arg)
{
    usleep(100000);
    llm_cancel_trigger(arg);
    return NULL;
}

TEST(cancel_from_another_thread)
{
    llm_client *c = client_for("text", "stall=-1,n16");
    llm_request *r = say_hi();
    llm_cancel *t;
    CHECK_INT(llm_cancel_new(&t), LLM_OK);
    llm_call_opts *o;
    CHECK_INT(llm_call_opts_new(&o), LLM_OK);
    CHECK_INT(llm_call_opts_set_cancel(o, t), LLM_OK);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, t);
    int64_t t0 = real_mono();
    llm_response *resp = NULL;
    CHECK_INT(llm_complete(c, r, o, &resp), LLM_ERR_CANCELLED);
    CHECK(real_mono() - t0 < 2000 * scale);
    pthread_join(th, NULL);
    CHECK_INT(llm_cancel_triggered(t), 1);
    llm_response_free(resp);
    llm_call_opts_free(o);
    llm_cancel_free(t);
    llm_request_free(r);
    llm_client_free(c);
}

TEST(connection_reused)
{
    llm_client *c = client_for("text", "n17");
    llm_request *r = say_hi();
    for (int i = 0; i < 50; i++) {
        llm_response *resp = NULL;
        CHECK_INT(llm_complete(c, r, NULL, &resp), LLM_OK);
        llm_response_free(resp);
    }
    long reqs = 0, acc = 0;
    char *pfx = prefix("text", "n17");
    CHECK_INT(tserver_stats(pfx, &reqs, &acc), 0);
    CHECK_INT(reqs, 50);
    CHECK_INT(acc, 1);
    free(pfx);
    llm_request_free(r);
    llm_client_free(c);
}

TEST(misuse_is_reported)
{
    llm_response *resp = (llm_response *)1;
    CHECK_INT(llm_complete(NULL, NULL, NULL, &resp), LLM_ERR_MISUSE);
    CHECK(resp == NULL);
    CHECK_INT(llm_complete(NULL, NULL, NULL, NULL), LLM_ERR_MISUSE);
    llm_client *c = client_for("text", "n18");
    llm_request *empty;
    CHECK_INT(llm_request_new(&empty), LLM_OK);
    CHECK_INT(llm_complete(c, empty, NULL, &resp), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "empty") != NULL);
    llm_response_free(resp);
    /* After the first call the configuration is frozen. */
    CHECK_INT(llm_client_set_model(c, "x"), LLM_ERR_MISUSE);
    CHECK(strstr(llm_client_errmsg(c), "frozen") != NULL);
    llm_request_free(empty);
    llm_client_free(c);
    llm_client *bad;
    CHECK_INT(llm_client_new(&bad, "nope"), LLM_ERR_NOT_FOUND);
    CHECK_INT(llm_client_new(&bad, NULL), LLM_ERR_MISUSE);
}

int main(void)
{
    const char *s = getenv("LLM_TEST_TIME_SCALE");
    if (s && atoi(s) > 0)
        scale = atoi(s);
    CHECK_INT(llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV), LLM_OK);
    port = tserver_start(getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers");
    if (port < 0) {
        printf("not ok - test server did not start\n");
        return 1;
    }
    RUN(complete_text);
    RUN(stream_text_whole);
    RUN(stream_text_split_bytes);
    RUN(stream_tool_call_fragments);
    RUN(errors_keep_provider_details);
    RUN(retry_after_then_success);
    RUN(retries_exhausted_keep_last_error);
    RUN(long_retry_after_is_not_slept);
    RUN(faults_map_to_statuses);
    RUN(timeouts_say_which_clock);
    RUN(deadline_spans_retries);
    RUN(cancel_from_another_thread);
    RUN(connection_reused);
    RUN(misuse_is_reported);
    tserver_stop();
    llm_global_cleanup();
    return test_summary();
}
