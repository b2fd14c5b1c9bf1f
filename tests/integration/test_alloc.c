/*
 * test_alloc.c - allocation failure through the public API: a host
 * allocator fails the Nth allocation for N = 1, 2, ... until a whole
 * scenario runs without reaching N.  Every run must end in LLM_OK (a
 * failure the library could absorb) or LLM_ERR_NOMEM, never a crash, a
 * different error, or a leak (ASan and valgrind runs check the last).
 */
#include "llm.h"
#include "test.h"
#include "tserver.h"

#include <stdlib.h>

static long countdown;    /* fail when it reaches 0; < 0: never */
static long allocations;
static int hit;

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    allocations++;
    if (countdown >= 0 && countdown-- == 0) {
        hit = 1;
        return NULL;
    }
    return malloc(n);
}

static void *t_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    allocations++;
    if (countdown >= 0 && countdown-- == 0) {
        hit = 1;
        return NULL;
    }
    return realloc(p, n);
}

static void t_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static char *url_text, *url_tools;

/* One scenario: build a conversation with tools, make a complete call and
 * a streamed one.  Returns the first status that was not LLM_OK. */
static int scenario(void)
{
    llm_client *c = NULL;
    llm_request *r = NULL;
    llm_response *resp = NULL;
    llm_stream *s = NULL;
    int rc = llm_client_new(&c, "openai");
    if (rc == LLM_OK) rc = llm_client_set_base_url(c, url_text);
    if (rc == LLM_OK) rc = llm_client_set_api_key(c, "sk-alloc-test");
    if (rc == LLM_OK) rc = llm_client_set_model(c, "gpt-4o-mini");
    if (rc == LLM_OK) rc = llm_client_set_max_retries(c, 0);
    if (rc == LLM_OK) rc = llm_request_new(&r);
    if (rc == LLM_OK) rc = llm_request_add_text(r, LLM_ROLE_SYSTEM, "You are terse.");
    if (rc == LLM_OK) rc = llm_request_add_text(r, LLM_ROLE_USER, "Say hi.");
    if (rc == LLM_OK) rc = llm_request_add_tool(r, "get_weather", "Weather.", "{\"type\":\"object\"}");
    if (rc == LLM_OK) rc = llm_request_set_temperature(r, 0.5);
    if (rc == LLM_OK) rc = llm_complete(c, r, NULL, &resp);
    if (rc == LLM_OK && strcmp(llm_response_text(resp, NULL), "Hello from libllm.") != 0)
        rc = -1000;
    llm_response_free(resp);
    resp = NULL;
    if (rc == LLM_OK) {
        rc = llm_stream_open(c, r, NULL, &s);
        const llm_event *ev;
        while (rc == LLM_OK && (rc = llm_stream_next(s, &ev)) == LLM_OK)
            ;
        if (rc == LLM_DONE)
            rc = LLM_OK;
        if (rc == LLM_OK && llm_stream_take_response(s, &resp) == LLM_OK &&
            strcmp(llm_response_text(resp, NULL), "Hello from libllm.") != 0)
            rc = -1001;
        llm_response_free(resp);
        llm_stream_free(s);
    }
    llm_request_free(r);
    llm_client_free(c);
    return rc;
}

TEST(every_allocation_may_fail)
{
    long n = 0, runs = 0, absorbed = 0;
    for (;; n++) {
        countdown = n;
        hit = 0;
        allocations = 0;
        int irc = llm_global_init_alloc(LLM_INIT_NO_ENV, t_malloc, t_realloc, t_free, NULL);
        if (irc != LLM_OK) {
            CHECK_INT(irc, LLM_ERR_NOMEM);
            continue;
        }
        int rc = scenario();
        llm_global_cleanup();
        runs++;
        if (!hit) {
            CHECK_INT(rc, LLM_OK);
            break;
        }
        if (rc == LLM_OK)
            absorbed++;
        else if (rc != LLM_ERR_NOMEM) {
            printf("#   allocation %ld failed: status %s\n", n, llm_status_name(rc));
            CHECK_INT(rc, LLM_ERR_NOMEM);
        }
        if (n > 20000) {
            CHECK(!"the scenario never ran without a failure");
            break;
        }
    }
    printf("#   %ld allocations, %ld runs, %ld failures absorbed\n", n, runs, absorbed);
    CHECK(n > 50);
}

int main(void)
{
    /* curl's global state is set up once, outside the counted runs. */
    CHECK_INT(llm_global_init(LLM_INIT_CURL | LLM_INIT_NO_ENV), LLM_OK);
    if (tserver_start(getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers") < 0) {
        printf("not ok - test server did not start\n");
        return 1;
    }
    url_text = tserver_url("openai", "text", "alloc", "v1");
    url_tools = tserver_url("openai", "tools", "alloc", "v1");
    llm_global_cleanup();
    RUN(every_allocation_may_fail);
    free(url_text);
    free(url_tools);
    tserver_stop();
    return test_summary();
}
