/* SPDX-License-Identifier: MIT */
/* The SSH engine: its life, the hosts' state machines, scheduling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "ssh/engine-internal.h"
#include "ssh/known_hosts.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

static void host_finished(struct ssh_host *h);

/* --- small helpers ---------------------------------------------------------
 */

void ssh_options_init(struct ssh_options *o)
{
	if (!o->parallel)
		o->parallel = SSH_DEFAULT_PARALLEL;
	if (!o->connect_timeout_ms)
		o->connect_timeout_ms = SSH_DEFAULT_CONNECT_TIMEOUT_MS;
	if (!o->auth_timeout_ms)
		o->auth_timeout_ms = SSH_DEFAULT_AUTH_TIMEOUT_MS;
	if (!o->command_timeout_ms)
		o->command_timeout_ms = SSH_DEFAULT_COMMAND_TIMEOUT_MS;
	if (!o->max_attempts)
		o->max_attempts = SSH_DEFAULT_ATTEMPTS;
	if (!o->capture_max)
		o->capture_max = SSH_DEFAULT_CAPTURE;
}

void ssh_shell_quote(struct buf *out, const char *s)
{
	buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(out, "'\\''");
		else
			buf_addch(out, *s);
	}
	buf_addch(out, '\'');
}

const char *ssh_host_name(const struct ssh_host *h)
{
	return h->name;
}

uint64_t engine_now(struct ssh_engine *e)
{
	return uv_now(&e->loop);
}

/* Seconds for messages: "10 s", "2.5 s". */
void fmt_secs(char *out, size_t size, uint64_t ms)
{
	if (ms % 1000)
		snprintf(out, size, "%.1f s", (double)ms / 1000);
	else
		snprintf(out, size, "%llu s", (unsigned long long)(ms / 1000));
}

/* libssh2's own text for the last error of h's session. */
const char *ssh_errmsg(struct ssh_host *h)
{
	char *msg = NULL;

	if (!h->session)
		return "no session";
	libssh2_session_last_error(h->session, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}

int last_errno(struct ssh_host *h)
{
	return h->session ? libssh2_session_last_errno(h->session) : 0;
}

/* Errors after which the session cannot be used any more. */
bool session_dead(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_BAD_USE:
		return true;
	}
	return false;
}

/* --- pollers ---------------------------------------------------------------
 */

static void poll_cb(uv_poll_t *handle, int status, int events)
{
	struct poller *p = handle->data;

	(void)status;
	(void)events;
	/* On an error the next libssh2 or socket call reports it. */
	if (p->host)
		host_drive(p->host);
}

struct poller *poller_new(struct ssh_host *h, int fd)
{
	struct poller *p = xcalloc(1, sizeof(*p));

	if (uv_poll_init(&h->e->loop, &p->handle, fd)) {
		free(p);
		return NULL;
	}
	p->handle.data = p;
	p->host = h;
	return p;
}

static void poller_want(struct poller *p, int events)
{
	if (!p || p->events == events)
		return;
	p->events = events;
	if (events)
		uv_poll_start(&p->handle, events, poll_cb);
	else
		uv_poll_stop(&p->handle);
}

static void poller_closed(uv_handle_t *handle)
{
	free(handle->data);
}

/* Stop watching; the fd may be closed right after this returns. */
void poller_close(struct poller **pp)
{
	struct poller *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	p->host = NULL;
	uv_close((uv_handle_t *)&p->handle, poller_closed);
}

/* --- session teardown ------------------------------------------------------
 */

void timer_stop(struct ssh_host *h)
{
	uv_timer_stop(&h->timer);
}

void timer_at(struct ssh_host *h, uint64_t when)
{
	uint64_t now = engine_now(h->e);

	uv_timer_start(&h->timer, timer_cb, when > now ? when - now : 0, 0);
}

/*
 * Drop the session, the socket and whatever the current attempt holds,
 * without waiting for the far end: shutting the socket down first makes
 * libssh2's last sends fail at once instead of blocking.
 */
