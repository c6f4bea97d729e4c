/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_ERROR_H
#define DEPLOY_ERROR_H

#include <stddef.h>

/*
 * Every function below cli/ returns 0 or one of these negative codes, and
 * fills a struct error owned by the operation (per host, per request), never
 * a global. Codes are never reused for another meaning.
 */
enum deploy_err {
	DEPLOY_OK = 0,
	DEPLOY_ERR_NOMEM = -1,
	DEPLOY_ERR_IO = -2,
	DEPLOY_ERR_NOT_FOUND = -3,
	DEPLOY_ERR_TOO_BIG = -4,
	DEPLOY_ERR_SYNTAX = -5,	     /* malformed input: YAML, JSON, template */
	DEPLOY_ERR_INVALID = -6,     /* well-formed input that is not allowed */
	DEPLOY_ERR_TEMPLATE = -7,    /* a template could not be rendered */
	DEPLOY_ERR_USAGE = -8,	     /* a caller passed bad arguments */
	DEPLOY_ERR_UNREACHABLE = -9, /* no connection, or it broke */
	DEPLOY_ERR_HOST_KEY = -10,   /* a host key refused */
	DEPLOY_ERR_AUTH = -11,	     /* login refused */
	DEPLOY_ERR_TIMEOUT = -12,    /* a wait passed its timeout */
	DEPLOY_ERR_SSH = -13,	     /* an SSH protocol error */
	DEPLOY_ERR_REMOTE = -14,     /* a remote command failed */
	DEPLOY_ERR_INTERRUPTED = -20, /* stopped by a signal, state saved */
};

const char *deploy_strerror(int code);

/*
 * One error with where it came from. `file` may be NULL (no file); line and
 * col are 1-based and 0 when unknown. Messages follow git's guidelines:
 * lowercase, no full stop, the failing thing first, the subject quoted.
 */
struct error {
	int code;
	char *file;
	int line;
	int col;
	char msg[512];
};

void error_init(struct error *err);
void error_clear(struct error *err);
/* Set err (when not NULL) and return code, for `return error_set(...)`. */
int error_set(struct error *err, int code, const char *file, int line, int col,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Add to the end of err's message (a hint, a count), cut to fit. */
void error_append(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "FILE:LINE:COL: MESSAGE", "FILE: MESSAGE" or "MESSAGE" into out. */
void error_format(const struct error *err, char *out, size_t size);

/*
 * A list of diagnostics, for checks that report every problem they find
 * rather than stopping at the first (the validator).
 */
enum diag_level {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag {
	enum diag_level level;
	char *file; /* owned */
	int line;
	int col;
	char *msg;
};

struct diag_list {
	struct diag *items;
	size_t nr;
	size_t alloc;
	size_t errors;
	size_t warnings;
};

void diag_list_init(struct diag_list *dl);
void diag_list_free(struct diag_list *dl);
void diag_add(struct diag_list *dl, enum diag_level level, const char *file,
	      int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/*
 * Order by file, then line, then column, keeping the order of equal
 * positions. Files come in the order of their first diagnostic, except that
 * diag_list_sort_first() puts `first` (the topology, before its inventories)
 * ahead of the others.
 */
void diag_list_sort(struct diag_list *dl);
void diag_list_sort_first(struct diag_list *dl, const char *first);

#endif
