/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_INVENTORY_H
#define DEPLOY_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "yamltree/ytree.h"

/*
 * Static Ansible inventories, so that a role with `provider: ssh` can take
 * the hosts of a group its operators already keep (docs/topology.md,
 * "roles.NAME.inventory"). Both forms Ansible reads statically:
 *
 *   INI:  [group], [group:vars], [group:children], host lines
 *         "NAME key=value ..." with shell-like quoting, host ranges
 *         (node[01:20], [a:f], [0:20:5]), NAME:PORT, # and ; comments.
 *   YAML: all: {hosts: {NAME: {vars}}, vars: {...}, children: {...}}.
 *
 * Every group name, host name and variable keeps the file:line:col it came
 * from: problems are reported at the inventory's position through the same
 * diag list as the topology's. Variables are ynodes (built ones for INI), so
 * templates see them as they see the topology's vars.
 */

#define INVENTORY_MAX_BYTES  YTREE_MAX_BYTES
#define INVENTORY_MAX_HOSTS  10000
#define INVENTORY_MAX_GROUPS 10000
/* Host names in groups once ranges are expanded, a host counted each time
 * a group names it. */
#define INVENTORY_MAX_ENTRIES 100000
/* Variables looked at while applying group variables to hosts. */
#define INVENTORY_MAX_VAR_WORK 1000000

struct inventory;

/* A host of a group, as a role takes it. Strings belong to the inventory. */
struct inventory_host {
	char name[64];		    /* deploy's name: a DNS label */
	const char *inventory_name; /* as the inventory writes it */
	const struct ynode *node;   /* where the group names the host */
	const char *address;	    /* ansible_host, or the inventory name */
	int port;		    /* ansible_port; 0 when not set */
	const char *user;	    /* ansible_user; NULL when not set */
	const char *key; /* ansible_ssh_private_key_file; NULL when not set */
	const struct ynode *vars; /* the other variables, merged; NULL: none */
};

/*
 * Parse `text` (len bytes) as an inventory named `file` in messages. The
 * form comes from the name (.yml, .yaml, .json: YAML; .ini: INI) or, for
 * other names, from the first line that is not blank or a comment (YAML when
 * it is '---', starts with '{' or its first word ends with ':'). Every
 * problem goes to dl at the inventory's file:line:col. Always returns 0 and
 * sets *out; an inventory with errors answers what it can.
 */
int inventory_parse(const char *file, const char *text, size_t len,
		    struct inventory **out, struct diag_list *dl);
/*
 * Read and parse the file at `path` (named so in messages). A file that
 * cannot be read (missing, a directory, not a regular file, larger than
 * INVENTORY_MAX_BYTES) returns a negative code with err's message naming
 * it, and *out NULL; the caller reports it where the inventory was named.
 */
int inventory_load(const char *path, struct inventory **out,
		   struct diag_list *dl, struct error *err);
void inventory_free(struct inventory *inv);

const char *inventory_file(const struct inventory *inv);
/* The name of group i (in the order first named, `all` and `ungrouped`
 * first), or NULL past the last. */
const char *inventory_group_name(const struct inventory *inv, size_t i);

/*
 * The hosts of `group` (its own, then its children's, each host once) with
 * their variables applied as Ansible does: host variables over child group
 * variables over parent group variables over `all`'s. `all` is every host,
 * `ungrouped` those in no other group. Hosts that cannot become deploy hosts
 * (a name that is no DNS label even with dots turned to '-', no address) are
 * reported to dl at the inventory's position and left out.
 *
 * Returns 0 with *out (free() it) and *nr. A group the inventory does not
 * have (DEPLOY_ERR_NOT_FOUND) or that has no hosts (DEPLOY_ERR_INVALID)
 * sets err's message, without a position: the caller names where the group
 * was asked for. DEPLOY_ERR_SYNTAX: the inventory could not be read as a
 * whole (its errors are in dl already) and err is not set.
 */
int inventory_group_hosts(struct inventory *inv, const char *group,
			  struct inventory_host **out, size_t *nr,
			  struct diag_list *dl, struct error *err);

#endif
