/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_H
#define DEPLOY_CLI_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

/* Exit codes (docs/cli.md). */
enum {
	EXIT_OK = 0,	  /* success, or nothing to change */
	EXIT_FAIL = 1,	  /* failure */
	EXIT_CHANGES = 2, /* plan found changes */
	EXIT_USAGE = 64,  /* usage error (sysexits' EX_USAGE) */
};

/* Options as a table that also prints --help (libgit2's src/cli). */
enum opt_type {
	OPT_FLAG,   /* --name */
	OPT_STRING, /* --name VALUE or --name=VALUE */
	OPT_INT,    /* --name N */
};

struct opt_spec {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0 for none */
	enum opt_type type;
	const char *arg; /* value's name in help: "FORMAT" */
	const char *help;
	const char *const *choices; /* OPT_STRING: one of these, or NULL */
};

struct opt_value {
	bool set;
	const char *str;
	long num;
};

#define MAX_OPTS 16

struct args {
	struct opt_value opt[MAX_OPTS]; /* same order as the command's opts */
	char **pos;			/* positional arguments */
	int nr_pos;
	char **rest; /* after "--" */
	int nr_rest;
};

struct command {
	const char *name;
	const char *summary; /* one line, lowercase, no full stop */
	const char *usage;   /* after "deploy NAME " */
	const char *description;
	const struct opt_spec *opts; /* ended by { NULL } */
	int max_pos;		     /* positional arguments allowed */
	bool takes_rest; /* "-- COMMAND..." kept apart (deploy run) */
	bool hidden;	 /* not in deploy help: deploy __complete */
	int (*exec)(const struct command *cmd, struct args *a);
};

/* Parse argv (after the command name) into a. 0, or EXIT_USAGE printed. */
int parse_args(const struct command *cmd, int argc, char **argv,
	       struct args *a);
void free_args(struct args *a);
void print_command_help(const struct command *cmd, FILE *out);
/* Print "deploy: MESSAGE" for a usage problem and return EXIT_USAGE. */
int usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Output */
void print_diags(const struct diag_list *dl, FILE *out);
void print_error(const struct error *err);
/* "deploy: MESSAGE" on stderr. */
void print_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint_message(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

/* Signals for up and down (cli/signals.c): cli_stop is set by the first
 * SIGINT or SIGTERM; a second one, or the grace deadline, exits with 130. */
extern volatile int cli_stop;
void cli_signals_install(int grace_seconds);
/* For a command that installs none (plan) around its artifacts' downloads:
 * installs them if none are, returning whether it did; release restores
 * the default actions. */
bool cli_signals_hold(void);
void cli_signals_release(void);
#define EXIT_INTERRUPTED 130

struct topology;
struct graph;

/*
 * Load and validate the topology at path and build its graph, printing
 * every warning and error to stderr. EXIT_OK with *t and *g set (the caller
 * frees both), or EXIT_FAIL with both NULL.
 */
int cli_load_topology(const char *path, struct topology **t, struct graph **g);
/* The same, and the roles' built-in playbook names exist (validate,
 * graph). */
int cli_validate_topology(const char *path, struct topology **t,
			  struct graph **g);

/* The topology file: the positional argument or ./topology.yml. */
const char *topology_arg(const struct args *a);

extern const struct command cmd_validate;
extern const struct command cmd_plan;
extern const struct command cmd_up;
extern const struct command cmd_down;
extern const struct command cmd_status;
extern const struct command cmd_output;
extern const struct command cmd_unlock;
extern const struct command cmd_graph;
extern const struct command cmd_run;
extern const struct command cmd_sources;
extern const struct command cmd_state;
extern const struct command cmd_import;
extern const struct command cmd_ssh;
extern const struct command cmd_ssh_config;
extern const struct command cmd_init;
extern const struct command cmd_complete;
extern const struct command cmd_man;

/* The command table (cli/main.c), hidden commands included. */
const struct command *const *cli_commands(size_t *nr);
const struct command *cli_find_command(const char *name);

#endif
