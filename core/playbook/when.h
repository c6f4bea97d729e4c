/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_WHEN_H
#define DEPLOY_PLAYBOOK_WHEN_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "util/error.h"

struct vctx;
struct ynode;

/*
 * A `when:` condition, evaluated at compile time against the host's data:
 *   NAME            true when the value is truthy
 *   not NAME        true when it is not
 *   NAME == 'x'     the value as text equals x
 *   NAME != 'x'     it does not
 * NAME is a variable (`docker`) or, with a dot, a path from the root of the
 * template data (`role.name`, `vars.node.kind`, `item.path`; `item` alone
 * is the item of a step's loop). Literals are quoted with
 * ' or ", or bare words of letters, digits and _ . : / -.
 */
enum when_op {
	WHEN_TRUTHY,
	WHEN_NOT,
	WHEN_EQ,
	WHEN_NE,
};

struct when_expr {
	enum when_op op;
	char *path;  /* "vars.docker", "role.name" */
	char *value; /* WHEN_EQ, WHEN_NE */
	const struct ynode *node;
};

/* Parse one condition; 0, or DEPLOY_ERR_SYNTAX with *why set. */
int when_parse(const char *text, struct when_expr *out, const char **why);
void when_clear(struct when_expr *w);
/*
 * Evaluate w against `data` (the template data). A name that is not
 * there, or a comparison with a list or mapping, is DEPLOY_ERR_INVALID
 * with a message in err (no position).
 */
int when_eval(const struct when_expr *w, const cJSON *data, bool *out,
	      struct error *err);
/* Truthiness: false for null, false, 0, "", [] and {}. */
bool json_truthy(const cJSON *v);
/* The value at a dotted path ("vars.files") in data, or NULL. */
const cJSON *json_lookup_path(const cJSON *data, const char *path);

/*
 * The schema checker for a step's `when:` (core/topology/schema.h): a
 * condition or a list of them, each reported at its place when it does not
 * parse.
 */
void when_check(struct vctx *v, const struct ynode *n, const char *what);

#endif
