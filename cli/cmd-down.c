/* SPDX-License-Identifier: MIT */
/* deploy down: remove what the state records, dependents first. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/events.h"
#include "cli/lifecycle.h"
#include "cli/output.h"
#include "util/banned.h"

enum {
	OPT_INCLUDE_PROTECTED = LC_NR_OPTS,
	OPT_JSON,
};

static const struct opt_spec down_opts[] = {
	LC_OPT_SPECS,
	[OPT_INCLUDE_PROTECTED] = { "include-protected", 0, OPT_FLAG, NULL,
				    "remove the hosts of roles with protect "
				    "or static_ip too",
				    NULL },
	[OPT_JSON] = LC_OPT_JSON_SPEC,
	{ 0 },
};

static void progress(void *ctx, const struct plan_item *it,
		     enum plan_progress what)
{
	(void)ctx;
	event_resource(it, what);
	if (what != PLAN_ITEM_START)
		return;
	printf("- destroying %s %s %s\n", it->provider->name, it->kind,
	       it->name);
	fflush(stdout);
}

/* Resources recorded that are not hosts (what providers share). */
static size_t shared_left(const struct state *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nr_resources; i++)
		n += strcmp(s->resources[i].kind, "host") != 0;
	return n;
}

static int down_exec(const struct command *cmd, struct args *a)
{
	struct event_summary sum = { .command = "down" };
	struct cli_run r;
	struct plan *p = NULL;
	struct error err;
	int rc;

	(void)cmd;
	error_init(&err);
	if (a->opt[OPT_JSON].set)
		events_start("down");
	rc = cli_run_start(&r, a, "deploy down", &sum);
	if (rc)
		return rc;
	r.lc.include_protected = a->opt[OPT_INCLUDE_PROTECTED].set;
	if (plan_build(&r.lc, true, false, &p, &err))
		goto fail;
	if (!p->destroys && !p->keeps && shared_left(r.state)) {
		/* No host, but a network, groups or a key left by a run
		 * that stopped (or a down that did not finish). */
		size_t n = shared_left(r.state);

		printf("- destroy %zu shared resource%s (networks, firewall "
		       "groups, keys) left by an earlier run\n",
		       n, n == 1 ? "" : "s");
		rc = confirm(&r, "Destroy every resource of",
			     a->opt[LC_OPT_YES].set);
		if (rc)
			goto out;
		if (plan_apply(&r.lc, p, progress, NULL, &err))
			goto fail;
		printf("Destroyed %zu shared resource%s of '%s'.\n", n,
		       n == 1 ? "" : "s", r.t->name);
		goto out;
	}
	if (!p->destroys) {
		if (p->keeps)
			print_plan(p, NULL, 0, NULL, 0, events_on());
		printf("Nothing to destroy: the state of '%s' holds no "
		       "resource%s.\n",
		       r.t->name, p->keeps ? " that is not protected" : "");
		goto out;
	}
	print_plan(p, NULL, 0, NULL, 0, events_on());
	rc = confirm(&r, "Destroy every resource of", a->opt[LC_OPT_YES].set);
	if (rc)
		goto out;
	if (plan_apply(&r.lc, p, progress, NULL, &err))
		goto fail;
	sum.destroyed = p->destroys;
	printf("Destroyed %zu resource%s of '%s'.\n", p->destroys,
	       p->destroys == 1 ? "" : "s", r.t->name);
	goto out;
fail:
	rc = cli_run_failed(&err);
out:
	return cli_run_end(&r, p, &err, &sum, rc);
}

const struct command cmd_down = {
	.name = "down",
	.summary = "remove everything up made",
	.usage = "[--yes] [--include-protected] [--json] "
		 "[--lock-timeout SECONDS] [--grace SECONDS] [topology.yml]",
	.description =
		"Remove every resource the state records for the topology, "
		"in reverse dependency\norder (roles no longer in the "
		"topology first), then what the providers shared\n(the local "
		"bridge). Resources already gone are fine. Asks first: type "
		"'yes' (the\ntopology's name for network: mainnet); "
		"without a terminal, --yes is needed.",
	.opts = down_opts,
	.max_pos = 1,
	.exec = down_exec,
};
