/*
 * redis_cache.c - a fleet of processes sharing one Redis: the response
 * cache (llm_hooks_set_cache) and a rate limit (llm_hooks_set_admit).
 *
 *   redis_cache [--provider P] [--model M] [--base-url URL]
 *               [--redis HOST:PORT] [--rate N --per MS] [--user U]
 *               [--ttl MS] [--repeat N] [--no-cache] ["prompt" | -]
 *
 * Asks the prompt --repeat times (with "-", each line of standard input in
 * turn) and prints for each call whether the answer came from the cache.
 * Exit status: 0 when every call was answered, 3 when some were refused by
 * the rate limit and none failed otherwise, 1 otherwise.
 *
 * Cache.  libllm hands the hooks a key (64 hex digits) and an opaque,
 * versioned value; they are kept in Redis as "llm:cache:<key>" with the TTL
 * given to llm_hooks_set_cache (SET ... PX).  Processes whose clients have
 * the same cache scope (the same credential, or the same
 * llm_client_set_cache_namespace) share the entries.
 *
 * Rate limit.  A token bucket of N calls per MS milliseconds (--rate,
 * --per), kept in Redis and updated atomically by a Lua script (EVALSHA;
 * EVAL when Redis has lost the script to a restart or SCRIPT FLUSH).  There
 * is one bucket per user when the call names one (llm_call_opts_set_user,
 * here --user) and one shared bucket otherwise.  The script refills from
 * Redis's own clock (TIME), so processes whose clocks disagree still share
 * one bucket exactly; every process must use the same N and MS.  A call
 * over the limit is refused with LLM_ERR_DENIED and the deny code
 * LLM_ERR_RATE_LIMITED, as the built-in limiter does.
 *
 * When Redis fails (down, slow past 500 ms, a reply that makes no sense):
 * the cache hooks return non-zero and libllm fails open, so the call goes
 * to the provider and LLM_TOTAL_CACHE_ERRORS counts the failure; the
 * admission hook returns non-zero too and libllm fails closed
 * (LLM_ERR_CALLBACK), so no call goes out unmetered.  To let an outage lift
 * the limit instead, make redis_admit return 0 without a deny code there.
 *
 * Threads.  Hooks run on whichever thread makes the call, so the one Redis
 * connection of the process sits behind a mutex.  hiredis blocks (up to the
 * 500 ms timeout per command): these hooks are for llm_complete and
 * llm_stream_next, not for the multi interface, whose callbacks must not
 * block.
 *
 * Not part of libllm: build it with `make examples` when pkg-config finds
 * hiredis, or
 *   cc -o redis_cache redis_cache.c $(pkg-config --cflags --libs libllm hiredis) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <hiredis.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#define REDIS_TIMEOUT_US   500000
#define RECONNECT_PAUSE_MS 1000

/* KEYS[1] the bucket; ARGV[1] calls per interval, ARGV[2] the interval in
 * ms.  The level is kept in 1/interval-ths of a call, so a refill of
 * ARGV[1] units per millisecond is exact in integers.  Returns {1, 0} when
 * the call may go, {0, ms until it could} when not. */
static const char BUCKET_LUA[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local rate, per = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local full = rate * per\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 'level', 'at')\n"
    "local level, at = tonumber(b[1]), tonumber(b[2])\n"
    "if not level or not at then level, at = full, now end\n"
    "if now > at then level = math.min(full, level + (now - at) * rate); at = now end\n"
    "local ok = 0\n"
    "if level >= per then level = level - per; ok = 1 end\n"
    "redis.call('HSET', KEYS[1], 'level', level, 'at', at)\n"
    /* Refilled to full after one interval: a gone bucket is a full one. */
    "redis.call('PEXPIRE', KEYS[1], per)\n"
    "if ok == 1 then return {1, 0} end\n"
    "return {0, math.ceil((per - level) / rate)}\n";

struct redis {
    pthread_mutex_t lock;      /* hiredis contexts are not thread-safe */
    redisContext *ctx;         /* NULL while disconnected */
    const char *host;
    int port;
    int64_t reconnect_at;      /* no connect attempt before this (monotonic ms) */
    char sha[41];              /* BUCKET_LUA's SHA-1 once loaded, else "" */
    long long rate, per_ms;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connection, (re)connecting if needed; NULL while Redis is away.
 * Call with the lock held. */
static redisContext *redis_conn(struct redis *r)
{
    if (r->ctx && !r->ctx->err)
        return r->ctx;
    redisFree(r->ctx);         /* a context with err set is spent */
    r->ctx = NULL;
    /* A dead Redis must not add a connect timeout to every call. */
    if (mono_ms() < r->reconnect_at)
        return NULL;
    struct timeval tv = {0, REDIS_TIMEOUT_US};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        fprintf(stderr, "redis %s:%d: %s\n", r->host, r->port, c ? c->errstr : "out of memory");
        redisFree(c);
        r->reconnect_at = mono_ms() + RECONNECT_PAUSE_MS;
        return NULL;
    }
    r->ctx = c;
    return c;
}

