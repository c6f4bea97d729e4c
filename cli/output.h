/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_OUTPUT_H
#define DEPLOY_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "plan/artifact-changes.h"
#include "plan/plan.h"
#include "source/source.h"
#include "state/state.h"
#include "topology/topology.h"

/*
 * Print the plan as `+ create local host x` lines and a summary, or as
 * events (json: after events_start(), cli/events.h). The sources come
 * first when pins is not NULL: `source NAME: REF at COMMIT` lines, or
 * {"type":"source",...}. The artifact changes (plan/artifact-changes.h)
 * come after the summary line as text, or as events before the
 * change_summary event, which counts them as "artifacts".
 */
void print_plan(const struct plan *p, const struct source_pin *pins,
		size_t nr_pins, const struct artifact_change *changes,
		size_t nr_changes, bool json);

#endif
