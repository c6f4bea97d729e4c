/* SPDX-License-Identifier: MIT */
/* deploy's own apt proxy for local hosts: an HTTP forward proxy (proxy.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "providers/local/proxy.h"
#include "util/file.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CONNECT_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS	   60000       /* no byte either way for this long */
#define MAX_BYTES	   (2LL << 30) /* through one connection */
#define MAX_HEADERS	   100
#define RELAY_BUF	   65536

/* Request parsing */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/* A request target or method: visible ASCII, no space. */
static bool is_visible(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return n > 0;
}

/* "host[:port]" (no userinfo, no IPv6 literal) into req; port defaults to
 * def. 0 or 400. */
static int parse_authority(const char *s, size_t n, int def,
			   struct proxy_request *req, const char **why)
{
	size_t hl = 0;
	long port = def;

	while (hl < n && s[hl] != ':')
		hl++;
	if (hl == 0 || hl >= sizeof(req->host)) {
		*why = "no host, or a host name too long";
		return 400;
	}
	for (size_t i = 0; i < hl; i++)
		req->host[i] = (char)tolower((unsigned char)s[i]);
	req->host[hl] = '\0';
	if (req->host[hl - 1] == '.')
		req->host[hl - 1] = '\0';
	if (!is_dns_name(req->host)) {
		*why = "the host is not a host name";
		return 400;
	}
	if (hl < n) {
		char digits[8];
		size_t dl = n - hl - 1;

		if (dl == 0 || dl > 5) {
			*why = "bad port";
			return 400;
		}
		for (size_t i = 0; i < dl; i++) {
			if (s[hl + 1 + i] < '0' || s[hl + 1 + i] > '9') {
				*why = "bad port";
				return 400;
			}
			digits[i] = s[hl + 1 + i];
		}
		digits[dl] = '\0';
		port = strtol(digits, NULL, 10);
		if (port < 1 || port > 65535) {
			*why = "bad port";
			return 400;
		}
	}
	req->port = (int)port;
	return 0;
}

/* Headers a proxy does not pass on (hop-by-hop), and Host, which the
 * absolute URI gives. */
static bool dropped_header(const char *name, size_t n)
{
	static const char *const drop[] = { "connection",
					    "proxy-connection",
					    "keep-alive",
					    "proxy-authorization",
					    "proxy-authenticate",
					    "te",
					    "trailer",
					    "upgrade",
					    "host",
					    NULL };

	for (size_t i = 0; drop[i]; i++)
		if (strlen(drop[i]) == n && !strncasecmp(drop[i], name, n))
			return true;
	return false;
}

/* The header lines in [s, end): each checked, the kept ones appended to
 * out (when not NULL). 0 or 400. */
static int parse_headers(const char *s, const char *end, struct buf *out,
			 const char **why)
{
	int count = 0;

	while (s < end) {
		const char *eol = s, *colon;
		size_t nl;

		while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
			eol++;
		if (eol + 1 >= end) {
			*why = "a header line without CRLF";
			return 400;
		}
		colon = memchr(s, ':', (size_t)(eol - s));
		nl = colon ? (size_t)(colon - s) : 0;
		if (!colon || nl == 0 || ++count > MAX_HEADERS) {
			*why = "bad header line";
			return 400;
		}
		for (size_t i = 0; i < nl; i++)
			if (!is_tchar((unsigned char)s[i])) {
				*why = "bad header name";
				return 400;
			}
		for (const char *v = colon + 1; v < eol; v++)
			if ((unsigned char)*v < 0x20 && *v != '\t') {
				*why = "bad header value";
				return 400;
			}
		if ((nl == 17 && !strncasecmp(s, "transfer-encoding", nl)) ||
		    (nl == 14 && !strncasecmp(s, "content-length", nl) &&
		     strspn(colon + 1, " \t0") < (size_t)(eol - colon - 1))) {
			*why = "a request with a body";
			return 400;
		}
		if (out && !dropped_header(s, nl)) {
			buf_add(out, s, (size_t)(eol - s));
			buf_adds(out, "\r\n");
		}
		s = eol + 2;
	}
	return 0;
}

static int parse_method(const char *s, size_t n, struct proxy_request *req)
{
	if (n == 3 && !memcmp(s, "GET", 3))
		req->method = PROXY_GET;
	else if (n == 4 && !memcmp(s, "HEAD", 4))
		req->method = PROXY_HEAD;
	else if (n == 7 && !memcmp(s, "CONNECT", 7))
		req->method = PROXY_CONNECT;
	else
		return 405;
	return 0;
}

