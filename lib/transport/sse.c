/*
 * sse.c - incremental text/event-stream parser.
 *
 * Follows the WHATWG HTML "event stream interpretation" as summarised in
 * providers.md §8.1, with one deliberate deviation: llm__sse_finish
 * dispatches a pending event whose blank line never came, because some
 * servers close the connection right after the last data line.  A final
 * line without its line ending is still discarded, as the spec says, so a
 * body cut mid-line never reaches a provider as a shortened JSON value.
 *
 * Lines are never buffered whole.  A line is consumed as its bytes arrive:
 * the field is decided when its colon is seen, and a data value is
 * appended straight to the event's data buffer, so a data line of many
 * kilobytes (base64 images, thought signatures) is copied exactly once.
 * Event and id values go through a scratch buffer because they replace
 * the previous value only once their line is complete.  Line ends are
 * found with memchr, and every buffer is kept across events, so the steady
 * state allocates nothing.
 */
#include "internal.h"
#include "framing.h"

/* Where the parser is inside the current line. */
enum {
    S_BOL,      /* nothing of this line seen yet */
    S_NAME,     /* in the field name (no colon yet) */
    S_VSTART,   /* just after the colon: one space may follow to be dropped */
    S_VALUE     /* in the value */
};

/* What the current line's value goes to. */
enum { F_IGNORE, F_DATA, F_EVENT, F_ID, F_RETRY };

/* Longest field name worth remembering: "event" and "retry". */
#define NAME_MAX_LEN 5

struct llm__sse {
    llm__frame_fn fn;
    void *ud;
    size_t max;           /* bound of one event's data + type */
    int status;           /* sticky: once non-zero, every call returns it */
    const char *why;
    unsigned bom;         /* leading BOM bytes matched; 3 once decided */
    int skip_lf;          /* the last line ended with CR: an LF next is its tail */
    int state;
    int field;
    char name[NAME_MAX_LEN];
    size_t name_len;      /* NAME_MAX_LEN + 1: longer than any known name */
    size_t data_mark;     /* data.len before the current data line */
    llm__buf data;        /* data lines, each followed by '\n' */
    llm__buf event;       /* event type ("" means "message") */
    llm__buf id;          /* last event id; persists across events */
    llm__buf val;         /* value of the current event or id line */
    int retry_ok;         /* the current retry value is digits so far */
    int64_t retry_val;
    int64_t retry_ms;     /* -1 until a valid retry field */
};

static const unsigned char bom_bytes[3] = { 0xEF, 0xBB, 0xBF };

static int fail(struct llm__sse *p, int rc, const char *why)
{
    p->status = rc;
    p->why = why;
    return rc;
}

int llm__sse_new(struct llm__sse **out, size_t max_event, llm__frame_fn fn, void *ud)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!fn || !max_event)
        return LLM_ERR_INVALID_ARG;
    struct llm__sse *p = llm__calloc(1, sizeof *p);
    if (!p)
        return LLM_ERR_NOMEM;
    p->fn = fn;
    p->ud = ud;
    p->max = max_event;
    p->why = "";
    p->retry_ms = -1;
    *out = p;
    return LLM_OK;
}

void llm__sse_free(struct llm__sse *p)
{
    if (!p)
        return;
    llm__buf_free(&p->data);
    llm__buf_free(&p->event);
    llm__buf_free(&p->id);
    llm__buf_free(&p->val);
    llm__free(p);
}

const char *llm__sse_errmsg(const struct llm__sse *p) { return p ? p->why : ""; }

int64_t llm__sse_retry(const struct llm__sse *p) { return p ? p->retry_ms : -1; }

const char *llm__sse_last_id(const struct llm__sse *p)
{
    return p && p->id.data ? p->id.data : "";
}

/* Length the data would have if the event were dispatched now. */
static size_t data_final_len(const struct llm__sse *p)
{
    return p->data.len ? p->data.len - 1 : 0;
}

static int too_large(struct llm__sse *p)
{
    return fail(p, LLM_ERR_TOO_LARGE, "an SSE event exceeds the event size limit");
}

