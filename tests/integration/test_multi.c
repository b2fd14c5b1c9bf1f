/*
 * test_multi.c - the multi interface through the public API only, over
 * loopback HTTP against the test server: many streamed and complete calls
 * of several providers on one multi handle, driven by perform/poll and by
 * a real epoll loop in the socket-callback style; event callbacks; retries,
 * fallback and the memory cache in multi mode; cancellation from another
 * thread and from an event callback; connection reuse; attaching and
 * detaching streams.
 */
#define LLM_EXPERIMENTAL 1
#include "llm.h"
#include "llm_experimental.h"
#include "test.h"
#include "tserver.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int scale = 1;   /* LLM_TEST_TIME_SCALE: slower under valgrind */
static int nonce;

/* A clock the test moves forward by hand: real time plus `skipped`. */
static _Atomic int64_t skipped;
static int64_t real_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static int64_t fake_now(void *ud) { (void)ud; return real_mono() + skipped; }
static int64_t fake_wall(void *ud) { (void)ud; return (int64_t)time(NULL) * 1000 + skipped; }
static void fake_sleep(int64_t ms, void *ud) { (void)ud; skipped += ms; }

struct prov {
    const char *name, *suffix, *model;
};

static const struct prov provs[] = {
    {"openai", "v1", "gpt-4o-mini"},
    {"anthropic", "", "claude-sonnet-4-5"},
    {"gemini", "v1beta", "gemini-2.5-flash"},
};
#define NPROVS 3

static const char *weather_schema =
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}";

/* "<extra>,m<n>": a nonce gives every client counters of its own. */
static char *faults(const char *extra)
{
    char *f = malloc(128);
    snprintf(f, 128, "%s%sm%d", extra ? extra : "", extra ? "," : "", ++nonce);
    return f;
}

static llm_client *make_client(const struct prov *p, const char *kase, const char *f)
{
    llm_client *c = NULL;
    CHECK_INT(llm_client_new(&c, p->name), LLM_OK);
    char *url = tserver_url(p->name, kase, f, p->suffix);
    CHECK_INT(llm_client_set_base_url(c, url), LLM_OK);
    free(url);
    CHECK_INT(llm_client_set_api_key(c, "test-key-1234567890"), LLM_OK);
    CHECK_INT(llm_client_set_model(c, p->model), LLM_OK);
    return c;
}

static llm_request *make_req(const char *kase)
{
    llm_request *r = NULL;
    CHECK_INT(llm_request_new(&r), LLM_OK);
    if (strcmp(kase, "tools") == 0) {
        CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Weather in Paris?"), LLM_OK);
        CHECK_INT(llm_request_add_tool(r, "get_weather", "Current weather for a city.", weather_schema),
                  LLM_OK);
    } else {
        CHECK_INT(llm_request_add_text(r, LLM_ROLE_USER, "Say hi."), LLM_OK);
    }
    return r;
}

static long server_requests(const struct prov *p, const char *kase, const char *f)
{
    char *pfx = tserver_prefix(p->name, kase, f);
    long reqs = -1, acc = -1;
    CHECK_INT(tserver_stats(pfx, &reqs, &acc), 0);
    free(pfx);
    return reqs;
}

/* ---- one call and what it saw ------------------------------------------- */

struct job {
    const struct prov *p;
    const char *kase;          /* "text" or "tools" */
    int streaming;
    llm_stream *s;
    int again;                 /* LLM_AGAIN seen */
    int finished, rc;          /* the last llm_stream_next status */
    int events, text_deltas, tool_starts, tool_deltas, tool_ends, usage, other;
    int nulls, after_null, reentrant_bad, cancel_on_delta, after_cancel, cancelled_here;
    int final_status;          /* at the NULL event */
    char text[512], args[512];
};

static void cat(char *dst, size_t cap, const char *s, size_t n)
{
    size_t have = strlen(dst);
    if (have + n >= cap)
        n = cap - have - 1;
    memcpy(dst + have, s, n);
    dst[have + n] = '\0';
}

static void on_event(struct job *j, const llm_event *ev)
{
    size_t n;
    const char *t = llm_event_text(ev, &n);
    j->events++;
    if (j->cancelled_here)
        j->after_cancel++;
    switch (llm_event_type(ev)) {
    case LLM_EVENT_TEXT_DELTA:
        j->text_deltas++;
        cat(j->text, sizeof j->text, t, n);
        break;
    case LLM_EVENT_TOOL_CALL_START:
        j->tool_starts++;
        if (strcmp(llm_event_tool_name(ev), "get_weather") != 0 || llm_event_tool_index(ev) != 0)
            j->other++;
        break;
    case LLM_EVENT_TOOL_CALL_DELTA:
        j->tool_deltas++;
        cat(j->args, sizeof j->args, t, n);
        break;
    case LLM_EVENT_TOOL_CALL_END: j->tool_ends++; break;
    case LLM_EVENT_USAGE: j->usage++; break;
    default: j->other++; break;
    }
}

static void start_job(struct job *j, llm_client *c, llm_request *r, llm_multi *m)
{
    int rc = j->streaming ? llm_stream_open(c, r, NULL, &j->s) : llm_complete_start(c, r, NULL, &j->s);
    CHECK_INT(rc, LLM_OK);
    CHECK_INT(llm_multi_add(m, j->s), LLM_OK);
}

/* Pull every ready event; returns 1 once the call has ended. */
static int pull(struct job *j)
{
    if (j->finished)
        return 1;
    const llm_event *ev = (const llm_event *)&ev;
    int rc;
    while ((rc = llm_stream_next(j->s, &ev)) == LLM_OK)
        on_event(j, ev);
    CHECK(ev == NULL);
    if (rc == LLM_AGAIN) {
        j->again++;
        return 0;
    }
    j->finished = 1;
    j->rc = rc;
    return 1;
}

