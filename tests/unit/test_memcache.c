/*
 * test_memcache.c - the built-in LRU cache: copies in and out, recency,
 * entry and byte limits, expiry on the test clock, growth, threads.
 */
#include "test.h"
#include "internal.h"
#include "hooks/builtin.h"

#define LLM_EXPERIMENTAL 1
#include "llm_experimental.h"

#include <pthread.h>
#include <stdio.h>

static int64_t fake_now;
static int64_t clock_fn(void *ud)
{
    (void)ud;
    return fake_now;
}

static struct llm__memcache *new_cache(size_t entries, size_t bytes)
{
    struct llm__memcache *m = NULL;
    CHECK_INT(llm__memcache_new(&m, entries, bytes), LLM_OK);
    return m;
}

static int has(struct llm__memcache *m, const char *key)
{
    llm__buf v = {0};
    int rc = llm__memcache_get(m, key, strlen(key), &v);
    llm__buf_free(&v);
    return rc == LLM_OK;
}

static int put_s(struct llm__memcache *m, const char *key, const char *val, int64_t ttl)
{
    return llm__memcache_put(m, key, strlen(key), val, strlen(val), ttl);
}

TEST(values_are_copied_both_ways)
{
    struct llm__memcache *m = new_cache(0, 0);
    char key[] = "k\0ey";                /* keys are bytes, NULs included */
    char val[] = "v\0al\xff";
    CHECK_INT(llm__memcache_put(m, key, 4, val, 5, 0), LLM_OK);
    val[0] = 'X';
    key[0] = 'X';
    llm__buf out = {0};
    CHECK_INT(llm__memcache_get(m, "k\0ey", 4, &out), LLM_OK);
    CHECK_INT(out.len, 5);
    CHECK(memcmp(out.data, "v\0al\xff", 5) == 0);
    CHECK_INT(out.data[5], 0);
    out.data[0] = 'Y';                   /* the caller's copy, not the cache's */
    CHECK_INT(llm__memcache_get(m, "k\0ey", 4, &out), LLM_OK);
    CHECK_INT(out.data[0], 'v');
    CHECK_INT(out.len, 5);               /* replaced, not appended */
    CHECK_INT(llm__memcache_get(m, "k", 1, &out), LLM_ERR_NOT_AVAILABLE);
    CHECK_INT(llm__memcache_get(m, "k\0ez", 4, &out), LLM_ERR_NOT_AVAILABLE);
    /* An empty value is a value. */
    CHECK_INT(llm__memcache_put(m, "e", 1, NULL, 0, 0), LLM_OK);
    CHECK_INT(llm__memcache_get(m, "e", 1, &out), LLM_OK);
    CHECK_INT(out.len, 0);
    CHECK_INT(llm__memcache_put(m, "e", 1, NULL, 3, 0), LLM_ERR_MISUSE);
    CHECK_INT(llm__memcache_get(m, NULL, 1, &out), LLM_ERR_MISUSE);
    CHECK_INT(llm__memcache_get(NULL, "e", 1, &out), LLM_ERR_MISUSE);
    CHECK_INT(llm__memcache_new(NULL, 0, 0), LLM_ERR_MISUSE);
    llm__buf_free(&out);
    llm__memcache_free(m);
    llm__memcache_free(NULL);
}

TEST(replacing_a_key_keeps_one_entry)
{
    struct llm__memcache *m = new_cache(0, 0);
    put_s(m, "key", "first", 0);
    put_s(m, "key", "second!", 0);
    CHECK_INT(llm__memcache_count(m), 1);
    CHECK_INT(llm__memcache_bytes(m), 3 + 7);
    llm__buf v = {0};
    CHECK_INT(llm__memcache_get(m, "key", 3, &v), LLM_OK);
    CHECK_STR(v.data, "second!");
    llm__buf_free(&v);
    llm__memcache_free(m);
}

TEST(least_recently_used_goes_first)
{
    struct llm__memcache *m = new_cache(3, 0);
    put_s(m, "a", "1", 0);
    put_s(m, "b", "2", 0);
    put_s(m, "c", "3", 0);
    CHECK(has(m, "a"));                  /* a is now the most recent */
    put_s(m, "d", "4", 0);
    CHECK_INT(llm__memcache_count(m), 3);
    CHECK(!has(m, "b"));
    CHECK(has(m, "a") && has(m, "c") && has(m, "d"));
    put_s(m, "c", "33", 0);              /* a put refreshes too */
    put_s(m, "e", "5", 0);
    CHECK(!has(m, "a"));
    CHECK(has(m, "c") && has(m, "d") && has(m, "e"));
    llm__memcache_free(m);
}

