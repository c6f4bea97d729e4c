/* SPDX-License-Identifier: MIT */
/* Between playbook.c and check.c: the playbook's key tables, its kinds. */
#ifndef DEPLOY_PLAYBOOK_CHECK_H
#define DEPLOY_PLAYBOOK_CHECK_H

#include "playbook/playbook.h"
#include "topology/schema.h"

/*
 * The checkers get a struct vctx; the playbook being loaded sits around it,
 * for the checks that look for files beside it.
 */
struct pctx {
	struct vctx v;
	struct playbook *pb;
};

/* The whole playbook's keys, for schema_check(). */
extern const struct vspec playbook_schema;

/* The step kind a step key names, or -1. */
int step_kind_of(const char *key);

/*
 * The variable a `loop:` string names: "{{ vars.files }}" (one tag, a
 * dotted path of letters, digits, '_' and '-', nothing around it) gives
 * "vars.files", malloc'd; anything else NULL.
 */
char *loop_var_path(const char *text);

#endif