void session_drop(struct ssh_host *h)
{
	if (h->resolving) {
		uv_cancel((uv_req_t *)h->resolving);
		h->resolving->data = NULL; /* the callback frees it */
		h->resolving = NULL;
	}
	if (h->fd >= 0)
		shutdown(h->fd, SHUT_RDWR);
	agent_drop(h);
	if (h->session) {
		for (int i = 0; i < 8; i++)
			if (libssh2_session_free(h->session) !=
			    LIBSSH2_ERROR_EAGAIN)
				break;
		h->session = NULL;
	}
	poller_close(&h->poll);
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	h->opening = NULL;
	h->blocked = NULL;
	if (h->tunnel) {
		struct ssh_host *b = h->tunnel->bastion;

		tunnel_let_go(h);
		host_drive(b);
	}
}

const char *ssh_why_name(enum ssh_why why)
{
	switch (why) {
	case SSH_WHY_NONE:
		return "yes";
	case SSH_WHY_REFUSED:
		return "refused";
	case SSH_WHY_TIMEOUT:
		return "timeout";
	case SSH_WHY_HOST_KEY:
		return "host-key";
	case SSH_WHY_AUTH:
		return "auth";
	case SSH_WHY_BASTION:
		return "bastion-down";
	case SSH_WHY_LOST:
		return "lost";
	case SSH_WHY_OTHER:
		break;
	}
	return "unreachable";
}

/* h cannot be reached because its bastion b failed: name the first
 * bastion on the way that is down. */
void host_fail_bastion(struct ssh_host *h, struct ssh_host *b)
{
	h->why = SSH_WHY_BASTION;
	h->why_host = b->why == SSH_WHY_BASTION && b->why_host ? b->why_host
							       : b->name;
	host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
		  "host '%s' unreachable: its bastion failed: %s", h->name,
		  b->failed ? b->err.msg : "its session is closed");
}

/*
 * The bastion's failure reaches the hosts behind it: those waiting for it,
 * and those whose sessions went through it (their tunnels are gone with
 * it), mid-command too. A host saying goodbye is left to close.
 */
static void fail_dependents(struct ssh_host *b)
{
	struct ssh_engine *e = b->e;

	/* Closing our ends makes the sessions through them see EOF. */
	while (b->tunnels)
		tunnel_destroy(b->tunnels);
	for (size_t i = 0; i < e->nr_hosts; i++) {
		struct ssh_host *h = e->hosts[i];

		if (h->via != b || h->state == HS_IDLE ||
		    h->state == HS_CLOSING || h->state == HS_DONE)
			continue;
		host_fail_bastion(h, b);
	}
}

/* What a failure's code says of why the host does not answer: a command
 * that timed out on it ran there, so the host answered. */
static enum ssh_why why_of(enum ssh_status status, int code)
{
	if (code == DEPLOY_ERR_HOST_KEY)
		return SSH_WHY_HOST_KEY;
	if (code == DEPLOY_ERR_AUTH)
		return SSH_WHY_AUTH;
	if (code == DEPLOY_ERR_TIMEOUT)
		return status == SSH_UNREACHABLE ? SSH_WHY_TIMEOUT
						 : SSH_WHY_NONE;
	return SSH_WHY_OTHER;
}

/*
 * The host failed for good: report every command, drop the session, and
 * take the hosts behind it down too.
 */
void host_fail(struct ssh_host *h, enum ssh_status status, int code,
	       const char *fmt, ...)
{
	va_list ap;

	if (h->state == HS_DONE)
		return;
	h->failed = true;
	h->fail_status = status;
	h->err.code = code;
	if (h->why == SSH_WHY_NONE)
		h->why = why_of(status, code);
	va_start(ap, fmt);
	vsnprintf(h->err.msg, sizeof(h->err.msg), fmt, ap);
	va_end(ap);
	session_drop(h);
	timer_stop(h);
	h->state = HS_DONE;
	fail_jobs(h);
	fail_dependents(h);
	host_finished(h);
}

