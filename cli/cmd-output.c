/* SPDX-License-Identifier: MIT */
/* deploy output: the hosts and their addresses by role, text or JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "util/banned.h"

enum {
	OPT_JSON,
};

static const struct opt_spec output_opts[] = {
	[OPT_JSON] = { "json", 0, OPT_FLAG, NULL, "print one JSON object",
		       NULL },
	{ 0 },
};

static int output_exec(const struct command *cmd, struct args *a)
{
	struct cli_run r;
	cJSON *root, *roles;
	int rc;

	(void)cmd;
	rc = cli_run_open(&r, topology_arg(a), "deploy output", -1);
	if (rc)
		return rc;
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "topology", r.t->name);
	roles = cJSON_AddObjectToObject(root, "roles");
	for (size_t i = 0; i < r.t->nr_roles; i++) {
		const struct role *role = &r.t->roles[i];
		cJSON *hosts = cJSON_AddArrayToObject(roles, role->name);

		for (size_t j = 0; j < role->nr_hosts; j++) {
			const struct host *h = &role->hosts[j];
			const struct state_host *sh =
				state_host_get(r.state, h->name, false);
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", h->name);
			if (h->address)
				cJSON_AddStringToObject(o, "address",
							h->address);
			else
				cJSON_AddNullToObject(o, "address");
			if (sh && sh->private_address)
				cJSON_AddStringToObject(o, "private_address",
							sh->private_address);
			cJSON_AddNumberToObject(o, "port", h->port);
			cJSON_AddItemToArray(hosts, o);
			if (!a->opt[OPT_JSON].set)
				printf("%s %s %s\n", role->name, h->name,
				       h->address ? h->address : "-");
		}
	}
	if (a->opt[OPT_JSON].set) {
		char *s = cJSON_Print(root);

		printf("%s\n", s);
		free(s);
	}
	cJSON_Delete(root);
	cli_run_close(&r);
	return EXIT_OK;
}

const struct command cmd_output = {
	.name = "output",
	.summary = "print the hosts and their addresses by role",
	.usage = "[--json] [topology.yml]",
	.description = "Print one line per host: role, host, address ('-' "
		       "when not created yet); or\nwith --json one object "
		       "{topology, roles: {ROLE: [{name, address,\n"
		       "private_address, port}]}} for CI pipelines.",
	.opts = output_opts,
	.max_pos = 1,
	.exec = output_exec,
};
