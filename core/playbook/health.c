/* SPDX-License-Identifier: MIT */
/* A role's health: checks compiled into the gate at the script's end. */
#include <stdlib.h>
#include <string.h>

#include "playbook/compile-internal.h"
#include "template/template.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define HEALTH_DEFAULT_INTERVAL 5
#define HEALTH_DEFAULT_TIMEOUT	300

static const char *text(const struct ynode *check, const char *key)
{
	const struct ynode *n = ynode_get(check, key);

	return n && n->kind == YNODE_SCALAR && n->value ? n->value : "";
}

static long number(const struct ynode *check, const char *key, long def)
{
	long v;

	return ynode_int(ynode_get(check, key), &v) ? def : v;
}

/* "http http://127.0.0.1:3030/status sync_info.syncing equals false" */
char *health_label(const struct ynode *check)
{
	static const char *const ops[] = { "equals", "at_least", "at_most",
					   NULL };
	struct buf b = BUF_INIT;

	if (*text(check, "name")) {
		buf_addf(&b, "health: %s", text(check, "name"));
	} else if (ynode_get(check, "http")) {
		buf_addf(&b, "health: http %s", text(check, "http"));
		for (size_t i = 0; ops[i]; i++)
			if (ynode_get(check, ops[i]))
				buf_addf(&b, " %s %s %s", text(check, "field"),
					 ops[i], text(check, ops[i]));
	} else if (ynode_get(check, "tcp")) {
		buf_addf(&b, "health: tcp %s", text(check, "tcp"));
	} else if (ynode_get(check, "height")) {
		buf_addf(&b, "health: height %s within %s of the reference",
			 text(ynode_get(check, "height"), "rpc"),
			 *text(ynode_get(check, "height"), "within")
				 ? text(ynode_get(check, "height"), "within")
				 : "30");
	} else {
		buf_addf(&b, "health: command %s", text(check, "command"));
	}
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n' || b.data[i] == '\r')
			b.data[i] = ' ';
	if (b.len > 200)
		b.data[b.len = 200] = '\0';
	return buf_release(&b);
}

/* Where a check comes from: the role's health: or a playbook's. */
struct health_src {
	const struct host_context *ctx;
	const cJSON *data; /* the data its templates see */
	const char *file;
	const char *what; /* "roles.validator.health" */
};

/*
 * Node n (a value of a check) rendered with the host's data (a Mustache
 * template, as playbook values are); errors at its place in the file.
 */
static int render_node(const struct health_src *src, const struct ynode *n,
		       const char *key, enum template_escape esc,
		       struct buf *out, struct error *err)
{
	struct template_opts o = { .escape = esc,
				   .missing = TEMPLATE_MISSING_ERROR };
	struct error terr;
	int rc;

	buf_reset(out);
	if (!n || n->kind != YNODE_SCALAR || !n->value)
		return 0;
	error_init(&terr);
	rc = template_render_string(src->file, n->value, n->len, src->data, &o,
				    out, &terr);
	if (rc)
		error_set(err, rc, src->file, n->line, n->col, "%s.%s: %s",
			  src->what, key, terr.msg);
	else if (context_has_secret(src->ctx, out->data, out->len))
		rc = error_set(err, DEPLOY_ERR_INVALID, src->file, n->line,
			       n->col,
			       "%s.%s holds a secret: a health check is shown "
			       "in progress and logs",
			       src->what, key);
	error_clear(&terr);
	return rc;
}

static int render(const struct health_src *src, const struct ynode *check,
		  const char *key, enum template_escape esc, struct buf *out,
		  struct error *err)
{
	return render_node(src, ynode_get(check, key), key, esc, out, err);
}

static bool is_http_url(const char *s, size_t len)
{
	return (len > 7 && !strncmp(s, "http://", 7)) ||
	       (len > 8 && !strncmp(s, "https://", 8));
}

/*
 * A height check's words: RPC METHOD FIELD WITHIN REFERENCE...; each
 * reference item may render to several URLs (blank-separated), so a
 * playbook can name a list variable.
 */
static int height_args(const struct health_src *src, const struct ynode *h,
		       struct buf *out, struct error *err)
{
	const struct ynode *ref = ynode_get(h, "reference");
	size_t nr = ref && ref->kind == YNODE_SEQ ? ref->nr : 1;
	struct buf v = BUF_INIT;
	size_t urls = 0;
	long within;
	int rc;

