/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_OUTPUT_H
#define DEPLOY_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"
#include "source/source.h"
#include "state/state.h"
#include "topology/topology.h"

/*
 * Print the plan as `+ create local host x` lines and a summary, or as
 * events (json: after events_start(), cli/events.h). The sources come
 * first when pins is not NULL: `source NAME: REF at COMMIT` lines, or
 * {"type":"source",...}.
 */
void print_plan(const struct plan *p, const struct source_pin *pins,
		size_t nr_pins, bool json);

/*
 * For each host (of limit, when not NULL) whose state records an artifact
 * put there by a playbook step that the topology now pins at another
 * digest, one line:
 *   ~ validator-0: near-node: neard 2.3.0 → 2.4.0, restart
 * (versions from the artifacts' `version:`, else the digests' first 12
 * hex digits; ", restart" when the step notifies a handler). Returns how
 * many lines it printed.
 */
size_t print_artifact_changes(const struct topology *t, const struct state *s,
			      struct host *const *limit, size_t nr_limit);

#endif
