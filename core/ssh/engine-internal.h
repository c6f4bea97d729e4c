/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SSH_ENGINE_INTERNAL_H
#define DEPLOY_SSH_ENGINE_INTERNAL_H

/*
 * What the parts of the SSH engine share (engine.c, engine-connect.c,
 * engine-auth.c, engine-tunnel.c, engine-job.c, engine-log.c); nothing
 * outside core/ssh/ includes this. The API is engine.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libssh2.h>
#include <uv.h>

#include "ssh/engine.h"
#include "ssh/known_hosts.h"
#include "util/buf.h"
#include "util/error.h"

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
#define FILE_CHUNK	  (64u << 10) /* ssh_exec_file(): read at a time */
#define ERR_HEAD	  256
#define BACKOFF_BASE_MS	  250
#define BACKOFF_MAX_MS	  4000
#define CLOSE_TIMEOUT_MS  2000
#define KILL_TIMEOUT_MS	  10000 /* killing a timed-out command's processes */
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
	/* ssh_exec_file(): stdin is this file, FILE_CHUNK bytes at a time
	 * in chunk; -1 for every other job. */
	int input_fd;
	char *chunk;
	size_t chunk_len;
	size_t chunk_off;
	bool input_eof;
	int input_errno;   /* reading it failed: the rest was not sent */
	unsigned idle_ms;  /* while sending it: the deadline after progress */
	uint64_t sent;	   /* bytes of it that went out */
	uint64_t in_total; /* its size when opened */
	bool sudo;
	const struct ssh_exec_ops *ops;
	void *data;
	enum job_state state;
	LIBSSH2_CHANNEL *ch;
	struct tail out;
	struct tail err;
	struct redactor redact[2]; /* stdout, stderr: the secrets out */
	/* DEPLOY_JOB=tag is in the environment of the command and of every
	 * process it starts: on a timeout, they are found by it and killed
	 * (libssh2 cannot signal a channel's process). */
	char tag[33];
	bool kill;		 /* this job kills the processes of h->hung */
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
	bool held;	   /* ssh_host_hold(): stays open when idle */
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
	struct job *cur;       /* running */
	struct job *hung;      /* timed out: its processes are being killed */
	struct error hang_why; /* what hung will be reported with */
	enum ssh_status fail_status;
	enum ssh_why why;     /* set before host_fail(), or from its code */
	const char *why_host; /* SSH_WHY_BASTION: which bastion */
	struct error err;     /* why the host failed */
	bool failed;
	int log_fd;
	bool log_midline; /* the log's last byte is not a newline */
};

struct ssh_engine {
	struct ssh_options opts;
	/* Every form of every secret, shared by the redactors of every
	 * command's two streams (util/redact.h). */
	struct redact_set secrets;
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
	struct http_client *http; /* ssh_engine_http(), or NULL */
};

/* engine.c */
uint64_t engine_now(struct ssh_engine *e);
void fmt_secs(char *out, size_t size, uint64_t ms);
const char *ssh_errmsg(struct ssh_host *h);
int last_errno(struct ssh_host *h);
bool session_dead(int rc);
struct poller *poller_new(struct ssh_host *h, int fd);
void poller_close(struct poller **pp);
void timer_stop(struct ssh_host *h);
void timer_at(struct ssh_host *h, uint64_t when);
void timer_cb(uv_timer_t *timer);
void session_drop(struct ssh_host *h);
void host_fail(struct ssh_host *h, enum ssh_status status, int code,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void host_fail_bastion(struct ssh_host *h, struct ssh_host *b);
bool wait_io(struct ssh_host *h, void *user);
void unblock(struct ssh_host *h, void *user);
void host_drive(struct ssh_host *h);
void host_need(struct ssh_host *h);
void release_slot(struct ssh_host *h);
void start_more(struct ssh_engine *e);

/* engine-connect.c */
void attempt_failed(struct ssh_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void session_start(struct ssh_host *h);
void begin_attempt(struct ssh_host *h);
void step_connect(struct ssh_host *h);
void step_handshake(struct ssh_host *h);
void kh_flush_now(struct ssh_engine *e);

/* engine-auth.c */
void agent_drop(struct ssh_host *h);
void step_auth_list(struct ssh_host *h);
void step_auth_agent(struct ssh_host *h);
void step_auth_key(struct ssh_host *h);
void host_keys(struct ssh_engine *e, struct ssh_host *h, const char *key);
void keys_prepare(struct ssh_engine *e);

/* engine-tunnel.c */
void tunnel_let_go(struct ssh_host *h);
void tunnel_destroy(struct tunnel *t);
void tunnel_request(struct ssh_host *h);
bool tunnel_step(struct ssh_host *b, struct tunnel *t);
int tunnel_events(const struct tunnel *t);

/* engine-job.c */
void job_free(struct job *j);
void fail_jobs(struct ssh_host *h);
void job_begin(struct ssh_host *h);
/* The running command timed out: kill its processes on the host (a job of
 * its own, first in line), then fail the host. False when that cannot be
 * tried (the caller fails the host at once). */
bool job_kill_hung(struct ssh_host *h, const char *why);
bool job_step(struct ssh_host *h);

/* engine-log.c */
void log_dir_make(struct ssh_engine *e);
void log_write(struct ssh_host *h, const char *data, size_t len);
void log_printf(struct ssh_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_header(struct ssh_host *h, const struct job *j);

#endif
