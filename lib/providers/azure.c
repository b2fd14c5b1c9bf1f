/*
 * azure.c - Azure OpenAI (providers.md 2): the Chat Completions body of
 * openai_common.c behind Azure's URLs and credential headers.
 *
 * base_url is the resource endpoint (AZURE_OPENAI_ENDPOINT,
 * https://<resource>.openai.azure.com).  Two URL forms:
 *   deployments  {endpoint}/openai/deployments/{model}/chat/completions
 *                ?api-version={api_version or 2024-10-21}
 *   v1           {endpoint}/openai/v1/chat/completions, chosen by
 *                api_version "v1" or a base URL ending in /openai/v1;
 *                no api-version is sent.
 * The model is the deployment name; it also goes in the body, which the
 * deployments form ignores and the v1 form routes by.
 */
#include "internal.h"
#include "providers/provider.h"
#include "providers/openai_common.h"

/* The newest GA data-plane version of the REST specs (providers.md 2.1). */
#define AZURE_DEFAULT_API_VERSION "2024-10-21"

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && llm__strncasecmp(s + n - k, suffix, k) == 0;
}

static int azure_url(struct llm__call *call, llm__buf *url)
{
    llm_response *r = call->resp;
    const char *base = call->base_url;
    if (!base || !*base)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                              "no Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT or "
                              "llm_client_set_base_url (https://<resource>.openai.azure.com)");
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    char *b = llm__strndup(base, n);
    if (!b)
        return llm__resp_fail(r, LLM_ERR_NOMEM, "out of memory");
    const char *ver = call->api_version && *call->api_version ? call->api_version
                                                              : AZURE_DEFAULT_API_VERSION;
    int v1 = llm__strcasecmp(ver, "v1") == 0 || ends_with(b, n, "/openai/v1");
    llm__buf path = {0};
    int rc = LLM_OK;
    if (v1) {
        rc = llm__buf_puts(&path, ends_with(b, n, "/openai/v1") ? "chat/completions"
                                  : ends_with(b, n, "/openai") ? "v1/chat/completions"
                                                               : "openai/v1/chat/completions");
    } else {
        /* An endpoint given with /openai, or a whole deployment URL as the
         * SDK accepts it, is not extended twice. */
        if (strstr(b, "/openai/deployments/")) {
            rc = llm__buf_puts(&path, "chat/completions");
        } else {
            rc = llm__buf_puts(&path, ends_with(b, n, "/openai") ? "deployments/"
                                                                  : "openai/deployments/");
            if (!rc)
                rc = llm__url_escape(&path, call->model, strlen(call->model));
            if (!rc)
                rc = llm__buf_puts(&path, "/chat/completions");
        }
        if (!rc)
            rc = llm__buf_puts(&path, "?api-version=");
        if (!rc)
            rc = llm__url_escape(&path, ver, strlen(ver));
    }
    if (!rc)
        rc = llm__url_join(url, b, path.data);
    llm__buf_free(&path);
    llm__free(b);
    return rc ? llm__resp_fail(r, LLM_ERR_NOMEM, "out of memory") : LLM_OK;
}

static int azure_build(struct llm__call *call, struct llm__http_req *out)
{
    if (!call || !call->resp)
        return LLM_ERR_MISUSE;
    if (!out)
        return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG, "no request to fill");
    /* Every Azure api-version since 2024-09-01 takes max_completion_tokens,
     * and reasoning deployments take nothing else; an explicit LEGACY
     * setting is still honoured for older versions. */
    const char *field = call->max_tokens_field == LLM_MAX_TOKENS_FIELD_LEGACY
                            ? LLM__OPENAI_FIELD_LEGACY
                            : LLM__OPENAI_FIELD_COMPLETION;
    int rc = llm__openai_build_body(call, field, out);
    if (rc)
        return rc;
    out->method = "POST";
    if ((rc = azure_url(call, &out->url)))
        return rc;
    /* Entra ID token or key, never both (providers.md 2.2). */
    if (call->bearer_token && *call->bearer_token)
        return llm__openai_bearer(call, out, call->bearer_token);
    if (call->api_key && *call->api_key) {
        rc = llm__http_req_header(out, "api-key", call->api_key);
        if (rc == LLM_ERR_INVALID_ARG)
            return llm__resp_fail(call->resp, rc, "the credential holds CR, LF or NUL");
        if (rc)
            return llm__resp_fail(call->resp, LLM_ERR_NOMEM, "out of memory");
    }
    return LLM_OK;
}

const struct llm__provider_ops llm__azure_ops = {
    .name = "azure",
    .framing = LLM__FRAMING_SSE,
    .build = azure_build,
    .parse = llm__openai_parse,
    .stream_begin = llm__openai_stream_begin,
    .stream_event = llm__openai_stream_event,
    .stream_end = llm__openai_stream_end,
    .stream_free = llm__openai_stream_free,
    .map_error = llm__openai_map_error,
};
