/*
 * test_sse.c - the text/event-stream parser (lib/transport/sse.c): each
 * WHATWG rule of providers.md §8.1, realistic provider streams fed at every
 * split point, the event size limit, callback stops, allocation failures
 * and the absence of allocation per event.
 */
#include "test.h"
#include "internal.h"
#include "transport/framing.h"

/* ---- a test allocator: counts, and fails the Nth allocation on demand -- */

static long alloc_count;      /* successful malloc/realloc calls */
static long alloc_live;       /* blocks not yet freed */
static long alloc_fail_at;    /* 0: never fail; N: the Nth call from now fails */

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    if (alloc_fail_at && --alloc_fail_at == 0)
        return NULL;
    void *p = malloc(n);
    if (p) {
        alloc_count++;
        alloc_live++;
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

/* ---- recording events -------------------------------------------------- */

struct rec {
    llm__buf out;     /* "event|id|data" per event, each followed by "\n~\n" */
    int n;
    int bad;          /* frames breaking the callback contract */
    int stop_at;      /* return stop_rc from this event (1-based); 0: never */
    int stop_rc;
};

static int on_frame(void *ud, const struct llm__frame *f)
{
    struct rec *r = ud;
    r->n++;
    if (!f->event || !f->data || !f->id || f->message_type || f->error_code || f->error_message ||
        strlen(f->event) != f->event_len || f->data[f->data_len] != '\0')
        r->bad++;
    else {
        llm__buf_printf(&r->out, "%s|%s|", f->event, f->id);
        llm__buf_append(&r->out, f->data, f->data_len);
        llm__buf_puts(&r->out, "\n~\n");
    }
    if (r->stop_at && r->n == r->stop_at)
        return r->stop_rc;
    return 0;
}

static void rec_free(struct rec *r) { llm__buf_free(&r->out); }

/* Parses s cut at the offsets given (ascending), then finishes. */
static int parse_cuts(struct rec *r, size_t max, const char *s, size_t n, const size_t *cuts,
                      size_t ncuts)
{
    struct llm__sse *p = NULL;
    int rc = llm__sse_new(&p, max, on_frame, r);
    if (rc)
        return rc;
    size_t at = 0;
    for (size_t k = 0; k <= ncuts && !rc; k++) {
        size_t to = k < ncuts ? cuts[k] : n;
        rc = llm__sse_feed(p, s + at, to - at);
        at = to;
    }
    if (!rc)
        rc = llm__sse_finish(p);
    llm__sse_free(p);
    return rc;
}

static int parse_bytewise(struct rec *r, size_t max, const char *s, size_t n)
{
    struct llm__sse *p = NULL;
    int rc = llm__sse_new(&p, max, on_frame, r);
    for (size_t i = 0; i < n && !rc; i++)
        rc = llm__sse_feed(p, s + i, 1);
    if (!rc)
        rc = llm__sse_finish(p);
    llm__sse_free(p);
    return rc;
}

#define BIG ((size_t)16 << 20)

/* Parses a literal in one feed and returns the record (status in *rc). */
static struct rec parse_lit(const char *s, size_t n, int *rc)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    *rc = parse_cuts(&r, BIG, s, n, NULL, 0);
    return r;
}

static const char *rec_text(const struct rec *r) { return r->out.data ? r->out.data : ""; }

/* One feed of a literal (which may hold NULs), checked against the
 * recorded form of the expected events. */
#define EXPECT(lit, want)                                                  \
    do {                                                                   \
        int rc_;                                                           \
        struct rec r_ = parse_lit(lit, sizeof(lit) - 1, &rc_);             \
        CHECK_INT(rc_, LLM_OK);                                            \
        CHECK_INT(r_.bad, 0);                                              \
        CHECK_STR(rec_text(&r_), want);                                    \
        rec_free(&r_);                                                     \
    } while (0)

#define EV(type, id, data) type "|" id "|" data "\n~\n"

/* ---- WHATWG rules ------------------------------------------------------ */

