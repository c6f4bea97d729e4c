/* SPDX-License-Identifier: MIT */
/* The marker lines a compiled script prints, parsed back for the runner. */
#include <stdbool.h>
#include <string.h>

#include "playbook/marker.h"
#include "util/error.h"
#include "util/banned.h"

const char *step_status_name(enum step_status s)
{
	switch (s) {
	case STATUS_OK:
		return "ok";
	case STATUS_CHANGED:
		return "changed";
	case STATUS_FAILED:
		return "failed";
	case STATUS_SKIPPED:
		return "skipped";
	}
	return "?";
}

/* A decimal number at *p, then a space or the end; *p moves past it. */
static int number(const char **p, const char *end, size_t *out)
{
	size_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > 100000000)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* The word at *p (up to a space or the end) equals w; *p moves past. */
static bool word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n) ||
	    (*p + n < end && (*p)[n] != ' '))
		return false;
	*p += n;
	return true;
}

static bool space(const char **p, const char *end)
{
	if (*p >= end || **p != ' ')
		return false;
	(*p)++;
	return true;
}

static int status_word(const char **p, const char *end, enum step_status *st)
{
	static const enum step_status all[] = { STATUS_OK, STATUS_CHANGED,
						STATUS_FAILED, STATUS_SKIPPED };

	for (size_t i = 0; i < 4; i++) {
		if (word(p, end, step_status_name(all[i]))) {
			*st = all[i];
			return 0;
		}
	}
	return -1;
}

int marker_parse(const char *line, size_t len, const char *nonce,
		 struct marker *m)
{
	const char *p = line, *end = line + len;
	bool handler;

	memset(m, 0, sizeof(*m));
	if (!nonce || !*nonce)
		return DEPLOY_ERR_NOT_FOUND;
	if (len && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	if (!word(&p, end, "@@deploy") || !space(&p, end) ||
	    !word(&p, end, nonce) || !space(&p, end))
		return DEPLOY_ERR_NOT_FOUND;
	if (word(&p, end, "start")) {
		m->type = MARKER_START;
		if (!space(&p, end) || number(&p, end, &m->total) ||
		    !space(&p, end) || number(&p, end, &m->handlers) ||
		    !space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
		if (word(&p, end, "check"))
			m->check = true;
		else if (!word(&p, end, "apply"))
			return DEPLOY_ERR_NOT_FOUND;
		return p == end ? 0 : DEPLOY_ERR_NOT_FOUND;
	}
	if (word(&p, end, "end")) {
		m->type = MARKER_END;
		if (!space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
		if (word(&p, end, "ok"))
			m->status = STATUS_OK;
		else if (word(&p, end, "failed"))
			m->status = STATUS_FAILED;
		else
			return DEPLOY_ERR_NOT_FOUND;
		return p == end ? 0 : DEPLOY_ERR_NOT_FOUND;
	}
	if (word(&p, end, "step"))
		handler = false;
	else if (word(&p, end, "handler"))
		handler = true;
	else
		return DEPLOY_ERR_NOT_FOUND;
	if (!space(&p, end) || number(&p, end, &m->n) || p >= end ||
	    *p++ != '/' || number(&p, end, &m->total) || !space(&p, end) ||
	    !m->n || m->n > m->total)
		return DEPLOY_ERR_NOT_FOUND;
	if (word(&p, end, "begin")) {
		m->type = handler ? MARKER_HANDLER_BEGIN : MARKER_STEP_BEGIN;
		if (!space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
	} else if (!handler && word(&p, end, "diff")) {
		m->type = MARKER_STEP_DIFF;
		if (!space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
	} else if (handler && word(&p, end, "wait")) {
		m->type = MARKER_HANDLER_WAIT;
		if (!space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
	} else if (!status_word(&p, end, &m->status)) {
		m->type = handler ? MARKER_HANDLER_END : MARKER_STEP_END;
		if (p < end && !space(&p, end))
			return DEPLOY_ERR_NOT_FOUND;
	} else {
		return DEPLOY_ERR_NOT_FOUND;
	}
	m->text = p;
	m->text_len = (size_t)(end - p);
	return 0;
}
