/* SPDX-License-Identifier: MIT */
/* DigitalOcean cloud firewalls: one per role, its inbound rules synced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/digitalocean/do-internal.h"
#include "providers/resource.h"
#include "providers/rules.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* One inbound rule as deploy writes it: a protocol, ports, one source
 * ("tag:deploy:NAME:ROLE" or a CIDR). */
struct rule {
	char proto[8];
	char ports[16]; /* "22", "9000-9010" */
	char src[160];
	bool seen;
};

struct rules {
	struct rule *v;
	size_t nr;
};

char *do_fw_name(const struct provider_run *run, const char *role)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy-%s-%s", run->t->name, role);
	for (size_t i = 0; i < b.len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-",
			    b.data[i]))
			b.data[i] = '-';
	return buf_release(&b);
}

static bool rule_is(const struct rule *a, const struct rule *b)
{
	return !strcmp(a->proto, b->proto) && !strcmp(a->ports, b->ports) &&
	       !strcmp(a->src, b->src);
}

static void rules_add(struct rules *r, const char *proto, int lo, int hi,
		      const char *src)
{
	struct rule n = { 0 };

	snprintf(n.proto, sizeof(n.proto), "%s", proto);
	if (lo == hi)
		snprintf(n.ports, sizeof(n.ports), "%d", lo);
	else
		snprintf(n.ports, sizeof(n.ports), "%d-%d", lo, hi);
	snprintf(n.src, sizeof(n.src), "%s", src);
	for (size_t i = 0; i < r->nr; i++)
		if (rule_is(&r->v[i], &n))
			return;
	r->v = xrealloc(r->v, (r->nr + 1) * sizeof(*r->v));
	r->v[r->nr++] = n;
}

struct want {
	struct provider_run *run;
	struct rules *r;
};

static void want_cidr(const struct rule_sink *s, const char *proto, int lo,
		      int hi, const char *cidr)
{
	struct want *w = s->arg;

	rules_add(w->r, proto, lo, hi, cidr);
}

/* A role as a source: its tag when its droplets are ours, else the
 * addresses of its hosts. */
static void want_role(const struct rule_sink *s, const struct role *src,
		      const char *proto, int lo, int hi)
{
	struct want *w = s->arg;
	char *t;
	struct buf b = BUF_INIT;

	if (!do_role_is_ours(src)) {
		rules_role_addresses(w->run, src, proto, lo, hi, s);
		return;
	}
	t = do_fw_tag(w->run, src->name);
	buf_addf(&b, "tag:%s", t);
	rules_add(w->r, proto, lo, hi, b.data);
	buf_free(&b);
	free(t);
}

/* What the role's firewall should let in: SSH from the bastion role or
 * admin_cidrs, then the role's firewall: rules. */
static void wanted_rules(struct provider_run *run, const struct role *role,
			 struct rules *r)
{
	struct want w = { run, r };
	struct rule_sink s = { want_cidr, want_role, &w };

	rules_wanted(run, role, &s);
}

/* The rule as the API takes it. */
static cJSON *rule_json(const struct rule *r, const char *side)
{
	cJSON *j = cJSON_CreateObject(), *where, *list;

	cJSON_AddStringToObject(j, "protocol", r->proto);
	cJSON_AddStringToObject(j, "ports", r->ports);
	where = cJSON_AddObjectToObject(j, side);
	if (!strncmp(r->src, "tag:", 4)) {
		list = cJSON_AddArrayToObject(where, "tags");
		cJSON_AddItemToArray(list, cJSON_CreateString(r->src + 4));
	} else {
		list = cJSON_AddArrayToObject(where, "addresses");
		cJSON_AddItemToArray(list, cJSON_CreateString(r->src));
	}
	return j;
}

/* Outbound open: every protocol to anywhere. */
static cJSON *outbound(void)
{
	static const char *const protos[] = { "tcp", "udp", "icmp" };
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; i < 3; i++) {
		cJSON *r = cJSON_CreateObject(), *d, *a;

		cJSON_AddStringToObject(r, "protocol", protos[i]);
		cJSON_AddStringToObject(r, "ports", "0");
		d = cJSON_AddObjectToObject(r, "destinations");
		a = cJSON_AddArrayToObject(d, "addresses");
		cJSON_AddItemToArray(a, cJSON_CreateString("0.0.0.0/0"));
		cJSON_AddItemToArray(a, cJSON_CreateString("::/0"));
		cJSON_AddItemToArray(list, r);
	}
	return list;
}

