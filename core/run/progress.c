/* SPDX-License-Identifier: MIT */
/* Reading a host's progress markers: lines, nonce, order, lies. */
#include "run/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

void progress_init(struct progress *p, const char *nonce, size_t nr_steps,
		   size_t nr_handlers)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->nonce, sizeof(p->nonce), "%s", nonce ? nonce : "");
	p->nr_steps = nr_steps;
	p->nr_handlers = nr_handlers;
	buf_init(&p->line, PROGRESS_LINE_MAX);
}

void progress_free(struct progress *p)
{
	buf_free(&p->line);
}

__attribute__((format(printf, 2, 3))) static void lie(struct progress *p,
						      const char *fmt, ...)
{
	va_list ap;

	p->lied = true;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* Whether the line claims to be a marker of this run. */
static bool has_prefix(const struct progress *p, const char *line, size_t len)
{
	size_t n = strlen(p->nonce);

	return len >= 10 + n && !memcmp(line, "@@deploy ", 9) &&
	       !memcmp(line + 9, p->nonce, n) && line[9 + n] == ' ';
}

static const char *item(bool handler)
{
	return handler ? "handler" : "step";
}

/* Whether m may come now; if not, the lie is recorded. */
static bool in_order(struct progress *p, const struct marker *m)
{
	bool handler = m->type == MARKER_HANDLER_BEGIN ||
		       m->type == MARKER_HANDLER_END ||
		       m->type == MARKER_HANDLER_WAIT;
	size_t total = handler ? p->nr_handlers : p->nr_steps;

	if (p->ended) {
		lie(p, "a marker after the end");
		return false;
	}
	if (m->type == MARKER_START) {
		if (p->started)
			lie(p, "a second start");
		else if (m->total != p->nr_steps ||
			 m->handlers != p->nr_handlers)
			lie(p,
			    "start with %zu steps and %zu handlers, not "
			    "%zu and %zu",
			    m->total, m->handlers, p->nr_steps, p->nr_handlers);
		return !p->lied;
	}
	if (!p->started) {
		lie(p, "a marker before the start");
		return false;
	}
	if (m->type == MARKER_END) {
		if (m->status == STATUS_OK &&
		    (p->open || p->failed || p->step != p->nr_steps))
			lie(p, "end ok after %zu of %zu steps%s", p->step,
			    p->nr_steps,
			    p->failed ? ", one failed"
			    : p->open ? ", one still running"
				      : "");
		return !p->lied;
	}
	if (p->failed) {
		lie(p, "%s %zu failed, yet the script went on",
		    item(p->handler), p->handler ? p->hnd : p->step);
		return false;
	}
	if (m->total != total) {
		lie(p, "%s %zu/%zu: this script has %zu", item(handler), m->n,
		    m->total, total);
		return false;
	}
	if (m->type == MARKER_STEP_BEGIN || m->type == MARKER_HANDLER_BEGIN) {
		size_t last = handler ? p->hnd : p->step;

		if (p->open)
			lie(p, "%s %zu began while %s %zu ran", item(handler),
			    m->n, item(p->handler),
			    p->handler ? p->hnd : p->step);
		else if (!handler && m->n != p->step + 1)
			lie(p, "step %zu began after step %zu", m->n, p->step);
		else if (handler && (p->step != p->nr_steps || m->n <= last))
			lie(p, "handler %zu began after %s %zu", m->n,
			    p->hnd ? "handler" : "step",
			    p->hnd ? p->hnd : p->step);
		return !p->lied;
	}
	if (m->type == MARKER_HANDLER_WAIT) {
		if (!p->open || !p->handler || m->n != p->hnd)
			lie(p, "handler %zu waits, but it is not running",
			    m->n);
		return !p->lied;
	}
	if (m->type == MARKER_STEP_DIFF) {
		if (!p->open || p->handler || m->n != p->step)
			lie(p, "a diff of step %zu, which is not running",
			    m->n);
		return !p->lied;
	}
	/* An end: of the item that is open. */
	if (!p->open || p->handler != handler ||
	    m->n != (handler ? p->hnd : p->step))
		lie(p, "%s %zu ended, but it was not running", item(handler),
		    m->n);
	return !p->lied;
}

static void account(struct progress *p, const struct marker *m)
{
	switch (m->type) {
	case MARKER_START:
		p->started = true;
		break;
	case MARKER_STEP_BEGIN:
	case MARKER_HANDLER_BEGIN:
		p->open = true;
		p->handler = m->type == MARKER_HANDLER_BEGIN;
		if (p->handler)
			p->hnd = m->n;
		else
			p->step = m->n;
		break;
	case MARKER_STEP_END:
	case MARKER_HANDLER_END:
		p->open = false;
		p->failed = m->status == STATUS_FAILED;
		break;
	case MARKER_STEP_DIFF:
	case MARKER_HANDLER_WAIT:
		break;
	case MARKER_END:
		p->ended = true;
		p->end_ok = m->status == STATUS_OK;
		break;
	}
}

static void line(struct progress *p, const char *s, size_t len, progress_fn fn,
		 void *data)
{
	struct marker m;

	if (p->lied)
		return;
	if (marker_parse(s, len, p->nonce, &m)) {
		if (has_prefix(p, s, len))
			lie(p, "a damaged marker");
		else
			p->other++;
		return;
	}
	if (!in_order(p, &m))
		return;
	account(p, &m);
	if (fn)
		fn(data, &m);
}

void progress_feed(struct progress *p, const char *buf, size_t len,
		   progress_fn fn, void *data)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;

		if (!p->cut && buf_add(&p->line, buf, n))
			p->cut = true; /* past the cap: not a marker */
		if (!nl)
			return;
		if (p->cut)
			p->other++;
		else
			line(p, p->line.data, p->line.len, fn, data);
		buf_reset(&p->line);
		p->cut = false;
		buf += n + 1;
		len -= n + 1;
	}
}

void progress_close(struct progress *p, progress_fn fn, void *data)
{
	if (p->cut)
		p->other++;
	else if (p->line.len)
		line(p, p->line.data, p->line.len, fn, data);
	buf_reset(&p->line);
	p->cut = false;
}
