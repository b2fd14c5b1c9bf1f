/*
 * test_cachekey.c - the cache key: equal requests meet, any change that
 * can change the answer splits them, formatting of embedded JSON does not,
 * and no credential ever reaches the canonical text or the key.
 */
#include "test.h"
#include "internal.h"
#include "hooks/hooks.h"

#include <openssl/evp.h>

#define SECRET "sk-live-THIS-IS-SECRET-123"

/* One request per variant: 0 is the baseline; every other variant changes
 * exactly one thing (or, for the EQUIVALENT ones, only its formatting). */
enum {
    V_BASE,
    /* must differ */
    V_TEXT, V_ROLE, V_EXTRA_MESSAGE, V_IMAGE_BYTES, V_IMAGE_MIME, V_IMAGE_URL,
    V_TOOL_CALL_ID, V_TOOL_CALL_ARGS, V_TOOL_RESULT_TEXT, V_TOOL_RESULT_FLAGS,
    V_TOOL_NAME, V_TOOL_DESC, V_TOOL_SCHEMA, V_NO_TOOL_SCHEMA, V_TOOL_ORDER,
    V_CHOICE, V_CHOICE_NAMED, V_PARALLEL, V_SCHEMA, V_SCHEMA_NAME, V_STOP, V_STOP_ORDER,
    V_TEMPERATURE, V_TEMPERATURE_ULP, V_TOP_P, V_TOP_K, V_MAX_TOKENS, V_SEED,
    V_EFFORT, V_BUDGET, V_EXTRA, V_EXTRA_PROVIDER, V_EMPTY_TEXT_PART,
    V_NDIFF,
    /* must equal the baseline */
    V_SCHEMA_FORMAT = V_NDIFF, V_TOOL_SCHEMA_FORMAT, V_EXTRA_FORMAT, V_EXTRA_ORDER,
    V_NVARIANTS
};

static const char tool_schema[] =
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
    "\"days\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"city\"]}";
static const char tool_schema_reformatted[] =
    "{ \"required\" : [ \"city\" ],\n  \"properties\": {\n    \"days\": {\"minimum\": 1, "
    "\"type\": \"integer\"},\n    \"city\": { \"type\": \"string\" } },\n  \"type\": \"object\" }";
static const char out_schema[] = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"}}}";
static const char out_schema_reformatted[] =
    "{\"properties\": {\"a\": {\"type\": \"number\"}},   \"type\": \"object\"}";

