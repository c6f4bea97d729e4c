/* SPDX-License-Identifier: MIT */
/* providers/local/proxy: request parsing, the allowlist, the clients let in,
 * and a proxy on loopback answering and stopping. */
#include "cmocka-setup.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "providers/local/proxy.h"
#include "util/error.h"

static int parse(const char *text, struct proxy_request *req, const char **why)
{
	return proxy_parse_request(text, strlen(text), req, why);
}

static void
test_get_becomes_origin_form_without_hop_by_hop_headers(void **state)
{
	struct proxy_request req;
	const char *why;
	const char *in =
		"GET http://Deb.Debian.org./debian/dists/bookworm/InRelease "
		"HTTP/1.1\r\n"
		"Host: deb.debian.org\r\n"
		"Cache-Control: max-age=0\r\n"
		"Proxy-Authorization: Basic c2VjcmV0\r\n"
		"Proxy-Connection: keep-alive\r\n"
		"Connection: keep-alive\r\n"
		"User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n"
		"\r\n"
		"GET http://other.example/ HTTP/1.1\r\n\r\n";

	(void)state;
	assert_int_equal(parse(in, &req, &why), 0);
	assert_int_equal(req.method, PROXY_GET);
	assert_string_equal(req.host, "deb.debian.org");
	assert_int_equal(req.port, 80);
	assert_int_equal(req.head_len, strstr(in, "\r\n\r\n") + 4 - in);
	assert_string_equal(req.upstream.data,
			    "GET /debian/dists/bookworm/InRelease HTTP/1.1\r\n"
			    "Host: deb.debian.org\r\n"
			    "Cache-Control: max-age=0\r\n"
			    "User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n"
			    "Connection: close\r\n\r\n");
	buf_free(&req.upstream);
}

static void test_head_and_query_and_empty_path(void **state)
{
	struct proxy_request req;
	const char *why;

	(void)state;
	assert_int_equal(parse("HEAD http://deb.debian.org:80?x=1#frag "
			       "HTTP/1.0\r\n\r\n",
			       &req, &why),
			 0);
	assert_int_equal(req.method, PROXY_HEAD);
	assert_string_equal(req.upstream.data,
			    "HEAD /?x=1 HTTP/1.1\r\nHost: deb.debian.org\r\n"
			    "Connection: close\r\n\r\n");
	buf_free(&req.upstream);
}

static void test_connect_takes_host_and_port_443_only(void **state)
{
	struct proxy_request req;
	const char *why;

	(void)state;
	assert_int_equal(parse("CONNECT security.debian.org:443 HTTP/1.1\r\n"
			       "Host: security.debian.org:443\r\n\r\nTLS...",
			       &req, &why),
			 0);
	assert_int_equal(req.method, PROXY_CONNECT);
	assert_string_equal(req.host, "security.debian.org");
	assert_int_equal(req.port, 443);
	assert_int_equal(req.upstream.len, 0);
	assert_int_equal(
		parse("CONNECT deb.debian.org:22 HTTP/1.1\r\n\r\n", &req, &why),
		403);
	assert_int_equal(
		parse("CONNECT deb.debian.org HTTP/1.1\r\n\r\n", &req, &why),
		403);
	assert_int_equal(
		parse("GET http://deb.debian.org:8080/ HTTP/1.1\r\n\r\n", &req,
		      &why),
		403);
}

static void test_incomplete_and_too_large(void **state)
{
	struct proxy_request req;
	const char *why;
	char big[PROXY_HEAD_MAX + 10];

	(void)state;
	assert_int_equal(
		parse("GET http://deb.debian.org/ HTTP/1.1\r\n", &req, &why),
		PROXY_INCOMPLETE);
	assert_int_equal(parse("", &req, &why), PROXY_INCOMPLETE);
	memset(big, 'a', sizeof(big));
	assert_int_equal(proxy_parse_request(big, sizeof(big), &req, &why),
			 431);
}

static void test_refuses_what_it_does_not_forward(void **state)
{
	static const struct {
		const char *in;
		int status;
	} cases[] = {
		{ "POST http://deb.debian.org/ HTTP/1.1\r\n\r\n", 405 },
		{ "get http://deb.debian.org/ HTTP/1.1\r\n\r\n", 405 },
		{ "GET /debian/ HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n",
		  400 },
		{ "GET https://deb.debian.org/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://user:pw@deb.debian.org/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://[::1]/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://deb.debian.org/ HTTP/2.0\r\n\r\n", 400 },
		{ "GET http://deb.debian.org/ HTTP/1.1 x\r\n\r\n", 400 },
		{ "GET  http://deb.debian.org/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://deb.debian.org/ HTTP/1.1\r\nBad Name: x\r\n\r\n",
		  400 },
		{ "GET http://deb.debian.org/ HTTP/1.1\r\n folded\r\n\r\n",
		  400 },
		{ "GET http://deb.debian.org/ HTTP/1.1\r\nNoColon\r\n\r\n",
		  400 },
		{ "GET http://deb.debian.org/ HTTP/1.1\r\n"
		  "Content-Length: 5\r\n\r\n",
		  400 },
		{ "GET http://deb.debian.org/ HTTP/1.1\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  400 },
		{ "GET http://deb.debian.org/ HTTP/1.1\r\nX: a\rb\r\n\r\n",
		  400 },
		{ "GET http://deb.debian.org:0/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://deb.debian.org:99999/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://-bad.example/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a..b/ HTTP/1.1\r\n\r\n", 400 },
	};
	struct proxy_request req;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].in, &req, &why);

		if (rc != cases[i].status)
			fail_msg("%s: %d, not %d", cases[i].in, rc,
				 cases[i].status);
		assert_true(*why);
	}
	/* A NUL inside the head. */
	assert_int_equal(proxy_parse_request("GET http://a/\0 HTTP/1.1\r\n\r\n",
					     27, &req, &why),
			 400);
	/* A zero length body is no body. */
	assert_int_equal(parse("GET http://deb.debian.org/ HTTP/1.1\r\n"
			       "Content-Length: 0\r\n\r\n",
			       &req, &why),
			 0);
	buf_free(&req.upstream);
}