/* --- channel users ---------------------------------------------------------
 */

/* Note a call that would block; a half-sent packet makes `user` go first. */
bool wait_io(struct ssh_host *h, void *user)
{
	if (libssh2_session_block_directions(h->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND)
		h->blocked = user;
	else if (h->blocked == user)
		h->blocked = NULL;
	h->want_in = true;
	return false;
}

void unblock(struct ssh_host *h, void *user)
{
	if (h->blocked == user)
		h->blocked = NULL;
}

/* --- the ready session -----------------------------------------------------
 */

static bool idle(const struct ssh_host *h)
{
	return !h->cur && !h->jobs && !h->dependents && !h->tunnels && !h->held;
}

static bool step_user(struct ssh_host *h, void *user)
{
	if (user == h->cur)
		return job_step(h);
	return tunnel_step(h, user);
}

static void step_ready(struct ssh_host *h)
{
	bool progress;

	h->want_in = false;
	if (h->blocked) {
		step_user(h, h->blocked);
		if (h->state != HS_READY || h->blocked)
			return;
	}
	do {
		struct tunnel *t, *next;

		progress = false;
		if (!h->cur && h->jobs) {
			job_begin(h);
			progress = true;
		}
		if (h->cur) {
			progress |= job_step(h);
			if (h->state != HS_READY || h->blocked)
				return;
		}
		for (t = h->tunnels; t; t = next) {
			next = t->next;
			progress |= tunnel_step(h, t);
			if (h->state != HS_READY || h->blocked)
				return;
		}
	} while (progress);
	if (idle(h)) {
		h->state = HS_CLOSING;
		timer_at(h, engine_now(h->e) + CLOSE_TIMEOUT_MS);
	}
}

static void step_closing(struct ssh_host *h)
{
	int rc = libssh2_session_disconnect(h->session, "done");

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return;
	session_drop(h);
	timer_stop(h);
	h->state = HS_DONE;
	host_finished(h);
}

/* --- driving ---------------------------------------------------------------
 */

/* Run h's state machine until it waits for something. */
static void host_step(struct ssh_host *h)
{
	for (;;) {
		enum host_state before = h->state;

		switch (h->state) {
		case HS_CONNECT:
			step_connect(h);
			break;
		case HS_HANDSHAKE:
			step_handshake(h);
			break;
		case HS_AUTH_LIST:
			step_auth_list(h);
			break;
		case HS_AUTH_AGENT:
			step_auth_agent(h);
			break;
		case HS_AUTH_KEY:
			step_auth_key(h);
			break;
		case HS_READY:
			step_ready(h);
			break;
		case HS_CLOSING:
			step_closing(h);
			break;
		default:
			return; /* waits for a timer, a resolver, a bastion */
		}
		if (h->state == before)
			return;
	}
}

static void host_update_poll(struct ssh_host *h)
{
	int ev = 0, dirs;

	for (struct tunnel *t = h->tunnels; t; t = t->next)
		poller_want(t->poll, tunnel_events(t));
	if (!h->poll)
		return;
	if (h->state == HS_CONNECT) {
		poller_want(h->poll, UV_WRITABLE);
		return;
	}
	if (!h->session) {
		poller_want(h->poll, 0);
		return;
	}
	dirs = libssh2_session_block_directions(h->session);
	if (h->state == HS_READY) {
		/* Read when someone takes the data; write to finish a
		 * half-sent packet. */
		if (h->want_in)
			ev |= UV_READABLE;
		if (h->blocked && (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND))
			ev |= UV_WRITABLE;
	} else {
		if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)
			ev |= UV_READABLE;
		if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			ev |= UV_WRITABLE;
		if (!ev)
			ev = UV_READABLE;
	}
	poller_want(h->poll, ev);
}

