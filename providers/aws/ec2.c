/* SPDX-License-Identifier: MIT */
/* The EC2 Query API client: signed POSTs, retries, XML answers. */
#include "providers/aws/ec2.h"

#include <libxml/parser.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "providers/calls.h"
#include "providers/aws/sigv4.h"
#include "util/xalloc.h"
#include "util/file.h"
#include "util/pause.h"
#include "util/banned.h"

#define DEFAULT_BASE_MS	   200
#define DEFAULT_CAP_MS	   20000
#define DEFAULT_ATTEMPTS   8
#define DEFAULT_TIMEOUT_MS 30000
/* EC2's own request token buckets, per account and region (AWS's "Request
 * throttling for the Amazon EC2 API"): non-mutating actions a bucket of
 * 100 refilled at 20 a second, mutating ones 200 at 5 (RunInstances has a
 * resource bucket of 1000 instances at 2 a second besides). deploy keeps
 * to them. */
#define READ_RATE   20.0
#define READ_BURST  100.0
#define WRITE_RATE  5.0
#define WRITE_BURST 200.0

void ec2_params_init(struct ec2_params *p)
{
	buf_init(&p->body, 1u << 20);
	p->mutating_safe = false;
}

void ec2_params_free(struct ec2_params *p)
{
	/* User data and tags may be sensitive to an operator: wipe. */
	buf_free_secret(&p->body);
}

/* application/x-www-form-urlencoded as Python's urlencode() writes it
 * (what moto re-encodes to check a signature; EC2 takes it as well):
 * unreserved bytes kept, a space as '+', the rest %XX. */
static void form_encode(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == ' ')
			buf_addch(out, '+');
		else
			http_uri_encode(out, s, 1);
	}
}

void ec2_param(struct ec2_params *p, const char *name, const char *value)
{
	if (p->body.len)
		buf_addch(&p->body, '&');
	form_encode(&p->body, name);
	buf_addch(&p->body, '=');
	form_encode(&p->body, value);
}

void ec2_paramf(struct ec2_params *p, const char *value, const char *namefmt,
		...)
{
	char name[256];
	va_list ap;

	va_start(ap, namefmt);
	vsnprintf(name, sizeof(name), namefmt, ap);
	va_end(ap);
	ec2_param(p, name, value);
}

void ec2_filter(struct ec2_params *p, int n, const char *name,
		const char *value)
{
	ec2_paramf(p, name, "Filter.%d.Name", n);
	ec2_paramf(p, value, "Filter.%d.Value.1", n);
}

/* Take one token from b and say how long to wait before the request it
 * pays for may go: the bucket may go below zero, a request booked for
 * when the tokens it lacks have come. */
static long bucket_take(struct ec2_bucket *b)
{
	double t = (double)now_ms() / 1000;

	b->tokens += (t - b->filled_at) * b->rate;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->filled_at = t;
	b->tokens -= 1.0;
	if (b->tokens >= 0)
		return 0;
	return (long)(-b->tokens / b->rate * 1000.0) + 1;
}

static void bucket_init(struct ec2_bucket *b, double rate, double burst)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->filled_at = (double)now_ms() / 1000;
}

int ec2_open(struct ec2 **out, const char *endpoint, const char *region,
	     struct aws_creds *creds, struct error *err)
{
	struct ec2 *c = xcalloc(1, sizeof(*c));
	const char *h = strstr(endpoint, "://");
	const char *base = getenv("DEPLOY_AWS_RETRY_BASE_MS");
	size_t hlen;

