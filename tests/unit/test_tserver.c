/*
 * test_tserver.c - the loopback test server (tests/server) and its helper
 * (tests/lib/tserver.c), checked with raw sockets and plain libcurl so that
 * the double the other tests rely on is itself pinned down.
 *
 * Fixtures: tests/server/fixtures/demo/<case>/.
 */
#include "test.h"
#include "lib/tserver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ROOT "tests/server/fixtures"

static int nonce;
static long scale = 1;

/* ---- small tools ---- */

typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes;

static void bytes_add(bytes *b, const void *p, size_t n)
{
    if (!b->p || b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *q;

        while (cap < b->len + n + 1)
            cap *= 2;
        q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The body part of a fixture file. */
static bytes fixture_body(const char *kase, const char *file)
{
    char path[256];
    bytes all = { NULL, 0, 0 }, body = { NULL, 0, 0 };
    FILE *f;
    char buf[4096];
    size_t n, i;

    snprintf(path, sizeof path, ROOT "/demo/%s/%s", kase, file);
    f = fopen(path, "rb");
    if (!f)
        return body;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        bytes_add(&all, buf, n);
    fclose(f);
    for (i = 0; i + 1 < all.len; i++) {
        if (all.p[i] != '\n')
            continue;
        if (all.p[i + 1] == '\n') {
            bytes_add(&body, all.p + i + 2, all.len - i - 2);
            break;
        }
        if (i + 2 < all.len && all.p[i + 1] == '\r' && all.p[i + 2] == '\n') {
            bytes_add(&body, all.p + i + 3, all.len - i - 3);
            break;
        }
    }
    if (!body.p)
        bytes_add(&body, "", 0);
    free(all.p);
    return body;
}

typedef struct reply {
    CURLcode rc;
    long status;
    bytes head, body;
    int64_t ms;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    bytes_add(ud, p, size * n);
    return size * n;
}

static void reply_free(reply *r)
{
    free(r->head.p);
    free(r->body.p);
    memset(r, 0, sizeof *r);
}

/* One curl request; h may be a reused handle (NULL: a fresh one). */
static reply fetch_with(CURL *h, const char *url, const char *post, struct curl_slist *hdrs)
{
    reply r;
    int own = !h;
    int64_t t0 = now_ms();

    memset(&r, 0, sizeof r);
    if (own)
        h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L * scale);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.head);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    r.rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    r.ms = now_ms() - t0;
    if (own)
        curl_easy_cleanup(h);
    if (!r.body.p)
        bytes_add(&r.body, "", 0);
    if (!r.head.p)
        bytes_add(&r.head, "", 0);
    return r;
}

static reply fetch(const char *kase, const char *faults, const char *post)
{
    char *url = tserver_url("demo", kase, faults, "v1/chat/completions");
    reply r = fetch_with(NULL, url, post, NULL);

    free(url);
    return r;
}

/* Counts case-insensitive occurrences of "\r\nname:" in a response head. */
static int header_count(const bytes *head, const char *name)
{
    char pat[128];
    size_t m, i;
    int n = 0;

    m = (size_t)snprintf(pat, sizeof pat, "\n%s:", name);
    for (i = 0; i + m <= head->len; i++)
        if (strncasecmp(head->p + i, pat, m) == 0)
            n++;
    return n;
}

static int has_header(const bytes *head, const char *line)
{
    return strstr(head->p, line) != NULL;
}

static int connect_server(void)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv;

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)tserver_port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    tv.tv_sec = 5 * scale;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_str(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until the peer closes; *err gets the recv errno (0 on EOF). */
static bytes read_all(int fd, int *err)
{
    bytes b = { NULL, 0, 0 };
    char buf[8192];

    *err = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = errno;
            break;
        }
        if (r == 0)
            break;
        bytes_add(&b, buf, (size_t)r);
    }
    if (!b.p)
        bytes_add(&b, "", 0);
    return b;
}

/* Sends raw bytes on a new connection and reads until the server closes. */
static bytes raw_exchange(const char *req, size_t len, int *err)
{
    int fd = connect_server();
    bytes b = { NULL, 0, 0 };

    *err = -1;
    if (fd < 0) {
        bytes_add(&b, "", 0);
        return b;
    }
    send_str(fd, req, len);
    b = read_all(fd, err);
    close(fd);
    return b;
}

static bytes raw_str(const char *req, int *err)
{
    return raw_exchange(req, strlen(req), err);
}

static bytes raw_get(const char *path, int *err)
{
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);

    return raw_exchange(req, (size_t)n, err);
}

/* Decodes a chunked body starting at p; records the chunk sizes.  Returns
 * 1 if the terminating chunk was seen. */
