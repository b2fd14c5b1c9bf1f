/*
 * gemini_schema.c - JSON Schema to Gemini's Schema object.
 *
 * Gemini's `parameters` and `responseSchema` take "a select subset of an
 * OpenAPI 3.0 schema object" (providers.md 4.4): upper-case type names,
 * `nullable` instead of null types, string-only `enum`, and a short list of
 * keywords.  The conversion keeps every constraint it can express and
 * refuses, naming the keyword and where it sits, whatever it cannot: a
 * schema that silently lost a constraint would let the model produce
 * arguments the caller's code does not expect.
 *
 * Rewrites (each one keeps the schema's meaning for generation):
 * - type names to upper case; a type array of one type plus "null", and an
 *   anyOf / oneOf branch {"type":"null"}, become `nullable: true` (what
 *   Google's own SDK does); a single remaining anyOf branch is inlined.
 * - `const` becomes a one-value `enum`; enum values that are numbers or
 *   booleans become strings and the type STRING (providers.md 4.4: "enum
 *   values must be strings"); a null enum value becomes `nullable`.
 * - `oneOf` becomes `anyOf`: for generating one value the two agree.
 * - `examples` becomes `example` (its first element).
 * - a missing `type` is inferred from object, array or string keywords.
 * - `additionalProperties: false` is left out: Gemini's Developer API
 *   rejects the keyword, and a Gemini object only ever holds the declared
 *   properties, so the schema means the same without it.
 * - `$schema` is left out, as providers.md 4.4 recommends.
 * - a `format` Gemini does not know for the type is left out: `format` is
 *   an annotation in JSON Schema, and the server rejects unknown ones
 *   ("only 'enum' and 'date-time' are supported for STRING type",
 *   google-gemini/gemini-cli#3178, 2025-07).
 */
#include "providers/gemini_schema.h"

#include <stdio.h>

struct conv {
    llm__buf *err;
    llm__buf path;             /* where we are, "" at the top */
    int depth;
};

static const char *where(const struct conv *c)
{
    return c->path.len ? c->path.data : "the top level";
}

static int fail(struct conv *c, const char *fmt, ...) LLM__PRINTF(2, 3);

static int fail(struct conv *c, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (llm__buf_puts(c->err, text) != LLM_OK)
        return LLM_ERR_NOMEM;
    return LLM_ERR_INVALID_ARG;
}

static int unsupported(struct conv *c, const char *kw)
{
    return fail(c, "JSON Schema keyword '%.64s' at %.300s is not supported by Gemini", kw,
                where(c));
}

static int bad_value(struct conv *c, const char *kw, const char *what)
{
    return fail(c, "JSON Schema keyword '%s' at %.300s must be %s", kw, where(c), what);
}

/* Descend into a subschema: the path gets ".seg" (or "seg" at the top).
 * Property names that are not plain identifiers are quoted so that the
 * path stays readable. */
static int push(struct conv *c, const char *seg, const char *prop, int index)
{
    llm__buf *p = &c->path;
    int rc = LLM_OK;
    if (seg) {
        if (p->len)
            rc = llm__buf_putc(p, '.');
        if (!rc)
            rc = llm__buf_puts(p, seg);
    }
    if (!rc && prop) {
        int plain = *prop != '\0';
        for (const char *s = prop; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '$'))
                plain = 0;
        if (plain)
            rc = llm__buf_printf(p, ".%s", prop);
        else
            rc = llm__buf_printf(p, "[\"%s\"]", prop);
    }
    if (!rc && index >= 0)
        rc = llm__buf_printf(p, "[%d]", index);
    return rc ? LLM_ERR_NOMEM : LLM_OK;
}

static void pop(struct conv *c, size_t len)
{
    c->path.len = len;
    if (c->path.data)
        c->path.data[len] = '\0';
}

static int set(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        return LLM_ERR_NOMEM;
    return LLM_OK;
}

static int copy(json_t *o, const char *key, const json_t *v)
{
    return set(o, key, json_deep_copy(v));
}

