/*
 * openai_common.c - the Chat Completions wire format (providers.md 1, 2,
 * 8.2, 9), shared by the "openai" and "azure" adapters.
 *
 * Decisions the wire leaves open, as this adapter takes them:
 *   - A message of one text part is sent with a string content, anything
 *     else as an array of parts: a string is what every compatible server
 *     accepts.
 *   - Reasoning and opaque parts are never sent: Chat Completions takes
 *     none back (providers.md 9.2).  Parts carrying another producer's
 *     meta go through llm__meta_usable, which notes the drop once.
 *   - Tool results have no error flag on this API; their content is sent
 *     as given and should say the tool failed.
 *   - A refusal (message.refusal) is not answer text: the response gets
 *     finish CONTENT_FILTER (finish_raw stays the server's word) and a
 *     warning "refusal: <text>".
 *   - response_format carries "strict": true only when the schema already
 *     meets Structured Outputs' rules (every object closed with
 *     additionalProperties false and listing all its properties in
 *     required); strict mode rejects any other schema with a 400, and the
 *     caller's schema is never rewritten.
 *   - Azure content-filter detail goes to filter_json: on a reply, an
 *     object with the members prompt_filter_results (or
 *     prompt_annotations) and content_filter_results as Azure sent them;
 *     on a content-filter error, innererror.content_filter_result.
 */
#include "internal.h"
#include "providers/adapter.h"
#include "providers/openai_common.h"

#include <stdio.h>
#include <stdlib.h>

/* Bounds against hostile streams: tool calls per response, and argument
 * bytes held back while a call's name is not known yet. */
#define MAX_STREAM_CALLS 1024
#define MAX_PENDING_ARGS (4u << 20)

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (llm__strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

static int is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

static int dump_to_str(char **field, const json_t *j)
{
    llm__buf b = {0};
    int rc = llm__json_dump(&b, j);
    if (!rc)
        rc = llm__resp_set_strn(field, b.data ? b.data : "", b.len);
    llm__buf_free(&b);
    return rc;
}

int llm__openai_reasoning_model(const char *model)
{
    static const char *const families[] = {"o1", "o3", "o4", "gpt-5"};
    if (!model)
        return 0;
    for (size_t i = 0; i < LLM__ARRAY_LEN(families); i++) {
        size_t n = strlen(families[i]);
        if (llm__strncasecmp(model, families[i], n) != 0)
            continue;
        /* "o1", "o3-mini", "gpt-5.4", "gpt-5-nano"; not "o10x". */
        char c = model[n];
        if (c == '\0' || c == '-' || c == '.' || c == '_')
            return 1;
    }
    return 0;
}

int llm__openai_bearer(struct llm__call *call, struct llm__http_req *out, const char *secret)
{
    llm__buf v = {0};
    int rc = llm__buf_printf(&v, "Bearer %s", secret);
    if (!rc)
        rc = llm__http_req_header(out, "Authorization", v.data);
    if (v.data)
        memset(v.data, 0, v.cap);
    llm__buf_free(&v);
    if (rc == LLM_ERR_INVALID_ARG)
        return llm__resp_fail(call->resp, rc, "the credential holds CR, LF or NUL");
    return rc ? llm__resp_nomem(call->resp) : LLM_OK;
}

/* ========================================================================
 * Request
 */

struct bctx {
    struct llm__call *call;
    llm_response *r;
    int bad_utf8;              /* a string of the request is not UTF-8 */
};

/* A JSON string; NULL on allocation failure or invalid UTF-8, which
 * fail() tells apart. */
static json_t *jstr(struct bctx *c, const char *s, size_t n)
{
    json_t *v = json_stringn(s ? s : "", s ? n : 0);
    if (!v && s && !llm__utf8_valid(s, n))
        c->bad_utf8 = 1;
    return v;
}

static json_t *jstrz(struct bctx *c, const char *s)
{
    return jstr(c, s, s ? strlen(s) : 0);
}

static int fail(struct bctx *c)
{
    if (c->r->status != LLM_OK)
        return c->r->status;
    if (c->bad_utf8)
        return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG,
                              "a string of the request is not valid UTF-8");
    return llm__resp_nomem(c->r);
}

/* Parse JSON text the request holds; INVALID_ARG (with what) if it is not
 * a JSON object. */
static int load_object(struct bctx *c, const char *text, const char *what, const char *name,
                       json_t **out)
{
    *out = NULL;
    int rc = llm__json_load(text ? text : "", text ? strlen(text) : 0, out, NULL);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(c->r);
    if (rc || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG, "%s%s%s is not a JSON object", what,
                              name ? " " : "", name ? name : "");
    }
    return LLM_OK;
}

/* Chat Completions takes reasoning and opaque parts nowhere (providers.md
 * 9.2).  Without meta they vanish silently; meta of any producer goes
 * through the replay rule, which notes a drop once per call. */
static void skip_replay_part(struct bctx *c, const struct llm__part *p)
{
    if (p->meta.json)
        (void)llm__meta_usable(c->call, &p->meta);
}

