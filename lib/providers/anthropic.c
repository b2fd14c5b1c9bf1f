/*
 * anthropic.c - the Anthropic Messages API (providers.md 3): POST
 * {base}/v1/messages, streamed as SSE with named events.
 *
 * Opaque data kept on response parts for replay (llm__resp_set_meta):
 *   reasoning  the thinking block without its "thinking" member, e.g.
 *              {"type":"thinking","signature":"..."}; on replay the block
 *              is rebuilt as type, thinking, then the other members.
 *   opaque     the whole block as received: redacted_thinking and every
 *              block type libllm does not model (server_tool_use,
 *              web_search_tool_result, ...).
 * The API rejects a tool-use turn whose thinking blocks were altered,
 * dropped or reordered (providers.md 3.3), so an assistant turn is sent
 * back part for part in the order it was received.  Signatures bind to
 * the model that produced them: llm__meta_usable decides.
 *
 * API versions (providers.md 3.11): 2023-06-01, the default for all of
 * soname 1, with x-api-key; 2026-10-21 removes temperature, top_p and top_k
 * (drop-or-fail before sending) and its SDKs send the key as a bearer
 * token, which is what is sent here too.  Any other version string is sent
 * as given and treated like 2023-06-01.
 */
#include "internal.h"
#include "providers/adapter.h"
#include "providers/provider.h"

#include <stdio.h>

#define ANTHROPIC_DEFAULT_BASE "https://api.anthropic.com"
#define ANTHROPIC_VERSION_DEFAULT "2023-06-01"
#define ANTHROPIC_VERSION_2026 "2026-10-21"

/* A stream keeps at most this many content blocks open at once.  The API
 * opens one at a time; the bound only stops a hostile stream from growing
 * the table without end. */
#define MAX_OPEN_BLOCKS 256

static json_t *jstr(const char *s, size_t n)
{
    return json_stringn(s ? s : "", s ? n : 0);
}

