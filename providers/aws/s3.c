/* SPDX-License-Identifier: MIT */
/* A small S3 object client (GET, PUT, DELETE) for the state backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "providers/aws/s3.h"
#include "providers/aws/sigv4.h"
#include "util/xalloc.h"
#include "util/pause.h"
#include "util/banned.h"

#define DEFAULT_BASE_MS	   200
#define DEFAULT_CAP_MS	   5000
#define DEFAULT_ATTEMPTS   5
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_HEADERS	   12

bool s3_key_ok(const char *key)
{
	size_t len = strlen(key), seg = 0;

	if (!len || len > 1024 || key[0] == '/' || key[len - 1] == '/')
		return false;
	for (const char *p = key;; p++) {
		if (*p == '/' || !*p) {
			if (!seg || (seg == 1 && p[-1] == '.') ||
			    (seg == 2 && p[-1] == '.' && p[-2] == '.'))
				return false;
			if (!*p)
				return true;
			seg = 0;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			return false;
		seg++;
	}
}

bool s3_bucket_ok(const char *name)
{
	size_t len = strlen(name);

	if (len < 3 || len > 63 || name[0] == '.' || name[0] == '-' ||
	    name[len - 1] == '.' || name[len - 1] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-'))
			return false;
	return true;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int check_endpoint(const char *url, const char *from, char **out,
			  struct error *err)
{
	size_t len = strlen(url);

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s '%s' is not an http:// or https:// URL",
				 from, url);
	while (len && url[len - 1] == '/')
		len--;
	*out = xstrndup(url, len);
	return 0;
}

int s3_endpoint_resolve(const char *block_endpoint, const char *region,
			char **out, bool *custom, struct error *err)
{
	const char *ign = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	bool ignore_env = ign && !strcasecmp(ign, "true");
	struct buf b = BUF_INIT;

	*out = NULL;
	*custom = true;
	if (block_endpoint && *block_endpoint)
		return check_endpoint(block_endpoint, "state.s3.endpoint", out,
				      err);
	if (!ignore_env && env("AWS_ENDPOINT_URL_S3"))
		return check_endpoint(env("AWS_ENDPOINT_URL_S3"),
				      "AWS_ENDPOINT_URL_S3", out, err);
	if (!ignore_env && env("AWS_ENDPOINT_URL"))
		return check_endpoint(env("AWS_ENDPOINT_URL"),
				      "AWS_ENDPOINT_URL", out, err);
	*custom = false;
	if (!region || !*region)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "no region to make the S3 endpoint from");
	buf_addf(&b, "https://s3.%s.amazonaws.com%s", region,
		 !strncmp(region, "cn-", 3) ? ".cn" : "");
	*out = buf_release(&b);
	return 0;
}

int s3_open(struct s3 **out, const char *endpoint, const char *region,
	    bool path_style, struct aws_creds *creds, struct error *err)
{
	struct s3 *c;
	const char *h = strstr(endpoint, "://");
	const char *base = getenv("DEPLOY_AWS_RETRY_BASE_MS");
	size_t hlen;

	*out = NULL;
	if (!h || (strncmp(endpoint, "http://", 7) &&
		   strncmp(endpoint, "https://", 8)))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "endpoint '%s' is not an http or https URL",
				 endpoint);
	c = xcalloc(1, sizeof(*c));
	h += 3;
	hlen = strcspn(h, "/?#");
	c->scheme = xstrndup(endpoint, (size_t)(h - endpoint));
	c->host = xstrndup(h, hlen);
	c->endpoint = xstrndup(endpoint, (size_t)(h - endpoint) + hlen);
	c->region = xstrdup(region);
	c->path_style = path_style;
	c->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	c->base_ms = base && atol(base) > 0 ? atol(base) : DEFAULT_BASE_MS;
	c->cap_ms = DEFAULT_CAP_MS;
	c->attempts = DEFAULT_ATTEMPTS;
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	*out = c;
	return 0;
}

void s3_close(struct s3 *c)
{
	if (!c)
		return;
	aws_creds_free(&c->creds);
	free(c->endpoint);
	free(c->scheme);
	free(c->host);
	free(c->region);
	free(c);
}

void s3_result_init(struct s3_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_MAX_BODY);
}

void s3_result_free(struct s3_result *r)
{
	free(r->etag);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

/* Text between <tag> and </tag> in xml into out. */
static void xml_field(const char *xml, const char *tag, char *out, size_t size)
{
	char open[40], close[40];
	const char *a, *b;

	out[0] = '\0';
	if (!xml)
		return;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(xml, open);
	if (!a)
		return;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return;
	snprintf(out, size, "%.*s", (int)(b - a), a);
}