	*out = NULL;
	if (!h || (strncmp(endpoint, "http://", 7) &&
		   strncmp(endpoint, "https://", 8))) {
		free(c);
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "endpoint '%s' is not an http or https URL",
				 endpoint);
	}
	h += 3;
	hlen = strcspn(h, "/?#");
	c->endpoint = xstrdup(endpoint);
	c->host = xstrndup(h, hlen);
	c->region = xstrdup(region);
	c->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	c->base_ms = base && atol(base) > 0 ? atol(base) : DEFAULT_BASE_MS;
	c->cap_ms = DEFAULT_CAP_MS;
	c->attempts = DEFAULT_ATTEMPTS;
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->page_size =
		getenv("DEPLOY_AWS_PAGE_SIZE")
			? (int)strtol(getenv("DEPLOY_AWS_PAGE_SIZE"), NULL, 10)
			: 1000;
	if (c->page_size < 5 || c->page_size > 1000)
		c->page_size = 1000;
	bucket_init(&c->reads, READ_RATE, READ_BURST);
	bucket_init(&c->writes, WRITE_RATE, WRITE_BURST);
	*out = c;
	return 0;
}

void ec2_close(struct ec2 *c)
{
	if (!c)
		return;
	aws_creds_free(&c->creds);
	free(c->endpoint);
	free(c->host);
	free(c->region);
	free(c);
}

void ec2_page_size(const struct ec2 *c, struct ec2_params *p)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", c->page_size);
	ec2_param(p, "MaxResults", n);
}

const char *ec2_error_code(const struct ec2 *c)
{
	return c->last_code;
}

/* XML helpers -------------------------------------------------------- */

