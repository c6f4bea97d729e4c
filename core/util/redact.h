/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_REDACT_H
#define DEPLOY_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * Secret values taken out of a byte stream that arrives in pieces (a
 * host's output, as SSH delivers it). Each secret is looked for as it is,
 * base64-encoded (as `base64` prints it, padding or not), URL-encoded
 * (%XX in either case, and '+' for a space), in hex (`xxd -p`, either
 * case), as the inside of a JSON string (as cJSON, Python, PHP and Go
 * write it) and shell-quoted (inside '...' with '\'' or '"'"', and as
 * bash's printf %q without control characters); a value that ends with
 * newlines is also looked for without them (`$(cat FILE)` drops them).
 * Each found form becomes "[secret NAME]". A secret split across two
 * pieces is found: the end of
 * a piece that could be the start of a secret is held back until the next
 * piece (or the flush) says. The longest match wins. Values shorter than
 * REDACT_MIN_LEN are not looked for (they would eat ordinary text); the
 * topology's checks warn about them.
 *
 * The patterns hold the secrets: redact_set_free() and redactor_free()
 * wipe them, and redactor_free() the bytes held back.
 */

#define REDACT_MIN_LEN 4

/* A secret's name and value (len bytes), as the caller keeps them. */
struct redact_secret {
	const char *name;
	const char *value;
	size_t len;
};

struct redact_pattern {
	char *bytes;
	size_t len;
	const char *name; /* the secret's name, not owned */
};

/*
 * The forms looked for, which many redactors may share: every form of a
 * large secret is several times its size, and a run has two streams for
 * each host (the SSH engine makes one set for all of them).
 */
struct redact_set {
	struct redact_pattern *patterns;
	size_t nr;
	size_t longest;
	bool first[256]; /* bytes some pattern starts with */
};

/* Look for the value (len bytes) of secret `name` (kept by the caller for
 * the set's life) in every form above. */
void redact_set_add(struct redact_set *s, const char *name, const char *value,
		    size_t len);
/* Wipes the forms. */
void redact_set_free(struct redact_set *s);

struct redactor {
	struct redact_set own;	      /* what redactor_add() adds */
	const struct redact_set *set; /* what is looked for: own, or shared */
	struct buf held; /* the end of the last piece, not yet passed on */
};

void redactor_init(struct redactor *r);
/* A redactor that looks for the forms in set, which outlives it. */
void redactor_init_shared(struct redactor *r, const struct redact_set *set);
/* Look for the value (len bytes) of secret `name` (kept by the caller for
 * the redactor's life) in every form above; not with a shared set. */
void redactor_add(struct redactor *r, const char *name, const char *value,
		  size_t len);
/* Pass len bytes on to out, secrets replaced; some may be held back. */
void redactor_feed(struct redactor *r, const char *in, size_t len,
		   struct buf *out);
/* The end of the stream: pass on what was held back. */
void redactor_flush(struct redactor *r, struct buf *out);
void redactor_free(struct redactor *r);

/*
 * Replace every form of value (len bytes) in msg, a NUL-terminated text
 * in size bytes (an error message), with "[secret NAME]", in place; the
 * result is cut to fit. For what a server said, which may quote the
 * credential it was sent.
 */
void redact_message(char *msg, size_t size, const char *name, const char *value,
		    size_t len);

#endif
