/*
 * test_conformance.c - one table of unified scenarios, run through the
 * public API against every provider's fixtures (tests/providers/README.md),
 * asserting the same unified result everywhere, and asserting on what each
 * adapter put on the wire as the test server recorded it.
 */
#include "llm.h"
#include "test.h"
#include "tserver.h"

#include <jansson.h>
#include <stdlib.h>
#include <strings.h>

struct provider {
    const char *name;
    const char *suffix;        /* base URL path after the fault segment */
    const char *model;
    const char *path_part;     /* expected in the request path */
    const char *auth_header;   /* header carrying the credential */
    int overload_mid_stream;   /* status of the fixture's mid-stream error */
};

static const struct provider providers[] = {
    {"openai", "v1", "gpt-4o-mini", "/v1/chat/completions", "Authorization", LLM_ERR_SERVER},
    {"azure", "", "gpt-4o-mini", "/chat/completions", "api-key", LLM_ERR_SERVER},
    {"anthropic", "", "claude-sonnet-4-5", "/v1/messages", "x-api-key", LLM_ERR_OVERLOADED},
    {"gemini", "v1beta", "gemini-2.5-flash", "/models/gemini-2.5-flash:", "x-goog-api-key", LLM_ERR_OVERLOADED},
    {"bedrock", "", "anthropic.claude-3-5-sonnet-20240620-v1:0", "/model/", "Authorization", LLM_ERR_OVERLOADED},
};

static const struct provider *P;   /* the provider under test */
static int nonce;

static const char *weather_schema =
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}";
static const char *time_schema =
    "{\"type\":\"object\",\"properties\":{\"tz\":{\"type\":\"string\"}},\"required\":[\"tz\"]}";
static const unsigned char red_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
    0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
    0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static char faults_buf[128];
static const char *faults(const char *extra)
{
    snprintf(faults_buf, sizeof faults_buf, "%s%sc%d", extra ? extra : "", extra ? "," : "", ++nonce);
    return faults_buf;
}

static llm_client *client(const char *kase, const char *f)
{
    llm_client *c = NULL;
    CHECK_INT(llm_client_new(&c, P->name), LLM_OK);
    if (!c)
        return NULL;
    char *url = tserver_url(P->name, kase, f, P->suffix);
    CHECK_INT(llm_client_set_base_url(c, url), LLM_OK);
    free(url);
    CHECK_INT(llm_client_set_model(c, P->model), LLM_OK);
    CHECK_INT(llm_client_set_max_retries(c, 0), LLM_OK);
    if (strcmp(P->name, "bedrock") == 0) {
        CHECK_INT(llm_client_set_aws_credentials(c, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL), LLM_OK);
        CHECK_INT(llm_client_set_region(c, "us-east-1"), LLM_OK);
    } else {
        CHECK_INT(llm_client_set_api_key(c, "test-key-1234567890"), LLM_OK);
    }
    return c;
}

static llm_request *user(const char *text)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, text), LLM_OK);
    return r;
}

static void add_tools(llm_request *r)
{
    CHECK_INT(llm_request_add_tool(r, "get_weather", "Current weather for a city.", weather_schema), LLM_OK);
    CHECK_INT(llm_request_add_tool(r, "get_time", "Current time in a time zone.", time_schema), LLM_OK);
}

/* Run one call (complete or streamed) and hand back the final response. */
static int run(const char *kase, const char *f, llm_request *r, int stream, llm_response **out,
               int *deltas_out)
{
    llm_client *c = client(kase, f);
    int rc, deltas = 0;
    if (!stream) {
        rc = llm_complete(c, r, NULL, out);
    } else {
        llm_stream *s = NULL;
        rc = llm_stream_open(c, r, NULL, &s);
        const llm_event *ev;
        while (rc == LLM_OK && (rc = llm_stream_next(s, &ev)) == LLM_OK)
            if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA || llm_event_type(ev) == LLM_EVENT_TOOL_CALL_DELTA)
                deltas++;
        if (rc == LLM_DONE)
            rc = LLM_OK;
        CHECK_INT(llm_stream_take_response(s, out), LLM_OK);
        llm_stream_free(s);
    }
    if (deltas_out)
        *deltas_out = deltas;
    llm_client_free(c);
    if (rc != LLM_OK && *out && rc != llm_response_status(*out))
        printf("#   status mismatch %d vs %d\n", rc, llm_response_status(*out));
    return rc;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    b[n] = '\0';
    fclose(f);
    return b;
}