static json_t *text_part(struct bctx *c, const struct llm__part *p)
{
    json_t *o = json_object();
    if (llm__jset(o, "type", json_string("text")) || llm__jset(o, "text", jstr(c, p->text, p->text_len))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *image_part(struct bctx *c, const struct llm__part *p)
{
    json_t *url;
    if (p->type == LLM__PART_IMAGE_DATA) {
        llm__buf u = {0};
        if (llm__buf_printf(&u, "data:%s;base64,", p->mime ? p->mime : "application/octet-stream") ||
            llm__base64_encode(&u, p->data ? (const void *)p->data : "", p->data_len)) {
            llm__buf_free(&u);
            return NULL;
        }
        url = jstr(c, u.data, u.len);
        llm__buf_free(&u);
    } else {
        url = jstr(c, p->text, p->text_len);
    }
    json_t *iu = json_object(), *o = json_object();
    if (!iu || !o || llm__jset(iu, "url", url)) {
        /* jset consumes url, also when it fails; short of it, url is ours. */
        if (!iu || !o)
            json_decref(url);
        json_decref(iu);
        json_decref(o);
        return NULL;
    }
    if (llm__jset(o, "type", json_string("image_url"))) {
        json_decref(iu);
        json_decref(o);
        return NULL;
    }
    if (llm__jset(o, "image_url", iu)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int is_content(int type)
{
    return type == LLM__PART_TEXT || type == LLM__PART_IMAGE_DATA || type == LLM__PART_IMAGE_URL;
}

/* The content of a message: NULL with *out NULL when it has none, a
 * string for exactly one text part, else an array of parts. */
static int content_of(struct bctx *c, const struct llm__message *m, int images, json_t **out)
{
    size_t n = 0, ntext = 0;
    const struct llm__part *only = NULL;
    *out = NULL;
    for (size_t i = 0; i < m->nparts; i++) {
        const struct llm__part *p = &m->parts[i];
        if (!is_content(p->type) || (!images && p->type != LLM__PART_TEXT))
            continue;
        n++;
        if (p->type == LLM__PART_TEXT) {
            ntext++;
            only = p;
        }
    }
    if (n == 0)
        return LLM_OK;
    if (n == 1 && ntext == 1) {
        *out = jstr(c, only->text, only->text_len);
        return *out ? LLM_OK : fail(c);
    }
    json_t *arr = json_array();
    if (!arr)
        return fail(c);
    for (size_t i = 0; i < m->nparts; i++) {
        const struct llm__part *p = &m->parts[i];
        if (!is_content(p->type) || (!images && p->type != LLM__PART_TEXT))
            continue;
        if (llm__jpush(arr, p->type == LLM__PART_TEXT ? text_part(c, p) : image_part(c, p))) {
            json_decref(arr);
            return fail(c);
        }
    }
    *out = arr;
    return LLM_OK;
}

static json_t *tool_call(struct bctx *c, const struct llm__part *p)
{
    json_t *fn = json_object(), *tc = json_object();
    if (!fn || !tc) {
        json_decref(fn);
        json_decref(tc);
        return NULL;
    }
    /* arguments is the JSON text itself, as a string (providers.md 1.3). */
    int bad = llm__jset(tc, "id", jstrz(c, p->id ? p->id : "")) ||
              llm__jset(tc, "type", json_string("function")) ||
              llm__jset(fn, "name", jstrz(c, p->name ? p->name : "")) ||
              llm__jset(fn, "arguments", p->text_len ? jstr(c, p->text, p->text_len) : json_string("{}"));
    if (bad || llm__jset(tc, "function", fn)) {
        if (bad)
            json_decref(fn);
        json_decref(tc);
        return NULL;
    }
    return tc;
}

static int add_message(struct bctx *c, json_t *msgs, const char *role, json_t *content,
                       int null_content, json_t *tool_calls)
{
    json_t *m = json_object();
    if (!m || llm__jset(m, "role", json_string(role)))
        goto oom;
    if (content || null_content) {
        if (llm__jset(m, "content", content ? content : json_null())) {
            content = NULL;
            goto oom;
        }
        content = NULL;
    }
    if (tool_calls) {
        if (llm__jset(m, "tool_calls", tool_calls)) {
            tool_calls = NULL;
            goto oom;
        }
        tool_calls = NULL;
    }
    if (llm__jpush(msgs, m))
        return fail(c);
    return LLM_OK;
oom:
    json_decref(m);
    json_decref(content);
    json_decref(tool_calls);
    return fail(c);
}

static int build_messages(struct bctx *c, json_t *body)
{
    const llm_request *req = c->call->req;
    json_t *msgs = json_array();
    if (llm__jset(body, "messages", msgs))
        return fail(c);
    for (size_t i = 0; i < req->nmsgs; i++) {
        const struct llm__message *m = &req->msgs[i];
        json_t *content = NULL;
        int rc = LLM_OK;
        for (size_t k = 0; k < m->nparts; k++)
            if (m->parts[k].type == LLM__PART_REASONING || m->parts[k].type == LLM__PART_OPAQUE)
                skip_replay_part(c, &m->parts[k]);
        switch (m->role) {
        case LLM_ROLE_SYSTEM:
        case LLM_ROLE_USER: {
            int user = m->role == LLM_ROLE_USER;
            if ((rc = content_of(c, m, user, &content)))
                return rc;
            /* A system message without text has nothing to say. */
            if (content && (rc = add_message(c, msgs, user ? "user" : "system", content, 0, NULL)))
                return rc;
            break;
        }
        case LLM_ROLE_ASSISTANT: {
            if ((rc = content_of(c, m, 0, &content)))
                return rc;
            json_t *calls = NULL;
            for (size_t k = 0; k < m->nparts; k++) {
                if (m->parts[k].type != LLM__PART_TOOL_CALL)
                    continue;
                if (!calls && !(calls = json_array())) {
                    json_decref(content);
                    return fail(c);
                }
                if (llm__jpush(calls, tool_call(c, &m->parts[k]))) {
                    json_decref(calls);
                    json_decref(content);
                    return fail(c);
                }
            }
            /* A turn that held only reasoning leaves nothing to send; an
             * assistant message with neither content nor tool_calls is a
             * 400. */
            if (!content && !calls)
                break;
            if ((rc = add_message(c, msgs, "assistant", content, calls != NULL, calls)))
                return rc;
            break;
        }
        case LLM_ROLE_TOOL:
            /* One tool message per result (providers.md 9.1). */
            for (size_t k = 0; k < m->nparts; k++) {
                const struct llm__part *p = &m->parts[k];
                if (p->type != LLM__PART_TOOL_RESULT)
                    continue;
                if (!p->id || !*p->id)
                    return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG,
                                          "a tool result has no call id");
                json_t *t = json_object();
                if (llm__jset(t, "role", json_string("tool")) ||
                    llm__jset(t, "tool_call_id", jstrz(c, p->id)) ||
                    llm__jset(t, "content", jstr(c, p->text ? p->text : "", p->text ? p->text_len : 0))) {
                    json_decref(t);
                    return fail(c);
                }
                /* A failed jpush has released t already. */
                if (llm__jpush(msgs, t))
                    return fail(c);
            }
            break;
        default:
            return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG, "message %zu has an unknown role %d",
                                  i, m->role);
        }
    }
    if (json_array_size(msgs) == 0)
        return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG,
                              "the conversation has no message Chat Completions can take");
    return LLM_OK;
}

static int build_tools(struct bctx *c, json_t *body)
{
    const llm_request *req = c->call->req;
    if (req->ntools == 0) {
        if (req->tool_choice == LLM_TOOL_CHOICE_NAMED || req->tool_choice == LLM_TOOL_CHOICE_REQUIRED)
            return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG,
                                  "a tool choice other than auto or none needs tools");
        return LLM_OK;
    }
    json_t *tools = json_array();
    if (llm__jset(body, "tools", tools))
        return fail(c);
    for (size_t i = 0; i < req->ntools; i++) {
        const struct llm__tool *t = &req->tools[i];
        json_t *params = NULL;
        if (t->schema) {
            int rc = load_object(c, t->schema, "the parameters of tool", t->name, &params);
            if (rc)
                return rc;
        } else {
            /* A function without parameters; an empty object schema is
             * what every compatible server takes. */
            params = json_object();
            if (llm__jset(params, "type", json_string("object")) ||
                llm__jset(params, "properties", json_object())) {
                json_decref(params);
                return fail(c);
            }
        }
        json_t *fn = json_object(), *tool = json_object();
        if (!fn || !tool) {
            json_decref(fn);
            json_decref(tool);
            json_decref(params);
            return fail(c);
        }
        /* A failed jpush has released tool already. */
        if (llm__jpush(tools, tool)) {
            json_decref(fn);
            json_decref(params);
            return fail(c);
        }
        if (llm__jset(tool, "type", json_string("function"))) {
            json_decref(fn);
            json_decref(params);
            return fail(c);
        }
        if (llm__jset(tool, "function", fn)) {
            json_decref(params);
            return fail(c);
        }
        if (llm__jset(fn, "name", jstrz(c, t->name ? t->name : ""))) {
            json_decref(params);
            return fail(c);
        }
        if (t->description && llm__jset(fn, "description", jstrz(c, t->description))) {
            json_decref(params);
            return fail(c);
        }
        if (llm__jset(fn, "parameters", params))
            return fail(c);
    }
    /* "auto" is the API's default with tools, and some compatible servers
     * (vLLM without --enable-auto-tool-choice) reject it spelt out. */
    json_t *choice = NULL;
    switch (req->tool_choice) {
    case LLM_TOOL_CHOICE_NONE:
        choice = json_string("none");
        break;
    case LLM_TOOL_CHOICE_REQUIRED:
        choice = json_string("required");
        break;
    case LLM_TOOL_CHOICE_NAMED: {
        if (!req->tool_choice_name)
            return llm__resp_fail(c->r, LLM_ERR_INVALID_ARG, "the named tool choice has no name");
        json_t *fn = json_object();
        choice = json_object();
        if (llm__jset(fn, "name", jstrz(c, req->tool_choice_name)) ||
            llm__jset(choice, "type", json_string("function"))) {
            json_decref(fn);
            json_decref(choice);
            return fail(c);
        }
        if (llm__jset(choice, "function", fn)) {
            json_decref(choice);
            return fail(c);
        }
        break;
    }
    default:
        break;
    }
    if (choice && llm__jset(body, "tool_choice", choice))
        return fail(c);
    /* OpenAI rejects parallel_tool_calls without tools, so it goes only
     * here. */
    if (!req->parallel_tool_calls && llm__jset(body, "parallel_tool_calls", json_false()))
        return fail(c);
    return LLM_OK;
}

