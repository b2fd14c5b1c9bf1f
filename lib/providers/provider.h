/*
 * provider.h - the adapters' vtables.  One per wire format; Azure and
 * OpenAI-compatible servers share the OpenAI adapter's code.
 */
#ifndef LLM_PROVIDER_H
#define LLM_PROVIDER_H

#include "internal.h"

extern const struct llm__provider_ops llm__openai_ops;
extern const struct llm__provider_ops llm__azure_ops;
extern const struct llm__provider_ops llm__anthropic_ops;
extern const struct llm__provider_ops llm__gemini_ops;
extern const struct llm__provider_ops llm__bedrock_ops;

#endif
