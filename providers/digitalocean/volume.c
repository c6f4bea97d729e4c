/* SPDX-License-Identifier: MIT */
/* DigitalOcean volumes (disk:) and reserved IPs (static_ip:) per droplet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/digitalocean/do-internal.h"
#include "providers/resource.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WAIT_ACTION_S 300
#define DETACH_S      120
#define VOLUME_FS     "ext4"

/*
 * Each host of a role with disk: gets a volume (record "volume", named by
 * the host), each host of a role with static_ip: a reserved IP (record
 * "reserved-ip"). Neither carries a client token:
 *   - a volume's name is unique in its region, so the name is the key:
 *     recorded before the create, looked up by name after a stop;
 *   - a reserved IP has neither name nor tags: it is made assigned to the
 *     droplet (POST /v2/reserved_ips with droplet_id), whose id is the key,
 *     and a stopped create is found as the reserved IP on that droplet.
 * The attachment and the assignment are recorded too ("attached",
 * "assigned": the droplet's id), so a converged fleet needs no call to
 * know that nothing is to be done, and a run stopped between a create and
 * its attach finishes the attach.
 */

/* An action under way (an attach, an assign), and what its end makes
 * true: the record's "attached" or "assigned", the host's address. */
struct pending {
	char *action;
	char *host;
	const char *kind; /* "volume", "reserved-ip" */
	char *droplet;
	char *ip; /* a reserved IP: the host's address once assigned */
	bool done, seen;
};

/* The actions a run started: waited for together. */
struct batch {
	struct pending *v;
	size_t nr;
};

struct extra_arg {
	const struct host *host;
	const char *droplet; /* the host's droplet id */
	bool fresh;	     /* the droplet was made in this run */
	struct batch *batch;
};

static const char *droplet_of(struct provider_run *run, const char *host)
{
	const struct state_resource *r =
		state_resource_find(run->state, "digitalocean", "host", host);

	return r && r->status == RESOURCE_CREATED ? r->id : NULL;
}

static const char *arg_region(struct provider_run *run,
			      const struct resource_ref *ref)
{
	const struct extra_arg *a = ref->arg;
	const struct state_resource *r;

	if (a)
		return do_role_region(run, a->host->role);
	r = state_resource_find(run->state, "digitalocean", ref->kind,
				ref->name);
	return r ? resource_attr(r, "region") : NULL;
}

/* Until the action is completed: errored, or not done by the deadline,
 * is an error. action is the answer's action object. */
static int wait_action(struct provider_run *run, struct dorun *d,
		       const cJSON *action, const char *what, struct error *err)
{
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(action, "id"));
	long long deadline = now_ms() + WAIT_ACTION_S * 1000LL;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(action, "status");
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	long pause = 250;
	int rc = 0;

	if (!id)
		return 0; /* nothing to wait for */
	buf_addf(&path, "/v2/actions/%s", id);
	for (;;) {
		if (cJSON_IsString(st) && !strcmp(st->valuestring, "completed"))
			break;
		if (cJSON_IsString(st) && !strcmp(st->valuestring, "errored")) {
			rc = error_set(err, DEPLOY_ERR_REMOTE, NULL, 0, 0,
				       "digitalocean %s: action %s errored",
				       what, id);
			break;
		}
		if (run->stop && *run->stop) {
			rc = error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
				       "interrupted while waiting for %s",
				       what);
			break;
		}
		if (now_ms() > deadline) {
			rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
				       "digitalocean %s: action %s not done "
				       "after %d s",
				       what, id, WAIT_ACTION_S);
			break;
		}
		provider_sleep(run, pause / 2 + (long)(now_ms() % (pause / 2)));
		if (pause < 4000)
			pause *= 2;
		cJSON_Delete(doc);
		doc = NULL;
		rc = do_call(d->api, "GET", path.data, NULL, 0, &doc, NULL,
			     err);
		if (rc)
			break;
		st = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "action"),
			"status");
	}
	cJSON_Delete(doc);
	buf_free(&path);
	free(id);
	return rc;
}

/* POST path with body, then wait for the action of the answer. */
static int act(struct provider_run *run, struct dorun *d, const char *path,
	       cJSON *body, const char *what, struct error *err)
{
	cJSON *doc = NULL;
	int rc = do_call(d->api, "POST", path, body, 0, &doc, NULL, err);

	if (!rc)
		rc = wait_action(
			run, d, cJSON_GetObjectItemCaseSensitive(doc, "action"),
			what, err);
	cJSON_Delete(doc);
	return rc;
}

