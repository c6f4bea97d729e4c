/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_KEYFILE_H
#define DEPLOY_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * What a private key file is, without its passphrase: whether it is
 * encrypted, and (for OpenSSH's own format, which keeps it in the clear)
 * its public key blob. Read before the event loop starts, to ask for a
 * passphrase once and only when it is needed.
 */
struct keyfile_info {
	bool encrypted;
	unsigned char *pub; /* NULL when the format does not say */
	size_t pub_len;
};

/*
 * Inspect the key file at path. DEPLOY_ERR_NOT_FOUND when it does not
 * exist, DEPLOY_ERR_IO when it cannot be read, DEPLOY_ERR_INVALID when it
 * is not a private key deploy can read, each with err set.
 */
int keyfile_inspect(const char *path, struct keyfile_info *info,
		    struct error *err);
/* The same for text in memory (tests). */
int keyfile_inspect_text(const char *path, const char *text, size_t len,
			 struct keyfile_info *info, struct error *err);
void keyfile_info_free(struct keyfile_info *info);

#endif
