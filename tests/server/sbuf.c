/*
 * sbuf.c - growable buffers, JSON string escaping and the small parsers the
 * test server needs.
 */
#include "llmtestd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(sbuf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void sbuf_free(sbuf *b)
{
    free(b->data);
    sbuf_init(b);
}

int sbuf_reserve(sbuf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return -1;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = 1;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void sbuf_add(sbuf *b, const void *p, size_t n)
{
    if (sbuf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sbuf_adds(sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_addf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sbuf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len, i;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void sbuf_json_str(sbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run;

    while (i < n) {
        unsigned char c = p[i];

        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            run = i;
            while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' &&
                   p[run] != '\\')
                run++;
            sbuf_add(b, p + i, run - i);
            i = run;
            continue;
        }
        switch (c) {
        case '"': sbuf_add(b, "\\\"", 2); i++; continue;
        case '\\': sbuf_add(b, "\\\\", 2); i++; continue;
        case '\n': sbuf_add(b, "\\n", 2); i++; continue;
        case '\r': sbuf_add(b, "\\r", 2); i++; continue;
        case '\t': sbuf_add(b, "\\t", 2); i++; continue;
        default: break;
        }
        if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);

            if (len) {
                sbuf_add(b, p + i, len);
                i += len;
                continue;
            }
        }
        sbuf_addf(b, "\\u%04x", (unsigned)c);
        i++;
    }
}

int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 19)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v;

    if (n > 0 && s[0] == '-') {
        if (parse_u64(s + 1, n - 1, &v) != 0 || v > (uint64_t)INT64_MAX)
            return -1;
        *out = -(int64_t)v;
        return 0;
    }
    if (parse_u64(s, n, &v) != 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int ascii_casecmp_n(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int d = lower((unsigned char)a[i]) - lower((unsigned char)b[i]);

        if (d)
            return d;
        if (!a[i])
            return 0;
    }
    return 0;
}

int contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle), i;

    if (m == 0)
        return 1;
    for (i = 0; i + m <= n; i++) {
        size_t j;

        for (j = 0; j < m; j++)
            if (lower((unsigned char)hay[i + j]) != lower((unsigned char)needle[j]))
                break;
        if (j == m)
            return 1;
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t i, o = 0;

    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        int h, l;

        if (s[i] == '%' && i + 2 < n &&
            (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}