static bool has_number(const cJSON *list, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		char *s = do_id_text(it);
		bool same = s && !strcmp(s, id);

		free(s);
		if (same)
			return true;
	}
	return false;
}

static void batch_add(struct batch *b, const cJSON *action, const char *host,
		      const char *kind, const char *droplet, const char *ip)
{
	struct pending *p;

	b->v = xrealloc(b->v, (b->nr + 1) * sizeof(*b->v));
	p = &b->v[b->nr++];
	memset(p, 0, sizeof(*p));
	p->action = do_id_text(cJSON_GetObjectItemCaseSensitive(action, "id"));
	p->host = xstrdup(host);
	p->kind = kind;
	p->droplet = xstrdup(droplet);
	p->ip = ip ? xstrdup(ip) : NULL;
}

static bool batch_has(const struct batch *b, const char *host, const char *kind)
{
	for (size_t i = 0; i < b->nr; i++)
		if (!strcmp(b->v[i].host, host) && !strcmp(b->v[i].kind, kind))
			return true;
	return false;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nr; i++) {
		free(b->v[i].action);
		free(b->v[i].host);
		free(b->v[i].droplet);
		free(b->v[i].ip);
	}
	free(b->v);
}

/* Record that the volume is attached to (the reserved IP assigned to) the
 * droplet; a reserved IP becomes the host's address. Saved by the
 * caller. */
static void settle(struct provider_run *run, const char *host, const char *kind,
		   const char *droplet, const char *ip)
{
	struct state_resource *r =
		state_resource_find(run->state, "digitalocean", kind, host);

	if (r)
		resource_set_attr(
			r, strcmp(kind, "volume") ? "assigned" : "attached",
			droplet);
	if (ip) {
		struct state_host *sh = state_host_get(run->state, host, true);

		state_host_set(&sh->address, ip);
	}
}

/* An action's answer (its status) for the pending action p: 1 when it
 * ended, 0 while under way, an error when it errored. */
static int note_action(struct provider_run *run, struct pending *p,
		       const cJSON *action, struct error *err)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(action, "status");

	p->seen = true;
	if (cJSON_IsString(st) && !strcmp(st->valuestring, "errored"))
		return error_set(err, DEPLOY_ERR_REMOTE, NULL, 0, 0,
				 "digitalocean %s of '%s': action %s errored",
				 strcmp(p->kind, "volume")
					 ? "reserved IP assign"
					 : "volume attach",
				 p->host, p->action);
	if (!cJSON_IsString(st) || strcmp(st->valuestring, "completed"))
		return 0;
	p->done = true;
	settle(run, p->host, p->kind, p->droplet, p->ip);
	return 1;
}

/*
 * Until every action of b has ended: a round is one GET /v2/actions (the
 * account's newest 200) for all of them, and GET /v2/actions/ID only for
 * one not on that page; jittered pauses from 125 ms growing to 4 s, 300 s
 * at most. What ended is recorded and the state saved each round.
 */
static int batch_wait(struct provider_run *run, struct dorun *d,
		      struct batch *b, struct error *err)
{
	long long deadline = now_ms() + WAIT_ACTION_S * 1000LL;
	size_t left = 0;
	long pause = 250;
	int rc = 0;

