/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAN_H
#define DEPLOY_PLAN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "graph/graph.h"
#include "providers/provider.h"
#include "state/state.h"
#include "topology/topology.h"

/*
 * What a run would do to the providers' resources: the topology's hosts
 * against the state, refreshed from the providers (a recorded host that is
 * gone is created again, saying why; a recorded host the topology no longer
 * has is destroyed).
 */

enum plan_op {
	PLAN_KEEP,
	PLAN_CREATE,
	PLAN_DESTROY,
};

struct plan_item {
	enum plan_op op;
	const struct provider_ops *provider;
	const char *kind;	    /* "host" */
	const char *name;	    /* the host's name */
	const char *role;	    /* the role (of the state for destroys) */
	struct host *host;	    /* PLAN_KEEP, PLAN_CREATE */
	struct state_resource *res; /* PLAN_KEEP, PLAN_DESTROY; may be NULL */
	char *reason;		    /* why, when it is not obvious */
	bool unrecorded; /* exists at the provider, not in the state */
	bool owned_name; /* name is the item's own copy */
	bool owned_role; /* and role */
	size_t level;	 /* the role's level; 0 for unknown roles */
};

struct plan {
	struct plan_item *items;
	size_t nr;
	size_t alloc;
	size_t creates;
	size_t destroys;
	size_t keeps;
	size_t unrecorded; /* hosts found at a provider, not in the state */
	/* Changes to what providers share between hosts (firewall groups),
	 * one line each ("~ aws security-group web: + tcp 443 from
	 * 0.0.0.0/0"); made by lifecycle_sync(). */
	char *sync_lines;
	size_t syncs;
	/* How kept hosts differ from the topology, one line each ("~ aws
	 * host node-0: size t2.micro, the topology says t3.micro"): told,
	 * not changed by up (provider.h, drift). */
	char *drift_lines;
	size_t drifts;
};

/* A run's providers: one provider_run per provider the run touches. */
struct lifecycle {
	const struct topology *t;
	const struct graph *g;
	struct state *state;
	const char *authorized_keys;
	int (*save)(struct provider_run *run, struct error *err);
	void *ctx;
	/* Set (by a signal handler) to stop starting new work. */
	const volatile int *stop;
	/* --limit: only these hosts (and recorded hosts of their roles that
	 * the topology no longer has); NULL: every host. */
	struct host **limit;
	size_t nr_limit;
	/* Destroy the hosts of roles with protect or static_ip too. */
	bool include_protected;
	/* Record hosts found at a provider but missing from the state. */
	bool adopt;
	/* The state lock every provider_run points at: providers of one
	 * level run at the same time (provider.h, "Concurrency"). */
	pthread_mutex_t lock;
	struct provider_run runs[8];
	size_t nr_runs;
};

void lifecycle_init(struct lifecycle *lc, const struct topology *t,
		    const struct graph *g, struct state *state);
/* Whether --limit takes the host `name` of role `role` in. */
bool lifecycle_selected(const struct lifecycle *lc, const char *name,
			const char *role);
struct provider_run *lifecycle_run(struct lifecycle *lc,
				   const struct provider_ops *p);
/* Bring what each provider of the topology shares between its hosts in
 * line with the topology (plan's sync_lines). */
int lifecycle_sync(struct lifecycle *lc, struct error *err);
/* Before hosts are configured: each provider the roles use starts what
 * its hosts need meanwhile (configure_begin); lifecycle_release() stops
 * it. */
int lifecycle_configure_begin(struct lifecycle *lc, struct error *err);
/* Let each provider free what it kept for the run. */
void lifecycle_release(struct lifecycle *lc);

/*
 * The plan for `up` (destroy_all false) or `down` (true). With refresh,
 * each recorded resource is looked up at its provider.
 */
int plan_build(struct lifecycle *lc, bool destroy_all, bool refresh,
	       struct plan **out, struct error *err);
void plan_free(struct plan *p);

/*
 * Carry the plan out: destroys first (the highest levels first), then
 * creates level by level; after its last resource is gone, a provider
 * removes what it shared. State is saved by the providers after every
 * change. `progress` (may be NULL) is told of each item before it starts
 * and when it is done or failed (from the calling thread; the creates of
 * one provider in a level end together).
 *
 * Within a level, the hosts of each provider are made by one hosts_up
 * call, and when several providers have hosts in the level their calls
 * run at the same time, one thread each, sharing the state under
 * lc->lock; then the new hosts that will be contacted directly (roles
 * with playbooks and no via), and those the provider says it started, are
 * waited for until they answer SSH (core/ssh/probe.h). A failure of one
 * provider lets the others finish their level; the first failure in
 * registry order is returned.
 */
enum plan_progress {
	PLAN_ITEM_START,
	PLAN_ITEM_DONE,	  /* made, or removed (or gone already) */
	PLAN_ITEM_FAILED, /* its provider failed: plan_apply's error says why */
};
typedef void plan_progress_fn(void *ctx, const struct plan_item *it,
			      enum plan_progress what);
int plan_apply(struct lifecycle *lc, struct plan *p, plan_progress_fn *progress,
	       void *ctx, struct error *err);

/* What plan_apply returns when *lc->stop was set: the work it had
 * started is finished and recorded; nothing new was started. */
#define PLAN_STOPPED DEPLOY_ERR_INTERRUPTED

/* Point each created host of the topology at its address in the state. */
void plan_bind_addresses(const struct topology *t, const struct state *s);

#endif
