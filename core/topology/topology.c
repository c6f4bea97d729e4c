/* SPDX-License-Identifier: MIT */
/* Loading a topology: YAML, the schema, then typed structs with positions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/topology.h"
#include "topology/inventory.h"
#include "topology/schema.h"
#include "providers/provider.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Typed getters that skip what the schema already reported as wrong. */

static const char *get_str(const struct ynode *m, const char *key)
{
	const struct ynode *n = ynode_get(m, key);

	return ynode_is_string(n) ? n->value : NULL;
}

static long get_int(const struct ynode *m, const char *key, long def)
{
	long v;

	return ynode_int(ynode_get(m, key), &v) ? def : v;
}

static bool get_bool(const struct ynode *m, const char *key, bool def)
{
	bool v;

	return ynode_bool(ynode_get(m, key), &v) ? def : v;
}

static const struct ynode *get_map(const struct ynode *m, const char *key)
{
	const struct ynode *n = ynode_get(m, key);

	return n && n->kind == YNODE_MAP ? n : NULL;
}

static const struct ynode *get_seq(const struct ynode *m, const char *key)
{
	const struct ynode *n = ynode_get(m, key);

	return n && n->kind == YNODE_SEQ ? n : NULL;
}

static void build_ssh(struct topology *t, const struct ynode *m)
{
	struct ssh_conf *s = &t->ssh;
	const struct ynode *cidrs = get_seq(m, "admin_cidrs");
	const char *mode = get_str(m, "host_keys");
	const char *why;

	s->user = get_str(m, "user");
	if (!s->user)
		s->user = DEFAULT_SSH_USER;
	s->key = get_str(m, "key");
	s->known_hosts = get_str(m, "known_hosts");
	s->allow_world_ssh = get_bool(m, "allow_world_ssh", false);
	s->allow_world_node = ynode_get(m, "allow_world_ssh");
	s->host_keys = mode && !strcmp(mode, "strict") ? HOST_KEYS_STRICT
						       : HOST_KEYS_ACCEPT_NEW;
	if (!cidrs)
		return;
	s->admin_cidrs = xcalloc(cidrs->nr, sizeof(*s->admin_cidrs));
	s->admin_cidr_nodes = xcalloc(cidrs->nr, sizeof(*s->admin_cidr_nodes));
	for (size_t i = 0; i < cidrs->nr; i++) {
		const struct ynode *n = cidrs->items[i];

		if (!ynode_is_string(n) ||
		    cidr_parse(n->value, &s->admin_cidrs[s->nr_admin_cidrs],
			       &why))
			continue;
		s->admin_cidr_nodes[s->nr_admin_cidrs++] = n;
	}
}

static void build_providers(struct topology *t, const struct ynode *m)
{
	if (!m)
		return;
	t->providers = xcalloc(m->nr, sizeof(*t->providers));
	for (size_t i = 0; i < m->nr; i++) {
		const struct provider_ops *p =
			provider_find(m->pairs[i].key->value);

		if (!p)
			continue; /* reported by the schema */
		t->providers[t->nr_providers].provider = p;
		t->providers[t->nr_providers].node = m->pairs[i].key;
		t->providers[t->nr_providers].config = m->pairs[i].value;
		t->nr_providers++;
	}
}

static void build_secrets(struct topology *t, const struct ynode *m)
{
	if (!m)
		return;
	t->secrets = xcalloc(m->nr, sizeof(*t->secrets));
	for (size_t i = 0; i < m->nr; i++) {
		const struct ynode *v = m->pairs[i].value;
		struct secret *s = &t->secrets[t->nr_secrets];

		s->name = m->pairs[i].key->value;
		s->node = m->pairs[i].key;
		s->from_env = get_str(v, "env") != NULL;
		s->ref = s->from_env ? get_str(v, "env") : get_str(v, "file");
		/* Both or neither: reported by the schema, checked no more. */
		if (s->ref && !(s->from_env && get_str(v, "file")))
			t->nr_secrets++;
	}
}

static void build_sources(struct topology *t, const struct ynode *m)
{
	if (!m)
		return;
	t->sources = xcalloc(m->nr, sizeof(*t->sources));
	for (size_t i = 0; i < m->nr; i++) {
		const struct ynode *v = m->pairs[i].value;
		struct source *s = &t->sources[t->nr_sources++];

		s->name = m->pairs[i].key->value;
		s->node = m->pairs[i].key;
		s->git = get_str(v, "git");
		s->ref = get_str(v, "ref");
		s->path = get_str(v, "path");
	}
}

