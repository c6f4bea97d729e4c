/* SPDX-License-Identifier: MIT */
/* GCP networks: a custom-mode network and a subnetwork per region used. */

/* The topology's network is made, or the provider block's existing one is
 * used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gcp/gcp-internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define FIRST_NET 10 /* subnetworks: 10.10.0.0/20, 10.11.0.0/20 … */

static char *network_name(const struct provider_run *run)
{
	return gcp_name("deploy", run->t->name, NULL);
}

static char *subnet_name(const struct provider_run *run, const char *region)
{
	return gcp_name("deploy", run->t->name, region);
}

static char *description(const struct provider_run *run)
{
	struct buf d = BUF_INIT;

	buf_addf(&d, "deploy-topology=%s", run->t->name);
	return buf_release(&d);
}

/* --- the network --------------------------------------------------------- */

static int net_by_id(struct provider_run *run, const struct resource_ref *ref,
		     bool *exists, struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "global/networks/%s", ref->id);
	rc = gcp_get(g->c, path.data, "networks.get", exists, NULL, err);
	buf_free(&path);
	return rc;
}

static int net_by_name(struct provider_run *run, const struct resource_ref *ref,
		       char **id, struct error *err)
{
	struct resource_ref r = *ref;
	bool exists = false;
	char *name = network_name(run);
	int rc;

	r.id = name;
	rc = net_by_id(run, &r, &exists, err);
	*id = !rc && exists ? name : NULL;
	if (!*id)
		free(name);
	return rc;
}

static int net_create(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct gcprun *g = run->priv;
	cJSON *body = cJSON_CreateObject();
	char *name = network_name(run), *desc = description(run);
	struct buf what = BUF_INIT;
	int rc;

	buf_addf(&what, "networks.insert %s", name);
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddStringToObject(body, "description", desc);
	cJSON_AddBoolToObject(body, "autoCreateSubnetworks", false);
	rc = gcp_mutate(g->c, "POST", "global/networks", ref->key, body,
			what.data, err);
	if (!rc)
		*id = name;
	else
		free(name);
	cJSON_Delete(body);
	free(desc);
	buf_free(&what);
	return rc;
}

static const struct resource_kind gcp_net = {
	.kind = "network",
	.find_by_id = net_by_id,
	.find_by_tags = net_by_name,
	.create = net_create,
};

/* The block's network: it exists; in auto mode instances take it alone,
 * in custom mode the subnetwork it has in each region. */
static int existing_network(struct provider_run *run, struct gcprun *g,
			    struct error *err)
{
	const char *name = gcp_conf(run, "network");
	const struct ynode *n = ynode_get(run->config, "network");
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	bool exists;
	int rc;

	buf_addf(&path, "global/networks/%s", name);
	rc = gcp_get(g->c, path.data, "networks.get", &exists, &doc, err);
	buf_free(&path);
	if (!rc && !exists)
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
			       n->col,
			       "providers.gcp.network: project '%s' has no "
			       "network '%s'",
			       g->c->project, name);
	if (!rc) {
		g->network = xstrdup(name);
		g->auto_subnets = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
			doc, "autoCreateSubnetworks"));
	}
	cJSON_Delete(doc);
	return rc;
}

struct sub_find {
	const char *network;
	char *name;
};

static int match_subnet(const cJSON *item, void *ud)
{
	struct sub_find *f = ud;
	char net[128];

	gcp_basename(gcp_json_str(item, "network"), net, sizeof(net));
	if (strcmp(net, f->network) || !gcp_json_str(item, "name"))
		return 0;
	f->name = xstrdup(gcp_json_str(item, "name"));
	return 1;
}

