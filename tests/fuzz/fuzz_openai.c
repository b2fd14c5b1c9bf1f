/*
 * fuzz_openai.c - libFuzzer target for the Chat Completions adapters
 * ("openai" and "azure", which share openai_common.c).
 *
 * The first input byte picks what the rest feeds:
 *   0  parse (a 200 chat.completion body)
 *   1  map_error (an error body; the second byte picks the HTTP status)
 *   2  a chat.completion.chunk SSE stream, through the SSE parser, in
 *      chunks whose size the second byte picks, then stream_end
 *   3  parse, then the reply as the next turn of a tool loop and a build;
 *      bits of the second byte pick drop-unsupported, a reasoning model,
 *      sampling parameters, a response schema and error-flagged results
 *   4  as 3, but the reply comes from the stream
 * Bit 0x80 of the second byte picks the azure adapter instead of openai.
 * Besides memory errors, it aborts when a failure carries no readable
 * text or a success has no finish reason.
 * Build: clang -fsanitize=fuzzer,address,undefined with the library
 * sources (tests/fuzz/run.sh); seeds in tests/fuzz/corpus/openai/.
 */
#include "internal.h"
#include "providers/provider.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL "gpt-4o-mini"

static const struct llm__provider_ops *ops;

static int on_frame(void *ud, const struct llm__frame *f)
{
    return ops->stream_event(ud, f);
}

static void setup(struct llm__call *call, llm_response **resp, const llm_request *req)
{
    *resp = llm__response_new();
    if (!*resp)
        abort();
    llm__resp_set_str(&(*resp)->provider, ops->name);
    llm__resp_set_str(&(*resp)->meta_model, MODEL);
    memset(call, 0, sizeof *call);
    call->ops = ops;
    call->provider = ops->name;
    call->req = req;
    call->model = MODEL;
    call->base_url = "https://res.openai.azure.com";
    call->api_key = "fuzz-key";
    call->default_max_tokens = 4096;
    call->resp = *resp;
}

/* A failure always says why; a success always has a finish reason. */
static void check(const llm_response *r)
{
    if (r->status != LLM_OK && (!r->errmsg.data || !*r->errmsg.data))
        abort();
    if (r->status == LLM_OK && r->finish == LLM_FINISH_NONE)
        abort();
    for (size_t i = 0; r->status == LLM_OK && i < r->ntools; i++)
        if (!llm_response_tool_call_name(r, i) || !*llm_response_tool_call_name(r, i))
            abort();
}

/* Returns the accumulated response (caller destroys). */
static llm_response *stream(const char *body, size_t len, size_t chunk)
{
    struct llm__call call;
    llm_response *resp;
    struct llm__sstate st;
    setup(&call, &resp, NULL);
    call.streaming = 1;
    if (llm__sstate_init(&st, &call, resp) == LLM_OK) {
        struct llm__sse *p = NULL;
        int rc = ops->stream_begin(&st);
        if (rc == LLM_OK)
            rc = llm__sse_new(&p, (size_t)1 << 20, on_frame, &st);
        for (size_t off = 0; rc == LLM_OK && off < len; off += chunk)
            rc = llm__sse_feed(p, body + off, len - off < chunk ? len - off : chunk);
        if (rc == LLM_OK)
            rc = llm__sse_finish(p);
        if (rc != LLM_OK && resp->status == LLM_OK)
            llm__resp_fail(resp, rc, "framing failed");
        if (resp->status == LLM_OK)
            ops->stream_end(&st);
        const llm_event *ev;
        while (llm__sstate_pop(&st, &ev))
            (void)llm_event_type(ev);
        llm__sse_free(p);
        ops->stream_free(&st);
        llm__sstate_cleanup(&st);
    }
    return resp;
}

static void replay(llm_response *resp, unsigned flags)
{
    if (resp->status != LLM_OK)
        return;
    llm_request *req = NULL;
    if (llm_request_new(&req) == LLM_OK && llm_request_add_text(req, LLM_ROLE_USER, "q") == LLM_OK &&
        llm_request_add_tool(req, "f", "d", NULL) == LLM_OK &&
        llm_request_add_response(req, resp) == LLM_OK) {
        for (size_t i = 0; i < llm_response_tool_call_count(resp); i++)
            llm_request_add_tool_result(req, llm_response_tool_call_id(resp, i), NULL, "r", 1,
                                        (flags & 0x40) ? LLM_TOOL_RESULT_ERROR : 0);
        if (flags & 0x08) {
            llm_request_set_temperature(req, 0.5);
            llm_request_set_top_k(req, 5);
            llm_request_set_max_tokens(req, 100);
        }
        if (flags & 0x10)
            llm_request_set_response_schema(req, "s", "{\"type\":\"object\",\"properties\":{}}");
        if (flags & 0x20)
            llm_request_set_parallel_tool_calls(req, 0);
        struct llm__call next;
        llm_response *out;
        struct llm__http_req http = {0};
        setup(&next, &out, req);
        next.drop_unsupported = (flags & 0x02) != 0;
        if (flags & 0x04)
            next.model = "o3-mini";
        if (llm__request_validate(req, out) == LLM_OK && ops->build(&next, &http) == LLM_OK) {
            /* What was built is JSON. */
            json_t *j = json_loadb(http.body.data, http.body.len, JSON_ALLOW_NUL, NULL);
            if (!json_is_object(j))
                abort();
            json_decref(j);
        }
        llm__http_req_free(&http);
        llm__response_destroy(out);
    }
    llm_request_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (llm_global_init(LLM_INIT_NO_ENV) != LLM_OK)
            abort();
        ready = 1;
    }
    if (size < 2)
        return 0;
    int mode = data[0] % 5;
    unsigned arg = data[1];
    ops = (arg & 0x80) ? &llm__azure_ops : &llm__openai_ops;
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    struct llm__call call;
    llm_response *resp;
    switch (mode) {
    case 0:
    case 3: {
        setup(&call, &resp, NULL);
        struct llm__http_res res = {200, NULL, 0, body, len};
        ops->parse(&call, &res, resp);
        check(resp);
        if (mode == 3)
            replay(resp, arg);
        llm__response_destroy(resp);
        break;
    }
    case 1: {
        static const int statuses[] = {400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502,
                                       503, 504};
        setup(&call, &resp, NULL);
        struct llm__http_res res = {statuses[(arg & 0x7f) % 14], NULL, 0, body, len};
        if (ops->map_error(&call, &res, resp) == LLM_OK)
            abort();
        check(resp);
        llm__response_destroy(resp);
        break;
    }
    case 2:
        resp = stream(body, len, (arg & 0x7f) ? (arg & 0x7f) : len ? len : 1);
        check(resp);
        llm__response_destroy(resp);
        break;
    default:
        resp = stream(body, len, len ? len : 1);
        check(resp);
        replay(resp, arg);
        llm__response_destroy(resp);
        break;
    }
    return 0;
}