	for (size_t i = 0; i < b->nr; i++) {
		b->v[i].done = !b->v[i].action;
		left += !b->v[i].done;
	}
	while (!rc && left) {
		const cJSON *it;
		cJSON *doc = NULL;
		bool changed = false;

		if (run->stop && *run->stop) {
			rc = error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
				       "interrupted while waiting for volume "
				       "attaches and reserved IP assigns");
			break;
		}
		if (now_ms() > deadline) {
			rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
				       "digitalocean: %zu volume attach%s or "
				       "reserved IP assign%s not done after "
				       "%d s",
				       left, left == 1 ? "" : "es",
				       left == 1 ? "" : "s", WAIT_ACTION_S);
			break;
		}
		provider_sleep(run, pause / 2 + (long)(now_ms() % (pause / 2)));
		if (pause < 4000)
			pause *= 2;
		rc = do_call(d->api, "GET", "/v2/actions?per_page=200", NULL, 0,
			     &doc, NULL, err);
		for (size_t i = 0; i < b->nr; i++)
			b->v[i].seen = false;
		cJSON_ArrayForEach(
			it, cJSON_GetObjectItemCaseSensitive(doc, "actions"))
		{
			char *id = do_id_text(
				cJSON_GetObjectItemCaseSensitive(it, "id"));

			for (size_t i = 0; !rc && id && i < b->nr; i++) {
				struct pending *p = &b->v[i];
				int ended;

				if (p->done || strcmp(p->action, id))
					continue;
				ended = note_action(run, p, it, err);
				if (ended < 0)
					rc = ended;
				else if (ended)
					left--, changed = true;
			}
			free(id);
		}
		cJSON_Delete(doc);
		for (size_t i = 0; !rc && i < b->nr; i++) {
			struct pending *p = &b->v[i];
			struct buf path = BUF_INIT;
			int ended;

			if (p->done || p->seen)
				continue;
			doc = NULL;
			buf_addf(&path, "/v2/actions/%s", p->action);
			rc = do_call(d->api, "GET", path.data, NULL, 0, &doc,
				     NULL, err);
			buf_free(&path);
			ended = rc ? 0
				   : note_action(
					     run, p,
					     cJSON_GetObjectItemCaseSensitive(
						     doc, "action"),
					     err);
			cJSON_Delete(doc);
			if (ended < 0)
				rc = ended;
			else if (ended)
				left--, changed = true;
		}
		if (changed) {
			int src = run->save(run, err);

			if (!rc)
				rc = src;
		}
	}
	return rc;
}

/* --- volumes ---------------------------------------------------------- */

/* "deploy-TOPOLOGY-HOST": lowercase letters, digits and '-', at most 64,
 * unique in a region (the API refuses a second one). */
static char *volume_name_of(const char *topology, const char *host)
{
	struct buf b = BUF_INIT;
	unsigned long h = 5381;

	buf_addf(&b, "deploy-%s-%s", topology, host);
	for (size_t i = 0; i < b.len; i++) {
		char c = b.data[i];

		h = h * 33 + (unsigned char)c;
		if (c >= 'A' && c <= 'Z')
			b.data[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			b.data[i] = '-';
	}
	if (b.len > 64) { /* shortened, kept unique by a hash of it all */
		char tail[10];

		snprintf(tail, sizeof(tail), "-%08lx", h & 0xffffffffUL);
		b.len = 55;
		b.data[b.len] = '\0';
		buf_adds(&b, tail);
	}
	return buf_release(&b);
}

static char *volume_name(const struct provider_run *run, const char *host)
{
	return volume_name_of(run->t->name, host);
}

/*
 * The volume on the droplet: DigitalOcean's images name it by its name
 * under /dev/disk/by-id (its SCSI serial); the recorded one's name is its
 * key.
 */
void do_disk_devices(const struct topology *t, struct state *s,
		     const struct host *h, cJSON *paths)
{
	const struct state_resource *r =
		state_resource_find(s, "digitalocean", "volume", h->name);
	char *name = r && r->key ? xstrdup(r->key)
				 : volume_name_of(t->name, h->name);
	struct buf b = BUF_INIT;

	buf_addf(&b, "/dev/disk/by-id/scsi-0DO_Volume_%s", name);
	cJSON_AddItemToArray(paths, cJSON_CreateString(b.data));
	buf_free(&b);
	free(name);
}

static char *volume_key(struct provider_run *run,
			const struct resource_ref *ref)
{
	return volume_name(run, ref->name);
}

static int volume_get(struct dorun *d, const char *id, cJSON **doc,
		      struct error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/volumes/%s", id);
	rc = do_call(d->api, "GET", path.data, NULL, 0, doc, NULL, err);
	buf_free(&path);
	return rc;
}

static int volume_by_id(struct provider_run *run,
			const struct resource_ref *ref, bool *exists,
			struct error *err)
{
	int rc = volume_get(run->priv, ref->id, NULL, err);

	return do_found(rc, exists, err);
}

static int match_first(const cJSON *item, void *ud)
{
	char **id = ud;

	*id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));
	return *id ? 1 : 0;
}

/* The volume named as the record's key (or as deploy names the host's)
 * in the host's region. */
static int volume_by_name(struct provider_run *run,
			  const struct resource_ref *ref, char **id,
			  struct error *err)
{
	struct dorun *d = run->priv;
	const char *region = arg_region(run, ref);
	char *name = ref->key ? xstrdup(ref->key) : volume_name(run, ref->name);
	struct buf path = BUF_INIT;
	int rc;

