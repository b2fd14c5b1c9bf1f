/*
 * test_anthropic.c - the Anthropic Messages adapter, sans I/O: request
 * bodies against tests/providers/anthropic/<case>/request.json, replies and
 * streams from the recorded fixtures (streams fed through the SSE parser in
 * 1-byte, 7-byte and whole chunks), error mapping, API version 2026-10-21,
 * replay of thinking blocks through llm_request_add_response, and hostile
 * input.
 */
#include "test.h"
#include "fixture.h"
#include "internal.h"
#include "providers/provider.h"

#include <stdio.h>
#include <stdlib.h>

#define MODEL "claude-sonnet-4-5"

static const struct llm__provider_ops *ops = &llm__anthropic_ops;

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

/* ---- fixtures ---------------------------------------------------------- */

static char *slurp(const char *kase, const char *file, size_t *len_out)
{
    return fixture_slurp("anthropic", kase, file, len_out);
}

static int load_reply(const char *kase, const char *file, struct fixture *fx)
{
    return fixture_load("anthropic", kase, file, fx);
}

static struct llm__http_res as_res(const struct fixture *fx)
{
    struct llm__http_res res = {fx->status, fx->h, fx->nh, fx->body, fx->body_len};
    return res;
}

/* ---- calls --------------------------------------------------------------- */

/* A response as core prepares it before an attempt. */
static llm_response *new_resp(void)
{
    llm_response *r = llm__response_new();
    llm__resp_set_str(&r->provider, "anthropic");
    llm__resp_set_str(&r->meta_model, MODEL);
    return r;
}

static void init_call(struct llm__call *c, const llm_request *req, llm_response *resp)
{
    memset(c, 0, sizeof *c);
    c->ops = ops;
    c->provider = "anthropic";
    c->req = req;
    c->model = MODEL;
    c->api_key = "sk-ant-test-1234567890";
    c->default_max_tokens = 4096;
    c->resp = resp;
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

/* Build; returns the status and leaves the body parsed in *body_out. */
static int build(struct llm__call *c, struct llm__http_req *h, json_t **body_out)
{
    memset(h, 0, sizeof *h);
    int rc = ops->build(c, h);
    if (body_out)
        *body_out = rc == LLM_OK ? json_loadb(h->body.data, h->body.len, 0, NULL) : NULL;
    return rc;
}

static void print_diff(const char *what, json_t *got)
{
    char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    printf("#   %s differs; got %s\n", what, g ? g : "(nothing)");
    free(g);
}

/* The built body equals the case's request.json. */
static int body_is(const char *kase, json_t *got)
{
    char *want_text = slurp(kase, "request.json", NULL);
    json_t *want = want_text ? json_loads(want_text, 0, NULL) : NULL;
    int ok = want && got && json_equal(want, got);
    if (!ok)
        print_diff(kase, got);
    json_decref(want);
    free(want_text);
    return ok;
}

static int build_matches(const llm_request *req, const char *kase)
{
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, req, resp);
    struct llm__http_req h;
    json_t *body = NULL;
    int rc = build(&c, &h, &body);
    CHECK_INT(rc, LLM_OK);
    if (rc)
        printf("#   %s\n", llm_response_errmsg(resp));
    int ok = body_is(kase, body);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    return ok;
}

static int parse_into(const char *kase, llm_response *resp)
{
    struct fixture fx;
    if (load_reply(kase, "response", &fx)) {
        free(fx.raw);
        return -100;
    }
    struct llm__call c;
    init_call(&c, NULL, resp);
    struct llm__http_res res = as_res(&fx);
    int rc = fx.status == 200 ? ops->parse(&c, &res, resp) : ops->map_error(&c, &res, resp);
    free(fx.raw);
    return rc;
}

/* ---- streams ------------------------------------------------------------- */

struct feed {
    struct llm__sstate st;
    struct llm__sse *sse;
};

static int on_frame(void *ud, const struct llm__frame *f)
{
    struct feed *fd = ud;
    return ops->stream_event(&fd->st, f);
}

/* Feed a stream fixture in chunks of `chunk` bytes (0: whole).  Returns
 * the first failing status, or the stream_end status. */
static int run_stream(const char *kase, size_t chunk, struct llm__call *c, llm_response *resp,
                      struct feed *fd)
{
    struct fixture fx;
    if (load_reply(kase, "response.stream", &fx)) {
        free(fx.raw);
        return -100;
    }
    memset(fd, 0, sizeof *fd);
    int rc = llm__sstate_init(&fd->st, c, resp);
    if (!rc)
        rc = ops->stream_begin(&fd->st);
    if (!rc)
        rc = llm__sse_new(&fd->sse, 1 << 20, on_frame, fd);
    size_t off = 0;
    while (!rc && off < fx.body_len) {
        size_t n = chunk && chunk < fx.body_len - off ? chunk : fx.body_len - off;
        rc = llm__sse_feed(fd->sse, fx.body + off, n);
        off += n;
    }
    if (!rc)
        rc = llm__sse_finish(fd->sse);
    if (!rc)
        rc = ops->stream_end(&fd->st);
    free(fx.raw);
    return rc;
}

static void feed_free(struct feed *fd)
{
    ops->stream_free(&fd->st);
    llm__sse_free(fd->sse);
    llm__sstate_cleanup(&fd->st);
}

/* Events popped: counts per type, and the tool indexes seen at start. */
struct evcount {
    int n[8];
    int start_index[4];
    char start_id[4][64];
    int nstarts;
    int usage_last_input;
};

static void count_events(struct feed *fd, struct evcount *ec)
{
    memset(ec, 0, sizeof *ec);
    const llm_event *ev;
    while (llm__sstate_pop(&fd->st, &ev)) {
        int t = llm_event_type(ev);
        if (t > 0 && t < 8)
            ec->n[t]++;
        if (t == LLM_EVENT_TOOL_CALL_START && ec->nstarts < 4) {
            ec->start_index[ec->nstarts] = llm_event_tool_index(ev);
            snprintf(ec->start_id[ec->nstarts], 64, "%s", llm_event_tool_id(ev));
            ec->nstarts++;
        }
    }
}

static const size_t chunkings[] = {1, 7, 0};

static int64_t usage(const llm_response *r, int kind)
{
    int64_t v;
    llm_response_usage(r, kind, &v);
    return v;
}

static const char *header(const struct llm__http_req *h, const char *name)
{
    return llm__http_req_get(h, name);
}

/* ---- request building ---------------------------------------------------- */

TEST(build_text_url_and_headers)
{
    llm_request *req = user("Say hi.");
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, req, resp);
    struct llm__http_req h;
    json_t *body;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK(body_is("text", body));
    CHECK_STR(h.method, "POST");
    CHECK_STR(h.url.data, "https://api.anthropic.com/v1/messages");
    CHECK_STR(header(&h, "anthropic-version"), "2023-06-01");
    CHECK_STR(header(&h, "x-api-key"), "sk-ant-test-1234567890");
    CHECK(header(&h, "Authorization") == NULL);
    CHECK(json_object_get(body, "stream") == NULL);
    json_decref(body);
    llm__http_req_free(&h);

    /* A base URL with a path and trailing slash; a streamed call. */
    c.base_url = "http://127.0.0.1:9/proxy/anthropic/";
    c.streaming = 1;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK_STR(h.url.data, "http://127.0.0.1:9/proxy/anthropic/v1/messages");
    CHECK(json_is_true(json_object_get(body, "stream")));
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(req);
}

