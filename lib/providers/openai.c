/*
 * openai.c - OpenAI Chat Completions and every OpenAI-compatible server
 * (providers.md 1): POST {base}/chat/completions with a Bearer key.  The
 * wire format itself is in openai_common.c, shared with Azure.
 */
#include "internal.h"
#include "providers/provider.h"
#include "providers/openai_common.h"

/* Whether the base URL is OpenAI's own API (no base, or the default one
 * with or without a trailing slash). */
static int default_base(const char *base)
{
    if (!base || !*base)
        return 1;
    size_t n = strlen(base), d = strlen(LLM__OPENAI_DEFAULT_BASE);
    while (n > d && base[n - 1] == '/')
        n--;
    return n == d && llm__strncasecmp(base, LLM__OPENAI_DEFAULT_BASE, d) == 0;
}

/* max_completion_tokens is the only name OpenAI's reasoning models take;
 * most compatible servers know only max_tokens (providers.md 1.2, 1.6). */
static const char *max_field(const struct llm__call *call)
{
    switch (call->max_tokens_field) {
    case LLM_MAX_TOKENS_FIELD_COMPLETION:
        return LLM__OPENAI_FIELD_COMPLETION;
    case LLM_MAX_TOKENS_FIELD_LEGACY:
        return LLM__OPENAI_FIELD_LEGACY;
    default:
        return default_base(call->base_url) ? LLM__OPENAI_FIELD_COMPLETION
                                            : LLM__OPENAI_FIELD_LEGACY;
    }
}

/* Billing context headers, sent only when configured (providers.md 1.1). */
static int context_header(struct llm__call *call, struct llm__http_req *out, const char *name,
                          const char *value)
{
    if (!value || !*value)
        return LLM_OK;
    int rc = llm__http_req_header(out, name, value);
    if (rc == LLM_ERR_INVALID_ARG)
        return llm__resp_fail(call->resp, rc, "%s holds CR, LF or NUL", name);
    return rc ? llm__resp_fail(call->resp, LLM_ERR_NOMEM, "out of memory") : LLM_OK;
}

static int openai_build(struct llm__call *call, struct llm__http_req *out)
{
    if (!call || !call->resp)
        return LLM_ERR_MISUSE;
    if (!out)
        return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG, "no request to fill");
    int rc = llm__openai_build_body(call, max_field(call), out);
    if (rc)
        return rc;
    out->method = "POST";
    const char *base = call->base_url && *call->base_url ? call->base_url : LLM__OPENAI_DEFAULT_BASE;
    if (llm__url_join(&out->url, base, "chat/completions"))
        return llm__resp_fail(call->resp, LLM_ERR_NOMEM, "out of memory");
    /* Local servers (Ollama, llama.cpp) need no key: none is sent then. */
    const char *secret = call->api_key && *call->api_key ? call->api_key
                       : call->bearer_token && *call->bearer_token ? call->bearer_token
                       : NULL;
    if (secret && (rc = llm__openai_bearer(call, out, secret)))
        return rc;
    if ((rc = context_header(call, out, "OpenAI-Organization", call->organization)) ||
        (rc = context_header(call, out, "OpenAI-Project", call->project)))
        return rc;
    return LLM_OK;
}

const struct llm__provider_ops llm__openai_ops = {
    .name = "openai",
    .framing = LLM__FRAMING_SSE,
    .build = openai_build,
    .parse = llm__openai_parse,
    .stream_begin = llm__openai_stream_begin,
    .stream_event = llm__openai_stream_event,
    .stream_end = llm__openai_stream_end,
    .stream_free = llm__openai_stream_free,
    .map_error = llm__openai_map_error,
};
