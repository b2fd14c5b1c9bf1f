/*
 * redact.c - exact occurrences of a configured secret become [REDACTED]
 * in every text a call hands out (DESIGN.md 5.9).
 */
#include "core/call.h"

#include <openssl/crypto.h>

static void redact_one(llm__buf *b, const char *secret)
{
    size_t sl = strlen(secret);
    if (!b->data || sl == 0 || b->len < sl)
        return;
    static const char mark[] = "[REDACTED]";
    const size_t ml = sizeof mark - 1;
    llm__buf out = {0};
    size_t i = 0, from = 0;
    int found = 0;
    while (i + sl <= b->len) {
        const char *hit = memmem(b->data + i, b->len - i, secret, sl);
        if (!hit)
            break;
        size_t at = (size_t)(hit - b->data);
        found = 1;
        if (llm__buf_append(&out, b->data + from, at - from) || llm__buf_append(&out, mark, ml))
            goto nomem;
        i = from = at + sl;
    }
    if (!found)
        return;
    if (llm__buf_append(&out, b->data + from, b->len - from))
        goto nomem;
    OPENSSL_cleanse(b->data, b->len);
    llm__buf_free(b);
    *b = out;
    return;
nomem:
    /* Without memory for the copy, blank the text rather than leak a key. */
    llm__buf_free(&out);
    OPENSSL_cleanse(b->data, b->len);
    llm__buf_reset(b);
    llm__buf_puts(b, mark);
}

void llm__redact(const llm_client *c, llm__buf *b)
{
    const char *secrets[8];
    size_t n = llm__client_secrets(c, secrets, LLM__ARRAY_LEN(secrets));
    for (size_t i = 0; i < n; i++)
        redact_one(b, secrets[i]);
}

void llm__redact_str(const llm_client *c, char **s)
{
    if (!*s)
        return;
    llm__buf b = {0};
    if (llm__buf_puts(&b, *s))
        return;
    llm__redact(c, &b);
    llm__free(*s);
    *s = llm__buf_steal(&b);
}
