/*
 * llmbench.c - the same work as baseline.c, through libllm's public API,
 * with the same checks on every answer.
 *
 *   llmbench seq N URL       N sequential llm_complete calls on one client
 *   llmbench stream URL      one stream drained with llm_stream_next
 *   llmbench multi N URL     N concurrent streams on one llm_multi, driven
 *                            by perform/poll, events to callbacks
 *
 * URL is the OpenAI-style base URL (".../v1").  Prints the same line as
 * the baseline (bytes=0: libllm does not count wire bytes; run.sh takes
 * them from the baseline, which reads the same stream).
 */
#include "llm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static llm_client *client(const char *url)
{
    llm_client *c;
    if (llm_client_new(&c, "openai") != LLM_OK)
        exit(1);
    llm_client_set_base_url(c, url);
    llm_client_set_api_key(c, "sk-bench");
    llm_client_set_model(c, "gpt-4o-mini");
    llm_client_set_max_retries(c, 0);
    return c;
}

static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report(int64_t cpu0, int64_t wall0, size_t text, size_t events)
{
    int64_t cpu = cpu_us() - cpu0, wall = wall_us() - wall0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cpu_us=%lld wall_us=%lld rss_kb=%ld bytes=0 text=%zu events=%zu\n", (long long)cpu,
           (long long)wall, ru.ru_maxrss, text, events);
}

static size_t sse_events(const char *url)
{
    const char *p = strstr(url, "sse=");
    return p ? (size_t)strtoull(p + 4, NULL, 10) : 0;
}

/* What the baseline checks, read through the public accessors. */
static int check_plain(const llm_response *r)
{
    size_t len;
    const char *t = llm_response_text(r, &len);
    int64_t out = 0;
    return llm_response_status(r) == LLM_OK && llm_response_http_status(r) == 200 && len == 18 &&
           memcmp(t, "Hello from libllm.", 18) == 0 && llm_response_finish(r) == LLM_FINISH_STOP &&
           llm_response_usage(r, LLM_USAGE_OUTPUT, &out) == LLM_OK && out == 5 &&
           llm_response_id(r) && llm_response_model(r) && llm_response_request_id(r);
}

static int check_stream(const llm_response *r, size_t n)
{
    size_t len;
    llm_response_text(r, &len);
    int64_t out = 0;
    return llm_response_status(r) == LLM_OK && llm_response_http_status(r) == 200 && len == 4 * n &&
           llm_response_finish(r) == LLM_FINISH_STOP &&
           llm_response_usage(r, LLM_USAGE_OUTPUT, &out) == LLM_OK && out == (int64_t)n &&
           llm_response_id(r) && llm_response_model(r);
}

struct multi_state {
    size_t text, events, ended, bad, want;
};

static void on_event(llm_stream *s, const llm_event *ev, void *ud)
{
    struct multi_state *st = ud;
    if (!ev) {
        st->ended++;
        if (!check_stream(llm_stream_response(s), st->want))
            st->bad++;
        return;
    }
    if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA) {
        size_t n;
        llm_event_text(ev, &n);
        st->text += n;
        st->events++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV) != LLM_OK)
        return 2;
    llm_request *req;
    llm_request_new(&req);
    llm_request_add_text(req, LLM_ROLE_USER, "Say hi.");
    if (strcmp(argv[1], "seq") == 0 && argc == 4) {
        llm_client *c = client(argv[3]);
        int n = atoi(argv[2]);
        size_t text = 0;
        int64_t cpu0 = cpu_us(), wall0 = wall_us();
        for (int i = 0; i < n; i++) {
            llm_response *resp;
            if (llm_complete(c, req, NULL, &resp) != LLM_OK || !check_plain(resp)) {
                fprintf(stderr, "call %d failed: %s\n", i, llm_response_errmsg(resp));
                return 1;
            }
            size_t len;
            llm_response_text(resp, &len);
            text += len;
            llm_response_free(resp);
        }
        report(cpu0, wall0, text, 0);
        llm_client_free(c);
    } else if (strcmp(argv[1], "stream") == 0) {
        llm_client *c = client(argv[2]);
        llm_stream *s;
        size_t text = 0, events = 0;
        int64_t cpu0 = cpu_us(), wall0 = wall_us();
        if (llm_stream_open(c, req, NULL, &s) != LLM_OK)
            return 1;
        const llm_event *ev;
        int rc;
        while ((rc = llm_stream_next(s, &ev)) == LLM_OK)
            if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA) {
                size_t n;
                llm_event_text(ev, &n);
                text += n;
                events++;
            }
        if (rc != LLM_DONE || !check_stream(llm_stream_response(s), sse_events(argv[2]))) {
            fprintf(stderr, "stream failed: %s\n", llm_response_errmsg(llm_stream_response(s)));
            return 1;
        }
        report(cpu0, wall0, text, events);
        llm_stream_free(s);
        llm_client_free(c);
    } else if (strcmp(argv[1], "multi") == 0 && argc == 4) {
        llm_client *c = client(argv[3]);
        int n = atoi(argv[2]);
        struct multi_state st = {0};
        st.want = sse_events(argv[3]);
        int64_t cpu0 = cpu_us(), wall0 = wall_us();
        llm_multi *m;
        llm_multi_new(&m);
        llm_stream **s = calloc((size_t)n, sizeof *s);
        for (int i = 0; i < n; i++) {
            if (llm_stream_open(c, req, NULL, &s[i]) != LLM_OK ||
                llm_stream_set_event_fn(s[i], on_event, &st) != LLM_OK ||
                llm_multi_add(m, s[i]) != LLM_OK)
                return 1;
        }
        int running = n;
        while (running) {
            llm_multi_perform(m, &running);
            if (running)
                llm_multi_poll(m, 1000);
        }
        if (st.ended != (size_t)n || st.bad) {
            fprintf(stderr, "%zu of %d streams ended, %zu wrong\n", st.ended, n, st.bad);
            return 1;
        }
        report(cpu0, wall0, st.text, st.events);
        for (int i = 0; i < n; i++)
            llm_stream_free(s[i]);
        free(s);
        llm_multi_free(m);
        llm_client_free(c);
    } else {
        return 2;
    }
    llm_request_free(req);
    llm_global_cleanup();
    return 0;
}
