/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "providers/aws/credentials.h"
#include "providers/aws/ec2.h"
#include "providers/provider.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * AWS: EC2 instances in a VPC made for the topology (or the default VPC, or
 * one named in providers.aws), a security group per role, a key pair from
 * the operator's key. Every resource is tagged deploy:topology=NAME and
 * deploy:resource=KIND/NAME, recorded in the state as pending before it is
 * asked for, and found again by its tags when a run stopped before it
 * recorded the id: so nothing is made twice and down removes only what
 * carries this topology's tags. docs/providers.md is the user's reference.
 */

#define VPC_CIDR	      "10.0.0.0/16"
#define WAIT_RUNNING_S	      600
#define WAIT_TERMINATED_S     600
#define WAIT_SSH_S	      300
#define DEPENDENCY_DEADLINE_S 300

static const struct key_spec aws_keys[] = {
	{ "region", &vs_string, 0, "AWS_REGION, then the profile's",
	  "region: us-east-1" },
	{ "profile", &vs_string, 0, "AWS_PROFILE, then default", NULL },
	{ "endpoint", &vs_url, 0, "AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL",
	  NULL },
	{ "vpc", &vs_string, 0, "a VPC made for the topology", "vpc: default" },
	{ "subnets", &vs_string_list, 0, "the VPC's subnets",
	  "subnets: [subnet-0abc]" },
	{ 0 },
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
	/* Instances of the topology (refresh cache): id -> state. */
	char **inst_ids;
	char **inst_states;
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

static struct aws *aws_of(struct provider_run *run)
{
	if (!run->priv)
		run->priv = xcalloc(1, sizeof(struct aws));
	return run->priv;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void aws_release(struct provider_run *run)
{
	struct aws *a = run->priv;

	if (!a)
		return;
	for (size_t i = 0; i < a->nr_regions; i++) {
		struct region *r = &a->regions[i];

		ec2_close(r->ec2);
		free(r->name);
		free(r->vpc);
		free(r->route_table);
		free_strings(r->zones, r->nr_subnets);
		free_strings(r->subnets, r->nr_subnets);
		free(r->key_name);
		free_strings(r->inst_ids, r->nr_inst);
		free_strings(r->inst_states, r->nr_inst);
		free_strings(r->all_zones, r->nr_all_zones);
	}
	free(a->regions);
	free(a);
	run->priv = NULL;
}

static const char *conf_str(const struct provider_run *run, const char *key)
{
	const struct ynode *n = ynode_get(run->config, key);

	return ynode_is_string(n) ? n->value : NULL;
}

static int region_name(const struct provider_run *run, const struct role *role,
		       char **out, struct error *err)
{
	return aws_region_resolve(role ? role->region : NULL,
				  conf_str(run, "region"),
				  conf_str(run, "profile"), out, err);
}

static int open_region(struct provider_run *run, const char *name,
		       struct region **out, struct error *err)
{
	struct aws *a = aws_of(run);
	struct aws_creds creds = { 0 };
	char *endpoint = NULL;
	struct region *r;
	int rc;

	for (size_t i = 0; i < a->nr_regions; i++)
		if (!strcmp(a->regions[i].name, name)) {
			*out = &a->regions[i];
			return 0;
		}
	rc = aws_endpoint_resolve(conf_str(run, "endpoint"), name, &endpoint,
				  err);
	if (!rc)
		rc = aws_creds_load(conf_str(run, "profile"), &creds, err);
	if (rc) {
		free(endpoint);
		return rc;
	}
	a->regions =
		xrealloc(a->regions, (a->nr_regions + 1) * sizeof(*a->regions));
	r = &a->regions[a->nr_regions];
	memset(r, 0, sizeof(*r));
	rc = ec2_open(&r->ec2, endpoint, name, &creds, err);
	aws_creds_free(&creds);
	free(endpoint);
	if (rc)
		return rc;
	r->ec2->stop = run->stop;
	r->name = xstrdup(name);
	a->nr_regions++;
	*out = r;
	return 0;
}

/* The region a recorded resource lives in. */
static const char *res_region(const struct state_resource *res)
{
	const cJSON *j =
		cJSON_GetObjectItemCaseSensitive(res->attributes, "region");

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void set_attr(struct state_resource *res, const char *k, const char *v)
{
	if (!res->attributes)
		res->attributes = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(res->attributes, k);
	if (v)
		cJSON_AddStringToObject(res->attributes, k, v);
}

/* Tags ---------------------------------------------------------------- */

struct tags {
	const char *kind;
	const char *name;
	const char *role; /* may be NULL */
	const char *host; /* may be NULL */
};

static void add_tags(struct ec2_params *p, const struct provider_run *run,
		     int spec, const char *rtype, const struct tags *t)
{
	char name[256], res[256];
	int n = 1;

	snprintf(name, sizeof(name), "%s-%s", run->t->name, t->name);
	snprintf(res, sizeof(res), "%s/%s", t->kind, t->name);
	ec2_paramf(p, rtype, "TagSpecification.%d.ResourceType", spec);
#define TAG(k, v)                                                              \
	do {                                                                   \
		ec2_paramf(p, k, "TagSpecification.%d.Tag.%d.Key", spec, n);   \
		ec2_paramf(p, v, "TagSpecification.%d.Tag.%d.Value", spec, n); \
		n++;                                                           \
	} while (0)
	TAG("Name", t->host ? t->host : name);
	TAG("deploy:topology", run->t->name);
	TAG("deploy:resource", res);
	if (t->role)
		TAG("deploy:role", t->role);
	if (t->host)
		TAG("deploy:host", t->host);
#undef TAG
}

/* Filter.1 and .2: this topology's resource KIND/NAME (name NULL: all of
 * the topology's). Returns the next filter number. */
static int tag_filters(struct ec2_params *p, const struct provider_run *run,
		       const char *kind, const char *name)
{
	char res[256];

	ec2_filter(p, 1, "tag:deploy:topology", run->t->name);
	if (!name)
		return 2;
	snprintf(res, sizeof(res), "%s/%s", kind, name);
	ec2_filter(p, 2, "tag:deploy:resource", res);
	return 3;
}

/* Found ids ---------------------------------------------------------- */

struct idlist {
	const char *set;  /* "vpcSet" */
	const char *elem; /* "vpcId" */
	char **ids;
	size_t nr;
};

static int collect_ids(xmlNodePtr root, void *ud)
{
	struct idlist *l = ud;
	xmlNodePtr set = x_child(root, l->set);

	for (xmlNodePtr it = x_child(set, "item"); it;
	     it = x_next(it, "item")) {
		char *id = x_text(it, l->elem);

		if (!id)
			continue;
		l->ids = xrealloc(l->ids, (l->nr + 1) * sizeof(*l->ids));
		l->ids[l->nr++] = id;
	}
	return 0;
}

static void idlist_free(struct idlist *l)
{
	free_strings(l->ids, l->nr);
	l->ids = NULL;
	l->nr = 0;
}

/* Network resources, each described by one table row. */
struct kind {
	const char *kind;     /* in the state and the tags */
	const char *describe; /* DescribeVpcs */
	const char *set;      /* vpcSet */
	const char *elem;     /* vpcId */
	const char *id_param; /* VpcId.1 (for Describe by id) */
	const char *rtype;    /* TagSpecification ResourceType */
};

static const struct kind K_VPC = { "vpc",   "DescribeVpcs", "vpcSet",
				   "vpcId", "VpcId.1",	    "vpc" };
static const struct kind K_SUBNET = { "subnet",	    "DescribeSubnets",
				      "subnetSet",  "subnetId",
				      "SubnetId.1", "subnet" };
static const struct kind K_IGW = {
	"internet-gateway",  "DescribeInternetGateways", "internetGatewaySet",
	"internetGatewayId", "InternetGatewayId.1",	 "internet-gateway"
};
static const struct kind K_RTB = { "route-table",    "DescribeRouteTables",
				   "routeTableSet",  "routeTableId",
				   "RouteTableId.1", "route-table" };
static const struct kind K_SG = { "security-group",    "DescribeSecurityGroups",
				  "securityGroupInfo", "groupId",
				  "GroupId.1",	       "security-group" };
static const struct kind K_KEY = { "key-pair", "DescribeKeyPairs", "keySet",
				   "keyName",  "KeyName.1",	   "key-pair" };
static const struct kind K_EIP = { "address",	     "DescribeAddresses",
				   "addressesSet",   "allocationId",
				   "AllocationId.1", "elastic-ip" };

static const struct kind *const network_kinds[] = {
	/* In the order down removes them. */
	&K_EIP, &K_SG, &K_SUBNET, &K_RTB, &K_IGW, &K_VPC, &K_KEY,
};

/* The ids of this topology's KIND resources named name (NULL: all). */
static int find_tagged(struct provider_run *run, struct region *rg,
		       const struct kind *k, const char *name,
		       struct idlist *out, struct error *err)
{
	struct ec2_params p;
	int rc;

	out->set = k->set;
	out->elem = k->elem;
	ec2_params_init(&p);
	tag_filters(&p, run, k->kind, name);
	if (k != &K_KEY && k != &K_EIP)
		ec2_page_size(rg->ec2, &p);
	rc = ec2_call_pages(rg->ec2, k->describe, &p, collect_ids, out, err);
	ec2_params_free(&p);
	return rc;
}

/* rc, or 0 when rc says the thing is not there: for deletes, where gone
 * is what was wanted. */
static int gone_is_fine(int rc, struct error *err)
{
	if (rc != DEPLOY_ERR_NOT_FOUND)
		return rc;
	error_clear(err);
	return 0;
}

/* Describe the one resource of kind k with id; the caller frees *doc. */
static int describe_one(struct region *rg, const struct kind *k, const char *id,
			xmlDocPtr *doc, struct error *err)
{
	struct ec2_params p;
	int rc;

	ec2_params_init(&p);
	ec2_param(&p, k->id_param, id);
	rc = ec2_call(rg->ec2, k->describe, &p, doc, err);
	ec2_params_free(&p);
	return rc;
}

/* Whether the resource with id still exists. */
static int exists_by_id(struct region *rg, const struct kind *k, const char *id,
			bool *exists, struct error *err)
{
	struct idlist l = { k->set, k->elem, NULL, 0 };
	struct ec2_params p;
	int rc;

	ec2_params_init(&p);
	ec2_param(&p, k->id_param, id);
	rc = ec2_call_pages(rg->ec2, k->describe, &p, collect_ids, &l, err);
	ec2_params_free(&p);
	*exists = !rc && l.nr > 0;
	idlist_free(&l);
	return gone_is_fine(rc, err);
}

static int adopted_setup(struct region *rg, const struct kind *k,
			 const char *id, struct error *err);

typedef int (*create_fn)(struct provider_run *run, struct region *rg,
			 const struct tags *t, void *arg, char **id,
			 struct error *err);

/*
 * Make sure resource KIND/NAME exists: the one recorded (when it still
 * exists), else the one carrying its tags (a run that stopped after asking
 * for it), else a new one, recorded as pending first. *id is malloc'd.
 */
static int ensure(struct provider_run *run, struct region *rg,
		  const struct kind *k, const char *name, const char *role,
		  create_fn create, void *arg, char **id, struct error *err)
{
	struct state_resource *res =
		state_resource_find(run->state, "aws", k->kind, name);
	struct tags t = { k->kind, name, role, NULL };
	struct idlist found = { 0 };
	char key[37];
	bool ok = false;
	int rc;

	*id = NULL;
	if (res && res->status == RESOURCE_CREATED && res->id) {
		rc = exists_by_id(rg, k, res->id, &ok, err);
		if (rc)
			return rc;
		if (ok) {
			*id = xstrdup(res->id);
			return 0;
		}
	}
	rc = find_tagged(run, rg, k, name, &found, err);
	if (rc)
		return rc;
	if (found.nr) {
		/* A run stopped after asking for it, maybe before the calls
		 * that follow the create: they are made again. */
		res = state_resource_pending(run->state, "aws", k->kind, name,
					     role, found.ids[0]);
		state_resource_set_id(res, found.ids[0]);
		set_attr(res, "region", rg->name);
		*id = xstrdup(found.ids[0]);
		idlist_free(&found);
		rc = adopted_setup(rg, k, *id, err);
		return rc ? rc : run->save(run, err);
	}
	if (res && res->status == RESOURCE_CREATED)
		state_resource_remove(run->state, res); /* gone: anew */
	uuid4(key);
	res = state_resource_pending(run->state, "aws", k->kind, name, role,
				     key);
	set_attr(res, "region", rg->name);
	rc = run->save(run, err);
	if (!rc)
		rc = create(run, rg, &t, arg, id, err);
	if (rc)
		return rc;
	res = state_resource_find(run->state, "aws", k->kind, name);
	state_resource_set_id(res, *id);
	return run->save(run, err);
}

/* Creates ------------------------------------------------------------- */

static int call_for_id(struct region *rg, const char *action,
		       struct ec2_params *p, const char *path, char **id,
		       struct error *err)
{
	xmlDocPtr doc;
	int rc = ec2_call(rg->ec2, action, p, &doc, err);

	if (rc)
		return rc;
	*id = x_text(xmlDocGetRootElement(doc), path);
	xmlFreeDoc(doc);
	if (!*id || !**id) {
		free(*id);
		*id = NULL;
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "aws %s: the answer has no %s", action, path);
	}
	return 0;
}

static int simple_call(struct region *rg, const char *action,
		       struct ec2_params *p, struct error *err)
{
	xmlDocPtr doc;
	int rc = ec2_call(rg->ec2, action, p, &doc, err);

	xmlFreeDoc(doc);
	return rc;
}

static int create_vpc(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	struct ec2_params p;
	int rc;

	(void)arg;
	ec2_params_init(&p);
	ec2_param(&p, "CidrBlock", VPC_CIDR);
	add_tags(&p, run, 1, "vpc", t);
	rc = call_for_id(rg, "CreateVpc", &p, "vpc/vpcId", id, err);
	ec2_params_free(&p);
	return rc ? rc : adopted_setup(rg, &K_VPC, *id, err);
}

static int create_igw(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	struct ec2_params p;
	int rc;

	(void)arg;
	ec2_params_init(&p);
	add_tags(&p, run, 1, "internet-gateway", t);
	rc = call_for_id(rg, "CreateInternetGateway", &p,
			 "internetGateway/internetGatewayId", id, err);
	ec2_params_free(&p);
	return rc;
}

static int create_rtb(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	struct ec2_params p;
	int rc;

	(void)arg;
	ec2_params_init(&p);
	ec2_param(&p, "VpcId", rg->vpc);
	add_tags(&p, run, 1, "route-table", t);
	rc = call_for_id(rg, "CreateRouteTable", &p, "routeTable/routeTableId",
			 id, err);
	ec2_params_free(&p);
	return rc;
}

struct subnet_arg {
	const char *zone;
	int index; /* 10.0.INDEX.0/24 */
};

static int create_subnet(struct provider_run *run, struct region *rg,
			 const struct tags *t, void *arg, char **id,
			 struct error *err)
{
	const struct subnet_arg *s = arg;
	struct ec2_params p;
	char cidr[32];
	int rc;

	snprintf(cidr, sizeof(cidr), "10.0.%d.0/24", s->index);
	ec2_params_init(&p);
	ec2_param(&p, "VpcId", rg->vpc);
	ec2_param(&p, "CidrBlock", cidr);
	ec2_param(&p, "AvailabilityZone", s->zone);
	add_tags(&p, run, 1, "subnet", t);
	rc = call_for_id(rg, "CreateSubnet", &p, "subnet/subnetId", id, err);
	ec2_params_free(&p);
	return rc ? rc : adopted_setup(rg, &K_SUBNET, *id, err);
}

/* The settings a VPC and a subnet get after their create: DNS names for
 * the VPC's hosts, public addresses on launch in the subnet. */
static int adopted_setup(struct region *rg, const struct kind *k,
			 const char *id, struct error *err)
{
	struct ec2_params p;
	int rc;

	if (k != &K_VPC && k != &K_SUBNET)
		return 0;
	ec2_params_init(&p);
	if (k == &K_VPC) {
		ec2_param(&p, "VpcId", id);
		ec2_param(&p, "EnableDnsHostnames.Value", "true");
	} else {
		ec2_param(&p, "SubnetId", id);
		ec2_param(&p, "MapPublicIpOnLaunch.Value", "true");
	}
	rc = simple_call(rg,
			 k == &K_VPC ? "ModifyVpcAttribute"
				     : "ModifySubnetAttribute",
			 &p, err);
	ec2_params_free(&p);
	return rc;
}

/* The answer's first item of set with the given text at path. */
static bool answer_has(xmlNodePtr root, const char *set, const char *path,
		       const char *value)
{
	for (xmlNodePtr it = x_child(x_child(root, set), "item"); it;
	     it = x_next(it, "item"))
		if (x_text_is(it, path, value))
			return true;
	return false;
}

static int attach_igw(struct region *rg, const char *igw, struct error *err)
{
	struct ec2_params p;
	xmlDocPtr doc;
	bool attached;
	int rc;

	rc = describe_one(rg, &K_IGW, igw, &doc, err);
	if (rc)
		return rc;
	attached = false;
	for (xmlNodePtr it = x_child(
		     x_child(xmlDocGetRootElement(doc), "internetGatewaySet"),
		     "item");
	     it; it = x_next(it, "item"))
		attached |= answer_has(it, "attachmentSet", "vpcId", rg->vpc);
	xmlFreeDoc(doc);
	if (attached)
		return 0;
	ec2_params_init(&p);
	ec2_param(&p, "InternetGatewayId", igw);
	ec2_param(&p, "VpcId", rg->vpc);
	rc = simple_call(rg, "AttachInternetGateway", &p, err);
	ec2_params_free(&p);
	return rc;
}

/* The default route through igw, and each subnet associated. */
static int route_table_setup(struct region *rg, const char *igw,
			     struct error *err)
{
	struct ec2_params p;
	xmlDocPtr doc;
	xmlNodePtr rt;
	bool route;
	int rc;

	rc = describe_one(rg, &K_RTB, rg->route_table, &doc, err);
	if (rc)
		return rc;
	rt = x_path(xmlDocGetRootElement(doc), "routeTableSet/item");
	route = answer_has(rt, "routeSet", "gatewayId", igw);
	for (size_t i = 0; !rc && i < rg->nr_subnets; i++) {
		if (answer_has(rt, "associationSet", "subnetId",
			       rg->subnets[i]))
			continue;
		ec2_params_init(&p);
		ec2_param(&p, "RouteTableId", rg->route_table);
		ec2_param(&p, "SubnetId", rg->subnets[i]);
		rc = simple_call(rg, "AssociateRouteTable", &p, err);
		ec2_params_free(&p);
	}
	xmlFreeDoc(doc);
	if (rc || route)
		return rc;
	ec2_params_init(&p);
	ec2_param(&p, "RouteTableId", rg->route_table);
	ec2_param(&p, "DestinationCidrBlock", "0.0.0.0/0");
	ec2_param(&p, "GatewayId", igw);
	rc = simple_call(rg, "CreateRoute", &p, err);
	ec2_params_free(&p);
	return rc;
}

/* Zones --------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct zones {
	char **names;
	size_t nr;
};

static int collect_zones(xmlNodePtr root, void *ud)
{
	struct zones *z = ud;

	for (xmlNodePtr it =
		     x_child(x_child(root, "availabilityZoneInfo"), "item");
	     it; it = x_next(it, "item")) {
		char *n = x_text(it, "zoneName");

		if (!n)
			continue;
		z->names = xrealloc(z->names, (z->nr + 1) * sizeof(char *));
		z->names[z->nr++] = n;
	}
	return 0;
}

/* The region's zones, sorted by name. */
static int region_zones(struct region *rg, struct zones *z, struct error *err)
{
	struct ec2_params p;
	int rc;

	memset(z, 0, sizeof(*z));
	ec2_params_init(&p);
	ec2_filter(&p, 1, "state", "available");
	rc = ec2_call_pages(rg->ec2, "DescribeAvailabilityZones", &p,
			    collect_zones, z, err);
	ec2_params_free(&p);
	if (!rc && !z->nr)
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "aws region '%s' has no available zone",
			       rg->name);
	if (!rc)
		qsort(z->names, z->nr, sizeof(char *), cmp_str);
	return rc;
}

static void add_subnet(struct region *rg, const char *zone, const char *id)
{
	rg->zones = xrealloc(rg->zones, (rg->nr_subnets + 1) * sizeof(char *));
	rg->subnets =
		xrealloc(rg->subnets, (rg->nr_subnets + 1) * sizeof(char *));
	rg->zones[rg->nr_subnets] = xstrdup(zone);
	rg->subnets[rg->nr_subnets] = xstrdup(id);
	rg->nr_subnets++;
}

static const char *subnet_in(const struct region *rg, const char *zone)
{
	for (size_t i = 0; i < rg->nr_subnets; i++)
		if (!strcmp(rg->zones[i], zone))
			return rg->subnets[i];
	return NULL;
}

struct subnet_list {
	struct region *rg;
	bool default_only;
};

static int collect_subnets(xmlNodePtr root, void *ud)
{
	struct subnet_list *l = ud;

	for (xmlNodePtr it = x_child(x_child(root, "subnetSet"), "item"); it;
	     it = x_next(it, "item")) {
		char *zone = x_text(it, "availabilityZone");
		char *id = x_text(it, "subnetId");

		if (zone && id && !subnet_in(l->rg, zone) &&
		    (!l->default_only || x_text_is(it, "defaultForAz", "true")))
			add_subnet(l->rg, zone, id);
		free(zone);
		free(id);
	}
	return 0;
}

/* The network --------------------------------------------------------- */

/* The zones the roles of this region use (their zone, or the first). */
static int zones_used(struct provider_run *run, struct region *rg,
		      const struct zones *all, char ***out, size_t *nr,
		      struct error *err)
{
	*out = NULL;
	*nr = 0;
	for (size_t i = 0; i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];
		const char *zone;
		char *rname = NULL;
		bool dup = false, known = false;
		int rc;

		if (role->provider != &aws_provider)
			continue;
		rc = region_name(run, role, &rname, err);
		if (rc)
			return rc;
		if (strcmp(rname, rg->name)) {
			free(rname);
			continue;
		}
		free(rname);
		zone = role->zone ? role->zone : all->names[0];
		for (size_t j = 0; j < all->nr; j++)
			known |= !strcmp(all->names[j], zone);
		if (!known) {
			struct buf names = BUF_INIT;

			for (size_t j = 0; j < all->nr; j++)
				buf_addf(&names, "%s%s", j ? ", " : "",
					 all->names[j]);
			rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
				       role->node->line, role->node->col,
				       "role '%s': zone '%s' is not an "
				       "available zone of region '%s' "
				       "(available: %s)",
				       role->name, zone, rg->name, names.data);
			buf_free(&names);
			return rc;
		}
		for (size_t j = 0; j < *nr; j++)
			dup |= !strcmp((*out)[j], zone);
		if (dup)
			continue;
		*out = xrealloc(*out, (*nr + 1) * sizeof(char *));
		(*out)[(*nr)++] = xstrdup(zone);
	}
	return 0;
}

