/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_BUF_H
#define DEPLOY_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer (git's strbuf, curl's dynbuf).
 *
 * Invariants: `data` is never NULL after buf_init() and always holds a NUL at
 * data[len], so it can be used as a C string when it holds no NUL of its own.
 * `cap` is the allocated size. `max` is a cap on len (0 = none): anything
 * filled from the network or a file sets one, and an append that would pass
 * it fails with DEPLOY_ERR_TOO_BIG and leaves the buffer as it was.
 * The owner frees with buf_free(); buf_release() hands the string over.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT                   \
	{                          \
		buf_empty, 0, 0, 0 \
	}
extern char buf_empty[];

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Like buf_free(), but wipes the bytes first: for secrets. */
void buf_free_secret(struct buf *b);
char *buf_release(struct buf *b);
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Read a whole file, failing with DEPLOY_ERR_TOO_BIG past b->max. */
int buf_read_file(struct buf *b, const char *path);

/* printf into a new malloc'd string (git's xstrfmt); the caller frees it. */
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
