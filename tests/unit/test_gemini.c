/*
 * test_gemini.c - the Gemini adapter without I/O: request bodies against
 * tests/providers/gemini/<case>/request.json, replies and streams from the
 * fixtures (fed through the SSE parser in 1-byte, 7-byte and whole
 * chunks), error mapping, replay
 * of thought signatures and function-call ids, hostile replies, and every
 * allocation failing in turn.
 */
#include "test.h"
#include "fixture.h"
#include "internal.h"
#include "providers/provider.h"

#include <stdio.h>
#include <stdlib.h>

#define MODEL "gemini-2.5-flash"

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

/* ---- an allocator that fails on demand --------------------------------- */

static long fail_at = -1;     /* allocation number that fails; -1 never */
static long nallocs;

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    if (fail_at >= 0 && nallocs++ == fail_at)
        return NULL;
    return malloc(n);
}

static void *t_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (fail_at >= 0 && nallocs++ == fail_at)
        return NULL;
    return realloc(p, n);
}

static void t_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static void *j_malloc(size_t n)
{
    return llm__malloc(n);
}

static void j_free(void *p)
{
    llm__free(p);
}

static void arm(long n)
{
    nallocs = 0;
    fail_at = n;
}

/* ---- fixtures ---------------------------------------------------------- */

static char *slurp(const char *kase, const char *file, size_t *len_out)
{
    return fixture_slurp("gemini", kase, file, len_out);
}

static int load_reply(const char *kase, const char *file, struct fixture *fx)
{
    return fixture_load("gemini", kase, file, fx);
}

static void fixture_free(struct fixture *fx)
{
    fixture_release(fx);
}

/* ---- calls ------------------------------------------------------------- */

struct ctx {
    llm_response *resp;
    struct llm__call call;
    struct llm__http_req http;
};

static void ctx_init(struct ctx *c, const llm_request *req)
{
    memset(c, 0, sizeof *c);
    c->resp = llm__response_new();
    llm__resp_set_str(&c->resp->provider, "gemini");
    llm__resp_set_str(&c->resp->meta_model, MODEL);
    c->call.ops = &llm__gemini_ops;
    c->call.provider = "gemini";
    c->call.req = req;
    c->call.model = MODEL;
    c->call.api_key = "test-key-123";
    c->call.resp = c->resp;
}

static void ctx_free(struct ctx *c)
{
    llm__http_req_free(&c->http);
    llm__response_destroy(c->resp);
}

static int build(struct ctx *c)
{
    return llm__gemini_ops.build(&c->call, &c->http);
}

static int body_equals(const struct llm__http_req *h, const char *kase, const char *file)
{
    char *want_text = slurp(kase, file, NULL);
    json_t *want = want_text ? json_loads(want_text, 0, NULL) : NULL;
    json_t *got = h->body.data ? json_loads(h->body.data, 0, NULL) : NULL;
    int ok = want && got && json_equal(want, got);
    if (!ok) {
        char *w = want ? json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        printf("#   %s/%s differs\n#   want %s\n#   got  %s\n", kase, file, w ? w : "(none)",
               g ? g : (h->body.data ? h->body.data : "(none)"));
        free(w);
        free(g);
    }
    json_decref(want);
    json_decref(got);
    free(want_text);
    return ok;
}

/* The body as JSON, for assertions on one member. */
static json_t *body_json(const struct ctx *c)
{
    return c->http.body.data ? json_loads(c->http.body.data, 0, NULL) : NULL;
}

/* ---- the standard requests (tests/providers/README.md) ----------------- */

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

static llm_request *req_history(void)
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
    return r;
}

static llm_request *req_tool_results(void)
{
    llm_request *r = user("Weather in Paris and time in Tokyo?");
    add_tools(r);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "call_0", "get_weather", "{\"city\":\"Paris\"}", 16), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "call_1", "get_time", "{\"tz\":\"Asia/Tokyo\"}", 19), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "call_0", NULL, "{\"temp_c\":18}", 13, LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "call_1", NULL, "{\"time\":\"09:00\"}", 16, LLM_TOOL_RESULT_JSON), LLM_OK);
    return r;
}

static llm_request *req_image(void)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_text(r, "What is this?", 13), LLM_OK);
    CHECK_INT(llm_request_append_image(r, "image/png", red_png, sizeof red_png), LLM_OK);
    return r;
}

static llm_request *req_structured(void)
{
    llm_request *r = user("Answer as JSON.");
    CHECK_INT(llm_request_set_response_schema(r, "answer",
        "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"}},\"required\":[\"answer\"]}"), LLM_OK);
    return r;
}

static llm_request *req_for(const char *kase)
{
    if (strcmp(kase, "history") == 0)
        return req_history();
    if (strcmp(kase, "tools") == 0) {
        llm_request *r = user("Weather in Paris?");
        add_tools(r);
        return r;
    }
    if (strcmp(kase, "parallel_tools") == 0) {
        llm_request *r = user("Weather in Paris and time in Tokyo?");
        add_tools(r);
        return r;
    }
    if (strcmp(kase, "tool_results") == 0)
        return req_tool_results();
    if (strcmp(kase, "image") == 0)
        return req_image();
    if (strcmp(kase, "structured") == 0)
        return req_structured();
    if (strcmp(kase, "unicode") == 0)
        return user("Echo: \xF0\x9F\x98\x80 \xE6\xBC\xA2\xE5\xAD\x97 \"q\"\nline2");
    return user("Say hi.");
}

/* ---- replies and streams ------------------------------------------------ */

/* What core does with a reply: a 2xx goes to parse, anything else to
 * map_error after the retry headers were read. */
static int reply_into(llm_response *resp, struct llm__call *call, const struct fixture *fx)
{
    struct llm__http_res res = {fx->status, fx->h, fx->nh, fx->body, fx->body_len};
    resp->http_status = fx->status;
    if (fx->status >= 200 && fx->status < 300)
        return llm__gemini_ops.parse(call, &res, resp);
    const char *ra = llm__http_res_header(&res, "retry-after");
    resp->retry_after_ms = ra ? atoi(ra) * 1000 : -1;
    resp->retryable = llm__http_retryable(fx->status);
    return llm__gemini_ops.map_error(call, &res, resp);
}

static int parse_case(const char *kase, struct ctx *c, llm_request **req_out)
{
    struct fixture fx;
    *req_out = req_for(kase);
    ctx_init(c, *req_out);
    if (load_reply(kase, "response", &fx) != 0) {
        CHECK(!"fixture loads");
        fixture_free(&fx);
        return LLM_ERR_PROTOCOL;
    }
    int rc = reply_into(c->resp, &c->call, &fx);
    fixture_free(&fx);
    return rc;
}

static int on_frame(void *ud, const struct llm__frame *f)
{
    return llm__gemini_ops.stream_event(ud, f);
}

/* Feed a stream in chunks of `chunk` bytes (0: all at once); the events
 * go into log as one line each.  Returns the first failure, or
 * stream_end's verdict. */
static int run_stream(struct ctx *c, const char *body, size_t len, size_t chunk, llm__buf *log)
{
    struct llm__sstate st;
    c->call.streaming = 1;
    if (llm__sstate_init(&st, &c->call, c->resp) != LLM_OK)
        return LLM_ERR_NOMEM;
    int rc = llm__gemini_ops.stream_begin(&st);
    struct llm__sse *p = NULL;
    if (rc == LLM_OK && llm__sse_new(&p, (size_t)16 << 20, on_frame, &st) != LLM_OK)
        rc = LLM_ERR_NOMEM;
    if (!chunk)
        chunk = len ? len : 1;
    for (size_t off = 0; rc == LLM_OK && off < len; off += chunk)
        rc = llm__sse_feed(p, body + off, len - off < chunk ? len - off : chunk);
    if (rc == LLM_OK)
        rc = llm__sse_finish(p);
    llm__sse_free(p);
    /* As core: the adapter's own failure is on the response. */
    if (rc != LLM_OK && c->resp->status != LLM_OK)
        rc = c->resp->status;
    if (rc == LLM_OK)
        rc = llm__gemini_ops.stream_end(&st);
    const llm_event *ev;
    while (llm__sstate_pop(&st, &ev)) {
        size_t n;
        const char *t = llm_event_text(ev, &n);
        switch (llm_event_type(ev)) {
        case LLM_EVENT_TEXT_DELTA: llm__buf_printf(log, "text %.*s\n", (int)n, t); break;
        case LLM_EVENT_REASONING_DELTA: llm__buf_printf(log, "reasoning %.*s\n", (int)n, t); break;
        case LLM_EVENT_TOOL_CALL_START:
            llm__buf_printf(log, "start %d %s %s\n", llm_event_tool_index(ev), llm_event_tool_id(ev),
                            llm_event_tool_name(ev));
            break;
        case LLM_EVENT_TOOL_CALL_DELTA:
            llm__buf_printf(log, "args %d %.*s\n", llm_event_tool_index(ev), (int)n, t);
            break;
        case LLM_EVENT_TOOL_CALL_END: llm__buf_printf(log, "end %d\n", llm_event_tool_index(ev)); break;
        case LLM_EVENT_USAGE: llm__buf_puts(log, "usage\n"); break;
        case LLM_EVENT_WARNING: llm__buf_printf(log, "warning %.*s\n", (int)n, t); break;
        default: llm__buf_puts(log, "?\n"); break;
        }
    }
    llm__gemini_ops.stream_free(&st);
    llm__sstate_cleanup(&st);
    return rc;
}

