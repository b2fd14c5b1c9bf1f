/*
 * test_openai.c - the "openai" adapter, sans-I/O: request bodies against
 * tests/providers/openai/<case>/request.json, replies and streams from the
 * recorded fixtures (streams at several chunkings through the real SSE
 * parser), error mapping, hostile input and allocation failure.
 */
#include "oai_fixture.h"
#include "providers/openai_common.h"
#include "providers/provider.h"

#define OPS (&llm__openai_ops)
#define TEST_BASE "http://127.0.0.1:1/v1"

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

/* ---- requests of the standard cases (tests/providers/README.md) -------- */

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

/* A non-streamed fixture reply parsed into a fresh response. */
static llm_response *parsed(const char *kase, const char *model, int *rc_out)
{
    struct fx_reply x;
    llm_response *r = fx_resp("openai", model);
    *rc_out = -999;
    if (fx_reply_load(&x, "openai", kase, "response")) {
        CHECK(0);
        return r;
    }
    struct llm__call call;
    fx_call(&call, OPS, NULL, r, model);
    *rc_out = x.res.status >= 200 && x.res.status < 300 ? OPS->parse(&call, &x.res, r)
                                                        : OPS->map_error(&call, &x.res, r);
    fx_reply_free(&x);
    return r;
}

static llm_request *standard_request(const char *kase)
{
    llm_request *r = NULL;
    if (strcmp(kase, "text") == 0)
        return user("Say hi.");
    if (strcmp(kase, "history") == 0) {
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
    if (strcmp(kase, "tools") == 0) {
        r = user("Weather in Paris?");
        add_tools(r);
        return r;
    }
    if (strcmp(kase, "parallel_tools") == 0 || strcmp(kase, "tool_results") == 0) {
        r = user("Weather in Paris and time in Tokyo?");
        add_tools(r);
        if (strcmp(kase, "tool_results") == 0) {
            int rc;
            llm_response *calls = parsed("parallel_tools", "gpt-4o-mini", &rc);
            CHECK_INT(rc, LLM_OK);
            CHECK_INT(llm_request_add_response(r, calls), LLM_OK);
            CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(calls, 0), NULL,
                                                  "{\"temp_c\":18}", 13, LLM_TOOL_RESULT_JSON), LLM_OK);
            CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(calls, 1), NULL,
                                                  "{\"time\":\"09:00\"}", 16, LLM_TOOL_RESULT_JSON), LLM_OK);
            llm__response_destroy(calls);
        }
        return r;
    }
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
    return NULL;
}

/* Build a request; the response holds any failure. */
static int build(const llm_request *req, const char *base, const char *model, int streaming,
                 struct llm__http_req *h, llm_response **resp_out, void (*tweak)(struct llm__call *))
{
    llm_response *r = fx_resp("openai", model);
    struct llm__call call;
    fx_call(&call, OPS, req, r, model);
    call.base_url = base;
    call.streaming = streaming;
    if (tweak)
        tweak(&call);
    memset(h, 0, sizeof *h);
    int rc = OPS->build(&call, h);
    *resp_out = r;
    return rc;
}

static const char *header(const struct llm__http_req *h, const char *name)
{
    return llm__http_req_get(h, name);
}

TEST(standard_request_bodies)
{
    static const char *cases[] = {"text", "history", "tools", "parallel_tools", "tool_results",
                                  "image", "structured", "unicode"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_request *req = standard_request(cases[i]);
        struct llm__http_req h;
        llm_response *r;
        CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, NULL), LLM_OK);
        CHECK_STR(llm_response_errmsg(r), "");
        CHECK(fx_body_equals(&h, "openai", cases[i], "request.json"));
        CHECK_STR(h.method, "POST");
        CHECK_STR(h.url.data, TEST_BASE "/chat/completions");
        CHECK_STR(header(&h, "Authorization"), "Bearer test-key-1234567890");
        CHECK(header(&h, "OpenAI-Organization") == NULL);
        CHECK_INT((int)llm_response_warning_count(r), 0);
        llm__http_req_free(&h);
        llm__response_destroy(r);
        llm_request_free(req);
    }
}

