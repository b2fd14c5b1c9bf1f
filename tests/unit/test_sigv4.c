/*
 * test_sigv4.c - the SigV4 signer against AWS's published test suite
 * (tests/vectors/sigv4/, every case: the normalising ones the way Bedrock
 * is signed, the S3-style ones in the signer's single-encoding mode), the
 * worked example of providers.md 6.6, and Bedrock-shaped requests whose
 * expected values were computed with botocore 1.43.11's SigV4Auth.
 */
#include "test.h"
#include "internal.h"
#include "providers/sigv4.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *AK = "AKIDEXAMPLE";
static const char *SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/* 2024-06-15T12:00:00Z */
#define T_2024 1718452800000LL

static char *slurp_path(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
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

static const char *vec_root(void)
{
    return getenv("LLM_TEST_VECTORS") ? getenv("LLM_TEST_VECTORS") : "tests/vectors/sigv4";
}

static char *slurp_case(const char *kase, const char *file, size_t *len_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", vec_root(), kase, file);
    return slurp_path(path, len_out);
}

/* ---- request.txt --------------------------------------------------------- */

struct parsed {
    char method[16];
    llm__buf target;           /* path and query, raw */
    struct llm__http_req req;
};

/* "METHOD target HTTP/1.1", headers (a line starting with white space
 * continues the previous one: an obs-fold, replaced by a space as RFC
 * 7230 3.2.4 allows), an empty line, the body.  The target may hold
 * spaces, so the version is taken from the end. */
static int parse_request(const char *text, size_t n, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    const char *end = text + n;
    const char *eol = memchr(text, '\n', n);
    if (!eol)
        eol = end;
    const char *sp1 = memchr(text, ' ', (size_t)(eol - text));
    const char *sp2 = eol;
    while (sp2 > text && sp2[-1] != ' ')
        sp2--;
    if (!sp1 || sp2 <= sp1 + 1 || (size_t)(sp1 - text) >= sizeof p->method)
        return -1;
    memcpy(p->method, text, (size_t)(sp1 - text));
    p->method[sp1 - text] = '\0';
    llm__buf_append(&p->target, sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
    p->req.method = p->method;
    const char *line = eol < end ? eol + 1 : end;
    llm__buf name = {0}, value = {0};
    int have = 0;
    while (line < end) {
        const char *le = memchr(line, '\n', (size_t)(end - line));
        if (!le)
            le = end;
        size_t ll = (size_t)(le - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        if (ll == 0) {
            line = le < end ? le + 1 : end;
            break;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            llm__buf_putc(&value, ' ');
            llm__buf_append(&value, line, ll);
        } else {
            if (have)
                llm__http_req_header(&p->req, name.data, value.data ? value.data : "");
            const char *colon = memchr(line, ':', ll);
            if (!colon)
                return -1;
            llm__buf_reset(&name);
            llm__buf_reset(&value);
            llm__buf_append(&name, line, (size_t)(colon - line));
            llm__buf_append(&value, colon + 1, ll - (size_t)(colon + 1 - line));
            have = 1;
        }
        line = le < end ? le + 1 : end;
    }
    if (have)
        llm__http_req_header(&p->req, name.data, value.data ? value.data : "");
    llm__buf_free(&name);
    llm__buf_free(&value);
    llm__buf_append(&p->req.body, line, (size_t)(end - line));
    const char *host = llm__http_req_get(&p->req, "Host");
    llm__buf_printf(&p->req.url, "https://%s%s", host ? host : "example.amazonaws.com",
                    p->target.data ? p->target.data : "/");
    return 0;
}

static void parsed_free(struct parsed *p)
{
    llm__buf_free(&p->target);
    llm__http_req_free(&p->req);
}

/* Every header of want is on got with the same value, and nothing else:
 * order between different names does not matter, order of repeats does. */
static int same_headers(const struct llm__http_req *got, const struct llm__http_req *want)
{
    if (got->nheaders != want->nheaders)
        return 0;
    char used[64] = {0};
    if (got->nheaders > sizeof used)
        return 0;
    for (size_t i = 0; i < want->nheaders; i++) {
        size_t k;
        for (k = 0; k < got->nheaders; k++)
            if (!used[k] && llm__strcasecmp(got->headers[k].name, want->headers[i].name) == 0)
                break;
        if (k == got->nheaders || strcmp(got->headers[k].value, want->headers[i].value) != 0) {
            printf("#   header %s: got \"%s\", want \"%s\"\n", want->headers[i].name,
                   k < got->nheaders ? got->headers[k].value : "(none)", want->headers[i].value);
            return 0;
        }
        used[k] = 1;
    }
    return 1;
}

static int64_t parse_timestamp(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

static void strip_final_newline(char *s, size_t *n)
{
    while (*n && (s[*n - 1] == '\n' || s[*n - 1] == '\r'))
        s[--*n] = '\0';
}

static int run_case(const char *kase, int *s3_out)
{
    size_t rn = 0, cn = 0, crn = 0, stsn = 0, sign = 0, srn = 0;
    char *req_text = slurp_case(kase, "request.txt", &rn);
    char *ctx_text = slurp_case(kase, "context.json", &cn);
    char *want_creq = slurp_case(kase, "header-canonical-request.txt", &crn);
    char *want_sts = slurp_case(kase, "header-string-to-sign.txt", &stsn);
    char *want_sig = slurp_case(kase, "header-signature.txt", &sign);
    char *want_signed = slurp_case(kase, "header-signed-request.txt", &srn);
    int ok = 0;
    json_t *ctx = ctx_text ? json_loads(ctx_text, 0, NULL) : NULL;
    struct parsed got, want;
    memset(&got, 0, sizeof got);
    memset(&want, 0, sizeof want);
    if (!req_text || !ctx || !want_creq || !want_sts || !want_sig || !want_signed) {
        printf("#   %s: files missing\n", kase);
        goto out;
    }
    strip_final_newline(want_sig, &sign);
    if (parse_request(req_text, rn, &got) || parse_request(want_signed, srn, &want)) {
        printf("#   %s: request.txt does not parse\n", kase);
        goto out;
    }
    json_t *cr = json_object_get(ctx, "credentials");
    struct llm__sigv4 p = {
        .access_key_id = json_string_value(json_object_get(cr, "access_key_id")),
        .secret_access_key = json_string_value(json_object_get(cr, "secret_access_key")),
        .session_token = json_string_value(json_object_get(cr, "token")),
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .now_ms = parse_timestamp(json_string_value(json_object_get(ctx, "timestamp"))),
        .sign_body = json_is_true(json_object_get(ctx, "sign_body")),
        .omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
    };
    json_t *norm = json_object_get(ctx, "normalize");
    if (json_is_false(norm)) {
        p.no_normalize_path = 1;
        p.no_double_encode = 1;
        *s3_out = 1;
    }
    struct llm__sigv4_trace tr;
    memset(&tr, 0, sizeof tr);
    const char *why = NULL;
    int rc = llm__sigv4_sign(&got.req, &p, &tr, &why);
    if (rc != LLM_OK) {
        printf("#   %s: signing failed %d (%s)\n", kase, rc, why ? why : "");
        llm__sigv4_trace_free(&tr);
        goto out;
    }
    ok = 1;
    if (!tr.canonical_request.data || strcmp(tr.canonical_request.data, want_creq) != 0) {
        printf("#   %s: canonical request\n#   got:\n%s\n#   want:\n%s\n", kase,
               tr.canonical_request.data ? tr.canonical_request.data : "", want_creq);
        ok = 0;
    }
    if (!tr.string_to_sign.data || strcmp(tr.string_to_sign.data, want_sts) != 0) {
        printf("#   %s: string to sign differs\n", kase);
        ok = 0;
    }
    if (strcmp(tr.signature, want_sig) != 0) {
        printf("#   %s: signature %s, want %s\n", kase, tr.signature, want_sig);
        ok = 0;
    }
    if (!same_headers(&got.req, &want.req)) {
        printf("#   %s: signed request headers differ\n", kase);
        ok = 0;
    }
    if (got.req.body.len != want.req.body.len ||
        (got.req.body.len && memcmp(got.req.body.data, want.req.body.data, got.req.body.len))) {
        printf("#   %s: body changed\n", kase);
        ok = 0;
    }
    llm__sigv4_trace_free(&tr);
out:
    parsed_free(&got);
    parsed_free(&want);
    json_decref(ctx);
    free(req_text);
    free(ctx_text);
    free(want_creq);
    free(want_sts);
    free(want_sig);
    free(want_signed);
    return ok;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(aws_test_suite)
{
    DIR *d = opendir(vec_root());
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[128];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 128) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s/request.txt", vec_root(), e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fclose(f);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    int passed = 0, s3 = 0;
    for (size_t i = 0; i < n; i++) {
        int was_s3 = 0;
        int ok = run_case(names[i], &was_s3);
        CHECK(ok);
        if (!ok)
            printf("#   case %s failed\n", names[i]);
        passed += ok;
        s3 += was_s3;
        free(names[i]);
    }
    printf("#   %d of %zu suite cases pass (%d S3-style)\n", passed, n, s3);
    /* The suite as shipped: 38 cases, 7 of them unnormalised. */
    CHECK_INT(n, 38);
    CHECK_INT(s3, 7);
}

/* ---- Bedrock-shaped requests -------------------------------------------- */

static const char *BODY_66 =
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}],"
    "\"inferenceConfig\":{\"maxTokens\":256}}";

static void bedrock_req(struct llm__http_req *h, const char *url, const char *body)
{
    memset(h, 0, sizeof *h);
    h->method = "POST";
    llm__buf_puts(&h->url, url);
    llm__buf_puts(&h->body, body);
    llm__http_req_header(h, "Content-Type", "application/json");
}

static struct llm__sigv4 bedrock_params(const char *token)
{
    struct llm__sigv4 p = {
        .access_key_id = AK, .secret_access_key = SK, .session_token = token,
        .region = "us-east-1", .service = "bedrock", .now_ms = T_2024,
    };
    return p;
}

/* providers.md 6.6, verbatim. */
TEST(worked_example)
{
    struct llm__http_req h;
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                    "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", BODY_66);
    CHECK_INT(strlen(BODY_66), 95);
    char hash[65];
    CHECK_INT(llm__sigv4_sha256_hex(BODY_66, strlen(BODY_66), hash), LLM_OK);
    CHECK_STR(hash, "d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1");
    CHECK_INT(llm__sigv4_sha256_hex(NULL, 0, hash), LLM_OK);
    CHECK_STR(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    struct llm__sigv4 p = bedrock_params(NULL);
    struct llm__sigv4_trace tr;
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK_STR(tr.canonical_request.data,
              "POST\n"
              "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n"
              "\n"
              "content-type:application/json\n"
              "host:bedrock-runtime.us-east-1.amazonaws.com\n"
              "x-amz-date:20240615T120000Z\n"
              "\n"
              "content-type;host;x-amz-date\n"
              "d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1");
    CHECK_INT(llm__sigv4_sha256_hex(tr.canonical_request.data, tr.canonical_request.len, hash), LLM_OK);
    CHECK_STR(hash, "2e118ce6fd13bef1a796942aa2e50b3c4adba86b29f74ab40ccacde5c9759da3");
    CHECK_STR(tr.string_to_sign.data,
              "AWS4-HMAC-SHA256\n"
              "20240615T120000Z\n"
              "20240615/us-east-1/bedrock/aws4_request\n"
              "2e118ce6fd13bef1a796942aa2e50b3c4adba86b29f74ab40ccacde5c9759da3");
    CHECK_STR(tr.signature, "661855bb5740fa4d2132b1eb78d1371d724cb9b3fe70e7057491f8431f647021");
    CHECK_STR(llm__http_req_get(&h, "Authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240615/us-east-1/bedrock/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date, "
              "Signature=661855bb5740fa4d2132b1eb78d1371d724cb9b3fe70e7057491f8431f647021");
    CHECK_STR(llm__http_req_get(&h, "X-Amz-Date"), "20240615T120000Z");
    CHECK(llm__http_req_get(&h, "X-Amz-Security-Token") == NULL);
    /* Host comes from the URL for signing; the HTTP client sends it. */
    CHECK(llm__http_req_get(&h, "Host") == NULL);
    CHECK_INT(h.nheaders, 3);

    /* Signing again (a retry) replaces the signing headers. */
    p.now_ms += 1000;
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK_INT(h.nheaders, 3);
    CHECK_STR(llm__http_req_get(&h, "X-Amz-Date"), "20240615T120001Z");
    CHECK(strcmp(tr.signature, "661855bb5740fa4d2132b1eb78d1371d724cb9b3fe70e7057491f8431f647021") != 0);
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);

    /* Temporary credentials. */
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                    "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", BODY_66);
    p = bedrock_params("FQoGZXIvYXdzEXAMPLETOKEN");
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK(strstr(tr.canonical_request.data, "\nx-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n") != NULL);
    CHECK(strstr(tr.canonical_request.data, "\ncontent-type;host;x-amz-date;x-amz-security-token\n") != NULL);
    CHECK_INT(llm__sigv4_sha256_hex(tr.canonical_request.data, tr.canonical_request.len, hash), LLM_OK);
    CHECK_STR(hash, "8d7fa428f38d4ce3a80f904e7327a872afaa2b50957b048821c6401aecbfe468");
    CHECK_STR(tr.signature, "e4a2abc2419a0d657c7e4c4d70f748b48c2601ca571b6be171be96e6425ba35e");
    CHECK_STR(llm__http_req_get(&h, "X-Amz-Security-Token"), "FQoGZXIvYXdzEXAMPLETOKEN");
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);

    /* Encoding the path only once is the classic mistake: a different
     * signature (providers.md 6.6 quotes its first bytes). */
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                    "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", BODY_66);
    p = bedrock_params(NULL);
    p.no_double_encode = 1;
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK(strstr(tr.canonical_request.data, "\n/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse\n") != NULL);
    CHECK(strncmp(tr.signature, "12bde14f", 8) == 0);
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);
}

