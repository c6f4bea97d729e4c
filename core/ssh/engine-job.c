/* SPDX-License-Identifier: MIT */
/* SSH engine: commands, each on its own channel; output and outcome. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssh/engine-internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* --- the tail of a stream --------------------------------------------------
 */

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

/* --- jobs ------------------------------------------------------------------
 */

void job_free(struct job *j)
{
	free(j->command);
	free(j->wire);
	freezero(j->input, j->input_len);
	if (j->input_fd >= 0)
		close(j->input_fd);
	free(j->chunk);
	tail_free(&j->out);
	tail_free(&j->err);
	redactor_free(&j->redact[0]);
	redactor_free(&j->redact[1]);
	free(j);
}

/* Hand the outcome to the caller, log it, free the job. */
static void job_report(struct ssh_host *h, struct job *j,
		       enum ssh_status status, int exit_code,
		       const char *signal, const struct error *why)
{
	struct ssh_result r;
	char secs[32];

	/* What the redactors held back (a possible start of a secret that
	 * never came) goes out before the end is told. */
	for (int s = 0; s < 2; s++) {
		struct buf rest = BUF_INIT;

		redactor_flush(&j->redact[s], &rest);
		if (rest.len) {
			tail_add(s ? &j->err : &j->out, rest.data, rest.len);
			log_write(h, rest.data, rest.len);
			if (j->ops->output)
				j->ops->output(j->data, h, s + 1, rest.data,
					       rest.len);
		}
		buf_free(&rest);
	}
	memset(&r, 0, sizeof(r));
	r.status = status;
	r.exit_code = exit_code;
	snprintf(r.exit_signal, sizeof(r.exit_signal), "%s",
		 signal ? signal : "");
	if (why)
		r.err = *why;
	r.err.file = NULL; /* not ours to share */
	if (status != SSH_OK && h->failed && why == &h->err) {
		r.why = h->why;
		r.why_host = h->why_host;
	}
	buf_init(&r.out, 0);
	buf_init(&r.errout, 0);
	r.out_dropped = tail_take(&j->out, &r.out);
	r.err_dropped = tail_take(&j->err, &r.errout);
	r.elapsed_ms = j->started ? engine_now(h->e) - j->started : 0;
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
void fail_jobs(struct ssh_host *h)
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
		       const char *raw, size_t raw_len)
{
	struct buf clean = BUF_INIT;
	const char *data = raw;
	size_t len = raw_len;

	/* Nothing of the host's output goes anywhere before the secrets in
	 * it are out: not the log, not the caller, not the kept ends. */
	if (h->e->opts.nr_secrets) {
		redactor_feed(&j->redact[stream == 1 ? 0 : 1], raw, raw_len,
			      &clean);
		data = clean.data;
		len = clean.len;
	}
	if (!len) {
		buf_free(&clean);
		return;
	}
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
	buf_free_secret(&clean);
}

/* --- running a command -----------------------------------------------------
 */

void job_begin(struct ssh_host *h)
{
	struct ssh_engine *e = h->e;
	struct job *j = h->jobs;

	h->jobs = j->next;
	if (!h->jobs)
		h->jobs_tail = &h->jobs;
	j->next = NULL;
	h->cur = j;
	j->state = JS_OPEN;
	j->started = engine_now(e);
	log_header(h, j);
	h->deadline = j->started +
		      (j->kill ? KILL_TIMEOUT_MS : e->opts.command_timeout_ms);
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
	if (j->input_errno)
		error_set(&why, DEPLOY_ERR_IO, NULL, 0, 0,
			  "host '%s': reading the file sent failed after "
			  "%llu bytes: %s",
			  h->name, (unsigned long long)j->sent,
			  strerror(j->input_errno));
	else if (j->sudo && code == 1 && sudo_said(j, "password is required"))
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
	if (j->input_errno && !code)
		code = -1;
	job_report(h, j, code ? SSH_FAILED : SSH_OK, code, NULL,
		   code ? &why : NULL);
}

/* The session broke while a command was under way. */
static void job_broke(struct ssh_host *h, const char *what)
{
	h->why = SSH_WHY_LOST;
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

/* A file's bytes went out: its deadline moves (ssh_exec_file()). */
static void file_moved(struct ssh_host *h, struct job *j)
{
	h->deadline = engine_now(h->e) + j->idle_ms;
	timer_at(h, h->deadline);
}

/*
 * The next bytes of the file for the channel, in j->chunk; false at its
 * end (or when it cannot be read: j->input_errno says so).
 */
static bool file_next(struct job *j)
{
	ssize_t n;

	if (j->chunk_off < j->chunk_len)
		return true;
	if (j->input_eof)
		return false;
	do
		n = read(j->input_fd, j->chunk, FILE_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0)
			j->input_errno = errno;
		j->input_eof = true;
		return false;
	}
	j->chunk_len = (size_t)n;
	j->chunk_off = 0;
	return true;
}

