/* SPDX-License-Identifier: MIT */
/* Ansible INI inventories: groups, vars, children, ranges, quoting. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology/inventory-model.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Ansible's INI inventory, as its ini plugin reads it: a line is a section
 * header ([group], [group:vars], [group:children]), a comment (# or ; first),
 * or an entry of the current section. Host lines are split as Python's
 * shlex.split(comments=True) does: quotes, backslashes, and # starting a
 * comment outside quotes. Unlike Ansible, which stops at the first problem,
 * every bad line is reported and the next one read.
 */

enum ini_state {
	INI_HOSTS,
	INI_VARS,
	INI_CHILDREN,
	INI_SKIP, /* after a bad header: its lines are not read */
};

struct ini {
	struct inventory *inv;
	struct diag_list *dl;
	enum ini_state state;
	size_t group;
	int line;
};

struct ini_token {
	struct buf text;
	int col;
	size_t eq;	   /* offset of the first '=' in text, or SIZE_MAX */
	int value_col;	   /* column just after that '=' */
	bool value_quoted; /* a quote came after that '=' */
};

struct ini_tokens {
	struct ini_token *v;
	size_t nr;
	size_t alloc;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* The column of s[i], s[0] being at col0 (columns count characters). */
static int col_at(const char *s, size_t i, int col0)
{
	for (size_t j = 0; j < i; j++)
		col0 += ((unsigned char)s[j] & 0xc0) != 0x80;
	return col0;
}

static void tokens_free(struct ini_tokens *t)
{
	for (size_t i = 0; i < t->nr; i++)
		buf_free(&t->v[i].text);
	free(t->v);
}

static void token_add(struct ini_token *t, char c, int col, bool quoted)
{
	if (c == '=' && t->eq == SIZE_MAX) {
		t->eq = t->text.len;
		t->value_col = col + 1;
		t->value_quoted = quoted;
	} else if (quoted && t->eq != SIZE_MAX) {
		t->value_quoted = true;
	}
	buf_addch(&t->text, c);
}

/*
 * Split s (a host line, from column col0) into tokens as shlex does. 0, or
 * -1 with *why and *why_col.
 */
static int tokenize(const char *s, int col0, struct ini_tokens *out,
		    const char **why, int *why_col)
{
	enum {
		WS,
		WORD,
		SQ,
		DQ
	} st = WS;
	struct ini_token *t = NULL;
	int col = col0, quote_col = 0;

	for (size_t i = 0; s[i]; i++) {
		char c = s[i];

		if (i && ((unsigned char)c & 0xc0) != 0x80)
			col++;
		if (st == WS) {
			if (is_blank(c))
				continue;
			if (c == '#')
				return 0;
			XGROW(out->v, out->alloc, out->nr + 1);
			t = &out->v[out->nr++];
			buf_init(&t->text, 0);
			t->col = col;
			t->eq = SIZE_MAX;
			t->value_quoted = false;
			st = WORD;
		}
		if (st == SQ || st == DQ) {
			if (c == (st == SQ ? '\'' : '"')) {
				st = WORD;
			} else if (st == DQ && c == '\\' &&
				   (s[i + 1] == '"' || s[i + 1] == '\\')) {
				token_add(t, s[++i], ++col, true);
			} else {
				token_add(t, c, col, true);
			}
			continue;
		}
		if (is_blank(c)) {
			st = WS;
		} else if (c == '#') {
			return 0;
		} else if (c == '\'' || c == '"') {
			st = c == '\'' ? SQ : DQ;
			quote_col = col;
			if (t->eq != SIZE_MAX)
				t->value_quoted = true;
		} else if (c == '\\') {
			if (!s[i + 1]) {
				*why = "nothing after '\\'";
				*why_col = col;
				return -1;
			}
			/* The escaped character may be multibyte: its first
			 * byte here, the rest as ordinary characters. */
			token_add(t, s[++i], ++col, t->eq != SIZE_MAX);
		} else {
			token_add(t, c, col, false);
		}
	}
	if (st == SQ || st == DQ) {
		*why = "no closing quotation";
		*why_col = quote_col;
		return -1;
	}
	return 0;
}

/* A scalar for an INI value: typed as YAML would type it unless quoted,
 * and a string where YAML would read null (Ansible keeps "" and "~"). */
static struct ynode *value_node(struct inventory *inv, const char *v,
				size_t len, bool quoted, int line, int col)
{
	struct ynode *n = ydoc_new_scalar(inv->doc, v, len, !quoted, line, col);

	if (ynode_is_null(n))
		n->plain = false;
	return n;
}

static void host_line(struct ini *c, const char *s, int col0)
{
	struct ini_tokens toks = { 0 };
	struct inv_vars vars = { 0 };
	const char *why = NULL;
	int why_col = 0;

	if (tokenize(s, col0, &toks, &why, &why_col)) {
		inv_error(c->inv, c->dl, c->line, why_col, "bad host line: %s",
			  why);
		goto out;
	}
	if (!toks.nr)
		goto out;
	if (!toks.v[0].text.len) {
		inv_error(c->inv, c->dl, c->line, toks.v[0].col,
			  "bad host line: empty host name");
		goto out;
	}
	for (size_t i = 1; i < toks.nr; i++) {
		struct ini_token *t = &toks.v[i];

		if (t->eq == SIZE_MAX) {
			inv_error(c->inv, c->dl, c->line, t->col,
				  "bad host line: expected KEY=VALUE after the "
				  "host, not '%s'",
				  t->text.data);
			goto out;
		}
	}
	for (size_t i = 1; i < toks.nr; i++) {
		struct ini_token *t = &toks.v[i];
		struct ynode *key, *value;

		key = ydoc_new_scalar(c->inv->doc, t->text.data, t->eq, true,
				      c->line, t->col);
		value = value_node(c->inv, t->text.data + t->eq + 1,
				   t->text.len - t->eq - 1, t->value_quoted,
				   c->line, t->value_col);
		inv_add_var(c->inv, c->dl, &vars, key, value);
	}
	inv_add_hosts(c->inv, c->dl, c->group, toks.v[0].text.data, c->line,
		      toks.v[0].col, &vars);
out:
	free(vars.v);
	tokens_free(&toks);
}

static size_t trim_end(const char *s, size_t len)
{
	while (len && is_blank(s[len - 1]))
		len--;
	return len;
}

/* key = value, split at the first '=' (no shell quoting, as Ansible). */
static void vars_line(struct ini *c, const char *s, int col0)
{
	const char *eq = strchr(s, '=');
	const char *v;
	size_t klen, vlen;
	bool quoted = false;
	struct ynode *key, *value;

	if (!eq) {
		inv_error(c->inv, c->dl, c->line, col0,
			  "bad line in [%s:vars]: expected KEY=VALUE, not '%s'",
			  c->inv->groups[c->group].name, s);
		return;
	}
	klen = trim_end(s, (size_t)(eq - s));
	for (v = eq + 1; is_blank(*v); v++)
		;
	vlen = trim_end(v, strlen(v));
	if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
		quoted = true;
		v++;
		vlen -= 2;
	}
	key = ydoc_new_scalar(c->inv->doc, s, klen, true, c->line, col0);
	value = value_node(c->inv, v, vlen, quoted, c->line,
			   col_at(s, (size_t)(v - s) - quoted, col0));
	inv_add_var(c->inv, c->dl, &c->inv->groups[c->group].vars, key, value);
}