TEST(arguments)
{
    struct llm__sse *p = (struct llm__sse *)1;
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(llm__sse_new(NULL, 10, on_frame, &r), LLM_ERR_MISUSE);
    CHECK_INT(llm__sse_new(&p, 10, NULL, &r), LLM_ERR_INVALID_ARG);
    CHECK(p == NULL);
    CHECK_INT(llm__sse_new(&p, 0, on_frame, &r), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__sse_feed(NULL, "x", 1), LLM_ERR_MISUSE);
    CHECK_INT(llm__sse_finish(NULL), LLM_ERR_MISUSE);
    llm__sse_free(NULL);
    CHECK_INT(llm__sse_new(&p, 10, on_frame, &r), LLM_OK);
    CHECK_INT(llm__sse_feed(p, NULL, 1), LLM_ERR_MISUSE);
    CHECK_INT(llm__sse_feed(p, NULL, 0), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "", 0), LLM_OK);
    CHECK_STR(llm__sse_errmsg(p), "");
    CHECK_INT(llm__sse_retry(p), -1);
    CHECK_STR(llm__sse_last_id(p), "");
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    CHECK_INT(r.n, 0);
    llm__sse_free(p);
}

TEST(data_and_the_single_leading_space)
{
    EXPECT("data: hello\n\n", EV("message", "", "hello"));
    EXPECT("data:hello\n\n", EV("message", "", "hello"));
    EXPECT("data:  two spaces\n\n", EV("message", "", " two spaces"));
    EXPECT("data:\tx\n\n", EV("message", "", "\tx"));
    EXPECT("data: a: b :c\n\n", EV("message", "", "a: b :c"));
    EXPECT("data: x \n\n", EV("message", "", "x "));
    EXPECT("data: first\n\ndata: second\n\n",
           EV("message", "", "first") EV("message", "", "second"));
}

TEST(multi_line_data_joined_with_lf)
{
    EXPECT("data: a\ndata: b\ndata:c\n\n", EV("message", "", "a\nb\nc"));
    EXPECT("data: a\ndata:\ndata: b\n\n", EV("message", "", "a\n\nb"));
    EXPECT("data\n\n", EV("message", "", ""));
    EXPECT("data:\n\n", EV("message", "", ""));
    EXPECT("data: \n\n", EV("message", "", ""));
    EXPECT("data\ndata\n\n", EV("message", "", "\n"));
    EXPECT("data: a\n\n\n\n", EV("message", "", "a"));
}

TEST(dispatch_needs_data)
{
    EXPECT("event: ping\n\n", "");
    EXPECT("\n\n\n", "");
    EXPECT("id: 5\n\n", "");
    /* The event type does not leak into the next event. */
    EXPECT("event: lonely\n\ndata: x\n\n", EV("message", "", "x"));
    EXPECT("event: a\nevent: b\ndata: x\n\n", EV("b", "", "x"));
    EXPECT("event: t\ndata: 1\n\ndata: 2\n\n", EV("t", "", "1") EV("message", "", "2"));
    EXPECT("data: x\nevent: late\n\n", EV("late", "", "x"));
    /* An empty event value means the default type. */
    EXPECT("event: t\nevent:\ndata: x\n\n", EV("message", "", "x"));
    EXPECT("event: t\nevent\ndata: x\n\n", EV("message", "", "x"));
}

TEST(comments_ignored)
{
    EXPECT(": keep-alive\n\n", "");
    EXPECT(":\n\n", "");
    EXPECT(": OPENROUTER PROCESSING\n\ndata: x\n\n", EV("message", "", "x"));
    EXPECT(":data: nope\ndata: yes\n: between\ndata: more\n\n", EV("message", "", "yes\nmore"));
    EXPECT(": event: nope\ndata: x\n\n", EV("message", "", "x"));
}

TEST(unknown_and_odd_field_names)
{
    EXPECT("foo: bar\ndata: x\n\n", EV("message", "", "x"));
    EXPECT("data : x\n\n", "");          /* trailing space: another name */
    EXPECT(" data: x\n\n", "");
    EXPECT("Data: x\n\n", "");           /* names are case-sensitive */
    EXPECT("datum: x\ndat: y\ndataa: z\n\n", "");
    EXPECT("eventt: t\nevent: e\ndata: x\n\n", EV("e", "", "x"));
    EXPECT("retryx: 5\nidx: 5\ndata: x\n\n", EV("message", "", "x"));
    EXPECT("verylongfieldnamethatisnotknown: 1\ndata: x\n\n", EV("message", "", "x"));
    EXPECT("data\x00: x\n\n", "");
}