TEST(build_standard_cases)
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
    CHECK(build_matches(r, "history"));
    llm_request_free(r);

    r = user("Weather in Paris?");
    add_tools(r);
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_AUTO, NULL), LLM_OK);
    CHECK(build_matches(r, "tools"));
    llm_request_free(r);

    r = user("Weather in Paris and time in Tokyo?");
    add_tools(r);
    CHECK(build_matches(r, "parallel_tools"));
    llm_request_free(r);

    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_text(r, "What is this?", 13), LLM_OK);
    CHECK_INT(llm_request_append_image(r, "image/png", red_png, sizeof red_png), LLM_OK);
    CHECK(build_matches(r, "image"));
    llm_request_free(r);

    r = user("Answer as JSON.");
    CHECK_INT(llm_request_set_response_schema(r, "answer",
        "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"}},\"required\":[\"answer\"]}"), LLM_OK);
    CHECK(build_matches(r, "structured"));
    llm_request_free(r);

    r = user("Echo: \xF0\x9F\x98\x80 \xE6\xBC\xA2\xE5\xAD\x97 \"q\"\nline2");
    CHECK(build_matches(r, "unicode"));
    llm_request_free(r);
}

/* parallel_tools reply -> llm_request_add_response -> two tool results. */
TEST(build_tool_results_from_response)
{
    llm_response *calls = new_resp();
    CHECK_INT(parse_into("parallel_tools", calls), LLM_OK);
    llm_request *r = user("Weather in Paris and time in Tokyo?");
    add_tools(r);
    CHECK_INT(llm_request_add_response(r, calls), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(calls, 0), NULL,
                                          "{\"temp_c\":18}", 13, LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, llm_response_tool_call_id(calls, 1), NULL,
                                          "{\"time\":\"09:00\"}", 16, LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK(build_matches(r, "tool_results"));
    llm_request_free(r);
    llm__response_destroy(calls);
}

static json_t *choice_of(llm_request *r, int parallel_off)
{
    if (parallel_off)
        llm_request_set_parallel_tool_calls(r, 0);
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, r, resp);
    struct llm__http_req h;
    json_t *body = NULL;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    json_t *tc = json_incref(json_object_get(body, "tool_choice"));
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    return tc;
}

static int choice_is(json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, 0, NULL);
    int ok = (!want && !got) || (want && got && json_equal(want, got));
    if (!ok)
        print_diff(want_text, got);
    json_decref(want);
    json_decref(got);
    return ok;
}

TEST(build_tool_choices)
{
    static const struct {
        int choice;
        const char *name;
        int parallel_off;
        const char *want;
    } cases[] = {
        {LLM_TOOL_CHOICE_AUTO, NULL, 0, NULL},
        {LLM_TOOL_CHOICE_AUTO, NULL, 1, "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}"},
        {LLM_TOOL_CHOICE_NONE, NULL, 0, "{\"type\":\"none\"}"},
        {LLM_TOOL_CHOICE_NONE, NULL, 1, "{\"type\":\"none\"}"},
        {LLM_TOOL_CHOICE_REQUIRED, NULL, 0, "{\"type\":\"any\"}"},
        {LLM_TOOL_CHOICE_REQUIRED, NULL, 1, "{\"type\":\"any\",\"disable_parallel_tool_use\":true}"},
        {LLM_TOOL_CHOICE_NAMED, "get_time", 0, "{\"type\":\"tool\",\"name\":\"get_time\"}"},
        {LLM_TOOL_CHOICE_NAMED, "get_time", 1,
         "{\"type\":\"tool\",\"name\":\"get_time\",\"disable_parallel_tool_use\":true}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_request *r = user("Weather in Paris?");
        add_tools(r);
        CHECK_INT(llm_request_set_tool_choice(r, cases[i].choice, cases[i].name), LLM_OK);
        CHECK(choice_is(choice_of(r, cases[i].parallel_off), cases[i].want));
        llm_request_free(r);
    }
    /* No tools: no tool_choice at all, whatever the flags say. */
    llm_request *r = user("Hi");
    CHECK(choice_is(choice_of(r, 1), NULL));
    llm_request_free(r);
}

TEST(build_tool_without_schema_and_merged_turns)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "One."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Hi"), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "Two."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "again"), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "toolu_1", "now", "{}", 2), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "toolu_2", "now", " {} ", 4), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "toolu_1", NULL, "noon", 4, LLM_TOOL_RESULT_ERROR), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "toolu_2", NULL, "one", 3, 0), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "thanks"), LLM_OK);
    CHECK_INT(llm_request_add_tool(r, "now", NULL, NULL), LLM_OK);
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, r, resp);
    struct llm__http_req h;
    json_t *body = NULL;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    json_t *want = json_loads(
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":4096,"
        "\"system\":[{\"type\":\"text\",\"text\":\"One.\"},{\"type\":\"text\",\"text\":\"Two.\"}],"
        "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"},"
        "{\"type\":\"text\",\"text\":\"again\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"now\",\"input\":{}},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"now\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"noon\","
        "\"is_error\":true},{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"content\":\"one\"},"
        "{\"type\":\"text\",\"text\":\"thanks\"}]}],"
        "\"tools\":[{\"name\":\"now\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]}",
        0, NULL);
    CHECK(want && body && json_equal(want, body));
    if (!(want && body && json_equal(want, body)))
        print_diff("merged turns", body);
    json_decref(want);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);
}

/* Core's validation keeps tool results right after their assistant turn;
 * the adapter still puts results first in a user turn that already holds
 * text, should it ever meet one. */
TEST(build_tool_results_first_in_user_turn)
{
    llm_request *r = user("first");
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "toolu_1", "f", "{}", 2), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "toolu_1", NULL, "ok", 2, 0), LLM_OK);
    CHECK_INT((int)r->nmsgs, 3);
    llm__message_free(&r->msgs[1]);
    r->msgs[1] = r->msgs[2];
    r->nmsgs = 2;
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, r, resp);
    struct llm__http_req h;
    json_t *body = NULL;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    json_t *msgs = json_object_get(body, "messages");
    CHECK_INT((int)json_array_size(msgs), 1);
    json_t *content = json_object_get(json_array_get(msgs, 0), "content");
    CHECK_STR(json_string_value(json_object_get(json_array_get(content, 0), "type")), "tool_result");
    CHECK_STR(json_string_value(json_object_get(json_array_get(content, 1), "type")), "text");
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);
}

TEST(build_images_by_url)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_image_url(r, "https://example.com/cat.jpg"), LLM_OK);
    CHECK_INT(llm_request_append_image_url(r, "data:image/png;base64,iVBORw0KGgo="), LLM_OK);
    CHECK_INT(llm_request_append_image_url(r, "data:image/gif,GIF%38"), LLM_OK);
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, r, resp);
    struct llm__http_req h;
    json_t *body = NULL;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    json_t *content = json_object_get(json_array_get(json_object_get(body, "messages"), 0), "content");
    json_t *want = json_loads(
        "[{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/cat.jpg\"}},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/gif\",\"data\":\"R0lGOA==\"}}]",
        0, NULL);
    CHECK(want && content && json_equal(want, content));
    if (!(want && content && json_equal(want, content)))
        print_diff("images", content);
    json_decref(want);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);
}