static int existing_subnet(struct provider_run *run, struct gcprun *g,
			   struct gcp_region *rg, struct error *err)
{
	struct sub_find f = { g->network, NULL };
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "regions/%s/subnetworks", rg->name);
	rc = gcp_list(g->c, path.data, NULL, match_subnet, &f,
		      "subnetworks.list", err);
	buf_free(&path);
	if (rc < 0)
		return rc;
	if (!f.name) {
		const struct ynode *n = ynode_get(run->config, "network");

		return error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
				 n->col,
				 "providers.gcp.network: network '%s' has no "
				 "subnetwork in region '%s'",
				 g->network, rg->name);
	}
	buf_addf(&path, "projects/%s/regions/%s/subnetworks/%s", g->c->project,
		 rg->name, f.name);
	rg->subnet = buf_release(&path);
	free(f.name);
	return 0;
}

/* --- subnetworks --------------------------------------------------------- */

struct sub_arg {
	const char *region;
	char cidr[32];
};

static int sub_by_id(struct provider_run *run, const struct resource_ref *ref,
		     bool *exists, struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "regions/%s/subnetworks/%s", ref->name, ref->id);
	rc = gcp_get(g->c, path.data, "subnetworks.get", exists, NULL, err);
	buf_free(&path);
	return rc;
}

static int sub_by_name(struct provider_run *run, const struct resource_ref *ref,
		       char **id, struct error *err)
{
	struct resource_ref r = *ref;
	char *name = subnet_name(run, ref->name);
	bool exists = false;
	int rc;

	r.id = name;
	rc = sub_by_id(run, &r, &exists, err);
	*id = !rc && exists ? name : NULL;
	if (!*id)
		free(name);
	return rc;
}

static int sub_create(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct gcprun *g = run->priv;
	const struct sub_arg *a = ref->arg;
	struct state_resource *res =
		state_resource_find(run->state, "gcp", "subnetwork", ref->name);
	cJSON *body = cJSON_CreateObject();
	char *name = subnet_name(run, ref->name), *desc = description(run);
	struct buf path = BUF_INIT, what = BUF_INIT, net = BUF_INIT;
	const char *cidr = res && resource_attr(res, "cidr")
				   ? resource_attr(res, "cidr")
				   : a->cidr;
	int rc;

	buf_addf(&path, "regions/%s/subnetworks", ref->name);
	buf_addf(&what, "subnetworks.insert %s", name);
	buf_addf(&net, "projects/%s/global/networks/%s", g->c->project,
		 g->network);
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddStringToObject(body, "description", desc);
	cJSON_AddStringToObject(body, "network", net.data);
	cJSON_AddStringToObject(body, "ipCidrRange", cidr);
	rc = gcp_mutate(g->c, "POST", path.data, ref->key, body, what.data,
			err);
	if (!rc)
		*id = name;
	else
		free(name);
	cJSON_Delete(body);
	free(desc);
	buf_free(&path);
	buf_free(&what);
	buf_free(&net);
	return rc;
}

static void sub_attributes(struct provider_run *run,
			   const struct resource_ref *ref,
			   struct state_resource *res)
{
	const struct sub_arg *a = ref->arg;

	(void)run;
	resource_set_attr(res, "region", ref->name);
	if (a && !resource_attr(res, "cidr"))
		resource_set_attr(res, "cidr", a->cidr);
}

static const struct resource_kind gcp_sub = {
	.kind = "subnetwork",
	.find_by_id = sub_by_id,
	.find_by_tags = sub_by_name,
	.create = sub_create,
	.attributes = sub_attributes,
};

/* The first 10.N.0.0/20 no recorded subnetwork holds. */
static void free_cidr(struct provider_run *run, char *out, size_t size)
{
	for (int n = FIRST_NET; n < 256; n++) {
		bool used = false;

		snprintf(out, size, "10.%d.0.0/20", n);
		for (size_t i = 0; !used && i < run->state->nr_resources; i++) {
			const struct state_resource *r =
				&run->state->resources[i];
			const char *c = resource_attr(r, "cidr");

			used = !strcmp(r->provider, "gcp") &&
			       !strcmp(r->kind, "subnetwork") && c &&
			       !strcmp(c, out);
		}
		if (!used)
			return;
	}
}

