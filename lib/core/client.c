/*
 * client.c - provider, credentials, defaults, limits, hooks, fallback;
 * the environment is read once, here (DESIGN.md 5.9).
 */
#include "core/client.h"
#include "transport/transport.h"
#include "hooks/builtin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const int64_t default_timeouts[LLM__NTIMEOUTS] = {
    [LLM_TIMEOUT_CONNECT] = 10000,
    [LLM_TIMEOUT_FIRST_BYTE] = 0,
    [LLM_TIMEOUT_IDLE] = 120000,
    [LLM_TIMEOUT_ATTEMPT] = 600000,
    [LLM_TIMEOUT_DEADLINE] = 0,
};

LLM__PRINTF(3, 4)
static int fail(llm_client *c, int status, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    llm__buf_reset(&c->errmsg);
    llm__buf_puts(&c->errmsg, text);
    return status;
}

static int begin(llm_client *c)
{
    if (!c)
        return LLM_ERR_MISUSE;
    llm__buf_reset(&c->errmsg);
    if (llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    if (atomic_load(&c->frozen))
        return fail(c, LLM_ERR_MISUSE, "the client has made a call; its configuration is frozen");
    return LLM_OK;
}

/* Replace a string option; secrets are wiped when replaced. */
static int set_opt(llm_client *c, char **field, const char *value, int secret)
{
    char *d = NULL;
    if (value) {
        if (llm__has_ctl(value, strlen(value)))
            return fail(c, LLM_ERR_INVALID_ARG, "the value holds CR, LF or NUL");
        if (!(d = llm__strdup(value)))
            return fail(c, LLM_ERR_NOMEM, "out of memory");
    }
    if (secret)
        llm__free_secret(*field);
    else
        llm__free(*field);
    *field = d;
    return LLM_OK;
}

static const char *env(const char *name)
{
    if (llm__init_flags() & LLM_INIT_NO_ENV)
        return NULL;
    const char *v = secure_getenv(name);
    return v && *v ? v : NULL;
}

struct env_map {
    const char *var;
    char **field;
    int secret;
};

/* Names as the official SDKs read them (providers.md 1.1, 2.1, 3.1, 4.1,
 * 5.2).  Explicit setters run later and so always win. */
static int read_env(llm_client *c)
{
    const char *p = c->provider;
    struct env_map map[16];
    size_t n = 0;
    if (strcmp(p, "openai") == 0) {
        map[n++] = (struct env_map){"OPENAI_API_KEY", &c->api_key, 1};
        map[n++] = (struct env_map){"OPENAI_BASE_URL", &c->base_url, 0};
        map[n++] = (struct env_map){"OPENAI_ORG_ID", &c->organization, 0};
        map[n++] = (struct env_map){"OPENAI_PROJECT_ID", &c->project, 0};
    } else if (strcmp(p, "azure") == 0) {
        map[n++] = (struct env_map){"AZURE_OPENAI_API_KEY", &c->api_key, 1};
        map[n++] = (struct env_map){"AZURE_OPENAI_AD_TOKEN", &c->bearer_token, 1};
        map[n++] = (struct env_map){"AZURE_OPENAI_ENDPOINT", &c->base_url, 0};
        map[n++] = (struct env_map){"OPENAI_API_VERSION", &c->api_version, 0};
    } else if (strcmp(p, "anthropic") == 0) {
        map[n++] = (struct env_map){"ANTHROPIC_API_KEY", &c->api_key, 1};
        map[n++] = (struct env_map){"ANTHROPIC_AUTH_TOKEN", &c->bearer_token, 1};
        map[n++] = (struct env_map){"ANTHROPIC_BASE_URL", &c->base_url, 0};
    } else if (strcmp(p, "gemini") == 0) {
        /* GOOGLE_API_KEY first: the Gen AI SDK prefers it when both are set. */
        map[n++] = (struct env_map){"GEMINI_API_KEY", &c->api_key, 1};
        map[n++] = (struct env_map){"GOOGLE_API_KEY", &c->api_key, 1};
        map[n++] = (struct env_map){"GOOGLE_GEMINI_BASE_URL", &c->base_url, 0};
    } else if (strcmp(p, "bedrock") == 0) {
        map[n++] = (struct env_map){"AWS_ACCESS_KEY_ID", &c->aws_access_key_id, 1};
        map[n++] = (struct env_map){"AWS_SECRET_ACCESS_KEY", &c->aws_secret_access_key, 1};
        map[n++] = (struct env_map){"AWS_SESSION_TOKEN", &c->aws_session_token, 1};
        map[n++] = (struct env_map){"AWS_DEFAULT_REGION", &c->region, 0};
        map[n++] = (struct env_map){"AWS_REGION", &c->region, 0};
        map[n++] = (struct env_map){"AWS_BEARER_TOKEN_BEDROCK", &c->bearer_token, 1};
    }
    /* The CA bundle as curl's own tool finds it, for every provider. */
    map[n++] = (struct env_map){"SSL_CERT_FILE", &c->ca_file, 0};
    map[n++] = (struct env_map){"CURL_CA_BUNDLE", &c->ca_file, 0};
    /* Later entries override earlier ones for the same field. */
    for (size_t i = 0; i < n; i++) {
        const char *v = env(map[i].var);
        if (v && set_opt(c, map[i].field, v, map[i].secret) != LLM_OK)
            return LLM_ERR_NOMEM;
    }
    return LLM_OK;
}

static void client_destroy(llm_client *c)
{
    llm__transport_client_cleanup(c);
    llm__free_secret(c->api_key);
    llm__free_secret(c->bearer_token);
    llm__free_secret(c->aws_access_key_id);
    llm__free_secret(c->aws_secret_access_key);
    llm__free_secret(c->aws_session_token);
    llm__free(c->provider);
    llm__free(c->region);
    llm__free(c->base_url);
    llm__free(c->model);
    llm__free(c->api_version);
    llm__free(c->organization);
    llm__free(c->project);
    llm__free(c->ca_file);
    llm__free(c->cache_namespace);
    for (size_t i = 0; i < c->nheaders; i++) {
        llm__free(c->headers[i].name);
        llm__free_secret(c->headers[i].value);
    }
    llm__free(c->headers);
    llm_hooks_free(c->hooks);
    llm__client_release(c->fallback);
    llm__breaker_destroy(&c->breaker);
    llm__retry_budget_destroy(&c->budget);
    llm__prices_free(c->prices);
    pthread_mutex_destroy(&c->lock);
    llm__buf_free(&c->errmsg);
    llm__free(c);
}

int llm_client_new(llm_client **out, const char *provider)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!provider || !llm__initialised())
        return LLM_ERR_MISUSE;
    const struct llm__provider_ops *ops = llm__provider_find(provider);
    if (!ops) {
        static const char *const known[] = {"openai", "azure", "anthropic", "gemini", "bedrock"};
        for (size_t i = 0; i < LLM__ARRAY_LEN(known); i++)
            if (strcmp(provider, known[i]) == 0)
                return LLM_ERR_UNSUPPORTED;
        return LLM_ERR_NOT_FOUND;
    }
    llm_client *c = llm__calloc(1, sizeof *c);
    if (!c)
        return LLM_ERR_NOMEM;
    atomic_init(&c->refs, 1);
    atomic_init(&c->frozen, 0);
    c->ops = ops;
    memcpy(c->timeouts, default_timeouts, sizeof c->timeouts);
    c->max_response_bytes = (int64_t)64 << 20;
    c->max_event_bytes = (int64_t)16 << 20;
    c->default_max_tokens = 4096;
    c->max_retries = 2;
    c->verify_tls = 1;
    pthread_mutex_init(&c->lock, NULL);
    llm__breaker_init(&c->breaker);
    llm__retry_budget_init(&c->budget);
    /* Azure bills some models differently from OpenAI: the table knows. */
    if (!(c->provider = llm__strdup(provider)) || llm__prices_new(&c->prices) != LLM_OK ||
        llm__prices_set_provider(c->prices, provider) != LLM_OK ||
        read_env(c) != LLM_OK || llm__transport_client_init(c) != LLM_OK) {
        client_destroy(c);
        return LLM_ERR_NOMEM;
    }
    *out = c;
    return LLM_OK;
}

