/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PLAYBOOK_COMPILE_INTERNAL_H
#define DEPLOY_PLAYBOOK_COMPILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "playbook/compile.h"
#include "template/template.h"

/*
 * What the compiler (compile.c: rendering values, labels, the script)
 * shares with the step kinds (steps.c). Not for use outside core/playbook.
 */

/* One compilation: the host, the playbook and the step at hand. */
struct cc {
	const struct host_context *ctx;
	const struct compile_opts *opts;
	struct error *err;
	const struct playbook *pb;
	cJSON *data; /* the playbook's view of the host */
	const struct step *step;
	size_t n; /* the step's (or handler's) number */
	bool handler;
	struct buf *want;   /* the _dp_want list (cc_want) */
	bool quiet;	    /* a rendered value of this step holds a secret */
	const char *secret; /* quiet: the first such secret's name */
	struct script *script; /* being compiled (its artifacts list) */
};

/*
 * A step kind: appends " dp_KIND ARGS..." to call, for the step arguments
 * a (the kind's value); 0, or an error in c->err.
 */
typedef int (*compile_kind_fn)(struct cc *c, const struct ynode *a,
			       struct buf *call);
extern const compile_kind_fn compile_kinds[STEP_KIND_COUNT];

/* Words of a call */

/* Append one single-quoted word, after a space (cc_args: a C string). */
void cc_arg(struct buf *call, const char *s, size_t len);
void cc_args(struct buf *call, const char *s);
/* An integer as one word. */
void cc_add_int(struct buf *call, long v);
/* Content: its SHA-256 and the content (":TEXT", or base64 when it holds a
 * NUL byte or the step a secret), two words. */
void cc_add_content(struct cc *c, struct buf *call, const struct buf *content);
/* Its digest and a placeholder for a cached file's bytes, two words: the
 * script records the push (compile.h, script_expand()); image_ids for
 * PUSH_DOCKER, else NULL. */
void cc_add_push(struct cc *c, struct buf *call, enum script_push_kind kind,
		 const char *name, const char *dest, const char *path,
		 const char *sha256, const char *image_ids);
/* The step looks at the file or directory path: "s" its digest, "a" its
 * mode and owner (listed for the host to read them all at once). */
void cc_want(struct cc *c, const char *flags, const struct buf *path);
bool cc_has_control(const char *s, size_t len);

/* Messages */

/* "steps[2].file.mode": a key of the step at hand (a static buffer). */
const char *cc_key_what(struct cc *c, const char *key);
/* An error at the node it comes from; never with a rendered value. */
int cc_fail_at(struct cc *c, const struct ynode *n, int code, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));

/* Values of the step arguments a, rendered with the host's data */

/* Render template text; `what` names it for errors. */
int cc_render_text(struct cc *c, const char *name, const char *text, size_t len,
		   enum template_escape esc, struct buf *out,
		   const struct ynode *at, const char *what);
/*
 * Render the value of `key`; absent renders empty. Shell code renders
 * with every tag shell-quoted.
 */
int cc_render(struct cc *c, const struct ynode *a, const char *key,
	      enum template_escape esc, struct buf *out);
/* An absolute path, without control characters. */
int cc_render_path(struct cc *c, const struct ynode *a, const char *key,
		   struct buf *out);
/* Node n as one line. */
int cc_render_one_line(struct cc *c, const struct ynode *n, const char *what,
		       struct buf *out);
/* mode, owner and group, rendered and checked; empty when not given. */
int cc_render_mode(struct cc *c, const struct ynode *a, struct buf *out);
int cc_render_owner(struct cc *c, const struct ynode *a, const char *key,
		    struct buf *out);
/* An integer from lo to hi, written as one or rendered; def when absent. */
int cc_render_int(struct cc *c, const struct ynode *a, const char *key,
		  long def, long lo, long hi, long *out);
/* The value as written ("" when absent or not a scalar). */
const char *cc_src_text(const struct ynode *a, const char *key);
bool cc_get_bool(const struct ynode *a, const char *key, bool def);

/*
 * A step's loop (loop.c), with c->step set to it: its items for the host
 * at hand, in *items (a JSON array, the caller's), each with the defaults
 * of the step's `item:` added (rendered with the host's data) and its
 * `files` keys made absolute from the directory of the file the item is
 * written in. An error names the item where it is written (the topology
 * for a variable of it).
 */
int loop_items(struct cc *c, const struct step *s, cJSON **items);
/* What names item i in its step's label: a scalar item itself, else the
 * value of its first required key, else "item N"; malloc'd. */
char *loop_label(const struct step *s, const cJSON *item, size_t i);

/*
 * Health checks (health.c), the role's and its playbooks': a check's
 * label, and its line, its templates rendered with data; messages name
 * the check as `what` ("roles.validator.health") at its place in file.
 */
char *health_label(const struct ynode *check);
int health_compile(const struct host_context *ctx, const cJSON *data,
		   const char *file, const char *what,
		   const struct ynode *check, size_t n, const char *label,
		   struct buf *out, struct error *err);

#endif
