/*
 * gemini.c - the Google Gemini API (Generative Language API, v1beta):
 * generateContent and streamGenerateContent?alt=sse (providers.md 4).
 *
 * Opaque data kept on response parts for replay (llm__resp_set_meta):
 *   text / reasoning  {"thoughtSignature": "..."} and, on reasoning parts,
 *                     "thought": true (a thought summary)
 *   tool call         {"idSynthetic": true|false} (did Gemini send the id?)
 *                     plus "thoughtSignature" when the part had one
 *   opaque part       {"part": <the Part as received>} for kinds libllm does
 *                     not model (inline images, code execution, ...)
 * Signatures bind to the model that produced them and are replayed only
 * when llm__meta_usable says so; whether an id is Gemini's own is a fact
 * about the provider alone and is honoured for any Gemini model.
 */
#include "internal.h"
#include "providers/adapter.h"
#include "providers/provider.h"
#include "providers/gemini_schema.h"

#include <stdio.h>

#define GEMINI_DEFAULT_HOST "https://generativelanguage.googleapis.com"
#define GEMINI_DEFAULT_VERSION "v1beta"

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (llm__strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* ========================================================================
 * Request
 */

/* What a part's meta allows on this call. */
struct replay {
    json_t *meta;              /* the meta object, or NULL */
    int usable;                /* signature, thought and raw part may be sent */
    int provider_id;           /* tool call: the id came from Gemini */
};

static void replay_free(struct replay *rp)
{
    json_decref(rp->meta);
    memset(rp, 0, sizeof *rp);
}

/* LLM_OK, or LLM_ERR_NOMEM: a signature lost to a failed allocation
 * must fail the call, not vanish from the replayed turn. */
static int read_meta(struct llm__call *call, const struct llm__part *p, struct replay *rp)
{
    memset(rp, 0, sizeof *rp);
    if (!p->meta.json)
        return LLM_OK;
    int ours = p->meta.provider && strcmp(p->meta.provider, llm__gemini_ops.name) == 0;
    json_t *m = NULL;
    if (ours) {
        int rc = llm__json_load(p->meta.json, p->meta.json_len, &m, NULL);
        if (rc == LLM_ERR_NOMEM)
            return rc;
        if (rc == LLM_OK && !json_is_object(m)) {
            json_decref(m);
            m = NULL;
        }
    }
    if (!m) {
        /* Someone else's data (or unreadable): llm__meta_usable notes the
         * drop once per call. */
        llm__meta_usable(call, &p->meta);
        return LLM_OK;
    }
    rp->meta = m;
    rp->provider_id = json_is_false(json_object_get(m, "idSynthetic"));
    if (json_object_get(m, "thoughtSignature") || json_object_get(m, "thought") ||
        json_object_get(m, "part"))
        rp->usable = llm__meta_usable(call, &p->meta);
    return LLM_OK;
}

static int add_signature(json_t *part, const struct replay *rp)
{
    json_t *sig = rp->usable ? json_object_get(rp->meta, "thoughtSignature") : NULL;
    if (!json_is_string(sig))
        return LLM_OK;
    return llm__jset(part, "thoughtSignature", json_deep_copy(sig));
}

static json_t *text_part(const char *s, size_t n)
{
    return llm__jwrap("text", json_stringn(s ? s : "", s ? n : 0));
}

static json_t *inline_data(const char *mime, size_t mime_len, const void *data, size_t n)
{
    llm__buf b64 = {0};
    if (llm__base64_encode(&b64, data, n) != LLM_OK) {
        llm__buf_free(&b64);
        return NULL;
    }
    json_t *blob = llm__jwrap("data", json_stringn(b64.data ? b64.data : "", b64.len));
    llm__buf_free(&b64);
    json_t *part = llm__jwrap("inlineData", blob);
    if (part && llm__jset(blob, "mimeType", json_stringn(mime, mime_len))) {
        json_decref(part);
        return NULL;
    }
    return part;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* An image URL: Gemini's Developer API cannot fetch URLs (providers.md
 * 9.2), but a data: URL carries the bytes and becomes inlineData. */
static int image_url(struct llm__call *call, const char *url, json_t **out)
{
    llm_response *r = call->resp;
    *out = NULL;
    if (strncmp(url, "data:", 5) != 0)
        return llm__resp_fail(r, LLM_ERR_UNSUPPORTED,
                              "Gemini cannot fetch image URLs: send the bytes "
                              "(llm_request_append_image) or a data: URL");
    const char *hdr = url + 5, *comma = strchr(hdr, ',');
    if (!comma)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the image data: URL has no ','");
    size_t hlen = (size_t)(comma - hdr), mlen = 0;
    while (mlen < hlen && hdr[mlen] != ';')
        mlen++;
    int b64 = hlen >= 7 && memcmp(comma - 7, ";base64", 7) == 0;
    if (mlen == 0)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the image data: URL has no media type");
    const char *data = comma + 1;
    size_t dlen = strlen(data);
    llm__buf bytes = {0};
    int rc = LLM_OK;
    if (b64) {
        rc = llm__base64_decode(&bytes, data, dlen);
    } else {
        for (size_t i = 0; i < dlen && rc == LLM_OK; i++) {
            if (data[i] == '%') {
                int hi = i + 2 < dlen ? hexval(data[i + 1]) : -1;
                int lo = i + 2 < dlen ? hexval(data[i + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    rc = LLM_ERR_PROTOCOL;
                    break;
                }
                rc = llm__buf_putc(&bytes, (char)(hi << 4 | lo));
                i += 2;
            } else {
                rc = llm__buf_putc(&bytes, data[i]);
            }
        }
    }
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&bytes);
        return llm__resp_nomem(r);
    }
    if (rc != LLM_OK) {
        llm__buf_free(&bytes);
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the image data: URL is not valid %s",
                              b64 ? "base64" : "percent-encoding");
    }
    *out = inline_data(hdr, mlen, bytes.data ? bytes.data : "", bytes.len);
    llm__buf_free(&bytes);
    return *out ? LLM_OK : llm__resp_nomem(r);
}

