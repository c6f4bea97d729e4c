/* SPDX-License-Identifier: MIT */
/* Secret values cut out of a stream: raw, base64, URL, hex, JSON, shell. */
#include "util/redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

void redactor_init(struct redactor *r)
{
	memset(r, 0, sizeof(*r));
	r->set = &r->own;
	buf_init(&r->held, 0);
}

void redactor_init_shared(struct redactor *r, const struct redact_set *set)
{
	redactor_init(r);
	r->set = set;
}

static void add_pattern(struct redact_set *r, const char *name,
			const char *bytes, size_t len)
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

static void hex_encode(struct buf *out, const char *s, size_t len, bool upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		buf_addch(out, hex[(unsigned char)s[i] >> 4]);
		buf_addch(out, hex[(unsigned char)s[i] & 15]);
	}
}

/* The code point of the UTF-8 sequence at s (n bytes there) and its
 * length; 0 when it is not valid UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	unsigned c;

	if (!len || len > n || s[0] > 0xf4)
		return 0;
	c = s[0] & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* What JSON encoders add to the required escapes (", \, controls). */
enum {
	JSON_SLASH = 1, /* '/' as \/ (PHP) */
	JSON_ASCII = 2, /* beyond ASCII as \uXXXX (Python's default) */
	JSON_HTML = 4,	/* <, > and & as \u003c... (Go) */
};

/* s as the inside of a JSON string; false when a form cannot be made
 * (JSON_ASCII of bytes that are not UTF-8). */
static bool json_escape(struct buf *out, const char *s, size_t len, int how)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		unsigned cp;
		size_t n;

		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		case '/':
			e = how & JSON_SLASH ? "\\/" : NULL;
			break;
		default:
			break;
		}
		if (e) {
			buf_adds(out, e);
		} else if (c < 0x20 ||
			   ((how & JSON_HTML) && strchr("<>&", c))) {
			buf_addf(out, "\\u%04x", c);
		} else if (c < 0x80 || !(how & JSON_ASCII)) {
			buf_addch(out, (char)c);
		} else if ((n = utf8_next((const unsigned char *)s + i, len - i,
					  &cp)) == 0) {
			return false;
		} else {
			if (cp >= 0x10000) {
				cp -= 0x10000;
				buf_addf(out, "\\u%04x", 0xd800 + (cp >> 10));
				cp = 0xdc00 + (cp & 0x3ff);
			}
			buf_addf(out, "\\u%04x", cp);
			i += n - 1;
		}
	}
	return true;
}

/* s inside single quotes, a quote in it as q ('\'' or '"'"'). */
static void shell_single(struct buf *out, const char *s, size_t len,
			 const char *q)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\'')
			buf_adds(out, q);
		else
			buf_addch(out, s[i]);
}

/* s with a backslash before each byte the shell treats specially, as
 * bash's printf %q writes a value without control characters. */
static void shell_backslash(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] && strchr(" \t\n'\"\\|&;()<>!{}*[?]^$`", s[i]))
			buf_addch(out, '\\');
		else if ((s[i] == '#' || s[i] == '~') && !i)
			buf_addch(out, '\\');
		buf_addch(out, s[i]);
	}
}

/* Every form of value (len bytes) this redactor looks for. */
static void add_forms(struct redact_set *r, const char *name, const char *value,
		      size_t len)
{
	static const int json[] = { 0, JSON_SLASH, JSON_ASCII, JSON_HTML };
	struct buf b = BUF_INIT;

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
	for (int upper = 0; upper < 2; upper++) {
		buf_free_secret(&b);
		hex_encode(&b, value, len, upper);
		add_pattern(r, name, b.data, b.len);
	}
	for (size_t i = 0; i < sizeof(json) / sizeof(*json); i++) {
		buf_free_secret(&b);
		if (json_escape(&b, value, len, json[i]))
			add_pattern(r, name, b.data, b.len);
	}
	buf_free_secret(&b);
	shell_single(&b, value, len, "'\\''");
	add_pattern(r, name, b.data, b.len);
	buf_free_secret(&b);
	shell_single(&b, value, len, "'\"'\"'");
	add_pattern(r, name, b.data, b.len);
	buf_free_secret(&b);
	shell_backslash(&b, value, len);
	add_pattern(r, name, b.data, b.len);
	buf_free_secret(&b);
}

void redact_set_add(struct redact_set *r, const char *name, const char *value,
		    size_t len)
{
	size_t trimmed = len;

	if (len < REDACT_MIN_LEN)
		return;
	add_forms(r, name, value, len);
	/* A value from a file often ends with a newline that the host's
	 * `$(cat FILE)` drops: look for it without too. */
	while (trimmed &&
	       (value[trimmed - 1] == '\n' || value[trimmed - 1] == '\r'))
		trimmed--;
	if (trimmed != len && trimmed >= REDACT_MIN_LEN)
		add_forms(r, name, value, trimmed);
}

/* The pattern that matches at s (n bytes there), the longest; NULL. If
 * s could still be the start of one when more comes, *maybe is set. */
static const struct redact_pattern *
match_at(const struct redact_set *r, const char *s, size_t n, bool *maybe)
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

		if (!r->set->first[(unsigned char)s[i]]) {
			i++;
			continue;
		}
		p = match_at(r->set, s + i, n - i, &maybe);

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
	if (!r->set->nr) {
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

void redactor_add(struct redactor *r, const char *name, const char *value,
		  size_t len)
{
	redact_set_add(&r->own, name, value, len);
}

void redact_set_free(struct redact_set *s)
{
	for (size_t i = 0; i < s->nr; i++)
		freezero(s->patterns[i].bytes, s->patterns[i].len);
	free(s->patterns);
	memset(s, 0, sizeof(*s));
}

void redactor_free(struct redactor *r)
{
	redact_set_free(&r->own);
	buf_free_secret(&r->held);
	redactor_init(r);
}

void redact_message(char *msg, size_t size, const char *name, const char *value,
		    size_t len)
{
	struct redactor r;
	struct buf out = BUF_INIT;

	if (!msg || !size || !value || len < REDACT_MIN_LEN)
		return;
	redactor_init(&r);
	redactor_add(&r, name, value, len);
	redactor_feed(&r, msg, strnlen(msg, size - 1), &out);
	redactor_flush(&r, &out);
	redactor_free(&r);
	snprintf(msg, size, "%s", out.data ? out.data : "");
	buf_free_secret(&out);
}
