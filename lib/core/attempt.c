/*
 * attempt.c - the attempt loop: building and starting each HTTP attempt,
 * reading its outcome, and the decisions around it (retry with backoff,
 * retry budget, circuit breaker, fallback, deadline), then cost, cache and
 * observers (DESIGN.md 2, 5.3, 5.4, 5.6).
 */
#include "core/call.h"
#include "transport/framing.h"

#include <stdio.h>

/* ---- helpers ----------------------------------------------------------- */

static int nomem(llm_stream *s)
{
    return llm__resp_fail(s->resp, LLM_ERR_NOMEM, "out of memory");
}

static const char *call_model(const llm_stream *s)
{
    /* The request's model overrides the primary client's only; fallback
     * clients answer with their own model (DESIGN.md 5.1). */
    if (s->cur == s->client && s->req->model)
        return s->req->model;
    return s->cur->model;
}

static void fill_attempt(llm_stream *s, struct llm_attempt *a)
{
    memset(a, 0, sizeof *a);
    llm_response *r = s->resp;
    a->provider = s->cur->provider;
    a->model = r && r->model ? r->model : call_model(s);
    a->user = s->user;
    a->number = s->attempt_no;
    a->status = r ? r->status : LLM_OK;
    a->http_status = r ? r->http_status : 0;
    a->error_type = r ? r->error_type : NULL;
    a->request_id = r ? r->request_id : NULL;
    a->retryable = r ? r->retryable : 0;
    a->retry_after_ms = r ? r->retry_after_ms : -1;
    a->cache_hit = r ? r->cache_hit : 0;
    a->streaming = s->streaming;
    a->latency_ms = s->attempt_start ? llm__now_ms() - s->attempt_start : 0;
    int64_t ft = s->st.q ? llm__sstate_first_token_ms(&s->st) : 0;
    a->ttft_ms = ft ? ft - s->attempt_start : -1;
    a->input_estimate = -1;
    a->max_cost_nanos = -1;
    a->usage = r ? &r->usage : NULL;
    a->cost_known = r ? r->cost_known : 0;
    a->cost_nanos = r ? r->cost_nanos : 0;
}

static int64_t input_estimate(const llm_request *req)
{
    /* About four bytes of text per token: an estimate for admission, which
     * settles against the real count after the call. */
    size_t bytes = 0;
    for (size_t i = 0; i < req->nmsgs; i++)
        for (size_t k = 0; k < req->msgs[i].nparts; k++)
            bytes += req->msgs[i].parts[k].text_len + req->msgs[i].parts[k].data_len / 8;
    for (size_t t = 0; t < req->ntools; t++)
        bytes += (req->tools[t].schema ? strlen(req->tools[t].schema) : 0) +
                 strlen(req->tools[t].name);
    return (int64_t)(bytes / 4 + 1);
}

/* ---- cache ------------------------------------------------------------- */

static int cache_scope(llm_stream *s, char *scope, size_t n)
{
    llm_client *c = s->client;
    if (c->cache_namespace) {
        snprintf(scope, n, "ns:%s", c->cache_namespace);
        return LLM_OK;
    }
    if (c->hooks && llm__hooks_has_credentials(c->hooks))
        return LLM_ERR_MISUSE;
    const char *cred = c->api_key ? c->api_key
                     : c->bearer_token ? c->bearer_token
                     : c->aws_access_key_id;
    char fp[22];
    if (llm__credential_fingerprint(cred ? cred : "", fp) != LLM_OK)
        return LLM_ERR_NOMEM;
    snprintf(scope, n, "%s", fp);
    return LLM_OK;
}

static int cache_key(llm_stream *s)
{
    char scope[300];
    int rc = cache_scope(s, scope, sizeof scope);
    if (rc == LLM_ERR_MISUSE)
        return llm__resp_fail(s->resp, LLM_ERR_MISUSE,
                              "caching with a credentials hook needs a cache namespace "
                              "(llm_client_set_cache_namespace): entries would otherwise be "
                              "shared across tenants");
    if (rc)
        return nomem(s);
    struct llm__cache_key_input in = {
        .provider = s->client->provider,
        .base_url = s->client->base_url,
        .api_version = s->client->api_version,
        .model = call_model(s),
        .scope = scope,
        .req = s->req,
        .headers = s->client->headers,
        .nheaders = s->client->nheaders,
    };
    llm__buf canon = {0};
    rc = llm__cache_key(&in, &canon, s->cache_key);
    llm__buf_free(&canon);
    if (rc)
        return nomem(s);
    s->cache_key_set = 1;
    return LLM_OK;
}

