/*
 * gemini_schema.h - JSON Schema to the OpenAPI-3.0 subset that Gemini's
 * `parameters` and `responseSchema` fields accept (providers.md 4.4).
 */
#ifndef LLM_GEMINI_SCHEMA_H
#define LLM_GEMINI_SCHEMA_H

#include "internal.h"

/* Schemas nested deeper than this are refused rather than recursed into. */
#define LLM__GEMINI_SCHEMA_MAX_DEPTH 64

/* Convert one JSON Schema object into a new Gemini Schema object (*out,
 * owned by the caller).  LLM_OK; LLM_ERR_INVALID_ARG with a readable
 * reason appended to err ("JSON Schema keyword '$ref' at properties.city is
 * not supported by Gemini") when a keyword cannot be converted; or
 * LLM_ERR_NOMEM.  *out is NULL on failure. */
int llm__gemini_schema_convert(const json_t *schema, json_t **out, llm__buf *err);

/* The same from JSON text; text that is not JSON is LLM_ERR_INVALID_ARG. */
int llm__gemini_schema_convert_text(const char *text, size_t len, json_t **out,
                                    llm__buf *err);

#endif
