/* --json events of plan, up and down: JSON lines on stdout (events.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/events.h"
#include "config.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The step that is running on each host, to time it. */
struct step_clock {
	const struct host_run *hr;
	double begun;
};

static struct {
	FILE *out; /* the original stdout; NULL while events are off */
	bool check;
	struct step_clock *clocks;
	size_t nr_clocks;
	double resource_begun;
} ev;

static void events_stop(void)
{
	if (ev.out)
		fclose(ev.out);
	free(ev.clocks);
	memset(&ev, 0, sizeof(ev));
}

void events_start(const char *command)
{
	int fd;
	cJSON *o;

	fflush(stdout);
	fd = dup(STDOUT_FILENO);
	if (fd < 0)
		return;
	ev.out = fdopen(fd, "w");
	if (!ev.out) {
		close(fd);
		return;
	}
	/* From now on a printf() is a human line: it goes to stderr. */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	atexit(events_stop);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "version");
	cJSON_AddStringToObject(o, "deploy", DEPLOY_VERSION);
	cJSON_AddNumberToObject(o, "ui", 1);
	cJSON_AddStringToObject(o, "command", command);
	events_emit(o);
}

bool events_on(void)
{
	return ev.out != NULL;
}

void events_emit(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	fprintf(ev.out ? ev.out : stdout, "%s\n", s);
	fflush(ev.out ? ev.out : stdout);
	free(s);
	cJSON_Delete(o);
}

static const char *action_name(enum plan_op op)
{
	return op == PLAN_CREATE ? "create" : "destroy";
}

void event_resource(const struct plan_item *it, enum plan_progress what)
{
	static const char *const phases[] = {
		[PLAN_ITEM_START] = "start",
		[PLAN_ITEM_DONE] = "done",
		[PLAN_ITEM_FAILED] = "failed",
	};
	cJSON *o;

	if (!ev.out)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "resource");
	cJSON_AddStringToObject(o, "action", action_name(it->op));
	cJSON_AddStringToObject(o, "phase", phases[what]);
	cJSON_AddStringToObject(o, "provider", it->provider->name);
	cJSON_AddStringToObject(o, "kind", it->kind);
	cJSON_AddStringToObject(o, "name", it->name);
	if (it->role)
		cJSON_AddStringToObject(o, "role", it->role);
	/* Creates of a provider's level run together: the time is that
	 * of the batch, from the first start to the end. */
	if (what == PLAN_ITEM_START && !ev.resource_begun)
		ev.resource_begun = now_ms();
	if (what != PLAN_ITEM_START) {
		cJSON_AddNumberToObject(
			o, "duration_ms",
			(double)(long)(now_ms() - ev.resource_begun));
		ev.resource_begun = 0;
	}
	events_emit(o);
}

static struct step_clock *clock_of(const struct host_run *hr)
{
	for (size_t i = 0; i < ev.nr_clocks; i++)
		if (ev.clocks[i].hr == hr)
			return &ev.clocks[i];
	ev.clocks =
		xrealloc(ev.clocks, (ev.nr_clocks + 1) * sizeof(*ev.clocks));
	ev.clocks[ev.nr_clocks].hr = hr;
	ev.clocks[ev.nr_clocks].begun = now_ms();
	return &ev.clocks[ev.nr_clocks++];
}

static void add_host(cJSON *o, const struct host_run *hr)
{
	cJSON_AddStringToObject(o, "host", hr->host->name);
	cJSON_AddStringToObject(o, "role", hr->host->role->name);
}

void event_host_start(const struct host_run *hr, bool check)
{
	cJSON *o;

	if (!ev.out)
		return;
	ev.check = check;
	clock_of(hr)->begun = now_ms();
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "host_start");
	add_host(o, hr);
	cJSON_AddNumberToObject(o, "steps", (double)hr->nr_steps);
	cJSON_AddBoolToObject(o, "check", check);
	events_emit(o);
}