/* The final response of a call that should have succeeded. */
static void check_success(struct job *j, int callbacks)
{
    if (callbacks) {
        CHECK_INT(j->nulls, 1);
        CHECK_INT(j->after_null, 0);
        CHECK_INT(j->final_status, LLM_OK);
        CHECK_INT(j->reentrant_bad, 0);
    } else {
        CHECK_INT(j->rc, LLM_DONE);
    }
    llm_response *resp = NULL;
    CHECK_INT(llm_stream_take_response(j->s, &resp), LLM_OK);
    if (!resp)
        return;
    CHECK_INT(llm_response_status(resp), LLM_OK);
    CHECK_STR(llm_response_provider(resp), j->p->name);
    CHECK_INT(j->other, 0);
    if (strcmp(j->kase, "text") == 0) {
        CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
        CHECK_INT(llm_response_finish(resp), LLM_FINISH_STOP);
        CHECK_INT((int)llm_response_tool_call_count(resp), 0);
        if (j->streaming) {
            CHECK_STR(j->text, "Hello from libllm.");
            /* A cached answer is replayed as one delta per part. */
            CHECK(j->text_deltas >= (llm_response_cache_hit(resp) ? 1 : 2));
        }
    } else {
        CHECK_INT((int)llm_response_tool_call_count(resp), 1);
        CHECK_STR(llm_response_tool_call_name(resp, 0), "get_weather");
        CHECK_STR(llm_response_tool_call_arguments(resp, 0, NULL), "{\"city\":\"Paris\"}");
        CHECK_INT(llm_response_finish(resp), LLM_FINISH_TOOL_CALLS);
        if (j->streaming) {
            CHECK_INT(j->tool_starts, 1);
            CHECK_INT(j->tool_ends, 1);
            CHECK_STR(j->args, "{\"city\":\"Paris\"}");
        }
    }
    if (!j->streaming) {
        /* A complete call yields no deltas, at most a usage event. */
        CHECK_INT(j->text_deltas + j->tool_starts + j->tool_deltas + j->tool_ends, 0);
        CHECK(j->usage <= 1);
        if (!llm_response_cache_hit(resp))
            CHECK(llm_response_raw(resp, NULL) != NULL);
    }
    int64_t v;
    CHECK_INT(llm_response_usage(resp, LLM_USAGE_OUTPUT, &v), LLM_OK);
    CHECK(v > 0);
    llm_response_free(resp);
}

/* ---- drivers ----------------------------------------------------------- */

static int pull_all(struct job *jobs, int n)
{
    int left = 0;
    for (int i = 0; i < n; i++)
        if (!pull(&jobs[i]))
            left++;
    return left;
}

/* perform/poll until every job ended; returns the ms it took.  The poll
 * may wait out the whole time left: only sockets, libllm's own timers and
 * wakeups may end it, so work left undone inside the multi shows as a
 * timeout here. */
static int64_t drive_poll(llm_multi *m, struct job *jobs, int n, int64_t limit_ms)
{
    int64_t t0 = real_mono(), until = t0 + limit_ms * scale;
    for (;;) {
        int running = -1;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        int left = pull_all(jobs, n);
        CHECK(running >= left);
        if (left == 0)
            break;
        if (real_mono() >= until) {
            CHECK(!"the calls did not end in time");
            break;
        }
        CHECK_INT(llm_multi_poll(m, (int)(until - real_mono() > 0 ? until - real_mono() : 0)), LLM_OK);
    }
    return real_mono() - t0;
}

/* The host side of the socket-callback style: a real epoll loop. */
struct loop {
    int ep;
    int64_t timer_at;          /* real monotonic ms; -1: none */
    int64_t last_timer;        /* the last timeout libllm asked for */
    int nsockets, max_fd, socket_calls, timer_calls, bad;
};

static int on_socket(int fd, int what, void *ud)
{
    struct loop *l = ud;
    l->socket_calls++;
    if (fd > l->max_fd)
        l->max_fd = fd;
    if (what == LLM_POLL_REMOVE) {
        if (epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL) == 0)
            l->nsockets--;
        return 0;
    }
    if (what < LLM_POLL_NONE || what > LLM_POLL_INOUT)
        l->bad++;
    struct epoll_event ev = {0};
    ev.events = ((what & LLM_POLL_IN) ? EPOLLIN : 0u) | ((what & LLM_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
        if (errno != ENOENT || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            l->bad++;
        else
            l->nsockets++;
    }
    return 0;
}

static int on_timer(int64_t timeout_ms, void *ud)
{
    struct loop *l = ud;
    l->timer_calls++;
    l->last_timer = timeout_ms;
    l->timer_at = timeout_ms < 0 ? -1 : real_mono() + timeout_ms;
    return 0;
}

static void loop_init(struct loop *l, llm_multi *m)
{
    memset(l, 0, sizeof *l);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(l->ep >= 0);
    l->timer_at = -1;
    l->last_timer = -2;
    l->max_fd = -1;
    CHECK_INT(llm_multi_set_socket_fn(m, on_socket, l), LLM_OK);
    CHECK_INT(llm_multi_set_timer_fn(m, on_timer, l), LLM_OK);
}

/* One turn of the host loop: wait for a socket or the timer (never longer
 * than until `until`), report what is ready.  Returns the running count. */
static int loop_turn(struct loop *l, llm_multi *m, int64_t until)
{
    struct epoll_event evs[64];
    int64_t now = real_mono();
    int64_t wait = until - now;
    if (l->timer_at >= 0 && l->timer_at - now < wait)
        wait = l->timer_at - now;
    if (wait < 0)
        wait = 0;
    int n = epoll_wait(l->ep, evs, 64, (int)wait);
    int running = -1;
    for (int i = 0; i < n; i++) {
        int what = ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? LLM_POLL_IN : 0) |
                   ((evs[i].events & EPOLLOUT) ? LLM_POLL_OUT : 0);
        CHECK_INT(llm_multi_socket_action(m, evs[i].data.fd, what, &running), LLM_OK);
    }
    if (l->timer_at >= 0 && real_mono() >= l->timer_at) {
        l->timer_at = -1;
        CHECK_INT(llm_multi_socket_action(m, -1, 0, &running), LLM_OK);
    }
    return running;
}

/* Drive in socket-callback style until every job ended.  The loop waits
 * only as long as libllm's timer says: a missing timer is a hang here. */
static int64_t drive_epoll(struct loop *l, llm_multi *m, struct job *jobs, int n, int64_t limit_ms)
{
    int64_t t0 = real_mono(), until = t0 + limit_ms * scale;
    int running = -1;
    CHECK_INT(llm_multi_socket_action(m, -1, 0, &running), LLM_OK);
    while (pull_all(jobs, n) > 0) {
        if (real_mono() >= until) {
            CHECK(!"the calls did not end in time (no timer or socket event came)");
            break;
        }
        loop_turn(l, m, until);
    }
    return real_mono() - t0;
}

/* ---- many calls at once -------------------------------------------------- */

#define CONFIGS (NPROVS * 2 * 2)   /* provider x case x (whole | split) */

struct mix {
    llm_client *c[CONFIGS];
    llm_request *r[CONFIGS];
    char *f[CONFIGS];
    const struct prov *p[CONFIGS];
    const char *kase[CONFIGS];
    int calls[CONFIGS];
};

static void mix_init(struct mix *x)
{
    memset(x, 0, sizeof *x);
    for (int k = 0; k < CONFIGS; k++) {
        x->p[k] = &provs[k % NPROVS];
        x->kase[k] = (k / NPROVS) % 2 ? "tools" : "text";
        char split[32];
        snprintf(split, sizeof split, "split=%d", 3 + k);
        x->f[k] = faults(k >= CONFIGS / 2 ? split : NULL);
        x->c[k] = make_client(x->p[k], x->kase[k], x->f[k]);
        x->r[k] = make_req(x->kase[k]);
    }
}

static void mix_free(struct mix *x)
{
    for (int k = 0; k < CONFIGS; k++) {
        llm_client_free(x->c[k]);
        llm_request_free(x->r[k]);
        free(x->f[k]);
    }
}

