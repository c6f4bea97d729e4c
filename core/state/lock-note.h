/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_STATE_LOCK_NOTE_H
#define DEPLOY_STATE_LOCK_NOTE_H

#include <stddef.h>

#include "util/error.h"

/*
 * The note a remote run lock holds (the S3 lock object): who took it,
 * where, for what and when, and the lock id that `deploy unlock ID` names.
 * A JSON object of strings:
 *   {"id": UUID, "who": "user@host", "pid": "123", "command": "deploy up",
 *    "created": "2026-01-02T03:04:05Z"}
 */

#define LOCK_NOTE_MAX (16u << 10) /* a note longer is not deploy's */

struct lock_note {
	char *id;
	char *who;
	char *pid;
	char *command;
	char *created;
};

/* The note's text (malloc'd). */
char *lock_note_text(const struct lock_note *n);
/*
 * Read a note. Not JSON, not an object, longer than LOCK_NOTE_MAX, an id
 * that is not a UUID, a field that is not a string or a pid that is not a
 * number: DEPLOY_ERR_SYNTAX with why ("not JSON", "no string 'id'" …) and
 * n left empty. who, pid, command and created may be missing ("?").
 */
int lock_note_parse(const char *text, size_t len, struct lock_note *n,
		    struct error *err);
/* "who, pid P, 'command', since created; lock id ID" (malloc'd). */
char *lock_note_describe(const struct lock_note *n);
void lock_note_free(struct lock_note *n);

#endif