static void build_artifacts(struct topology *t, const struct ynode *m)
{
	if (!m)
		return;
	t->artifacts = xcalloc(m->nr, sizeof(*t->artifacts));
	for (size_t i = 0; i < m->nr; i++) {
		const struct ynode *v = m->pairs[i].value;
		struct artifact *a = &t->artifacts[t->nr_artifacts++];

		a->name = m->pairs[i].key->value;
		a->node = m->pairs[i].key;
		a->url = get_str(v, "url");
		a->url_node = ynode_get(v, "url");
		a->sha256_node = ynode_get(v, "sha256");
		/* Any scalar: digits only read as a number (schema.c). */
		if (a->sha256_node && a->sha256_node->kind == YNODE_SCALAR)
			a->sha256 = a->sha256_node->value;
		a->unpack = get_bool(v, "unpack", false);
		a->docker_load = get_bool(v, "docker_load", false);
		a->image = get_str(v, "image");
		a->version = ynode_get(v, "version") &&
					     ynode_get(v, "version")->kind ==
						     YNODE_SCALAR
				     ? ynode_get(v, "version")->value
				     : NULL;
		a->fetch_host = get_str(v, "fetch") &&
				!strcmp(get_str(v, "fetch"), "host");
	}
}

static void add_from(struct fw_rule *r, const struct ynode *n)
{
	struct fw_source *f;
	const char *why;

	if (!ynode_is_string(n))
		return;
	f = &r->from[r->nr_from];
	f->text = n->value;
	f->node = n;
	if (!strcmp(n->value, "world")) {
		f->kind = FW_FROM_WORLD;
	} else if (strchr(n->value, '/') || is_ip_address(n->value)) {
		if (cidr_parse(n->value, &f->cidr, &why))
			return; /* reported by the schema */
		f->kind = FW_FROM_CIDR;
	} else {
		f->kind = FW_FROM_ROLE;
	}
	r->nr_from++;
}

static void build_firewall(struct role *r, const struct ynode *seq)
{
	if (!seq)
		return;
	r->firewall = xcalloc(seq->nr, sizeof(*r->firewall));
	for (size_t i = 0; i < seq->nr; i++) {
		const struct ynode *m = seq->items[i];
		const struct ynode *from = ynode_get(m, "from");
		const struct ynode *port = ynode_get(m, "port");
		const char *proto = get_str(m, "proto");
		struct fw_rule *fw = &r->firewall[r->nr_firewall];

		if (m->kind != YNODE_MAP || !from)
			continue;
		/* A bad port was reported; keep the rule to check 'from'. */
		if (!port || parse_port_range(port, &fw->port_lo, &fw->port_hi))
			fw->port_lo = fw->port_hi = 0;
		fw->proto = proto && !strcmp(proto, "udp") ? FW_UDP : FW_TCP;
		fw->node = m;
		if (from->kind == YNODE_SEQ) {
			fw->from = xcalloc(from->nr, sizeof(*fw->from));
			for (size_t j = 0; j < from->nr; j++)
				add_from(fw, from->items[j]);
		} else {
			fw->from = xcalloc(1, sizeof(*fw->from));
			add_from(fw, from);
		}
		r->nr_firewall++;
	}
}

static void build_refs(struct role *r, const struct ynode *m)
{
	const struct ynode *after = get_seq(m, "after");
	const struct ynode *via = ynode_get(m, "via");
	const struct ynode *sentry_of = ynode_get(m, "sentry_of");

	if (ynode_is_string(via)) {
		r->via.name = via->value;
		r->via.node = via;
	}
	if (ynode_is_string(sentry_of)) {
		r->sentry_of.name = sentry_of->value;
		r->sentry_of.node = sentry_of;
	}
	if (!after)
		return;
	r->after = xcalloc(after->nr, sizeof(*r->after));
	for (size_t i = 0; i < after->nr; i++) {
		if (!ynode_is_string(after->items[i]))
			continue;
		r->after[r->nr_after].name = after->items[i]->value;
		r->after[r->nr_after].node = after->items[i];
		r->nr_after++;
	}
}