static int own_network(struct provider_run *run, struct region *rg,
		       const struct zones *all, struct error *err)
{
	char *igw = NULL, **used = NULL;
	size_t nr_used = 0;
	int rc;

	rc = ensure(run, rg, &K_VPC, rg->name, NULL, create_vpc, NULL, &rg->vpc,
		    err);
	if (!rc)
		rc = ensure(run, rg, &K_IGW, rg->name, NULL, create_igw, NULL,
			    &igw, err);
	if (!rc)
		rc = attach_igw(rg, igw, err);
	if (!rc)
		rc = zones_used(run, rg, all, &used, &nr_used, err);
	for (size_t i = 0; !rc && i < nr_used; i++) {
		struct subnet_arg s = { used[i], 0 };
		char *id = NULL;

		for (size_t j = 0; j < all->nr; j++)
			if (!strcmp(all->names[j], used[i]))
				s.index = (int)j;
		rc = ensure(run, rg, &K_SUBNET, used[i], NULL, create_subnet,
			    &s, &id, err);
		if (!rc)
			add_subnet(rg, used[i], id);
		free(id);
	}
	if (!rc)
		rc = ensure(run, rg, &K_RTB, rg->name, NULL, create_rtb, NULL,
			    &rg->route_table, err);
	if (!rc)
		rc = route_table_setup(rg, igw, err);
	free(igw);
	free_strings(used, nr_used);
	return rc;
}

