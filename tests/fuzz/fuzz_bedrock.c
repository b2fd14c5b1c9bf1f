/*
 * fuzz_bedrock.c - libFuzzer target for the Bedrock Converse adapter.
 *
 * The first input byte picks what the rest feeds:
 *   0  parse (a 200 Converse body)
 *   1  map_error (an error body); the second byte picks the HTTP status and
 *      the x-amzn-ErrorType header (or none)
 *   2  a ConverseStream body through the event-stream decoder, in chunks
 *      whose size the second byte picks, then stream_end
 *   3  parse, then the reply as the next turn of a tool loop (replay of
 *      reasoning, redacted reasoning and opaque blocks) and a signed build;
 *      bits of the second byte pick drop-unsupported, a foreign model,
 *      sampling parameters, a reasoning budget, a session token, a bearer
 *      token and streaming
 *   4  as 3, but the reply comes from the stream
 *   5  frames handed to stream_event directly, past the CRCs a mutator
 *      rarely gets right: each line is "<event-type> <payload>", the
 *      second byte's low bits pick message types ("event", "exception",
 *      "error", none)
 * Build: clang -fsanitize=fuzzer,address,undefined with the library
 * sources (tests/fuzz/run.sh); seeds in tests/fuzz/corpus/bedrock/.
 */
#include "internal.h"
#include "providers/provider.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL "anthropic.claude-3-5-sonnet-20240620-v1:0"

static const struct llm__provider_ops *ops = &llm__bedrock_ops;

static int on_frame(void *ud, const struct llm__frame *f)
{
    return ops->stream_event(ud, f);
}

static void setup(struct llm__call *call, llm_response **resp, const llm_request *req)
{
    *resp = llm__response_new();
    llm__resp_set_str(&(*resp)->provider, "bedrock");
    llm__resp_set_str(&(*resp)->meta_model, MODEL);
    memset(call, 0, sizeof *call);
    call->ops = ops;
    call->provider = "bedrock";
    call->req = req;
    call->model = MODEL;
    call->region = "us-east-1";
    call->aws_access_key_id = "AKIDEXAMPLE";
    call->aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    call->now_ms = 1718452800000LL;
    call->default_max_tokens = 4096;
    call->resp = *resp;
}

static void drain(struct llm__sstate *st)
{
    const llm_event *ev;
    while (llm__sstate_pop(st, &ev))
        (void)llm_event_type(ev);
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
        struct llm__evs *p = NULL;
        int rc = ops->stream_begin(&st);
        if (rc == LLM_OK)
            rc = llm__evs_new(&p, (size_t)1 << 20, on_frame, &st);
        for (size_t off = 0; rc == LLM_OK && off < len; off += chunk)
            rc = llm__evs_feed(p, body + off, len - off < chunk ? len - off : chunk);
        if (rc == LLM_OK)
            rc = llm__evs_finish(p);
        if (rc == LLM_OK && resp->status == LLM_OK)
            ops->stream_end(&st);
        drain(&st);
        llm__evs_free(p);
        ops->stream_free(&st);
        llm__sstate_cleanup(&st);
    }
    return resp;
}

/* Frames straight to stream_event, one per line. */
static llm_response *frames(const char *body, size_t len, unsigned arg)
{
    static const char *const mtypes[] = {"event", "exception", "error", NULL};
    struct llm__call call;
    llm_response *resp;
    struct llm__sstate st;
    setup(&call, &resp, NULL);
    call.streaming = 1;
    if (llm__sstate_init(&st, &call, resp) != LLM_OK)
        return resp;
    int rc = ops->stream_begin(&st);
    llm__buf type = {0}, payload = {0};
    unsigned pick = arg;
    for (size_t i = 0; rc == LLM_OK && i < len;) {
        size_t e = i;
        while (e < len && body[e] != '\n')
            e++;
        size_t sp = i;
        while (sp < e && body[sp] != ' ')
            sp++;
        llm__buf_reset(&type);
        llm__buf_reset(&payload);
        if (llm__buf_append(&type, body + i, sp - i) ||
            llm__buf_append(&payload, sp < e ? body + sp + 1 : "", sp < e ? e - sp - 1 : 0))
            break;
        struct llm__frame f;
        memset(&f, 0, sizeof f);
        /* Mostly events, so that whole streams get through. */
        f.message_type = (pick & 7) < 5 ? "event" : mtypes[pick & 3];
        pick = pick >> 3 | (pick & 7) << 5;
        f.event = type.data ? type.data : "";
        f.event_len = type.len;
        f.data = payload.data ? payload.data : "";
        f.data_len = payload.len;
        f.error_code = type.data;
        f.error_message = payload.data;
        rc = ops->stream_event(&st, &f);
        drain(&st);
        i = e + 1;
    }
    if (rc == LLM_OK && resp->status == LLM_OK)
        ops->stream_end(&st);
    drain(&st);
    llm__buf_free(&type);
    llm__buf_free(&payload);
    ops->stream_free(&st);
    llm__sstate_cleanup(&st);
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
            llm_request_add_tool_result(req, llm_response_tool_call_id(resp, i), NULL, "{\"r\":1}", 7,
                                        (flags & 0x40) ? LLM_TOOL_RESULT_ERROR : LLM_TOOL_RESULT_JSON);
        if (flags & 0x08) {
            llm_request_set_temperature(req, 0.5);
            llm_request_set_top_k(req, 5);
            llm_request_set_tool_choice(req, LLM_TOOL_CHOICE_NONE, NULL);
        }
        if (flags & 0x10)
            llm_request_set_reasoning_budget(req, 2048);
        struct llm__call next;
        llm_response *out;
        struct llm__http_req http = {0};
        setup(&next, &out, req);
        next.drop_unsupported = (flags & 0x02) != 0;
        if (flags & 0x04)
            next.model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        if (flags & 0x20)
            next.aws_session_token = "FQoGZXIvYXdzEXAMPLETOKEN";
        if (flags & 0x80)
            next.bearer_token = "bedrock-api-key";
        next.streaming = flags & 0x01;
        if (llm__request_validate(req, out) == LLM_OK)
            ops->build(&next, &http);
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
    int mode = data[0] % 6;
    unsigned arg = data[1];
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
        if (mode == 3)
            replay(resp, arg);
        llm__response_destroy(resp);
        break;
    }
    case 1: {
        static const int statuses[] = {400, 401, 403, 404, 408, 424, 429, 500, 503, 200};
        static const char *const types[] = {
            NULL, "", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "ThrottlingException", "a#b#ModelNotReadyException:x", "#:", "AccessDeniedException",
            "ServiceQuotaExceededException",
        };
        setup(&call, &resp, NULL);
        const char *t = types[(arg >> 4) % 8];
        struct llm__header h = {"x-amzn-ErrorType", (char *)t};
        struct llm__http_res res = {statuses[arg % 10], &h, t ? 1 : 0, body, len};
        ops->map_error(&call, &res, resp);
        llm__response_destroy(resp);
        break;
    }
    case 2:
        llm__response_destroy(stream(body, len, arg ? arg : len ? len : 1));
        break;
    case 4:
        resp = stream(body, len, len ? len : 1);
        replay(resp, arg);
        llm__response_destroy(resp);
        break;
    default:
        resp = frames(body, len, arg);
        replay(resp, arg);
        llm__response_destroy(resp);
        break;
    }
    return 0;
}
