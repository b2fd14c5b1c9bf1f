/*
 * llmtestd.c - libllm's loopback HTTP/1.1 test server: command line,
 * listening socket, one detached thread per connection, request reader.
 *
 *   llmtestd --root DIR [--port N] [--quiet] [--stdin-exit]
 *
 * Binds 127.0.0.1 only (port 0 = ephemeral), prints "PORT <n>" once it is
 * listening, and serves until SIGTERM/SIGINT, or until its stdin reaches
 * EOF with --stdin-exit (so that a test binary that dies cannot leave a
 * server behind).  Everything lives in this process: two servers started by
 * `make -j2` share nothing.  The URL scheme and the fault tokens are
 * documented in tests/server/README.md.
 */
#include "llmtestd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX      (64 * 1024)
#define LINE_MAX_LEN  (8 * 1024)
#define BODY_MAX      ((size_t)256 * 1024 * 1024)
/* What conn_wait buffers from a peer while a reply is paused. */
#define WAIT_BUF_MAX  (1024 * 1024)

/* Sanitizers grow frames and keep their own per-thread state, so the small
 * stack that lets a thousand connections fit is only used without them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THREAD_STACK (512 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define THREAD_STACK (512 * 1024)
#endif
#endif
#ifndef THREAD_STACK
#define THREAD_STACK (64 * 1024)
#endif

server g_server;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int sig_pipe[2] = { -1, -1 };

void log_line(const char *fmt, ...)
{
    va_list ap;

    if (g_server.quiet)
        return;
    pthread_mutex_lock(&log_mu);
    fputs("llmtestd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_mu);
}

/* ---- socket I/O ---- */