static int given_network(struct provider_run *run, struct region *rg,
			 const char *vpc, struct error *err)
{
	struct subnet_list l = { rg, false };
	const struct ynode *subnets = ynode_get(run->config, "subnets");
	struct ec2_params p;
	int rc;

	ec2_params_init(&p);
	if (!strcmp(vpc, "default")) {
		struct idlist ids = { "vpcSet", "vpcId", NULL, 0 };

		ec2_filter(&p, 1, "isDefault", "true");
		rc = ec2_call_pages(rg->ec2, "DescribeVpcs", &p, collect_ids,
				    &ids, err);
		ec2_params_free(&p);
		if (!rc && !ids.nr)
			rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
				       "aws region '%s' has no default VPC: "
				       "leave 'vpc' out of providers.aws to "
				       "have one made, or name one",
				       rg->name);
		if (!rc)
			rg->vpc = xstrdup(ids.ids[0]);
		idlist_free(&ids);
		if (rc)
			return rc;
		ec2_params_init(&p);
		l.default_only = true;
	} else {
		rg->vpc = xstrdup(vpc);
	}
	ec2_filter(&p, 1, "vpc-id", rg->vpc);
	for (size_t i = 0; subnets && i < subnets->nr; i++)
		ec2_paramf(&p, subnets->items[i]->value, "SubnetId.%zu", i + 1);
	rc = ec2_call_pages(rg->ec2, "DescribeSubnets", &p, collect_subnets, &l,
			    err);
	ec2_params_free(&p);
	if (!rc && !rg->nr_subnets)
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "aws VPC '%s' in '%s' has no subnet deploy can "
			       "use: name them under providers.aws.subnets",
			       rg->vpc, rg->name);
	return rc;
}

/* Key pair ------------------------------------------------------------ */

/* "TYPE BASE64" of the first key line, into out. */
static void key_blob(const char *line, char *out, size_t size)
{
	size_t a = strcspn(line, " \t"), b;

	b = a + strspn(line + a, " \t");
	b += strcspn(line + b, " \t\r\n");
	snprintf(out, size, "%.*s", (int)b, line);
}

static int create_key(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	const char *pub = arg;
	struct ec2_params p;
	struct buf b64 = BUF_INIT;
	int rc;

	base64_encode(&b64, pub, strlen(pub), true);
	ec2_params_init(&p);
	ec2_param(&p, "KeyName", rg->key_name);
	ec2_param(&p, "PublicKeyMaterial", b64.data);
	add_tags(&p, run, 1, "key-pair", t);
	rc = call_for_id(rg, "ImportKeyPair", &p, "keyName", id, err);
	ec2_params_free(&p);
	buf_free(&b64);
	return rc;
}

static int key_pair(struct provider_run *run, struct region *rg,
		    struct error *err)
{
	char want[8192], have[8192], *id = NULL, *material = NULL;
	const char *keys = run->authorized_keys;
	struct ec2_params p;
	xmlDocPtr doc;
	int rc;

	if (!keys || !*keys)
		return error_set(err, DEPLOY_ERR_INVALID, run->t->file, 0, 0,
				 "aws needs the operator's public key for its "
				 "key pair: set ssh.key (KEY.pub beside it) "
				 "or load a key into ssh-agent");
	key_blob(keys, want, sizeof(want));
	if (strncmp(want, "ssh-ed25519 ", 12) && strncmp(want, "ssh-rsa ", 8))
		return error_set(
			err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			"aws key pairs take ed25519 and RSA keys only, "
			"not '%.*s': set ssh.key to one of those",
			(int)strcspn(want, " "), want);
	free(rg->key_name);
	rg->key_name = xmalloc(strlen(run->t->name) + 8);
	snprintf(rg->key_name, strlen(run->t->name) + 8, "deploy-%s",
		 run->t->name);

	/* A pair of that name with another key is not ours to reuse. */
	ec2_params_init(&p);
	ec2_param(&p, "KeyName.1", rg->key_name);
	ec2_param(&p, "IncludePublicKey", "true");
	rc = ec2_call(rg->ec2, "DescribeKeyPairs", &p, &doc, err);
	ec2_params_free(&p);
	rc = gone_is_fine(rc, err); /* doc stays NULL */
	if (rc)
		return rc;
	if (doc) {
		xmlNodePtr it =
			x_path(xmlDocGetRootElement(doc), "keySet/item");

		material = it ? x_text(it, "publicKey") : NULL;
		if (it && !material) {
			xmlFreeDoc(doc);
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "aws key pair '%s' exists in '%s' "
					 "and its public key cannot be read "
					 "to compare with yours: delete it "
					 "or rename the topology",
					 rg->key_name, rg->name);
		}
		if (material) {
			char *fp = x_text(it, "keyFingerprint");

			key_blob(material, have, sizeof(have));
			if (strcmp(have, want)) {
				rc = error_set(
					err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					"aws key pair '%s' in '%s' holds "
					"another public key (fingerprint %s) "
					"than yours: it is not reused; "
					"delete it (aws ec2 delete-key-pair "
					"--key-name %s) or use that key",
					rg->key_name, rg->name, fp ? fp : "?",
					rg->key_name);
			}
			free(fp);
		}
		xmlFreeDoc(doc);
		if (!rc && material) {
			/* The pair holds this very key: it is used as it is
			 * (down deletes it only if it carries this
			 * topology's tags, that is if deploy made it). */
			struct state_resource *res = state_resource_pending(
				run->state, "aws", "key-pair", rg->name, NULL,
				rg->key_name);

			free(material);
			state_resource_set_id(res, rg->key_name);
			set_attr(res, "region", rg->name);
			return run->save(run, err);
		}
		free(material);
		if (rc)
			return rc;
	}
	rc = ensure(run, rg, &K_KEY, rg->name, NULL, create_key, (void *)want,
		    &id, err);
	free(id);
	return rc;
}

/* Security groups ----------------------------------------------------- */

static char *group_name(const struct provider_run *run, const char *role)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy-%s-%s", run->t->name, role);
	return buf_release(&b);
}

static int create_group(struct provider_run *run, struct region *rg,
			const struct tags *t, void *arg, char **id,
			struct error *err)
{
	const struct role *role = arg;
	char *name = group_name(run, role->name);
	char desc[256];
	struct ec2_params p;
	int rc;

