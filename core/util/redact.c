/* SPDX-License-Identifier: MIT */
/* Secret values (raw, base64, URL-encoded) cut out of a stream. */
#include "util/redact.h"

#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

void redactor_init(struct redactor *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->held, 0);
}

static void add_pattern(struct redactor *r, const char *name, const char *bytes,
			size_t len)
{
	struct redact_pattern *p;

	if (len < REDACT_MIN_LEN)
		return;
	for (size_t i = 0; i < r->nr; i++)
		if (r->patterns[i].len == len &&
		    !memcmp(r->patterns[i].bytes, bytes, len))
			return; /* the same form twice */
	r->patterns = xrealloc(r->patterns, (r->nr + 1) * sizeof(*p));
	p = &r->patterns[r->nr++];
	p->bytes = xmalloc(len);
	memcpy(p->bytes, bytes, len);
	p->len = len;
	p->name = name;
	r->first[(unsigned char)bytes[0]] = true;
	if (len > r->longest)
		r->longest = len;
}

static void url_encode(struct buf *out, const char *s, size_t len, bool upper,
		       bool plus)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c && strchr("-._~", c))) {
			buf_addch(out, (char)c);
		} else if (c == ' ' && plus) {
			buf_addch(out, '+');
		} else {
			buf_addch(out, '%');
			buf_addch(out, hex[c >> 4]);
			buf_addch(out, hex[c & 15]);
		}
	}
}

void redactor_add(struct redactor *r, const char *name, const char *value,
		  size_t len)
{
	struct buf b = BUF_INIT;

	if (len < REDACT_MIN_LEN)
		return;
	add_pattern(r, name, value, len);
	/* base64 with its padding, and without (the longest match wins). */
	for (int pad = 0; pad < 2; pad++) {
		buf_free_secret(&b);
		base64_encode(&b, value, len, pad);
		add_pattern(r, name, b.data, b.len);
	}
	for (int i = 0; i < 4; i++) {
		buf_free_secret(&b);
		url_encode(&b, value, len, i & 1, i & 2);
		add_pattern(r, name, b.data, b.len);
	}
	buf_free_secret(&b);
}

/* The pattern that matches at s (n bytes there), the longest; NULL. If
 * s could still be the start of one when more comes, *maybe is set. */
static const struct redact_pattern *
match_at(const struct redactor *r, const char *s, size_t n, bool *maybe)
{
	const struct redact_pattern *best = NULL;

	for (size_t i = 0; i < r->nr; i++) {
		const struct redact_pattern *p = &r->patterns[i];

		if (p->bytes[0] != s[0])
			continue;
		if (p->len <= n) {
			if (!memcmp(s, p->bytes, p->len) &&
			    (!best || p->len > best->len))
				best = p;
		} else if (!memcmp(s, p->bytes, n)) {
			*maybe = true;
		}
	}
	return best;
}

/* Pass on what is settled in held; keep a possible start when !final. */
static void drain(struct redactor *r, struct buf *out, bool final)
{
	const char *s = r->held.data;
	size_t n = r->held.len, i = 0, start = 0;

	while (i < n) {
		bool maybe = false;
		const struct redact_pattern *p;

		if (!r->first[(unsigned char)s[i]]) {
			i++;
			continue;
		}
		p = match_at(r, s + i, n - i, &maybe);

		if (maybe && !final)
			break; /* a longer form may complete it: wait */
		if (!p) {
			i++;
			continue;
		}
		buf_add(out, s + start, i - start);
		buf_addf(out, "[secret %s]", p->name);
		i += p->len;
		start = i;
	}
	buf_add(out, s + start, i - start);
	/* Keep the rest (a possible start of a secret) for the next piece. */
	memmove(r->held.data, s + i, n - i);
	explicit_bzero(r->held.data + (n - i), i);
	r->held.len = n - i;
	r->held.data[r->held.len] = '\0';
}

void redactor_feed(struct redactor *r, const char *in, size_t len,
		   struct buf *out)
{
	if (!r->nr) {
		buf_add(out, in, len);
		return;
	}
	buf_add(&r->held, in, len);
	drain(r, out, false);
}

void redactor_flush(struct redactor *r, struct buf *out)
{
	drain(r, out, true);
}

void redactor_free(struct redactor *r)
{
	for (size_t i = 0; i < r->nr; i++)
		freezero(r->patterns[i].bytes, r->patterns[i].len);
	free(r->patterns);
	buf_free_secret(&r->held);
	memset(r, 0, sizeof(*r));
	buf_init(&r->held, 0);
}
