/* SPDX-License-Identifier: MIT */
/* deploy-test-tool playbook-*: validate, compile and inspect playbooks. */

/*
 * Playbooks from the shell tests:
 *
 *   deploy-test-tool playbook-validate FILE...
 *	load and check each playbook; problems on stderr, exit 1 if any
 *   deploy-test-tool playbook-compile --topology T --host H [--playbook P]...
 *	[--notify-dir D] [--nonce N] [--check] [--diff] [--address
 *HOST=ADDR[,PRIV]]... print host H's script (its role's playbooks, or those
 *given) deploy-test-tool playbook-context --topology T --host H [--playbook P]
 *	[--address HOST=ADDR[,PRIV]]...
 *	print the template data as JSON, secrets replaced by "[secret NAME]"
 *   deploy-test-tool playbook-markers --nonce N
 *	read a script's output on stdin, print its markers in short:
 *	"start 3 1 apply", "begin 1/3 LABEL", "1/3 changed MSG",
 *	"handler-begin 1/1 LABEL", "handler 1/1 ok", "end ok"
 *
 * Secrets come from the topology, as deploy reads them; playbook-compile
 * takes the topology's artifacts from the cache (fetched when missing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/compile.h"
#include "playbook/context.h"
#include "playbook/playbook.h"
#include "topology/topology.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "test-tool.h"
#include "util/banned.h"

#define MAX_ARGS 32

static void print_diag_list(const struct diag_list *dl)
{
	for (size_t i = 0; i < dl->nr; i++) {
		const struct diag *d = &dl->items[i];

		fprintf(stderr, "%s:%d:%d: %s: %s\n", d->file ? d->file : "?",
			d->line, d->col,
			d->level == DIAG_ERROR ? "error" : "warning", d->msg);
	}
}

static void print_err(const struct error *err)
{
	char msg[1024];

	error_format(err, msg, sizeof(msg));
	fprintf(stderr, "deploy-test-tool: %s\n", msg);
}

int cmd_playbook_validate(int argc, char **argv)
{
	int ret = 0;

	if (argc < 2) {
		fputs("usage: deploy-test-tool playbook-validate FILE...\n",
		      stderr);
		return 64;
	}
	for (int i = 1; i < argc; i++) {
		struct playbook *pb = NULL;
		struct diag_list dl;
		struct error err;

		diag_list_init(&dl);
		error_init(&err);
		if (playbook_load(argv[i], NULL, &pb, &dl, &err)) {
			ret = 1;
			if (err.code)
				print_err(&err);
		}
		print_diag_list(&dl);
		if (pb)
			printf("%s: %s: %zu steps, %zu handlers\n", argv[i],
			       pb->name, pb->nr_steps, pb->nr_handlers);
		playbook_free(pb);
		diag_list_free(&dl);
		error_clear(&err);
	}
	return ret;
}

struct opts {
	const char *topology;
	const char *host;
	const char *playbooks[MAX_ARGS];
	size_t nr_playbooks;
	struct host_address addrs[MAX_ARGS];
	char *addr_text[MAX_ARGS];
	size_t nr_addrs;
	struct compile_opts co;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--diff")) {
			o->co.diff = true;
			continue;
		}
		if (!strcmp(a, "--check")) {
			o->co.check = true;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--topology")) {
			o->topology = v;
		} else if (!strcmp(a, "--host")) {
			o->host = v;
		} else if (!strcmp(a, "--notify-dir")) {
			o->co.notify_dir = v;
		} else if (!strcmp(a, "--nonce")) {
			o->co.nonce = v;
		} else if (!strcmp(a, "--playbook") &&
			   o->nr_playbooks < MAX_ARGS) {
			o->playbooks[o->nr_playbooks++] = v;
		} else if (!strcmp(a, "--address") && o->nr_addrs < MAX_ARGS) {
			char *s = xstrdup(v), *eq = strchr(s, '='), *comma;
			struct host_address *h = &o->addrs[o->nr_addrs];

			o->addr_text[o->nr_addrs++] = s;
			if (!eq)
				return -1;
			*eq = '\0';
			comma = strchr(eq + 1, ',');
			if (comma)
				*comma = '\0';
			h->host = s;
			h->address = eq + 1;
			h->private_address = comma ? comma + 1 : NULL;
		} else {
			return -1;
		}
	}
	return o->topology && o->host ? 0 : -1;
}

struct loaded {
	struct topology *t;
	struct host_context *ctx;
	struct playbook *pbs[MAX_ARGS];
	size_t nr;
	struct secret_value *secrets;
	size_t nr_secrets;
};

static void unload(struct loaded *l, struct opts *o)
{
	for (size_t i = 0; i < l->nr; i++)
		playbook_free(l->pbs[i]);
	context_free(l->ctx);
	secrets_free(l->secrets, l->nr_secrets);
	topology_free(l->t);
	for (size_t i = 0; i < o->nr_addrs; i++)
		free(o->addr_text[i]);
}

static int load_playbook(struct loaded *l, const char *ref)
{
	struct diag_list dl;
	struct error err;
	char *path = NULL;
	int rc;

	diag_list_init(&dl);
	error_init(&err);
	rc = playbook_resolve(ref, l->t->dir, NULL, &path, &err);
	if (!rc)
		rc = playbook_load(path, NULL, &l->pbs[l->nr], &dl, &err);
	if (!rc)
		l->nr++;
	else if (err.code)
		print_err(&err);
	print_diag_list(&dl);
	free(path);
	diag_list_free(&dl);
	error_clear(&err);
	return rc;
}

static int load_all(struct opts *o, struct loaded *l)
{
	struct context_input in = { 0 };
	struct diag_list dl;
	struct error err;
	struct host *h;
	int rc;

	diag_list_init(&dl);
	error_init(&err);
	rc = topology_load(o->topology, &l->t, &dl, &err);
	print_diag_list(&dl);
	diag_list_free(&dl);
	if (rc) {
		if (err.code)
			print_err(&err);
		error_clear(&err);
		return rc;
	}
	h = topology_find_host(l->t, o->host);
	if (!h) {
		fprintf(stderr, "deploy-test-tool: no host '%s'\n", o->host);
		return DEPLOY_ERR_NOT_FOUND;
	}
	for (size_t i = 0; i < o->nr_playbooks && !rc; i++)
		rc = load_playbook(l, o->playbooks[i]);
	for (size_t i = 0; !o->nr_playbooks && i < h->role->nr_playbooks &&
			   !rc && l->nr < MAX_ARGS;
	     i++)
		rc = load_playbook(l, h->role->playbooks[i]);
	if (rc)
		return rc;
	diag_list_init(&dl);
	secrets_load(l->t, &l->secrets, &l->nr_secrets, &dl);
	print_diag_list(&dl);
	diag_list_free(&dl);
	in.secrets = l->secrets;
	in.nr_secrets = l->nr_secrets;
	in.addresses = o->addrs;
	in.nr_addresses = o->nr_addrs;
	rc = context_build(l->t, h, &in, &l->ctx, &err);
	if (rc)
		print_err(&err);
	error_clear(&err);
	return rc;
}

#define COMPILE_USAGE                                                     \
	"usage: deploy-test-tool playbook-compile --topology T --host H " \
	"[--playbook P]... [--notify-dir D] [--nonce N] [--check] "       \
	"[--address HOST=ADDR[,PRIVATE]]...\n"

int cmd_playbook_compile(int argc, char **argv)
{
	struct artifact_options ao = { 0 };
	struct artifact_pin *pins = NULL;
	struct opts o = { 0 };
	struct loaded l = { 0 };
	struct script *s = NULL;
	struct error err;
	int ret = 1;

	error_init(&err);
	if (parse_opts(argc, argv, &o)) {
		fputs(COMPILE_USAGE, stderr);
		unload(&l, &o);
		return 64;
	}
	if (load_all(&o, &l))
		goto out;
	/* The topology's artifacts, from the cache (fetched when missing). */
	if (l.t->nr_artifacts) {
		if (artifact_use(l.t, &ao, &pins, &err)) {
			print_err(&err);
			goto out;
		}
		o.co.artifacts = pins;
		o.co.nr_artifacts = l.t->nr_artifacts;
	}
	if (compile_script(l.ctx, l.pbs, l.nr, &o.co, &s, &err)) {
		print_err(&err);
		goto out;
	}
	if (fwrite(s->text.data, 1, s->text.len, stdout) != s->text.len ||
	    fflush(stdout))
		goto out;
	ret = 0;
