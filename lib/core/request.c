/*
 * request.c - the unified conversation: messages, parts, tools and
 * parameters, with the provider-independent checks of DESIGN.md 5.2.
 */
#include "internal.h"

#include <math.h>

/* Every setter starts here: the request exists, no call holds it, and the
 * reason of an earlier failure is cleared. */
static int begin(llm_request *req)
{
    if (!req)
        return LLM_ERR_MISUSE;
    llm__buf_reset(&req->errmsg);
    if (llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    if (atomic_load(&req->busy) > 0) {
        llm__buf_puts(&req->errmsg, "the request is in use by a call in progress");
        return LLM_ERR_MISUSE;
    }
    return LLM_OK;
}

LLM__PRINTF(3, 4)
static int fail(llm_request *req, int status, const char *fmt, ...)
{
    va_list ap;
    char text[512];
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    llm__buf_reset(&req->errmsg);
    llm__buf_puts(&req->errmsg, text);
    return status;
}

int llm_request_new(llm_request **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!llm__initialised())
        return LLM_ERR_MISUSE;
    llm_request *req = llm__calloc(1, sizeof *req);
    if (!req)
        return LLM_ERR_NOMEM;
    atomic_init(&req->refs, 1);
    atomic_init(&req->busy, 0);
    req->parallel_tool_calls = 1;
    req->tool_choice = LLM_TOOL_CHOICE_AUTO;
    *out = req;
    return LLM_OK;
}

void llm__meta_free(struct llm__meta *m)
{
    llm__free(m->provider);
    llm__free(m->model);
    llm__free(m->json);
    memset(m, 0, sizeof *m);
}

void llm__part_free(struct llm__part *p)
{
    llm__free(p->text);
    llm__free(p->mime);
    llm__free(p->data);
    llm__free(p->id);
    llm__free(p->name);
    llm__meta_free(&p->meta);
}

void llm__message_free(struct llm__message *m)
{
    for (size_t i = 0; i < m->nparts; i++)
        llm__part_free(&m->parts[i]);
    llm__free(m->parts);
    memset(m, 0, sizeof *m);
}

static void request_destroy(llm_request *req)
{
    for (size_t i = 0; i < req->nmsgs; i++)
        llm__message_free(&req->msgs[i]);
    llm__free(req->msgs);
    for (size_t i = 0; i < req->ntools; i++) {
        llm__free(req->tools[i].name);
        llm__free(req->tools[i].description);
        llm__free(req->tools[i].schema);
    }
    llm__free(req->tools);
    llm__free(req->tool_choice_name);
    llm__free(req->model);
    for (size_t i = 0; i < req->nstops; i++)
        llm__free(req->stops[i]);
    llm__free(req->schema_name);
    llm__free(req->schema);
    for (size_t i = 0; i < req->nextras; i++) {
        llm__free(req->extras[i].provider);
        llm__free(req->extras[i].json);
    }
    llm__free(req->extras);
    llm__buf_free(&req->errmsg);
    llm__free(req);
}

static void llm__request_release(llm_request *req)
{
    if (req && atomic_fetch_sub(&req->refs, 1) == 1)
        request_destroy(req);
}

/* A call holds the request: it stays alive and unchanged until released. */
void llm__request_hold(const llm_request *creq)
{
    llm_request *req = (llm_request *)creq;
    atomic_fetch_add(&req->refs, 1);
    atomic_fetch_add(&req->busy, 1);
}

void llm__request_unhold(const llm_request *creq)
{
    llm_request *req = (llm_request *)creq;
    atomic_fetch_sub(&req->busy, 1);
    llm__request_release(req);
}

void llm_request_free(llm_request *req) { llm__request_release(req); }

const char *llm_request_errmsg(const llm_request *req)
{
    if (!req)
        return "NULL request";
    return req->errmsg.data ? req->errmsg.data : "";
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return LLM_OK;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = llm__realloc(*arr, ncap * elem);
    if (!p)
        return LLM_ERR_NOMEM;
    memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return LLM_OK;
}

int llm__message_add_part(struct llm__message *m, struct llm__part **out)
{
    if (grow((void **)&m->parts, &m->cap, m->nparts, sizeof *m->parts) != LLM_OK)
        return LLM_ERR_NOMEM;
    *out = &m->parts[m->nparts++];
    memset(*out, 0, sizeof **out);
    return LLM_OK;
}

