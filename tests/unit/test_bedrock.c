/*
 * test_bedrock.c - the Bedrock Converse adapter without I/O: request bodies
 * against tests/providers/bedrock/<case>/request.json, URLs, SigV4 and
 * bearer authentication (a signed request pinned byte for byte), replies
 * and event streams from the fixtures (fed through the real event-stream
 * decoder in 1-byte, 7-byte and whole chunks), error mapping, replay of
 * reasoning, hostile replies and frames, and every allocation failing in
 * turn.
 */
#include "test.h"
#include "fixture.h"
#include "internal.h"
#include "providers/provider.h"

#include <stdio.h>
#include <stdlib.h>

#define MODEL "anthropic.claude-3-5-sonnet-20240620-v1:0"
#define MODEL_URL "https://bedrock-runtime.us-east-1.amazonaws.com/model/" \
                  "anthropic.claude-3-5-sonnet-20240620-v1%3A0"
/* 2024-06-15T12:00:00Z */
#define T_2024 1718452800000LL

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
/* Tool ids of the parallel_tools fixture, answered by tool_results. */
#define W_ID "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
#define T_ID "tooluse_Wq3hX9b2SfCk0LrT8vYp1A"

/* ---- an allocator that fails on demand --------------------------------- */

static long fail_at = -1;
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

static void arm(long n)
{
    nallocs = 0;
    fail_at = n;
}

/* ---- fixtures ---------------------------------------------------------- */

static char *slurp(const char *kase, const char *file, size_t *len_out)
{
    return fixture_slurp("bedrock", kase, file, len_out);
}

static int load_reply(const char *kase, const char *file, struct fixture *fx)
{
    return fixture_load("bedrock", kase, file, fx);
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
    if (c->resp) {
        llm__resp_set_str(&c->resp->provider, "bedrock");
        llm__resp_set_str(&c->resp->meta_model, MODEL);
    }
    c->call.ops = &llm__bedrock_ops;
    c->call.provider = "bedrock";
    c->call.req = req;
    c->call.model = MODEL;
    c->call.region = "us-east-1";
    c->call.aws_access_key_id = "AKIDEXAMPLE";
    c->call.aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    c->call.now_ms = T_2024;
    c->call.default_max_tokens = 4096;
    c->call.resp = c->resp;
}

static void ctx_free(struct ctx *c)
{
    llm__http_req_free(&c->http);
    llm__response_destroy(c->resp);
}

static int build(struct ctx *c)
{
    return llm__bedrock_ops.build(&c->call, &c->http);
}

static int json_text_equals(const char *got_text, const char *want_text, const char *what)
{
    json_t *want = want_text ? json_loads(want_text, 0, NULL) : NULL;
    json_t *got = got_text ? json_loads(got_text, 0, NULL) : NULL;
    int ok = want && got && json_equal(want, got);
    if (!ok) {
        char *w = want ? json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        printf("#   %s differs\n#   want %s\n#   got  %s\n", what, w ? w : "(none)",
               g ? g : (got_text ? got_text : "(none)"));
        free(w);
        free(g);
    }
    json_decref(want);
    json_decref(got);
    return ok;
}

static int body_equals(const struct llm__http_req *h, const char *kase)
{
    char *want = slurp(kase, "request.json", NULL);
    char what[128];
    snprintf(what, sizeof what, "%s/request.json", kase);
    int ok = json_text_equals(h->body.data, want, what);
    free(want);
    return ok;
}

static json_t *body_json(const struct ctx *c)
{
    return c->http.body.data ? json_loads(c->http.body.data, 0, NULL) : NULL;
}

/* ---- the standard requests --------------------------------------------- */

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
    CHECK_INT(llm_request_append_tool_call(r, W_ID, "get_weather", "{\"city\":\"Paris\"}", 16), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, T_ID, "get_time", "{\"tz\":\"Asia/Tokyo\"}", 19), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, W_ID, NULL, "{\"temp_c\":18}", 13, LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, T_ID, NULL, "{\"time\":\"09:00\"}", 16, LLM_TOOL_RESULT_JSON), LLM_OK);
    return r;
}

static llm_request *req_for(const char *kase)
{
    llm_request *r;
    if (strcmp(kase, "history") == 0)
        return req_history();
    if (strcmp(kase, "tools") == 0) {
        r = user("Weather in Paris?");
        add_tools(r);
        return r;
    }
    if (strcmp(kase, "parallel_tools") == 0) {
        r = user("Weather in Paris and time in Tokyo?");
        add_tools(r);
        return r;
    }
    if (strcmp(kase, "tool_results") == 0)
        return req_tool_results();
    if (strcmp(kase, "image") == 0) {
        CHECK_INT(llm_request_new(&r), LLM_OK);
        CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
        CHECK_INT(llm_request_append_text(r, "What is this?", 13), LLM_OK);
        CHECK_INT(llm_request_append_image(r, "image/png", red_png, sizeof red_png), LLM_OK);
        return r;
    }
    if (strcmp(kase, "structured") == 0) {
        r = user("Answer as JSON.");
        CHECK_INT(llm_request_set_response_schema(r, "answer",
            "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"}},\"required\":[\"answer\"]}"), LLM_OK);
        return r;
    }
    if (strcmp(kase, "unicode") == 0)
        return user("Echo: \xF0\x9F\x98\x80 \xE6\xBC\xA2\xE5\xAD\x97 \"q\"\nline2");
    if (strcmp(kase, "reasoning") == 0) {
        r = user("What is 27 * 453?");
        CHECK_INT(llm_request_set_reasoning_budget(r, 1024), LLM_OK);
        CHECK_INT(llm_request_set_max_tokens(r, 2048), LLM_OK);
        return r;
    }
    return user("Say hi.");
}

/* ---- replies and streams ------------------------------------------------ */

static int reply_into(llm_response *resp, struct llm__call *call, const struct fixture *fx)
{
    struct llm__http_res res = {fx->status, fx->h, fx->nh, fx->body, fx->body_len};
    resp->http_status = fx->status;
    if (fx->status >= 200 && fx->status < 300)
        return llm__bedrock_ops.parse(call, &res, resp);
    const char *ra = llm__http_res_header(&res, "retry-after");
    resp->retry_after_ms = ra ? atoi(ra) * 1000 : -1;
    resp->retryable = llm__http_retryable(fx->status);
    return llm__bedrock_ops.map_error(call, &res, resp);
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
    return llm__bedrock_ops.stream_event(ud, f);
}

/* Feed event-stream bytes in chunks (0: all at once) through the real
 * decoder; the events go into log, one line each.  Returns the first
 * failure, or stream_end's verdict. */
static int run_stream(struct ctx *c, const char *body, size_t len, size_t chunk, llm__buf *log)
{
    struct llm__sstate st;
    c->call.streaming = 1;
    if (llm__sstate_init(&st, &c->call, c->resp) != LLM_OK)
        return LLM_ERR_NOMEM;
    struct llm__evs *p = NULL;
    int rc = llm__bedrock_ops.stream_begin(&st);
    if (!rc)
        rc = llm__evs_new(&p, 1 << 20, on_frame, &st);
    if (!chunk)
        chunk = len ? len : 1;
    for (size_t off = 0; rc == LLM_OK && off < len; off += chunk)
        rc = llm__evs_feed(p, body + off, len - off < chunk ? len - off : chunk);
    if (rc == LLM_OK)
        rc = llm__evs_finish(p);
    if (rc == LLM_OK)
        rc = llm__bedrock_ops.stream_end(&st);
    const llm_event *ev;
    while (llm__sstate_pop(&st, &ev)) {
        size_t n;
        const char *t = llm_event_text(ev, &n);
        if (!log)
            continue;
        switch (llm_event_type(ev)) {
        case LLM_EVENT_TEXT_DELTA: llm__buf_printf(log, "text %.*s\n", (int)n, t); break;
        case LLM_EVENT_REASONING_DELTA: llm__buf_printf(log, "reasoning %.*s\n", (int)n, t); break;
        case LLM_EVENT_TOOL_CALL_START:
            llm__buf_printf(log, "tool_start %d %s %s\n", llm_event_tool_index(ev),
                            llm_event_tool_id(ev), llm_event_tool_name(ev));
            break;
        case LLM_EVENT_TOOL_CALL_DELTA:
            llm__buf_printf(log, "tool_delta %d %.*s\n", llm_event_tool_index(ev), (int)n, t);
            break;
        case LLM_EVENT_TOOL_CALL_END: llm__buf_printf(log, "tool_end %d\n", llm_event_tool_index(ev)); break;
        case LLM_EVENT_USAGE: llm__buf_puts(log, "usage\n"); break;
        case LLM_EVENT_WARNING: llm__buf_printf(log, "warning %.*s\n", (int)n, t); break;
        default: llm__buf_puts(log, "?\n"); break;
        }
    }
    llm__bedrock_ops.stream_free(&st);
    llm__sstate_cleanup(&st);
    llm__evs_free(p);
    return rc;
}