static int dechunk(const char *p, size_t n, bytes *out, size_t *sizes, size_t max_sizes,
                   size_t *nsizes)
{
    size_t pos = 0;

    *nsizes = 0;
    for (;;) {
        char *end;
        unsigned long sz;
        const char *nl = memchr(p + pos, '\n', n - pos);

        if (pos >= n || !nl)
            return 0;
        sz = strtoul(p + pos, &end, 16);
        pos = (size_t)(nl - p) + 1;
        if (sz == 0)
            return n - pos >= 2 && memcmp(p + pos, "\r\n", 2) == 0;
        if (pos + sz + 2 > n)
            return 0;
        bytes_add(out, p + pos, sz);
        if (*nsizes < max_sizes)
            sizes[*nsizes] = sz;
        (*nsizes)++;
        pos += sz + 2;
    }
}

static const char *body_of(const bytes *raw)
{
    const char *e = strstr(raw->p, "\r\n\r\n");

    return e ? e + 4 : raw->p + raw->len;
}

static void next_nonce(char *buf, size_t n, const char *faults)
{
    snprintf(buf, n, "%s%sn%d", faults, *faults ? "," : "", ++nonce);
}

static int server_threads(void)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof path, "/proc/%d/task", tserver_pid());
    d = opendir(path);
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Waits (up to 3 s, scaled) for the server's thread count to satisfy cmp. */
static int wait_threads(int want, int at_least)
{
    int64_t end = now_ms() + 3000 * scale;
    int n;

    do {
        n = server_threads();
        if (n < 0 || (at_least ? n >= want : n == want))
            return n;
        poll(NULL, 0, 5);
    } while (now_ms() < end);
    return n;
}

/* The thread count once it has not changed for 100 ms (connections of
 * earlier tests wind down asynchronously). */
static int settled_threads(void)
{
    int64_t end = now_ms() + 3000 * scale;
    int last = server_threads(), same = 0;

    while (same < 5 && now_ms() < end) {
        int n;

        poll(NULL, 0, 20);
        n = server_threads();
        same = n == last ? same + 1 : 0;
        last = n;
    }
    return last;
}

/* ---- tests ---- */

TEST(url_helpers)
{
    char *u = tserver_url("openai", "text", "ok", "v1");
    char *v = tserver_url("openai", "text", NULL, "");
    char *w = tserver_url("gemini", "text", "split=3", "/v1beta/models");
    char *p = tserver_prefix("openai", "text", "n1");
    char want[128];

    snprintf(want, sizeof want, "http://127.0.0.1:%d/t/openai/text/ok/v1", tserver_port());
    CHECK_STR(u, want);
    snprintf(want, sizeof want, "http://127.0.0.1:%d/t/openai/text/ok", tserver_port());
    CHECK_STR(v, want);
    snprintf(want, sizeof want, "http://127.0.0.1:%d/t/gemini/text/split=3/v1beta/models",
             tserver_port());
    CHECK_STR(w, want);
    CHECK_STR(p, "/t/openai/text/n1");
    CHECK(tserver_url(NULL, "x", "ok", "") == NULL);
    free(u);
    free(v);
    free(w);
    free(p);
}

TEST(fixture_served_with_headers)
{
    bytes want = fixture_body("hello", "response");
    reply r = fetch("hello", "ok", NULL);

    CHECK_INT(r.rc, CURLE_OK);
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r.head, "\r\nContent-Type: application/json\r\n"));
    CHECK(has_header(&r.head, "\r\nx-request-id: req_demo_1\r\n"));
    CHECK_INT(header_count(&r.head, "Content-Length"), 1);
    CHECK(has_header(&r.head, "Connection: keep-alive"));
    CHECK_INT(r.body.len, want.len);
    CHECK(r.body.len == want.len && memcmp(r.body.p, want.p, want.len) == 0);
    reply_free(&r);
    free(want.p);
}

