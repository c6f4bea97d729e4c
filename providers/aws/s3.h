/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_AWS_S3_H
#define DEPLOY_AWS_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/credentials.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * A small S3 object client (GET, PUT, DELETE of one object) for the state
 * backend: SigV4 with X-Amz-Content-Sha256, conditional requests (If-Match,
 * If-None-Match: *), server-side encryption headers, virtual-hosted or
 * path-style addressing (S3-compatible stores need the latter).
 *
 * Object keys are restricted (s3_key_ok()) to characters that need no
 * percent-encoding, so that the signer's path rules and S3's agree.
 *
 * Retries: a connection that fails, a timeout and a 5xx answer are tried
 * again with exponential backoff and full jitter (base 200 ms, or
 * DEPLOY_AWS_RETRY_BASE_MS; at most 5 attempts, each wait at most 5 s).
 * Other answers go back to the caller as they are.
 */

struct s3 {
	char *endpoint; /* "https://s3.us-east-1.amazonaws.com", no '/' */
	char *scheme;	/* "https://" */
	char *host;	/* host[:port] of endpoint */
	char *region;
	bool path_style;
	struct aws_creds creds;
	long base_ms;
	long cap_ms;
	int attempts;
	long timeout_ms;
	unsigned calls;
	unsigned retries;
};

struct s3_result {
	long status;
	char *etag;	 /* the ETag header, quotes kept; NULL when none */
	char code[64];	 /* S3's error code ("NoSuchKey"), "" when none */
	char msg[256];	 /* S3's error message */
	struct buf body; /* the object on a GET */
	bool retried;	 /* an attempt before the answer failed */
};

struct s3_put_opts {
	const char *if_match; /* an ETag: only over that version */
	bool if_none_match;   /* only when no object is there */
	const char *sse;      /* "AES256", "aws:kms" or NULL */
	const char *kms_key_id;
	const char *content_type;
};

/* Whether key is a key this client can address: 1 to 1024 characters of
 * A-Z a-z 0-9 . _ - / with no empty, "." or ".." segment. */
bool s3_key_ok(const char *key);
/* Whether name is a bucket name (3 to 63 of a-z 0-9 . -). */
bool s3_bucket_ok(const char *name);

/*
 * The endpoint: block_endpoint, else AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else
 * https://s3.REGION.amazonaws.com; *custom says whether one was given.
 */
int s3_endpoint_resolve(const char *block_endpoint, const char *region,
			char **out, bool *custom, struct error *err);

/* Takes creds over (zeroed in the caller). */
int s3_open(struct s3 **out, const char *endpoint, const char *region,
	    bool path_style, struct aws_creds *creds, struct error *err);
void s3_close(struct s3 *c);

void s3_result_init(struct s3_result *r);
void s3_result_free(struct s3_result *r);

/*
 * Each returns 0 when S3 answered (whatever the status, in r), or an error
 * when no answer came after the retries (DEPLOY_ERR_UNREACHABLE,
 * DEPLOY_ERR_TIMEOUT) or the request could not be signed.
 */
int s3_get(struct s3 *c, const char *bucket, const char *key,
	   struct s3_result *r, struct error *err);
int s3_put(struct s3 *c, const char *bucket, const char *key, const void *body,
	   size_t len, const struct s3_put_opts *o, struct s3_result *r,
	   struct error *err);
int s3_delete(struct s3 *c, const char *bucket, const char *key,
	      const char *if_match, struct s3_result *r, struct error *err);

/*
 * An error for an answer that is not 2xx: "s3://BUCKET/KEY: what (Code:
 * Message)", DEPLOY_ERR_AUTH for 403 and signature problems,
 * DEPLOY_ERR_NOT_FOUND for a missing bucket or key, DEPLOY_ERR_INVALID
 * otherwise.
 */
int s3_answer_error(const struct s3_result *r, const char *what,
		    const char *bucket, const char *key, struct error *err);

struct objstore;
struct topology;
/* The object store for the topology's state: {s3: ...} (s3-store.c). */
int aws_state_store_open(const struct topology *t, struct objstore **out,
			 struct error *err);

#endif
