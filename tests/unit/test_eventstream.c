/*
 * test_eventstream.c - the AWS event-stream decoder and CRC-32
 * (lib/transport/eventstream.c): the worked example of providers.md §7.2
 * byte for byte, frames of every header type from a small encoder, every
 * split point, each kind of corruption, limits and allocation.
 */
#include "test.h"
#include "internal.h"
#include "transport/framing.h"

/* ---- a test allocator: counts, and fails the Nth allocation on demand -- */

static long alloc_count;
static long alloc_live;
static long alloc_fail_at;
static size_t alloc_largest;

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    if (alloc_fail_at && --alloc_fail_at == 0)
        return NULL;
    void *p = malloc(n);
    if (p) {
        alloc_count++;
        alloc_live++;
        if (n > alloc_largest)
            alloc_largest = n;
    }
    return p;
}

static void *t_realloc(void *old, size_t n, void *ud)
{
    (void)ud;
    if (alloc_fail_at && --alloc_fail_at == 0)
        return NULL;
    void *p = realloc(old, n);
    if (p) {
        alloc_count++;
        if (!old)
            alloc_live++;
        if (n > alloc_largest)
            alloc_largest = n;
    }
    return p;
}

static void t_free(void *p, void *ud)
{
    (void)ud;
    if (p)
        alloc_live--;
    free(p);
}

/* ---- recording frames -------------------------------------------------- */

struct rec {
    llm__buf out;     /* "type|event|code|message|payload" per frame + "\n~\n" */
    int n;
    int bad;
    int stop_at;
    int stop_rc;
};

static const char *nz(const char *s) { return s ? s : "(null)"; }

static int on_frame(void *ud, const struct llm__frame *f)
{
    struct rec *r = ud;
    r->n++;
    if (!f->data || f->data[f->data_len] != '\0' || f->id ||
        (f->event ? strlen(f->event) != f->event_len : f->event_len != 0))
        r->bad++;
    else {
        llm__buf_printf(&r->out, "%s|%s|%s|%s|", nz(f->message_type), nz(f->event),
                        nz(f->error_code), nz(f->error_message));
        llm__buf_append(&r->out, f->data, f->data_len);
        llm__buf_puts(&r->out, "\n~\n");
    }
    if (r->stop_at && r->n == r->stop_at)
        return r->stop_rc;
    return 0;
}

static void rec_free(struct rec *r) { llm__buf_free(&r->out); }
static const char *rec_text(const struct rec *r) { return r->out.data ? r->out.data : ""; }

#define FR(type, event, code, msg, payload) type "|" event "|" code "|" msg "|" payload "\n~\n"

static int parse_cuts(struct rec *r, size_t max, const void *s, size_t n, const size_t *cuts,
                      size_t ncuts)
{
    struct llm__evs *p = NULL;
    int rc = llm__evs_new(&p, max, on_frame, r);
    if (rc)
        return rc;
    size_t at = 0;
    for (size_t k = 0; k <= ncuts && !rc; k++) {
        size_t to = k < ncuts ? cuts[k] : n;
        rc = llm__evs_feed(p, (const char *)s + at, to - at);
        at = to;
    }
    if (!rc)
        rc = llm__evs_finish(p);
    llm__evs_free(p);
    return rc;
}

static int parse_bytewise(struct rec *r, size_t max, const void *s, size_t n)
{
    struct llm__evs *p = NULL;
    int rc = llm__evs_new(&p, max, on_frame, r);
    for (size_t i = 0; i < n && !rc; i++)
        rc = llm__evs_feed(p, (const char *)s + i, 1);
    if (!rc)
        rc = llm__evs_finish(p);
    llm__evs_free(p);
    return rc;
}

#define BIG ((size_t)16 << 20)

/* ---- a small encoder --------------------------------------------------- */

static void put_be(llm__buf *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        llm__buf_append(b, &c, 1);
    }
}

static void h_name(llm__buf *h, const char *name, int type)
{
    put_be(h, strlen(name), 1);
    llm__buf_puts(h, name);
    put_be(h, (uint64_t)type, 1);
}

/* Types 6 and 7: u16 length then bytes. */
static void h_var(llm__buf *h, const char *name, int type, const void *v, size_t n)
{
    h_name(h, name, type);
    put_be(h, n, 2);
    llm__buf_append(h, v, n);
}

static void h_str(llm__buf *h, const char *name, const char *v) { h_var(h, name, 7, v, strlen(v)); }

