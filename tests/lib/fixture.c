/*
 * fixture.c - the provider fixtures as the adapters' unit tests read them.
 */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>

char *fixture_slurp(const char *provider, const char *kase, const char *file, size_t *len_out)
{
    char path[512];
    const char *root = getenv("LLM_TEST_ROOT") ? getenv("LLM_TEST_ROOT") : "tests/providers";
    snprintf(path, sizeof path, "%s/%s/%s/%s", root, provider, kase, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("#   cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    if (len_out)
        *len_out = b ? (size_t)n : 0;
    return b;
}

int fixture_load(const char *provider, const char *kase, const char *file, struct fixture *fx)
{
    size_t n;
    memset(fx, 0, sizeof *fx);
    if (!(fx->raw = fixture_slurp(provider, kase, file, &n)))
        return -1;
    /* The head ends at the first empty line, LF or CRLF. */
    char *end = strstr(fx->raw, "\n\n");
    char *crlf = strstr(fx->raw, "\r\n\r\n");
    size_t skip = 2;
    if (crlf && (!end || crlf < end)) {
        end = crlf;
        skip = 4;
    }
    if (!end)
        return -1;
    *end = '\0';
    fx->body = end + skip;
    fx->body_len = n - (size_t)(fx->body - fx->raw);
    char *line = fx->raw, *next;
    for (int first = 1; line; line = next, first = 0) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (first) {
            fx->status = l > 9 ? atoi(line + 9) : 0;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || fx->nh == LLM__ARRAY_LEN(fx->h))
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        fx->h[fx->nh].name = line;
        fx->h[fx->nh].value = v;
        fx->nh++;
    }
    return 0;
}

void fixture_release(struct fixture *fx)
{
    free(fx->raw);
    fx->raw = NULL;
}
