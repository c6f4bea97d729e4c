/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
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

void diag_list_sort(struct diag_list *dl)
{
	/* Insertion sort: stable, and lists are short. */
	for (size_t i = 1; i < dl->nr; i++) {
		struct diag d = dl->items[i];
		size_t j = i;

		while (j > 0 && (dl->items[j - 1].line > d.line ||
				 (dl->items[j - 1].line == d.line &&
				  dl->items[j - 1].col > d.col))) {
			dl->items[j] = dl->items[j - 1];
			j--;
		}
		dl->items[j] = d;
	}
}