TEST(id_persists_and_ignores_nul)
{
    EXPECT("id: 1\ndata: a\n\ndata: b\n\n", EV("message", "1", "a") EV("message", "1", "b"));
    EXPECT("id: 1\ndata: a\n\nid\ndata: b\n\n", EV("message", "1", "a") EV("message", "", "b"));
    EXPECT("id: 1\ndata: a\n\nid:\ndata: b\n\n", EV("message", "1", "a") EV("message", "", "b"));
    EXPECT("id: 1\n\ndata: a\n\n", EV("message", "1", "a"));
    EXPECT("id: 7\nid: a\x00" "b\ndata: x\n\n", EV("message", "7", "x"));
    EXPECT("id:  spaced\ndata: x\n\n", EV("message", " spaced", "x"));
    EXPECT("data: x\nid: late\n\n", EV("message", "late", "x"));

    struct rec r;
    memset(&r, 0, sizeof r);
    struct llm__sse *p = NULL;
    CHECK_INT(llm__sse_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "id: abc\n", 8), LLM_OK);
    CHECK_STR(llm__sse_last_id(p), "abc");
    CHECK_INT(llm__sse_feed(p, "id: a\0c\n", 8), LLM_OK);
    CHECK_STR(llm__sse_last_id(p), "abc");
    CHECK_INT(llm__sse_feed(p, "id\n", 3), LLM_OK);
    CHECK_STR(llm__sse_last_id(p), "");
    llm__sse_free(p);
    rec_free(&r);
}

TEST(retry_digits_only)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    struct llm__sse *p = NULL;
    CHECK_INT(llm__sse_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(llm__sse_retry(p), -1);
    CHECK_INT(llm__sse_feed(p, "retry: 1500\n", 12), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 1500);
    CHECK_INT(llm__sse_feed(p, "retry: 15x0\n", 12), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 1500);
    CHECK_INT(llm__sse_feed(p, "retry: -5\n", 10), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 1500);
    CHECK_INT(llm__sse_feed(p, "retry:\nretry\nretry: \n", 21), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 1500);
    CHECK_INT(llm__sse_feed(p, "retry: 2 0\n", 11), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 1500);
    CHECK_INT(llm__sse_feed(p, "retry:0042\n", 11), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 42);
    CHECK_INT(llm__sse_feed(p, "retry: 3", 8), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 42);    /* only once the line is complete */
    CHECK_INT(llm__sse_feed(p, "00\r", 3), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 300);
    CHECK_INT(llm__sse_feed(p, "retry: 99999999999999999999999999\n", 34), LLM_OK);
    CHECK_INT(llm__sse_retry(p), INT64_MAX);
    CHECK_INT(llm__sse_feed(p, "retry: 0\n\n", 10), LLM_OK);
    CHECK_INT(llm__sse_retry(p), 0);
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    CHECK_INT(r.n, 0);                   /* retry alone dispatches nothing */
    llm__sse_free(p);
    rec_free(&r);
}

TEST(line_endings)
{
    EXPECT("data: a\r\rdata: b\r\n\r\ndata: c\n\n",
           EV("message", "", "a") EV("message", "", "b") EV("message", "", "c"));
    EXPECT("data: a\rdata: b\r\r", EV("message", "", "a\nb"));
    EXPECT("data: a\r\ndata: b\n\r", EV("message", "", "a\nb"));
    EXPECT("data: a\n\rdata: b\r\n\n", EV("message", "", "a") EV("message", "", "b"));
    /* CR LF is one line end; LF CR is two. */
    EXPECT("data: a\r\n", EV("message", "", "a"));
    EXPECT("data: a\n\r", EV("message", "", "a"));
    EXPECT("event: e\r\ndata: x\r\n\r\n", EV("e", "", "x"));
    EXPECT("data: \r\r", EV("message", "", ""));
}

