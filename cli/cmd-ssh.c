/* SPDX-License-Identifier: MIT */
/* deploy ssh and deploy ssh-config: OpenSSH onto the fleet's hosts. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "providers/provider.h"
#include "ssh/fleet.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/proc.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Both commands write the same ssh_config text: one block per host that
 * has an address (and whose bastions have one), named after the host, with
 * its bastion as ProxyJump, so that a chain of bastions is followed hop by
 * hop. A host whose key deploy pinned in the state is checked against
 * that key only: a known_hosts file deploy writes (the key under the
 * host's name, HostKeyAlias) and StrictHostKeyChecking yes. Other hosts
 * (an inventory's, never contacted by deploy) are checked against the
 * topology's ssh.known_hosts, again strictly.
 */
struct ssh_conf_out {
	struct cli_run *r;
	const char *known_hosts; /* the file the pinned keys go to */
	char *user_known_hosts;	 /* ssh.known_hosts, absolute; or NULL */
	char **default_keys;	 /* identities when a host names no key */
	size_t nr_default_keys;
	struct buf config;
	struct buf keys; /* known_hosts lines */
	unsigned nr_hosts, nr_pinned, nr_skipped;
};

/* path from the current directory, without a leading "./". */
static char *absolute(const char *path)
{
	struct buf b = BUF_INIT;
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	while (!strncmp(path, "./", 2))
		path += 2;
	buf_addf(&b, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	return buf_release(&b);
}

/* A value as ssh_config reads it: in double quotes when it has blanks. */
static void add_value(struct buf *b, const char *key, const char *value)
{
	if (strpbrk(value, " \t"))
		buf_addf(b, "  %s \"%s\"\n", key, value);
	else
		buf_addf(b, "  %s %s\n", key, value);
}

static bool safe_value(const char *s)
{
	return s && *s && !strpbrk(s, "\"\n\r#");
}

static const char *pinned_key(struct cli_run *r, const struct host *h)
{
	const struct state_host *sh = state_host_get(r->state, h->name, false);

	return sh && sh->host_key && *sh->host_key ? sh->host_key : NULL;
}

/* The port the way deploy reaches the host (as ssh/fleet.c does). */
static int host_port(struct cli_run *r, const struct host *h)
{
	const struct state_host *sh = state_host_get(r->state, h->name, false);

	if (sh && sh->port > 0 &&
	    !provider_uses_existing_hosts(h->role->provider))
		return sh->port;
	return h->port > 0 ? h->port : 22;
}

static const struct host *bastion_of(const struct host *h)
{
	const struct role *v = h->role->via.role;

	return v && v->nr_hosts ? &v->hosts[0] : NULL;
}

/* NULL when h can be reached, else why not (h or a bastion lacks an
 * address, or holds a character ssh_config cannot carry). */
static const char *unreachable(const struct host *h)
{
	for (; h; h = bastion_of(h)) {
		if (!h->address)
			return "no address yet: run 'deploy up' first";
		if (!safe_value(h->address) || !safe_value(h->user) ||
		    strpbrk(h->name, " \t\"#"))
			return "a name, address or user ssh_config cannot hold";
	}
	return NULL;
}

/* Keep key's type and base64 words: "ssh-ed25519 AAAA..". */
static void add_pinned(struct buf *b, const char *alias, const char *key)
{
	const char *p = key;
	int words = 0;

	while (*p && words < 2) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		words++;
	}
	buf_addf(b, "%s %.*s\n", alias, (int)(p - key), key);
}

