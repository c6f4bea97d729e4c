/* SPDX-License-Identifier: MIT */
/* deploy import: record a host made outside deploy as a role's host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "util/banned.h"

/*
 * deploy import ROLE HOST ID: take a host that already exists at its
 * provider (an EC2 instance id, a droplet id) as HOST of ROLE, so that a
 * fleet made by other tools is taken over without being made again.
 */

enum {
	OPT_LOCK_TIMEOUT,
};

static const struct opt_spec import_opts[] = {
	[OPT_LOCK_TIMEOUT] = { "lock-timeout", 0, OPT_INT, "SECONDS",
			       "wait this long for another run's lock "
			       "(default 0)",
			       NULL },
	{ 0 },
};

static int import_exec(const struct command *cmd, struct args *a)
{
	const char *role_name, *host_name, *id;
	const char *path = a->nr_pos == 4 ? a->pos[3] : "topology.yml";
	const struct role *role;
	struct host *h;
	struct state_resource *res;
	struct cli_run r;
	struct error err;
	int rc;

	if (a->nr_pos < 3)
		return usage_error(cmd, "import takes ROLE HOST ID");
	role_name = a->pos[0];
	host_name = a->pos[1];
	id = a->pos[2];
	rc = cli_run_open(&r, path, "deploy import",
			  a->opt[OPT_LOCK_TIMEOUT].set
				  ? (int)a->opt[OPT_LOCK_TIMEOUT].num
				  : 0);
	if (rc)
		return rc;
	error_init(&err);
	role = topology_find_role(r.t, role_name);
	h = topology_find_host(r.t, host_name);
	if (!role) {
		print_message("no role '%s' in the topology", role_name);
		rc = EXIT_FAIL;
		goto out;
	}
	if (!h || h->role != role) {
		print_message("'%s' is not a host of role '%s' (its hosts are "
			      "%s-0 to %s-%zu)",
			      host_name, role_name, role_name, role_name,
			      role->nr_hosts ? role->nr_hosts - 1 : 0);
		rc = EXIT_FAIL;
		goto out;
	}
	res = state_resource_find(r.state, role->provider->name, "host",
				  host_name);
	if (res) {
		print_message("'%s' is already in the state (%s%s): 'deploy "
			      "state rm %s' first to import another",
			      host_name, res->id ? "id " : "",
			      res->id ? res->id : "pending", host_name);
		rc = EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < r.state->nr_resources; i++)
		if (r.state->resources[i].id &&
		    !strcmp(r.state->resources[i].id, id)) {
			print_message("'%s' is already in the state as %s", id,
				      r.state->resources[i].name);
			rc = EXIT_FAIL;
			goto out;
		}
	if (provider_import_host(lifecycle_run(&r.lc, role->provider), h, id,
				 &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	printf("Imported %s %s as host %s of role %s.\n", role->provider->name,
	       id, host_name, role_name);
out:
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

const struct command cmd_import = {
	.name = "import",
	.summary = "take a host that already exists at its provider",
	.usage = "[--lock-timeout SECONDS] ROLE HOST ID [topology.yml]",
	.description =
		"Record the host ID at the role's provider (an EC2 instance "
		"id, a droplet id)\nas HOST of ROLE, tagged as deploy tags "
		"what it makes, so that plan keeps it\nand down deletes it. "
		"Its size, image and firewall stay as they are: plan\nshows "
		"where they differ from the role.",
	.opts = import_opts,
	.max_pos = 4,
	.exec = import_exec,
};
