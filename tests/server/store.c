/*
 * store.c - what the server saw: per-prefix counters, the last requests of
 * each prefix, and the /_/ control endpoints that report them.
 *
 * A key is the /t/<provider>/<case>/<faults> prefix of a request (or ""
 * for any other path).  Tests put a nonce in <faults> so that their keys
 * are their own, which is why nothing here is ever expired but the oldest
 * requests of a key past KEEP_PER_KEY.
 */
#include "llmtestd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_PER_KEY 1000
#define BODY_KEEP    ((size_t)1024 * 1024)
#define NBUCKETS     4096

typedef struct record {
    uint64_t seq;
    int      first;
    char    *method, *path, *query;
    char   **hdr;            /* name, value, name, value, ... */
    size_t   nhdr;
    char    *body;
    size_t   body_len, body_total;
} record;

typedef struct keyent {
    char    *name;
    uint64_t requests, accepts;
    record **ring;           /* oldest at ring[start] */
    size_t   start, count, cap;
    struct keyent *next;
} keyent;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static keyent *buckets[NBUCKETS];
static uint64_t next_seq;

static void record_free(record *r)
{
    size_t i;

    if (!r)
        return;
    free(r->method);
    free(r->path);
    free(r->query);
    for (i = 0; i < 2 * r->nhdr; i++)
        free(r->hdr[i]);
    free(r->hdr);
    free(r->body);
    free(r);
}

static record *record_new(const request *rq, int first)
{
    record *r = calloc(1, sizeof *r);
    size_t i, keep;

    if (!r)
        return NULL;
    r->first = first;
    r->method = strdup(rq->method);
    r->path = strdup(rq->path);
    r->query = strdup(rq->query);
    r->hdr = calloc(rq->nhdrs ? 2 * rq->nhdrs : 1, sizeof *r->hdr);
    keep = rq->body_len < BODY_KEEP ? rq->body_len : BODY_KEEP;
    r->body = malloc(keep + 1);
    if (!r->method || !r->path || !r->query || !r->hdr || !r->body) {
        record_free(r);
        return NULL;
    }
    if (keep)
        memcpy(r->body, rq->body, keep);
    r->body[keep] = '\0';
    r->body_len = keep;
    r->body_total = rq->body_len;
    for (i = 0; i < rq->nhdrs; i++) {
        r->hdr[2 * i] = strdup(rq->hdrs[i].name);
        r->hdr[2 * i + 1] = strdup(rq->hdrs[i].value);
        r->nhdr = i + 1;
        if (!r->hdr[2 * i] || !r->hdr[2 * i + 1]) {
            record_free(r);
            return NULL;
        }
    }
    return r;
}

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return (size_t)(h % NBUCKETS);
}

