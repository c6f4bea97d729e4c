/* SPDX-License-Identifier: MIT */
/* deploy status: each host's address, id and whether it answers SSH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "ssh/engine.h"
#include "ssh/fleet.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	OPT_TIMEOUT,
};

static const struct opt_spec status_opts[] = {
	[OPT_TIMEOUT] = { "timeout", 0, OPT_INT, "SECONDS",
			  "how long each host (and each bastion) has to "
			  "answer and let us in (default 3)",
			  NULL },
	{ 0 },
};

/* One host's answer. */
struct answer {
	const struct host *host;
	bool asked;   /* a login was tried */
	bool done;    /* and it came back */
	char why[16]; /* "yes", "refused", "bastion-down" ... */
	char *message;
};

static void probe_done(void *data, struct ssh_host *h,
		       const struct ssh_result *r)
{
	struct answer *a = data;

	(void)h;
	a->done = true;
	/* It let us in and ran `true`: it answers, whatever the command's
	 * exit (a sudo-less user, a strange shell) says. */
	if (r->status == SSH_OK || r->why == SSH_WHY_NONE) {
		snprintf(a->why, sizeof(a->why), "yes");
		return;
	}
	snprintf(a->why, sizeof(a->why), "%s", ssh_why_name(r->why));
	a->message = xstrdup(r->err.msg);
}

static const struct ssh_exec_ops probe_ops = { NULL, probe_done };

/*
 * Log in to every host that has an address, through its bastions (the
 * path `deploy run` takes), and run `true`: a host answers when it lets
 * us in. Messages that are not a host's go to stderr.
 */
static void probe_all(struct cli_run *r, struct answer *v, size_t nr,
		      int timeout)
{
	struct ssh_options o;
	struct ssh_engine *e = NULL;
	struct ssh_fleet *fleet = NULL;
	struct error err;

	memset(&o, 0, sizeof(o));
	error_init(&err);
	cli_ssh_options(r, &o);
	o.log_dir = NULL; /* a look, not a run: no host logs */
	o.connect_timeout_ms = (unsigned)timeout * 1000u;
	o.auth_timeout_ms = (unsigned)timeout * 1000u;
	o.command_timeout_ms = (unsigned)timeout * 1000u;
	o.max_attempts = 1;
	o.parallel = ssh_fit_open_files(SSH_DEFAULT_PARALLEL,
					ssh_fleet_count_bastions(r->t));
	if (ssh_engine_new(&o, &e, &err)) {
		print_error(&err);
		goto out;
	}
	fleet = ssh_fleet_new(e, r->t, r->state);
	for (size_t i = 0; i < nr; i++) {
		struct ssh_host *sh;

		if (!v[i].host->address)
			continue;
		error_clear(&err);
		if (ssh_fleet_host(fleet, v[i].host, &sh, &err) ||
		    ssh_exec(sh, "true", 0, &probe_ops, &v[i], &err)) {
			snprintf(v[i].why, sizeof(v[i].why), "no");
			v[i].message = xstrdup(err.msg);
			continue;
		}
		v[i].asked = true;
	}
	error_clear(&err);
	if (ssh_engine_run(e, &err))
		print_error(&err);
out:
	ssh_fleet_free(fleet);
	ssh_engine_free(e);
	error_clear(&err);
}

static int status_exec(const struct command *cmd, struct args *a)
{
	int timeout =
		a->opt[OPT_TIMEOUT].set ? (int)a->opt[OPT_TIMEOUT].num : 3;
	struct answer *v = NULL;
	struct cli_run r;
	size_t nr = 0, k = 0;
	int rc;

	if (timeout < 1 || timeout > 3600)
		return usage_error(cmd, "--timeout must be from 1 to 3600");
	rc = cli_run_open(&r, topology_arg(a), "deploy status", -1);
	if (rc)
		return rc;
	for (size_t i = 0; i < r.t->nr_roles; i++)
		nr += r.t->roles[i].nr_hosts;
	v = xcalloc(nr + 1, sizeof(*v));
	for (size_t i = 0; i < r.t->nr_roles; i++)
		for (size_t j = 0; j < r.t->roles[i].nr_hosts; j++)
			v[k++].host = &r.t->roles[i].hosts[j];
	probe_all(&r, v, nr, timeout);
	printf("%-20s %-12s %-16s %-12s %-20s %s\n", "host", "role", "address",
	       "ssh", "applied", "id");
	for (size_t i = 0; i < nr; i++) {
		const struct host *h = v[i].host;
		const struct state_host *sh =
			state_host_get(r.state, h->name, false);
		const struct state_resource *res = state_resource_find(
			r.state, h->role->provider->name, "host", h->name);

		printf("%-20s %-12s %-16s %-12s %-20s %s\n", h->name,
		       h->role->name, h->address ? h->address : "-",
		       !h->address   ? "-"
		       : v[i].why[0] ? v[i].why
				     : "no",
		       sh && sh->applied_at ? sh->applied_at : "-",
		       res && res->id ? res->id : "-");
	}
	/* Why each host that does not answer does not. */
	for (size_t i = 0; i < nr; i++) {
		if (v[i].message)
			printf("%s: %s\n", v[i].host->name, v[i].message);
		free(v[i].message);
	}
	free(v);
	cli_run_close(&r);
	return EXIT_OK;
}

const struct command cmd_status = {
	.name = "status",
	.summary = "show each host's address, id and whether it answers",
	.usage = "[--timeout SECONDS] [topology.yml]",
	.description =
		"For every host of the topology: its role, address (from the "
		"topology or the\nstate), whether it answers SSH now (it lets "
		"deploy log in, through its bastions\nas 'deploy run' does, "
		"within --timeout), when it was last configured, and its\nid "
		"at the provider. A host that does not answer says why: "
		"refused, timeout,\nhost-key (its key changed), auth, "
		"bastion-down, lost, unreachable; a line\nafter the table "
		"gives each one's message, naming the bastion that is down.",
	.opts = status_opts,
	.max_pos = 1,
	.exec = status_exec,
};