/* A streamed hit replays the stored response as one delta per part. */
static int replay(llm_stream *s)
{
    llm_response *cached = s->resp;
    llm_response *r = llm__response_new();
    if (!r)
        return LLM_ERR_NOMEM;
    int rc = llm__sstate_init(&s->st, &s->call, r);
    for (size_t i = 0; rc == LLM_OK && i < cached->msg.nparts; i++) {
        const struct llm__part *p = &cached->msg.parts[i];
        struct llm__part *np = NULL;
        size_t idx;
        switch (p->type) {
        case LLM__PART_TEXT:
            rc = llm__emit_text(&s->st, p->text, p->text_len);
            np = llm__resp_last_part(r);
            break;
        case LLM__PART_REASONING:
            rc = llm__emit_reasoning(&s->st, p->text, p->text_len);
            np = llm__resp_last_part(r);
            break;
        case LLM__PART_TOOL_CALL:
            rc = llm__emit_tool_start(&s->st, p->id, p->name, &idx);
            if (!rc)
                rc = llm__emit_tool_delta(&s->st, idx, p->text, p->text_len);
            if (!rc)
                rc = llm__emit_tool_end(&s->st, idx);
            np = llm__resp_tool_part(r, idx);
            break;
        default:
            if (llm__message_add_part(&r->msg, &np) == LLM_OK)
                rc = llm__part_copy(np, p);
            else
                rc = LLM_ERR_NOMEM;
            np = NULL;
            break;
        }
        if (rc == LLM_OK && np && p->meta.json) {
            llm__meta_free(&np->meta);
            struct llm__part tmp;
            rc = llm__part_copy(&tmp, p);
            if (rc == LLM_OK) {
                np->meta = tmp.meta;
                memset(&tmp.meta, 0, sizeof tmp.meta);
            }
            llm__part_free(&tmp);
        }
    }
    if (rc == LLM_OK) {
        r->usage = cached->usage;
        r->finish = cached->finish;
        rc = llm__resp_set_str(&r->finish_raw, cached->finish_raw) ||
             llm__resp_set_str(&r->id, cached->id) || llm__resp_set_str(&r->model, cached->model) ||
             llm__resp_set_str(&r->usage_raw, cached->usage_raw) || llm__emit_usage(&s->st);
    }
    if (rc) {
        llm__response_destroy(r);
        return LLM_ERR_NOMEM;
    }
    llm__response_destroy(cached);
    s->resp = r;
    return LLM_OK;
}

static int cache_lookup(llm_stream *s)
{
    llm__buf val = {0};
    int rc = llm__hooks_cache_get(s->client->hooks, s->cache_key, 64, &val);
    if (rc == LLM_ERR_CALLBACK) {
        llm__client_count(s->client, LLM_TOTAL_CACHE_ERRORS, 1);
        llm__hooks_log(s->client->hooks, LLM_LOG_WARN, "cache get failed; going on without it");
    }
    if (rc != LLM_OK) {
        llm__buf_free(&val);
        return 0;
    }
    rc = llm__response_deserialize(s->resp, val.data, val.len);
    llm__buf_free(&val);
    if (rc != LLM_OK) {
        /* A corrupt or foreign entry is a miss, not a failed call. */
        llm__client_count(s->client, LLM_TOTAL_CACHE_ERRORS, 1);
        llm__response_destroy(s->resp);
        s->resp = llm__response_new();
        return 0;
    }
    if (s->streaming && replay(s) != LLM_OK)
        return -1;
    s->resp->cache_hit = 1;
    s->resp->cost_known = 1;
    s->resp->cost_nanos = 0;
    return 1;
}

static void cache_store(llm_stream *s)
{
    if (!s->cache_key_set || s->cache_mode == LLM_CACHE_BYPASS)
        return;
    llm__buf val = {0};
    if (llm__response_serialize(s->resp, &val) == LLM_OK &&
        llm__hooks_cache_put(s->client->hooks, s->cache_key, 64, val.data, val.len) == LLM_ERR_CALLBACK) {
        llm__client_count(s->client, LLM_TOTAL_CACHE_ERRORS, 1);
        llm__hooks_log(s->client->hooks, LLM_LOG_WARN, "cache put failed; going on without it");
    }
    llm__buf_free(&val);
}

/* ---- the start of a call ---------------------------------------------- */

