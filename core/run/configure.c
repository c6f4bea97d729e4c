/* SPDX-License-Identifier: MIT */
/* up's configure phase: each host's script over SSH, in dependency order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "playbook/compile.h"
#include "providers/provider.h"
#include "playbook/context.h"
#include "playbook/playbook.h"
#include "run/configure.h"
#include "run/record.h"
#include "ssh/fleet.h"
#include "run/progress.h"
#include "template/template.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The built-in playbook that mounts a role's data disk. */
#define DISK_PLAYBOOK "disk"

struct runner;

/* One host's run: its script, its session, what its markers said. */
struct job {
	struct runner *r;
	struct host_run *hr;
	size_t role; /* index in t->roles */
	struct host_context *ctx;
	struct script *script;
	struct ssh_host *sh;
	struct progress progress; /* its stdout: markers, in order */
	bool started;
	/* Artifacts sent beside the script (playbook/push.c): what the host
	 * has of each push, and the transfers under way. */
	enum script_have *have;
	struct transfer *transfers;
	size_t sending;
	bool send_failed;
	bool announced; /* ops->host_start was called */
	bool parked;	/* probed, waiting for the artifacts' fetch */
};

/* One artifact on its way to a host, before the script. */
struct transfer {
	struct job *jb;
	size_t push; /* index in the script's pushes */
};

struct role_run {
	bool has_work; /* some host of it has playbooks */
	bool started;
	bool complete; /* every host done */
	bool well;     /* and all of them ok */
	size_t running;
	size_t next; /* next host to start, index into its jobs */
	struct job **jobs;
	size_t nr_jobs;
};

struct runner {
	const struct topology *t;
	const struct graph *g;
	struct state *state;
	const struct configure_opts *o;
	struct ssh_engine *engine;
	struct job *jobs;
	size_t nr_jobs;
	struct role_run *roles;
	struct playbook ***pbs; /* per role: its loaded playbooks */
	/* per role: how many (the built-in disk first, for a role with a
	 * data disk that does not list it), and where its own start */
	size_t *nr_pbs;
	size_t *first_pb;
	struct secret_value *secrets;
	size_t nr_secrets;
	struct host_address *addresses;
	size_t nr_addresses;
	struct configure_result *res;
	/* configure_opts.fetch under way on the engine's loop: hosts are
	 * probed, nothing more, until it ends. */
	struct artifact_fetch *fetch;
	bool fetching;
	bool fetch_failed;
	struct error fetch_err;
};

static const char *const status_names[] = {
	[HOST_WAITING] = "waiting",
	[HOST_RUNNING] = "running",
	[HOST_OK] = "ok",
	[HOST_FAILED] = "failed",
	[HOST_UNREACHABLE] = "unreachable",
	[HOST_SKIPPED] = "skipped",
};

const char *host_run_status_name(enum host_run_status s)
{
	return status_names[s];
}

static bool selected(const struct configure_opts *o, const struct host *h)
{
	if (!o->limit)
		return true;
	for (size_t i = 0; i < o->nr_limit; i++)
		if (o->limit[i] == h)
			return true;
	return false;
}

/* Load every role's playbooks once; problems go to dl. */
static int load_playbooks(struct runner *r, struct diag_list *dl,
			  struct error *err)
{
	const struct topology *t = r->t;

	r->pbs = xcalloc(t->nr_roles + 1, sizeof(*r->pbs));
	r->nr_pbs = xcalloc(t->nr_roles + 1, sizeof(*r->nr_pbs));
	r->first_pb = xcalloc(t->nr_roles + 1, sizeof(*r->first_pb));
	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *role = &t->roles[i];
		size_t first;

		if (!role->nr_playbooks || !role->nr_hosts)
			continue;
		/* The data disk is mounted before the role's playbooks run
		 * (playbooks/disk.yml), unless the role places it itself. */
		first = role->disk_size > 0 &&
			!role_runs_playbook(role, DISK_PLAYBOOK);
		r->first_pb[i] = first;
		r->nr_pbs[i] = first + role->nr_playbooks;
		r->pbs[i] = xcalloc(r->nr_pbs[i] + 1, sizeof(**r->pbs));
		for (size_t k = 0; k < r->nr_pbs[i]; k++) {
			size_t j = k < first ? 0 : k - first;
			const char *ref =
				k < first ? DISK_PLAYBOOK : role->playbooks[j];
			const struct ynode *at =
				k < first ? role->node
					  : role->playbook_nodes[j];
			size_t before = dl->errors;
			struct error e;
			char *path = NULL;
			int rc;

			error_init(&e);
			rc = playbook_resolve_in(ref, t->dir, r->o->datadir,
						 r->o->sources,
						 r->o->nr_sources, &path, &e);
			if (!rc)
				rc = playbook_load(path, r->o->datadir,
						   &r->pbs[i][k], dl, &e);
			/* Every failure leaves an error in dl: the run stops
			 * before any host, never with a missing playbook. One
			 * with a place in the playbook (its YAML) is reported
			 * there; others at the role's entry. */
			if (rc && dl->errors == before && e.file && e.line > 0)
				diag_add(dl, DIAG_ERROR, e.file, e.line, e.col,
					 "%s", e.msg);
			else if (rc && dl->errors == before && e.msg[0])
				diag_add(dl, DIAG_ERROR, t->file, at->line,
					 at->col, "%s", e.msg);
			else if (rc && dl->errors == before)
				diag_add(dl, DIAG_ERROR, t->file, at->line,
					 at->col, "playbook '%s': %s", ref,
					 deploy_strerror(rc));
			free(path);
			error_clear(&e);
		}
	}
	(void)err;
	return dl->errors ? DEPLOY_ERR_INVALID : 0;
}

