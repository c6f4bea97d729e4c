/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_H
#define DEPLOY_PLAYBOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "playbook/when.h"
#include "util/error.h"
#include "yamltree/ytree.h"

/*
 * A playbook: a YAML file with a name, a description, default variables,
 * steps and handlers (docs/playbooks.md is the reference). Loading checks
 * the whole file against key tables (core/topology/schema.h) and reports
 * every problem as PLAYBOOK_FILE:LINE:COL; the values inside a step stay
 * YAML nodes, rendered as Mustache templates for each host when the
 * playbook is compiled (compile.h).
 */

enum step_kind {
	STEP_FILE,
	STEP_DIRECTORY,
	STEP_LINE,
	STEP_APT,
	STEP_SERVICE,
	STEP_USER,
	STEP_SYSCTL,
	STEP_DOWNLOAD,
	STEP_SHELL,
	STEP_COMMAND,
	STEP_WAIT,
	STEP_ARTIFACT,
	STEP_DOCKER_IMAGE,
	STEP_MOUNT,
	STEP_KIND_COUNT,
};

/* "file", "directory" ... as written in a playbook. */
const char *step_kind_name(enum step_kind kind);

struct step {
	enum step_kind kind;
	const char *name;	       /* NULL when not given */
	const struct ynode *node;      /* the step's mapping */
	const struct ynode *kind_node; /* the kind's key */
	const struct ynode *args;      /* the kind's value */
	char *what;		       /* "steps[3]", for messages */
	struct when_expr *when;	       /* all must hold */
	size_t nr_when;
	size_t *notify; /* indexes into playbook.handlers */
	size_t nr_notify;
	char *flag; /* handlers: the notification's file name */
	/* loop: the step runs once per item (loop.c); NULL: once */
	const struct ynode *loop; /* a list, or "{{PATH}}" */
	char *loop_path;	  /* PATH ("vars.files"); NULL: a list */
	const struct ynode *item; /* item: what an item holds; NULL: any */
};

struct playbook {
	char *file;    /* as given, for messages */
	char *dir;     /* its directory: relative paths start here */
	char *datadir; /* the built-in data: DATADIR/templates */
	struct ydoc *doc;
	const char *name;
	const char *description;
	const struct ynode *vars; /* defaults; NULL when none */
	/* Defaults on a host whose role has a data disk: paths relative to
	 * its mount (context_playbook_data()); NULL when none. */
	const struct ynode *disk_vars;
	struct step *steps;
	size_t nr_steps;
	struct step *handlers;
	size_t nr_handlers;
	/* health: checks it gives the roles that run it; NULL when none */
	const struct ynode *health;
};

#define PLAYBOOK_MAX_STEPS 10000
#define PLAYBOOK_MAX_LOOP  1000 /* items of one step's loop */

/* A source from `sources:` as a run has it: the files of its locked
 * commit, at its `path:` (core/source/source.h). */
struct playbook_source {
	const char *name;
	const char *dir;
};

/*
 * Where the playbook `ref` of a role lives:
 *  - a built-in name (harden): DATADIR/playbooks/NAME.yml;
 *  - a path starting with ./, ../ or /: relative to topology_dir; ~/ is
 *    the home directory;
 *  - SOURCE/PATH (a playbook from `sources:`): PATH in that source's
 *    directory, or PATH.yml (PATH.yaml) when PATH has no such ending.
 * `datadir` NULL means DEPLOY_DATADIR. Returns 0 with *path malloc'd, or
 * DEPLOY_ERR_NOT_FOUND (an unknown built-in, with a "did you mean"; no
 * such file in the source) or DEPLOY_ERR_INVALID with err set (no
 * position: the caller knows where the reference came from).
 */
int playbook_resolve_in(const char *ref, const char *topology_dir,
			const char *datadir,
			const struct playbook_source *sources,
			size_t nr_sources, char **path, struct error *err);
/* The same without sources: SOURCE/PATH is DEPLOY_ERR_INVALID. */
int playbook_resolve(const char *ref, const char *topology_dir,
		     const char *datadir, char **path, struct error *err);

struct topology;

/*
 * Check the built-in names among the roles' playbooks (harden, firewall):
 * a name deploy has no playbook for is an error in dl at its place in the
 * topology, with a "did you mean" when a built-in is near. Paths and
 * SOURCE/PATH entries are left to the run, which loads every playbook.
 */
void playbook_check_builtins(const struct topology *t, const char *datadir,
			     struct diag_list *dl);

/*
 * Load and check the playbook in `path`. Every problem goes to dl (sorted
 * by position); returns 0 with *out set when there is no error,
 * DEPLOY_ERR_INVALID when dl holds errors, another code with err set when
 * the file cannot be read or parsed. `datadir` as for playbook_resolve().
 */
int playbook_load(const char *path, const char *datadir, struct playbook **out,
		  struct diag_list *dl, struct error *err);
/* The same for text in memory; relative paths start at dir(file). */
int playbook_parse(const char *file, const char *text, size_t len,
		   const char *datadir, struct playbook **out,
		   struct diag_list *dl, struct error *err);
void playbook_free(struct playbook *pb);

/*
 * Find a file a step names (`template:`, `src:`): an absolute path, a
 * path starting with ./ or ../ (from the playbook's directory) or ~/;
 * a plain relative name is looked for beside the playbook and then, for
 * templates, in DATADIR/templates. *path is malloc'd; DEPLOY_ERR_NOT_FOUND
 * when there is no such file.
 */
int playbook_find_file(const struct playbook *pb, const char *ref,
		       bool is_template, char **path);

#endif
