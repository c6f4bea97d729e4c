/* SPDX-License-Identifier: MIT */
/* Git sources: the cache, resolving refs, pinning commits, checkouts. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

#define MAX_TREE_DEPTH 64

static const char *const kind_names[] = {
	[SOURCE_REF_DEFAULT] = "default branch",
	[SOURCE_REF_BRANCH] = "branch",
	[SOURCE_REF_TAG] = "tag",
	[SOURCE_REF_COMMIT] = "commit",
};

const char *source_ref_kind_name(enum source_ref_kind k)
{
	return kind_names[k];
}

const char *source_ref_label(const struct source *s)
{
	return s->ref ? s->ref : "default branch";
}

int src_error(struct error *err, int code, const struct topology *t,
	      const struct source *s, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(err, code, t ? t->file : NULL,
			 s && s->node ? s->node->line : 0,
			 s && s->node ? s->node->col : 0, "source '%s': %s",
			 s ? s->name : "?", msg);
}

int source_cache_dir(const struct source_options *o, char **out,
		     struct error *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	struct buf b = BUF_INIT;

	(void)err;
	if (o && o->cache_dir)
		buf_adds(&b, o->cache_dir);
	else if (xdg && xdg[0] == '/') /* relative ones are ignored (XDG) */
		buf_addf(&b, "%s/deploy/git", xdg);
	else
		buf_addf(&b, "%s/.cache/deploy/git", home_dir());
	*out = buf_release(&b);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void src_remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void entry_close(struct entry *e)
{
	if (e->lock_fd >= 0)
		close(e->lock_fd); /* drops the flock */
	free(e->dir);
	free(e->repo);
	free(e->trees);
	memset(e, 0, sizeof(*e));
	e->lock_fd = -1;
}

static int entry_open(const struct source_options *o, const char *url,
		      struct entry *e, struct error *err)
{
	unsigned wait =
		o->lock_wait_ms ? o->lock_wait_ms : SOURCE_DEFAULT_LOCK_WAIT_MS;
	long long deadline = now_ms() + wait;
	char *cache = NULL, *name = source_cache_name(url);
	struct buf b = BUF_INIT;
	int rc;