int llm__call_begin(llm_stream *s)
{
    llm_client *c = s->client;
    s->call_start = llm__now_ms();
    if (s->deadline_at)
        s->deadline_at += s->call_start;
    s->resp = llm__response_new();
    if (!s->resp)
        return LLM_ERR_NOMEM;
    s->resp->owned_by_stream = 1;
    int rc = llm__request_validate(s->req, s->resp);
    if (rc) {
        llm__call_finish(s, rc);
        return rc;
    }
    llm_hooks *h = c->hooks;
    if (h) {
        struct llm_attempt a;
        fill_attempt(s, &a);
        a.number = 0;
        a.input_estimate = input_estimate(s->req);
        int64_t max_out = s->req->has_max_tokens ? s->req->max_tokens : c->default_max_tokens;
        int64_t worst;
        if (llm__prices_max_cost(c->prices, call_model(s), a.input_estimate, max_out, &worst) == LLM_OK)
            a.max_cost_nanos = worst;
        int32_t deny = 0;
        rc = llm__hooks_admit(h, &a, &deny, &s->admit_ticket);
        llm__attempt_clear(&a);
        if (rc == LLM_ERR_DENIED) {
            s->resp->deny_code = deny;
            llm__resp_fail(s->resp, rc, "the call was denied by an admission hook (code %d)", (int)deny);
            llm__call_finish(s, rc);
            return rc;
        }
        if (rc) {
            llm__resp_fail(s->resp, LLM_ERR_CALLBACK, "the admission hook failed");
            llm__call_finish(s, LLM_ERR_CALLBACK);
            return LLM_ERR_CALLBACK;
        }
        if (llm__hooks_has_cache(h) && s->cache_mode != LLM_CACHE_BYPASS) {
            if ((rc = cache_key(s))) {
                llm__call_finish(s, rc);
                return rc;
            }
            if (s->cache_mode == LLM_CACHE_USE) {
                int hit = cache_lookup(s);
                if (hit < 0) {
                    nomem(s);
                    llm__call_finish(s, LLM_ERR_NOMEM);
                    return LLM_ERR_NOMEM;
                }
                if (hit) {
                    llm__resp_set_str(&s->resp->provider, c->provider);
                    s->resp->owned_by_stream = 1;
                    llm__client_count(c, LLM_TOTAL_CACHE_HITS, 1);
                    llm__call_finish(s, LLM_OK);
                    return LLM_OK;
                }
            }
        }
    }
    s->phase = LLM__PH_START;
    return LLM_OK;
}

/* ---- one attempt ------------------------------------------------------- */

static int frame_cb(void *ud, const struct llm__frame *f)
{
    llm_stream *s = ud;
    return s->call.ops->stream_event(&s->st, f);
}

static int on_body(void *ud, const char *p, size_t n)
{
    llm_stream *s = ud;
    if (!s->body_mode) {
        int ok = s->xfer.status >= 200 && s->xfer.status < 300;
        s->body_mode = ok && s->streaming ? 1 : 2;
    }
    if (s->body_mode == 1) {
        int rc = s->sse ? llm__sse_feed(s->sse, p, n) : llm__evs_feed(s->evs, p, n);
        if (rc && s->resp->status == LLM_OK) {
            const char *why = s->sse ? llm__sse_errmsg(s->sse) : llm__evs_errmsg(s->evs);
            if (rc == LLM_ERR_TOO_LARGE)
                llm__resp_fail(s->resp, rc, "a stream event exceeds the %lld-byte limit",
                               (long long)s->cur->max_event_bytes);
            else
                llm__resp_fail(s->resp, rc, "%s", why && *why ? why : llm_status_str(rc));
        }
        return rc;
    }
    if ((int64_t)(s->body.len + n) > s->cur->max_response_bytes) {
        llm__resp_fail(s->resp, LLM_ERR_TOO_LARGE, "the response body exceeds the %lld-byte limit",
                       (long long)s->cur->max_response_bytes);
        return LLM_ERR_TOO_LARGE;
    }
    return llm__buf_append(&s->body, p, n);
}

static void attempt_cleanup(llm_stream *s)
{
    if (s->xfer_live) {
        CURLM *m = s->multi ? s->multi->cm : s->conn->multi;
        curl_multi_remove_handle(m, s->xfer.easy);
        s->xfer_live = 0;
    }
    llm__xfer_cleanup(&s->xfer);
    llm__http_req_free(&s->http);
    if (s->call.ops && s->call.ops->stream_free && s->st.q)
        s->call.ops->stream_free(&s->st);
    llm__sse_free(s->sse);
    llm__evs_free(s->evs);
    s->sse = NULL;
    s->evs = NULL;
    llm__buf_free(&s->body);
    s->body_mode = 0;
    llm__creds_clear(&s->creds);
}

static int add_std_headers(llm_stream *s)
{
    struct llm__http_req *h = &s->http;
    if (!llm__http_req_get(h, "Content-Type") &&
        llm__http_req_header(h, "Content-Type", "application/json"))
        return LLM_ERR_NOMEM;
    if (!llm__http_req_get(h, "Accept") &&
        llm__http_req_header(h, "Accept", s->streaming ? (s->call.ops->framing == LLM__FRAMING_EVENTSTREAM
                                                              ? "application/vnd.amazon.eventstream"
                                                              : "text/event-stream")
                                                        : "application/json"))
        return LLM_ERR_NOMEM;
    for (size_t i = 0; i < s->cur->nheaders; i++)
        if (llm__http_req_header(h, s->cur->headers[i].name, s->cur->headers[i].value))
            return LLM_ERR_NOMEM;
    return LLM_OK;
}

