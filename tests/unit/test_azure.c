/*
 * test_azure.c - the "azure" adapter, sans-I/O: Azure's URL forms and
 * credential headers, request bodies against tests/providers/azure/,
 * content-filter replies, errors and streams (Azure's first chunk without
 * choices).  The Chat Completions code it shares with "openai" is covered
 * in depth by test_openai.c; this file pins what Azure changes.
 */
#include "oai_fixture.h"
#include "providers/openai_common.h"
#include "providers/provider.h"

#define OPS (&llm__azure_ops)
#define ENDPOINT "https://res-1.openai.azure.com"

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

/* A recorded reply of a case run through parse or map_error. */
static llm_response *replied(const char *kase, const char *file, int *rc_out)
{
    struct fx_reply x;
    llm_response *r = fx_resp("azure", "gpt-4o-mini");
    *rc_out = -999;
    if (fx_reply_load(&x, "azure", kase, file)) {
        CHECK(0);
        return r;
    }
    struct llm__call call;
    fx_call(&call, OPS, NULL, r, "gpt-4o-mini");
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
            llm_response *calls = replied("parallel_tools", "response", &rc);
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

/* What a test changes on the call before build. */
struct setup {
    const char *base, *version, *model, *key, *token;
    int field, streaming, drop;
    long fail_at;              /* arm the failing allocator for build only */
};

static int build(const llm_request *req, const struct setup *su, struct llm__http_req *h,
                 llm_response **resp_out)
{
    const char *model = su->model ? su->model : "gpt-4o-mini";
    if (su->model && !*su->model)
        model = NULL;
    llm_response *r = fx_resp("azure", model);
    struct llm__call call;
    fx_call(&call, OPS, req, r, model);
    call.base_url = su->base;
    call.api_version = su->version;
    call.api_key = su->key;
    call.bearer_token = su->token;
    call.max_tokens_field = su->field;
    call.streaming = su->streaming;
    call.drop_unsupported = su->drop;
    call.organization = "org-ignored";
    memset(h, 0, sizeof *h);
    if (su->fail_at)
        fx_arm(su->fail_at);
    int rc = OPS->build(&call, h);
    *resp_out = r;
    return rc;
}

TEST(standard_request_bodies)
{
    static const char *cases[] = {"text", "history", "tools", "parallel_tools", "tool_results",
                                  "image", "structured", "unicode"};
    const struct setup su = {.base = ENDPOINT, .key = "azkey-123"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_request *req = standard_request(cases[i]);
        struct llm__http_req h;
        llm_response *r;
        CHECK_INT(build(req, &su, &h, &r), LLM_OK);
        CHECK_STR(llm_response_errmsg(r), "");
        CHECK(fx_body_equals(&h, "azure", cases[i], "request.json"));
        CHECK_STR(h.method, "POST");
        CHECK_STR(h.url.data, ENDPOINT "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21");
        CHECK_STR(llm__http_req_get(&h, "api-key"), "azkey-123");
        CHECK(llm__http_req_get(&h, "Authorization") == NULL);
        CHECK(llm__http_req_get(&h, "OpenAI-Organization") == NULL);
        llm__http_req_free(&h);
        llm__response_destroy(r);
        llm_request_free(req);
    }
}

TEST(url_forms)
{
    static const struct {
        const char *base, *version, *model, *url;
    } cases[] = {
        {ENDPOINT, NULL, "gpt-4o-mini",
         ENDPOINT "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"},
        {ENDPOINT "/", "2025-04-01-preview", "gpt-4o-mini",
         ENDPOINT "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2025-04-01-preview"},
        {ENDPOINT "/openai", NULL, "prod",
         ENDPOINT "/openai/deployments/prod/chat/completions?api-version=2024-10-21"},
        {ENDPOINT "/openai/deployments/fixed/", "2024-10-21", "ignored",
         ENDPOINT "/openai/deployments/fixed/chat/completions?api-version=2024-10-21"},
        {ENDPOINT, NULL, "my dep/1", ENDPOINT "/openai/deployments/my%20dep%2F1/chat/completions?api-version=2024-10-21"},
        {ENDPOINT, "a b&c", "d", ENDPOINT "/openai/deployments/d/chat/completions?api-version=a%20b%26c"},
        /* The v1 surface: chosen by version or by the base URL. */
        {ENDPOINT, "v1", "gpt-4o-mini", ENDPOINT "/openai/v1/chat/completions"},
        {ENDPOINT "/openai", "V1", "gpt-4o-mini", ENDPOINT "/openai/v1/chat/completions"},
        {ENDPOINT "/openai/v1/", NULL, "gpt-4o-mini", ENDPOINT "/openai/v1/chat/completions"},
        {ENDPOINT "/openai/v1", "2024-10-21", "gpt-4o-mini", ENDPOINT "/openai/v1/chat/completions"},
    };
    llm_request *req = user("Say hi.");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct setup su = {.base = cases[i].base, .version = cases[i].version,
                           .model = cases[i].model, .key = "k"};
        struct llm__http_req h;
        llm_response *r;
        CHECK_INT(build(req, &su, &h, &r), LLM_OK);
        CHECK_STR(h.url.data, cases[i].url);
        /* The deployment (v1: the model) also travels in the body. */
        json_t *b = fx_body(&h);
        CHECK_STR(json_string_value(json_object_get(b, "model")), cases[i].model);
        json_decref(b);
        llm__http_req_free(&h);
        llm__response_destroy(r);
    }

    struct setup su = {.key = "k"};
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, &su, &h, &r), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "AZURE_OPENAI_ENDPOINT") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    su.base = ENDPOINT;
    su.model = "";
    CHECK_INT(build(req, &su, &h, &r), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "model") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