static void build_playbooks(struct role *r, const struct ynode *seq)
{
	if (!seq)
		return;
	r->playbooks = xcalloc(seq->nr, sizeof(*r->playbooks));
	r->playbook_nodes = xcalloc(seq->nr, sizeof(*r->playbook_nodes));
	for (size_t i = 0; i < seq->nr; i++) {
		if (!ynode_is_string(seq->items[i]))
			continue;
		r->playbooks[r->nr_playbooks] = seq->items[i]->value;
		r->playbook_nodes[r->nr_playbooks] = seq->items[i];
		r->nr_playbooks++;
	}
}

static void build_disk(struct role *r, const struct ynode *n)
{
	long size;

	r->disk_mount = DEFAULT_DISK_MOUNT;
	if (!n)
		return;
	if (!ynode_int(n, &size)) {
		r->disk_size = size >= 1 && size <= 65536 ? (int)size : 0;
		return;
	}
	size = get_int(n, "size", 0);
	r->disk_size = size >= 1 && size <= 65536 ? (int)size : 0;
	r->disk_type = get_str(n, "type");
	if (get_str(n, "mount"))
		r->disk_mount = get_str(n, "mount");
}

static void resolve_provider(struct topology *t, struct role *r,
			     const struct ynode *m, struct diag_list *dl)
{
	const struct ynode *n = ynode_get(m, "provider");
	char *known = NULL;
	const char *hint;

	if (ynode_is_string(n)) {
		r->provider = provider_find(n->value);
		r->provider_node = n;
		if (r->provider)
			return;
		hint = suggest(n->value, provider_names(), SIZE_MAX);
		if (hint) {
			diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
				 "unknown provider '%s' (did you mean '%s'?)",
				 n->value, hint);
			return;
		}
		known = provider_list(-1, ", ");
		diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
			 "unknown provider '%s' (known: %s)", n->value, known);
		free(known);
		return;
	}
	if (n)
		return; /* wrong type: reported by the schema */
	if (t->nr_providers == 1) {
		r->provider = t->providers[0].provider;
		return;
	}
	known = t->nr_providers ? NULL : provider_list(-1, " or ");
	diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
		 "role '%s' has no provider: add 'provider: NAME' (%s)",
		 r->name, known ? known : "more than one is under 'providers'");
	free(known);
}

static const char *const created_only_keys[] = {
	"count", "size",      "image",	   "region", "zone",
	"disk",	 "static_ip", "user_data", NULL,
};

/* hosts, inventory and group: where existing hosts come from. */
static const char *const existing_only_keys[] = {
	"hosts",
	"inventory",
	"group",
	NULL,
};

static void build_created_hosts(struct topology *t, struct role *r,
				const struct ynode *m, struct diag_list *dl)
{
	for (const char *const *k = existing_only_keys; *k; k++) {
		const struct ynode *n = ynode_get(m, *k);

		if (n)
			diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
				 "'%s' applies only to provider 'ssh'; "
				 "provider '%s' creates this role's hosts "
				 "(use 'count')",
				 *k, provider_name(r->provider));
	}
	r->count = (int)get_int(m, "count", 1);
	if (r->count < 0 || r->count > 1000)
		r->count = 0;
	if (t->nr_hosts + (size_t)r->count > MAX_HOSTS) {
		diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
			 "role '%s' takes the topology past %d hosts; split it "
			 "into several topologies",
			 r->name, MAX_HOSTS);
		r->count = 0;
	}
	r->hosts = xcalloc(r->count, sizeof(*r->hosts));
	for (int i = 0; i < r->count; i++) {
		struct host *h = &r->hosts[r->nr_hosts++];
		struct buf name = BUF_INIT;

		buf_addf(&name, "%s-%d", r->name, i);
		h->name = buf_release(&name);
		h->port = DEFAULT_SSH_PORT;
		h->user = t->ssh.user;
		h->key = t->ssh.key;
		h->role = r;
		h->index = i;
		h->node = r->node;
		h->file = t->file;
	}
}

static bool past_host_limit(struct topology *t, struct role *r, size_t nr,
			    struct diag_list *dl)
{
	if (t->nr_hosts + nr <= MAX_HOSTS)
		return false;
	diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
		 "role '%s' takes the topology past %d hosts; split it into "
		 "several topologies",
		 r->name, MAX_HOSTS);
	return true;
}

