/* SPDX-License-Identifier: MIT */
/* deploy up: create what is missing, then configure every host. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/configure-ui.h"
#include "cli/events.h"
#include "cli/lifecycle.h"
#include "cli/output.h"
#include "util/banned.h"

enum {
	OPT_CHECK = LC_NR_OPTS,
	OPT_JSON,
	OPT_PARALLEL,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_TRANSFER_TIMEOUT,
	OPT_LIMIT,
	OPT_ADOPT,
	OPT_DIFF,
};

static const struct opt_spec up_opts[] = {
	LC_OPT_SPECS,
	[OPT_CHECK] = { "check", 0, OPT_FLAG, NULL,
			"report what would change on the hosts, change "
			"nothing anywhere",
			NULL },
	[OPT_JSON] = LC_OPT_JSON_SPEC,
	[OPT_PARALLEL] = { "parallel", 0, OPT_INT, "N",
			   "hosts configured at once (default 64)", NULL },
	[OPT_TIMEOUT] = { "timeout", 0, OPT_INT, "SECONDS",
			  "each host's script may run this long (default "
			  "1800)",
			  NULL },
	[OPT_CONNECT_TIMEOUT] = { "connect-timeout", 0, OPT_INT, "SECONDS",
				  "reaching a host may take this long "
				  "(default 10)",
				  NULL },
	[OPT_TRANSFER_TIMEOUT] = { "transfer-timeout", 0, OPT_INT, "SECONDS",
				   "an artifact's transfer that sends nothing "
				   "this long fails its host (default 60)",
				   NULL },
	[OPT_LIMIT] = { "limit", 'l', OPT_STRING, "LIST",
			"only these roles and hosts (comma-separated); hosts "
			"they depend on must be configured already",
			NULL },
	[OPT_ADOPT] = { "adopt", 0, OPT_FLAG, NULL,
			"record hosts found at a provider but missing from "
			"the state",
			NULL },
	[OPT_DIFF] = { "diff", 0, OPT_FLAG, NULL,
		       "show the unified diff of each file a step changes",
		       NULL },
	{ 0 },
};

static void progress(void *ctx, const struct plan_item *it,
		     enum plan_progress what)
{
	(void)ctx;
	event_resource(it, what);
	if (what != PLAN_ITEM_START)
		return;
	printf("%c %s %s %s %s\n", it->op == PLAN_CREATE ? '+' : '-',
	       it->op == PLAN_CREATE ? "creating" : "destroying",
	       it->provider->name, it->kind, it->name);
	fflush(stdout);
}

static long opt_or(const struct args *a, int idx, long dflt)
{
	return a->opt[idx].set ? a->opt[idx].num : dflt;
}

/* Configure every host with playbooks; EXIT_OK when all did well. The
 * host counts go to sum. */
static int configure(struct cli_run *r, struct args *a, bool check,
		     struct event_summary *sum)
{
	struct configure_opts o = { .check = check,
				    .diff = a->opt[OPT_DIFF].set };
	struct configure_result res;
	struct diag_list dl;
	struct error err;
	unsigned parallel = (unsigned)opt_or(a, OPT_PARALLEL, 64);
	int rc;

