/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_WAIT_H
#define DEPLOY_WAIT_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/provider.h"

/*
 * The wait until a provider's new hosts run, written once: one list call a
 * round for all of them (round()), the state saved after each (the
 * addresses it recorded), jittered pauses growing from 0.5 s to 5 s, a
 * deadline, the stop flag; a host missing from max_missing lists in a row
 * is an error (its create was accepted, then it went).
 */
struct host_wait {
	const char *noun;     /* "digitalocean droplet", "gcp instance" */
	const char *provider; /* "digitalocean": the timeout's message */
	const char *state;    /* "active", "running" */
	const char *gone_why; /* after "'HOST' is gone ": "after its create
				 was accepted (...)" */
	int max_missing;
	int deadline_s;
	/*
	 * MUST: one list: for each host i it saw, seen[i]; for one that runs
	 * (its addresses recorded in the state), done[i] too. Hosts done
	 * already are left alone.
	 */
	int (*round)(struct provider_run *run, void *ud, bool *done, bool *seen,
		     struct error *err);
	void *ud;
};

/*
 * Until every one of the nr hosts is done; messages name them by
 * hosts[i]->name: "digitalocean droplet 'web-0' is gone after ...: run
 * again to make it anew", "digitalocean: 2 droplets not active after
 * 300 s" (the noun's last word, with an 's' for more than one).
 */
int provider_wait_hosts(struct provider_run *run, struct host *const *hosts,
			size_t nr, const struct host_wait *w,
			struct error *err);

#endif
