/*
 * buf.c - growable, always NUL-terminated byte buffers.
 */
#include "internal.h"

#include <stdio.h>

int llm__buf_reserve(llm__buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return LLM_ERR_NOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return LLM_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = llm__realloc(b->data, cap);
    if (!p)
        return LLM_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return LLM_OK;
}

int llm__buf_append(llm__buf *b, const void *p, size_t n)
{
    if (llm__buf_reserve(b, n) != LLM_OK)
        return LLM_ERR_NOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LLM_OK;
}

int llm__buf_puts(llm__buf *b, const char *s) { return llm__buf_append(b, s, strlen(s)); }

int llm__buf_putc(llm__buf *b, char c) { return llm__buf_append(b, &c, 1); }

int llm__buf_printf(llm__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LLM_ERR_INVALID_ARG;
    if ((size_t)n < sizeof small)
        return llm__buf_append(b, small, (size_t)n);
    if (llm__buf_reserve(b, (size_t)n) != LLM_OK)
        return LLM_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LLM_OK;
}

void llm__buf_reset(llm__buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void llm__buf_free(llm__buf *b)
{
    llm__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *llm__buf_steal(llm__buf *b)
{
    char *p = b->data;
    if (!p)
        p = llm__strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