struct s3_req {
	const char *method;
	const char *bucket;
	const char *key;
	const void *body;
	size_t len;
	const char *extra[6]; /* "Name: value", signed */
	size_t nr_extra;
};

static char *dup_header_value(const char *line)
{
	const char *v = strchr(line, ':');

	v = v ? v + 1 : line + strlen(line);
	while (*v == ' ')
		v++;
	return xstrdup(v);
}

static int attempt(struct s3 *c, const struct s3_req *q,
		   struct http_response *resp, struct error *err)
{
	char date[17], sha[65];
	struct buf host = BUF_INIT, target = BUF_INIT, url = BUF_INIT;
	struct buf lines[MAX_HEADERS];
	const char *hl[MAX_HEADERS];
	struct sigv4_header sh[MAX_HEADERS];
	char *names[MAX_HEADERS] = { 0 }, *values[MAX_HEADERS] = { 0 };
	struct sigv4_request req = { 0 };
	struct sigv4_key key = { 0 };
	struct sigv4_result sig = { 0 };
	struct http_request hr = { 0 };
	size_t nh = 0, nl = 0;
	int rc;

	rc = aws_creds_refresh(&c->creds, err);
	if (rc)
		return rc;
	sigv4_amz_date((long long)time(NULL), date);
	sigv4_sha256_hex(q->body, q->len, sha);
	if (c->path_style) {
		buf_adds(&host, c->host);
		buf_addf(&target, "/%s/%s", q->bucket, q->key);
	} else {
		buf_addf(&host, "%s.%s", q->bucket, c->host);
		buf_addf(&target, "/%s", q->key);
	}
	sh[nh++] = (struct sigv4_header){ "Host", host.data };
	sh[nh++] = (struct sigv4_header){ "X-Amz-Date", date };
	sh[nh++] = (struct sigv4_header){ "X-Amz-Content-Sha256", sha };
	if (c->creds.token)
		sh[nh++] = (struct sigv4_header){ "X-Amz-Security-Token",
						  c->creds.token };
	for (size_t i = 0; i < q->nr_extra; i++) {
		const char *colon = strchr(q->extra[i], ':');

		names[i] = xstrndup(q->extra[i], (size_t)(colon - q->extra[i]));
		values[i] = dup_header_value(q->extra[i]);
		sh[nh++] = (struct sigv4_header){ names[i], values[i] };
	}
	req.method = q->method;
	req.target = target.data;
	req.headers = sh;
	req.nr_headers = nh;
	req.payload = q->body;
	req.payload_len = q->len;
	key.access_key = c->creds.access_key;
	key.secret_key = c->creds.secret_key;
	key.region = c->region;
	key.service = "s3";
	key.amz_date = date;
	rc = sigv4_sign(&req, &key, &sig, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < nh; i++) {
		buf_init(&lines[nl], 0);
		buf_addf(&lines[nl], "%s: %s", sh[i].name, sh[i].value);
		hl[nl] = lines[nl].data;
		nl++;
	}
	buf_init(&lines[nl], 0);
	buf_addf(&lines[nl], "Authorization: %s", sig.authorization);
	hl[nl] = lines[nl].data;
	nl++;
	buf_addf(&url, "%s%s%s", c->scheme, host.data, target.data);
	hr.method = q->method;
	hr.url = url.data;
	hr.headers = hl;
	hr.nr_headers = nl;
	hr.body = q->body;
	hr.body_len = q->len;
	hr.connect_timeout_ms = 5000;
	hr.timeout_ms = c->timeout_ms;
	c->calls++;
	rc = http_do(&hr, resp, err);
	for (size_t i = 0; i < nl; i++)
		buf_free_secret(&lines[i]);
out:
	sigv4_result_free(&sig);
	for (size_t i = 0; i < q->nr_extra; i++) {
		free(names[i]);
		free(values[i]);
	}
	buf_free(&host);
	buf_free(&target);
	buf_free(&url);
	return rc;
}

static int call(struct s3 *c, const struct s3_req *q, struct s3_result *r,
		struct error *err)
{
	struct http_response resp;
	int rc = 0;

