/* SPDX-License-Identifier: MIT */
/* curl multi on a libuv loop: the transfers of every core/http exchange. */
#include "http/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "util/xalloc.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
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

/* One exchange under way. */
struct xfer {
	struct http_batch *batch;
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

/* --- the client: curl's socket interface on uv_poll_t and uv_timer_t ------
 */

/* A socket curl asked us to watch. */
struct watch {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_client *c;
	struct watch *next, *prev;
};

/* The exchanges of one http_client_start(). */
struct http_batch {
	struct http_client *c;
	struct http_exchange *v;
	struct xfer *t;
	size_t n, next, running;
	unsigned parallel;
	http_batch_done_fn *done;
	void *data;
	struct http_batch *link;
};

struct http_client {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;      /* curl's timeouts */
	uv_timer_t later;      /* batches that ended without a transfer */
	uv_timer_t stop_check; /* the requests' stop flags */
	struct watch *watches;
	struct http_batch *batches;
	unsigned open; /* handles not closed yet */
	bool freeing;
};

static void client_closed(uv_handle_t *h)
{
	struct http_client *c = h->data;

	if (--c->open == 0 && c->freeing)
		free(c);
}

static void watch_closed(uv_handle_t *h)
{
	struct watch *w = h->data;
	struct http_client *c = w->c;

	free(w);
	if (--c->open == 0 && c->freeing)
		free(c);
}

static void watch_close(struct watch *w)
{
	struct http_client *c = w->c;

	if (w->prev)
		w->prev->next = w->next;
	else
		c->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	uv_poll_stop(&w->poll);
	uv_close((uv_handle_t *)&w->poll, watch_closed);
}

static void handle_ref(uv_handle_t *h, bool ref)
{
	if (ref)
		uv_ref(h);
	else
		uv_unref(h);
}

static void on_stop_check(uv_timer_t *t);

/* Only a client with exchanges under way keeps its loop running (not a
 * socket curl watches between them, should it watch one), and looks at
 * their stop flags. */
static void client_ref(struct http_client *c)
{
	bool ref = c->batches != NULL;

	if (ref && !uv_is_active((uv_handle_t *)&c->stop_check))
		uv_timer_start(&c->stop_check, on_stop_check,
			       HTTP_STOP_CHECK_MS, HTTP_STOP_CHECK_MS);
	else if (!ref)
		uv_timer_stop(&c->stop_check);
	handle_ref((uv_handle_t *)&c->timer, ref);
	handle_ref((uv_handle_t *)&c->later, ref);
	for (struct watch *w = c->watches; w; w = w->next)
		handle_ref((uv_handle_t *)&w->poll, ref);
}

static bool stopped(const struct xfer *x)
{
	const volatile int *stop = x->x->req->stop;

	return stop && *stop;
}

static void xfer_interrupted(struct xfer *x, const char *what)
{
	const struct http_request *req = x->x->req;

	if (!x->where[0])
		http_url_for_humans(req->url, x->where, sizeof(x->where));
	x->x->rc = error_set(&x->x->err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
			     "%s %s: %s", req->method, x->where, what);
}

/* Start what the batch's limit lets in (what is stopped, never). */
static void batch_pump(struct http_batch *b)
{
	while (b->next < b->n && b->running < b->parallel) {
		struct xfer *x = &b->t[b->next++];

		if (stopped(x)) {
			xfer_interrupted(x, "interrupted before it was sent");
			continue;
		}
		if (xfer_start(x)) {
			x->x->rc = x->x->err.code;
			xfer_free(x, NULL);
			continue;
		}
		if (curl_multi_add_handle(b->c->multi, x->easy)) {
			x->x->rc =
				error_set(&x->x->err, DEPLOY_ERR_NOMEM, NULL, 0,
					  0, "%s %s: cannot start a request",
					  x->x->req->method, x->where);
			xfer_free(x, NULL);
			continue;
		}
		b->running++;
	}
}

static bool batch_over(const struct http_batch *b)
{
	return b->next == b->n && !b->running;
}

/* Hand over the batches that are over, each once. */
static void reap(struct http_client *c)
{
	struct http_batch **pp = &c->batches;

	while (*pp) {
		struct http_batch *b = *pp;

		if (!batch_over(b)) {
			pp = &b->link;
			continue;
		}
		*pp = b->link;
		client_ref(c);
		free(b->t);
		b->done(b->data);
		free(b);
		pp = &c->batches; /* done() may have started more */
	}
}

/* The transfers curl has finished, not handed over yet. */
static void read_done(struct http_client *c)
{
	struct CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&x);
		xfer_done(x, m->data.result);
		xfer_free(x, c->multi);
		x->batch->running--;
		batch_pump(x->batch);
	}
}

