/* SPDX-License-Identifier: MIT */
/* The schema walker: a document checked against its vspec tables. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/schema.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Diagnostics */

static void vdiag(struct vctx *v, enum diag_level level, const struct ynode *n,
		  const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;

	buf_vaddf(&msg, fmt, ap);
	diag_add(v->dl, level, v->file, n ? n->line : 0, n ? n->col : 0, "%s",
		 msg.data);
	buf_free(&msg);
}

void verror(struct vctx *v, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(v, DIAG_ERROR, n, fmt, ap);
	va_end(ap);
}

void vwarn(struct vctx *v, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(v, DIAG_WARNING, n, fmt, ap);
	va_end(ap);
}

/* Checkers */

/* The walker */

static const char *type_name(enum vtype t)
{
	switch (t) {
	case VT_STRING:
		return "a string";
	case VT_INT:
		return "an integer";
	case VT_BOOL:
		return "true or false";
	case VT_MAP:
	case VT_DICT:
		return "a mapping";
	case VT_SEQ:
		return "a list";
	case VT_ANY:
		break;
	}
	return "a value";
}

/* "in roles.validator", or "at the top level" for the root mapping. */
static const char *where(const char *what)
{
	static char buf[300];

	if (!*what)
		return "at the top level";
	snprintf(buf, sizeof(buf), "in %s", what);
	return buf;
}

static void wrong_type(struct vctx *v, const struct ynode *n,
		       const struct vspec *spec, const char *what)
{
	if (n->kind == YNODE_SCALAR && n->len && n->len < 64)
		verror(v, n, "%s must be %s, not %s ('%s')", what,
		       type_name(spec->type), ynode_describe(n), n->value);
	else
		verror(v, n, "%s must be %s, not %s", what,
		       type_name(spec->type), ynode_describe(n));
}

static void check_choices(struct vctx *v, const struct ynode *n,
			  const struct vspec *spec, const char *what)
{
	struct buf list = BUF_INIT;
	const char *hint;

	for (const char *const *c = spec->choices; *c; c++)
		if (!strcmp(*c, n->value))
			return;
	for (const char *const *c = spec->choices; *c; c++)
		buf_addf(&list, "%s%s", c == spec->choices ? "" : ", ", *c);
	hint = suggest(n->value, spec->choices, SIZE_MAX);
	if (hint)
		verror(v, n, "%s '%s' is not one of %s (did you mean '%s'?)",
		       what, n->value, list.data, hint);
	else
		verror(v, n, "%s '%s' is not one of %s", what, n->value,
		       list.data);
	buf_free(&list);
}

static void check_map(struct vctx *v, const struct ynode *n,
		      const struct vspec *spec, const char *what)
{
	const char *names[64];
	size_t nr_names = 0;

	for (const struct key_spec *k = spec->keys; k->name && nr_names < 64;
	     k++)
		names[nr_names++] = k->name;
	for (size_t i = 0; i < n->nr; i++) {
		const struct ynode *key = n->pairs[i].key;
		const struct key_spec *k;
		struct buf w = BUF_INIT;
		const char *hint;

		for (k = spec->keys; k->name; k++)
			if (!strcmp(k->name, key->value))
				break;
		if (!k->name) {
			hint = suggest(key->value, names, nr_names);
			if (hint)
				verror(v, key,
				       "unknown key '%s' %s (did you mean "
				       "'%s'?)",
				       key->value, where(what), hint);
			else
				verror(v, key, "unknown key '%s' %s",
				       key->value, where(what));
			continue;
		}
		buf_addf(&w, "%s%s%s", what, *what ? "." : "", k->name);
		schema_check(v, n->pairs[i].value, k->spec, w.data);
		buf_free(&w);
	}
	for (const struct key_spec *k = spec->keys; k->name; k++) {
		if (!(k->flags & KEY_REQUIRED) || ynode_get(n, k->name))
			continue;
		if (k->example)
			verror(v, n, "missing key '%s' %s (e.g. '%s')", k->name,
			       where(what), k->example);
		else
			verror(v, n, "missing key '%s' %s", k->name,
			       where(what));
	}
}

static void check_dict(struct vctx *v, const struct ynode *n,
		       const struct vspec *spec, const char *what)
{
	if ((long)n->nr < spec->min)
		verror(v, n, "%s is empty", what);
	for (size_t i = 0; i < n->nr; i++) {
		const struct ynode *key = n->pairs[i].key;
		struct buf w = BUF_INIT;

		if (spec->check_key)
			spec->check_key(v, key, spec->key_what);
		buf_addf(&w, "%s.%s", what, key->value);
		schema_check(v, n->pairs[i].value, spec->items, w.data);
		buf_free(&w);
	}
}

static void check_seq(struct vctx *v, const struct ynode *n,
		      const struct vspec *spec, const char *what)
{
	if ((long)n->nr < spec->min)
		verror(v, n, "%s is empty", what);
	for (size_t i = 0; i < n->nr; i++) {
		struct buf w = BUF_INIT;

		buf_addf(&w, "%s[%zu]", what, i);
		schema_check(v, n->items[i], spec->items, w.data);
		buf_free(&w);
	}
}

void schema_check(struct vctx *v, const struct ynode *n,
		  const struct vspec *spec, const char *what)
{
	bool b;
	long i;

	switch (spec->type) {
	case VT_ANY:
		break;
	case VT_STRING:
		if (!ynode_is_string(n)) {
			wrong_type(v, n, spec, what);
			return;
		}
		if (spec->choices)
			check_choices(v, n, spec, what);
		break;
	case VT_INT:
		if (ynode_int(n, &i)) {
			wrong_type(v, n, spec, what);
			return;
		}
		if ((spec->min || spec->max) &&
		    (i < spec->min || i > spec->max)) {
			verror(v, n, "%s must be from %ld to %ld, not %ld",
			       what, spec->min, spec->max, i);
			return;
		}
		break;
	case VT_BOOL:
		if (ynode_bool(n, &b)) {
			wrong_type(v, n, spec, what);
			return;
		}
		break;
	case VT_MAP:
		if (n->kind != YNODE_MAP) {
			wrong_type(v, n, spec, what);
			return;
		}
		check_map(v, n, spec, what);
		break;
	case VT_DICT:
		if (n->kind != YNODE_MAP) {
			wrong_type(v, n, spec, what);
			return;
		}
		check_dict(v, n, spec, what);
		break;
	case VT_SEQ:
		if (n->kind != YNODE_SEQ) {
			wrong_type(v, n, spec, what);
			return;
		}
		check_seq(v, n, spec, what);
		break;
	}
	if (spec->check)
		spec->check(v, n, what);
}

bool schema_check_root(struct vctx *v, const struct ynode *root,
		       const struct vspec *spec, const char *empty,
		       const char *mapping)
{
	if (!root || ynode_is_null(root)) {
		diag_add(v->dl, DIAG_ERROR, v->file, 1, 1, "%s", empty);
		return false;
	}
	if (root->kind != YNODE_MAP) {
		verror(v, root, "%s, not %s", mapping, ynode_describe(root));
		return false;
	}
	schema_check(v, root, spec, "");
	return true;
}