void llm__client_retain(llm_client *c) { atomic_fetch_add(&c->refs, 1); }

void llm__client_release(llm_client *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        client_destroy(c);
}

void llm_client_free(llm_client *c) { llm__client_release(c); }

const char *llm_client_provider(const llm_client *c) { return c ? c->provider : NULL; }

const char *llm_client_errmsg(const llm_client *c)
{
    if (!c)
        return "NULL client";
    return c->errmsg.data ? c->errmsg.data : "";
}

#define STRING_SETTER(fn, field, secret)                              \
    int fn(llm_client *c, const char *value)                          \
    {                                                                 \
        int rc = begin(c);                                            \
        return rc ? rc : set_opt(c, &c->field, value, secret);        \
    }

STRING_SETTER(llm_client_set_api_key, api_key, 1)
STRING_SETTER(llm_client_set_bearer_token, bearer_token, 1)
STRING_SETTER(llm_client_set_region, region, 0)
STRING_SETTER(llm_client_set_model, model, 0)
STRING_SETTER(llm_client_set_api_version, api_version, 0)
STRING_SETTER(llm_client_set_organization, organization, 0)
STRING_SETTER(llm_client_set_project, project, 0)
STRING_SETTER(llm_client_set_ca_file, ca_file, 0)
STRING_SETTER(llm_client_set_cache_namespace, cache_namespace, 0)