static void add_host(struct ssh_conf_out *o, const struct host *h)
{
	struct cli_run *r = o->r;
	const struct host *via = bastion_of(h);
	const char *pin = pinned_key(r, h), *why = unreachable(h);
	struct buf *b = &o->config;

	if (why) {
		buf_addf(b, "# %s: %s\n\n", h->name, why);
		o->nr_skipped++;
		return;
	}
	buf_addf(b, "Host %s\n", h->name);
	add_value(b, "HostName", h->address);
	add_value(b, "User", h->user);
	buf_addf(b, "  Port %d\n", host_port(r, h));
	if (via)
		add_value(b, "ProxyJump", via->name);
	if (h->key) {
		char *rel = path_expand(h->key, r->t->dir);
		char *key = absolute(rel);

		add_value(b, "IdentityFile", key);
		free(key);
		free(rel);
	} else {
		for (size_t i = 0; i < o->nr_default_keys; i++)
			add_value(b, "IdentityFile", o->default_keys[i]);
	}
	if (pin) {
		add_value(b, "HostKeyAlias", h->name);
		add_value(b, "UserKnownHostsFile", o->known_hosts);
		add_value(b, "GlobalKnownHostsFile", "/dev/null");
		add_value(b, "UpdateHostKeys", "no");
		add_pinned(&o->keys, h->name, pin);
		o->nr_pinned++;
	} else {
		add_value(b, "UserKnownHostsFile",
			  o->user_known_hosts ? o->user_known_hosts
					      : "~/.ssh/known_hosts");
	}
	add_value(b, "StrictHostKeyChecking", "yes");
	buf_adds(b, "\n");
	o->nr_hosts++;
}

/*
 * The identities for hosts that name no key: those deploy gives new hosts
 * (cli_run_keys: ~/.ssh/id_{ed25519,ecdsa,rsa}, then the key made for the
 * topology), each that exists. An IdentityFile line stops ssh from trying
 * its defaults, so they are listed too.
 */
static void find_default_keys(struct ssh_conf_out *o)
{
	static const char *const defaults[] = { "~/.ssh/id_ed25519",
						"~/.ssh/id_ecdsa",
						"~/.ssh/id_rsa" };
	char *own = state_path_for(o->r->path, o->r->t->name, ".id_ed25519");
	struct stat st;

	o->default_keys = xcalloc(4, sizeof(*o->default_keys));
	for (size_t i = 0; i < 4; i++) {
		char *p =
			i < 3 ? path_expand(defaults[i], NULL) : absolute(own);

		if (!stat(p, &st))
			o->default_keys[o->nr_default_keys++] = p;
		else
			free(p);
	}
	free(own);
}

static void conf_init(struct ssh_conf_out *o, struct cli_run *r,
		      const char *known_hosts)
{
	memset(o, 0, sizeof(*o));
	o->r = r;
	o->known_hosts = known_hosts;
	o->config = (struct buf)BUF_INIT;
	o->keys = (struct buf)BUF_INIT;
	if (r->t->ssh.known_hosts) {
		char *p = path_expand(r->t->ssh.known_hosts, r->t->dir);

		o->user_known_hosts = absolute(p);
		free(p);
	}
	find_default_keys(o);
}

static void conf_free(struct ssh_conf_out *o)
{
	for (size_t i = 0; i < o->nr_default_keys; i++)
		free(o->default_keys[i]);
	free(o->default_keys);
	free(o->user_known_hosts);
	buf_free(&o->config);
	buf_free(&o->keys);
}

static void conf_all_hosts(struct ssh_conf_out *o)
{
	const struct topology *t = o->r->t;

	buf_addf(&o->config,
		 "# Hosts of topology '%s', written by deploy ssh-config.\n\n",
		 t->name);
	for (size_t i = 0; i < t->nr_roles; i++)
		for (size_t j = 0; j < t->roles[i].nr_hosts; j++)
			add_host(o, &t->roles[i].hosts[j]);
}

/* --- deploy ssh-config ------------------------------------------------- */

enum {
	OPT_CFG_OUTPUT,
};

static const struct opt_spec ssh_config_opts[] = {
	[OPT_CFG_OUTPUT] = { "output", 'o', OPT_STRING, "FILE",
			     "write the config to FILE (mode 0600) instead of "
			     "standard output",
			     NULL },
	{ 0 },
};

