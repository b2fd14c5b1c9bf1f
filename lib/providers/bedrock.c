/*
 * bedrock.c - AWS Bedrock Runtime Converse / ConverseStream (providers.md
 * 5): POST {base}/model/{modelId}/converse or /converse-stream, signed
 * with SigV4 (signing name "bedrock", providers.md 6) or sent with a
 * Bedrock API key as a bearer token; streams arrive in the AWS
 * event-stream framing (providers.md 7), one JSON event per message.
 *
 * Credentials, in order: a bearer token (llm_client_set_bearer_token or
 * AWS_BEARER_TOKEN_BEDROCK), else an API key set with llm_client_set_api_key
 * (Bedrock API keys are bearer tokens too), else SigV4 with the access key
 * pair and optional session token.  botocore prefers bearer auth whenever
 * AWS_BEARER_TOKEN_BEDROCK is set (providers.md 5.2); so does libllm.
 *
 * Opaque data kept on response parts for replay (llm__resp_set_meta):
 *   reasoning  {"reasoningText": {...}}: the reasoningText member minus its
 *              text (the signature, and whatever a later model adds);
 *              replayed as reasoningContent.reasoningText with the part's
 *              text put back.
 *   opaque     a whole content block: redactedContent reasoning, and every
 *              block type libllm does not model (citationsContent, ...).
 * Only to the same provider and model (llm__meta_usable).
 *
 * Parameters with no Converse field of their own go where the model
 * providers read them, additionalModelRequestFields: top_k as "top_k"
 * (the Anthropic, Mistral and Meta name) and a reasoning budget as
 * Anthropic's {"thinking": {"type": "enabled", "budget_tokens": N}}.
 * Extra JSON is merged into the top level of the body, except that an
 * additionalModelRequestFields object is merged member by member into the
 * one built here, so extras and top_k / thinking can coexist.
 */
#include "internal.h"
#include "providers/adapter.h"
#include "providers/provider.h"
#include "providers/sigv4.h"

#include <stdio.h>

#define BEDROCK_SERVICE "bedrock"
#define BEDROCK_MAX_MODEL_ID 2048

/* A stream keeps at most this many content blocks open at once.  Converse
 * streams one block at a time; the bound only stops a hostile stream from
 * growing the table without end. */
#define MAX_OPEN_BLOCKS 256

static json_t *jstr(const char *s, size_t n)
{
    return json_stringn(s ? s : "", s ? n : 0);
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* ========================================================================
 * Request
 */

static const char *image_format(const char *mime, size_t n)
{
    static const struct {
        const char *mime, *format;
    } map[] = {
        {"image/png", "png"}, {"image/jpeg", "jpeg"}, {"image/jpg", "jpeg"},
        {"image/gif", "gif"}, {"image/webp", "webp"},
    };
    for (size_t i = 0; mime && i < LLM__ARRAY_LEN(map); i++)
        if (strlen(map[i].mime) == n && llm__strncasecmp(mime, map[i].mime, n) == 0)
            return map[i].format;
    return NULL;
}

/* {"image": {"format": f, "source": {"bytes": base64}}} */
static json_t *image_block(const char *format, const char *b64, size_t n)
{
    json_t *img = json_object();
    if (!img || llm__jset(img, "format", json_string(format)) ||
        llm__jset(img, "source", llm__jwrap("bytes", json_stringn(b64, n)))) {
        json_decref(img);
        return NULL;
    }
    return llm__jwrap("image", img);
}

static int unsupported_image(llm_response *r, const char *what, size_t n)
{
    return llm__resp_fail(r, LLM_ERR_UNSUPPORTED,
                          "Bedrock Converse takes png, jpeg, gif and webp images, not \"%.*s\"",
                          (int)(n > 64 ? 64 : n), what ? what : "");
}

static int image_data(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    llm_response *r = call->resp;
    size_t mlen = p->mime ? strlen(p->mime) : 0;
    const char *format = image_format(p->mime, mlen);
    if (!format)
        return unsupported_image(r, p->mime, mlen);
    llm__buf b64 = {0};
    if (llm__base64_encode(&b64, p->data, p->data_len)) {
        llm__buf_free(&b64);
        return llm__resp_nomem(r);
    }
    *out = image_block(format, b64.data ? b64.data : "", b64.len);
    llm__buf_free(&b64);
    return *out ? LLM_OK : llm__resp_nomem(r);
}

/* Converse takes image bytes only (or an S3 location): a base64 data: URL
 * carries the bytes, any other URL would have to be fetched, which a
 * provider adapter does not do. */
static int image_url(struct llm__call *call, const char *url, json_t **out)
{
    llm_response *r = call->resp;
    if (!url || strncmp(url, "data:", 5) != 0)
        return llm__resp_fail(r, LLM_ERR_UNSUPPORTED,
                              "Bedrock Converse cannot fetch image URLs: send the image bytes "
                              "(llm_request_append_image) instead");
    const char *hdr = url + 5, *comma = strchr(hdr, ',');
    if (!comma)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the image data: URL has no ','");
    size_t hlen = (size_t)(comma - hdr), mlen = 0;
    while (mlen < hlen && hdr[mlen] != ';')
        mlen++;
    if (!(hlen >= 7 && memcmp(comma - 7, ";base64", 7) == 0))
        return llm__resp_fail(r, LLM_ERR_UNSUPPORTED,
                              "Bedrock Converse takes a data: URL image only in base64");
    const char *format = image_format(hdr, mlen);
    if (!format)
        return unsupported_image(r, hdr, mlen);
    *out = image_block(format, comma + 1, strlen(comma + 1));
    return *out ? LLM_OK : llm__resp_nomem(r);
}

/* toolUse.input is a JSON value (an object), unlike OpenAI's string. */
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
                                  "which Bedrock's toolUse.input must be", id);
        }
    }
    json_t *b = json_object();
    if (!b || llm__jset(b, "toolUseId", json_string(id)) ||
        llm__jset(b, "name", json_string(p->name ? p->name : ""))) {
        json_decref(input);
        json_decref(b);
        return llm__resp_nomem(r);
    }
    if (llm__jset(b, "input", input)) {
        json_decref(b);
        return llm__resp_nomem(r);
    }
    return (*out = llm__jwrap("toolUse", b)) ? LLM_OK : llm__resp_nomem(r);
}

/* {"toolResult": {"toolUseId", "content": [{"text"} | {"json"}], "status"?}}
 * status is sent only for failures: "success" is the default and only
 * some model families read the member at all (providers.md 5.3). */