/* 50 streams and 50 complete calls spread over every configuration. */
static void mix_jobs(struct mix *x, struct job *jobs, int n, llm_multi *m)
{
    for (int i = 0; i < n; i++) {
        int k = (i / 2) % CONFIGS;
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].p = x->p[k];
        jobs[i].kase = x->kase[k];
        jobs[i].streaming = i % 2;
        x->calls[k]++;
        start_job(&jobs[i], x->c[k], x->r[k], m);
    }
}

static void mix_check(struct mix *x, struct job *jobs, int n, int callbacks)
{
    for (int i = 0; i < n; i++) {
        check_success(&jobs[i], callbacks);
        llm_stream_free(jobs[i].s);
    }
    for (int k = 0; k < CONFIGS; k++)
        CHECK_INT(server_requests(x->p[k], x->kase[k], x->f[k]), x->calls[k]);
}

#define MANY 100

TEST(perform_poll_many_calls)
{
    struct mix x;
    mix_init(&x);
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    struct job *jobs = calloc(MANY, sizeof *jobs);
    mix_jobs(&x, jobs, MANY, m);
    /* Attached and not yet driven: nothing is ready, nothing blocks. */
    for (int i = 0; i < MANY; i++)
        CHECK_INT(pull(&jobs[i]), 0);
    drive_poll(m, jobs, MANY, 20000);
    int running = -1;
    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
    CHECK_INT(running, 0);
    mix_check(&x, jobs, MANY, 0);
    free(jobs);
    llm_multi_free(m);
    mix_free(&x);
}

TEST(epoll_many_calls)
{
    /* Sockets above 1,024 prove nothing uses fd_set. */
    struct rlimit rl;
    int fillers[1100], nfill = 0;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 1400 && rl.rlim_max >= 1400) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    int high = rl.rlim_cur >= 1400;
    while (high && nfill < 1100) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        fillers[nfill++] = fd;
    }
    if (!high)
        printf("# RLIMIT_NOFILE %lu: descriptors above 1024 not tried\n", (unsigned long)rl.rlim_cur);

    struct mix x;
    mix_init(&x);
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    struct loop l;
    loop_init(&l, m);
    struct job *jobs = calloc(MANY, sizeof *jobs);
    mix_jobs(&x, jobs, MANY, m);
    for (int i = 0; i < MANY; i++)
        CHECK_INT(pull(&jobs[i]), 0);
    drive_epoll(&l, m, jobs, MANY, 20000);
    CHECK(l.socket_calls > 0);
    CHECK(l.timer_calls > 0);
    CHECK_INT(l.bad, 0);
    if (high)
        CHECK(l.max_fd > 1024);
    mix_check(&x, jobs, MANY, 0);
    free(jobs);
    llm_multi_free(m);
    /* Every socket libllm asked the loop to watch was handed back. */
    CHECK_INT(l.nsockets, 0);
    close(l.ep);
    mix_free(&x);
    for (int i = 0; i < nfill; i++)
        close(fillers[i]);
}

/* ---- event callbacks ----------------------------------------------------- */

static void on_cb(llm_stream *s, const llm_event *ev, void *ud)
{
    struct job *j = ud;
    if (j->nulls)
        j->after_null++;
    const llm_event *other = (const llm_event *)&other;
    /* Pulling from inside the callback is refused, as is taking the response
     * while the call is still being driven. */
    if (llm_stream_next(s, &other) != LLM_ERR_REENTRANT || other != NULL)
        j->reentrant_bad++;
    llm_response *resp = NULL;
    if (llm_stream_take_response(s, &resp) != LLM_ERR_MISUSE || resp)
        j->reentrant_bad++;
    if (!ev) {
        j->nulls++;
        j->final_status = llm_response_status(llm_stream_response(s));
        return;
    }
    on_event(j, ev);
    if (j->cancel_on_delta && llm_event_type(ev) == LLM_EVENT_TEXT_DELTA && !j->cancelled_here) {
        j->cancelled_here = 1;
        llm_stream_cancel(s);
    }
}

static int cb_left(struct job *jobs, int n)
{
    int left = 0;
    for (int i = 0; i < n; i++)
        left += jobs[i].nulls == 0;
    return left;
}

TEST(event_callbacks)
{
    struct mix x;
    mix_init(&x);
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    enum { N = 40 };
    struct job jobs[N];
    mix_jobs(&x, jobs, N, m);
    for (int i = 0; i < N; i++)
        CHECK_INT(llm_stream_set_event_fn(jobs[i].s, on_cb, &jobs[i]), LLM_OK);
    int64_t t0 = real_mono();
    int misuse_checked = 0;
    while (cb_left(jobs, N) > 0 && real_mono() - t0 < 20000 * scale) {
        int running = -1;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        for (int i = 0; i < N; i++) {
            if (jobs[i].nulls)
                continue;
            /* Events go to the callback: pulling is a misuse. */
            const llm_event *ev = (const llm_event *)&ev;
            CHECK_INT(llm_stream_next(jobs[i].s, &ev), LLM_ERR_MISUSE);
            CHECK(ev == NULL);
            misuse_checked++;
        }
        if (cb_left(jobs, N) > 0)
            CHECK_INT(llm_multi_poll(m, 1000), LLM_OK);
    }
    CHECK_INT(cb_left(jobs, N), 0);
    CHECK(misuse_checked > 0);
    int running = -1;
    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
    CHECK_INT(running, 0);
    for (int i = 0; i < N; i++)
        CHECK_INT(jobs[i].nulls, 1);   /* the end is told once */
    mix_check(&x, jobs, N, 1);
    llm_multi_free(m);
    mix_free(&x);
}

/* ---- retries, fallback and cache in multi mode ---------------------------- */

