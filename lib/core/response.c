/*
 * response.c - the unified response: builders used by adapters and the
 * public getters.
 */
#include "internal.h"

#include <stdio.h>

void llm__client_release(llm_client *c);

llm_response *llm__response_new(void)
{
    llm_response *r = llm__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->msg.role = LLM_ROLE_ASSISTANT;
    r->retry_after_ms = -1;
    for (size_t i = 0; i < LLM__ARRAY_LEN(r->usage.v); i++)
        r->usage.v[i] = -1;
    return r;
}

void llm__response_destroy(llm_response *r)
{
    if (!r)
        return;
    llm__client_release(r->client);
    llm__buf_free(&r->errmsg);
    llm__free(r->error_type);
    llm__free(r->error_code);
    llm__free(r->error_message);
    llm__free(r->request_id);
    llm__free(r->id);
    llm__free(r->model);
    llm__free(r->provider);
    llm__free(r->meta_model);
    llm__message_free(&r->msg);
    llm__free(r->tool_parts);
    llm__buf_free(&r->text);
    llm__free(r->finish_raw);
    llm__free(r->usage_raw);
    for (size_t i = 0; i < r->nwarnings; i++)
        llm__free(r->warnings[i]);
    llm__free(r->warnings);
    for (size_t i = 0; i < r->nheaders; i++) {
        llm__free(r->headers[i].name);
        llm__free(r->headers[i].value);
    }
    llm__free(r->headers);
    llm__buf_free(&r->raw);
    llm__free(r->filter_json);
    llm__free(r);
}

void llm_response_free(llm_response *r)
{
    /* A stream's borrowed response belongs to the stream. */
    if (r && !r->owned_by_stream)
        llm__response_destroy(r);
}

/* ---- builders ---------------------------------------------------------- */

static int part_append(struct llm__part *p, const char *s, size_t n)
{
    if (p->text_len + n + 1 > p->text_cap) {
        size_t cap = p->text_cap ? p->text_cap : 64;
        while (cap < p->text_len + n + 1)
            cap *= 2;
        char *t = llm__realloc(p->text, cap);
        if (!t)
            return LLM_ERR_NOMEM;
        p->text = t;
        p->text_cap = cap;
    }
    memcpy(p->text + p->text_len, s, n);
    p->text_len += n;
    p->text[p->text_len] = '\0';
    return LLM_OK;
}

static int append_typed(llm_response *r, int type, const char *s, size_t n)
{
    struct llm__part *p = llm__resp_last_part(r);
    if (!p || p->type != type) {
        if (llm__message_add_part(&r->msg, &p) != LLM_OK)
            return LLM_ERR_NOMEM;
        p->type = type;
        if (part_append(p, "", 0) != LLM_OK) {
            r->msg.nparts--;
            return LLM_ERR_NOMEM;
        }
    }
    if (type == LLM__PART_TEXT)
        r->text_stale = 1;
    return part_append(p, s, n);
}

int llm__resp_append_text(llm_response *r, const char *s, size_t n)
{
    return append_typed(r, LLM__PART_TEXT, s, n);
}

int llm__resp_append_reasoning(llm_response *r, const char *s, size_t n)
{
    return append_typed(r, LLM__PART_REASONING, s, n);
}

int llm__resp_add_tool_call(llm_response *r, const char *id, const char *name,
                            const char *args, size_t args_len, size_t *index_out)
{
    if (r->ntools == r->tools_cap) {
        size_t cap = r->tools_cap ? r->tools_cap * 2 : 4;
        size_t *t = llm__realloc(r->tool_parts, cap * sizeof *t);
        if (!t)
            return LLM_ERR_NOMEM;
        r->tool_parts = t;
        r->tools_cap = cap;
    }
    struct llm__part *p;
    if (llm__message_add_part(&r->msg, &p) != LLM_OK)
        return LLM_ERR_NOMEM;
    p->type = LLM__PART_TOOL_CALL;
    p->id = llm__strdup(id ? id : "");
    p->name = llm__strdup(name ? name : "");
    if (!p->id || !p->name || part_append(p, args ? args : "", args ? args_len : 0) != LLM_OK) {
        llm__part_free(p);
        r->msg.nparts--;
        return LLM_ERR_NOMEM;
    }
    r->tool_parts[r->ntools] = r->msg.nparts - 1;
    if (index_out)
        *index_out = r->ntools;
    r->ntools++;
    return LLM_OK;
}

