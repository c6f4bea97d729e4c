/* SPDX-License-Identifier: MIT */
/* The DigitalOcean API v2 client: JSON calls, retries, rate limits, pages. */
#include "providers/digitalocean/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "providers/calls.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/pause.h"
#include "util/redact.h"
#include "util/banned.h"

#define DEFAULT_BASE_MS 200
#define CAP_MS		20000
#define ATTEMPTS	8
#define TIMEOUT_MS	30000
#define MAX_PAUSE_MS	60000 /* the longest one wait on a 429 lasts */
#define PER_MINUTE	250
#define PER_HOUR	5000
#define MAX_PAGES	10000
#define MAX_ANSWER	(16u << 20)

struct do_api {
	char *base; /* "https://api.digitalocean.com" */
	char *auth; /* "Authorization: Bearer …": wiped */
	char *source;
	long base_ms;
	int page_size;
	/* The limiter: when the last requests left (monotonic ms), a ring
	 * of per_hour entries. */
	long long *sent;
	size_t head, count;
	int per_minute, per_hour;
	long long window_ms; /* the "minute" */
	/* What the last answer said: remaining 0 means wait for reset. */
	long remaining;
	long long reset_at_ms; /* monotonic */
	struct do_stats stats;
	char last_id[64];
	const volatile int *stop;
};

static long env_long(const char *name, long def, long lo, long hi)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return *end || n < lo || n > hi ? def : n;
}

int do_open(struct do_api **out, const char *base, struct do_token *tok,
	    struct error *err)
{
	struct do_api *c;
	struct buf auth = BUF_INIT;

	*out = NULL;
	if (!tok->token)
		return error_set(err, DEPLOY_ERR_AUTH, NULL, 0, 0,
				 "digitalocean: no token");
	c = xcalloc(1, sizeof(*c));
	c->base = xstrdup(base);
	buf_addf(&auth, "Authorization: Bearer %s", tok->token);
	c->auth = buf_release(&auth);
	c->source = tok->source;
	tok->source = NULL;
	do_token_free(tok);
	c->base_ms =
		env_long("DEPLOY_DO_RETRY_BASE_MS", DEFAULT_BASE_MS, 1, 60000);
	c->page_size = (int)env_long("DEPLOY_DO_PAGE_SIZE", 200, 1, 200);
	c->per_minute = (int)env_long("DEPLOY_DO_RATE_PER_MIN", PER_MINUTE, 1,
				      PER_MINUTE);
	c->per_hour = PER_HOUR;
	c->window_ms = env_long("DEPLOY_DO_RATE_WINDOW_S", 60, 1, 60) * 1000LL;
	c->sent = xcalloc((size_t)c->per_hour, sizeof(*c->sent));
	c->remaining = -1;
	*out = c;
	return 0;
}

void do_close(struct do_api *c)
{
	if (!c)
		return;
	if (c->auth)
		freezero(c->auth, strlen(c->auth) + 1);
	free(c->base);
	free(c->source);
	free(c->sent);
	free(c);
}

void do_set_stop(struct do_api *c, const volatile int *stop)
{
	c->stop = stop;
}

const struct do_stats *do_stats(const struct do_api *c)
{
	return &c->stats;
}

const char *do_error_id(const struct do_api *c)
{
	return c->last_id;
}

int do_page_size(const struct do_api *c)
{
	return c->page_size;
}

void do_query_value(struct buf *b, const char *s)
{
	http_uri_encode(b, s, strlen(s));
}

/* --- the limiter ---------------------------------------------------- */

/* The i-th newest send time (0: the newest). */
static long long sent_at(const struct do_api *c, size_t i)
{
	size_t n = (size_t)c->per_hour;

	return c->sent[(c->head + n - 1 - i) % n];
}

/* How long to wait (ms, at most MAX_PAUSE_MS) before one more request
 * keeps within both windows and the server's own count; 0: it may go. */
