/*
 * chat.c - one question, one answer.
 *
 *   chat [--provider P] [--model M] [--base-url URL] ["question"]
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
    llm_response *resp = NULL;
    if (client && llm_request_new(&req) == LLM_OK &&
        llm_request_add_text(req, LLM_ROLE_USER, o.prompt) == LLM_OK) {
        if (llm_complete(client, req, NULL, &resp) == LLM_OK) {
            int64_t in = -1, out = -1;
            llm_response_usage(resp, LLM_USAGE_INPUT, &in);
            llm_response_usage(resp, LLM_USAGE_OUTPUT, &out);
            printf("%s\n", llm_response_text(resp, NULL));
            fprintf(stderr, "[%s %s, %lld in / %lld out tokens]\n", llm_response_provider(resp),
                    llm_response_model(resp) ? llm_response_model(resp) : o.model,
                    (long long)in, (long long)out);
            status = 0;
        } else if (resp) {
            example_report(resp);
        }
    }
    llm_response_free(resp);
    llm_request_free(req);
    llm_client_free(client);
    llm_global_cleanup();
    return status;
}
