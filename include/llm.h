/*
 * llm.h - the public interface of libllm, a C client library for
 * large-language-model HTTP APIs (OpenAI, Azure OpenAI, Anthropic,
 * Google Gemini, AWS Bedrock and OpenAI-compatible servers).
 *
 * Threading.  libllm starts no thread of its own.  llm_global_init and
 * llm_global_init_alloc are Init-only: call them before any other thread
 * uses the library.  A client is configured by one thread; its setters fail
 * with LLM_ERR_MISUSE once the client has made its first call, and from then
 * on any number of threads may make calls on it at once.  Requests,
 * responses, streams, call options and hooks objects are Per-handle: one
 * thread at a time per handle, different handles in parallel.  A request is
 * never written by a call, so one request may be sent by many threads at
 * once (its setters fail with LLM_ERR_MISUSE while a call holds it).
 * Callbacks run on the thread that drives the call: the caller of
 * llm_complete, llm_stream_next or the llm_multi_* driving functions.
 * Each function's comment ends with Thread-safe, Per-handle or Init-only.
 *
 * Errors.  Every call that can fail returns an int status: LLM_OK (0), a
 * negative LLM_ERR_* code, or, from stream and multi calls only, the
 * positive LLM_DONE or LLM_AGAIN.  Details of a failed call (HTTP status,
 * provider error type and message, request id, retry-after, which timeout
 * fired) live on the response or stream of that call; the reason a setter
 * failed lives on the handle that was set.  Nothing is kept in global or
 * thread-local state.
 *
 * Ownership.  Strings and buffers handed in are copied before the call
 * returns.  Strings handed out are borrowed, for the lifetime the comment
 * states.  Memory handed over ends in _dup and is released with llm_free.
 * Every _free function accepts NULL.
 *
 * This header uses only standard C headers and is valid C99 and C++.
 */
#ifndef LLM_H
#define LLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Symbols and versions
 */

#if defined(LLM_STATIC)
#  define LLM_API
#elif defined(_WIN32)
#  if defined(LLM_BUILDING)
#    define LLM_API __declspec(dllexport)
#  else
#    define LLM_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define LLM_API __attribute__((visibility("default")))
#else
#  define LLM_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define LLM_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#  define LLM_DEPRECATED(msg)
#endif

#define LLM_VERSION_MAJOR 1
#define LLM_VERSION_MINOR 0
#define LLM_VERSION_PATCH 0
#define LLM_VERSION_STRING "1.0.0"
/* 0xMMmmpp: compare with >= in #if. */
#define LLM_VERSION_NUM \
    ((LLM_VERSION_MAJOR << 16) | (LLM_VERSION_MINOR << 8) | LLM_VERSION_PATCH)

/* The version of the library actually loaded ("1.0.0"), which may differ
 * from LLM_VERSION_STRING.  Thread-safe.  Since: 1.0 */
LLM_API const char *llm_version(void);

/* The loaded library's version as 0xMMmmpp.  Thread-safe.  Since: 1.0 */
LLM_API uint32_t llm_version_num(void);

/* 1 if this build has the named feature, else 0.  Names: "openai",
 * "azure", "anthropic", "gemini", "bedrock", "streaming", "multi",
 * "memory-cache", "sigv4".  Thread-safe.  Since: 1.0 */
LLM_API int llm_has_feature(const char *name);

/* ------------------------------------------------------------------------
 * Status codes.  Values are fixed once published; new ones are appended.
 * Treat an unknown negative value as a generic failure.
 */

#define LLM_OK                    0
#define LLM_DONE                  1   /* stream finished; no more events */
#define LLM_AGAIN                 2   /* multi mode: no event yet; drive the multi */

#define LLM_ERR_MISUSE           -1   /* NULL handle, wrong order of calls */
#define LLM_ERR_INVALID_ARG      -2   /* a value no provider accepts */
#define LLM_ERR_NOMEM            -3
#define LLM_ERR_UNSUPPORTED      -4   /* provider/model/version lacks a feature */
#define LLM_ERR_REENTRANT        -5   /* called from inside a callback */
#define LLM_ERR_CALLBACK         -6   /* a hook returned non-zero */
#define LLM_ERR_DENIED           -7   /* a hook refused; its code is on the response */
#define LLM_ERR_CANCELLED        -8
#define LLM_ERR_TIMEOUT          -9   /* llm_response_timeout_kind says which */
#define LLM_ERR_NETWORK         -10   /* connect, TLS, reset, truncated body */
#define LLM_ERR_PROTOCOL        -11   /* a reply that is not what the provider documents */
#define LLM_ERR_TOO_LARGE       -12   /* a body, event or accumulated text over its limit */
#define LLM_ERR_AUTH            -13
#define LLM_ERR_PERMISSION      -14
#define LLM_ERR_NOT_FOUND       -15
#define LLM_ERR_RATE_LIMITED    -16
#define LLM_ERR_QUOTA           -17   /* not retryable: insufficient quota, billing */
#define LLM_ERR_OVERLOADED      -18
#define LLM_ERR_SERVER          -19
#define LLM_ERR_INVALID_REQUEST -20   /* the provider rejected the request */
#define LLM_ERR_CONTEXT_LENGTH  -21
#define LLM_ERR_CONTENT_FILTER  -22
#define LLM_ERR_CIRCUIT_OPEN    -23
#define LLM_ERR_RETRY_BUDGET    -24
#define LLM_ERR_NOT_AVAILABLE   -25   /* the value was not reported or is unknown */

/* A static English description of a status ("rate limited").  Never NULL.
 * Thread-safe.  Since: 1.0 */
LLM_API const char *llm_status_str(int status);

/* The constant's name ("LLM_ERR_RATE_LIMITED"), or "LLM_ERR_UNKNOWN".
 * Thread-safe.  Since: 1.0 */
LLM_API const char *llm_status_name(int status);

/* 1 if failures of this category are worth retrying in general (timeouts,
 * network, rate limits, overload, server errors).  Whether one particular
 * failure is retryable is llm_response_retryable.  Thread-safe.  Since: 1.0 */
