/* SPDX-License-Identifier: MIT */
/* Static Ansible inventories for ssh roles: the model the readers fill. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "topology/inventory-model.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * The model both readers fill (groups, hosts, variables, children), and the
 * checks that need all of it (undefined groups, cycles). The answers a role
 * asks for (a group's hosts, with Ansible's variable precedence applied)
 * are in inventory-resolve.c; loading and reading are at the end.
 */

/* At most this many ranges in one host pattern (node[1:9]-disk[a:c]). */
#define MAX_RANGES 8

static void inv_vdiag(struct inventory *inv, struct diag_list *dl,
		      enum diag_level level, int line, int col, const char *fmt,
		      va_list ap)
{
	struct buf msg = BUF_INIT;

	buf_vaddf(&msg, fmt, ap);
	diag_add(dl, level, inv->file, line, col, "%s", msg.data);
	buf_free(&msg);
}

void inv_error(struct inventory *inv, struct diag_list *dl, int line, int col,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	inv_vdiag(inv, dl, DIAG_ERROR, line, col, fmt, ap);
	va_end(ap);
}

void inv_warn(struct inventory *inv, struct diag_list *dl, int line, int col,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	inv_vdiag(inv, dl, DIAG_WARNING, line, col, fmt, ap);
	va_end(ap);
}

/* Name indexes: open addressing with FNV-1a, at most half full. */

static size_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static size_t index_find(const struct inv_index *ix, const char *name)
{
	size_t i;

	if (!ix->cap)
		return SIZE_MAX;
	for (i = hash_name(name) & (ix->cap - 1); ix->slots[i].name;
	     i = (i + 1) & (ix->cap - 1))
		if (!strcmp(ix->slots[i].name, name))
			return ix->slots[i].idx;
	return SIZE_MAX;
}

static void index_put(struct inv_slot *slots, size_t cap, const char *name,
		      size_t idx)
{
	size_t i = hash_name(name) & (cap - 1);

	while (slots[i].name)
		i = (i + 1) & (cap - 1);
	slots[i].name = name;
	slots[i].idx = idx;
}

static void index_add(struct inv_index *ix, const char *name, size_t idx)
{
	if ((ix->nr + 1) * 2 > ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 64;
		struct inv_slot *slots = xcalloc(cap, sizeof(*slots));

		for (size_t i = 0; i < ix->cap; i++)
			if (ix->slots[i].name)
				index_put(slots, cap, ix->slots[i].name,
					  ix->slots[i].idx);
		free(ix->slots);
		ix->slots = slots;
		ix->cap = cap;
	}
	index_put(ix->slots, ix->cap, name, idx);
	ix->nr++;
}

/* Groups and hosts */

size_t inv_find_group(const struct inventory *inv, const char *name)
{
	return index_find(&inv->group_index, name);
}

size_t inv_group(struct inventory *inv, struct diag_list *dl, const char *name,
		 int line, int col)
{
	size_t g = inv_find_group(inv, name);
	struct inv_group *gr;

	if (g != SIZE_MAX)
		return g;
	if (inv->nr_groups >= INVENTORY_MAX_GROUPS) {
		inv_error(inv, dl, line, col,
			  "more than %d groups in the inventory; split it",
			  INVENTORY_MAX_GROUPS);
		inv->broken = true;
		return SIZE_MAX;
	}
	XGROW(inv->groups, inv->alloc_groups, inv->nr_groups + 1);
	gr = &inv->groups[inv->nr_groups];
	memset(gr, 0, sizeof(*gr));
	gr->name = xstrdup(name);
	gr->line = line;
	gr->col = col;
	gr->priority = 1;
	index_add(&inv->group_index, gr->name, inv->nr_groups);
	return inv->nr_groups++;
}

void inv_add_child(struct inventory *inv, size_t parent, size_t child, int line,
		   int col)
{
	struct inv_group *p = &inv->groups[parent];

	XGROW(p->children, p->alloc_children, p->nr_children + 1);
	p->children[p->nr_children].child = child;
	p->children[p->nr_children].line = line;
	p->children[p->nr_children].col = col;
	p->children[p->nr_children].cut = false;
	p->nr_children++;
}