int conn_send(conn *c, const void *p, size_t n)
{
    const char *s = p;

    if (c->fd < 0 || c->peer_gone)
        return -1;
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            c->peer_gone = 1;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int conn_send_chunk(conn *c, const void *p, size_t n)
{
    char line[24];
    struct iovec iov[3];
    struct msghdr msg;
    size_t total, done = 0;
    int k;

    if (n == 0)
        return 0; /* an empty chunk would end the body */
    if (c->fd < 0 || c->peer_gone)
        return -1;
    k = snprintf(line, sizeof line, "%zx\r\n", n);
    iov[0].iov_base = line;
    iov[0].iov_len = (size_t)k;
    iov[1].iov_base = (void *)(uintptr_t)p;
    iov[1].iov_len = n;
    iov[2].iov_base = (void *)(uintptr_t)"\r\n";
    iov[2].iov_len = 2;
    total = (size_t)k + n + 2;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = 3;
    /* One sendmsg per chunk so that, with TCP_NODELAY, a split reply
     * reaches the client as separate segments. */
    while (done < total) {
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        size_t adv;

        if (w < 0) {
            if (errno == EINTR)
                continue;
            c->peer_gone = 1;
            return -1;
        }
        done += (size_t)w;
        adv = (size_t)w;
        while (adv > 0 && msg.msg_iovlen > 0) {
            if (adv >= msg.msg_iov[0].iov_len) {
                adv -= msg.msg_iov[0].iov_len;
                msg.msg_iov++;
                msg.msg_iovlen--;
            } else {
                msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + adv;
                msg.msg_iov[0].iov_len -= adv;
                adv = 0;
            }
        }
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Grows the receive buffer so that it can hold at least want bytes. */
static int rbuf_room(conn *c, size_t want)
{
    size_t cap;
    char *p;

    if (want <= c->rcap)
        return 0;
    cap = c->rcap ? c->rcap : 16384;
    while (cap < want)
        cap *= 2;
    p = realloc(c->rbuf, cap);
    if (!p)
        return -1;
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

/* Receives more bytes: >0 on data, 0 on orderly EOF, -1 on error. */
static ssize_t conn_fill(conn *c)
{
    ssize_t r;

    if (c->rlen == c->rcap && rbuf_room(c, c->rcap ? c->rcap * 2 : 16384) != 0)
        return -1;
    do
        r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0)
        c->rlen += (size_t)r;
    else
        c->peer_gone = 1;
    return r;
}

static void conn_consume(conn *c, size_t n)
{
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

int conn_wait(conn *c, int64_t ms)
{
    int64_t deadline = ms >= 0 ? now_ms() + ms : 0;

    if (c->fd < 0 || c->peer_gone)
        return 1;
    for (;;) {
        struct pollfd pfd;
        int timeout = -1, r;

        if (ms >= 0) {
            int64_t left = deadline - now_ms();

            if (left <= 0)
                return 0;
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        pfd.fd = c->fd;
        pfd.events = 0;
        pfd.revents = 0;
        /* Keep reading while there is room, so that an EOF is seen; once
         * the buffer is full, POLLRDHUP still reports the close. */
        if (c->rlen < WAIT_BUF_MAX)
            pfd.events |= POLLIN;
#ifdef POLLRDHUP
        pfd.events |= POLLRDHUP;
#endif
        r = poll(&pfd, 1, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (r == 0)
            continue;
        if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            c->peer_gone = 1;
            return 1;
        }
        if (pfd.revents & POLLIN) {
            if (conn_fill(c) <= 0)
                return 1;
            continue;
        }
#ifdef POLLRDHUP
        if (pfd.revents & POLLRDHUP) {
            c->peer_gone = 1;
            return 1;
        }
#endif
    }
}

void conn_close_graceful(conn *c)
{
    int64_t deadline = now_ms() + 2000;
    char scratch[512];
    size_t drained = 0;

    if (c->fd < 0)
        return;
    /* Closing with unread bytes in the receive queue makes the kernel send
     * an RST, which can destroy the reply before the client reads it; so
     * half-close first and wait (briefly) for the client's own close. */
    if (!c->peer_gone && shutdown(c->fd, SHUT_WR) == 0) {
        for (;;) {
            struct pollfd pfd = { c->fd, POLLIN, 0 };
            int64_t left = deadline - now_ms();
            ssize_t r;

            if (left <= 0 || drained > WAIT_BUF_MAX)
                break;
            if (poll(&pfd, 1, (int)left) <= 0)
                break;
            r = recv(c->fd, scratch, sizeof scratch, 0);
            if (r <= 0)
                break;
            drained += (size_t)r;
        }
    }
    close(c->fd);
    c->fd = -1;
}

void conn_close_reset(conn *c)
{
    struct linger lg = { 1, 0 };

    if (c->fd < 0)
        return;
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c->fd);
    c->fd = -1;
}

/* ---- request reader ---- */

enum { RD_OK = 0, RD_EOF = 1, RD_GONE = 2 };

static void request_free(request *rq)
{
    free(rq->head);
    free(rq->path);
    free(rq->query);
    free(rq->hdrs);
    free(rq->body);
    memset(rq, 0, sizeof *rq);
}

/* Offset just past the empty line that ends a head in p[0..n), or 0. */
static size_t head_end(const char *p, size_t n, size_t from)
{
    size_t i;

    for (i = from; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int token_list_has(const char *v, const char *tok)
{
    size_t n = strlen(tok);

    while (*v) {
        size_t len;

        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        len = strcspn(v, ",");
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (len == n && ascii_casecmp_n(v, tok, n) == 0)
            return 1;
        v += strcspn(v, ",");
    }
    return 0;
}

/* Splits the owned head into request line and headers, in place.  Returns
 * 0 or an HTTP status for the error reply. */
static int parse_head(request *rq)
{
    char *p = rq->head, *line, *sp1, *sp2, *q;
    size_t cap = 16;

    line = p;
    p = strchr(p, '\n');
    *p++ = '\0';
    if (p - line >= 2 && p[-2] == '\r')
        p[-2] = '\0';
    sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line)
        return 400;
    *sp1 = '\0';
    for (q = line; *q; q++)
        if (!is_tchar((unsigned char)*q))
            return 400;
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2 || sp2 == sp1 + 1)
        return 400;
    *sp2 = '\0';
    rq->method = line;
    rq->target = sp1 + 1;
    for (q = sp1 + 1; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7F)
            return 400;
    if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
        rq->http10 = 0;
    else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
        rq->http10 = 1;
    else
        return 400;

    rq->hdrs = malloc(cap * sizeof *rq->hdrs);
    if (!rq->hdrs)
        return 500;
    while (*p) {
        char *colon, *v, *end;

        line = p;
        p = strchr(p, '\n');
        *p++ = '\0';
        end = p - 1;
        if (end > line && end[-1] == '\r')
            *--end = '\0';
        if (end == line)
            break; /* the blank line */
        if (*line == ' ' || *line == '\t')
            return 400; /* obsolete line folding */
        colon = strchr(line, ':');
        if (!colon || colon == line)
            return 400;
        for (q = line; q < colon; q++)
            if (!is_tchar((unsigned char)*q))
                return 400;
        *colon = '\0';
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        for (q = v; *q; q++)
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7F)
                return 400;
        if (rq->nhdrs == cap) {
            header *h = realloc(rq->hdrs, cap * 2 * sizeof *h);

            if (!h)
                return 500;
            rq->hdrs = h;
            cap *= 2;
        }
        rq->hdrs[rq->nhdrs].name = line;
        rq->hdrs[rq->nhdrs].value = v;
        rq->nhdrs++;
    }
    return 0;
}

/* Splits the target into path and query; absolute-form targets keep only
 * their path. */
static int split_target(request *rq)
{
    const char *t = rq->target, *qm, *hash;
    size_t plen;

    if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0) {
        t = strchr(t + (t[4] == 's' ? 8 : 7), '/');
        if (!t)
            t = "/";
    }
    if (*t != '/')
        return 400;
    hash = strchr(t, '#');
    qm = strchr(t, '?');
    if (hash && qm && qm > hash)
        qm = NULL;
    plen = qm ? (size_t)(qm - t) : hash ? (size_t)(hash - t) : strlen(t);
    rq->path = strndup(t, plen);
    rq->query = qm ? strndup(qm + 1, hash ? (size_t)(hash - qm - 1) : strlen(qm + 1))
                   : strdup("");
    return rq->path && rq->query ? 0 : 500;
}

/* Reads one line of a chunked body at *pos (CRLF or LF ended); returns its
 * length, with *start set, or -1 on EOF/oversize. */
static long chunk_line(conn *c, size_t *pos, size_t *start)
{
    for (;;) {
        char *nl = c->rlen > *pos ? memchr(c->rbuf + *pos, '\n', c->rlen - *pos) : NULL;

        if (nl) {
            size_t end = (size_t)(nl - c->rbuf), len;

            *start = *pos;
            *pos = end + 1;
            len = end - *start;
            if (len > 0 && c->rbuf[end - 1] == '\r')
                len--;
            return (long)len;
        }
        if (c->rlen - *pos > LINE_MAX_LEN || conn_fill(c) <= 0)
            return -1;
    }
}

static int read_chunked(conn *c, request *rq)
{
    sbuf body;
    size_t pos = 0, start;
    long len;

    sbuf_init(&body);
    for (;;) {
        uint64_t size = 0;
        size_t i;
        int digits = 0;

        len = chunk_line(c, &pos, &start);
        if (len < 0)
            goto bad;
        for (i = 0; i < (size_t)len; i++) {
            char ch = c->rbuf[start + i];
            int d = ch >= '0' && ch <= '9' ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;

            if (d < 0)
                break;
            if (++digits > 15)
                goto bad;
            size = size * 16 + (uint64_t)d;
        }
        if (digits == 0 || (i < (size_t)len && c->rbuf[start + i] != ';' &&
                            c->rbuf[start + i] != ' ' && c->rbuf[start + i] != '\t'))
            goto bad;
        if (size == 0)
            break;
        if (size > BODY_MAX || body.len + size > BODY_MAX) {
            sbuf_free(&body);
            return 413;
        }
        while (c->rlen - pos < size + 2) {
            if (rbuf_room(c, pos + (size_t)size + 2) != 0 || conn_fill(c) <= 0)
                goto bad;
        }
        sbuf_add(&body, c->rbuf + pos, (size_t)size);
        pos += (size_t)size;
        if (c->rbuf[pos] == '\r' && c->rbuf[pos + 1] == '\n')
            pos += 2;
        else
            goto bad;
        /* Keep the buffer from holding the whole body twice. */
        conn_consume(c, pos);
        pos = 0;
    }
    /* Trailer fields, up to the blank line; they are not recorded. */
    for (;;) {
        len = chunk_line(c, &pos, &start);
        if (len < 0)
            goto bad;
        if (len == 0)
            break;
        if (pos > HEAD_MAX)
            goto bad;
    }
    conn_consume(c, pos);
    if (body.failed)
        goto bad;
    rq->body = body.data ? body.data : calloc(1, 1);
    rq->body_len = body.len;
    return rq->body ? 0 : 500;
bad:
    sbuf_free(&body);
    return c->peer_gone ? -1 : 400;
}

static const char *req_header(const request *rq, const char *name)
{
    size_t i;

    for (i = 0; i < rq->nhdrs; i++)
        if (strcasecmp(rq->hdrs[i].name, name) == 0)
            return rq->hdrs[i].value;
    return NULL;
}

/* Reads one request.  Returns RD_OK, RD_EOF (clean close between
 * requests), RD_GONE, or an HTTP error status to answer before closing. */
static int read_request(conn *c, request *rq)
{
    size_t end = 0, scanned = 0, i;
    const char *cl = NULL, *te = NULL;
    uint64_t clen = 0;
    int rc, expect = 0;

    memset(rq, 0, sizeof *rq);
    for (;;) {
        /* RFC 9112 §2.2: ignore empty lines before a request line. */
        while (c->rlen > 0 && (c->rbuf[0] == '\r' || c->rbuf[0] == '\n'))
            conn_consume(c, 1);
        if (c->rlen > 0) {
            end = head_end(c->rbuf, c->rlen, scanned);
            if (end)
                break;
            scanned = c->rlen > 2 ? c->rlen - 2 : 0;
        }
        if (c->rlen > HEAD_MAX)
            return 431;
        if (conn_fill(c) <= 0)
            return c->rlen == 0 ? RD_EOF : RD_GONE;
    }
    if (end > HEAD_MAX)
        return 431;
    rq->head = malloc(end + 1);
    if (!rq->head)
        return 500;
    memcpy(rq->head, c->rbuf, end);
    rq->head[end] = '\0';
    conn_consume(c, end);
    if (memchr(rq->head, '\0', end))
        return 400;
    if ((rc = parse_head(rq)) != 0 || (rc = split_target(rq)) != 0)
        return rc;

    for (i = 0; i < rq->nhdrs; i++) {
        const char *n = rq->hdrs[i].name, *v = rq->hdrs[i].value;

        if (strcasecmp(n, "Content-Length") == 0) {
            uint64_t x;

            if (parse_u64(v, strlen(v), &x) != 0 || (cl && x != clen))
                return 400;
            cl = v;
            clen = x;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
            if (te || strcasecmp(v, "chunked") != 0)
                return te ? 400 : 501;
            te = v;
        } else if (strcasecmp(n, "Connection") == 0) {
            if (token_list_has(v, "close"))
                rq->want_close = 1;
        } else if (strcasecmp(n, "Expect") == 0) {
            if (strcasecmp(v, "100-continue") == 0)
                expect = 1;
        }
    }
    if (rq->http10) {
        const char *conn_h = req_header(rq, "Connection");

        if (!conn_h || !token_list_has(conn_h, "keep-alive"))
            rq->want_close = 1;
    }
    if (te && cl)
        return 400; /* RFC 9112 §6.3: a smuggling pattern, refuse it */

    if (expect && !rq->http10 && (te || clen > 0) && c->rlen == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

        if (conn_send(c, cont, sizeof cont - 1) != 0)
            return RD_GONE;
    }
    if (te) {
        rc = read_chunked(c, rq);
        return rc < 0 ? RD_GONE : rc;
    }
    if (clen > BODY_MAX)
        return 413;
    if (rbuf_room(c, (size_t)clen) != 0)
        return 500;
    while (c->rlen < clen)
        if (conn_fill(c) <= 0)
            return RD_GONE;
    rq->body = malloc((size_t)clen + 1);
    if (!rq->body)
        return 500;
    memcpy(rq->body, c->rbuf, (size_t)clen);
    rq->body[clen] = '\0';
    rq->body_len = (size_t)clen;
    conn_consume(c, (size_t)clen);
    return RD_OK;
}

static void error_reply(conn *c, int status)
{
    sbuf b;

    sbuf_init(&b);
    sbuf_addf(&b, "{\"error\":{\"message\":\"%s\",\"type\":\"bad_request\",\"code\":%d}}",
              reason_phrase(status), status);
    if (!b.failed)
        reply_simple(c, status, "application/json", b.data, b.len, 1);
    sbuf_free(&b);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    int res = REPLY_KEEP;

    for (;;) {
        request rq;
        int rc = read_request(c, &rq), first;

        if (rc == RD_EOF || rc == RD_GONE) {
            request_free(&rq);
            res = REPLY_GONE;
            break;
        }
        if (rc != RD_OK) {
            log_line("bad request: %d", rc);
            request_free(&rq);
            error_reply(c, rc);
            res = REPLY_CLOSE;
            break;
        }
        log_line("%s %s", rq.method, rq.target);
        first = !c->first_done;
        c->first_done = 1;
        if (strncmp(rq.path, "/_/", 3) == 0)
            res = store_control(c, &rq);
        else
            res = reply_case(c, &rq, first);
        if (res == REPLY_KEEP && rq.want_close)
            res = REPLY_CLOSE;
        request_free(&rq);
        if (res != REPLY_KEEP)
            break;
    }
    if (res == REPLY_CLOSE)
        conn_close_graceful(c);
    else if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    free(c);
    return NULL;
}

/* ---- process setup ---- */

static void on_signal(int sig)
{
    unsigned char b = (unsigned char)sig;
    int saved = errno;

    if (write(sig_pipe[1], &b, 1) < 0) {
        /* nothing to do: the pipe is full, so a wake-up is pending */
    }
    errno = saved;
}

static void usage(void)
{
    fputs("usage: llmtestd --root DIR [--port N] [--quiet] [--stdin-exit]\n", stderr);
    exit(2);
}

static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int set_cloexec_nonblock(int fd, int nonblock)
{
    int fl = fcntl(fd, F_GETFD);

    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -1;
    if (nonblock) {
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return -1;
    }
    return 0;
}

static void accept_ready(int lfd, pthread_attr_t *attr)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL), one = 1;
        pthread_t th;
        conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: back off instead of spinning on a
                 * listening socket that stays readable. */
                log_line("accept: %s", strerror(errno));
                poll(NULL, 0, 20);
            }
            return;
        }
        set_cloexec_nonblock(fd, 0);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        if (pthread_create(&th, attr, conn_main, c) != 0) {
            log_line("pthread_create failed");
            close(fd);
            free(c);
        }
    }
}