static llm_request *make(int v)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    CHECK_INT(llm_request_add_text(r, LLM_ROLE_SYSTEM, "Be brief."), LLM_OK);
    CHECK_INT(llm_request_add_text(r, v == V_ROLE ? LLM_ROLE_ASSISTANT : LLM_ROLE_USER,
                                   v == V_TEXT ? "Weather in Lyon?" : "Weather in Paris?"),
              LLM_OK);
    if (v == V_EMPTY_TEXT_PART)
        CHECK_INT(llm_request_append_text(r, "", 0), LLM_OK);
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_USER), LLM_OK);
    if (v == V_IMAGE_URL) {
        CHECK_INT(llm_request_append_image_url(r, "https://example.com/a.png"), LLM_OK);
    } else {
        static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 1, 2, 3};
        static const unsigned char png2[] = {0x89, 'P', 'N', 'G', 0, 1, 2, 4};
        CHECK_INT(llm_request_append_image(r, v == V_IMAGE_MIME ? "image/jpeg" : "image/png",
                                           v == V_IMAGE_BYTES ? png2 : png, sizeof png),
                  LLM_OK);
    }
    CHECK_INT(llm_request_add_message(r, LLM_ROLE_ASSISTANT), LLM_OK);
    CHECK_INT(llm_request_append_tool_call(r, v == V_TOOL_CALL_ID ? "call_2" : "call_1",
                                           "get_weather",
                                           v == V_TOOL_CALL_ARGS ? "{\"city\":\"Lyon\"}"
                                                                 : "{\"city\":\"Paris\"}",
                                           v == V_TOOL_CALL_ARGS ? 15 : 16),
              LLM_OK);
    const char *result = v == V_TOOL_RESULT_TEXT ? "rain" : "sun";
    CHECK_INT(llm_request_add_tool_result(r, "call_1", NULL, result, strlen(result),
                                          v == V_TOOL_RESULT_FLAGS ? LLM_TOOL_RESULT_ERROR : 0),
              LLM_OK);
    if (v == V_EXTRA_MESSAGE)
        CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Thanks."), LLM_OK);

    const char *ts = v == V_TOOL_SCHEMA_FORMAT ? tool_schema_reformatted
                   : v == V_TOOL_SCHEMA ? "{\"type\":\"object\"}"
                   : v == V_NO_TOOL_SCHEMA ? NULL
                   : tool_schema;
    if (v == V_TOOL_ORDER)
        CHECK_INT(llm_request_add_tool(r, "get_time", "Current time.", NULL), LLM_OK);
    CHECK_INT(llm_request_add_tool(r, v == V_TOOL_NAME ? "weather" : "get_weather",
                                   v == V_TOOL_DESC ? "Weather." : "Current weather.", ts),
              LLM_OK);
    if (v != V_TOOL_ORDER)
        CHECK_INT(llm_request_add_tool(r, "get_time", "Current time.", NULL), LLM_OK);
    if (v == V_CHOICE)
        CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_REQUIRED, NULL), LLM_OK);
    else if (v == V_CHOICE_NAMED)
        CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NAMED, "get_time"), LLM_OK);
    else
        CHECK_INT(llm_request_set_tool_choice(r, LLM_TOOL_CHOICE_NAMED, "get_weather"), LLM_OK);
    if (v == V_PARALLEL)
        CHECK_INT(llm_request_set_parallel_tool_calls(r, 0), LLM_OK);
    CHECK_INT(llm_request_set_response_schema(
                  r, v == V_SCHEMA_NAME ? "other" : "answer",
                  v == V_SCHEMA_FORMAT ? out_schema_reformatted
                  : v == V_SCHEMA ? "{\"type\":\"object\"}" : out_schema),
              LLM_OK);
    if (v == V_STOP_ORDER) {
        CHECK_INT(llm_request_add_stop(r, "END"), LLM_OK);
        CHECK_INT(llm_request_add_stop(r, "STOP"), LLM_OK);
    } else {
        CHECK_INT(llm_request_add_stop(r, "STOP"), LLM_OK);
        CHECK_INT(llm_request_add_stop(r, v == V_STOP ? "HALT" : "END"), LLM_OK);
    }
    double t = 0.7;
    if (v == V_TEMPERATURE)
        t = 0.8;
    if (v == V_TEMPERATURE_ULP)
        t = 0.70000000000000007;   /* the next double after 0.7 */
    CHECK_INT(llm_request_set_temperature(r, t), LLM_OK);
    if (v == V_TOP_P)
        CHECK_INT(llm_request_set_top_p(r, 0.9), LLM_OK);
    if (v == V_TOP_K)
        CHECK_INT(llm_request_set_top_k(r, 40), LLM_OK);
    CHECK_INT(llm_request_set_max_tokens(r, v == V_MAX_TOKENS ? 1025 : 1024), LLM_OK);
    if (v == V_SEED)
        CHECK_INT(llm_request_set_seed(r, 42), LLM_OK);
    if (v == V_EFFORT)
        CHECK_INT(llm_request_set_reasoning_effort(r, LLM_REASONING_LOW), LLM_OK);
    if (v == V_BUDGET)
        CHECK_INT(llm_request_set_reasoning_budget(r, 2048), LLM_OK);

    const char *e1 = v == V_EXTRA ? "{\"store\":true}"
                   : v == V_EXTRA_FORMAT ? "{ \"store\" :  false }" : "{\"store\":false}";
    const char *e2 = "{\"metadata\":{\"b\":1,\"a\":2}}";
    if (v == V_EXTRA_ORDER) {
        CHECK_INT(llm_request_set_extra_json(r, "anthropic", e2, strlen(e2)), LLM_OK);
        CHECK_INT(llm_request_set_extra_json(r, "openai", e1, strlen(e1)), LLM_OK);
    } else {
        CHECK_INT(llm_request_set_extra_json(r, v == V_EXTRA_PROVIDER ? "gemini" : "openai", e1,
                                             strlen(e1)), LLM_OK);
        CHECK_INT(llm_request_set_extra_json(r, "anthropic", e2, strlen(e2)), LLM_OK);
    }
    return r;
}

static struct llm__header base_headers[] = {
    {"X-Team", "search"},
    {"OpenAI-Beta", "assistants=v2"},
};

static struct llm__cache_key_input input(const llm_request *r)
{
    struct llm__cache_key_input in = {
        .provider = "openai",
        .base_url = "https://api.openai.com/v1",
        .api_version = NULL,
        .model = "gpt-4o",
        .scope = "ns:tenant-a",
        .req = r,
        .headers = base_headers,
        .nheaders = LLM__ARRAY_LEN(base_headers),
    };
    return in;
}

