/* SPDX-License-Identifier: MIT */
/* --limit: the hosts a list of role and host names selects. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "topology/select.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Every role and host name, for "did you mean". */
static const char **all_names(const struct topology *t, size_t *nr)
{
	const char **names =
		xcalloc(t->nr_roles + t->nr_hosts + 1, sizeof(*names));
	size_t n = 0;

	for (size_t i = 0; i < t->nr_roles; i++) {
		names[n++] = t->roles[i].name;
		for (size_t j = 0; j < t->roles[i].nr_hosts; j++)
			names[n++] = t->roles[i].hosts[j].name;
	}
	*nr = n;
	return names;
}

static int unknown_name(const struct topology *t, const char *name,
			struct error *err)
{
	size_t nr;
	const char **names = all_names(t, &nr);
	const char *hint = suggest(name, names, nr);
	int rc;

	if (hint)
		rc = error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
			       "unknown role or host '%s' (did you mean "
			       "'%s'?)",
			       name, hint);
	else
		rc = error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
			       "unknown role or host '%s'", name);
	free(names);
	return rc;
}

/* Mark the hosts `name` stands for; DEPLOY_ERR_USAGE when none. */
static int mark(const struct topology *t, const char *name, bool **chosen,
		struct error *err)
{
	bool found = false;

	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];
		bool whole = !strcmp(r->name, name);

		for (size_t j = 0; j < r->nr_hosts; j++) {
			if (whole || !strcmp(r->hosts[j].name, name)) {
				chosen[i][j] = true;
				found = true;
			}
		}
		/* A role with no hosts is still a name the user may give. */
		found = found || whole;
	}
	return found ? 0 : unknown_name(t, name, err);
}

int topology_select(const struct topology *t, const char *limit,
		    struct host ***out, size_t *nr, struct error *err)
{
	bool **chosen = xcalloc(t->nr_roles + 1, sizeof(*chosen));
	struct host **hosts = NULL;
	size_t n = 0;
	const char *p = limit;
	int rc = 0;

	*out = NULL;
	*nr = 0;
	for (size_t i = 0; i < t->nr_roles; i++)
		chosen[i] = xcalloc(t->roles[i].nr_hosts + 1, sizeof(**chosen));
	if (limit && !*limit) {
		rc = error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
			       "the list of roles and hosts is empty");
		goto out;
	}
	while (p && !rc) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *name = xstrndup(p, len);

		if (!len)
			rc = error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				       "empty name in '%s'", limit);
		else
			rc = mark(t, name, chosen, err);
		free(name);
		p = comma ? comma + 1 : NULL;
	}
	if (rc)
		goto out;
	hosts = xcalloc(t->nr_hosts + 1, sizeof(*hosts));
	for (size_t i = 0; i < t->nr_roles; i++)
		for (size_t j = 0; j < t->roles[i].nr_hosts; j++)
			if (!limit || chosen[i][j])
				hosts[n++] = &t->roles[i].hosts[j];
	*out = hosts;
	*nr = n;
out:
	for (size_t i = 0; i < t->nr_roles; i++)
		free(chosen[i]);
	free(chosen);
	return rc;
}
