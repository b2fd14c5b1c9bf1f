/*
 * sigv4.h - AWS Signature Version 4 in the Authorization header
 * (providers.md 6), for the Bedrock adapter and its tests.
 */
#ifndef LLM_SIGV4_H
#define LLM_SIGV4_H

#include "internal.h"

struct llm__sigv4 {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;     /* NULL or "": long-term credentials */
    const char *region;
    const char *service;           /* signing name: "bedrock" for Bedrock Runtime */
    int64_t now_ms;                /* epoch milliseconds, UTC */
    /* The zero values are what every service but Amazon S3 wants: the
     * path normalised (dot segments and empty segments removed) and the
     * wire path URI-encoded once more.  S3 sets both flags. */
    int no_normalize_path;
    int no_double_encode;
    /* Add and sign x-amz-content-sha256 (S3; harmless elsewhere). */
    int sign_body;
    /* Add X-Amz-Security-Token after signing, unsigned (a few services). */
    int omit_session_token;
};

/* What signing computed, for tests and diagnostics. */
struct llm__sigv4_trace {
    llm__buf canonical_request;
    llm__buf string_to_sign;
    char signature[65];
};

/* Sign req in place: method, URL, headers and body are read as they are;
 * X-Amz-Date, X-Amz-Security-Token (with a session token),
 * x-amz-content-sha256 (sign_body) and Authorization are added, replacing
 * earlier ones.  Every header already on req is signed except hop-by-hop
 * and mutable ones (user-agent, expect, ...); host comes from a Host
 * header when req has one, else from the URL the way an HTTP client sends
 * it (default ports left out).  trace may be NULL; the caller frees it
 * with llm__sigv4_trace_free.  Returns LLM_OK, LLM_ERR_NOMEM, or
 * LLM_ERR_INVALID_ARG with *why_out (a static string; may be NULL) saying
 * what is wrong with the URL, the credentials or the time. */
int  llm__sigv4_sign(struct llm__http_req *req, const struct llm__sigv4 *p,
                     struct llm__sigv4_trace *trace, const char **why_out);
void llm__sigv4_trace_free(struct llm__sigv4_trace *t);

/* Lower-case hex SHA-256 of n bytes into out (65 bytes with the NUL). */
int  llm__sigv4_sha256_hex(const void *data, size_t n, char out[65]);

#endif /* LLM_SIGV4_H */