/* Run a case's response.stream at 1, 7 and all bytes per chunk; every
 * chunking must give the same events and status (checked here); the last
 * run's response stays in *c for the caller's assertions. */
static int stream_case(const char *kase, struct ctx *c, llm_request **req_out, llm__buf *log)
{
    struct fixture fx;
    static const size_t chunks[] = {1, 7, 0};
    int first_rc = 0;
    llm__buf first = {0};
    *req_out = req_for(kase);
    if (load_reply(kase, "response.stream", &fx) != 0) {
        CHECK(!"stream fixture loads");
        fixture_free(&fx);
        ctx_init(c, *req_out);
        return LLM_ERR_PROTOCOL;
    }
    for (size_t k = 0; k < LLM__ARRAY_LEN(chunks); k++) {
        ctx_init(c, *req_out);
        llm__buf_reset(log);
        int rc = run_stream(c, fx.body, fx.body_len, chunks[k], log);
        if (k == 0) {
            first_rc = rc;
            llm__buf_puts(&first, log->data ? log->data : "");
        } else {
            CHECK_INT(rc, first_rc);
            CHECK_STR(log->data ? log->data : "", first.data ? first.data : "");
        }
        if (k + 1 < LLM__ARRAY_LEN(chunks))
            ctx_free(c);
    }
    llm__buf_free(&first);
    fixture_free(&fx);
    return first_rc;
}

static int64_t usage(const llm_response *r, int kind)
{
    int64_t v = -1;
    llm_response_usage(r, kind, &v);
    return v;
}

/* ======================================================================== */

