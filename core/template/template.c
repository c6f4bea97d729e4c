/* SPDX-License-Identifier: MIT */
/* Mustache templates: parsed once into a tree, rendered against JSON. */

/*
 * Mustache (https://mustache.github.io/mustache.5.html) without lambdas.
 *
 * template_parse() turns the text into a tree of nodes once: text runs,
 * variables, sections and partials, with the standalone-line rules already
 * applied (a section, inverted, closing, comment, partial or delimiter tag
 * alone on its line takes the whole line with it). template_render() walks
 * the tree against a stack of cJSON contexts.
 *
 * Choices the spec leaves open:
 *  - falsey are: missing, null, false and the empty list; 0 and "" are
 *    truthy (as in Ruby, the spec's reference);
 *  - in TEMPLATE_MISSING_ERROR mode a name that resolves to nothing is an
 *    error for every tag that names a variable: {{x}}, {{#x}} and {{^x}};
 *    a null value is not missing;
 *  - a tag name may not hold whitespace or empty dotted parts ("a..b");
 *  - the inheritance tags {{<x}} and {{$x}} are syntax errors.
 *
 * Everything an input controls is bounded: section nesting per template,
 * partial nesting, sections and partials open at once, and the number of
 * nodes one render may visit (exponential partials or nested lists stop
 * with an error instead of running for ever). Set out->max to bound the
 * output's size too.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_SECTION_DEPTH 100 /* sections open at once in one template */
#define MAX_PARTIAL_DEPTH 100 /* partials rendered inside partials */
#define MAX_RENDER_DEPTH  400 /* sections and partials open at once */
#define MAX_RENDER_STEPS  (1UL << 24) /* nodes and list items per render */

enum node_type {
	NODE_TEXT,
	NODE_VAR, /* {{x}}: escaped as the options say */
	NODE_RAW, /* {{{x}}} and {{&x}}: never escaped */
	NODE_SECTION,
	NODE_INVERTED,
	NODE_PARTIAL,
};

struct node_list {
	struct node **v;
	size_t nr;
	size_t alloc;
};

struct node {
	enum node_type type;
	int line; /* where the tag (or the text) starts, 1-based */
	int col;
	const char *text; /* NODE_TEXT: bytes inside template->src */
	size_t len;
	char *name;   /* the tag's name as written, trimmed */
	char *path;   /* name with its dots turned into NULs */
	char **parts; /* nparts pointers into path; none for "." */
	size_t nparts;
	const char *indent;    /* NODE_PARTIAL alone on its line: the */
	size_t indent_len;     /* whitespace before it, inside src */
	struct node_list kids; /* NODE_SECTION, NODE_INVERTED */
};

/* clang-format 14 reads "template" as the C++ keyword: keep its hands off */
/* clang-format off */
struct template {
	char *name; /* for messages; may be NULL */
	char *src;  /* a copy of the text; text nodes point into it */
	size_t len;
	struct node_list root;
};
/* clang-format on */

static void node_free(struct node *n);

static void node_list_free(struct node_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		node_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->nr = l->alloc = 0;
}

/* Recursion is bounded: sections nest at most MAX_SECTION_DEPTH deep. */
static void node_free(struct node *n)
{
	if (!n)
		return;
	node_list_free(&n->kids);
	free(n->name);
	free(n->path);
	free(n->parts);
	free(n);
}

