/* SPDX-License-Identifier: MIT */
/* Git sources: the fetch, in a child process, with deploy's host key policy. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <git2.h>

#include "source/source-internal.h"
#include "source/source.h"
#include "ssh/known_hosts.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PROGRESS_EVERY_MS 100

/* Lock files a killed fetch left behind (we hold the entry's flock, so no
 * live process owns them). */
static int rm_stale_lock(const char *path, const struct stat *st, int flag,
			 struct FTW *ftw)
{
	size_t n = strlen(path);

	(void)st;
	(void)ftw;
	if (flag == FTW_F && n > 5 && !strcmp(path + n - 5, ".lock"))
		unlink(path);
	return 0;
}

static void remove_stale_locks(const struct entry *e)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/refs", e->repo);
	nftw(b.data, rm_stale_lock, 16, FTW_PHYS);
	buf_reset(&b);
	buf_addf(&b, "%s/packed-refs.lock", e->repo);
	unlink(b.data);
	buf_reset(&b);
	buf_addf(&b, "%s/HEAD.lock", e->repo);
	unlink(b.data);
	buf_reset(&b);
	buf_addf(&b, "%s/config.lock", e->repo);
	unlink(b.data);
	buf_free(&b);
}

struct fetch_result {
	int code;
	char msg[512];
};

struct fetch_ctx {
	int fd; /* to the parent */
	const struct source_options *o;
	const char *url;
	char *shown; /* the URL without credentials */
	char host[256];
	int port;
	char user[128]; /* from the URL, or "" */
	const char *candidates[8];
	size_t nr_candidates;
	size_t next;
	struct buf tried;
	long long last;
	struct fetch_result refusal; /* our own reason, when we refused */
};

static void tell(struct fetch_ctx *c, bool force)
{
	long long t = now_ms();

	if (!force && t - c->last < PROGRESS_EVERY_MS)
		return;
	c->last = t;
	write_all(c->fd, "p", 1);
}

static void refuse(struct fetch_ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct fetch_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	c->refusal.code = code;
	vsnprintf(c->refusal.msg, sizeof(c->refusal.msg), fmt, ap);
	va_end(ap);
}

/* Host, port and user of ssh://[user@]host[:port]/path or
 * user@host:path. */
static void ssh_endpoint(struct fetch_ctx *c)
{
	const char *url = c->url, *p, *end, *at, *h;
	size_t n;

	c->port = 22;
	if (!strncmp(url, "ssh://", 6)) {
		p = url + 6;
		end = p + strcspn(p, "/");
	} else {
		p = url;
		end = strchr(url, ':');
		if (!end)
			end = url + strlen(url);
	}
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		n = (size_t)((colon ? colon : at) - p);
		snprintf(c->user, sizeof(c->user), "%.*s", (int)n, p);
		p = at + 1;
	}
	h = p;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close) {
			snprintf(c->host, sizeof(c->host), "%.*s",
				 (int)(close - h - 1), h + 1);
			if (close[1] == ':')
				c->port = (int)strtol(close + 2, NULL, 10);
			return;
		}
	}
	n = (size_t)(end - h);
	if (!strncmp(url, "ssh://", 6)) {
		const char *colon = memchr(h, ':', n);

		if (colon) {
			c->port = (int)strtol(colon + 1, NULL, 10);
			n = (size_t)(colon - h);
		}
	}
	snprintf(c->host, sizeof(c->host), "%.*s", (int)n, h);
}

static int cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct fetch_ctx *c = payload;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	struct kh_subject s = {
		.host = c->host,
		.port = c->port,
		.strict = c->o->strict_host_keys,
	};
	struct known_hosts *kh = NULL;
	struct buf path = BUF_INIT;
	struct kh_verify v;
	struct error err;
	bool raw;
	int rc = -1;

	(void)valid;
	(void)host;
	tell(c, true);
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH; /* https: libgit2 checks the chain */
	error_init(&err);
	if (c->o->known_hosts)
		buf_adds(&path, c->o->known_hosts);
	else
		buf_addf(&path, "%s/.ssh/known_hosts", home_dir());
	if (known_hosts_load(path.data, &kh, &err)) {
		refuse(c, err.code, "%s: %s", path.data, err.msg);
		goto out;
	}
	raw = hk->type & GIT_CERT_SSH_RAW;
	rc = known_hosts_verify(kh, &s, raw ? hk->hostkey : NULL,
				raw ? hk->hostkey_len : 0, &v, &err);
	if (!rc && v.verdict == KH_VERDICT_ADDED)
		rc = known_hosts_flush(kh, &err);
	if (rc)
		refuse(c, err.code, "%s", err.msg);