/* The inbound rules a firewall holds, one entry per source. */
static void held_rules(const cJSON *fw, struct rules *r)
{
	const cJSON *it;

	cJSON_ArrayForEach(
		it, cJSON_GetObjectItemCaseSensitive(fw, "inbound_rules"))
	{
		const cJSON *proto =
			cJSON_GetObjectItemCaseSensitive(it, "protocol");
		const cJSON *ports =
			cJSON_GetObjectItemCaseSensitive(it, "ports");
		const cJSON *src =
			cJSON_GetObjectItemCaseSensitive(it, "sources");
		const cJSON *s;
		int lo, hi;

		if (!cJSON_IsString(proto) || !cJSON_IsString(ports))
			continue;
		if (sscanf(ports->valuestring, "%d-%d", &lo, &hi) != 2) {
			lo = hi = (int)strtol(ports->valuestring, NULL, 10);
		}
		cJSON_ArrayForEach(
			s, cJSON_GetObjectItemCaseSensitive(
				   src, "addresses")) if (cJSON_IsString(s))
			rules_add(r, proto->valuestring, lo, hi,
				  s->valuestring);
		cJSON_ArrayForEach(s,
				   cJSON_GetObjectItemCaseSensitive(
					   src, "tags")) if (cJSON_IsString(s))
		{
			struct buf t = BUF_INIT;

			buf_addf(&t, "tag:%s", s->valuestring);
			rules_add(r, proto->valuestring, lo, hi, t.data);
			buf_free(&t);
		}
	}
}

static int fw_by_id(struct provider_run *run, const struct resource_ref *ref,
		    bool *exists, struct error *err)
{
	struct dorun *d = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/firewalls/%s", ref->id);
	rc = do_get_exists(d, path.data, exists, err);
	buf_free(&path);
	return rc;
}

struct fw_find {
	const char *name;
	char *id;
};

static int match_fw(const cJSON *item, void *ud)
{
	struct fw_find *f = ud;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");

	if (cJSON_IsString(name) && cJSON_IsString(id) &&
	    !strcmp(name->valuestring, f->name)) {
		f->id = xstrdup(id->valuestring);
		return 1;
	}
	return 0;
}

/* deploy's firewall names are its key: deploy-NAME-ROLE. Read from the
 * list do_firewalls() took once for all roles, when it took one. */
static int fw_by_name(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct fw_find f = { do_fw_name(run, ref->name), NULL };
	struct dorun *d = run->priv;
	const cJSON *it;
	int rc = 0;

	if (d->firewalls) {
		cJSON_ArrayForEach(it, d->firewalls)
		{
			if (match_fw(it, &f))
				break;
		}
	} else {
		rc = do_list(d->api, "/v2/firewalls", "firewalls", match_fw, &f,
			     err);
	}
	free((char *)f.name);
	*id = f.id;
	return rc < 0 ? rc : 0;
}

static int keep_fw(const cJSON *item, void *ud)
{
	cJSON_AddItemToArray(ud, cJSON_Duplicate(item, true));
	return 0;
}

static cJSON *fw_body(struct provider_run *run, const struct role *role)
{
	struct rules want = { 0 };
	cJSON *body = cJSON_CreateObject(), *in, *tags;
	char *name = do_fw_name(run, role->name),
	     *t = do_fw_tag(run, role->name);

	wanted_rules(run, role, &want);
	cJSON_AddStringToObject(body, "name", name);
	in = cJSON_AddArrayToObject(body, "inbound_rules");
	for (size_t i = 0; i < want.nr; i++)
		cJSON_AddItemToArray(in, rule_json(&want.v[i], "sources"));
	cJSON_AddItemToObject(body, "outbound_rules", outbound());
	tags = cJSON_AddArrayToObject(body, "tags");
	cJSON_AddItemToArray(tags, cJSON_CreateString(t));
	free(want.v);
	free(name);
	free(t);
	return body;
}

