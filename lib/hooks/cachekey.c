/*
 * cachekey.c - the response cache key: SHA-256 over libllm's own
 * versioned canonical form of everything that can change the answer
 * (DESIGN.md 5.3), and the one-way fingerprint that scopes entries to a
 * credential.
 *
 * The canonical form is "libllm-cache-v1\n" followed by one JSON document
 * serialised with sorted keys and no whitespace.  Embedded JSON (tool and
 * response schemas, extra JSON, opaque meta) is parsed and re-serialised
 * the same way, so key order and whitespace in the host's text do not
 * split the cache.  Doubles are text ("%.17g", which round-trips) so that
 * no JSON number formatting is involved.  Bump the version line whenever
 * the form changes: old entries then simply stop matching.
 */
#include "hooks/builtin.h"

#include <stdio.h>

#include <openssl/evp.h>

#define CANON_VERSION  "libllm-cache-v1\n"
#define ADAPTER_VERSION "1"

static int sha256(const void *data, size_t n, unsigned char md[32])
{
    unsigned int len = 0;
    return EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32 ? LLM_OK
                                                                               : LLM_ERR_NOMEM;
}

static void hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

int llm__credential_fingerprint(const char *secret, char out[22])
{
    if (!out)
        return LLM_ERR_MISUSE;
    out[0] = '\0';
    static const char salt[] = "libllm-scope-v1";
    if (!secret)
        secret = "";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned int len = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, salt, sizeof salt - 1) == 1 &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return LLM_ERR_NOMEM;
    memcpy(out, "cred:", 5);
    hex(md, 8, out + 5);
    return LLM_OK;
}

/* ---- building the canonical document ------------------------------------ */

/* Set a member, taking the reference; a NULL value (failed allocation)
 * marks the whole build as failed. */
static void put(json_t *obj, const char *key, json_t *v, int *failed)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *failed = 1;
}

static void push(json_t *arr, json_t *v, int *failed)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *failed = 1;
}

static json_t *str_or_null(const char *s)
{
    return s ? llm__json_bytes(s, strlen(s)) : json_null();
}

/* Embedded JSON text, parsed so that it serialises canonically; text that
 * is not JSON (setters reject it, but be safe) is kept as bytes in a
 * wrapper no parsed document can equal. */
static json_t *embedded(const char *text, size_t n)
{
    if (!text)
        return json_null();
    json_t *j = NULL;
    int rc = llm__json_load(text, n, &j, NULL);
    if (rc == LLM_OK)
        return j;
    if (rc == LLM_ERR_NOMEM)
        return NULL;
    json_t *w = json_object();
    json_t *b = llm__json_bytes(text, n);
    if (!w || !b || json_object_set_new(w, "unparsed", b) != 0) {
        json_decref(w);
        return NULL;
    }
    return w;
}

/* "%.17g", whatever the host's LC_NUMERIC: anything that is not a digit,
 * sign or exponent is the locale's decimal point and becomes '.'. */
