/* SPDX-License-Identifier: MIT */
/* The Compute Engine v1 JSON API client: retries, pages, operations. */
#include "providers/gcp/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "http/http.h"
#include "providers/calls.h"
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
/* Compute's rate quotas are per project, per group of methods, per minute
 * (1,500 a group by default): one window for all of deploy's calls keeps
 * under each. */
#define DEFAULT_PER_MINUTE 1500

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
	c->per_minute =
		(int)env_long("DEPLOY_GCP_RATE_PER_MIN", DEFAULT_PER_MINUTE, 1,
			      DEFAULT_PER_MINUTE);
	c->sent = xcalloc((size_t)c->per_minute, sizeof(*c->sent));
	*out = c;
	return 0;
}

void gcp_close(struct gcp *c)
{
	if (!c)
		return;
	gcp_creds_free(&c->creds);
	free(c->sent);
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

/* A call of gcp_call_many() under way. */
struct call_state {
	struct gcp_req *req;
	char *url;
	char *text; /* the body as JSON: wiped */
	bool is_get, is_wait, safe;
	bool refreshed; /* its token was fetched anew after a 401 */
	char *auth;	/* its Authorization header: wiped once answered */
	const char *lines[2];
	struct http_request hr;
	struct http_response resp;
};

/* The calls of one gcp_call_many(): the user data of its api_calls. */
struct batch {
	struct gcp *c;
	struct call_state *st;
	const char *token; /* this round's */
};

/* Wait until one more request keeps within the per-minute limit (rolling
 * window), then count it. */
static long long slot_wait(void *ud)
{
	struct gcp *c = ((struct batch *)ud)->c;
	long long t = now_ms();
	size_t n = (size_t)c->per_minute, in_minute = 0;

	while (in_minute < c->count &&
	       c->sent[(c->head + n - 1 - in_minute) % n] > t - 60000)
		in_minute++;
	c->count = in_minute;
	if (in_minute < n)
		return 0;
	return c->sent[c->head] + 60000 - t; /* the oldest */
}

static void slot_take(struct gcp *c)
{
	c->sent[c->head] = now_ms();
	c->head = (c->head + 1) % (size_t)c->per_minute;
	if (c->count < (size_t)c->per_minute)
		c->count++;
}

static void prepare(void *ud, size_t i, struct api_call *call)
{
	struct batch *b = ud;
	struct call_state *s = &b->st[i];
	struct gcp_req *v = s->req;
	struct buf url = BUF_INIT;

	v->out = NULL;
	v->rc = 0;
	v->reason[0] = '\0';
	error_init(&v->err);
	call->rc = &v->rc;
	call->err = &v->err;
	s->is_get = !strcmp(v->method, "GET");
	s->is_wait =
		strstr(v->path, "/operations/") && !strcmp(v->method, "POST");
	s->safe = v->safe || s->is_get || s->is_wait;
	if (!strncmp(v->path, "projects/", 9))
		buf_addf(&url, "%s%s", b->c->base, v->path);
	else
		buf_addf(&url, "%sprojects/%s/%s", b->c->base, b->c->project,
			 v->path);
	if (v->query && *v->query)
		buf_addf(&url, "%c%s", strchr(v->path, '?') ? '&' : '?',
			 v->query);
	s->url = buf_release(&url);
	s->text = v->body ? cJSON_PrintUnformatted(v->body) : NULL;
	http_response_init(&s->resp);
}

/* One token for the round (fetched when it is getting old). */
static int round_token(void *ud, struct error *err)
{
	struct batch *b = ud;

	return gcp_creds_token(&b->c->creds, false, &b->token, err);
}

static int renew_token(void *ud, struct error *err)
{
	struct batch *b = ud;
	const char *tok;

	return gcp_creds_token(&b->c->creds, true, &tok, err);
}

static int start(void *ud, size_t i, struct http_exchange *x)
{
	struct batch *b = ud;
	struct gcp *c = b->c;
	struct call_state *s = &b->st[i];
	size_t alen = strlen(b->token) + 32;

	cJSON_Delete(s->req->out);
	s->req->out = NULL;
	http_response_free(&s->resp);
	http_response_init(&s->resp);
	s->auth = xmalloc(alen);
	snprintf(s->auth, alen, "Authorization: Bearer %s", b->token);
	s->lines[0] = s->auth;
	s->lines[1] = "Content-Type: application/json";
	memset(&s->hr, 0, sizeof(s->hr));
	s->hr.method = s->req->method;
	s->hr.url = s->url;
	s->hr.headers = s->lines;
	s->hr.nr_headers = s->text ? 2 : 1;
	s->hr.body = s->text;
	s->hr.body_len = s->text ? strlen(s->text) : 0;
	s->hr.connect_timeout_ms = 10000;
	s->hr.timeout_ms = s->is_wait ? WAIT_TIMEOUT_MS : c->timeout_ms;
	s->hr.stop = c->stop;
	slot_take(c);
	c->stats.calls++;
	if (s->is_wait)
		c->stats.waits++;
	else if (!s->is_get)
		c->stats.mutating++;
	x->req = &s->hr;
	x->resp = &s->resp;
	return 0;
}

/* Judge the answer (or its absence, rc) to call i's last attempt: done, or
 * to be asked again (after a pause, or at once with a new token). */
static enum api_verdict judge(void *ud, size_t i, int rc, long long *wait)
{
	struct batch *b = ud;
	struct gcp *c = b->c;
	struct call_state *s = &b->st[i];
	struct gcp_req *v = s->req;
	bool again;

	(void)wait;
	freezero(s->auth, strlen(s->auth) + 1);
	s->auth = NULL;
	c->reason[0] = '\0';
	if (rc) {
		again = s->safe && (rc == DEPLOY_ERR_UNREACHABLE ||
				    rc == DEPLOY_ERR_TIMEOUT);
	} else if (s->resp.status >= 200 && s->resp.status < 300) {
		rc = gcp_answer(c, v->what, s->resp.status, &s->resp.body,
				v->answer ? &v->out : NULL, &v->err);
		again = false;
	} else if (s->resp.status == 401 && !s->refreshed) {
		/* The token ended sooner than said (revoked, or the clock):
		 * a new one, once. */
		s->refreshed = true;
		return API_RENEW;
	} else {
		rc = gcp_answer(c, v->what, s->resp.status, &s->resp.body, NULL,
				&v->err);
		if (throttled(s->resp.status, c->reason)) {
			c->stats.throttled++;
			again = true;
		} else {
			again = s->safe && s->resp.status >= 500;
		}
	}
	v->rc = rc;
	snprintf(v->reason, sizeof(v->reason), "%s", c->reason);
	return again ? API_AGAIN : API_DONE;
}

static const struct api_call_ops gcp_call_ops = {
	.prepare = prepare,
	.start = start,
	.judge = judge,
	.round = round_token,
	.window = slot_wait,
	.renew = renew_token,
};

size_t gcp_call_many(struct gcp *c, struct gcp_req *v, size_t n)
{
	struct batch b = { c, xcalloc(n + 1, sizeof(*b.st)), NULL };
	struct api_calls a = {
		.parallel = GCP_PARALLEL,
		.base_ms = c->base_ms,
		.cap_ms = c->cap_ms,
		.attempts = c->attempts,
		.stop = c->stop,
		.retries = &c->stats.retries,
		.ops = &gcp_call_ops,
		.ud = &b,
	};
	size_t failed;

	c->reason[0] = '\0';
	for (size_t i = 0; i < n; i++)
		b.st[i].req = &v[i];
	failed = api_call_many(&a, n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].rc && v[i].reason[0])
			snprintf(c->reason, sizeof(c->reason), "%s",
				 v[i].reason);
		http_response_free(&b.st[i].resp);
		free(b.st[i].url);
		if (b.st[i].text)
			freezero(b.st[i].text, strlen(b.st[i].text) + 1);
	}
	free(b.st);
	return failed;
}