	snprintf(desc, sizeof(desc), "deploy %s: role %s", run->t->name,
		 role->name);
	ec2_params_init(&p);
	ec2_param(&p, "GroupName", name);
	ec2_param(&p, "GroupDescription", desc);
	ec2_param(&p, "VpcId", rg->vpc);
	add_tags(&p, run, 1, "security-group", t);
	rc = call_for_id(rg, "CreateSecurityGroup", &p, "groupId", id, err);
	ec2_params_free(&p);
	if (rc && !strcmp(ec2_error_code(rg->ec2), "InvalidGroup.Duplicate"))
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 "; a group named '%s' exists without this "
			 "topology's tags: deploy does not take it over",
			 name);
	free(name);
	return rc;
}

/* One ingress rule as EC2 holds it: proto, ports and one source. */
struct rule {
	char proto[8];
	int lo, hi;
	char src[128]; /* "sg-…" or a CIDR */
	bool v6;
	bool seen;
};

struct rules {
	struct rule *v;
	size_t nr;
};

static void rules_add(struct rules *r, const char *proto, int lo, int hi,
		      const char *src)
{
	struct rule *n;

	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->v[i].proto, proto) && r->v[i].lo == lo &&
		    r->v[i].hi == hi && !strcmp(r->v[i].src, src))
			return;
	r->v = xrealloc(r->v, (r->nr + 1) * sizeof(*r->v));
	n = &r->v[r->nr++];
	memset(n, 0, sizeof(*n));
	snprintf(n->proto, sizeof(n->proto), "%s", proto);
	n->lo = lo;
	n->hi = hi;
	snprintf(n->src, sizeof(n->src), "%s", src);
	n->v6 = strchr(src, ':') != NULL;
}

static const char *group_of(struct provider_run *run, const char *role)
{
	struct state_resource *res =
		state_resource_find(run->state, "aws", "security-group", role);

	return res && res->status == RESOURCE_CREATED ? res->id : NULL;
}

/* The addresses of a role's hosts recorded in the state (another
 * provider's role named in a rule). */
static void role_addresses(struct provider_run *run, const struct role *src,
			   struct rules *r, const char *proto, int lo, int hi)
{
	for (size_t i = 0; i < src->nr_hosts; i++) {
		const char *addr = src->hosts[i].address;
		char cidr[80];

		for (size_t k = 0; !addr && k < run->state->nr_hosts; k++)
			if (!strcmp(run->state->hosts[k].name,
				    src->hosts[i].name))
				addr = run->state->hosts[k].address;
		if (!addr || !is_ip_address(addr))
			continue;
		snprintf(cidr, sizeof(cidr), "%s/%s", addr,
			 strchr(addr, ':') ? "128" : "32");
		rules_add(r, proto, lo, hi, cidr);
	}
}

/* What the role's group should let in. */
static void wanted_rules(struct provider_run *run, const struct role *role,
			 struct rules *r)
{
	const struct ssh_conf *ssh = &run->t->ssh;
	char cidr[80];

	/* SSH: from the bastion's group for roles behind one, else from
	 * admin_cidrs (allow_world_ssh only permits a /0 there). */
	if (role->via.role && role->via.role->provider == &aws_provider &&
	    group_of(run, role->via.role->name)) {
		rules_add(r, "tcp", 22, 22,
			  group_of(run, role->via.role->name));
	} else if (role->via.role) {
		role_addresses(run, role->via.role, r, "tcp", 22, 22);
	} else {
		for (size_t i = 0; i < ssh->nr_admin_cidrs; i++) {
			cidr_format_network(&ssh->admin_cidrs[i], cidr,
					    sizeof(cidr));
			rules_add(r, "tcp", 22, 22, cidr);
		}
	}
	for (size_t i = 0; i < role->nr_firewall; i++) {
		const struct fw_rule *fw = &role->firewall[i];
		const char *proto = fw->proto == FW_UDP ? "udp" : "tcp";

		for (size_t k = 0; k < fw->nr_from; k++) {
			const struct fw_source *f = &fw->from[k];

			switch (f->kind) {
			case FW_FROM_WORLD:
				rules_add(r, proto, fw->port_lo, fw->port_hi,
					  "0.0.0.0/0");
				rules_add(r, proto, fw->port_lo, fw->port_hi,
					  "::/0");
				break;
			case FW_FROM_CIDR:
				cidr_format_network(&f->cidr, cidr,
						    sizeof(cidr));
				rules_add(r, proto, fw->port_lo, fw->port_hi,
					  cidr);
				break;
			case FW_FROM_ROLE:
				if (f->role &&
				    f->role->provider == &aws_provider &&
				    group_of(run, f->role->name))
					rules_add(r, proto, fw->port_lo,
						  fw->port_hi,
						  group_of(run, f->role->name));
				else if (f->role)
					role_addresses(run, f->role, r, proto,
						       fw->port_lo,
						       fw->port_hi);
				break;
			}
		}
	}
}

static void rule_params(struct ec2_params *p, const char *group,
			const struct rule *r)
{
	char lo[16], hi[16];

	snprintf(lo, sizeof(lo), "%d", r->lo);
	snprintf(hi, sizeof(hi), "%d", r->hi);
	ec2_param(p, "GroupId", group);
	ec2_param(p, "IpPermissions.1.IpProtocol", r->proto);
	ec2_param(p, "IpPermissions.1.FromPort", lo);
	ec2_param(p, "IpPermissions.1.ToPort", hi);
	if (!strncmp(r->src, "sg-", 3))
		ec2_param(p, "IpPermissions.1.Groups.1.GroupId", r->src);
	else if (r->v6)
		ec2_param(p, "IpPermissions.1.Ipv6Ranges.1.CidrIpv6", r->src);
	else
		ec2_param(p, "IpPermissions.1.IpRanges.1.CidrIp", r->src);
}

/* The group's ingress rules now, one per source. */
static void held_rules(xmlNodePtr group, struct rules *r)
{
	xmlNodePtr perms = x_child(group, "ipPermissions");

	for (xmlNodePtr it = x_child(perms, "item"); it;
	     it = x_next(it, "item")) {
		char *proto = x_text(it, "ipProtocol");
		char *lo = x_text(it, "fromPort"), *hi = x_text(it, "toPort");
		int l = lo ? (int)strtol(lo, NULL, 10) : -1,
		    h = hi ? (int)strtol(hi, NULL, 10) : -1;
		static const char *const sets[][2] = {
			{ "groups", "groupId" },
			{ "ipRanges", "cidrIp" },
			{ "ipv6Ranges", "cidrIpv6" },
		};

		for (size_t s = 0; proto && s < 3; s++)
			for (xmlNodePtr g =
				     x_child(x_child(it, sets[s][0]), "item");
			     g; g = x_next(g, "item")) {
				char *src = x_text(g, sets[s][1]);

				if (src)
					rules_add(r, proto, l, h, src);
				free(src);
			}
		free(proto);
		free(lo);
		free(hi);
	}
}

/* Make the group's rules what the topology says: each missing rule added
 * alone (groups that name each other never wait on each other), each
 * extra one revoked. */
/* A rule as plan shows it: groups by their roles' names. */
static void describe_rule(struct provider_run *run, struct buf *out,
			  const char *role, char sign, const struct rule *r)
{
	const char *src = r->src;

	for (size_t i = 0; i < run->state->nr_resources; i++) {
		const struct state_resource *res = &run->state->resources[i];

		if (!strcmp(res->provider, "aws") &&
		    !strcmp(res->kind, "security-group") && res->id &&
		    !strcmp(res->id, r->src))
			src = res->name;
	}
	buf_addf(out, "~ aws security-group %s: %c %s %d", role, sign, r->proto,
		 r->lo);
	if (r->hi != r->lo)
		buf_addf(out, "-%d", r->hi);
	buf_addf(out, " from %s\n", src);
}

static int sync_rules(struct provider_run *run, struct region *rg,
		      const struct role *role, const char *group,
		      struct buf *dry, struct error *err)
{
	struct rules want = { 0 }, have = { 0 };
	struct ec2_params p;
	xmlDocPtr doc;
	int rc;

	rc = describe_one(rg, &K_SG, group, &doc, err);
	if (rc)
		return rc;
	held_rules(x_path(xmlDocGetRootElement(doc), "securityGroupInfo/item"),
		   &have);
	xmlFreeDoc(doc);
	wanted_rules(run, role, &want);
	for (size_t i = 0; i < want.nr; i++)
		for (size_t j = 0; j < have.nr; j++)
			if (!strcmp(want.v[i].proto, have.v[j].proto) &&
			    want.v[i].lo == have.v[j].lo &&
			    want.v[i].hi == have.v[j].hi &&
			    !strcmp(want.v[i].src, have.v[j].src))
				want.v[i].seen = have.v[j].seen = true;
	for (size_t i = 0; dry && i < want.nr + have.nr; i++) {
		const struct rule *r =
			i < want.nr ? &want.v[i] : &have.v[i - want.nr];

		if (!r->seen)
			describe_rule(run, dry, role->name,
				      i < want.nr ? '+' : '-', r);
	}
	for (size_t i = 0; !dry && !rc && i < want.nr; i++) {
		if (want.v[i].seen)
			continue;
		ec2_params_init(&p);
		rule_params(&p, group, &want.v[i]);
		rc = simple_call(rg, "AuthorizeSecurityGroupIngress", &p, err);
		ec2_params_free(&p);
		if (rc && !strcmp(ec2_error_code(rg->ec2),
				  "InvalidPermission.Duplicate")) {
			error_clear(err);
			rc = 0;
		}
	}
	for (size_t i = 0; !dry && !rc && i < have.nr; i++) {
		if (have.v[i].seen)
			continue;
		ec2_params_init(&p);
		rule_params(&p, group, &have.v[i]);
		rc = simple_call(rg, "RevokeSecurityGroupIngress", &p, err);
		ec2_params_free(&p);
	}
	free(want.v);
	free(have.v);
	return rc;
}

static bool role_in_region(struct provider_run *run, const struct role *role,
			   const struct region *rg)
{
	char *name = NULL;
	struct error e;
	bool in;

	if (role->provider != &aws_provider)
		return false;
	error_init(&e);
	in = !region_name(run, role, &name, &e) && !strcmp(name, rg->name);
	error_clear(&e);
	free(name);
	return in;
}

/* Every aws role of the region gets its group first (rules may name any
 * of them), then each group's rules. */
