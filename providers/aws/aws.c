/* SPDX-License-Identifier: MIT */
/* AWS provider: ops table, regions, tags, the create-or-adopt protocol. */
#include "providers/aws/aws-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/credentials.h"
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

struct aws *aws_of(struct provider_run *run)
{
	if (!run->priv)
		run->priv = xcalloc(1, sizeof(struct aws));
	return run->priv;
}

void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void seen_free(struct region *rg)
{
	for (size_t i = 0; i < rg->nr_inst; i++) {
		struct seen_inst *s = &rg->inst[i];

		free(s->id);
		free(s->host);
		free(s->launch);
		free(s->state);
		free(s->type);
		free(s->zone);
		free(s->vpc);
		free(s->subnet);
		free(s->image);
		free_strings(s->group_ids, s->nr_groups);
		free_strings(s->group_names, s->nr_groups);
	}
	free(rg->inst);
	rg->inst = NULL;
	rg->nr_inst = 0;
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
		seen_free(r);
		free_strings(r->all_zones, r->nr_all_zones);
	}
	free(a->regions);
	free(a);
	run->priv = NULL;
}

const char *conf_str(const struct provider_run *run, const char *key)
{
	const struct ynode *n = ynode_get(run->config, key);

	return ynode_is_string(n) ? n->value : NULL;
}

int region_name(const struct provider_run *run, const struct role *role,
		char **out, struct error *err)
{
	return aws_region_resolve(role ? role->region : NULL,
				  conf_str(run, "region"),
				  conf_str(run, "profile"), out, err);
}