/* An inference-profile ARN (':' and '/' in the model id) with a session
 * token; expected values from botocore 1.43.11's SigV4Auth. */
TEST(inference_profile_arn)
{
    struct llm__http_req h;
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                    "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
                    "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream",
                "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}]}");
    struct llm__sigv4 p = bedrock_params("FQoGZXIvYXdzEXAMPLETOKEN");
    struct llm__sigv4_trace tr;
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK_STR(tr.canonical_request.data,
              "POST\n"
              "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile"
              "%252Fus.anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse-stream\n"
              "\n"
              "content-type:application/json\n"
              "host:bedrock-runtime.us-east-1.amazonaws.com\n"
              "x-amz-date:20240615T120000Z\n"
              "x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n"
              "\n"
              "content-type;host;x-amz-date;x-amz-security-token\n"
              "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54");
    CHECK_STR(tr.string_to_sign.data,
              "AWS4-HMAC-SHA256\n20240615T120000Z\n20240615/us-east-1/bedrock/aws4_request\n"
              "489bc12079ccdf3e179d2e06ed5d098f7b9c5a3de6c6fca8d22737023f1f1567");
    CHECK_STR(tr.signature, "414d42abe2dbc8a1592c2a15b26947cdb9a3176572e284134e1cc813cb9b217c");
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);
}

