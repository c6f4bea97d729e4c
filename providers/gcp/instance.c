/* SPDX-License-Identifier: MIT */
/* GCP instances: data disks, static addresses, the instances themselves. */

/* The requestId is recorded before each insert; operations are waited for,
 * then one list a round until the instances run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gcp/gcp-internal.h"
#include "providers/wait.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WAIT_RUNNING_S	  600
#define DEFAULT_BOOT_GB	  20
#define DEFAULT_DISK_TYPE "pd-balanced"
#define MAX_USER_DATA	  (256u << 10)

struct host_arg {
	const struct host *host;
	const char *zone;
	const char *region;
	const char *nat_ip; /* the static address, or NULL */
	const char *disk;   /* the data disk's name, or NULL */
};

static char *instance_name(const struct provider_run *run, const char *host)
{
	return gcp_name(run->t->name, host, NULL);
}

static char *disk_name(const struct provider_run *run, const char *host)
{
	return gcp_name(run->t->name, host, "data");
}

static const char *zone_of(const struct resource_ref *ref,
			   const struct provider_run *run)
{
	const struct host_arg *a = ref->arg;
	const struct state_resource *r;

	if (a)
		return a->zone;
	r = state_resource_find(run->state, "gcp", ref->kind, ref->name);
	return r ? resource_attr(r, "zone") : NULL;
}

static void zone_attributes(struct provider_run *run,
			    const struct resource_ref *ref,
			    struct state_resource *res)
{
	const struct host_arg *a = ref->arg;

	(void)run;
	if (a && a->zone)
		resource_set_attr(res, "zone", a->zone);
	if (a && a->region)
		resource_set_attr(res, "region", a->region);
}

/* A find_by_id hook's answer for what lives at SCOPE/WHERE/COLLECTION/NAME
 * (scope "zones" or "regions"): it exists, or its insert still runs. */
static int scoped_exists(struct provider_run *run,
			 const struct resource_ref *ref, const char *scope,
			 const char *where, const char *collection,
			 const char *name, bool *exists, struct error *err)
{
	struct buf path = BUF_INIT, at = BUF_INIT, what = BUF_INIT;
	int rc;

	buf_addf(&at, "%s/%s", scope, where);
	buf_addf(&path, "%s/%s/%s", at.data, collection, name);
	buf_addf(&what, "%s.get", collection);
	rc = gcp_exists_or_running(run, ref, at.data, path.data, what.data,
				   exists, err);
	buf_free(&path);
	buf_free(&at);
	buf_free(&what);
	return rc;
}

/* A find_by_tags hook's answer: *id is name (handed over) when the
 * lookup worked and found it; else name is freed. */
static int found_name(int rc, bool exists, char *name, char **id)
{
	*id = !rc && exists ? name : NULL;
	if (!*id)
		free(name);
	return rc;
}

/* --- data disks ---------------------------------------------------------- */

static int disk_get(struct provider_run *run, const char *zone,
		    const char *name, bool *exists, struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "zones/%s/disks/%s", zone, name);
	rc = gcp_get(g->c, path.data, "disks.get", exists, NULL, err);
	buf_free(&path);
	return rc;
}

static int disk_by_id(struct provider_run *run, const struct resource_ref *ref,
		      bool *exists, struct error *err)
{
	return scoped_exists(run, ref, "zones", zone_of(ref, run), "disks",
			     ref->id, exists, err);
}

static int disk_by_name(struct provider_run *run,
			const struct resource_ref *ref, char **id,
			struct error *err)
{
	char *name = disk_name(run, ref->name);
	bool exists = false;
	int rc = disk_get(run, zone_of(ref, run), name, &exists, err);

	*id = !rc && exists ? name : NULL;
	if (!*id)
		free(name);
	return rc;
}

static int disk_insert(struct provider_run *run, const struct resource_ref *ref,
		       struct gcp_insert_of *o, struct error *err)
{
	const struct host_arg *a = ref->arg;
	const struct role *role = a->host->role;
	struct gcprun *g = run->priv;
	struct buf type = BUF_INIT;
	char size[24];