TEST(build_text_url_headers_body)
{
    llm_request *r = user("Say hi.");
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.method, "POST");
    CHECK_STR(c.http.url.data,
              "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
    CHECK_STR(llm__http_req_get(&c.http, "x-goog-api-key"), "test-key-123");
    CHECK(llm__http_req_get(&c.http, "Authorization") == NULL);
    /* The key never travels in the URL. */
    CHECK(strstr(c.http.url.data, "key") == NULL);
    CHECK(strstr(c.http.url.data, "test-key-123") == NULL);
    CHECK(body_equals(&c.http, "text", "request.json"));
    ctx_free(&c);

    ctx_init(&c, r);
    c.call.streaming = 1;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.url.data, "https://generativelanguage.googleapis.com/v1beta/models/"
                               "gemini-2.5-flash:streamGenerateContent?alt=sse");
    CHECK(body_equals(&c.http, "text", "request.json"));
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_standard_cases)
{
    static const char *cases[] = {"text", "history", "tools", "parallel_tools", "tool_results",
                                  "image", "structured", "unicode", "error_400", "stream_error"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        llm_request *r = req_for(cases[i]);
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(llm__request_validate(r, c.resp), LLM_OK);
        int rc = build(&c);
        CHECK_INT(rc, LLM_OK);
        if (rc)
            printf("#   %s: %s\n", cases[i], llm_response_errmsg(c.resp));
        CHECK(body_equals(&c.http, cases[i], "request.json"));
        CHECK_INT((int)llm_response_warning_count(c.resp), 0);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(build_model_names_and_base_url)
{
    llm_request *r = user("Say hi.");
    struct ctx c;
    static const struct { const char *model, *base, *url; } cases[] = {
        {"models/gemini-2.5-flash", NULL,
         "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"},
        {"tunedModels/my-tuned-1", NULL,
         "https://generativelanguage.googleapis.com/v1beta/tunedModels/my-tuned-1:generateContent"},
        {"odd name/../x?y", NULL,
         "https://generativelanguage.googleapis.com/v1beta/models/odd%20name%2F..%2Fx%3Fy:generateContent"},
        {"gemini-2.5-flash", "http://127.0.0.1:8080/proxy/v1beta/",
         "http://127.0.0.1:8080/proxy/v1beta/models/gemini-2.5-flash:generateContent"},
        /* A bare host is a root, as GOOGLE_GEMINI_BASE_URL is for Google's
         * SDK: the API version follows. */
        {"gemini-2.5-flash", "http://127.0.0.1:8080",
         "http://127.0.0.1:8080/v1beta/models/gemini-2.5-flash:generateContent"},
        {"gemini-2.5-flash", "https://gw.example.com/",
         "https://gw.example.com/v1beta/models/gemini-2.5-flash:generateContent"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        ctx_init(&c, r);
        c.call.model = cases[i].model;
        c.call.base_url = cases[i].base;
        CHECK_INT(build(&c), LLM_OK);
        CHECK_STR(c.http.url.data, cases[i].url);
        ctx_free(&c);
    }
    /* The API version picks the path under a root. */
    ctx_init(&c, r);
    c.call.api_version = "v1";
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.url.data, "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:generateContent");
    ctx_free(&c);
    ctx_init(&c, r);
    c.call.api_version = "v1";
    c.call.base_url = "http://127.0.0.1:9/x/v1beta";
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.url.data, "http://127.0.0.1:9/x/v1beta/models/gemini-2.5-flash:generateContent");
    ctx_free(&c);
    static const char *bad[] = {NULL, "", "models/"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        ctx_init(&c, r);
        c.call.model = bad[i];
        CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
        CHECK(strstr(llm_response_errmsg(c.resp), "model") != NULL);
        ctx_free(&c);
    }
    llm_request_free(r);
}

TEST(build_auth)
{
    llm_request *r = user("Say hi.");
    struct ctx c;
    ctx_init(&c, r);
    c.call.bearer_token = "ya29.token";
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(llm__http_req_get(&c.http, "Authorization"), "Bearer ya29.token");
    CHECK(llm__http_req_get(&c.http, "x-goog-api-key") == NULL);
    ctx_free(&c);

    ctx_init(&c, r);
    c.call.api_key = "  padded-key\t";
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(llm__http_req_get(&c.http, "x-goog-api-key"), "padded-key");
    ctx_free(&c);

    ctx_init(&c, r);
    c.call.api_key = NULL;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_INT((int)c.http.nheaders, 0);
    ctx_free(&c);

    ctx_init(&c, r);
    c.call.api_key = "bad\nkey";
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_tool_choice_and_parallel)
{
    static const struct { int choice; const char *name; const char *want; } cases[] = {
        {LLM_TOOL_CHOICE_AUTO, NULL, "{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}"},
        {LLM_TOOL_CHOICE_NONE, NULL, "{\"functionCallingConfig\":{\"mode\":\"NONE\"}}"},
        {LLM_TOOL_CHOICE_REQUIRED, NULL, "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}"},
        {LLM_TOOL_CHOICE_NAMED, "get_time",
         "{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"get_time\"]}}"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        llm_request *r = user("Weather?");
        add_tools(r);
        CHECK_INT(llm_request_set_tool_choice(r, cases[i].choice, cases[i].name), LLM_OK);
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(build(&c), LLM_OK);
        json_t *b = body_json(&c), *want = json_loads(cases[i].want, 0, NULL);
        CHECK(json_equal(json_object_get(b, "toolConfig"), want));
        json_decref(b);
        json_decref(want);
        ctx_free(&c);
        llm_request_free(r);
    }
    /* No tools: no tools and no toolConfig at all. */
    llm_request *r = user("Hi");
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NONE, NULL), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    CHECK(json_object_get(b, "tools") == NULL && json_object_get(b, "toolConfig") == NULL);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    /* parallel_tool_calls 0 has no Gemini switch: fail, or drop with a warning. */
    r = user("Weather?");
    add_tools(r);
    CHECK_INT(llm_request_set_parallel_tool_calls(r, 0), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(c.resp), "parallel_tool_calls") != NULL);
    ctx_free(&c);
    ctx_init(&c, r);
    c.call.drop_unsupported = 1;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_INT((int)llm_response_warning_count(c.resp), 1);
    CHECK(strstr(llm_response_warning(c.resp, 0), "parallel_tool_calls") != NULL);
    b = body_json(&c);
    CHECK(json_object_get(b, "toolConfig") != NULL);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_tool_declarations)
{
    llm_request *r = user("Go");
    CHECK_INT(llm_request_add_tool(r, "ping", NULL, NULL), LLM_OK);
    CHECK_INT(llm_request_add_tool(r, "noop", "No arguments.",
                                   "{\"type\":\"object\",\"properties\":{},\"required\":[]}"), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    json_t *want = json_loads("[{\"functionDeclarations\":[{\"name\":\"ping\"},"
                              "{\"name\":\"noop\",\"description\":\"No arguments.\"}]}]", 0, NULL);
    CHECK(json_equal(json_object_get(b, "tools"), want));
    json_decref(want);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    /* A keyword Gemini cannot take fails the call before anything is sent. */
    r = user("Go");
    CHECK_INT(llm_request_add_tool(r, "get_weather", NULL,
        "{\"type\":\"object\",\"properties\":{\"city\":{\"$ref\":\"#/$defs/City\"}}}"), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK_STR(llm_response_errmsg(c.resp), "tool get_weather: JSON Schema keyword '$ref' at "
                                           "properties.city is not supported by Gemini");
    ctx_free(&c);
    llm_request_free(r);

    r = user("Go");
    CHECK_INT(llm_request_add_tool(r, "listy", NULL, "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"),
              LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK_STR(llm_response_errmsg(c.resp), "tool listy: the parameters JSON Schema must describe an object");
    ctx_free(&c);
    llm_request_free(r);

    r = user("Go");
    CHECK_INT(llm_request_set_response_schema(r, "out", "{\"type\":\"object\",\"properties\":"
                                              "{\"a\":{\"type\":\"string\",\"not\":{\"const\":\"x\"}}}}"), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK_STR(llm_response_errmsg(c.resp), "response schema out: JSON Schema keyword 'not' at "
                                           "properties.a is not supported by Gemini");
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_schema_conversion_cases)
{
    static const char *cases[] = {"schema_nested", "schema_arrays", "schema_enums", "schema_nullable"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        char *text = slurp(cases[i], "tools.json", NULL);
        json_t *tools = text ? json_loads(text, 0, NULL) : NULL;
        CHECK(json_is_array(tools));
        llm_request *r = user("Use the tool.");
        size_t k;
        json_t *t;
        json_array_foreach(tools, k, t) {
            char *schema = json_dumps(json_object_get(t, "schema"), JSON_COMPACT);
            CHECK_INT(llm_request_add_tool(r, json_string_value(json_object_get(t, "name")),
                                           json_string_value(json_object_get(t, "description")), schema),
                      LLM_OK);
            free(schema);
        }
        struct ctx c;
        ctx_init(&c, r);
        int rc = build(&c);
        CHECK_INT(rc, LLM_OK);
        if (rc)
            printf("#   %s: %s\n", cases[i], llm_response_errmsg(c.resp));
        CHECK(body_equals(&c.http, cases[i], "request.json"));
        ctx_free(&c);
        llm_request_free(r);
        json_decref(tools);
        free(text);
    }
}

TEST(build_generation_config)
{
    llm_request *r = user("Hi");
    CHECK_INT(llm_request_set_top_k(r, 40), LLM_OK);
    CHECK_INT(llm_request_set_seed(r, 1234), LLM_OK);
    CHECK_INT(llm_request_set_temperature(r, 1.0), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_budget(r, 1024), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    json_t *want = json_loads("{\"topK\":40,\"seed\":1234,\"temperature\":1.0,"
                              "\"thinkingConfig\":{\"thinkingBudget\":1024}}", 0, NULL);
    CHECK(json_equal(json_object_get(b, "generationConfig"), want));
    json_decref(want);
    json_decref(b);
    ctx_free(&c);

    /* Budget and effort together: Gemini takes one; drop-or-fail the effort. */
    CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_HIGH), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(c.resp), "reasoning_effort") != NULL);
    ctx_free(&c);
    ctx_init(&c, r);
    c.call.drop_unsupported = 1;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_INT((int)llm_response_warning_count(c.resp), 1);
    b = body_json(&c);
    CHECK(json_object_get(json_object_get(json_object_get(b, "generationConfig"), "thinkingConfig"),
                          "thinkingLevel") == NULL);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    static const struct { int effort; const char *want; } efforts[] = {
        {LLM_REASONING_NONE, "{\"thinkingBudget\":0}"},
        {LLM_REASONING_MINIMAL, "{\"thinkingLevel\":\"MINIMAL\"}"},
        {LLM_REASONING_LOW, "{\"thinkingLevel\":\"LOW\"}"},
        {LLM_REASONING_MEDIUM, "{\"thinkingLevel\":\"MEDIUM\"}"},
        {LLM_REASONING_HIGH, "{\"thinkingLevel\":\"HIGH\"}"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(efforts); i++) {
        r = user("Hi");
        CHECK_INT(llm_request_set_reasoning_effort(r, efforts[i].effort), LLM_OK);
        ctx_init(&c, r);
        CHECK_INT(build(&c), LLM_OK);
        b = body_json(&c);
        want = json_loads(efforts[i].want, 0, NULL);
        CHECK(json_equal(json_object_get(json_object_get(b, "generationConfig"), "thinkingConfig"), want));
        json_decref(want);
        json_decref(b);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(build_extras)
{
    llm_request *r = user("Hi");
    CHECK_INT(llm_request_set_temperature(r, 0.5), LLM_OK);
    const char *all = "{\"safetySettings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
                      "\"threshold\":\"BLOCK_ONLY_HIGH\"}]}";
    const char *mine = "{\"generationConfig\":{\"candidateCount\":1},\"cachedContent\":\"cachedContents/x\"}";
    const char *theirs = "{\"model\":\"gpt-4o\"}";
    CHECK_INT(llm_request_set_extra_json(r, NULL, all, strlen(all)), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "gemini", mine, strlen(mine)), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "openai", theirs, strlen(theirs)), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    CHECK(json_object_get(b, "safetySettings") != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "cachedContent")), "cachedContents/x");
    CHECK(json_object_get(b, "model") == NULL);
    /* Members replace what libllm set, whole. */
    json_t *want = json_loads("{\"candidateCount\":1}", 0, NULL);
    CHECK(json_equal(json_object_get(b, "generationConfig"), want));
    json_decref(want);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_images)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_image_url(r, "data:image/png;base64,iVBORw0KGgo="), LLM_OK);
    CHECK_INT(llm_request_append_image_url(r, "data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E"), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    json_t *want = json_loads(
        "[{\"role\":\"user\",\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
        "{\"inlineData\":{\"mimeType\":\"image/svg+xml\",\"data\":\"PHN2Zy8+\"}}]}]", 0, NULL);
    CHECK(json_equal(json_object_get(b, "contents"), want));
    json_decref(want);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    static const struct { const char *url; int status; const char *why; } bad[] = {
        {"https://example.com/cat.png", LLM_ERR_UNSUPPORTED, "cannot fetch image URLs"},
        {"data:image/png;base64,!!!!", LLM_ERR_INVALID_ARG, "not valid base64"},
        {"data:;base64,AAAA", LLM_ERR_INVALID_ARG, "no media type"},
        {"data:image/png;base64", LLM_ERR_INVALID_ARG, "no ','"},
        {"data:image/png,%4", LLM_ERR_INVALID_ARG, "percent-encoding"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        CHECK_INT(llm_request_new(&r), LLM_OK);
        CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
        CHECK_INT(llm_request_append_text(r, "Look", 4), LLM_OK);
        CHECK_INT(llm_request_append_image_url(r, bad[i].url), LLM_OK);
        ctx_init(&c, r);
        CHECK_INT(build(&c), bad[i].status);
        CHECK(strstr(llm_response_errmsg(c.resp), bad[i].why) != NULL);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(build_merges_roles_and_results)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "One."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "A"), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "Two."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "B"), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_text(r, "Let me check.", 13), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c1", "lookup", "{}", 2), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c2", "lookup", "{\"q\":2}", 7), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "c1", NULL, "plain words", 11, 0), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "c2", "lookup", "{\"code\":7}", 10,
                                          LLM_TOOL_RESULT_ERROR | LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "And?"), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(llm__request_validate(r, c.resp), LLM_OK);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    json_t *want = json_loads(
        "{\"systemInstruction\":{\"parts\":[{\"text\":\"One.\"},{\"text\":\"Two.\"}]},"
        "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"A\"},{\"text\":\"B\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"Let me check.\"},"
        "{\"functionCall\":{\"name\":\"lookup\",\"args\":{}}},"
        "{\"functionCall\":{\"name\":\"lookup\",\"args\":{\"q\":2}}}]},"
        "{\"role\":\"user\",\"parts\":["
        "{\"functionResponse\":{\"name\":\"lookup\",\"response\":{\"output\":\"plain words\"}}},"
        "{\"functionResponse\":{\"name\":\"lookup\",\"response\":{\"error\":{\"code\":7}}}},"
        "{\"text\":\"And?\"}]}]}", 0, NULL);
    CHECK(json_equal(b, want));
    if (!json_equal(b, want))
        printf("#   got %s\n", c.http.body.data);
    json_decref(want);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    /* Arguments that are not an object cannot be Gemini args. */
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "A"), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c1", "lookup", "[1,2]", 5), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "not a JSON object") != NULL);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(parse_standard_cases)
{
    static const struct { const char *kase, *text; int64_t in, out; } cases[] = {
        {"text", "Hello from libllm.", 12, 5},
        {"history", "Your name is Ada.", 24, 5},
        {"tool_results", "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo.", 80, 14},
        {"image", "A red square.", 263, 4},
        {"structured", "{\"answer\":42}", 9, 7},
        {"unicode", "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line", 14, 12},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        llm_request *r;
        CHECK_INT(parse_case(cases[i].kase, &c, &r), LLM_OK);
        CHECK_STR(llm_response_text(c.resp, NULL), cases[i].text);
        CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_STOP);
        CHECK_STR(llm_response_finish_raw(c.resp), "STOP");
        CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), cases[i].in);
        CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), cases[i].out);
        CHECK_INT(usage(c.resp, LLM_USAGE_TOTAL), cases[i].in + cases[i].out);
        CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_READ), 0);
        CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_WRITE), 0);
        CHECK_INT(usage(c.resp, LLM_USAGE_REASONING), 0);
        CHECK_STR(llm_response_model(c.resp), MODEL);
        CHECK(llm_response_id(c.resp) && strncmp(llm_response_id(c.resp), "resp-", 5) == 0);
        CHECK(llm_response_usage_raw(c.resp, NULL) &&
              strstr(llm_response_usage_raw(c.resp, NULL), "promptTokenCount") != NULL);
        CHECK_INT((int)llm_response_part_count(c.resp), 1);
        CHECK(llm_response_filter_json(c.resp, NULL) == NULL);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(parse_tool_calls)
{
    struct ctx c;
    llm_request *r;
    CHECK_INT(parse_case("tools", &c, &r), LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(c.resp), 1);
    CHECK_STR(llm_response_tool_call_id(c.resp, 0), "call_0");
    CHECK_STR(llm_response_tool_call_name(c.resp, 0), "get_weather");
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_TOOL_CALLS);
    CHECK_STR(llm_response_finish_raw(c.resp), "STOP");
    struct llm__part *p = llm__resp_tool_part(c.resp, 0);
    CHECK_STR(p->meta.json, "{\"idSynthetic\":true}");
    CHECK_STR(p->meta.provider, "gemini");
    CHECK_STR(p->meta.model, MODEL);
    ctx_free(&c);
    llm_request_free(r);

    CHECK_INT(parse_case("parallel_tools", &c, &r), LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(c.resp), 2);
    CHECK_STR(llm_response_tool_call_id(c.resp, 0), "call_0");
    CHECK_STR(llm_response_tool_call_id(c.resp, 1), "call_1");
    CHECK_STR(llm_response_tool_call_name(c.resp, 1), "get_time");
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 1, NULL), "{\"tz\":\"Asia/Tokyo\"}");
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_TOOL_CALLS);
    ctx_free(&c);
    llm_request_free(r);

    CHECK_INT(parse_case("function_call_ids", &c, &r), LLM_OK);
    CHECK_STR(llm_response_tool_call_id(c.resp, 0), "fc-8f1e2a");
    CHECK_STR(llm_response_tool_call_id(c.resp, 1), "fc-93bd07");
    CHECK_STR(llm__resp_tool_part(c.resp, 1)->meta.json, "{\"idSynthetic\":false}");
    ctx_free(&c);
    llm_request_free(r);
}

