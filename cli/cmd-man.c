/* deploy __man: scdoc sources of the man pages, from the command table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"
#include "util/banned.h"

/*
 * The man pages deploy(1) and deploy-CMD(1) are made at build time
 * (docs/man/meson.build) from what `deploy help` prints: this command
 * writes each page's scdoc(5) source from the command's usage, description
 * and option table, so `deploy help up` and `man deploy-up` cannot differ.
 */

/* s as scdoc text: its formatting characters escaped. */
static void put_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '*' || s[i] == '_')
			putchar('\\');
		putchar(s[i]);
	}
}

static void puts_text(const char *s)
{
	put_text(s, strlen(s));
}

/* A description: its lines joined into paragraphs (a blank line ends
 * one), so that no line starts with what scdoc reads as a list. */
static void put_paragraphs(const char *s)
{
	while (*s) {
		size_t len = strcspn(s, "\n");

		put_text(s, len);
		s += len;
		if (!*s)
			break;
		s++;
		if (*s == '\n') {
			fputs("\n\n", stdout);
			while (*s == '\n')
				s++;
		} else {
			putchar(' ');
		}
	}
	putchar('\n');
}

static void put_synopsis(const struct command *cmd)
{
	const char *s = cmd->usage;

	/* Usage lines after the first are "       deploy NAME ...". */
	printf("*deploy %s* ", cmd->name);
	while (*s) {
		size_t len = strcspn(s, "\n");

		put_text(s, len);
		s += len;
		if (!*s)
			break;
		s++;
		s += strspn(s, " ");
		if (!strncmp(s, "deploy ", 7)) {
			s += 7;
			printf("\n\n*deploy* ");
		} else {
			printf("\n\n");
		}
	}
	putchar('\n');
}

static void put_options(const struct command *cmd)
{
	printf("\n# OPTIONS\n\n");
	for (const struct opt_spec *o = cmd->opts; o && o->name; o++) {
		if (o->short_name)
			printf("*-%c*, ", o->short_name);
		printf("*--");
		puts_text(o->name);
		putchar('*');
		if (o->type != OPT_FLAG) {
			putchar(' ');
			puts_text(o->arg);
		}
		printf("\n\t");
		puts_text(o->help);
		if (o->choices) {
			printf(": one of");
			for (const char *const *c = o->choices; *c; c++) {
				printf("%s ", c == o->choices ? "" : ",");
				puts_text(*c);
			}
		}
		printf("\n\n");
	}
	printf("*-h*, *--help*\n\tshow this help\n");
}

static void put_footer(const char *also)
{
	printf("\n# EXIT STATUS\n\n"
	       "0 success (or nothing to change), 1 failure, 2 *deploy plan* "
	       "found changes, 64 usage error, 130 interrupted.\n"
	       "\n# SEE ALSO\n\n%s*deploy-topology*(5); docs/cli.md in the "
	       "source tree has examples of every command.\n",
	       also);
}

static void page_command(const struct command *cmd)
{
	printf("deploy-%s(1) \"deploy %s\"\n\n# NAME\n\ndeploy-%s - ",
	       cmd->name, DEPLOY_VERSION, cmd->name);
	puts_text(cmd->summary);
	printf("\n\n# SYNOPSIS\n\n");
	put_synopsis(cmd);
	printf("\n# DESCRIPTION\n\n");
	put_paragraphs(cmd->description);
	put_options(cmd);
	put_footer("*deploy*(1), ");
}

static void page_deploy(void)
{
	size_t nr;
	const struct command *const *all = cli_commands(&nr);

	printf("deploy(1) \"deploy %s\"\n\n# NAME\n\n"
	       "deploy - provision and configure a fleet of hosts from one "
	       "topology file\n\n# SYNOPSIS\n\n"
	       "*deploy* <command> [options] [topology.yml]\n\n"
	       "*deploy help* <command>\n\n*deploy --version*\n\n"
	       "# DESCRIPTION\n\n"
	       "deploy parses the topology (*deploy-topology*(5)), creates "
	       "what is missing through the providers' APIs or takes existing "
	       "hosts from an SSH inventory, then configures every host over "
	       "SSH in dependency order. Running it again changes nothing that "
	       "is already right; *deploy down* removes exactly what it made. "
	       "The topology defaults to ./topology.yml.\n\n# COMMANDS\n\n",
	       DEPLOY_VERSION);
	for (size_t i = 0; i < nr; i++) {
		if (all[i]->hidden)
			continue;
		printf("*%s*\n\t", all[i]->name);
		puts_text(all[i]->summary);
		printf("; see *deploy-%s*(1).\n\n", all[i]->name);
	}
	printf("# FILES\n\n"
	       "_.deploy/NAME.state.json_\n\tthe state beside the topology "
	       "(mode 0600), with its lock _.deploy/NAME.lock_\n\n"
	       "_.deploy/logs/HOST.log_\n\teach host's output of the last "
	       "run\n");
	put_footer("");
}

static int man_exec(const struct command *self, struct args *a)
{
	const struct command *cmd;

	(void)self;
	if (!a->nr_pos) {
		page_deploy();
		return EXIT_OK;
	}
	cmd = cli_find_command(a->pos[0]);
	if (!cmd || cmd->hidden)
		return usage_error(self, "no command '%s'", a->pos[0]);
	page_command(cmd);
	return EXIT_OK;
}

static const struct opt_spec man_opts[] = {
	{ 0 },
};

const struct command cmd_man = {
	.name = "__man",
	.summary = "the man pages' scdoc sources",
	.usage = "[COMMAND]",
	.description = "Used by the build to make deploy(1) and "
		       "deploy-COMMAND(1) with scdoc.",
	.opts = man_opts,
	.max_pos = 1,
	.hidden = true,
	.exec = man_exec,
};