	(void)err;
	o->name = disk_name(run, ref->name);
	o->body = cJSON_CreateObject();
	buf_addf(&o->path, "zones/%s/disks", a->zone);
	buf_addf(&o->what, "disks.insert %s", ref->name);
	buf_addf(&type, "projects/%s/zones/%s/diskTypes/%s", g->c->project,
		 a->zone,
		 role->disk_type ? role->disk_type : DEFAULT_DISK_TYPE);
	snprintf(size, sizeof(size), "%d", role->disk_size);
	cJSON_AddStringToObject(o->body, "name", o->name);
	cJSON_AddStringToObject(o->body, "sizeGb", size);
	cJSON_AddStringToObject(o->body, "type", type.data);
	gcp_add_labels(run, o->body, role->name, ref->name);
	buf_free(&type);
	return 0;
}

static int disk_create_many(struct provider_run *run,
			    const struct resource_ref *const *refs, size_t n,
			    char **ids, struct error *err)
{
	return gcp_inserts(run, refs, n, disk_insert, ids, err);
}

static int disk_create(struct provider_run *run, const struct resource_ref *ref,
		       char **id, struct error *err)
{
	return disk_create_many(run, &ref, 1, id, err);
}

static const struct resource_kind gcp_disk = {
	.kind = "disk",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = disk_by_id,
	.find_by_tags = disk_by_name,
	.create = disk_create,
	.create_many = disk_create_many,
	.attributes = zone_attributes,
};

/* --- static addresses ---------------------------------------------------- */

static int address_get(struct provider_run *run, const char *region,
		       const char *name, bool *exists, char **ip,
		       struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	int rc;

	buf_addf(&path, "regions/%s/addresses/%s", region, name);
	rc = gcp_get(g->c, path.data, "addresses.get", exists, &doc, err);
	buf_free(&path);
	if (ip)
		*ip = !rc && *exists && gcp_json_str(doc, "address")
			      ? xstrdup(gcp_json_str(doc, "address"))
			      : NULL;
	cJSON_Delete(doc);
	return rc;
}

static const char *region_of(const struct resource_ref *ref,
			     const struct provider_run *run)
{
	const struct host_arg *a = ref->arg;
	const struct state_resource *r;

	if (a)
		return a->region;
	r = state_resource_find(run->state, "gcp", ref->kind, ref->name);
	return r ? resource_attr(r, "region") : NULL;
}

static int address_by_id(struct provider_run *run,
			 const struct resource_ref *ref, bool *exists,
			 struct error *err)
{
	return scoped_exists(run, ref, "regions", region_of(ref, run),
			     "addresses", ref->id, exists, err);
}

static int address_by_name(struct provider_run *run,
			   const struct resource_ref *ref, char **id,
			   struct error *err)
{
	char *name = instance_name(run, ref->name);
	bool exists = false;
	int rc =
		address_get(run, region_of(ref, run), name, &exists, NULL, err);

	return found_name(rc, exists, name, id);
}

static int address_insert(struct provider_run *run,
			  const struct resource_ref *ref,
			  struct gcp_insert_of *o, struct error *err)
{
	const struct host_arg *a = ref->arg;

	(void)err;
	o->name = instance_name(run, ref->name);
	o->body = cJSON_CreateObject();
	buf_addf(&o->path, "regions/%s/addresses", a->region);
	buf_addf(&o->what, "addresses.insert %s", ref->name);
	cJSON_AddStringToObject(o->body, "name", o->name);
	cJSON_AddStringToObject(o->body, "addressType", "EXTERNAL");
	gcp_add_labels(run, o->body, a->host->role->name, ref->name);
	return 0;
}

static int address_create_many(struct provider_run *run,
			       const struct resource_ref *const *refs, size_t n,
			       char **ids, struct error *err)
{
	return gcp_inserts(run, refs, n, address_insert, ids, err);
}

static int address_create(struct provider_run *run,
			  const struct resource_ref *ref, char **id,
			  struct error *err)
{
	return address_create_many(run, &ref, 1, id, err);
}

static const struct resource_kind gcp_address = {
	.kind = "address",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = address_by_id,
	.find_by_tags = address_by_name,
	.create = address_create,
	.create_many = address_create_many,
	.attributes = zone_attributes,
};

