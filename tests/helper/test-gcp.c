/* SPDX-License-Identifier: MIT */
/* deploy-test-tool gcp-*: Google credentials, tokens and API calls. */

/*
 * deploy-test-tool gcp-creds [--credentials FILE] [--endpoint URL]
 *                            [--tokens N] [--sleep-ms MS]
 *
 * Finds Google credentials and the Compute endpoint as the gcp provider
 * does (--credentials and --endpoint stand for the provider block), then
 * asks for an access token N times (default 1), MS apart, and prints:
 *
 *   source: service-account key file ... (from ...)
 *   email: sa@p.iam.gserviceaccount.com      (service accounts)
 *   project: p                               (when the file names one)
 *   endpoint: http://127.0.0.1:PORT/compute/v1/
 *   token 1: <first 12 hex digits of its sha256>
 *   ...
 *   fetches: K                               (tokens obtained)
 *
 * deploy-test-tool gcp-call [--credentials FILE] [--endpoint URL]
 *                           --project P [--body JSON] [--request-id ID|new]
 *                           [--list FILTER] METHOD PATH WHAT
 *
 * One call through the Compute client (retries, token refresh): GET prints
 * the answer as compact JSON; --list walks the pages and prints each item's
 * name; POST/PATCH/DELETE send the body with the requestId and wait for
 * the operation, printing "done". A last line gives the client's counts:
 *   stats: calls=N mutating=N retries=N throttled=N waits=N fetches=N
 * A failure prints its error on stderr and exits 1 (the stats line is
 * printed still). Secrets are never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "providers/gcp/compute.h"
#include "providers/gcp/credentials.h"
#include "util/error.h"
#include "test-tool.h"
#include "util/banned.h"

static int fail(struct error *err)
{
	char msg[1024];

	error_format(err, msg, sizeof(msg));
	fflush(stdout);
	fprintf(stderr, "%s\n", msg);
	error_clear(err);
	return 1;
}

static void print_hash(const char *label, const char *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	printf("%s: ", label);
	for (unsigned int i = 0; i < 6 && i < len; i++)
		printf("%02x", md[i]);
	printf("\n");
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

struct opts {
	const char *credentials, *endpoint, *project, *body, *request_id;
	const char *filter;
	int tokens;
	long sleep_ms;
	char **rest;
	int nr_rest;
};

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tokens = 1;
	o->rest = argv + argc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot =
			!strcmp(a, "--credentials")  ? &o->credentials
			: !strcmp(a, "--endpoint")   ? &o->endpoint
			: !strcmp(a, "--project")    ? &o->project
			: !strcmp(a, "--body")	     ? &o->body
			: !strcmp(a, "--request-id") ? &o->request_id
			: !strcmp(a, "--list")	     ? &o->filter
						     : NULL;

		if (!strcmp(a, "--tokens") && i + 1 < argc) {
			o->tokens = (int)strtol(argv[++i], NULL, 10);
			continue;
		}
		if (!strcmp(a, "--sleep-ms") && i + 1 < argc) {
			o->sleep_ms = strtol(argv[++i], NULL, 10);
			continue;
		}
		if (!slot) {
			if (a[0] == '-' && a[1] == '-')
				return -1;
			o->rest = argv + i;
			o->nr_rest = argc - i;
			return 0;
		}
		if (i + 1 >= argc)
			return -1;
		*slot = argv[++i];
	}
	return 0;
}

int cmd_gcp_creds(int argc, char **argv)
{
	struct gcp_creds creds;
	struct opts o;
	char *endpoint = NULL;
	struct error err;
	int rc;

	if (parse(argc, argv, &o) || o.nr_rest) {
		fputs("usage: deploy-test-tool gcp-creds [--credentials F] "
		      "[--endpoint URL] [--tokens N] [--sleep-ms MS]\n",
		      stderr);
		return 64;
	}
	error_init(&err);
	rc = gcp_creds_load(o.credentials, &creds, &err);
	if (rc)
		return fail(&err);
	printf("source: %s\n", creds.source);
	if (creds.email)
		printf("email: %s\n", creds.email);
	if (creds.project)
		printf("project: %s\n", creds.project);
	rc = gcp_endpoint_resolve(o.endpoint, &endpoint, &err);
	if (rc) {
		gcp_creds_free(&creds);
		return fail(&err);
	}
	printf("endpoint: %s\n", endpoint);
	free(endpoint);
	for (int i = 1; i <= o.tokens; i++) {
		const char *tok;
		char label[32];

		if (i > 1 && o.sleep_ms)
			sleep_ms(o.sleep_ms);
		rc = gcp_creds_token(&creds, false, &tok, &err);
		if (rc) {
			printf("fetches: %u\n", creds.fetches);
			gcp_creds_free(&creds);
			return fail(&err);
		}
		snprintf(label, sizeof(label), "token %d", i);
		print_hash(label, tok);
	}
	printf("fetches: %u\n", creds.fetches);
	gcp_creds_free(&creds);
	return 0;
}

static int print_name(const cJSON *item, void *ud)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "name");

	(void)ud;
	printf("%s\n", cJSON_IsString(n) ? n->valuestring : "?");
	return 0;
}

int cmd_gcp_call(int argc, char **argv)
{
	struct gcp_creds creds;
	struct gcp *c = NULL;
	struct opts o;
	char *endpoint = NULL;
	char rid[37];
	cJSON *body = NULL, *out = NULL;
	struct error err;
	int rc;

	if (parse(argc, argv, &o) || o.nr_rest != 3 || !o.project) {
		fputs("usage: deploy-test-tool gcp-call [--credentials F] "
		      "[--endpoint URL] --project P [--body JSON] "
		      "[--request-id ID|new] [--list FILTER] METHOD PATH "
		      "WHAT\n",
		      stderr);
		return 64;
	}
	error_init(&err);
	rc = gcp_creds_load(o.credentials, &creds, &err);
	if (!rc)
		rc = gcp_endpoint_resolve(o.endpoint, &endpoint, &err);
	if (!rc)
		rc = gcp_open(&c, endpoint, o.project, &creds, &err);
	free(endpoint);
	if (rc) {
		gcp_creds_free(&creds);
		return fail(&err);
	}
	if (o.body) {
		body = cJSON_Parse(o.body);
		if (!body) {
			fprintf(stderr, "--body is not JSON\n");
			gcp_close(c);
			return 64;
		}
	}
	if (o.request_id && !strcmp(o.request_id, "new")) {
		gcp_uuid(rid);
		o.request_id = rid;
	}
	if (o.filter) {
		rc = gcp_list(c, o.rest[1], *o.filter ? o.filter : NULL,
			      print_name, NULL, o.rest[2], &err);
	} else if (!strcmp(o.rest[0], "GET")) {
		rc = gcp_call(c, "GET", o.rest[1], NULL, NULL, true, o.rest[2],
			      &out, &err);
		if (!rc) {
			char *s = cJSON_PrintUnformatted(out);

			printf("%s\n", s);
			cJSON_free(s);
		}
	} else {
		rc = gcp_mutate(c, o.rest[0], o.rest[1], o.request_id, body,
				o.rest[2], &err);
		if (!rc)
			printf("done\n");
	}
	printf("stats: calls=%u mutating=%u retries=%u throttled=%u "
	       "waits=%u fetches=%u\n",
	       c->stats.calls, c->stats.mutating, c->stats.retries,
	       c->stats.throttled, c->stats.waits, c->creds.fetches);
	cJSON_Delete(out);
	cJSON_Delete(body);
	gcp_close(c);
	if (rc)
		return fail(&err);
	return 0;
}
