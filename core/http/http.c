/* SPDX-License-Identifier: MIT */
/* HTTP exchanges on private loops, and what answers and URLs need. */
#include "http/http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "util/strutil.h"
#include "util/xalloc.h"

static pthread_once_t pools_once = PTHREAD_ONCE_INIT;

/*
 * Idle clients on private loops, each holding its kept-alive connections.
 * A call of http_do_many() takes one (or makes one), runs its exchanges on
 * it and gives it back: calls one after another reuse the same
 * connections, and calls from threads at the same time each have their
 * own. Freed at exit.
 */
struct pool {
	uv_loop_t loop;
	struct http_client *client;
	struct pool *next;
};

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool *idle_pools;

static void pool_free(struct pool *p)
{
	/* The client's handles close on its loop. */
	http_client_free(p->client);
	uv_run(&p->loop, UV_RUN_DEFAULT);
	uv_loop_close(&p->loop);
	free(p);
}

static void pools_free(void)
{
	pthread_mutex_lock(&pools_lock);
	while (idle_pools) {
		struct pool *p = idle_pools;

		idle_pools = p->next;
		pool_free(p);
	}
	pthread_mutex_unlock(&pools_lock);
}

static void pools_init(void)
{
	atexit(pools_free);
}

static struct pool *pool_take(void)
{
	struct pool *p;

	pthread_once(&pools_once, pools_init);
	pthread_mutex_lock(&pools_lock);
	p = idle_pools;
	if (p)
		idle_pools = p->next;
	pthread_mutex_unlock(&pools_lock);
	if (p)
		return p;
	p = xcalloc(1, sizeof(*p));
	if (uv_loop_init(&p->loop)) {
		free(p);
		return NULL;
	}
	p->client = http_client_new(&p->loop);
	if (!p->client) {
		uv_loop_close(&p->loop);
		free(p);
		return NULL;
	}
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

static void batch_done(void *data)
{
	*(bool *)data = true;
}

size_t http_do_many(struct http_exchange *v, size_t n, unsigned parallel)
{
	struct pool *pool = pool_take();
	size_t failed = 0;
	bool done = false;

	if (!pool) {
		for (size_t i = 0; i < n; i++) {
			error_init(&v[i].err);
			v[i].rc = error_set(&v[i].err, DEPLOY_ERR_NOMEM, NULL,
					    0, 0, "cannot start requests");
		}
		return n;
	}
	http_client_start(pool->client, v, n, parallel, batch_done, &done);
	/* Every transfer has its own timeouts: curl ends it. */
	while (!done)
		uv_run(&pool->loop, UV_RUN_ONCE);
	for (size_t i = 0; i < n; i++)
		if (v[i].rc)
			failed++;
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
