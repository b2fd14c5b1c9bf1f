/*
 * events.c - the stream event queue and the emitters adapters call.
 *
 * One frame can yield several events (a tool start and its first argument
 * bytes, the end of every open call), so events queue until the caller
 * pulls them.  Their strings live in one arena that is reset when the queue
 * has drained, so a stream of any length runs in memory bounded by one
 * network read, apart from the accumulated response.
 */
#include "internal.h"

#include <stdio.h>

struct llm_event {
    int type;
    int tool_index;
    const char *text;
    size_t text_len;
    const char *id;
    const char *name;
};

struct evrec {
    int type;
    int tool_index;
    size_t text_off, text_len;
    size_t id_off, name_off;   /* SIZE_MAX: none */
};

struct llm__evq {
    struct evrec *recs;
    size_t n, head, cap;
    llm__buf arena;
    struct llm_event cur;
    size_t acc_bytes;          /* text + arguments accumulated so far */
    size_t max_bytes;
    int64_t first_token_ms;    /* 0 until the first content event */
};

int llm__sstate_init(struct llm__sstate *st, struct llm__call *call, llm_response *resp)
{
    memset(st, 0, sizeof *st);
    st->call = call;
    st->resp = resp;
    st->q = llm__calloc(1, sizeof *st->q);
    if (!st->q)
        return LLM_ERR_NOMEM;
    st->q->max_bytes = (size_t)64 << 20;
    return LLM_OK;
}

void llm__sstate_set_limit(struct llm__sstate *st, size_t max_bytes)
{
    st->q->max_bytes = max_bytes;
}

int64_t llm__sstate_first_token_ms(const struct llm__sstate *st)
{
    return st->q ? st->q->first_token_ms : 0;
}

void llm__sstate_cleanup(struct llm__sstate *st)
{
    if (!st->q)
        return;
    llm__free(st->q->recs);
    llm__buf_free(&st->q->arena);
    llm__free(st->q);
    st->q = NULL;
}

size_t llm__sstate_pending(const struct llm__sstate *st)
{
    return st->q ? st->q->n - st->q->head : 0;
}

void llm__sstate_reset_if_drained(struct llm__sstate *st)
{
    struct llm__evq *q = st->q;
    if (q && q->head == q->n) {
        q->head = q->n = 0;
        llm__buf_reset(&q->arena);
    }
}

static const char *at(struct llm__evq *q, size_t off)
{
    return off == SIZE_MAX ? NULL : q->arena.data + off;
}

int llm__sstate_pop(struct llm__sstate *st, const llm_event **ev_out)
{
    struct llm__evq *q = st->q;
    if (!q || q->head == q->n)
        return 0;
    const struct evrec *e = &q->recs[q->head++];
    q->cur.type = e->type;
    q->cur.tool_index = e->tool_index;
    q->cur.text = e->text_len ? at(q, e->text_off) : "";
    q->cur.text_len = e->text_len;
    q->cur.id = at(q, e->id_off);
    q->cur.name = at(q, e->name_off);
    *ev_out = &q->cur;
    return 1;
}

static int store(struct llm__evq *q, const char *s, size_t n, size_t *off)
{
    if (!s) {
        *off = SIZE_MAX;
        return LLM_OK;
    }
    *off = q->arena.len;
    if (llm__buf_append(&q->arena, s, n) != LLM_OK || llm__buf_putc(&q->arena, '\0') != LLM_OK)
        return LLM_ERR_NOMEM;
    return LLM_OK;
}

static int push(struct llm__sstate *st, int type, int tool_index, const char *text, size_t n,
                const char *id, const char *name)
{
    struct llm__evq *q = st->q;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct evrec *r = llm__realloc(q->recs, cap * sizeof *r);
        if (!r)
            return LLM_ERR_NOMEM;
        q->recs = r;
        q->cap = cap;
    }
    struct evrec *e = &q->recs[q->n];
    e->type = type;
    e->tool_index = tool_index;
    e->text_len = text ? n : 0;
    if (store(q, text, text ? n : 0, &e->text_off) || store(q, id, id ? strlen(id) : 0, &e->id_off) ||
        store(q, name, name ? strlen(name) : 0, &e->name_off))
        return LLM_ERR_NOMEM;
    q->n++;
    if (q->first_token_ms == 0 && type != LLM_EVENT_USAGE && type != LLM_EVENT_WARNING)
        q->first_token_ms = llm__now_ms();
    return LLM_OK;
}

