/*
 * retry.c - the default retry policy, backoff, retry-after parsing and
 * the per-client retry budget (providers.md 10.7).
 *
 * The numbers are those the official OpenAI and Anthropic SDKs share:
 * backoff min(0.5 s * 2^n, 8 s) times a jitter in (0.75, 1]; a server's
 * retry-after is honoured when 0 < wait <= 60 s (the OpenAI Node and
 * Anthropic Python SDKs' cap); longer waits are not slept through, the
 * call fails and reports when a retry may succeed.  How many retries is
 * core's (llm_client_set_max_retries, default 2).
 */
#include "hooks/hooks.h"

#include <math.h>

#define BACKOFF_INITIAL_MS  500
#define BACKOFF_MAX_MS      8000

#define BUDGET_TOKENS       500
#define BUDGET_RETRY_COST   5
#define BUDGET_TIMEOUT_COST 10
#define BUDGET_REFUND       1

/* Anything longer than ten years is as good as "never" and keeps the
 * arithmetic far from overflow. */
#define RETRY_AFTER_MAX_MS  ((int64_t)10 * 366 * 24 * 3600 * 1000)

/* ceil for 0 <= x < 2^62, without libm (the library links none). */
static int64_t ceil_pos(double x)
{
    int64_t i = (int64_t)x;
    return (double)i < x ? i + 1 : i;
}

int64_t llm__backoff_ms(int32_t n)
{
    if (n < 0)
        n = 0;
    int64_t base = n >= 5 ? BACKOFF_MAX_MS : (int64_t)BACKOFF_INITIAL_MS << n;
    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    /* 1 - 0.25 * [0, 1) lies in (0.75, 1]; rounding up keeps the wait
     * above three quarters of the base even at the lowest draw. */
    int64_t ms = ceil_pos((double)base * (1.0 - 0.25 * llm__random()));
    if (ms > base)
        ms = base;
    return ms;
}

int llm_retry_default(const llm_attempt *a, int *retry_out, int64_t *delay_ms_out,
                      void *userdata)
{
    (void)userdata;
    if (retry_out)
        *retry_out = 0;
    if (delay_ms_out)
        *delay_ms_out = 0;
    if (!a || !retry_out || !delay_ms_out)
        return LLM_ERR_MISUSE;
    if (!a->retryable)
        return LLM_OK;
    if (a->retry_after_ms > LLM__RETRY_AFTER_CAP_MS)
        return LLM_OK;         /* core reports the time a retry may succeed */
    *retry_out = 1;
    if (a->retry_after_ms > 0)
        *delay_ms_out = a->retry_after_ms;
    else
        *delay_ms_out = llm__backoff_ms(a->number > 1 ? a->number - 1 : 0);
    return LLM_OK;
}

/* ---- retry-after ------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* A non-negative or negative decimal ("1", "1.5", ".5", "-2") by hand:
 * strtod obeys LC_NUMERIC, and a host in a comma locale would misread
 * every fraction.  Returns 0 and *out in the value's own unit, or -1. */
static int parse_decimal(const char *s, double *out)
{
    s = skip_ws(s);
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    double v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
        if (v < 1e300)
            v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        double scale = 0.1;
        while (*s >= '0' && *s <= '9') {
            v += (*s - '0') * scale;
            scale /= 10;
            s++;
            digits++;
        }
    }
    if (!digits || *skip_ws(s) != '\0')
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static int64_t clamp_ms(double ms)
{
    if (ms <= 0)
        return 0;
    if (ms >= (double)RETRY_AFTER_MAX_MS)
        return RETRY_AFTER_MAX_MS;
    /* A fraction of a millisecond rounds up: never retry early. */
    return ceil_pos(ms);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * civil-date algorithm), so no timegm and no time zone is involved. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_of(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(s, names + 3 * i, 3) == 0)
            return i + 1;
    return 0;
}

/* n digits exactly. */
static int digits(const char **sp, int n, int *out)
{
    const char *s = *sp;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    *sp = s + n;
    return 0;
}

