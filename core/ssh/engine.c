/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <uv.h>

#include "ssh/engine.h"
#include "ssh/keyfile.h"
#include "ssh/known_hosts.h"
#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * How it fits together
 *
 * Every host is a state machine (enum host_state) advanced by host_drive(),
 * which runs when one of the host's file descriptors is ready (a poller), a
 * timer fires, or another host changed something it waits for. Each step
 * calls libssh2 until it returns LIBSSH2_ERROR_EAGAIN, then the host polls
 * its socket in the directions libssh2_session_block_directions() names.
 *
 * Once a session is up (HS_READY), its channels are "channel users": the
 * command running (struct job) and the tunnels it carries for hosts behind
 * it (struct tunnel). libssh2 allows one packet half-sent per session, and
 * one channel being opened at a time, so a user whose call would block on
 * a half-sent packet becomes h->blocked and is resumed before any other
 * user; h->opening serializes channel opens.
 *
 * A host's one timer (h->timer) holds the deadline of the phase it is in:
 * connect (all attempts), backoff, authentication, the running command, or
 * the goodbye. Hosts are freed only with the engine, so pointers between
 * them stay valid for the whole run.
 */

#define TUNNEL_BUF	  (16u << 10)
#define READ_CHUNK	  (16u << 10)
#define ERR_HEAD	  256
#define BACKOFF_BASE_MS	  250
#define BACKOFF_MAX_MS	  4000
#define CLOSE_TIMEOUT_MS  2000
#define KH_FLUSH_DELAY_MS 200
#define MAX_PASSPHRASE	  1024
#define DEFAULT_HOSTKEY_ALGS                                                       \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"ssh-rsa"

enum host_state {
	HS_IDLE,      /* not started */
	HS_WAIT_VIA,  /* waiting for the bastion's session */
	HS_RESOLVE,   /* getaddrinfo */
	HS_CONNECT,   /* TCP connect in progress */
	HS_TUNNEL,    /* the bastion opens a channel to us */
	HS_HANDSHAKE, /* SSH handshake, then the host key check */
	HS_AUTH_LIST, /* which methods the server takes */
	HS_AUTH_AGENT,
	HS_AUTH_KEY,
	HS_READY,   /* channels: commands, tunnels */
	HS_BACKOFF, /* waiting to try again */
	HS_CLOSING, /* saying goodbye */
	HS_DONE,    /* no session, for good */
};

enum job_state {
	JS_OPEN,
	JS_EXEC,
	JS_WRITE, /* the command's input, then EOF */
	JS_READ,
	JS_CLOSE,
	JS_FREE,
};

enum tunnel_state {
	TS_WAIT,    /* for the bastion's channel open slot */
	TS_OPENING, /* direct-tcpip open in flight */
	TS_OPEN,    /* pumping */
	TS_CLOSING, /* channel being freed */
};

struct ssh_engine;

struct poller {
	uv_poll_t handle;
	struct ssh_host *host; /* driven on events; NULL once closing */
	int events;
};

/* The end of a stream: a ring of at most `max` bytes. */
struct tail {
	char *data;
	size_t max;
	size_t alloc;
	size_t start;
	size_t len;
	uint64_t total;
};

struct job {
	struct job *next;
	char *command; /* as given, for the log */
	char *wire;    /* as sent */
	char *input;   /* for its stdin; may hold secrets: wiped */
	size_t input_len;
	size_t input_off;
	bool sudo;
	const struct ssh_exec_ops *ops;
	void *data;
	enum job_state state;
	LIBSSH2_CHANNEL *ch;
	struct tail out;
	struct tail err;
	char err_head[ERR_HEAD]; /* the first bytes of stderr, for sudo */
	size_t err_head_len;
	uint64_t started;
	int exit_code;
	char signal[32];
};

struct tunnel {
	struct tunnel *next;
	struct ssh_host *bastion;
	struct ssh_host *inner; /* NULL once the inner host let go */
	enum tunnel_state state;
	LIBSSH2_CHANNEL *ch;
	int fd; /* the bastion's end of the socketpair */
	struct poller *poll;
	char to_ch[TUNNEL_BUF]; /* read from fd, for the channel */
	size_t to_ch_off;
	size_t to_ch_len;
	char to_fd[TUNNEL_BUF]; /* read from the channel, for fd */
	size_t to_fd_off;
	size_t to_fd_len;
	bool fd_eof;  /* the inner session closed its end */
	bool ch_eof;  /* the far end closed */
	bool fd_shut; /* we passed that on */
};

/* A private key file, looked at once per run. */
struct key {
	char *path;
	bool readable;
	bool encrypted;
	bool bad_passphrase;	 /* a host found that the passphrase is wrong */
	char *passphrase;	 /* owned; wiped */
	char type[KH_TYPE_SIZE]; /* "ssh-ed25519", or "" when unknown */
	char why[600];		 /* why it cannot be used */
};

struct ssh_host {
	struct ssh_engine *e;
	char *name;
	char *address;
	char *user;
	int port;
	struct ssh_host *via;
	char *pinned; /* "TYPE BASE64" from the state file, or NULL */
	size_t *keys; /* indexes into e->keys */
	size_t nr_keys;

	enum host_state state;
	bool needed;	   /* has commands, or hosts behind it that have */
	bool counted;	   /* holds one of the --parallel slots */
	bool queued;	   /* listed in e->run_queue */
	bool driving;	   /* host_drive() is on the stack */
	bool redrive;	   /* and must go round again */
	bool want_in;	   /* a channel user waits for incoming data */
	bool started;	   /* the connect deadline is running */
	size_t dependents; /* needed hosts behind this one, not done */
	unsigned attempt;
	uint64_t deadline;
	uv_timer_t timer;
	uv_getaddrinfo_t *resolving;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	struct poller *poll;
	LIBSSH2_SESSION *session;
	struct tunnel *tunnel;	/* carrying our session */
	struct tunnel *tunnels; /* those we carry */
	void *opening;		/* the user whose channel open is in flight */
	void *blocked;		/* the user with a half-sent packet */

	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *identity;
	unsigned agent_tried;
	size_t key_idx;
	struct buf tried; /* what authentication tried, for the message */

	struct job *jobs; /* queued */
	struct job **jobs_tail;
	struct job *cur; /* running */
	enum ssh_status fail_status;
	struct error err; /* why the host failed */
	bool failed;
	int log_fd;
	bool log_midline; /* the log's last byte is not a newline */
};

