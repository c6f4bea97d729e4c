/* SPDX-License-Identifier: MIT */
/* Git sources: the lock file beside the topology. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "source/source.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * The lock file beside the topology:
 *
 *   {
 *     "version": 1,
 *     "sources": {
 *       "ops": {"git": "https://example.com/ops.git", "ref": "v1.4.0",
 * "commit": "0123...ef"}
 *     }
 *   }
 *
 * One line per source, sorted by name, so that a change to one source is a
 * one-line diff. "ref" is null for the remote's default branch.
 */

#define LOCK_VERSION  1
#define LOCK_MAX_SIZE (4u << 20)

char *source_lock_path(const char *topology_file)
{
	const char *slash = strrchr(topology_file, '/');
	const char *base = slash ? slash + 1 : topology_file;
	const char *dot = strrchr(base, '.');
	struct buf b = BUF_INIT;

	if (dot && dot != base &&
	    (!strcmp(dot, ".yml") || !strcmp(dot, ".yaml")))
		buf_add(&b, topology_file, (size_t)(dot - topology_file));
	else
		buf_adds(&b, topology_file);
	buf_adds(&b, ".lock");
	return buf_release(&b);
}

static bool is_hex40(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 40;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct source_lock_entry *)a)->name,
		      ((const struct source_lock_entry *)b)->name);
}

struct source_lock_entry *source_lock_find(const struct source_lock *l,
					   const char *name)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->entries[i].name, name))
			return &l->entries[i];
	return NULL;
}

void source_lock_set(struct source_lock *l, const char *name, const char *git,
		     const char *ref, const char *commit)
{
	struct source_lock_entry *e = source_lock_find(l, name);

	if (!e) {
		XGROW(l->entries, l->alloc, l->nr + 1);
		e = &l->entries[l->nr++];
		memset(e, 0, sizeof(*e));
		e->name = xstrdup(name);
	}
	free(e->git);
	free(e->ref);
	e->git = source_url_redact(git);
	e->ref = ref ? xstrdup(ref) : NULL;
	snprintf(e->commit, sizeof(e->commit), "%s", commit);
	qsort(l->entries, l->nr, sizeof(*l->entries), entry_cmp);
}

static void entry_clear(struct source_lock_entry *e)
{
	free(e->name);
	free(e->git);
	free(e->ref);
}

void source_lock_remove(struct source_lock *l, const char *name)
{
	struct source_lock_entry *e = source_lock_find(l, name);
	size_t i;

	if (!e)
		return;
	i = (size_t)(e - l->entries);
	entry_clear(e);
	memmove(e, e + 1, (l->nr - i - 1) * sizeof(*e));
	l->nr--;
}

void source_lock_free(struct source_lock *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nr; i++)
		entry_clear(&l->entries[i]);
	free(l->entries);
	free(l->path);
	free(l);
}

static int bad(struct error *err, const char *path, const char *fmt,
	       const char *what)
{
	return error_set(err, DEPLOY_ERR_INVALID, path, 0, 0, fmt, what);
}

int source_lock_parse(const char *path, const char *text, size_t len,
		      struct source_lock **out, struct error *err)
{
	struct source_lock *l = xcalloc(1, sizeof(*l));
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *v, *sources, *s;
	int rc = 0;

	*out = NULL;
	l->path = xstrdup(path);
	if (!root) {
		rc = error_set(err, DEPLOY_ERR_SYNTAX, path, 0, 0,
			       "not a lock file: not JSON");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(v) || v->valuedouble != LOCK_VERSION) {
		rc = bad(
			err, path, "%s",
			"lock file version is not 1 (made by a newer deploy?)");
		goto out;
	}
	sources = cJSON_GetObjectItemCaseSensitive(root, "sources");
	if (!cJSON_IsObject(sources)) {
		rc = bad(err, path, "%s", "'sources' is not an object");
		goto out;
	}
	cJSON_ArrayForEach(s, sources)
	{
		const cJSON *git = cJSON_GetObjectItemCaseSensitive(s, "git");
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "ref");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "commit");

		if (!cJSON_IsObject(s) || !cJSON_IsString(git) ||
		    !(cJSON_IsString(ref) || cJSON_IsNull(ref)) ||
		    !cJSON_IsString(c) || !is_hex40(c->valuestring)) {
			rc = bad(err, path,
				 "source '%s' needs git, ref and a commit of "
				 "40 hex digits",
				 s->string);
			goto out;
		}
		if (source_lock_find(l, s->string)) {
			rc = bad(err, path, "source '%s' is there twice",
				 s->string);
			goto out;
		}
		source_lock_set(l, s->string, git->valuestring,
				cJSON_IsString(ref) ? ref->valuestring : NULL,
				c->valuestring);
	}
	l->exists = true;
	*out = l;
	l = NULL;
