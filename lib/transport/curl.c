/*
 * curl.c - one HTTP exchange on a libcurl easy handle, and the per-client
 * pool of handles and the share handle for DNS and TLS sessions.
 */
#include "transport/transport.h"
#include "core/client.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>

/* curl's share interface needs locking when handles on several threads use
 * it; one mutex per shared data kind keeps DNS and TLS lookups apart. */
static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *ud)
{
    (void)h;
    (void)a;
    llm_client *c = ud;
    pthread_mutex_lock(&c->share_locks[data % 4]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    llm_client *c = ud;
    pthread_mutex_unlock(&c->share_locks[data % 4]);
}

int llm__transport_client_init(llm_client *c)
{
    for (int i = 0; i < 4; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    CURLSH *sh = curl_share_init();
    if (!sh)
        return LLM_ERR_NOMEM;
    /* Only DNS and TLS sessions: curl's shared connection cache is not
     * thread-safe, so connections pool per handle (DESIGN.md 5.8). */
    curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(sh, CURLSHOPT_USERDATA, c);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    c->share = sh;
    return LLM_OK;
}

void llm__conn_free(struct llm__conn *conn)
{
    if (!conn)
        return;
    if (conn->easy)
        curl_easy_cleanup(conn->easy);
    if (conn->multi)
        curl_multi_cleanup(conn->multi);
    llm__free(conn);
}

void llm__transport_client_cleanup(llm_client *c)
{
    struct llm__conn *conn = c->idle;
    while (conn) {
        struct llm__conn *next = conn->next;
        llm__conn_free(conn);
        conn = next;
    }
    c->idle = NULL;
    if (c->share)
        curl_share_cleanup(c->share);
    c->share = NULL;
    for (int i = 0; i < 4; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud);
static size_t on_write(char *p, size_t size, size_t n, void *ud);

CURL *llm__easy_new(llm_client *c)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    if (c->share)
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    /* What is the same for every transfer of a handle is set once here:
     * options stay on a handle, and some (the encodings, the protocol list)
     * cost more to set than the rest of a transfer's setup together.
     * llm__xfer_setup sets the rest, including everything that depends on
     * the client, as a handle of a multi may serve a fallback client. */
    if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "libllm/" LLM_VERSION_STRING) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

struct llm__conn *llm__conn_take(llm_client *c)
{
    pthread_mutex_lock(&c->lock);
    struct llm__conn *conn = c->idle;
    if (conn)
        c->idle = conn->next;
    pthread_mutex_unlock(&c->lock);
    if (conn) {
        conn->next = NULL;
        return conn;
    }
    conn = llm__calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    conn->multi = curl_multi_init();
    conn->easy = llm__easy_new(c);
    if (!conn->multi || !conn->easy) {
        llm__conn_free(conn);
        return NULL;
    }
    return conn;
}

void llm__conn_give(llm_client *c, struct llm__conn *conn)
{
    if (!conn)
        return;
    /* A pool as deep as the concurrency the host has shown; each entry keeps
     * its connections, so bound it rather than let idle sockets pile up. */
    pthread_mutex_lock(&c->lock);
    size_t depth = 0;
    for (struct llm__conn *p = c->idle; p; p = p->next)
        depth++;
    if (depth < 16) {
        conn->next = c->idle;
        c->idle = conn;
        conn = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    llm__conn_free(conn);
}

static int add_header(struct llm__xfer *x, const char *name, size_t nl, const char *value, size_t vl)
{
    if (x->nheaders == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        struct llm__header *h = llm__realloc(x->headers, cap * sizeof *h);
        if (!h)
            return LLM_ERR_NOMEM;
        x->headers = h;
        x->cap = cap;
    }
    char *n = llm__strndup(name, nl), *v = llm__strndup(value, vl);
    if (!n || !v) {
        llm__free(n);
        llm__free(v);
        return LLM_ERR_NOMEM;
    }
    x->headers[x->nheaders].name = n;
    x->headers[x->nheaders].value = v;
    x->nheaders++;
    return LLM_OK;
}

static void clear_headers(struct llm__xfer *x)
{
    for (size_t i = 0; i < x->nheaders; i++) {
        llm__free(x->headers[i].name);
        llm__free(x->headers[i].value);
    }
    x->nheaders = 0;
}

static void saw_bytes(struct llm__xfer *x)
{
    x->last_byte_ms = llm__now_ms();
    if (!x->first_byte_ms)
        x->first_byte_ms = x->last_byte_ms;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct llm__xfer *x = ud;
    size_t len = size * n;
    saw_bytes(x);
    size_t l = len;
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        l--;
    if (l >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new status line starts a new header block (100 Continue,
         * redirects): only the final block describes the response. */
        clear_headers(x);
        const char *sp = memchr(p, ' ', l);
        x->status = sp ? atoi(sp + 1) : 0;
        x->in_headers = 1;
        return len;
    }
    if (l == 0) {
        x->in_headers = 0;
        return len;
    }
    const char *colon = memchr(p, ':', l);
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    while (v < p + l && (*v == ' ' || *v == '\t'))
        v++;
    if (add_header(x, p, nl, v, (size_t)(p + l - v)) != LLM_OK) {
        x->abort_status = LLM_ERR_NOMEM;
        return 0;
    }
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct llm__xfer *x = ud;
    size_t len = size * n;
    saw_bytes(x);
    int rc = x->on_body(x->ud, p, len);
    if (rc != LLM_OK) {
        x->abort_status = rc;
        return 0;
    }
    return len;
}

int llm__xfer_setup(struct llm__xfer *x, CURL *e, const struct llm__http_req *req,
                    const struct llm__xfer_opts *o)
{
    memset(x, 0, sizeof *x);
    x->easy = e;
    x->on_body = o->on_body;
    x->ud = o->ud;
    x->last_byte_ms = llm__now_ms();
    /* The handle comes from llm__easy_new, which set the fixed options. */
    curl_easy_setopt(e, CURLOPT_URL, req->url.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body.data ? req->body.data : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, o->private_ptr);
    x->errbuf[0] = '\0';
    /* curl would send "Expect: 100-continue" for large bodies and wait a
     * second for a reply most API servers never send. */
    struct curl_slist *sl = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; sl && i < req->nheaders; i++) {
        /* "name: value" put together by hand: this runs for every header of
         * every attempt, and printf cost more than the rest of the setup. */
        char small[512], *line = small;
        size_t nl = strlen(req->headers[i].name), vl = strlen(req->headers[i].value);
        size_t len = nl + 2 + vl;
        if (len >= sizeof small && !(line = llm__malloc(len + 1))) {
            curl_slist_free_all(sl);
            return LLM_ERR_NOMEM;
        }
        memcpy(line, req->headers[i].name, nl);
        memcpy(line + nl, ": ", 2);
        memcpy(line + nl + 2, req->headers[i].value, vl);
        line[len] = '\0';
        struct curl_slist *n2 = curl_slist_append(sl, line);
        /* The line held a credential: wipe our copy (curl keeps its own). */
        OPENSSL_cleanse(line, len);
        if (line != small)
            llm__free(line);
        if (!n2) {
            curl_slist_free_all(sl);
            return LLM_ERR_NOMEM;
        }
        sl = n2;
    }
    if (!sl)
        return LLM_ERR_NOMEM;
    x->slist = sl;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl);
    return LLM_OK;
}

void llm__xfer_cleanup(struct llm__xfer *x)
{
    if (x->easy) {
        /* Drop pointers into memory about to be freed before the handle is
         * reused for another transfer. */
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, NULL);
    }
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    clear_headers(x);
    llm__free(x->headers);
    x->headers = NULL;
    x->cap = 0;
}

int llm__xfer_status(const struct llm__xfer *x, CURLcode rc, llm__buf *why)
{
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OK:
        return LLM_OK;
    case CURLE_OUT_OF_MEMORY:
        llm__buf_puts(why, "out of memory in libcurl");
        return LLM_ERR_NOMEM;
    case CURLE_OPERATION_TIMEDOUT:
        llm__buf_printf(why, "timed out: %s", detail);
        return LLM_ERR_TIMEOUT;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        llm__buf_printf(why, "bad URL: %s", detail);
        return LLM_ERR_INVALID_ARG;
    default:
        llm__buf_printf(why, "network error: %s", detail);
        return LLM_ERR_NETWORK;
    }
}
