/*
 * parallel.c - N prompts at once on one thread through the multi
 * interface, with a progress line.
 *
 *   parallel [--provider P] [--model M] [--base-url URL] [-n N] [prompt]
 */
#include "common.h"

int main(int argc, char **argv)
{
    int n = 8;
    /* Peel off -n before the shared options. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-n") == 0) {
            n = atoi(argv[i + 1]);
            for (int k = i; k + 2 < argc; k++)
                argv[k] = argv[k + 2];
            argc -= 2;
            break;
        }
    if (n < 1 || n > 10000) {
        fprintf(stderr, "-n takes 1..10000\n");
        return 2;
    }
    struct example_opts o;
    if (example_args(argc, argv, &o, "Say hi.") != 0)
        return 2;
    if (llm_global_init(LLM_INIT_DEFAULT) != LLM_OK)
        return 1;
    llm_client *client = example_client(&o);
    llm_request *req = NULL;
    llm_multi *multi = NULL;
    llm_stream **calls = calloc((size_t)n, sizeof *calls);
    int ok = 0, failed = 0;
    if (!client || !calls || llm_request_new(&req) != LLM_OK || llm_multi_new(&multi) != LLM_OK)
        goto out;
    llm_request_add_text(req, LLM_ROLE_USER, o.prompt);
    /* One request, sent N times: a request is never written by a call. */
    for (int i = 0; i < n; i++) {
        if (llm_stream_open(client, req, NULL, &calls[i]) != LLM_OK ||
            llm_multi_add(multi, calls[i]) != LLM_OK) {
            fprintf(stderr, "call %d could not start\n", i);
            goto out;
        }
    }
    int running = n;
    while (running > 0) {
        llm_multi_perform(multi, &running);
        /* Pull whatever each stream has; LLM_AGAIN means "nothing yet". */
        ok = failed = 0;
        for (int i = 0; i < n; i++) {
            const llm_event *ev;
            int rc;
            while ((rc = llm_stream_next(calls[i], &ev)) == LLM_OK)
                ;
            if (rc == LLM_DONE)
                ok++;
            else if (rc != LLM_AGAIN)
                failed++;
        }
        fprintf(stderr, "\r%d/%d done, %d failed", ok, n, failed);
        if (running > 0)
            llm_multi_poll(multi, 1000);
    }
    fprintf(stderr, "\n");
    for (int i = 0; i < n; i++) {
        const llm_response *r = llm_stream_response(calls[i]);
        if (llm_response_status(r) == LLM_OK)
            printf("%d: %s\n", i, llm_response_text(r, NULL));
        else
            printf("%d: error: %s\n", i, llm_response_errmsg(r));
    }
out:
    for (int i = 0; calls && i < n; i++)
        llm_stream_free(calls[i]);
    free(calls);
    llm_multi_free(multi);
    llm_request_free(req);
    llm_client_free(client);
    llm_global_cleanup();
    return failed == 0 && ok == n ? 0 : 1;
}