/* An absolute http:// URI: the authority into req, the path (and query)
 * appended to out. 0 or an HTTP status. */
static int parse_absolute(const char *t, size_t n, struct proxy_request *req,
			  struct buf *out, const char **why)
{
	size_t a = 0;
	int rc;

	if (n < 7 || strncasecmp(t, "http://", 7)) {
		*why = "only absolute http:// URIs (and CONNECT for https)";
		return 400;
	}
	t += 7;
	n -= 7;
	while (a < n && t[a] != '/' && t[a] != '?' && t[a] != '#')
		a++;
	rc = parse_authority(t, a, 80, req, why);
	if (rc)
		return rc;
	if (req->port != 80) {
		*why = "only port 80 for http";
		return 403;
	}
	if (a == n || t[a] != '/')
		buf_addch(out, '/');
	/* A fragment is not sent. */
	for (size_t i = a; i < n && t[i] != '#'; i++)
		buf_addch(out, t[i]);
	return 0;
}

int proxy_parse_request(const char *data, size_t len, struct proxy_request *req,
			const char **why)
{
	const char *end = NULL, *line_end = NULL, *sp1, *sp2;
	size_t scan = len < PROXY_HEAD_MAX ? len : PROXY_HEAD_MAX;
	struct buf path = BUF_INIT;
	int rc;

	memset(req, 0, sizeof(*req));
	req->upstream = (struct buf)BUF_INIT;
	*why = "";
	/* The request line ends at the first CRLF, the head at CRLF CRLF. */
	for (size_t i = 0; i + 4 <= scan && !end; i++) {
		if (!line_end && !memcmp(data + i, "\r\n", 2))
			line_end = data + i;
		if (!memcmp(data + i, "\r\n\r\n", 4))
			end = data + i + 2; /* the last header line's CRLF */
	}
	if (!end) {
		if (len < PROXY_HEAD_MAX)
			return PROXY_INCOMPLETE;
		*why = "request head too large";
		return 431;
	}
	if (memchr(data, '\0', (size_t)(end - data))) {
		*why = "a NUL byte in the request";
		return 400;
	}
	sp1 = memchr(data, ' ', (size_t)(line_end - data));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
	if (!sp2 || !is_visible(data, (size_t)(sp1 - data)) ||
	    !is_visible(sp1 + 1, (size_t)(sp2 - sp1 - 1)) ||
	    (line_end - sp2 - 1 != 8) ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) &&
	     memcmp(sp2 + 1, "HTTP/1.0", 8))) {
		*why = "bad request line";
		return 400;
	}
	if (parse_method(data, (size_t)(sp1 - data), req)) {
		*why = "only GET, HEAD and CONNECT";
		return 405;
	}
	if (req->method == PROXY_CONNECT) {
		rc = parse_authority(sp1 + 1, (size_t)(sp2 - sp1 - 1), 0, req,
				     why);
		if (!rc && req->port != 443) {
			*why = "CONNECT only to port 443";
			rc = 403;
		}
		if (!rc)
			rc = parse_headers(line_end + 2, end, NULL, why);
	} else {
		rc = parse_absolute(sp1 + 1, (size_t)(sp2 - sp1 - 1), req,
				    &path, why);
		if (!rc) {
			buf_addf(&req->upstream,
				 "%s %s HTTP/1.1\r\nHost: %s\r\n",
				 req->method == PROXY_GET ? "GET" : "HEAD",
				 path.data, req->host);
			rc = parse_headers(line_end + 2, end, &req->upstream,
					   why);
			buf_adds(&req->upstream, "Connection: close\r\n\r\n");
		}
	}
	buf_free(&path);
	if (rc) {
		buf_free(&req->upstream);
		return rc;
	}
	req->head_len = (size_t)(end - data) + 2;
	return 0;
}

bool proxy_host_allowed(const char *const *allow, size_t nr, const char *host)
{
	size_t hl = strlen(host);

	if (hl && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < nr; i++) {
		size_t al = strlen(allow[i]);

		if (al && allow[i][al - 1] == '.')
			al--;
		if (al == hl && hl && !strncasecmp(allow[i], host, hl))
			return true;
	}
	return false;
}

static uint32_t mask_of(int prefix)
{
	return prefix <= 0    ? 0
	       : prefix >= 32 ? 0xffffffffu
			      : ~0u << (32 - prefix);
}