static void test_allowlist_is_exact_without_case_or_trailing_dot(void **state)
{
	const char *const allow[] = { "deb.debian.org",
				      "Security.Debian.Org." };

	(void)state;
	assert_true(proxy_host_allowed(allow, 2, "deb.debian.org"));
	assert_true(proxy_host_allowed(allow, 2, "deb.debian.org."));
	assert_true(proxy_host_allowed(allow, 2, "security.debian.org"));
	assert_false(proxy_host_allowed(allow, 2, "debian.org"));
	assert_false(proxy_host_allowed(allow, 2, "evil.deb.debian.org"));
	assert_false(proxy_host_allowed(allow, 2, "deb.debian.org.evil"));
	assert_false(proxy_host_allowed(allow, 2, ""));
	assert_false(proxy_host_allowed(allow, 0, "deb.debian.org"));
}

static uint32_t ip(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void test_clients_are_the_subnets_hosts(void **state)
{
	uint32_t net = ip("10.231.0.0"), bridge = ip("10.231.0.1");

	(void)state;
	assert_true(proxy_client_allowed(ip("10.231.0.2"), net, 24, bridge));
	assert_true(proxy_client_allowed(ip("10.231.0.254"), net, 24, bridge));
	assert_false(proxy_client_allowed(bridge, net, 24, bridge));
	assert_false(proxy_client_allowed(ip("10.231.0.0"), net, 24, bridge));
	assert_false(proxy_client_allowed(ip("10.231.0.255"), net, 24, bridge));
	assert_false(proxy_client_allowed(ip("10.231.1.2"), net, 24, bridge));
	assert_false(proxy_client_allowed(ip("127.0.0.1"), net, 24, bridge));
	assert_true(proxy_client_allowed(ip("10.0.5.9"), ip("10.0.0.0"), 16,
					 ip("10.0.0.1")));
}

/* A connection to 127.0.0.1:port from the source address from. */
static int dial(const char *from, int port)
{
	struct sockaddr_in src = { 0 }, dst = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = ip(from);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = ip("127.0.0.1");
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send req, read the answer until the proxy closes. */
static void exchange(int fd, const char *req, char *out, size_t size)
{
	size_t n = 0;
	ssize_t r;

	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	while (n + 1 < size && (r = recv(fd, out + n, size - n - 1, 0)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
}

/* A free port on 127.0.0.1, found by binding to port 0. */
static int free_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = ip("127.0.0.1");
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void test_a_proxy_on_loopback_refuses_and_stops(void **state)
{
	const char *const allow[] = { "deb.debian.org" };
	struct local_proxy_config c = { .listen = "127.0.0.1",
					.subnet = "127.0.0.0/8",
					.allow = allow,
					.nr_allow = 1 };
	struct local_proxy *p = NULL;
	struct error err;
	char out[4096];
	int fd;

	(void)state;
	error_init(&err);
	c.port = free_port();
	assert_int_equal(local_proxy_start(&c, &p, &err), 0);

	/* Not on the allowlist: 403, and nothing is looked up. */
	fd = dial("127.0.0.2", c.port);
	assert_true(fd >= 0);
	exchange(fd, "GET http://example.org/ HTTP/1.1\r\n\r\n", out,
		 sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 403 Forbidden\r\n"));
	assert_non_null(strstr(out, "not on the allowlist"));

	fd = dial("127.0.0.3", c.port);
	exchange(fd, "CONNECT example.org:443 HTTP/1.1\r\n\r\n", out,
		 sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 403 Forbidden\r\n"));

	fd = dial("127.0.0.2", c.port);
	exchange(fd, "DELETE http://deb.debian.org/ HTTP/1.1\r\n\r\n", out,
		 sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 405 "));

	/* The listening address itself is not a client: closed unanswered. */
	fd = dial("127.0.0.1", c.port);
	exchange(fd, "GET http://deb.debian.org/ HTTP/1.1\r\n\r\n", out,
		 sizeof(out));
	assert_string_equal(out, "");

	/* A client that says nothing keeps no thread once stopped. */
	fd = dial("127.0.0.2", c.port);
	assert_true(fd >= 0);
	local_proxy_stop(p);
	close(fd);
	assert_int_equal(dial("127.0.0.2", c.port), -1);

	/* An address this machine does not have: NOT_FOUND. */
	c.listen = "192.0.2.1";
	c.subnet = "192.0.2.0/24";
	assert_int_equal(local_proxy_start(&c, &p, &err), DEPLOY_ERR_NOT_FOUND);
	assert_null(p);
	error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_get_becomes_origin_form_without_hop_by_hop_headers),
		cmocka_unit_test(test_head_and_query_and_empty_path),
		cmocka_unit_test(test_connect_takes_host_and_port_443_only),
		cmocka_unit_test(test_incomplete_and_too_large),
		cmocka_unit_test(test_refuses_what_it_does_not_forward),
		cmocka_unit_test(
			test_allowlist_is_exact_without_case_or_trailing_dot),
		cmocka_unit_test(test_clients_are_the_subnets_hosts),
		cmocka_unit_test(test_a_proxy_on_loopback_refuses_and_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
