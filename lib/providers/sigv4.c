/*
 * sigv4.c - AWS Signature Version 4, header form (providers.md 6).
 *
 * The procedure follows the published specification and reproduces AWS's
 * own test suite (tests/vectors/sigv4/): canonical request, string to
 * sign, the HMAC key chain, and the Authorization header.  Hashes come
 * from OpenSSL's one-shot EVP_Digest and HMAC, which OpenSSL 3 keeps
 * (only the HMAC_CTX family is deprecated there).
 *
 * The part that trips implementations up is the canonical URI: every
 * service but S3 encodes the path *as sent on the wire* once more, so a
 * Bedrock model id "...-v1:0" is "...-v1%3A0" in the URL and
 * "...-v1%253A0" in the canonical request.
 */
#include "internal.h"
#include "providers/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

static const char hexdig[] = "0123456789abcdef";
static const char HEXDIG[] = "0123456789ABCDEF";

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[d[i] >> 4];
        out[2 * i + 1] = hexdig[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256(const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    static const char empty = 0;
    if (!EVP_Digest(data ? data : &empty, n, out, &len, EVP_sha256(), NULL) || len != 32)
        return LLM_ERR_NOMEM;
    return LLM_OK;
}

int llm__sigv4_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char d[32];
    int rc = sha256(data, n, d);
    if (rc == LLM_OK)
        to_hex(d, 32, out);
    return rc;
}

static int hmac(const void *key, size_t klen, const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    if (klen > INT32_MAX ||
        !HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len) || len != 32)
        return LLM_ERR_NOMEM;
    return LLM_OK;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* URI-encode per SigV4: unreserved bytes as they are, '/' too when
 * keep_slash, every other byte as %XX with upper-case hex.  keep_escapes
 * leaves valid %XX sequences alone (the single-encoding mode). */
static int encode(llm__buf *out, const char *s, size_t n, int keep_slash, int keep_escapes)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            if (llm__buf_putc(out, (char)c))
                return LLM_ERR_NOMEM;
        } else if (keep_escapes && c == '%' && i + 2 < n &&
                   hexval((unsigned char)s[i + 1]) >= 0 && hexval((unsigned char)s[i + 2]) >= 0) {
            char e[3] = {'%', HEXDIG[hexval((unsigned char)s[i + 1])],
                         HEXDIG[hexval((unsigned char)s[i + 2])]};
            if (llm__buf_append(out, e, 3))
                return LLM_ERR_NOMEM;
            i += 2;
        } else {
            char e[3] = {'%', HEXDIG[c >> 4], HEXDIG[c & 15]};
            if (llm__buf_append(out, e, 3))
                return LLM_ERR_NOMEM;
        }
    }
    return LLM_OK;
}

/* Percent-decode; a '%' not followed by two hex digits stays literal. */
static int decode(llm__buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n &&
            (hi = hexval((unsigned char)s[i + 1])) >= 0 && (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            if (llm__buf_putc(out, (char)(hi << 4 | lo)))
                return LLM_ERR_NOMEM;
            i += 2;
        } else if (llm__buf_putc(out, s[i])) {
            return LLM_ERR_NOMEM;
        }
    }
    return LLM_OK;
}

/* ---- URL ---------------------------------------------------------------- */

struct url_parts {
    const char *host;      /* authority without user info */
    size_t host_len;
    const char *path;      /* "" when the URL has none */
    size_t path_len;
    const char *query;     /* NULL when the URL has no '?' */
    size_t query_len;
};

static int split_url(const char *url, struct url_parts *u, int *https_out)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return -1;
    *https_out = (size_t)(sep - url) == 5 && llm__strncasecmp(url, "https", 5) == 0;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@')
            at = a + i;
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (alen == 0)
        return -1;
    u->host = a;
    u->host_len = alen;
    const char *rest = a + alen;
    size_t plen = strcspn(rest, "?#");
    u->path = rest;
    u->path_len = plen;
    if (rest[plen] == '?') {
        u->query = rest + plen + 1;
        u->query_len = strcspn(u->query, "#");
    }
    return 0;
}