static const struct llm__part *find_call(const struct llm__message *turn, const char *id)
{
    for (size_t i = 0; turn && id && i < turn->nparts; i++)
        if (turn->parts[i].type == LLM__PART_TOOL_CALL && turn->parts[i].id &&
            strcmp(turn->parts[i].id, id) == 0)
            return &turn->parts[i];
    return NULL;
}

static int function_call(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    llm_response *r = call->resp;
    json_t *args = NULL;
    *out = NULL;
    if (!p->name || !*p->name)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "a tool call has no name");
    if (p->text_len == 0) {
        args = json_object();
    } else {
        int rc = llm__json_load(p->text, p->text_len, &args, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        if (rc != LLM_OK)
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "tool call \"%s\": the arguments are not JSON", p->name);
        if (!json_is_object(args)) {
            json_decref(args);
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "tool call \"%s\": the arguments are not a JSON object "
                                  "(Gemini takes args as an object)", p->name);
        }
    }
    json_t *fc = llm__jwrap("args", args);
    json_t *part = llm__jwrap("functionCall", fc);
    struct replay rp;
    if (!part || read_meta(call, p, &rp)) {
        json_decref(part);
        return llm__resp_nomem(r);
    }
    /* Only an id Gemini itself produced goes back; a synthetic one was
     * never the server's and older endpoints reject an unknown id
     * (providers.md 4.5). */
    int bad = llm__jset(fc, "name", json_string(p->name)) ||
              (rp.provider_id && p->id && *p->id && llm__jset(fc, "id", json_string(p->id))) ||
              add_signature(part, &rp);
    replay_free(&rp);
    if (bad) {
        json_decref(part);
        return llm__resp_nomem(r);
    }
    *out = part;
    return LLM_OK;
}

static int function_response(struct llm__call *call, const struct llm__part *p,
                             const struct llm__message *turn, json_t **out)
{
    llm_response *r = call->resp;
    const struct llm__part *c = find_call(turn, p->id);
    const char *name = p->name ? p->name : c ? c->name : NULL;
    *out = NULL;
    if (!name)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                              "tool result for call id \"%s\" answers no call of the preceding "
                              "assistant turn", p->id ? p->id : "");
    json_t *content = NULL;
    if (p->flags & LLM_TOOL_RESULT_JSON) {
        int rc = llm__json_load(p->text ? p->text : "", p->text_len, &content, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        if (rc != LLM_OK)
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "tool result for \"%s\" is flagged JSON but is not JSON", name);
    } else {
        content = json_stringn(p->text ? p->text : "", p->text ? p->text_len : 0);
    }
    int provider_id = 0;
    if (c) {
        struct replay rp;
        if (read_meta(call, c, &rp)) {
            json_decref(content);
            return llm__resp_nomem(r);
        }
        provider_id = rp.provider_id;
        replay_free(&rp);
    }
    /* `response` must be an object; "output" and "error" are the keys the
     * API documents for results and failures (providers.md 4.2). */
    json_t *resp = llm__jwrap((p->flags & LLM_TOOL_RESULT_ERROR) ? "error" : "output", content);
    json_t *fr = llm__jwrap("response", resp);
    json_t *part = llm__jwrap("functionResponse", fr);
    if (!part)
        return llm__resp_nomem(r);
    if (llm__jset(fr, "name", json_string(name)) ||
        (provider_id && p->id && llm__jset(fr, "id", json_string(p->id)))) {
        json_decref(part);
        return llm__resp_nomem(r);
    }
    *out = part;
    return LLM_OK;
}

/* One unified message to the parts of a Gemini Content. */
static int message_parts(struct llm__call *call, const struct llm__message *m,
                         const struct llm__message *turn, json_t *parts)
{
    llm_response *r = call->resp;
    for (size_t i = 0; i < m->nparts; i++) {
        const struct llm__part *p = &m->parts[i];
        json_t *part = NULL;
        int rc = LLM_OK;
        switch (p->type) {
        case LLM__PART_TEXT: {
            struct replay rp;
            if (read_meta(call, p, &rp))
                return llm__resp_nomem(r);
            part = text_part(p->text, p->text_len);
            if (!part || add_signature(part, &rp)) {
                json_decref(part);
                part = NULL;
                rc = llm__resp_nomem(r);
            }
            replay_free(&rp);
            break;
        }
        case LLM__PART_IMAGE_DATA:
            if (!p->mime)
                return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "an image has no media type");
            if (!(part = inline_data(p->mime, strlen(p->mime), p->data ? (const void *)p->data : "",
                                     p->data_len)))
                rc = llm__resp_nomem(r);
            break;
        case LLM__PART_IMAGE_URL:
            rc = image_url(call, p->text ? p->text : "", &part);
            break;
        case LLM__PART_TOOL_CALL:
            rc = function_call(call, p, &part);
            break;
        case LLM__PART_TOOL_RESULT:
            rc = function_response(call, p, turn, &part);
            break;
        case LLM__PART_REASONING:
        case LLM__PART_OPAQUE: {
            /* Thought summaries and parts libllm does not model go back
             * exactly as received, and only to the model that made them. */
            struct replay rp;
            if (read_meta(call, p, &rp))
                return llm__resp_nomem(r);
            if (rp.usable) {
                json_t *raw = json_object_get(rp.meta, "part");
                if (p->type == LLM__PART_OPAQUE && json_is_object(raw)) {
                    part = json_deep_copy(raw);
                } else if (p->type == LLM__PART_REASONING &&
                           json_is_true(json_object_get(rp.meta, "thought"))) {
                    part = text_part(p->text, p->text_len);
                    if (part && llm__jset(part, "thought", json_true())) {
                        json_decref(part);
                        part = NULL;
                    }
                    if (part && add_signature(part, &rp)) {
                        json_decref(part);
                        part = NULL;
                    }
                } else {
                    replay_free(&rp);
                    break;
                }
                if (!part)
                    rc = llm__resp_nomem(r);
            }
            replay_free(&rp);
            break;
        }
        default:
            break;
        }
        if (rc)
            return rc;
        if (part && llm__jpush(parts, part))
            return llm__resp_nomem(r);
    }
    return LLM_OK;
}

