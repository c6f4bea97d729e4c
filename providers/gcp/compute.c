/* SPDX-License-Identifier: MIT */
/* The Compute Engine v1 JSON API client: retries, pages, operations. */
#include "providers/gcp/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "http/http.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/pause.h"
#include "util/redact.h"
#include "util/banned.h"

#define DEFAULT_BASE_MS	       200
#define DEFAULT_CAP_MS	       20000
#define DEFAULT_ATTEMPTS       8
#define DEFAULT_TIMEOUT_MS     60000L
#define WAIT_TIMEOUT_MS	       150000L /* operations.wait: up to 2 min */
#define DEFAULT_OP_DEADLINE_MS 600000L
#define DEFAULT_PAGE_SIZE      500

static long env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return def;
	return n;
}

int gcp_open(struct gcp **out, const char *base, const char *project,
	     struct gcp_creds *creds, struct error *err)
{
	struct gcp *c;

	*out = NULL;
	if (!project || !*project)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "gcp: no project");
	c = xcalloc(1, sizeof(*c));
	c->base = xstrdup(base);
	c->project = xstrdup(project);
	c->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	c->base_ms =
		env_long("DEPLOY_GCP_RETRY_BASE_MS", DEFAULT_BASE_MS, 1, 60000);
	c->cap_ms = DEFAULT_CAP_MS;
	c->attempts = DEFAULT_ATTEMPTS;
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->op_deadline_ms = env_long("DEPLOY_GCP_OP_DEADLINE_MS",
				     DEFAULT_OP_DEADLINE_MS, 100, 3600000);
	c->page_size = (int)env_long("DEPLOY_GCP_PAGE_SIZE", DEFAULT_PAGE_SIZE,
				     1, 500);
	*out = c;
	return 0;
}

void gcp_close(struct gcp *c)
{
	if (!c)
		return;
	gcp_creds_free(&c->creds);
	free(c->base);
	free(c->project);
	free(c);
}

const char *gcp_reason(const struct gcp *c)
{
	return c->reason;
}

void gcp_basename(const char *url, char *out, size_t size)
{
	const char *s = url ? strrchr(url, '/') : NULL;

	snprintf(out, size, "%s", s ? s + 1 : url ? url : "");
}

void gcp_uuid(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rand();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const char *json_str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Google's error answer: {"error": {"code", "message", "errors":
 * [{"reason", "message"}], "status"}}; sets err and c->reason. */
static int answer_error(struct gcp *c, const char *what, long status,
			const struct buf *body, struct error *err)
{
	cJSON *doc = cJSON_ParseWithLength(body->data, body->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const cJSON *first = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(e, "errors"), 0);
	const char *reason = json_str(first, "reason");
	const char *msg = json_str(e, "message");
	int rc;

	if (!reason)
		reason = json_str(e, "status");
	snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
	if (status == 404)
		rc = DEPLOY_ERR_NOT_FOUND;
	else if (status == 429 || (status == 403 && reason &&
				   (!strcmp(reason, "rateLimitExceeded") ||
				    !strcmp(reason, "userRateLimitExceeded"))))
		rc = DEPLOY_ERR_UNREACHABLE;
	else if (status == 401 || status == 403)
		rc = DEPLOY_ERR_AUTH;
	else if (status >= 500)
		rc = DEPLOY_ERR_UNREACHABLE;
	else
		rc = DEPLOY_ERR_INVALID;
	if (msg)
		error_set(err, rc, NULL, 0, 0, "gcp %s: %s: %.300s", what,
			  reason ? reason : "error", msg);
	else
		error_set(err, rc, NULL, 0, 0,
			  "gcp %s: HTTP %ld without a Google error", what,
			  status);
	/* A broken server or proxy may quote the token it was sent. */
	if (c->creds.token)
		redact_message(err->msg, sizeof(err->msg), "gcp access token",
			       c->creds.token, strlen(c->creds.token));
	if (rc == DEPLOY_ERR_AUTH)
		error_append(err, "; credentials from %s", c->creds.source);
	cJSON_Delete(doc);
	return rc;
}

int gcp_answer(struct gcp *c, const char *what, long status,
	       const struct buf *body, cJSON **out, struct error *err)
{
	cJSON *doc = NULL;

	if (out)
		*out = NULL;
	if (status < 200 || status >= 300)
		return answer_error(c, what, status, body, err);
	if (body->len) {
		doc = cJSON_ParseWithLength(body->data, body->len);
		if (!doc)
			return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
					 "gcp %s: the answer is not JSON",
					 what);
	}
	if (out)
		*out = doc;
	else
		cJSON_Delete(doc);
	return 0;
}