/* Whether a schema already meets strict Structured Outputs' rules: every
 * object schema closed (additionalProperties false) and requiring all its
 * properties, at every depth (providers.md 1.4). */
static int strict_ok(const json_t *s, int depth)
{
    if (depth > 64)
        return 0;
    if (json_is_array(s)) {
        size_t i;
        const json_t *v;
        json_array_foreach(s, i, v)
            if (!strict_ok(v, depth + 1))
                return 0;
        return 1;
    }
    if (!json_is_object(s))
        return 1;
    const json_t *type = json_object_get(s, "type");
    const json_t *props = json_object_get(s, "properties");
    int object = is(json_string_value(type), "object") || props != NULL;
    if (json_is_array(type)) {
        size_t i;
        const json_t *v;
        json_array_foreach(type, i, v)
            if (is(json_string_value(v), "object"))
                object = 1;
    }
    if (object) {
        if (!json_is_false(json_object_get(s, "additionalProperties")))
            return 0;
        const json_t *req = json_object_get(s, "required");
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)props, key, v) {
            size_t i, n = json_array_size(req);
            for (i = 0; i < n; i++)
                if (is(json_string_value(json_array_get(req, i)), key))
                    break;
            if (i == n)
                return 0;
        }
    }
    static const char *const nested[] = {"properties", "items", "prefixItems", "anyOf", "allOf",
                                         "oneOf", "$defs", "definitions"};
    for (size_t k = 0; k < LLM__ARRAY_LEN(nested); k++) {
        const json_t *n = json_object_get(s, nested[k]);
        if (!n)
            continue;
        if (json_is_object(n) && (k == 0 || k >= 6)) {
            const char *key;
            const json_t *v;
            json_object_foreach((json_t *)n, key, v)
                if (!strict_ok(v, depth + 1))
                    return 0;
        } else if (!strict_ok(n, depth + 1)) {
            return 0;
        }
    }
    return 1;
}

static int build_format(struct bctx *c, json_t *body)
{
    const llm_request *req = c->call->req;
    if (!req->schema)
        return LLM_OK;
    json_t *schema = NULL;
    int rc = load_object(c, req->schema, "the response schema", NULL, &schema);
    if (rc)
        return rc;
    int strict = strict_ok(schema, 0);
    json_t *js = json_object(), *rf = json_object();
    if (!js || !rf || llm__jset(js, "name", jstrz(c, req->schema_name ? req->schema_name : "response"))) {
        json_decref(js);
        json_decref(rf);
        json_decref(schema);
        return fail(c);
    }
    if (llm__jset(js, "schema", schema) || (strict && llm__jset(js, "strict", json_true())) ||
        llm__jset(rf, "type", json_string("json_schema"))) {
        json_decref(js);
        json_decref(rf);
        return fail(c);
    }
    if (llm__jset(rf, "json_schema", js)) {
        json_decref(rf);
        return fail(c);
    }
    return llm__jset(body, "response_format", rf) ? fail(c) : LLM_OK;
}

static int build_sampling(struct bctx *c, json_t *body, const char *max_field)
{
    struct llm__call *call = c->call;
    const llm_request *req = call->req;
    int reasoning = llm__openai_reasoning_model(call->model);
    char why[256];
    int rc;
    snprintf(why, sizeof why, "the OpenAI reasoning model \"%.160s\" does not accept it",
             call->model ? call->model : "");
    if (req->has_temperature) {
        if (reasoning) {
            if ((rc = llm__call_unsupported(call, "temperature", why)))
                return rc;
        } else if (llm__jset(body, "temperature", json_real(req->temperature))) {
            return fail(c);
        }
    }
    if (req->has_top_p) {
        if (reasoning) {
            if ((rc = llm__call_unsupported(call, "top_p", why)))
                return rc;
        } else if (llm__jset(body, "top_p", json_real(req->top_p))) {
            return fail(c);
        }
    }
    if (req->has_top_k &&
        (rc = llm__call_unsupported(call, "top_k",
                                    "Chat Completions has no top_k (a compatible server that "
                                    "takes it can get it through llm_request_set_extra_json)")))
        return rc;
    if (req->has_max_tokens && llm__jset(body, max_field, json_integer(req->max_tokens)))
        return fail(c);
    if (req->has_seed && llm__jset(body, "seed", json_integer(req->seed)))
        return fail(c);
    if (req->nstops) {
        json_t *stops = json_array();
        if (llm__jset(body, "stop", stops))
            return fail(c);
        for (size_t i = 0; i < req->nstops; i++)
            if (llm__jpush(stops, jstrz(c, req->stops[i])))
                return fail(c);
    }
    static const char *const efforts[] = {
        [LLM_REASONING_NONE] = "none", [LLM_REASONING_MINIMAL] = "minimal",
        [LLM_REASONING_LOW] = "low", [LLM_REASONING_MEDIUM] = "medium",
        [LLM_REASONING_HIGH] = "high",
    };
    int e = req->reasoning_effort;
    if (e > 0 && (size_t)e < LLM__ARRAY_LEN(efforts) && efforts[e] &&
        llm__jset(body, "reasoning_effort", json_string(efforts[e])))
        return fail(c);
    if (req->reasoning_budget > 0 &&
        (rc = llm__call_unsupported(call, "reasoning_budget",
                                    "Chat Completions takes reasoning_effort, not a token budget")))
        return rc;
    return LLM_OK;
}