static size_t host_get(struct inventory *inv, struct diag_list *dl,
		       const char *name, int line, int col)
{
	size_t h = index_find(&inv->host_index, name);
	struct inv_host *ho;

	if (h != SIZE_MAX)
		return h;
	if (inv->nr_hosts >= INVENTORY_MAX_HOSTS) {
		inv_error(inv, dl, line, col,
			  "more than %d hosts in the inventory; split it",
			  INVENTORY_MAX_HOSTS);
		inv->broken = true;
		return SIZE_MAX;
	}
	XGROW(inv->hosts, inv->alloc_hosts, inv->nr_hosts + 1);
	ho = &inv->hosts[inv->nr_hosts];
	memset(ho, 0, sizeof(*ho));
	ho->name = xstrdup(name);
	ho->line = line;
	ho->col = col;
	index_add(&inv->host_index, ho->name, inv->nr_hosts);
	return inv->nr_hosts++;
}

static int add_entry(struct inventory *inv, struct diag_list *dl, size_t g,
		     size_t h, int line, int col)
{
	struct inv_group *gr = &inv->groups[g];
	struct inv_host *ho = &inv->hosts[h];

	if (inv->nr_entries >= INVENTORY_MAX_ENTRIES) {
		inv_error(inv, dl, line, col,
			  "more than %d host names in the inventory's groups "
			  "once ranges are expanded; split it",
			  INVENTORY_MAX_ENTRIES);
		inv->broken = true;
		return -1;
	}
	inv->nr_entries++;
	XGROW(gr->entries, gr->alloc_entries, gr->nr_entries + 1);
	gr->entries[gr->nr_entries].host = h;
	gr->entries[gr->nr_entries].line = line;
	gr->entries[gr->nr_entries].col = col;
	gr->nr_entries++;
	XGROW(ho->groups, ho->alloc_groups, ho->nr_groups + 1);
	ho->groups[ho->nr_groups++] = g;
	return 0;
}

static void vars_add(struct inv_vars *to, struct ynode *key,
		     struct ynode *value)
{
	XGROW(to->v, to->alloc, to->nr + 1);
	to->v[to->nr].key = key;
	to->v[to->nr].value = value;
	to->nr++;
}

/* Variables */

bool inv_is_one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}

const char *const inv_address_vars[] = { "ansible_host", "ansible_ssh_host",
					 NULL };
const char *const inv_port_vars[] = { "ansible_port", "ansible_ssh_port",
				      NULL };
const char *const inv_user_vars[] = { "ansible_user", "ansible_ssh_user",
				      NULL };
const char *const inv_key_vars[] = { "ansible_private_key_file",
				     "ansible_ssh_private_key_file", NULL };
static const char *const password_vars[] = {
	"ansible_password",
	"ansible_ssh_pass",
	"ansible_ssh_password",
	"ansible_become_password",
	"ansible_become_pass",
	"ansible_sudo_pass",
	NULL,
};

/* Digits, with no sign, in a plain or quoted scalar: INI values are text. */
static bool scalar_long(const struct ynode *n, long *out)
{
	char *end;

	if (!n || n->kind != YNODE_SCALAR)
		return false;
	if (!ynode_int(n, out))
		return true;
	if (n->plain || !n->len || n->len > 18 || strlen(n->value) != n->len)
		return false;
	for (size_t i = 0; i < n->len; i++)
		if (!isdigit((unsigned char)n->value[i]))
			return false;
	*out = strtol(n->value, &end, 10);
	return true;
}

int inv_port(const struct ynode *n)
{
	long v;

	if (!scalar_long(n, &v) || v < 1 || v > 65535)
		return 0;
	return (int)v;
}

static bool scalar_text(const struct ynode *n)
{
	return n && n->kind == YNODE_SCALAR && strlen(n->value) == n->len;
}

