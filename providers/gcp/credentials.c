/* SPDX-License-Identifier: MIT */
/* Google credentials: key files, gcloud's ADC, the metadata server; tokens. */
#include "providers/gcp/credentials.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "http/http.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/redact.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define KEY_FILE_MAX	 (64u << 10)
#define TOKEN_MAX_BODY	 (64u << 10)
#define TOKEN_TIMEOUT_MS 30000L
#define TOKEN_ATTEMPTS	 3
#define METADATA_DEFAULT "169.254.169.254"
#define METADATA_TOKEN_PATH                              \
	"/computeMetadata/v1/instance/service-accounts/" \
	"default/token"
#define METADATA_CONNECT_MS  1000L
#define METADATA_TIMEOUT_MS  2000L
#define JWT_LIFETIME_S	     3600
#define REFRESH_BEFORE_END_S 300
/* Google issues tokens for an hour; a day is more than any issuer grants. */
#define TOKEN_LIFE_MAX_S 86400

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void free_secret(char **s)
{
	if (*s)
		freezero(*s, strlen(*s) + 1);
	*s = NULL;
}

void gcp_creds_free(struct gcp_creds *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->email);
	free(c->project);
	free(c->token_uri);
	free(c->key_id);
	free(c->metadata_base);
	free_secret(&c->private_key);
	free_secret(&c->client_id);
	free_secret(&c->client_secret);
	free_secret(&c->refresh_token);
	free_secret(&c->token);
	memset(c, 0, sizeof(*c));
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

static void json_free_secret(cJSON *j)
{
	if (!j)
		return;
	json_wipe(j);
	cJSON_Delete(j);
}

static const char *json_str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) && v->valuestring && *v->valuestring
		       ? v->valuestring
		       : NULL;
}

static char *json_strdup(const cJSON *doc, const char *key)
{
	const char *v = json_str(doc, key);

	return v ? xstrdup(v) : NULL;
}

/* An http:// or https:// URL with a host, no user and no fragment. */
static bool is_http_url(const char *url)
{
	size_t n = !strncasecmp(url, "https://", 8)  ? 8
		   : !strncasecmp(url, "http://", 7) ? 7
						     : 0;

	if (!n || !url[n] || url[n] == '/' || strpbrk(url, "@#"))
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* --- key files --- */

static int load_service_account(const cJSON *doc, const char *source,
				struct gcp_creds *out, struct error *err)
{
	const char *missing = !json_str(doc, "client_email")  ? "client_email"
			      : !json_str(doc, "private_key") ? "private_key"
							      : NULL;
	const char *uri = json_str(doc, "token_uri");

	if (missing)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s: no '%s' in the key", source, missing);
	if (uri && !is_http_url(uri))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s: token_uri is not an http(s) URL", source);
	out->kind = GCP_CREDS_SERVICE_ACCOUNT;
	out->email = json_strdup(doc, "client_email");
	out->private_key = json_strdup(doc, "private_key");
	out->key_id = json_strdup(doc, "private_key_id");
	out->project = json_strdup(doc, "project_id");
	out->token_uri = xstrdup(uri ? uri : GCP_DEFAULT_TOKEN_URI);
	return 0;
}

static int load_authorized_user(const cJSON *doc, const char *source,
				struct gcp_creds *out, struct error *err)
{
	const char *missing =
		!json_str(doc, "client_id")	  ? "client_id"
		: !json_str(doc, "client_secret") ? "client_secret"
		: !json_str(doc, "refresh_token") ? "refresh_token"
						  : NULL;
	const char *uri = json_str(doc, "token_uri");

	if (missing)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s: no '%s' in the file", source, missing);
	if (uri && !is_http_url(uri))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s: token_uri is not an http(s) URL", source);
	out->kind = GCP_CREDS_AUTHORIZED_USER;
	out->client_id = json_strdup(doc, "client_id");
	out->client_secret = json_strdup(doc, "client_secret");
	out->refresh_token = json_strdup(doc, "refresh_token");
	out->project = json_strdup(doc, "quota_project_id");
	out->token_uri = xstrdup(uri ? uri : GCP_DEFAULT_TOKEN_URI);
	return 0;
}

/* Read the key file at path; source says where its name came from. */
static int load_file(const char *path, const char *from, struct gcp_creds *out,
		     struct error *err)
{
	struct buf b;
	cJSON *doc = NULL;
	const char *type;
	char *source = NULL;
	int rc;

	buf_init(&b, KEY_FILE_MAX);
	if (buf_read_file(&b, path)) {
		rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
			       "credentials file '%s' (%s) cannot be read",
			       path, from);
		goto out;
	}
	doc = cJSON_ParseWithLength(b.data, b.len);
	if (!cJSON_IsObject(doc)) {
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "credentials file '%s' (%s) is not a JSON "
			       "object",
			       path, from);
		goto out;
	}
	type = json_str(doc, "type");
	if (type && !strcmp(type, "service_account")) {
		source =
			xstrfmt("service-account key file %s (%s)", path, from);
		rc = load_service_account(doc, source, out, err);
	} else if (type && !strcmp(type, "authorized_user")) {
		source = xstrfmt("authorized_user file %s (%s)", path, from);
		rc = load_authorized_user(doc, source, out, err);
	} else {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "credentials file '%s' (%s) has type '%.40s'; "
			       "deploy reads service_account and "
			       "authorized_user",
			       path, from, type ? type : "");
	}
	if (!rc) {
		out->source = source;
		source = NULL;
	}