static int lit(const char **sp, const char *l)
{
    size_t n = strlen(l);
    if (strncmp(*sp, l, n) != 0)
        return -1;
    *sp += n;
    return 0;
}

static int hms(const char **s, int *h, int *mi, int *se)
{
    return digits(s, 2, h) || lit(s, ":") || digits(s, 2, mi) || lit(s, ":") || digits(s, 2, se)
               ? -1 : 0;
}

/* The three HTTP date forms (RFC 9110 5.6.7), which recipients must all
 * accept: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete
 * RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
 * "Sun Nov  6 08:49:37 1994".  Epoch milliseconds, or -1. */
static int64_t parse_http_date(const char *s)
{
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    s = skip_ws(s);
    const char *comma = strchr(s, ',');
    if (comma && comma - s == 3) {
        s = comma + 1;
        if (lit(&s, " ") || digits(&s, 2, &d) || lit(&s, " ") || !(mo = month_of(s)))
            return -1;
        s += 3;
        if (lit(&s, " ") || digits(&s, 4, &y) || lit(&s, " ") || hms(&s, &h, &mi, &se) ||
            lit(&s, " GMT"))
            return -1;
    } else if (comma && comma - s >= 6 && comma - s <= 9) {
        s = comma + 1;
        if (lit(&s, " ") || digits(&s, 2, &d) || lit(&s, "-") || !(mo = month_of(s)))
            return -1;
        s += 3;
        if (lit(&s, "-") || digits(&s, 2, &y) || lit(&s, " ") || hms(&s, &h, &mi, &se) ||
            lit(&s, " GMT"))
            return -1;
        /* RFC 9110: a two-digit year more than 50 years ahead is in the
         * past century; for a retry-after, 19xx against 20xx is enough. */
        y += y < 70 ? 2000 : 1900;
    } else if (!comma && strlen(s) >= 24 && s[3] == ' ') {
        s += 4;
        if (!(mo = month_of(s)))
            return -1;
        s += 3;
        if (lit(&s, " "))
            return -1;
        if (*s == ' ') {
            s++;
            if (digits(&s, 1, &d))
                return -1;
        } else if (digits(&s, 2, &d)) {
            return -1;
        }
        if (lit(&s, " ") || hms(&s, &h, &mi, &se) || lit(&s, " ") || digits(&s, 4, &y))
            return -1;
    } else {
        return -1;
    }
    if (*skip_ws(s) != '\0')
        return -1;
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    int64_t days = days_from_civil(y, mo, d);
    return ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000;
}

int64_t llm__retry_after_ms(const char *retry_after_ms, const char *retry_after,
                            int64_t now_wall_ms)
{
    double v;
    if (retry_after_ms && parse_decimal(retry_after_ms, &v) == 0 && isfinite(v))
        return clamp_ms(v);
    if (!retry_after)
        return -1;
    if (parse_decimal(retry_after, &v) == 0 && isfinite(v))
        return clamp_ms(v * 1000.0);
    int64_t at = parse_http_date(retry_after);
    if (at < 0)
        return -1;
    return clamp_ms((double)(at - now_wall_ms));
}

/* ---- retry budget ------------------------------------------------------ */

void llm__retry_budget_init(struct llm__retry_budget *b)
{
    pthread_mutex_init(&b->lock, NULL);
    b->tokens = BUDGET_TOKENS;
}

void llm__retry_budget_destroy(struct llm__retry_budget *b)
{
    pthread_mutex_destroy(&b->lock);
}

int llm__retry_budget_take(struct llm__retry_budget *b, int is_timeout)
{
    if (!b)
        return 1;
    int32_t cost = is_timeout ? BUDGET_TIMEOUT_COST : BUDGET_RETRY_COST;
    pthread_mutex_lock(&b->lock);
    int ok = b->tokens >= cost;
    if (ok)
        b->tokens -= cost;
    pthread_mutex_unlock(&b->lock);
    return ok;
}

void llm__retry_budget_refund(struct llm__retry_budget *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    if (b->tokens < BUDGET_TOKENS)
        b->tokens += BUDGET_REFUND;
    pthread_mutex_unlock(&b->lock);
}