/* Fixed-size types: the value's bytes given as an integer (or raw for UUID). */
static void h_int(llm__buf *h, const char *name, int type, uint64_t v, int bytes)
{
    h_name(h, name, type);
    put_be(h, v, bytes);
}

static uint32_t get_be32(const unsigned char *p)
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

/* Recompute both CRCs of the message at m (after a deliberate change). */
static void fix_crcs(unsigned char *m)
{
    set_be32(m + 8, llm__crc32(0, m, 8));
    uint32_t total = get_be32(m);
    set_be32(m + total - 4, llm__crc32(0, m, total - 4));
}

/* Appends one message with headers h and the payload to out. */
static void enc_frame(llm__buf *out, const llm__buf *h, const void *payload, size_t plen)
{
    size_t start = out->len;
    put_be(out, 16 + h->len + plen, 4);
    put_be(out, h->len, 4);
    put_be(out, 0, 4);
    llm__buf_append(out, h->data ? h->data : "", h->len);
    llm__buf_append(out, payload, plen);
    put_be(out, 0, 4);
    fix_crcs((unsigned char *)out->data + start);
}

static void enc_event(llm__buf *out, const char *event_type, const char *payload)
{
    llm__buf h = { 0 };
    h_str(&h, ":event-type", event_type);
    h_str(&h, ":content-type", "application/json");
    h_str(&h, ":message-type", "event");
    enc_frame(out, &h, payload, strlen(payload));
    llm__buf_free(&h);
}

/* ---- CRC-32 -------------------------------------------------------------- */

TEST(crc32_values)
{
    CHECK_INT(llm__crc32(0, "123456789", 9), 0xcbf43926u);
    CHECK_INT(llm__crc32(0, "", 0), 0);
    CHECK_INT(llm__crc32(0, NULL, 5), 0);
    CHECK_INT(llm__crc32(0x1234, NULL, 0), 0x1234);
    CHECK_INT(llm__crc32(0, "a", 1), 0xe8b7be43u);
    CHECK_INT(llm__crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414fa339u);
    /* Chaining, as zlib's crc32 allows. */
    uint32_t c = llm__crc32(0, "12345", 5);
    CHECK_INT(llm__crc32(c, "6789", 4), 0xcbf43926u);
    unsigned char zeros[32] = { 0 };
    CHECK_INT(llm__crc32(0, zeros, 32), 0x190a55adu);
}

/* ---- the worked examples of providers.md §7.2, verbatim ---------------- */

static const unsigned char ex_delta[159] = {
    0x00, 0x00, 0x00, 0x9f, 0x00, 0x00, 0x00, 0x57, 0xc3, 0x7b, 0xab, 0xff, 0x0b, 0x3a, 0x65, 0x76,
    0x65, 0x6e, 0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x07, 0x00, 0x11, 0x63, 0x6f, 0x6e, 0x74, 0x65,
    0x6e, 0x74, 0x42, 0x6c, 0x6f, 0x63, 0x6b, 0x44, 0x65, 0x6c, 0x74, 0x61, 0x0d, 0x3a, 0x63, 0x6f,
    0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x07, 0x00, 0x10, 0x61, 0x70, 0x70,
    0x6c, 0x69, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x6a, 0x73, 0x6f, 0x6e, 0x0d, 0x3a, 0x6d,
    0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x07, 0x00, 0x05, 0x65, 0x76,
    0x65, 0x6e, 0x74, 0x7b, 0x22, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x42, 0x6c, 0x6f, 0x63,
    0x6b, 0x49, 0x6e, 0x64, 0x65, 0x78, 0x22, 0x3a, 0x30, 0x2c, 0x22, 0x64, 0x65, 0x6c, 0x74, 0x61,
    0x22, 0x3a, 0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0x48, 0x69, 0x22, 0x7d, 0x2c,
    0x22, 0x70, 0x22, 0x3a, 0x22, 0x61, 0x62, 0x63, 0x64, 0x22, 0x7d, 0xf2, 0xac, 0xe5, 0xff,
};

