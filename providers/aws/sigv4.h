/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_AWS_SIGV4_H
#define DEPLOY_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * AWS Signature Version 4 (HMAC-SHA256 through OpenSSL), as described in the
 * AWS General Reference and checked against the classic
 * aws-sig-v4-test-suite (tests/conformance/aws-sigv4.sh runs it).
 */

struct sigv4_header {
	const char *name;  /* as sent; canonicalised (lower-cased) here */
	const char *value; /* as sent; trimmed and space-folded here */
};

struct sigv4_request {
	const char *method;
	/* The request target as sent: path, then "?query" when there is one
	 * (neither normalised nor encoded yet: that is done here). */
	const char *target;
	/* Every header that will be sent and signed, Host and X-Amz-Date
	 * among them. A name may repeat (values are joined with ","). */
	const struct sigv4_header *headers;
	size_t nr_headers;
	const void *payload;
	size_t payload_len;
};

struct sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *region;
	const char *service;
	const char *amz_date; /* "20150830T123600Z" (the X-Amz-Date value) */
};

struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers; /* "host;x-amz-date" */
	char *signature;      /* hex */
	char *authorization;  /* the Authorization header's value */
};

/* Sign req. The result is malloc'd; free it with sigv4_result_free(), which
 * wipes it. Never puts the secret key in err. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
	       struct sigv4_result *out, struct error *err);
void sigv4_result_free(struct sigv4_result *r);

/* "YYYYMMDDTHHMMSSZ" for t (UTC) into out (at least 17 bytes). */
void sigv4_amz_date(long long t, char out[17]);

/* Lower-case hex SHA-256 of data into out (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
