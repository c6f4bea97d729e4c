/* SPDX-License-Identifier: MIT */
/* What the GCP provider's files share: the run, names and labels, the
 * network, the firewall rules, the instances and the way down. */
#ifndef DEPLOY_GCP_INTERNAL_H
#define DEPLOY_GCP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/gcp/compute.h"
#include "providers/provider.h"
#include "providers/resource.h"
#include "util/buf.h"

/* A region the run uses: its zones (from regions.get) and subnetwork. */
struct gcp_region {
	char *name;
	char **zones; /* sorted */
	size_t nr_zones;
	char *subnet; /* "regions/R/subnetworks/N", once made or found */
};

/* The run's client and what was learnt in it. */
struct gcprun {
	struct gcp *c;
	bool checked;	   /* machine types, zones and images checked */
	char *network;	   /* the network's name, once made or found */
	bool own_network;  /* made for the topology (down removes it) */
	bool auto_subnets; /* an existing network in auto mode */
	struct gcp_region *regions;
	size_t nr_regions;
	/* The topology's instances ("ZONE/NAME") as list_hosts saw them in
	 * this run's plan: an instance not there is not looked for again. */
	char **listed;
	size_t nr_listed;
	bool listed_valid;
	/* Instance deletes sent and not waited for ("ZONE/OPERATION"):
	 * finish_down waits for them before what they hold. */
	char **deletes;
	size_t nr_deletes;
	/* While gcp_firewalls() runs: the topology's firewalls it listed (a
	 * rule's firewall not there is not asked for). */
	char **fw_held;
	size_t nr_fw_held;
};

/* gcp.c ----------------------------------------------------------------- */

int gcp_run(struct provider_run *run, struct gcprun **out, struct error *err);
const char *gcp_conf(const struct provider_run *run, const char *key);
bool gcp_role_is_ours(const struct role *role);
/* A Compute name ([a-z]([-a-z0-9]*[a-z0-9])?, 63 at most) from the parts
 * joined by '-': lowered, other characters '-', a long one cut and ended
 * by a hash of the whole. malloc'd. */
char *gcp_name(const char *a, const char *b, const char *c);
/* A label value: lowered, [-_a-z0-9] only, 63 at most. malloc'd. */
char *gcp_label(const char *s);
/* {"deploy-topology": T, "deploy-role": R, "deploy-host": H} (R, H may be
 * NULL), added to body as "labels". */
void gcp_add_labels(const struct provider_run *run, cJSON *body,
		    const char *role, const char *host);
/* The filter of the topology's labelled resources. malloc'd. */
char *gcp_topology_filter(const struct provider_run *run);
/* The network tag the role's firewall rules target. malloc'd. */
char *gcp_role_tag(const struct provider_run *run, const char *role);
const char *gcp_role_region(const struct provider_run *run,
			    const struct role *role);
/* The zone of a host: the role's, the block's, or the region's zones in
 * turn by the host's index. */
const char *gcp_host_zone(struct provider_run *run, const struct host *h);
/* The role's machine type, and its boot image's path (NULL: not one). */
const char *gcp_size(const struct role *role);
const char *gcp_image(const struct role *role);
struct gcp_region *gcp_region_of(struct gcprun *g, const char *name);
int gcp_prepare(struct provider_run *run, struct gcprun **out,
		struct error *err);
/* 0 with *exists false on 404. */
int gcp_get(struct gcp *c, const char *path, const char *what, bool *exists,
	    cJSON **out, struct error *err);
/* DELETE path and wait; one already gone is fine; one in use
 * (resourceInUseByAnotherResource) is asked again with backoff, bounded. */
int gcp_delete(struct provider_run *run, struct gcp *c, const char *path,
	       const char *what, struct error *err);
const char *gcp_json_str(const cJSON *doc, const char *key);
/* One insert, as a kind's builder writes it for gcp_inserts(). */
struct gcp_insert_of {
	struct buf path; /* "zones/Z/instances" */
	struct buf what; /* "instances.insert HOST" */
	char *name;	 /* malloc'd: the resource's name, its id */
	cJSON *body;
	bool id_from_op; /* the id is the operation's targetId instead */
};
typedef int gcp_insert_fn(struct provider_run *run,
			  const struct resource_ref *ref,
			  struct gcp_insert_of *o, struct error *err);
/* A create_many hook: build() writes the insert of each refs[i], then each
 * is POSTed with its ref's key as its requestId, all at once, not waited
 * for: each operation's name is recorded with its record ("operation") for
 * the caller to wait for with the others; ids[i] of each one accepted
 * (malloc'd). Returns the first error. */
int gcp_inserts(struct provider_run *run,
		const struct resource_ref *const *refs, size_t n,
		gcp_insert_fn *build, char **ids, struct error *err);
/* The resource at path exists, or the insert recorded with ref's record
 * still runs (scope: "zones/Z", "regions/R" or "global"). */
int gcp_exists_or_running(struct provider_run *run,
			  const struct resource_ref *ref, const char *scope,
			  const char *path, const char *what, bool *exists,
			  struct error *err);
void gcp_strings_add(char ***v, size_t *nr, const char *s);
bool gcp_strings_have(char *const *v, size_t nr, const char *s);

/* network.c ------------------------------------------------------------- */

/* The network (made, or the block's `network:`), then the subnetwork of
 * every region the roles use. */
int gcp_network_up(struct provider_run *run, struct gcprun *g,
		   struct error *err);
/* With dry: a line per network or subnetwork that would be made. */
void gcp_network_plan(struct provider_run *run, struct buf *dry);
int gcp_network_down(struct provider_run *run, struct gcprun *g,
		     struct error *err);

/* firewall.c ------------------------------------------------------------ */

/* Every role's rules as firewalls by target tag, one firewall a rule:
 * missing ones made, unwanted ones deleted; with dry, only said. */
int gcp_firewalls(struct provider_run *run, struct gcprun *g, struct buf *dry,
		  struct error *err);
int gcp_firewalls_down(struct provider_run *run, struct gcprun *g,
		       struct error *err);

/* instance.c ------------------------------------------------------------ */

int gcp_instances_up(struct provider_run *run, struct gcprun *g,
		     struct host *const *hosts, size_t nr, struct error *err);
int gcp_instance_exists(struct provider_run *run,
			const struct state_resource *r, bool *exists,
			struct error *err);
/* The instances of the topology (its label), by aggregatedList. */
int gcp_instances_list(struct provider_run *run, struct gcprun *g,
		       int (*fn)(const cJSON *inst, void *ud), void *ud,
		       struct error *err);

/* teardown.c ------------------------------------------------------------ */

int gcp_destroy(struct provider_run *run, struct state_resource *r,
		struct error *err);
/* The hosts names[] at once (provider_destroy_hosts()). */
int gcp_destroy_hosts(struct provider_run *run, const char *const *names,
		      size_t nr, struct error *err);
int gcp_finish_down(struct provider_run *run, struct error *err);
/* The instance deletes gcp_destroy() sent, waited for. */
int gcp_wait_deletes(struct gcprun *g, struct error *err);

#endif
