/*
 * stream.c - the public call API: llm_complete, llm_stream_open and the
 * blocking driver behind llm_stream_next.  Blocking calls run their own
 * curl multi handle with curl_multi_poll, so cancellation (curl_multi_wakeup)
 * and retry waits are prompt and no thread ever sleeps (DESIGN.md 5.8).
 */
#include "core/call.h"

static int open_call(llm_client *c, const llm_request *req, const llm_call_opts *o,
                     int streaming, llm_stream **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!c || !req)
        return LLM_ERR_MISUSE;
    if (llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    llm_stream *s = llm__calloc(1, sizeof *s);
    if (!s)
        return LLM_ERR_NOMEM;
    pthread_mutex_init(&s->wake_lock, NULL);
    atomic_init(&s->cancelled, 0);
    /* The first call freezes the configuration of the client and of every
     * fallback it may reach: from here on they are shared without locks. */
    for (llm_client *k = c; k; k = k->fallback)
        atomic_store(&k->frozen, 1);
    llm__client_retain(c);
    llm__client_retain(c);
    s->client = c;
    s->cur = c;
    llm__request_hold(req);
    s->req = req;
    s->streaming = streaming;
    s->max_retries = -1;
    if (o) {
        s->deadline_at = o->deadline_ms;
        s->max_retries = o->max_retries;
        s->cache_mode = o->cache_mode;
        if (o->user && !(s->user = llm__strdup(o->user))) {
            llm_stream_free(s);
            return LLM_ERR_NOMEM;
        }
        if (o->cancel) {
            if (llm__cancel_register(o->cancel, s) != LLM_OK) {
                llm_stream_free(s);
                return LLM_ERR_NOMEM;
            }
            atomic_fetch_add(&o->cancel->refs, 1);
            s->cancel = o->cancel;
        }
    }
    if (!s->deadline_at && c->timeouts[LLM_TIMEOUT_DEADLINE])
        s->deadline_at = c->timeouts[LLM_TIMEOUT_DEADLINE];
    int rc = llm__call_begin(s);
    if (rc == LLM_ERR_NOMEM && !s->resp) {
        llm_stream_free(s);
        return LLM_ERR_NOMEM;
    }
    *out = s;
    return rc;
}

int llm_stream_open(llm_client *c, const llm_request *req, const llm_call_opts *o, llm_stream **out)
{
    return open_call(c, req, o, 1, out);
}

int llm_complete_start(llm_client *c, const llm_request *req, const llm_call_opts *o,
                       llm_stream **out)
{
    return open_call(c, req, o, 0, out);
}

