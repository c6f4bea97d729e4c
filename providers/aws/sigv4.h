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
 *
 * A session token is signed by passing it as an X-Amz-Security-Token header
 * (EC2 and STS want it signed); a service that wants it unsigned gets the
 * header added after sigv4_sign(). X-Amz-Content-Sha256 is not added: S3's
 * rules (no path normalisation, single encoding) are not those used here.
 */

struct sigv4_header {
	const char *name;  /* as sent; canonicalised (lower-cased) here */
	const char *value; /* as sent; trimmed and space-folded here */
};

struct sigv4_request {
	const char *method;
	/* The request target exactly as sent on the request line: path, then
	 * "?query" when there is one. The path is normalised here (dot
	 * segments resolved, empty segments dropped, a trailing '/' kept) and
	 * each segment UriEncode()d, so a '%' in it becomes %25: the double
	 * encoding every service but S3 expects. Query names and values are
	 * percent-decoded then UriEncode()d and sorted; '+' is a literal plus
	 * (%2B), so send a space as %20. "" is "/"; anything else must start
	 * with '/'. */
	const char *target;
	/* Every header that will be sent and signed, Host and X-Amz-Date
	 * among them. A name may repeat, in any case (values are joined with
	 * "," in the order given); white space in a value, line breaks
	 * included, is trimmed and folded to one space. */
	const struct sigv4_header *headers;
	size_t nr_headers;
	const void *payload; /* may be NULL when payload_len is 0 */
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
 * wipes it (out is zeroed first, so freeing it after a failure is safe).
 * Intermediate keys are wiped before returning. Fails with
 * DEPLOY_ERR_USAGE on a bad key, date, target or header name
 * (DEPLOY_ERR_INVALID if OpenSSL fails), with a message that never holds
 * the secret key. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
	       struct sigv4_result *out, struct error *err);
void sigv4_result_free(struct sigv4_result *r);

/* "YYYYMMDDTHHMMSSZ" for t (UTC) into out (at least 17 bytes); a t that
 * gmtime() cannot convert gives "19700101T000000Z". */
void sigv4_amz_date(long long t, char out[17]);

/* Lower-case hex SHA-256 of data into out (65 bytes); "" if OpenSSL
 * fails. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
