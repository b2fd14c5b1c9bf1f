/*
 * adapter.h - small helpers every adapter uses to build JSON bodies and to
 * record provider data on responses (providers/common.c).
 */
#ifndef LLM_ADAPTER_H
#define LLM_ADAPTER_H

#include "internal.h"

/* Fail the response with LLM_ERR_NOMEM and return that status. */
int llm__resp_nomem(llm_response *r);

/* json_object_set_new / json_array_append_new that also fail (and release
 * nothing more) when v is NULL: an allocation that failed a step earlier
 * surfaces as LLM_ERR_NOMEM at the first use.  v is consumed either way. */
int llm__jset(json_t *o, const char *key, json_t *v);
int llm__jpush(json_t *a, json_t *v);

/* {key: v}, consuming v; NULL when any allocation failed. */
json_t *llm__jwrap(const char *key, json_t *v);

/* Serialise a JSON value as a part's meta, or as a new opaque part. */
int llm__resp_set_meta_json(llm_response *r, struct llm__part *p, const json_t *meta);
int llm__resp_add_opaque_json(llm_response *r, const json_t *block);

/* Add a turn of content blocks to a messages array (consumed): merged into
 * the last turn when the role is the same, tool results (by the
 * predicate) placed before the other blocks of the turn. */
int llm__add_turn(json_t *messages, const char *role, json_t *blocks,
                  int (*is_tool_result)(const json_t *block));

#endif
