/*
 * hooks.c - every hook of a hooks object in one program: a retry hook that
 * delegates to the built-in policy, the built-in memory cache, a cost hook,
 * an admission hook with a budget per user, an observer printing the
 * OpenTelemetry attributes of each attempt, a log hook, a credentials hook
 * rotating two keys, and a fallback client behind a circuit breaker.
 *
 *   hooks [--provider P] [--model M] [--base-url URL] [--fallback-url URL] [prompt]
 *
 * User "ada" asks twice (the second answer comes from the cache), user
 * "bob", who has no budget, once (refused).  With LLM_API_KEY_1 and
 * LLM_API_KEY_2 set, attempts alternate between the two keys; otherwise the
 * provider's usual variable (OPENAI_API_KEY, ...) is used.  Against the
 * test server, a fault in the URL shows a retry, and fail=5x503 a fallback:
 *   hooks --base-url http://127.0.0.1:PORT/t/openai/text/fail=1x503/v1
 *
 * Hooks run on the thread that makes the call, and on several at once when
 * several threads share a client: hence the mutex and the atomic below,
 * although this program makes its calls from one thread.
 */
#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- retry: the built-in policy decides; this hook says what it decided */

static int on_retry(const llm_attempt *a, int *retry_out, int64_t *delay_ms_out, void *userdata)
{
    (void)userdata;
    int rc = llm_retry_default(a, retry_out, delay_ms_out, NULL);
    fprintf(stderr, "[retry] attempt %d: %s (HTTP %d): ", (int)llm_attempt_number(a),
            llm_status_name(llm_attempt_status(a)), llm_attempt_http_status(a));
    if (*retry_out)
        fprintf(stderr, "retry in %" PRId64 " ms\n", *delay_ms_out);
    else
        fprintf(stderr, "give up\n");
    return rc;
}

/* ---- admission and cost: a budget in nano-USD (1e-9 USD) per user ------ */

struct budget {
    const char *user;
    int64_t left_nanos;
};

struct budgets {
    pthread_mutex_t lock;
    struct budget users[2];
};

#define DENY_NO_BUDGET 402     /* any non-zero code of the host's choosing */

static struct budget *find(struct budgets *b, const char *user)
{
    for (size_t i = 0; user && i < sizeof b->users / sizeof b->users[0]; i++)
        if (strcmp(b->users[i].user, user) == 0)
            return &b->users[i];
    return NULL;
}

