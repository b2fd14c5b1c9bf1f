/*
 * test_request.c - the unified request: setters, provider-independent
 * checks, and the whole-conversation validation made when a call starts.
 */
#include "test.h"
#include "internal.h"

static llm_request *new_req(void)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    return r;
}

TEST(null_handles_are_misuse)
{
    CHECK_INT(llm_request_new(NULL), LLM_ERR_MISUSE);
    llm_request *before_init = (llm_request *)1;
    CHECK_INT(llm_request_new(&before_init), LLM_ERR_MISUSE);
    CHECK(before_init == NULL);
    CHECK_INT(llm_request_add_message(NULL, LLM_ROLE_USER), LLM_ERR_MISUSE);
    CHECK_INT(llm_request_append_text(NULL, "x", 1), LLM_ERR_MISUSE);
    CHECK_INT(llm_request_set_temperature(NULL, 1), LLM_ERR_MISUSE);
    CHECK_STR(llm_request_errmsg(NULL), "NULL request");
    llm_request_free(NULL);
}

TEST(parts_need_the_right_message)
{
    llm_request *r = new_req();
    CHECK_INT(llm_request_append_text(r, "hi", 2), LLM_ERR_MISUSE);
    CHECK(strstr(llm_request_errmsg(r), "no open message") != NULL);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_image(r, "image/png", "x", 1), LLM_ERR_MISUSE);
    CHECK_INT(llm_request_append_tool_call(r, "c1", "f", "{}", 2), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c2", "f", "{}", 2), LLM_ERR_MISUSE);
    CHECK_INT(llm_request_append_image(r, "image/png", "\x89PNG", 4), LLM_OK);
    CHECK_INT(llm_request_append_image(r, "png", "x", 1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_append_image_url(r, "ftp://x"), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_append_image_url(r, "https://example.com/a.png"), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_TOOL), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_message(r, 99), LLM_ERR_INVALID_ARG);
    CHECK_INT((int)r->nmsgs, 2);
    CHECK_INT((int)r->msgs[1].nparts, 2);
    llm_request_free(r);
}

TEST(text_must_be_utf8)
{
    llm_request *r = new_req();
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "ok \xF0\x9F\x98\x80"), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "bad \xC3\x28"), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_request_errmsg(r), "UTF-8") != NULL);
    /* The failed shorthand left no half-made message behind. */
    CHECK_INT((int)r->nmsgs, 1);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "\xED\xA0\x80"), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "\xC0\xAF"), LLM_ERR_INVALID_ARG);
    llm_request_free(r);
}

TEST(sampling_rejects_nonsense_only)
{
    llm_request *r = new_req();
    CHECK_INT(llm_request_set_temperature(r, 0.0 / 0.0), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_temperature(r, 1.0 / 0.0), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_temperature(r, -1), LLM_ERR_INVALID_ARG);
    /* Provider ranges are the provider's business: 7 is sent as is. */
    CHECK_INT(llm_request_set_temperature(r, 7), LLM_OK);
    CHECK_INT(llm_request_set_max_tokens(r, 0), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_max_tokens(r, 10), LLM_OK);
    CHECK_INT(llm_request_set_top_k(r, -3), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_top_p(r, 0.5), LLM_OK);
    CHECK_INT(llm_request_set_reasoning_effort(r, 42), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_reasoning_budget(r, -1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_stop(r, ""), LLM_ERR_INVALID_ARG);
    for (int i = 0; i < 16; i++)
        CHECK_INT(llm_request_add_stop(r, "s"), LLM_OK);
    CHECK_INT(llm_request_add_stop(r, "s"), LLM_ERR_INVALID_ARG);
    CHECK(r->has_temperature && r->temperature == 7);
    llm_request_free(r);
}

TEST(schemas_must_be_json_objects)
{
    llm_request *r = new_req();
    CHECK_INT(llm_request_add_tool(r, "f", "d", "{not json"), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_request_errmsg(r), "not JSON") != NULL);
    CHECK_INT(llm_request_add_tool(r, "f", "d", "[1,2]"), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_request_errmsg(r), "JSON object") != NULL);
    CHECK_INT(llm_request_add_tool(r, "f", "d", "{\"type\":\"object\"}"), LLM_OK);
    CHECK_INT(llm_request_add_tool(r, "f", NULL, NULL), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_tool(r, "", NULL, NULL), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_tool(r, "g", NULL, NULL), LLM_OK);
    CHECK_INT(llm_request_set_response_schema(r, "bad name", "{}"), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_response_schema(r, "answer", "\"x\""), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_response_schema(r, "answer", "{\"type\":\"object\"}"), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, NULL, "{\"a\":1}", 7), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, NULL, "{\"a\":2}", 7), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "openai", "{\"b\":1}", 7), LLM_OK);
    CHECK_INT(llm_request_set_extra_json(r, "openai", "nope", 4), LLM_ERR_INVALID_ARG);
    CHECK_INT((int)r->nextras, 2);
    CHECK_STR(r->extras[0].json, "{\"a\":2}");
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NAMED, NULL), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_AUTO, "f"), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NAMED, "f"), LLM_OK);
    llm_request_free(r);
}