static void collect_addresses(struct runner *r)
{
	const struct topology *t = r->t;

	r->addresses = xcalloc(t->nr_hosts + 1, sizeof(*r->addresses));
	for (size_t i = 0; i < t->nr_roles; i++) {
		for (size_t j = 0; j < t->roles[i].nr_hosts; j++) {
			const struct host *h = &t->roles[i].hosts[j];
			const struct state_host *sh =
				state_host_get(r->state, h->name, false);
			struct host_address *a =
				&r->addresses[r->nr_addresses++];

			a->host = h->name;
			a->address = h->address;
			if (t->roles[i].disk_size > 0) {
				cJSON *paths = cJSON_CreateArray();

				provider_disk_devices(t->roles[i].provider, t,
						      r->state, h, paths);
				a->disk_devices = paths;
			}
			a->private_address = sh && sh->private_address
						     ? sh->private_address
						     : h->address;
		}
	}
}

/* Compile each host's script; problems go to dl, at the role. */
static int compile_all(struct runner *r, struct diag_list *dl)
{
	const struct topology *t = r->t;
	struct context_input in = { r->secrets, r->nr_secrets, r->addresses,
				    r->nr_addresses };
	size_t n = 0;

	for (size_t i = 0; i < t->nr_roles; i++)
		for (size_t j = 0; r->pbs[i] && j < t->roles[i].nr_hosts; j++)
			n += selected(r->o, &t->roles[i].hosts[j]);
	r->jobs = xcalloc(n + 1, sizeof(*r->jobs));
	r->res->hosts = xcalloc(n + 1, sizeof(*r->res->hosts));
	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *role = &t->roles[i];
		struct role_run *rr = &r->roles[i];

		if (!r->pbs[i])
			continue;
		rr->has_work = true;
		rr->jobs = xcalloc(role->nr_hosts + 1, sizeof(*rr->jobs));
		for (size_t j = 0; j < role->nr_hosts; j++) {
			struct compile_opts co = {
				.check = r->o->check,
				.diff = r->o->diff,
				.artifacts = r->o->artifacts,
				.nr_artifacts = r->o->nr_artifacts,
				.defer_artifacts = true,
			};
			struct job *jb;
			struct error e;

			if (!selected(r->o, &role->hosts[j]))
				continue;
			jb = &r->jobs[r->nr_jobs++];
			error_init(&e);
			jb->r = r;
			jb->role = i;
			jb->hr = &r->res->hosts[r->res->nr++];
			jb->hr->host = &role->hosts[j];
			progress_init(&jb->progress, NULL, 0, 0);
			rr->jobs[rr->nr_jobs++] = jb;
			if (!role->hosts[j].address) {
				diag_add(dl, DIAG_ERROR, t->file,
					 role->node->line, role->node->col,
					 "host '%s' has no address yet "
					 "(provider '%s')",
					 role->hosts[j].name,
					 provider_name(role->provider));
				continue;
			}
			if (context_build(t, &role->hosts[j], &in, &jb->ctx,
					  &e) ||
			    compile_script(jb->ctx, r->pbs[i], r->nr_pbs[i],
					   &co, &jb->script, &e)) {
				char msg[sizeof(e.msg) + 64];

				error_format(&e, msg, sizeof(msg));
				diag_add(dl, DIAG_ERROR, NULL, 0, 0,
					 "host '%s': %s", role->hosts[j].name,
					 msg);
			}
			/* From here on the context only redacts. */
			context_drop_data(jb->ctx);
			jb->hr->nr_steps =
				jb->script ? jb->script->nr_steps : 0;
			if (jb->script)
				progress_init(&jb->progress, jb->script->nonce,
					      jb->script->nr_steps,
					      jb->script->nr_handlers);
			error_clear(&e);
		}
	}
	return dl->errors ? DEPLOY_ERR_INVALID : 0;
}

/*
 * With --limit, the hosts a selected host depends on (the roles its role
 * comes after or goes via) that are left out must have been configured
 * by an earlier run: the state says when.
 */
