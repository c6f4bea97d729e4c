/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_AWS_PROFILE_H
#define DEPLOY_AWS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * One profile read from one of the AWS shared files, the INI format the AWS
 * CLI and SDKs share:
 *
 *   ~/.aws/credentials   sections "[NAME]"
 *   ~/.aws/config        sections "[profile NAME]", and "[default]"
 *
 * Lines are "[section]" or "key = value" (whitespace around '=' ignored,
 * key names case-insensitive); lines starting with '#' or ';' are comments,
 * as is the rest of a line after whitespace and '#' or ';'. A key with an
 * empty value followed by indented lines ("s3 =" then "  max_bandwidth =
 * …") holds sub-settings, which are skipped. A section named twice is read
 * as one; a key set twice keeps its last value. Other sections
 * ("[sso-session x]", "[services x]") are skipped.
 *
 * Errors carry FILE:LINE and never a value read: a value may be a secret.
 */

enum aws_file_kind {
	AWS_FILE_CREDENTIALS,
	AWS_FILE_CONFIG,
};

struct aws_profile {
	bool found; /* the section is in the file */
	int line;   /* the first line of its (first) header; 0 when not found */
	char *access_key;
	char *secret_key; /* wiped on free */
	char *token;	  /* wiped on free */
	char *region;
	/* A key naming a source of credentials deploy does not read
	 * ("role_arn", "credential_process", "sso_session", …), or NULL.
	 * A static string. */
	const char *unsupported;
};

/* Fill out from text (len bytes, the contents of path, which is only used
 * in messages). DEPLOY_ERR_SYNTAX for a line that is neither a section, a
 * setting nor a comment. */
int aws_profile_parse(const char *path, const char *text, size_t len,
		      enum aws_file_kind kind, const char *profile,
		      struct aws_profile *out, struct error *err);

/* Read path (at most 1 MiB; its bytes wiped after) and parse it. A missing
 * file is not an error: out->found is false. */
int aws_profile_load(const char *path, enum aws_file_kind kind,
		     const char *profile, struct aws_profile *out,
		     struct error *err);

/* Wipes the secrets and frees every member; accepts a zeroed struct. */
void aws_profile_free(struct aws_profile *p);

#endif