static int stream_case(const char *kase, struct ctx *c, llm_request **req_out, size_t chunk,
                       llm__buf *log)
{
    struct fixture fx;
    *req_out = req_for(kase);
    ctx_init(c, *req_out);
    if (load_reply(kase, "response.stream", &fx) != 0) {
        CHECK(!"fixture loads");
        fixture_free(&fx);
        return LLM_ERR_PROTOCOL;
    }
    c->resp->http_status = fx.status;
    int rc = run_stream(c, fx.body, fx.body_len, chunk, log);
    fixture_free(&fx);
    return rc;
}

static int64_t usage(const llm_response *r, int kind)
{
    int64_t v = -1;
    llm_response_usage(r, kind, &v);
    return v;
}

/* One event-stream message with string headers, built here so that tests
 * can make frames the fixtures do not have. */
static void evs_msg(llm__buf *out, const char *mtype, const char *tname, const char *tval,
                    const char *payload, size_t plen)
{
    llm__buf h = {0};
    const char *names[3] = {tname, ":content-type", ":message-type"};
    const char *vals[3] = {tval, "application/json", mtype};
    for (int i = 0; i < 3; i++) {
        if (!names[i] || !vals[i])
            continue;
        size_t nl = strlen(names[i]), vl = strlen(vals[i]);
        llm__buf_putc(&h, (char)nl);
        llm__buf_append(&h, names[i], nl);
        llm__buf_putc(&h, 7);
        llm__buf_putc(&h, (char)(vl >> 8));
        llm__buf_putc(&h, (char)(vl & 0xff));
        llm__buf_append(&h, vals[i], vl);
    }
    uint32_t total = (uint32_t)(16 + h.len + plen);
    unsigned char pre[12] = {(unsigned char)(total >> 24), (unsigned char)(total >> 16),
                             (unsigned char)(total >> 8), (unsigned char)total,
                             (unsigned char)(h.len >> 24), (unsigned char)(h.len >> 16),
                             (unsigned char)(h.len >> 8), (unsigned char)h.len};
    uint32_t pc = llm__crc32(0, pre, 8);
    pre[8] = (unsigned char)(pc >> 24);
    pre[9] = (unsigned char)(pc >> 16);
    pre[10] = (unsigned char)(pc >> 8);
    pre[11] = (unsigned char)pc;
    size_t at = out->len;
    llm__buf_append(out, pre, 12);
    llm__buf_append(out, h.data ? h.data : "", h.len);
    llm__buf_append(out, payload ? payload : "", plen);
    uint32_t mc = llm__crc32(0, out->data + at, out->len - at);
    unsigned char tail[4] = {(unsigned char)(mc >> 24), (unsigned char)(mc >> 16),
                             (unsigned char)(mc >> 8), (unsigned char)mc};
    llm__buf_append(out, tail, 4);
    llm__buf_free(&h);
}

static void evs_event(llm__buf *out, const char *type, const char *json)
{
    evs_msg(out, "event", ":event-type", type, json, strlen(json));
}

/* ======================================================================== */

TEST(build_text_url_headers_body)
{
    llm_request *r = user("Say hi.");
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.method, "POST");
    CHECK_STR(c.http.url.data, MODEL_URL "/converse");
    CHECK(body_equals(&c.http, "text"));
    CHECK_STR(llm__http_req_get(&c.http, "Content-Type"), "application/json");
    CHECK_STR(llm__http_req_get(&c.http, "X-Amz-Date"), "20240615T120000Z");
    CHECK(llm__http_req_get(&c.http, "X-Amz-Security-Token") == NULL);
    /* Pinned: the body is {"messages":[{"role":"user","content":[{"text":"Say hi."}]}]};
     * the signature was cross-checked with botocore 1.43.11's SigV4Auth. */
    CHECK_STR(c.http.body.data, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Say hi.\"}]}]}");
    CHECK_STR(llm__http_req_get(&c.http, "Authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240615/us-east-1/bedrock/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date, "
              "Signature=5736b42c98b211d1c8c17807b6dec8052d9c0a43d3b98a94de2ed3ac02069414");
    ctx_free(&c);

    /* Streamed: converse-stream, same body, a session token signed along. */
    ctx_init(&c, r);
    c.call.streaming = 1;
    c.call.aws_session_token = "FQoGZXIvYXdzEXAMPLETOKEN";
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.url.data, MODEL_URL "/converse-stream");
    CHECK(body_equals(&c.http, "text"));
    CHECK_STR(llm__http_req_get(&c.http, "X-Amz-Security-Token"), "FQoGZXIvYXdzEXAMPLETOKEN");
    CHECK(strstr(llm__http_req_get(&c.http, "Authorization"),
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, ") != NULL);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_standard_cases)
{
    static const char *cases[] = {"text", "history", "tools", "parallel_tools", "tool_results",
                                  "image", "structured", "unicode", "reasoning"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        llm_request *r = req_for(cases[i]);
        struct ctx c;
        ctx_init(&c, r);
        int rc = build(&c);
        CHECK_INT(rc, LLM_OK);
        if (rc)
            printf("#   %s: %s\n", cases[i], llm_response_errmsg(c.resp));
        CHECK(body_equals(&c.http, cases[i]));
        CHECK_INT(llm_response_warning_count(c.resp), 0);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(build_model_ids_and_base_url)
{
    static const struct { const char *model, *path; } ids[] = {
        {"us.anthropic.claude-sonnet-4-5-20250929-v1:0",
         "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"},
        {"global.anthropic.claude-opus-4-6-v1", "/model/global.anthropic.claude-opus-4-6-v1/converse"},
        {"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
         "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
         "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"},
        {"a b?c#d", "/model/a%20b%3Fc%23d/converse"},
    };
    llm_request *r = user("Say hi.");
    for (size_t i = 0; i < LLM__ARRAY_LEN(ids); i++) {
        struct ctx c;
        ctx_init(&c, r);
        c.call.model = ids[i].model;
        CHECK_INT(build(&c), LLM_OK);
        char want[512];
        snprintf(want, sizeof want, "https://bedrock-runtime.us-east-1.amazonaws.com%s", ids[i].path);
        CHECK_STR(c.http.url.data, want);
        ctx_free(&c);
    }
    /* The ARN with the worked signing inputs: the canonical URI encodes the
     * wire path again (test_sigv4 pins the signature itself). */
    struct ctx c;
    ctx_init(&c, r);
    c.call.region = "eu-central-1";
    CHECK_INT(build(&c), LLM_OK);
    CHECK(strncmp(c.http.url.data, "https://bedrock-runtime.eu-central-1.amazonaws.com/model/", 57) == 0);
    CHECK(strstr(llm__http_req_get(&c.http, "Authorization"), "/eu-central-1/bedrock/aws4_request") != NULL);
    ctx_free(&c);

    /* An explicit base URL: no region needed for the URL, one slash. */
    ctx_init(&c, r);
    c.call.base_url = "http://127.0.0.1:8080/t/bedrock/text/c1/";
    c.call.bearer_token = "bedrock-api-key-abc";
    c.call.region = NULL;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(c.http.url.data, "http://127.0.0.1:8080/t/bedrock/text/c1/model/"
                               "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    ctx_free(&c);

    /* Bad model ids. */
    static const char *bad[] = {"", ".", ".."};
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        ctx_init(&c, r);
        c.call.model = bad[i];
        CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
        ctx_free(&c);
    }
    ctx_init(&c, r);
    c.call.model = NULL;
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "model") != NULL);
    ctx_free(&c);
    char *longid = malloc(3000);
    memset(longid, 'a', 2999);
    longid[2999] = '\0';
    ctx_init(&c, r);
    c.call.model = longid;
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);
    free(longid);
    llm_request_free(r);
}

TEST(build_auth)
{
    llm_request *r = user("Say hi.");
    struct ctx c;

    /* A Bedrock API key wins over IAM credentials (botocore's preference
     * when AWS_BEARER_TOKEN_BEDROCK is set): no SigV4 at all. */
    ctx_init(&c, r);
    c.call.bearer_token = "bedrock-api-key-abc";
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(llm__http_req_get(&c.http, "Authorization"), "Bearer bedrock-api-key-abc");
    CHECK(llm__http_req_get(&c.http, "X-Amz-Date") == NULL);
    ctx_free(&c);

    /* An API key given through llm_client_set_api_key is one too. */
    ctx_init(&c, r);
    c.call.api_key = "bedrock-api-key-xyz";
    c.call.aws_access_key_id = c.call.aws_secret_access_key = NULL;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_STR(llm__http_req_get(&c.http, "Authorization"), "Bearer bedrock-api-key-xyz");
    ctx_free(&c);

    ctx_init(&c, r);
    c.call.bearer_token = "bad\r\nX-Injected: 1";
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);

    /* No credentials at all: LLM_ERR_AUTH before anything is sent. */
    ctx_init(&c, r);
    c.call.aws_access_key_id = c.call.aws_secret_access_key = NULL;
    CHECK_INT(build(&c), LLM_ERR_AUTH);
    CHECK(strstr(llm_response_errmsg(c.resp), "AWS_ACCESS_KEY_ID") != NULL);
    CHECK(strstr(llm_response_errmsg(c.resp), "AWS_BEARER_TOKEN_BEDROCK") != NULL);
    ctx_free(&c);
    ctx_init(&c, r);
    c.call.aws_secret_access_key = "";
    CHECK_INT(build(&c), LLM_ERR_AUTH);
    CHECK(strstr(llm_response_errmsg(c.resp), "incomplete") != NULL);
    ctx_free(&c);

    /* No region: LLM_ERR_INVALID_ARG naming the remedy. */
    ctx_init(&c, r);
    c.call.region = NULL;
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "AWS_REGION") != NULL);
    ctx_free(&c);
    ctx_init(&c, r);
    c.call.region = "us east 1";
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);
    /* A base URL spares the region for the URL, not for SigV4. */
    ctx_init(&c, r);
    c.call.region = "";
    c.call.base_url = "https://bedrock-runtime-fips.us-east-1.amazonaws.com";
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "region") != NULL);
    ctx_free(&c);

    /* An access key id that cannot be put in a Credential= is refused. */
    ctx_init(&c, r);
    c.call.aws_access_key_id = "AKID/EXAMPLE";
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "sign") != NULL);
    ctx_free(&c);
    llm_request_free(r);
}