static int merge_extras(struct bctx *c, json_t *body)
{
    const llm_request *req = c->call->req;
    const char *mine = c->call->ops ? c->call->ops->name : c->call->provider;
    /* Extras for every provider first, so that this provider's own win. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < req->nextras; i++) {
            const struct llm__extra *e = &req->extras[i];
            if (pass == 0 ? e->provider != NULL : !(e->provider && mine && strcmp(e->provider, mine) == 0))
                continue;
            json_t *j = NULL;
            int rc = load_object(c, e->json, "the extra JSON", NULL, &j);
            if (rc)
                return rc;
            rc = json_object_update(body, j);
            json_decref(j);
            if (rc)
                return fail(c);
        }
    }
    return LLM_OK;
}

int llm__openai_build_body(struct llm__call *call, const char *max_tokens_field,
                           struct llm__http_req *out)
{
    if (!call || !call->resp)
        return LLM_ERR_MISUSE;
    if (!call->req || !out)
        return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG, "no request to send");
    if (!call->model || !*call->model)
        return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG,
                              "no model: set one with llm_client_set_model or "
                              "llm_request_set_model");
    struct bctx c = {.call = call, .r = call->resp};
    json_t *body = json_object();
    if (!body)
        return llm__resp_nomem(call->resp);
    int rc = llm__jset(body, "model", jstrz(&c, call->model)) ? fail(&c) : LLM_OK;
    if (!rc)
        rc = build_messages(&c, body);
    if (!rc)
        rc = build_tools(&c, body);
    if (!rc)
        rc = build_format(&c, body);
    if (!rc)
        rc = build_sampling(&c, body, max_tokens_field ? max_tokens_field
                                                       : LLM__OPENAI_FIELD_COMPLETION);
    if (!rc && call->streaming) {
        /* Without include_usage a stream reports no usage at all
         * (providers.md 1.9). */
        json_t *so = json_object();
        if (llm__jset(so, "include_usage", json_true()) || llm__jset(body, "stream", json_true())) {
            /* so is still ours until jset hands it to body. */
            json_decref(so);
            rc = fail(&c);
        } else if (llm__jset(body, "stream_options", so)) {
            rc = fail(&c);
        }
    }
    if (!rc)
        rc = merge_extras(&c, body);
    if (!rc && llm__json_dump(&out->body, body) != LLM_OK)
        rc = llm__resp_nomem(call->resp);
    json_decref(body);
    return rc;
}

/* ========================================================================
 * Errors
 */

/* The error object of a body, or NULL: {"error": {...}}, {"error": "..."}
 * or a flat {"object": "error", "message": ...} (vLLM, Mistral;
 * providers.md 1.12).  *text receives a bare string error. */
static const json_t *find_error(const json_t *root, const char **text)
{
    *text = NULL;
    if (!json_is_object(root))
        return NULL;
    const json_t *e = json_object_get(root, "error");
    if (json_is_object(e))
        return e;
    if (json_is_string(e)) {
        *text = json_string_value(e);
        return root;
    }
    if (is(llm__json_str(root, "object"), "error"))
        return root;
    return NULL;
}

/* The status a type or code names, for errors that arrive without an HTTP
 * status of their own (inside a 200 stream or body). */
static int status_from_words(const char *type, const char *code)
{
    static const struct {
        const char *word;
        int status;
    } words[] = {
        {"rate_limit_exceeded", LLM_ERR_RATE_LIMITED}, {"rate_limit_error", LLM_ERR_RATE_LIMITED},
        {"tokens", LLM_ERR_RATE_LIMITED}, {"requests", LLM_ERR_RATE_LIMITED},
        {"server_is_overloaded", LLM_ERR_OVERLOADED}, {"overloaded_error", LLM_ERR_OVERLOADED},
        {"service_unavailable_error", LLM_ERR_OVERLOADED}, {"slow_down", LLM_ERR_OVERLOADED},
        {"overloaded", LLM_ERR_OVERLOADED},
        {"invalid_request_error", LLM_ERR_INVALID_REQUEST},
        {"BadRequestError", LLM_ERR_INVALID_REQUEST},
        {"authentication_error", LLM_ERR_AUTH}, {"invalid_api_key", LLM_ERR_AUTH},
        {"permission_error", LLM_ERR_PERMISSION},
        {"not_found_error", LLM_ERR_NOT_FOUND}, {"model_not_found", LLM_ERR_NOT_FOUND},
        {"timeout", LLM_ERR_TIMEOUT}, {"timeout_error", LLM_ERR_TIMEOUT},
    };
    for (int pass = 0; pass < 2; pass++) {
        const char *w = pass == 0 ? code : type;
        for (size_t i = 0; w && i < LLM__ARRAY_LEN(words); i++)
            if (strcmp(w, words[i].word) == 0)
                return words[i].status;
    }
    return LLM_ERR_SERVER;
}

/* providers.md 9.7: the body's code decides quota, context length and
 * content filter; otherwise the HTTP status, or without one (mid-stream)
 * a numeric code, then the type and code words. */
static int classify(int http, const char *type, const char *code, int64_t icode, const char *msg)
{
    if (is(code, "insufficient_quota") || is(type, "insufficient_quota"))
        return LLM_ERR_QUOTA;
    if (is(code, "context_length_exceeded") || is(type, "context_length_exceeded") ||
        (http < 500 && msg &&
         contains_ci(msg, "maximum context length")))
        return LLM_ERR_CONTEXT_LENGTH;
    if (is(code, "content_filter") || is(code, "content_policy_violation") ||
        is(type, "content_filter") || is(type, "content_policy_violation"))
        return LLM_ERR_CONTENT_FILTER;
    if (http >= 300)
        return llm__status_from_http(http);
    /* OpenRouter's and vLLM's code is the HTTP status the error stands for. */
    if (icode >= 400 && icode < 600)
        return llm__status_from_http((int)icode);
    return status_from_words(type, code);
}

/* Fill the response from an error object: provider fields verbatim,
 * status, retryability and the readable text.  http is 0 inside a 200. */