LLM_API int llm_status_retryable(int status);

/* ------------------------------------------------------------------------
 * Opaque handles
 */

typedef struct llm_client     llm_client;
typedef struct llm_request    llm_request;
typedef struct llm_response   llm_response;
typedef struct llm_stream     llm_stream;
typedef struct llm_event      llm_event;
typedef struct llm_call_opts  llm_call_opts;
typedef struct llm_cancel     llm_cancel;
typedef struct llm_hooks      llm_hooks;
typedef struct llm_attempt    llm_attempt;
typedef struct llm_cache_sink llm_cache_sink;
typedef struct llm_credentials llm_credentials;
typedef struct llm_multi      llm_multi;

/* ------------------------------------------------------------------------
 * Global initialisation and memory
 */

#define LLM_INIT_CURL           0x0001u  /* also call curl_global_init */
#define LLM_INIT_NO_ENV         0x0002u  /* never read environment variables */
#define LLM_INIT_ALLOC_JANSSON  0x0004u  /* route jansson's allocations to ours */
#define LLM_INIT_ALLOC_CURL     0x0008u  /* route libcurl's allocations to ours (needs LLM_INIT_CURL) */
#define LLM_INIT_DEFAULT        (LLM_INIT_CURL)

typedef void *(*llm_malloc_fn)(size_t size, void *userdata);
typedef void *(*llm_realloc_fn)(void *ptr, size_t size, void *userdata);
typedef void  (*llm_free_mem_fn)(void *ptr, void *userdata);

/* Initialise the library.  Counted: each successful call needs one
 * llm_global_cleanup.  Every constructor before it returns LLM_ERR_MISUSE.
 * The flags of the first call win.  Init-only.  Since: 1.0 */
LLM_API int llm_global_init(uint32_t flags);

/* llm_global_init with an allocator for everything libllm allocates.  Must
 * be the first call; all three functions are required.  LLM_ERR_MISUSE if
 * the library is already initialised.  Init-only.  Since: 1.0 */
LLM_API int llm_global_init_alloc(uint32_t flags, llm_malloc_fn malloc_fn,
                                  llm_realloc_fn realloc_fn,
                                  llm_free_mem_fn free_fn, void *userdata);

/* Undo one llm_global_init; the last one releases global state.  All
 * handles must be freed first.  Init-only.  Since: 1.0 */
LLM_API void llm_global_cleanup(void);

/* Release memory handed over by a *_dup function.  NULL is fine.
 * Thread-safe.  Since: 1.0 */
LLM_API void llm_free(void *ptr);

/* Releases userdata that libllm kept past the call that set it. */
typedef void (*llm_free_fn)(void *userdata);

/* ------------------------------------------------------------------------
 * Constants of the unified model
 */

#define LLM_ROLE_SYSTEM     1
#define LLM_ROLE_USER       2
#define LLM_ROLE_ASSISTANT  3
#define LLM_ROLE_TOOL       4   /* read-only: tool results are added with llm_request_add_tool_result */

#define LLM_TOOL_CHOICE_AUTO      0   /* the default when tools are present */
#define LLM_TOOL_CHOICE_NONE      1
#define LLM_TOOL_CHOICE_REQUIRED  2   /* at least one call, any tool */
#define LLM_TOOL_CHOICE_NAMED     3   /* exactly the named tool */

#define LLM_TOOL_RESULT_ERROR  0x1   /* the tool failed; content explains */
#define LLM_TOOL_RESULT_JSON   0x2   /* content is JSON text, not prose */

#define LLM_FINISH_NONE            0   /* not finished (stream in progress, or failed) */
#define LLM_FINISH_STOP            1
#define LLM_FINISH_LENGTH          2
#define LLM_FINISH_TOOL_CALLS      3
#define LLM_FINISH_CONTENT_FILTER  4
#define LLM_FINISH_ERROR           5
#define LLM_FINISH_OTHER           6

/* Response parts, in the order the model produced them. */
#define LLM_PART_TEXT       1
#define LLM_PART_REASONING  2   /* visible reasoning ("thinking"); never in llm_response_text */
#define LLM_PART_TOOL_CALL  3
#define LLM_PART_OPAQUE     4   /* provider data kept only to be sent back (redacted reasoning, ...) */

/* Usage kinds.  Invariants, whatever the provider reports:
 *   INPUT  = uncached input + CACHE_READ + CACHE_WRITE
 *   OUTPUT includes REASONING
 *   CACHE_WRITE includes CACHE_WRITE_1H
 * A kind the provider did not report reads LLM_ERR_NOT_AVAILABLE. */
#define LLM_USAGE_INPUT           1
#define LLM_USAGE_OUTPUT          2
#define LLM_USAGE_CACHE_READ      3
#define LLM_USAGE_CACHE_WRITE     4
#define LLM_USAGE_CACHE_WRITE_1H  5
#define LLM_USAGE_REASONING       6
#define LLM_USAGE_TOTAL           7   /* INPUT + OUTPUT */

/* Timeouts, all in milliseconds; 0 switches one off. */
#define LLM_TIMEOUT_CONNECT     1   /* TCP + TLS handshake; default 10 s */
#define LLM_TIMEOUT_FIRST_BYTE  2   /* request sent until the first response byte; default off */
#define LLM_TIMEOUT_IDLE        3   /* no byte at all, keep-alives count as bytes; default 120 s */
#define LLM_TIMEOUT_ATTEMPT     4   /* one HTTP exchange; default 600 s */
#define LLM_TIMEOUT_DEADLINE    5   /* the whole call across retries and fallbacks; default off */

/* Size limits, in bytes. */
#define LLM_LIMIT_RESPONSE_BYTES  1   /* non-streamed body, or a stream's text + arguments; 64 MiB */
#define LLM_LIMIT_EVENT_BYTES     2   /* one SSE event or event-stream frame; 16 MiB */

