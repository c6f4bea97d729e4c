/* SPDX-License-Identifier: MIT */
/* deploy sources: list the git sources, or fetch them and update the lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "source/source.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	OPT_ACCEPT_MOVED_TAGS,
	OPT_TIMEOUT,
};

static const struct opt_spec sources_opts[] = {
	[OPT_ACCEPT_MOVED_TAGS] = { "accept-moved-tags", 0, OPT_FLAG, NULL,
				    "update: take a tag's new commit when "
				    "the tag was moved",
				    NULL },
	[OPT_TIMEOUT] = { "timeout", 0, OPT_INT, "SECONDS",
			  "update: stop a fetch that makes no progress this "
			  "long (default 30)",
			  NULL },
	{ 0 },
};

/* Source names are DNS labels: an argument with '.' or '/' is the
 * topology. */
static bool is_path(const char *s)
{
	return strchr(s, '.') || strchr(s, '/');
}

static void say_fetching(void *data, const char *name, const char *url)
{
	(void)data;
	printf("Fetching source %s from %s ...\n", name, url);
	fflush(stdout);
}

static const struct source *find_source(const struct topology *t,
					const char *name)
{
	for (size_t i = 0; i < t->nr_sources; i++)
		if (!strcmp(t->sources[i].name, name))
			return &t->sources[i];
	return NULL;
}

static int unknown_source(const struct command *cmd, const struct topology *t,
			  const char *name)
{
	const char **names = xcalloc(t->nr_sources + 1, sizeof(*names));
	const char *hint;
	int rc;

	for (size_t i = 0; i < t->nr_sources; i++)
		names[i] = t->sources[i].name;
	hint = suggest(name, names, t->nr_sources);
	if (hint)
		rc = usage_error(cmd,
				 "unknown source '%s' (did you mean '%s'?)",
				 name, hint);
	else if (t->nr_sources)
		rc = usage_error(cmd, "unknown source '%s'", name);
	else
		rc = usage_error(cmd,
				 "unknown source '%s': the topology has no "
				 "'sources'",
				 name);
	free(names);
	return rc;
}

static void print_change(const struct source_change *c)
{
	const char *ref = c->ref ? c->ref : "default branch";
	const char *kind = source_ref_kind_name(c->kind);

	if (!c->new_commit[0])
		printf("- %s: %.12s (not in the topology any more)\n", c->name,
		       c->old_commit);
	else if (!c->old_commit[0])
		printf("+ %s: %s%s%s at %.12s (new)\n", c->name,
		       c->ref ? kind : "", c->ref ? " " : "", ref,
		       c->new_commit);
	else if (!strcmp(c->old_commit, c->new_commit))
		printf("= %s: %s%s%s at %.12s (unchanged)\n", c->name,
		       c->ref ? kind : "", c->ref ? " " : "", ref,
		       c->new_commit);
	else
		printf("~ %s: %s%s%s %.12s -> %.12s\n", c->name,
		       c->ref ? kind : "", c->ref ? " " : "", ref,
		       c->old_commit, c->new_commit);
}

