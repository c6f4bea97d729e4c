/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_GCP_CREDENTIALS_H
#define DEPLOY_GCP_CREDENTIALS_H

#include <stdbool.h>

#include "util/error.h"

/*
 * Google credentials, found as Google's own tools find them
 * (docs/providers.md lists the order for users):
 *
 *   1. the key file named by the provider block's `credentials:`, else by
 *      GOOGLE_APPLICATION_CREDENTIALS: a service-account key (type
 *      "service_account": a JWT signed RS256 with its private_key is
 *      exchanged at the file's own token_uri) or gcloud's authorized_user
 *      file (its refresh_token exchanged at its token_uri, default
 *      https://oauth2.googleapis.com/token);
 *   2. gcloud's application default credentials file,
 *      $CLOUDSDK_CONFIG/application_default_credentials.json (default
 *      ~/.config/gcloud/), either type;
 *   3. the metadata server when running on GCE: GET
 *      http://HOST/computeMetadata/v1/instance/service-accounts/default/
 *      token with Metadata-Flavor: Google (HOST from GCE_METADATA_HOST,
 *      default 169.254.169.254; 1 s to connect, 2 s in all).
 *
 * Access tokens are kept for the run and fetched again once past half of
 * their life or within 5 minutes of their end, whichever comes first; a
 * caller told 401 by the API asks again with force set.
 *
 * No secret reaches a message: messages name the source (the file, the
 * metadata host) and the endpoint's answer, never a key, a refresh token,
 * an assertion or an access token. Every secret is wiped when freed.
 */

#define GCP_SCOPE_COMPUTE     "https://www.googleapis.com/auth/compute"
#define GCP_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"

enum gcp_creds_kind {
	GCP_CREDS_SERVICE_ACCOUNT,
	GCP_CREDS_AUTHORIZED_USER,
	GCP_CREDS_METADATA,
};

struct gcp_creds {
	enum gcp_creds_kind kind;
	/* For messages: "service-account key file FILE (from
	 * GOOGLE_APPLICATION_CREDENTIALS)", "metadata server at HOST". */
	char *source;
	char *email;	     /* the service account's client_email, or NULL */
	char *project;	     /* project_id / quota_project_id, or NULL */
	char *token_uri;     /* NULL for the metadata server */
	char *key_id;	     /* private_key_id, or NULL */
	char *metadata_base; /* "http://HOST" */
	/* Secrets (wiped): */
	char *private_key; /* PEM */
	char *client_id;
	char *client_secret;
	char *refresh_token;
	char *token;		  /* the current access token, or NULL */
	long long fresh_until_ms; /* monotonic: ask again from then */
	long long expires_ms;	  /* monotonic: the token's end */
	unsigned fetches;	  /* tokens obtained so far */
};

/*
 * Find credentials; block_file is the provider block's `credentials:`
 * (already expanded), or NULL. Nothing is fetched yet: a key file is read
 * and checked, the metadata server only asked for a token by
 * gcp_creds_token(). When no source is found at all, DEPLOY_ERR_AUTH with
 * the places looked at.
 */
int gcp_creds_load(const char *block_file, struct gcp_creds *out,
		   struct error *err);

/* The access token to send (owned by c, valid until the next call), fetched
 * when there is none, it is getting old, or force. Errors name the source:
 * DEPLOY_ERR_AUTH when the endpoint refused (its error and description
 * quoted), DEPLOY_ERR_UNREACHABLE / _TIMEOUT, DEPLOY_ERR_SYNTAX. */
int gcp_creds_token(struct gcp_creds *c, bool force, const char **token,
		    struct error *err);

/* Wipes and frees every member. */
void gcp_creds_free(struct gcp_creds *c);

/*
 * The Compute API base URL, with a trailing slash: the provider block's
 * `endpoint:`, else CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE (as gcloud
 * takes it, e.g. http://127.0.0.1:8080/compute/v1/), else
 * https://compute.googleapis.com/compute/v1/.
 */
int gcp_endpoint_resolve(const char *block_endpoint, char **out,
			 struct error *err);

#endif