TEST(tool_results_take_the_call_name)
{
    llm_request *r = new_req();
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "q"), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c1", "get_weather", "{\"city\":\"Paris\"}", 16), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c2", "get_time", NULL, 0), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, "c3", "f", "{bad", 4), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_tool_result(r, "c1", NULL, "18", 2, 0), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "c2", NULL, "{\"t\":1}", 7, LLM_TOOL_RESULT_JSON), LLM_OK);
    CHECK_INT(llm_request_add_tool_result(r, "c2", NULL, "{bad", 4, LLM_TOOL_RESULT_JSON), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_tool_result(r, "c2", NULL, "x", 1, 0x100), LLM_ERR_INVALID_ARG);
    CHECK_INT((int)r->nmsgs, 3);
    CHECK_INT(r->msgs[2].role, LLM_ROLE_TOOL);
    CHECK_INT((int)r->msgs[2].nparts, 2);
    CHECK_STR(r->msgs[2].parts[0].name, "get_weather");
    CHECK_STR(r->msgs[2].parts[1].name, "get_time");
    CHECK_STR(r->msgs[1].parts[1].text, "{}");
    llm_response *resp = llm__response_new();
    CHECK_INT(llm__request_validate(r, resp), LLM_OK);
    llm__response_destroy(resp);
    llm_request_free(r);
}

TEST(validation_at_send_time)
{
    llm_request *r = new_req();
    llm_response *resp = llm__response_new();
    CHECK_INT(llm__request_validate(r, resp), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "empty") != NULL);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "sys"), LLM_OK);
    CHECK_INT(llm__request_validate(r, resp), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "q"), LLM_OK);
    CHECK_INT(llm__request_validate(r, resp), LLM_OK);
    /* A result for a call that was never made. */
    CHECK_INT(llm_request_add_tool_result(r, "nope", NULL, "x", 1, 0), LLM_OK);
    resp->status = LLM_OK;
    CHECK_INT(llm__request_validate(r, resp), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "\"nope\"") != NULL);
    llm__response_destroy(resp);
    llm_request_free(r);

    r = new_req();
    resp = llm__response_new();
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "q"), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    CHECK_INT(llm__request_validate(r, resp), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "no parts") != NULL);
    llm__response_destroy(resp);
    llm_request_free(r);

    r = new_req();
    resp = llm__response_new();
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "q"), LLM_OK);
    CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NAMED, "ghost"), LLM_OK);
    CHECK_INT(llm__request_validate(r, resp), LLM_ERR_INVALID_ARG);
    CHECK(strstr(llm_response_errmsg(resp), "ghost") != NULL);
    llm__response_destroy(resp);
    llm_request_free(r);
}

TEST(busy_request_refuses_setters)
{
    llm_request *r = new_req();
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "q"), LLM_OK);
    llm__request_hold(r);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "more"), LLM_ERR_MISUSE);
    CHECK(strstr(llm_request_errmsg(r), "in use") != NULL);
    /* Freed by its owner while a call holds it: it lives until released. */
    llm_request_free(r);
    CHECK_INT((int)r->nmsgs, 1);
    llm__request_unhold(r);
}

TEST(add_response_copies_parts_and_meta)
{
    llm_response *resp = llm__response_new();
    resp->provider = strdup("anthropic");
    resp->meta_model = strdup("claude-x");
    CHECK_INT(llm__resp_append_reasoning(resp, "think", 5), LLM_OK);
    CHECK_INT(llm__resp_set_meta(resp, llm__resp_last_part(resp), "{\"signature\":\"s\"}", 17), LLM_OK);
    CHECK_INT(llm__resp_append_text(resp, "Hel", 3), LLM_OK);
    CHECK_INT(llm__resp_append_text(resp, "lo", 2), LLM_OK);
    size_t idx;
    CHECK_INT(llm__resp_add_tool_call(resp, "t1", "f", "{\"a\":", 5, &idx), LLM_OK);
    CHECK_INT(llm__resp_tool_args_append(resp, idx, "1}", 2), LLM_OK);
    CHECK_INT(llm__resp_add_opaque(resp, "{\"type\":\"redacted\"}", 19), LLM_OK);
    size_t n;
    CHECK_STR(llm_response_text(resp, &n), "Hello");
    CHECK_INT((int)n, 5);
    CHECK_INT((int)llm_response_part_count(resp), 4);
    CHECK_INT(llm_response_part_type(resp, 0), LLM_PART_REASONING);
    CHECK_INT(llm_response_part_type(resp, 3), LLM_PART_OPAQUE);
    CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"a\":1}");
    CHECK(llm_response_tool_call_id(resp, 1) == NULL);

    llm_request *r = new_req();
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "q"), LLM_OK);
    CHECK_INT(llm_request_add_response(r, resp), LLM_OK);
    const struct llm__message *m = &r->msgs[1];
    CHECK_INT(m->role, LLM_ROLE_ASSISTANT);
    CHECK_INT((int)m->nparts, 4);
    CHECK_STR(m->parts[0].meta.json, "{\"signature\":\"s\"}");
    CHECK_STR(m->parts[0].meta.provider, "anthropic");
    CHECK_STR(m->parts[0].meta.model, "claude-x");
    CHECK_STR(m->parts[2].id, "t1");
    CHECK_INT(m->parts[3].type, LLM__PART_OPAQUE);
    resp->status = LLM_ERR_SERVER;
    CHECK_INT(llm_request_add_response(r, resp), LLM_ERR_INVALID_ARG);
    llm_request_free(r);
    free(resp->provider);
    free(resp->meta_model);
    resp->provider = resp->meta_model = NULL;
    llm__response_destroy(resp);
}