static int on_admit(const llm_attempt *a, int32_t *deny_code_out, void *userdata)
{
    struct budgets *b = userdata;
    int64_t worst = llm_attempt_max_cost_nanos(a);   /* -1: the model's price is unknown */
    pthread_mutex_lock(&b->lock);
    struct budget *u = find(b, llm_attempt_user(a));
    if (!u || u->left_nanos <= 0 || worst > u->left_nanos)
        *deny_code_out = DENY_NO_BUDGET;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int on_cost(const llm_attempt *a, void *userdata)
{
    struct budgets *b = userdata;
    int64_t nanos;
    if (llm_attempt_cost_nanos(a, &nanos) != LLM_OK) {
        fprintf(stderr, "[cost] %s: unknown (no price for %s)\n", llm_attempt_user(a),
                llm_attempt_model(a));
        return 0;
    }
    fprintf(stderr, "[cost] %s: %" PRId64 " nano-USD%s\n", llm_attempt_user(a), nanos,
            llm_attempt_cache_hit(a) ? " (cache hit)" : "");
    pthread_mutex_lock(&b->lock);
    struct budget *u = find(b, llm_attempt_user(a));
    if (u)
        u->left_nanos -= nanos;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

/* ---- observer and log --------------------------------------------------- */

static void on_observe(const llm_attempt *a, void *userdata)
{
    (void)userdata;
    fprintf(stderr, "[observe] attempt %d, %" PRId64 " ms:", (int)llm_attempt_number(a),
            llm_attempt_latency_ms(a));
    for (size_t i = 0; i < llm_attempt_attr_count(a); i++)
        fprintf(stderr, " %s=%s", llm_attempt_attr_name(a, i), llm_attempt_attr_value(a, i));
    fprintf(stderr, "\n");
}

static void on_log(int level, const char *line, void *userdata)
{
    static const char *const names[] = {"?", "error", "warn", "info", "debug"};
    (void)userdata;
    fprintf(stderr, "[log %s] %s\n", names[level >= 1 && level <= 4 ? level : 0], line);
}

/* ---- credentials: two keys in turn, e.g. to spread a rate limit -------- */

struct keys {
    const char *key[2];
    atomic_uint next;
};

static int on_credentials(const llm_attempt *a, llm_credentials *creds, void *userdata)
{
    struct keys *k = userdata;
    if (!k->key[0] || !k->key[1])
        return 0;              /* nothing set: the client's own credential */
    unsigned i = atomic_fetch_add(&k->next, 1) % 2;
    fprintf(stderr, "[credentials] attempt %d uses key %u\n", (int)llm_attempt_number(a), i + 1);
    /* Bedrock would take llm_credentials_set_aws instead. */
    return llm_credentials_set_api_key(creds, k->key[i]);
}

/* ---- the program -------------------------------------------------------- */

static int ask(llm_client *client, const char *prompt, const char *user)
{
    llm_request *req = NULL;
    llm_call_opts *opts = NULL;
    llm_response *resp = NULL;
    int rc = LLM_ERR_NOMEM;
    if (llm_request_new(&req) == LLM_OK &&
        llm_request_add_text(req, LLM_ROLE_USER, prompt) == LLM_OK &&
        llm_call_opts_new(&opts) == LLM_OK && llm_call_opts_set_user(opts, user) == LLM_OK)
        rc = llm_complete(client, req, opts, &resp);
    if (rc == LLM_OK)
        printf("%s: %s%s\n", user, llm_response_text(resp, NULL),
               llm_response_cache_hit(resp) ? " (from the cache)" : "");
    else if (rc == LLM_ERR_DENIED)
        printf("%s: refused, code %d\n", user, (int)llm_response_deny_code(resp));
    else if (resp)
        example_report(resp);
    llm_response_free(resp);
    llm_call_opts_free(opts);
    llm_request_free(req);
    return rc;
}

int main(int argc, char **argv)
{
    const char *fallback_url = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--fallback-url") == 0) {
            fallback_url = argv[i + 1];
            for (int k = i; k + 2 < argc; k++)
                argv[k] = argv[k + 2];
            argc -= 2;
            break;
        }
    struct example_opts o;
    if (example_args(argc, argv, &o, "Say hi.") != 0)
        return 2;
    if (llm_global_init(LLM_INIT_DEFAULT) != LLM_OK)
        return 1;

    struct budgets budgets = {.users = {{"ada", 10000000}, {"bob", 0}}};   /* 1 cent, nothing */
    pthread_mutex_init(&budgets.lock, NULL);
    struct keys keys = {.key = {getenv("LLM_API_KEY_1"), getenv("LLM_API_KEY_2")}};
    atomic_init(&keys.next, 0);

    int status = 1;
    llm_hooks *hooks = NULL;
    llm_client *primary = NULL, *backup = NULL;
    /* budgets and keys outlive every client: no free functions needed. */
    if (llm_hooks_new(&hooks) != LLM_OK ||
        llm_hooks_set_retry(hooks, on_retry, NULL, NULL) != LLM_OK ||
        llm_hooks_use_memory_cache(hooks, 1000, 16u << 20, 10 * 60 * 1000) != LLM_OK ||
        llm_hooks_set_admit(hooks, on_admit, &budgets, NULL) != LLM_OK ||
        llm_hooks_set_cost(hooks, on_cost, &budgets, NULL) != LLM_OK ||
        llm_hooks_set_observe(hooks, on_observe, NULL, NULL) != LLM_OK ||
        llm_hooks_set_log(hooks, on_log, LLM_LOG_INFO, NULL, NULL) != LLM_OK ||
        llm_hooks_set_credentials(hooks, on_credentials, &keys, NULL) != LLM_OK)
        goto out;

    /* The fallback: the same provider elsewhere (another region, deployment
     * or gateway).  Its attempts run its own hooks: give it the same ones. */
    struct example_opts fo = o;
    if (fallback_url)
        fo.base_url = fallback_url;
    if (!(primary = example_client(&o)) || !(backup = example_client(&fo)))
        goto out;
    if (llm_client_set_hooks(backup, hooks) != LLM_OK ||
        llm_client_set_hooks(primary, hooks) != LLM_OK ||
        /* With a credentials hook the cache needs a scope of its own. */
        llm_client_set_cache_namespace(primary, "hooks-example") != LLM_OK ||
        /* Three retryable failures in a row open the breaker for 30 s:
         * calls go straight to the fallback, then one probe tests the
         * primary again. */
        llm_client_set_breaker(primary, 3, 30000) != LLM_OK ||
        llm_client_set_fallback(primary, backup) != LLM_OK) {
        fprintf(stderr, "%s\n", llm_client_errmsg(primary));
        goto out;
    }

    status = 0;
    static const char *const users[] = {"ada", "ada", "bob"};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        int rc = ask(primary, o.prompt, users[i]);
        if (rc != LLM_OK && rc != LLM_ERR_DENIED)
            status = 1;
    }
    static const char *const states[] = {"closed", "open", "half-open"};
    int st = llm_client_breaker_state(primary);
    fprintf(stderr, "[breaker] primary: %s; ada has %" PRId64 " nano-USD left\n",
            st >= 0 && st <= 2 ? states[st] : "?", budgets.users[0].left_nanos);
out:
    llm_client_free(primary);
    llm_client_free(backup);
    llm_hooks_free(hooks);
    pthread_mutex_destroy(&budgets.lock);
    llm_global_cleanup();
    return status;
}