/* {"type": type} */
static json_t *typed(const char *type)
{
    json_t *o = json_object();
    if (o && llm__jset(o, "type", json_string(type))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int is_2026(const struct llm__call *call)
{
    return call->api_version && strcmp(call->api_version, ANTHROPIC_VERSION_2026) == 0;
}

/* ========================================================================
 * Request
 */

static json_t *text_block(const char *s, size_t n)
{
    json_t *b = typed("text");
    if (b && llm__jset(b, "text", jstr(s, n))) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static json_t *image_base64(const char *mime, size_t mime_len, const char *b64, size_t b64_len)
{
    json_t *src = typed("base64");
    json_t *b = typed("image");
    if (!src || !b || llm__jset(src, "media_type", json_stringn(mime, mime_len)) ||
        llm__jset(src, "data", json_stringn(b64, b64_len))) {
        json_decref(src);
        json_decref(b);
        return NULL;
    }
    if (llm__jset(b, "source", src)) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static json_t *image_bytes(const char *mime, size_t mime_len, const void *data, size_t n)
{
    llm__buf b64 = {0};
    if (llm__base64_encode(&b64, data, n) != LLM_OK) {
        llm__buf_free(&b64);
        return NULL;
    }
    json_t *b = image_base64(mime, mime_len, b64.data ? b64.data : "", b64.len);
    llm__buf_free(&b64);
    return b;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* An image URL.  The API fetches https: URLs itself (a "url" source); a
 * data: URL carries the bytes, which only a "base64" source can take. */
static int image_url(struct llm__call *call, const char *url, json_t **out)
{
    llm_response *r = call->resp;
    *out = NULL;
    if (strncmp(url, "data:", 5) != 0) {
        json_t *src = typed("url");
        if (!src || llm__jset(src, "url", json_string(url))) {
            json_decref(src);
            return llm__resp_nomem(r);
        }
        json_t *b = typed("image");
        if (!b)
            json_decref(src);
        if (!b || llm__jset(b, "source", src)) {
            json_decref(b);
            return llm__resp_nomem(r);
        }
        *out = b;
        return LLM_OK;
    }
    const char *hdr = url + 5, *comma = strchr(hdr, ',');
    if (!comma)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the image data: URL has no ','");
    size_t hlen = (size_t)(comma - hdr), mlen = 0;
    while (mlen < hlen && hdr[mlen] != ';')
        mlen++;
    if (mlen == 0)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the image data: URL has no media type");
    int b64 = hlen >= 7 && memcmp(comma - 7, ";base64", 7) == 0;
    const char *data = comma + 1;
    size_t dlen = strlen(data);
    if (b64) {
        if (!(*out = image_base64(hdr, mlen, data, dlen)))
            return llm__resp_nomem(r);
        return LLM_OK;
    }
    llm__buf bytes = {0};
    int rc = LLM_OK;
    for (size_t i = 0; i < dlen && rc == LLM_OK; i++) {
        if (data[i] != '%') {
            rc = llm__buf_putc(&bytes, data[i]);
            continue;
        }
        int hi = i + 2 < dlen ? hexval(data[i + 1]) : -1;
        int lo = i + 2 < dlen ? hexval(data[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            llm__buf_free(&bytes);
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "the image data: URL is not valid percent-encoding");
        }
        rc = llm__buf_putc(&bytes, (char)(hi << 4 | lo));
        i += 2;
    }
    if (rc == LLM_OK && !(*out = image_bytes(hdr, mlen, bytes.data ? bytes.data : "", bytes.len)))
        rc = LLM_ERR_NOMEM;
    llm__buf_free(&bytes);
    return rc == LLM_OK ? LLM_OK : llm__resp_nomem(r);
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* tool_use.input is an object, unlike OpenAI's string (providers.md 3.3). */
static int tool_use_block(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    llm_response *r = call->resp;
    const char *id = p->id ? p->id : "";
    json_t *input = NULL;
    if (!p->text || only_space(p->text, p->text_len)) {
        input = json_object();
    } else {
        int rc = llm__json_load(p->text, p->text_len, &input, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        if (rc != LLM_OK || !json_is_object(input)) {
            json_decref(input);
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "tool call \"%s\": its arguments are not a JSON object, "
                                  "which Anthropic's tool_use.input must be", id);
        }
    }
    json_t *b = typed("tool_use");
    if (!b || llm__jset(b, "id", json_string(id)) ||
        llm__jset(b, "name", json_string(p->name ? p->name : ""))) {
        json_decref(input);
        json_decref(b);
        return llm__resp_nomem(r);
    }
    /* jset consumes input, also when it fails. */
    if (llm__jset(b, "input", input)) {
        json_decref(b);
        return llm__resp_nomem(r);
    }
    *out = b;
    return LLM_OK;
}

static json_t *tool_result_block(const struct llm__part *p)
{
    json_t *b = typed("tool_result");
    if (!b || llm__jset(b, "tool_use_id", json_string(p->id ? p->id : "")) ||
        llm__jset(b, "content", jstr(p->text, p->text_len)) ||
        ((p->flags & LLM_TOOL_RESULT_ERROR) && llm__jset(b, "is_error", json_true()))) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* Our own meta, parsed; NULL when absent, foreign, for another model, or
 * unreadable (llm__meta_usable has then noted the drop where it applies). */
static json_t *usable_meta(struct llm__call *call, const struct llm__part *p, int *nomem_out)
{
    *nomem_out = 0;
    if (!p->meta.json || !llm__meta_usable(call, &p->meta))
        return NULL;
    json_t *m = NULL;
    int rc = llm__json_load(p->meta.json, p->meta.json_len, &m, NULL);
    if (rc == LLM_ERR_NOMEM)
        *nomem_out = 1;
    if (rc != LLM_OK || !json_is_object(m) || !json_is_string(json_object_get(m, "type"))) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* A thinking block rebuilt from the reasoning text and the rest of the
 * block kept as meta, members in the order the API sent them. */
static int thinking_block(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    int oom;
    json_t *m = usable_meta(call, p, &oom);
    if (!m)
        return oom ? llm__resp_nomem(call->resp) : LLM_OK;
    if (strcmp(json_string_value(json_object_get(m, "type")), "thinking") != 0) {
        json_decref(m);
        return LLM_OK;
    }
    json_t *b = typed("thinking");
    int rc = b ? llm__jset(b, "thinking", jstr(p->text, p->text_len)) : LLM_ERR_NOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (rc == LLM_OK && strcmp(k, "type") != 0 && strcmp(k, "thinking") != 0)
            rc = llm__jset(b, k, json_incref(v));
    }
    json_decref(m);
    if (rc) {
        json_decref(b);
        return llm__resp_nomem(call->resp);
    }
    *out = b;
    return LLM_OK;
}

/* One unified part to a content block; *out stays NULL for a part that is
 * not sent (reasoning without a usable signature, foreign opaque data). */
static int part_block(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    llm_response *r = call->resp;
    int oom;
    *out = NULL;
    switch (p->type) {
    case LLM__PART_TEXT:
        if (p->meta.json)
            llm__meta_usable(call, &p->meta);
        return (*out = text_block(p->text, p->text_len)) ? LLM_OK : llm__resp_nomem(r);
    case LLM__PART_IMAGE_DATA:
        if (!p->mime || !*p->mime)
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "an image has no media type");
        return (*out = image_bytes(p->mime, strlen(p->mime), p->data, p->data_len)) ? LLM_OK
                                                                                     : llm__resp_nomem(r);
    case LLM__PART_IMAGE_URL:
        if (!p->text || !*p->text)
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "an image URL is empty");
        return image_url(call, p->text, out);
    case LLM__PART_TOOL_CALL:
        if (p->meta.json)
            llm__meta_usable(call, &p->meta);
        return tool_use_block(call, p, out);
    case LLM__PART_TOOL_RESULT:
        return (*out = tool_result_block(p)) ? LLM_OK : llm__resp_nomem(r);
    case LLM__PART_REASONING:
        return thinking_block(call, p, out);
    case LLM__PART_OPAQUE:
        *out = usable_meta(call, p, &oom);
        return oom ? llm__resp_nomem(r) : LLM_OK;
    default:
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "a message part of unknown type %d",
                              p->type);
    }
}

static int is_tool_result(const json_t *b)
{
    const char *t = llm__json_str(b, "type");
    return t && strcmp(t, "tool_result") == 0;
}

static int build_messages(struct llm__call *call, json_t *body)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    json_t *system = json_array();
    json_t *messages = json_array();
    if (!system || !messages)
        goto oom;
    for (size_t i = 0; i < req->nmsgs; i++) {
        const struct llm__message *m = &req->msgs[i];
        if (m->role == LLM_ROLE_SYSTEM) {
            /* The API has no system role: every system message is lifted,
             * in order, into the top-level system blocks. */
            for (size_t k = 0; k < m->nparts; k++) {
                const struct llm__part *p = &m->parts[k];
                if (p->type != LLM__PART_TEXT) {
                    json_decref(system);
                    json_decref(messages);
                    return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                          "a system message may only hold text");
                }
                if (llm__jpush(system, text_block(p->text, p->text_len)))
                    goto oom;
            }
            continue;
        }
        const char *role;
        switch (m->role) {
        case LLM_ROLE_USER: case LLM_ROLE_TOOL: role = "user"; break;
        case LLM_ROLE_ASSISTANT: role = "assistant"; break;
        default:
            json_decref(system);
            json_decref(messages);
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "message %zu has unknown role %d", i,
                                  m->role);
        }
        json_t *blocks = json_array();
        if (!blocks)
            goto oom;
        for (size_t k = 0; k < m->nparts; k++) {
            json_t *b = NULL;
            int rc = part_block(call, &m->parts[k], &b);
            if (rc) {
                json_decref(blocks);
                json_decref(system);
                json_decref(messages);
                return rc;
            }
            if (b && llm__jpush(blocks, b)) {
                json_decref(blocks);
                goto oom;
            }
        }
        /* A turn left empty (only dropped reasoning) is not sent: the API
         * rejects empty content. */
        if (json_array_size(blocks) == 0) {
            json_decref(blocks);
            continue;
        }
        if (llm__add_turn(messages, role, blocks, is_tool_result))
            goto oom;
    }
    if (json_array_size(messages) == 0) {
        json_decref(system);
        json_decref(messages);
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                              "the conversation has no user or assistant content to send");
    }
    if (json_array_size(system) == 0)
        json_decref(system);
    else if (llm__jset(body, "system", system)) {
        json_decref(messages);
        return llm__resp_nomem(r);
    }
    if (llm__jset(body, "messages", messages))
        return llm__resp_nomem(r);
    return LLM_OK;
oom:
    json_decref(system);
    json_decref(messages);
    return llm__resp_nomem(r);
}

