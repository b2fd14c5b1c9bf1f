/*
 * tserver.h - start, address and query the loopback test server
 * (tests/server, the llmtestd binary) from a test binary.
 *
 * One server per test process.  tserver_start() spawns
 * $LLM_TEST_SERVER (default build/tests/llmtestd) with --stdin-exit, so
 * the server also ends when the test process dies; if LLM_TEST_PORT is set,
 * an already running server on that port is used instead and nothing is
 * spawned.  Nothing is registered with atexit: call tserver_stop().
 *
 * URLs have the shape http://127.0.0.1:PORT/t/<provider>/<case>/<faults>/...
 * and the counters of the control endpoints are per prefix; put a nonce
 * (e.g. "n17") among the faults to get counters of your own.  The fault
 * tokens are listed in tests/server/README.md.
 *
 * The functions are not thread-safe with respect to start/stop; the query
 * functions may run from any thread once the server is up.
 */
#ifndef LLM_TSERVER_H
#define LLM_TSERVER_H

#include <jansson.h>

/* Starts the server on fixture root (NULL: $LLM_TEST_ROOT, else
 * "tests/providers"); returns its port, or -1 with a message on stderr.
 * A second call while running returns the same port. */
int tserver_start(const char *root);

/* Stops (SIGTERM) and reaps the server started by tserver_start. */
void tserver_stop(void);

/* The port, or -1 when not started. */
int tserver_port(void);

/* The spawned server's process id, or 0 when using LLM_TEST_PORT. */
int tserver_pid(void);

/* malloc'd "http://127.0.0.1:PORT/t/<provider>/<kase>/<faults>/<suffix>";
 * faults NULL or "" means "ok"; an empty or NULL suffix gives the URL
 * without a trailing slash, and a suffix's own leading '/' is not doubled.
 * Free with free(). */
char *tserver_url(const char *provider, const char *kase, const char *faults,
                  const char *suffix);

/* malloc'd "/t/<provider>/<kase>/<faults>", the key of the counters. */
char *tserver_prefix(const char *provider, const char *kase, const char *faults);

/* GET http://127.0.0.1:PORT<path_and_query>; returns the malloc'd body
 * (NUL-terminated), or NULL on a transport error or an HTTP status >= 400. */
char *tserver_get(const char *path_and_query);

/* Counters for every request whose path starts with prefix: requests and
 * accepted connections whose first request matched.  0 on success, -1 on
 * failure (outputs then untouched).  Either output may be NULL. */
int tserver_stats(const char *prefix, long *requests, long *accepts);

/* The recorded requests under prefix, oldest first, as a jansson array of
 * {"method","path","query","headers":[[name,value]...],"body",
 *  "body_bytes","new_connection"}; NULL on failure.  json_decref it. */
json_t *tserver_requests(const char *prefix);

/* Clears all counters and records; 0 on success. */
int tserver_reset(void);

#endif
