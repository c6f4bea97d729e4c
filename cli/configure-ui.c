/* SPDX-License-Identifier: MIT */
/* up's configure progress: live lines on a terminal, then a summary. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/configure-ui.h"
#include "cli/events.h"
#include "util/banned.h"

/*
 * Progress of the configuration phase: on a terminal, one live line per
 * running host ("step i/n, name") redrawn in place; otherwise plain lines,
 * one per step that changed or failed and one per host at its end. Then a
 * summary table.
 */

#define MAX_LIVE 32

struct ui {
	bool tty;
	bool check;
	const struct host_run *live[MAX_LIVE];
	size_t nr_live;
	size_t drawn; /* lines of the live block on screen */
};

static struct ui ui;

static void clear_live(void)
{
	for (size_t i = 0; i < ui.drawn; i++)
		fputs("\033[1A\r\033[K", stdout);
	ui.drawn = 0;
}

static void draw_live(void)
{
	if (!ui.tty)
		return;
	clear_live();
	for (size_t i = 0; i < ui.nr_live; i++) {
		const struct host_run *hr = ui.live[i];

		printf("  %-20s %s %zu/%zu %s\n", hr->host->name,
		       hr->handler ? "handler" : "step", hr->step,
		       hr->handler ? hr->nr_handlers : hr->nr_steps,
		       hr->label ? hr->label : "connecting");
		ui.drawn++;
	}
	fflush(stdout);
}

static void on_start(void *data, const struct host_run *hr)
{
	(void)data;
	event_host_start(hr, ui.check);
	if (ui.nr_live < MAX_LIVE)
		ui.live[ui.nr_live++] = hr;
	if (!ui.tty)
		printf("%s: started (%zu steps)\n", hr->host->name,
		       hr->nr_steps);
	draw_live();
}

static void on_step(void *data, const struct host_run *hr, bool begin)
{
	(void)data;
	event_step(hr, begin);
	if (begin || ui.tty) {
		draw_live();
		return;
	}
	/* Steps that did something are shown; ok ones stay quiet. */
	if (hr->last &&
	    (!strcmp(hr->last, "changed") || !strcmp(hr->last, "failed")))
		printf("%s: [%s%zu/%zu] %s: %s\n", hr->host->name,
		       hr->handler ? "handler " : "", hr->step,
		       hr->handler ? hr->nr_handlers : hr->nr_steps,
		       hr->label ? hr->label : "?", hr->last);
	fflush(stdout);
}

static void on_done(void *data, const struct host_run *hr)
{
	(void)data;
	event_host_done(hr);
	for (size_t i = 0; i < ui.nr_live; i++) {
		if (ui.live[i] != hr)
			continue;
		memmove(&ui.live[i], &ui.live[i + 1],
			(ui.nr_live - i - 1) * sizeof(ui.live[0]));
		ui.nr_live--;
		break;
	}
	if (ui.tty)
		clear_live();
	if (hr->status == HOST_OK)
		printf("%s: ok (%zu ok, %zu changed) in %.1fs\n",
		       hr->host->name, hr->ok, hr->changed,
		       (double)hr->elapsed_ms / 1000.0);
	else
		printf("%s: %s: %s\n", hr->host->name,
		       host_run_status_name(hr->status),
		       hr->message ? hr->message : "");
	if (hr->sent)
		printf("  sent %zu artifact%s beside the script: %.1f MiB in "
		       "%.1fs (%.1f MiB/s)\n",
		       hr->sent, hr->sent == 1 ? "" : "s",
		       (double)hr->sent_bytes / 1048576.0,
		       (double)hr->sent_ms / 1000.0,
		       hr->sent_ms ? (double)hr->sent_bytes / 1048576.0 /
					     ((double)hr->sent_ms / 1000.0)
				   : 0.0);
	print_host_diffs(hr);
	draw_live();
	fflush(stdout);
}

/* A health check still failing: what it saw, each time that changes. */
static void on_waiting(void *data, const struct host_run *hr)
{
	(void)data;
	if (ui.tty)
		clear_live();
	printf("%s: [handler %zu/%zu] %s: waiting: %s\n", hr->host->name,
	       hr->step, hr->nr_handlers, hr->label ? hr->label : "?",
	       hr->waiting ? hr->waiting : "");
	draw_live();
	fflush(stdout);
}

static const struct configure_ops ops = {
	.host_start = on_start,
	.step = on_step,
	.host_done = on_done,
	.waiting = on_waiting,
};

const struct configure_ops *configure_ui(bool check)
{
	memset(&ui, 0, sizeof(ui));
	ui.tty = isatty(STDOUT_FILENO);
	ui.check = check;
	return &ops;
}

void print_host_diffs(const struct host_run *hr)
{
	for (size_t i = 0; i < hr->nr_diffs; i++) {
		const struct step_diff *d = &hr->diffs[i];
		const char *s = d->text;

		if (d->secret) {
			printf("  %s (contents hidden: holds secret %s)\n",
			       d->label, d->secret);
			continue;
		}
		printf("  %s\n", d->label);
		while (s && *s) {
			size_t len = strcspn(s, "\n");

			printf("    %.*s\n", (int)len, s);
			s += len + (s[len] == '\n');
		}
	}
}

void print_configure_summary(const struct configure_result *res, bool check)
{
	size_t changed = 0;

	if (!res->nr)
		return;
	printf("\n%-20s %-12s %5s %8s %7s %8s\n", "host", "status", "ok",
	       check ? "would" : "changed", "failed", "time");
	for (size_t i = 0; i < res->nr; i++) {
		const struct host_run *hr = &res->hosts[i];

		changed += hr->changed;
		printf("%-20s %-12s %5zu %8zu %7zu %7.1fs\n", hr->host->name,
		       host_run_status_name(hr->status), hr->ok, hr->changed,
		       hr->failed, (double)hr->elapsed_ms / 1000.0);
	}
	printf("%zu host%s: %zu ok, %zu failed, %zu skipped; %zu step%s %s\n",
	       res->nr, res->nr == 1 ? "" : "s", res->ok, res->failed,
	       res->skipped, changed, changed == 1 ? "" : "s",
	       check ? "would change" : "changed");
}
