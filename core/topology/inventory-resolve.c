/* SPDX-License-Identifier: MIT */
/* Inventory answers: a group's hosts, with Ansible's variable precedence. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/inventory-model.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Resolving a host: its groups, variables, name and address */

static int cmp_precedence(const void *a, const void *b)
{
	const struct inv_group *x = *(const struct inv_group *const *)a;
	const struct inv_group *y = *(const struct inv_group *const *)b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool only_implicit_groups(const struct inv_host *h)
{
	for (size_t i = 0; i < h->nr_groups; i++)
		if (h->groups[i] != INV_ALL && h->groups[i] != INV_UNGROUPED)
			return false;
	return true;
}

/*
 * The groups whose variables apply to h, in Ansible's order (lowest first):
 * by depth, then ansible_group_priority, then name.
 */
static size_t host_groups(struct inventory *inv, const struct inv_host *h,
			  const struct inv_group ***out)
{
	size_t *stack = NULL, nr_stack = 0, alloc_stack = 0, nr = 0;
	const struct inv_group **r = NULL;
	size_t alloc = 0;

	inv->mark++;
	XGROW(stack, alloc_stack, h->nr_groups + 2);
	stack[nr_stack++] = INV_ALL;
	if (only_implicit_groups(h))
		stack[nr_stack++] = INV_UNGROUPED;
	for (size_t i = 0; i < h->nr_groups; i++)
		stack[nr_stack++] = h->groups[i];
	while (nr_stack) {
		struct inv_group *g = &inv->groups[stack[--nr_stack]];

		if (g->mark == inv->mark)
			continue;
		g->mark = inv->mark;
		XGROW(r, alloc, nr + 1);
		r[nr++] = g;
		XGROW(stack, alloc_stack, nr_stack + g->nr_parents);
		for (size_t i = 0; i < g->nr_parents; i++)
			stack[nr_stack++] = g->parents[i];
	}
	free(stack);
	qsort(r, nr, sizeof(*r), cmp_precedence);
	*out = r;
	return nr;
}

struct var_slot {
	struct ynode *key;
	struct ynode *value;
	size_t order; /* in precedence order: the last one wins */
	size_t first; /* where the name first came: the map keeps that order */
};

static int cmp_slot_name(const void *a, const void *b)
{
	const struct var_slot *x = a, *y = b;
	int c = strcmp(x->key->value, y->key->value);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_slot_first(const void *a, const void *b)
{
	const struct var_slot *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The winning value of each name among slots[0..nr), in first order. */
static size_t merge_vars(struct var_slot *slots, size_t nr)
{
	size_t out = 0;

	qsort(slots, nr, sizeof(*slots), cmp_slot_name);
	for (size_t i = 0; i < nr;) {
		size_t j = i;
		size_t first = slots[i].order;

		while (j + 1 < nr &&
		       !strcmp(slots[j + 1].key->value, slots[i].key->value))
			j++;
		slots[out] = slots[j];
		slots[out].first = first;
		out++;
		i = j + 1;
	}
	qsort(slots, out, sizeof(*slots), cmp_slot_first);
	return out;
}

/* The value of the last of `names` set (Ansible's ssh connection reads
 * ansible_ssh_host after ansible_host, so the older name wins). */
static const struct ynode *pick(const struct var_slot *slots, size_t nr,
				const char *const *names)
{
	const struct ynode *found = NULL;

	for (; *names; names++)
		for (size_t i = 0; i < nr; i++)
			if (!strcmp(slots[i].key->value, *names))
				found = slots[i].value;
	return found;
}

static bool understood(const char *name)
{
	return inv_is_one_of(name, inv_address_vars) ||
	       inv_is_one_of(name, inv_port_vars) ||
	       inv_is_one_of(name, inv_user_vars) ||
	       inv_is_one_of(name, inv_key_vars) ||
	       !strcmp(name, "ansible_group_priority");
}

static void apply_vars(struct inventory *inv, struct inv_host *h,
		       struct var_slot *slots, size_t nr)
{
	const struct ynode *n;
	struct ynode *map = NULL;

	n = pick(slots, nr, inv_address_vars);
	h->address = n ? n->value : h->name;
	h->port = inv_port(pick(slots, nr, inv_port_vars));
	n = pick(slots, nr, inv_user_vars);
	h->user = n ? n->value : NULL;
	n = pick(slots, nr, inv_key_vars);
	h->key = n ? n->value : NULL;
	for (size_t i = 0; i < nr; i++) {
		if (understood(slots[i].key->value))
			continue;
		if (!map)
			map = ydoc_new_map(inv->doc, h->line, h->col);
		ynode_map_add(map, slots[i].key, slots[i].value);
	}
	h->merged = map;
}

/* Deploy's name for an inventory host: lowercase, dots turned to '-'. */
static void host_label(const char *name, struct buf *out)
{
	for (const char *p = name; *p; p++)
		buf_addch(out,
			  *p == '.' ? '-' : (char)tolower((unsigned char)*p));
}

static bool name_host(struct inventory *inv, struct diag_list *dl,
		      struct inv_host *h, int line, int col)
{
	struct buf label = BUF_INIT;
	bool ok;

	host_label(h->name, &label);
	ok = is_dns_label(label.data);
	if (!ok && !strcmp(label.data, h->name))
		inv_error(inv, dl, line, col,
			  "host name '%s' is not a DNS label (1 to 63 "
			  "lowercase letters, digits and '-', not starting or "
			  "ending with '-'); rename the host in the inventory",
			  h->name);
	else if (!ok)
		inv_error(inv, dl, line, col,
			  "host name '%s' cannot become a deploy host name: "
			  "'%s' is not a DNS label (1 to 63 lowercase letters, "
			  "digits and '-', not starting or ending with '-'); "
			  "rename the host in the inventory",
			  h->name, label.data);
	else
		snprintf(h->label, sizeof(h->label), "%s", label.data);
	buf_free(&label);
	return ok;
}

static void resolve_host(struct inventory *inv, struct diag_list *dl,
			 struct inv_host *h, int line, int col)
{
	const struct inv_group **groups = NULL;
	struct var_slot *slots = NULL;
	size_t nr_groups, nr = 0, total = h->vars.nr;

	h->state = INV_HOST_BAD;
	if (!name_host(inv, dl, h, line, col))
		return;
	nr_groups = host_groups(inv, h, &groups);
	for (size_t i = 0; i < nr_groups; i++)
		total += groups[i]->vars.nr;
	if (inv->var_work + total > INVENTORY_MAX_VAR_WORK) {
		if (!inv->var_work_reported)
			inv_error(inv, dl, line, col,
				  "the hosts' variables add up to more than "
				  "%d once group variables are applied to "
				  "each host; split the inventory",
				  INVENTORY_MAX_VAR_WORK);
		inv->var_work_reported = true;
		goto out;
	}
	inv->var_work += total;
	slots = xcalloc(total + 1, sizeof(*slots));
	for (size_t i = 0; i < nr_groups; i++)
		for (size_t j = 0; j < groups[i]->vars.nr; j++, nr++) {
			slots[nr].key = groups[i]->vars.v[j].key;
			slots[nr].value = groups[i]->vars.v[j].value;
			slots[nr].order = nr;
		}
	for (size_t j = 0; j < h->vars.nr; j++, nr++) {
		slots[nr].key = h->vars.v[j].key;
		slots[nr].value = h->vars.v[j].value;
		slots[nr].order = nr;
	}
	nr = merge_vars(slots, nr);
	apply_vars(inv, h, slots, nr);
	if (!is_ip_address(h->address) && !is_dns_name(h->address)) {
		inv_error(inv, dl, line, col,
			  "host '%s' has no ansible_host, and its name is not "
			  "an address to connect to",
			  h->name);
		goto out;
	}
	h->state = INV_HOST_RESOLVED;
out:
	free(groups);
	free(slots);
}

/* Queries */

static void add_member(struct inventory *inv, struct inv_entry **out,
		       size_t *nr, size_t *alloc, size_t host, int line,
		       int col)
{
	struct inv_host *h = &inv->hosts[host];

	if (h->mark == inv->mark)
		return;
	h->mark = inv->mark;
	XGROW(*out, *alloc, *nr + 1);
	(*out)[*nr].host = host;
	(*out)[*nr].line = line;
	(*out)[*nr].col = col;
	(*nr)++;
}

/* The hosts of group g and of the groups below it, each once, in order. */
static size_t group_members(struct inventory *inv, size_t g,
			    struct inv_entry **out)
{
	size_t nr = 0, alloc = 0, *stack, nr_stack = 0, alloc_stack = 0;
	unsigned long group_mark;

	*out = NULL;
	inv->mark++;
	if (g == INV_ALL || g == INV_UNGROUPED) {
		for (size_t i = 0; i < inv->nr_hosts; i++)
			if (g == INV_ALL ||
			    only_implicit_groups(&inv->hosts[i]))
				add_member(inv, out, &nr, &alloc, i,
					   inv->hosts[i].line,
					   inv->hosts[i].col);
		return nr;
	}
	group_mark = inv->mark;
	stack = NULL;
	XGROW(stack, alloc_stack, 1);
	stack[nr_stack++] = g;
	while (nr_stack) {
		struct inv_group *gr = &inv->groups[stack[--nr_stack]];

		if (gr->mark == group_mark)
			continue;
		gr->mark = group_mark;
		for (size_t i = 0; i < gr->nr_entries; i++)
			add_member(inv, out, &nr, &alloc, gr->entries[i].host,
				   gr->entries[i].line, gr->entries[i].col);
		/* Pushed last first, so that the first child comes next. */
		XGROW(stack, alloc_stack, nr_stack + gr->nr_children);
		for (size_t i = gr->nr_children; i-- > 0;)
			if (!gr->children[i].cut)
				stack[nr_stack++] = gr->children[i].child;
	}
	free(stack);
	return nr;
}

static void not_found(const struct inventory *inv, const char *group,
		      struct error *err)
{
	const char **names = xcalloc(inv->nr_groups + 1, sizeof(*names));
	struct buf msg = BUF_INIT;
	size_t nr = 0, listed = 0;
	const char *hint;

	for (size_t i = INV_UNGROUPED + 1; i < inv->nr_groups; i++)
		if (inv->groups[i].declared)
			names[nr++] = inv->groups[i].name;
	buf_addf(&msg, "group '%s' is not in inventory '%s'", group, inv->file);
	hint = suggest(group, names, nr);
	if (hint)
		buf_addf(&msg, " (did you mean '%s'?)", hint);
	if (!nr)
		buf_adds(&msg, "; it has no groups besides 'all'");
	for (size_t i = 0; i < nr && listed < 10; i++, listed++)
		buf_addf(&msg, "%s%s", i ? ", " : "; its groups: ", names[i]);
	if (nr > listed)
		buf_addf(&msg, " and %zu more", nr - listed);
	error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0, "%s", msg.data);
	buf_free(&msg);
	free(names);
}

int inventory_group_hosts(struct inventory *inv, const char *group,
			  struct inventory_host **out, size_t *nr,
			  struct diag_list *dl, struct error *err)
{
	struct inv_entry *members = NULL;
	struct inventory_host *hosts;
	size_t g, nr_members;

	*out = NULL;
	*nr = 0;
	if (inv->broken)
		return DEPLOY_ERR_SYNTAX;
	g = inv_find_group(inv, group);
	if (g == SIZE_MAX) {
		not_found(inv, group, err);
		return DEPLOY_ERR_NOT_FOUND;
	}
	nr_members = group_members(inv, g, &members);
	if (!nr_members) {
		free(members);
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "group '%s' in inventory '%s' has no hosts",
				 group, inv->file);
	}
	hosts = xcalloc(nr_members, sizeof(*hosts));
	for (size_t i = 0; i < nr_members; i++) {
		struct inv_host *h = &inv->hosts[members[i].host];
		struct inventory_host *o = &hosts[*nr];

		if (h->state == INV_HOST_UNRESOLVED)
			resolve_host(inv, dl, h, members[i].line,
				     members[i].col);
		if (h->state != INV_HOST_RESOLVED)
			continue;
		memcpy(o->name, h->label, sizeof(o->name));
		o->inventory_name = h->name;
		o->node =
			ydoc_new_scalar(inv->doc, h->name, strlen(h->name),
					false, members[i].line, members[i].col);
		o->address = h->address;
		o->port = h->port;
		o->user = h->user;
		o->key = h->key;
		o->vars = h->merged;
		(*nr)++;
	}
	free(members);
	*out = hosts;
	return 0;
}
