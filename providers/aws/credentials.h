/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_AWS_CREDENTIALS_H
#define DEPLOY_AWS_CREDENTIALS_H

#include <stdbool.h>

#include "util/error.h"

/*
 * Where AWS credentials, the region and the EC2 endpoint come from, in the
 * order the AWS SDKs use (docs/providers.md lists it for users):
 *
 * credentials:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *      (only when no profile is named in the provider block)
 *   2. the profile (provider block `profile:`, else AWS_PROFILE, else
 *      "default") in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE
 *      or ~/.aws/credentials), then in the config file (AWS_CONFIG_FILE or
 *      ~/.aws/config, section "[profile NAME]", "[default]")
 *   3. IMDSv2 when running on EC2: PUT /latest/api/token, then
 *      GET /latest/meta-data/iam/security-credentials/ and that role's
 *      document (endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT, default
 *      http://169.254.169.254; skipped when AWS_EC2_METADATA_DISABLED=true;
 *      1 s connect timeout, 2 s in all, 2 attempts per request).
 * region: the role's, the provider block's, AWS_REGION, AWS_DEFAULT_REGION,
 *   the profile's `region` in the config file.
 * endpoint: the provider block's `endpoint:`, AWS_ENDPOINT_URL_EC2,
 *   AWS_ENDPOINT_URL, else https://ec2.REGION.amazonaws.com.
 *
 * No secret ever reaches an error message: messages name the variable, the
 * file (and line) or the URL, never a value read.
 */

struct aws_creds {
	char *access_key;
	char *secret_key;
	char *token; /* NULL when none */
	/* For messages: "environment", "profile 'x' in FILE", "instance
	 * metadata (role R)". Never a secret. */
	char *source;
	long long expires; /* unix time; 0 when they do not expire */
};

/* Wipes and frees every member. */
void aws_creds_free(struct aws_creds *c);

/* The secret key and session token, in any form, out of msg (size bytes):
 * what a server said may quote what it was sent. */
void aws_creds_redact(const struct aws_creds *c, char *msg, size_t size);

/* profile: from the provider block, or NULL. On failure *out is empty and
 * err says why: DEPLOY_ERR_AUTH when no source gave credentials (the message
 * lists where it looked and what to set), DEPLOY_ERR_NOT_FOUND for a named
 * profile in neither file, DEPLOY_ERR_INVALID or _SYNTAX for a profile or a
 * file that is wrong (FILE:LINE), or the instance metadata service's error
 * once it has answered. */
int aws_creds_load(const char *profile, struct aws_creds *out,
		   struct error *err);

/*
 * Credentials that expire (instance metadata's) are fetched again once they
 * are within AWS_CREDS_REFRESH_S of their Expiration, as the AWS SDKs do:
 * a run that outlives one credential goes on with the next. A fetch that
 * fails while the old ones are still valid keeps them (0); once they have
 * expired it is an error naming the source. Credentials that do not expire
 * are left alone. Called before each signed request.
 */
#define AWS_CREDS_REFRESH_S 300
bool aws_creds_due(const struct aws_creds *c, long long now);
int aws_creds_refresh(struct aws_creds *c, struct error *err);

/* The region to use; *out malloc'd. DEPLOY_ERR_INVALID when none is set
 * anywhere (the message says where one can be set). */
int aws_region_resolve(const char *role_region, const char *block_region,
		       const char *profile, char **out, struct error *err);

/* The EC2 endpoint URL (no trailing slash); *out malloc'd. */
int aws_endpoint_resolve(const char *block_endpoint, const char *region,
			 char **out, struct error *err);

#endif