	*id = NULL;
	buf_adds(&path, "/v2/volumes?name=");
	do_query_value(&path, name);
	if (region) {
		buf_adds(&path, "&region=");
		do_query_value(&path, region);
	}
	rc = do_list(d->api, path.data, "volumes", match_first, id, err);
	buf_free(&path);
	free(name);
	return rc < 0 ? rc : 0;
}

static int volume_create(struct provider_run *run,
			 const struct resource_ref *ref, char **id,
			 struct error *err)
{
	const struct extra_arg *a = ref->arg;
	const struct role *role = a->host->role;
	struct dorun *d = run->priv;
	cJSON *body = cJSON_CreateObject(), *doc = NULL, *tags;
	char *t[2] = { do_topology_tag(run), do_role_tag(run, role->name) };
	struct buf desc = BUF_INIT;
	int rc;

	buf_addf(&desc, "deploy topology %s, host %s", run->t->name,
		 a->host->name);
	cJSON_AddNumberToObject(body, "size_gigabytes", role->disk_size);
	cJSON_AddStringToObject(body, "name", ref->key);
	cJSON_AddStringToObject(body, "description", desc.data);
	cJSON_AddStringToObject(body, "region", do_role_region(run, role));
	cJSON_AddStringToObject(body, "filesystem_type", VOLUME_FS);
	tags = cJSON_AddArrayToObject(body, "tags");
	for (size_t i = 0; i < 2; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(t[i]));
	rc = do_call(d->api, "POST", "/v2/volumes", body, 0, &doc, NULL, err);
	if (!rc) {
		*id = do_id_text(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "volume"), "id"));
		if (!*id)
			rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				       "digitalocean POST /v2/volumes: no id "
				       "in the answer");
	}
	for (size_t i = 0; i < 2; i++)
		free(t[i]);
	buf_free(&desc);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	return rc;
}

static void extra_attributes(struct provider_run *run,
			     const struct resource_ref *ref,
			     struct state_resource *res)
{
	const struct extra_arg *a = ref->arg;

	if (a)
		resource_set_attr(res, "region",
				  do_role_region(run, a->host->role));
}

static const struct resource_kind do_volume = {
	.kind = "volume",
	.find_by_id = volume_by_id,
	.find_by_key = volume_by_name,
	.find_by_tags = volume_by_name,
	.create = volume_create,
	.new_key = volume_key,
	.attributes = extra_attributes,
};

/* Attach the host's volume to its droplet, unless the record says it is;
 * a volume found attached already is only recorded. The attach's action
 * joins the batch. */
static int volume_attach(struct provider_run *run, struct dorun *d,
			 const struct extra_arg *a, const char *vol, bool made,
			 struct error *err)
{
	struct state_resource *res = state_resource_find(
		run->state, "digitalocean", "volume", a->host->name);
	const char *region = do_role_region(run, a->host->role);
	const char *was = res ? resource_attr(res, "attached") : NULL;
	struct buf path = BUF_INIT;
	cJSON *doc = NULL, *body;
	bool there = false;
	int rc = 0;

	if (was && !strcmp(was, a->droplet))
		return 0;
	if (!made) {
		rc = volume_get(d, vol, &doc, err);
		there = !rc &&
			has_number(cJSON_GetObjectItemCaseSensitive(
					   cJSON_GetObjectItemCaseSensitive(
						   doc, "volume"),
					   "droplet_ids"),
				   a->droplet);
		cJSON_Delete(doc);
		doc = NULL;
	}
	if (rc || there) {
		if (there)
			settle(run, a->host->name, "volume", a->droplet, NULL);
		return rc ? rc : run->save(run, err);
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "type", "attach");
	cJSON_AddNumberToObject(body, "droplet_id", strtod(a->droplet, NULL));
	cJSON_AddStringToObject(body, "region", region);
	buf_addf(&path, "/v2/volumes/%s/actions", vol);
	rc = do_call(d->api, "POST", path.data, body, 0, &doc, NULL, err);
	if (!rc)
		batch_add(a->batch,
			  cJSON_GetObjectItemCaseSensitive(doc, "action"),
			  a->host->name, "volume", a->droplet, NULL);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	buf_free(&path);
	return rc;
}

/* --- reserved IPs ------------------------------------------------------ */

static char *rip_key(struct provider_run *run, const struct resource_ref *ref)
{
	const struct extra_arg *a = ref->arg;

	(void)run;
	return xstrdup(a->droplet);
}

static int rip_get(struct dorun *d, const char *ip, cJSON **doc,
		   struct error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/reserved_ips/%s", ip);
	rc = do_call(d->api, "GET", path.data, NULL, 0, doc, NULL, err);
	buf_free(&path);
	return rc;
}

