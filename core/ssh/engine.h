/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SSH_ENGINE_H
#define DEPLOY_SSH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/redact.h"

/*
 * The SSH engine: many hosts at once over non-blocking libssh2 sessions on
 * one libuv loop, no thread per host (docs/ssh.md describes the behaviour
 * users see).
 *
 * Each host gets one session for the whole run, driven as a state machine:
 * connect, handshake, host key check, authentication (ssh-agent, then key
 * files), then channels. Commands queued on a host with ssh_exec() run one
 * after the other, each on its own channel of that session. A host with a
 * bastion (`via`) is reached through a direct-tcpip channel on the
 * bastion's session, pumped to and from a socketpair whose other end the
 * inner session uses as its socket; many hosts share one bastion session,
 * and a bastion may itself have a bastion.
 *
 * The engine never prints. It reports each command's outcome through the
 * callbacks given to ssh_exec(), and writes each host's whole output to
 * LOG_DIR/HOST.log when a log directory is set.
 */

struct ssh_engine;
struct ssh_host;

enum ssh_host_keys {
	SSH_HOST_KEYS_ACCEPT_NEW, /* record a new key; a changed key fails */
	SSH_HOST_KEYS_STRICT,	  /* an unknown key fails too */
};

/*
 * Ask for the passphrase of the encrypted key at key_path: write it,
 * NUL-terminated, into buf and return 0, or return -1 when there is no way
 * to ask. Called before any connection is made, once per key.
 */
typedef int ssh_passphrase_fn(void *data, const char *key_path, char *buf,
			      size_t size);

#define SSH_DEFAULT_PARALLEL	       64
#define SSH_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define SSH_DEFAULT_AUTH_TIMEOUT_MS    30000
#define SSH_DEFAULT_COMMAND_TIMEOUT_MS 600000
#define SSH_DEFAULT_ATTEMPTS	       3
#define SSH_DEFAULT_CAPTURE	       (1u << 20)

struct ssh_options {
	unsigned parallel; /* hosts worked on at once (bastions not counted) */
	/* Reaching a host: resolving, TCP connect, SSH handshake and host key
	 * check, across all attempts. */
	unsigned connect_timeout_ms;
	unsigned auth_timeout_ms;
	unsigned command_timeout_ms; /* each command */
	unsigned max_attempts;	     /* connection attempts per host */
	enum ssh_host_keys host_keys;
	const char *known_hosts; /* path; NULL: ~/.ssh/known_hosts */
	const char *log_dir;	 /* NULL: no logs */
	size_t capture_max;	 /* bytes kept per stream and command */
	/* For encrypted keys; copied, and the copy wiped when done. */
	const char *passphrase;
	ssh_passphrase_fn *ask_passphrase; /* MAY be NULL */
	void *ask_data;
	/* A key tried after the default ones (the key `deploy up` made for
	 * the topology), for hosts that name no key. MAY be NULL. */
	const char *fallback_key;
	/* Secret values a host's output may carry: raw, base64 or
	 * URL-encoded, each becomes "[secret NAME]" in the host's log, in
	 * what output() is given and in the result's streams, even when it
	 * arrives split across packets (util/redact.h). The caller keeps them
	 * until the engine is freed. MAY be NULL. */
	const struct redact_secret *secrets;
	size_t nr_secrets;
};

/* The options above with every 0 replaced by its default. */
void ssh_options_init(struct ssh_options *o);

struct ssh_target {
	const char *name;    /* in messages and the log file's name */
	const char *address; /* IP address or DNS name */
	int port;
	const char *user;
	const char *key;      /* private key file; NULL: the default ones */
	struct ssh_host *via; /* reached through this host, or NULL */
	/* The host key pinned in the state file ("ssh-ed25519 AAAA..."):
	 * checked instead of known_hosts. MAY be NULL. */
	const char *pinned_key;
};

enum ssh_status {
	SSH_OK,		 /* the command ran and exited 0 */
	SSH_FAILED,	 /* it ran and failed, or the host refused us */
	SSH_UNREACHABLE, /* no working connection to the host */
};

/* Why a host did not answer, or stopped answering. */
enum ssh_why {
	SSH_WHY_NONE,	  /* it answered (its command may still have failed) */
	SSH_WHY_REFUSED,  /* the connection was refused (or, behind a bastion,
			   * the bastion could not connect) */
	SSH_WHY_TIMEOUT,  /* no answer within the connect timeout */
	SSH_WHY_HOST_KEY, /* its host key was refused (changed, or unknown
			   * under strict checking) */
	SSH_WHY_AUTH,	  /* it refused our login */
	SSH_WHY_BASTION,  /* a bastion on its way is down: why_host names it */
	SSH_WHY_LOST,	  /* the connection broke after it was made */
	SSH_WHY_OTHER,	  /* anything else: the message says */
};

/* "refused", "timeout", "host-key", "auth", "bastion-down", "lost",
 * "unreachable" (other), or "yes" for SSH_WHY_NONE. */