static json_t *tool_config(struct ctx *c, json_t **body_out)
{
    json_t *b = body_json(c);
    *body_out = b;
    return json_object_get(b, "toolConfig");
}

TEST(build_tool_choice)
{
    static const struct { int choice; const char *json; } choices[] = {
        {LLM_TOOL_CHOICE_AUTO, "{\"auto\":{}}"},
        {LLM_TOOL_CHOICE_REQUIRED, "{\"any\":{}}"},
        {LLM_TOOL_CHOICE_NAMED, "{\"tool\":{\"name\":\"get_time\"}}"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(choices); i++) {
        llm_request *r = user("Weather in Paris?");
        add_tools(r);
        CHECK_INT(llm_request_set_tool_choice(r, choices[i].choice,
                                              choices[i].choice == LLM_TOOL_CHOICE_NAMED ? "get_time" : NULL), LLM_OK);
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(build(&c), LLM_OK);
        json_t *b;
        json_t *tc = tool_config(&c, &b);
        char *got = json_dumps(json_object_get(tc, "toolChoice"), JSON_COMPACT);
        CHECK(json_text_equals(got, choices[i].json, "toolChoice"));
        CHECK_INT(json_array_size(json_object_get(tc, "tools")), 2);
        free(got);
        json_decref(b);
        ctx_free(&c);
        llm_request_free(r);
    }

    /* "none" has no Converse form: fails by default ... */
    llm_request *r = user("Weather in Paris?");
    add_tools(r);
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NONE, NULL), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(c.resp), "tool_choice") != NULL);
    ctx_free(&c);
    /* ... and dropped, leaves the tools out, which forbids calls. */
    ctx_init(&c, r);
    c.call.drop_unsupported = 1;
    CHECK_INT(build(&c), LLM_OK);
    json_t *b;
    CHECK(tool_config(&c, &b) == NULL);
    CHECK_INT(llm_response_warning_count(c.resp), 1);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    /* With tool blocks in the history Bedrock needs the toolConfig: the
     * tools stay (no toolChoice) and a warning says so. */
    r = req_tool_results();
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NONE, NULL), LLM_OK);
    ctx_init(&c, r);
    c.call.drop_unsupported = 1;
    CHECK_INT(build(&c), LLM_OK);
    json_t *tc = tool_config(&c, &b);
    CHECK(tc != NULL);
    CHECK(json_object_get(tc, "toolChoice") == NULL);
    CHECK_INT(json_array_size(json_object_get(tc, "tools")), 2);
    CHECK_INT(llm_response_warning_count(c.resp), 2);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    /* parallel_tool_calls false has no Converse field either. */
    r = user("Weather in Paris?");
    add_tools(r);
    CHECK_INT(llm_request_set_parallel_tool_calls(r, 0), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(c.resp), "parallel_tool_calls") != NULL);
    ctx_free(&c);
    ctx_init(&c, r);
    c.call.drop_unsupported = 1;
    CHECK_INT(build(&c), LLM_OK);
    CHECK_INT(llm_response_warning_count(c.resp), 1);
    ctx_free(&c);
    llm_request_free(r);

    /* A tool without a schema gets an empty object schema; a bad schema
     * is refused. */
    r = user("Hi");
    CHECK_INT(llm_request_add_tool(r, "ping", NULL, NULL), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    tc = tool_config(&c, &b);
    char *spec = json_dumps(json_array_get(json_object_get(tc, "tools"), 0), JSON_COMPACT);
    CHECK(json_text_equals(spec, "{\"toolSpec\":{\"name\":\"ping\",\"inputSchema\":{\"json\":"
                                 "{\"type\":\"object\",\"properties\":{}}}}}", "toolSpec"));
    free(spec);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(build_params)
{
    llm_request *r = user("Hi");
    CHECK_INT(llm_request_set_top_k(r, 40), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_budget(r, 2000), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_LOW), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "bedrock",
        "{\"additionalModelRequestFields\":{\"anthropic_beta\":[\"x\"]},\"serviceTier\":{\"type\":\"flex\"}}", 87), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "anthropic", "{\"ignored\":true}", 16), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, NULL, "{\"requestMetadata\":{\"team\":\"a\"}}", 32), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    CHECK(json_text_equals(c.http.body.data,
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}],"
        "\"additionalModelRequestFields\":{\"top_k\":40,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000},"
        "\"anthropic_beta\":[\"x\"]},\"outputConfig\":{\"effort\":\"low\"},"
        "\"serviceTier\":{\"type\":\"flex\"},\"requestMetadata\":{\"team\":\"a\"}}", "params body"));
    ctx_free(&c);
    llm_request_free(r);

    /* Extra JSON replaces members libllm set, except the model fields. */
    r = user("Hi");
    CHECK_INT(llm_request_set_temperature(r, 0.2), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, NULL, "{\"inferenceConfig\":{\"maxTokens\":7}}", 35), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    json_t *b = body_json(&c);
    char *ic = json_dumps(json_object_get(b, "inferenceConfig"), JSON_COMPACT);
    CHECK_STR(ic, "{\"maxTokens\":7}");
    free(ic);
    json_decref(b);
    ctx_free(&c);
    llm_request_free(r);

    /* Drop-or-fail: seed, effort minimal and none. */
    static const struct { int what; const char *param; } unsup[] = {
        {0, "seed"}, {LLM_REASONING_MINIMAL, "reasoning_effort"}, {LLM_REASONING_NONE, "reasoning_effort"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(unsup); i++) {
        r = user("Hi");
        if (unsup[i].what)
            CHECK_INT(llm_request_set_reasoning_effort(r, unsup[i].what), LLM_OK);
        else
            CHECK_INT(llm_request_set_seed(r, 7), LLM_OK);
        ctx_init(&c, r);
        CHECK_INT(build(&c), LLM_ERR_UNSUPPORTED);
        CHECK(strstr(llm_response_errmsg(c.resp), unsup[i].param) != NULL);
        ctx_free(&c);
        ctx_init(&c, r);
        c.call.drop_unsupported = 1;
        CHECK_INT(build(&c), LLM_OK);
        CHECK_INT(llm_response_warning_count(c.resp), 1);
        CHECK(json_text_equals(c.http.body.data,
                               "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}", "dropped"));
        ctx_free(&c);
        llm_request_free(r);
    }
    r = user("Hi");
    CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_NONE), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_budget(r, 100), LLM_OK);
    ctx_init(&c, r);
    c.call.drop_unsupported = 1;
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);
    llm_request_free(r);

    /* Effort levels. */
    static const struct { int e; const char *w; } efforts[] = {
        {LLM_REASONING_LOW, "low"}, {LLM_REASONING_MEDIUM, "medium"}, {LLM_REASONING_HIGH, "high"}};
    for (size_t i = 0; i < LLM__ARRAY_LEN(efforts); i++) {
        r = user("Hi");
        CHECK_INT(llm_request_set_reasoning_effort(r, efforts[i].e), LLM_OK);
        ctx_init(&c, r);
        CHECK_INT(build(&c), LLM_OK);
        b = body_json(&c);
        CHECK_STR(llm__json_str(json_object_get(b, "outputConfig"), "effort"), efforts[i].w);
        json_decref(b);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(build_images_and_results)
{
    static const struct { const char *mime, *format; } fmts[] = {
        {"image/jpeg", "jpeg"}, {"image/JPG", "jpeg"}, {"image/gif", "gif"}, {"image/webp", "webp"}};
    for (size_t i = 0; i < LLM__ARRAY_LEN(fmts); i++) {
        llm_request *r = NULL;
        CHECK_INT(llm_request_new(&r), LLM_OK);
        CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
        CHECK_INT(llm_request_append_image(r, fmts[i].mime, (const unsigned char *)"abc", 3), LLM_OK);
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(build(&c), LLM_OK);
        char want[256];
        snprintf(want, sizeof want, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"image\":{\"format\":\"%s\","
                                    "\"source\":{\"bytes\":\"YWJj\"}}}]}]}", fmts[i].format);
        CHECK(json_text_equals(c.http.body.data, want, fmts[i].mime));
        ctx_free(&c);
        llm_request_free(r);
    }
    /* Unsupported: another image type, a URL to fetch; a base64 data: URL works. */
    static const struct { const char *mime, *url; int rc; } bad[] = {
        {"image/bmp", NULL, LLM_ERR_UNSUPPORTED},
        {NULL, "https://example.com/cat.png", LLM_ERR_UNSUPPORTED},
        {NULL, "data:image/png,raw", LLM_ERR_UNSUPPORTED},
        {NULL, "data:image/tiff;base64,AAAA", LLM_ERR_UNSUPPORTED},
        {NULL, "data:image/png;base64,YWJj", LLM_OK},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        llm_request *r = NULL;
        CHECK_INT(llm_request_new(&r), LLM_OK);
        CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
        if (bad[i].mime)
            CHECK_INT(llm_request_append_image(r, bad[i].mime, (const unsigned char *)"abc", 3), LLM_OK);
        else
            CHECK_INT(llm_request_append_image_url(r, bad[i].url), LLM_OK);
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(build(&c), bad[i].rc);
        if (bad[i].rc == LLM_OK)
            CHECK(json_text_equals(c.http.body.data,
                                   "{\"messages\":[{\"role\":\"user\",\"content\":[{\"image\":{\"format\":\"png\","
                                   "\"source\":{\"bytes\":\"YWJj\"}}}]}]}", "data: URL"));
        else
            CHECK(strstr(llm_response_errmsg(c.resp), "Bedrock") != NULL);
        ctx_free(&c);
        llm_request_free(r);
    }

    /* Results: error status, text, JSON that is not JSON; a user turn after
     * the results merges behind them. */
    llm_request *r = user("Go");
    CHECK_INT(llm_request_add_tool(r, "t", NULL, NULL), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_text(r, "Calling.", 8), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "a1", "t", "{\"k\":[1]}", 9), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "a2", "t", "{}", 2), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "a3", "t", " {} ", 4), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "a1", NULL, "disk full", 9, LLM_TOOL_RESULT_ERROR), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "a2", NULL, "plain", 5, 0), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "a3", NULL, "[1,2]", 5, LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "And?"), LLM_OK);
    struct ctx c;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    CHECK(json_text_equals(c.http.body.data,
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Go\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"text\":\"Calling.\"},"
        "{\"toolUse\":{\"toolUseId\":\"a1\",\"name\":\"t\",\"input\":{\"k\":[1]}}},"
        "{\"toolUse\":{\"toolUseId\":\"a2\",\"name\":\"t\",\"input\":{}}},"
        "{\"toolUse\":{\"toolUseId\":\"a3\",\"name\":\"t\",\"input\":{}}}]},"
        "{\"role\":\"user\",\"content\":["
        "{\"toolResult\":{\"toolUseId\":\"a1\",\"content\":[{\"text\":\"disk full\"}],\"status\":\"error\"}},"
        "{\"toolResult\":{\"toolUseId\":\"a2\",\"content\":[{\"text\":\"plain\"}]}},"
        "{\"toolResult\":{\"toolUseId\":\"a3\",\"content\":[{\"json\":[1,2]}]}},"
        "{\"text\":\"And?\"}]}],"
        "\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"t\",\"inputSchema\":{\"json\":"
        "{\"type\":\"object\",\"properties\":{}}}}}],\"toolChoice\":{\"auto\":{}}}}", "results"));
    ctx_free(&c);
    llm_request_free(r);

    /* Tool arguments that are not an object cannot become toolUse.input. */
    r = user("Go");
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "x", "t", "[1]", 3), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "toolUse.input") != NULL);
    ctx_free(&c);
    llm_request_free(r);

    /* Two system messages, lifted in order; adjacent users merged. */
    r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "A"), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "u1"), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "B"), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "u2"), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_OK);
    CHECK(json_text_equals(c.http.body.data,
        "{\"system\":[{\"text\":\"A\"},{\"text\":\"B\"}],"
        "\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"u1\"},{\"text\":\"u2\"}]}]}", "merge"));
    ctx_free(&c);
    llm_request_free(r);
}