out:
	known_hosts_free(kh);
	buf_free(&path);
	error_clear(&err);
	if (rc)
		git_error_set_str(GIT_ERROR_SSH, "host key refused");
	return rc ? GIT_ECERTIFICATE : 0;
}

static void add_candidate(struct fetch_ctx *c, const char *key)
{
	if (c->nr_candidates < sizeof(c->candidates) / sizeof(*c->candidates))
		c->candidates[c->nr_candidates++] = key;
}

static int cred_cb(git_credential **out, const char *url,
		   const char *user_from_url, unsigned int allowed,
		   void *payload)
{
	struct fetch_ctx *c = payload;
	const char *user = user_from_url;
	const struct passwd *pw;

	(void)url;
	tell(c, true);
	if (!user || !*user) {
		pw = getpwuid(getuid());
		user = c->user[0] ? c->user : pw ? pw->pw_name : "git";
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (!(allowed & GIT_CREDENTIAL_SSH_KEY)) {
		refuse(c, DEPLOY_ERR_AUTH,
		       "%s asks for a user name and password; deploy logs in "
		       "to git servers with SSH keys only (or a token in an "
		       "https URL)",
		       c->shown);
		return GIT_EAUTH;
	}
	while (c->next < c->nr_candidates) {
		const char *key = c->candidates[c->next++];

		if (!strcmp(key, "agent")) {
			buf_adds(&c->tried, c->tried.len ? ", " : "");
			buf_adds(&c->tried, "ssh-agent");
			return git_credential_ssh_key_from_agent(out, user);
		}
		if (access(key, R_OK))
			continue;
		buf_adds(&c->tried, c->tried.len ? ", " : "");
		buf_adds(&c->tried, key);
		return git_credential_ssh_key_new(out, user, NULL, key,
						  c->o->passphrase);
	}
	refuse(c, DEPLOY_ERR_AUTH, "%s@%s refused every key (tried: %s)", user,
	       c->host, c->tried.len ? c->tried.data : "no key found");
	return GIT_EAUTH;
}

static int xfer_cb(const git_indexer_progress *st, void *payload)
{
	struct fetch_ctx *c = payload;

	if (st->received_bytes > SOURCE_MAX_FETCH_BYTES) {
		refuse(c, DEPLOY_ERR_TOO_BIG,
		       "%s is bigger than %llu MiB: stopped", c->shown,
		       SOURCE_MAX_FETCH_BYTES >> 20);
		return -1;
	}
	tell(c, false);
	return 0;
}

static int sideband_cb(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	tell(payload, false);
	return 0;
}

/* The URL's credentials out of msg, in every form (source_scrub()); a
 * message cut short by the scrubbing loses its end, never its start. */
static void scrub(char *msg, size_t size, const char *url)
{
	char *clean = source_scrub(msg, url);

	snprintf(msg, size, "%s", clean);
	freezero(clean, strlen(clean) + 1);
}

static void child_fetch(struct fetch_ctx *c, const char *repo_path,
			struct fetch_result *res)
{
	char *specs[] = { "+refs/heads/*:refs/heads/*",
			  "+refs/tags/*:refs/tags/*" };
	git_strarray refspecs = { specs, 2 };
	git_fetch_options fo;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_reference *head = NULL;
	git_buf branch = { 0 };
	const git_error *e;
	int rc;

	git_libgit2_init();
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	if (git_repository_open_bare(&repo, repo_path) &&
	    git_repository_init(&repo, repo_path, 1)) {
		e = git_error_last();
		res->code = DEPLOY_ERR_IO;
		snprintf(res->msg, sizeof(res->msg),
			 "cannot make the cache repository %s: %s", repo_path,
			 e ? e->message : "unknown error");
		goto out;
	}
	if (git_remote_create_anonymous(&remote, repo, c->url)) {
		e = git_error_last();
		res->code = DEPLOY_ERR_INVALID;
		snprintf(res->msg, sizeof(res->msg), "%s: %s", c->shown,
			 e ? e->message : "not a git URL");
		goto out;
	}
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.certificate_check = cert_cb;
	fo.callbacks.transfer_progress = xfer_cb;
	fo.callbacks.sideband_progress = sideband_cb;
	fo.callbacks.payload = c;
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	rc = git_remote_fetch(remote, &refspecs, &fo, NULL);
	if (rc) {
		e = git_error_last();
		if (c->refusal.code) {
			*res = c->refusal;
		} else {
			res->code = rc == GIT_EAUTH ? DEPLOY_ERR_AUTH
						    : DEPLOY_ERR_UNREACHABLE;
			snprintf(res->msg, sizeof(res->msg),
				 "cannot fetch %s: %s", c->shown,
				 e ? e->message : "unknown error");
		}
		goto out;
	}
	/* The remote's default branch becomes our HEAD (a source without a
	 * ref follows it). */
	if (!git_remote_default_branch(&branch, remote))
		git_reference_symbolic_create(&head, repo, "HEAD", branch.ptr,
					      1, NULL);
	res->code = 0;
out:
	scrub(res->msg, sizeof(res->msg), c->url);
	git_buf_dispose(&branch);
	git_reference_free(head);
	git_remote_free(remote);
	git_repository_free(repo);
	git_libgit2_shutdown();
}

static void child_main(int fd, const struct source_options *o, const char *url,
		       const char *repo_path)
{
	static char keys[4][4096];
	const char *defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	struct fetch_ctx c;
	struct fetch_result res;
	char tag = 'r';

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	c.fd = fd;
	c.o = o;
	c.url = url;
	c.shown = source_url_redact(url);
	buf_init(&c.tried, 4096);
	ssh_endpoint(&c);
	if (getenv("SSH_AUTH_SOCK"))
		add_candidate(&c, "agent");
	if (o->key)
		add_candidate(&c, o->key);
	for (size_t i = 0; i < 3; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%s/.ssh/%s", home_dir(),
			 defaults[i]);
		if (!o->key || strcmp(o->key, keys[i]))
			add_candidate(&c, keys[i]);
	}
	child_fetch(&c, repo_path, &res);
	/* One write under PIPE_BUF: the parent reads it whole. */
	{
		char msg[1 + sizeof(res)];

		msg[0] = tag;
		memcpy(msg + 1, &res, sizeof(res));
		write_all(fd, msg, sizeof(msg));
	}
	_exit(res.code ? 1 : 0);
}

