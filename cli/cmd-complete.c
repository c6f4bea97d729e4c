/* deploy __complete: the words the shell completions offer (hidden). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "topology/topology.h"
#include "util/banned.h"

/*
 * The completion scripts (completions/) ask deploy itself, so they follow
 * the command and option tables and the topology without copies:
 *
 *   deploy __complete commands             every command
 *   deploy __complete options CMD          CMD's options, "--name" each
 *   deploy __complete value CMD -- OPTION [TOPOLOGY]
 *                                          what OPTION takes: its choices,
 *                                          the names for --limit, ":file"
 *                                          for a FILE; exit 1 when OPTION
 *                                          takes no value
 *   deploy __complete names [TOPOLOGY]     roles and hosts
 *   deploy __complete hosts [TOPOLOGY]     hosts
 *
 * It prints one word a line, never an error: a topology that does not
 * load completes nothing.
 */

static void print_names(const char *path, bool roles)
{
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	if (!topology_load(path, &t, &dl, &err) && t) {
		for (size_t i = 0; roles && i < t->nr_roles; i++)
			printf("%s\n", t->roles[i].name);
		for (size_t i = 0; i < t->nr_roles; i++)
			for (size_t j = 0; j < t->roles[i].nr_hosts; j++)
				printf("%s\n", t->roles[i].hosts[j].name);
	}
	topology_free(t);
	error_clear(&err);
	diag_list_free(&dl);
}

static const struct opt_spec *find_opt(const struct command *cmd,
				       const char *word)
{
	for (const struct opt_spec *o = cmd->opts; o && o->name; o++) {
		if (!strncmp(word, "--", 2) && !strcmp(word + 2, o->name))
			return o;
		if (word[0] == '-' && word[1] && word[1] == o->short_name &&
		    !word[2])
			return o;
	}
	return NULL;
}

static int complete_value(const struct command *cmd, const char *word,
			  const char *path)
{
	const struct opt_spec *o = find_opt(cmd, word);

	if (!o || o->type == OPT_FLAG)
		return EXIT_FAIL;
	if (o->choices)
		for (const char *const *c = o->choices; *c; c++)
			printf("%s\n", *c);
	else if (!strcmp(o->name, "limit"))
		print_names(path, true);
	else if (o->arg && strstr(o->arg, "FILE"))
		printf(":file\n"); /* the shell completes a path */
	return EXIT_OK;
}

static int complete_exec(const struct command *self, struct args *a)
{
	const char *what = a->nr_pos ? a->pos[0] : "";
	const struct command *cmd = NULL;
	size_t nr;
	const struct command *const *all = cli_commands(&nr);

	(void)self;
	if (!strcmp(what, "commands")) {
		for (size_t i = 0; i < nr; i++)
			if (!all[i]->hidden)
				printf("%s\n", all[i]->name);
		return EXIT_OK;
	}
	if (!strcmp(what, "names") || !strcmp(what, "hosts")) {
		print_names(a->nr_pos > 1 ? a->pos[1] : "topology.yml",
			    !strcmp(what, "names"));
		return EXIT_OK;
	}
	if (a->nr_pos > 1)
		cmd = cli_find_command(a->pos[1]);
	if (!cmd)
		return EXIT_FAIL;
	if (!strcmp(what, "options")) {
		for (const struct opt_spec *o = cmd->opts; o && o->name; o++)
			printf("--%s\n", o->name);
		printf("--help\n");
		return EXIT_OK;
	}
	if (!strcmp(what, "value") && a->nr_pos > 2)
		return complete_value(cmd, a->pos[2],
				      a->nr_pos > 3 ? a->pos[3]
						    : "topology.yml");
	return EXIT_FAIL;
}

static const struct opt_spec complete_opts[] = {
	{ 0 },
};

const struct command cmd_complete = {
	.name = "__complete",
	.summary = "words for the shell completions",
	.usage = "commands | options CMD | value CMD -- OPTION [topology.yml] "
		 "| names [topology.yml] | hosts [topology.yml]",
	.description = "Used by the bash and zsh completions (completions/).",
	.opts = complete_opts,
	.max_pos = 4,
	.hidden = true,
	.exec = complete_exec,
};