void host_drive(struct ssh_host *h)
{
	if (h->e->closing)
		return;
	if (h->driving) {
		h->redrive = true;
		return;
	}
	h->driving = true;
	do {
		h->redrive = false;
		host_step(h);
	} while (h->redrive && h->state != HS_DONE);
	h->driving = false;
	host_update_poll(h);
}

void timer_cb(uv_timer_t *timer)
{
	struct ssh_host *h = timer->data;
	struct ssh_engine *e = h->e;
	char secs[32];

	fmt_secs(secs, sizeof(secs), e->opts.connect_timeout_ms);
	switch (h->state) {
	case HS_BACKOFF:
		begin_attempt(h);
		break;
	case HS_RESOLVE:
		host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_TIMEOUT,
			  "host '%s' unreachable: resolving '%s' took more "
			  "than %s",
			  h->name, h->address, secs);
		break;
	case HS_CONNECT:
		host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_TIMEOUT,
			  "host '%s' unreachable: connect to %s port %d timed "
			  "out after %s",
			  h->name, h->address, h->port, secs);
		break;
	case HS_TUNNEL:
		host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_TIMEOUT,
			  "host '%s' unreachable: bastion '%s' did not reach "
			  "%s port %d within %s",
			  h->name, h->via->name, h->address, h->port, secs);
		break;
	case HS_HANDSHAKE:
		host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_TIMEOUT,
			  "host '%s' unreachable: %s port %d took the "
			  "connection but the SSH handshake did not finish "
			  "within %s",
			  h->name, h->address, h->port, secs);
		break;
	case HS_AUTH_LIST:
	case HS_AUTH_AGENT:
	case HS_AUTH_KEY:
		fmt_secs(secs, sizeof(secs), e->opts.auth_timeout_ms);
		host_fail(h, SSH_FAILED, DEPLOY_ERR_TIMEOUT,
			  "host '%s': authentication did not finish within %s",
			  h->name, secs);
		break;
	case HS_READY:
		if (!h->cur)
			break;
		fmt_secs(secs, sizeof(secs), e->opts.command_timeout_ms);
		if (h->cur->kill) {
			host_fail(h, SSH_FAILED, DEPLOY_ERR_TIMEOUT,
				  "host '%s': the processes of a command that "
				  "timed out could not be killed in time",
				  h->name);
			break;
		}
		{
			char why[sizeof(h->err.msg)];

			if (h->cur->idle_ms && h->cur->state <= JS_WRITE) {
				fmt_secs(secs, sizeof(secs), h->cur->idle_ms);
				snprintf(why, sizeof(why),
					 "host '%s': the transfer stalled: "
					 "nothing went out for %s (%llu of "
					 "%llu bytes sent)",
					 h->name, secs,
					 (unsigned long long)h->cur->sent,
					 (unsigned long long)h->cur->in_total);
			} else {
				snprintf(why, sizeof(why),
					 "host '%s': command timed out after "
					 "%s",
					 h->name, secs);
			}
			/* Its processes go first; then the host fails. */
			if (!job_kill_hung(h, why))
				host_fail(h, SSH_FAILED, DEPLOY_ERR_TIMEOUT,
					  "%s", why);
		}
		break;
	case HS_CLOSING:
		session_drop(h);
		h->state = HS_DONE;
		host_finished(h);
		break;
	default:
		break;
	}
}

/* --- scheduling ------------------------------------------------------------
 */

/* h has work, or hosts behind it have: so do the bastions before it. */
void host_need(struct ssh_host *h)
{
	if (h->needed)
		return;
	h->needed = true;
	if (h->via) {
		h->via->dependents++;
		host_need(h->via);
	}
}

static void host_start(struct ssh_host *h)
{
	if (h->state != HS_IDLE)
		return;
	if (h->via && h->via->state == HS_IDLE)
		host_start(h->via);
	if (h->via && h->via->state != HS_READY && h->via->state != HS_DONE) {
		h->state = HS_WAIT_VIA;
		return;
	}
	begin_attempt(h);
}