static void check_done(struct http_client *c)
{
	read_done(c);
	reap(c);
}

/* The exchanges whose stop flag is set end now, their transfers cut
 * (curl calls nothing back for them any more). */
static void on_stop_check(uv_timer_t *t)
{
	struct http_client *c = t->data;

	read_done(c);
	for (struct http_batch *b = c->batches; b; b = b->link) {
		for (size_t i = 0; i < b->next; i++) {
			struct xfer *x = &b->t[i];

			if (!x->easy || !stopped(x))
				continue;
			xfer_free(x, c->multi);
			xfer_interrupted(x, "interrupted");
			b->running--;
		}
		batch_pump(b);
	}
	reap(c);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct watch *w = p->data;
	struct http_client *c = w->c;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, w->fd, flags, &running);
	check_done(c);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
		     void *sockp)
{
	struct http_client *c = ud;
	struct watch *w = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			watch_close(w);
			if (!c->freeing)
				curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!w) {
		w = xcalloc(1, sizeof(*w));
		if (uv_poll_init_socket(c->loop, &w->poll, fd)) {
			free(w);
			return -1;
		}
		w->poll.data = w;
		w->fd = fd;
		w->c = c;
		w->next = c->watches;
		if (w->next)
			w->next->prev = w;
		c->watches = w;
		c->open++;
		handle_ref((uv_handle_t *)&w->poll, c->batches != NULL);
		curl_multi_assign(c->multi, fd, w);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&w->poll, events, on_poll);
	return 0;
}

static void on_timeout(uv_timer_t *t)
{
	struct http_client *c = t->data;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int on_timer(CURLM *multi, long ms, void *ud)
{
	struct http_client *c = ud;

	(void)multi;
	if (ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0);
	return 0;
}

static void on_later(uv_timer_t *t)
{
	reap(t->data);
}

struct http_client *http_client_new(uv_loop_t *loop)
{
	struct http_client *c;

	pthread_once(&curl_once, curl_init_once);
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return NULL;
	}
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->later);
	uv_timer_init(loop, &c->stop_check);
	c->timer.data = c->later.data = c->stop_check.data = c;
	c->open = 3;
	client_ref(c);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* At most HTTP_MAX_PARALLEL connections to one endpoint, and as
	 * many kept for the next exchanges. */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)HTTP_MAX_PARALLEL);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
			  (long)HTTP_MAX_PARALLEL * 4);
	return c;
}

void http_client_start(struct http_client *c, struct http_exchange *v, size_t n,
		       unsigned parallel, http_batch_done_fn *done, void *data)
{
	struct http_batch *b = xcalloc(1, sizeof(*b));

	b->c = c;
	b->v = v;
	b->n = n;
	b->t = xcalloc(n + 1, sizeof(*b->t));
	b->parallel = !parallel || parallel > HTTP_MAX_PARALLEL
			      ? HTTP_MAX_PARALLEL
			      : parallel;
	b->done = done;
	b->data = data;
	for (size_t i = 0; i < n; i++) {
		b->t[i].x = &v[i];
		b->t[i].batch = b;
		v[i].rc = 0;
		error_init(&v[i].err);
	}
	b->link = c->batches;
	c->batches = b;
	client_ref(c);
	batch_pump(b);
	/* Never done() from here: from the loop, as for any other end. */
	if (batch_over(b))
		uv_timer_start(&c->later, on_later, 0, 0);
}

bool http_client_busy(const struct http_client *c)
{
	return c && c->batches;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	c->freeing = true;
	while (c->batches) {
		struct http_batch *b = c->batches;

		c->batches = b->link;
		for (size_t i = 0; i < b->n; i++) {
			struct xfer *x = &b->t[i];
			const char *method = x->x->req->method;

			if (x->easy) {
				xfer_free(x, c->multi);
				x->x->rc = error_set(
					&x->x->err, DEPLOY_ERR_INTERRUPTED,
					NULL, 0, 0, "%s %s: not finished",
					method, x->where);
			} else if (i >= b->next) {
				x->x->rc = error_set(
					&x->x->err, DEPLOY_ERR_INTERRUPTED,
					NULL, 0, 0, "%s: not started", method);
			}
		}
		free(b->t);
		free(b);
	}
	curl_multi_cleanup(c->multi);
	while (c->watches)
		watch_close(c->watches);
	uv_timer_stop(&c->timer);
	uv_timer_stop(&c->later);
	uv_timer_stop(&c->stop_check);
	uv_close((uv_handle_t *)&c->timer, client_closed);
	uv_close((uv_handle_t *)&c->later, client_closed);
	uv_close((uv_handle_t *)&c->stop_check, client_closed);
}
