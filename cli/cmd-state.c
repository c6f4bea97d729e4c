/* SPDX-License-Identifier: MIT */
/* deploy state: list, show, rm, mv, pull, push and migrate the state. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "state/backend.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * deploy state list | show | rm | mv | pull | push | migrate: Terraform's
 * state commands, which operators know, over either backend.
 * A resource is named by its address PROVIDER.KIND.NAME ("aws.host.node-0");
 * a bare NAME is the host of that name.
 */

enum {
	OPT_JSON,
	OPT_YES,
	OPT_FORCE,
	OPT_TO,
	OPT_LOCK_TIMEOUT,
};

static const char *const to_choices[] = { "s3", "local", NULL };

static const struct opt_spec state_opts[] = {
	[OPT_JSON] = { "json", 0, OPT_FLAG, NULL, "show: print JSON", NULL },
	[OPT_YES] = { "yes", 'y', OPT_FLAG, NULL,
		      "rm: do not ask (needed without a terminal)", NULL },
	[OPT_FORCE] = { "force", 0, OPT_FLAG, NULL,
			"migrate: overwrite a state at the destination; "
			"push: an older serial or another lineage",
			NULL },
	[OPT_TO] = { "to", 0, OPT_STRING, "s3|local",
		     "migrate: the destination (default s3)", to_choices },
	[OPT_LOCK_TIMEOUT] = { "lock-timeout", 0, OPT_INT, "SECONDS",
			       "wait this long for another run's lock "
			       "(default 0)",
			       NULL },
	{ 0 },
};

static bool is_topology(const char *arg)
{
	size_t n = strlen(arg);

	return (n > 4 && !strcmp(arg + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(arg + n - 5, ".yaml"));
}

static int lock_timeout(const struct args *a)
{
	return a->opt[OPT_LOCK_TIMEOUT].set ? (int)a->opt[OPT_LOCK_TIMEOUT].num
					    : 0;
}

/* ADDRESS: PROVIDER.KIND.NAME, or the host NAME. */
static struct state_resource *find(struct state *s, const char *addr)
{
	const char *d1 = strchr(addr, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : 0;

	if (!d1 || !d2) {
		for (size_t i = 0; i < s->nr_resources; i++)
			if (!strcmp(s->resources[i].kind, "host") &&
			    !strcmp(s->resources[i].name, addr))
				return &s->resources[i];
		return NULL;
	}
	for (size_t i = 0; i < s->nr_resources; i++) {
		struct state_resource *r = &s->resources[i];

		if (strlen(r->provider) == (size_t)(d1 - addr) &&
		    !strncmp(r->provider, addr, (size_t)(d1 - addr)) &&
		    strlen(r->kind) == (size_t)(d2 - d1 - 1) &&
		    !strncmp(r->kind, d1 + 1, (size_t)(d2 - d1 - 1)) &&
		    !strcmp(r->name, d2 + 1))
			return r;
	}
	return NULL;
}

static int not_found(const struct cli_run *r, const char *addr)
{
	print_message("no resource '%s' in the state of '%s' (see 'deploy "
		      "state list')",
		      addr, r->t->name);
	return EXIT_FAIL;
}

static int save(struct cli_run *r)
{
	struct error err;
	int rc = EXIT_OK;

	error_init(&err);
	if (state_save(r->state, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
	}
	error_clear(&err);
	return rc;
}

static int list(const char *path)
{
	struct cli_run r;
	int rc = cli_run_open(&r, path, "deploy state list", -1);

	if (rc)
		return rc;
	for (size_t i = 0; i < r.state->nr_resources; i++) {
		const struct state_resource *res = &r.state->resources[i];

		printf("%s.%s.%s\n", res->provider, res->kind, res->name);
	}
	cli_run_close(&r);
	return EXIT_OK;
}

static cJSON *resource_json(const struct state *s,
			    const struct state_resource *res)
{
	const struct state_host *h =
		strcmp(res->kind, "host")
			? NULL
			: state_host_get((struct state *)s, res->name, false);
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "provider", res->provider);
	cJSON_AddStringToObject(o, "kind", res->kind);
	cJSON_AddStringToObject(o, "name", res->name);
	if (res->role)
		cJSON_AddStringToObject(o, "role", res->role);
	if (res->id)
		cJSON_AddStringToObject(o, "id", res->id);
	if (res->key)
		cJSON_AddStringToObject(o, "key", res->key);
	cJSON_AddStringToObject(o, "status", resource_status_name(res->status));
	if (res->attributes)
		cJSON_AddItemToObject(o, "attributes",
				      cJSON_Duplicate(res->attributes, true));
	if (h) {
		cJSON *ho = cJSON_AddObjectToObject(o, "host");

		if (h->address)
			cJSON_AddStringToObject(ho, "address", h->address);
		if (h->private_address)
			cJSON_AddStringToObject(ho, "private_address",
						h->private_address);
		cJSON_AddNumberToObject(ho, "port", h->port);
		if (h->host_key)
			cJSON_AddStringToObject(ho, "host_key", h->host_key);
		if (h->applied_at)
			cJSON_AddStringToObject(ho, "applied_at",
						h->applied_at);
		if (h->last_status)
			cJSON_AddStringToObject(ho, "last_status",
						h->last_status);
		if (h->last_message)
			cJSON_AddStringToObject(ho, "last_message",
						h->last_message);
	}
	return o;
}

static void show_text(const cJSON *o, const char *indent)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, o)
	{
		if (cJSON_IsObject(it)) {
			struct buf in = BUF_INIT;

			printf("%s%s:\n", indent, it->string);
			buf_addf(&in, "%s  ", indent);
			show_text(it, in.data);
			buf_free(&in);
		} else if (cJSON_IsString(it)) {
			printf("%s%s: %s\n", indent, it->string,
			       it->valuestring);
		} else {
			char *v = cJSON_PrintUnformatted(it);

			printf("%s%s: %s\n", indent, it->string, v);
			free(v);
		}
	}
}

