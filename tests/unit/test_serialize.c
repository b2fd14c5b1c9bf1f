/*
 * test_serialize.c - the cache's response format: an exact round trip of
 * every part and field, and refusal (never a crash or leak) of foreign,
 * truncated or corrupted entries.
 */
#include "test.h"
#include "internal.h"
#include "hooks/hooks.h"

static llm_response *sample(void)
{
    llm_response *r = llm__response_new();
    CHECK(r != NULL);
    CHECK_INT(llm__resp_set_str(&r->provider, "anthropic"), LLM_OK);
    CHECK_INT(llm__resp_set_str(&r->meta_model, "claude-sonnet-4-5"), LLM_OK);
    CHECK_INT(llm__resp_append_reasoning(r, "Let me think.", 13), LLM_OK);
    CHECK_INT(llm__resp_set_meta(r, llm__resp_last_part(r), "{\"signature\":\"c2ln\"}", 20), LLM_OK);
    CHECK_INT(llm__resp_append_text(r, "Hello,\0 world \xe2\x9c\x93", 17), LLM_OK);
    size_t idx = 9;
    CHECK_INT(llm__resp_add_tool_call(r, "toolu_1", "get_weather", "{\"city\":\"Paris\"}", 16, &idx),
              LLM_OK);
    CHECK_INT(idx, 0);
    CHECK_INT(llm__resp_add_opaque(r, "{\"type\":\"redacted_thinking\",\"data\":\"xyz\"}", 41), LLM_OK);
    CHECK_INT(llm__resp_add_tool_call(r, "toolu_2", "get_time", "", 0, NULL), LLM_OK);
    /* Two adjacent text parts stay two parts; bytes that are not UTF-8
     * survive too. */
    struct llm__part *p;
    CHECK_INT(llm__message_add_part(&r->msg, &p), LLM_OK);
    p->type = LLM__PART_TEXT;
    p->text = llm__strndup("bin\xff\xfe", 5);
    p->text_len = 5;
    CHECK_INT(llm__resp_append_text(r, " tail", 5), LLM_OK);
    CHECK_INT(llm__resp_set_finish(r, LLM_FINISH_TOOL_CALLS, "tool_use"), LLM_OK);
    r->usage.v[LLM_USAGE_INPUT] = 1200;
    r->usage.v[LLM_USAGE_OUTPUT] = 340;
    r->usage.v[LLM_USAGE_CACHE_READ] = 1000;
    r->usage.v[LLM_USAGE_CACHE_WRITE] = 0;
    CHECK_INT(llm__resp_set_str(&r->id, "msg_01"), LLM_OK);
    CHECK_INT(llm__resp_set_str(&r->model, "claude-sonnet-4-5-20250929"), LLM_OK);
    CHECK_INT(llm__resp_set_str(&r->request_id, "req_9"), LLM_OK);
    CHECK_INT(llm__resp_set_str(&r->usage_raw, "{\"input_tokens\":200}"), LLM_OK);
    CHECK_INT(llm__resp_set_str(&r->filter_json, "{\"hate\":\"safe\"}"), LLM_OK);
    CHECK_INT(llm__resp_warn(r, "dropped parameter %s", "top_k"), LLM_OK);
    CHECK_INT(llm__resp_warn(r, "second"), LLM_OK);
    return r;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const llm_response *a, const llm_response *b)
{
    CHECK_INT(b->msg.nparts, a->msg.nparts);
    for (size_t i = 0; i < a->msg.nparts && i < b->msg.nparts; i++) {
        const struct llm__part *x = &a->msg.parts[i], *y = &b->msg.parts[i];
        CHECK_INT(y->type, x->type);
        CHECK_INT(y->text_len, x->text_len);
        CHECK((!x->text && !y->text) ||
              (x->text && y->text && memcmp(x->text, y->text, x->text_len) == 0));
        CHECK(same_str(x->id, y->id));
        CHECK(same_str(x->name, y->name));
        CHECK(same_str(x->meta.provider, y->meta.provider));
        CHECK(same_str(x->meta.model, y->meta.model));
        CHECK_INT(y->meta.json_len, x->meta.json_len);
        CHECK((!x->meta.json && !y->meta.json) ||
              (x->meta.json && y->meta.json && memcmp(x->meta.json, y->meta.json, x->meta.json_len) == 0));
    }
    CHECK_INT(b->ntools, a->ntools);
    for (size_t i = 0; i < a->ntools && i < b->ntools; i++)
        CHECK_INT(b->tool_parts[i], a->tool_parts[i]);
    CHECK_INT(b->finish, a->finish);
    CHECK(same_str(a->finish_raw, b->finish_raw));
    CHECK(memcmp(a->usage.v, b->usage.v, sizeof a->usage.v) == 0);
    CHECK(same_str(a->id, b->id));
    CHECK(same_str(a->model, b->model));
    CHECK(same_str(a->provider, b->provider));
    CHECK(same_str(a->meta_model, b->meta_model));
    CHECK(same_str(a->request_id, b->request_id));
    CHECK(same_str(a->usage_raw, b->usage_raw));
    CHECK(same_str(a->filter_json, b->filter_json));
    CHECK_INT(b->nwarnings, a->nwarnings);
    for (size_t i = 0; i < a->nwarnings && i < b->nwarnings; i++)
        CHECK(same_str(a->warnings[i], b->warnings[i]));
}

