/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_VALUES_H
#define DEPLOY_PLAYBOOK_VALUES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks on the values of playbook steps, shared by the loader (for values
 * without template tags) and the compiler (for values once rendered).
 */

/* 644, 0644, 0o644, 4755: always octal, at most 07777. 0 or -1. */
int val_parse_mode(const char *s, unsigned *out);
/* Debian package names with an optional :ARCH (no version pins). */
bool val_is_package(const char *s);
/* 64 hexadecimal digits. */
bool val_is_sha256(const char *s);
/* What systemctl accepts as a unit name, not starting with '-' or '.'. */
bool val_is_unit(const char *s);
/* useradd's default rule: [a-z_][a-z0-9_-]*, at most 32. */
bool val_is_user(const char *s);
/* A kernel parameter as sysctl.d(5) names it: net.ipv4.ip_forward. */
bool val_is_sysctl_key(const char *s);

/*
 * Whether template tags in shell code are safe: a value reaches the shell
 * as one single-quoted word, which only holds where a word may start. So a
 * variable tag may not sit inside quotes, backquotes, a comment or after a
 * here-document operator, and the tags that skip escaping ({{{x}}}, {{&x}}),
 * change delimiters or pull in partials are refused. NULL when safe, else
 * why not.
 */
const char *shell_code_problem(const char *code);

/*
 * Split a `command:` line into words at compile time, as a shell would
 * without expanding anything: blanks separate words, '...' and "..." group
 * (a backslash escapes " \ $ and ` inside double quotes), a backslash
 * outside quotes escapes the next character, and a template tag stays
 * whole inside its word. The words keep their tags, to be rendered one by
 * one. 0, or -1 with *why set; *argv is freed with command_argv_free().
 */
int command_split(const char *text, char ***argv, size_t *argc,
		  const char **why);
void command_argv_free(char **argv, size_t argc);

#endif