/* The firewalls refs[] made at once, each with its rules. */
static int fw_create_many(struct provider_run *run,
			  const struct resource_ref *const *refs, size_t n,
			  char **ids, struct error *err)
{
	struct do_req *v = xcalloc(n + 1, sizeof(*v));
	struct dorun *d = run->priv;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i].method = "POST";
		v[i].path = "/v2/firewalls";
		v[i].body = fw_body(run, refs[i]->arg);
		v[i].answer = true;
	}
	do_call_many(d->api, v, n);
	for (size_t i = 0; i < n; i++) {
		const cJSON *fid = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(v[i].out, "firewall"),
			"id");
		int r = v[i].rc;

		if (!r && !cJSON_IsString(fid))
			r = error_set(&v[i].err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				      "digitalocean POST /v2/firewalls: no id "
				      "in the answer");
		if (!r)
			ids[i] = xstrdup(fid->valuestring);
		if (r && !rc)
			rc = error_set(err, r, NULL, 0, 0, "%s", v[i].err.msg);
		error_clear(&v[i].err);
		cJSON_Delete(v[i].out);
		cJSON_Delete((cJSON *)v[i].body);
	}
	free(v);
	return rc;
}

static int fw_create(struct provider_run *run, const struct resource_ref *ref,
		     char **id, struct error *err)
{
	return fw_create_many(run, &ref, 1, id, err);
}

static const struct resource_kind do_fw = {
	.kind = "firewall",
	.find_by_id = fw_by_id,
	.find_by_key = fw_by_name,
	.find_by_tags = fw_by_name,
	.create = fw_create,
	.create_many = fw_create_many,
};

/* The request adding or removing (method) one inbound rule; path and
 * the body are the caller's to free. */
static void rule_req(struct do_req *v, struct buf *path, const char *method,
		     const char *id, const struct rule *r)
{
	cJSON *body = cJSON_CreateObject(), *in;

	in = cJSON_AddArrayToObject(body, "inbound_rules");
	cJSON_AddItemToArray(in, rule_json(r, "sources"));
	buf_addf(path, "/v2/firewalls/%s/rules", id);
	v->method = method;
	v->path = path->data;
	v->body = body;
	v->flags = DO_SAFE;
}

/* The rules missing from want (added) and those of have not wanted
 * (removed), at once. */
static int rule_calls(struct dorun *d, const char *id, const struct rules *want,
		      const struct rules *have, struct error *err)
{
	size_t n = want->nr + have->nr, nv = 0;
	struct do_req *v = xcalloc(n + 1, sizeof(*v));
	struct buf *paths = xcalloc(n + 1, sizeof(*paths));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		bool add = i < want->nr;
		const struct rule *r =
			add ? &want->v[i] : &have->v[i - want->nr];

		if (r->seen)
			continue;
		buf_init(&paths[nv], 0);
		rule_req(&v[nv], &paths[nv], add ? "POST" : "DELETE", id, r);
		nv++;
	}
	if (nv)
		do_call_many(d->api, v, nv);
	for (size_t i = 0; i < nv; i++) {
		if (v[i].rc && !rc)
			rc = error_set(err, v[i].rc, NULL, 0, 0, "%s",
				       v[i].err.msg);
		error_clear(&v[i].err);
		cJSON_Delete(v[i].out);
		cJSON_Delete((cJSON *)v[i].body);
		buf_free(&paths[i]);
	}
	free(v);
	free(paths);
	return rc;
}

/* Make the firewall's inbound rules what the topology says, rule by rule
 * (or, with dry, say what would change: "~ digitalocean firewall ROLE:
 * + tcp 9000 from tag:deploy:NAME:sentry"). */
static int sync_rules(struct provider_run *run, struct dorun *d,
		      const struct role *role, const char *id, struct buf *dry,
		      struct error *err)
{
	struct rules want = { 0 }, have = { 0 };
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	int rc;

	buf_addf(&path, "/v2/firewalls/%s", id);
	rc = do_call(d->api, "GET", path.data, NULL, 0, &doc, NULL, err);
	buf_free(&path);
	if (rc)
		return rc;
	held_rules(cJSON_GetObjectItemCaseSensitive(doc, "firewall"), &have);
	cJSON_Delete(doc);
	wanted_rules(run, role, &want);
	for (size_t i = 0; i < want.nr; i++)
		for (size_t j = 0; j < have.nr; j++)
			if (rule_is(&want.v[i], &have.v[j]))
				want.v[i].seen = have.v[j].seen = true;
	for (size_t i = 0; dry && i < want.nr + have.nr; i++) {
		const struct rule *r =
			i < want.nr ? &want.v[i] : &have.v[i - want.nr];

		if (!r->seen)
			buf_addf(dry,
				 "~ digitalocean firewall %s: %c %s %s from "
				 "%s\n",
				 role->name, i < want.nr ? '+' : '-', r->proto,
				 r->ports, r->src);
	}
	if (!dry)
		rc = rule_calls(d, id, &want, &have, err);
	free(want.v);
	free(have.v);
	return rc;
}

