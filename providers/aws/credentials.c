/* SPDX-License-Identifier: MIT */
/* AWS credentials, the region and the EC2 endpoint, in the SDKs' order. */
#include "providers/aws/credentials.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "providers/aws/profile.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/redact.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_PATH	      "/latest/api/token"
#define IMDS_CREDS_PATH	      "/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_TTL	      "21600" /* seconds: the longest IMDS allows */
#define IMDS_CONNECT_MS	      1000L
#define IMDS_TIMEOUT_MS	      2000L
#define IMDS_ATTEMPTS	      2
#define IMDS_MAX_BODY	      16384u

void aws_creds_free(struct aws_creds *c)
{
	if (!c)
		return;
	if (c->access_key)
		freezero(c->access_key, strlen(c->access_key) + 1);
	if (c->secret_key)
		freezero(c->secret_key, strlen(c->secret_key) + 1);
	if (c->token)
		freezero(c->token, strlen(c->token) + 1);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

void aws_creds_redact(const struct aws_creds *c, char *msg, size_t size)
{
	if (c->secret_key)
		redact_message(msg, size, "aws secret key", c->secret_key,
			       strlen(c->secret_key));
	if (c->token)
		redact_message(msg, size, "aws session token", c->token,
			       strlen(c->token));
}

/* An environment variable, NULL when unset or empty (as the SDKs read). */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static bool env_true(const char *name)
{
	const char *v = env(name);

	return v && !strcasecmp(v, "true");
}

/* The length of url's "http://" or "https://", 0 for any other scheme. */
static size_t http_scheme_len(const char *url)
{
	if (!strncasecmp(url, "http://", 7))
		return 7;
	if (!strncasecmp(url, "https://", 8))
		return 8;
	return 0;
}

/* The shared file named by variable var (a leading "~/" is the home
 * directory, as the SDKs read it), else ~/.aws/NAME. */
static char *shared_file(const char *var, const char *name)
{
	const char *v = env(var);

	if (!v)
		return xstrfmt("%s/.aws/%s", home_dir(), name);
	return path_expand(v, NULL);
}

/* The profile name: the provider block's, else AWS_PROFILE, else
 * "default". *named tells whether one was asked for. */
static const char *profile_name(const char *block_profile, bool *named)
{
	const char *p = block_profile && *block_profile ? block_profile
							: env("AWS_PROFILE");

	*named = p != NULL;
	return p ? p : "default";
}

/* Credentials from the environment: 1 when found, 0 when not set. */
static int from_env(struct aws_creds *out, struct error *err)
{
	const char *id = env("AWS_ACCESS_KEY_ID");
	const char *secret = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN");

	if (!id && !secret)
		return 0;
	if (!secret)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "AWS_ACCESS_KEY_ID is set but "
				 "AWS_SECRET_ACCESS_KEY is not");
	if (!id)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "AWS_SECRET_ACCESS_KEY is set but "
				 "AWS_ACCESS_KEY_ID is not");
	out->access_key = xstrdup(id);
	out->secret_key = xstrdup(secret);
	out->token = token ? xstrdup(token) : NULL;
	out->source = xstrdup("environment");
	return 1;
}

/*
 * Take the keys of profile p (read from path) into out: 1 when it has them,
 * 0 when it has none, an error when it has half of them or names a source
 * of credentials deploy does not read.
 */
static int from_profile(struct aws_profile *p, const char *name,
			const char *path, struct aws_creds *out,
			struct error *err)
{
	if (!p->found)
		return 0;
	if (p->access_key && !p->secret_key)
		return error_set(err, DEPLOY_ERR_INVALID, path, p->line, 0,
				 "profile '%s' has aws_access_key_id but no "
				 "aws_secret_access_key",
				 name);
	if (p->secret_key && !p->access_key)
		return error_set(err, DEPLOY_ERR_INVALID, path, p->line, 0,
				 "profile '%s' has aws_secret_access_key but "
				 "no aws_access_key_id",
				 name);
	if (!p->access_key) {
		if (p->unsupported)
			return error_set(
				err, DEPLOY_ERR_INVALID, path, p->line, 0,
				"profile '%s' uses %s, which deploy does not "
				"support; give it aws_access_key_id and "
				"aws_secret_access_key, or set them in the "
				"environment",
				name, p->unsupported);
		return 0;
	}
	out->access_key = p->access_key;
	out->secret_key = p->secret_key;
	out->token = p->token;
	p->access_key = p->secret_key = p->token = NULL;
	out->source = xstrfmt("profile '%s' in %s", name, path);
	return 1;
}