TEST(crlf_split_across_feeds)
{
    static const char s[] = "data: a\r\ndata: b\r\n\r\ndata: c\r\r";
    size_t n = sizeof s - 1;
    for (size_t i = 0; i <= n; i++) {
        struct rec r;
        memset(&r, 0, sizeof r);
        CHECK_INT(parse_cuts(&r, BIG, s, n, &i, 1), LLM_OK);
        CHECK_STR(rec_text(&r), EV("message", "", "a\nb") EV("message", "", "c"));
        rec_free(&r);
    }
    /* The CR ends a chunk; the LF that begins the next is not an empty line. */
    struct rec r;
    memset(&r, 0, sizeof r);
    struct llm__sse *p = NULL;
    CHECK_INT(llm__sse_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "data: a\r", 8), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "\n", 1), LLM_OK);
    CHECK_INT(r.n, 0);
    CHECK_INT(llm__sse_feed(p, "data: b\r", 8), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "\r", 1), LLM_OK);    /* CR CR: the empty line */
    CHECK_INT(r.n, 1);
    CHECK_INT(llm__sse_feed(p, "\n", 1), LLM_OK);    /* tail of that CR */
    CHECK_INT(r.n, 1);
    CHECK_INT(llm__sse_feed(p, "data: c\r", 8), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "", 0), LLM_OK);      /* an empty feed keeps the CR pending */
    CHECK_INT(llm__sse_feed(p, "\n\n", 2), LLM_OK);
    CHECK_INT(r.n, 2);
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    CHECK_STR(rec_text(&r), EV("message", "", "a\nb") EV("message", "", "c"));
    llm__sse_free(p);
    rec_free(&r);
}

TEST(bom)
{
    EXPECT("\xEF\xBB\xBF" "data: x\n\n", EV("message", "", "x"));
    EXPECT("\xEF\xBB\xBF\n" "data: x\n\n", EV("message", "", "x"));
    /* Only one BOM, only at the very start. */
    EXPECT("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", "");
    EXPECT("data: x\n\n\xEF\xBB\xBF" "data: y\n\n", EV("message", "", "x"));
    EXPECT("data: \xEF\xBB\xBF\n\n", EV("message", "", "\xEF\xBB\xBF"));
    /* A BOM prefix that turns out not to be one stays in the stream. */
    EXPECT("\xEF\xBB" "data: x\n\n", "");
    EXPECT("\xEF" "data: x\n\n", "");
    EXPECT("\xEF\xBB\n" "data: x\n\n", EV("message", "", "x"));
    EXPECT("\xEF\xBB\xBE:\ndata: x\n\n", EV("message", "", "x"));

    static const char s[] = "\xEF\xBB\xBF" "data: bom\n\n";
    size_t n = sizeof s - 1;
    for (size_t i = 0; i <= 4; i++) {
        for (size_t j = i; j <= 4; j++) {
            size_t cuts[2] = { i, j };
            struct rec r;
            memset(&r, 0, sizeof r);
            CHECK_INT(parse_cuts(&r, BIG, s, n, cuts, 2), LLM_OK);
            CHECK_STR(rec_text(&r), EV("message", "", "bom"));
            rec_free(&r);
        }
    }
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, s, n), LLM_OK);
    CHECK_STR(rec_text(&r), EV("message", "", "bom"));
    rec_free(&r);
    /* A split non-BOM prefix replayed into the first line. */
    static const char t[] = "\xEF\xBB" "\n" "data: ok\n\n";
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, t, sizeof t - 1), LLM_OK);
    CHECK_STR(rec_text(&r), EV("message", "", "ok"));
    rec_free(&r);
}

TEST(utf8_and_binary_values_pass_through)
{
    static const char s[] = "event: caf\xC3\xA9\ndata: \xE2\x80\x94 \xF0\x9F\x98\x80\ndata: a\x00z\n\n";
    struct rec r;
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_bytewise(&r, BIG, s, sizeof s - 1), LLM_OK);
    static const char want[] = "caf\xC3\xA9||\xE2\x80\x94 \xF0\x9F\x98\x80\na\x00z\n~\n";
    CHECK_INT(r.out.len, sizeof want - 1);
    CHECK(r.out.data && memcmp(r.out.data, want, sizeof want - 1) == 0);
    rec_free(&r);
}