static void retry_waits_do_not_block(int epoll_style)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    struct mix x;
    mix_init(&x);
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    struct loop l;
    if (epoll_style)
        loop_init(&l, m);
    enum { NORMAL = 12, N = NORMAL + 2 };
    struct job jobs[N];
    mix_jobs(&x, jobs, NORMAL, m);
    /* One complete call and one stream whose first attempt gets a 503 with
     * retry-after 2 s. */
    char *f = faults("fail=2x503,ra=2");
    llm_client *c = make_client(&provs[0], "text", f);
    llm_request *r = make_req("text");
    for (int i = NORMAL; i < N; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].p = &provs[0];
        jobs[i].kase = "text";
        jobs[i].streaming = i % 2;
        start_job(&jobs[i], c, r, m);
    }
    /* Drive until the others have ended and both retries are waiting. */
    int64_t t0 = real_mono(), until = t0 + 10000 * scale;
    int running = -1;
    if (epoll_style)
        CHECK_INT(llm_multi_socket_action(m, -1, 0, &running), LLM_OK);
    while ((pull_all(jobs, NORMAL) > 0 || server_requests(&provs[0], "text", f) < 2) &&
           real_mono() < until) {
        if (epoll_style) {
            loop_turn(&l, m, real_mono() + 100);
        } else {
            CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
            CHECK_INT(llm_multi_poll(m, 100), LLM_OK);
        }
    }
    CHECK_INT(pull_all(jobs, NORMAL), 0);
    CHECK_INT(server_requests(&provs[0], "text", f), 2);
    /* Half a second of real time later nobody has retried early, and the
     * loop did not block on them either. */
    int64_t t1 = real_mono();
    int turns = 0;
    while (real_mono() - t1 < 500) {
        int64_t before = real_mono();
        if (epoll_style) {
            loop_turn(&l, m, real_mono() + 50);
        } else {
            CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
            CHECK_INT(running, 2);
            CHECK_INT(llm_multi_poll(m, 50), LLM_OK);
        }
        CHECK(real_mono() - before < 400 * scale);
        turns++;
        CHECK_INT(pull(&jobs[NORMAL]) + pull(&jobs[NORMAL + 1]), 0);
    }
    CHECK(turns >= 3);
    CHECK(turns < 200);   /* waited, did not spin */
    CHECK_INT(server_requests(&provs[0], "text", f), 2);
    if (epoll_style) {
        /* The host timer covers the retry wait: due within the 2 s. */
        CHECK(l.timer_at >= 0);
        CHECK(l.timer_at - real_mono() <= 2000);
    }
    /* Two seconds pass on the call's clock: the retries go out. */
    skipped += 2000;
    if (epoll_style) {
        /* The timer libllm asked for is what moves it on. */
        l.timer_at = real_mono();
        drive_epoll(&l, m, jobs + NORMAL, 2, 5000);
    } else {
        drive_poll(m, jobs + NORMAL, 2, 5000);
    }
    CHECK_INT(server_requests(&provs[0], "text", f), 4);
    for (int i = NORMAL; i < N; i++) {
        CHECK_INT(jobs[i].rc, LLM_DONE);
        const llm_response *resp = llm_stream_response(jobs[i].s);
        CHECK_INT(llm_response_attempts(resp), 2);
        CHECK_STR(llm_response_text(resp, NULL), "Hello from libllm.");
        llm_stream_free(jobs[i].s);
    }
    mix_check(&x, jobs, NORMAL, 0);
    llm_multi_free(m);
    if (epoll_style)
        close(l.ep);
    llm_request_free(r);
    llm_client_free(c);
    free(f);
    mix_free(&x);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(retry_wait_poll) { retry_waits_do_not_block(0); }
TEST(retry_wait_epoll) { retry_waits_do_not_block(1); }

static void fallback_from_dead_primary(int epoll_style)
{
    /* Nothing listens on port 1: the connection is refused at once. */
    llm_client *dead = NULL;
    CHECK_INT(llm_client_new(&dead, "openai"), LLM_OK);
    CHECK_INT(llm_client_set_base_url(dead, "http://127.0.0.1:1/v1"), LLM_OK);
    CHECK_INT(llm_client_set_api_key(dead, "sk-dead"), LLM_OK);
    CHECK_INT(llm_client_set_model(dead, "gpt-4o-mini"), LLM_OK);
    CHECK_INT(llm_client_set_max_retries(dead, 0), LLM_OK);
    char *f = faults(NULL);
    llm_client *alive = make_client(&provs[1], "text", f);
    CHECK_INT(llm_client_set_fallback(dead, alive), LLM_OK);
    llm_request *r = make_req("text");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    struct loop l;
    if (epoll_style)
        loop_init(&l, m);
    enum { N = 6 };
    struct job jobs[N];
    for (int i = 0; i < N; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].p = &provs[1];
        jobs[i].kase = "text";
        jobs[i].streaming = i % 2;
        start_job(&jobs[i], dead, r, m);
    }
    int64_t took = epoll_style ? drive_epoll(&l, m, jobs, N, 10000) : drive_poll(m, jobs, N, 10000);
    printf("# took %lld ms\n", (long long)took);
    CHECK(took < 3000 * scale);
    for (int i = 0; i < N; i++) {
        const llm_response *resp = llm_stream_response(jobs[i].s);
        CHECK_INT(llm_response_attempts(resp), 2);
        check_success(&jobs[i], 0);
        llm_stream_free(jobs[i].s);
    }
    CHECK_INT(server_requests(&provs[1], "text", f), N);
    llm_multi_free(m);
    if (epoll_style)
        close(l.ep);
    llm_request_free(r);
    llm_client_free(dead);
    llm_client_free(alive);
    free(f);
}

TEST(fallback_poll) { fallback_from_dead_primary(0); }
TEST(fallback_epoll) { fallback_from_dead_primary(1); }

static void cache_round(int streaming, int callbacks, int epoll_style)
{
    llm_hooks *h = NULL;
    CHECK_INT(llm_hooks_new(&h), LLM_OK);
    CHECK_INT(llm_hooks_use_memory_cache(h, 100, 0, 0), LLM_OK);
    char *f = faults(streaming ? "split=5" : NULL);
    llm_client *c = make_client(&provs[0], "text", f);
    CHECK_INT(llm_client_set_hooks(c, h), LLM_OK);
    llm_hooks_free(h);
    llm_request *r = make_req("text");
    for (int round = 0; round < 2; round++) {
        llm_multi *m = NULL;
        CHECK_INT(llm_multi_new(&m), LLM_OK);
        struct loop l;
        if (epoll_style)
            loop_init(&l, m);
        struct job j;
        memset(&j, 0, sizeof j);
        j.p = &provs[0];
        j.kase = "text";
        j.streaming = streaming;
        start_job(&j, c, r, m);
        if (callbacks) {
            CHECK_INT(llm_stream_set_event_fn(j.s, on_cb, &j), LLM_OK);
            int64_t t0 = real_mono();
            int running = -1;
            /* No kick from the host: the timer libllm arms on add (and a hit
             * ended at open still has its end to tell) is what starts it. */
            while (!j.nulls && real_mono() - t0 < 5000 * scale) {
                if (epoll_style) {
                    loop_turn(&l, m, t0 + 5000 * scale);
                } else {
                    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
                    if (!j.nulls)
                        CHECK_INT(llm_multi_poll(m, 1000), LLM_OK);
                }
            }
        } else if (epoll_style) {
            drive_epoll(&l, m, &j, 1, 5000);
        } else {
            drive_poll(m, &j, 1, 5000);
        }
        CHECK_INT(llm_response_cache_hit(llm_stream_response(j.s)), round);
        check_success(&j, callbacks);
        llm_stream_free(j.s);
        llm_multi_free(m);
        if (epoll_style)
            close(l.ep);
    }
    CHECK_INT(server_requests(&provs[0], "text", f), 1);
    int64_t hits = 0;
    CHECK_INT(llm_client_total(c, LLM_TOTAL_CACHE_HITS, &hits), LLM_OK);
    CHECK_INT(hits, 1);
    llm_request_free(r);
    llm_client_free(c);
    free(f);
}

