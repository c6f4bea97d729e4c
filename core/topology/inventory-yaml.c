/* SPDX-License-Identifier: MIT */
/* Ansible YAML inventories: each group's hosts, vars and children. */
#include <stdlib.h>
#include <string.h>

#include "topology/inventory-model.h"
#include "util/strutil.h"
#include "util/banned.h"

/*
 * Ansible's YAML inventory, as its yaml plugin reads it: the top level maps
 * group names (usually just `all`) to groups; a group has `hosts` (host
 * pattern: null or a mapping of variables), `vars` and `children` (group
 * name: group). A group may appear in several places; its parts add up.
 * Ansible warns about other keys and skips them; deploy reports them, since
 * a misspelt `hots:` would drop hosts without a word.
 */

/* Groups below groups, counted through aliases (which YAML nests freely). */
#define MAX_GROUP_DEPTH 64

static void group(struct inventory *inv, struct diag_list *dl,
		  const struct ynode *key, const struct ynode *value,
		  size_t parent, int depth);

static void host_vars(struct inventory *inv, struct diag_list *dl,
		      const struct ynode *host, const struct ynode *value,
		      struct inv_vars *vars)
{
	if (ynode_is_null(value))
		return;
	if (value->kind != YNODE_MAP) {
		inv_error(inv, dl, value->line, value->col,
			  "host '%s' takes a mapping of variables or nothing, "
			  "not %s",
			  host->value, ynode_describe(value));
		return;
	}
	for (size_t i = 0; i < value->nr; i++)
		inv_add_var(inv, dl, vars, value->pairs[i].key,
			    value->pairs[i].value);
}

static void hosts(struct inventory *inv, struct diag_list *dl, size_t g,
		  const struct ynode *n)
{
	if (ynode_is_null(n))
		return;
	if (n->kind == YNODE_SCALAR) {
		/* hosts: NAME is short for hosts: {NAME: } */
		inv_add_hosts(inv, dl, g, n->value, n->line, n->col, NULL);
		return;
	}
	if (n->kind != YNODE_MAP) {
		inv_error(inv, dl, n->line, n->col,
			  "hosts of group '%s' are a mapping of host names "
			  "(each followed by ':'), not %s",
			  inv->groups[g].name, ynode_describe(n));
		return;
	}
	for (size_t i = 0; i < n->nr && !inv->broken; i++) {
		const struct ynode *key = n->pairs[i].key;
		struct inv_vars vars = { 0 };

		host_vars(inv, dl, key, n->pairs[i].value, &vars);
		inv_add_hosts(inv, dl, g, key->value, key->line, key->col,
			      &vars);
		free(vars.v);
	}
}

static void group_vars(struct inventory *inv, struct diag_list *dl, size_t g,
		       const struct ynode *n)
{
	if (ynode_is_null(n))
		return;
	if (n->kind != YNODE_MAP) {
		inv_error(inv, dl, n->line, n->col,
			  "vars of group '%s' are a mapping, not %s",
			  inv->groups[g].name, ynode_describe(n));
		return;
	}
	for (size_t i = 0; i < n->nr; i++)
		inv_add_var(inv, dl, &inv->groups[g].vars, n->pairs[i].key,
			    n->pairs[i].value);
}

static void children(struct inventory *inv, struct diag_list *dl, size_t g,
		     const struct ynode *n, int depth)
{
	if (ynode_is_null(n))
		return;
	if (n->kind == YNODE_SCALAR) {
		/* children: NAME is short for children: {NAME: } */
		group(inv, dl, n, NULL, g, depth + 1);
		return;
	}
	if (n->kind != YNODE_MAP) {
		inv_error(inv, dl, n->line, n->col,
			  "children of group '%s' are a mapping of group "
			  "names, not %s",
			  inv->groups[g].name, ynode_describe(n));
		return;
	}
	for (size_t i = 0; i < n->nr && !inv->broken; i++)
		group(inv, dl, n->pairs[i].key, n->pairs[i].value, g,
		      depth + 1);
}

static void group(struct inventory *inv, struct diag_list *dl,
		  const struct ynode *key, const struct ynode *value,
		  size_t parent, int depth)
{
	static const char *const keys[] = { "hosts", "vars", "children", NULL };
	size_t g;

	if (depth > MAX_GROUP_DEPTH) {
		inv_error(inv, dl, key->line, key->col,
			  "groups nested deeper than %d levels",
			  MAX_GROUP_DEPTH);
		inv->broken = true;
		return;
	}
	g = inv_group(inv, dl, key->value, key->line, key->col);
	if (g == SIZE_MAX)
		return;
	inv->groups[g].declared = true;
	if (parent != SIZE_MAX)
		inv_add_child(inv, parent, g, key->line, key->col);
	if (!value || ynode_is_null(value))
		return;
	if (value->kind != YNODE_MAP) {
		inv_error(inv, dl, value->line, value->col,
			  "group '%s' is a mapping of hosts, vars and "
			  "children, not %s",
			  key->value, ynode_describe(value));
		return;
	}
	for (size_t i = 0; i < value->nr && !inv->broken; i++) {
		const struct ynode *k = value->pairs[i].key;
		const struct ynode *v = value->pairs[i].value;
		const char *hint;

		if (!strcmp(k->value, "hosts")) {
			hosts(inv, dl, g, v);
		} else if (!strcmp(k->value, "vars")) {
			group_vars(inv, dl, g, v);
		} else if (!strcmp(k->value, "children")) {
			children(inv, dl, g, v, depth);
		} else if ((hint = suggest(k->value, keys, SIZE_MAX))) {
			inv_error(inv, dl, k->line, k->col,
				  "unknown key '%s' in group '%s' (did you "
				  "mean '%s'?)",
				  k->value, key->value, hint);
		} else {
			inv_error(inv, dl, k->line, k->col,
				  "unknown key '%s' in group '%s': a group has "
				  "hosts, vars and children",
				  k->value, key->value);
		}
	}
}

void inv_parse_yaml(struct inventory *inv, const char *text, size_t len,
		    struct diag_list *dl)
{
	struct ydoc *doc = NULL;
	const struct ynode *root;
	struct error err;

	error_init(&err);
	if (ydoc_parse(inv->file, text, len, &doc, dl, &err)) {
		diag_add(dl, DIAG_ERROR, inv->file, err.line, err.col, "%s",
			 err.msg);
		inv->broken = true;
		goto out;
	}
	/* Built nodes (a host's place in a group) join the parsed ones. */
	ydoc_free(inv->doc);
	inv->doc = doc;
	root = doc->root;
	if (!root || ynode_is_null(root))
		goto out;
	if (root->kind != YNODE_MAP) {
		inv_error(inv, dl, root->line, root->col,
			  "a YAML inventory is a mapping of groups (all: "
			  "{hosts: ..., children: ...}), not %s",
			  ynode_describe(root));
		goto out;
	}
	for (size_t i = 0; i < root->nr && !inv->broken; i++)
		group(inv, dl, root->pairs[i].key, root->pairs[i].value,
		      SIZE_MAX, 0);
out:
	error_clear(&err);
}