/* Stream event types. */
#define LLM_EVENT_TEXT_DELTA        1
#define LLM_EVENT_REASONING_DELTA   2
#define LLM_EVENT_TOOL_CALL_START   3   /* tool index, id and name known */
#define LLM_EVENT_TOOL_CALL_DELTA   4   /* a fragment of the arguments' JSON text */
#define LLM_EVENT_TOOL_CALL_END     5   /* the arguments are complete */
#define LLM_EVENT_USAGE             6   /* usage on llm_stream_response changed */
#define LLM_EVENT_WARNING           7   /* text: a readable warning */

/* Cache modes of one call. */
#define LLM_CACHE_USE      0   /* look up, and store on success */
#define LLM_CACHE_BYPASS   1   /* neither look up nor store */
#define LLM_CACHE_REFRESH  2   /* do not look up; store on success */

/* Reasoning effort (OpenAI reasoning_effort; Gemini thinkingLevel; Anthropic
 * and Bedrock use a token budget instead, see llm_request_set_reasoning_budget). */
#define LLM_REASONING_DEFAULT  0   /* send nothing */
#define LLM_REASONING_NONE     1
#define LLM_REASONING_MINIMAL  2
#define LLM_REASONING_LOW      3
#define LLM_REASONING_MEDIUM   4
#define LLM_REASONING_HIGH     5

/* Which field carries the output limit on OpenAI-style servers. */
#define LLM_MAX_TOKENS_FIELD_AUTO        0   /* max_completion_tokens for OpenAI and Azure, max_tokens elsewhere */
#define LLM_MAX_TOKENS_FIELD_COMPLETION  1   /* always max_completion_tokens */
#define LLM_MAX_TOKENS_FIELD_LEGACY      2   /* always max_tokens */

/* Log levels of the log hook. */
#define LLM_LOG_ERROR  1
#define LLM_LOG_WARN   2
#define LLM_LOG_INFO   3
#define LLM_LOG_DEBUG  4

/* Price kinds: USD per million tokens (llm_client_set_price). */
#define LLM_PRICE_INPUT             1
#define LLM_PRICE_OUTPUT            2
#define LLM_PRICE_CACHE_READ        3
#define LLM_PRICE_CACHE_WRITE       4   /* 5-minute cache writes */
#define LLM_PRICE_CACHE_WRITE_1H    5
#define LLM_PRICE_LONG_THRESHOLD    6   /* input tokens above which the LONG_ prices apply */
#define LLM_PRICE_LONG_INPUT        7
#define LLM_PRICE_LONG_OUTPUT       8
#define LLM_PRICE_LONG_CACHE_READ   9
#define LLM_PRICE_LONG_CACHE_WRITE 10

/* Running totals of a client (llm_client_total). */
#define LLM_TOTAL_CALLS           1   /* calls finished, success or not */
#define LLM_TOTAL_ATTEMPTS        2   /* HTTP attempts made */
#define LLM_TOTAL_FAILURES        3   /* calls that failed */
#define LLM_TOTAL_CACHE_HITS      4
#define LLM_TOTAL_INPUT_TOKENS    5
#define LLM_TOTAL_OUTPUT_TOKENS   6
#define LLM_TOTAL_COST_NANOS      7   /* only calls whose cost was known */
#define LLM_TOTAL_COST_UNKNOWN    8   /* successful calls whose cost was not known */
#define LLM_TOTAL_CACHE_ERRORS    9   /* cache hook failures (they fail open) */

/* ------------------------------------------------------------------------
 * Client: provider, credentials, defaults, limits, hooks and fallback.
 * Setters are Per-handle and fail with LLM_ERR_MISUSE once the client has
 * made a call; the reason any setter failed is llm_client_errmsg.
 */

/* Create a client for a provider: "openai" (also any OpenAI-compatible
 * server, with llm_client_set_base_url), "azure", "anthropic", "gemini" or
 * "bedrock".  Reads the provider's environment variables (OPENAI_API_KEY,
 * OPENAI_BASE_URL, ANTHROPIC_API_KEY, ...; see libllm-openai(7) and the
 * other provider pages) unless
 * LLM_INIT_NO_ENV; explicit setters always win.  LLM_ERR_NOT_FOUND for an
 * unknown provider, LLM_ERR_UNSUPPORTED for one disabled in this build.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_client_new(llm_client **out, const char *provider);

/* Drop the caller's reference; the client lives on while a response,
 * stream or another client's fallback holds it.  Per-handle.  Since: 1.0 */
LLM_API void llm_client_free(llm_client *client);

/* The provider name given to llm_client_new.  Thread-safe.  Since: 1.0 */
LLM_API const char *llm_client_provider(const llm_client *client);

/* Why the last setter on this client failed; "" if none did.  Borrowed
 * until the next setter.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_client_errmsg(const llm_client *client);

/* The API key (OpenAI, Azure api-key, Anthropic, Gemini).  Wiped from
 * memory when replaced or freed, and redacted from every text libllm
 * produces.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_api_key(llm_client *client, const char *key);

/* Bearer token instead of an API key: Azure Entra ID tokens, Bedrock API
 * keys.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_bearer_token(llm_client *client, const char *token);

/* AWS credentials for SigV4 (Bedrock); session_token may be NULL.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_aws_credentials(llm_client *client,
                                           const char *access_key_id,
                                           const char *secret_access_key,
                                           const char *session_token);

/* AWS region (Bedrock).  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_region(llm_client *client, const char *region);

/* Base URL, for proxies, gateways, OpenAI-compatible servers and tests
 * ("http://127.0.0.1:8080/v1").  A path is kept; no trailing slash needed.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_base_url(llm_client *client, const char *url);

/* Default model (Azure: the deployment name).  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_model(llm_client *client, const char *model);

/* API version: Anthropic "2023-06-01" (default) or "2026-10-21"; Azure
 * api-version query value.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_api_version(llm_client *client, const char *version);

/* OpenAI organization and project headers; NULL clears.  Per-handle.
 * Since: 1.0 */
LLM_API int llm_client_set_organization(llm_client *client, const char *org);
LLM_API int llm_client_set_project(llm_client *client, const char *project);

