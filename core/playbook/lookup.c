/* SPDX-License-Identifier: MIT */
/* Finding playbooks and the files they name: built-in names, paths, sources. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "playbook/playbook.h"
#include "topology/topology.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Files beside the playbook */

static char *join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s", dir, name);
	return buf_release(&b);
}

static bool is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

int playbook_find_file(const struct playbook *pb, const char *ref,
		       bool is_template, char **path)
{
	char *p = NULL;

	*path = NULL;
	if (ref[0] == '/' || (ref[0] == '~' && ref[1] == '/'))
		p = path_expand(ref, NULL);
	else
		p = join(pb->dir, ref);
	if (is_file(p) || ref[0] == '/' || ref[0] == '.' || ref[0] == '~' ||
	    !is_template)
		goto out;
	free(p);
	p = NULL;
	if (pb->datadir) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "%s/templates/%s", pb->datadir, ref);
		p = buf_release(&b);
	}
out:
	if (!p || !is_file(p)) {
		free(p);
		return DEPLOY_ERR_NOT_FOUND;
	}
	*path = p;
	return 0;
}

/* Resolving a role's playbook reference */

static const char **builtin_names(const char *dir, size_t *nr)
{
	const char **names = NULL;
	size_t alloc = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	*nr = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n <= 4 || strcmp(e->d_name + n - 4, ".yml"))
			continue;
		XGROW(names, alloc, *nr + 1);
		names[(*nr)++] = xstrndup(e->d_name, n - 4);
	}
	closedir(d);
	return names;
}

static bool has_dotdot(const char *p)
{
	for (const char *s = p; s; s = strchr(s, '/')) {
		if (*s == '/')
			s++;
		if (s[0] == '.' && s[1] == '.' && (!s[2] || s[2] == '/'))
			return true;
	}
	return false;
}

/* SOURCE/PATH: PATH inside the source's directory. */
static int resolve_in_source(const char *ref,
			     const struct playbook_source *sources, size_t nr,
			     char **path, struct error *err)
{
	const char *slash = strchr(ref, '/'), *rest = slash + 1;
	size_t n = (size_t)(slash - ref), len = strlen(rest);
	const struct playbook_source *src = NULL;
	static const char *const endings[] = { "", ".yml", ".yaml" };
	struct buf b = BUF_INIT;

	for (size_t i = 0; !src && i < nr; i++)
		if (strlen(sources[i].name) == n &&
		    !strncmp(sources[i].name, ref, n))
			src = &sources[i];
	if (!src)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "playbook '%s': source '%.*s' was not "
				 "fetched",
				 ref, (int)n, ref);
	if (has_dotdot(rest) || rest[0] == '/')
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "playbook '%s': the path must stay inside "
				 "the source (no '..')",
				 ref);
	for (size_t i = 0; i < 3; i++) {
		bool ends_yml = (len > 4 && !strcmp(rest + len - 4, ".yml")) ||
				(len > 5 && !strcmp(rest + len - 5, ".yaml"));

		if (i && ends_yml)
			break;
		buf_reset(&b);
		buf_addf(&b, "%s/%s%s", src->dir, rest, endings[i]);
		if (is_file(b.data)) {
			*path = buf_release(&b);
			return 0;
		}
	}
	buf_free(&b);
	return error_set(
		err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
		"playbook '%s': source '%s' has no file '%s'%s", ref, src->name,
		rest,
		(len > 4 && !strcmp(rest + len - 4, ".yml")) ||
				(len > 5 && !strcmp(rest + len - 5, ".yaml"))
			? ""
			: " (nor with .yml or .yaml)");
}

int playbook_resolve(const char *ref, const char *topology_dir,
		     const char *datadir, char **path, struct error *err)
{
	return playbook_resolve_in(ref, topology_dir, datadir, NULL, 0, path,
				   err);
}

int playbook_resolve_in(const char *ref, const char *topology_dir,
			const char *datadir,
			const struct playbook_source *sources,
			size_t nr_sources, char **path, struct error *err)
{
	const char **names;
	struct buf b = BUF_INIT;
	const char *hint;
	size_t nr;
	int rc;

	*path = NULL;
	if (!datadir)
		datadir = DEPLOY_DATADIR;
	if (ref[0] == '/' || (ref[0] == '~' && ref[1] == '/')) {
		*path = path_expand(ref, NULL);
		return 0;
	}
	if (ref[0] == '.') {
		if (!topology_dir || !strcmp(topology_dir, "."))
			*path = xstrdup(ref);
		else
			*path = join(topology_dir,
				     ref[1] == '/' ? ref + 2 : ref);
		return 0;
	}
	if (strchr(ref, '/'))
		return resolve_in_source(ref, sources, nr_sources, path, err);
	if (!is_dns_label(ref) && !is_identifier(ref))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "'%s' is not a playbook name", ref);
	buf_addf(&b, "%s/playbooks/%s.yml", datadir, ref);
	if (is_file(b.data)) {
		*path = buf_release(&b);
		return 0;
	}
	buf_reset(&b);
	buf_addf(&b, "%s/playbooks", datadir);
	names = builtin_names(b.data, &nr);
	hint = suggest(ref, names, nr);
	if (hint)
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "unknown built-in playbook '%s' (did you mean "
			       "'%s'?)",
			       ref, hint);
	else
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "unknown built-in playbook '%s' (a playbook "
			       "file of your own needs a path such as "
			       "'./%s.yml')",
			       ref, ref);
	for (size_t i = 0; i < nr; i++)
		free((char *)names[i]);
	free(names);
	buf_free(&b);
	return rc;
}

/* A name that resolves to DATADIR/playbooks/NAME.yml, not a path. */
static bool is_builtin_ref(const char *ref)
{
	return ref[0] != '.' && ref[0] != '/' && ref[0] != '~' &&
	       !strchr(ref, '/') && (is_dns_label(ref) || is_identifier(ref));
}

void playbook_check_builtins(const struct topology *t, const char *datadir,
			     struct diag_list *dl)
{
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];

		for (size_t j = 0; j < r->nr_playbooks; j++) {
			const struct ynode *at = r->playbook_nodes[j];
			char *path = NULL;
			struct error e;

			if (!is_builtin_ref(r->playbooks[j]))
				continue;
			error_init(&e);
			if (playbook_resolve(r->playbooks[j], t->dir, datadir,
					     &path, &e))
				diag_add(dl, DIAG_ERROR, t->file, at->line,
					 at->col, "%s", e.msg);
			free(path);
			error_clear(&e);
		}
	}
}