static const unsigned char ex_throttle[178] = {
    0x00, 0x00, 0x00, 0xb2, 0x00, 0x00, 0x00, 0x61, 0x35, 0x90, 0xd5, 0xd3, 0x0f, 0x3a, 0x65, 0x78,
    0x63, 0x65, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x07, 0x00, 0x13, 0x74,
    0x68, 0x72, 0x6f, 0x74, 0x74, 0x6c, 0x69, 0x6e, 0x67, 0x45, 0x78, 0x63, 0x65, 0x70, 0x74, 0x69,
    0x6f, 0x6e, 0x0d, 0x3a, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x74, 0x79, 0x70, 0x65,
    0x07, 0x00, 0x10, 0x61, 0x70, 0x70, 0x6c, 0x69, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x6a,
    0x73, 0x6f, 0x6e, 0x0d, 0x3a, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x2d, 0x74, 0x79, 0x70,
    0x65, 0x07, 0x00, 0x09, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x7b, 0x22, 0x6d,
    0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x22, 0x3a, 0x22, 0x54, 0x6f, 0x6f, 0x20, 0x6d, 0x61, 0x6e,
    0x79, 0x20, 0x72, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x73, 0x2c, 0x20, 0x70, 0x6c, 0x65, 0x61,
    0x73, 0x65, 0x20, 0x77, 0x61, 0x69, 0x74, 0x20, 0x62, 0x65, 0x66, 0x6f, 0x72, 0x65, 0x20, 0x74,
    0x72, 0x79, 0x69, 0x6e, 0x67, 0x20, 0x61, 0x67, 0x61, 0x69, 0x6e, 0x2e, 0x22, 0x7d, 0xe8, 0xff,
    0xb2, 0x6a,
};

#define EX_DELTA_PAYLOAD "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"},\"p\":\"abcd\"}"
#define EX_THROTTLE_PAYLOAD "{\"message\":\"Too many requests, please wait before trying again.\"}"
static const char ex_want[] =
    FR("event", "contentBlockDelta", "(null)", "(null)", EX_DELTA_PAYLOAD)
    FR("exception", "throttlingException", "(null)", "(null)", EX_THROTTLE_PAYLOAD);

TEST(worked_example_crcs)
{
    CHECK_INT(sizeof EX_DELTA_PAYLOAD - 1, 56);
    CHECK_INT(sizeof EX_THROTTLE_PAYLOAD - 1, 65);
    CHECK_INT(llm__crc32(0, ex_delta, 8), 0xc37babffu);
    CHECK_INT(llm__crc32(0, ex_delta, 159 - 4), 0xf2ace5ffu);
    CHECK_INT(llm__crc32(0, ex_throttle, 8), 0x3590d5d3u);
    CHECK_INT(llm__crc32(0, ex_throttle, 178 - 4), 0xe8ffb26au);
    /* The running form aws-c-event-stream uses gives the same value. */
    uint32_t c = llm__crc32(0, ex_delta, 12);
    CHECK_INT(llm__crc32(c, ex_delta + 12, 159 - 16), 0xf2ace5ffu);
    /* The encoder reproduces the documented bytes. */
    llm__buf out = { 0 };
    enc_event(&out, "contentBlockDelta", EX_DELTA_PAYLOAD);
    CHECK_INT(out.len, 159);
    CHECK(out.data && memcmp(out.data, ex_delta, 159) == 0);
    llm__buf_free(&out);
}

TEST(worked_example_decodes)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_cuts(&r, BIG, ex_delta, sizeof ex_delta, NULL, 0), LLM_OK);
    CHECK_INT(r.n, 1);
    CHECK_INT(r.bad, 0);
    CHECK_STR(rec_text(&r), FR("event", "contentBlockDelta", "(null)", "(null)", EX_DELTA_PAYLOAD));
    rec_free(&r);

    unsigned char both[159 + 178];
    memcpy(both, ex_delta, 159);
    memcpy(both + 159, ex_throttle, 178);
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_cuts(&r, BIG, both, sizeof both, NULL, 0), LLM_OK);
    CHECK_INT(r.n, 2);
    CHECK_STR(rec_text(&r), ex_want);
    rec_free(&r);

    /* Every single split, every pair of splits, and one byte at a time. */
    int mismatches = 0;
    for (size_t i = 0; i <= sizeof both; i++) {
        for (size_t j = i; j <= sizeof both; j++) {
            size_t cuts[2] = { i, j };
            memset(&r, 0, sizeof r);
            int rc = parse_cuts(&r, BIG, both, sizeof both, cuts, 2);
            if (rc != LLM_OK || r.bad || strcmp(rec_text(&r), ex_want) != 0) {
                if (!mismatches)
                    printf("#   splits at %zu,%zu differ\n", i, j);
                mismatches++;
            }
            rec_free(&r);
        }
    }
    CHECK_INT(mismatches, 0);
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, both, sizeof both), LLM_OK);
    CHECK_STR(rec_text(&r), ex_want);
    rec_free(&r);
}

