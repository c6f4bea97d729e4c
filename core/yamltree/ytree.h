/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_YTREE_H
#define DEPLOY_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/error.h"

/*
 * A YAML document as a tree in which every node keeps the file:line:col it
 * came from, built with libyaml's event parser. It adds what libyaml leaves
 * out: duplicate keys in a mapping are reported, aliases are shared (with
 * a bound on what they expand to, against "billion laughs" documents), and
 * merge keys (<<) are applied. Scalars keep their text and whether they were
 * plain (unquoted), so that `8080` and `"8080"` can be told apart.
 */

enum ynode_kind {
	YNODE_SCALAR,
	YNODE_SEQ,
	YNODE_MAP,
};

struct ypair;

struct ynode {
	enum ynode_kind kind;
	int line; /* 1-based */
	int col;  /* 1-based */
	/* YNODE_SCALAR */
	char *value; /* NUL-terminated; may hold NULs of its own (len) */
	size_t len;
	bool plain; /* unquoted, no explicit tag: subject to type resolution */
	/* YNODE_SEQ: items; YNODE_MAP: pairs */
	struct ynode **items;
	struct ypair *pairs;
	size_t nr;
	size_t alloc;
	/* internal */
	size_t weight; /* nodes below, counting through aliases */
	bool complete;
};

struct ypair {
	struct ynode *key; /* always a scalar */
	struct ynode *value;
};

struct ydoc {
	char *file;
	struct ynode *root; /* NULL for an empty document */
	struct ynode **all; /* every node, for freeing (aliases share) */
	size_t nr_all;
	size_t alloc_all;
};

/* Limits on what a document may be, so that no input can exhaust us. */
#define YTREE_MAX_BYTES	 (4u << 20)
#define YTREE_MAX_DEPTH	 64
#define YTREE_MAX_WEIGHT 200000

/*
 * Parse `text` as one YAML document named `file`. A syntax error, or a limit
 * passed, returns DEPLOY_ERR_SYNTAX (or DEPLOY_ERR_TOO_BIG) with err at the
 * problem's position and *out NULL. Problems that leave a usable tree
 * (duplicate keys) are added to `dl` as errors and parsing goes on; the
 * first of two duplicate keys is kept.
 */
int ydoc_parse(const char *file, const char *text, size_t len,
	       struct ydoc **out, struct diag_list *dl, struct error *err);
void ydoc_free(struct ydoc *doc);

/*
 * Building nodes in code, for values that come from another format (an INI
 * inventory's variables) but should read like parsed YAML: each node keeps
 * the line:col it is given and belongs to `doc`, which frees it. A built
 * mapping may hold nodes of any document that lives as long as it does.
 * `ydoc_new` makes an empty document (root NULL) named `file`.
 */
struct ydoc *ydoc_new(const char *file);
/* A scalar holding len bytes of value; plain as for a parsed one (typed by
 * the core schema when true, a string when false). */
struct ynode *ydoc_new_scalar(struct ydoc *doc, const char *value, size_t len,
			      bool plain, int line, int col);
struct ynode *ydoc_new_map(struct ydoc *doc, int line, int col);
/* Append key: value to mapping m; the caller keeps keys unique. */
void ynode_map_add(struct ynode *m, struct ynode *key, struct ynode *value);

/* Map lookup by key text; NULL when absent or when m is not a mapping. */
struct ynode *ynode_get(const struct ynode *m, const char *key);
const struct ypair *ynode_get_pair(const struct ynode *m, const char *key);

/* Type resolution of plain scalars (the YAML 1.2 core schema). */
bool ynode_is_null(const struct ynode *n);
/* true/false (any case of the core schema); 0 or DEPLOY_ERR_INVALID */
int ynode_bool(const struct ynode *n, bool *out);
/* decimal, 0x hex or 0o octal, within long; 0 or DEPLOY_ERR_INVALID */
int ynode_int(const struct ynode *n, long *out);
bool ynode_is_number(const struct ynode *n);
/* A plain scalar that is neither null, bool nor number, or a quoted one. */
bool ynode_is_string(const struct ynode *n);
/* What a node is, for messages: "a mapping", "a list", "a number" ... */
const char *ynode_describe(const struct ynode *n);

/* The node as JSON (for template data), with core-schema scalar types. */
cJSON *ynode_to_json(const struct ynode *n);

#endif