const char *ssh_why_name(enum ssh_why why);

struct ssh_result {
	enum ssh_status status;
	/* When status is not SSH_OK and the host itself failed: why. */
	enum ssh_why why;
	/* For SSH_WHY_BASTION: the first bastion on the way that is down
	 * (valid during the callback only). */
	const char *why_host;
	int exit_code;	      /* -1 when there is none */
	char exit_signal[32]; /* "TERM" when killed by a signal, or "" */
	struct error err;     /* why, when status is not SSH_OK */
	/* The end of each stream, at most capture_max bytes; *_dropped
	 * counts the bytes before it that were not kept. */
	struct buf out;
	struct buf errout;
	uint64_t out_dropped;
	uint64_t err_dropped;
	uint64_t elapsed_ms;
};

struct ssh_exec_ops {
	/* MAY: output as it arrives, stream 1 (stdout) or 2 (stderr). */
	void (*output)(void *data, struct ssh_host *h, int stream,
		       const char *buf, size_t len);
	/* MUST: the command is over (or never ran); r is valid during the
	 * call only. */
	void (*done)(void *data, struct ssh_host *h,
		     const struct ssh_result *r);
};

/* Run the command as root: through `sudo -n` when the user is not root. */
#define SSH_EXEC_ROOT 0x1

int ssh_engine_new(const struct ssh_options *opts, struct ssh_engine **out,
		   struct error *err);
void ssh_engine_free(struct ssh_engine *e);

/* Add a host; nothing is contacted before ssh_engine_run(). */
int ssh_engine_add_host(struct ssh_engine *e, const struct ssh_target *t,
			struct ssh_host **out, struct error *err);
const char *ssh_host_name(const struct ssh_host *h);

/*
 * Queue `command` (a shell command line, run by the user's shell) on h.
 * ops->done runs exactly once for it, unless this returns an error.
 */
int ssh_exec(struct ssh_host *h, const char *command, unsigned flags,
	     const struct ssh_exec_ops *ops, void *data, struct error *err);
/*
 * The same, with `input` (input_len bytes) sent to the command's standard
 * input, then end-of-file. The input is copied, never logged, and wiped
 * when the command is done: it may hold secrets (a compiled script), which
 * must not travel on the command line, where any user of the host could
 * read them in the process list.
 */
int ssh_exec_input(struct ssh_host *h, const char *command, unsigned flags,
		   const char *input, size_t input_len,
		   const struct ssh_exec_ops *ops, void *data,
		   struct error *err);

/*
 * The same, with the file at `path` as the command's standard input, then
 * end-of-file: read FILE_CHUNK (64 KiB) at a time as the channel's window
 * takes it, so that a file of any size costs one chunk of memory. While the
 * file goes out, the command's deadline is idle_ms after the last byte
 * sent (a transfer that stalls fails; one that moves is never cut short);
 * after its end, the command timeout. The file is opened here (an error
 * when it cannot be) and closed when the command is done. A file that
 * cannot be read to its end has its end-of-file sent early: the command
 * must check what it got (a digest), and the result's error says why.
 */
int ssh_exec_file(struct ssh_host *h, const char *command, unsigned flags,
		  const char *path, unsigned idle_ms,
		  const struct ssh_exec_ops *ops, void *data,
		  struct error *err);

/*
 * Keep h's session open while it is held, even with no command queued
 * (hosts connected and probed early, whose next command waits for
 * something else on the loop); h keeps its --parallel slot. Released, an
 * idle session closes as usual.
 */
void ssh_host_hold(struct ssh_host *h, bool hold);

/*
 * An HTTP client (core/http) on the engine's loop: its exchanges go on
 * while ssh_engine_run() works, and keep it running until they end. Made
 * on first use, freed with the engine (exchanges still under way are cut:
 * keep what they point to until ssh_engine_free()). NULL when curl cannot
 * start.
 */
struct http_client;
struct http_client *ssh_engine_http(struct ssh_engine *e);

/*
 * Work until every queued command is done, the hosts' sessions closed,
 * the HTTP exchanges on the engine's loop ended and new host keys written
 * to known_hosts. Per-host failures go to the
 * callbacks; this fails only for the run as a whole (known_hosts could not
 * be written).
 */
int ssh_engine_run(struct ssh_engine *e, struct error *err);

/*
 * File descriptors: each host worked on holds at most SSH_FDS_PER_HOST
 * (socket, log file, agent, the bastion's end of its tunnel, the file an
 * ssh_exec_file() command reads).
 * ssh_fit_open_files() raises the soft RLIMIT_NOFILE up to the hard limit
 * to make room for `want` hosts at once plus `extra` bastions, and returns
 * how many hosts fit (at least 1, at most want).
 */
#define SSH_FDS_PER_HOST 5
unsigned ssh_fit_open_files(unsigned want, unsigned extra);

/* `sh -c` quoting: "it's" becomes 'it'\''s', appended to out. */
void ssh_shell_quote(struct buf *out, const char *s);

#endif