static int tool_result_block(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    llm_response *r = call->resp;
    json_t *item = NULL;
    if (p->flags & LLM_TOOL_RESULT_JSON) {
        json_t *v = NULL;
        int rc = llm__json_load(p->text ? p->text : "", p->text ? p->text_len : 0, &v, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        /* Text that is not JSON after all still reaches the model. */
        if (rc == LLM_OK && !(item = llm__jwrap("json", v)))
            return llm__resp_nomem(r);
    }
    if (!item && !(item = llm__jwrap("text", jstr(p->text, p->text_len))))
        return llm__resp_nomem(r);
    json_t *content = json_array();
    json_t *b = json_object();
    if (!content || !b || llm__jpush(content, item)) {
        if (!content || !b)
            json_decref(item);
        json_decref(content);
        json_decref(b);
        return llm__resp_nomem(r);
    }
    if (llm__jset(b, "toolUseId", json_string(p->id ? p->id : ""))) {
        json_decref(content);
        json_decref(b);
        return llm__resp_nomem(r);
    }
    /* jset consumes content, also when it fails. */
    if (llm__jset(b, "content", content) ||
        ((p->flags & LLM_TOOL_RESULT_ERROR) && llm__jset(b, "status", json_string("error")))) {
        json_decref(b);
        return llm__resp_nomem(r);
    }
    return (*out = llm__jwrap("toolResult", b)) ? LLM_OK : llm__resp_nomem(r);
}

/* Our meta, parsed, when it may be replayed here; NULL otherwise
 * (llm__meta_usable has then noted the drop where it applies). */
static json_t *usable_meta(struct llm__call *call, const struct llm__part *p, int *oom)
{
    *oom = 0;
    if (!p->meta.json || !llm__meta_usable(call, &p->meta))
        return NULL;
    json_t *m = NULL;
    int rc = llm__json_load(p->meta.json, p->meta.json_len, &m, NULL);
    if (rc == LLM_ERR_NOMEM)
        *oom = 1;
    if (rc != LLM_OK || !json_is_object(m)) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* reasoningContent.reasoningText rebuilt from the part's text and the
 * members kept as meta.  Reasoning without usable meta (another provider's,
 * or none) is not sent: models reject unsigned or foreign reasoning. */
static int reasoning_block(struct llm__call *call, const struct llm__part *p, json_t **out)
{
    int oom;
    json_t *m = usable_meta(call, p, &oom);
    if (!m)
        return oom ? llm__resp_nomem(call->resp) : LLM_OK;
    json_t *kept = json_object_get(m, "reasoningText");
    json_t *rt = json_is_object(kept) ? json_copy(kept) : NULL;
    json_decref(m);
    if (!rt)
        return json_is_object(kept) ? llm__resp_nomem(call->resp) : LLM_OK;
    if (llm__jset(rt, "text", jstr(p->text, p->text_len))) {
        json_decref(rt);
        return llm__resp_nomem(call->resp);
    }
    /* text first, as the API sends it. */
    json_t *ordered = json_object();
    const char *k;
    json_t *v;
    int rc = ordered ? llm__jset(ordered, "text", json_incref(json_object_get(rt, "text"))) : LLM_ERR_NOMEM;
    json_object_foreach(rt, k, v) {
        if (rc == LLM_OK && strcmp(k, "text") != 0)
            rc = llm__jset(ordered, k, json_incref(v));
    }
    json_decref(rt);
    if (rc || !(*out = llm__jwrap("reasoningContent", llm__jwrap("reasoningText", ordered)))) {
        if (rc)
            json_decref(ordered);
        return llm__resp_nomem(call->resp);
    }
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
        return (*out = llm__jwrap("text", jstr(p->text, p->text_len))) ? LLM_OK : llm__resp_nomem(r);
    case LLM__PART_IMAGE_DATA:
        return image_data(call, p, out);
    case LLM__PART_IMAGE_URL:
        return image_url(call, p->text, out);
    case LLM__PART_TOOL_CALL:
        return tool_use_block(call, p, out);
    case LLM__PART_TOOL_RESULT:
        return tool_result_block(call, p, out);
    case LLM__PART_REASONING:
        return reasoning_block(call, p, out);
    case LLM__PART_OPAQUE:
        *out = usable_meta(call, p, &oom);
        return oom ? llm__resp_nomem(r) : LLM_OK;
    default:
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "a message part of unknown type %d", p->type);
    }
}

static int is_tool_result(const json_t *b)
{
    return json_object_get(b, "toolResult") != NULL;
}

struct build_state {
    int has_tool_blocks;       /* the history holds toolUse or toolResult */
};

static int build_messages(struct llm__call *call, json_t *body, struct build_state *bs)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    json_t *system = json_array();
    json_t *messages = json_array();
    int rc = LLM_OK;
    if (!system || !messages)
        goto oom;
    for (size_t i = 0; i < req->nmsgs; i++) {
        const struct llm__message *m = &req->msgs[i];
        if (m->role == LLM_ROLE_SYSTEM) {
            for (size_t k = 0; k < m->nparts; k++) {
                const struct llm__part *p = &m->parts[k];
                if (p->type != LLM__PART_TEXT) {
                    rc = llm__resp_fail(r, LLM_ERR_INVALID_ARG, "a system message may only hold text");
                    goto fail;
                }
                if (llm__jpush(system, llm__jwrap("text", jstr(p->text, p->text_len))))
                    goto oom;
            }
            continue;
        }
        const char *role;
        switch (m->role) {
        case LLM_ROLE_USER: case LLM_ROLE_TOOL: role = "user"; break;
        case LLM_ROLE_ASSISTANT: role = "assistant"; break;
        default:
            rc = llm__resp_fail(r, LLM_ERR_INVALID_ARG, "message %zu has unknown role %d", i, m->role);
            goto fail;
        }
        json_t *blocks = json_array();
        if (!blocks)
            goto oom;
        for (size_t k = 0; k < m->nparts; k++) {
            const struct llm__part *p = &m->parts[k];
            json_t *b = NULL;
            if ((rc = part_block(call, p, &b))) {
                json_decref(blocks);
                goto fail;
            }
            if (p->type == LLM__PART_TOOL_CALL || p->type == LLM__PART_TOOL_RESULT)
                bs->has_tool_blocks = 1;
            if (b && llm__jpush(blocks, b)) {
                json_decref(blocks);
                goto oom;
            }
        }
        /* A turn left empty (only dropped reasoning) is not sent: Converse
         * rejects empty content. */
        if (json_array_size(blocks) == 0) {
            json_decref(blocks);
            continue;
        }
        if (llm__add_turn(messages, role, blocks, is_tool_result))
            goto oom;
    }
    if (json_array_size(messages) == 0) {
        rc = llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                            "the conversation has no user or assistant content to send");
        goto fail;
    }
    if (json_array_size(system) == 0)
        json_decref(system);
    else if (llm__jset(body, "system", system)) {
        json_decref(messages);
        return llm__resp_nomem(r);
    }
    return llm__jset(body, "messages", messages) ? llm__resp_nomem(r) : LLM_OK;
oom:
    rc = llm__resp_nomem(r);