/* The request the adapter sent: method, path, credential header, and the
 * body equal to the fixture's request.json when the case pins one. */
static void check_wire(const char *kase, const char *f, const char *expect_file)
{
    char pfx[256];
    snprintf(pfx, sizeof pfx, "/t/%s/%s/%s", P->name, kase, f);
    json_t *reqs = tserver_requests(pfx);
    CHECK(json_array_size(reqs) >= 1);
    json_t *q = json_array_get(reqs, json_array_size(reqs) - 1);
    if (!q) {
        json_decref(reqs);
        return;
    }
    CHECK_STR(json_string_value(json_object_get(q, "method")), "POST");
    const char *path = json_string_value(json_object_get(q, "path"));
    CHECK(path && strstr(path, P->path_part) != NULL);
    int has_auth = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(q, "headers"), i, h) {
        const char *n = json_string_value(json_array_get(h, 0));
        if (n && strcasecmp(n, P->auth_header) == 0)
            has_auth = 1;
    }
    CHECK(has_auth);
    if (expect_file) {
        char file[512];
        snprintf(file, sizeof file, "%s/%s/%s/%s", getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers",
                 P->name, kase, expect_file);
        char *want_text = read_file(file);
        if (want_text) {
            json_t *want = json_loads(want_text, 0, NULL);
            json_t *got = json_loads(json_string_value(json_object_get(q, "body")), 0, NULL);
            CHECK(want && got && json_equal(want, got));
            if (!(want && got && json_equal(want, got))) {
                char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                printf("#   %s: body differs from %s:\n#   got  %s\n", P->name, file, g ? g : "(not JSON)");
                free(g);
            }
            json_decref(want);
            json_decref(got);
            free(want_text);
        }
    }
    json_decref(reqs);
}

TEST(single_message)
{
    for (int stream = 0; stream < 2; stream++) {
        llm_request *r = user("Say hi.");
        llm_response *resp = NULL;
        const char *f = faults(NULL);
        int deltas;
        CHECK_INT(run("text", f, r, stream, &resp, &deltas), LLM_OK);
        CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
        CHECK_INT(llm_response_finish(resp), LLM_FINISH_STOP);
        CHECK(llm_response_finish_raw(resp) != NULL);
        int64_t v;
        CHECK_INT(llm_response_usage(resp, LLM_USAGE_INPUT, &v), LLM_OK);
        CHECK_INT(v, 12);
        CHECK_INT(llm_response_usage(resp, LLM_USAGE_OUTPUT, &v), LLM_OK);
        CHECK_INT(v, 5);
        if (stream)
            CHECK(deltas >= 3);
        check_wire("text", f, stream ? NULL : "request.json");
        llm_response_free(resp);
        llm_request_free(r);
    }
}

TEST(system_and_history_with_sampling)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "You are terse."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "My name is Ada."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_ASSISTANT, "Hi Ada."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "What is my name?"), LLM_OK);
    CHECK_INT(llm_request_set_temperature(r, 0.5), LLM_OK);
    CHECK_INT(llm_request_set_top_p(r, 0.9), LLM_OK);
    CHECK_INT(llm_request_set_max_tokens(r, 100), LLM_OK);
    CHECK_INT(llm_request_add_stop(r, "END"), LLM_OK);
    llm_response *resp = NULL;
    const char *f = faults(NULL);
    CHECK_INT(run("history", f, r, 0, &resp, NULL), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "Your name is Ada.");
    check_wire("history", f, "request.json");
    llm_response_free(resp);
    llm_request_free(r);
}