static void build_listed_hosts(struct topology *t, struct role *r,
			       const struct ynode *hosts, struct diag_list *dl)
{
	if (hosts->kind != YNODE_SEQ || past_host_limit(t, r, hosts->nr, dl))
		return;
	r->hosts = xcalloc(hosts->nr, sizeof(*r->hosts));
	for (size_t i = 0; i < hosts->nr; i++) {
		const struct ynode *hm = hosts->items[i];
		struct host *h;
		long port = get_int(hm, "port", DEFAULT_SSH_PORT);

		if (!get_str(hm, "name"))
			continue;
		h = &r->hosts[r->nr_hosts];
		h->name = xstrdup(get_str(hm, "name"));
		h->address = get_str(hm, "address");
		h->port = port >= 1 && port <= 65535 ? (int)port
						     : DEFAULT_SSH_PORT;
		h->user =
			get_str(hm, "user") ? get_str(hm, "user") : t->ssh.user;
		h->key = get_str(hm, "key") ? get_str(hm, "key") : t->ssh.key;
		h->vars = get_map(hm, "vars");
		h->role = r;
		h->index = (int)r->nr_hosts;
		h->node = hm;
		h->file = t->file;
		r->nr_hosts++;
	}
	r->count = (int)r->nr_hosts;
}

/* The inventory `n` names, read on its first use only; NULL (reported at
 * n) when it cannot be read. */
static struct inventory *
role_inventory(struct topology *t, const struct ynode *n, struct diag_list *dl)
{
	char *path = path_expand(n->value, t->dir);
	char *real = realpath(path, NULL);
	struct inventory *inv = NULL;
	struct error err;

	for (size_t i = 0; real && !inv && i < t->nr_inventories; i++) {
		char *other = realpath(inventory_file(t->inventories[i]), NULL);

		if (other && !strcmp(real, other))
			inv = t->inventories[i];
		free(other);
	}
	error_init(&err);
	if (inv)
		goto out;
	if (inventory_load(path, &inv, dl, &err)) {
		diag_add(dl, DIAG_ERROR, t->file, n->line, n->col, "%s",
			 err.msg);
		goto out;
	}
	t->inventories =
		xrealloc(t->inventories,
			 (t->nr_inventories + 1) * sizeof(*t->inventories));
	t->inventories[t->nr_inventories++] = inv;
out:
	error_clear(&err);
	free(real);
	free(path);
	return inv;
}

static void build_inventory_hosts(struct topology *t, struct role *r,
				  const struct ynode *in,
				  const struct ynode *group,
				  struct diag_list *dl)
{
	const struct ynode *at = group ? group : in;
	struct inventory_host *ih = NULL;
	struct inventory *inv;
	struct error err;
	size_t nr = 0;
	int rc;

	if (!ynode_is_string(in) || !in->len ||
	    (group && (!ynode_is_string(group) || !group->len)))
		return; /* reported by the schema */
	r->inventory = in->value;
	r->group = group ? group->value : r->name;
	inv = role_inventory(t, in, dl);
	if (!inv)
		return;
	error_init(&err);
	rc = inventory_group_hosts(inv, r->group, &ih, &nr, dl, &err);
	if (rc == DEPLOY_ERR_NOT_FOUND && !group)
		diag_add(dl, DIAG_ERROR, t->file, at->line, at->col,
			 "%s; a role takes the group named like it unless "
			 "'group' names another",
			 err.msg);
	else if (rc && rc != DEPLOY_ERR_SYNTAX)
		diag_add(dl, DIAG_ERROR, t->file, at->line, at->col, "%s",
			 err.msg);
	if (rc || past_host_limit(t, r, nr, dl))
		goto out;
	r->hosts = xcalloc(nr, sizeof(*r->hosts));
	for (size_t i = 0; i < nr; i++) {
		struct host *h = &r->hosts[r->nr_hosts];

		h->name = xstrdup(ih[i].name);
		h->address = ih[i].address;
		h->port = ih[i].port ? ih[i].port : DEFAULT_SSH_PORT;
		h->user = ih[i].user ? ih[i].user : t->ssh.user;
		h->key = ih[i].key ? ih[i].key : t->ssh.key;
		h->vars = ih[i].vars;
		h->role = r;
		h->index = (int)r->nr_hosts;
		h->node = ih[i].node;
		h->file = inventory_file(inv);
		r->nr_hosts++;
	}
	r->count = (int)r->nr_hosts;
out:
	free(ih);
	error_clear(&err);
}

