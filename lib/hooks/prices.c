/*
 * prices.c - model prices and the cost of a usage record, in integer
 * nano-USD (DESIGN.md 5.5, providers.md 9.6 and 11).
 *
 * Each client has its own price set: the built-in table (price_table.h)
 * under the host's additions and replacements, which win.  A model name
 * is matched exactly first, then with the decorations providers add to
 * the names of the same priced model taken off, one at a time:
 *   a Bedrock ARN up to its last '/', a Gemini "models/" prefix;
 *   a Bedrock region prefix ("us.", "eu.", "global.", ...) and vendor
 *   prefix ("anthropic.", "amazon.", ...);
 *   a version suffix ("-v1:0"), then a date or alias suffix
 *   ("-2024-08-06", "-20241022", "@20240620", "-latest", "-001", "-0125").
 * A Bedrock regional profile of a model flagged PRICE_GEO_PREMIUM costs
 * 10 % more than the global one.
 *
 * Missing prices: a missing cache-read or cache-write price is the input
 * price (the provider did not list a discount or a surcharge); a missing
 * 1-hour cache-write price is the 5-minute one.  In the long-context tier a
 * missing long output price is the normal output price, and missing long
 * cache prices scale the normal ones by long input / input (Anthropic and
 * Gemini price their cache tiers as multiples of the input price).
 */
#include "hooks/builtin.h"
#include "hooks/price_table.h"

#include <pthread.h>
#include <stdio.h>

__extension__ typedef unsigned __int128 u128;

const char llm__prices_table_date[] = LLM__PRICES_DATE;

#define NKINDS 11              /* indexed by LLM_PRICE_* (1..10) */
#define UNSET  (-1)

/* Largest price accepted, in USD per million tokens, and largest
 * threshold, in tokens: far above any real one, far below overflow. */
#define MAX_PRICE_USD   1e9
#define MAX_THRESHOLD   1e15

struct price {
    int64_t v[NKINDS];         /* nano-USD per million tokens; threshold in tokens */
    unsigned flags;
};

struct host_entry {
    char *name;
    struct price pr;
};

struct llm__prices {
    pthread_mutex_t lock;
    char *provider;
    struct host_entry *e;
    size_t n, cap;
};

static void price_unset(struct price *p)
{
    for (size_t i = 0; i < NKINDS; i++)
        p->v[i] = UNSET;
    p->flags = 0;
}

static void price_from_row(struct price *p, const struct llm__price_row *r)
{
    price_unset(p);
    p->v[LLM_PRICE_INPUT] = r->input;
    p->v[LLM_PRICE_OUTPUT] = r->output;
    p->v[LLM_PRICE_CACHE_READ] = r->cache_read;
    p->v[LLM_PRICE_CACHE_WRITE] = r->cache_write;
    p->v[LLM_PRICE_CACHE_WRITE_1H] = r->cache_write_1h;
    p->v[LLM_PRICE_LONG_THRESHOLD] = r->long_threshold > 0 ? r->long_threshold : UNSET;
    p->v[LLM_PRICE_LONG_INPUT] = r->long_input;
    p->v[LLM_PRICE_LONG_OUTPUT] = r->long_output;
    p->v[LLM_PRICE_LONG_CACHE_READ] = r->long_cache_read;
    p->v[LLM_PRICE_LONG_CACHE_WRITE] = r->long_cache_write;
    p->flags = r->flags;
}

int llm__prices_new(struct llm__prices **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    struct llm__prices *p = llm__calloc(1, sizeof *p);
    if (!p)
        return LLM_ERR_NOMEM;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return LLM_OK;
}

void llm__prices_free(struct llm__prices *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        llm__free(p->e[i].name);
    llm__free(p->e);
    llm__free(p->provider);
    pthread_mutex_destroy(&p->lock);
    llm__free(p);
}

int llm__prices_set_provider(struct llm__prices *p, const char *provider)
{
    if (!p)
        return LLM_ERR_MISUSE;
    char *d = NULL;
    if (provider && !(d = llm__strdup(provider)))
        return LLM_ERR_NOMEM;
    pthread_mutex_lock(&p->lock);
    llm__free(p->provider);
    p->provider = d;
    pthread_mutex_unlock(&p->lock);
    return LLM_OK;
}