TEST(build_reasoning_seed_and_extras)
{
    llm_request *r = user("Think.");
    CHECK_INT(llm_request_set_reasoning_budget(r, 2048), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_HIGH), LLM_OK);
    static const char *x1 = "{\"metadata\":{\"user_id\":\"u1\"},\"max_tokens\":9000}";
    static const char *x2 = "{\"service_tier\":\"auto\"}";
    static const char *x3 = "{\"service_tier\":\"flex\",\"n\":2}";
    CHECK_INT(llm_request_set_extra_json(r, NULL, x1, strlen(x1)), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "anthropic", x2, strlen(x2)), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "openai", x3, strlen(x3)), LLM_OK);
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, r, resp);
    struct llm__http_req h;
    json_t *body = NULL;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    json_t *want = json_loads(
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":9000,"
        "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Think.\"}]}],"
        "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048},\"output_config\":{\"effort\":\"high\"},"
        "\"metadata\":{\"user_id\":\"u1\"},\"service_tier\":\"auto\"}", 0, NULL);
    CHECK(want && body && json_equal(want, body));
    if (!(want && body && json_equal(want, body)))
        print_diff("reasoning + extras", body);
    json_decref(want);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);

    /* Effort "none": thinking disabled; with a budget: a contradiction. */
    r = user("Quick.");
    CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_NONE), LLM_OK);
    resp = new_resp();
    init_call(&c, r, resp);
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(body, "thinking"), "type")), "disabled");
    json_decref(body);
    llm__http_req_free(&h);
    CHECK_INT(llm_request_set_reasoning_budget(r, 1024), LLM_OK);
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_INVALID_ARG);
    llm__http_req_free(&h);
    llm__response_destroy(resp);

    /* "minimal" has no Anthropic level: drop-or-fail. */
    CHECK_INT(llm_request_set_reasoning_budget(r, 0), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_MINIMAL), LLM_OK);
    resp = new_resp();
    init_call(&c, r, resp);
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(resp), "reasoning_effort") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    resp = new_resp();
    init_call(&c, r, resp);
    c.drop_unsupported = 1;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK(json_object_get(body, "output_config") == NULL && json_object_get(body, "thinking") == NULL);
    CHECK_INT((int)llm_response_warning_count(resp), 1);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);

    /* Seed: Anthropic has none. */
    r = user("Hi");
    CHECK_INT(llm_request_set_seed(r, 7), LLM_OK);
    resp = new_resp();
    init_call(&c, r, resp);
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_UNSUPPORTED);
    CHECK(strstr(llm_response_errmsg(resp), "seed") != NULL);
    CHECK_INT((int)h.body.len, 0);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    resp = new_resp();
    init_call(&c, r, resp);
    c.drop_unsupported = 1;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK(json_object_get(body, "seed") == NULL);
    CHECK(llm_response_warning_count(resp) == 1 && strstr(llm_response_warning(resp, 0), "seed"));
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);
}

TEST(build_bad_input)
{
    llm_request *r = user("Hi");
    llm_response *resp = new_resp();
    struct llm__call c;
    struct llm__http_req h;

    /* No model. */
    init_call(&c, r, resp);
    c.model = NULL;
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "model") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(resp);

    /* An API version with a line break. */
    resp = new_resp();
    init_call(&c, r, resp);
    c.api_version = "2023-06-01\r\nx-evil: 1";
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_INVALID_ARG);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);

    /* Tool arguments that are JSON but not an object, and not JSON at all. */
    r = user("Hi");
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "toolu_arr", "f", "[1,2]", 5), LLM_OK);
    resp = new_resp();
    init_call(&c, r, resp);
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "toolu_arr") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    /* A streamed call can leave arguments that never parsed. */
    struct llm__part *p = &r->msgs[1].parts[0];
    llm__free(p->text);
    p->text = llm__strdup("{\"city\":\"Par");
    p->text_len = strlen(p->text);
    p->text_cap = 0;
    resp = new_resp();
    init_call(&c, r, resp);
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "toolu_arr") != NULL);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);

    /* Only system content. */
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "x"), LLM_OK);
    resp = new_resp();
    init_call(&c, r, resp);
    CHECK_INT(build(&c, &h, NULL), LLM_ERR_INVALID_ARG);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);
}

TEST(auth_headers)
{
    llm_request *r = user("Hi");
    llm_response *resp = new_resp();
    struct llm__call c;
    struct llm__http_req h;

    init_call(&c, r, resp);
    c.bearer_token = "tok-abc";
    CHECK_INT(build(&c, &h, NULL), LLM_OK);
    CHECK_STR(header(&h, "Authorization"), "Bearer tok-abc");
    CHECK(header(&h, "x-api-key") == NULL);
    llm__http_req_free(&h);

    /* 2026-10-21: the key goes as a bearer token, as the new SDKs send it. */
    init_call(&c, r, resp);
    c.api_version = "2026-10-21";
    CHECK_INT(build(&c, &h, NULL), LLM_OK);
    CHECK_STR(header(&h, "anthropic-version"), "2026-10-21");
    CHECK_STR(header(&h, "Authorization"), "Bearer sk-ant-test-1234567890");
    CHECK(header(&h, "x-api-key") == NULL);
    llm__http_req_free(&h);

    /* An unknown version is sent as given, with 2023-06-01's rules. */
    CHECK_INT(llm_request_set_temperature(r, 0.2), LLM_OK);
    init_call(&c, r, resp);
    c.api_version = "2099-01-01";
    json_t *body;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK_STR(header(&h, "anthropic-version"), "2099-01-01");
    CHECK_STR(header(&h, "x-api-key"), "sk-ant-test-1234567890");
    CHECK(json_is_real(json_object_get(body, "temperature")));
    json_decref(body);
    llm__http_req_free(&h);

    /* No credential at all: no auth header (a gateway may add its own). */
    init_call(&c, r, resp);
    c.api_key = NULL;
    CHECK_INT(build(&c, &h, NULL), LLM_OK);
    CHECK(header(&h, "x-api-key") == NULL && header(&h, "Authorization") == NULL);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);
}

/* ---- API version 2026-10-21 ---------------------------------------------- */

TEST(version_2026_sampling_fails_before_sending)
{
    static const char *params[] = {"temperature", "top_p", "top_k"};
    for (int k = 0; k < 3; k++) {
        llm_request *r = user("Say hi.");
        if (k == 0)
            CHECK_INT(llm_request_set_temperature(r, 1.0), LLM_OK);
        if (k == 1)
            CHECK_INT(llm_request_set_top_p(r, 0.9), LLM_OK);
        if (k == 2)
            CHECK_INT(llm_request_set_top_k(r, 40), LLM_OK);
        llm_response *resp = new_resp();
        struct llm__call c;
        init_call(&c, r, resp);
        c.api_version = "2026-10-21";
        struct llm__http_req h;
        CHECK_INT(build(&c, &h, NULL), LLM_ERR_UNSUPPORTED);
        CHECK_INT(llm_response_status(resp), LLM_ERR_UNSUPPORTED);
        const char *msg = llm_response_errmsg(resp);
        CHECK(strstr(msg, params[k]) != NULL);
        CHECK(strstr(msg, "2026-10-21") != NULL);
        /* Nothing to send was produced. */
        CHECK_INT((int)h.body.len, 0);
        CHECK_INT((int)h.url.len, 0);
        llm__http_req_free(&h);
        llm__response_destroy(resp);
        llm_request_free(r);
    }
}

