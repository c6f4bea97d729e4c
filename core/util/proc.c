/* SPDX-License-Identifier: MIT */
/* Local programs run without a shell: bounded runs, detached spawns. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/file.h"
#include "util/proc.h"
#include "util/xalloc.h"
#include "util/banned.h"

extern char **environ;

/* What is never passed on (proc.h); and the names added. */
static const char *const secret_vars[] = {
	"AWS_SECRET_ACCESS_KEY",     "AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN",	     "DIGITALOCEAN_TOKEN",
	"DIGITALOCEAN_ACCESS_TOKEN", "DEPLOY_SSH_KEY_PASSPHRASE",
};
static char **hidden;
static size_t nr_hidden;

void proc_env_hide(const char *name)
{
	for (size_t i = 0; i < nr_hidden; i++)
		if (!strcmp(hidden[i], name))
			return;
	hidden = xrealloc(hidden, (nr_hidden + 1) * sizeof(*hidden));
	hidden[nr_hidden++] = xstrdup(name);
}

void proc_env_scrub(void)
{
	for (size_t i = 0; i < sizeof(secret_vars) / sizeof(*secret_vars); i++)
		unsetenv(secret_vars[i]);
	for (size_t i = 0; i < nr_hidden; i++)
		unsetenv(hidden[i]);
}

/* Whether entry ("K=V") names a variable kept from what deploy runs. */
static bool is_hidden(const char *entry)
{
	size_t n = strcspn(entry, "=");

	for (size_t i = 0; i < sizeof(secret_vars) / sizeof(*secret_vars); i++)
		if (strlen(secret_vars[i]) == n &&
		    !strncmp(entry, secret_vars[i], n))
			return true;
	for (size_t i = 0; i < nr_hidden; i++)
		if (strlen(hidden[i]) == n && !strncmp(entry, hidden[i], n))
			return true;
	return false;
}

/* environ without the secrets, plus extra "K=V" entries; the array is
 * ours, strings borrowed. */
static char **make_env(char *const extra[])
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = xcalloc(n + m + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (!is_hidden(environ[i]))
			env[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		env[k++] = extra[i];
	return env;
}

static int spawn(char *const argv[], char *const extra_env[], int out_fd,
		 int keep_fd, bool new_session, pid_t *pid, struct error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char **env = make_env(extra_env);
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	if (keep_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, keep_fd, 3);
	if (new_session)
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(env);
	if (rc)
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "cannot run '%s': %s", argv[0], strerror(rc));
	return 0;
}

int proc_run(char *const argv[], char *const env[], int timeout_ms, size_t cap,
	     struct proc_result *res, struct error *err)
{
	long long deadline = now_ms() + timeout_ms, kill_at = 0;
	int fds[2], rc, wstatus = 0;
	bool open = true;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out, 0);
	if (pipe2(fds, O_CLOEXEC))
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "cannot make a pipe: %s", strerror(errno));
	rc = spawn(argv, env, fds[1], -1, false, &pid, err);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		return rc;
	}
	while (open) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		long long left = (kill_at ? kill_at : deadline) - now_ms();
		char chunk[4096];
		ssize_t n;

		if (left <= 0) {
			if (!kill_at) {
				res->timed_out = true;
				kill(pid, SIGTERM);
				kill_at = now_ms() + 2000;
				continue;
			}
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			open = false;
			break;
		}
		if (res->out.len < cap)
			buf_add(&res->out, chunk,
				(size_t)n < cap - res->out.len
					? (size_t)n
					: cap - res->out.len);
	}
	close(fds[0]);
	if (!open && !res->timed_out) {
		/* Output closed: the program is ending; bound the wait too. */
		while (waitpid(pid, &wstatus, WNOHANG) == 0) {
			if (now_ms() > deadline) {
				res->timed_out = true;
				kill(pid, SIGKILL);
			}
			usleep(2000);
		}
	} else {
		kill(pid, SIGKILL);
		waitpid(pid, &wstatus, 0);
	}
	if (WIFEXITED(wstatus))
		res->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		res->status = 128 + WTERMSIG(wstatus);
	return 0;
}

void proc_result_free(struct proc_result *res)
{
	buf_free(&res->out);
}

static const char *last_line(struct buf *b)
{
	char *end;

	while (b->len &&
	       (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
		b->data[--b->len] = '\0';
	end = strrchr(b->data, '\n');
	return end ? end + 1 : b->data;
}

int proc_check(char *const argv[], char *const env[], int timeout_ms,
	       struct error *err)
{
	struct proc_result res;
	int rc = proc_run(argv, env, timeout_ms, 16384, &res, err);

	if (rc)
		return rc;
	if (res.timed_out)
		rc = error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
			       "'%s' did not finish within %d s", argv[0],
			       timeout_ms / 1000);
	else if (res.status)
		rc = error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
			       "'%s' failed (exit %d): %s", argv[0], res.status,
			       last_line(&res.out));
	proc_result_free(&res);
	return rc;
}

int proc_spawn_detached(char *const argv[], char *const env[],
			const char *log_path, int keep_fd, pid_t *pid,
			struct error *err)
{
	int fd =
		open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return error_set(err, DEPLOY_ERR_IO, log_path, 0, 0,
				 "cannot open: %s", strerror(errno));
	rc = spawn(argv, env, fd, keep_fd, true, pid, err);
	close(fd);
	return rc;
}

int proc_wait_gone(pid_t pid, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	useconds_t pause = 10000;

	for (;;) {
		/* Reap it if it is our child; otherwise see if it exists. */
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		if (kill(pid, 0) && errno == ESRCH)
			return 0;
		if (now_ms() > deadline)
			return -1;
		usleep(pause);
		if (pause < 250000)
			pause *= 2;
	}
}
