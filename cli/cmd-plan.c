/* SPDX-License-Identifier: MIT */
/* deploy plan: what up would create, keep or destroy; step changes. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/events.h"
#include "cli/lifecycle.h"
#include "cli/output.h"
#include "util/banned.h"

enum {
	OPT_JSON,
	OPT_LIMIT,
	OPT_NO_STEPS,
	OPT_ADOPT,
	OPT_DIFF,
};

static const struct opt_spec plan_opts[] = {
	[OPT_JSON] = { "json", 0, OPT_FLAG, NULL,
		       "one JSON object per line, a version line first", NULL },
	[OPT_LIMIT] = { "limit", 'l', OPT_STRING, "LIST",
			"only these roles and hosts (comma-separated)", NULL },
	[OPT_NO_STEPS] = { "no-steps", 0, OPT_FLAG, NULL,
			   "do not check the hosts' steps (no SSH)", NULL },
	[OPT_ADOPT] = { "adopt", 0, OPT_FLAG, NULL,
			"record hosts found at a provider but missing from "
			"the state",
			NULL },
	[OPT_DIFF] = { "diff", 0, OPT_FLAG, NULL,
		       "show the unified diff of each file a step would "
		       "change",
		       NULL },
	{ 0 },
};

static int plan_exec(const struct command *cmd, struct args *a)
{
	struct cli_run r;
	struct plan *p = NULL;
	struct artifact_change *changes = NULL;
	size_t nr_changes;
	struct error err;
	int rc;

	error_init(&err);
	if (a->opt[OPT_JSON].set)
		events_start("plan");
	/* plan changes nothing: it reads the state without the lock. */
	rc = cli_run_open(&r, topology_arg(a), "deploy plan", -1);
	if (rc)
		return rc;
	rc = cli_run_limit(
		&r, cmd, a->opt[OPT_LIMIT].set ? a->opt[OPT_LIMIT].str : NULL);
	if (rc)
		goto out;
	r.lc.adopt = a->opt[OPT_ADOPT].set;
	rc = cli_run_sources(&r, a->opt[OPT_JSON].set, false);
	if (rc)
		goto out;
	if (plan_build(&r.lc, false, true, &p, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	nr_changes =
		artifact_changes(r.t, r.state, r.limit, r.nr_limit, &changes);
	print_plan(p, r.pins, r.nr_sources, changes, nr_changes,
		   a->opt[OPT_JSON].set);
	rc = p->creates || p->destroys || p->unrecorded || p->syncs ||
			     nr_changes
		     ? EXIT_CHANGES
		     : EXIT_OK;
	if (!a->opt[OPT_NO_STEPS].set && !a->opt[OPT_JSON].set &&
	    (p->creates || p->unrecorded)) {
		if (cli_has_playbooks(r.t))
			printf("(the hosts' steps are checked once every host "
			       "exists)\n");
	} else if (!a->opt[OPT_NO_STEPS].set && !a->opt[OPT_JSON].set) {
		size_t steps = 0;

		if (cli_check_steps(&r, &steps, a->opt[OPT_DIFF].set))
			rc = EXIT_FAIL;
		else if (steps)
			rc = EXIT_CHANGES;
	}
out:
	free(changes);
	plan_free(p);
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

const struct command cmd_plan = {
	.name = "plan",
	.summary = "show what up would change",
	.usage = "[--json] [--limit LIST] [--no-steps] [--adopt] [--diff] "
		 "[topology.yml]",
	.description =
		"Compare the topology with the state (.deploy/NAME.state.json), "
		"refreshed from the\nproviders, and print what 'deploy up' "
		"would do: '+ create', '- destroy', each\nwith why when it is "
		"not plain, and a summary line. It changes nothing.\n\n"
		"Exit codes: 0 nothing to do, 2 changes to make, 1 error, 64 "
		"usage error, 130 interrupted (while it downloads artifacts).",
	.opts = plan_opts,
	.max_pos = 1,
	.exec = plan_exec,
};
