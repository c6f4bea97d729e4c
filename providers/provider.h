/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PROVIDER_H
#define DEPLOY_PROVIDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "state/state.h"
#include "topology/schema.h"
#include "topology/topology.h"
#include "util/buf.h"

/*
 * A provider is a const ops table listed in providers/registry.c, the only
 * place that names them all. Callers use the provider_*() wrappers below,
 * never p->ops members directly and never a switch on a provider's name.
 *
 * Members marked MUST are set by every provider; MAY ones may be NULL/0.
 * Writing a provider: docs/providers.md ("Writing a provider"); the
 * crash-safe create protocol every provider uses is providers/resource.h.
 *
 * Concurrency: when one dependency level has hosts at several providers,
 * plan_apply() runs their hosts_up (and the wait for SSH after it) at the
 * same time, one thread per provider; each provider's own operations stay
 * sequential. The providers share the state, guarded by one lock (the
 * "state lock", run->lock): every operation below is CALLED WITH IT HELD,
 * and run->save() is called with it held. An operation that waits without
 * touching run->state releases it: provider_sleep() does, and
 * provider_unlock()/provider_lock() bracket longer work (booting a
 * container). No pointer into run->state is kept across a release: the
 * other provider may add or remove resources meanwhile.
 */

/* The provider takes existing hosts listed in the role (bare metal over SSH)
 * instead of creating them: a role lists `hosts`, and count, size, image,
 * region, zone, disk and static_ip do not apply. */
#define PROVIDER_EXISTING_HOSTS 0x1

/*
 * What a provider gets for one run: the topology, its settings, and the
 * state in which it records every resource. A resource is recorded as
 * pending (with its idempotency key) and the state saved BEFORE it is
 * asked for, and the result recorded and saved right after, so that a run
 * killed at any instant is resumed by adopting, never by creating twice:
 * resource_ensure() (resource.h) does that for the provider.
 */
struct provider_run {
	const struct provider_ops *provider;
	const struct topology *t;
	const struct ynode *config; /* providers.NAME, or NULL */
	struct state *state;
	const char *authorized_keys; /* the operator's public key lines */
	/* Save the state now (the caller's function: it may also log). */
	int (*save)(struct provider_run *run, struct error *err);
	void *ctx;
	/* Set (by a signal handler) to stop waiting and starting work. */
	const volatile int *stop;
	/* The state lock (see "Concurrency" above); NULL: none needed. */
	pthread_mutex_t *lock;
	/* The provider's own, for the run (clients, caches): made by its
	 * operations as needed, freed by its release(). */
	void *priv;
	/* Hosts hosts_up started now (provider_host_started()). */
	const struct host **started;
	size_t nr_started;
};

struct provider_ops {
	const char *name;		    /* MUST: as written in topologies */
	const char *summary;		    /* MUST: one line for help */
	unsigned flags;			    /* MAY: PROVIDER_* */
	const struct key_spec *config_keys; /* MUST: keys of providers.NAME,
					       ended by a { 0 } entry */
	/* MAY: seconds a new host may take to answer SSH after hosts_up
	 * returned (0: 300), and a hint added when it does not. */
	int ssh_wait_s;
	const char *ssh_hint;
	/*
	 * MAY (MUST for providers that create hosts): create the hosts
	 * that are missing, adopt those recorded as pending (resource.h),
	 * and record each in the state as resource (provider, "host", host
	 * name) with its address (and host key when it knows it); return
	 * once the provider says each runs. The runner then waits for the
	 * SSH banner of the hosts it will contact directly (roles with
	 * playbooks and no via) and of those the provider reported with
	 * provider_host_started().
	 */
	int (*hosts_up)(struct provider_run *run, struct host *const *hosts,
			size_t nr, struct error *err);
	/* MAY: whether a recorded resource still exists at the provider. */
	int (*exists)(struct provider_run *run, const struct state_resource *r,
		      bool *exists, struct error *err);
	/* MAY: delete a recorded resource; one already gone is fine. The
	 * provider removes it from the state and saves. */
	int (*destroy)(struct provider_run *run, struct state_resource *r,
		       struct error *err);
	/*
	 * MAY: delete the recorded hosts named names[] at once, each as
	 * destroy() would (gone already is fine), removing each from the
	 * state and saving. Returns the first error; the hosts deleted beside
	 * it are removed from the state all the same. Without it, down calls
	 * destroy() for each host in turn.
	 */
	int (*destroy_hosts)(struct provider_run *run, const char *const *names,
			     size_t nr, struct error *err);
	/* MAY: remove what the provider shares between resources (a
	 * bridge, a VPC) once none of its resources is left. */
	int (*finish_down)(struct provider_run *run, struct error *err);
	/* MAY: the names of the hosts that exist at the provider for this
	 * topology (found by its tags or names), recorded or not. */
	int (*list_hosts)(struct provider_run *run, char ***names, size_t *nr,
			  struct error *err);
	/*
	 * MAY: bring what the provider shares between its hosts (networks,
	 * firewall groups) in line with the topology, for a topology with
	 * hosts of it recorded. With dry not NULL nothing changes: a line
	 * per change it would make is appended to dry ("~ aws
	 * security-group web: + tcp 443 from 0.0.0.0/0"). Nothing to change
	 * makes no mutating call.
	 */
	int (*sync)(struct provider_run *run, struct buf *dry,
		    struct error *err);
	/* MAY: start what the provider's hosts need while their playbooks
	 * run (the local provider's apt proxy), for the rest of the run:
	 * release() stops it. Called by up before it configures hosts. */
	int (*configure_begin)(struct provider_run *run, struct error *err);
	/* MAY: free run->priv at the end of the run (without the lock). */
	void (*release)(struct provider_run *run);
	/* MAY: record the existing host `id` at the provider as h (deploy
	 * import): check it, tag it as the provider tags what it makes,
	 * record it as created with its addresses, and save. */
	int (*import_host)(struct provider_run *run, const struct host *h,
			   const char *id, struct error *err);
	/*
	 * MAY: how the recorded host r (kept by the plan) differs from what
	 * the topology says of h: a line each appended to out ("~ aws host
	 * node-0: size t2.micro, the topology says t3.micro"); none when
	 * nothing differs or the provider cannot tell. Up changes none of
	 * these (an imported host keeps its own; a changed size applies to
	 * new hosts): they are told, not fixed. Makes no mutating call.
	 */
	int (*drift)(struct provider_run *run, const struct host *h,
		     const struct state_resource *r, struct buf *out,
		     struct error *err);
	/*
	 * MAY (MUST for a provider that makes data disks): where host h's
	 * data disk (roles.NAME.disk) shows on the host: device paths, the
	 * most stable first, each appended to paths (a JSON array of
	 * strings); the disk step (playbooks/disk.yml) takes the first that
	 * appears there. s holds what the provider recorded of h (it is
	 * not changed). Makes no call.
	 */
	void (*disk_devices)(const struct topology *t, struct state *s,
			     const struct host *h, cJSON *paths);
};

