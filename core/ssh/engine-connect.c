/* SPDX-License-Identifier: MIT */
/* SSH engine: reaching a host, retries, handshake, host key check. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh/engine-internal.h"
#include "ssh/known_hosts.h"
#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* --- connecting ------------------------------------------------------------
 */

static uint64_t next_random(struct ssh_engine *e)
{
	/* xorshift64*: jitter only, nothing secret. */
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return e->rng * 2685821657736338717ull;
}

static uint64_t backoff_ms(struct ssh_host *h)
{
	uint64_t d = BACKOFF_BASE_MS;

	for (unsigned i = 1; i < h->attempt && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	/* Jitter: somewhere in the upper half. */
	return d / 2 + next_random(h->e) % (d / 2 + 1);
}

/*
 * An attempt to reach the host failed in a way worth trying again (refused,
 * reset, closed during the handshake): back off and retry while attempts
 * and the connect deadline allow, else fail the host as unreachable.
 */
void attempt_failed(struct ssh_host *h, const char *fmt, ...)
{
	char why[400], attempts[32] = "";
	va_list ap;
	uint64_t wait;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	session_drop(h);
	wait = backoff_ms(h);
	if (h->attempt < h->e->opts.max_attempts &&
	    engine_now(h->e) + wait < h->deadline) {
		h->state = HS_BACKOFF;
		uv_timer_start(&h->timer, timer_cb, wait, 0);
		return;
	}
	if (h->attempt > 1)
		snprintf(attempts, sizeof(attempts), " (%u attempts)",
			 h->attempt);
	host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
		  "host '%s' unreachable: %s%s", h->name, why, attempts);
}

/* Poll h's socket (once per socket); false when the host failed. */
static bool watch_socket(struct ssh_host *h)
{
	if (!h->poll)
		h->poll = poller_new(h, h->fd);
	if (!h->poll) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_IO,
			  "host '%s': cannot watch its socket", h->name);
		return false;
	}
	return true;
}

void session_start(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	char known[256];
	struct buf prefs = BUF_INIT;

	h->session = libssh2_session_init_ex(NULL, NULL, NULL, h);
	if (!h->session) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_NOMEM,
			  "host '%s': cannot start an SSH session", h->name);
		return;
	}
	libssh2_session_set_blocking(h->session, 0);
	/* Offer first the key types known_hosts has for this host, so that a
	 * known host shows a key we can check. */
	known_hosts_types(e->kh, h->address, h->port, known, sizeof(known));
	if (*known)
		buf_addf(&prefs, "%s,", known);
	buf_adds(&prefs, DEFAULT_HOSTKEY_ALGS);
	libssh2_session_method_pref(h->session, LIBSSH2_METHOD_HOSTKEY,
				    prefs.data);
	buf_free(&prefs);
	if (!watch_socket(h))
		return;
	h->state = HS_HANDSHAKE;
}

/*
 * A link that goes dead (a cable, a route, a host that froze) must not
 * hold a run until the command's timeout, which may be half an hour: TCP
 * keepalives start after half the connect timeout of silence, and the
 * kernel drops the connection once data or probes go unanswered for the
 * connect timeout (TCP_USER_TIMEOUT). The session then fails as lost.
 * Behind a bastion, the bastion's own connection carries this.
 */
static void tcp_watch_link(struct ssh_host *h)
{
	unsigned ms = h->e->opts.connect_timeout_ms;
	int on = 1, idle = (int)(ms / 2000), intvl, cnt = 3;

	if (idle < 1)
		idle = 1;
	intvl = idle / 2 > 0 ? idle / 2 : 1;
	setsockopt(h->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(h->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(h->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(h->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(h->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

static void tcp_connect(struct ssh_host *h)
{
	char where[INET6_ADDRSTRLEN + 16];
	int one = 1;

	h->fd = socket(h->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_IO,
			  "host '%s': cannot make a socket: %s", h->name,
			  strerror(errno));
		return;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tcp_watch_link(h);
	if (connect(h->fd, (struct sockaddr *)&h->addr, h->addr_len) &&
	    errno != EINPROGRESS) {
		snprintf(where, sizeof(where), "%s port %d", h->address,
			 h->port);
		if (errno == ECONNREFUSED)
			h->why = SSH_WHY_REFUSED;
		attempt_failed(h, "connect to %s: %s", where, strerror(errno));
		return;
	}
	if (!watch_socket(h))
		return;
	h->state = HS_CONNECT;
	host_drive(h);
}

void step_connect(struct ssh_host *h)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer), elen = sizeof(int);
	int soerr = 0;

	if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr, &elen))
		soerr = errno;
	if (soerr) {
		if (soerr == ECONNREFUSED)
			h->why = SSH_WHY_REFUSED;
		attempt_failed(h, "connect to %s port %d: %s", h->address,
			       h->port, strerror(soerr));
		return;
	}
	if (getpeername(h->fd, (struct sockaddr *)&peer, &len))
		return; /* still connecting */
	session_start(h);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct ssh_host *h = req->data;

	free(req);
	if (!h) { /* cancelled */
		uv_freeaddrinfo(res);
		return;
	}
	h->resolving = NULL;
	if (status || !res) {
		uv_freeaddrinfo(res);
		if (status == UV_EAI_NONAME || status == UV_EAI_NODATA)
			host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
				  "host '%s' unreachable: no address for "
				  "'%s'",
				  h->name, h->address);
		else
			attempt_failed(h, "cannot resolve '%s': %s", h->address,
				       uv_strerror(status));
		return;
	}
	memcpy(&h->addr, res->ai_addr, res->ai_addrlen);
	h->addr_len = res->ai_addrlen;
	uv_freeaddrinfo(res);
	tcp_connect(h);
}

/* A literal IP address needs no resolver. */
static bool literal_address(struct ssh_host *h)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&h->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&h->addr;

	memset(&h->addr, 0, sizeof(h->addr));
	if (inet_pton(AF_INET, h->address, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)h->port);
		h->addr_len = sizeof(*a4);
		return true;
	}
	if (inet_pton(AF_INET6, h->address, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)h->port);
		h->addr_len = sizeof(*a6);
		return true;
	}
	return false;
}

