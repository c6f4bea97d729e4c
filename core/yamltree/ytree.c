/* SPDX-License-Identifier: MIT */
/* YAML into a tree whose nodes keep file:line:col (libyaml's events). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yamltree/ytree.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define TAG_STR	   "tag:yaml.org,2002:str"
#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
	char *name;
	struct ynode *node;
};

struct frame {
	struct ynode *node;
	struct ynode *key;     /* a mapping's key waiting for its value */
	bool drop_value;       /* the key was a duplicate: discard its value */
	struct ynode **merges; /* values of << keys, applied at the end */
	size_t nr_merges;
	size_t alloc_merges;
};

struct loader {
	struct ydoc *doc;
	struct diag_list *dl;
	struct error *err;
	const char *text;
	size_t len;
	struct frame *stack;
	size_t depth;
	size_t alloc_stack;
	struct anchor *anchors;
	size_t nr_anchors;
	size_t alloc_anchors;
	int documents;
};

static struct ynode *new_node(struct loader *l, enum ynode_kind kind,
			      const yaml_mark_t *mark)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = (int)(mark->line < INT_MAX ? mark->line + 1 : INT_MAX);
	n->col = (int)(mark->column < INT_MAX ? mark->column + 1 : INT_MAX);
	n->weight = 1;
	XGROW(l->doc->all, l->doc->alloc_all, l->doc->nr_all + 1);
	l->doc->all[l->doc->nr_all++] = n;
	return n;
}

static void free_node(struct ynode *n)
{
	free(n->value);
	free(n->items);
	free(n->pairs);
	free(n);
}

void ydoc_free(struct ydoc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->nr_all; i++)
		free_node(doc->all[i]);
	free(doc->all);
	free(doc->file);
	free(doc);
}

static bool scalar_eq(const struct ynode *a, const struct ynode *b)
{
	return a->len == b->len && !memcmp(a->value, b->value, a->len);
}

static struct ypair *find_pair(const struct ynode *m, const struct ynode *key)
{
	for (size_t i = 0; i < m->nr; i++)
		if (scalar_eq(m->pairs[i].key, key))
			return &m->pairs[i];
	return NULL;
}

static void add_pair(struct ynode *m, struct ynode *key, struct ynode *value)
{
	XGROW(m->pairs, m->alloc, m->nr + 1);
	m->pairs[m->nr].key = key;
	m->pairs[m->nr].value = value;
	m->nr++;
}

static bool is_merge_key(const struct ynode *key)
{
	return key->plain && key->len == 2 && !memcmp(key->value, "<<", 2);
}

/* Attach a finished or started node to the open collection (or the root). */
static int attach(struct loader *l, struct ynode *n)
{
	struct frame *f;
	const struct ypair *first;

	if (!l->depth) {
		l->doc->root = n;
		return 0;
	}
	f = &l->stack[l->depth - 1];
	if (f->node->kind == YNODE_SEQ) {
		XGROW(f->node->items, f->node->alloc, f->node->nr + 1);
		f->node->items[f->node->nr++] = n;
		return 0;
	}
	if (!f->key) {
		if (n->kind != YNODE_SCALAR)
			return error_set(l->err, DEPLOY_ERR_SYNTAX,
					 l->doc->file, n->line, n->col,
					 "mapping key is %s; keys must be "
					 "plain values",
					 ynode_describe(n));
		f->key = n;
		return 0;
	}
	if (is_merge_key(f->key)) {
		XGROW(f->merges, f->alloc_merges, f->nr_merges + 1);
		f->merges[f->nr_merges++] = n;
	} else if ((first = find_pair(f->node, f->key))) {
		diag_add(l->dl, DIAG_ERROR, l->doc->file, f->key->line,
			 f->key->col,
			 "duplicate key '%s' (first at line %d, column %d); "
			 "remove one of them",
			 f->key->value, first->key->line, first->key->col);
	} else {
		add_pair(f->node, f->key, n);
	}
	f->key = NULL;
	return 0;
}

static int apply_merge(struct loader *l, struct ynode *m, struct ynode *src)
{
	if (src->kind == YNODE_SEQ) {
		for (size_t i = 0; i < src->nr; i++) {
			int rc = apply_merge(l, m, src->items[i]);

			if (rc)
				return rc;
		}
		return 0;
	}
	if (src->kind != YNODE_MAP) {
		diag_add(l->dl, DIAG_ERROR, l->doc->file, src->line, src->col,
			 "merge key '<<' needs a mapping or a list of "
			 "mappings, not %s",
			 ynode_describe(src));
		return 0;
	}
	for (size_t i = 0; i < src->nr; i++) {
		if (find_pair(m, src->pairs[i].key))
			continue;
		add_pair(m, src->pairs[i].key, src->pairs[i].value);
		m->weight +=
			src->pairs[i].key->weight + src->pairs[i].value->weight;
	}
	return 0;
}

