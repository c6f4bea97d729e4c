/* SPDX-License-Identifier: MIT */
/* Topology cross-checks: role references, host names, providers, secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "topology/topology.h"
#include "topology/image.h"
#include "graph/graph.h"
#include "providers/provider.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * The checks that need the whole topology: references between roles,
 * cycles, providers, names, SSH exposure and secrets. Each problem goes to
 * the diag list at the node it came from; nothing stops at the first.
 */

struct names {
	const char **v;
	size_t nr;
};

static struct names role_names(const struct topology *t)
{
	struct names n = { xcalloc(t->nr_roles + 1, sizeof(char *)), 0 };

	for (size_t i = 0; i < t->nr_roles; i++)
		n.v[n.nr++] = t->roles[i].name;
	return n;
}

static void unknown_role(struct topology *t, struct diag_list *dl,
			 const struct names *roles, const struct ynode *at,
			 const char *name, const char *where)
{
	const char *hint = suggest(name, roles->v, roles->nr);

	if (hint)
		diag_add(dl, DIAG_ERROR, t->file, at->line, at->col,
			 "unknown role '%s' in %s (did you mean '%s'?)", name,
			 where, hint);
	else
		diag_add(dl, DIAG_ERROR, t->file, at->line, at->col,
			 "unknown role '%s' in %s", name, where);
}

static void resolve_ref(struct topology *t, struct diag_list *dl,
			const struct names *roles, struct role *r,
			struct role_ref *ref, const char *key)
{
	struct buf where = BUF_INIT;

	buf_addf(&where, "roles.%s.%s", r->name, key);
	ref->role = topology_find_role(t, ref->name);
	if (!ref->role)
		unknown_role(t, dl, roles, ref->node, ref->name, where.data);
	else if (ref->role == r)
		diag_add(dl, DIAG_ERROR, t->file, ref->node->line,
			 ref->node->col, "role '%s' names itself in '%s'",
			 r->name, key);
	buf_free(&where);
	if (ref->role == r)
		ref->role = NULL; /* keep the cycle check to real cycles */
}

/* The built-in playbook sentry proxies to the hosts of `sentry_of`. */
static void check_sentry_needs_role(struct topology *t, struct diag_list *dl,
				    const struct role *r)
{
	for (size_t i = 0; i < r->nr_playbooks; i++) {
		const struct ynode *at = r->playbook_nodes[i];

		if (strcmp(r->playbooks[i], "sentry"))
			continue;
		diag_add(dl, DIAG_ERROR, t->file, at->line, at->col,
			 "role '%s' runs the playbook 'sentry' but has no "
			 "'sentry_of': name the role it fronts "
			 "(sentry_of: validator)",
			 r->name);
	}
}

static void check_refs(struct topology *t, struct diag_list *dl)
{
	struct names roles = role_names(t);

	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *r = &t->roles[i];

		if (r->via.name) {
			resolve_ref(t, dl, &roles, r, &r->via, "via");
			if (r->via.role && !r->via.role->nr_hosts &&
			    r->via.role->provider)
				diag_add(dl, DIAG_ERROR, t->file,
					 r->via.node->line, r->via.node->col,
					 "role '%s' is reached via '%s', "
					 "which has no hosts",
					 r->name, r->via.name);
		}
		for (size_t j = 0; j < r->nr_after; j++)
			resolve_ref(t, dl, &roles, r, &r->after[j], "after");
		if (r->sentry_of.name)
			resolve_ref(t, dl, &roles, r, &r->sentry_of,
				    "sentry_of");
		else
			check_sentry_needs_role(t, dl, r);
		for (size_t j = 0; j < r->nr_firewall; j++) {
			struct fw_rule *fw = &r->firewall[j];
			struct buf where = BUF_INIT;

			buf_addf(&where, "roles.%s.firewall[%zu].from", r->name,
				 j);
			for (size_t k = 0; k < fw->nr_from; k++) {
				struct fw_source *f = &fw->from[k];

				if (f->kind != FW_FROM_ROLE)
					continue;
				f->role = topology_find_role(t, f->text);
				if (!f->role)
					unknown_role(t, dl, &roles, f->node,
						     f->text, where.data);
			}
			buf_free(&where);
		}
	}
	free(roles.v);
}

static bool is_world(const struct cidr *c)
{
	return c->prefix == 0;
}