static int update(const struct command *cmd, struct args *a, const char *name,
		  const char *path)
{
	struct source_change *changes = NULL;
	struct source_options o;
	struct cli_run r;
	struct error err;
	char *lock_path = NULL, *key = NULL;
	size_t nr = 0;
	bool written = false;
	int rc;

	error_init(&err);
	rc = cli_run_open(&r, path, "deploy sources update", -1);
	if (rc)
		return rc;
	if (name && !find_source(r.t, name)) {
		rc = unknown_source(cmd, r.t, name);
		goto out;
	}
	if (!r.t->nr_sources) {
		printf("The topology has no sources.\n");
		goto out;
	}
	cli_source_options(&r, &o, &key);
	o.fetching = say_fetching;
	if (a->opt[OPT_TIMEOUT].set) {
		if (a->opt[OPT_TIMEOUT].num <= 0 ||
		    a->opt[OPT_TIMEOUT].num > 86400) {
			rc = usage_error(cmd, "--timeout: from 1 to 86400");
			goto out;
		}
		o.timeout_ms = (unsigned)a->opt[OPT_TIMEOUT].num * 1000u;
	}
	lock_path = source_lock_path(r.path);
	if (source_update(r.t, lock_path, name,
			  a->opt[OPT_ACCEPT_MOVED_TAGS].set, &o, &changes, &nr,
			  &written, &err)) {
		print_error(&err);
		print_message("%s was not changed", lock_path);
		rc = EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < nr; i++)
		print_change(&changes[i]);
	printf(written ? "Wrote %s.\n" : "%s is up to date.\n", lock_path);
out:
	source_changes_free(changes, nr);
	free(lock_path);
	free(key);
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

static int list(const char *path)
{
	struct source_lock *l = NULL;
	struct source_options o;
	struct cli_run r;
	struct error err;
	char *lock_path = NULL, *key = NULL;
	int w_name = 4, w_git = 3, w_ref = 3, rc;

	error_init(&err);
	rc = cli_run_open(&r, path, "deploy sources list", -1);
	if (rc)
		return rc;
	lock_path = source_lock_path(r.path);
	if (source_lock_read(lock_path, &l, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	cli_source_options(&r, &o, &key);
	for (size_t i = 0; i < r.t->nr_sources; i++) {
		const struct source *s = &r.t->sources[i];
		char *git = source_url_redact(s->git);
		int n;

		n = (int)strlen(s->name);
		w_name = n > w_name ? n : w_name;
		n = (int)strlen(git);
		w_git = n > w_git ? n : w_git;
		n = (int)strlen(source_ref_label(s));
		w_ref = n > w_ref ? n : w_ref;
		free(git);
	}
	if (!r.t->nr_sources) {
		printf("The topology has no sources.\n");
		goto out;
	}
	printf("%-*s  %-*s  %-*s  %-12s  %s\n", w_name, "NAME", w_git, "GIT",
	       w_ref, "REF", "LOCKED", "CACHED");
	for (size_t i = 0; i < r.t->nr_sources; i++) {
		const struct source *s = &r.t->sources[i];
		const struct source_lock_entry *e =
			source_lock_find(l, s->name);
		char *git = source_url_redact(s->git);

		printf("%-*s  %-*s  %-*s  %-12.12s  %s\n", w_name, s->name,
		       w_git, git, w_ref, source_ref_label(s),
		       e ? e->commit : "-",
		       e ? (source_cached(&o, s->git, e->commit) ? "yes" : "no")
			 : "-");
		free(git);
	}
out:
	source_lock_free(l);
	free(lock_path);
	free(key);
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

static int sources_exec(const struct command *cmd, struct args *a)
{
	const char *sub = a->nr_pos ? a->pos[0] : NULL;
	const char *name = NULL, *path = NULL;

	if (!sub)
		return usage_error(cmd, "missing subcommand: list or update");
	for (int i = 1; i < a->nr_pos; i++) {
		if (is_path(a->pos[i]) && !path)
			path = a->pos[i];
		else if (!is_path(a->pos[i]) && !name && !path)
			name = a->pos[i];
		else
			return usage_error(cmd, "too many arguments ('%s')",
					   a->pos[i]);
	}
	if (!path)
		path = "topology.yml";
	if (!strcmp(sub, "list")) {
		if (name)
			return usage_error(cmd, "too many arguments ('%s')",
					   name);
		if (a->opt[OPT_ACCEPT_MOVED_TAGS].set ||
		    a->opt[OPT_TIMEOUT].set)
			return usage_error(cmd,
					   "--accept-moved-tags and --timeout "
					   "are for 'update'");
		return list(path);
	}
	if (!strcmp(sub, "update"))
		return update(cmd, a, name, path);
	return usage_error(cmd, "unknown subcommand '%s': list or update", sub);
}

const struct command cmd_sources = {
	.name = "sources",
	.summary = "list the git sources, or fetch them and update the lock",
	.usage = "list [topology.yml]\n"
		 "       deploy sources update [--accept-moved-tags] "
		 "[--timeout SECONDS] [NAME] [topology.yml]",
	.description =
		"The topology's 'sources' are git repositories of playbooks, "
		"pinned in the lock\nfile beside the topology (topology.yml: "
		"topology.lock), which plan and up use.\n\n"
		"list: each source's URL, ref, locked commit and whether that "
		"commit is in the\ncache (no network).\n\n"
		"update: fetch each source (or only NAME), resolve its ref "
		"again and rewrite the\nlock, showing old and new commits. A "
		"branch may move; a tag that now points\nelsewhere than the "
		"lock says is refused unless --accept-moved-tags.",
	.opts = sources_opts,
	.max_pos = 3,
	.exec = sources_exec,
};