struct ssh_engine {
	struct ssh_options opts;
	uv_loop_t loop;
	char *known_hosts_path;
	struct known_hosts *kh;
	uv_timer_t kh_timer;
	bool kh_timer_on;
	struct error kh_err;
	char *log_dir;
	char *fallback_key;
	bool logs_ready;
	char *passphrase;
	char *agent_sock;
	struct key *keys;
	size_t nr_keys;
	size_t alloc_keys;
	struct ssh_host **hosts;
	size_t nr_hosts;
	size_t alloc_hosts;
	struct ssh_host **run_queue; /* hosts with commands, in order */
	size_t nr_queue;
	size_t alloc_queue;
	size_t next_start;
	size_t active;
	uint64_t rng;
	bool running;
	bool closing; /* ssh_engine_free(): nothing is driven any more */
};

static void host_drive(struct ssh_host *h);
static void host_fail(struct ssh_host *h, enum ssh_status status, int code,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void attempt_failed(struct ssh_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void begin_attempt(struct ssh_host *h);
static void host_finished(struct ssh_host *h);
static void start_more(struct ssh_engine *e);
static void release_slot(struct ssh_host *h);

/* --- small helpers ---------------------------------------------------- */

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

static uint64_t now_ms(struct ssh_engine *e)
{
	return uv_now(&e->loop);
}

/* Seconds for messages: "10 s", "2.5 s". */
static void fmt_secs(char *out, size_t size, uint64_t ms)
{
	if (ms % 1000)
		snprintf(out, size, "%.1f s", (double)ms / 1000);
	else
		snprintf(out, size, "%llu s", (unsigned long long)(ms / 1000));
}

static uint64_t next_random(struct ssh_engine *e)
{
	/* xorshift64*: jitter only, nothing secret. */
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return e->rng * 2685821657736338717ull;
}

/* libssh2's own text for the last error of h's session. */
static const char *ssh_errmsg(struct ssh_host *h)
{
	char *msg = NULL;

	if (!h->session)
		return "no session";
	libssh2_session_last_error(h->session, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}

static int last_errno(struct ssh_host *h)
{
	return h->session ? libssh2_session_last_errno(h->session) : 0;
}

/* Errors after which the session cannot be used any more. */
static bool session_dead(int rc)
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

/* --- the tail of a stream ---------------------------------------------- */

static void tail_add(struct tail *t, const char *p, size_t n)
{
	t->total += n;
	if (!t->max || !n)
		return;
	if (n >= t->max) {
		p += n - t->max;
		n = t->max;
		t->start = 0;
		t->len = 0;
	}
	if (!t->start && t->len + n <= t->max) {
		/* Not wrapped yet: grow as needed, up to max. */
		if (t->len + n > t->alloc) {
			size_t want = t->alloc ? t->alloc * 2 : 4096;

			while (want < t->len + n)
				want *= 2;
			if (want > t->max)
				want = t->max;
			t->data = xrealloc(t->data, want);
			t->alloc = want;
		}
		memcpy(t->data + t->len, p, n);
		t->len += n;
		return;
	}
	if (t->alloc < t->max) {
		t->data = xrealloc(t->data, t->max);
		t->alloc = t->max;
	}
	for (size_t done = 0; done < n;) {
		size_t w = (t->start + t->len) % t->max;
		size_t chunk = t->max - w < n - done ? t->max - w : n - done;

		memcpy(t->data + w, p + done, chunk);
		done += chunk;
		if (t->len + chunk > t->max) {
			t->start =
				(t->start + t->len + chunk - t->max) % t->max;
			t->len = t->max;
		} else {
			t->len += chunk;
		}
	}
}

/* The kept bytes in order, into out; returns how many were dropped. */
static uint64_t tail_take(struct tail *t, struct buf *out)
{
	size_t first = t->len;

	if (t->start + first > t->alloc)
		first = t->alloc - t->start;
	if (t->len) {
		buf_add(out, t->data + t->start, first);
		buf_add(out, t->data, t->len - first);
	}
	return t->total - t->len;
}

static void tail_free(struct tail *t)
{
	free(t->data);
	t->data = NULL;
	t->alloc = t->len = t->start = 0;
}

/* --- pollers ----------------------------------------------------------- */

static void poll_cb(uv_poll_t *handle, int status, int events)
{
	struct poller *p = handle->data;

	(void)status;
	(void)events;
	/* On an error the next libssh2 or socket call reports it. */
	if (p->host)
		host_drive(p->host);
}

static struct poller *poller_new(struct ssh_host *h, int fd)
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
static void poller_close(struct poller **pp)
{
	struct poller *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	p->host = NULL;
	uv_close((uv_handle_t *)&p->handle, poller_closed);
}

/* --- logs ------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char *copy = xstrdup(path);
	int rc = 0;

	for (char *p = copy + 1; *p && !rc; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (!rc && mkdir(copy, 0700) && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

static void log_write(struct ssh_host *h, const char *data, size_t len)
{
	while (h->log_fd >= 0 && len) {
		ssize_t n = write(h->log_fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A full disk must not stop the run. */
			close(h->log_fd);
			h->log_fd = -1;
			break;
		}
		h->log_midline = data[n - 1] != '\n';
		data += n;
		len -= (size_t)n;
	}
}

static void log_printf(struct ssh_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_printf(struct ssh_host *h, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (h->log_fd < 0)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	log_write(h, b.data, b.len);
	buf_free(&b);
}

static void log_open(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct buf path = BUF_INIT;

	if (h->log_fd >= 0 || !e->log_dir || !e->logs_ready)
		return;
	buf_addf(&path, "%s/%s.log", e->log_dir, h->name);
	h->log_fd = open(path.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			 0600);
	buf_free(&path);
}

static void log_header(struct ssh_host *h, const struct job *j)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	log_open(h);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (h->log_midline)
		log_write(h, "\n", 1);
	log_printf(h, "== %s %s@%s:%d $ %s\n", when, h->user, h->address,
		   h->port, j->command);
}

/* --- jobs --------------------------------------------------------------- */

static void job_free(struct job *j)
{
	free(j->command);
	free(j->wire);
	freezero(j->input, j->input_len);
	tail_free(&j->out);
	tail_free(&j->err);
	free(j);
}

