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

/* deploy's firewall names are its key: deploy-NAME-ROLE. */
static int fw_by_name(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct fw_find f = { do_fw_name(run, ref->name), NULL };
	struct dorun *d = run->priv;
	int rc = do_list(d->api, "/v2/firewalls", "firewalls", match_fw, &f,
			 err);

	free((char *)f.name);
	*id = f.id;
	return rc < 0 ? rc : 0;
}

static int fw_create(struct provider_run *run, const struct resource_ref *ref,
		     char **id, struct error *err)
{
	const struct role *role = ref->arg;
	struct dorun *d = run->priv;
	struct rules want = { 0 };
	cJSON *body = cJSON_CreateObject(), *in, *tags, *doc = NULL;
	char *name = do_fw_name(run, role->name),
	     *t = do_fw_tag(run, role->name);
	const cJSON *fid;
	int rc;

	wanted_rules(run, role, &want);
	cJSON_AddStringToObject(body, "name", name);
	in = cJSON_AddArrayToObject(body, "inbound_rules");
	for (size_t i = 0; i < want.nr; i++)
		cJSON_AddItemToArray(in, rule_json(&want.v[i], "sources"));
	cJSON_AddItemToObject(body, "outbound_rules", outbound());
	tags = cJSON_AddArrayToObject(body, "tags");
	cJSON_AddItemToArray(tags, cJSON_CreateString(t));
	rc = do_call(d->api, "POST", "/v2/firewalls", body, 0, &doc, NULL, err);
	fid = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "firewall"), "id");
	if (!rc && !cJSON_IsString(fid))
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "digitalocean POST /v2/firewalls: no id in "
			       "the answer");
	if (!rc)
		*id = xstrdup(fid->valuestring);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	free(want.v);
	free(name);
	free(t);
	return rc;
}

static const struct resource_kind do_fw = {
	.kind = "firewall",
	.find_by_id = fw_by_id,
	.find_by_key = fw_by_name,
	.find_by_tags = fw_by_name,
	.create = fw_create,
};

/* Add or remove (method) one inbound rule. */
static int rule_call(struct dorun *d, const char *method, const char *id,
		     const struct rule *r, struct error *err)
{
	cJSON *body = cJSON_CreateObject(), *in;
	struct buf path = BUF_INIT;
	int rc;

	in = cJSON_AddArrayToObject(body, "inbound_rules");
	cJSON_AddItemToArray(in, rule_json(r, "sources"));
	buf_addf(&path, "/v2/firewalls/%s/rules", id);
	rc = do_call(d->api, method, path.data, body, DO_SAFE, NULL, NULL, err);
	buf_free(&path);
	cJSON_Delete(body);
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
	for (size_t i = 0; !dry && !rc && i < want.nr; i++)
		if (!want.v[i].seen)
			rc = rule_call(d, "POST", id, &want.v[i], err);
	for (size_t i = 0; !dry && !rc && i < have.nr; i++)
		if (!have.v[i].seen)
			rc = rule_call(d, "DELETE", id, &have.v[i], err);
	free(want.v);
	free(have.v);
	return rc;
}

/* Every role of ours gets its firewall (made with its rules), then each
 * firewall's rules are synced. With dry: only recorded firewalls are
 * compared, nothing changes. */
int do_firewalls(struct provider_run *run, struct dorun *d, struct buf *dry,
		 struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];
		struct state_resource *res;
		char *id = NULL;

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
		rc = resource_ensure(run, &do_fw, role->name, role->name,
				     (void *)role, &id, NULL, err);
		if (!rc)
			rc = sync_rules(run, d, role, id, NULL, err);
		free(id);
	}
	return rc;
}

/* Delete the firewalls recorded (and a pending one, by its name). */
int do_firewalls_down(struct provider_run *run, struct dorun *d,
		      struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		struct state_resource *r = &run->state->resources[i];
		char *name, *id;

		if (strcmp(r->provider, "digitalocean") ||
		    strcmp(r->kind, "firewall"))
			continue;
		name = xstrdup(r->name);
		id = r->id ? xstrdup(r->id) : NULL;
		rc = resource_deleting(run, "firewall", name, err);
		if (!rc && !id)
			rc = fw_by_name(
				run,
				&(struct resource_ref){ "firewall", name, NULL,
							NULL, NULL, NULL },
				&id, err);
		if (!rc && id) {
			struct buf path = BUF_INIT;

			buf_addf(&path, "/v2/firewalls/%s", id);
			rc = do_call(d->api, "DELETE", path.data, NULL, 0, NULL,
				     NULL, err);
			if (rc == DEPLOY_ERR_NOT_FOUND) {
				error_clear(err);
				rc = 0;
			}
			buf_free(&path);
		}
		if (!rc)
			rc = resource_forget(run, "firewall", name, err);
		free(name);
		free(id);
		i = (size_t)-1; /* the records moved: from the start */
	}
	return rc;
}
