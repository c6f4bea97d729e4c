/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_MARKER_H
#define DEPLOY_PLAYBOOK_MARKER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Markers: "@@deploy NONCE ..." lines, alone on the script's stdout:
 *   start STEPS HANDLERS check|apply
 *   step N/STEPS begin LABEL
 *   step N/STEPS diff LINE       (with DP_DIFF=1: a line of the unified
 *                                 diff of the file step N changes)
 *   step N/STEPS ok|changed|failed|skipped [MESSAGE]
 *   handler N/HANDLERS begin LABEL
 *   handler N/HANDLERS wait TEXT (a health check still failing: what it
 *                                 saw, sent when that changes)
 *   handler N/HANDLERS ok|changed|failed|skipped [MESSAGE]
 *   end ok|failed
 */
enum marker_type {
	MARKER_START,
	MARKER_STEP_BEGIN,
	MARKER_STEP_DIFF,
	MARKER_STEP_END,
	MARKER_HANDLER_BEGIN,
	MARKER_HANDLER_WAIT,
	MARKER_HANDLER_END,
	MARKER_END,
};

enum step_status {
	STATUS_OK,
	STATUS_CHANGED,
	STATUS_FAILED,
	STATUS_SKIPPED,
};

const char *step_status_name(enum step_status s);

struct marker {
	enum marker_type type;
	size_t n;		 /* STEP_*, HANDLER_*: from 1 */
	size_t total;		 /* START: steps; STEP_*, HANDLER_*: out of */
	size_t handlers;	 /* START */
	bool check;		 /* START */
	enum step_status status; /* *_END, END (ok or failed) */
	const char *text;	 /* BEGIN: the label; *_END: the message;
				  * STEP_DIFF: the diff's line;
				  * HANDLER_WAIT: what the check saw */
	size_t text_len;	 /* points into the line, not NUL-terminated */
};

/*
 * Parse one line of a script's output (without or with its "\n" or
 * "\r\n"). Returns 0 with *m set for a marker with this nonce, and
 * DEPLOY_ERR_NOT_FOUND for anything else: other output, a marker with
 * another nonce, a damaged or truncated marker.
 */
int marker_parse(const char *line, size_t len, const char *nonce,
		 struct marker *m);

#endif