/* One of the LLM_TIMEOUT_* clocks, in milliseconds; 0 switches it off
 * (CONNECT cannot be switched off).  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_timeout_ms(llm_client *client, int which, int64_t ms);

/* One of the LLM_LIMIT_* sizes, in bytes (> 0).  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_limit(llm_client *client, int which, int64_t bytes);

/* Add a header to every request.  Names are tokens; values may not hold
 * CR, LF or NUL (LLM_ERR_INVALID_ARG).  Per-handle.  Since: 1.0 */
LLM_API int llm_client_add_header(llm_client *client, const char *name,
                                  const char *value);

/* 1: drop request parameters the provider, API version or model does not
 * accept, with a warning on the response; 0 (default): fail with
 * LLM_ERR_UNSUPPORTED naming the parameter.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_drop_unsupported(llm_client *client, int on);

/* max_tokens sent where the provider requires one and the request set
 * none (Anthropic).  Default 4096.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_default_max_tokens(llm_client *client, int32_t n);

/* LLM_MAX_TOKENS_FIELD_*.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_max_tokens_field(llm_client *client, int field);

/* Default number of retries after the first attempt (2).  Per-handle.
 * Since: 1.0 */
LLM_API int llm_client_set_max_retries(llm_client *client, int32_t n);

/* 0 switches TLS peer and host verification off (default 1).  Per-handle.
 * Since: 1.0 */
LLM_API int llm_client_set_verify_tls(llm_client *client, int on);

/* A CA bundle file instead of the system's.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_ca_file(llm_client *client, const char *path);

/* The cache scope: entries of clients with different namespaces never
 * meet.  Without one the scope is a one-way fingerprint of the
 * credential.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_cache_namespace(llm_client *client, const char *ns);

/* Attach a hooks object; takes a reference (the caller may free its own).
 * NULL detaches.  Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_hooks(llm_client *client, llm_hooks *hooks);

/* Name a client to try when this one's attempts are exhausted on a
 * retryable failure, or its circuit breaker is open.  Takes a reference.
 * LLM_ERR_INVALID_ARG for a cycle or a chain longer than 8.  NULL clears.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_fallback(llm_client *client, llm_client *next);

/* Circuit breaker: open after `failures` consecutive retryable failures
 * (0 disables, the default), let one probe through after cooldown_ms.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_client_set_breaker(llm_client *client, int32_t failures,
                                   int64_t cooldown_ms);

/* Add or replace a price of a model, in USD per million tokens (or a token
 * count for LLM_PRICE_LONG_THRESHOLD).  Allowed at any time.  Thread-safe.
 * Since: 1.0 */
LLM_API int llm_client_set_price(llm_client *client, const char *model,
                                 int kind, double value);

/* Load prices from JSON text: {"model": {"input": 2.5, "output": 10,
 * "cache_read": 1.25, ...}, ...} (names as the LLM_PRICE_* kinds, lower
 * case).  Allowed at any time.  Thread-safe.  Since: 1.0 */
LLM_API int llm_client_load_prices(llm_client *client, const char *json,
                                   size_t len);

/* A running total (LLM_TOTAL_*) over every call made on this client.
 * Thread-safe.  Since: 1.0 */
LLM_API int llm_client_total(const llm_client *client, int kind, int64_t *value_out);

/* Circuit breaker state: 0 closed, 1 open, 2 half-open.  Thread-safe.
 * Since: 1.0 */
LLM_API int llm_client_breaker_state(const llm_client *client);

/* ------------------------------------------------------------------------
 * Cancellation tokens: refcounted, triggered from any thread.
 */

/* Create a token.  Thread-safe.  Since: 1.0 */
LLM_API int llm_cancel_new(llm_cancel **out);

/* Cancel every call that holds this token, now and later: each returns
 * LLM_ERR_CANCELLED promptly, also while waiting to retry.  Thread-safe,
 * also from inside a callback.  Since: 1.0 */
LLM_API void llm_cancel_trigger(llm_cancel *token);

/* 1 once triggered.  Thread-safe.  Since: 1.0 */
LLM_API int llm_cancel_triggered(const llm_cancel *token);

/* Drop a reference.  Thread-safe.  Since: 1.0 */
LLM_API void llm_cancel_free(llm_cancel *token);

/* ------------------------------------------------------------------------
 * Per-call options.  Nothing here changes the answer, so nothing here
 * enters the cache key.  May be freed once the call has started.
 */

LLM_API int  llm_call_opts_new(llm_call_opts **out);                 /* Per-handle.  Since: 1.0 */
LLM_API void llm_call_opts_free(llm_call_opts *opts);                /* Per-handle.  Since: 1.0 */

/* A deadline in milliseconds from the call's start, spanning every attempt,
 * retry wait and fallback; 0: none.  Per-handle.  Since: 1.0 */
LLM_API int llm_call_opts_set_deadline_ms(llm_call_opts *opts, int64_t ms);

/* The end user on whose behalf the call is made (admission hooks, spend
 * caps, observers); it is not sent to the provider (OpenAI's safety_identifier
 * goes through llm_request_set_extra_json).  Per-handle.  Since: 1.0 */
LLM_API int llm_call_opts_set_user(llm_call_opts *opts, const char *user_id);

/* Retries after the first attempt for this call (overrides the client's);
 * -1 restores the client's.  Per-handle.  Since: 1.0 */
LLM_API int llm_call_opts_set_max_retries(llm_call_opts *opts, int32_t n);

/* LLM_CACHE_USE, _BYPASS or _REFRESH.  Per-handle.  Since: 1.0 */
LLM_API int llm_call_opts_set_cache_mode(llm_call_opts *opts, int mode);

/* Take a reference on a cancellation token.  Per-handle.  Since: 1.0 */
LLM_API int llm_call_opts_set_cancel(llm_call_opts *opts, llm_cancel *token);

/* ------------------------------------------------------------------------
 * Requests: the conversation and its parameters.  Not tied to a client.
 * Setters are Per-handle; they fail with LLM_ERR_MISUSE while a call is
 * using the request.  llm_request_errmsg says why a setter failed.
 */

