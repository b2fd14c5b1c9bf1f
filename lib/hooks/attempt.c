/*
 * attempt.c - the attempt record every hook reads: getters, usage and
 * cost, and its OpenTelemetry GenAI attributes.
 *
 * Attribute names follow the OpenTelemetry semantic conventions for
 * generative-AI client spans (opentelemetry.io/docs/specs/semconv/gen-ai/,
 * status "Development", checked 2026): gen_ai.provider.name is the current
 * name and gen_ai.system its deprecated predecessor, which older backends
 * still index, so both are given.  What the conventions do not cover is
 * under libllm.*.
 */
#include "hooks/hooks.h"

#include <inttypes.h>
#include <stdio.h>

const char *llm_attempt_provider(const llm_attempt *a) { return a ? a->provider : NULL; }
const char *llm_attempt_model(const llm_attempt *a) { return a ? a->model : NULL; }
const char *llm_attempt_user(const llm_attempt *a) { return a ? a->user : NULL; }
int32_t llm_attempt_number(const llm_attempt *a) { return a ? a->number : 0; }
int llm_attempt_status(const llm_attempt *a) { return a ? a->status : LLM_ERR_MISUSE; }
int llm_attempt_http_status(const llm_attempt *a) { return a ? a->http_status : 0; }
const char *llm_attempt_error_type(const llm_attempt *a) { return a ? a->error_type : NULL; }
const char *llm_attempt_request_id(const llm_attempt *a) { return a ? a->request_id : NULL; }
int llm_attempt_retryable(const llm_attempt *a) { return a ? a->retryable != 0 : 0; }
int64_t llm_attempt_retry_after_ms(const llm_attempt *a) { return a ? a->retry_after_ms : -1; }
int64_t llm_attempt_latency_ms(const llm_attempt *a) { return a ? a->latency_ms : 0; }
int64_t llm_attempt_ttft_ms(const llm_attempt *a) { return a ? a->ttft_ms : -1; }
int llm_attempt_cache_hit(const llm_attempt *a) { return a ? a->cache_hit != 0 : 0; }
int llm_attempt_streaming(const llm_attempt *a) { return a ? a->streaming != 0 : 0; }
int64_t llm_attempt_input_estimate(const llm_attempt *a) { return a ? a->input_estimate : -1; }
int64_t llm_attempt_max_cost_nanos(const llm_attempt *a) { return a ? a->max_cost_nanos : -1; }

int llm_attempt_usage(const llm_attempt *a, int kind, int64_t *value_out)
{
    if (value_out)
        *value_out = -1;
    if (!a || !value_out)
        return LLM_ERR_MISUSE;
    if (kind < LLM_USAGE_INPUT || kind > LLM_USAGE_TOTAL)
        return LLM_ERR_INVALID_ARG;
    const struct llm__usage *u = a->usage;
    if (!u)
        return LLM_ERR_NOT_AVAILABLE;
    int64_t v;
    if (kind == LLM_USAGE_TOTAL) {
        int64_t in = u->v[LLM_USAGE_INPUT], out = u->v[LLM_USAGE_OUTPUT];
        if (in < 0 || out < 0)
            return LLM_ERR_NOT_AVAILABLE;
        v = in > INT64_MAX - out ? INT64_MAX : in + out;
    } else {
        v = u->v[kind];
    }
    if (v < 0)
        return LLM_ERR_NOT_AVAILABLE;
    *value_out = v;
    return LLM_OK;
}

int llm_attempt_cost_nanos(const llm_attempt *a, int64_t *value_out)
{
    if (value_out)
        *value_out = -1;
    if (!a || !value_out)
        return LLM_ERR_MISUSE;
    if (!a->cost_known)
        return LLM_ERR_NOT_AVAILABLE;
    *value_out = a->cost_nanos;
    return LLM_OK;
}

/* ---- OpenTelemetry attributes ------------------------------------------ */

/* provider -> gen_ai.provider.name and the older gen_ai.system value. */
static const struct {
    const char *provider, *name, *system;
} otel_names[] = {
    {"openai", "openai", "openai"},
    {"azure", "azure.ai.openai", "az.ai.openai"},
    {"anthropic", "anthropic", "anthropic"},
    {"gemini", "gcp.gemini", "gcp.gemini"},
    {"bedrock", "aws.bedrock", "aws.bedrock"},
};

#define MAX_ATTRS 24

struct attr_builder {
    const char *names[MAX_ATTRS];
    char *values[MAX_ATTRS];
    size_t n;
    int failed;
};

static void add_str(struct attr_builder *b, const char *name, const char *value)
{
    if (!value || b->failed || b->n == MAX_ATTRS)
        return;
    char *v = llm__strdup(value);
    if (!v) {
        b->failed = 1;
        return;
    }
    b->names[b->n] = name;
    b->values[b->n++] = v;
}

static void add_int(struct attr_builder *b, const char *name, int64_t value)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, value);
    add_str(b, name, num);
}

