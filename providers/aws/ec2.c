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
#include "providers/aws/sigv4.h"
#include "util/xalloc.h"
#include "util/file.h"
#include "util/pause.h"
#include "util/banned.h"

#define DEFAULT_BASE_MS	   200
#define DEFAULT_CAP_MS	   20000
#define DEFAULT_ATTEMPTS   8
#define DEFAULT_TIMEOUT_MS 30000
/* Within EC2's own request token buckets (AWS documents, per account and
 * region, buckets of 50 to 100 requests refilled at 5 to 20 per second for
 * most actions): a burst of 50, then 10 per second. */
#define DEFAULT_RATE  10.0
#define DEFAULT_BURST 50.0

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

/* Take one token, waiting for it when the bucket is empty. */
static void take_token(struct ec2 *c)
{
	double t = (double)now_ms() / 1000;

	c->tokens += (t - c->filled_at) * c->rate;
	if (c->tokens > c->burst)
		c->tokens = c->burst;
	c->filled_at = t;
	if (c->tokens < 1.0) {
		long wait = (long)((1.0 - c->tokens) / c->rate * 1000.0) + 1;

		pause_ms(wait, c->stop);
		c->tokens = 1.0;
		c->filled_at = (double)now_ms() / 1000;
	}
	c->tokens -= 1.0;
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
	c->rate = DEFAULT_RATE;
	c->burst = DEFAULT_BURST;
	c->tokens = c->burst;
	c->filled_at = (double)now_ms() / 1000;
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

/* One signed attempt. */
static int attempt(struct ec2 *c, const char *body, size_t len,
		   struct http_response *resp, struct error *err)
{
	char date[17], hdr_date[64], hdr_host[300], *hdr_auth = NULL,
						    *hdr_token = NULL;
	const char *lines[6];
	size_t nl = 0;
	struct sigv4_header sh[4];
	size_t nh = 0;
	struct sigv4_request req = { 0 };
	struct sigv4_key key = { 0 };
	struct sigv4_result sig = { 0 };
	struct http_request hr = { 0 };
	struct buf url = BUF_INIT;
	size_t n;
	int rc;

	rc = aws_creds_refresh(&c->creds, err);
	if (rc)
		return rc;
	sigv4_amz_date((long long)time(NULL), date);
	sh[nh++] = (struct sigv4_header){ "Host", c->host };
	sh[nh++] = (struct sigv4_header){
		"Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8"
	};
	sh[nh++] = (struct sigv4_header){ "X-Amz-Date", date };
	if (c->creds.token)
		sh[nh++] = (struct sigv4_header){ "X-Amz-Security-Token",
						  c->creds.token };
	req.method = "POST";
	req.target = "/";
	req.headers = sh;
	req.nr_headers = nh;
	req.payload = body;
	req.payload_len = len;
	key.access_key = c->creds.access_key;
	key.secret_key = c->creds.secret_key;
	key.region = c->region;
	key.service = "ec2";
	key.amz_date = date;
	rc = sigv4_sign(&req, &key, &sig, err);
	if (rc)
		return rc;

	snprintf(hdr_host, sizeof(hdr_host), "Host: %s", c->host);
	snprintf(hdr_date, sizeof(hdr_date), "X-Amz-Date: %s", date);
	n = strlen(sig.authorization) + 32;
	hdr_auth = xmalloc(n);
	snprintf(hdr_auth, n, "Authorization: %s", sig.authorization);
	lines[nl++] = hdr_host;
	lines[nl++] = "Content-Type: application/x-www-form-urlencoded; "
		      "charset=utf-8";
	lines[nl++] = hdr_date;
	lines[nl++] = hdr_auth;
	if (c->creds.token) {
		n = strlen(c->creds.token) + 32;
		hdr_token = xmalloc(n);
		snprintf(hdr_token, n, "X-Amz-Security-Token: %s",
			 c->creds.token);
		lines[nl++] = hdr_token;
	}
	buf_addf(&url, "%s/", c->endpoint);
	hr.method = "POST";
	hr.url = url.data;
	hr.headers = lines;
	hr.nr_headers = nl;
	hr.body = body;
	hr.body_len = len;
	hr.connect_timeout_ms = 10000;
	hr.timeout_ms = c->timeout_ms;
	rc = http_do(&hr, resp, err);
	sigv4_result_free(&sig);
	explicit_bzero(hdr_auth, strlen(hdr_auth));
	free(hdr_auth);
	if (hdr_token) {
		explicit_bzero(hdr_token, strlen(hdr_token));
		free(hdr_token);
	}
	buf_free(&url);
	return rc;
}

int ec2_call(struct ec2 *c, const char *action, struct ec2_params *p,
	     xmlDocPtr *doc, struct error *err)
{
	struct buf body = BUF_INIT;
	struct http_response resp;
	bool mutating = is_mutating(action);
	bool safe = !mutating || (p && p->mutating_safe);
	int rc = 0;

	*doc = NULL;
	c->last_code[0] = '\0';
	buf_addf(&body, "Action=%s&Version=%s", action, EC2_API_VERSION);
	if (p && p->body.len) {
		buf_addch(&body, '&');
		buf_add(&body, p->body.data, p->body.len);
	}
	http_response_init(&resp);
	for (int n = 0;; n++) {
		char *code = NULL;
		bool again;

		take_token(c);
		c->stats.calls++;
		if (mutating)
			c->stats.mutating++;
		rc = attempt(c, body.data, body.len, &resp, err);
		if (rc) {
			/* No answer: repeat only what is safe to repeat. */
			again = safe && (rc == DEPLOY_ERR_UNREACHABLE ||
					 rc == DEPLOY_ERR_TIMEOUT);
		} else if (resp.status >= 200 && resp.status < 300) {
			rc = ec2_answer(c, action, resp.status, resp.body.data,
					resp.body.len, doc, err);
			break;
		} else {
			rc = ec2_answer(c, action, resp.status, resp.body.data,
					resp.body.len, doc, err);
			code = c->last_code;
			/* A write EC2 may have done already (a 5xx) is not
			 * asked again unless it carries a ClientToken: the
			 * next run finds what it made by its tags. A
			 * throttled request was refused, and is. */
			again = code_in(code, throttle_codes) ||
				(safe && retryable(code, resp.status));
			if (again && (code_in(code, throttle_codes) ||
				      resp.status == 503))
				c->stats.throttled++;
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
	buf_free_secret(&body);
	return rc;
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
