/*
 * fuzz_gemini.c - libFuzzer target for the Gemini adapter.
 *
 * The first input byte picks what the rest feeds:
 *   0  parse (a 200 generateContent body)
 *   1  map_error (an error body; the second byte picks the HTTP status)
 *   2  a streamGenerateContent?alt=sse body, through the SSE parser, in
 *      chunks whose size the second byte picks, then stream_end
 *   3  parse, then the reply as the next turn of a request (replay of
 *      signatures, ids and opaque parts) and a build; bits of the second
 *      byte pick a foreign model, drop-unsupported, streaming and
 *      parallel_tool_calls 0
 *   4  the JSON Schema converter
 * Build: clang -fsanitize=fuzzer,address,undefined with the library
 * sources (tests/fuzz/run.sh); seeds in tests/fuzz/corpus/gemini/.
 */
#include "internal.h"
#include "providers/provider.h"
#include "providers/gemini_schema.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_frame(void *ud, const struct llm__frame *f)
{
    return llm__gemini_ops.stream_event(ud, f);
}

static void setup(struct llm__call *call, llm_response **resp, const llm_request *req)
{
    *resp = llm__response_new();
    llm__resp_set_str(&(*resp)->provider, "gemini");
    llm__resp_set_str(&(*resp)->meta_model, "gemini-2.5-flash");
    memset(call, 0, sizeof *call);
    call->ops = &llm__gemini_ops;
    call->provider = "gemini";
    call->req = req;
    call->model = "gemini-2.5-flash";
    call->api_key = "fuzz-key";
    call->resp = *resp;
}

static void stream(const char *body, size_t len, size_t chunk)
{
    struct llm__call call;
    llm_response *resp;
    struct llm__sstate st;
    setup(&call, &resp, NULL);
    call.streaming = 1;
    if (llm__sstate_init(&st, &call, resp) == LLM_OK) {
        struct llm__sse *p = NULL;
        int rc = llm__gemini_ops.stream_begin(&st);
        if (rc == LLM_OK)
            rc = llm__sse_new(&p, (size_t)1 << 20, on_frame, &st);
        for (size_t off = 0; rc == LLM_OK && off < len; off += chunk)
            rc = llm__sse_feed(p, body + off, len - off < chunk ? len - off : chunk);
        if (rc == LLM_OK)
            rc = llm__sse_finish(p);
        if (rc == LLM_OK && resp->status == LLM_OK)
            llm__gemini_ops.stream_end(&st);
        const llm_event *ev;
        while (llm__sstate_pop(&st, &ev))
            (void)llm_event_type(ev);
        llm__sse_free(p);
        llm__gemini_ops.stream_free(&st);
        llm__sstate_cleanup(&st);
    }
    llm__response_destroy(resp);
}

static void replay(const char *body, size_t len, unsigned bits)
{
    struct llm__call call;
    llm_response *resp;
    setup(&call, &resp, NULL);
    struct llm__http_res res = {200, NULL, 0, body, len};
    if (llm__gemini_ops.parse(&call, &res, resp) == LLM_OK) {
        llm_request *req = NULL;
        if (llm_request_new(&req) == LLM_OK && llm_request_add_text(req, LLM_ROLE_USER, "q") == LLM_OK &&
            llm_request_add_tool(req, "f", NULL,
                                 "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}") == LLM_OK &&
            llm_request_add_response(req, resp) == LLM_OK) {
            for (size_t i = 0; i < llm_response_tool_call_count(resp); i++)
                llm_request_add_tool_result(req, llm_response_tool_call_id(resp, i), NULL, "{}", 2,
                                            LLM_TOOL_RESULT_JSON);
            struct llm__call next;
            llm_response *out;
            struct llm__http_req http = {0};
            setup(&next, &out, req);
            if (bits & 1)
                next.model = "gemini-2.5-pro";
            next.drop_unsupported = (bits >> 1) & 1;
            next.streaming = (bits >> 2) & 1;
            if (bits & 8)
                llm_request_set_parallel_tool_calls(req, 0);
            if (llm__request_validate(req, out) == LLM_OK)
                llm__gemini_ops.build(&next, &http);
            llm__http_req_free(&http);
            llm__response_destroy(out);
        }
        llm_request_free(req);
    }
    llm__response_destroy(resp);
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
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    struct llm__call call;
    llm_response *resp;
    switch (mode) {
    case 0: {
        setup(&call, &resp, NULL);
        struct llm__http_res res = {200, NULL, 0, body, len};
        llm__gemini_ops.parse(&call, &res, resp);
        llm__response_destroy(resp);
        break;
    }
    case 1: {
        static const int statuses[] = {400, 401, 403, 404, 429, 500, 503, 504, 200, 302};
        setup(&call, &resp, NULL);
        struct llm__http_res res = {statuses[arg % 10], NULL, 0, body, len};
        resp->retry_after_ms = (arg & 0x80) ? 1000 : -1;
        llm__gemini_ops.map_error(&call, &res, resp);
        llm__response_destroy(resp);
        break;
    }
    case 2:
        stream(body, len, arg ? arg : len ? len : 1);
        break;
    case 3:
        replay(body, len, arg);
        break;
    default: {
        json_t *out = NULL;
        llm__buf err = {0};
        llm__gemini_schema_convert_text(body, len, &out, &err);
        json_decref(out);
        llm__buf_free(&err);
        break;
    }
    }
    return 0;
}