void template_free(struct template *t)
{
	if (!t)
		return;
	node_list_free(&t->root);
	free(t->name);
	free(t->src);
	free(t);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

struct parser {
	struct template *t;
	struct error *err;
	const char *s;
	size_t len;
	size_t pos;   /* start of the text not yet turned into a node */
	int pos_line; /* and where it is */
	int pos_col;

	/* Line counting, forward only: `scan` is how far we counted. */
	size_t scan;
	int line;
	size_t line_start;

	const char *otag; /* current delimiters, inside s or static */
	size_t olen;
	const char *ctag;
	size_t clen;
	struct buf close_triple; /* "}" ctag */
	struct buf close_delim;	 /* "=" ctag */

	struct node *open[MAX_SECTION_DEPTH];
	size_t depth;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_space_or_tab(char c)
{
	return c == ' ' || c == '\t';
}

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* Line and column (1-based) of offset `off`; offsets only go forward. */
static void where(struct parser *p, size_t off, int *line, int *col)
{
	while (p->scan < off) {
		const char *nl = memchr(p->s + p->scan, '\n', off - p->scan);

		if (!nl) {
			p->scan = off;
			break;
		}
		if (p->line < INT_MAX)
			p->line++;
		p->scan = (size_t)(nl - p->s) + 1;
		p->line_start = p->scan;
	}
	*line = p->line;
	*col = clamp_int(off - p->line_start + 1);
}

static struct node_list *current_list(struct parser *p)
{
	return p->depth ? &p->open[p->depth - 1]->kids : &p->t->root;
}

static struct node *add_node(struct parser *p, enum node_type type, int line,
			     int col)
{
	struct node_list *l = current_list(p);
	struct node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = line;
	n->col = col;
	XGROW(l->v, l->alloc, l->nr + 1);
	l->v[l->nr++] = n;
	return n;
}

/* Text from p->pos to `to` becomes a node; the rest starts at `next`. */
static void add_text(struct parser *p, size_t to, size_t next)
{
	struct node *n;

	if (p->pos < to) {
		n = add_node(p, NODE_TEXT, p->pos_line, p->pos_col);
		n->text = p->s + p->pos;
		n->len = to - p->pos;
	}
	p->pos = next;
	where(p, next, &p->pos_line, &p->pos_col);
}

static int syntax_error(struct parser *p, int line, int col, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static int syntax_error(struct parser *p, int line, int col, const char *fmt,
			...)
{
	char msg[sizeof(p->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(p->err, DEPLOY_ERR_SYNTAX, p->t->name, line, col, "%s",
			 msg);
}

static void set_delimiters(struct parser *p, const char *o, size_t olen,
			   const char *c, size_t clen)
{
	p->otag = o;
	p->olen = olen;
	p->ctag = c;
	p->clen = clen;
	buf_reset(&p->close_triple);
	buf_addch(&p->close_triple, '}');
	buf_add(&p->close_triple, c, clen);
	buf_reset(&p->close_delim);
	buf_addch(&p->close_delim, '=');
	buf_add(&p->close_delim, c, clen);
}

/* "{{=<% %>=}}": the content between the '='s is two words. */
static int change_delimiters(struct parser *p, const char *s, size_t len,
			     int line, int col)
{
	size_t i = 0, o, olen, c, clen;

	while (i < len && is_blank(s[i]))
		i++;
	o = i;
	while (i < len && !is_blank(s[i]) && s[i] != '=')
		i++;
	olen = i - o;
	while (i < len && is_blank(s[i]))
		i++;
	c = i;
	while (i < len && !is_blank(s[i]) && s[i] != '=')
		i++;
	clen = i - c;
	while (i < len && is_blank(s[i]))
		i++;
	if (!olen || !clen || i != len)
		return syntax_error(p, line, col,
				    "bad delimiters '%.*s' (want two, "
				    "without spaces or '=')",
				    len > 64 ? 64 : (int)len, s);
	set_delimiters(p, s + o, olen, s + c, clen);
	return 0;
}

/*
 * Check a tag's name and split it on dots into n->path and n->parts; "." is
 * the implicit iterator and has no parts.
 */
static int set_name(struct parser *p, struct node *n, const char *s, size_t len,
		    bool dotted)
{
	size_t i;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (!len)
		return syntax_error(p, n->line, n->col, "empty tag name");
	for (i = 0; i < len; i++)
		if (is_blank(s[i]) || !s[i])
			return syntax_error(p, n->line, n->col,
					    "bad tag name '%.*s'", (int)len, s);
	n->name = xstrndup(s, len);
	if (!dotted || !strcmp(n->name, "."))
		return 0;
	if (s[0] == '.' || s[len - 1] == '.' || memmem(s, len, "..", 2))
		return syntax_error(p, n->line, n->col,
				    "bad variable name '%s'", n->name);
	n->path = xstrndup(s, len);
	n->nparts = 1;
	for (i = 0; i < len; i++)
		if (s[i] == '.')
			n->nparts++;
	n->parts = xcalloc(n->nparts, sizeof(*n->parts));
	n->parts[0] = n->path;
	n->nparts = 1;
	for (i = 0; i < len; i++) {
		if (n->path[i] == '.') {
			n->path[i] = '\0';
			n->parts[n->nparts++] = n->path + i + 1;
		}
	}
	return 0;
}

/*
 * A tag that may stand alone ends where its line ends, newline included,
 * when only spaces and tabs surround it on that line. Returns that end, or
 * 0 when the tag is not alone.
 */
static size_t standalone_end(struct parser *p, size_t start, size_t end)
{
	size_t i;

	if (p->line_start < p->pos)
		return 0;
	for (i = p->line_start; i < start; i++)
		if (!is_space_or_tab(p->s[i]))
			return 0;
	for (i = end; i < p->len && is_space_or_tab(p->s[i]); i++)
		;
	if (i == p->len)
		return i;
	if (p->s[i] == '\n')
		return i + 1;
	if (p->s[i] == '\r' && i + 1 < p->len && p->s[i + 1] == '\n')
		return i + 2;
	return 0;
}

static int open_section(struct parser *p, enum node_type type, const char *name,
			size_t len, int line, int col)
{
	struct node *n;

	if (p->depth == MAX_SECTION_DEPTH)
		return syntax_error(p, line, col,
				    "sections nested deeper than %d",
				    MAX_SECTION_DEPTH);
	n = add_node(p, type, line, col);
	p->open[p->depth++] = n;
	return set_name(p, n, name, len, true);
}

static int close_section(struct parser *p, const char *name, size_t len,
			 int line, int col)
{
	struct node probe = { .line = line, .col = col };
	struct node *open;
	int rc;

	rc = set_name(p, &probe, name, len, false);
	if (rc)
		goto out;
	if (!p->depth) {
		rc = syntax_error(p, line, col,
				  "closing tag '%s' without an open section",
				  probe.name);
		goto out;
	}
	open = p->open[p->depth - 1];
	if (strcmp(open->name, probe.name)) {
		rc = syntax_error(p, line, col, "section '%s' closed by '%s'",
				  open->name, probe.name);
		goto out;
	}
	p->depth--;
out:
	free(probe.name);
	return rc;
}

/* Parse the tag whose opening delimiter starts at `start`. */
static int parse_tag(struct parser *p, size_t start)
{
	const char *s = p->s;
	const char *needle = p->ctag;
	size_t nlen = p->clen;
	size_t at = start + p->olen, cend, end, alone = 0, content_len;
	const char *found, *indent = NULL;
	size_t indent_len = 0;
	struct node *n;
	char sigil = '\0';
	int line, col;

	where(p, start, &line, &col);
	while (at < p->len && is_blank(s[at]))
		at++;
	if (at < p->len && s[at] && strchr("#^/!>=&{<$", s[at])) {
		sigil = s[at];
		at++;
	}
	if (sigil == '<' || sigil == '$')
		return syntax_error(p, line, col,
				    "unsupported tag '%c' (template "
				    "inheritance)",
				    sigil);
	if (sigil == '{') {
		needle = p->close_triple.data;
		nlen = p->close_triple.len;
	} else if (sigil == '=') {
		needle = p->close_delim.data;
		nlen = p->close_delim.len;
	}
	found = memmem(s + at, p->len - at, needle, nlen);
	if (!found)
		return syntax_error(p, line, col, "unclosed tag (no '%.*s')",
				    (int)nlen, needle);
	cend = (size_t)(found - s);
	end = cend + nlen;
	content_len = cend - at;

	if (sigil && strchr("#^/!>=", sigil))
		alone = standalone_end(p, start, end);
	if (alone) {
		indent = s + p->line_start;
		indent_len = start - p->line_start;
		add_text(p, p->line_start, alone);
	} else {
		add_text(p, start, end);
	}

	switch (sigil) {
	case '!':
		return 0;
	case '=':
		return change_delimiters(p, s + at, content_len, line, col);
	case '#':
		return open_section(p, NODE_SECTION, s + at, content_len, line,
				    col);
	case '^':
		return open_section(p, NODE_INVERTED, s + at, content_len, line,
				    col);
	case '/':
		return close_section(p, s + at, content_len, line, col);
	case '>':
		n = add_node(p, NODE_PARTIAL, line, col);
		n->indent = indent;
		n->indent_len = indent_len;
		return set_name(p, n, s + at, content_len, false);
	case '{':
	case '&':
		n = add_node(p, NODE_RAW, line, col);
		return set_name(p, n, s + at, content_len, true);
	default:
		n = add_node(p, NODE_VAR, line, col);
		return set_name(p, n, s + at, content_len, true);
	}
}

int template_parse(const char *name, const char *text, size_t len,
		   struct template **out, struct error *err)
{
	struct parser p = { 0 };
	struct template *t = NULL;
	const char *found;
	int rc = 0;

	*out = NULL;
	if (!text && len)
		return error_set(err, DEPLOY_ERR_USAGE, name, 0, 0,
				 "template text is missing");
	t = xcalloc(1, sizeof(*t));
	t->name = name ? xstrdup(name) : NULL;
	t->src = xmalloc(len + 1);
	if (len)
		memcpy(t->src, text, len);
	t->src[len] = '\0';
	t->len = len;

	p.t = t;
	p.err = err;
	p.s = t->src;
	p.len = len;
	p.line = 1;
	p.pos_line = 1;
	p.pos_col = 1;
	buf_init(&p.close_triple, 0);
	buf_init(&p.close_delim, 0);
	set_delimiters(&p, "{{", 2, "}}", 2);

	while (p.pos < p.len) {
		found = memmem(p.s + p.pos, p.len - p.pos, p.otag, p.olen);
		if (!found)
			break;
		rc = parse_tag(&p, (size_t)(found - p.s));
		if (rc)
			goto out;
	}
	add_text(&p, p.len, p.len);
	if (p.depth) {
		struct node *open = p.open[p.depth - 1];

		rc = syntax_error(&p, open->line, open->col,
				  "unclosed section '%s'", open->name);
		goto out;
	}
	*out = t;
	t = NULL;
out:
	buf_free(&p.close_triple);
	buf_free(&p.close_delim);
	template_free(t);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

struct cached_partial {
	char *name;
	struct template *t; /* NULL: there is no such partial */
};

struct render {
	const struct template_opts *opts;
	struct buf *out;
	struct error *err;

	const cJSON **stack; /* contexts, innermost last */
	size_t nstack;
	size_t astack;

	const struct node *partials[MAX_PARTIAL_DEPTH]; /* being rendered */
	size_t npartials;
	size_t indent_len; /* sum of their indentations */
	bool bol;	   /* the output is at the start of a line */

	size_t depth; /* sections and partials open */
	unsigned long steps;

	struct cached_partial *cache;
	size_t ncache;
	size_t acache;
};

static const struct template_opts default_opts = {
	.escape = TEMPLATE_ESCAPE_NONE,
	.missing = TEMPLATE_MISSING_ERROR,
};

static int render_nodes(struct render *r, const struct template *t,
			const struct node_list *l);

static int render_error(struct render *r, int code, const struct template *t,
			const struct node *n, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int render_error(struct render *r, int code, const struct template *t,
			const struct node *n, const char *fmt, ...)
{
	char msg[sizeof(r->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(r->err, code, t->name, n->line, n->col, "%s", msg);
}

static int output_error(struct render *r, int rc, const struct template *t,
			const struct node *n)
{
	if (rc == DEPLOY_ERR_TOO_BIG)
		return render_error(r, rc, t, n, "output larger than %zu bytes",
				    r->out->max);
	return render_error(r, rc, t, n, "cannot write output: %s",
			    deploy_strerror(rc));
}

static int emit_indent(struct render *r)
{
	int rc = 0;

	for (size_t i = 0; i < r->npartials && !rc; i++)
		rc = buf_add(r->out, r->partials[i]->indent,
			     r->partials[i]->indent_len);
	return rc;
}

/* Template text: inside indented partials, every line gets the indent. */
static int emit_text(struct render *r, const char *s, size_t len)
{
	const char *nl;
	size_t n;
	int rc;

	if (!len)
		return 0;
	if (!r->indent_len) {
		r->bol = s[len - 1] == '\n';
		return buf_add(r->out, s, len);
	}
	while (len) {
		nl = memchr(s, '\n', len);
		n = nl ? (size_t)(nl - s) + 1 : len;
		if (r->bol) {
			rc = emit_indent(r);
			if (rc)
				return rc;
		}
		rc = buf_add(r->out, s, n);
		if (rc)
			return rc;
		r->bol = nl != NULL;
		s += n;
		len -= n;
	}
	return 0;
}

static int html_escape(struct buf *out, const char *s, size_t len)
{
	size_t i, from = 0;
	const char *rep;
	int rc;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			continue;
		}
		rc = buf_add(out, s + from, i - from);
		if (!rc)
			rc = buf_adds(out, rep);
		if (rc)
			return rc;
		from = i + 1;
	}
	return buf_add(out, s + from, len - from);
}

int template_shell_quote(struct buf *out, const char *s, size_t len)
{
	const char *q;
	size_t n;
	int rc;

	rc = buf_addch(out, '\'');
	while (!rc && len) {
		q = memchr(s, '\'', len);
		n = q ? (size_t)(q - s) : len;
		rc = buf_add(out, s, n);
		if (!rc && q) {
			rc = buf_add(out, "'\\''", 4);
			n++;
		}
		s += n;
		len -= n;
	}
	if (!rc)
		rc = buf_addch(out, '\'');
	return rc;
}

/* An interpolated value, escaped as `escape` says. */
static int emit_value(struct render *r, const char *s, size_t len,
		      enum template_escape escape)
{
	int rc;

	if (r->indent_len && r->bol &&
	    (len || escape == TEMPLATE_ESCAPE_SHELL)) {
		rc = emit_indent(r);
		if (rc)
			return rc;
	}
	switch (escape) {
	case TEMPLATE_ESCAPE_HTML:
		rc = html_escape(r->out, s, len);
		break;
	case TEMPLATE_ESCAPE_SHELL:
		rc = template_shell_quote(r->out, s, len);
		break;
	default:
		rc = buf_add(r->out, s, len);
		break;
	}
	if (len || escape == TEMPLATE_ESCAPE_SHELL)
		r->bol = false;
	return rc;
}

/*
 * Numbers print as JSON would: integers whole (85), others in the shortest
 * form that reads back as the same double (1.210 is "1.21").
 */
static void format_number(double d, char *out, size_t size)
{
	if (d >= -1e15 && d <= 1e15 && d == (double)(long long)d) {
		snprintf(out, size, "%lld", (long long)d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/*
 * Resolve n's name against the context stack: "." is the innermost context;
 * the first part of a dotted name is looked up from the innermost context
 * out, the other parts only inside what the previous part found. Returns
 * false when nothing is there; *value may be NULL for a NULL root.
 */
static bool lookup(const struct render *r, const struct node *n,
		   const cJSON **value)
{
	const cJSON *v = NULL;
	size_t i;

	*value = NULL;
	if (!n->nparts) {
		*value = r->stack[r->nstack - 1];
		return true;
	}
	for (i = r->nstack; i-- > 0 && !v;)
		if (cJSON_IsObject(r->stack[i]))
			v = cJSON_GetObjectItemCaseSensitive(r->stack[i],
							     n->parts[0]);
	for (i = 1; i < n->nparts && v; i++)
		v = cJSON_IsObject(v)
			    ? cJSON_GetObjectItemCaseSensitive(v, n->parts[i])
			    : NULL;
	*value = v;
	return v != NULL;
}

static int render_var(struct render *r, const struct template *t,
		      const struct node *n)
{
	enum template_escape escape =
		n->type == NODE_RAW ? TEMPLATE_ESCAPE_NONE : r->opts->escape;
	bool strict = r->opts->missing == TEMPLATE_MISSING_ERROR;
	const char *s = "";
	char num[64];
	const cJSON *v;
	int rc;

	if (!lookup(r, n, &v) && strict)
		return render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
				    "missing variable '%s'", n->name);
	if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
		s = v->valuestring ? v->valuestring : "";
	} else if (cJSON_IsNumber(v)) {
		format_number(v->valuedouble, num, sizeof(num));
		s = num;
	} else if (cJSON_IsTrue(v)) {
		s = "true";
	} else if (cJSON_IsFalse(v)) {
		s = "false";
	} else if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && strict) {
		return render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
				    "variable '%s' is an %s, not a value",
				    n->name,
				    cJSON_IsObject(v) ? "object" : "array");
	}
	rc = emit_value(r, s, strlen(s), escape);
	return rc ? output_error(r, rc, t, n) : 0;
}

static int enter(struct render *r, const struct template *t,
		 const struct node *n)
{
	if (r->depth >= MAX_RENDER_DEPTH)
		return render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
				    "sections and partials nested deeper "
				    "than %d",
				    MAX_RENDER_DEPTH);
	r->depth++;
	return 0;
}

/* Count one unit of work: a node visited or a list item entered. */
static int step(struct render *r, const struct template *t,
		const struct node *n)
{
	if (++r->steps > MAX_RENDER_STEPS)
		return render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
				    "rendering takes more than %lu steps "
				    "(runaway lists or partials?)",
				    MAX_RENDER_STEPS);
	return 0;
}

static int render_in_context(struct render *r, const struct template *t,
			     const struct node *n, const cJSON *ctx)
{
	int rc = step(r, t, n);

	if (rc)
		return rc;
	XGROW(r->stack, r->astack, r->nstack + 1);
	r->stack[r->nstack++] = ctx;
	rc = render_nodes(r, t, &n->kids);
	r->nstack--;
	return rc;
}

static bool truthy(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v) || cJSON_IsInvalid(v))
		return false;
	if (cJSON_IsArray(v))
		return v->child != NULL;
	return true;
}

static int render_section(struct render *r, const struct template *t,
			  const struct node *n)
{
	const cJSON *v, *item;
	int rc;

	if (!lookup(r, n, &v) && r->opts->missing == TEMPLATE_MISSING_ERROR)
		return render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
				    "missing variable '%s'", n->name);
	if (n->type == NODE_INVERTED ? truthy(v) : !truthy(v))
		return 0;
	rc = enter(r, t, n);
	if (rc)
		return rc;
	if (n->type == NODE_INVERTED) {
		rc = render_nodes(r, t, &n->kids);
	} else if (cJSON_IsArray(v)) {
		for (item = v->child; item && !rc; item = item->next)
			rc = render_in_context(r, t, n, item);
	} else {
		rc = render_in_context(r, t, n, v);
	}
	r->depth--;
	return rc;
}

/*
 * Load and parse partial n->name once per render. *pt is NULL when there
 * is no such partial and that is allowed.
 */
static int load_partial(struct render *r, const struct template *t,
			const struct node *n, const struct template **pt)
{
	struct template *parsed = NULL;
	char *text = NULL, *origin = NULL;
	struct cached_partial *c;
	int rc = DEPLOY_ERR_NOT_FOUND;

	*pt = NULL;
	for (size_t i = 0; i < r->ncache; i++) {
		if (!strcmp(r->cache[i].name, n->name)) {
			*pt = r->cache[i].t;
			return 0;
		}
	}
	if (r->opts->partial)
		rc = r->opts->partial(r->opts->partial_ctx, n->name, &text,
				      &origin, r->err);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		if (r->opts->missing == TEMPLATE_MISSING_ERROR)
			rc = render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
					  "missing partial '%s'", n->name);
		else
			rc = 0;
	} else if (!rc) {
		rc = template_parse(origin ? origin : n->name, text ? text : "",
				    text ? strlen(text) : 0, &parsed, r->err);
	}
	if (rc)
		goto out;
	XGROW(r->cache, r->acache, r->ncache + 1);
	c = &r->cache[r->ncache++];
	c->name = xstrdup(n->name);
	c->t = parsed;
	*pt = parsed;