static int open_message(llm_request *req, int role)
{
    if (grow((void **)&req->msgs, &req->msgs_cap, req->nmsgs, sizeof *req->msgs) != LLM_OK)
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    memset(&req->msgs[req->nmsgs], 0, sizeof *req->msgs);
    req->msgs[req->nmsgs++].role = role;
    return LLM_OK;
}

int llm_request_add_message(llm_request *req, int role)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (role != LLM_ROLE_SYSTEM && role != LLM_ROLE_USER && role != LLM_ROLE_ASSISTANT)
        return fail(req, LLM_ERR_INVALID_ARG,
                    "role %d is not LLM_ROLE_SYSTEM, _USER or _ASSISTANT "
                    "(tool results use llm_request_add_tool_result)", role);
    return open_message(req, role);
}

static struct llm__message *last_message(llm_request *req)
{
    return req->nmsgs ? &req->msgs[req->nmsgs - 1] : NULL;
}

static int new_part(llm_request *req, struct llm__part **out)
{
    if (llm__message_add_part(last_message(req), out) != LLM_OK)
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    return LLM_OK;
}

/* Pops a part added by new_part when filling it failed. */
static int drop_part(llm_request *req)
{
    struct llm__message *m = last_message(req);
    llm__part_free(&m->parts[--m->nparts]);
    return fail(req, LLM_ERR_NOMEM, "out of memory");
}

int llm_request_append_text(llm_request *req, const char *text, size_t len)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!text)
        return fail(req, LLM_ERR_MISUSE, "text is NULL");
    struct llm__message *m = last_message(req);
    if (!m || m->role == LLM_ROLE_TOOL)
        return fail(req, LLM_ERR_MISUSE, "no open message: call llm_request_add_message first");
    if (!llm__utf8_valid(text, len))
        return fail(req, LLM_ERR_INVALID_ARG, "text is not valid UTF-8");
    struct llm__part *p;
    if ((rc = new_part(req, &p)))
        return rc;
    p->type = LLM__PART_TEXT;
    if (!(p->text = llm__strndup(text, len)))
        return drop_part(req);
    p->text_len = len;
    return LLM_OK;
}

int llm_request_add_text(llm_request *req, int role, const char *text)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!text)
        return fail(req, LLM_ERR_MISUSE, "text is NULL");
    size_t len = strlen(text);
    if (!llm__utf8_valid(text, len))
        return fail(req, LLM_ERR_INVALID_ARG, "text is not valid UTF-8");
    if ((rc = llm_request_add_message(req, role)))
        return rc;
    if ((rc = llm_request_append_text(req, text, len))) {
        struct llm__message *m = last_message(req);
        llm__message_free(m);
        req->nmsgs--;
    }
    return rc;
}

static int need_user(llm_request *req, const char *what)
{
    struct llm__message *m = last_message(req);
    if (!m || m->role != LLM_ROLE_USER)
        return fail(req, LLM_ERR_MISUSE, "%s needs an open user message", what);
    return LLM_OK;
}

int llm_request_append_image(llm_request *req, const char *mime, const void *data, size_t len)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!mime || !data)
        return fail(req, LLM_ERR_MISUSE, "mime or data is NULL");
    if ((rc = need_user(req, "an image")))
        return rc;
    size_t ml = strlen(mime);
    if (ml == 0 || llm__has_ctl(mime, ml) || strchr(mime, '/') == NULL)
        return fail(req, LLM_ERR_INVALID_ARG, "\"%s\" is not a MIME type", mime);
    if (len == 0)
        return fail(req, LLM_ERR_INVALID_ARG, "the image is empty");
    struct llm__part *p;
    if ((rc = new_part(req, &p)))
        return rc;
    p->type = LLM__PART_IMAGE_DATA;
    p->mime = llm__strdup(mime);
    p->data = llm__malloc(len);
    if (!p->mime || !p->data)
        return drop_part(req);
    memcpy(p->data, data, len);
    p->data_len = len;
    return LLM_OK;
}

int llm_request_append_image_url(llm_request *req, const char *url)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!url)
        return fail(req, LLM_ERR_MISUSE, "url is NULL");
    if ((rc = need_user(req, "an image")))
        return rc;
    size_t ul = strlen(url);
    if (llm__has_ctl(url, ul) ||
        (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0 &&
         strncmp(url, "data:", 5) != 0))
        return fail(req, LLM_ERR_INVALID_ARG, "an image URL must be http(s): or data:");
    struct llm__part *p;
    if ((rc = new_part(req, &p)))
        return rc;
    p->type = LLM__PART_IMAGE_URL;
    if (!(p->text = llm__strndup(url, ul)))
        return drop_part(req);
    p->text_len = ul;
    return LLM_OK;
}

