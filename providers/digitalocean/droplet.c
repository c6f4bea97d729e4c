/* SPDX-License-Identifier: MIT */
/* DigitalOcean droplets: found, created, and waited for until active. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/digitalocean/do-internal.h"
#include "providers/resource.h"
#include "providers/wait.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WAIT_ACTIVE_S 300
#define MAX_USER_DATA (64u << 10)

/* --- droplets --------------------------------------------------------- */

int do_droplet_get(struct dorun *d, const char *id, cJSON **doc,
		   struct error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/droplets/%s", id);
	rc = do_call(d->api, "GET", path.data, NULL, 0, doc, NULL, err);
	buf_free(&path);
	return rc;
}

static int droplet_by_id(struct provider_run *run,
			 const struct resource_ref *ref, bool *exists,
			 struct error *err)
{
	struct dorun *d;
	int rc = do_run(run, &d, err);

	if (!rc)
		rc = do_droplet_get(d, ref->id, NULL, err);
	return do_found(rc, exists, err);
}

struct droplet_find {
	const char *name; /* NULL: the first */
	char *id;
};

static int match_droplet(const cJSON *item, void *ud)
{
	struct droplet_find *f = ud;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");

	if (f->name &&
	    (!cJSON_IsString(name) || strcmp(name->valuestring, f->name)))
		return 0;
	f->id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));
	return f->id ? 1 : 0;
}

static int droplets_tagged(struct dorun *d, const char *tag, const char *name,
			   char **id, struct error *err)
{
	struct droplet_find f = { name, NULL };
	struct buf path = BUF_INIT;
	int rc;

	buf_adds(&path, "/v2/droplets?tag_name=");
	do_query_value(&path, tag);
	rc = do_list(d->api, path.data, "droplets", match_droplet, &f, err);
	buf_free(&path);
	*id = f.id;
	return rc < 0 ? rc : 0;
}

static char *key_tag(const char *key)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy:key:%s", key);
	return buf_release(&b);
}

/* The droplet carrying the pending record's unique tag. */
int do_droplet_by_key(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	char *t = key_tag(ref->key);
	int rc = droplets_tagged(run->priv, t, NULL, id, err);

	free(t);
	return rc;
}

/* A droplet of the topology with the host's name (a lost state). */
static int droplet_by_tags(struct provider_run *run,
			   const struct resource_ref *ref, char **id,
			   struct error *err)
{
	struct dorun *d = run->priv;
	char *t;
	int rc;

	*id = NULL;
	if (d->listed_valid && !do_listed(d, ref->name))
		return 0; /* not there when the plan listed them */
	t = do_topology_tag(run);
	rc = droplets_tagged(d, t, ref->name, id, err);

	free(t);
	return rc;
}

struct host_arg {
	const struct host *host;
	const char *vpc;
};

static int add_user_data(struct provider_run *run, const struct role *role,
			 cJSON *body, struct error *err)
{
	struct buf text;
	int rc;

	if (!role->user_data)
		return 0;
	buf_init(&text, MAX_USER_DATA);
	rc = buf_read_file(&text, role->user_data);
	if (rc)
		rc = error_set(err, rc, run->t->file,
			       role->user_data_node->line,
			       role->user_data_node->col,
			       "role '%s': user_data '%s': %s", role->name,
			       role->user_data,
			       rc == DEPLOY_ERR_TOO_BIG
				       ? "larger than DigitalOcean's 64 KiB"
				       : "cannot be read");
	else
		cJSON_AddStringToObject(body, "user_data", text.data);
	buf_free(&text);
	return rc;
}

/* The body of POST /v2/droplets for ref; the key goes on the droplet as a
 * unique tag, so that a run stopped before the answer finds it by that
 * tag. */
static int droplet_body(struct provider_run *run,
			const struct resource_ref *ref, cJSON **out,
			struct error *err)
{
	const struct host_arg *a = ref->arg;
	const struct role *role = a->host->role;
	struct dorun *d = run->priv;
	cJSON *body = cJSON_CreateObject(), *tags, *keys;
	char *t[4] = { do_topology_tag(run), do_role_tag(run, role->name),
		       do_fw_tag(run, role->name), key_tag(ref->key) };
	int rc;

	cJSON_AddStringToObject(body, "name", a->host->name);
	cJSON_AddStringToObject(body, "region", do_role_region(run, role));
	cJSON_AddStringToObject(body, "size", do_role_size(role));
	cJSON_AddStringToObject(body, "image", do_role_image(role));
	keys = cJSON_AddArrayToObject(body, "ssh_keys");
	cJSON_AddItemToArray(keys, cJSON_CreateString(d->key_fp));
	cJSON_AddStringToObject(body, "vpc_uuid", a->vpc);
	tags = cJSON_AddArrayToObject(body, "tags");
	for (size_t i = 0; i < 4; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(t[i]));
	cJSON_AddBoolToObject(body, "monitoring", true);
	rc = add_user_data(run, role, body, err);
	for (size_t i = 0; i < 4; i++)
		free(t[i]);
	if (rc) {
		cJSON_Delete(body);
		body = NULL;
	}
	*out = body;
	return rc;
}

/*
 * The droplets refs[] at once: one POST /v2/droplets each (not one with
 * names[]: each droplet carries its own key tag), all in flight together
 * within the API's limits. The id of each one made in ids[]; the first
 * error is returned, the others' ids all the same.
 */