static int apply_error(llm_response *r, const json_t *e, const char *bare, int http,
                       const char *header_code)
{
    const char *msg = bare ? bare : llm__json_str(e, "message");
    const char *type = bare ? NULL : llm__json_str(e, "type");
    const json_t *cj = bare ? NULL : json_object_get(e, "code");
    char num[32];
    const char *code = json_string_value(cj);
    int64_t icode = -1;
    if (json_is_integer(cj)) {
        icode = (int64_t)json_integer_value(cj);
        snprintf(num, sizeof num, "%lld", (long long)icode);
        code = num;
    } else if (code && *code >= '0' && *code <= '9') {
        /* Azure renders statuses as strings: "429". */
        char *end;
        long long v = strtoll(code, &end, 10);
        icode = *end ? -1 : v;
    }
    if (!code && header_code && *header_code)
        code = header_code;
    if (llm__resp_set_str(&r->error_type, type) || llm__resp_set_str(&r->error_code, code) ||
        llm__resp_set_str(&r->error_message, msg))
        return llm__resp_nomem(r);

    int status = classify(http, type, code, icode, msg);
    if (status == LLM_ERR_CONTENT_FILTER) {
        /* Azure: which categories fired (providers.md 2.4). */
        const json_t *inner = json_object_get(e, "innererror");
        const json_t *cf = json_object_get(inner, "content_filter_result");
        if (!json_is_object(cf))
            cf = json_object_get(inner, "content_filter_results");
        if (!json_is_object(cf))
            cf = json_object_get(e, "content_filter_results");
        if (json_is_object(cf) && dump_to_str(&r->filter_json, cf))
            return llm__resp_nomem(r);
    }
    /* Quota, context length and filters are not cured by waiting, even
     * under a 429 (providers.md 1.10). */
    if (status == LLM_ERR_QUOTA || status == LLM_ERR_CONTEXT_LENGTH ||
        status == LLM_ERR_CONTENT_FILTER)
        r->retryable = 0;
    else if (http >= 300)
        r->retryable = llm__http_retryable(http);
    else
        r->retryable = llm_status_retryable(status);

    char where[48];
    if (http >= 200 && http < 300)
        snprintf(where, sizeof where, "error in the reply");
    else if (http == 0)
        snprintf(where, sizeof where, "error in the stream");
    else
        snprintf(where, sizeof where, "HTTP %d", http);
    return llm__resp_fail(r, status, "%s: %.600s%s%s%s%s%s", where, msg ? msg : "(no message)",
                          type || code ? " [" : "", type ? type : "", type && code ? "/" : "",
                          code ? code : "", type || code ? "]" : "");
}

int llm__openai_map_error(struct llm__call *call, const struct llm__http_res *res,
                          llm_response *out)
{
    (void)call;
    if (!out)
        return LLM_ERR_MISUSE;
    if (!res)
        return llm__resp_fail(out, LLM_ERR_PROTOCOL, "no reply");
    int http = res->status;
    const char *hcode = llm__http_res_header(res, "x-ms-error-code");
    json_t *root = NULL;
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, NULL);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(out);
    const char *bare;
    const json_t *e = rc == LLM_OK ? find_error(root, &bare) : NULL;
    if (!e && json_is_object(root) && llm__json_str(root, "message")) {
        /* {"message": "..."} alone: a gateway's error. */
        e = root;
        bare = NULL;
    }
    if (e) {
        rc = apply_error(out, e, bare, http, hcode);
        json_decref(root);
        return rc;
    }
    json_decref(root);
    /* Not an error body we know (a proxy's HTML page, nothing): the HTTP
     * status says it all. */
    int status = llm__status_from_http(http);
    if (hcode && llm__resp_set_str(&out->error_code, hcode))
        return llm__resp_nomem(out);
    out->retryable = llm__http_retryable(http);
    size_t n = res->body_len < 200 ? res->body_len : 200;
    char snippet[201];
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)res->body[i];
        snippet[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    snippet[n] = '\0';
    return llm__resp_fail(out, status, "HTTP %d%s%s", http, n ? ": " : "", snippet);
}

/* ========================================================================
 * Replies: what the non-streamed parser and the stream share
 */

static int map_finish(const char *f)
{
    static const struct {
        const char *word;
        int finish;
    } map[] = {
        {"stop", LLM_FINISH_STOP}, {"eos", LLM_FINISH_STOP},
        {"length", LLM_FINISH_LENGTH}, {"model_length", LLM_FINISH_LENGTH},
        {"tool_calls", LLM_FINISH_TOOL_CALLS}, {"function_call", LLM_FINISH_TOOL_CALLS},
        {"content_filter", LLM_FINISH_CONTENT_FILTER},
        {"error", LLM_FINISH_ERROR}, {"insufficient_system_resource", LLM_FINISH_ERROR},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(map); i++)
        if (strcmp(f, map[i].word) == 0)
            return map[i].finish;
    return LLM_FINISH_OTHER;
}

/* A token count: -1 when absent, null or not a non-negative integer. */
static int64_t count(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (int64_t)json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e18)
        return (int64_t)json_real_value(v);
    return -1;
}

static int64_t at_least_0(int64_t v)
{
    return v < 0 ? 0 : v;
}

/* providers.md 1.8, 9.6: prompt_tokens already includes cached tokens;
 * inside a details object an absent count is 0, an absent object is "not
 * reported". */
static int take_usage(llm_response *r, const json_t *u, int *changed)
{
    struct llm__usage nu = r->usage;
    const json_t *pd = json_object_get(u, "prompt_tokens_details");
    const json_t *cd = json_object_get(u, "completion_tokens_details");
    nu.v[LLM_USAGE_INPUT] = count(u, "prompt_tokens");
    nu.v[LLM_USAGE_OUTPUT] = count(u, "completion_tokens");
    nu.v[LLM_USAGE_CACHE_READ] = -1;
    nu.v[LLM_USAGE_CACHE_WRITE] = -1;
    nu.v[LLM_USAGE_REASONING] = -1;
    if (json_is_object(pd)) {
        nu.v[LLM_USAGE_CACHE_READ] = at_least_0(count(pd, "cached_tokens"));
        nu.v[LLM_USAGE_CACHE_WRITE] = at_least_0(count(pd, "cache_write_tokens"));
    } else if (count(u, "prompt_cache_hit_tokens") >= 0) {
        /* DeepSeek's own names (providers.md 1.12). */
        nu.v[LLM_USAGE_CACHE_READ] = count(u, "prompt_cache_hit_tokens");
    }
    if (json_is_object(cd))
        nu.v[LLM_USAGE_REASONING] = at_least_0(count(cd, "reasoning_tokens"));
    if (memcmp(&nu, &r->usage, sizeof nu) != 0) {
        r->usage = nu;
        *changed = 1;
    }
    return llm__resp_set_usage_raw(r, u) ? llm__resp_nomem(r) : LLM_OK;
}

/* Whether a filter-results object reports any category as filtered. */
static int any_filtered(const json_t *o)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
        if (json_is_object(v) && json_is_true(json_object_get(v, "filtered")))
            return 1;
    return 0;
}

/* Keep Azure's filter annotations (providers.md 2.3).  A chunk's verdict
 * replaces an earlier one unless that one filtered something and the new
 * one does not: the verdict that stopped the text is the one to keep. */