static int build_tools(struct llm__call *call, json_t *body)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    if (req->ntools == 0)
        return LLM_OK;
    json_t *tools = json_array();
    if (!tools || llm__jset(body, "tools", tools))
        return llm__resp_nomem(r);
    for (size_t i = 0; i < req->ntools; i++) {
        const struct llm__tool *t = &req->tools[i];
        json_t *schema = NULL;
        if (t->schema) {
            int rc = llm__json_load(t->schema, strlen(t->schema), &schema, NULL);
            if (rc == LLM_ERR_NOMEM)
                return llm__resp_nomem(r);
            if (rc != LLM_OK || !json_is_object(schema)) {
                json_decref(schema);
                return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                      "the schema of tool \"%s\" is not a JSON object", t->name);
            }
        } else {
            /* The API requires input_schema with an object root. */
            schema = typed("object");
            if (schema && llm__jset(schema, "properties", json_object())) {
                json_decref(schema);
                schema = NULL;
            }
        }
        if (!schema)
            return llm__resp_nomem(r);
        json_t *o = json_object();
        if (llm__jpush(tools, o) || llm__jset(o, "name", json_string(t->name)) ||
            (t->description && llm__jset(o, "description", json_string(t->description)))) {
            json_decref(schema);
            return llm__resp_nomem(r);
        }
        if (llm__jset(o, "input_schema", schema))
            return llm__resp_nomem(r);
    }
    json_t *choice = NULL;
    switch (req->tool_choice) {
    case LLM_TOOL_CHOICE_NONE: choice = typed("none"); break;
    case LLM_TOOL_CHOICE_REQUIRED: choice = typed("any"); break;
    case LLM_TOOL_CHOICE_NAMED:
        choice = typed("tool");
        if (choice && llm__jset(choice, "name",
                           json_string(req->tool_choice_name ? req->tool_choice_name : ""))) {
            json_decref(choice);
            return llm__resp_nomem(r);
        }
        break;
    default:
        /* auto is the API's default: sent only to carry the parallel flag. */
        if (!req->parallel_tool_calls)
            choice = typed("auto");
        else
            return LLM_OK;
    }
    if (!choice || llm__jset(body, "tool_choice", choice))
        return llm__resp_nomem(r);
    /* "none" forbids tool use altogether; the flag means nothing there. */
    if (!req->parallel_tool_calls && req->tool_choice != LLM_TOOL_CHOICE_NONE &&
        llm__jset(choice, "disable_parallel_tool_use", json_true()))
        return llm__resp_nomem(r);
    return LLM_OK;
}

/* Sampling, limits, reasoning and output format. */
static int build_params(struct llm__call *call, json_t *body)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    int rc;
    /* 2026-10-21 rejects these even at their default values (providers.md
     * 3.11): better a clear failure, or a drop the host asked for, than a
     * server 400. */
    static const char why_2026[] = "not accepted by Anthropic API version " ANTHROPIC_VERSION_2026;
    if (req->has_temperature) {
        if (is_2026(call)) {
            if ((rc = llm__call_unsupported(call, "temperature", why_2026)))
                return rc;
        } else if (llm__jset(body, "temperature", json_real(req->temperature))) {
            return llm__resp_nomem(r);
        }
    }
    if (req->has_top_p) {
        if (is_2026(call)) {
            if ((rc = llm__call_unsupported(call, "top_p", why_2026)))
                return rc;
        } else if (llm__jset(body, "top_p", json_real(req->top_p))) {
            return llm__resp_nomem(r);
        }
    }
    if (req->has_top_k) {
        if (is_2026(call)) {
            if ((rc = llm__call_unsupported(call, "top_k", why_2026)))
                return rc;
        } else if (llm__jset(body, "top_k", json_integer(req->top_k))) {
            return llm__resp_nomem(r);
        }
    }
    if (req->has_seed && (rc = llm__call_unsupported(call, "seed",
                                                     "the Anthropic Messages API has no seed")))
        return rc;
    if (req->nstops > 0) {
        json_t *stops = json_array();
        if (!stops || llm__jset(body, "stop_sequences", stops))
            return llm__resp_nomem(r);
        for (size_t i = 0; i < req->nstops; i++)
            if (llm__jpush(stops, json_string(req->stops[i])))
                return llm__resp_nomem(r);
    }

    json_t *thinking = NULL;
    const char *effort = NULL;
    switch (req->reasoning_effort) {
    case LLM_REASONING_DEFAULT:
        break;
    case LLM_REASONING_NONE:
        if (req->reasoning_budget > 0)
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "reasoning effort \"none\" contradicts the reasoning budget of "
                                  "%ld tokens", (long)req->reasoning_budget);
        if (!(thinking = typed("disabled")) || llm__jset(body, "thinking", thinking))
            return llm__resp_nomem(r);
        break;
    case LLM_REASONING_LOW: effort = "low"; break;
    case LLM_REASONING_MEDIUM: effort = "medium"; break;
    case LLM_REASONING_HIGH: effort = "high"; break;
    default:
        if ((rc = llm__call_unsupported(call, "reasoning_effort",
                                        "Anthropic's effort levels are low, medium and high "
                                        "(output_config.effort); there is no \"minimal\"")))
            return rc;
    }
    if (req->reasoning_budget > 0) {
        if (!(thinking = typed("enabled")) || llm__jset(body, "thinking", thinking) ||
            llm__jset(thinking, "budget_tokens", json_integer(req->reasoning_budget)))
            return llm__resp_nomem(r);
    }

    json_t *format = NULL;
    if (req->schema) {
        json_t *schema = NULL;
        rc = llm__json_load(req->schema, strlen(req->schema), &schema, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        if (rc != LLM_OK || !json_is_object(schema)) {
            json_decref(schema);
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the response schema is not a JSON object");
        }
        /* Structured outputs take the schema alone: the name has no field. */
        if (!(format = typed("json_schema")) || llm__jset(format, "schema", schema)) {
            if (!format)
                json_decref(schema);
            json_decref(format);
            return llm__resp_nomem(r);
        }
    }
    if (effort || format) {
        json_t *oc = json_object();
        if (!oc || llm__jset(body, "output_config", oc)) {
            json_decref(format);
            return llm__resp_nomem(r);
        }
        if ((format && llm__jset(oc, "format", format)) ||
            (effort && llm__jset(oc, "effort", json_string(effort))))
            return llm__resp_nomem(r);
    }
    return LLM_OK;
}