/* ---- lookup ------------------------------------------------------------ */

static const struct llm__price_row *builtin(const char *name, size_t n)
{
    for (size_t i = 0; i < LLM__ARRAY_LEN(llm__price_table); i++) {
        const char *t = llm__price_table[i].name;
        if (strlen(t) == n && memcmp(t, name, n) == 0)
            return &llm__price_table[i];
    }
    return NULL;
}

static struct host_entry *host_find(struct llm__prices *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->e[i].name) == n && memcmp(p->e[i].name, name, n) == 0)
            return &p->e[i];
    return NULL;
}

/* One candidate name: the host's entry, then the provider's own built-in
 * price, then the built-in price. */
static int try_name(struct llm__prices *p, const char *name, size_t n, int with_host,
                    struct price *out)
{
    struct host_entry *h = with_host ? host_find(p, name, n) : NULL;
    if (h) {
        *out = h->pr;
        return 1;
    }
    if (p->provider) {
        char buf[300];
        int k = snprintf(buf, sizeof buf, "%s/%.*s", p->provider, (int)n, name);
        const struct llm__price_row *r;
        if (k > 0 && (size_t)k < sizeof buf && (r = builtin(buf, (size_t)k))) {
            price_from_row(out, r);
            return 1;
        }
    }
    const struct llm__price_row *r = builtin(name, n);
    if (r) {
        price_from_row(out, r);
        return 1;
    }
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Length of a version suffix at the end of name[0..n): "-v1:0", "-v2". */
static size_t version_suffix(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--;
    if (i < n && i > 0 && s[i - 1] == ':') {
        size_t j = i - 1;
        i = j;
        while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
            i--;
        if (i == j)
            return 0;
    } else if (i == n) {
        return 0;
    }
    if (i >= 2 && s[i - 1] == 'v' && s[i - 2] == '-')
        return n - (i - 2);
    return 0;
}

/* Length of a date or alias suffix: -YYYY-MM-DD, -YYYYMMDD, @YYYYMMDD,
 * -latest, and the short snapshot numbers -NNN (Gemini "-001") and -NNNN
 * (OpenAI "-0125"). */
static size_t date_suffix(const char *s, size_t n)
{
    if (n > 11 && s[n - 11] == '-' && all_digits(s + n - 10, 4) && s[n - 6] == '-' &&
        all_digits(s + n - 5, 2) && s[n - 3] == '-' && all_digits(s + n - 2, 2))
        return 11;
    if (n > 9 && (s[n - 9] == '-' || s[n - 9] == '@') && all_digits(s + n - 8, 8))
        return 9;
    if (n > 7 && memcmp(s + n - 7, "-latest", 7) == 0)
        return 7;
    if (n > 5 && s[n - 5] == '-' && all_digits(s + n - 4, 4))
        return 5;
    if (n > 4 && s[n - 4] == '-' && all_digits(s + n - 3, 3))
        return 4;
    return 0;
}

static const char *const regions[] = {"global", "us", "eu", "apac", "jp", "au", "ca", "us-gov",
                                      "ap", "sa", "me", "af", "il", "mx"};
static const char *const vendors[] = {"anthropic", "amazon", "meta", "mistral", "cohere",
                                      "ai21", "deepseek", "openai", "qwen", "writer",
                                      "twelvelabs", "stability", "google", "moonshot",
                                      "minimax", "nvidia"};

/* Strip "<word>." if word is in list; returns the word's index or -1. */
static int strip_prefix(const char **s, size_t *n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        size_t l = strlen(list[i]);
        if (*n > l + 1 && memcmp(*s, list[i], l) == 0 && (*s)[l] == '.') {
            *s += l + 1;
            *n -= l + 1;
            return (int)i;
        }
    }
    return -1;
}

