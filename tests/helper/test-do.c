/* SPDX-License-Identifier: MIT */
/* deploy-test-tool do-*: the DigitalOcean token and API client. */

/*
 * deploy-test-tool do-creds [--context C] [--block-endpoint URL]
 *   Resolves the DigitalOcean token and API address as the digitalocean
 *   provider does and prints "source: …", "token_sha256: …" (never the
 *   token) and "endpoint: …".
 *
 * deploy-test-tool do-call [--context C] [--safe] METHOD PATH [JSON]
 *   One API call through the provider's client (retries, limits): prints
 *   "status: N", the answer's JSON on one line, then the client's counters
 *   ("calls: N", "retries: N", "throttled: N", "waited_ms: N").
 *
 * deploy-test-tool do-list [--context C] [--repeat N] PATH KEY
 *   Walks every page of PATH: prints each element's "id name" (or its id
 *   alone), "items: N", then the counters. --repeat walks N times.
 *
 * The endpoint comes from DIGITALOCEAN_API_URL (or --block-endpoint).
 * A failure prints the error on stderr (with the counters on stdout) and
 * exits 1.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "providers/digitalocean/api.h"
#include "providers/digitalocean/credentials.h"
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

static void print_sha256(const char *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	printf("token_sha256: ");
	for (unsigned int i = 0; i < len; i++)
		printf("%02x", md[i]);
	printf("\n");
}

static void print_stats(const struct do_api *c)
{
	const struct do_stats *s = do_stats(c);

	printf("calls: %u\nretries: %u\nthrottled: %u\nwaited_ms: %u\n",
	       s->calls, s->retries, s->throttled, s->waited_ms);
}

/* Options common to the verbs; returns the index of the first operand or
 * -1 on a bad option. */
static int options(int argc, char **argv, const char **context,
		   const char **endpoint, bool *safe, int *repeat)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--context") && i + 1 < argc)
			*context = argv[++i];
		else if (!strcmp(argv[i], "--block-endpoint") && i + 1 < argc)
			*endpoint = argv[++i];
		else if (!strcmp(argv[i], "--safe") && safe)
			*safe = true;
		else if (!strcmp(argv[i], "--repeat") && repeat && i + 1 < argc)
			*repeat = (int)strtol(argv[++i], NULL, 10);
		else
			return -1;
	}
	return i;
}

int cmd_do_creds(int argc, char **argv)
{
	const char *context = NULL, *endpoint = NULL;
	struct do_token tok;
	struct error err;
	char *url = NULL;
	int i = options(argc, argv, &context, &endpoint, NULL, NULL);

	if (i != argc) {
		fputs("usage: deploy-test-tool do-creds [--context C] "
		      "[--block-endpoint URL]\n",
		      stderr);
		return 64;
	}
	error_init(&err);
	if (do_token_load(context, &tok, &err))
		return fail(&err);
	printf("source: %s\n", tok.source);
	print_sha256(tok.token);
	do_token_free(&tok);
	if (do_endpoint_resolve(endpoint, &url, &err))
		return fail(&err);
	printf("endpoint: %s\n", url);
	free(url);
	return 0;
}

static int open_client(const char *context, const char *endpoint,
		       struct do_api **c, struct error *err)
{
	struct do_token tok;
	char *url = NULL;
	int rc;

	rc = do_token_load(context, &tok, err);
	if (rc)
		return rc;
	rc = do_endpoint_resolve(endpoint, &url, err);
	if (!rc)
		rc = do_open(c, url, &tok, err);
	do_token_free(&tok);
	free(url);
	return rc;
}

int cmd_do_call(int argc, char **argv)
{
	const char *context = NULL, *endpoint = NULL;
	bool safe = false;
	struct do_api *c = NULL;
	cJSON *body = NULL, *out = NULL;
	struct error err;
	long status = 0;
	int i = options(argc, argv, &context, &endpoint, &safe, NULL);
	int rc;

	if (i < 0 || argc - i < 2 || argc - i > 3) {
		fputs("usage: deploy-test-tool do-call [--context C] [--safe] "
		      "METHOD PATH [JSON]\n",
		      stderr);
		return 64;
	}
	error_init(&err);
	if (argc - i == 3) {
		body = cJSON_Parse(argv[i + 2]);
		if (!body) {
			fprintf(stderr, "do-call: the body is not JSON\n");
			return 64;
		}
	}
	if (open_client(context, endpoint, &c, &err)) {
		cJSON_Delete(body);
		return fail(&err);
	}
	rc = do_call(c, argv[i], argv[i + 1], body, safe ? DO_SAFE : 0, &out,
		     &status, &err);
	printf("status: %ld\n", status);
	if (out) {
		char *s = cJSON_PrintUnformatted(out);

		printf("%s\n", s);
		free(s);
	}
	print_stats(c);
	if (rc)
		printf("error_id: %s\n", do_error_id(c));
	cJSON_Delete(out);
	cJSON_Delete(body);
	do_close(c);
	return rc ? fail(&err) : 0;
}

static int print_item(const cJSON *item, void *ud)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
	size_t *n = ud;

	(*n)++;
	if (cJSON_IsNumber(id))
		printf("%.0f", id->valuedouble);
	else if (cJSON_IsString(id))
		printf("%s", id->valuestring);
	if (cJSON_IsString(name))
		printf(" %s", name->valuestring);
	printf("\n");
	return 0;
}

int cmd_do_list(int argc, char **argv)
{
	const char *context = NULL, *endpoint = NULL;
	struct do_api *c = NULL;
	struct error err;
	size_t n = 0;
	int repeat = 1;
	int i = options(argc, argv, &context, &endpoint, NULL, &repeat);
	int rc = 0;

	if (i < 0 || argc - i != 2) {
		fputs("usage: deploy-test-tool do-list [--context C] "
		      "[--repeat N] PATH KEY\n",
		      stderr);
		return 64;
	}
	error_init(&err);
	if (open_client(context, endpoint, &c, &err))
		return fail(&err);
	for (int k = 0; k < repeat && !rc; k++)
		rc = do_list(c, argv[i], argv[i + 1], print_item, &n, &err);
	printf("items: %zu\n", n);
	print_stats(c);
	do_close(c);
	return rc ? fail(&err) : 0;
}