TEST(finish_flushes_a_pending_event)
{
    EXPECT("data: x\n", EV("message", "", "x"));
    EXPECT("event: e\ndata: x\ndata: y\r\n", EV("e", "", "x\ny"));
    /* An unterminated last line is not a line. */
    EXPECT("data: x", "");
    EXPECT("data: a\ndata: b", EV("message", "", "a"));
    EXPECT("data: a\nevent: b", EV("message", "", "a"));
    EXPECT("data: a\ndata", EV("message", "", "a"));
    EXPECT("data: a\n: comm", EV("message", "", "a"));
    EXPECT("event: e\n", "");

    /* Finish twice: nothing more. */
    struct rec r;
    memset(&r, 0, sizeof r);
    struct llm__sse *p = NULL;
    CHECK_INT(llm__sse_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(llm__sse_feed(p, "data: x\n", 8), LLM_OK);
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    CHECK_INT(r.n, 1);
    llm__sse_free(p);
    rec_free(&r);
}

TEST(long_lines_have_no_limit_but_max_event)
{
    size_t big = 300000;
    char *s = malloc(big + 16);
    memcpy(s, "data: ", 6);
    for (size_t i = 0; i < big; i++)
        s[6 + i] = (char)('A' + i % 26);
    memcpy(s + 6 + big, "\n\n", 2);
    size_t n = big + 8;
    struct rec r;
    memset(&r, 0, sizeof r);
    size_t cuts[300];
    size_t nc = 0;
    for (size_t at = 777; at < n && nc < 300; at += 1001)
        cuts[nc++] = at;
    CHECK_INT(parse_cuts(&r, big, s, n, cuts, nc), LLM_OK);
    CHECK_INT(r.n, 1);
    CHECK_INT(r.out.len, 9 + big + 3);
    CHECK(r.out.data && memcmp(r.out.data + 9, s + 6, big) == 0);
    rec_free(&r);

    /* A comment line has no limit at all. */
    s[0] = ':';
    memcpy(s + 6 + big, "\ndata: k\n\n", 10);
    memset(&r, 0, sizeof r);
    CHECK_INT(parse_cuts(&r, 10, s, big + 16, cuts, nc), LLM_OK);
    CHECK_STR(rec_text(&r), EV("message", "", "k"));
    rec_free(&r);
    free(s);
}

static int feed_all(struct llm__sse *p, const char *s)
{
    return llm__sse_feed(p, s, strlen(s));
}

TEST(max_event)
{
    EXPECT("data: 0123456789\n\n", EV("message", "", "0123456789"));
    struct rec r;
    memset(&r, 0, sizeof r);
    struct llm__sse *p = NULL;

    /* Exactly at the limit: fine. */
    CHECK_INT(llm__sse_new(&p, 10, on_frame, &r), LLM_OK);
    CHECK_INT(feed_all(p, "data: 0123456789\n\n"), LLM_OK);
    CHECK_INT(feed_all(p, "data: 12345\ndata: 6789\n\n"), LLM_OK);      /* 5 + \n + 4 */
    CHECK_INT(feed_all(p, "event: abc\ndata: 1234567\n\n"), LLM_OK);    /* 3 + 7 */
    CHECK_INT(feed_all(p, "id: 0123456789\ndata: 0123456789\n\n"), LLM_OK); /* id not counted */
    CHECK_INT(r.n, 4);
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    llm__sse_free(p);

    static const char *over[] = {
        "data: 01234567890\n\n",
        "data: 12345\ndata: 67890\n\n",
        "data: 12345\ndata: 6789\ndata\n\n",     /* the joining LF counts */
        "event: abc\ndata: 12345678\n\n",
        "data: 12345678\nevent: abc\n\n",
        "event: 01234567890\n\n",
        "id: 01234567890\n\n",
        "data: 0123456789",                      /* detected before the line ends */
    };
    for (size_t k = 0; k < LLM__ARRAY_LEN(over); k++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            rec_free(&r);
            memset(&r, 0, sizeof r);
            CHECK_INT(llm__sse_new(&p, 10, on_frame, &r), LLM_OK);
            int rc = LLM_OK;
            if (bytewise) {
                for (size_t i = 0; over[k][i] && !rc; i++)
                    rc = llm__sse_feed(p, over[k] + i, 1);
            } else {
                rc = feed_all(p, over[k]);
            }
            if (k == LLM__ARRAY_LEN(over) - 1)
                rc = rc ? rc : feed_all(p, "X");
            CHECK_INT(rc, LLM_ERR_TOO_LARGE);
            CHECK(strstr(llm__sse_errmsg(p), "limit") != NULL);
            /* Sticky. */
            CHECK_INT(feed_all(p, "\n\ndata: ok\n\n"), LLM_ERR_TOO_LARGE);
            CHECK_INT(llm__sse_finish(p), LLM_ERR_TOO_LARGE);
            CHECK_INT(r.n, 0);
            llm__sse_free(p);
        }
    }

    /* Memory stays bounded: a 1 MiB data line against a 1 KiB limit is
     * refused as soon as it passes the limit. */
    rec_free(&r);
    memset(&r, 0, sizeof r);
    CHECK_INT(llm__sse_new(&p, 1024, on_frame, &r), LLM_OK);
    CHECK_INT(feed_all(p, "data: "), LLM_OK);
    char chunk[100];
    memset(chunk, 'z', sizeof chunk);
    int rc = LLM_OK;
    size_t fed = 0;
    while (!rc && fed < ((size_t)1 << 20)) {
        rc = llm__sse_feed(p, chunk, sizeof chunk);
        fed += sizeof chunk;
    }
    CHECK_INT(rc, LLM_ERR_TOO_LARGE);
    CHECK_INT(fed, 1100);
    llm__sse_free(p);
    rec_free(&r);
}

