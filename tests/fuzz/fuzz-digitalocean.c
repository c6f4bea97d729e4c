/* SPDX-License-Identifier: MIT */
/* libFuzzer target: DigitalOcean API answers, as the client reads them. */

/*
 * libFuzzer target: any bytes as a DigitalOcean API answer. The first byte
 * picks the HTTP status (2xx, 4xx, 429, 5xx) and whether the answer carries
 * an x-request-id header; the rest is the body, read by do_answer() as the
 * client reads every answer, then walked as a page of each list the
 * provider reads (droplets with their ids and addresses, firewalls, VPCs,
 * keys, slugs) with its links.pages.next, and as a single droplet. Nothing
 * may crash, leak or overflow; a document comes exactly when the call
 * succeeded with a body; messages stay inside struct error; and a next
 * page is only ever on the API's own address (the token goes nowhere
 * else).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "providers/digitalocean/api.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "http://127.0.0.1:9"

static const long statuses[] = { 200, 201, 202, 204, 401, 403,
				 404, 422, 429, 500, 503, 302 };
static const char *const lists[] = { "droplets", "firewalls", "vpcs",
				     "ssh_keys", "regions",   "sizes" };

static int item(const cJSON *it, void *ud)
{
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(it, "id"));
	char *pub, *priv;
	size_t *n = ud;

	if (do_droplet_addresses(it, &pub, &priv) && !pub)
		abort();
	if (!pub && priv)
		abort(); /* a private address alone is not kept */
	free(pub);
	free(priv);
	free(id);
	return ++*n >= 100000; /* a stop, passed back */
}

static void check_msg(const struct error *err)
{
	if (strnlen(err->msg, sizeof(err->msg)) >= sizeof(err->msg))
		abort();
}

static void walk(struct do_api *c, const cJSON *doc, const char *key,
		 const char *prev)
{
	const char *url = BASE "/v2/droplets?tag_name=t&per_page=200";
	char *next = NULL;
	struct error err;
	size_t n = 0;
	int rc;

	error_init(&err);
	rc = do_list_page(c, "/v2/droplets?tag_name=t", key, doc, url, prev,
			  item, &n, &next, &err);
	if (rc && next)
		abort(); /* no next page after an error */
	if (next) {
		size_t b = strlen(BASE);

		if (strncmp(next, BASE, b) ||
		    (next[b] && next[b] != '/' && next[b] != '?'))
			abort(); /* the token would leave the API */
		if (!strcmp(next, url) || (prev && !strcmp(next, prev)))
			abort(); /* a page read again */
	}
	check_msg(&err);
	free(next);
	error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct do_api *c;
	struct http_response r;
	struct error err;
	cJSON *doc = NULL;
	int rc;

	if (!c) {
		struct do_token tok = { strdup("dop_v1_fuzz"), strdup("fuzz") };

		if (do_open(&c, BASE, &tok, &err))
			abort();
	}
	if (!size)
		return 0;
	http_response_init(&r);
	r.status = statuses[data[0] % (sizeof(statuses) / sizeof(*statuses))];
	if (data[0] & 0x80)
		buf_adds(&r.headers, "x-request-id: fuzz-request\r\n");
	buf_add(&r.body, data + 1, size - 1);
	error_init(&err);
	rc = do_answer(c, "GET", "/v2/droplets?tag_name=t", &r, &doc, &err);
	if (r.status >= 200 && r.status < 300 && size > 1 && !rc != !!doc)
		abort(); /* a document exactly when it succeeded */
	if (rc && doc)
		abort();
	if (rc && !*err.msg)
		abort();
	check_msg(&err);
	if (strnlen(do_error_id(c), 64) >= 64)
		abort();
	if (doc) {
		char *pub, *priv;

		for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++)
			walk(c, doc, lists[i], i & 1 ? BASE "/v2/x" : NULL);
		if (do_droplet_addresses(
			    cJSON_GetObjectItemCaseSensitive(doc, "droplet"),
			    &pub, &priv) &&
		    !pub)
			abort();
		free(pub);
		free(priv);
		cJSON_Delete(doc);
	}
	error_clear(&err);
	http_response_free(&r);
	return 0;
}