static int check_id(llm_request *req, const char *what, const char *s)
{
    if (!s || !*s)
        return fail(req, LLM_ERR_INVALID_ARG, "%s is empty", what);
    size_t n = strlen(s);
    if (llm__has_ctl(s, n) || !llm__utf8_valid(s, n))
        return fail(req, LLM_ERR_INVALID_ARG, "%s holds CR, LF or invalid UTF-8", what);
    return LLM_OK;
}

static int check_json(llm_request *req, const char *what, const char *s, size_t n, int object)
{
    json_t *j = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(s, n, &j, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return fail(req, rc, "out of memory");
    }
    if (rc) {
        fail(req, LLM_ERR_INVALID_ARG, "%s is not JSON: %s", what, why.data ? why.data : "");
        llm__buf_free(&why);
        return LLM_ERR_INVALID_ARG;
    }
    int ok = !object || json_is_object(j);
    json_decref(j);
    if (!ok)
        return fail(req, LLM_ERR_INVALID_ARG, "%s must be a JSON object", what);
    return LLM_OK;
}

int llm_request_append_tool_call(llm_request *req, const char *id, const char *name,
                                 const char *args, size_t len)
{
    int rc = begin(req);
    if (rc)
        return rc;
    struct llm__message *m = last_message(req);
    if (!m || m->role != LLM_ROLE_ASSISTANT)
        return fail(req, LLM_ERR_MISUSE, "a tool call needs an open assistant message");
    if ((rc = check_id(req, "the tool call id", id)) || (rc = check_id(req, "the tool name", name)))
        return rc;
    if (!args) {
        if (len)
            return fail(req, LLM_ERR_MISUSE, "args_json is NULL");
        args = "{}";
        len = 2;
    }
    if ((rc = check_json(req, "the tool call's arguments", args, len, 0)))
        return rc;
    struct llm__part *p;
    if ((rc = new_part(req, &p)))
        return rc;
    p->type = LLM__PART_TOOL_CALL;
    p->id = llm__strdup(id);
    p->name = llm__strdup(name);
    p->text = llm__strndup(args, len);
    if (!p->id || !p->name || !p->text)
        return drop_part(req);
    p->text_len = len;
    return LLM_OK;
}

/* The assistant turn a tool turn answers: the message before the run of
 * tool messages at the end. */
static const struct llm__message *answered_turn(const llm_request *req, size_t tool_msg)
{
    size_t i = tool_msg;
    while (i > 0 && req->msgs[i - 1].role == LLM_ROLE_TOOL)
        i--;
    if (i == 0 || req->msgs[i - 1].role != LLM_ROLE_ASSISTANT)
        return NULL;
    return &req->msgs[i - 1];
}

static const struct llm__part *find_call(const struct llm__message *m, const char *id)
{
    for (size_t i = 0; m && i < m->nparts; i++)
        if (m->parts[i].type == LLM__PART_TOOL_CALL && strcmp(m->parts[i].id, id) == 0)
            return &m->parts[i];
    return NULL;
}

int llm_request_add_tool_result(llm_request *req, const char *call_id, const char *name,
                                const char *content, size_t len, int flags)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!content)
        return fail(req, LLM_ERR_MISUSE, "content is NULL");
    if ((rc = check_id(req, "the call id", call_id)))
        return rc;
    if (name && (rc = check_id(req, "the tool name", name)))
        return rc;
    if (flags & ~(LLM_TOOL_RESULT_ERROR | LLM_TOOL_RESULT_JSON))
        return fail(req, LLM_ERR_INVALID_ARG, "unknown tool result flags 0x%x", (unsigned)flags);
    if (!llm__utf8_valid(content, len))
        return fail(req, LLM_ERR_INVALID_ARG, "the tool result is not valid UTF-8");
    if ((flags & LLM_TOOL_RESULT_JSON) &&
        (rc = check_json(req, "the tool result", content, len, 0)))
        return rc;
    struct llm__message *m = last_message(req);
    int opened = 0;
    if (!m || m->role != LLM_ROLE_TOOL) {
        if ((rc = open_message(req, LLM_ROLE_TOOL)))
            return rc;
        opened = 1;
        m = last_message(req);
    }
    /* The name comes from the call when the caller leaves it out; a result
     * whose call is unknown is kept and rejected when sent, so that
     * conversations can be built in any order. */
    if (!name) {
        const struct llm__part *call = find_call(answered_turn(req, req->nmsgs - 1), call_id);
        if (call)
            name = call->name;
    }
    struct llm__part *p;
    if (llm__message_add_part(m, &p) != LLM_OK)
        goto nomem;
    p->type = LLM__PART_TOOL_RESULT;
    p->id = llm__strdup(call_id);
    p->name = name ? llm__strdup(name) : NULL;
    p->text = llm__strndup(content, len);
    p->text_len = len;
    p->flags = flags;
    if (!p->id || (name && !p->name) || !p->text) {
        llm__part_free(&m->parts[--m->nparts]);
        goto nomem;
    }
    return LLM_OK;
