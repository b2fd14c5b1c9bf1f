/*
 * stream.c - print tokens as they arrive.
 *
 *   stream [--provider P] [--model M] [--base-url URL] ["prompt"]
 */
#include "common.h"

int main(int argc, char **argv)
{
    struct example_opts o;
    if (example_args(argc, argv, &o, "Say hi.") != 0)
        return 2;
    if (llm_global_init(LLM_INIT_DEFAULT) != LLM_OK)
        return 1;
    int status = 1;
    llm_client *client = example_client(&o);
    llm_request *req = NULL;
    llm_stream *stream = NULL;
    if (client && llm_request_new(&req) == LLM_OK &&
        llm_request_add_text(req, LLM_ROLE_USER, o.prompt) == LLM_OK &&
        llm_stream_open(client, req, NULL, &stream) == LLM_OK) {
        const llm_event *ev;
        int rc;
        while ((rc = llm_stream_next(stream, &ev)) == LLM_OK) {
            size_t n;
            const char *text = llm_event_text(ev, &n);
            if (llm_event_type(ev) == LLM_EVENT_TEXT_DELTA) {
                fwrite(text, 1, n, stdout);
                fflush(stdout);
            } else if (llm_event_type(ev) == LLM_EVENT_WARNING) {
                fprintf(stderr, "\n[warning: %s]\n", text);
            }
        }
        printf("\n");
        if (rc == LLM_DONE)
            status = 0;
        else
            example_report(llm_stream_response(stream));
    } else if (stream) {
        example_report(llm_stream_response(stream));
    }
    llm_stream_free(stream);
    llm_request_free(req);
    llm_client_free(client);
    llm_global_cleanup();
    return status;
}
