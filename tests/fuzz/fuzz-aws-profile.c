/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the AWS shared credentials and config files. */

/*
 * libFuzzer target: any bytes as ~/.aws/credentials and as ~/.aws/config,
 * read for the default profile and for a named one. Nothing may crash or
 * leak, and no error message may quote a value from the file (a value may
 * be a secret): the fuzzer checks that messages never contain what was
 * read as a key, a secret or a token.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_quiet(const char *msg, const char *value)
{
	/* Short values occur in any text; a real secret is long. */
	if (value && strlen(value) >= 8 && strstr(msg, value))
		abort();
}

static void one(const uint8_t *data, size_t size, enum aws_file_kind kind,
		const char *profile)
{
	struct aws_profile p = { 0 };
	struct aws_profile q = { 0 };
	struct error err;
	int rc;

	error_init(&err);
	rc = aws_profile_parse("fuzz-credentials", (const char *)data, size,
			       kind, profile, &p, &err);
	if (rc) {
		/* What was read before the bad line never shows. */
		check_quiet(err.msg, p.secret_key);
		check_quiet(err.msg, p.token);
	} else if (p.found && p.line <= 0) {
		abort();
	}
	if (!rc) {
		struct error e2;

		/* The same input gives the same answer. */
		error_init(&e2);
		if (aws_profile_parse("fuzz-credentials", (const char *)data,
				      size, kind, profile, &q, &e2))
			abort();
		if (!!p.secret_key != !!q.secret_key ||
		    (p.secret_key && strcmp(p.secret_key, q.secret_key)))
			abort();
		error_clear(&e2);
	}
	aws_profile_free(&p);
	aws_profile_free(&q);
	error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, AWS_FILE_CREDENTIALS, "default");
	one(data, size, AWS_FILE_CONFIG, "default");
	one(data, size, AWS_FILE_CONFIG, "prod");
	return 0;
}
