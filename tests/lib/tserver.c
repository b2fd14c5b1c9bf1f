/*
 * tserver.c - the test-side helper for the loopback test server.
 * See tserver.h.
 */
#include "tserver.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int ts_port = -1;
static pid_t ts_pid;
static int ts_stdin = -1;   /* write end of the server's stdin */

static long time_scale(void)
{
    const char *s = getenv("LLM_TEST_TIME_SCALE");
    long v = s ? strtol(s, NULL, 10) : 1;

    return v >= 1 && v <= 1000 ? v : 1;
}

/* Reads the "PORT <n>" line from fd within timeout_ms. */
static int read_port_line(int fd, long timeout_ms)
{
    char line[64];
    size_t len = 0;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (len < sizeof line - 1) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        long left;
        ssize_t r;
        int pr;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = timeout_ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
                             (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return -1;
        pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        r = read(fd, line + len, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (line[len] == '\n') {
            long port;
            char *end;

            line[len] = '\0';
            if (strncmp(line, "PORT ", 5) != 0)
                return -1;
            port = strtol(line + 5, &end, 10);
            return *end == '\0' && port > 0 && port < 65536 ? (int)port : -1;
        }
        len++;
    }
    return -1;
}

int tserver_start(const char *root)
{
    const char *env_port = getenv("LLM_TEST_PORT");
    const char *bin = getenv("LLM_TEST_SERVER");
    char *argv[8];
    int out[2], in[2], argc = 0, port, st;
    posix_spawn_file_actions_t fa;
    pid_t pid;

    if (ts_port > 0)
        return ts_port;
    if (env_port && *env_port) {
        long p = strtol(env_port, NULL, 10);

        if (p <= 0 || p >= 65536) {
            fprintf(stderr, "tserver: bad LLM_TEST_PORT %s\n", env_port);
            return -1;
        }
        ts_port = (int)p;
        ts_pid = 0;
        return ts_port;
    }
    if (!bin || !*bin)
        bin = "build/tests/llmtestd";
    if (!root)
        root = getenv("LLM_TEST_ROOT");
    if (!root || !*root)
        root = "tests/providers";

    if (pipe2(out, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(in, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    argv[argc++] = (char *)bin;
    argv[argc++] = (char *)"--root";
    argv[argc++] = (char *)root;
    argv[argc++] = (char *)"--stdin-exit";
    if (!getenv("LLM_TEST_SERVER_VERBOSE"))
        argv[argc++] = (char *)"--quiet";
    argv[argc] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    st = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (st != 0) {
        fprintf(stderr, "tserver: cannot run %s: %s\n", bin, strerror(st));
        close(in[1]);
        close(out[0]);
        return -1;
    }
    port = read_port_line(out[0], 10000 * time_scale());
    close(out[0]);
    if (port < 0) {
        fprintf(stderr, "tserver: %s printed no PORT line\n", bin);
        close(in[1]);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    ts_pid = pid;
    ts_stdin = in[1];
    ts_port = port;
    return port;
}

void tserver_stop(void)
{
    if (ts_pid > 0) {
        kill(ts_pid, SIGTERM);
        while (waitpid(ts_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (ts_stdin >= 0)
        close(ts_stdin);
    ts_stdin = -1;
    ts_pid = 0;
    ts_port = -1;
}

int tserver_port(void)
{
    return ts_port;
}

int tserver_pid(void)
{
    return (int)ts_pid;
}

static char *format(const char *fmt, const char *a, const char *b, const char *c,
                    const char *d)
{
    int n = snprintf(NULL, 0, fmt, ts_port, a, b, c, d);
    char *s;

    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return NULL;
    snprintf(s, (size_t)n + 1, fmt, ts_port, a, b, c, d);
    return s;
}

char *tserver_url(const char *provider, const char *kase, const char *faults,
                  const char *suffix)
{
    if (!provider || !kase)
        return NULL;
    if (!faults || !*faults)
        faults = "ok";
    if (!suffix)
        suffix = "";
    while (*suffix == '/')
        suffix++;
    return format(*suffix ? "http://127.0.0.1:%d/t/%s/%s/%s/%s" : "http://127.0.0.1:%d/t/%s/%s/%s%s",
                  provider, kase, faults, suffix);
}

char *tserver_prefix(const char *provider, const char *kase, const char *faults)
{
    size_t n;
    char *s;

    if (!provider || !kase)
        return NULL;
    if (!faults || !*faults)
        faults = "ok";
    n = strlen(provider) + strlen(kase) + strlen(faults) + 6;
    s = malloc(n);
    if (s)
        snprintf(s, n, "/t/%s/%s/%s", provider, kase, faults);
    return s;
}

typedef struct grow {
    char *p;
    size_t len, cap;
    int failed;
} grow;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    grow *g = ud;
    size_t n = size * nmemb;

    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap : 4096;
        char *p;

        while (cap < g->len + n + 1)
            cap *= 2;
        p = realloc(g->p, cap);
        if (!p) {
            g->failed = 1;
            return 0;
        }
        g->p = p;
        g->cap = cap;
    }
    memcpy(g->p + g->len, ptr, n);
    g->len += n;
    g->p[g->len] = '\0';
    return n;
}

static char *request(const char *method, const char *path_and_query)
{
    CURL *h;
    CURLcode rc;
    long code = 0;
    grow g = { NULL, 0, 0, 0 };
    char *url;

    if (ts_port <= 0 || !path_and_query)
        return NULL;
    url = format("http://127.0.0.1:%d%s%s%s%s", path_and_query, "", "", "");
    h = curl_easy_init();
    if (!url || !h) {
        free(url);
        if (h)
            curl_easy_cleanup(h);
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L * time_scale());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    free(url);
    if (rc != CURLE_OK || code >= 400 || g.failed) {
        free(g.p);
        return NULL;
    }
    if (!g.p)
        g.p = calloc(1, 1);
    return g.p;
}

char *tserver_get(const char *path_and_query)
{
    return request("GET", path_and_query);
}

/* GET /_/<what>?prefix=<escaped prefix>, parsed. */
static json_t *control_json(const char *what, const char *prefix)
{
    char *esc, *path, *body;
    json_t *j = NULL;
    json_error_t err;
    size_t n;

    esc = curl_easy_escape(NULL, prefix ? prefix : "", 0);
    if (!esc)
        return NULL;
    n = strlen(what) + strlen(esc) + 16;
    path = malloc(n);
    if (path) {
        snprintf(path, n, "/_/%s?prefix=%s", what, esc);
        body = tserver_get(path);
        if (body)
            j = json_loads(body, JSON_ALLOW_NUL, &err);
        free(body);
        free(path);
    }
    curl_free(esc);
    return j;
}

int tserver_stats(const char *prefix, long *requests, long *accepts)
{
    json_t *j = control_json("stats", prefix);
    json_t *r = json_object_get(j, "requests"), *a = json_object_get(j, "accepts");

    if (!json_is_integer(r) || !json_is_integer(a)) {
        json_decref(j);
        return -1;
    }
    if (requests)
        *requests = (long)json_integer_value(r);
    if (accepts)
        *accepts = (long)json_integer_value(a);
    json_decref(j);
    return 0;
}

json_t *tserver_requests(const char *prefix)
{
    json_t *j = control_json("requests", prefix);

    if (j && !json_is_array(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int tserver_reset(void)
{
    char *body = request("POST", "/_/reset");
    int rc = body ? 0 : -1;

    free(body);
    return rc;
}
