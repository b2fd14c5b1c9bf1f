/*
 * memcache.c - the built-in response cache: a thread-safe LRU (chained
 * hash table + doubly-linked recency list) bounded by entry count and by
 * bytes of key + value, with a TTL read from the library clock.  Keys and
 * values are copied in and out, so nothing handed out aliases the cache.
 */
#include "hooks/builtin.h"

#include <pthread.h>

struct entry {
    struct entry *chain;       /* next in the hash bucket */
    struct entry *prev, *next; /* recency: head is the most recent */
    uint64_t hash;
    char    *key;
    size_t   klen;
    char    *val;
    size_t   vlen;
    int64_t  expires;          /* llm__now_ms time; 0: never */
};

struct llm__memcache {
    pthread_mutex_t lock;
    size_t max_entries, max_bytes;
    struct entry **buckets;
    size_t nbuckets;           /* a power of two */
    size_t count, bytes;
    struct entry *head, *tail;
};

/* FNV-1a, 64-bit. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

int llm__memcache_new(struct llm__memcache **out, size_t max_entries, size_t max_bytes)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    struct llm__memcache *m = llm__calloc(1, sizeof *m);
    if (!m)
        return LLM_ERR_NOMEM;
    m->nbuckets = 64;
    m->buckets = llm__calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        llm__free(m);
        return LLM_ERR_NOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->max_entries = max_entries;
    m->max_bytes = max_bytes;
    *out = m;
    return LLM_OK;
}

static void entry_free(struct entry *e)
{
    llm__free(e->key);
    llm__free(e->val);
    llm__free(e);
}

void llm__memcache_free(struct llm__memcache *m)
{
    if (!m)
        return;
    for (struct entry *e = m->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    llm__free(m->buckets);
    pthread_mutex_destroy(&m->lock);
    llm__free(m);
}

static void list_unlink(struct llm__memcache *m, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        m->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        m->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(struct llm__memcache *m, struct entry *e)
{
    e->prev = NULL;
    e->next = m->head;
    if (m->head)
        m->head->prev = e;
    m->head = e;
    if (!m->tail)
        m->tail = e;
}

static struct entry **find_slot(struct llm__memcache *m, uint64_t h, const char *key, size_t klen)
{
    struct entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    while (*pp) {
        struct entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return pp;
        pp = &e->chain;
    }
    return pp;
}

static void remove_entry(struct llm__memcache *m, struct entry *e)
{
    struct entry **pp = find_slot(m, e->hash, e->key, e->klen);
    if (*pp == e)
        *pp = e->chain;
    list_unlink(m, e);
    m->count--;
    m->bytes -= e->klen + e->vlen;
    entry_free(e);
}

/* Keep chains short; a failed grow only costs speed. */
static void maybe_grow(struct llm__memcache *m)
{
    if (m->count < m->nbuckets || m->nbuckets > SIZE_MAX / 4 / sizeof *m->buckets)
        return;
    size_t n = m->nbuckets * 2;
    struct entry **b = llm__calloc(n, sizeof *b);
    if (!b)
        return;
    for (struct entry *e = m->head; e; e = e->next) {
        size_t i = e->hash & (n - 1);
        e->chain = b[i];
        b[i] = e;
    }
    llm__free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

static int expired(const struct entry *e, int64_t now)
{
    return e->expires && now >= e->expires;
}

int llm__memcache_get(struct llm__memcache *m, const char *key, size_t klen, llm__buf *val)
{
    if (!m || !key || !val)
        return LLM_ERR_MISUSE;
    int64_t now = llm__now_ms();
    int rc = LLM_ERR_NOT_AVAILABLE;
    uint64_t h = hash_bytes(key, klen);
    pthread_mutex_lock(&m->lock);
    struct entry *e = *find_slot(m, h, key, klen);
    if (e && expired(e, now)) {
        remove_entry(m, e);
    } else if (e) {
        llm__buf_reset(val);
        if (llm__buf_append(val, e->val, e->vlen) == LLM_OK && llm__buf_reserve(val, 0) == LLM_OK) {
            list_unlink(m, e);
            list_push_front(m, e);
            rc = LLM_OK;
        } else {
            rc = LLM_ERR_NOMEM;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int llm__memcache_put(struct llm__memcache *m, const char *key, size_t klen, const void *val,
                      size_t len, int64_t ttl_ms)
{
    if (!m || !key || (!val && len))
        return LLM_ERR_MISUSE;
    int64_t now = llm__now_ms();
    uint64_t h = hash_bytes(key, klen);
    int fits = klen <= SIZE_MAX - len && (!m->max_bytes || klen + len <= m->max_bytes);
    struct entry *n = NULL;
    if (fits) {
        n = llm__calloc(1, sizeof *n);
        if (!n || !(n->key = llm__malloc(klen ? klen : 1)) || !(n->val = llm__malloc(len ? len : 1))) {
            if (n)
                entry_free(n);
            return LLM_ERR_NOMEM;
        }
        memcpy(n->key, key, klen);
        if (len)
            memcpy(n->val, val, len);
        n->klen = klen;
        n->vlen = len;
        n->hash = h;
        n->expires = ttl_ms > 0 ? (now > INT64_MAX - ttl_ms ? INT64_MAX : now + ttl_ms) : 0;
    }
    pthread_mutex_lock(&m->lock);
    struct entry *old = *find_slot(m, h, key, klen);
    if (old)
        remove_entry(m, old);
    if (n) {
        struct entry **pp = find_slot(m, h, key, klen);
        *pp = n;
        n->chain = NULL;
        list_push_front(m, n);
        m->count++;
        m->bytes += klen + len;
        /* Evict from the cold end; the new entry fits on its own, so it
         * is never its own victim. */
        while (m->tail != n && ((m->max_entries && m->count > m->max_entries) ||
                                (m->max_bytes && m->bytes > m->max_bytes)))
            remove_entry(m, m->tail);
        maybe_grow(m);
    }
    pthread_mutex_unlock(&m->lock);
    return LLM_OK;
}

size_t llm__memcache_count(struct llm__memcache *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}

size_t llm__memcache_bytes(struct llm__memcache *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->bytes;
    pthread_mutex_unlock(&m->lock);
    return n;
}