static int show(const struct args *a, const char *addr, const char *path)
{
	struct cli_run r;
	struct state_resource *res;
	cJSON *o;
	int rc = cli_run_open(&r, path, "deploy state show", -1);

	if (rc)
		return rc;
	res = find(r.state, addr);
	if (!res) {
		rc = not_found(&r, addr);
		goto out;
	}
	o = resource_json(r.state, res);
	if (a->opt[OPT_JSON].set) {
		char *text = cJSON_Print(o);

		printf("%s\n", text);
		free(text);
	} else {
		printf("%s.%s.%s\n", res->provider, res->kind, res->name);
		show_text(o, "  ");
	}
	cJSON_Delete(o);
out:
	cli_run_close(&r);
	return rc;
}

static bool confirmed(const char *what, bool yes)
{
	char line[64];

	if (yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		print_message("not changing the state without a confirmation: "
			      "run on a terminal, or pass --yes");
		return false;
	}
	printf("%s Type 'yes' to go on: ", what);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n")) {
		print_message("answer was not 'yes': nothing changed");
		return false;
	}
	return true;
}

static int rm(const struct args *a, char **addrs, int n, const char *path)
{
	struct cli_run r;
	struct buf what = BUF_INIT;
	int rc = cli_run_open(&r, path, "deploy state rm", lock_timeout(a));

	if (rc)
		return rc;
	for (int i = 0; i < n; i++)
		if (!find(r.state, addrs[i])) {
			rc = not_found(&r, addrs[i]);
			goto out;
		}
	buf_addf(&what,
		 "Forget %d resource%s of '%s' without deleting %s at the "
		 "provider?",
		 n, n == 1 ? "" : "s", r.t->name, n == 1 ? "it" : "them");
	if (!confirmed(what.data, a->opt[OPT_YES].set)) {
		rc = EXIT_FAIL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct state_resource *res = find(r.state, addrs[i]);
		char *name = xstrdup(res->name);
		bool host = !strcmp(res->kind, "host");

		printf("Removed %s.%s.%s from the state%s%s%s.\n",
		       res->provider, res->kind, res->name,
		       res->id ? " (still at the provider: " : "",
		       res->id ? res->id : "", res->id ? ")" : "");
		state_resource_remove(r.state, res);
		if (host)
			state_host_remove(r.state, name);
		free(name);
	}
	rc = save(&r);
out:
	buf_free(&what);
	cli_run_close(&r);
	return rc;
}

static int mv(const struct args *a, const char *src, const char *dst,
	      const char *path)
{
	struct cli_run r;
	struct state_resource *res;
	const char *name = strrchr(dst, '.');
	int rc = cli_run_open(&r, path, "deploy state mv", lock_timeout(a));

	if (rc)
		return rc;
	res = find(r.state, src);
	if (!res) {
		rc = not_found(&r, src);
		goto out;
	}
	name = name ? name + 1 : dst;
	if (strchr(dst, '.')) {
		struct buf want = BUF_INIT;

		buf_addf(&want, "%s.%s.%s", res->provider, res->kind, name);
		if (strcmp(want.data, dst)) {
			print_message("'%s' moves only within its provider and "
				      "kind: '%s'",
				      src, want.data);
			rc = EXIT_FAIL;
		}
		buf_free(&want);
		if (rc)
			goto out;
	}
	if (state_resource_find(r.state, res->provider, res->kind, name)) {
		print_message("'%s.%s.%s' is already in the state",
			      res->provider, res->kind, name);
		rc = EXIT_FAIL;
		goto out;
	}
	printf("Moved %s.%s.%s to %s.%s.%s.\n", res->provider, res->kind,
	       res->name, res->provider, res->kind, name);
	if (!strcmp(res->kind, "host")) {
		struct state_host *h =
			state_host_get(r.state, res->name, false);
		const struct host *th = topology_find_host(r.t, name);

		if (h)
			state_host_set(&h->name, name);
		if (th)
			state_host_set(&res->role, th->role->name);
	}
	state_host_set(&res->name, name);
	rc = save(&r);
out:
	cli_run_close(&r);
	return rc;
}

