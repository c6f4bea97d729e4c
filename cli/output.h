/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_OUTPUT_H
#define DEPLOY_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"
#include "source/source.h"

/*
 * Print the plan as `+ create local host x` lines and a summary, or as
 * events (json: after events_start(), cli/events.h). The sources come
 * first when pins is not NULL: `source NAME: REF at COMMIT` lines, or
 * {"type":"source",...}.
 */
void print_plan(const struct plan *p, const struct source_pin *pins,
		size_t nr_pins, bool json);

#endif