TEST(fixture_framing_headers_replaced)
{
    int err;
    bytes raw = raw_get("/t/demo/framing/ok/x", &err);
    bytes want = fixture_body("framing", "response");

    CHECK_INT(err, 0);
    CHECK(strncmp(raw.p, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK_INT(header_count(&raw, "Content-Length"), 1);
    CHECK_INT(header_count(&raw, "Transfer-Encoding"), 0);
    CHECK_INT(header_count(&raw, "Connection"), 1);
    CHECK(has_header(&raw, "\r\nConnection: close\r\n"));
    CHECK(has_header(&raw, "\r\nX-Kept: 1\r\n"));
    {
        char cl[64];

        snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", want.len);
        CHECK(has_header(&raw, cl));
    }
    CHECK_STR(body_of(&raw), want.p);
    free(raw.p);
    free(want.p);
}

TEST(fixture_crlf_and_binary)
{
    reply r = fetch("crlf", "ok", NULL);
    bytes bin = fixture_body("binary", "response");

    CHECK_INT(r.status, 201);
    CHECK(has_header(&r.head, "\r\nX-Crlf: yes\r\n"));
    CHECK_STR(r.body.p, "line one\r\nline two\r\n");
    reply_free(&r);

    r = fetch("binary", "split=5", NULL);
    CHECK_INT(r.rc, CURLE_OK);
    CHECK(bin.len > 10 && memchr(bin.p, '\0', bin.len) != NULL);
    CHECK(r.body.len == bin.len && memcmp(r.body.p, bin.p, bin.len) == 0);
    reply_free(&r);
    free(bin.p);
}

TEST(stream_file_chosen)
{
    bytes st = fixture_body("hello", "response.stream");
    bytes plain = fixture_body("hello", "response");
    reply r;
    char *url;

    r = fetch("hello", "ok", "{\"model\":\"m\",\"stream\":true}");
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body.p, st.p);
    CHECK(has_header(&r.head, "text/event-stream"));
    reply_free(&r);

    r = fetch("hello", "ok", "{\"model\":\"m\",\"stream\" :  true}");
    CHECK_STR(r.body.p, st.p);
    reply_free(&r);

    r = fetch("hello", "ok", "{\"model\":\"m\",\"stream\":false}");
    CHECK_STR(r.body.p, plain.p);
    reply_free(&r);

    /* Gemini and Bedrock say it in the path. */
    url = tserver_url("demo", "hello", "ok", "v1beta/models/g:streamGenerateContent?alt=sse");
    r = fetch_with(NULL, url, "{}", NULL);
    CHECK_STR(r.body.p, st.p);
    reply_free(&r);
    free(url);
    url = tserver_url("demo", "hello", "ok", "model/x/converse-STREAM");
    r = fetch_with(NULL, url, NULL, NULL);
    CHECK_STR(r.body.p, st.p);
    reply_free(&r);
    free(url);
    /* ... but only in the provider's part of the path and not the query. */
    url = tserver_url("demo", "hello", "ok", "v1/chat?x=stream");
    r = fetch_with(NULL, url, NULL, NULL);
    CHECK_STR(r.body.p, plain.p);
    reply_free(&r);
    free(url);
    free(st.p);
    free(plain.p);
}

TEST(split_same_bytes_small_chunks)
{
    bytes want = fixture_body("hello", "response.stream");
    size_t sizes[256], sizes2[256], n = 0, n2 = 0, i;
    bytes raw, dec = { NULL, 0, 0 }, dec2 = { NULL, 0, 0 };
    int err, seen;
    reply r;

    r = fetch("hello", "split=42", "{\"stream\":true}");
    CHECK_INT(r.rc, CURLE_OK);
    CHECK(r.body.len == want.len && memcmp(r.body.p, want.p, want.len) == 0);
    reply_free(&r);

    raw = raw_get("/t/demo/hello/split=42/v1/stream", &err);
    CHECK(has_header(&raw, "\r\nTransfer-Encoding: chunked\r\n"));
    CHECK_INT(header_count(&raw, "Content-Length"), 0);
    seen = dechunk(body_of(&raw), raw.len - (size_t)(body_of(&raw) - raw.p), &dec, sizes, 256, &n);
    CHECK(seen);
    CHECK(dec.len == want.len && memcmp(dec.p, want.p, want.len) == 0);
    CHECK(n >= want.len / 48);
    CHECK(n > 3);
    for (i = 0; i < n && i < 256; i++)
        CHECK(sizes[i] >= 1 && sizes[i] <= 48);
    free(raw.p);

    /* Deterministic for a seed. */
    raw = raw_get("/t/demo/hello/split=42/v1/stream", &err);
    dechunk(body_of(&raw), raw.len - (size_t)(body_of(&raw) - raw.p), &dec2, sizes2, 256, &n2);
    CHECK_INT(n2, n);
    CHECK(n2 == n && memcmp(sizes, sizes2, (n < 256 ? n : 256) * sizeof *sizes) == 0);
    free(raw.p);
    free(dec2.p);
    dec2.p = NULL;
    dec2.len = dec2.cap = 0;
    raw = raw_get("/t/demo/hello/split=43/v1/stream", &err);
    dechunk(body_of(&raw), raw.len - (size_t)(body_of(&raw) - raw.p), &dec2, sizes2, 256, &n2);
    CHECK(dec2.len == want.len && memcmp(dec2.p, want.p, want.len) == 0);
    CHECK(n2 != n || memcmp(sizes, sizes2, (n < 256 ? n : 256) * sizeof *sizes) != 0);
    free(raw.p);
    free(dec.p);
    free(dec2.p);
    free(want.p);
}

TEST(cut_truncates_chunked_body)
{
    bytes want = fixture_body("hello", "response");
    bytes raw, dec = { NULL, 0, 0 };
    size_t sizes[64], n;
    int err;
    reply r = fetch("hello", "cut=20", NULL);

    CHECK(r.rc == CURLE_PARTIAL_FILE || r.rc == CURLE_RECV_ERROR);
    CHECK_INT(r.body.len, 20);
    CHECK(r.body.len == 20 && memcmp(r.body.p, want.p, 20) == 0);
    reply_free(&r);

    raw = raw_get("/t/demo/hello/cut=20,split=9/x", &err);
    CHECK_INT(err, 0); /* a clean close, not a reset */
    CHECK(has_header(&raw, "Transfer-Encoding: chunked"));
    CHECK(!dechunk(body_of(&raw), raw.len - (size_t)(body_of(&raw) - raw.p), &dec, sizes, 64, &n));
    CHECK_INT(dec.len, 20);
    CHECK(dec.p && memcmp(dec.p, want.p, 20) == 0);
    free(raw.p);
    free(dec.p);
    free(want.p);
}

TEST(reset_sends_rst)
{
    bytes want = fixture_body("hello", "response");
    bytes raw;
    int err;
    reply r = fetch("hello", "reset=30", NULL);

    CHECK(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_PARTIAL_FILE);
    CHECK(r.body.len <= 30);
    reply_free(&r);

    raw = raw_get("/t/demo/hello/reset=30/x", &err);
    CHECK_INT(err, ECONNRESET);
    free(raw.p);
    free(want.p);
}

TEST(badjson_sends_half)
{
    bytes want = fixture_body("hello", "response");
    reply r = fetch("hello", "badjson", NULL);
    char cl[64];

    CHECK_INT(r.rc, CURLE_OK);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, want.len / 2);
    CHECK(memcmp(r.body.p, want.p, want.len / 2) == 0);
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", want.len / 2);
    CHECK(has_header(&r.head, cl));
    reply_free(&r);
    free(want.p);
}

