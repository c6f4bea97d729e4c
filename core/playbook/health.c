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

/*
 * Value `key` of a check rendered with the host's data (a Mustache
 * template, as playbook values are); errors at its place in the topology.
 */
static int render(const struct host_context *ctx, const struct ynode *check,
		  const char *key, enum template_escape esc, struct buf *out,
		  struct error *err)
{
	const struct ynode *n = ynode_get(check, key);
	struct template_opts o = { .escape = esc,
				   .missing = TEMPLATE_MISSING_ERROR };
	struct error terr;
	int rc;

	buf_reset(out);
	if (!n || n->kind != YNODE_SCALAR || !n->value)
		return 0;
	error_init(&terr);
	rc = template_render_string(ctx->t->file, n->value, n->len, ctx->data,
				    &o, out, &terr);
	if (rc)
		error_set(err, rc, ctx->t->file, n->line, n->col,
			  "roles.%s.health.%s: %s", ctx->host->role->name, key,
			  terr.msg);
	else if (context_has_secret(ctx, out->data, out->len))
		rc = error_set(err, DEPLOY_ERR_INVALID, ctx->t->file, n->line,
			       n->col,
			       "roles.%s.health.%s holds a secret: a health "
			       "check is shown in progress and logs",
			       ctx->host->role->name, key);
	error_clear(&terr);
	return rc;
}

/* One check as "\t_dp_gate N LABEL dp_health KIND TIMEOUT INTERVAL ...". */
int health_compile(const struct host_context *ctx, const struct ynode *check,
		   size_t n, const char *label, struct buf *out,
		   struct error *err)
{
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
	else
		cc_args(out, "command");
	cc_add_int(out, number(check, "timeout", HEALTH_DEFAULT_TIMEOUT));
	cc_add_int(out, number(check, "interval", HEALTH_DEFAULT_INTERVAL));
	if (ynode_get(check, "http")) {
		if ((rc = render(ctx, check, "http", TEMPLATE_ESCAPE_NONE, &v,
				 err)))
			goto out;
		cc_arg(out, v.data, v.len);
		if (*text(check, "method"))
			cc_args(out, text(check, "method"));
		else
			cc_args(out, ynode_get(check, "body") ? "POST" : "GET");
		if ((rc = render(ctx, check, "body", TEMPLATE_ESCAPE_NONE, &v,
				 err)))
			goto out;
		cc_arg(out, v.data, v.len);
		cc_add_int(out, number(check, "status", 200));
		cc_args(out, text(check, "field"));
		for (size_t i = 0; ops[i]; i++)
			if (ynode_get(check, ops[i]))
				op = ops[i];
		cc_args(out, op);
		if (*op && (rc = render(ctx, check, op, TEMPLATE_ESCAPE_NONE,
					&v, err)))
			goto out;
		cc_arg(out, v.data, *op ? v.len : 0);
	} else if (ynode_get(check, "tcp")) {
		if ((rc = render(ctx, check, "tcp", TEMPLATE_ESCAPE_NONE, &v,
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
	} else {
		if ((rc = render(ctx, check, "command", TEMPLATE_ESCAPE_SHELL,
				 &v, err)))
			goto out;
		cc_arg(out, v.data, v.len);
	}
	buf_addch(out, '\n');
out:
	buf_free(&v);
	return rc;
}