static int check_limit(struct runner *r, struct diag_list *dl)
{
	const struct topology *t = r->t;

	/* A check changes nothing: what it depends on need not be done. */
	for (size_t i = 0; r->o->limit && !r->o->check && i < r->g->nr; i++) {
		const struct graph_node *n = &r->g->nodes[i];
		bool wanted = false;

		for (size_t j = 0; j < n->role->nr_hosts; j++)
			wanted |=
				r->pbs[i] && selected(r->o, &n->role->hosts[j]);
		for (size_t d = 0; wanted && d < n->nr_deps; d++) {
			const struct role *dep = r->g->nodes[n->deps[d]].role;

			if (!dep->nr_playbooks)
				continue;
			for (size_t k = 0; k < dep->nr_hosts; k++) {
				const struct host *h = &dep->hosts[k];
				const struct state_host *sh = state_host_get(
					r->state, h->name, false);

				if (selected(r->o, h) || (sh && sh->applied_at))
					continue;
				diag_add(
					dl, DIAG_ERROR, t->file,
					n->role->node->line, n->role->node->col,
					"host '%s' (role '%s', which role "
					"'%s' depends on) has not been "
					"configured yet: add it to --limit, or "
					"run without --limit",
					h->name, dep->name, n->role->name);
			}
		}
	}
	return dl->errors ? DEPLOY_ERR_INVALID : 0;
}

static void set_message(struct job *jb, const char *text, size_t len)
{
	struct buf b = BUF_INIT;

	free(jb->hr->message);
	if (jb->ctx)
		context_redact(jb->ctx, text, len, &b);
	else
		buf_add(&b, text, len);
	jb->hr->message = buf_release(&b);
}

/* The diff of step n, made when its first line (or its end) comes. */
static struct step_diff *step_diff(struct job *jb, size_t n)
{
	struct host_run *hr = jb->hr;
	const struct script_item *item = &jb->script->items[n - 1];
	struct step_diff *d;

	if (hr->nr_diffs && hr->diffs[hr->nr_diffs - 1].step == n)
		return &hr->diffs[hr->nr_diffs - 1];
	hr->diffs = xrealloc(hr->diffs, (hr->nr_diffs + 1) * sizeof(*d));
	d = &hr->diffs[hr->nr_diffs++];
	memset(d, 0, sizeof(*d));
	d->step = n;
	d->label = xstrdup(item->label);
	return d;
}

/* A line of a diff from the host: redacted, control characters shown as
 * '?' (the host is not trusted with the operator's terminal). */
