/* SPDX-License-Identifier: MIT */
/* What the DigitalOcean provider's files share: the run, the tags, the
 * roles' regions and the firewall calls. */
#ifndef DEPLOY_DO_INTERNAL_H
#define DEPLOY_DO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/digitalocean/api.h"
#include "providers/provider.h"
#include "util/buf.h"

/* The run's client and what was learnt in it. */
struct dorun {
	struct do_api *api;
	bool checked; /* slugs checked, tags made */
	char *key_fp; /* the operator's key's fingerprint */
	/* region -> VPC id */
	char **vpc_regions;
	char **vpc_ids;
	size_t nr_vpcs;
	/* Droplets read by the refresh (exists): id -> droplet. */
	cJSON *seen;
};

/* digitalocean.c */
int do_run(struct provider_run *run, struct dorun **out, struct error *err);
const char *do_conf(const struct provider_run *run, const char *key);
/* The tags: "deploy:topology:NAME", "deploy:role:ROLE", and the one the
 * role's firewall targets, "deploy:NAME:ROLE" (a role name alone is not
 * unique between topologies). malloc'd. */
char *do_topology_tag(const struct provider_run *run);
char *do_role_tag(const struct provider_run *run, const char *role);
char *do_fw_tag(const struct provider_run *run, const char *role);
/* The name deploy gives the role's firewall (malloc'd). */
char *do_fw_name(const struct provider_run *run, const char *role);
bool do_role_is_ours(const struct role *role);
/* The role's region: its own, else the provider block's. */
const char *do_role_region(const struct provider_run *run,
			   const struct role *role);
/* DELETE path; one already gone (404) is fine. */
int do_delete_gone_ok(struct dorun *d, const char *path, struct error *err);

/* firewall.c */
int do_firewalls(struct provider_run *run, struct dorun *d, struct buf *dry,
		 struct error *err);
int do_firewalls_down(struct provider_run *run, struct dorun *d,
		      struct error *err);

/* volume.c: a volume per host for disk:, a reserved IP for static_ip: */
/* Make (or adopt) the hosts' volumes and reserved IPs and put them on
 * their recorded droplets (the attaches and assigns waited for together);
 * a reserved IP becomes its host's address. fresh (NULL: none) says
 * which droplets this run made: no reserved IP can be on those yet. */
int do_hosts_extras(struct provider_run *run, struct dorun *d,
		    const struct host *const *hosts, const bool *fresh,
		    size_t nr, struct error *err);
/* The same for every recorded host whose volume or reserved IP is missing,
 * pending or not on its droplet; with dry, only the lines saying so. */
int do_extras(struct provider_run *run, struct dorun *d, struct buf *dry,
	      struct error *err);
/* Down: before the droplet goes, the ids of pending records; after, the
 * volume (detached) and the reserved IP deleted and forgotten. */
int do_extras_resolve(struct provider_run *run, struct dorun *d,
		      const char *host, struct error *err);
int do_extras_delete(struct provider_run *run, struct dorun *d,
		     const char *host, struct error *err);
/* Once no host is left: the topology's volumes no record names and no
 * droplet holds (one a lost state left behind), deleted; looked for only
 * when a role of the topology has disk:. */
int do_volumes_orphaned(struct provider_run *run, struct dorun *d,
			struct error *err);

#endif
