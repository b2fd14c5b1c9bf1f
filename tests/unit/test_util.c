/*
 * test_util.c - the shared helpers of lib/core/util.c on hostile values.
 */
#include "test.h"
#include "internal.h"

TEST(json_int_tolerates_hostile_numbers)
{
    json_t *j = json_loads("{\"a\":12,\"b\":4e29,\"c\":-4e29,\"d\":12.9,\"e\":\"7\","
                           "\"f\":9223372036854775807,\"g\":9.3e18}", 0, NULL);
    CHECK(j != NULL);
    CHECK_INT(llm__json_int(j, "a", -1), 12);
    /* Out of the integer range: absent, not undefined behaviour. */
    CHECK_INT(llm__json_int(j, "b", -1), -1);
    CHECK_INT(llm__json_int(j, "c", -1), -1);
    CHECK_INT(llm__json_int(j, "g", -1), -1);
    CHECK_INT(llm__json_int(j, "d", -1), 12);
    CHECK_INT(llm__json_int(j, "e", -1), -1);
    CHECK(llm__json_int(j, "f", -1) == INT64_MAX);
    CHECK_INT(llm__json_int(j, "missing", 5), 5);
    CHECK_INT(llm__json_int(NULL, "a", 5), 5);
    json_decref(j);
}

TEST(base64_round_trip_and_rejects)
{
    llm__buf b = {0}, d = {0};
    CHECK_INT(llm__base64_encode(&b, "hello!?", 7), LLM_OK);
    CHECK_STR(b.data, "aGVsbG8hPw==");
    CHECK_INT(llm__base64_decode(&d, b.data, b.len), LLM_OK);
    CHECK_STR(d.data, "hello!?");
    llm__buf_reset(&d);
    CHECK_INT(llm__base64_decode(&d, "a$==", 4), LLM_ERR_PROTOCOL);
    CHECK_INT(llm__base64_decode(&d, "abcde", 5), LLM_ERR_PROTOCOL);
    llm__buf_free(&b);
    llm__buf_free(&d);
}

int main(void)
{
    RUN(json_int_tolerates_hostile_numbers);
    RUN(base64_round_trip_and_rejects);
    return test_summary();
}
