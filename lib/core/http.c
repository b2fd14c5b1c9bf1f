/*
 * http.c - the provider-side view of an HTTP exchange (no curl here).
 */
#include "internal.h"

int llm__http_req_header(struct llm__http_req *r, const char *name, const char *value)
{
    if (llm__has_ctl(name, strlen(name)) || llm__has_ctl(value, strlen(value)))
        return LLM_ERR_INVALID_ARG;
    if (r->nheaders == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct llm__header *h = llm__realloc(r->headers, cap * sizeof *h);
        if (!h)
            return LLM_ERR_NOMEM;
        r->headers = h;
        r->cap = cap;
    }
    char *n = llm__strdup(name), *v = llm__strdup(value);
    if (!n || !v) {
        llm__free(n);
        llm__free(v);
        return LLM_ERR_NOMEM;
    }
    r->headers[r->nheaders].name = n;
    r->headers[r->nheaders].value = v;
    r->nheaders++;
    return LLM_OK;
}

const char *llm__http_req_get(const struct llm__http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (llm__strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void llm__http_req_free(struct llm__http_req *r)
{
    llm__buf_free(&r->url);
    for (size_t i = 0; i < r->nheaders; i++) {
        llm__free(r->headers[i].name);
        /* Header values carry credentials; wipe them all. */
        llm__free_secret(r->headers[i].value);
    }
    llm__free(r->headers);
    llm__buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

const char *llm__http_res_header(const struct llm__http_res *r, const char *name)
{
    for (size_t i = r->nheaders; i-- > 0;)
        if (llm__strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}
