/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_STATE_BACKEND_H
#define DEPLOY_STATE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "state/state.h"
#include "util/buf.h"
#include "util/error.h"

struct topology;

/*
 * Where a topology's state lives, and its run lock (docs/state.md):
 *   local  .deploy/NAME.state.json, flock()ed .deploy/NAME.lock
 *          (core/state/backend-local.c over state.c and lock.c)
 *   s3     an S3 object (state: {s3: ...}); the lock an object KEY.lock
 *          made with If-None-Match: *; every save a PUT with If-Match:
 *          the ETag of the version this run read (backend-object.c, over
 *          the object store a provider fills: objstore.h)
 * Callers use the state_backend_*() wrappers, never b->ops.
 */

struct state_backend;

struct state_backend_ops {
	const char *name; /* "local", "s3" */
	/* MUST: the state (a new one when there is none), remembered as
	 * the version later writes go over. */
	int (*load)(struct state_backend *b, const char *topology,
		    struct state **out, struct error *err);
	/* MUST: serial + 1 and write s over the version read. */
	int (*save)(struct state_backend *b, struct state *s,
		    struct error *err);
	/* MUST: the stored bytes as they are; *found false when none. */
	int (*read_text)(struct state_backend *b, struct buf *text, bool *found,
			 struct error *err);
	/* MUST: store text as it is; over what is there only when
	 * overwrite (else an existing state is an error). */
	int (*write_text)(struct state_backend *b, const char *text, size_t len,
			  bool overwrite, struct error *err);
	/* MUST: take the run lock, waiting up to timeout_s seconds. */
	int (*lock)(struct state_backend *b, const char *command, int timeout_s,
		    struct error *err);
	/* MUST: release the lock if this backend holds it. */
	void (*unlock)(struct state_backend *b);
	/* MUST: who holds the lock (*holder NULL: nobody), and its id
	 * (NULL when the backend has none). */
	int (*holder)(struct state_backend *b, char **holder, char **id,
		      struct error *err);
	/* MUST: break the lock; id, when given, must be the holder's. */
	int (*break_lock)(struct state_backend *b, const char *id,
			  struct error *err);
	/* MUST */
	void (*free)(struct state_backend *b);
};

struct state_backend {
	const struct state_backend_ops *ops;
	char *where; /* for messages: the file, or s3://BUCKET/KEY */
	const volatile int *stop; /* lock waits end early when set */
};

struct objstore;
/* Opens the object store a topology's state: block names (a provider's:
 * provider_state_store_open() in providers/registry.c). */
typedef int (*state_store_open_fn)(const struct topology *t,
				   struct objstore **out, struct error *err);

/* The backend the topology names (t->state), for the topology at path: a
 * remote one (state: {s3: ...}) through the store open_store makes. */
int state_backend_open(const struct topology *t, const char *path,
		       state_store_open_fn open_store,
		       struct state_backend **out, struct error *err);
/* The local file backend, whatever the topology says. */
int state_backend_open_local(const struct topology *t, const char *path,
			     struct state_backend **out, struct error *err);
void state_backend_free(struct state_backend *b);
bool state_backend_is_local(const struct state_backend *b);

int state_backend_load(struct state_backend *b, const char *topology,
		       struct state **out, struct error *err);
int state_backend_save(struct state_backend *b, struct state *s,
		       struct error *err);
int state_backend_read_text(struct state_backend *b, struct buf *text,
			    bool *found, struct error *err);
int state_backend_write_text(struct state_backend *b, const char *text,
			     size_t len, bool overwrite, struct error *err);
int state_backend_lock(struct state_backend *b, const char *command,
		       int timeout_s, struct error *err);
void state_backend_unlock(struct state_backend *b);
int state_backend_holder(struct state_backend *b, char **holder, char **id,
			 struct error *err);
int state_backend_break_lock(struct state_backend *b, const char *id,
			     struct error *err);

/* Constructors (registry in backend.c). */
int state_backend_local_new(const char *state_path, const char *lock_path,
			    struct state_backend **out);
/* The state as the object store->key in store (taken over). */
int state_backend_object_new(struct objstore *store,
			     struct state_backend **out);

#endif