int llm_client_set_base_url(llm_client *c, const char *url)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return fail(c, LLM_ERR_INVALID_ARG, "the base URL must start with http:// or https://");
    return set_opt(c, &c->base_url, url, 0);
}

int llm_client_set_aws_credentials(llm_client *c, const char *ak, const char *sk, const char *st)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (!ak || !sk)
        return fail(c, LLM_ERR_MISUSE, "the access key id and the secret are required");
    if ((rc = set_opt(c, &c->aws_access_key_id, ak, 1)) ||
        (rc = set_opt(c, &c->aws_secret_access_key, sk, 1)) ||
        (rc = set_opt(c, &c->aws_session_token, st, 1)))
        return rc;
    return LLM_OK;
}

int llm_client_set_timeout_ms(llm_client *c, int which, int64_t ms)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (which < LLM_TIMEOUT_CONNECT || which > LLM_TIMEOUT_DEADLINE)
        return fail(c, LLM_ERR_INVALID_ARG, "unknown timeout %d", which);
    if (ms < 0 || (which == LLM_TIMEOUT_CONNECT && ms == 0))
        return fail(c, LLM_ERR_INVALID_ARG, "timeouts are >= 0 ms (the connect timeout > 0)");
    c->timeouts[which] = ms;
    return LLM_OK;
}

int llm_client_set_limit(llm_client *c, int which, int64_t bytes)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (bytes <= 0)
        return fail(c, LLM_ERR_INVALID_ARG, "limits are > 0 bytes");
    if (which == LLM_LIMIT_RESPONSE_BYTES)
        c->max_response_bytes = bytes;
    else if (which == LLM_LIMIT_EVENT_BYTES)
        c->max_event_bytes = bytes;
    else
        return fail(c, LLM_ERR_INVALID_ARG, "unknown limit %d", which);
    return LLM_OK;
}

static int token_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

int llm_client_add_header(llm_client *c, const char *name, const char *value)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (!name || !value)
        return fail(c, LLM_ERR_MISUSE, "name or value is NULL");
    if (!*name)
        return fail(c, LLM_ERR_INVALID_ARG, "the header name is empty");
    for (const char *p = name; *p; p++)
        if (!token_char((unsigned char)*p))
            return fail(c, LLM_ERR_INVALID_ARG, "the header name \"%s\" is not an HTTP token", name);
    if (llm__has_ctl(value, strlen(value)))
        return fail(c, LLM_ERR_INVALID_ARG, "the value of header \"%s\" holds CR, LF or NUL", name);
    struct llm__header *h = llm__realloc(c->headers, (c->nheaders + 1) * sizeof *h);
    if (!h)
        return fail(c, LLM_ERR_NOMEM, "out of memory");
    c->headers = h;
    h[c->nheaders].name = llm__strdup(name);
    h[c->nheaders].value = llm__strdup(value);
    if (!h[c->nheaders].name || !h[c->nheaders].value) {
        llm__free(h[c->nheaders].name);
        llm__free(h[c->nheaders].value);
        return fail(c, LLM_ERR_NOMEM, "out of memory");
    }
    c->nheaders++;
    return LLM_OK;
}

int llm_client_set_drop_unsupported(llm_client *c, int on)
{
    int rc = begin(c);
    if (rc)
        return rc;
    c->drop_unsupported = on ? 1 : 0;
    return LLM_OK;
}