/* Append a content; Gemini wants user and model turns to alternate, so a
 * content of the same role as the previous one joins it (providers.md
 * 9.1).  Empty parts lists are left out: the API rejects them. */
static int add_content(json_t *contents, const char *role, json_t *parts)
{
    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return LLM_OK;
    }
    size_t n = json_array_size(contents);
    json_t *last = n ? json_array_get(contents, n - 1) : NULL;
    const char *last_role = llm__json_str(last, "role");
    if (last_role && strcmp(last_role, role) == 0) {
        int rc = json_array_extend(json_object_get(last, "parts"), parts) ? LLM_ERR_NOMEM : LLM_OK;
        json_decref(parts);
        return rc;
    }
    json_t *c = llm__jwrap("parts", parts);
    if (!c || llm__jset(c, "role", json_string(role))) {
        json_decref(c);
        return LLM_ERR_NOMEM;
    }
    return llm__jpush(contents, c);
}

static int build_contents(struct llm__call *call, json_t *body)
{
    const llm_request *req = call->req;
    llm_response *r = call->resp;
    json_t *contents = json_array(), *sys = json_array();
    const struct llm__message *turn = NULL;
    int rc = LLM_OK;
    if (!contents || !sys) {
        rc = llm__resp_nomem(r);
        goto out;
    }
    for (size_t i = 0; i < req->nmsgs && rc == LLM_OK; i++) {
        const struct llm__message *m = &req->msgs[i];
        if (m->role == LLM_ROLE_SYSTEM) {
            for (size_t k = 0; k < m->nparts; k++)
                if (m->parts[k].type == LLM__PART_TEXT &&
                    llm__jpush(sys, text_part(m->parts[k].text, m->parts[k].text_len))) {
                    rc = llm__resp_nomem(r);
                    break;
                }
            continue;
        }
        json_t *parts = json_array();
        if (!parts) {
            rc = llm__resp_nomem(r);
            break;
        }
        if ((rc = message_parts(call, m, turn, parts))) {
            json_decref(parts);
            break;
        }
        /* Function results travel in a user turn (providers.md 4.2). */
        const char *role = m->role == LLM_ROLE_ASSISTANT ? "model" : "user";
        if (add_content(contents, role, parts)) {
            rc = llm__resp_nomem(r);
            break;
        }
        if (m->role == LLM_ROLE_ASSISTANT)
            turn = m;
    }
    if (rc)
        goto out;
    if (json_array_size(sys)) {
        json_t *si = llm__jwrap("parts", sys);
        sys = NULL;
        if (llm__jset(body, "systemInstruction", si)) {
            rc = llm__resp_nomem(r);
            goto out;
        }
    }
    if (llm__jset(body, "contents", contents))
        rc = llm__resp_nomem(r);
    contents = NULL;
out:
    json_decref(contents);
    json_decref(sys);
    return rc;
}

static int build_tools(struct llm__call *call, json_t *body)
{
    const llm_request *req = call->req;
    llm_response *r = call->resp;
    if (req->ntools == 0)
        return LLM_OK;
    /* One tools[] element holds every function (providers.md 4.3). */
    json_t *decls = json_array();
    json_t *tool = llm__jwrap("functionDeclarations", decls);
    json_t *tools = json_array();
    if (!tool || !tools) {
        json_decref(tool);
        json_decref(tools);
        return llm__resp_nomem(r);
    }
    if (llm__jset(body, "tools", tools)) {
        json_decref(tool);
        return llm__resp_nomem(r);
    }
    if (llm__jpush(tools, tool))
        return llm__resp_nomem(r);
    for (size_t i = 0; i < req->ntools; i++) {
        const struct llm__tool *t = &req->tools[i];
        json_t *d = llm__jwrap("name", json_string(t->name));
        if (llm__jpush(decls, d) ||
            (t->description && llm__jset(d, "description", json_string(t->description))))
            return llm__resp_nomem(r);
        if (!t->schema)
            continue;
        json_t *params = NULL;
        llm__buf why = {0};
        int rc = llm__gemini_schema_convert_text(t->schema, strlen(t->schema), &params, &why);
        if (rc == LLM_ERR_INVALID_ARG)
            llm__resp_fail(r, rc, "tool %s: %s", t->name, why.data ? why.data : "");
        else if (rc)
            llm__resp_nomem(r);
        llm__buf_free(&why);
        if (rc)
            return rc;
        const char *type = llm__json_str(params, "type");
        if (!type || strcmp(type, "OBJECT") != 0) {
            json_decref(params);
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "tool %s: the parameters JSON Schema must describe an object",
                                  t->name);
        }
        /* A function without parameters is declared without `parameters`:
         * an OBJECT with no properties is a 400 ("properties: should be
         * non-empty for OBJECT type", agno-agi/agno#2112, 2025-02). */
        if (json_object_size(json_object_get(params, "properties")) == 0) {
            json_decref(params);
            continue;
        }
        if (llm__jset(d, "parameters", params))
            return llm__resp_nomem(r);
    }

    const char *mode = "AUTO";
    if (req->tool_choice == LLM_TOOL_CHOICE_NONE)
        mode = "NONE";
    else if (req->tool_choice == LLM_TOOL_CHOICE_REQUIRED ||
             req->tool_choice == LLM_TOOL_CHOICE_NAMED)
        mode = "ANY";
    json_t *fcc = llm__jwrap("mode", json_string(mode));
    if (llm__jset(body, "toolConfig", llm__jwrap("functionCallingConfig", fcc)))
        return llm__resp_nomem(r);
    if (req->tool_choice == LLM_TOOL_CHOICE_NAMED) {
        json_t *names = json_array();
        if (llm__jset(fcc, "allowedFunctionNames", names) ||
            llm__jpush(names, json_string(req->tool_choice_name ? req->tool_choice_name : "")))
            return llm__resp_nomem(r);
    }
    if (!req->parallel_tool_calls)
        return llm__call_unsupported(call, "parallel_tool_calls",
                                     "Gemini has no switch to limit a turn to one function call");
    return LLM_OK;
}