/* The next turn after a reply: the reply itself, then both results. */
static llm_request *next_turn(const llm_response *reply)
{
    llm_request *r = user("Weather in Paris and time in Tokyo?");
    add_tools(r);
    CHECK_INT(llm_request_add_response(r, reply), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(reply, 0), NULL, "{\"temp_c\":18}", 13,
                                          LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(reply, 1), NULL,
                                          "{\"time\":\"09:00\"}", 16, LLM_TOOL_RESULT_JSON), LLM_OK);
    return r;
}

TEST(thought_signature_round_trip)
{
    for (int streamed = 0; streamed < 2; streamed++) {
        struct ctx c;
        llm_request *r;
        llm__buf log = {0};
        if (streamed) {
            CHECK_INT(stream_case("thought_signature", &c, &r, &log), LLM_OK);
            CHECK_STR(log.data, "reasoning The user wants two facts; call both tools.\n"
                                "usage\n"
                                "start 0 call_0 get_weather\nargs 0 {\"city\":\"Paris\"}\nend 0\n"
                                "start 1 call_1 get_time\nargs 1 {\"tz\":\"Asia/Tokyo\"}\nend 1\n"
                                "usage\n");
        } else {
            CHECK_INT(parse_case("thought_signature", &c, &r), LLM_OK);
        }
        llm__buf_free(&log);
        CHECK_INT((int)llm_response_part_count(c.resp), 3);
        CHECK_INT(llm_response_part_type(c.resp, 0), LLM_PART_REASONING);
        CHECK_STR(llm_response_part_text(c.resp, 0, NULL), "The user wants two facts; call both tools.");
        CHECK_STR(llm_response_text(c.resp, NULL), "");
        CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_TOOL_CALLS);
        CHECK_STR(c.resp->msg.parts[0].meta.json, "{\"thought\":true}");
        CHECK_STR(llm__resp_tool_part(c.resp, 0)->meta.json,
                  "{\"idSynthetic\":true,\"thoughtSignature\":\"CqQBAdHtim9hX1k2c2lnbmF0dXJlLWZvci1saWJsbG0tdGVzdHM=\"}");
        CHECK_STR(llm__resp_tool_part(c.resp, 1)->meta.json, "{\"idSynthetic\":true}");
        /* Usage: prompt + tool-use prompt in; candidates + thoughts out. */
        CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), 62);
        CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_READ), 20);
        CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_WRITE), 0);
        CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), 103);
        CHECK_INT(usage(c.resp, LLM_USAGE_REASONING), 91);
        CHECK_INT(usage(c.resp, LLM_USAGE_TOTAL), 165);
        c.resp->status = LLM_OK;

        /* Same provider and model: the turn goes back as received. */
        llm_request *next = next_turn(c.resp);
        struct ctx n;
        ctx_init(&n, next);
        CHECK_INT(llm__request_validate(next, n.resp), LLM_OK);
        CHECK_INT(build(&n), LLM_OK);
        CHECK(body_equals(&n.http, "thought_signature", "request.json"));
        CHECK_INT((int)llm_response_warning_count(n.resp), 0);
        ctx_free(&n);

        /* Another model: signatures and thoughts stay home, with one warning. */
        ctx_init(&n, next);
        n.call.model = "gemini-2.5-pro";
        CHECK_INT(build(&n), LLM_OK);
        CHECK_INT((int)llm_response_warning_count(n.resp), 1);
        CHECK(strstr(llm_response_warning(n.resp, 0), "dropped opaque gemini/gemini-2.5-flash") != NULL);
        CHECK(strstr(n.http.body.data, "thoughtSignature") == NULL);
        CHECK(strstr(n.http.body.data, "\"thought\"") == NULL);
        CHECK(body_equals(&n.http, "tool_results", "request.json"));
        ctx_free(&n);
        llm_request_free(next);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(function_call_ids_round_trip)
{
    for (int streamed = 0; streamed < 2; streamed++) {
        struct ctx c;
        llm_request *r;
        llm__buf log = {0};
        if (streamed)
            CHECK_INT(stream_case("function_call_ids", &c, &r, &log), LLM_OK);
        else
            CHECK_INT(parse_case("function_call_ids", &c, &r), LLM_OK);
        llm__buf_free(&log);
        llm_request *next = next_turn(c.resp);
        struct ctx n;
        ctx_init(&n, next);
        CHECK_INT(build(&n), LLM_OK);
        CHECK(body_equals(&n.http, "function_call_ids", "request.json"));
        ctx_free(&n);
        /* Ids are Gemini's whatever the model: another Gemini model still
         * gets them, and there is nothing to drop. */
        ctx_init(&n, next);
        n.call.model = "gemini-2.5-pro";
        CHECK_INT(build(&n), LLM_OK);
        CHECK(body_equals(&n.http, "function_call_ids", "request.json"));
        CHECK_INT((int)llm_response_warning_count(n.resp), 0);
        ctx_free(&n);
        llm_request_free(next);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(replay_of_foreign_and_opaque_parts)
{
    /* A reply with a signed text part and an inline image of the model's. */
    const char *body =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
        "{\"text\":\"Here\"},{\"text\":\" it is.\",\"thoughtSignature\":\"U0lH\"},"
        "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AAAA\"}},"
        "{\"text\":\"Done.\"}]},\"finishReason\":\"STOP\"}]}";
    llm_request *r = user("Draw");
    struct ctx c;
    ctx_init(&c, r);
    struct llm__http_res res = {200, NULL, 0, body, strlen(body)};
    CHECK_INT(llm__gemini_ops.parse(&c.call, &res, c.resp), LLM_OK);
    CHECK_INT((int)llm_response_part_count(c.resp), 3);
    CHECK_STR(llm_response_part_text(c.resp, 0, NULL), "Here it is.");
    CHECK_STR(c.resp->msg.parts[0].meta.json, "{\"thoughtSignature\":\"U0lH\"}");
    CHECK_INT(llm_response_part_type(c.resp, 1), LLM_PART_OPAQUE);
    CHECK_STR(llm_response_part_text(c.resp, 2, NULL), "Done.");
    CHECK(c.resp->msg.parts[2].meta.json == NULL);
    CHECK_STR(llm_response_text(c.resp, NULL), "Here it is.Done.");

    CHECK_INT(llm_request_add_response(r, c.resp), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Again"), LLM_OK);
    struct ctx n;
    ctx_init(&n, r);
    CHECK_INT(build(&n), LLM_OK);
    json_t *b = body_json(&n);
    json_t *want = json_loads(
        "[{\"role\":\"user\",\"parts\":[{\"text\":\"Draw\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"Here it is.\",\"thoughtSignature\":\"U0lH\"},"
        "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AAAA\"}},{\"text\":\"Done.\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"text\":\"Again\"}]}]", 0, NULL);
    CHECK(json_equal(json_object_get(b, "contents"), want));
    json_decref(want);
    json_decref(b);
    ctx_free(&n);
    ctx_free(&c);
    llm_request_free(r);

    /* Another provider's reasoning (an Anthropic signature) is dropped
     * with the one warning; its text never goes to Gemini. */
    llm_response *foreign = llm__response_new();
    llm__resp_set_str(&foreign->provider, "anthropic");
    llm__resp_set_str(&foreign->model, "claude-sonnet-4-5");
    CHECK_INT(llm__resp_append_reasoning(foreign, "thinking...", 11), LLM_OK);
    CHECK_INT(llm__resp_set_meta(foreign, llm__resp_last_part(foreign), "{\"signature\":\"x\"}", 17), LLM_OK);
    CHECK_INT(llm__resp_append_text(foreign, "Hi.", 3), LLM_OK);
    r = user("Hello");
    CHECK_INT(llm_request_add_response(r, foreign), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Bye"), LLM_OK);
    ctx_init(&n, r);
    CHECK_INT(build(&n), LLM_OK);
    CHECK_INT((int)llm_response_warning_count(n.resp), 1);
    CHECK(strstr(llm_response_warning(n.resp, 0), "anthropic/claude-sonnet-4-5") != NULL);
    CHECK(strstr(n.http.body.data, "thinking") == NULL);
    CHECK(strstr(n.http.body.data, "\"Hi.\"") != NULL);
    ctx_free(&n);
    llm_request_free(r);
    llm__response_destroy(foreign);
}

TEST(parse_filters)
{
    struct ctx c;
    llm_request *r;
    CHECK_INT(parse_case("blocked_prompt", &c, &r), LLM_OK);
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_CONTENT_FILTER);
    CHECK_STR(llm_response_finish_raw(c.resp), "SAFETY");
    CHECK_STR(llm_response_text(c.resp, NULL), "");
    CHECK_INT((int)llm_response_part_count(c.resp), 0);
    const char *f = llm_response_filter_json(c.resp, NULL);
    CHECK(f && strstr(f, "\"promptFeedback\"") && strstr(f, "HARM_CATEGORY_DANGEROUS_CONTENT"));
    CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), 8);
    CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), 0);
    ctx_free(&c);
    llm_request_free(r);

    CHECK_INT(parse_case("safety_finish", &c, &r), LLM_OK);
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_CONTENT_FILTER);
    CHECK_STR(llm_response_finish_raw(c.resp), "SAFETY");
    f = llm_response_filter_json(c.resp, NULL);
    CHECK(f && strstr(f, "\"safetyRatings\"") && strstr(f, "\"blocked\":true"));
    ctx_free(&c);
    llm_request_free(r);

    llm__buf log = {0};
    CHECK_INT(stream_case("blocked_prompt", &c, &r, &log), LLM_OK);
    CHECK_STR(log.data, "usage\n");
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_CONTENT_FILTER);
    ctx_free(&c);
    llm_request_free(r);
    CHECK_INT(stream_case("safety_finish", &c, &r, &log), LLM_OK);
    CHECK_STR(log.data, "text Here is how\nusage\nusage\n");
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_CONTENT_FILTER);
    CHECK(llm_response_filter_json(c.resp, NULL) != NULL);
    ctx_free(&c);
    llm_request_free(r);
    llm__buf_free(&log);
}

