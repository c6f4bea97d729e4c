/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_DO_CREDENTIALS_H
#define DEPLOY_DO_CREDENTIALS_H

#include "util/error.h"

/*
 * Where the DigitalOcean token and the API's address come from, as
 * DigitalOcean's own tools read them (docs/providers.md lists it for users):
 *
 * token:
 *   1. DIGITALOCEAN_TOKEN, then DIGITALOCEAN_ACCESS_TOKEN (only when the
 *      provider block names no context: a named context means that one)
 *   2. doctl's config file ($XDG_CONFIG_HOME/doctl/config.yaml, else
 *      ~/.config/doctl/config.yaml): the context named by the provider
 *      block's `context:`, else DIGITALOCEAN_CONTEXT, else the file's own
 *      `context:`, else "default"; "default" is the file's `access-token`,
 *      any other context its entry under `auth-contexts`.
 * endpoint: the provider block's `endpoint:`, DIGITALOCEAN_API_URL, else
 *   https://api.digitalocean.com.
 *
 * Messages name the variable or the file (and line) deploy read, never a
 * value read. The caller wipes the token with do_token_free().
 */

#define DO_DEFAULT_ENDPOINT "https://api.digitalocean.com"

struct do_token {
	char *token;
	/* For messages: "DIGITALOCEAN_TOKEN", "doctl context 'x' in FILE".
	 * Never a secret. */
	char *source;
};

/* Wipes and frees every member. */
void do_token_free(struct do_token *t);

/*
 * context: the provider block's, or NULL. On failure *out is empty and err
 * says why: DEPLOY_ERR_AUTH when no source gave a token (the message lists
 * where deploy looked and what to set), DEPLOY_ERR_NOT_FOUND for a context
 * the config file does not hold (with those it does), DEPLOY_ERR_SYNTAX or
 * _INVALID for a config file or a token that is malformed (FILE:LINE).
 */
int do_token_load(const char *context, struct do_token *out, struct error *err);

/* The API's base URL (scheme://host[:port][/path], no trailing slash);
 * *out malloc'd. DEPLOY_ERR_INVALID for a URL that is not http(s). */
int do_endpoint_resolve(const char *block_endpoint, char **out,
			struct error *err);

#endif
