/*
 * test_gemini_schema.c - JSON Schema to Gemini's Schema subset: every
 * accepted keyword, every rewrite, every refused keyword with its exact
 * message and path, bad values, deep nesting, text that is not JSON, and
 * every allocation failing in turn.
 */
#include "test.h"
#include "internal.h"
#include "providers/gemini_schema.h"

#include <stdio.h>
#include <stdlib.h>

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

/* Convert and compare with the expected Gemini schema (JSON text). */
static int converts_to(const char *in, const char *want_text)
{
    json_t *out = NULL;
    llm__buf err = {0};
    int rc = llm__gemini_schema_convert_text(in, strlen(in), &out, &err);
    json_t *want = json_loads(want_text, 0, NULL);
    int ok = rc == LLM_OK && want && json_equal(out, want);
    if (!ok) {
        char *g = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        printf("#   in   %s\n#   want %s\n#   got  %s (rc %d %s)\n", in, want_text, g ? g : "-", rc,
               err.data ? err.data : "");
        free(g);
    }
    json_decref(out);
    json_decref(want);
    llm__buf_free(&err);
    return ok;
}

/* Convert, expecting LLM_ERR_INVALID_ARG with exactly this message. */
static int fails_with(const char *in, const char *msg)
{
    json_t *out = NULL;
    llm__buf err = {0};
    int rc = llm__gemini_schema_convert_text(in, strlen(in), &out, &err);
    int ok = rc == LLM_ERR_INVALID_ARG && out == NULL && err.data && strcmp(err.data, msg) == 0;
    if (!ok)
        printf("#   in   %s\n#   want %s\n#   got  rc %d: %s\n", in, msg, rc, err.data ? err.data : "");
    json_decref(out);
    llm__buf_free(&err);
    return ok;
}

TEST(every_accepted_keyword)
{
    CHECK(converts_to(
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
        "\"title\":\"Order\",\"description\":\"An order.\",\"minProperties\":1,\"maxProperties\":5,"
        "\"required\":[\"id\"],\"propertyOrdering\":[\"id\",\"tags\"],\"nullable\":false,"
        "\"default\":{\"id\":\"x\"},\"example\":{\"id\":\"y\"},\"additionalProperties\":false,"
        "\"properties\":{"
        "\"id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":9,\"pattern\":\"^[a-z]+$\","
        "\"format\":\"date-time\",\"enum\":[\"a\",\"b\"]},"
        "\"tags\":{\"type\":\"array\",\"minItems\":0,\"maxItems\":3,\"items\":{\"type\":\"string\"}},"
        "\"qty\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":99,\"format\":\"int64\"},"
        "\"price\":{\"type\":\"number\",\"minimum\":0.5,\"format\":\"float\"},"
        "\"gift\":{\"type\":\"boolean\",\"nullable\":true},"
        "\"any\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]}}}",
        "{\"type\":\"OBJECT\",\"title\":\"Order\",\"description\":\"An order.\",\"minProperties\":1,"
        "\"maxProperties\":5,\"required\":[\"id\"],\"propertyOrdering\":[\"id\",\"tags\"],"
        "\"nullable\":false,\"default\":{\"id\":\"x\"},\"example\":{\"id\":\"y\"},"
        "\"properties\":{"
        "\"id\":{\"type\":\"STRING\",\"minLength\":1,\"maxLength\":9,\"pattern\":\"^[a-z]+$\","
        "\"format\":\"date-time\",\"enum\":[\"a\",\"b\"]},"
        "\"tags\":{\"type\":\"ARRAY\",\"minItems\":0,\"maxItems\":3,\"items\":{\"type\":\"STRING\"}},"
        "\"qty\":{\"type\":\"INTEGER\",\"minimum\":1,\"maximum\":99,\"format\":\"int64\"},"
        "\"price\":{\"type\":\"NUMBER\",\"minimum\":0.5,\"format\":\"float\"},"
        "\"gift\":{\"type\":\"BOOLEAN\",\"nullable\":true},"
        "\"any\":{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"NUMBER\"}]}}}"));
}

