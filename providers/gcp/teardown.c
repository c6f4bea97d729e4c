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

/* The instance deletes sent by this run, waited for at once. */
int gcp_wait_deletes(struct gcprun *g, struct error *err)
{
	struct gcp_op *v = xcalloc(g->nr_deletes + 1, sizeof(*v));
	int rc;

	for (size_t i = 0; i < g->nr_deletes; i++) {
		char *slash = strchr(g->deletes[i], '/');
		cJSON *op = cJSON_CreateObject();

		*slash = '\0';
		cJSON_AddStringToObject(op, "zone", g->deletes[i]);
		cJSON_AddStringToObject(op, "name", slash + 1);
		*slash = '/';
		v[i].op = op;
		v[i].what = "instances.delete";
	}
	rc = g->nr_deletes ? gcp_wait_many(g->c, v, g->nr_deletes) : 0;
	for (size_t i = 0; i < g->nr_deletes; i++) {
		if (v[i].rc && v[i].rc == rc && !err->code)
			error_set(err, rc, NULL, 0, 0, "%s", v[i].err.msg);
		error_clear(&v[i].err);
		cJSON_Delete(v[i].done);
		cJSON_Delete((cJSON *)v[i].op);
		free(g->deletes[i]);
	}
	free(v);
	g->nr_deletes = 0;
	return rc;
}

/*
 * The hosts names[] at once, each as gcp_destroy() deletes one: each
 * recorded as deleting (one save); the inserts a stopped run left under
 * way waited for; every instance's DELETE in flight together; the
 * deletes of hosts holding an address or a disk waited for (at once), and
 * then those deleted, host by host; the others' waited for by finish_down
 * with the rest, before the firewalls and the network. The hosts whose
 * instance delete was accepted are forgotten (one save), also when
 * another failed.
 */
