/* SPDX-License-Identifier: MIT */
/* A growable byte buffer, always NUL-terminated, with an optional cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "xalloc.h"
#include "banned.h"

char buf_empty[1];

void buf_init(struct buf *b, size_t max)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b, b->max);
}

void buf_free_secret(struct buf *b)
{
	if (b->cap)
		freezero(b->data, b->cap);
	buf_init(b, b->max);
}

char *buf_release(struct buf *b)
{
	char *s = b->cap ? b->data : xstrdup("");

	buf_init(b, b->max);
	return s;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > (size_t)-1 - b->len - 1)
		return DEPLOY_ERR_TOO_BIG;
	if (b->max && b->len + extra > b->max)
		return DEPLOY_ERR_TOO_BIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	if (!b->cap)
		b->data = NULL;
	b->data = xgrow(b->data, &b->cap, need, 1);
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int rc = buf_grow(b, len);

	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return DEPLOY_ERR_INVALID;
	rc = buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_read_file(struct buf *b, const char *path)
{
	char chunk[8192];
	FILE *f;
	size_t n;
	int rc = 0;

	f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? DEPLOY_ERR_NOT_FOUND : DEPLOY_ERR_IO;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rc = buf_add(b, chunk, n);
		if (rc)
			break;
	}
	if (!rc && ferror(f))
		rc = DEPLOY_ERR_IO;
	fclose(f);
	return rc;
}

char *xstrfmt(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_release(&b);
}