/* --- instance metadata (IMDSv2) --- */

struct imds {
	char *base;	    /* scheme://host[:port], no trailing slash */
	char *token_header; /* "X-aws-ec2-metadata-token: …"; wiped */
	/* Why there are no instance credentials, when the service is not
	 * there or has no role: the chain goes on and says so. */
	char why[sizeof(((struct error *)0)->msg)];
};

/* Allocate the body at its final size, so that no copy of a secret is left
 * behind by a realloc while curl fills it. */
static void reserve_body(struct http_response *r)
{
	buf_free_secret(&r->body);
	r->body.data = xcalloc(IMDS_MAX_BODY + 1, 1);
	r->body.cap = IMDS_MAX_BODY + 1;
}

/*
 * One request, tried IMDS_ATTEMPTS times when the connection fails or the
 * service answers 5xx; a status below 500 is for the caller to read.
 * A first contact that times out is not tried again: off EC2 the address
 * usually swallows packets, and a second wait only delays the answer.
 */
static int imds_call(const char *method, const char *url,
		     const char *const *headers, size_t nr_headers,
		     bool first_contact, struct http_response *resp,
		     struct error *err)
{
	struct http_request req = {
		.method = method,
		.url = url,
		.headers = headers,
		.nr_headers = nr_headers,
		.connect_timeout_ms = IMDS_CONNECT_MS,
		.timeout_ms = IMDS_TIMEOUT_MS,
		.max_body = IMDS_MAX_BODY,
		.no_proxy = true,
		.secret = true,
	};
	int rc = 0;

	for (int attempt = 1; attempt <= IMDS_ATTEMPTS; attempt++) {
		rc = http_do(&req, resp, err);
		if (!rc && resp->status < 500)
			return 0;
		if (rc == DEPLOY_ERR_TOO_BIG ||
		    (rc == DEPLOY_ERR_TIMEOUT && first_contact))
			return rc;
	}
	if (!rc) {
		char where[256];

		http_url_for_humans(url, where, sizeof(where));
		return error_set(err, DEPLOY_ERR_UNREACHABLE, NULL, 0, 0,
				 "%s %s: HTTP %ld (%d attempts)", method, where,
				 resp->status, IMDS_ATTEMPTS);
	}
	if (err && strlen(err->msg) + 16 < sizeof(err->msg))
		error_append(err, " (%d attempts)", IMDS_ATTEMPTS);
	return rc;
}

/* 1 with imds->token_header set, 0 when the service gives no token (the
 * reason in imds->why), or an error. */
static int imds_token(struct imds *imds, struct http_response *resp)
{
	const char *hdr[] = {
		"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL
	};
	char *url = xstrfmt("%s%s", imds->base, IMDS_TOKEN_PATH);
	struct error e;
	int rc;

	error_init(&e);
	rc = imds_call("PUT", url, hdr, 1, true, resp, &e);
	free(url);
	if (rc) {
		snprintf(imds->why, sizeof(imds->why), "%s", e.msg);
		error_clear(&e);
		return 0;
	}
	error_clear(&e);
	switch (resp->status) {
	case 200:
		break;
	case 403:
		snprintf(imds->why, sizeof(imds->why),
			 "PUT %s%s: HTTP 403 (turned off for this instance, "
			 "or the request went through a proxy)",
			 imds->base, IMDS_TOKEN_PATH);
		return 0;
	default:
		snprintf(imds->why, sizeof(imds->why),
			 "PUT %s%s: HTTP %ld, not a token", imds->base,
			 IMDS_TOKEN_PATH, resp->status);
		return 0;
	}
	for (size_t i = 0; i < resp->body.len; i++) {
		unsigned char c = (unsigned char)resp->body.data[i];

		if (c <= ' ' || c >= 0x7f) {
			snprintf(imds->why, sizeof(imds->why),
				 "PUT %s%s: the token is not printable text",
				 imds->base, IMDS_TOKEN_PATH);
			return 0;
		}
	}
	if (!resp->body.len) {
		snprintf(imds->why, sizeof(imds->why),
			 "PUT %s%s: the token is empty", imds->base,
			 IMDS_TOKEN_PATH);
		return 0;
	}
	imds->token_header =
		xstrfmt("X-aws-ec2-metadata-token: %s", resp->body.data);
	return 1;
}

