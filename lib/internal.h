/*
 * internal.h - first include of every libllm source file.
 *
 * The shared vocabulary of core, transport and providers: allocation,
 * growable buffers, the request and response data model as adapters see
 * it, HTTP exchanges, frames, and the stream event emitter.  Nothing here
 * is installed; nothing here is exported (hidden visibility throughout).
 */
#ifndef LLM_INTERNAL_H
#define LLM_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#define LLM_BUILDING 1
#include "llm.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#if defined(__GNUC__)
#define LLM__HIDDEN __attribute__((visibility("hidden")))
#define LLM__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LLM__HIDDEN
#define LLM__PRINTF(a, b)
#endif

#define LLM__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Allocation: everything goes through the host's allocator (alloc.c).
 */
void *llm__malloc(size_t n);
void *llm__calloc(size_t count, size_t size);
void *llm__realloc(void *p, size_t n);
void  llm__free(void *p);
char *llm__strdup(const char *s);                 /* NULL in, NULL out */
char *llm__strndup(const char *s, size_t n);      /* always NUL-terminated */
/* Wipe then free a secret (OPENSSL_cleanse). */
void  llm__free_secret(char *s);
/* 1 once llm_global_init succeeded and was not fully cleaned up. */
int   llm__initialised(void);
/* Flags given to the first llm_global_init. */
uint32_t llm__init_flags(void);

/* ------------------------------------------------------------------------
 * Growable byte buffer; data is always NUL-terminated when non-NULL.
 */
typedef struct llm__buf {
    char  *data;
    size_t len;
    size_t cap;
} llm__buf;

int  llm__buf_reserve(llm__buf *b, size_t extra);            /* LLM_OK / LLM_ERR_NOMEM */
int  llm__buf_append(llm__buf *b, const void *p, size_t n);
int  llm__buf_puts(llm__buf *b, const char *s);
int  llm__buf_putc(llm__buf *b, char c);
int  llm__buf_printf(llm__buf *b, const char *fmt, ...) LLM__PRINTF(2, 3);
void llm__buf_reset(llm__buf *b);                            /* len = 0, keeps memory */
void llm__buf_free(llm__buf *b);
/* Hand the data over (caller frees with llm__free); an empty buffer gives "". */
char *llm__buf_steal(llm__buf *b);

/* ------------------------------------------------------------------------
 * Small utilities (util.c)
 */
int  llm__utf8_valid(const char *s, size_t n);
int  llm__strcasecmp(const char *a, const char *b);
int  llm__strncasecmp(const char *a, const char *b, size_t n);
/* 1 if s (length n) holds CR, LF or NUL. */
int  llm__has_ctl(const char *s, size_t n);
/* Base64 (standard alphabet, padded). */
int  llm__base64_encode(llm__buf *out, const void *data, size_t n);
int  llm__base64_decode(llm__buf *out, const char *s, size_t n);  /* LLM_ERR_PROTOCOL on bad input */
/* Percent-encode for a URL path segment (RFC 3986 unreserved kept). */
int  llm__url_escape(llm__buf *out, const char *s, size_t n);
/* Join base URL and path with exactly one '/' between them. */
int  llm__url_join(llm__buf *out, const char *base, const char *path);
/* Parse a JSON document; NOMEM on allocation failure, PROTOCOL otherwise;
 * errtext (may be NULL) receives jansson's reason. */
int  llm__json_load(const char *s, size_t n, json_t **out, llm__buf *errtext);
/* Serialise compactly into a buffer (appended). */
int  llm__json_dump(llm__buf *out, const json_t *j);
/* Convenience getters that tolerate absent members and wrong types. */
const char *llm__json_str(const json_t *obj, const char *key);       /* NULL if not a string */
int64_t     llm__json_int(const json_t *obj, const char *key, int64_t dflt);

/* ------------------------------------------------------------------------
 * The unified conversation, as adapters read it (core/request.c).
 */
enum llm__part_type {
    LLM__PART_TEXT = 1,
    LLM__PART_REASONING,      /* reasoning text; may carry meta (signature) */
    LLM__PART_TOOL_CALL,
    LLM__PART_OPAQUE,         /* meta only: replayed verbatim to its producer */
    LLM__PART_IMAGE_DATA,
    LLM__PART_IMAGE_URL,
    LLM__PART_TOOL_RESULT
};

