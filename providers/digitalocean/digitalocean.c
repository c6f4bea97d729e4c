/* SPDX-License-Identifier: MIT */
/* The DigitalOcean provider: the checks before anything is made, and its
 * ops table (up, refresh, down, import, drift). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/digitalocean/do-internal.h"
#include "providers/resource.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DEFAULT_SIZE  "s-1vcpu-1gb"
#define DEFAULT_IMAGE "debian-12-x64"

static const struct key_spec digitalocean_keys[] = {
	{ "region", &vs_string, 0, "each role's region:", "region: fra1" },
	{ "endpoint", &vs_url, 0, "DIGITALOCEAN_API_URL, then the public API",
	  NULL },
	{ "context", &vs_string, 0, "DIGITALOCEAN_CONTEXT, then doctl's",
	  "context: prod" },
	{ "vpc", &vs_string, 0, "a VPC made for the topology per region",
	  "vpc: my-vpc" },
	{ "ip_range", &vs_cidr, 0, "a free /20 DigitalOcean chooses",
	  "ip_range: 10.20.0.0/20" },
	{ 0 },
};

/* The topology's names written as image slugs. */
static const char *const image_aliases[][2] = {
	{ "debian-12", "debian-12-x64" },
	{ "debian-11", "debian-11-x64" },
	{ "ubuntu-24.04", "ubuntu-24-04-x64" },
	{ "ubuntu-22.04", "ubuntu-22-04-x64" },
	{ "ubuntu-20.04", "ubuntu-20-04-x64" },
};

const char *do_conf(const struct provider_run *run, const char *key)
{
	const struct ynode *n = ynode_get(run->config, key);

	return n && n->kind == YNODE_SCALAR && !ynode_is_null(n) && n->len
		       ? n->value
		       : NULL;
}

int do_run(struct provider_run *run, struct dorun **out, struct error *err)
{
	struct dorun *d = run->priv;
	struct do_token tok;
	char *url = NULL;
	int rc;

	if (d && d->api) {
		*out = d;
		return 0;
	}
	rc = do_token_load(do_conf(run, "context"), &tok, err);
	if (rc)
		return rc;
	rc = do_endpoint_resolve(do_conf(run, "endpoint"), &url, err);
	if (!rc) {
		d = xcalloc(1, sizeof(*d));
		rc = do_open(&d->api, url, &tok, err);
		if (rc) {
			free(d);
		} else {
			do_set_stop(d->api, run->stop);
			run->priv = d;
			*out = d;
		}
	}
	do_token_free(&tok);
	free(url);
	return rc;
}

static void do_release(struct provider_run *run)
{
	struct dorun *d = run->priv;

	if (!d)
		return;
	do_close(d->api);
	free(d->key_fp);
	for (size_t i = 0; i < d->nr_vpcs; i++) {
		free(d->vpc_regions[i]);
		free(d->vpc_ids[i]);
	}
	free(d->vpc_regions);
	free(d->vpc_ids);
	for (size_t i = 0; i < d->nr_listed; i++)
		free(d->listed[i]);
	free(d->listed);
	cJSON_Delete(d->seen);
	free(d);
}

/* A tag: letters, digits, ':', '-' and '_' only. */
static char *tag(const char *a, const char *b, const char *c)
{
	struct buf t = BUF_INIT;

	buf_addf(&t, "deploy:%s:%s%s%s", a, b, c ? ":" : "", c ? c : "");
	for (size_t i = 0; i < t.len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789:-_",
			    t.data[i]))
			t.data[i] = '-';
	return buf_release(&t);
}

char *do_topology_tag(const struct provider_run *run)
{
	return tag("topology", run->t->name, NULL);
}

char *do_role_tag(const struct provider_run *run, const char *role)
{
	(void)run;
	return tag("role", role, NULL);
}

char *do_fw_tag(const struct provider_run *run, const char *role)
{
	return tag(run->t->name, role, NULL);
}

bool do_role_is_ours(const struct role *role)
{
	return role->provider == &digitalocean_provider;
}