	memset(e, 0, sizeof(*e));
	e->lock_fd = -1;
	source_cache_dir(o, &cache, err);
	buf_addf(&b, "%s/%s", cache, name);
	e->dir = buf_release(&b);
	buf_addf(&b, "%s/repo.git", e->dir);
	e->repo = buf_release(&b);
	buf_addf(&b, "%s/trees", e->dir);
	e->trees = buf_release(&b);
	free(name);
	/* Private: a private repository's objects are in it. */
	rc = mkdir_p(cache, 0700, err);
	if (!rc)
		rc = mkdir_p(e->dir, 0700, err);
	if (!rc)
		rc = mkdir_p(e->trees, 0700, err);
	free(cache);
	if (rc)
		goto fail;
	buf_addf(&b, "%s/lock", e->dir);
	e->lock_fd = open(b.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (e->lock_fd < 0) {
		rc = error_set(err, DEPLOY_ERR_IO, b.data, 0, 0,
			       "cannot open the cache's lock: %s",
			       strerror(errno));
		goto fail;
	}
	/* Another deploy fetching the same URL: wait for it. */
	while (flock(e->lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = error_set(err, DEPLOY_ERR_IO, b.data, 0, 0,
				       "cannot lock the cache: %s",
				       strerror(errno));
			goto fail;
		}
		if (now_ms() >= deadline) {
			rc = error_set(err, DEPLOY_ERR_TIMEOUT, b.data, 0, 0,
				       "another deploy has held the git "
				       "cache's lock for %u s",
				       wait / 1000);
			goto fail;
		}
		usleep(100000);
	}
	buf_free(&b);
	return 0;
fail:
	buf_free(&b);
	entry_close(e);
	return rc;
}

/* Reading the cache, in this process */

static int git_init_once(void)
{
	static bool done;

	if (!done) {
		git_libgit2_init();
		done = true;
	}
	return 0;
}

static git_repository *repo_open(const struct entry *e)
{
	git_repository *repo = NULL;

	git_init_once();
	if (git_repository_open_bare(&repo, e->repo))
		return NULL;
	return repo;
}

static bool repo_has_commit(git_repository *repo, const char *hex)
{
	git_commit *c = NULL;
	git_oid oid;
	bool ok;

	if (!repo || git_oid_fromstr(&oid, hex))
		return false;
	ok = !git_commit_lookup(&c, repo, &oid);
	git_commit_free(c);
	return ok;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* The commit of refs/PREFIX/ref (a tag peeled); 0 or GIT_ENOTFOUND. */
static int peel_ref(git_repository *repo, const char *full, git_oid *out)
{
	git_reference *r = NULL;
	git_object *o = NULL;
	int valid = 0, rc;

	if (git_reference_name_is_valid(&valid, full) || !valid)
		return GIT_ENOTFOUND;
	rc = git_reference_lookup(&r, repo, full);
	if (!rc)
		rc = git_reference_peel(&o, r, GIT_OBJECT_COMMIT);
	if (!rc)
		git_oid_cpy(out, git_object_id(o));
	git_object_free(o);
	git_reference_free(r);
	return rc ? GIT_ENOTFOUND : 0;
}

/* A tag, then a branch, then a commit (at least 7 hex digits). */
static int resolve(git_repository *repo, const char *ref,
		   enum source_ref_kind *kind, char hex[SOURCE_HEX_SIZE])
{
	struct buf full = BUF_INIT;
	git_object *o = NULL;
	git_oid oid;
	int rc = GIT_ENOTFOUND;

	if (!ref) {
		*kind = SOURCE_REF_DEFAULT;
		rc = peel_ref(repo, "HEAD", &oid);
		goto out;
	}
	buf_addf(&full, "refs/tags/%s", ref);
	*kind = SOURCE_REF_TAG;
	rc = peel_ref(repo, full.data, &oid);
	if (!rc)
		goto out;
	buf_reset(&full);
	buf_addf(&full, "refs/heads/%s", ref);
	*kind = SOURCE_REF_BRANCH;
	rc = peel_ref(repo, full.data, &oid);
	if (!rc)
		goto out;
	*kind = SOURCE_REF_COMMIT;
	rc = GIT_ENOTFOUND;
	if (is_hex(ref, 7, 40) && !git_oid_fromstrp(&oid, ref) &&
	    !git_object_lookup_prefix(&o, repo, &oid, strlen(ref),
				      GIT_OBJECT_COMMIT)) {
		git_oid_cpy(&oid, git_object_id(o));
		rc = 0;
	}
out:
	if (!rc)
		git_oid_tostr(hex, SOURCE_HEX_SIZE, &oid);
	git_object_free(o);
	buf_free(&full);
	return rc;
}

/* Write a tree's files under dir. */
static int write_tree(git_repository *repo, const git_tree *tree,
		      const char *dir, int depth)
{
	size_t n = git_tree_entrycount(tree);
	struct buf path = BUF_INIT;
	int rc = 0;

	if (depth > MAX_TREE_DEPTH)
		return -1;
	for (size_t i = 0; i < n && !rc; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(te);
		git_filemode_t mode = git_tree_entry_filemode(te);
		git_object *o = NULL;

		/* Git refuses these too; a crafted tree could hold them. */
		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    !strcasecmp(name, ".git") || strchr(name, '/'))
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, name);
		if (mode == GIT_FILEMODE_COMMIT) { /* a submodule: empty */
			rc = mkdir(path.data, 0755);
			continue;
		}
		rc = git_tree_entry_to_object(&o, repo, te);
		if (rc)
			break;
		if (mode == GIT_FILEMODE_TREE) {
			rc = mkdir(path.data, 0755);
			if (!rc)
				rc = write_tree(repo, (const git_tree *)o,
						path.data, depth + 1);
		} else if (mode == GIT_FILEMODE_LINK) {
			const git_blob *b = (const git_blob *)o;
			char *target = xstrndup(git_blob_rawcontent(b),
						(size_t)git_blob_rawsize(b));

			rc = symlink(target, path.data);
			free(target);
		} else {
			const git_blob *b = (const git_blob *)o;
			size_t len = (size_t)git_blob_rawsize(b);
			int fd = open(path.data,
				      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					      O_CLOEXEC,
				      mode == GIT_FILEMODE_BLOB_EXECUTABLE
					      ? 0755
					      : 0644);

			if (fd < 0 ||
			    write_all(fd, git_blob_rawcontent(b), len) ||
			    fsync(fd))
				rc = -1;
			if (fd >= 0 && close(fd))
				rc = -1;
		}
		git_object_free(o);
	}
	buf_free(&path);
	return rc;
}

/* The commit's files in trees/COMMIT, written once (a temporary directory
 * renamed into place). */
