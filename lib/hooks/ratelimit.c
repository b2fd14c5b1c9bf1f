/*
 * ratelimit.c - built-in admission policies: a token bucket over calls
 * and estimated tokens, and a spend cap per end user.
 */
#include "hooks/builtin.h"

#include <pthread.h>

/* ---- token bucket ------------------------------------------------------ */

/* One bucket: capacity `cap` per `interval` ms, refilled continuously.
 * The level may go below zero: a call estimated at more tokens than the
 * whole capacity is let through once the bucket is full and leaves a debt
 * that later calls wait out, rather than being refused for ever. */
struct bucket {
    int64_t cap;               /* 0: no limit */
    double  level;
};

struct llm__ratelimit {
    pthread_mutex_t lock;
    int64_t interval;
    int64_t last;              /* llm__now_ms of the last refill */
    struct bucket req, tok;
};

int llm__ratelimit_new(struct llm__ratelimit **out, int64_t requests, int64_t tokens,
                       int64_t interval_ms)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (requests < 0 || tokens < 0 || interval_ms <= 0)
        return LLM_ERR_INVALID_ARG;
    struct llm__ratelimit *r = llm__calloc(1, sizeof *r);
    if (!r)
        return LLM_ERR_NOMEM;
    pthread_mutex_init(&r->lock, NULL);
    r->interval = interval_ms;
    r->req.cap = requests;
    r->req.level = (double)requests;
    r->tok.cap = tokens;
    r->tok.level = (double)tokens;
    r->last = llm__now_ms();
    *out = r;
    return LLM_OK;
}

void llm__ratelimit_free(struct llm__ratelimit *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    llm__free(r);
}

static void refill(struct llm__ratelimit *r, int64_t now)
{
    int64_t dt = now - r->last;
    r->last = now;
    if (dt <= 0)
        return;                /* a clock that went back refills nothing */
    struct bucket *bs[2] = {&r->req, &r->tok};
    for (int i = 0; i < 2; i++) {
        struct bucket *b = bs[i];
        if (!b->cap)
            continue;
        b->level += (double)b->cap * (double)dt / (double)r->interval;
        if (b->level > (double)b->cap)
            b->level = (double)b->cap;
    }
}

static int bucket_has(const struct bucket *b, int64_t n)
{
    if (!b->cap)
        return 1;
    double need = (double)(n < b->cap ? n : b->cap);
    /* Refills are fractional; allow for the rounding of many additions. */
    return b->level + 1e-9 >= need;
}

int llm__ratelimit_take(struct llm__ratelimit *r, int64_t tokens, int64_t now_ms)
{
    if (!r)
        return 1;
    if (tokens < 0)
        tokens = 0;
    pthread_mutex_lock(&r->lock);
    refill(r, now_ms);
    int ok = bucket_has(&r->req, 1) && bucket_has(&r->tok, tokens);
    if (ok) {
        if (r->req.cap)
            r->req.level -= 1;
        if (r->tok.cap)
            r->tok.level -= (double)tokens;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

void llm__ratelimit_give(struct llm__ratelimit *r, int64_t tokens, int64_t now_ms)
{
    if (!r)
        return;
    if (tokens < 0)
        tokens = 0;
    pthread_mutex_lock(&r->lock);
    refill(r, now_ms);
    if (r->req.cap) {
        r->req.level += 1;
        if (r->req.level > (double)r->req.cap)
            r->req.level = (double)r->req.cap;
    }
    if (r->tok.cap) {
        r->tok.level += (double)tokens;
        if (r->tok.level > (double)r->tok.cap)
            r->tok.level = (double)r->tok.cap;
    }
    pthread_mutex_unlock(&r->lock);
}

/* ---- spend cap --------------------------------------------------------- */

struct user {
    struct user *next;
    char   *name;
    int64_t settled, reserved;
};

#define SPEND_BUCKETS 256

struct llm__spendcap {
    pthread_mutex_t lock;
    int64_t cap;
    struct user *buckets[SPEND_BUCKETS];
};

int llm__spendcap_new(struct llm__spendcap **out, int64_t cap_nanos)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (cap_nanos < 0)
        return LLM_ERR_INVALID_ARG;
    struct llm__spendcap *s = llm__calloc(1, sizeof *s);
    if (!s)
        return LLM_ERR_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->cap = cap_nanos;
    *out = s;
    return LLM_OK;
}

void llm__spendcap_free(struct llm__spendcap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < SPEND_BUCKETS; i++) {
        for (struct user *u = s->buckets[i], *next; u; u = next) {
            next = u->next;
            llm__free(u->name);
            llm__free(u);
        }
    }
    pthread_mutex_destroy(&s->lock);
    llm__free(s);
}

static size_t user_bucket(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % SPEND_BUCKETS;
}

static struct user *find_user(struct llm__spendcap *s, const char *name, int create)
{
    struct user **pp = &s->buckets[user_bucket(name)];
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0)
            return *pp;
    if (!create)
        return NULL;
    struct user *u = llm__calloc(1, sizeof *u);
    if (!u || !(u->name = llm__strdup(name))) {
        llm__free(u);
        return NULL;
    }
    *pp = u;
    return u;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int llm__spendcap_reserve(struct llm__spendcap *s, const char *user, int64_t reserve)
{
    if (!s)
        return 1;
    if (reserve < 0)
        reserve = 0;
    pthread_mutex_lock(&s->lock);
    int rc;
    struct user *u = find_user(s, user ? user : "", 1);
    if (!u) {
        rc = LLM_ERR_NOMEM;
    } else {
        int64_t used = sat_add(u->settled, u->reserved);
        if (used >= s->cap || sat_add(used, reserve) > s->cap) {
            rc = 0;
        } else {
            u->reserved = sat_add(u->reserved, reserve);
            rc = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void llm__spendcap_settle(struct llm__spendcap *s, const char *user, int64_t reserved,
                          int64_t actual)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    struct user *u = find_user(s, user ? user : "", 0);
    if (u) {
        u->reserved -= reserved > 0 ? reserved : 0;
        if (u->reserved < 0)
            u->reserved = 0;
        u->settled = sat_add(u->settled, actual > 0 ? actual : 0);
    }
    pthread_mutex_unlock(&s->lock);
}

void llm__spendcap_get(struct llm__spendcap *s, const char *user, int64_t *settled_out,
                       int64_t *reserved_out)
{
    int64_t st = 0, rs = 0;
    if (s) {
        pthread_mutex_lock(&s->lock);
        struct user *u = find_user(s, user ? user : "", 0);
        if (u) {
            st = u->settled;
            rs = u->reserved;
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (settled_out)
        *settled_out = st;
    if (reserved_out)
        *reserved_out = rs;
}
