/*
 * tools.c - a complete tool-calling loop with a local C function: the model
 * asks for the weather, this program answers, the model writes the reply.
 *
 *   tools [--provider P] [--model M] [--base-url URL] ["question"]
 */
#include "common.h"

/* The "tool": a real program would look the weather up somewhere. */
static int get_weather(const char *args_json, char *out, size_t outlen)
{
    int warm = strstr(args_json, "Paris") != NULL;
    snprintf(out, outlen, "{\"temp_c\":%d,\"sky\":\"%s\"}", warm ? 18 : 9, warm ? "clear" : "rain");
    return 0;
}

int main(int argc, char **argv)
{
    struct example_opts o;
    if (example_args(argc, argv, &o, "What is the weather in Paris?") != 0)
        return 2;
    if (llm_global_init(LLM_INIT_DEFAULT) != LLM_OK)
        return 1;
    int status = 1;
    llm_client *client = example_client(&o);
    llm_request *req = NULL;
    llm_response *resp = NULL;
    if (!client || llm_request_new(&req) != LLM_OK)
        goto out;
    llm_request_add_text(req, LLM_ROLE_USER, o.prompt);
    llm_request_add_tool(req, "get_weather", "Current weather for a city.",
                         "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                         "\"required\":[\"city\"]}");
    for (int turn = 0; turn < 5; turn++) {
        if (llm_complete(client, req, NULL, &resp) != LLM_OK) {
            example_report(resp);
            goto out;
        }
        size_t calls = llm_response_tool_call_count(resp);
        if (calls == 0) {
            printf("%s\n", llm_response_text(resp, NULL));
            status = 0;
            goto out;
        }
        /* The answer becomes the next assistant turn, then one result per call. */
        llm_request_add_response(req, resp);
        for (size_t i = 0; i < calls; i++) {
            const char *name = llm_response_tool_call_name(resp, i);
            const char *args = llm_response_tool_call_arguments(resp, i, NULL);
            char result[256];
            fprintf(stderr, "[tool %s(%s)]\n", name, args);
            if (strcmp(name, "get_weather") == 0 && get_weather(args, result, sizeof result) == 0)
                llm_request_add_tool_result(req, llm_response_tool_call_id(resp, i), NULL, result,
                                            strlen(result), LLM_TOOL_RESULT_JSON);
            else
                llm_request_add_tool_result(req, llm_response_tool_call_id(resp, i), NULL,
                                            "unknown tool", 12, LLM_TOOL_RESULT_ERROR);
        }
        llm_response_free(resp);
        resp = NULL;
    }
    fprintf(stderr, "the model kept calling tools; giving up\n");
out:
    llm_response_free(resp);
    llm_request_free(req);
    llm_client_free(client);
    llm_global_cleanup();
    return status;
}
