/*
 * common.h - command-line handling shared by the examples: which provider,
 * model and base URL to talk to.  Header-only so that each example stays
 * one file to copy.
 */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include <llm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct example_opts {
    const char *provider;
    const char *model;
    const char *base_url;
    const char *prompt;
};

static inline const char *default_model(const char *provider)
{
    if (strcmp(provider, "anthropic") == 0) return "claude-sonnet-4-5";
    if (strcmp(provider, "gemini") == 0) return "gemini-2.5-flash";
    if (strcmp(provider, "bedrock") == 0) return "anthropic.claude-3-5-sonnet-20240620-v1:0";
    return "gpt-4o-mini";
}

/* --provider P --model M --base-url U [prompt]; returns 0 or prints usage. */
static inline int example_args(int argc, char **argv, struct example_opts *o, const char *default_prompt)
{
    o->provider = "openai";
    o->model = NULL;
    o->base_url = NULL;
    o->prompt = default_prompt;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc)
            o->provider = argv[++i];
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            o->model = argv[++i];
        else if (strcmp(argv[i], "--base-url") == 0 && i + 1 < argc)
            o->base_url = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--provider openai|azure|anthropic|gemini|bedrock] "
                            "[--model M] [--base-url URL] [prompt]\n", argv[0]);
            return 2;
        } else
            o->prompt = argv[i];
    }
    if (!o->model)
        o->model = default_model(o->provider);
    return 0;
}

/* A client for the options: credentials come from the provider's usual
 * environment variables (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...). */
static inline llm_client *example_client(const struct example_opts *o)
{
    llm_client *c;
    int rc = llm_client_new(&c, o->provider);
    if (rc != LLM_OK) {
        fprintf(stderr, "provider %s: %s\n", o->provider, llm_status_str(rc));
        return NULL;
    }
    if (llm_client_set_model(c, o->model) != LLM_OK ||
        (o->base_url && llm_client_set_base_url(c, o->base_url) != LLM_OK)) {
        fprintf(stderr, "%s\n", llm_client_errmsg(c));
        llm_client_free(c);
        return NULL;
    }
    return c;
}

static inline void example_report(const llm_response *resp)
{
    fprintf(stderr, "error: %s (%s, HTTP %d)\n", llm_response_errmsg(resp),
            llm_status_name(llm_response_status(resp)), llm_response_http_status(resp));
}

#endif