TEST(callback_stops_parsing)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    r.stop_at = 2;
    r.stop_rc = 42;
    struct llm__sse *p = NULL;
    CHECK_INT(llm__sse_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(feed_all(p, "data: 1\n\ndata: 2\n\ndata: 3\n\n"), 42);
    CHECK_INT(r.n, 2);
    CHECK_INT(feed_all(p, "data: 4\n\n"), 42);
    CHECK_INT(llm__sse_finish(p), 42);
    CHECK_INT(r.n, 2);
    CHECK(strstr(llm__sse_errmsg(p), "callback") != NULL);
    llm__sse_free(p);
    rec_free(&r);

    /* A stop from the event flushed by finish. */
    memset(&r, 0, sizeof r);
    r.stop_at = 1;
    r.stop_rc = LLM_ERR_PROTOCOL;
    CHECK_INT(llm__sse_new(&p, 100, on_frame, &r), LLM_OK);
    CHECK_INT(feed_all(p, "data: 1\n"), LLM_OK);
    CHECK_INT(llm__sse_finish(p), LLM_ERR_PROTOCOL);
    CHECK_INT(llm__sse_feed(p, "\n", 1), LLM_ERR_PROTOCOL);
    llm__sse_free(p);
    rec_free(&r);
}

/* ---- realistic provider streams at every split point ------------------- */

#define OA1 "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1732000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}"
#define OA2 "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Caf\xC3\xA9 \xE2\x80\x94 \"},\"finish_reason\":null}]}"
#define OA3 "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok: yes\"},\"finish_reason\":null}]}"
#define OA4 "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
#define OA5 "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}"

static const char openai_stream[] =
    "data: " OA1 "\n\n"
    "data: " OA2 "\n\n"
    "data: " OA3 "\n\n"
    "data: " OA4 "\n\n"
    "data: " OA5 "\n\n"
    "data: [DONE]\n\n";
static const char openai_want[] =
    EV("message", "", OA1) EV("message", "", OA2) EV("message", "", OA3)
    EV("message", "", OA4) EV("message", "", OA5) EV("message", "", "[DONE]");

#define AN1 "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}"
#define AN2 "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"
#define AN3 "{\"type\": \"ping\"}"
#define AN4 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}"
#define AN5 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\\n\\nHow\"}}"
#define AN6 "{\"type\":\"content_block_stop\",\"index\":0}"
#define AN7 "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}"
#define AN8 "{\"type\":\"message_stop\"}"

static const char anthropic_stream[] =
    "event: message_start\ndata: " AN1 "\n\n"
    "event: content_block_start\ndata: " AN2 "\n\n"
    "event: ping\ndata: " AN3 "\n\n"
    "event: content_block_delta\ndata: " AN4 "\n\n"
    "event: ping\ndata: " AN3 "\n\n"
    "event: content_block_delta\ndata: " AN5 "\n\n"
    "event: content_block_stop\ndata: " AN6 "\n\n"
    "event: message_delta\ndata: " AN7 "\n\n"
    "event: message_stop\ndata: " AN8 "\n\n";
static const char anthropic_want[] =
    EV("message_start", "", AN1) EV("content_block_start", "", AN2) EV("ping", "", AN3)
    EV("content_block_delta", "", AN4) EV("ping", "", AN3) EV("content_block_delta", "", AN5)
    EV("content_block_stop", "", AN6) EV("message_delta", "", AN7) EV("message_stop", "", AN8);

#define GE1 "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 1,\"totalTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\"}"
#define GE2 "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue.\\n\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-flash\"}"
#define GE3 "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 6,\"totalTokenCount\": 15}}"