/* What is left to send: the input's bytes, or the file's next chunk. */
static bool input_left(struct job *j, const char **p, size_t *len)
{
	if (j->input_fd >= 0) {
		if (!file_next(j))
			return false;
		*p = j->chunk + j->chunk_off;
		*len = j->chunk_len - j->chunk_off;
		return true;
	}
	*p = j->input + j->input_off;
	*len = j->input_len - j->input_off;
	return j->input_off < j->input_len;
}

static void input_sent(struct job *j, size_t n)
{
	if (j->input_fd >= 0) {
		j->chunk_off += n;
		j->sent += n;
	} else {
		j->input_off += n;
	}
}

/*
 * Send the command its input, then EOF. When the channel's window is full
 * the far side may be waiting for us to read what it wrote: read what is
 * there before waiting, so that neither side waits for the other.
 */
static bool job_write(struct ssh_host *h, struct job *j)
{
	bool progress = false, moved = false;
	const char *p;
	size_t len;
	int rc;

	while (input_left(j, &p, &len)) {
		ssize_t n = libssh2_channel_write(j->ch, p, len);

		if (n > 0) {
			unblock(h, j);
			input_sent(j, (size_t)n);
			progress = moved = true;
			continue;
		}
		if (n != LIBSSH2_ERROR_EAGAIN) {
			job_broke(h, "sending the command its input");
			return true;
		}
		if (moved && j->idle_ms)
			file_moved(h, j);
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
	if (j->idle_ms) {
		/* The rest (checking what was sent) has the command's time. */
		h->deadline = engine_now(h->e) + h->e->opts.command_timeout_ms;
		timer_at(h, h->deadline);
	}
	j->state = JS_READ;
	return true;
}

bool job_step(struct ssh_host *h)
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
		j->state = j->input || j->input_fd >= 0 ? JS_WRITE : JS_READ;
		if (j->idle_ms)
			file_moved(h, j);
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

/* --- queueing --------------------------------------------------------------
 */

int ssh_exec(struct ssh_host *h, const char *command, unsigned flags,
	     const struct ssh_exec_ops *ops, void *data, struct error *err)
{
	return ssh_exec_input(h, command, flags, NULL, 0, ops, data, err);
}

/* A tag no other command on any host shares: 32 hex digits. */
static void make_tag(char out[33])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* No entropy: time, pid and address are unique enough. */
		unsigned long long t = (unsigned long long)time(NULL);
		unsigned long long p = (unsigned long long)getpid();
		unsigned long long a = (unsigned long long)(uintptr_t)out;

		memcpy(r, &t, 8);
		t = p << 32 ^ a;
		memcpy(r + 8, &t, 8);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/*
 * What goes on the wire: the command with DEPLOY_JOB=TAG exported first
 * (through `sudo -n -- sh -c` when it runs as root for another user, as
 * sudo clears the environment), so that every process it starts carries
 * the tag.
 */
static void job_wire(struct job *j, const char *command)
{
	struct buf cmd = BUF_INIT, wire = BUF_INIT;

	make_tag(j->tag);
	buf_addf(&cmd, "DEPLOY_JOB=%s; export DEPLOY_JOB; %s", j->tag, command);
	if (j->sudo) {
		buf_adds(&wire, "sudo -n -- sh -c ");
		ssh_shell_quote(&wire, cmd.data);
		j->wire = buf_release(&wire);
	} else {
		j->wire = buf_release(&cmd);
	}
	buf_free(&cmd);
}

static void kill_done(void *data, struct ssh_host *h,
		      const struct ssh_result *r)
{
	struct job *hung = h->hung;
	struct error why = *(const struct error *)data;

	h->hung = NULL;
	if (!hung)
		return;
	if (r->status == SSH_OK)
		log_printf(h, "== the timed-out command's processes on the "
			      "host were killed\n");
	else
		log_printf(h,
			   "== the timed-out command's processes on the "
			   "host could not be killed: %s\n",
			   r->err.msg);
	job_report(h, hung, SSH_FAILED, -1, NULL, &why);
	host_fail(h, SSH_FAILED, why.code, "%s", why.msg);
}

static const struct ssh_exec_ops kill_ops = { NULL, kill_done };

bool job_kill_hung(struct ssh_host *h, const char *why)
{
	struct job *j = h->cur, *k;
	struct buf cmd = BUF_INIT;

	if (!j || j->kill || h->hung || h->blocked == j)
		return false;
	/* Every process but this one whose environment holds the tag. */
	buf_addf(&cmd,
		 "t=DEPLOY_JOB=%s; for d in /proc/[0-9]*; do "
		 "[ \"$d\" = /proc/$$ ] && continue; "
		 "grep -qzx \"$t\" \"$d/environ\" 2>/dev/null && "
		 "kill -KILL \"${d#/proc/}\" 2>/dev/null; done; exit 0",
		 j->tag);
	k = xcalloc(1, sizeof(*k));
	k->input_fd = -1;
	k->kill = true;
	k->sudo = j->sudo;
	k->command = xstrdup("(kill the timed-out command's processes)");
	job_wire(k, cmd.data);
	buf_free(&cmd);
	k->ops = &kill_ops;
	/* The reason outlives the timer's stack: keep it in the host. */
	error_set(&h->hang_why, DEPLOY_ERR_TIMEOUT, NULL, 0, 0, "%s", why);
	k->data = &h->hang_why;
	k->out.max = 4096;
	k->err.max = 4096;
	redactor_init(&k->redact[0]);
	redactor_init(&k->redact[1]);
	/* The hung command leaves the stage; its channel stays open (the
	 * session goes with the host) until its processes are gone. */
	h->hung = j;
	h->cur = NULL;
	k->next = h->jobs;
	h->jobs = k;
	if (!k->next)
		h->jobs_tail = &k->next;
	host_drive(h);
	return true;
}

/* A new job for h, or an error when h's session is over for good. */
static struct job *job_new(struct ssh_host *h, const char *command,
			   unsigned flags, const struct ssh_exec_ops *ops,
			   void *data, struct error *err)
{
	struct ssh_engine *e = h->e;
	struct job *j;

	if (h->state == HS_DONE) {
		error_set(err, DEPLOY_ERR_UNREACHABLE, NULL, 0, 0, "%s",
			  h->failed ? h->err.msg
				    : "the host's session is closed");
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->input_fd = -1;
	j->command = xstrdup(command);
	j->sudo = (flags & SSH_EXEC_ROOT) && strcmp(h->user, "root");
	job_wire(j, command);
	j->ops = ops;
	j->data = data;
	j->out.max = e->opts.capture_max;
	j->err.max = e->opts.capture_max;
	/* The forms of the secrets are made once, at the first command. */
	if (e->opts.nr_secrets && !e->secrets.nr)
		for (size_t i = 0; i < e->opts.nr_secrets; i++)
			redact_set_add(&e->secrets, e->opts.secrets[i].name,
				       e->opts.secrets[i].value,
				       e->opts.secrets[i].len);
	for (int s = 0; s < 2; s++)
		redactor_init_shared(&j->redact[s], &e->secrets);
	return j;
}

/* Queue j on h and get it going when the engine runs. */
static void job_queue(struct ssh_host *h, struct job *j)
{
	struct ssh_engine *e = h->e;

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
}

int ssh_exec_input(struct ssh_host *h, const char *command, unsigned flags,
		   const char *input, size_t input_len,
		   const struct ssh_exec_ops *ops, void *data,
		   struct error *err)
{
	struct job *j = job_new(h, command, flags, ops, data, err);

	if (!j)
		return err->code;
	if (input) {
		j->input = xmalloc(input_len + 1);
		memcpy(j->input, input, input_len);
		j->input_len = input_len;
	}
	job_queue(h, j);
	return 0;
}

int ssh_exec_file(struct ssh_host *h, const char *command, unsigned flags,
		  const char *path, unsigned idle_ms,
		  const struct ssh_exec_ops *ops, void *data, struct error *err)
{
	struct job *j;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		error_set(err, DEPLOY_ERR_IO, path, 0, 0, "cannot read: %s",
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		return err->code;
	}
	j = job_new(h, command, flags, ops, data, err);
	if (!j) {
		close(fd);
		return err->code;
	}
	j->input_fd = fd;
	j->chunk = xmalloc(FILE_CHUNK);
	j->idle_ms = idle_ms ? idle_ms : h->e->opts.command_timeout_ms;
	j->in_total = (uint64_t)st.st_size;
	job_queue(h, j);
	return 0;
}
