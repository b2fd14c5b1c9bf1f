/*
 * multi.c - many calls on one thread over one curl multi handle, driven by
 * the host: a perform/poll loop, or curl's socket-callback style for epoll,
 * libuv or a firmware main loop (never fd_set, which breaks past 1,024
 * descriptors).  The library starts no thread of its own.
 */
#include "core/call.h"

static int multi_status(CURLMcode mc)
{
    switch (mc) {
    case CURLM_OK: return LLM_OK;
    case CURLM_OUT_OF_MEMORY: return LLM_ERR_NOMEM;
    case CURLM_ABORTED_BY_CALLBACK: return LLM_ERR_CALLBACK;
    case CURLM_BAD_SOCKET: return LLM_ERR_INVALID_ARG;
    default: return LLM_ERR_NETWORK;
    }
}

static void arm_host_timer(llm_multi *m);

int llm_multi_new(llm_multi **out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!llm__initialised())
        return LLM_ERR_MISUSE;
    llm_multi *m = llm__calloc(1, sizeof *m);
    if (!m)
        return LLM_ERR_NOMEM;
    m->cm = curl_multi_init();
    if (!m->cm) {
        llm__free(m);
        return LLM_ERR_NOMEM;
    }
    m->curl_due = -1;
    *out = m;
    return LLM_OK;
}

void llm__multi_detach(llm_multi *m, llm_stream *s)
{
    /* A cancel from another thread must not wake a multi that may be freed
     * next. */
    pthread_mutex_lock(&s->wake_lock);
    s->wake = NULL;
    pthread_mutex_unlock(&s->wake_lock);
    for (llm_stream **p = &m->streams; *p; p = &(*p)->multi_next)
        if (*p == s) {
            *p = s->multi_next;
            break;
        }
    if (s->phase == LLM__PH_RUNNING) {
        llm__attempt_abort(s, LLM_ERR_CANCELLED, 0, "the stream was removed from its multi handle");
    }
    if (s->easy) {
        curl_easy_cleanup(s->easy);
        s->easy = NULL;
    }
    s->multi = NULL;
    s->multi_next = NULL;
}

void llm_multi_free(llm_multi *m)
{
    /* From inside one of its own callbacks it cannot go: the caller's
     * frames still use it. */
    if (!m || m->in_callback)
        return;
    while (m->streams) {
        llm_stream *s = m->streams;
        atomic_store(&s->cancelled, 1);
        llm__multi_detach(m, s);
    }
    curl_multi_cleanup(m->cm);
    llm__free(m);
}

int llm_multi_add(llm_multi *m, llm_stream *s)
{
    if (!m || !s || s->multi || s->conn || s->delivered || s->taken || s->driven)
        return LLM_ERR_MISUSE;
    if (m->in_callback || llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    if (s->phase == LLM__PH_RUNNING || s->attempt_no > 0)
        return LLM_ERR_MISUSE;
    s->multi = m;
    s->multi_next = m->streams;
    m->streams = s;
    pthread_mutex_lock(&s->wake_lock);
    s->wake = m->cm;
    pthread_mutex_unlock(&s->wake_lock);
    /* In socket-callback style nothing would start the new call until the
     * host's timer fires: ask for it now. */
    arm_host_timer(m);
    return LLM_OK;
}

int llm_multi_remove(llm_multi *m, llm_stream *s)
{
    if (!m || !s || s->multi != m)
        return LLM_ERR_MISUSE;
    /* The driving loop is walking the list this would unlink from. */
    if (m->in_callback || llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    llm__multi_detach(m, s);
    return LLM_OK;
}

/* Hand queued events (and the end) to streams that asked for callbacks.
 * A cancel, also one from the callback itself, ends the call before the
 * next event: what follows is only the end. */
static void deliver(llm_multi *m, llm_stream *s)
{
    if (!s->event_fn)
        return;
    const llm_event *ev;
    s->in_callback = 1;
    m->in_callback = 1;
    for (;;) {
        llm__call_cancel_now(s);
        if (!s->st.q || !llm__sstate_pop(&s->st, &ev))
            break;
        s->delivered = 1;
        s->event_fn(s, ev, s->event_ud);
    }
    if (s->st.q)
        llm__sstate_reset_if_drained(&s->st);
    if (s->phase == LLM__PH_DONE && s->event_fn) {
        llm_event_fn fn = s->event_fn;
        s->event_fn = NULL;
        fn(s, NULL, s->event_ud);
    }
    s->in_callback = 0;
    m->in_callback = 0;
}

/* Everything after curl made progress: finished transfers, our timers,
 * retries whose wait is over, callbacks.  Returns calls still running;
 * *started counts the transfers it added to curl. */
static int after_progress(llm_multi *m, int *started)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->cm, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        llm_stream *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (s && s->phase == LLM__PH_RUNNING)
            llm__attempt_done(s, msg->data.result);
    }
    int running = 0;
    int64_t now = llm__now_ms();
    for (llm_stream *s = m->streams; s; s = s->multi_next) {
        llm__call_timers(s, now);
        if (s->phase == LLM__PH_START || (s->phase == LLM__PH_WAIT && now >= s->wait_until)) {
            llm__attempt_start(s);
            *started += s->phase == LLM__PH_RUNNING;
        }
        deliver(m, s);
        if (s->phase != LLM__PH_DONE)
            running++;
    }
    return running;
}

/* After curl's first step: our part, then curl again for the transfers we
 * started, and so on until a round starts nothing.  The last curl step is
 * always followed by our part, so no finished transfer is left unread in
 * curl's queue while the host waits on sockets that have gone quiet (a
 * short reply on a reused connection can complete within that step). */