/* Provider-native data a part carries so that it can be replayed verbatim:
 * Anthropic thinking signatures and redacted_thinking blocks, Gemini
 * thoughtSignature, Bedrock reasoningContent.  json is a JSON object of the
 * producer's choosing; it is replayed only to the same provider and model. */
struct llm__meta {
    char *provider;
    char *model;
    char *json;
    size_t json_len;
};

struct llm__part {
    int    type;              /* enum llm__part_type */
    char  *text;              /* text, reasoning, tool arguments JSON, result content, image URL */
    size_t text_len;
    size_t text_cap;          /* allocation behind text when grown by appends (0: exact) */
    char  *mime;              /* IMAGE_DATA */
    unsigned char *data;      /* IMAGE_DATA bytes */
    size_t data_len;
    char  *id;                /* TOOL_CALL id, TOOL_RESULT call id */
    char  *name;              /* TOOL_CALL / TOOL_RESULT tool name */
    int    flags;             /* TOOL_RESULT: LLM_TOOL_RESULT_* */
    struct llm__meta meta;    /* all fields NULL when the part has none */
};

struct llm__message {
    int    role;              /* LLM_ROLE_*; tool results have LLM_ROLE_TOOL */
    struct llm__part *parts;
    size_t nparts;
    size_t cap;
};

struct llm__tool {
    char *name;
    char *description;        /* may be NULL */
    char *schema;             /* JSON object text; NULL: no parameters */
};

struct llm__extra {
    char *provider;           /* NULL: every provider */
    char *json;               /* a JSON object */
};

#define LLM__MAX_STOPS 16

struct llm_request {
    atomic_int refs;          /* the owner plus every call in progress */
    atomic_int busy;          /* calls in progress: setters fail while > 0 */
    struct llm__message *msgs;
    size_t nmsgs, msgs_cap;
    struct llm__tool *tools;
    size_t ntools, tools_cap;
    int    tool_choice;       /* LLM_TOOL_CHOICE_* */
    char  *tool_choice_name;
    int    parallel_tool_calls;   /* 1 default */
    char  *model;             /* override of the primary client's model */
    /* Sampling and limits: has_* says whether the caller set it. */
    bool   has_temperature, has_top_p, has_top_k, has_max_tokens, has_seed;
    double temperature, top_p;
    int32_t top_k, max_tokens;
    int64_t seed;
    char  *stops[LLM__MAX_STOPS];
    size_t nstops;
    int    reasoning_effort;  /* LLM_REASONING_* */
    int32_t reasoning_budget; /* 0: none */
    char  *schema_name;       /* structured output; NULL when not set */
    char  *schema;
    struct llm__extra *extras;
    size_t nextras;
    llm__buf errmsg;
};

/* Request internals (core/request.c). */
void llm__meta_free(struct llm__meta *m);
void llm__part_free(struct llm__part *p);
int  llm__part_copy(struct llm__part *dst, const struct llm__part *src);
void llm__message_free(struct llm__message *m);
int  llm__message_add_part(struct llm__message *m, struct llm__part **out);
/* A call holds the request (reference + busy) until unhold. */
void llm__request_hold(const llm_request *req);
void llm__request_unhold(const llm_request *req);
/* Whole-conversation checks at call time; after it passes, every tool
 * result part has its name (taken from the call it answers). */
int  llm__request_validate(const llm_request *req, llm_response *resp);

/* ------------------------------------------------------------------------
 * The response as adapters build it (core/response.c).
 */
struct llm__header {
    char *name;
    char *value;
};

struct llm__usage {
    int64_t v[8];             /* indexed by LLM_USAGE_*; -1 = not reported */
};

