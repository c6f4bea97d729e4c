/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PROC_H
#define DEPLOY_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * Running local programs (ip, mount helpers, debootstrap, systemd-nspawn)
 * without a shell: argv is passed as it is, so no value is ever interpreted.
 */

/*
 * The programs deploy runs do not get the secrets in its environment: the
 * cloud credentials and the key passphrase it reads (AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, DIGITALOCEAN_TOKEN,
 * DIGITALOCEAN_ACCESS_TOKEN, DEPLOY_SSH_KEY_PASSPHRASE) and every variable
 * named here: a topology secret's, once read (systemd-nspawn, which runs
 * on after deploy, would keep them in its environment).
 */
void proc_env_hide(const char *name);
/* Unset them all here: in a child, before it runs another program. */
void proc_env_scrub(void);

struct proc_result {
	int status;	/* exit code, or 128 + signal */
	struct buf out; /* stdout and stderr together, capped */
	bool timed_out;
};

/*
 * Run argv[0] (looked up in PATH) with argv, stdin from /dev/null, wait at
 * most timeout_ms (then SIGTERM, and SIGKILL 2 s later). Output is kept up
 * to `cap` bytes (the rest is read and dropped). env: extra "K=V" entries
 * or NULL. Returns 0 when the program ran (whatever its exit code: see
 * res->status), or a code with err set when it could not be started.
 */
int proc_run(char *const argv[], char *const env[], int timeout_ms, size_t cap,
	     struct proc_result *res, struct error *err);
void proc_result_free(struct proc_result *res);

/*
 * Like proc_run, but 0 only when the program exited 0; otherwise err names
 * the program, its exit status and the last line of its output.
 */
int proc_check(char *const argv[], char *const env[], int timeout_ms,
	       struct error *err);

/*
 * Start argv in the background in a new session, stdout and stderr
 * appended to log_path, stdin /dev/null; *pid is its process id. The
 * caller owns it (and reaps it, or leaves it to run past this process).
 * keep_fd (or -1) is given to the program as its fd 3: a lock it holds
 * for as long as it runs.
 */
int proc_spawn_detached(char *const argv[], char *const env[],
			const char *log_path, int keep_fd, pid_t *pid,
			struct error *err);

/* Wait up to timeout_ms for pid (our child or not) to exit and be reaped (a
 * zombie is still there), polling less often as it takes longer; 0 if it
 * is gone. */
int proc_wait_gone(pid_t pid, int timeout_ms);

#endif
