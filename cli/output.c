/* SPDX-License-Identifier: MIT */
/* What cli/ prints (diagnostics, errors, the plan); loading a topology. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/events.h"
#include "cli/output.h"
#include "graph/graph.h"
#include "playbook/playbook.h"
#include "topology/topology.h"
#include "util/xalloc.h"
#include "util/banned.h"

void print_diags(const struct diag_list *dl, FILE *out)
{
	for (size_t i = 0; i < dl->nr; i++) {
		const struct diag *d = &dl->items[i];
		const char *level =
			d->level == DIAG_ERROR ? "error" : "warning";

		if (d->file && d->line > 0)
			fprintf(out, "%s:%d:%d: %s: %s\n", d->file, d->line,
				d->col > 0 ? d->col : 1, level, d->msg);
		else if (d->file)
			fprintf(out, "%s: %s: %s\n", d->file, level, d->msg);
		else
			fprintf(out, "%s: %s\n", level, d->msg);
	}
}

void print_error(const struct error *err)
{
	event_error(err->file, err->line, err->msg);
	if (err->file && err->line > 0)
		fprintf(stderr, "%s:%d:%d: error: %s\n", err->file, err->line,
			err->col > 0 ? err->col : 1, err->msg);
	else if (err->file)
		fprintf(stderr, "%s: error: %s\n", err->file, err->msg);
	else
		fprintf(stderr, "deploy: error: %s\n", err->msg);
}

void vprint_message(const char *fmt, va_list ap)
{
	fputs("deploy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void print_message(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_message(fmt, ap);
	va_end(ap);
}

/* builtins: check the built-in playbook names too (validate). */
static int load_topology(const char *path, bool builtins, struct topology **t,
			 struct graph **g)
{
	struct diag_list dl;
	struct error err;
	int rc;

	*g = NULL;
	diag_list_init(&dl);
	error_init(&err);
	rc = topology_load(path, t, &dl, &err);
	if (!rc && builtins) {
		playbook_check_builtins(*t, NULL, &dl);
		diag_list_sort_first(&dl, path);
		if (dl.errors) {
			topology_free(*t);
			*t = NULL;
			rc = DEPLOY_ERR_INVALID;
		}
	}
	print_diags(&dl, stderr);
	if (rc && rc != DEPLOY_ERR_INVALID)
		print_error(&err);
	if (rc && dl.errors)
		fprintf(stderr, "%s: %zu error%s%s\n", path, dl.errors,
			dl.errors == 1 ? "" : "s",
			dl.warnings ? ", and warnings above" : "");
	if (!rc) {
		rc = graph_build(*t, g, &err);
		if (rc) {
			print_error(&err);
			topology_free(*t);
			*t = NULL;
		}
	}
	error_clear(&err);
	diag_list_free(&dl);
	return rc ? EXIT_FAIL : EXIT_OK;
}

int cli_load_topology(const char *path, struct topology **t, struct graph **g)
{
	return load_topology(path, false, t, g);
}

int cli_validate_topology(const char *path, struct topology **t,
			  struct graph **g)
{
	return load_topology(path, true, t, g);
}

/* The plan */

static const char *op_word(enum plan_op op)
{
	switch (op) {
	case PLAN_CREATE:
		return "create";
	case PLAN_DESTROY:
		return "destroy";
	case PLAN_KEEP:
		break;
	}
	return "keep";
}

/* "+ create", "- destroy", "= keep" (kept for a reason), "! unrecorded" */
static char item_sign(const struct plan_item *it)
{
	if (it->unrecorded)
		return '!';
	if (it->op == PLAN_CREATE)
		return '+';
	return it->op == PLAN_KEEP ? '=' : '-';
}

static const char *item_word(const struct plan_item *it)
{
	return it->unrecorded ? "unrecorded" : op_word(it->op);
}

static void json_line(cJSON *o)
{
	events_emit(o);
}