static void add_diff_line(struct job *jb, const struct marker *m)
{
	struct step_diff *d = step_diff(jb, m->n);
	struct buf b = BUF_INIT;
	size_t start;

	if (d->text)
		buf_adds(&b, d->text);
	free(d->text);
	start = b.len;
	if (jb->ctx)
		context_redact(jb->ctx, m->text, m->text_len, &b);
	else
		buf_add(&b, m->text, m->text_len);
	for (size_t i = start; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			b.data[i] = '?';
	buf_addch(&b, '\n');
	d->text = buf_release(&b);
}

/* What a waiting health check saw: redacted, control characters as '?'. */
static void set_waiting(struct job *jb, const struct marker *m)
{
	struct buf b = BUF_INIT;

	if (jb->ctx)
		context_redact(jb->ctx, m->text, m->text_len, &b);
	else
		buf_add(&b, m->text, m->text_len);
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			b.data[i] = '?';
	free(jb->hr->waiting);
	jb->hr->waiting = buf_release(&b);
}

/* A file or line step that changed content holding a secret: no diff
 * came (the script does not make one), say why. */
static void hide_diff(struct job *jb, const struct marker *m)
{
	const struct script_item *item = &jb->script->items[m->n - 1];
	struct step_diff *d;

	if (!item->secret || m->status != STATUS_CHANGED ||
	    (strcmp(item->kind, "file") && strcmp(item->kind, "line")))
		return;
	d = step_diff(jb, m->n);
	free(d->secret);
	d->secret = xstrdup(item->secret);
}

/* A marker in its place (progress.c checked the order). */
static void on_marker(void *data, const struct marker *mp)
{
	struct job *jb = data;
	const struct configure_opts *o = jb->r->o;
	struct host_run *hr = jb->hr;
	const struct script_item *item = NULL;
	struct marker m = *mp;

	switch (m.type) {
	case MARKER_START:
		hr->nr_steps = m.total;
		hr->nr_handlers = m.handlers;
		break;
	case MARKER_STEP_BEGIN:
	case MARKER_HANDLER_BEGIN:
		hr->step = m.n;
		hr->handler = m.type == MARKER_HANDLER_BEGIN;
		if (m.type == MARKER_STEP_BEGIN && m.n <= jb->script->nr_steps)
			item = &jb->script->items[m.n - 1];
		else if (m.n <= jb->script->nr_handlers)
			item = &jb->script
					->items[jb->script->nr_steps + m.n - 1];
		if (item) {
			hr->label = item->label;
			hr->kind = item->kind;
		}
		if (o->ops && o->ops->step)
			o->ops->step(o->data, hr, true);
		break;
	case MARKER_STEP_DIFF:
		if (o->diff && m.n <= jb->script->nr_steps)
			add_diff_line(jb, &m);
		break;
	case MARKER_HANDLER_WAIT:
		set_waiting(jb, &m);
		if (o->ops && o->ops->waiting)
			o->ops->waiting(o->data, hr);
		break;
	case MARKER_STEP_END:
	case MARKER_HANDLER_END:
		if (o->diff && m.type == MARKER_STEP_END &&
		    m.n <= jb->script->nr_steps)
			hide_diff(jb, &m);
		hr->last = step_status_name(m.status);
		if (m.status == STATUS_CHANGED)
			hr->changed++;
		else if (m.status == STATUS_FAILED)
			hr->failed++;
		else
			hr->ok++;
		if (m.status == STATUS_FAILED) {
			struct buf msg = BUF_INIT;

			buf_addf(&msg, "%s: ", hr->label ? hr->label : "step");
			/* A quiet step (it holds a secret) says no more. */
			if (m.text_len)
				buf_add(&msg, m.text, m.text_len);
			else
				buf_adds(&msg, "failed (a step that uses a "
					       "secret shows no message)");
			set_message(jb, msg.data, msg.len);
			buf_free(&msg);
		}
		if (o->ops && o->ops->step)
			o->ops->step(o->data, hr, false);
		break;
	case MARKER_END:
		break;
	}
}

static void on_output(void *data, struct ssh_host *h, int stream,
		      const char *buf, size_t len)
{
	struct job *jb = data;

	(void)h;
	if (stream != 1)
		return; /* other output: it is in the host's log */
	progress_feed(&jb->progress, buf, len, on_marker, jb);
}

static void pump(struct runner *r);

/* The host is left as it was: an artifact could not be had. Quiet: the
 * run's error says why. */
static void not_changed(struct job *jb)
{
	static const char msg[] = "not changed: an artifact could not be had";
	struct role_run *rr = &jb->r->roles[jb->role];

	set_message(jb, msg, sizeof(msg) - 1);
	jb->hr->status = HOST_SKIPPED;
	if (jb->started)
		rr->running--;
	jb->r->res->skipped++;
}

static void finish(struct job *jb, enum host_run_status st)
{
	const struct configure_opts *o = jb->r->o;
	struct role_run *rr = &jb->r->roles[jb->role];

	if (jb->started && !jb->announced && o->ops && o->ops->host_start)
		o->ops->host_start(o->data, jb->hr);
	jb->announced = true;
	jb->hr->status = st;
	if (jb->started)
		rr->running--;
	if (st == HOST_OK)
		jb->r->res->ok++;
	else if (st == HOST_SKIPPED)
		jb->r->res->skipped++;
	else
		jb->r->res->failed++;
	if (o->ops && o->ops->host_done)
		o->ops->host_done(o->data, jb->hr);
}

/*
 * The connection broke while the script ran (the host's sshd went, the
 * link or its bastion was lost): say which step was under way, since it
 * may be partly done, and why the connection went.
 */
static void lost_message(struct job *jb, const struct ssh_result *res)
{
	const struct host_run *hr = jb->hr;
	struct buf msg = BUF_INIT;

	buf_adds(&msg, "lost connection");
	if (jb->progress.open)
		buf_addf(&msg, " in %s %zu/%zu (%s), which may be partly done",
			 hr->handler ? "handler" : "step", hr->step,
			 hr->handler ? hr->nr_handlers : hr->nr_steps,
			 hr->label ? hr->label : "?");
	else if (jb->progress.started && hr->step)
		buf_addf(&msg, " after %s %zu/%zu",
			 hr->handler ? "handler" : "step", hr->step,
			 hr->handler ? hr->nr_handlers : hr->nr_steps);
	else
		buf_adds(&msg, " before the first step");
	buf_addf(&msg, ": %s", res->err.msg);
	set_message(jb, msg.data, msg.len);
	buf_free(&msg);
}

static bool connection_lost(const struct ssh_result *res)
{
	return res->why == SSH_WHY_LOST ||
	       (res->why == SSH_WHY_BASTION && res->elapsed_ms);
}

static void on_done(void *data, struct ssh_host *h,
		    const struct ssh_result *res)
{
	struct job *jb = data;

	(void)h;
	progress_close(&jb->progress, on_marker, jb);
	jb->hr->elapsed_ms = res->elapsed_ms;
	if (res->status == SSH_UNREACHABLE) {
		if (connection_lost(res))
			lost_message(jb, res);
		else
			set_message(jb, res->err.msg, strlen(res->err.msg));
		finish(jb, HOST_UNREACHABLE);
	} else if (jb->progress.lied) {
		/* What the host said of its steps cannot be believed. */
		struct buf msg = BUF_INIT;

		buf_addf(&msg, "protocol: %s", jb->progress.why);
		set_message(jb, msg.data, msg.len);
		buf_free(&msg);
		finish(jb, HOST_FAILED);
	} else if (res->status == SSH_OK && jb->progress.ended &&
		   jb->progress.end_ok) {
		finish(jb, HOST_OK);
	} else if (connection_lost(res) && !jb->hr->message) {
		lost_message(jb, res);
		finish(jb, HOST_FAILED);
	} else {
		if (!jb->hr->message) {
			struct buf msg = BUF_INIT;

			if (res->err.msg[0])
				buf_adds(&msg, res->err.msg);
			else
				buf_addf(&msg, "the script stopped (exit %d)",
					 res->exit_code);
			if (res->errout.len)
				buf_addf(&msg, ": %s", res->errout.data);
			set_message(jb, msg.data, msg.len);
			buf_free(&msg);
		}
		finish(jb, HOST_FAILED);
	}
	pump(jb->r);
}

static const struct ssh_exec_ops exec_ops = {
	.output = on_output,
	.done = on_done,
};

/* Send the script; the artifacts the host lacked are on it already. */
static void send_script(struct job *jb, bool later)
{
	const struct configure_opts *o = jb->r->o;
	struct buf text = BUF_INIT;
	struct error e;

	error_init(&e);
	/* The script goes on stdin: as an argument, any user of the host
	 * could read it (and the secrets in it) in the process list. */
	if (script_expand(jb->script, jb->have, &text, &e) ||
	    ssh_exec_input(jb->sh, o->check ? "sh -s -- --check" : "sh -s --",
			   SSH_EXEC_ROOT, text.data, text.len, &exec_ops, jb,
			   &e)) {
		set_message(jb, e.msg, strlen(e.msg));
		finish(jb, HOST_UNREACHABLE);
		if (later) /* from a callback, not from pump() */
			pump(jb->r);
	}
	buf_free_secret(&text);
	error_clear(&e);
}

/* Once no transfer is in flight: the script goes, or, when one failed,
 * the host is done (it was finished as failed) and the next job starts. */
static void after_sends(struct job *jb)
{
	if (jb->sending)
		return;
	if (jb->send_failed)
		pump(jb->r);
	else
		send_script(jb, true);
}

/* An artifact's transfer ended; after the last, the script goes. */
static void on_transfer_done(void *data, struct ssh_host *h,
			     const struct ssh_result *res)
{
	struct transfer *tr = data;
	struct job *jb = tr->jb;
	const struct script_push *p = &jb->script->pushes[tr->push];

	(void)h;
	jb->sending--;
	if (res->status == SSH_OK) {
		jb->hr->sent_bytes += p->size;
		jb->hr->sent_ms += res->elapsed_ms;
		jb->hr->sent++;
	} else if (!jb->send_failed) {
		struct buf msg = BUF_INIT;

		jb->send_failed = true;
		buf_addf(&msg, "artifact '%s' was not sent: %s", p->name,
			 res->err.msg);
		if (res->errout.len)
			buf_addf(&msg, ": %s", res->errout.data);
		/* Its half copy is gone; nothing on the host changed. */
		set_message(jb, msg.data, msg.len);
		buf_free(&msg);
		finish(jb, res->status == SSH_UNREACHABLE ? HOST_UNREACHABLE
							  : HOST_FAILED);
	}
	after_sends(jb);
}

static const struct ssh_exec_ops transfer_ops = {
	.done = on_transfer_done,
};

/*
 * What the host has of the script's artifacts, asked first on the same
 * session: those it lacks are sent, each once, before the script, on
 * channels of their own (never inside the script, which is read whole);
 * a check sends nothing.
 */
static void send_pushes(struct job *jb)
{
	const struct script *sc = jb->script;
	struct error e;

	error_init(&e);
	for (size_t i = 0; !jb->r->o->check && i < sc->nr_pushes; i++) {
		const struct script_push *p = &sc->pushes[i];
		struct transfer *tr = &jb->transfers[i];
		struct buf cmd = BUF_INIT;
		bool sent = false;

		if (jb->have[i] != HAVE_NOTHING)
			continue;
		for (size_t j = 0; j < i && !sent; j++)
			sent = jb->have[j] == HAVE_NOTHING &&
			       !strcmp(sc->pushes[j].sha256, p->sha256);
		if (sent)
			continue;
		tr->jb = jb;
		tr->push = i;
		script_transfer(p, &cmd);
		if (ssh_exec_file(jb->sh, cmd.data, SSH_EXEC_ROOT, p->path,
				  jb->r->o->transfer_idle_ms
					  ? jb->r->o->transfer_idle_ms
					  : CONFIGURE_TRANSFER_IDLE_MS,
				  &transfer_ops, tr, &e)) {
			buf_free(&cmd);
			if (!jb->send_failed) {
				jb->send_failed = true;
				set_message(jb, e.msg, strlen(e.msg));
				finish(jb, HOST_FAILED);
			}
			break;
		}
		buf_free(&cmd);
		jb->sending++;
	}
	error_clear(&e);
	after_sends(jb);
}

static void on_probe_done(void *data, struct ssh_host *h,
			  const struct ssh_result *res)
{
	struct job *jb = data;
	const struct script *sc = jb->script;
	struct runner *r = jb->r;

	if (res->status == SSH_UNREACHABLE) {
		ssh_host_hold(h, false);
		set_message(jb, res->err.msg, strlen(res->err.msg));
		finish(jb, HOST_UNREACHABLE);
		pump(r);
		return;
	}
	jb->have = xcalloc(sc->nr_pushes + 1, sizeof(*jb->have));
	jb->transfers = xcalloc(sc->nr_pushes + 1, sizeof(*jb->transfers));
	script_probe_parse(sc, res->out.data, jb->have);
	if (r->fetching) {
		/* Connected and probed; the rest changes the host. */
		jb->parked = true;
		return;
	}
	ssh_host_hold(h, false);
	if (r->fetch_failed) {
		not_changed(jb);
		pump(r);
		return;
	}
	send_pushes(jb);
}

static const struct ssh_exec_ops probe_ops = {
	.done = on_probe_done,
};

static void start(struct job *jb)
{
	const struct configure_opts *o = jb->r->o;
	struct role_run *rr = &jb->r->roles[jb->role];
	struct buf cmd = BUF_INIT;
	struct error e;

	error_init(&e);
	jb->started = true;
	jb->hr->status = HOST_RUNNING;
	rr->running++;
	if (!jb->r->fetching) {
		jb->announced = true;
		if (o->ops && o->ops->host_start)
			o->ops->host_start(o->data, jb->hr);
	}
	if (!jb->script->nr_pushes && !jb->r->fetching) {
		send_script(jb, false);
		return;
	}
	/* While artifacts are fetched, every host is reached and probed
	 * (with no artifact to ask about, the probe is `true`), and its
	 * session kept for what comes after. */
	if (jb->r->fetching)
		ssh_host_hold(jb->sh, true);
	script_probe(jb->script, &cmd);
	if (ssh_exec(jb->sh, cmd.data, SSH_EXEC_ROOT, &probe_ops, jb, &e)) {
		ssh_host_hold(jb->sh, false);
		set_message(jb, e.msg, strlen(e.msg));
		finish(jb, HOST_UNREACHABLE);
	}
	buf_free(&cmd);
	error_clear(&e);
}

static void skip_role(struct runner *r, size_t i, const char *why)
{
	struct role_run *rr = &r->roles[i];

	for (size_t j = 0; j < rr->nr_jobs; j++) {
		struct job *jb = rr->jobs[j];
		struct buf msg = BUF_INIT;

		buf_addf(&msg, "dependency failed (%s)", why);
		set_message(jb, msg.data, msg.len);
		buf_free(&msg);
		finish(jb, HOST_SKIPPED);
	}
	rr->next = rr->nr_jobs;
}

/*
 * serial: N is a rolling rollout: once a host of the role has failed (its
 * playbooks, or its health gate), the hosts not started yet are left
 * untouched. Returns whether it stopped any.
 */
static bool stop_rollout(struct role_run *rr, const struct role *role)
{
	const char *failed = NULL;
	struct buf msg = BUF_INIT;

	for (size_t j = 0; j < rr->next && !failed; j++)
		if (rr->jobs[j]->hr->status == HOST_FAILED ||
		    rr->jobs[j]->hr->status == HOST_UNREACHABLE)
			failed = rr->jobs[j]->hr->host->name;
	if (!failed)
		return false;
	buf_addf(&msg, "not started: the rollout (serial %d) stopped at %s",
		 role->serial, failed);
	for (; rr->next < rr->nr_jobs; rr->next++) {
		set_message(rr->jobs[rr->next], msg.data, msg.len);
		finish(rr->jobs[rr->next], HOST_SKIPPED);
	}
	buf_free(&msg);
	return true;
}

/* The run was interrupted: the role's hosts not started never will be. */
static bool stop_interrupted(struct role_run *rr)
{
	static const char msg[] = "not started: interrupted";

	if (rr->next == rr->nr_jobs)
		return false;
	for (; rr->next < rr->nr_jobs; rr->next++) {
		set_message(rr->jobs[rr->next], msg, sizeof(msg) - 1);
		finish(rr->jobs[rr->next], HOST_SKIPPED);
	}
	return true;
}

/* An artifact could not be had: the role's hosts not started never will
 * be. */
static bool stop_not_changed(struct role_run *rr)
{
	if (rr->next == rr->nr_jobs)
		return false;
	for (; rr->next < rr->nr_jobs; rr->next++)
		not_changed(rr->jobs[rr->next]);
	return true;
}

/*
 * The artifacts' fetch ended: the hosts probed meanwhile go on, or, when
 * one could not be had, are left as they were.
 */
static void on_fetched(void *data, int rc, const struct error *err)
{
	struct runner *r = data;

	r->fetching = false;
	if (rc) {
		r->fetch_failed = true;
		r->res->artifacts_failed = true;
		error_set(&r->fetch_err, rc, err->file, err->line, err->col,
			  "%s", err->msg);
	}
	for (size_t i = 0; i < r->nr_jobs; i++) {
		struct job *jb = &r->jobs[i];
		struct script *sc = jb->script;
		struct stat st;

		/* Compiled before the bytes were in: their sizes now. */
		for (size_t k = 0; sc && k < sc->nr_pushes; k++)
			if (!sc->pushes[k].size &&
			    !stat(sc->pushes[k].path, &st))
				sc->pushes[k].size = (uint64_t)st.st_size;
		if (!jb->parked)
			continue;
		jb->parked = false;
		if (rc) {
			not_changed(jb);
		} else {
			const struct configure_opts *o = r->o;

			jb->announced = true;
			if (o->ops && o->ops->host_start)
				o->ops->host_start(o->data, jb->hr);
			send_pushes(jb);
		}
		ssh_host_hold(jb->sh, false);
	}
	pump(r);
}

/* Start what can start; mark roles complete. Called after every change. */
static void pump(struct runner *r)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (size_t i = 0; i < r->g->nr; i++) {
			struct role_run *rr = &r->roles[i];
			const struct graph_node *n = &r->g->nodes[i];
			const struct role *role = n->role;
			const char *failed_dep = NULL;
			bool deps_done = true;
			size_t limit;

			if (rr->complete)
				continue;
			if (r->fetch_failed) {
				changed |= stop_not_changed(rr);
				rr->started = true;
				if (!rr->running) {
					rr->complete = true;
					rr->well = false;
					changed = true;
				}
				continue;
			}
			for (size_t d = 0; d < n->nr_deps; d++) {
				const struct role_run *dr =
					&r->roles[n->deps[d]];

				if (!dr->complete)
					deps_done = false;
				else if (!dr->well)
					failed_dep = r->g->nodes[n->deps[d]]
							     .role->name;
			}
			if (!deps_done)
				continue;
			if (!rr->started && failed_dep) {
				/* Its hosts are skipped, and so is whatever
				 * comes after it, playbooks or not. */
				skip_role(r, i, failed_dep);
				rr->started = rr->complete = true;
				rr->well = false;
				changed = true;
				continue;
			}
			rr->started = true;
			if (r->o->stop && *r->o->stop)
				changed |= stop_interrupted(rr);
			if (role->serial > 0 && rr->next < rr->nr_jobs)
				changed |= stop_rollout(rr, role);
			limit = role->serial > 0 ? (size_t)role->serial
						 : rr->nr_jobs;
			while (rr->next < rr->nr_jobs && rr->running < limit) {
				start(rr->jobs[rr->next++]);
				changed = true;
			}
			if (rr->next == rr->nr_jobs && !rr->running) {
				rr->complete = true;
				rr->well = true;
				for (size_t j = 0; j < rr->nr_jobs; j++)
					rr->well &= rr->jobs[j]->hr->status ==
						    HOST_OK;
				changed = true;
			}
		}
	}
}