TEST(version_2026_sampling_dropped_with_warnings)
{
    llm_request *r = user("Say hi.");
    CHECK_INT(llm_request_set_temperature(r, 0.5), LLM_OK);
    CHECK_INT(llm_request_set_top_p(r, 0.9), LLM_OK);
    CHECK_INT(llm_request_set_top_k(r, 40), LLM_OK);
    CHECK_INT(llm_request_add_stop(r, "END"), LLM_OK);
    llm_response *resp = new_resp();
    struct llm__call c;
    init_call(&c, r, resp);
    c.api_version = "2026-10-21";
    c.drop_unsupported = 1;
    struct llm__http_req h;
    json_t *body;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    CHECK(body_is("api_version_2026", body));
    CHECK(json_object_get(body, "temperature") == NULL);
    CHECK_INT((int)llm_response_warning_count(resp), 3);
    for (size_t i = 0; i < 3 && i < llm_response_warning_count(resp); i++)
        CHECK(strstr(llm_response_warning(resp, i), "2026-10-21") != NULL);
    CHECK(strstr(llm_response_warning(resp, 0), "temperature") != NULL);
    CHECK(strstr(llm_response_warning(resp, 1), "top_p") != NULL);
    CHECK(strstr(llm_response_warning(resp, 2), "top_k") != NULL);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(resp);
    llm_request_free(r);

    /* And its reply parses like any other. */
    resp = new_resp();
    CHECK_INT(parse_into("api_version_2026", resp), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
    llm__response_destroy(resp);
}

/* ---- non-streamed replies ------------------------------------------------ */

TEST(parse_standard_cases)
{
    static const struct {
        const char *kase, *text;
        int finish;
        int64_t in, out;
    } cases[] = {
        {"text", "Hello from libllm.", LLM_FINISH_STOP, 12, 5},
        {"history", "Your name is Ada.", LLM_FINISH_STOP, 30, 6},
        {"tool_results", "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo.", LLM_FINISH_STOP, 520, 20},
        {"image", "A red square.", LLM_FINISH_STOP, 20, 5},
        {"structured", "{\"answer\":42}", LLM_FINISH_STOP, 50, 8},
        {"unicode", "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line",
         LLM_FINISH_STOP, 15, 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r = new_resp();
        CHECK_INT(parse_into(cases[i].kase, r), LLM_OK);
        CHECK_STR(llm_response_text(r, NULL), cases[i].text);
        CHECK_INT(llm_response_finish(r), cases[i].finish);
        CHECK_STR(llm_response_finish_raw(r), "end_turn");
        CHECK_INT(usage(r, LLM_USAGE_INPUT), cases[i].in);
        CHECK_INT(usage(r, LLM_USAGE_OUTPUT), cases[i].out);
        CHECK_INT(usage(r, LLM_USAGE_CACHE_READ), 0);
        CHECK_INT(usage(r, LLM_USAGE_CACHE_WRITE), 0);
        CHECK_INT(usage(r, LLM_USAGE_REASONING), -1);
        CHECK(llm_response_usage_raw(r, NULL) != NULL);
        CHECK_STR(llm_response_model(r), "claude-sonnet-4-5-20250929");
        CHECK(llm_response_id(r) && strncmp(llm_response_id(r), "msg_", 4) == 0);
        llm__response_destroy(r);
    }

    llm_response *r = new_resp();
    CHECK_INT(parse_into("tools", r), LLM_OK);
    CHECK_INT((int)llm_response_tool_call_count(r), 1);
    CHECK_STR(llm_response_tool_call_id(r, 0), "toolu_01A09q90qw90lq917835lq9");
    CHECK_STR(llm_response_tool_call_name(r, 0), "get_weather");
    CHECK_STR(llm_response_tool_call_arguments(r, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    llm__response_destroy(r);

    r = new_resp();
    CHECK_INT(parse_into("parallel_tools", r), LLM_OK);
    CHECK_INT((int)llm_response_part_count(r), 3);
    CHECK_INT(llm_response_part_type(r, 0), LLM_PART_TEXT);
    CHECK_INT((int)llm_response_tool_call_count(r), 2);
    CHECK_STR(llm_response_tool_call_name(r, 0), "get_weather");
    CHECK_STR(llm_response_tool_call_arguments(r, 0, NULL), "{\"city\":\"Paris\"}");
    CHECK_STR(llm_response_tool_call_name(r, 1), "get_time");
    CHECK_STR(llm_response_tool_call_arguments(r, 1, NULL), "{\"tz\":\"Asia/Tokyo\"}");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    llm__response_destroy(r);
}

TEST(parse_cache_usage)
{
    llm_response *r = new_resp();
    CHECK_INT(parse_into("cache_usage", r), LLM_OK);
    CHECK_INT(usage(r, LLM_USAGE_INPUT), 10 + 300 + 2000);
    CHECK_INT(usage(r, LLM_USAGE_CACHE_READ), 2000);
    CHECK_INT(usage(r, LLM_USAGE_CACHE_WRITE), 300);
    CHECK_INT(usage(r, LLM_USAGE_CACHE_WRITE_1H), 200);
    CHECK_INT(usage(r, LLM_USAGE_OUTPUT), 20);
    CHECK_INT(usage(r, LLM_USAGE_TOTAL), 2330);
    CHECK(strstr(llm_response_usage_raw(r, NULL), "ephemeral_1h_input_tokens") != NULL);
    llm__response_destroy(r);
}

TEST(parse_finish_reasons)
{
    static const struct {
        const char *word;
        int finish;
    } words[] = {
        {"end_turn", LLM_FINISH_STOP}, {"stop_sequence", LLM_FINISH_STOP},
        {"max_tokens", LLM_FINISH_LENGTH}, {"model_context_window_exceeded", LLM_FINISH_LENGTH},
        {"tool_use", LLM_FINISH_TOOL_CALLS}, {"refusal", LLM_FINISH_CONTENT_FILTER},
        {"pause_turn", LLM_FINISH_OTHER}, {"something_new", LLM_FINISH_OTHER},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char body[256];
        int n = snprintf(body, sizeof body,
                         "{\"id\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
                         "\"stop_reason\":\"%s\"}", words[i].word);
        struct llm__http_res res = {200, NULL, 0, body, (size_t)n};
        llm_response *r = new_resp();
        struct llm__call c;
        init_call(&c, NULL, r);
        CHECK_INT(ops->parse(&c, &res, r), LLM_OK);
        CHECK_INT(llm_response_finish(r), words[i].finish);
        CHECK_STR(llm_response_finish_raw(r), words[i].word);
        /* Usage not reported stays unknown. */
        CHECK_INT(usage(r, LLM_USAGE_INPUT), -1);
        llm__response_destroy(r);
    }

    llm_response *r = new_resp();
    CHECK_INT(parse_into("refusal", r), LLM_OK);
    CHECK_INT(llm_response_finish(r), LLM_FINISH_CONTENT_FILTER);
    CHECK(llm_response_filter_json(r, NULL) && strstr(llm_response_filter_json(r, NULL), "cyber"));
    CHECK_STR(llm_response_text(r, NULL), "");
    llm__response_destroy(r);
}

/* Block types libllm does not model are kept whole and sent back as they were. */
TEST(parse_unknown_blocks_and_replay)
{
    llm_response *r = new_resp();
    CHECK_INT(parse_into("unknown_event", r), LLM_OK);
    CHECK_INT((int)llm_response_part_count(r), 3);
    CHECK_INT(llm_response_part_type(r, 0), LLM_PART_OPAQUE);
    CHECK_INT(llm_response_part_type(r, 1), LLM_PART_OPAQUE);
    CHECK_INT(llm_response_part_type(r, 2), LLM_PART_TEXT);
    CHECK_STR(llm_response_text(r, NULL), "Hello from libllm.");
    CHECK_INT(llm_response_finish(r), LLM_FINISH_OTHER);
    CHECK_STR(llm_response_finish_raw(r), "pause_turn");

    llm_request *req = user("Search.");
    CHECK_INT(llm_request_add_response(req, r), LLM_OK);
    llm_response *out = new_resp();
    struct llm__call c;
    init_call(&c, req, out);
    struct llm__http_req h;
    json_t *body;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    json_t *content = json_object_get(json_array_get(json_object_get(body, "messages"), 1), "content");
    json_t *want = json_loads(
        "[{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_01\",\"name\":\"web_search\","
        "\"input\":{\"query\":\"paris weather\"}},"
        "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_01\",\"content\":[]},"
        "{\"type\":\"text\",\"text\":\"Hello from libllm.\"}]", 0, NULL);
    CHECK(want && content && json_equal(want, content));
    if (!(want && content && json_equal(want, content)))
        print_diff("opaque replay", content);
    json_decref(want);
    json_decref(body);
    llm__http_req_free(&h);
    llm__response_destroy(out);
    llm_request_free(req);
    llm__response_destroy(r);
}

/* ---- thinking: parse, then replay byte for byte -------------------------- */

/* The compact dump of the n-th content block of a fixture's reply body. */
static char *reply_block(const char *kase, size_t n)
{
    struct fixture fx;
    char *out = NULL;
    if (load_reply(kase, "response", &fx) == 0) {
        json_t *j = json_loadb(fx.body, fx.body_len, 0, NULL);
        json_t *b = json_array_get(json_object_get(j, "content"), n);
        out = b ? json_dumps(b, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    free(fx.raw);
    return out;
}

static llm_response *thinking_reply(const char *kase, int stream, size_t chunk)
{
    llm_response *r = new_resp();
    if (!stream) {
        CHECK_INT(parse_into(kase, r), LLM_OK);
        return r;
    }
    struct llm__call c;
    init_call(&c, NULL, r);
    c.streaming = 1;
    struct feed fd;
    CHECK_INT(run_stream(kase, chunk, &c, r, &fd), LLM_OK);
    feed_free(&fd);
    return r;
}

/* The next turn of the tool loop, built from the reply. */
static json_t *thinking_next_body(llm_response *reply, const char *result, int flags, const char *model)
{
    llm_request *req = user("Weather in Paris?");
    add_tools(req);
    CHECK_INT(llm_request_set_reasoning_budget(req, 2048), LLM_OK);
    CHECK_INT(llm_request_add_response(req, reply), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(req, llm_response_tool_call_id(reply, 0), NULL, result,
                                          strlen(result), flags), LLM_OK);
    llm_response *out = new_resp();
    struct llm__call c;
    init_call(&c, req, out);
    if (model)
        c.model = model;
    struct llm__http_req h;
    json_t *body = NULL;
    CHECK_INT(build(&c, &h, &body), LLM_OK);
    if (model) {
        CHECK(llm_response_warning_count(out) == 1 &&
              strstr(llm_response_warning(out, 0), "dropped opaque") != NULL);
    } else {
        CHECK_INT((int)llm_response_warning_count(out), 0);
    }
    llm__http_req_free(&h);
    llm__response_destroy(out);
    llm_request_free(req);
    return body;
}

TEST(thinking_parse)
{
    llm_response *r = thinking_reply("thinking", 0, 0);
    CHECK_INT((int)llm_response_part_count(r), 2);
    CHECK_INT(llm_response_part_type(r, 0), LLM_PART_REASONING);
    CHECK_STR(llm_response_part_text(r, 0, NULL),
              "The user wants the weather in Paris. I should call get_weather with city Paris.");
    CHECK(r->msg.parts[0].meta.json && strstr(r->msg.parts[0].meta.json, "\"signature\":\"EqQBCgIY"));
    CHECK(r->msg.parts[0].meta.json && !strstr(r->msg.parts[0].meta.json, "\"thinking\":"));
    CHECK_STR(r->msg.parts[0].meta.provider, "anthropic");
    CHECK_STR(r->msg.parts[0].meta.model, MODEL);
    CHECK_STR(llm_response_text(r, NULL), "");
    CHECK_INT((int)llm_response_tool_call_count(r), 1);
    CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
    CHECK_INT(usage(r, LLM_USAGE_REASONING), 60);
    CHECK_INT(usage(r, LLM_USAGE_OUTPUT), 95);
    llm__response_destroy(r);
}

TEST(thinking_round_trip)
{
    char *want_block = reply_block("thinking", 0);
    CHECK(want_block != NULL);
    for (int stream = 0; stream < 2; stream++) {
        for (size_t k = 0; k < (stream ? 3 : 1); k++) {
            llm_response *r = thinking_reply("thinking", stream, chunkings[k]);
            json_t *body = thinking_next_body(r, "{\"temp_c\":18}", LLM_TOOL_RESULT_JSON, NULL);
            CHECK(body_is("thinking", body));
            /* The thinking block goes back exactly as it came. */
            json_t *b = json_array_get(json_object_get(json_array_get(json_object_get(body, "messages"), 1),
                                                       "content"), 0);
            char *got = b ? json_dumps(b, JSON_COMPACT) : NULL;
            CHECK(got && want_block && strcmp(got, want_block) == 0);
            if (!(got && want_block && strcmp(got, want_block) == 0))
                printf("#   got  %s\n#   want %s\n", got ? got : "-", want_block ? want_block : "-");
            free(got);
            json_decref(body);
            llm__response_destroy(r);
        }
    }
    free(want_block);
}

TEST(redacted_thinking_round_trip)
{
    char *want0 = reply_block("redacted_thinking", 0);
    char *want1 = reply_block("redacted_thinking", 1);
    for (int stream = 0; stream < 2; stream++) {
        for (size_t k = 0; k < (stream ? 3 : 1); k++) {
            llm_response *r = thinking_reply("redacted_thinking", stream, chunkings[k]);
            CHECK_INT((int)llm_response_part_count(r), 4);
            CHECK_INT(llm_response_part_type(r, 0), LLM_PART_REASONING);
            CHECK_INT(llm_response_part_type(r, 1), LLM_PART_OPAQUE);
            CHECK_INT(llm_response_part_type(r, 2), LLM_PART_TEXT);
            CHECK_INT(llm_response_part_type(r, 3), LLM_PART_TOOL_CALL);
            CHECK_STR(llm_response_text(r, NULL), "Let me look.");
            json_t *body = thinking_next_body(r, "lookup failed: timeout", LLM_TOOL_RESULT_ERROR, NULL);
            CHECK(body_is("redacted_thinking", body));
            json_t *content = json_object_get(json_array_get(json_object_get(body, "messages"), 1), "content");
            char *g0 = json_dumps(json_array_get(content, 0), JSON_COMPACT);
            char *g1 = json_dumps(json_array_get(content, 1), JSON_COMPACT);
            CHECK(g0 && want0 && strcmp(g0, want0) == 0);
            CHECK(g1 && want1 && strcmp(g1, want1) == 0);
            free(g0);
            free(g1);
            json_decref(body);
            llm__response_destroy(r);
        }
    }
    free(want0);
    free(want1);
}

/* Signatures bind to their model: another model gets neither thinking nor
 * redacted thinking, and a warning says so. */
TEST(thinking_not_replayed_to_another_model)
{
    llm_response *r = thinking_reply("redacted_thinking", 0, 0);
    json_t *body = thinking_next_body(r, "x", 0, "claude-opus-4-7");
    json_t *content = json_object_get(json_array_get(json_object_get(body, "messages"), 1), "content");
    CHECK_INT((int)json_array_size(content), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(content, 0), "type")), "text");
    CHECK_STR(json_string_value(json_object_get(json_array_get(content, 1), "type")), "tool_use");
    json_decref(body);
    llm__response_destroy(r);
}

/* ---- streams --------------------------------------------------------------- */

TEST(stream_text_chunkings)
{
    for (size_t k = 0; k < 3; k++) {
        llm_response *r = new_resp();
        struct llm__call c;
        init_call(&c, NULL, r);
        c.streaming = 1;
        struct feed fd;
        CHECK_INT(run_stream("text", chunkings[k], &c, r, &fd), LLM_OK);
        struct evcount ec;
        count_events(&fd, &ec);
        CHECK_INT(ec.n[LLM_EVENT_TEXT_DELTA], 3);
        CHECK_INT(ec.n[LLM_EVENT_USAGE], 2);
        CHECK_STR(llm_response_text(r, NULL), "Hello from libllm.");
        CHECK_INT(llm_response_finish(r), LLM_FINISH_STOP);
        CHECK_INT(usage(r, LLM_USAGE_INPUT), 12);
        CHECK_INT(usage(r, LLM_USAGE_OUTPUT), 5);
        CHECK_STR(llm_response_id(r), "msg_text_2");
        CHECK_STR(llm_response_model(r), "claude-sonnet-4-5-20250929");
        feed_free(&fd);
        llm__response_destroy(r);
    }
}

TEST(stream_standard_cases)
{
    static const struct {
        const char *kase, *text;
    } cases[] = {
        {"history", "Your name is Ada."},
        {"tool_results", "It is 18\xC2\xB0" "C in Paris and 09:00 in Tokyo."},
        {"image", "A red square."},
        {"structured", "{\"answer\":42}"},
        {"unicode", "Emoji \xF0\x9F\x98\x80, CJK \xE6\xBC\xA2\xE5\xAD\x97, \"quotes\"\nnew line"},
        {"ping", "Hello from libllm."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t k = 0; k < 3; k++) {
            llm_response *r = new_resp();
            struct llm__call c;
            init_call(&c, NULL, r);
            c.streaming = 1;
            struct feed fd;
            CHECK_INT(run_stream(cases[i].kase, chunkings[k], &c, r, &fd), LLM_OK);
            CHECK_STR(llm_response_text(r, NULL), cases[i].text);
            CHECK_INT(llm_response_finish(r), LLM_FINISH_STOP);
            CHECK(fd.st.done);
            feed_free(&fd);
            llm__response_destroy(r);
        }
    }
}

TEST(stream_tool_calls)
{
    for (size_t k = 0; k < 3; k++) {
        llm_response *r = new_resp();
        struct llm__call c;
        init_call(&c, NULL, r);
        c.streaming = 1;
        struct feed fd;
        CHECK_INT(run_stream("tools", chunkings[k], &c, r, &fd), LLM_OK);
        struct evcount ec;
        count_events(&fd, &ec);
        CHECK_INT(ec.n[LLM_EVENT_TOOL_CALL_START], 1);
        CHECK_INT(ec.n[LLM_EVENT_TOOL_CALL_DELTA], 5);
        CHECK_INT(ec.n[LLM_EVENT_TOOL_CALL_END], 1);
        CHECK_INT(ec.start_index[0], 0);
        CHECK_STR(ec.start_id[0], "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
        CHECK_STR(llm_response_tool_call_arguments(r, 0, NULL), "{\"city\":\"Paris\"}");
        CHECK_STR(llm_response_tool_call_name(r, 0), "get_weather");
        CHECK_INT(llm_response_finish(r), LLM_FINISH_TOOL_CALLS);
        feed_free(&fd);
        llm__response_destroy(r);

        /* Content blocks 1 and 2 are tool calls 0 and 1. */
        r = new_resp();
        init_call(&c, NULL, r);
        c.streaming = 1;
        CHECK_INT(run_stream("parallel_tools", chunkings[k], &c, r, &fd), LLM_OK);
        count_events(&fd, &ec);
        CHECK_INT(ec.nstarts, 2);
        CHECK_INT(ec.start_index[0], 0);
        CHECK_INT(ec.start_index[1], 1);
        CHECK_INT(ec.n[LLM_EVENT_TOOL_CALL_END], 2);
        CHECK_STR(llm_response_text(r, NULL), "Checking both.");
        CHECK_STR(llm_response_tool_call_arguments(r, 0, NULL), "{\"city\":\"Paris\"}");
        CHECK_STR(llm_response_tool_call_arguments(r, 1, NULL), "{\"tz\":\"Asia/Tokyo\"}");
        CHECK_STR(llm_response_tool_call_name(r, 1), "get_time");
        feed_free(&fd);
        llm__response_destroy(r);
    }
}

TEST(stream_cache_usage_replaces)
{
    llm_response *r = new_resp();
    struct llm__call c;
    init_call(&c, NULL, r);
    c.streaming = 1;
    struct feed fd;
    CHECK_INT(run_stream("cache_usage", 5, &c, r, &fd), LLM_OK);
    /* The message_delta repeats the input counts: replaced, not added. */
    CHECK_INT(usage(r, LLM_USAGE_INPUT), 2310);
    CHECK_INT(usage(r, LLM_USAGE_CACHE_READ), 2000);
    CHECK_INT(usage(r, LLM_USAGE_CACHE_WRITE), 300);
    CHECK_INT(usage(r, LLM_USAGE_CACHE_WRITE_1H), 200);
    CHECK_INT(usage(r, LLM_USAGE_OUTPUT), 20);
    CHECK(strstr(llm_response_usage_raw(r, NULL), "\"output_tokens\":20") != NULL);
    feed_free(&fd);
    llm__response_destroy(r);
}

TEST(stream_unknown_events_and_blocks)
{
    for (size_t k = 0; k < 3; k++) {
        llm_response *r = new_resp();
        struct llm__call c;
        init_call(&c, NULL, r);
        c.streaming = 1;
        struct feed fd;
        CHECK_INT(run_stream("unknown_event", chunkings[k], &c, r, &fd), LLM_OK);
        CHECK_STR(llm_response_text(r, NULL), "Hello from libllm.");
        CHECK_INT((int)llm_response_part_count(r), 3);
        CHECK_INT(llm_response_part_type(r, 0), LLM_PART_OPAQUE);
        CHECK(r->msg.parts[0].meta.json &&
              strstr(r->msg.parts[0].meta.json, "\"input\":{\"query\":\"paris weather\"}"));
        CHECK_INT(llm_response_part_type(r, 1), LLM_PART_OPAQUE);
        CHECK_INT((int)llm_response_tool_call_count(r), 0);
        feed_free(&fd);
        llm__response_destroy(r);
    }
}

TEST(stream_thinking_events)
{
    llm_response *r = new_resp();
    struct llm__call c;
    init_call(&c, NULL, r);
    c.streaming = 1;
    struct feed fd;
    CHECK_INT(run_stream("thinking", 0, &c, r, &fd), LLM_OK);
    struct evcount ec;
    count_events(&fd, &ec);
    CHECK_INT(ec.n[LLM_EVENT_REASONING_DELTA], 3);
    CHECK_INT(ec.n[LLM_EVENT_TEXT_DELTA], 0);
    CHECK_INT(usage(r, LLM_USAGE_REASONING), 60);
    feed_free(&fd);
    llm__response_destroy(r);
}

TEST(stream_mid_stream_error)
{
    for (size_t k = 0; k < 3; k++) {
        llm_response *r = new_resp();
        struct llm__call c;
        init_call(&c, NULL, r);
        c.streaming = 1;
        struct feed fd;
        CHECK_INT(run_stream("stream_error", chunkings[k], &c, r, &fd), LLM_ERR_OVERLOADED);
        CHECK_INT(llm_response_status(r), LLM_ERR_OVERLOADED);
        CHECK_INT(llm_response_error_mid_stream(r), 1);
        CHECK_INT(llm_response_retryable(r), 1);
        CHECK_STR(llm_response_error_type(r), "overloaded_error");
        CHECK_STR(llm_response_error_message(r), "Overloaded");
        CHECK_STR(llm_response_text(r, NULL), "Hello");
        CHECK(strstr(llm_response_errmsg(r), "Overloaded") != NULL);
        feed_free(&fd);
        llm__response_destroy(r);
    }
}

TEST(stream_truncated)
{
    llm_response *r = new_resp();
    struct llm__call c;
    init_call(&c, NULL, r);
    c.streaming = 1;
    struct feed fd;
    CHECK_INT(run_stream("stream_truncated", 7, &c, r, &fd), LLM_ERR_NETWORK);
    CHECK(strstr(llm_response_errmsg(r), "truncated") != NULL);
    CHECK_STR(llm_response_text(r, NULL), "Hello from");
    feed_free(&fd);
    llm__response_destroy(r);
}

/* ---- errors ---------------------------------------------------------------- */

TEST(map_error_cases)
{
    static const struct {
        const char *kase;
        int status, http, retryable;
        const char *type;
    } cases[] = {
        {"error_400", LLM_ERR_INVALID_REQUEST, 400, 0, "invalid_request_error"},
        {"error_401", LLM_ERR_AUTH, 401, 0, "authentication_error"},
        {"error_429", LLM_ERR_RATE_LIMITED, 429, 1, "rate_limit_error"},
        {"error_500", LLM_ERR_SERVER, 500, 1, "api_error"},
        {"error_529", LLM_ERR_OVERLOADED, 529, 1, "overloaded_error"},
        {"prompt_too_long", LLM_ERR_CONTEXT_LENGTH, 400, 0, "invalid_request_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture fx;
        CHECK_INT(load_reply(cases[i].kase, "response", &fx), 0);
        CHECK_INT(fx.status, cases[i].http);
        llm_response *r = new_resp();
        r->http_status = fx.status;
        struct llm__call c;
        init_call(&c, NULL, r);
        struct llm__http_res res = as_res(&fx);
        CHECK_INT(ops->map_error(&c, &res, r), cases[i].status);
        CHECK_INT(llm_response_status(r), cases[i].status);
        CHECK_INT(llm_response_retryable(r), cases[i].retryable);
        CHECK_STR(llm_response_error_type(r), cases[i].type);
        CHECK(llm_response_error_message(r) && *llm_response_error_message(r));
        CHECK(strstr(llm_response_errmsg(r), llm_response_error_message(r)) != NULL);
        CHECK_INT(llm_response_error_mid_stream(r), 0);
        free(fx.raw);
        /* The body's request id is kept when no header gave one. */
        CHECK(llm_response_request_id(r) && strncmp(llm_response_request_id(r), "req_011C", 8) == 0);
        llm__response_destroy(r);
    }

    /* A request id from the headers is not replaced by the body's. */
    struct fixture fx;
    CHECK_INT(load_reply("error_400", "response", &fx), 0);
    llm_response *r = new_resp();
    llm__resp_set_str(&r->request_id, "req_from_header");
    struct llm__call c;
    init_call(&c, NULL, r);
    struct llm__http_res res = as_res(&fx);
    ops->map_error(&c, &res, r);
    CHECK_STR(llm_response_request_id(r), "req_from_header");
    llm__response_destroy(r);
    free(fx.raw);
}

static int map_body(int http, const char *body, llm_response **out)
{
    llm_response *r = new_resp();
    struct llm__call c;
    init_call(&c, NULL, r);
    struct llm__http_res res = {http, NULL, 0, body, body ? strlen(body) : 0};
    int rc = ops->map_error(&c, &res, r);
    *out = r;
    return rc;
}

TEST(map_error_other_bodies)
{
    static const struct {
        int http;
        const char *body;
        int status;
    } cases[] = {
        {402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"credit\"}}", LLM_ERR_QUOTA},
        {403, "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"no\"}}", LLM_ERR_PERMISSION},
        {404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model\"}}", LLM_ERR_NOT_FOUND},
        {413, "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"big\"}}", LLM_ERR_INVALID_REQUEST},
        {504, "{\"type\":\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":\"slow\"}}", LLM_ERR_TIMEOUT},
        {400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Prompt is too long\"}}",
         LLM_ERR_CONTEXT_LENGTH},
        /* Unknown type: the HTTP status decides. */
        {503, "{\"type\":\"error\",\"error\":{\"type\":\"brand_new_error\",\"message\":\"?\"}}", LLM_ERR_OVERLOADED},
        /* Not the API's shape: a proxy's page, an empty body, wrong types. */
        {413, "<html><body>413 Request Entity Too Large</body></html>", LLM_ERR_INVALID_REQUEST},
        {529, "", LLM_ERR_OVERLOADED},
        {500, "{\"error\":\"flat string\"}", LLM_ERR_SERVER},
        {401, "{\"error\":{\"type\":7,\"message\":[1]}}", LLM_ERR_AUTH},
        {429, "[]", LLM_ERR_RATE_LIMITED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r;
        CHECK_INT(map_body(cases[i].http, cases[i].body, &r), cases[i].status);
        CHECK_INT(llm_response_status(r), cases[i].status);
        CHECK(strlen(llm_response_errmsg(r)) > 0);
        llm__response_destroy(r);
    }
    llm_response *r;
    map_body(402, cases[0].body, &r);
    CHECK_INT(llm_response_retryable(r), 0);
    llm__response_destroy(r);
    map_body(400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"x\"}}", &r);
    CHECK_INT(llm_response_retryable(r), 0);
    CHECK(llm_response_error_code(r) == NULL);
    llm__response_destroy(r);
}

/* ---- hostile replies --------------------------------------------------------- */

static int parse_body(const char *body, size_t n, llm_response **out)
{
    llm_response *r = new_resp();
    struct llm__call c;
    init_call(&c, NULL, r);
    struct llm__http_res res = {200, NULL, 0, body, n};
    int rc = ops->parse(&c, &res, r);
    *out = r;
    return rc;
}

TEST(parse_hostile)
{
    static const struct {
        const char *body;
        int status;
    } cases[] = {
        {"", LLM_ERR_PROTOCOL},
        {"not json", LLM_ERR_PROTOCOL},
        {"[1,2]", LLM_ERR_PROTOCOL},
        {"\"str\"", LLM_ERR_PROTOCOL},
        {"{}", LLM_ERR_PROTOCOL},
        {"{\"content\":{}}", LLM_ERR_PROTOCOL},
        {"{\"content\":[1]}", LLM_ERR_PROTOCOL},
        {"{\"content\":[{}]}", LLM_ERR_PROTOCOL},
        {"{\"content\":[{\"type\":\"text\"}]}", LLM_ERR_PROTOCOL},
        {"{\"content\":[{\"type\":\"text\",\"text\":5}]}", LLM_ERR_PROTOCOL},
        {"{\"content\":[{\"type\":\"tool_use\",\"name\":\"f\"}]}", LLM_ERR_PROTOCOL},
        {"{\"content\":[{\"type\":\"thinking\",\"thinking\":[]}]}", LLM_ERR_PROTOCOL},
        {"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}", LLM_ERR_OVERLOADED},
        {"{\"content\":[],\"stop_reason\":7,\"usage\":{\"input_tokens\":\"x\",\"output_tokens\":-5}}", LLM_OK},
        {"{\"content\":[],\"usage\":{\"input_tokens\":99999999999999999999999}}", LLM_ERR_PROTOCOL},
        {"{\"content\":[],\"usage\":{\"input_tokens\":9223372036854775807,"
         "\"cache_read_input_tokens\":9223372036854775807,\"output_tokens\":1}}", LLM_OK},
        {"{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}],\"usage\":[]}", LLM_OK},
        {"{\"content\":[{\"type\":\"text\",\"text\":\"a\\u0000b\"}],\"stop_reason\":null}", LLM_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r;
        int rc = parse_body(cases[i].body, strlen(cases[i].body), &r);
        CHECK_INT(rc, cases[i].status);
        if (rc != cases[i].status)
            printf("#   case %zu: %s\n", i, llm_response_errmsg(r));
        if (rc)
            CHECK(strlen(llm_response_errmsg(r)) > 0);
        llm__response_destroy(r);
    }
    llm_response *r;
    const char *b = "{\"content\":[],\"stop_reason\":7,\"usage\":{\"input_tokens\":\"x\",\"output_tokens\":-5}}";
    CHECK_INT(parse_body(b, strlen(b), &r), LLM_OK);
    CHECK_INT(usage(r, LLM_USAGE_INPUT), -1);
    CHECK_INT(usage(r, LLM_USAGE_OUTPUT), -1);
    CHECK_INT(llm_response_finish(r), LLM_FINISH_OTHER);
    llm__response_destroy(r);
    b = "{\"content\":[],\"usage\":{\"input_tokens\":9223372036854775807,"
        "\"cache_read_input_tokens\":9223372036854775807,\"output_tokens\":1}}";
    CHECK_INT(parse_body(b, strlen(b), &r), LLM_OK);
    CHECK_INT(usage(r, LLM_USAGE_INPUT), -1);
    CHECK_INT(usage(r, LLM_USAGE_OUTPUT), 1);
    llm__response_destroy(r);
    b = "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}]}";
    CHECK_INT(parse_body(b, strlen(b), &r), LLM_OK);
    CHECK_STR(llm_response_tool_call_arguments(r, 0, NULL), "{}");
    llm__response_destroy(r);
    /* Text with an embedded NUL keeps its length. */
    b = "{\"content\":[{\"type\":\"text\",\"text\":\"a\\u0000b\"}]}";
    CHECK_INT(parse_body(b, strlen(b), &r), LLM_OK);
    size_t n;
    llm_response_text(r, &n);
    CHECK_INT((int)n, 3);
    llm__response_destroy(r);

    /* Deep nesting and a large body. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    size_t o = (size_t)sprintf(deep, "{\"content\":");
    for (size_t i = 0; i < depth; i++)
        deep[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    CHECK(parse_body(deep, o, &r) < 0);
    llm__response_destroy(r);
    free(deep);
}

/* Feed frames by hand: (event, data) pairs. */
static int feed_frames(const char *const *frames, size_t n, llm_response *r, int *end_rc)
{
    struct llm__call c;
    init_call(&c, NULL, r);
    c.streaming = 1;
    struct llm__sstate st;
    llm__sstate_init(&st, &c, r);
    int rc = ops->stream_begin(&st);
    for (size_t i = 0; !rc && i + 1 < n; i += 2) {
        struct llm__frame f = {0};
        f.event = frames[i];
        f.event_len = strlen(frames[i]);
        f.data = frames[i + 1];
        f.data_len = strlen(frames[i + 1]);
        rc = ops->stream_event(&st, &f);
    }
    *end_rc = rc ? rc : ops->stream_end(&st);
    ops->stream_free(&st);
    llm__sstate_cleanup(&st);
    return rc;
}

#define MSG_START "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"usage\":{\"input_tokens\":1}}}"
#define TEXT_START "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"

TEST(stream_hostile)
{
    static const struct {
        const char *frames[8];
        size_t n;
        int status;
    } cases[] = {
        {{"message", "garbage"}, 2, LLM_ERR_PROTOCOL},
        {{"message_start", "{not json"}, 2, LLM_ERR_PROTOCOL},
        {{"message_start", "[]"}, 2, LLM_ERR_PROTOCOL},
        {{"message_start", "{\"type\":\"message_start\"}"}, 2, LLM_ERR_PROTOCOL},
        {{"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"},
         2, LLM_ERR_PROTOCOL},
        {{"content_block_start", TEXT_START, "content_block_start", TEXT_START}, 4, LLM_ERR_PROTOCOL},
        {{"content_block_start", "{\"type\":\"content_block_start\",\"index\":-1,\"content_block\":{\"type\":\"text\"}}"},
         2, LLM_ERR_PROTOCOL},
        {{"content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\"}}"},
         2, LLM_ERR_PROTOCOL},
        {{"content_block_start", TEXT_START, "content_block_delta",
          "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":[]}}"},
         4, LLM_ERR_PROTOCOL},
        {{"content_block_start", TEXT_START, "content_block_delta",
          "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"x\"}}"},
         4, LLM_ERR_PROTOCOL},
        {{"error", "{\"type\":\"error\"}"}, 2, LLM_ERR_SERVER},
        {{"error", "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"m\"}}"}, 2,
         LLM_ERR_RATE_LIMITED},
        /* Ignored: unknown events (even non-JSON), pings, untyped data. */
        {{"zebra", "%%%", "ping", "", "message_start", "{}", "message_stop", "{\"type\":\"message_stop\"}"},
         8, LLM_OK},
        /* An open tool call is ended at message_stop. */
        {{"content_block_start",
          "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":1}}}",
          "message_stop", "{\"type\":\"message_stop\"}"}, 4, LLM_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_response *r = new_resp();
        int end_rc;
        int rc = feed_frames(cases[i].frames, cases[i].n, r, &end_rc);
        CHECK_INT(rc, cases[i].status);
        if (rc != cases[i].status)
            printf("#   case %zu: %s\n", i, llm_response_errmsg(r));
        if (rc)
            CHECK(strlen(llm_response_errmsg(r)) > 0);
        if (i == sizeof cases / sizeof cases[0] - 1) {
            CHECK_INT((int)llm_response_tool_call_count(r), 1);
            CHECK_STR(llm_response_tool_call_arguments(r, 0, NULL), "{\"a\":1}");
        }
        llm__response_destroy(r);
    }

    /* Without message_stop the stream is truncated. */
    const char *frames[] = {"message_start", MSG_START, "content_block_start", TEXT_START};
    llm_response *r = new_resp();
    int end_rc;
    CHECK_INT(feed_frames(frames, 4, r, &end_rc), LLM_OK);
    CHECK_INT(end_rc, LLM_ERR_NETWORK);
    llm__response_destroy(r);

    /* Blocks that never close are bounded. */
    struct llm__call c;
    r = new_resp();
    init_call(&c, NULL, r);
    struct llm__sstate st;
    llm__sstate_init(&st, &c, r);
    CHECK_INT(ops->stream_begin(&st), LLM_OK);
    int rc = LLM_OK;
    for (int i = 0; i < 100000 && rc == LLM_OK; i++) {
        char data[160];
        struct llm__frame f = {0};
        f.event = "content_block_start";
        f.event_len = strlen(f.event);
        f.data = data;
        f.data_len = (size_t)snprintf(data, sizeof data,
                                      "{\"type\":\"content_block_start\",\"index\":%d,"
                                      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}", i);
        rc = ops->stream_event(&st, &f);
    }
    CHECK_INT(rc, LLM_ERR_PROTOCOL);
    ops->stream_free(&st);
    llm__sstate_cleanup(&st);
    llm__response_destroy(r);
}

int main(void)
{
    CHECK_INT(llm_global_init(LLM_INIT_NO_ENV), LLM_OK);
    RUN(build_text_url_and_headers);
    RUN(build_standard_cases);
    RUN(build_tool_results_from_response);
    RUN(build_tool_choices);
    RUN(build_tool_without_schema_and_merged_turns);
    RUN(build_tool_results_first_in_user_turn);
    RUN(build_images_by_url);
    RUN(build_reasoning_seed_and_extras);
    RUN(build_bad_input);
    RUN(auth_headers);
    RUN(version_2026_sampling_fails_before_sending);
    RUN(version_2026_sampling_dropped_with_warnings);
    RUN(parse_standard_cases);
    RUN(parse_cache_usage);
    RUN(parse_finish_reasons);
    RUN(parse_unknown_blocks_and_replay);
    RUN(thinking_parse);
    RUN(thinking_round_trip);
    RUN(redacted_thinking_round_trip);
    RUN(thinking_not_replayed_to_another_model);
    RUN(stream_text_chunkings);
    RUN(stream_standard_cases);
    RUN(stream_tool_calls);
    RUN(stream_cache_usage_replaces);
    RUN(stream_unknown_events_and_blocks);
    RUN(stream_thinking_events);
    RUN(stream_mid_stream_error);
    RUN(stream_truncated);
    RUN(map_error_cases);
    RUN(map_error_other_bodies);
    RUN(parse_hostile);
    RUN(stream_hostile);
    llm_global_cleanup();
    return test_summary();
}