TEST(byte_limit_counts_keys_and_values)
{
    struct llm__memcache *m = new_cache(0, 100);
    char val[41];
    memset(val, 'x', 39);
    val[39] = '\0';
    put_s(m, "k1", val, 0);              /* 2 + 39 = 41 bytes */
    put_s(m, "k2", val, 0);
    CHECK_INT(llm__memcache_bytes(m), 82);
    put_s(m, "k3", val, 0);              /* 123 > 100: k1 goes */
    CHECK_INT(llm__memcache_bytes(m), 82);
    CHECK(!has(m, "k1"));
    CHECK(has(m, "k2") && has(m, "k3"));
    /* Exactly at the limit fits. */
    char big[99];
    memset(big, 'y', 97);
    big[97] = '\0';
    put_s(m, "kk", big, 0);              /* 99 bytes: alone */
    CHECK_INT(llm__memcache_count(m), 1);
    CHECK(has(m, "kk"));
    /* An entry over the limit is not stored, and takes its old value
     * with it rather than leave a stale answer behind. */
    char huge[200];
    memset(huge, 'z', 199);
    huge[199] = '\0';
    CHECK_INT(put_s(m, "kk", huge, 0), LLM_OK);
    CHECK(!has(m, "kk"));
    CHECK_INT(llm__memcache_count(m), 0);
    CHECK_INT(llm__memcache_bytes(m), 0);
    llm__memcache_free(m);
}

TEST(entries_expire_on_the_library_clock)
{
    fake_now = 1000;
    llm_test_set_clock(clock_fn, clock_fn, NULL, NULL);
    struct llm__memcache *m = new_cache(0, 0);
    put_s(m, "short", "v", 500);
    put_s(m, "long", "v", 5000);
    put_s(m, "never", "v", 0);
    fake_now = 1499;
    CHECK(has(m, "short"));
    fake_now = 1500;
    CHECK(!has(m, "short"));
    CHECK_INT(llm__memcache_count(m), 2);    /* removed when found expired */
    fake_now = 1000 + 4999;
    CHECK(has(m, "long"));
    fake_now = 1000000000;
    CHECK(!has(m, "long"));
    CHECK(has(m, "never"));
    /* A new put restarts the clock of a key. */
    put_s(m, "short", "w", 10);
    fake_now += 9;
    CHECK(has(m, "short"));
    llm__memcache_free(m);
    llm_test_set_clock(NULL, NULL, NULL, NULL);
}

TEST(many_entries)
{
    struct llm__memcache *m = new_cache(0, 0);
    char key[32], val[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(val, sizeof val, "val-%d", i * 7);
        CHECK_INT(put_s(m, key, val, 0), LLM_OK);
    }
    CHECK_INT(llm__memcache_count(m), 20000);
    llm__buf v = {0};
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(val, sizeof val, "val-%d", i * 7);
        if (llm__memcache_get(m, key, strlen(key), &v) != LLM_OK || strcmp(v.data, val) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
    llm__buf_free(&v);
    llm__memcache_free(m);
}

static struct llm__memcache *shared;
static int thread_errors;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char key[32], val[32];
    llm__buf v = {0};
    int errors = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "t%d-%d", id, i % 300);
        snprintf(val, sizeof val, "v%d-%d", id, i % 300);
        if (llm__memcache_put(shared, key, strlen(key), val, strlen(val), 0) != LLM_OK)
            errors++;
        int rc = llm__memcache_get(shared, key, strlen(key), &v);
        /* Another thread may have evicted it; a hit must be the right value. */
        if (rc == LLM_OK && strcmp(v.data, val) != 0)
            errors++;
    }
    llm__buf_free(&v);
    pthread_mutex_lock(&err_lock);
    thread_errors += errors;
    pthread_mutex_unlock(&err_lock);
    return NULL;
}

TEST(threads_share_one_cache)
{
    shared = new_cache(500, 0);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(thread_errors, 0);
    CHECK(llm__memcache_count(shared) <= 500);
    llm__memcache_free(shared);
}

int main(void)
{
    RUN(values_are_copied_both_ways);
    RUN(replacing_a_key_keeps_one_entry);
    RUN(least_recently_used_goes_first);
    RUN(byte_limit_counts_keys_and_values);
    RUN(entries_expire_on_the_library_clock);
    RUN(many_entries);
    RUN(threads_share_one_cache);
    return test_summary();
}
