/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_RESOURCE_H
#define DEPLOY_RESOURCE_H

#include <stdbool.h>

#include "providers/provider.h"

/*
 * The crash-safe create protocol, written once for every provider.
 *
 * resource_ensure() makes sure one resource (provider, kind, name) exists
 * and returns its id:
 *
 *   1. A record with an id (created) is looked up by id (find_by_id): if it
 *      is there it is kept, nothing is made.
 *   2. A record whose resource is gone (created, then deleted outside
 *      deploy; or a delete that was started) is made anew: with a new key
 *      (RESOURCE_NEW_KEY: the old key names the old resource at the
 *      provider) or under its old key and attributes.
 *   3. A pending record (a run stopped between recording and the create's
 *      answer) is looked up by its key (find_by_key), then by the
 *      topology's tags (find_by_tags), which is also how a resource made
 *      with no record (a lost state, --adopt) is found. One found is
 *      adopted: adopted() runs, then its id is recorded (with the id as
 *      its key when it had no record) and the state saved.
 *   4. Otherwise the record is written as pending with its key (new_key()
 *      or a random UUID, unless kept in 2 or 3) and the state SAVED, then
 *      create() is called with that key, then the id is recorded and the
 *      state saved again.
 *
 * So a run killed at any instant leaves either nothing, a pending record
 * (found at the next run by key or tags, or made under the same key, which
 * an idempotent create answers with the same resource), or a created one.
 * Nothing is made twice and nothing made is unrecorded.
 *
 * How the key reaches the provider is the kind's business: EC2's
 * ClientToken and GCP's requestId make the create itself idempotent (a
 * create under the same key returns the same resource); DigitalOcean has
 * none, so its create puts the key on the droplet as a unique tag and
 * find_by_key looks for that tag.
 *
 * Hooks are called with the state lock held (provider.h, "Concurrency"):
 * they may read and change run->state, and a hook that waits long without
 * touching the state may release it with provider_unlock(). Every pointer
 * into the state is looked up again after a hook returns.
 */

/* A record whose resource is gone is made anew under a NEW key (and, for
 * a "host", the host's addresses, host key and applied playbooks are
 * forgotten: it is a new machine). Without it the record keeps its key and
 * attributes and goes back to pending. */
#define RESOURCE_NEW_KEY 0x1

/* What the hooks are told of the resource. */
struct resource_ref {
	const char *kind; /* "vpc", "host" ... */
	const char *name; /* deploy's name for it: "validator-0" */
	const char *role; /* NULL when not a role's */
	const char *key;  /* the idempotency key recorded before create */
	const char *id;	  /* the recorded id: only in find_by_id */
	void *arg;	  /* the caller's, from resource_ensure() */
};

struct resource_kind {
	const char *kind; /* MUST: as recorded in the state */
	unsigned flags;	  /* MAY: RESOURCE_* */
	/*
	 * MAY: whether the resource with ref->id still exists. Without it a
	 * created record handed to resource_ensure() is taken as gone (a
	 * host: the plan asks only for hosts that are missing).
	 */
	int (*find_by_id)(struct provider_run *run,
			  const struct resource_ref *ref, bool *exists,
			  struct error *err);
	/* MAY: the id of the resource made with ref->key (a unique tag),
	 * *id NULL when there is none; malloc'd. */
	int (*find_by_key)(struct provider_run *run,
			   const struct resource_ref *ref, char **id,
			   struct error *err);
	/* MAY: the id of the live resource carrying this topology's tags for
	 * kind/name (NULL: none); malloc'd. */
	int (*find_by_tags)(struct provider_run *run,
			    const struct resource_ref *ref, char **id,
			    struct error *err);
	/*
	 * MUST: make the resource, passing ref->key as its idempotency key
	 * (the same key must give the same resource, or carry the key so that
	 * find_by_key finds it); its id in *id, malloc'd. It may record more
	 * in the state (a host's address and key): saved with the id.
	 */
	int (*create)(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err);
	/*
	 * MAY: make the n resources refs[] at once (resource_ensure_many()),
	 * each as create() would; the id of each one made in ids[i]
	 * (malloc'd), NULL for one not made. Returns the first error: the
	 * ones made beside it are recorded all the same. Without it,
	 * resource_ensure_many() calls create() for each in turn.
	 */
	int (*create_many)(struct provider_run *run,
			   const struct resource_ref *const *refs, size_t n,
			   char **ids, struct error *err);
	/* MAY: make again the calls that follow a create (settings, an
	 * attachment) on a resource found instead of made: the run that
	 * made it may have stopped before them. Runs before the id is
	 * recorded, so a failure leaves the record pending. */
	int (*adopted)(struct provider_run *run, const struct resource_ref *ref,
		       const char *id, struct error *err);
	/* MAY: the key of a new record, malloc'd (default: a random
	 * UUID); a key that names the resource (local: TOPOLOGY/HOST). */
	char *(*new_key)(struct provider_run *run,
			 const struct resource_ref *ref);
	/* MAY: set the record's own attributes ("region", a slot); called
	 * before each save of a pending or adopted record. */
	void (*attributes)(struct provider_run *run,
			   const struct resource_ref *ref,
			   struct state_resource *res);
};

