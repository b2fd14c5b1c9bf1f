/*
 * transport.h - libcurl glue.  Knows HTTP, never JSON or providers.
 */
#ifndef LLM_TRANSPORT_H
#define LLM_TRANSPORT_H

#include "internal.h"

#include <curl/curl.h>

/* A private multi handle and an easy handle, pooled per client so that
 * sequential blocking calls reuse connections, DNS and TLS sessions. */
struct llm__conn {
    CURLM *multi;
    CURL *easy;
    struct llm__conn *next;
};

int  llm__transport_client_init(llm_client *c);
void llm__transport_client_cleanup(llm_client *c);
/* NULL on NOMEM. */
struct llm__conn *llm__conn_take(llm_client *c);
void llm__conn_give(llm_client *c, struct llm__conn *conn);
void llm__conn_free(struct llm__conn *conn);
/* A new easy handle sharing the client's DNS and TLS session cache. */
CURL *llm__easy_new(llm_client *c);

/* Body bytes: return LLM_OK to go on, anything else aborts the transfer. */
typedef int (*llm__body_fn)(void *ud, const char *p, size_t n);

struct llm__xfer {
    CURL *easy;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
    int status;                       /* HTTP status of the final response */
    struct llm__header *headers;      /* of the final response */
    size_t nheaders, cap;
    int in_headers;                   /* between a status line and its blank line */
    int64_t last_byte_ms;             /* llm__now_ms of the last byte seen */
    int64_t first_byte_ms;            /* 0 until a byte arrived */
    int abort_status;                 /* why the body callback stopped it */
    llm__body_fn on_body;
    void *ud;
};

struct llm__xfer_opts {
    int64_t connect_ms;
    int verify_tls;
    const char *ca_file;
    llm__body_fn on_body;
    void *ud;
    void *private_ptr;                /* CURLINFO_PRIVATE */
};

/* Point the easy handle at the request.  The request must outlive the
 * transfer (curl reads the body from it). */
int  llm__xfer_setup(struct llm__xfer *x, CURL *easy, const struct llm__http_req *req,
                     const struct llm__xfer_opts *o);
/* Release the header list and captured headers; the easy handle stays. */
void llm__xfer_cleanup(struct llm__xfer *x);
/* Map a curl result to a status and readable text. */
int  llm__xfer_status(const struct llm__xfer *x, CURLcode rc, llm__buf *why);

#endif