	if ((rc = render_node(src, ynode_get(h, "rpc"), "height.rpc",
			      TEMPLATE_ESCAPE_NONE, &v, err)))
		goto out;
	if (!is_http_url(v.data ? v.data : "", v.len)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, src->file,
			       ynode_get(h, "rpc")->line,
			       ynode_get(h, "rpc")->col,
			       "%s.height.rpc '%s' is not an http:// or "
			       "https:// URL",
			       src->what, v.data ? v.data : "");
		goto out;
	}
	cc_arg(out, v.data, v.len);
	if ((rc = render_node(src, ynode_get(h, "method"), "height.method",
			      TEMPLATE_ESCAPE_NONE, &v, err)))
		goto out;
	cc_arg(out, v.data, v.len);
	if ((rc = render_node(src, ynode_get(h, "field"), "height.field",
			      TEMPLATE_ESCAPE_NONE, &v, err)))
		goto out;
	cc_arg(out, v.data, v.len);
	if ((rc = render_node(src, ynode_get(h, "within"), "height.within",
			      TEMPLATE_ESCAPE_NONE, &v, err)))
		goto out;
	within = 30;
	if (ynode_get(h, "within")) {
		char *end = NULL;

		within = strtol(v.data ? v.data : "", &end, 10);
		if (!v.len || *end || within < 0 || within > 1000000000) {
			const struct ynode *w = ynode_get(h, "within");

			rc = error_set(err, DEPLOY_ERR_INVALID, src->file,
				       w->line, w->col,
				       "%s.height.within '%s' is not a number "
				       "of blocks, 0 to 1000000000",
				       src->what, v.data ? v.data : "");
			goto out;
		}
	}
	cc_add_int(out, within);
	for (size_t i = 0; ref && i < nr; i++) {
		const struct ynode *item =
			ref->kind == YNODE_SEQ ? ref->items[i] : ref;
		const char *p, *end;

		if ((rc = render_node(src, item, "height.reference",
				      TEMPLATE_ESCAPE_NONE, &v, err)))
			goto out;
		for (p = v.data ? v.data : ""; *p; p = end) {
			p += strspn(p, " \t\n,");
			end = p + strcspn(p, " \t\n,");
			if (p == end)
				break;
			if (!is_http_url(p, (size_t)(end - p))) {
				rc = error_set(err, DEPLOY_ERR_INVALID,
					       src->file, item->line, item->col,
					       "%s.height.reference '%.*s' is "
					       "not an http:// or https:// URL",
					       src->what, (int)(end - p), p);
				goto out;
			}
			cc_arg(out, p, (size_t)(end - p));
			urls++;
		}
	}
	if (!urls)
		rc = error_set(err, DEPLOY_ERR_INVALID, src->file,
			       ref ? ref->line : h->line,
			       ref ? ref->col : h->col,
			       "%s.height.reference names no URL on host "
			       "'%s': name the endpoints to compare with",
			       src->what, src->ctx->host->name);
out:
	buf_free(&v);
	return rc;
}

/*
 * One check as "\t_dp_gate N LABEL dp_health KIND TIMEOUT INTERVAL ...",
 * its templates rendered with data (the role's or a playbook's).
 */
int health_compile(const struct host_context *ctx, const cJSON *data,
		   const char *file, const char *what,
		   const struct ynode *check, size_t n, const char *label,
		   struct buf *out, struct error *err)
{
	const struct health_src src = {
		.ctx = ctx, .data = data, .file = file, .what = what
	};
	static const char *const ops[] = { "equals", "at_least", "at_most",
					   NULL };
	const char *op = "";
	struct buf v = BUF_INIT;
	const char *colon;
	int rc = 0;

	buf_addf(out, "\t_dp_gate %zu", n);
	cc_args(out, label);
	buf_adds(out, " dp_health");
	if (ynode_get(check, "http"))
		cc_args(out, "http");
	else if (ynode_get(check, "tcp"))
		cc_args(out, "tcp");
	else if (ynode_get(check, "height"))
		cc_args(out, "height");
	else
		cc_args(out, "command");
	cc_add_int(out, number(check, "timeout", HEALTH_DEFAULT_TIMEOUT));
	cc_add_int(out, number(check, "interval", HEALTH_DEFAULT_INTERVAL));
	if (ynode_get(check, "http")) {
		if ((rc = render(&src, check, "http", TEMPLATE_ESCAPE_NONE, &v,
				 err)))
			goto out;
		cc_arg(out, v.data, v.len);
		if (*text(check, "method"))
			cc_args(out, text(check, "method"));
		else
			cc_args(out, ynode_get(check, "body") ? "POST" : "GET");
		if ((rc = render(&src, check, "body", TEMPLATE_ESCAPE_NONE, &v,
				 err)))
			goto out;
		cc_arg(out, v.data, v.len);
		cc_add_int(out, number(check, "status", 200));
		cc_args(out, text(check, "field"));
		for (size_t i = 0; ops[i]; i++)
			if (ynode_get(check, ops[i]))
				op = ops[i];
		cc_args(out, op);
		if (*op && (rc = render(&src, check, op, TEMPLATE_ESCAPE_NONE,
					&v, err)))
			goto out;
		cc_arg(out, v.data, *op ? v.len : 0);
	} else if (ynode_get(check, "tcp")) {
		if ((rc = render(&src, check, "tcp", TEMPLATE_ESCAPE_NONE, &v,
				 err)))
			goto out;
		colon = strrchr(v.data ? v.data : "", ':');
		if (colon) {
			cc_arg(out, v.data, (size_t)(colon - v.data));
			cc_args(out, colon + 1);
		} else {
			cc_args(out, "127.0.0.1");
			cc_arg(out, v.data, v.len);
		}
	} else if (ynode_get(check, "height")) {
		if ((rc = height_args(&src, ynode_get(check, "height"), out,
				      err)))
			goto out;
	} else {
		if ((rc = render(&src, check, "command", TEMPLATE_ESCAPE_SHELL,
				 &v, err)))
			goto out;
		cc_arg(out, v.data, v.len);
	}
	buf_addch(out, '\n');
out:
	buf_free(&v);
	return rc;
}