LLM_API int  llm_request_new(llm_request **out);                     /* Per-handle.  Since: 1.0 */
LLM_API void llm_request_free(llm_request *req);                     /* Per-handle.  Since: 1.0 */

/* Why the last setter failed; "" if none did.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_request_errmsg(const llm_request *req);

/* Open an empty message of LLM_ROLE_SYSTEM, _USER or _ASSISTANT; the
 * append functions add parts to it in order.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_add_message(llm_request *req, int role);

/* A message with one text part (NUL-terminated UTF-8).  Per-handle.
 * Since: 1.0 */
LLM_API int llm_request_add_text(llm_request *req, int role, const char *text);

/* Append a text part to the last message.  LLM_ERR_INVALID_ARG for invalid
 * UTF-8.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_append_text(llm_request *req, const char *text, size_t len);

/* Append an image, as bytes with their MIME type ("image/png"), to the
 * last message, which must be a user message (else LLM_ERR_MISUSE).
 * Per-handle.  Since: 1.0 */
LLM_API int llm_request_append_image(llm_request *req, const char *mime,
                                     const void *data, size_t len);

/* Append an image by URL (https: or data:) to the last (user) message.
 * Providers that cannot fetch URLs fail with LLM_ERR_UNSUPPORTED when the
 * call is made.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_append_image_url(llm_request *req, const char *url);

/* Append a tool call to the last message, which must be an assistant
 * message (parallel calls are one message).  args_json must be JSON text.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_request_append_tool_call(llm_request *req, const char *id,
                                         const char *name,
                                         const char *args_json, size_t len);

/* Add a tool result.  Consecutive results form one tool turn; each must
 * answer a call of the preceding assistant turn (LLM_ERR_INVALID_ARG when
 * sent otherwise).  name NULL: taken from the call.  flags:
 * LLM_TOOL_RESULT_ERROR, LLM_TOOL_RESULT_JSON.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_add_tool_result(llm_request *req, const char *call_id,
                                        const char *name, const char *content,
                                        size_t len, int flags);

/* Append a successful response as the next assistant turn: its text,
 * reasoning, tool calls and the provider's opaque data, which is sent back
 * verbatim to the same provider and model.  LLM_ERR_INVALID_ARG for a
 * failed response.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_add_response(llm_request *req, const llm_response *resp);

/* Define a tool.  json_schema is the parameters' JSON Schema (an object);
 * NULL means no parameters.  LLM_ERR_INVALID_ARG if it is not a JSON
 * object, or the name is empty or repeated.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_add_tool(llm_request *req, const char *name,
                                 const char *description, const char *json_schema);

/* LLM_TOOL_CHOICE_*; tool_name only with _NAMED, and it must name a tool
 * by the time the call is made.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_tool_choice(llm_request *req, int choice,
                                        const char *tool_name);

/* 0 asks for at most one tool call per turn (default 1: provider's
 * default).  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_parallel_tool_calls(llm_request *req, int on);

/* Override the client's model for the primary client of a call.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_model(llm_request *req, const char *model);

/* Sampling and limits.  Reject only values no provider accepts (NaN,
 * infinities, negatives, max_tokens <= 0).  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_temperature(llm_request *req, double t);
LLM_API int llm_request_set_top_p(llm_request *req, double p);
LLM_API int llm_request_set_top_k(llm_request *req, int32_t k);
LLM_API int llm_request_set_max_tokens(llm_request *req, int32_t n);
LLM_API int llm_request_set_seed(llm_request *req, int64_t seed);

/* Add a stop sequence (up to 16).  Per-handle.  Since: 1.0 */
LLM_API int llm_request_add_stop(llm_request *req, const char *stop);

/* LLM_REASONING_*.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_reasoning_effort(llm_request *req, int effort);

/* Token budget for reasoning (Anthropic thinking, Gemini thinkingBudget,
 * Bedrock Claude); 0: none.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_reasoning_budget(llm_request *req, int32_t tokens);

/* Ask for JSON output matching a JSON Schema (an object).  name is
 * [a-zA-Z0-9_-]{1,64}.  LLM_ERR_INVALID_ARG if the schema is not a JSON
 * object.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_response_schema(llm_request *req, const char *name,
                                            const char *json_schema);

/* A JSON object whose members are merged into the provider's request body
 * (members already set by libllm are replaced).  provider NULL: every
 * provider; else only for that provider.  Per-handle.  Since: 1.0 */
LLM_API int llm_request_set_extra_json(llm_request *req, const char *provider,
                                       const char *json, size_t len);

/* ------------------------------------------------------------------------
 * Calls
 */

/* Make a call and wait for the whole answer.  *out is set for every status
 * except LLM_ERR_MISUSE (out NULL) and LLM_ERR_NOMEM before it could be
 * made; a failed call's response holds the details.  Free it with
 * llm_response_free.  Thread-safe for the client; the request may be
 * shared.  Since: 1.0 */
LLM_API int llm_complete(llm_client *client, const llm_request *req,
                         const llm_call_opts *opts, llm_response **out);

/* Start a streamed call.  Runs admission and the cache lookup only and
 * never blocks on the network: the request goes out on the first
 * llm_stream_next.  *out is set as for llm_complete.  Since: 1.0 */
LLM_API int llm_stream_open(llm_client *client, const llm_request *req,
                            const llm_call_opts *opts, llm_stream **out);

/* Start a non-streamed call as a pending handle, for the multi interface:
 * llm_stream_next yields no deltas (at most a USAGE event), then LLM_DONE.
 * Since: 1.0 */
LLM_API int llm_complete_start(llm_client *client, const llm_request *req,
                               const llm_call_opts *opts, llm_stream **out);

/* ------------------------------------------------------------------------
 * Streams
 */

/* The next event.  Returns LLM_OK with *ev_out set, LLM_DONE at the end,
 * LLM_AGAIN when attached to a multi and no event is ready, or an error,
 * which is sticky.  The event is borrowed until the next call.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_stream_next(llm_stream *stream, const llm_event **ev_out);

/* The response accumulated so far (also the error details of a failed
 * stream).  Borrowed: valid until the next llm_stream_next, take or free;
 * never pass it to llm_response_free.  Per-handle.  Since: 1.0 */