struct llm__part *llm__resp_tool_part(llm_response *r, size_t i)
{
    return i < r->ntools ? &r->msg.parts[r->tool_parts[i]] : NULL;
}

int llm__resp_tool_args_append(llm_response *r, size_t i, const char *s, size_t n)
{
    struct llm__part *p = llm__resp_tool_part(r, i);
    if (!p)
        return LLM_ERR_INVALID_ARG;
    return part_append(p, s, n);
}

struct llm__part *llm__resp_last_part(llm_response *r)
{
    return r->msg.nparts ? &r->msg.parts[r->msg.nparts - 1] : NULL;
}

int llm__resp_set_meta(llm_response *r, struct llm__part *p, const char *json, size_t len)
{
    char *j = llm__strndup(json, len);
    char *prov = llm__strdup(r->provider);
    char *model = llm__strdup(r->meta_model ? r->meta_model : r->model);
    if (!j || (r->provider && !prov) || ((r->meta_model || r->model) && !model)) {
        llm__free(j);
        llm__free(prov);
        llm__free(model);
        return LLM_ERR_NOMEM;
    }
    llm__meta_free(&p->meta);
    p->meta.json = j;
    p->meta.json_len = len;
    p->meta.provider = prov;
    p->meta.model = model;
    return LLM_OK;
}

int llm__resp_add_opaque(llm_response *r, const char *json, size_t len)
{
    struct llm__part *p;
    if (llm__message_add_part(&r->msg, &p) != LLM_OK)
        return LLM_ERR_NOMEM;
    p->type = LLM__PART_OPAQUE;
    if (llm__resp_set_meta(r, p, json, len) != LLM_OK) {
        r->msg.nparts--;
        return LLM_ERR_NOMEM;
    }
    return LLM_OK;
}

int llm__resp_set_strn(char **field, const char *s, size_t n)
{
    char *d = NULL;
    if (s && !(d = llm__strndup(s, n)))
        return LLM_ERR_NOMEM;
    llm__free(*field);
    *field = d;
    return LLM_OK;
}

int llm__resp_set_str(char **field, const char *s)
{
    return llm__resp_set_strn(field, s, s ? strlen(s) : 0);
}

int llm__resp_set_finish(llm_response *r, int finish, const char *raw)
{
    r->finish = finish;
    return llm__resp_set_str(&r->finish_raw, raw);
}

/* ---- the usage record as text ---------------------------------------- */

/* A usage record is written once per call; through jansson's dumper (a
 * callback per token, snprintf per number) that was a tenth of the CPU of
 * a whole non-streamed call.  This writer gives the same bytes as
 * llm__json_dump (JSON_COMPACT) for what usage records hold: objects,
 * arrays, integers, strings, true, false, null, into a stack buffer.  A
 * real number, nesting past UW_DEPTH or a record past the buffer go
 * through jansson instead, so their text stays jansson's. */
enum { UW_DEPTH = 16, UW_CAP = 2048 };

struct uw {
    char *p, *end;             /* cursor and limit in the caller's buffer */
};

#define UW_ROOM(w, n) ((size_t)((w)->end - (w)->p) >= (size_t)(n))

static int uw_bytes(struct uw *w, const char *s, size_t n)
{
    if (!UW_ROOM(w, n))
        return -1;
    memcpy(w->p, s, n);
    w->p += n;
    return 0;
}

