/*
 * common.c - what every adapter shares: HTTP status mapping, the
 * drop-or-fail rule and the replay rule for opaque provider data.
 */
#include "providers/adapter.h"

int llm__status_from_http(int http)
{
    switch (http) {
    case 400: case 413: case 415: case 422: return LLM_ERR_INVALID_REQUEST;
    case 401: return LLM_ERR_AUTH;
    case 402: return LLM_ERR_QUOTA;
    case 403: return LLM_ERR_PERMISSION;
    case 404: return LLM_ERR_NOT_FOUND;
    case 408: return LLM_ERR_TIMEOUT;
    case 409: return LLM_ERR_SERVER;
    case 429: return LLM_ERR_RATE_LIMITED;
    case 503: case 529: return LLM_ERR_OVERLOADED;
    case 504: return LLM_ERR_TIMEOUT;
    default:
        if (http >= 500)
            return LLM_ERR_SERVER;
        if (http >= 400)
            return LLM_ERR_INVALID_REQUEST;
        return LLM_ERR_PROTOCOL;
    }
}

int llm__http_retryable(int http)
{
    return http == 408 || http == 409 || http == 429 || http >= 500;
}

int llm__call_unsupported(struct llm__call *call, const char *param, const char *why)
{
    if (call->drop_unsupported) {
        if (llm__resp_warn(call->resp, "dropped parameter \"%s\": %s", param, why) != LLM_OK)
            return llm__resp_fail(call->resp, LLM_ERR_NOMEM, "out of memory");
        return LLM_OK;
    }
    return llm__resp_fail(call->resp, LLM_ERR_UNSUPPORTED,
                          "parameter \"%s\" is not supported: %s "
                          "(llm_client_set_drop_unsupported drops it instead)", param, why);
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int llm__meta_usable(struct llm__call *call, const struct llm__meta *m)
{
    if (!m->json)
        return 0;
    if (same(m->provider, call->ops->name) && same(m->model, call->model))
        return 1;
    /* Signatures bind to the producing provider and model; elsewhere they
     * are rejected or, worse, misread, so they are dropped with a note. */
    for (size_t i = 0; i < call->resp->nwarnings; i++)
        if (strncmp(call->resp->warnings[i], "dropped opaque", 14) == 0)
            return 0;
    llm__resp_warn(call->resp, "dropped opaque %s/%s data: it can only be replayed to the "
                   "provider and model that produced it", m->provider ? m->provider : "?",
                   m->model ? m->model : "?");
    return 0;
}

int llm__resp_nomem(llm_response *r)
{
    return llm__resp_fail(r, LLM_ERR_NOMEM, "out of memory");
}

int llm__jset(json_t *o, const char *key, json_t *v)
{
    if (!v)
        return LLM_ERR_NOMEM;
    /* jansson releases v when setting fails. */
    return json_object_set_new(o, key, v) == 0 ? LLM_OK : LLM_ERR_NOMEM;
}

int llm__jpush(json_t *a, json_t *v)
{
    if (!v)
        return LLM_ERR_NOMEM;
    return json_array_append_new(a, v) == 0 ? LLM_OK : LLM_ERR_NOMEM;
}

json_t *llm__jwrap(const char *key, json_t *v)
{
    json_t *o = v ? json_object() : NULL;
    if (!o) {
        json_decref(v);
        return NULL;
    }
    if (json_object_set_new(o, key, v) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int llm__resp_set_meta_json(llm_response *r, struct llm__part *p, const json_t *meta)
{
    llm__buf b = {0};
    int rc = llm__json_dump(&b, meta);
    if (!rc)
        rc = llm__resp_set_meta(r, p, b.data, b.len);
    llm__buf_free(&b);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

int llm__resp_add_opaque_json(llm_response *r, const json_t *block)
{
    llm__buf b = {0};
    int rc = llm__json_dump(&b, block);
    if (!rc)
        rc = llm__resp_add_opaque(r, b.data, b.len);
    llm__buf_free(&b);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

/* Anthropic and Converse want alternating turns with tool results first in
 * their user turn (providers.md 3.3, 9.1): a turn of the same role as the
 * last one joins it, its results ahead of the other blocks. */
int llm__add_turn(json_t *messages, const char *role, json_t *blocks,
                  int (*is_tool_result)(const json_t *block))
{
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);
    const char *lrole = llm__json_str(last, "role");
    if (!lrole || strcmp(lrole, role) != 0) {
        json_t *m = json_object();
        if (!m || llm__jset(m, "role", json_string(role))) {
            json_decref(blocks);
            json_decref(m);
            return LLM_ERR_NOMEM;
        }
        if (llm__jset(m, "content", blocks)) {
            json_decref(m);
            return LLM_ERR_NOMEM;
        }
        return llm__jpush(messages, m);
    }
    json_t *content = json_object_get(last, "content");
    size_t at = 0;
    while (at < json_array_size(content) && is_tool_result(json_array_get(content, at)))
        at++;
    size_t i;
    json_t *b;
    int rc = LLM_OK;
    json_array_foreach(blocks, i, b) {
        if (rc)
            break;
        if (is_tool_result(b))
            rc = json_array_insert(content, at++, b) == 0 ? LLM_OK : LLM_ERR_NOMEM;
        else
            rc = json_array_append(content, b) == 0 ? LLM_OK : LLM_ERR_NOMEM;
    }
    json_decref(blocks);
    return rc;
}