/* Each host's outcome into the state (run/record.c). */
static void record(struct runner *r)
{
	char when[32];

	record_now(when, sizeof(when));
	for (size_t i = 0; i < r->nr_jobs; i++) {
		struct job *jb = &r->jobs[i];
		struct state_host *sh;

		/* A host not started keeps no record unless it had one. */
		sh = state_host_get(r->state, jb->hr->host->name,
				    jb->hr->status != HOST_SKIPPED);
		if (!sh)
			continue;
		state_host_set(&sh->last_status,
			       host_run_status_name(jb->hr->status));
		state_host_set(&sh->last_message, jb->hr->status == HOST_OK
							  ? NULL
							  : jb->hr->message);
		if (jb->hr->status == HOST_OK)
			record_applied(sh, when, jb->script, jb->hr->host->role,
				       r->pbs[jb->role] +
					       r->first_pb[jb->role]);
	}
}

/* At up, a secret that cannot be read is an error, not a warning. */
static void load_secrets(struct runner *r, struct diag_list *dl)
{
	secrets_load(r->t, &r->secrets, &r->nr_secrets, dl);
	for (size_t i = 0; i < dl->nr; i++)
		if (dl->items[i].level == DIAG_WARNING) {
			dl->items[i].level = DIAG_ERROR;
			dl->warnings--;
			dl->errors++;
		}
}

