/* SPDX-License-Identifier: MIT */
/* Command-line options parsed by each command's table; usage errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_message(fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr,
			"usage: deploy %s %s\n"
			"see 'deploy %s --help'\n",
			cmd->name, cmd->usage, cmd->name);
	else
		fputs("see 'deploy --help'\n", stderr);
	return EXIT_USAGE;
}

static const struct opt_spec *find_long(const struct command *cmd,
					const char *name, size_t len, int *idx)
{
	for (int i = 0; cmd->opts[i].name; i++) {
		if (strlen(cmd->opts[i].name) == len &&
		    !strncmp(cmd->opts[i].name, name, len)) {
			*idx = i;
			return &cmd->opts[i];
		}
	}
	return NULL;
}

static const struct opt_spec *find_short(const struct command *cmd, char c,
					 int *idx)
{
	for (int i = 0; cmd->opts[i].name; i++) {
		if (cmd->opts[i].short_name == c) {
			*idx = i;
			return &cmd->opts[i];
		}
	}
	return NULL;
}

static int unknown_option(const struct command *cmd, const char *arg,
			  size_t len)
{
	const char *names[MAX_OPTS + 1];
	char *word = xstrndup(arg, len);
	const char *hint;
	int n = 0, rc;

	for (; cmd->opts[n].name && n < MAX_OPTS; n++)
		names[n] = cmd->opts[n].name;
	names[n] = NULL;
	hint = suggest(word, names, SIZE_MAX);
	if (hint)
		rc = usage_error(cmd,
				 "unknown option '--%s' (did you mean "
				 "'--%s'?)",
				 word, hint);
	else
		rc = usage_error(cmd, "unknown option '--%s'", word);
	free(word);
	return rc;
}

static int set_value(const struct command *cmd, const struct opt_spec *o,
		     struct opt_value *v, const char *value)
{
	char *end;

	v->set = true;
	if (o->type == OPT_FLAG)
		return 0;
	v->str = value;
	if (o->type == OPT_INT) {
		errno = 0;
		v->num = strtol(value, &end, 10);
		if (errno || !*value || *end)
			return usage_error(cmd, "--%s needs a number, not '%s'",
					   o->name, value);
	}
	if (o->choices) {
		for (const char *const *c = o->choices; *c; c++)
			if (!strcmp(*c, value))
				return 0;
		return usage_error(cmd,
				   "--%s '%s' is not one of the choices "
				   "(see --help)",
				   o->name, value);
	}
	return 0;
}

int parse_args(const struct command *cmd, int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->pos = xcalloc((size_t)argc + 1, sizeof(*a->pos));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const struct opt_spec *o;
		const char *eq, *value = NULL;
		int idx = 0, rc;

		if (!strcmp(arg, "--")) {
			if (cmd->takes_rest) {
				a->rest = argv + i + 1;
				a->nr_rest = argc - i - 1;
				break;
			}
			/* Everything after it is positional, even "-x". */
			while (++i < argc)
				a->pos[a->nr_pos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			a->pos[a->nr_pos++] = argv[i];
			continue;
		}
		if (arg[1] == '-') {
			eq = strchr(arg + 2, '=');
			o = find_long(cmd, arg + 2,
				      eq ? (size_t)(eq - arg - 2)
					 : strlen(arg + 2),
				      &idx);
			if (!o)
				return unknown_option(
					cmd, arg + 2,
					eq ? (size_t)(eq - arg - 2)
					   : strlen(arg + 2));
			if (eq && o->type == OPT_FLAG)
				return usage_error(cmd, "--%s takes no value",
						   o->name);
			value = eq ? eq + 1 : NULL;
		} else {
			o = find_short(cmd, arg[1], &idx);
			if (!o || arg[2])
				return usage_error(cmd, "unknown option '%s'",
						   arg);
		}
		if (o->type != OPT_FLAG && !value) {
			if (i + 1 >= argc)
				return usage_error(cmd,
						   "--%s needs a value (%s)",
						   o->name, o->arg);
			value = argv[++i];
		}
		rc = set_value(cmd, o, &a->opt[idx], value);
		if (rc)
			return rc;
	}
	if (a->nr_pos > cmd->max_pos)
		return usage_error(cmd, "too many arguments ('%s')",
				   a->pos[cmd->max_pos]);
	return 0;
}

void free_args(struct args *a)
{
	free(a->pos);
	a->pos = NULL;
}

void print_command_help(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: deploy %s %s\n\n%s\n", cmd->name, cmd->usage,
		cmd->description);
	fputs("\noptions:\n", out);
	for (int i = 0; cmd->opts[i].name; i++) {
		const struct opt_spec *o = &cmd->opts[i];
		struct buf left = BUF_INIT;

		if (o->short_name)
			buf_addf(&left, "-%c, ", o->short_name);
		else
			buf_adds(&left, "    ");
		buf_addf(&left, "--%s", o->name);
		if (o->type != OPT_FLAG)
			buf_addf(&left, " %s", o->arg);
		/* A long option and its value get a line of their own. */
		if (left.len > 24)
			fprintf(out, "  %s\n  %-24s %s\n", left.data, "",
				o->help);
		else
			fprintf(out, "  %-24s %s\n", left.data, o->help);
		buf_free(&left);
	}
	fprintf(out, "  %-24s %s\n", "-h, --help", "show this help");
}

const char *topology_arg(const struct args *a)
{
	return a->nr_pos ? a->pos[0] : "topology.yml";
}