/* The IP of the host's static address (made, its operation done), read
 * once and recorded; in *ip (malloc'd). */
static int static_address(struct provider_run *run, struct host_arg *a,
			  char **ip, struct error *err)
{
	struct state_resource *res = state_resource_find(
		run->state, "gcp", "address", a->host->name);
	char *id = res && res->id ? xstrdup(res->id) : NULL;
	bool exists;
	int rc = 0;

	*ip = NULL;
	if (res && resource_attr(res, "ip")) {
		*ip = xstrdup(resource_attr(res, "ip"));
	} else if (res && id) {
		rc = address_get(run, a->region, id, &exists, ip, err);
		if (!rc && !*ip)
			rc = error_set(err, DEPLOY_ERR_REMOTE, NULL, 0, 0,
				       "gcp address '%s' has no IP", id);
		res = rc ? NULL
			 : state_resource_find(run->state, "gcp", "address",
					       a->host->name);
		if (res) {
			resource_set_attr(res, "ip", *ip);
			rc = run->save(run, err);
		}
	}
	free(id);
	return rc;
}

/* --- instances ----------------------------------------------------------- */

static int instance_get(struct provider_run *run, const char *zone,
			const char *name, bool *exists, cJSON **doc,
			struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "zones/%s/instances/%s", zone, name);
	rc = gcp_get(g->c, path.data, "instances.get", exists, doc, err);
	buf_free(&path);
	return rc;
}

static int instance_by_id(struct provider_run *run,
			  const struct resource_ref *ref, bool *exists,
			  struct error *err)
{
	const struct state_resource *r =
		state_resource_find(run->state, "gcp", "host", ref->name);
	const char *zone = r ? resource_attr(r, "zone") : NULL;
	char *name = instance_name(run, ref->name);
	struct gcprun *g = run->priv;
	int rc = 0;

	*exists = false;
	if (zone && g->listed_valid) {
		struct buf key = BUF_INIT;

		buf_addf(&key, "%s/%s", zone, name);
		*exists = gcp_strings_have(g->listed, g->nr_listed, key.data);
		buf_free(&key);
	}
	if (zone && !*exists) /* gone, or its labels changed: ask */
		rc = scoped_exists(run, ref, "zones", zone, "instances", name,
				   exists, err);
	free(name);
	return rc;
}

/* An instance of this topology with the host's name (a pending record, a
 * lost state). */
static int instance_by_name(struct provider_run *run,
			    const struct resource_ref *ref, char **id,
			    struct error *err)
{
	const char *zone = zone_of(ref, run);
	struct gcprun *g = run->priv;
	char *name = instance_name(run, ref->name), *want;
	const char *topo, *iid;
	cJSON *doc = NULL;
	bool exists = false;
	int rc;

	*id = NULL;
	if (zone && g->listed_valid) {
		struct buf key = BUF_INIT;
		bool listed;

		buf_addf(&key, "%s/%s", zone, name);
		listed = gcp_strings_have(g->listed, g->nr_listed, key.data);
		buf_free(&key);
		if (!listed) { /* not there when the plan listed them */
			free(name);
			return 0;
		}
	}
	rc = zone ? instance_get(run, zone, name, &exists, &doc, err) : 0;
	topo = gcp_json_str(cJSON_GetObjectItemCaseSensitive(doc, "labels"),
			    "deploy-topology");
	want = gcp_label(run->t->name);
	iid = gcp_json_str(doc, "id");
	if (!rc && exists && topo && !strcmp(topo, want))
		*id = xstrdup(iid ? iid : name);
	free(want);
	free(name);
	cJSON_Delete(doc);
	return rc;
}

static int add_user_data(struct provider_run *run, const struct role *role,
			 cJSON *items, struct error *err)
{
	struct buf text;
	cJSON *it;
	int rc;

	if (!role->user_data)
		return 0;
	buf_init(&text, MAX_USER_DATA);
	rc = buf_read_file(&text, role->user_data);
	if (rc) {
		rc = error_set(
			err, rc, run->t->file, role->user_data_node->line,
			role->user_data_node->col,
			"role '%s': user_data '%s': %s", role->name,
			role->user_data,
			rc == DEPLOY_ERR_TOO_BIG ? "larger than GCP's 256 KiB"
						 : "cannot be read");
	} else {
		it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "key", "startup-script");
		cJSON_AddStringToObject(it, "value", text.data);
		cJSON_AddItemToArray(items, it);
	}
	buf_free(&text);
	return rc;
}

