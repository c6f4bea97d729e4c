/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a client's request head through the apt proxy's parser. */

/*
 * Any bytes as what a local host sends deploy's apt proxy. A request the
 * parser takes must name a lower-case host name, port 80 for GET and HEAD
 * and 443 for CONNECT, end within the bytes given and the head cap, and
 * give an upstream request of one head (one blank line, at its end, no NUL,
 * no bare CR or LF) that names the same host; any prefix of its head is
 * incomplete. A refusal always says why. Nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/local/proxy.h"
#include "util/strutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_upstream(const struct proxy_request *req)
{
	const char *u = req->upstream.data;
	size_t n = req->upstream.len;
	char host[300];

	if (n < 4 || memcmp(u + n - 4, "\r\n\r\n", 4) || memchr(u, '\0', n))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (u[i] == '\r' && (i + 1 == n || u[i + 1] != '\n'))
			abort();
		if (u[i] == '\n' && (i == 0 || u[i - 1] != '\r'))
			abort();
		if (i + 4 < n && !memcmp(u + i, "\r\n\r\n", 4))
			abort();
	}
	snprintf(host, sizeof(host), "\r\nHost: %s\r\n", req->host);
	if (!strstr(u, host) || !strstr(u, "\r\nConnection: close\r\n\r\n"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *why = NULL;
	struct proxy_request req, again;
	int rc = proxy_parse_request(in, size, &req, &why);

	if (rc == PROXY_INCOMPLETE)
		return 0;
	if (rc) {
		if (rc < 400 || rc > 499 || !why || !*why)
			abort();
		return 0;
	}
	if (req.head_len > size || req.head_len > PROXY_HEAD_MAX ||
	    !is_dns_name(req.host))
		abort();
	for (const char *h = req.host; *h; h++)
		if (*h >= 'A' && *h <= 'Z')
			abort();
	if (req.method == PROXY_CONNECT) {
		if (req.port != 443 || req.upstream.len)
			abort();
	} else {
		if (req.port != 80)
			abort();
		check_upstream(&req);
	}
	if (proxy_parse_request(in, req.head_len - 1, &again, &why) !=
	    PROXY_INCOMPLETE)
		abort();
	buf_free(&req.upstream);
	return 0;
}