static long long slot_wait(struct do_api *c)
{
	long long hour_ms = c->window_ms * 60, t = now_ms(), wait = 0;
	size_t in_minute = 0;

	while (c->count && sent_at(c, c->count - 1) <= t - hour_ms)
		c->count--;
	if (c->count >= (size_t)c->per_hour)
		wait = sent_at(c, c->count - 1) + hour_ms - t;
	while (in_minute < c->count && sent_at(c, in_minute) > t - c->window_ms)
		in_minute++;
	if (!wait && in_minute >= (size_t)c->per_minute)
		wait = sent_at(c, (size_t)c->per_minute - 1) + c->window_ms - t;
	if (!wait && c->remaining == 0 && c->reset_at_ms > t)
		wait = c->reset_at_ms - t;
	if (wait <= 0)
		return 0;
	return wait > MAX_PAUSE_MS ? MAX_PAUSE_MS : wait;
}

/* Count one request now; returns its slot, which slot_done() stamps again
 * once the answer is in (the server counted the request somewhere between
 * the two). */
static size_t slot_take(struct do_api *c)
{
	size_t slot = c->head;

	c->sent[slot] = now_ms();
	c->head = (c->head + 1) % (size_t)c->per_hour;
	if (c->count < (size_t)c->per_hour)
		c->count++;
	return slot;
}

static void slot_done(struct do_api *c, size_t slot)
{
	c->sent[slot] = now_ms();
}

/* Read the ratelimit headers of an answer. */
static void note_limits(struct do_api *c, const struct http_response *r)
{
	char *rem = http_response_header(r, "ratelimit-remaining");
	char *reset = http_response_header(r, "ratelimit-reset");

	if (rem)
		c->remaining = strtol(rem, NULL, 10);
	if (reset) {
		long long at = strtoll(reset, NULL, 10);
		long long d = (at - (long long)time(NULL)) * 1000;

		c->reset_at_ms = now_ms() + (d > 0 ? d : 0);
	}
	free(rem);
	free(reset);
}

/* How long to wait after a 429: Retry-After, else until the reset when
 * nothing remains, else -1 (the jittered backoff). */
static long long throttle_wait(const struct http_response *r)
{
	char *ra = http_response_header(r, "retry-after");
	char *rem = http_response_header(r, "ratelimit-remaining");
	char *reset = http_response_header(r, "ratelimit-reset");
	long long ms = -1;

	if (ra && *ra) {
		ms = strtoll(ra, NULL, 10) * 1000;
	} else if (rem && strtol(rem, NULL, 10) == 0 && reset) {
		ms = (strtoll(reset, NULL, 10) - (long long)time(NULL)) * 1000;
		if (ms < 0)
			ms = 0;
	}
	free(ra);
	free(rem);
	free(reset);
	if (ms > MAX_PAUSE_MS)
		ms = MAX_PAUSE_MS;
	return ms;
}

/* --- one call ------------------------------------------------------- */

static void path_for_humans(const char *path, char *out, size_t size)
{
	snprintf(out, size, "%.*s", (int)strcspn(path, "?#"), path);
}

/* Set err from an error answer; returns the code. */
static int answer_error(struct do_api *c, const char *method, const char *path,
			const struct http_response *r, struct error *err)
{
	cJSON *j = cJSON_ParseWithLength(r->body.data, r->body.len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "request_id");
	char *hreq = http_response_header(r, "x-request-id");
	const char *rid = cJSON_IsString(req) && *req->valuestring
				  ? req->valuestring
				  : hreq;
	const char *header_value = c->auth + strlen("Authorization: ");
	char where[256];
	int rc;

	path_for_humans(path, where, sizeof(where));
	snprintf(c->last_id, sizeof(c->last_id), "%s",
		 cJSON_IsString(id) ? id->valuestring : "");
	if (r->status == 401)
		rc = DEPLOY_ERR_AUTH;
	else if (r->status == 404)
		rc = DEPLOY_ERR_NOT_FOUND;
	else if (r->status == 429 || r->status >= 500)
		rc = DEPLOY_ERR_UNREACHABLE;
	else
		rc = DEPLOY_ERR_INVALID;
	if (cJSON_IsString(id))
		error_set(err, rc, NULL, 0, 0,
			  "digitalocean %s %s: %s: %s%s%s%s", method, where,
			  id->valuestring,
			  cJSON_IsString(msg) && *msg->valuestring
				  ? msg->valuestring
				  : "(no message)",
			  rid ? " (request " : "", rid ? rid : "",
			  rid ? ")" : "");
	else
		error_set(err, rc, NULL, 0, 0,
			  "digitalocean %s %s: HTTP %ld without an API error",
			  method, where, r->status);
	/* A broken server or proxy may quote what it was sent: the header's
	 * value ("Bearer TOKEN"), or the token. */
	redact_message(err->msg, sizeof(err->msg), "digitalocean token",
		       header_value, strlen(header_value));
	redact_message(err->msg, sizeof(err->msg), "digitalocean token",
		       header_value + 7, strlen(header_value + 7));
	if (rc == DEPLOY_ERR_AUTH && c->source)
		error_append(err, "; the token came from %s", c->source);
	free(hreq);
	cJSON_Delete(j);
	return rc;
}

