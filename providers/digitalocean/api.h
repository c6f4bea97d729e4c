/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_DO_API_H
#define DEPLOY_DO_API_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "providers/digitalocean/credentials.h"
#include "util/error.h"

/*
 * The DigitalOcean API v2: JSON over HTTPS with a bearer token.
 *
 * Retries, bounded (8 attempts), with exponential backoff and full jitter
 * (a pause anywhere in [0, min(20 s, base * 2^attempt))):
 *   - 429 too_many_requests, always (the request was refused, not done):
 *     the pause is Retry-After when the answer has one, else the time
 *     until ratelimit-reset when ratelimit-remaining is 0, else the
 *     jittered backoff; never more than 60 s at once;
 *   - 5xx and a connection that fails, only for calls that are safe to
 *     repeat (GET, PUT, DELETE, and POSTs the caller marks DO_SAFE): a
 *     create that may have been done is not sent again; the caller finds
 *     what it made by its tag;
 *   - nothing else: 401, 403, 404, 422 go back to the caller at once.
 *
 * A client-side limiter keeps within DigitalOcean's limits per token (250
 * requests in any minute, 5,000 in any hour: rolling windows, as the API
 * counts them), and a ratelimit-remaining of 0 makes the next request wait
 * for ratelimit-reset, so that a large fleet waits here rather than being
 * refused there.
 *
 * Errors read "digitalocean POST /v2/droplets: unprocessable_entity:
 * MESSAGE (request ID)"; the code is DEPLOY_ERR_AUTH (401),
 * DEPLOY_ERR_NOT_FOUND (404), DEPLOY_ERR_UNREACHABLE (429 and 5xx after the
 * retries, the network), DEPLOY_ERR_TIMEOUT, or DEPLOY_ERR_INVALID (any
 * other refusal); do_error_id() gives DigitalOcean's id of the last error.
 *
 * do_call_many() asks several calls at once (at most DO_PARALLEL in
 * flight, over kept-alive connections), each retried as do_call() is and
 * each counted by the same limiter: a 429 or a ratelimit-remaining of 0
 * holds every call of the batch until the reset, not only the refused
 * one.
 *
 * Test knobs (environment): DEPLOY_DO_RETRY_BASE_MS (200),
 * DEPLOY_DO_PAGE_SIZE (200), DEPLOY_DO_RATE_PER_MIN (250),
 * DEPLOY_DO_RATE_WINDOW_S (the "minute": 60).
 */

#define DO_SAFE 0x1 /* a POST that may be sent twice without harm */

#define DO_PARALLEL 16

struct do_stats {
	unsigned calls;	   /* requests sent, every attempt counted */
	unsigned mutating; /* of which not GET */
	unsigned retries;
	unsigned throttled; /* 429 answers */
	unsigned waited_ms; /* in the client-side limiter */
};

struct do_api;

/* A client for the API at base (do_endpoint_resolve()); takes the token
 * over (tok is left empty). */
int do_open(struct do_api **out, const char *base, struct do_token *tok,
	    struct error *err);
void do_close(struct do_api *c);

/* Set by a signal handler: pauses end early and no new attempt starts. */
void do_set_stop(struct do_api *c, const volatile int *stop);
const struct do_stats *do_stats(const struct do_api *c);
/* DigitalOcean's id of the last error ("" when none): "not_found" … */
const char *do_error_id(const struct do_api *c);
/* per_page for lists (1..200). */
int do_page_size(const struct do_api *c);

/*
 * method on path ("/v2/droplets?tag_name=x": the query already encoded),
 * with body as JSON when not NULL. On success *out (when out is not NULL)
 * holds the parsed answer, NULL for one without a body (204); *status (when
 * not NULL) the HTTP status.
 */
int do_call(struct do_api *c, const char *method, const char *path,
	    const cJSON *body, unsigned flags, cJSON **out, long *status,
	    struct error *err);

/* One call of do_call_many(). */
struct do_req {
	const char *method; /* in */
	const char *path;   /* in: as for do_call() */
	const char *url;    /* in: NULL, or the absolute URL of path */
	const cJSON *body;  /* in: may be NULL */
	unsigned flags;	    /* in: DO_SAFE */
	bool answer;	    /* in: parse the answer into out */
	cJSON *out;	    /* out: the answer or NULL (the caller frees) */
	long status;	    /* out: the HTTP status, 0 when none */
	int rc;		    /* out: as do_call() returns */
	struct error err;   /* out: initialised here, cleared by the caller */
	char id[64];	    /* out: DigitalOcean's error id, "" when none */
};

/*
 * The n calls at once, each as do_call() makes it (retries, the limiter);
 * returns once each has its answer or error, with the number that failed.
 * do_error_id() is that of the last call that failed with one.
 */
size_t do_call_many(struct do_api *c, struct do_req *v, size_t n);

/*
 * GET path, page after page (per_page added, links.pages.next followed),
 * handing each element of the answer's array `key` to fn, which may stop
 * the walk with a non-zero return (passed back). A next link that leaves
 * the API's address is refused, so the token never goes elsewhere.
 */
int do_list(struct do_api *c, const char *path, const char *key,
	    int (*fn)(const cJSON *item, void *ud), void *ud,
	    struct error *err);

/*
 * The steps of the two above, apart so that they can be fuzzed: do_answer()
 * reads one answer (a 2xx body as JSON into *out, NULL when empty or when
 * out is NULL; anything else as the API's error); do_list_page() hands the
 * items of one page (doc, read from url after prev) to fn and sets *next to
 * the next page's URL (malloc'd), or NULL after the last page.
 */
struct http_response;
int do_answer(struct do_api *c, const char *method, const char *path,
	      const struct http_response *r, cJSON **out, struct error *err);
int do_list_page(struct do_api *c, const char *path, const char *key,
		 const cJSON *doc, const char *url, const char *prev,
		 int (*fn)(const cJSON *item, void *ud), void *ud, char **next,
		 struct error *err);

/* A droplet's id ("12345"; a number or a string in the answer), malloc'd,
 * or NULL when it has none. */
char *do_id_text(const cJSON *id);
/* The public and private IPv4 of a droplet that is active (malloc'd):
 * false, with both NULL, when it is not active or has no public one. */
bool do_droplet_addresses(const cJSON *droplet, char **pub, char **priv);

/* Append s to b percent-encoded for a query value. */
struct buf;
void do_query_value(struct buf *b, const char *s);

#endif
