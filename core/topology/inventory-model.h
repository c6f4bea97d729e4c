/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_INVENTORY_MODEL_H
#define DEPLOY_INVENTORY_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/inventory.h"

/*
 * Internal to core/topology/inventory*.c: the groups and hosts an inventory
 * holds, filled by the INI and YAML readers through the inv_*() calls below
 * and read by inventory.c. Groups 0 and 1 are Ansible's implicit `all` and
 * `ungrouped`. Names are found through hash indexes, so that the largest
 * inventory allowed costs no more than a moment.
 */

#define INV_ALL	      0
#define INV_UNGROUPED 1

struct inv_vars {
	struct ypair *v; /* in the order written; a later key wins */
	size_t nr;
	size_t alloc;
};

/* A host named in a group, at line:col. */
struct inv_entry {
	size_t host;
	int line;
	int col;
};

/* [parent:children] names child at line:col; cut when it closed a cycle. */
struct inv_edge {
	size_t child;
	int line;
	int col;
	bool cut;
};

struct inv_group {
	char *name;
	int line; /* first mention */
	int col;
	bool declared; /* [name] or [name:children], or any YAML mention */
	struct inv_vars vars;
	struct inv_entry *entries;
	size_t nr_entries;
	size_t alloc_entries;
	struct inv_edge *children;
	size_t nr_children;
	size_t alloc_children;
	size_t *parents; /* filled by inv_finish() */
	size_t nr_parents;
	size_t alloc_parents;
	long priority; /* ansible_group_priority */
	size_t depth;  /* from `all`, the longest way down */
	unsigned long mark;
};

enum inv_host_state {
	INV_HOST_UNRESOLVED,
	INV_HOST_RESOLVED,
	INV_HOST_BAD, /* reported: cannot be a deploy host */
};

struct inv_host {
	char *name;
	int line; /* first mention */
	int col;
	struct inv_vars vars;
	size_t *groups; /* named in, in order (may repeat) */
	size_t nr_groups;
	size_t alloc_groups;
	unsigned long mark;
	/* once resolved */
	enum inv_host_state state;
	char label[64];
	const char *address;
	int port;
	const char *user;
	const char *key;
	const struct ynode *merged; /* the variables deploy keeps, or NULL */
};

struct inv_index {
	struct inv_slot {
		const char *name;
		size_t idx;
	} * slots;
	size_t cap;
	size_t nr;
};

struct inventory {
	char *file;
	struct ydoc *doc; /* owns every node: parsed YAML, or built from INI */
	bool broken;	  /* unreadable as a whole; already reported */
	struct inv_group *groups;
	size_t nr_groups;
	size_t alloc_groups;
	struct inv_host *hosts;
	size_t nr_hosts;
	size_t alloc_hosts;
	struct inv_index group_index;
	struct inv_index host_index;
	size_t nr_entries;
	size_t var_work;
	bool var_work_reported;
	unsigned long mark;
};

void inv_error(struct inventory *inv, struct diag_list *dl, int line, int col,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void inv_warn(struct inventory *inv, struct diag_list *dl, int line, int col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The group named so, made on first mention; SIZE_MAX past the limit
 * (reported, and the inventory marked broken). */
size_t inv_group(struct inventory *inv, struct diag_list *dl, const char *name,
		 int line, int col);
/* A group that exists already, or SIZE_MAX. */
size_t inv_find_group(const struct inventory *inv, const char *name);
void inv_add_child(struct inventory *inv, size_t parent, size_t child, int line,
		   int col);

/*
 * Add the hosts a pattern names (NAME, NAME:PORT, [IPV6]:PORT, with ranges
 * such as node[01:20]) to group g, each with the variables in `vars` (may be
 * NULL). The indexes of the hosts are appended to *added when not NULL.
 * 0, or -1 when the pattern is bad or a limit is passed (reported).
 */
int inv_add_hosts(struct inventory *inv, struct diag_list *dl, size_t g,
		  const char *pattern, int line, int col,
		  const struct inv_vars *vars);

/*
 * Check one variable (key and value nodes of inv's documents) and append it
 * to `to`: names must be identifiers; the variables deploy understands
 * (ansible_host, ansible_port ...) must have usable values; passwords are
 * dropped with a warning. Problems are reported at the nodes.
 */
void inv_add_var(struct inventory *inv, struct diag_list *dl,
		 struct inv_vars *to, struct ynode *key, struct ynode *value);

/* After reading: undeclared groups, cycles, parents and depths. */
void inv_finish(struct inventory *inv, struct diag_list *dl);

void inv_parse_ini(struct inventory *inv, const char *text, size_t len,
		   struct diag_list *dl);
void inv_parse_yaml(struct inventory *inv, const char *text, size_t len,
		    struct diag_list *dl);

/* A port from 1 to 65535 in n (an integer, or digits quoted), else 0. */
int inv_port(const struct ynode *n);

/* The connection variables deploy understands, each a NULL-terminated list
 * of the names Ansible takes for it. */
extern const char *const inv_address_vars[];
extern const char *const inv_port_vars[];
extern const char *const inv_user_vars[];
extern const char *const inv_key_vars[];

/* Whether s is one of words (NULL-terminated). */
bool inv_is_one_of(const char *s, const char *const *words);

#endif