/* The Host header an HTTP client derives from the URL: a port equal to
 * the scheme's default is not sent, so it is not signed either. */
static int host_value(llm__buf *out, const struct url_parts *u, int https)
{
    size_t n = u->host_len;
    const char *colon = NULL;
    for (size_t i = n; i-- > 0;) {
        if (u->host[i] == ':') {
            colon = u->host + i;
            break;
        }
        if (u->host[i] == ']')
            break;
    }
    if (colon) {
        size_t plen = n - (size_t)(colon + 1 - u->host);
        const char *port = colon + 1;
        if (plen == 0 || (https && plen == 3 && memcmp(port, "443", 3) == 0) ||
            (!https && plen == 2 && memcmp(port, "80", 2) == 0))
            n = (size_t)(colon - u->host);
    }
    return llm__buf_append(out, u->host, n);
}

/* ---- canonical request -------------------------------------------------- */

/* Dot segments and empty segments removed (RFC 3986 5.2.4 plus the
 * duplicate-slash rule of AWS); a trailing slash survives. */
static int normalize_path(llm__buf *out, const char *p, size_t n)
{
    size_t *starts = NULL, nseg = 0;
    if (n == 0)
        return llm__buf_putc(out, '/');
    starts = llm__malloc((n / 2 + 2) * sizeof *starts);
    size_t *lens = llm__malloc((n / 2 + 2) * sizeof *lens);
    if (!starts || !lens) {
        llm__free(starts);
        llm__free(lens);
        return LLM_ERR_NOMEM;
    }
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && p[i] == '.')) {
            /* empty or "." */
        } else if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (nseg)
                nseg--;
        } else {
            starts[nseg] = i;
            lens[nseg] = len;
            nseg++;
        }
        i = j + 1;
    }
    int rc = LLM_OK;
    if (p[0] == '/')
        rc = llm__buf_putc(out, '/');
    for (size_t k = 0; k < nseg && rc == LLM_OK; k++) {
        if (k)
            rc = llm__buf_putc(out, '/');
        if (rc == LLM_OK)
            rc = llm__buf_append(out, p + starts[k], lens[k]);
    }
    if (rc == LLM_OK && nseg && p[n - 1] == '/')
        rc = llm__buf_putc(out, '/');
    if (rc == LLM_OK && out->len == 0)
        rc = llm__buf_putc(out, '/');
    llm__free(starts);
    llm__free(lens);
    return rc;
}

static int canonical_uri(llm__buf *out, const struct url_parts *u, const struct llm__sigv4 *p)
{
    llm__buf norm = {0};
    const char *path = u->path;
    size_t n = u->path_len;
    int rc = LLM_OK;
    if (!p->no_normalize_path) {
        if ((rc = normalize_path(&norm, path, n))) {
            llm__buf_free(&norm);
            return rc;
        }
        path = norm.data;
        n = norm.len;
    } else if (n == 0) {
        path = "/";
        n = 1;
    }
    rc = encode(out, path, n, 1, p->no_double_encode);
    llm__buf_free(&norm);
    return rc;
}

struct qparam {
    char *name, *value;
};

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Each name and value decoded, then encoded strictly, so a parameter
 * arrives at the same form whether the URL carried it raw or escaped. */
