/* SPDX-License-Identifier: MIT */
/* What plan, up, down and status share: topology, state, lock, SSH options. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/configure-ui.h"
#include "cli/events.h"
#include "cli/lifecycle.h"
#include "artifact/artifact.h"
#include "run/configure.h"
#include "ssh/fleet.h"
#include "topology/select.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/proc.h"
#define ENV_PASSPHRASE "DEPLOY_SSH_KEY_PASSPHRASE"
#include "util/xalloc.h"
#include "util/banned.h"

/* Read a passphrase from the terminal with echo off (OpenSSH's
 * read_passphrase), only when standard input is a terminal. */
static int ask_passphrase(void *data, const char *key_path, char *buf,
			  size_t size)
{
	struct termios old, quiet;
	size_t n = 0;
	int fd, rc = -1;
	char c;

	(void)data;
	if (!isatty(STDIN_FILENO))
		return -1;
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old))
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet))
		goto out;
	dprintf(fd, "Enter passphrase for key '%s': ", key_path);
	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n' || c == '\r')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = '\0';
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	rc = n ? 0 : -1;
out:
	close(fd);
	return rc;
}

/* The passphrase from the environment, taken out of it. */
static char *take_env_passphrase(void)
{
	char *v = getenv(ENV_PASSPHRASE), *copy;

	if (!v)
		return NULL;
	copy = xstrdup(v);
	explicit_bzero(v, strlen(v));
	unsetenv(ENV_PASSPHRASE);
	return copy;
}

void cli_ssh_options(struct cli_run *r, struct ssh_options *o)
{
	struct buf logdir = BUF_INIT;

	if (strcmp(r->t->dir, "."))
		buf_addf(&logdir, "%s/", r->t->dir);
	buf_adds(&logdir, ".deploy/logs");
	free(r->log_dir);
	r->log_dir = buf_release(&logdir);
	if (!r->passphrase)
		r->passphrase = take_env_passphrase();
	free(r->known_hosts);
	r->known_hosts = r->t->ssh.known_hosts
				 ? path_expand(r->t->ssh.known_hosts, r->t->dir)
				 : NULL;
	free(r->own_key);
	r->own_key = state_path_for(r->path, r->t->name, ".id_ed25519");
	o->host_keys = r->t->ssh.host_keys == HOST_KEYS_STRICT
			       ? SSH_HOST_KEYS_STRICT
			       : SSH_HOST_KEYS_ACCEPT_NEW;
	o->known_hosts = r->known_hosts;
	o->log_dir = r->log_dir;
	o->passphrase = r->passphrase;
	o->ask_passphrase = ask_passphrase;
	o->fallback_key = r->own_key;
}

static int save_state(struct provider_run *run, struct error *err)
{
	return state_save(run->state, err);
}

int cli_run_open(struct cli_run *r, const char *path, const char *command,
		 int lock_timeout)
{
	struct error err;
	int rc;

	memset(r, 0, sizeof(*r));
	error_init(&err);
	r->path = path;
	r->command = command;
	rc = cli_load_topology(path, &r->t, &r->g);
	if (rc)
		return rc;
	if (state_backend_open(r->t, path, provider_state_store_open,
			       &r->backend, &err))
		goto fail;
	r->backend->stop = &cli_stop;
	if (lock_timeout >= 0 &&
	    state_backend_lock(r->backend, command, lock_timeout, &err))
		goto fail;
	if (state_backend_load(r->backend, r->t->name, &r->state, &err))
		goto fail;
	lifecycle_init(&r->lc, r->t, r->g, r->state);
	r->lc.save = save_state;
	r->lc.stop = &cli_stop;
	plan_bind_addresses(r->t, r->state);
	return EXIT_OK;
fail:
	print_error(&err);
	error_clear(&err);
	cli_run_close(r);
	return EXIT_FAIL;
}

int cli_run_start(struct cli_run *r, const struct args *a, const char *command,
		  struct event_summary *sum)
{
	const struct opt_value *grace = &a->opt[LC_OPT_GRACE];
	const struct opt_value *wait = &a->opt[LC_OPT_LOCK_TIMEOUT];
	int rc;

	cli_signals_install(grace->set ? (int)grace->num : 30);
	rc = cli_run_open(r, topology_arg(a), command,
			  wait->set ? (int)wait->num : 0);
	if (rc) {
		sum->exit_code = rc;
		event_summary(sum);
	}
	return rc;
}

int cli_run_failed(const struct error *err)
{
	print_error(err);
	return err->code == DEPLOY_ERR_INTERRUPTED ? EXIT_INTERRUPTED
						   : EXIT_FAIL;
}

int cli_run_end(struct cli_run *r, struct plan *p, struct error *err,
		struct event_summary *sum, int rc)
{
	if (p)
		sum->kept = p->keeps;
	sum->exit_code = rc;
	event_summary(sum);
	plan_free(p);
	error_clear(err);
	cli_run_close(r);
	return rc;
}

int cli_run_limit(struct cli_run *r, const struct command *cmd,
		  const char *limit)
{
	struct error err;
	int rc = EXIT_OK;

	if (!limit)
		return EXIT_OK;
	error_init(&err);
	if (topology_select(r->t, limit, &r->limit, &r->nr_limit, &err))
		rc = usage_error(cmd, "--limit: %s", err.msg);
	r->lc.limit = r->limit;
	r->lc.nr_limit = r->nr_limit;
	error_clear(&err);
	return rc;
}