/* With mu held. */
static keyent *key_get(const char *name)
{
    size_t b = hash(name);
    keyent *k;

    for (k = buckets[b]; k; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->name = strdup(name);
    if (!k->name) {
        free(k);
        return NULL;
    }
    k->next = buckets[b];
    buckets[b] = k;
    return k;
}

void store_record(const char *key, const request *rq, int first, case_ticket *out)
{
    record *r = record_new(rq, first), *evicted = NULL;
    keyent *k;

    pthread_mutex_lock(&mu);
    out->index = 0;
    k = key_get(key);
    if (k) {
        k->requests++;
        if (first)
            k->accepts++;
        out->index = k->requests;
    }
    if (k && r) {
        r->seq = ++next_seq;
        if (k->count < KEEP_PER_KEY && k->count == k->cap && k->start == 0) {
            size_t cap = k->cap ? k->cap * 2 : 8;
            record **ring;

            if (cap > KEEP_PER_KEY)
                cap = KEEP_PER_KEY;
            ring = realloc(k->ring, cap * sizeof *ring);
            if (ring) {
                k->ring = ring;
                k->cap = cap;
            }
        }
        if (k->count < k->cap) {
            /* Still growing: start is 0, so the ring is plain order. */
            k->ring[k->count++] = r;
        } else if (k->count > 0) {
            evicted = k->ring[k->start];
            k->ring[k->start] = r;
            k->start = (k->start + 1) % k->count;
        } else {
            evicted = r;
        }
        r = NULL;
    }
    pthread_mutex_unlock(&mu);
    record_free(r);
    record_free(evicted);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int by_seq(const void *a, const void *b)
{
    const record *x = *(record *const *)a, *y = *(record *const *)b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Collects, in arrival order, every kept record whose path starts with
 * prefix, from the keys that can hold one (with mu held). */
static int collect(const char *prefix, record ***out, size_t *n_out)
{
    size_t b, i, n = 0, cap = 0;
    record **v = NULL;
    keyent *k;

    for (b = 0; b < NBUCKETS; b++) {
        for (k = buckets[b]; k; k = k->next) {
            if (!starts_with(k->name, prefix) && !starts_with(prefix, k->name))
                continue;
            for (i = 0; i < k->count; i++) {
                record *r = k->ring[(k->start + i) % k->count];

                if (!starts_with(r->path, prefix))
                    continue;
                if (n == cap) {
                    record **nv = realloc(v, (cap ? cap * 2 : 64) * sizeof *nv);

                    if (!nv) {
                        free(v);
                        return -1;
                    }
                    v = nv;
                    cap = cap ? cap * 2 : 64;
                }
                v[n++] = r;
            }
        }
    }
    if (n > 1)
        qsort(v, n, sizeof *v, by_seq);
    *out = v;
    *n_out = n;
    return 0;
}

static void json_record(sbuf *b, const record *r)
{
    size_t i;

    sbuf_adds(b, "{\"method\":\"");
    sbuf_json_str(b, r->method, strlen(r->method));
    sbuf_adds(b, "\",\"path\":\"");
    sbuf_json_str(b, r->path, strlen(r->path));
    sbuf_adds(b, "\",\"query\":\"");
    sbuf_json_str(b, r->query, strlen(r->query));
    sbuf_adds(b, "\",\"headers\":[");
    for (i = 0; i < r->nhdr; i++) {
        sbuf_adds(b, i ? ",[\"" : "[\"");
        sbuf_json_str(b, r->hdr[2 * i], strlen(r->hdr[2 * i]));
        sbuf_adds(b, "\",\"");
        sbuf_json_str(b, r->hdr[2 * i + 1], strlen(r->hdr[2 * i + 1]));
        sbuf_adds(b, "\"]");
    }
    sbuf_adds(b, "],\"body\":\"");
    sbuf_json_str(b, r->body, r->body_len);
    sbuf_addf(b, "\",\"body_bytes\":%zu,\"new_connection\":%s}", r->body_total,
              r->first ? "true" : "false");
}

/* The decoded value of name= in a query string, or NULL. */
static char *query_param(const char *q, const char *name)
{
    size_t n = strlen(name);

    while (*q) {
        size_t len = strcspn(q, "&");

        if (len > n && strncmp(q, name, n) == 0 && q[n] == '=')
            return url_decode(q + n + 1, len - n - 1);
        if (len == n && strncmp(q, name, n) == 0)
            return strdup("");
        q += len;
        if (*q == '&')
            q++;
    }
    return NULL;
}

static void requests_json(sbuf *b, const char *prefix)
{
    record **v = NULL;
    size_t n = 0, i;

    pthread_mutex_lock(&mu);
    if (collect(prefix, &v, &n) != 0) {
        b->failed = 1;
    } else {
        sbuf_adds(b, "[");
        for (i = 0; i < n; i++) {
            if (i)
                sbuf_adds(b, ",");
            json_record(b, v[i]);
        }
        sbuf_adds(b, "]");
    }
    pthread_mutex_unlock(&mu);
    free(v);
}

/* Keys that start with the prefix contribute their full counters; a
 * prefix that reaches into the provider's path can only be answered from
 * the kept records of its key. */
static void stats_json(sbuf *b, const char *prefix)
{
    uint64_t requests = 0, accepts = 0;
    size_t bk, i;
    keyent *k;

    pthread_mutex_lock(&mu);
    for (bk = 0; bk < NBUCKETS; bk++) {
        for (k = buckets[bk]; k; k = k->next) {
            if (starts_with(k->name, prefix)) {
                requests += k->requests;
                accepts += k->accepts;
            } else if (starts_with(prefix, k->name)) {
                for (i = 0; i < k->count; i++) {
                    const record *r = k->ring[(k->start + i) % k->count];

                    if (starts_with(r->path, prefix)) {
                        requests++;
                        accepts += r->first != 0;
                    }
                }
            }
        }
    }
    pthread_mutex_unlock(&mu);
    sbuf_addf(b, "{\"requests\":%llu,\"accepts\":%llu}", (unsigned long long)requests,
              (unsigned long long)accepts);
}

static void store_reset(void)
{
    size_t bk, i;

    pthread_mutex_lock(&mu);
    for (bk = 0; bk < NBUCKETS; bk++) {
        keyent *k = buckets[bk];

        while (k) {
            keyent *next = k->next;

            for (i = 0; i < k->count; i++)
                record_free(k->ring[i]);
            free(k->ring);
            free(k->name);
            free(k);
            k = next;
        }
        buckets[bk] = NULL;
    }
    next_seq = 0;
    pthread_mutex_unlock(&mu);
}

int store_control(conn *c, const request *rq)
{
    sbuf b;
    char *prefix = query_param(rq->query, "prefix");
    int status = 200, rc;

    sbuf_init(&b);
    if (strcmp(rq->path, "/_/requests") == 0) {
        requests_json(&b, prefix ? prefix : "");
    } else if (strcmp(rq->path, "/_/stats") == 0) {
        stats_json(&b, prefix ? prefix : "");
    } else if (strcmp(rq->path, "/_/reset") == 0) {
        store_reset();
        sbuf_adds(&b, "{\"ok\":true}");
    } else if (strcmp(rq->path, "/_/ping") == 0) {
        sbuf_adds(&b, "{\"ok\":true}");
    } else {
        status = 404;
        sbuf_adds(&b, "{\"error\":{\"message\":\"unknown control endpoint\","
                      "\"type\":\"not_found\",\"code\":\"not_found\"}}");
    }
    free(prefix);
    if (b.failed) {
        sbuf_free(&b);
        status = 500;
        sbuf_adds(&b, "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                      "\"code\":\"nomem\"}}");
    }
    rc = reply_simple(c, status, "application/json", b.data ? b.data : "", b.len, 0);
    sbuf_free(&b);
    return rc;
}