nomem:
    if (opened) {
        llm__message_free(m);
        req->nmsgs--;
    }
    return fail(req, LLM_ERR_NOMEM, "out of memory");
}

static int copy_meta(struct llm__meta *dst, const struct llm__meta *src)
{
    if (!src->json)
        return LLM_OK;
    dst->provider = llm__strdup(src->provider);
    dst->model = llm__strdup(src->model);
    dst->json = llm__strndup(src->json, src->json_len);
    dst->json_len = src->json_len;
    if ((src->provider && !dst->provider) || (src->model && !dst->model) || !dst->json)
        return LLM_ERR_NOMEM;
    return LLM_OK;
}

int llm__part_copy(struct llm__part *dst, const struct llm__part *src)
{
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->flags = src->flags;
    if (src->text) {
        if (!(dst->text = llm__strndup(src->text, src->text_len)))
            return LLM_ERR_NOMEM;
        dst->text_len = src->text_len;
    }
    if ((src->id && !(dst->id = llm__strdup(src->id))) ||
        (src->name && !(dst->name = llm__strdup(src->name))) ||
        (src->mime && !(dst->mime = llm__strdup(src->mime))))
        return LLM_ERR_NOMEM;
    if (src->data) {
        if (!(dst->data = llm__malloc(src->data_len)))
            return LLM_ERR_NOMEM;
        memcpy(dst->data, src->data, src->data_len);
        dst->data_len = src->data_len;
    }
    return copy_meta(&dst->meta, &src->meta);
}

int llm_request_add_response(llm_request *req, const llm_response *resp)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!resp)
        return fail(req, LLM_ERR_MISUSE, "response is NULL");
    if (resp->status != LLM_OK)
        return fail(req, LLM_ERR_INVALID_ARG,
                    "a failed response (%s) cannot be a turn of the conversation",
                    llm_status_name(resp->status));
    if ((rc = open_message(req, LLM_ROLE_ASSISTANT)))
        return rc;
    struct llm__message *m = last_message(req);
    for (size_t i = 0; i < resp->msg.nparts; i++) {
        struct llm__part *p;
        if (llm__message_add_part(m, &p) != LLM_OK || llm__part_copy(p, &resp->msg.parts[i]) != LLM_OK) {
            llm__message_free(m);
            req->nmsgs--;
            return fail(req, LLM_ERR_NOMEM, "out of memory");
        }
    }
    return LLM_OK;
}

int llm_request_add_tool(llm_request *req, const char *name, const char *description,
                         const char *schema)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if ((rc = check_id(req, "the tool name", name)))
        return rc;
    for (size_t i = 0; i < req->ntools; i++)
        if (strcmp(req->tools[i].name, name) == 0)
            return fail(req, LLM_ERR_INVALID_ARG, "tool \"%s\" is already defined", name);
    if (description && !llm__utf8_valid(description, strlen(description)))
        return fail(req, LLM_ERR_INVALID_ARG, "the description is not valid UTF-8");
    if (schema) {
        char what[160];
        snprintf(what, sizeof what, "the JSON Schema of tool \"%.100s\"", name);
        if ((rc = check_json(req, what, schema, strlen(schema), 1)))
            return rc;
    }
    if (grow((void **)&req->tools, &req->tools_cap, req->ntools, sizeof *req->tools) != LLM_OK)
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    struct llm__tool *t = &req->tools[req->ntools];
    t->name = llm__strdup(name);
    t->description = llm__strdup(description);
    t->schema = llm__strdup(schema);
    if (!t->name || (description && !t->description) || (schema && !t->schema)) {
        llm__free(t->name);
        llm__free(t->description);
        llm__free(t->schema);
        memset(t, 0, sizeof *t);
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    }
    req->ntools++;
    return LLM_OK;
}