static void print_sources(const struct source_pin *pins, size_t nr, bool json)
{
	for (size_t i = 0; i < nr; i++) {
		const struct source_pin *pin = &pins[i];
		const struct source *s = pin->src;
		char *git;
		cJSON *o;

		if (!json) {
			printf("source %s: %s at %.12s%s\n", s->name,
			       source_ref_label(s), pin->commit,
			       pin->added ? " (new in the lock file)" : "");
			continue;
		}
		git = source_url_redact(s->git);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "source");
		cJSON_AddStringToObject(o, "name", s->name);
		cJSON_AddStringToObject(o, "git", git);
		if (s->ref)
			cJSON_AddStringToObject(o, "ref", s->ref);
		else
			cJSON_AddNullToObject(o, "ref");
		cJSON_AddStringToObject(o, "commit", pin->commit);
		cJSON_AddBoolToObject(o, "added", pin->added);
		json_line(o);
		free(git);
	}
}

/* Lines of text, each as it is or as a JSON object of type `type`. */
static void print_lines(const char *text, const char *type, bool json)
{
	for (const char *l = text; l && *l;) {
		size_t len = strcspn(l, "\n");

		if (json) {
			char *line = xstrndup(l, len);
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "type", type);
			cJSON_AddStringToObject(o, "text", line);
			json_line(o);
			free(line);
		} else {
			printf("%.*s\n", (int)len, l);
		}
		l += len + (l[len] == '\n');
	}
}

void print_plan(const struct plan *p, const struct source_pin *pins,
		size_t nr_pins, const struct artifact_change *changes,
		size_t nr_changes, bool json)
{
	cJSON *o;

	print_sources(pins, nr_pins, json);
	for (size_t i = 0; i < p->nr; i++) {
		const struct plan_item *it = &p->items[i];

		if (json) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "type", "planned_change");
			cJSON_AddStringToObject(o, "action", item_word(it));
			cJSON_AddStringToObject(o, "provider",
						it->provider->name);
			cJSON_AddStringToObject(o, "kind", it->kind);
			cJSON_AddStringToObject(o, "name", it->name);
			if (it->role)
				cJSON_AddStringToObject(o, "role", it->role);
			if (it->reason)
				cJSON_AddStringToObject(o, "reason",
							it->reason);
			json_line(o);
			continue;
		}
		if (it->op == PLAN_KEEP && !it->reason)
			continue;
		printf("%c %s %s %s %s%s%s%s\n", item_sign(it), item_word(it),
		       it->provider->name, it->kind, it->name,
		       it->reason ? " (" : "", it->reason ? it->reason : "",
		       it->reason ? ")" : "");
	}
	print_lines(p->drift_lines, "drift", json);
	print_lines(p->sync_lines, "shared_change", json);
	for (size_t i = 0; json && i < nr_changes; i++)
		json_line(artifact_change_json(&changes[i]));
	if (json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "change_summary");
		cJSON_AddNumberToObject(o, "create", (double)p->creates);
		cJSON_AddNumberToObject(o, "destroy", (double)p->destroys);
		cJSON_AddNumberToObject(o, "keep", (double)p->keeps);
		cJSON_AddNumberToObject(o, "unrecorded", (double)p->unrecorded);
		cJSON_AddNumberToObject(o, "shared", (double)p->syncs);
		cJSON_AddNumberToObject(o, "drift", (double)p->drifts);
		cJSON_AddNumberToObject(o, "artifacts", (double)nr_changes);
		json_line(o);
		return;
	}
	printf("Plan: %zu to create, %zu to destroy, %zu unchanged.\n",
	       p->creates, p->destroys, p->keeps);
	if (p->syncs)
		printf("%zu change%s to shared resources (firewall groups).\n",
		       p->syncs, p->syncs == 1 ? "" : "s");
	if (p->drifts)
		printf("%zu difference%s between kept hosts and the topology, "
		       "which up does not change (see docs/state.md).\n",
		       p->drifts, p->drifts == 1 ? "" : "s");
	if (p->unrecorded)
		printf("%zu host%s at a provider %s not in the state.\n",
		       p->unrecorded, p->unrecorded == 1 ? "" : "s",
		       p->unrecorded == 1 ? "is" : "are");
	for (size_t i = 0; i < nr_changes; i++) {
		struct buf line = BUF_INIT;

		artifact_change_text(&changes[i], &line);
		printf("%s\n", line.data);
		buf_free(&line);
	}
}