TEST(stream_request_asks_for_usage)
{
    llm_request *req = user("Say hi.");
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 1, &h, &r, NULL), LLM_OK);
    json_t *b = fx_body(&h);
    CHECK(json_is_true(json_object_get(b, "stream")));
    CHECK(json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage")));
    json_decref(b);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

static void org_project(struct llm__call *c)
{
    c->organization = "org-123";
    c->project = "proj_456";
}

static void bearer_only(struct llm__call *c)
{
    c->api_key = NULL;
    c->bearer_token = "tok-abc";
}

static void no_credential(struct llm__call *c)
{
    c->api_key = NULL;
}

static void bad_key(struct llm__call *c)
{
    c->api_key = "sk-a\r\nX-Evil: 1";
}

TEST(default_base_url_and_headers)
{
    llm_request *req = user("Say hi.");
    CHECK_INT(llm_request_set_max_tokens(req, 64), LLM_OK);
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, NULL, "gpt-4o-mini", 0, &h, &r, org_project), LLM_OK);
    CHECK_STR(h.url.data, "https://api.openai.com/v1/chat/completions");
    CHECK_STR(header(&h, "OpenAI-Organization"), "org-123");
    CHECK_STR(header(&h, "OpenAI-Project"), "proj_456");
    json_t *b = fx_body(&h);
    /* OpenAI itself: the field reasoning models require. */
    CHECK_INT(json_integer_value(json_object_get(b, "max_completion_tokens")), 64);
    CHECK(json_object_get(b, "max_tokens") == NULL);
    CHECK(json_object_get(b, "stream") == NULL);
    json_decref(b);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    CHECK_INT(build(req, "https://api.openai.com/v1/", "gpt-4o-mini", 0, &h, &r, bearer_only), LLM_OK);
    CHECK_STR(header(&h, "Authorization"), "Bearer tok-abc");
    b = fx_body(&h);
    CHECK(json_object_get(b, "max_completion_tokens") != NULL);
    json_decref(b);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    /* A local server without a key: no Authorization at all. */
    CHECK_INT(build(req, "http://localhost:11434/v1", "llama3.1", 0, &h, &r, no_credential), LLM_OK);
    CHECK(header(&h, "Authorization") == NULL);
    CHECK_STR(h.url.data, "http://localhost:11434/v1/chat/completions");
    llm__http_req_free(&h);
    llm__response_destroy(r);

    CHECK_INT(build(req, NULL, "gpt-4o-mini", 0, &h, &r, bad_key), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_response_status(r), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "CR") != NULL);
    CHECK(strstr(llm_response_errmsg(r), "sk-a") == NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    /* No model: nothing to route by. */
    CHECK_INT(build(req, NULL, NULL, 0, &h, &r, NULL), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "model") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

static int field_setting;
static void set_field(struct llm__call *c) { c->max_tokens_field = field_setting; }

TEST(max_tokens_field_choice)
{
    static const struct {
        int field;
        const char *base;
        const char *want;
    } cases[] = {
        {LLM_MAX_TOKENS_FIELD_AUTO, NULL, "max_completion_tokens"},
        {LLM_MAX_TOKENS_FIELD_AUTO, "https://api.openai.com/v1", "max_completion_tokens"},
        {LLM_MAX_TOKENS_FIELD_AUTO, "https://api.openai.com/v1//", "max_completion_tokens"},
        {LLM_MAX_TOKENS_FIELD_AUTO, "https://api.openai.com/v1/proxy", "max_tokens"},
        {LLM_MAX_TOKENS_FIELD_AUTO, "http://localhost:8000/v1", "max_tokens"},
        {LLM_MAX_TOKENS_FIELD_COMPLETION, "http://localhost:8000/v1", "max_completion_tokens"},
        {LLM_MAX_TOKENS_FIELD_LEGACY, NULL, "max_tokens"},
    };
    llm_request *req = user("Say hi.");
    CHECK_INT(llm_request_set_max_tokens(req, 77), LLM_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct llm__http_req h;
        llm_response *r;
        field_setting = cases[i].field;
        CHECK_INT(build(req, cases[i].base, "gpt-4o-mini", 0, &h, &r, set_field), LLM_OK);
        json_t *b = fx_body(&h);
        CHECK_INT(json_integer_value(json_object_get(b, cases[i].want)), 77);
        CHECK_INT((int)json_object_size(b), 3);
        json_decref(b);
        llm__http_req_free(&h);
        llm__response_destroy(r);
    }
    llm_request_free(req);
}

static void drop(struct llm__call *c) { c->drop_unsupported = 1; }

TEST(reasoning_models_refuse_sampling)
{
    CHECK(llm__openai_reasoning_model("o1"));
    CHECK(llm__openai_reasoning_model("o3-mini"));
    CHECK(llm__openai_reasoning_model("o4-mini-2025-04-16"));
    CHECK(llm__openai_reasoning_model("gpt-5"));
    CHECK(llm__openai_reasoning_model("gpt-5.4"));
    CHECK(llm__openai_reasoning_model("GPT-5-nano"));
    CHECK(!llm__openai_reasoning_model("gpt-4o-mini"));
    CHECK(!llm__openai_reasoning_model("gpt-50"));
    CHECK(!llm__openai_reasoning_model("o10"));
    CHECK(!llm__openai_reasoning_model("omni"));
    CHECK(!llm__openai_reasoning_model(NULL));

    llm_request *req = user("Prove it.");
    CHECK_INT(llm_request_set_max_tokens(req, 500), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_effort(req, LLM_REASONING_LOW), LLM_OK);
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, NULL, "o3-mini", 0, &h, &r, NULL), LLM_OK);
    CHECK(fx_body_equals(&h, "openai", "reasoning_usage", "request.json"));
    llm__http_req_free(&h);
    llm__response_destroy(r);

    CHECK_INT(llm_request_set_temperature(req, 0.2), LLM_OK);
    CHECK_INT(build(req, NULL, "o3-mini", 0, &h, &r, NULL), LLM_ERR_UNSUPPORTED);
    CHECK_INT(llm_response_status(r), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(r), "temperature") != NULL);
    CHECK(strstr(llm_response_errmsg(r), "o3-mini") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    CHECK_INT(llm_request_set_top_p(req, 0.5), LLM_OK);
    CHECK_INT(build(req, NULL, "gpt-5", 0, &h, &r, drop), LLM_OK);
    json_t *b = fx_body(&h);
    CHECK(json_object_get(b, "temperature") == NULL);
    CHECK(json_object_get(b, "top_p") == NULL);
    CHECK_STR(json_string_value(json_object_get(b, "reasoning_effort")), "low");
    json_decref(b);
    CHECK_INT((int)llm_response_warning_count(r), 2);
    CHECK(fx_has_warning(r, "temperature"));
    CHECK(fx_has_warning(r, "top_p"));
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

TEST(unsupported_parameters)
{
    llm_request *req = user("Say hi.");
    CHECK_INT(llm_request_set_top_k(req, 40), LLM_OK);
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, NULL), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(r), "top_k") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    CHECK_INT(llm_request_set_reasoning_budget(req, 1024), LLM_OK);
    CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, drop), LLM_OK);
    json_t *b = fx_body(&h);
    CHECK(json_object_get(b, "top_k") == NULL);
    CHECK(json_object_get(b, "reasoning_budget") == NULL);
    CHECK_INT((int)json_object_size(b), 2);
    json_decref(b);
    CHECK(fx_has_warning(r, "top_k"));
    CHECK(fx_has_warning(r, "reasoning_budget"));
    llm__http_req_free(&h);
    llm__response_destroy(r);

    /* Extra JSON is the way to send top_k to a server that takes it. */
    CHECK_INT(llm_request_set_extra_json(req, "openai", "{\"top_k\":40}", 12), LLM_OK);
    CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, drop), LLM_OK);
    b = fx_body(&h);
    CHECK_INT(json_integer_value(json_object_get(b, "top_k")), 40);
    json_decref(b);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

TEST(sampling_fields)
{
    llm_request *req = user("Say hi.");
    CHECK_INT(llm_request_set_seed(req, 1234567890123LL), LLM_OK);
    CHECK_INT(llm_request_add_stop(req, "a"), LLM_OK);
    CHECK_INT(llm_request_add_stop(req, "b"), LLM_OK);
    static const char *const words[] = {NULL, "none", "minimal", "low", "medium", "high"};
    for (int e = LLM_REASONING_DEFAULT; e <= LLM_REASONING_HIGH; e++) {
        CHECK_INT(llm_request_set_reasoning_effort(req, e), LLM_OK);
        struct llm__http_req h;
        llm_response *r;
        CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, NULL), LLM_OK);
        json_t *b = fx_body(&h);
        CHECK_INT(json_integer_value(json_object_get(b, "seed")), 1234567890123LL);
        CHECK_INT((int)json_array_size(json_object_get(b, "stop")), 2);
        CHECK_STR(json_string_value(json_array_get(json_object_get(b, "stop"), 1)), "b");
        if (words[e])
            CHECK_STR(json_string_value(json_object_get(b, "reasoning_effort")), words[e]);
        else
            CHECK(json_object_get(b, "reasoning_effort") == NULL);
        json_decref(b);
        llm__http_req_free(&h);
        llm__response_destroy(r);
    }
    llm_request_free(req);
}

static json_t *built_body(const llm_request *req, llm_response **r_out)
{
    struct llm__http_req h;
    llm_response *r;
    int rc = build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, NULL);
    CHECK_INT(rc, LLM_OK);
    if (rc)
        printf("#   %s\n", llm_response_errmsg(r));
    json_t *b = fx_body(&h);
    llm__http_req_free(&h);
    if (r_out)
        *r_out = r;
    else
        llm__response_destroy(r);
    return b;
}