const char *do_role_region(const struct provider_run *run,
			   const struct role *role)
{
	return role->region ? role->region : do_conf(run, "region");
}

const char *do_role_size(const struct role *role)
{
	return role->size ? role->size : DEFAULT_SIZE;
}

const char *do_role_image(const struct role *role)
{
	if (!role->image)
		return DEFAULT_IMAGE;
	for (size_t i = 0; i < sizeof(image_aliases) / sizeof(*image_aliases);
	     i++)
		if (!strcmp(role->image, image_aliases[i][0]))
			return image_aliases[i][1];
	return role->image;
}

/* --- checks before anything is made ---------------------------------- */

struct slugs {
	char **v;
	size_t nr;
	const char *field; /* "slug" */
};

static int collect_slug(const cJSON *item, void *ud)
{
	struct slugs *s = ud;
	const cJSON *slug = cJSON_GetObjectItemCaseSensitive(item, s->field);

	if (cJSON_IsString(slug) && *slug->valuestring) {
		s->v = xrealloc(s->v, (s->nr + 1) * sizeof(*s->v));
		s->v[s->nr++] = xstrdup(slug->valuestring);
	}
	return 0;
}

static void slugs_free(struct slugs *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->v[i]);
	free(s->v);
}

static bool slug_in(const struct slugs *s, const char *slug)
{
	for (size_t i = 0; i < s->nr; i++)
		if (!strcmp(s->v[i], slug))
			return true;
	return false;
}

/* "role 'x': digitalocean size 'y' does not exist (did you mean 'z'?)" at
 * the role. */
static int bad_slug(const struct provider_run *run, const struct role *role,
		    const char *what, const char *slug, const struct slugs *s,
		    struct error *err)
{
	const char *near = suggest(slug, (const char *const *)s->v, s->nr);
	struct buf some = BUF_INIT;

	for (size_t i = 0; !near && i < s->nr && i < 8; i++)
		buf_addf(&some, "%s%s", i ? ", " : "", s->v[i]);
	error_set(err, DEPLOY_ERR_INVALID, run->t->file, role->node->line,
		  role->node->col,
		  "role '%s': digitalocean has no %s '%s' (%s%s%s%s)",
		  role->name, what, slug,
		  near ? "did you mean '" : "some: ", near ? near : some.data,
		  near ? "'?" : "", !near && s->nr > 8 ? ", ..." : "");
	buf_free(&some);
	return DEPLOY_ERR_INVALID;
}

/* Every role's region, size and image exist, before anything is made;
 * a disk type (DigitalOcean has one kind of volume) is refused here too. */
static int check_roles(struct provider_run *run, struct dorun *d,
		       struct error *err)
{
	struct slugs regions = { NULL, 0, "slug" }, sizes = { NULL, 0, "slug" },
		     images = { NULL, 0, "slug" };
	int rc;

	rc = do_list(d->api, "/v2/regions", "regions", collect_slug, &regions,
		     err);
	if (!rc)
		rc = do_list(d->api, "/v2/sizes", "sizes", collect_slug, &sizes,
			     err);
	if (!rc)
		rc = do_list(d->api, "/v2/images?type=distribution", "images",
			     collect_slug, &images, err);
	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];

		if (!do_role_is_ours(role))
			continue;
		if (!do_role_region(run, role))
			rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
				       role->node->line, role->node->col,
				       "role '%s': no region: set region: "
				       "on the role or in "
				       "providers.digitalocean",
				       role->name);
		else if (!slug_in(&regions, do_role_region(run, role)))
			rc = bad_slug(run, role, "region",
				      do_role_region(run, role), &regions, err);
		else if (!slug_in(&sizes, do_role_size(role)))
			rc = bad_slug(run, role, "size", do_role_size(role),
				      &sizes, err);
		else if (!slug_in(&images, do_role_image(role)))
			rc = bad_slug(run, role, "image", do_role_image(role),
				      &images, err);
		else if (role->disk_size && role->disk_type)
			rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
				       role->node->line, role->node->col,
				       "role '%s': digitalocean volumes have "
				       "no type (disk type '%s'): leave it "
				       "out",
				       role->name, role->disk_type);
	}
	slugs_free(&regions);
	slugs_free(&sizes);
	slugs_free(&images);
	return rc;
}

