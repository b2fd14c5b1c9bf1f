/*
 * price_table.h - the built-in prices, included by prices.c only.
 *
 * Prices as of 2026-07-24: USD per million tokens, standard on-demand tier
 * (no batch, flex or priority), transcribed by hand from libllm's
 * providers.md section 11, which took them from LiteLLM's
 * model_prices_and_context_window.json synced that day and checked the
 * Anthropic rows against Anthropic's pricing page.  Facts only; no file
 * of LiteLLM's is copied.  Prices change: hosts override them with
 * llm_client_set_price or llm_client_load_prices (libllm-prices(7)).
 *
 * Stored as integer nano-USD per million tokens; USD() converts the
 * decimal figures of the source at compile time.  NA marks a price the
 * source does not give (see prices.c for what stands in for it).
 */
#ifndef LLM_PRICE_TABLE_H
#define LLM_PRICE_TABLE_H

#define LLM__PRICES_DATE "2026-07-24"

#define USD(x) ((int64_t)((x) * 1e9 + 0.5))
#define NA     (-1)

/* A Bedrock regional (geographic) inference profile of this model costs
 * 10 % more than the global one: "us.anthropic.claude-sonnet-4-6" 3.30
 * against 3.00 (providers.md 11.5, "for newer Claude models"). */
#define PRICE_GEO_PREMIUM 0x1u

struct llm__price_row {
    const char *name;
    int64_t input, output, cache_read, cache_write, cache_write_1h;
    int64_t long_threshold;    /* input tokens; 0: no long-context tier */
    int64_t long_input, long_output, long_cache_read, long_cache_write;
    unsigned flags;
};

/* input, cached input (cache read), output */
#define ROW3(n, i, cr, o) {n, USD(i), USD(o), USD(cr), NA, NA, 0, NA, NA, NA, NA, 0}
/* input and output only */
#define ROW2(n, i, o) {n, USD(i), USD(o), NA, NA, NA, 0, NA, NA, NA, NA, 0}
/* ... with a long-context tier: above thr input tokens, input / cached / output */
#define ROW3L(n, i, cr, o, thr, li, lcr, lo) \
    {n, USD(i), USD(o), USD(cr), NA, NA, thr, USD(li), USD(lo), USD(lcr), NA, 0}
/* Anthropic's columns: input, cache write 5 min, cache write 1 h, cache read, output */
#define ANTH(n, i, cw, cw1h, cr, o, f) {n, USD(i), USD(o), USD(cr), USD(cw), USD(cw1h), 0, NA, NA, NA, NA, f}