fail:
    json_decref(system);
    json_decref(messages);
    return rc;
}

static int load_object(struct llm__call *call, const char *text, const char *what, json_t **out)
{
    *out = NULL;
    int rc = llm__json_load(text, strlen(text), out, NULL);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(call->resp);
    if (rc != LLM_OK || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return llm__resp_fail(call->resp, LLM_ERR_INVALID_ARG, "%s is not a JSON object", what);
    }
    return LLM_OK;
}

static int build_tools(struct llm__call *call, json_t *body, const struct build_state *bs)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    int rc;
    if (req->ntools == 0)
        return LLM_OK;
    int choice_none = req->tool_choice == LLM_TOOL_CHOICE_NONE;
    if (choice_none) {
        /* Converse has no "none" (providers.md 5.3, 9.3).  Dropped, the
         * tools are left out, which forbids calls just as well - unless the
         * history holds tool blocks, which Bedrock accepts only next to a
         * toolConfig; then the tools stay and the model may call one. */
        if ((rc = llm__call_unsupported(call, "tool_choice",
                                        "Bedrock Converse has no tool choice \"none\"")))
            return rc;
        if (!bs->has_tool_blocks)
            return LLM_OK;
        if (llm__resp_warn(r, "the tools were still sent: the conversation holds tool calls, "
                              "which Bedrock accepts only with a toolConfig"))
            return llm__resp_nomem(r);
    }
    if (!req->parallel_tool_calls &&
        (rc = llm__call_unsupported(call, "parallel_tool_calls",
                                    "Bedrock Converse cannot forbid parallel tool calls")))
        return rc;
    json_t *config = json_object(), *tools = json_array();
    if (!config || !tools || llm__jset(body, "toolConfig", config)) {
        json_decref(tools);
        if (!tools)
            json_decref(config);
        return llm__resp_nomem(r);
    }
    if (llm__jset(config, "tools", tools))
        return llm__resp_nomem(r);
    for (size_t i = 0; i < req->ntools; i++) {
        const struct llm__tool *t = &req->tools[i];
        json_t *schema = NULL;
        if (t->schema) {
            char what[128];
            snprintf(what, sizeof what, "the schema of tool \"%.64s\"", t->name ? t->name : "");
            if ((rc = load_object(call, t->schema, what, &schema)))
                return rc;
        } else {
            /* inputSchema is required: a tool without parameters takes an
             * empty object. */
            schema = json_object();
            if (schema && (llm__jset(schema, "type", json_string("object")) ||
                           llm__jset(schema, "properties", json_object()))) {
                json_decref(schema);
                schema = NULL;
            }
            if (!schema)
                return llm__resp_nomem(r);
        }
        json_t *spec = json_object();
        if (!spec || llm__jset(spec, "name", json_string(t->name ? t->name : "")) ||
            (t->description && llm__jset(spec, "description", json_string(t->description)))) {
            json_decref(schema);
            json_decref(spec);
            return llm__resp_nomem(r);
        }
        if (llm__jset(spec, "inputSchema", llm__jwrap("json", schema))) {
            json_decref(spec);
            return llm__resp_nomem(r);
        }
        if (llm__jpush(tools, llm__jwrap("toolSpec", spec)))
            return llm__resp_nomem(r);
    }
    json_t *choice = NULL;
    switch (req->tool_choice) {
    case LLM_TOOL_CHOICE_NONE:
        return LLM_OK;
    case LLM_TOOL_CHOICE_REQUIRED:
        choice = llm__jwrap("any", json_object());
        break;
    case LLM_TOOL_CHOICE_NAMED:
        choice = llm__jwrap("tool", llm__jwrap("name", json_string(req->tool_choice_name ? req->tool_choice_name : "")));
        break;
    default:
        choice = llm__jwrap("auto", json_object());
        break;
    }
    return llm__jset(config, "toolChoice", choice) ? llm__resp_nomem(r) : LLM_OK;
}

/* An object member of body, created when absent. */
static json_t *member_object(json_t *body, const char *key)
{
    json_t *o = json_object_get(body, key);
    if (json_is_object(o))
        return o;
    o = json_object();
    if (!o || json_object_set_new(body, key, o))
        return NULL;
    return o;
}

static int build_params(struct llm__call *call, json_t *body)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    int rc;
    json_t *inf = json_object();
    if (!inf)
        return llm__resp_nomem(r);
    /* maxTokens is optional here (the model's maximum by default), so the
     * client's default_max_tokens, meant for APIs that require one, is not
     * sent. */
    if ((req->has_max_tokens && llm__jset(inf, "maxTokens", json_integer(req->max_tokens))) ||
        (req->has_temperature && llm__jset(inf, "temperature", json_real(req->temperature))) ||
        (req->has_top_p && llm__jset(inf, "topP", json_real(req->top_p)))) {
        json_decref(inf);
        return llm__resp_nomem(r);
    }
    if (req->nstops > 0) {
        json_t *stops = json_array();
        if (!stops || llm__jset(inf, "stopSequences", stops)) {
            json_decref(inf);
            return llm__resp_nomem(r);
        }
        for (size_t i = 0; i < req->nstops; i++)
            if (llm__jpush(stops, json_string(req->stops[i]))) {
                json_decref(inf);
                return llm__resp_nomem(r);
            }
    }
    if (json_object_size(inf) == 0)
        json_decref(inf);
    else if (llm__jset(body, "inferenceConfig", inf))
        return llm__resp_nomem(r);

    if (req->has_seed && (rc = llm__call_unsupported(call, "seed", "Bedrock Converse has no seed")))
        return rc;
    if (req->has_top_k) {
        json_t *amrf = member_object(body, "additionalModelRequestFields");
        if (!amrf || llm__jset(amrf, "top_k", json_integer(req->top_k)))
            return llm__resp_nomem(r);
    }

    const char *effort = NULL;
    switch (req->reasoning_effort) {
    case LLM_REASONING_DEFAULT:
        break;
    case LLM_REASONING_LOW: effort = "low"; break;
    case LLM_REASONING_MEDIUM: effort = "medium"; break;
    case LLM_REASONING_HIGH: effort = "high"; break;
    case LLM_REASONING_NONE:
        if (req->reasoning_budget > 0)
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                                  "reasoning effort \"none\" contradicts the reasoning budget of "
                                  "%ld tokens", (long)req->reasoning_budget);
        if ((rc = llm__call_unsupported(call, "reasoning_effort",
                                        "Bedrock Converse has no switch that turns reasoning off")))
            return rc;
        break;
    default:
        if ((rc = llm__call_unsupported(call, "reasoning_effort",
                                        "Bedrock's effort levels (outputConfig.effort) are low, "
                                        "medium, high and above; there is no \"minimal\"")))
            return rc;
    }
    if (req->reasoning_budget > 0) {
        json_t *amrf = member_object(body, "additionalModelRequestFields");
        json_t *thinking = json_object();
        if (!amrf || !thinking || llm__jset(amrf, "thinking", thinking) ||
            llm__jset(thinking, "type", json_string("enabled")) ||
            llm__jset(thinking, "budget_tokens", json_integer(req->reasoning_budget))) {
            if (!amrf)
                json_decref(thinking);
            return llm__resp_nomem(r);
        }
    }

    json_t *format = NULL;
    if (req->schema) {
        /* outputConfig.textFormat: the schema travels as a string. */
        json_t *schema = NULL;
        if ((rc = load_object(call, req->schema, "the response schema", &schema)))
            return rc;
        llm__buf text = {0};
        rc = llm__json_dump(&text, schema);
        json_decref(schema);
        json_t *def = rc ? NULL : json_object();
        if (!def || llm__jset(def, "schema", jstr(text.data, text.len)) ||
            (req->schema_name && llm__jset(def, "name", json_string(req->schema_name)))) {
            llm__buf_free(&text);
            json_decref(def);
            return llm__resp_nomem(r);
        }
        llm__buf_free(&text);
        /* def is ours until wrap takes it: a failure before that point
         * (no format, or no "type" in it) must release it too. */
        format = json_object();
        if (!format || llm__jset(format, "type", json_string("json_schema"))) {
            json_decref(def);
            json_decref(format);
            return llm__resp_nomem(r);
        }
        if (llm__jset(format, "structure", llm__jwrap("jsonSchema", def))) {
            json_decref(format);
            return llm__resp_nomem(r);
        }
    }
    if (effort || format) {
        json_t *oc = member_object(body, "outputConfig");
        if (!oc) {
            json_decref(format);
            return llm__resp_nomem(r);
        }
        if ((format && llm__jset(oc, "textFormat", format)) ||
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
        if (e->provider && strcmp(e->provider, llm__bedrock_ops.name) != 0)
            continue;
        json_t *o = NULL;
        int rc = load_object(call, e->json ? e->json : "", "the extra JSON", &o);
        if (rc)
            return rc;
        json_t *mine = json_object_get(body, "additionalModelRequestFields");
        json_t *theirs = json_object_get(o, "additionalModelRequestFields");
        if (json_is_object(mine) && json_is_object(theirs)) {
            rc = json_object_update(mine, theirs);
            if (!rc)
                rc = json_object_del(o, "additionalModelRequestFields");
        }
        if (!rc)
            rc = json_object_update(body, o);
        json_decref(o);
        if (rc)
            return llm__resp_nomem(call->resp);
    }
    return LLM_OK;
}