out:
	free(text);
	free(origin);
	return rc;
}

static int render_partial(struct render *r, const struct template *t,
			  const struct node *n)
{
	const struct template *pt;
	int rc;

	if (r->npartials == MAX_PARTIAL_DEPTH)
		return render_error(r, DEPLOY_ERR_TEMPLATE, t, n,
				    "partial '%s' nested deeper than %d "
				    "(recursive partial?)",
				    n->name, MAX_PARTIAL_DEPTH);
	rc = load_partial(r, t, n, &pt);
	if (rc || !pt)
		return rc;
	rc = enter(r, t, n);
	if (rc)
		return rc;
	r->partials[r->npartials++] = n;
	r->indent_len += n->indent_len;
	if (n->indent_len)
		r->bol = true;
	rc = render_nodes(r, pt, &pt->root);
	r->indent_len -= n->indent_len;
	r->npartials--;
	r->depth--;
	return rc;
}

static int render_nodes(struct render *r, const struct template *t,
			const struct node_list *l)
{
	const struct node *n;
	int rc = 0;

	for (size_t i = 0; i < l->nr && !rc; i++) {
		n = l->v[i];
		rc = step(r, t, n);
		if (rc)
			return rc;
		switch (n->type) {
		case NODE_TEXT:
			rc = emit_text(r, n->text, n->len);
			if (rc)
				rc = output_error(r, rc, t, n);
			break;
		case NODE_VAR:
		case NODE_RAW:
			rc = render_var(r, t, n);
			break;
		case NODE_SECTION:
		case NODE_INVERTED:
			rc = render_section(r, t, n);
			break;
		case NODE_PARTIAL:
			rc = render_partial(r, t, n);
			break;
		}
	}
	return rc;
}

int template_render(const struct template *t, const cJSON *data,
		    const struct template_opts *opts, struct buf *out,
		    struct error *err)
{
	struct render r = { 0 };
	int rc;

	if (!t || !out)
		return error_set(err, DEPLOY_ERR_USAGE, NULL, 0, 0,
				 "template_render: no template or output");
	r.opts = opts ? opts : &default_opts;
	r.out = out;
	r.err = err;
	r.bol = true;
	XGROW(r.stack, r.astack, 1);
	r.stack[r.nstack++] = data;

	rc = render_nodes(&r, t, &t->root);

	for (size_t i = 0; i < r.ncache; i++) {
		free(r.cache[i].name);
		template_free(r.cache[i].t);
	}
	free(r.cache);
	free(r.stack);
	return rc;
}

int template_render_string(const char *name, const char *text, size_t len,
			   const cJSON *data, const struct template_opts *opts,
			   struct buf *out, struct error *err)
{
	struct template *t = NULL;
	int rc;

	rc = template_parse(name, text, len, &t, err);
	if (!rc)
		rc = template_render(t, data, opts, out, err);
	template_free(t);
	return rc;
}