static int checkout(git_repository *repo, const struct entry *e,
		    const char *hex, const struct topology *t,
		    const struct source *s, struct error *err)
{
	struct buf final = BUF_INIT, tmp = BUF_INIT;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	struct stat st;
	git_oid oid;
	int rc = 0;

	buf_addf(&final, "%s/%s", e->trees, hex);
	if (!stat(final.data, &st) && S_ISDIR(st.st_mode))
		goto out;
	buf_addf(&tmp, "%s/.tmp-%s-%d", e->trees, hex, (int)getpid());
	src_remove_tree(tmp.data);
	if (git_oid_fromstr(&oid, hex) || git_commit_lookup(&c, repo, &oid) ||
	    git_commit_tree(&tree, c)) {
		const git_error *ge = git_error_last();

		rc = src_error(err, DEPLOY_ERR_IO, t, s,
			       "cannot read commit %s from the cache: %s", hex,
			       ge ? ge->message : "unknown error");
		goto out;
	}
	errno = 0;
	if (mkdir(tmp.data, 0755) || write_tree(repo, tree, tmp.data, 0)) {
		rc = src_error(err, DEPLOY_ERR_IO, t, s,
			       "cannot write the files of commit %s to %s: %s",
			       hex, tmp.data,
			       errno ? strerror(errno) : "bad tree");
		src_remove_tree(tmp.data);
		goto out;
	}
	if (rename(tmp.data, final.data)) {
		src_remove_tree(tmp.data);
		if (stat(final.data, &st) || !S_ISDIR(st.st_mode))
			rc = src_error(err, DEPLOY_ERR_IO, t, s,
				       "cannot write %s: %s", final.data,
				       strerror(errno));
	}
out:
	git_tree_free(tree);
	git_commit_free(c);
	buf_free(&final);
	buf_free(&tmp);
	return rc;
}

/* The source's `path:` must be a directory in the commit. */
static int check_path(git_repository *repo, const char *hex,
		      const struct topology *t, const struct source *s,
		      struct error *err)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	git_oid oid;
	int rc = 0;

	if (!s->path || !*s->path || !strcmp(s->path, "."))
		return 0;
	if (git_oid_fromstr(&oid, hex) || git_commit_lookup(&c, repo, &oid) ||
	    git_commit_tree(&tree, c) ||
	    git_tree_entry_bypath(&te, tree, s->path) ||
	    git_tree_entry_type(te) != GIT_OBJECT_TREE)
		rc = src_error(err, DEPLOY_ERR_NOT_FOUND, t, s,
			       "path '%s' is not a directory in commit %.12s",
			       s->path, hex);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

static char *pin_dir(const struct entry *e, const char *hex,
		     const struct source *s)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s", e->trees, hex);
	if (s->path && *s->path && strcmp(s->path, "."))
		buf_addf(&b, "/%s", s->path);
	/* "ops/" and "ops" alike */
	while (b.len > 1 && b.data[b.len - 1] == '/')
		b.data[--b.len] = '\0';
	return buf_release(&b);
}

