/*
 * fuzz_eventstream.c - libFuzzer target for the AWS event-stream decoder
 * (lib/transport/eventstream.c).
 *
 * Input: one mode byte, then the body.  Mode bits 0-1 and 2-4 pick the
 * chunking (fuzz_common.h); bit 5 rewrites both CRCs of every message the
 * body's length fields delimit, so that mutations reach the header parser
 * instead of stopping at a CRC mismatch; bit 6 sets a 256-byte message
 * limit instead of 1 MiB; bit 7 a callback that stops at the third frame.
 * The body is parsed in one feed and in chunks; both must give the same
 * frames and status.
 */
#include "internal.h"
#include "transport/framing.h"
#include "fuzz_common.h"

struct sink {
    uint64_t h;
    size_t frames;
    size_t max;
    size_t stop_at;
};

static int on_frame(void *ud, const struct llm__frame *f)
{
    struct sink *s = ud;
    if (!f->data || f->data[f->data_len] != '\0' || f->id || f->data_len + 16 > s->max ||
        (f->event ? f->event[f->event_len] != '\0' : f->event_len != 0))
        abort();
    if ((f->error_code || f->error_message) &&
        (!f->message_type || strcmp(f->message_type, "error") != 0))
        abort();
    digest_str(&s->h, f->event, f->event_len);
    digest_str(&s->h, f->message_type, f->message_type ? strlen(f->message_type) : 0);
    digest_str(&s->h, f->error_code, f->error_code ? strlen(f->error_code) : 0);
    digest_str(&s->h, f->error_message, f->error_message ? strlen(f->error_message) : 0);
    digest_str(&s->h, f->data, f->data_len);
    s->frames++;
    return s->stop_at && s->frames == s->stop_at ? 1234 : 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void fix_crcs(unsigned char *b, size_t n)
{
    size_t o = 0;
    while (n - o >= 12) {
        uint32_t total = be32(b + o);
        set_be32(b + o + 8, llm__crc32(0, b + o, 8));
        if (total < 16 || total > n - o)
            break;
        set_be32(b + o + total - 4, llm__crc32(0, b + o, total - 4));
        o += total;
    }
}

static int run(const char *d, size_t n, unsigned mode, int chunked, struct sink *s)
{
    struct llm__evs *p = NULL;
    int rc = llm__evs_new(&p, s->max, on_frame, s);
    if (rc)
        return rc;
    uint32_t rng = mode * 2654435761u + 1;
    size_t at = 0;
    while (!rc && at < n) {
        size_t k = chunked ? next_chunk(mode, &rng, n - at) : n - at;
        rc = llm__evs_feed(p, d + at, k);
        at += k;
    }
    if (!rc)
        rc = llm__evs_finish(p);
    if (rc && llm__evs_finish(p) != rc)
        abort();    /* errors are sticky */
    digest(&s->h, &rc, sizeof rc);
    llm__evs_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    size_t n = size - 1;
    /* An exact-size copy so that ASan sees a read past the input. */
    unsigned char *d = malloc(n ? n : 1);
    if (!d)
        return 0;
    memcpy(d, data + 1, n);
    if (mode & 0x20)
        fix_crcs(d, n);
    struct sink a = { 0xcbf29ce484222325ull, 0, 0, 0 }, b;
    a.max = mode & 0x40 ? 256 : (size_t)1 << 20;
    a.stop_at = mode & 0x80 ? 3 : 0;
    b = a;
    int ra = run((const char *)d, n, mode & 0x1f, 0, &a);
    int rb = run((const char *)d, n, mode & 0x1f, 1, &b);
    free(d);
    if (ra != rb || a.frames != b.frames || a.h != b.h)
        abort();
    if (ra != LLM_OK && ra != LLM_ERR_PROTOCOL && ra != LLM_ERR_TOO_LARGE && ra != 1234)
        abort();
    return 0;
}