static int fill_call(llm_stream *s)
{
    llm_client *c = s->cur;
    struct llm__call *k = &s->call;
    memset(k, 0, sizeof *k);
    k->ops = c->ops;
    k->provider = c->provider;
    k->req = s->req;
    k->streaming = s->streaming;
    k->base_url = c->base_url;
    k->model = call_model(s);
    k->api_key = c->api_key;
    k->bearer_token = c->bearer_token;
    k->api_version = c->api_version;
    k->organization = c->organization;
    k->project = c->project;
    k->region = c->region;
    k->aws_access_key_id = c->aws_access_key_id;
    k->aws_secret_access_key = c->aws_secret_access_key;
    k->aws_session_token = c->aws_session_token;
    k->drop_unsupported = c->drop_unsupported;
    k->default_max_tokens = c->default_max_tokens;
    k->max_tokens_field = c->max_tokens_field;
    k->now_ms = llm__wall_ms();
    k->resp = s->resp;
    if (c->hooks && llm__hooks_has_credentials(c->hooks)) {
        struct llm_attempt a;
        fill_attempt(s, &a);
        int rc = llm__hooks_credentials(c->hooks, &a, &s->creds);
        llm__attempt_clear(&a);
        if (rc)
            return llm__resp_fail(s->resp, LLM_ERR_CALLBACK, "the credentials hook failed");
        /* The hook's credential replaces the static ones for this attempt only. */
        if (s->creds.api_key || s->creds.bearer_token || s->creds.aws_access_key_id) {
            k->api_key = s->creds.api_key;
            k->bearer_token = s->creds.bearer_token;
            k->aws_access_key_id = s->creds.aws_access_key_id;
            k->aws_secret_access_key = s->creds.aws_secret_access_key;
            k->aws_session_token = s->creds.aws_session_token;
        }
    }
    return LLM_OK;
}

void llm__attempt_start(llm_stream *s)
{
    int64_t now = llm__now_ms();
    if (llm__call_cancelled(s)) {
        llm__resp_fail(s->resp, LLM_ERR_CANCELLED, "the call was cancelled");
        llm__call_finish(s, LLM_ERR_CANCELLED);
        return;
    }
    if (s->deadline_at && now >= s->deadline_at) {
        s->resp->timeout_kind = LLM_TIMEOUT_DEADLINE;
        llm__resp_fail(s->resp, LLM_ERR_TIMEOUT, "the call's deadline passed");
        llm__call_finish(s, LLM_ERR_TIMEOUT);
        return;
    }
    /* An open breaker sends the call to the fallback, or fails it. */
    while (!llm__breaker_allow(&s->cur->breaker, now)) {
        if (!s->cur->fallback) {
            llm__resp_fail(s->resp, LLM_ERR_CIRCUIT_OPEN,
                           "the circuit breaker of provider %s is open", s->cur->provider);
            llm__call_finish(s, LLM_ERR_CIRCUIT_OPEN);
            return;
        }
        llm_client *next = s->cur->fallback;
        llm__client_retain(next);
        llm__client_release(s->cur);
        s->cur = next;
        s->retries_here = 0;
    }
    /* A fresh response per attempt; what the caller keeps is the last one. */
    llm_response *r = llm__response_new();
    if (!r) {
        llm__resp_fail(s->resp, LLM_ERR_NOMEM, "out of memory");
        llm__call_finish(s, LLM_ERR_NOMEM);
        return;
    }
    llm__response_destroy(s->resp);
    s->resp = r;
    r->owned_by_stream = 1;
    s->attempt_no++;
    s->attempt_start = now;
    s->timeout_kind = 0;
    llm__client_count(s->cur, LLM_TOTAL_ATTEMPTS, 1);
    if (llm__resp_set_str(&r->provider, s->cur->provider) ||
        llm__resp_set_str(&r->meta_model, call_model(s))) {
        nomem(s);
        llm__call_finish(s, LLM_ERR_NOMEM);
        return;
    }
    int rc = fill_call(s);
    if (!rc)
        rc = s->cur->ops->build(&s->call, &s->http);
    if (!rc && (rc = add_std_headers(s)))
        nomem(s);
    if (rc) {
        if (r->status == LLM_OK)
            llm__resp_fail(r, rc, "could not build the request: %s", llm_status_str(rc));
        llm__creds_clear(&s->creds);
        llm__http_req_free(&s->http);
        llm__call_finish(s, r->status);
        return;
    }
    llm__creds_clear(&s->creds);
    if (s->streaming) {
        /* Events of a failed attempt were never delivered: drop them. */
        llm__sstate_cleanup(&s->st);
        rc = llm__sstate_init(&s->st, &s->call, r);
        if (!rc) {
            llm__sstate_set_limit(&s->st, (size_t)s->cur->max_response_bytes);
            if (s->call.ops->framing == LLM__FRAMING_EVENTSTREAM)
                rc = llm__evs_new(&s->evs, (size_t)s->cur->max_event_bytes, frame_cb, s);
            else
                rc = llm__sse_new(&s->sse, (size_t)s->cur->max_event_bytes, frame_cb, s);
        }
        if (!rc && s->call.ops->stream_begin)
            rc = s->call.ops->stream_begin(&s->st);
        if (rc) {
            if (r->status == LLM_OK)
                nomem(s);
            attempt_cleanup(s);
            llm__call_finish(s, r->status);
            return;
        }
    }
    CURL *easy;
    CURLM *m;
    if (s->multi) {
        if (!s->easy)
            s->easy = llm__easy_new(s->client);
        easy = s->easy;
        m = s->multi->cm;
    } else {
        if (!s->conn) {
            s->conn = llm__conn_take(s->client);
            pthread_mutex_lock(&s->wake_lock);
            s->wake = s->conn ? s->conn->multi : NULL;
            pthread_mutex_unlock(&s->wake_lock);
        }
        easy = s->conn ? s->conn->easy : NULL;
        m = s->conn ? s->conn->multi : NULL;
    }
    struct llm__xfer_opts o = {
        .connect_ms = s->cur->timeouts[LLM_TIMEOUT_CONNECT],
        .verify_tls = s->cur->verify_tls,
        .ca_file = s->cur->ca_file,
        .on_body = on_body,
        .ud = s,
        .private_ptr = s,
    };
    if (!easy || llm__xfer_setup(&s->xfer, easy, &s->http, &o) != LLM_OK ||
        curl_multi_add_handle(m, easy) != CURLM_OK) {
        nomem(s);
        attempt_cleanup(s);
        llm__call_finish(s, LLM_ERR_NOMEM);
        return;
    }
    s->xfer_live = 1;
    s->phase = LLM__PH_RUNNING;
    llm__hooks_log(s->cur->hooks, LLM_LOG_DEBUG, "attempt %d: POST %s", (int)s->attempt_no,
                   s->http.url.data);
}