TEST(finish_reasons)
{
    static const struct { const char *raw; int finish; } cases[] = {
        {"STOP", LLM_FINISH_STOP}, {"MAX_TOKENS", LLM_FINISH_LENGTH},
        {"SAFETY", LLM_FINISH_CONTENT_FILTER}, {"RECITATION", LLM_FINISH_CONTENT_FILTER},
        {"BLOCKLIST", LLM_FINISH_CONTENT_FILTER}, {"PROHIBITED_CONTENT", LLM_FINISH_CONTENT_FILTER},
        {"SPII", LLM_FINISH_CONTENT_FILTER}, {"IMAGE_SAFETY", LLM_FINISH_CONTENT_FILTER},
        {"IMAGE_PROHIBITED_CONTENT", LLM_FINISH_CONTENT_FILTER},
        {"IMAGE_RECITATION", LLM_FINISH_CONTENT_FILTER},
        {"MALFORMED_FUNCTION_CALL", LLM_FINISH_ERROR}, {"UNEXPECTED_TOOL_CALL", LLM_FINISH_ERROR},
        {"TOO_MANY_TOOL_CALLS", LLM_FINISH_ERROR}, {"LANGUAGE", LLM_FINISH_OTHER},
        {"OTHER", LLM_FINISH_OTHER}, {"NO_IMAGE", LLM_FINISH_OTHER}, {"IMAGE_OTHER", LLM_FINISH_OTHER},
        {"FINISH_REASON_UNSPECIFIED", LLM_FINISH_OTHER}, {"SOMETHING_NEW", LLM_FINISH_OTHER},
    };
    llm_request *r = user("x");
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},"
                                    "\"finishReason\":\"%s\"}]}", cases[i].raw);
        struct ctx c;
        ctx_init(&c, r);
        struct llm__http_res res = {200, NULL, 0, body, strlen(body)};
        CHECK_INT(llm__gemini_ops.parse(&c.call, &res, c.resp), LLM_OK);
        CHECK_INT(llm_response_finish(c.resp), cases[i].finish);
        CHECK_STR(llm_response_finish_raw(c.resp), cases[i].raw);
        /* Nothing reported: usage stays unknown. */
        CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), -1);
        ctx_free(&c);
    }
    /* A non-streamed candidate without a finishReason. */
    const char *body = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}";
    struct ctx c;
    ctx_init(&c, r);
    struct llm__http_res res = {200, NULL, 0, body, strlen(body)};
    CHECK_INT(llm__gemini_ops.parse(&c.call, &res, c.resp), LLM_OK);
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_OTHER);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(error_mapping)
{
    static const struct {
        const char *kase;
        int status, http, retryable;
        int64_t retry_after;
        const char *type, *code;
    } cases[] = {
        {"error_400", LLM_ERR_INVALID_REQUEST, 400, 0, -1, "INVALID_ARGUMENT", NULL},
        {"error_401", LLM_ERR_AUTH, 401, 0, -1, "UNAUTHENTICATED", NULL},
        {"error_429", LLM_ERR_RATE_LIMITED, 429, 1, 2000, "RESOURCE_EXHAUSTED", NULL},
        {"error_500", LLM_ERR_SERVER, 500, 1, -1, "INTERNAL", NULL},
        {"error_529", LLM_ERR_OVERLOADED, 503, 1, -1, "UNAVAILABLE", NULL},
        {"retry_info", LLM_ERR_RATE_LIMITED, 429, 1, 12000, "RESOURCE_EXHAUSTED", NULL},
        {"daily_quota", LLM_ERR_QUOTA, 429, 0, -1, "RESOURCE_EXHAUSTED", NULL},
        {"api_key_invalid", LLM_ERR_AUTH, 400, 0, -1, "INVALID_ARGUMENT", "API_KEY_INVALID"},
        {"context_length", LLM_ERR_CONTEXT_LENGTH, 400, 0, -1, "INVALID_ARGUMENT", NULL},
        {"failed_precondition", LLM_ERR_PERMISSION, 400, 0, -1, "FAILED_PRECONDITION", NULL},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        llm_request *r;
        CHECK_INT(parse_case(cases[i].kase, &c, &r), cases[i].status);
        CHECK_INT(llm_response_status(c.resp), cases[i].status);
        CHECK_INT(llm_response_http_status(c.resp), cases[i].http);
        CHECK_INT(llm_response_retryable(c.resp), cases[i].retryable);
        CHECK_INT(llm_response_retry_after_ms(c.resp), cases[i].retry_after);
        CHECK_STR(llm_response_error_type(c.resp), cases[i].type);
        if (cases[i].code)
            CHECK_STR(llm_response_error_code(c.resp), cases[i].code);
        else
            CHECK(llm_response_error_code(c.resp) == NULL);
        const char *msg = llm_response_error_message(c.resp);
        CHECK(msg && *msg);
        CHECK(msg && strstr(llm_response_errmsg(c.resp), msg) != NULL);
        CHECK(strstr(llm_response_errmsg(c.resp), cases[i].type) != NULL);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(error_bodies_and_retry_delays)
{
    static const struct { const char *body; int http, status; int64_t after; } cases[] = {
        /* The array form streaming requests have answered with. */
        {"[{\"error\":{\"code\":503,\"message\":\"busy\",\"status\":\"UNAVAILABLE\"}}]", 503,
         LLM_ERR_OVERLOADED, -1},
        {"not json at all", 502, LLM_ERR_SERVER, -1},
        {"{\"error\":\"a string\"}", 404, LLM_ERR_NOT_FOUND, -1},
        {"{\"error\":{\"code\":403,\"message\":\"no\",\"status\":\"PERMISSION_DENIED\"}}", 403,
         LLM_ERR_PERMISSION, -1},
        {"{\"error\":{\"code\":404,\"message\":\"models/x is not found\",\"status\":\"NOT_FOUND\"}}", 404,
         LLM_ERR_NOT_FOUND, -1},
        {"{\"error\":{\"code\":504,\"message\":\"slow\",\"status\":\"DEADLINE_EXCEEDED\"}}", 504,
         LLM_ERR_TIMEOUT, -1},
        {"{\"error\":{\"code\":499,\"message\":\"gone\",\"status\":\"CANCELLED\"}}", 499,
         LLM_ERR_INVALID_REQUEST, -1},
        {"{\"error\":{\"message\":\"injected 429\",\"type\":\"injected_error\",\"code\":\"injected\"}}", 429,
         LLM_ERR_RATE_LIMITED, -1},
        {"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
         "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1.5s\"}]}}", 429,
         LLM_ERR_RATE_LIMITED, 1500},
        {"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
         "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"0.0001s\"}]}}", 429,
         LLM_ERR_RATE_LIMITED, 1},
        {"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
         "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"12\"}]}}", 429,
         LLM_ERR_RATE_LIMITED, -1},
        {"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
         "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"99999999999999999999s\"}]}}", 429,
         LLM_ERR_RATE_LIMITED, -1},
        {"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"message\":\"Quota exceeded for "
         "quota metric 'Requests per day'\",\"details\":7}}", 429, LLM_ERR_QUOTA, -1},
    };
    llm_request *r = user("x");
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        ctx_init(&c, r);
        struct fixture fx = {0};
        fx.status = cases[i].http;
        fx.body = cases[i].body;
        fx.body_len = strlen(cases[i].body);
        CHECK_INT(reply_into(c.resp, &c.call, &fx), cases[i].status);
        CHECK_INT(llm_response_retry_after_ms(c.resp), cases[i].after);
        CHECK(strlen(llm_response_errmsg(c.resp)) > 0);
        ctx_free(&c);
    }
    /* A retry-after header wins over RetryInfo. */
    struct ctx c;
    ctx_init(&c, r);
    struct fixture fx;
    CHECK_INT(load_reply("retry_info", "response", &fx), 0);
    struct llm__header h = {(char *)"retry-after", (char *)"3"};
    fx.h[fx.nh++] = h;
    CHECK_INT(reply_into(c.resp, &c.call, &fx), LLM_ERR_RATE_LIMITED);
    CHECK_INT(llm_response_retry_after_ms(c.resp), 3000);
    fixture_free(&fx);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(streams_standard_cases)
{
    static const struct { const char *kase, *log, *text; int finish; } cases[] = {
        {"text", "text Hello\nusage\ntext  from\ntext  libllm.\nusage\n", "Hello from libllm.", LLM_FINISH_STOP},
        {"history", "text Your name\nusage\ntext  is\ntext  Ada.\nusage\n", "Your name is Ada.", LLM_FINISH_STOP},
        {"tools", "start 0 call_0 get_weather\nargs 0 {\"city\":\"Paris\"}\nend 0\nusage\nusage\n", "",
         LLM_FINISH_TOOL_CALLS},
        {"parallel_tools", "start 0 call_0 get_weather\nargs 0 {\"city\":\"Paris\"}\nend 0\n"
                           "start 1 call_1 get_time\nargs 1 {\"tz\":\"Asia/Tokyo\"}\nend 1\nusage\n", "",
         LLM_FINISH_TOOL_CALLS},
        {"unicode", "text Emoji \xF0\x9F\x98\x80, \nusage\ntext CJK \xE6\xBC\xA2\xE5\xAD\x97, \n"
                    "text \"quotes\"\nnew line\nusage\n",
         "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line", LLM_FINISH_STOP},
        {"structured", "text {\"ans\nusage\ntext wer\":\ntext 42}\nusage\n", "{\"answer\":42}", LLM_FINISH_STOP},
        {"image", "text A\nusage\ntext  red\ntext  square.\nusage\n", "A red square.", LLM_FINISH_STOP},
        {"tool_results", "text It is 18\xC2\xB0" "C\nusage\ntext  in Paris and\ntext  09:00 in Tokyo.\nusage\n",
         "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo.", LLM_FINISH_STOP},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        llm_request *r;
        llm__buf log = {0};
        CHECK_INT(stream_case(cases[i].kase, &c, &r, &log), LLM_OK);
        CHECK_STR(log.data, cases[i].log);
        CHECK_STR(llm_response_text(c.resp, NULL), cases[i].text);
        CHECK_INT(llm_response_finish(c.resp), cases[i].finish);
        CHECK_STR(llm_response_model(c.resp), MODEL);
        CHECK(llm_response_usage_raw(c.resp, NULL) != NULL);
        CHECK(usage(c.resp, LLM_USAGE_INPUT) > 0 && usage(c.resp, LLM_USAGE_OUTPUT) > 0);
        llm__buf_free(&log);
        ctx_free(&c);
        llm_request_free(r);
    }
    struct ctx c;
    llm_request *r;
    llm__buf log = {0};
    CHECK_INT(stream_case("text", &c, &r, &log), LLM_OK);
    CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), 12);
    CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), 5);
    CHECK_STR(llm_response_id(c.resp), "resp-text-1");
    llm__buf_free(&log);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(stream_mid_error_and_truncation)
{
    struct ctx c;
    llm_request *r;
    llm__buf log = {0};
    CHECK_INT(stream_case("stream_error", &c, &r, &log), LLM_ERR_OVERLOADED);
    CHECK_STR(log.data, "text Hello\nusage\ntext  from\n");
    CHECK_INT(llm_response_error_mid_stream(c.resp), 1);
    CHECK_INT(llm_response_retryable(c.resp), 1);
    CHECK_STR(llm_response_error_type(c.resp), "UNAVAILABLE");
    CHECK_STR(llm_response_error_message(c.resp), "The model is overloaded. Please try again later.");
    CHECK_STR(llm_response_text(c.resp, NULL), "Hello from");
    ctx_free(&c);
    llm_request_free(r);

    /* Every prefix of a stream that stops before its finishReason chunk is
     * truncated: stream_end says so. */
    struct fixture fx;
    CHECK_INT(load_reply("text", "response.stream", &fx), 0);
    const char *last = strstr(fx.body, "\"finishReason\"");
    size_t cut_max = (size_t)(last - fx.body);
    r = user("Say hi.");
    for (size_t cut = 0; cut < cut_max; cut += 13) {
        ctx_init(&c, r);
        llm__buf_reset(&log);
        int rc = run_stream(&c, fx.body, cut, 5, &log);
        CHECK(rc == LLM_ERR_NETWORK || rc == LLM_ERR_PROTOCOL);
        if (rc == LLM_ERR_NETWORK)
            CHECK(strstr(llm_response_errmsg(c.resp), "stream truncated") != NULL);
        ctx_free(&c);
    }
    /* A whole stream is fine even without the final blank line. */
    ctx_init(&c, r);
    llm__buf_reset(&log);
    CHECK_INT(run_stream(&c, fx.body, fx.body_len - 2, 0, &log), LLM_OK);
    ctx_free(&c);
    fixture_free(&fx);
    llm_request_free(r);
    llm__buf_free(&log);
}

