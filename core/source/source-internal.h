/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SOURCE_INTERNAL_H
#define DEPLOY_SOURCE_INTERNAL_H

/*
 * What source.c (the cache, resolving, pinning) and fetch.c (the fetch in
 * a child process) share; the API is source.h.
 */

#include "source/source.h"
#include "util/error.h"

/* One cache entry, locked while we work on it. */
struct entry {
	char *dir;
	char *repo;  /* dir/repo.git */
	char *trees; /* dir/trees */
	int lock_fd;
};

/* The error of a source: at its key in the topology. */
int src_error(struct error *err, int code, const struct topology *t,
	      const struct source *s, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Remove the directory tree at path, as far as it goes. */
void src_remove_tree(const char *path);

/*
 * Fetch url into the entry's repository, in a child stopped when it makes
 * no progress for the timeout.
 */
int src_fetch(const struct source_options *o, const struct topology *t,
	      const struct source *s, const struct entry *e, struct error *err);

#endif