int llm_client_set_default_max_tokens(llm_client *c, int32_t n)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (n <= 0)
        return fail(c, LLM_ERR_INVALID_ARG, "max_tokens must be > 0");
    c->default_max_tokens = n;
    return LLM_OK;
}

int llm_client_set_max_tokens_field(llm_client *c, int field)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (field < LLM_MAX_TOKENS_FIELD_AUTO || field > LLM_MAX_TOKENS_FIELD_LEGACY)
        return fail(c, LLM_ERR_INVALID_ARG, "unknown max tokens field %d", field);
    c->max_tokens_field = field;
    return LLM_OK;
}

int llm_client_set_max_retries(llm_client *c, int32_t n)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (n < 0 || n > 100)
        return fail(c, LLM_ERR_INVALID_ARG, "max retries must be within 0..100");
    c->max_retries = n;
    return LLM_OK;
}

int llm_client_set_verify_tls(llm_client *c, int on)
{
    int rc = begin(c);
    if (rc)
        return rc;
    c->verify_tls = on ? 1 : 0;
    return LLM_OK;
}

int llm_client_set_hooks(llm_client *c, llm_hooks *h)
{
    int rc = begin(c);
    if (rc)
        return rc;
    llm_hooks *old = c->hooks;
    c->hooks = h ? llm__hooks_ref(h) : NULL;
    llm_hooks_free(old);
    return LLM_OK;
}

int llm_client_set_fallback(llm_client *c, llm_client *next)
{
    int rc = begin(c);
    if (rc)
        return rc;
    int depth = 1;
    for (llm_client *p = next; p; p = p->fallback, depth++) {
        if (p == c)
            return fail(c, LLM_ERR_INVALID_ARG, "the fallback chain would form a cycle");
        if (depth > 8)
            return fail(c, LLM_ERR_INVALID_ARG, "a fallback chain is at most 8 clients long");
    }
    if (next)
        llm__client_retain(next);
    llm__client_release(c->fallback);
    c->fallback = next;
    return LLM_OK;
}

int llm_client_set_breaker(llm_client *c, int32_t failures, int64_t cooldown_ms)
{
    int rc = begin(c);
    if (rc)
        return rc;
    if (failures < 0 || cooldown_ms < 0)
        return fail(c, LLM_ERR_INVALID_ARG, "the breaker takes counts and times >= 0");
    c->breaker.threshold = failures;
    c->breaker.cooldown_ms = cooldown_ms;
    return LLM_OK;
}

int llm_client_set_price(llm_client *c, const char *model, int kind, double value)
{
    if (!c || !model)
        return LLM_ERR_MISUSE;
    if (!isfinite(value) || value < 0)
        return LLM_ERR_INVALID_ARG;
    return llm__prices_set(c->prices, model, kind, value);
}

int llm_client_load_prices(llm_client *c, const char *json, size_t len)
{
    if (!c || !json)
        return LLM_ERR_MISUSE;
    /* Run-time state: the reason goes nowhere shared, the status says it. */
    llm__buf err = {0};
    int rc = llm__prices_load_json(c->prices, json, len, &err);
    llm__buf_free(&err);
    return rc;
}

void llm__client_count(llm_client *c, int kind, int64_t delta)
{
    pthread_mutex_lock(&c->lock);
    c->totals[kind] += delta;
    pthread_mutex_unlock(&c->lock);
}

int llm_client_total(const llm_client *cc, int kind, int64_t *out)
{
    llm_client *c = (llm_client *)cc;
    if (!c || !out)
        return LLM_ERR_MISUSE;
    if (kind < LLM_TOTAL_CALLS || kind >= LLM__NTOTALS) {
        *out = -1;
        return LLM_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&c->lock);
    *out = c->totals[kind];
    pthread_mutex_unlock(&c->lock);
    return LLM_OK;
}

int llm_client_breaker_state(const llm_client *c)
{
    return c ? llm__breaker_state((struct llm__breaker *)&c->breaker) : 0;
}

size_t llm__client_secrets(const llm_client *c, const char **out, size_t max)
{
    const char *all[] = {c->api_key, c->bearer_token, c->aws_secret_access_key,
                         c->aws_session_token, c->aws_access_key_id};
    size_t n = 0;
    for (size_t i = 0; i < LLM__ARRAY_LEN(all) && n < max; i++)
        if (all[i] && strlen(all[i]) >= 4)
            out[n++] = all[i];
    return n;
}