TEST(parse_standard_cases)
{
    static const struct { const char *kase, *text; int finish; int64_t in, out; } cases[] = {
        {"text", "Hello from libllm.", LLM_FINISH_STOP, 12, 5},
        {"history", "Your name is Ada.", LLM_FINISH_STOP, 31, 6},
        {"tools", "Let me check.", LLM_FINISH_TOOL_CALLS, 412, 57},
        {"parallel_tools", "", LLM_FINISH_TOOL_CALLS, 430, 88},
        {"tool_results", "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo.", LLM_FINISH_STOP, 560, 16},
        {"image", "A red square.", LLM_FINISH_STOP, 21, 5},
        {"structured", "{\"answer\":42}", LLM_FINISH_STOP, 58, 6},
        {"unicode", "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line", LLM_FINISH_STOP, 19, 12},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct ctx c;
        llm_request *r;
        int rc = parse_case(cases[i].kase, &c, &r);
        CHECK_INT(rc, LLM_OK);
        if (rc)
            printf("#   %s: %s\n", cases[i].kase, llm_response_errmsg(c.resp));
        CHECK_STR(llm_response_text(c.resp, NULL), cases[i].text);
        CHECK_INT(llm_response_finish(c.resp), cases[i].finish);
        CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), cases[i].in);
        CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), cases[i].out);
        CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_READ), -1);
        CHECK_INT(usage(c.resp, LLM_USAGE_REASONING), -1);
        CHECK(llm_response_usage_raw(c.resp, NULL) != NULL);
        ctx_free(&c);
        llm_request_free(r);
    }
    struct ctx c;
    llm_request *r;
    CHECK_INT(parse_case("parallel_tools", &c, &r), LLM_OK);
    CHECK_INT(llm_response_tool_call_count(c.resp), 2);
    CHECK_STR(llm_response_tool_call_id(c.resp, 0), W_ID);
    CHECK_STR(llm_response_tool_call_name(c.resp, 0), "get_weather");
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_STR(llm_response_tool_call_id(c.resp, 1), T_ID);
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 1, NULL), "{\"tz\":\"Asia/Tokyo\"}");
    CHECK_STR(llm_response_finish_raw(c.resp), "tool_use");
    ctx_free(&c);
    llm_request_free(r);
    CHECK_INT(parse_case("tools", &c, &r), LLM_OK);
    CHECK_INT(llm_response_tool_call_count(c.resp), 1);
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 0, NULL), "{\"city\":\"Paris\"}");
    ctx_free(&c);
    llm_request_free(r);
}

