/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_HTTP_H
#define DEPLOY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * One HTTP exchange through libcurl, with a connect timeout and a total
 * timeout (both required: every network wait has one). Cloud clients sign
 * and retry above this; http_do() itself never retries.
 *
 * Errors: DEPLOY_ERR_UNREACHABLE (no connection, reset), DEPLOY_ERR_TIMEOUT,
 * DEPLOY_ERR_TOO_BIG (a body past max_body). An HTTP status of 4xx/5xx is
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
};

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

/* "scheme://host[:port]/path" of url (no userinfo, query or fragment) into
 * out, for messages. */
void http_url_for_humans(const char *url, char *out, size_t size);

/* Percent-encode s as RFC 3986 unreserved-safe (AWS's UriEncode: every byte
 * but A-Z a-z 0-9 - . _ ~ becomes %XX, upper-case hex). */
int http_uri_encode(struct buf *out, const char *s, size_t len);

#endif