TEST(tool_choices_and_parallel)
{
    llm_request *req = user("Weather in Paris?");
    add_tools(req);
    CHECK_INT(llm_request_add_tool(req, "ping", NULL, NULL), LLM_OK);
    json_t *b = built_body(req, NULL);
    CHECK(json_object_get(b, "tool_choice") == NULL);
    CHECK(json_object_get(b, "parallel_tool_calls") == NULL);
    json_t *ping = json_object_get(json_array_get(json_object_get(b, "tools"), 2), "function");
    CHECK_STR(json_string_value(json_object_get(ping, "name")), "ping");
    CHECK(json_object_get(ping, "description") == NULL);
    json_t *want = json_loads("{\"type\":\"object\",\"properties\":{}}", 0, NULL);
    CHECK(json_equal(json_object_get(ping, "parameters"), want));
    json_decref(want);
    json_decref(b);

    CHECK_INT(llm_request_set_tool_choice(req, LLM_TOOL_CHOICE_NONE, NULL), LLM_OK);
    b = built_body(req, NULL);
    CHECK_STR(json_string_value(json_object_get(b, "tool_choice")), "none");
    json_decref(b);
    CHECK_INT(llm_request_set_tool_choice(req, LLM_TOOL_CHOICE_REQUIRED, NULL), LLM_OK);
    b = built_body(req, NULL);
    CHECK_STR(json_string_value(json_object_get(b, "tool_choice")), "required");
    json_decref(b);
    CHECK_INT(llm_request_set_tool_choice(req, LLM_TOOL_CHOICE_NAMED, "get_time"), LLM_OK);
    CHECK_INT(llm_request_set_parallel_tool_calls(req, 0), LLM_OK);
    b = built_body(req, NULL);
    want = json_loads("{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", 0, NULL);
    CHECK(json_equal(json_object_get(b, "tool_choice"), want));
    json_decref(want);
    CHECK(json_is_false(json_object_get(b, "parallel_tool_calls")));
    json_decref(b);
    llm_request_free(req);

    /* Without tools, parallel_tool_calls is a 400 on OpenAI: left out. */
    req = user("Hi");
    CHECK_INT(llm_request_set_parallel_tool_calls(req, 0), LLM_OK);
    b = built_body(req, NULL);
    CHECK(json_object_get(b, "parallel_tool_calls") == NULL);
    CHECK(json_object_get(b, "tools") == NULL);
    json_decref(b);
    llm_request_free(req);
}

TEST(strict_only_for_strict_schemas)
{
    llm_request *req = user("Answer as JSON.");
    CHECK_INT(llm_request_set_response_schema(req, "answer",
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\",\"b\"],"
        "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"object\",\"properties\":{\"c\":{\"type\":[\"string\",\"null\"]}},"
        "\"required\":[\"c\"],\"additionalProperties\":false}}}}"), LLM_OK);
    json_t *b = built_body(req, NULL);
    json_t *js = json_object_get(json_object_get(b, "response_format"), "json_schema");
    CHECK(json_is_true(json_object_get(js, "strict")));
    CHECK_STR(json_string_value(json_object_get(js, "name")), "answer");
    json_decref(b);
    /* A nested object that is open: not strict. */
    CHECK_INT(llm_request_set_response_schema(req, "answer",
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
        "\"properties\":{\"a\":{\"type\":\"object\",\"properties\":{\"x\":{}}}}}"), LLM_OK);
    b = built_body(req, NULL);
    js = json_object_get(json_object_get(b, "response_format"), "json_schema");
    CHECK(json_object_get(js, "strict") == NULL);
    CHECK(json_is_object(json_object_get(js, "schema")));
    json_decref(b);
    /* An optional property: not strict either. */
    CHECK_INT(llm_request_set_response_schema(req, "answer",
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[],"
        "\"properties\":{\"a\":{\"type\":\"integer\"}}}"), LLM_OK);
    b = built_body(req, NULL);
    js = json_object_get(json_object_get(b, "response_format"), "json_schema");
    CHECK(json_object_get(js, "strict") == NULL);
    json_decref(b);
    llm_request_free(req);
}

