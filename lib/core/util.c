/*
 * util.c - UTF-8, base64, URL and JSON helpers shared by core and adapters.
 */
#include "internal.h"

#include <ctype.h>

int llm__utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned min;
        if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
        else return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are
         * not UTF-8, and JSON encoders reject them later anyway. */
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

int llm__strncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ca = tolower((unsigned char)a[i]), cb = tolower((unsigned char)b[i]);
        if (ca != cb)
            return ca - cb;
        if (!ca)
            return 0;
    }
    return 0;
}

int llm__strcasecmp(const char *a, const char *b) { return llm__strncasecmp(a, b, SIZE_MAX); }

int llm__has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return 1;
    return 0;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int llm__base64_encode(llm__buf *out, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (llm__buf_reserve(out, (n + 2) / 3 * 4) != LLM_OK)
        return LLM_ERR_NOMEM;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return LLM_OK;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

int llm__base64_decode(llm__buf *out, const char *s, size_t n)
{
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return LLM_ERR_PROTOCOL;
    if (llm__buf_reserve(out, n / 4 * 3 + 3) != LLM_OK)
        return LLM_ERR_NOMEM;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return LLM_ERR_PROTOCOL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out->data[out->len] = '\0';
    return LLM_OK;
}

int llm__url_escape(llm__buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            if (llm__buf_putc(out, (char)c) != LLM_OK)
                return LLM_ERR_NOMEM;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (llm__buf_append(out, e, 3) != LLM_OK)
                return LLM_ERR_NOMEM;
        }
    }
    return LLM_OK;
}

int llm__url_join(llm__buf *out, const char *base, const char *path)
{
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    while (*path == '/')
        path++;
    if (llm__buf_append(out, base, bl) != LLM_OK || llm__buf_putc(out, '/') != LLM_OK ||
        llm__buf_puts(out, path) != LLM_OK)
        return LLM_ERR_NOMEM;
    return LLM_OK;
}

int llm__json_load(const char *s, size_t n, json_t **out, llm__buf *errtext)
{
    json_error_t err;
    /* jansson leaves the error record unset when an early allocation
     * fails; an empty reason after a failure is that case. */
    memset(&err, 0, sizeof err);
    *out = json_loadb(s, n, JSON_ALLOW_NUL, &err);
    if (*out)
        return LLM_OK;
    if (json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0')
        return LLM_ERR_NOMEM;
    if (errtext)
        llm__buf_printf(errtext, "invalid JSON at line %d column %d: %s", err.line,
                        err.column, err.text);
    return LLM_ERR_PROTOCOL;
}

struct dump_ctx {
    llm__buf *out;
    int failed;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
    struct dump_ctx *d = data;
    if (llm__buf_append(d->out, buf, size) != LLM_OK) {
        d->failed = 1;
        return -1;
    }
    return 0;
}

int llm__json_dump(llm__buf *out, const json_t *j)
{
    /* jansson does not always pass a callback's failure back, so the
     * callback records it itself. */
    struct dump_ctx d = {out, 0};
    if (json_dump_callback(j, dump_cb, &d, JSON_COMPACT | JSON_ENCODE_ANY) != 0 || d.failed)
        return LLM_ERR_NOMEM;
    if (llm__buf_reserve(out, 0) != LLM_OK)
        return LLM_ERR_NOMEM;
    out->data[out->len] = '\0';
    return LLM_OK;
}

const char *llm__json_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t llm__json_int(const json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v)) {
        /* A hostile reply may send 4e29 or NaN where a count belongs:
         * converting those to an integer is undefined, so they read as
         * absent. */
        double d = json_real_value(v);
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
            return (int64_t)d;
    }
    return dflt;
}