static bool throttled(long status, const char *reason)
{
	return status == 429 ||
	       (status == 403 && (!strcmp(reason, "rateLimitExceeded") ||
				  !strcmp(reason, "userRateLimitExceeded")));
}

static int attempt(struct gcp *c, const char *method, const char *url,
		   const char *body, bool is_wait, bool *token_failed,
		   struct http_response *resp, struct error *err)
{
	const char *token;
	char *auth = NULL;
	const char *lines[2];
	struct http_request hr = { 0 };
	size_t n;
	int rc;

	*token_failed = false;
	resp->status = 0;
	rc = gcp_creds_token(&c->creds, false, &token, err);
	if (rc) {
		*token_failed = true;
		return rc;
	}
	n = strlen(token) + 32;
	auth = xmalloc(n);
	snprintf(auth, n, "Authorization: Bearer %s", token);
	lines[0] = auth;
	lines[1] = "Content-Type: application/json";
	hr.method = method;
	hr.url = url;
	hr.headers = lines;
	hr.nr_headers = body ? 2 : 1;
	hr.body = body;
	hr.body_len = body ? strlen(body) : 0;
	hr.connect_timeout_ms = 10000;
	hr.timeout_ms = is_wait ? WAIT_TIMEOUT_MS : c->timeout_ms;
	rc = http_do(&hr, resp, err);
	freezero(auth, n);
	return rc;
}

int gcp_call(struct gcp *c, const char *method, const char *path,
	     const char *query, const cJSON *body, bool safe, const char *what,
	     cJSON **out, struct error *err)
{
	struct buf url = BUF_INIT;
	struct http_response resp;
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	bool is_get = !strcmp(method, "GET");
	bool is_wait = strstr(path, "/operations/") && !strcmp(method, "POST");
	bool refreshed = false;
	int rc = 0;

	if (out)
		*out = NULL;
	safe = safe || is_get || is_wait;
	c->reason[0] = '\0';
	if (!strncmp(path, "projects/", 9))
		buf_addf(&url, "%s%s", c->base, path);
	else
		buf_addf(&url, "%sprojects/%s/%s", c->base, c->project, path);
	if (query && *query)
		buf_addf(&url, "%c%s", strchr(path, '?') ? '&' : '?', query);
	http_response_init(&resp);
	for (int n = 0;; n++) {
		bool again, token_failed;

		c->stats.calls++;
		if (is_wait)
			c->stats.waits++;
		else if (!is_get)
			c->stats.mutating++;
		rc = attempt(c, method, url.data, text, is_wait, &token_failed,
			     &resp, err);
		if (rc) {
			/* A token that could not be had is not retried here:
			 * its own fetch has retried what it could. */
			if (token_failed)
				break;
			again = safe && (rc == DEPLOY_ERR_UNREACHABLE ||
					 rc == DEPLOY_ERR_TIMEOUT);
		} else if (resp.status >= 200 && resp.status < 300) {
			rc = gcp_answer(c, what, resp.status, &resp.body, out,
					err);
			break;
		} else if (resp.status == 401 && !refreshed) {
			/* The token ended sooner than said (revoked, or the
			 * clock): a new one, once. */
			const char *tok;

			refreshed = true;
			rc = gcp_creds_token(&c->creds, true, &tok, err);
			if (rc)
				break;
			n--;
			continue;
		} else {
			rc = gcp_answer(c, what, resp.status, &resp.body, NULL,
					err);
			if (throttled(resp.status, c->reason)) {
				c->stats.throttled++;
				again = true;
			} else {
				again = safe && resp.status >= 500;
			}
		}
		if (!again || n + 1 >= c->attempts || (c->stop && *c->stop)) {
			if (again && n + 1 >= c->attempts)
				error_append(err, " (after %d attempts)",
					     n + 1);
			break;
		}
		c->stats.retries++;
		pause_ms(backoff_ms(c->base_ms, c->cap_ms, n), c->stop);
	}
	http_response_free(&resp);
	buf_free(&url);
	if (text)
		freezero(text, strlen(text) + 1);
	return rc;
}

int gcp_list(struct gcp *c, const char *path, const char *filter,
	     int (*fn)(const cJSON *item, void *ud), void *ud, const char *what,
	     struct error *err)
{
	char *token = NULL;
	int rc = 0;

