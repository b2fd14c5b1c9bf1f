/*
 * llmtestd.h - the loopback test server's modules.
 *
 * The server is a plain C11 + POSIX program with no dependency on libllm,
 * jansson or curl, so that a bug in the library can never hide behind the
 * same bug in its test double.  Modules:
 *
 *   llmtestd.c  command line, listening socket, accept loop, HTTP/1.1 reader
 *   reply.c     fixtures, fault injection, response writer
 *   store.c     request recording, per-prefix counters, control endpoints
 *   sbuf.c      growable byte buffer, JSON escaping, small parsers
 */
#ifndef LLMTESTD_H
#define LLMTESTD_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; on allocation failure it marks itself failed and
 * later appends are ignored, so callers check once at the end. */
typedef struct sbuf {
    char  *data;
    size_t len, cap;
    int    failed;
} sbuf;

void sbuf_init(sbuf *b);
void sbuf_free(sbuf *b);
int  sbuf_reserve(sbuf *b, size_t extra);
void sbuf_add(sbuf *b, const void *p, size_t n);
void sbuf_adds(sbuf *b, const char *s);
void sbuf_addf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends p[0..n) as the inside of a JSON string: valid UTF-8 is kept,
 * any other byte becomes \u00XX. */
void sbuf_json_str(sbuf *b, const char *p, size_t n);

/* Decimal parsers: the whole of s[0..n) must be digits (optionally one
 * leading '-' for the signed one); 0 on success. */
int parse_u64(const char *s, size_t n, uint64_t *out);
int parse_i64(const char *s, size_t n, int64_t *out);
int ascii_casecmp_n(const char *a, const char *b, size_t n);
/* Case-insensitive search for needle (a C string) in hay[0..n). */
int contains_ci(const char *hay, size_t n, const char *needle);
/* Percent-decodes s[0..n) into a new NUL-terminated string. */
char *url_decode(const char *s, size_t n);

/* ---- connections (llmtestd.c) ---- */

typedef struct conn {
    int    fd;
    char  *rbuf;          /* bytes received and not yet consumed */
    size_t rlen, rcap;
    int    first_done;    /* the connection's first request has been seen */
    int    peer_gone;
} conn;

typedef struct header {
    const char *name, *value;
} header;

typedef struct request {
    char   *head;         /* owned copy of the request head, NUL-split */
    const char *method, *target;
    char   *path, *query; /* owned; query is "" when absent */
    header *hdrs;
    size_t  nhdrs;
    char   *body;
    size_t  body_len;
    int     http10;
    int     want_close;   /* the client asked for (or implied) Connection: close */
} request;

typedef struct server {
    const char *root;
    int quiet;
} server;

extern server g_server;

/* Sends all of p[0..n); 0 on success, -1 when the peer is gone. */
int conn_send(conn *c, const void *p, size_t n);
/* Sends a chunked-encoding chunk holding p[0..n) in one write. */
int conn_send_chunk(conn *c, const void *p, size_t n);
/* Waits ms milliseconds (ms < 0: forever) unless the peer closes first;
 * bytes the peer sends meanwhile are kept for the next request.  Returns 1
 * when the peer went away, else 0.  Never spins. */
int conn_wait(conn *c, int64_t ms);
/* Half-closes, lets the peer read what was sent, then closes. */
void conn_close_graceful(conn *c);
/* Closes with an RST (SO_LINGER 0). */
void conn_close_reset(conn *c);

void log_line(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- replies (reply.c) ---- */

enum { REPLY_KEEP = 0, REPLY_CLOSE = 1, REPLY_GONE = 2 };

/* Serves one request outside /_/ (first: it is the connection's first);
 * returns REPLY_KEEP, REPLY_CLOSE (reply sent, close gracefully) or
 * REPLY_GONE (the connection is dead or already closed). */
int reply_case(conn *c, const request *rq, int first);
/* A small complete reply with a JSON body; close adds Connection: close. */
int reply_simple(conn *c, int status, const char *ctype, const char *body, size_t len,
                 int close);
const char *reason_phrase(int status);

/* ---- store (store.c) ---- */

typedef struct case_ticket {
    uint64_t index;       /* 1-based arrival number on this prefix key */
} case_ticket;

/* Records rq under key (the /t/<provider>/<case>/<faults> prefix, or "" for
 * other paths), counting an accept when first is set. */
void store_record(const char *key, const request *rq, int first, case_ticket *out);
/* Handles /_/...; returns REPLY_KEEP or REPLY_CLOSE like reply_case. */
int store_control(conn *c, const request *rq);

#endif
