/* SPDX-License-Identifier: MIT */
/* GCP down, in reverse: hosts first, then what they shared. */

/* A host's instance, its static address and its data disk; once no host
 * is left, the firewalls, the subnetworks and the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gcp/gcp-internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* An insert a stopped run left under way ends first: deleting before it
 * is done would leave its instance behind. */
static int finish_insert(struct gcprun *g, const char *zone, const char *op,
			 const char *host, struct error *err)
{
	cJSON *o = cJSON_CreateObject();
	struct buf what = BUF_INIT;
	int rc;

	cJSON_AddStringToObject(o, "name", op);
	cJSON_AddStringToObject(o, "zone", zone);
	buf_addf(&what, "instances.insert %s", host);
	rc = gcp_wait(g->c, o, what.data, NULL, err);
	if (rc && rc != DEPLOY_ERR_INTERRUPTED && rc != DEPLOY_ERR_TIMEOUT &&
	    rc != DEPLOY_ERR_UNREACHABLE) {
		error_clear(err); /* it made nothing: nothing to delete */
		rc = 0;
	}
	cJSON_Delete(o);
	buf_free(&what);
	return rc;
}

/* Delete the record kind/host (recorded in scope "zones/Z" or
 * "regions/R") and forget it; nothing recorded: nothing to do. */
static int remove_part(struct provider_run *run, struct gcprun *g,
		       const char *kind, const char *host, struct error *err)
{
	struct state_resource *r =
		state_resource_find(run->state, "gcp", kind, host);
	bool zonal = !strcmp(kind, "disk");
	const char *where;
	char *name;
	struct buf path = BUF_INIT, what = BUF_INIT;
	int rc;

	if (!r)
		return 0;
	where = resource_attr(r, zonal ? "zone" : "region");
	name = r->id ? xstrdup(r->id)
		     : gcp_name(run->t->name, host, zonal ? "data" : NULL);
	buf_addf(&path, "%s/%s/%s/%s", zonal ? "zones" : "regions",
		 where ? where : "", zonal ? "disks" : "addresses", name);
	buf_addf(&what, "%s.delete %s", zonal ? "disks" : "addresses", host);
	rc = resource_deleting(run, kind, host, err);
	if (!rc && where)
		rc = gcp_delete(run, g->c, path.data, what.data, err);
	if (!rc)
		rc = resource_forget(run, kind, host, err);
	buf_free(&path);
	buf_free(&what);
	free(name);
	return rc;
}

/* DELETE an instance, not waited for: its operation is kept for
 * finish_down (what the instance holds is deleted after it). One already
 * gone is fine. */
static int delete_instance(struct gcprun *g, const char *zone, const char *path,
			   const char *what, struct error *err)
{
	char q[64], rid[37];
	cJSON *op = NULL;
	int rc;

	gcp_uuid(rid);
	snprintf(q, sizeof(q), "requestId=%s", rid);
	rc = gcp_call(g->c, "DELETE", path, q, NULL, true, what, &op, err);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	} else if (!rc && gcp_json_str(op, "name")) {
		struct buf key = BUF_INIT;

		buf_addf(&key, "%s/%s", zone, gcp_json_str(op, "name"));
		gcp_strings_add(&g->deletes, &g->nr_deletes, key.data);
		buf_free(&key);
	}
	cJSON_Delete(op);
	return rc;
}

/* The instance deletes sent by this run, each waited for (they ran at the
 * same time). */
int gcp_wait_deletes(struct gcprun *g, struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < g->nr_deletes; i++) {
		char *slash = strchr(g->deletes[i], '/');
		cJSON *op = cJSON_CreateObject();

		*slash = '\0';
		cJSON_AddStringToObject(op, "zone", g->deletes[i]);
		cJSON_AddStringToObject(op, "name", slash + 1);
		rc = gcp_wait(g->c, op, "instances.delete", NULL, err);
		*slash = '/';
		cJSON_Delete(op);
	}
	for (size_t i = 0; i < g->nr_deletes; i++)
		free(g->deletes[i]);
	g->nr_deletes = 0;
	return rc;
}

int gcp_destroy(struct provider_run *run, struct state_resource *r,
		struct error *err)
{
	char *host = xstrdup(r->name), *zone = NULL, *op = NULL, *iname;
	struct buf path = BUF_INIT, what = BUF_INIT;
	struct gcprun *g;
	int rc;

	if (strcmp(r->kind, "host")) {
		free(host);
		return 0; /* finish_down removes the shared resources */
	}
	if (resource_attr(r, "zone"))
		zone = xstrdup(resource_attr(r, "zone"));
	if (resource_attr(r, "operation"))
		op = xstrdup(resource_attr(r, "operation"));
	iname = gcp_name(run->t->name, host, NULL);
	rc = gcp_run(run, &g, err);
	if (!rc)
		rc = resource_deleting(run, "host", host, err);
	if (!rc && zone && op)
		rc = finish_insert(g, zone, op, host, err);
	if (!rc && zone) {
		/* Waited for now when an address or a disk of the host
		 * follows it; else with the others, before the firewalls. */
		bool holds =
			state_resource_find(run->state, "gcp", "address",
					    host) ||
			state_resource_find(run->state, "gcp", "disk", host);

		buf_addf(&path, "zones/%s/instances/%s", zone, iname);
		buf_addf(&what, "instances.delete %s", host);
		rc = holds ? gcp_delete(run, g->c, path.data, what.data, err)
			   : delete_instance(g, zone, path.data, what.data,
					     err);
	}
	if (!rc)
		rc = remove_part(run, g, "address", host, err);
	if (!rc)
		rc = remove_part(run, g, "disk", host, err);
	if (!rc)
		rc = resource_forget(run, "host", host, err);
	buf_free(&path);
	buf_free(&what);
	free(host);
	free(zone);
	free(op);
	free(iname);
	return rc;
}

/* Once no host is left: addresses and disks a stopped run left, the
 * firewalls, the subnetworks, the network deploy made. */
int gcp_finish_down(struct provider_run *run, struct error *err)
{
	struct gcprun *g;
	int rc = gcp_run(run, &g, err);

	if (!rc)
		rc = gcp_wait_deletes(g, err);
	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		struct state_resource *r = &run->state->resources[i];
		char *host;

		if (strcmp(r->provider, "gcp") ||
		    (strcmp(r->kind, "address") && strcmp(r->kind, "disk")))
			continue;
		host = xstrdup(r->name);
		rc = remove_part(run, g, r->kind, host, err);
		free(host);
		i = (size_t)-1; /* the records moved: from the start */
	}
	if (!rc)
		rc = gcp_firewalls_down(run, g, err);
	if (!rc)
		rc = gcp_network_down(run, g, err);
	return rc;
}