static int canonical_query(llm__buf *out, const char *q, size_t n)
{
    if (!q || n == 0)
        return LLM_OK;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += q[i] == '&';
    struct qparam *ps = llm__calloc(cap, sizeof *ps);
    if (!ps)
        return LLM_ERR_NOMEM;
    size_t np = 0;
    int rc = LLM_OK;
    llm__buf tmp = {0};
    for (size_t i = 0; i <= n && rc == LLM_OK;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && q[eq] != '=')
                eq++;
            llm__buf enc = {0};
            llm__buf_reset(&tmp);
            rc = decode(&tmp, q + i, eq - i);
            if (!rc)
                rc = encode(&enc, tmp.data ? tmp.data : "", tmp.len, 0, 0);
            if (!rc)
                ps[np].name = llm__buf_steal(&enc);
            llm__buf_reset(&tmp);
            if (!rc && eq < j)
                rc = decode(&tmp, q + eq + 1, j - eq - 1);
            if (!rc)
                rc = encode(&enc, tmp.data ? tmp.data : "", tmp.len, 0, 0);
            if (!rc)
                ps[np].value = llm__buf_steal(&enc);
            llm__buf_free(&enc);
            if (!rc && (!ps[np].name || !ps[np].value))
                rc = LLM_ERR_NOMEM;
            np++;
        }
        i = j + 1;
    }
    llm__buf_free(&tmp);
    if (!rc) {
        qsort(ps, np, sizeof *ps, qparam_cmp);
        for (size_t k = 0; k < np && rc == LLM_OK; k++)
            rc = llm__buf_printf(out, "%s%s=%s", k ? "&" : "", ps[k].name, ps[k].value);
    }
    for (size_t k = 0; k < np; k++) {
        llm__free(ps[k].name);
        llm__free(ps[k].value);
    }
    llm__free(ps);
    return rc;
}

struct chdr {
    char *name;      /* lower case */
    char *value;     /* trimmed, inner whitespace collapsed */
    size_t order;
};

static int chdr_cmp(const void *a, const void *b)
{
    const struct chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *trim_collapse(const char *v)
{
    llm__buf b = {0};
    while (*v && is_space(*v))
        v++;
    int pending = 0;
    for (; *v; v++) {
        if (is_space(*v)) {
            pending = 1;
            continue;
        }
        if ((pending && llm__buf_putc(&b, ' ')) || llm__buf_putc(&b, *v)) {
            llm__buf_free(&b);
            return NULL;
        }
        pending = 0;
    }
    return llm__buf_steal(&b);
}

static char *lower_dup(const char *s)
{
    char *d = llm__strdup(s);
    for (char *c = d; c && *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return d;
}

/* Not signed: hop-by-hop headers, and headers a client or proxy may add
 * or rewrite after signing (botocore's list). */
static int unsigned_header(const char *lname)
{
    static const char *const skip[] = {
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
        "user-agent", "x-amzn-trace-id",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(skip); i++)
        if (strcmp(lname, skip[i]) == 0)
            return 1;
    return 0;
}

/* Canonical headers (each "name:value\n") and the signed-header list. */
static int canonical_headers(const struct llm__http_req *req, const char *host,
                             llm__buf *hdrs, llm__buf *names)
{
    size_t n = req->nheaders + 1;
    struct chdr *h = llm__calloc(n, sizeof *h);
    if (!h)
        return LLM_ERR_NOMEM;
    size_t m = 0;
    int rc = LLM_OK;
    for (size_t i = 0; i < req->nheaders && rc == LLM_OK; i++) {
        char *ln = lower_dup(req->headers[i].name);
        if (!ln) {
            rc = LLM_ERR_NOMEM;
            break;
        }
        if (unsigned_header(ln)) {
            llm__free(ln);
            continue;
        }
        h[m].name = ln;
        h[m].order = i;
        if (!(h[m].value = trim_collapse(req->headers[i].value)))
            rc = LLM_ERR_NOMEM;
        m++;
    }
    if (rc == LLM_OK && host) {
        h[m].name = llm__strdup("host");
        h[m].value = llm__strdup(host);
        h[m].order = n;
        if (!h[m].name || !h[m].value)
            rc = LLM_ERR_NOMEM;
        m++;
    }
    if (rc == LLM_OK) {
        qsort(h, m, sizeof *h, chdr_cmp);
        for (size_t i = 0; i < m && rc == LLM_OK; i++) {
            int same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
            if (same) {
                rc = llm__buf_printf(hdrs, ",%s", h[i].value);
                continue;
            }
            if (i > 0)
                rc = llm__buf_puts(hdrs, "\n");
            if (!rc)
                rc = llm__buf_printf(hdrs, "%s:%s", h[i].name, h[i].value);
            if (!rc)
                rc = llm__buf_printf(names, "%s%s", names->len ? ";" : "", h[i].name);
        }
        if (!rc && m)
            rc = llm__buf_puts(hdrs, "\n");
    }
    for (size_t i = 0; i < m; i++) {
        llm__free(h[i].name);
        llm__free_secret(h[i].value);
    }
    llm__free(h);
    return rc;
}

/* ---- headers on the request -------------------------------------------- */

static void remove_header(struct llm__http_req *req, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (llm__strcasecmp(req->headers[i].name, name) == 0) {
            llm__free(req->headers[i].name);
            llm__free_secret(req->headers[i].value);
            continue;
        }
        req->headers[k++] = req->headers[i];
    }
    req->nheaders = k;
}

static int amz_date(int64_t now_ms, char stamp[17])
{
    /* Floor division, so that a time before 1970 is still the right
     * second (and then rejected below). */
    int64_t secs = now_ms / 1000 - (now_ms % 1000 < 0);
    time_t t = (time_t)secs;
    struct tm tm;
    if ((int64_t)t != secs || !gmtime_r(&t, &tm) || tm.tm_year < 70 || tm.tm_year > 8099)
        return -1;
    /* The range check above bounds every field; the roomy buffer only
     * keeps compilers' truncation analysis quiet. */
    char b[64];
    int n = snprintf(b, sizeof b, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n != 16)
        return -1;
    memcpy(stamp, b, 17);
    return 0;
}

/* Region and service name a scope component: no '/', no controls. */
static int scope_word(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(unreserved(c)))
            return 0;
    }
    return 1;
}

