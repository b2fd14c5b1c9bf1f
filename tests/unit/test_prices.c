/*
 * test_prices.c - the price table, name matching, and cost in nano-USD
 * against figures computed by hand for each provider's usage convention.
 */
#include "test.h"
#include "internal.h"
#include "hooks/builtin.h"
#include "hooks/price_table.h"

#include <pthread.h>

/* A usage record; -1 = not reported. */
static struct llm__usage usage(int64_t in, int64_t out, int64_t cr, int64_t cw, int64_t cw1h,
                               int64_t reasoning)
{
    struct llm__usage u;
    for (size_t i = 0; i < LLM__ARRAY_LEN(u.v); i++)
        u.v[i] = -1;
    u.v[LLM_USAGE_INPUT] = in;
    u.v[LLM_USAGE_OUTPUT] = out;
    u.v[LLM_USAGE_CACHE_READ] = cr;
    u.v[LLM_USAGE_CACHE_WRITE] = cw;
    u.v[LLM_USAGE_CACHE_WRITE_1H] = cw1h;
    u.v[LLM_USAGE_REASONING] = reasoning;
    return u;
}

static struct llm__prices *prices(void)
{
    struct llm__prices *p = NULL;
    CHECK_INT(llm__prices_new(&p), LLM_OK);
    return p;
}

static int64_t cost(struct llm__prices *p, const char *model, struct llm__usage u)
{
    int64_t n = -2;
    int rc = llm__prices_cost(p, model, &u, &n);
    if (rc != LLM_OK) {
        CHECK_INT(n, -1);
        return rc;
    }
    return n;
}

/* The input price in nano-USD per million tokens, read off the cost of
 * 100000 tokens (below every long-context threshold). */
static int64_t input_price(struct llm__prices *p, const char *model)
{
    int64_t c = cost(p, model, usage(100000, 0, 0, 0, 0, -1));
    return c < 0 ? c : c * 10;
}

TEST(table_date)
{
    CHECK_STR(llm__prices_table_date, "2026-07-24");
    CHECK_INT(strlen(llm__prices_table_date), 10);
}

TEST(every_row_is_reachable_by_its_name)
{
    struct llm__prices *p = prices();
    for (size_t i = 0; i < LLM__ARRAY_LEN(llm__price_table); i++) {
        const struct llm__price_row *r = &llm__price_table[i];
        CHECK(r->input > 0 && r->output > 0);
        int64_t got = input_price(p, r->name);
        if (got != r->input)
            printf("#   row %s: %lld\n", r->name, (long long)got);
        CHECK_INT(got, r->input);
        CHECK_INT(cost(p, r->name, usage(0, 1000000, 0, 0, 0, -1)), r->output);
        /* Above its threshold a long-context row switches to its long
         * input price. */
        if (r->long_threshold > 0)
            CHECK_INT(cost(p, r->name, usage(r->long_threshold + 1, 0, 0, 0, 0, -1)),
                      (r->long_threshold + 1) / 1000000 * r->long_input +
                          ((r->long_threshold + 1) % 1000000 * r->long_input + 500000) / 1000000);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(llm__price_table[k].name, r->name) != 0);
    }
    llm__prices_free(p);
}

TEST(openai_cached_and_reasoning)
{
    struct llm__prices *p = prices();
    /* gpt-5: 1.25 in, 0.125 cached, 10 out.  10000 prompt tokens of which
     * 4000 cached; 3000 completion tokens of which 2000 reasoning:
     *   6000 x 1.25 + 4000 x 0.125 + 3000 x 10 = 7500 + 500 + 30000 micro-USD
     * = 0.038 USD.  Reasoning is inside the output, billed once. */
    CHECK_INT(cost(p, "gpt-5", usage(10000, 3000, 4000, 0, -1, 2000)), 38000000);
    /* gpt-4o, nothing cached: 1000 x 2.5 + 500 x 10 = 7500 micro-USD. */
    CHECK_INT(cost(p, "gpt-4o", usage(1000, 500, -1, -1, -1, -1)), 7500000);
    CHECK_INT(cost(p, "gpt-4o", usage(1000, 500, 0, 0, 0, 0)), 7500000);
    /* A cache write where the provider lists no price costs the input
     * price; gpt-5.6 lists 6.25. */
    CHECK_INT(cost(p, "gpt-4o", usage(100, 0, 0, 100, 0, -1)), 250000);
    CHECK_INT(cost(p, "gpt-5.6", usage(100, 0, 0, 100, 0, -1)), 625000);
    llm__prices_free(p);
}

