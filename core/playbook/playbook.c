/* SPDX-License-Identifier: MIT */
/* Loading a playbook: its YAML checked (check.c), then typed steps. */

/*
 * Loading a playbook: the YAML is parsed, checked against the key tables
 * of check.c (every problem at its file:line:col), then built into typed
 * steps, handlers and notify links. `when:` is in when.c, finding
 * playbooks and their files in lookup.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "playbook/check.h"
#include "playbook/playbook.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Building the typed playbook from a checked tree */

static void build_when(struct step *s, const struct ynode *n)
{
	size_t nr = n->kind == YNODE_SEQ ? n->nr : 1;
	const char *why;

	s->when = xcalloc(nr, sizeof(*s->when));
	for (size_t i = 0; i < nr; i++) {
		const struct ynode *item =
			n->kind == YNODE_SEQ ? n->items[i] : n;

		if (!ynode_is_string(item) ||
		    when_parse(item->value, &s->when[s->nr_when], &why))
			continue; /* reported by the schema */
		s->when[s->nr_when++].node = item;
	}
}

static void resolve_notify(struct playbook *pb, struct step *s,
			   const struct ynode *n, struct vctx *v)
{
	size_t nr = n->kind == YNODE_SEQ ? n->nr : 1;
	const char **names = xcalloc(pb->nr_handlers + 1, sizeof(*names));

	for (size_t i = 0; i < pb->nr_handlers; i++)
		names[i] = pb->handlers[i].name;
	s->notify = xcalloc(nr, sizeof(*s->notify));
	for (size_t i = 0; i < nr; i++) {
		const struct ynode *item =
			n->kind == YNODE_SEQ ? n->items[i] : n;
		const char *hint;
		size_t h;

		if (!ynode_is_string(item))
			continue;
		for (h = 0; h < pb->nr_handlers; h++)
			if (names[h] && !strcmp(names[h], item->value))
				break;
		if (h < pb->nr_handlers) {
			s->notify[s->nr_notify++] = h;
			continue;
		}
		hint = suggest(item->value, names, pb->nr_handlers);
		if (hint)
			verror(v, item,
			       "%s.notify: no handler named '%s' (did you "
			       "mean '%s'?)",
			       s->what, item->value, hint);
		else if (pb->nr_handlers)
			verror(v, item, "%s.notify: no handler named '%s'",
			       s->what, item->value);
		else
			verror(v, item,
			       "%s.notify: no handler named '%s' (the playbook "
			       "has no 'handlers')",
			       s->what, item->value);
	}
	free(names);
}

/* "Reload SSH daemon" -> "reload-ssh-daemon" */
static char *slug(const char *name)
{
	struct buf b = BUF_INIT;
	bool dash = false;

	for (const char *p = name; *p && b.len < 64; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && b.len)
				buf_addch(&b, '-');
			buf_addch(&b, c);
			dash = false;
		} else {
			dash = true;
		}
	}
	if (!b.len)
		buf_adds(&b, "handler");
	return buf_release(&b);
}

static void build_step(struct playbook *pb, struct step *s,
		       const struct ynode *n, const char *what)
{
	const struct ynode *name = ynode_get(n, "name");
	const struct ynode *when = ynode_get(n, "when");

	(void)pb;
	s->what = xstrdup(what);
	s->node = n;
	s->name = ynode_is_string(name) ? name->value : NULL;
	s->kind = STEP_KIND_COUNT;
	for (size_t i = 0; i < n->nr; i++) {
		int k = step_kind_of(n->pairs[i].key->value);

		if (k < 0 || s->kind != STEP_KIND_COUNT)
			continue;
		s->kind = (enum step_kind)k;
		s->kind_node = n->pairs[i].key;
		s->args = n->pairs[i].value;
	}
	if (when)
		build_when(s, when);
	s->loop = ynode_get(n, "loop");
	if (s->loop && ynode_is_string(s->loop))
		s->loop_path = loop_var_path(s->loop->value);
	s->item = ynode_get(n, "item");
	if (s->item && s->item->kind != YNODE_MAP)
		s->item = NULL;
}

static void build_list(struct playbook *pb, const struct ynode *seq,
		       bool handlers, struct step **out, size_t *nr)
{
	struct buf what = BUF_INIT;

	if (!seq || seq->kind != YNODE_SEQ)
		return;
	*out = xcalloc(seq->nr, sizeof(**out));
	for (size_t i = 0; i < seq->nr; i++) {
		const struct ynode *n = seq->items[i];

		if (n->kind != YNODE_MAP)
			continue;
		buf_reset(&what);
		buf_addf(&what, "%s[%zu]", handlers ? "handlers" : "steps", i);
		build_step(pb, &(*out)[*nr], n, what.data);
		if ((*out)[*nr].kind == STEP_KIND_COUNT) {
			free((*out)[*nr].what);
			for (size_t j = 0; j < (*out)[*nr].nr_when; j++)
				when_clear(&(*out)[*nr].when[j]);
			free((*out)[*nr].when);
			free((*out)[*nr].loop_path);
			memset(&(*out)[*nr], 0, sizeof(**out));
			continue;
		}
		(*nr)++;
	}
	buf_free(&what);
}

