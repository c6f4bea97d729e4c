/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_GCP_COMPUTE_H
#define DEPLOY_GCP_COMPUTE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "providers/gcp/credentials.h"
#include "util/error.h"

/*
 * The Compute Engine v1 JSON API: requests with a bearer token from
 * gcp_creds (fetched again once on a 401), JSON answers read with cJSON.
 *
 * Retries, bounded, with exponential backoff and full jitter (delay =
 * random(0, min(cap, base * 2^attempt))): 429, and 403 whose reason is
 * rateLimitExceeded or userRateLimitExceeded, always (the request was
 * refused, not done); 5xx and a connection that fails only for calls safe
 * to repeat (reads, and writes carrying a requestId, which Compute
 * deduplicates). Nothing else is retried.
 *
 * gcp_call_many() asks several calls at once (at most GCP_PARALLEL in
 * flight, over kept-alive connections, one token for each batch), each
 * retried as gcp_call() is; a client-side rolling window keeps all calls
 * under DEFAULT_PER_MINUTE (1,500) a minute, Compute's per-project default
 * rate quota of a group of methods (DEPLOY_GCP_RATE_PER_MIN lowers it).
 *
 * Errors say "gcp WHAT: REASON: MESSAGE", WHAT being the caller's words
 * ("instances.insert validator-0"), REASON Google's (alreadyExists,
 * notFound, QUOTA_EXCEEDED …); the code is DEPLOY_ERR_NOT_FOUND for 404,
 * DEPLOY_ERR_AUTH for 401 and 403 other than rate limits,
 * DEPLOY_ERR_UNREACHABLE / _TIMEOUT for the network and 5xx, and
 * DEPLOY_ERR_INVALID for the rest. gcp_reason() gives the last reason.
 */

struct gcp_stats {
	unsigned calls;	   /* requests sent, every attempt counted */
	unsigned mutating; /* POST, PATCH, DELETE other than operations.wait */
	unsigned retries;
	unsigned throttled; /* answers that said to slow down */
	unsigned waits;	    /* operations.wait calls */
};

struct gcp {
	char *base; /* ".../compute/v1/", with the trailing slash */
	char *project;
	struct gcp_creds creds;
	long base_ms;	     /* 200 (DEPLOY_GCP_RETRY_BASE_MS) */
	long cap_ms;	     /* 20000 */
	int attempts;	     /* 8 */
	long timeout_ms;     /* per request: 60000 (wait calls: 150000) */
	long op_deadline_ms; /* an operation's wait: 600000 */
	int page_size;	     /* maxResults: 500 (DEPLOY_GCP_PAGE_SIZE) */
	struct gcp_stats stats;
	char reason[96]; /* Google's reason of the last error, or "" */
	/* The limiter: when the last requests left (monotonic ms), a ring
	 * of per_minute entries. */
	long long *sent;
	size_t head, count;
	int per_minute;
	/* Set by a signal handler: backoff waits end early. */
	const volatile int *stop;
};

/* A client for project at base (gcp_endpoint_resolve()); takes the
 * credentials over (creds is left zeroed). */
int gcp_open(struct gcp **out, const char *base, const char *project,
	     struct gcp_creds *creds, struct error *err);
void gcp_close(struct gcp *c);

/*
 * method ("GET", "POST", "PATCH", "DELETE") on path below projects/PROJECT/
 * ("zones/z/instances"), or, when path starts with "projects/", below the
 * base (images of other projects). query: "a=b&c=d" already encoded, or
 * NULL. body may be NULL. safe: the call may be repeated after a 5xx or a
 * broken connection (GETs always are). On success *out (may be NULL) holds
 * the answer, which the caller frees with cJSON_Delete.
 */
int gcp_call(struct gcp *c, const char *method, const char *path,
	     const char *query, const cJSON *body, bool safe, const char *what,
	     cJSON **out, struct error *err);

#define GCP_PARALLEL 16

/* One call of gcp_call_many(). */
struct gcp_req {
	const char *method; /* in: as for gcp_call() */
	const char *path;   /* in */
	const char *query;  /* in: may be NULL */
	const cJSON *body;  /* in: may be NULL */
	bool safe;	    /* in */
	const char *what;   /* in */
	bool answer;	    /* in: parse the answer into out */
	cJSON *out;	    /* out: the answer or NULL (the caller frees) */
	int rc;		    /* out: as gcp_call() returns */
	struct error err;   /* out: initialised here, cleared by the caller */
	char reason[96];    /* out: Google's reason, "" when none */
};

/* The n calls at once, each as gcp_call() makes it; returns once each has
 * its answer or error, with the number that failed. gcp_reason() is that
 * of the last call that failed with one. */
size_t gcp_call_many(struct gcp *c, struct gcp_req *v, size_t n);

/* GET path (a list method) page after page with maxResults and, when not
 * NULL, filter; fn gets each item and may stop the walk with a non-zero
 * return, passed back. */
int gcp_list(struct gcp *c, const char *path, const char *filter,
	     int (*fn)(const cJSON *item, void *ud), void *ud, const char *what,
	     struct error *err);

/*
 * Wait for the operation op (as an insert or delete answered it) until it
 * is DONE, through its scope's operations.wait, until c->op_deadline_ms.
 * An operation that ends in error gives "gcp WHAT: CODE: MESSAGE" (its
 * first error; DEPLOY_ERR_INVALID, with the reason kept). *done, when not
 * NULL, gets the final operation (the caller frees it).
 */
int gcp_wait(struct gcp *c, const cJSON *op, const char *what, cJSON **done,
	     struct error *err);

/* One operation of gcp_wait_many(). */
struct gcp_op {
	const cJSON *op;  /* in: as an insert or delete answered it */
	const char *what; /* in */
	int rc;		  /* out: as gcp_wait() returns */
	struct error err; /* out: initialised here, cleared by the caller */
	cJSON *done;	  /* out: the final operation when rc is 0 (the
			     caller frees it) */
};

/* gcp_wait() for the n operations at once: one operations.wait in flight
 * for each not done, round after round; returns the first error (each
 * one's own in v[i]). */
int gcp_wait_many(struct gcp *c, struct gcp_op *v, size_t n);

/* A mutation with a requestId (a UUID, or NULL), then its operation
 * waited for. */
int gcp_mutate(struct gcp *c, const char *method, const char *path,
	       const char *request_id, const cJSON *body, const char *what,
	       struct error *err);

/*
 * The readers inside the calls above, apart so that they can be fuzzed:
 * gcp_answer() reads one answer with its HTTP status (a 2xx body as JSON
 * into *out, NULL when empty; anything else as Google's error, c->reason
 * set); gcp_op_path() appends an operation's operations.wait path to path;
 * gcp_op_result() is 0 for an operation without an error, else its first
 * error as err.
 */
struct buf;
int gcp_answer(struct gcp *c, const char *what, long status,
	       const struct buf *body, cJSON **out, struct error *err);
int gcp_op_path(const cJSON *op, struct buf *path, const char *what,
		struct error *err);
int gcp_op_result(struct gcp *c, const cJSON *op, const char *what,
		  struct error *err);

/* A fresh random UUID (version 4) in out[37]. */
void gcp_uuid(char out[37]);

const char *gcp_reason(const struct gcp *c);

/* The last path segment of a URL ("…/zones/us-central1-a" ->
 * "us-central1-a"), into out. */
void gcp_basename(const char *url, char *out, size_t size);

#endif
