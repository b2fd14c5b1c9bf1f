/*
 * openai_common.h - the Chat Completions wire format, shared by the
 * "openai" adapter (OpenAI and every OpenAI-compatible server) and the
 * "azure" adapter (Azure OpenAI).  The two differ only in URL, credential
 * headers and the default output-limit field; everything else lives in
 * openai_common.c so that either adapter can be built without the other.
 */
#ifndef LLM_PROVIDERS_OPENAI_COMMON_H
#define LLM_PROVIDERS_OPENAI_COMMON_H

#include "internal.h"

#define LLM__OPENAI_DEFAULT_BASE "https://api.openai.com/v1"

/* The output-limit field names (providers.md 1.2, 1.6). */
#define LLM__OPENAI_FIELD_COMPLETION "max_completion_tokens"
#define LLM__OPENAI_FIELD_LEGACY     "max_tokens"

/* The JSON body of a Chat Completions request into out->body.  The model
 * is required; max_tokens_field names the field that carries the
 * request's output limit.  Fails the call's response on error. */
int llm__openai_build_body(struct llm__call *call, const char *max_tokens_field,
                           struct llm__http_req *out);

/* An "Authorization: Bearer <secret>" header; the temporary copy is wiped. */
int llm__openai_bearer(struct llm__call *call, struct llm__http_req *out, const char *secret);

/* 1 for OpenAI reasoning models (o1, o3, o4, gpt-5 families), which reject
 * temperature and top_p. */
int llm__openai_reasoning_model(const char *model);

/* The rest of the vtable, identical for both adapters. */
int  llm__openai_parse(struct llm__call *call, const struct llm__http_res *res, llm_response *out);
int  llm__openai_stream_begin(struct llm__sstate *st);
int  llm__openai_stream_event(struct llm__sstate *st, const struct llm__frame *f);
int  llm__openai_stream_end(struct llm__sstate *st);
void llm__openai_stream_free(struct llm__sstate *st);
int  llm__openai_map_error(struct llm__call *call, const struct llm__http_res *res,
                           llm_response *out);

#endif
