/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_TEMPLATE_H
#define DEPLOY_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * Mustache templates: the whole spec (https://mustache.github.io) except
 * lambdas: interpolation with dotted names and the implicit iterator,
 * sections, inverted sections, comments, partials, set delimiters and the
 * standalone-line rules. The data is a cJSON tree.
 */

enum template_escape {
	TEMPLATE_ESCAPE_NONE,  /* values as they are: config files (default) */
	TEMPLATE_ESCAPE_HTML,  /* & < > " escaped, as the spec says */
	TEMPLATE_ESCAPE_SHELL, /* every value single-quoted for POSIX sh */
};

enum template_missing {
	TEMPLATE_MISSING_ERROR, /* a missing variable is an error (deploy's) */
	TEMPLATE_MISSING_EMPTY, /* a missing variable renders empty (spec) */
};

/*
 * Loads partial `name`. On success sets *text (malloc'd, NUL-terminated,
 * the caller frees it) and returns 0; returns DEPLOY_ERR_NOT_FOUND when
 * there is no such partial (the spec renders it empty; in
 * TEMPLATE_MISSING_ERROR mode it is an error) or another code with err set.
 * *origin may be set to a malloc'd name used in error messages (a path).
 */
typedef int (*template_partial_fn)(void *ctx, const char *name, char **text,
				   char **origin, struct error *err);

struct template_opts {
	enum template_escape escape;
	enum template_missing missing;
	template_partial_fn partial;
	void *partial_ctx;
};

struct template;

/*
 * Parse `text` (len bytes; need not be NUL-terminated). `name` is the
 * template's file name, used in error messages as "NAME:LINE:COL". A syntax
 * error (an unclosed tag or section, a mismatched closing tag, a bad
 * delimiter change) fills err with the position and returns
 * DEPLOY_ERR_SYNTAX. On success *out owns the parsed template.
 */
int template_parse(const char *name, const char *text, size_t len,
		   struct template **out, struct error *err);

/*
 * Render a parsed template with `data` as the root context, appending to
 * `out`. On error `out` may hold a partial result and err names the
 * template file:line:col and, for a missing variable, the variable.
 */
int template_render(const struct template *t, const cJSON *data,
		    const struct template_opts *opts, struct buf *out,
		    struct error *err);

void template_free(struct template *t);

/* Parse and render in one call. */
int template_render_string(const char *name, const char *text, size_t len,
			   const cJSON *data, const struct template_opts *opts,
			   struct buf *out, struct error *err);

/* Append s as one single-quoted POSIX sh word ('it'\''s'). */
int template_shell_quote(struct buf *out, const char *s, size_t len);

#endif
