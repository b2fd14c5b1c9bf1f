/*
 * gen_eventstream.c - turn a readable description of a Bedrock
 * ConverseStream reply into a fixture: the HTTP head copied as it is, then
 * real AWS event-stream messages (providers.md 7: prelude with both
 * lengths and its CRC32, string headers, the payload, the message CRC32).
 *
 * A standalone program with its own CRC32, built and run by hand, not by
 * the Makefile (see README.md beside it):
 *
 *   cc -O2 -o /tmp/gen_eventstream tests/providers/bedrock/gen_eventstream.c
 *   /tmp/gen_eventstream CASE/response.stream.txt > CASE/response.stream
 *
 * Input: everything up to and including the first empty line is the HTTP
 * head, copied verbatim.  After it, one message per line ('#' lines and
 * empty lines are skipped):
 *
 *   <eventType> <JSON payload>                  :message-type event
 *   exception:<exceptionType> <JSON payload>    :message-type exception
 *   error:<code> <message text>                 :message-type error, no payload
 *
 * The payload is copied byte for byte (not parsed), so a fixture can carry
 * whatever JSON, or non-JSON, a test needs.  Headers are written in the
 * order of the providers.md 7.2 example: :event-type (or :exception-type),
 * :content-type, :message-type; error messages carry :error-code,
 * :error-message, :message-type.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* IEEE CRC-32 (zlib's crc32), continued from crc. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

struct out {
    unsigned char *b;
    size_t len, cap;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + n)
            cap *= 2;
        o->b = realloc(o->b, cap);
        if (!o->b) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        o->cap = cap;
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

static void put_be32(struct out *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(o, b, 4);
}

/* A string header: name length, name, type 7, u16 value length, value. */
static void put_header(struct out *o, const char *name, const char *value, size_t vlen)
{
    size_t nl = strlen(name);
    if (nl > 255 || vlen > 32767) {
        fprintf(stderr, "header %s too long\n", name);
        exit(1);
    }
    unsigned char b[3];
    b[0] = (unsigned char)nl;
    put(o, b, 1);
    put(o, name, nl);
    b[0] = 7;
    b[1] = (unsigned char)(vlen >> 8);
    b[2] = (unsigned char)vlen;
    put(o, b, 3);
    put(o, value, vlen);
}

static void message(FILE *w, const char *kind, const char *type, size_t tlen, const char *rest,
                    size_t rlen)
{
    struct out h = {0}, m = {0};
    const char *payload = rest;
    size_t plen = rlen;
    if (strcmp(kind, "error") == 0) {
        put_header(&h, ":error-code", type, tlen);
        put_header(&h, ":error-message", rest, rlen);
        payload = "";
        plen = 0;
    } else {
        put_header(&h, strcmp(kind, "event") == 0 ? ":event-type" : ":exception-type", type, tlen);
        put_header(&h, ":content-type", "application/json", 16);
    }
    put_header(&h, ":message-type", kind, strlen(kind));
    uint32_t total = (uint32_t)(12 + h.len + plen + 4);
    put_be32(&m, total);
    put_be32(&m, (uint32_t)h.len);
    put_be32(&m, crc32_update(0, m.b, 8));
    put(&m, h.b ? h.b : (unsigned char *)"", h.len);
    put(&m, payload, plen);
    put_be32(&m, crc32_update(0, m.b, m.len));
    fwrite(m.b, 1, m.len, w);
    free(h.b);
    free(m.b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DESCRIPTION > response.stream\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    crc_init();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int in_head = 1;
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (in_head) {
            if (line[0] == '#')
                continue;
            fwrite(line, 1, len, stdout);
            if (len == 1 || (len == 2 && line[0] == '\r'))
                in_head = 0;
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *sp = strchr(line, ' ');
        size_t tlen = sp ? (size_t)(sp - line) : len;
        const char *rest = sp ? sp + 1 : "";
        size_t rlen = sp ? len - tlen - 1 : 0;
        if (strncmp(line, "exception:", 10) == 0)
            message(stdout, "exception", line + 10, tlen - 10, rest, rlen);
        else if (strncmp(line, "error:", 6) == 0)
            message(stdout, "error", line + 6, tlen - 6, rest, rlen);
        else
            message(stdout, "event", line, tlen, rest, rlen);
    }
    free(line);
    fclose(f);
    if (in_head) {
        fprintf(stderr, "%s: no empty line after the HTTP head\n", argv[1]);
        return 1;
    }
    return 0;
}