bool proxy_client_allowed(uint32_t addr, uint32_t net, int prefix,
			  uint32_t listen)
{
	uint32_t m = mask_of(prefix), a = ntohl(addr), n = ntohl(net);

	if ((a & m) != (n & m) || addr == listen)
		return false;
	/* Not the network's own address or its broadcast (below /31). */
	return prefix >= 31 || ((a & ~m) != 0 && (a & ~m) != ~m);
}

/* The server */

struct slot {
	bool used, done;
	pthread_t thread;
	int client, upstream; /* -1 when closed */
	struct local_proxy *p;
};

struct local_proxy {
	int listen_fd;
	int stop_pipe[2]; /* readable once stopping: every poll watches it */
	uint32_t listen_addr, net;
	int prefix;
	char **allow;
	size_t nr_allow;
	pthread_t acceptor;
	pthread_mutex_t mu;
	struct slot slots[PROXY_MAX_CONNS];
};

/* Wait for ev on fd, or stop; 1 ready, 0 timed out or stopping. */
static int wait_fd(struct local_proxy *p, int fd, short ev, int timeout_ms)
{
	struct pollfd pf[2] = { { fd, ev, 0 }, { p->stop_pipe[0], POLLIN, 0 } };
	int n;

	do
		n = poll(pf, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || pf[1].revents)
		return 0;
	return 1;
}

static int send_all(struct local_proxy *p, int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_fd(p, fd, POLLOUT, IDLE_TIMEOUT_MS))
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *reason_of(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

static void answer(struct local_proxy *p, int fd, int status, const char *why)
{
	struct buf b = BUF_INIT;

	buf_addf(&b,
		 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n"
		 "deploy apt proxy: %s\n",
		 status, reason_of(status), strlen(why) + 19, why);
	send_all(p, fd, b.data, b.len);
	buf_free(&b);
}

/* Addresses the proxy never connects to, whatever a name resolves to. */
static bool address_refused(const struct local_proxy *p,
			    const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		uint32_t h = ntohl(a), m = mask_of(p->prefix);

		return (h >> 24) == 0 || (h >> 24) == 127 ||
		       (h >> 16) == 0xa9fe || (h >> 28) == 0xe ||
		       (h & m) == (ntohl(p->net) & m);
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
		       IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_V4MAPPED(a) ||
		       IN6_IS_ADDR_MULTICAST(a);
	}
	return true;
}

/* One of the host's addresses; the socket, or -1 with *status set. */
static int try_connect(struct local_proxy *p, const struct addrinfo *ai,
		       int *status)
{
	int fd, e = 0;
	socklen_t el = sizeof(e);

	if (address_refused(p, ai->ai_addr)) {
		*status = 403;
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -1;
	if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
		return fd;
	if (errno == EINPROGRESS) {
		if (!wait_fd(p, fd, POLLOUT, CONNECT_TIMEOUT_MS))
			*status = 504;
		else if (!getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) && !e)
			return fd;
	}
	close(fd);
	return -1;
}

/*
 * Connect to the request's host; the socket, or -1 with *status set. Its
 * IPv4 addresses first: a machine with IPv6 addresses but no route out
 * over IPv6 would make every request wait for the connect timeout.
 */
static int connect_upstream(struct local_proxy *p,
			    const struct proxy_request *req, int *status)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char port[8];
	int fd = -1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", req->port);
	*status = 502;
	if (getaddrinfo(req->host, port, &hints, &res))
		return -1;
	for (int pass = 0; pass < 2 && fd < 0; pass++)
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
			if ((ai->ai_family == AF_INET) == (pass == 0))
				fd = try_connect(p, ai, status);
	freeaddrinfo(res);
	return fd;
}

/*
 * Copy bytes between the client and the host until either ends, a wait
 * passes IDLE_TIMEOUT_MS, MAX_BYTES have passed, or the proxy stops. With
 * tunnel false (GET, HEAD) the client's bytes are read and dropped: a
 * second request on the connection never reaches the host unchecked.
 */