static int bad(const char **why_out, const char *why)
{
    if (why_out)
        *why_out = why;
    return LLM_ERR_INVALID_ARG;
}

void llm__sigv4_trace_free(struct llm__sigv4_trace *t)
{
    if (!t)
        return;
    llm__buf_free(&t->canonical_request);
    llm__buf_free(&t->string_to_sign);
    memset(t->signature, 0, sizeof t->signature);
}

int llm__sigv4_sign(struct llm__http_req *req, const struct llm__sigv4 *p,
                    struct llm__sigv4_trace *trace, const char **why_out)
{
    if (why_out)
        *why_out = NULL;
    if (!req || !p || !req->method || !*req->method)
        return bad(why_out, "no request or method to sign");
    if (!p->access_key_id || !*p->access_key_id || !p->secret_access_key ||
        !*p->secret_access_key)
        return bad(why_out, "the AWS access key id or secret access key is missing");
    if (llm__has_ctl(p->access_key_id, strlen(p->access_key_id)) ||
        strchr(p->access_key_id, '/') || strchr(p->access_key_id, ' ') ||
        strchr(p->access_key_id, ','))
        return bad(why_out, "the AWS access key id holds characters it cannot hold");
    const char *token = p->session_token && *p->session_token ? p->session_token : NULL;
    if (token && llm__has_ctl(token, strlen(token)))
        return bad(why_out, "the AWS session token holds CR, LF or NUL");
    if (!scope_word(p->region))
        return bad(why_out, "the AWS region is missing or not a plain name");
    if (!scope_word(p->service))
        return bad(why_out, "the signing service name is missing or not a plain name");
    char stamp[17];
    if (amz_date(p->now_ms, stamp) != 0)
        return bad(why_out, "the signing time is out of range");
    struct url_parts u;
    int https = 0;
    if (!req->url.data || split_url(req->url.data, &u, &https) != 0)
        return bad(why_out, "the URL to sign is not absolute (scheme://host/path)");