static void key_of(const struct llm__cache_key_input *in, char key[65], llm__buf *canon)
{
    CHECK_INT(llm__cache_key(in, canon, key), LLM_OK);
}

TEST(same_request_same_key)
{
    llm_request *a = make(V_BASE), *b = make(V_BASE);
    struct llm__cache_key_input ia = input(a), ib = input(b);
    char ka[65], kb[65];
    llm__buf ca = {0}, cb = {0};
    key_of(&ia, ka, &ca);
    key_of(&ib, kb, &cb);
    CHECK_STR(ka, kb);
    CHECK_INT(strlen(ka), 64);
    CHECK(strspn(ka, "0123456789abcdef") == 64);
    CHECK(ca.len > 0 && ca.len == cb.len && memcmp(ca.data, cb.data, ca.len) == 0);
    CHECK(strncmp(ca.data, "libllm-cache-v1\n{", 17) == 0);
    /* The key is the SHA-256 of the canonical text. */
    unsigned char md[32];
    unsigned int n = 0;
    CHECK(EVP_Digest(ca.data, ca.len, md, &n, EVP_sha256(), NULL) == 1);
    char hexkey[65];
    for (int i = 0; i < 32; i++)
        snprintf(hexkey + 2 * i, 3, "%02x", md[i]);
    CHECK_STR(ka, hexkey);
    /* No canonical buffer wanted: the same key. */
    char kc[65];
    CHECK_INT(llm__cache_key(&ia, NULL, kc), LLM_OK);
    CHECK_STR(kc, ka);
    llm__buf_free(&ca);
    llm__buf_free(&cb);
    llm_request_free(a);
    llm_request_free(b);
}

TEST(every_request_field_counts)
{
    char keys[V_NVARIANTS][65];
    for (int v = 0; v < V_NVARIANTS; v++) {
        llm_request *r = make(v);
        struct llm__cache_key_input in = input(r);
        key_of(&in, keys[v], NULL);
        llm_request_free(r);
    }
    for (int v = 1; v < V_NDIFF; v++) {
        for (int w = 0; w < v; w++) {
            if (strcmp(keys[v], keys[w]) == 0)
                printf("#   variants %d and %d collide\n", v, w);
            CHECK(strcmp(keys[v], keys[w]) != 0);
        }
    }
    /* Only the formatting or order of embedded JSON and of extras changed. */
    for (int v = V_NDIFF; v < V_NVARIANTS; v++) {
        if (strcmp(keys[v], keys[V_BASE]) != 0)
            printf("#   variant %d differs from the baseline\n", v);
        CHECK_STR(keys[v], keys[V_BASE]);
    }
}

TEST(every_call_field_counts)
{
    llm_request *r = make(V_BASE);
    struct llm__cache_key_input base = input(r);
    char kb[65], k[65];
    key_of(&base, kb, NULL);

    struct llm__cache_key_input in = base;
    in.provider = "azure";
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    in = base;
    in.base_url = "https://proxy.example.com/v1";
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    in = base;
    in.base_url = NULL;
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    in = base;
    in.api_version = "2024-10-21";
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    in = base;
    in.model = "gpt-4o-mini";
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    in = base;
    in.scope = "ns:tenant-b";
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    in = base;
    in.nheaders = 1;
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    struct llm__header changed[] = {{"X-Team", "ads"}, {"OpenAI-Beta", "assistants=v2"}};
    in = base;
    in.headers = changed;
    key_of(&in, k, NULL);
    CHECK(strcmp(k, kb) != 0);
    llm_request_free(r);
}

TEST(header_order_and_case_do_not_count)
{
    llm_request *r = make(V_BASE);
    struct llm__cache_key_input in = input(r);
    char kb[65], k[65];
    key_of(&in, kb, NULL);
    struct llm__header reordered[] = {{"openai-beta", "assistants=v2"}, {"x-team", "search"}};
    in.headers = reordered;
    key_of(&in, k, NULL);
    CHECK_STR(k, kb);
    llm_request_free(r);
}