out:
	script_free(s);
	if (pins)
		artifact_pins_free(pins, l.t->nr_artifacts);
	error_clear(&err);
	unload(&l, &o);
	return ret;
}

int cmd_playbook_context(int argc, char **argv)
{
	struct opts o = { 0 };
	struct loaded l = { 0 };
	struct buf red = BUF_INIT;
	cJSON *data = NULL;
	char *text = NULL;
	int ret = 1;

	if (parse_opts(argc, argv, &o)) {
		fputs("usage: deploy-test-tool playbook-context --topology T "
		      "--host H [--playbook P] [--address HOST=ADDR]...\n",
		      stderr);
		unload(&l, &o);
		return 64;
	}
	if (load_all(&o, &l))
		goto out;
	data = l.nr ? context_playbook_data(l.ctx, l.pbs[0])
		    : cJSON_Duplicate(l.ctx->data, true);
	text = cJSON_Print(data);
	if (!text)
		goto out;
	context_redact(l.ctx, text, strlen(text), &red);
	printf("%s\n", red.data);
	ret = 0;
out:
	if (text)
		freezero(text, strlen(text));
	context_data_free(data);
	buf_free(&red);
	unload(&l, &o);
	return ret;
}

static void print_text(const struct marker *m)
{
	if (m->text_len)
		printf(" %.*s", (int)m->text_len, m->text);
	putchar('\n');
}

int cmd_playbook_markers(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc != 3 || strcmp(argv[1], "--nonce")) {
		fputs("usage: deploy-test-tool playbook-markers --nonce N\n",
		      stderr);
		return 64;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		struct marker m;

		if (marker_parse(line, (size_t)n, argv[2], &m))
			continue;
		switch (m.type) {
		case MARKER_START:
			printf("start %zu %zu %s\n", m.total, m.handlers,
			       m.check ? "check" : "apply");
			break;
		case MARKER_STEP_BEGIN:
			printf("begin %zu/%zu", m.n, m.total);
			print_text(&m);
			break;
		case MARKER_STEP_DIFF:
			printf("%zu/%zu diff", m.n, m.total);
			print_text(&m);
			break;
		case MARKER_STEP_END:
			printf("%zu/%zu %s", m.n, m.total,
			       step_status_name(m.status));
			print_text(&m);
			break;
		case MARKER_HANDLER_BEGIN:
			printf("handler-begin %zu/%zu", m.n, m.total);
			print_text(&m);
			break;
		case MARKER_HANDLER_WAIT:
			printf("handler-wait %zu/%zu", m.n, m.total);
			print_text(&m);
			break;
		case MARKER_HANDLER_END:
			printf("handler %zu/%zu %s", m.n, m.total,
			       step_status_name(m.status));
			print_text(&m);
			break;
		case MARKER_END:
			printf("end %s\n", step_status_name(m.status));
			break;
		}
	}
	free(line);
	return 0;
}