TEST(openai_long_context)
{
    struct llm__prices *p = prices();
    /* gpt-5.4 above 272k input tokens: 5.00 / 0.50 / 22.50. */
    CHECK_INT(cost(p, "gpt-5.4", usage(272000, 1000, 0, 0, 0, -1)),
              272000LL * 2500 + 1000LL * 15000);
    CHECK_INT(cost(p, "gpt-5.4", usage(300000, 1000, 100000, 0, 0, -1)),
              200000LL * 5000 + 100000LL * 500 + 1000LL * 22500);
    llm__prices_free(p);
}

TEST(anthropic_cache_tiers)
{
    struct llm__prices *p = prices();
    /* claude-sonnet-4-5: 3 in, 3.75 write 5m, 6 write 1h, 0.30 read, 15 out.
     * input 100000 = 20000 uncached + 50000 read + 30000 written (10000 of
     * them for an hour); 2000 out:
     *   20000 x 3 + 50000 x 0.3 + 20000 x 3.75 + 10000 x 6 + 2000 x 15
     * = 60000 + 15000 + 75000 + 60000 + 30000 = 240000 micro-USD. */
    CHECK_INT(cost(p, "claude-sonnet-4-5", usage(100000, 2000, 50000, 30000, 10000, -1)),
              240000000);
    /* claude-haiku-4-5 with only 5-minute writes:
     *   500 x 1 + 1000 x 0.1 + 2000 x 1.25 + 100 x 5 = 3600 micro-USD. */
    CHECK_INT(cost(p, "claude-haiku-4-5", usage(3500, 100, 1000, 2000, 0, -1)), 3600000);
    llm__prices_free(p);
}

TEST(anthropic_long_context)
{
    struct llm__prices *p = prices();
    /* Above 200k input tokens Sonnet 4.5 costs 6 / 22.50, write 7.50,
     * read 0.60, and the 1-hour write twice the long input, 12:
     *   200000 x 6 + 30000 x 0.6 + 15000 x 7.5 + 5000 x 12 + 1000 x 22.5
     * = 1200000 + 18000 + 112500 + 60000 + 22500 = 1413000 micro-USD. */
    CHECK_INT(cost(p, "claude-sonnet-4-5", usage(250000, 1000, 30000, 20000, 5000, -1)),
              1413000000);
    /* At the threshold itself the normal prices apply. */
    CHECK_INT(cost(p, "claude-sonnet-4", usage(200000, 0, 0, 0, 0, -1)), 600000000);
    CHECK_INT(cost(p, "claude-sonnet-4", usage(200001, 0, 0, 0, 0, -1)), 1200006000);
    /* Sonnet 4.6 has no long tier in the table. */
    CHECK_INT(cost(p, "claude-sonnet-4-6", usage(500000, 0, 0, 0, 0, -1)), 1500000000);
    llm__prices_free(p);
}

TEST(gemini_thinking_and_cache)
{
    struct llm__prices *p = prices();
    /* gemini-2.5-flash: 0.30 in, 0.03 cached, 2.50 out (thinking included).
     *   8000 x 0.3 + 2000 x 0.03 + 5000 x 2.5 = 2400 + 60 + 12500 micro-USD. */
    CHECK_INT(cost(p, "gemini-2.5-flash", usage(10000, 5000, 2000, 0, -1, 1200)), 14960000);
    /* The REST resource name is the same model. */
    CHECK_INT(cost(p, "models/gemini-2.5-flash", usage(10000, 5000, 2000, 0, -1, 1200)), 14960000);
    /* gemini-2.5-pro above 200k: 2.50 / 0.25 / 15.
     *   200000 x 2.5 + 100000 x 0.25 + 10000 x 15 = 675000 micro-USD. */
    CHECK_INT(cost(p, "gemini-2.5-pro", usage(300000, 10000, 100000, 0, -1, -1)), 675000000);
    llm__prices_free(p);
}