static int build_generation(struct llm__call *call, json_t *body)
{
    const llm_request *req = call->req;
    llm_response *r = call->resp;
    json_t *gc = json_object();
    if (!gc)
        return llm__resp_nomem(r);
    int rc = LLM_OK;
    if ((req->has_temperature && llm__jset(gc, "temperature", json_real(req->temperature))) ||
        (req->has_top_p && llm__jset(gc, "topP", json_real(req->top_p))) ||
        (req->has_top_k && llm__jset(gc, "topK", json_integer(req->top_k))) ||
        (req->has_max_tokens && llm__jset(gc, "maxOutputTokens", json_integer(req->max_tokens))) ||
        (req->has_seed && llm__jset(gc, "seed", json_integer(req->seed))))
        goto oom;
    if (req->nstops) {
        json_t *stops = json_array();
        if (llm__jset(gc, "stopSequences", stops))
            goto oom;
        for (size_t i = 0; i < req->nstops; i++)
            if (llm__jpush(stops, json_string(req->stops[i])))
                goto oom;
    }
    if (req->schema) {
        json_t *schema = NULL;
        llm__buf why = {0};
        rc = llm__gemini_schema_convert_text(req->schema, strlen(req->schema), &schema, &why);
        if (rc == LLM_ERR_INVALID_ARG)
            llm__resp_fail(r, rc, "response schema %s: %s",
                           req->schema_name ? req->schema_name : "", why.data ? why.data : "");
        llm__buf_free(&why);
        if (rc == LLM_ERR_NOMEM)
            goto oom;
        if (rc)
            goto out;
        if (llm__jset(gc, "responseMimeType", json_string("application/json"))) {
            json_decref(schema);
            goto oom;
        }
        if (llm__jset(gc, "responseSchema", schema))
            goto oom;
    }
    int effort = req->reasoning_effort;
    if (req->reasoning_budget > 0 && effort != LLM_REASONING_DEFAULT) {
        if ((rc = llm__call_unsupported(call, "reasoning_effort",
                                        "Gemini takes a thinking budget or a thinking level, "
                                        "not both, and the reasoning budget is set")))
            goto out;
        effort = LLM_REASONING_DEFAULT;
    }
    if (req->reasoning_budget > 0 || effort != LLM_REASONING_DEFAULT) {
        static const char *const levels[] = {
            [LLM_REASONING_MINIMAL] = "MINIMAL", [LLM_REASONING_LOW] = "LOW",
            [LLM_REASONING_MEDIUM] = "MEDIUM", [LLM_REASONING_HIGH] = "HIGH",
        };
        json_t *tc = NULL;
        if (req->reasoning_budget > 0)
            tc = llm__jwrap("thinkingBudget", json_integer(req->reasoning_budget));
        else if (effort == LLM_REASONING_NONE)
            /* There is no "NONE" level; a zero budget switches thinking
             * off (providers.md 4.2). */
            tc = llm__jwrap("thinkingBudget", json_integer(0));
        else if (effort > 0 && (size_t)effort < LLM__ARRAY_LEN(levels) && levels[effort])
            tc = llm__jwrap("thinkingLevel", json_string(levels[effort]));
        else
            tc = json_object();
        if (llm__jset(gc, "thinkingConfig", tc))
            goto oom;
    }
    if (json_object_size(gc)) {
        rc = llm__jset(body, "generationConfig", gc) ? llm__resp_nomem(r) : LLM_OK;
        gc = NULL;
    }
    goto out;
oom:
    rc = llm__resp_nomem(r);
out:
    json_decref(gc);
    return rc;
}

static int merge_extras(struct llm__call *call, json_t *body)
{
    const llm_request *req = call->req;
    for (size_t i = 0; i < req->nextras; i++) {
        const struct llm__extra *e = &req->extras[i];
        if (e->provider && strcmp(e->provider, llm__gemini_ops.name) != 0)
            continue;
        json_t *j = NULL;
        int rc = llm__json_load(e->json ? e->json : "", e->json ? strlen(e->json) : 0, &j, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(call->resp);
        if (rc || !json_is_object(j)) {
            json_decref(j);
            return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG,
                                  "the extra JSON is not a JSON object");
        }
        rc = json_object_update(body, j);
        json_decref(j);
        if (rc)
            return llm__resp_nomem(call->resp);
    }
    return LLM_OK;
}

static int build_url(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    const char *model = call->model;
    if (!model || !*model)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                              "no model: set one with llm_client_set_model or "
                              "llm_request_set_model");
    /* "models/gemini-2.5-flash" is the resource name the API itself
     * reports; tuned models live under their own collection. */
    const char *collection = "models/";
    if (strncmp(model, "models/", 7) == 0) {
        model += 7;
    } else if (strncmp(model, "tunedModels/", 12) == 0) {
        model += 12;
        collection = "tunedModels/";
    }
    if (!*model)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the model name is empty");
    llm__buf path = {0};
    int rc = llm__buf_puts(&path, collection);
    if (!rc)
        rc = llm__url_escape(&path, model, strlen(model));
    if (!rc)
        rc = llm__buf_puts(&path, call->streaming ? ":streamGenerateContent?alt=sse"
                                                  : ":generateContent");
    /* A base URL with a path is used as given ("http://proxy/v1beta").
     * One without (the default, or "http://127.0.0.1:8080") is a host
     * root, as GOOGLE_GEMINI_BASE_URL is for Google's SDK, which then adds
     * the API version: v1beta, or the client's api_version. */
    const char *base = call->base_url && *call->base_url ? call->base_url : GEMINI_DEFAULT_HOST;
    const char *host = strstr(base, "://");
    host = host ? host + 3 : base;
    const char *slash = strchr(host, '/');
    llm__buf root = {0};
    if (!rc && (!slash || slash[1] == '\0')) {
        const char *v = call->api_version && *call->api_version ? call->api_version
                                                                : GEMINI_DEFAULT_VERSION;
        rc = llm__url_join(&root, base, v);
        base = root.data;
    }
    if (!rc)
        rc = llm__url_join(&out->url, base, path.data);
    llm__buf_free(&root);
    llm__buf_free(&path);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