static int64_t scale(int64_t v, int64_t num, int64_t den)
{
    if (v < 0 || num < 0 || den <= 0)
        return v;
    u128 x = (u128)(uint64_t)v * (uint64_t)num + (uint64_t)den / 2;
    x /= (uint64_t)den;
    return x > (u128)INT64_MAX ? INT64_MAX : (int64_t)x;
}

static void geo_premium(struct price *pr)
{
    for (size_t k = 1; k < NKINDS; k++)
        if (k != LLM_PRICE_LONG_THRESHOLD && pr->v[k] >= 0)
            pr->v[k] = scale(pr->v[k], 11, 10);
}

/* Caller holds the lock. */
static int resolve(struct llm__prices *p, const char *model, int with_host, struct price *out)
{
    size_t n = strlen(model);
    if (try_name(p, model, n, with_host, out))
        return 1;
    const char *s = model;
    if (n > 4 && memcmp(s, "arn:", 4) == 0) {
        const char *slash = strrchr(s, '/');
        if (slash) {
            n -= (size_t)(slash + 1 - s);
            s = slash + 1;
        }
    }
    const char *models = NULL;
    for (const char *q = s; (q = strstr(q, "models/")) != NULL; q += 7)
        models = q + 7;
    if (models) {
        n -= (size_t)(models - s);
        s = models;
    }
    int region = strip_prefix(&s, &n, regions, LLM__ARRAY_LEN(regions));
    int vendor = strip_prefix(&s, &n, vendors, LLM__ARRAY_LEN(vendors));
    if (region >= 0 && vendor < 0) {
        /* "us.x" without a known vendor is not a region prefix after all. */
        return 0;
    }
    for (int round = 0; n > 0; round++) {
        if ((round > 0 || s != model) && try_name(p, s, n, with_host, out)) {
            if (region > 0 && (out->flags & PRICE_GEO_PREMIUM))
                geo_premium(out);
            return 1;
        }
        size_t cut = version_suffix(s, n);
        if (!cut)
            cut = date_suffix(s, n);
        if (!cut)
            break;
        n -= cut;
    }
    return 0;
}

/* ---- cost -------------------------------------------------------------- */

struct tier {
    int64_t in, out, cache_read, cache_write, cache_write_1h;
};

static int tier_of(const struct price *pr, int64_t input_tokens, struct tier *t)
{
    const int64_t *v = pr->v;
    if (v[LLM_PRICE_INPUT] < 0 || v[LLM_PRICE_OUTPUT] < 0)
        return 0;
    t->in = v[LLM_PRICE_INPUT];
    t->out = v[LLM_PRICE_OUTPUT];
    t->cache_read = v[LLM_PRICE_CACHE_READ] >= 0 ? v[LLM_PRICE_CACHE_READ] : t->in;
    t->cache_write = v[LLM_PRICE_CACHE_WRITE] >= 0 ? v[LLM_PRICE_CACHE_WRITE] : t->in;
    t->cache_write_1h = v[LLM_PRICE_CACHE_WRITE_1H] >= 0 ? v[LLM_PRICE_CACHE_WRITE_1H]
                                                          : t->cache_write;
    int64_t thr = v[LLM_PRICE_LONG_THRESHOLD];
    int64_t lin = v[LLM_PRICE_LONG_INPUT];
    if (thr > 0 && lin >= 0 && input_tokens > thr) {
        int64_t base = t->in;
        t->in = lin;
        if (v[LLM_PRICE_LONG_OUTPUT] >= 0)
            t->out = v[LLM_PRICE_LONG_OUTPUT];
        t->cache_read = v[LLM_PRICE_LONG_CACHE_READ] >= 0 ? v[LLM_PRICE_LONG_CACHE_READ]
                                                          : scale(t->cache_read, lin, base);
        t->cache_write = v[LLM_PRICE_LONG_CACHE_WRITE] >= 0 ? v[LLM_PRICE_LONG_CACHE_WRITE]
                                                            : scale(t->cache_write, lin, base);
        t->cache_write_1h = scale(t->cache_write_1h, lin, base);
    }
    return 1;
}