TEST(round_trip)
{
    llm_response *r = sample();
    llm__buf buf = {0};
    CHECK_INT(llm__response_serialize(r, &buf), LLM_OK);
    CHECK(buf.len > 0 && strncmp(buf.data, "{", 1) == 0);
    llm_response *back = llm__response_new();
    CHECK_INT(llm__response_deserialize(back, buf.data, buf.len), LLM_OK);
    check_same(r, back);
    /* The public getters see the same answer. */
    size_t n1, n2;
    const char *t1 = llm_response_text(r, &n1), *t2 = llm_response_text(back, &n2);
    CHECK_INT(n2, n1);
    CHECK(memcmp(t1, t2, n1) == 0);
    CHECK_INT(llm_response_tool_call_count(back), 2);
    CHECK_STR(llm_response_tool_call_name(back, 1), "get_time");
    CHECK_STR(llm_response_tool_call_arguments(back, 0, NULL), "{\"city\":\"Paris\"}");
    /* And again: serialising the copy gives the same bytes. */
    llm__buf again = {0};
    CHECK_INT(llm__response_serialize(back, &again), LLM_OK);
    CHECK_INT(again.len, buf.len);
    CHECK(memcmp(again.data, buf.data, buf.len) == 0);
    llm__buf_free(&again);
    llm__buf_free(&buf);
    llm__response_destroy(back);
    llm__response_destroy(r);
}

TEST(empty_response_round_trip)
{
    llm_response *r = llm__response_new();
    llm__buf buf = {0};
    CHECK_INT(llm__response_serialize(r, &buf), LLM_OK);
    llm_response *back = llm__response_new();
    CHECK_INT(llm__response_deserialize(back, buf.data, buf.len), LLM_OK);
    check_same(r, back);
    CHECK_INT(back->usage.v[LLM_USAGE_INPUT], -1);
    llm__buf_free(&buf);
    llm__response_destroy(back);
    llm__response_destroy(r);
}

TEST(refuses_failures_and_misuse)
{
    llm_response *r = sample();
    llm__buf buf = {0};
    r->status = LLM_ERR_SERVER;
    CHECK_INT(llm__response_serialize(r, &buf), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__response_serialize(NULL, &buf), LLM_ERR_MISUSE);
    CHECK_INT(llm__response_serialize(r, NULL), LLM_ERR_MISUSE);
    r->status = LLM_OK;
    CHECK_INT(llm__response_serialize(r, &buf), LLM_OK);
    /* Only into an empty response. */
    CHECK_INT(llm__response_deserialize(r, buf.data, buf.len), LLM_ERR_MISUSE);
    CHECK_INT(llm__response_deserialize(NULL, buf.data, buf.len), LLM_ERR_MISUSE);
    llm__buf_free(&buf);
    llm__response_destroy(r);
}

static int load(const char *s)
{
    llm_response *r = llm__response_new();
    int rc = llm__response_deserialize(r, s, strlen(s));
    llm__response_destroy(r);
    return rc;
}