struct llm_response {
    llm_client *client;       /* reference of the client that answered */
    int     status;
    int     http_status;
    llm__buf errmsg;
    char   *error_type, *error_code, *error_message;
    int     mid_stream;
    int     retryable;
    int64_t retry_after_ms;   /* -1 none */
    int64_t retry_at_ms;      /* epoch ms, 0 none */
    int     timeout_kind;
    int32_t deny_code;
    int32_t attempts;
    int     cache_hit;
    char   *request_id;
    char   *id;
    char   *model;
    char   *provider;         /* provider name of the answering client */
    char   *meta_model;       /* model the request asked for: tags opaque data */
    struct llm__message msg;  /* role ASSISTANT; parts as produced */
    size_t *tool_parts;       /* tool call index -> part index */
    size_t  ntools, tools_cap;
    llm__buf text;            /* text parts joined, built lazily by llm_response_text */
    int     text_stale;
    int     finish;
    char   *finish_raw;
    struct llm__usage usage;
    char   *usage_raw;
    int     cost_known;
    int64_t cost_nanos;
    char  **warnings;
    size_t  nwarnings;
    struct llm__header *headers;
    size_t  nheaders;
    llm__buf raw;             /* non-streamed body or error body */
    char   *filter_json;
    int     owned_by_stream;  /* llm_response_free refuses it */
};

/* A fresh, empty response: usage all -1, retry-after -1, status LLM_OK. */
llm_response *llm__response_new(void);
/* Release everything it holds (also its client reference). */
void llm__response_destroy(llm_response *r);

/* Builders used by adapters; all return LLM_OK or LLM_ERR_NOMEM.
 * Text of the same type as the last part is appended to it; a tool call
 * always opens a new part.  The index of the tool call among tool calls is
 * returned through index_out (may be NULL). */
int llm__resp_append_text(llm_response *r, const char *s, size_t n);
int llm__resp_append_reasoning(llm_response *r, const char *s, size_t n);
int llm__resp_add_tool_call(llm_response *r, const char *id, const char *name,
                            const char *args, size_t args_len, size_t *index_out);
int llm__resp_tool_args_append(llm_response *r, size_t tool_index,
                               const char *s, size_t n);
/* The part of tool call i (for attaching meta). */
struct llm__part *llm__resp_tool_part(llm_response *r, size_t tool_index);
/* The last part, or NULL. */
struct llm__part *llm__resp_last_part(llm_response *r);
/* Add a part holding only meta (redacted reasoning, unknown blocks). */
int llm__resp_add_opaque(llm_response *r, const char *json, size_t len);
/* Attach meta JSON to a part; provider and model are the response's. */
int llm__resp_set_meta(llm_response *r, struct llm__part *p, const char *json, size_t len);
int llm__resp_set_finish(llm_response *r, int finish, const char *raw);
int llm__resp_set_str(char **field, const char *s);           /* replaces, NULL clears */
int llm__resp_set_strn(char **field, const char *s, size_t n);
int llm__resp_set_usage_raw(llm_response *r, const json_t *usage);
int llm__resp_warn(llm_response *r, const char *fmt, ...) LLM__PRINTF(2, 3);
/* Set the failure: status, text (printf), keeps earlier provider fields. */
int llm__resp_fail(llm_response *r, int status, const char *fmt, ...) LLM__PRINTF(3, 4);
/* Read a usage kind (TOTAL derived); NOT_AVAILABLE with *out -1. */
int llm__usage_get(const struct llm__usage *u, int kind, int64_t *out);
/* Adjust finish to TOOL_CALLS when a tool call is present and the reason
 * mapped to STOP (DESIGN.md 5.5). */
void llm__resp_fix_finish(llm_response *r);

/* ------------------------------------------------------------------------
 * HTTP exchanges, provider-side view (no curl here).
 */
struct llm__http_req {
    const char *method;       /* static string: "POST" */
    llm__buf url;
    struct llm__header *headers;
    size_t nheaders, cap;
    llm__buf body;
};

int  llm__http_req_header(struct llm__http_req *r, const char *name, const char *value);
/* The value of a header already added, or NULL. */
const char *llm__http_req_get(const struct llm__http_req *r, const char *name);
void llm__http_req_free(struct llm__http_req *r);

struct llm__http_res {
    int status;
    const struct llm__header *headers;
    size_t nheaders;
    const char *body;
    size_t body_len;
};

const char *llm__http_res_header(const struct llm__http_res *r, const char *name);

/* ------------------------------------------------------------------------
 * Frames: what framing hands to adapters.
 */
enum llm__framing {
    LLM__FRAMING_NONE = 0,
    LLM__FRAMING_SSE,
    LLM__FRAMING_EVENTSTREAM
};