/* ---- outcome of an attempt --------------------------------------------- */

static void take_headers(llm_stream *s)
{
    llm_response *r = s->resp;
    r->http_status = s->xfer.status;
    r->headers = s->xfer.headers;
    r->nheaders = s->xfer.nheaders;
    s->xfer.headers = NULL;
    s->xfer.nheaders = s->xfer.cap = 0;
    static const char *const ids[] = {"x-request-id", "request-id", "x-amzn-requestid",
                                      "apim-request-id", "x-goog-request-id"};
    for (size_t i = 0; !r->request_id && i < LLM__ARRAY_LEN(ids); i++) {
        const char *v = llm_response_header(r, ids[i], NULL);
        if (v)
            llm__resp_set_str(&r->request_id, v);
    }
}

static void error_reply(llm_stream *s, const struct llm__http_res *res)
{
    llm_response *r = s->resp;
    r->retry_after_ms = llm__retry_after_ms(llm__http_res_header(res, "retry-after-ms"),
                                            llm__http_res_header(res, "retry-after"),
                                            llm__wall_ms());
    r->retryable = llm__http_retryable(res->status);
    int rc = s->call.ops->map_error(&s->call, res, r);
    if (rc == LLM_OK || r->status == LLM_OK) {
        int st = llm__status_from_http(res->status);
        llm__resp_fail(r, st, "HTTP %d from %s", res->status, s->cur->provider);
    }
    /* The server's explicit verdict overrides every inference. */
    const char *sr = llm__http_res_header(res, "x-should-retry");
    if (sr && strcmp(sr, "true") == 0)
        r->retryable = 1;
    else if (sr && strcmp(sr, "false") == 0)
        r->retryable = 0;
    llm__buf_append(&r->raw, s->body.data ? s->body.data : "", s->body.len);
}