out:
	free(source);
	json_free_secret(doc);
	buf_free_secret(&b);
	return rc;
}

static char *adc_path(void)
{
	const char *dir = env("CLOUDSDK_CONFIG");

	if (dir)
		return xstrfmt("%s/application_default_credentials.json", dir);
	return xstrfmt("%s/.config/gcloud/application_default_credentials.json",
		       home_dir());
}

int gcp_creds_load(const char *block_file, struct gcp_creds *out,
		   struct error *err)
{
	const char *host = env("GCE_METADATA_HOST");
	char *adc = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (block_file && *block_file) {
		rc = load_file(block_file, "providers.gcp credentials", out,
			       err);
		goto out;
	}
	if (env("GOOGLE_APPLICATION_CREDENTIALS")) {
		rc = load_file(env("GOOGLE_APPLICATION_CREDENTIALS"),
			       "from GOOGLE_APPLICATION_CREDENTIALS", out, err);
		goto out;
	}
	adc = adc_path();
	if (!access(adc, F_OK)) {
		rc = load_file(adc, "gcloud application default credentials",
			       out, err);
		goto out;
	}
	/* GCE_METADATA_HOST is host[:port]; refuse anything else, it goes
	 * into a URL. */
	if (host && (strpbrk(host, "/@?# \t") || !*host)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "GCE_METADATA_HOST is not host[:port]");
		goto out;
	}
	out->kind = GCP_CREDS_METADATA;
	out->metadata_base =
		xstrfmt("http://%s", host ? host : METADATA_DEFAULT);
	out->source = xstrfmt("metadata server at %s (no credentials file: "
			      "GOOGLE_APPLICATION_CREDENTIALS is not set, no "
			      "%s)",
			      host ? host : METADATA_DEFAULT, adc);
	rc = 0;
out:
	if (rc)
		gcp_creds_free(out);
	free(adc);
	return rc;
}

/* --- the JWT (RFC 7519) signed RS256 --- */

static void b64url(struct buf *out, const void *data, size_t len)
{
	size_t start = out->len;

	base64_encode(out, data, len, false);
	for (size_t i = start; i < out->len; i++) {
		if (out->data[i] == '+')
			out->data[i] = '-';
		else if (out->data[i] == '/')
			out->data[i] = '_';
	}
}

static int jwt_sign(const struct gcp_creds *c, struct buf *jwt,
		    struct error *err)
{
	cJSON *hdr = cJSON_CreateObject(), *claims = cJSON_CreateObject();
	char *hdr_s = NULL, *claims_s = NULL;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	long long now = (long long)time(NULL);
	int rc = 0;

