/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_STATE_OBJSTORE_H
#define DEPLOY_STATE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * An object store with conditional requests, as the state backend needs it
 * (backend-object.c): GET, PUT and DELETE of one object by key, with
 * If-Match (an ETag) and If-None-Match: *. The state layer knows only this
 * table; a provider fills it (providers/aws/s3-store.c: S3 and stores that
 * speak its API), so core/state depends on no provider.
 *
 * Each call returns 0 when the store answered, whatever the status (in r),
 * or an error when no answer came (after the store's own retries).
 */

struct objstore_result {
	long status;
	char *etag;	 /* quotes kept; NULL when none */
	char code[64];	 /* the store's error code ("NoSuchKey"), "" */
	char msg[256];	 /* its message */
	struct buf body; /* the object, on a GET that found it */
	bool retried;	 /* an attempt before the answer failed */
};

struct objstore_put_opts {
	const char *if_match; /* an ETag: only over that version */
	bool if_none_match;   /* only where there is no object */
	const char *content_type;
};

struct objstore;

struct objstore_ops {
	/* MUST */
	int (*get)(struct objstore *s, const char *key,
		   struct objstore_result *r, struct error *err);
	/* MUST: the store adds what it always adds (encryption). */
	int (*put)(struct objstore *s, const char *key, const void *body,
		   size_t len, const struct objstore_put_opts *o,
		   struct objstore_result *r, struct error *err);
	/* MUST: if_match NULL: whatever is there. */
	int (*del)(struct objstore *s, const char *key, const char *if_match,
		   struct objstore_result *r, struct error *err);
	/* MUST: an error for an answer that is not 2xx ("PREFIXKEY: what:
	 * HTTP 403 (...)"), with the store's own advice. */
	int (*answer_error)(struct objstore *s, const struct objstore_result *r,
			    const char *what, const char *key,
			    struct error *err);
	/* MUST: whether the answer says the bucket (not the key) is missing */
	bool (*no_bucket)(const struct objstore_result *r);
	/* MUST */
	void (*close)(struct objstore *s);
};

struct objstore {
	const struct objstore_ops *ops;
	char *prefix; /* for messages: "s3://BUCKET/" */
	char *key;    /* the state's key */
};

void objstore_result_init(struct objstore_result *r);
/* 412, or 409 ConditionalRequestConflict: a condition no longer holds. */
bool objstore_precondition_failed(const struct objstore_result *r);
void objstore_result_free(struct objstore_result *r);
/* Frees prefix and key, then the store's own. */
void objstore_close(struct objstore *s);

#endif