TEST(status_injected)
{
    reply r = fetch("hello", "status=503,ra=3,ram=1500", NULL);
    json_t *j;
    json_error_t e;

    CHECK_INT(r.status, 503);
    CHECK(has_header(&r.head, "\r\nretry-after: 3\r\n"));
    CHECK(has_header(&r.head, "\r\nretry-after-ms: 1500\r\n"));
    CHECK_STR(r.body.p,
              "{\"error\":{\"message\":\"injected 503\",\"type\":\"injected_error\",\"code\":\"injected\"}}");
    j = json_loads(r.body.p, 0, &e);
    CHECK(j != NULL);
    json_decref(j);
    reply_free(&r);

    /* error-429 in the case directory wins over the generated body. */
    r = fetch("hello", "status=429", NULL);
    CHECK_INT(r.status, 429);
    CHECK(has_header(&r.head, "\r\nretry-after: 7\r\n"));
    CHECK(has_header(&r.head, "\r\nx-from-file: yes\r\n"));
    CHECK(strstr(r.body.p, "slow down (fixture)") != NULL);
    reply_free(&r);

    r = fetch("hello", "status=429,ra=2", NULL);
    CHECK_INT(header_count(&r.head, "retry-after"), 1);
    CHECK(has_header(&r.head, "\r\nretry-after: 2\r\n"));
    reply_free(&r);

    /* No fixture needed for an injected status. */
    r = fetch("nosuchcase", "status=500", NULL);
    CHECK_INT(r.status, 500);
    reply_free(&r);
}

TEST(fail_then_ok)
{
    char f[64];
    reply r;
    int i;
    long req = 0, acc = 0;
    char *prefix;

    next_nonce(f, sizeof f, "fail=2x500,ram=20");
    for (i = 0; i < 2; i++) {
        r = fetch("hello", f, NULL);
        CHECK_INT(r.status, 500);
        CHECK(has_header(&r.head, "\r\nretry-after-ms: 20\r\n"));
        CHECK(strstr(r.body.p, "injected 500") != NULL);
        reply_free(&r);
    }
    r = fetch("hello", f, NULL);
    CHECK_INT(r.status, 200);
    CHECK_INT(header_count(&r.head, "retry-after-ms"), 0);
    CHECK(strstr(r.body.p, "demo-1") != NULL);
    reply_free(&r);

    prefix = tserver_prefix("demo", "hello", f);
    CHECK_INT(tserver_stats(prefix, &req, &acc), 0);
    CHECK_INT(req, 3);
    CHECK_INT(acc, 3);
    free(prefix);

    /* A fresh nonce gets a fresh counter; error-429 from the case dir. */
    next_nonce(f, sizeof f, "fail=1x429");
    r = fetch("hello", f, NULL);
    CHECK_INT(r.status, 429);
    CHECK(strstr(r.body.p, "slow down (fixture)") != NULL);
    reply_free(&r);
    r = fetch("hello", f, NULL);
    CHECK_INT(r.status, 200);
    reply_free(&r);
}