static int account(struct llm__sstate *st, size_t n)
{
    struct llm__evq *q = st->q;
    if (n > q->max_bytes - q->acc_bytes || q->acc_bytes > q->max_bytes)
        return llm__resp_fail(st->resp, LLM_ERR_TOO_LARGE,
                              "the streamed text and arguments exceed the %zu-byte limit",
                              q->max_bytes);
    q->acc_bytes += n;
    return LLM_OK;
}

static int nomem(struct llm__sstate *st)
{
    return llm__resp_fail(st->resp, LLM_ERR_NOMEM, "out of memory");
}

int llm__emit_text(struct llm__sstate *st, const char *s, size_t n)
{
    if (n == 0)
        return LLM_OK;
    int rc = account(st, n);
    if (rc)
        return rc;
    if (llm__resp_append_text(st->resp, s, n) || push(st, LLM_EVENT_TEXT_DELTA, -1, s, n, NULL, NULL))
        return nomem(st);
    return LLM_OK;
}

int llm__emit_reasoning(struct llm__sstate *st, const char *s, size_t n)
{
    if (n == 0)
        return LLM_OK;
    int rc = account(st, n);
    if (rc)
        return rc;
    if (llm__resp_append_reasoning(st->resp, s, n) ||
        push(st, LLM_EVENT_REASONING_DELTA, -1, s, n, NULL, NULL))
        return nomem(st);
    return LLM_OK;
}

int llm__emit_tool_start(struct llm__sstate *st, const char *id, const char *name,
                         size_t *index_out)
{
    size_t idx;
    if (llm__resp_add_tool_call(st->resp, id, name, NULL, 0, &idx) ||
        push(st, LLM_EVENT_TOOL_CALL_START, (int)idx, NULL, 0, id ? id : "", name ? name : ""))
        return nomem(st);
    if (index_out)
        *index_out = idx;
    return LLM_OK;
}

int llm__emit_tool_delta(struct llm__sstate *st, size_t index, const char *s, size_t n)
{
    if (n == 0)
        return LLM_OK;
    if (index >= st->resp->ntools)
        return llm__resp_fail(st->resp, LLM_ERR_PROTOCOL,
                              "arguments for tool call %zu, which never started", index);
    int rc = account(st, n);
    if (rc)
        return rc;
    if (llm__resp_tool_args_append(st->resp, index, s, n) ||
        push(st, LLM_EVENT_TOOL_CALL_DELTA, (int)index, s, n, NULL, NULL))
        return nomem(st);
    return LLM_OK;
}

int llm__emit_tool_end(struct llm__sstate *st, size_t index)
{
    if (index >= st->resp->ntools)
        return llm__resp_fail(st->resp, LLM_ERR_PROTOCOL,
                              "end of tool call %zu, which never started", index);
    struct llm__part *p = llm__resp_tool_part(st->resp, index);
    /* A call with no argument bytes at all takes no arguments. */
    if (p->text_len == 0 && llm__resp_tool_args_append(st->resp, index, "{}", 2))
        return nomem(st);
    if (push(st, LLM_EVENT_TOOL_CALL_END, (int)index, NULL, 0, NULL, NULL))
        return nomem(st);
    return LLM_OK;
}

int llm__emit_usage(struct llm__sstate *st)
{
    if (push(st, LLM_EVENT_USAGE, -1, NULL, 0, NULL, NULL))
        return nomem(st);
    return LLM_OK;
}

int llm__emit_warning(struct llm__sstate *st, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (llm__resp_warn(st->resp, "%s", text) ||
        push(st, LLM_EVENT_WARNING, -1, text, strlen(text), NULL, NULL))
        return nomem(st);
    return LLM_OK;
}

/* ---- public accessors -------------------------------------------------- */

int llm_event_type(const llm_event *ev) { return ev ? ev->type : 0; }

const char *llm_event_text(const llm_event *ev, size_t *len_out)
{
    if (len_out)
        *len_out = ev ? ev->text_len : 0;
    return ev && ev->text ? ev->text : "";
}

int llm_event_tool_index(const llm_event *ev) { return ev ? ev->tool_index : -1; }
const char *llm_event_tool_id(const llm_event *ev) { return ev ? ev->id : NULL; }
const char *llm_event_tool_name(const llm_event *ev) { return ev ? ev->name : NULL; }