/* Hand the outcome to the caller, log it, free the job. */
static void job_report(struct ssh_host *h, struct job *j,
		       enum ssh_status status, int exit_code,
		       const char *signal, const struct error *why)
{
	struct ssh_result r;
	char secs[32];

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.exit_code = exit_code;
	snprintf(r.exit_signal, sizeof(r.exit_signal), "%s",
		 signal ? signal : "");
	if (why)
		r.err = *why;
	r.err.file = NULL; /* not ours to share */
	buf_init(&r.out, 0);
	buf_init(&r.errout, 0);
	r.out_dropped = tail_take(&j->out, &r.out);
	r.err_dropped = tail_take(&j->err, &r.errout);
	r.elapsed_ms = j->started ? now_ms(h->e) - j->started : 0;
	if (!j->started)
		log_header(h, j);
	/* How long it took, for a command that started. */
	secs[0] = '\0';
	if (j->started) {
		char t[24];

		fmt_secs(t, sizeof(t), r.elapsed_ms);
		snprintf(secs, sizeof(secs), " (%s)", t);
	}
	if (h->log_midline)
		log_write(h, "\n", 1);
	if (status == SSH_OK)
		log_printf(h, "== exit 0%s\n", secs);
	else
		log_printf(h, "== %s: %s%s\n",
			   status == SSH_UNREACHABLE ? "unreachable" : "failed",
			   r.err.msg, secs);
	j->ops->done(j->data, h, &r);
	buf_free(&r.out);
	buf_free(&r.errout);
	job_free(j);
}

/* Fail the running command and every queued one with h's error. */
static void fail_jobs(struct ssh_host *h)
{
	struct job *j;

	if (h->cur) {
		j = h->cur;
		h->cur = NULL;
		job_report(h, j, h->fail_status, -1, NULL, &h->err);
	}
	while ((j = h->jobs) != NULL) {
		h->jobs = j->next;
		if (!h->jobs)
			h->jobs_tail = &h->jobs;
		job_report(h, j, h->fail_status, -1, NULL, &h->err);
	}
}

static void job_output(struct ssh_host *h, struct job *j, int stream,
		       const char *data, size_t len)
{
	if (stream == 2 && j->err_head_len < ERR_HEAD - 1) {
		size_t n = ERR_HEAD - 1 - j->err_head_len;

		if (n > len)
			n = len;
		memcpy(j->err_head + j->err_head_len, data, n);
		j->err_head_len += n;
		j->err_head[j->err_head_len] = '\0';
	}
	tail_add(stream == 1 ? &j->out : &j->err, data, len);
	log_write(h, data, len);
	if (j->ops->output)
		j->ops->output(j->data, h, stream, data, len);
}

/* --- session teardown ---------------------------------------------------- */

static void timer_stop(struct ssh_host *h)
{
	uv_timer_stop(&h->timer);
}

static void timer_cb(uv_timer_t *timer);

static void timer_at(struct ssh_host *h, uint64_t when)
{
	uint64_t now = now_ms(h->e);

	uv_timer_start(&h->timer, timer_cb, when > now ? when - now : 0, 0);
}

static void agent_drop(struct ssh_host *h)
{
	if (!h->agent)
		return;
	libssh2_agent_disconnect(h->agent);
	libssh2_agent_free(h->agent);
	h->agent = NULL;
	h->identity = NULL;
}

/* Detach from the tunnel that carried us; the bastion sees EOF. */
static void tunnel_let_go(struct ssh_host *h)
{
	struct tunnel *t = h->tunnel;

	if (!t)
		return;
	h->tunnel = NULL;
	t->inner = NULL;
}

/*
 * Drop the session, the socket and whatever the current attempt holds,
 * without waiting for the far end: shutting the socket down first makes
 * libssh2's last sends fail at once instead of blocking.
 */
static void session_drop(struct ssh_host *h)
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

static void tunnel_destroy(struct tunnel *t);

/* The bastion's failure reaches the hosts behind it. */
static void fail_dependents(struct ssh_host *b)
{
	struct ssh_engine *e = b->e;

	/* Closing our ends makes the sessions through them see EOF. */
	while (b->tunnels)
		tunnel_destroy(b->tunnels);
	for (size_t i = 0; i < e->nr_hosts; i++) {
		struct ssh_host *h = e->hosts[i];

		if (h->via != b)
			continue;
		if (h->state == HS_WAIT_VIA || h->state == HS_TUNNEL ||
		    h->state == HS_BACKOFF)
			host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
				  "host '%s' unreachable: its bastion failed: "
				  "%s",
				  h->name, b->err.msg);
	}
}

/*
 * The host failed for good: report every command, drop the session, and
 * take the hosts behind it down too.
 */
static void host_fail(struct ssh_host *h, enum ssh_status status, int code,
		      const char *fmt, ...)
{
	va_list ap;

	if (h->state == HS_DONE)
		return;
	h->failed = true;
	h->fail_status = status;
	h->err.code = code;
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

/* --- connecting ---------------------------------------------------------- */

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
static void attempt_failed(struct ssh_host *h, const char *fmt, ...)
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
	    now_ms(h->e) + wait < h->deadline) {
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

static void session_start(struct ssh_host *h)
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
	if (!h->poll)
		h->poll = poller_new(h, h->fd);
	if (!h->poll) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_IO,
			  "host '%s': cannot watch its socket", h->name);
		return;
	}
	h->state = HS_HANDSHAKE;
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
	if (connect(h->fd, (struct sockaddr *)&h->addr, h->addr_len) &&
	    errno != EINPROGRESS) {
		snprintf(where, sizeof(where), "%s port %d", h->address,
			 h->port);
		attempt_failed(h, "connect to %s: %s", where, strerror(errno));
		return;
	}
	h->poll = poller_new(h, h->fd);
	if (!h->poll) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_IO,
			  "host '%s': cannot watch its socket", h->name);
		return;
	}
	h->state = HS_CONNECT;
	host_drive(h);
}