TEST(hostile_replies)
{
    static const struct { const char *body; int status; const char *why; } cases[] = {
        {"", LLM_ERR_PROTOCOL, "not JSON"},
        {"<html>502</html>", LLM_ERR_PROTOCOL, "not JSON"},
        {"[1,2]", LLM_ERR_PROTOCOL, "not a JSON object"},
        {"{}", LLM_ERR_PROTOCOL, "neither candidates nor promptFeedback"},
        {"{\"candidates\":\"x\"}", LLM_ERR_PROTOCOL, "candidates is not an array"},
        {"{\"candidates\":[7]}", LLM_ERR_PROTOCOL, "candidate is not an object"},
        {"{\"candidates\":[{\"content\":[]}]}", LLM_ERR_PROTOCOL, "content is not an object"},
        {"{\"candidates\":[{\"content\":{\"parts\":{}}}]}", LLM_ERR_PROTOCOL, "parts is not an array"},
        {"{\"candidates\":[{\"content\":{\"parts\":[\"hi\"]}}]}", LLM_ERR_PROTOCOL, "part is not an object"},
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":5}]}}]}", LLM_ERR_PROTOCOL, "text is not a string"},
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thoughtSignature\":1}]}}]}",
         LLM_ERR_PROTOCOL, "thoughtSignature"},
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"args\":{}}}]}}]}",
         LLM_ERR_PROTOCOL, "without a name"},
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":\"f\"}]}}]}",
         LLM_ERR_PROTOCOL, "without a name"},
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":[1]}}]}}]}",
         LLM_ERR_PROTOCOL, "not an object"},
    };
    llm_request *r = user("x");
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        ctx_init(&c, r);
        struct llm__http_res res = {200, NULL, 0, cases[i].body, strlen(cases[i].body)};
        CHECK_INT(llm__gemini_ops.parse(&c.call, &res, c.resp), cases[i].status);
        if (!strstr(llm_response_errmsg(c.resp), cases[i].why))
            printf("#   case %zu: %s\n", i, llm_response_errmsg(c.resp));
        CHECK(strstr(llm_response_errmsg(c.resp), cases[i].why) != NULL);
        ctx_free(&c);
    }

    /* Tolerated: unknown members and values, odd usage, huge counts, null
     * args, a 200 that carries an error object. */
    const char *odd =
        "{\"candidates\":[{\"index\":1,\"content\":{\"parts\":[{\"text\":\"other\"}]}},"
        "{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":null,\"id\":\"\"}},"
        "{\"functionCall\":{\"name\":\"g\",\"id\":\"call_1\"}},{\"functionCall\":{\"name\":\"h\"}},"
        "{\"text\":\"\"},{\"newKind\":{\"a\":1}}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"x\":1}],"
        "\"usageMetadata\":{\"promptTokenCount\":9223372036854775807,\"toolUsePromptTokenCount\":5,"
        "\"candidatesTokenCount\":-3,\"thoughtsTokenCount\":\"7\"},\"extra\":true}";
    struct ctx c;
    ctx_init(&c, r);
    struct llm__http_res res = {200, NULL, 0, odd, strlen(odd)};
    CHECK_INT(llm__gemini_ops.parse(&c.call, &res, c.resp), LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(c.resp), 3);
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 0, NULL), "{}");
    /* Synthetic ids never collide with Gemini's own. */
    CHECK_STR(llm_response_tool_call_id(c.resp, 0), "call_0");
    CHECK_STR(llm_response_tool_call_id(c.resp, 1), "call_1");
    CHECK_STR(llm_response_tool_call_id(c.resp, 2), "call_2");
    CHECK_INT(llm_response_part_type(c.resp, 3), LLM_PART_OPAQUE);
    CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), INT64_MAX);
    CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), 0);
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_TOOL_CALLS);
    ctx_free(&c);

    const char *err200 = "{\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}";
    ctx_init(&c, r);
    struct llm__http_res res2 = {200, NULL, 0, err200, strlen(err200)};
    CHECK_INT(llm__gemini_ops.parse(&c.call, &res2, c.resp), LLM_ERR_SERVER);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(hostile_streams)
{
    static const struct { const char *body; int status; } cases[] = {
        {"data: {nope\r\n\r\n", LLM_ERR_PROTOCOL},
        {"data: [1]\r\n\r\n", LLM_ERR_PROTOCOL},
        {"data: {\"candidates\":5}\r\n\r\n", LLM_ERR_PROTOCOL},
        {": keep-alive\r\n\r\n\r\n\r\n", LLM_ERR_NETWORK},
        {"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\r\n\r\n", LLM_ERR_NETWORK},
        {"data: {\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"message\":\"slow down\","
         "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"7s\"}]}}\r\n\r\n",
         LLM_ERR_RATE_LIMITED},
        {"event: weird\r\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},"
         "\"finishReason\":\"MAX_TOKENS\"}]}\r\n\r\ndata:   \r\n\r\n", LLM_OK},
    };
    llm_request *r = user("x");
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        llm__buf log = {0};
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, cases[i].body, strlen(cases[i].body), 3, &log), cases[i].status);
        CHECK(cases[i].status == LLM_OK || strlen(llm_response_errmsg(c.resp)) > 0);
        if (cases[i].status == LLM_ERR_RATE_LIMITED) {
            CHECK_INT(llm_response_retry_after_ms(c.resp), 7000);
            CHECK_INT(llm_response_error_mid_stream(c.resp), 1);
        }
        if (cases[i].status == LLM_OK)
            CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_LENGTH);
        llm__buf_free(&log);
        ctx_free(&c);
    }
    llm_request_free(r);
}

