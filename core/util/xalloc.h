/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_XALLOC_H
#define DEPLOY_XALLOC_H

#include <stddef.h>

/*
 * Allocation that never returns NULL: on exhaustion the process aborts with a
 * message, as git's xmalloc does. A command-line run has nothing useful to do
 * once malloc fails, and checking every call would bury the real error paths.
 */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *ptr so that it holds at least `need` items of `size`; doubles. */
void *xgrow(void *ptr, size_t *alloc, size_t need, size_t size);

#define XGROW(ptr, alloc, need) \
	((ptr) = xgrow((ptr), &(alloc), (need), sizeof(*(ptr))))

/* Overwrite then free memory that held a secret (OpenSSH's freezero). */
void freezero(void *ptr, size_t size);

#endif