/* "USER:KEY" for each of the operator's key lines. */
static char *ssh_keys(const struct provider_run *run)
{
	const char *user =
		run->t->ssh.user ? run->t->ssh.user : DEFAULT_SSH_USER;
	const char *k = run->authorized_keys ? run->authorized_keys : "";
	struct buf b = BUF_INIT;

	while (*k) {
		size_t n = strcspn(k, "\n");

		if (n)
			buf_addf(&b, "%s%s:%.*s", b.len ? "\n" : "", user,
				 (int)n, k);
		k += n + (k[n] == '\n');
	}
	return buf_release(&b);
}

static cJSON *instance_body(struct provider_run *run, const struct host_arg *a,
			    struct error *err, int *rc)
{
	const struct role *role = a->host->role;
	struct gcprun *g = run->priv;
	cJSON *body = cJSON_CreateObject(), *tags, *disks, *d, *ip, *nics, *nic,
	      *acs, *ac, *md, *items, *it;
	char *name = instance_name(run, a->host->name);
	char *tag = gcp_role_tag(run, role->name), *keys = ssh_keys(run);
	const struct ynode *boot = ynode_get(run->config, "boot_disk_size");
	struct buf mt = BUF_INIT, link = BUF_INIT;
	char size[24];

	buf_addf(&mt, "zones/%s/machineTypes/%s", a->zone, gcp_size(role));
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddStringToObject(body, "machineType", mt.data);
	gcp_add_labels(run, body, role->name, a->host->name);
	tags = cJSON_AddObjectToObject(body, "tags");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(tags, "items"),
			     cJSON_CreateString(tag));
	disks = cJSON_AddArrayToObject(body, "disks");
	d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "boot", true);
	cJSON_AddBoolToObject(d, "autoDelete", true);
	ip = cJSON_AddObjectToObject(d, "initializeParams");
	cJSON_AddStringToObject(ip, "sourceImage", gcp_image(role));
	if (boot && boot->value)
		snprintf(size, sizeof(size), "%s", boot->value);
	else
		snprintf(size, sizeof(size), "%d", DEFAULT_BOOT_GB);
	cJSON_AddStringToObject(ip, "diskSizeGb", size);
	cJSON_AddItemToArray(disks, d);
	if (a->disk) {
		d = cJSON_CreateObject();
		buf_addf(&link, "projects/%s/zones/%s/disks/%s", g->c->project,
			 a->zone, a->disk);
		cJSON_AddStringToObject(d, "source", link.data);
		cJSON_AddStringToObject(d, "deviceName", "data");
		cJSON_AddBoolToObject(d, "autoDelete", false);
		cJSON_AddItemToArray(disks, d);
		buf_reset(&link);
	}
	nics = cJSON_AddArrayToObject(body, "networkInterfaces");
	nic = cJSON_CreateObject();
	if (gcp_region_of(g, a->region) &&
	    gcp_region_of(g, a->region)->subnet) {
		cJSON_AddStringToObject(nic, "subnetwork",
					gcp_region_of(g, a->region)->subnet);
	} else {
		buf_addf(&link, "projects/%s/global/networks/%s", g->c->project,
			 g->network);
		cJSON_AddStringToObject(nic, "network", link.data);
	}
	acs = cJSON_AddArrayToObject(nic, "accessConfigs");
	ac = cJSON_CreateObject();
	cJSON_AddStringToObject(ac, "name", "External NAT");
	cJSON_AddStringToObject(ac, "type", "ONE_TO_ONE_NAT");
	if (a->nat_ip)
		cJSON_AddStringToObject(ac, "natIP", a->nat_ip);
	cJSON_AddItemToArray(acs, ac);
	cJSON_AddItemToArray(nics, nic);
	md = cJSON_AddObjectToObject(body, "metadata");
	items = cJSON_AddArrayToObject(md, "items");
	it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "key", "ssh-keys");
	cJSON_AddStringToObject(it, "value", keys);
	cJSON_AddItemToArray(items, it);
	*rc = add_user_data(run, role, items, err);
	free(name);
	free(tag);
	free(keys);
	buf_free(&mt);
	buf_free(&link);
	return body;
}

