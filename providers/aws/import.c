/* SPDX-License-Identifier: MIT */
/* deploy import for AWS: an EC2 instance made elsewhere becomes a host. */
#include "providers/aws/aws-internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

/*
 * deploy import ROLE HOST ID: an EC2 instance made outside deploy becomes
 * HOST of ROLE. It is checked (it exists in the role's region, is pending
 * or running, is no other topology's), tagged as deploy tags the
 * instances it makes (Name, deploy:topology, deploy:resource, deploy:role,
 * deploy:host), and recorded as created with its addresses. Nothing else
 * about it changes: its size, image and security groups stay its own.
 */

struct import_info {
	char *state;
	char *public_ip;
	char *private_ip;
	char *topology; /* its deploy:topology tag */
	char *host;	/* its deploy:host tag */
};

static void info_free(struct import_info *in)
{
	free(in->state);
	free(in->public_ip);
	free(in->private_ip);
	free(in->topology);
	free(in->host);
}

static int describe(struct region *rg, const char *id, struct import_info *in,
		    struct error *err)
{
	struct ec2_params p;
	xmlDocPtr doc = NULL;
	xmlNodePtr it;
	int rc;

	ec2_params_init(&p);
	ec2_param(&p, "InstanceId.1", id);
	rc = ec2_call(rg->ec2, "DescribeInstances", &p, &doc, err);
	ec2_params_free(&p);
	if (rc)
		return rc;
	it = next_instance(xmlDocGetRootElement(doc), NULL);
	if (!it) {
		xmlFreeDoc(doc);
		return error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
				 "instance '%s' not found in region '%s'", id,
				 rg->name);
	}
	in->state = x_text(it, "instanceState/name");
	in->public_ip = x_text(it, "ipAddress");
	in->private_ip = x_text(it, "privateIpAddress");
	in->topology = x_tag(it, "deploy:topology");
	in->host = x_tag(it, "deploy:host");
	xmlFreeDoc(doc);
	return 0;
}

static int tag(struct provider_run *run, struct region *rg,
	       const struct host *h, const char *id, struct error *err)
{
	const char *tags[5][2] = {
		{ "Name", h->name },
		{ "deploy:topology", run->t->name },
		{ "deploy:resource", NULL },
		{ "deploy:role", h->role->name },
		{ "deploy:host", h->name },
	};
	char res[256];
	struct ec2_params p;
	int rc;

	snprintf(res, sizeof(res), "host/%s", h->name);
	tags[2][1] = res;
	ec2_params_init(&p);
	ec2_param(&p, "ResourceId.1", id);
	for (int i = 0; i < 5; i++) {
		ec2_paramf(&p, tags[i][0], "Tag.%d.Key", i + 1);
		ec2_paramf(&p, tags[i][1], "Tag.%d.Value", i + 1);
	}
	rc = simple_call(rg, "CreateTags", &p, err);
	ec2_params_free(&p);
	return rc;
}

int aws_import_host(struct provider_run *run, const struct host *h,
		    const char *id, struct error *err)
{
	struct import_info in = { 0 };
	struct region *rg = NULL;
	struct state_resource *res;
	struct state_host *sh;
	char *region = NULL;
	int rc;

	rc = region_name(run, h->role, &region, err);
	if (!rc)
		rc = open_region(run, region, &rg, err);
	if (!rc)
		rc = describe(rg, id, &in, err);
	if (rc)
		goto out;
	if (!live_state(in.state)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "instance '%s' is %s: only a pending or "
			       "running instance can be imported",
			       id, in.state ? in.state : "in no known state");
		goto out;
	}
	if (in.topology && (strcmp(in.topology, run->t->name) ||
			    (in.host && strcmp(in.host, h->name)))) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "instance '%s' is already host '%s' of "
			       "topology '%s' (its deploy: tags): not "
			       "imported",
			       id, in.host ? in.host : "?", in.topology);
		goto out;
	}
	rc = tag(run, rg, h, id, err);
	if (rc)
		goto out;
	res = state_resource_pending(run->state, "aws", "host", h->name,
				     h->role->name, id);
	set_attr(res, "region", rg->name);
	set_attr(res, "imported", "true");
	state_resource_set_id(res, id);
	sh = state_host_get(run->state, h->name, true);
	state_host_set(&sh->address,
		       in.public_ip ? in.public_ip : in.private_ip);
	state_host_set(&sh->private_address, in.private_ip);
	sh->port = h->port ? h->port : 22;
	rc = run->save(run, err);