int gcp_call(struct gcp *c, const char *method, const char *path,
	     const char *query, const cJSON *body, bool safe, const char *what,
	     cJSON **out, struct error *err)
{
	struct gcp_req r = { .method = method,
			     .path = path,
			     .query = query,
			     .body = body,
			     .safe = safe,
			     .what = what,
			     .answer = out != NULL };

	gcp_call_many(c, &r, 1);
	if (out)
		*out = r.out;
	else
		cJSON_Delete(r.out);
	if (r.rc)
		error_set(err, r.rc, NULL, 0, 0, "%s", r.err.msg);
	error_clear(&r.err);
	return r.rc;
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

int gcp_wait_many(struct gcp *c, struct gcp_op *v, size_t n)
{
	struct gcp_req *r = xcalloc(n + 1, sizeof(*r));
	struct buf *paths = xcalloc(n + 1, sizeof(*paths));
	size_t *which = xcalloc(n + 1, sizeof(*which));
	bool *over = xcalloc(n + 1, sizeof(bool));
	long long deadline = now_ms() + c->op_deadline_ms;
	int quick = 0, first = 0;

	for (size_t i = 0; i < n; i++) {
		v[i].rc = 0;
		v[i].done = NULL;
		error_init(&v[i].err);
		buf_init(&paths[i], 0);
		v[i].rc = gcp_op_path(v[i].op, &paths[i], v[i].what, &v[i].err);
		over[i] = v[i].rc != 0;
		if (!over[i])
			v[i].done = cJSON_Duplicate(v[i].op, true);
	}
	for (;;) {
		long long started = now_ms();
		bool pending = false;
		size_t nr = 0;

		for (size_t i = 0; i < n; i++) {
			const char *status = json_str(v[i].done, "status");

			if (over[i])
				continue;
			if (status && !strcmp(status, "DONE")) {
				v[i].rc = gcp_op_result(c, v[i].done, v[i].what,
							&v[i].err);
				over[i] = true;
			} else if (now_ms() >= deadline) {
				v[i].rc = error_set(
					&v[i].err, DEPLOY_ERR_TIMEOUT, NULL, 0,
					0,
					"gcp %s: operation %s not done after "
					"%ld s",
					v[i].what, json_str(v[i].done, "name"),
					c->op_deadline_ms / 1000);
				over[i] = true;
			} else if (c->stop && *c->stop) {
				v[i].rc = error_set(&v[i].err,
						    DEPLOY_ERR_INTERRUPTED,
						    NULL, 0, 0,
						    "gcp %s: stopped while "
						    "waiting",
						    v[i].what);
				over[i] = true;
			} else {
				memset(&r[nr], 0, sizeof(r[nr]));
				r[nr].method = "POST";
				r[nr].path = paths[i].data;
				r[nr].safe = true;
				r[nr].what = v[i].what;
				r[nr].answer = true;
				which[nr++] = i;
			}
		}
		if (!nr)
			break;
		gcp_call_many(c, r, nr);
		for (size_t k = 0; k < nr; k++) {
			struct gcp_op *o = &v[which[k]];

			if (r[k].rc) {
				o->rc = error_set(&o->err, r[k].rc, NULL, 0, 0,
						  "%s", r[k].err.msg);
				over[which[k]] = true;
			} else {
				cJSON_Delete(o->done);
				o->done = r[k].out;
				r[k].out = NULL;
				pending |= !json_str(o->done, "status") ||
					   strcmp(json_str(o->done, "status"),
						  "DONE");
			}
			error_clear(&r[k].err);
			cJSON_Delete(r[k].out);
		}
		/* wait may answer at once, not done: pause a little, more
		 * each time, so as not to spin on it. */
		if (pending && now_ms() - started < 200) {
			long p = 50L << (quick < 6 ? quick : 6);

			pause_ms(p > 2000 ? 2000 : p, c->stop);
			quick++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].rc) {
			cJSON_Delete(v[i].done);
			v[i].done = NULL;
			if (!first)
				first = v[i].rc;
		}
		buf_free(&paths[i]);
	}
	free(r);
	free(paths);
	free(which);
	free(over);
	return first;
}

int gcp_wait(struct gcp *c, const cJSON *op, const char *what, cJSON **done,
	     struct error *err)
{
	struct gcp_op o = { .op = op, .what = what };
	int rc = gcp_wait_many(c, &o, 1);

	if (rc)
		error_set(err, rc, NULL, 0, 0, "%s", o.err.msg);
	error_clear(&o.err);
	if (done)
		*done = o.done;
	else
		cJSON_Delete(o.done);
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
