/* SPDX-License-Identifier: MIT */
/* deploy run: a command on every host over SSH, output by host or grouped. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "graph/graph.h"
#include "playbook/context.h"
#include "ssh/engine.h"
#include "ssh/fleet.h"
#include "topology/select.h"
#include "topology/topology.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	OPT_LIMIT,
	OPT_GROUP,
	OPT_PARALLEL,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
};

static const struct opt_spec run_opts[] = {
	[OPT_LIMIT] = { "limit", 'l', OPT_STRING, "LIST",
			"only these roles and hosts (comma-separated names)",
			NULL },
	[OPT_GROUP] = { "group", 'g', OPT_FLAG, NULL,
			"print identical outputs once, with their hosts",
			NULL },
	[OPT_PARALLEL] = { "parallel", 'p', OPT_INT, "N",
			   "hosts worked on at once (default 64)", NULL },
	[OPT_TIMEOUT] = { "timeout", 't', OPT_INT, "SECONDS",
			  "time allowed to the command (default 600)", NULL },
	[OPT_CONNECT_TIMEOUT] = { "connect-timeout", 0, OPT_INT, "SECONDS",
				  "time allowed to reach a host (default 10)",
				  NULL },
	{ 0 },
};

#define MAX_SECONDS  (7 * 24 * 3600)
#define MAX_PARALLEL 10000
#define MAX_LINE     (64u << 10)

struct run_host {
	const struct host *host;
	struct buf partial[2]; /* an unfinished line of stdout, stderr */
	bool done;
	struct buf out; /* --group: the kept stdout */
	bool grouped;
};

struct run {
	bool group;
	struct run_host *hosts;
	size_t nr;
	unsigned ok;
	unsigned failed;
	unsigned unreachable;
	const char *log_dir;
};

/* --- output ------------------------------------------------------------ */

static void print_line(const struct run_host *rh, int stream, const char *s,
		       size_t len)
{
	FILE *f = stream == 1 ? stdout : stderr;

	fprintf(f, "%s: %.*s\n", rh->host->name, (int)len, s);
}

/* Print each complete line as "HOST: LINE", keeping the rest for later. */
static void print_lines(struct run_host *rh, int stream, const char *buf,
			size_t len)
{
	struct buf *p = &rh->partial[stream - 1];
	const char *nl;

	while (len && (nl = memchr(buf, '\n', len)) != NULL) {
		size_t n = (size_t)(nl - buf);

		if (p->len) {
			buf_add(p, buf, n);
			print_line(rh, stream, p->data, p->len);
			buf_reset(p);
		} else {
			print_line(rh, stream, buf, n);
		}
		buf += n + 1;
		len -= n + 1;
	}
	if (!len)
		return;
	/* A line longer than MAX_LINE is cut into pieces. */
	if (buf_add(p, buf, len)) {
		print_line(rh, stream, p->data, p->len);
		buf_reset(p);
		buf_add(p, buf, len);
	}
}

static void flush_partial(struct run_host *rh, int stream)
{
	struct buf *p = &rh->partial[stream - 1];

	if (p->len)
		print_line(rh, stream, p->data, p->len);
	buf_free(p);
}

static void print_size(FILE *f, uint64_t n)
{
	if (n >= (1u << 20))
		fprintf(f, "%.1f MiB", (double)n / (1u << 20));
	else if (n >= 1024)
		fprintf(f, "%.1f KiB", (double)n / 1024);
	else
		fprintf(f, "%llu bytes", (unsigned long long)n);
}

struct run_ctx {
	struct run *run;
	struct run_host *rh;
};