/* A variable deploy reads itself: is its value usable? */
static bool check_understood(struct inventory *inv, struct diag_list *dl,
			     const struct ynode *key, const struct ynode *v)
{
	const char *k = key->value;
	long l;

	if (!strncmp(k, "ansible_", 8) && !scalar_text(v) &&
	    (inv_is_one_of(k, inv_address_vars) ||
	     inv_is_one_of(k, inv_port_vars) ||
	     inv_is_one_of(k, inv_user_vars) ||
	     inv_is_one_of(k, inv_key_vars) ||
	     !strcmp(k, "ansible_group_priority"))) {
		inv_error(inv, dl, v->line, v->col,
			  "%s must be a single value, not %s", k,
			  ynode_describe(v));
		return false;
	}
	if (inv_is_one_of(k, inv_address_vars) && !is_ip_address(v->value) &&
	    !is_dns_name(v->value)) {
		inv_error(inv, dl, v->line, v->col,
			  "%s '%s' is neither an IP address nor a host name", k,
			  v->value);
		return false;
	}
	if (inv_is_one_of(k, inv_port_vars) && !inv_port(v)) {
		inv_error(inv, dl, v->line, v->col,
			  "%s must be a port from 1 to 65535, not '%s'", k,
			  v->value);
		return false;
	}
	if (inv_is_one_of(k, inv_user_vars) && !is_user_name(v->value)) {
		inv_error(inv, dl, v->line, v->col,
			  "%s '%s' is not a user name: lowercase letters, "
			  "digits, '_' and '-', starting with a letter or '_'",
			  k, v->value);
		return false;
	}
	if (inv_is_one_of(k, inv_key_vars) && !v->len) {
		inv_error(inv, dl, v->line, v->col, "%s is empty", k);
		return false;
	}
	if (!strcmp(k, "ansible_group_priority") && !scalar_long(v, &l)) {
		inv_error(inv, dl, v->line, v->col,
			  "ansible_group_priority must be an integer, not '%s'",
			  v->value);
		return false;
	}
	return true;
}

void inv_add_var(struct inventory *inv, struct diag_list *dl,
		 struct inv_vars *to, struct ynode *key, struct ynode *value)
{
	if (!is_identifier(key->value)) {
		inv_error(inv, dl, key->line, key->col,
			  "variable name '%s' is not valid: use letters, "
			  "digits and '_', not starting with a digit",
			  key->value);
		return;
	}
	if (inv_is_one_of(key->value, password_vars)) {
		inv_warn(inv, dl, key->line, key->col,
			 "'%s' is ignored: deploy logs in with keys and keeps "
			 "passwords out of inventories (see 'secrets' in "
			 "docs/topology.md)",
			 key->value);
		return;
	}
	if (check_understood(inv, dl, key, value))
		vars_add(to, key, value);
}

/* Host patterns */

static int count_cols(const char *s, size_t n)
{
	int cols = 0;

	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	return cols;
}

/*
 * NAME:PORT and [IPV6]:PORT as Ansible's parse_address() reads them: the
 * port is the digits after the only ':' outside brackets. *port_at is the
 * offset of the port in the pattern. NULL, or why the pattern is bad.
 */
static const char *split_port(const char *pat, char **name, long *port,
			      size_t *port_at)
{
	const char *close = pat[0] == '[' ? strchr(pat, ']') : NULL;
	const char *colon = NULL, *digits = NULL;
	size_t colons = 0;
	int depth = 0;

	*port = 0;
	*name = NULL;
	if (close && close[1] == ':' && close[2]) {
		char *inner = xstrndup(pat + 1, (size_t)(close - pat - 1));

		if (strchr(inner, ':') && is_ip_address(inner)) {
			*name = inner;
			digits = close + 2;
		} else {
			free(inner);
		}
	}
	for (const char *p = pat; !digits && *p; p++) {
		depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
		if (*p == ':' && depth <= 0) {
			colons++;
			colon = p;
		}
	}
	if (!digits && colons == 1 && colon[1] &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		*name = xstrndup(pat, (size_t)(colon - pat));
		digits = colon + 1;
	}
	if (!digits) {
		*name = xstrdup(pat);
		return **name ? NULL : "no host name";
	}
	*port_at = (size_t)(digits - pat);
	if (!**name)
		return "no host name before the port";
	if (strspn(digits, "0123456789") != strlen(digits) ||
	    strlen(digits) > 5 || (*port = strtol(digits, NULL, 10)) < 1 ||
	    *port > 65535)
		return "the port is not from 1 to 65535";
	return NULL;
}