static const char gemini_stream[] =
    "data: " GE1 "\r\n\r\n"
    "data: " GE2 "\r\n\r\n"
    "data: " GE3 "\r\n\r\n";
static const char gemini_want[] =
    EV("message", "", GE1) EV("message", "", GE2) EV("message", "", GE3);

#define DS1 "{\"id\":\"d1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}"
#define DS2 "{\"id\":\"d1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"

static const char keepalive_stream[] =
    ": keep-alive\n\n"
    ": keep-alive\n\n"
    ": OPENROUTER PROCESSING\n\n"
    "data: " DS1 "\n\n"
    ": keep-alive\n\n"
    "data: " DS2 "\n\n"
    "data: [DONE]\n\n";
static const char keepalive_want[] =
    EV("message", "", DS1) EV("message", "", DS2) EV("message", "", "[DONE]");

/* Short, with every rule in it, for the exhaustive two-split runs. */
static const char mixed_stream[] =
    "\xEF\xBB\xBF: hi\r\n"
    "id: 7\rretry: 30\r"
    "event: e\r\ndata:a\r\n"
    "data\r"
    "x:y\n\n"
    "data: b \xC3\xA9\n"
    "id\n\r"
    "data: c";
static const char mixed_want[] = EV("e", "7", "a\n") EV("message", "", "b \xC3\xA9");

static const struct {
    const char *name;
    const char *s;
    size_t n;
    const char *want;
    size_t want_len;
    int nevents;
} corpus[] = {
#define C(name, s, w, k) { name, s, sizeof s - 1, w, sizeof w - 1, k }
    C("openai", openai_stream, openai_want, 6),
    C("anthropic", anthropic_stream, anthropic_want, 9),
    C("gemini", gemini_stream, gemini_want, 3),
    C("keepalive", keepalive_stream, keepalive_want, 3),
    C("mixed", mixed_stream, mixed_want, 2),
#undef C
};

static int same(const struct rec *r, size_t k)
{
    return r->bad == 0 && r->n == corpus[k].nevents && r->out.len == corpus[k].want_len &&
           memcmp(r->out.data, corpus[k].want, r->out.len) == 0;
}

TEST(provider_streams_whole)
{
    for (size_t k = 0; k < LLM__ARRAY_LEN(corpus); k++) {
        struct rec r;
        memset(&r, 0, sizeof r);
        CHECK_INT(parse_cuts(&r, BIG, corpus[k].s, corpus[k].n, NULL, 0), LLM_OK);
        CHECK_INT(r.n, corpus[k].nevents);
        CHECK_STR(rec_text(&r), corpus[k].want);
        rec_free(&r);
    }
}

TEST(provider_streams_every_single_split)
{
    for (size_t k = 0; k < LLM__ARRAY_LEN(corpus); k++) {
        int mismatches = 0;
        for (size_t i = 0; i <= corpus[k].n; i++) {
            struct rec r;
            memset(&r, 0, sizeof r);
            int rc = parse_cuts(&r, BIG, corpus[k].s, corpus[k].n, &i, 1);
            if (rc != LLM_OK || !same(&r, k)) {
                if (!mismatches)
                    printf("#   %s: split at %zu differs\n", corpus[k].name, i);
                mismatches++;
            }
            rec_free(&r);
        }
        CHECK_INT(mismatches, 0);
    }
}

TEST(provider_streams_bytewise)
{
    for (size_t k = 0; k < LLM__ARRAY_LEN(corpus); k++) {
        struct rec r;
        memset(&r, 0, sizeof r);
        CHECK_INT(parse_bytewise(&r, BIG, corpus[k].s, corpus[k].n), LLM_OK);
        CHECK(same(&r, k));
        rec_free(&r);
    }
}