static void run_done(void *data, struct ssh_host *h, const struct ssh_result *r)
{
	struct run_ctx *c = data;
	struct run *run = c->run;
	struct run_host *rh = c->rh;

	(void)h;
	if (!run->group)
		flush_partial(rh, 1);
	flush_partial(rh, 2);
	rh->done = true;
	switch (r->status) {
	case SSH_OK:
		run->ok++;
		break;
	case SSH_FAILED:
		run->failed++;
		break;
	case SSH_UNREACHABLE:
		run->unreachable++;
		break;
	}
	if (r->status != SSH_OK)
		print_message("%s", r->err.msg);
	if (run->group) {
		buf_add(&rh->out, r->out.data, r->out.len);
		if (r->out_dropped) {
			fprintf(stderr, "deploy: host '%s': only the last ",
				rh->host->name);
			print_size(stderr, r->out.len);
			fprintf(stderr, " of its output is shown (");
			print_size(stderr, r->out_dropped);
			fprintf(stderr,
				" before it were left out); all of "
				"it is in %s/%s.log\n",
				run->log_dir, rh->host->name);
		}
	}
	fflush(stdout);
}

/* --- --group ------------------------------------------------------------ */

struct range_set {
	char *prefix;
	int width; /* zero-padded digits, or 0 */
	long *nums;
	size_t nr;
	size_t alloc;
};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Host names as pdsh's hostlist writes them: "web-1,web-2,web-3,db" is
 * "web-[1-3],db". Names sharing a prefix before their trailing number are
 * merged where they first appear; the numbers become sorted ranges.
 */
static void compress_hosts(const char *const *names, size_t nr, struct buf *out)
{
	struct range_set *sets = xcalloc(nr + 1, sizeof(*sets));
	size_t nsets = 0;

	for (size_t i = 0; i < nr; i++) {
		const char *name = names[i];
		size_t len = strlen(name), d = len;
		struct range_set *s = NULL;
		int width;

		while (d > 0 && isdigit((unsigned char)name[d - 1]))
			d--;
		if (d == len || len - d > 9) {
			sets[nsets].prefix = xstrdup(name);
			sets[nsets++].width = -1;
			continue;
		}
		width = name[d] == '0' && len - d > 1 ? (int)(len - d) : 0;
		for (size_t j = 0; j < nsets && !s; j++)
			if (sets[j].width == width &&
			    strlen(sets[j].prefix) == d &&
			    !strncmp(sets[j].prefix, name, d))
				s = &sets[j];
		if (!s) {
			s = &sets[nsets++];
			s->prefix = xstrndup(name, d);
			s->width = width;
		}
		XGROW(s->nums, s->alloc, s->nr + 1);
		s->nums[s->nr++] = strtol(name + d, NULL, 10);
	}
	for (size_t i = 0; i < nsets; i++) {
		struct range_set *s = &sets[i];

		if (out->len)
			buf_addch(out, ',');
		buf_adds(out, s->prefix);
		if (s->width < 0)
			goto next;
		qsort(s->nums, s->nr, sizeof(*s->nums), cmp_long);
		if (s->nr == 1) {
			buf_addf(out, "%0*ld", s->width, s->nums[0]);
			goto next;
		}
		buf_addch(out, '[');
		for (size_t j = 0; j < s->nr;) {
			size_t k = j;

			while (k + 1 < s->nr &&
			       s->nums[k + 1] <= s->nums[k] + 1)
				k++;
			buf_addf(out, "%s%0*ld", j ? "," : "", s->width,
				 s->nums[j]);
			if (s->nums[k] != s->nums[j])
				buf_addf(out, "-%0*ld", s->width, s->nums[k]);
			j = k + 1;
		}
		buf_addch(out, ']');
next:
		free(s->prefix);
		free(s->nums);
	}
	free(sets);
}