TEST(parse_cache_usage_and_reasoning)
{
    struct ctx c;
    llm_request *r;
    CHECK_INT(parse_case("cache_usage", &c, &r), LLM_OK);
    CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), 14 + 2048 + 1536);
    CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_READ), 2048);
    CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_WRITE), 1536);
    CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_WRITE_1H), 1024);
    CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), 9);
    CHECK_INT(usage(c.resp, LLM_USAGE_TOTAL), 14 + 2048 + 1536 + 9);
    ctx_free(&c);
    llm_request_free(r);

    CHECK_INT(parse_case("reasoning", &c, &r), LLM_OK);
    CHECK_STR(llm_response_text(c.resp, NULL), "27 * 453 = 12231.");
    CHECK_INT(llm_response_part_count(c.resp), 3);
    CHECK_INT(llm_response_part_type(c.resp, 0), LLM_PART_REASONING);
    CHECK_STR(llm_response_part_text(c.resp, 0, NULL), "27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231.");
    CHECK_INT(llm_response_part_type(c.resp, 1), LLM_PART_OPAQUE);
    CHECK_INT(llm_response_part_type(c.resp, 2), LLM_PART_TEXT);
    CHECK(strstr(c.resp->msg.parts[0].meta.json, "\"signature\":\"EqoBCkgIARAB") != NULL);
    CHECK(strstr(c.resp->msg.parts[0].meta.json, "\"text\"") == NULL);
    CHECK_STR(c.resp->msg.parts[0].meta.provider, "bedrock");
    CHECK_STR(c.resp->msg.parts[0].meta.model, MODEL);
    CHECK_STR(c.resp->msg.parts[1].meta.json,
              "{\"reasoningContent\":{\"redactedContent\":\"ZW5jcnlwdGVkIHJlYXNvbmluZyBieXRlcw==\"}}");
    CHECK_INT(usage(c.resp, LLM_USAGE_REASONING), -1);

    /* Replayed to the same model: reasoning with its signature, the
     * redacted block verbatim, then the text. */
    llm_request *next = user("What is 27 * 453?");
    CHECK_INT(llm_request_add_response(next, c.resp), LLM_OK);
    CHECK_INT(llm_request_add_text(next, LLM_ROLE_USER, "Thanks."), LLM_OK);
    struct ctx c2;
    ctx_init(&c2, next);
    CHECK_INT(build(&c2), LLM_OK);
    json_t *b = body_json(&c2);
    char *asst = json_dumps(json_array_get(json_object_get(b, "messages"), 1), JSON_COMPACT);
    char *want = NULL;
    {
        json_t *resp = NULL;
        char *raw = slurp("reasoning", "response", NULL);
        char *body = raw ? strstr(raw, "\n\n") : NULL;
        resp = body ? json_loads(body + 2, 0, NULL) : NULL;
        want = json_dumps(json_object_get(json_object_get(resp, "output"), "message"), JSON_COMPACT);
        json_decref(resp);
        free(raw);
    }
    CHECK(json_text_equals(asst, want, "replayed assistant turn"));
    free(asst);
    free(want);
    json_decref(b);
    CHECK_INT(llm_response_warning_count(c2.resp), 0);
    ctx_free(&c2);

    /* To another model: reasoning and redacted data are dropped, noted once. */
    ctx_init(&c2, next);
    c2.call.model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    CHECK_INT(build(&c2), LLM_OK);
    b = body_json(&c2);
    asst = json_dumps(json_array_get(json_object_get(b, "messages"), 1), JSON_COMPACT);
    CHECK(json_text_equals(asst, "{\"role\":\"assistant\",\"content\":[{\"text\":\"27 * 453 = 12231.\"}]}",
                           "dropped reasoning"));
    CHECK_INT(llm_response_warning_count(c2.resp), 1);
    free(asst);
    json_decref(b);
    ctx_free(&c2);
    llm_request_free(next);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(finish_reasons)
{
    static const struct { const char *word; int finish; } map[] = {
        {"end_turn", LLM_FINISH_STOP}, {"stop_sequence", LLM_FINISH_STOP},
        {"max_tokens", LLM_FINISH_LENGTH}, {"model_context_window_exceeded", LLM_FINISH_LENGTH},
        {"tool_use", LLM_FINISH_TOOL_CALLS}, {"guardrail_intervened", LLM_FINISH_CONTENT_FILTER},
        {"content_filtered", LLM_FINISH_CONTENT_FILTER}, {"malformed_model_output", LLM_FINISH_ERROR},
        {"malformed_tool_use", LLM_FINISH_ERROR}, {"something_new", LLM_FINISH_OTHER},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(map); i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":"
                                    "[{\"text\":\"x\"}]}},\"stopReason\":\"%s\",\"usage\":"
                                    "{\"inputTokens\":1,\"outputTokens\":1,\"totalTokens\":2}}", map[i].word);
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        struct llm__http_res res = {200, NULL, 0, body, strlen(body)};
        CHECK_INT(llm__bedrock_ops.parse(&c.call, &res, c.resp), LLM_OK);
        CHECK_INT(llm_response_finish(c.resp), map[i].finish);
        CHECK_STR(llm_response_finish_raw(c.resp), map[i].word);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(error_mapping)
{
    static const struct { const char *kase; int status, http, retryable; const char *type; } errs[] = {
        {"error_400", LLM_ERR_INVALID_REQUEST, 400, 0, "ValidationException"},
        {"error_401", LLM_ERR_AUTH, 401, 0, "UnrecognizedClientException"},
        {"error_429", LLM_ERR_RATE_LIMITED, 429, 1, "ThrottlingException"},
        {"error_500", LLM_ERR_SERVER, 500, 1, "InternalServerException"},
        {"error_529", LLM_ERR_OVERLOADED, 503, 1, "ServiceUnavailableException"},
        {"access_denied", LLM_ERR_PERMISSION, 403, 0, "AccessDeniedException"},
        {"model_not_ready", LLM_ERR_OVERLOADED, 429, 1, "ModelNotReadyException"},
        {"invalid_signature", LLM_ERR_AUTH, 403, 0, "InvalidSignatureException"},
        {"input_too_long", LLM_ERR_CONTEXT_LENGTH, 400, 0, "ValidationException"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(errs); i++) {
        struct ctx c;
        llm_request *r;
        int rc = parse_case(errs[i].kase, &c, &r);
        CHECK_INT(rc, errs[i].status);
        CHECK_INT(llm_response_status(c.resp), errs[i].status);
        CHECK_INT(llm_response_http_status(c.resp), errs[i].http);
        CHECK_STR(llm_response_error_type(c.resp), errs[i].type);
        CHECK(llm_response_error_message(c.resp) && *llm_response_error_message(c.resp));
        CHECK(strstr(llm_response_errmsg(c.resp), llm_response_error_message(c.resp)) != NULL);
        CHECK_INT(llm_response_retryable(c.resp), errs[i].retryable);
        CHECK_INT(llm_response_error_mid_stream(c.resp), 0);
        if (errs[i].status == LLM_ERR_RATE_LIMITED)
            CHECK_INT(llm_response_retry_after_ms(c.resp), 2000);
        ctx_free(&c);
        llm_request_free(r);
    }

    /* Code from the body when the header is missing; '#' prefixes cut;
     * ModelErrorException keeps originalStatusCode; unknown codes and
     * foreign bodies fall back on the HTTP status. */
    static const struct { int http; const char *hdr, *body; int status; const char *type, *code, *msg; } more[] = {
        {400, NULL, "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"Message\":\"bad\"}",
         LLM_ERR_INVALID_REQUEST, "ValidationException", NULL, "bad"},
        {429, "aws.protocoltests#ServiceQuotaExceededException:http://x", "{\"message\":\"quota\"}",
         LLM_ERR_RATE_LIMITED, "ServiceQuotaExceededException", NULL, "quota"},
        {424, "ModelErrorException", "{\"message\":\"m\",\"originalStatusCode\":500,\"resourceName\":\"r\"}",
         LLM_ERR_SERVER, "ModelErrorException", "500", "m"},
        {408, "ModelTimeoutException", "{\"message\":\"slow\"}", LLM_ERR_TIMEOUT, "ModelTimeoutException", NULL, "slow"},
        {404, "ResourceNotFoundException", "{\"message\":\"no\"}", LLM_ERR_NOT_FOUND, "ResourceNotFoundException", NULL, "no"},
        {403, "ExpiredTokenException", "{\"message\":\"old\"}", LLM_ERR_AUTH, "ExpiredTokenException", NULL, "old"},
        {400, "ValidationException", "{\"message\":\"prompt is too long: 300000 tokens > 200000 maximum\"}",
         LLM_ERR_CONTEXT_LENGTH, "ValidationException", NULL, NULL},
        {418, "TeapotException", "{\"message\":\"t\"}", LLM_ERR_INVALID_REQUEST, "TeapotException", NULL, "t"},
        {502, NULL, "<html>Bad Gateway</html>", LLM_ERR_SERVER, NULL, NULL, NULL},
        {503, "", "", LLM_ERR_OVERLOADED, NULL, NULL, NULL},
        {500, NULL, "{\"error\":{\"message\":\"injected 500\"}}", LLM_ERR_SERVER, NULL, NULL, "injected 500"},
        {400, NULL, "[1,2]", LLM_ERR_INVALID_REQUEST, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(more); i++) {
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        struct llm__header h = {"X-Amzn-ErrorType", (char *)more[i].hdr};
        struct llm__http_res res = {more[i].http, &h, more[i].hdr ? 1 : 0, more[i].body, strlen(more[i].body)};
        CHECK_INT(llm__bedrock_ops.map_error(&c.call, &res, c.resp), more[i].status);
        CHECK_INT(llm_response_status(c.resp), more[i].status);
        if (more[i].type)
            CHECK_STR(llm_response_error_type(c.resp), more[i].type);
        else
            CHECK(llm_response_error_type(c.resp) == NULL);
        if (more[i].code)
            CHECK_STR(llm_response_error_code(c.resp), more[i].code);
        if (more[i].msg)
            CHECK_STR(llm_response_error_message(c.resp), more[i].msg);
        CHECK(strlen(llm_response_errmsg(c.resp)) > 0);
        ctx_free(&c);
        llm_request_free(r);
    }
}

TEST(streams_standard_cases)
{
    static const struct { const char *kase; int min_deltas; } cases[] = {
        {"text", 3}, {"history", 3}, {"tools", 5}, {"parallel_tools", 5}, {"tool_results", 2},
        {"image", 2}, {"structured", 2}, {"unicode", 3}, {"cache_usage", 2}, {"reasoning", 2},
    };
    static const size_t chunks[] = {1, 7, 0};
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        char *first = NULL;
        for (size_t k = 0; k < LLM__ARRAY_LEN(chunks); k++) {
            struct ctx c, p;
            llm_request *r, *r2;
            llm__buf log = {0};
            int rc = stream_case(cases[i].kase, &c, &r, chunks[k], &log);
            CHECK_INT(rc, LLM_OK);
            if (rc)
                printf("#   %s/%zu: %s\n", cases[i].kase, chunks[k], llm_response_errmsg(c.resp));
            /* The stream and the whole reply agree. */
            CHECK_INT(parse_case(cases[i].kase, &p, &r2), LLM_OK);
            CHECK_STR(llm_response_text(c.resp, NULL), llm_response_text(p.resp, NULL));
            CHECK_INT(llm_response_finish(c.resp), llm_response_finish(p.resp));
            CHECK_STR(llm_response_finish_raw(c.resp), llm_response_finish_raw(p.resp));
            CHECK_INT(llm_response_tool_call_count(c.resp), llm_response_tool_call_count(p.resp));
            for (size_t t = 0; t < llm_response_tool_call_count(p.resp); t++) {
                CHECK_STR(llm_response_tool_call_id(c.resp, t), llm_response_tool_call_id(p.resp, t));
                CHECK_STR(llm_response_tool_call_name(c.resp, t), llm_response_tool_call_name(p.resp, t));
                CHECK_STR(llm_response_tool_call_arguments(c.resp, t, NULL),
                          llm_response_tool_call_arguments(p.resp, t, NULL));
            }
            CHECK_INT(llm_response_part_count(c.resp), llm_response_part_count(p.resp));
            for (size_t t = 0; t < llm_response_part_count(p.resp) && t < llm_response_part_count(c.resp); t++) {
                CHECK_INT(llm_response_part_type(c.resp, t), llm_response_part_type(p.resp, t));
                CHECK_STR(llm_response_part_text(c.resp, t, NULL), llm_response_part_text(p.resp, t, NULL));
                const char *mj = c.resp->msg.parts[t].meta.json, *pj = p.resp->msg.parts[t].meta.json;
                CHECK((!mj && !pj) || (mj && pj && json_text_equals(mj, pj, "meta")));
            }
            for (int kind = LLM_USAGE_INPUT; kind <= LLM_USAGE_TOTAL; kind++)
                CHECK_INT(usage(c.resp, kind), usage(p.resp, kind));
            int deltas = 0;
            for (const char *l = log.data; l && (l = strstr(l, "_delta ")) != NULL; l++)
                deltas++;
            for (const char *l = log.data; l && (l = strstr(l, "text ")) != NULL; l++)
                deltas++;
            CHECK(deltas >= cases[i].min_deltas);
            CHECK(log.data && strstr(log.data, "usage\n") != NULL);
            /* Same events whatever the chunking. */
            if (!first)
                first = strdup(log.data ? log.data : "");
            else
                CHECK_STR(log.data, first);
            llm__buf_free(&log);
            ctx_free(&c);
            ctx_free(&p);
            llm_request_free(r);
            llm_request_free(r2);
        }
        free(first);
    }

    /* The exact event sequence of the tools stream. */
    struct ctx c;
    llm_request *r;
    llm__buf log = {0};
    CHECK_INT(stream_case("tools", &c, &r, 0, &log), LLM_OK);
    CHECK_STR(log.data,
              "text Let me\ntext  check.\n"
              "tool_start 0 tooluse_F4nDp7sQTc2yW0oE6hJm5g get_weather\n"
              "tool_delta 0 {\"ci\ntool_delta 0 ty\":\ntool_delta 0 \"Pa\ntool_delta 0 ri\ntool_delta 0 s\"}\n"
              "tool_end 0\nusage\n");
    llm__buf_free(&log);
    ctx_free(&c);
    llm_request_free(r);
    CHECK_INT(stream_case("reasoning", &c, &r, 0, &log), LLM_OK);
    CHECK_STR(log.data,
              "reasoning 27 * 453 = 27 * 400\nreasoning  + 27 * 53 = 10800\nreasoning  + 1431 = 12231.\n"
              "text 27 * 453\ntext  = 12231.\nusage\n");
    llm__buf_free(&log);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(stream_errors_and_endings)
{
    static const size_t chunks[] = {1, 7, 0};
    for (size_t k = 0; k < LLM__ARRAY_LEN(chunks); k++) {
        struct ctx c;
        llm_request *r;
        llm__buf log = {0};
        CHECK_INT(stream_case("stream_error", &c, &r, chunks[k], &log), LLM_ERR_OVERLOADED);
        CHECK_INT(llm_response_status(c.resp), LLM_ERR_OVERLOADED);
        CHECK_INT(llm_response_error_mid_stream(c.resp), 1);
        CHECK_INT(llm_response_retryable(c.resp), 1);
        CHECK_STR(llm_response_error_type(c.resp), "serviceUnavailableException");
        CHECK_STR(llm_response_error_message(c.resp), "Bedrock is unable to process your request.");
        CHECK_STR(llm_response_text(c.resp, NULL), "Hello from");
        CHECK_STR(log.data, "text Hello\ntext  from\n");
        llm__buf_free(&log);
        ctx_free(&c);
        llm_request_free(r);

        CHECK_INT(stream_case("exception_throttling", &c, &r, chunks[k], NULL), LLM_ERR_RATE_LIMITED);
        CHECK_INT(llm_response_error_mid_stream(c.resp), 1);
        CHECK_STR(llm_response_error_type(c.resp), "throttlingException");
        CHECK_STR(llm_response_error_message(c.resp), "Too many requests, please wait before trying again.");
        CHECK(strstr(llm_response_errmsg(c.resp), "Too many requests") != NULL);
        CHECK_STR(llm_response_text(c.resp, NULL), "Hi");
        ctx_free(&c);
        llm_request_free(r);

        CHECK_INT(stream_case("stream_truncated", &c, &r, chunks[k], NULL), LLM_ERR_NETWORK);
        CHECK(strstr(llm_response_errmsg(c.resp), "truncated") != NULL);
        CHECK_STR(llm_response_text(c.resp, NULL), "Hello from");
        ctx_free(&c);
        llm_request_free(r);

        /* messageStop without metadata: complete, counts not reported. */
        CHECK_INT(stream_case("max_tokens", &c, &r, chunks[k], NULL), LLM_OK);
        CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_LENGTH);
        CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), -1);
        CHECK_STR(llm_response_text(c.resp, NULL), "Once upon a time");
        ctx_free(&c);
        llm_request_free(r);
    }

    /* Every exception name of ConverseStream, and the generic error
     * message type. */
    static const struct { const char *mtype, *name, *payload; int status; } ex[] = {
        {"exception", "throttlingException", "{\"message\":\"slow down\"}", LLM_ERR_RATE_LIMITED},
        {"exception", "modelStreamErrorException", "{\"message\":\"m\",\"originalStatusCode\":400,\"originalMessage\":\"o\"}", LLM_ERR_SERVER},
        {"exception", "validationException", "{\"message\":\"bad input\"}", LLM_ERR_INVALID_REQUEST},
        {"exception", "validationException", "{\"message\":\"Input is too long for requested model.\"}", LLM_ERR_CONTEXT_LENGTH},
        {"exception", "internalServerException", "{\"message\":\"oops\"}", LLM_ERR_SERVER},
        {"exception", "serviceUnavailableException", "{\"message\":\"busy\"}", LLM_ERR_OVERLOADED},
        {"exception", "somethingNewException", "{\"message\":\"?\"}", LLM_ERR_SERVER},
        {"exception", "throttlingException", "not json at all", LLM_ERR_RATE_LIMITED},
        {"exception", NULL, "{}", LLM_ERR_SERVER},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(ex); i++) {
        llm__buf s = {0};
        evs_event(&s, "messageStart", "{\"role\":\"assistant\"}");
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"a\"}}");
        evs_msg(&s, ex[i].mtype, ":exception-type", ex[i].name, ex[i].payload, strlen(ex[i].payload));
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"never\"}}");
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, s.data, s.len, 0, NULL), ex[i].status);
        CHECK_INT(llm_response_error_mid_stream(c.resp), 1);
        CHECK_STR(llm_response_text(c.resp, NULL), "a");
        if (ex[i].name)
            CHECK_STR(llm_response_error_type(c.resp), ex[i].name);
        if (i == 1)
            CHECK_STR(llm_response_error_code(c.resp), "400");
        ctx_free(&c);
        llm_request_free(r);
        llm__buf_free(&s);
    }
    /* :message-type error with :error-code / :error-message headers. */
    {
        llm__buf s = {0}, h = {0};
        static const char *const hn[] = {":error-code", ":error-message", ":message-type"};
        static const char *const hv[] = {"InternalFailure", "An internal error occurred", "error"};
        for (int i = 0; i < 3; i++) {
            llm__buf_putc(&h, (char)strlen(hn[i]));
            llm__buf_puts(&h, hn[i]);
            llm__buf_putc(&h, 7);
            llm__buf_putc(&h, 0);
            llm__buf_putc(&h, (char)strlen(hv[i]));
            llm__buf_puts(&h, hv[i]);
        }
        uint32_t total = (uint32_t)(16 + h.len);
        unsigned char pre[12] = {0, 0, (unsigned char)(total >> 8), (unsigned char)total,
                                 0, 0, (unsigned char)(h.len >> 8), (unsigned char)h.len};
        uint32_t pc = llm__crc32(0, pre, 8);
        pre[8] = (unsigned char)(pc >> 24), pre[9] = (unsigned char)(pc >> 16);
        pre[10] = (unsigned char)(pc >> 8), pre[11] = (unsigned char)pc;
        llm__buf_append(&s, pre, 12);
        llm__buf_append(&s, h.data, h.len);
        uint32_t mc = llm__crc32(0, s.data, s.len);
        unsigned char tail[4] = {(unsigned char)(mc >> 24), (unsigned char)(mc >> 16),
                                 (unsigned char)(mc >> 8), (unsigned char)mc};
        llm__buf_append(&s, tail, 4);
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, s.data, s.len, 3, NULL), LLM_ERR_SERVER);
        CHECK_INT(llm_response_error_mid_stream(c.resp), 1);
        CHECK_STR(llm_response_error_code(c.resp), "InternalFailure");
        CHECK_STR(llm_response_error_message(c.resp), "An internal error occurred");
        ctx_free(&c);
        llm_request_free(r);
        llm__buf_free(&s);
        llm__buf_free(&h);
    }
}