static int set_str(llm_request *req, char **field, const char *s)
{
    char *d = NULL;
    if (s && !(d = llm__strdup(s)))
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    llm__free(*field);
    *field = d;
    return LLM_OK;
}

int llm_request_set_tool_choice(llm_request *req, int choice, const char *tool_name)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (choice < LLM_TOOL_CHOICE_AUTO || choice > LLM_TOOL_CHOICE_NAMED)
        return fail(req, LLM_ERR_INVALID_ARG, "unknown tool choice %d", choice);
    if (choice == LLM_TOOL_CHOICE_NAMED) {
        if ((rc = check_id(req, "the tool name", tool_name)))
            return rc;
    } else if (tool_name) {
        return fail(req, LLM_ERR_INVALID_ARG, "a tool name goes only with LLM_TOOL_CHOICE_NAMED");
    }
    if ((rc = set_str(req, &req->tool_choice_name, tool_name)))
        return rc;
    req->tool_choice = choice;
    return LLM_OK;
}

int llm_request_set_parallel_tool_calls(llm_request *req, int on)
{
    int rc = begin(req);
    if (rc)
        return rc;
    req->parallel_tool_calls = on ? 1 : 0;
    return LLM_OK;
}

int llm_request_set_model(llm_request *req, const char *model)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (model && (rc = check_id(req, "the model", model)))
        return rc;
    return set_str(req, &req->model, model);
}

static int check_unit(llm_request *req, const char *what, double v)
{
    if (!isfinite(v) || v < 0)
        return fail(req, LLM_ERR_INVALID_ARG, "%s must be a finite number >= 0", what);
    return LLM_OK;
}

int llm_request_set_temperature(llm_request *req, double t)
{
    int rc = begin(req);
    if (rc || (rc = check_unit(req, "temperature", t)))
        return rc;
    req->temperature = t;
    req->has_temperature = true;
    return LLM_OK;
}

int llm_request_set_top_p(llm_request *req, double p)
{
    int rc = begin(req);
    if (rc || (rc = check_unit(req, "top_p", p)))
        return rc;
    req->top_p = p;
    req->has_top_p = true;
    return LLM_OK;
}

int llm_request_set_top_k(llm_request *req, int32_t k)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (k <= 0)
        return fail(req, LLM_ERR_INVALID_ARG, "top_k must be > 0");
    req->top_k = k;
    req->has_top_k = true;
    return LLM_OK;
}

int llm_request_set_max_tokens(llm_request *req, int32_t n)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (n <= 0)
        return fail(req, LLM_ERR_INVALID_ARG, "max_tokens must be > 0");
    req->max_tokens = n;
    req->has_max_tokens = true;
    return LLM_OK;
}

int llm_request_set_seed(llm_request *req, int64_t seed)
{
    int rc = begin(req);
    if (rc)
        return rc;
    req->seed = seed;
    req->has_seed = true;
    return LLM_OK;
}

int llm_request_add_stop(llm_request *req, const char *stop)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!stop || !*stop)
        return fail(req, LLM_ERR_INVALID_ARG, "a stop sequence cannot be empty");
    if (!llm__utf8_valid(stop, strlen(stop)))
        return fail(req, LLM_ERR_INVALID_ARG, "the stop sequence is not valid UTF-8");
    if (req->nstops >= LLM__MAX_STOPS)
        return fail(req, LLM_ERR_INVALID_ARG, "at most %d stop sequences", LLM__MAX_STOPS);
    if (!(req->stops[req->nstops] = llm__strdup(stop)))
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    req->nstops++;
    return LLM_OK;
}

int llm_request_set_reasoning_effort(llm_request *req, int effort)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (effort < LLM_REASONING_DEFAULT || effort > LLM_REASONING_HIGH)
        return fail(req, LLM_ERR_INVALID_ARG, "unknown reasoning effort %d", effort);
    req->reasoning_effort = effort;
    return LLM_OK;
}

int llm_request_set_reasoning_budget(llm_request *req, int32_t tokens)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (tokens < 0)
        return fail(req, LLM_ERR_INVALID_ARG, "the reasoning budget must be >= 0");
    req->reasoning_budget = tokens;
    return LLM_OK;
}

