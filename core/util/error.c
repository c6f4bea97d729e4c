/* SPDX-License-Identifier: MIT */
/* Error codes, struct error, and diagnostics sorted by position. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "buf.h"
#include "xalloc.h"
#include "banned.h"

const char *deploy_strerror(int code)
{
	switch (code) {
	case DEPLOY_OK:
		return "success";
	case DEPLOY_ERR_NOMEM:
		return "out of memory";
	case DEPLOY_ERR_IO:
		return "input/output error";
	case DEPLOY_ERR_NOT_FOUND:
		return "not found";
	case DEPLOY_ERR_TOO_BIG:
		return "too big";
	case DEPLOY_ERR_SYNTAX:
		return "syntax error";
	case DEPLOY_ERR_INVALID:
		return "invalid";
	case DEPLOY_ERR_TEMPLATE:
		return "template error";
	case DEPLOY_ERR_USAGE:
		return "usage error";
	case DEPLOY_ERR_INTERRUPTED:
		return "interrupted";
	case DEPLOY_ERR_UNREACHABLE:
		return "unreachable";
	case DEPLOY_ERR_HOST_KEY:
		return "host key refused";
	case DEPLOY_ERR_AUTH:
		return "authentication failed";
	case DEPLOY_ERR_TIMEOUT:
		return "timed out";
	case DEPLOY_ERR_SSH:
		return "SSH error";
	case DEPLOY_ERR_REMOTE:
		return "remote command failed";
	}
	return "unknown error";
}

void error_init(struct error *err)
{
	memset(err, 0, sizeof(*err));
}

void error_clear(struct error *err)
{
	free(err->file);
	error_init(err);
}

int error_set(struct error *err, int code, const char *file, int line, int col,
	      const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	free(err->file);
	err->code = code;
	err->file = file ? xstrdup(file) : NULL;
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void error_append(struct error *err, const char *fmt, ...)
{
	size_t len = strlen(err->msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, ap);
	va_end(ap);
}

void error_format(const struct error *err, char *out, size_t size)
{
	if (err->file && err->line > 0)
		snprintf(out, size, "%s:%d:%d: %s", err->file, err->line,
			 err->col > 0 ? err->col : 1, err->msg);
	else if (err->file)
		snprintf(out, size, "%s: %s", err->file, err->msg);
	else
		snprintf(out, size, "%s", err->msg);
}

void diag_list_init(struct diag_list *dl)
{
	memset(dl, 0, sizeof(*dl));
}

void diag_list_free(struct diag_list *dl)
{
	for (size_t i = 0; i < dl->nr; i++) {
		free(dl->items[i].file);
		free(dl->items[i].msg);
	}
	free(dl->items);
	diag_list_init(dl);
}

void diag_add(struct diag_list *dl, enum diag_level level, const char *file,
	      int line, int col, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	struct diag *d;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	XGROW(dl->items, dl->alloc, dl->nr + 1);
	d = &dl->items[dl->nr++];
	d->level = level;
	d->file = file ? xstrdup(file) : NULL;
	d->line = line;
	d->col = col;
	d->msg = buf_release(&msg);
	if (level == DIAG_ERROR)
		dl->errors++;
	else
		dl->warnings++;
}

struct diag_slot {
	struct diag d;
	size_t file_rank;
	size_t order;
};

static int cmp_diag_slot(const void *a, const void *b)
{
	const struct diag_slot *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->d.line != y->d.line)
		return x->d.line < y->d.line ? -1 : 1;
	if (x->d.col != y->d.col)
		return x->d.col < y->d.col ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool same_file(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

void diag_list_sort_first(struct diag_list *dl, const char *first)
{
	struct diag_slot *slots;
	const char **files;
	size_t nr_files = 0;

	if (dl->nr < 2)
		return;
	slots = xcalloc(dl->nr, sizeof(*slots));
	files = xcalloc(dl->nr + 1, sizeof(*files));
	if (first)
		files[nr_files++] = first;
	for (size_t i = 0; i < dl->nr; i++) {
		size_t f = 0;

		/* A list holds few files: a topology and its inventories. */
		while (f < nr_files && !same_file(files[f], dl->items[i].file))
			f++;
		if (f == nr_files)
			files[nr_files++] = dl->items[i].file;
		slots[i].d = dl->items[i];
		slots[i].file_rank = f;
		slots[i].order = i;
	}
	qsort(slots, dl->nr, sizeof(*slots), cmp_diag_slot);
	for (size_t i = 0; i < dl->nr; i++)
		dl->items[i] = slots[i].d;
	free(files);
	free(slots);
}

void diag_list_sort(struct diag_list *dl)
{
	diag_list_sort_first(dl, NULL);
}