	cJSON_AddStringToObject(hdr, "alg", "RS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	if (c->key_id)
		cJSON_AddStringToObject(hdr, "kid", c->key_id);
	cJSON_AddStringToObject(claims, "iss", c->email);
	cJSON_AddStringToObject(claims, "scope", GCP_SCOPE_COMPUTE);
	cJSON_AddStringToObject(claims, "aud", c->token_uri);
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + JWT_LIFETIME_S));
	hdr_s = cJSON_PrintUnformatted(hdr);
	claims_s = cJSON_PrintUnformatted(claims);
	b64url(jwt, hdr_s, strlen(hdr_s));
	buf_addch(jwt, '.');
	b64url(jwt, claims_s, strlen(claims_s));

	bio = BIO_new_mem_buf(c->private_key, -1);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
			       "%s: private_key is not an RSA key in PEM",
			       c->source);
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, (unsigned char *)jwt->data,
			   jwt->len) != 1) {
		rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
			       "%s: cannot sign with private_key", c->source);
		goto out;
	}
	sig = xmalloc(sig_len);
	if (EVP_DigestSign(md, sig, &sig_len, (unsigned char *)jwt->data,
			   jwt->len) != 1) {
		rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
			       "%s: cannot sign with private_key", c->source);
		goto out;
	}
	buf_addch(jwt, '.');
	b64url(jwt, sig, sig_len);
out:
	free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	cJSON_free(hdr_s);
	cJSON_free(claims_s);
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	return rc;
}

/* --- fetching a token --- */

static void form_add(struct buf *b, const char *name, const char *value)
{
	if (b->len)
		buf_addch(b, '&');
	buf_adds(b, name);
	buf_addch(b, '=');
	http_uri_encode(b, value, strlen(value));
}

/* Allocate the body at its final size, so that no copy of a token is left
 * behind by a realloc while curl fills it. */
static void reserve_body(struct http_response *r, size_t max)
{
	buf_free_secret(&r->body);
	r->body.data = xcalloc(max + 1, 1);
	r->body.cap = max + 1;
}

/* Take access_token and expires_in from a 200 answer. */
static int take_token(struct gcp_creds *c, const struct http_response *resp,
		      const char *where, struct error *err)
{
	cJSON *doc = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
	const char *tok = json_str(doc, "access_token");
	long long life, now = now_ms();
	int rc = 0;

	if (!tok || !cJSON_IsNumber(exp) || exp->valuedouble <= 0 ||
	    exp->valuedouble > TOKEN_LIFE_MAX_S) {
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "%s: %s answered without access_token and "
			       "an expires_in from 1 to %d seconds",
			       c->source, where, TOKEN_LIFE_MAX_S);
		goto out;
	}
	for (const char *p = tok; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				       "%s: %s answered a token that is not "
				       "printable text",
				       c->source, where);
			goto out;
		}
	free_secret(&c->token);
	c->token = xstrdup(tok);
	life = (long long)(exp->valuedouble * 1000.0);
	c->expires_ms = now + life;
	c->fresh_until_ms =
		now + (life / 2 > life - REFRESH_BEFORE_END_S * 1000LL
			       ? life / 2
			       : life - REFRESH_BEFORE_END_S * 1000LL);
	c->fetches++;
out:
	json_free_secret(doc);
	return rc;
}

/* The error of a refusal: OAuth's {"error", "error_description"}. */
static int refused(struct gcp_creds *c, const struct http_response *resp,
		   const char *where, const char *assertion, struct error *err)
{
	/* A broken server may quote what it was sent. */
	const struct {
		const char *name, *value;
	} sent[] = {
		{ "gcp client secret", c->client_secret },
		{ "gcp refresh token", c->refresh_token },
		{ "gcp assertion", assertion },
		{ "gcp access token", c->token },
	};
	cJSON *doc = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	const char *e = json_str(doc, "error");
	const char *d = json_str(doc, "error_description");
	int rc;

	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "error")))
		e = json_str(cJSON_GetObjectItemCaseSensitive(doc, "error"),
			     "message");
	rc = error_set(err,
		       resp->status >= 500 ? DEPLOY_ERR_UNREACHABLE
					   : DEPLOY_ERR_AUTH,
		       NULL, 0, 0, "%s: %s refused: HTTP %ld%s%.100s%s%.300s",
		       c->source, where, resp->status, e ? ": " : "",
		       e ? e : "", d ? ": " : "", d ? d : "");
	for (size_t i = 0; i < sizeof(sent) / sizeof(*sent); i++)
		if (sent[i].value)
			redact_message(err->msg, sizeof(err->msg), sent[i].name,
				       sent[i].value, strlen(sent[i].value));
	json_free_secret(doc);
	return rc;
}

