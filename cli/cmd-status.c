/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "util/banned.h"

enum {
	OPT_TIMEOUT,
};

static const struct opt_spec status_opts[] = {
	[OPT_TIMEOUT] = { "timeout", 0, OPT_INT, "SECONDS",
			  "how long to wait for each host's SSH banner "
			  "(default 3)",
			  NULL },
	{ 0 },
};

/* Whether address:port answers with an SSH banner within timeout_ms. */
static bool answers_ssh(const char *address, int port, int timeout_ms)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	struct pollfd p;
	char banner[4];
	bool ok = false;
	int fd;

	if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		len = sizeof(*v6);
	} else {
		return false;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		goto out;
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN))
		ok = read(fd, banner, 4) == 4 && !memcmp(banner, "SSH-", 4);
out:
	close(fd);
	return ok;
}

static int status_exec(const struct command *cmd, struct args *a)
{
	int timeout =
		a->opt[OPT_TIMEOUT].set ? (int)a->opt[OPT_TIMEOUT].num : 3;
	struct cli_run r;
	int rc;

	(void)cmd;
	rc = cli_run_open(&r, topology_arg(a), "deploy status", -1);
	if (rc)
		return rc;
	printf("%-20s %-12s %-16s %-4s %-20s %s\n", "host", "role", "address",
	       "ssh", "applied", "id");
	for (size_t i = 0; i < r.t->nr_roles; i++) {
		const struct role *role = &r.t->roles[i];

		for (size_t j = 0; j < role->nr_hosts; j++) {
			const struct host *h = &role->hosts[j];
			const struct state_host *sh =
				state_host_get(r.state, h->name, false);
			const struct state_resource *res = state_resource_find(
				r.state, role->provider->name, "host", h->name);

			printf("%-20s %-12s %-16s %-4s %-20s %s\n", h->name,
			       role->name, h->address ? h->address : "-",
			       h->address && answers_ssh(h->address, h->port,
							 timeout * 1000)
				       ? "yes"
				       : "no",
			       sh && sh->applied_at ? sh->applied_at : "-",
			       res && res->id ? res->id : "-");
		}
	}
	cli_run_close(&r);
	return EXIT_OK;
}

const struct command cmd_status = {
	.name = "status",
	.summary = "show each host's address, id and whether it answers",
	.usage = "[--timeout SECONDS] [topology.yml]",
	.description =
		"For every host of the topology: its role, address (from the "
		"topology or the\nstate), whether it answers SSH now (a banner "
		"within --timeout), when it was\nlast configured, and its id "
		"at the provider.",
	.opts = status_opts,
	.max_pos = 1,
	.exec = status_exec,
};
