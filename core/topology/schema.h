/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_SCHEMA_H
#define DEPLOY_SCHEMA_H

#include <stdbool.h>

#include "util/error.h"
#include "yamltree/ytree.h"

/*
 * The topology's keys as tables: each key has a type, bounds, a default (as
 * docs/topology.md shows it) and an optional checker. schema_check() walks a
 * YAML tree against a table and reports every problem it finds, each at the
 * file:line:col of the offending node. Cross-references (roles named in
 * after/via/from, cycles) are checked later, in validate.c, on the typed
 * struct topology.
 */

struct vctx {
	const char *file;
	struct diag_list *dl;
	const char *dir; /* the topology's directory, for relative paths */
};

enum vtype {
	VT_STRING,
	VT_INT,
	VT_BOOL,
	VT_MAP,	 /* keys from a table */
	VT_SEQ,	 /* items of one spec */
	VT_DICT, /* keys the user chooses, values of one spec */
	VT_ANY,	 /* anything: the checker decides */
};

struct key_spec;

typedef void (*vcheck_fn)(struct vctx *v, const struct ynode *n,
			  const char *what);

struct vspec {
	enum vtype type;
	long min; /* VT_INT: bounds; VT_SEQ, VT_DICT: fewest items */
	long max; /* VT_INT: bounds */
	const struct key_spec *keys; /* VT_MAP */
	const struct vspec *items;   /* VT_SEQ items, VT_DICT values */
	const char *const *choices;  /* VT_STRING: one of these */
	vcheck_fn check;	     /* runs when the type is right */
	vcheck_fn check_key;	     /* VT_DICT: each key */
	const char *key_what;	     /* VT_DICT: "role name" */
};

#define KEY_REQUIRED 0x1

struct key_spec {
	const char *name;
	const struct vspec *spec;
	unsigned flags;
	const char *def;     /* the default, for messages and docs */
	const char *example; /* for "missing key" messages: "version: 1" */
};

extern const struct vspec topology_spec;

/*
 * Check `n` against `spec`. `what` names the node in messages as a dotted
 * path: "roles.validator.count", "" for the document's root.
 */
void schema_check(struct vctx *v, const struct ynode *n,
		  const struct vspec *spec, const char *what);

/*
 * Check a document's root, which must be a mapping, against spec; returns
 * whether it is one. An empty document is reported as `empty`, any other
 * root as "MAPPING, not a list" ("a topology is a mapping of keys (...)").
 */
bool schema_check_root(struct vctx *v, const struct ynode *root,
		       const struct vspec *spec, const char *empty,
		       const char *mapping);

/* Report an error or warning at node n. */
void verror(struct vctx *v, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vwarn(struct vctx *v, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Checkers shared with the providers' tables. */
void check_dns_label(struct vctx *v, const struct ynode *n, const char *what);
void check_cidr(struct vctx *v, const struct ynode *n, const char *what);
void check_url(struct vctx *v, const struct ynode *n, const char *what);
void check_identifier(struct vctx *v, const struct ynode *n, const char *what);

/* Common value specs, for the providers' tables. */
extern const struct vspec vs_string;
extern const struct vspec vs_url;
extern const struct vspec vs_cidr;
extern const struct vspec vs_string_list;
/* A role's (or a playbook's) health: checks (docs/topology.md). */
extern const struct vspec vs_health;

/* Parse a port or a range ("8000-8100"); 0 or -1. */
int parse_port_range(const struct ynode *n, int *lo, int *hi);

#endif
