/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SSH_PROBE_H
#define DEPLOY_SSH_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * Whether a host answers SSH: a TCP connect and the first bytes of the
 * server's banner ("SSH-"), no login. Addresses are numeric (IPv4 or
 * IPv6): no name is looked up, so every probe is bounded.
 */

/* Whether address:port sends "SSH-" within timeout_ms (connect included). */
bool ssh_probe(const char *address, int port, int timeout_ms);

struct ssh_probe_target {
	const char *name; /* for the message */
	const char *address;
	int port;	  /* 0: 22 */
	const char *hint; /* added to the message when it does not answer */
	bool ready;	  /* out */
};

/*
 * Probe each target until all answered or timeout_ms passed, with backoff
 * between rounds (0.1 s doubling to 2 s); each probe is bounded too. Ends
 * early with DEPLOY_ERR_INTERRUPTED when *stop (may be NULL) is set, and
 * with DEPLOY_ERR_TIMEOUT naming the first target that did not answer.
 * `wait` (may be NULL) is called to sleep between rounds (it may release
 * a lock while it sleeps).
 */
int ssh_probe_wait(struct ssh_probe_target *v, size_t nr, int timeout_ms,
		   const volatile int *stop, void (*wait)(void *ctx, long ms),
		   void *ctx, struct error *err);

#endif