static int own_network(struct provider_run *run, struct gcprun *g,
		       struct error *err)
{
	char *id = NULL;
	int rc;

	if (g->network)
		return 0;
	rc = resource_ensure(run, &gcp_net, "network", NULL, NULL, &id, NULL,
			     err);
	if (!rc) {
		g->network = id;
		g->own_network = true;
	}
	return rc;
}

int gcp_network_up(struct provider_run *run, struct gcprun *g,
		   struct error *err)
{
	int rc = g->network		    ? 0
		 : gcp_conf(run, "network") ? existing_network(run, g, err)
					    : own_network(run, g, err);

	for (size_t i = 0; !rc && i < g->nr_regions; i++) {
		struct gcp_region *rg = &g->regions[i];
		struct sub_arg a = { rg->name, "" };
		char *id = NULL;

		if (rg->subnet || g->auto_subnets)
			continue;
		if (gcp_conf(run, "network")) {
			rc = existing_subnet(run, g, rg, err);
			continue;
		}
		free_cidr(run, a.cidr, sizeof(a.cidr));
		rc = resource_ensure(run, &gcp_sub, rg->name, NULL, &a, &id,
				     NULL, err);
		if (!rc) {
			struct buf link = BUF_INIT;

			buf_addf(&link, "projects/%s/regions/%s/subnetworks/%s",
				 g->c->project, rg->name, id);
			rg->subnet = buf_release(&link);
		}
		free(id);
	}
	return rc;
}

void gcp_network_plan(struct provider_run *run, struct buf *dry)
{
	const struct state_resource *r;
	char *name;

	if (gcp_conf(run, "network"))
		return;
	r = state_resource_find(run->state, "gcp", "network", "network");
	if (!r || !r->id) {
		name = network_name(run);
		buf_addf(dry, "+ gcp network %s\n", name);
		free(name);
	}
	for (size_t i = 0; i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];
		const char *region = gcp_role_region(run, role);
		bool dup = false;

		if (!gcp_role_is_ours(role) || !region)
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= gcp_role_is_ours(&run->t->roles[k]) &&
			       gcp_role_region(run, &run->t->roles[k]) &&
			       !strcmp(gcp_role_region(run, &run->t->roles[k]),
				       region);
		r = state_resource_find(run->state, "gcp", "subnetwork",
					region);
		if (dup || (r && r->id))
			continue;
		name = subnet_name(run, region);
		buf_addf(dry, "+ gcp subnetwork %s (%s)\n", name, region);
		free(name);
	}
}

/* The subnetworks recorded (a pending one by its name), then the network
 * deploy made. */
int gcp_network_down(struct provider_run *run, struct gcprun *g,
		     struct error *err)
{
	int rc = 0;

	for (size_t pass = 0; pass < 2; pass++) {
		const char *kind = pass ? "network" : "subnetwork";

		for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
			struct state_resource *r = &run->state->resources[i];
			char *name = xstrdup(r->name);
			char *fallback = pass ? network_name(run)
					      : subnet_name(run, r->name);
			struct buf path = BUF_INIT, what = BUF_INIT;
			const char *id = r->id ? r->id : fallback;

			if (strcmp(r->provider, "gcp") ||
			    strcmp(r->kind, kind)) {
				free(name);
				free(fallback);
				continue;
			}
			if (pass)
				buf_addf(&path, "global/networks/%s", id);
			else
				buf_addf(&path, "regions/%s/subnetworks/%s",
					 name, id);
			buf_addf(&what, "%ss.delete %s", kind, id);
			rc = resource_deleting(run, kind, name, err);
			if (!rc)
				rc = gcp_delete(run, g->c, path.data, what.data,
						err);
			if (!rc)
				rc = resource_forget(run, kind, name, err);
			buf_free(&path);
			buf_free(&what);
			free(name);
			free(fallback);
			i = (size_t)-1; /* the records moved: from the start */
		}
	}
	return rc;
}
