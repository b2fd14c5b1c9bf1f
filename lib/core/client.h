/*
 * client.h - the client object as core sees it.
 */
#ifndef LLM_CLIENT_H
#define LLM_CLIENT_H

#include "internal.h"
#include "hooks/hooks.h"

#include <pthread.h>

struct llm__conn;

#define LLM__NTIMEOUTS 6
#define LLM__NTOTALS   10

struct llm_client {
    atomic_int refs;
    atomic_int frozen;             /* set by the first call: setters fail after */
    const struct llm__provider_ops *ops;
    char *provider;
    /* Configuration (frozen at the first call). */
    char *api_key, *bearer_token;
    char *aws_access_key_id, *aws_secret_access_key, *aws_session_token;
    char *region, *base_url, *model, *api_version, *organization, *project;
    char *ca_file, *cache_namespace;
    int64_t timeouts[LLM__NTIMEOUTS];   /* indexed by LLM_TIMEOUT_* */
    int64_t max_response_bytes, max_event_bytes;
    struct llm__header *headers;
    size_t nheaders;
    int drop_unsupported;
    int32_t default_max_tokens;
    int max_tokens_field;
    int32_t max_retries;
    int verify_tls;
    llm_hooks *hooks;
    llm_client *fallback;
    /* Run-time state, each with its own lock. */
    struct llm__breaker breaker;
    struct llm__retry_budget budget;
    struct llm__prices *prices;
    pthread_mutex_t lock;          /* totals and the connection pool */
    int64_t totals[LLM__NTOTALS];
    struct llm__conn *idle;        /* connections ready for reuse */
    void *share;                   /* CURLSH: DNS and TLS sessions */
    pthread_mutex_t share_locks[4];
    llm__buf errmsg;
};

void llm__client_retain(llm_client *c);
void llm__client_release(llm_client *c);
void llm__client_count(llm_client *c, int kind, int64_t delta);
/* The secrets to redact from every text of this client's calls. */
size_t llm__client_secrets(const llm_client *c, const char **out, size_t max);

#endif
