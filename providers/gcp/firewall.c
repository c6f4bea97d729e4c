/* SPDX-License-Identifier: MIT */
/* GCP firewall rules: one per rule of a role, by target tag, synced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gcp/gcp-internal.h"
#include "providers/rules.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NAME_HEAD 54

/* One inbound rule: a protocol, ports and one source ("tag:TAG" or a
 * CIDR), with what the topology wrote for messages. */
struct rule {
	const struct role *role;
	char proto[8];
	char ports[16]; /* "22", "9000-9010" */
	char src[96];
	char from[96];
	char name[64];
	bool seen;
};

struct rules {
	struct rule *v;
	size_t nr;
};

static unsigned long hash(const char *s, unsigned long h)
{
	for (; *s; s++)
		h = ((h ^ (unsigned char)*s) * 16777619u) & 0xffffffffu;
	return h;
}

/* deploy-TOPOLOGY-ROLE-HASH, the hash of the rule: a changed rule is a
 * new firewall, an unchanged one keeps its name. */
static void rule_name(const struct provider_run *run, struct rule *r)
{
	char *head = gcp_name("deploy", run->t->name, r->role->name);
	unsigned long h = hash(run->t->name, 2166136261u);
	size_t len = strlen(head);

	h = hash(r->role->name, hash("|", h));
	h = hash(r->proto, hash("|", h));
	h = hash(r->ports, hash("|", h));
	h = hash(r->src, hash("|", h));
	if (len > NAME_HEAD)
		len = NAME_HEAD;
	while (len && head[len - 1] == '-')
		len--;
	snprintf(r->name, sizeof(r->name), "%.*s-%08lx", (int)len, head, h);
	free(head);
}

static void rules_add(const struct provider_run *run, struct rules *r,
		      const struct role *role, const char *proto, int lo,
		      int hi, const char *src, const char *from)
{
	struct rule n = { 0 };

	n.role = role;
	snprintf(n.proto, sizeof(n.proto), "%s", proto);
	if (lo == hi)
		snprintf(n.ports, sizeof(n.ports), "%d", lo);
	else
		snprintf(n.ports, sizeof(n.ports), "%d-%d", lo, hi);
	snprintf(n.src, sizeof(n.src), "%s", src);
	snprintf(n.from, sizeof(n.from), "%s", from);
	rule_name(run, &n);
	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->v[i].name, n.name))
			return;
	r->v = xrealloc(r->v, (r->nr + 1) * sizeof(*r->v));
	r->v[r->nr++] = n;
}

struct want {
	struct provider_run *run;
	struct rules *r;
	const struct role *role;
};

/* A CIDR source; GCP's rules here are IPv4 only, so IPv6 ones are left
 * out. */
static void want_cidr(const struct rule_sink *s, const char *proto, int lo,
		      int hi, const char *cidr)
{
	struct want *w = s->arg;

	if (!strchr(cidr, ':'))
		rules_add(w->run, w->r, w->role, proto, lo, hi, cidr, cidr);
}

/* A role as a source: its tag when its instances are ours, else the
 * addresses recorded for its hosts. */
static void want_role(const struct rule_sink *s, const struct role *src,
		      const char *proto, int lo, int hi)
{
	struct want *w = s->arg;
	char *t;
	struct buf b = BUF_INIT;

	if (!gcp_role_is_ours(src)) {
		rules_role_addresses(w->run, src, proto, lo, hi, s);
		return;
	}
	t = gcp_role_tag(w->run, src->name);
	buf_addf(&b, "tag:%s", t);
	rules_add(w->run, w->r, w->role, proto, lo, hi, b.data, src->name);
	buf_free(&b);
	free(t);
}

/* What the role lets in: SSH from its via role or admin_cidrs, then its
 * firewall: rules. */
static void wanted_rules(struct provider_run *run, const struct role *role,
			 struct rules *r)
{
	struct want w = { run, r, role };
	struct rule_sink s = { want_cidr, want_role, &w };

	rules_wanted(run, role, &s);
}

static void all_wanted(struct provider_run *run, struct rules *r)
{
	for (size_t i = 0; i < run->t->nr_roles; i++)
		if (gcp_role_is_ours(&run->t->roles[i]))
			wanted_rules(run, &run->t->roles[i], r);
}

static char *rule_text(const struct rule *r)
{
	struct buf t = BUF_INIT;

	buf_addf(&t, "%s %s from %s", r->proto, r->ports, r->from);
	return buf_release(&t);
}

/* --- the firewall resource ----------------------------------------------- */