static int merge_extras(struct llm__call *call, json_t *body)
{
    const llm_request *req = call->req;
    for (size_t i = 0; i < req->nextras; i++) {
        const struct llm__extra *e = &req->extras[i];
        if (e->provider && strcmp(e->provider, llm__anthropic_ops.name) != 0)
            continue;
        json_t *o = NULL;
        int rc = llm__json_load(e->json, strlen(e->json), &o, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(call->resp);
        if (rc != LLM_OK || !json_is_object(o)) {
            json_decref(o);
            return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG,
                                  "the extra JSON is not a JSON object");
        }
        rc = json_object_update(body, o);
        json_decref(o);
        if (rc)
            return llm__resp_nomem(call->resp);
    }
    return LLM_OK;
}

static int build_headers(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    const char *version = call->api_version ? call->api_version : ANTHROPIC_VERSION_DEFAULT;
    if (!*version || llm__has_ctl(version, strlen(version)))
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the API version is empty or holds CR/LF");
    if (llm__http_req_header(out, "anthropic-version", version))
        return llm__resp_nomem(r);
    /* One credential only (providers.md 3.1).  An explicit bearer token is
     * the more specific choice (gateways, OAuth), so it wins over a key
     * that may merely come from the environment. */
    const char *bearer = call->bearer_token && *call->bearer_token ? call->bearer_token : NULL;
    const char *key = call->api_key && *call->api_key ? call->api_key : NULL;
    if (!bearer && key && is_2026(call))
        bearer = key;
    const char *secret = bearer ? bearer : key;
    if (!secret)
        return LLM_OK;
    if (llm__has_ctl(secret, strlen(secret)))
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the credential holds CR, LF or NUL");
    if (!bearer)
        return llm__http_req_header(out, "x-api-key", key) ? llm__resp_nomem(r) : LLM_OK;
    llm__buf v = {0};
    int rc = llm__buf_printf(&v, "Bearer %s", bearer);
    if (rc == LLM_OK)
        rc = llm__http_req_header(out, "Authorization", v.data);
    /* The buffer held a secret: wipe it rather than merely free it. */
    llm__free_secret(v.data);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

static int anthropic_build(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    if (!req)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "no request");
    if (!call->model || !*call->model)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                              "no model: set one with llm_client_set_model or llm_request_set_model");
    int32_t max_tokens = req->has_max_tokens ? req->max_tokens : call->default_max_tokens;
    json_t *body = json_object();
    if (!body || llm__jset(body, "model", json_string(call->model)) ||
        /* Required by the API: the request's, else the client's default. */
        llm__jset(body, "max_tokens", json_integer(max_tokens))) {
        json_decref(body);
        return llm__resp_nomem(r);
    }
    int rc = build_messages(call, body);
    if (!rc)
        rc = build_tools(call, body);
    if (!rc)
        rc = build_params(call, body);
    if (!rc && call->streaming && llm__jset(body, "stream", json_true()))
        rc = llm__resp_nomem(r);
    if (!rc)
        rc = merge_extras(call, body);
    if (!rc && llm__json_dump(&out->body, body))
        rc = llm__resp_nomem(r);
    json_decref(body);
    if (rc)
        return rc;
    out->method = "POST";
    const char *base = call->base_url && *call->base_url ? call->base_url : ANTHROPIC_DEFAULT_BASE;
    if (llm__url_join(&out->url, base, "v1/messages"))
        return llm__resp_nomem(r);
    return build_headers(call, out);
}

/* ========================================================================
 * Errors
 */

static int starts_with_ci(const char *s, const char *prefix)
{
    return s && llm__strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* error.type to a status (providers.md 3.7, 9.7); 0 for a type we do not
 * know, which then falls back on the HTTP status. */
static int status_of_type(const char *type, const char *message)
{
    static const struct {
        const char *type;
        int status;
    } map[] = {
        {"invalid_request_error", LLM_ERR_INVALID_REQUEST},
        {"authentication_error", LLM_ERR_AUTH},
        {"permission_error", LLM_ERR_PERMISSION},
        {"billing_error", LLM_ERR_QUOTA},
        {"not_found_error", LLM_ERR_NOT_FOUND},
        {"request_too_large", LLM_ERR_INVALID_REQUEST},
        {"rate_limit_error", LLM_ERR_RATE_LIMITED},
        {"api_error", LLM_ERR_SERVER},
        {"timeout_error", LLM_ERR_TIMEOUT},
        {"overloaded_error", LLM_ERR_OVERLOADED},
    };
    if (!type)
        return 0;
    if (strcmp(type, "invalid_request_error") == 0 && starts_with_ci(message, "prompt is too long"))
        return LLM_ERR_CONTEXT_LENGTH;
    for (size_t i = 0; i < LLM__ARRAY_LEN(map); i++)
        if (strcmp(map[i].type, type) == 0)
            return map[i].status;
    return 0;
}

/* An error object {"type": ..., "message": ...} onto the response. */
static int apply_error(llm_response *r, const json_t *err, int http, int mid_stream)
{
    const char *type = llm__json_str(err, "type");
    const char *message = llm__json_str(err, "message");
    if (llm__resp_set_str(&r->error_type, type) || llm__resp_set_str(&r->error_message, message))
        return llm__resp_nomem(r);
    int status = status_of_type(type, message);
    if (status)
        r->retryable = llm_status_retryable(status);
    else if (mid_stream)
        /* An unknown type inside a 200 stream says nothing; treat it as the
         * server failing, which is what any error event means. */
        status = LLM_ERR_SERVER, r->retryable = 1;
    else
        status = llm__status_from_http(http);
    r->mid_stream = mid_stream;
    if (mid_stream)
        return llm__resp_fail(r, status, "Anthropic error in the stream: %s: %s",
                              type ? type : "unknown error", message ? message : "(no message)");
    return llm__resp_fail(r, status, "Anthropic HTTP %d: %s: %s", http,
                          type ? type : "unknown error", message ? message : "(no message)");
}

static int anthropic_map_error(struct llm__call *call, const struct llm__http_res *res,
                               llm_response *out)
{
    (void)call;
    json_t *root = NULL;
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, NULL);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(out);
    const json_t *err = json_is_object(root) ? json_object_get(root, "error") : NULL;
    if (!json_is_object(err)) {
        /* Not the API's error shape: a proxy, or Cloudflare's 413 page. */
        json_decref(root);
        return llm__resp_fail(out, llm__status_from_http(res->status),
                              "Anthropic HTTP %d (the body is not an Anthropic error object)",
                              res->status);
    }
    /* The body repeats the request-id header; keep it when the header is
     * missing (stripped by a proxy). */
    const char *rid = llm__json_str(root, "request_id");
    if (rid && !out->request_id && llm__resp_set_str(&out->request_id, rid)) {
        json_decref(root);
        return llm__resp_nomem(out);
    }
    rc = apply_error(out, err, res->status, 0);
    json_decref(root);
    return rc;
}

