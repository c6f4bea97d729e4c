/* SPDX-License-Identifier: MIT */
/* libFuzzer target: Compute Engine answers, as the gcp client reads them. */

/*
 * libFuzzer target: any bytes as a Compute Engine answer. The first byte
 * picks the HTTP status (2xx, 401, 403, 404, 409, 429, 5xx); the rest is
 * the body, read by gcp_answer() as every call reads its answer (Google's
 * error documents included), then walked as the client walks it: a list
 * page (items, nextPageToken) and an operation (its wait path from
 * name/zone/region, and its result from error.errors). Nothing may crash,
 * leak or overflow; a document comes exactly when the call succeeded with
 * a body; the reason and messages stay inside their buffers; a wait path
 * stays an operations path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gcp/compute.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 200, 201, 204, 400, 401, 403,
				 404, 409, 429, 500, 503, 302 };

static void check(const struct gcp *c, const struct error *err)
{
	if (strnlen(err->msg, sizeof(err->msg)) >= sizeof(err->msg))
		abort();
	if (strnlen(c->reason, sizeof(c->reason)) >= sizeof(c->reason))
		abort();
}

static void walk_operation(struct gcp *c, const cJSON *op)
{
	struct buf path = BUF_INIT;
	struct error err;
	int rc;

	error_init(&err);
	rc = gcp_op_path(op, &path, "fuzz", &err);
	if (!rc && (!strstr(path.data, "operations/") ||
		    strcmp(path.data + path.len - 5, "/wait")))
		abort();
	check(c, &err);
	error_clear(&err);
	error_init(&err);
	rc = gcp_op_result(c, op, "fuzz", &err);
	if (rc && !*err.msg)
		abort();
	check(c, &err);
	error_clear(&err);
	buf_free(&path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gcp c;
	struct buf body = BUF_INIT;
	struct error err;
	cJSON *doc = NULL;
	const cJSON *it;
	long status;
	int rc;

	if (!size)
		return 0;
	if (!c.creds.source)
		c.creds.source = strdup("fuzz credentials");
	status = statuses[data[0] % (sizeof(statuses) / sizeof(*statuses))];
	buf_add(&body, data + 1, size - 1);
	error_init(&err);
	rc = gcp_answer(&c, "instances.list", status, &body, &doc, &err);
	if (status >= 200 && status < 300 && size > 1 && !rc != !!doc)
		abort(); /* a document exactly when it succeeded */
	if ((status < 200 || status >= 300) && (!rc || doc))
		abort();
	check(&c, &err);
	error_clear(&err);
	if (doc) {
		char name[64];

		cJSON_ArrayForEach(
			it, cJSON_GetObjectItemCaseSensitive(doc, "items"))
		{
			const cJSON *z =
				cJSON_GetObjectItemCaseSensitive(it, "zone");

			gcp_basename(cJSON_IsString(z) ? z->valuestring : "",
				     name, sizeof(name));
			if (strnlen(name, sizeof(name)) >= sizeof(name))
				abort();
			walk_operation(&c, it);
		}
		walk_operation(&c, doc);
		cJSON_Delete(doc);
	}
	buf_free(&body);
	return 0;
}