static int take_filters(llm_response *r, const json_t *root, const json_t *choice)
{
    const char *pname = "prompt_filter_results";
    const json_t *pf = json_object_get(root, pname);
    if (!pf || json_is_null(pf)) {
        pname = "prompt_annotations";
        pf = json_object_get(root, pname);
    }
    if (pf && json_is_null(pf))
        pf = NULL;
    const json_t *cf = json_object_get(choice, "content_filter_results");
    if (!json_is_object(cf) || json_object_size(cf) == 0)
        cf = NULL;
    if (!pf && !cf)
        return LLM_OK;
    json_t *f = NULL;
    if (r->filter_json &&
        llm__json_load(r->filter_json, strlen(r->filter_json), &f, NULL) == LLM_OK &&
        !json_is_object(f)) {
        json_decref(f);
        f = NULL;
    }
    if (!f && !(f = json_object()))
        return llm__resp_nomem(r);
    int rc = LLM_OK;
    if (pf)
        rc = llm__jset(f, pname, json_deep_copy(pf));
    if (!rc && cf) {
        const json_t *old = json_object_get(f, "content_filter_results");
        if (!(json_is_object(old) && any_filtered(old) && !any_filtered(cf)))
            rc = llm__jset(f, "content_filter_results", json_deep_copy(cf));
    }
    if (!rc)
        rc = dump_to_str(&r->filter_json, f);
    json_decref(f);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

/* The choice libllm reports: index 0 (it never asks for more). */
static const json_t *first_choice(const json_t *choices)
{
    size_t i;
    const json_t *c;
    json_array_foreach(choices, i, c)
        if (llm__json_int(c, "index", 0) == 0)
            return c;
    return NULL;
}

/* Text of a content member: a string, or (Mistral and others) an array of
 * parts whose "text" parts count.  emit is called per piece. */
typedef int (*piece_fn)(void *ud, const char *s, size_t n);

static int each_text(llm_response *r, const json_t *content, const char *what, piece_fn fn,
                     void *ud)
{
    if (!content || json_is_null(content))
        return LLM_OK;
    if (json_is_string(content))
        return fn(ud, json_string_value(content), json_string_length(content));
    if (!json_is_array(content))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "%s is neither a string nor an array", what);
    size_t i;
    const json_t *p;
    json_array_foreach(content, i, p) {
        const json_t *t = json_object_get(p, "text");
        if (is(llm__json_str(p, "type"), "text") && json_is_string(t)) {
            int rc = fn(ud, json_string_value(t), json_string_length(t));
            if (rc)
                return rc;
        }
    }
    return LLM_OK;
}

/* Reasoning text of compatible servers: DeepSeek's reasoning_content, or
 * "reasoning" (OpenRouter, newer vLLM).  Never both: servers sending both
 * send the same text twice. */
static const json_t *reasoning_of(const json_t *msg)
{
    const json_t *v = json_object_get(msg, "reasoning_content");
    if (json_is_string(v))
        return v;
    v = json_object_get(msg, "reasoning");
    return json_is_string(v) ? v : NULL;
}

/* A tool-call id unique within the response, for servers that send none. */
static void synth_id(llm_response *r, char *buf, size_t n)
{
    for (size_t k = r->ntools;; k++) {
        snprintf(buf, n, "call_%zu", k);
        size_t j = 0;
        while (j < r->ntools && strcmp(llm__resp_tool_part(r, j)->id, buf) != 0)
            j++;
        if (j == r->ntools)
            return;
    }
}

/* Arguments as text: the string itself, or an object some compatible
 * servers send instead, serialised. */
static int args_text(llm_response *r, const json_t *a, llm__buf *out)
{
    if (!a || json_is_null(a))
        return LLM_OK;
    if (json_is_string(a))
        return llm__buf_append(out, json_string_value(a), json_string_length(a)) ? llm__resp_nomem(r) : LLM_OK;
    if (json_is_object(a) || json_is_array(a))
        return llm__json_dump(out, a) ? llm__resp_nomem(r) : LLM_OK;
    return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a tool call's arguments are not a string");
}

static int refusal_warning(llm_response *r, const char *s, size_t n)
{
    if (llm__resp_set_finish(r, LLM_FINISH_CONTENT_FILTER, r->finish_raw) ||
        llm__resp_warn(r, "refusal: %.*s", (int)(n > 400 ? 400 : n), s))
        return llm__resp_nomem(r);
    return LLM_OK;
}

/* ========================================================================
 * Non-streamed replies
 */

static int piece_text(void *ud, const char *s, size_t n)
{
    llm_response *r = ud;
    return llm__resp_append_text(r, s, n) ? llm__resp_nomem(r) : LLM_OK;
}

static int take_tool_calls(llm_response *r, const json_t *calls)
{
    if (!calls || json_is_null(calls))
        return LLM_OK;
    if (!json_is_array(calls))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "message.tool_calls is not an array");
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc) {
        if (!json_is_object(tc))
            return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a tool call is not an object");
        const char *type = llm__json_str(tc, "type");
        if (type && strcmp(type, "function") != 0) {
            /* Custom (free-form) tools are not function calls; libllm
             * defines none, so one is noted and left out. */
            if (llm__resp_warn(r, "ignored a tool call of type \"%.40s\"", type))
                return llm__resp_nomem(r);
            continue;
        }
        const json_t *fn = json_object_get(tc, "function");
        const char *name = llm__json_str(fn, "name");
        if (!json_is_object(fn) || !name || !*name)
            return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a tool call has no function name");
        llm__buf args = {0};
        int rc = args_text(r, json_object_get(fn, "arguments"), &args);
        if (rc) {
            llm__buf_free(&args);
            return rc;
        }
        const char *id = llm__json_str(tc, "id");
        char made[32];
        if (!id || !*id) {
            synth_id(r, made, sizeof made);
            id = made;
        }
        rc = llm__resp_add_tool_call(r, id, name, args.len ? args.data : "{}", args.len ? args.len : 2,
                                     NULL);
        llm__buf_free(&args);
        if (rc)
            return llm__resp_nomem(r);
    }
    return LLM_OK;
}

int llm__openai_parse(struct llm__call *call, const struct llm__http_res *res, llm_response *out)
{
    (void)call;
    if (!out)
        return LLM_ERR_MISUSE;
    if (!res)
        return llm__resp_fail(out, LLM_ERR_PROTOCOL, "no reply");
    json_t *root = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(out);
    }
    if (rc) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the reply is not JSON (%s)",
                            why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    const char *bare;
    const json_t *e = find_error(root, &bare);
    if (!json_is_object(root)) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the reply is not a JSON object");
        goto out;
    }
    if (e) {
        /* Some compatible servers answer 200 with an error body. */
        rc = apply_error(out, e, bare, res->status, NULL);
        goto out;
    }
    const char *id = llm__json_str(root, "id"), *model = llm__json_str(root, "model");
    if ((id && *id && llm__resp_set_str(&out->id, id)) ||
        (model && *model && llm__resp_set_str(&out->model, model))) {
        rc = llm__resp_nomem(out);
        goto out;
    }
    const json_t *choices = json_object_get(root, "choices");
    if (!json_is_array(choices)) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the reply has no choices array");
        goto out;
    }
    const json_t *ch = first_choice(choices);
    if (!json_is_object(ch)) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the reply has no choice 0");
        goto out;
    }
    const json_t *msg = json_object_get(ch, "message");
    if (!json_is_object(msg)) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the reply's choice has no message object");
        goto out;
    }
    const json_t *rs = reasoning_of(msg);
    if (rs && json_string_length(rs) &&
        llm__resp_append_reasoning(out, json_string_value(rs), json_string_length(rs))) {
        rc = llm__resp_nomem(out);
        goto out;
    }
    if ((rc = each_text(out, json_object_get(msg, "content"), "message.content", piece_text, out)) ||
        (rc = take_tool_calls(out, json_object_get(msg, "tool_calls"))))
        goto out;
    const json_t *fin = json_object_get(ch, "finish_reason");
    if (fin && !json_is_null(fin) && !json_is_string(fin)) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "finish_reason is not a string");
        goto out;
    }
    const char *f = json_string_value(fin);
    if (llm__resp_set_finish(out, f && *f ? map_finish(f) : LLM_FINISH_OTHER, f && *f ? f : NULL)) {
        rc = llm__resp_nomem(out);
        goto out;
    }
    llm__resp_fix_finish(out);
    const json_t *refusal = json_object_get(msg, "refusal");
    if (json_is_string(refusal) && json_string_length(refusal) &&
        (rc = refusal_warning(out, json_string_value(refusal), json_string_length(refusal))))
        goto out;
    const json_t *u = json_object_get(root, "usage");
    int changed = 0;
    if (json_is_object(u) && (rc = take_usage(out, u, &changed)))
        goto out;
    rc = take_filters(out, root, ch);
