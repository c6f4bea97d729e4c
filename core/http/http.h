/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_HTTP_H
#define DEPLOY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * HTTP exchanges through libcurl multi, each with a connect timeout and a
 * total timeout (both required: every network wait has one) and a cap on
 * its answer. Cloud clients sign and retry above this; http_do() and
 * http_do_many() never retry.
 *
 * Connections are kept alive and reused, per endpoint, by every later call
 * of the process (one TLS handshake per endpoint while the server keeps the
 * connection open); calls from several threads at once each use their own
 * set of connections. A server's certificate is checked against the
 * system's CAs, or those of the file CURL_CA_BUNDLE names (as for curl's
 * own tool).
 *
 * Errors: DEPLOY_ERR_UNREACHABLE (no connection, reset), DEPLOY_ERR_TIMEOUT,
 * DEPLOY_ERR_TOO_BIG (a body past max_body), DEPLOY_ERR_INTERRUPTED (the
 * request's stop flag was set). An HTTP status of 4xx/5xx is
 * not an error here: it is in resp->status for the caller to read.
 * Messages name the method and the URL's scheme://host[:port]/path only,
 * never its query, a header or the body (they may carry credentials).
 */

#define HTTP_MAX_BODY (16u << 20)

struct http_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" … */
	const char *url;
	const char *const *headers; /* "Name: value" lines */
	size_t nr_headers;
	const void *body; /* NULL: none */
	size_t body_len;
	long connect_timeout_ms; /* 0: 5000 */
	long timeout_ms;	 /* 0: 60000 */
	size_t max_body;	 /* 0: HTTP_MAX_BODY */
	/* Never through a proxy, whatever the environment says (the
	 * instance metadata service answers only direct requests). */
	bool no_proxy;
	/* The answer may hold a secret: http_response_free() wipes it. */
	bool secret;
	/* MAY: the body goes to this file instead of resp->body, still
	 * capped at max_body (downloads larger than memory should hold). */
	FILE *sink;
	/* MAY: once *stop is set (a signal handler sets it), the exchange
	 * ends within HTTP_STOP_CHECK_MS, or is never started, with
	 * DEPLOY_ERR_INTERRUPTED; a request that was sent may have been
	 * acted on. */
	const volatile int *stop;
};

/* How often exchanges under way look at their request's stop flag. */
#define HTTP_STOP_CHECK_MS 100

struct http_response {
	long status;
	bool secret; /* set by http_do() from the request */
	struct buf body;
	struct buf headers; /* the raw header lines of the final response */
};

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);
/* A header's value from r->headers (first match, case-insensitive name),
 * malloc'd, or NULL. */
char *http_response_header(const struct http_response *r, const char *name);

int http_do(const struct http_request *req, struct http_response *resp,
	    struct error *err);

/* At most this many exchanges in flight, and connections to one endpoint. */
#define HTTP_MAX_PARALLEL 16

/* One exchange of http_do_many(). */
struct http_exchange {
	const struct http_request *req; /* in */
	struct http_response *resp;	/* in: initialised by the caller */
	int rc;				/* out: 0, or as http_do() returns */
	struct error err;		/* out: set when rc is not 0 */
};

/*
 * The n exchanges at once, at most `parallel` in flight (0, or more than
 * HTTP_MAX_PARALLEL: HTTP_MAX_PARALLEL), each with its own timeouts and
 * cap; returns once every one has its answer or its error, with the number
 * of those that failed. Each v[i].err is initialised here: the caller
 * clears it.
 */
size_t http_do_many(struct http_exchange *v, size_t n, unsigned parallel);

/*
 * A client: a curl multi driven by a libuv loop (curl's socket interface
 * on uv_poll_t handles and a uv_timer_t), holding its kept-alive
 * connections, at most HTTP_MAX_PARALLEL per endpoint. Exchanges started
 * on it go on while the loop runs, beside whatever else that loop drives
 * (the SSH engine's sessions: ssh_engine_http()); http_do() and
 * http_do_many() run on clients of their own, on private loops. A client
 * and its loop belong to one thread.
 */
struct uv_loop_s;
struct http_client;

typedef void http_batch_done_fn(void *data);

/* NULL when curl cannot start. */
struct http_client *http_client_new(struct uv_loop_s *loop);
/*
 * Start the n exchanges, at most `parallel` in flight (as for
 * http_do_many(), whose semantics they have: each v[i].rc and v[i].err
 * are set, the caller clears v[i].err). done(data) runs once, from the
 * loop (never from here), when every one has its answer or its error. v
 * and what it points to stay valid until then. Only a client with
 * exchanges under way keeps its loop running.
 */
void http_client_start(struct http_client *c, struct http_exchange *v, size_t n,
		       unsigned parallel, http_batch_done_fn *done, void *data);
/* Whether exchanges started on c are under way. */
bool http_client_busy(const struct http_client *c);
/*
 * Close c and its connections. Exchanges still under way end with
 * DEPLOY_ERR_INTERRUPTED, their done() never runs. Its handles close on
 * the loop: run the loop once more before uv_loop_close(). NULL is fine.
 */
void http_client_free(struct http_client *c);

/* "scheme://host[:port]/path" of url (no userinfo, query or fragment) into
 * out, for messages. */
void http_url_for_humans(const char *url, char *out, size_t size);

/* Percent-encode s as RFC 3986 unreserved-safe (AWS's UriEncode: every byte
 * but A-Z a-z 0-9 - . _ ~ becomes %XX, upper-case hex). */
int http_uri_encode(struct buf *out, const char *s, size_t len);

#endif
