/* SPDX-License-Identifier: MIT */
/* deploy-test-tool aws-creds: the AWS credential chain, for tests. */

/*
 * deploy-test-tool aws-creds [--profile P] [--role-region R]
 *                            [--block-region R] [--block-endpoint URL]
 *
 * Resolves AWS credentials, the region and the EC2 endpoint as the aws
 * provider does (the options stand for the provider block and the role)
 * and prints:
 *
 *   source: environment
 *   access_key: AKID...
 *   secret_sha256: <hex>      (the secret itself is never printed)
 *   token: yes|no
 *   expires: <unix time>      (only when they expire)
 *   region: us-east-1
 *   endpoint: https://ec2.us-east-1.amazonaws.com
 *
 * A step that fails prints its error on stderr and exits 1; the lines of
 * the steps before it are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "providers/aws/credentials.h"
#include "util/error.h"
#include "test-tool.h"
#include "util/banned.h"

#define USAGE                                                                \
	"usage: deploy-test-tool aws-creds [--profile P] [--role-region R] " \
	"[--block-region R] [--block-endpoint URL]\n"

static void print_sha256(const char *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	printf("secret_sha256: ");
	for (unsigned int i = 0; i < len; i++)
		printf("%02x", md[i]);
	printf("\n");
}

static int fail(struct error *err)
{
	char msg[1024];

	error_format(err, msg, sizeof(msg));
	fflush(stdout);
	fprintf(stderr, "%s\n", msg);
	error_clear(err);
	return 1;
}

int cmd_aws_creds(int argc, char **argv)
{
	const char *profile = NULL, *role_region = NULL, *block_region = NULL;
	const char *block_endpoint = NULL;
	struct aws_creds creds;
	char *region = NULL, *endpoint = NULL;
	struct error err;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char **slot =
			!strcmp(argv[i], "--profile")	       ? &profile
			: !strcmp(argv[i], "--role-region")    ? &role_region
			: !strcmp(argv[i], "--block-region")   ? &block_region
			: !strcmp(argv[i], "--block-endpoint") ? &block_endpoint
							       : NULL;

		if (!slot || i + 1 >= argc) {
			fputs(USAGE, stderr);
			return 64;
		}
		*slot = argv[++i];
	}

	error_init(&err);
	rc = aws_creds_load(profile, &creds, &err);
	if (rc)
		return fail(&err);
	printf("source: %s\n", creds.source);
	printf("access_key: %s\n", creds.access_key);
	print_sha256(creds.secret_key);
	printf("token: %s\n", creds.token ? "yes" : "no");
	if (creds.expires)
		printf("expires: %lld\n", creds.expires);
	aws_creds_free(&creds);

	rc = aws_region_resolve(role_region, block_region, profile, &region,
				&err);
	if (rc)
		return fail(&err);
	printf("region: %s\n", region);
	rc = aws_endpoint_resolve(block_endpoint, region, &endpoint, &err);
	free(region);
	if (rc)
		return fail(&err);
	printf("endpoint: %s\n", endpoint);
	free(endpoint);
	return 0;
}
