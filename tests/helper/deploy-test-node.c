/* SPDX-License-Identifier: MIT */
/* A stand-in chain node for tests: NEAR's and ICON's health shapes. */

/*
 * deploy-test-node [--rpc ADDR:PORT] [--p2p ADDR:PORT] [--syncing SECONDS]
 *                  [--height N] [--peers N] [--name TEXT] [--pidfile PATH]
 *                  [--daemon]
 * deploy-test-node [--home DIR] init [--chain-id ID] [neard's other flags]
 * deploy-test-node [--home DIR] run [OPTIONS above]
 *
 * The last two behave as neard's do, for the near-node playbook: init
 * writes config.json, genesis.json (with the chain id) and node_key.json
 * (0600) into DIR (default ~/.near) when config.json is not there; run
 * refuses to start without config.json and genesis.json, reports the
 * genesis' chain id in /status and listens on 0.0.0.0:3030 and
 * 0.0.0.0:24567 (neard's defaults). SIGHUP is ignored (neard reloads its
 * validator key on it); SIGINT and SIGTERM stop it.
 *
 * Defaults may also come from a line appended to the binary itself,
 *   DEPLOY_TEST_NODE name=2.4.0 syncing=-1 height=500 stuck_on=rpc-1
 * so tests make two "releases" with different digests and behaviour by
 * appending such a line to copies (the options above override it);
 * stuck_on=SUFFIX: on a machine whose host name ends with SUFFIX this
 * build never syncs (a release that fails on one host of a rollout).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST 8192

static long syncing_for;
static long top_height = 1000;
static long peers = 5;
static const char *name = "deploy-test-node";
static char chain_id[64] = "localnet";
static struct timespec started;
static char trailer[512];

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
			 "{\"chain_id\": \"%s\", \"version\": "
			 "{\"version\": \"%s\", \"build\": \"test\"}, "
			 "\"sync_info\": {\"latest_block_height\": %ld, "
			 "\"syncing\": %s}}",
			 chain_id, name, height(), synced() ? "false" : "true");
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
		"[--pidfile PATH] [--daemon]\n"
		"       deploy-test-node [--home DIR] init [--chain-id ID]\n"
		"       deploy-test-node [--home DIR] run [OPTIONS]\n");
	exit(2);
}

/* stuck_on=SUFFIX: never sync on a host whose name ends with it. */
static void stuck_on(const char *suffix)
{
	char host[256] = "";
	size_t hl, sl = strlen(suffix);

	if (gethostname(host, sizeof(host) - 1))
		return;
	hl = strlen(host);
	if (sl && hl >= sl && !strcmp(host + hl - sl, suffix))
		syncing_for = -1;
}

/* Defaults from "DEPLOY_TEST_NODE k=v ..." at the end of the binary. */
static void read_trailer(void)
{
	char buf[sizeof(trailer)];
	const char *p;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t got;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return;
	buf[got] = '\0';
	p = memmem(buf, (size_t)got, "\nDEPLOY_TEST_NODE ", 18);
	if (!p)
		return;
	snprintf(trailer, sizeof(trailer), "%s", p + 18);
	for (char *w = strtok(trailer, " \n"); w; w = strtok(NULL, " \n")) {
		if (!strncmp(w, "name=", 5))
			name = w + 5;
		else if (!strncmp(w, "syncing=", 8))
			syncing_for = atol(w + 8);
		else if (!strncmp(w, "height=", 7))
			top_height = atol(w + 7);
		else if (!strncmp(w, "stuck_on=", 9))
			stuck_on(w + 9);
	}
}

/* Write path with text unless it exists; 0 or -1. */
static int write_new(const char *dir, const char *file, const char *text,
		     mode_t mode)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* neard init: the files a home holds, when it holds no config yet. */
static int init_home(const char *home, int argc, char **argv)
{
	const char *chain = "localnet";
	char text[512], path[4096];
	struct stat st;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--chain-id") && i + 1 < argc)
			chain = argv[++i];
	snprintf(path, sizeof(path), "%s/config.json", home);
	if (!stat(path, &st)) {
		fprintf(stderr, "deploy-test-node: %s exists; nothing done\n",
			path);
		return 0;
	}
	if (mkdir(home, 0755) && errno != EEXIST) {
		fprintf(stderr, "deploy-test-node: cannot make %s: %s\n", home,
			strerror(errno));
		return 1;
	}
	snprintf(text, sizeof(text),
		 "{\"chain_id\": \"%s\", \"genesis_height\": 0}\n", chain);
	if (write_new(home, "genesis.json", text, 0644) ||
	    write_new(home, "node_key.json",
		      "{\"account_id\": \"\", \"public_key\": "
		      "\"ed25519:test\", \"secret_key\": \"ed25519:stub\"}\n",
		      0600) ||
	    write_new(home, "config.json",
		      "{\"rpc\": {\"addr\": \"0.0.0.0:3030\"}, "
		      "\"network\": {\"addr\": \"0.0.0.0:24567\"}}\n",
		      0644)) {
		fprintf(stderr, "deploy-test-node: cannot write in %s: %s\n",
			home, strerror(errno));
		return 1;
	}
	printf("initialised %s for chain %s\n", home, chain);
	return 0;
}

/* neard run: the home must have been initialised; its chain id. */
static int read_home(const char *home)
{
	char path[4200], text[1024];
	const char *p;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "%s/config.json", home);
	if (access(path, R_OK)) {
		fprintf(stderr, "deploy-test-node: %s: %s (run init first)\n",
			path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/genesis.json", home);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "deploy-test-node: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	got = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[got > 0 ? got : 0] = '\0';
	p = strstr(text, "\"chain_id\"");
	if (p && (p = strchr(p + 10, '"'))) {
		size_t n = strcspn(p + 1, "\"");

		if (n < sizeof(chain_id))
			snprintf(chain_id, sizeof(chain_id), "%.*s", (int)n,
				 p + 1);
	}
	return 0;
}

static void ignore(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	const char *rpc = "127.0.0.1:3030", *p2p = "127.0.0.1:24567";
	const char *pidfile = NULL, *home = NULL;
	int daemonize = 0, first = 1;
	struct pollfd fds[2];

	read_trailer();
	if (argc > 2 && !strcmp(argv[1], "--home")) {
		home = argv[2];
		first = 3;
	}
	if (first < argc && !strcmp(argv[first], "init")) {
		if (!home)
			home = getenv("HOME") ? getenv("HOME") : "/";
		return init_home(home, argc - first - 1, argv + first + 1);
	}
	if (first < argc && !strcmp(argv[first], "run")) {
		char dflt[4000];

		if (!home) {
			snprintf(dflt, sizeof(dflt), "%s/.near",
				 getenv("HOME") ? getenv("HOME") : "");
			home = dflt;
		}
		if (read_home(home))
			return 1;
		rpc = "0.0.0.0:3030";
		p2p = "0.0.0.0:24567";
		first++;
	} else if (home) {
		usage();
	}
	for (int i = first; i < argc; i++) {
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
	signal(SIGHUP, ignore);	 /* neard: reload the validator key */
	signal(SIGINT, SIG_DFL); /* a shell may have ignored it */
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