/* dshbak -c: each distinct output once, under the hosts that printed it. */
static void print_groups(struct run *run)
{
	const char **names = xcalloc(run->nr + 1, sizeof(*names));

	for (size_t i = 0; i < run->nr; i++) {
		struct run_host *a = &run->hosts[i];
		struct buf header = BUF_INIT;
		size_t n = 0;

		if (a->grouped || !a->out.len)
			continue;
		for (size_t j = i; j < run->nr; j++) {
			struct run_host *b = &run->hosts[j];

			if (!b->grouped && b->out.len == a->out.len &&
			    !memcmp(b->out.data, a->out.data, a->out.len)) {
				b->grouped = true;
				names[n++] = b->host->name;
			}
		}
		compress_hosts(names, n, &header);
		printf("----------------\n%s\n----------------\n", header.data);
		fwrite(a->out.data, 1, a->out.len, stdout);
		if (a->out.data[a->out.len - 1] != '\n')
			putchar('\n');
		buf_free(&header);
	}
	free(names);
}

/* --- the command ---------------------------------------------------------- */

static int seconds_opt(const struct command *cmd, const struct args *a, int idx,
		       long dflt, unsigned *ms)
{
	long v = a->opt[idx].set ? a->opt[idx].num : dflt;

	if (v < 1 || v > MAX_SECONDS)
		return usage_error(cmd, "--%s must be from 1 to %d seconds",
				   run_opts[idx].name, MAX_SECONDS);
	*ms = (unsigned)v * 1000u;
	return 0;
}

static char *join_words(char **words, int nr)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < nr; i++) {
		if (i)
			buf_addch(&b, ' ');
		buf_adds(&b, words[i]);
	}
	return buf_release(&b);
}

static void stream_output(void *data, struct ssh_host *h, int stream,
			  const char *buf, size_t len)
{
	struct run_ctx *c = data;

	if (c->run->group && stream == 1)
		return;
	(void)h;
	print_lines(c->rh, stream, buf, len);
}

