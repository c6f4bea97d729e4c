/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_COMPILE_H
#define DEPLOY_PLAYBOOK_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "playbook/context.h"
#include "playbook/marker.h"
#include "playbook/playbook.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * A host's playbooks compiled into one POSIX sh script, sent over its one
 * SSH session (docs/playbooks.md, "How a run works"). Every value is
 * rendered here, with the host's data, and reaches the script as one
 * single-quoted word; file contents travel base64-encoded with their
 * SHA-256. The script prints one marker line per step on stdout (and
 * nothing else there), stops at the first failed step, and runs the
 * notified handlers at its end. Run with the argument --check, it reports
 * what it would change and changes nothing.
 */

#define COMPILE_DEFAULT_NOTIFY_DIR "/var/lib/deploy/notify"
#define COMPILE_MAX_SCRIPT	   (64u << 20)
#define COMPILE_MAX_FILE	   (16u << 20) /* one file's content */
#define COMPILE_NONCE_LEN	   16
#define COMPILE_MAX_ARTIFACT	   (40u << 20) /* one artifact step's file */

struct compile_opts {
	/* Where notifications wait for their handler; NULL: the default. */
	const char *notify_dir;
	/* The markers' nonce (hex, 1 to 32 characters); NULL: random. */
	const char *nonce;
	/* Check mode without the --check argument. */
	bool check;
	/* File and line steps that change a file send its unified diff as
	 * "diff" markers (a quiet step does not: script_item.secret). */
	bool diff;
	/* The topology's artifacts in the cache, for step artifact:. */
	const struct artifact_pin *artifacts;
	size_t nr_artifacts;
	/* A file artifact's bytes are left out of the text: a placeholder
	 * stands for them until script_expand() (which sends them only to
	 * hosts whose copy differs). Off: the text is complete. */
	bool defer_artifacts;
};

/* One line of progress for the runner: a step or a handler. */
struct script_item {
	char *label;	  /* "harden: sshd drop-in"; never holds a secret */
	const char *kind; /* "file", "shell" ...: step_kind_name() */
	char *secret;	  /* a quiet step: the secret it holds; else NULL */
	bool handler;
};

/* An artifact an artifact: step of the script puts on the host. */
struct script_artifact {
	const struct artifact *a; /* the topology's */
	const char *playbook;	  /* the step's playbook's name */
	bool restart;		  /* the step notifies a handler */
};

/* With defer_artifacts: a file artifact whose bytes wait for
 * script_expand(). */
struct script_push {
	char *dest;	   /* the file on the host */
	char *path;	   /* the operator's cached copy */
	char sha256[65];   /* its digest */
	char *placeholder; /* the word in text that stands for the bytes */
};

struct script {
	struct buf text; /* may hold secrets: script_free() wipes it */
	struct script_push *pushes;
	size_t nr_pushes;
	char nonce[33];
	size_t nr_steps;
	size_t nr_handlers;
	struct script_item *items; /* steps, then handlers */
	size_t alloc_items;
	struct script_artifact *artifacts; /* steps that run, in order */
	size_t nr_artifacts;
};

/*
 * Compile playbooks pbs[0..nr) for the host of ctx, in that order. Errors
 * name the playbook (or template) file:line:col; their text never holds a
 * secret's value.
 */
int compile_script(const struct host_context *ctx, struct playbook *const *pbs,
		   size_t nr, const struct compile_opts *opts,
		   struct script **out, struct error *err);
void script_free(struct script *s);

/*
 * The text to send to a host, into out: each push's placeholder becomes
 * the file's bytes, or nothing where host_sha256[i] (what the host's file
 * has, NULL: unknown) is already the push's digest: the host's step then
 * finds its file in place and needs no bytes. host_sha256 may be NULL.
 */
int script_expand(const struct script *s, char *const *host_sha256,
		  struct buf *out, struct error *err);

#endif