/* The tags the firewalls name must exist before them. */
static int make_tags(struct provider_run *run, struct dorun *d,
		     struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		cJSON *body;
		char *t;

		if (!do_role_is_ours(&run->t->roles[i]))
			continue;
		t = do_fw_tag(run, run->t->roles[i].name);
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "name", t);
		rc = do_call(d->api, "POST", "/v2/tags", body, DO_SAFE, NULL,
			     NULL, err);
		cJSON_Delete(body);
		free(t);
	}
	return rc;
}

static int prepare(struct provider_run *run, struct dorun **out,
		   struct error *err)
{
	int rc = do_run(run, out, err);

	if (rc || (*out)->checked)
		return rc;
	rc = check_roles(run, *out, err);
	if (!rc)
		rc = make_tags(run, *out, err);
	(*out)->checked = !rc;
	return rc;
}

/* --- the operations --------------------------------------------------- */

static void forget_seen(struct dorun *d)
{
	cJSON_Delete(d->seen);
	d->seen = NULL;
}

static int do_hosts_up(struct provider_run *run, struct host *const *hosts,
		       size_t nr, struct error *err)
{
	bool *fresh = xcalloc(nr + 1, sizeof(bool));
	const char **vpcs = xcalloc(nr + 1, sizeof(*vpcs));
	struct dorun *d;
	int rc = prepare(run, &d, err);

	if (!rc)
		forget_seen(d);
	if (!rc)
		rc = do_ssh_key(run, d, err);
	/* The firewalls before the droplets: a droplet is covered from its
	 * first boot by its role's tag. */
	if (!rc)
		rc = do_firewalls(run, d, NULL, err);
	for (size_t i = 0; !rc && i < nr; i++)
		rc = do_vpc_of(run, d, do_role_region(run, hosts[i]->role),
			       &vpcs[i], err);
	if (!rc)
		rc = do_droplets_ensure(run, hosts, vpcs, nr, fresh, err);
	if (!rc)
		rc = do_wait_active(run, d, hosts, nr, err);
	/* Volumes and reserved IPs once their droplets are active. */
	if (!rc)
		rc = do_hosts_extras(run, d, (const struct host *const *)hosts,
				     fresh, nr, err);
	free(vpcs);
	free(fresh);
	return rc;
}

/* Keeps a listed droplet in d->seen under its id. */
static int keep_seen(const cJSON *item, void *ud)
{
	cJSON *seen = ud;
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));

	if (id && !cJSON_GetObjectItemCaseSensitive(seen, id))
		cJSON_AddItemToObject(seen, id, cJSON_Duplicate(item, true));
	free(id);
	return 0;
}

/* The droplet id as the refresh read it (kept for drift), or NULL when
 * it is gone. The first look-up of a run lists the topology's droplets
 * (one call a page of 200, whatever the number of hosts); a droplet the
 * list lacks (gone, or its tag removed) is asked for by id. */
static int droplet_seen(struct provider_run *run, const char *id,
			const cJSON **out, struct error *err)
{
	struct dorun *d;
	cJSON *doc = NULL, *dr;
	int rc = do_run(run, &d, err);

	*out = NULL;
	if (rc)
		return rc;
	if (!d->seen) {
		struct buf path = BUF_INIT;
		char *t = do_topology_tag(run);

		d->seen = cJSON_CreateObject();
		buf_adds(&path, "/v2/droplets?tag_name=");
		do_query_value(&path, t);
		rc = do_list(d->api, path.data, "droplets", keep_seen, d->seen,
			     err);
		buf_free(&path);
		free(t);
		if (rc) {
			forget_seen(d);
			return rc;
		}
	}
	dr = cJSON_GetObjectItemCaseSensitive(d->seen, id);
	if (dr) {
		*out = cJSON_IsObject(dr) ? dr : NULL;
		return 0;
	}
	rc = do_droplet_get(d, id, &doc, err);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		cJSON_AddNullToObject(d->seen, id);
		return 0;
	}
	if (rc)
		return rc;
	dr = cJSON_DetachItemFromObjectCaseSensitive(doc, "droplet");
	cJSON_Delete(doc);
	if (!cJSON_IsObject(dr)) {
		cJSON_Delete(dr);
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "digitalocean GET /v2/droplets/%s: no "
				 "droplet in the answer",
				 id);
	}
	cJSON_AddItemToObject(d->seen, id, dr);
	*out = dr;
	return 0;
}