TEST(messages_mapping)
{
    llm_request *req = NULL;
    CHECK_INT(llm_request_new(&req), LLM_OK);
    CHECK_INT(llm_request_add_message(req, LLM_ROLE_SYSTEM), LLM_OK);
    CHECK_INT(llm_request_append_text(req, "one", 3), LLM_OK);
    CHECK_INT(llm_request_append_text(req, "two", 3), LLM_OK);
    CHECK_INT(llm_request_add_message(req, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_image_url(req, "https://example.com/cat.png"), LLM_OK);
    CHECK_INT(llm_request_add_message(req, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_text(req, "Calling.", 8), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(req, "call_1", "ping", NULL, 0), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(req, "call_1", NULL, "it broke", 8, LLM_TOOL_RESULT_ERROR), LLM_OK);
    CHECK_INT(llm_request_add_tool(req, "ping", NULL, NULL), LLM_OK);
    json_t *b = built_body(req, NULL);
    json_t *want = json_loads(
        "[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"one\"},{\"type\":\"text\",\"text\":\"two\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"Calling.\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"ping\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"it broke\"}]", 0, NULL);
    CHECK(want != NULL);
    CHECK(json_equal(json_object_get(b, "messages"), want));
    json_decref(want);
    json_decref(b);
    llm_request_free(req);
}

/* A response of another provider whose reasoning carries a signature, and
 * one of this provider without meta. */
static llm_response *reasoned(const char *provider, int with_meta)
{
    llm_response *r = fx_resp(provider, "some-model");
    CHECK_INT(llm__resp_append_reasoning(r, "thinking...", 11), LLM_OK);
    if (with_meta)
        CHECK_INT(llm__resp_set_meta(r, llm__resp_last_part(r), "{\"signature\":\"abc\"}", 19), LLM_OK);
    CHECK_INT(llm__resp_append_text(r, "Answer.", 7), LLM_OK);
    return r;
}

TEST(reasoning_and_opaque_parts_are_not_sent)
{
    /* Without meta: dropped without a word. */
    llm_request *req = user("Q");
    llm_response *prev = reasoned("openai", 0);
    CHECK_INT(llm_request_add_response(req, prev), LLM_OK);
    CHECK_INT(llm_request_add_text(req, LLM_ROLE_USER, "Q2"), LLM_OK);
    llm_response *r;
    json_t *b = built_body(req, &r);
    json_t *msgs = json_object_get(b, "messages");
    CHECK_INT((int)json_array_size(msgs), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "Answer.");
    CHECK_INT((int)llm_response_warning_count(r), 0);
    json_decref(b);
    llm__response_destroy(r);
    llm__response_destroy(prev);
    llm_request_free(req);

    /* Another producer's signed reasoning and an opaque part: noted once. */
    req = user("Q");
    prev = reasoned("anthropic", 1);
    CHECK_INT(llm__resp_add_opaque(prev, "{\"type\":\"redacted_thinking\"}", 28), LLM_OK);
    CHECK_INT(llm_request_add_response(req, prev), LLM_OK);
    b = built_body(req, &r);
    CHECK_INT((int)json_array_size(json_object_get(b, "messages")), 2);
    CHECK_INT((int)llm_response_warning_count(r), 1);
    CHECK(fx_has_warning(r, "dropped opaque anthropic/some-model"));
    json_decref(b);
    llm__response_destroy(r);
    llm__response_destroy(prev);
    llm_request_free(req);

    /* A turn of nothing but reasoning leaves no assistant message. */
    req = user("Q");
    prev = fx_resp("openai", "m");
    CHECK_INT(llm__resp_append_reasoning(prev, "hmm", 3), LLM_OK);
    CHECK_INT(llm_request_add_response(req, prev), LLM_OK);
    CHECK_INT(llm_request_add_text(req, LLM_ROLE_USER, "Q2"), LLM_OK);
    b = built_body(req, NULL);
    msgs = json_object_get(b, "messages");
    CHECK_INT((int)json_array_size(msgs), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "user");
    json_decref(b);
    llm__response_destroy(prev);
    llm_request_free(req);
}

TEST(extras_merge_in_order)
{
    llm_request *req = user("Say hi.");
    CHECK_INT(llm_request_set_temperature(req, 0.3), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(req, "openai", "{\"temperature\":0.9,\"user\":\"u1\"}", 31), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(req, NULL, "{\"temperature\":0.1,\"logprobs\":true}", 35), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(req, "azure", "{\"azure_only\":1}", 16), LLM_OK);
    json_t *b = built_body(req, NULL);
    /* The provider's own extras win over the shared ones. */
    CHECK(json_real_value(json_object_get(b, "temperature")) > 0.89);
    CHECK_STR(json_string_value(json_object_get(b, "user")), "u1");
    CHECK(json_is_true(json_object_get(b, "logprobs")));
    CHECK(json_object_get(b, "azure_only") == NULL);
    json_decref(b);
    llm_request_free(req);
}

TEST(hostile_requests)
{
    llm_request *req = user("Say hi.");
    add_tools(req);
    /* A schema the setter would refuse, planted behind its back. */
    char *saved = req->tools[0].schema;
    req->tools[0].schema = "[1,2]";
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, TEST_BASE, "gpt-4o-mini", 0, &h, &r, NULL), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "get_weather") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    req->tools[0].schema = saved;

    /* A model name that is not UTF-8. */
    CHECK_INT(build(req, TEST_BASE, "bad\xff", 0, &h, &r, NULL), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "UTF-8") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    struct llm__call call;
    r = fx_resp("openai", "m");
    fx_call(&call, OPS, NULL, r, "m");
    memset(&h, 0, sizeof h);
    CHECK_INT(OPS->build(&call, &h), LLM_ERR_INVALID_ARG);
    CHECK_INT(OPS->build(&call, NULL), LLM_ERR_INVALID_ARG);
    CHECK_INT(OPS->build(NULL, &h), LLM_ERR_MISUSE);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

/* ---- non-streamed replies ---------------------------------------------- */

TEST(standard_replies)
{
    int rc;
    llm_response *r = parsed("text", "gpt-4o-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "Hello from libllm.");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_STOP);
    CHECK_STR(llm_response_finish_raw(r), "stop");
    CHECK_STR(llm_response_id(r), "chatcmpl-text");
    CHECK_STR(llm_response_model(r), "gpt-4o-mini-2024-07-18");
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 12);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 5);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), 0);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_WRITE), 0);
    CHECK_INT(fx_usage(r, LLM_USAGE_REASONING), 0);
    CHECK_INT(fx_usage(r, LLM_USAGE_TOTAL), 17);
    CHECK(llm_response_usage_raw(r, NULL) && strstr(llm_response_usage_raw(r, NULL), "\"prompt_tokens\":12"));
    CHECK(llm_response_filter_json(r, NULL) == NULL);
    llm__response_destroy(r);

    r = parsed("history", "gpt-4o-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "Your name is Ada.");
    llm__response_destroy(r);

    r = parsed("tools", "gpt-4o-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(r), 1);
    CHECK_STR(llm_response_tool_call_id(r, 0), "call_Wx1a2b3c");
    CHECK_STR(llm_response_tool_call_name(r, 0), "get_weather");
    CHECK_STR(fx_args(r, 0), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    CHECK_STR(llm_response_text(r, NULL), "");
    llm__response_destroy(r);

    r = parsed("parallel_tools", "gpt-4o-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(r), 2);
    CHECK_STR(llm_response_tool_call_name(r, 1), "get_time");
    CHECK_STR(fx_args(r, 1), "{\"tz\":\"Asia/Tokyo\"}");
    llm__response_destroy(r);

    r = parsed("tool_results", "gpt-4o-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo.");
    llm__response_destroy(r);

    r = parsed("image", "gpt-4o-mini", &rc);
    CHECK_STR(llm_response_text(r, NULL), "A red square.");
    llm__response_destroy(r);
    r = parsed("structured", "gpt-4o-mini", &rc);
    CHECK_STR(llm_response_text(r, NULL), "{\"answer\":42}");
    llm__response_destroy(r);
    r = parsed("unicode", "gpt-4o-mini", &rc);
    CHECK_STR(llm_response_text(r, NULL), "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line");
    llm__response_destroy(r);
}

TEST(refusal_is_a_content_filter_finish)
{
    int rc;
    llm_response *r = parsed("refusal", "gpt-4o-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT(llm_response_status(r), LLM_OK);
    CHECK_INT(llm_response_finish(r), LLM_FINISH_CONTENT_FILTER);
    CHECK_STR(llm_response_finish_raw(r), "stop");
    CHECK_STR(llm_response_text(r, NULL), "");
    CHECK(fx_has_warning(r, "refusal: I'm sorry, I can't help with that."));
    llm__response_destroy(r);
}

TEST(deepseek_reasoning_and_cache)
{
    int rc;
    llm_response *r = parsed("deepseek_reasoning", "deepseek-reasoner", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT((int)llm_response_part_count(r), 2);
    CHECK_INT(llm_response_part_type(r, 0), LLM_PART_REASONING);
    CHECK_STR(llm_response_part_text(r, 0, NULL), "2 plus 2 is 4.");
    CHECK_STR(llm_response_text(r, NULL), "The answer is 4.");
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 30);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), 24);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_WRITE), -1);
    CHECK_INT(fx_usage(r, LLM_USAGE_REASONING), 52);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 60);
    llm__response_destroy(r);
}

TEST(reasoning_model_usage)
{
    int rc;
    llm_response *r = parsed("reasoning_usage", "o3-mini", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 2000);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), 1536);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_WRITE), 0);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 400);
    CHECK_INT(fx_usage(r, LLM_USAGE_REASONING), 320);
    CHECK_INT(fx_usage(r, LLM_USAGE_TOTAL), 2400);
    llm__response_destroy(r);
}

/* Parse an inline 200 body. */
static int parse_body(const char *body, llm_response **out)
{
    llm_response *r = fx_resp("openai", "m");
    struct llm__call call;
    fx_call(&call, OPS, NULL, r, "m");
    struct llm__http_res res = {.status = 200, .body = body, .body_len = strlen(body)};
    int rc = OPS->parse(&call, &res, r);
    CHECK_INT(rc, llm_response_status(r));
    if (rc)
        CHECK(strlen(llm_response_errmsg(r)) > 0);
    *out = r;
    return rc;
}