/* ---- frames from the encoder ------------------------------------------- */

TEST(arguments)
{
    struct llm__evs *p = (struct llm__evs *)1;
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(llm__evs_new(NULL, 10, on_frame, &r), LLM_ERR_MISUSE);
    CHECK_INT(llm__evs_new(&p, 10, NULL, &r), LLM_ERR_INVALID_ARG);
    CHECK(p == NULL);
    CHECK_INT(llm__evs_new(&p, 0, on_frame, &r), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__evs_feed(NULL, "x", 1), LLM_ERR_MISUSE);
    CHECK_INT(llm__evs_finish(NULL), LLM_ERR_MISUSE);
    llm__evs_free(NULL);
    CHECK_INT(llm__evs_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(llm__evs_feed(p, NULL, 1), LLM_ERR_MISUSE);
    CHECK_INT(llm__evs_feed(p, NULL, 0), LLM_OK);
    CHECK_STR(llm__evs_errmsg(p), "");
    CHECK_INT(llm__evs_finish(p), LLM_OK);    /* an empty body holds no partial frame */
    CHECK_INT(r.n, 0);
    llm__evs_free(p);
}

TEST(every_header_type)
{
    static const unsigned char uuid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                            0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
    llm__buf h = { 0 };
    h_name(&h, "t", 0);
    h_name(&h, "f", 1);
    h_int(&h, "b", 2, 0xff, 1);
    h_int(&h, "s", 3, 0x8001, 2);
    h_int(&h, "i", 4, 0x7fffffff, 4);
    h_int(&h, "l", 5, 0x0102030405060708ull, 8);
    h_var(&h, "bytes", 6, "\x00\x01\x02", 3);
    /* A byte-array header under a name libllm reads is not its value. */
    h_var(&h, ":event-type", 6, "notThis", 7);
    h_int(&h, "ts", 8, 1732000000000ull, 8);
    h_name(&h, "uuid", 9);
    llm__buf_append(&h, uuid, 16);
    h_str(&h, ":event-type", "messageStop");
    h_var(&h, "empty", 7, "", 0);
    h_var(&h, "", 7, "nameless", 8);
    h_str(&h, ":content-type", "application/json");
    h_str(&h, ":message-type", "event");
    /* Values that happen to be the header type bytes and lengths again. */
    h_var(&h, "tricky", 6, "\x07\x00\x05", 3);
    llm__buf m = { 0 };
    static const char payload[] = "{\"stopReason\":\"end_turn\",\"p\":\"abc\"}";
    enc_frame(&m, &h, payload, sizeof payload - 1);
    llm__buf_free(&h);

    /* A message with no headers and an empty payload, then one whose payload
     * holds NUL bytes. */
    llm__buf none = { 0 };
    enc_frame(&m, &none, "", 0);
    enc_frame(&m, &none, "a\0b", 3);

    static const char want[] =
        FR("event", "messageStop", "(null)", "(null)", "{\"stopReason\":\"end_turn\",\"p\":\"abc\"}")
        FR("(null)", "(null)", "(null)", "(null)", "")
        FR("(null)", "(null)", "(null)", "(null)", "a\0b");
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_cuts(&r, BIG, m.data, m.len, NULL, 0), LLM_OK);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.bad, 0);
    CHECK_INT(r.out.len, sizeof want - 1);
    CHECK(r.out.data && memcmp(r.out.data, want, sizeof want - 1) == 0);
    rec_free(&r);

    int mismatches = 0;
    for (size_t i = 0; i <= m.len; i++) {
        memset(&r, 0, sizeof r);
        int rc = parse_cuts(&r, BIG, m.data, m.len, &i, 1);
        if (rc || r.out.len != sizeof want - 1 || memcmp(r.out.data, want, r.out.len) != 0)
            mismatches++;
        rec_free(&r);
    }
    CHECK_INT(mismatches, 0);
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, m.data, m.len), LLM_OK);
    CHECK(r.out.len == sizeof want - 1 && memcmp(r.out.data, want, r.out.len) == 0);
    rec_free(&r);
    llm__buf_free(&m);
}