static int fw_get(struct provider_run *run, const char *name, bool *exists,
		  struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "global/firewalls/%s", name);
	rc = gcp_get(g->c, path.data, "firewalls.get", exists, NULL, err);
	buf_free(&path);
	return rc;
}

static int fw_by_id(struct provider_run *run, const struct resource_ref *ref,
		    bool *exists, struct error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "global/firewalls/%s", ref->id);
	rc = gcp_exists_or_running(run, ref, "global", path.data,
				   "firewalls.get", exists, err);
	buf_free(&path);
	return rc;
}

/* deploy's firewall names are their own key. One not in the list
 * gcp_firewalls() took is not asked for. */
static int fw_by_name(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct gcprun *g = run->priv;
	bool exists = false;
	int rc;

	*id = NULL;
	if (g->fw_held &&
	    !gcp_strings_have(g->fw_held, g->nr_fw_held, ref->name))
		return 0;
	rc = fw_get(run, ref->name, &exists, err);

	*id = !rc && exists ? xstrdup(ref->name) : NULL;
	return rc;
}

static int fw_insert(struct provider_run *run, const struct resource_ref *ref,
		     struct gcp_insert_of *o, struct error *err)
{
	const struct rule *r = ref->arg;
	struct gcprun *g = run->priv;
	cJSON *body = cJSON_CreateObject(), *allowed, *a, *ports, *src, *tgt;
	char *tag = gcp_role_tag(run, r->role->name);
	struct buf desc = BUF_INIT, net = BUF_INIT;

	(void)err;

	buf_addf(&desc, "deploy-topology=%s deploy-role=%s: %s %s from %s",
		 run->t->name, r->role->name, r->proto, r->ports, r->from);
	buf_addf(&net, "projects/%s/global/networks/%s", g->c->project,
		 g->network);
	buf_addf(&o->what, "firewalls.insert %s", r->name);
	buf_adds(&o->path, "global/firewalls");
	o->name = xstrdup(r->name);
	cJSON_AddStringToObject(body, "name", r->name);
	cJSON_AddStringToObject(body, "description", desc.data);
	cJSON_AddStringToObject(body, "network", net.data);
	cJSON_AddStringToObject(body, "direction", "INGRESS");
	cJSON_AddNumberToObject(body, "priority", 1000);
	allowed = cJSON_AddArrayToObject(body, "allowed");
	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "IPProtocol", r->proto);
	ports = cJSON_AddArrayToObject(a, "ports");
	cJSON_AddItemToArray(ports, cJSON_CreateString(r->ports));
	cJSON_AddItemToArray(allowed, a);
	if (!strncmp(r->src, "tag:", 4)) {
		src = cJSON_AddArrayToObject(body, "sourceTags");
		cJSON_AddItemToArray(src, cJSON_CreateString(r->src + 4));
	} else {
		src = cJSON_AddArrayToObject(body, "sourceRanges");
		cJSON_AddItemToArray(src, cJSON_CreateString(r->src));
	}
	tgt = cJSON_AddArrayToObject(body, "targetTags");
	cJSON_AddItemToArray(tgt, cJSON_CreateString(tag));
	o->body = body;
	free(tag);
	buf_free(&desc);
	buf_free(&net);
	return 0;
}

/* The rules' firewalls refs[] at once. */
static int fw_create_many(struct provider_run *run,
			  const struct resource_ref *const *refs, size_t n,
			  char **ids, struct error *err)
{
	return gcp_inserts(run, refs, n, fw_insert, ids, err);
}

static int fw_create(struct provider_run *run, const struct resource_ref *ref,
		     char **id, struct error *err)
{
	return fw_create_many(run, &ref, 1, id, err);
}

static void fw_attributes(struct provider_run *run,
			  const struct resource_ref *ref,
			  struct state_resource *res)
{
	const struct rule *r = ref->arg;
	char *text;

	(void)run;
	if (!r)
		return;
	text = rule_text(r);
	resource_set_attr(res, "rule", text);
	free(text);
}

static const struct resource_kind gcp_fw = {
	.kind = "firewall",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = fw_by_id,
	.find_by_tags = fw_by_name,
	.create = fw_create,
	.create_many = fw_create_many,
	.attributes = fw_attributes,
};

/* --- what the project holds ---------------------------------------------- */

struct held {
	const struct provider_run *run;
	char **names;
	char **texts; /* the rule part of the description */
	bool *seen;
	size_t nr;
};