TEST(signed_parts_split_and_join)
{
    /* Stream deltas of one kind join one part; a signature closes it. */
    const char *body =
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Think\",\"thought\":true}]}}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ing\",\"thought\":true,"
        "\"thoughtSignature\":\"UzE=\"}]}}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"more\",\"thought\":true}]}}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]}}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B\"}]}}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\",\"thoughtSignature\":\"UzI=\"}]},"
        "\"finishReason\":\"STOP\"}]}\r\n\r\n";
    llm_request *r = user("x");
    struct ctx c;
    llm__buf log = {0};
    ctx_init(&c, r);
    CHECK_INT(run_stream(&c, body, strlen(body), 11, &log), LLM_OK);
    CHECK_STR(log.data, "reasoning Think\nreasoning ing\nreasoning more\ntext A\ntext B\n");
    CHECK_INT((int)llm_response_part_count(c.resp), 3);
    CHECK_STR(llm_response_part_text(c.resp, 0, NULL), "Thinking");
    CHECK_STR(c.resp->msg.parts[0].meta.json, "{\"thought\":true,\"thoughtSignature\":\"UzE=\"}");
    CHECK_STR(llm_response_part_text(c.resp, 1, NULL), "more");
    CHECK_STR(c.resp->msg.parts[1].meta.json, "{\"thought\":true}");
    CHECK_STR(llm_response_part_text(c.resp, 2, NULL), "AB");
    CHECK_STR(c.resp->msg.parts[2].meta.json, "{\"thoughtSignature\":\"UzI=\"}");
    CHECK_STR(llm_response_text(c.resp, NULL), "AB");
    /* A lone signature with no text before it keeps an empty part. */
    ctx_free(&c);
    const char *lone = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\"}},"
                       "{\"text\":\"\",\"thoughtSignature\":\"UzM=\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n";
    ctx_init(&c, r);
    llm__buf_reset(&log);
    CHECK_INT(run_stream(&c, lone, strlen(lone), 0, &log), LLM_OK);
    CHECK_INT((int)llm_response_part_count(c.resp), 2);
    CHECK_INT(llm_response_part_type(c.resp, 1), LLM_PART_TEXT);
    CHECK_STR(c.resp->msg.parts[1].meta.json, "{\"thoughtSignature\":\"UzM=\"}");
    CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_TOOL_CALLS);
    ctx_free(&c);
    llm__buf_free(&log);
    llm_request_free(r);
}