/* One step of a blocking call: wait for I/O or a timer, then act. */
static void drive_blocking(llm_stream *s)
{
    int64_t now = llm__now_ms();
    int64_t next = llm__call_timers(s, now);
    if (s->phase == LLM__PH_DONE)
        return;
    if (s->phase == LLM__PH_START) {
        llm__attempt_start(s);
        return;
    }
    if (s->phase == LLM__PH_WAIT) {
        int64_t left = s->wait_until - now;
        if (left <= 0) {
            llm__attempt_start(s);
            return;
        }
        if (llm__clock_sleep_hook(left))
            return;
        if (!s->conn) {
            s->conn = llm__conn_take(s->client);
            if (!s->conn) {
                llm__resp_fail(s->resp, LLM_ERR_NOMEM, "out of memory");
                llm__call_finish(s, LLM_ERR_NOMEM);
                return;
            }
            pthread_mutex_lock(&s->wake_lock);
            s->wake = s->conn->multi;
            pthread_mutex_unlock(&s->wake_lock);
        }
        int wait = (int)(next >= 0 && next < left ? next : left);
        curl_multi_poll(s->conn->multi, NULL, 0, wait > 1000 ? 1000 : wait, NULL);
        return;
    }
    CURLM *m = s->conn->multi;
    int running = 0;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while (s->phase == LLM__PH_RUNNING && (msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE)
            llm__attempt_done(s, msg->data.result);
    if (s->phase != LLM__PH_RUNNING || llm__sstate_pending(&s->st))
        return;
    next = llm__call_timers(s, llm__now_ms());
    if (s->phase != LLM__PH_RUNNING)
        return;
    long ct = -1;
    curl_multi_timeout(m, &ct);
    int64_t wait = 1000;
    if (ct >= 0 && ct < wait)
        wait = ct;
    if (next >= 0 && next < wait)
        wait = next;
    curl_multi_poll(m, NULL, 0, (int)wait, NULL);
}

static int next_event(llm_stream *s, const llm_event **ev)
{
    if (s->st.q && llm__sstate_pop(&s->st, ev)) {
        s->delivered = 1;
        return LLM_OK;
    }
    if (s->phase == LLM__PH_DONE)
        return s->final_status == LLM_OK ? LLM_DONE : s->final_status;
    return LLM_AGAIN;
}

int llm_stream_next(llm_stream *s, const llm_event **ev_out)
{
    if (ev_out)
        *ev_out = NULL;
    if (!s || !ev_out)
        return LLM_ERR_MISUSE;
    if (s->in_callback || llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    if (s->taken)
        return LLM_ERR_MISUSE;
    if (s->event_fn)
        return LLM_ERR_MISUSE;
    s->driven = 1;
    /* The previous event is no longer borrowed: its memory may be reused. */
    if (s->st.q)
        llm__sstate_reset_if_drained(&s->st);
    /* After llm_stream_cancel the next call says so, even with events queued. */
    llm__call_cancel_now(s);
    for (;;) {
        int rc = next_event(s, ev_out);
        if (rc != LLM_AGAIN || s->multi)
            return rc;
        drive_blocking(s);
    }
}

const llm_response *llm_stream_response(const llm_stream *s)
{
    return s && !s->taken ? s->resp : NULL;
}

int llm_stream_take_response(llm_stream *s, llm_response **out)
{
    /* On misuse *out is left alone: a second take must not clobber the
     * pointer the first one handed over. */
    if (!out || !s || s->taken || s->phase != LLM__PH_DONE || s->in_callback)
        return LLM_ERR_MISUSE;
    s->resp->owned_by_stream = 0;
    *out = s->resp;
    s->resp = NULL;
    s->taken = 1;
    return LLM_OK;
}

void llm_stream_cancel(llm_stream *s)
{
    if (!s)
        return;
    atomic_store(&s->cancelled, 1);
    pthread_mutex_lock(&s->wake_lock);
    if (s->wake)
        curl_multi_wakeup(s->wake);
    pthread_mutex_unlock(&s->wake_lock);
}

int llm_stream_set_event_fn(llm_stream *s, llm_event_fn fn, void *ud)
{
    if (!s || s->delivered || s->taken)
        return LLM_ERR_MISUSE;
    s->event_fn = fn;
    s->event_ud = ud;
    /* Set after llm_multi_add on a call that has already ended (a cache
     * hit): its end is still to be told, so the host's timer must fire. */
    if (s->multi && fn)
        llm__multi_rearm(s->multi);
    return LLM_OK;
}

void llm_stream_free(llm_stream *s)
{
    if (!s)
        return;
    if (s->multi)
        llm__multi_detach(s->multi, s);
    if (s->resp && s->phase != LLM__PH_DONE) {
        llm__resp_fail(s->resp, LLM_ERR_CANCELLED, "the stream was freed");
        llm__call_finish(s, LLM_ERR_CANCELLED);
    }
    if (s->cancel) {
        llm__cancel_unregister(s->cancel, s);
        llm_cancel_free(s->cancel);
    }
    llm__sstate_cleanup(&s->st);
    if (s->conn)
        llm__conn_give(s->client, s->conn);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    llm__creds_clear(&s->creds);
    if (s->resp)
        llm__response_destroy(s->resp);
    if (s->req)
        llm__request_unhold(s->req);
    llm__free(s->user);
    llm__client_release(s->cur);
    llm__client_release(s->client);
    pthread_mutex_destroy(&s->wake_lock);
    llm__free(s);
}

int llm_complete(llm_client *c, const llm_request *req, const llm_call_opts *o, llm_response **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    llm_stream *s;
    int rc = open_call(c, req, o, 0, &s);
    if (!s)
        return rc;
    const llm_event *ev;
    while ((rc = llm_stream_next(s, &ev)) == LLM_OK)
        ;
    if (rc == LLM_DONE)
        rc = LLM_OK;
    llm_stream_take_response(s, out);
    llm_stream_free(s);
    return rc;
}