static int security_groups(struct provider_run *run, struct region *rg,
			   struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];
		char *id = NULL;

		if (!role_in_region(run, role, rg))
			continue;
		rc = ensure(run, rg, &K_SG, role->name, role->name,
			    create_group, (void *)role, &id, err);
		free(id);
	}
	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];

		if (role_in_region(run, role, rg))
			rc = sync_rules(run, rg, role,
					group_of(run, role->name), NULL, err);
	}
	return rc;
}

/* Read the region's zones and check the zones the roles name, once per
 * run, before anything is made. */
static int check_region(struct provider_run *run, struct region *rg,
			struct error *err)
{
	struct zones all;
	char **used = NULL;
	size_t nr_used = 0;
	int rc;

	if (rg->checked)
		return 0;
	rc = region_zones(rg, &all, err);
	if (rc)
		return rc;
	rg->all_zones = all.names;
	rg->nr_all_zones = all.nr;
	rc = zones_used(run, rg, &all, &used, &nr_used, err);
	free_strings(used, nr_used);
	rg->checked = !rc;
	return rc;
}

static int network_up(struct provider_run *run, struct region *rg,
		      struct error *err)
{
	const char *vpc = conf_str(run, "vpc");
	struct zones all;
	int rc;

	if (rg->vpc)
		return 0; /* done earlier in this run */
	if (!vpc && ynode_get(run->config, "subnets")) {
		const struct ynode *n = ynode_get(run->config, "subnets");

		return error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
				 n->col,
				 "providers.aws: 'subnets' needs 'vpc' (the "
				 "VPC they belong to, or default)");
	}
	rc = check_region(run, rg, err);
	all.names = rg->all_zones;
	all.nr = rg->nr_all_zones;
	if (!rc)
		rc = key_pair(run, rg, err);
	if (!rc)
		rc = vpc ? given_network(run, rg, vpc, err)
			 : own_network(run, rg, &all, err);
	if (!rc && vpc) {
		/* Every zone a role names must have a subnet. */
		for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
			const struct role *role = &run->t->roles[i];

			if (role_in_region(run, role, rg) && role->zone &&
			    !subnet_in(rg, role->zone))
				rc = error_set(err, DEPLOY_ERR_INVALID,
					       run->t->file, role->node->line,
					       role->node->col,
					       "role '%s': VPC '%s' has no "
					       "subnet in zone '%s'",
					       role->name, rg->vpc, role->zone);
		}
	}
	if (!rc)
		rc = security_groups(run, rg, err);
	if (rc) {
		free(rg->vpc);
		rg->vpc = NULL;
	}
	return rc;
}

/* Images --------------------------------------------------------------- */

struct image_alias {
	const char *name;
	const char *owner;
	const char *pattern; /* %s: the architecture */
	const char *amd64;   /* the architecture as the name spells it */
	const char *arm64;
};

static const struct image_alias images[] = {
	{ "debian-11", "136693071363", "debian-11-%s-*", "amd64", "arm64" },
	{ "debian-12", "136693071363", "debian-12-%s-*", "amd64", "arm64" },
	{ "debian-13", "136693071363", "debian-13-%s-*", "amd64", "arm64" },
	{ "ubuntu-16.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-18.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-bionic-18.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-20.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-22.04", "099720109477",
	  "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-%s-server-*", "amd64",
	  "arm64" },
	{ "ubuntu-24.04", "099720109477",
	  "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-%s-server-*", "amd64",
	  "arm64" },
};

/* Graviton sizes (t4g, m6g, c7gn …) run arm64 images. */
static bool arm_size(const char *size)
{
	size_t i = strspn(size, "abcdefghijklmnopqrstuvwxyz");

	if (!strncmp(size, "a1.", 3))
		return true;
	if (!i || !size[i] || !strchr("0123456789", size[i]))
		return false;
	i += strspn(size + i, "0123456789");
	for (; size[i] && size[i] != '.'; i++)
		if (size[i] == 'g')
			return true;
	return false;
}

struct newest {
	char *id;
	char *date;
};

static int pick_newest(xmlNodePtr root, void *ud)
{
	struct newest *n = ud;

	for (xmlNodePtr it = x_child(x_child(root, "imagesSet"), "item"); it;
	     it = x_next(it, "item")) {
		char *date = x_text(it, "creationDate");
		char *id = x_text(it, "imageId");

		if (id && (!n->id ||
			   (date && n->date && strcmp(date, n->date) > 0))) {
			free(n->id);
			free(n->date);
			n->id = id;
			n->date = date;
			continue;
		}
		free(id);
		free(date);
	}
	return 0;
}

static int resolve_image(struct provider_run *run, struct region *rg,
			 const struct role *role, const char *size, char **out,
			 struct error *err)
{
	const char *image = role->image ? role->image : "debian-12";
	const struct image_alias *al = NULL;
	struct newest n = { 0 };
	struct ec2_params p;
	char pattern[256];
	bool arm = arm_size(size);
	int rc;

	if (!strncmp(image, "ami-", 4)) {
		*out = xstrdup(image);
		return 0;
	}
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		if (!strcmp(images[i].name, image))
			al = &images[i];
	if (!al) {
		struct buf known = BUF_INIT;

		for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
			buf_addf(&known, "%s%s", i ? ", " : "", images[i].name);
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
			       role->node->line, role->node->col,
			       "role '%s': image '%s' is neither an AMI id "
			       "(ami-…) nor a known name (%s)",
			       role->name, image, known.data);
		buf_free(&known);
		return rc;
	}
	{
		/* The pattern with its one %s replaced by the architecture. */
		const char *at = strstr(al->pattern, "%s");
		int head = at ? (int)(at - al->pattern) : 0;

		snprintf(pattern, sizeof(pattern), "%.*s%s%s", head,
			 al->pattern, at ? (arm ? al->arm64 : al->amd64) : "",
			 at ? at + 2 : al->pattern);
	}
	ec2_params_init(&p);
	ec2_param(&p, "Owner.1", al->owner);
	ec2_filter(&p, 1, "name", pattern);
	ec2_filter(&p, 2, "state", "available");
	ec2_filter(&p, 3, "architecture", arm ? "arm64" : "x86_64");
	rc = ec2_call_pages(rg->ec2, "DescribeImages", &p, pick_newest, &n,
			    err);
	ec2_params_free(&p);
	free(n.date);
	if (!rc && !n.id)
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, run->t->file,
			       role->node->line, role->node->col,
			       "role '%s': no image '%s' (owner %s, name %s) "
			       "in region '%s': use an AMI id",
			       role->name, image, al->owner, pattern, rg->name);
	*out = n.id;
	return rc;
}

/* Instances ------------------------------------------------------------ */

struct inst {
	struct host *host;
	struct region *rg;
	char *id;
	char *state;
	char *public_ip;
	char *private_ip;
	char *reason;
	char *image;
	bool done;
};

static void inst_free(struct inst *in)
{
	free(in->id);
	free(in->state);
	free(in->public_ip);
	free(in->private_ip);
	free(in->reason);
	free(in->image);
}

struct found_inst {
	const char *host; /* look for this deploy:host tag */
	char *id;
};

static bool live_state(const char *s)
{
	return s && strcmp(s, "terminated") && strcmp(s, "shutting-down");
}

/* The instance after `it` in a DescribeInstances answer (NULL: the
 * first), across its reservations. */
static xmlNodePtr next_instance(xmlNodePtr root, xmlNodePtr it)
{
	xmlNodePtr r, n;

	if (!it)
		r = x_child(x_child(root, "reservationSet"), "item");
	else if ((n = x_next(it, "item")))
		return n;
	else /* it's instancesSet, then its reservation */
		r = x_next(it->parent->parent, "item");
	for (; r; r = x_next(r, "item")) {
		n = x_child(x_child(r, "instancesSet"), "item");
		if (n)
			return n;
	}
	return NULL;
}

static int find_host_instance(xmlNodePtr root, void *ud)
{
	struct found_inst *f = ud;

	for (xmlNodePtr it = next_instance(root, NULL); it;
	     it = next_instance(root, it)) {
		char *host = x_tag(it, "deploy:host");
		char *st = x_text(it, "instanceState/name");

		if (!f->id && host && !strcmp(host, f->host) && live_state(st))
			f->id = x_text(it, "instanceId");
		free(host);
		free(st);
	}
	return 0;
}

/* The live instance tagged as this topology's host, if any. */
static int tagged_instance(struct provider_run *run, struct region *rg,
			   const char *host, char **id, struct error *err)
{
	struct found_inst f = { host, NULL };
	struct ec2_params p;
	int rc;

	ec2_params_init(&p);
	ec2_filter(&p, 1, "tag:deploy:topology", run->t->name);
	ec2_filter(&p, 2, "tag:deploy:host", host);
	ec2_page_size(rg->ec2, &p);
	rc = ec2_call_pages(rg->ec2, "DescribeInstances", &p,
			    find_host_instance, &f, err);
	ec2_params_free(&p);
	*id = f.id;
	return rc;
}

static const char *role_size(const struct role *role)
{
	return role->size ? role->size : "t3.micro";
}

