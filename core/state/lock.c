/* SPDX-License-Identifier: MIT */
/* The local run lock: flock on .deploy/NAME.lock, naming its holder. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct state_lock {
	int fd;
};

static void holder_line(const char *command, struct buf *out)
{
	const struct passwd *pw = getpwuid(getuid());
	char host[256] = "?", when[32];
	time_t now = time(NULL);
	struct tm tm;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_addf(out, "pid %d, %s@%s, '%s', since %s\n", (int)getpid(),
		 pw ? pw->pw_name : "?", host, command, when);
}

static char *read_holder(int fd)
{
	char text[1024];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n <= 0)
		return xstrdup("a process that left no note");
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	return xstrdup(text);
}

int state_lock(const char *path, const char *command, int timeout_s,
	       struct state_lock **out, struct error *err)
{
	struct buf line = BUF_INIT;
	char *dir = dir_of(path);
	time_t deadline = time(NULL) + (timeout_s > 0 ? timeout_s : 0);
	int fd, rc;

	*out = NULL;
	rc = mkdir_p(dir, 0700, err);
	free(dir);
	if (rc)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot open the lock: %s", strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		char *holder;

		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
					 "cannot lock: %s", strerror(errno));
		}
		if (time(NULL) < deadline) {
			usleep(200000);
			continue;
		}
		holder = read_holder(fd);
		close(fd);
		error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
			  "another deploy holds the lock (%s)%s; wait for "
			  "it, or run 'deploy unlock' if it is stuck",
			  holder,
			  timeout_s > 0 ? ", and --lock-timeout passed" : "");
		free(holder);
		return DEPLOY_ERR_INVALID;
	}
	holder_line(command, &line);
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) ||
	    write_all(fd, line.data, line.len)) {
		buf_free(&line);
		close(fd);
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot write the lock: %s", strerror(errno));
	}
	buf_free(&line);
	*out = xcalloc(1, sizeof(**out));
	(*out)->fd = fd;
	return 0;
}

void state_unlock(struct state_lock *l)
{
	if (!l)
		return;
	if (ftruncate(l->fd, 0)) {
		/* The note stays; it is only a note: the flock is what locks.
		 */
	}
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l);
}

char *state_lock_holder(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char *holder = NULL;

	if (fd < 0)
		return NULL;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		flock(fd, LOCK_UN); /* nobody holds it */
	else
		holder = read_holder(fd);
	close(fd);
	return holder;
}

int state_lock_break(const char *path, struct error *err)
{
	if (unlink(path) && errno != ENOENT)
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot remove the lock: %s", strerror(errno));
	return 0;
}