TEST(credentials)
{
    llm_request *req = user("Say hi.");
    struct llm__http_req h;
    llm_response *r;
    /* An Entra token wins and the key is not sent alongside. */
    struct setup su = {.base = ENDPOINT, .key = "azkey", .token = "eyJ0eXAi.entra"};
    CHECK_INT(build(req, &su, &h, &r), LLM_OK);
    CHECK_STR(llm__http_req_get(&h, "Authorization"), "Bearer eyJ0eXAi.entra");
    CHECK(llm__http_req_get(&h, "api-key") == NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    su.token = NULL;
    su.key = NULL;
    CHECK_INT(build(req, &su, &h, &r), LLM_OK);
    CHECK(llm__http_req_get(&h, "Authorization") == NULL);
    CHECK(llm__http_req_get(&h, "api-key") == NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);

    su.key = "bad\nkey";
    CHECK_INT(build(req, &su, &h, &r), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(r), "bad") == NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    su.key = NULL;
    su.token = "bad\rtoken";
    CHECK_INT(build(req, &su, &h, &r), LLM_ERR_INVALID_ARG);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

TEST(max_tokens_field_and_shared_rules)
{
    llm_request *req = user("Say hi.");
    CHECK_INT(llm_request_set_max_tokens(req, 50), LLM_OK);
    static const struct {
        int field;
        const char *want;
    } cases[] = {{LLM_MAX_TOKENS_FIELD_AUTO, "max_completion_tokens"},
                 {LLM_MAX_TOKENS_FIELD_COMPLETION, "max_completion_tokens"},
                 {LLM_MAX_TOKENS_FIELD_LEGACY, "max_tokens"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct setup su = {.base = "http://127.0.0.1:9/proxy", .key = "k", .field = cases[i].field};
        struct llm__http_req h;
        llm_response *r;
        CHECK_INT(build(req, &su, &h, &r), LLM_OK);
        json_t *b = fx_body(&h);
        CHECK_INT(json_integer_value(json_object_get(b, cases[i].want)), 50);
        CHECK_INT((int)json_object_size(b), 3);
        json_decref(b);
        llm__http_req_free(&h);
        llm__response_destroy(r);
    }

    /* A reasoning deployment refuses temperature; extras for "azure" apply,
     * those for "openai" do not; a stream asks for usage. */
    CHECK_INT(llm_request_set_temperature(req, 0.7), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(req, "azure", "{\"data_sources\":[]}", 19), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(req, "openai", "{\"openai_only\":1}", 17), LLM_OK);
    struct setup su = {.base = ENDPOINT, .key = "k", .model = "o4-mini"};
    struct llm__http_req h;
    llm_response *r;
    CHECK_INT(build(req, &su, &h, &r), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(r), "o4-mini") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(r);
    su.drop = 1;
    su.streaming = 1;
    CHECK_INT(build(req, &su, &h, &r), LLM_OK);
    json_t *b = fx_body(&h);
    CHECK(json_object_get(b, "temperature") == NULL);
    CHECK(json_is_array(json_object_get(b, "data_sources")));
    CHECK(json_object_get(b, "openai_only") == NULL);
    CHECK(json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage")));
    json_decref(b);
    CHECK(fx_has_warning(r, "temperature"));
    llm__http_req_free(&h);
    llm__response_destroy(r);
    llm_request_free(req);
}

TEST(standard_replies_keep_filter_results)
{
    int rc;
    llm_response *r = replied("text", "response", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "Hello from libllm.");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_STOP);
    CHECK_STR(llm_response_model(r), "gpt-4o-mini-2024-07-18");
    CHECK_INT(fx_usage(r, LLM_USAGE_INPUT), 12);
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 5);
    const char *fj = llm_response_filter_json(r, NULL);
    CHECK(fj != NULL);
    json_t *f = fj ? json_loads(fj, 0, NULL) : NULL;
    CHECK(json_is_array(json_object_get(f, "prompt_filter_results")));
    CHECK(json_is_false(json_object_get(json_object_get(json_object_get(f, "content_filter_results"),
                                                        "hate"), "filtered")));
    json_decref(f);
    llm__response_destroy(r);

    static const char *more[] = {"history", "tools", "parallel_tools", "tool_results", "image",
                                 "structured", "unicode"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        r = replied(more[i], "response", &rc);
        CHECK_INT(rc, LLM_OK);
        CHECK(llm_response_finish(r) == LLM_FINISH_STOP || llm_response_finish(r) == LLM_FINISH_TOOL_CALLS);
        llm__response_destroy(r);
    }
    r = replied("tools", "response", &rc);
    CHECK_STR(fx_args(r, 0), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    llm__response_destroy(r);
}

TEST(filtered_completion)
{
    int rc;
    llm_response *r = replied("content_filter", "response", &rc);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT(llm_response_finish(r), LLM_FINISH_CONTENT_FILTER);
    CHECK_STR(llm_response_finish_raw(r), "content_filter");
    CHECK_STR(llm_response_text(r, NULL), "Here is how");
    json_t *f = json_loads(llm_response_filter_json(r, NULL) ? llm_response_filter_json(r, NULL) : "", 0, NULL);
    json_t *v = json_object_get(json_object_get(f, "content_filter_results"), "violence");
    CHECK(json_is_true(json_object_get(v, "filtered")));
    CHECK_STR(json_string_value(json_object_get(v, "severity")), "medium");
    json_decref(f);
    llm__response_destroy(r);

    /* Streamed: the filtered verdict is kept over the clean ones before it. */
    struct fx_stream s;
    fx_stream_case(OPS, "azure", "content_filter", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "T(Here is how)U");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_CONTENT_FILTER);
    f = json_loads(llm_response_filter_json(r, NULL) ? llm_response_filter_json(r, NULL) : "", 0, NULL);
    v = json_object_get(json_object_get(f, "content_filter_results"), "violence");
    CHECK(json_is_true(json_object_get(v, "filtered")));
    CHECK(json_is_array(json_object_get(f, "prompt_filter_results")));
    json_decref(f);
    llm__buf_free(&s.log);
    llm__response_destroy(r);
}

TEST(filtered_prompt_is_an_error)
{
    static const char *files[] = {"response", "response.stream"};
    for (size_t i = 0; i < 2; i++) {
        int rc;
        llm_response *r = replied("content_filter_prompt", files[i], &rc);
        CHECK_INT(rc, LLM_ERR_CONTENT_FILTER);
        CHECK_INT(llm_response_retryable(r), 0);
        CHECK_STR(llm_response_error_code(r), "content_filter");
        CHECK(llm_response_error_type(r) == NULL);
        CHECK(strstr(llm_response_error_message(r), "content management policy") != NULL);
        const char *fj = llm_response_filter_json(r, NULL);
        json_t *f = json_loads(fj ? fj : "", 0, NULL);
        CHECK(json_is_true(json_object_get(json_object_get(f, "hate"), "filtered")));
        CHECK(json_is_false(json_object_get(json_object_get(f, "sexual"), "filtered")));
        json_decref(f);
        llm__response_destroy(r);
    }
}

TEST(error_mapping)
{
    static const struct {
        const char *kase;
        int status, retryable;
        const char *code;
    } cases[] = {
        {"error_400", LLM_ERR_INVALID_REQUEST, 0, NULL},
        {"error_401", LLM_ERR_AUTH, 0, "401"},
        {"error_429", LLM_ERR_RATE_LIMITED, 1, "429"},
        {"error_500", LLM_ERR_SERVER, 1, "InternalServerError"},
        {"error_529", LLM_ERR_OVERLOADED, 1, "ServiceUnavailable"},
        {"deployment_not_found", LLM_ERR_NOT_FOUND, 0, "DeploymentNotFound"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int k = 0; k < 2; k++) {
            int rc;
            llm_response *r = replied(cases[i].kase, k ? "response.stream" : "response", &rc);
            CHECK_INT(rc, cases[i].status);
            CHECK_INT(llm_response_retryable(r), cases[i].retryable);
            if (cases[i].code)
                CHECK_STR(llm_response_error_code(r), cases[i].code);
            else
                CHECK(llm_response_error_code(r) == NULL);
            CHECK(llm_response_error_message(r) != NULL);
            CHECK(strlen(llm_response_errmsg(r)) > 0);
            llm__response_destroy(r);
        }
    }
}

TEST(streams)
{
    llm_response *r;
    struct fx_stream s;
    fx_stream_case(OPS, "azure", "text", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "T(Hello)T( from)T( libllm)T(.)U");
    CHECK_STR(llm_response_id(r), "chatcmpl-text");
    CHECK_INT(fx_usage(r, LLM_USAGE_OUTPUT), 5);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    /* A first chunk with no choices, empty id and model, then an empty
     * delta carrying only a filter verdict. */
    fx_stream_case(OPS, "azure", "azure_empty_first_chunk", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_log(&s), "T(Hi there.)U");
    CHECK_STR(llm_response_id(r), "chatcmpl-azure_empty_first_chunk");
    CHECK_STR(llm_response_model(r), "gpt-4o-mini-2024-07-18");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_STOP);
    CHECK(llm_response_filter_json(r, NULL) != NULL);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "azure", "tools", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_INT(s.deltas, 6);
    CHECK_STR(fx_args(r, 0), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "azure", "parallel_tools", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(fx_args(r, 1), "{\"tz\":\"Asia/Tokyo\"}");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "azure", "unicode", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_OK);
    CHECK_STR(llm_response_text(r, NULL), "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line");
    llm__buf_free(&s.log);
    llm__response_destroy(r);

    fx_stream_case(OPS, "azure", "stream_error", "gpt-4o-mini", 0, &r, &s);
    CHECK_INT(s.end_rc, LLM_ERR_SERVER);
    CHECK_INT(llm_response_error_mid_stream(r), 1);
    CHECK_STR(llm_response_text(r, NULL), "Hello from");
    llm__buf_free(&s.log);
    llm__response_destroy(r);
}

TEST(allocation_failures)
{
    llm_request *req = user("Say hi.");
    int done = 0;
    for (long n = 1; n < 10000 && !done; n++) {
        struct setup su = {.base = ENDPOINT "/openai", .version = "2024-10-21", .model = "dep 1",
                           .key = "k", .fail_at = n};
        struct llm__http_req h;
        llm_response *r;
        int rc = build(req, &su, &h, &r);
        done = !fx_disarm();
        CHECK_INT(rc, done ? LLM_OK : LLM_ERR_NOMEM);
        CHECK_INT(llm_response_status(r), rc);
        llm__http_req_free(&h);
        llm__response_destroy(r);
    }
    CHECK(done);
    llm_request_free(req);

    struct fx_reply x;
    CHECK_INT(fx_reply_load(&x, "azure", "content_filter", "response.stream"), 0);
    done = 0;
    for (long n = 1; n < 10000 && !done && x.data; n++) {
        llm_response *r = fx_resp("azure", "m");
        struct llm__call call;
        fx_call(&call, OPS, NULL, r, "m");
        call.streaming = 1;
        struct fx_stream s;
        fx_arm(n);
        fx_run_stream(OPS, &call, x.res.body, x.res.body_len, 0, &s);
        done = !fx_disarm();
        CHECK_INT(s.end_rc, done ? LLM_OK : LLM_ERR_NOMEM);
        CHECK_INT(s.end_rc, llm_response_status(r));
        llm__buf_free(&s.log);
        llm__response_destroy(r);
    }
    CHECK(done);
    fx_reply_free(&x);
}

int main(void)
{
    CHECK_INT(fx_init(), LLM_OK);
    RUN(standard_request_bodies);
    RUN(url_forms);
    RUN(credentials);
    RUN(max_tokens_field_and_shared_rules);
    RUN(standard_replies_keep_filter_results);
    RUN(filtered_completion);
    RUN(filtered_prompt_is_an_error);
    RUN(error_mapping);
    RUN(streams);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