/* A geography-prefixed profile id on a non-default port: the port is part
 * of the signed host; a default port is not (botocore 1.43.11). */
TEST(host_and_port)
{
    struct llm__http_req h;
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com:8443/model/"
                    "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse", "{}");
    struct llm__sigv4 p = bedrock_params(NULL);
    struct llm__sigv4_trace tr;
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK(strstr(tr.canonical_request.data, "\nhost:bedrock-runtime.us-east-1.amazonaws.com:8443\n") != NULL);
    CHECK_STR(tr.signature, "6a473cf79a7bfee589034d37dce4fa8d5d6bdbfcf2c8c053fec7bfaa98a9cefd");
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);

    static const struct { const char *url, *host; } hosts[] = {
        {"https://h.example:443/x", "h.example"},
        {"http://h.example:80/x", "h.example"},
        {"http://h.example:443/x", "h.example:443"},
        {"https://user:pw@h.example/x", "h.example"},
        {"http://127.0.0.1:8080/t/bedrock", "127.0.0.1:8080"},
        {"http://[::1]:9000/x", "[::1]:9000"},
        {"http://[::1]/x", "[::1]"},
        {"https://h.example", "h.example"},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(hosts); i++) {
        bedrock_req(&h, hosts[i].url, "");
        memset(&tr, 0, sizeof tr);
        CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
        char want[128];
        snprintf(want, sizeof want, "\nhost:%s\n", hosts[i].host);
        CHECK(tr.canonical_request.data && strstr(tr.canonical_request.data, want) != NULL);
        if (i == LLM__ARRAY_LEN(hosts) - 1)
            CHECK(strncmp(tr.canonical_request.data, "POST\n/\n\n", 8) == 0);
        llm__sigv4_trace_free(&tr);
        llm__http_req_free(&h);
    }
}