TEST(reply_variants)
{
    llm_response *r;
    /* Content as an array of parts (Mistral), custom tools, object arguments,
     * missing ids, unknown finish reasons, cache writes. */
    CHECK_INT(parse_body("{\"choices\":[{\"index\":1,\"message\":{\"content\":\"no\"}},{\"index\":0,\"message\":"
                         "{\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"b\"}],"
                         "\"tool_calls\":[{\"type\":\"custom\",\"custom\":{\"name\":\"x\",\"input\":\"y\"}},"
                         "{\"function\":{\"name\":\"f\",\"arguments\":{\"k\":1}}},{\"type\":\"function\",\"id\":\"\","
                         "\"function\":{\"name\":\"g\"}}]},\"finish_reason\":\"eos\"}],"
                         "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":null,"
                         "\"prompt_tokens_details\":{\"cached_tokens\":null,\"cache_write_tokens\":40}}}", &r), LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "ab");
    CHECK_INT((int)llm_response_tool_call_count(r), 2);
    CHECK_STR(fx_args(r, 0), "{\"k\":1}");
    CHECK_STR(llm_response_tool_call_id(r, 0), "call_0");
    CHECK_STR(llm_response_tool_call_id(r, 1), "call_1");
    CHECK_STR(fx_args(r, 1), "{}");
    CHECK(fx_has_warning(r, "custom"));
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    CHECK_STR(llm_response_finish_raw(r), "eos");
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 100);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), -1);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), 0);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_WRITE), 40);
    CHECK_INT(fx_usage(r, LLM_USAGE_REASONING), -1);
    llm__response_destroy(r);

    static const struct {
        const char *word;
        int finish;
    } fins[] = {{"length", LLM_FINISH_LENGTH}, {"model_length", LLM_FINISH_LENGTH},
                {"content_filter", LLM_FINISH_CONTENT_FILTER}, {"function_call", LLM_FINISH_TOOL_CALLS},
                {"error", LLM_FINISH_ERROR}, {"insufficient_system_resource", LLM_FINISH_ERROR},
                {"whatever_new", LLM_FINISH_OTHER}};
    for (size_t i = 0; i < sizeof fins / sizeof fins[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"%s\"}]}",
                 fins[i].word);
        CHECK_INT(parse_body(body, &r), LLM_OK);
        CHECK_INT(llm_response_finish(r), fins[i].finish);
        CHECK_STR(llm_response_finish_raw(r), fins[i].word);
        llm__response_destroy(r);
    }
    CHECK_INT(parse_body("{\"choices\":[{\"message\":{\"content\":null}}]}", &r), LLM_OK);
    CHECK_INT(llm_response_finish(r), LLM_FINISH_OTHER);
    CHECK(llm_response_finish_raw(r) == NULL);
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), -1);
    llm__response_destroy(r);

    /* A 200 that is an error (some compatible servers). */
    CHECK_INT(parse_body("{\"error\":{\"message\":\"busy\",\"type\":\"server_error\",\"code\":503}}", &r),
              LLM_ERR_OVERLOADED);
    CHECK_STR(llm_response_error_code(r), "503");
    llm__response_destroy(r);
}

TEST(hostile_replies)
{
    static const char *const bad[] = {
        "", "not json", "[1,2]", "42", "{}", "{\"choices\":{}}", "{\"choices\":[]}",
        "{\"choices\":[1]}", "{\"choices\":[{\"index\":0}]}", "{\"choices\":[{\"message\":[]}]}",
        "{\"choices\":[{\"message\":{\"content\":5}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":{}}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[7]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{}}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":5}}]}}]}",
        "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":5}]}",
        "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":99999999999999999999999}}",
        "{\"choices\":[{\"message\":{\"content\":\"x\"}}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        llm_response *r;
        int rc = parse_body(bad[i], &r);
        CHECK_INT(rc, LLM_ERR_PROTOCOL);
        if (rc != LLM_ERR_PROTOCOL)
            printf("#   case %zu: %s\n", i, llm_response_errmsg(r));
        llm__response_destroy(r);
    }
    /* Wrong types where nothing depends on them are ignored. */
    llm_response *r;
    CHECK_INT(parse_body("{\"id\":5,\"model\":[],\"choices\":[{\"message\":{\"content\":\"x\",\"refusal\":7}}],"
                         "\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":1e30,"
                         "\"prompt_tokens_details\":7}}", &r), LLM_OK);
    CHECK(llm_response_id(r) == NULL);
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), -1);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), -1);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), -1);
    llm__response_destroy(r);
    /* Embedded NUL in text survives with its length. */
    CHECK_INT(parse_body("{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}", &r), LLM_OK);
    size_t n = 0;
    llm_response_text(r, &n);
    CHECK_INT((int)n, 3);
    llm__response_destroy(r);

    struct llm__call call;
    r = fx_resp("openai", "m");
    fx_call(&call, OPS, NULL, r, "m");
    CHECK_INT(OPS->parse(&call, NULL, r), LLM_ERR_PROTOCOL);
    CHECK_INT(OPS->parse(&call, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(OPS->map_error(&call, NULL, r), LLM_ERR_PROTOCOL);
    llm__response_destroy(r);
}

/* ---- errors ------------------------------------------------------------- */

static llm_response *mapped(const char *kase, int *rc)
{
    return parsed(kase, "gpt-4o-mini", rc);
}

TEST(error_mapping)
{
    static const struct {
        const char *kase;
        int status, retryable;
        const char *type, *code;
    } cases[] = {
        {"error_400", LLM_ERR_INVALID_REQUEST, 0, "invalid_request_error", "invalid_value"},
        {"error_401", LLM_ERR_AUTH, 0, "invalid_request_error", "invalid_api_key"},
        {"error_429", LLM_ERR_RATE_LIMITED, 1, "tokens", "rate_limit_exceeded"},
        {"error_500", LLM_ERR_SERVER, 1, "server_error", NULL},
        {"error_529", LLM_ERR_OVERLOADED, 1, "server_error", "server_is_overloaded"},
        {"insufficient_quota", LLM_ERR_QUOTA, 0, "insufficient_quota", "insufficient_quota"},
        {"context_length", LLM_ERR_CONTEXT_LENGTH, 0, "invalid_request_error", "context_length_exceeded"},
        {"compat_flat_error", LLM_ERR_INVALID_REQUEST, 0, "BadRequestError", "400"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        llm_response *r = mapped(cases[i].kase, &rc);
        CHECK_INT(rc, cases[i].status);
        CHECK_INT(llm_response_status(r), cases[i].status);
        CHECK_INT(llm_response_retryable(r), cases[i].retryable);
        if (cases[i].type)
            CHECK_STR(llm_response_error_type(r), cases[i].type);
        if (cases[i].code)
            CHECK_STR(llm_response_error_code(r), cases[i].code);
        else
            CHECK(llm_response_error_code(r) == NULL);
        CHECK(llm_response_error_message(r) != NULL);
        CHECK(strstr(llm_response_errmsg(r), llm_response_error_message(r)) != NULL);
        CHECK_INT(llm_response_error_mid_stream(r), 0);
        llm__response_destroy(r);
    }
}

static int map_body(int status, const char *body, const char *hname, const char *hval,
                    llm_response **out)
{
    llm_response *r = fx_resp("openai", "m");
    struct llm__call call;
    fx_call(&call, OPS, NULL, r, "m");
    struct llm__header hd = {(char *)hname, (char *)hval};
    struct llm__http_res res = {.status = status, .body = body, .body_len = strlen(body),
                                .headers = hname ? &hd : NULL, .nheaders = hname ? 1 : 0};
    int rc = OPS->map_error(&call, &res, r);
    CHECK_INT(rc, llm_response_status(r));
    CHECK(rc != LLM_OK);
    *out = r;
    return rc;
}

TEST(error_shapes)
{
    static const struct {
        int http;
        const char *body;
        int status, retryable;
    } cases[] = {
        {502, "<html>Bad gateway</html>", LLM_ERR_SERVER, 1},
        {504, "", LLM_ERR_TIMEOUT, 1},
        {408, "{}", LLM_ERR_TIMEOUT, 1},
        {409, "{\"error\":{\"message\":\"lock\"}}", LLM_ERR_SERVER, 1},
        {403, "{\"error\":{\"message\":\"no\",\"type\":\"permission_error\",\"code\":null}}", LLM_ERR_PERMISSION, 0},
        {404, "{\"error\":{\"message\":\"The model `x` does not exist\",\"code\":\"model_not_found\"}}", LLM_ERR_NOT_FOUND, 0},
        {422, "{\"error\":\"unprocessable\"}", LLM_ERR_INVALID_REQUEST, 0},
        {413, "{\"message\":\"too big\"}", LLM_ERR_INVALID_REQUEST, 0},
        {400, "{\"error\":{\"message\":\"blocked\",\"code\":\"content_policy_violation\"}}", LLM_ERR_CONTENT_FILTER, 0},
        {400, "{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096 tokens.\",\"code\":400}", LLM_ERR_CONTEXT_LENGTH, 0},
        {429, "{\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\",\"code\":null}}", LLM_ERR_QUOTA, 0},
        {402, "{\"error\":{\"code\":402,\"message\":\"Insufficient credits\"}}", LLM_ERR_QUOTA, 0},
        {503, "{\"error\":{\"message\":\"slow\",\"code\":\"slow_down\"}}", LLM_ERR_OVERLOADED, 1},
        {500, "{\"error\":{\"message\":5,\"type\":[],\"code\":1.5}}", LLM_ERR_SERVER, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r;
        int rc = map_body(cases[i].http, cases[i].body, NULL, NULL, &r);
        CHECK_INT(rc, cases[i].status);
        CHECK_INT(llm_response_retryable(r), cases[i].retryable);
        char want[16];
        snprintf(want, sizeof want, "HTTP %d", cases[i].http);
        CHECK(strstr(llm_response_errmsg(r), want) != NULL);
        if (rc != cases[i].status)
            printf("#   case %zu: %s\n", i, llm_response_errmsg(r));
        llm__response_destroy(r);
    }
    llm_response *r;
    CHECK_INT(map_body(502, "<html>Bad gateway</html>", NULL, NULL, &r), LLM_ERR_SERVER);
    CHECK(strstr(llm_response_errmsg(r), "Bad gateway") != NULL);
    CHECK(llm_response_error_message(r) == NULL);
    llm__response_destroy(r);
    CHECK_INT(map_body(422, "{\"error\":\"unprocessable\"}", NULL, NULL, &r), LLM_ERR_INVALID_REQUEST);
    CHECK_STR(llm_response_error_message(r), "unprocessable");
    llm__response_destroy(r);
    /* An error code only in the header. */
    CHECK_INT(map_body(404, "{\"error\":{\"message\":\"gone\"}}", "x-ms-error-code", "DeploymentNotFound", &r),
              LLM_ERR_NOT_FOUND);
    CHECK_STR(llm_response_error_code(r), "DeploymentNotFound");
    llm__response_destroy(r);
}

/* ---- streams ------------------------------------------------------------ */

TEST(stream_text)
{
    llm_response *r;
    struct fx_stream s;
    fx_stream_case(OPS, "openai", "text", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "T(Hello)T( from)T( libllm)T(.)U");
    CHECK_STR(llm_response_text(r, NULL), "Hello from libllm.");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_STOP);
    CHECK_STR(llm_response_finish_raw(r), "stop");
    CHECK_STR(llm_response_id(r), "chatcmpl-text");
    CHECK_STR(llm_response_model(r), "gpt-4o-mini-2024-07-18");
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 12);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 5);
    CHECK(llm_response_usage_raw(r, NULL) != NULL);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
}

