/* SPDX-License-Identifier: MIT */
/* AWS down: instances terminated, then the tagged network swept. */
#include "providers/aws/aws-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WAIT_TERMINATED_S     600
#define DEPENDENCY_DEADLINE_S 300

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
	if (!rc)
		rc = resource_forget(run, "address", host, err);
	return rc;
}

int aws_destroy(struct provider_run *run, struct state_resource *r,
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
	if (!id) { /* pending: the instance may exist all the same */
		rg->inst_known = false;
		rc = pending_instance(run, rg, name, r->key, &id, err);
	}
	if (!rc) {
		rc = resource_deleting(run, "host", name, err);
		if (rc == DEPLOY_ERR_NOT_FOUND)
			rc = 0; /* nothing recorded: fine */
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
		rg->inst_known = false;
		rc = resource_forget(run, "host", name, err);
	}
out:
	inst_free(&in);
	free(id);
	free(name);
	return rc;
}

/* TerminateInstances for the ids at once; an id EC2 does not know (gone
 * already) is fine: then each is asked alone, at once. */
static int terminate(struct region *rg, char **ids, size_t n, struct error *err)
{
	struct ec2_params p;
	struct ec2_call *calls;
	struct ec2_params *one;
	int rc;

	if (!n)
		return 0;
	ec2_params_init(&p);
	for (size_t i = 0; i < n; i++)
		ec2_paramf(&p, ids[i], "InstanceId.%zu", i + 1);
	rc = simple_call(rg, "TerminateInstances", &p, err);
	ec2_params_free(&p);
	if (rc != DEPLOY_ERR_NOT_FOUND || n == 1)
		return gone_is_fine(rc, err);
	error_clear(err);
	calls = xcalloc(n, sizeof(*calls));
	one = xcalloc(n, sizeof(*one));
	for (size_t i = 0; i < n; i++) {
		ec2_params_init(&one[i]);
		ec2_param(&one[i], "InstanceId.1", ids[i]);
		calls[i] = (struct ec2_call){ .action = "TerminateInstances",
					      .p = &one[i] };
	}
	ec2_call_many(rg->ec2, calls, n);
	for (size_t i = 0; i < n; i++) {
		if (!rc && calls[i].rc && calls[i].rc != DEPLOY_ERR_NOT_FOUND)
			rc = error_set(err, calls[i].rc, NULL, 0, 0, "%s",
				       calls[i].err.msg);
		xmlFreeDoc(calls[i].doc);
		error_clear(&calls[i].err);
		ec2_params_free(&one[i]);
	}
	free(calls);
	free(one);
	return gone_is_fine(rc, err);
}

/*
 * The hosts at once: each recorded as deleting (one save), one
 * TerminateInstances per region (up to 1000 ids) for them all, one wait
 * (one DescribeInstances a round) until each is terminated, then their
 * Elastic IPs released and the hosts forgotten (one save).
 */
int aws_destroy_hosts(struct provider_run *run, const char *const *names,
		      size_t nr, struct error *err)
{
	struct inst *v = xcalloc(nr + 1, sizeof(*v));
	struct host *h = xcalloc(nr + 1, sizeof(*h));
	size_t nv = 0;
	int rc = 0;

	for (size_t i = 0; !rc && i < nr; i++) {
		struct state_resource *r = state_resource_find(
			run->state, "aws", "host", names[i]);
		const char *region = r ? res_region(r) : NULL;
		struct region *rg;
		char *id = NULL;

		if (!r)
			continue;
		if (!region) {
			rc = error_set(err, DEPLOY_ERR_INVALID,
				       run->state->path, 0, 0,
				       "aws resource '%s' has no region in "
				       "the state",
				       names[i]);
			break;
		}
		id = r->id ? xstrdup(r->id) : NULL;
		rc = open_region(run, region, &rg, err);
		if (!rc && !id) /* pending: it may exist all the same */
			rc = pending_instance(run, rg, names[i], r->key, &id,
					      err);
		h[i].name = (char *)names[i];
		if (!rc && id) {
			v[nv].host = &h[i];
			v[nv].rg = rg;
			v[nv++].id = id;
			id = NULL;
		}
		free(id);
	}
	if (!rc)
		rc = resource_deleting_many(run, "host", names, nr, err);
	/* Each region's instances in one call (1000 ids at most). */
	for (size_t i = 0; !rc && i < nv; i++) {
		char **ids;
		size_t n = 0;

		if (v[i].done)
			continue;
		ids = xcalloc(nv + 1, sizeof(*ids));
		for (size_t j = i; j < nv && n < 1000; j++)
			if (!v[j].done && v[j].rg == v[i].rg) {
				ids[n++] = v[j].id;
				v[j].done = true; /* asked */
			}
		rc = terminate(v[i].rg, ids, n, err);
		free(ids);
	}
	for (size_t i = 0; i < nv; i++)
		v[i].done = false;
	if (!rc && nv)
		rc = wait_instances(run, v, nv, "terminated", WAIT_TERMINATED_S,
				    err);
	for (size_t i = 0; !rc && i < nr; i++) {
		const char *region;
		struct state_resource *r = state_resource_find(
			run->state, "aws", "host", names[i]);
		struct region *rg;

		region = r ? res_region(r) : NULL;
		if (!region)
			continue;
		rc = open_region(run, region, &rg, err);
		if (!rc)
			rc = release_eip(run, rg, names[i], err);
		if (!rc)
			rg->inst_known = false;
	}
	if (!rc)
		rc = resource_forget_many(run, "host", names, nr, err);
	for (size_t i = 0; i < nv; i++) {
		v[i].host = NULL;
		inst_free(&v[i]);
	}
	free(v);
	free(h);
	return rc;
}

/* Down: the shared network ------------------------------------------------ */

static long long backoff_ms(int n)
{
	long long w = 500LL << (n < 6 ? n : 6);

	return (long long)jitter((unsigned long)(w > 20000 ? 20000 : w)) + 100;
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
			provider_sleep(run, (long)backoff_ms(n));
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
int aws_finish_down(struct provider_run *run, struct error *err)
{
	char **regions = NULL;
	size_t nr = 0;
	int rc = regions_used(run, &regions, &nr, err);

	for (size_t i = 0; !rc && i < nr; i++) {
		struct region *rg;

		rc = open_region(run, regions[i], &rg, err);
		for (size_t k = 0; !rc && k < NR_NETWORK_KINDS; k++)
			rc = sweep_kind(run, rg, network_kinds[k], err);
		if (!rc) {
			free(rg->vpc);
			rg->vpc = NULL;
		}
	}
	free_strings(regions, nr);
	return rc;
}