static int droplet_create_many(struct provider_run *run,
			       const struct resource_ref *const *refs, size_t n,
			       char **ids, struct error *err)
{
	struct do_req *v = xcalloc(n + 1, sizeof(*v));
	cJSON **bodies = xcalloc(n + 1, sizeof(*bodies));
	struct dorun *d = run->priv;
	size_t nr = 0;
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++)
		rc = droplet_body(run, refs[i], &bodies[i], err);
	for (size_t i = 0; !rc && i < n; i++) {
		v[nr].method = "POST";
		v[nr].path = "/v2/droplets";
		v[nr].body = bodies[i];
		v[nr++].answer = true;
	}
	if (nr)
		do_call_many(d->api, v, nr);
	for (size_t i = 0; i < nr; i++) {
		int r = v[i].rc;

		ids[i] = NULL;
		if (!r) {
			ids[i] = do_id_text(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(v[i].out,
								 "droplet"),
				"id"));
			if (!ids[i])
				r = error_set(&v[i].err, DEPLOY_ERR_SYNTAX,
					      NULL, 0, 0,
					      "digitalocean POST "
					      "/v2/droplets: no id in the "
					      "answer");
		}
		if (r && !rc)
			rc = error_set(err, r, NULL, 0, 0, "%s", v[i].err.msg);
		error_clear(&v[i].err);
		cJSON_Delete(v[i].out);
	}
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(bodies[i]);
	free(bodies);
	free(v);
	return rc;
}

static int droplet_create(struct provider_run *run,
			  const struct resource_ref *ref, char **id,
			  struct error *err)
{
	return droplet_create_many(run, &ref, 1, id, err);
}

static void droplet_attributes(struct provider_run *run,
			       const struct resource_ref *ref,
			       struct state_resource *res)
{
	const struct host_arg *a = ref->arg;

	if (a)
		resource_set_attr(res, "region",
				  do_role_region(run, a->host->role));
}

static const struct resource_kind do_droplet = {
	.kind = "host",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = droplet_by_id,
	.find_by_key = do_droplet_by_key,
	.find_by_tags = droplet_by_tags,
	.create = droplet_create,
	.create_many = droplet_create_many,
	.attributes = droplet_attributes,
};

struct wait {
	struct provider_run *run;
	struct host *const *hosts;
	size_t nr;
	bool *done;
	bool *seen;
};

static int note_droplet(const cJSON *item, void *ud)
{
	struct wait *w = ud;
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));

	for (size_t i = 0; id && i < w->nr; i++) {
		const struct state_resource *r =
			state_resource_find(w->run->state, "digitalocean",
					    "host", w->hosts[i]->name);
		char *pub, *priv;
		struct state_host *sh;

		if (w->done[i] || !r || !r->id || strcmp(r->id, id))
			continue;
		w->seen[i] = true;
		if (!do_droplet_addresses(item, &pub, &priv))
			break;
		sh = state_host_get(w->run->state, w->hosts[i]->name, true);
		state_host_set(&sh->address, pub);
		state_host_set(&sh->private_address, priv ? priv : pub);
		sh->port = w->hosts[i]->port ? w->hosts[i]->port : 22;
		w->done[i] = true;
		free(pub);
		free(priv);
		break;
	}
	free(id);
	return 0;
}

struct wait_round {
	struct dorun *d;
	struct host *const *hosts;
	size_t nr;
	const char *path;
};

/* One list of the topology's droplets (by its tag) for all of them. */
static int list_round(struct provider_run *run, void *ud, bool *done,
		      bool *seen, struct error *err)
{
	struct wait_round *r = ud;
	struct wait w = { run, r->hosts, r->nr, done, seen };

	return do_list(r->d->api, r->path, "droplets", note_droplet, &w, err);
}

/* Until every host's droplet is active with its addresses recorded: one
 * list call a round for all of them (provider_wait_hosts()). A droplet
 * missing from the list twice in a row after its create was accepted
 * failed to be placed. */
int do_wait_active(struct provider_run *run, struct dorun *d,
		   struct host *const *hosts, size_t nr, struct error *err)
{
	char *t = do_topology_tag(run);
	struct buf path = BUF_INIT;
	struct wait_round r = { d, hosts, nr, NULL };
	struct host_wait w = {
		.noun = "digitalocean droplet",
		.provider = "digitalocean",
		.state = "active",
		.gone_why = "after its create was accepted (DigitalOcean "
			    "could not place it?)",
		.max_missing = 2,
		.deadline_s = WAIT_ACTIVE_S,
		.round = list_round,
		.ud = &r,
	};
	int rc;

	buf_adds(&path, "/v2/droplets?tag_name=");
	do_query_value(&path, t);
	r.path = path.data;
	rc = provider_wait_hosts(run, hosts, nr, &w, err);
	buf_free(&path);
	free(t);
	return rc;
}

int do_droplets_ensure(struct provider_run *run, struct host *const *hosts,
		       const char *const *vpcs, size_t nr, bool *made,
		       struct error *err)
{
	struct host_arg *a = xcalloc(nr + 1, sizeof(*a));
	struct resource_want *w = xcalloc(nr + 1, sizeof(*w));
	int rc;

	for (size_t i = 0; i < nr; i++) {
		a[i].host = hosts[i];
		a[i].vpc = vpcs[i];
		w[i].name = hosts[i]->name;
		w[i].role = hosts[i]->role->name;
		w[i].arg = &a[i];
	}
	rc = resource_ensure_many(run, &do_droplet, w, nr, err);
	for (size_t i = 0; i < nr; i++) {
		made[i] = w[i].id && w[i].outcome == RESOURCE_MADE;
		free(w[i].id);
	}
	free(w);
	free(a);
	return rc;
}