struct llm__frame {
    /* SSE: event type ("message" when absent), data, id.
     * Event stream: event = :event-type or :exception-type, message_type =
     * :message-type ("event" / "exception" / "error"), data = payload. */
    const char *event;
    size_t      event_len;
    const char *message_type;
    const char *data;
    size_t      data_len;
    const char *id;
    /* Event stream only: :error-code and :error-message of "error" messages. */
    const char *error_code;
    const char *error_message;
};

/* ------------------------------------------------------------------------
 * A resolved call as an adapter sees it: the client's settings with
 * environment and defaults applied, the request, and the output response.
 */
struct llm__call {
    const struct llm__provider_ops *ops;
    const char *provider;      /* "openai", "azure", ... */
    const llm_request *req;
    int   streaming;
    /* Resolved configuration (borrowed from the client). */
    const char *base_url;      /* explicit or from the environment; NULL: the adapter's default */
    const char *model;         /* request override or client model; may be NULL */
    const char *api_key;       /* may be NULL */
    const char *bearer_token;  /* may be NULL */
    const char *api_version;   /* may be NULL */
    const char *organization, *project;
    const char *region;
    const char *aws_access_key_id, *aws_secret_access_key, *aws_session_token;
    int   drop_unsupported;
    int32_t default_max_tokens;
    int   max_tokens_field;
    int64_t now_ms;            /* wall clock (epoch ms) for signing */
    /* Where warnings and before-send failures go. */
    llm_response *resp;
};

/* 1 if a part's opaque meta may be replayed on this call (same provider
 * name as call->ops->name and same model); otherwise 0, and a warning
 * "dropped opaque <provider>/<model> data" is added once per call. */
int llm__meta_usable(struct llm__call *call, const struct llm__meta *m);

/* Drop-or-fail (DESIGN.md 5.2): when the client drops unsupported
 * parameters, add a warning and return LLM_OK (the adapter omits the
 * parameter); else fail the response with LLM_ERR_UNSUPPORTED naming it. */
int llm__call_unsupported(struct llm__call *call, const char *param, const char *why);

/* ------------------------------------------------------------------------
 * Streams: adapter state and the event emitter (core/stream.c).
 */
struct llm__sstate {
    struct llm__call *call;
    llm_response *resp;        /* accumulating */
    void *adapter;             /* the adapter's own per-stream state */
    int   done;                /* the adapter saw the provider's terminator */
    /* Private to core. */
    struct llm__evq *q;
};

/* Set up st for call and resp with an empty event queue (also what adapter
 * unit tests use to drive stream_event without any I/O). */
int  llm__sstate_init(struct llm__sstate *st, struct llm__call *call, llm_response *resp);
/* Pop the next queued event, borrowed until the next pop or cleanup;
 * returns 1 with *ev_out set, 0 when the queue is empty. */
int  llm__sstate_pop(struct llm__sstate *st, const llm_event **ev_out);
void llm__sstate_cleanup(struct llm__sstate *st);
/* Core-only: the accumulated-bytes limit, events not yet pulled, the
 * arena reset once every event was pulled, time of the first content. */
void    llm__sstate_set_limit(struct llm__sstate *st, size_t max_bytes);
size_t  llm__sstate_pending(const struct llm__sstate *st);
void    llm__sstate_reset_if_drained(struct llm__sstate *st);
int64_t llm__sstate_first_token_ms(const struct llm__sstate *st);

/* Each accumulates into st->resp and queues the event for the caller. */
int llm__emit_text(struct llm__sstate *st, const char *s, size_t n);
int llm__emit_reasoning(struct llm__sstate *st, const char *s, size_t n);
/* Opens tool call (index = its position among the response's tool calls,
 * returned through index_out). */
int llm__emit_tool_start(struct llm__sstate *st, const char *id, const char *name,
                         size_t *index_out);
int llm__emit_tool_delta(struct llm__sstate *st, size_t index, const char *s, size_t n);
int llm__emit_tool_end(struct llm__sstate *st, size_t index);
/* After setting st->resp->usage. */
int llm__emit_usage(struct llm__sstate *st);
int llm__emit_warning(struct llm__sstate *st, const char *fmt, ...) LLM__PRINTF(2, 3);