out:
    json_decref(root);
    return rc;
}

/* ========================================================================
 * Streams (providers.md 1.9, 8.2): data-only SSE, one chunk per event,
 * "[DONE]" at the end.  Tool calls arrive as fragments keyed by index.
 */

struct slot {
    int64_t index;             /* the server's tool-call index */
    size_t  tool;              /* libllm's tool index once started */
    int     started, ended, ignored;
    char   *id;                /* the server's id, when it sent one */
    llm__buf pending;          /* argument text before the name came */
};

struct ostream {
    struct slot *slots;
    size_t nslots, cap;
    size_t pending_bytes;
    int finished;              /* a finish_reason was seen */
    llm__buf refusal;
};

int llm__openai_stream_begin(struct llm__sstate *st)
{
    if (!st)
        return LLM_ERR_MISUSE;
    struct ostream *s = llm__calloc(1, sizeof *s);
    if (!s)
        return llm__resp_nomem(st->resp);
    st->adapter = s;
    return LLM_OK;
}

void llm__openai_stream_free(struct llm__sstate *st)
{
    struct ostream *s = st ? st->adapter : NULL;
    if (!s)
        return;
    for (size_t i = 0; i < s->nslots; i++) {
        llm__free(s->slots[i].id);
        llm__buf_free(&s->slots[i].pending);
    }
    llm__free(s->slots);
    llm__buf_free(&s->refusal);
    llm__free(s);
    st->adapter = NULL;
}

static int piece_emit(void *ud, const char *s, size_t n)
{
    return llm__emit_text(ud, s, n);
}

static struct slot *new_slot(struct llm__sstate *st, struct ostream *s, int64_t index)
{
    if (s->nslots == MAX_STREAM_CALLS) {
        llm__resp_fail(st->resp, LLM_ERR_PROTOCOL, "the stream holds more than %d tool calls",
                       MAX_STREAM_CALLS);
        return NULL;
    }
    if (s->nslots == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct slot *n = llm__realloc(s->slots, cap * sizeof *n);
        if (!n) {
            llm__resp_nomem(st->resp);
            return NULL;
        }
        s->slots = n;
        s->cap = cap;
    }
    struct slot *sl = &s->slots[s->nslots++];
    memset(sl, 0, sizeof *sl);
    sl->index = index;
    return sl;
}

static int end_slot(struct llm__sstate *st, struct slot *sl)
{
    if (sl->ended || sl->ignored)
        return LLM_OK;
    if (!sl->started)
        return llm__resp_fail(st->resp, LLM_ERR_PROTOCOL,
                              "tool call %lld of the stream never got a name",
                              (long long)sl->index);
    sl->ended = 1;
    return llm__emit_tool_end(st, sl->tool);
}

static int end_all(struct llm__sstate *st, struct ostream *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        int rc = end_slot(st, &s->slots[i]);
        if (rc)
            return rc;
    }
    return LLM_OK;
}

/* One element of delta.tool_calls.  The first fragment of an index
 * normally has id, type and name; later ones only argument pieces.  A
 * server may leave the id out (one is made up), send arguments before the
 * name (held back until it comes), or reuse an index for a new call with
 * a new id (older Ollama): each is tolerated. */
static int take_fragment(struct llm__sstate *st, struct ostream *s, const json_t *tc)
{
    llm_response *r = st->resp;
    if (!json_is_object(tc))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a tool-call fragment is not an object");
    const json_t *ij = json_object_get(tc, "index");
    if (ij && !json_is_null(ij) && !json_is_integer(ij))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a tool-call fragment's index is not an integer");
    const json_t *fn = json_object_get(tc, "function");
    if (fn && !json_is_null(fn) && !json_is_object(fn))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a tool-call fragment's function is not an object");
    const char *id = llm__json_str(tc, "id");
    const char *name = llm__json_str(fn, "name");
    const char *type = llm__json_str(tc, "type");
    if (id && !*id)
        id = NULL;
    if (name && !*name)
        name = NULL;

    struct slot *sl = NULL;
    if (json_is_integer(ij)) {
        int64_t index = (int64_t)json_integer_value(ij);
        for (size_t i = s->nslots; i-- > 0;)
            if (s->slots[i].index == index) {
                sl = &s->slots[i];
                break;
            }
        if (sl && id && sl->id && strcmp(sl->id, id) != 0) {
            int rc = end_slot(st, sl);
            if (rc)
                return rc;
            sl = NULL;
        }
        if (!sl && !(sl = new_slot(st, s, index)))
            return r->status;
    } else {
        /* No index: a whole call per fragment, or a continuation of the
         * last one. */
        if (!name && !(type && strcmp(type, "function") != 0) && s->nslots)
            sl = &s->slots[s->nslots - 1];
        else if (!(sl = new_slot(st, s, -1 - (int64_t)s->nslots)))
            return r->status;
    }
    if (sl->ignored || sl->ended)
        return LLM_OK;
    if (type && strcmp(type, "function") != 0) {
        if (sl->started)
            return LLM_OK;
        sl->ignored = 1;
        return llm__emit_warning(st, "ignored a tool call of type \"%.40s\"", type);
    }
    if (id && !sl->id && !(sl->id = llm__strdup(id)))
        return llm__resp_nomem(r);

    llm__buf args = {0};
    int rc = args_text(r, json_object_get(fn, "arguments"), &args);
    if (rc)
        goto out;
    if (!sl->started && name) {
        char made[32];
        const char *use = sl->id;
        if (!use) {
            synth_id(r, made, sizeof made);
            use = made;
        }
        if ((rc = llm__emit_tool_start(st, use, name, &sl->tool)))
            goto out;
        sl->started = 1;
        if (sl->pending.len) {
            s->pending_bytes -= sl->pending.len;
            rc = llm__emit_tool_delta(st, sl->tool, sl->pending.data, sl->pending.len);
            llm__buf_free(&sl->pending);
            if (rc)
                goto out;
        }
    }
    if (args.len) {
        if (sl->started) {
            rc = llm__emit_tool_delta(st, sl->tool, args.data, args.len);
        } else if (args.len > MAX_PENDING_ARGS - s->pending_bytes) {
            rc = llm__resp_fail(r, LLM_ERR_PROTOCOL,
                                "too much argument text for a tool call with no name yet");
        } else if (llm__buf_append(&sl->pending, args.data, args.len)) {
            rc = llm__resp_nomem(r);
        } else {
            s->pending_bytes += args.len;
        }
    }
out:
    llm__buf_free(&args);
    return rc;
}