static int build_auth(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    int rc = LLM_OK;
    if (call->bearer_token && *call->bearer_token) {
        llm__buf v = {0};
        rc = llm__buf_printf(&v, "Bearer %s", call->bearer_token);
        if (!rc)
            rc = llm__http_req_header(out, "Authorization", v.data);
        if (v.data)
            memset(v.data, 0, v.cap);
        llm__buf_free(&v);
    } else if (call->api_key && *call->api_key) {
        /* The key goes in a header, never the URL, where it would end up in
         * proxy and server logs.  Surrounding blanks are trimmed as the SDK
         * does. */
        const char *k = call->api_key;
        size_t n = strlen(k);
        while (n && (*k == ' ' || *k == '\t')) {
            k++;
            n--;
        }
        while (n && (k[n - 1] == ' ' || k[n - 1] == '\t'))
            n--;
        char *key = llm__strndup(k, n);
        if (!key)
            return llm__resp_nomem(r);
        rc = llm__http_req_header(out, "x-goog-api-key", key);
        llm__free_secret(key);
    }
    if (rc == LLM_ERR_INVALID_ARG)
        return llm__resp_fail(r, rc, "the credential holds CR, LF or NUL");
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

static int gemini_build(struct llm__call *call, struct llm__http_req *out)
{
    if (!call || !call->resp)
        return LLM_ERR_MISUSE;
    if (!call->req || !out)
        return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG, "no request to send");
    json_t *body = json_object();
    if (!body)
        return llm__resp_nomem(call->resp);
    int rc = build_contents(call, body);
    if (!rc)
        rc = build_tools(call, body);
    if (!rc)
        rc = build_generation(call, body);
    if (!rc)
        rc = merge_extras(call, body);
    if (!rc)
        rc = build_url(call, out);
    if (!rc)
        rc = build_auth(call, out);
    if (!rc && llm__json_dump(&out->body, body) != LLM_OK)
        rc = llm__resp_nomem(call->resp);
    json_decref(body);
    if (!rc)
        out->method = "POST";
    return rc;
}

/* ========================================================================
 * Errors
 */

/* "12s", "1.5s" (protobuf Duration) to milliseconds, rounded up; -1 if
 * it is not one. */
