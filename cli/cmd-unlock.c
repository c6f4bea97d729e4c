/* SPDX-License-Identifier: MIT */
/* deploy unlock: show who holds the run lock, and break a stuck one. */
#include <stdbool.h>
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

/* A positional argument is the topology when it looks like one. */
static bool is_topology(const char *arg)
{
	size_t n = strlen(arg);

	return access(arg, F_OK) == 0 ||
	       (n > 4 && !strcmp(arg + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(arg + n - 5, ".yaml"));
}

static int unlock_exec(const struct command *cmd, struct args *a)
{
	struct topology *t;
	struct graph *g;
	struct state_backend *b = NULL;
	struct error err;
	const char *path = "topology.yml", *id = NULL;
	char *holder = NULL, *held_id = NULL, line[64];
	int rc;

	error_init(&err);
	if (a->nr_pos == 2) {
		id = a->pos[0];
		path = a->pos[1];
	} else if (a->nr_pos == 1 && is_topology(a->pos[0])) {
		path = a->pos[0];
	} else if (a->nr_pos == 1) {
		id = a->pos[0];
	}
	rc = cli_load_topology(path, &t, &g);
	if (rc)
		return rc;
	if (state_backend_open(t, path, provider_state_store_open, &b, &err) ||
	    state_backend_holder(b, &holder, &held_id, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	if (!holder) {
		printf("Nobody holds the lock of '%s'.\n", t->name);
		goto out;
	}
	printf("The lock of '%s' is held by %s.\n", t->name, holder);
	if (id && held_id && strcmp(id, held_id)) {
		print_message("the lock's id is '%s', not '%s': lock left as "
			      "it is",
			      held_id, id);
		rc = EXIT_FAIL;
		goto out;
	}
	/* The id copied from the lock message is the confirmation. */
	if (!a->opt[OPT_YES].set && !(id && held_id)) {
		if (!isatty(STDIN_FILENO)) {
			print_message("not breaking the lock without a "
				      "confirmation: run on a terminal, or "
				      "pass --yes%s",
				      held_id ? " or the lock id" : "");
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
	if (state_backend_break_lock(b, held_id, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	printf("Lock broken.\n");
out:
	(void)cmd;
	free(holder);
	free(held_id);
	state_backend_free(b);
	error_clear(&err);
	graph_free(g);
	topology_free(t);
	return rc;
}

const struct command cmd_unlock = {
	.name = "unlock",
	.summary = "break a stuck run's lock",
	.usage = "[--yes] [LOCK_ID] [topology.yml]",
	.description =
		"Show who holds the topology's run lock (.deploy/NAME.lock, "
		"or the S3 object\nKEY.lock) and, after a confirmation, break "
		"it. A local lock goes with the\nprocess that holds it; an S3 "
		"lock stays when its run is killed: break it\nwith the lock id "
		"that the waiting run's message shows (the id is the\n"
		"confirmation; a lock with another id is left alone).",
	.opts = unlock_opts,
	.max_pos = 2,
	.exec = unlock_exec,
};
