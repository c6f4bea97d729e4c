/* SPDX-License-Identifier: MIT */
/* SSH engine: each host's whole output in LOG_DIR/HOST.log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ssh/engine-internal.h"
#include "util/file.h"
#include "util/path.h"
#include "util/banned.h"

void log_write(struct ssh_host *h, const char *data, size_t len)
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

void log_printf(struct ssh_host *h, const char *fmt, ...)
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

void log_header(struct ssh_host *h, const struct job *j)
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

/*
 * Make LOG_DIR (mode 0700) before the run; logs are kept only when that
 * worked. Its parent is made 0700 too: for `.deploy/logs` that is .deploy,
 * which also holds the state and keys (docs/state.md).
 */
void log_dir_make(struct ssh_engine *e)
{
	struct error err;
	char *parent;

	if (!e->log_dir)
		return;
	error_init(&err);
	parent = dir_of(e->log_dir);
	if (!mkdir_p(parent, 0700, &err) && !mkdir_p(e->log_dir, 0700, &err))
		e->logs_ready = true;
	free(parent);
	error_clear(&err);
}
