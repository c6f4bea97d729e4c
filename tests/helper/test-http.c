/* SPDX-License-Identifier: MIT */
/* deploy-test-tool http-get: GETs through core/http, one by one or at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "util/xalloc.h"
#include "test-tool.h"

/*
 * http-get [--parallel P] URL...: each URL once, one after another with
 * http_do() or, with --parallel, all with http_do_many() (at most P in
 * flight). A line each, in the order given: "STATUS BODY-LENGTH URL" or
 * "error URL: MESSAGE". Exits 1 when any failed.
 */
int cmd_http_get(int argc, char **argv)
{
	unsigned parallel = 0;
	struct http_exchange *x;
	struct http_request *req;
	struct http_response *resp;
	size_t n;
	int i = 1, failed = 0;

	if (argc > 2 && !strcmp(argv[1], "--parallel")) {
		parallel = (unsigned)atoi(argv[2]);
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: deploy-test-tool http-get "
				"[--parallel P] URL...\n");
		return 64;
	}
	n = (size_t)(argc - i);
	x = xcalloc(n, sizeof(*x));
	req = xcalloc(n, sizeof(*req));
	resp = xcalloc(n, sizeof(*resp));
	for (size_t k = 0; k < n; k++) {
		req[k].method = "GET";
		req[k].url = argv[i + (int)k];
		req[k].timeout_ms = 20000;
		http_response_init(&resp[k]);
		x[k].req = &req[k];
		x[k].resp = &resp[k];
	}
	if (parallel) {
		http_do_many(x, n, parallel);
	} else {
		for (size_t k = 0; k < n; k++) {
			error_init(&x[k].err);
			x[k].rc = http_do(&req[k], &resp[k], &x[k].err);
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (x[k].rc) {
			printf("error %s: %s\n", req[k].url, x[k].err.msg);
			failed = 1;
		} else {
			printf("%ld %zu %s\n", resp[k].status, resp[k].body.len,
			       req[k].url);
		}
		error_clear(&x[k].err);
		http_response_free(&resp[k]);
	}
	free(x);
	free(req);
	free(resp);
	return failed;
}