static int instance_insert(struct provider_run *run,
			   const struct resource_ref *ref,
			   struct gcp_insert_of *o, struct error *err)
{
	const struct host_arg *a = ref->arg;
	int rc;

	o->name = instance_name(run, ref->name);
	o->body = instance_body(run, a, err, &rc);
	o->id_from_op = true;
	buf_addf(&o->path, "zones/%s/instances", a->zone);
	buf_addf(&o->what, "instances.insert %s", ref->name);
	return rc;
}

/* The instances refs[] at once (their inserts in flight together). */
static int instance_create_many(struct provider_run *run,
				const struct resource_ref *const *refs,
				size_t n, char **ids, struct error *err)
{
	return gcp_inserts(run, refs, n, instance_insert, ids, err);
}

static int instance_create(struct provider_run *run,
			   const struct resource_ref *ref, char **id,
			   struct error *err)
{
	return instance_create_many(run, &ref, 1, id, err);
}

static const struct resource_kind gcp_instance = {
	.kind = "host",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = instance_by_id,
	.find_by_tags = instance_by_name,
	.create = instance_create,
	.create_many = instance_create_many,
	.attributes = zone_attributes,
};

int gcp_instance_exists(struct provider_run *run,
			const struct state_resource *r, bool *exists,
			struct error *err)
{
	struct resource_ref ref = { r->kind, r->name, r->role,
				    r->key,  r->id,   NULL };
	struct gcprun *g;
	int rc = gcp_run(run, &g, err);

	*exists = false;
	return rc ? rc : instance_by_id(run, &ref, exists, err);
}

/* --- waiting ------------------------------------------------------------- */

/* The insert operations recorded with the hosts' resources of kind
 * (coll: "instances", "disks", "addresses"), waited for at once (they run
 * at the same time at Google); the first error is the run's, after all
 * were waited for. */
static int wait_ops(struct provider_run *run, struct gcprun *g,
		    const char *kind, const char *coll,
		    struct host *const *hosts, size_t nr, struct error *err)
{
	const char *scope = strcmp(kind, "address") ? "zone" : "region";
	struct gcp_op *v = xcalloc(nr + 1, sizeof(*v));
	struct buf *what = xcalloc(nr + 1, sizeof(*what));
	size_t *which = xcalloc(nr + 1, sizeof(*which));
	size_t n = 0;
	int first = 0, fatal = 0;

	for (size_t i = 0; i < nr; i++) {
		struct state_resource *res = state_resource_find(
			run->state, "gcp", kind, hosts[i]->name);
		cJSON *op;

		if (!res || !resource_attr(res, "operation") ||
		    !resource_attr(res, scope))
			continue;
		op = cJSON_CreateObject();
		cJSON_AddStringToObject(op, "name",
					resource_attr(res, "operation"));
		cJSON_AddStringToObject(op, scope, resource_attr(res, scope));
		buf_init(&what[n], 0);
		buf_addf(&what[n], "%s.insert %s", coll, hosts[i]->name);
		v[n].op = op;
		v[n].what = what[n].data;
		which[n++] = i;
	}
	if (n)
		gcp_wait_many(g->c, v, n);
	for (size_t k = 0; k < n; k++) {
		int rc = v[k].rc;

		if (rc == DEPLOY_ERR_INTERRUPTED || rc == DEPLOY_ERR_TIMEOUT ||
		    rc == DEPLOY_ERR_UNREACHABLE) {
			/* Not known to be done: waited for again next run. */
			if (!fatal) {
				fatal = rc;
				error_set(err, rc, NULL, 0, 0, "%s",
					  v[k].err.msg);
			}
		} else {
			/* Done: with its resource, or with the reason it
			 * has none (then the next run makes it anew). */
			struct state_resource *res = state_resource_find(
				run->state, "gcp", kind, hosts[which[k]]->name);

			if (res)
				resource_set_attr(res, "operation", NULL);
			if (rc && !first && !fatal) {
				first = rc;
				error_set(err, rc, NULL, 0, 0, "%s",
					  v[k].err.msg);
			}
		}
		error_clear(&v[k].err);
		cJSON_Delete(v[k].done);
		cJSON_Delete((cJSON *)v[k].op);
		buf_free(&what[k]);
	}
	free(v);
	free(what);
	free(which);
	return resource_save_after(run, fatal ? fatal : first, err);
}