struct expansion {
	char **names;
	size_t nr;
	size_t alloc;
	const char *why;
	struct buf why_buf;
};

static int expand_fail(struct expansion *ex, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int expand_fail(struct expansion *ex, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&ex->why_buf, fmt, ap);
	va_end(ap);
	ex->why = ex->why_buf.data;
	return -1;
}

static int expand(struct expansion *ex, const char *pat, int ranges);

/* head + item + tail, expanded further when tail has ranges. */
static int expand_one(struct expansion *ex, const char *head, size_t nhead,
		      const char *item, const char *tail, int ranges)
{
	struct buf b = BUF_INIT;
	int rc;

	buf_add(&b, head, nhead);
	buf_adds(&b, item);
	buf_adds(&b, tail);
	rc = expand(ex, b.data, ranges + 1);
	buf_free(&b);
	return rc;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static int expand_range(struct expansion *ex, const char *head, size_t nhead,
			char **bounds, size_t nr_bounds, const char *tail,
			int ranges)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const char *beg = *bounds[0] ? bounds[0] : "0";
	const char *end = bounds[1];
	long step = 1, b, e;
	int width = 0;
	char item[32];

	if (!*end)
		return expand_fail(ex, "a range needs an end, as in [1:%s]",
				   nr_bounds == 3 ? "9:2" : "9");
	if (nr_bounds == 3 &&
	    (!all_digits(bounds[2]) || strlen(bounds[2]) > 9 ||
	     (step = strtol(bounds[2], NULL, 10)) < 1))
		return expand_fail(ex, "the step '%s' is not a number from 1",
				   bounds[2]);
	if (strlen(beg) == 1 && strlen(end) == 1 && strchr(letters, *beg) &&
	    strchr(letters, *end)) {
		b = strchr(letters, *beg) - letters;
		e = strchr(letters, *end) - letters;
		if (b > e)
			return expand_fail(ex,
					   "the range [%s:%s] runs backwards",
					   beg, end);
		for (long i = b; i <= e; i += step) {
			snprintf(item, sizeof(item), "%c", letters[i]);
			if (expand_one(ex, head, nhead, item, tail, ranges))
				return -1;
		}
		return 0;
	}
	if (!all_digits(beg) || !all_digits(end) || strlen(beg) > 9 ||
	    strlen(end) > 9)
		return expand_fail(ex,
				   "[%s:%s] is not a range of numbers or of "
				   "single letters",
				   beg, end);
	if (beg[0] == '0' && beg[1]) {
		width = (int)strlen(beg);
		if (strlen(end) != strlen(beg))
			return expand_fail(ex,
					   "[%s:%s]: with leading zeros, begin "
					   "and end need the same width",
					   beg, end);
	}
	b = strtol(beg, NULL, 10);
	e = strtol(end, NULL, 10);
	if (b > e)
		return expand_fail(ex, "the range [%s:%s] runs backwards", beg,
				   end);
	if ((e - b) / step + 1 > INVENTORY_MAX_HOSTS)
		return expand_fail(ex, "it expands to more than %d hosts",
				   INVENTORY_MAX_HOSTS);
	for (long i = b; i <= e; i += step) {
		snprintf(item, sizeof(item), "%0*ld", width, i);
		if (expand_one(ex, head, nhead, item, tail, ranges))
			return -1;
	}
	return 0;
}

