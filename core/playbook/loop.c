/* SPDX-License-Identifier: MIT */
/* A step's loop: the items of its list for one host, checked (compile.c). */

/*
 * A step with `loop:` runs once per item of a list: a list written in the
 * step, or a variable ("{{vars.files}}") of the host's data. The compiler
 * makes one step of each item, with the item in the template data as
 * `item`. When the step says what an item holds (`item:` with required
 * keys, defaults and the keys that name files), every item is checked
 * here, and a problem is reported where the item is written: in the
 * topology for a variable of its (host, role or topology vars), else in
 * the playbook.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "playbook/compile-internal.h"
#include "playbook/playbook.h"
#include "util/path.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Where the list is written: for positions and relative file names. */
struct list_src {
	const struct ynode *node; /* the list; NULL: not known */
	const char *file;
	char *dir;  /* owned */
	char *what; /* "vars.files" or "steps[3].loop"; owned */
};

/* The node of a dotted path below mapping m ("a.b" in {a: {b: ...}}). */
static const struct ynode *ynode_path(const struct ynode *m, const char *path)
{
	const struct ynode *v = m;
	const char *p = path;

	while (v && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char *key = xstrndup(p, n);

		v = ynode_get(v, key);
		free(key);
		p += n + (dot ? 1 : 0);
	}
	return v;
}

/*
 * The place of variable PATH ("vars.x.y") as the host sees it: host vars,
 * then the role's, the topology's, the playbook's defaults (the order of
 * their precedence, context.h).
 */
static void find_var(struct cc *c, const char *path, struct list_src *src)
{
	const struct host *h = c->ctx->host;
	const struct topology *t = c->ctx->t;
	const struct ynode *role_vars = h->role ? h->role->vars : NULL;
	const struct ynode *levels[4] = { h->vars, role_vars, t->vars,
					  c->pb->vars };
	const char *files[4] = { h->file ? h->file : t->file, t->file, t->file,
				 c->pb->file };

	if (strncmp(path, "vars.", 5))
		return;
	for (size_t i = 0; i < 4; i++) {
		const struct ynode *n =
			levels[i] ? ynode_path(levels[i], path + 5) : NULL;

		if (!n)
			continue;
		src->node = n;
		src->file = files[i];
		free(src->dir);
		src->dir = i == 3 ? xstrdup(c->pb->dir) : dir_of(files[i]);
		return;
	}
}

static const char *json_describe(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "a mapping";
	if (cJSON_IsArray(v))
		return "a list";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	return "null";
}