static int rip_by_id(struct provider_run *run, const struct resource_ref *ref,
		     bool *exists, struct error *err)
{
	int rc = rip_get(run->priv, ref->id, NULL, err);

	return do_found(rc, exists, err);
}

struct rip_find {
	const char *droplet;
	char *ip;
	size_t locked; /* unassigned ones with an action under way */
};

static int match_rip(const cJSON *item, void *ud)
{
	struct rip_find *f = ud;
	const cJSON *dr = cJSON_GetObjectItemCaseSensitive(item, "droplet");
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(item, "ip");
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(dr, "id"));
	bool same = id && cJSON_IsString(ip) && !strcmp(id, f->droplet);

	free(id);
	if (same)
		f->ip = xstrdup(ip->valuestring);
	else if (!cJSON_IsObject(dr) &&
		 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "locked")))
		f->locked++;
	return same;
}

/*
 * The reserved IP assigned to droplet (a droplet has at most one). One
 * made with the droplet shows it only once its assign action is done:
 * while some reserved IP is locked with no droplet, it may be the one, so
 * the list is asked again (bounded) before the answer is "none".
 */
static int rip_on(struct provider_run *run, struct dorun *d,
		  const char *droplet, bool wait, char **ip, struct error *err)
{
	long long deadline = now_ms() + WAIT_ACTION_S * 1000LL;
	struct rip_find f = { droplet, NULL, 0 };
	long pause = 250;
	int rc;

	for (;;) {
		f.locked = 0;
		rc = do_list(d->api, "/v2/reserved_ips", "reserved_ips",
			     match_rip, &f, err);
		if (rc < 0 || f.ip || !f.locked || !wait ||
		    now_ms() > deadline || (run->stop && *run->stop))
			break;
		provider_sleep(run, pause);
		if (pause < 4000)
			pause *= 2;
	}
	*ip = f.ip;
	return rc < 0 ? rc : 0;
}

/* A stopped create: the reserved IP on the droplet it was made for. */
static int rip_by_key(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	return rip_on(run, run->priv, ref->key, true, id, err);
}

/* A lost record: the reserved IP on the host's droplet. No create of
 * deploy's is known to be under way: one locked is not waited for (the
 * hosts' reserved IPs being assigned now would make each wait). */
static int rip_by_droplet(struct provider_run *run,
			  const struct resource_ref *ref, char **id,
			  struct error *err)
{
	const struct extra_arg *a = ref->arg;

	*id = NULL;
	if (!a || a->fresh || (ref->key && !strcmp(ref->key, a->droplet)))
		return 0; /* asked already, or a droplet made now */
	return rip_on(run, run->priv, a->droplet, false, id, err);
}

/* POST /v2/reserved_ips with the droplet: made assigned, so that a run
 * stopped before the answer finds it on the droplet (the key). */
static int rip_create(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	const struct extra_arg *a = ref->arg;
	struct dorun *d = run->priv;
	cJSON *body = cJSON_CreateObject(), *doc = NULL;
	const cJSON *ip, *acts;
	int rc;

	cJSON_AddNumberToObject(body, "droplet_id", strtod(a->droplet, NULL));
	rc = do_call(d->api, "POST", "/v2/reserved_ips", body, 0, &doc, NULL,
		     err);
	ip = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "reserved_ip"), "ip");
	if (!rc && !cJSON_IsString(ip))
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "digitalocean POST /v2/reserved_ips: no ip in "
			       "the answer");
	if (!rc)
		*id = xstrdup(ip->valuestring);
	/* The assignment's action, when the answer links one: it joins the
	 * batch (without one the reserved IP is taken as assigned). */
	acts = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "links"), "actions");
	if (!rc && cJSON_GetArraySize(acts) > 0)
		batch_add(a->batch, cJSON_GetArrayItem(acts, 0), a->host->name,
			  "reserved-ip", a->droplet, *id);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	return rc;
}

static const struct resource_kind do_rip = {
	.kind = "reserved-ip",
	.flags = RESOURCE_NEW_KEY, /* the key names the droplet it was for */
	.find_by_id = rip_by_id,
	.find_by_key = rip_by_key,
	.find_by_tags = rip_by_droplet,
	.create = rip_create,
	.new_key = rip_key,
	.attributes = extra_attributes,
};

/* Assign the host's reserved IP to its droplet, unless the record says it
 * is; one found assigned already is only recorded (with the host's
 * address). The assign's action joins the batch. */