TEST(big_body)
{
    reply r = fetch("hello", "big=100000", NULL);
    json_t *j, *v;
    json_error_t e;
    const char *key;

    CHECK_INT(r.rc, CURLE_OK);
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r.head, "Transfer-Encoding: chunked"));
    CHECK_INT(r.body.len, 100000);
    j = json_loadb(r.body.p, r.body.len, 0, &e);
    CHECK(json_is_object(j));
    CHECK_INT(json_object_size(j), 1);
    json_object_foreach(j, key, v)
        CHECK(json_is_string(v) && json_string_length(v) > 99000);
    json_decref(j);
    reply_free(&r);

    r = fetch("hello", "big=5", NULL);
    CHECK_INT(r.body.len, 5);
    j = json_loadb(r.body.p, r.body.len, 0, &e);
    CHECK(json_is_object(j));
    json_decref(j);
    reply_free(&r);
}

TEST(sse_generated)
{
    reply r = fetch("hello", "sse=1000", "{}");
    size_t events = 0, tokens = 0;
    char *line, *save = NULL;
    int stop = 0, usage = 0, done_last = 0, bad = 0;
    int64_t t0;

    CHECK_INT(r.rc, CURLE_OK);
    CHECK(has_header(&r.head, "text/event-stream"));
    for (line = strtok_r(r.body.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j;
        json_error_t e;

        done_last = 0;
        if (strncmp(line, "data: ", 6) != 0) {
            bad++;
            continue;
        }
        events++;
        if (strcmp(line + 6, "[DONE]") == 0) {
            done_last = 1;
            continue;
        }
        j = json_loads(line + 6, 0, &e);
        if (!j)
            bad++;
        if (strstr(line, "\"content\":\"tok \""))
            tokens++;
        if (strstr(line, "\"finish_reason\":\"stop\""))
            stop++;
        if (json_object_get(j, "usage"))
            usage++;
        json_decref(j);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(tokens, 1000);
    CHECK_INT(events, 1003);
    CHECK_INT(stop, 1);
    CHECK_INT(usage, 1);
    CHECK(done_last);
    reply_free(&r);

    t0 = now_ms();
    r = fetch("hello", "sse=50000", "{}");
    CHECK_INT(r.rc, CURLE_OK);
    CHECK(r.body.len > 50000 * 100);
    CHECK(now_ms() - t0 < 3000 * scale);
    reply_free(&r);
}

TEST(delay_and_stall)
{
    bytes want = fixture_body("hello", "response");
    reply r = fetch("hello", "delay=200", NULL);

    CHECK_INT(r.status, 200);
    CHECK(r.ms >= 190);
    reply_free(&r);

    r = fetch("hello", "stall=200,stallat=10", NULL);
    CHECK_INT(r.rc, CURLE_OK);
    CHECK(r.ms >= 190);
    CHECK(r.body.len == want.len && memcmp(r.body.p, want.p, want.len) == 0);
    reply_free(&r);
    free(want.p);
}

TEST(stall_forever_ends_with_client)
{
    int fd, base, n;
    char buf[4096];
    size_t total;
    ssize_t got;
    struct pollfd pfd;
    const char *req = "GET /t/demo/hello/stall=-1,stallat=5/x HTTP/1.1\r\nHost: x\r\n\r\n";

    if (server_threads() < 0 || tserver_pid() <= 0) {
        printf("# skip: no /proc task list\n");
        return;
    }
    /* Sanitizer runtimes may keep a thread of their own, so compare with a
     * settled count rather than with 1. */
    base = settled_threads();
    CHECK(base >= 1);
    fd = connect_server();
    CHECK(fd >= 0);
    send_str(fd, req, strlen(req));
    /* The head and the first 5 body bytes may arrive in separate reads. */
    total = 0;
    while (total < sizeof buf - 1) {
        char *e;

        got = recv(fd, buf + total, sizeof buf - 1 - total, 0);
        if (got <= 0)
            break;
        total += (size_t)got;
        buf[total] = '\0';
        e = strstr(buf, "\r\n\r\n");
        if (e && (size_t)(e + 4 - buf) + 5 <= total)
            break;
    }
    buf[total] = '\0';
    CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    CHECK(strstr(buf, "\r\n\r\n{\"id\"") != NULL);
    CHECK(strstr(buf, "\r\n\r\n{\"id\"") && strlen(strstr(buf, "\r\n\r\n")) == 9);
    pfd.fd = fd;
    pfd.events = POLLIN;
    CHECK_INT(poll(&pfd, 1, 150), 0); /* nothing more comes */
    n = wait_threads(base + 1, 1);
    CHECK_INT(n, base + 1);
    close(fd);
    n = wait_threads(base, 0);
    CHECK_INT(n, base);
}

TEST(close_fault)
{
    const char *req = "GET /t/demo/hello/close/x HTTP/1.1\r\nHost: x\r\n\r\n";
    int err;
    bytes raw = raw_exchange(req, strlen(req), &err); /* returns only when the server closes */

    CHECK_INT(err, 0);
    CHECK(has_header(&raw, "\r\nConnection: close\r\n"));
    CHECK(strstr(body_of(&raw), "demo-1") != NULL);
    free(raw.p);
}

TEST(recording)
{
    char f[64], *url, *prefix;
    json_t *arr, *rec, *h;
    size_t i;
    int found = 0;
    struct curl_slist *hdrs = NULL;
    const char *body = "{\"msg\":\"caf\xc3\xa9 \\\"q\\\" \xf0\x9f\x98\x80\",\"bin\":\"\x01\xff\"}";
    reply r;

    next_nonce(f, sizeof f, "");
    url = tserver_url("demo", "hello", f, "v1/chat/completions?api-version=1");
    hdrs = curl_slist_append(hdrs, "X-Test: abc");
    r = fetch_with(NULL, url, body, hdrs);
    reply_free(&r);
    r = fetch_with(NULL, url, "second", NULL);
    reply_free(&r);
    r = fetch("hello", "ok", "elsewhere");
    reply_free(&r);

    prefix = tserver_prefix("demo", "hello", f);
    arr = tserver_requests(prefix);
    CHECK(json_is_array(arr));
    CHECK_INT(json_array_size(arr), 2);
    rec = json_array_get(arr, 0);
    CHECK_STR(json_string_value(json_object_get(rec, "method")), "POST");
    {
        char want[128];

        snprintf(want, sizeof want, "%s/v1/chat/completions", prefix);
        CHECK_STR(json_string_value(json_object_get(rec, "path")), want);
    }
    CHECK_STR(json_string_value(json_object_get(rec, "query")), "api-version=1");
    CHECK_INT(json_integer_value(json_object_get(rec, "body_bytes")), strlen(body));
    {
        /* Valid UTF-8 is kept; the stray bytes come back as U+0001/U+00FF. */
        const char *got = json_string_value(json_object_get(rec, "body"));

        CHECK(got && strncmp(got, body, strlen(body) - 6) == 0);
        CHECK(got && strstr(got, "\"bin\":\"\x01\xc3\xbf\"}") != NULL);
    }
    h = json_object_get(rec, "headers");
    for (i = 0; i < json_array_size(h); i++) {
        json_t *pair = json_array_get(h, i);

        if (strcmp(json_string_value(json_array_get(pair, 0)), "X-Test") == 0) {
            found = 1;
            CHECK_STR(json_string_value(json_array_get(pair, 1)), "abc");
        }
    }
    CHECK(found);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 1), "body")), "second");
    CHECK(json_is_true(json_object_get(rec, "new_connection")));
    json_decref(arr);

    /* A prefix that reaches into the provider's path filters the records. */
    {
        char longer[160];
        long req = -1, acc = -1;

        snprintf(longer, sizeof longer, "%s/v1/chat", prefix);
        arr = tserver_requests(longer);
        CHECK_INT(json_array_size(arr), 2);
        json_decref(arr);
        snprintf(longer, sizeof longer, "%s/v2", prefix);
        arr = tserver_requests(longer);
        CHECK_INT(json_array_size(arr), 0);
        json_decref(arr);
        CHECK_INT(tserver_stats(longer, &req, &acc), 0);
        CHECK_INT(req, 0);
    }
    /* Control requests are never recorded. */
    arr = tserver_requests("/_/");
    CHECK_INT(json_array_size(arr), 0);
    json_decref(arr);
    curl_slist_free_all(hdrs);
    free(prefix);
    free(url);
}

