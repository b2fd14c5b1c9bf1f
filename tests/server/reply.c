/*
 * reply.c - the /t/<provider>/<case>/<faults>/... route: fixture files,
 * fault injection and the response writer.
 */
#include "llmtestd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE_MAX ((size_t)256 * 1024 * 1024)
#define PIECE_MAX   (64 * 1024)
#define SPLIT_MAX   48
/* A reply whose head and body fit this size goes out in one write. */
#define ONE_WRITE   (64 * 1024)

typedef struct faults {
    int      split;
    uint64_t seed;
    int64_t  delay_ms;      /* -1: none */
    int      stall;
    int64_t  stall_ms;      /* -1: until the client goes away */
    uint64_t stallat;
    int64_t  cut, reset;    /* -1: none */
    int      badjson;
    int      status;        /* 0: none */
    uint64_t fail_n;
    int      fail_code;
    const char *ra;         /* points into the path; ra_len bytes */
    size_t   ra_len;
    int64_t  ram;           /* -1: none */
    int      close;
    int      echoauth;      /* injected errors quote the request's credential */
    int64_t  big, sse;      /* -1: none */
} faults;

const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

int reply_simple(conn *c, int status, const char *ctype, const char *body, size_t len,
                 int close)
{
    sbuf b;
    int rc;

    sbuf_init(&b);
    sbuf_addf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: %s\r\n\r\n",
              status, reason_phrase(status), ctype, len, close ? "close" : "keep-alive");
    sbuf_add(&b, body, len);
    rc = b.failed ? -1 : conn_send(c, b.data, b.len);
    sbuf_free(&b);
    if (rc != 0)
        return REPLY_GONE;
    return close ? REPLY_CLOSE : REPLY_KEEP;
}

static int reply_json_error(conn *c, int status, const char *type, const char *msg)
{
    sbuf b;
    int rc;

    sbuf_init(&b);
    sbuf_adds(&b, "{\"error\":{\"message\":\"");
    sbuf_json_str(&b, msg, strlen(msg));
    sbuf_addf(&b, "\",\"type\":\"%s\",\"code\":\"%s\"}}", type,
              status == 404 ? "not_found" : "server_error");
    if (b.failed) {
        sbuf_free(&b);
        return REPLY_GONE;
    }
    rc = reply_simple(c, status, "application/json", b.data, b.len, 0);
    sbuf_free(&b);
    return rc;
}

/* ---- fault tokens ---- */

static int tok_is(const char *t, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);

    if (n > k && memcmp(t, name, k) == 0 && t[k] == '=') {
        *val = t + k + 1;
        *vlen = n - k - 1;
        return 1;
    }
    return 0;
}

static int valid_status(int64_t s)
{
    return s >= 100 && s <= 999;
}

/* Unknown or malformed tokens are ignored on purpose: tests put nonces
 * such as "n42" in this segment to get counters of their own. */