TEST(exception_and_error_messages)
{
    llm__buf m = { 0 }, h = { 0 };
    h_str(&h, ":message-type", "exception");
    h_str(&h, ":exception-type", "modelStreamErrorException");
    h_str(&h, ":event-type", "ignoredForExceptions");
    h_str(&h, ":content-type", "application/json");
    enc_frame(&m, &h, "{\"message\":\"boom\",\"originalStatusCode\":500}", 43);
    llm__buf_reset(&h);
    h_str(&h, ":message-type", "error");
    h_str(&h, ":error-code", "InternalFailure");
    h_str(&h, ":error-message", "An internal error occurred.");
    enc_frame(&m, &h, "", 0);
    llm__buf_reset(&h);
    /* Error headers on an event are not an error. */
    h_str(&h, ":message-type", "event");
    h_str(&h, ":event-type", "metadata");
    h_str(&h, ":error-code", "x");
    enc_frame(&m, &h, "{}", 2);
    llm__buf_free(&h);

    static const char want[] =
        FR("exception", "modelStreamErrorException", "(null)", "(null)",
           "{\"message\":\"boom\",\"originalStatusCode\":500}")
        FR("error", "(null)", "InternalFailure", "An internal error occurred.", "")
        FR("event", "metadata", "(null)", "(null)", "{}");
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, m.data, m.len), LLM_OK);
    CHECK_INT(r.bad, 0);
    CHECK_STR(rec_text(&r), want);
    rec_free(&r);
    llm__buf_free(&m);
}

/* A realistic ConverseStream body (providers.md §5.5). */
static void converse_stream(llm__buf *m)
{
    enc_event(m, "messageStart", "{\"role\":\"assistant\",\"p\":\"abcdefgh\"}");
    enc_event(m, "contentBlockDelta",
              "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Let me check.\"},\"p\":\"abc\"}");
    enc_event(m, "contentBlockStop", "{\"contentBlockIndex\":0,\"p\":\"abcdefghijklm\"}");
    enc_event(m, "contentBlockStart",
              "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_kZJ\","
              "\"name\":\"get_weather\"}},\"p\":\"ab\"}");
    enc_event(m, "contentBlockDelta",
              "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{\\\"city\\\":\"}},\"p\":\"abcd\"}");
    enc_event(m, "messageStop", "{\"stopReason\":\"tool_use\",\"p\":\"abcdefghijklmnop\"}");
    enc_event(m, "metadata",
              "{\"usage\":{\"inputTokens\":412,\"outputTokens\":57,\"totalTokens\":469},"
              "\"metrics\":{\"latencyMs\":1830},\"p\":\"abc\"}");
}

TEST(converse_stream_every_split)
{
    llm__buf m = { 0 };
    converse_stream(&m);
    struct rec whole;
    memset(&whole, 0, sizeof whole);
    CHECK_INT(parse_cuts(&whole, BIG, m.data, m.len, NULL, 0), LLM_OK);
    CHECK_INT(whole.n, 7);
    CHECK(strstr(rec_text(&whole), "event|metadata|(null)|(null)|{\"usage\"") != NULL);
    int mismatches = 0;
    for (size_t i = 0; i <= m.len; i++) {
        struct rec r;
        memset(&r, 0, sizeof r);
        int rc = parse_cuts(&r, BIG, m.data, m.len, &i, 1);
        if (rc || r.bad || strcmp(rec_text(&r), rec_text(&whole)) != 0)
            mismatches++;
        rec_free(&r);
    }
    CHECK_INT(mismatches, 0);
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, m.data, m.len), LLM_OK);
    CHECK_STR(rec_text(&r), rec_text(&whole));
    rec_free(&r);
    rec_free(&whole);
    llm__buf_free(&m);
}

/* ---- corruption -------------------------------------------------------- */

/* Parses a good message followed by the (corrupt) message c, in one feed
 * and one byte at a time; both must stop with want after exactly one frame. */