/* The topology and its backend, without a lock or a read. */
static int open_backend(const char *path, struct topology **t, struct graph **g,
			struct state_backend **b)
{
	struct error err;
	int rc;

	*b = NULL;
	rc = cli_load_topology(path, t, g);
	if (rc)
		return rc;
	error_init(&err);
	if (state_backend_open(*t, path, provider_state_store_open, b, &err)) {
		print_error(&err);
		error_clear(&err);
		graph_free(*g);
		topology_free(*t);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int pull(const char *path)
{
	struct topology *t;
	struct graph *g;
	struct state_backend *b;
	struct buf text;
	struct error err;
	bool found;
	int rc = open_backend(path, &t, &g, &b);

	if (rc)
		return rc;
	error_init(&err);
	buf_init(&text, 64u << 20);
	if (state_backend_read_text(b, &text, &found, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
	} else if (!found) {
		print_message("no state at %s", b->where);
		rc = EXIT_FAIL;
	} else {
		fwrite(text.data, 1, text.len, stdout);
	}
	buf_free(&text);
	error_clear(&err);
	state_backend_free(b);
	graph_free(g);
	topology_free(t);
	return rc;
}

static int push(const struct args *a, const char *file, const char *path)
{
	struct cli_run r;
	struct state *in = NULL;
	struct buf text;
	struct error err;
	int rc = cli_run_open(&r, path, "deploy state push", lock_timeout(a));

	if (rc)
		return rc;
	error_init(&err);
	buf_init(&text, 64u << 20);
	if (buf_read_file(&text, file)) {
		print_message("%s: cannot read the state to push", file);
		rc = EXIT_FAIL;
		goto out;
	}
	if (state_from_text(file, text.data, text.len, r.t->name, &in, &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	if (r.state->exists && !a->opt[OPT_FORCE].set &&
	    strcmp(in->lineage, r.state->lineage)) {
		print_message("%s is of another lineage (%s) than the state "
			      "at %s (%s): not pushed (--force to replace "
			      "it)",
			      file, in->lineage, r.backend->where,
			      r.state->lineage);
		rc = EXIT_FAIL;
		goto out;
	}
	if (r.state->exists && !a->opt[OPT_FORCE].set &&
	    in->serial < r.state->serial) {
		print_message("%s has serial %ld, older than the state at %s "
			      "(serial %ld): not pushed (--force to replace "
			      "it)",
			      file, in->serial, r.backend->where,
			      r.state->serial);
		rc = EXIT_FAIL;
		goto out;
	}
	if (state_backend_write_text(r.backend, text.data, text.len, true,
				     &err)) {
		print_error(&err);
		rc = EXIT_FAIL;
		goto out;
	}
	printf("Pushed %s (serial %ld) to %s.\n", file, in->serial,
	       r.backend->where);
out:
	state_free(in);
	buf_free(&text);
	error_clear(&err);
	cli_run_close(&r);
	return rc;
}

static int migrate(const struct args *a, const char *path)
{
	struct topology *t;
	struct graph *g;
	struct state_backend *remote = NULL, *local = NULL, *src, *dst;
	struct state *check = NULL;
	struct buf text;
	struct error err;
	bool to_local =
		a->opt[OPT_TO].set && !strcmp(a->opt[OPT_TO].str, "local");
	bool found;
	int rc = cli_load_topology(path, &t, &g);

	if (rc)
		return rc;
	error_init(&err);
	buf_init(&text, 64u << 20);
	if (!t->state.s3) {
		print_message("the topology has no 'state: {s3: ...}': say "
			      "there where the state goes, then migrate");
		rc = EXIT_FAIL;
		goto out;
	}
	if (state_backend_open(t, path, provider_state_store_open, &remote,
			       &err) ||
	    state_backend_open_local(t, path, &local, &err))
		goto fail;
	src = to_local ? remote : local;
	dst = to_local ? local : remote;
	if (state_backend_lock(dst, "deploy state migrate", lock_timeout(a),
			       &err) ||
	    state_backend_lock(src, "deploy state migrate", lock_timeout(a),
			       &err) ||
	    state_backend_read_text(src, &text, &found, &err))
		goto fail;
	if (!found) {
		print_message("no state at %s to migrate", src->where);
		rc = EXIT_FAIL;
		goto out;
	}
	if (state_from_text(src->where, text.data, text.len, t->name, &check,
			    &err) ||
	    state_backend_write_text(dst, text.data, text.len,
				     a->opt[OPT_FORCE].set, &err))
		goto fail;
	printf("Copied the state of '%s' (serial %ld) from %s to %s.\n",
	       t->name, check->serial, src->where, dst->where);
	if (to_local)
		printf("deploy uses %s while the topology has 'state: {s3: "
		       "...}': remove it to work from the local file.\n",
		       dst->where);
	else
		printf("deploy now uses %s; %s is left as it was.\n",
		       dst->where, src->where);
	goto out;
fail:
	print_error(&err);
	rc = EXIT_FAIL;
out:
	state_free(check);
	buf_free(&text);
	error_clear(&err);
	state_backend_free(remote);
	state_backend_free(local);
	graph_free(g);
	topology_free(t);
	return rc;
}

static int state_exec(const struct command *cmd, struct args *a)
{
	const char *sub = a->nr_pos ? a->pos[0] : NULL;
	const char *path = "topology.yml";
	char *args[8];
	int n = 0;

	if (!sub)
		return usage_error(cmd, "missing subcommand: list, show, rm, "
					"mv, pull, push or migrate");
	for (int i = 1; i < a->nr_pos; i++) {
		if (i == a->nr_pos - 1 && is_topology(a->pos[i]))
			path = a->pos[i];
		else if (n < 8)
			args[n++] = a->pos[i];
	}
#define WANT(k)                                                              \
	do {                                                                 \
		if (n != (k))                                                \
			return usage_error(cmd,                              \
					   "'state %s' takes %d argument%s", \
					   sub, (k), (k) == 1 ? "" : "s");   \
	} while (0)
	if (!strcmp(sub, "list")) {
		WANT(0);
		return list(path);
	}
	if (!strcmp(sub, "show")) {
		WANT(1);
		return show(a, args[0], path);
	}
	if (!strcmp(sub, "rm")) {
		if (!n)
			return usage_error(cmd, "'state rm' takes ADDRESS...");
		return rm(a, args, n, path);
	}
	if (!strcmp(sub, "mv")) {
		WANT(2);
		return mv(a, args[0], args[1], path);
	}
	if (!strcmp(sub, "pull")) {
		WANT(0);
		return pull(path);
	}
	if (!strcmp(sub, "push")) {
		WANT(1);
		return push(a, args[0], path);
	}
	if (!strcmp(sub, "migrate")) {
		WANT(0);
		return migrate(a, path);
	}
#undef WANT
	return usage_error(cmd,
			   "unknown subcommand '%s': list, show, rm, mv, "
			   "pull, push or migrate",
			   sub);
}

const struct command cmd_state = {
	.name = "state",
	.summary = "list, show, forget, rename, pull, push or migrate the "
		   "state",
	.usage = "list [topology.yml]\n"
		 "       deploy state show [--json] ADDRESS [topology.yml]\n"
		 "       deploy state rm [--yes] [--lock-timeout SECONDS] "
		 "ADDRESS... [topology.yml]\n"
		 "       deploy state mv [--lock-timeout SECONDS] SOURCE "
		 "DESTINATION [topology.yml]\n"
		 "       deploy state pull [topology.yml]\n"
		 "       deploy state push [--force] [--lock-timeout SECONDS] "
		 "FILE [topology.yml]\n"
		 "       deploy state migrate [--to s3|local] [--force] "
		 "[--lock-timeout SECONDS] [topology.yml]",
	.description =
		"Work on the state where it lives (the local file, or S3 "
		"with state.s3).\nA resource's ADDRESS is PROVIDER.KIND.NAME "
		"(aws.host.node-0), or a host's name.\n\n"
		"list: every resource's address. show: one resource (and its "
		"host), --json\nfor JSON. rm: forget resources without "
		"deleting them (asks; --yes).\nmv: rename a resource (a host "
		"takes its new name's role). pull: print\nthe state. push: "
		"replace it with FILE, refused for another lineage or an\n"
		"older serial unless --force. migrate: copy the local state "
		"to S3 (or\n--to local, back), refused over an existing "
		"state unless --force.\nrm, mv, push and migrate take the run "
		"lock (--lock-timeout).",
	.opts = state_opts,
	.max_pos = 8,
	.exec = state_exec,
};