static int check_weight(struct loader *l, struct ynode *n)
{
	if (n->weight <= YTREE_MAX_WEIGHT)
		return 0;
	return error_set(l->err, DEPLOY_ERR_TOO_BIG, l->doc->file, n->line,
			 n->col,
			 "document too large: more than %u nodes once aliases "
			 "are expanded",
			 YTREE_MAX_WEIGHT);
}

static int close_collection(struct loader *l)
{
	struct frame *f = &l->stack[--l->depth];
	struct ynode *n = f->node;
	int rc = 0;

	if (n->kind == YNODE_SEQ) {
		for (size_t i = 0; i < n->nr; i++)
			n->weight += n->items[i]->weight;
	} else {
		for (size_t i = 0; i < n->nr; i++)
			n->weight += n->pairs[i].key->weight +
				     n->pairs[i].value->weight;
		for (size_t i = 0; !rc && i < f->nr_merges; i++)
			rc = apply_merge(l, n, f->merges[i]);
	}
	free(f->merges);
	n->complete = true;
	return rc ? rc : check_weight(l, n);
}

static void add_anchor(struct loader *l, const yaml_char_t *name,
		       struct ynode *n)
{
	if (!name)
		return;
	XGROW(l->anchors, l->alloc_anchors, l->nr_anchors + 1);
	l->anchors[l->nr_anchors].name = xstrdup((const char *)name);
	l->anchors[l->nr_anchors].node = n;
	l->nr_anchors++;
}

static struct ynode *find_anchor(struct loader *l, const char *name)
{
	/* The newest definition wins: YAML lets an anchor be redefined. */
	for (size_t i = l->nr_anchors; i-- > 0;)
		if (!strcmp(l->anchors[i].name, name))
			return l->anchors[i].node;
	return NULL;
}

static void check_tag(struct loader *l, const yaml_char_t *tag,
		      const struct ynode *n)
{
	const char *t = (const char *)tag;

	if (!t || !strcmp(t, "!"))
		return;
	if (!strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX))) {
		const char *k = t + strlen(TAG_PREFIX);

		if (!strcmp(k, "str") || !strcmp(k, "int") ||
		    !strcmp(k, "bool") || !strcmp(k, "null") ||
		    !strcmp(k, "float") || !strcmp(k, "map") ||
		    !strcmp(k, "seq"))
			return;
	}
	diag_add(l->dl, DIAG_ERROR, l->doc->file, n->line, n->col,
		 "unsupported YAML tag '%s'; remove it", t);
}

static int push(struct loader *l, struct ynode *n)
{
	struct frame *f;

	if (l->depth >= YTREE_MAX_DEPTH)
		return error_set(l->err, DEPLOY_ERR_TOO_BIG, l->doc->file,
				 n->line, n->col,
				 "nesting deeper than %d levels",
				 YTREE_MAX_DEPTH);
	XGROW(l->stack, l->alloc_stack, l->depth + 1);
	f = &l->stack[l->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	return 0;
}

/* libyaml's reader errors carry a byte offset, not a line. */
static void offset_to_mark(const char *text, size_t len, size_t off, int *line,
			   int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_error(struct loader *l, yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown problem";
	int line, col;

	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(l->text, l->len, p->problem_offset, &line, &col);
		return error_set(l->err, DEPLOY_ERR_SYNTAX, l->doc->file, line,
				 col, "invalid YAML: %s", problem);
	}
	if (p->error == YAML_MEMORY_ERROR)
		return error_set(l->err, DEPLOY_ERR_NOMEM, l->doc->file, 0, 0,
				 "out of memory parsing YAML");
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context)
		return error_set(
			l->err, DEPLOY_ERR_SYNTAX, l->doc->file, line, col,
			"invalid YAML: %s (%s at line %d, "
			"column %d)",
			problem, p->context, (int)p->context_mark.line + 1,
			(int)p->context_mark.column + 1);
	return error_set(l->err, DEPLOY_ERR_SYNTAX, l->doc->file, line, col,
			 "invalid YAML: %s", problem);
}