static int do_exists(struct provider_run *run, const struct state_resource *r,
		     bool *exists, struct error *err)
{
	const cJSON *dr;
	int rc;

	*exists = false;
	if (strcmp(r->kind, "host") || !r->id)
		return 0;
	rc = droplet_seen(run, r->id, &dr, err);
	*exists = dr != NULL;
	return rc;
}

int do_delete_gone_ok(struct dorun *d, const char *path, struct error *err)
{
	int rc = do_call(d->api, "DELETE", path, NULL, 0, NULL, NULL, err);

	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
	return rc;
}

int do_delete_many(struct dorun *d, const char *coll, char *const *ids,
		   size_t n, bool *gone, struct error *err)
{
	struct do_req *v = xcalloc(n + 1, sizeof(*v));
	struct buf *paths = xcalloc(n + 1, sizeof(*paths));
	size_t *which = xcalloc(n + 1, sizeof(*which));
	size_t nv = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		gone[i] = !ids[i];
		if (!ids[i])
			continue;
		buf_init(&paths[nv], 0);
		buf_addf(&paths[nv], "%s/%s", coll, ids[i]);
		v[nv].method = "DELETE";
		v[nv].path = paths[nv].data;
		which[nv++] = i;
	}
	if (nv)
		do_call_many(d->api, v, nv);
	for (size_t k = 0; k < nv; k++) {
		if (v[k].rc == DEPLOY_ERR_NOT_FOUND)
			v[k].rc = 0; /* gone already */
		if (v[k].rc && !rc)
			rc = error_set(err, v[k].rc, NULL, 0, 0, "%s",
				       v[k].err.msg);
		gone[which[k]] = !v[k].rc;
		error_clear(&v[k].err);
		cJSON_Delete(v[k].out);
		buf_free(&paths[k]);
	}
	free(v);
	free(paths);
	free(which);
	return rc;
}

int do_found(int rc, bool *exists, struct error *err)
{
	*exists = !rc;
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
	return rc;
}

int do_get_exists(struct dorun *d, const char *path, bool *exists,
		  struct error *err)
{
	return do_found(do_call(d->api, "GET", path, NULL, 0, NULL, NULL, err),
			exists, err);
}

static int do_destroy(struct provider_run *run, struct state_resource *r,
		      struct error *err)
{
	struct dorun *d;
	char *name = xstrdup(r->name), *id = r->id ? xstrdup(r->id) : NULL;
	char *key = r->key ? xstrdup(r->key) : NULL;
	/* A run stopped after the droplet went deletes only what is left. */
	bool gone = resource_attr(r, "droplet") &&
		    !strcmp(resource_attr(r, "droplet"), "deleted");
	struct buf path = BUF_INIT;
	int rc = do_run(run, &d, err);