/* The reply of a retryable failure arrives, but before the multi reads it
 * the call is cancelled: it ends cancelled (not with the 503), and the
 * failure stays on the response. */
TEST(cancel_beats_retry)
{
    char *f = faults("fail=9x503");
    llm_client *c = make_client(&provs[0], "text", f);
    llm_request *r = make_req("text");
    for (int streaming = 0; streaming < 2; streaming++) {
        llm_multi *m = NULL;
        CHECK_INT(llm_multi_new(&m), LLM_OK);
        llm_stream *s = NULL;
        CHECK_INT(streaming ? llm_stream_open(c, r, NULL, &s) : llm_complete_start(c, r, NULL, &s), LLM_OK);
        CHECK_INT(llm_multi_add(m, s), LLM_OK);
        long want = server_requests(&provs[0], "text", f) + 1;
        int64_t t0 = real_mono();
        int running;
        while (server_requests(&provs[0], "text", f) < want && real_mono() - t0 < 5000 * scale) {
            CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
            usleep(10000);
        }
        usleep(100000 * scale);   /* the 503 is on its way, unread */
        llm_stream_cancel(s);
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        CHECK_INT(running, 0);
        const llm_event *ev;
        CHECK_INT(llm_stream_next(s, &ev), LLM_ERR_CANCELLED);
        const llm_response *resp = llm_stream_response(s);
        CHECK_INT(llm_response_status(resp), LLM_ERR_CANCELLED);
        CHECK_INT(llm_response_http_status(resp), 503);
        CHECK_INT(llm_response_attempts(resp), 1);
        CHECK(strstr(llm_response_errmsg(resp), "cancelled") != NULL);
        llm_stream_free(s);
        llm_multi_free(m);
    }
    llm_request_free(r);
    llm_client_free(c);
    free(f);
}

TEST(cache_hit_in_multi)
{
    for (int mode = 0; mode < 8; mode++)
        cache_round(mode & 1, (mode >> 1) & 1, (mode >> 2) & 1);
}

/* ---- cancellation --------------------------------------------------------- */

struct canceller {
    llm_stream **streams;
    int n;
    llm_cancel *token;
    _Atomic int64_t at;
};

static void *cancel_later(void *arg)
{
    struct canceller *k = arg;
    usleep(150000);
    k->at = real_mono();
    for (int i = 0; i < k->n; i++)
        llm_stream_cancel(k->streams[i]);
    llm_cancel_trigger(k->token);
    return NULL;
}

TEST(cancel_from_another_thread)
{
    /* Stalled calls (the server sends the head, then nothing), a call
     * waiting 30 s to retry, and ordinary calls that should not notice. */
    char *stall = faults("stall=-1");
    char *wait = faults("fail=1000x503,ra=30");
    llm_client *cs = make_client(&provs[0], "text", stall);
    llm_client *cw = make_client(&provs[0], "text", wait);
    struct mix x;
    mix_init(&x);
    llm_request *r = make_req("text");
    llm_cancel *token = NULL;
    CHECK_INT(llm_cancel_new(&token), LLM_OK);
    llm_call_opts *o = NULL;
    CHECK_INT(llm_call_opts_new(&o), LLM_OK);
    CHECK_INT(llm_call_opts_set_cancel(o, token), LLM_OK);
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    enum { NORMAL = 12, DIRECT = 8, TOKEN = 8, N = NORMAL + DIRECT + TOKEN };
    struct job jobs[N];
    llm_stream *direct[DIRECT];
    mix_jobs(&x, jobs, NORMAL, m);
    for (int i = NORMAL; i < N; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].p = &provs[0];
        jobs[i].kase = "text";
        jobs[i].streaming = i % 2;
        llm_client *c = i % 4 < 2 ? cs : cw;
        const llm_call_opts *oo = i < NORMAL + DIRECT ? NULL : o;
        int rc = jobs[i].streaming ? llm_stream_open(c, r, oo, &jobs[i].s)
                                   : llm_complete_start(c, r, oo, &jobs[i].s);
        CHECK_INT(rc, LLM_OK);
        CHECK_INT(llm_multi_add(m, jobs[i].s), LLM_OK);
        if (i < NORMAL + DIRECT)
            direct[i - NORMAL] = jobs[i].s;
    }
    llm_call_opts_free(o);   /* the calls hold their own reference */
    struct canceller k = {direct, DIRECT, token, 0};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &k);
    /* A long poll: only the cancellation's wakeup can end it early. */
    int64_t t0 = real_mono();
    while (pull_all(jobs, N) > 0 && real_mono() - t0 < 10000 * scale) {
        int running = -1;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        if (pull_all(jobs, N) > 0)
            CHECK_INT(llm_multi_poll(m, 5000), LLM_OK);
    }
    int64_t done = real_mono();
    pthread_join(th, NULL);
    CHECK_INT(pull_all(jobs, N), 0);
    CHECK(k.at > 0);
    CHECK(done - k.at < 1000 * scale);
    for (int i = NORMAL; i < N; i++) {
        CHECK_INT(jobs[i].rc, LLM_ERR_CANCELLED);
        llm_response *resp = NULL;
        CHECK_INT(llm_stream_take_response(jobs[i].s, &resp), LLM_OK);
        CHECK_INT(llm_response_status(resp), LLM_ERR_CANCELLED);
        CHECK(strlen(llm_response_errmsg(resp)) > 0);
        llm_response_free(resp);
        llm_stream_free(jobs[i].s);
    }
    mix_check(&x, jobs, NORMAL, 0);
    int64_t fails = 0;
    CHECK_INT(llm_client_total(cs, LLM_TOTAL_FAILURES, &fails), LLM_OK);
    CHECK_INT(fails, (DIRECT + TOKEN) / 2);
    llm_multi_free(m);
    llm_cancel_free(token);
    llm_request_free(r);
    llm_client_free(cs);
    llm_client_free(cw);
    free(stall);
    free(wait);
    mix_free(&x);
}