/* Sends a body chunked, with Expect: 100-continue. */
static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
    const char **p = ud;
    size_t left = strlen(*p), take = left < 7 ? left : 7;

    (void)size;
    (void)n;
    memcpy(buf, *p, take);
    *p += take;
    return take;
}

TEST(chunked_request_and_expect)
{
    char f[64], *url, *prefix;
    const char *body = "{\"chunked\":true,\"text\":\"abcdefghijklmnopqrstuvwxyz\"}", *cur = body;
    struct curl_slist *hdrs = NULL;
    CURL *h = curl_easy_init();
    bytes out = { NULL, 0, 0 };
    json_t *arr;
    long code = 0;
    int64_t t0;
    CURLcode rc;

    next_nonce(f, sizeof f, "");
    url = tserver_url("demo", "hello", f, "v1");
    hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    hdrs = curl_slist_append(hdrs, "Expect: 100-continue");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &cur);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 5000L);
    t0 = now_ms();
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    CHECK_INT(rc, CURLE_OK);
    CHECK_INT(code, 200);
    /* The server answered 100 Continue rather than letting curl time out. */
    CHECK(now_ms() - t0 < 2500 * scale);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(out.p);

    prefix = tserver_prefix("demo", "hello", f);
    arr = tserver_requests(prefix);
    CHECK_INT(json_array_size(arr), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0), "body")), body);
    json_decref(arr);
    free(prefix);
    free(url);
}