	for (int page = 0; page < 10000; page++) {
		struct buf q = BUF_INIT;
		cJSON *doc = NULL;
		const cJSON *it;
		const char *next;

		buf_addf(&q, "maxResults=%d", c->page_size);
		if (filter) {
			buf_adds(&q, "&filter=");
			http_uri_encode(&q, filter, strlen(filter));
		}
		if (token) {
			buf_adds(&q, "&pageToken=");
			http_uri_encode(&q, token, strlen(token));
		}
		free(token);
		token = NULL;
		rc = gcp_call(c, "GET", path, q.data, NULL, true, what, &doc,
			      err);
		buf_free(&q);
		if (rc)
			break;
		cJSON_ArrayForEach(
			it, cJSON_GetObjectItemCaseSensitive(doc, "items"))
		{
			rc = fn(it, ud);
			if (rc)
				break;
		}
		next = json_str(doc, "nextPageToken");
		token = next && *next ? xstrdup(next) : NULL;
		cJSON_Delete(doc);
		if (rc || !token)
			break;
	}
	free(token);
	return rc;
}

/* The operation's own path: zones/Z/operations/N, regions/R/…, global/…. */
int gcp_op_path(const cJSON *op, struct buf *path, const char *what,
		struct error *err)
{
	const char *name = json_str(op, "name");
	const char *zone = json_str(op, "zone");
	const char *region = json_str(op, "region");
	char scope[128];

	if (!name || !*name)
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "gcp %s: the answer is not an operation",
				 what);
	if (zone) {
		gcp_basename(zone, scope, sizeof(scope));
		buf_addf(path, "zones/%s/operations/%s/wait", scope, name);
	} else if (region) {
		gcp_basename(region, scope, sizeof(scope));
		buf_addf(path, "regions/%s/operations/%s/wait", scope, name);
	} else {
		buf_addf(path, "global/operations/%s/wait", name);
	}
	return 0;
}

/* An operation that is DONE: its error, if any, as the error. */
int gcp_op_result(struct gcp *c, const cJSON *op, const char *what,
		  struct error *err)
{
	const cJSON *e = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(op, "error"),
			"errors"),
		0);
	const char *code = json_str(e, "code");
	const char *msg = json_str(e, "message");

	if (!cJSON_GetObjectItemCaseSensitive(op, "error"))
		return 0;
	snprintf(c->reason, sizeof(c->reason), "%s", code ? code : "");
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "gcp %s: %s: %.300s", what, code ? code : "error",
			 msg ? msg : "(no message)");
}

int gcp_wait(struct gcp *c, const cJSON *op, const char *what, cJSON **done,
	     struct error *err)
{
	struct buf path = BUF_INIT;
	long long deadline = now_ms() + c->op_deadline_ms;
	cJSON *cur = NULL;
	int quick = 0;
	int rc;

	if (done)
		*done = NULL;
	rc = gcp_op_path(op, &path, what, err);
	if (rc)
		goto out;
	cur = cJSON_Duplicate(op, true);
	for (;;) {
		const char *status = json_str(cur, "status");
		long long started;

		if (status && !strcmp(status, "DONE")) {
			rc = gcp_op_result(c, cur, what, err);
			break;
		}
		if (now_ms() >= deadline) {
			rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
				       "gcp %s: operation %s not done after "
				       "%ld s",
				       what, json_str(cur, "name"),
				       c->op_deadline_ms / 1000);
			break;
		}
		if (c->stop && *c->stop) {
			rc = error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
				       "gcp %s: stopped while waiting", what);
			break;
		}
		started = now_ms();
		cJSON_Delete(cur);
		cur = NULL;
		rc = gcp_call(c, "POST", path.data, NULL, NULL, true, what,
			      &cur, err);
		if (rc)
			break;
		/* wait may answer at once, not done: pause a little, more
		 * each time, so as not to spin on it. */
		if (now_ms() - started < 200 &&
		    strcmp(json_str(cur, "status") ? json_str(cur, "status")
						   : "",
			   "DONE")) {
			long p = 50L << (quick < 6 ? quick : 6);

			pause_ms(p > 2000 ? 2000 : p, c->stop);
			quick++;
		}
	}
	if (!rc && done) {
		*done = cur;
		cur = NULL;
	}
out:
	cJSON_Delete(cur);
	buf_free(&path);
	return rc;
}

int gcp_mutate(struct gcp *c, const char *method, const char *path,
	       const char *request_id, const cJSON *body, const char *what,
	       struct error *err)
{
	char q[64] = "";
	cJSON *op = NULL;
	int rc;

	if (request_id)
		snprintf(q, sizeof(q), "requestId=%s", request_id);
	rc = gcp_call(c, method, path, q, body, request_id != NULL, what, &op,
		      err);
	if (!rc)
		rc = gcp_wait(c, op, what, NULL, err);
	cJSON_Delete(op);
	return rc;
}