out:
	cJSON_Delete(root);
	source_lock_free(l);
	return rc;
}

int source_lock_read(const char *path, struct source_lock **out,
		     struct error *err)
{
	struct buf text;
	int rc;

	*out = NULL;
	buf_init(&text, LOCK_MAX_SIZE);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		buf_free(&text);
		*out = xcalloc(1, sizeof(**out));
		(*out)->path = xstrdup(path);
		return 0;
	}
	if (rc) {
		buf_free(&text);
		return error_set(err, rc, path, 0, 0, "cannot read: %s",
				 rc == DEPLOY_ERR_TOO_BIG ? "too big"
							  : strerror(errno));
	}
	rc = source_lock_parse(path, text.data, text.len, out, err);
	buf_free(&text);
	return rc;
}

static void add_json_string(struct buf *out, const char *s)
{
	cJSON *str;
	char *text;

	if (!s) {
		buf_adds(out, "null");
		return;
	}
	str = cJSON_CreateString(s);
	text = cJSON_PrintUnformatted(str);
	buf_adds(out, text);
	free(text);
	cJSON_Delete(str);
}

void source_lock_format(const struct source_lock *l, struct buf *out)
{
	buf_addf(out, "{\n  \"version\": %d,\n  \"sources\": {", LOCK_VERSION);
	for (size_t i = 0; i < l->nr; i++) {
		const struct source_lock_entry *e = &l->entries[i];

		buf_adds(out, i ? ",\n    " : "\n    ");
		add_json_string(out, e->name);
		buf_adds(out, ": {\"git\": ");
		add_json_string(out, e->git);
		buf_adds(out, ", \"ref\": ");
		add_json_string(out, e->ref);
		buf_addf(out, ", \"commit\": \"%s\"}", e->commit);
	}
	buf_adds(out, l->nr ? "\n  }\n}\n" : "}\n}\n");
}

int source_lock_write(struct source_lock *l, struct error *err)
{
	struct buf text = BUF_INIT;
	int rc;

	source_lock_format(l, &text);
	rc = file_replace(l->path, text.data, text.len, 0644, NULL,
			  "the lock file", err);
	if (!rc)
		l->exists = true;
	buf_free(&text);
	return rc;
}

char *source_url_redact(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *auth, *at, *end, *colon;
	struct buf b = BUF_INIT;

	if (!scheme) /* user@host:path carries no password */
		return xstrdup(url);
	auth = scheme + 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	/* The last '@' before the path ends the user information. */
	while (at && memchr(at + 1, '@', (size_t)(end - at - 1)))
		at = memchr(at + 1, '@', (size_t)(end - at - 1));
	if (!at)
		return xstrdup(url);
	buf_add(&b, url, (size_t)(auth - url));
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) {
		/* A token often stands alone as the user name. */
		buf_adds(&b, "***");
	} else {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			buf_add(&b, auth, (size_t)(colon - auth));
			buf_adds(&b, ":***");
		} else {
			buf_add(&b, auth, (size_t)(at - auth));
		}
	}
	buf_adds(&b, at);
	return buf_release(&b);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void percent_decode(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			buf_addch(out, (char)(hexval(s[i + 1]) * 16 +
					      hexval(s[i + 2])));
			i += 2;
		} else {
			buf_addch(out, s[i]);
		}
	}
}

/* Every byte but RFC 3986's unreserved ones as %XX, in hex of that case. */
static void percent_encode(struct buf *out, const char *s, size_t len,
			   bool upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c)) {
			buf_addch(out, (char)c);
		} else {
			buf_addch(out, '%');
			buf_addch(out, hex[c >> 4]);
			buf_addch(out, hex[c & 15]);
		}
	}
}