TEST(short_streams_every_two_splits)
{
    static const char gem_short[] = "data: {\"a\":1}\r\n\r\n: c\r\ndata: [\r\ndata: 2]\r\n\r\n";
    static const char gem_want[] = EV("message", "", "{\"a\":1}") EV("message", "", "[\n2]");
    const struct {
        const char *s;
        size_t n;
        const char *want;
    } streams[] = {
        { mixed_stream, sizeof mixed_stream - 1, mixed_want },
        { gem_short, sizeof gem_short - 1, gem_want },
    };
    long runs = 0;
    for (size_t k = 0; k < LLM__ARRAY_LEN(streams); k++) {
        size_t n = streams[k].n;
        int mismatches = 0;
        for (size_t i = 0; i <= n; i++) {
            for (size_t j = i; j <= n; j++) {
                size_t cuts[2] = { i, j };
                struct rec r;
                memset(&r, 0, sizeof r);
                int rc = parse_cuts(&r, BIG, streams[k].s, n, cuts, 2);
                if (rc != LLM_OK || strcmp(rec_text(&r), streams[k].want) != 0) {
                    if (!mismatches)
                        printf("#   stream %zu: splits at %zu,%zu differ\n", k, i, j);
                    mismatches++;
                }
                rec_free(&r);
                runs++;
            }
        }
        CHECK_INT(mismatches, 0);
    }
    CHECK(runs > 3000);
}

/* ---- allocation -------------------------------------------------------- */

static int count_only(void *ud, const struct llm__frame *f)
{
    size_t *total = ud;
    *total += f->data_len + f->event_len;
    return 0;
}

TEST(no_allocation_per_event)
{
    size_t total = 0;
    struct llm__sse *p = NULL;
    CHECK_INT(llm__sse_new(&p, BIG, count_only, &total), LLM_OK);
    /* Warm up: the event, id and scratch buffers trade places. */
    for (int i = 0; i < 2; i++) {
        CHECK_INT(llm__sse_feed(p, anthropic_stream, sizeof anthropic_stream - 1), LLM_OK);
        CHECK_INT(llm__sse_feed(p, "id: 12\n", 7), LLM_OK);
        CHECK_INT(llm__sse_feed(p, openai_stream, sizeof openai_stream - 1), LLM_OK);
    }
    long before = alloc_count;
    for (int i = 0; i < 200; i++) {
        CHECK_INT(llm__sse_feed(p, anthropic_stream, sizeof anthropic_stream - 1), LLM_OK);
        CHECK_INT(llm__sse_feed(p, "id: 13\n", 7), LLM_OK);
        CHECK_INT(llm__sse_feed(p, openai_stream, sizeof openai_stream - 1), LLM_OK);
    }
    CHECK_INT(alloc_count - before, 0);
    CHECK(total > 200 * (sizeof anthropic_stream - 200));
    CHECK_INT(llm__sse_finish(p), LLM_OK);
    llm__sse_free(p);
}

TEST(allocation_failures)
{
    long live0 = alloc_live;
    int saw_nomem = 0, saw_ok = 0;
    for (long n = 1; n < 100 && !saw_ok; n++) {
        size_t total = 0;
        struct llm__sse *p = NULL;
        alloc_fail_at = n;
        int rc = llm__sse_new(&p, BIG, count_only, &total);
        if (!rc) {
            rc = llm__sse_feed(p, mixed_stream, sizeof mixed_stream - 1);
            if (!rc)
                rc = llm__sse_feed(p, anthropic_stream, sizeof anthropic_stream - 1);
            if (!rc)
                rc = llm__sse_finish(p);
            if (rc)
                CHECK_INT(llm__sse_finish(p), LLM_ERR_NOMEM);
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
        llm__sse_free(p);
        CHECK_INT(alloc_live, live0);
    }
    CHECK(saw_nomem >= 4);
    CHECK(saw_ok);
}

int main(void)
{
    if (llm_global_init_alloc(0, t_malloc, t_realloc, t_free, NULL) != LLM_OK) {
        printf("not ok - llm_global_init_alloc\n");
        return 1;
    }
    RUN(arguments);
    RUN(data_and_the_single_leading_space);
    RUN(multi_line_data_joined_with_lf);
    RUN(dispatch_needs_data);
    RUN(comments_ignored);
    RUN(unknown_and_odd_field_names);
    RUN(id_persists_and_ignores_nul);
    RUN(retry_digits_only);
    RUN(line_endings);
    RUN(crlf_split_across_feeds);
    RUN(bom);
    RUN(utf8_and_binary_values_pass_through);
    RUN(finish_flushes_a_pending_event);
    RUN(long_lines_have_no_limit_but_max_event);
    RUN(max_event);
    RUN(callback_stops_parsing);
    RUN(provider_streams_whole);
    RUN(provider_streams_every_single_split);
    RUN(provider_streams_bytewise);
    RUN(short_streams_every_two_splits);
    RUN(no_allocation_per_event);
    RUN(allocation_failures);
    llm_global_cleanup();
    return test_summary();
}