static void expect_bad(const unsigned char *c, size_t n, size_t max, int want, const char *why)
{
    llm__buf m = { 0 };
    enc_event(&m, "messageStart", "{\"role\":\"assistant\"}");
    llm__buf_append(&m, c, n);
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct rec r;
        memset(&r, 0, sizeof r);
        struct llm__evs *p = NULL;
        CHECK_INT(llm__evs_new(&p, max, on_frame, &r), LLM_OK);
        int rc = LLM_OK;
        if (bytewise) {
            for (size_t i = 0; i < m.len && !rc; i++)
                rc = llm__evs_feed(p, m.data + i, 1);
        } else {
            rc = llm__evs_feed(p, m.data, m.len);
        }
        if (!rc)
            rc = llm__evs_finish(p);
        CHECK_INT(rc, want);
        CHECK_INT(r.n, 1);
        if (!strstr(llm__evs_errmsg(p), why)) {
            CHECK_STR(llm__evs_errmsg(p), why);
        }
        /* Sticky. */
        CHECK_INT(llm__evs_feed(p, (const char *)ex_delta, sizeof ex_delta), want);
        CHECK_INT(llm__evs_finish(p), want);
        CHECK_INT(r.n, 1);
        llm__evs_free(p);
        rec_free(&r);
    }
    llm__buf_free(&m);
}

TEST(corrupt_crcs)
{
    unsigned char c[sizeof ex_delta];
    memcpy(c, ex_delta, sizeof c);
    c[8] ^= 0x01;                                  /* prelude CRC */
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "prelude CRC");
    memcpy(c, ex_delta, sizeof c);
    c[sizeof c - 1] ^= 0x80;                       /* message CRC */
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "message CRC");
    memcpy(c, ex_delta, sizeof c);
    c[120] ^= 0x04;                                /* a payload bit */
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "message CRC");
    memcpy(c, ex_delta, sizeof c);
    c[24] = 200;                                   /* a header type, CRC left stale */
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "message CRC");
    memcpy(c, ex_delta, sizeof c);
    c[3] ^= 0x01;                                  /* total length, prelude CRC stale */
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "prelude CRC");
    /* Every single bit flip of the example is caught. */
    int missed = 0;
    for (size_t i = 0; i < sizeof c * 8; i++) {
        memcpy(c, ex_delta, sizeof c);
        c[i / 8] ^= (unsigned char)(1u << (i % 8));
        struct rec r;
        memset(&r, 0, sizeof r);
        int rc = parse_cuts(&r, BIG, c, sizeof c, NULL, 0);
        if (r.n != 0 || (rc != LLM_ERR_PROTOCOL && rc != LLM_ERR_TOO_LARGE))
            missed++;
        rec_free(&r);
    }
    CHECK_INT(missed, 0);
}

TEST(corrupt_headers_with_valid_crcs)
{
    unsigned char c[sizeof ex_delta];
    /* Header type 200. */
    memcpy(c, ex_delta, sizeof c);
    CHECK_INT(c[24], 7);
    c[24] = 200;
    fix_crcs(c);
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "unknown value type");
    /* Types 10 and 255 too. */
    c[24] = 10;
    fix_crcs(c);
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "unknown value type");
    c[24] = 255;
    fix_crcs(c);
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "unknown value type");

    /* The last header's string length runs past the headers section (into
     * the payload, which is still inside the message). */
    memcpy(c, ex_delta, sizeof c);
    CHECK(c[0x5c] == 0x00 && c[0x5d] == 0x05);
    c[0x5d] = 0x06;
    fix_crcs(c);
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "runs past the headers");
    c[0x5c] = 0xff;
    c[0x5d] = 0xff;
    fix_crcs(c);
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "runs past the headers");
    /* A name length running past the section. */
    memcpy(c, ex_delta, sizeof c);
    CHECK_INT(c[12], 11);
    c[12] = 200;
    fix_crcs(c);
    expect_bad(c, sizeof c, BIG, LLM_ERR_PROTOCOL, "runs past the headers");

    /* Headers that end inside a header: shrink headers_length. */
    for (uint32_t hl = 1; hl < 87; hl++) {
        unsigned char d[sizeof ex_delta];
        memcpy(d, ex_delta, sizeof d);
        set_be32(d + 4, hl);
        fix_crcs(d);
        struct rec r;
        memset(&r, 0, sizeof r);
        int rc = parse_cuts(&r, BIG, d, sizeof d, NULL, 0);
        /* 32 and 65 are header boundaries: those parse, with a longer payload. */
        if (hl == 32 || hl == 65) {
            CHECK_INT(rc, LLM_OK);
            CHECK_INT(r.n, 1);
        } else {
            CHECK_INT(rc, LLM_ERR_PROTOCOL);
            CHECK_INT(r.n, 0);
        }
        rec_free(&r);
    }

    /* Fixed-size values and the u16 length cut by the section's end: one
     * byte fewer than each type needs. */
    static const struct { int type; int need; } cut[] = {
        { 2, 1 }, { 3, 2 }, { 4, 4 }, { 5, 8 }, { 6, 2 }, { 7, 2 }, { 8, 8 }, { 9, 16 },
    };
    for (size_t k = 0; k < LLM__ARRAY_LEN(cut); k++) {
        llm__buf h = { 0 }, m = { 0 };
        h_name(&h, "x", cut[k].type);
        for (int i = 0; i < cut[k].need - 1; i++)
            put_be(&h, 0, 1);
        enc_frame(&m, &h, "{}", 2);
        expect_bad((unsigned char *)m.data, m.len, BIG, LLM_ERR_PROTOCOL, "past the headers");
        /* With the missing byte the same header is fine. */
        llm__buf_reset(&m);
        put_be(&h, 0, 1);
        enc_frame(&m, &h, "{}", 2);
        struct rec r;
        memset(&r, 0, sizeof r);
        CHECK_INT(parse_cuts(&r, BIG, m.data, m.len, NULL, 0), LLM_OK);
        CHECK_INT(r.n, 1);
        rec_free(&r);
        llm__buf_free(&h);
        llm__buf_free(&m);
    }
    /* A header cut right after its name. */
    llm__buf h = { 0 }, m = { 0 };
    put_be(&h, 3, 1);
    llm__buf_puts(&h, "abc");
    enc_frame(&m, &h, "{}", 2);
    expect_bad((unsigned char *)m.data, m.len, BIG, LLM_ERR_PROTOCOL, "without a value type");
    llm__buf_free(&h);
    llm__buf_free(&m);
}