TEST(rounding_to_the_nearest_nano)
{
    struct llm__prices *p = prices();
    CHECK_INT(cost(p, "gpt-4o-mini", usage(1, 0, 0, 0, 0, -1)), 150);
    /* deepseek-v4-flash reads cache at 0.0028 USD per million: 2.8 nano a
     * token rounds to 3; two tokens are 5.6, rounded once, to 6. */
    CHECK_INT(cost(p, "deepseek-v4-flash", usage(1, 0, 1, 0, 0, -1)), 3);
    CHECK_INT(cost(p, "deepseek-v4-flash", usage(2, 0, 2, 0, 0, -1)), 6);
    CHECK_INT(llm__prices_set(p, "half", LLM_PRICE_INPUT, 0.0005), LLM_OK);
    CHECK_INT(llm__prices_set(p, "half", LLM_PRICE_OUTPUT, 0.0004), LLM_OK);
    CHECK_INT(cost(p, "half", usage(1, 0, 0, 0, 0, -1)), 1);      /* 0.5 up */
    CHECK_INT(cost(p, "half", usage(0, 1, 0, 0, 0, -1)), 0);      /* 0.4 down */
    CHECK_INT(cost(p, "half", usage(1, 1, 0, 0, 0, -1)), 1);      /* 0.9 */
    CHECK_INT(cost(p, "half", usage(0, 0, 0, 0, 0, -1)), 0);
    llm__prices_free(p);
}

TEST(dated_and_aliased_names)
{
    struct llm__prices *p = prices();
    CHECK_INT(input_price(p, "gpt-4o-2024-08-06"), 2500000000);
    CHECK_INT(input_price(p, "gpt-4o-mini-2024-07-18"), 150000000);   /* not gpt-4o's */
    CHECK_INT(input_price(p, "gpt-5-2025-08-07"), 1250000000);
    CHECK_INT(input_price(p, "o4-mini-2025-04-16"), 1100000000);
    CHECK_INT(input_price(p, "claude-3-5-haiku-20241022"), 800000000);
    CHECK_INT(input_price(p, "claude-3-7-sonnet-latest"), 3000000000);
    CHECK_INT(input_price(p, "claude-sonnet-4-5@20250929"), 3000000000);
    CHECK_INT(input_price(p, "gemini-2.0-flash-001"), 100000000);
    CHECK_INT(input_price(p, "mistral-large-latest"), 500000000);
    CHECK_INT(input_price(p, "openai/gpt-oss-120b"), 150000000);
    llm__prices_free(p);
}

