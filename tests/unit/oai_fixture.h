/*
 * oai_fixture.h - what test_openai.c and test_azure.c share: reading the
 * recorded replies of tests/providers/<provider>/<case>/, a hand-made
 * struct llm__call, and driving an adapter's stream through the real SSE
 * parser while writing down every event.  Sans-I/O throughout.
 */
#ifndef LLM_TEST_OAI_FIXTURE_H
#define LLM_TEST_OAI_FIXTURE_H

#include "internal.h"
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *fx_root(void)
{
    const char *r = getenv("LLM_TEST_ROOT");
    return r ? r : "tests/providers";
}

/* The whole file, NUL-terminated (malloc'd); NULL if unreadable. */
static inline char *fx_read(const char *prov, const char *kase, const char *name, size_t *len_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s/%s", fx_root(), prov, kase, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("#   cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    b[n] = '\0';
    fclose(f);
    if (len_out)
        *len_out = (size_t)n;
    return b;
}

/* A recorded reply: status, headers, body (tests/providers/README.md). */
struct fx_reply {
    char *data;
    struct llm__header headers[32];
    struct llm__http_res res;
};

static inline int fx_reply_load(struct fx_reply *x, const char *prov, const char *kase,
                                const char *name)
{
    size_t n = 0;
    memset(x, 0, sizeof *x);
    if (!(x->data = fx_read(prov, kase, name, &n)))
        return -1;
    char *p = x->data, *body = p + n;
    for (char *nl = strchr(p, '\n'); nl; nl = strchr(nl + 1, '\n')) {
        if (nl[1] == '\n') {
            *nl = '\0';
            body = nl + 2;
            break;
        }
        if (nl[1] == '\r' && nl[2] == '\n') {
            *nl = '\0';
            body = nl + 3;
            break;
        }
    }
    x->res.body = body;
    x->res.body_len = (size_t)(x->data + n - body);
    char *line = p, *next;
    int first = 1;
    size_t nh = 0;
    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (first) {
            char *sp = strchr(line, ' ');
            x->res.status = sp ? atoi(sp + 1) : 0;
            first = 0;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || nh == 32)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        x->headers[nh].name = line;
        x->headers[nh].value = v;
        nh++;
    }
    x->res.headers = x->headers;
    x->res.nheaders = nh;
    return 0;
}

static inline void fx_reply_free(struct fx_reply *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* A fresh response as core hands it to an adapter. */
static inline llm_response *fx_resp(const char *provider, const char *model)
{
    llm_response *r = llm__response_new();
    if (r) {
        llm__resp_set_str(&r->provider, provider);
        llm__resp_set_str(&r->meta_model, model);
    }
    return r;
}

static inline void fx_call(struct llm__call *c, const struct llm__provider_ops *ops,
                           const llm_request *req, llm_response *resp, const char *model)
{
    memset(c, 0, sizeof *c);
    c->ops = ops;
    c->provider = ops->name;
    c->req = req;
    c->model = model;
    c->api_key = "test-key-1234567890";
    c->default_max_tokens = 4096;
    c->now_ms = 1754000000000;
    c->resp = resp;
}

/* The request body an adapter built, as JSON (NULL if it is not JSON). */
static inline json_t *fx_body(const struct llm__http_req *h)
{
    return json_loadb(h->body.data ? h->body.data : "", h->body.len, 0, NULL);
}

/* Compare a built body with the fixture's request.json. */
static inline int fx_body_equals(const struct llm__http_req *h, const char *prov, const char *kase,
                                 const char *file)
{
    char *want_text = fx_read(prov, kase, file, NULL);
    json_t *want = want_text ? json_loads(want_text, 0, NULL) : NULL;
    json_t *got = fx_body(h);
    int eq = want && got && json_equal(want, got);
    if (!eq) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *w = want ? json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        printf("#   %s/%s/%s differs:\n#   got  %s\n#   want %s\n", prov, kase, file,
               g ? g : "(not JSON)", w ? w : "(not JSON)");
        free(g);
        free(w);
    }
    json_decref(want);
    json_decref(got);
    free(want_text);
    return eq;
}

