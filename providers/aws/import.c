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
