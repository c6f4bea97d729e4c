/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "util/banned.h"

enum {
	OPT_YES,
	OPT_LOCK_TIMEOUT,
	OPT_GRACE,
};

static const struct opt_spec up_opts[] = {
	[OPT_YES] = { "yes", 'y', OPT_FLAG, NULL,
		      "do not ask (needed without a terminal)", NULL },
	[OPT_LOCK_TIMEOUT] = { "lock-timeout", 0, OPT_INT, "SECONDS",
			       "wait this long for another run's lock "
			       "(default: fail at once)",
			       NULL },
	[OPT_GRACE] = { "grace", 0, OPT_INT, "SECONDS",
			"after an interrupt, let work under way finish this "
			"long (default 30)",
			NULL },
	{ 0 },
};

static void progress(void *ctx, const struct plan_item *it)
{
	(void)ctx;
	printf("%c %s %s %s %s\n", it->op == PLAN_CREATE ? '+' : '-',
	       it->op == PLAN_CREATE ? "creating" : "destroying",
	       it->provider->name, it->kind, it->name);
	fflush(stdout);
}

static int up_exec(const struct command *cmd, struct args *a)
{
	struct cli_run r;
	struct plan *p = NULL;
	struct error err;
	int rc;

	(void)cmd;
	error_init(&err);
	cli_signals_install(a->opt[OPT_GRACE].set ? (int)a->opt[OPT_GRACE].num
						  : 30);
	rc = cli_run_open(&r, topology_arg(a), "deploy up",
			  a->opt[OPT_LOCK_TIMEOUT].set
				  ? (int)a->opt[OPT_LOCK_TIMEOUT].num
				  : 0);
	if (rc)
		return rc;
	if (plan_build(&r.lc, false, true, &p, &err))
		goto fail;
	if (!p->creates && !p->destroys) {
		printf("Nothing to do: %zu host%s up to date.\n", p->keeps,
		       p->keeps == 1 ? "" : "s");
		goto out;
	}
	print_plan(p, false);
	rc = confirm(&r, "Apply this plan to", a->opt[OPT_YES].set);
	if (!rc && p->creates)
		rc = cli_run_keys(&r);
	if (rc)
		goto out;
	if (plan_apply(&r.lc, p, progress, NULL, &err))
		goto fail;
	plan_bind_addresses(r.t, r.state);
	printf("Up: %zu created, %zu destroyed, %zu unchanged.\n", p->creates,
	       p->destroys, p->keeps);
	goto out;
fail:
	print_error(&err);
	rc = err.code == DEPLOY_ERR_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_FAIL;
out:
	plan_free(p);
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

const struct command cmd_up = {
	.name = "up",
	.summary = "create what is missing and configure every host",
	.usage = "[--yes] [--lock-timeout SECONDS] [--grace SECONDS] "
		 "[topology.yml]",
	.description =
		"Plan as 'deploy plan' does, show the plan, ask (type 'yes'; "
		"the topology's name\nfor network: mainnet; without a "
		"terminal, --yes is needed), then create what\nis missing and "
		"destroy what the topology no longer has, in dependency "
		"order,\nrecording every resource in the state before and "
		"after it is made. A run\nstopped at any moment is resumed by "
		"the next one. On a converged fleet it\nsays there is nothing "
		"to do and changes nothing.",
	.opts = up_opts,
	.max_pos = 1,
	.exec = up_exec,
};
