/*
 * baseline.c - the work libllm's benchmarks are measured against, done
 * with raw libcurl and jansson and no abstraction.  It does what any
 * client of the OpenAI Chat Completions API must do, and no more:
 *
 *   - build the JSON body with jansson and POST it with the same request
 *     headers libllm sends (Authorization, Content-Type, Accept,
 *     User-Agent, Accept-Encoding; no "Expect: 100-continue"), reusing the
 *     connection;
 *   - keep the HTTP status and the request id header;
 *   - parse each payload once (the body, or every SSE event) and take out
 *     what a caller needs: the text, the finish reason, the usage counts,
 *     the response id and model; keep the raw body of a complete call;
 *   - check the answer is the expected one.
 *
 *   baseline seq N URL       N sequential non-streamed calls on one handle
 *   baseline stream URL      one streamed call
 *   baseline multi N URL     N concurrent streams on one thread (curl multi)
 *
 * URL is the full endpoint (".../v1/chat/completions").  Prints one line:
 *   cpu_us=<user+sys of the work> wall_us=<work> rss_kb=<peak> bytes=<body
 *   bytes> text=<chars> events=<SSE events parsed>
 * The CPU and wall figures cover the calls only, not process start-up.
 */
#include <curl/curl.h>
#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

struct call {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    int stream;
    struct buf line;           /* partial SSE line, or the whole body */
    struct buf text;           /* accumulated answer */
    char *id, *model, *finish, *request_id;
    long long in_tok, out_tok;
    size_t bytes, events;
    int done;
};

static char *dup_json_str(json_t *s)
{
    return json_is_string(s) ? strdup(json_string_value(s)) : NULL;
}

static void take_usage(struct call *c, json_t *usage)
{
    if (!json_is_object(usage))
        return;
    c->in_tok = json_integer_value(json_object_get(usage, "prompt_tokens"));
    c->out_tok = json_integer_value(json_object_get(usage, "completion_tokens"));
}

static void sse_data(struct call *c, const char *data, size_t n)
{
    if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {
        c->done = 1;
        return;
    }
    json_t *j = json_loadb(data, n, 0, NULL);
    if (!j)
        return;
    c->events++;
    if (!c->id)
        c->id = dup_json_str(json_object_get(j, "id"));
    if (!c->model)
        c->model = dup_json_str(json_object_get(j, "model"));
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    json_t *content = json_object_get(json_object_get(choice, "delta"), "content");
    if (json_is_string(content))
        put(&c->text, json_string_value(content), json_string_length(content));
    json_t *finish = json_object_get(choice, "finish_reason");
    if (json_is_string(finish) && !c->finish)
        c->finish = strdup(json_string_value(finish));
    take_usage(c, json_object_get(j, "usage"));
    json_decref(j);
}

static size_t on_stream(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n, start = 0;
    c->bytes += len;
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n')
            continue;
        const char *line = p + start;
        size_t ll = i - start;
        if (c->line.len) {
            put(&c->line, line, ll);
            line = c->line.p;
            ll = c->line.len;
        }
        if (ll && line[ll - 1] == '\r')
            ll--;
        if (ll >= 5 && memcmp(line, "data:", 5) == 0) {
            size_t skip = ll > 5 && line[5] == ' ' ? 6 : 5;
            sse_data(c, line + skip, ll - skip);
        }
        c->line.len = 0;
        start = i + 1;
    }
    if (start < len)
        put(&c->line, p + start, len - start);
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    put(&c->line, p, size * n);
    c->bytes += size * n;
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    if (len > 13 && strncasecmp(p, "x-request-id:", 13) == 0) {
        size_t s = 13, e = len;
        while (s < e && (p[s] == ' ' || p[s] == '\t'))
            s++;
        while (e > s && (p[e - 1] == '\r' || p[e - 1] == '\n'))
            e--;
        free(c->request_id);
        c->request_id = strndup(p + s, e - s);
    }
    return len;
}