static int handle_event(struct loader *l, yaml_event_t *ev)
{
	struct ynode *n;
	int rc;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->documents > 1)
			return error_set(l->err, DEPLOY_ERR_SYNTAX,
					 l->doc->file,
					 (int)ev->start_mark.line + 1,
					 (int)ev->start_mark.column + 1,
					 "a second YAML document; a topology "
					 "is one document (remove this '---')");
		return 0;
	case YAML_ALIAS_EVENT:
		n = find_anchor(l, (const char *)ev->data.alias.anchor);
		if (!n)
			return error_set(
				l->err, DEPLOY_ERR_SYNTAX, l->doc->file,
				(int)ev->start_mark.line + 1,
				(int)ev->start_mark.column + 1,
				"unknown alias '*%s'; define '&%s' "
				"before it",
				ev->data.alias.anchor, ev->data.alias.anchor);
		if (!n->complete)
			return error_set(l->err, DEPLOY_ERR_SYNTAX,
					 l->doc->file,
					 (int)ev->start_mark.line + 1,
					 (int)ev->start_mark.column + 1,
					 "alias '*%s' refers to a node that "
					 "contains it",
					 ev->data.alias.anchor);
		return attach(l, n);
	case YAML_SCALAR_EVENT:
		n = new_node(l, YNODE_SCALAR, &ev->start_mark);
		n->value = xstrndup((const char *)ev->data.scalar.value,
				    ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (ev->data.scalar.tag &&
		    !strcmp((const char *)ev->data.scalar.tag, TAG_STR))
			n->plain = false;
		n->complete = true;
		check_tag(l, ev->data.scalar.tag, n);
		add_anchor(l, ev->data.scalar.anchor, n);
		return attach(l, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = new_node(l,
			     ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ
								   : YNODE_MAP,
			     &ev->start_mark);
		check_tag(l,
			  ev->type == YAML_SEQUENCE_START_EVENT
				  ? ev->data.sequence_start.tag
				  : ev->data.mapping_start.tag,
			  n);
		add_anchor(l,
			   ev->type == YAML_SEQUENCE_START_EVENT
				   ? ev->data.sequence_start.anchor
				   : ev->data.mapping_start.anchor,
			   n);
		rc = attach(l, n);
		return rc ? rc : push(l, n);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(l);
	default:
		return 0;
	}
}

int ydoc_parse(const char *file, const char *text, size_t len,
	       struct ydoc **out, struct diag_list *dl, struct error *err)
{
	struct loader l = { 0 };
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;
	int rc = 0;

	*out = NULL;
	if (len > YTREE_MAX_BYTES)
		return error_set(err, DEPLOY_ERR_TOO_BIG, file, 0, 0,
				 "file is larger than %u bytes",
				 YTREE_MAX_BYTES);
	l.doc = xcalloc(1, sizeof(*l.doc));
	l.doc->file = xstrdup(file);
	l.dl = dl;
	l.err = err;
	l.text = text;
	l.len = len;
	if (!yaml_parser_initialize(&parser)) {
		rc = error_set(err, DEPLOY_ERR_NOMEM, file, 0, 0,
			       "out of memory starting the YAML parser");
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !rc) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_error(&l, &parser);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = handle_event(&l, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
out:
	for (size_t i = 0; i < l.depth; i++)
		free(l.stack[i].merges);
	free(l.stack);
	for (size_t i = 0; i < l.nr_anchors; i++)
		free(l.anchors[i].name);
	free(l.anchors);
	if (rc) {
		ydoc_free(l.doc);
		return rc;
	}
	*out = l.doc;
	return 0;
}

struct ydoc *ydoc_new(const char *file)
{
	struct ydoc *doc = xcalloc(1, sizeof(*doc));

	doc->file = xstrdup(file);
	return doc;
}

static struct ynode *built_node(struct ydoc *doc, enum ynode_kind kind,
				int line, int col)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = line;
	n->col = col;
	n->weight = 1;
	n->complete = true;
	XGROW(doc->all, doc->alloc_all, doc->nr_all + 1);
	doc->all[doc->nr_all++] = n;
	return n;
}

struct ynode *ydoc_new_scalar(struct ydoc *doc, const char *value, size_t len,
			      bool plain, int line, int col)
{
	struct ynode *n = built_node(doc, YNODE_SCALAR, line, col);

	n->value = xstrndup(value, len);
	n->len = len;
	n->plain = plain;
	return n;
}

struct ynode *ydoc_new_map(struct ydoc *doc, int line, int col)
{
	return built_node(doc, YNODE_MAP, line, col);
}

void ynode_map_add(struct ynode *m, struct ynode *key, struct ynode *value)
{
	add_pair(m, key, value);
}

const struct ypair *ynode_get_pair(const struct ynode *m, const char *key)
{
	size_t len = strlen(key);

	if (!m || m->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < m->nr; i++)
		if (m->pairs[i].key->len == len &&
		    !memcmp(m->pairs[i].key->value, key, len))
			return &m->pairs[i];
	return NULL;
}

struct ynode *ynode_get(const struct ynode *m, const char *key)
{
	const struct ypair *p = ynode_get_pair(m, key);

	return p ? p->value : NULL;
}

static bool is_one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}