/* One command; NULL when Redis could not be reached.  Lock held. */
static redisReply *redis_cmd(struct redis *r, const char *fmt, ...)
{
    redisContext *c = redis_conn(r);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!rep)
        fprintf(stderr, "redis %s:%d: %s\n", r->host, r->port, c->errstr);
    return rep;
}

/* ---- cache hooks: non-zero on any Redis failure, and libllm fails open -- */

static int redis_get(const char *key, size_t key_len, llm_cache_sink *sink, void *userdata)
{
    struct redis *r = userdata;
    pthread_mutex_lock(&r->lock);
    redisReply *rep = redis_cmd(r, "GET llm:cache:%b", key, key_len);
    pthread_mutex_unlock(&r->lock);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_NIL)
        rc = 0;                /* a miss */
    else if (rep && rep->type == REDIS_REPLY_STRING)
        rc = llm_cache_sink_set(sink, rep->str, rep->len) == LLM_OK ? 0 : -1;
    freeReplyObject(rep);
    return rc;
}

static int redis_put(const char *key, size_t key_len, const void *value, size_t len,
                     int64_t ttl_ms, void *userdata)
{
    struct redis *r = userdata;
    redisReply *rep;
    pthread_mutex_lock(&r->lock);
    if (ttl_ms > 0)
        rep = redis_cmd(r, "SET llm:cache:%b %b PX %lld", key, key_len, value, len,
                        (long long)ttl_ms);
    else
        rep = redis_cmd(r, "SET llm:cache:%b %b", key, key_len, value, len);
    pthread_mutex_unlock(&r->lock);
    int rc = rep && rep->type == REDIS_REPLY_STATUS ? 0 : -1;
    freeReplyObject(rep);
    return rc;
}

/* ---- admission: non-zero on any Redis failure, and libllm fails closed -- */

/* Run the bucket script for "llm:rate:<what><name>".  Lock held. */
static redisReply *bucket_take(struct redis *r, const char *what, const char *name)
{
    redisReply *rep;
    if (!r->sha[0]) {
        rep = redis_cmd(r, "SCRIPT LOAD %s", BUCKET_LUA);
        if (rep && rep->type == REDIS_REPLY_STRING && rep->len == 40)
            memcpy(r->sha, rep->str, 41);
        freeReplyObject(rep);
    }
    if (r->sha[0]) {
        rep = redis_cmd(r, "EVALSHA %s 1 llm:rate:%s%s %lld %lld", r->sha, what, name,
                        r->rate, r->per_ms);
        if (!rep || rep->type != REDIS_REPLY_ERROR || strncmp(rep->str, "NOSCRIPT", 8) != 0)
            return rep;
        freeReplyObject(rep);
    }
    /* Redis forgot the script (restart, failover, SCRIPT FLUSH): EVAL sends
     * it whole, and caches it again for the next EVALSHA. */
    return redis_cmd(r, "EVAL %s 1 llm:rate:%s%s %lld %lld", BUCKET_LUA, what, name,
                     r->rate, r->per_ms);
}

static int redis_admit(const llm_attempt *attempt, int32_t *deny_code_out, void *userdata)
{
    struct redis *r = userdata;
    const char *user = llm_attempt_user(attempt);
    pthread_mutex_lock(&r->lock);
    redisReply *rep = bucket_take(r, user ? "user:" : "global", user ? user : "");
    pthread_mutex_unlock(&r->lock);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_INTEGER &&
        rep->element[1]->type == REDIS_REPLY_INTEGER) {
        if (!rep->element[0]->integer) {
            *deny_code_out = LLM_ERR_RATE_LIMITED;
            fprintf(stderr, "rate limit of %s reached; the next call may go in %lld ms\n",
                    user ? user : "all users", rep->element[1]->integer);
        }
        rc = 0;
    } else if (rep && rep->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis: %s\n", rep->str);
    }
    freeReplyObject(rep);
    return rc;
}

/* ---- the program ------------------------------------------------------- */

