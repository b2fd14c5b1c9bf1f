/*
 * eventstream.c - incremental decoder of AWS application/vnd.amazon.eventstream
 * (providers.md §7): length-prefixed binary messages, each with a prelude
 * CRC and a message CRC, typed headers and an opaque payload.
 *
 * Every length read from the wire is checked against what is buffered and
 * against max_frame before it is used, and nothing is allocated for a
 * message until its prelude CRC and lengths have been verified, so a
 * hostile length field costs neither an over-read nor a huge allocation.
 * The message buffer and the header string buffer are kept across
 * messages, so the steady state allocates nothing.
 */
#include "internal.h"
#include "framing.h"

#define PRELUDE_LEN 12
/* Prelude plus the trailing message CRC. */
#define OVERHEAD 16

/* Header values handed to the callback. */
enum { H_EVENT_TYPE, H_EXCEPTION_TYPE, H_MESSAGE_TYPE, H_ERROR_CODE, H_ERROR_MESSAGE, H_COUNT };

static const struct {
    const char *name;
    size_t len;
} wanted[H_COUNT] = {
    { ":event-type", 11 },
    { ":exception-type", 15 },
    { ":message-type", 13 },
    { ":error-code", 11 },
    { ":error-message", 14 },
};

struct llm__evs {
    llm__frame_fn fn;
    void *ud;
    size_t max;           /* bound of one whole message */
    int status;           /* sticky: once non-zero, every call returns it */
    const char *why;
    llm__buf msg;         /* the message being received */
    size_t total;         /* its total length once the prelude is verified; 0 before */
    llm__buf strs;        /* NUL-terminated copies of the header values handed out */
};

/* IEEE 802.3 CRC-32, reflected polynomial 0xEDB88320 (the same values as
 * zlib's crc32). */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t llm__crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (!p)
        return crc;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int fail(struct llm__evs *p, int rc, const char *why)
{
    p->status = rc;
    p->why = why;
    return rc;
}

static int protocol(struct llm__evs *p, const char *why) { return fail(p, LLM_ERR_PROTOCOL, why); }

int llm__evs_new(struct llm__evs **out, size_t max_frame, llm__frame_fn fn, void *ud)
{
    if (!out)
        return LLM_ERR_MISUSE;
    *out = NULL;
    if (!fn || !max_frame)
        return LLM_ERR_INVALID_ARG;
    struct llm__evs *p = llm__calloc(1, sizeof *p);
    if (!p)
        return LLM_ERR_NOMEM;
    p->fn = fn;
    p->ud = ud;
    p->max = max_frame;
    p->why = "";
    *out = p;
    return LLM_OK;
}

void llm__evs_free(struct llm__evs *p)
{
    if (!p)
        return;
    llm__buf_free(&p->msg);
    llm__buf_free(&p->strs);
    llm__free(p);
}

const char *llm__evs_errmsg(const struct llm__evs *p) { return p ? p->why : ""; }

static int prelude(struct llm__evs *p)
{
    const unsigned char *b = (const unsigned char *)p->msg.data;
    /* The CRC comes first: lengths from a corrupt prelude mean nothing. */
    if (llm__crc32(0, b, 8) != be32(b + 8))
        return protocol(p, "event stream prelude CRC mismatch");
    uint32_t total = be32(b), hlen = be32(b + 4);
    if (total < OVERHEAD)
        return protocol(p, "event stream message shorter than its prelude and CRC");
    if (total > p->max)
        return fail(p, LLM_ERR_TOO_LARGE, "an event stream message exceeds the event size limit");
    if (hlen > total - OVERHEAD)
        return protocol(p, "event stream headers longer than their message");
    if (llm__buf_reserve(&p->msg, (size_t)total - p->msg.len))
        return fail(p, LLM_ERR_NOMEM, "out of memory buffering an event stream message");
    p->total = total;
    return LLM_OK;
}

