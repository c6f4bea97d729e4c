/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "util/banned.h"

enum {
	OPT_YES,
};

static const struct opt_spec unlock_opts[] = {
	[OPT_YES] = { "yes", 'y', OPT_FLAG, NULL,
		      "do not ask (needed without a terminal)", NULL },
	{ 0 },
};

static int unlock_exec(const struct command *cmd, struct args *a)
{
	struct topology *t;
	struct graph *g;
	struct error err;
	char *path, *holder, line[64];
	int rc;

	(void)cmd;
	error_init(&err);
	rc = cli_load_topology(topology_arg(a), &t, &g);
	if (rc)
		return rc;
	path = state_path_for(topology_arg(a), t->name, ".lock");
	holder = state_lock_holder(path);
	if (!holder) {
		printf("Nobody holds the lock of '%s'.\n", t->name);
		goto out;
	}
	printf("The lock of '%s' is held by %s.\n", t->name, holder);
	if (!a->opt[OPT_YES].set) {
		if (!isatty(STDIN_FILENO)) {
			print_message("not breaking the lock without a "
				      "confirmation: run on a terminal, or "
				      "pass --yes");
			rc = EXIT_FAIL;
			goto out;
		}
		printf("Break it only if that run is stuck or gone: two runs "
		       "at once can lose state.\nType 'yes' to break it: ");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin) ||
		    strcmp(line, "yes\n")) {
			print_message("lock left as it is");
			rc = EXIT_FAIL;
			goto out;
		}
	}
	if (state_lock_break(path, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	printf("Lock broken.\n");
out:
	free(holder);
	free(path);
	error_clear(&err);
	graph_free(g);
	topology_free(t);
	return rc;
}

const struct command cmd_unlock = {
	.name = "unlock",
	.summary = "break a stuck run's lock",
	.usage = "[--yes] [topology.yml]",
	.description =
		"Show who holds the topology's run lock (.deploy/NAME.lock) "
		"and, after a\nconfirmation, break it. A lock goes with the "
		"process that holds it, so this is\nonly for a run that hangs "
		"or one on a shared filesystem.",
	.opts = unlock_opts,
	.max_pos = 1,
	.exec = unlock_exec,
};
