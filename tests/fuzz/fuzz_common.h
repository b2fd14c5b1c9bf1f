/*
 * fuzz_common.h - chunking patterns and an event digest shared by the
 * framing parsers' libFuzzer targets.
 *
 * The first input byte picks how the rest is cut into feeds, so chunk
 * boundaries are fuzzed along with the bytes.  Each target parses the same
 * bytes in one feed and then in the chosen chunks, and aborts unless both
 * produce the same frames and the same final status.
 */
#ifndef LLM_FUZZ_COMMON_H
#define LLM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Running digest of every frame's bytes (FNV-1a, 64-bit).  Hashing reads
 * each byte handed out, so ASan sees any pointer past its data. */
static void digest(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t x = *h;
    for (size_t i = 0; i < n; i++) {
        x ^= b[i];
        x *= 0x100000001b3ull;
    }
    *h = x;
}

static void digest_str(uint64_t *h, const char *s, size_t n)
{
    digest(h, &n, sizeof n);
    if (s)
        digest(h, s, n);
    else
        digest(h, "\xff", 1);
}

/* Next chunk size for the pattern chosen by mode; *rng is its state. */
static size_t next_chunk(unsigned mode, uint32_t *rng, size_t left)
{
    size_t n;
    switch (mode & 3) {
    case 0:
        n = 1;
        break;
    case 1:
        n = ((mode >> 2) & 15) + 1;
        break;
    case 2:
        *rng = *rng * 1103515245u + 12345u;
        n = (*rng >> 16) % 32 + 1;
        break;
    default:
        *rng = *rng * 1103515245u + 12345u;
        n = (*rng >> 8) % (left + 1);   /* empty feeds included */
        break;
    }
    return n < left ? n : left;
}

#endif