	if (!rc && strcmp(r->kind, "host")) {
		free(name);
		free(id);
		free(key);
		return 0; /* finish_down removes the shared resources */
	}
	/* While the droplet is there: what a stopped run left pending. */
	if (!rc && !gone)
		rc = do_extras_resolve(run, d, name, err);
	if (!rc) {
		forget_seen(d);
		rc = resource_deleting(run, "host", name, err);
	}
	/* A pending record's droplet is found by its tag. */
	if (!rc && !gone && !id && key) {
		struct resource_ref ref = {
			"host", name, NULL, key, NULL, NULL
		};

		rc = do_droplet_by_key(run, &ref, &id, err);
	}
	if (!rc && !gone && id) {
		buf_addf(&path, "/v2/droplets/%s", id);
		rc = do_delete_gone_ok(d, path.data, err);
	}
	if (!rc && !gone) {
		r = state_resource_find(run->state, "digitalocean", "host",
					name);
		if (r)
			resource_set_attr(r, "droplet", "deleted");
		rc = run->save(run, err);
	}
	/* Then its volume and reserved IP; the host's record goes last, so
	 * a run stopped before finds them through it. */
	if (!rc)
		rc = do_extras_delete(run, d, name, err);
	if (!rc)
		rc = resource_forget(run, "host", name, err);
	buf_free(&path);
	free(name);
	free(id);
	free(key);
	return rc;
}

/*
 * The hosts names[] at once, each as do_destroy() deletes one: what a
 * stopped run left pending resolved, each recorded as deleting (one
 * save), every droplet's DELETE in flight together, each droplet deleted
 * recorded (one save, also when another failed), then each host's volume
 * and reserved IP, and the hosts whose droplet went forgotten (one save).
 */
static int do_destroy_hosts(struct provider_run *run, const char *const *names,
			    size_t nr, struct error *err)
{
	char **ids = xcalloc(nr + 1, sizeof(*ids));
	bool *gone = xcalloc(nr + 1, sizeof(bool));
	bool *deleted = xcalloc(nr + 1, sizeof(bool));
	const char **done = xcalloc(nr + 1, sizeof(*done));
	size_t nd = 0;
	struct dorun *d;
	int rc = do_run(run, &d, err);

	for (size_t i = 0; !rc && i < nr; i++) {
		const struct state_resource *r = state_resource_find(
			run->state, "digitalocean", "host", names[i]);
		const char *st = r ? resource_attr(r, "droplet") : NULL;

		/* A run stopped after the droplet went deletes only what is
		 * left. */
		gone[i] = !r || (st && !strcmp(st, "deleted"));
		if (!gone[i])
			rc = do_extras_resolve(run, d, names[i], err);
	}
	if (!rc) {
		forget_seen(d);
		rc = resource_deleting_many(run, "host", names, nr, err);
	}
	for (size_t i = 0; !rc && i < nr; i++) {
		const struct state_resource *r = state_resource_find(
			run->state, "digitalocean", "host", names[i]);

		if (gone[i] || !r)
			continue;
		if (r->id) {
			ids[i] = xstrdup(r->id);
		} else if (r->key) { /* pending: found by its tag */
			char *key = xstrdup(r->key);
			struct resource_ref ref = { "host", names[i], NULL,
						    key,    NULL,     NULL };

			rc = do_droplet_by_key(run, &ref, &ids[i], err);
			free(key);
		}
	}
	if (!rc) {
		rc = do_delete_many(d, "/v2/droplets", ids, nr, deleted, err);
		for (size_t i = 0; i < nr; i++) {
			struct state_resource *r = state_resource_find(
				run->state, "digitalocean", "host", names[i]);

			if (r && ids[i] && deleted[i])
				resource_set_attr(r, "droplet", "deleted");
		}
		rc = resource_save_after(run, rc, err);
	}
	/* Then each host's volume and reserved IP; a host's record goes
	 * last, so a run stopped before finds them through it. */
	for (size_t i = 0; !rc && i < nr; i++) {
		const struct state_resource *r = state_resource_find(
			run->state, "digitalocean", "host", names[i]);
		const char *st = r ? resource_attr(r, "droplet") : NULL;

		if (r && !gone[i] && r->id && !(st && !strcmp(st, "deleted")))
			continue; /* its delete failed */
		rc = do_extras_delete(run, d, names[i], err);
		if (!rc)
			done[nd++] = names[i];
	}
	if (!rc && nd)
		rc = resource_forget_many(run, "host", done, nd, err);
	for (size_t i = 0; i < nr; i++)
		free(ids[i]);
	free(ids);
	free(gone);
	free(deleted);
	free(done);
	return rc;
}

/* Volume and reserved-IP records whose host record is gone (a state
 * edited by hand, an older run): deleted as their host's would be. */