static void build_playbook(struct playbook *pb, struct vctx *v)
{
	const struct ynode *root = pb->doc->root;
	const struct ynode *n;

	n = ynode_get(root, "name");
	pb->name = ynode_is_string(n) ? n->value : NULL;
	n = ynode_get(root, "description");
	pb->description = ynode_is_string(n) ? n->value : NULL;
	n = ynode_get(root, "vars");
	pb->vars = n && n->kind == YNODE_MAP ? n : NULL;
	n = ynode_get(root, "health");
	pb->health = n && n->kind == YNODE_SEQ && n->nr ? n : NULL;
	n = ynode_get(root, "steps");
	if (n && n->kind == YNODE_SEQ && n->nr > PLAYBOOK_MAX_STEPS) {
		verror(v, n, "a playbook has at most %d steps",
		       PLAYBOOK_MAX_STEPS);
		return;
	}
	build_list(pb, ynode_get(root, "handlers"), true, &pb->handlers,
		   &pb->nr_handlers);
	build_list(pb, n, false, &pb->steps, &pb->nr_steps);
	for (size_t i = 0; i < pb->nr_handlers; i++) {
		struct step *h = &pb->handlers[i];
		struct buf flag = BUF_INIT;
		char *s;

		if (!h->name)
			continue;
		s = slug(h->name);
		buf_addf(&flag, "%s.%s", pb->name ? pb->name : "playbook", s);
		free(s);
		h->flag = buf_release(&flag);
		for (size_t j = 0; j < i; j++) {
			const struct ynode *at = ynode_get(h->node, "name");

			if (!pb->handlers[j].flag ||
			    strcmp(pb->handlers[j].flag, h->flag))
				continue;
			if (!strcmp(pb->handlers[j].name, h->name))
				verror(v, at,
				       "%s: a second handler named '%s'; "
				       "handler names are unique",
				       h->what, h->name);
			else
				verror(v, at,
				       "%s: handler names '%s' and '%s' are "
				       "too alike (both notify '%s'); rename "
				       "one",
				       h->what, pb->handlers[j].name, h->name,
				       h->flag);
			break;
		}
	}
	for (size_t i = 0; i < pb->nr_steps; i++) {
		n = ynode_get(pb->steps[i].node, "notify");
		if (n)
			resolve_notify(pb, &pb->steps[i], n, v);
	}
}

int playbook_parse(const char *file, const char *text, size_t len,
		   const char *datadir, struct playbook **out,
		   struct diag_list *dl, struct error *err)
{
	struct playbook *pb = xcalloc(1, sizeof(*pb));
	struct pctx pc = { .v = { .file = file, .dl = dl }, .pb = pb };
	size_t before = dl->errors; /* dl may hold other files' problems */
	int rc;

	*out = NULL;
	pb->file = xstrdup(file);
	pb->dir = dir_of(file);
	pb->datadir = xstrdup(datadir ? datadir : DEPLOY_DATADIR);
	pc.v.dir = pb->dir;
	rc = ydoc_parse(file, text, len, &pb->doc, dl, err);
	if (rc)
		goto fail;
	if (schema_check_root(&pc.v, pb->doc->root, &playbook_schema,
			      "empty playbook: it needs at least 'name' and "
			      "'steps' (see docs/playbooks.md)",
			      "a playbook is a mapping of keys (name, vars, "
			      "steps, handlers)"))
		build_playbook(pb, &pc.v);
	diag_list_sort(dl);
	if (dl->errors > before) {
		rc = DEPLOY_ERR_INVALID;
		goto fail;
	}
	*out = pb;
	return 0;
fail:
	playbook_free(pb);
	return rc;
}

int playbook_load(const char *path, const char *datadir, struct playbook **out,
		  struct diag_list *dl, struct error *err)
{
	struct buf text;
	int rc;

	*out = NULL;
	buf_init(&text, YTREE_MAX_BYTES);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_TOO_BIG)
		rc = error_set(err, rc, path, 0, 0,
			       "file is larger than %u bytes", YTREE_MAX_BYTES);
	else if (rc)
		rc = error_set(err, rc, path, 0, 0, "cannot read: %s",
			       strerror(errno));
	else
		rc = playbook_parse(path, text.data, text.len, datadir, out, dl,
				    err);
	buf_free(&text);
	return rc;
}

static void free_steps(struct step *steps, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		for (size_t j = 0; j < steps[i].nr_when; j++)
			when_clear(&steps[i].when[j]);
		free(steps[i].when);
		free(steps[i].notify);
		free(steps[i].what);
		free(steps[i].flag);
		free(steps[i].loop_path);
	}
	free(steps);
}

void playbook_free(struct playbook *pb)
{
	if (!pb)
		return;
	free_steps(pb->steps, pb->nr_steps);
	free_steps(pb->handlers, pb->nr_handlers);
	ydoc_free(pb->doc);
	free(pb->file);
	free(pb->dir);
	free(pb->datadir);
	free(pb);
}