static int rip_assign(struct provider_run *run, struct dorun *d,
		      const struct extra_arg *a, const char *ip, bool made,
		      struct error *err)
{
	struct state_resource *res = state_resource_find(
		run->state, "digitalocean", "reserved-ip", a->host->name);
	const char *was = res ? resource_attr(res, "assigned") : NULL;
	cJSON *doc = NULL, *body;
	bool there = made;
	struct buf path = BUF_INIT;
	int rc = 0;

	if (was && !strcmp(was, a->droplet)) {
		settle(run, a->host->name, "reserved-ip", a->droplet, ip);
		return run->save(run, err);
	}
	if (made && batch_has(a->batch, a->host->name, "reserved-ip"))
		return 0; /* made on the droplet: its assign is under way */
	/* Not made now: on the droplet already? (An action under way, from
	 * a stopped run, is waited for: the API refuses a second.) */
	for (long pause = 250, n = 0; !made && n < 12; n++) {
		const cJSON *rip;
		char *on = NULL;
		bool locked;

		rc = rip_get(d, ip, &doc, err);
		rip = cJSON_GetObjectItemCaseSensitive(doc, "reserved_ip");
		if (!rc)
			on = do_id_text(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(rip,
								 "droplet"),
				"id"));
		there = on && !strcmp(on, a->droplet);
		locked = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(rip, "locked"));
		free(on);
		cJSON_Delete(doc);
		doc = NULL;
		if (rc || there || !locked || (run->stop && *run->stop))
			break;
		provider_sleep(run, pause);
		if (pause < 4000)
			pause *= 2;
	}
	if (rc || there) {
		if (there)
			settle(run, a->host->name, "reserved-ip", a->droplet,
			       ip);
		return rc ? rc : run->save(run, err);
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "type", "assign");
	cJSON_AddNumberToObject(body, "droplet_id", strtod(a->droplet, NULL));
	buf_addf(&path, "/v2/reserved_ips/%s/actions", ip);
	rc = do_call(d->api, "POST", path.data, body, 0, &doc, NULL, err);
	if (!rc)
		batch_add(a->batch,
			  cJSON_GetObjectItemCaseSensitive(doc, "action"),
			  a->host->name, "reserved-ip", a->droplet, ip);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	buf_free(&path);
	return rc;
}

/* --- per host ----------------------------------------------------------- */

static bool wants_extras(const struct host *h)
{
	return h->role->disk_size || h->role->static_ip;
}

/* Whether the host's volume and reserved IP are recorded made and on its
 * droplet; what is missing is appended to dry ("~ digitalocean volume
 * web-0: + 100 GiB, attach"). */
static bool extras_done(struct provider_run *run, const struct host *h,
			struct buf *dry)
{
	const char *droplet = droplet_of(run, h->name);
	const struct state_resource *v = state_resource_find(
		run->state, "digitalocean", "volume", h->name);
	const struct state_resource *r = state_resource_find(
		run->state, "digitalocean", "reserved-ip", h->name);
	bool done = true;

	if (!droplet)
		return true; /* made with its droplet */
	if (h->role->disk_size) {
		const char *at = v ? resource_attr(v, "attached") : NULL;

		if (!v || v->status != RESOURCE_CREATED) {
			done = false;
			if (dry)
				buf_addf(dry,
					 "~ digitalocean volume %s: + %d GiB, "
					 "attach\n",
					 h->name, h->role->disk_size);
		} else if (!at || strcmp(at, droplet)) {
			done = false;
			if (dry)
				buf_addf(dry,
					 "~ digitalocean volume %s: attach\n",
					 h->name);
		}
	}
	if (h->role->static_ip) {
		const char *at = r ? resource_attr(r, "assigned") : NULL;

		if (!r || r->status != RESOURCE_CREATED) {
			done = false;
			if (dry)
				buf_addf(dry,
					 "~ digitalocean reserved-ip %s: + "
					 "reserve, assign\n",
					 h->name);
		} else if (!at || strcmp(at, droplet)) {
			done = false;
			if (dry)
				buf_addf(dry,
					 "~ digitalocean reserved-ip %s: "
					 "assign %s\n",
					 h->name, r->id);
		}
	}
	return done;
}

/* Make or adopt the host's volume and reserved IP; their attach and
 * assign join the batch. */
static int host_extras(struct provider_run *run, struct dorun *d,
		       const struct host *h, bool fresh, struct batch *b,
		       struct error *err)
{
	const char *droplet = droplet_of(run, h->name);
	struct extra_arg a = { h, NULL, fresh, b };
	enum resource_outcome how;
	char *id = NULL;
	int rc = 0;