/* Frames that are well formed event-stream messages but not what Bedrock
 * documents: each a clear status. */
TEST(hostile_streams)
{
    static const struct { const char *type, *json; int status; } bad[] = {
        {"contentBlockDelta", "not json", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "[1,2]", LLM_ERR_PROTOCOL},
        {"messageStop", "\"end_turn\"", LLM_ERR_PROTOCOL},
        {"metadata", "{\"usage\":5}", LLM_ERR_PROTOCOL},
        {"messageStop", "{\"stopReason\":7}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"delta\":{\"text\":\"x\"}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":-1,\"delta\":{\"text\":\"x\"}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":\"0\",\"delta\":{\"text\":\"x\"}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":5}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":5}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":3,\"delta\":{\"toolUse\":{\"input\":\"{\"}}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":{}}}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"redactedContent\":\"@@@\"}}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":1}}}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":7}}", LLM_ERR_PROTOCOL},
        {"contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"name\":\"t\"}}}", LLM_ERR_PROTOCOL},
        {"contentBlockStart", "{\"contentBlockIndex\":0}", LLM_ERR_PROTOCOL},
        {"contentBlockStop", "{}", LLM_ERR_PROTOCOL},
        {"contentBlockDelta", "{\"contentBlockIndex\":99999999999999999999999,\"delta\":{\"text\":\"x\"}}", LLM_ERR_PROTOCOL},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        llm__buf s = {0};
        evs_event(&s, "messageStart", "{\"role\":\"assistant\"}");
        evs_msg(&s, "event", ":event-type", bad[i].type, bad[i].json, strlen(bad[i].json));
        evs_event(&s, "messageStop", "{\"stopReason\":\"end_turn\"}");
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        int rc = run_stream(&c, s.data, s.len, 0, NULL);
        CHECK_INT(rc, bad[i].status);
        if (rc != bad[i].status)
            printf("#   case %zu: %s\n", i, llm_response_errmsg(c.resp));
        CHECK(strstr(llm_response_errmsg(c.resp), "Bedrock") != NULL);
        ctx_free(&c);
        llm_request_free(r);
        llm__buf_free(&s);
    }

    /* Unknown event types and message types are skipped, whatever their
     * payload; a message without :message-type is not. */
    {
        llm__buf s = {0};
        evs_event(&s, "messageStart", "{\"role\":\"assistant\"}");
        evs_msg(&s, "event", ":event-type", "somethingNew", "\x01\x02 not json", 11);
        evs_msg(&s, "event", NULL, NULL, "{}", 2);
        evs_msg(&s, "future-type", ":event-type", "x", "??", 2);
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"citation\":{}}}");
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"ok\"},\"p\":\"abc\",\"extra\":[1]}");
        evs_event(&s, "contentBlockStop", "{\"contentBlockIndex\":5}");
        evs_event(&s, "contentBlockStart", "{\"contentBlockIndex\":1,\"start\":{\"image\":{}}}");
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"image\":{}}}");
        evs_event(&s, "messageStop", "{\"stopReason\":\"end_turn\",\"additionalModelResponseFields\":{}}");
        evs_event(&s, "metadata", "{\"usage\":{\"inputTokens\":-4,\"outputTokens\":2,\"totalTokens\":\"x\"}}");
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"after the end\"}}");
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, s.data, s.len, 5, NULL), LLM_OK);
        CHECK_STR(llm_response_text(c.resp, NULL), "ok");
        CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), -1);
        CHECK_INT(usage(c.resp, LLM_USAGE_OUTPUT), 2);
        ctx_free(&c);
        llm_request_free(r);
        llm__buf_free(&s);

        llm__buf_reset(&s);
        evs_msg(&s, NULL, ":event-type", "messageStart", "{}", 2);
        ctx_init(&c, r = user("x"));
        CHECK_INT(run_stream(&c, s.data, s.len, 0, NULL), LLM_ERR_PROTOCOL);
        ctx_free(&c);
        llm_request_free(r);
        llm__buf_free(&s);
    }

    /* A tool started twice, a text delta into a tool block, too many open
     * blocks, a tool left open at messageStop (closed with "{}"). */
    {
        llm__buf s = {0};
        evs_event(&s, "contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"a\",\"name\":\"t\"}}}");
        evs_event(&s, "contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"b\",\"name\":\"t\"}}}");
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, s.data, s.len, 0, NULL), LLM_ERR_PROTOCOL);
        ctx_free(&c);
        llm__buf_reset(&s);
        evs_event(&s, "contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"a\",\"name\":\"t\"}}}");
        evs_event(&s, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"x\"}}");
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, s.data, s.len, 0, NULL), LLM_ERR_PROTOCOL);
        ctx_free(&c);
        llm__buf_reset(&s);
        for (int i = 0; i < 300; i++) {
            char ev[128];
            snprintf(ev, sizeof ev, "{\"contentBlockIndex\":%d,\"start\":{\"toolResult\":{}}}", i);
            evs_event(&s, "contentBlockStart", ev);
        }
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, s.data, s.len, 0, NULL), LLM_ERR_PROTOCOL);
        CHECK(strstr(llm_response_errmsg(c.resp), "too many") != NULL);
        ctx_free(&c);
        llm__buf_reset(&s);
        evs_event(&s, "contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"a\",\"name\":\"t\"}}}");
        evs_event(&s, "messageStop", "{\"stopReason\":\"tool_use\"}");
        ctx_init(&c, r);
        llm__buf log = {0};
        CHECK_INT(run_stream(&c, s.data, s.len, 0, &log), LLM_OK);
        CHECK_STR(log.data, "tool_start 0 a t\ntool_delta 0 {}\ntool_end 0\n");
        CHECK_STR(llm_response_tool_call_arguments(c.resp, 0, NULL), "{}");
        CHECK_INT(llm_response_finish(c.resp), LLM_FINISH_TOOL_CALLS);
        llm__buf_free(&log);
        ctx_free(&c);
        llm_request_free(r);
        llm__buf_free(&s);
    }

    /* Bytes that are not an event stream: the decoder's protocol error. */
    {
        static const char junk[] = "HTTP/1.1 200 OK\r\n\r\n{\"not\":\"an event stream\"}";
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, junk, sizeof junk - 1, 0, NULL), LLM_ERR_PROTOCOL);
        ctx_free(&c);
        /* A frame with a corrupt CRC in an otherwise good stream. */
        struct fixture fx;
        CHECK_INT(load_reply("text", "response.stream", &fx), 0);
        char *copy = malloc(fx.body_len);
        memcpy(copy, fx.body, fx.body_len);
        copy[fx.body_len / 2] ^= 0x20;
        ctx_init(&c, r);
        CHECK_INT(run_stream(&c, copy, fx.body_len, 0, NULL), LLM_ERR_PROTOCOL);
        ctx_free(&c);
        free(copy);
        fixture_free(&fx);
        llm_request_free(r);
    }
}

