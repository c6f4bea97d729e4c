/* SPDX-License-Identifier: MIT */
/* Git sources for plan and up: the lock's commits, fetched if not cached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "artifact/artifact.h"
#include "source/source.h"
#include "ssh/fleet.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

void cli_source_options(struct cli_run *r, struct source_options *o,
			char **key_path)
{
	struct ssh_options so;

	memset(&so, 0, sizeof(so));
	memset(o, 0, sizeof(*o));
	/* known_hosts and the passphrase as the SSH engine has them */
	cli_ssh_options(r, &so);
	o->known_hosts = so.known_hosts;
	o->strict_host_keys = so.host_keys == SSH_HOST_KEYS_STRICT;
	o->passphrase = so.passphrase;
	*key_path =
		r->t->ssh.key ? path_expand(r->t->ssh.key, r->t->dir) : NULL;
	o->key = *key_path;
}

static void say_fetching(void *data, const char *name, const char *url)
{
	(void)data;
	printf("Fetching source %s from %s ...\n", name, url);
	fflush(stdout);
}

static void say_fetching_artifact(void *data, const struct artifact *a,
				  const char *url)
{
	(void)data;
	printf("Fetching artifact %s from %s ...\n", a->name, url);
	fflush(stdout);
}

const struct artifact_options *cli_artifact_options(bool quiet)
{
	static const struct artifact_options say = {
		.fetching = say_fetching_artifact,
		.stop = &cli_stop,
	};
	static const struct artifact_options quiet_o = { .stop = &cli_stop };

	return quiet ? &quiet_o : &say;
}

void cli_artifact_failed(const struct error *err)
{
	print_error(err);
	print_message("nothing was changed on any host");
}

/* Every artifact in the cache before any host is touched; with later,
 * those missing are left for cli_run_artifacts() or the SSH engine. */
static int run_artifacts(struct cli_run *r, bool quiet, bool later)
{
	struct error err;
	int rc = EXIT_OK;

	if (!r->t->nr_artifacts)
		return EXIT_OK;
	error_init(&err);
	r->quiet_fetch = quiet;
	if (artifact_pins(r->t, cli_artifact_options(quiet), &r->artifacts,
			  &r->artifacts_missing, &err)) {
		cli_artifact_failed(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	r->nr_artifacts = r->t->nr_artifacts;
	if (!later)
		rc = cli_run_artifacts(r);
out:
	error_clear(&err);
	return rc;
}

int cli_run_artifacts(struct cli_run *r)
{
	struct error err;
	int rc = EXIT_OK;
	bool held;

	if (!r->artifacts_missing)
		return EXIT_OK;
	error_init(&err);
	/* An interrupt ends the downloads (plan has no handler otherwise). */
	held = cli_signals_hold();
	if (artifact_fetch_missing(r->t, cli_artifact_options(r->quiet_fetch),
				   r->artifacts, r->nr_artifacts, &err)) {
		cli_artifact_failed(&err);
		rc = err.code == DEPLOY_ERR_INTERRUPTED ? EXIT_INTERRUPTED
							: EXIT_FAIL;
	} else {
		r->artifacts_missing = 0;
	}
	if (held)
		cli_signals_release();
	error_clear(&err);
	return rc;
}

int cli_run_sources(struct cli_run *r, bool quiet, bool later)
{
	struct source_options o;
	struct error err;
	char *lock_path, *key = NULL;
	int rc = EXIT_OK;

	if (!r->t->nr_sources)
		return run_artifacts(r, quiet, later);
	error_init(&err);
	cli_source_options(r, &o, &key);
	if (!quiet)
		o.fetching = say_fetching;
	lock_path = source_lock_path(r->path);
	if (source_use_locked(r->t, lock_path, &o, &r->pins, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
	}
	r->nr_sources = r->t->nr_sources;
	r->sources = xcalloc(r->nr_sources + 1, sizeof(*r->sources));
	for (size_t i = 0; !rc && i < r->nr_sources; i++) {
		r->sources[i].name = r->t->sources[i].name;
		r->sources[i].dir = r->pins[i].dir;
	}
	free(lock_path);
	free(key);
	error_clear(&err);
	return rc ? rc : run_artifacts(r, quiet, later);
}
