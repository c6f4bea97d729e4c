/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SOURCE_H
#define DEPLOY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/topology.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * Git sources (`sources:` in the topology; docs/sources.md is the
 * reference). Each repository is fetched with libgit2 into a cache outside
 * the project, one bare repository per URL:
 *
 *   CACHE/HASH-NAME/repo.git       the remote's branches and tags, mirrored
 *   CACHE/HASH-NAME/trees/COMMIT   the files of one commit, written once
 *   CACHE/HASH-NAME/lock           flock(2)ed while the entry is worked on
 *
 * CACHE is $XDG_CACHE_HOME/deploy/git, else ~/.cache/deploy/git; HASH is
 * the start of the SHA-256 of the URL without credentials, NAME the URL's
 * last part. The lock file beside the topology (icon.yml: icon.lock)
 * records the commit each source resolved to; plan and up use that commit
 * and fetch only when it is not in the cache.
 *
 * Fetches run in a child process that the caller stops when it makes no
 * progress for timeout_ms (libgit2 has no timeouts of its own), so every
 * network wait has one. Nothing here prints; no message holds a credential
 * (URLs are shown as source_url_redact() makes them).
 */

#define SOURCE_HEX_SIZE		    41 /* 40 hex digits and a NUL */
#define SOURCE_DEFAULT_TIMEOUT_MS   30000
#define SOURCE_DEFAULT_LOCK_WAIT_MS 600000
#define SOURCE_MAX_FETCH_BYTES	    (1ull << 30)

struct source_options {
	const char *cache_dir; /* NULL: the XDG cache (above) */
	/* A fetch that makes no progress this long is stopped; 0: default. */
	unsigned timeout_ms;
	/* Waiting for another run working on the same URL; 0: default. */
	unsigned lock_wait_ms;
	/* ssh:// and user@host:path: the server's host key is checked
	 * against known_hosts as core/ssh does (accept-new records a new
	 * key; strict refuses it). NULL: ~/.ssh/known_hosts. */
	const char *known_hosts;
	bool strict_host_keys;
	/* Keys tried after ssh-agent: this one (MAY be NULL), then
	 * ~/.ssh/id_ed25519, id_ecdsa and id_rsa. */
	const char *key;
	const char *passphrase; /* for an encrypted key; MAY be NULL */
	/* MAY: a fetch of source `name` starts. */
	void (*fetching)(void *data, const char *name, const char *url);
	void *data;
};

/* The lock file: one entry per source, kept sorted by name. */
struct source_lock_entry {
	char *name;
	char *git; /* redacted */
	char *ref; /* NULL: the remote's default branch */
	char commit[SOURCE_HEX_SIZE];
};

struct source_lock {
	char *path;
	bool exists; /* the file was there when read */
	struct source_lock_entry *entries;
	size_t nr;
	size_t alloc;
};

/* The lock file's path for a topology: its extension (.yml, .yaml)
 * replaced by .lock, or .lock appended. */
char *source_lock_path(const char *topology_file);
/* Read path; a file that does not exist is an empty lock. */
int source_lock_read(const char *path, struct source_lock **out,
		     struct error *err);
/* The same for text in memory: DEPLOY_ERR_SYNTAX or DEPLOY_ERR_INVALID
 * with err naming the file. */
int source_lock_parse(const char *path, const char *text, size_t len,
		      struct source_lock **out, struct error *err);
/* The file's text: stable, one line per source, sorted by name. */
void source_lock_format(const struct source_lock *l, struct buf *out);
/* Write it atomically (temporary file, fsync, rename). */
int source_lock_write(struct source_lock *l, struct error *err);
struct source_lock_entry *source_lock_find(const struct source_lock *l,
					   const char *name);
/* Add or replace name's entry (git is redacted here). */
void source_lock_set(struct source_lock *l, const char *name, const char *git,
		     const char *ref, const char *commit);
void source_lock_remove(struct source_lock *l, const char *name);
void source_lock_free(struct source_lock *l);

/*
 * The URL without credentials: for http(s), the user information is
 * replaced by "***"; for others, a password after the user name is.
 */
char *source_url_redact(const char *url);
/*
 * text (a message from libgit2, a git server or a transport) without the
 * credentials of url: its password, and for http(s) its user name (a
 * token), each as written, percent-decoded and percent-encoded, become
 * "***"; so does the user information of any URL the text quotes.
 * Malloc'd; the caller frees.
 */
char *source_scrub(const char *text, const char *url);
/* The cache entry's directory name for url: HASH-NAME. */
char *source_cache_name(const char *url);
/* The cache directory (above) as a malloc'd path. */
int source_cache_dir(const struct source_options *o, char **out,
		     struct error *err);

enum source_ref_kind {
	SOURCE_REF_DEFAULT, /* no ref: the remote's default branch */
	SOURCE_REF_BRANCH,
	SOURCE_REF_TAG,
	SOURCE_REF_COMMIT,
};

const char *source_ref_kind_name(enum source_ref_kind k);
/* A source's ref as people read it: "v1.0", or "default branch". */
const char *source_ref_label(const struct source *s);

/* A source as a run uses it. */
struct source_pin {
	const struct source *src;
	char commit[SOURCE_HEX_SIZE];
	char *dir;    /* the commit's files, at the source's path */
	bool added;   /* not in the lock before: locked by this run */
	bool fetched; /* this run fetched */
};

/*
 * For plan and up: every source of t at the commit the lock file at
 * lock_path holds for it, fetching only when that commit is not in the
 * cache. A source the lock does not have is fetched, resolved and added to
 * the lock (the file is then written); one whose URL or ref differs from
 * its lock entry is an error that asks for `deploy sources update`.
 * *pins has t->nr_sources items, in the topology's order.
 */
int source_use_locked(const struct topology *t, const char *lock_path,
		      const struct source_options *o, struct source_pin **pins,
		      struct error *err);
void source_pins_free(struct source_pin *pins, size_t nr);

struct source_change {
	char *name;
	char *ref; /* NULL: default branch */
	enum source_ref_kind kind;
	char old_commit[SOURCE_HEX_SIZE]; /* "" when it was not locked */
	char new_commit[SOURCE_HEX_SIZE]; /* "" when removed from the lock */
};

/*
 * `deploy sources update [NAME]`: fetch every source of t (or only `only`),
 * resolve its ref again and rewrite the lock. A tag the lock holds at
 * another commit is refused (DEPLOY_ERR_INVALID, naming the tag and both
 * commits, nothing written) unless accept_moved_tags. Without `only`,
 * entries of sources the topology no longer has are removed. *changes
 * lists every source looked at and every entry removed; *written says
 * whether the file changed.
 */
int source_update(const struct topology *t, const char *lock_path,
		  const char *only, bool accept_moved_tags,
		  const struct source_options *o,
		  struct source_change **changes, size_t *nr_changes,
		  bool *written, struct error *err);
void source_changes_free(struct source_change *c, size_t nr);

/* Whether commit (40 hex digits) of url is in the cache; no network. */
bool source_cached(const struct source_options *o, const char *url,
		   const char *commit);

#endif