static int nomem(struct llm__sse *p)
{
    return fail(p, LLM_ERR_NOMEM, "out of memory buffering an SSE event");
}

static void begin_value(struct llm__sse *p)
{
    const char *n = p->name;
    size_t len = p->name_len;
    p->field = F_IGNORE;
    if (len == 4 && memcmp(n, "data", 4) == 0) {
        p->field = F_DATA;
        p->data_mark = p->data.len;
    } else if (len == 5 && memcmp(n, "event", 5) == 0) {
        p->field = F_EVENT;
        llm__buf_reset(&p->val);
    } else if (len == 2 && memcmp(n, "id", 2) == 0) {
        p->field = F_ID;
        llm__buf_reset(&p->val);
    } else if (len == 5 && memcmp(n, "retry", 5) == 0) {
        p->field = F_RETRY;
        p->retry_ok = 1;
        p->retry_val = -1;
    }
}

/* Part of a value; s holds no CR or LF. */
static int value(struct llm__sse *p, const char *s, size_t n)
{
    switch (p->field) {
    case F_DATA:
        /* Checked before appending so that memory stays within the limit
         * however long a line the peer sends. */
        if (n > p->max || p->data.len + p->event.len > p->max - n)
            return too_large(p);
        if (llm__buf_append(&p->data, s, n))
            return nomem(p);
        return LLM_OK;
    case F_EVENT:
        if (n > p->max || data_final_len(p) + p->val.len > p->max - n)
            return too_large(p);
        if (llm__buf_append(&p->val, s, n))
            return nomem(p);
        return LLM_OK;
    case F_ID:
        /* The id is not part of the event's size, but it is buffered, so it
         * gets the same bound. */
        if (n > p->max || p->val.len > p->max - n)
            return too_large(p);
        if (llm__buf_append(&p->val, s, n))
            return nomem(p);
        return LLM_OK;
    case F_RETRY:
        for (size_t i = 0; i < n && p->retry_ok; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < '0' || c > '9') {
                p->retry_ok = 0;
                break;
            }
            int64_t v = p->retry_val < 0 ? 0 : p->retry_val;
            /* Saturate: a delay this long means "never" either way. */
            p->retry_val = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (c - '0');
        }
        return LLM_OK;
    default:
        return LLM_OK;
    }
}

/* A run of bytes of the current line; s holds no CR or LF, n > 0. */
static int segment(struct llm__sse *p, const char *s, size_t n)
{
    if (p->state == S_BOL) {
        if (*s == ':') {
            p->state = S_VALUE;
            p->field = F_IGNORE;
            return LLM_OK;
        }
        p->state = S_NAME;
        p->name_len = 0;
    }
    if (p->state == S_NAME) {
        const char *colon = memchr(s, ':', n);
        size_t k = colon ? (size_t)(colon - s) : n;
        if (p->name_len <= NAME_MAX_LEN && k <= NAME_MAX_LEN - p->name_len) {
            memcpy(p->name + p->name_len, s, k);
            p->name_len += k;
        } else {
            p->name_len = NAME_MAX_LEN + 1;
        }
        if (!colon)
            return LLM_OK;
        begin_value(p);
        p->state = S_VSTART;
        s += k + 1;
        n -= k + 1;
    }
    if (p->state == S_VSTART) {
        if (!n)
            return LLM_OK;
        p->state = S_VALUE;
        if (*s == ' ') {
            s++;
            n--;
        }
    }
    if (!n || p->field == F_IGNORE)
        return LLM_OK;
    return value(p, s, n);
}

static void swap_bufs(llm__buf *a, llm__buf *b)
{
    llm__buf t = *a;
    *a = *b;
    *b = t;
}

