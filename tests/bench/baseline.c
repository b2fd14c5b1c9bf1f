/*
 * baseline.c - the work libllm's benchmarks are measured against, done
 * with raw libcurl and jansson and no abstraction: build the JSON body,
 * POST it, parse the reply (or every SSE event) once, keep the text.
 *
 *   baseline seq N URL       N sequential non-streamed calls on one handle
 *   baseline stream URL      one streamed call
 *   baseline multi N URL     N concurrent streams on one thread
 *
 * Prints one line: "cpu_ms=<user+sys> rss_kb=<peak> bytes=<body bytes> text=<chars>".
 */
#include <curl/curl.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

struct call {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    struct buf line;   /* partial SSE line */
    struct buf text;   /* accumulated answer */
    size_t bytes;
};

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

static void sse_data(struct call *c, const char *data, size_t n)
{
    if (n >= 6 && memcmp(data, "[DONE]", 6) == 0)
        return;
    json_t *j = json_loadb(data, n, 0, NULL);
    if (!j)
        return;
    json_t *delta = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta");
    json_t *content = json_object_get(delta, "content");
    if (json_is_string(content))
        put(&c->text, json_string_value(content), json_string_length(content));
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
        if (ll >= 6 && memcmp(line, "data: ", 6) == 0)
            sse_data(c, line + 6, ll - 6);
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

static void setup(struct call *c, const char *url, int stream)
{
    if (!c->easy)
        c->easy = curl_easy_init();
    c->body = request_body(stream);
    if (!c->hdrs) {
        c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        c->hdrs = curl_slist_append(c->hdrs, "Authorization: Bearer sk-bench");
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, stream ? on_stream : on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
}

static void finish_plain(struct call *c)
{
    json_t *j = json_loadb(c->line.p, c->line.len, 0, NULL);
    json_t *msg = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message");
    json_t *content = json_object_get(msg, "content");
    if (json_is_string(content))
        put(&c->text, json_string_value(content), json_string_length(content));
    json_decref(j);
    c->line.len = 0;
}

static void report(size_t bytes, size_t text)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
    printf("cpu_ms=%ld rss_kb=%ld bytes=%zu text=%zu\n", cpu, ru.ru_maxrss, bytes, text);
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
        for (int i = 0; i < n; i++) {
            setup(&c, argv[3], 0);
            if (curl_easy_perform(c.easy) != CURLE_OK)
                return 1;
            finish_plain(&c);
            text += c.text.len;
            c.text.len = 0;
            free(c.body);
        }
        report(c.bytes, text);
    } else if (strcmp(argv[1], "stream") == 0) {
        struct call c = {0};
        setup(&c, argv[2], 1);
        if (curl_easy_perform(c.easy) != CURLE_OK)
            return 1;
        report(c.bytes, c.text.len);
    } else if (strcmp(argv[1], "multi") == 0 && argc == 4) {
        int n = atoi(argv[2]);
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
        size_t bytes = 0, text = 0;
        for (int i = 0; i < n; i++) {
            bytes += calls[i].bytes;
            text += calls[i].text.len;
        }
        report(bytes, text);
    } else {
        return 2;
    }
    return 0;
}