int do_answer(struct do_api *c, const char *method, const char *path,
	      const struct http_response *r, cJSON **out, struct error *err)
{
	if (out)
		*out = NULL;
	if (r->status < 200 || r->status >= 300)
		return answer_error(c, method, path, r, err);
	if (!out || !r->body.len)
		return 0;
	*out = cJSON_ParseWithLength(r->body.data, r->body.len);
	if (!*out)
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "digitalocean %s: the answer is not JSON",
				 method);
	return 0;
}

/* Whether url (absolute) is on the API: the token may go there. */
static bool on_api(const struct do_api *c, const char *url)
{
	size_t n = strlen(c->base);

	return !strncmp(url, c->base, n) &&
	       (url[n] == '/' || url[n] == '?' || !url[n]);
}

/* A call of do_call_many() under way. */
struct call_state {
	struct do_req *req;
	char *url;
	char *text; /* the body as JSON: wiped */
	bool mutating, safe;
	size_t slot;
	const char *lines[3];
	struct http_request hr;
	struct http_response resp;
};

/* The calls of one do_call_many(): the user data of its api_calls. */
struct batch {
	struct do_api *c;
	struct call_state *st;
};

static void prepare(void *ud, size_t i, struct api_call *call)
{
	struct batch *b = ud;
	struct call_state *s = &b->st[i];
	struct do_req *v = s->req;
	struct buf url = BUF_INIT;

	v->out = NULL;
	v->status = 0;
	v->rc = 0;
	v->id[0] = '\0';
	error_init(&v->err);
	call->rc = &v->rc;
	call->err = &v->err;
	s->mutating = strcmp(v->method, "GET") != 0;
	s->safe = strcmp(v->method, "POST") || (v->flags & DO_SAFE);
	if (v->url)
		buf_adds(&url, v->url);
	else
		buf_addf(&url, "%s%s", b->c->base, v->path);
	s->url = buf_release(&url);
	http_response_init(&s->resp);
	if (v->body) {
		s->text = cJSON_PrintUnformatted(v->body);
		if (!s->text)
			api_call_fail(call, DEPLOY_ERR_NOMEM, "out of memory");
	}
}

static int start(void *ud, size_t i, struct http_exchange *x)
{
	struct batch *b = ud;
	struct do_api *c = b->c;
	struct call_state *s = &b->st[i];
	size_t nl = 0;

	cJSON_Delete(s->req->out);
	s->req->out = NULL;
	http_response_free(&s->resp);
	http_response_init(&s->resp);
	s->lines[nl++] = c->auth;
	s->lines[nl++] = "Accept: application/json";
	if (s->text)
		s->lines[nl++] = "Content-Type: application/json";
	memset(&s->hr, 0, sizeof(s->hr));
	s->hr.method = s->req->method;
	s->hr.url = s->url;
	s->hr.headers = s->lines;
	s->hr.nr_headers = nl;
	s->hr.body = s->text;
	s->hr.body_len = s->text ? strlen(s->text) : 0;
	s->hr.connect_timeout_ms = 10000;
	s->hr.timeout_ms = TIMEOUT_MS;
	s->hr.max_body = MAX_ANSWER;
	s->hr.stop = c->stop;
	s->slot = slot_take(c);
	c->stats.calls++;
	if (s->mutating)
		c->stats.mutating++;
	x->req = &s->hr;
	x->resp = &s->resp;
	return 0;
}