out:
	info_free(&in);
	free(region);
	return rc;
}

/* A recorded network resource's id (vpc or subnet), NULL when none. */
static const char *recorded_id(struct provider_run *run, const char *kind,
			       const char *name)
{
	struct state_resource *res =
		state_resource_find(run->state, "aws", kind, name);

	return res && res->status == RESOURCE_CREATED ? res->id : NULL;
}

static void drift_groups(struct provider_run *run, const struct host *h,
			 const struct seen_inst *s, struct buf *out)
{
	const char *want_id = group_of(run, h->role->name);
	char *want = group_name(run, h->role->name);
	bool same = false;

	if (want_id)
		same = s->nr_groups == 1 && !strcmp(s->group_ids[0], want_id);
	else
		for (size_t i = 0; i < s->nr_groups; i++)
			same |= !strcmp(s->group_names[i], want);
	if (!same) {
		buf_addf(out, "~ aws host %s: security groups ", h->name);
		for (size_t i = 0; i < s->nr_groups; i++)
			buf_addf(out, "%s%s", i ? ", " : "", s->group_names[i]);
		if (!s->nr_groups)
			buf_adds(out, "none");
		buf_addf(out, ", the topology says %s%s\n", want,
			 want_id ? "" : " (not made yet)");
	}
	free(want);
}

static void drift_network(struct provider_run *run, const struct host *h,
			  const char *region, const struct seen_inst *s,
			  struct buf *out)
{
	const char *given = conf_str(run, "vpc");
	const char *vpc = given, *subnet = NULL;

	if (given && !strcmp(given, "default"))
		return; /* which VPC that is needs a call: not told */
	if (!given) {
		vpc = recorded_id(run, "vpc", region);
		subnet = s->zone ? recorded_id(run, "subnet", s->zone) : NULL;
	}
	if (!s->vpc)
		return;
	if (!vpc)
		buf_addf(out,
			 "~ aws host %s: network %s (%s), the topology's VPC "
			 "is not made yet\n",
			 h->name, s->vpc, s->subnet ? s->subnet : "no subnet");
	else if (strcmp(vpc, s->vpc))
		buf_addf(out,
			 "~ aws host %s: network %s (%s), the topology says "
			 "%s\n",
			 h->name, s->vpc, s->subnet ? s->subnet : "no subnet",
			 vpc);
	else if (subnet && s->subnet && strcmp(subnet, s->subnet))
		buf_addf(out,
			 "~ aws host %s: subnet %s, the topology says %s\n",
			 h->name, s->subnet, subnet);
}

/*
 * How the recorded instance differs from the role: its region, size,
 * security groups, zone, network and (when the role names an AMI) image.
 * One DescribeInstances of the topology per region and run (the refresh's).
 */
int aws_drift(struct provider_run *run, const struct host *h,
	      const struct state_resource *r, struct buf *out,
	      struct error *err)
{
	const struct role *role = h->role;
	const char *have = res_region(r);
	const struct seen_inst *s;
	struct region *rg;
	char *want = NULL;
	int rc;

	if (!r || !r->id || !have)
		return 0;
	rc = region_name(run, role, &want, err);
	if (rc)
		return rc;
	if (strcmp(want, have))
		buf_addf(out,
			 "~ aws host %s: region %s, the topology says %s\n",
			 h->name, have, want);
	free(want);
	rc = open_region(run, have, &rg, err);
	if (!rc)
		rc = seen_instance(run, rg, r->id, &s, err);
	if (rc || !s)
		return rc;
	if (s->type && strcmp(s->type, role_size(role)))
		buf_addf(out, "~ aws host %s: size %s, the topology says %s\n",
			 h->name, s->type, role_size(role));
	drift_groups(run, h, s, out);
	if (role->zone && s->zone && strcmp(role->zone, s->zone))
		buf_addf(out, "~ aws host %s: zone %s, the topology says %s\n",
			 h->name, s->zone, role->zone);
	drift_network(run, h, have, s, out);
	if (role->image && !strncmp(role->image, "ami-", 4) && s->image &&
	    strcmp(role->image, s->image))
		buf_addf(out, "~ aws host %s: image %s, the topology says %s\n",
			 h->name, s->image, role->image);
	return 0;
}