TEST(hostile_replies)
{
    static const char *bad[] = {
        "", "not json", "[]", "{}", "{\"output\":5}", "{\"output\":{}}",
        "{\"output\":{\"message\":{\"content\":{}}}}",
        "{\"output\":{\"message\":{\"content\":[5]}}}",
        "{\"output\":{\"message\":{\"content\":[{\"text\":5}]}}}",
        "{\"output\":{\"message\":{\"content\":[{\"toolUse\":{\"name\":\"t\"}}]}}}",
        "{\"output\":{\"message\":{\"content\":[{\"reasoningContent\":{\"reasoningText\":{\"text\":[]}}}]}}}",
        "{\"output\":{\"message\":{\"content\":[]}},\"usage\":[]}",
        "{\"output\":{\"message\":{\"content\":[]}},\"stopReason\":{}}",
        "{\"output\":{\"message\":{\"content\":[]}},\"usage\":{\"inputTokens\":123456789012345678901234567890}}",
        "{\"output\":{\"message\":{\"content\":[{\"text\":\"\\ud800\"}]}}}",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        llm_request *r = user("x");
        struct ctx c;
        ctx_init(&c, r);
        struct llm__http_res res = {200, NULL, 0, bad[i], strlen(bad[i])};
        CHECK_INT(llm__bedrock_ops.parse(&c.call, &res, c.resp), LLM_ERR_PROTOCOL);
        CHECK(strstr(llm_response_errmsg(c.resp), "Bedrock") != NULL);
        ctx_free(&c);
        llm_request_free(r);
    }
    /* Tolerated: unknown members and blocks, huge but valid counts, no
     * usage, a toolUse without input. */
    static const char *ok =
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"a\"},"
        "{\"citationsContent\":{\"content\":[{\"text\":\"c\"}]}},{\"toolUse\":{\"toolUseId\":\"i\",\"name\":\"n\"}}],"
        "\"future\":1}},\"stopReason\":\"tool_use\",\"usage\":{\"inputTokens\":9223372036854775807,"
        "\"outputTokens\":1,\"cacheReadInputTokens\":5,\"totalTokens\":0},\"trace\":{}}";
    llm_request *r = user("x");
    struct ctx c;
    ctx_init(&c, r);
    struct llm__http_res res = {200, NULL, 0, ok, strlen(ok)};
    CHECK_INT(llm__bedrock_ops.parse(&c.call, &res, c.resp), LLM_OK);
    CHECK_STR(llm_response_text(c.resp, NULL), "a");
    CHECK_INT(llm_response_part_count(c.resp), 3);
    CHECK_INT(llm_response_part_type(c.resp, 1), LLM_PART_OPAQUE);
    CHECK_STR(llm_response_tool_call_arguments(c.resp, 0, NULL), "{}");
    CHECK_INT(usage(c.resp, LLM_USAGE_INPUT), INT64_MAX);
    CHECK_INT(usage(c.resp, LLM_USAGE_CACHE_WRITE), -1);
    ctx_free(&c);
    llm_request_free(r);
}

