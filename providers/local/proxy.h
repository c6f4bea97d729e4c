/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_LOCAL_PROXY_H
#define DEPLOY_LOCAL_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * deploy's own apt proxy for local hosts: a small HTTP forward proxy that
 * `deploy up` runs on the bridge's address while it configures the hosts,
 * so that their apt reaches Debian's mirror while they keep no route out.
 *
 * It takes absolute-URI GET and HEAD (http, port 80) and CONNECT (port
 * 443), only from the subnet's hosts, only to the host names on its
 * allowlist, and answers anything else with an HTTP error. One request per
 * client connection (the answer ends it: apt reconnects). Each connection
 * has its own thread, at most PROXY_MAX_CONNS at once, every wait bounded;
 * it logs nothing (a URL can carry a token).
 */

#define LOCAL_PROXY_PORT 8642
#define PROXY_HEAD_MAX	 16384 /* a request's line and headers */
#define PROXY_MAX_CONNS	 64
#define PROXY_INCOMPLETE (-1)

enum proxy_method {
	PROXY_GET,
	PROXY_HEAD,
	PROXY_CONNECT
};

struct proxy_request {
	enum proxy_method method;
	char host[254]; /* lower case, no trailing dot */
	int port;
	size_t head_len; /* bytes of the input the request's head took */
	/* GET and HEAD: the request to send to the host (origin form,
	 * hop-by-hop headers left out, Connection: close). */
	struct buf upstream;
};

/*
 * Parse the head of a client's request in data[0..len). Returns 0 with
 * *req filled (the caller frees req->upstream with buf_free()),
 * PROXY_INCOMPLETE when the head does not end within len yet, or the HTTP
 * status to answer with (400, 405, 403 for a port other than 80 and 443,
 * 431 for a head longer than PROXY_HEAD_MAX) and *why a reason for it.
 */
int proxy_parse_request(const char *data, size_t len, struct proxy_request *req,
			const char **why);

/* Whether host (as parsed: lower case) is one of allow[0..nr), compared
 * without case and without a trailing dot. */
bool proxy_host_allowed(const char *const *allow, size_t nr, const char *host);

/* Whether a client at addr (IPv4, network order) may use the proxy: a host
 * of net/prefix, not the network, broadcast or the bridge's (listen)
 * address. */
bool proxy_client_allowed(uint32_t addr, uint32_t net, int prefix,
			  uint32_t listen);

struct local_proxy_config {
	const char *listen; /* the bridge's IPv4 address */
	int port;
	const char *subnet; /* clients come from here: 10.231.0.0/24 */
	const char *const *allow;
	size_t nr_allow;
};

struct local_proxy;

/*
 * Listen on listen:port and serve on a thread of its own until
 * local_proxy_stop(). DEPLOY_ERR_NOT_FOUND when the address is not this
 * machine's (no bridge: no local host is up); the socket is close-on-exec,
 * so no child keeps it, and the kernel closes it when deploy ends however
 * it ends.
 */
int local_proxy_start(const struct local_proxy_config *c,
		      struct local_proxy **out, struct error *err);

/* Stop listening, end every connection, wait for the threads and free.
 * NULL is fine. */
void local_proxy_stop(struct local_proxy *p);

#endif