TEST(stream_tool_calls)
{
    llm_response *r;
    struct fx_stream s;
    fx_stream_case(OPS, "openai", "tools", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "S0(call_Wx1a2b3c,get_weather)D0({\")D0(ci)D0(ty\":\")D0(Pa)D0(ris)D0(\"})E0U");
    CHECK_STR(fx_args(r, 0), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "openai", "parallel_tools", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_INT(s.starts, 2);
    CHECK_INT(s.ends, 2);
    CHECK_INT((int)llm_response_tool_call_count(r), 2);
    CHECK_STR(llm_response_tool_call_id(r, 1), "call_Tz9Lm2");
    CHECK_STR(fx_args(r, 0), "{\"city\":\"Paris\"}");
    CHECK_STR(fx_args(r, 1), "{\"tz\":\"Asia/Tokyo\"}");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* Ids left out, arguments before the name, a later index. */
    fx_stream_case(OPS, "openai", "compat_tool_stream", "llama3.1", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "S0(call_0,get_weather)D0({\"city\":)D0(\"Paris\"})"
                          "S1(call_1,get_time)D1({\"tz\":)D1(\"Asia/Tokyo\"})E0E1");
    CHECK_STR(fx_args(r, 1), "{\"tz\":\"Asia/Tokyo\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
}

TEST(stream_other_cases)
{
    llm_response *r;
    struct fx_stream s;
    fx_stream_case(OPS, "openai", "unicode", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "openai", "refusal", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "W(refusal: I'm sorry, I can't help with that.)U");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_CONTENT_FILTER);
    CHECK(fx_has_warning(r, "refusal: I'm sorry, I can't help with that."));
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* EOF after a finish_reason without [DONE] is a complete answer. */
    fx_stream_case(OPS, "openai", "compat_no_done", "qwen", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "T(Hello)T( there.)U");
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 9);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 3);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), -1);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "openai", "deepseek_reasoning", "deepseek-reasoner", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "R(2 plus 2)R( is 4.)T(The answer)T( is 4.)U");
    CHECK_INT(llm_response_part_type(r, 0), LLM_PART_REASONING);
    CHECK_STR(llm_response_text(r, NULL), "The answer is 4.");
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), 24);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "openai", "keepalive", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "T(Hello)T( again.)U");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "openai", "reasoning_usage", "o3-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_INT(fx_usage(r, LLM_USAGE_REASONING), 320);
    CHECK_INT(fx_usage(r, LLM_USAGE_CACHE_READ), 1536);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
}

