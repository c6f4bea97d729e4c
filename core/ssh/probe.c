/* SPDX-License-Identifier: MIT */
/* The one SSH banner probe: is a host's sshd answering yet? */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh/probe.h"
#include "util/file.h"
#include "util/banned.h"

#define ROUND_MIN_MS 100
#define ROUND_MAX_MS 2000
#define PROBE_MAX_MS 2000

static int to_sockaddr(const char *address, int port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return 0;
	}
	return -1;
}

/* Poll fd for events until the deadline; whether they came. */
static bool wait_for(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		long long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return false;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		return n == 1 && (p.revents & (events | POLLHUP | POLLERR));
	}
}

bool ssh_probe(const char *address, int port, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct sockaddr_storage ss;
	socklen_t len, el = sizeof(int);
	char banner[4];
	size_t got = 0;
	bool ok = false;
	int fd, e = 0;

	if (!address || to_sockaddr(address, port ? port : 22, &ss, &len))
		return false;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, deadline) ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) || e)
			goto out;
	}
	while (got < sizeof(banner) && wait_for(fd, POLLIN, deadline)) {
		ssize_t n = read(fd, banner + got, sizeof(banner) - got);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ok = got == sizeof(banner) && !memcmp(banner, "SSH-", 4);
out:
	close(fd);
	return ok;
}

static void plain_sleep(void *ctx, long ms)
{
	(void)ctx;
	usleep((useconds_t)ms * 1000);
}

int ssh_probe_wait(struct ssh_probe_target *v, size_t nr, int timeout_ms,
		   const volatile int *stop, void (*wait)(void *ctx, long ms),
		   void *ctx, struct error *err)
{
	long long deadline = now_ms() + timeout_ms;
	long pause = ROUND_MIN_MS;

	if (!wait)
		wait = plain_sleep;
	for (;;) {
		size_t left = 0;

		for (size_t i = 0; i < nr; i++) {
			long long rest = deadline - now_ms();

			if (v[i].ready)
				continue;
			v[i].ready = ssh_probe(
				v[i].address, v[i].port,
				rest < PROBE_MAX_MS
					? (rest > 100 ? (int)rest : 100)
					: PROBE_MAX_MS);
			left += !v[i].ready;
		}
		if (!left)
			return 0;
		if (stop && *stop)
			return error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0,
					 0,
					 "interrupted while waiting for SSH");
		if (now_ms() >= deadline)
			break;
		wait(ctx, pause);
		pause = pause * 2 > ROUND_MAX_MS ? ROUND_MAX_MS : pause * 2;
	}
	for (size_t i = 0; i < nr; i++)
		if (!v[i].ready)
			return error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
					 "host '%s' (%s) does not answer on "
					 "port %d after %d s%s%s",
					 v[i].name, v[i].address,
					 v[i].port ? v[i].port : 22,
					 timeout_ms / 1000,
					 v[i].hint ? ": " : "",
					 v[i].hint ? v[i].hint : "");
	return 0;
}
