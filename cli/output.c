/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"
#include "graph/graph.h"
#include "topology/topology.h"
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

int cli_load_topology(const char *path, struct topology **t, struct graph **g)
{
	struct diag_list dl;
	struct error err;
	int rc;

	*g = NULL;
	diag_list_init(&dl);
	error_init(&err);
	rc = topology_load(path, t, &dl, &err);
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