static void free_playbooks(struct runner *r)
{
	for (size_t i = 0; r->pbs && i < r->t->nr_roles; i++) {
		for (size_t j = 0; r->pbs[i] && j < r->nr_pbs[i]; j++)
			playbook_free(r->pbs[i][j]);
		free(r->pbs[i]);
	}
	free(r->pbs);
	free(r->nr_pbs);
	free(r->first_pb);
	r->pbs = NULL;
	r->nr_pbs = NULL;
	r->first_pb = NULL;
}

int configure_preflight(const struct topology *t,
			const struct configure_opts *o, struct diag_list *dl)
{
	struct runner r = { .t = t, .o = o };

	load_secrets(&r, dl);
	if (!dl->errors)
		load_playbooks(&r, dl, NULL);
	free_playbooks(&r);
	secrets_free(r.secrets, r.nr_secrets);
	return dl->errors ? DEPLOY_ERR_INVALID : 0;
}

int configure_run(const struct topology *t, const struct graph *g,
		  struct state *s, const struct configure_opts *o,
		  struct configure_result *res, struct diag_list *dl,
		  struct error *err)
{
	struct runner r = { .t = t, .g = g, .state = s, .o = o, .res = res };
	struct ssh_fleet *fleet = NULL;
	struct redact_secret *red = NULL;
	struct ssh_options so;
	int rc;