xmlNodePtr x_next(xmlNodePtr n, const char *name)
{
	for (n = n ? n->next : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

xmlNodePtr x_child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

xmlNodePtr x_path(xmlNodePtr n, const char *path)
{
	char part[128];

	while (n && *path) {
		size_t len = strcspn(path, "/");

		if (len >= sizeof(part))
			return NULL;
		memcpy(part, path, len);
		part[len] = '\0';
		n = x_child(n, part);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

char *x_text(xmlNodePtr n, const char *path)
{
	xmlNodePtr e = x_path(n, path);
	xmlChar *t;
	char *s;

	if (!e)
		return NULL;
	t = xmlNodeGetContent(e);
	s = xstrdup(t ? (const char *)t : "");
	xmlFree(t);
	return s;
}

bool x_text_is(xmlNodePtr n, const char *path, const char *s)
{
	char *t = x_text(n, path);
	bool same = t && !strcmp(t, s);

	free(t);
	return same;
}

char *x_tag(xmlNodePtr n, const char *key)
{
	xmlNodePtr set = x_child(n, "tagSet");

	for (xmlNodePtr it = x_child(set, "item"); it; it = x_next(it, "item"))
		if (x_text_is(it, "key", key))
			return x_text(it, "value");
	return NULL;
}

/* The call ----------------------------------------------------------- */

static bool is_mutating(const char *action)
{
	return strncmp(action, "Describe", 8) != 0;
}

static bool code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(code, *list))
			return true;
	return false;
}

static const char *const throttle_codes[] = {
	"RequestLimitExceeded",
	"Throttling",
	"ThrottlingException",
	"RequestThrottled",
	"SlowDown",
	"EC2ThrottledException",
	NULL,
};

static const char *const server_codes[] = {
	"InternalError",
	"InternalFailure",
	"ServiceUnavailable",
	"Unavailable",
	NULL,
};

static const char *const auth_codes[] = {
	"AuthFailure",
	"UnauthorizedOperation",
	"SignatureDoesNotMatch",
	"InvalidClientTokenId",
	"IncompleteSignature",
	"MissingAuthenticationToken",
	"OptInRequired",
	"Blocked",
	"RequestExpired",
	"ExpiredToken",
	NULL,
};

/* The answer as an XML document, or NULL (empty, too big, not XML). */
static xmlDocPtr parse_xml(const char *body, size_t len)
{
	if (!len || len > INT_MAX)
		return NULL;
	return xmlReadMemory(body, (int)len, "response.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR |
				     XML_PARSE_NOWARNING);
}

/* Set err from an error answer; returns the code. */
static int answer_error(struct ec2 *c, const char *action, long status,
			xmlDocPtr doc, struct error *err)
{
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr e = x_path(root, "Errors/Error");
	char *code = e ? x_text(e, "Code") : NULL;
	char *msg = e ? x_text(e, "Message") : NULL;
	char *req = x_text(root, "RequestID");
	int rc;

	if (!e) {
		/* Some answers (moto, proxies) name the error at the top. */
		code = code ? code : x_text(root, "Code");
		msg = msg ? msg : x_text(root, "Message");
	}
	if (!req)
		req = x_text(root, "RequestId");
	snprintf(c->last_code, sizeof(c->last_code), "%s", code ? code : "");
	if (code && code_in(code, auth_codes))
		rc = DEPLOY_ERR_AUTH;
	else if (code && strstr(code, "NotFound"))
		rc = DEPLOY_ERR_NOT_FOUND;
	else if (status >= 500 || (code && (code_in(code, throttle_codes) ||
					    code_in(code, server_codes))))
		rc = DEPLOY_ERR_UNREACHABLE;
	else
		rc = DEPLOY_ERR_INVALID;
	if (code)
		error_set(err, rc, NULL, 0, 0, "aws %s: %s: %s%s%s%s", action,
			  code, msg && *msg ? msg : "(no message)",
			  req ? " (request " : "", req ? req : "",
			  req ? ")" : "");
	else
		error_set(err, rc, NULL, 0, 0,
			  "aws %s: HTTP %ld from %s without an EC2 error",
			  action, status, c->host);
	if (code && !strcmp(code, "InsufficientInstanceCapacity"))
		error_append(err, "; try another zone (zone:) or instance size "
				  "(size:)");
	aws_creds_redact(&c->creds, err->msg, sizeof(err->msg));
	if (code && code_in(code, auth_codes) && c->creds.source)
		error_append(err, "; credentials from %s", c->creds.source);
	free(code);
	free(msg);
	free(req);
	return rc;
}

int ec2_answer(struct ec2 *c, const char *action, long status, const char *body,
	       size_t len, xmlDocPtr *doc, struct error *err)
{
	xmlDocPtr d = parse_xml(body, len);
	int rc;

	*doc = NULL;
	c->last_code[0] = '\0';
	if (status >= 200 && status < 300) {
		if (!d)
			return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
					 "aws %s: the answer from %s is not "
					 "XML",
					 action, c->host);
		*doc = d;
		return 0;
	}
	rc = answer_error(c, action, status, d, err);
	xmlFreeDoc(d);
	return rc;
}

static bool retryable(const char *code, long status)
{
	return status >= 500 || code_in(code, throttle_codes) ||
	       code_in(code, server_codes);
}

/* One signed attempt of a call: the request and what it owns. */
struct signed_req {
	struct http_request hr;
	const char *lines[6];
	char date[17];
	char hdr_date[64];
	char hdr_host[300];
	char *hdr_auth;
	char *hdr_token;
	struct buf url;
};

static void signed_req_free(struct signed_req *s)
{
	if (s->hdr_auth) {
		explicit_bzero(s->hdr_auth, strlen(s->hdr_auth));
		free(s->hdr_auth);
	}
	if (s->hdr_token) {
		explicit_bzero(s->hdr_token, strlen(s->hdr_token));
		free(s->hdr_token);
	}
	buf_free(&s->url);
	memset(s, 0, sizeof(*s));
}

/* Sign body for one attempt into s (the caller frees it). */
static int sign(struct ec2 *c, const struct buf *body, struct signed_req *s,
		struct error *err)
{
	struct sigv4_header sh[4];
	size_t nh = 0, nl = 0, n;
	struct sigv4_request req = { 0 };
	struct sigv4_key key = { 0 };
	struct sigv4_result sig = { 0 };
	int rc;

	memset(s, 0, sizeof(*s));
	buf_init(&s->url, 4096);
	rc = aws_creds_refresh(&c->creds, err);
	if (rc)
		return rc;
	sigv4_amz_date((long long)time(NULL), s->date);
	sh[nh++] = (struct sigv4_header){ "Host", c->host };
	sh[nh++] = (struct sigv4_header){
		"Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8"
	};
	sh[nh++] = (struct sigv4_header){ "X-Amz-Date", s->date };
	if (c->creds.token)
		sh[nh++] = (struct sigv4_header){ "X-Amz-Security-Token",
						  c->creds.token };
	req.method = "POST";
	req.target = "/";
	req.headers = sh;
	req.nr_headers = nh;
	req.payload = body->data;
	req.payload_len = body->len;
	key.access_key = c->creds.access_key;
	key.secret_key = c->creds.secret_key;
	key.region = c->region;
	key.service = "ec2";
	key.amz_date = s->date;
	rc = sigv4_sign(&req, &key, &sig, err);
	if (rc)
		return rc;

	snprintf(s->hdr_host, sizeof(s->hdr_host), "Host: %s", c->host);
	snprintf(s->hdr_date, sizeof(s->hdr_date), "X-Amz-Date: %s", s->date);
	n = strlen(sig.authorization) + 32;
	s->hdr_auth = xmalloc(n);
	snprintf(s->hdr_auth, n, "Authorization: %s", sig.authorization);
	sigv4_result_free(&sig);
	s->lines[nl++] = s->hdr_host;
	s->lines[nl++] = "Content-Type: application/x-www-form-urlencoded; "
			 "charset=utf-8";
	s->lines[nl++] = s->hdr_date;
	s->lines[nl++] = s->hdr_auth;
	if (c->creds.token) {
		n = strlen(c->creds.token) + 32;
		s->hdr_token = xmalloc(n);
		snprintf(s->hdr_token, n, "X-Amz-Security-Token: %s",
			 c->creds.token);
		s->lines[nl++] = s->hdr_token;
	}
	buf_addf(&s->url, "%s/", c->endpoint);
	s->hr.method = "POST";
	s->hr.url = s->url.data;
	s->hr.headers = s->lines;
	s->hr.nr_headers = nl;
	s->hr.body = body->data;
	s->hr.body_len = body->len;
	s->hr.connect_timeout_ms = 10000;
	s->hr.timeout_ms = c->timeout_ms;
	s->hr.stop = c->stop;
	return 0;
}

/* A call of ec2_call_many() under way. */
struct call_state {
	struct ec2_call *call;
	struct buf body;
	bool mutating, safe;
	struct signed_req sr;
	struct http_response resp;
};

/* The calls of one ec2_call_many(): the user data of its api_calls. */
struct batch {
	struct ec2 *c;
	struct call_state *st;
};

static void prepare(void *ud, size_t i, struct api_call *call)
{
	struct call_state *s = &((struct batch *)ud)->st[i];
	struct ec2_call *v = s->call;

	v->doc = NULL;
	v->rc = 0;
	v->code[0] = '\0';
	error_init(&v->err);
	call->rc = &v->rc;
	call->err = &v->err;
	s->mutating = is_mutating(v->action);
	s->safe = !s->mutating || (v->p && v->p->mutating_safe);
	buf_init(&s->body, 2u << 20);
	buf_addf(&s->body, "Action=%s&Version=%s", v->action, EC2_API_VERSION);
	if (v->p && v->p->body.len) {
		buf_addch(&s->body, '&');
		buf_add(&s->body, v->p->body.data, v->p->body.len);
	}
	http_response_init(&s->resp);
}

/* Take a token from the bucket of the call's kind (reads, writes). */
static long long pay(void *ud, size_t i)
{
	struct batch *b = ud;

	return bucket_take(b->st[i].mutating ? &b->c->writes : &b->c->reads);
}

static int start(void *ud, size_t i, struct http_exchange *x)
{
	struct batch *b = ud;
	struct call_state *s = &b->st[i];
	int rc = sign(b->c, &s->body, &s->sr, &s->call->err);

	if (rc) {
		signed_req_free(&s->sr);
		return rc;
	}
	b->c->stats.calls++;
	if (s->mutating)
		b->c->stats.mutating++;
	x->req = &s->sr.hr;
	x->resp = &s->resp;
	return 0;
}

/* Judge the answer (or its absence, rc) to call i's last attempt. */
static enum api_verdict judge(void *ud, size_t i, int rc, long long *wait)
{
	struct batch *b = ud;
	struct ec2 *c = b->c;
	struct call_state *s = &b->st[i];
	struct ec2_call *v = s->call;
	bool again = false;

	(void)wait;
	signed_req_free(&s->sr);
	c->last_code[0] = '\0';
	if (rc) {
		/* No answer: repeat only what is safe to repeat. */
		again = s->safe && (rc == DEPLOY_ERR_UNREACHABLE ||
				    rc == DEPLOY_ERR_TIMEOUT);
	} else {
		rc = ec2_answer(c, v->action, s->resp.status, s->resp.body.data,
				s->resp.body.len, &v->doc, &v->err);
		if (rc) {
			const char *code = c->last_code;

			/* A write EC2 may have done already (a 5xx) is not
			 * asked again unless it carries a ClientToken: the
			 * next run finds what it made by its tags. A
			 * throttled request was refused, and is. */
			again = code_in(code, throttle_codes) ||
				(s->safe && retryable(code, s->resp.status));
			if (again && (code_in(code, throttle_codes) ||
				      s->resp.status == 503))
				c->stats.throttled++;
		}
	}
	snprintf(v->code, sizeof(v->code), "%s", c->last_code);
	v->rc = rc;
	if (!rc)
		error_clear(&v->err);
	return again ? API_AGAIN : API_DONE;
}

static const struct api_call_ops ec2_call_ops = {
	.prepare = prepare,
	.start = start,
	.judge = judge,
	.pay = pay,
};

size_t ec2_call_many(struct ec2 *c, struct ec2_call *v, size_t n)
{
	struct batch b = { c, xcalloc(n + 1, sizeof(*b.st)) };
	struct api_calls a = {
		.parallel = EC2_PARALLEL,
		.base_ms = c->base_ms,
		.cap_ms = c->cap_ms,
		.attempts = c->attempts,
		.stop = c->stop,
		.retries = &c->stats.retries,
		.ops = &ec2_call_ops,
		.ud = &b,
	};
	size_t failed;

	for (size_t i = 0; i < n; i++)
		b.st[i].call = &v[i];
	failed = api_call_many(&a, n);
	for (size_t i = 0; i < n; i++) {
		http_response_free(&b.st[i].resp);
		buf_free_secret(&b.st[i].body);
	}
	free(b.st);
	return failed;
}

int ec2_call(struct ec2 *c, const char *action, struct ec2_params *p,
	     xmlDocPtr *doc, struct error *err)
{
	struct ec2_call call = { .action = action, .p = p };

	ec2_call_many(c, &call, 1);
	*doc = call.doc;
	snprintf(c->last_code, sizeof(c->last_code), "%s", call.code);
	if (call.rc)
		error_set(err, call.rc, NULL, 0, 0, "%s", call.err.msg);
	error_clear(&call.err);
	return call.rc;
}

int ec2_call_pages(struct ec2 *c, const char *action, struct ec2_params *p,
		   int (*fn)(xmlNodePtr root, void *ud), void *ud,
		   struct error *err)
{
	char *token = NULL;
	size_t base = p ? p->body.len : 0;
	struct ec2_params local;
	int rc = 0;

	if (!p) {
		ec2_params_init(&local);
		p = &local;
	}
	for (int page = 0; page < 10000; page++) {
		xmlDocPtr doc;
		xmlNodePtr root;

		/* The same parameters each time, with this page's token. */
		p->body.len = base;
		p->body.data[base] = '\0';
		if (token)
			ec2_param(p, "NextToken", token);
		free(token);
		token = NULL;
		rc = ec2_call(c, action, p, &doc, err);
		if (rc)
			break;
		root = xmlDocGetRootElement(doc);
		rc = fn(root, ud);
		token = x_text(root, "nextToken");
		xmlFreeDoc(doc);
		if (rc || !token || !*token)
			break;
	}
	free(token);
	if (p == &local)
		ec2_params_free(&local);
	return rc;
}
