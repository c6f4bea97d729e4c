/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SELECT_H
#define DEPLOY_SELECT_H

#include <stddef.h>

#include "topology/topology.h"
#include "util/error.h"

/*
 * Which hosts a command works on (`--limit`): a comma-separated list of
 * role and host names. A role name stands for every host of the role. NULL
 * selects every host. The result lists each host once, in topology order
 * (roles as written, then each role's hosts); the caller frees the array,
 * not the hosts.
 *
 * An empty list or entry, or a name that is neither a role nor a host, is
 * DEPLOY_ERR_USAGE with err saying so ("unknown role or host 'valdator'
 * (did you mean 'validator'?)").
 */
int topology_select(const struct topology *t, const char *limit,
		    struct host ***out, size_t *nr, struct error *err);

#endif