static int extras_left(struct provider_run *run, struct dorun *d,
		       struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		const struct state_resource *r = &run->state->resources[i];
		char *name;

		if (strcmp(r->provider, "digitalocean") ||
		    (strcmp(r->kind, "volume") &&
		     strcmp(r->kind, "reserved-ip")))
			continue;
		name = xstrdup(r->name);
		rc = do_extras_delete(run, d, name, err);
		free(name);
		i = (size_t)-1; /* the records moved: from the start */
	}
	return rc;
}

/* Once no host is left: the volumes and reserved IPs a host left behind
 * (and the topology's volumes no droplet holds), the firewalls, the VPCs,
 * the key deploy made. */
static int do_finish_down(struct provider_run *run, struct error *err)
{
	struct dorun *d;
	int rc = do_run(run, &d, err);

	if (!rc)
		rc = extras_left(run, d, err);
	if (!rc)
		rc = do_volumes_orphaned(run, d, err);
	if (!rc)
		rc = do_firewalls_down(run, d, err);
	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		struct state_resource *r = &run->state->resources[i];
		char *name, *id;
		bool made;

		if (strcmp(r->provider, "digitalocean") ||
		    (strcmp(r->kind, "vpc") && strcmp(r->kind, "ssh-key")))
			continue;
		name = xstrdup(r->name);
		id = r->id ? xstrdup(r->id) : NULL;
		made = !resource_attr(r, "made") ||
		       !strcmp(resource_attr(r, "made"), "yes");
		rc = resource_deleting(run, r->kind, name, err);
		if (!rc && !strcmp(r->kind, "vpc")) {
			if (!id) /* pending: found by its name */
				rc = do_vpc_by_name(run,
						    &(struct resource_ref){
							    "vpc", name, NULL,
							    NULL, NULL, NULL },
						    &id, err);
			if (!rc && id)
				rc = do_vpc_delete(run, d, id, err);
			if (!rc)
				rc = resource_forget(run, "vpc", name, err);
		} else if (!rc) {
			if (id && made) {
				struct buf path = BUF_INIT;

				buf_addf(&path, "/v2/account/keys/%s", id);
				rc = do_delete_gone_ok(d, path.data, err);
				buf_free(&path);
			}
			if (!rc)
				rc = resource_forget(run, "ssh-key", name, err);
		}
		free(name);
		free(id);
		i = (size_t)-1; /* the records moved: from the start */
	}
	return rc;
}

struct names {
	char **v;
	size_t nr;
	const struct state *state;
	struct dorun *d;
};

bool do_listed(const struct dorun *d, const char *name)
{
	for (size_t i = 0; i < d->nr_listed; i++)
		if (!strcmp(d->listed[i], name))
			return true;
	return false;
}

/* A droplet's host name: the one recorded for its id (an imported droplet
 * keeps its own name), else its name. */
static int collect_name(const cJSON *item, void *ud)
{
	struct names *n = ud;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));
	const char *host = cJSON_IsString(name) ? name->valuestring : NULL;

	if (host) {
		n->d->listed = xrealloc(n->d->listed,
					(n->d->nr_listed + 1) * sizeof(char *));
		n->d->listed[n->d->nr_listed++] = xstrdup(host);
	}
	for (size_t i = 0; id && i < n->state->nr_resources; i++) {
		const struct state_resource *r = &n->state->resources[i];

		if (!strcmp(r->provider, "digitalocean") &&
		    !strcmp(r->kind, "host") && r->id && !strcmp(r->id, id))
			host = r->name;
	}
	if (host) {
		n->v = xrealloc(n->v, (n->nr + 1) * sizeof(char *));
		n->v[n->nr++] = xstrdup(host);
	}
	free(id);
	return 0;
}

static int do_list_hosts(struct provider_run *run, char ***out, size_t *nr,
			 struct error *err)
{
	struct names n = { NULL, 0, run->state, NULL };
	struct buf path = BUF_INIT;
	struct dorun *d;
	char *t;
	int rc = do_run(run, &d, err);