static void parse_faults(const char *s, size_t n, faults *f)
{
    size_t i = 0;

    memset(f, 0, sizeof *f);
    f->delay_ms = f->cut = f->reset = f->ram = f->big = f->sse = -1;
    while (i < n) {
        const char *t = s + i, *v;
        size_t len = 0, vl;
        int64_t x;
        uint64_t u;

        while (i + len < n && t[len] != ',')
            len++;
        i += len + 1;
        if (len == 5 && memcmp(t, "close", 5) == 0) {
            f->close = 1;
        } else if (len == 8 && memcmp(t, "echoauth", 8) == 0) {
            f->echoauth = 1;
        } else if (len == 7 && memcmp(t, "badjson", 7) == 0) {
            f->badjson = 1;
        } else if (tok_is(t, len, "split", &v, &vl)) {
            if (parse_u64(v, vl, &u) == 0) {
                f->split = 1;
                /* xorshift has a fixed point at zero */
                f->seed = u ? u : 0x9E3779B97F4A7C15ull;
            }
        } else if (tok_is(t, len, "delay", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= 0)
                f->delay_ms = x;
        } else if (tok_is(t, len, "stall", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= -1) {
                f->stall = 1;
                f->stall_ms = x;
            }
        } else if (tok_is(t, len, "stallat", &v, &vl)) {
            if (parse_u64(v, vl, &u) == 0)
                f->stallat = u;
        } else if (tok_is(t, len, "cut", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= 0)
                f->cut = x;
        } else if (tok_is(t, len, "reset", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= 0)
                f->reset = x;
        } else if (tok_is(t, len, "status", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && valid_status(x))
                f->status = (int)x;
        } else if (tok_is(t, len, "fail", &v, &vl)) {
            const char *xp = memchr(v, 'x', vl);

            if (xp && parse_u64(v, (size_t)(xp - v), &u) == 0 &&
                parse_i64(xp + 1, vl - (size_t)(xp - v) - 1, &x) == 0 && valid_status(x)) {
                f->fail_n = u;
                f->fail_code = (int)x;
            }
        } else if (tok_is(t, len, "ra", &v, &vl)) {
            size_t k;

            for (k = 0; k < vl; k++)
                if (!((v[k] >= '0' && v[k] <= '9') || (v[k] >= 'A' && v[k] <= 'Z') ||
                      (v[k] >= 'a' && v[k] <= 'z') || v[k] == '.' || v[k] == '-' ||
                      v[k] == ':' || v[k] == '_'))
                    break;
            if (vl > 0 && k == vl) {
                f->ra = v;
                f->ra_len = vl;
            }
        } else if (tok_is(t, len, "ram", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= 0)
                f->ram = x;
        } else if (tok_is(t, len, "big", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= 0)
                f->big = x;
        } else if (tok_is(t, len, "sse", &v, &vl)) {
            if (parse_i64(v, vl, &x) == 0 && x >= 0)
                f->sse = x;
        }
    }
}

/* ---- bodies ---- */

/* The body as a random-access byte source, so that generated bodies of any
 * size stream out without being built in memory. */
enum { SRC_MEM, SRC_BIG, SRC_SSE };

static const char sse_event[] =
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok \"},\"finish_reason\":null}]}\n\n";
static const char sse_stop[] =
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
static const char sse_done[] = "data: [DONE]\n\n";
static const char big_open[] = "{\"data\":\"";
static const char big_close[] = "\"}";

typedef struct source {
    int kind;
    const char *mem;
    size_t total;
    uint64_t events;
    char tail[512];      /* SSE: stop chunk, usage chunk, [DONE] */
    size_t tail_len;
} source;

static void src_sse(source *s, uint64_t n)
{
    int k;

    s->kind = SRC_SSE;
    s->events = n;
    k = snprintf(s->tail, sizeof s->tail,
                 "%sdata: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                 "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
                 "\"completion_tokens\":%llu,\"total_tokens\":%llu}}\n\n%s",
                 sse_stop, (unsigned long long)n, (unsigned long long)n + 1, sse_done);
    s->tail_len = (size_t)k;
    s->total = (size_t)n * (sizeof sse_event - 1) + s->tail_len;
}

static void src_big(source *s, uint64_t n)
{
    s->kind = SRC_BIG;
    /* The smallest body with a string member is {"data":""}. */
    s->total = n < 2 ? 2 : (size_t)n;
}