static void cancel_in_callback(int epoll_style)
{
    /* A long generated stream that stalls after its first few events. */
    char *f = faults("sse=1000,stallat=400,stall=-1");
    char *g = faults("sse=30");
    llm_client *c = make_client(&provs[0], "x", f);
    llm_client *ok = make_client(&provs[0], "x", g);
    llm_request *r = make_req("text");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    struct loop l;
    if (epoll_style)
        loop_init(&l, m);
    struct job j[2];
    memset(j, 0, sizeof j);
    j[0].streaming = j[1].streaming = 1;
    j[0].cancel_on_delta = 1;
    CHECK_INT(llm_stream_open(c, r, NULL, &j[0].s), LLM_OK);
    CHECK_INT(llm_stream_open(ok, r, NULL, &j[1].s), LLM_OK);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(llm_multi_add(m, j[i].s), LLM_OK);
        CHECK_INT(llm_stream_set_event_fn(j[i].s, on_cb, &j[i]), LLM_OK);
    }
    int64_t t0 = real_mono(), until = t0 + 5000 * scale;
    int running = -1;
    if (epoll_style)
        CHECK_INT(llm_multi_socket_action(m, -1, 0, &running), LLM_OK);
    while ((!j[0].nulls || !j[1].nulls) && real_mono() < until) {
        if (epoll_style) {
            loop_turn(&l, m, until);
        } else {
            CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
            if (!j[0].nulls || !j[1].nulls)
                CHECK_INT(llm_multi_poll(m, 2000), LLM_OK);
        }
    }
    CHECK(real_mono() - t0 < 2000 * scale);
    CHECK_INT(j[0].cancelled_here, 1);
    CHECK_INT(j[0].nulls, 1);
    CHECK_INT(j[0].after_cancel, 0);     /* nothing after the cancel but the end */
    CHECK_INT(j[0].final_status, LLM_ERR_CANCELLED);
    CHECK_INT(j[0].reentrant_bad, 0);
    CHECK_INT(j[1].nulls, 1);
    CHECK_INT(j[1].final_status, LLM_OK);
    CHECK_INT(j[1].text_deltas, 30);
    llm_response *resp = NULL;
    CHECK_INT(llm_stream_take_response(j[0].s, &resp), LLM_OK);
    CHECK_INT(llm_response_status(resp), LLM_ERR_CANCELLED);
    llm_response_free(resp);
    for (int i = 0; i < 2; i++)
        llm_stream_free(j[i].s);
    llm_multi_free(m);
    if (epoll_style) {
        CHECK_INT(l.nsockets, 0);
        close(l.ep);
    }
    llm_request_free(r);
    llm_client_free(c);
    llm_client_free(ok);
    free(f);
    free(g);
}

TEST(cancel_in_callback_poll) { cancel_in_callback(0); }
TEST(cancel_in_callback_epoll) { cancel_in_callback(1); }

/* A cancel before any event, with events already queued: the next pull
 * says cancelled, not one of the queued events. */
TEST(cancel_drops_queued_events)
{
    char *f = faults("sse=200");
    llm_client *c = make_client(&provs[0], "x", f);
    llm_request *r = make_req("text");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    llm_stream *s = NULL;
    CHECK_INT(llm_stream_open(c, r, NULL, &s), LLM_OK);
    CHECK_INT(llm_multi_add(m, s), LLM_OK);
    const llm_event *ev;
    int64_t t0 = real_mono();
    int rc = LLM_AGAIN;
    /* Drive without pulling until the whole stream has arrived. */
    for (int running = 1; running > 0 && real_mono() - t0 < 5000 * scale;) {
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        if (running)
            CHECK_INT(llm_multi_poll(m, 100), LLM_OK);
    }
    /* Finished: a late cancel changes nothing. */
    llm_stream_cancel(s);
    int n = 0;
    while ((rc = llm_stream_next(s, &ev)) == LLM_OK)
        n++;
    CHECK_INT(rc, LLM_DONE);
    CHECK(n >= 200);
    llm_stream_free(s);

    /* Cancelled mid-way with events queued. */
    llm_client *c2 = make_client(&provs[0], "x", f);
    char *g = faults("sse=5000,stallat=3000,stall=-1");
    llm_client *c3 = make_client(&provs[0], "x", g);
    CHECK_INT(llm_stream_open(c3, r, NULL, &s), LLM_OK);
    CHECK_INT(llm_multi_add(m, s), LLM_OK);
    t0 = real_mono();
    while (real_mono() - t0 < 300 * scale) {
        int running;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        CHECK_INT(llm_multi_poll(m, 20), LLM_OK);
    }
    CHECK_INT(llm_stream_next(s, &ev), LLM_OK);   /* events are waiting */
    llm_stream_cancel(s);
    CHECK_INT(llm_stream_next(s, &ev), LLM_ERR_CANCELLED);
    CHECK_INT(llm_stream_next(s, &ev), LLM_ERR_CANCELLED);
    CHECK_INT(llm_response_status(llm_stream_response(s)), LLM_ERR_CANCELLED);
    llm_stream_free(s);
    llm_multi_free(m);
    llm_request_free(r);
    llm_client_free(c);
    llm_client_free(c2);
    llm_client_free(c3);
    free(f);
    free(g);
}

/* ---- connection reuse ------------------------------------------------------ */

TEST(one_connection_for_1000_calls)
{
    char *f = faults(NULL);
    llm_client *c = make_client(&provs[0], "text", f);
    llm_request *r = make_req("text");
    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        llm_response *resp = NULL;
        if (llm_complete(c, r, NULL, &resp) == LLM_OK &&
            strcmp(llm_response_text(resp, NULL), "Hello from libllm.") == 0)
            ok++;
        llm_response_free(resp);
    }
    CHECK_INT(ok, 1000);
    char *pfx = tserver_prefix("openai", "text", f);
    long reqs = 0, acc = 0;
    CHECK_INT(tserver_stats(pfx, &reqs, &acc), 0);
    CHECK_INT(reqs, 1000);
    CHECK_INT(acc, 1);
    free(pfx);
    llm_request_free(r);
    llm_client_free(c);
    free(f);
}

TEST(one_connection_for_sequential_multi_calls)
{
    char *f = faults(NULL);
    llm_client *c = make_client(&provs[1], "text", f);
    llm_request *r = make_req("text");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        struct job j;
        memset(&j, 0, sizeof j);
        j.p = &provs[1];
        j.kase = "text";
        j.streaming = i % 2;
        start_job(&j, c, r, m);
        int64_t took = drive_poll(m, &j, 1, 2000);
        check_success(&j, 0);
        llm_stream_free(j.s);
        CHECK(took < 2000 * scale);
        if (took >= 2000 * scale)
            break;   /* already failed; do not wait out the rest */
    }
    char *pfx = tserver_prefix("anthropic", "text", f);
    long reqs = 0, acc = 0;
    CHECK_INT(tserver_stats(pfx, &reqs, &acc), 0);
    CHECK_INT(reqs, N);
    CHECK_INT(acc, 1);
    free(pfx);
    llm_multi_free(m);
    llm_request_free(r);
    llm_client_free(c);
    free(f);
}

/* ---- attaching and detaching ------------------------------------------------- */

