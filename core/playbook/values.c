/* SPDX-License-Identifier: MIT */
/* Checks on step values shared by the loader and the compiler. */
#include <stdlib.h>
#include <string.h>

#include "playbook/values.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

int val_parse_mode(const char *s, unsigned *out)
{
	unsigned m = 0;
	size_t n;

	if (s[0] == '0' && s[1] == 'o')
		s += 2;
	n = strlen(s);
	if (n < 3 || n > 5 || (n == 5 && s[0] != '0'))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		m = m * 8 + (unsigned)(*s - '0');
	}
	if (m > 07777)
		return -1;
	*out = m;
	return 0;
}

static bool is_lower_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool val_is_package(const char *s)
{
	const char *p = s;

	if (!is_lower_digit(*p))
		return false;
	for (p++; *p && *p != ':'; p++)
		if (!is_lower_digit(*p) && !strchr("+-.", *p))
			return false;
	if (p - s < 2)
		return false;
	if (*p == ':')
		return is_dns_label(p + 1) || is_identifier(p + 1);
	return true;
}

bool val_is_sha256(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return n == 64;
}

bool val_is_unit(const char *s)
{
	if (!*s || *s == '-' || *s == '.' || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!is_lower_digit(*s) && !(*s >= 'A' && *s <= 'Z') &&
		    !strchr("@._:-\\", *s))
			return false;
	return true;
}

bool val_is_user(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
		return false;
	for (p++; *p; p++)
		if (!is_lower_digit(*p) && *p != '_' && *p != '-')
			return false;
	return p - s <= 32;
}

bool val_is_sysctl_key(const char *s)
{
	if (!*s || *s == '.' || *s == '/' || *s == '-' || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!is_lower_digit(*s) && !(*s >= 'A' && *s <= 'Z') &&
		    !strchr("._-/*", *s))
			return false;
	return true;
}

/* Where a tag at p is: the end of the tag, or NULL when it is unclosed. */
static const char *tag_end(const char *p)
{
	const char *end = strstr(p + 2, "}}");

	if (!end)
		return NULL;
	end += 2;
	if (p[2] == '{' && *end == '}')
		end++;
	return end;
}

/* {{#x}} {{^x}} {{/x}} {{!x}} interpolate nothing. */
static bool tag_is_structural(const char *p)
{
	p += 2;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '#' || *p == '^' || *p == '/' || *p == '!';
}

static bool word_may_start(const char *s, const char *p)
{
	return p == s || strchr(" \t\n;&|()<>", p[-1]);
}

const char *shell_code_problem(const char *s)
{
	bool sq = false, dq = false, bq = false, comment = false;
	bool heredoc = false;

	for (const char *p = s; *p; p++) {
		if (p[0] == '{' && p[1] == '{') {
			const char *end = tag_end(p);

			if (p[2] == '{' || p[2] == '&')
				return "'{{{...}}}' and '{{&...}}' skip "
				       "quoting and cannot be used in shell "
				       "code; write '{{name}}'";
			if (p[2] == '=')
				return "changing the template delimiters is "
				       "not allowed in shell code";
			if (p[2] == '>')
				return "partials are not allowed in shell "
				       "code";
			if (!end)
				return "a template tag is not closed with '}}'";
			if (!tag_is_structural(p)) {
				if (sq || dq)
					return "a template tag inside quotes: "
					       "values arrive quoted already; "
					       "remove the quotes around it";
				if (bq)
					return "a template tag inside "
					       "backquotes: use $(...) instead";
				if (comment)
					return "a template tag inside a "
					       "comment: a value with a "
					       "newline would end it";
				if (heredoc)
					return "a template tag after a "
					       "here-document ('<<'): values "
					       "are not quoted there";
			}
			p = end - 1;
			continue;
		}
		if (comment) {
			if (*p == '\n')
				comment = false;
			continue;
		}
		if (sq) {
			if (*p == '\'')
				sq = false;
			continue;
		}
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (dq) {
			if (*p == '"')
				dq = false;
			continue;
		}
		if (*p == '\'')
			sq = true;
		else if (*p == '"')
			dq = true;
		else if (*p == '`')
			bq = !bq;
		else if (*p == '#' && word_may_start(s, p))
			comment = true;
		else if (p[0] == '<' && p[1] == '<')
			heredoc = true;
	}
	if (sq || dq)
		return "a quote is not closed";
	if (bq)
		return "a backquote is not closed";
	return NULL;
}

void command_argv_free(char **argv, size_t argc)
{
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

int command_split(const char *text, char ***argv, size_t *argc,
		  const char **why)
{
	struct buf word = BUF_INIT;
	bool in_word = false;
	char **v = NULL;
	size_t nr = 0, alloc = 0;
	const char *p = text;

	*argv = NULL;
	*argc = 0;
	for (;;) {
		if (!*p || *p == ' ' || *p == '\t' || *p == '\n') {
			if (in_word) {
				XGROW(v, alloc, nr + 1);
				v[nr++] = buf_release(&word);
				in_word = false;
			}
			if (!*p)
				break;
			p++;
			continue;
		}
		in_word = true;
		if (p[0] == '{' && p[1] == '{') {
			const char *end = tag_end(p);

			if (!end) {
				*why = "a template tag is not closed with '}}'";
				goto fail;
			}
			buf_add(&word, p, (size_t)(end - p));
			p = end;
		} else if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');

			if (!end) {
				*why = "a single quote is not closed";
				goto fail;
			}
			buf_add(&word, p + 1, (size_t)(end - p - 1));
			p = end + 1;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] &&
				    strchr("\"\\$`", p[1]))
					p++;
				buf_addch(&word, *p);
			}
			if (!*p) {
				*why = "a double quote is not closed";
				goto fail;
			}
			p++;
		} else if (*p == '\\') {
			if (!p[1]) {
				*why = "a backslash at the end";
				goto fail;
			}
			buf_addch(&word, p[1]);
			p += 2;
		} else {
			if (strchr("|&;<>()$`*?[", *p) ||
			    ((*p == '#' || *p == '~') && !word.len)) {
				*why = "shell syntax ('|', '&', ';', '<', '>', "
				       "'$', '*', '#' ...) in a command: quote "
				       "it, or use a 'shell' step";
				goto fail;
			}
			buf_addch(&word, *p++);
		}
	}
	if (!nr) {
		*why = "no command";
		goto fail;
	}
	*argv = v;
	*argc = nr;
	return 0;
fail:
	buf_free(&word);
	command_argv_free(v, nr);
	return -1;
}