/* A region goes into a host name and the credential scope. */
static int region_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

static int need_region(llm_response *r, const char *why)
{
    return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                          "no valid AWS region for Bedrock (%s): set one with "
                          "llm_client_set_region or the AWS_REGION / AWS_DEFAULT_REGION "
                          "environment variable", why);
}

static int build_url(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    const char *model = call->model;
    size_t mlen = strlen(model);
    if (mlen > BEDROCK_MAX_MODEL_ID)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the model id is longer than %d bytes",
                              BEDROCK_MAX_MODEL_ID);
    /* Encoded, "." and ".." would still be dot segments that the HTTP
     * client resolves, sending the call to another route. */
    if (strcmp(model, ".") == 0 || strcmp(model, "..") == 0)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "\"%s\" is not a model id", model);
    llm__buf base = {0}, path = {0};
    int rc = LLM_OK;
    if (call->base_url && *call->base_url)
        rc = llm__buf_puts(&base, call->base_url);
    else if (!region_ok(call->region))
        rc = need_region(r, call->region && *call->region ? "not a region name" : "none set");
    else
        rc = llm__buf_printf(&base, "https://bedrock-runtime.%s.amazonaws.com", call->region);
    if (rc == LLM_ERR_INVALID_ARG) {
        llm__buf_free(&base);
        return rc;
    }
    /* The model id is one path label, percent-encoded once (':' -> %3A,
     * '/' -> %2F); the signer encodes this wire path again. */
    if (!rc && (rc = llm__buf_puts(&path, "model/")) == LLM_OK &&
        (rc = llm__url_escape(&path, model, mlen)) == LLM_OK)
        rc = llm__buf_puts(&path, call->streaming ? "/converse-stream" : "/converse");
    if (!rc)
        rc = llm__url_join(&out->url, base.data, path.data);
    llm__buf_free(&base);
    llm__buf_free(&path);
    return rc ? llm__resp_nomem(r) : LLM_OK;
}

static int build_auth(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    const char *bearer = call->bearer_token && *call->bearer_token ? call->bearer_token
                         : call->api_key && *call->api_key ? call->api_key
                         : NULL;
    if (bearer) {
        if (llm__has_ctl(bearer, strlen(bearer)))
            return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "the Bedrock API key holds CR, LF or NUL");
        llm__buf v = {0};
        int rc = llm__buf_printf(&v, "Bearer %s", bearer);
        if (!rc)
            rc = llm__http_req_header(out, "Authorization", v.data);
        llm__free_secret(v.data);
        return rc ? llm__resp_nomem(r) : LLM_OK;
    }
    const char *ak = call->aws_access_key_id, *sk = call->aws_secret_access_key;
    if (!ak || !*ak || !sk || !*sk)
        return llm__resp_fail(r, LLM_ERR_AUTH,
                              (ak && *ak) || (sk && *sk)
                                  ? "incomplete AWS credentials for Bedrock: both the access key "
                                    "id and the secret access key are needed"
                                  : "no credentials for Bedrock: set AWS credentials "
                                    "(llm_client_set_aws_credentials, or AWS_ACCESS_KEY_ID and "
                                    "AWS_SECRET_ACCESS_KEY) or a Bedrock API key "
                                    "(llm_client_set_bearer_token, or AWS_BEARER_TOKEN_BEDROCK)");
    if (!region_ok(call->region))
        return need_region(r, "SigV4 signs for one region");
    struct llm__sigv4 p = {
        .access_key_id = ak,
        .secret_access_key = sk,
        .session_token = call->aws_session_token,
        .region = call->region,
        .service = BEDROCK_SERVICE,
        .now_ms = call->now_ms,
    };
    const char *why = NULL;
    int rc = llm__sigv4_sign(out, &p, NULL, &why);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(r);
    if (rc)
        return llm__resp_fail(r, rc, "cannot sign the Bedrock request: %s",
                              why ? why : llm_status_str(rc));
    return LLM_OK;
}

