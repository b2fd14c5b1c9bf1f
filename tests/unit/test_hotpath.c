/*
 * test_hotpath.c - the pieces rewritten for speed (tests/bench) give what
 * the slow ways gave: the usage record's text (response.c's own writer
 * against jansson's dumper).
 */
#include "internal.h"
#include "test.h"

#include <jansson.h>

/* What llm_response_usage_raw says after llm__resp_set_usage_raw. */
static char *usage_text(const json_t *j)
{
    llm_response *r = llm__response_new();
    CHECK(r != NULL);
    CHECK_INT(llm__resp_set_usage_raw(r, j), LLM_OK);
    size_t n = 0;
    const char *t = llm_response_usage_raw(r, &n);
    char *copy = t ? strdup(t) : NULL;
    CHECK(t && strlen(t) == n);
    llm__response_destroy(r);
    return copy;
}

static char *jansson_text(const json_t *j)
{
    llm__buf b = {0};
    CHECK_INT(llm__json_dump(&b, j), LLM_OK);
    char *copy = strdup(b.data ? b.data : "");
    llm__buf_free(&b);
    return copy;
}

static void same_as_jansson(const char *doc)
{
    json_error_t err;
    json_t *j = json_loads(doc, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    CHECK(j != NULL);
    if (!j) {
        printf("#   bad test document: %s\n", doc);
        return;
    }
    char *ours = usage_text(j), *theirs = jansson_text(j);
    CHECK_STR(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(j);
}

TEST(usage_records_of_every_provider)
{
    /* OpenAI, Anthropic, Gemini and Bedrock usage records as sent. */
    same_as_jansson("{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"
                    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
                    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
                    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}");
    same_as_jansson("{\"input_tokens\":12,\"cache_creation_input_tokens\":0,"
                    "\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,"
                    "\"ephemeral_1h_input_tokens\":0},\"output_tokens\":5,\"service_tier\":\"standard\"}");
    same_as_jansson("{\"promptTokenCount\":41,\"candidatesTokenCount\":6,\"totalTokenCount\":47,"
                    "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":41}]}");
    same_as_jansson("{\"inputTokens\":10,\"outputTokens\":3,\"totalTokens\":13,"
                    "\"cacheReadInputTokens\":null,\"flag\":true,\"other\":false}");
}

TEST(odd_values_match_too)
{
    same_as_jansson("{}");
    same_as_jansson("[]");
    same_as_jansson("{\"a\":[],\"b\":{},\"c\":[1,[2,[3,{}]]]}");
    same_as_jansson("{\"n\":-9223372036854775808,\"m\":9223372036854775807,\"z\":0,\"k\":-1}");
    same_as_jansson("{\"s\":\"\\\"quoted\\\" back\\\\slash\\/slash \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f\"}");
    same_as_jansson("{\"nul\":\"a\\u0000b\",\"utf8\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}");
    same_as_jansson("{\"key \\n with \\\"escapes\\\"\":1}");
    /* Reals take jansson's path: the same text by construction. */
    same_as_jansson("{\"cost\":0.5,\"big\":1e300,\"x\":[1.0,-2.25]}");
    same_as_jansson("\"just a string\"");
    same_as_jansson("42");
    same_as_jansson("null");
    /* Deeper than the writer goes: jansson again. */
    char deep[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    same_as_jansson(deep);
    /* Longer than the writer's buffer, and a string that only fits unescaped. */
    char *long_doc = malloc(10000);
    strcpy(long_doc, "{\"k\":\"");
    for (int i = 0; i < 3000; i++)
        strcat(long_doc, "x");
    strcat(long_doc, "\"}");
    same_as_jansson(long_doc);
    strcpy(long_doc, "[\"");
    for (int i = 0; i < 400; i++)
        strcat(long_doc, "\\u0001");
    strcat(long_doc, "\"]");
    same_as_jansson(long_doc);
    free(long_doc);
}

/* Random documents: whatever the shape, the same text as jansson. */
static uint64_t rng = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_t *random_value(int depth)
{
    static const char *const words[] = {"tokens", "a\"b", "c\\d", "\n", "\xC3\xA9t\xC3\xA9", "", "x y"};
    switch (depth > 4 ? rnd(5) : rnd(7)) {
    case 0: return json_integer((json_int_t)rnd(100000) - 50000);
    case 1: return json_string(words[rnd(7)]);
    case 2: return json_true();
    case 3: return json_false();
    case 4: return json_null();
    case 5: {
        json_t *o = json_object();
        for (unsigned i = rnd(6); i > 0; i--) {
            char key[32];
            snprintf(key, sizeof key, "%s%u", words[rnd(7)], rnd(50));
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (unsigned i = rnd(5); i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

TEST(random_documents)
{
    for (int i = 0; i < 2000; i++) {
        json_t *j = random_value(0);
        char *ours = usage_text(j), *theirs = jansson_text(j);
        CHECK_STR(ours, theirs);
        free(ours);
        free(theirs);
        json_decref(j);
    }
}

int main(void)
{
    CHECK_INT(llm_global_init(LLM_INIT_NO_ENV), LLM_OK);
    RUN(usage_records_of_every_provider);
    RUN(odd_values_match_too);
    RUN(random_documents);
    llm_global_cleanup();
    return test_summary();
}
