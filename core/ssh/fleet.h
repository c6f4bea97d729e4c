/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SSH_FLEET_H
#define DEPLOY_SSH_FLEET_H

#include "ssh/engine.h"
#include "state/state.h"
#include "topology/topology.h"
#include "util/error.h"

/*
 * The topology's hosts as SSH targets of one engine: a host is added on
 * first use, with the bastions on its `via` chain before it (the first host
 * of the `via` role), each once. Key and known_hosts paths are expanded:
 * `~/` is the home directory, and a relative path is taken from the
 * topology's directory. A host key pinned in the state file (hosts that
 * `deploy up` made) is checked instead of known_hosts.
 */
struct ssh_fleet;

/* s MAY be NULL (no state). */
struct ssh_fleet *ssh_fleet_new(struct ssh_engine *e, const struct topology *t,
				struct state *s);
void ssh_fleet_free(struct ssh_fleet *f);

/*
 * The engine's host for h. DEPLOY_ERR_INVALID with err set when h, or a
 * bastion on its way, has no address yet (a host the provider has not
 * created): "host 'validator-0' has no address yet (provider 'local'): run
 * 'deploy up' first".
 */
int ssh_fleet_host(struct ssh_fleet *f, const struct host *h,
		   struct ssh_host **out, struct error *err);

/* How many hosts can serve as bastions (first hosts of `via` roles). */
unsigned ssh_fleet_count_bastions(const struct topology *t);

#endif
