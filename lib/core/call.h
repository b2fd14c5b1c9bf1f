/*
 * call.h - one call's state machine, shared by the blocking driver, the
 * multi interface, the attempt loop, admission and the cache.
 *
 * A call (struct llm_stream, for complete calls too) moves through
 *   START -> RUNNING (one HTTP attempt) -> WAIT (backoff) -> RUNNING ... -> DONE
 * Every decision (retry, fallback, breaker, deadline) is made in attempt.c;
 * stream.c and multi.c only drive I/O and hand out events.
 */
#ifndef LLM_CALL_H
#define LLM_CALL_H

#include "core/client.h"
#include "hooks/hooks.h"
#include "transport/transport.h"

#include <pthread.h>

enum llm__phase { LLM__PH_START, LLM__PH_RUNNING, LLM__PH_WAIT, LLM__PH_DONE };

struct llm_cancel {
    atomic_int refs;
    atomic_int triggered;
    pthread_mutex_t lock;
    llm_stream **streams;      /* calls to wake when triggered */
    size_t nstreams, cap;
};

struct llm_call_opts {
    int64_t deadline_ms;
    char *user;
    int32_t max_retries;       /* -1: the client's */
    int cache_mode;
    llm_cancel *cancel;
};

struct llm_stream {
    llm_client *client;        /* the client called (reference) */
    llm_client *cur;           /* the client of the current attempt (reference) */
    const llm_request *req;    /* held for the call's life */
    int streaming;             /* wire form */
    /* Per-call options, copied at open. */
    int64_t deadline_at;       /* llm__now_ms time; 0: none */
    char *user;
    int32_t max_retries;
    int cache_mode;
    llm_cancel *cancel;
    atomic_int cancelled;
    /* Progress. */
    int phase;
    int final_status;
    int delivered;             /* an event reached the caller */
    int taken;
    int driven;                /* llm_stream_next was called: too late for a multi */
    int in_callback;
    int32_t attempt_no;        /* across every client tried */
    int32_t retries_here;      /* on the current client */
    int64_t call_start, attempt_start, wait_until;
    /* The current attempt. */
    struct llm__call call;
    llm_response *resp;
    struct llm__http_req http;
    struct llm__xfer xfer;
    int xfer_live;             /* easy handle added to a multi */
    struct llm__sstate st;
    struct llm__sse *sse;
    struct llm__evs *evs;
    llm__buf body;             /* non-streamed or error body */
    int body_mode;             /* 0 unknown, 1 stream frames, 2 buffer */
    int timeout_kind;          /* the timer that aborted the attempt */
    struct llm_credentials creds;
    /* Transport: a private connection (blocking) or a multi's easy handle. */
    struct llm__conn *conn;
    llm_multi *multi;
    CURL *easy;
    pthread_mutex_t wake_lock; /* guards the multi to wake on cancel */
    CURLM *wake;
    /* Hooks. */
    void *admit_ticket;
    int cache_key_set;
    char cache_key[65];
    llm_event_fn event_fn;
    void *event_ud;
    llm_stream *multi_next;    /* list of a multi's streams */
};

struct llm_multi {
    CURLM *cm;
    llm_stream *streams;
    llm_socket_fn socket_fn;
    void *socket_ud;
    llm_timer_fn timer_fn;
    void *timer_ud;
    int64_t curl_due;          /* llm__now_ms when curl's timer is due; -1 none */
    int in_callback;           /* an event callback of this multi is running */
    int again;                 /* work was left for the next turn: do not wait */
};

/* attempt.c */
int  llm__call_begin(llm_stream *s);            /* admission, cache: at open */
void llm__attempt_start(llm_stream *s);         /* WAIT/START -> RUNNING or DONE */
void llm__attempt_done(llm_stream *s, CURLcode rc);
/* Abort the running attempt for a reason of ours (timer, cancel). */
void llm__attempt_abort(llm_stream *s, int status, int timeout_kind, const char *why);
/* Check cancel, deadline and the attempt's timers; aborts if one fired.
 * Returns the ms until the next timer (or -1 for none). */
int64_t llm__call_timers(llm_stream *s, int64_t now);
/* The same question without acting on the answer: 0 when something is
 * already due (a cancel, an expired clock), else the ms until the next
 * timer, or -1 for none.  Safe from inside curl's callbacks. */
int64_t llm__call_due(const llm_stream *s, int64_t now);
/* A cancelled call that has not ended ends now with LLM_ERR_CANCELLED and
 * drops the events it had queued: the caller asked for no more of them. */
void llm__call_cancel_now(llm_stream *s);
int  llm__call_cancelled(llm_stream *s);
void llm__call_finish(llm_stream *s, int status);

/* cancel.c */
int  llm__cancel_register(llm_cancel *t, llm_stream *s);
void llm__cancel_unregister(llm_cancel *t, llm_stream *s);

/* redact.c: replace exact occurrences of the client's secrets. */
void llm__redact(const llm_client *c, llm__buf *b);
void llm__redact_str(const llm_client *c, char **s);

/* multi.c */
void llm__multi_detach(llm_multi *m, llm_stream *s);
/* Tell the host's timer again: a stream attached to m has new work. */
void llm__multi_rearm(llm_multi *m);

#endif