/* Headers that must not be signed stay out of SignedHeaders. */
TEST(unsigned_headers)
{
    struct llm__http_req h;
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", "{}");
    llm__http_req_header(&h, "User-Agent", "libllm/1.0");
    llm__http_req_header(&h, "Expect", "");
    llm__http_req_header(&h, "X-Amzn-Trace-Id", "Root=1");
    llm__http_req_header(&h, "Accept", "application/json");
    struct llm__sigv4 p = bedrock_params(NULL);
    struct llm__sigv4_trace tr;
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK(strstr(llm__http_req_get(&h, "Authorization"),
                 "SignedHeaders=accept;content-type;host;x-amz-date,") != NULL);
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);
}

TEST(bad_input)
{
    struct llm__http_req h;
    struct llm__sigv4 p = bedrock_params(NULL);
    const char *why = NULL;
    bedrock_req(&h, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", "{}");
    CHECK_INT(llm__sigv4_sign(NULL, &p, NULL, &why), LLM_ERR_INVALID_ARG);
    CHECK_INT(llm__sigv4_sign(&h, NULL, NULL, &why), LLM_ERR_INVALID_ARG);

    struct llm__sigv4 q = p;
    q.secret_access_key = "";
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    CHECK(why && strstr(why, "secret") != NULL);
    q = p;
    q.access_key_id = NULL;
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    q = p;
    q.access_key_id = "AKID/EXAMPLE";
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    q = p;
    q.region = "us-east-1/x";
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    CHECK(why && strstr(why, "region") != NULL);
    q = p;
    q.region = NULL;
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    q = p;
    q.service = "";
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    q = p;
    q.session_token = "a\r\nX-Evil: 1";
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    q = p;
    q.now_ms = -1000;
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    CHECK(why && strstr(why, "time") != NULL);
    q.now_ms = INT64_MAX;
    CHECK_INT(llm__sigv4_sign(&h, &q, NULL, &why), LLM_ERR_INVALID_ARG);
    /* Nothing was added by the failed attempts. */
    CHECK_INT(h.nheaders, 1);
    llm__http_req_free(&h);

    static const char *urls[] = {"", "bedrock-runtime.us-east-1.amazonaws.com/model", "://x/y",
                                 "https:///path", "https://user@/p"};
    for (size_t i = 0; i < LLM__ARRAY_LEN(urls); i++) {
        bedrock_req(&h, urls[i], "");
        CHECK_INT(llm__sigv4_sign(&h, &p, NULL, &why), LLM_ERR_INVALID_ARG);
        CHECK(why && strstr(why, "URL") != NULL);
        llm__http_req_free(&h);
    }
    /* No URL at all. */
    memset(&h, 0, sizeof h);
    h.method = "POST";
    CHECK_INT(llm__sigv4_sign(&h, &p, NULL, &why), LLM_ERR_INVALID_ARG);
    llm__http_req_free(&h);
}

/* Paths and queries beyond the suite: hostile bytes, long paths, escapes. */
TEST(paths_and_queries)
{
    static const struct { const char *url, *uri, *query; int s3; } cases[] = {
        {"https://h/a/b/..", "/a", "", 0},
        {"https://h/a/b/../", "/a/", "", 0},
        {"https://h/../../..", "/", "", 0},
        {"https://h/a%2Fb", "/a%252Fb", "", 0},
        {"https://h/a%2Fb", "/a%2Fb", "", 1},
        {"https://h/a%zzb", "/a%25zzb", "", 1},
        {"https://h/%", "/%25", "", 1},
        {"https://h/x?b=2&a=1&a=0", "/x", "a=0&a=1&b=2", 0},
        {"https://h/x?flag&e=", "/x", "e=&flag=", 0},
        {"https://h/x?a=%zz&&c=%4", "/x", "a=%25zz&c=%254", 0},
        {"https://h/x?q=a+b c#frag", "/x", "q=a%2Bb%20c", 0},
        {"https://h/x#?notquery", "/x", "", 0},
    };
    for (size_t i = 0; i < LLM__ARRAY_LEN(cases); i++) {
        struct llm__http_req h;
        bedrock_req(&h, cases[i].url, "");
        struct llm__sigv4 p = bedrock_params(NULL);
        p.no_double_encode = p.no_normalize_path = cases[i].s3;
        struct llm__sigv4_trace tr;
        memset(&tr, 0, sizeof tr);
        CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
        char want[256];
        snprintf(want, sizeof want, "POST\n%s\n%s\n", cases[i].uri, cases[i].query);
        CHECK(tr.canonical_request.data &&
              strncmp(tr.canonical_request.data, want, strlen(want)) == 0);
        if (!(tr.canonical_request.data && strncmp(tr.canonical_request.data, want, strlen(want)) == 0))
            printf("#   %s -> %s\n", cases[i].url, tr.canonical_request.data ? tr.canonical_request.data : "");
        llm__sigv4_trace_free(&tr);
        llm__http_req_free(&h);
    }
    /* A long path of dot segments and every byte value. */
    llm__buf url = {0};
    llm__buf_puts(&url, "https://h/");
    for (int i = 0; i < 2000; i++)
        llm__buf_puts(&url, i % 3 ? "../" : "./a/");
    for (int c = 1; c < 256; c++)
        if (c != '?' && c != '#')
            llm__buf_putc(&url, (char)c);
    struct llm__http_req h;
    bedrock_req(&h, url.data, "");
    struct llm__sigv4 p = bedrock_params(NULL);
    struct llm__sigv4_trace tr;
    memset(&tr, 0, sizeof tr);
    CHECK_INT(llm__sigv4_sign(&h, &p, &tr, NULL), LLM_OK);
    CHECK(strlen(tr.signature) == 64);
    llm__sigv4_trace_free(&tr);
    llm__http_req_free(&h);
    llm__buf_free(&url);
}

int main(void)
{
    if (llm_global_init(LLM_INIT_NO_ENV) != LLM_OK) {
        printf("not ok - llm_global_init\n");
        return 1;
    }
    RUN(aws_test_suite);
    RUN(worked_example);
    RUN(inference_profile_arn);
    RUN(host_and_port);
    RUN(unsigned_headers);
    RUN(bad_input);
    RUN(paths_and_queries);
    llm_global_cleanup();
    return test_summary();
}
