/* SPDX-License-Identifier: MIT */
/* HTTP exchanges through libcurl multi: many in flight, connections kept. */
#include "http/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strutil.h"
#include "util/xalloc.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/*
 * Idle multi handles, each holding its kept-alive connections. A call
 * takes one (or makes one), runs its exchanges on it and gives it back:
 * calls one after another reuse the same connections, and calls from
 * threads at the same time each have their own handle. Freed at exit.
 */
struct pool {
	CURLM *multi;
	struct pool *next;
};

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool *idle_pools;

static void pools_free(void)
{
	pthread_mutex_lock(&pools_lock);
	while (idle_pools) {
		struct pool *p = idle_pools;

		idle_pools = p->next;
		curl_multi_cleanup(p->multi);
		free(p);
	}
	pthread_mutex_unlock(&pools_lock);
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(pools_free);
}

static struct pool *pool_take(void)
{
	struct pool *p;

	pthread_once(&curl_once, curl_init_once);
	pthread_mutex_lock(&pools_lock);
	p = idle_pools;
	if (p)
		idle_pools = p->next;
	pthread_mutex_unlock(&pools_lock);
	if (p)
		return p;
	p = xcalloc(1, sizeof(*p));
	p->multi = curl_multi_init();
	if (!p->multi) {
		free(p);
		return NULL;
	}
	/* At most HTTP_MAX_PARALLEL connections to one endpoint, and as
	 * many kept for the next call. */
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)HTTP_MAX_PARALLEL);
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS,
			  (long)HTTP_MAX_PARALLEL * 4);
	return p;
}

static void pool_give_back(struct pool *p)
{
	pthread_mutex_lock(&pools_lock);
	p->next = idle_pools;
	idle_pools = p;
	pthread_mutex_unlock(&pools_lock);
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	r->secret = false;
	buf_init(&r->body, HTTP_MAX_BODY);
	buf_init(&r->headers, 256u << 10);
}

void http_response_free(struct http_response *r)
{
	if (r->secret)
		buf_free_secret(&r->body);
	else
		buf_free(&r->body);
	buf_free(&r->headers);
	r->status = 0;
}

struct sink {
	struct buf *b;
	bool too_big;
	FILE *f; /* instead of b */
	size_t written, max;
	bool write_failed;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;

	if (s->f) {
		if (size * n > s->max - s->written) {
			s->too_big = true;
			return 0;
		}
		if (fwrite(p, 1, size * n, s->f) != size * n) {
			s->write_failed = true;
			return 0;
		}
		s->written += size * n;
		return size * n;
	}
	if (buf_add(s->b, p, size * n)) {
		s->too_big = true;
		return 0;
	}
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct buf *h = ud;
	size_t len = size * n;

	/* A new status line starts the headers of a later response (after
	 * 100 Continue or a redirect): keep only the final one's. */
	if (len >= 5 && !memcmp(p, "HTTP/", 5))
		buf_reset(h);
	if (buf_add(h, p, len))
		return 0;
	return len;
}

char *http_response_header(const struct http_response *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = r->headers.data;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nlen && p[nlen] == ':' &&
		    !strncasecmp(p, name, nlen)) {
			const char *v = p + nlen + 1;
			const char *end = p + len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' ||
					   end[-1] == '\t'))
				end--;
			return xstrndup(v, (size_t)(end - v));
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

void http_url_for_humans(const char *url, char *out, size_t size)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	const char *path_end;

	if (at)
		host = at + 1;
	path_end = end + strcspn(end, "?#");
	snprintf(out, size, "%.*s%.*s%.*s",
		 scheme_end ? (int)(scheme_end + 3 - url) : 0, url,
		 (int)(end - host), host, (int)(path_end - end), end);
}