TEST(bad_arguments)
{
    CHECK_INT(llm__gemini_ops.build(NULL, NULL), LLM_ERR_MISUSE);
    llm_response *resp = llm__response_new();
    struct llm__call call = {0};
    call.ops = &llm__gemini_ops;
    call.resp = resp;
    struct llm__http_req http = {0};
    CHECK_INT(llm__gemini_ops.build(&call, &http), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__gemini_ops.parse(&call, NULL, resp), LLM_ERR_PROTOCOL);
    CHECK_INT(llm__gemini_ops.parse(&call, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm__gemini_ops.map_error(&call, NULL, resp), LLM_ERR_PROTOCOL);
    CHECK_INT(llm__gemini_ops.map_error(&call, NULL, NULL), LLM_ERR_MISUSE);
    llm__http_req_free(&http);
    llm__response_destroy(resp);
}

/* The status of a run whose allocation failed: NOMEM, or, when the
 * allocation failed inside jansson's decoder, the "not JSON" failure that
 * jansson reports for some of them (it does not flag every one as
 * json_error_out_of_memory). */
static int oom_status(int rc, const llm_response *resp)
{
    const char *m = llm_response_errmsg(resp);
    if (rc == LLM_ERR_NOMEM)
        return 1;
    if ((rc == LLM_ERR_PROTOCOL || rc == LLM_ERR_INVALID_ARG) &&
        (strstr(m, "not JSON") || strstr(m, "not valid JSON")))
        return 1;
    printf("#   rc %d after an allocation failure: %s\n", rc, m);
    return 0;
}

/* Every allocation of a build, a parse and a stream fails in turn: each
 * run ends in LLM_ERR_NOMEM (or succeeds once past the last allocation),
 * and leaks nothing (ASan / valgrind). */
TEST(allocation_failures)
{
    static const char *kases[] = {"thought_signature", "tool_results", "image", "structured",
                                  "schema_nullable"};
    for (size_t k = 0; k < LLM__ARRAY_LEN(kases); k++) {
        llm_request *r;
        if (strcmp(kases[k], "thought_signature") == 0) {
            struct ctx c0;
            llm_request *r0;
            CHECK_INT(parse_case("thought_signature", &c0, &r0), LLM_OK);
            r = next_turn(c0.resp);
            ctx_free(&c0);
            llm_request_free(r0);
        } else if (strcmp(kases[k], "schema_nullable") == 0) {
            char *text = slurp(kases[k], "tools.json", NULL);
            json_t *tools = json_loads(text, 0, NULL);
            char *schema = json_dumps(json_object_get(json_array_get(tools, 0), "schema"), JSON_COMPACT);
            r = user("Use the tool.");
            CHECK_INT(llm_request_add_tool(r, "find_city", "Find a city.", schema), LLM_OK);
            free(schema);
            json_decref(tools);
            free(text);
        } else {
            r = req_for(kases[k]);
        }
        int done = 0;
        for (long n = 0; n < 100000 && !done; n++) {
            struct ctx c;
            ctx_init(&c, r);
            arm(n);
            int rc = build(&c);
            arm(-1);
            if (rc == LLM_OK)
                done = nallocs <= n;
            else
                CHECK(oom_status(rc, c.resp));
            ctx_free(&c);
        }
        CHECK(done);
        llm_request_free(r);
    }

    /* jansson 2.14's decoder itself crashes when some of its allocations
     * fail, so while replies are read only libllm's own allocations fail;
     * the builds above failed jansson's too. */
    json_set_alloc_funcs(malloc, free);
    static const char *replies[] = {"thought_signature", "blocked_prompt", "retry_info", "function_call_ids"};
    for (size_t k = 0; k < LLM__ARRAY_LEN(replies); k++) {
        struct fixture fx;
        CHECK_INT(load_reply(replies[k], "response", &fx), 0);
        llm_request *r = user("x");
        int want = fx.status == 200 ? LLM_OK : LLM_ERR_RATE_LIMITED;
        int done = 0;
        for (long n = 0; n < 100000 && !done; n++) {
            struct ctx c;
            ctx_init(&c, r);
            arm(n);
            int rc = reply_into(c.resp, &c.call, &fx);
            arm(-1);
            if (rc == want)
                done = nallocs <= n;
            else
                CHECK(oom_status(rc, c.resp));
            ctx_free(&c);
        }
        CHECK(done);
        llm_request_free(r);

        fixture_free(&fx);
        if (load_reply(replies[k], "response.stream", &fx) != 0 || fx.status != 200) {
            fixture_free(&fx);
            continue;
        }
        r = user("x");
        done = 0;
        for (long n = 0; n < 100000 && !done; n++) {
            struct ctx c;
            llm__buf log = {0};
            ctx_init(&c, r);
            arm(n);
            int rc = run_stream(&c, fx.body, fx.body_len, 0, &log);
            arm(-1);
            if (rc == LLM_OK)
                done = nallocs <= n;
            else
                CHECK(oom_status(rc, c.resp));
            llm__buf_free(&log);
            ctx_free(&c);
        }
        CHECK(done);
        llm_request_free(r);
        fixture_free(&fx);
    }
    json_set_alloc_funcs(j_malloc, j_free);
}

int main(void)
{
    if (llm_global_init_alloc(LLM_INIT_NO_ENV | LLM_INIT_ALLOC_JANSSON, t_malloc, t_realloc, t_free,
                              NULL) != LLM_OK) {
        printf("not ok - llm_global_init_alloc\n");
        return 1;
    }
    RUN(build_text_url_headers_body);
    RUN(build_standard_cases);
    RUN(build_model_names_and_base_url);
    RUN(build_auth);
    RUN(build_tool_choice_and_parallel);
    RUN(build_tool_declarations);
    RUN(build_schema_conversion_cases);
    RUN(build_generation_config);
    RUN(build_extras);
    RUN(build_images);
    RUN(build_merges_roles_and_results);
    RUN(parse_standard_cases);
    RUN(parse_tool_calls);
    RUN(thought_signature_round_trip);
    RUN(function_call_ids_round_trip);
    RUN(replay_of_foreign_and_opaque_parts);
    RUN(parse_filters);
    RUN(finish_reasons);
    RUN(error_mapping);
    RUN(error_bodies_and_retry_delays);
    RUN(streams_standard_cases);
    RUN(stream_mid_error_and_truncation);
    RUN(hostile_replies);
    RUN(hostile_streams);
    RUN(signed_parts_split_and_join);
    RUN(bad_arguments);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