static json_t *dbl(double v)
{
    char raw[64], out[64];
    snprintf(raw, sizeof raw, "%.17g", v);
    size_t o = 0;
    int in_point = 0;
    for (size_t i = 0; raw[i] && o + 1 < sizeof out; i++) {
        char c = raw[i];
        int plain = (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E';
        if (plain) {
            out[o++] = c;
            in_point = 0;
        } else if (!in_point) {
            out[o++] = '.';
            in_point = 1;
        }
    }
    out[o] = '\0';
    return json_string(out);
}

static json_t *sha_hex(const void *data, size_t n)
{
    unsigned char md[32];
    char h[65];
    if (sha256(data, n, md) != LLM_OK)
        return NULL;
    hex(md, 32, h);
    return json_string(h);
}

static json_t *canon_part(const struct llm__part *p, int *failed)
{
    json_t *o = json_object();
    if (!o) {
        *failed = 1;
        return NULL;
    }
    put(o, "type", json_integer(p->type), failed);
    if (p->text)
        put(o, "text", llm__json_bytes(p->text, p->text_len), failed);
    if (p->mime)
        put(o, "mime", str_or_null(p->mime), failed);
    if (p->type == LLM__PART_IMAGE_DATA || p->data)
        /* The digest stands for the bytes: megabytes of image need not be
         * hashed twice nor held in the canonical text. */
        put(o, "data_sha256", sha_hex(p->data ? (const void *)p->data : "", p->data_len), failed);
    if (p->id)
        put(o, "id", str_or_null(p->id), failed);
    if (p->name)
        put(o, "name", str_or_null(p->name), failed);
    if (p->flags)
        put(o, "flags", json_integer(p->flags), failed);
    if (p->meta.json) {
        json_t *m = json_object();
        if (m) {
            put(m, "provider", str_or_null(p->meta.provider), failed);
            put(m, "model", str_or_null(p->meta.model), failed);
            put(m, "json", embedded(p->meta.json, p->meta.json_len), failed);
        }
        put(o, "meta", m, failed);
    }
    return o;
}

/* Headers that carry a credential never enter the key: the scope stands
 * for the credential, and the canonical text may be logged or stored. */
static int secret_header(const char *name)
{
    static const char *const names[] = {"authorization", "proxy-authorization", "x-api-key",
                                        "api-key", "x-goog-api-key", "x-amz-security-token",
                                        "cookie"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(names); i++)
        if (llm__strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

struct hdr {
    char *name;                /* lower-cased copy */
    const char *value;
};

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static json_t *canon_headers(const struct llm__header *h, size_t n, int *failed)
{
    json_t *arr = json_array();
    struct hdr *v = n ? llm__calloc(n, sizeof *v) : NULL;
    if (!arr || (n && !v)) {
        json_decref(arr);
        llm__free(v);
        *failed = 1;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name || secret_header(h[i].name))
            continue;
        char *lc = llm__strdup(h[i].name);
        if (!lc) {
            *failed = 1;
            break;
        }
        for (char *c = lc; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        v[k].name = lc;
        v[k].value = h[i].value ? h[i].value : "";
        k++;
    }
    if (k)
        qsort(v, k, sizeof *v, hdr_cmp);
    for (size_t i = 0; i < k; i++) {
        json_t *pair = json_array();
        if (pair) {
            push(pair, str_or_null(v[i].name), failed);
            push(pair, str_or_null(v[i].value), failed);
        }
        push(arr, pair, failed);
        llm__free(v[i].name);
    }
    llm__free(v);
    return arr;
}

static int extra_cmp(const void *a, const void *b)
{
    const struct llm__extra *x = *(const struct llm__extra *const *)a;
    const struct llm__extra *y = *(const struct llm__extra *const *)b;
    if (!x->provider || !y->provider)
        return !!x->provider - !!y->provider;
    return strcmp(x->provider, y->provider);
}

static json_t *canon_request(const llm_request *r, int *failed)
{
    json_t *o = json_object();
    json_t *msgs = json_array(), *tools = json_array(), *stops = json_array(),
           *extras = json_array();
    if (!o || !msgs || !tools || !stops || !extras) {
        json_decref(o);
        json_decref(msgs);
        json_decref(tools);
        json_decref(stops);
        json_decref(extras);
        *failed = 1;
        return NULL;
    }
    for (size_t i = 0; i < r->nmsgs; i++) {
        const struct llm__message *m = &r->msgs[i];
        json_t *mo = json_object(), *parts = json_array();
        if (!mo || !parts) {
            json_decref(mo);
            json_decref(parts);
            *failed = 1;
            break;
        }
        put(mo, "role", json_integer(m->role), failed);
        for (size_t k = 0; k < m->nparts; k++)
            push(parts, canon_part(&m->parts[k], failed), failed);
        put(mo, "parts", parts, failed);
        push(msgs, mo, failed);
    }
    put(o, "messages", msgs, failed);
    for (size_t i = 0; i < r->ntools; i++) {
        const struct llm__tool *t = &r->tools[i];
        json_t *to = json_object();
        if (to) {
            put(to, "name", str_or_null(t->name), failed);
            put(to, "description", str_or_null(t->description), failed);
            put(to, "schema", embedded(t->schema, t->schema ? strlen(t->schema) : 0), failed);
        }
        push(tools, to, failed);
    }
    put(o, "tools", tools, failed);
    put(o, "tool_choice", json_integer(r->tool_choice), failed);
    put(o, "tool_choice_name", str_or_null(r->tool_choice_name), failed);
    put(o, "parallel_tool_calls", json_integer(r->parallel_tool_calls), failed);
    if (r->schema) {
        json_t *so = json_object();
        if (so) {
            put(so, "name", str_or_null(r->schema_name), failed);
            put(so, "schema", embedded(r->schema, strlen(r->schema)), failed);
        }
        put(o, "response_schema", so, failed);
    }
    for (size_t i = 0; i < r->nstops && i < LLM__MAX_STOPS; i++)
        push(stops, str_or_null(r->stops[i]), failed);
    put(o, "stops", stops, failed);
    /* Only what the caller set: an unset parameter and a parameter set to
     * the provider's default are different requests on the wire. */
    if (r->has_temperature)
        put(o, "temperature", dbl(r->temperature), failed);
    if (r->has_top_p)
        put(o, "top_p", dbl(r->top_p), failed);
    if (r->has_top_k)
        put(o, "top_k", json_integer(r->top_k), failed);
    if (r->has_max_tokens)
        put(o, "max_tokens", json_integer(r->max_tokens), failed);
    if (r->has_seed)
        put(o, "seed", json_integer((json_int_t)r->seed), failed);
    put(o, "reasoning_effort", json_integer(r->reasoning_effort), failed);
    put(o, "reasoning_budget", json_integer(r->reasoning_budget), failed);
    /* One extra per provider, in the order of their names (the order the
     * host set them in does not change any body). */
    const struct llm__extra **ex = r->nextras ? llm__calloc(r->nextras, sizeof *ex) : NULL;
    if (r->nextras && !ex)
        *failed = 1;
    for (size_t i = 0; ex && i < r->nextras; i++)
        ex[i] = &r->extras[i];
    if (ex)
        qsort(ex, r->nextras, sizeof *ex, extra_cmp);
    for (size_t i = 0; ex && i < r->nextras; i++) {
        json_t *eo = json_object();
        if (eo) {
            put(eo, "provider", str_or_null(ex[i]->provider), failed);
            put(eo, "json", embedded(ex[i]->json, ex[i]->json ? strlen(ex[i]->json) : 0),
                failed);
        }
        push(extras, eo, failed);
    }
    llm__free(ex);
    put(o, "extras", extras, failed);
    return o;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return llm__buf_append(data, buf, size) == LLM_OK ? 0 : -1;
}

int llm__cache_key(const struct llm__cache_key_input *in, llm__buf *canon, char key_out[65])
{
    if (!in || !in->req || !key_out || (in->nheaders && !in->headers))
        return LLM_ERR_MISUSE;
    key_out[0] = '\0';
    llm__buf local = {0};
    llm__buf *b = canon ? canon : &local;
    llm__buf_reset(b);
    int failed = 0;
    json_t *doc = json_object();
    if (!doc)
        return LLM_ERR_NOMEM;
    put(doc, "adapter", json_string(ADAPTER_VERSION), &failed);
    put(doc, "provider", str_or_null(in->provider), &failed);
    put(doc, "base_url", str_or_null(in->base_url), &failed);
    put(doc, "api_version", str_or_null(in->api_version), &failed);
    put(doc, "model", str_or_null(in->model), &failed);
    put(doc, "scope", str_or_null(in->scope), &failed);
    put(doc, "request", canon_request(in->req, &failed), &failed);
    put(doc, "headers", canon_headers(in->headers, in->nheaders, &failed), &failed);
    int rc = LLM_OK;
    if (failed || llm__buf_puts(b, CANON_VERSION) != LLM_OK ||
        json_dump_callback(doc, dump_cb, b, JSON_COMPACT | JSON_SORT_KEYS) != 0 ||
        llm__buf_reserve(b, 0) != LLM_OK)
        rc = LLM_ERR_NOMEM;
    json_decref(doc);
    unsigned char md[32];
    if (rc == LLM_OK && (rc = sha256(b->data, b->len, md)) == LLM_OK)
        hex(md, 32, key_out);
    if (rc != LLM_OK)
        llm__buf_reset(b);
    llm__buf_free(&local);
    return rc;
}