static void add_usage(struct attr_builder *b, const llm_attempt *a, const char *name, int kind)
{
    int64_t v;
    if (llm_attempt_usage(a, kind, &v) == LLM_OK)
        add_int(b, name, v);
}

static void build_attrs(struct llm_attempt *a)
{
    struct attr_builder b;
    memset(&b, 0, sizeof b);
    const char *pname = a->provider, *system = a->provider;
    for (size_t i = 0; a->provider && i < LLM__ARRAY_LEN(otel_names); i++) {
        if (strcmp(a->provider, otel_names[i].provider) == 0) {
            pname = otel_names[i].name;
            system = otel_names[i].system;
        }
    }
    add_str(&b, "gen_ai.operation.name", "chat");
    add_str(&b, "gen_ai.provider.name", pname);
    add_str(&b, "gen_ai.system", system);
    add_str(&b, "gen_ai.request.model", a->model);
    add_usage(&b, a, "gen_ai.usage.input_tokens", LLM_USAGE_INPUT);
    add_usage(&b, a, "gen_ai.usage.output_tokens", LLM_USAGE_OUTPUT);
    if (a->status != LLM_OK)
        add_str(&b, "error.type", a->error_type ? a->error_type : llm_status_name(a->status));
    if (a->http_status > 0)
        add_int(&b, "http.response.status_code", a->http_status);
    add_int(&b, "libllm.attempt", a->number);
    add_str(&b, "libllm.status", llm_status_name(a->status));
    add_int(&b, "libllm.streaming", a->streaming != 0);
    add_int(&b, "libllm.cache_hit", a->cache_hit != 0);
    if (a->cost_known)
        add_int(&b, "libllm.cost_nanos", a->cost_nanos);
    add_int(&b, "libllm.latency_ms", a->latency_ms);
    if (a->ttft_ms >= 0)
        add_int(&b, "libllm.ttft_ms", a->ttft_ms);
    add_str(&b, "libllm.request_id", a->request_id);
    if (a->status != LLM_OK)
        add_int(&b, "libllm.retryable", a->retryable != 0);
    if (a->retry_after_ms >= 0)
        add_int(&b, "libllm.retry_after_ms", a->retry_after_ms);
    add_usage(&b, a, "libllm.usage.cache_read_tokens", LLM_USAGE_CACHE_READ);
    add_usage(&b, a, "libllm.usage.cache_write_tokens", LLM_USAGE_CACHE_WRITE);
    add_usage(&b, a, "libllm.usage.cache_write_1h_tokens", LLM_USAGE_CACHE_WRITE_1H);
    add_usage(&b, a, "libllm.usage.reasoning_tokens", LLM_USAGE_REASONING);

    char **names = b.failed ? NULL : llm__calloc(b.n ? b.n : 1, sizeof *names);
    char **values = b.failed ? NULL : llm__calloc(b.n ? b.n : 1, sizeof *values);
    if (!names || !values) {
        /* Out of memory: no attributes this time; the next getter retries. */
        llm__free(names);
        llm__free(values);
        for (size_t i = 0; i < b.n; i++)
            llm__free(b.values[i]);
        return;
    }
    for (size_t i = 0; i < b.n; i++) {
        /* Names are static strings; only values are owned. */
        names[i] = (char *)(uintptr_t)b.names[i];
        values[i] = b.values[i];
    }
    a->attr_names = names;
    a->attr_values = values;
    a->nattrs = b.n;
    a->attrs_built = 1;
}

static struct llm_attempt *with_attrs(const llm_attempt *ca)
{
    /* The record is core's, filled per hook invocation and read on one
     * thread; building on first use keeps hooks that never ask free. */
    struct llm_attempt *a = (struct llm_attempt *)(uintptr_t)ca;
    if (a && !a->attrs_built)
        build_attrs(a);
    return a;
}

size_t llm_attempt_attr_count(const llm_attempt *ca)
{
    struct llm_attempt *a = with_attrs(ca);
    return a && a->attrs_built ? a->nattrs : 0;
}

const char *llm_attempt_attr_name(const llm_attempt *ca, size_t i)
{
    struct llm_attempt *a = with_attrs(ca);
    return a && a->attrs_built && i < a->nattrs ? a->attr_names[i] : NULL;
}

const char *llm_attempt_attr_value(const llm_attempt *ca, size_t i)
{
    struct llm_attempt *a = with_attrs(ca);
    return a && a->attrs_built && i < a->nattrs ? a->attr_values[i] : NULL;
}

void llm__attempt_clear(struct llm_attempt *a)
{
    if (!a)
        return;
    if (a->attrs_built) {
        for (size_t i = 0; i < a->nattrs; i++)
            llm__free(a->attr_values[i]);
        llm__free(a->attr_values);
        llm__free(a->attr_names);
    }
    a->attr_names = NULL;
    a->attr_values = NULL;
    a->nattrs = 0;
    a->attrs_built = 0;
}