static void prelude(unsigned char *c, uint32_t total, uint32_t hlen)
{
    set_be32(c, total);
    set_be32(c + 4, hlen);
    set_be32(c + 8, llm__crc32(0, c, 8));
}

TEST(lengths)
{
    unsigned char c[16];
    /* 16 MiB claimed against a 1 MiB limit: refused from the prelude alone,
     * without allocating anything near the claimed size. */
    prelude(c, 16u << 20, 0);
    alloc_largest = 0;
    expect_bad(c, 12, (size_t)1 << 20, LLM_ERR_TOO_LARGE, "limit");
    CHECK(alloc_largest < 4096);
    prelude(c, 0xffffffffu, 0xffffffffu);
    expect_bad(c, 12, (size_t)1 << 20, LLM_ERR_TOO_LARGE, "limit");
    /* total < 16. */
    for (uint32_t t = 0; t < 16; t++) {
        prelude(c, t, 0);
        expect_bad(c, 12, BIG, LLM_ERR_PROTOCOL, "shorter than");
    }
    /* headers_length > total - 16. */
    prelude(c, 16, 1);
    expect_bad(c, 12, BIG, LLM_ERR_PROTOCOL, "headers longer");
    prelude(c, 100, 85);
    expect_bad(c, 12, BIG, LLM_ERR_PROTOCOL, "headers longer");
    prelude(c, 100, 0xffffffffu);
    expect_bad(c, 12, BIG, LLM_ERR_PROTOCOL, "headers longer");

    /* The smallest message: 16 bytes, no headers, no payload. */
    unsigned char z[16];
    prelude(z, 16, 0);
    set_be32(z + 12, llm__crc32(0, z, 12));
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_cuts(&r, 16, z, 16, NULL, 0), LLM_OK);
    CHECK_STR(rec_text(&r), FR("(null)", "(null)", "(null)", "(null)", ""));
    rec_free(&r);

    /* The limit counts the whole message: 159 passes at 159, not at 158. */
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_cuts(&r, 159, ex_delta, 159, NULL, 0), LLM_OK);
    CHECK_INT(r.n, 1);
    rec_free(&r);
    expect_bad(ex_delta, 159, 158, LLM_ERR_TOO_LARGE, "limit");
}

TEST(truncated_at_finish)
{
    for (size_t cut = 1; cut < sizeof ex_delta; cut++) {
        struct rec r;
        memset(&r, 0, sizeof r);
        struct llm__evs *p = NULL;
        CHECK_INT(llm__evs_new(&p, BIG, on_frame, &r), LLM_OK);
        CHECK_INT(llm__evs_feed(p, (const char *)ex_throttle, sizeof ex_throttle), LLM_OK);
        CHECK_INT(llm__evs_feed(p, (const char *)ex_delta, cut), LLM_OK);
        CHECK_INT(llm__evs_finish(p), LLM_ERR_PROTOCOL);
        CHECK(strstr(llm__evs_errmsg(p), "inside a message") != NULL);
        CHECK_INT(r.n, 1);
        llm__evs_free(p);
        rec_free(&r);
    }
}

