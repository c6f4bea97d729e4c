/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_CONFIGURE_UI_H
#define DEPLOY_CLI_CONFIGURE_UI_H

#include <stdbool.h>

#include "run/configure.h"

/* The progress callbacks for configure_run(), printing to stdout (and
 * sending events with --json, cli/events.h). */
const struct configure_ops *configure_ui(bool check);
void print_configure_summary(const struct configure_result *res, bool check);
/* The diffs of a host's file steps (--diff), indented under its line. */
void print_host_diffs(const struct host_run *hr);

#endif