/* Judge the answer (or its absence, rc) to call i's last attempt. */
static enum api_verdict judge(void *ud, size_t i, int rc, long long *wait)
{
	struct batch *b = ud;
	struct do_api *c = b->c;
	struct call_state *s = &b->st[i];
	struct do_req *v = s->req;
	bool again;

	slot_done(c, s->slot);
	c->last_id[0] = '\0';
	if (rc) {
		/* No answer: repeat only what is safe to repeat. */
		again = s->safe && (rc == DEPLOY_ERR_UNREACHABLE ||
				    rc == DEPLOY_ERR_TIMEOUT);
		if (!again) {
			char where[256];

			path_for_humans(v->path, where, sizeof(where));
			error_append(&v->err,
				     " (digitalocean %s %s not repeated: it "
				     "may have been carried out)",
				     v->method, where);
		}
	} else {
		note_limits(c, &s->resp);
		v->status = s->resp.status;
		rc = do_answer(c, v->method, v->path, &s->resp,
			       v->answer ? &v->out : NULL, &v->err);
		if (s->resp.status == 429) {
			c->stats.throttled++;
			*wait = throttle_wait(&s->resp);
		}
		/* A 5xx may come after the API did the work: a create is not
		 * asked twice (the caller finds it by its tag). A 429 was
		 * refused, and is asked again. */
		again = s->resp.status == 429 ||
			(s->safe && s->resp.status >= 500);
	}
	v->rc = rc;
	snprintf(v->id, sizeof(v->id), "%s", c->last_id);
	return again ? API_AGAIN : API_DONE;
}

static long long window(void *ud)
{
	struct batch *b = ud;

	return slot_wait(b->c);
}

static void held(void *ud, long long ms)
{
	struct batch *b = ud;

	b->c->stats.waited_ms += (unsigned)ms;
	b->c->remaining = -1; /* ask again */
}

static void interrupted(void *ud, size_t i)
{
	struct batch *b = ud;
	struct do_req *v = b->st[i].req;

	v->rc = error_set(&v->err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
			  "digitalocean %s: interrupted", v->method);
}

static const struct api_call_ops do_call_ops = {
	.prepare = prepare,
	.start = start,
	.judge = judge,
	.window = window,
	.held = held,
	.interrupted = interrupted,
};

size_t do_call_many(struct do_api *c, struct do_req *v, size_t n)
{
	struct batch b = { c, xcalloc(n + 1, sizeof(*b.st)) };
	struct api_calls a = {
		.parallel = DO_PARALLEL,
		.base_ms = c->base_ms,
		.cap_ms = CAP_MS,
		.attempts = ATTEMPTS,
		.stop = c->stop,
		.retries = &c->stats.retries,
		.ops = &do_call_ops,
		.ud = &b,
	};
	size_t failed;

	c->last_id[0] = '\0';
	for (size_t i = 0; i < n; i++)
		b.st[i].req = &v[i];
	failed = api_call_many(&a, n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].rc && v[i].id[0])
			snprintf(c->last_id, sizeof(c->last_id), "%s", v[i].id);
		http_response_free(&b.st[i].resp);
		free(b.st[i].url);
		if (b.st[i].text) /* user_data may matter */
			freezero(b.st[i].text, strlen(b.st[i].text) + 1);
	}
	free(b.st);
	return failed;
}

/* One call, as do_call_many() makes it; *out and *status when not NULL. */
static int call_url(struct do_api *c, const char *method, const char *url,
		    const char *path, const cJSON *body, unsigned flags,
		    cJSON **out, long *status, struct error *err)
{
	struct do_req r = { .method = method,
			    .path = path,
			    .url = url,
			    .body = body,
			    .flags = flags,
			    .answer = out != NULL };

	do_call_many(c, &r, 1);
	if (out)
		*out = r.out;
	else
		cJSON_Delete(r.out);
	if (status)
		*status = r.status;
	if (r.rc)
		error_set(err, r.rc, NULL, 0, 0, "%s", r.err.msg);
	error_clear(&r.err);
	return r.rc;
}