TEST(keepalive_counts_one_accept)
{
    char f[64], *url, *prefix;
    CURL *h = curl_easy_init();
    long req = 0, acc = 0;
    int i, ok = 0;
    struct curl_slist *close_hdr = curl_slist_append(NULL, "Connection: close");
    json_t *arr;

    next_nonce(f, sizeof f, "");
    url = tserver_url("demo", "hello", f, "v1/chat/completions");
    for (i = 0; i < 1005; i++) {
        char body[64];
        reply r;

        snprintf(body, sizeof body, "{\"i\":%d,\"stream\":%s}", i, i % 2 ? "true" : "false");
        r = fetch_with(h, url, body, NULL);
        ok += r.status == 200 && r.rc == CURLE_OK &&
              (strstr(r.body.p, "data: ") != NULL) == (i % 2);
        reply_free(&r);
    }
    curl_easy_cleanup(h);
    CHECK_INT(ok, 1005);
    prefix = tserver_prefix("demo", "hello", f);
    CHECK_INT(tserver_stats(prefix, &req, &acc), 0);
    CHECK_INT(req, 1005);
    CHECK_INT(acc, 1);
    /* Only the last 1000 are kept. */
    arr = tserver_requests(prefix);
    CHECK_INT(json_array_size(arr), 1000);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0), "body")),
              "{\"i\":5,\"stream\":true}");
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 999), "body")),
              "{\"i\":1004,\"stream\":false}");
    CHECK(json_is_false(json_object_get(json_array_get(arr, 0), "new_connection")));
    json_decref(arr);
    arr = tserver_requests("/t/demo/hello/n");
    CHECK(json_array_size(arr) >= 1000);
    json_decref(arr);
    free(prefix);
    free(url);

    /* Connection: close from the client ends each connection. */
    next_nonce(f, sizeof f, "");
    url = tserver_url("demo", "hello", f, "v1");
    h = curl_easy_init();
    for (i = 0; i < 5; i++) {
        reply r = fetch_with(h, url, NULL, close_hdr);

        CHECK(has_header(&r.head, "Connection: close"));
        reply_free(&r);
    }
    curl_easy_cleanup(h);
    prefix = tserver_prefix("demo", "hello", f);
    CHECK_INT(tserver_stats(prefix, &req, &acc), 0);
    CHECK_INT(req, 5);
    CHECK_INT(acc, 5);
    free(prefix);
    free(url);
    curl_slist_free_all(close_hdr);
}

TEST(missing_fixture_404)
{
    reply r = fetch("nosuchcase", "ok", NULL);
    json_t *j;
    json_error_t e;
    const char *msg;

    CHECK_INT(r.status, 404);
    j = json_loads(r.body.p, 0, &e);
    msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    CHECK(msg && strstr(msg, "demo/nosuchcase/response") != NULL);
    json_decref(j);
    reply_free(&r);

    r = fetch("crlf", "ok", "{\"stream\":true}");
    CHECK_INT(r.status, 404);
    CHECK(strstr(r.body.p, "demo/crlf/response.stream") != NULL);
    reply_free(&r);

    {
        int err;
        bytes raw = raw_get("/t/demo", &err);

        CHECK(strncmp(raw.p, "HTTP/1.1 404 ", 13) == 0);
        free(raw.p);
        raw = raw_get("/t/demo/../ok/x", &err);
        CHECK(strncmp(raw.p, "HTTP/1.1 404 ", 13) == 0);
        free(raw.p);
    }
}