static int ssh_config_exec(const struct command *cmd, struct args *a)
{
	const char *out = a->opt[OPT_CFG_OUTPUT].str;
	struct ssh_conf_out o;
	struct cli_run r;
	struct error err;
	char *rel, *kh, *dir;
	int rc;

	(void)cmd;
	error_init(&err);
	rc = cli_run_open(&r, topology_arg(a), "deploy ssh-config", -1);
	if (rc)
		return rc;
	rel = state_path_for(r.path, r.t->name, ".known_hosts");
	kh = absolute(rel);
	dir = dir_of(kh);
	conf_init(&o, &r, kh);
	conf_all_hosts(&o);
	rc = EXIT_FAIL;
	if (mkdir_p(dir, 0700, &err) ||
	    file_replace(kh, o.keys.data, o.keys.len, 0600, NULL,
			 "the pinned host keys", &err))
		goto fail;
	if (out) {
		if (file_replace(out, o.config.data, o.config.len, 0600, NULL,
				 NULL, &err))
			goto fail;
	} else {
		fputs(o.config.data, stdout);
	}
	fprintf(stderr, "deploy: %u hosts (%u with a pinned key in %s)",
		o.nr_hosts, o.nr_pinned, kh);
	if (o.nr_skipped)
		fprintf(stderr, ", %u without an address", o.nr_skipped);
	fputs("\n", stderr);
	rc = EXIT_OK;
fail:
	if (rc)
		print_error(&err);
	error_clear(&err);
	conf_free(&o);
	free(dir);
	free(kh);
	free(rel);
	cli_run_close(&r);
	return rc;
}

const struct command cmd_ssh_config = {
	.name = "ssh-config",
	.summary = "print an ssh_config block for every host",
	.usage = "[--output FILE] [topology.yml]",
	.description =
		"Print one ssh_config block per host (Host, HostName, User, "
		"Port, ProxyJump\nthrough its bastions, IdentityFile, "
		"UserKnownHostsFile, StrictHostKeyChecking\nyes), so that "
		"ssh, scp, rsync and editors reach the hosts as deploy does:\n"
		"  deploy ssh-config > fleet.conf && ssh -F fleet.conf "
		"validator-0\nThe host keys pinned in the state are written to "
		".deploy/NAME.known_hosts\n(mode 0600) beside it, which the "
		"blocks name; other hosts are checked\nagainst ssh.known_hosts.",
	.opts = ssh_config_opts,
	.max_pos = 1,
	.exec = ssh_config_exec,
};

/* --- deploy ssh -------------------------------------------------------- */

static const struct opt_spec ssh_opts[] = {
	{ 0 },
};

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/*
 * Run argv in the foreground, on this terminal. SIGINT and SIGQUIT go to
 * it from the terminal (deploy ignores them meanwhile); SIGTERM and SIGHUP
 * sent to deploy are passed on, so deploy lives to remove its files. Its
 * exit status, 128 + the signal that killed it, or -1 with errno.
 */
static int run_foreground(char *const argv[])
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { 0 };
	struct sigaction old[4];
	static const int sigs[4] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP };
	int status, rc;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		proc_env_scrub(); /* ssh gets no secret of deploy's */
		execvp(argv[0], argv);
		fprintf(stderr, "deploy: cannot run '%s': %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	fwd.sa_handler = forward_signal;
	sigemptyset(&fwd.sa_mask);
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], i < 2 ? &ign : &fwd, &old[i]);
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	child_pid = 0;
	if (rc < 0)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int unknown_host(const struct command *cmd, const struct topology *t,
			const char *name)
{
	const char **names = xcalloc(t->nr_hosts + 1, sizeof(*names));
	const char *hint;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < t->nr_roles; i++)
		for (size_t j = 0; j < t->roles[i].nr_hosts; j++)
			names[n++] = t->roles[i].hosts[j].name;
	hint = suggest(name, names, n);
	if (hint)
		rc = usage_error(cmd, "no host '%s' (did you mean '%s'?)", name,
				 hint);
	else
		rc = usage_error(cmd, "no host '%s' in the topology", name);
	free(names);
	return rc;
}