static int run_instance(struct provider_run *run, struct inst *in,
			const char *token, struct error *err)
{
	const struct role *role = in->host->role;
	struct region *rg = in->rg;
	const char *zone, *subnet;
	struct tags t = { "host", in->host->name, role->name, in->host->name };
	const char *image;
	char *group;
	struct ec2_params p;
	int rc = 0;

	zone = role->zone ? role->zone : rg->zones[0];
	subnet = subnet_in(rg, zone);
	if (!role->zone && rg->nr_subnets) {
		/* The first zone in name order. */
		subnet = rg->subnets[0];
		for (size_t i = 1; i < rg->nr_subnets; i++)
			if (strcmp(rg->zones[i], zone) < 0) {
				zone = rg->zones[i];
				subnet = rg->subnets[i];
			}
	}
	group = (char *)group_of(run, role->name);
	image = in->image;
	ec2_params_init(&p);
	p.mutating_safe = true; /* ClientToken */
	ec2_param(&p, "ImageId", image);
	ec2_param(&p, "InstanceType", role_size(role));
	ec2_param(&p, "MinCount", "1");
	ec2_param(&p, "MaxCount", "1");
	ec2_param(&p, "ClientToken", token);
	ec2_param(&p, "KeyName", rg->key_name);
	ec2_param(&p, "SubnetId", subnet);
	ec2_param(&p, "SecurityGroupId.1", group);
	/* IMDSv2 only: no token-less metadata requests from the host. */
	ec2_param(&p, "MetadataOptions.HttpTokens", "required");
	ec2_param(&p, "MetadataOptions.HttpEndpoint", "enabled");
	add_tags(&p, run, 1, "instance", &t);
	add_tags(&p, run, 2, "volume", &t);
	if (role->disk_size) {
		char size[16];

		snprintf(size, sizeof(size), "%d", role->disk_size);
		ec2_param(&p, "BlockDeviceMapping.1.DeviceName", "/dev/sdf");
		ec2_param(&p, "BlockDeviceMapping.1.Ebs.VolumeSize", size);
		ec2_param(&p, "BlockDeviceMapping.1.Ebs.VolumeType",
			  role->disk_type ? role->disk_type : "gp3");
		ec2_param(&p, "BlockDeviceMapping.1.Ebs.DeleteOnTermination",
			  "true");
		ec2_param(&p, "BlockDeviceMapping.1.Ebs.Encrypted", "true");
	}
	if (role->user_data) {
		struct buf text, b64 = BUF_INIT;

		buf_init(&text, 16 << 10);
		rc = buf_read_file(&text, role->user_data);
		if (rc)
			rc = error_set(err, rc, run->t->file,
				       role->user_data_node->line,
				       role->user_data_node->col,
				       "role '%s': user_data '%s': %s",
				       role->name, role->user_data,
				       rc == DEPLOY_ERR_TOO_BIG
					       ? "larger than EC2's 16 KiB"
					       : "cannot be read");
		else
			base64_encode(&b64, text.data, text.len, true);
		if (!rc)
			ec2_param(&p, "UserData", b64.data);
		buf_free(&text);
		buf_free(&b64);
	}
	if (!rc)
		rc = call_for_id(rg, "RunInstances", &p,
				 "instancesSet/item/instanceId", &in->id, err);
	ec2_params_free(&p);
	if (rc &&
	    !strcmp(ec2_error_code(rg->ec2), "IdempotentParameterMismatch"))
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 "; a run that stopped asked for '%s' with other "
			 "settings: deploy down --limit %s, then up",
			 in->host->name, in->host->name);
	return rc;
}

/* Make (or adopt) one instance; its id recorded before returning. */
static int instance_up(struct provider_run *run, struct inst *in,
		       struct error *err)
{
	struct host *h = in->host;
	struct state_resource *res =
		state_resource_find(run->state, "aws", "host", h->name);
	char key[37], token[64];
	int rc;

	/* A host recorded as made but gone now is made anew (new token:
	 * EC2 would answer an old one with the terminated instance). */
	if (res && res->status != RESOURCE_PENDING) {
		state_resource_remove(run->state, res);
		state_host_remove(run->state, h->name);
		res = NULL;
	}
	rc = tagged_instance(run, in->rg, h->name, &in->id, err);
	if (rc)
		return rc;
	if (!res) {
		uuid4(key);
		res = state_resource_pending(run->state, "aws", "host", h->name,
					     h->role->name, key);
	}
	set_attr(res, "region", in->rg->name);
	if (in->id) {
		/* Found by its tags: a run stopped after asking for it, or
		 * --adopt. */
		state_resource_set_id(res, in->id);
		return run->save(run, err);
	}
	rc = run->save(run, err);
	if (rc)
		return rc;
	snprintf(token, sizeof(token), "%s", res->key);
	rc = run_instance(run, in, token, err);
	if (rc)
		return rc;
	res = state_resource_find(run->state, "aws", "host", h->name);
	state_resource_set_id(res, in->id);
	return run->save(run, err);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(const struct provider_run *run, long ms)
{
	while (ms > 0 && !(run->stop && *run->stop)) {
		long s = ms > 100 ? 100 : ms;

		usleep((useconds_t)s * 1000);
		ms -= s;
	}
}

static unsigned long jitter(unsigned long n)
{
	unsigned long r = 0;

	if (!n)
		return 0;
	if (getentropy(&r, sizeof(r)))
		r = (unsigned long)rand();
	return r % n;
}

struct describe_ctx {
	struct inst *v;
	size_t nr;
};

static int read_instances(xmlNodePtr root, void *ud)
{
	struct describe_ctx *d = ud;

	for (xmlNodePtr it = next_instance(root, NULL); it;
	     it = next_instance(root, it)) {
		char *id = x_text(it, "instanceId");

		for (size_t i = 0; id && i < d->nr; i++) {
			struct inst *in = &d->v[i];

			if (!in->id || strcmp(in->id, id))
				continue;
			free(in->state);
			free(in->public_ip);
			free(in->private_ip);
			free(in->reason);
			in->state = x_text(it, "instanceState/name");
			in->public_ip = x_text(it, "ipAddress");
			in->private_ip = x_text(it, "privateIpAddress");
			in->reason = x_text(it, "stateReason/message");
		}
		free(id);
	}
	return 0;
}

/*
 * One DescribeInstances for every instance of the region still waited
 * for, again with backoff and jitter, until each is in `want` (with an
 * address when running) or the deadline passes. An id EC2 does not know
 * yet (just made: eventual consistency) is asked for again.
 */
static int wait_instances(struct provider_run *run, struct inst *v, size_t nr,
			  const char *want, int deadline_s, struct error *err)
{
	long long deadline = now_ms() + (long long)deadline_s * 1000;
	long delay = 500;
	int rc = 0;

	for (;;) {
		struct aws *a = aws_of(run);
		size_t left = 0;

		for (size_t g = 0; !rc && g < a->nr_regions; g++) {
			struct describe_ctx d = { v, nr };
			struct ec2_params p;
			int n = 0;

			ec2_params_init(&p);
			for (size_t i = 0; i < nr; i++)
				if (!v[i].done && v[i].rg == &a->regions[g])
					ec2_paramf(&p, v[i].id, "InstanceId.%d",
						   ++n);
			if (n)
				rc = ec2_call_pages(a->regions[g].ec2,
						    "DescribeInstances", &p,
						    read_instances, &d, err);
			ec2_params_free(&p);
			if (rc == DEPLOY_ERR_NOT_FOUND &&
			    !strcmp(ec2_error_code(a->regions[g].ec2),
				    "InvalidInstanceID.NotFound")) {
				error_clear(err);
				rc = 0;
				left++;
			}
		}
		if (rc)
			return rc;
		for (size_t i = 0; i < nr; i++) {
			struct inst *in = &v[i];

			if (in->done)
				continue;
			if (!strcmp(want, "running") && in->state &&
			    !live_state(in->state))
				return error_set(
					err, DEPLOY_ERR_REMOTE, NULL, 0, 0,
					"aws instance %s of '%s' is %s "
					"instead of running%s%s",
					in->id, in->host->name, in->state,
					in->reason ? ": " : "",
					in->reason ? in->reason : "");
			if (in->state && !strcmp(in->state, want) &&
			    (strcmp(want, "running") || in->private_ip ||
			     in->public_ip))
				in->done = true;
			else
				left++;
		}
		if (!left)
			return 0;
		if (run->stop && *run->stop)
			return error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0,
					 0,
					 "interrupted while waiting for "
					 "instances; recorded, a new run "
					 "goes on");
		if (now_ms() > deadline) {
			for (size_t i = 0; i < nr; i++)
				if (!v[i].done)
					return error_set(
						err, DEPLOY_ERR_TIMEOUT, NULL,
						0, 0,
						"aws instance %s of '%s' is "
						"%s, not %s, after %d s",
						v[i].id, v[i].host->name,
						v[i].state ? v[i].state : "?",
						want, deadline_s);
		}
		/* Full jitter on a growing window, at most 10 s. */
		sleep_ms(run, (long)jitter((unsigned long)delay) + 200);
		delay = delay * 2 > 10000 ? 10000 : delay * 2;
	}
}

/* Elastic IPs ------------------------------------------------------------ */

static int create_eip(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	struct ec2_params p;
	int rc;

	(void)arg;
	ec2_params_init(&p);
	ec2_param(&p, "Domain", "vpc");
	add_tags(&p, run, 1, "elastic-ip", t);
	rc = call_for_id(rg, "AllocateAddress", &p, "allocationId", id, err);
	ec2_params_free(&p);
	return rc;
}

/* The host's Elastic IP, allocated once and associated; its address in
 * *ip. */
static int static_ip(struct provider_run *run, struct inst *in, char **ip,
		     struct error *err)
{
	struct region *rg = in->rg;
	char *alloc = NULL;
	struct ec2_params p;
	xmlDocPtr doc;
	xmlNodePtr it;
	int rc;

	rc = ensure(run, rg, &K_EIP, in->host->name, in->host->role->name,
		    create_eip, NULL, &alloc, err);
	if (rc)
		return rc;
	rc = describe_one(rg, &K_EIP, alloc, &doc, err);
	if (rc) {
		free(alloc);
		return rc;
	}
	it = x_path(xmlDocGetRootElement(doc), "addressesSet/item");
	*ip = x_text(it, "publicIp");
	if (!x_text_is(it, "instanceId", in->id)) {
		ec2_params_init(&p);
		ec2_param(&p, "AllocationId", alloc);
		ec2_param(&p, "InstanceId", in->id);
		rc = simple_call(rg, "AssociateAddress", &p, err);
		ec2_params_free(&p);
	}
	xmlFreeDoc(doc);
	free(alloc);
	return rc;
}

/* SSH ------------------------------------------------------------------ */

