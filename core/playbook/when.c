/* SPDX-License-Identifier: MIT */
/* The `when:` language: conditions parsed, checked and evaluated. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/when.h"
#include "topology/schema.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static void skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static bool is_name_char(char c, bool first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && c >= '0' && c <= '9');
}

/* NAME(.NAME)* */
static int parse_path(const char **p, char **out)
{
	const char *s = *p;

	for (;;) {
		if (!is_name_char(**p, true))
			return -1;
		while (is_name_char(**p, false))
			(*p)++;
		if (**p != '.')
			break;
		(*p)++;
	}
	*out = xstrndup(s, (size_t)(*p - s));
	return 0;
}

static int parse_literal(const char **p, char **out)
{
	const char *s = *p;
	char q = *s;

	if (q == '\'' || q == '"') {
		const char *end = strchr(s + 1, q);

		if (!end)
			return -1;
		*out = xstrndup(s + 1, (size_t)(end - s - 1));
		*p = end + 1;
		return 0;
	}
	while (is_name_char(**p, false) || (**p && strchr(".:/-", **p)))
		(*p)++;
	if (*p == s)
		return -1;
	*out = xstrndup(s, (size_t)(*p - s));
	return 0;
}

int when_parse(const char *text, struct when_expr *out, const char **why)
{
	const char *p = text;
	char *name = NULL;

	memset(out, 0, sizeof(*out));
	skip_space(&p);
	if (!strncmp(p, "not", 3) && (p[3] == ' ' || p[3] == '\t')) {
		out->op = WHEN_NOT;
		p += 3;
		skip_space(&p);
	}
	if (parse_path(&p, &name)) {
		*why = "expected a variable name (such as 'docker' or "
		       "'role.name')";
		goto fail;
	}
	skip_space(&p);
	if (out->op == WHEN_TRUTHY &&
	    (!strncmp(p, "==", 2) || !strncmp(p, "!=", 2))) {
		out->op = p[0] == '=' ? WHEN_EQ : WHEN_NE;
		p += 2;
		skip_space(&p);
		if (parse_literal(&p, &out->value)) {
			*why = "expected a value after the comparison, such "
			       "as 'sentry'";
			goto fail;
		}
		skip_space(&p);
	}
	if (*p) {
		*why = "expected NAME, 'not NAME', NAME == 'value' or NAME != "
		       "'value' (no 'and' or 'or': give a list of conditions, "
		       "all of which must hold)";
		goto fail;
	}
	/* item: the item of the step's loop, not a variable */
	out->path = strchr(name, '.') || !strcmp(name, "item") ? name : NULL;
	if (!out->path) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "vars.%s", name);
		out->path = buf_release(&b);
		free(name);
	}
	return 0;
fail:
	free(name);
	free(out->value);
	out->value = NULL;
	return DEPLOY_ERR_SYNTAX;
}

void when_clear(struct when_expr *w)
{
	free(w->path);
	free(w->value);
	w->path = w->value = NULL;
}

bool json_truthy(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v) || cJSON_IsInvalid(v))
		return false;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring && *v->valuestring;
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child != NULL;
	return true;
}

const cJSON *json_lookup_path(const cJSON *data, const char *path)
{
	const cJSON *v = data;
	const char *p = path;

	while (v && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];

		if (n >= sizeof(key) || !cJSON_IsObject(v))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		v = cJSON_GetObjectItemCaseSensitive(v, key);
		p += n + (dot ? 1 : 0);
	}
	return v;
}

int when_eval(const struct when_expr *w, const cJSON *data, bool *out,
	      struct error *err)
{
	const cJSON *v = json_lookup_path(data, w->path);
	char num[64];
	const char *s;

	if (!v) {
		if (!strncmp(w->path, "vars.", 5))
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "when: variable '%s' is not defined "
					 "(give it a default under the "
					 "playbook's 'vars')",
					 w->path + 5);
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "when: '%s' is not defined", w->path);
	}
	switch (w->op) {
	case WHEN_TRUTHY:
		*out = json_truthy(v);
		return 0;
	case WHEN_NOT:
		*out = !json_truthy(v);
		return 0;
	case WHEN_EQ:
	case WHEN_NE:
		break;
	}
	if (cJSON_IsString(v)) {
		s = v->valuestring ? v->valuestring : "";
	} else if (cJSON_IsNumber(v)) {
		if (fabs(v->valuedouble) < 9007199254740992.0 &&
		    v->valuedouble == (double)(long long)v->valuedouble)
			snprintf(num, sizeof(num), "%lld",
				 (long long)v->valuedouble);
		else
			snprintf(num, sizeof(num), "%.17g", v->valuedouble);
		s = num;
	} else if (cJSON_IsBool(v)) {
		s = cJSON_IsTrue(v) ? "true" : "false";
	} else if (cJSON_IsNull(v)) {
		s = "";
	} else {
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "when: '%s' is a %s and cannot be compared "
				 "with a value",
				 w->path,
				 cJSON_IsArray(v) ? "list" : "mapping");
	}
	*out = !strcmp(s, w->value) == (w->op == WHEN_EQ);
	return 0;
}

/* The checker for `when:` in a playbook's key tables. */

static void check_when_text(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	struct when_expr w;
	const char *why;

	if (!ynode_is_string(n)) {
		verror(v, n,
		       "%s must be a condition such as 'docker' or "
		       "\"role.name == 'sentry'\", not %s",
		       what, ynode_describe(n));
		return;
	}
	if (when_parse(n->value, &w, &why))
		verror(v, n, "%s '%s': %s", what, n->value, why);
	else
		when_clear(&w);
}

void when_check(struct vctx *v, const struct ynode *n, const char *what)
{
	struct buf w = BUF_INIT;

	if (n->kind != YNODE_SEQ) {
		check_when_text(v, n, what);
		return;
	}
	for (size_t i = 0; i < n->nr; i++) {
		buf_reset(&w);
		buf_addf(&w, "%s[%zu]", what, i);
		check_when_text(v, n->items[i], w.data);
	}
	buf_free(&w);
}