	if (!cli_has_playbooks(r->t))
		return EXIT_OK;
	error_init(&err);
	/* What the hosts need while they are configured (the local hosts'
	 * apt proxy), until the run ends. */
	if (!check && lifecycle_configure_begin(&r->lc, &err)) {
		print_error(&err);
		error_clear(&err);
		return EXIT_FAIL;
	}
	diag_list_init(&dl);
	cli_ssh_options(r, &o.ssh);
	o.sources = r->sources;
	o.nr_sources = r->nr_sources;
	o.artifacts = r->artifacts;
	o.nr_artifacts = r->nr_artifacts;
	if (r->artifacts_missing) {
		o.fetch = r->artifacts;
		o.fetch_opts = cli_artifact_options(r->quiet_fetch);
	}
	o.ssh.parallel = ssh_fit_open_files(parallel ? parallel : 1, 8);
	o.ssh.command_timeout_ms =
		(unsigned)opt_or(a, OPT_TIMEOUT, 1800) * 1000u;
	o.ssh.connect_timeout_ms =
		(unsigned)opt_or(a, OPT_CONNECT_TIMEOUT, 10) * 1000u;
	o.transfer_idle_ms =
		(unsigned)opt_or(a, OPT_TRANSFER_TIMEOUT, 60) * 1000u;
	o.ops = configure_ui(check);
	o.limit = r->limit;
	o.nr_limit = r->nr_limit;
	o.stop = &cli_stop;
	printf("\n%s hosts ...\n", check ? "Checking" : "Configuring");
	fflush(stdout);
	rc = configure_run(r->t, r->g, r->state, &o, &res, &dl, &err);
	print_diags(&dl, stderr);
	if (rc && res.artifacts_failed) {
		cli_artifact_failed(&err);
		rc = err.code == DEPLOY_ERR_INTERRUPTED ? EXIT_INTERRUPTED
							: EXIT_FAIL;
		goto out;
	}
	r->artifacts_missing = 0;
	if (rc) {
		if (rc != DEPLOY_ERR_INVALID)
			print_error(&err);
		else
			print_message("nothing was run on any host");
		rc = EXIT_FAIL;
		goto out;
	}
	print_configure_summary(&res, check);
	event_summary_hosts(sum, &res);
	if (!check && state_save(r->state, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
	} else if (cli_stop) {
		print_message("interrupted: the hosts under way finished and "
			      "are recorded, the others were not started");
		rc = EXIT_INTERRUPTED;
	} else {
		rc = res.failed || res.skipped ? EXIT_FAIL : EXIT_OK;
	}
out:
	configure_result_free(&res);
	diag_list_free(&dl);
	error_clear(&err);
	return rc;
}

/* Playbooks and secrets are checked before any host is made. */
static int preflight(struct cli_run *r)
{
	struct configure_opts o = { 0 };
	struct diag_list dl;
	int rc = EXIT_OK;

	if (!cli_has_playbooks(r->t))
		return EXIT_OK;
	o.sources = r->sources;
	o.nr_sources = r->nr_sources;
	o.artifacts = r->artifacts;
	o.nr_artifacts = r->nr_artifacts;
	diag_list_init(&dl);
	if (configure_preflight(r->t, &o, &dl)) {
		print_diags(&dl, stderr);
		print_message("nothing was created or changed");
		rc = EXIT_FAIL;
	}
	diag_list_free(&dl);
	return rc;
}

/* The plan, then the artifact changes up is about to apply. */
static void print_up_plan(struct cli_run *r, const struct plan *p)
{
	struct artifact_change *changes = NULL;
	size_t n = artifact_changes(r->t, r->state, r->limit, r->nr_limit,
				    &changes);

	print_plan(p, r->pins, r->nr_sources, changes, n, events_on());
	free(changes);
}

/*
 * Whether the artifacts the cache lacks may be fetched while the SSH
 * engine reaches and probes the hosts (configure_opts.fetch) rather than
 * now: when up goes on to configure hosts with playbooks with nothing
 * made, removed or changed at a provider first (an artifact that cannot
 * be had must leave the fleet as it was), and no compile needs an
 * artifact's bytes (a docker_load artifact's image IDs).
 */
static bool fetch_beside_ssh(const struct cli_run *r, const struct plan *p)
{
	if (p->creates || p->destroys || p->syncs || !cli_has_playbooks(r->t))
		return false;
	for (size_t i = 0; i < r->nr_artifacts; i++)
		if (r->artifacts[i].missing && r->artifacts[i].a->docker_load)
			return false;
	return true;
}

static int up_exec(const struct command *cmd, struct args *a)
{
	bool check = a->opt[OPT_CHECK].set;
	struct event_summary sum = { .command = "up", .check = check };
	struct cli_run r;
	struct plan *p = NULL;
	struct error err;
	int rc;

	error_init(&err);
	if (a->opt[OPT_TRANSFER_TIMEOUT].set &&
	    (a->opt[OPT_TRANSFER_TIMEOUT].num < 1 ||
	     a->opt[OPT_TRANSFER_TIMEOUT].num > 86400))
		return usage_error(cmd,
				   "--transfer-timeout takes 1 to 86400 "
				   "seconds, not %ld",
				   a->opt[OPT_TRANSFER_TIMEOUT].num);
	if (a->opt[OPT_JSON].set)
		events_start("up");
	rc = cli_run_start(&r, a, check ? "deploy up --check" : "deploy up",
			   &sum);
	if (rc)
		return rc;
	rc = cli_run_limit(
		&r, cmd, a->opt[OPT_LIMIT].set ? a->opt[OPT_LIMIT].str : NULL);
	if (rc)
		goto out;
	r.lc.adopt = a->opt[OPT_ADOPT].set;
	/* The sources' files before anything else: a source that cannot
	 * be had changes nothing. With --yes, the artifacts the cache lacks
	 * may wait for the plan (fetch_beside_ssh()). */
	rc = cli_run_sources(&r, false, !check && a->opt[LC_OPT_YES].set);
	if (rc)
		goto out;
	if (plan_build(&r.lc, false, true, &p, &err))
		goto fail;
	if (check) {
		print_up_plan(&r, p);
		if (p->creates || p->destroys)
			printf("(--check: nothing is created or destroyed; "
			       "hosts not created yet are not checked)\n");
		rc = configure(&r, a, true, &sum);
		goto out;
	}
	print_up_plan(&r, p);
	if (p->unrecorded) {
		print_message("hosts exist at a provider but not in the "
			      "state (the '!' lines): run 'deploy up --adopt' "
			      "to record them; nothing was changed");
		rc = EXIT_FAIL;
		goto out;
	}
	if (r.artifacts_missing && !fetch_beside_ssh(&r, p)) {
		rc = cli_run_artifacts(&r);
		if (rc)
			goto out;
	}
	rc = preflight(&r);
	if (rc)
		goto out;
	if (!a->opt[LC_OPT_YES].set) {
		/* Show what the hosts' steps would change, then ask. */
		size_t changes = 0;

		/* Templates need every host's address: with hosts still to
		 * make, the steps are shown as they run. */
		if (!p->creates)
			rc = cli_check_steps(&r, &changes,
					     a->opt[OPT_DIFF].set);
		if (rc)
			goto out;
		if (!p->creates && !p->destroys && !p->syncs && !changes) {
			printf("Nothing to do: %zu host%s up to date.\n",
			       p->keeps, p->keeps == 1 ? "" : "s");
			goto out;
		}
		rc = confirm(&r, "Apply this plan to", false);
		if (rc)
			goto out;
	}
	if (p->creates || p->destroys) {
		if (p->creates)
			rc = cli_run_keys(&r);
		if (rc)
			goto out;
		if (plan_apply(&r.lc, p, progress, NULL, &err))
			goto fail;
		sum.created = p->creates;
		sum.destroyed = p->destroys;
		plan_bind_addresses(r.t, r.state);
		printf("Up: %zu created, %zu destroyed, %zu unchanged.\n",
		       p->creates, p->destroys, p->keeps);
	} else {
		printf("Nothing to create or destroy: %zu host%s exist%s.\n",
		       p->keeps, p->keeps == 1 ? "" : "s",
		       p->keeps == 1 ? "s" : "");
	}
	if (p->syncs) {
		/* Firewall groups and networks as the topology says now. */
		rc = p->creates ? EXIT_OK : cli_run_keys(&r);
		if (rc)
			goto out;
		if (lifecycle_sync(&r.lc, &err))
			goto fail;
		printf("Shared resources: %zu change%s made.\n", p->syncs,
		       p->syncs == 1 ? "" : "s");
	}
	rc = configure(&r, a, check, &sum);
	goto out;
fail:
	rc = cli_run_failed(&err);
out:
	return cli_run_end(&r, p, &err, &sum, rc);
}

const struct command cmd_up = {
	.name = "up",
	.summary = "create what is missing and configure every host",
	.usage = "[--yes] [--check] [--diff] [--json] [--limit LIST] [--adopt] "
		 "[--parallel N] "
		 "[--timeout SECONDS] [--connect-timeout SECONDS] "
		 "[--transfer-timeout SECONDS] "
		 "[--lock-timeout SECONDS] [--grace SECONDS] [topology.yml]",
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