/* ---- failing allocator ------------------------------------------------- */

/* Counts allocations; the fail_at-th one (1-based) after arming fails. */
static long fx_alloc_count, fx_fail_at;

static inline void *fx_malloc(size_t n, void *ud)
{
    (void)ud;
    if (fx_fail_at && ++fx_alloc_count == fx_fail_at)
        return NULL;
    return malloc(n);
}

static inline void *fx_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (fx_fail_at && ++fx_alloc_count == fx_fail_at)
        return NULL;
    return realloc(p, n);
}

static inline void fx_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static inline void fx_arm(long n)
{
    fx_alloc_count = 0;
    fx_fail_at = n;
}

/* 1 if the armed failure was reached (the run saw a failed allocation). */
static inline int fx_disarm(void)
{
    int hit = fx_fail_at && fx_alloc_count >= fx_fail_at;
    fx_fail_at = 0;
    return hit;
}

/* ---- streams ------------------------------------------------------------ */

/* What one streamed reply produced: the statuses, and a transcript of the
 * events ("T(Hello)S0(call_1,get_weather)D0({)E0U..."). */
struct fx_stream {
    int feed_rc, end_rc;
    llm__buf log;
    int text, reasoning, starts, deltas, ends, usage, warnings;
};

struct fx_sctx {
    struct llm__sstate *st;
    const struct llm__provider_ops *ops;
};

static inline int fx_frame(void *ud, const struct llm__frame *f)
{
    struct fx_sctx *c = ud;
    return c->ops->stream_event(c->st, f);
}

static inline void fx_drain(struct llm__sstate *st, struct fx_stream *out)
{
    /* The transcript's own allocations are not the code under test. */
    long armed = fx_fail_at;
    fx_fail_at = 0;
    const llm_event *ev;
    while (llm__sstate_pop(st, &ev)) {
        size_t n;
        const char *t = llm_event_text(ev, &n);
        int i = llm_event_tool_index(ev);
        switch (llm_event_type(ev)) {
        case LLM_EVENT_TEXT_DELTA:
            out->text++;
            llm__buf_printf(&out->log, "T(%.*s)", (int)n, t);
            break;
        case LLM_EVENT_REASONING_DELTA:
            out->reasoning++;
            llm__buf_printf(&out->log, "R(%.*s)", (int)n, t);
            break;
        case LLM_EVENT_TOOL_CALL_START:
            out->starts++;
            llm__buf_printf(&out->log, "S%d(%s,%s)", i, llm_event_tool_id(ev),
                            llm_event_tool_name(ev));
            break;
        case LLM_EVENT_TOOL_CALL_DELTA:
            out->deltas++;
            llm__buf_printf(&out->log, "D%d(%.*s)", i, (int)n, t);
            break;
        case LLM_EVENT_TOOL_CALL_END:
            out->ends++;
            llm__buf_printf(&out->log, "E%d", i);
            break;
        case LLM_EVENT_USAGE:
            out->usage++;
            llm__buf_puts(&out->log, "U");
            break;
        case LLM_EVENT_WARNING:
            out->warnings++;
            llm__buf_printf(&out->log, "W(%.*s)", (int)n, t);
            break;
        default:
            llm__buf_puts(&out->log, "?");
        }
    }
    fx_fail_at = armed;
}

/* Feed body to the adapter in pieces of `chunk` bytes (0: all at once)
 * through the SSE parser, pulling events as a caller would, then end the
 * stream as core does at EOF.  resp accumulates. */