const struct provider_ops *provider_find(const char *name);
/* The registered providers, in registry order; *nr is set to their number. */
const struct provider_ops *const *provider_all(size_t *nr);
/* NULL-terminated list of names, for "did you mean" and messages. */
const char *const *provider_names(void);
/* "a, b or c" (last_sep " or "): the names of all providers (which < 0),
 * of those that take existing hosts (0) or that create hosts (> 0), in
 * registry order; malloc'd. */
char *provider_list(int which, const char *last_sep);

const char *provider_name(const struct provider_ops *p);
/* One line: what it makes or takes (and what it does not do yet). */
const char *provider_summary(const struct provider_ops *p);
bool provider_uses_existing_hosts(const struct provider_ops *p);
const struct key_spec *provider_config_keys(const struct provider_ops *p);
/* Whether providers.NAME must be written (a key of it is required). */
bool provider_needs_config(const struct provider_ops *p);
/* Whether it creates hosts (has hosts_up). */
bool provider_creates_hosts(const struct provider_ops *p);

int provider_hosts_up(struct provider_run *run, struct host *const *hosts,
		      size_t nr, struct error *err);
int provider_exists(struct provider_run *run, const struct state_resource *r,
		    bool *exists, struct error *err);
int provider_destroy(struct provider_run *run, struct state_resource *r,
		     struct error *err);
/* Whether it deletes several hosts at once (has destroy_hosts). */
bool provider_destroys_hosts_at_once(const struct provider_ops *p);
int provider_destroy_hosts(struct provider_run *run, const char *const *names,
			   size_t nr, struct error *err);
int provider_finish_down(struct provider_run *run, struct error *err);
/* 0 with *nr 0 for a provider that cannot list. */
int provider_list_hosts(struct provider_run *run, char ***names, size_t *nr,
			struct error *err);
void provider_release(struct provider_run *run);
int provider_configure_begin(struct provider_run *run, struct error *err);
int provider_sync(struct provider_run *run, struct buf *dry, struct error *err);
int provider_import_host(struct provider_run *run, const struct host *h,
			 const char *id, struct error *err);
/* 0 and nothing appended for a provider without drift. */
int provider_drift(struct provider_run *run, const struct host *h,
		   const struct state_resource *r, struct buf *out,
		   struct error *err);

/* The device paths of h's data disk (disk_devices), appended to paths;
 * none for a provider without data disks. */
void provider_disk_devices(const struct provider_ops *p,
			   const struct topology *t, struct state *s,
			   const struct host *h, cJSON *paths);

struct objstore;
/* The object store that holds the topology's state when its state: block
 * names a remote one (state: {s3: ...}: the AWS provider's S3 client); the
 * opener state_backend_open() takes (core/state/backend.h). */
int provider_state_store_open(const struct topology *t, struct objstore **out,
			      struct error *err);

/* The state lock, for an operation that waits (see "Concurrency"). */
void provider_unlock(struct provider_run *run);
void provider_lock(struct provider_run *run);
/* Sleep ms (less when run->stop is set), the state lock released. */
void provider_sleep(struct provider_run *run, long ms);
/* hosts_up started h now: the runner waits for its SSH banner even when
 * it would not contact it directly (its role has no playbooks). */
void provider_host_started(struct provider_run *run, const struct host *h);
/* How long to wait for a new host's SSH (ssh_wait_s, in ms). */
int provider_ssh_wait_ms(const struct provider_ops *p);
const char *provider_ssh_hint(const struct provider_ops *p);

extern const struct provider_ops aws_provider;
extern const struct provider_ops digitalocean_provider;
extern const struct provider_ops gcp_provider;
extern const struct provider_ops local_provider;
extern const struct provider_ops ssh_provider;
#ifdef DEPLOY_TEST_PROVIDERS
extern const struct provider_ops fake_provider;
extern const struct provider_ops fake2_provider;
#endif

#endif