/* How resource_ensure() came to the id. */
enum resource_outcome {
	RESOURCE_KEPT,	  /* recorded and still there */
	RESOURCE_ADOPTED, /* found by key or tags */
	RESOURCE_MADE,	  /* created now */
};

/*
 * Make sure the resource (run's provider, k->kind, name) exists, as
 * described above; its id in *id (malloc'd). role may be NULL; arg is
 * handed to the hooks; outcome may be NULL.
 */
int resource_ensure(struct provider_run *run, const struct resource_kind *k,
		    const char *name, const char *role, void *arg, char **id,
		    enum resource_outcome *outcome, struct error *err);

/* One resource of resource_ensure_many(). */
struct resource_want {
	const char *name; /* in */
	const char *role; /* in: may be NULL */
	void *arg;	  /* in: handed to the hooks */
	char *id;	  /* out: malloc'd; NULL when it was not made */
	enum resource_outcome outcome; /* out, with id */
};

/*
 * resource_ensure() for n resources of one kind, their creates at once:
 * each is kept, adopted, or recorded as pending, as above; then the state
 * is saved ONCE, before any create; then the pending ones are made
 * together (create_many(), else create() in turn), and each id recorded
 * and the state saved again (the ids of those made are recorded even when
 * another failed). A run killed at any instant leaves each resource as
 * resource_ensure() would. Returns the first error.
 */
int resource_ensure_many(struct provider_run *run,
			 const struct resource_kind *k, struct resource_want *v,
			 size_t n, struct error *err);

/* Save the state after work that returned rc: with rc 0, as run->save();
 * else err keeps the work's error (a failed save is not told) and rc is
 * returned. What the work recorded before it failed is saved either way. */
int resource_save_after(struct provider_run *run, int rc, struct error *err);

/* Record a resource found to exist already (not made by this protocol: a
 * key pair holding the operator's key) as created with id, its id as its
 * key; the caller sets its attributes and saves. */
struct state_resource *resource_record(struct provider_run *run,
				       const char *kind, const char *name,
				       const char *role, const char *id);

/*
 * The delete side: mark the record deleting and save (a run stopped now
 * deletes again), then forget it (and, for a "host", the host) and save.
 * resource_deleting() returns DEPLOY_ERR_NOT_FOUND when nothing is
 * recorded.
 */
int resource_deleting(struct provider_run *run, const char *kind,
		      const char *name, struct error *err);
int resource_forget(struct provider_run *run, const char *kind,
		    const char *name, struct error *err);

/* The same for n resources of one kind, with one save (names not
 * recorded are skipped); the names must not live in the records. */
int resource_deleting_many(struct provider_run *run, const char *kind,
			   const char *const *names, size_t n,
			   struct error *err);
int resource_forget_many(struct provider_run *run, const char *kind,
			 const char *const *names, size_t n, struct error *err);

/* A string attribute of a record (NULL when not set). */
const char *resource_attr(const struct state_resource *res, const char *key);
/* Set (or with value NULL remove) a string attribute. */
void resource_set_attr(struct state_resource *res, const char *key,
		       const char *value);

#endif