	if (rc)
		return rc;
	for (size_t i = 0; i < d->nr_listed; i++)
		free(d->listed[i]);
	d->nr_listed = 0;
	n.d = d;
	t = do_topology_tag(run);
	buf_adds(&path, "/v2/droplets?tag_name=");
	do_query_value(&path, t);
	rc = do_list(d->api, path.data, "droplets", collect_name, &n, err);
	d->listed_valid = !rc;
	buf_free(&path);
	free(t);
	*out = n.v;
	*nr = n.nr;
	return rc;
}

static int do_sync(struct provider_run *run, struct buf *dry, struct error *err)
{
	struct dorun *d;
	int rc = do_run(run, &d, err);

	if (!rc && !dry)
		rc = prepare(run, &d, err);
	if (!rc)
		rc = do_firewalls(run, d, dry, err);
	if (!rc)
		rc = do_extras(run, d, dry, err);
	return rc;
}

/* --- deploy import, drift ----------------------------------------------- */

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool has_tag(const cJSON *dr, const char *tag)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(dr, "tags"))
	{
		if (cJSON_IsString(t) && !strcmp(t->valuestring, tag))
			return true;
	}
	return false;
}

/* Its deploy:topology:NAME tag's NAME, or NULL. */
static const char *topology_of(const cJSON *dr)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(dr, "tags"))
	{
		if (cJSON_IsString(t) &&
		    !strncmp(t->valuestring, "deploy:topology:", 16))
			return t->valuestring + 16;
	}
	return NULL;
}

static int tag_droplet(struct dorun *d, const char *tag, const char *id,
		       struct error *err)
{
	cJSON *body = cJSON_CreateObject(), *res, *r;
	struct buf path = BUF_INIT;
	int rc;

	cJSON_AddStringToObject(body, "name", tag);
	rc = do_call(d->api, "POST", "/v2/tags", body, DO_SAFE, NULL, NULL,
		     err);
	cJSON_Delete(body);
	if (rc)
		return rc;
	body = cJSON_CreateObject();
	res = cJSON_AddArrayToObject(body, "resources");
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "resource_id", id);
	cJSON_AddStringToObject(r, "resource_type", "droplet");
	cJSON_AddItemToArray(res, r);
	/* A tag is of letters, digits, ':', '-' and '_': all allowed in a
	 * path segment as they are. */
	buf_addf(&path, "/v2/tags/%s/resources", tag);
	rc = do_call(d->api, "POST", path.data, body, DO_SAFE, NULL, NULL, err);
	buf_free(&path);
	cJSON_Delete(body);
	return rc;
}

/*
 * deploy import ROLE HOST ID: the droplet ID, active and no other
 * topology's, tagged with the topology's and the role's tags (not the
 * firewall's: what reaches it stays as it was, as its size and image do;
 * plan tells the difference) and recorded as created with its addresses.
 */
static int do_import_host(struct provider_run *run, const struct host *h,
			  const char *id, struct error *err)
{
	char *tags[2] = { do_topology_tag(run),
			  do_role_tag(run, h->role->name) };
	char *pub = NULL, *priv = NULL;
	const char *other, *name;
	struct state_resource *res;
	struct state_host *sh;
	const cJSON *dr;
	struct dorun *d;
	int rc = prepare(run, &d, err);

	if (!rc && (!*id || strspn(id, "0123456789") != strlen(id)))
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "'%s' is not a droplet id (digits)", id);
	if (!rc)
		rc = droplet_seen(run, id, &dr, err);
	if (rc)
		goto out;
	if (!dr) {
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "digitalocean droplet '%s' not found", id);
		goto out;
	}
	other = topology_of(dr);
	name = str_at(dr, "name", NULL);
	if (other &&
	    (strcmp(other, run->t->name) || (name && strcmp(name, h->name)))) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "droplet '%s' is already host '%s' of "
			       "topology '%s' (its deploy: tags): not "
			       "imported",
			       id, name ? name : "?", other);
		goto out;
	}
	if (!do_droplet_addresses(dr, &pub, &priv)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "droplet '%s' is %s: only an active droplet "
			       "with a public address can be imported",
			       id,
			       str_at(dr, "status", NULL)
				       ? str_at(dr, "status", NULL)
				       : "in no known state");
		goto out;
	}
	for (size_t i = 0; !rc && i < 2; i++)
		if (!has_tag(dr, tags[i]))
			rc = tag_droplet(d, tags[i], id, err);
	if (rc)
		goto out;
	res = state_resource_pending(run->state, "digitalocean", "host",
				     h->name, h->role->name, NULL);
	resource_set_attr(res, "region", str_at(dr, "region", "slug"));
	resource_set_attr(res, "imported", "true");
	state_resource_set_id(res, id);
	sh = state_host_get(run->state, h->name, true);
	state_host_set(&sh->address, pub);
	state_host_set(&sh->private_address, priv ? priv : pub);
	sh->port = h->port ? h->port : 22;
	rc = run->save(run, err);
