/*
 * opts.c - per-call options and cancellation tokens.
 */
#include "core/call.h"

int llm_call_opts_new(llm_call_opts **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!llm__initialised())
        return LLM_ERR_MISUSE;
    llm_call_opts *o = llm__calloc(1, sizeof *o);
    if (!o)
        return LLM_ERR_NOMEM;
    o->max_retries = -1;
    *out = o;
    return LLM_OK;
}

void llm_call_opts_free(llm_call_opts *o)
{
    if (!o)
        return;
    llm__free(o->user);
    llm_cancel_free(o->cancel);
    llm__free(o);
}

int llm_call_opts_set_deadline_ms(llm_call_opts *o, int64_t ms)
{
    if (!o)
        return LLM_ERR_MISUSE;
    if (ms < 0)
        return LLM_ERR_INVALID_ARG;
    o->deadline_ms = ms;
    return LLM_OK;
}

int llm_call_opts_set_user(llm_call_opts *o, const char *user)
{
    if (!o)
        return LLM_ERR_MISUSE;
    if (user && (llm__has_ctl(user, strlen(user)) || !llm__utf8_valid(user, strlen(user))))
        return LLM_ERR_INVALID_ARG;
    char *d = user ? llm__strdup(user) : NULL;
    if (user && !d)
        return LLM_ERR_NOMEM;
    llm__free(o->user);
    o->user = d;
    return LLM_OK;
}

int llm_call_opts_set_max_retries(llm_call_opts *o, int32_t n)
{
    if (!o)
        return LLM_ERR_MISUSE;
    if (n < -1 || n > 100)
        return LLM_ERR_INVALID_ARG;
    o->max_retries = n;
    return LLM_OK;
}

int llm_call_opts_set_cache_mode(llm_call_opts *o, int mode)
{
    if (!o)
        return LLM_ERR_MISUSE;
    if (mode < LLM_CACHE_USE || mode > LLM_CACHE_REFRESH)
        return LLM_ERR_INVALID_ARG;
    o->cache_mode = mode;
    return LLM_OK;
}

int llm_call_opts_set_cancel(llm_call_opts *o, llm_cancel *t)
{
    if (!o)
        return LLM_ERR_MISUSE;
    if (t)
        atomic_fetch_add(&t->refs, 1);
    llm_cancel_free(o->cancel);
    o->cancel = t;
    return LLM_OK;
}

int llm_cancel_new(llm_cancel **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!llm__initialised())
        return LLM_ERR_MISUSE;
    llm_cancel *t = llm__calloc(1, sizeof *t);
    if (!t)
        return LLM_ERR_NOMEM;
    atomic_init(&t->refs, 1);
    atomic_init(&t->triggered, 0);
    pthread_mutex_init(&t->lock, NULL);
    *out = t;
    return LLM_OK;
}

void llm_cancel_free(llm_cancel *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&t->lock);
    llm__free(t->streams);
    llm__free(t);
}

void llm_cancel_trigger(llm_cancel *t)
{
    if (!t)
        return;
    atomic_store(&t->triggered, 1);
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->nstreams; i++)
        llm_stream_cancel(t->streams[i]);
    pthread_mutex_unlock(&t->lock);
}

int llm_cancel_triggered(const llm_cancel *t)
{
    return t ? atomic_load(&((llm_cancel *)t)->triggered) : 0;
}

int llm__cancel_register(llm_cancel *t, llm_stream *s)
{
    pthread_mutex_lock(&t->lock);
    int rc = LLM_OK;
    if (t->nstreams == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        llm_stream **p = llm__realloc(t->streams, cap * sizeof *p);
        if (!p)
            rc = LLM_ERR_NOMEM;
        else {
            t->streams = p;
            t->cap = cap;
        }
    }
    if (rc == LLM_OK)
        t->streams[t->nstreams++] = s;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void llm__cancel_unregister(llm_cancel *t, llm_stream *s)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->nstreams; i++)
        if (t->streams[i] == s) {
            t->streams[i] = t->streams[--t->nstreams];
            break;
        }
    pthread_mutex_unlock(&t->lock);
}
