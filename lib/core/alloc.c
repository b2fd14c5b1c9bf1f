/*
 * alloc.c - the one process-wide allocator, global init and cleanup.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

static void *libc_malloc(size_t n, void *ud) { (void)ud; return malloc(n); }
static void *libc_realloc(void *p, size_t n, void *ud) { (void)ud; return realloc(p, n); }
static void  libc_free(void *p, void *ud) { (void)ud; free(p); }

/* Set only by llm_global_init_alloc before the first init, read after:
 * the Init-only contract makes plain variables enough. */
static llm_malloc_fn   g_malloc = libc_malloc;
static llm_realloc_fn  g_realloc = libc_realloc;
static llm_free_mem_fn g_free = libc_free;
static void           *g_alloc_ud;

static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int             g_init_count;
static uint32_t        g_flags;
static int             g_curl_inited;

void *llm__malloc(size_t n) { return g_malloc(n ? n : 1, g_alloc_ud); }

void *llm__calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = llm__malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *llm__realloc(void *p, size_t n) { return g_realloc(p, n ? n : 1, g_alloc_ud); }

void llm__free(void *p)
{
    if (p)
        g_free(p, g_alloc_ud);
}

void llm_free(void *p) { llm__free(p); }

char *llm__strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = llm__malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *llm__strdup(const char *s) { return s ? llm__strndup(s, strlen(s)) : NULL; }

void llm__free_secret(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    llm__free(s);
}

/* jansson and libcurl allocators take no userdata, so these trampolines
 * forward to the host's allocator with the stored userdata. */
static void *j_malloc(size_t n) { return llm__malloc(n); }
static void  j_free(void *p) { llm__free(p); }
static void *c_realloc(void *p, size_t n) { return llm__realloc(p, n); }
static char *c_strdup(const char *s) { return llm__strdup(s); }
static void *c_calloc(size_t a, size_t b) { return llm__calloc(a, b); }

static int init_locked(uint32_t flags)
{
    if (g_init_count++ > 0)
        return LLM_OK;
    g_flags = flags;
    if (flags & LLM_INIT_ALLOC_JANSSON)
        json_set_alloc_funcs(j_malloc, j_free);
    if (flags & LLM_INIT_CURL) {
        CURLcode rc;
        if (flags & LLM_INIT_ALLOC_CURL)
            rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, j_malloc, j_free,
                                      c_realloc, c_strdup, c_calloc);
        else
            rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK) {
            g_init_count = 0;
            return rc == CURLE_OUT_OF_MEMORY ? LLM_ERR_NOMEM : LLM_ERR_NETWORK;
        }
        g_curl_inited = 1;
    }
    return LLM_OK;
}

int llm_global_init(uint32_t flags)
{
    pthread_mutex_lock(&g_init_lock);
    int rc = init_locked(flags);
    pthread_mutex_unlock(&g_init_lock);
    return rc;
}

int llm_global_init_alloc(uint32_t flags, llm_malloc_fn m, llm_realloc_fn r,
                          llm_free_mem_fn f, void *ud)
{
    if (!m || !r || !f)
        return LLM_ERR_MISUSE;
    pthread_mutex_lock(&g_init_lock);
    int rc;
    if (g_init_count > 0) {
        rc = LLM_ERR_MISUSE;
    } else {
        g_malloc = m;
        g_realloc = r;
        g_free = f;
        g_alloc_ud = ud;
        rc = init_locked(flags);
        if (rc != LLM_OK) {
            g_malloc = libc_malloc;
            g_realloc = libc_realloc;
            g_free = libc_free;
            g_alloc_ud = NULL;
        }
    }
    pthread_mutex_unlock(&g_init_lock);
    return rc;
}

void llm_global_cleanup(void)
{
    pthread_mutex_lock(&g_init_lock);
    if (g_init_count > 0 && --g_init_count == 0) {
        if (g_curl_inited) {
            curl_global_cleanup();
            g_curl_inited = 0;
        }
        if (g_flags & LLM_INIT_ALLOC_JANSSON)
            json_set_alloc_funcs(malloc, free);
        g_malloc = libc_malloc;
        g_realloc = libc_realloc;
        g_free = libc_free;
        g_alloc_ud = NULL;
        g_flags = 0;
    }
    pthread_mutex_unlock(&g_init_lock);
}

int llm__initialised(void)
{
    pthread_mutex_lock(&g_init_lock);
    int n = g_init_count;
    pthread_mutex_unlock(&g_init_lock);
    return n > 0;
}

uint32_t llm__init_flags(void) { return g_flags; }