static void check_world_ssh(struct topology *t, struct diag_list *dl)
{
	const struct ssh_conf *s = &t->ssh;
	char text[64];

	for (size_t i = 0; i < s->nr_admin_cidrs; i++) {
		const struct ynode *n = s->admin_cidr_nodes[i];

		if (!is_world(&s->admin_cidrs[i]))
			continue;
		cidr_format_network(&s->admin_cidrs[i], text, sizeof(text));
		if (s->allow_world_ssh)
			diag_add(dl, DIAG_WARNING, t->file, n->line, n->col,
				 "ssh.admin_cidrs opens SSH to the world "
				 "(%s), as ssh.allow_world_ssh allows",
				 text);
		else
			diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
				 "ssh.admin_cidrs opens SSH to the world "
				 "(%s): list the addresses you administer "
				 "from, or set 'ssh.allow_world_ssh: true' "
				 "if you mean it",
				 text);
	}
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];

		for (size_t j = 0; j < r->nr_firewall; j++) {
			const struct fw_rule *fw = &r->firewall[j];

			if (fw->proto != FW_TCP || fw->port_lo > 22 ||
			    fw->port_hi < 22)
				continue;
			for (size_t k = 0; k < fw->nr_from; k++) {
				const struct fw_source *f = &fw->from[k];

				if (f->kind != FW_FROM_WORLD &&
				    !(f->kind == FW_FROM_CIDR &&
				      is_world(&f->cidr)))
					continue;
				if (s->allow_world_ssh) {
					diag_add(
						dl, DIAG_WARNING, t->file,
						f->node->line, f->node->col,
						"roles.%s.firewall[%zu] opens "
						"SSH (port 22) to the world, as "
						"ssh.allow_world_ssh allows",
						r->name, j);
					continue;
				}
				diag_add(dl, DIAG_ERROR, t->file, f->node->line,
					 f->node->col,
					 "roles.%s.firewall[%zu] opens SSH "
					 "(port 22) to the world: SSH is "
					 "allowed from ssh.admin_cidrs and "
					 "bastions already; remove it, or set "
					 "'ssh.allow_world_ssh: true' if you "
					 "mean it",
					 r->name, j);
			}
		}
	}
}

struct host_slot {
	struct host *h;
	size_t order; /* position in the file, for "first at" */
};

static int cmp_slot(const void *a, const void *b)
{
	const struct host_slot *x = a, *y = b;
	int c = strcmp(x->h->name, y->h->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Where the first of two hosts with one name is: its line and column, and
 * its file too when that is another (a host of an inventory). */
static void duplicate_host(struct topology *t, struct diag_list *dl,
			   const struct host *h, const struct host *first)
{
	const char *file = h->file ? h->file : t->file;
	const char *first_file = first->file ? first->file : t->file;

	if (!strcmp(file, first_file))
		diag_add(dl, DIAG_ERROR, file, h->node->line, h->node->col,
			 "host name '%s' is used twice (first at line %d, "
			 "column %d)",
			 h->name, first->node->line, first->node->col);
	else
		diag_add(dl, DIAG_ERROR, file, h->node->line, h->node->col,
			 "host name '%s' is used twice (first at %s:%d:%d)",
			 h->name, first_file, first->node->line,
			 first->node->col);
}

/* Host names are unique, and no host is named like a role. Sorted, so that
 * ten thousand hosts cost no more than a moment. */
static void check_host_names(struct topology *t, struct diag_list *dl)
{
	struct host_slot *slots = xcalloc(t->nr_hosts + 1, sizeof(*slots));
	size_t nr = 0;

	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *r = &t->roles[i];

		if (r->nr_hosts && !provider_uses_existing_hosts(r->provider) &&
		    strlen(r->hosts[r->nr_hosts - 1].name) > 63)
			diag_add(dl, DIAG_ERROR, t->file, r->node->line,
				 r->node->col,
				 "role name '%s' is too long for its host "
				 "names ('%s' passes 63 characters)",
				 r->name, r->hosts[r->nr_hosts - 1].name);
		for (size_t j = 0; j < r->nr_hosts && nr < t->nr_hosts; j++) {
			slots[nr].h = &r->hosts[j];
			slots[nr].order = nr;
			nr++;
		}
	}
	qsort(slots, nr, sizeof(*slots), cmp_slot);
	for (size_t i = 0; i < nr; i++) {
		struct host *h = slots[i].h;
		struct role *same = topology_find_role(t, h->name);
		const char *file = h->file ? h->file : t->file;
		size_t first = i;

		while (first > 0 && !strcmp(slots[first - 1].h->name, h->name))
			first--;
		if (first != i)
			duplicate_host(t, dl, h, slots[first].h);
		else if (same && same != h->role)
			diag_add(dl, DIAG_ERROR, file, h->node->line,
				 h->node->col,
				 "host name '%s' is also a role's name; "
				 "give the host or the role another name",
				 h->name);
	}
	free(slots);
}

static const struct provider_conf *find_conf(const struct topology *t,
					     const struct provider_ops *p)
{
	for (size_t i = 0; i < t->nr_providers; i++)
		if (t->providers[i].provider == p)
			return &t->providers[i];
	return NULL;
}

static void check_providers(struct topology *t, struct diag_list *dl)
{
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];
		const struct ynode *at =
			r->provider_node ? r->provider_node : r->node;

		if (!r->provider || find_conf(t, r->provider) ||
		    !provider_needs_config(r->provider))
			continue;
		diag_add(dl, DIAG_ERROR, t->file, at->line, at->col,
			 "role '%s' uses provider '%s', which needs settings "
			 "under 'providers: %s:' (see docs/topology.md)",
			 r->name, provider_name(r->provider),
			 provider_name(r->provider));
	}
	for (size_t i = 0; i < t->nr_providers; i++) {
		const struct provider_conf *c = &t->providers[i];
		bool used = false;

		for (size_t j = 0; !used && j < t->nr_roles; j++)
			used = t->roles[j].provider == c->provider;
		if (!used)
			diag_add(dl, DIAG_WARNING, t->file, c->node->line,
				 c->node->col,
				 "provider '%s' is configured but no role "
				 "uses it",
				 provider_name(c->provider));
	}
}

