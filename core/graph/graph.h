/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_GRAPH_H
#define DEPLOY_GRAPH_H

#include <stddef.h>

#include "topology/topology.h"

/*
 * The order in which roles are configured: a directed graph with an edge
 * from role A to role B when B must wait for A (B lists A in `after:`, or
 * reaches its hosts `via:` A). Every host of a role depends on every host of
 * the roles its role depends on. Levels group what can run at the same
 * time: a role's level is one more than the highest level it depends on.
 */

struct graph_edge {
	size_t to; /* index into topology.roles */
	bool via;  /* the dependent reaches its hosts through this role */
	const struct ynode *node; /* the after/via entry that made it */
};

struct graph_node {
	struct role *role;
	struct graph_edge *out; /* roles that wait for this one */
	size_t nr_out;
	size_t alloc_out;
	size_t *deps; /* roles this one waits for */
	size_t nr_deps;
	size_t alloc_deps;
	size_t level; /* from 1 */
};

struct graph {
	const struct topology *t;
	struct graph_node *nodes; /* same order as topology.roles */
	size_t nr;
	size_t nr_levels;
};

/*
 * Report every dependency cycle among the roles as an error in dl, with its
 * path ("validator -> sentry -> validator") at the entry that closes it.
 * Unresolved references (role_ref.role NULL) are ignored.
 */
void graph_check_cycles(const struct topology *t, struct diag_list *dl);

/* Build the graph of a validated topology (no cycles). */
int graph_build(const struct topology *t, struct graph **out,
		struct error *err);
void graph_free(struct graph *g);

#endif
