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

/* firewall.c */
int do_firewalls(struct provider_run *run, struct dorun *d, struct buf *dry,
		 struct error *err);
int do_firewalls_down(struct provider_run *run, struct dorun *d,
		      struct error *err);

#endif