/* ------------------------------------------------------------------------
 * The adapter interface (one instance per wire format).
 * Every function returns LLM_OK or a status; on failure it has also set
 * the response's status and error text (llm__resp_fail).
 */
struct llm__provider_ops {
    const char *name;
    int framing;               /* enum llm__framing, for streams */
    /* Unified request to method, URL, headers (auth included) and body. */
    int (*build)(struct llm__call *call, struct llm__http_req *out);
    /* A 2xx non-streamed body to a response. */
    int (*parse)(struct llm__call *call, const struct llm__http_res *res, llm_response *out);
    /* Allocate st->adapter (may leave it NULL). */
    int (*stream_begin)(struct llm__sstate *st);
    /* One frame.  A mid-stream error sets the response's failure (with
     * mid_stream = 1) and returns its status. */
    int (*stream_event)(struct llm__sstate *st, const struct llm__frame *f);
    /* At EOF: LLM_OK if the stream ended properly (st->done, or a final
     * finish reason where the provider has no terminator); else fail the
     * response with LLM_ERR_NETWORK ("stream truncated"). */
    int (*stream_end)(struct llm__sstate *st);
    void (*stream_free)(struct llm__sstate *st);
    /* A non-2xx reply (or a 2xx that is an error) to status, provider error
     * fields, retryable and body hints (retry delay).  Core has already
     * parsed retry-after / retry-after-ms / x-should-retry headers. */
    int (*map_error)(struct llm__call *call, const struct llm__http_res *res, llm_response *out);
};

/* Registry (providers/registry.c); NULL if unknown or disabled. */
const struct llm__provider_ops *llm__provider_find(const char *name);

/* Shared error helpers (providers/errors.c). */
/* Status for an HTTP status when the body says nothing more specific. */
int llm__status_from_http(int http_status);
/* Default retryability of an HTTP status (408, 409, 429, 5xx). */
int llm__http_retryable(int http_status);

/* ------------------------------------------------------------------------
 * Framing parsers (transport/).
 */
typedef int (*llm__frame_fn)(void *ud, const struct llm__frame *f);

struct llm__sse;
/* max_event: bound of one event's data + type, in bytes. */
int  llm__sse_new(struct llm__sse **out, size_t max_event, llm__frame_fn fn, void *ud);
/* Feed bytes; calls fn for each dispatched event.  Returns LLM_OK, the
 * callback's non-zero status, or LLM_ERR_TOO_LARGE. */
int  llm__sse_feed(struct llm__sse *p, const char *data, size_t n);
/* End of input: flush a pending event that lacked its blank line. */
int  llm__sse_finish(struct llm__sse *p);
void llm__sse_free(struct llm__sse *p);

struct llm__evs;
int  llm__evs_new(struct llm__evs **out, size_t max_frame, llm__frame_fn fn, void *ud);
/* Returns LLM_OK, the callback's status, LLM_ERR_PROTOCOL (bad CRC,
 * header type, lengths) or LLM_ERR_TOO_LARGE. */
int  llm__evs_feed(struct llm__evs *p, const char *data, size_t n);
/* LLM_ERR_PROTOCOL if input ended inside a frame. */
int  llm__evs_finish(struct llm__evs *p);
void llm__evs_free(struct llm__evs *p);
uint32_t llm__crc32(uint32_t crc, const void *data, size_t n);

/* 1 while a hook runs on this thread (hooks/hooks.c): entry points that
 * are not accessors then return LLM_ERR_REENTRANT. */
int llm__hooks_in_callback(void);

/* ------------------------------------------------------------------------
 * Clock (core/clock.c): one replaceable source for every timer.
 */
int64_t llm__now_ms(void);      /* monotonic milliseconds */
int64_t llm__wall_ms(void);     /* epoch milliseconds (signing, retry-after dates) */
/* A test clock's sleep: returns 1 if it took the wait (time advanced), 0 if
 * the caller must really wait. */
int     llm__clock_sleep_hook(int64_t ms);
/* Uniform random double in [0, 1) for backoff jitter (xorshift, seeded from
 * the clock unless llm_test_seed_jitter). Thread-safe. */
double  llm__random(void);

#endif /* LLM_INTERNAL_H */
