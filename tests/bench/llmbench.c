/*
 * llmbench.c - the same work as baseline.c, through libllm's public API.
 *
 *   llmbench seq N URL | stream URL | multi N URL
 *
 * URL is the OpenAI-style base URL (".../v1").  Prints the same line as
 * the baseline.
 */
#include "llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

static void report(size_t text)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
    printf("cpu_ms=%ld rss_kb=%ld bytes=0 text=%zu\n", cpu, ru.ru_maxrss, text);
}

static size_t drain(llm_stream *s)
{
    const llm_event *ev;
    int rc;
    size_t text = 0;
    while ((rc = llm_stream_next(s, &ev)) == LLM_OK)
        if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA) {
            size_t n;
            llm_event_text(ev, &n);
            text += n;
        }
    if (rc != LLM_DONE) {
        fprintf(stderr, "stream failed: %s\n", llm_response_errmsg(llm_stream_response(s)));
        exit(1);
    }
    return text;
}

int main(int argc, char **argv)
{
    if (argc < 3 || llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV) != LLM_OK)
        return 2;
    llm_request *req;
    llm_request_new(&req);
    llm_request_add_text(req, LLM_ROLE_USER, "Say hi.");
    size_t text = 0;
    if (strcmp(argv[1], "seq") == 0 && argc == 4) {
        llm_client *c = client(argv[3]);
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++) {
            llm_response *resp;
            if (llm_complete(c, req, NULL, &resp) != LLM_OK) {
                fprintf(stderr, "call failed: %s\n", llm_response_errmsg(resp));
                return 1;
            }
            size_t len;
            llm_response_text(resp, &len);
            text += len;
            llm_response_free(resp);
        }
        llm_client_free(c);
    } else if (strcmp(argv[1], "stream") == 0) {
        llm_client *c = client(argv[2]);
        llm_stream *s;
        if (llm_stream_open(c, req, NULL, &s) != LLM_OK)
            return 1;
        text = drain(s);
        llm_stream_free(s);
        llm_client_free(c);
    } else if (strcmp(argv[1], "multi") == 0 && argc == 4) {
        llm_client *c = client(argv[3]);
        int n = atoi(argv[2]);
        llm_multi *m;
        llm_multi_new(&m);
        llm_stream **s = calloc((size_t)n, sizeof *s);
        for (int i = 0; i < n; i++) {
            llm_stream_open(c, req, NULL, &s[i]);
            llm_multi_add(m, s[i]);
        }
        int running = n;
        while (running) {
            llm_multi_perform(m, &running);
            for (int i = 0; i < n; i++) {
                const llm_event *ev;
                int rc;
                while ((rc = llm_stream_next(s[i], &ev)) == LLM_OK)
                    if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA) {
                        size_t len;
                        llm_event_text(ev, &len);
                        text += len;
                    }
            }
            if (running)
                llm_multi_poll(m, 1000);
        }
        for (int i = 0; i < n; i++)
            llm_stream_free(s[i]);
        free(s);
        llm_multi_free(m);
        llm_client_free(c);
    } else {
        return 2;
    }
    report(text);
    llm_request_free(req);
    llm_global_cleanup();
    return 0;
}