/* Whether addr:22 answers with an SSH banner within ms. */
static bool ssh_answers(const char *addr, int ms)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char banner[8] = "";
	bool ok = false;
	int fd;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(addr, "22", &hints, &ai))
		return false;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd >= 0) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		int e = 0;
		socklen_t el = sizeof(e);

		if ((!connect(fd, ai->ai_addr, ai->ai_addrlen) ||
		     poll(&pfd, 1, ms) == 1) &&
		    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) && !e) {
			pfd.events = POLLIN;
			ok = poll(&pfd, 1, ms) == 1 &&
			     read(fd, banner, 4) == 4 &&
			     !memcmp(banner, "SSH-", 4);
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

/* Hosts that will be configured and are reached directly: wait for their
 * sshd (a new instance takes a while to start it). Hosts whose roles have
 * no playbooks are never contacted. */
static int wait_ssh(struct provider_run *run, struct inst *v, size_t nr,
		    struct error *err)
{
	long long deadline = now_ms() + WAIT_SSH_S * 1000LL;

	for (size_t i = 0; i < nr; i++) {
		const struct role *role = v[i].host->role;
		const struct state_host *sh = NULL;

		if (!role->nr_playbooks || role->via.name)
			continue;
		for (size_t k = 0; k < run->state->nr_hosts; k++)
			if (!strcmp(run->state->hosts[k].name, v[i].host->name))
				sh = &run->state->hosts[k];
		while (sh && sh->address && !ssh_answers(sh->address, 2000)) {
			if (run->stop && *run->stop)
				return error_set(err, DEPLOY_ERR_INTERRUPTED,
						 NULL, 0, 0,
						 "interrupted while waiting "
						 "for SSH");
			if (now_ms() > deadline)
				return error_set(
					err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
					"aws host '%s' (%s) does not answer "
					"on port 22 after %d s: check that "
					"ssh.admin_cidrs holds your address",
					v[i].host->name, sh->address,
					WAIT_SSH_S);
			sleep_ms(run, 2000);
		}
	}
	return 0;
}

/* The provider's operations ------------------------------------------- */

static int aws_hosts_up(struct provider_run *run, struct host *const *hosts,
			size_t nr, struct error *err)
{
	struct inst *v = xcalloc(nr + 1, sizeof(*v));
	int rc = 0;

	/* What can be checked is, before anything is made: the region,
	 * its zones, each role's image. */
	for (size_t i = 0; !rc && i < nr; i++) {
		const struct role *role = hosts[i]->role;
		char *name = NULL;

		v[i].host = hosts[i];
		rc = region_name(run, role, &name, err);
		if (!rc)
			rc = open_region(run, name, &v[i].rg, err);
		if (!rc)
			rc = check_region(run, v[i].rg, err);
		for (size_t j = 0; !rc && !v[i].image && j < i; j++)
			if (hosts[j]->role == role)
				v[i].image = xstrdup(v[j].image);
		if (!rc && !v[i].image)
			rc = resolve_image(run, v[i].rg, role, role_size(role),
					   &v[i].image, err);
		free(name);
	}
	for (size_t i = 0; !rc && i < nr; i++)
		rc = network_up(run, v[i].rg, err);
	for (size_t i = 0; !rc && i < nr; i++) {
		v[i].rg->inst_known = false;
		rc = instance_up(run, &v[i], err);
	}
	if (!rc)
		rc = wait_instances(run, v, nr, "running", WAIT_RUNNING_S, err);
	for (size_t i = 0; !rc && i < nr; i++) {
		struct state_host *sh;
		char *eip = NULL;

		if (hosts[i]->role->static_ip)
			rc = static_ip(run, &v[i], &eip, err);
		if (rc)
			break;
		sh = state_host_get(run->state, hosts[i]->name, true);
		state_host_set(&sh->address,
			       eip ? eip
				   : (v[i].public_ip ? v[i].public_ip
						     : v[i].private_ip));
		state_host_set(&sh->private_address, v[i].private_ip);
		sh->port = hosts[i]->port ? hosts[i]->port : 22;
		free(eip);
	}
	if (!rc)
		rc = run->save(run, err);
	if (!rc)
		rc = wait_ssh(run, v, nr, err);
	for (size_t i = 0; i < nr; i++)
		inst_free(&v[i]);
	free(v);
	return rc;
}

static int collect_states(xmlNodePtr root, void *ud)
{
	struct region *rg = ud;

	for (xmlNodePtr it = next_instance(root, NULL); it;
	     it = next_instance(root, it)) {
		char *id = x_text(it, "instanceId");
		char *st = x_text(it, "instanceState/name");

		if (!id || !st) {
			free(id);
			free(st);
			continue;
		}
		rg->inst_ids = xrealloc(rg->inst_ids,
					(rg->nr_inst + 1) * sizeof(char *));
		rg->inst_states = xrealloc(rg->inst_states,
					   (rg->nr_inst + 1) * sizeof(char *));
		rg->inst_ids[rg->nr_inst] = id;
		rg->inst_states[rg->nr_inst] = st;
		rg->nr_inst++;
	}
	return 0;
}

/* Every instance of the topology in the region, once per run. */
static int topology_instances(struct provider_run *run, struct region *rg,
			      struct error *err)
{
	struct ec2_params p;
	int rc;

	if (rg->inst_known)
		return 0;
	free_strings(rg->inst_ids, rg->nr_inst);
	free_strings(rg->inst_states, rg->nr_inst);
	rg->inst_ids = rg->inst_states = NULL;
	rg->nr_inst = 0;
	ec2_params_init(&p);
	ec2_filter(&p, 1, "tag:deploy:topology", run->t->name);
	ec2_page_size(rg->ec2, &p);
	rc = ec2_call_pages(rg->ec2, "DescribeInstances", &p, collect_states,
			    rg, err);
	ec2_params_free(&p);
	rg->inst_known = !rc;
	return rc;
}

static int aws_exists(struct provider_run *run, const struct state_resource *r,
		      bool *exists, struct error *err)
{
	const char *region = res_region(r);
	struct region *rg;
	int rc;

	*exists = false;
	if (!region || !r->id)
		return 0;
	rc = open_region(run, region, &rg, err);
	if (rc)
		return rc;
	if (strcmp(r->kind, "host")) {
		for (size_t i = 0;
		     i < sizeof(network_kinds) / sizeof(network_kinds[0]); i++)
			if (!strcmp(network_kinds[i]->kind, r->kind))
				return exists_by_id(rg, network_kinds[i], r->id,
						    exists, err);
		return exists_by_id(rg, &K_EIP, r->id, exists, err);
	}
	rc = topology_instances(run, rg, err);
	for (size_t i = 0; !rc && i < rg->nr_inst; i++)
		if (!strcmp(rg->inst_ids[i], r->id))
			*exists = live_state(rg->inst_states[i]);
	return rc;
}

static int delete_one(struct region *rg, const struct kind *k, const char *id,
		      struct error *err);

/* Release the host's Elastic IP: the one recorded, or, for a record a
 * stopped run left without an id, those carrying the host's tags. */
static int release_eip(struct provider_run *run, struct region *rg,
		       const char *host, struct error *err)
{
	struct state_resource *res =
		state_resource_find(run->state, "aws", "address", host);
	struct idlist found = { 0 };
	int rc = 0;

	if (!res)
		return 0;
	if (res->id) {
		found.ids = xcalloc(1, sizeof(char *));
		found.ids[found.nr++] = xstrdup(res->id);
	} else {
		rc = find_tagged(run, rg, &K_EIP, host, &found, err);
	}
	for (size_t i = 0; !rc && i < found.nr; i++)
		rc = delete_one(rg, &K_EIP, found.ids[i], err);
	idlist_free(&found);
	if (!rc) {
		res = state_resource_find(run->state, "aws", "address", host);
		state_resource_remove(run->state, res);
		rc = run->save(run, err);
	}
	return rc;
}

static int aws_destroy(struct provider_run *run, struct state_resource *r,
		       struct error *err)
{
	const char *region = res_region(r);
	struct inst in = { 0 };
	struct region *rg;
	char *name = xstrdup(r->name), *id = NULL;
	struct ec2_params p;
	int rc;

	if (!region) {
		free(name);
		return error_set(err, DEPLOY_ERR_INVALID, run->state->path, 0,
				 0,
				 "aws resource '%s' has no region in the "
				 "state",
				 r->name);
	}
	rc = open_region(run, region, &rg, err);
	if (rc)
		goto out;
	id = r->id ? xstrdup(r->id) : NULL;
	if (!id) /* pending: the instance may exist all the same */
		rc = tagged_instance(run, rg, name, &id, err);
	r = state_resource_find(run->state, "aws", "host", name);
	if (!rc && r) {
		r->status = RESOURCE_DELETING;
		rc = run->save(run, err);
	}
	if (!rc && id) {
		ec2_params_init(&p);
		ec2_param(&p, "InstanceId.1", id);
		rc = simple_call(rg, "TerminateInstances", &p, err);
		ec2_params_free(&p);
		if (rc == DEPLOY_ERR_NOT_FOUND) {
			error_clear(err);
			rc = 0;
		} else if (!rc) {
			struct host h = { 0 };

			h.name = name;
			in.host = &h;
			in.rg = rg;
			in.id = id;
			id = NULL;
			rc = wait_instances(run, &in, 1, "terminated",
					    WAIT_TERMINATED_S, err);
			in.host = NULL;
		}
	}
	if (!rc)
		rc = release_eip(run, rg, name, err);
	if (!rc) {
		r = state_resource_find(run->state, "aws", "host", name);
		if (r)
			state_resource_remove(run->state, r);
		state_host_remove(run->state, name);
		rg->inst_known = false;
		rc = run->save(run, err);
	}
out:
	inst_free(&in);
	free(id);
	free(name);
	return rc;
}

/* Down: the shared network ------------------------------------------------ */

static long long backoff_ms(int n)
{
	long long w = 500LL << (n < 6 ? n : 6);

	return (long long)jitter((unsigned long)(w > 20000 ? 20000 : w)) + 100;
}

/* Revoke every ingress rule of the group that names another group, so
 * that groups naming each other can be deleted in any order. */
static int unlink_group(struct region *rg, const char *group, struct error *err)
{
	struct rules have = { 0 };
	struct ec2_params p;
	xmlDocPtr doc;
	int rc;

	rc = describe_one(rg, &K_SG, group, &doc, err);
	if (rc)
		return rc;
	held_rules(x_path(xmlDocGetRootElement(doc), "securityGroupInfo/item"),
		   &have);
	xmlFreeDoc(doc);
	for (size_t i = 0; !rc && i < have.nr; i++) {
		if (strncmp(have.v[i].src, "sg-", 3))
			continue;
		ec2_params_init(&p);
		rule_params(&p, group, &have.v[i]);
		rc = simple_call(rg, "RevokeSecurityGroupIngress", &p, err);
		ec2_params_free(&p);
	}
	free(have.v);
	return rc;
}

static int detach_igw(struct region *rg, const char *igw, struct error *err)
{
	struct ec2_params p;
	xmlDocPtr doc;
	xmlNodePtr set;
	int rc;

	rc = describe_one(rg, &K_IGW, igw, &doc, err);
	if (rc)
		return rc;
	set = x_path(xmlDocGetRootElement(doc),
		     "internetGatewaySet/item/attachmentSet");
	for (xmlNodePtr it = x_child(set, "item"); !rc && it;
	     it = x_next(it, "item")) {
		char *vpc = x_text(it, "vpcId");

		ec2_params_init(&p);
		ec2_param(&p, "InternetGatewayId", igw);
		ec2_param(&p, "VpcId", vpc ? vpc : "");
		rc = simple_call(rg, "DetachInternetGateway", &p, err);
		ec2_params_free(&p);
		free(vpc);
	}
	xmlFreeDoc(doc);
	return rc;
}

static int disassociate_rtb(struct region *rg, const char *rtb,
			    struct error *err)
{
	struct ec2_params p;
	xmlDocPtr doc;
	xmlNodePtr set;
	int rc;

	rc = describe_one(rg, &K_RTB, rtb, &doc, err);
	if (rc)
		return rc;
	set = x_path(xmlDocGetRootElement(doc),
		     "routeTableSet/item/associationSet");
	for (xmlNodePtr it = x_child(set, "item"); !rc && it;
	     it = x_next(it, "item")) {
		char *assoc = x_text(it, "routeTableAssociationId");

		if (assoc && !x_text_is(it, "main", "true")) {
			ec2_params_init(&p);
			ec2_param(&p, "AssociationId", assoc);
			rc = simple_call(rg, "DisassociateRouteTable", &p, err);
			ec2_params_free(&p);
		}
		free(assoc);
	}
	xmlFreeDoc(doc);
	return rc;
}

/* Let the Elastic IP go of its instance, if it holds one. */
static int disassociate_eip(struct region *rg, const char *alloc,
			    struct error *err)
{
	struct ec2_params p;
	xmlDocPtr doc;
	char *assoc;
	int rc;

	rc = describe_one(rg, &K_EIP, alloc, &doc, err);
	if (rc)
		return gone_is_fine(rc, err);
	assoc = x_text(xmlDocGetRootElement(doc),
		       "addressesSet/item/associationId");
	xmlFreeDoc(doc);
	if (assoc && *assoc) {
		ec2_params_init(&p);
		ec2_param(&p, "AssociationId", assoc);
		rc = simple_call(rg, "DisassociateAddress", &p, err);
		ec2_params_free(&p);
	}
	free(assoc);
	return rc;
}

/* Delete one network resource (already checked to carry our tags). */
static int delete_one(struct region *rg, const struct kind *k, const char *id,
		      struct error *err)
{
	struct ec2_params p;
	const char *action = NULL, *param = NULL;
	int rc = 0;

	if (k == &K_EIP) {
		rc = disassociate_eip(rg, id, err);
		action = "ReleaseAddress";
		param = "AllocationId";
	} else if (k == &K_SG) {
		action = "DeleteSecurityGroup";
		param = "GroupId";
	} else if (k == &K_SUBNET) {
		action = "DeleteSubnet";
		param = "SubnetId";
	} else if (k == &K_RTB) {
		rc = disassociate_rtb(rg, id, err);
		action = "DeleteRouteTable";
		param = "RouteTableId";
	} else if (k == &K_IGW) {
		rc = detach_igw(rg, id, err);
		action = "DeleteInternetGateway";
		param = "InternetGatewayId";
	} else if (k == &K_VPC) {
		action = "DeleteVpc";
		param = "VpcId";
	} else {
		action = "DeleteKeyPair";
		param = "KeyName";
	}
	if (rc)
		return rc;
	ec2_params_init(&p);
	ec2_param(&p, param, id);
	rc = simple_call(rg, action, &p, err);
	ec2_params_free(&p);
	return gone_is_fine(rc, err);
}

/* Remove every resource of kind k carrying this topology's tags in the
 * region (recorded or not: a run may have stopped before recording). A
 * DependencyViolation (an instance still letting go of its network
 * interface) is asked again with backoff until a deadline. */
static int sweep_kind(struct provider_run *run, struct region *rg,
		      const struct kind *k, struct error *err)
{
	struct idlist found = { 0 };
	int rc = find_tagged(run, rg, k, NULL, &found, err);

	for (size_t i = 0; !rc && k == &K_SG && i < found.nr; i++)
		rc = unlink_group(rg, found.ids[i], err);
	for (size_t i = 0; !rc && i < found.nr; i++) {
		long long deadline = now_ms() + DEPENDENCY_DEADLINE_S * 1000LL;

		for (int n = 0;; n++) {
			rc = delete_one(rg, k, found.ids[i], err);
			if (!rc ||
			    strcmp(ec2_error_code(rg->ec2),
				   "DependencyViolation") ||
			    now_ms() > deadline || (run->stop && *run->stop))
				break;
			error_clear(err);
			sleep_ms(run, (long)backoff_ms(n));
		}
	}
	/* What was recorded of this kind in this region is gone now. */
	for (size_t i = run->state->nr_resources; !rc && i-- > 0;) {
		struct state_resource *res = &run->state->resources[i];
		const char *region = res_region(res);

		if (!strcmp(res->provider, "aws") &&
		    !strcmp(res->kind, k->kind) && region &&
		    !strcmp(region, rg->name))
			state_resource_remove(run->state, res);
	}
	idlist_free(&found);
	if (!rc)
		rc = run->save(run, err);
	return rc;
}

/* The regions to look in: the roles' and those recorded. */
static int regions_used(struct provider_run *run, char ***out, size_t *nr,
			struct error *err)
{
	*out = NULL;
	*nr = 0;
	for (size_t i = 0; i <= run->t->nr_roles + run->state->nr_resources;
	     i++) {
		char *name = NULL;
		bool dup = false;

		if (i < run->t->nr_roles) {
			if (run->t->roles[i].provider != &aws_provider)
				continue;
			if (region_name(run, &run->t->roles[i], &name, err)) {
				/* A region is required only where there is
				 * something to do. */
				if (run->state->nr_resources)
					return err->code;
				error_clear(err);
				continue;
			}
		} else if (i - run->t->nr_roles < run->state->nr_resources) {
			struct state_resource *res =
				&run->state->resources[i - run->t->nr_roles];

			if (strcmp(res->provider, "aws") || !res_region(res))
				continue;
			name = xstrdup(res_region(res));
		} else {
			continue;
		}
		for (size_t j = 0; j < *nr; j++)
			dup |= !strcmp((*out)[j], name);
		if (dup) {
			free(name);
			continue;
		}
		*out = xrealloc(*out, (*nr + 1) * sizeof(char *));
		(*out)[(*nr)++] = name;
	}
	return 0;
}

static int aws_finish_down(struct provider_run *run, struct error *err)
{
	char **regions = NULL;
	size_t nr = 0;
	int rc = regions_used(run, &regions, &nr, err);

	for (size_t i = 0; !rc && i < nr; i++) {
		struct region *rg;

		rc = open_region(run, regions[i], &rg, err);
		for (size_t k = 0;
		     !rc &&
		     k < sizeof(network_kinds) / sizeof(network_kinds[0]);
		     k++)
			rc = sweep_kind(run, rg, network_kinds[k], err);
		if (!rc) {
			free(rg->vpc);
			rg->vpc = NULL;
		}
	}
	free_strings(regions, nr);
	return rc;
}

struct names {
	char **v;
	size_t nr;
};

static int collect_hosts(xmlNodePtr root, void *ud)
{
	struct names *n = ud;

	for (xmlNodePtr it = next_instance(root, NULL); it;
	     it = next_instance(root, it)) {
		char *host = x_tag(it, "deploy:host");
		char *st = x_text(it, "instanceState/name");

		if (host && live_state(st)) {
			n->v = xrealloc(n->v, (n->nr + 1) * sizeof(char *));
			n->v[n->nr++] = host;
			host = NULL;
		}
		free(host);
		free(st);
	}
	return 0;
}

static int aws_list(struct provider_run *run, char ***names, size_t *nr,
		    struct error *err)
{
	struct names n = { 0 };
	char **regions = NULL;
	size_t nr_regions = 0;
	int rc = regions_used(run, &regions, &nr_regions, err);

	for (size_t i = 0; !rc && i < nr_regions; i++) {
		struct region *rg;
		struct ec2_params p;

		rc = open_region(run, regions[i], &rg, err);
		if (rc)
			break;
		ec2_params_init(&p);
		ec2_filter(&p, 1, "tag:deploy:topology", run->t->name);
		ec2_page_size(rg->ec2, &p);
		rc = ec2_call_pages(rg->ec2, "DescribeInstances", &p,
				    collect_hosts, &n, err);
		ec2_params_free(&p);
	}
	free_strings(regions, nr_regions);
	if (rc) {
		free_strings(n.v, n.nr);
		return rc;
	}
	*names = n.v;
	*nr = n.nr;
	return 0;
}

/* Regions where a host of the topology is recorded. */
static bool region_has_hosts(const struct provider_run *run, const char *name)
{
	for (size_t i = 0; i < run->state->nr_resources; i++) {
		const struct state_resource *res = &run->state->resources[i];
		const char *region = res_region(res);

		if (!strcmp(res->provider, "aws") &&
		    !strcmp(res->kind, "host") && region &&
		    !strcmp(region, name))
			return true;
	}
	return false;
}

/*
 * The network and the groups' rules as the topology says now (a firewall
 * rule changed, a role added to a region that has hosts). With dry, only
 * the rule changes are told, one line each; nothing is asked to change.
 */
static int aws_sync(struct provider_run *run, struct buf *dry,
		    struct error *err)
{
	char **regions = NULL;
	size_t nr = 0;
	int rc = regions_used(run, &regions, &nr, err);

	for (size_t i = 0; !rc && i < nr; i++) {
		struct region *rg;

		if (!region_has_hosts(run, regions[i]))
			continue;
		rc = open_region(run, regions[i], &rg, err);
		if (!rc && !dry) {
			rc = network_up(run, rg, err);
			continue;
		}
		for (size_t j = 0; !rc && j < run->t->nr_roles; j++) {
			const struct role *role = &run->t->roles[j];
			const char *group = group_of(run, role->name);

			if (!role_in_region(run, role, rg))
				continue;
			if (!group)
				buf_addf(dry,
					 "+ aws security-group %s (a new "
					 "role)\n",
					 role->name);
			else
				rc = sync_rules(run, rg, role, group, dry, err);
		}
	}
	free_strings(regions, nr);
	return rc;
}

const struct provider_ops aws_provider = {
	.name = "aws",
	.summary = "Amazon EC2 instances, VPC and security groups",
	.config_keys = aws_keys,
	.hosts_up = aws_hosts_up,
	.exists = aws_exists,
	.destroy = aws_destroy,
	.finish_down = aws_finish_down,
	.list_hosts = aws_list,
	.release = aws_release,
	.sync = aws_sync,
};