/* An error at node n of file (or at the loop key when n is NULL). */
static int fail_in(struct cc *c, const char *file, const struct ynode *n,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_in(struct cc *c, const char *file, const struct ynode *n,
		   const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	if (!n) {
		n = c->step->loop;
		file = c->pb->file;
	}
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	error_set(c->err, DEPLOY_ERR_INVALID, file, n->line, n->col, "%s",
		  msg.data);
	buf_free(&msg);
	return DEPLOY_ERR_INVALID;
}

/* The keys an item may have: required, then defaulted ones. */
static const char **item_key_names(const struct ynode *spec, size_t *nr)
{
	const struct ynode *req = ynode_get(spec, "required");
	const struct ynode *def = ynode_get(spec, "defaults");
	size_t max = (req && req->kind == YNODE_SEQ ? req->nr : 0) +
		     (def && def->kind == YNODE_MAP ? def->nr : 0);
	const char **names = xcalloc(max + 1, sizeof(*names));

	*nr = 0;
	for (size_t i = 0; req && req->kind == YNODE_SEQ && i < req->nr; i++)
		if (ynode_is_string(req->items[i]))
			names[(*nr)++] = req->items[i]->value;
	for (size_t i = 0; def && def->kind == YNODE_MAP && i < def->nr; i++)
		names[(*nr)++] = def->pairs[i].key->value;
	return names;
}

/* The item's keys: none unknown, every required one there. */
static int check_keys(struct cc *c, const struct list_src *src, size_t i,
		      const cJSON *item, const struct ynode *n)
{
	const struct ynode *req = ynode_get(c->step->item, "required");
	const cJSON *kv;
	size_t nr;
	const char **names = item_key_names(c->step->item, &nr);
	int rc = 0;

	cJSON_ArrayForEach(kv, item)
	{
		const struct ypair *p = ynode_get_pair(n, kv->string);
		const char *hint;
		size_t k;

		for (k = 0; k < nr && strcmp(names[k], kv->string); k++)
			;
		if (k < nr)
			continue;
		hint = suggest(kv->string, names, nr);
		rc = fail_in(c, src->file, p ? p->key : n,
			     "unknown key '%s' in %s[%zu]%s%s%s (%s loops "
			     "over it)",
			     kv->string, src->what, i,
			     hint ? " (did you mean '" : "", hint ? hint : "",
			     hint ? "'?)" : "", c->step->what);
		goto out;
	}
	for (size_t k = 0; req && req->kind == YNODE_SEQ && k < req->nr; k++) {
		const char *key = req->items[k]->value;

		if (req->items[k]->kind != YNODE_SCALAR ||
		    cJSON_GetObjectItemCaseSensitive(item, key))
			continue;
		rc = fail_in(c, src->file, n,
			     "missing key '%s' in %s[%zu] (%s loops over it "
			     "and needs %s)",
			     key, src->what, i, c->step->what, key);
		goto out;
	}
out:
	free(names);
	return rc;
}

/* The defaults an item does not give, rendered with the host's data. */
static int add_defaults(struct cc *c, cJSON *item)
{
	const struct ynode *def = ynode_get(c->step->item, "defaults");
	struct buf out = BUF_INIT, what = BUF_INIT;
	int rc = 0;

	for (size_t k = 0; def && def->kind == YNODE_MAP && k < def->nr && !rc;
	     k++) {
		const struct ynode *key = def->pairs[k].key;
		const struct ynode *v = def->pairs[k].value;

		if (cJSON_GetObjectItemCaseSensitive(item, key->value))
			continue;
		if (!ynode_is_string(v) || !strstr(v->value, "{{")) {
			cJSON_AddItemToObject(item, key->value,
					      ynode_to_json(v));
			continue;
		}
		buf_reset(&what);
		buf_addf(&what, "%s.item.defaults.%s", c->step->what,
			 key->value);
		buf_reset(&out);
		rc = cc_render_text(c, c->pb->file, v->value, v->len,
				    TEMPLATE_ESCAPE_NONE, &out, v, what.data);
		if (!rc)
			cJSON_AddItemToObject(item, key->value,
					      cJSON_CreateString(out.data));
	}
	buf_free_secret(&out);
	buf_free(&what);
	return rc;
}

/* A relative path made absolute from the working directory: the
 * compiler takes a relative name as the playbook's. */
static void absolute(char **path)
{
	char *abs = realpath(*path, NULL);

	if (abs) {
		free(*path);
		*path = abs;
	}
}

/* The keys of files: made absolute from the item's file's directory. */
static int resolve_files(struct cc *c, const struct list_src *src, size_t i,
			 cJSON *item, const struct ynode *n)
{
	const struct ynode *files = ynode_get(c->step->item, "files");
	struct stat st;

	for (size_t k = 0; files && files->kind == YNODE_SEQ && k < files->nr;
	     k++) {
		const char *key = files->items[k]->value;
		cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
		const struct ypair *p = ynode_get_pair(n, key);
		const struct ynode *at = p ? p->value : n;
		char *path;

		if (!v)
			continue;
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return fail_in(c, src->file, at,
				       "%s[%zu].%s must name a file, not %s",
				       src->what, i, key, json_describe(v));
		/* ~/ is the home directory (playbook_find_file). */
		if (v->valuestring[0] == '/' || v->valuestring[0] == '~')
			continue;
		path = path_expand(v->valuestring, src->dir);
		if (!stat(path, &st) && S_ISREG(st.st_mode) && path[0] != '/')
			absolute(&path);
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			fail_in(c, src->file, at,
				"%s[%zu].%s: no such file '%s' (relative to "
				"%s)",
				src->what, i, key, v->valuestring, src->dir);
			free(path);
			return DEPLOY_ERR_INVALID;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(
			item, key, cJSON_CreateString(path));
		free(path);
	}
	return 0;
}

int loop_items(struct cc *c, const struct step *s, cJSON **out)
{
	struct list_src src = { .file = c->pb->file };
	cJSON *list = NULL;
	const cJSON *v;
	size_t nr;
	int rc = 0;

	*out = NULL;
	if (!s->loop_path) {
		list = ynode_to_json(s->loop);
		src.node = s->loop;
		src.dir = xstrdup(c->pb->dir);
		src.what = xstrdup("loop");
	} else {
		src.what = xstrdup(s->loop_path);
		v = json_lookup_path(c->data, s->loop_path);
		if (!v) {
			rc = fail_in(c, NULL, NULL,
				     "%s.loop: '%s' is not defined%s", s->what,
				     s->loop_path,
				     strncmp(s->loop_path, "vars.", 5)
					     ? ""
					     : " (give it a default under "
					       "the playbook's 'vars')");
			goto out;
		}
		find_var(c, s->loop_path, &src);
		if (!src.dir)
			src.dir = xstrdup(c->pb->dir);
		list = cJSON_IsNull(v) ? cJSON_CreateArray()
				       : cJSON_Duplicate(v, true);
	}
	if (!cJSON_IsArray(list)) {
		rc = fail_in(c, src.file, src.node,
			     "%s is %s, not a list (%s loops over it)",
			     src.what, json_describe(list), s->what);
		goto out;
	}
	nr = (size_t)cJSON_GetArraySize(list);
	if (nr > PLAYBOOK_MAX_LOOP) {
		rc = fail_in(c, src.file, src.node,
			     "%s has %zu items; a loop has at most %d",
			     src.what, nr, PLAYBOOK_MAX_LOOP);
		goto out;
	}
	for (size_t i = 0; i < nr && s->item && !rc; i++) {
		cJSON *item = cJSON_GetArrayItem(list, (int)i);
		const struct ynode *n =
			src.node && src.node->kind == YNODE_SEQ &&
					i < src.node->nr
				? src.node->items[i]
				: src.node;

		if (!cJSON_IsObject(item)) {
			rc = fail_in(c, src.file, n,
				     "%s[%zu] must be a mapping, not %s (%s "
				     "loops over it)",
				     src.what, i, json_describe(item), s->what);
			break;
		}
		rc = check_keys(c, &src, i, item, n);
		if (!rc)
			rc = add_defaults(c, item);
		if (!rc)
			rc = resolve_files(c, &src, i, item, n);
	}
	if (!rc) {
		*out = list;
		list = NULL;
	}
out:
	cJSON_Delete(list);
	free(src.dir);
	free(src.what);
	return rc;
}

char *loop_label(const struct step *s, const cJSON *item, size_t i)
{
	const struct ynode *req =
		s->item ? ynode_get(s->item, "required") : NULL;
	struct buf b = BUF_INIT;
	const cJSON *v = item;

	if (cJSON_IsObject(item)) {
		v = NULL;
		if (req && req->kind == YNODE_SEQ && req->nr &&
		    ynode_is_string(req->items[0]))
			v = cJSON_GetObjectItemCaseSensitive(
				item, req->items[0]->value);
	}
	if (cJSON_IsString(v))
		buf_adds(&b, v->valuestring);
	else if (cJSON_IsNumber(v))
		buf_addf(&b, "%g", v->valuedouble);
	else
		buf_addf(&b, "item %zu", i + 1);
	return buf_release(&b);
}