/* Ansible's expand_hostname_range(): the first [..] then the rest. */
static int expand(struct expansion *ex, const char *pat, int ranges)
{
	const char *open = strchr(pat, '['), *close;
	char *inner, *bounds[4] = { 0 };
	size_t nr_bounds = 0;
	int rc;

	if (!open) {
		if (ex->nr >= INVENTORY_MAX_HOSTS)
			return expand_fail(ex,
					   "it expands to more than %d hosts",
					   INVENTORY_MAX_HOSTS);
		XGROW(ex->names, ex->alloc, ex->nr + 1);
		ex->names[ex->nr++] = xstrdup(pat);
		return 0;
	}
	if (ranges >= MAX_RANGES)
		return expand_fail(ex, "more than %d ranges", MAX_RANGES);
	close = strchr(open, ']');
	if (!close)
		return expand_fail(ex, "'[' without ']'");
	inner = xstrndup(open + 1, (size_t)(close - open - 1));
	for (char *p = inner, *colon; nr_bounds < 4; p = colon + 1) {
		bounds[nr_bounds++] = p;
		colon = strchr(p, ':');
		if (!colon)
			break;
		*colon = '\0';
	}
	if (nr_bounds < 2 || nr_bounds > 3)
		rc = expand_fail(ex,
				 "a range is [BEGIN:END] or [BEGIN:END:STEP], "
				 "not '[%.*s]'",
				 (int)(close - open - 1), open + 1);
	else
		rc = expand_range(ex, pat, (size_t)(open - pat), bounds,
				  nr_bounds, close + 1, ranges);
	free(inner);
	return rc;
}

int inv_add_hosts(struct inventory *inv, struct diag_list *dl, size_t g,
		  const char *pattern, int line, int col,
		  const struct inv_vars *vars)
{
	struct expansion ex = { .why_buf = BUF_INIT };
	struct ynode *port_key = NULL, *port_value = NULL;
	char *name = NULL, digits[8];
	const char *why;
	size_t port_at = 0;
	long port;
	int rc = -1;

	why = split_port(pattern, &name, &port, &port_at);
	if (why) {
		inv_error(inv, dl, line, col, "bad host '%s': %s", pattern,
			  why);
		goto out;
	}
	if (expand(&ex, name, 0)) {
		inv_error(inv, dl, line, col, "bad host range in '%s': %s",
			  pattern, ex.why);
		goto out;
	}
	if (port) {
		snprintf(digits, sizeof(digits), "%ld", port);
		port_key = ydoc_new_scalar(inv->doc, "ansible_port", 12, true,
					   line, col);
		port_value = ydoc_new_scalar(
			inv->doc, digits, strlen(digits), true, line,
			col + count_cols(pattern, port_at));
	}
	for (size_t i = 0; i < ex.nr; i++) {
		size_t h = host_get(inv, dl, ex.names[i], line, col);
		struct inv_host *ho;

		if (h == SIZE_MAX || add_entry(inv, dl, g, h, line, col))
			goto out;
		ho = &inv->hosts[h];
		if (port)
			vars_add(&ho->vars, port_key, port_value);
		for (size_t j = 0; vars && j < vars->nr; j++)
			vars_add(&ho->vars, vars->v[j].key, vars->v[j].value);
	}
	rc = 0;
out:
	for (size_t i = 0; i < ex.nr; i++)
		free(ex.names[i]);
	free(ex.names);
	buf_free(&ex.why_buf);
	free(name);
	return rc;
}

/* After reading */

static void check_declared(struct inventory *inv, struct diag_list *dl)
{
	const char **names = xcalloc(inv->nr_groups + 1, sizeof(*names));
	size_t nr = 0;

	for (size_t i = 0; i < inv->nr_groups; i++)
		if (inv->groups[i].declared)
			names[nr++] = inv->groups[i].name;
	for (size_t i = 0; i < inv->nr_groups; i++) {
		const struct inv_group *g = &inv->groups[i];
		const char *hint;

		if (g->declared)
			continue;
		hint = suggest(g->name, names, nr);
		if (hint)
			inv_error(inv, dl, g->line, g->col,
				  "group '%s' is not defined in the inventory "
				  "(did you mean '%s'?)",
				  g->name, hint);
		else
			inv_error(inv, dl, g->line, g->col,
				  "group '%s' is not defined in the inventory: "
				  "add a [%s] section",
				  g->name, g->name);
	}
	free(names);
}