	if (!wants_extras(h) || !droplet)
		return 0;
	a.droplet = droplet = xstrdup(droplet);
	if (h->role->disk_size) {
		rc = resource_ensure(run, &do_volume, h->name, h->role->name,
				     &a, &id, &how, err);
		if (!rc)
			rc = volume_attach(run, d, &a, id, how == RESOURCE_MADE,
					   err);
		free(id);
		id = NULL;
	}
	if (!rc && h->role->static_ip) {
		rc = resource_ensure(run, &do_rip, h->name, h->role->name, &a,
				     &id, &how, err);
		if (!rc)
			rc = rip_assign(run, d, &a, id, how == RESOURCE_MADE,
					err);
		free(id);
	}
	free((char *)droplet);
	return rc;
}

int do_hosts_extras(struct provider_run *run, struct dorun *d,
		    const struct host *const *hosts, const bool *fresh,
		    size_t nr, struct error *err)
{
	struct batch b = { NULL, 0 };
	int rc = 0;

	for (size_t i = 0; !rc && i < nr; i++)
		rc = host_extras(run, d, hosts[i], fresh && fresh[i], &b, err);
	/* What was started is waited for even after an error, so that it
	 * is recorded. */
	if (b.nr) {
		struct error werr = { 0 };
		int wrc = batch_wait(run, d, &b, rc ? &werr : err);

		if (!rc)
			rc = wrc;
		error_clear(&werr);
	}
	batch_free(&b);
	return rc;
}

int do_extras(struct provider_run *run, struct dorun *d, struct buf *dry,
	      struct error *err)
{
	const struct host **todo = NULL;
	size_t nr = 0;
	int rc;

	for (size_t i = 0; i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];

		if (!do_role_is_ours(role))
			continue;
		for (size_t j = 0; j < role->nr_hosts; j++) {
			const struct host *h = &role->hosts[j];

			if (!wants_extras(h) || extras_done(run, h, dry) || dry)
				continue;
			todo = xrealloc(todo, (nr + 1) * sizeof(*todo));
			todo[nr++] = h;
		}
	}
	rc = nr ? do_hosts_extras(run, d, todo, NULL, nr, err) : 0;
	free(todo);
	return rc;
}

/* --- down ---------------------------------------------------------------- */

/* Before the droplet goes: the ids of the host's volume and reserved IP
 * that a stopped run left pending (the reserved IP is found only while
 * its droplet exists). */
int do_extras_resolve(struct provider_run *run, struct dorun *d,
		      const char *host, struct error *err)
{
	static const char *const kinds[] = { "volume", "reserved-ip" };
	int rc = 0;

	for (size_t i = 0; !rc && i < 2; i++) {
		struct state_resource *r = state_resource_find(
			run->state, "digitalocean", kinds[i], host);
		struct resource_ref ref = { kinds[i], host, NULL,
					    NULL,     NULL, NULL };
		char *id = NULL;

		if (!r || r->id || !r->key)
			continue;
		ref.key = r->key;
		rc = i == 0 ? volume_by_name(run, &ref, &id, err)
			    : rip_on(run, d, r->key, true, &id, err);
		r = state_resource_find(run->state, "digitalocean", kinds[i],
					host);
		if (!rc && id && r) {
			state_host_set(&r->id, id);
			rc = run->save(run, err);
		}
		free(id);
	}
	return rc;
}

/* Detach the volume from every droplet holding it. */
static int volume_detach(struct provider_run *run, struct dorun *d,
			 const char *id, const char *region, struct error *err)
{
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *it;
	int rc = volume_get(d, id, &doc, err);

	buf_addf(&path, "/v2/volumes/%s/actions", id);
	cJSON_ArrayForEach(
		it, cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(doc, "volume"),
			    "droplet_ids"))
	{
		cJSON *body = cJSON_CreateObject();

		if (rc)
			break;
		cJSON_AddStringToObject(body, "type", "detach");
		cJSON_AddItemToObject(body, "droplet_id",
				      cJSON_Duplicate(it, 1));
		if (region)
			cJSON_AddStringToObject(body, "region", region);
		rc = act(run, d, path.data, body, "volume detach", err);
		if (rc == DEPLOY_ERR_NOT_FOUND ||
		    !strcmp(do_error_id(d->api), "unprocessable_entity")) {
			error_clear(err); /* let go already */
			rc = 0;
		}
		cJSON_Delete(body);
	}
	if (rc == DEPLOY_ERR_NOT_FOUND) { /* the volume is gone */
		error_clear(err);
		rc = 0;
	}
	cJSON_Delete(doc);
	buf_free(&path);
	return rc;
}