out:
	free(tags[0]);
	free(tags[1]);
	free(pub);
	free(priv);
	return rc;
}

/* How the recorded droplet differs from its role: region, size, the
 * role's firewall (its tag), VPC and image (by slug). */
static int do_drift(struct provider_run *run, const struct host *h,
		    const struct state_resource *r, struct buf *out,
		    struct error *err)
{
	const struct role *role = h->role;
	const struct state_resource *vpc;
	const char *have, *want, *region;
	char *tag, *fw;
	const cJSON *dr;
	int rc;

	if (!r || !r->id)
		return 0;
	rc = droplet_seen(run, r->id, &dr, err);
	if (rc || !dr)
		return rc;
	tag = do_fw_tag(run, role->name);
	fw = do_fw_name(run, role->name);
	have = str_at(dr, "region", "slug");
	want = do_role_region(run, role);
	if (have && want && strcmp(have, want))
		buf_addf(out,
			 "~ digitalocean host %s: region %s, the topology "
			 "says %s\n",
			 h->name, have, want);
	have = str_at(dr, "size_slug", NULL);
	if (have && strcmp(have, do_role_size(role)))
		buf_addf(out,
			 "~ digitalocean host %s: size %s, the topology says "
			 "%s\n",
			 h->name, have, do_role_size(role));
	if (!has_tag(dr, tag))
		buf_addf(out,
			 "~ digitalocean host %s: not in firewall %s (tag %s), "
			 "the topology puts it there\n",
			 h->name, fw, tag);
	have = str_at(dr, "vpc_uuid", NULL);
	region = str_at(dr, "region", "slug");
	vpc = region ? state_resource_find(run->state, "digitalocean", "vpc",
					   region)
		     : NULL;
	if (have && vpc && vpc->status == RESOURCE_CREATED && vpc->id &&
	    strcmp(have, vpc->id))
		buf_addf(out,
			 "~ digitalocean host %s: vpc %s, the topology says "
			 "%s\n",
			 h->name, have, vpc->id);
	have = str_at(dr, "image", "slug");
	if (have && strcmp(have, do_role_image(role)))
		buf_addf(out,
			 "~ digitalocean host %s: image %s, the topology "
			 "says %s\n",
			 h->name, have, do_role_image(role));
	free(tag);
	free(fw);
	return 0;
}

const struct provider_ops digitalocean_provider = {
	.name = "digitalocean",
	.summary = "DigitalOcean droplets in a VPC of their own, cloud "
		   "firewalls per role, volumes, reserved IPs",
	.config_keys = digitalocean_keys,
	.ssh_wait_s = 300,
	.ssh_hint = "check that ssh.admin_cidrs holds your address",
	.hosts_up = do_hosts_up,
	.exists = do_exists,
	.destroy = do_destroy,
	.destroy_hosts = do_destroy_hosts,
	.finish_down = do_finish_down,
	.list_hosts = do_list_hosts,
	.sync = do_sync,
	.release = do_release,
	.import_host = do_import_host,
	.drift = do_drift,
	.disk_devices = do_disk_devices,
};
