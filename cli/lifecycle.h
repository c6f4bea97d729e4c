/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_LIFECYCLE_H
#define DEPLOY_CLI_LIFECYCLE_H

#include <stdbool.h>

#include "cli/cli.h"
#include "graph/graph.h"
#include "plan/plan.h"
#include "playbook/playbook.h"
#include "source/source.h"
#include "ssh/engine.h"
#include "state/backend.h"
#include "state/state.h"
#include "topology/topology.h"

/* What plan, up, down, status and output share: the topology, its graph,
 * its state (and the run lock for commands that change anything). */
struct cli_run {
	const char *path;
	const char *command;
	struct topology *t;
	struct graph *g;
	struct state *state;
	struct state_backend *backend; /* where the state lives, its lock */
	char *authorized_keys;	       /* the operator's public key lines */
	char *key_path;		       /* the private key that goes with them */
	char *log_dir;		       /* .deploy/logs beside the topology */
	char *known_hosts;	       /* ssh.known_hosts, expanded */
	char *own_key;		       /* .deploy/NAME.id_ed25519 */
	char *passphrase;	       /* DEPLOY_SSH_KEY_PASSPHRASE; wiped */
	struct lifecycle lc;
	struct host **limit; /* --limit, or NULL */
	size_t nr_limit;
	struct source_pin *pins; /* the sources at their locked commits */
	struct playbook_source *sources; /* the same, for configure_opts */
	size_t nr_sources;
	struct artifact_pin *artifacts; /* every artifact, in the cache */
	size_t nr_artifacts;
	/* cli_run_sources(later): those not in the cache yet */
	size_t artifacts_missing;
	bool quiet_fetch; /* no "Fetching ..." lines */
};

/* --limit LIST into r (NULL: every host); EXIT_USAGE printed when a name
 * is neither a role nor a host. */
int cli_run_limit(struct cli_run *r, const struct command *cmd,
		  const char *limit);

/* Load, lock (when lock_timeout >= 0) and read the state. Prints errors. */
int cli_run_open(struct cli_run *r, const char *path, const char *command,
		 int lock_timeout);

/*
 * The options up and down share: the head of both option tables, so the
 * same indexes read them; a command's own options start at LC_NR_OPTS.
 */
enum {
	LC_OPT_YES,
	LC_OPT_LOCK_TIMEOUT,
	LC_OPT_GRACE,
	LC_NR_OPTS,
};

/* clang-format off */
#define LC_OPT_SPECS							\
	[LC_OPT_YES] = { "yes", 'y', OPT_FLAG, NULL,			\
		"do not ask (needed without a terminal)", NULL },	\
	[LC_OPT_LOCK_TIMEOUT] = { "lock-timeout", 0, OPT_INT, "SECONDS",	\
		"wait this long for another run's lock "		\
		"(default: fail at once)", NULL },			\
	[LC_OPT_GRACE] = { "grace", 0, OPT_INT, "SECONDS",		\
		"after an interrupt, let work under way finish this "	\
		"long (default 30)", NULL }
/* up's and down's --json, at the index each gives it. */
#define LC_OPT_JSON_SPEC						\
	{ "json", 0, OPT_FLAG, NULL,					\
		"events as JSON lines on stdout (human lines go to "	\
		"stderr)", NULL }
/* clang-format on */

struct event_summary;

/* For up and down: signals with --grace (default 30 s), then cli_run_open
 * of the topology argument with --lock-timeout (default 0). When that
 * fails, the summary event is emitted with its exit code. */
int cli_run_start(struct cli_run *r, const struct args *a, const char *command,
		  struct event_summary *sum);
/* For up and down: err printed; the exit code (EXIT_INTERRUPTED after a
 * stop, else EXIT_FAIL). */
int cli_run_failed(const struct error *err);
/* For up and down, at the end: the summary event (rc, the plan's kept
 * resources), then p, err and r freed. Returns rc. */
int cli_run_end(struct cli_run *r, struct plan *p, struct error *err,
		struct event_summary *sum, int rc);
void cli_run_close(struct cli_run *r);

/* The operator's public key for new hosts: ssh.key's .pub, else
 * ~/.ssh/id_{ed25519,ecdsa,rsa}.pub, else a key made for this topology in
 * .deploy/NAME.id_ed25519. Prints errors. */
int cli_run_keys(struct cli_run *r);

/*
 * SSH options from the topology: host-key mode and known_hosts, logs in
 * .deploy/logs, the key passphrase from DEPLOY_SSH_KEY_PASSPHRASE (taken
 * out of the environment) or asked on the terminal, and the key deploy
 * made for the topology as the last one tried. The strings live in r.
 */
void cli_ssh_options(struct cli_run *r, struct ssh_options *o);

/*
 * The step changes of the hosts that exist (and --limit takes), from their
 * scripts run in check mode: "~ HOST: N steps would change" per host that
 * would change, "! HOST: ..." per host that could not be checked. *changes
 * counts the hosts that would change. With diff, each such line is
 * followed by the unified diff of each file a step would change (or why
 * it is hidden: the file holds a secret). EXIT_OK, or EXIT_FAIL with the
 * problem printed (a playbook or template error).
 */
int cli_check_steps(struct cli_run *r, size_t *changes, bool diff);
/* Whether some role with hosts has playbooks. */
bool cli_has_playbooks(const struct topology *t);

/*
 * For plan and up (cli/sources.c): every source of the topology at the
 * commit its lock file (icon.yml: icon.lock) holds, fetched only when the
 * cache lacks it; a source the lock lacks is resolved and added. Says
 * "Fetching ..." on stdout unless quiet. Then every artifact of the
 * topology, from the cache or fetched into it and verified
 * (core/artifact); with `later`, those the cache lacks are only counted
 * (r->artifacts_missing): cli_run_artifacts() fetches them, or `up` does
 * on the SSH engine's loop (configure_opts.fetch). EXIT_OK, or EXIT_FAIL
 * with the problem printed.
 */
int cli_run_sources(struct cli_run *r, bool quiet, bool later);
/* The artifacts cli_run_sources(later) left, fetched now. */
int cli_run_artifacts(struct cli_run *r);
/* The artifact options of plan and up ("Fetching ..." unless quiet). */
const struct artifact_options *cli_artifact_options(bool quiet);
/* "nothing was changed on any host" after an artifact's error. */
void cli_artifact_failed(const struct error *err);
/* Source options from the topology's ssh settings (strings live in r,
 * *key_path is the caller's to free). */
void cli_source_options(struct cli_run *r, struct source_options *o,
			char **key_path);

/*
 * Ask before changing anything: on a terminal the operator types "yes"
 * (the topology's name for network: mainnet); without one, --yes is
 * needed. EXIT_OK to go on, else EXIT_FAIL with a message printed.
 */
int confirm(const struct cli_run *r, const char *what, bool yes);

#endif