/*
 * A host gives its --parallel slot back once its commands are done, even
 * when it stays up as a bastion for hosts that still wait for a slot.
 */
void release_slot(struct ssh_host *h)
{
	if (!h->counted || h->cur || h->jobs || h->held)
		return;
	h->counted = false;
	h->e->active--;
	start_more(h->e);
}

static void host_finished(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct ssh_host *via = h->via;

	if (h->log_fd >= 0) {
		close(h->log_fd);
		h->log_fd = -1;
	}
	if (h->counted) {
		h->counted = false;
		e->active--;
	}
	if (via && h->needed) {
		h->needed = false;
		via->dependents--;
		if (via->state == HS_READY)
			host_drive(via);
	}
	start_more(e);
}

void start_more(struct ssh_engine *e)
{
	while (e->running && e->active < e->opts.parallel &&
	       e->next_start < e->nr_queue) {
		struct ssh_host *h = e->run_queue[e->next_start++];

		/* Done already: it ran or failed as a bastion first. */
		if (h->state == HS_DONE || (!h->cur && !h->jobs))
			continue;
		h->counted = true;
		e->active++;
		if (h->state == HS_IDLE)
			host_start(h);
		else if (h->state == HS_READY)
			host_drive(h);
	}
}

/* --- the engine ------------------------------------------------------------
 */

int ssh_engine_new(const struct ssh_options *opts, struct ssh_engine **out,
		   struct error *err)
{
	struct ssh_engine *e = xcalloc(1, sizeof(*e));
	const char *sock = getenv("SSH_AUTH_SOCK");
	struct buf path = BUF_INIT;
	int rc = 0;

	*out = NULL;
	e->opts = *opts;
	ssh_options_init(&e->opts);
	if (uv_loop_init(&e->loop)) {
		free(e);
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "cannot start the event loop");
	}
	uv_timer_init(&e->loop, &e->kh_timer);
	e->kh_timer.data = e;
	if (libssh2_init(0)) {
		rc = error_set(err, DEPLOY_ERR_SSH, NULL, 0, 0,
			       "cannot initialize libssh2");
		goto out;
	}
	if (opts->known_hosts)
		buf_adds(&path, opts->known_hosts);
	else
		buf_addf(&path, "%s/.ssh/known_hosts", home_dir());
	e->known_hosts_path = buf_release(&path);
	rc = known_hosts_load(e->known_hosts_path, &e->kh, err);
	if (rc)
		goto out;
	if (opts->log_dir)
		e->log_dir = xstrdup(opts->log_dir);
	e->opts.fallback_key = NULL;
	if (opts->fallback_key)
		e->fallback_key = xstrdup(opts->fallback_key);
	e->opts.fallback_key = e->fallback_key;
	e->opts.known_hosts = NULL;
	e->opts.log_dir = NULL;
	if (opts->passphrase)
		e->passphrase = xstrdup(opts->passphrase);
	e->opts.passphrase = NULL;
	if (sock && *sock)
		e->agent_sock = xstrdup(sock);
	e->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		 (uint64_t)(uintptr_t)e;
	if (!e->rng)
		e->rng = 1;
out:
	if (rc) {
		ssh_engine_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

int ssh_engine_add_host(struct ssh_engine *e, const struct ssh_target *t,
			struct ssh_host **out, struct error *err)
{
	struct ssh_host *h;

	if (!t->name || !t->address || !t->user || t->port <= 0 ||
	    t->port > 65535 || (t->via && t->via->e != e))
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "host '%s': incomplete SSH target",
				 t->name ? t->name : "?");
	h = xcalloc(1, sizeof(*h));
	h->e = e;
	h->name = xstrdup(t->name);
	h->address = xstrdup(t->address);
	h->user = xstrdup(t->user);
	h->port = t->port;
	h->via = t->via;
	h->pinned = t->pinned_key ? xstrdup(t->pinned_key) : NULL;
	h->fd = -1;
	h->log_fd = -1;
	h->jobs_tail = &h->jobs;
	buf_init(&h->tried, 2048);
	host_keys(e, h, t->key);
	uv_timer_init(&e->loop, &h->timer);
	h->timer.data = h;
	XGROW(e->hosts, e->alloc_hosts, e->nr_hosts + 1);
	e->hosts[e->nr_hosts++] = h;
	*out = h;
	return 0;
}