static int64_t parse_duration(const char *s)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return -1;
    int64_t sec = 0, ms = 0;
    while (*s >= '0' && *s <= '9') {
        if (sec > 1000000000)
            return -1;
        sec = sec * 10 + (*s++ - '0');
    }
    if (*s == '.') {
        s++;
        int digits = 0, rest = 0;
        while (*s >= '0' && *s <= '9') {
            if (digits < 3)
                ms = ms * 10 + (*s - '0');
            else if (*s != '0')
                rest = 1;
            digits++;
            s++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
        ms += rest;
    }
    if (strcmp(s, "s") != 0)
        return -1;
    return sec * 1000 + ms;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = s ? strlen(s) : 0, b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Apply a Google RPC error object ({"code","message","status","details"}).
 * http is the HTTP status (or, mid-stream, the error's own code). */
static int apply_error(llm_response *r, const json_t *e, int http)
{
    const char *status = llm__json_str(e, "status");
    const char *message = llm__json_str(e, "message");
    int64_t code = llm__json_int(e, "code", 0);
    if (code > 0 && code < 1000 && (http < 100 || http == 200))
        http = (int)code;
    const char *reason = NULL;
    int64_t delay = -1;
    int daily = 0;
    const json_t *details = json_object_get(e, "details");
    size_t i;
    const json_t *d;
    json_array_foreach(details, i, d) {
        const char *type = llm__json_str(d, "@type");
        if (ends_with(type, "google.rpc.ErrorInfo") && !reason) {
            reason = llm__json_str(d, "reason");
        } else if (ends_with(type, "google.rpc.RetryInfo")) {
            delay = parse_duration(llm__json_str(d, "retryDelay"));
        } else if (ends_with(type, "google.rpc.QuotaFailure")) {
            size_t k;
            const json_t *v;
            json_array_foreach(json_object_get(d, "violations"), k, v)
                if (contains_ci(llm__json_str(v, "quotaId"), "PerDay"))
                    daily = 1;
        }
    }
    if (llm__resp_set_str(&r->error_type, status) || llm__resp_set_str(&r->error_code, reason) ||
        llm__resp_set_str(&r->error_message, message))
        return llm__resp_nomem(r);

    int st, retry;
    if (!status)
        status = "";
    if (strcmp(status, "INVALID_ARGUMENT") == 0) {
        if (reason && strcmp(reason, "API_KEY_INVALID") == 0)
            st = LLM_ERR_AUTH;
        else if (contains_ci(message, "token count") && contains_ci(message, "exceed"))
            st = LLM_ERR_CONTEXT_LENGTH;
        else
            st = LLM_ERR_INVALID_REQUEST;
        retry = 0;
    } else if (strcmp(status, "FAILED_PRECONDITION") == 0) {
        /* Billing not enabled or the free tier unavailable in the region:
         * the caller's account, not the request (providers.md 9.7). */
        st = LLM_ERR_PERMISSION;
        retry = 0;
    } else if (strcmp(status, "UNAUTHENTICATED") == 0) {
        st = LLM_ERR_AUTH;
        retry = 0;
    } else if (strcmp(status, "PERMISSION_DENIED") == 0) {
        st = LLM_ERR_PERMISSION;
        retry = 0;
    } else if (strcmp(status, "NOT_FOUND") == 0) {
        st = LLM_ERR_NOT_FOUND;
        retry = 0;
    } else if (strcmp(status, "RESOURCE_EXHAUSTED") == 0) {
        /* A daily quota does not clear within any sensible retry wait. */
        daily = daily || contains_ci(message, "per day") || contains_ci(message, "daily");
        st = daily ? LLM_ERR_QUOTA : LLM_ERR_RATE_LIMITED;
        retry = !daily;
    } else if (strcmp(status, "INTERNAL") == 0) {
        st = LLM_ERR_SERVER;
        retry = 1;
    } else if (strcmp(status, "UNAVAILABLE") == 0) {
        st = LLM_ERR_OVERLOADED;
        retry = 1;
    } else if (strcmp(status, "DEADLINE_EXCEEDED") == 0) {
        st = LLM_ERR_TIMEOUT;
        retry = 1;
    } else {
        st = llm__status_from_http(http);
        retry = llm__http_retryable(http);
        if (st == LLM_ERR_PROTOCOL) {
            st = LLM_ERR_SERVER;
            retry = 0;
        }
    }
    r->retryable = retry;
    if (retry && delay >= 0 && r->retry_after_ms < 0)
        r->retry_after_ms = delay;
    return llm__resp_fail(r, st, "Gemini %s%s%s", *status ? status : "error",
                          message ? ": " : "", message ? message : "");
}

/* The error object of a body: {"error":{...}} or, as streaming requests
 * have been seen to answer, [{"error":{...}}] (providers.md 4.7). */
static const json_t *error_object(const json_t *root)
{
    if (json_is_array(root))
        root = json_array_get(root, 0);
    const json_t *e = json_object_get(root, "error");
    return json_is_object(e) ? e : NULL;
}

static int gemini_map_error(struct llm__call *call, const struct llm__http_res *res,
                            llm_response *out)
{
    (void)call;
    if (!out)
        return LLM_ERR_MISUSE;
    if (!res)
        return llm__resp_fail(out, LLM_ERR_PROTOCOL, "no reply");
    json_t *root = NULL;
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, NULL);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(out);
    const json_t *e = rc == LLM_OK ? error_object(root) : NULL;
    if (!e) {
        json_decref(root);
        int st = llm__status_from_http(res->status);
        if (st == LLM_ERR_PROTOCOL)
            st = LLM_ERR_SERVER;
        return llm__resp_fail(out, st, "HTTP %d from Gemini, without Gemini's error object",
                              res->status);
    }
    rc = apply_error(out, e, res->status);
    json_decref(root);
    return rc;
}

/* ========================================================================
 * Responses: one GenerateContentResponse, whole or a stream chunk.
 */

static int map_finish(const char *f)
{
    static const char *const filter[] = {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
        "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
    };
    static const char *const error[] = {
        "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS",
    };
    if (strcmp(f, "STOP") == 0)
        return LLM_FINISH_STOP;
    if (strcmp(f, "MAX_TOKENS") == 0)
        return LLM_FINISH_LENGTH;
    for (size_t i = 0; i < LLM__ARRAY_LEN(filter); i++)
        if (strcmp(f, filter[i]) == 0)
            return LLM_FINISH_CONTENT_FILTER;
    for (size_t i = 0; i < LLM__ARRAY_LEN(error); i++)
        if (strcmp(f, error[i]) == 0)
            return LLM_FINISH_ERROR;
    return LLM_FINISH_OTHER;
}

static int part_signed(const struct llm__part *p)
{
    if (!p->meta.json)
        return 0;
    json_t *m = NULL;
    if (llm__json_load(p->meta.json, p->meta.json_len, &m, NULL) != LLM_OK)
        return 0;
    int s = json_object_get(m, "thoughtSignature") != NULL;
    json_decref(m);
    return s;
}

/* A new, empty part of type at the end of the response. */
static int open_part(llm_response *r, int type)
{
    struct llm__part *p;
    if (llm__message_add_part(&r->msg, &p) != LLM_OK)
        return LLM_ERR_NOMEM;
    p->type = type;
    if (!(p->text = llm__strdup(""))) {
        r->msg.nparts--;
        return LLM_ERR_NOMEM;
    }
    if (type == LLM__PART_TEXT)
        r->text_stale = 1;
    return LLM_OK;
}

static int set_meta(llm_response *r, struct llm__part *p, json_t *meta)
{
    llm__buf b = {0};
    int rc = llm__json_dump(&b, meta);
    if (!rc)
        rc = llm__resp_set_meta(r, p, b.data, b.len);
    llm__buf_free(&b);
    return rc;
}

static int take_text(llm_response *r, struct llm__sstate *st, const json_t *part, int thought,
                     const json_t *sig)
{
    int type = thought ? LLM__PART_REASONING : LLM__PART_TEXT;
    const json_t *t = json_object_get(part, "text");
    const char *s = json_string_value(t);
    size_t n = json_string_length(t);
    if (n == 0 && !sig)
        return LLM_OK;
    struct llm__part *last = llm__resp_last_part(r);
    /* Text of one kind joins the part before it, as stream deltas must;
     * but a signature closes its part, so what follows starts anew. */
    if (!last || last->type != type || part_signed(last)) {
        if (open_part(r, type))
            return llm__resp_nomem(r);
    }
    int rc;
    if (st)
        rc = thought ? llm__emit_reasoning(st, s, n) : llm__emit_text(st, s, n);
    else if ((thought ? llm__resp_append_reasoning(r, s, n) : llm__resp_append_text(r, s, n)))
        rc = llm__resp_nomem(r);
    else
        rc = LLM_OK;
    if (rc)
        return rc;
    last = llm__resp_last_part(r);
    if (!sig && (!thought || last->meta.json))
        return LLM_OK;
    json_t *meta = json_object();
    if (!meta || (thought && llm__jset(meta, "thought", json_true())) ||
        (sig && llm__jset(meta, "thoughtSignature", json_deep_copy(sig))) || set_meta(r, last, meta)) {
        json_decref(meta);
        return llm__resp_nomem(r);
    }
    json_decref(meta);
    return LLM_OK;
}

static int take_call(llm_response *r, struct llm__sstate *st, const json_t *fc, const json_t *sig)
{
    const char *name = llm__json_str(fc, "name");
    const json_t *args = json_object_get(fc, "args");
    if (!json_is_object(fc) || !name)
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "Gemini sent a functionCall without a name");
    if (args && !json_is_object(args) && !json_is_null(args))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL,
                              "Gemini sent functionCall args that are not an object");
    const char *id = llm__json_str(fc, "id");
    int synthetic = !id || !*id;
    char made[32];
    if (synthetic) {
        /* Unique within this response, also against ids Gemini sent. */
        for (size_t k = r->ntools;; k++) {
            snprintf(made, sizeof made, "call_%zu", k);
            size_t j = 0;
            while (j < r->ntools && strcmp(llm__resp_tool_part(r, j)->id, made) != 0)
                j++;
            if (j == r->ntools)
                break;
        }
        id = made;
    }
    llm__buf text = {0};
    if (json_is_object(args) ? llm__json_dump(&text, args) : llm__buf_puts(&text, "{}"))
        goto oom;
    size_t idx;
    int rc;
    if (st) {
        if ((rc = llm__emit_tool_start(st, id, name, &idx)) ||
            (rc = llm__emit_tool_delta(st, idx, text.data, text.len)) ||
            (rc = llm__emit_tool_end(st, idx))) {
            llm__buf_free(&text);
            return rc;
        }
    } else if (llm__resp_add_tool_call(r, id, name, text.data, text.len, &idx)) {
        goto oom;
    }
    llm__buf_free(&text);
    json_t *meta = json_object();
    if (!meta || llm__jset(meta, "idSynthetic", json_boolean(synthetic)) ||
        (sig && llm__jset(meta, "thoughtSignature", json_deep_copy(sig))) ||
        set_meta(r, llm__resp_tool_part(r, idx), meta)) {
        json_decref(meta);
        return llm__resp_nomem(r);
    }
    json_decref(meta);
    return LLM_OK;
