/*
 * fixture.h - reading the provider fixtures of tests/providers (format in
 * tests/providers/README.md) in the adapters' unit tests.
 */
#ifndef LLM_TEST_FIXTURE_H
#define LLM_TEST_FIXTURE_H

#include "internal.h"

/* A reply file split into status, headers and body; the strings point
 * into raw. */
struct fixture {
    char *raw;
    int status;
    struct llm__header h[16];
    size_t nh;
    const char *body;
    size_t body_len;
};

/* The whole file $LLM_TEST_ROOT/<provider>/<kase>/<file> (malloc'd and
 * NUL-terminated), or NULL with a note printed. */
char *fixture_slurp(const char *provider, const char *kase, const char *file, size_t *len_out);
/* Load and split a reply file; 0 or -1. */
int fixture_load(const char *provider, const char *kase, const char *file, struct fixture *fx);
void fixture_release(struct fixture *fx);

#endif