TEST(bad_arguments)
{
    struct ctx c;
    ctx_init(&c, NULL);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);
    /* A conversation of only dropped reasoning is empty. */
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "sys"), LLM_OK);
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(c.resp), "no user or assistant") != NULL);
    ctx_free(&c);
    llm_request_free(r);
    /* An invalid extra. */
    r = user("x");
    CHECK_INT(llm_request_set_extra_json(r, "bedrock", "{\"a\":1}", 7), LLM_OK);
    free(r->extras[0].json);
    r->extras[0].json = NULL;
    ctx_init(&c, r);
    CHECK_INT(build(&c), LLM_ERR_INVALID_ARG);
    ctx_free(&c);
    llm_request_free(r);
    /* stream_event before stream_begin. */
    ctx_init(&c, NULL);
    struct llm__sstate st;
    CHECK_INT(llm__sstate_init(&st, &c.call, c.resp), LLM_OK);
    struct llm__frame f = {0};
    f.message_type = "event";
    CHECK_INT(llm__bedrock_ops.stream_event(&st, &f), LLM_ERR_MISUSE);
    llm__bedrock_ops.stream_free(&st);
    llm__sstate_cleanup(&st);
    ctx_free(&c);
}

/* What a failed allocation may turn into: NOMEM, or - where jansson
 * reports a failed allocation inside its parser as a syntax error, which
 * llm__json_load cannot tell apart - "not a JSON object". */
static int oom_status(int rc, const llm_response *resp)
{
    const char *m = llm_response_errmsg(resp);
    if (rc == LLM_ERR_NOMEM)
        return 1;
    if ((rc == LLM_ERR_PROTOCOL || rc == LLM_ERR_INVALID_ARG) && strstr(m, "not a JSON object"))
        return 1;
    printf("#   rc %d after an allocation failure: %s\n", rc, m);
    return 0;
}

static void *j_malloc(size_t n)
{
    return llm__malloc(n);
}

static void j_free(void *p)
{
    llm__free(p);
}

/* Every allocation failing in turn: a clean status, never a crash or a
 * leak (ASan and valgrind watch), until a run needs no more allocations
 * than the one that was set to fail. */
TEST(allocation_failures)
{
    static const char *build_cases[] = {"tool_results", "reasoning", "structured", "image"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(build_cases); i++) {
        llm_request *r = req_for(build_cases[i]);
        CHECK_INT(llm_request_set_top_k(r, 5), LLM_OK);
        CHECK_INT(llm_request_set_extra_json(r, NULL, "{\"additionalModelRequestFields\":{\"a\":1}}", 40), LLM_OK);
        int done = 0;
        for (long n = 0; n < 100000 && !done; n++) {
            struct ctx c;
            ctx_init(&c, r);
            c.call.aws_session_token = "tok";
            arm(n);
            int rc = build(&c);
            arm(-1);
            if (rc == LLM_OK && (done = nallocs <= n))
                printf("#   build %s: %ld allocations failed in turn\n", build_cases[i], n);
            else if (rc != LLM_OK)
                CHECK(oom_status(rc, c.resp));
            ctx_free(&c);
        }
        CHECK(done);
        llm_request_free(r);
    }

    /* jansson 2.14's decoder misbehaves when some of its own allocations
     * fail, so while replies are read only libllm's allocations fail (the
     * builds above failed jansson's too). */
    json_set_alloc_funcs(malloc, free);
    static const struct { const char *kase, *file; int want; } replies[] = {
        {"reasoning", "response", LLM_OK}, {"cache_usage", "response", LLM_OK},
        {"parallel_tools", "response", LLM_OK}, {"error_429", "response", LLM_ERR_RATE_LIMITED},
        {"reasoning", "response.stream", LLM_OK}, {"parallel_tools", "response.stream", LLM_OK},
        {"stream_error", "response.stream", LLM_ERR_OVERLOADED},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(replies); i++) {
        struct fixture fx;
        CHECK_INT(load_reply(replies[i].kase, replies[i].file, &fx), 0);
        int stream = strcmp(replies[i].file, "response.stream") == 0;
        int done = 0;
        for (long n = 0; n < 100000 && !done; n++) {
            struct ctx c;
            llm_request *r = req_for(replies[i].kase);
            ctx_init(&c, r);
            arm(n);
            int rc = stream ? run_stream(&c, fx.body, fx.body_len, 0, NULL)
                            : reply_into(c.resp, &c.call, &fx);
            arm(-1);
            if (rc == replies[i].want && (done = nallocs <= n))
                printf("#   %s/%s: %ld allocations failed in turn\n", replies[i].kase, replies[i].file, n);
            else
                CHECK(oom_status(rc, c.resp));
            ctx_free(&c);
            llm_request_free(r);
        }
        CHECK(done);
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
    RUN(build_model_ids_and_base_url);
    RUN(build_auth);
    RUN(build_tool_choice);
    RUN(build_params);
    RUN(build_images_and_results);
    RUN(parse_standard_cases);
    RUN(parse_cache_usage_and_reasoning);
    RUN(finish_reasons);
    RUN(error_mapping);
    RUN(streams_standard_cases);
    RUN(stream_errors_and_endings);
    RUN(hostile_streams);
    RUN(hostile_replies);
    RUN(bad_arguments);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