static int fetch(struct gcp_creds *c, struct error *err)
{
	struct buf form = BUF_INIT, url = BUF_INIT, jwt = BUF_INIT;
	struct http_response resp;
	struct http_request req = { 0 };
	const char *form_hdr[] = {
		"Content-Type: application/x-www-form-urlencoded",
	};
	const char *md_hdr[] = { "Metadata-Flavor: Google" };
	char where[256];
	char *flavor = NULL;
	int rc = 0;

	http_response_init(&resp);
	reserve_body(&resp, TOKEN_MAX_BODY);
	req.secret = true;
	req.max_body = TOKEN_MAX_BODY;
	if (c->kind == GCP_CREDS_METADATA) {
		buf_addf(&url, "%s%s", c->metadata_base, METADATA_TOKEN_PATH);
		req.method = "GET";
		req.headers = md_hdr;
		req.nr_headers = 1;
		req.connect_timeout_ms = METADATA_CONNECT_MS;
		req.timeout_ms = METADATA_TIMEOUT_MS;
		req.no_proxy = true;
	} else {
		if (c->kind == GCP_CREDS_SERVICE_ACCOUNT) {
			rc = jwt_sign(c, &jwt, err);
			if (rc)
				goto out;
			form_add(&form, "grant_type",
				 "urn:ietf:params:oauth:grant-type:jwt-bearer");
			form_add(&form, "assertion", jwt.data);
		} else {
			form_add(&form, "grant_type", "refresh_token");
			form_add(&form, "client_id", c->client_id);
			form_add(&form, "client_secret", c->client_secret);
			form_add(&form, "refresh_token", c->refresh_token);
		}
		buf_adds(&url, c->token_uri);
		req.method = "POST";
		req.headers = form_hdr;
		req.nr_headers = 1;
		req.body = form.data;
		req.body_len = form.len;
		req.timeout_ms = TOKEN_TIMEOUT_MS;
	}
	req.url = url.data;
	http_url_for_humans(url.data, where, sizeof(where));
	/* A token request is safe to repeat: repeat it when the endpoint
	 * could not be reached (not the metadata server's first contact,
	 * which off GCE only waits out its timeout again) or said 5xx. */
	for (int n = 1; n <= TOKEN_ATTEMPTS; n++) {
		rc = http_do(&req, &resp, err);
		if (!rc && resp.status < 500)
			break;
		if (rc && c->kind == GCP_CREDS_METADATA && !c->fetches)
			break;
		if (n == TOKEN_ATTEMPTS)
			break;
		sleep(1);
	}
	if (rc) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		rc = error_set(err, rc, NULL, 0, 0, "%s: %s", c->source, msg);
		goto out;
	}
	if (c->kind == GCP_CREDS_METADATA) {
		flavor = http_response_header(&resp, "Metadata-Flavor");
		if (!flavor || strcmp(flavor, "Google")) {
			rc = error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
				       "%s: %s answered HTTP %ld without "
				       "Metadata-Flavor: Google (not a GCE "
				       "metadata server)",
				       c->source, where, resp.status);
			goto out;
		}
	}
	if (resp.status != 200)
		rc = refused(c, &resp, where, jwt.len ? jwt.data : NULL, err);
	else
		rc = take_token(c, &resp, where, err);
out:
	free(flavor);
	buf_free_secret(&form);
	buf_free_secret(&jwt);
	buf_free(&url);
	buf_free_secret(&resp.body);
	http_response_free(&resp);
	return rc;
}

int gcp_creds_token(struct gcp_creds *c, bool force, const char **token,
		    struct error *err)
{
	int rc;

	*token = NULL;
	if (force || !c->token || now_ms() >= c->fresh_until_ms) {
		rc = fetch(c, err);
		if (rc)
			return rc;
	}
	*token = c->token;
	return 0;
}

int gcp_endpoint_resolve(const char *block_endpoint, char **out,
			 struct error *err)
{
	const char *v =
		block_endpoint && *block_endpoint
			? block_endpoint
			: env("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE");
	const char *from = block_endpoint && *block_endpoint
				   ? "providers.gcp endpoint"
				   : "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE";
	size_t len;

	*out = NULL;
	if (!v) {
		*out = xstrdup("https://compute.googleapis.com/compute/v1/");
		return 0;
	}
	if (!is_http_url(v) || strchr(v, '?'))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "the Compute endpoint (%s) is not an http:// "
				 "or https:// URL with a host and no user, "
				 "query or fragment",
				 from);
	len = strlen(v);
	*out = xstrfmt("%s%s", v, v[len - 1] == '/' ? "" : "/");
	return 0;
}