int http_uri_encode(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			rc = buf_addch(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			rc = buf_add(out, e, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* One exchange under way. */
struct xfer {
	struct http_exchange *x;
	CURL *easy;
	struct curl_slist *hdrs;
	struct sink sink;
	size_t sent;  /* of the request's body */
	bool rewound; /* curl wanted to send the body again */
	char cerr[CURL_ERROR_SIZE];
	char where[256];
};

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *t = ud;
	const struct http_request *req = t->x->req;
	size_t left = req->body_len - t->sent;

	if (left > size * n)
		left = size * n;
	memcpy(p, (const char *)req->body + t->sent, left);
	t->sent += left;
	return left;
}

/*
 * A body is never sent twice by curl itself: when a kept-alive connection
 * dies before any answer, curl would send the request again on a new one,
 * but the server may have acted on it (a create without an idempotency
 * key). Refusing the rewind ends the exchange as a lost connection, which
 * the caller's retry policy judges, as for any connection lost.
 */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct xfer *t = ud;

	(void)offset;
	(void)origin;
	t->rewound = true;
	return CURL_SEEKFUNC_FAIL;
}

static long timeout_of(const struct http_request *req)
{
	return req->timeout_ms ? req->timeout_ms : 60000L;
}

/* The easy handle for t->x, or an error in t->x. */
static int xfer_start(struct xfer *t)
{
	const struct http_request *req = t->x->req;
	struct http_response *resp = t->x->resp;
	const char *ca = getenv("CURL_CA_BUNDLE");
	CURL *c;

	http_url_for_humans(req->url, t->where, sizeof(t->where));
	resp->status = 0;
	buf_reset(&resp->body);
	buf_reset(&resp->headers);
	resp->body.max = req->max_body ? req->max_body : HTTP_MAX_BODY;
	t->sink.b = &resp->body;
	t->sink.f = req->sink;
	t->sink.max = resp->body.max;

	c = t->easy = curl_easy_init();
	if (!c)
		return error_set(&t->x->err, DEPLOY_ERR_NOMEM, NULL, 0, 0,
				 "%s %s: cannot start a request", req->method,
				 t->where);
	for (size_t i = 0; i < req->nr_headers; i++) {
		struct curl_slist *n =
			curl_slist_append(t->hdrs, req->headers[i]);

		if (!n)
			return error_set(&t->x->err, DEPLOY_ERR_NOMEM, NULL, 0,
					 0, "out of memory");
		t->hdrs = n;
	}
	/* No "Expect: 100-continue" (the bodies are small), and no chunked
	 * request for a PUT without a body. */
	{
		struct curl_slist *n = curl_slist_append(t->hdrs, "Expect:");

		if (!n)
			return error_set(&t->x->err, DEPLOY_ERR_NOMEM, NULL, 0,
					 0, "out of memory");
		t->hdrs = n;
	}

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (!strcmp(req->method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (req->body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, t);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
	} else if (!strcmp(req->method, "PUT") ||
		   !strcmp(req->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t->sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp->headers);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->cerr);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms ? req->connect_timeout_ms
						 : 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_of(req));
	/* A second exchange to an endpoint whose connection is still
	 * being opened waits for it rather than opening another. */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	/* The environment's proxies apply (https_proxy, no_proxy) as for
	 * every curl; nothing else is taken from outside but the CA bundle,
	 * as curl's tool takes it (CURL_CA_BUNDLE). */
	if (req->no_proxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	resp->secret |= req->secret;
	curl_easy_setopt(c, CURLOPT_USERAGENT, "deploy/0.1");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	return 0;
}

/* The exchange's outcome from curl's code. */
static void xfer_done(struct xfer *t, CURLcode cc)
{
	const struct http_request *req = t->x->req;
	struct http_response *resp = t->x->resp;
	struct error *err = &t->x->err;

	if (cc == CURLE_OK) {
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE,
				  &resp->status);
		t->x->rc = 0;
	} else if (t->sink.write_failed) {
		t->x->rc = error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				     "%s %s: cannot write the answer to a file",
				     req->method, t->where);
	} else if (t->sink.too_big) {
		t->x->rc =
			error_set(err, DEPLOY_ERR_TOO_BIG, NULL, 0, 0,
				  "%s %s: the answer is larger than %zu bytes",
				  req->method, t->where, resp->body.max);
	} else if (t->rewound) {
		t->x->rc = error_set(err, DEPLOY_ERR_UNREACHABLE, NULL, 0, 0,
				     "%s %s: the connection was lost before "
				     "an answer",
				     req->method, t->where);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		t->x->rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
				     "%s %s: no answer within %ld ms",
				     req->method, t->where, timeout_of(req));
	} else {
		t->x->rc = error_set(err, DEPLOY_ERR_UNREACHABLE, NULL, 0, 0,
				     "%s %s: %s", req->method, t->where,
				     t->cerr[0] ? t->cerr
						: curl_easy_strerror(cc));
	}
}

static void xfer_free(struct xfer *t, CURLM *multi)
{
	if (t->easy) {
		if (multi)
			curl_multi_remove_handle(multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->hdrs);
	t->easy = NULL;
	t->hdrs = NULL;
}

size_t http_do_many(struct http_exchange *v, size_t n, unsigned parallel)
{
	struct xfer *t = xcalloc(n + 1, sizeof(*t));
	struct pool *pool = pool_take();
	size_t next = 0, running = 0, failed = 0;

	if (!parallel || parallel > HTTP_MAX_PARALLEL)
		parallel = HTTP_MAX_PARALLEL;
	for (size_t i = 0; i < n; i++) {
		t[i].x = &v[i];
		v[i].rc = 0;
		error_init(&v[i].err);
	}
	if (!pool) {
		for (size_t i = 0; i < n; i++)
			v[i].rc = error_set(&v[i].err, DEPLOY_ERR_NOMEM, NULL,
					    0, 0, "cannot start requests");
		free(t);
		return n;
	}
	while (next < n || running) {
		struct CURLMsg *m;
		int still, left;
		size_t ended;

		/* Start what the limit lets in. */
		while (next < n && running < parallel) {
			struct xfer *x = &t[next++];

			if (xfer_start(x)) {
				v[x - t].rc = v[x - t].err.code;
				xfer_free(x, NULL);
				continue;
			}
			if (curl_multi_add_handle(pool->multi, x->easy)) {
				v[x - t].rc = error_set(
					&v[x - t].err, DEPLOY_ERR_NOMEM, NULL,
					0, 0, "%s %s: cannot start a request",
					x->x->req->method, x->where);
				xfer_free(x, NULL);
				continue;
			}
			running++;
		}
		if (!running)
			break;
		curl_multi_perform(pool->multi, &still);
		ended = 0;
		while ((m = curl_multi_info_read(pool->multi, &left))) {
			struct xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
					  (char **)&x);
			xfer_done(x, m->data.result);
			xfer_free(x, pool->multi);
			running--;
			ended++;
		}
		/* Every transfer has its own timeouts: curl ends it. */
		if (running && !ended)
			curl_multi_poll(pool->multi, NULL, 0, 1000, NULL);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].rc)
			failed++;
	free(t);
	pool_give_back(pool);
	return failed;
}

int http_do(const struct http_request *req, struct http_response *resp,
	    struct error *err)
{
	struct http_exchange x = { req, resp, 0, { 0 } };

	http_do_many(&x, 1, 1);
	if (x.rc)
		error_set(err, x.rc, NULL, 0, 0, "%s", x.err.msg);
	error_clear(&x.err);
	return x.rc;
}
