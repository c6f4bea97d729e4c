/* SPDX-License-Identifier: MIT */
/* One profile from ~/.aws/credentials or ~/.aws/config (their INI). */
#include "providers/aws/profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define AWS_FILE_MAX (1u << 20)

/* Keys that name a way to get credentials deploy does not implement: a
 * profile using one is refused with its name rather than passed over. */
static const char *const unsupported_keys[] = {
	"role_arn",
	"source_profile",
	"credential_source",
	"credential_process",
	"sso_session",
	"sso_start_url",
	"web_identity_token_file",
};

struct span {
	const char *p;
	size_t len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static struct span trim(const char *p, size_t len)
{
	while (len && is_blank(*p)) {
		p++;
		len--;
	}
	while (len && is_blank(p[len - 1]))
		len--;
	return (struct span){ p, len };
}

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && !memcmp(s.p, word, s.len);
}

static bool span_is_nocase(struct span s, const char *word)
{
	return s.len == strlen(word) && !strncasecmp(s.p, word, s.len);
}

/* The text before a comment that starts after whitespace: "v # note". */
static size_t before_comment(const char *p, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if ((p[i] == '#' || p[i] == ';') && is_blank(p[i - 1]))
			return i;
	return len;
}

/* Whether a section header's inside names this profile. */
static bool section_matches(struct span name, enum aws_file_kind kind,
			    const char *profile)
{
	if (kind == AWS_FILE_CREDENTIALS)
		return span_is(name, profile);
	if (!strcmp(profile, "default") && span_is(name, "default"))
		return true;
	if (name.len > 7 && !memcmp(name.p, "profile", 7) &&
	    is_blank(name.p[7]))
		return span_is(trim(name.p + 7, name.len - 7), profile);
	return false;
}

static void set_value(char **slot, struct span v, bool secret)
{
	if (*slot && secret)
		freezero(*slot, strlen(*slot) + 1);
	else
		free(*slot);
	*slot = v.len ? xstrndup(v.p, v.len) : NULL;
}

static void take_setting(struct aws_profile *out, struct span key,
			 struct span value)
{
	if (span_is_nocase(key, "aws_access_key_id")) {
		set_value(&out->access_key, value, false);
	} else if (span_is_nocase(key, "aws_secret_access_key")) {
		set_value(&out->secret_key, value, true);
	} else if (span_is_nocase(key, "aws_session_token") ||
		   span_is_nocase(key, "aws_security_token")) {
		/* aws_security_token: the older name, still read by boto. */
		set_value(&out->token, value, true);
	} else if (span_is_nocase(key, "region")) {
		set_value(&out->region, value, false);
	} else if (!out->unsupported && value.len) {
		for (size_t i = 0;
		     i < sizeof(unsupported_keys) / sizeof(unsupported_keys[0]);
		     i++)
			if (span_is_nocase(key, unsupported_keys[i]))
				out->unsupported = unsupported_keys[i];
	}
}

static int parse(const char *path, const char *text, size_t len,
		 enum aws_file_kind kind, const char *profile,
		 struct aws_profile *out, struct error *err)
{
	const char *p = text, *end = text + len;
	bool in_section = false, matching = false, in_sub = false;
	int lineno = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		bool indented = n && is_blank(p[0]);
		struct span line = trim(p, n);
		const char *eq;

		lineno++;
		p = eol ? eol + 1 : end;
		if (!line.len || line.p[0] == '#' || line.p[0] == ';')
			continue;
		/* The indented lines under "key =" are its sub-settings. */
		if (indented && in_sub)
			continue;
		in_sub = false;
		if (line.p[0] == '[') {
			const char *close = memchr(line.p, ']', line.len);
			struct span rest;

			if (!close)
				return error_set(err, DEPLOY_ERR_SYNTAX, path,
						 lineno, 0,
						 "section header without ']'");
			rest = trim(close + 1,
				    line.len - (size_t)(close + 1 - line.p));
			if (rest.len && rest.p[0] != '#' && rest.p[0] != ';')
				return error_set(
					err, DEPLOY_ERR_SYNTAX, path, lineno,
					(int)(close + 2 - line.p),
					"unexpected text after the section "
					"header");
			in_section = true;
			matching = section_matches(
				trim(line.p + 1, (size_t)(close - line.p - 1)),
				kind, profile);
			if (matching && !out->found) {
				out->found = true;
				out->line = lineno;
			}
			continue;
		}
		eq = memchr(line.p, '=', line.len);
		if (!eq)
			return error_set(err, DEPLOY_ERR_SYNTAX, path, lineno,
					 0,
					 "expected '[section]' or "
					 "'key = value'");
		if (!in_section)
			return error_set(err, DEPLOY_ERR_SYNTAX, path, lineno,
					 0, "a setting before any '[section]'");
		{
			struct span key = trim(line.p, (size_t)(eq - line.p));
			const char *v = eq + 1;
			size_t vlen = line.len - (size_t)(v - line.p);
			struct span value = trim(v, before_comment(v, vlen));

			if (!key.len)
				return error_set(err, DEPLOY_ERR_SYNTAX, path,
						 lineno, 0,
						 "a setting without a name");
			in_sub = !value.len;
			if (matching)
				take_setting(out, key, value);
		}
	}
	return 0;
}

int aws_profile_parse(const char *path, const char *text, size_t len,
		      enum aws_file_kind kind, const char *profile,
		      struct aws_profile *out, struct error *err)
{
	int rc = parse(path, text, len, kind, profile, out, err);

	if (rc)
		aws_profile_free(out);
	return rc;
}

/* Allocate the buffer at its final size before reading, so that no copy of
 * the file's bytes is left behind by a realloc. */
static void reserve(struct buf *b, size_t size)
{
	buf_init(b, AWS_FILE_MAX);
	b->data = xcalloc(size + 1, 1);
	b->cap = size + 1;
}

int aws_profile_load(const char *path, enum aws_file_kind kind,
		     const char *profile, struct aws_profile *out,
		     struct error *err)
{
	struct buf text;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot read: %s", strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "is a directory, not a file");
	if (st.st_size > (off_t)AWS_FILE_MAX)
		return error_set(err, DEPLOY_ERR_TOO_BIG, path, 0, 0,
				 "larger than %u KiB", AWS_FILE_MAX >> 10);
	reserve(&text, (size_t)st.st_size);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_NOT_FOUND)
		rc = 0;
	else if (rc == DEPLOY_ERR_TOO_BIG)
		rc = error_set(err, rc, path, 0, 0, "larger than %u KiB",
			       AWS_FILE_MAX >> 10);
	else if (rc)
		rc = error_set(err, rc, path, 0, 0, "cannot read: %s",
			       strerror(errno));
	else
		rc = aws_profile_parse(path, text.data, text.len, kind, profile,
				       out, err);
	buf_free_secret(&text);
	return rc;
}

void aws_profile_free(struct aws_profile *p)
{
	if (!p)
		return;
	free(p->access_key);
	if (p->secret_key)
		freezero(p->secret_key, strlen(p->secret_key) + 1);
	if (p->token)
		freezero(p->token, strlen(p->token) + 1);
	free(p->region);
	memset(p, 0, sizeof(*p));
}