/* ========================================================================
 * Response
 */

static int map_finish(const char *s)
{
    static const struct {
        const char *word;
        int finish;
    } map[] = {
        {"end_turn", LLM_FINISH_STOP},
        {"stop_sequence", LLM_FINISH_STOP},
        {"max_tokens", LLM_FINISH_LENGTH},
        {"model_context_window_exceeded", LLM_FINISH_LENGTH},
        {"tool_use", LLM_FINISH_TOOL_CALLS},
        {"refusal", LLM_FINISH_CONTENT_FILTER},
        {"pause_turn", LLM_FINISH_OTHER},
    };
    for (size_t i = 0; s && i < LLM__ARRAY_LEN(map); i++)
        if (strcmp(map[i].word, s) == 0)
            return map[i].finish;
    return LLM_FINISH_OTHER;
}

static int take_finish(llm_response *r, const json_t *obj)
{
    const json_t *sr = json_object_get(obj, "stop_reason");
    if (!json_is_string(sr))
        return LLM_OK;
    const char *s = json_string_value(sr);
    if (llm__resp_set_finish(r, map_finish(s), s))
        return llm__resp_nomem(r);
    /* A refusal may say why; the filter detail is where hosts look. */
    const json_t *details = json_object_get(obj, "stop_details");
    if (json_is_object(details)) {
        llm__buf b = {0};
        int rc = llm__json_dump(&b, details);
        if (rc == LLM_OK) {
            llm__free(r->filter_json);
            r->filter_json = llm__buf_steal(&b);
            rc = r->filter_json ? LLM_OK : LLM_ERR_NOMEM;
        }
        llm__buf_free(&b);
        if (rc)
            return llm__resp_nomem(r);
    }
    return LLM_OK;
}

/* Usage components as last reported; -1 = not reported.  Stream usage is
 * cumulative, so a later report replaces an earlier one field by field. */
struct usage {
    int64_t in, cache_write, cache_read, write_1h, out, thinking;
};

static void usage_init(struct usage *u)
{
    u->in = u->cache_write = u->cache_read = u->write_1h = u->out = u->thinking = -1;
}

static void take_count(const json_t *o, const char *key, int64_t *dst)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    /* A count beyond 2^53 is no real token count; ignoring it also keeps
     * the sums below from overflowing. */
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= ((json_int_t)1 << 53))
        *dst = (int64_t)json_integer_value(v);
}

static void usage_read(struct usage *u, const json_t *o)
{
    take_count(o, "input_tokens", &u->in);
    take_count(o, "cache_creation_input_tokens", &u->cache_write);
    take_count(o, "cache_read_input_tokens", &u->cache_read);
    take_count(json_object_get(o, "cache_creation"), "ephemeral_1h_input_tokens", &u->write_1h);
    take_count(o, "output_tokens", &u->out);
    take_count(json_object_get(o, "output_tokens_details"), "thinking_tokens", &u->thinking);
}

/* providers.md 9.6: input_tokens counts only uncached input. */
static void usage_apply(const struct usage *u, llm_response *r)
{
    int64_t *v = r->usage.v;
    v[LLM_USAGE_INPUT] = u->in < 0 ? -1
                       : u->in + (u->cache_write > 0 ? u->cache_write : 0) +
                             (u->cache_read > 0 ? u->cache_read : 0);
    v[LLM_USAGE_CACHE_READ] = u->cache_read;
    v[LLM_USAGE_CACHE_WRITE] = u->cache_write;
    v[LLM_USAGE_CACHE_WRITE_1H] = u->write_1h;
    v[LLM_USAGE_OUTPUT] = u->out;
    v[LLM_USAGE_REASONING] = u->thinking;
}

/* A new, empty part of a type: two thinking blocks in a row must stay two
 * parts, each with its own signature, where the append builders would
 * merge them. */
static struct llm__part *open_part(llm_response *r, int type)
{
    struct llm__part *p;
    if (llm__message_add_part(&r->msg, &p) != LLM_OK)
        return NULL;
    p->type = type;
    if (!(p->text = llm__strdup(""))) {
        r->msg.nparts--;
        return NULL;
    }
    return p;
}

/* The thinking block minus its text: what replay needs besides the part's
 * text (the signature, and whatever members a later API version adds). */
static json_t *thinking_meta(const json_t *block)
{
    json_t *m = json_copy((json_t *)block);
    if (m)
        json_object_del(m, "thinking");
    return m;
}

