/* SPDX-License-Identifier: MIT */
/* deploy validate: check a topology and summarize it. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "graph/graph.h"
#include "providers/provider.h"
#include "topology/topology.h"
#include "util/banned.h"

enum {
	OPT_QUIET,
};

static const struct opt_spec validate_opts[] = {
	[OPT_QUIET] = { "quiet", 'q', OPT_FLAG, NULL,
			"print nothing when the topology is valid", NULL },
	{ 0 },
};

static void print_providers(const struct topology *t)
{
	const struct provider_ops *seen[16];
	size_t nr = 0;

	printf("providers: ");
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct provider_ops *p = t->roles[i].provider;
		bool dup = false;

		for (size_t j = 0; j < nr; j++)
			dup |= seen[j] == p;
		if (dup || nr == 16)
			continue;
		printf("%s%s", nr ? ", " : "", provider_name(p));
		seen[nr++] = p;
	}
	printf("\n");
	/* What each one does (and does not do yet). */
	for (size_t i = 0; i < nr; i++)
		printf("  %-12s  %s\n", provider_name(seen[i]),
		       provider_summary(seen[i]));
}

static void print_roles(const struct topology *t)
{
	int w = 4;

	for (size_t i = 0; i < t->nr_roles; i++)
		if ((int)strlen(t->roles[i].name) > w)
			w = (int)strlen(t->roles[i].name);
	printf("roles: %zu, hosts: %zu\n", t->nr_roles, t->nr_hosts);
	printf("  %-*s  %-12s  %5s  %s\n", w, "role", "provider", "hosts",
	       "playbooks");
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];

		printf("  %-*s  %-12s  %5zu  ", w, r->name,
		       provider_name(r->provider), r->nr_hosts);
		for (size_t j = 0; j < r->nr_playbooks; j++)
			printf("%s%s", j ? ", " : "", r->playbooks[j]);
		printf("%s\n", r->nr_playbooks ? "" : "-");
	}
}

static void print_order(const struct graph *g)
{
	printf("order:");
	for (size_t level = 1; level <= g->nr_levels; level++) {
		bool first = true;

		printf(" %zu.", level);
		for (size_t i = 0; i < g->nr; i++) {
			if (g->nodes[i].level != level)
				continue;
			printf("%s%s", first ? " " : ", ",
			       g->nodes[i].role->name);
			first = false;
		}
	}
	printf("\n");
}

static int validate_exec(const struct command *cmd, struct args *a)
{
	const char *path = topology_arg(a);
	struct topology *t;
	struct graph *g;
	int rc;

	(void)cmd;
	rc = cli_validate_topology(path, &t, &g);
	if (rc || a->opt[OPT_QUIET].set)
		goto out;
	printf("%s: valid topology '%s' (version %d%s%s)\n", path, t->name,
	       t->version, t->network ? ", network " : "",
	       t->network ? t->network : "");
	print_providers(t);
	print_roles(t);
	print_order(g);
out:
	graph_free(g);
	topology_free(t);
	return rc;
}

const struct command cmd_validate = {
	.name = "validate",
	.summary = "check a topology and summarize it",
	.usage = "[--quiet] [topology.yml]",
	.description =
		"Parse the topology and check it against docs/topology.md: "
		"keys, types, bounds,\nnames, references between roles, "
		"dependency cycles, CIDRs and ports, providers,\nSSH "
		"exposure and built-in playbook names.\nEvery problem is "
		"printed as FILE:LINE:COL: error: MESSAGE;\nwarnings (such as a secret whose variable is not "
		"set) do not fail it.\nOn success it prints a summary: roles, "
		"hosts, providers (with what each does) and order.\n\nExit codes: 0 valid, 1 "
		"invalid or unreadable, 64 usage error.",
	.opts = validate_opts,
	.max_pos = 1,
	.exec = validate_exec,
};