static void build_hosts(struct topology *t, struct role *r,
			const struct ynode *m, struct diag_list *dl)
{
	const struct ynode *hosts = ynode_get(m, "hosts");
	const struct ypair *inv = ynode_get_pair(m, "inventory");
	const struct ypair *group = ynode_get_pair(m, "group");

	if (!r->provider)
		return;
	if (!provider_uses_existing_hosts(r->provider)) {
		build_created_hosts(t, r, m, dl);
		return;
	}
	for (const char *const *k = created_only_keys; *k; k++) {
		const struct ypair *p = ynode_get_pair(m, *k);

		if (p)
			diag_add(dl, DIAG_ERROR, t->file, p->key->line,
				 p->key->col,
				 "'%s' does not apply to provider '%s' (its "
				 "hosts exist already; list them under "
				 "'hosts' or name an 'inventory')",
				 *k, provider_name(r->provider));
	}
	if (hosts && inv)
		diag_add(dl, DIAG_ERROR, t->file, inv->key->line, inv->key->col,
			 "role '%s' has both 'hosts' and 'inventory': keep one "
			 "of them",
			 r->name);
	if (group && !inv)
		diag_add(dl, DIAG_ERROR, t->file, group->key->line,
			 group->key->col,
			 "'group' applies only with 'inventory' (the inventory "
			 "group whose hosts the role takes)");
	if (hosts)
		build_listed_hosts(t, r, hosts, dl);
	else if (inv)
		build_inventory_hosts(t, r, inv->value,
				      group ? group->value : NULL, dl);
	else
		diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
			 "role '%s' uses provider '%s' and lists no hosts: "
			 "add 'hosts: [{name: %s-1, address: ADDRESS}]' or "
			 "'inventory: hosts.ini'",
			 r->name, provider_name(r->provider), r->name);
}

static void build_role(struct topology *t, struct role *r,
		       const struct ynode *m, struct diag_list *dl)
{
	r->serial = (int)get_int(m, "serial", 0);
	r->rollback = get_str(m, "on_failure") &&
		      !strcmp(get_str(m, "on_failure"), "rollback");
	r->size = get_str(m, "size");
	r->image = get_str(m, "image");
	r->region = get_str(m, "region");
	r->zone = get_str(m, "zone");
	r->vars = get_map(m, "vars");
	r->health = get_seq(m, "health");
	r->static_ip = get_bool(m, "static_ip", false);
	r->user_data_node = ynode_get(m, "user_data");
	if (ynode_is_string(r->user_data_node))
		r->user_data = path_expand(r->user_data_node->value, t->dir);
	r->protect = get_bool(m, "protect", false);
	build_disk(r, ynode_get(m, "disk"));
	build_refs(r, m);
	build_playbooks(r, get_seq(m, "playbooks"));
	build_firewall(r, get_seq(m, "firewall"));
	resolve_provider(t, r, m, dl);
	build_hosts(t, r, m, dl);
	t->nr_hosts += r->nr_hosts;
}

static void build_state(struct topology *t, const struct ynode *m)
{
	struct state_conf *s = &t->state;
	const struct ynode *s3 = get_map(m, "s3");

	s->path_style = -1;
	s->encrypt = true;
	if (!s3)
		return;
	s->s3 = true;
	s->node = s3;
	s->bucket = get_str(s3, "bucket");
	s->key = get_str(s3, "key");
	s->region = get_str(s3, "region");
	s->endpoint = get_str(s3, "endpoint");
	s->profile = get_str(s3, "profile");
	s->kms_key_id = get_str(s3, "kms_key_id");
	s->encrypt = get_bool(s3, "encrypt", true);
	if (ynode_get(s3, "path_style"))
		s->path_style = get_bool(s3, "path_style", false);
}