static void relay(struct local_proxy *p, int c, int u, bool tunnel,
		  const char *pending, size_t npending)
{
	char *cu = xmalloc(RELAY_BUF), *uc = xmalloc(RELAY_BUF);
	size_t ncu = 0, nuc = 0;
	long long total = 0;
	bool c_eof = false, u_eof = false;

	if (tunnel && npending) {
		memcpy(cu, pending, npending);
		ncu = npending;
	}
	while (total < MAX_BYTES) {
		struct pollfd pf[3] = { { c, 0, 0 },
					{ u, 0, 0 },
					{ p->stop_pipe[0], POLLIN, 0 } };
		int n;

		if ((c_eof && !nuc) || (u_eof && !ncu && !nuc) ||
		    (c_eof && !tunnel))
			break;
		if (!c_eof && !ncu)
			pf[0].events |= POLLIN;
		if (nuc)
			pf[0].events |= POLLOUT;
		if (!u_eof && !nuc)
			pf[1].events |= POLLIN;
		if (ncu)
			pf[1].events |= POLLOUT;
		n = poll(pf, 3, IDLE_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || pf[2].revents)
			break;
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR) && !c_eof &&
		    !ncu) {
			ssize_t r = recv(c, cu, RELAY_BUF, MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN))
				c_eof = true;
			else if (r > 0 && tunnel)
				ncu = (size_t)r;
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR) && !u_eof &&
		    !nuc) {
			ssize_t r = recv(u, uc, RELAY_BUF, MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN))
				u_eof = true;
			else if (r > 0)
				nuc = (size_t)r;
		}
		if (nuc && pf[0].revents & POLLOUT) {
			if (send_all(p, c, uc, nuc))
				break;
			total += (long long)nuc;
			nuc = 0;
		}
		if (ncu && pf[1].revents & POLLOUT) {
			if (send_all(p, u, cu, ncu))
				break;
			total += (long long)ncu;
			ncu = 0;
		}
	}
	free(cu);
	free(uc);
}

/* Read the request's head; 0 with *req, or the status answered. */
static int read_request(struct local_proxy *p, int fd, struct buf *in,
			struct proxy_request *req)
{
	const char *why = "";
	long long deadline = now_ms() + IDLE_TIMEOUT_MS;

	for (;;) {
		char chunk[4096];
		ssize_t r;
		int rc;

		rc = proxy_parse_request(in->data, in->len, req, &why);
		if (rc != PROXY_INCOMPLETE) {
			if (rc)
				answer(p, fd, rc, why);
			return rc;
		}
		if (!wait_fd(p, fd, POLLIN, (int)(deadline - now_ms())))
			return 408;
		r = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return 400;
		/* Never more than the parser looks at, plus a chunk. */
		if (in->len < PROXY_HEAD_MAX)
			buf_add(in, chunk, (size_t)r);
	}
}

static void set_upstream(struct slot *s, int fd)
{
	pthread_mutex_lock(&s->p->mu);
	s->upstream = fd;
	pthread_mutex_unlock(&s->p->mu);
}

static void serve(struct slot *s)
{
	struct local_proxy *p = s->p;
	struct proxy_request req;
	struct buf in = BUF_INIT;
	int status, u;

	if (read_request(p, s->client, &in, &req))
		goto out;
	if (!proxy_host_allowed((const char *const *)p->allow, p->nr_allow,
				req.host)) {
		answer(p, s->client, 403,
		       "the host is not on the allowlist "
		       "(providers.local.apt_proxy_allow)");
		goto out_req;
	}
	u = connect_upstream(p, &req, &status);
	if (u < 0) {
		answer(p, s->client, status,
		       status == 403 ? "the host resolves to a local address"
				     : "cannot connect to the host");
		goto out_req;
	}
	set_upstream(s, u);
	if (req.method == PROXY_CONNECT) {
		static const char ok[] =
			"HTTP/1.1 200 Connection established\r\n\r\n";

		if (!send_all(p, s->client, ok, sizeof(ok) - 1))
			relay(p, s->client, u, true, in.data + req.head_len,
			      in.len - req.head_len);
	} else if (!send_all(p, u, req.upstream.data, req.upstream.len)) {
		relay(p, s->client, u, false, NULL, 0);
	}
out_req:
	buf_free(&req.upstream);
out:
	buf_free(&in);
}

static void *conn_main(void *arg)
{
	struct slot *s = arg;

	serve(s);
	pthread_mutex_lock(&s->p->mu);
	if (s->upstream >= 0)
		close(s->upstream);
	close(s->client);
	s->upstream = s->client = -1;
	s->done = true;
	pthread_mutex_unlock(&s->p->mu);
	return NULL;
}

/* Join the connections that ended; a free slot, or NULL. */
static struct slot *free_slot(struct local_proxy *p)
{
	struct slot *free_one = NULL;

