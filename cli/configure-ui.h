/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_CONFIGURE_UI_H
#define DEPLOY_CLI_CONFIGURE_UI_H

#include <stdbool.h>

#include "run/configure.h"

/* The progress callbacks for configure_run(), printing to stdout. */
const struct configure_ops *configure_ui(void);
void print_configure_summary(const struct configure_result *res, bool check);

#endif