static int settle(llm_multi *m, CURLMcode *mc, int socket_style)
{
    int running, n;
    m->again = 0;
    for (int round = 0;; round++) {
        int started = 0;
        running = after_progress(m, &started);
        if (!started || *mc != CURLM_OK)
            break;
        if (round == 8) {
            /* Calls that keep failing at once: give the host its turn, and
             * ask it back at once. */
            m->again = 1;
            break;
        }
        *mc = socket_style ? curl_multi_socket_action(m->cm, CURL_SOCKET_TIMEOUT, 0, &n)
                           : curl_multi_perform(m->cm, &n);
    }
    return running;
}

/* When the multi next has work of its own: a call to start or retry, a
 * clock to check, an end to tell a callback.  Only asks (curl's timer
 * callback calls this, and must not see transfers end under it). */
static int64_t next_timer(llm_multi *m)
{
    int64_t now = llm__now_ms(), next = -1;
    if (m->again)
        return 0;
    for (llm_stream *s = m->streams; s; s = s->multi_next) {
        int64_t t;
        if (s->phase == LLM__PH_DONE)
            t = s->event_fn ? 0 : -1;
        else if (s->phase == LLM__PH_START)
            t = 0;
        else
            t = llm__call_due(s, now);
        if (t >= 0 && (next < 0 || t < next))
            next = t;
        if (next == 0)
            break;
    }
    return next;
}

int llm_multi_perform(llm_multi *m, int *running_out)
{
    if (!m)
        return LLM_ERR_MISUSE;
    if (m->in_callback || llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    int n;
    CURLMcode mc = curl_multi_perform(m->cm, &n);
    int running = settle(m, &mc, 0);
    if (running_out)
        *running_out = running;
    return multi_status(mc);
}

int llm_multi_poll(llm_multi *m, int timeout_ms)
{
    if (!m || timeout_ms < 0)
        return LLM_ERR_MISUSE;
    if (m->in_callback || llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    int64_t ours = next_timer(m);
    int wait = timeout_ms;
    if (ours >= 0 && ours < wait)
        wait = (int)ours;
    return multi_status(curl_multi_poll(m->cm, NULL, 0, wait, NULL));
}

int llm_multi_wakeup(llm_multi *m)
{
    if (!m)
        return LLM_ERR_MISUSE;
    return multi_status(curl_multi_wakeup(m->cm));
}

static int socket_tramp(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    (void)e;
    (void)sockp;
    llm_multi *m = ud;
    int w = what == CURL_POLL_IN ? LLM_POLL_IN
          : what == CURL_POLL_OUT ? LLM_POLL_OUT
          : what == CURL_POLL_INOUT ? LLM_POLL_INOUT
          : what == CURL_POLL_REMOVE ? LLM_POLL_REMOVE : LLM_POLL_NONE;
    return m->socket_fn ? m->socket_fn((int)fd, w, m->socket_ud) : 0;
}

/* Tell the host the sooner of curl's timer and ours (retry waits, idle and
 * deadline clocks), so one host timer serves both. */
static void arm_host_timer(llm_multi *m)
{
    if (!m->timer_fn)
        return;
    /* curl's wish is kept as a due time: re-arming later must not push it
     * back by the time that passed since curl asked. */
    int64_t t = -1, ours = next_timer(m);
    if (m->curl_due >= 0) {
        t = m->curl_due - llm__now_ms();
        if (t < 0)
            t = 0;
    }
    if (ours >= 0 && (t < 0 || ours < t))
        t = ours;
    m->timer_fn(t, m->timer_ud);
}

void llm__multi_rearm(llm_multi *m)
{
    arm_host_timer(m);
}

static int timer_tramp(CURLM *cm, long timeout_ms, void *ud)
{
    (void)cm;
    llm_multi *m = ud;
    m->curl_due = timeout_ms < 0 ? -1 : llm__now_ms() + timeout_ms;
    arm_host_timer(m);
    return 0;
}

int llm_multi_set_socket_fn(llm_multi *m, llm_socket_fn fn, void *ud)
{
    if (!m)
        return LLM_ERR_MISUSE;
    m->socket_fn = fn;
    m->socket_ud = ud;
    curl_multi_setopt(m->cm, CURLMOPT_SOCKETFUNCTION, fn ? socket_tramp : NULL);
    curl_multi_setopt(m->cm, CURLMOPT_SOCKETDATA, m);
    return LLM_OK;
}

int llm_multi_set_timer_fn(llm_multi *m, llm_timer_fn fn, void *ud)
{
    if (!m)
        return LLM_ERR_MISUSE;
    m->timer_fn = fn;
    m->timer_ud = ud;
    curl_multi_setopt(m->cm, CURLMOPT_TIMERFUNCTION, fn ? timer_tramp : NULL);
    curl_multi_setopt(m->cm, CURLMOPT_TIMERDATA, m);
    return LLM_OK;
}

int llm_multi_socket_action(llm_multi *m, int fd, int what, int *running_out)
{
    if (!m)
        return LLM_ERR_MISUSE;
    if (m->in_callback || llm__hooks_in_callback())
        return LLM_ERR_REENTRANT;
    int mask = ((what & LLM_POLL_IN) ? CURL_CSELECT_IN : 0) |
               ((what & LLM_POLL_OUT) ? CURL_CSELECT_OUT : 0);
    int n;
    CURLMcode mc = curl_multi_socket_action(m->cm, fd < 0 ? CURL_SOCKET_TIMEOUT : fd, mask, &n);
    int running = settle(m, &mc, 1);
    arm_host_timer(m);
    if (running_out)
        *running_out = running;
    return multi_status(mc);
}
