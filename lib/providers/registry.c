/*
 * registry.c - provider names to adapters.  A provider compiled out with
 * LLM_DISABLE_PROVIDER_<NAME> is unknown at run time (llm_has_feature).
 */
#include "internal.h"
#include "providers/provider.h"

static const struct {
    const char *name;
    const struct llm__provider_ops *ops;
} providers[] = {
#ifndef LLM_DISABLE_PROVIDER_OPENAI
    {"openai", &llm__openai_ops},
#endif
#ifndef LLM_DISABLE_PROVIDER_AZURE
    {"azure", &llm__azure_ops},
#endif
#ifndef LLM_DISABLE_PROVIDER_ANTHROPIC
    {"anthropic", &llm__anthropic_ops},
#endif
#ifndef LLM_DISABLE_PROVIDER_GEMINI
    {"gemini", &llm__gemini_ops},
#endif
#ifndef LLM_DISABLE_PROVIDER_BEDROCK
    {"bedrock", &llm__bedrock_ops},
#endif
    {NULL, NULL},
};

const struct llm__provider_ops *llm__provider_find(const char *name)
{
    for (size_t i = 0; name && providers[i].name; i++)
        if (strcmp(providers[i].name, name) == 0)
            return providers[i].ops;
    return NULL;
}
