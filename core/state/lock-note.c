/* SPDX-License-Identifier: MIT */
/* The remote run lock's note: written, read strictly, described. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "state/lock-note.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const fields[] = { "id", "who", "pid", "command",
				      "created" };
#define NR_FIELDS (sizeof(fields) / sizeof(fields[0]))

static char **slot(struct lock_note *n, size_t i)
{
	char **v[NR_FIELDS] = { &n->id, &n->who, &n->pid, &n->command,
				&n->created };

	return v[i];
}

char *lock_note_text(const struct lock_note *n)
{
	cJSON *j = cJSON_CreateObject();
	char *text;

	for (size_t i = 0; i < NR_FIELDS; i++) {
		const char *v = *slot((struct lock_note *)n, i);

		/* A field the note lacks stays absent: "?" would not read back
		 * as a pid. */
		if (v)
			cJSON_AddStringToObject(j, fields[i], v);
	}
	text = cJSON_Print(j);
	cJSON_Delete(j);
	return text;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

static bool is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 12;
}

int lock_note_parse(const char *text, size_t len, struct lock_note *n,
		    struct error *err)
{
	cJSON *j = NULL;
	const char *why = NULL;
	char field[32] = "";

	memset(n, 0, sizeof(*n));
	if (len > LOCK_NOTE_MAX)
		why = "longer than a lock note";
	else if (!(j = cJSON_ParseWithLength(text, len)))
		why = "not JSON";
	else if (!cJSON_IsObject(j))
		why = "not a JSON object";
	for (size_t i = 0; !why && i < NR_FIELDS; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, fields[i]);

		if (!v && i)
			continue;
		if (!cJSON_IsString(v) ||
		    memchr(v->valuestring, '\n', strlen(v->valuestring))) {
			snprintf(field, sizeof(field), "%s", fields[i]);
			why = "no string";
			break;
		}
		*slot(n, i) = xstrdup(v->valuestring);
	}
	if (!why && !is_uuid(n->id))
		why = "its 'id' is not a lock id (a UUID)";
	else if (!why && n->pid && !is_number(n->pid))
		why = "its 'pid' is not a number";
	cJSON_Delete(j);
	if (!why)
		return 0;
	lock_note_free(n);
	return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			 "not a lock note deploy wrote: %s%s%s%s", why,
			 field[0] ? " '" : "", field, field[0] ? "'" : "");
}

char *lock_note_describe(const struct lock_note *n)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s, pid %s, '%s', since %s; lock id %s",
		 n->who ? n->who : "?", n->pid ? n->pid : "?",
		 n->command ? n->command : "?", n->created ? n->created : "?",
		 n->id ? n->id : "?");
	return buf_release(&b);
}

void lock_note_free(struct lock_note *n)
{
	for (size_t i = 0; i < NR_FIELDS; i++) {
		free(*slot(n, i));
		*slot(n, i) = NULL;
	}
}