static int protocol(llm_response *r, const char *what)
{
    return llm__resp_fail(r, LLM_ERR_PROTOCOL, "unexpected Anthropic reply: %s", what);
}

static int parse_block(llm_response *r, const json_t *b)
{
    const char *type = llm__json_str(b, "type");
    if (!type)
        return protocol(r, "a content block without a type");
    if (strcmp(type, "text") == 0) {
        const json_t *t = json_object_get(b, "text");
        if (!json_is_string(t))
            return protocol(r, "a text block without text");
        return llm__resp_append_text(r, json_string_value(t), json_string_length(t)) ? llm__resp_nomem(r)
                                                                                    : LLM_OK;
    }
    if (strcmp(type, "thinking") == 0) {
        const json_t *t = json_object_get(b, "thinking");
        if (t && !json_is_string(t))
            return protocol(r, "a thinking block whose thinking is not a string");
        struct llm__part *p = open_part(r, LLM__PART_REASONING);
        if (!p || (t && llm__resp_append_reasoning(r, json_string_value(t), json_string_length(t))))
            return llm__resp_nomem(r);
        json_t *meta = thinking_meta(b);
        if (!meta)
            return llm__resp_nomem(r);
        int rc = llm__resp_set_meta_json(r, llm__resp_last_part(r), meta);
        json_decref(meta);
        return rc;
    }
    if (strcmp(type, "tool_use") == 0) {
        const char *id = llm__json_str(b, "id"), *name = llm__json_str(b, "name");
        if (!id || !name)
            return protocol(r, "a tool_use block without id or name");
        const json_t *input = json_object_get(b, "input");
        llm__buf args = {0};
        int rc = input ? llm__json_dump(&args, input) : llm__buf_puts(&args, "{}");
        if (!rc)
            rc = llm__resp_add_tool_call(r, id, name, args.data ? args.data : "{}",
                                         args.data ? args.len : 2, NULL);
        llm__buf_free(&args);
        return rc ? llm__resp_nomem(r) : LLM_OK;
    }
    /* redacted_thinking, server tool blocks and types not yet invented:
     * kept whole, for replay only. */
    return llm__resp_add_opaque_json(r, b);
}

static int anthropic_parse(struct llm__call *call, const struct llm__http_res *res,
                           llm_response *out)
{
    json_t *root = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(out);
    }
    if (rc != LLM_OK) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the Anthropic reply is not JSON: %s",
                            why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    if (!json_is_object(root)) {
        json_decref(root);
        return protocol(out, "the body is not a JSON object");
    }
    const char *type = llm__json_str(root, "type");
    if (type && strcmp(type, "error") == 0) {
        /* An error in a 2xx body (seen through some gateways). */
        rc = anthropic_map_error(call, res, out);
        json_decref(root);
        return rc ? rc : protocol(out, "an error body");
    }
    const json_t *content = json_object_get(root, "content");
    if (!json_is_array(content)) {
        json_decref(root);
        return protocol(out, "no content array");
    }
    if (llm__resp_set_str(&out->id, llm__json_str(root, "id")) ||
        (llm__json_str(root, "model") && llm__resp_set_str(&out->model, llm__json_str(root, "model")))) {
        json_decref(root);
        return llm__resp_nomem(out);
    }
    size_t i;
    const json_t *b;
    rc = LLM_OK;
    json_array_foreach(content, i, b) {
        if (!json_is_object(b)) {
            rc = protocol(out, "a content block that is not an object");
            break;
        }
        if ((rc = parse_block(out, b)))
            break;
    }
    if (!rc)
        rc = take_finish(out, root);
    const json_t *usage = json_object_get(root, "usage");
    if (!rc && json_is_object(usage)) {
        struct usage u;
        usage_init(&u);
        usage_read(&u, usage);
        usage_apply(&u, out);
        if (llm__resp_set_usage_raw(out, usage))
            rc = llm__resp_nomem(out);
    }
    json_decref(root);
    if (rc)
        return rc;
    if (out->finish == LLM_FINISH_NONE && llm__resp_set_finish(out, LLM_FINISH_OTHER, NULL))
        return llm__resp_nomem(out);
    llm__resp_fix_finish(out);
    return LLM_OK;
}

/* ========================================================================
 * Streaming
 */

enum block_kind { BK_TEXT, BK_TOOL, BK_THINKING, BK_OTHER };

struct block {
    int64_t index;             /* the API's content block index */
    int kind;                  /* enum block_kind */
    size_t tool;               /* BK_TOOL: unified tool call index */
    int got_args;              /* BK_TOOL: an input_json_delta arrived */
    size_t part;               /* BK_THINKING: index of its reasoning part */
    json_t *json;              /* BK_THINKING: meta; BK_TOOL / BK_OTHER: the start block */
    llm__buf args;             /* BK_OTHER: input_json_delta bytes */
};

struct sstate {
    struct block *blocks;      /* open blocks */
    size_t nblocks, cap;
    struct usage usage;
    json_t *usage_raw;         /* merged usage objects */
};

static void block_free(struct block *b)
{
    json_decref(b->json);
    llm__buf_free(&b->args);
}

static int anthropic_stream_begin(struct llm__sstate *st)
{
    struct sstate *s = llm__calloc(1, sizeof *s);
    if (!s)
        return llm__resp_nomem(st->resp);
    usage_init(&s->usage);
    st->adapter = s;
    return LLM_OK;
}

static void anthropic_stream_free(struct llm__sstate *st)
{
    struct sstate *s = st->adapter;
    if (!s)
        return;
    for (size_t i = 0; i < s->nblocks; i++)
        block_free(&s->blocks[i]);
    llm__free(s->blocks);
    json_decref(s->usage_raw);
    llm__free(s);
    st->adapter = NULL;
}

static struct block *find_block(struct sstate *s, int64_t index)
{
    for (size_t i = 0; i < s->nblocks; i++)
        if (s->blocks[i].index == index)
            return &s->blocks[i];
    return NULL;
}

static void close_block(struct sstate *s, struct block *b)
{
    block_free(b);
    size_t i = (size_t)(b - s->blocks);
    memmove(b, b + 1, (s->nblocks - i - 1) * sizeof *b);
    s->nblocks--;
}

