/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CONFIGURE_H
#define DEPLOY_CONFIGURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "graph/graph.h"
#include "playbook/playbook.h"
#include "ssh/engine.h"
#include "state/state.h"
#include "topology/topology.h"

/*
 * The configuration phase of `deploy up`: each host's playbooks compiled
 * into one script (core/playbook), sent over its one SSH session (core/ssh)
 * and run there, in dependency order: a role's hosts start when every host
 * of the roles it depends on has finished well; independent roles run at
 * the same time; `serial: N` runs N hosts of a role at a time; a host that
 * fails marks its dependents skipped while other branches go on.
 * Everything is compiled before any host is contacted, so a bad playbook
 * or a missing secret changes nothing anywhere.
 */

enum host_run_status {
	HOST_WAITING,
	HOST_RUNNING,
	HOST_OK,
	HOST_FAILED,
	HOST_UNREACHABLE,
	HOST_SKIPPED, /* a dependency failed */
};

const char *host_run_status_name(enum host_run_status s);

/* With configure_opts.diff: what a step that changed a file did to it. */
struct step_diff {
	size_t step;  /* its number, from 1 */
	char *label;  /* the step's label */
	char *secret; /* hidden: the secret the content holds; else NULL */
	char *text;   /* the unified diff, redacted, one line each; or NULL */
};

struct host_run {
	struct host *host;
	enum host_run_status status;
	size_t nr_steps;   /* in its script, handlers not counted */
	size_t step;	   /* the step running or last run, from 1 */
	const char *label; /* that step's label */
	const char *kind;  /* that step's kind: "file", "shell" ... */
	const char *last;  /* how it ended: "ok", "changed", "failed" ... */
	bool handler;	   /* the step is a handler (step counts those) */
	size_t nr_handlers;
	size_t ok;
	size_t changed;
	size_t failed;
	uint64_t elapsed_ms;
	char *message; /* why it failed or was skipped; never a secret */
	char *waiting; /* a health check still failing: what it saw */
	struct step_diff *diffs; /* configure_opts.diff, in step order */
	size_t nr_diffs;
	/* Artifacts sent beside its script (the host lacked them). */
	size_t sent;
	uint64_t sent_bytes;
	uint64_t sent_ms; /* their transfers' time, digest checks included */
};

/* An artifact's transfer that sends nothing for this long fails its host
 * (nothing on the host changed); configure_opts.transfer_idle_ms. */
#define CONFIGURE_TRANSFER_IDLE_MS 60000

struct configure_ops {
	/* MAY: a host started, a step began, a step ended, a host ended. */
	void (*host_start)(void *data, const struct host_run *hr);
	void (*step)(void *data, const struct host_run *hr, bool begin);
	void (*host_done)(void *data, const struct host_run *hr);
	/* MAY: the running health check still fails; hr->waiting says
	 * what it saw (sent when that changes). */
	void (*waiting)(void *data, const struct host_run *hr);
};

struct configure_opts {
	bool check; /* dry run: report, change nothing */
	bool diff;  /* the unified diff of each file a step changes */
	struct ssh_options ssh; /* parallel, timeouts, known_hosts ... */
	const char *datadir;	/* built-in playbooks; NULL: default */
	/* The topology's sources, fetched and checked out (SOURCE/PATH
	 * playbooks); NULL when it has none. */
	const struct playbook_source *sources;
	size_t nr_sources;
	/* The topology's artifacts in the cache (step artifact:). */
	const struct artifact_pin *artifacts;
	size_t nr_artifacts;
	/*
	 * MAY: the same pins as `artifacts`, some still missing from the
	 * cache (artifact_pins()): fetched on the SSH engine's loop while
	 * the hosts are reached and probed (connect, host key check,
	 * authentication and the read-only probe change nothing); no step
	 * that changes a host (a transfer, a script) starts before every one
	 * is in the cache and verified. When one cannot be had, no host is
	 * changed and configure_run() returns the error artifact_use() would
	 * (res->artifacts_failed is set). The compile must not need their
	 * bytes (docker_load artifacts: fetch those first).
	 */
	struct artifact_pin *fetch;
	const struct artifact_options *fetch_opts;
	/* A transfer of an artifact that sends nothing this long fails its
	 * host; 0: CONFIGURE_TRANSFER_IDLE_MS. */
	unsigned transfer_idle_ms;
	const struct configure_ops *ops;
	void *data;
	/* --limit: only these hosts; NULL: every host. Hosts they depend on
	 * outside the limit must have been configured already. */
	struct host **limit;
	size_t nr_limit;
	/* When *stop is set (a signal): no host starts any more, those not
	 * started are skipped ("not started: interrupted"), the scripts
	 * under way run to their end. NULL: never. */
	const volatile int *stop;
};

struct configure_result {
	struct host_run *hosts; /* every host with playbooks, topology order */
	size_t nr;
	size_t ok;
	size_t failed; /* failed or unreachable */
	size_t skipped;
	bool artifacts_failed; /* configure_opts.fetch: one could not be had */
};

/*
 * Configure every host of t that has playbooks. Problems found before
 * any host is contacted (playbooks, templates, secrets) go to dl with
 * their file:line:col and the run returns DEPLOY_ERR_INVALID; otherwise it
 * returns 0 and res tells how each host did (and the state records when
 * each host was last configured, after a run that was not --check).
 */
int configure_run(const struct topology *t, const struct graph *g,
		  struct state *s, const struct configure_opts *o,
		  struct configure_result *res, struct diag_list *dl,
		  struct error *err);
void configure_result_free(struct configure_result *res);

/*
 * Before any host is made: every role's playbooks load and every secret
 * can be read (problems to dl, with file:line:col). Templates, which need
 * the hosts' addresses, are rendered by configure_run().
 */
int configure_preflight(const struct topology *t,
			const struct configure_opts *o, struct diag_list *dl);

#endif
