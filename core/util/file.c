/* SPDX-License-Identifier: MIT */
/* Crash-safe file replacement, directories made on the way, the clock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_dir_of(const char *path)
{
	char *dir = dir_of(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0, e = 0;

	free(dir);
	if (fd < 0)
		return -1;
	if (fsync(fd)) {
		e = errno;
		rc = -1;
	}
	close(fd);
	if (rc)
		errno = e;
	return rc;
}

static int fail(struct error *err, const char *file, const char *what,
		const char *doing, int e)
{
	if (what)
		return error_set(err, DEPLOY_ERR_IO, file, 0, 0,
				 "cannot %s %s: %s", doing, what, strerror(e));
	return error_set(err, DEPLOY_ERR_IO, file, 0, 0, "cannot %s: %s", doing,
			 strerror(e));
}

int file_replace(const char *path, const void *data, size_t len, mode_t mode,
		 const char *backup, const char *what, struct error *err)
{
	struct buf tmp = BUF_INIT;
	int fd, rc = 0;

	buf_addf(&tmp, "%s.tmp.%d", path, (int)getpid());
	unlink(tmp.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = fail(err, tmp.data, what, "write", errno);
		goto out;
	}
	if (fchmod(fd, mode) || write_all(fd, data, len) || fsync(fd)) {
		rc = fail(err, tmp.data, what, "write", errno);
		close(fd);
		goto out;
	}
	if (close(fd)) {
		rc = fail(err, tmp.data, what, "write", errno);
		goto out;
	}
	if (backup) {
		unlink(backup);
		if (link(path, backup) && errno != ENOENT) {
			rc = error_set(err, DEPLOY_ERR_IO, backup, 0, 0,
				       "cannot keep the backup: %s",
				       strerror(errno));
			goto out;
		}
	}
	if (rename(tmp.data, path)) {
		rc = fail(err, path, what, "write", errno);
		goto out;
	}
	if (fsync_dir_of(path))
		rc = fail(err, path, what, "write", errno);
out:
	if (rc)
		unlink(tmp.data);
	buf_free(&tmp);
	return rc;
}

int mkdir_p(const char *path, mode_t mode, struct error *err)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(p, mode) && errno != EEXIST)
		goto fail;
	free(p);
	return 0;
fail:
	rc = error_set(err, DEPLOY_ERR_IO, p, 0, 0, "cannot make directory: %s",
		       strerror(errno));
	free(p);
	return rc;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