static int block_index(const json_t *ev, int64_t *out)
{
    const json_t *v = json_object_get(ev, "index");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (int64_t)json_integer_value(v);
    return 1;
}

static int take_stream_usage(struct llm__sstate *st, const json_t *usage)
{
    struct sstate *s = st->adapter;
    if (!json_is_object(usage))
        return LLM_OK;
    usage_read(&s->usage, usage);
    usage_apply(&s->usage, st->resp);
    if (!s->usage_raw) {
        if (!(s->usage_raw = json_deep_copy(usage)))
            return llm__resp_nomem(st->resp);
    } else if (json_object_update(s->usage_raw, (json_t *)usage)) {
        return llm__resp_nomem(st->resp);
    }
    if (llm__resp_set_usage_raw(st->resp, s->usage_raw))
        return llm__resp_nomem(st->resp);
    return llm__emit_usage(st);
}

static int on_message_start(struct llm__sstate *st, const json_t *ev)
{
    llm_response *r = st->resp;
    const json_t *m = json_object_get(ev, "message");
    if (!json_is_object(m))
        return protocol(r, "message_start without a message");
    const char *id = llm__json_str(m, "id"), *model = llm__json_str(m, "model");
    if ((id && llm__resp_set_str(&r->id, id)) || (model && llm__resp_set_str(&r->model, model)))
        return llm__resp_nomem(r);
    return take_stream_usage(st, json_object_get(m, "usage"));
}

static int on_block_start(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    llm_response *r = st->resp;
    int64_t index;
    const json_t *cb = json_object_get(ev, "content_block");
    const char *type = llm__json_str(cb, "type");
    if (!block_index(ev, &index) || !type)
        return protocol(r, "content_block_start without index or block type");
    if (find_block(s, index))
        return protocol(r, "a content block started twice");
    if (strcmp(type, "redacted_thinking") == 0)
        /* Complete at its start: nothing follows but the stop. */
        return llm__resp_add_opaque_json(r, cb);
    if (s->nblocks == MAX_OPEN_BLOCKS)
        return protocol(r, "too many content blocks open at once");
    if (s->nblocks == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct block *nb = llm__realloc(s->blocks, cap * sizeof *nb);
        if (!nb)
            return llm__resp_nomem(r);
        s->blocks = nb;
        s->cap = cap;
    }
    struct block *b = &s->blocks[s->nblocks];
    memset(b, 0, sizeof *b);
    b->index = index;
    int rc = LLM_OK;
    if (strcmp(type, "text") == 0) {
        b->kind = BK_TEXT;
        s->nblocks++;
        const json_t *t = json_object_get(cb, "text");
        if (json_is_string(t))
            rc = llm__emit_text(st, json_string_value(t), json_string_length(t));
    } else if (strcmp(type, "tool_use") == 0) {
        const char *id = llm__json_str(cb, "id"), *name = llm__json_str(cb, "name");
        if (!id || !name)
            return protocol(r, "a tool_use block without id or name");
        b->kind = BK_TOOL;
        if (!(b->json = json_incref((json_t *)cb)))
            return llm__resp_nomem(r);
        s->nblocks++;
        rc = llm__emit_tool_start(st, id, name, &b->tool);
    } else if (strcmp(type, "thinking") == 0) {
        b->kind = BK_THINKING;
        if (!open_part(r, LLM__PART_REASONING))
            return llm__resp_nomem(r);
        b->part = r->msg.nparts - 1;
        if (!(b->json = thinking_meta(cb)))
            return llm__resp_nomem(r);
        s->nblocks++;
        const json_t *t = json_object_get(cb, "thinking");
        if (json_is_string(t))
            rc = llm__emit_reasoning(st, json_string_value(t), json_string_length(t));
    } else {
        b->kind = BK_OTHER;
        if (!(b->json = json_deep_copy(cb)))
            return llm__resp_nomem(r);
        s->nblocks++;
    }
    return rc;
}

static int on_block_delta(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    llm_response *r = st->resp;
    int64_t index;
    const json_t *d = json_object_get(ev, "delta");
    const char *type = llm__json_str(d, "type");
    if (!block_index(ev, &index) || !type)
        return protocol(r, "content_block_delta without index or delta type");
    struct block *b = find_block(s, index);
    if (!b)
        return protocol(r, "a delta for a content block that is not open");
    if (strcmp(type, "text_delta") == 0) {
        const json_t *t = json_object_get(d, "text");
        if (!json_is_string(t))
            return protocol(r, "a text_delta without text");
        return llm__emit_text(st, json_string_value(t), json_string_length(t));
    }
    if (strcmp(type, "input_json_delta") == 0) {
        const json_t *t = json_object_get(d, "partial_json");
        if (!json_is_string(t))
            return protocol(r, "an input_json_delta without partial_json");
        if (b->kind == BK_TOOL) {
            b->got_args = 1;
            return llm__emit_tool_delta(st, b->tool, json_string_value(t), json_string_length(t));
        }
        if (b->kind == BK_OTHER &&
            llm__buf_append(&b->args, json_string_value(t), json_string_length(t)))
            return llm__resp_nomem(r);
        return LLM_OK;
    }
    if (strcmp(type, "thinking_delta") == 0) {
        const json_t *t = json_object_get(d, "thinking");
        if (!json_is_string(t))
            return protocol(r, "a thinking_delta without thinking");
        if (b->kind != BK_THINKING || b->part != r->msg.nparts - 1)
            return protocol(r, "a thinking_delta outside the current thinking block");
        return llm__emit_reasoning(st, json_string_value(t), json_string_length(t));
    }
    if (strcmp(type, "signature_delta") == 0) {
        const json_t *sig = json_object_get(d, "signature");
        if (!json_is_string(sig))
            return protocol(r, "a signature_delta without signature");
        /* The signature arrives whole, just before the block's stop; it is
         * kept verbatim, as the SDKs do. */
        if (b->kind == BK_THINKING && llm__jset(b->json, "signature", json_copy((json_t *)sig)))
            return llm__resp_nomem(r);
        return LLM_OK;
    }
    /* citations_delta and delta types not yet invented. */
    return LLM_OK;
}