/* Delete the volume. The API refuses (409) while it is attached: it is
 * detached from whatever holds it, and asked again, bounded (a droplet
 * just deleted lets go of its volumes after a while). */
static int volume_delete(struct provider_run *run, struct dorun *d,
			 const char *id, const char *region, struct error *err)
{
	long long deadline = now_ms() + DETACH_S * 1000LL;
	struct buf path = BUF_INIT;
	bool detached = false;
	long pause = 500;
	int rc;

	buf_addf(&path, "/v2/volumes/%s", id);
	for (;;) {
		rc = do_delete_gone_ok(d, path.data, err);
		if (!rc || strcmp(do_error_id(d->api), "conflict") ||
		    now_ms() > deadline || (run->stop && *run->stop))
			break;
		error_clear(err);
		if (!detached) {
			detached = true;
			rc = volume_detach(run, d, id, region, err);
			if (rc)
				break;
			continue;
		}
		provider_sleep(run, pause);
		if (pause < 4000)
			pause *= 2;
	}
	buf_free(&path);
	return rc;
}

/* After the droplet went: its volume and its reserved IP. */
int do_extras_delete(struct provider_run *run, struct dorun *d,
		     const char *host, struct error *err)
{
	static const char *const kinds[] = { "volume", "reserved-ip" };
	int rc = 0;

	for (size_t i = 0; !rc && i < 2; i++) {
		struct state_resource *r = state_resource_find(
			run->state, "digitalocean", kinds[i], host);
		char *id, *region;

		if (!r)
			continue;
		id = r->id ? xstrdup(r->id) : NULL;
		region = resource_attr(r, "region")
				 ? xstrdup(resource_attr(r, "region"))
				 : NULL;
		/* A volume left pending is found by its name (its key); a
		 * reserved IP only while its droplet exists (resolved then). */
		if (!id && i == 0 && r->key) {
			struct resource_ref ref = { "volume", host, NULL,
						    r->key,   NULL, NULL };

			rc = volume_by_name(run, &ref, &id, err);
		}
		if (!rc)
			rc = resource_deleting(run, kinds[i], host, err);
		if (!rc && id && i == 0) {
			rc = volume_delete(run, d, id, region, err);
		} else if (!rc && id) {
			struct buf path = BUF_INIT;

			buf_addf(&path, "/v2/reserved_ips/%s", id);
			rc = do_delete_gone_ok(d, path.data, err);
			buf_free(&path);
		}
		if (!rc)
			rc = resource_forget(run, kinds[i], host, err);
		free(id);
		free(region);
	}
	return rc;
}

struct orphans {
	const char *tag;
	char **ids;
	size_t nr;
};

static int collect_orphan(const cJSON *item, void *ud)
{
	struct orphans *o = ud;
	const cJSON *t;
	bool ours = false;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(item, "tags"))
		ours |= cJSON_IsString(t) && !strcmp(t->valuestring, o->tag);
	if (!ours || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
			     item, "droplet_ids")) > 0)
		return 0;
	o->ids = xrealloc(o->ids, (o->nr + 1) * sizeof(char *));
	o->ids[o->nr] =
		do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));
	o->nr += o->ids[o->nr] != NULL;
	return 0;
}

int do_volumes_orphaned(struct provider_run *run, struct dorun *d,
			struct error *err)
{
	struct orphans o = { NULL, NULL, 0 };
	bool disks = false;
	char *tag;
	int rc;

	for (size_t i = 0; i < run->t->nr_roles; i++)
		disks |= do_role_is_ours(&run->t->roles[i]) &&
			 run->t->roles[i].disk_size;
	if (!disks) /* no call for a topology without volumes */
		return 0;
	o.tag = tag = do_topology_tag(run);
	rc = do_list(d->api, "/v2/volumes", "volumes", collect_orphan, &o, err);

	for (size_t i = 0; i < o.nr; i++) {
		struct buf path = BUF_INIT;

		buf_addf(&path, "/v2/volumes/%s", o.ids[i]);
		if (!rc)
			rc = do_delete_gone_ok(d, path.data, err);
		buf_free(&path);
		free(o.ids[i]);
	}
	free(o.ids);
	free(tag);
	return rc;
}