struct wait {
	struct provider_run *run;
	struct host *const *hosts;
	char **names;
	const char **zones;
	size_t nr;
	bool *done;
	bool *seen;
};

static int each_scoped(const cJSON *scope, void *ud);

struct scoped {
	int (*fn)(const cJSON *inst, void *ud);
	void *ud;
};

static int each_scoped(const cJSON *scope, void *ud)
{
	struct scoped *s = ud;
	const cJSON *it;
	int rc = 0;

	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(scope, "instances"))
	{
		rc = s->fn(it, s->ud);
		if (rc)
			break;
	}
	return rc;
}

int gcp_instances_list(struct provider_run *run, struct gcprun *g,
		       int (*fn)(const cJSON *inst, void *ud), void *ud,
		       struct error *err)
{
	struct scoped s = { fn, ud };
	char *filter = gcp_topology_filter(run);
	int rc = gcp_list(g->c, "aggregated/instances", filter, each_scoped, &s,
			  "instances.aggregatedList", err);

	free(filter);
	return rc;
}

static void nic_addresses(const cJSON *inst, const char **pub,
			  const char **priv)
{
	const cJSON *nic = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(inst, "networkInterfaces"), 0);
	const cJSON *ac = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(nic, "accessConfigs"), 0);

	*priv = gcp_json_str(nic, "networkIP");
	*pub = gcp_json_str(ac, "natIP");
}

static int note_instance(const cJSON *inst, void *ud)
{
	struct wait *w = ud;
	const char *name = gcp_json_str(inst, "name");
	const char *status = gcp_json_str(inst, "status");
	char zone[128];

	gcp_basename(gcp_json_str(inst, "zone"), zone, sizeof(zone));
	for (size_t i = 0; name && i < w->nr; i++) {
		const char *pub, *priv;
		struct state_host *sh;

		if (w->done[i] || strcmp(w->names[i], name) ||
		    strcmp(w->zones[i], zone))
			continue;
		w->seen[i] = true;
		nic_addresses(inst, &pub, &priv);
		if (!status || strcmp(status, "RUNNING") || !pub)
			break;
		sh = state_host_get(w->run->state, w->hosts[i]->name, true);
		state_host_set(&sh->address, pub);
		state_host_set(&sh->private_address, priv ? priv : pub);
		sh->port = w->hosts[i]->port ? w->hosts[i]->port : 22;
		w->done[i] = true;
		break;
	}
	return 0;
}

/* One aggregatedList (by the topology's label) for all of them. */
static int list_round(struct provider_run *run, void *ud, bool *done,
		      bool *seen, struct error *err)
{
	struct wait *w = ud;

	w->done = done;
	w->seen = seen;
	return gcp_instances_list(run, run->priv, note_instance, w, err);
}

/* Until every host's instance runs with its addresses recorded: one
 * aggregatedList call a round for all of them (provider_wait_hosts()). */
static int wait_running(struct provider_run *run, struct gcprun *g,
			struct host *const *hosts, size_t nr, struct error *err)
{
	struct wait w = { run,
			  hosts,
			  xcalloc(nr + 1, sizeof(char *)),
			  xcalloc(nr + 1, sizeof(char *)),
			  nr,
			  NULL,
			  NULL };
	struct host_wait hw = {
		.noun = "gcp instance",
		.provider = "gcp",
		.state = "running",
		.gone_why = "after its insert was done (deleted meanwhile?)",
		.max_missing = 3,
		.deadline_s = WAIT_RUNNING_S,
		.round = list_round,
		.ud = &w,
	};
	int rc;

