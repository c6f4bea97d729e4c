/* SPDX-License-Identifier: MIT */
/* deploy-test-tool mustache: render a template, for the spec tests. */

/*
 * deploy-test-tool mustache --template T --data D.json [--partials P.json]
 *
 * Renders file T in the spec's mode (HTML escaping, missing names render
 * empty) with the JSON in D.json as the context; P.json, when given, is an
 * object mapping partial names to template text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "template/template.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "test-tool.h"
#include "util/banned.h"

#define USAGE                                                          \
	"usage: deploy-test-tool mustache --template T --data D.json " \
	"[--partials P.json]\n"

static int load_file(const char *path, struct buf *b, struct error *err)
{
	int rc = buf_read_file(b, path);

	if (rc)
		return error_set(err, rc, path, 0, 0, "cannot read: %s",
				 deploy_strerror(rc));
	return 0;
}

static int load_json(const char *path, cJSON **out, struct error *err)
{
	struct buf b = BUF_INIT;
	int rc;

	*out = NULL;
	rc = load_file(path, &b, err);
	if (rc)
		goto out;
	*out = cJSON_ParseWithLength(b.data, b.len);
	if (!*out)
		rc = error_set(err, DEPLOY_ERR_SYNTAX, path, 0, 0,
			       "not valid JSON");
out:
	buf_free(&b);
	return rc;
}

static int partial_from_json(void *ctx, const char *name, char **text,
			     char **origin, struct error *err)
{
	const cJSON *partials = ctx;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(partials, name);

	(void)origin;
	if (!cJSON_IsString(p))
		return DEPLOY_ERR_NOT_FOUND;
	if (!p->valuestring)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "partial '%s' has no text", name);
	*text = xstrdup(p->valuestring);
	return 0;
}

int cmd_mustache(int argc, char **argv)
{
	const char *template_path = NULL, *data_path = NULL;
	const char *partials_path = NULL;
	struct template_opts opts = {
		.escape = TEMPLATE_ESCAPE_HTML,
		.missing = TEMPLATE_MISSING_EMPTY,
		.partial = partial_from_json,
	};
	struct buf text = BUF_INIT, out = BUF_INIT;
	cJSON *data = NULL, *partials = NULL;
	struct error err;
	char msg[1024];
	int i, rc, ret = 1;

	error_init(&err);
	for (i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (!strcmp(argv[i], "--template"))
			slot = &template_path;
		else if (!strcmp(argv[i], "--data"))
			slot = &data_path;
		else if (!strcmp(argv[i], "--partials"))
			slot = &partials_path;
		if (!slot || i + 1 >= argc) {
			fputs(USAGE, stderr);
			return 64;
		}
		*slot = argv[++i];
	}
	if (!template_path || !data_path) {
		fputs(USAGE, stderr);
		return 64;
	}

	rc = load_file(template_path, &text, &err);
	if (!rc)
		rc = load_json(data_path, &data, &err);
	if (!rc && partials_path) {
		rc = load_json(partials_path, &partials, &err);
		if (!rc && !cJSON_IsObject(partials))
			rc = error_set(&err, DEPLOY_ERR_INVALID, partials_path,
				       0, 0, "not a JSON object");
	}
	if (rc)
		goto out;
	opts.partial_ctx = partials;
	rc = template_render_string(template_path, text.data, text.len, data,
				    &opts, &out, &err);
	if (rc)
		goto out;
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
		error_set(&err, DEPLOY_ERR_IO, NULL, 0, 0,
			  "cannot write output");
		goto out;
	}
	ret = 0;
out:
	if (ret) {
		error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "deploy-test-tool: %s\n", msg);
	}
	error_clear(&err);
	buf_free(&text);
	buf_free(&out);
	cJSON_Delete(data);
	cJSON_Delete(partials);
	return ret;
}