LLM_API const llm_response *llm_stream_response(const llm_stream *stream);

/* After LLM_DONE or an error, hand over the final response.
 * LLM_ERR_MISUSE before that or a second time.  Per-handle.  Since: 1.0 */
LLM_API int llm_stream_take_response(llm_stream *stream, llm_response **out);

/* Cancel: the next llm_stream_next returns LLM_ERR_CANCELLED.  May run
 * concurrently with anything but llm_stream_free, and from callbacks.
 * Thread-safe.  Since: 1.0 */
LLM_API void llm_stream_cancel(llm_stream *stream);

/* Close the connection if open and release everything.  Per-handle.
 * Since: 1.0 */
LLM_API void llm_stream_free(llm_stream *stream);

typedef void (*llm_event_fn)(llm_stream *stream, const llm_event *ev, void *userdata);

/* Deliver events to a callback instead of llm_stream_next (multi mode);
 * the callback also sees the end (ev NULL).  Set before the first event.
 * Per-handle.  Since: 1.0 */
LLM_API int llm_stream_set_event_fn(llm_stream *stream, llm_event_fn fn,
                                    void *userdata);

/* Event accessors.  Strings are borrowed until the next llm_stream_next.
 * Per-handle.  Since: 1.0 */
LLM_API int         llm_event_type(const llm_event *ev);
LLM_API const char *llm_event_text(const llm_event *ev, size_t *len_out);  /* deltas, warnings; "" otherwise */
LLM_API int         llm_event_tool_index(const llm_event *ev);              /* tool events; -1 otherwise */
LLM_API const char *llm_event_tool_id(const llm_event *ev);                 /* TOOL_CALL_START; NULL otherwise */
LLM_API const char *llm_event_tool_name(const llm_event *ev);               /* TOOL_CALL_START; NULL otherwise */

/* ------------------------------------------------------------------------
 * Responses.  Strings are borrowed until llm_response_free.
 */

/* Per-handle.  Since: 1.0 */
LLM_API void llm_response_free(llm_response *resp);

/* The call's status, as returned by the call.  Per-handle.  Since: 1.0 */
LLM_API int llm_response_status(const llm_response *resp);

/* HTTP status of the last attempt, 0 if none got that far.  Per-handle.
 * Since: 1.0 */
LLM_API int llm_response_http_status(const llm_response *resp);

/* Readable text of the failure; "" on success.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_errmsg(const llm_response *resp);

/* The provider's error type, code and message, verbatim; NULL if absent.
 * Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_error_type(const llm_response *resp);
LLM_API const char *llm_response_error_code(const llm_response *resp);
LLM_API const char *llm_response_error_message(const llm_response *resp);

/* 1 if the error arrived inside an HTTP 200 stream.  Per-handle.
 * Since: 1.0 */
LLM_API int llm_response_error_mid_stream(const llm_response *resp);

/* 1 if this failure is worth retrying (status, headers and body hints).
 * Per-handle.  Since: 1.0 */
LLM_API int llm_response_retryable(const llm_response *resp);

/* The server's retry-after in milliseconds, -1 if none.  Per-handle.
 * Since: 1.0 */
LLM_API int64_t llm_response_retry_after_ms(const llm_response *resp);

/* Which LLM_TIMEOUT_* fired; 0 if none.  Per-handle.  Since: 1.0 */
LLM_API int llm_response_timeout_kind(const llm_response *resp);

/* The provider's request id (x-request-id, request-id, ...); NULL if
 * none.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_request_id(const llm_response *resp);

/* The response id and the model that answered; NULL if not reported.
 * Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_id(const llm_response *resp);
LLM_API const char *llm_response_model(const llm_response *resp);

/* The provider of the client that answered (differs from the called client
 * after a fallback).  Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_provider(const llm_response *resp);

/* 1 if the answer came from the cache.  Per-handle.  Since: 1.0 */
LLM_API int llm_response_cache_hit(const llm_response *resp);

/* Number of attempts made (retries + 1, over all clients tried).
 * Per-handle.  Since: 1.0 */
LLM_API int32_t llm_response_attempts(const llm_response *resp);

/* All text parts joined, reasoning excluded; "" when none.  Per-handle.
 * Since: 1.0 */
LLM_API const char *llm_response_text(const llm_response *resp, size_t *len_out);

/* The same as a NUL-terminated copy; llm_free it.  NULL on NOMEM.
 * Per-handle.  Since: 1.0 */
LLM_API char *llm_response_text_dup(const llm_response *resp);

/* Ordered parts: LLM_PART_* and their text (text, reasoning, a tool
 * call's arguments; "" for opaque parts).  Per-handle.  Since: 1.0 */
LLM_API size_t      llm_response_part_count(const llm_response *resp);
LLM_API int         llm_response_part_type(const llm_response *resp, size_t i);
LLM_API const char *llm_response_part_text(const llm_response *resp, size_t i,
                                           size_t *len_out);

/* Tool calls, in order; NULL for an index out of range.  arguments is the
 * JSON text as the model produced it.  Per-handle.  Since: 1.0 */
LLM_API size_t      llm_response_tool_call_count(const llm_response *resp);
LLM_API const char *llm_response_tool_call_id(const llm_response *resp, size_t i);
LLM_API const char *llm_response_tool_call_name(const llm_response *resp, size_t i);
LLM_API const char *llm_response_tool_call_arguments(const llm_response *resp,
                                                     size_t i, size_t *len_out);

/* LLM_FINISH_*, and the provider's own word (NULL if none).  Per-handle.
 * Since: 1.0 */
LLM_API int         llm_response_finish(const llm_response *resp);
LLM_API const char *llm_response_finish_raw(const llm_response *resp);

/* A usage count (LLM_USAGE_*).  LLM_ERR_NOT_AVAILABLE and *value_out = -1
 * when the provider did not report it.  Per-handle.  Since: 1.0 */