	(void)g;
	for (size_t i = 0; i < nr; i++) {
		const struct state_resource *r = state_resource_find(
			run->state, "gcp", "host", hosts[i]->name);

		w.names[i] = instance_name(run, hosts[i]->name);
		w.zones[i] = r && resource_attr(r, "zone")
				     ? xstrdup(resource_attr(r, "zone"))
				     : xstrdup("");
	}
	rc = provider_wait_hosts(run, hosts, nr, &hw, err);
	for (size_t i = 0; i < nr; i++) {
		free(w.names[i]);
		free((char *)w.zones[i]);
	}
	free(w.names);
	free(w.zones);
	return rc;
}

/* --- hosts_up ------------------------------------------------------------ */

/* A host whose instance was made before keeps its zone. */
static char *host_zone(struct provider_run *run, const struct host *h)
{
	const struct state_resource *r =
		state_resource_find(run->state, "gcp", "host", h->name);
	const char *z = r ? resource_attr(r, "zone") : NULL;

	return xstrdup(z ? z : gcp_host_zone(run, h));
}

/* Each host's resources of kind k (when want says so) made or kept, their
 * inserts sent at once (resource_ensure_many()) and not waited for here. */
static int ensure_all(struct provider_run *run, const struct resource_kind *k,
		      struct host_arg *a, struct host *const *hosts, size_t nr,
		      bool (*want)(const struct role *), struct error *err)
{
	struct resource_want *w = xcalloc(nr + 1, sizeof(*w));
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < nr; i++) {
		if (want && !want(hosts[i]->role))
			continue;
		w[n].name = hosts[i]->name;
		w[n].role = hosts[i]->role->name;
		w[n++].arg = &a[i];
	}
	if (n)
		rc = resource_ensure_many(run, k, w, n, err);
	for (size_t i = 0; i < n; i++)
		free(w[i].id);
	free(w);
	return rc;
}

static bool wants_disk(const struct role *role)
{
	return role->disk_size > 0;
}

static bool wants_address(const struct role *role)
{
	return role->static_ip;
}

/* Every host's disk and static address first (their operations waited
 * for together), then the instances that use them, then the wait until
 * they run. */
int gcp_instances_up(struct provider_run *run, struct gcprun *g,
		     struct host *const *hosts, size_t nr, struct error *err)
{
	struct host_arg *a = xcalloc(nr + 1, sizeof(*a));
	char **zones = xcalloc(nr + 1, sizeof(char *));
	char **ips = xcalloc(nr + 1, sizeof(char *));
	char **disks = xcalloc(nr + 1, sizeof(char *));
	int rc;

	for (size_t i = 0; i < nr; i++) {
		zones[i] = host_zone(run, hosts[i]);
		a[i].host = hosts[i];
		a[i].zone = zones[i];
		a[i].region = gcp_role_region(run, hosts[i]->role);
	}
	rc = ensure_all(run, &gcp_disk, a, hosts, nr, wants_disk, err);
	if (!rc)
		rc = ensure_all(run, &gcp_address, a, hosts, nr, wants_address,
				err);
	if (!rc)
		rc = wait_ops(run, g, "disk", "disks", hosts, nr, err);
	if (!rc)
		rc = wait_ops(run, g, "address", "addresses", hosts, nr, err);
	for (size_t i = 0; !rc && i < nr; i++) {
		const struct state_resource *d = state_resource_find(
			run->state, "gcp", "disk", hosts[i]->name);

		if (hosts[i]->role->disk_size && d && d->id)
			a[i].disk = disks[i] = xstrdup(d->id);
		if (hosts[i]->role->static_ip)
			rc = static_address(run, &a[i], &ips[i], err);
		a[i].nat_ip = ips[i];
	}
	if (!rc)
		rc = ensure_all(run, &gcp_instance, a, hosts, nr, NULL, err);
	if (!rc)
		rc = wait_ops(run, g, "host", "instances", hosts, nr, err);
	if (!rc)
		rc = wait_running(run, g, hosts, nr, err);
	for (size_t i = 0; i < nr; i++) {
		free(zones[i]);
		free(ips[i]);
		free(disks[i]);
	}
	free(zones);
	free(ips);
	free(disks);
	free(a);
	return rc;
}