TEST(multi_text_parts_join)
{
    llm_response *resp = llm__response_new();
    CHECK_INT(llm__resp_append_text(resp, "a", 1), LLM_OK);
    size_t idx;
    CHECK_INT(llm__resp_add_tool_call(resp, "t", "f", "{}", 2, &idx), LLM_OK);
    CHECK_INT(llm__resp_append_text(resp, "b", 1), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "ab");
    CHECK_INT(llm__resp_append_text(resp, "c", 1), LLM_OK);
    CHECK_STR(llm_response_text(resp, NULL), "abc");
    char *d = llm_response_text_dup(resp);
    CHECK_STR(d, "abc");
    llm_free(d);
    int64_t v;
    CHECK_INT(llm_response_usage(resp, LLM_USAGE_INPUT, &v), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(v, -1);
    resp->usage.v[LLM_USAGE_INPUT] = 10;
    resp->usage.v[LLM_USAGE_OUTPUT] = 4;
    CHECK_INT(llm_response_usage(resp, LLM_USAGE_TOTAL, &v), LLM_OK);
    CHECK_INT(v, 14);
    CHECK_INT(llm_response_usage(resp, 99, &v), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_response_cost_nanos(resp, &v), LLM_ERR_NOT_AVAILABLE);
    llm__response_destroy(resp);
}

TEST(events_queue_and_accumulate)
{
    llm_response *resp = llm__response_new();
    struct llm__sstate st;
    CHECK_INT(llm__sstate_init(&st, NULL, resp), LLM_OK);
    CHECK_INT(llm__emit_text(&st, "Hel", 3), LLM_OK);
    size_t idx;
    CHECK_INT(llm__emit_tool_start(&st, "c1", "f", &idx), LLM_OK);
    CHECK_INT(llm__emit_tool_delta(&st, idx, "{\"a\"", 4), LLM_OK);
    CHECK_INT(llm__emit_tool_delta(&st, idx, ":1}", 3), LLM_OK);
    CHECK_INT(llm__emit_tool_end(&st, idx), LLM_OK);
    CHECK_INT(llm__emit_tool_delta(&st, 5, "x", 1), LLM_ERR_PROTOCOL);
    const llm_event *ev;
    CHECK_INT(llm__sstate_pop(&st, &ev), 1);
    CHECK_INT(llm_event_type(ev), LLM_EVENT_TEXT_DELTA);
    CHECK_STR(llm_event_text(ev, NULL), "Hel");
    CHECK_INT(llm__sstate_pop(&st, &ev), 1);
    CHECK_INT(llm_event_type(ev), LLM_EVENT_TOOL_CALL_START);
    CHECK_STR(llm_event_tool_id(ev), "c1");
    CHECK_STR(llm_event_tool_name(ev), "f");
    CHECK_INT(llm_event_tool_index(ev), 0);
    CHECK_INT(llm__sstate_pop(&st, &ev), 1);
    CHECK_STR(llm_event_text(ev, NULL), "{\"a\"");
    CHECK_INT(llm__sstate_pop(&st, &ev), 1);
    CHECK_INT(llm__sstate_pop(&st, &ev), 1);
    CHECK_INT(llm_event_type(ev), LLM_EVENT_TOOL_CALL_END);
    CHECK_INT(llm__sstate_pop(&st, &ev), 0);
    CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"a\":1}");
    llm__sstate_reset_if_drained(&st);
    llm__sstate_set_limit(&st, 4);
    CHECK_INT(llm__emit_text(&st, "12345", 5), LLM_ERR_TOO_LARGE);
    CHECK_INT(llm_response_status(resp), LLM_ERR_TOO_LARGE);
    llm__sstate_cleanup(&st);
    llm__response_destroy(resp);
}

int main(void)
{
    RUN(null_handles_are_misuse);
    CHECK_INT(llm_global_init(0), LLM_OK);
    RUN(parts_need_the_right_message);
    RUN(text_must_be_utf8);
    RUN(sampling_rejects_nonsense_only);
    RUN(schemas_must_be_json_objects);
    RUN(tool_results_take_the_call_name);
    RUN(validation_at_send_time);
    RUN(busy_request_refuses_setters);
    RUN(add_response_copies_parts_and_meta);
    RUN(multi_text_parts_join);
    RUN(events_queue_and_accumulate);
    llm_global_cleanup();
    return test_summary();
}