LLM_API int llm_response_usage(const llm_response *resp, int kind, int64_t *value_out);

/* The provider's own usage record, as JSON text; NULL if none.
 * Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_usage_raw(const llm_response *resp, size_t *len_out);

/* Cost in nano-USD (1e-9 USD).  0 for a cache hit; LLM_ERR_NOT_AVAILABLE
 * when the model's price or the usage is unknown.  Per-handle.  Since: 1.0 */
LLM_API int llm_response_cost_nanos(const llm_response *resp, int64_t *value_out);

/* Warnings: dropped parameters, dropped opaque parts, ...  Per-handle.
 * Since: 1.0 */
LLM_API size_t      llm_response_warning_count(const llm_response *resp);
LLM_API const char *llm_response_warning(const llm_response *resp, size_t i);

/* A response header of the last attempt (case-insensitive name); NULL if
 * absent.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_header(const llm_response *resp, const char *name,
                                        size_t *len_out);

/* The raw body of a non-streamed call, or the body of an HTTP error reply
 * (streamed or not); NULL for a successful stream, which keeps no body.
 * Secrets are redacted.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_raw(const llm_response *resp, size_t *len_out);

/* Content-filter detail the provider sent (Azure filter results, Gemini
 * safety ratings), as JSON text; NULL if none.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_response_filter_json(const llm_response *resp, size_t *len_out);

/* The code a hook gave when it denied the call (LLM_ERR_DENIED); 0
 * otherwise.  Per-handle.  Since: 1.0 */
LLM_API int32_t llm_response_deny_code(const llm_response *resp);

/* Milliseconds since the epoch at which a retry may succeed, when a
 * retry-after beyond the retry cap was not waited for; 0 otherwise.
 * Per-handle.  Since: 1.0 */
LLM_API int64_t llm_response_retry_at_ms(const llm_response *resp);

/* ------------------------------------------------------------------------
 * Hooks: typed callbacks of the host, in one refcounted object that is
 * immutable once attached to a client.  Every callback gets the userdata
 * given with it as its last parameter.  A callback may call only
 * accessors (llm_attempt_*, llm_cache_sink_set, llm_credentials_set_*) and
 * llm_stream_cancel; anything else returns LLM_ERR_REENTRANT.
 */

/* Decide after a failed attempt: *retry_out 1 to try again after
 * *delay_ms_out.  Non-zero return: the call fails with LLM_ERR_CALLBACK. */
typedef int (*llm_retry_fn)(const llm_attempt *attempt, int *retry_out,
                            int64_t *delay_ms_out, void *userdata);
/* Look a key up: call llm_cache_sink_set with the value on a hit, return 0
 * either way.  Non-zero: a failure, which fails open (a miss). */
typedef int (*llm_cache_get_fn)(const char *key, size_t key_len,
                                llm_cache_sink *sink, void *userdata);
/* Store a value (copy it).  Non-zero: a failure, which fails open. */
typedef int (*llm_cache_put_fn)(const char *key, size_t key_len,
                                const void *value, size_t len, int64_t ttl_ms,
                                void *userdata);
/* Admit a call: *deny_code_out non-zero denies it (LLM_ERR_DENIED).
 * Non-zero return fails closed (LLM_ERR_CALLBACK). */
typedef int (*llm_admit_fn)(const llm_attempt *attempt, int32_t *deny_code_out,
                            void *userdata);
/* After each call with a response: read the cost and usage. */
typedef int (*llm_cost_fn)(const llm_attempt *attempt, void *userdata);
/* After each attempt, success or not. */
typedef void (*llm_observe_fn)(const llm_attempt *attempt, void *userdata);
/* A log line (secrets redacted). */
typedef void (*llm_log_fn)(int level, const char *line, void *userdata);
/* The credential of one attempt: call llm_credentials_set_*.  Non-zero
 * return fails closed. */
typedef int (*llm_credentials_fn)(const llm_attempt *attempt,
                                  llm_credentials *creds, void *userdata);

/* Create an empty hooks object (every hook at its default).  Per-handle.
 * Since: 1.0 */
LLM_API int  llm_hooks_new(llm_hooks **out);
/* Drop a reference; userdata free functions run when the last one goes.
 * Thread-safe.  Since: 1.0 */
LLM_API void llm_hooks_free(llm_hooks *hooks);

/* Set one hook each; NULL fn restores the default.  LLM_ERR_MISUSE once
 * attached to a client.  Per-handle.  Since: 1.0 */
LLM_API int llm_hooks_set_retry(llm_hooks *hooks, llm_retry_fn fn, void *userdata,
                                llm_free_fn free_userdata);
LLM_API int llm_hooks_set_cache(llm_hooks *hooks, llm_cache_get_fn get,
                                llm_cache_put_fn put, int64_t ttl_ms,
                                void *userdata, llm_free_fn free_userdata);
LLM_API int llm_hooks_set_admit(llm_hooks *hooks, llm_admit_fn fn, void *userdata,
                                llm_free_fn free_userdata);
LLM_API int llm_hooks_set_cost(llm_hooks *hooks, llm_cost_fn fn, void *userdata,
                               llm_free_fn free_userdata);
LLM_API int llm_hooks_set_observe(llm_hooks *hooks, llm_observe_fn fn, void *userdata,
                                  llm_free_fn free_userdata);
LLM_API int llm_hooks_set_log(llm_hooks *hooks, llm_log_fn fn, int max_level,
                              void *userdata, llm_free_fn free_userdata);
LLM_API int llm_hooks_set_credentials(llm_hooks *hooks, llm_credentials_fn fn,
                                      void *userdata, llm_free_fn free_userdata);

/* Built-in: a thread-safe in-memory LRU cache (0 means no limit for a
 * limit, no expiry for ttl_ms).  Per-handle.  Since: 1.0 */
LLM_API int llm_hooks_use_memory_cache(llm_hooks *hooks, size_t max_entries,
                                       size_t max_bytes, int64_t ttl_ms);