static bool same_ref(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* "ref 'v1'", or "the default branch", into out. */
static const char *ref_shown(const char *ref, char *out, size_t size)
{
	if (ref)
		snprintf(out, size, "ref '%s'", ref);
	else
		snprintf(out, size, "the default branch");
	return out;
}

static int not_found(const struct topology *t, const struct source *s,
		     const char *shown, struct error *err)
{
	if (!s->ref)
		return src_error(err, DEPLOY_ERR_NOT_FOUND, t, s,
				 "%s has no default branch (HEAD); name a "
				 "ref",
				 shown);
	return src_error(err, DEPLOY_ERR_NOT_FOUND, t, s,
			 "ref '%s' is not a branch, tag or commit of %s",
			 s->ref, shown);
}

/* Fetch, then resolve the source's ref. */
static int fetch_resolve(const struct source_options *o,
			 const struct topology *t, const struct source *s,
			 const struct entry *e, enum source_ref_kind *kind,
			 char hex[SOURCE_HEX_SIZE], struct error *err)
{
	char *shown = source_url_redact(s->git);
	git_repository *repo = NULL;
	int rc;

	rc = src_fetch(o, t, s, e, err);
	if (rc)
		goto out;
	repo = repo_open(e);
	if (!repo || resolve(repo, s->ref, kind, hex))
		rc = not_found(t, s, shown, err);
out:
	git_repository_free(repo);
	free(shown);
	return rc;
}

/* Check out a resolved commit and fill the pin. */
static int pin(const struct entry *e, const struct topology *t,
	       const struct source *s, struct source_pin *p, struct error *err)
{
	git_repository *repo = repo_open(e);
	int rc;

	if (!repo)
		return src_error(err, DEPLOY_ERR_IO, t, s,
				 "cannot open the cache repository %s",
				 e->repo);
	rc = check_path(repo, p->commit, t, s, err);
	if (!rc)
		rc = checkout(repo, e, p->commit, t, s, err);
	if (!rc)
		p->dir = pin_dir(e, p->commit, s);
	git_repository_free(repo);
	return rc;
}

static int use_one(const struct topology *t, struct source_lock *l,
		   const struct source_options *o, const struct source *s,
		   struct source_pin *p, struct error *err)
{
	struct source_lock_entry *le = source_lock_find(l, s->name);
	char *shown = source_url_redact(s->git);
	git_repository *repo = NULL;
	enum source_ref_kind kind;
	struct entry e;
	int rc;

	p->src = s;
	if (le && strcmp(le->git, shown)) {
		rc = src_error(err, DEPLOY_ERR_INVALID, t, s,
			       "%s locks it to %s, the topology now says %s: "
			       "run 'deploy sources update %s'",
			       l->path, le->git, shown, s->name);
		goto out_free;
	}
	if (le && !same_ref(le->ref, s->ref)) {
		char was[200], now[200];

		rc = src_error(err, DEPLOY_ERR_INVALID, t, s,
			       "%s locks %s, the topology now asks for %s: "
			       "run 'deploy sources update %s'",
			       l->path, ref_shown(le->ref, was, sizeof(was)),
			       ref_shown(s->ref, now, sizeof(now)), s->name);
		goto out_free;
	}
	rc = entry_open(o, s->git, &e, err);
	if (rc)
		goto out_free;
	if (le) {
		snprintf(p->commit, sizeof(p->commit), "%s", le->commit);
		repo = repo_open(&e);
		if (!repo_has_commit(repo, le->commit)) {
			git_repository_free(repo);
			repo = NULL;
			rc = src_fetch(o, t, s, &e, err);
			if (rc)
				goto out;
			p->fetched = true;
			repo = repo_open(&e);
			if (!repo_has_commit(repo, le->commit)) {
				rc = src_error(err, DEPLOY_ERR_NOT_FOUND, t, s,
					       "commit %s locked in %s is not "
					       "in %s any more (not on a "
					       "branch or tag)",
					       le->commit, l->path, shown);
				goto out;
			}
		}
	} else {
		/* A full commit id already in the cache needs no fetch. */
		repo = repo_open(&e);
		if (s->ref && is_hex(s->ref, 40, 40) &&
		    repo_has_commit(repo, s->ref)) {
			resolve(repo, s->ref, &kind, p->commit);
		} else {
			git_repository_free(repo);
			repo = NULL;
			rc = fetch_resolve(o, t, s, &e, &kind, p->commit, err);
			if (rc)
				goto out;
			p->fetched = true;
		}
		p->added = true;
	}
	rc = pin(&e, t, s, p, err);
	if (!rc && p->added)
		source_lock_set(l, s->name, s->git, s->ref, p->commit);
out:
	git_repository_free(repo);
	entry_close(&e);
out_free:
	free(shown);
	return rc;
}

int source_use_locked(const struct topology *t, const char *lock_path,
		      const struct source_options *o, struct source_pin **pins,
		      struct error *err)
{
	struct source_lock *l = NULL;
	bool added = false;
	int rc;

	*pins = xcalloc(t->nr_sources + 1, sizeof(**pins));
	if (!t->nr_sources)
		return 0;
	rc = source_lock_read(lock_path, &l, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->nr_sources && !rc; i++) {
		rc = use_one(t, l, o, &t->sources[i], &(*pins)[i], err);
		added |= (*pins)[i].added;
	}
	/* Only sources new to the lock change it here. */
	if (!rc && added)
		rc = source_lock_write(l, err);
	source_lock_free(l);
	return rc;
}

void source_pins_free(struct source_pin *pins, size_t nr)
{
	if (!pins)
		return;
	for (size_t i = 0; i < nr; i++)
		free(pins[i].dir);
	free(pins);
}

static int update_one(const struct topology *t, const struct source_lock *l,
		      const struct source_options *o, const struct source *s,
		      bool accept_moved_tags, struct source_change *c,
		      struct error *err)
{
	struct source_lock_entry *le = source_lock_find(l, s->name);
	char *shown = source_url_redact(s->git);
	struct source_pin p;
	struct entry e;
	int rc;

	memset(&p, 0, sizeof(p));
	c->name = xstrdup(s->name);
	c->ref = s->ref ? xstrdup(s->ref) : NULL;
	if (le)
		snprintf(c->old_commit, sizeof(c->old_commit), "%s",
			 le->commit);
	rc = entry_open(o, s->git, &e, err);
	if (rc)
		goto out_free;
	rc = fetch_resolve(o, t, s, &e, &c->kind, c->new_commit, err);
	if (rc)
		goto out;
	if (le && c->kind == SOURCE_REF_TAG && !strcmp(le->git, shown) &&
	    same_ref(le->ref, s->ref) && strcmp(le->commit, c->new_commit) &&
	    !accept_moved_tags) {
		rc = src_error(err, DEPLOY_ERR_INVALID, t, s,
			       "tag '%s' has moved: %s locks commit %s, %s "
			       "now has it at %s; if that is intended, run "
			       "'deploy sources update --accept-moved-tags'",
			       s->ref, l->path, le->commit, shown,
			       c->new_commit);
		goto out;
	}
	snprintf(p.commit, sizeof(p.commit), "%s", c->new_commit);
	rc = pin(&e, t, s, &p, err);
out:
	free(p.dir);
	entry_close(&e);
out_free:
	free(shown);
	return rc;
}

int source_update(const struct topology *t, const char *lock_path,
		  const char *only, bool accept_moved_tags,
		  const struct source_options *o,
		  struct source_change **changes, size_t *nr_changes,
		  bool *written, struct error *err)
{
	struct source_lock *l = NULL;
	struct buf before = BUF_INIT, after = BUF_INIT;
	struct source_change *c;
	size_t n = 0;
	int rc;

	*written = false;
	*nr_changes = 0;
	rc = source_lock_read(lock_path, &l, err);
	if (rc) {
		*changes = NULL;
		return rc;
	}
	c = xcalloc(t->nr_sources + l->nr + 1, sizeof(*c));
	*changes = c;
	source_lock_format(l, &before);
	for (size_t i = 0; i < t->nr_sources && !rc; i++) {
		const struct source *s = &t->sources[i];

		if (only && strcmp(only, s->name))
			continue;
		rc = update_one(t, l, o, s, accept_moved_tags, &c[n++], err);
	}
	*nr_changes = n;
	if (rc)
		goto out;
	/* Everything fetched and checked: now change the lock. */
	for (size_t i = 0; i < n; i++) {
		const struct source *s = NULL;

		for (size_t j = 0; j < t->nr_sources && !s; j++)
			if (!strcmp(t->sources[j].name, c[i].name))
				s = &t->sources[j];
		source_lock_set(l, s->name, s->git, s->ref, c[i].new_commit);
	}
	for (size_t i = 0; !only && i < l->nr;) {
		const struct source_lock_entry *le = &l->entries[i];
		bool known = false;

		for (size_t j = 0; j < t->nr_sources && !known; j++)
			known = !strcmp(t->sources[j].name, le->name);
		if (known) {
			i++;
			continue;
		}
		c[n].name = xstrdup(le->name);
		c[n].ref = le->ref ? xstrdup(le->ref) : NULL;
		snprintf(c[n].old_commit, sizeof(c[n].old_commit), "%s",
			 le->commit);
		n++;
		source_lock_remove(l, le->name);
	}
	*nr_changes = n;
	source_lock_format(l, &after);
	if (!l->exists || strcmp(before.data, after.data)) {
		rc = source_lock_write(l, err);
		*written = !rc;
	}
out:
	buf_free(&before);
	buf_free(&after);
	source_lock_free(l);
	return rc;
}

void source_changes_free(struct source_change *c, size_t nr)
{
	if (!c)
		return;
	for (size_t i = 0; i < nr; i++) {
		free(c[i].name);
		free(c[i].ref);
	}
	free(c);
}

bool source_cached(const struct source_options *o, const char *url,
		   const char *commit)
{
	char *cache = NULL, *name = source_cache_name(url);
	struct entry e = { .lock_fd = -1 };
	git_repository *repo;
	struct buf b = BUF_INIT;
	bool ok;

	source_cache_dir(o, &cache, NULL);
	buf_addf(&b, "%s/%s/repo.git", cache, name);
	e.repo = buf_release(&b);
	repo = repo_open(&e);
	ok = repo_has_commit(repo, commit);
	git_repository_free(repo);
	free(e.repo);
	free(cache);
	free(name);
	return ok;
}
