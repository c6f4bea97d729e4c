/* SPDX-License-Identifier: MIT */
/* libFuzzer target: Mustache templates rendered against JSON data. */

/*
 * libFuzzer target: the input's first line is JSON data, the rest a
 * Mustache template, rendered in each escape and missing-variable mode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int partial(void *ctx, const char *name, char **text, char **origin,
		   struct error *err)
{
	const char *body = ctx;

	(void)err;
	*origin = NULL;
	if (!strcmp(name, "self") || !strcmp(name, "p")) {
		*text = strdup(body);
		return *text ? 0 : DEPLOY_ERR_NOMEM;
	}
	return DEPLOY_ERR_NOT_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t jlen = nl ? (size_t)(nl - (const char *)data) : size;
	char *json = strndup((const char *)data, jlen);
	const char *text = nl ? nl + 1 : "";
	size_t tlen = nl ? size - jlen - 1 : 0;
	char *body = strndup(text, tlen);
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	struct template *t = NULL;
	struct error err;

	error_init(&err);
	if (body && !template_parse("fuzz.mustache", text, tlen, &t, &err)) {
		for (int mode = 0; mode < 6; mode++) {
			struct template_opts o = {
				.escape = (enum template_escape)(mode % 3),
				.missing = mode < 3 ? TEMPLATE_MISSING_EMPTY
						    : TEMPLATE_MISSING_ERROR,
				.partial = partial,
				.partial_ctx = body,
			};
			struct buf out;

			buf_init(&out, 1 << 20);
			template_render(t, root, &o, &out, &err);
			buf_free(&out);
			error_clear(&err);
		}
		template_free(t);
	}
	error_clear(&err);
	cJSON_Delete(root);
	free(json);
	free(body);
	return 0;
}