static int uw_str(struct uw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    /* Six bytes per input byte at worst, and the quotes. */
    if (n > UW_CAP || !UW_ROOM(w, n * 6 + 2))
        return -1;
    char *o = w->p;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
            break;
        }
    }
    *o++ = '"';
    w->p = o;
    return 0;
}

static int uw_int(struct uw *w, json_int_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    /* Negate in unsigned arithmetic: the most negative value has no positive. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return uw_bytes(w, p, (size_t)(e - p));
}

static int uw_value(struct uw *w, const json_t *j, int depth)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (depth >= UW_DEPTH || uw_bytes(w, "{", 1))
            return -1;
        int first = 1;
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
            size_t klen = json_object_iter_key_len(it);
#else
            size_t klen = strlen(key);
#endif
            if ((!first && uw_bytes(w, ",", 1)) || uw_str(w, key, klen) || uw_bytes(w, ":", 1) ||
                uw_value(w, json_object_iter_value(it), depth + 1))
                return -1;
            first = 0;
        }
        return uw_bytes(w, "}", 1);
    }
    case JSON_ARRAY: {
        if (depth >= UW_DEPTH || uw_bytes(w, "[", 1))
            return -1;
        for (size_t i = 0; i < json_array_size(j); i++)
            if ((i && uw_bytes(w, ",", 1)) || uw_value(w, json_array_get(j, i), depth + 1))
                return -1;
        return uw_bytes(w, "]", 1);
    }
    case JSON_STRING:
        return uw_str(w, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return uw_int(w, json_integer_value(j));
    case JSON_TRUE:
        return uw_bytes(w, "true", 4);
    case JSON_FALSE:
        return uw_bytes(w, "false", 5);
    case JSON_NULL:
        return uw_bytes(w, "null", 4);
    default:
        return -1;
    }
}

int llm__resp_set_usage_raw(llm_response *r, const json_t *usage)
{
    char tmp[UW_CAP];
    struct uw w = {tmp, tmp + sizeof tmp};
    char *text;
    if (usage && uw_value(&w, usage, 0) == 0) {
        text = llm__strndup(tmp, (size_t)(w.p - tmp));
    } else {
        llm__buf b = {0};
        if (llm__json_dump(&b, usage) != LLM_OK) {
            llm__buf_free(&b);
            return LLM_ERR_NOMEM;
        }
        text = llm__buf_steal(&b);
    }
    if (!text)
        return LLM_ERR_NOMEM;
    llm__free(r->usage_raw);
    r->usage_raw = text;
    return LLM_OK;
}

int llm__resp_warn(llm_response *r, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char **w = llm__realloc(r->warnings, (r->nwarnings + 1) * sizeof *w);
    if (!w)
        return LLM_ERR_NOMEM;
    r->warnings = w;
    if (!(w[r->nwarnings] = llm__strdup(text)))
        return LLM_ERR_NOMEM;
    r->nwarnings++;
    return LLM_OK;
}

int llm__resp_fail(llm_response *r, int status, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    r->status = status;
    llm__buf_reset(&r->errmsg);
    llm__buf_puts(&r->errmsg, text);
    return status;
}

void llm__resp_fix_finish(llm_response *r)
{
    if (r->ntools > 0 && r->finish == LLM_FINISH_STOP)
        r->finish = LLM_FINISH_TOOL_CALLS;
}

/* ---- getters ----------------------------------------------------------- */

int llm_response_status(const llm_response *r) { return r ? r->status : LLM_ERR_MISUSE; }
int llm_response_http_status(const llm_response *r) { return r ? r->http_status : 0; }

const char *llm_response_errmsg(const llm_response *r)
{
    if (!r)
        return "NULL response";
    return r->errmsg.data ? r->errmsg.data : "";
}

const char *llm_response_error_type(const llm_response *r) { return r ? r->error_type : NULL; }
const char *llm_response_error_code(const llm_response *r) { return r ? r->error_code : NULL; }
const char *llm_response_error_message(const llm_response *r) { return r ? r->error_message : NULL; }
int llm_response_error_mid_stream(const llm_response *r) { return r ? r->mid_stream : 0; }
int llm_response_retryable(const llm_response *r) { return r ? r->retryable : 0; }
int64_t llm_response_retry_after_ms(const llm_response *r) { return r ? r->retry_after_ms : -1; }
int llm_response_timeout_kind(const llm_response *r) { return r ? r->timeout_kind : 0; }
const char *llm_response_request_id(const llm_response *r) { return r ? r->request_id : NULL; }
const char *llm_response_id(const llm_response *r) { return r ? r->id : NULL; }
const char *llm_response_model(const llm_response *r) { return r ? r->model : NULL; }
const char *llm_response_provider(const llm_response *r) { return r ? r->provider : NULL; }
int llm_response_cache_hit(const llm_response *r) { return r ? r->cache_hit : 0; }
int32_t llm_response_attempts(const llm_response *r) { return r ? r->attempts : 0; }
int llm_response_finish(const llm_response *r) { return r ? r->finish : LLM_FINISH_NONE; }
const char *llm_response_finish_raw(const llm_response *r) { return r ? r->finish_raw : NULL; }
int32_t llm_response_deny_code(const llm_response *r) { return r ? r->deny_code : 0; }
int64_t llm_response_retry_at_ms(const llm_response *r) { return r ? r->retry_at_ms : 0; }

static const char *out_len(const char *s, size_t n, size_t *len_out)
{
    if (len_out)
        *len_out = s ? n : 0;
    return s;
}

const char *llm_response_text(const llm_response *cr, size_t *len_out)
{
    llm_response *r = (llm_response *)cr;
    if (!r)
        return out_len("", 0, len_out);
    const struct llm__part *only = NULL;
    size_t ntext = 0;
    for (size_t i = 0; i < r->msg.nparts; i++)
        if (r->msg.parts[i].type == LLM__PART_TEXT) {
            only = &r->msg.parts[i];
            ntext++;
        }
    if (ntext == 0)
        return out_len("", 0, len_out);
    /* One text part is the common case: hand it out without a copy. */
    if (ntext == 1)
        return out_len(only->text, only->text_len, len_out);
    if (r->text_stale || !r->text.data) {
        llm__buf_reset(&r->text);
        for (size_t i = 0; i < r->msg.nparts; i++)
            if (r->msg.parts[i].type == LLM__PART_TEXT &&
                llm__buf_append(&r->text, r->msg.parts[i].text, r->msg.parts[i].text_len))
                return out_len(NULL, 0, len_out);
        r->text_stale = 0;
    }
    return out_len(r->text.data, r->text.len, len_out);
}

char *llm_response_text_dup(const llm_response *r)
{
    size_t n;
    const char *t = llm_response_text(r, &n);
    return t ? llm__strndup(t, n) : NULL;
}

size_t llm_response_part_count(const llm_response *r) { return r ? r->msg.nparts : 0; }

int llm_response_part_type(const llm_response *r, size_t i)
{
    if (!r || i >= r->msg.nparts)
        return 0;
    switch (r->msg.parts[i].type) {
    case LLM__PART_TEXT: return LLM_PART_TEXT;
    case LLM__PART_REASONING: return LLM_PART_REASONING;
    case LLM__PART_TOOL_CALL: return LLM_PART_TOOL_CALL;
    default: return LLM_PART_OPAQUE;
    }
}

const char *llm_response_part_text(const llm_response *r, size_t i, size_t *len_out)
{
    if (!r || i >= r->msg.nparts)
        return out_len(NULL, 0, len_out);
    const struct llm__part *p = &r->msg.parts[i];
    if (!p->text)
        return out_len("", 0, len_out);
    return out_len(p->text, p->text_len, len_out);
}

size_t llm_response_tool_call_count(const llm_response *r) { return r ? r->ntools : 0; }

static const struct llm__part *tool(const llm_response *r, size_t i)
{
    return r && i < r->ntools ? &r->msg.parts[r->tool_parts[i]] : NULL;
}

const char *llm_response_tool_call_id(const llm_response *r, size_t i)
{
    const struct llm__part *p = tool(r, i);
    return p ? p->id : NULL;
}

const char *llm_response_tool_call_name(const llm_response *r, size_t i)
{
    const struct llm__part *p = tool(r, i);
    return p ? p->name : NULL;
}

const char *llm_response_tool_call_arguments(const llm_response *r, size_t i, size_t *len_out)
{
    const struct llm__part *p = tool(r, i);
    if (!p)
        return out_len(NULL, 0, len_out);
    return out_len(p->text, p->text_len, len_out);
}

int llm__usage_get(const struct llm__usage *u, int kind, int64_t *out)
{
    int64_t v = -1;
    if (u && kind == LLM_USAGE_TOTAL) {
        if (u->v[LLM_USAGE_INPUT] >= 0 && u->v[LLM_USAGE_OUTPUT] >= 0)
            v = u->v[LLM_USAGE_INPUT] + u->v[LLM_USAGE_OUTPUT];
    } else if (u && kind >= LLM_USAGE_INPUT && kind < LLM_USAGE_TOTAL) {
        v = u->v[kind];
    } else if (kind < LLM_USAGE_INPUT || kind > LLM_USAGE_TOTAL) {
        if (out)
            *out = -1;
        return LLM_ERR_INVALID_ARG;
    }
    if (out)
        *out = v;
    return v >= 0 ? LLM_OK : LLM_ERR_NOT_AVAILABLE;
}

int llm_response_usage(const llm_response *r, int kind, int64_t *out)
{
    if (!r || !out) {
        if (out)
            *out = -1;
        return LLM_ERR_MISUSE;
    }
    return llm__usage_get(&r->usage, kind, out);
}

const char *llm_response_usage_raw(const llm_response *r, size_t *len_out)
{
    const char *s = r ? r->usage_raw : NULL;
    return out_len(s, s ? strlen(s) : 0, len_out);
}

int llm_response_cost_nanos(const llm_response *r, int64_t *out)
{
    if (!r || !out) {
        if (out)
            *out = -1;
        return LLM_ERR_MISUSE;
    }
    if (r->cache_hit) {
        *out = 0;
        return LLM_OK;
    }
    if (!r->cost_known) {
        *out = -1;
        return LLM_ERR_NOT_AVAILABLE;
    }
    *out = r->cost_nanos;
    return LLM_OK;
}

size_t llm_response_warning_count(const llm_response *r) { return r ? r->nwarnings : 0; }

const char *llm_response_warning(const llm_response *r, size_t i)
{
    return r && i < r->nwarnings ? r->warnings[i] : NULL;
}

const char *llm_response_header(const llm_response *r, const char *name, size_t *len_out)
{
    if (!r || !name)
        return out_len(NULL, 0, len_out);
    /* The last occurrence wins, as for a header sent twice. */
    for (size_t i = r->nheaders; i-- > 0;)
        if (llm__strcasecmp(r->headers[i].name, name) == 0)
            return out_len(r->headers[i].value, strlen(r->headers[i].value), len_out);
    return out_len(NULL, 0, len_out);
}

const char *llm_response_raw(const llm_response *r, size_t *len_out)
{
    if (!r || !r->raw.data)
        return out_len(NULL, 0, len_out);
    return out_len(r->raw.data, r->raw.len, len_out);
}

const char *llm_response_filter_json(const llm_response *r, size_t *len_out)
{
    const char *s = r ? r->filter_json : NULL;
    return out_len(s, s ? strlen(s) : 0, len_out);
}