void begin_attempt(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct addrinfo hints;
	char port[16];

	if (h->via && h->via->state == HS_DONE) {
		host_fail_bastion(h, h->via);
		return;
	}
	if (h->via && h->via->state != HS_READY) {
		/* The connect deadline starts once the bastion is up. */
		timer_stop(h);
		h->state = HS_WAIT_VIA;
		return;
	}
	h->attempt++;
	h->why = SSH_WHY_NONE; /* this attempt's own */
	if (!h->started) {
		h->started = true;
		h->deadline = engine_now(e) + e->opts.connect_timeout_ms;
	}
	timer_at(h, h->deadline);
	if (h->via) {
		tunnel_request(h);
		return;
	}
	if (literal_address(h)) {
		tcp_connect(h);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", h->port);
	h->resolving = xcalloc(1, sizeof(*h->resolving));
	h->resolving->data = h;
	h->state = HS_RESOLVE;
	if (uv_getaddrinfo(&e->loop, h->resolving, resolved, h->address, port,
			   &hints)) {
		free(h->resolving);
		h->resolving = NULL;
		host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
			  "host '%s' unreachable: cannot resolve '%s'", h->name,
			  h->address);
	}
}

/* --- host keys -------------------------------------------------------------
 */

void kh_flush_now(struct ssh_engine *e)
{
	struct error err;

	if (!known_hosts_dirty(e->kh))
		return;
	error_init(&err);
	if (known_hosts_flush(e->kh, &err) && !e->kh_err.code) {
		e->kh_err.code = err.code;
		error_format(&err, e->kh_err.msg, sizeof(e->kh_err.msg));
	}
	error_clear(&err);
}

static void kh_timer_cb(uv_timer_t *timer)
{
	struct ssh_engine *e = timer->data;

	e->kh_timer_on = false;
	kh_flush_now(e);
}

/* New keys reach the file soon, in one write for all that came meanwhile. */
static void kh_schedule_flush(struct ssh_engine *e)
{
	if (e->kh_timer_on)
		return;
	e->kh_timer_on = true;
	uv_timer_start(&e->kh_timer, kh_timer_cb, KH_FLUSH_DELAY_MS, 0);
}

/* 0 when the host key is acceptable; the host has failed otherwise. */
static int check_host_key(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct kh_subject s = {
		.label = h->name,
		.host = h->address,
		.port = h->port,
		.pinned = h->pinned,
		.strict = e->opts.host_keys == SSH_HOST_KEYS_STRICT,
	};
	struct kh_verify v;
	struct error err;
	const char *blob;
	size_t len = 0;
	int ktype = 0, rc;

	error_init(&err);
	blob = libssh2_session_hostkey(h->session, &len, &ktype);
	rc = known_hosts_verify(e->kh, &s, blob, len, &v, &err);
	if (rc)
		host_fail(h, SSH_FAILED, rc, "%s", err.msg);
	else if (v.verdict == KH_VERDICT_ADDED)
		kh_schedule_flush(e);
	error_clear(&err);
	return rc ? -1 : 0;
}

void step_handshake(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	int rc = libssh2_session_handshake(h->session, h->fd);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return;
	if (rc) {
		attempt_failed(h, "SSH handshake with %s port %d failed: %s",
			       h->address, h->port, ssh_errmsg(h));
		return;
	}
	if (check_host_key(h))
		return;
	h->state = HS_AUTH_LIST;
	h->deadline = engine_now(e) + e->opts.auth_timeout_ms;
	timer_at(h, h->deadline);
}