int open_region(struct provider_run *run, const char *name, struct region **out,
		struct error *err)
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
const char *res_region(const struct state_resource *res)
{
	const cJSON *j =
		cJSON_GetObjectItemCaseSensitive(res->attributes, "region");

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

void set_attr(struct state_resource *res, const char *k, const char *v)
{
	if (!res->attributes)
		res->attributes = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(res->attributes, k);
	if (v)
		cJSON_AddStringToObject(res->attributes, k, v);
}

/* Tags ---------------------------------------------------------------- */

void add_tags(struct ec2_params *p, const struct provider_run *run, int spec,
	      const char *rtype, const struct tags *t)
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
	if (t->launch)
		TAG("deploy:launch", t->launch);
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

int collect_ids(xmlNodePtr root, void *ud)
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

void idlist_free(struct idlist *l)
{
	free_strings(l->ids, l->nr);
	l->ids = NULL;
	l->nr = 0;
}

const struct kind K_VPC = { "vpc",   "DescribeVpcs", "vpcSet",
			    "vpcId", "VpcId.1",	     "vpc" };
const struct kind K_SUBNET = { "subnet",   "DescribeSubnets", "subnetSet",
			       "subnetId", "SubnetId.1",      "subnet" };
const struct kind K_IGW = { "internet-gateway",	   "DescribeInternetGateways",
			    "internetGatewaySet",  "internetGatewayId",
			    "InternetGatewayId.1", "internet-gateway" };
const struct kind K_RTB = { "route-table",    "DescribeRouteTables",
			    "routeTableSet",  "routeTableId",
			    "RouteTableId.1", "route-table" };
const struct kind K_SG = { "security-group",	"DescribeSecurityGroups",
			   "securityGroupInfo", "groupId",
			   "GroupId.1",		"security-group" };
const struct kind K_KEY = { "key-pair", "DescribeKeyPairs", "keySet",
			    "keyName",	"KeyName.1",	    "key-pair" };
const struct kind K_EIP = { "address",	    "DescribeAddresses", "addressesSet",
			    "allocationId", "AllocationId.1",	 "elastic-ip" };

const struct kind *const network_kinds[NR_NETWORK_KINDS] = {
	/* In the order down removes them. */
	&K_EIP, &K_SG, &K_SUBNET, &K_RTB, &K_IGW, &K_VPC, &K_KEY,
};

/* The ids of this topology's KIND resources named name (NULL: all). */
int find_tagged(struct provider_run *run, struct region *rg,
		const struct kind *k, const char *name, struct idlist *out,
		struct error *err)
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
int gone_is_fine(int rc, struct error *err)
{
	if (rc != DEPLOY_ERR_NOT_FOUND)
		return rc;
	error_clear(err);
	return 0;
}

/* Describe the one resource of kind k with id; the caller frees *doc. */
int describe_one(struct region *rg, const struct kind *k, const char *id,
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
int exists_by_id(struct region *rg, const struct kind *k, const char *id,
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
/* The provider kit's hooks for a network resource (resource.h). */
struct net_arg {
	struct region *rg;
	const struct kind *k;
	create_fn create;
	void *arg;
};

static int net_find_by_id(struct provider_run *run,
			  const struct resource_ref *ref, bool *exists,
			  struct error *err)
{
	const struct net_arg *a = ref->arg;

	(void)run;
	return exists_by_id(a->rg, a->k, ref->id, exists, err);
}

static int net_find_by_tags(struct provider_run *run,
			    const struct resource_ref *ref, char **id,
			    struct error *err)
{
	const struct net_arg *a = ref->arg;
	struct idlist found = { 0 };
	int rc = find_tagged(run, a->rg, a->k, ref->name, &found, err);

	*id = !rc && found.nr ? xstrdup(found.ids[0]) : NULL;
	idlist_free(&found);
	return rc;
}

static int net_create(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	const struct net_arg *a = ref->arg;
	struct tags t = { a->k->kind, ref->name, ref->role, NULL, NULL };

	return a->create(run, a->rg, &t, a->arg, id, err);
}

/* A run stopped after asking for it, maybe before the calls that follow
 * the create: they are made again. */
static int net_adopted(struct provider_run *run, const struct resource_ref *ref,
		       const char *id, struct error *err)
{
	const struct net_arg *a = ref->arg;

	(void)run;
	return adopted_setup(a->rg, a->k, id, err);
}

static void net_attributes(struct provider_run *run,
			   const struct resource_ref *ref,
			   struct state_resource *res)
{
	const struct net_arg *a = ref->arg;

	(void)run;
	set_attr(res, "region", a->rg->name);
}

/*
 * Make sure resource KIND/NAME of region rg exists, by the kit's
 * protocol: the one recorded (when it still exists), else the one
 * carrying its tags, else a new one (recorded as pending first; one gone
 * is made anew under a new key). *id is malloc'd.
 */
int aws_resource(struct provider_run *run, struct region *rg,
		 const struct kind *k, const char *name, const char *role,
		 create_fn create, void *arg, char **id, struct error *err)
{
	struct net_arg a = { rg, k, create, arg };
	const struct resource_kind rk = {
		.kind = k->kind,
		.flags = RESOURCE_NEW_KEY,
		.find_by_id = net_find_by_id,
		.find_by_tags = net_find_by_tags,
		.create = net_create,
		.adopted = net_adopted,
		.attributes = net_attributes,
	};

	return resource_ensure(run, &rk, name, role, &a, id, NULL, err);
}

/* Creates ------------------------------------------------------------- */

int call_for_id(struct region *rg, const char *action, struct ec2_params *p,
		const char *path, char **id, struct error *err)
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

int simple_call(struct region *rg, const char *action, struct ec2_params *p,
		struct error *err)
{
	xmlDocPtr doc;
	int rc = ec2_call(rg->ec2, action, p, &doc, err);

	xmlFreeDoc(doc);
	return rc;
}

/* Pauses and polls ------------------------------------------------------- */

unsigned long jitter(unsigned long n)
{
	unsigned long r = 0;

	if (!n)
		return 0;
	if (getentropy(&r, sizeof(r)))
		r = (unsigned long)rand();
	return r % n;
}

/* Refresh, list, sync --------------------------------------------------- */

/* An instance's groups: its groupSet, else (as moto answers) those of its
 * first network interface. */
static void collect_groups(xmlNodePtr it, struct seen_inst *s)
{
	xmlNodePtr set = x_child(it, "groupSet");

	if (!x_child(set, "item"))
		set = x_path(it, "networkInterfaceSet/item/groupSet");
	for (xmlNodePtr g = x_child(set, "item"); g; g = x_next(g, "item")) {
		char *id = x_text(g, "groupId");

		if (!id)
			continue;
		s->group_ids = xrealloc(s->group_ids,
					(s->nr_groups + 1) * sizeof(char *));
		s->group_names = xrealloc(s->group_names,
					  (s->nr_groups + 1) * sizeof(char *));
		s->group_ids[s->nr_groups] = id;
		s->group_names[s->nr_groups] = x_text(g, "groupName");
		if (!s->group_names[s->nr_groups])
			s->group_names[s->nr_groups] = xstrdup(id);
		s->nr_groups++;
	}
}

/* An instance's amiLaunchIndex (0 to 999: a RunInstances makes at most
 * 1000), -1 when absent or out of range. */
long instance_launch_index(xmlNodePtr it)
{
	char *text = x_text(it, "amiLaunchIndex"), *end = NULL;
	long n = -1;

	if (text && *text >= '0' && *text <= '9') {
		n = strtol(text, &end, 10);
		if (*end || n > 999)
			n = -1;
	}
	free(text);
	return n;
}

static int collect_states(xmlNodePtr root, void *ud)
{
	struct region *rg = ud;

	for (xmlNodePtr it = next_instance(root, NULL); it;
	     it = next_instance(root, it)) {
		char *id = x_text(it, "instanceId");
		char *st = x_text(it, "instanceState/name");
		struct seen_inst *s;

		if (!id || !st) {
			free(id);
			free(st);
			continue;
		}
		rg->inst = xrealloc(rg->inst,
				    (rg->nr_inst + 1) * sizeof(*rg->inst));
		s = &rg->inst[rg->nr_inst++];
		memset(s, 0, sizeof(*s));
		s->id = id;
		s->host = x_tag(it, "deploy:host");
		s->launch = x_tag(it, "deploy:launch");
		s->launch_index = instance_launch_index(it);
		s->state = st;
		s->type = x_text(it, "instanceType");
		s->zone = x_text(it, "placement/availabilityZone");
		s->vpc = x_text(it, "vpcId");
		s->subnet = x_text(it, "subnetId");
		s->image = x_text(it, "imageId");
		collect_groups(it, s);
	}
	return 0;
}

/* Every instance of the topology in the region, once per run. */
static int topology_instances(struct provider_run *run, struct region *rg,
			      struct error *err)
{
	int rc;

	if (rg->inst_known)
		return 0;
	seen_free(rg);
	rc = topology_describe(run, rg, NULL, collect_states, rg, err);
	rg->inst_known = !rc;
	return rc;
}

int seen_instance(struct provider_run *run, struct region *rg, const char *id,
		  const struct seen_inst **out, struct error *err)
{
	int rc = topology_instances(run, rg, err);

	*out = NULL;
	for (size_t i = 0; !rc && i < rg->nr_inst; i++)
		if (!strcmp(rg->inst[i].id, id))
			*out = &rg->inst[i];
	return rc;
}

int cached_tagged_instance(struct provider_run *run, struct region *rg,
			   const char *host, char **id, struct error *err)
{
	int rc = topology_instances(run, rg, err);

	*id = NULL;
	for (size_t i = 0; !rc && !*id && i < rg->nr_inst; i++)
		if (rg->inst[i].host && !strcmp(rg->inst[i].host, host) &&
		    live_state(rg->inst[i].state))
			*id = xstrdup(rg->inst[i].id);
	return rc;
}

int cached_launched_instance(struct provider_run *run, struct region *rg,
			     const char *token, long index, char **id,
			     struct error *err)
{
	int rc = topology_instances(run, rg, err);

	*id = NULL;
	for (size_t i = 0; !rc && !*id && i < rg->nr_inst; i++) {
		const struct seen_inst *s = &rg->inst[i];

		if (s->launch && !strcmp(s->launch, token) &&
		    s->launch_index == index && live_state(s->state))
			*id = xstrdup(s->id);
	}
	return rc;
}

bool launch_key(const char *key, char token[LAUNCH_TOKEN_MAX], long *index,
		long *count)
{
	const char *dot = key ? strchr(key, '.') : NULL;
	char *end = NULL;

	if (!dot || dot == key || dot - key >= LAUNCH_TOKEN_MAX ||
	    !strchr("0123456789", dot[1]) || !dot[1])
		return false;
	*index = strtol(dot + 1, &end, 10);
	if (*end != '.' || !strchr("0123456789", end[1]) || !end[1])
		return false;
	*count = strtol(end + 1, &end, 10);
	if (*end || *count < 1 || *count > LAUNCH_MAX || *index >= *count)
		return false;
	memcpy(token, key, (size_t)(dot - key));
	token[dot - key] = '\0';
	return true;
}

int pending_instance(struct provider_run *run, struct region *rg,
		     const char *host, const char *key, char **id,
		     struct error *err)
{
	char token[LAUNCH_TOKEN_MAX];
	long index, count;
	int rc = cached_tagged_instance(run, rg, host, id, err);

	if (!rc && !*id && launch_key(key, token, &index, &count))
		rc = cached_launched_instance(run, rg, token, index, id, err);
	return rc;
}

static int aws_exists(struct provider_run *run, const struct state_resource *r,
		      bool *exists, struct error *err)
{
	const char *region = res_region(r);
	const struct seen_inst *s;
	struct region *rg;
	int rc;

	*exists = false;
	if (!region || !r->id)
		return 0;
	rc = open_region(run, region, &rg, err);
	if (rc)
		return rc;
	if (strcmp(r->kind, "host")) {
		for (size_t i = 0; i < NR_NETWORK_KINDS; i++)
			if (!strcmp(network_kinds[i]->kind, r->kind))
				return exists_by_id(rg, network_kinds[i], r->id,
						    exists, err);
		return exists_by_id(rg, &K_EIP, r->id, exists, err);
	}
	rc = seen_instance(run, rg, r->id, &s, err);
	*exists = s && live_state(s->state);
	return rc;
}
/* The regions to look in: the roles' and those recorded. */
int regions_used(struct provider_run *run, char ***out, size_t *nr,
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

		rc = open_region(run, regions[i], &rg, err);
		if (!rc)
			rc = topology_describe(run, rg, NULL, collect_hosts, &n,
					       err);
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
	.ssh_wait_s = 300,
	.ssh_hint = "check that ssh.admin_cidrs holds your address",
	.hosts_up = aws_hosts_up,
	.exists = aws_exists,
	.destroy = aws_destroy,
	.destroy_hosts = aws_destroy_hosts,
	.finish_down = aws_finish_down,
	.list_hosts = aws_list,
	.release = aws_release,
	.sync = aws_sync,
	.import_host = aws_import_host,
	.drift = aws_drift,
	.disk_devices = aws_disk_devices,
};