TEST(malformed_requests)
{
    int err;
    bytes raw;
    char *big;
    size_t n = 70 * 1024;
    char *pong;

    raw = raw_str("GARBAGE\r\n\r\n", &err);
    CHECK(strncmp(raw.p, "HTTP/1.1 400 ", 13) == 0);
    free(raw.p);

    raw = raw_str("GET /x HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", &err);
    CHECK(strncmp(raw.p, "HTTP/1.1 400 ", 13) == 0);
    free(raw.p);

    raw = raw_str("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &err);
    CHECK(strncmp(raw.p, "HTTP/1.1 400 ", 13) == 0);
    free(raw.p);

    big = malloc(n + 64);
    memcpy(big, "GET /x HTTP/1.1\r\nX-Big: ", 24);
    memset(big + 24, 'a', n);
    memcpy(big + 24 + n, "\r\n\r\n", 4);
    raw = raw_exchange(big, n + 28, &err);
    CHECK(strncmp(raw.p, "HTTP/1.1 431 ", 13) == 0);
    free(raw.p);
    free(big);

    raw = raw_exchange("\x00\x01\x02\r\n\r\n", 7, &err);
    CHECK(strncmp(raw.p, "HTTP/1.1 400 ", 13) == 0);
    free(raw.p);

    pong = tserver_get("/_/ping");
    CHECK(pong != NULL);
    free(pong);
}

TEST(pipelined_requests)
{
    const char *req = "GET /t/demo/crlf/ok/a HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /t/demo/crlf/ok/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                      "GET /t/demo/crlf/ok/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int err, count = 0;
    bytes raw = raw_exchange(req, strlen(req), &err);
    const char *p = raw.p;

    while ((p = strstr(p, "HTTP/1.1 201 Created")) != NULL) {
        count++;
        p++;
    }
    CHECK_INT(count, 3);
    free(raw.p);
}

TEST(thousand_connections)
{
    enum { N = 1000 };
    static int fds[N];
    struct rlimit rl;
    char f[64], req[256];
    char *prefix;
    int i, opened = 0, ok = 0, len, threads;
    long req_n = 0, acc = 0;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < N + 64) {
        printf("# skip: RLIMIT_NOFILE too low for %d connections\n", N);
        return;
    }
    next_nonce(f, sizeof f, "");
    len = snprintf(req, sizeof req, "GET /t/demo/crlf/%s/x HTTP/1.1\r\nHost: x\r\n\r\n", f);
    for (i = 0; i < N; i++) {
        fds[i] = connect_server();
        if (fds[i] < 0)
            break;
        opened++;
        send_str(fds[i], req, (size_t)len);
    }
    CHECK_INT(opened, N);
    for (i = 0; i < opened; i++) {
        char buf[512];
        ssize_t r = recv(fds[i], buf, sizeof buf - 1, 0);

        if (r > 0) {
            buf[r] = '\0';
            ok += strncmp(buf, "HTTP/1.1 201 Created\r\n", 22) == 0;
        }
    }
    CHECK_INT(ok, N);
    /* Every connection is still open, so every thread is alive at once. */
    threads = server_threads();
    if (threads >= 0)
        CHECK(threads >= N + 1);
    for (i = 0; i < opened; i++)
        close(fds[i]);
    prefix = tserver_prefix("demo", "crlf", f);
    CHECK_INT(tserver_stats(prefix, &req_n, &acc), 0);
    CHECK_INT(req_n, N);
    CHECK_INT(acc, N);
    free(prefix);
}

TEST(reset_endpoint)
{
    char f[64], *prefix;
    reply r;
    long req = -1, acc = -1;
    char *ok;

    next_nonce(f, sizeof f, "fail=1x500");
    r = fetch("hello", f, NULL);
    CHECK_INT(r.status, 500);
    reply_free(&r);
    prefix = tserver_prefix("demo", "hello", f);
    CHECK_INT(tserver_stats(prefix, &req, &acc), 0);
    CHECK_INT(req, 1);
    CHECK_INT(tserver_reset(), 0);
    CHECK_INT(tserver_stats(prefix, &req, &acc), 0);
    CHECK_INT(req, 0);
    CHECK_INT(acc, 0);
    /* The fail counter starts over too. */
    r = fetch("hello", f, NULL);
    CHECK_INT(r.status, 500);
    reply_free(&r);
    ok = tserver_get("/_/nonexistent");
    CHECK(ok == NULL);
    free(prefix);
}

int main(void)
{
    const char *s = getenv("LLM_TEST_TIME_SCALE");

    if (s && atol(s) > 1)
        scale = atol(s);
    /* This test needs its own fixture root, never a shared server. */
    unsetenv("LLM_TEST_PORT");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (tserver_start(ROOT) < 0) {
        printf("not ok - tserver_start\n");
        printf("# totals 0 1\n");
        curl_global_cleanup();
        return 1;
    }
    RUN(url_helpers);
    RUN(fixture_served_with_headers);
    RUN(fixture_framing_headers_replaced);
    RUN(fixture_crlf_and_binary);
    RUN(stream_file_chosen);
    RUN(split_same_bytes_small_chunks);
    RUN(cut_truncates_chunked_body);
    RUN(reset_sends_rst);
    RUN(badjson_sends_half);
    RUN(status_injected);
    RUN(fail_then_ok);
    RUN(big_body);
    RUN(sse_generated);
    RUN(delay_and_stall);
    RUN(stall_forever_ends_with_client);
    RUN(close_fault);
    RUN(recording);
    RUN(chunked_request_and_expect);
    RUN(keepalive_counts_one_accept);
    RUN(missing_fixture_404);
    RUN(malformed_requests);
    RUN(pipelined_requests);
    RUN(thousand_connections);
    RUN(reset_endpoint);
    tserver_stop();
    curl_global_cleanup();
    return test_summary();
}
