/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_AWS_EC2_H
#define DEPLOY_AWS_EC2_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "providers/aws/credentials.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * The EC2 Query API (version 2016-11-15): form-encoded POSTs signed with
 * SigV4 afresh on every attempt, XML answers read with libxml2.
 *
 * Retries: throttling (RequestLimitExceeded, Throttling, HTTP 503 …) and
 * server errors (5xx, InternalError, Unavailable) are retried with
 * exponential backoff and full jitter (delay = random(0, min(cap, base *
 * 2^attempt))), the delay capped at 20 s and the attempts bounded. Nothing
 * else is retried: AuthFailure, UnauthorizedOperation,
 * InvalidParameterValue, IdempotentParameterMismatch … go back to the
 * caller at once. A connection that fails is retried only for calls that
 * are safe to repeat (reads, and writes that carry a ClientToken).
 *
 * Client-side token buckets per client (one client per region), one for
 * reads and one for writes, keep the request rate under EC2's own limits,
 * so that a large fleet spends its time waiting here rather than being
 * throttled there.
 *
 * ec2_call_many() asks several calls at once (at most EC2_PARALLEL in
 * flight, over kept-alive connections), each retried as ec2_call() is.
 */

#define EC2_PARALLEL 16

#define EC2_API_VERSION "2016-11-15"

struct ec2_stats {
	unsigned calls;	   /* requests sent, every attempt counted */
	unsigned mutating; /* actions that are not Describe* */
	unsigned retries;
	unsigned throttled; /* answers that said to slow down */
};

/* A token bucket: rate tokens a second, at most burst. */
struct ec2_bucket {
	double rate;
	double burst;
	double tokens;
	double filled_at; /* monotonic seconds */
};

struct ec2 {
	char *endpoint; /* "https://ec2.us-east-1.amazonaws.com" */
	char *host;	/* the Host header: host[:port] */
	char *region;
	struct aws_creds creds;
	/* Retry policy (tests shorten the base). */
	long base_ms;	 /* 200 */
	long cap_ms;	 /* 20000 */
	int attempts;	 /* 8 */
	long timeout_ms; /* per request: 30000 */
	/* Client-side rate limits: Describe* calls, the others. */
	struct ec2_bucket reads, writes;
	/* MaxResults for the Describe calls that take it (1000; tests make
	 * it small to walk pages: DEPLOY_AWS_PAGE_SIZE). */
	int page_size;
	struct ec2_stats stats;
	char last_code[96]; /* EC2's code of the last error */
	/* Set by a signal handler: backoff waits end early. */
	const volatile int *stop;
};

/* A request's parameters: "Name=value" pairs, URI-encoded as added. */
struct ec2_params {
	struct buf body;
	bool mutating_safe; /* the action carries a ClientToken */
};

void ec2_params_init(struct ec2_params *p);
void ec2_params_free(struct ec2_params *p);
void ec2_param(struct ec2_params *p, const char *name, const char *value);
void ec2_paramf(struct ec2_params *p, const char *value, const char *namefmt,
		...) __attribute__((format(printf, 3, 4)));
/* Filter.N.Name=name, Filter.N.Value.1=value (N from 1). */
void ec2_filter(struct ec2_params *p, int n, const char *name,
		const char *value);

/*
 * A client for region at endpoint; takes the credentials over (creds is
 * left zeroed). Environment knobs for tests: DEPLOY_AWS_RETRY_BASE_MS.
 */
int ec2_open(struct ec2 **out, const char *endpoint, const char *region,
	     struct aws_creds *creds, struct error *err);
void ec2_close(struct ec2 *c);

/*
 * Call action with p (may be NULL). On success *doc holds the answer (the
 * caller frees it with xmlFreeDoc). On an EC2 error, err says "Action:
 * Code: Message (request RequestID)" and the code is one of:
 *   DEPLOY_ERR_AUTH     AuthFailure, UnauthorizedOperation, signatures
 *   DEPLOY_ERR_NOT_FOUND *.NotFound, InvalidXxxID.NotFound
 *   DEPLOY_ERR_INVALID  any other client error
 *   DEPLOY_ERR_UNREACHABLE / DEPLOY_ERR_TIMEOUT  the network
 * and ec2_error_code() gives EC2's own code of the last error.
 */
int ec2_call(struct ec2 *c, const char *action, struct ec2_params *p,
	     xmlDocPtr *doc, struct error *err);

/* One call of ec2_call_many(). */
struct ec2_call {
	const char *action;   /* in */
	struct ec2_params *p; /* in: may be NULL */
	xmlDocPtr doc;	      /* out: the answer (the caller frees it) */
	int rc;		      /* out: as ec2_call() returns */
	struct error err;     /* out: initialised here, cleared by the caller */
	char code[96];	      /* out: EC2's error code, "" when none */
};

/*
 * The n calls at once, each as ec2_call() makes it (retries, rate
 * limits); returns once each has its answer or error, with the number that
 * failed. ec2_error_code() is not set: each call's code is in its own
 * code.
 */
size_t ec2_call_many(struct ec2 *c, struct ec2_call *v, size_t n);

/*
 * For Describe* calls: call, then again with NextToken for as long as the
 * answer has one, handing each page to fn (which may stop the walk with a
 * non-zero return, passed back).
 */
int ec2_call_pages(struct ec2 *c, const char *action, struct ec2_params *p,
		   int (*fn)(xmlNodePtr root, void *ud), void *ud,
		   struct error *err);

/*
 * Turn one HTTP answer into *doc (a 2xx answer that is XML; the caller
 * frees it) or an error: DEPLOY_ERR_SYNTAX for a 2xx answer that is not
 * XML, else the code for EC2's error document (or its absence), with
 * ec2_error_code() set. The body is a cloud answer: never trusted.
 */
int ec2_answer(struct ec2 *c, const char *action, long status, const char *body,
	       size_t len, xmlDocPtr *doc, struct error *err);

/* MaxResults=page_size, for Describe calls that take it (not with ids). */
void ec2_page_size(const struct ec2 *c, struct ec2_params *p);

/* EC2's error code of the last failed call on c ("" when none). */
const char *ec2_error_code(const struct ec2 *c);

/* XML: elements by local name, ignoring namespaces. */
xmlNodePtr x_child(xmlNodePtr n, const char *name);
xmlNodePtr x_next(xmlNodePtr n, const char *name); /* next sibling */
/* "a/b/c" below n. */
xmlNodePtr x_path(xmlNodePtr n, const char *path);
/* Text of path below n, malloc'd, or NULL. */
char *x_text(xmlNodePtr n, const char *path);
/* Whether the text of path below n equals s. */
bool x_text_is(xmlNodePtr n, const char *path, const char *s);
/* The value of tag `key` in n's tagSet, malloc'd, or NULL. */
char *x_tag(xmlNodePtr n, const char *key);

#endif