static int valid_schema_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int llm_request_set_response_schema(llm_request *req, const char *name, const char *schema)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!name || !schema)
        return fail(req, LLM_ERR_MISUSE, "name or json_schema is NULL");
    if (!valid_schema_name(name))
        return fail(req, LLM_ERR_INVALID_ARG, "the schema name must match [a-zA-Z0-9_-]{1,64}");
    if ((rc = check_json(req, "the response JSON Schema", schema, strlen(schema), 1)))
        return rc;
    char *n = llm__strdup(name), *s = llm__strdup(schema);
    if (!n || !s) {
        llm__free(n);
        llm__free(s);
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    }
    llm__free(req->schema_name);
    llm__free(req->schema);
    req->schema_name = n;
    req->schema = s;
    return LLM_OK;
}

int llm_request_set_extra_json(llm_request *req, const char *provider, const char *json,
                               size_t len)
{
    int rc = begin(req);
    if (rc)
        return rc;
    if (!json)
        return fail(req, LLM_ERR_MISUSE, "json is NULL");
    if ((rc = check_json(req, "the extra JSON", json, len, 1)))
        return rc;
    size_t i = 0;
    for (; i < req->nextras; i++) {
        const char *p = req->extras[i].provider;
        if ((!p && !provider) || (p && provider && strcmp(p, provider) == 0))
            break;
    }
    char *j = llm__strndup(json, len);
    char *p = provider ? llm__strdup(provider) : NULL;
    if (!j || (provider && !p)) {
        llm__free(j);
        llm__free(p);
        return fail(req, LLM_ERR_NOMEM, "out of memory");
    }
    if (i == req->nextras) {
        struct llm__extra *e = llm__realloc(req->extras, (req->nextras + 1) * sizeof *e);
        if (!e) {
            llm__free(j);
            llm__free(p);
            return fail(req, LLM_ERR_NOMEM, "out of memory");
        }
        req->extras = e;
        req->nextras++;
    } else {
        llm__free(req->extras[i].provider);
        llm__free(req->extras[i].json);
    }
    req->extras[i].provider = p;
    req->extras[i].json = j;
    return LLM_OK;
}

/* The checks that need the whole conversation, made when a call starts
 * (DESIGN.md 5.1).  On failure the response carries the reason. */
int llm__request_validate(const llm_request *req, llm_response *resp)
{
    size_t content = 0;
    for (size_t i = 0; i < req->nmsgs; i++) {
        const struct llm__message *m = &req->msgs[i];
        if (m->nparts == 0)
            return llm__resp_fail(resp, LLM_ERR_INVALID_ARG, "message %zu has no parts", i);
        if (m->role != LLM_ROLE_SYSTEM)
            content++;
        if (m->role != LLM_ROLE_TOOL)
            continue;
        const struct llm__message *turn = answered_turn(req, i);
        for (size_t k = 0; k < m->nparts; k++) {
            const struct llm__part *p = &m->parts[k];
            const struct llm__part *call = find_call(turn, p->id);
            if (!call)
                return llm__resp_fail(resp, LLM_ERR_INVALID_ARG,
                                      "tool result for call id \"%s\" answers no call of the "
                                      "preceding assistant turn", p->id);
            if (p->name && strcmp(p->name, call->name) != 0)
                return llm__resp_fail(resp, LLM_ERR_INVALID_ARG,
                                      "tool result for call id \"%s\" names tool \"%s\" but the "
                                      "call was to \"%s\"", p->id, p->name, call->name);
        }
    }
    if (content == 0)
        return llm__resp_fail(resp, LLM_ERR_INVALID_ARG,
                              "the conversation is empty: add a user message");
    if (req->tool_choice == LLM_TOOL_CHOICE_NAMED) {
        size_t t = 0;
        while (t < req->ntools && strcmp(req->tools[t].name, req->tool_choice_name) != 0)
            t++;
        if (t == req->ntools)
            return llm__resp_fail(resp, LLM_ERR_INVALID_ARG,
                                  "tool choice names \"%s\", which is not a defined tool",
                                  req->tool_choice_name);
    }
    if ((req->tool_choice == LLM_TOOL_CHOICE_REQUIRED) && req->ntools == 0)
        return llm__resp_fail(resp, LLM_ERR_INVALID_ARG,
                              "tool choice \"required\" needs at least one tool");
    return LLM_OK;
}