	http_response_init(&resp);
	for (int i = 0; i < c->attempts; i++) {
		if (i) {
			c->retries++;
			r->retried = true;
			pause_ms(backoff_ms(c->base_ms, c->cap_ms, i), NULL);
			error_clear(err);
		}
		rc = attempt(c, q, &resp, err);
		if (rc == DEPLOY_ERR_UNREACHABLE || rc == DEPLOY_ERR_TIMEOUT)
			continue;
		if (rc)
			break;
		if (resp.status >= 500 && i + 1 < c->attempts)
			continue;
		break;
	}
	if (rc)
		goto out;
	r->status = resp.status;
	free(r->etag);
	r->etag = http_response_header(&resp, "ETag");
	buf_reset(&r->body);
	if (resp.status >= 200 && resp.status < 300) {
		r->code[0] = r->msg[0] = '\0';
		buf_add(&r->body, resp.body.data ? resp.body.data : "",
			resp.body.len);
	} else {
		xml_field(resp.body.data, "Code", r->code, sizeof(r->code));
		xml_field(resp.body.data, "Message", r->msg, sizeof(r->msg));
		aws_creds_redact(&c->creds, r->msg, sizeof(r->msg));
	}
out:
	http_response_free(&resp);
	return rc;
}

int s3_get(struct s3 *c, const char *bucket, const char *key,
	   struct s3_result *r, struct error *err)
{
	struct s3_req q = { .method = "GET", .bucket = bucket, .key = key };

	return call(c, &q, r, err);
}

int s3_put(struct s3 *c, const char *bucket, const char *key, const void *body,
	   size_t len, const struct s3_put_opts *o, struct s3_result *r,
	   struct error *err)
{
	struct s3_req q = { .method = "PUT",
			    .bucket = bucket,
			    .key = key,
			    .body = body,
			    .len = len };
	struct buf h[4];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < 4; i++)
		buf_init(&h[i], 0);
	buf_addf(&h[n++], "Content-Type: %s",
		 o->content_type ? o->content_type : "application/json");
	if (o->if_match)
		buf_addf(&h[n++], "If-Match: %s", o->if_match);
	else if (o->if_none_match)
		buf_adds(&h[n++], "If-None-Match: *");
	if (o->sse) {
		buf_addf(&h[n++], "X-Amz-Server-Side-Encryption: %s", o->sse);
		if (o->kms_key_id && !strcmp(o->sse, "aws:kms"))
			buf_addf(&h[n++],
				 "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id: "
				 "%s",
				 o->kms_key_id);
	}
	for (size_t i = 0; i < n; i++)
		q.extra[q.nr_extra++] = h[i].data;
	rc = call(c, &q, r, err);
	for (size_t i = 0; i < 4; i++)
		buf_free(&h[i]);
	return rc;
}

int s3_delete(struct s3 *c, const char *bucket, const char *key,
	      const char *if_match, struct s3_result *r, struct error *err)
{
	struct s3_req q = { .method = "DELETE", .bucket = bucket, .key = key };
	struct buf h = BUF_INIT;
	int rc;

	if (if_match) {
		buf_addf(&h, "If-Match: %s", if_match);
		q.extra[q.nr_extra++] = h.data;
	}
	rc = call(c, &q, r, err);
	buf_free(&h);
	return rc;
}

int s3_answer_error(const struct s3_result *r, const char *what,
		    const char *bucket, const char *key, struct error *err)
{
	const char *code = r->code[0] ? r->code : "no error code";
	int rc = DEPLOY_ERR_INVALID;
	const char *why = "";

	if (r->status == 403 || !strcmp(r->code, "InvalidAccessKeyId") ||
	    !strcmp(r->code, "SignatureDoesNotMatch")) {
		rc = DEPLOY_ERR_AUTH;
		why = ": check the credentials (AWS_ACCESS_KEY_ID, "
		      "state.s3.profile) and their rights on the bucket";
	} else if (!strcmp(r->code, "NoSuchBucket")) {
		rc = DEPLOY_ERR_NOT_FOUND;
		why = ": the bucket does not exist (deploy does not make it: "
		      "create it with versioning on)";
	} else if (r->status == 404) {
		rc = DEPLOY_ERR_NOT_FOUND;
	}
	return error_set(err, rc, NULL, 0, 0,
			 "s3://%s/%s: %s: HTTP %ld (%s%s%s)%s", bucket, key,
			 what, r->status, code, r->msg[0] ? ": " : "", r->msg,
			 why);
}
