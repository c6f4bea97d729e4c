/* SPDX-License-Identifier: MIT */
/* The role graph: edges from after: and via:, levels, cycles by path. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static size_t role_index(const struct topology *t, const struct role *r)
{
	return (size_t)(r - t->roles);
}

static void add_edge(struct graph_node *nodes, size_t from, size_t to, bool via,
		     const struct ynode *node)
{
	struct graph_node *f = &nodes[from], *d = &nodes[to];

	for (size_t i = 0; i < f->nr_out; i++) {
		if (f->out[i].to == to) {
			f->out[i].via |= via;
			return;
		}
	}
	XGROW(f->out, f->alloc_out, f->nr_out + 1);
	f->out[f->nr_out].to = to;
	f->out[f->nr_out].via = via;
	f->out[f->nr_out].node = node;
	f->nr_out++;
	XGROW(d->deps, d->alloc_deps, d->nr_deps + 1);
	d->deps[d->nr_deps++] = from;
}

static struct graph_node *make_nodes(const struct topology *t)
{
	struct graph_node *nodes = xcalloc(t->nr_roles, sizeof(*nodes));

	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *r = &t->roles[i];

		nodes[i].role = r;
		if (r->via.role)
			add_edge(nodes, role_index(t, r->via.role), i, true,
				 r->via.node);
		for (size_t j = 0; j < r->nr_after; j++)
			if (r->after[j].role)
				add_edge(nodes, role_index(t, r->after[j].role),
					 i, false, r->after[j].node);
	}
	return nodes;
}

static void free_nodes(struct graph_node *nodes, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(nodes[i].out);
		free(nodes[i].deps);
	}
	free(nodes);
}

enum color {
	WHITE,
	GREY,
	BLACK,
};

struct dfs_frame {
	size_t node;
	size_t next; /* next out-edge to follow */
};

/* The cycle closed by the edge stack[top] -> `to`, in edge direction. */
static void report_cycle(const struct topology *t,
			 const struct graph_node *nodes,
			 const struct dfs_frame *stack, size_t depth, size_t to,
			 const struct ynode *at, struct diag_list *dl)
{
	struct buf path = BUF_INIT;
	size_t start = depth;

	while (start > 0 && stack[start - 1].node != to)
		start--;
	if (start > 0)
		start--;
	/* In "must wait for" direction: the dependent first. */
	buf_adds(&path, nodes[to].role->name);
	for (size_t i = depth; i-- > start;)
		buf_addf(&path, " -> %s", nodes[stack[i].node].role->name);
	diag_add(dl, DIAG_ERROR, t->file, at->line, at->col,
		 "dependency cycle: %s (each role waits for the next through "
		 "'after' or 'via'; remove one of these)",
		 path.data);
	buf_free(&path);
}

void graph_check_cycles(const struct topology *t, struct diag_list *dl)
{
	struct graph_node *nodes = make_nodes(t);
	enum color *color = xcalloc(t->nr_roles, sizeof(*color));
	struct dfs_frame *stack = xcalloc(t->nr_roles + 1, sizeof(*stack));

	/*
	 * Depth-first over "is waited for by" edges, iterative so that no
	 * topology can exhaust the C stack. An edge to a grey node closes a
	 * cycle: each such edge is reported once.
	 */
	for (size_t s = 0; s < t->nr_roles; s++) {
		size_t depth = 0;

		if (color[s] != WHITE)
			continue;
		stack[depth].node = s;
		stack[depth].next = 0;
		depth++;
		color[s] = GREY;
		while (depth) {
			struct dfs_frame *f = &stack[depth - 1];
			struct graph_node *n = &nodes[f->node];
			const struct graph_edge *e;

			if (f->next == n->nr_out) {
				color[f->node] = BLACK;
				depth--;
				continue;
			}
			e = &n->out[f->next++];
			if (color[e->to] == GREY) {
				report_cycle(t, nodes, stack, depth, e->to,
					     e->node, dl);
			} else if (color[e->to] == WHITE) {
				color[e->to] = GREY;
				stack[depth].node = e->to;
				stack[depth].next = 0;
				depth++;
			}
		}
	}
	free(stack);
	free(color);
	free_nodes(nodes, t->nr_roles);
}

int graph_build(const struct topology *t, struct graph **out, struct error *err)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	size_t *queue = xcalloc(t->nr_roles + 1, sizeof(*queue));
	size_t *waiting = xcalloc(t->nr_roles + 1, sizeof(*waiting));
	size_t head = 0, tail = 0;

	g->t = t;
	g->nr = t->nr_roles;
	g->nodes = make_nodes(t);
	/* Kahn's algorithm: a role's level follows its deepest dependency. */
	for (size_t i = 0; i < g->nr; i++) {
		waiting[i] = g->nodes[i].nr_deps;
		g->nodes[i].level = 1;
		if (!waiting[i])
			queue[tail++] = i;
	}
	while (head < tail) {
		struct graph_node *n = &g->nodes[queue[head++]];

		if (n->level > g->nr_levels)
			g->nr_levels = n->level;
		for (size_t i = 0; i < n->nr_out; i++) {
			struct graph_node *d = &g->nodes[n->out[i].to];

			if (d->level < n->level + 1)
				d->level = n->level + 1;
			if (!--waiting[n->out[i].to])
				queue[tail++] = n->out[i].to;
		}
	}
	free(queue);
	free(waiting);
	if (tail != g->nr) {
		graph_free(g);
		*out = NULL;
		return error_set(err, DEPLOY_ERR_INVALID, t->file, 0, 0,
				 "the roles' dependencies form a cycle");
	}
	*out = g;
	return 0;
}

void graph_free(struct graph *g)
{
	if (!g)
		return;
	free_nodes(g->nodes, g->nr);
	free(g);
}
