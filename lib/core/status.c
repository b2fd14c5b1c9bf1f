/*
 * status.c - status names and descriptions, version and feature queries.
 */
#include "internal.h"

struct status_info {
    int code;
    const char *name;
    const char *text;
};

static const struct status_info statuses[] = {
    {LLM_OK, "LLM_OK", "success"},
    {LLM_DONE, "LLM_DONE", "stream finished"},
    {LLM_AGAIN, "LLM_AGAIN", "no event yet; drive the multi handle"},
    {LLM_ERR_MISUSE, "LLM_ERR_MISUSE", "library misuse (NULL handle or wrong order of calls)"},
    {LLM_ERR_INVALID_ARG, "LLM_ERR_INVALID_ARG", "invalid argument"},
    {LLM_ERR_NOMEM, "LLM_ERR_NOMEM", "out of memory"},
    {LLM_ERR_UNSUPPORTED, "LLM_ERR_UNSUPPORTED", "not supported by this provider, model or API version"},
    {LLM_ERR_REENTRANT, "LLM_ERR_REENTRANT", "called from inside a callback"},
    {LLM_ERR_CALLBACK, "LLM_ERR_CALLBACK", "a hook failed"},
    {LLM_ERR_DENIED, "LLM_ERR_DENIED", "denied by a hook"},
    {LLM_ERR_CANCELLED, "LLM_ERR_CANCELLED", "cancelled"},
    {LLM_ERR_TIMEOUT, "LLM_ERR_TIMEOUT", "timed out"},
    {LLM_ERR_NETWORK, "LLM_ERR_NETWORK", "network error"},
    {LLM_ERR_PROTOCOL, "LLM_ERR_PROTOCOL", "malformed reply"},
    {LLM_ERR_TOO_LARGE, "LLM_ERR_TOO_LARGE", "reply over the size limit"},
    {LLM_ERR_AUTH, "LLM_ERR_AUTH", "authentication failed"},
    {LLM_ERR_PERMISSION, "LLM_ERR_PERMISSION", "permission denied"},
    {LLM_ERR_NOT_FOUND, "LLM_ERR_NOT_FOUND", "not found"},
    {LLM_ERR_RATE_LIMITED, "LLM_ERR_RATE_LIMITED", "rate limited"},
    {LLM_ERR_QUOTA, "LLM_ERR_QUOTA", "quota or billing limit reached"},
    {LLM_ERR_OVERLOADED, "LLM_ERR_OVERLOADED", "provider overloaded"},
    {LLM_ERR_SERVER, "LLM_ERR_SERVER", "provider server error"},
    {LLM_ERR_INVALID_REQUEST, "LLM_ERR_INVALID_REQUEST", "request rejected by the provider"},
    {LLM_ERR_CONTEXT_LENGTH, "LLM_ERR_CONTEXT_LENGTH", "context length exceeded"},
    {LLM_ERR_CONTENT_FILTER, "LLM_ERR_CONTENT_FILTER", "blocked by a content filter"},
    {LLM_ERR_CIRCUIT_OPEN, "LLM_ERR_CIRCUIT_OPEN", "circuit breaker open"},
    {LLM_ERR_RETRY_BUDGET, "LLM_ERR_RETRY_BUDGET", "retry budget exhausted"},
    {LLM_ERR_NOT_AVAILABLE, "LLM_ERR_NOT_AVAILABLE", "not available"},
};

static const struct status_info *find(int code)
{
    for (size_t i = 0; i < LLM__ARRAY_LEN(statuses); i++)
        if (statuses[i].code == code)
            return &statuses[i];
    return NULL;
}

const char *llm_status_str(int status)
{
    const struct status_info *s = find(status);
    return s ? s->text : "unknown status";
}

const char *llm_status_name(int status)
{
    const struct status_info *s = find(status);
    return s ? s->name : "LLM_ERR_UNKNOWN";
}

int llm_status_retryable(int status)
{
    switch (status) {
    case LLM_ERR_TIMEOUT:
    case LLM_ERR_NETWORK:
    case LLM_ERR_RATE_LIMITED:
    case LLM_ERR_OVERLOADED:
    case LLM_ERR_SERVER:
        return 1;
    default:
        return 0;
    }
}

const char *llm_version(void) { return LLM_VERSION_STRING; }

uint32_t llm_version_num(void) { return LLM_VERSION_NUM; }

int llm_has_feature(const char *name)
{
    if (!name)
        return 0;
    static const char *const always[] = {"streaming", "multi", "memory-cache"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(always); i++)
        if (strcmp(name, always[i]) == 0)
            return 1;
    if (strcmp(name, "sigv4") == 0)
        return llm__provider_find("bedrock") != NULL;
    return llm__provider_find(name) != NULL;
}
