/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_FAKE_H
#define DEPLOY_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * The fake providers "fake" and "fake2", compiled into test builds only
 * (DEPLOY_TEST_PROVIDERS; see meson.build): a cloud in memory, written on
 * the provider kit (providers/resource.h) as a real provider is. Each
 * provider has one shared "network" (looked up by id, then by tags, as
 * an AWS VPC) and its hosts (found by key, as a DigitalOcean tag, then by
 * tags, as an EC2 instance; made anew with a new key once gone).
 *
 * Every call is logged, one line each ("fake create host web-0"), and
 * each step (a hook, a save) counted: a test makes step N fail once
 * (an error, the run goes on as the caller decides) or "crash" (that step
 * and every later one fail, and saves stop: as if the process were
 * killed there; the test then reloads the state from disk and runs again).
 */

enum fake_mode {
	FAKE_FAIL,  /* step N returns an error, later steps work */
	FAKE_CRASH, /* step N and everything after it fail, nothing saved */
};

/* Forget the world, the log and any planned failure. */
void fake_reset(void);
/* Fail (or crash) at the step-th step from now on (from 1). */
void fake_fail_at(unsigned step, enum fake_mode mode);
/* Count one step named what; DEPLOY_ERR_IO (failure) or
 * DEPLOY_ERR_INTERRUPTED (crash) when it is the one planned, or when
 * crashed before. Logged as "step N WHAT". */
int fake_step(const char *what, struct error *err);
/* Steps counted since the last fake_reset(). */
unsigned fake_steps(void);
bool fake_crashed(void);
/* The calls so far, one line each; owned by the fake. */
const char *fake_log(void);
void fake_log_clear(void);

/* The world: live resources of provider (NULL: any) and kind. */
size_t fake_count(const char *provider, const char *kind);
/* Whether the live resource exists; its id. */
const char *fake_id_of(const char *provider, const char *kind,
		       const char *name);
/* Delete it (outside deploy) / make one (outside deploy: unrecorded). */
void fake_delete(const char *provider, const char *kind, const char *name);
void fake_make(const char *provider, const char *topology, const char *kind,
	       const char *name);

/* The address and port hosts_up records for every host (default:
 * 192.0.2.N, port 22). */
void fake_address(const char *address, int port);

/* hosts_up of "fake" and "fake2" wait (up to 5 s) until both are in
 * hosts_up at once: a test of their overlap fails when they do not. */
void fake_rendezvous(bool on);
/* Whether the last rendezvous was met. */
bool fake_met(void);

#endif