TEST(credentials_never_enter)
{
    llm_request *r = make(V_BASE);
    char fp[22];
    CHECK_INT(llm__credential_fingerprint(SECRET, fp), LLM_OK);
    struct llm__cache_key_input in = input(r);
    in.scope = fp;
    char kb[65], k[65];
    llm__buf canon = {0};
    key_of(&in, kb, &canon);
    CHECK(strstr(canon.data, SECRET) == NULL);
    CHECK(strstr(canon.data, fp) != NULL);

    /* Credential headers are left out: the key does not move, and the
     * secret is nowhere in the canonical text. */
    struct llm__header with_secrets[] = {
        {"X-Team", "search"},
        {"Authorization", "Bearer " SECRET},
        {"OpenAI-Beta", "assistants=v2"},
        {"x-api-key", SECRET},
        {"API-Key", SECRET},
        {"X-Goog-Api-Key", SECRET},
        {"X-Amz-Security-Token", SECRET},
        {"Proxy-Authorization", "Basic " SECRET},
        {"Cookie", "session=" SECRET},
    };
    in.headers = with_secrets;
    in.nheaders = LLM__ARRAY_LEN(with_secrets);
    key_of(&in, k, &canon);
    CHECK_STR(k, kb);
    CHECK(strstr(canon.data, SECRET) == NULL);
    CHECK(strstr(canon.data, "Bearer") == NULL);
    CHECK(strstr(k, SECRET) == NULL);
    llm__buf_free(&canon);
    llm_request_free(r);
}

TEST(fingerprints)
{
    char a[22], b[22], c[22];
    CHECK_INT(llm__credential_fingerprint("sk-test", a), LLM_OK);
    /* "cred:" + the first 16 hex digits of SHA-256("libllm-scope-v1" "sk-test"). */
    CHECK_STR(a, "cred:cf29604bad7ca094");
    CHECK_INT(llm__credential_fingerprint("sk-test", b), LLM_OK);
    CHECK_STR(a, b);
    CHECK_INT(llm__credential_fingerprint("sk-test2", c), LLM_OK);
    CHECK(strcmp(a, c) != 0);
    CHECK_INT(llm__credential_fingerprint("", c), LLM_OK);
    CHECK_STR(c, "cred:e3517514ca89c40b");
    CHECK_INT(llm__credential_fingerprint(NULL, b), LLM_OK);
    CHECK_STR(b, c);
    CHECK_INT(llm__credential_fingerprint("x", NULL), LLM_ERR_MISUSE);
}

TEST(canonical_text_details)
{
    llm_request *r = make(V_BASE);
    struct llm__cache_key_input in = input(r);
    char k[65];
    llm__buf canon = {0};
    key_of(&in, k, &canon);
    /* Image bytes stand as their digest. */
    CHECK(strstr(canon.data, "\"data_sha256\":\"") != NULL);
    CHECK(memmem(canon.data, canon.len, "\x89PNG", 4) == NULL);
    /* Doubles print round-trippably. */
    CHECK(strstr(canon.data, "\"temperature\":\"0.69999999999999996\"") != NULL);
    /* Keys are sorted and nothing is indented. */
    CHECK(strstr(canon.data, "\"adapter\":\"1\",\"api_version\":null,\"base_url\":") != NULL);
    CHECK(strchr(canon.data, '\n') == canon.data + 15);
    CHECK(strstr(canon.data, "\"required\":[\"city\"],\"type\":\"object\"") != NULL);
    /* Unset sampling parameters are absent, not zero. */
    CHECK(strstr(canon.data, "top_p") == NULL);
    CHECK(strstr(canon.data, "\"seed\"") == NULL);
    llm__buf_free(&canon);
    llm_request_free(r);
}

TEST(empty_request_and_bad_input)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    struct llm__cache_key_input in = {.req = r};
    char k[65];
    CHECK_INT(llm__cache_key(&in, NULL, k), LLM_OK);
    CHECK_INT(strlen(k), 64);
    in.req = NULL;
    CHECK_INT(llm__cache_key(&in, NULL, k), LLM_ERR_MISUSE);
    CHECK_INT(llm__cache_key(NULL, NULL, k), LLM_ERR_MISUSE);
    in.req = r;
    in.nheaders = 3;
    CHECK_INT(llm__cache_key(&in, NULL, k), LLM_ERR_MISUSE);
    in.nheaders = 0;
    CHECK_INT(llm__cache_key(&in, NULL, NULL), LLM_ERR_MISUSE);
    llm_request_free(r);
}

int main(void)
{
    if (llm_global_init(0) != LLM_OK)
        return 1;
    RUN(same_request_same_key);
    RUN(every_request_field_counts);
    RUN(every_call_field_counts);
    RUN(header_order_and_case_do_not_count);
    RUN(credentials_never_enter);
    RUN(fingerprints);
    RUN(canonical_text_details);
    RUN(empty_request_and_bad_input);
    llm_global_cleanup();
    return test_summary();
}
