/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_EVENTS_H
#define DEPLOY_CLI_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "plan/plan.h"
#include "run/configure.h"

/*
 * --json for plan, up and down: one JSON object per line on stdout, a
 * version line first (docs/cli.md, "JSON events"; docs/events.schema.json).
 * While events are on, stdout carries nothing else: events_start() moves
 * the human lines (everything else printf'd) to stderr.
 */

/* Turn events on for COMMAND and print the version line. */
void events_start(const char *command);
bool events_on(void);
/* Print o as one line and free it. */
void events_emit(cJSON *o);

/* A resource of the plan starts, is done or failed. */
void event_resource(const struct plan_item *it, enum plan_progress what);
/* A host's configuration, its steps, its end (from configure-ui.c). */
void event_host_start(const struct host_run *hr, bool check);
void event_step(const struct host_run *hr, bool begin);
void event_host_done(const struct host_run *hr);

/* An error that ends the command (print_error() sends it here too). */
void event_error(const char *file, int line, const char *msg);

/* The last line of up and down. */
struct event_summary {
	const char *command;
	bool check;
	size_t created, destroyed, kept;
	bool configured; /* the host counts below hold */
	size_t hosts, hosts_ok, hosts_failed, hosts_skipped, steps_changed;
	int exit_code;
};
void event_summary_hosts(struct event_summary *s,
			 const struct configure_result *res);
void event_summary(const struct event_summary *s);

#endif