TEST(stream_errors_mid_stream)
{
    static const struct {
        const char *kase;
        int status;
        const char *text;
    } cases[] = {
        {"stream_error", LLM_ERR_SERVER, "Hello from"},
        {"compat_flat_error", LLM_ERR_SERVER, "Hel"},
        {"openrouter_mid_error", LLM_ERR_RATE_LIMITED, "Hi"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r;
        struct fx_stream s;
        fx_stream_case(OPS, "openai", cases[i].kase, "gpt-4o-mini", 0, &r, &s);
        CHECK_INT(s.end_rc, cases[i].status);
        CHECK_INT(llm_response_status(r), cases[i].status);
        CHECK_INT(llm_response_error_mid_stream(r), 1);
        CHECK_STR(llm_response_text(r, NULL), cases[i].text);
        CHECK(llm_response_error_message(r) != NULL);
        CHECK(strstr(llm_response_errmsg(r), "error in the stream") != NULL);
        CHECK_INT(llm_response_retryable(r), 1);
        llm__buf_free(&s.log);
        llm__response_destroy(r);
    }
}

/* Run inline SSE text (no HTTP head) in one piece. */
static int stream_body(const char *sse, llm_response **out, struct fx_stream *s)
{
    llm_response *r = fx_resp("openai", "m");
    struct llm__call call;
    fx_call(&call, OPS, NULL, r, "m");
    call.streaming = 1;
    fx_run_stream(OPS, &call, sse, strlen(sse), 0, s);
    *out = r;
    if (s->end_rc)
        CHECK(strlen(llm_response_errmsg(r)) > 0);
    return s->end_rc;
}

#define CHUNK(delta) "data: {\"choices\":[{\"index\":0,\"delta\":" delta "}]}\n\n"
#define FINISH(word) "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"" word "\"}]}\n\n"

TEST(stream_truncation)
{
    llm_response *r;
    struct fx_stream s;
    CHECK_INT(stream_body(CHUNK("{\"content\":\"Hel\"}"), &r, &s), LLM_ERR_NETWORK);
    CHECK(strstr(llm_response_errmsg(r), "truncated") != NULL);
    CHECK_STR(llm_response_text(r, NULL), "Hel");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    CHECK_INT(stream_body("", &r, &s), LLM_ERR_NETWORK);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* Cut inside a tool call after its finish: the open call is closed. */
    CHECK_INT(stream_body(CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}")
                          CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}")
                          FINISH("tool_calls"), &r, &s), LLM_OK);
    CHECK_STR(fx_log(&s), "S0(a,f)D0({)D0(})E0");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* [DONE] with no finish_reason: done, finish OTHER, calls closed. */
    CHECK_INT(stream_body(CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\"}}]}")
                          "data: [DONE]\n\n" CHUNK("{\"content\":\"after\"}"), &r, &s), LLM_OK);
    CHECK_STR(fx_log(&s), "S0(a,f)E0");
    CHECK_STR(fx_args(r, 0), "{}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_OTHER);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
}

TEST(stream_hostile_frames)
{
    static const struct {
        const char *sse;
        int status;
    } cases[] = {
        {"data: garbage\n\n", LLM_ERR_PROTOCOL},
        {"data: [1]\n\n", LLM_ERR_PROTOCOL},
        {"data: {\"choices\":5}\n\n", LLM_ERR_PROTOCOL},
        {"data: {\"choices\":[7]}\n\n", LLM_ERR_PROTOCOL},
        {CHUNK("[]"), LLM_ERR_PROTOCOL},
        {CHUNK("{\"content\":{}}"), LLM_ERR_PROTOCOL},
        {CHUNK("{\"tool_calls\":{}}"), LLM_ERR_PROTOCOL},
        {CHUNK("{\"tool_calls\":[1]}"), LLM_ERR_PROTOCOL},
        {CHUNK("{\"tool_calls\":[{\"index\":\"0\"}]}"), LLM_ERR_PROTOCOL},
        {CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":7}]}"), LLM_ERR_PROTOCOL},
        {CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":true}}]}"), LLM_ERR_PROTOCOL},
        /* Arguments for a call whose name never comes. */
        {CHUNK("{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"{}\"}}]}") FINISH("tool_calls"), LLM_ERR_PROTOCOL},
        {"data: {\"choices\":[{\"delta\":{},\"finish_reason\":1}]}\n\n", LLM_ERR_PROTOCOL},
        {"event: error\ndata: {\"message\":\"boom\",\"type\":\"overloaded_error\"}\n\n", LLM_ERR_OVERLOADED},
        {"data: {\"error\":\"plain text error\"}\n\n", LLM_ERR_SERVER},
        {"data: {\"error\":{\"message\":\"ctx\",\"code\":\"context_length_exceeded\"}}\n\n", LLM_ERR_CONTEXT_LENGTH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r;
        struct fx_stream s;
        int rc = stream_body(cases[i].sse, &r, &s);
        CHECK_INT(rc, cases[i].status);
        if (rc != cases[i].status)
            printf("#   case %zu: %s\n", i, llm_response_errmsg(r));
        llm__buf_free(&s.log);
        llm__response_destroy(r);
    }

    /* Too many tool calls. */
    llm__buf big = {0};
    for (int i = 0; i < 1100; i++)
        llm__buf_printf(&big, CHUNK("{\"tool_calls\":[{\"index\":%d,\"function\":{\"name\":\"f\"}}]}"), i);
    llm_response *r;
    struct fx_stream s;
    CHECK_INT(stream_body(big.data, &r, &s), LLM_ERR_PROTOCOL);
    CHECK(strstr(llm_response_errmsg(r), "1024") != NULL);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
    llm__buf_free(&big);

    /* Argument text without a name, without bound: refused. */
    llm__buf pend = {0};
    llm__buf_puts(&pend, "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"");
    for (int i = 0; i < (5 << 20) / 64; i++)
        llm__buf_puts(&pend, "0123456789012345678901234567890123456789012345678901234567890123");
    llm__buf_puts(&pend, "\"}}]}}]}\n\n");
    CHECK_INT(stream_body(pend.data, &r, &s), LLM_ERR_PROTOCOL);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
    llm__buf_free(&pend);

    /* A reused index with a new id is a new call (older Ollama). */
    CHECK_INT(stream_body(CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}")
                          CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}")
                          CHUNK("{\"tool_calls\":[{\"function\":{\"name\":\"h\",\"arguments\":\"{\\\"x\\\":1}\"}}]}")
                          CHUNK("{\"tool_calls\":[{\"type\":\"custom\",\"custom\":{\"name\":\"c\"}}]}")
                          FINISH("tool_calls") "data: [DONE]\n\n", &r, &s), LLM_OK);
    CHECK_STR(fx_log(&s), "S0(a,f)D0({})E0S1(b,g)D1({})S2(call_2,h)D2({\"x\":1})"
                          "W(ignored a tool call of type \"custom\")E1E2");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* Frames after [DONE], empty data and blank frames change nothing. */
    CHECK_INT(stream_body("data: \n\ndata: [DONE]\n\ndata: garbage\n\n", &r, &s), LLM_OK);
    CHECK_STR(fx_log(&s), "");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* Defensive entry points. */
    struct llm__sstate st;
    r = fx_resp("openai", "m");
    struct llm__call call;
    fx_call(&call, OPS, NULL, r, "m");
    CHECK_INT(llm__sstate_init(&st, &call, r), LLM_OK);
    struct llm__frame f = {.data = "{}", .data_len = 2};
    CHECK_INT(OPS->stream_event(&st, &f), LLM_ERR_MISUSE);
    CHECK_INT(OPS->stream_event(NULL, &f), LLM_ERR_MISUSE);
    CHECK_INT(OPS->stream_begin(NULL), LLM_ERR_MISUSE);
    CHECK_INT(OPS->stream_end(&st), LLM_ERR_NETWORK);
    OPS->stream_free(&st);
    OPS->stream_free(NULL);
    llm__sstate_cleanup(&st);
    llm__response_destroy(r);
}