static inline void fx_run_stream(const struct llm__provider_ops *ops, struct llm__call *call,
                                 const char *body, size_t len, size_t chunk, struct fx_stream *out)
{
    struct llm__sstate st;
    struct llm__sse *sse = NULL;
    memset(out, 0, sizeof *out);
    out->feed_rc = out->end_rc = llm__sstate_init(&st, call, call->resp);
    if (out->feed_rc) {
        llm__resp_fail(call->resp, out->feed_rc, "could not start the stream");
        return;
    }
    struct fx_sctx c = {&st, ops};
    if ((out->feed_rc = ops->stream_begin(&st)) ||
        (out->feed_rc = llm__sse_new(&sse, 16 << 20, fx_frame, &c))) {
        if (ops->stream_free)
            ops->stream_free(&st);
        llm__sstate_cleanup(&st);
        out->end_rc = out->feed_rc;
        if (call->resp->status == LLM_OK)
            llm__resp_fail(call->resp, out->feed_rc, "could not start the stream");
        return;
    }
    size_t step = chunk ? chunk : (len ? len : 1);
    for (size_t off = 0; off < len && !out->feed_rc; off += step) {
        size_t n = len - off < step ? len - off : step;
        out->feed_rc = llm__sse_feed(sse, body + off, n);
        fx_drain(&st, out);
    }
    if (!out->feed_rc)
        out->feed_rc = llm__sse_finish(sse);
    /* A failure of the parser itself (not the adapter's): core fails the
     * response with it. */
    if (out->feed_rc && call->resp->status == LLM_OK)
        llm__resp_fail(call->resp, out->feed_rc, "the SSE parser failed");
    fx_drain(&st, out);
    out->end_rc = out->feed_rc ? out->feed_rc
                               : (call->resp->status ? call->resp->status : ops->stream_end(&st));
    fx_drain(&st, out);
    ops->stream_free(&st);
    llm__sse_free(sse);
    llm__sstate_cleanup(&st);
}

static inline const char *fx_log(const struct fx_stream *s)
{
    return s->log.data ? s->log.data : "";
}

/* Run a recorded stream at several chunkings: every run must produce the
 * same transcript.  The last run's response is handed back in *resp_out
 * (fresh each run); the caller frees it and the transcript. */
static inline void fx_stream_case(const struct llm__provider_ops *ops, const char *prov,
                                  const char *kase, const char *model, int drop,
                                  llm_response **resp_out, struct fx_stream *out)
{
    static const size_t chunks[] = {1, 7, 0};
    struct fx_reply x;
    *resp_out = NULL;
    memset(out, 0, sizeof *out);
    if (fx_reply_load(&x, prov, kase, "response.stream")) {
        CHECK(0);
        return;
    }
    CHECK_INT(x.res.status, 200);
    char *first = NULL;
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        llm_response *r = fx_resp(ops->name, model);
        struct llm__call call;
        fx_call(&call, ops, NULL, r, model);
        call.streaming = 1;
        call.drop_unsupported = drop;
        struct fx_stream s;
        fx_run_stream(ops, &call, x.res.body, x.res.body_len, chunks[k], &s);
        if (!first) {
            first = strdup(fx_log(&s));
        } else if (strcmp(first, fx_log(&s)) != 0) {
            CHECK(!"the transcript depends on the chunking");
            printf("#   %s/%s chunk %zu:\n#   %s\n#   vs %s\n", prov, kase, chunks[k], first,
                   fx_log(&s));
        }
        if (k + 1 < sizeof chunks / sizeof chunks[0]) {
            llm__buf_free(&s.log);
            llm__response_destroy(r);
        } else {
            *out = s;
            *resp_out = r;
        }
    }
    free(first);
    fx_reply_free(&x);
}

/* The i-th tool call's arguments, or "". */
static inline const char *fx_args(const llm_response *r, size_t i)
{
    const char *a = llm_response_tool_call_arguments(r, i, NULL);
    return a ? a : "";
}

static inline int64_t fx_usage(const llm_response *r, int kind)
{
    int64_t v = -2;
    llm_response_usage(r, kind, &v);
    return v;
}

static inline int fx_has_warning(const llm_response *r, const char *needle)
{
    for (size_t i = 0; i < llm_response_warning_count(r); i++)
        if (strstr(llm_response_warning(r, i), needle))
            return 1;
    return 0;
}

/* jansson keeps its own allocator: jansson 2.14 crashes when an allocation
 * fails while it grows an object's hash table (hashtable_do_rehash frees
 * the old buckets first), and it reports other allocation failures as
 * syntax errors.  The failures injected here are libllm's own. */
static inline int fx_init(void)
{
    return llm_global_init_alloc(0, fx_malloc, fx_realloc, fx_free, NULL);
}

#endif