TEST(tool_choices)
{
    static const int choices[] = {LLM_TOOL_CHOICE_AUTO, LLM_TOOL_CHOICE_NONE, LLM_TOOL_CHOICE_REQUIRED,
                                  LLM_TOOL_CHOICE_NAMED};
    for (size_t k = 0; k < 4; k++) {
        llm_request *r = user("Weather in Paris?");
        add_tools(r);
        CHECK_INT(llm_request_set_tool_choice(r, choices[k], choices[k] == LLM_TOOL_CHOICE_NAMED ? "get_weather" : NULL), LLM_OK);
        llm_response *resp = NULL;
        const char *f = faults(NULL);
        int rc = run("tools", f, r, 0, &resp, NULL);
        if (choices[k] == LLM_TOOL_CHOICE_NONE && strcmp(P->name, "bedrock") == 0) {
            /* Converse has no "none": drop-or-fail, failing by default. */
            CHECK_INT(rc, LLM_ERR_UNSUPPORTED);
            CHECK(strstr(llm_response_errmsg(resp), "tool") != NULL);
        } else {
            CHECK_INT(rc, LLM_OK);
            CHECK_INT((int)llm_response_tool_call_count(resp), 1);
            CHECK_STR(llm_response_tool_call_name(resp, 0), "get_weather");
            CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"city\":\"Paris\"}");
            CHECK(llm_response_tool_call_id(resp, 0) && *llm_response_tool_call_id(resp, 0));
            CHECK_INT(llm_response_finish(resp), LLM_FINISH_TOOL_CALLS);
            if (choices[k] == LLM_TOOL_CHOICE_AUTO)
                check_wire("tools", f, "request.json");
        }
        llm_response_free(resp);
        llm_request_free(r);
    }
}

static llm_response *parallel_calls(int stream)
{
    llm_request *r = user("Weather in Paris and time in Tokyo?");
    add_tools(r);
    llm_response *resp = NULL;
    CHECK_INT(run("parallel_tools", faults(stream ? "split=9" : NULL), r, stream, &resp, NULL), LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(resp), 2);
    CHECK_STR(llm_response_tool_call_name(resp, 0), "get_weather");
    CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_STR(llm_response_tool_call_name(resp, 1), "get_time");
    CHECK_STR(llm_response_tool_call_arguments(resp, 1, NULL), "{\"tz\":\"Asia/Tokyo\"}");
    CHECK_INT(llm_response_finish(resp), LLM_FINISH_TOOL_CALLS);
    CHECK(llm_response_tool_call_id(resp, 0) && llm_response_tool_call_id(resp, 1) &&
          strcmp(llm_response_tool_call_id(resp, 0), llm_response_tool_call_id(resp, 1)) != 0);
    llm_request_free(r);
    return resp;
}

TEST(parallel_tool_calls_then_results)
{
    llm_response *calls = parallel_calls(0);
    llm_request *r = user("Weather in Paris and time in Tokyo?");
    add_tools(r);
    CHECK_INT(llm_request_add_response(r, calls), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(calls, 0), NULL, "{\"temp_c\":18}", 13,
                                          LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(calls, 1), NULL, "{\"time\":\"09:00\"}", 16,
                                          LLM_TOOL_RESULT_JSON), LLM_OK);
    llm_response *resp = NULL;
    const char *f = faults(NULL);
    CHECK_INT(run("tool_results", f, r, 0, &resp, NULL), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo.");
    CHECK_INT(llm_response_finish(resp), LLM_FINISH_STOP);
    check_wire("tool_results", f, "request.json");
    llm_response_free(resp);
    llm_response_free(calls);
    llm_request_free(r);
}

TEST(streamed_parallel_tool_calls)
{
    llm_response *resp = parallel_calls(1);
    llm_response_free(resp);
}

TEST(streamed_tool_call_in_fragments)
{
    static const char *splits[] = {"split=1", "split=2", "split=13", "split=777"};
    for (size_t k = 0; k < 4; k++) {
        llm_request *r = user("Weather in Paris?");
        add_tools(r);
        llm_response *resp = NULL;
        int deltas;
        CHECK_INT(run("tools", faults(splits[k]), r, 1, &resp, &deltas), LLM_OK);
        CHECK_INT((int)llm_response_tool_call_count(resp), 1);
        CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"city\":\"Paris\"}");
        CHECK_INT(llm_response_finish(resp), LLM_FINISH_TOOL_CALLS);
        /* Gemini sends a call whole: one delta.  The others fragment. */
        CHECK(deltas >= (strcmp(P->name, "gemini") == 0 ? 1 : 5));
        llm_response_free(resp);
        llm_request_free(r);
    }
}

TEST(image_input)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_text(r, "What is this?", 13), LLM_OK);
    CHECK_INT(llm_request_append_image(r, "image/png", red_png, sizeof red_png), LLM_OK);
    llm_response *resp = NULL;
    const char *f = faults(NULL);
    CHECK_INT(run("image", f, r, 0, &resp, NULL), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "A red square.");
    check_wire("image", f, "request.json");
    llm_response_free(resp);
    llm_request_free(r);
}