int main(int argc, char **argv)
{
    const char *root = NULL;
    long port = 0;
    int stdin_exit = 0, lfd, one = 1, i;
    struct sockaddr_in sa;
    socklen_t slen = sizeof sa;
    struct sigaction act;
    pthread_attr_t attr;
    size_t stack = THREAD_STACK;
    long min_stack;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;

            port = strtol(argv[++i], &end, 10);
            if (*end || port < 0 || port > 65535)
                usage();
        } else if (strcmp(argv[i], "--quiet") == 0) {
            g_server.quiet = 1;
        } else if (strcmp(argv[i], "--stdin-exit") == 0) {
            stdin_exit = 1;
        } else {
            usage();
        }
    }
    if (!root)
        usage();
    g_server.root = root;

    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    if (pipe(sig_pipe) != 0 || set_cloexec_nonblock(sig_pipe[0], 1) != 0 ||
        set_cloexec_nonblock(sig_pipe[1], 1) != 0) {
        perror("llmtestd: pipe");
        return 1;
    }
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || set_cloexec_nonblock(lfd, 1) != 0) {
        perror("llmtestd: socket");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &slen) != 0) {
        perror("llmtestd: bind/listen");
        return 1;
    }

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    min_stack = sysconf(_SC_THREAD_STACK_MIN);
    if (min_stack > 0 && stack < (size_t)min_stack)
        stack = (size_t)min_stack;
    pthread_attr_setstacksize(&attr, stack);

    printf("PORT %d\n", (int)ntohs(sa.sin_port));
    fflush(stdout);

    for (;;) {
        struct pollfd pfd[3];
        nfds_t n = 2;

        pfd[0].fd = lfd;
        pfd[0].events = POLLIN;
        pfd[1].fd = sig_pipe[0];
        pfd[1].events = POLLIN;
        if (stdin_exit) {
            pfd[2].fd = 0;
            pfd[2].events = POLLIN;
            n = 3;
        }
        for (i = 0; i < (int)n; i++)
            pfd[i].revents = 0;
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents)
            break;
        if (stdin_exit && pfd[2].revents) {
            char b[256];
            ssize_t r = read(0, b, sizeof b);

            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
        if (pfd[0].revents & POLLIN)
            accept_ready(lfd, &attr);
    }
    close(lfd);
    pthread_attr_destroy(&attr);
    /* Connection threads may still be running; the recorded requests stay
     * reachable from the store, and exit() ends the threads with us. */
    return 0;
}