/* Replace every occurrence of word (len bytes, at least min) in b by ***. */
static void replace_all(struct buf *b, const char *word, size_t len, size_t min)
{
	struct buf out = BUF_INIT;
	const char *p = b->data, *end = b->data + b->len, *hit;

	if (!len || len < min)
		return;
	while ((hit = memmem(p, (size_t)(end - p), word, len))) {
		buf_add(&out, p, (size_t)(hit - p));
		buf_adds(&out, "***");
		p = hit + len;
	}
	buf_add(&out, p, (size_t)(end - p));
	buf_free_secret(b);
	*b = out;
}

/*
 * One credential in its raw, decoded and encoded forms. Shorter than min,
 * it is left (a user name "git" would eat every "git" of the message).
 */
static void scrub_word(struct buf *b, const char *s, size_t len, size_t min)
{
	struct buf dec = BUF_INIT, enc = BUF_INIT;

	percent_decode(&dec, s, len);
	for (int upper = 0; upper < 2; upper++) {
		buf_reset(&enc);
		percent_encode(&enc, dec.data, dec.len, upper);
		replace_all(b, enc.data, enc.len, min);
	}
	replace_all(b, s, len, min);
	replace_all(b, dec.data, dec.len, min);
	buf_free_secret(&dec);
	buf_free_secret(&enc);
}

char *source_scrub(const char *text, const char *url)
{
	struct buf b = BUF_INIT;
	const char *auth, *end, *at, *colon, *p;

	buf_adds(&b, text);
	/* The credentials of this source's URL, in any form. */
	auth = url ? strstr(url, "://") : NULL;
	if (auth) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		at = NULL;
		for (p = auth; p < end; p++)
			if (*p == '@')
				at = p;
		if (at) {
			colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon)
				scrub_word(&b, colon + 1,
					   (size_t)(at - colon - 1), 1);
			/* For http(s) a token often stands alone as the
			 * user name: the user goes too. */
			if (!strncmp(url, "http", 4))
				scrub_word(
					&b, auth,
					(size_t)((colon ? colon : at) - auth),
					8);
		}
	}
	/* And the credentials of any URL the text quotes. */
	for (p = b.data; (p = strstr(p, "://"));) {
		const char *start = p;
		size_t off, n;
		char *token, *clean;
		struct buf out = BUF_INIT;

		while (start > b.data && (isalnum((unsigned char)start[-1]) ||
					  strchr("+-.", start[-1])))
			start--;
		n = (size_t)(p - start) + 3 + strcspn(p + 3, " \t\n'\"<>");
		token = xstrndup(start, n);
		clean = source_url_redact(token);
		off = (size_t)(start - b.data);
		buf_add(&out, b.data, off);
		buf_adds(&out, clean);
		buf_adds(&out, start + n);
		buf_free_secret(&b);
		b = out;
		p = b.data + off + strlen(clean);
		freezero(token, n + 1);
		free(clean);
	}
	return buf_release(&b);
}

char *source_cache_name(const char *url)
{
	char *clean = source_url_redact(url), *star = strstr(clean, "://***@");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct buf b = BUF_INIT;
	size_t end = strlen(clean), start;

	/* https://TOKEN@h/x and https://h/x are one repository. */
	if (star &&
	    (!strncmp(clean, "http://", 7) || !strncmp(clean, "https://", 8)))
		memmove(star + 3, star + 7, strlen(star + 7) + 1);
	end = strlen(clean);
	EVP_Digest(clean, strlen(clean), md, &md_len, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 10 && i < md_len; i++)
		buf_addf(&b, "%02x", md[i]);
	/* The last part of the path, without .git, for people to read. */
	while (end && (clean[end - 1] == '/'))
		end--;
	if (end >= 4 && !strncmp(clean + end - 4, ".git", 4))
		end -= 4;
	start = end;
	while (start && clean[start - 1] != '/' && clean[start - 1] != ':')
		start--;
	buf_addch(&b, '-');
	for (size_t i = start, n = 0; i < end && n < 40; i++, n++) {
		char c = clean[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  c == '.';

		buf_addch(&b, ok ? c : '_');
	}
	if (start == end)
		buf_adds(&b, "repo");
	free(clean);
	return buf_release(&b);
}