static int message(struct llm__evs *p)
{
    unsigned char *b = (unsigned char *)p->msg.data;
    size_t total = p->total;
    if (llm__crc32(0, b, total - 4) != be32(b + total - 4))
        return protocol(p, "event stream message CRC mismatch");

    const unsigned char *h = b + PRELUDE_LEN;
    size_t hlen = be32(b + 4);
    size_t off[H_COUNT], len[H_COUNT];
    int have[H_COUNT] = { 0 };
    size_t i = 0;
    while (i < hlen) {
        size_t nl = h[i++];
        if (nl > hlen - i)
            return protocol(p, "event stream header name runs past the headers");
        const unsigned char *name = h + i;
        i += nl;
        if (i >= hlen)
            return protocol(p, "event stream header without a value type");
        unsigned type = h[i++];
        size_t vl;
        switch (type) {
        case 0: case 1: vl = 0; break;     /* boolean true, false */
        case 2: vl = 1; break;             /* byte */
        case 3: vl = 2; break;             /* int16 */
        case 4: vl = 4; break;             /* int32 */
        case 5: case 8: vl = 8; break;     /* int64, timestamp */
        case 9: vl = 16; break;            /* UUID */
        case 6: case 7:                    /* bytes, string: u16 length */
            if (hlen - i < 2)
                return protocol(p, "event stream header value length runs past the headers");
            vl = (size_t)h[i] << 8 | h[i + 1];
            i += 2;
            break;
        default:
            return protocol(p, "event stream header of unknown value type");
        }
        if (vl > hlen - i)
            return protocol(p, "event stream header value runs past the headers");
        if (type == 7) {
            for (int k = 0; k < H_COUNT; k++) {
                if (nl == wanted[k].len && memcmp(name, wanted[k].name, nl) == 0) {
                    have[k] = 1;
                    off[k] = i;
                    len[k] = vl;
                }
            }
        }
        i += vl;
    }

    /* Header values sit back to back in the message, so they are copied
     * out to get their NUL terminators; pointers are taken only after the
     * last append, which may move the buffer. */
    llm__buf_reset(&p->strs);
    size_t at[H_COUNT];
    for (int k = 0; k < H_COUNT; k++) {
        if (!have[k])
            continue;
        at[k] = p->strs.len;
        if (llm__buf_append(&p->strs, h + off[k], len[k]) || llm__buf_append(&p->strs, "", 1))
            return fail(p, LLM_ERR_NOMEM, "out of memory decoding event stream headers");
    }
#define HDR(k) (have[k] ? p->strs.data + at[k] : NULL)
    struct llm__frame f;
    memset(&f, 0, sizeof f);
    f.message_type = HDR(H_MESSAGE_TYPE);
    int kind = H_EVENT_TYPE;
    if (f.message_type && strcmp(f.message_type, "exception") == 0)
        kind = H_EXCEPTION_TYPE;
    if (have[kind]) {
        f.event = HDR(kind);
        f.event_len = len[kind];
    }
    if (f.message_type && strcmp(f.message_type, "error") == 0) {
        f.error_code = HDR(H_ERROR_CODE);
        f.error_message = HDR(H_ERROR_MESSAGE);
    }
#undef HDR
    /* The message CRC has been checked, so its first byte can become the
     * payload's terminator. */
    f.data = (const char *)h + hlen;
    f.data_len = total - OVERHEAD - hlen;
    b[total - 4] = '\0';
    int rc = p->fn(p->ud, &f);
    if (rc)
        return fail(p, rc, "the event stream callback stopped the stream");
    return LLM_OK;
}

int llm__evs_feed(struct llm__evs *p, const char *data, size_t n)
{
    if (!p || (!data && n))
        return LLM_ERR_MISUSE;
    if (p->status)
        return p->status;
    while (n) {
        size_t need = p->total ? p->total : PRELUDE_LEN;
        size_t take = need - p->msg.len;
        if (take > n)
            take = n;
        if (llm__buf_append(&p->msg, data, take))
            return fail(p, LLM_ERR_NOMEM, "out of memory buffering an event stream message");
        data += take;
        n -= take;
        if (p->msg.len < need)
            break;
        int rc = p->total ? message(p) : prelude(p);
        if (rc)
            return rc;
        if (p->msg.len == p->total) {
            llm__buf_reset(&p->msg);
            p->total = 0;
        }
    }
    return LLM_OK;
}

int llm__evs_finish(struct llm__evs *p)
{
    if (!p)
        return LLM_ERR_MISUSE;
    if (p->status)
        return p->status;
    if (p->msg.len)
        return protocol(p, "the event stream ended inside a message");
    return LLM_OK;
}