static int ssh_cmd_exec(const struct command *cmd, struct args *a)
{
	const char *name, *why, *tmp = getenv("TMPDIR");
	struct buf dir = BUF_INIT;
	struct ssh_conf_out o;
	struct cli_run r;
	struct error err;
	struct buf kh = BUF_INIT, cfg = BUF_INIT;
	const struct host *h;
	char **argv = NULL;
	bool made = false;
	int rc;

	if (!a->nr_pos)
		return usage_error(cmd, "which host? (deploy ssh HOST)");
	name = a->pos[0];
	error_init(&err);
	/* The topology is the second positional argument. */
	rc = cli_run_open(&r, a->nr_pos > 1 ? a->pos[1] : "topology.yml",
			  "deploy ssh", -1);
	if (rc)
		return rc;
	h = topology_find_host(r.t, name);
	if (!h) {
		rc = unknown_host(cmd, r.t, name);
		cli_run_close(&r);
		return rc;
	}
	why = unreachable(h);
	if (why) {
		print_message("host '%s': %s", h->name, why);
		cli_run_close(&r);
		return EXIT_FAIL;
	}
	rc = EXIT_FAIL;
	buf_addf(&dir, "%s/deploy-ssh.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir.data)) {
		error_set(&err, DEPLOY_ERR_IO, NULL, 0, 0,
			  "cannot make a directory like '%s': %s", dir.data,
			  strerror(errno));
		goto out;
	}
	made = true;
	buf_addf(&kh, "%s/known_hosts", dir.data);
	buf_addf(&cfg, "%s/config", dir.data);
	conf_init(&o, &r, kh.data);
	conf_all_hosts(&o);
	if (file_replace(kh.data, o.keys.data, o.keys.len, 0600, NULL,
			 "the pinned host keys", &err) ||
	    file_replace(cfg.data, o.config.data, o.config.len, 0600, NULL,
			 "the ssh config", &err)) {
		conf_free(&o);
		goto out;
	}
	conf_free(&o);
	argv = xcalloc((size_t)a->nr_rest + 6, sizeof(*argv));
	argv[0] = "ssh";
	argv[1] = "-F";
	argv[2] = cfg.data;
	argv[3] = "--";
	argv[4] = (char *)h->name;
	for (int i = 0; i < a->nr_rest; i++)
		argv[5 + i] = a->rest[i];
	rc = run_foreground(argv);
	if (rc < 0) {
		error_set(&err, DEPLOY_ERR_IO, NULL, 0, 0, "cannot run ssh: %s",
			  strerror(errno));
		rc = EXIT_FAIL;
	}
out:
	if (rc == EXIT_FAIL && err.code)
		print_error(&err);
	if (kh.len)
		unlink(kh.data);
	if (cfg.len)
		unlink(cfg.data);
	if (made)
		rmdir(dir.data);
	free(argv);
	buf_free(&dir);
	buf_free(&kh);
	buf_free(&cfg);
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

const struct command cmd_ssh = {
	.name = "ssh",
	.summary = "open an SSH session to a host, through its bastions",
	.usage = "HOST [topology.yml] [-- COMMAND...]",
	.description =
		"Run OpenSSH's ssh to HOST as deploy reaches it: through the "
		"bastions of its\n'via' chain (ProxyJump), as the topology's "
		"ssh user with its key and port,\nand with the host key pinned "
		"in the state (StrictHostKeyChecking yes: a\nchanged key is "
		"refused). The known_hosts and config files it writes for\n"
		"the call (mode 0600) are removed when ssh ends. Without "
		"COMMAND the session\nis interactive. The exit code is ssh's "
		"(255 when ssh itself failed).",
	.opts = ssh_opts,
	.max_pos = 2,
	.takes_rest = true,
	.exec = ssh_cmd_exec,
};