	for (size_t i = 0; i < PROXY_MAX_CONNS; i++) {
		struct slot *s = &p->slots[i];
		bool done;

		pthread_mutex_lock(&p->mu);
		done = s->used && s->done;
		pthread_mutex_unlock(&p->mu);
		if (done) {
			pthread_join(s->thread, NULL);
			s->used = false;
		}
		if (!s->used && !free_one)
			free_one = s;
	}
	return free_one;
}

static void accept_one(struct local_proxy *p)
{
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	struct slot *s;
	int fd = accept4(p->listen_fd, (struct sockaddr *)&peer, &pl,
			 SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (peer.sin_family != AF_INET ||
	    !proxy_client_allowed(peer.sin_addr.s_addr, p->net, p->prefix,
				  p->listen_addr)) {
		close(fd);
		return;
	}
	s = free_slot(p);
	if (!s) {
		answer(p, fd, 503, "too many connections");
		close(fd);
		return;
	}
	s->used = true;
	s->done = false;
	s->client = fd;
	s->upstream = -1;
	s->p = p;
	if (pthread_create(&s->thread, NULL, conn_main, s)) {
		s->used = false;
		close(fd);
	}
}

static void *accept_main(void *arg)
{
	struct local_proxy *p = arg;

	while (wait_fd(p, p->listen_fd, POLLIN, -1))
		accept_one(p);
	return NULL;
}

static void proxy_free(struct local_proxy *p)
{
	for (size_t i = 0; i < p->nr_allow; i++)
		free(p->allow[i]);
	free(p->allow);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	for (int i = 0; i < 2; i++)
		if (p->stop_pipe[i] >= 0)
			close(p->stop_pipe[i]);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int listen_on(struct local_proxy *p, const struct local_proxy_config *c,
		     struct error *err)
{
	struct sockaddr_in sa = { 0 };
	int one = 1;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)c->port);
	sa.sin_addr.s_addr = p->listen_addr;
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->listen_fd < 0)
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "apt proxy: socket: %s", strerror(errno));
	setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		if (e == EADDRNOTAVAIL)
			return error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
					 "apt proxy: no interface has '%s'",
					 c->listen);
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "apt proxy: cannot listen on %s:%d: %s "
				 "(set providers.local.apt_proxy to a proxy "
				 "of your own, or to none)",
				 c->listen, c->port, strerror(e));
	}
	if (listen(p->listen_fd, 64))
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "apt proxy: listen: %s", strerror(errno));
	return 0;
}

int local_proxy_start(const struct local_proxy_config *c,
		      struct local_proxy **out, struct error *err)
{
	struct local_proxy *p = xcalloc(1, sizeof(*p));
	struct cidr net;
	const char *why;
	sigset_t all, old;
	int rc;

	*out = NULL;
	p->listen_fd = -1;
	p->stop_pipe[0] = p->stop_pipe[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	if (inet_pton(AF_INET, c->listen, &p->listen_addr) != 1 ||
	    cidr_parse(c->subnet, &net, &why) || net.family != AF_INET) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "apt proxy: '%s' in '%s' is not IPv4", c->listen,
			       c->subnet);
		goto fail;
	}
	memcpy(&p->net, net.addr, 4);
	p->prefix = net.prefix;
	p->allow = xcalloc(c->nr_allow + 1, sizeof(*p->allow));
	for (size_t i = 0; i < c->nr_allow; i++)
		p->allow[p->nr_allow++] = xstrdup(c->allow[i]);
	rc = listen_on(p, c, err);
	if (rc)
		goto fail;
	if (pipe2(p->stop_pipe, O_CLOEXEC)) {
		rc = error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
			       "apt proxy: pipe: %s", strerror(errno));
		goto fail;
	}
	/* Signals go to the other threads: SIGINT must reach up's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->acceptor, NULL, accept_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		rc = error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
			       "apt proxy: cannot start its thread: %s",
			       strerror(rc));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	proxy_free(p);
	return rc;
}

void local_proxy_stop(struct local_proxy *p)
{
	char c = 0;
	ssize_t w;

	if (!p)
		return;
	/* Every poll of every thread watches the pipe's read end. */
	do
		w = write(p->stop_pipe[1], &c, 1);
	while (w < 0 && errno == EINTR);
	pthread_join(p->acceptor, NULL);
	/* Nothing listens from here on. */
	close(p->listen_fd);
	p->listen_fd = -1;
	for (size_t i = 0; i < PROXY_MAX_CONNS; i++)
		if (p->slots[i].used)
			pthread_join(p->slots[i].thread, NULL);
	proxy_free(p);
}