void event_step(const struct host_run *hr, bool begin)
{
	struct step_clock *c;
	cJSON *o;

	if (!ev.out)
		return;
	c = clock_of(hr);
	if (begin) {
		c->begun = now_ms();
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "step");
	add_host(o, hr);
	cJSON_AddNumberToObject(o, "index", (double)hr->step);
	cJSON_AddNumberToObject(
		o, "of",
		(double)(hr->handler ? hr->nr_handlers : hr->nr_steps));
	cJSON_AddBoolToObject(o, "handler", hr->handler);
	cJSON_AddStringToObject(o, "kind", hr->kind ? hr->kind : "unknown");
	cJSON_AddStringToObject(o, "name", hr->label ? hr->label : "");
	cJSON_AddStringToObject(o, "status", hr->last ? hr->last : "ok");
	cJSON_AddBoolToObject(o, "check", ev.check);
	cJSON_AddNumberToObject(o, "duration_ms",
				(double)(long)(now_ms() - c->begun));
	/* --diff: the file's diff (redacted by core/run), or why not. */
	for (size_t i = 0; !hr->handler && i < hr->nr_diffs; i++) {
		const struct step_diff *d = &hr->diffs[i];

		if (d->step != hr->step)
			continue;
		if (d->secret)
			cJSON_AddStringToObject(o, "diff_hidden", d->secret);
		else if (d->text)
			cJSON_AddStringToObject(o, "diff", d->text);
	}
	/* The failure's message, redacted by core/run: never a secret. */
	if (hr->last && !strcmp(hr->last, "failed") && hr->message)
		cJSON_AddStringToObject(o, "message", hr->message);
	events_emit(o);
}

void event_host_done(const struct host_run *hr)
{
	cJSON *o;

	if (!ev.out)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "host_done");
	add_host(o, hr);
	cJSON_AddStringToObject(o, "status", host_run_status_name(hr->status));
	cJSON_AddNumberToObject(o, "ok", (double)hr->ok);
	cJSON_AddNumberToObject(o, "changed", (double)hr->changed);
	cJSON_AddNumberToObject(o, "failed", (double)hr->failed);
	cJSON_AddNumberToObject(o, "duration_ms", (double)hr->elapsed_ms);
	if (hr->message)
		cJSON_AddStringToObject(o, "message", hr->message);
	events_emit(o);
}

void event_error(const char *file, int line, const char *msg)
{
	cJSON *o;

	if (!ev.out)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "error");
	if (file)
		cJSON_AddStringToObject(o, "file", file);
	if (file && line > 0)
		cJSON_AddNumberToObject(o, "line", line);
	cJSON_AddStringToObject(o, "message", msg);
	events_emit(o);
}

void event_summary_hosts(struct event_summary *s,
			 const struct configure_result *res)
{
	s->configured = true;
	s->hosts = res->nr;
	s->hosts_ok = res->ok;
	s->hosts_failed = res->failed;
	s->hosts_skipped = res->skipped;
	s->steps_changed = 0;
	for (size_t i = 0; i < res->nr; i++)
		s->steps_changed += res->hosts[i].changed;
}

void event_summary(const struct event_summary *s)
{
	cJSON *o;

	if (!ev.out)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "summary");
	cJSON_AddStringToObject(o, "command", s->command);
	cJSON_AddBoolToObject(o, "check", s->check);
	cJSON_AddNumberToObject(o, "created", (double)s->created);
	cJSON_AddNumberToObject(o, "destroyed", (double)s->destroyed);
	cJSON_AddNumberToObject(o, "kept", (double)s->kept);
	if (s->configured) {
		cJSON_AddNumberToObject(o, "hosts", (double)s->hosts);
		cJSON_AddNumberToObject(o, "hosts_ok", (double)s->hosts_ok);
		cJSON_AddNumberToObject(o, "hosts_failed",
					(double)s->hosts_failed);
		cJSON_AddNumberToObject(o, "hosts_skipped",
					(double)s->hosts_skipped);
		cJSON_AddNumberToObject(o, "steps_changed",
					(double)s->steps_changed);
	}
	cJSON_AddNumberToObject(o, "exit", s->exit_code);
	events_emit(o);
}