oom:
    llm__buf_free(&text);
    return llm__resp_nomem(r);
}

static int take_opaque(llm_response *r, const json_t *part)
{
    json_t *meta = json_object();
    llm__buf b = {0};
    int rc = LLM_ERR_NOMEM;
    if (meta && !llm__jset(meta, "part", json_deep_copy(part)) && !llm__json_dump(&b, meta))
        rc = llm__resp_add_opaque(r, b.data, b.len);
    llm__buf_free(&b);
    json_decref(meta);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

static int take_parts(llm_response *r, struct llm__sstate *st, const json_t *parts)
{
    if (!parts || json_is_null(parts))
        return LLM_OK;
    if (!json_is_array(parts))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "Gemini's content.parts is not an array");
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p) {
        if (!json_is_object(p))
            return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a Gemini part is not an object");
        const json_t *sig = json_object_get(p, "thoughtSignature");
        if (sig && !json_is_string(sig))
            return llm__resp_fail(r, LLM_ERR_PROTOCOL,
                                  "a Gemini thoughtSignature is not a string");
        const json_t *text = json_object_get(p, "text");
        const json_t *fc = json_object_get(p, "functionCall");
        int rc;
        if (text) {
            if (!json_is_string(text))
                return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a Gemini part's text is not a string");
            rc = take_text(r, st, p, json_is_true(json_object_get(p, "thought")), sig);
        } else if (fc) {
            rc = take_call(r, st, fc, sig);
        } else {
            rc = take_opaque(r, p);
        }
        if (rc)
            return rc;
    }
    return LLM_OK;
}

/* A count of usageMetadata.  proto3 JSON leaves zero counts out, so an
 * absent member of a present object is 0. */
