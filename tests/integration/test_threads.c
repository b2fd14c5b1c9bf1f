/*
 * test_threads.c - one client shared by 8 threads making complete,
 * streamed and cancelled calls at once (run under ThreadSanitizer by
 * `make check-tsan`), with the running totals adding up afterwards.
 */
#include "llm.h"
#include "test.h"
#include "tserver.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 12

static llm_client *shared;
static llm_request *shared_req;   /* one request sent by every thread */
static _Atomic int ok_calls, cancelled_calls, bad;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int kind = (id + i) % 3;
        if (kind == 0) {
            llm_response *resp = NULL;
            if (llm_complete(shared, shared_req, NULL, &resp) == LLM_OK &&
                strcmp(llm_response_text(resp, NULL), "Hello from libllm.") == 0)
                ok_calls++;
            else
                bad++;
            llm_response_free(resp);
        } else if (kind == 1) {
            llm_stream *s = NULL;
            const llm_event *ev;
            int rc = llm_stream_open(shared, shared_req, NULL, &s);
            while (rc == LLM_OK && (rc = llm_stream_next(s, &ev)) == LLM_OK)
                ;
            if (rc == LLM_DONE && strcmp(llm_response_text(llm_stream_response(s), NULL), "Hello from libllm.") == 0)
                ok_calls++;
            else
                bad++;
            llm_stream_free(s);
        } else {
            /* Cancel a stream after its first event, from this thread. */
            llm_stream *s = NULL;
            const llm_event *ev;
            int rc = llm_stream_open(shared, shared_req, NULL, &s);
            if (rc == LLM_OK)
                rc = llm_stream_next(s, &ev);
            llm_stream_cancel(s);
            while (rc == LLM_OK)
                rc = llm_stream_next(s, &ev);
            if (rc == LLM_ERR_CANCELLED || rc == LLM_DONE)
                cancelled_calls++;
            else
                bad++;
            llm_stream_free(s);
        }
    }
    return NULL;
}

TEST(eight_threads_one_client)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(bad, 0);
    CHECK_INT(ok_calls + cancelled_calls, THREADS * ROUNDS);
    int64_t calls;
    CHECK_INT(llm_client_total(shared, LLM_TOTAL_CALLS, &calls), LLM_OK);
    CHECK_INT(calls, THREADS * ROUNDS);
}

int main(void)
{
    CHECK_INT(llm_global_init(LLM_INIT_DEFAULT | LLM_INIT_NO_ENV), LLM_OK);
    if (tserver_start(getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers") < 0) {
        printf("not ok - test server did not start\n");
        return 1;
    }
    CHECK_INT(llm_client_new(&shared, "openai"), LLM_OK);
    char *url = tserver_url("openai", "text", "split=17,threads", "v1");
    CHECK_INT(llm_client_set_base_url(shared, url), LLM_OK);
    free(url);
    CHECK_INT(llm_client_set_api_key(shared, "sk-threads"), LLM_OK);
    CHECK_INT(llm_client_set_model(shared, "gpt-4o-mini"), LLM_OK);
    CHECK_INT(llm_request_new(&shared_req), LLM_OK);
    CHECK_INT(llm_request_add_text(shared_req, LLM_ROLE_USER, "Say hi."), LLM_OK);
    RUN(eight_threads_one_client);
    llm_request_free(shared_req);
    llm_client_free(shared);
    tserver_stop();
    llm_global_cleanup();
    return test_summary();
}