static int dispatch(struct llm__sse *p)
{
    if (!p->data.len) {
        llm__buf_reset(&p->event);
        return LLM_OK;
    }
    size_t dl = p->data.len - 1;
    p->data.data[dl] = '\0';
    struct llm__frame f;
    memset(&f, 0, sizeof f);
    if (p->event.len) {
        f.event = p->event.data;
        f.event_len = p->event.len;
    } else {
        f.event = "message";
        f.event_len = 7;
    }
    f.data = p->data.data;
    f.data_len = dl;
    f.id = p->id.data ? p->id.data : "";
    int rc = p->fn(p->ud, &f);
    llm__buf_reset(&p->data);
    llm__buf_reset(&p->event);
    if (rc)
        return fail(p, rc, "the SSE event callback stopped the stream");
    return LLM_OK;
}

static int end_line(struct llm__sse *p)
{
    int state = p->state;
    p->state = S_BOL;
    if (state == S_BOL)
        return dispatch(p);
    if (state == S_NAME)
        begin_value(p);   /* a field name alone: its value is empty */
    switch (p->field) {
    case F_DATA:
        if (p->data.len + p->event.len > p->max)
            return too_large(p);
        if (llm__buf_append(&p->data, "\n", 1))
            return nomem(p);
        break;
    case F_EVENT:
        swap_bufs(&p->event, &p->val);
        break;
    case F_ID:
        if (!memchr(p->val.data ? p->val.data : "", '\0', p->val.len)) {
            swap_bufs(&p->id, &p->val);
            if (!p->id.data && llm__buf_append(&p->id, "", 0))
                return nomem(p);
        }
        break;
    case F_RETRY:
        if (p->retry_ok && p->retry_val >= 0)
            p->retry_ms = p->retry_val;
        break;
    default:
        break;
    }
    return LLM_OK;
}

static int parse(struct llm__sse *p, const char *s, size_t n)
{
    /* Offsets of the next CR and LF at or after i (n: none), found with
     * memchr and searched again only once i has passed them, so a chunk is
     * scanned in linear time whatever its mix of line endings. */
    size_t i = 0, cr = 0, lf = 0;
    int known = 0;
    while (i < n) {
        if (p->skip_lf) {
            p->skip_lf = 0;
            if (s[i] == '\n') {
                i++;
                continue;
            }
        }
        if (!known || cr < i) {
            const char *q = memchr(s + i, '\r', n - i);
            cr = q ? (size_t)(q - s) : n;
        }
        if (!known || lf < i) {
            const char *q = memchr(s + i, '\n', n - i);
            lf = q ? (size_t)(q - s) : n;
        }
        known = 1;
        size_t e = cr < lf ? cr : lf;
        if (e > i) {
            int rc = segment(p, s + i, e - i);
            if (rc)
                return rc;
        }
        if (e == n)
            break;
        p->skip_lf = s[e] == '\r';
        i = e + 1;
        int rc = end_line(p);
        if (rc)
            return rc;
    }
    return LLM_OK;
}

int llm__sse_feed(struct llm__sse *p, const char *data, size_t n)
{
    if (!p || (!data && n))
        return LLM_ERR_MISUSE;
    if (p->status)
        return p->status;
    /* The BOM may arrive split across feeds: hold the bytes matched so far
     * (they are a prefix of bom_bytes) and replay them if it was no BOM. */
    while (p->bom < 3 && n) {
        if ((unsigned char)*data == bom_bytes[p->bom]) {
            p->bom++;
            data++;
            n--;
        } else {
            unsigned held = p->bom;
            p->bom = 3;
            if (held) {
                int rc = parse(p, (const char *)bom_bytes, held);
                if (rc)
                    return rc;
            }
        }
    }
    if (!n)
        return LLM_OK;
    return parse(p, data, n);
}

int llm__sse_finish(struct llm__sse *p)
{
    if (!p)
        return LLM_ERR_MISUSE;
    if (p->status)
        return p->status;
    /* An unterminated last line is discarded; undo what a data line had
     * already appended. */
    if (p->state != S_BOL && p->field == F_DATA && p->state != S_NAME) {
        p->data.len = p->data_mark;
        if (p->data.data)
            p->data.data[p->data.len] = '\0';
    }
    p->state = S_BOL;
    p->skip_lf = 0;
    return dispatch(p);
}