bool ynode_is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "",     "~",    "null",
					     "Null", "NULL", NULL };

	return n && n->kind == YNODE_SCALAR && n->plain &&
	       is_one_of(n->value, nulls);
}

int ynode_bool(const struct ynode *n, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", NULL };
	static const char *const no[] = { "false", "False", "FALSE", NULL };

	if (!n || n->kind != YNODE_SCALAR || !n->plain)
		return DEPLOY_ERR_INVALID;
	if (is_one_of(n->value, yes))
		*out = true;
	else if (is_one_of(n->value, no))
		*out = false;
	else
		return DEPLOY_ERR_INVALID;
	return 0;
}

int ynode_int(const struct ynode *n, long *out)
{
	const char *s;
	char *end;
	int base = 10;
	long v;

	if (!n || n->kind != YNODE_SCALAR || !n->plain || !n->len ||
	    strlen(n->value) != n->len)
		return DEPLOY_ERR_INVALID;
	s = n->value;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		base = s[1] == 'x' ? 16 : 8;
		s += 2;
		if (!*s || *s == '-' || *s == '+')
			return DEPLOY_ERR_INVALID;
	} else if (*s == '-' || *s == '+') {
		if (!isdigit((unsigned char)s[1]))
			return DEPLOY_ERR_INVALID;
	} else if (!isdigit((unsigned char)*s)) {
		return DEPLOY_ERR_INVALID;
	}
	for (const char *p = (*s == '-' || *s == '+') ? s + 1 : s; *p; p++)
		if (!isxdigit((unsigned char)*p) ||
		    (base == 10 && !isdigit((unsigned char)*p)) ||
		    (base == 8 && (*p < '0' || *p > '7')))
			return DEPLOY_ERR_INVALID;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno || *end)
		return DEPLOY_ERR_INVALID;
	*out = v;
	return 0;
}

static bool is_float(const char *s)
{
	static const char *const special[] = {
		".inf",	 "-.inf", "+.inf", ".Inf", "-.Inf", "+.Inf", ".INF",
		"-.INF", "+.INF", ".nan",  ".NaN", ".NAN",  NULL
	};
	bool digits = false;

	if (is_one_of(s, special))
		return true;
	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s)) {
		s++;
		digits = true;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			s++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return !*s;
}

bool ynode_is_number(const struct ynode *n)
{
	long v;

	if (!n || n->kind != YNODE_SCALAR || !n->plain)
		return false;
	return !ynode_int(n, &v) || is_float(n->value);
}

bool ynode_is_string(const struct ynode *n)
{
	bool b;

	if (!n || n->kind != YNODE_SCALAR)
		return false;
	if (!n->plain)
		return true;
	return !ynode_is_null(n) && ynode_bool(n, &b) && !ynode_is_number(n);
}

const char *ynode_describe(const struct ynode *n)
{
	bool b;

	if (!n)
		return "nothing";
	switch (n->kind) {
	case YNODE_MAP:
		return "a mapping";
	case YNODE_SEQ:
		return "a list";
	case YNODE_SCALAR:
		break;
	}
	if (!n->plain)
		return "a string";
	if (ynode_is_null(n))
		return "null";
	if (!ynode_bool(n, &b))
		return "a boolean";
	if (ynode_is_number(n))
		return "a number";
	return "a string";
}

static double scalar_double(const char *s)
{
	if (strstr(s, "nan") || strstr(s, "NaN") || strstr(s, "NAN"))
		return 0.0 / 0.0;
	if (strstr(s, "inf") || strstr(s, "Inf") || strstr(s, "INF"))
		return *s == '-' ? -1.0 / 0.0 : 1.0 / 0.0;
	return strtod(s, NULL);
}

cJSON *ynode_to_json(const struct ynode *n)
{
	cJSON *j;
	bool b;
	long v;

	if (!n)
		return cJSON_CreateNull();
	switch (n->kind) {
	case YNODE_SEQ:
		j = cJSON_CreateArray();
		for (size_t i = 0; j && i < n->nr; i++)
			cJSON_AddItemToArray(j, ynode_to_json(n->items[i]));
		return j;
	case YNODE_MAP:
		j = cJSON_CreateObject();
		for (size_t i = 0; j && i < n->nr; i++)
			cJSON_AddItemToObject(j, n->pairs[i].key->value,
					      ynode_to_json(n->pairs[i].value));
		return j;
	case YNODE_SCALAR:
		break;
	}
	if (ynode_is_null(n))
		return cJSON_CreateNull();
	if (!ynode_bool(n, &b))
		return cJSON_CreateBool(b);
	if (!ynode_int(n, &v))
		return cJSON_CreateNumber((double)v);
	if (n->plain && is_float(n->value))
		return cJSON_CreateNumber(scalar_double(n->value));
	return cJSON_CreateString(n->value);
}