static int bedrock_build(struct llm__call *call, struct llm__http_req *out)
{
    llm_response *r = call->resp;
    const llm_request *req = call->req;
    if (!req)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG, "no request");
    if (!call->model || !*call->model)
        return llm__resp_fail(r, LLM_ERR_INVALID_ARG,
                              "no model: set one with llm_client_set_model or llm_request_set_model");
    struct build_state bs = {0};
    json_t *body = json_object();
    if (!body)
        return llm__resp_nomem(r);
    int rc = build_messages(call, body, &bs);
    if (!rc)
        rc = build_tools(call, body, &bs);
    if (!rc)
        rc = build_params(call, body);
    if (!rc)
        rc = merge_extras(call, body);
    if (!rc && llm__json_dump(&out->body, body))
        rc = llm__resp_nomem(r);
    json_decref(body);
    if (rc)
        return rc;
    out->method = "POST";
    if ((rc = build_url(call, out)))
        return rc;
    /* Content-Type is added here so that it is signed; core adds Accept and
     * the client's extra headers afterwards, unsigned, which SigV4 allows. */
    if (llm__http_req_header(out, "Content-Type", "application/json"))
        return llm__resp_nomem(r);
    return build_auth(call, out);
}

/* ========================================================================
 * Errors
 */

static int contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; s && *s; s++)
        if (llm__strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
}

/* A ValidationException about the size of the input (providers.md 5.6;
 * the wording varies by model). */
static int too_long(const char *message)
{
    static const char *const says[] = {
        "input is too long", "prompt is too long", "too many input tokens", "too many tokens",
        "context window", "context length", "maximum context", "input length",
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(says); i++)
        if (contains_ci(message, says[i]))
            return 1;
    return 0;
}

/* An exception name (either capitalisation: the HTTP API says
 * "ThrottlingException", event streams "throttlingException") to a
 * status; 0 when unknown. */
static int status_of_exception(const char *name, size_t n, const char *message)
{
    static const struct {
        const char *name;
        int status;
    } map[] = {
        {"ValidationException", LLM_ERR_INVALID_REQUEST},
        {"ServiceQuotaExceededException", LLM_ERR_RATE_LIMITED},
        {"AccessDeniedException", LLM_ERR_PERMISSION},
        {"ResourceNotFoundException", LLM_ERR_NOT_FOUND},
        {"ModelTimeoutException", LLM_ERR_TIMEOUT},
        {"ThrottlingException", LLM_ERR_RATE_LIMITED},
        {"ModelNotReadyException", LLM_ERR_OVERLOADED},
        {"ModelErrorException", LLM_ERR_SERVER},
        {"ModelStreamErrorException", LLM_ERR_SERVER},
        {"InternalServerException", LLM_ERR_SERVER},
        {"ServiceUnavailableException", LLM_ERR_OVERLOADED},
        {"UnrecognizedClientException", LLM_ERR_AUTH},
        {"InvalidSignatureException", LLM_ERR_AUTH},
        {"ExpiredTokenException", LLM_ERR_AUTH},
        {"IncompleteSignatureException", LLM_ERR_AUTH},
        {"MissingAuthenticationTokenException", LLM_ERR_AUTH},
    };
    if (!name)
        return 0;
    for (size_t i = 0; i < LLM__ARRAY_LEN(map); i++) {
        if (strlen(map[i].name) != n || llm__strncasecmp(map[i].name, name, n) != 0)
            continue;
        if (map[i].status == LLM_ERR_INVALID_REQUEST && too_long(message))
            return LLM_ERR_CONTEXT_LENGTH;
        return map[i].status;
    }
    return 0;
}

/* The error code as botocore reads it: cut at the first ':', then keep
 * what follows the last '#'. */
static void error_code_span(const char *s, const char **start, size_t *len)
{
    size_t n = strcspn(s, ":");
    const char *p = s;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '#')
            p = s + i + 1;
    while (p < s + n && *p == ' ')
        p++;
    n -= (size_t)(p - s);
    while (n && p[n - 1] == ' ')
        n--;
    *start = p;
    *len = n;
}

static const char *message_of(const json_t *root)
{
    const char *m = llm__json_str(root, "message");
    if (!m)
        m = llm__json_str(root, "Message");
    if (!m) {
        /* Not Bedrock's shape, but what a gateway in front may send. */
        const json_t *e = json_object_get(root, "error");
        m = json_is_object(e) ? llm__json_str(e, "message") : NULL;
    }
    return m;
}

/* originalStatusCode of ModelErrorException / modelStreamErrorException
 * becomes the error code. */
static int keep_original_status(llm_response *r, const json_t *root)
{
    const json_t *osc = json_object_get(root, "originalStatusCode");
    if (!json_is_integer(osc))
        return LLM_OK;
    char code[32];
    snprintf(code, sizeof code, "%lld", (long long)json_integer_value(osc));
    return llm__resp_set_str(&r->error_code, code) ? LLM_ERR_NOMEM : LLM_OK;
}

static int bedrock_map_error(struct llm__call *call, const struct llm__http_res *res,
                             llm_response *out)
{
    (void)call;
    json_t *root = NULL;
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, NULL);
    if (rc == LLM_ERR_NOMEM)
        return llm__resp_nomem(out);
    if (!json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    const char *hdr = llm__http_res_header(res, "x-amzn-ErrorType");
    const char *code = NULL;
    size_t code_len = 0;
    if (hdr && *hdr) {
        error_code_span(hdr, &code, &code_len);
    } else {
        static const char *const keys[] = {"code", "Code", "__type"};
        for (size_t i = 0; !code && i < LLM__ARRAY_LEN(keys); i++) {
            const char *v = llm__json_str(root, keys[i]);
            if (v)
                error_code_span(v, &code, &code_len);
        }
    }
    if (code && code_len == 0)
        code = NULL;
    const char *message = message_of(root);
    if ((code && llm__resp_set_strn(&out->error_type, code, code_len)) ||
        llm__resp_set_str(&out->error_message, message) || keep_original_status(out, root)) {
        json_decref(root);
        return llm__resp_nomem(out);
    }
    int status = status_of_exception(code, code_len, message);
    if (status)
        out->retryable = llm_status_retryable(status);
    else
        status = llm__status_from_http(res->status);
    rc = llm__resp_fail(out, status, "Bedrock HTTP %d: %.*s: %s", res->status,
                        code ? (int)code_len : 13, code ? code : "unknown error",
                        message ? message : "(no message)");
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
        {"guardrail_intervened", LLM_FINISH_CONTENT_FILTER},
        {"content_filtered", LLM_FINISH_CONTENT_FILTER},
        {"malformed_model_output", LLM_FINISH_ERROR},
        {"malformed_tool_use", LLM_FINISH_ERROR},
    };
    for (size_t i = 0; s && i < LLM__ARRAY_LEN(map); i++)
        if (strcmp(map[i].word, s) == 0)
            return map[i].finish;
    return LLM_FINISH_OTHER;
}

static int protocol(llm_response *r, const char *what)
{
    return llm__resp_fail(r, LLM_ERR_PROTOCOL, "unexpected Bedrock reply: %s", what);
}