TEST(structured_output)
{
    llm_request *r = user("Answer as JSON.");
    CHECK_INT(llm_request_set_response_schema(r, "answer",
        "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"}},\"required\":[\"answer\"]}"), LLM_OK);
    llm_response *resp = NULL;
    const char *f = faults(NULL);
    int rc = run("structured", f, r, 0, &resp, NULL);
    CHECK_INT(rc, LLM_OK);
    if (rc == LLM_OK) {
        CHECK_STR(llm_response_text(resp, NULL), "{\"answer\":42}");
        check_wire("structured", f, "request.json");
    } else {
        printf("#   %s: %s\n", P->name, llm_response_errmsg(resp));
    }
    llm_response_free(resp);
    llm_request_free(r);
}

TEST(unicode_both_ways)
{
    for (int stream = 0; stream < 2; stream++) {
        llm_request *r = user("Echo: \xF0\x9F\x98\x80 \xE6\xBC\xA2\xE5\xAD\x97 \"q\"\nline2");
        llm_response *resp = NULL;
        const char *f = faults(stream ? "split=3" : NULL);
        CHECK_INT(run("unicode", f, r, stream, &resp, NULL), LLM_OK);
        CHECK_STR(llm_response_text(resp, NULL),
                  "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line");
        if (!stream)
            check_wire("unicode", f, "request.json");
        llm_response_free(resp);
        llm_request_free(r);
    }
}

TEST(error_statuses)
{
    static const struct { const char *kase; int status; int http; } errs[] = {
        {"error_400", LLM_ERR_INVALID_REQUEST, 400},
        {"error_401", LLM_ERR_AUTH, 401},
        {"error_429", LLM_ERR_RATE_LIMITED, 429},
        {"error_500", LLM_ERR_SERVER, 500},
        {"error_529", LLM_ERR_OVERLOADED, 0},
    };
    for (size_t k = 0; k < sizeof errs / sizeof errs[0]; k++) {
        for (int stream = 0; stream < 2; stream++) {
            llm_request *r = user("Say hi.");
            llm_response *resp = NULL;
            int rc = run(errs[k].kase, faults(NULL), r, stream, &resp, NULL);
            CHECK_INT(rc, errs[k].status);
            if (rc != errs[k].status)
                printf("#   %s %s: %s\n", P->name, errs[k].kase, llm_response_errmsg(resp));
            CHECK_INT(llm_response_status(resp), errs[k].status);
            if (errs[k].http)
                CHECK_INT(llm_response_http_status(resp), errs[k].http);
            CHECK(llm_response_error_message(resp) != NULL);
            CHECK(strlen(llm_response_errmsg(resp)) > 0);
            CHECK_INT(llm_response_error_mid_stream(resp), 0);
            if (errs[k].status == LLM_ERR_RATE_LIMITED)
                CHECK_INT(llm_response_retry_after_ms(resp), 2000);
            CHECK_INT(llm_response_retryable(resp), llm_status_retryable(errs[k].status));
            llm_response_free(resp);
            llm_request_free(r);
        }
    }
}

TEST(error_mid_stream)
{
    llm_request *r = user("Say hi.");
    llm_response *resp = NULL;
    int deltas = 0;
    int rc = run("stream_error", faults("split=4"), r, 1, &resp, &deltas);
    CHECK_INT(rc, P->overload_mid_stream);
    CHECK_INT(llm_response_error_mid_stream(resp), 1);
    CHECK(deltas >= 1);
    CHECK(strlen(llm_response_text(resp, NULL)) > 0);
    CHECK(llm_response_error_message(resp) != NULL);
    llm_response_free(resp);
    llm_request_free(r);
}

int main(void)
{
    CHECK_INT(llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV), LLM_OK);
    if (tserver_start(getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers") < 0) {
        printf("not ok - test server did not start\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        P = &providers[i];
        if (!llm_has_feature(P->name)) {
            printf("# %s: not in this build, skipped\n", P->name);
            continue;
        }
        printf("# provider %s\n", P->name);
        RUN(single_message);
        RUN(system_and_history_with_sampling);
        RUN(tool_choices);
        RUN(parallel_tool_calls_then_results);
        RUN(streamed_parallel_tool_calls);
        RUN(streamed_tool_call_in_fragments);
        RUN(image_input);
        RUN(structured_output);
        RUN(unicode_both_ways);
        RUN(error_statuses);
        RUN(error_mid_stream);
    }
    tserver_stop();
    llm_global_cleanup();
    return test_summary();
}