int do_call(struct do_api *c, const char *method, const char *path,
	    const cJSON *body, unsigned flags, cJSON **out, long *status,
	    struct error *err)
{
	struct buf url = BUF_INIT;
	int rc;

	buf_addf(&url, "%s%s", c->base, path);
	rc = call_url(c, method, url.data, path, body, flags, out, status, err);
	buf_free(&url);
	return rc;
}

int do_list_page(struct do_api *c, const char *path, const char *key,
		 const cJSON *doc, const char *url, const char *prev,
		 int (*fn)(const cJSON *item, void *ud), void *ud, char **next,
		 struct error *err)
{
	const cJSON *items, *it, *link;
	char where[256];
	int rc = 0;

	*next = NULL;
	items = cJSON_GetObjectItemCaseSensitive(doc, key);
	if (!cJSON_IsArray(items))
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "digitalocean GET %.*s: the answer has no "
				 "'%s' list",
				 (int)strcspn(path, "?"), path, key);
	cJSON_ArrayForEach(it, items)
	{
		rc = fn(it, ud);
		if (rc)
			return rc;
	}
	link = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "links"),
			"pages"),
		"next");
	if (!cJSON_IsString(link) || !*link->valuestring)
		return 0;
	if (on_api(c, link->valuestring) && strcmp(url, link->valuestring) &&
	    (!prev || strcmp(prev, link->valuestring))) {
		*next = xstrdup(link->valuestring);
		return 0;
	}
	http_url_for_humans(link->valuestring, where, sizeof(where));
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "digitalocean GET %.*s: the next page is at %s, %s",
			 (int)strcspn(path, "?"), path, where,
			 on_api(c, link->valuestring)
				 ? "a page already read"
				 : "not on the API's address (the token is "
				   "not sent there)");
}

int do_list(struct do_api *c, const char *path, const char *key,
	    int (*fn)(const cJSON *item, void *ud), void *ud, struct error *err)
{
	struct buf url = BUF_INIT;
	char *prev = NULL;
	int rc = 0;

	buf_addf(&url, "%s%s%cper_page=%d", c->base, path,
		 strchr(path, '?') ? '&' : '?', c->page_size);
	for (int page = 0; page < MAX_PAGES; page++) {
		cJSON *doc = NULL;
		char *next = NULL;

		rc = call_url(c, "GET", url.data, path, NULL, 0, &doc, NULL,
			      err);
		if (rc)
			break;
		rc = do_list_page(c, path, key, doc, url.data, prev, fn, ud,
				  &next, err);
		cJSON_Delete(doc);
		if (rc || !next)
			break;
		free(prev);
		prev = buf_release(&url);
		buf_adds(&url, next);
		free(next);
	}
	free(prev);
	buf_free(&url);
	return rc;
}

/* --- what the provider reads from answers -------------------------- */

char *do_id_text(const cJSON *id)
{
	char s[32];

	if (cJSON_IsString(id))
		return xstrdup(id->valuestring);
	if (!cJSON_IsNumber(id))
		return NULL;
	snprintf(s, sizeof(s), "%.0f", id->valuedouble);
	return xstrdup(s);
}

bool do_droplet_addresses(const cJSON *dr, char **pub, char **priv)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(dr, "status");
	const cJSON *v4 = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(dr, "networks"), "v4");
	const cJSON *n;

	*pub = *priv = NULL;
	if (!cJSON_IsString(st) || strcmp(st->valuestring, "active"))
		return false;
	cJSON_ArrayForEach(n, v4)
	{
		const cJSON *ip =
			cJSON_GetObjectItemCaseSensitive(n, "ip_address");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(n, "type");

		if (!cJSON_IsString(ip) || !cJSON_IsString(type))
			continue;
		if (!strcmp(type->valuestring, "public") && !*pub)
			*pub = xstrdup(ip->valuestring);
		else if (!strcmp(type->valuestring, "private") && !*priv)
			*priv = xstrdup(ip->valuestring);
	}
	if (*pub)
		return true;
	free(*priv);
	*priv = NULL;
	return false;
}
