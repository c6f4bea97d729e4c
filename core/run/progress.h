/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PROGRESS_H
#define DEPLOY_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "playbook/compile.h"
#include "util/buf.h"

/*
 * A host's script stdout as the runner reads it: bytes cut into lines,
 * each line a marker with this run's nonce or something else, and the
 * markers checked against the order the script prints them in
 * (docs/playbooks.md, "Progress markers"):
 *
 *   start STEPS HANDLERS (the script's own counts), then each step N from 1
 *   to STEPS as "begin" then its end, then notified handlers in increasing
 *   order the same way, then "end ok"; or "end failed" right after a
 *   failed step or handler.
 *
 * The host's output is not trusted. A line that is not a marker is counted
 * and dropped (the script's own stdout holds only markers; everything a
 * step prints goes to stderr and the host's log). A line that starts with
 * the nonce's prefix but does not parse, or a marker out of that order,
 * is a lie: the reader stops passing markers on and remembers why, and
 * the runner reports the host "failed: protocol: WHY". A line longer than
 * PROGRESS_LINE_MAX is cut (never a marker: markers are short), so memory
 * stays bounded whatever the host sends, NUL bytes and invalid UTF-8
 * included.
 */

#define PROGRESS_LINE_MAX (64u << 10)

struct progress {
	char nonce[33];
	size_t nr_steps;
	size_t nr_handlers;
	struct buf line;
	bool cut;     /* the current line passed PROGRESS_LINE_MAX */
	bool started; /* "start" seen */
	bool ended;   /* "end" seen */
	bool end_ok;
	bool lied;
	bool open;    /* a step or handler began and has not ended */
	bool handler; /* the open or last item is a handler */
	bool failed;  /* the last item failed: only "end failed" may follow */
	size_t step;  /* the last step begun (0: none) */
	size_t hnd;   /* the last handler begun (0: none) */
	size_t other; /* lines that were not markers */
	char why[160];
};

/* Called for every marker, in order, until the first lie. */
typedef void (*progress_fn)(void *data, const struct marker *m);

void progress_init(struct progress *p, const char *nonce, size_t nr_steps,
		   size_t nr_handlers);
void progress_free(struct progress *p);
/* Feed len bytes of stdout (any bytes; lines end with '\n'). */
void progress_feed(struct progress *p, const char *buf, size_t len,
		   progress_fn fn, void *data);
/* The stream ended: a last line without its '\n' is read too. */
void progress_close(struct progress *p, progress_fn fn, void *data);

#endif