TEST(add_and_remove_misuse)
{
    char *f = faults(NULL);
    llm_client *c = make_client(&provs[0], "text", f);
    llm_request *r = make_req("text");
    llm_multi *m = NULL, *m2 = NULL;
    llm_multi *bad = (llm_multi *)&bad;
    CHECK_INT(llm_multi_new(NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    CHECK_INT(llm_multi_new(&m2), LLM_OK);
    (void)bad;
    llm_stream *s = NULL, *t = NULL;
    CHECK_INT(llm_stream_open(c, r, NULL, &s), LLM_OK);
    CHECK_INT(llm_multi_add(NULL, s), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_add(m, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_remove(m, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_remove(NULL, s), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_remove(m, s), LLM_ERR_MISUSE);        /* not attached */
    CHECK_INT(llm_multi_add(m, s), LLM_OK);
    CHECK_INT(llm_multi_add(m, s), LLM_ERR_MISUSE);           /* twice */
    CHECK_INT(llm_multi_add(m2, s), LLM_ERR_MISUSE);          /* to another */
    CHECK_INT(llm_multi_remove(m2, s), LLM_ERR_MISUSE);       /* not its multi */
    CHECK_INT(llm_multi_perform(NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_poll(NULL, 0), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_poll(m, -1), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_wakeup(NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_socket_action(NULL, -1, 0, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_set_socket_fn(NULL, NULL, NULL), LLM_ERR_MISUSE);
    CHECK_INT(llm_multi_set_timer_fn(NULL, NULL, NULL), LLM_ERR_MISUSE);
    /* Removed before its first attempt: it goes on in blocking mode. */
    CHECK_INT(llm_multi_remove(m, s), LLM_OK);
    CHECK_INT(llm_multi_remove(m, s), LLM_ERR_MISUSE);
    const llm_event *ev;
    int rc, deltas = 0;
    while ((rc = llm_stream_next(s, &ev)) == LLM_OK)
        deltas += llm_event_type(ev) == LLM_EVENT_TEXT_DELTA;
    CHECK_INT(rc, LLM_DONE);
    CHECK(deltas >= 2);
    CHECK_STR(llm_response_text(llm_stream_response(s), NULL), "Hello from libllm.");
    /* Driven by llm_stream_next: too late to attach. */
    CHECK_INT(llm_multi_add(m, s), LLM_ERR_MISUSE);
    llm_stream_free(s);

    /* After its first llm_stream_next, even one that ended at once. */
    llm_request *empty = NULL;
    CHECK_INT(llm_request_new(&empty), LLM_OK);
    CHECK_INT(llm_complete_start(c, empty, NULL, &t), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_stream_next(t, &ev), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm_multi_add(m, t), LLM_ERR_MISUSE);
    llm_stream_free(t);
    llm_request_free(empty);
    CHECK_INT(llm_stream_open(c, r, NULL, &t), LLM_OK);
    CHECK_INT(llm_stream_next(t, &ev), LLM_OK);
    CHECK_INT(llm_multi_add(m, t), LLM_ERR_MISUSE);
    llm_stream_free(t);
    /* After its response was taken. */
    CHECK_INT(llm_complete_start(c, r, NULL, &t), LLM_OK);
    while ((rc = llm_stream_next(t, &ev)) == LLM_OK)
        ;
    llm_response *resp = NULL;
    CHECK_INT(llm_stream_take_response(t, &resp), LLM_OK);
    CHECK_INT(llm_multi_add(m, t), LLM_ERR_MISUSE);
    llm_response_free(resp);
    llm_stream_free(t);

    int running = -1;
    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
    CHECK_INT(running, 0);
    llm_multi_free(m);
    llm_multi_free(m2);
    llm_multi_free(NULL);
    llm_request_free(r);
    llm_client_free(c);
    free(f);
}

TEST(remove_in_flight_and_waiting)
{
    llm_test_set_clock(fake_now, fake_wall, fake_sleep, NULL);
    char *stall = faults("stall=-1");
    char *wait = faults("fail=1x503,ra=5");
    llm_client *cs = make_client(&provs[0], "text", stall);
    llm_client *cw = make_client(&provs[0], "text", wait);
    llm_request *r = make_req("text");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    llm_stream *run = NULL, *waiting = NULL;
    CHECK_INT(llm_stream_open(cs, r, NULL, &run), LLM_OK);
    CHECK_INT(llm_complete_start(cw, r, NULL, &waiting), LLM_OK);
    CHECK_INT(llm_multi_add(m, run), LLM_OK);
    CHECK_INT(llm_multi_add(m, waiting), LLM_OK);
    int64_t t0 = real_mono();
    while ((server_requests(&provs[0], "text", stall) < 1 || server_requests(&provs[0], "text", wait) < 1) &&
           real_mono() - t0 < 5000 * scale) {
        int running;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        CHECK_INT(llm_multi_poll(m, 50), LLM_OK);
    }
    for (int i = 0; i < 5; i++) {
        int running;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        CHECK_INT(running, 2);
        CHECK_INT(llm_multi_poll(m, 20), LLM_OK);
    }
    const llm_event *ev;
    CHECK_INT(llm_stream_next(run, &ev), LLM_AGAIN);
    CHECK_INT(llm_stream_next(waiting, &ev), LLM_AGAIN);
    /* In flight: removing it ends the call. */
    int64_t t1 = real_mono();
    CHECK_INT(llm_multi_remove(m, run), LLM_OK);
    CHECK_INT(llm_stream_next(run, &ev), LLM_ERR_CANCELLED);
    CHECK(real_mono() - t1 < 1000 * scale);
    llm_response *resp = NULL;
    CHECK_INT(llm_stream_take_response(run, &resp), LLM_OK);
    CHECK_INT(llm_response_status(resp), LLM_ERR_CANCELLED);
    llm_response_free(resp);
    llm_stream_free(run);
    /* Waiting to retry: it goes on in blocking mode (the test clock's
     * sleep takes the 5 s wait). */
    int64_t before = skipped;
    CHECK_INT(llm_multi_remove(m, waiting), LLM_OK);
    int rc;
    while ((rc = llm_stream_next(waiting, &ev)) == LLM_OK)
        ;
    CHECK_INT(rc, LLM_DONE);
    CHECK(skipped - before >= 4000);
    CHECK_INT(llm_response_attempts(llm_stream_response(waiting)), 2);
    CHECK_STR(llm_response_text(llm_stream_response(waiting), NULL), "Hello from libllm.");
    llm_stream_free(waiting);
    int running = -1;
    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
    CHECK_INT(running, 0);
    llm_multi_free(m);
    llm_request_free(r);
    llm_client_free(cs);
    llm_client_free(cw);
    free(stall);
    free(wait);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

static void *cancel_after_free(void *arg)
{
    llm_stream **s = arg;
    for (int i = 0; i < 4; i++)
        llm_stream_cancel(s[i]);
    return NULL;
}

TEST(free_multi_with_streams_attached)
{
    char *stall = faults("stall=-1");
    char *f = faults(NULL);
    llm_client *cs = make_client(&provs[0], "text", stall);
    llm_client *c = make_client(&provs[2], "text", f);
    llm_request *r = make_req("text");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    llm_stream *s[4];
    CHECK_INT(llm_stream_open(cs, r, NULL, &s[0]), LLM_OK);      /* in flight */
    CHECK_INT(llm_complete_start(cs, r, NULL, &s[1]), LLM_OK);   /* in flight */
    CHECK_INT(llm_stream_open(c, r, NULL, &s[2]), LLM_OK);       /* finished */
    for (int i = 0; i < 3; i++)
        CHECK_INT(llm_multi_add(m, s[i]), LLM_OK);
    int64_t t0 = real_mono();
    while (server_requests(&provs[0], "text", stall) < 2 && real_mono() - t0 < 5000 * scale) {
        int running;
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        CHECK_INT(llm_multi_poll(m, 50), LLM_OK);
    }
    for (int running = 3; running != 2 && real_mono() - t0 < 5000 * scale;) {
        CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
        CHECK_INT(llm_multi_poll(m, 20), LLM_OK);
    }
    CHECK_INT(llm_complete_start(c, r, NULL, &s[3]), LLM_OK);   /* never started */
    CHECK_INT(llm_multi_add(m, s[3]), LLM_OK);
    llm_multi_free(m);
    /* The streams outlive it; cancelling them touches nothing freed. */
    pthread_t th;
    pthread_create(&th, NULL, cancel_after_free, s);
    pthread_join(th, NULL);
    const llm_event *ev;
    CHECK_INT(llm_stream_next(s[0], &ev), LLM_ERR_CANCELLED);
    CHECK_INT(llm_stream_next(s[1], &ev), LLM_ERR_CANCELLED);
    CHECK_INT(llm_stream_next(s[3], &ev), LLM_ERR_CANCELLED);
    /* The finished one keeps its events and its result. */
    int rc, deltas = 0;
    while ((rc = llm_stream_next(s[2], &ev)) == LLM_OK)
        deltas += llm_event_type(ev) == LLM_EVENT_TEXT_DELTA;
    CHECK_INT(rc, LLM_DONE);
    CHECK(deltas >= 1);
    CHECK_STR(llm_response_text(llm_stream_response(s[2]), NULL), "Hello from libllm.");
    for (int i = 0; i < 4; i++)
        llm_stream_free(s[i]);
    llm_request_free(r);
    llm_client_free(cs);
    llm_client_free(c);
    free(stall);
    free(f);
}

TEST(stream_free_detaches)
{
    char *stall = faults("stall=-1");
    char *f = faults(NULL);
    llm_client *cs = make_client(&provs[0], "text", stall);
    llm_client *c = make_client(&provs[1], "tools", f);
    llm_request *r = make_req("tools");
    llm_multi *m = NULL;
    CHECK_INT(llm_multi_new(&m), LLM_OK);
    llm_stream *gone = NULL;
    CHECK_INT(llm_stream_open(cs, r, NULL, &gone), LLM_OK);
    CHECK_INT(llm_multi_add(m, gone), LLM_OK);
    struct job j[2];
    memset(j, 0, sizeof j);
    for (int i = 0; i < 2; i++) {
        j[i].p = &provs[1];
        j[i].kase = "tools";
        j[i].streaming = i;
        start_job(&j[i], c, r, m);
    }
    int running = -1;
    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
    CHECK_INT(running, 3);
    llm_stream_free(gone);   /* in flight, attached */
    drive_poll(m, j, 2, 5000);
    CHECK_INT(llm_multi_perform(m, &running), LLM_OK);
    CHECK_INT(running, 0);
    for (int i = 0; i < 2; i++) {
        check_success(&j[i], 0);
        llm_stream_free(j[i].s);
    }
    llm_multi_free(m);
    llm_request_free(r);
    llm_client_free(cs);
    llm_client_free(c);
    free(stall);
    free(f);
}

/* Driving functions refuse to run from inside an event callback. */
static llm_multi *cb_multi;
static int cb_results[4];
static void on_nested(llm_stream *s, const llm_event *ev, void *ud)
{
    (void)ud;
    if (ev)
        return;
    int running;
    cb_results[0] = llm_multi_perform(cb_multi, &running);
    cb_results[1] = llm_multi_socket_action(cb_multi, -1, 0, &running);
    cb_results[2] = llm_multi_poll(cb_multi, 0);
    cb_results[3] = llm_multi_remove(cb_multi, s);
}

TEST(no_driving_from_callbacks)
{
    char *f = faults(NULL);
    llm_client *c = make_client(&provs[0], "text", f);
    llm_request *r = make_req("text");
    CHECK_INT(llm_multi_new(&cb_multi), LLM_OK);
    llm_stream *s = NULL;
    CHECK_INT(llm_complete_start(c, r, NULL, &s), LLM_OK);
    CHECK_INT(llm_multi_add(cb_multi, s), LLM_OK);
    CHECK_INT(llm_stream_set_event_fn(s, on_nested, NULL), LLM_OK);
    memset(cb_results, 0, sizeof cb_results);
    int64_t t0 = real_mono();
    for (int running = 1; running > 0 && real_mono() - t0 < 5000 * scale;) {
        CHECK_INT(llm_multi_perform(cb_multi, &running), LLM_OK);
        if (running)
            CHECK_INT(llm_multi_poll(cb_multi, 100), LLM_OK);
    }
    for (int i = 0; i < 4; i++)
        CHECK_INT(cb_results[i], LLM_ERR_REENTRANT);
    CHECK_STR(llm_response_text(llm_stream_response(s), NULL), "Hello from libllm.");
    llm_stream_free(s);
    llm_multi_free(cb_multi);
    llm_request_free(r);
    llm_client_free(c);
    free(f);
}

/* LLM_TEST_CASES=a,b runs only the named tests (for valgrind sessions). */
static int wanted(const char *name)
{
    const char *only = getenv("LLM_TEST_CASES");
    if (!only || !*only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}
#define RUN_WANTED(name) do { if (wanted(#name)) RUN(name); } while (0)

int main(void)
{
    const char *sc = getenv("LLM_TEST_TIME_SCALE");
    if (sc && atoi(sc) > 0)
        scale = atoi(sc);
    CHECK_INT(llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV), LLM_OK);
    if (tserver_start(getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers") < 0) {
        printf("not ok - test server did not start\n");
        return 1;
    }
    RUN_WANTED(perform_poll_many_calls);
    RUN_WANTED(epoll_many_calls);
    RUN_WANTED(event_callbacks);
    RUN_WANTED(retry_wait_poll);
    RUN_WANTED(retry_wait_epoll);
    RUN_WANTED(fallback_poll);
    RUN_WANTED(fallback_epoll);
    RUN_WANTED(cache_hit_in_multi);
    RUN_WANTED(cancel_from_another_thread);
    RUN_WANTED(cancel_beats_retry);
    RUN_WANTED(cancel_in_callback_poll);
    RUN_WANTED(cancel_in_callback_epoll);
    RUN_WANTED(cancel_drops_queued_events);
    RUN_WANTED(one_connection_for_1000_calls);
    RUN_WANTED(one_connection_for_sequential_multi_calls);
    RUN_WANTED(add_and_remove_misuse);
    RUN_WANTED(remove_in_flight_and_waiting);
    RUN_WANTED(free_multi_with_streams_attached);
    RUN_WANTED(stream_free_detaches);
    RUN_WANTED(no_driving_from_callbacks);
    tserver_stop();
    llm_global_cleanup();
    return test_summary();
}
