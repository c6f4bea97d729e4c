/* SPDX-License-Identifier: MIT */
/* AWS network: the VPC, its subnets, internet gateway and route table. */
#include "providers/aws/aws-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define VPC_CIDR "10.0.0.0/16"

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
int adopted_setup(struct region *rg, const struct kind *k, const char *id,
		  struct error *err)
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

const char *subnet_in(const struct region *rg, const char *zone)
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

	rc = aws_resource(run, rg, &K_VPC, rg->name, NULL, create_vpc, NULL,
			  &rg->vpc, err);
	if (!rc)
		rc = aws_resource(run, rg, &K_IGW, rg->name, NULL, create_igw,
				  NULL, &igw, err);
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
		rc = aws_resource(run, rg, &K_SUBNET, used[i], NULL,
				  create_subnet, &s, &id, err);
		if (!rc)
			add_subnet(rg, used[i], id);
		free(id);
	}
	if (!rc)
		rc = aws_resource(run, rg, &K_RTB, rg->name, NULL, create_rtb,
				  NULL, &rg->route_table, err);
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

/* Read the region's zones and check the zones the roles name, once per
 * run, before anything is made. */
int check_region(struct provider_run *run, struct region *rg, struct error *err)
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

int network_up(struct provider_run *run, struct region *rg, struct error *err)
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