static int number(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* One call; returns 0 answered, 3 refused by the rate limit, 1 failed. */
static int ask(llm_client *client, const llm_call_opts *opts, const char *prompt, int n)
{
    llm_request *req = NULL;
    llm_response *resp = NULL;
    int status = 1;
    if (llm_request_new(&req) != LLM_OK ||
        llm_request_add_text(req, LLM_ROLE_USER, prompt) != LLM_OK) {
        fprintf(stderr, "call %d: %s\n", n, req ? llm_request_errmsg(req) : "out of memory");
        llm_request_free(req);
        return 1;
    }
    int rc = llm_complete(client, req, opts, &resp);
    if (rc == LLM_OK) {
        printf("call %d: cache %s: %s\n", n, llm_response_cache_hit(resp) ? "hit" : "miss",
               llm_response_text(resp, NULL));
        status = 0;
    } else if (rc == LLM_ERR_DENIED) {
        int32_t code = llm_response_deny_code(resp);
        printf("call %d: denied: %s (%d)\n", n, llm_status_name(code), (int)code);
        status = 3;
    } else {
        printf("call %d: failed: %s\n", n, llm_status_name(rc));
        if (resp)
            example_report(resp);
    }
    fflush(stdout);
    llm_response_free(resp);
    llm_request_free(req);
    return status;
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1:6379", *user = NULL;
    long long rate = 0, per = 60000, ttl = 3600000, repeat = 1;
    int use_cache = 1, from_stdin = 0, bad = 0;
    /* Peel off this program's options; common.h handles the rest. */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--redis") == 0 && v)
            addr = argv[++i];
        else if (strcmp(a, "--rate") == 0 && v)
            bad |= number(argv[++i], 1, 1000000, &rate);
        else if (strcmp(a, "--per") == 0 && v)
            bad |= number(argv[++i], 1, 1000000000, &per);
        else if (strcmp(a, "--ttl") == 0 && v)
            bad |= number(argv[++i], 0, INT64_MAX, &ttl);
        else if (strcmp(a, "--repeat") == 0 && v)
            bad |= number(argv[++i], 1, 1000000, &repeat);
        else if (strcmp(a, "--user") == 0 && v)
            user = argv[++i];
        else if (strcmp(a, "--no-cache") == 0)
            use_cache = 0;
        else if (strcmp(a, "-") == 0)
            from_stdin = 1;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    struct redis rd = {.host = NULL, .port = 0};
    char host[256];
    const char *colon = strrchr(addr, ':');
    long long port = 0;
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host ||
        number(colon + 1, 1, 65535, &port) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "usage: %s [--provider P] [--model M] [--base-url URL] "
                        "[--redis HOST:PORT] [--rate N --per MS] [--user U] [--ttl MS] "
                        "[--repeat N] [--no-cache] [\"prompt\" | -]\n", argv[0]);
        return 2;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct example_opts o;
    if (example_args(argc, argv, &o, "Say hi.") != 0)
        return 2;

    if (llm_global_init(LLM_INIT_DEFAULT) != LLM_OK)
        return 1;
    pthread_mutex_init(&rd.lock, NULL);
    rd.host = host;
    rd.port = (int)port;
    rd.rate = rate;
    rd.per_ms = per;

    int status = 1;
    llm_hooks *hooks = NULL;
    llm_client *client = NULL;
    llm_call_opts *opts = NULL;
    /* rd outlives the client and the hooks object: no free function. */
    if (llm_hooks_new(&hooks) != LLM_OK ||
        (use_cache && llm_hooks_set_cache(hooks, redis_get, redis_put, ttl, &rd, NULL) != LLM_OK) ||
        (rate && llm_hooks_set_admit(hooks, redis_admit, &rd, NULL) != LLM_OK))
        goto out;
    if (!(client = example_client(&o)) || llm_client_set_hooks(client, hooks) != LLM_OK)
        goto out;
    if (llm_call_opts_new(&opts) != LLM_OK ||
        (user && llm_call_opts_set_user(opts, user) != LLM_OK))
        goto out;

    int n = 0, answered = 0, denied = 0, failed = 0;
    char line[65536];
    const char *prompt = o.prompt;
    while (!from_stdin || fgets(line, sizeof line, stdin)) {
        if (from_stdin) {
            line[strcspn(line, "\r\n")] = '\0';
            if (!line[0])
                continue;
            prompt = line;
        }
        for (long long k = 0; k < repeat; k++) {
            int s = ask(client, opts, prompt, ++n);
            answered += s == 0;
            denied += s == 3;
            failed += s == 1;
        }
        if (!from_stdin)
            break;
    }
    int64_t cache_errors = 0;
    llm_client_total(client, LLM_TOTAL_CACHE_ERRORS, &cache_errors);
    fprintf(stderr, "%d answered, %d denied, %d failed; %lld Redis cache errors\n",
            answered, denied, failed, (long long)cache_errors);
    status = failed ? 1 : denied ? 3 : 0;
out:
    llm_call_opts_free(opts);
    llm_client_free(client);
    llm_hooks_free(hooks);
    redisFree(rd.ctx);
    pthread_mutex_destroy(&rd.lock);
    llm_global_cleanup();
    return status;
}