    int rc;
    char payload[65];
    if ((rc = llm__sigv4_sha256_hex(req->body.data, req->body.len, payload)))
        return rc;

    /* A request signed twice (a retry reusing it) must not carry the first
     * signature's headers. */
    remove_header(req, "Authorization");
    remove_header(req, "X-Amz-Date");
    if (token)
        remove_header(req, "X-Amz-Security-Token");
    if (p->sign_body)
        remove_header(req, "x-amz-content-sha256");
    if ((rc = llm__http_req_header(req, "X-Amz-Date", stamp)) ||
        (token && !p->omit_session_token &&
         (rc = llm__http_req_header(req, "X-Amz-Security-Token", token))) ||
        (p->sign_body && (rc = llm__http_req_header(req, "x-amz-content-sha256", payload))))
        return rc == LLM_ERR_INVALID_ARG ? bad(why_out, "a signing header holds CR or LF") : rc;

    llm__buf host = {0}, creq = {0}, names = {0}, sts = {0}, auth = {0}, key = {0};
    llm__buf *out = trace ? &trace->canonical_request : &creq;
    llm__buf *sout = trace ? &trace->string_to_sign : &sts;
    if (trace) {
        llm__buf_reset(out);
        llm__buf_reset(sout);
    }
    unsigned char k1[32], k2[32], digest[32];
    char hash[65], sig[65];
    if (!llm__http_req_get(req, "Host") && (rc = host_value(&host, &u, https)))
        goto done;
    if ((rc = llm__buf_printf(out, "%s\n", req->method)) || (rc = canonical_uri(out, &u, p)) ||
        (rc = llm__buf_putc(out, '\n')) || (rc = canonical_query(out, u.query, u.query_len)) ||
        (rc = llm__buf_putc(out, '\n')))
        goto done;
    {
        llm__buf hdrs = {0};
        rc = canonical_headers(req, host.data, &hdrs, &names);
        if (!rc)
            rc = llm__buf_append(out, hdrs.data ? hdrs.data : "", hdrs.len);
        llm__buf_free(&hdrs);
        if (rc)
            goto done;
    }
    if ((rc = llm__buf_printf(out, "\n%s\n%s", names.data ? names.data : "", payload)))
        goto done;
    if ((rc = llm__sigv4_sha256_hex(out->data, out->len, hash)))
        goto done;
    if ((rc = llm__buf_printf(sout, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", stamp, stamp,
                              p->region, p->service, hash)))
        goto done;

    /* kDate, kRegion, kService, kSigning, then the signature. */
    if ((rc = llm__buf_printf(&key, "AWS4%s", p->secret_access_key)) ||
        (rc = hmac(key.data, key.len, stamp, 8, k1)) ||
        (rc = hmac(k1, 32, p->region, strlen(p->region), k2)) ||
        (rc = hmac(k2, 32, p->service, strlen(p->service), k1)) ||
        (rc = hmac(k1, 32, "aws4_request", 12, k2)) ||
        (rc = hmac(k2, 32, sout->data, sout->len, digest)))
        goto done;
    to_hex(digest, 32, sig);
    if ((rc = llm__buf_printf(&auth, ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
                              "SignedHeaders=%s, Signature=%s", p->access_key_id, stamp,
                              p->region, p->service, names.data ? names.data : "", sig)))
        goto done;
    if ((rc = llm__http_req_header(req, "Authorization", auth.data)))
        goto done;
    if (token && p->omit_session_token &&
        (rc = llm__http_req_header(req, "X-Amz-Security-Token", token)))
        goto done;
    if (trace)
        memcpy(trace->signature, sig, sizeof sig);
done:
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    llm__free_secret(key.data);
    llm__buf_free(&host);
    llm__buf_free(&creq);
    llm__buf_free(&names);
    llm__buf_free(&sts);
    llm__buf_free(&auth);
    if (rc == LLM_ERR_INVALID_ARG)
        return bad(why_out, "a header to sign holds CR or LF");
    return rc;
}