static void children_line(struct ini *c, const char *s, int col0)
{
	size_t n = strcspn(s, " \t\r\f\v");
	const char *rest = s + n;
	struct buf name = BUF_INIT;
	size_t child;

	while (is_blank(*rest))
		rest++;
	if (memchr(s, ':', n) || memchr(s, ']', n) || (*rest && *rest != '#')) {
		inv_error(c->inv, c->dl, c->line, col0,
			  "bad line in [%s:children]: expected a group name, "
			  "not '%s'",
			  c->inv->groups[c->group].name, s);
		return;
	}
	buf_add(&name, s, n);
	child = inv_group(c->inv, c->dl, name.data, c->line, col0);
	if (child != SIZE_MAX)
		inv_add_child(c->inv, c->group, child, c->line, col0);
	buf_free(&name);
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * A header as Ansible's pattern reads it:
 * ^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$
 * Returns false when s is not a header (then it is an entry, as in Ansible,
 * unless it ends with ']': that is a bad header).
 */
static bool section_line(struct ini *c, const char *s, int col0)
{
	size_t n = strcspn(s + 1, ":] \t\r\f\v"), tlen = 0;
	const char *p = s + 1 + n, *type = NULL;
	struct buf name = BUF_INIT;
	size_t g;

	if (n && *p == ':') {
		type = p + 1;
		while (is_word_char(type[tlen]))
			tlen++;
		p = type + tlen;
	}
	if (n && (!type || tlen) && *p == ']') {
		for (p++; is_blank(*p); p++)
			;
		if (!*p || *p == '#' || *p == ';')
			goto header;
	}
	if (s[strlen(s) - 1] != ']')
		return false;
	inv_error(c->inv, c->dl, c->line, col0,
		  "bad section header '%s': write [GROUP], [GROUP:vars] or "
		  "[GROUP:children], with no spaces in the group name",
		  s);
	c->state = INI_SKIP;
	return true;
header:
	buf_add(&name, s + 1, n);
	if (!type || (tlen == 5 && !memcmp(type, "hosts", 5))) {
		c->state = INI_HOSTS;
	} else if (tlen == 4 && !memcmp(type, "vars", 4)) {
		c->state = INI_VARS;
	} else if (tlen == 8 && !memcmp(type, "children", 8)) {
		c->state = INI_CHILDREN;
	} else {
		inv_error(c->inv, c->dl, c->line,
			  col_at(s, (size_t)(type - s), col0),
			  "unknown section type '%.*s': write [%s], [%s:vars] "
			  "or [%s:children]",
			  (int)tlen, type, name.data, name.data, name.data);
		c->state = INI_SKIP;
		goto out;
	}
	g = inv_group(c->inv, c->dl, name.data, c->line, col0 + 1);
	if (g == SIZE_MAX) {
		c->state = INI_SKIP;
		goto out;
	}
	if (c->state != INI_VARS)
		c->inv->groups[g].declared = true;
	c->group = g;
out:
	buf_free(&name);
	return true;
}

static void ini_line(struct ini *c, const char *s, int col0)
{
	if (!*s || *s == '#' || *s == ';')
		return;
	if (*s == '[' && section_line(c, s, col0))
		return;
	switch (c->state) {
	case INI_HOSTS:
		host_line(c, s, col0);
		break;
	case INI_VARS:
		vars_line(c, s, col0);
		break;
	case INI_CHILDREN:
		children_line(c, s, col0);
		break;
	case INI_SKIP:
		break;
	}
}

void inv_parse_ini(struct inventory *inv, const char *text, size_t len,
		   struct diag_list *dl)
{
	struct ini c = { .inv = inv, .dl = dl, .group = INV_UNGROUPED };
	struct buf line = BUF_INIT;
	size_t i = 0;

	/* A byte order mark, as editors on Windows write one. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && !inv->broken) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len, lead = 0, n;
		const char *nul;

		c.line++;
		n = end - i;
		nul = memchr(text + i, '\0', n);
		if (nul) {
			inv_error(inv, dl, c.line,
				  col_at(text + i, (size_t)(nul - text - i), 1),
				  "NUL byte in the inventory");
			inv->broken = true;
			break;
		}
		while (lead < n && (is_blank(text[i + lead])))
			lead++;
		buf_reset(&line);
		buf_add(&line, text + i + lead,
			trim_end(text + i + lead, n - lead));
		ini_line(&c, line.data, col_at(text + i, lead, 1));
		i = end + 1;
	}
	buf_free(&line);
}