static int take_delta(struct llm__sstate *st, struct ostream *s, const json_t *delta)
{
    llm_response *r = st->resp;
    if (!delta || json_is_null(delta))
        return LLM_OK;
    if (!json_is_object(delta))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a chunk's delta is not an object");
    const json_t *rs = reasoning_of(delta);
    int rc;
    if (rs && (rc = llm__emit_reasoning(st, json_string_value(rs), json_string_length(rs))))
        return rc;
    if ((rc = each_text(r, json_object_get(delta, "content"), "delta.content", piece_emit, st)))
        return rc;
    const json_t *ref = json_object_get(delta, "refusal");
    if (json_is_string(ref) &&
        llm__buf_append(&s->refusal, json_string_value(ref), json_string_length(ref)))
        return llm__resp_nomem(r);
    const json_t *calls = json_object_get(delta, "tool_calls");
    if (!calls || json_is_null(calls))
        return LLM_OK;
    if (!json_is_array(calls))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "delta.tool_calls is not an array");
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
        if ((rc = take_fragment(st, s, tc)))
            return rc;
    return LLM_OK;
}

static int finish_stream(struct llm__sstate *st, struct ostream *s)
{
    llm_response *r = st->resp;
    int rc = end_all(st, s);
    if (rc)
        return rc;
    if (s->refusal.len) {
        /* As a warning event too, so that a caller reading only events
         * learns why no text came. */
        size_t n = s->refusal.len > 400 ? 400 : s->refusal.len;
        if (llm__resp_set_finish(r, LLM_FINISH_CONTENT_FILTER, r->finish_raw))
            return llm__resp_nomem(r);
        if ((rc = llm__emit_warning(st, "refusal: %.*s", (int)n, s->refusal.data)))
            return rc;
        llm__buf_free(&s->refusal);
    }
    llm__resp_fix_finish(r);
    return LLM_OK;
}

static int stream_error(struct llm__sstate *st, const json_t *e, const char *bare)
{
    st->resp->mid_stream = 1;
    return apply_error(st->resp, e, bare, 0, NULL);
}

int llm__openai_stream_event(struct llm__sstate *st, const struct llm__frame *f)
{
    if (!st || !f)
        return LLM_ERR_MISUSE;
    struct ostream *s = st->adapter;
    llm_response *r = st->resp;
    if (!s)
        return llm__resp_fail(r, LLM_ERR_MISUSE, "the stream was not begun");
    if (st->done)
        return LLM_OK;
    const char *d = f->data ? f->data : "";
    size_t n = f->data ? f->data_len : 0;
    while (n && (*d == ' ' || *d == '\t' || *d == '\r' || *d == '\n')) {
        d++;
        n--;
    }
    if (n == 0)
        return LLM_OK;
    /* The SDK stops at data that starts with [DONE] (providers.md 1.9). */
    if (n >= 6 && memcmp(d, "[DONE]", 6) == 0) {
        int rc = finish_stream(st, s);
        if (rc)
            return rc;
        if (r->finish == LLM_FINISH_NONE && llm__resp_set_finish(r, LLM_FINISH_OTHER, NULL))
            return llm__resp_nomem(r);
        st->done = 1;
        return LLM_OK;
    }
    json_t *root = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(d, n, &root, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(r);
    }
    if (rc) {
        rc = llm__resp_fail(r, LLM_ERR_PROTOCOL, "a stream chunk is not JSON (%s)",
                            why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    if (!json_is_object(root)) {
        json_decref(root);
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a stream chunk is not a JSON object");
    }
    const char *bare;
    const json_t *e = find_error(root, &bare);
    if (!e && f->event && f->event_len == 5 && memcmp(f->event, "error", 5) == 0) {
        e = root;
        bare = NULL;
    }
    if (e) {
        rc = stream_error(st, e, bare);
        json_decref(root);
        return rc;
    }

    /* Azure's first chunk has an empty id and model and no choices
     * (providers.md 2.3): keep only what is there. */
    const char *id = llm__json_str(root, "id"), *model = llm__json_str(root, "model");
    if ((id && *id && (!r->id || strcmp(r->id, id) != 0) && llm__resp_set_str(&r->id, id)) ||
        (model && *model && (!r->model || strcmp(r->model, model) != 0) &&
         llm__resp_set_str(&r->model, model))) {
        json_decref(root);
        return llm__resp_nomem(r);
    }
    const json_t *choices = json_object_get(root, "choices");
    if (choices && !json_is_null(choices) && !json_is_array(choices)) {
        json_decref(root);
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a stream chunk's choices is not an array");
    }
    const json_t *ch = first_choice(choices);
    if (ch && !json_is_object(ch)) {
        json_decref(root);
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a stream chunk's choice is not an object");
    }
    if (ch && (rc = take_delta(st, s, json_object_get(ch, "delta")))) {
        json_decref(root);
        return rc;
    }
    const json_t *fin = ch ? json_object_get(ch, "finish_reason") : NULL;
    if (fin && !json_is_null(fin)) {
        const char *fw = json_string_value(fin);
        if (!fw) {
            json_decref(root);
            return llm__resp_fail(r, LLM_ERR_PROTOCOL, "finish_reason is not a string");
        }
        if (*fw) {
            if (llm__resp_set_finish(r, map_finish(fw), fw)) {
                json_decref(root);
                return llm__resp_nomem(r);
            }
            s->finished = 1;
            if ((rc = finish_stream(st, s))) {
                json_decref(root);
                return rc;
            }
        }
    }
    /* The last usage seen wins: OpenAI sends it once after the last
     * choice, some servers on every chunk (providers.md 1.12). */
    const json_t *u = json_object_get(root, "usage");
    int changed = 0;
    if (json_is_object(u) && (rc = take_usage(r, u, &changed))) {
        json_decref(root);
        return rc;
    }
    rc = take_filters(r, root, ch);
    json_decref(root);
    if (rc)
        return rc;
    return changed ? llm__emit_usage(st) : LLM_OK;
}

int llm__openai_stream_end(struct llm__sstate *st)
{
    if (!st)
        return LLM_ERR_MISUSE;
    struct ostream *s = st->adapter;
    if (st->done)
        return LLM_OK;
    /* Several compatible servers close without [DONE]; a finish_reason
     * makes that a complete answer (providers.md 1.12). */
    if (s && s->finished) {
        int rc = finish_stream(st, s);
        if (rc)
            return rc;
        st->done = 1;
        return LLM_OK;
    }
    return llm__resp_fail(st->resp, LLM_ERR_NETWORK,
                          "stream truncated: it ended before a finish_reason or [DONE]");
}
