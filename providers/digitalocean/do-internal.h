/* SPDX-License-Identifier: MIT */
/* What the DigitalOcean provider's files share: the run, the tags, the
 * roles' regions, sizes and images, and each file's calls. */
#ifndef DEPLOY_DO_INTERNAL_H
#define DEPLOY_DO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/digitalocean/api.h"
#include "providers/provider.h"
#include "util/buf.h"

struct resource_ref;

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
	/* The names of the topology's droplets as list_hosts saw them in
	 * this run's plan: a host not there is not looked for again. */
	char **listed;
	size_t nr_listed;
	bool listed_valid;
	/* The firewalls as do_firewalls() listed them, while it runs. */
	cJSON *firewalls;
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
/* The role's size and image slugs: its own (an image alias resolved),
 * else the defaults. */
const char *do_role_size(const struct role *role);
const char *do_role_image(const struct role *role);
/* DELETE path; one already gone (404) is fine. */
int do_delete_gone_ok(struct dorun *d, const char *path, struct error *err);
/* DELETE COLL/ID for each of the n ids at once (a NULL id is skipped);
 * gone[i] says it is gone (deleted now, or already: 404, or no id); the
 * first other error is returned. */
int do_delete_many(struct dorun *d, const char *coll, char *const *ids,
		   size_t n, bool *gone, struct error *err);
/* A GET's return code rc as a find-by-id hook answers: *exists, and a 404
 * (its error cleared) is no error. */
int do_found(int rc, bool *exists, struct error *err);
/* Whether list_hosts saw a droplet named name in this run. */
bool do_listed(const struct dorun *d, const char *name);
/* GET path, answered as do_found() answers. */
int do_get_exists(struct dorun *d, const char *path, bool *exists,
		  struct error *err);

/* network.c: the operator's key and the VPCs */
/* The operator's key, found by its fingerprint or added (d->key_fp). */
int do_ssh_key(struct provider_run *run, struct dorun *d, struct error *err);
/* The VPC of region: the one named in the block (left alone by down), or
 * the topology's own. */
int do_vpc_of(struct provider_run *run, struct dorun *d, const char *region,
	      const char **out, struct error *err);
/* The topology's VPC in region ref->name, by its name (NULL: none). */
int do_vpc_by_name(struct provider_run *run, const struct resource_ref *ref,
		   char **id, struct error *err);
/* DELETE the VPC, asked again (bounded) while droplets are leaving it. */
int do_vpc_delete(struct provider_run *run, struct dorun *d, const char *id,
		  struct error *err);

/* droplet.c */
/* GET /v2/droplets/ID (doc: NULL, or the answer). */
int do_droplet_get(struct dorun *d, const char *id, cJSON **doc,
		   struct error *err);
/* The droplet carrying a pending record's unique tag (NULL: none). */
int do_droplet_by_key(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err);
/* Make (or adopt) each host's droplet in its VPC vpcs[i], the creates at
 * once (resource_ensure_many()); made[i] says this run made it. */
int do_droplets_ensure(struct provider_run *run, struct host *const *hosts,
		       const char *const *vpcs, size_t nr, bool *made,
		       struct error *err);
/* Until every host's droplet is active with its addresses recorded
 * (bounded). */
int do_wait_active(struct provider_run *run, struct dorun *d,
		   struct host *const *hosts, size_t nr, struct error *err);

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
void do_disk_devices(const struct topology *t, struct state *s,
		     const struct host *h, cJSON *paths);
int do_volumes_orphaned(struct provider_run *run, struct dorun *d,
			struct error *err);

#endif
