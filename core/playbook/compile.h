/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_COMPILE_H
#define DEPLOY_PLAYBOOK_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * With defer_artifacts: an artifact whose bytes travel beside the script
 * (push.c): an artifact step's file (to put at dest, or to unpack there),
 * or a docker_image's `docker save` tarball (to load as dest, the image
 * reference). Before the script, the host is asked what it has
 * (script_probe()); what it lacks is sent on its own channel into
 * COMPILE_STAGE_DIR/SHA256, checked there against the digest and renamed
 * (script_transfer()); the script's step then takes it from there.
 */
#define COMPILE_STAGE_DIR "/var/lib/deploy/artifacts"

enum script_push_kind {
	PUSH_FILE,   /* dest: the file */
	PUSH_UNPACK, /* dest: the directory it is unpacked into */
	PUSH_DOCKER, /* dest: the image reference */
};

struct script_push {
	enum script_push_kind kind;
	char *name;	 /* the artifact's */
	char *dest;	 /* see the kinds */
	char *path;	 /* the operator's cached copy */
	uint64_t size;	 /* its size */
	char sha256[65]; /* its digest */
	char *image_ids; /* PUSH_DOCKER: the IDs it holds, space-separated */
	/* Where its checked copy waits on the host: COMPILE_STAGE_DIR/HOST/
	 * SHA256 (a directory per host: hosts may share a file system). */
	char *staged;
	char *placeholder; /* the word in text that stands for the bytes */
};

/* What the host has of a push (script_probe_parse()). */
enum script_have {
	HAVE_NOTHING, /* it must be sent */
	HAVE_DEST,    /* in place already: nothing to send or change */
	HAVE_STAGED,  /* a checked copy waits in COMPILE_STAGE_DIR */
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
 * '' where have[i] is HAVE_DEST (the step finds its file or image in
 * place), else the word '@STAGED' (push.staged: the step takes the
 * copy sent there: moves it into place, or removes it once loaded), or
 * '@=STAGED' when a later push of the script takes the
 * same copy (this one copies it). have may be NULL (nothing in place).
 */
int script_expand(const struct script *s, const enum script_have *have,
		  struct buf *out, struct error *err);

/*
 * push.c. The command that asks the host what it has of every push: one
 * line "N present" or "N staged" per push N (from 0) it has; read with
 * script_probe_parse() into have[0..nr_pushes).
 */
void script_probe(const struct script *s, struct buf *cmd);
void script_probe_parse(const struct script *s, const char *out,
			enum script_have *have);
/*
 * The command that receives push p on its standard input: into
 * STAGED.part, its digest checked, then renamed to STAGED (p->staged); a
 * copy that does not match the digest (cut
 * short, damaged) is removed and the command fails saying so.
 */
void script_transfer(const struct script_push *p, struct buf *cmd);

/*
 * The image IDs a `docker save` tarball holds for reference ref, as
 * `docker image inspect -f '{{.Id}}'` reports them ("sha256:HEX", the
 * config's digest, from manifest.json; with an OCI index.json, its
 * manifests' digests too), space-separated, into out. Reads the tar's
 * headers and those two files only. An error when the tarball has no
 * manifest naming an image.
 */
int docker_tar_image_ids(const char *path, const char *ref, struct buf *out,
			 struct error *err);

#endif
