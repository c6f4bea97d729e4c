/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: any bytes through the YAML parser, the schema, the
 * cross-checks and the graph. Nothing may crash, leak, hang or overflow.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "graph/graph.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	return 0;
}