int ssh_engine_run(struct ssh_engine *e, struct error *err)
{
	log_dir_make(e);
	keys_prepare(e);
	uv_update_time(&e->loop);
	e->running = true;
	start_more(e);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	e->running = false;
	uv_timer_stop(&e->kh_timer);
	e->kh_timer_on = false;
	kh_flush_now(e);
	if (e->kh_err.code)
		return error_set(err, e->kh_err.code, NULL, 0, 0,
				 "new host keys were not saved: %s",
				 e->kh_err.msg);
	return 0;
}

static void host_free(struct ssh_host *h)
{
	struct job *j;

	session_drop(h);
	while (h->tunnels)
		tunnel_destroy(h->tunnels);
	while ((j = h->jobs) != NULL) {
		h->jobs = j->next;
		job_free(j);
	}
	if (h->cur)
		job_free(h->cur);
	if (h->log_fd >= 0)
		close(h->log_fd);
	buf_free(&h->tried);
	free(h->keys);
	free(h->pinned);
	free(h->name);
	free(h->address);
	free(h->user);
}

void ssh_engine_free(struct ssh_engine *e)
{
	if (!e)
		return;
	e->closing = true;
	http_client_free(e->http);
	for (size_t i = 0; i < e->nr_hosts; i++) {
		host_free(e->hosts[i]);
		uv_close((uv_handle_t *)&e->hosts[i]->timer, NULL);
	}
	uv_close((uv_handle_t *)&e->kh_timer, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	uv_loop_close(&e->loop);
	for (size_t i = 0; i < e->nr_hosts; i++)
		free(e->hosts[i]);
	free(e->hosts);
	free(e->run_queue);
	for (size_t i = 0; i < e->nr_keys; i++) {
		if (e->keys[i].passphrase)
			freezero(e->keys[i].passphrase,
				 strlen(e->keys[i].passphrase));
		free(e->keys[i].path);
	}
	free(e->keys);
	if (e->passphrase)
		freezero(e->passphrase, strlen(e->passphrase));
	known_hosts_free(e->kh);
	free(e->known_hosts_path);
	free(e->log_dir);
	free(e->fallback_key);
	free(e->agent_sock);
	redact_set_free(&e->secrets);
	libssh2_exit();
	free(e);
}

void ssh_host_hold(struct ssh_host *h, bool hold)
{
	if (h->held == hold)
		return;
	h->held = hold;
	if (hold || h->e->closing)
		return;
	/* Idle now: its session closes, its slot goes to the next host. */
	if (h->state == HS_READY)
		host_drive(h);
	release_slot(h);
}

struct http_client *ssh_engine_http(struct ssh_engine *e)
{
	if (!e->http)
		e->http = http_client_new(&e->loop);
	return e->http;
}

unsigned ssh_fit_open_files(unsigned want, unsigned extra)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)(want + extra) * SSH_FDS_PER_HOST + 64;
	rlim_t fit;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return want;
	if (rl.rlim_cur < need) {
		rlim_t cur = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || need < rl.rlim_max
				      ? need
				      : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			rl.rlim_cur = cur;
	}
	if (rl.rlim_cur >= need)
		return want;
	fit = rl.rlim_cur > 64 ? (rl.rlim_cur - 64) / SSH_FDS_PER_HOST : 0;
	fit = fit > extra ? fit - extra : 1;
	return fit < 1 ? 1 : (unsigned)(fit < want ? fit : want);
}