static void src_read(const source *s, size_t pos, char *out, size_t n)
{
    const size_t ev = sizeof sse_event - 1, bo = sizeof big_open - 1;

    if (s->kind == SRC_MEM) {
        memcpy(out, s->mem + pos, n);
        return;
    }
    while (n > 0) {
        size_t take;

        if (s->kind == SRC_BIG) {
            if (s->total < bo + 2) {
                /* Too small for a member: "{}" padded with whitespace. */
                out[0] = pos == 0 ? '{' : pos == 1 ? '}' : ' ';
                take = 1;
            } else if (pos < bo) {
                take = bo - pos < n ? bo - pos : n;
                memcpy(out, big_open + pos, take);
            } else if (pos < s->total - 2) {
                take = s->total - 2 - pos < n ? s->total - 2 - pos : n;
                memset(out, 'x', take);
            } else {
                take = s->total - pos < n ? s->total - pos : n;
                memcpy(out, &big_close[pos - (s->total - 2)], take);
            }
        } else {
            size_t evbytes = (size_t)s->events * ev;

            if (pos < evbytes) {
                size_t off = pos % ev;

                take = ev - off < n ? ev - off : n;
                memcpy(out, sse_event + off, take);
            } else {
                size_t off = pos - evbytes;

                take = s->tail_len - off < n ? s->tail_len - off : n;
                memcpy(out, s->tail + off, take);
            }
        }
        out += take;
        pos += take;
        n -= take;
    }
}

/* ---- fixtures ---- */

typedef struct fixture {
    char *data;            /* the whole file */
    size_t len;
    const char *status;    /* status line, NUL-terminated inside data */
    int code;
    const char *body;
    size_t body_len;
    char *head_start;      /* header lines (NUL-split) */
    char *head_end;
} fixture;

static char *read_file(const char *path, size_t *len_out, int *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *p;
    size_t got = 0;

    *err = 0;
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FIXTURE_MAX) {
        *err = EINVAL;
        close(fd);
        return NULL;
    }
    p = malloc((size_t)st.st_size + 1);
    if (!p) {
        *err = ENOMEM;
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    p[got] = '\0';
    *len_out = got;
    return p;
}

/* Loads DIR/provider/case/name.  Returns 0, -1 when the file is missing
 * or -2 when it is malformed. */
static int fixture_load(fixture *fx, const char *dir, const char *name, char **path_out)
{
    sbuf path;
    char *p, *end, *nl;
    int err;

    memset(fx, 0, sizeof *fx);
    sbuf_init(&path);
    sbuf_addf(&path, "%s/%s", dir, name);
    if (path.failed)
        return -2;
    *path_out = path.data;
    fx->data = read_file(path.data, &fx->len, &err);
    if (!fx->data)
        return err == ENOENT || err == ENOTDIR ? -1 : -2;

    /* The head ends at the first empty line (LF or CRLF); a file with no
     * empty line is all head and has an empty body. */
    p = fx->data;
    end = NULL;
    for (nl = memchr(p, '\n', fx->len); nl; nl = memchr(nl + 1, '\n', fx->len - (size_t)(nl + 1 - p))) {
        size_t off = (size_t)(nl - p);

        if (off + 1 < fx->len && p[off + 1] == '\n') {
            end = nl + 1;
            fx->body = nl + 2;
            break;
        }
        if (off + 2 < fx->len && p[off + 1] == '\r' && p[off + 2] == '\n') {
            end = nl + 1;
            fx->body = nl + 3;
            break;
        }
        if (off + 1 >= fx->len)
            break;
    }
    if (!end) {
        end = p + fx->len;
        fx->body = end;
    }
    fx->body_len = (size_t)(p + fx->len - fx->body);
    *end = '\0'; /* overwrites the blank line's first byte, or the final NUL */

    nl = strchr(p, '\n');
    if (nl)
        *nl = '\0';
    if (nl && nl > p && nl[-1] == '\r')
        nl[-1] = '\0';
    fx->status = p;
    if (strncmp(p, "HTTP/", 5) != 0 || !strchr(p, ' ') ||
        parse_i64(strchr(p, ' ') + 1, 3, &(int64_t){ 0 }) != 0)
        return -2;
    fx->code = atoi(strchr(p, ' ') + 1);
    fx->head_start = nl ? nl + 1 : end;
    fx->head_end = end;
    return 0;
}