TEST(type_names)
{
    static const char *names[][2] = {
        {"string", "STRING"}, {"number", "NUMBER"}, {"integer", "INTEGER"}, {"boolean", "BOOLEAN"},
        {"array", "ARRAY"}, {"object", "OBJECT"}, {"null", "NULL"}, {"STRING", "STRING"},
        {"Integer", "INTEGER"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(names); i++) {
        char in[96], want[96];
        snprintf(in, sizeof in, "{\"type\":\"%s\"}", names[i][0]);
        snprintf(want, sizeof want, "{\"type\":\"%s\"}", names[i][1]);
        CHECK(converts_to(in, want));
    }
    CHECK(converts_to("{\"type\":[\"integer\"]}", "{\"type\":\"INTEGER\"}"));
    CHECK(converts_to("{\"type\":[\"null\",\"string\"]}", "{\"type\":\"STRING\",\"nullable\":true}"));
    CHECK(converts_to("{\"type\":[\"null\"]}", "{\"type\":\"NULL\",\"nullable\":true}"));
    CHECK(converts_to("{\"type\":[\"string\",\"string\"]}", "{\"type\":\"STRING\"}"));
}

TEST(nullable_and_any_of)
{
    /* The null branch becomes nullable; one branch left is inlined, and the
     * outer keywords win over the branch's. */
    CHECK(converts_to("{\"anyOf\":[{\"type\":\"integer\",\"description\":\"inner\"},{\"type\":\"null\"}],"
                      "\"description\":\"outer\",\"default\":null}",
                      "{\"type\":\"INTEGER\",\"nullable\":true,\"description\":\"outer\",\"default\":null}"));
    CHECK(converts_to("{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}]}",
                      "{\"type\":\"OBJECT\",\"nullable\":true,\"properties\":{\"a\":{\"type\":\"STRING\"}}}"));
    CHECK(converts_to("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"},{\"type\":\"null\"}]}",
                      "{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"INTEGER\"}],\"nullable\":true}"));
    CHECK(converts_to("{\"anyOf\":[{\"type\":\"null\",\"description\":\"nothing\"}]}",
                      "{\"type\":\"NULL\",\"nullable\":true}"));
    CHECK(converts_to("{\"anyOf\":[{\"type\":\"string\",\"nullable\":true}]}",
                      "{\"type\":\"STRING\",\"nullable\":true}"));
    /* oneOf: the same for generating one value. */
    CHECK(converts_to("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"boolean\"}]}",
                      "{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"BOOLEAN\"}]}"));
    CHECK(converts_to("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}",
                      "{\"type\":\"STRING\",\"nullable\":true}"));
    CHECK(converts_to("{\"type\":\"string\",\"nullable\":true}", "{\"type\":\"STRING\",\"nullable\":true}"));
}

TEST(enums_const_examples_formats)
{
    CHECK(converts_to("{\"enum\":[\"x\",\"y\"]}", "{\"type\":\"STRING\",\"enum\":[\"x\",\"y\"]}"));
    CHECK(converts_to("{\"type\":\"integer\",\"enum\":[1,2,3]}", "{\"type\":\"STRING\",\"enum\":[\"1\",\"2\",\"3\"]}"));
    CHECK(converts_to("{\"enum\":[1.5,true,\"s\"]}", "{\"type\":\"STRING\",\"enum\":[\"1.5\",\"true\",\"s\"]}"));
    CHECK(converts_to("{\"type\":\"string\",\"enum\":[\"a\",null]}",
                      "{\"type\":\"STRING\",\"enum\":[\"a\"],\"nullable\":true}"));
    CHECK(converts_to("{\"const\":\"only\"}", "{\"type\":\"STRING\",\"enum\":[\"only\"]}"));
    CHECK(converts_to("{\"type\":\"integer\",\"const\":7}", "{\"type\":\"STRING\",\"enum\":[\"7\"]}"));
    CHECK(converts_to("{\"type\":\"string\",\"examples\":[\"first\",\"second\"]}",
                      "{\"type\":\"STRING\",\"example\":\"first\"}"));
    CHECK(converts_to("{\"type\":\"string\",\"example\":\"mine\",\"examples\":[\"theirs\"]}",
                      "{\"type\":\"STRING\",\"example\":\"mine\"}"));
    CHECK(converts_to("{\"type\":\"string\",\"examples\":[]}", "{\"type\":\"STRING\"}"));
    /* Formats Gemini knows for the type stay; annotations it rejects go. */
    static const char *kept[][2] = {
        {"string", "date-time"}, {"string", "enum"}, {"number", "float"}, {"number", "double"},
        {"integer", "int32"}, {"integer", "int64"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(kept); i++) {
        char in[128], want[128], up[16];
        size_t k = 0;
        for (; kept[i][0][k]; k++)
            up[k] = (char)(kept[i][0][k] - 'a' + 'A');
        up[k] = '\0';
        snprintf(in, sizeof in, "{\"type\":\"%s\",\"format\":\"%s\"}", kept[i][0], kept[i][1]);
        snprintf(want, sizeof want, "{\"type\":\"%s\",\"format\":\"%s\"}", up, kept[i][1]);
        CHECK(converts_to(in, want));
    }
    CHECK(converts_to("{\"type\":\"string\",\"format\":\"email\"}", "{\"type\":\"STRING\"}"));
    CHECK(converts_to("{\"type\":\"string\",\"format\":\"uri\"}", "{\"type\":\"STRING\"}"));
    CHECK(converts_to("{\"type\":\"integer\",\"format\":\"float\"}", "{\"type\":\"INTEGER\"}"));
    CHECK(converts_to("{\"format\":\"date-time\"}", "{}"));
}

TEST(type_inference)
{
    CHECK(converts_to("{\"properties\":{\"a\":{\"type\":\"string\"}}}",
                      "{\"type\":\"OBJECT\",\"properties\":{\"a\":{\"type\":\"STRING\"}}}"));
    CHECK(converts_to("{\"required\":[\"a\"]}", "{\"type\":\"OBJECT\",\"required\":[\"a\"]}"));
    CHECK(converts_to("{\"items\":{\"type\":\"string\"}}", "{\"type\":\"ARRAY\",\"items\":{\"type\":\"STRING\"}}"));
    CHECK(converts_to("{\"maxItems\":2}", "{\"type\":\"ARRAY\",\"maxItems\":2}"));
    CHECK(converts_to("{\"pattern\":\"^a\"}", "{\"type\":\"STRING\",\"pattern\":\"^a\"}"));
    CHECK(converts_to("{\"minLength\":2}", "{\"type\":\"STRING\",\"minLength\":2}"));
    CHECK(converts_to("{\"maximum\":2}", "{\"type\":\"NUMBER\",\"maximum\":2}"));
    CHECK(converts_to("{\"description\":\"anything\"}", "{\"description\":\"anything\"}"));
    CHECK(converts_to("{}", "{}"));
}

TEST(every_refused_keyword)
{
    static const char *kws[] = {
        "$ref", "$defs", "definitions", "$id", "$comment", "$anchor", "$dynamicRef", "$vocabulary",
        "allOf", "not", "if", "then", "else", "patternProperties", "dependentRequired",
        "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems",
        "propertyNames", "contains", "minContains", "maxContains", "uniqueItems", "multipleOf",
        "exclusiveMinimum", "exclusiveMaximum", "prefixItems", "additionalItems", "readOnly",
        "writeOnly", "deprecated", "contentEncoding", "contentMediaType", "contentSchema",
        "x-vendor", "discriminator", "any_of", "ref", "defs",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(kws); i++) {
        char in[256], msg[256];
        snprintf(in, sizeof in, "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"%s\":1}}}",
                 kws[i]);
        snprintf(msg, sizeof msg,
                 "JSON Schema keyword '%s' at properties.city is not supported by Gemini", kws[i]);
        CHECK(fails_with(in, msg));
        snprintf(in, sizeof in, "{\"%s\":{}}", kws[i]);
        snprintf(msg, sizeof msg, "JSON Schema keyword '%s' at the top level is not supported by Gemini",
                 kws[i]);
        CHECK(fails_with(in, msg));
    }
    CHECK(fails_with("{\"type\":\"object\",\"additionalProperties\":true}",
                     "JSON Schema keyword 'additionalProperties' at the top level is not supported by Gemini"));
    CHECK(fails_with("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}",
                     "JSON Schema keyword 'additionalProperties' at the top level is not supported by Gemini"));
    CHECK(fails_with("{\"anyOf\":[{\"type\":\"string\"}],\"oneOf\":[{\"type\":\"string\"}]}",
                     "JSON Schema keyword 'oneOf' at the top level is not supported by Gemini"));
    CHECK(fails_with("{\"enum\":[\"a\"],\"const\":\"a\"}",
                     "JSON Schema keyword 'const' at the top level is not supported by Gemini"));
}

TEST(paths_in_messages)
{
    CHECK(fails_with("{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"x\":{\"not\":{}}}}}",
                     "JSON Schema keyword 'not' at items.properties.x is not supported by Gemini"));
    CHECK(fails_with("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"object\",\"properties\":{\"y\":{\"$ref\":\"#\"}}}]}",
                     "JSON Schema keyword '$ref' at anyOf[1].properties.y is not supported by Gemini"));
    CHECK(fails_with("{\"oneOf\":[{\"allOf\":[]}]}",
                     "JSON Schema keyword 'allOf' at oneOf[0] is not supported by Gemini"));
    CHECK(fails_with("{\"properties\":{\"odd key.x\":{\"if\":{}}}}",
                     "JSON Schema keyword 'if' at properties[\"odd key.x\"] is not supported by Gemini"));
    CHECK(fails_with("{\"properties\":{\"a\":{\"properties\":{\"b\":{\"items\":{\"uniqueItems\":true}}}}}}",
                     "JSON Schema keyword 'uniqueItems' at properties.a.properties.b.items is not "
                     "supported by Gemini"));
}

TEST(bad_values)
{
    static const char *cases[][2] = {
        {"{\"type\":\"float\"}", "JSON Schema type \"float\" at the top level is not a JSON Schema type"},
        {"{\"type\":7}", "JSON Schema keyword 'type' at the top level must be a type name or an array of type names"},
        {"{\"type\":[]}", "JSON Schema keyword 'type' at the top level must be a type name or an array of type names"},
        {"{\"type\":[\"string\",5]}", "JSON Schema keyword 'type' at the top level must be a type name or an array of type names"},
        {"{\"type\":[\"string\",\"integer\"]}",
         "JSON Schema keyword 'type' at the top level lists several types, which Gemini does not support (use anyOf)"},
        {"{\"items\":[{\"type\":\"string\"}]}",
         "JSON Schema keyword 'items' at the top level holds an array (tuple validation), which Gemini does not support"},
        {"{\"items\":true}", "a boolean JSON Schema (true) at items is not supported by Gemini"},
        {"{\"properties\":{\"a\":false}}", "a boolean JSON Schema (false) at properties.a is not supported by Gemini"},
        {"{\"properties\":{\"a\":\"string\"}}", "the JSON Schema at properties.a is not an object"},
        {"{\"properties\":[]}", "JSON Schema keyword 'properties' at the top level must be an object"},
        {"{\"required\":[\"a\",1]}", "JSON Schema keyword 'required' at the top level must be an array of strings"},
        {"{\"propertyOrdering\":\"a\"}", "JSON Schema keyword 'propertyOrdering' at the top level must be an array of strings"},
        {"{\"minItems\":-1}", "JSON Schema keyword 'minItems' at the top level must be a non-negative integer"},
        {"{\"maxLength\":1.5}", "JSON Schema keyword 'maxLength' at the top level must be a non-negative integer"},
        {"{\"minimum\":\"0\"}", "JSON Schema keyword 'minimum' at the top level must be a number"},
        {"{\"title\":1}", "JSON Schema keyword 'title' at the top level must be a string"},
        {"{\"description\":null}", "JSON Schema keyword 'description' at the top level must be a string"},
        {"{\"pattern\":[]}", "JSON Schema keyword 'pattern' at the top level must be a string"},
        {"{\"format\":1}", "JSON Schema keyword 'format' at the top level must be a string"},
        {"{\"nullable\":\"yes\"}", "JSON Schema keyword 'nullable' at the top level must be a boolean"},
        {"{\"enum\":\"a\"}", "JSON Schema keyword 'enum' at the top level must be an array"},
        {"{\"enum\":[\"a\",{\"b\":1}]}",
         "JSON Schema keyword 'enum' at the top level holds an object or array value, which Gemini does not support (enum values must be strings)"},
        {"{\"const\":[1]}",
         "JSON Schema keyword 'const' at the top level holds an object or array value, which Gemini does not support (enum values must be strings)"},
        {"{\"examples\":\"a\"}", "JSON Schema keyword 'examples' at the top level must be an array"},
        {"{\"anyOf\":[]}", "JSON Schema keyword 'anyOf' at the top level must be a non-empty array of schemas"},
        {"{\"oneOf\":{}}", "JSON Schema keyword 'oneOf' at the top level must be a non-empty array of schemas"},
        {"{\"anyOf\":[1]}", "the JSON Schema at anyOf[0] is not an object"},
        {"[]", "the JSON Schema at the top level is not an object"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++)
        CHECK(fails_with(cases[i][0], cases[i][1]));
    /* Scalars at the top, as a parsed document. */
    json_t *out = NULL;
    llm__buf err = {0};
    CHECK_INT(llm__gemini_schema_convert(json_true(), &out, &err), LLM_ERR_INVALID_ARG);
    CHECK_STR(err.data, "a boolean JSON Schema (true) at the top level is not supported by Gemini");
    llm__buf_reset(&err);
    json_t *num = json_integer(3);
    CHECK_INT(llm__gemini_schema_convert(num, &out, &err), LLM_ERR_INVALID_ARG);
    CHECK_STR(err.data, "the JSON Schema at the top level is not an object");
    CHECK(out == NULL);
    json_decref(num);
    llm__buf_free(&err);
}

TEST(not_json)
{
    json_t *out = (json_t *)1;
    llm__buf err = {0};
    CHECK_INT(llm__gemini_schema_convert_text("{\"type\":", 8, &out, &err), LLM_ERR_INVALID_ARG);
    CHECK(out == NULL);
    CHECK(err.data && strncmp(err.data, "the JSON Schema is not valid JSON (", 35) == 0);
    llm__buf_free(&err);
    CHECK_INT(llm__gemini_schema_convert_text("", 0, &out, &err), LLM_ERR_INVALID_ARG);
    llm__buf_free(&err);
    CHECK_INT(llm__gemini_schema_convert_text("{} {}", 5, &out, &err), LLM_ERR_INVALID_ARG);
    llm__buf_free(&err);
}

static char *nested(int levels)
{
    llm__buf b = {0};
    for (int i = 0; i < levels - 1; i++)
        llm__buf_puts(&b, "{\"type\":\"array\",\"items\":");
    llm__buf_puts(&b, "{\"type\":\"string\"}");
    for (int i = 0; i < levels - 1; i++)
        llm__buf_putc(&b, '}');
    return llm__buf_steal(&b);
}

TEST(deep_nesting)
{
    char *ok = nested(LLM__GEMINI_SCHEMA_MAX_DEPTH);
    json_t *out = NULL;
    llm__buf err = {0};
    CHECK_INT(llm__gemini_schema_convert_text(ok, strlen(ok), &out, &err), LLM_OK);
    const json_t *j = out;
    int depth = 0;
    while (j) {
        depth++;
        j = json_object_get(j, "items");
    }
    CHECK_INT(depth, LLM__GEMINI_SCHEMA_MAX_DEPTH);
    json_decref(out);
    llm__free(ok);

    char *deep = nested(LLM__GEMINI_SCHEMA_MAX_DEPTH + 1);
    CHECK_INT(llm__gemini_schema_convert_text(deep, strlen(deep), &out, &err), LLM_ERR_INVALID_ARG);
    CHECK(out == NULL);
    CHECK(err.data && strstr(err.data, "is nested deeper than 64 levels") != NULL);
    CHECK(err.data && strncmp(err.data, "the JSON Schema at items.items.items.", 37) == 0);
    llm__buf_free(&err);
    llm__free(deep);

    /* Far past the limit: refused without recursing further. */
    char *huge = nested(1500);
    CHECK_INT(llm__gemini_schema_convert_text(huge, strlen(huge), &out, &err), LLM_ERR_INVALID_ARG);
    llm__buf_free(&err);
    llm__free(huge);

    /* Many properties side by side are fine. */
    llm__buf wide = {0};
    llm__buf_puts(&wide, "{\"type\":\"object\",\"properties\":{");
    for (int i = 0; i < 2000; i++)
        llm__buf_printf(&wide, "%s\"p%d\":{\"type\":\"integer\"}", i ? "," : "", i);
    llm__buf_puts(&wide, "}}");
    CHECK_INT(llm__gemini_schema_convert_text(wide.data, wide.len, &out, &err), LLM_OK);
    CHECK_INT((int)json_object_size(json_object_get(out, "properties")), 2000);
    json_decref(out);
    llm__buf_free(&wide);
}

TEST(input_is_not_modified)
{
    json_t *in = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},"
                            "{\"type\":\"null\"}]}}}", 0, NULL);
    json_t *copy = json_deep_copy(in);
    json_t *out = NULL;
    llm__buf err = {0};
    CHECK_INT(llm__gemini_schema_convert(in, &out, &err), LLM_OK);
    CHECK(json_equal(in, copy));
    CHECK(out != in);
    json_decref(out);
    json_decref(in);
    json_decref(copy);
}

TEST(allocation_failures)
{
    const char *schema =
        "{\"type\":\"object\",\"title\":\"T\",\"properties\":{"
        "\"a\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"null\"}],\"default\":null},"
        "\"b\":{\"type\":\"array\",\"items\":{\"enum\":[1,\"x\",null]},\"examples\":[[1]]},"
        "\"c\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"boolean\"},{\"type\":\"null\"}]},"
        "\"d\":{\"const\":\"k\"},\"e\":{\"type\":[\"number\",\"null\"],\"format\":\"double\"}},"
        "\"required\":[\"a\"]}";
    json_t *in = json_loads(schema, 0, NULL);
    int done = 0;
    for (long n = 0; n < 100000 && !done; n++) {
        json_t *out = NULL;
        llm__buf err = {0};
        nallocs = 0;
        fail_at = n;
        int rc = llm__gemini_schema_convert(in, &out, &err);
        fail_at = -1;
        if (rc == LLM_OK)
            done = nallocs <= n;
        else {
            CHECK_INT(rc, LLM_ERR_NOMEM);
            CHECK(out == NULL);
        }
        json_decref(out);
        llm__buf_free(&err);
    }
    CHECK(done);
    json_decref(in);

    /* A refusal whose message cannot be stored is NOMEM, never a crash. */
    in = json_loads("{\"properties\":{\"a\":{\"$ref\":\"#\"}}}", 0, NULL);
    done = 0;
    for (long n = 0; n < 1000 && !done; n++) {
        json_t *out = NULL;
        llm__buf err = {0};
        nallocs = 0;
        fail_at = n;
        int rc = llm__gemini_schema_convert(in, &out, &err);
        fail_at = -1;
        if (rc == LLM_ERR_INVALID_ARG)
            done = nallocs <= n;
        else
            CHECK_INT(rc, LLM_ERR_NOMEM);
        json_decref(out);
        llm__buf_free(&err);
    }
    CHECK(done);
    json_decref(in);
}

int main(void)
{
    if (llm_global_init_alloc(LLM_INIT_NO_ENV | LLM_INIT_ALLOC_JANSSON, t_malloc, t_realloc, t_free,
                              NULL) != LLM_OK) {
        printf("not ok - llm_global_init_alloc\n");
        return 1;
    }
    RUN(every_accepted_keyword);
    RUN(type_names);
    RUN(nullable_and_any_of);
    RUN(enums_const_examples_formats);
    RUN(type_inference);
    RUN(every_refused_keyword);
    RUN(paths_in_messages);
    RUN(bad_values);
    RUN(not_json);
    RUN(deep_nesting);
    RUN(input_is_not_modified);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