#define U "\"usage\":[-1,-1,-1,-1,-1,-1,-1,-1]"

TEST(foreign_and_malformed_entries)
{
    CHECK_INT(load("{\"v\":1,\"parts\":[],\"finish\":0," U "}"), LLM_OK);
    static const char *const bad[] = {
        "",
        "null",
        "[]",
        "{\"v\":2,\"parts\":[],\"finish\":0," U "}",
        "{\"v\":\"1\",\"parts\":[],\"finish\":0," U "}",
        "{\"parts\":[],\"finish\":0," U "}",
        "{\"v\":1,\"finish\":0," U "}",
        "{\"v\":1,\"parts\":{},\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[],\"finish\":0}",
        "{\"v\":1,\"parts\":[],\"finish\":0,\"usage\":[1,2]}",
        "{\"v\":1,\"parts\":[],\"finish\":0,\"usage\":[-1,-1,-1,-1,-1,-1,-1,-5]}",
        "{\"v\":1,\"parts\":[],\"finish\":0,\"usage\":[-1,-1,-1,-1,-1,-1,-1,\"x\"]}",
        "{\"v\":1,\"parts\":[],\"finish\":99," U "}",
        "{\"v\":1,\"parts\":[],\"finish\":-1," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"image\"}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"text\":\"x\"}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"text\"}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"text\",\"text\":5}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"text\",\"text\":{\"b64\":\"!!!\"}}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"tool_call\",\"text\":\"{}\",\"id\":\"a\"}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"opaque\"}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"opaque\",\"meta\":{}}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[{\"type\":\"text\",\"text\":\"x\",\"meta\":7}],\"finish\":0," U "}",
        "{\"v\":1,\"parts\":[],\"finish\":0," U ",\"id\":5}",
        "{\"v\":1,\"parts\":[],\"finish\":0," U ",\"warnings\":[1]}",
        "{\"v\":1,\"parts\":[],\"finish\":0," U ",\"warnings\":\"w\"}",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        int rc = load(bad[i]);
        if (rc != LLM_ERR_PROTOCOL)
            printf("#   entry %zu: %d\n", i, rc);
        CHECK_INT(rc, LLM_ERR_PROTOCOL);
    }
    llm_response *r = llm__response_new();
    CHECK_INT(llm__response_deserialize(r, NULL, 0), LLM_ERR_PROTOCOL);
    CHECK_INT(llm__response_deserialize(r, NULL, 5), LLM_ERR_MISUSE);
    llm__response_destroy(r);
}

TEST(every_truncation_and_byte_flip_is_safe)
{
    llm_response *r = sample();
    llm__buf buf = {0};
    CHECK_INT(llm__response_serialize(r, &buf), LLM_OK);
    int ok_truncations = 0;
    for (size_t n = 0; n < buf.len; n++) {
        llm_response *t = llm__response_new();
        if (llm__response_deserialize(t, buf.data, n) == LLM_OK)
            ok_truncations++;
        llm__response_destroy(t);
    }
    CHECK_INT(ok_truncations, 0);
    /* Flipped bytes: refused or read, never a crash or a leak (the
     * sanitizer runs check the latter). */
    unsigned seed = 1;
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        char *copy = llm__strndup(buf.data, buf.len);
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % buf.len;
        seed = seed * 1103515245u + 12345u;
        copy[at] = (char)(seed >> 16);
        llm_response *t = llm__response_new();
        int rc = llm__response_deserialize(t, copy, buf.len);
        CHECK(rc == LLM_OK || rc == LLM_ERR_PROTOCOL);
        refused += rc != LLM_OK;
        llm__response_destroy(t);
        llm__free(copy);
    }
    CHECK(refused > 0);
    llm__buf_free(&buf);
    llm__response_destroy(r);
}

int main(void)
{
    if (llm_global_init(0) != LLM_OK)
        return 1;
    RUN(round_trip);
    RUN(empty_response_round_trip);
    RUN(refuses_failures_and_misuse);
    RUN(foreign_and_malformed_entries);
    RUN(every_truncation_and_byte_flip_is_safe);
    llm_global_cleanup();
    return test_summary();
}