/* IAM role names: [A-Za-z0-9+=,.@_-], 1 to 64 of them. */
static bool is_role_name(const char *s, size_t len)
{
	if (!len || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("+=,.@_-", s[i]) &&
		    !((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* 1 with *role set, 0 when the instance has no role (imds->why), or an
 * error. */
static int imds_role(struct imds *imds, struct http_response *resp, char **role,
		     struct error *err)
{
	const char *hdr[] = { imds->token_header };
	char *url = xstrfmt("%s%s", imds->base, IMDS_CREDS_PATH);
	size_t len;
	int rc;

	rc = imds_call("GET", url, hdr, 1, false, resp, err);
	free(url);
	if (rc)
		return rc;
	if (resp->status == 404) {
		snprintf(imds->why, sizeof(imds->why),
			 "%s: no IAM role is attached to this instance",
			 imds->base);
		return 0;
	}
	if (resp->status != 200)
		return error_set(
			err, DEPLOY_ERR_AUTH, NULL, 0, 0, "GET %s: HTTP %ld%s",
			IMDS_CREDS_PATH, resp->status,
			resp->status == 401 ? " (the token was refused)" : "");
	len = strcspn(resp->body.data, "\r\n");
	if (!is_role_name(resp->body.data, len))
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "GET %s: the answer is not an IAM role name",
				 IMDS_CREDS_PATH);
	*role = xstrndup(resp->body.data, len);
	return 1;
}

/* Overwrite every string of a cJSON tree before it is freed. */
static void json_wipe(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			explicit_bzero(j->valuestring, strlen(j->valuestring));
		json_wipe(j->child);
	}
}

static const char *json_str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) && v->valuestring && *v->valuestring
		       ? v->valuestring
		       : NULL;
}

/* "2026-11-21T18:00:00Z" into unix time; -1 when it is not one. */
static long long parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (strcmp(end, "Z") && strcmp(end, "+00:00")))
		return -1;
	return (long long)timegm(&tm);
}

static int imds_role_creds(struct imds *imds, const char *role,
			   struct http_response *resp, struct aws_creds *out,
			   struct error *err)
{
	const char *hdr[] = { imds->token_header };
	char *url = xstrfmt("%s%s%s", imds->base, IMDS_CREDS_PATH, role);
	const char *code, *id, *secret, *token, *expiration;
	cJSON *doc = NULL;
	int rc;

	reserve_body(resp);
	rc = imds_call("GET", url, hdr, 1, false, resp, err);
	free(url);
	if (rc)
		goto out;
	if (resp->status != 200) {
		rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
			       "GET %s%s: HTTP %ld%s", IMDS_CREDS_PATH, role,
			       resp->status,
			       resp->status == 401 ? " (the token was refused)"
						   : "");
		goto out;
	}
	doc = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	if (!cJSON_IsObject(doc)) {
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "GET %s%s: the answer is not a JSON object",
			       IMDS_CREDS_PATH, role);
		goto out;
	}
	code = json_str(doc, "Code");
	if (!code || strcmp(code, "Success")) {
		rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
			       "the credentials of role '%s' are not "
			       "available (Code '%.64s')",
			       role, code ? code : "");
		goto out;
	}
	id = json_str(doc, "AccessKeyId");
	secret = json_str(doc, "SecretAccessKey");
	token = json_str(doc, "Token");
	expiration = json_str(doc, "Expiration");
	if (!id || !secret || !token) {
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "the credentials of role '%s' lack %s", role,
			       !id	 ? "AccessKeyId"
			       : !secret ? "SecretAccessKey"
					 : "Token");
		goto out;
	}
	out->expires = expiration ? parse_time(expiration) : 0;
	if (out->expires < 0) {
		out->expires = 0;
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "the credentials of role '%s' have an "
			       "Expiration that is not a UTC "
			       "time",
			       role);
		goto out;
	}
	out->access_key = xstrdup(id);
	out->secret_key = xstrdup(secret);
	out->token = xstrdup(token);
	out->source = xstrfmt("instance metadata (role %s)", role);
out:
	if (doc) {
		json_wipe(doc);
		cJSON_Delete(doc);
	}
	buf_free_secret(&resp->body);
	return rc;
}

/* The service's base URL from AWS_EC2_METADATA_SERVICE_ENDPOINT. */
static int imds_base(char **out, struct error *err)
{
	const char *v = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	size_t len;

	if (!v)
		v = IMDS_DEFAULT_ENDPOINT;
	if (!http_scheme_len(v))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an "
				 "http:// URL");
	len = strlen(v);
	while (len && v[len - 1] == '/')
		len--;
	*out = xstrndup(v, len);
	return 0;
}