void topology_build(struct topology *t, struct diag_list *dl)
{
	const struct ynode *root = t->doc->root;
	const struct ynode *roles = get_map(root, "roles");
	long version = get_int(root, "version", 0);

	t->version = version == 1 ? 1 : 0;
	t->name = get_str(root, "name");
	t->network = get_str(root, "network");
	t->vars = get_map(root, "vars");
	build_ssh(t, get_map(root, "ssh"));
	build_providers(t, get_map(root, "providers"));
	build_secrets(t, get_map(root, "secrets"));
	build_sources(t, get_map(root, "sources"));
	build_artifacts(t, get_map(root, "artifacts"));
	build_state(t, get_map(root, "state"));
	if (!roles)
		return;
	t->roles = xcalloc(roles->nr, sizeof(*t->roles));
	for (size_t i = 0; i < roles->nr; i++) {
		struct role *r = &t->roles[t->nr_roles++];

		r->name = roles->pairs[i].key->value;
		r->node = roles->pairs[i].key;
		build_role(t, r, roles->pairs[i].value, dl);
	}
}

int topology_parse(const char *file, const char *text, size_t len,
		   struct topology **out, struct diag_list *dl,
		   struct error *err)
{
	struct topology *t = xcalloc(1, sizeof(*t));
	struct vctx v = { .file = file, .dl = dl };
	size_t before = dl->errors; /* dl may hold other files' problems */
	int rc;

	*out = NULL;
	t->file = xstrdup(file);
	t->dir = dir_of(file);
	v.dir = t->dir;
	rc = ydoc_parse(file, text, len, &t->doc, dl, err);
	if (rc)
		goto fail;
	if (schema_check_root(&v, t->doc->root, &topology_spec,
			      "empty topology: it needs at least 'version: "
			      "1', 'name' and 'roles' (see examples/local.yml)",
			      "a topology is a mapping of keys (version, "
			      "name, roles ...)")) {
		topology_build(t, dl);
		topology_check(t, dl);
	}
	diag_list_sort_first(dl, file);
	if (dl->errors > before) {
		rc = DEPLOY_ERR_INVALID;
		goto fail;
	}
	*out = t;
	return 0;
fail:
	topology_free(t);
	return rc;
}

int topology_load(const char *path, struct topology **out, struct diag_list *dl,
		  struct error *err)
{
	struct buf text;
	int rc;

	*out = NULL;
	buf_init(&text, YTREE_MAX_BYTES);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_TOO_BIG)
		rc = error_set(err, rc, path, 0, 0,
			       "file is larger than %u bytes", YTREE_MAX_BYTES);
	else if (rc)
		rc = error_set(err, rc, path, 0, 0, "cannot read: %s",
			       strerror(errno));
	else
		rc = topology_parse(path, text.data, text.len, out, dl, err);
	buf_free(&text);
	return rc;
}

void topology_free(struct topology *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *r = &t->roles[i];

		for (size_t j = 0; j < r->nr_hosts; j++)
			free(r->hosts[j].name);
		free(r->hosts);
		free(r->after);
		free(r->playbooks);
		free(r->playbook_nodes);
		for (size_t j = 0; j < r->nr_firewall; j++)
			free(r->firewall[j].from);
		free(r->firewall);
		free(r->user_data);
	}
	free(t->roles);
	for (size_t i = 0; i < t->nr_inventories; i++)
		inventory_free(t->inventories[i]);
	free(t->inventories);
	free(t->providers);
	free(t->secrets);
	free(t->sources);
	free(t->artifacts);
	free(t->ssh.admin_cidrs);
	free(t->ssh.admin_cidr_nodes);
	ydoc_free(t->doc);
	free(t->file);
	free(t->dir);
	free(t);
}

struct role *topology_find_role(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nr_roles; i++)
		if (!strcmp(t->roles[i].name, name))
			return &t->roles[i];
	return NULL;
}

struct host *topology_find_host(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nr_roles; i++)
		for (size_t j = 0; j < t->roles[i].nr_hosts; j++)
			if (!strcmp(t->roles[i].hosts[j].name, name))
				return &t->roles[i].hosts[j];
	return NULL;
}

const struct artifact *topology_find_artifact(const struct topology *t,
					      const char *name)
{
	for (size_t i = 0; i < t->nr_artifacts; i++)
		if (!strcmp(t->artifacts[i].name, name))
			return &t->artifacts[i];
	return NULL;
}