TEST(bedrock_ids)
{
    struct llm__prices *p = prices();
    CHECK_INT(input_price(p, "anthropic.claude-3-5-haiku-20241022-v1:0"), 800000000);
    CHECK_INT(input_price(p, "anthropic.claude-3-7-sonnet-20250219-v1:0"), 3000000000);
    CHECK_INT(input_price(p, "global.anthropic.claude-sonnet-4-6"), 3000000000);
    CHECK_INT(input_price(p, "global.anthropic.claude-haiku-4-5-20251001-v1:0"), 1000000000);
    /* Regional profiles of newer Claude models: 10 % more (providers.md
     * 11.5 lists 3.30, 1.10 and 5.50 / 6.875 / 0.55 / 27.50). */
    CHECK_INT(input_price(p, "us.anthropic.claude-sonnet-4-6"), 3300000000);
    CHECK_INT(input_price(p, "us.anthropic.claude-haiku-4-5-20251001-v1:0"), 1100000000);
    CHECK_INT(input_price(p, "us.anthropic.claude-opus-4-7"), 5500000000);
    CHECK_INT(cost(p, "us.anthropic.claude-opus-4-7", usage(0, 1000000, 0, 0, 0, -1)),
              27500000000);
    CHECK_INT(cost(p, "us.anthropic.claude-opus-4-7", usage(1000000, 0, 1000000, 0, 0, -1)),
              550000000);
    CHECK_INT(cost(p, "us.anthropic.claude-opus-4-7", usage(1000000, 0, 0, 1000000, 0, -1)),
              6875000000);
    CHECK_INT(cost(p, "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                   usage(1000000, 0, 0, 1000000, 0, -1)), 1375000000);
    /* Older models cost the same in every profile. */
    CHECK_INT(input_price(p, "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"), 3000000000);
    CHECK_INT(input_price(p, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                             "us.anthropic.claude-sonnet-4-6"), 3300000000);
    CHECK_INT(input_price(p, "amazon.nova-pro-v1:0"), 800000000);
    CHECK_INT(input_price(p, "us.amazon.nova-premier-v1:0"), 2500000000);
    CHECK_INT(input_price(p, "amazon.nova-micro-v1:0"), 35000000);
    /* Nova lists no cache prices: reads cost the input price. */
    CHECK_INT(cost(p, "amazon.nova-pro-v1:0", usage(1000, 0, 1000, 0, 0, -1)), 800000);
    CHECK_INT(cost(p, "amazon.nova-2-lite-v1:0", usage(1000, 0, 1000, 0, 0, -1)), 75000);
    llm__prices_free(p);
}

TEST(unknown_is_not_available)
{
    struct llm__prices *p = prices();
    struct llm__usage u = usage(10, 10, 0, 0, 0, -1);
    int64_t n = 0;
    static const char *const unknown[] = {
        "totally-unknown", "gpt-4-0613", "claude-3-5-sonnet-20240620",
        "anthropic.claude-3-5-sonnet-20240620-v1:0", "us.something", "models/", "",
        "gpt-4o-extra", "-2024-08-06", "-v1:0",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(unknown); i++) {
        CHECK_INT(llm__prices_cost(p, unknown[i], &u, &n), LLM_ERR_NOT_AVAILABLE);
        CHECK_INT(n, -1);
    }
    CHECK_INT(llm__prices_cost(p, NULL, &u, &n), LLM_ERR_NOT_AVAILABLE);
    /* Usage without input or output has no cost, even for a known model. */
    CHECK_INT(cost(p, "gpt-4o", usage(-1, 10, 0, 0, 0, -1)), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(cost(p, "gpt-4o", usage(10, -1, 0, 0, 0, -1)), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__prices_cost(NULL, "gpt-4o", &u, &n), LLM_ERR_MISUSE);
    CHECK_INT(llm__prices_cost(p, "gpt-4o", NULL, &n), LLM_ERR_MISUSE);
    CHECK_INT(llm__prices_cost(p, "gpt-4o", &u, NULL), LLM_ERR_MISUSE);
    llm__prices_free(p);
}

TEST(inconsistent_usage_never_bills_twice)
{
    struct llm__prices *p = prices();
    /* More cached than input: everything is cached input. */
    CHECK_INT(cost(p, "gpt-4o", usage(100, 0, 500, 0, 0, -1)), 100LL * 1250);
    /* A 1-hour count without the total: the total is at least that. */
    CHECK_INT(cost(p, "claude-haiku-4-5", usage(100, 0, 0, -1, 100, -1)), 100LL * 2000);
    /* Absurd counts saturate instead of wrapping. */
    int64_t big = cost(p, "gpt-5.5-pro", usage(INT64_MAX, INT64_MAX, 0, 0, 0, -1));
    CHECK_INT(big, INT64_MAX);
    llm__prices_free(p);
}

TEST(azure_prices)
{
    struct llm__prices *p = prices();
    CHECK_INT(input_price(p, "gpt-4o-mini"), 150000000);
    CHECK_INT(llm__prices_set_provider(p, "azure"), LLM_OK);
    CHECK_INT(input_price(p, "gpt-4o-mini"), 165000000);
    CHECK_INT(input_price(p, "gpt-4o-mini-2024-07-18"), 165000000);
    CHECK_INT(cost(p, "gpt-4o-mini", usage(0, 1000000, 0, 0, 0, -1)), 660000000);
    /* Models where Azure lists OpenAI's price fall through to it. */
    CHECK_INT(input_price(p, "gpt-4o"), 2500000000);
    CHECK_INT(llm__prices_set_provider(p, NULL), LLM_OK);
    CHECK_INT(input_price(p, "gpt-4o-mini"), 150000000);
    CHECK_INT(llm__prices_set_provider(NULL, "azure"), LLM_ERR_MISUSE);
    llm__prices_free(p);
}

TEST(host_prices_win)
{
    struct llm__prices *p = prices();
    CHECK_INT(llm__prices_set(p, "gpt-4o", LLM_PRICE_INPUT, 3.0), LLM_OK);
    CHECK_INT(input_price(p, "gpt-4o"), 3000000000);
    /* The other figures are the built-in ones. */
    CHECK_INT(cost(p, "gpt-4o", usage(0, 1000000, 0, 0, 0, -1)), 10000000000);
    CHECK_INT(cost(p, "gpt-4o", usage(1000000, 0, 1000000, 0, 0, -1)), 1250000000);
    /* Aliases reach the host's entry as well. */
    CHECK_INT(input_price(p, "gpt-4o-2024-08-06"), 3000000000);
    /* A dated name of its own leaves the base name alone. */
    CHECK_INT(llm__prices_set(p, "gpt-4o-2024-05-13", LLM_PRICE_OUTPUT, 15), LLM_OK);
    CHECK_INT(cost(p, "gpt-4o-2024-05-13", usage(0, 1000000, 0, 0, 0, -1)), 15000000000);
    CHECK_INT(cost(p, "gpt-4o", usage(0, 1000000, 0, 0, 0, -1)), 10000000000);
    /* The host's entry wins over a provider's built-in one. */
    CHECK_INT(llm__prices_set_provider(p, "azure"), LLM_OK);
    CHECK_INT(llm__prices_set(p, "gpt-4o-mini", LLM_PRICE_INPUT, 0.2), LLM_OK);
    CHECK_INT(input_price(p, "gpt-4o-mini"), 200000000);
    /* A new model needs both input and output before it has a cost. */
    CHECK_INT(llm__prices_set(p, "my-model", LLM_PRICE_INPUT, 1), LLM_OK);
    CHECK_INT(input_price(p, "my-model"), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__prices_set(p, "my-model", LLM_PRICE_OUTPUT, 2), LLM_OK);
    CHECK_INT(input_price(p, "my-model"), 1000000000);
    /* Long tier set by the host: threshold in tokens. */
    CHECK_INT(llm__prices_set(p, "my-model", LLM_PRICE_LONG_THRESHOLD, 1000), LLM_OK);
    CHECK_INT(llm__prices_set(p, "my-model", LLM_PRICE_LONG_INPUT, 4), LLM_OK);
    CHECK_INT(cost(p, "my-model", usage(1000, 0, 0, 0, 0, -1)), 1000000);
    CHECK_INT(cost(p, "my-model", usage(1001, 1000, 1, 0, 0, -1)),
              1000LL * 4000 + 1LL * 4000 + 1000LL * 2000);
    llm__prices_free(p);
}

TEST(set_rejects_nonsense)
{
    struct llm__prices *p = prices();
    CHECK_INT(llm__prices_set(p, "m", 0, 1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__prices_set(p, "m", 11, 1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__prices_set(p, "m", LLM_PRICE_INPUT, -1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__prices_set(p, "m", LLM_PRICE_INPUT, 0.0 / 0.0), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__prices_set(p, "m", LLM_PRICE_INPUT, 1e300), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__prices_set(p, "", LLM_PRICE_INPUT, 1), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__prices_set(p, NULL, LLM_PRICE_INPUT, 1), LLM_ERR_MISUSE);
    CHECK_INT(llm__prices_set(NULL, "m", LLM_PRICE_INPUT, 1), LLM_ERR_MISUSE);
    CHECK_INT(llm__prices_set(p, "m", LLM_PRICE_INPUT, 0), LLM_OK);   /* free is a price */
    CHECK_INT(llm__prices_set(p, "m", LLM_PRICE_OUTPUT, 0), LLM_OK);
    CHECK_INT(cost(p, "m", usage(100, 100, 0, 0, 0, -1)), 0);
    llm__prices_free(p);
}

TEST(load_json)
{
    struct llm__prices *p = prices();
    llm__buf err = {0};
    static const char doc[] =
        "{\"acme-1\": {\"input\": 2, \"output\": 8, \"cache_read\": 0.5},"
        " \"gpt-4o\": {\"output\": 12.5},"
        " \"acme-long\": {\"input\": 1, \"output\": 2, \"long_threshold\": 100,"
        "                 \"long_input\": 3, \"long_output\": 5, \"long_cache_read\": 0.3,"
        "                 \"long_cache_write\": 4, \"cache_write\": 1.5, \"cache_write_1h\": 2.5}}";
    CHECK_INT(llm__prices_load_json(p, doc, strlen(doc), &err), LLM_OK);
    CHECK_INT(cost(p, "acme-1", usage(1000, 1000, 500, 0, 0, -1)), 500LL * 2000 + 500LL * 500 +
                                                                     1000LL * 8000);
    CHECK_INT(cost(p, "gpt-4o", usage(0, 1000, 0, 0, 0, -1)), 12500000);
    CHECK_INT(input_price(p, "gpt-4o"), 2500000000);
    /* Long tier: 101 input = 50 uncached, 1 read, 50 written (20 for 1 h);
     * the 1-hour price scales with long/normal input: 2.5 x 3 = 7.5. */
    /* 50 x 3 + 1 x 0.3 + 30 x 4 + 20 x 7.5 + 10 x 5 = 470.3 micro-USD. */
    CHECK_INT(cost(p, "acme-long", usage(101, 10, 1, 50, 20, -1)), 470300);

    /* Bad documents change nothing and say why. */
    static const char *const bad[] = {
        "{\"acme-1\": {\"input\": 99, \"outptu\": 1}}",
        "{\"acme-1\": {\"input\": 99, \"output\": \"1\"}}",
        "{\"acme-1\": {\"input\": 99, \"output\": -1}}",
        "{\"acme-1\": 5}",
        "[1, 2]",
        "{\"acme-1\": {\"input\": 99}",
        "",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(bad); i++) {
        llm__buf_reset(&err);
        CHECK_INT(llm__prices_load_json(p, bad[i], strlen(bad[i]), &err), LLM_ERR_INVALID_ARG);
        CHECK(err.len > 0);
        CHECK_INT(input_price(p, "acme-1"), 2000000000);
    }
    llm__buf_reset(&err);
    CHECK_INT(llm__prices_load_json(p, "{\"a\":", 5, &err), LLM_ERR_INVALID_ARG);
    CHECK(strstr(err.data, "invalid JSON") != NULL);
    /* null removes one figure. */
    static const char unset[] = "{\"acme-1\": {\"output\": null}}";
    CHECK_INT(llm__prices_load_json(p, unset, strlen(unset), NULL), LLM_OK);
    CHECK_INT(input_price(p, "acme-1"), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__prices_load_json(p, NULL, 0, NULL), LLM_ERR_MISUSE);
    llm__buf_free(&err);
    llm__prices_free(p);
}

TEST(max_cost_for_admission)
{
    struct llm__prices *p = prices();
    int64_t n = 0;
    CHECK_INT(llm__prices_max_cost(p, "gpt-4o", 1000, 500, &n), LLM_OK);
    CHECK_INT(n, 7500000);
    CHECK_INT(llm__prices_max_cost(p, "gemini-2.5-pro", 300000, 1000, &n), LLM_OK);
    CHECK_INT(n, 300000LL * 2500 + 1000LL * 15000);
    CHECK_INT(llm__prices_max_cost(p, "nope", 1000, 500, &n), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(n, -1);
    CHECK_INT(llm__prices_max_cost(p, NULL, 1000, 500, &n), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__prices_max_cost(p, "gpt-4o", -5, -5, &n), LLM_OK);
    CHECK_INT(n, 0);
    llm__prices_free(p);
}

static struct llm__prices *shared;
static int thread_bad;

static void *reader(void *arg)
{
    (void)arg;
    struct llm__usage u = usage(1000, 1000, 0, 0, 0, -1);
    for (int i = 0; i < 2000; i++) {
        int64_t n;
        if (llm__prices_cost(shared, "claude-haiku-4-5", &u, &n) != LLM_OK || n != 6000000)
            __atomic_add_fetch(&thread_bad, 1, __ATOMIC_RELAXED);
        llm__prices_cost(shared, "acme-x", &u, &n);
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "acme-%d", i);
        llm__prices_set(shared, name, LLM_PRICE_INPUT, i);
        llm__prices_set(shared, "acme-x", LLM_PRICE_OUTPUT, i);
    }
    return NULL;
}

TEST(threads)
{
    shared = prices();
    pthread_t t[5];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    pthread_create(&t[4], NULL, writer, NULL);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(thread_bad, 0);
    llm__prices_free(shared);
}

int main(void)
{
    RUN(table_date);
    RUN(every_row_is_reachable_by_its_name);
    RUN(openai_cached_and_reasoning);
    RUN(openai_long_context);
    RUN(anthropic_cache_tiers);
    RUN(anthropic_long_context);
    RUN(gemini_thinking_and_cache);
    RUN(rounding_to_the_nearest_nano);
    RUN(dated_and_aliased_names);
    RUN(bedrock_ids);
    RUN(unknown_is_not_available);
    RUN(inconsistent_usage_never_bills_twice);
    RUN(azure_prices);
    RUN(host_prices_win);
    RUN(set_rejects_nonsense);
    RUN(load_json);
    RUN(max_cost_for_admission);
    RUN(threads);
    return test_summary();
}