/* Fetch url into the entry's repository, in a child stopped when it makes
 * no progress for the timeout. */
int src_fetch(const struct source_options *o, const struct topology *t,
	      const struct source *s, const struct entry *e, struct error *err)
{
	unsigned timeout =
		o->timeout_ms ? o->timeout_ms : SOURCE_DEFAULT_TIMEOUT_MS;
	char *shown = source_url_redact(s->git);
	struct fetch_result res;
	char *rbuf = (char *)&res;
	size_t got = 0;
	bool in_result = false, timed_out = false, fresh;
	long long deadline;
	int pfd[2], status = 0, rc = 0;
	pid_t pid;

	memset(&res, 0, sizeof(res));
	if (o->fetching)
		o->fetching(o->data, s->name, shown);
	fresh = access(e->repo, F_OK) != 0;
	remove_stale_locks(e);
	if (pipe2(pfd, O_CLOEXEC)) {
		rc = src_error(err, DEPLOY_ERR_IO, t, s, "cannot fetch: %s",
			       strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		rc = src_error(err, DEPLOY_ERR_IO, t, s, "cannot fetch: %s",
			       strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_main(pfd[1], o, s->git, e->repo);
	}
	close(pfd[1]);
	deadline = now_ms() + timeout;
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long t_now = now_ms();
		char chunk[1024];
		ssize_t n;
		int r;

		if (t_now >= deadline) {
			timed_out = true;
			break;
		}
		r = poll(&p, 1, (int)(deadline - t_now));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (in_result) {
				if (got < sizeof(res))
					rbuf[got++] = chunk[i];
			} else if (chunk[i] == 'r') {
				in_result = true;
			} else {
				deadline = now_ms() + timeout;
			}
		}
	}
	close(pfd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		remove_stale_locks(e);
		rc = src_error(err, DEPLOY_ERR_TIMEOUT, t, s,
			       "fetching %s made no progress for %u s: stopped",
			       shown, timeout / 1000);
	} else if (got == sizeof(res) && res.code) {
		res.msg[sizeof(res.msg) - 1] = '\0';
		rc = src_error(err, res.code, t, s, "%s", res.msg);
	} else if (got != sizeof(res)) {
		remove_stale_locks(e);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
			rc = src_error(err, DEPLOY_ERR_INTERRUPTED, t, s,
				       "fetching %s: interrupted", shown);
		else
			rc = src_error(err, DEPLOY_ERR_IO, t, s,
				       "fetching %s: the fetch stopped "
				       "without a result (status %d)",
				       shown, status);
	}
	/* A URL that never worked leaves no repository behind. */
	if (rc && fresh)
		src_remove_tree(e->repo);
out:
	free(shown);
	return rc;
}