/* 1 with out filled, 0 when there are none (why says so), or an error. */
static int from_imds(struct aws_creds *out, char **why, struct error *err)
{
	struct imds imds = { 0 };
	struct http_response resp;
	char *role = NULL;
	int rc;

	http_response_init(&resp);
	rc = imds_base(&imds.base, err);
	if (rc)
		goto out;
	rc = imds_token(&imds, &resp);
	if (rc > 0)
		rc = imds_role(&imds, &resp, &role, err);
	if (rc > 0) {
		rc = imds_role_creds(&imds, role, &resp, out, err);
		if (!rc)
			rc = 1;
	}
	if (rc < 0) {
		/* The service answered, then failed: say where. */
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		error_set(err, rc, NULL, 0, 0, "instance metadata at %s: %s",
			  imds.base, msg);
	}
	if (!rc)
		*why = xstrdup(imds.why);
out:
	free(role);
	if (imds.token_header)
		freezero(imds.token_header, strlen(imds.token_header) + 1);
	free(imds.base);
	buf_free_secret(&resp.body);
	http_response_free(&resp);
	return rc;
}

bool aws_creds_due(const struct aws_creds *c, long long now)
{
	return c->expires && now >= c->expires - AWS_CREDS_REFRESH_S;
}

int aws_creds_refresh(struct aws_creds *c, struct error *err)
{
	struct aws_creds fresh = { 0 };
	struct error e;
	char *why = NULL;
	long long now = (long long)time(NULL);
	int rc;

	if (!aws_creds_due(c, now))
		return 0;
	/* Only instance metadata hands out credentials that expire. */
	error_init(&e);
	rc = from_imds(&fresh, &why, &e);
	if (rc > 0) {
		aws_creds_free(c);
		*c = fresh;
		rc = 0;
		goto out;
	}
	aws_creds_free(&fresh);
	if (now < c->expires) {
		rc = 0; /* still valid: use them, try again next call */
		goto out;
	}
	rc = error_set(err, rc < 0 ? rc : DEPLOY_ERR_AUTH, NULL, 0, 0,
		       "the credentials from %s have expired and could not "
		       "be refreshed: %s",
		       c->source ? c->source : "instance metadata",
		       rc < 0 ? e.msg : why);
out:
	free(why);
	error_clear(&e);
	return rc;
}

int aws_creds_load(const char *profile, struct aws_creds *out,
		   struct error *err)
{
	struct aws_profile cred_p = { 0 }, conf_p = { 0 };
	char *cred_path = NULL, *conf_path = NULL;
	char *imds_why = NULL;
	struct error scratch; /* when the caller passes no err */
	bool named;
	const char *name = profile_name(profile, &named);
	int rc;

	memset(out, 0, sizeof(*out));
	error_init(&scratch);
	if (!err)
		err = &scratch;
	/* A profile named in the provider block wins over the environment's
	 * keys; AWS_PROFILE does not (as in the SDKs). */
	if (!(profile && *profile)) {
		rc = from_env(out, err);
		if (rc)
			goto out;
	}

	cred_path = shared_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	conf_path = shared_file("AWS_CONFIG_FILE", "config");
	rc = aws_profile_load(cred_path, AWS_FILE_CREDENTIALS, name, &cred_p,
			      err);
	if (!rc)
		rc = from_profile(&cred_p, name, cred_path, out, err);
	if (rc)
		goto out;
	rc = aws_profile_load(conf_path, AWS_FILE_CONFIG, name, &conf_p, err);
	if (!rc)
		rc = from_profile(&conf_p, name, conf_path, out, err);
	if (rc)
		goto out;
	if (named && !cred_p.found && !conf_p.found) {
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "profile '%s' not found in %s or %s "
			       "(no [%s] in the first, no [profile %s] in "
			       "the second)",
			       name, cred_path, conf_path, name, name);
		goto out;
	}
	if (named) {
		rc = error_set(err, DEPLOY_ERR_INVALID,
			       cred_p.found ? cred_path : conf_path,
			       cred_p.found ? cred_p.line : conf_p.line, 0,
			       "profile '%s' has no aws_access_key_id and "
			       "aws_secret_access_key",
			       name);
		goto out;
	}

	if (env_true("AWS_EC2_METADATA_DISABLED")) {
		imds_why = xstrdup("turned off by "
				   "AWS_EC2_METADATA_DISABLED=true");
	} else {
		rc = from_imds(out, &imds_why, err);
		if (rc)
			goto out;
	}
	rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
		       "no AWS credentials: AWS_ACCESS_KEY_ID is not set, no "
		       "profile '%s' with keys in %s or %s, instance metadata: "
		       "%s; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
		       "or name a profile with keys (`profile:` in "
		       "providers.aws, or AWS_PROFILE)",
		       name, cred_path, conf_path, imds_why);
