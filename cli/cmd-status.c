/* SPDX-License-Identifier: MIT */
/* deploy status: each host's address, id and whether it answers SSH. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "ssh/probe.h"
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
			       h->address && ssh_probe(h->address, h->port,
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
