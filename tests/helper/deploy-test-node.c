/* SPDX-License-Identifier: MIT */
/* A stand-in chain node for tests: NEAR's and ICON's health shapes. */

/*
 * deploy-test-node [--rpc ADDR:PORT] [--p2p ADDR:PORT] [--syncing SECONDS]
 *                  [--height N] [--peers N] [--name TEXT] [--pidfile PATH]
 *                  [--daemon]
 *
 * Serves, on the RPC address (default 127.0.0.1:3030):
 *   GET /health    200 "null" once synced, 503 while syncing (NEAR)
 *   GET /status    {"version": ..., "sync_info": {"latest_block_height": H,
 *                  "syncing": BOOL}} (NEAR)
 *   POST /, POST /api/v3 with method icx_getLastBlock
 *                  {"jsonrpc": "2.0", "id": ID, "result": {"height": H}}
 *                  (ICON)
 *   GET /metrics   Prometheus text: near_block_height_head H,
 *                  near_sync_status (0 once synced),
 * near_peer_connections_total
 *                  (--peers, default 5)
 * and takes connections on the P2P address (default 127.0.0.1:24567),
 * answering one line. It is syncing for SECONDS after it starts (0: synced
 * at once; -1: never), its height climbing to N (default 1000); once
 * synced the height grows by one a second. --name is reported as the
 * version (to tell two builds apart). No dependency beyond libc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST 8192

static long syncing_for;
static long top_height = 1000;
static long peers = 5;
static const char *name = "deploy-test-node";
static struct timespec started;

static long elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - started.tv_sec);
}

static int synced(void)
{
	return syncing_for >= 0 && elapsed() >= syncing_for;
}

static long height(void)
{
	long e = elapsed();

	if (syncing_for < 0)
		return 1;
	if (e < syncing_for)
		return top_height * e / syncing_for;
	return top_height + (e - syncing_for);
}

static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
		fprintf(stderr, "deploy-test-node: '%s' is not ADDR:PORT\n",
			spec);
		exit(2);
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	sa.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "deploy-test-node: bad address '%s'\n", host);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		exit(1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		fprintf(stderr, "deploy-test-node: cannot listen on %s: %s\n",
			spec, strerror(errno));
		exit(1);
	}
	return fd;
}

static void reply_as(int fd, int status, const char *type, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status,
			 status == 200	 ? "OK"
			 : status == 404 ? "Not Found"
					 : "Service Unavailable",
			 type, strlen(body));

	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void reply(int fd, int status, const char *body)
{
	reply_as(fd, status, "application/json", body);
}

/* The id of a JSON-RPC request, as written (a number or a string). */
static void rpc_id(const char *body, char *out, size_t size)
{
	const char *p = strstr(body, "\"id\"");
	size_t n;

	snprintf(out, size, "null");
	if (!p || !(p = strchr(p + 4, ':')))
		return;
	p += strspn(p + 1, " \t") + 1;
	n = strcspn(p, ",} \t\r\n");
	if (n && n < size)
		snprintf(out, size, "%.*s", (int)n, p);
}

static void serve(int fd)
{
	char req[MAX_REQUEST + 1], body[512], id[64];
	size_t len = 0;
	const char *end = NULL;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* The headers, and for a POST whatever body came with them. */
	while (len < MAX_REQUEST && poll(&p, 1, 2000) > 0) {
		ssize_t got = read(fd, req + len, MAX_REQUEST - len);

		if (got <= 0)
			break;
		len += (size_t)got;
		req[len] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (end && strncmp(req, "POST", 4))
			break;
		if (end && strstr(end, "}"))
			break;
	}
	req[len] = '\0';
	if (!strncmp(req, "GET /health ", 12) ||
	    !strncmp(req, "HEAD /health ", 13)) {
		if (synced())
			reply(fd, 200, "null");
		else
			reply(fd, 503, "{\"error\": \"NodeIsSyncing\"}");
	} else if (!strncmp(req, "GET /metrics ", 13)) {
		snprintf(body, sizeof(body),
			 "# TYPE near_block_height_head gauge\n"
			 "near_block_height_head %ld\n"
			 "# TYPE near_sync_status gauge\n"
			 "near_sync_status %d\n"
			 "# TYPE near_peer_connections_total gauge\n"
			 "near_peer_connections_total %ld\n",
			 height(), synced() ? 0 : 1, peers);
		reply_as(fd, 200, "text/plain; version=0.0.4", body);
	} else if (!strncmp(req, "GET /status ", 12)) {
		snprintf(body, sizeof(body),
			 "{\"chain_id\": \"localnet\", \"version\": "
			 "{\"version\": \"%s\", \"build\": \"test\"}, "
			 "\"sync_info\": {\"latest_block_height\": %ld, "
			 "\"syncing\": %s}}",
			 name, height(), synced() ? "false" : "true");
		reply(fd, 200, body);
	} else if ((!strncmp(req, "POST / ", 7) ||
		    !strncmp(req, "POST /api/v3 ", 13)) &&
		   end && strstr(end, "icx_getLastBlock")) {
		rpc_id(end, id, sizeof(id));
		snprintf(body, sizeof(body),
			 "{\"jsonrpc\": \"2.0\", \"id\": %s, \"result\": "
			 "{\"height\": %ld, \"version\": \"%s\"}}",
			 id, height(), name);
		reply(fd, 200, body);
	} else if (!strncmp(req, "POST ", 5)) {
		rpc_id(end ? end : req, id, sizeof(id));
		snprintf(body, sizeof(body),
			 "{\"jsonrpc\": \"2.0\", \"id\": %s, \"error\": "
			 "{\"code\": -32601, \"message\": \"method not "
			 "found\"}}",
			 id);
		reply(fd, 200, body);
	} else {
		reply(fd, 404, "{\"error\": \"not found\"}");
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: deploy-test-node [--rpc ADDR:PORT] [--p2p ADDR:PORT] "
		"[--syncing SECONDS] [--height N] [--peers N] [--name TEXT] "
		"[--pidfile PATH] [--daemon]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *rpc = "127.0.0.1:3030", *p2p = "127.0.0.1:24567";
	const char *pidfile = NULL;
	int daemonize = 0;
	struct pollfd fds[2];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--daemon")) {
			daemonize = 1;
			continue;
		}
		if (!strcmp(a, "--version")) {
			printf("%s\n", name);
			return 0;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--rpc"))
			rpc = argv[++i];
		else if (!strcmp(a, "--p2p"))
			p2p = argv[++i];
		else if (!strcmp(a, "--syncing"))
			syncing_for = atol(argv[++i]);
		else if (!strcmp(a, "--height"))
			top_height = atol(argv[++i]);
		else if (!strcmp(a, "--peers"))
			peers = atol(argv[++i]);
		else if (!strcmp(a, "--name"))
			name = argv[++i];
		else if (!strcmp(a, "--pidfile"))
			pidfile = argv[++i];
		else
			usage();
	}
	signal(SIGPIPE, SIG_IGN);
	fds[0].fd = listen_on(rpc);
	fds[1].fd = listen_on(p2p);
	fds[0].events = fds[1].events = POLLIN;
	if (daemonize) {
		int null = open("/dev/null", O_RDWR);
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid > 0)
			_exit(0);
		setsid();
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f)
			return 1;
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &started);
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < 2; i++) {
			int c;

			if (!(fds[i].revents & POLLIN))
				continue;
			c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			if (i == 0) {
				serve(c);
			} else {
				static const char hello[] =
					"deploy-test-node p2p\n";

				if (write(c, hello, sizeof(hello) - 1) < 0)
					(void)0;
			}
			close(c);
		}
	}
}