/* sum of tokens x nano-USD-per-million, to nano-USD rounded to nearest. */
static int64_t to_nanos(u128 sum)
{
    sum = (sum + 500000) / 1000000;
    return sum > (u128)INT64_MAX ? INT64_MAX : (int64_t)sum;
}

static u128 mul(int64_t tokens, int64_t price)
{
    if (tokens <= 0 || price <= 0)
        return 0;
    return (u128)(uint64_t)tokens * (uint64_t)price;
}

int llm__prices_cost(struct llm__prices *p, const char *model, const struct llm__usage *u,
                     int64_t *nanos_out)
{
    if (nanos_out)
        *nanos_out = -1;
    if (!p || !u || !nanos_out)
        return LLM_ERR_MISUSE;
    int64_t in = u->v[LLM_USAGE_INPUT], out = u->v[LLM_USAGE_OUTPUT];
    if (!model || in < 0 || out < 0)
        return LLM_ERR_NOT_AVAILABLE;
    struct price pr;
    pthread_mutex_lock(&p->lock);
    int found = resolve(p, model, 1, &pr);
    pthread_mutex_unlock(&p->lock);
    struct tier t;
    if (!found || !tier_of(&pr, in, &t))
        return LLM_ERR_NOT_AVAILABLE;

    int64_t cr = u->v[LLM_USAGE_CACHE_READ] > 0 ? u->v[LLM_USAGE_CACHE_READ] : 0;
    int64_t cw = u->v[LLM_USAGE_CACHE_WRITE] > 0 ? u->v[LLM_USAGE_CACHE_WRITE] : 0;
    int64_t cw1h = u->v[LLM_USAGE_CACHE_WRITE_1H] > 0 ? u->v[LLM_USAGE_CACHE_WRITE_1H] : 0;
    /* The invariants (CACHE_WRITE includes CACHE_WRITE_1H, INPUT includes
     * both cache kinds) are the adapters'; a record that breaks them is
     * read in the way that never bills a token twice. */
    if (cw1h > cw)
        cw = cw1h;
    if (cr > in)
        cr = in;
    if (cw > in - cr)
        cw = in - cr;
    if (cw1h > cw)
        cw1h = cw;
    int64_t uncached = in - cr - cw;
    /* Reasoning tokens are inside OUTPUT and billed with it, never again. */
    u128 sum = mul(uncached, t.in) + mul(cr, t.cache_read) + mul(cw - cw1h, t.cache_write) +
               mul(cw1h, t.cache_write_1h) + mul(out, t.out);
    *nanos_out = to_nanos(sum);
    return LLM_OK;
}

int llm__prices_max_cost(struct llm__prices *p, const char *model, int64_t input_tokens,
                         int64_t max_output, int64_t *nanos_out)
{
    if (nanos_out)
        *nanos_out = -1;
    if (!p || !nanos_out)
        return LLM_ERR_MISUSE;
    if (!model)
        return LLM_ERR_NOT_AVAILABLE;
    struct price pr;
    pthread_mutex_lock(&p->lock);
    int found = resolve(p, model, 1, &pr);
    pthread_mutex_unlock(&p->lock);
    struct tier t;
    if (!found || !tier_of(&pr, input_tokens, &t))
        return LLM_ERR_NOT_AVAILABLE;
    *nanos_out = to_nanos(mul(input_tokens, t.in) + mul(max_output, t.out));
    return LLM_OK;
}

/* ---- the host's prices ------------------------------------------------- */

static const char *const kind_names[NKINDS] = {
    NULL, "input", "output", "cache_read", "cache_write", "cache_write_1h",
    "long_threshold", "long_input", "long_output", "long_cache_read", "long_cache_write",
};

/* A price in USD per million tokens (or a threshold in tokens) to its
 * stored integer; -1 for a value no price can have. */
static int64_t to_stored(int kind, double value)
{
    if (!(value >= 0))
        return -1;             /* NaN and negatives */
    if (kind == LLM_PRICE_LONG_THRESHOLD)
        return value <= MAX_THRESHOLD ? (int64_t)(value + 0.5) : -1;
    return value <= MAX_PRICE_USD ? (int64_t)(value * 1e9 + 0.5) : -1;
}