static void report_cycle(struct inventory *inv, struct diag_list *dl,
			 const size_t *stack, size_t from, size_t top,
			 const struct inv_edge *e)
{
	struct buf path = BUF_INIT;

	for (size_t i = from; i <= top; i++)
		buf_addf(&path, "%s -> ", inv->groups[stack[i]].name);
	buf_adds(&path, inv->groups[e->child].name);
	inv_error(inv, dl, e->line, e->col,
		  "children cycle: %s (each group lists the next among its "
		  "children); remove one of these",
		  path.data);
	buf_free(&path);
}

/* Depth-first through children, cutting each edge that closes a cycle. */
static void cut_cycles(struct inventory *inv, struct diag_list *dl)
{
	enum {
		WHITE,
		GREY,
		BLACK
	};
	size_t n = inv->nr_groups;
	unsigned char *color = xcalloc(n, 1);
	size_t *stack = xcalloc(n, sizeof(*stack));
	size_t *next = xcalloc(n, sizeof(*next));
	size_t *pos = xcalloc(n, sizeof(*pos));

	for (size_t root = 0; root < n; root++) {
		size_t top = 0;

		if (color[root] != WHITE)
			continue;
		stack[0] = root;
		next[0] = 0;
		pos[root] = 0;
		color[root] = GREY;
		for (;;) {
			struct inv_group *g = &inv->groups[stack[top]];
			struct inv_edge *e;

			if (next[top] == g->nr_children) {
				color[stack[top]] = BLACK;
				if (!top)
					break;
				top--;
				continue;
			}
			e = &g->children[next[top]++];
			if (color[e->child] == GREY) {
				report_cycle(inv, dl, stack, pos[e->child], top,
					     e);
				e->cut = true;
			} else if (color[e->child] == WHITE) {
				color[e->child] = GREY;
				stack[++top] = e->child;
				next[top] = 0;
				pos[e->child] = top;
			}
		}
	}
	free(color);
	free(stack);
	free(next);
	free(pos);
}

/* Parents, and each group's depth: the longest way down from `all`. */
static void set_depths(struct inventory *inv)
{
	size_t n = inv->nr_groups, head = 0, tail = 0;
	size_t *indegree = xcalloc(n, sizeof(*indegree));
	size_t *queue = xcalloc(n, sizeof(*queue));

	for (size_t i = 0; i < n; i++) {
		struct inv_group *g = &inv->groups[i];

		for (size_t j = 0; j < g->nr_children; j++) {
			struct inv_group *c =
				&inv->groups[g->children[j].child];

			if (g->children[j].cut)
				continue;
			indegree[g->children[j].child]++;
			XGROW(c->parents, c->alloc_parents, c->nr_parents + 1);
			c->parents[c->nr_parents++] = i;
		}
	}
	for (size_t i = 0; i < n; i++) {
		inv->groups[i].depth = i == INV_ALL ? 0 : 1;
		if (!indegree[i])
			queue[tail++] = i;
	}
	while (head < tail) {
		struct inv_group *g = &inv->groups[queue[head++]];

		for (size_t j = 0; j < g->nr_children; j++) {
			size_t c = g->children[j].child;

			if (g->children[j].cut)
				continue;
			if (inv->groups[c].depth < g->depth + 1)
				inv->groups[c].depth = g->depth + 1;
			if (!--indegree[c])
				queue[tail++] = c;
		}
	}
	free(indegree);
	free(queue);
}

void inv_finish(struct inventory *inv, struct diag_list *dl)
{
	check_declared(inv, dl);
	cut_cycles(inv, dl);
	set_depths(inv);
	for (size_t i = 0; i < inv->nr_groups; i++) {
		struct inv_group *g = &inv->groups[i];

		for (size_t j = 0; j < g->vars.nr; j++)
			if (!strcmp(g->vars.v[j].key->value,
				    "ansible_group_priority"))
				scalar_long(g->vars.v[j].value, &g->priority);
	}
}

