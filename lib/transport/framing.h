/*
 * framing.h - details of the framing parsers (sse.c, eventstream.c) beyond
 * the contract in internal.h: why a parser stopped, and the SSE state that
 * outlives one event.
 */
#ifndef LLM_FRAMING_H
#define LLM_FRAMING_H

#include "internal.h"

/* A static description of the sticky failure ("" while there is none). */
const char *llm__sse_errmsg(const struct llm__sse *p);
const char *llm__evs_errmsg(const struct llm__evs *p);

/* The last `retry:` value in milliseconds, or -1 if none was valid. */
int64_t llm__sse_retry(const struct llm__sse *p);
/* The last-event-id buffer ("" until an `id:` field set it). */
const char *llm__sse_last_id(const struct llm__sse *p);

#endif /* LLM_FRAMING_H */