static int collect_fw(const cJSON *item, void *ud)
{
	struct held *h = ud;
	const char *name = gcp_json_str(item, "name");
	const char *desc = gcp_json_str(item, "description");
	struct buf want = BUF_INIT;
	const char *colon;

	buf_addf(&want, "deploy-topology=%s deploy-role=", h->run->t->name);
	if (name && desc && !strncmp(desc, want.data, want.len)) {
		colon = strstr(desc + want.len, ": ");
		h->names = xrealloc(h->names, (h->nr + 1) * sizeof(char *));
		h->texts = xrealloc(h->texts, (h->nr + 1) * sizeof(char *));
		h->seen = xrealloc(h->seen, (h->nr + 1) * sizeof(bool));
		h->names[h->nr] = xstrdup(name);
		h->texts[h->nr] = xstrdup(colon ? colon + 2 : "");
		h->seen[h->nr++] = false;
	}
	buf_free(&want);
	return 0;
}

static void held_free(struct held *h)
{
	for (size_t i = 0; i < h->nr; i++) {
		free(h->names[i]);
		free(h->texts[i]);
	}
	free(h->names);
	free(h->texts);
	free(h->seen);
}

/* One list call for every firewall of the topology. */
static int held_list(struct provider_run *run, struct gcprun *g, struct held *h,
		     struct error *err)
{
	char *prefix = gcp_name("deploy", run->t->name, NULL);
	struct buf filter = BUF_INIT;
	int rc;

	if (strlen(prefix) < NAME_HEAD)
		buf_addf(&filter, "name eq \"%s-.*\"", prefix);
	rc = gcp_list(g->c, "global/firewalls", filter.len ? filter.data : NULL,
		      collect_fw, h, "firewalls.list", err);
	buf_free(&filter);
	free(prefix);
	return rc;
}

static int held_index(const struct held *h, const char *name)
{
	for (size_t i = 0; i < h->nr; i++)
		if (!strcmp(h->names[i], name))
			return (int)i;
	return -1;
}

static bool wanted(const struct rules *w, const char *name)
{
	for (size_t i = 0; i < w->nr; i++)
		if (!strcmp(w->v[i].name, name))
			return true;
	return false;
}

static int delete_fw(struct provider_run *run, struct gcprun *g,
		     const char *name, struct error *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	int rc;

	buf_addf(&path, "global/firewalls/%s", name);
	buf_addf(&what, "firewalls.delete %s", name);
	rc = gcp_delete(run, g->c, path.data, what.data, err);
	buf_free(&path);
	buf_free(&what);
	return rc;
}

/* Remove one recorded firewall (or one found with no record). */
static int remove_fw(struct provider_run *run, struct gcprun *g,
		     const char *name, struct error *err)
{
	char *n = xstrdup(name);
	int rc = resource_deleting(run, "firewall", n, err);

	if (rc == DEPLOY_ERR_NOT_FOUND) {
		rc = delete_fw(run, g, n, err);
		free(n);
		return rc;
	}
	if (!rc)
		rc = delete_fw(run, g, n, err);
	if (!rc)
		rc = resource_forget(run, "firewall", n, err);
	free(n);
	return rc;
}

/* The firewall inserts this run sent, waited for at once (they run at
 * the same time at Google); the first error is the run's. */
static int wait_inserts(struct provider_run *run, struct gcprun *g,
			struct error *err)
{
	size_t max = run->state->nr_resources, n = 0;
	struct gcp_op *v = xcalloc(max + 1, sizeof(*v));
	struct buf *what = xcalloc(max + 1, sizeof(*what));
	char **names = xcalloc(max + 1, sizeof(*names));
	int first = 0, fatal = 0;

