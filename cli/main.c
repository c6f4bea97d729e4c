/* SPDX-License-Identifier: MIT */
/* deploy's entry point: the command table, help and dispatch. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "config.h"
#include "cli/cli.h"
#include "util/strutil.h"
#include "util/banned.h"

/*
 * Every command, in the order `deploy --help` lists them. Adding one: write
 * cli/cmd-NAME.c exporting a const struct command, declare it in cli/cli.h,
 * list it here and in cli/meson.build, document it in docs/cli.md (t0009)
 * and name it in docs/man/meson.build for its man page (t0012). Hidden
 * commands (.hidden) serve the build and the shell completions.
 */
/* clang-format off */
static const struct command *const commands[] = {
	&cmd_init,
	&cmd_validate,
	&cmd_graph,
	&cmd_plan,
	&cmd_up,
	&cmd_down,
	&cmd_status,
	&cmd_output,
	&cmd_run,
	&cmd_sources,
	&cmd_ssh,
	&cmd_ssh_config,
	&cmd_unlock,
	&cmd_state,
	&cmd_import,
	&cmd_complete,
	&cmd_man,
};
/* clang-format on */

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct command *const *cli_commands(size_t *nr)
{
	*nr = NR_COMMANDS;
	return commands;
}

const struct command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static void print_main_help(FILE *out)
{
	fputs("usage: deploy <command> [options] [topology.yml]\n"
	      "       deploy help <command>\n"
	      "       deploy --version\n\n"
	      "Provision and configure a fleet of hosts from one topology "
	      "file.\n\ncommands:\n",
	      out);
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!commands[i]->hidden)
			fprintf(out, "  %-10s %s\n", commands[i]->name,
				commands[i]->summary);
	fputs("\nThe topology defaults to ./topology.yml.\n"
	      "Exit codes: 0 success (or nothing to change), 1 failure,\n"
	      "2 plan found changes, 64 usage error.\n"
	      "See 'deploy help <command>' and docs/cli.md.\n",
	      out);
}

static int unknown_command(const char *name)
{
	const char *names[NR_COMMANDS + 1];
	const char *hint;
	size_t n = 0;

	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!commands[i]->hidden)
			names[n++] = commands[i]->name;
	names[n] = NULL;
	hint = suggest(name, names, SIZE_MAX);
	if (hint)
		return usage_error(NULL,
				   "unknown command '%s' (did you mean "
				   "'%s'?)",
				   name, hint);
	return usage_error(NULL, "unknown command '%s'", name);
}

static int help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	cmd = cli_find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	print_command_help(cmd, stdout);
	return EXIT_OK;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

/*
 * deploy holds secrets (the topology's, cloud credentials, passphrases):
 * as ssh-agent does, it is not dumpable, so no core file holds them and no
 * other process of the operator's may read its memory or environment
 * (ptrace, /proc/PID/mem, /proc/PID/environ). What it runs (ssh, ip,
 * systemd-nspawn) is dumpable again after exec, as the kernel makes it.
 */
static void protect_memory(void)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct args a;
	int rc;

	protect_memory();
	if (argc < 2) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return help(1, argv);
	if (!strcmp(argv[1], "--version")) {
		printf("deploy %s\n", DEPLOY_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return help(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return usage_error(NULL, "unknown option '%s'", argv[1]);
	cmd = cli_find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	if (wants_help(argc - 2, argv + 2)) {
		print_command_help(cmd, stdout);
		return EXIT_OK;
	}
	rc = parse_args(cmd, argc - 2, argv + 2, &a);
	if (!rc)
		rc = cmd->exec(cmd, &a);
	free_args(&a);
	fflush(stdout);
	if (ferror(stdout)) {
		print_message("cannot write the output");
		return EXIT_FAIL;
	}
	return rc;
}