/* Reading */

static bool is_yaml(const char *file, const char *text, size_t len)
{
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(slash ? slash : file, '.');
	size_t i = 0;

	if (dot && (!strcmp(dot, ".yml") || !strcmp(dot, ".yaml") ||
		    !strcmp(dot, ".json")))
		return true;
	if (dot && !strcmp(dot, ".ini"))
		return false;
	/* The first line that is not blank or a comment decides. */
	while (i < len) {
		size_t start, word;

		while (i < len && isspace((unsigned char)text[i]))
			i++;
		start = i;
		if (i < len && (text[i] == '#' || text[i] == ';')) {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		if (i == len)
			break;
		if ((len - i >= 3 && !memcmp(text + i, "---", 3)) ||
		    text[i] == '{')
			return true;
		while (i < len && !isspace((unsigned char)text[i]))
			i++;
		word = i - start;
		return word > 0 && text[start + word - 1] == ':';
	}
	return false;
}

int inventory_parse(const char *file, const char *text, size_t len,
		    struct inventory **out, struct diag_list *dl)
{
	struct inventory *inv = xcalloc(1, sizeof(*inv));

	inv->file = xstrdup(file);
	inv->doc = ydoc_new(file);
	inv_group(inv, dl, "all", 1, 1);
	inv_group(inv, dl, "ungrouped", 1, 1);
	inv->groups[INV_ALL].declared = true;
	inv->groups[INV_UNGROUPED].declared = true;
	*out = inv;
	if (len >= 2 && text[0] == '#' && text[1] == '!') {
		inv_error(inv, dl, 1, 1,
			  "this inventory is a script: deploy reads static "
			  "INI and YAML inventories and does not run "
			  "inventory scripts");
		inv->broken = true;
		return 0;
	}
	if (is_yaml(file, text, len))
		inv_parse_yaml(inv, text, len, dl);
	else
		inv_parse_ini(inv, text, len, dl);
	if (!inv->broken)
		inv_finish(inv, dl);
	return 0;
}

int inventory_load(const char *path, struct inventory **out,
		   struct diag_list *dl, struct error *err)
{
	struct buf text;
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(path, &st))
		return error_set(
			err,
			errno == ENOENT ? DEPLOY_ERR_NOT_FOUND : DEPLOY_ERR_IO,
			NULL, 0, 0, "inventory '%s' cannot be read: %s", path,
			strerror(errno));
	if (S_ISDIR(st.st_mode))
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "inventory '%s' is a directory: name one "
				 "inventory file in it",
				 path);
	if (!S_ISREG(st.st_mode))
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "inventory '%s' is not a regular file", path);
	buf_init(&text, INVENTORY_MAX_BYTES);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_TOO_BIG)
		rc = error_set(err, rc, NULL, 0, 0,
			       "inventory '%s' is larger than %u bytes", path,
			       INVENTORY_MAX_BYTES);
	else if (rc)
		rc = error_set(err, rc, NULL, 0, 0,
			       "inventory '%s' cannot be read: %s", path,
			       strerror(errno));
	else
		rc = inventory_parse(path, text.data, text.len, out, dl);
	buf_free(&text);
	return rc;
}

const char *inventory_file(const struct inventory *inv)
{
	return inv->file;
}

const char *inventory_group_name(const struct inventory *inv, size_t i)
{
	return i < inv->nr_groups ? inv->groups[i].name : NULL;
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->nr_groups; i++) {
		struct inv_group *g = &inv->groups[i];

		free(g->name);
		free(g->vars.v);
		free(g->entries);
		free(g->children);
		free(g->parents);
	}
	for (size_t i = 0; i < inv->nr_hosts; i++) {
		free(inv->hosts[i].name);
		free(inv->hosts[i].vars.v);
		free(inv->hosts[i].groups);
	}
	free(inv->groups);
	free(inv->hosts);
	free(inv->group_index.slots);
	free(inv->host_index.slots);
	ydoc_free(inv->doc);
	free(inv->file);
	free(inv);
}