void llm__attempt_done(llm_stream *s, CURLcode rc)
{
    llm_response *r = s->resp;
    if (s->xfer_live) {
        CURLM *m = s->multi ? s->multi->cm : s->conn->multi;
        curl_multi_remove_handle(m, s->xfer.easy);
        s->xfer_live = 0;
    }
    take_headers(s);
    struct llm__http_res res = {
        .status = r->http_status,
        .headers = r->headers,
        .nheaders = r->nheaders,
        .body = s->body.data ? s->body.data : "",
        .body_len = s->body.len,
    };
    int status;
    if (s->xfer.abort_status) {
        /* We stopped the transfer: a limit, an adapter error, a timer. */
        status = s->xfer.abort_status;
        if (r->status == LLM_OK)
            llm__resp_fail(r, status, "%s", llm_status_str(status));
        status = r->status;
        if (s->body_mode == 1 && r->mid_stream && llm_status_retryable(status))
            r->retryable = 1;
    } else if (rc != CURLE_OK) {
        llm__buf why = {0};
        status = llm__xfer_status(&s->xfer, rc, &why);
        if (status == LLM_ERR_TIMEOUT)
            r->timeout_kind = LLM_TIMEOUT_CONNECT;
        llm__resp_fail(r, status, "%s", why.data ? why.data : llm_status_str(status));
        llm__buf_free(&why);
        r->retryable = status == LLM_ERR_NETWORK || status == LLM_ERR_TIMEOUT;
        /* A body cut short in a 2xx stream is the same network failure. */
    } else if (r->http_status < 200 || r->http_status >= 300) {
        error_reply(s, &res);
        status = r->status;
    } else if (s->streaming) {
        int frc = s->sse ? llm__sse_finish(s->sse) : llm__evs_finish(s->evs);
        if (frc && r->status == LLM_OK) {
            const char *why = s->sse ? llm__sse_errmsg(s->sse) : llm__evs_errmsg(s->evs);
            llm__resp_fail(r, frc == LLM_ERR_PROTOCOL ? LLM_ERR_NETWORK : frc, "%s",
                           why && *why ? why : "the stream ended inside a frame");
        }
        if (r->status == LLM_OK)
            s->call.ops->stream_end(&s->st);
        status = r->status;
        if (status == LLM_ERR_NETWORK)
            r->retryable = 1;
    } else {
        int prc = s->call.ops->parse(&s->call, &res, r);
        if (prc && r->status == LLM_OK)
            llm__resp_fail(r, prc, "could not read the reply");
        status = r->status;
        if (status == LLM_OK && r->raw.len == 0 && s->body.data) {
            /* The body becomes the raw reply as it is, without a copy. */
            llm__buf_free(&r->raw);
            r->raw = s->body;
            memset(&s->body, 0, sizeof s->body);
        } else if (status == LLM_OK) {
            llm__buf_append(&r->raw, res.body, res.body_len);
        }
    }
    if (s->timeout_kind)
        r->timeout_kind = s->timeout_kind;
    llm__redact(s->cur, &r->raw);
    llm__redact(s->cur, &r->errmsg);
    llm__redact_str(s->cur, &r->error_message);

    /* Tear the attempt down but keep its events queued for the caller. */
    if (s->call.ops->stream_free && s->st.q)
        s->call.ops->stream_free(&s->st);
    s->st.adapter = NULL;
    llm__xfer_cleanup(&s->xfer);
    llm__http_req_free(&s->http);
    llm__sse_free(s->sse);
    llm__evs_free(s->evs);
    s->sse = NULL;
    s->evs = NULL;
    llm__buf_free(&s->body);
    s->body_mode = 0;

    if (status == LLM_OK) {
        llm__resp_fix_finish(r);
        int64_t cost;
        const char *model = r->model ? r->model : call_model(s);
        if (llm__prices_cost(s->cur->prices, model, &r->usage, &cost) == LLM_OK ||
            (r->model && llm__prices_cost(s->cur->prices, call_model(s), &r->usage, &cost) == LLM_OK)) {
            r->cost_known = 1;
            r->cost_nanos = cost;
        }
    }
    r->attempts = s->attempt_no;

    struct llm_attempt a;
    fill_attempt(s, &a);
    llm__hooks_observe(s->cur->hooks, &a);
    llm__attempt_clear(&a);

    if (status == LLM_OK) {
        llm__breaker_record(&s->cur->breaker, 1, llm__now_ms());
        llm__retry_budget_refund(&s->cur->budget);
        llm__call_finish(s, LLM_OK);
        return;
    }
    if (r->retryable)
        llm__breaker_record(&s->cur->breaker, 0, llm__now_ms());
    else
        llm__breaker_record(&s->cur->breaker, 1, llm__now_ms());

    /* Decide what comes next.  A cancel stops the retry this failure would
     * have had, so the call ends cancelled; its last failure stays readable
     * (HTTP status, provider error) on the response. */
    if (r->retryable && !s->delivered && llm__call_cancelled(s)) {
        /* resp_fail formats before it replaces errmsg: reading it is safe. */
        llm__resp_fail(r, LLM_ERR_CANCELLED, "the call was cancelled (the last attempt: %s)",
                       r->errmsg.len ? r->errmsg.data : llm_status_str(status));
        llm__call_finish(s, LLM_ERR_CANCELLED);
        return;
    }
    if (!r->retryable || s->delivered || llm__call_cancelled(s)) {
        llm__call_finish(s, status);
        return;
    }
    int32_t max = s->max_retries >= 0 ? s->max_retries : s->cur->max_retries;
    if (s->retries_here < max) {
        int retry = 0;
        int64_t delay = 0;
        fill_attempt(s, &a);
        int hrc = llm__hooks_retry(s->cur->hooks, &a, &retry, &delay);
        llm__attempt_clear(&a);
        if (hrc) {
            llm__resp_fail(r, LLM_ERR_CALLBACK, "the retry hook failed");
            llm__call_finish(s, LLM_ERR_CALLBACK);
            return;
        }
        if (retry && !llm__retry_budget_take(&s->cur->budget, status == LLM_ERR_TIMEOUT)) {
            llm__buf_printf(&r->errmsg, " (no retry: the client's retry budget is exhausted)");
            r->status = LLM_ERR_RETRY_BUDGET;
            llm__call_finish(s, LLM_ERR_RETRY_BUDGET);
            return;
        }
        if (!retry && r->retry_after_ms > LLM__RETRY_AFTER_CAP_MS) {
            /* Too long to wait for in a call: say when it may succeed. */
            r->retry_at_ms = llm__wall_ms() + r->retry_after_ms;
        }
        if (retry) {
            if (delay < 0)
                delay = 0;
            int64_t now = llm__now_ms();
            if (s->deadline_at && now + delay >= s->deadline_at) {
                llm__buf_printf(&r->errmsg, " (no retry: the deadline passes before %lld ms)",
                                (long long)delay);
                llm__call_finish(s, status);
                return;
            }
            s->retries_here++;
            s->wait_until = now + delay;
            s->phase = LLM__PH_WAIT;
            llm__hooks_log(s->cur->hooks, LLM_LOG_INFO, "retry %d in %lld ms after %s",
                           (int)s->retries_here, (long long)delay, llm_status_name(status));
            return;
        }
    }
    if (s->cur->fallback) {
        llm_client *next = s->cur->fallback;
        llm__client_retain(next);
        llm__client_release(s->cur);
        s->cur = next;
        s->retries_here = 0;
        s->wait_until = llm__now_ms();
        s->phase = LLM__PH_WAIT;
        llm__hooks_log(next->hooks, LLM_LOG_INFO, "falling back to provider %s", next->provider);
        return;
    }
    llm__call_finish(s, status);
}