/* Random bytes as frames and bodies: a status, never a crash or leak. */
TEST(random_input)
{
    uint64_t x = 88172645463325252ULL;
    char buf[512];
    static const char alphabet[] = "{}[]\":,0123456789 abcdefnulltruechoicesdeltacontenttool_callsindexfunctionnameargumentsfinish_reasonerrorusage";
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = (size_t)(x % (sizeof buf - 1));
        for (; n < len; n++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[n] = iter % 3 ? alphabet[x % (sizeof alphabet - 1)] : (char)(x & 0xff);
        }
        buf[n] = '\0';
        llm_response *r = fx_resp("openai", "m");
        struct llm__call call;
        fx_call(&call, OPS, NULL, r, "m");
        struct llm__http_res res = {.status = 200, .body = buf, .body_len = n};
        int rc = OPS->parse(&call, &res, r);
        CHECK(rc == llm_response_status(r));
        llm__response_destroy(r);

        r = fx_resp("openai", "m");
        fx_call(&call, OPS, NULL, r, "m");
        struct llm__sstate st;
        CHECK_INT(llm__sstate_init(&st, &call, r), LLM_OK);
        CHECK_INT(OPS->stream_begin(&st), LLM_OK);
        struct llm__frame f = {.data = buf, .data_len = n};
        rc = OPS->stream_event(&st, &f);
        CHECK(rc == LLM_OK || rc == llm_response_status(r));
        if (!rc)
            rc = OPS->stream_end(&st);
        CHECK(rc == llm_response_status(r));
        OPS->stream_free(&st);
        llm__sstate_cleanup(&st);
        llm__response_destroy(r);
    }
}

/* ---- allocation failure ------------------------------------------------- */

/* The outcome of a run in which allocation n failed (hit) or which ran to
 * its end (!hit): NOMEM, or the run's normal status when what failed was
 * only the readable text. */
static int oom_outcome(const char *what, long n, int hit, int rc, int normal, const llm_response *r)
{
    if (!hit) {
        CHECK_INT(rc, normal);
        return 1;
    }
    if (rc == LLM_ERR_NOMEM) {
        CHECK_INT(llm_response_status(r), LLM_ERR_NOMEM);
        if (llm_response_status(r) != LLM_ERR_NOMEM)
            printf("#   %s, allocation %ld: status %d\n", what, n, llm_response_status(r));
        return 0;
    }
    int ok = rc == normal && *llm_response_errmsg(r) == '\0';
    CHECK(ok);
    if (!ok)
        printf("#   %s, allocation %ld failed: %d %s\n", what, n, rc, llm_response_errmsg(r));
    return 0;
}

/* Every allocation of a build, a parse and a stream fails in turn: each
 * run ends cleanly and leaks nothing (ASan and valgrind say). */
TEST(allocation_failures)
{
    llm_request *req = standard_request("tool_results");
    CHECK_INT(llm_request_set_response_schema(req, "answer", "{\"type\":\"object\"}"), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(req, NULL, "{\"x\":1}", 7), LLM_OK);
    int done = 0;
    for (long n = 1; n < 100000 && !done; n++) {
        llm_response *r = fx_resp("openai", "gpt-4o-mini");
        struct llm__call call;
        fx_call(&call, OPS, req, r, "gpt-4o-mini");
        call.streaming = 1;
        struct llm__http_req h;
        memset(&h, 0, sizeof h);
        fx_arm(n);
        int rc = OPS->build(&call, &h);
        done = oom_outcome("build", n, fx_disarm(), rc, LLM_OK, r);
        llm__http_req_free(&h);
        llm__response_destroy(r);
    }
    CHECK(done);
    llm_request_free(req);

    static const struct {
        const char *kase;
        int normal;
    } replies[] = {{"parallel_tools", LLM_OK}, {"deepseek_reasoning", LLM_OK},
                   {"error_429", LLM_ERR_RATE_LIMITED}};
    for (size_t k = 0; k < sizeof replies / sizeof replies[0]; k++) {
        struct fx_reply x;
        if (fx_reply_load(&x, "openai", replies[k].kase, "response")) {
            CHECK(0);
            continue;
        }
        done = 0;
        for (long n = 1; n < 100000 && !done; n++) {
            llm_response *r = fx_resp("openai", "m");
            struct llm__call call;
            fx_call(&call, OPS, NULL, r, "m");
            fx_arm(n);
            int rc = x.res.status == 200 ? OPS->parse(&call, &x.res, r) : OPS->map_error(&call, &x.res, r);
            done = oom_outcome(replies[k].kase, n, fx_disarm(), rc, replies[k].normal, r);
            llm__response_destroy(r);
        }
        CHECK(done);
        fx_reply_free(&x);
    }

    static const struct {
        const char *kase;
        int normal;
    } streams[] = {{"tools", LLM_OK}, {"refusal", LLM_OK}, {"deepseek_reasoning", LLM_OK},
                   {"compat_tool_stream", LLM_OK}, {"stream_error", LLM_ERR_SERVER}};
    for (size_t k = 0; k < sizeof streams / sizeof streams[0]; k++) {
        struct fx_reply x;
        if (fx_reply_load(&x, "openai", streams[k].kase, "response.stream")) {
            CHECK(0);
            continue;
        }
        done = 0;
        for (long n = 1; n < 100000 && !done; n++) {
            llm_response *r = fx_resp("openai", "m");
            struct llm__call call;
            fx_call(&call, OPS, NULL, r, "m");
            call.streaming = 1;
            struct fx_stream s;
            fx_arm(n);
            fx_run_stream(OPS, &call, x.res.body, x.res.body_len, 0, &s);
            done = oom_outcome(streams[k].kase, n, fx_disarm(), s.end_rc, streams[k].normal, r);
            llm__buf_free(&s.log);
            llm__response_destroy(r);
        }
        CHECK(done);
        fx_reply_free(&x);
    }
}

int main(void)
{
    CHECK_INT(fx_init(), LLM_OK);
    RUN(standard_request_bodies);
    RUN(stream_request_asks_for_usage);
    RUN(default_base_url_and_headers);
    RUN(max_tokens_field_choice);
    RUN(reasoning_models_refuse_sampling);
    RUN(unsupported_parameters);
    RUN(sampling_fields);
    RUN(tool_choices_and_parallel);
    RUN(strict_only_for_strict_schemas);
    RUN(messages_mapping);
    RUN(reasoning_and_opaque_parts_are_not_sent);
    RUN(extras_merge_in_order);
    RUN(hostile_requests);
    RUN(standard_replies);
    RUN(refusal_is_a_content_filter_finish);
    RUN(deepseek_reasoning_and_cache);
    RUN(reasoning_model_usage);
    RUN(reply_variants);
    RUN(hostile_replies);
    RUN(error_mapping);
    RUN(error_shapes);
    RUN(stream_text);
    RUN(stream_tool_calls);
    RUN(stream_other_cases);
    RUN(stream_errors_mid_stream);
    RUN(stream_truncation);
    RUN(stream_hostile_frames);
    RUN(random_input);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