TEST(callback_stops_parsing)
{
    unsigned char both[159 * 3];
    for (int i = 0; i < 3; i++)
        memcpy(both + 159 * i, ex_delta, 159);
    struct rec r;
    memset(&r, 0, sizeof r);
    r.stop_at = 2;
    r.stop_rc = 77;
    struct llm__evs *p = NULL;
    CHECK_INT(llm__evs_new(&p, BIG, on_frame, &r), LLM_OK);
    CHECK_INT(llm__evs_feed(p, (const char *)both, sizeof both), 77);
    CHECK_INT(r.n, 2);
    CHECK_INT(llm__evs_feed(p, (const char *)ex_delta, 159), 77);
    CHECK_INT(llm__evs_finish(p), 77);
    CHECK_INT(r.n, 2);
    CHECK(strstr(llm__evs_errmsg(p), "callback") != NULL);
    llm__evs_free(p);
    rec_free(&r);
}

/* ---- allocation -------------------------------------------------------- */

static int count_only(void *ud, const struct llm__frame *f)
{
    size_t *total = ud;
    *total += f->data_len + f->event_len;
    return 0;
}

TEST(no_allocation_per_frame)
{
    llm__buf m = { 0 };
    converse_stream(&m);
    size_t total = 0;
    struct llm__evs *p = NULL;
    CHECK_INT(llm__evs_new(&p, BIG, count_only, &total), LLM_OK);
    CHECK_INT(llm__evs_feed(p, m.data, m.len), LLM_OK);
    CHECK_INT(llm__evs_feed(p, (const char *)ex_throttle, sizeof ex_throttle), LLM_OK);
    long before = alloc_count;
    for (int i = 0; i < 300; i++) {
        CHECK_INT(llm__evs_feed(p, m.data, m.len), LLM_OK);
        CHECK_INT(llm__evs_feed(p, (const char *)ex_throttle, 100), LLM_OK);
        CHECK_INT(llm__evs_feed(p, (const char *)ex_throttle + 100, sizeof ex_throttle - 100), LLM_OK);
    }
    CHECK_INT(alloc_count - before, 0);
    CHECK(total > 300 * 400);
    CHECK_INT(llm__evs_finish(p), LLM_OK);
    llm__evs_free(p);
    llm__buf_free(&m);
}

TEST(allocation_failures)
{
    llm__buf m = { 0 };
    converse_stream(&m);
    llm__buf_append(&m, ex_throttle, sizeof ex_throttle);
    long live0 = alloc_live;
    int saw_nomem = 0, saw_ok = 0;
    for (long n = 1; n < 100 && !saw_ok; n++) {
        size_t total = 0;
        struct llm__evs *p = NULL;
        alloc_fail_at = n;
        int rc = llm__evs_new(&p, BIG, count_only, &total);
        if (!rc) {
            rc = llm__evs_feed(p, m.data, m.len);
            if (!rc)
                rc = llm__evs_finish(p);
            if (rc)
                CHECK_INT(llm__evs_finish(p), LLM_ERR_NOMEM);
        } else {
            CHECK(p == NULL);
        }
        alloc_fail_at = 0;
        if (rc == LLM_ERR_NOMEM)
            saw_nomem++;
        else if (rc == LLM_OK)
            saw_ok = 1;
        else
            CHECK_INT(rc, LLM_ERR_NOMEM);
        llm__evs_free(p);
        CHECK_INT(alloc_live, live0);
    }
    CHECK(saw_nomem >= 3);
    CHECK(saw_ok);
    llm__buf_free(&m);
}

int main(void)
{
    if (llm_global_init_alloc(0, t_malloc, t_realloc, t_free, NULL) != LLM_OK) {
        printf("not ok - llm_global_init_alloc\n");
        return 1;
    }
    RUN(crc32_values);
    RUN(worked_example_crcs);
    RUN(worked_example_decodes);
    RUN(arguments);
    RUN(every_header_type);
    RUN(exception_and_error_messages);
    RUN(converse_stream_every_split);
    RUN(corrupt_crcs);
    RUN(corrupt_headers_with_valid_crcs);
    RUN(lengths);
    RUN(truncated_at_finish);
    RUN(callback_stops_parsing);
    RUN(no_allocation_per_frame);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