static const struct llm__price_row llm__price_table[] = {
    /* ---- OpenAI (api.openai.com), providers.md 11.1 ---- */
    {"gpt-5.6", USD(5.00), USD(30.00), USD(0.50), USD(6.25), NA,
     272000, USD(10.00), USD(45.00), USD(1.00), NA, 0},
    ROW3L("gpt-5.5", 5.00, 0.50, 30.00, 272000, 10.00, 1.00, 45.00),
    ROW3("gpt-5.5-pro", 30.00, 3.00, 180.00),
    ROW3L("gpt-5.4", 2.50, 0.25, 15.00, 272000, 5.00, 0.50, 22.50),
    ROW3("gpt-5.4-mini", 0.75, 0.075, 4.50),
    ROW3("gpt-5.4-nano", 0.20, 0.02, 1.25),
    ROW3("gpt-5.2", 1.75, 0.175, 14.00),
    ROW3("gpt-5.1", 1.25, 0.125, 10.00),
    ROW3("gpt-5", 1.25, 0.125, 10.00),
    ROW3("gpt-5-mini", 0.25, 0.025, 2.00),
    ROW3("gpt-5-nano", 0.05, 0.005, 0.40),
    ROW3("gpt-4.1", 2.00, 0.50, 8.00),
    ROW3("gpt-4.1-mini", 0.40, 0.10, 1.60),
    ROW3("gpt-4.1-nano", 0.10, 0.025, 0.40),
    ROW3("gpt-4o", 2.50, 1.25, 10.00),
    ROW3("gpt-4o-mini", 0.15, 0.075, 0.60),
    ROW3("o3", 2.00, 0.50, 8.00),
    ROW3("o4-mini", 1.10, 0.275, 4.40),

    /* ---- Azure OpenAI, global standard (11.4): only where it differs
     * from OpenAI's; every other Azure model is priced as OpenAI's. ---- */
    ROW3("azure/gpt-4o-mini", 0.165, 0.075, 0.66),

    /* ---- Anthropic (api.anthropic.com), 11.2; Bedrock's global
     * profiles and "anthropic." ids cost the same (11.5) ---- */
    ANTH("claude-opus-5", 5.00, 6.25, 10.00, 0.50, 25.00, PRICE_GEO_PREMIUM),
    ANTH("claude-opus-4-8", 5.00, 6.25, 10.00, 0.50, 25.00, PRICE_GEO_PREMIUM),
    ANTH("claude-opus-4-7", 5.00, 6.25, 10.00, 0.50, 25.00, PRICE_GEO_PREMIUM),
    ANTH("claude-opus-4-6", 5.00, 6.25, 10.00, 0.50, 25.00, PRICE_GEO_PREMIUM),
    ANTH("claude-opus-4-5", 5.00, 6.25, 10.00, 0.50, 25.00, PRICE_GEO_PREMIUM),
    ANTH("claude-sonnet-5", 2.00, 2.50, 4.00, 0.20, 10.00, PRICE_GEO_PREMIUM),
    ANTH("claude-sonnet-4-6", 3.00, 3.75, 6.00, 0.30, 15.00, PRICE_GEO_PREMIUM),
    /* Sonnet 4 and 4.5 above 200k input tokens: 6.00 / 22.50, cache
     * write 7.50, cache read 0.60. */
    {"claude-sonnet-4-5", USD(3.00), USD(15.00), USD(0.30), USD(3.75), USD(6.00),
     200000, USD(6.00), USD(22.50), USD(0.60), USD(7.50), PRICE_GEO_PREMIUM},
    {"claude-sonnet-4", USD(3.00), USD(15.00), USD(0.30), USD(3.75), USD(6.00),
     200000, USD(6.00), USD(22.50), USD(0.60), USD(7.50), 0},
    ANTH("claude-haiku-4-5", 1.00, 1.25, 2.00, 0.10, 5.00, PRICE_GEO_PREMIUM),
    ANTH("claude-opus-4-1", 15.00, 18.75, 30.00, 1.50, 75.00, 0),
    ANTH("claude-opus-4", 15.00, 18.75, 30.00, 1.50, 75.00, 0),
    ANTH("claude-3-7-sonnet", 3.00, 3.75, 6.00, 0.30, 15.00, 0),
    ANTH("claude-3-5-haiku", 0.80, 1.00, 1.60, 0.08, 4.00, 0),
    ANTH("claude-fable-5", 10.00, 12.50, 20.00, 1.00, 50.00, PRICE_GEO_PREMIUM),

    /* ---- Google Gemini API, paid tier (11.3); output includes
     * thinking; audio input prices are not modelled ---- */
    ROW3("gemini-3.6-flash", 1.50, 0.15, 7.50),
    ROW3("gemini-3.5-flash", 1.50, 0.15, 9.00),
    ROW3("gemini-3.5-flash-lite", 0.30, 0.03, 2.50),
    ROW3L("gemini-3.1-pro-preview", 2.00, 0.20, 12.00, 200000, 4.00, 0.40, 18.00),
    ROW3L("gemini-3-pro-preview", 2.00, 0.20, 12.00, 200000, 4.00, 0.40, 18.00),
    ROW3("gemini-3-flash-preview", 0.50, 0.05, 3.00),
    ROW3("gemini-3.1-flash-lite", 0.25, 0.025, 1.50),
    ROW3L("gemini-2.5-pro", 1.25, 0.125, 10.00, 200000, 2.50, 0.25, 15.00),
    ROW3("gemini-2.5-flash", 0.30, 0.03, 2.50),
    ROW3("gemini-2.5-flash-lite", 0.10, 0.01, 0.40),
    ROW3("gemini-2.0-flash", 0.10, 0.025, 0.40),

    /* ---- AWS Bedrock, on-demand (11.5): Amazon's own models, by the id
     * without "amazon." and "-v1:0" ---- */
    ROW2("nova-pro", 0.80, 3.20),
    ROW2("nova-lite", 0.06, 0.24),
    ROW2("nova-micro", 0.035, 0.14),
    ROW2("nova-premier", 2.50, 12.50),      /* listed as us.amazon.nova-premier-v1:0 */
    ROW3("nova-2-lite", 0.30, 0.075, 2.50),

    /* ---- OpenAI-compatible providers (11.6), by their model names ---- */
    ROW3("deepseek-chat", 0.28, 0.028, 0.42),
    ROW3("deepseek-reasoner", 0.28, 0.028, 0.42),
    ROW3("deepseek-v4-flash", 0.14, 0.0028, 0.28),
    ROW3("deepseek-v4-pro", 0.435, 0.0036, 0.87),
    ROW2("mistral-large-latest", 0.50, 1.50),
    ROW2("mistral-medium-latest", 1.50, 7.50),
    ROW2("mistral-small-latest", 0.06, 0.18),
    ROW2("llama-3.3-70b-versatile", 0.59, 0.79),
    ROW3("openai/gpt-oss-120b", 0.15, 0.075, 0.60),
};

#undef ROW3
#undef ROW2
#undef ROW3L
#undef ANTH
#undef USD
#undef NA

#endif /* LLM_PRICE_TABLE_H */