void llm__attempt_abort(llm_stream *s, int status, int timeout_kind, const char *why)
{
    if (s->phase != LLM__PH_RUNNING)
        return;
    s->timeout_kind = timeout_kind;
    if (s->resp->status == LLM_OK)
        llm__resp_fail(s->resp, status, "%s", why);
    s->resp->retryable = status == LLM_ERR_TIMEOUT && timeout_kind != LLM_TIMEOUT_DEADLINE;
    s->xfer.abort_status = status;
    llm__attempt_done(s, CURLE_ABORTED_BY_CALLBACK);
}

int llm__call_cancelled(llm_stream *s)
{
    return atomic_load(&s->cancelled) || (s->cancel && atomic_load(&s->cancel->triggered));
}

/* One walk over the call's clocks for both questions: with act, a clock
 * that fired ends the attempt or the call; without, it only says "due now"
 * (multi.c asks from inside curl's timer callback, where ending a transfer
 * would re-enter curl). */
static int64_t walk_timers(llm_stream *s, int64_t now, int act)
{
    int64_t next = -1;
#define NEXT(t) do { int64_t d_ = (t) - now; if (next < 0 || d_ < next) next = d_ < 0 ? 0 : d_; } while (0)
#define FIRED(stmt) do { if (!act) return 0; stmt; } while (0)
    if (s->phase == LLM__PH_DONE)
        return -1;
    if (llm__call_cancelled(s)) {
        FIRED((void)0);
        if (s->phase == LLM__PH_RUNNING) {
            llm__attempt_abort(s, LLM_ERR_CANCELLED, 0, "the call was cancelled");
        } else {
            llm__resp_fail(s->resp, LLM_ERR_CANCELLED, "the call was cancelled");
            llm__call_finish(s, LLM_ERR_CANCELLED);
        }
        return -1;
    }
    if (s->deadline_at) {
        if (now >= s->deadline_at) {
            FIRED((void)0);
            if (s->phase == LLM__PH_RUNNING) {
                llm__attempt_abort(s, LLM_ERR_TIMEOUT, LLM_TIMEOUT_DEADLINE,
                                   "the call's deadline passed");
            } else {
                s->resp->timeout_kind = LLM_TIMEOUT_DEADLINE;
                llm__resp_fail(s->resp, LLM_ERR_TIMEOUT, "the call's deadline passed");
                llm__call_finish(s, LLM_ERR_TIMEOUT);
            }
            return -1;
        }
        NEXT(s->deadline_at);
    }
    if (s->phase == LLM__PH_WAIT)
        NEXT(s->wait_until);
    if (s->phase != LLM__PH_RUNNING)
        return next;
    const int64_t *t = s->cur->timeouts;
    if (t[LLM_TIMEOUT_ATTEMPT]) {
        if (now - s->attempt_start >= t[LLM_TIMEOUT_ATTEMPT]) {
            FIRED(llm__attempt_abort(s, LLM_ERR_TIMEOUT, LLM_TIMEOUT_ATTEMPT, "the attempt timed out"));
            return 0;
        }
        NEXT(s->attempt_start + t[LLM_TIMEOUT_ATTEMPT]);
    }
    if (t[LLM_TIMEOUT_FIRST_BYTE] && !s->xfer.first_byte_ms) {
        if (now - s->attempt_start >= t[LLM_TIMEOUT_FIRST_BYTE]) {
            FIRED(llm__attempt_abort(s, LLM_ERR_TIMEOUT, LLM_TIMEOUT_FIRST_BYTE,
                                     "no response byte within the first-byte timeout"));
            return 0;
        }
        NEXT(s->attempt_start + t[LLM_TIMEOUT_FIRST_BYTE]);
    }
    if (t[LLM_TIMEOUT_IDLE]) {
        if (now - s->xfer.last_byte_ms >= t[LLM_TIMEOUT_IDLE]) {
            FIRED(llm__attempt_abort(s, LLM_ERR_TIMEOUT, LLM_TIMEOUT_IDLE,
                                     "no byte received within the idle timeout"));
            return 0;
        }
        NEXT(s->xfer.last_byte_ms + t[LLM_TIMEOUT_IDLE]);
    }
#undef FIRED
#undef NEXT
    return next;
}