/* Every role of ours gets its firewall (made with its rules: the creates
 * at once, after one list of the firewalls when one is to be looked for),
 * then the rules of each firewall not made now are synced. With dry: only
 * recorded firewalls are compared, nothing changes. */
int do_firewalls(struct provider_run *run, struct dorun *d, struct buf *dry,
		 struct error *err)
{
	struct resource_want *w = xcalloc(run->t->nr_roles + 1, sizeof(*w));
	const struct role **roles =
		xcalloc(run->t->nr_roles + 1, sizeof(*roles));
	bool look = false;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];
		struct state_resource *res;

		if (!do_role_is_ours(role))
			continue;
		res = state_resource_find(run->state, "digitalocean",
					  "firewall", role->name);
		if (dry) {
			if (!res || !res->id)
				buf_addf(dry, "+ digitalocean firewall %s\n",
					 role->name);
			else
				rc = sync_rules(run, d, role, res->id, dry,
						err);
			continue;
		}
		look |= !res || !res->id;
		roles[n] = role;
		w[n].name = role->name;
		w[n].role = role->name;
		w[n++].arg = (void *)role;
	}
	if (!rc && look) {
		d->firewalls = cJSON_CreateArray();
		rc = do_list(d->api, "/v2/firewalls", "firewalls", keep_fw,
			     d->firewalls, err);
	}
	if (!rc && n)
		rc = resource_ensure_many(run, &do_fw, w, n, err);
	cJSON_Delete(d->firewalls);
	d->firewalls = NULL;
	for (size_t i = 0; !rc && i < n; i++)
		if (w[i].id && w[i].outcome != RESOURCE_MADE)
			rc = sync_rules(run, d, roles[i], w[i].id, NULL, err);
	for (size_t i = 0; i < n; i++)
		free(w[i].id);
	free(w);
	free(roles);
	return rc;
}

/* Delete the firewalls recorded (and a pending one, by its name), the
 * deletes at once; those deleted are forgotten even when another fails. */
int do_firewalls_down(struct provider_run *run, struct dorun *d,
		      struct error *err)
{
	size_t max = run->state->nr_resources, n = 0, nd = 0;
	char **names = xcalloc(max + 1, sizeof(*names));
	char **ids = xcalloc(max + 1, sizeof(*ids));
	bool *gone = xcalloc(max + 1, sizeof(bool));
	const char **done = xcalloc(max + 1, sizeof(*done));
	int rc = 0;

	for (size_t i = 0; i < max; i++) {
		const struct state_resource *r = &run->state->resources[i];

		if (strcmp(r->provider, "digitalocean") ||
		    strcmp(r->kind, "firewall"))
			continue;
		names[n] = xstrdup(r->name);
		ids[n++] = r->id ? xstrdup(r->id) : NULL;
	}
	if (n)
		rc = resource_deleting_many(run, "firewall",
					    (const char *const *)names, n, err);
	for (size_t i = 0; !rc && i < n; i++)
		if (!ids[i]) /* pending: found by its name, if made */
			rc = fw_by_name(run,
					&(struct resource_ref){
						"firewall", names[i], NULL,
						NULL, NULL, NULL },
					&ids[i], err);
	if (!rc)
		rc = do_delete_many(d, "/v2/firewalls", ids, n, gone, err);
	for (size_t i = 0; i < n; i++)
		if (gone[i])
			done[nd++] = names[i];
	if (nd) {
		struct error e2;

		error_init(&e2);
		if (resource_forget_many(run, "firewall", done, nd,
					 rc ? &e2 : err) &&
		    !rc)
			rc = err->code;
		error_clear(&e2);
	}
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(ids[i]);
	}
	free(names);
	free(ids);
	free(gone);
	free(done);
	return rc;
}