int gcp_destroy_hosts(struct provider_run *run, const char *const *names,
		      size_t nr, struct error *err)
{
	char **zones = xcalloc(nr + 1, sizeof(*zones));
	struct gcp_op *ins = xcalloc(nr + 1, sizeof(*ins));
	struct gcp_req *del = xcalloc(nr + 1, sizeof(*del));
	struct gcp_op *ops = xcalloc(nr + 1, sizeof(*ops));
	struct buf *paths = xcalloc(nr + 1, sizeof(*paths));
	struct buf *whats = xcalloc(nr + 1, sizeof(*whats));
	struct buf *qs = xcalloc(nr + 1, sizeof(*qs));
	size_t *which = xcalloc(nr + 1, sizeof(*which));
	bool *holds = xcalloc(nr + 1, sizeof(bool));
	bool *gone = xcalloc(nr + 1, sizeof(bool));
	const char **done = xcalloc(nr + 1, sizeof(*done));
	size_t ni = 0, nd = 0, no = 0, nf = 0;
	struct gcprun *g;
	int rc = gcp_run(run, &g, err);

	for (size_t i = 0; !rc && i < nr; i++) {
		const struct state_resource *r = state_resource_find(
			run->state, "gcp", "host", names[i]);

		if (!r)
			continue;
		if (resource_attr(r, "zone"))
			zones[i] = xstrdup(resource_attr(r, "zone"));
		if (zones[i] && resource_attr(r, "operation")) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name",
						resource_attr(r, "operation"));
			cJSON_AddStringToObject(o, "zone", zones[i]);
			ins[ni].op = o;
			ins[ni++].what = "instances.insert";
		}
		holds[i] = state_resource_find(run->state, "gcp", "address",
					       names[i]) ||
			   state_resource_find(run->state, "gcp", "disk",
					       names[i]);
	}
	if (!rc)
		rc = resource_deleting_many(run, "host", names, nr, err);
	/* An insert a stopped run left under way ends first: deleting
	 * before it is done would leave its instance behind. One that
	 * failed made nothing. */
	if (!rc && ni)
		gcp_wait_many(g->c, ins, ni);
	for (size_t k = 0; k < ni; k++) {
		int r = ins[k].rc;

		if (!rc &&
		    (r == DEPLOY_ERR_INTERRUPTED || r == DEPLOY_ERR_TIMEOUT ||
		     r == DEPLOY_ERR_UNREACHABLE))
			rc = error_set(err, r, NULL, 0, 0, "%s",
				       ins[k].err.msg);
		error_clear(&ins[k].err);
		cJSON_Delete(ins[k].done);
		cJSON_Delete((cJSON *)ins[k].op);
	}
	for (size_t i = 0; !rc && i < nr; i++) {
		char rid[37], *iname;

		if (!zones[i]) { /* never asked for at a zone */
			gone[i] = true;
			continue;
		}
		iname = gcp_name(run->t->name, names[i], NULL);
		gcp_uuid(rid);
		buf_init(&paths[nd], 0);
		buf_init(&whats[nd], 0);
		buf_init(&qs[nd], 0);
		buf_addf(&paths[nd], "zones/%s/instances/%s", zones[i], iname);
		buf_addf(&whats[nd], "instances.delete %s", names[i]);
		buf_addf(&qs[nd], "requestId=%s", rid);
		del[nd].method = "DELETE";
		del[nd].path = paths[nd].data;
		del[nd].query = qs[nd].data;
		del[nd].safe = true;
		del[nd].what = whats[nd].data;
		del[nd].answer = true;
		which[nd++] = i;
		free(iname);
	}
	if (!rc && nd)
		gcp_call_many(g->c, del, nd);
	for (size_t k = 0; k < nd; k++) {
		size_t i = which[k];
		const char *opname = gcp_json_str(del[k].out, "name");

		if (del[k].rc == DEPLOY_ERR_NOT_FOUND) {
			gone[i] = true; /* gone already */
		} else if (del[k].rc) {
			if (!rc)
				rc = error_set(err, del[k].rc, NULL, 0, 0, "%s",
					       del[k].err.msg);
		} else if (opname && holds[i]) {
			/* What it holds goes after it: waited for now. */
			ops[no].op = cJSON_Duplicate(del[k].out, true);
			ops[no++].what = del[k].what;
			gone[i] = true;
		} else {
			if (opname) {
				struct buf key = BUF_INIT;

				buf_addf(&key, "%s/%s", zones[i], opname);
				gcp_strings_add(&g->deletes, &g->nr_deletes,
						key.data);
				buf_free(&key);
			}
			gone[i] = true;
		}
		error_clear(&del[k].err);
	}
	if (no)
		gcp_wait_many(g->c, ops, no);
	for (size_t k = 0; k < no; k++) {
		if (ops[k].rc && ops[k].rc != DEPLOY_ERR_NOT_FOUND && !rc)
			rc = error_set(err, ops[k].rc, NULL, 0, 0, "%s",
				       ops[k].err.msg);
		error_clear(&ops[k].err);
		cJSON_Delete(ops[k].done);
		cJSON_Delete((cJSON *)ops[k].op);
	}
	/* Then each host's address and disk; a host goes from the state
	 * once its instance is gone and nothing of it is left. */
	for (size_t i = 0; i < nr; i++) {
		int r = 0;
		struct error e;

		if (!gone[i] || (rc && holds[i]))
			continue;
		error_init(&e);
		if (holds[i])
			r = remove_part(run, g, "address", names[i], &e);
		if (!r && holds[i])
			r = remove_part(run, g, "disk", names[i], &e);
		if (r && !rc)
			rc = error_set(err, r, NULL, 0, 0, "%s", e.msg);
		error_clear(&e);
		if (!r)
			done[nf++] = names[i];
	}
	if (nf) {
		struct error e2;

		error_init(&e2);
		if (resource_forget_many(run, "host", done, nf,
					 rc ? &e2 : err) &&
		    !rc)
			rc = err->code;
		error_clear(&e2);
	}
	for (size_t i = 0; i < nr; i++) {
		free(zones[i]);
		buf_free(&paths[i]);
		buf_free(&whats[i]);
		buf_free(&qs[i]);
		cJSON_Delete(del[i].out);
	}
	free(zones);
	free(ins);
	free(del);
	free(ops);
	free(paths);
	free(whats);
	free(qs);
	free(which);
	free(holds);
	free(gone);
	free(done);
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