static void step_connect(struct ssh_host *h)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer), elen = sizeof(int);
	int soerr = 0;

	if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr, &elen))
		soerr = errno;
	if (soerr) {
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

static void tunnel_request(struct ssh_host *h);

static void begin_attempt(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct addrinfo hints;
	char port[16];

	if (h->via && h->via->state == HS_DONE) {
		host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
			  "host '%s' unreachable: its bastion failed: %s",
			  h->name,
			  h->via->failed ? h->via->err.msg
					 : "its session is closed");
		return;
	}
	if (h->via && h->via->state != HS_READY) {
		/* The connect deadline starts once the bastion is up. */
		timer_stop(h);
		h->state = HS_WAIT_VIA;
		return;
	}
	h->attempt++;
	if (!h->started) {
		h->started = true;
		h->deadline = now_ms(e) + e->opts.connect_timeout_ms;
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

/* --- host keys ------------------------------------------------------------ */

static void kh_flush_now(struct ssh_engine *e)
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

/* The key in the state file is the only one accepted for the host. */
static int check_pinned(struct ssh_host *h, const char *name, const void *blob,
			size_t len, const char *type, const char *fp)
{
	char ptype[KH_TYPE_SIZE], pfp[KH_FINGERPRINT_SIZE];
	const char *b64 = strchr(h->pinned, ' ');
	size_t b64_len;
	struct buf pin = BUF_INIT;
	bool same;

	b64 = b64 ? b64 + 1 : h->pinned;
	b64_len = strcspn(b64, " \t\r\n");
	if (base64_decode(&pin, b64, b64_len) ||
	    !known_hosts_blob_type(pin.data, pin.len, ptype, sizeof(ptype))) {
		buf_free(&pin);
		host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
			  "host key of '%s' pinned in the state file cannot "
			  "be read",
			  h->name);
		return -1;
	}
	same = pin.len == len && !memcmp(pin.data, blob, len);
	known_hosts_fingerprint(pin.data, pin.len, pfp);
	buf_free(&pin);
	if (same)
		return 0;
	host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
		  "host key of '%s' (%s) has changed: the state file pins %s "
		  "key %s, the host presented %s key %s",
		  h->name, name, known_hosts_type_label(ptype), pfp,
		  known_hosts_type_label(type), fp);
	return -1;
}

/* 0 when the host key is acceptable; the host has failed otherwise. */
static int check_host_key(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	const char *path = known_hosts_path(e->kh);
	char name[300], fp[KH_FINGERPRINT_SIZE], type[KH_TYPE_SIZE];
	char where[600];
	struct kh_check c;
	const char *blob;
	size_t len = 0;
	int ktype = 0;

	blob = libssh2_session_hostkey(h->session, &len, &ktype);
	if (!blob || !known_hosts_blob_type(blob, len, type, sizeof(type))) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
			  "host '%s' sent no host key we can read", h->name);
		return -1;
	}
	known_hosts_name(h->address, h->port, name, sizeof(name));
	known_hosts_fingerprint(blob, len, fp);
	if (h->pinned)
		return check_pinned(h, name, blob, len, type, fp);
	known_hosts_check(e->kh, h->address, h->port, blob, len, &c);
	if (c.line)
		snprintf(where, sizeof(where), "%s:%zu", path, c.line);
	else
		snprintf(where, sizeof(where), "%s (added in this run)", path);
	switch (c.status) {
	case KH_MATCH:
		return 0;
	case KH_NOT_FOUND:
		if (e->opts.host_keys == SSH_HOST_KEYS_STRICT) {
			host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
				  "host key of '%s' (%s) is not known and "
				  "ssh.host_keys is strict: the host "
				  "presented %s key %s; check it and add it "
				  "to %s",
				  h->name, name, known_hosts_type_label(type),
				  fp, path);
			return -1;
		}
		known_hosts_add(e->kh, h->address, h->port, blob, len, NULL);
		kh_schedule_flush(e);
		return 0;
	case KH_CHANGED:
		host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
			  "host key of '%s' (%s) has changed: %s has %s key "
			  "%s, the host presented %s key %s; if the host was "
			  "reinstalled, remove the old key with: ssh-keygen "
			  "-R '%s' -f %s",
			  h->name, name, where,
			  known_hosts_type_label(c.known_type),
			  c.known_fingerprint, known_hosts_type_label(type), fp,
			  name, path);
		return -1;
	case KH_OTHER_TYPE:
		host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
			  "host key of '%s' (%s) has changed: %s has %s key "
			  "%s, the host presented %s key %s instead; if the "
			  "host was reinstalled, remove the old key with: "
			  "ssh-keygen -R '%s' -f %s",
			  h->name, name, where,
			  known_hosts_type_label(c.known_type),
			  c.known_fingerprint, known_hosts_type_label(type), fp,
			  name, path);
		return -1;
	case KH_REVOKED:
		host_fail(h, SSH_FAILED, DEPLOY_ERR_HOST_KEY,
			  "host key of '%s' (%s) is revoked in %s: %s key %s",
			  h->name, name, where, known_hosts_type_label(type),
			  fp);
		return -1;
	}
	return -1;
}

static void step_handshake(struct ssh_host *h)
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
	h->deadline = now_ms(e) + e->opts.auth_timeout_ms;
	timer_at(h, h->deadline);
}

/* --- authentication
 * ----------------------------------------------------------- */

