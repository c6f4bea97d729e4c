/* SPDX-License-Identifier: MIT */
/* What the AWS provider's files share: the region, the resource kinds, the
 * tags, the create-or-adopt protocol and the calls each file offers. */
#ifndef DEPLOY_AWS_INTERNAL_H
#define DEPLOY_AWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/ec2.h"
#include "providers/provider.h"
#include "providers/resource.h"
#include "util/buf.h"

/* An instance of the topology as DescribeInstances showed it. */
struct seen_inst {
	char *id;
	char *host; /* its deploy:host tag, or NULL */
	/* Made by a RunInstances for several hosts: its deploy:launch tag
	 * (the call's ClientToken) and amiLaunchIndex; NULL and -1 else. */
	char *launch;
	long launch_index;
	char *state;
	char *type;
	char *zone;
	char *vpc;
	char *subnet;
	char *image;
	/* Its security groups, ids and names, in EC2's order. */
	char **group_ids;
	char **group_names;
	size_t nr_groups;
};

/* One region's client and what was learnt of it in this run. */
struct region {
	char *name;
	struct ec2 *ec2;
	char *vpc;    /* id */
	bool own_vpc; /* made for the topology */
	char *route_table;
	/* zone -> subnet id */
	char **zones;
	char **subnets;
	size_t nr_subnets;
	char *key_name;
	/* Instances of the topology (refresh cache). */
	struct seen_inst *inst;
	size_t nr_inst;
	bool inst_known;
	char **all_zones; /* available, sorted */
	size_t nr_all_zones;
	bool checked; /* zones read and the roles' checked */
};

struct aws {
	struct region *regions;
	size_t nr_regions;
};

struct tags {
	const char *kind;
	const char *name;
	const char *role;   /* may be NULL */
	const char *host;   /* may be NULL */
	const char *launch; /* may be NULL: the deploy:launch tag */
};

struct idlist {
	const char *set;  /* "vpcSet" */
	const char *elem; /* "vpcId" */
	char **ids;
	size_t nr;
};

/* Network resources, each described by one table row. */
struct kind {
	const char *kind;     /* in the state and the tags */
	const char *describe; /* DescribeVpcs */
	const char *set;      /* vpcSet */
	const char *elem;     /* vpcId */
	const char *id_param; /* VpcId.1 (for Describe by id) */
	const char *rtype;    /* TagSpecification ResourceType */
};

struct inst {
	struct host *host;
	struct region *rg;
	char *id;
	char *state;
	char *public_ip;
	char *private_ip;
	char *reason;
	char *image;
	/* The EBS volume on DATA_DEVICE (roles.NAME.disk), from its block
	 * device mapping; NULL: none (yet). */
	char *data_volume;
	/* Its key when it is one of the hosts of a role asked for by one
	 * RunInstances (launch_key()), else NULL. */
	char *key;
	bool done;
};

/* aws.c: the run's regions and the resources' records ------------------ */

struct aws *aws_of(struct provider_run *run);
void free_strings(char **v, size_t n);
const char *conf_str(const struct provider_run *run, const char *key);
int region_name(const struct provider_run *run, const struct role *role,
		char **out, struct error *err);
int open_region(struct provider_run *run, const char *name, struct region **out,
		struct error *err);
const char *res_region(const struct state_resource *res);
void set_attr(struct state_resource *res, const char *k, const char *v);
int regions_used(struct provider_run *run, char ***out, size_t *nr,
		 struct error *err);
/* The instance `id` of the topology in rg, from one DescribeInstances of
 * the topology's instances per run (NULL: none such). */
int seen_instance(struct provider_run *run, struct region *rg, const char *id,
		  const struct seen_inst **out, struct error *err);
/* The live instance tagged as the topology's host, from the same one
 * DescribeInstances (*id malloc'd, NULL: none). */
int cached_tagged_instance(struct provider_run *run, struct region *rg,
			   const char *host, char **id, struct error *err);

/*
 * The instance of the topology made as the index-th of the RunInstances
 * whose ClientToken is token (tagged deploy:launch), from the same one
 * DescribeInstances (*id malloc'd, NULL: none).
 */
int cached_launched_instance(struct provider_run *run, struct region *rg,
			     const char *token, long index, char **id,
			     struct error *err);

/* A host's key as one of the `count` hosts one RunInstances makes:
 * "TOKEN.INDEX.COUNT" (TOKEN, the call's ClientToken, a UUID). Whether
 * key has that form; its parts in token, *index, *count. */
/* The device name the data disk (roles.NAME.disk) is asked for on. */
#define AWS_DATA_DEVICE "/dev/sdf"

