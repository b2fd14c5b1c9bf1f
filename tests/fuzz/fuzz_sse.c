/*
 * fuzz_sse.c - libFuzzer target for the SSE parser (lib/transport/sse.c).
 *
 * Input: one mode byte, then the stream.  Mode bits 0-1 and 2-5 pick the
 * chunking (fuzz_common.h), bit 6 a 64-byte event limit instead of 1 MiB,
 * bit 7 a callback that stops at the third event.  The stream is parsed in
 * one feed and in chunks; both must give the same events and status.
 */
#include "internal.h"
#include "transport/framing.h"
#include "fuzz_common.h"

struct sink {
    uint64_t h;
    size_t events;
    size_t max;
    size_t stop_at;
};

static int on_frame(void *ud, const struct llm__frame *f)
{
    struct sink *s = ud;
    if (!f->event || !f->data || !f->id || f->message_type || f->error_code ||
        f->error_message || f->event[f->event_len] != '\0' || f->data[f->data_len] != '\0' ||
        f->event_len == 0)
        abort();
    /* "message" is the default, not counted against the limit. */
    if (f->data_len > s->max || (f->event_len + f->data_len > s->max && f->event_len != 7))
        abort();
    digest_str(&s->h, f->event, f->event_len);
    digest_str(&s->h, f->data, f->data_len);
    digest_str(&s->h, f->id, strlen(f->id));
    s->events++;
    return s->stop_at && s->events == s->stop_at ? 1234 : 0;
}

static int run(const char *d, size_t n, unsigned mode, int chunked, struct sink *s)
{
    struct llm__sse *p = NULL;
    int rc = llm__sse_new(&p, s->max, on_frame, s);
    if (rc)
        return rc;
    uint32_t rng = mode * 2654435761u + 1;
    size_t at = 0;
    while (!rc && at < n) {
        size_t k = chunked ? next_chunk(mode, &rng, n - at) : n - at;
        rc = llm__sse_feed(p, d + at, k);
        at += k;
    }
    if (!rc)
        rc = llm__sse_finish(p);
    if (rc && llm__sse_finish(p) != rc)
        abort();    /* errors are sticky */
    digest(&s->h, &rc, sizeof rc);
    int64_t retry = llm__sse_retry(p);
    digest(&s->h, &retry, sizeof retry);
    const char *id = llm__sse_last_id(p);
    digest_str(&s->h, id, strlen(id));
    llm__sse_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    struct sink a = { 0xcbf29ce484222325ull, 0, 0, 0 }, b;
    a.max = mode & 0x40 ? 64 : (size_t)1 << 20;
    a.stop_at = mode & 0x80 ? 3 : 0;
    b = a;
    int ra = run(d, n, mode, 0, &a);
    int rb = run(d, n, mode, 1, &b);
    if (ra != rb || a.events != b.events || a.h != b.h)
        abort();
    if (ra != LLM_OK && ra != LLM_ERR_TOO_LARGE && ra != 1234)
        abort();
    return 0;
}
