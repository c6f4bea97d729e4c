/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAN_ARTIFACT_CHANGES_H
#define DEPLOY_PLAN_ARTIFACT_CHANGES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "state/state.h"
#include "topology/topology.h"
#include "util/buf.h"

/*
 * The artifact changes a plan shows: a host whose last good run put an
 * artifact there (the state's host "artifacts") that the topology now pins
 * at another digest. up applies them (docs/cli.md, deploy plan).
 */
struct artifact_change {
	const char *host;     /* the topology's */
	const char *role;     /* the topology's */
	const char *playbook; /* the state's; NULL when it names none */
	const char *artifact; /* the state's (the topology's name) */
	char from[80];	      /* the host's version, else a short digest */
	char to[80];	      /* the topology's, the same way */
	char from_sha256[65];
	char to_sha256[65];
	bool restart; /* the step notifies a handler */
};

/*
 * The changes of every host (of limit, when not NULL), in the topology's
 * order, into *out (the caller frees it; its strings belong to t and s,
 * which must outlive it). Returns how many.
 */
size_t artifact_changes(const struct topology *t, const struct state *s,
			struct host *const *limit, size_t nr_limit,
			struct artifact_change **out);

/* "~ validator-0: near-node: neard 2.3.0 → 2.4.0, restart", appended. */
void artifact_change_text(const struct artifact_change *c, struct buf *out);

/*
 * The plan --json event: {"type":"artifact_change","host":...,"role":...,
 * "playbook":... (when known),"artifact":...,"from":...,"to":...,
 * "from_sha256":...,"to_sha256":...,"restart":...,"text":...}.
 */
cJSON *artifact_change_json(const struct artifact_change *c);

#endif