/* Caller holds the lock. */
static struct host_entry *host_entry(struct llm__prices *p, const char *model)
{
    struct host_entry *e = host_find(p, model, strlen(model));
    if (e)
        return e;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct host_entry *ne = llm__realloc(p->e, cap * sizeof *ne);
        if (!ne)
            return NULL;
        p->e = ne;
        p->cap = cap;
    }
    e = &p->e[p->n];
    if (!(e->name = llm__strdup(model)))
        return NULL;
    /* A partial override keeps the built-in figures it does not name. */
    if (!resolve(p, model, 0, &e->pr))
        price_unset(&e->pr);
    p->n++;
    return e;
}

int llm__prices_set(struct llm__prices *p, const char *model, int kind, double value)
{
    if (!p || !model)
        return LLM_ERR_MISUSE;
    if (!*model || kind < LLM_PRICE_INPUT || kind > LLM_PRICE_LONG_CACHE_WRITE)
        return LLM_ERR_INVALID_ARG;
    int64_t v = to_stored(kind, value);
    if (v < 0)
        return LLM_ERR_INVALID_ARG;
    pthread_mutex_lock(&p->lock);
    struct host_entry *e = host_entry(p, model);
    if (e)
        e->pr.v[kind] = v;
    pthread_mutex_unlock(&p->lock);
    return e ? LLM_OK : LLM_ERR_NOMEM;
}

struct pending {
    const char *model;
    int kind;
    int64_t v;                 /* -1: unset (JSON null) */
};

int llm__prices_load_json(struct llm__prices *p, const char *json, size_t len, llm__buf *err)
{
    if (!p || !json)
        return LLM_ERR_MISUSE;
    json_t *root;
    int rc = llm__json_load(json, len, &root, err);
    if (rc)
        return rc == LLM_ERR_NOMEM ? rc : LLM_ERR_INVALID_ARG;
    struct pending *todo = NULL;
    size_t ntodo = 0, cap = 0;
    const char *model;
    json_t *prices;
    rc = LLM_OK;
    if (!json_is_object(root)) {
        if (err)
            llm__buf_puts(err, "prices must be a JSON object of models");
        rc = LLM_ERR_INVALID_ARG;
        goto out;
    }
    /* Check everything before applying anything, so that a bad document
     * leaves the prices as they were. */
    json_object_foreach(root, model, prices) {
        if (!*model || !json_is_object(prices)) {
            if (err)
                llm__buf_printf(err, "model \"%s\": prices must be an object", model);
            rc = LLM_ERR_INVALID_ARG;
            goto out;
        }
        const char *key;
        json_t *val;
        json_object_foreach(prices, key, val) {
            int kind = 0;
            for (int k = 1; k < NKINDS; k++)
                if (strcmp(key, kind_names[k]) == 0)
                    kind = k;
            int64_t v = -1;
            if (!kind || (!json_is_number(val) && !json_is_null(val)) ||
                (json_is_number(val) && (v = to_stored(kind, json_number_value(val))) < 0)) {
                if (err)
                    llm__buf_printf(err, "model \"%s\": %s \"%s\"", model,
                                    kind ? "invalid value for" : "unknown price kind", key);
                rc = LLM_ERR_INVALID_ARG;
                goto out;
            }
            if (ntodo == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct pending *nt = llm__realloc(todo, ncap * sizeof *nt);
                if (!nt) {
                    rc = LLM_ERR_NOMEM;
                    goto out;
                }
                todo = nt;
                cap = ncap;
            }
            todo[ntodo].model = model;
            todo[ntodo].kind = kind;
            todo[ntodo].v = v;
            ntodo++;
        }
    }
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < ntodo && rc == LLM_OK; i++) {
        struct host_entry *e = host_entry(p, todo[i].model);
        if (e)
            e->pr.v[todo[i].kind] = todo[i].v;
        else
            rc = LLM_ERR_NOMEM;
    }
    pthread_mutex_unlock(&p->lock);
out:
    llm__free(todo);
    json_decref(root);
    return rc;
}