/* Built-in admission: a token bucket of `requests` calls and `tokens`
 * estimated tokens per interval_ms (0: no limit of that kind).
 * Per-handle.  Since: 1.0 */
LLM_API int llm_hooks_use_rate_limit(llm_hooks *hooks, int64_t requests,
                                     int64_t tokens, int64_t interval_ms);

/* Built-in admission: deny a user whose settled plus reserved cost would
 * pass cap_nanos.  Per-handle.  Since: 1.0 */
LLM_API int llm_hooks_use_spend_cap(llm_hooks *hooks, int64_t cap_nanos);

/* The built-in retry policy, for a retry hook that wants to delegate.
 * Thread-safe.  Since: 1.0 */
LLM_API int llm_retry_default(const llm_attempt *attempt, int *retry_out,
                              int64_t *delay_ms_out, void *userdata);

/* Hand a cached value to the library (copied).  Per-handle.  Since: 1.0 */
LLM_API int llm_cache_sink_set(llm_cache_sink *sink, const void *value, size_t len);

/* Give the credential of one attempt (copied, wiped after the attempt).
 * Per-handle.  Since: 1.0 */
LLM_API int llm_credentials_set_api_key(llm_credentials *creds, const char *key);
LLM_API int llm_credentials_set_bearer_token(llm_credentials *creds, const char *token);
LLM_API int llm_credentials_set_aws(llm_credentials *creds, const char *access_key_id,
                                    const char *secret_access_key,
                                    const char *session_token);

/* The attempt record.  Strings are borrowed for the duration of the
 * callback.  Per-handle.  Since: 1.0 */
LLM_API const char *llm_attempt_provider(const llm_attempt *a);
LLM_API const char *llm_attempt_model(const llm_attempt *a);
LLM_API const char *llm_attempt_user(const llm_attempt *a);          /* NULL if none */
LLM_API int32_t     llm_attempt_number(const llm_attempt *a);        /* 1 for the first */
LLM_API int         llm_attempt_status(const llm_attempt *a);
LLM_API int         llm_attempt_http_status(const llm_attempt *a);
LLM_API const char *llm_attempt_error_type(const llm_attempt *a);    /* NULL if none */
LLM_API const char *llm_attempt_request_id(const llm_attempt *a);    /* NULL if none */
LLM_API int         llm_attempt_retryable(const llm_attempt *a);
LLM_API int64_t     llm_attempt_retry_after_ms(const llm_attempt *a); /* -1 if none */
LLM_API int64_t     llm_attempt_latency_ms(const llm_attempt *a);
LLM_API int64_t     llm_attempt_ttft_ms(const llm_attempt *a);       /* -1 if no token */
LLM_API int         llm_attempt_usage(const llm_attempt *a, int kind, int64_t *value_out);
LLM_API int         llm_attempt_cost_nanos(const llm_attempt *a, int64_t *value_out);
LLM_API int         llm_attempt_cache_hit(const llm_attempt *a);
LLM_API int         llm_attempt_streaming(const llm_attempt *a);
LLM_API int64_t     llm_attempt_input_estimate(const llm_attempt *a); /* admission: tokens */
LLM_API int64_t     llm_attempt_max_cost_nanos(const llm_attempt *a); /* admission: -1 if unknown */
/* OpenTelemetry GenAI attributes of the record ("gen_ai.system", ...):
 * name and value of the i-th; NULL past the end. */
LLM_API size_t      llm_attempt_attr_count(const llm_attempt *a);
LLM_API const char *llm_attempt_attr_name(const llm_attempt *a, size_t i);
LLM_API const char *llm_attempt_attr_value(const llm_attempt *a, size_t i);

/* ------------------------------------------------------------------------
 * Multi: many calls on one thread, driven by the host's loop.
 */

#define LLM_POLL_NONE    0
#define LLM_POLL_IN      1
#define LLM_POLL_OUT     2
#define LLM_POLL_INOUT   3
#define LLM_POLL_REMOVE  4

/* The host's socket function: watch fd for `what` (LLM_POLL_*). */
typedef int (*llm_socket_fn)(int fd, int what, void *userdata);
/* The host's timer: call llm_multi_socket_action(m, -1, 0, ...) after
 * timeout_ms; -1 deletes the timer. */
typedef int (*llm_timer_fn)(int64_t timeout_ms, void *userdata);

LLM_API int  llm_multi_new(llm_multi **out);                          /* Per-handle.  Since: 1.0 */
/* Detaches and keeps every stream still attached (they fail with
 * LLM_ERR_CANCELLED).  Per-handle.  Since: 1.0 */
LLM_API void llm_multi_free(llm_multi *multi);

/* Attach a stream from llm_stream_open or llm_complete_start before its
 * first llm_stream_next.  Per-handle.  Since: 1.0 */
LLM_API int llm_multi_add(llm_multi *multi, llm_stream *stream);
LLM_API int llm_multi_remove(llm_multi *multi, llm_stream *stream);

/* Drive every transfer that can progress without waiting; *running_out:
 * calls not finished.  Per-handle.  Since: 1.0 */
LLM_API int llm_multi_perform(llm_multi *multi, int *running_out);

/* Wait up to timeout_ms for activity or llm_multi_wakeup.  Per-handle.
 * Since: 1.0 */
LLM_API int llm_multi_poll(llm_multi *multi, int timeout_ms);

/* Interrupt llm_multi_poll.  Thread-safe.  Since: 1.0 */
LLM_API int llm_multi_wakeup(llm_multi *multi);

/* Socket-callback style: set both functions before adding streams, then
 * report readiness with llm_multi_socket_action (fd -1 for the timer).
 * Per-handle.  Since: 1.0 */
LLM_API int llm_multi_set_socket_fn(llm_multi *multi, llm_socket_fn fn, void *userdata);
LLM_API int llm_multi_set_timer_fn(llm_multi *multi, llm_timer_fn fn, void *userdata);
LLM_API int llm_multi_socket_action(llm_multi *multi, int fd, int what, int *running_out);

#ifdef __cplusplus
}
#endif

#endif /* LLM_H */