	memset(res, 0, sizeof(*res));
	error_init(&r.fetch_err);
	r.roles = xcalloc(t->nr_roles + 1, sizeof(*r.roles));
	load_secrets(&r, dl);
	rc = dl->errors ? DEPLOY_ERR_INVALID : 0;
	if (!rc)
		rc = load_playbooks(&r, dl, err);
	if (!rc)
		rc = check_limit(&r, dl);
	if (!rc) {
		collect_addresses(&r);
		rc = compile_all(&r, dl);
	}
	if (!rc && !r.nr_jobs && o->fetch) {
		/* No host to reach meanwhile: fetched now. */
		rc = artifact_fetch_missing(t, o->fetch_opts, o->fetch,
					    o->nr_artifacts, err);
		res->artifacts_failed = rc != 0;
	}
	if (rc || !r.nr_jobs)
		goto out;
	/* Every secret of the topology, out of every host's output. */
	so = o->ssh;
	red = xcalloc(r.nr_secrets + 1, sizeof(*red));
	for (size_t i = 0; i < r.nr_secrets; i++)
		red[i] = (struct redact_secret){ r.secrets[i].name,
						 r.secrets[i].value,
						 r.secrets[i].len };
	so.secrets = red;
	so.nr_secrets = r.nr_secrets;
	rc = ssh_engine_new(&so, &r.engine, err);
	if (rc)
		goto out;
	fleet = ssh_fleet_new(r.engine, t, s);
	for (size_t i = 0; !rc && i < r.nr_jobs; i++)
		rc = ssh_fleet_host(fleet, r.jobs[i].hr->host, &r.jobs[i].sh,
				    err);
	if (rc)
		goto out;
	if (o->fetch) {
		struct http_client *hc = ssh_engine_http(r.engine);

		if (!hc) {
			rc = error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0,
				       "cannot start requests");
			goto out;
		}
		r.fetching = true;
		artifact_fetch_start(t, o->fetch_opts, o->fetch,
				     o->nr_artifacts, hc, on_fetched, &r,
				     &r.fetch);
	}
	pump(&r);
	rc = ssh_engine_run(r.engine, err);
	if (!rc && r.fetch_failed)
		rc = error_set(err, r.fetch_err.code, r.fetch_err.file,
			       r.fetch_err.line, r.fetch_err.col, "%s",
			       r.fetch_err.msg);
	if (!rc && !o->check)
		record(&r);