int64_t llm__call_timers(llm_stream *s, int64_t now)
{
    return walk_timers(s, now, 1);
}

int64_t llm__call_due(const llm_stream *s, int64_t now)
{
    /* Without act nothing is written. */
    return walk_timers((llm_stream *)s, now, 0);
}

void llm__call_cancel_now(llm_stream *s)
{
    if (s->phase == LLM__PH_DONE || !llm__call_cancelled(s))
        return;
    walk_timers(s, llm__now_ms(), 1);
    if (s->phase == LLM__PH_DONE && s->final_status == LLM_ERR_CANCELLED)
        llm__sstate_cleanup(&s->st);
}

void llm__call_finish(llm_stream *s, int status)
{
    if (s->phase == LLM__PH_DONE)
        return;
    if (s->phase == LLM__PH_RUNNING)
        attempt_cleanup(s);
    s->phase = LLM__PH_DONE;
    s->final_status = status;
    if (s->resp->status == LLM_OK && status != LLM_OK)
        llm__resp_fail(s->resp, status, "%s", llm_status_str(status));
    llm_client *c = s->client;
    llm_response *r = s->resp;
    /* A response keeps its client alive, so bindings may free in any order. */
    if (!r->client) {
        llm__client_retain(c);
        r->client = c;
    }
    if (!r->provider)
        llm__resp_set_str(&r->provider, s->cur ? s->cur->provider : c->provider);
    if (!r->attempts)
        r->attempts = s->attempt_no;
    llm__client_count(c, LLM_TOTAL_CALLS, 1);
    if (status != LLM_OK) {
        llm__client_count(c, LLM_TOTAL_FAILURES, 1);
    } else if (!r->cache_hit) {
        if (r->usage.v[LLM_USAGE_INPUT] > 0)
            llm__client_count(c, LLM_TOTAL_INPUT_TOKENS, r->usage.v[LLM_USAGE_INPUT]);
        if (r->usage.v[LLM_USAGE_OUTPUT] > 0)
            llm__client_count(c, LLM_TOTAL_OUTPUT_TOKENS, r->usage.v[LLM_USAGE_OUTPUT]);
        if (r->cost_known)
            llm__client_count(c, LLM_TOTAL_COST_NANOS, r->cost_nanos);
        else
            llm__client_count(c, LLM_TOTAL_COST_UNKNOWN, 1);
    }
    if (c->hooks) {
        struct llm_attempt a;
        fill_attempt(s, &a);
        if (r->cache_hit) {
            a.cost_known = 1;
            a.cost_nanos = 0;
        }
        if (status == LLM_OK)
            llm__hooks_cost(c->hooks, &a);
        llm__hooks_settle(c->hooks, s->admit_ticket, &a);
        s->admit_ticket = NULL;
        llm__attempt_clear(&a);
        if (status == LLM_OK && !r->cache_hit)
            cache_store(s);
    }
    /* Return the private connection now: a finished call keeps nothing
     * open, and the next call on this client reuses it. */
    if (s->conn) {
        pthread_mutex_lock(&s->wake_lock);
        s->wake = NULL;
        pthread_mutex_unlock(&s->wake_lock);
        llm__conn_give(c, s->conn);
        s->conn = NULL;
    }
}