void cli_run_close(struct cli_run *r)
{
	lifecycle_release(&r->lc);
	state_free(r->state);
	state_backend_free(r->backend); /* and its lock */
	graph_free(r->g);
	topology_free(r->t);
	free(r->authorized_keys);
	free(r->key_path);
	free(r->limit);
	free(r->log_dir);
	free(r->known_hosts);
	free(r->own_key);
	source_pins_free(r->pins, r->nr_sources);
	artifact_pins_free(r->artifacts, r->nr_artifacts);
	free(r->sources);
	if (r->passphrase)
		freezero(r->passphrase, strlen(r->passphrase));
	memset(r, 0, sizeof(*r));
}

/* Read KEY.pub into r when it is there. */
static bool try_key(struct cli_run *r, const char *key)
{
	char *priv = path_expand(key, NULL);
	struct buf pub = BUF_INIT, text;

	buf_init(&text, 64 << 10);
	buf_addf(&pub, "%s.pub", priv);
	if (buf_read_file(&text, pub.data)) {
		buf_free(&pub);
		buf_free(&text);
		free(priv);
		return false;
	}
	r->authorized_keys = buf_release(&text);
	r->key_path = priv;
	buf_free(&pub);
	return true;
}

int cli_run_keys(struct cli_run *r)
{
	static const char *const defaults[] = { "~/.ssh/id_ed25519",
						"~/.ssh/id_ecdsa",
						"~/.ssh/id_rsa", NULL };
	char *own = state_path_for(r->path, r->t->name, ".id_ed25519");
	struct error err;
	struct stat st;
	int rc = EXIT_OK;

	error_init(&err);
	if (r->t->ssh.key) {
		if (!try_key(r, r->t->ssh.key)) {
			print_message(
				"cannot read the public key '%s.pub' of "
				"ssh.key: new hosts need it to let deploy "
				"in",
				r->t->ssh.key);
			rc = EXIT_FAIL;
		}
		goto out;
	}
	for (size_t i = 0; defaults[i]; i++)
		if (try_key(r, defaults[i]))
			goto out;
	if (stat(own, &st)) {
		char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519",
				 "-N",	       "",   "-C", "deploy",
				 "-f",	       own,  NULL };

		fprintf(stderr,
			"deploy: no SSH key found (ssh.key, ~/.ssh/id_*): "
			"making %s for this topology\n",
			own);
		if (proc_check(argv, NULL, 30000, &err)) {
			print_error(&err);
			rc = EXIT_FAIL;
			goto out;
		}
	}
	if (!try_key(r, own)) {
		print_message("cannot read %s.pub", own);
		rc = EXIT_FAIL;
	}
out:
	r->lc.authorized_keys = r->authorized_keys;
	free(own);
	error_clear(&err);
	return rc;
}

bool cli_has_playbooks(const struct topology *t)
{
	for (size_t i = 0; i < t->nr_roles; i++)
		if (t->roles[i].nr_playbooks && t->roles[i].nr_hosts)
			return true;
	return false;
}

int cli_check_steps(struct cli_run *r, size_t *changes, bool diff)
{
	struct configure_opts o = { .check = true, .diff = diff };
	struct configure_result res;
	struct diag_list dl;
	struct error err;
	struct host **hosts;
	size_t n = 0;
	int rc = EXIT_OK;

	*changes = 0;
	if (!cli_has_playbooks(r->t))
		return EXIT_OK;
	/* Hosts not made yet have nothing to check. */
	hosts = xcalloc(r->t->nr_hosts + 1, sizeof(*hosts));
	for (size_t i = 0; i < r->t->nr_roles; i++)
		for (size_t j = 0; j < r->t->roles[i].nr_hosts; j++) {
			struct host *h = &r->t->roles[i].hosts[j];

			if (h->address &&
			    lifecycle_selected(&r->lc, h->name, h->role->name))
				hosts[n++] = h;
		}
	if (!n) {
		free(hosts);
		return EXIT_OK;
	}
	diag_list_init(&dl);
	error_init(&err);
	cli_ssh_options(r, &o.ssh);
	o.sources = r->sources;
	o.nr_sources = r->nr_sources;
	o.artifacts = r->artifacts;
	o.nr_artifacts = r->nr_artifacts;
	o.limit = hosts;
	o.nr_limit = n;
	memset(&res, 0, sizeof(res));
	if (configure_run(r->t, r->g, r->state, &o, &res, &dl, &err)) {
		print_diags(&dl, stderr);
		if (!dl.errors)
			print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < res.nr; i++) {
		const struct host_run *hr = &res.hosts[i];

		if (hr->status == HOST_OK && hr->changed) {
			printf("~ %s: %zu step%s would change\n",
			       hr->host->name, hr->changed,
			       hr->changed == 1 ? "" : "s");
			print_host_diffs(hr);
			(*changes)++;
		} else if (hr->status != HOST_OK) {
			printf("! %s: not checked: %s\n", hr->host->name,
			       hr->message ? hr->message
					   : host_run_status_name(hr->status));
			(*changes)++;
		}
	}
out:
	configure_result_free(&res);
	diag_list_free(&dl);
	error_clear(&err);
	free(hosts);
	return rc;
}

int confirm(const struct cli_run *r, const char *what, bool yes)
{
	bool mainnet = r->t->network && !strcmp(r->t->network, "mainnet");
	const char *word = mainnet ? r->t->name : "yes";
	char line[256];

	if (yes)
		return EXIT_OK;
	if (!isatty(STDIN_FILENO)) {
		print_message("not changing anything without a confirmation: "
			      "run on a terminal, or pass --yes");
		return EXIT_FAIL;
	}
	printf("\n%s %s'%s'? Type '%s' to go on: ", what,
	       mainnet ? "on mainnet topology " : "", r->t->name, word);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin)) {
		print_message("no answer: nothing changed");
		return EXIT_FAIL;
	}
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, word)) {
		print_message("answer was not '%s': nothing changed", word);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