out:
	ssh_fleet_free(fleet);
	ssh_engine_free(r.engine);
	/* After the engine: its loop ran the fetch's transfers. */
	artifact_fetch_free(r.fetch);
	error_clear(&r.fetch_err);
	free(red);
	for (size_t i = 0; i < r.nr_jobs; i++) {
		script_free(r.jobs[i].script);
		free(r.jobs[i].have);
		free(r.jobs[i].transfers);
		context_free(r.jobs[i].ctx);
		progress_free(&r.jobs[i].progress);
	}
	for (size_t i = 0; i < t->nr_roles; i++)
		free(r.roles[i].jobs);
	free_playbooks(&r);
	free(r.roles);
	free(r.jobs);
	for (size_t i = 0; i < r.nr_addresses; i++)
		cJSON_Delete((cJSON *)r.addresses[i].disk_devices);
	free(r.addresses);
	secrets_free(r.secrets, r.nr_secrets);
	return rc;
}

void configure_result_free(struct configure_result *res)
{
	for (size_t i = 0; i < res->nr; i++) {
		struct host_run *hr = &res->hosts[i];

		free(hr->message);
		for (size_t j = 0; j < hr->nr_diffs; j++) {
			free(hr->diffs[j].label);
			free(hr->diffs[j].secret);
			free(hr->diffs[j].text);
		}
		free(hr->diffs);
		free(hr->waiting);
	}
	free(res->hosts);
	memset(res, 0, sizeof(*res));
}
