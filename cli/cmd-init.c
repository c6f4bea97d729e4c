/* deploy init: write a commented starting topology from an example. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/examples.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/banned.h"

enum {
	OPT_EXAMPLE,
	OPT_LIST,
};

static const struct opt_spec init_opts[] = {
	[OPT_EXAMPLE] = { "example", 'e', OPT_STRING, "NAME",
			  "start from this example: local (the default), "
			  "bare-metal, aws, gcp or multi-cloud",
			  example_names },
	[OPT_LIST] = { "list", 0, OPT_FLAG, NULL,
		       "list the examples and what each is", NULL },
	{ 0 },
};

/* The example's opening comment up to its first ':' or '.', on one line. */
static void print_summary(const struct example *e)
{
	struct buf line = BUF_INIT;
	const char *s = e->text;

	while (!strncmp(s, "# ", 2)) {
		size_t len = strcspn(s + 2, "\n");
		size_t stop = strcspn(s + 2, ":.\n");

		if (line.len)
			buf_addch(&line, ' ');
		buf_add(&line, s + 2, stop);
		if (stop < len)
			break;
		s += 2 + len + (s[2 + len] == '\n');
	}
	printf("%-12s %s\n", e->name, line.len ? line.data : e->file);
	buf_free(&line);
}

static const struct example *find_example(const char *name)
{
	for (const struct example *e = examples; e->name; e++)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

static int init_exec(const struct command *cmd, struct args *a)
{
	const char *path = topology_arg(a);
	const struct example *e;
	struct buf text = BUF_INIT;
	int fd, rc = EXIT_FAIL;

	(void)cmd;
	if (a->opt[OPT_LIST].set) {
		for (e = examples; e->name; e++)
			print_summary(e);
		return EXIT_OK;
	}
	e = find_example(a->opt[OPT_EXAMPLE].set ? a->opt[OPT_EXAMPLE].str
						 : "local");
	if (!e)
		return EXIT_USAGE; /* the choices were checked already */
	buf_addf(&text,
		 "# Written by 'deploy init --example %s' from %s: edit it,\n"
		 "# then: deploy validate %s && deploy plan %s\n"
		 "# (docs/topology.md is the reference for every key).\n#\n",
		 e->name, e->file, path, path);
	buf_adds(&text, e->text);
	/* O_EXCL: an existing file, or a link, is never overwritten. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			print_message("'%s' exists already: not overwritten "
				      "(remove it, or name another file)",
				      path);
		else
			print_message("cannot create '%s': %s", path,
				      strerror(errno));
		goto out;
	}
	if (write_all(fd, text.data, text.len) || fsync(fd)) {
		print_message("cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd)) {
		print_message("cannot write '%s': %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	printf("Wrote %s from the example '%s' (%s).\n"
	       "Next: edit it, then 'deploy validate %s' and 'deploy plan "
	       "%s'.\n",
	       path, e->name, e->file, path, path);
	rc = EXIT_OK;
out:
	buf_free(&text);
	return rc;
}

const struct command cmd_init = {
	.name = "init",
	.summary = "write a starting topology from an example",
	.usage = "[--example NAME] [--list] [topology.yml]",
	.description =
		"Write a commented topology to start from (default "
		"./topology.yml) from one of the\nexamples: local (Debian "
		"containers on this machine, no cloud account),\nbare-metal "
		"(hosts that exist, over SSH), aws, gcp, multi-cloud. An "
		"existing\nfile is never overwritten. --list says what each "
		"example is.",
	.opts = init_opts,
	.max_pos = 1,
	.exec = init_exec,
};