static void tried(struct ssh_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tried(struct ssh_host *h, const char *fmt, ...)
{
	va_list ap;

	if (h->tried.len)
		buf_adds(&h->tried, "; ");
	va_start(ap, fmt);
	buf_vaddf(&h->tried, fmt, ap);
	va_end(ap);
}

static void auth_done(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;

	agent_drop(h);
	buf_free(&h->tried);
	timer_stop(h);
	h->state = HS_READY;
	/* Hosts behind this one can go on now. */
	for (size_t i = 0; i < e->nr_hosts; i++)
		if (e->hosts[i]->via == h && e->hosts[i]->state == HS_WAIT_VIA)
			begin_attempt(e->hosts[i]);
}

static void auth_failed(struct ssh_host *h)
{
	host_fail(h, SSH_FAILED, DEPLOY_ERR_AUTH,
		  "host '%s': permission denied for user '%s' (%s)", h->name,
		  h->user, h->tried.len ? h->tried.data : "no key to try");
}

/* The session broke during authentication. */
static void auth_broke(struct ssh_host *h)
{
	host_fail(h, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
		  "host '%s' unreachable: connection lost during "
		  "authentication: %s",
		  h->name, ssh_errmsg(h));
}

static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, word, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static void step_auth_list(struct ssh_host *h)
{
	const char *list;

	list = libssh2_userauth_list(h->session, h->user,
				     (unsigned)strlen(h->user));
	if (!list) {
		if (libssh2_userauth_authenticated(h->session))
			auth_done(h);
		else if (last_errno(h) != LIBSSH2_ERROR_EAGAIN)
			auth_broke(h);
		return;
	}
	if (!in_list(list, "publickey")) {
		host_fail(h, SSH_FAILED, DEPLOY_ERR_AUTH,
			  "host '%s' does not take SSH keys for user '%s' (it "
			  "takes: %s)",
			  h->name, h->user, list);
		return;
	}
	h->key_idx = 0;
	h->state = h->e->agent_sock ? HS_AUTH_AGENT : HS_AUTH_KEY;
}

/* Connect to ssh-agent and take its first identity; false when none. */
static bool agent_begin(struct ssh_host *h)
{
	h->agent = libssh2_agent_init(h->session);
	if (!h->agent)
		return false;
	if (libssh2_agent_connect(h->agent)) {
		tried(h, "ssh-agent: cannot connect to %s", h->e->agent_sock);
		agent_drop(h);
		return false;
	}
	if (libssh2_agent_list_identities(h->agent) ||
	    libssh2_agent_get_identity(h->agent, &h->identity, NULL)) {
		tried(h, "ssh-agent: no keys");
		agent_drop(h);
		return false;
	}
	h->agent_tried = 0;
	return true;
}

static void step_auth_agent(struct ssh_host *h)
{
	struct libssh2_agent_publickey *next = NULL;
	int rc;

	if (!h->agent && !agent_begin(h)) {
		h->state = HS_AUTH_KEY;
		return;
	}
	for (;;) {
		rc = libssh2_agent_userauth(h->agent, h->user, h->identity);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return;
		if (!rc) {
			auth_done(h);
			return;
		}
		if (session_dead(rc)) {
			auth_broke(h);
			return;
		}
		h->agent_tried++;
		if (libssh2_agent_get_identity(h->agent, &next, h->identity))
			break;
		h->identity = next;
	}
	tried(h, "ssh-agent: %u key%s refused", h->agent_tried,
	      h->agent_tried == 1 ? "" : "s");
	agent_drop(h);
	h->state = HS_AUTH_KEY;
}

static void step_auth_key(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;

	for (; h->key_idx < h->nr_keys; h->key_idx++) {
		struct key *k = &e->keys[h->keys[h->key_idx]];
		int rc;

		if (!k->readable) {
			tried(h, "%s", k->why);
			continue;
		}
		if (k->encrypted && (!k->passphrase || k->bad_passphrase)) {
			tried(h, "key '%s' is encrypted and %s", k->path,
			      k->bad_passphrase
				      ? "the passphrase given is wrong"
				      : "no passphrase was given (set "
					"DEPLOY_SSH_KEY_PASSPHRASE, or run "
					"on a terminal)");
			continue;
		}
		rc = libssh2_userauth_publickey_fromfile_ex(
			h->session, h->user, (unsigned)strlen(h->user), NULL,
			k->path, k->passphrase ? k->passphrase : "");
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return;
		if (!rc) {
			auth_done(h);
			return;
		}
		if (session_dead(rc)) {
			auth_broke(h);
			return;
		}
		if (rc == LIBSSH2_ERROR_FILE && k->encrypted) {
			/* Spare the other hosts the key derivation. */
			k->bad_passphrase = true;
			tried(h,
			      "key '%s' is encrypted and the passphrase "
			      "given is wrong",
			      k->path);
		} else if (rc == LIBSSH2_ERROR_FILE) {
			tried(h, "key '%s' cannot be used: %s", k->path,
			      ssh_errmsg(h));
		} else if (!strcmp(k->type, "ssh-rsa")) {
			/* libssh2 1.10 signs with SHA-1 only (ssh-rsa). */
			tried(h,
			      "key '%s' refused (an RSA key: this build signs "
			      "with ssh-rsa (SHA-1), which OpenSSH 8.8 and "
			      "later refuse by default; use an ed25519 or "
			      "ECDSA key)",
			      k->path);
		} else {
			tried(h, "key '%s' refused", k->path);
		}
	}
	auth_failed(h);
}

/* --- tunnels (on the bastion)
 * ------------------------------------------------- */

static void tunnel_destroy(struct tunnel *t)
{
	struct ssh_host *b = t->bastion;
	struct tunnel **pp;

	for (pp = &b->tunnels; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
	if (b->opening == t)
		b->opening = NULL;
	if (b->blocked == t)
		b->blocked = NULL;
	if (t->ch && b->session)
		libssh2_channel_free(t->ch); /* only after a session error */
	poller_close(&t->poll);
	if (t->fd >= 0)
		close(t->fd);
	if (t->inner) {
		t->inner->tunnel = NULL;
		t->inner = NULL;
	}
	free(t);
}

/* Ask the bastion for a channel to h (h->via is READY). */
static void tunnel_request(struct ssh_host *h)
{
	struct ssh_host *b = h->via;
	struct tunnel *t, **pp;

	t = xcalloc(1, sizeof(*t));
	t->bastion = b;
	t->inner = h;
	t->fd = -1;
	t->state = TS_WAIT;
	for (pp = &b->tunnels; *pp; pp = &(*pp)->next)
		;
	*pp = t;
	h->tunnel = t;
	h->state = HS_TUNNEL;
	host_drive(b);
}

/* Note a call that would block; a half-sent packet makes `user` go first. */
static bool wait_io(struct ssh_host *h, void *user)
{
	if (libssh2_session_block_directions(h->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND)
		h->blocked = user;
	else if (h->blocked == user)
		h->blocked = NULL;
	h->want_in = true;
	return false;
}

static void unblock(struct ssh_host *h, void *user)
{
	if (h->blocked == user)
		h->blocked = NULL;
}

/* The channel opened: hand the inner host its end of a socketpair. */
static void tunnel_opened(struct ssh_host *b, struct tunnel *t)
{
	struct ssh_host *h = t->inner;
	int sv[2];

	if (!h) {
		t->state = TS_CLOSING;
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv)) {
		t->state = TS_CLOSING;
		tunnel_let_go(h);
		host_fail(h, SSH_FAILED, DEPLOY_ERR_IO,
			  "host '%s': cannot make a socketpair: %s", h->name,
			  strerror(errno));
		return;
	}
	t->fd = sv[0];
	t->poll = poller_new(b, t->fd);
	t->state = TS_OPEN;
	h->fd = sv[1];
	session_start(h);
	if (h->state == HS_HANDSHAKE)
		host_drive(h);
}

static bool tunnel_open_step(struct ssh_host *b, struct tunnel *t)
{
	struct ssh_host *h = t->inner;
	int rc;

	if (t->state == TS_WAIT) {
		if (!h) {
			tunnel_destroy(t);
			return true;
		}
		if (b->opening)
			return false;
		b->opening = t;
		t->state = TS_OPENING;
	}
	/* The inner host's address is kept even when it let go. */
	t->ch = libssh2_channel_direct_tcpip_ex(
		b->session, h ? h->address : "127.0.0.1", h ? h->port : 22,
		"127.0.0.1", 22);
	if (t->ch) {
		b->opening = NULL;
		unblock(b, t);
		tunnel_opened(b, t);
		return true;
	}
	rc = last_errno(b);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return wait_io(b, t);
	b->opening = NULL;
	unblock(b, t);
	if (session_dead(rc)) {
		host_fail(b, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
			  "host '%s' unreachable: connection lost: %s", b->name,
			  ssh_errmsg(b));
		return true;
	}
	if (h) {
		char why[400];

		snprintf(why, sizeof(why),
			 "bastion '%s' could not connect to %s port %d: %s",
			 b->name, h->address, h->port, ssh_errmsg(b));
		t->inner = NULL;
		h->tunnel = NULL;
		tunnel_destroy(t);
		attempt_failed(h, "%s", why);
	} else {
		tunnel_destroy(t);
	}
	return true;
}

/* Move bytes both ways; true when anything moved or changed. */
static bool tunnel_pump(struct ssh_host *b, struct tunnel *t)
{
	bool progress = false;
	ssize_t n;
	int rc;

	if (t->to_ch_off && b->blocked != t) {
		memmove(t->to_ch, t->to_ch + t->to_ch_off, t->to_ch_len);
		t->to_ch_off = 0;
	}
	if (!t->fd_eof && t->to_ch_off + t->to_ch_len < TUNNEL_BUF) {
		n = recv(t->fd, t->to_ch + t->to_ch_off + t->to_ch_len,
			 TUNNEL_BUF - t->to_ch_off - t->to_ch_len, 0);
		if (n > 0) {
			t->to_ch_len += (size_t)n;
			progress = true;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			t->fd_eof = true;
			progress = true;
		}
	}
	if (t->to_ch_len) {
		rc = (int)libssh2_channel_write(t->ch, t->to_ch + t->to_ch_off,
						t->to_ch_len);
		if (rc > 0) {
			unblock(b, t);
			t->to_ch_off += (size_t)rc;
			t->to_ch_len -= (size_t)rc;
			if (!t->to_ch_len)
				t->to_ch_off = 0;
			progress = true;
		} else if (rc == LIBSSH2_ERROR_EAGAIN) {
			wait_io(b, t);
			if (b->blocked == t)
				return progress;
		} else {
			unblock(b, t);
			t->ch_eof = t->fd_eof = true;
			t->to_ch_len = t->to_fd_len = 0;
			progress = true;
		}
	}
	if (!t->ch_eof && t->to_fd_off + t->to_fd_len == 0) {
		rc = (int)libssh2_channel_read(t->ch, t->to_fd, TUNNEL_BUF);
		if (rc > 0) {
			unblock(b, t);
			t->to_fd_len = (size_t)rc;
			progress = true;
		} else if (rc == LIBSSH2_ERROR_EAGAIN) {
			wait_io(b, t);
			if (b->blocked == t)
				return progress;
		} else if (rc < 0 || libssh2_channel_eof(t->ch)) {
			unblock(b, t);
			t->ch_eof = true;
			progress = true;
		}
	}
	if (t->to_fd_len) {
		n = send(t->fd, t->to_fd + t->to_fd_off, t->to_fd_len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			t->to_fd_off += (size_t)n;
			t->to_fd_len -= (size_t)n;
			if (!t->to_fd_len)
				t->to_fd_off = 0;
			progress = true;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			t->to_fd_len = t->to_fd_off = 0;
			t->fd_eof = true;
			progress = true;
		}
	}
	if (t->ch_eof && !t->to_fd_len && !t->fd_shut) {
		shutdown(t->fd, SHUT_WR);
		t->fd_shut = true;
		progress = true;
	}
	if (t->fd_eof && !t->to_ch_len) {
		t->state = TS_CLOSING;
		poller_close(&t->poll);
		progress = true;
	}
	return progress;
}

static bool tunnel_step(struct ssh_host *b, struct tunnel *t)
{
	int rc;

	switch (t->state) {
	case TS_WAIT:
	case TS_OPENING:
		return tunnel_open_step(b, t);
	case TS_OPEN:
		return tunnel_pump(b, t);
	case TS_CLOSING:
		rc = libssh2_channel_free(t->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return wait_io(b, t);
		unblock(b, t);
		t->ch = NULL;
		tunnel_destroy(t);
		return true;
	}
	return false;
}

static int tunnel_events(const struct tunnel *t)
{
	int ev = 0;

	if (t->state != TS_OPEN)
		return 0;
	if (!t->fd_eof && t->to_ch_off + t->to_ch_len < TUNNEL_BUF)
		ev |= UV_READABLE;
	if (t->to_fd_len)
		ev |= UV_WRITABLE;
	return ev;
}

/* --- commands
 * ----------------------------------------------------------------- */

static void job_begin(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct job *j = h->jobs;

	h->jobs = j->next;
	if (!h->jobs)
		h->jobs_tail = &h->jobs;
	j->next = NULL;
	h->cur = j;
	j->state = JS_OPEN;
	j->started = now_ms(e);
	log_header(h, j);
	h->deadline = j->started + e->opts.command_timeout_ms;
	timer_at(h, h->deadline);
}

static bool sudo_said(const struct job *j, const char *what)
{
	return !strncmp(j->err_head, "sudo: ", 6) && strstr(j->err_head, what);
}

/* The channel is closed: keep what the command's end looked like. */
static void job_collect(struct ssh_host *h, struct job *j)
{
	char *sig = NULL;
	size_t siglen = 0;

	j->exit_code = libssh2_channel_get_exit_status(j->ch);
	libssh2_channel_get_exit_signal(j->ch, &sig, &siglen, NULL, NULL, NULL,
					NULL);
	if (sig) {
		snprintf(j->signal, sizeof(j->signal), "%.*s", (int)siglen,
			 sig);
		libssh2_free(h->session, sig);
	}
}

/* The command is over and its channel freed: report how it went. */
static void job_conclude(struct ssh_host *h, struct job *j)
{
	struct error why;
	int code = j->exit_code;

	error_init(&why);
	if (*j->signal) {
		error_set(&why, DEPLOY_ERR_REMOTE, NULL, 0, 0,
			  "host '%s': command killed by signal %s", h->name,
			  j->signal);
		job_report(h, j, SSH_FAILED, -1, j->signal, &why);
		return;
	}
	if (j->sudo && code == 1 && sudo_said(j, "password is required"))
		error_set(&why, DEPLOY_ERR_REMOTE, NULL, 0, 0,
			  "sudo on '%s' needs a password: give '%s' "
			  "passwordless sudo (NOPASSWD) or connect as root",
			  h->name, h->user);
	else if (j->sudo && code == 127 && strstr(j->err_head, "sudo") &&
		 strstr(j->err_head, "not found"))
		error_set(&why, DEPLOY_ERR_REMOTE, NULL, 0, 0,
			  "sudo is not installed on '%s': install it, or "
			  "connect as root",
			  h->name);
	else if (code)
		error_set(&why, DEPLOY_ERR_REMOTE, NULL, 0, 0,
			  "host '%s': command exited with code %d", h->name,
			  code);
	job_report(h, j, code ? SSH_FAILED : SSH_OK, code, NULL,
		   code ? &why : NULL);
}

/* The session broke while a command was under way. */
static void job_broke(struct ssh_host *h, const char *what)
{
	host_fail(h, SSH_FAILED, DEPLOY_ERR_UNREACHABLE,
		  "host '%s': connection lost %s: %s", h->name, what,
		  ssh_errmsg(h));
}

static bool job_read(struct ssh_host *h, struct job *j)
{
	char chunk[READ_CHUNK];
	bool progress = false;

	for (int stream = 1; stream <= 2; stream++) {
		for (;;) {
			ssize_t n = libssh2_channel_read_ex(
				j->ch,
				stream == 1 ? 0 : SSH_EXTENDED_DATA_STDERR,
				chunk, sizeof(chunk));

			if (n > 0) {
				unblock(h, j);
				job_output(h, j, stream, chunk, (size_t)n);
				progress = true;
				continue;
			}
			if (n == LIBSSH2_ERROR_EAGAIN) {
				wait_io(h, j);
				if (h->blocked == j)
					return progress;
				break;
			}
			if (n < 0) {
				job_broke(h, "while the command ran");
				return true;
			}
			break;
		}
	}
	if (libssh2_channel_eof(j->ch)) {
		j->state = JS_CLOSE;
		progress = true;
	}
	return progress;
}

/*
 * Send the command its input, then EOF. When the channel's window is full
 * the far side may be waiting for us to read what it wrote: read what is
 * there before waiting, so that neither side waits for the other.
 */
static bool job_write(struct ssh_host *h, struct job *j)
{
	bool progress = false;
	int rc;

	while (j->input_off < j->input_len) {
		ssize_t n =
			libssh2_channel_write(j->ch, j->input + j->input_off,
					      j->input_len - j->input_off);

		if (n > 0) {
			unblock(h, j);
			j->input_off += (size_t)n;
			progress = true;
			continue;
		}
		if (n != LIBSSH2_ERROR_EAGAIN) {
			job_broke(h, "sending the command its input");
			return true;
		}
		progress |= job_read(h, j);
		if (j->state != JS_WRITE)
			return true; /* it ended, or the channel broke */
		wait_io(h, j);
		return progress;
	}
	rc = libssh2_channel_send_eof(j->ch);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return wait_io(h, j) || progress;
	unblock(h, j);
	if (rc) {
		job_broke(h, "closing the command's input");
		return true;
	}
	j->state = JS_READ;
	return true;
}

static bool job_step(struct ssh_host *h)
{
	struct job *j = h->cur;
	int rc;

	switch (j->state) {
	case JS_OPEN:
		if (h->opening && h->opening != j)
			return false;
		h->opening = j;
		j->ch = libssh2_channel_open_session(h->session);
		if (!j->ch) {
			if (last_errno(h) == LIBSSH2_ERROR_EAGAIN)
				return wait_io(h, j);
			h->opening = NULL;
			unblock(h, j);
			job_broke(h, "opening a channel");
			return true;
		}
		h->opening = NULL;
		unblock(h, j);
		j->state = JS_EXEC;
		return true;
	case JS_EXEC:
		rc = libssh2_channel_exec(j->ch, j->wire);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return wait_io(h, j);
		unblock(h, j);
		if (rc) {
			job_broke(h, "starting the command");
			return true;
		}
		j->state = j->input ? JS_WRITE : JS_READ;
		return true;
	case JS_WRITE:
		return job_write(h, j);
	case JS_READ:
		return job_read(h, j);
	case JS_CLOSE:
		rc = libssh2_channel_close(j->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return wait_io(h, j);
		if (!rc)
			rc = libssh2_channel_wait_closed(j->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return wait_io(h, j);
		unblock(h, j);
		job_collect(h, j);
		j->state = JS_FREE;
		return true;
	case JS_FREE:
		rc = libssh2_channel_free(j->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return wait_io(h, j);
		unblock(h, j);
		j->ch = NULL;
		h->cur = NULL;
		timer_stop(h);
		job_conclude(h, j);
		release_slot(h);
		return true;
	}
	return false;
}

/* --- the ready session
 * -------------------------------------------------------- */

static bool idle(const struct ssh_host *h)
{
	return !h->cur && !h->jobs && !h->dependents && !h->tunnels;
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
		timer_at(h, now_ms(h->e) + CLOSE_TIMEOUT_MS);
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

/* --- driving ----------------------------------------------------------------
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

static void host_drive(struct ssh_host *h)
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

static void timer_cb(uv_timer_t *timer)
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
		host_fail(h, SSH_FAILED, DEPLOY_ERR_TIMEOUT,
			  "host '%s': command timed out after %s", h->name,
			  secs);
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

/* --- scheduling -------------------------------------------------------------
 */

/* h has work, or hosts behind it have: so do the bastions before it. */
static void host_need(struct ssh_host *h)
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
static void release_slot(struct ssh_host *h)
{
	if (!h->counted || h->cur || h->jobs)
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

static void start_more(struct ssh_engine *e)
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

int ssh_exec(struct ssh_host *h, const char *command, unsigned flags,
	     const struct ssh_exec_ops *ops, void *data, struct error *err)
{
	return ssh_exec_input(h, command, flags, NULL, 0, ops, data, err);
}

int ssh_exec_input(struct ssh_host *h, const char *command, unsigned flags,
		   const char *input, size_t input_len,
		   const struct ssh_exec_ops *ops, void *data,
		   struct error *err)
{
	struct ssh_engine *e = h->e;
	struct job *j;
	struct buf wire = BUF_INIT;

	if (h->state == HS_DONE)
		return error_set(err, DEPLOY_ERR_UNREACHABLE, NULL, 0, 0, "%s",
				 h->failed ? h->err.msg
					   : "the host's session is closed");
	j = xcalloc(1, sizeof(*j));
	j->command = xstrdup(command);
	if (input) {
		j->input = xmalloc(input_len + 1);
		memcpy(j->input, input, input_len);
		j->input_len = input_len;
	}
	j->sudo = (flags & SSH_EXEC_ROOT) && strcmp(h->user, "root");
	if (j->sudo) {
		buf_adds(&wire, "sudo -n -- sh -c ");
		ssh_shell_quote(&wire, command);
		j->wire = buf_release(&wire);
	} else {
		j->wire = xstrdup(command);
	}
	j->ops = ops;
	j->data = data;
	j->out.max = e->opts.capture_max;
	j->err.max = e->opts.capture_max;
	*h->jobs_tail = j;
	h->jobs_tail = &j->next;
	host_need(h);
	if (!h->queued) {
		h->queued = true;
		XGROW(e->run_queue, e->alloc_queue, e->nr_queue + 1);
		e->run_queue[e->nr_queue++] = h;
	}
	if (e->running) {
		if (h->state == HS_READY)
			host_drive(h);
		else
			start_more(e);
	}
	return 0;
}

/* --- keys
 * ----------------------------------------------------------------------- */

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : "/";
}

static size_t key_index(struct ssh_engine *e, const char *path)
{
	struct key *k;

	for (size_t i = 0; i < e->nr_keys; i++)
		if (!strcmp(e->keys[i].path, path))
			return i;
	XGROW(e->keys, e->alloc_keys, e->nr_keys + 1);
	k = &e->keys[e->nr_keys];
	memset(k, 0, sizeof(*k));
	k->path = xstrdup(path);
	return e->nr_keys++;
}

/* The keys a host tries: its own, or ~/.ssh/id_{ed25519,ecdsa,rsa}. */
static void host_keys(struct ssh_engine *e, struct ssh_host *h, const char *key)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa",
						"id_rsa" };
	struct buf path = BUF_INIT;

	if (key) {
		h->keys = xcalloc(1, sizeof(*h->keys));
		h->keys[h->nr_keys++] = key_index(e, key);
		return;
	}
	h->keys = xcalloc(4, sizeof(*h->keys));
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/.ssh/%s", home_dir(), defaults[i]);
		if (!access(path.data, F_OK))
			h->keys[h->nr_keys++] = key_index(e, path.data);
	}
	if (e->opts.fallback_key && !access(e->opts.fallback_key, F_OK))
		h->keys[h->nr_keys++] = key_index(e, e->opts.fallback_key);
	buf_free(&path);
}

/* Whether ssh-agent holds the public key `blob` (no need to decrypt). */
static bool agent_holds(struct ssh_engine *e, const unsigned char *blob,
			size_t len)
{
	LIBSSH2_SESSION *s;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	bool found = false;

	if (!e->agent_sock || !blob)
		return false;
	s = libssh2_session_init();
	if (!s)
		return false;
	agent = libssh2_agent_init(s);
	if (agent && !libssh2_agent_connect(agent) &&
	    !libssh2_agent_list_identities(agent)) {
		while (!found &&
		       !libssh2_agent_get_identity(agent, &id, prev)) {
			found = id->blob_len == len &&
				!memcmp(id->blob, blob, len);
			prev = id;
		}
		libssh2_agent_disconnect(agent);
	}
	if (agent)
		libssh2_agent_free(agent);
	libssh2_session_free(s);
	return found;
}

/* Look at each key once, and get the passphrases needed before any
 * connection starts (a prompt must not eat into the timeouts). */
static void keys_prepare(struct ssh_engine *e)
{
	for (size_t i = 0; i < e->nr_keys; i++) {
		struct key *k = &e->keys[i];
		struct keyfile_info info;
		struct error err;
		char pass[MAX_PASSPHRASE];

		error_init(&err);
		if (keyfile_inspect(k->path, &info, &err)) {
			snprintf(k->why, sizeof(k->why), "key '%s': %s",
				 k->path,
				 err.code == DEPLOY_ERR_NOT_FOUND
					 ? "no such file"
					 : err.msg);
			error_clear(&err);
			continue;
		}
		error_clear(&err);
		k->readable = true;
		k->encrypted = info.encrypted;
		if (!info.pub ||
		    !known_hosts_blob_type(info.pub, info.pub_len, k->type,
					   sizeof(k->type)))
			k->type[0] = '\0';
		if (k->encrypted && e->passphrase) {
			k->passphrase = xstrdup(e->passphrase);
		} else if (k->encrypted &&
			   !agent_holds(e, info.pub, info.pub_len) &&
			   e->opts.ask_passphrase &&
			   !e->opts.ask_passphrase(e->opts.ask_data, k->path,
						   pass, sizeof(pass))) {
			pass[sizeof(pass) - 1] = '\0';
			k->passphrase = xstrdup(pass);
		}
		explicit_bzero(pass, sizeof(pass));
		keyfile_info_free(&info);
	}
}

/* --- the engine
 * ----------------------------------------------------------------- */

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
	if (e->log_dir && mkdir_p(e->log_dir) == 0)
		e->logs_ready = true;
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
	libssh2_exit();
	free(e);
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