static char *request_body(int stream)
{
    json_t *root = json_pack("{s:s, s:[{s:s, s:s}]}", "model", "gpt-4o-mini", "messages", "role",
                             "user", "content", "Say hi.");
    if (stream) {
        json_object_set_new(root, "stream", json_true());
        json_object_set_new(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static void reset(struct call *c)
{
    free(c->body);
    free(c->id);
    free(c->model);
    free(c->finish);
    free(c->request_id);
    c->body = c->id = c->model = c->finish = c->request_id = NULL;
    c->line.len = c->text.len = 0;
    c->in_tok = c->out_tok = -1;
    c->done = 0;
}

static void setup(struct call *c, const char *url, int stream)
{
    reset(c);
    c->stream = stream;
    if (!c->easy) {
        /* What stays the same for every transfer is set once per handle. */
        c->easy = curl_easy_init();
        curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "libllm/1.0.0");
        curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, stream ? on_stream : on_body);
    }
    c->body = request_body(stream);
    if (!c->hdrs) {
        c->hdrs = curl_slist_append(NULL, "Expect:");
        c->hdrs = curl_slist_append(c->hdrs, "Authorization: Bearer sk-bench");
        c->hdrs = curl_slist_append(c->hdrs, "Content-Type: application/json");
        c->hdrs = curl_slist_append(c->hdrs, stream ? "Accept: text/event-stream"
                                                    : "Accept: application/json");
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
}

static int finish_plain(struct call *c)
{
    json_t *j = json_loadb(c->line.p, c->line.len, 0, NULL);
    if (!j)
        return -1;
    c->id = dup_json_str(json_object_get(j, "id"));
    c->model = dup_json_str(json_object_get(j, "model"));
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    json_t *content = json_object_get(json_object_get(choice, "message"), "content");
    if (json_is_string(content))
        put(&c->text, json_string_value(content), json_string_length(content));
    c->finish = dup_json_str(json_object_get(choice, "finish_reason"));
    take_usage(c, json_object_get(j, "usage"));
    json_decref(j);
    /* c->line keeps the raw body, as a response would. */
    return 0;
}

static int status_ok(struct call *c)
{
    long code = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    return code == 200;
}

static int check_plain(struct call *c)
{
    return status_ok(c) && c->text.len == 18 && memcmp(c->text.p, "Hello from libllm.", 18) == 0 &&
           c->finish && strcmp(c->finish, "stop") == 0 && c->out_tok == 5 && c->id && c->model &&
           c->request_id;
}

/* sse=N from the test server: N "tok " deltas, a stop, usage, [DONE]. */
static int check_stream(struct call *c, size_t n)
{
    return status_ok(c) && c->done && c->text.len == 4 * n && c->finish &&
           strcmp(c->finish, "stop") == 0 && c->out_tok == (long long)n && c->id && c->model;
}

static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report(int64_t cpu0, int64_t wall0, size_t bytes, size_t text, size_t events)
{
    int64_t cpu = cpu_us() - cpu0, wall = wall_us() - wall0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cpu_us=%lld wall_us=%lld rss_kb=%ld bytes=%zu text=%zu events=%zu\n", (long long)cpu,
           (long long)wall, ru.ru_maxrss, bytes, text, events);
}

/* The N of "sse=N" in the URL. */
static size_t sse_events(const char *url)
{
    const char *p = strstr(url, "sse=");
    return p ? (size_t)strtoull(p + 4, NULL, 10) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[1], "seq") == 0 && argc == 4) {
        int n = atoi(argv[2]);
        struct call c = {0};
        size_t text = 0;
        int64_t cpu0 = cpu_us(), wall0 = wall_us();
        for (int i = 0; i < n; i++) {
            setup(&c, argv[3], 0);
            if (curl_easy_perform(c.easy) != CURLE_OK || finish_plain(&c) || !check_plain(&c)) {
                fprintf(stderr, "call %d failed\n", i);
                return 1;
            }
            text += c.text.len;
        }
        report(cpu0, wall0, c.bytes, text, 0);
    } else if (strcmp(argv[1], "stream") == 0) {
        struct call c = {0};
        int64_t cpu0 = cpu_us(), wall0 = wall_us();
        setup(&c, argv[2], 1);
        if (curl_easy_perform(c.easy) != CURLE_OK || !check_stream(&c, sse_events(argv[2]))) {
            fprintf(stderr, "stream failed\n");
            return 1;
        }
        report(cpu0, wall0, c.bytes, c.text.len, c.events);
    } else if (strcmp(argv[1], "multi") == 0 && argc == 4) {
        int n = atoi(argv[2]);
        int64_t cpu0 = cpu_us(), wall0 = wall_us();
        CURLM *m = curl_multi_init();
        struct call *calls = calloc((size_t)n, sizeof *calls);
        for (int i = 0; i < n; i++) {
            setup(&calls[i], argv[3], 1);
            curl_multi_add_handle(m, calls[i].easy);
        }
        int running = n;
        while (running) {
            curl_multi_perform(m, &running);
            if (running)
                curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        size_t bytes = 0, text = 0, events = 0, want = sse_events(argv[3]);
        for (int i = 0; i < n; i++) {
            if (!check_stream(&calls[i], want)) {
                fprintf(stderr, "stream %d failed\n", i);
                return 1;
            }
            bytes += calls[i].bytes;
            text += calls[i].text.len;
            events += calls[i].events;
        }
        report(cpu0, wall0, bytes, text, events);
    } else {
        return 2;
    }
    return 0;
}
