/* SPDX-License-Identifier: MIT */
/* libFuzzer target: topologies and Ansible inventories. */

/*
 * libFuzzer target: any bytes through the YAML parser, the schema, the
 * cross-checks and the graph, and through both Ansible inventory readers
 * (the same bytes as an INI and as a YAML inventory, each group's hosts
 * resolved). Nothing may crash, leak, hang or overflow.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "graph/graph.h"
#include "topology/inventory.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_inventory(const char *file, const uint8_t *data, size_t size)
{
	struct inventory *inv = NULL;
	struct diag_list dl;
	const char *group;

	diag_list_init(&dl);
	inventory_parse(file, (const char *)data, size, &inv, &dl);
	for (size_t i = 0; i < 64 && (group = inventory_group_name(inv, i));
	     i++) {
		struct inventory_host *hosts = NULL;
		struct error err;
		size_t nr = 0;

		error_init(&err);
		inventory_group_hosts(inv, group, &hosts, &nr, &dl, &err);
		free(hosts);
		error_clear(&err);
	}
	inventory_free(inv);
	diag_list_free(&dl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topology *t = NULL;
	struct graph *g = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	if (!topology_parse("fuzz.yml", (const char *)data, size, &t, &dl,
			    &err)) {
		/* A valid topology always has an acyclic graph. */
		if (graph_build(t, &g, &err))
			abort();
		graph_free(g);
	}
	topology_free(t);
	diag_list_free(&dl);
	error_clear(&err);
	fuzz_inventory("fuzz.ini", data, size);
	fuzz_inventory("fuzz.yml", data, size);
	return 0;
}
