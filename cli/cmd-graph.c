/* SPDX-License-Identifier: MIT */
/* deploy graph: the roles' dependency graph, as text or as DOT. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "graph/graph.h"
#include "providers/provider.h"
#include "topology/topology.h"
#include "util/banned.h"

enum {
	OPT_FORMAT,
};

static const char *const formats[] = { "text", "dot", NULL };

static const struct opt_spec graph_opts[] = {
	[OPT_FORMAT] = { "format", 'f', OPT_STRING, "FORMAT",
			 "text (default) or dot (Graphviz)", formats },
	{ 0 },
};

/* A role's hosts, shortened past 6: "sentry-0, sentry-1, ..., sentry-9". */
static void print_hosts(const struct role *r, FILE *out)
{
	if (!r->nr_hosts) {
		fputs("no hosts", out);
		return;
	}
	for (size_t i = 0; i < r->nr_hosts; i++) {
		if (r->nr_hosts > 6 && i == 3) {
			fputs(", ...", out);
			i = r->nr_hosts - 1;
		}
		fprintf(out, "%s%s", i ? ", " : "", r->hosts[i].name);
	}
	if (r->nr_hosts > 6)
		fprintf(out, " (%zu hosts)", r->nr_hosts);
}

static void print_deps(const struct role *r, FILE *out)
{
	if (!r->nr_after && !r->via.name)
		return;
	fputs("  [", out);
	if (r->nr_after) {
		fputs("after ", out);
		for (size_t i = 0; i < r->nr_after; i++)
			fprintf(out, "%s%s", i ? ", " : "", r->after[i].name);
	}
	if (r->via.name)
		fprintf(out, "%svia %s", r->nr_after ? "; " : "", r->via.name);
	fputs("]", out);
}

static void print_text(const struct graph *g, FILE *out)
{
	const struct topology *t = g->t;

	fprintf(out,
		"%s: %zu role%s, %zu host%s, %zu level%s (the roles of a "
		"level run at the same time)\n",
		t->name, t->nr_roles, t->nr_roles == 1 ? "" : "s", t->nr_hosts,
		t->nr_hosts == 1 ? "" : "s", g->nr_levels,
		g->nr_levels == 1 ? "" : "s");
	for (size_t level = 1; level <= g->nr_levels; level++) {
		fprintf(out, "level %zu\n", level);
		for (size_t i = 0; i < g->nr; i++) {
			const struct role *r = g->nodes[i].role;

			if (g->nodes[i].level != level)
				continue;
			fprintf(out, "  %s (%s): ", r->name,
				provider_name(r->provider));
			print_hosts(r, out);
			print_deps(r, out);
			fputc('\n', out);
		}
	}
}

/* Names are DNS labels (validated), so they need no escaping in DOT. */
static void print_dot(const struct graph *g, FILE *out)
{
	fprintf(out, "digraph \"%s\" {\n", g->t->name);
	fputs("\trankdir=LR;\n"
	      "\tnode [shape=box, fontname=\"monospace\"];\n",
	      out);
	for (size_t level = 1; level <= g->nr_levels; level++) {
		fputs("\t{ rank=same;", out);
		for (size_t i = 0; i < g->nr; i++)
			if (g->nodes[i].level == level)
				fprintf(out, " \"%s\";",
					g->nodes[i].role->name);
		fputs(" }\n", out);
	}
	for (size_t i = 0; i < g->nr; i++) {
		const struct role *r = g->nodes[i].role;

		fprintf(out, "\t\"%s\" [label=\"%s\\n%s: ", r->name, r->name,
			provider_name(r->provider));
		print_hosts(r, out);
		fputs("\"];\n", out);
	}
	for (size_t i = 0; i < g->nr; i++) {
		for (size_t j = 0; j < g->nodes[i].nr_out; j++) {
			const struct graph_edge *e = &g->nodes[i].out[j];

			fprintf(out, "\t\"%s\" -> \"%s\"%s;\n",
				g->nodes[i].role->name,
				g->nodes[e->to].role->name,
				e->via ? " [style=dashed, label=\"via\"]" : "");
		}
	}
	fputs("}\n", out);
}

static int graph_exec(const struct command *cmd, struct args *a)
{
	const char *format =
		a->opt[OPT_FORMAT].set ? a->opt[OPT_FORMAT].str : "text";
	struct topology *t;
	struct graph *g;
	int rc;

	(void)cmd;
	rc = cli_validate_topology(topology_arg(a), &t, &g);
	if (rc)
		return rc;
	if (!strcmp(format, "dot"))
		print_dot(g, stdout);
	else
		print_text(g, stdout);
	graph_free(g);
	topology_free(t);
	return rc;
}

const struct command cmd_graph = {
	.name = "graph",
	.summary = "print the order in which roles are configured",
	.usage = "[--format text|dot] [topology.yml]",
	.description =
		"Print the dependency graph of the topology's roles: an edge "
		"from A to B when B\nlists A in 'after' or reaches its hosts "
		"'via' A. The text form groups roles\ninto levels; the roles "
		"of one level are configured at the same time, each\nlevel "
		"after the one before. --format dot prints Graphviz DOT; "
		"make a picture\nwith: deploy graph --format dot topology.yml "
		"| dot -Tsvg > graph.svg",
	.opts = graph_opts,
	.max_pos = 1,
	.exec = graph_exec,
};
