/* SPDX-License-Identifier: MIT */
/* What up records of a host it configured (run/record.c). */
#ifndef DEPLOY_RUN_RECORD_H
#define DEPLOY_RUN_RECORD_H

#include <stddef.h>

#include "state/state.h"
#include "topology/topology.h"

struct playbook;
struct script;

/* The time now, as RFC 3339 in UTC ("2026-12-03T19:20:00Z"). */
void record_now(char *out, size_t size);

/*
 * A host whose run ended ok: applied_at = when, what its artifact steps
 * put there (for plan's "~" lines), and the digest of each of its role's
 * playbooks (pbs: the role's own, in the role's order).
 */
void record_applied(struct state_host *sh, const char *when,
		    const struct script *sc, const struct role *role,
		    struct playbook *const *pbs);

#endif