out:
	if (rc < 0)
		aws_creds_free(out);
	aws_profile_free(&cred_p);
	aws_profile_free(&conf_p);
	free(cred_path);
	free(conf_path);
	free(imds_why);
	error_clear(&scratch);
	return rc < 0 ? rc : 0;
}

/* --- region and endpoint --- */

static int check_region(const char *region, const char *from, char **out,
			struct error *err)
{
	if (!is_dns_label(region))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "region '%.64s' (%s) is not a region name "
				 "such as us-east-1",
				 region, from);
	*out = xstrdup(region);
	return 0;
}

int aws_region_resolve(const char *role_region, const char *block_region,
		       const char *profile, char **out, struct error *err)
{
	struct aws_profile conf_p = { 0 };
	char *conf_path = NULL, *from = NULL;
	bool named;
	const char *name = profile_name(profile, &named);
	int rc;

	*out = NULL;
	if (role_region && *role_region)
		return check_region(role_region, "the role's region", out, err);
	if (block_region && *block_region)
		return check_region(block_region, "providers.aws region", out,
				    err);
	if (env("AWS_REGION"))
		return check_region(env("AWS_REGION"), "AWS_REGION", out, err);
	if (env("AWS_DEFAULT_REGION"))
		return check_region(env("AWS_DEFAULT_REGION"),
				    "AWS_DEFAULT_REGION", out, err);
	conf_path = shared_file("AWS_CONFIG_FILE", "config");
	rc = aws_profile_load(conf_path, AWS_FILE_CONFIG, name, &conf_p, err);
	if (rc)
		goto out;
	if (conf_p.region) {
		from = xstrfmt("profile '%s' in %s", name, conf_path);
		rc = check_region(conf_p.region, from, out, err);
		goto out;
	}
	rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
		       "no AWS region: set `region:` in providers.aws (or on "
		       "the role), or AWS_REGION, or region in profile '%s' "
		       "of %s",
		       name, conf_path);
out:
	aws_profile_free(&conf_p);
	free(conf_path);
	free(from);
	return rc;
}

/* An http:// or https:// URL with a host and no user, password, query or
 * fragment; *out gets it without trailing slashes. A URL with '@' is
 * refused without being shown: what precedes it may be a password. */
static int check_endpoint(const char *url, const char *from, char **out,
			  struct error *err)
{
	size_t scheme = http_scheme_len(url);
	size_t len = strlen(url);
	const char *host = url + scheme;
	char where[256];

	if (strchr(url, '@'))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "the endpoint (%s) has a user name or "
				 "password, which is not supported",
				 from);
	http_url_for_humans(url, where, sizeof(where));
	if (!scheme)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "endpoint '%s' (%s) is not an http:// or "
				 "https:// URL",
				 where, from);
	if (!*host || *host == '/' || strpbrk(url, "?#"))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "endpoint '%s' (%s) needs a host, and no "
				 "query or fragment",
				 where, from);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "endpoint '%s' (%s) contains a space "
					 "or a control character",
					 where, from);
	while (len > scheme + 1 && url[len - 1] == '/')
		len--;
	*out = xstrndup(url, len);
	return 0;
}

int aws_endpoint_resolve(const char *block_endpoint, const char *region,
			 char **out, struct error *err)
{
	bool ignore_env = env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

	*out = NULL;
	if (block_endpoint && *block_endpoint)
		return check_endpoint(block_endpoint, "providers.aws endpoint",
				      out, err);
	if (!ignore_env && env("AWS_ENDPOINT_URL_EC2"))
		return check_endpoint(env("AWS_ENDPOINT_URL_EC2"),
				      "AWS_ENDPOINT_URL_EC2", out, err);
	if (!ignore_env && env("AWS_ENDPOINT_URL"))
		return check_endpoint(env("AWS_ENDPOINT_URL"),
				      "AWS_ENDPOINT_URL", out, err);
	if (!region || !is_dns_label(region))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "no region to make the EC2 endpoint from");
	/* The China partition has its own domain. */
	*out = xstrfmt("https://ec2.%s.amazonaws.com%s", region,
		       !strncmp(region, "cn-", 3) ? ".cn" : "");
	return 0;
}