static void check_playbook_sources(struct topology *t, struct diag_list *dl)
{
	const char **names = xcalloc(t->nr_sources + 1, sizeof(*names));

	for (size_t i = 0; i < t->nr_sources; i++)
		names[i] = t->sources[i].name;
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];

		for (size_t j = 0; j < r->nr_playbooks; j++) {
			const char *pb = r->playbooks[j];
			const char *slash = strchr(pb, '/');
			const struct ynode *at = r->playbook_nodes[j];
			char *src;
			const char *hint;
			bool found = false;

			if (!slash || slash == pb || pb[0] == '.' ||
			    pb[0] == '/' || pb[0] == '~')
				continue;
			src = xstrndup(pb, (size_t)(slash - pb));
			for (size_t k = 0; !found && k < t->nr_sources; k++)
				found = !strcmp(t->sources[k].name, src);
			hint = found ? NULL
				     : suggest(src, names, t->nr_sources);
			if (!found && hint)
				diag_add(dl, DIAG_ERROR, t->file, at->line,
					 at->col,
					 "playbook '%s' names unknown source "
					 "'%s' (did you mean '%s'?)",
					 pb, src, hint);
			else if (!found)
				diag_add(dl, DIAG_ERROR, t->file, at->line,
					 at->col,
					 "playbook '%s' names unknown source "
					 "'%s': add it under 'sources', or "
					 "write './%s' for a file beside the "
					 "topology",
					 pb, src, pb);
			free(src);
		}
	}
	free(names);
}

static void check_secrets(struct topology *t, struct diag_list *dl)
{
	for (size_t i = 0; i < t->nr_secrets; i++) {
		const struct secret *s = &t->secrets[i];
		char *path;

		if (s->from_env) {
			if (!getenv(s->ref))
				diag_add(dl, DIAG_WARNING, t->file,
					 s->node->line, s->node->col,
					 "secret '%s': environment variable "
					 "'%s' is not set ('deploy up' will "
					 "need it)",
					 s->name, s->ref);
			continue;
		}
		path = path_expand(s->ref, t->dir);
		if (access(path, R_OK))
			diag_add(dl, DIAG_WARNING, t->file, s->node->line,
				 s->node->col,
				 "secret '%s': file '%s' cannot be read "
				 "('deploy up' will need it)",
				 s->name, s->ref);
		free(path);
	}
}

/*
 * Variables that name container images (image, *_image) hold pinned
 * references (topology/image.h), wherever they are set.
 */
static void check_image_vars(struct topology *t, struct diag_list *dl,
			     const char *file, const struct ynode *vars,
			     const char *where)
{
	struct buf why = BUF_INIT;

	for (size_t i = 0; vars && vars->kind == YNODE_MAP && i < vars->nr;
	     i++) {
		const char *name = vars->pairs[i].key->value;
		const struct ynode *v = vars->pairs[i].value;

		if (!image_var_name(name))
			continue;
		buf_reset(&why);
		if (!ynode_is_string(v))
			diag_add(dl, DIAG_ERROR, file, v->line, v->col,
				 "%s.%s must be an image reference "
				 "(REPO@sha256:<64 hex digits>), not %s",
				 where, name, ynode_describe(v));
		else if (image_ref_check(t, v->value, &why))
			diag_add(dl, DIAG_ERROR, file, v->line, v->col,
				 "%s.%s '%s' %s", where, name, v->value,
				 why.data);
	}
	buf_free(&why);
}

static void check_images(struct topology *t, struct diag_list *dl)
{
	struct buf where = BUF_INIT;

	check_image_vars(t, dl, t->file, t->vars, "vars");
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];

		buf_reset(&where);
		buf_addf(&where, "roles.%s.vars", r->name);
		check_image_vars(t, dl, t->file, r->vars, where.data);
		for (size_t j = 0; j < r->nr_hosts; j++) {
			const struct host *h = &r->hosts[j];

			if (!h->vars || h->vars == r->vars)
				continue;
			buf_reset(&where);
			buf_addf(&where, "hosts.%s.vars", h->name);
			check_image_vars(t, dl, h->file ? h->file : t->file,
					 h->vars, where.data);
		}
	}
	buf_free(&where);
}

void topology_check(struct topology *t, struct diag_list *dl)
{
	topology_check_builtins(t, dl);
	check_refs(t, dl);
	graph_check_cycles(t, dl);
	check_providers(t, dl);
	check_host_names(t, dl);
	check_world_ssh(t, dl);
	check_playbook_sources(t, dl);
	check_secrets(t, dl);
	check_images(t, dl);
}