static int is_count(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

static int is_string_array(const json_t *v)
{
    if (!json_is_array(v))
        return 0;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
        if (!json_is_string(e))
            return 0;
    return 1;
}

/* JSON Schema type name to Gemini's; NULL if unknown.  Gemini's own upper
 * case spelling is accepted as well. */
static const char *type_name(const char *t)
{
    static const char *const names[][2] = {
        {"string", "STRING"}, {"number", "NUMBER"}, {"integer", "INTEGER"},
        {"boolean", "BOOLEAN"}, {"array", "ARRAY"}, {"object", "OBJECT"}, {"null", "NULL"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(names); i++)
        if (llm__strcasecmp(t, names[i][0]) == 0)
            return names[i][1];
    return NULL;
}

/* Formats the server accepts per type (Gemini API Schema reference). */
static int format_ok(const char *type, const char *format)
{
    if (!type)
        return 0;
    if (strcmp(type, "STRING") == 0)
        return strcmp(format, "enum") == 0 || strcmp(format, "date-time") == 0;
    if (strcmp(type, "NUMBER") == 0)
        return strcmp(format, "float") == 0 || strcmp(format, "double") == 0;
    if (strcmp(type, "INTEGER") == 0)
        return strcmp(format, "int32") == 0 || strcmp(format, "int64") == 0;
    return 0;
}

static int conv_schema(struct conv *c, const json_t *in, json_t **out);

static int conv_child(struct conv *c, const char *seg, const char *prop, int index,
                      const json_t *in, json_t **out)
{
    size_t saved = c->path.len;
    int rc = push(c, seg, prop, index);
    if (!rc)
        rc = conv_schema(c, in, out);
    if (!rc)
        pop(c, saved);
    return rc;
}

static int conv_properties(struct conv *c, const json_t *props, json_t *o)
{
    json_t *res = json_object();
    if (!res)
        return LLM_ERR_NOMEM;
    const char *name;
    const json_t *sub;
    size_t saved = c->path.len;
    int rc = push(c, "properties", NULL, -1);
    json_object_foreach((json_t *)props, name, sub) {
        json_t *conv = NULL;
        if (rc || (rc = conv_child(c, NULL, name, -1, sub, &conv)))
            break;
        if ((rc = set(res, name, conv)))
            break;
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    pop(c, saved);
    return set(o, "properties", res);
}

/* anyOf / oneOf: convert the branches and take null branches out, which
 * Gemini spells `nullable`.  *branches_out gets the rest (maybe empty). */
static int conv_branches(struct conv *c, const char *kw, const json_t *arr,
                         json_t **branches_out, int *nullable)
{
    json_t *res = json_array();
    if (!res)
        return LLM_ERR_NOMEM;
    size_t i;
    const json_t *b;
    int rc = LLM_OK;
    json_array_foreach(arr, i, b) {
        json_t *conv = NULL;
        if ((rc = conv_child(c, kw, NULL, (int)i, b, &conv)))
            break;
        const char *t = llm__json_str(conv, "type");
        if (t && strcmp(t, "NULL") == 0) {
            *nullable = 1;
            json_decref(conv);
            continue;
        }
        if (json_array_append_new(res, conv) != 0) {
            rc = LLM_ERR_NOMEM;
            break;
        }
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    *branches_out = res;
    return LLM_OK;
}

/* Enum values become strings; null becomes `nullable`. */
static int conv_enum(struct conv *c, const char *kw, const json_t *values, json_t **out,
                     int *stringified, int *nullable)
{
    json_t *res = json_array();
    if (!res)
        return LLM_ERR_NOMEM;
    size_t i;
    const json_t *v;
    json_array_foreach(values, i, v) {
        json_t *s = NULL;
        if (json_is_string(v)) {
            s = json_deep_copy(v);
        } else if (json_is_null(v)) {
            *nullable = 1;
            continue;
        } else if (json_is_number(v) || json_is_boolean(v)) {
            llm__buf b = {0};
            if (llm__json_dump(&b, v) == LLM_OK)
                s = json_stringn(b.data, b.len);
            llm__buf_free(&b);
            *stringified = 1;
        } else {
            json_decref(res);
            return fail(c, "JSON Schema keyword '%s' at %.300s holds an object or array value, "
                        "which Gemini does not support (enum values must be strings)", kw, where(c));
        }
        if (!s || json_array_append_new(res, s) != 0) {
            json_decref(res);
            return LLM_ERR_NOMEM;
        }
    }
    *out = res;
    return LLM_OK;
}

/* The `type` keyword: a name, or an array of one name plus "null". */
static int conv_type(struct conv *c, const json_t *t, const char **name, int *nullable)
{
    if (json_is_string(t)) {
        if (!(*name = type_name(json_string_value(t))))
            return fail(c, "JSON Schema type \"%.64s\" at %.300s is not a JSON Schema type",
                        json_string_value(t), where(c));
        return LLM_OK;
    }
    if (!json_is_array(t) || json_array_size(t) == 0)
        return bad_value(c, "type", "a type name or an array of type names");
    size_t i;
    const json_t *e;
    const char *one = NULL;
    json_array_foreach(t, i, e) {
        const char *n = json_is_string(e) ? type_name(json_string_value(e)) : NULL;
        if (!n)
            return bad_value(c, "type", "a type name or an array of type names");
        if (strcmp(n, "NULL") == 0) {
            *nullable = 1;
        } else if (one && strcmp(one, n) != 0) {
            return fail(c, "JSON Schema keyword 'type' at %.300s lists several types, which "
                        "Gemini does not support (use anyOf)", where(c));
        } else {
            one = n;
        }
    }
    *name = one ? one : "NULL";
    return LLM_OK;
}

static int conv_schema(struct conv *c, const json_t *in, json_t **out)
{
    *out = NULL;
    if (c->depth >= LLM__GEMINI_SCHEMA_MAX_DEPTH)
        return fail(c, "the JSON Schema at %.300s is nested deeper than %d levels", where(c),
                    LLM__GEMINI_SCHEMA_MAX_DEPTH);
    if (json_is_boolean(in))
        return fail(c, "a boolean JSON Schema (%s) at %.300s is not supported by Gemini",
                    json_is_true(in) ? "true" : "false", where(c));
    if (!json_is_object(in))
        return fail(c, "the JSON Schema at %.300s is not an object", where(c));

    json_t *o = json_object();
    if (!o)
        return LLM_ERR_NOMEM;
    c->depth++;
    const json_t *type = NULL, *enumv = NULL, *constv = NULL, *format = NULL;
    const json_t *examples = NULL, *anyof = NULL, *oneof = NULL;
    int nullable = -1, has_example = 0;
    int rc = LLM_OK;
    const char *kw;
    const json_t *v;

    json_object_foreach((json_t *)in, kw, v) {
        if (strcmp(kw, "type") == 0) {
            type = v;
        } else if (strcmp(kw, "format") == 0) {
            if (!json_is_string(v))
                rc = bad_value(c, kw, "a string");
            format = v;
        } else if (strcmp(kw, "title") == 0 || strcmp(kw, "description") == 0 ||
                   strcmp(kw, "pattern") == 0) {
            rc = json_is_string(v) ? copy(o, kw, v) : bad_value(c, kw, "a string");
        } else if (strcmp(kw, "nullable") == 0) {
            if (!json_is_boolean(v))
                rc = bad_value(c, kw, "a boolean");
            else if (nullable != 1)
                nullable = json_is_true(v);
        } else if (strcmp(kw, "enum") == 0) {
            if (!json_is_array(v))
                rc = bad_value(c, kw, "an array");
            enumv = v;
        } else if (strcmp(kw, "const") == 0) {
            constv = v;
        } else if (strcmp(kw, "items") == 0) {
            json_t *sub = NULL;
            if (json_is_array(v))
                rc = fail(c, "JSON Schema keyword 'items' at %.300s holds an array (tuple "
                          "validation), which Gemini does not support", where(c));
            else if (!(rc = conv_child(c, "items", NULL, -1, v, &sub)))
                rc = set(o, kw, sub);
        } else if (strcmp(kw, "minItems") == 0 || strcmp(kw, "maxItems") == 0 ||
                   strcmp(kw, "minProperties") == 0 || strcmp(kw, "maxProperties") == 0 ||
                   strcmp(kw, "minLength") == 0 || strcmp(kw, "maxLength") == 0) {
            rc = is_count(v) ? copy(o, kw, v) : bad_value(c, kw, "a non-negative integer");
        } else if (strcmp(kw, "minimum") == 0 || strcmp(kw, "maximum") == 0) {
            rc = json_is_number(v) ? copy(o, kw, v) : bad_value(c, kw, "a number");
        } else if (strcmp(kw, "properties") == 0) {
            rc = json_is_object(v) ? conv_properties(c, v, o) : bad_value(c, kw, "an object");
        } else if (strcmp(kw, "required") == 0 || strcmp(kw, "propertyOrdering") == 0) {
            rc = is_string_array(v) ? copy(o, kw, v) : bad_value(c, kw, "an array of strings");
        } else if (strcmp(kw, "default") == 0) {
            rc = copy(o, kw, v);
        } else if (strcmp(kw, "example") == 0) {
            has_example = 1;
            rc = copy(o, kw, v);
        } else if (strcmp(kw, "examples") == 0) {
            if (!json_is_array(v))
                rc = bad_value(c, kw, "an array");
            examples = v;
        } else if (strcmp(kw, "anyOf") == 0 || strcmp(kw, "oneOf") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                rc = bad_value(c, kw, "a non-empty array of schemas");
            if (kw[0] == 'a')
                anyof = v;
            else
                oneof = v;
        } else if (strcmp(kw, "additionalProperties") == 0) {
            if (!json_is_false(v))
                rc = unsupported(c, kw);
        } else if (strcmp(kw, "$schema") == 0) {
            /* The dialect marker carries no constraint. */
        } else {
            rc = unsupported(c, kw);
        }
        if (rc)
            goto out;
    }

    const char *tname = NULL;
    if (type && (rc = conv_type(c, type, &tname, &nullable)))
        goto out;

    if (anyof && oneof) {
        rc = unsupported(c, "oneOf");
        goto out;
    }
    if (anyof || oneof) {
        json_t *branches = NULL;
        int null_branch = 0;
        if ((rc = conv_branches(c, anyof ? "anyOf" : "oneOf", anyof ? anyof : oneof,
                                &branches, &null_branch)))
            goto out;
        if (null_branch)
            nullable = 1;
        if (json_array_size(branches) == 1) {
            /* One real branch left: inline it; the outer keywords (a
             * description on the property) win over the branch's. */
            json_t *only = json_array_get(branches, 0);
            const char *k;
            json_t *bv;
            json_object_foreach(only, k, bv) {
                if (strcmp(k, "type") == 0) {
                    if (!tname)
                        tname = type_name(json_string_value(bv));
                    continue;
                }
                if (strcmp(k, "nullable") == 0) {
                    if (json_is_true(bv))
                        nullable = 1;
                    continue;
                }
                if (!json_object_get(o, k) && (rc = copy(o, k, bv)))
                    break;
            }
            json_decref(branches);
            if (rc)
                goto out;
        } else if (json_array_size(branches) == 0) {
            json_decref(branches);
            if (!tname)
                tname = "NULL";
        } else if ((rc = set(o, "anyOf", branches))) {
            goto out;
        }
    }

    if (constv && enumv) {
        rc = unsupported(c, "const");
        goto out;
    }
    if (enumv || constv) {
        json_t *wrapped = NULL, *conv = NULL;
        const json_t *values = enumv;
        int stringified = 0;
        if (!values) {
            if (!(wrapped = json_array()) || json_array_append(wrapped, (json_t *)constv) != 0) {
                json_decref(wrapped);
                rc = LLM_ERR_NOMEM;
                goto out;
            }
            values = wrapped;
        }
        rc = conv_enum(c, enumv ? "enum" : "const", values, &conv, &stringified, &nullable);
        json_decref(wrapped);
        if (rc || (rc = set(o, "enum", conv)))
            goto out;
        if (stringified || !tname)
            tname = "STRING";
    }

    if (!tname && !json_object_get(o, "anyOf")) {
        if (json_object_get(o, "properties") || json_object_get(o, "required") ||
            json_object_get(o, "minProperties") || json_object_get(o, "maxProperties") ||
            json_object_get(o, "propertyOrdering"))
            tname = "OBJECT";
        else if (json_object_get(o, "items") || json_object_get(o, "minItems") ||
                 json_object_get(o, "maxItems"))
            tname = "ARRAY";
        else if (json_object_get(o, "minLength") || json_object_get(o, "maxLength") ||
                 json_object_get(o, "pattern"))
            tname = "STRING";
        else if (json_object_get(o, "minimum") || json_object_get(o, "maximum"))
            tname = "NUMBER";
    }
    if (tname && (rc = set(o, "type", json_string(tname))))
        goto out;

    if (format && format_ok(tname, json_string_value(format)) && (rc = copy(o, "format", format)))
        goto out;
    if (examples && !has_example && json_array_size(examples) > 0 &&
        (rc = copy(o, "example", json_array_get(examples, 0))))
        goto out;
    if (nullable >= 0 && (rc = set(o, "nullable", json_boolean(nullable))))
        goto out;

out:
    c->depth--;
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return LLM_OK;
}

int llm__gemini_schema_convert(const json_t *schema, json_t **out, llm__buf *err)
{
    struct conv c = {.err = err};
    *out = NULL;
    int rc = conv_schema(&c, schema, out);
    llm__buf_free(&c.path);
    return rc;
}

int llm__gemini_schema_convert_text(const char *text, size_t len, json_t **out, llm__buf *err)
{
    json_t *j = NULL;
    llm__buf why = {0};
    *out = NULL;
    int rc = llm__json_load(text, len, &j, &why);
    if (rc == LLM_ERR_NOMEM) {
        llm__buf_free(&why);
        return rc;
    }
    if (rc != LLM_OK) {
        rc = llm__buf_printf(err, "the JSON Schema is not valid JSON (%s)",
                             why.data ? why.data : "parse error") ? LLM_ERR_NOMEM
                                                                   : LLM_ERR_INVALID_ARG;
        llm__buf_free(&why);
        return rc;
    }
    llm__buf_free(&why);
    rc = llm__gemini_schema_convert(j, out, err);
    json_decref(j);
    return rc;
}