static int finish_block(struct llm__sstate *st, struct block *b)
{
    llm_response *r = st->resp;
    int rc = LLM_OK;
    switch (b->kind) {
    case BK_TOOL: {
        /* Input given whole at the start and never streamed: emit it. */
        const json_t *input = json_object_get(b->json, "input");
        if (!b->got_args && json_is_object(input) && json_object_size(input) > 0) {
            llm__buf a = {0};
            rc = llm__json_dump(&a, input) ? llm__resp_nomem(r) : llm__emit_tool_delta(st, b->tool, a.data, a.len);
            llm__buf_free(&a);
        }
        if (!rc)
            rc = llm__emit_tool_end(st, b->tool);
        break;
    }
    case BK_THINKING:
        if (b->part < r->msg.nparts)
            rc = llm__resp_set_meta_json(r, &r->msg.parts[b->part], b->json);
        break;
    case BK_OTHER:
        if (b->args.len) {
            json_t *input = NULL;
            int lrc = llm__json_load(b->args.data, b->args.len, &input, NULL);
            if (lrc == LLM_ERR_NOMEM)
                return llm__resp_nomem(r);
            if (lrc == LLM_OK && llm__jset(b->json, "input", input))
                return llm__resp_nomem(r);
        }
        rc = llm__resp_add_opaque_json(r, b->json);
        break;
    default:
        break;
    }
    return rc;
}

static int on_block_stop(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    int64_t index;
    if (!block_index(ev, &index))
        return protocol(st->resp, "content_block_stop without index");
    struct block *b = find_block(s, index);
    if (!b)
        /* A redacted_thinking block, kept at its start, or a repeat. */
        return LLM_OK;
    int rc = finish_block(st, b);
    close_block(s, b);
    return rc;
}

static int on_message_delta(struct llm__sstate *st, const json_t *ev)
{
    const json_t *d = json_object_get(ev, "delta");
    int rc = json_is_object(d) ? take_finish(st->resp, d) : LLM_OK;
    if (!rc)
        rc = take_stream_usage(st, json_object_get(ev, "usage"));
    return rc;
}

static int on_message_stop(struct llm__sstate *st)
{
    struct sstate *s = st->adapter;
    int rc = LLM_OK;
    /* Blocks left open are finished so that no tool call lacks its end. */
    while (!rc && s->nblocks > 0) {
        rc = finish_block(st, &s->blocks[0]);
        close_block(s, &s->blocks[0]);
    }
    st->done = 1;
    return rc;
}

static int frame_is(const struct llm__frame *f, const char *name)
{
    size_t n = strlen(name);
    return f->event && f->event_len == n && memcmp(f->event, name, n) == 0;
}

static int known_event(const char *t)
{
    static const char *const names[] = {"message_start", "content_block_start",
                                        "content_block_delta", "content_block_stop",
                                        "message_delta", "message_stop", "ping", "error"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(names); i++)
        if (strcmp(names[i], t) == 0)
            return 1;
    return 0;
}

static int anthropic_stream_event(struct llm__sstate *st, const struct llm__frame *f)
{
    llm_response *r = st->resp;
    if (!st->adapter)
        return llm__resp_fail(r, LLM_ERR_MISUSE, "stream_begin was not called");
    if (st->done)
        return LLM_OK;
    if (frame_is(f, "ping"))
        return LLM_OK;
    json_t *ev = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(f->data ? f->data : "", f->data ? f->data_len : 0, &ev, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(r);
    }
    if (rc != LLM_OK || !json_is_object(ev)) {
        json_decref(ev);
        /* Events may be added at any time (providers.md 3.6); only data of
         * an event we know must be ours to read. */
        char name[64];
        snprintf(name, sizeof name, "%.*s", f->event ? (int)(f->event_len < 63 ? f->event_len : 63) : 0,
                 f->event ? f->event : "");
        if (f->event && strcmp(name, "message") != 0 && !known_event(name)) {
            llm__buf_free(&why);
            return LLM_OK;
        }
        rc = llm__resp_fail(r, LLM_ERR_PROTOCOL, "an Anthropic stream event is not a JSON object%s%s",
                            why.data ? ": " : "", why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    const char *type = llm__json_str(ev, "type");
    if (!type)
        rc = LLM_OK;
    else if (strcmp(type, "message_start") == 0)
        rc = on_message_start(st, ev);
    else if (strcmp(type, "content_block_start") == 0)
        rc = on_block_start(st, ev);
    else if (strcmp(type, "content_block_delta") == 0)
        rc = on_block_delta(st, ev);
    else if (strcmp(type, "content_block_stop") == 0)
        rc = on_block_stop(st, ev);
    else if (strcmp(type, "message_delta") == 0)
        rc = on_message_delta(st, ev);
    else if (strcmp(type, "message_stop") == 0)
        rc = on_message_stop(st);
    else if (strcmp(type, "error") == 0) {
        const json_t *err = json_object_get(ev, "error");
        const char *rid = llm__json_str(ev, "request_id");
        if (rid && !r->request_id && llm__resp_set_str(&r->request_id, rid))
            rc = llm__resp_nomem(r);
        else
            rc = apply_error(r, json_is_object(err) ? err : ev, 200, 1);
        if (rc == LLM_OK)
            rc = r->status;
    }
    /* ping and event types not yet invented are ignored. */
    json_decref(ev);
    return rc;
}

static int anthropic_stream_end(struct llm__sstate *st)
{
    if (st->done)
        return LLM_OK;
    return llm__resp_fail(st->resp, LLM_ERR_NETWORK,
                          "stream truncated: the Anthropic stream ended without message_stop");
}

const struct llm__provider_ops llm__anthropic_ops = {
    .name = "anthropic",
    .framing = LLM__FRAMING_SSE,
    .build = anthropic_build,
    .parse = anthropic_parse,
    .stream_begin = anthropic_stream_begin,
    .stream_event = anthropic_stream_event,
    .stream_end = anthropic_stream_end,
    .stream_free = anthropic_stream_free,
    .map_error = anthropic_map_error,
};