#define LAUNCH_TOKEN_MAX 40
#define LAUNCH_MAX	 64
bool launch_key(const char *key, char token[LAUNCH_TOKEN_MAX], long *index,
		long *count);
/* An instance's amiLaunchIndex: 0 to 999, -1 when absent. */
long instance_launch_index(xmlNodePtr it);
/* The pending host's instance: by its deploy:host tag, else by its
 * launch key (a run stopped before tagging it). */
int pending_instance(struct provider_run *run, struct region *rg,
		     const char *host, const char *key, char **id,
		     struct error *err);

/* aws.c: tags, found ids, kinds ------------------------------------------ */

void add_tags(struct ec2_params *p, const struct provider_run *run, int spec,
	      const char *rtype, const struct tags *t);
int collect_ids(xmlNodePtr root, void *ud);
void idlist_free(struct idlist *l);

extern const struct kind K_VPC, K_SUBNET, K_IGW, K_RTB, K_SG, K_KEY, K_EIP;
#define NR_NETWORK_KINDS 7
extern const struct kind *const network_kinds[NR_NETWORK_KINDS];

int find_tagged(struct provider_run *run, struct region *rg,
		const struct kind *k, const char *name, struct idlist *out,
		struct error *err);
int gone_is_fine(int rc, struct error *err);
int describe_one(struct region *rg, const struct kind *k, const char *id,
		 xmlDocPtr *doc, struct error *err);
int exists_by_id(struct region *rg, const struct kind *k, const char *id,
		 bool *exists, struct error *err);

/* aws.c: create or adopt, and the calls -------------------------------- */

typedef int (*create_fn)(struct provider_run *run, struct region *rg,
			 const struct tags *t, void *arg, char **id,
			 struct error *err);

int aws_resource(struct provider_run *run, struct region *rg,
		 const struct kind *k, const char *name, const char *role,
		 create_fn create, void *arg, char **id, struct error *err);
int call_for_id(struct region *rg, const char *action, struct ec2_params *p,
		const char *path, char **id, struct error *err);
int simple_call(struct region *rg, const char *action, struct ec2_params *p,
		struct error *err);
unsigned long jitter(unsigned long n);

/* network.c ------------------------------------------------------------- */

int adopted_setup(struct region *rg, const struct kind *k, const char *id,
		  struct error *err);
const char *subnet_in(const struct region *rg, const char *zone);
int check_region(struct provider_run *run, struct region *rg,
		 struct error *err);
int network_up(struct provider_run *run, struct region *rg, struct error *err);

/* keypair.c ------------------------------------------------------------- */

int key_pair(struct provider_run *run, struct region *rg, struct error *err);

/* firewall.c ------------------------------------------------------------ */

const char *group_of(struct provider_run *run, const char *role);
/* The name deploy gives the role's security group (malloc'd). */
char *group_name(const struct provider_run *run, const char *role);
bool role_in_region(struct provider_run *run, const struct role *role,
		    const struct region *rg);
int security_groups(struct provider_run *run, struct region *rg,
		    struct error *err);
int sync_rules(struct provider_run *run, struct region *rg,
	       const struct role *role, const char *group, struct buf *dry,
	       struct error *err);
int unlink_group(struct region *rg, const char *group, struct error *err);

/* instance.c ------------------------------------------------------------ */

const char *role_size(const struct role *role);
void inst_free(struct inst *in);
bool live_state(const char *s);
xmlNodePtr next_instance(xmlNodePtr root, xmlNodePtr it);
int topology_describe(struct provider_run *run, struct region *rg,
		      const char *host, int (*fn)(xmlNodePtr root, void *ud),
		      void *ud, struct error *err);
int wait_instances(struct provider_run *run, struct inst *v, size_t nr,
		   const char *want, int deadline_s, struct error *err);
/* import.c */
int aws_import_host(struct provider_run *run, const struct host *h,
		    const char *id, struct error *err);
int aws_drift(struct provider_run *run, const struct host *h,
	      const struct state_resource *r, struct buf *out,
	      struct error *err);
int aws_hosts_up(struct provider_run *run, struct host *const *hosts, size_t nr,
		 struct error *err);
void aws_disk_devices(const struct topology *t, struct state *s,
		      const struct host *h, cJSON *paths);

/* teardown.c ------------------------------------------------------------ */

int aws_destroy(struct provider_run *run, struct state_resource *r,
		struct error *err);
int aws_destroy_hosts(struct provider_run *run, const char *const *names,
		      size_t nr, struct error *err);
int aws_finish_down(struct provider_run *run, struct error *err);

#endif