static int take_finish(llm_response *r, const json_t *obj)
{
    const json_t *sr = json_object_get(obj, "stopReason");
    if (!sr)
        return LLM_OK;
    if (!json_is_string(sr))
        return protocol(r, "stopReason is not a string");
    const char *s = json_string_value(sr);
    if (llm__resp_set_finish(r, map_finish(s), s))
        return llm__resp_nomem(r);
    llm__resp_fix_finish(r);
    return LLM_OK;
}

/* A token count, or -1 when absent, negative or not an integer. */
static int64_t count(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    return (int64_t)json_integer_value(v);
}

static int64_t add_counts(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* TokenUsage to the unified counts (providers.md 5.4, 9.6): inputTokens
 * counts only uncached input, so INPUT adds the cache reads and writes. */
static int take_usage(llm_response *r, const json_t *u)
{
    if (!u)
        return LLM_OK;
    if (!json_is_object(u))
        return protocol(r, "usage is not an object");
    int64_t in = count(u, "inputTokens"), out = count(u, "outputTokens");
    int64_t cr = count(u, "cacheReadInputTokens"), cw = count(u, "cacheWriteInputTokens");
    int64_t cw1h = -1, cwd = -1;
    const json_t *details = json_object_get(u, "cacheDetails");
    if (json_is_array(details)) {
        size_t i;
        const json_t *d;
        cw1h = 0;
        json_array_foreach(details, i, d) {
            int64_t n = count(d, "inputTokens");
            const char *ttl = llm__json_str(d, "ttl");
            if (n < 0)
                continue;
            cwd = add_counts(cwd, n);
            if (ttl && strcmp(ttl, "1h") == 0)
                cw1h = add_counts(cw1h, n);
        }
    }
    if (cw < 0)
        cw = cwd;
    if (cw >= 0 && cw1h > cw)
        cw = cw1h;
    if (in >= 0)
        in = add_counts(add_counts(in, cr), cw);
    r->usage.v[LLM_USAGE_INPUT] = in;
    r->usage.v[LLM_USAGE_OUTPUT] = out;
    r->usage.v[LLM_USAGE_CACHE_READ] = cr;
    r->usage.v[LLM_USAGE_CACHE_WRITE] = cw;
    r->usage.v[LLM_USAGE_CACHE_WRITE_1H] = cw >= 0 ? cw1h : -1;
    return llm__resp_set_usage_raw(r, u) ? llm__resp_nomem(r) : LLM_OK;
}

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

/* {"reasoningText": <the member without its text>} */
static json_t *reasoning_meta(const json_t *rt)
{
    json_t *c = json_is_object(rt) ? json_copy((json_t *)rt) : json_object();
    if (c)
        json_object_del(c, "text");
    return c ? llm__jwrap("reasoningText", c) : NULL;
}

static int parse_block(llm_response *r, const json_t *b)
{
    if (!json_is_object(b))
        return protocol(r, "a content block is not an object");
    const json_t *v;
    if ((v = json_object_get(b, "text"))) {
        if (!json_is_string(v))
            return protocol(r, "a text block whose text is not a string");
        return llm__resp_append_text(r, json_string_value(v), json_string_length(v)) ? llm__resp_nomem(r) : LLM_OK;
    }
    if ((v = json_object_get(b, "toolUse"))) {
        const char *id = llm__json_str(v, "toolUseId"), *name = llm__json_str(v, "name");
        if (!id || !name)
            return protocol(r, "a toolUse block without toolUseId or name");
        const json_t *input = json_object_get(v, "input");
        llm__buf args = {0};
        int rc = input ? llm__json_dump(&args, input) : llm__buf_puts(&args, "{}");
        if (!rc)
            rc = llm__resp_add_tool_call(r, id, name, args.data ? args.data : "{}",
                                         args.data ? args.len : 2, NULL);
        llm__buf_free(&args);
        return rc ? llm__resp_nomem(r) : LLM_OK;
    }
    v = json_object_get(b, "reasoningContent");
    const json_t *rt = json_is_object(v) ? json_object_get(v, "reasoningText") : NULL;
    if (json_is_object(rt)) {
        const json_t *t = json_object_get(rt, "text");
        if (t && !json_is_string(t))
            return protocol(r, "reasoningText.text is not a string");
        /* A part of its own: two reasoning blocks keep two signatures. */
        if (!open_part(r, LLM__PART_REASONING) ||
            (t && llm__resp_append_reasoning(r, json_string_value(t), json_string_length(t))))
            return llm__resp_nomem(r);
        json_t *meta = reasoning_meta(rt);
        if (!meta)
            return llm__resp_nomem(r);
        int rc = llm__resp_set_meta_json(r, llm__resp_last_part(r), meta);
        json_decref(meta);
        return rc;
    }
    /* redactedContent, citationsContent and blocks not yet invented: kept
     * whole, for replay only. */
    return llm__resp_add_opaque_json(r, b);
}

static int bedrock_parse(struct llm__call *call, const struct llm__http_res *res, llm_response *out)
{
    (void)call;
    json_t *root = NULL;
    llm__buf why = {0};
    int rc = llm__json_load(res->body ? res->body : "", res->body ? res->body_len : 0, &root, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return llm__resp_nomem(out);
    }
    if (rc != LLM_OK || !json_is_object(root)) {
        rc = llm__resp_fail(out, LLM_ERR_PROTOCOL, "the Bedrock reply is not a JSON object%s%s",
                            why.data ? ": " : "", why.data ? why.data : "");
        llm__buf_free(&why);
        json_decref(root);
        return rc;
    }
    llm__buf_free(&why);
    const json_t *output = json_object_get(root, "output");
    const json_t *msg = json_is_object(output) ? json_object_get(output, "message") : NULL;
    const json_t *content = json_is_object(msg) ? json_object_get(msg, "content") : NULL;
    if (!json_is_array(content)) {
        json_decref(root);
        return protocol(out, "output.message.content is missing or not an array");
    }
    size_t i;
    const json_t *b;
    rc = LLM_OK;
    json_array_foreach(content, i, b) {
        if ((rc = parse_block(out, b)))
            break;
    }
    if (!rc)
        rc = take_usage(out, json_object_get(root, "usage"));
    if (!rc)
        rc = take_finish(out, root);
    json_decref(root);
    return rc;
}

/* ========================================================================
 * Streams
 */

enum { BK_TEXT = 1, BK_TOOL, BK_REASONING, BK_OTHER };

struct block {
    int64_t index;             /* contentBlockIndex */
    int kind;
    size_t tool;               /* BK_TOOL: index among tool calls */
    int got_args;
    size_t part;               /* BK_REASONING: its part once text arrived */
    int has_part;
    json_t *meta;              /* BK_REASONING: {"reasoningText": {...}} */
    llm__buf redacted;         /* BK_REASONING: redactedContent bytes */
    int has_redacted;
};

struct sstate {
    struct block *blocks;
    size_t nblocks, cap;
    int stopped;               /* messageStop seen */
    int finished;              /* metadata seen after it: nothing more to read */
};

static int bedrock_stream_begin(struct llm__sstate *st)
{
    struct sstate *s = llm__calloc(1, sizeof *s);
    if (!s)
        return llm__resp_nomem(st->resp);
    st->adapter = s;
    return LLM_OK;
}

static void block_clear(struct block *b)
{
    json_decref(b->meta);
    llm__buf_free(&b->redacted);
    memset(b, 0, sizeof *b);
}

static void bedrock_stream_free(struct llm__sstate *st)
{
    struct sstate *s = st->adapter;
    if (!s)
        return;
    for (size_t i = 0; i < s->nblocks; i++)
        block_clear(&s->blocks[i]);
    llm__free(s->blocks);
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

static struct block *new_block(struct llm__sstate *st, int64_t index, int kind)
{
    struct sstate *s = st->adapter;
    if (s->nblocks == MAX_OPEN_BLOCKS) {
        protocol(st->resp, "too many content blocks open at once");
        return NULL;
    }
    if (s->nblocks == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct block *nb = llm__realloc(s->blocks, cap * sizeof *nb);
        if (!nb) {
            llm__resp_nomem(st->resp);
            return NULL;
        }
        s->blocks = nb;
        s->cap = cap;
    }
    struct block *b = &s->blocks[s->nblocks];
    memset(b, 0, sizeof *b);
    b->index = index;
    b->kind = kind;
    if (kind == BK_REASONING && !(b->meta = reasoning_meta(NULL))) {
        llm__resp_nomem(st->resp);
        return NULL;
    }
    s->nblocks++;
    return b;
}

static void close_block(struct sstate *s, struct block *b)
{
    block_clear(b);
    size_t i = (size_t)(b - s->blocks);
    memmove(b, b + 1, (s->nblocks - i - 1) * sizeof *b);
    s->nblocks--;
}

static int block_index(const json_t *ev, int64_t *out)
{
    const json_t *i = json_object_get(ev, "contentBlockIndex");
    if (!json_is_integer(i) || json_integer_value(i) < 0)
        return 0;
    *out = (int64_t)json_integer_value(i);
    return 1;
}

static int finish_block(struct llm__sstate *st, struct block *b)
{
    llm_response *r = st->resp;
    int rc = LLM_OK;
    switch (b->kind) {
    case BK_TOOL:
        /* No input fragments means no parameters (providers.md 5.5). */
        if (!b->got_args)
            rc = llm__emit_tool_delta(st, b->tool, "{}", 2);
        if (!rc)
            rc = llm__emit_tool_end(st, b->tool);
        break;
    case BK_REASONING: {
        const json_t *rt = json_object_get(b->meta, "reasoningText");
        if (!b->has_part && json_object_size(rt) > 0) {
            /* A signature with no text still has to be replayed. */
            if (!open_part(r, LLM__PART_REASONING))
                return llm__resp_nomem(r);
            b->part = r->msg.nparts - 1;
            b->has_part = 1;
        }
        if (b->has_part && b->part < r->msg.nparts)
            rc = llm__resp_set_meta_json(r, &r->msg.parts[b->part], b->meta);
        if (!rc && b->has_redacted) {
            llm__buf b64 = {0};
            json_t *blk = NULL;
            if (llm__base64_encode(&b64, b->redacted.data ? b->redacted.data : "", b->redacted.len) ||
                !(blk = llm__jwrap("reasoningContent",
                             llm__jwrap("redactedContent", jstr(b64.data, b64.len))))) {
                llm__buf_free(&b64);
                return llm__resp_nomem(r);
            }
            llm__buf_free(&b64);
            rc = llm__resp_add_opaque_json(r, blk);
            json_decref(blk);
        }
        break;
    }
    default:
        break;
    }
    return rc;
}

static int on_block_start(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    llm_response *r = st->resp;
    int64_t index;
    const json_t *start = json_object_get(ev, "start");
    if (!block_index(ev, &index) || !json_is_object(start))
        return protocol(r, "contentBlockStart without contentBlockIndex or start");
    if (find_block(s, index))
        return protocol(r, "a content block started twice");
    const json_t *tu = json_object_get(start, "toolUse");
    if (!tu)
        /* toolResult, image and starts not yet invented: nothing of ours
         * follows, but the index is taken. */
        return new_block(st, index, BK_OTHER) ? LLM_OK : r->status;
    const char *id = llm__json_str(tu, "toolUseId"), *name = llm__json_str(tu, "name");
    if (!id || !name)
        return protocol(r, "a toolUse start without toolUseId or name");
    struct block *b = new_block(st, index, BK_TOOL);
    if (!b)
        return r->status;
    return llm__emit_tool_start(st, id, name, &b->tool);
}

static int reasoning_delta(struct llm__sstate *st, struct block *b, const json_t *rc_obj)
{
    llm_response *r = st->resp;
    const json_t *t = json_object_get(rc_obj, "text");
    const json_t *sig = json_object_get(rc_obj, "signature");
    const json_t *red = json_object_get(rc_obj, "redactedContent");
    if ((t && !json_is_string(t)) || (sig && !json_is_string(sig)) || (red && !json_is_string(red)))
        return protocol(r, "a reasoningContent delta member is not a string");
    if (t) {
        if (!b->has_part) {
            if (!open_part(r, LLM__PART_REASONING))
                return llm__resp_nomem(r);
            b->part = r->msg.nparts - 1;
            b->has_part = 1;
        } else if (b->part != r->msg.nparts - 1) {
            return protocol(r, "reasoning text for a block that is no longer the last");
        }
        int rc = llm__emit_reasoning(st, json_string_value(t), json_string_length(t));
        if (rc)
            return rc;
    }
    /* The signature arrives whole, just before the block's stop; kept
     * verbatim. */
    if (sig && llm__jset(json_object_get(b->meta, "reasoningText"), "signature",
                    json_copy((json_t *)sig)))
        return llm__resp_nomem(r);
    if (red) {
        int rc = llm__base64_decode(&b->redacted, json_string_value(red), json_string_length(red));
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        if (rc)
            return protocol(r, "redactedContent is not base64");
        b->has_redacted = 1;
    }
    return LLM_OK;
}

static int on_block_delta(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    llm_response *r = st->resp;
    int64_t index;
    const json_t *d = json_object_get(ev, "delta");
    if (!block_index(ev, &index) || !json_is_object(d))
        return protocol(r, "contentBlockDelta without contentBlockIndex or delta");
    struct block *b = find_block(s, index);
    const json_t *v;
    /* Text and reasoning blocks usually get no contentBlockStart: their
     * first delta opens them. */
    if ((v = json_object_get(d, "text"))) {
        if (!json_is_string(v))
            return protocol(r, "a text delta that is not a string");
        if (!b && !(b = new_block(st, index, BK_TEXT)))
            return r->status;
        if (b->kind != BK_TEXT)
            return protocol(r, "a text delta inside a block of another kind");
        return llm__emit_text(st, json_string_value(v), json_string_length(v));
    }
    if ((v = json_object_get(d, "toolUse"))) {
        const json_t *in = json_object_get(v, "input");
        if (!json_is_string(in))
            return protocol(r, "a toolUse delta whose input is not a string");
        if (!b || b->kind != BK_TOOL)
            return protocol(r, "a toolUse delta for a block that is not an open tool call");
        if (json_string_length(in) == 0)
            return LLM_OK;
        b->got_args = 1;
        return llm__emit_tool_delta(st, b->tool, json_string_value(in), json_string_length(in));
    }
    if ((v = json_object_get(d, "reasoningContent"))) {
        if (!json_is_object(v))
            return protocol(r, "a reasoningContent delta that is not an object");
        if (!b && !(b = new_block(st, index, BK_REASONING)))
            return r->status;
        if (b->kind != BK_REASONING)
            return protocol(r, "a reasoning delta inside a block of another kind");
        return reasoning_delta(st, b, v);
    }
    /* citation, toolResult, image and deltas not yet invented. */
    return LLM_OK;
}

static int on_block_stop(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    int64_t index;
    if (!block_index(ev, &index))
        return protocol(st->resp, "contentBlockStop without contentBlockIndex");
    struct block *b = find_block(s, index);
    if (!b)
        return LLM_OK;
    int rc = finish_block(st, b);
    close_block(s, b);
    return rc;
}

static int on_message_stop(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    int rc = LLM_OK;
    /* Blocks left open are finished so that no tool call lacks its end. */
    while (!rc && s->nblocks > 0) {
        rc = finish_block(st, &s->blocks[0]);
        close_block(s, &s->blocks[0]);
    }
    if (!rc)
        rc = take_finish(st->resp, ev);
    s->stopped = 1;
    /* The message is complete here; metadata (usage) normally follows and
     * is read when it does, but a stream cut after messageStop has lost
     * nothing but counts. */
    st->done = 1;
    return rc;
}

static int on_metadata(struct llm__sstate *st, const json_t *ev)
{
    struct sstate *s = st->adapter;
    const json_t *u = json_object_get(ev, "usage");
    int rc = LLM_OK;
    if (u) {
        rc = take_usage(st->resp, u);
        if (!rc)
            rc = llm__emit_usage(st);
    }
    if (s->stopped)
        s->finished = 1;
    return rc;
}

/* An exception or error message inside the 200 stream (providers.md 5.5,
 * 7.1): the stream ends with it. */
static int stream_exception(struct llm__sstate *st, const struct llm__frame *f, int is_error)
{
    llm_response *r = st->resp;
    const char *name = is_error ? f->error_code : f->event;
    const char *message = is_error ? f->error_message : NULL;
    json_t *root = NULL;
    if (!is_error) {
        int rc = llm__json_load(f->data ? f->data : "", f->data ? f->data_len : 0, &root, NULL);
        if (rc == LLM_ERR_NOMEM)
            return llm__resp_nomem(r);
        if (json_is_object(root))
            message = message_of(root);
    }
    int rc = LLM_OK;
    if (llm__resp_set_str(&r->error_type, name) || llm__resp_set_str(&r->error_message, message) ||
        (is_error && llm__resp_set_str(&r->error_code, f->error_code)) ||
        (!is_error && keep_original_status(r, root)))
        rc = llm__resp_nomem(r);
    json_decref(root);
    if (rc)
        return rc;
    /* The copy: the parsed payload is gone. */
    message = r->error_message;
    int status = status_of_exception(name, name ? strlen(name) : 0, message);
    if (!status)
        /* An exception of a kind we do not know still means the server
         * failed the stream. */
        status = LLM_ERR_SERVER;
    r->mid_stream = 1;
    r->retryable = llm_status_retryable(status);
    return llm__resp_fail(r, status, "Bedrock %s in the stream: %s: %s",
                          is_error ? "error" : "exception", name ? name : "unknown",
                          message ? message : "(no message)");
}

static int frame_is(const struct llm__frame *f, const char *name)
{
    size_t n = strlen(name);
    return f->event && f->event_len == n && memcmp(f->event, name, n) == 0;
}

static int bedrock_stream_event(struct llm__sstate *st, const struct llm__frame *f)
{
    llm_response *r = st->resp;
    struct sstate *s = st->adapter;
    if (!s)
        return llm__resp_fail(r, LLM_ERR_MISUSE, "stream_begin was not called");
    if (!f || !f->message_type)
        return protocol(r, "an event-stream message without :message-type");
    if (strcmp(f->message_type, "exception") == 0)
        return stream_exception(st, f, 0);
    if (strcmp(f->message_type, "error") == 0)
        return stream_exception(st, f, 1);
    if (strcmp(f->message_type, "event") != 0 || s->finished)
        return LLM_OK;
    static const char *const known[] = {"messageStart", "contentBlockStart", "contentBlockDelta",
                                        "contentBlockStop", "messageStop", "metadata"};
    size_t k;
    for (k = 0; k < LLM__ARRAY_LEN(known); k++)
        if (frame_is(f, known[k]))
            break;
    /* Event types may be added at any time: unknown ones are skipped
     * whatever their payload. */
    if (k == LLM__ARRAY_LEN(known))
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
        rc = llm__resp_fail(r, LLM_ERR_PROTOCOL, "a Bedrock %s event is not a JSON object%s%s",
                            known[k], why.data ? ": " : "", why.data ? why.data : "");
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    switch (k) {
    case 0: rc = LLM_OK; break;                       /* messageStart: role only */
    case 1: rc = on_block_start(st, ev); break;
    case 2: rc = on_block_delta(st, ev); break;
    case 3: rc = on_block_stop(st, ev); break;
    case 4: rc = on_message_stop(st, ev); break;
    default: rc = on_metadata(st, ev); break;
    }
    json_decref(ev);
    return rc;
}

static int bedrock_stream_end(struct llm__sstate *st)
{
    if (st->done)
        return LLM_OK;
    return llm__resp_fail(st->resp, LLM_ERR_NETWORK,
                          "stream truncated: the Bedrock stream ended without messageStop");
}

const struct llm__provider_ops llm__bedrock_ops = {
    .name = "bedrock",
    .framing = LLM__FRAMING_EVENTSTREAM,
    .build = bedrock_build,
    .parse = bedrock_parse,
    .stream_begin = bedrock_stream_begin,
    .stream_event = bedrock_stream_event,
    .stream_end = bedrock_stream_end,
    .stream_free = bedrock_stream_free,
    .map_error = bedrock_map_error,
};