	for (size_t i = 0; i < max; i++) {
		struct state_resource *res = &run->state->resources[i];
		cJSON *op;

		if (strcmp(res->provider, "gcp") ||
		    strcmp(res->kind, "firewall") ||
		    !resource_attr(res, "operation"))
			continue;
		op = cJSON_CreateObject();
		cJSON_AddStringToObject(op, "name",
					resource_attr(res, "operation"));
		buf_init(&what[n], 0);
		buf_addf(&what[n], "firewalls.insert %s", res->name);
		names[n] = xstrdup(res->name);
		v[n].op = op;
		v[n].what = what[n].data;
		n++;
	}
	if (n)
		gcp_wait_many(g->c, v, n);
	for (size_t k = 0; k < n; k++) {
		int rc = v[k].rc;
		struct state_resource *res;

		if (rc == DEPLOY_ERR_INTERRUPTED || rc == DEPLOY_ERR_TIMEOUT ||
		    rc == DEPLOY_ERR_UNREACHABLE) {
			if (!fatal)
				error_set(err, rc, NULL, 0, 0, "%s",
					  v[k].err.msg);
			fatal = fatal ? fatal : rc;
		} else {
			/* Done: the firewall is there, or the next run makes
			 * it. */
			res = state_resource_find(run->state, "gcp", "firewall",
						  names[k]);
			if (res)
				resource_set_attr(res, "operation", NULL);
			if (rc && !first && !fatal)
				error_set(err, rc, NULL, 0, 0, "%s",
					  v[k].err.msg);
			if (rc && !first)
				first = rc;
		}
		error_clear(&v[k].err);
		cJSON_Delete(v[k].done);
		cJSON_Delete((cJSON *)v[k].op);
		buf_free(&what[k]);
		free(names[k]);
	}
	free(v);
	free(what);
	free(names);
	return resource_save_after(run, fatal ? fatal : first, err);
}

int gcp_firewalls(struct provider_run *run, struct gcprun *g, struct buf *dry,
		  struct error *err)
{
	struct rules want = { 0 };
	struct held h = { run, NULL, NULL, NULL, 0 };
	int rc;

	struct resource_want *w;
	size_t nw = 0;

	all_wanted(run, &want);
	w = xcalloc(want.nr + 1, sizeof(*w));
	rc = held_list(run, g, &h, err);
	/* The rules wanted: made when the project lacks them, at once. */
	for (size_t i = 0; !rc && i < want.nr; i++) {
		struct rule *r = &want.v[i];
		const struct state_resource *res = state_resource_find(
			run->state, "gcp", "firewall", r->name);
		int at = held_index(&h, r->name);

		if (at >= 0)
			h.seen[at] = true;
		if (at >= 0 && res && res->status == RESOURCE_CREATED)
			continue;
		if (dry) {
			if (at < 0)
				buf_addf(dry,
					 "~ gcp firewall %s: + %s %s from "
					 "%s\n",
					 r->role->name, r->proto, r->ports,
					 r->from);
			continue;
		}
		w[nw].name = r->name;
		w[nw].role = r->role->name;
		w[nw++].arg = r;
	}
	if (!rc && nw) {
		g->fw_held = h.names;
		g->nr_fw_held = h.nr;
		rc = resource_ensure_many(run, &gcp_fw, w, nw, err);
		g->fw_held = NULL;
	}
	for (size_t i = 0; i < nw; i++)
		free(w[i].id);
	free(w);
	if (!rc && !dry)
		rc = wait_inserts(run, g, err);
	/* Recorded ones no role wants any more. */
	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		struct state_resource *res = &run->state->resources[i];
		int at;

		if (strcmp(res->provider, "gcp") ||
		    strcmp(res->kind, "firewall") || wanted(&want, res->name))
			continue;
		at = held_index(&h, res->name);
		if (at >= 0)
			h.seen[at] = true;
		if (dry) {
			buf_addf(dry, "~ gcp firewall %s: - %s\n",
				 res->role ? res->role : res->name,
				 resource_attr(res, "rule")
					 ? resource_attr(res, "rule")
					 : res->name);
			continue;
		}
		rc = remove_fw(run, g, res->name, err);
		i = (size_t)-1; /* the records moved: from the start */
	}
	/* The topology's firewalls with no record (a lost state). */
	for (size_t i = 0; !rc && i < h.nr; i++) {
		if (h.seen[i] || wanted(&want, h.names[i]))
			continue;
		if (dry)
			buf_addf(dry, "~ gcp firewall %s: - %s\n", h.names[i],
				 h.texts[i]);
		else
			rc = delete_fw(run, g, h.names[i], err);
	}
	held_free(&h);
	free(want.v);
	return rc;
}

/* Every firewall recorded, and any other of the topology. */
int gcp_firewalls_down(struct provider_run *run, struct gcprun *g,
		       struct error *err)
{
	struct held h = { run, NULL, NULL, NULL, 0 };
	int rc = 0;

	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		struct state_resource *res = &run->state->resources[i];

		if (strcmp(res->provider, "gcp") ||
		    strcmp(res->kind, "firewall"))
			continue;
		rc = remove_fw(run, g, res->name, err);
		i = (size_t)-1;
	}
	if (!rc)
		rc = held_list(run, g, &h, err);
	for (size_t i = 0; !rc && i < h.nr; i++)
		rc = delete_fw(run, g, h.names[i], err);
	held_free(&h);
	return rc;
}