static int run_exec(const struct command *cmd, struct args *a)
{
	struct ssh_options o;
	static const struct ssh_exec_ops ops = { stream_output, run_done };
	struct run run;
	struct run_ctx *ctx = NULL;
	struct cli_run cr;
	struct topology *t;
	struct host **sel = NULL;
	struct ssh_engine *e = NULL;
	struct ssh_fleet *fleet = NULL;
	struct secret_value *secrets = NULL;
	struct redact_secret *red = NULL;
	struct diag_list dl;
	struct error err;
	char *command = NULL;
	size_t nsel = 0, nr_secrets = 0;
	unsigned parallel, fit;
	int rc;

	memset(&run, 0, sizeof(run));
	memset(&o, 0, sizeof(o));
	error_init(&err);
	diag_list_init(&dl);
	if (!a->nr_rest)
		return usage_error(cmd, "no command: give it after '--', as "
					"in deploy run topology.yml -- uptime");
	if (seconds_opt(cmd, a, OPT_TIMEOUT, 600, &o.command_timeout_ms) ||
	    seconds_opt(cmd, a, OPT_CONNECT_TIMEOUT, 10, &o.connect_timeout_ms))
		return EXIT_USAGE;
	parallel = SSH_DEFAULT_PARALLEL;
	if (a->opt[OPT_PARALLEL].set) {
		long p = a->opt[OPT_PARALLEL].num;

		if (p < 1 || p > MAX_PARALLEL)
			return usage_error(cmd,
					   "--parallel must be from 1 to %d",
					   MAX_PARALLEL);
		parallel = (unsigned)p;
	}
	/* The state, read without the lock, gives the addresses and host
	 * keys of the hosts `deploy up` made. */
	rc = cli_run_open(&cr, topology_arg(a), "run", -1);
	if (rc)
		return rc;
	t = cr.t;
	if (topology_select(
		    t, a->opt[OPT_LIMIT].set ? a->opt[OPT_LIMIT].str : NULL,
		    &sel, &nsel, &err)) {
		rc = usage_error(cmd, "--limit: %s", err.msg);
		goto out;
	}
	fit = ssh_fit_open_files(parallel, ssh_fleet_count_bastions(t));
	if (fit < parallel) {
		print_message("the open-file limit allows %u hosts at once: "
			      "--parallel lowered from %u to %u",
			      fit, parallel, fit);
		parallel = fit;
	}

	cli_ssh_options(&cr, &o);
	run.group = a->opt[OPT_GROUP].set;
	run.log_dir = cr.log_dir;
	run.nr = nsel;
	run.hosts = xcalloc(nsel + 1, sizeof(*run.hosts));
	ctx = xcalloc(nsel + 1, sizeof(*ctx));
	o.parallel = parallel;
	/* The topology's secrets, out of every host's output (one that
	 * cannot be read is not needed to run a command: no warning). */
	secrets_load(t, &secrets, &nr_secrets, &dl);
	red = xcalloc(nr_secrets + 1, sizeof(*red));
	for (size_t i = 0; i < nr_secrets; i++)
		red[i] = (struct redact_secret){ secrets[i].name,
						 secrets[i].value,
						 secrets[i].len };
	o.secrets = red;
	o.nr_secrets = nr_secrets;
	if (ssh_engine_new(&o, &e, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	fleet = ssh_fleet_new(e, t, cr.state);
	command = join_words(a->rest, a->nr_rest);
	for (size_t i = 0; i < nsel; i++) {
		struct run_host *rh = &run.hosts[i];
		struct ssh_host *sh;

		rh->host = sel[i];
		buf_init(&rh->partial[0], MAX_LINE);
		buf_init(&rh->partial[1], MAX_LINE);
		buf_init(&rh->out, 0);
		ctx[i].run = &run;
		ctx[i].rh = rh;
		error_clear(&err);
		if (ssh_fleet_host(fleet, sel[i], &sh, &err) ||
		    ssh_exec(sh, command, SSH_EXEC_ROOT, &ops, &ctx[i], &err)) {
			print_message("%s", err.msg);
			rh->done = true;
			run.failed++;
		}
	}
	error_clear(&err);
	rc = ssh_engine_run(e, &err) ? EXIT_FAIL : EXIT_OK;
	if (rc)
		print_error(&err);
	if (run.group)
		print_groups(&run);
	fflush(stdout);
	fprintf(stderr, "%u ok, %u failed, %u unreachable\n", run.ok,
		run.failed, run.unreachable);
	if (run.failed || run.unreachable)
		rc = EXIT_FAIL;
out:
	ssh_fleet_free(fleet);
	ssh_engine_free(e);
	for (size_t i = 0; i < run.nr; i++) {
		buf_free(&run.hosts[i].partial[0]);
		buf_free(&run.hosts[i].partial[1]);
		buf_free(&run.hosts[i].out);
	}
	free(run.hosts);
	free(ctx);
	free(command);
	free(sel);
	free(red);
	secrets_free(secrets, nr_secrets);
	diag_list_free(&dl);
	error_clear(&err);
	cli_run_close(&cr);
	return rc;
}

const struct command cmd_run = {
	.name = "run",
	.summary = "run a command on every host over SSH",
	.usage = "[--limit LIST] [--group] [--parallel N] [--timeout SECONDS] "
		 "[--connect-timeout SECONDS] [topology.yml] -- COMMAND...",
	.description =
		"Run COMMAND on every host of the topology (or those --limit "
		"names), through\ntheir bastions ('via'), many at once over "
		"one SSH connection each. The\ncommand runs as root: through "
		"'sudo -n' when the SSH user is not root.\nEach output line "
		"is printed as 'HOST: LINE' (standard error to standard\n"
		"error); --group prints each distinct output once under the "
		"hosts that\nprinted it, as dshbak -c does. Every host's "
		"whole output goes to\n.deploy/logs/HOST.log beside the "
		"topology. A last line on standard error\ncounts the hosts: "
		"'N ok, M failed, K unreachable'. Exit code 1 when any\nhost "
		"failed or was unreachable. See docs/ssh.md.",
	.opts = run_opts,
	.max_pos = 1,
	.takes_rest = true,
	.exec = run_exec,
};