/* Appends the fixture's header lines with CRLF endings, leaving out the
 * framing headers the server decides, and retry headers being replaced. */
static void fixture_headers(const fixture *fx, sbuf *h, const faults *f, int injected)
{
    char *p = fx->head_start;

    while (p < fx->head_end) {
        char *nl = memchr(p, '\n', (size_t)(fx->head_end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(fx->head_end - p), nlen;
        const char *colon;

        if (len > 0 && p[len - 1] == '\r')
            len--;
        colon = memchr(p, ':', len);
        nlen = colon ? (size_t)(colon - p) : len;
        while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
            nlen--;
#define IS(name) (nlen == sizeof name - 1 && strncasecmp(p, name, nlen) == 0)
        if (len > 0 && !IS("Content-Length") && !IS("Transfer-Encoding") &&
            !IS("Connection") && !(injected && f->ra && IS("retry-after")) &&
            !(injected && f->ram >= 0 && IS("retry-after-ms"))) {
            sbuf_add(h, p, len);
            sbuf_add(h, "\r\n", 2);
        }
#undef IS
        p = nl ? nl + 1 : fx->head_end;
    }
}

/* ---- routing ---- */

typedef struct route {
    char *key;             /* "/t/<provider>/<case>/<faults>" */
    char *dir;             /* "<root>/<provider>/<case>" */
    const char *faults;
    size_t faults_len;
    const char *rest;      /* the provider's path, from its leading '/' */
} route;

static int segment_ok(const char *s, size_t n)
{
    return n > 0 && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static int route_parse(const char *path, route *rt)
{
    const char *seg[3];
    size_t len[3];
    const char *p = path + 3;
    int i;
    sbuf k, d;

    memset(rt, 0, sizeof *rt);
    if (strncmp(path, "/t/", 3) != 0)
        return -1;
    for (i = 0; i < 3; i++) {
        seg[i] = p;
        len[i] = strcspn(p, "/");
        p += len[i];
        if (i < 2) {
            if (*p != '/')
                return -1;
            p++;
        }
    }
    if (!segment_ok(seg[0], len[0]) || !segment_ok(seg[1], len[1]) || len[2] == 0)
        return -1;
    rt->faults = seg[2];
    rt->faults_len = len[2];
    rt->rest = p;
    sbuf_init(&k);
    sbuf_add(&k, path, (size_t)(p - path));
    sbuf_init(&d);
    sbuf_addf(&d, "%s/%.*s/%.*s", g_server.root, (int)len[0], seg[0], (int)len[1], seg[1]);
    if (k.failed || d.failed) {
        sbuf_free(&k);
        sbuf_free(&d);
        return -1;
    }
    rt->key = k.data;
    rt->dir = d.data;
    return 0;
}

/* `"stream"` then optional whitespace, ':', whitespace, `true`. */
static int body_wants_stream(const char *b, size_t n)
{
    size_t i;

    for (i = 0; i + 8 <= n; i++) {
        size_t j;

        if (memcmp(b + i, "\"stream\"", 8) != 0)
            continue;
        j = i + 8;
        while (j < n && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n'))
            j++;
        if (j >= n || b[j] != ':')
            continue;
        j++;
        while (j < n && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n'))
            j++;
        if (j + 4 <= n && memcmp(b + j, "true", 4) == 0)
            return 1;
    }
    return 0;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Sends the head, then the body under the faults; returns a REPLY_*. */
static int send_reply(conn *c, sbuf *head, const source *src, const faults *f, int chunked,
                      int close)
{
    size_t limit = src->total, pos = 0, stall_at;
    uint64_t rng = f->seed;
    int stalled = !f->stall;
    char *buf;

    if (f->cut >= 0 && (uint64_t)f->cut < limit)
        limit = (size_t)f->cut;
    if (f->reset >= 0 && (uint64_t)f->reset < limit)
        limit = (size_t)f->reset;
    stall_at = f->stallat < limit ? (size_t)f->stallat : limit;

    if (f->delay_ms >= 0 && conn_wait(c, f->delay_ms))
        return REPLY_GONE;

    if (!chunked && stalled && !f->split && limit == src->total &&
        head->len + limit <= ONE_WRITE) {
        if (sbuf_reserve(head, limit) != 0)
            return REPLY_GONE;
        src_read(src, 0, head->data + head->len, limit);
        head->len += limit;
        pos = limit;
    }
    if (conn_send(c, head->data, head->len) != 0)
        return REPLY_GONE;

    buf = malloc(PIECE_MAX);
    if (!buf)
        return REPLY_GONE;
    for (;;) {
        size_t piece;
        int rc;

        if (!stalled && pos >= stall_at) {
            stalled = 1;
            if (conn_wait(c, f->stall_ms)) {
                free(buf);
                return REPLY_GONE;
            }
        }
        if (pos >= limit)
            break;
        piece = f->split ? 1 + (size_t)(xorshift(&rng) % SPLIT_MAX) : PIECE_MAX;
        if (piece > limit - pos)
            piece = limit - pos;
        if (!stalled && pos + piece > stall_at)
            piece = stall_at - pos;
        src_read(src, pos, buf, piece);
        rc = chunked ? conn_send_chunk(c, buf, piece) : conn_send(c, buf, piece);
        if (rc != 0) {
            free(buf);
            return REPLY_GONE;
        }
        pos += piece;
    }
    free(buf);

    if (f->reset >= 0) {
        conn_close_reset(c);
        return REPLY_GONE;
    }
    if (f->cut >= 0) {
        /* No terminating chunk: the client sees a body cut short by a
         * clean close. */
        conn_close_graceful(c);
        return REPLY_GONE;
    }
    if (chunked && conn_send(c, "0\r\n\r\n", 5) != 0)
        return REPLY_GONE;
    return close ? REPLY_CLOSE : REPLY_KEEP;
}

static void add_retry_headers(sbuf *h, const faults *f)
{
    if (f->ra)
        sbuf_addf(h, "retry-after: %.*s\r\n", (int)f->ra_len, f->ra);
    if (f->ram >= 0)
        sbuf_addf(h, "retry-after-ms: %lld\r\n", (long long)f->ram);
}

int reply_case(conn *c, const request *rq, int first)
{
    route rt;
    faults f;
    case_ticket tk;
    fixture fx;
    source src;
    sbuf head;
    char *fpath = NULL, *injected_body = NULL;
    int inject = 0, chunked, close_after, rc, lr = 0;
    const char *name;
    char ename[32];

    if (route_parse(rq->path, &rt) != 0) {
        store_record("", rq, first, &tk);
        free(rt.key);
        free(rt.dir);
        return reply_json_error(c, 404, "bad_test_path",
                                "expected /t/<provider>/<case>/<faults>/<path>");
    }
    store_record(rt.key, rq, first, &tk);
    parse_faults(rt.faults, rt.faults_len, &f);

    if (f.status)
        inject = f.status;
    else if (f.fail_code && tk.index <= f.fail_n)
        inject = f.fail_code;

    memset(&fx, 0, sizeof fx);
    memset(&src, 0, sizeof src);
    sbuf_init(&head);
    if (inject) {
        snprintf(ename, sizeof ename, "error-%d", inject);
        lr = fixture_load(&fx, rt.dir, ename, &fpath);
        if (lr == -1) {
            sbuf b;

            free(fx.data);
            memset(&fx, 0, sizeof fx);
            sbuf_init(&b);
            if (f.echoauth) {
                /* Some providers quote the credential back in errors
                 * ("Incorrect API key provided: sk-..."): the client must
                 * redact it before anyone sees it. */
                sbuf msg;
                sbuf_init(&msg);
                sbuf_addf(&msg, "injected %d; credentials seen:", inject);
                for (size_t k = 0; k < rq->nhdrs; k++)
                    if (strcasecmp(rq->hdrs[k].name, "authorization") == 0 ||
                        strcasecmp(rq->hdrs[k].name, "x-api-key") == 0 ||
                        strcasecmp(rq->hdrs[k].name, "api-key") == 0 ||
                        strcasecmp(rq->hdrs[k].name, "x-goog-api-key") == 0)
                        sbuf_addf(&msg, " %s", rq->hdrs[k].value);
                sbuf_adds(&b, "{\"error\":{\"message\":\"");
                sbuf_json_str(&b, msg.data ? msg.data : "", msg.len);
                sbuf_addf(&b, "\",\"type\":\"injected_error\",\"code\":\"injected\"}}");
                sbuf_free(&msg);
            } else {
                sbuf_addf(&b, "{\"error\":{\"message\":\"injected %d\",\"type\":\"injected_error\","
                              "\"code\":\"injected\"}}", inject);
            }
            injected_body = b.data;
            sbuf_addf(&head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n", inject,
                      reason_phrase(inject));
            src.kind = SRC_MEM;
            src.mem = b.data ? b.data : "";
            src.total = b.len;
            lr = 0;
        }
    } else if (f.big >= 0 || f.sse >= 0) {
        if (f.big >= 0) {
            src_big(&src, (uint64_t)f.big);
            sbuf_adds(&head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
        } else {
            src_sse(&src, (uint64_t)f.sse);
            sbuf_adds(&head, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             "Cache-Control: no-cache\r\n");
        }
    } else {
        name = body_wants_stream(rq->body, rq->body_len) || contains_ci(rt.rest, strlen(rt.rest), "stream")
                   ? "response.stream" : "response";
        /* Conversations: the k-th request on a prefix gets response.<k>
         * (or response.stream.<k>) when the case has one. */
        char seqname[64];
        snprintf(seqname, sizeof seqname, "%s.%llu", name, (unsigned long long)tk.index);
        lr = fixture_load(&fx, rt.dir, seqname, &fpath);
        if (lr == -1) {
            free(fx.data);
            memset(&fx, 0, sizeof fx);
            free(fpath);
            fpath = NULL;
            lr = fixture_load(&fx, rt.dir, name, &fpath);
        }
    }
    if (lr != 0) {
        sbuf msg;

        sbuf_init(&msg);
        sbuf_addf(&msg, "%s: %s", lr == -1 ? "fixture missing" : "fixture unreadable or malformed",
                  fpath ? fpath : "?");
        rc = reply_json_error(c, lr == -1 ? 404 : 500,
                              lr == -1 ? "fixture_missing" : "fixture_error",
                              msg.data ? msg.data : "fixture error");
        sbuf_free(&msg);
        goto out;
    }
    if (fx.data) {
        sbuf_addf(&head, "%s\r\n", fx.status);
        fixture_headers(&fx, &head, &f, inject != 0);
        src.kind = SRC_MEM;
        src.mem = fx.body;
        src.total = fx.body_len;
    }
    if (inject)
        add_retry_headers(&head, &f);
    if (f.badjson)
        src.total /= 2;

    chunked = f.split || f.cut >= 0 || src.kind != SRC_MEM;
    close_after = f.close || rq->want_close;
    if (chunked)
        sbuf_adds(&head, "Transfer-Encoding: chunked\r\n");
    else
        sbuf_addf(&head, "Content-Length: %zu\r\n", src.total);
    sbuf_addf(&head, "Connection: %s\r\n\r\n", close_after ? "close" : "keep-alive");
    if (head.failed) {
        rc = REPLY_GONE;
        goto out;
    }
    rc = send_reply(c, &head, &src, &f, chunked, close_after);
out:
    sbuf_free(&head);
    free(fx.data);
    free(fpath);
    free(injected_body);
    free(rt.key);
    free(rt.dir);
    return rc;
}