static int64_t count(const json_t *u, const char *key)
{
    const json_t *v = json_object_get(u, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (int64_t)json_integer_value(v);
    return 0;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int take_usage(llm_response *r, const json_t *u, int *changed)
{
    struct llm__usage nu = r->usage;
    int64_t thoughts = count(u, "thoughtsTokenCount");
    nu.v[LLM_USAGE_INPUT] = add_sat(count(u, "promptTokenCount"), count(u, "toolUsePromptTokenCount"));
    nu.v[LLM_USAGE_OUTPUT] = add_sat(count(u, "candidatesTokenCount"), thoughts);
    nu.v[LLM_USAGE_CACHE_READ] = count(u, "cachedContentTokenCount");
    /* Explicit caches are created through another API; a generate call
     * never writes one (providers.md 9.6). */
    nu.v[LLM_USAGE_CACHE_WRITE] = 0;
    nu.v[LLM_USAGE_REASONING] = thoughts;
    if (memcmp(&nu, &r->usage, sizeof nu) != 0) {
        r->usage = nu;
        *changed = 1;
    }
    return llm__resp_set_usage_raw(r, u) ? llm__resp_nomem(r) : LLM_OK;
}

/* Keep what the filters said: the prompt's feedback and the candidate's
 * safety ratings, verbatim, in one object. */
static int take_filter(llm_response *r, const json_t *feedback, const json_t *ratings)
{
    if (!feedback && !ratings)
        return LLM_OK;
    json_t *f = NULL;
    if (r->filter_json && llm__json_load(r->filter_json, strlen(r->filter_json), &f, NULL) == LLM_OK &&
        !json_is_object(f)) {
        json_decref(f);
        f = NULL;
    }
    if (!f && !(f = json_object()))
        return llm__resp_nomem(r);
    llm__buf b = {0};
    int rc = (feedback && llm__jset(f, "promptFeedback", json_deep_copy(feedback))) ||
             (ratings && llm__jset(f, "safetyRatings", json_deep_copy(ratings))) ||
             llm__json_dump(&b, f);
    if (!rc)
        rc = llm__resp_set_strn(&r->filter_json, b.data, b.len);
    llm__buf_free(&b);
    json_decref(f);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

/* The candidate to report: index 0 (Gemini numbers them; libllm never
 * asks for more than one). */
static const json_t *first_candidate(const json_t *cands)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cands, i, c)
        if (llm__json_int(c, "index", 0) == 0)
            return c;
    return json_array_get(cands, 0);
}

/* One GenerateContentResponse.  *finished: a finishReason or a blocked
 * prompt was seen; *had_candidate: the chunk held a candidate. */
static int take_chunk(llm_response *r, struct llm__sstate *st, const json_t *root,
                      int *finished, int *had_candidate, int *usage_changed)
{
    if (!json_is_object(root))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "Gemini's reply is not a JSON object");
    const char *id = llm__json_str(root, "responseId");
    const char *model = llm__json_str(root, "modelVersion");
    if ((id && llm__resp_set_str(&r->id, id)) || (model && llm__resp_set_str(&r->model, model)))
        return llm__resp_nomem(r);

    const json_t *cands = json_object_get(root, "candidates");
    if (cands && !json_is_array(cands) && !json_is_null(cands))
        return llm__resp_fail(r, LLM_ERR_PROTOCOL, "Gemini's candidates is not an array");
    const json_t *c = first_candidate(cands);
    int rc;
    if (c) {
        if (!json_is_object(c))
            return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a Gemini candidate is not an object");
        *had_candidate = 1;
        const json_t *content = json_object_get(c, "content");
        if (content && !json_is_object(content) && !json_is_null(content))
            return llm__resp_fail(r, LLM_ERR_PROTOCOL, "a Gemini candidate's content is not an object");
        if ((rc = take_parts(r, st, json_object_get(content, "parts"))))
            return rc;
        const json_t *ratings = json_object_get(c, "safetyRatings");
        if ((rc = take_filter(r, NULL, json_is_array(ratings) ? ratings : NULL)))
            return rc;
        const char *fin = llm__json_str(c, "finishReason");
        if (fin && *fin) {
            if (llm__resp_set_finish(r, map_finish(fin), fin))
                return llm__resp_nomem(r);
            *finished = 1;
        }
    }

    const json_t *fb = json_object_get(root, "promptFeedback");
    if (json_is_object(fb)) {
        const char *block = llm__json_str(fb, "blockReason");
        if ((rc = take_filter(r, fb, NULL)))
            return rc;
        if (block && *block) {
            /* A blocked prompt is a 200 with no candidates: the content
             * filter's verdict, not an HTTP error (providers.md 9.7). */
            if (llm__resp_set_finish(r, LLM_FINISH_CONTENT_FILTER, block))
                return llm__resp_nomem(r);
            *finished = 1;
        }
    }

    const json_t *u = json_object_get(root, "usageMetadata");
    if (json_is_object(u) && (rc = take_usage(r, u, usage_changed)))
        return rc;
    llm__resp_fix_finish(r);
    return LLM_OK;
}

static int gemini_parse(struct llm__call *call, const struct llm__http_res *res, llm_response *out)
{
    if (!out)
        return LLM_ERR_MISUSE;
    if (!res)
        return llm__resp_fail(out, LLM_ERR_PROTOCOL, "no reply");
    json_t *root = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(out);
    }
    if (rc != LLM_OK) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "Gemini's reply is not JSON (%s)",
                            why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    const json_t *e = error_object(root);
    if (e) {
        rc = apply_error(out, e, res->status);
    } else {
        int finished = 0, had = 0, changed = 0;
        rc = take_chunk(out, NULL, root, &finished, &had, &changed);
        if (!rc && !finished) {
            if (!had)
                rc = llm__resp_fail(out, LLM_ERR_PROTOCOL,
                                    "Gemini's reply has neither candidates nor promptFeedback");
            else if (llm__resp_set_finish(out, LLM_FINISH_OTHER, NULL))
                rc = llm__resp_nomem(out);
        }
    }
    (void)call;
    json_decref(root);
    return rc;
}

/* ========================================================================
 * Streams: every SSE event is a whole GenerateContentResponse; the stream
 * ends at the connection's close, after a chunk with a finishReason.
 */

static int gemini_stream_begin(struct llm__sstate *st)
{
    /* No state of its own: every chunk is complete, the counters live on
     * the response. */
    st->adapter = NULL;
    return LLM_OK;
}

static int gemini_stream_event(struct llm__sstate *st, const struct llm__frame *f)
{
    llm_response *r = st->resp;
    size_t n = f->data_len;
    const char *d = f->data;
    while (n && (*d == ' ' || *d == '\t' || *d == '\r' || *d == '\n')) {
        d++;
        n--;
    }
    if (n == 0)
        return LLM_OK;
    json_t *root = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(d, n, &root, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(r);
    }
    if (rc != LLM_OK) {
        rc = llm__resp_fail(r, LLM_ERR_PROTOCOL, "a Gemini stream chunk is not JSON (%s)",
                            why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    const json_t *e = error_object(root);
    if (e) {
        r->mid_stream = 1;
        rc = apply_error(r, e, 0);
        json_decref(root);
        return rc;
    }
    int finished = 0, had = 0, changed = 0;
    rc = take_chunk(r, st, root, &finished, &had, &changed);
    json_decref(root);
    if (rc)
        return rc;
    if (changed && (rc = llm__emit_usage(st)))
        return rc;
    if (finished)
        st->done = 1;
    return LLM_OK;
}

static int gemini_stream_end(struct llm__sstate *st)
{
    if (st->done) {
        llm__resp_fix_finish(st->resp);
        return LLM_OK;
    }
    return llm__resp_fail(st->resp, LLM_ERR_NETWORK,
                          "stream truncated: the Gemini stream ended before a chunk with a "
                          "finishReason");
}

static void gemini_stream_free(struct llm__sstate *st)
{
    st->adapter = NULL;
}

const struct llm__provider_ops llm__gemini_ops = {
    .name = "gemini",
    .framing = LLM__FRAMING_SSE,
    .build = gemini_build,
    .parse = gemini_parse,
    .stream_begin = gemini_stream_begin,
    .stream_event = gemini_stream_event,
    .stream_end = gemini_stream_end,
    .stream_free = gemini_stream_free,
    .map_error = gemini_map_error,
};
