/*
 * serialize.c - a final successful response to bytes for the cache, and
 * back (DESIGN.md 5.3).
 *
 * The format is a JSON object with a version number:
 *   {"v":1, "parts":[{"type":"text"|"reasoning"|"tool_call"|"opaque",
 *                     "text":..., "id":..., "name":...,
 *                     "meta":{"provider":...,"model":...,"json":...}}, ...],
 *    "finish":N, "finish_raw":..., "usage":[8 integers, -1 = not reported],
 *    "id":..., "model":..., "provider":..., "meta_model":..., "request_id":...,
 *    "warnings":[...], "usage_raw":..., "filter_json":...}
 * Every string is either a JSON string (valid UTF-8, NULs allowed) or
 * {"b64": ...} for bytes that are not UTF-8, so any part round-trips
 * exactly.  Entries are read back as untrusted bytes: another process, an
 * older libllm or an attacker with access to the cache may have written
 * them, so anything unexpected is LLM_ERR_PROTOCOL.
 */
#include "hooks/builtin.h"

#define FORMAT_VERSION 1

/* ---- bytes as JSON ----------------------------------------------------- */

json_t *llm__json_bytes(const char *s, size_t n)
{
    if (!s)
        return json_null();
    if (llm__utf8_valid(s, n))
        return json_stringn(s, n);
    llm__buf b = {0};
    json_t *o = NULL;
    if (llm__base64_encode(&b, s, n) == LLM_OK) {
        o = json_object();
        if (o && json_object_set_new(o, "b64", json_stringn(b.data ? b.data : "", b.len)) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    llm__buf_free(&b);
    return o;
}

int llm__json_bytes_get(const json_t *j, char **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (json_is_string(j)) {
        size_t n = json_string_length(j);
        if (!(*out = llm__strndup(json_string_value(j), n)))
            return LLM_ERR_NOMEM;
        *n_out = n;
        return LLM_OK;
    }
    json_t *b64 = json_is_object(j) && json_object_size(j) == 1 ? json_object_get(j, "b64") : NULL;
    if (!json_is_string(b64))
        return LLM_ERR_PROTOCOL;
    llm__buf b = {0};
    int rc = llm__base64_decode(&b, json_string_value(b64), json_string_length(b64));
    if (rc == LLM_OK) {
        size_t n = b.len;
        if (!(*out = llm__strndup(b.data ? b.data : "", n)))
            rc = LLM_ERR_NOMEM;
        else
            *n_out = n;
    }
    llm__buf_free(&b);
    return rc;
}

/* ---- serialise ---------------------------------------------------------- */

static const char *const part_names[] = {
    [LLM__PART_TEXT] = "text",
    [LLM__PART_REASONING] = "reasoning",
    [LLM__PART_TOOL_CALL] = "tool_call",
    [LLM__PART_OPAQUE] = "opaque",
};

static void put(json_t *obj, const char *key, json_t *v, int *failed)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *failed = 1;
}

static json_t *bytes_or_null(const char *s, size_t n)
{
    return s ? llm__json_bytes(s, n) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return bytes_or_null(s, s ? strlen(s) : 0);
}

static json_t *ser_part(const struct llm__part *p, int *failed)
{
    if (p->type < LLM__PART_TEXT || p->type > LLM__PART_OPAQUE) {
        /* Responses hold only these four kinds; anything else is a bug
         * upstream, and an entry that cannot be replayed is not stored. */
        *failed = 1;
        return NULL;
    }
    json_t *o = json_object();
    if (!o) {
        *failed = 1;
        return NULL;
    }
    put(o, "type", json_string(part_names[p->type]), failed);
    if (p->type != LLM__PART_OPAQUE)
        put(o, "text", bytes_or_null(p->text ? p->text : "", p->text ? p->text_len : 0), failed);
    if (p->type == LLM__PART_TOOL_CALL) {
        put(o, "id", str_or_null(p->id), failed);
        put(o, "name", str_or_null(p->name), failed);
    }
    if (p->meta.json) {
        json_t *m = json_object();
        if (m) {
            put(m, "provider", str_or_null(p->meta.provider), failed);
            put(m, "model", str_or_null(p->meta.model), failed);
            put(m, "json", bytes_or_null(p->meta.json, p->meta.json_len), failed);
        }
        put(o, "meta", m, failed);
    }
    return o;
}

int llm__response_serialize(const llm_response *r, llm__buf *out)
{
    if (!r || !out)
        return LLM_ERR_MISUSE;
    if (r->status != LLM_OK)
        return LLM_ERR_INVALID_ARG;
    int failed = 0;
    json_t *doc = json_object(), *parts = json_array(), *usage = json_array(),
           *warnings = json_array();
    if (!doc || !parts || !usage || !warnings) {
        json_decref(doc);
        json_decref(parts);
        json_decref(usage);
        json_decref(warnings);
        return LLM_ERR_NOMEM;
    }
    put(doc, "v", json_integer(FORMAT_VERSION), &failed);
    for (size_t i = 0; i < r->msg.nparts; i++) {
        json_t *p = ser_part(&r->msg.parts[i], &failed);
        if (!p || json_array_append_new(parts, p) != 0)
            failed = 1;
    }
    put(doc, "parts", parts, &failed);
    put(doc, "finish", json_integer(r->finish), &failed);
    put(doc, "finish_raw", str_or_null(r->finish_raw), &failed);
    for (size_t k = 0; k < LLM__ARRAY_LEN(r->usage.v); k++)
        if (json_array_append_new(usage, json_integer(r->usage.v[k])) != 0)
            failed = 1;
    put(doc, "usage", usage, &failed);
    put(doc, "id", str_or_null(r->id), &failed);
    put(doc, "model", str_or_null(r->model), &failed);
    put(doc, "provider", str_or_null(r->provider), &failed);
    put(doc, "meta_model", str_or_null(r->meta_model), &failed);
    put(doc, "request_id", str_or_null(r->request_id), &failed);
    for (size_t i = 0; i < r->nwarnings; i++)
        if (json_array_append_new(warnings, str_or_null(r->warnings[i])) != 0)
            failed = 1;
    put(doc, "warnings", warnings, &failed);
    put(doc, "usage_raw", str_or_null(r->usage_raw), &failed);
    put(doc, "filter_json", str_or_null(r->filter_json), &failed);
    size_t start = out->len;
    int rc = failed ? LLM_ERR_NOMEM : llm__json_dump(out, doc);
    json_decref(doc);
    if (rc != LLM_OK && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

/* ---- deserialise -------------------------------------------------------- */

/* An optional string member: absent or null leaves *field alone (NULL). */
static int get_opt_str(const json_t *doc, const char *key, char **field)
{
    json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v))
        return LLM_OK;
    char *s;
    size_t n;
    int rc = llm__json_bytes_get(v, &s, &n);
    if (rc)
        return rc;
    llm__free(*field);
    *field = s;
    return LLM_OK;
}

static int set_meta(struct llm__part *p, const json_t *m)
{
    if (!m || json_is_null(m))
        return LLM_OK;
    if (!json_is_object(m))
        return LLM_ERR_PROTOCOL;
    json_t *j = json_object_get(m, "json");
    if (!j)
        return LLM_ERR_PROTOCOL;
    struct llm__meta meta = {0};
    int rc = llm__json_bytes_get(j, &meta.json, &meta.json_len);
    if (!rc)
        rc = get_opt_str(m, "provider", &meta.provider);
    if (!rc)
        rc = get_opt_str(m, "model", &meta.model);
    if (rc) {
        llm__meta_free(&meta);
        return rc;
    }
    llm__meta_free(&p->meta);
    p->meta = meta;
    return LLM_OK;
}

static int text_part(llm_response *r, int type, const json_t *po, struct llm__part **out)
{
    char *text;
    size_t n;
    int rc = llm__json_bytes_get(json_object_get(po, "text"), &text, &n);
    if (rc)
        return rc;
    struct llm__part *p;
    if (llm__message_add_part(&r->msg, &p) != LLM_OK) {
        llm__free(text);
        return LLM_ERR_NOMEM;
    }
    /* Added directly, not through the appending builders: two adjacent
     * parts of one type stay two parts, as they were stored. */
    p->type = type;
    p->text = text;
    p->text_len = n;
    p->text_cap = n + 1;
    *out = p;
    return LLM_OK;
}

static int tool_part(llm_response *r, const json_t *po, struct llm__part **out)
{
    char *args = NULL, *id = NULL, *name = NULL;
    size_t n = 0, idn = 0, namen = 0;
    int rc = llm__json_bytes_get(json_object_get(po, "text"), &args, &n);
    if (!rc)
        rc = llm__json_bytes_get(json_object_get(po, "id"), &id, &idn);
    if (!rc)
        rc = llm__json_bytes_get(json_object_get(po, "name"), &name, &namen);
    size_t index = 0;
    if (!rc)
        rc = llm__resp_add_tool_call(r, id, name, args, n, &index);
    llm__free(args);
    llm__free(id);
    llm__free(name);
    if (!rc)
        *out = llm__resp_tool_part(r, index);
    return rc;
}

static int read_parts(llm_response *r, const json_t *parts)
{
    if (!json_is_array(parts))
        return LLM_ERR_PROTOCOL;
    size_t i;
    json_t *po;
    json_array_foreach(parts, i, po) {
        const char *type = llm__json_str(po, "type");
        if (!type)
            return LLM_ERR_PROTOCOL;
        struct llm__part *p = NULL;
        int rc;
        if (strcmp(type, "text") == 0) {
            rc = text_part(r, LLM__PART_TEXT, po, &p);
        } else if (strcmp(type, "reasoning") == 0) {
            rc = text_part(r, LLM__PART_REASONING, po, &p);
        } else if (strcmp(type, "tool_call") == 0) {
            rc = tool_part(r, po, &p);
        } else if (strcmp(type, "opaque") == 0) {
            if (!json_is_object(json_object_get(po, "meta")))
                return LLM_ERR_PROTOCOL;
            rc = llm__message_add_part(&r->msg, &p);
            if (!rc)
                p->type = LLM__PART_OPAQUE;
        } else {
            return LLM_ERR_PROTOCOL;
        }
        if (!rc)
            rc = set_meta(p, json_object_get(po, "meta"));
        if (rc)
            return rc;
    }
    return LLM_OK;
}

static int read_usage(llm_response *r, const json_t *usage)
{
    if (!json_is_array(usage) || json_array_size(usage) != LLM__ARRAY_LEN(r->usage.v))
        return LLM_ERR_PROTOCOL;
    for (size_t k = 0; k < LLM__ARRAY_LEN(r->usage.v); k++) {
        json_t *v = json_array_get(usage, k);
        if (!json_is_integer(v) || json_integer_value(v) < -1)
            return LLM_ERR_PROTOCOL;
        r->usage.v[k] = (int64_t)json_integer_value(v);
    }
    return LLM_OK;
}

static int read_warnings(llm_response *r, const json_t *w)
{
    if (!w || json_is_null(w))
        return LLM_OK;
    if (!json_is_array(w))
        return LLM_ERR_PROTOCOL;
    size_t i;
    json_t *v;
    json_array_foreach(w, i, v) {
        char *s;
        size_t n;
        int rc = llm__json_bytes_get(v, &s, &n);
        if (rc)
            return rc;
        char **nw = llm__realloc(r->warnings, (r->nwarnings + 1) * sizeof *nw);
        if (!nw) {
            llm__free(s);
            return LLM_ERR_NOMEM;
        }
        r->warnings = nw;
        r->warnings[r->nwarnings++] = s;
    }
    return LLM_OK;
}

int llm__response_deserialize(llm_response *r, const char *data, size_t len)
{
    if (!r || (!data && len))
        return LLM_ERR_MISUSE;
    if (r->msg.nparts || r->ntools)
        return LLM_ERR_MISUSE;
    json_t *doc;
    int rc = llm__json_load(data ? data : "", len, &doc, NULL);
    if (rc)
        return rc;
    if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "v"))) {
        json_decref(doc);
        return LLM_ERR_PROTOCOL;
    }
    if (json_integer_value(json_object_get(doc, "v")) != FORMAT_VERSION) {
        /* A newer (or older) libllm's entry: a miss, not a failure. */
        json_decref(doc);
        return LLM_ERR_PROTOCOL;
    }
    json_t *finish = json_object_get(doc, "finish");
    if (!json_is_integer(finish) || json_integer_value(finish) < LLM_FINISH_NONE ||
        json_integer_value(finish) > LLM_FINISH_OTHER) {
        json_decref(doc);
        return LLM_ERR_PROTOCOL;
    }
    r->finish = (int)json_integer_value(finish);
    rc = read_parts(r, json_object_get(doc, "parts"));
    if (!rc)
        rc = read_usage(r, json_object_get(doc, "usage"));
    if (!rc)
        rc = get_opt_str(doc, "finish_raw", &r->finish_raw);
    if (!rc)
        rc = get_opt_str(doc, "id", &r->id);
    if (!rc)
        rc = get_opt_str(doc, "model", &r->model);
    if (!rc)
        rc = get_opt_str(doc, "provider", &r->provider);
    if (!rc)
        rc = get_opt_str(doc, "meta_model", &r->meta_model);
    if (!rc)
        rc = get_opt_str(doc, "request_id", &r->request_id);
    if (!rc)
        rc = get_opt_str(doc, "usage_raw", &r->usage_raw);
    if (!rc)
        rc = get_opt_str(doc, "filter_json", &r->filter_json);
    if (!rc)
        rc = read_warnings(r, json_object_get(doc, "warnings"));
    json_decref(doc);
    r->text_stale = 1;
    return rc;
}
