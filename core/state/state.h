/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_STATE_H
#define DEPLOY_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/error.h"

/*
 * The state file: what deploy made and what it knows of each host
 * (docs/state.md). `.deploy/NAME.state.json` beside the topology, JSON,
 * mode 0600. Saved after every resource change: written to a temporary
 * file, fsynced, the previous copy kept as NAME.state.json.backup, renamed
 * into place, the directory fsynced; so a crash at any instant leaves
 * either the old or the new state, whole. A corrupt file, or one written by
 * a newer deploy, is refused and never overwritten.
 *
 * No secret's value is ever given to this module: it stores names,
 * addresses, ids, host keys and digests.
 */

#define STATE_VERSION 1

enum resource_status {
	RESOURCE_PENDING,  /* about to be created: the key is recorded */
	RESOURCE_CREATED,  /* exists at the provider */
	RESOURCE_DELETING, /* a delete was started */
};

struct state_resource {
	char *provider; /* "local", "aws" ... */
	char *kind;	/* "host", "vpc", "security-group" ... */
	char *name; /* deploy's name for it: "validator-0", "sg-validator" */
	char *role; /* NULL when not a role's */
	char *id;   /* the provider's id; NULL while pending */
	char *key;  /* idempotency key: ClientToken, requestId, tag */
	enum resource_status status;
	cJSON *attributes; /* provider-specific, never secret; owned */
};

struct state_host {
	char *name;
	char *address;	       /* how deploy reaches it (public) */
	char *private_address; /* how other hosts reach it */
	int port;
	char *host_key;	  /* "ssh-ed25519 AAAA...", pinned on first contact */
	char *applied_at; /* RFC 3339, last successful apply */
	/* The last up that ran (or would have run) its playbooks: "ok",
	 * "failed", "unreachable" or "skipped", and why when not ok (a
	 * failed step or health check and the value it saw; where a
	 * rollout stopped). Never a secret. */
	char *last_status;
	char *last_message;
	cJSON *playbooks; /* {"harden": "sha256 of what was applied"} */
	/* The artifacts its steps put there, as of its last good run:
	 * {"neard": {"sha256": "...", "version": "2.4.0" (when the topology
	 * names one), "playbook": "near-node", "restart": true (the step
	 * notifies a handler)}}. plan compares them with the topology's. */
	cJSON *artifacts;
	char **pending; /* handler notifications not yet run */
	size_t nr_pending;
};

struct state_backend;

struct state {
	char *path; /* the local file, or "s3://BUCKET/KEY" */
	char *topology;
	char lineage[37];
	long serial;
	bool exists; /* read from disk (false: new, never saved) */
	struct state_resource *resources;
	size_t nr_resources;
	size_t alloc_resources;
	struct state_host *hosts;
	size_t nr_hosts;
	size_t alloc_hosts;
	cJSON *outputs;
	/* Where state_save() writes when it is not the local file at path
	 * (core/state/backend.h); not owned. */
	struct state_backend *backend;
};

/* .deploy/NAME.state.json beside the topology file; the caller frees. */
char *state_path_for(const char *topology_file, const char *name,
		     const char *suffix);

/*
 * Read the state at path, or start a new one (with a new lineage) when the
 * file does not exist. A file that is not valid JSON, lacks what a state
 * has, belongs to another topology, or has a newer version is an error
 * naming the file and what to do; nothing is changed on disk.
 */
int state_load(const char *path, const char *topology, struct state **out,
	       struct error *err);
/* Serial + 1, then write as described above (or, with s->backend set,
 * through that backend: state_backend_save()). */
int state_save(struct state *s, struct error *err);
/* The state as the file holds it (JSON, a final newline); the caller
 * frees. */
char *state_text(const struct state *s);
/* state_load() for text read elsewhere: origin names it in messages;
 * text NULL gives a new state. */
int state_from_text(const char *origin, const char *text, size_t len,
		    const char *topology, struct state **out,
		    struct error *err);
void state_free(struct state *s);

/* Resources are found by (provider, kind, name). */
struct state_resource *state_resource_find(struct state *s,
					   const char *provider,
					   const char *kind, const char *name);
/* Add a pending resource, or return the one there (its key kept). */
struct state_resource *
state_resource_pending(struct state *s, const char *provider, const char *kind,
		       const char *name, const char *role, const char *key);
void state_resource_set_id(struct state_resource *r, const char *id);
void state_resource_remove(struct state *s, struct state_resource *r);
const char *resource_status_name(enum resource_status st);

struct state_host *state_host_get(struct state *s, const char *name,
				  bool create);
void state_host_remove(struct state *s, const char *name);
void state_host_set(char **field, const char *value);

/* A random (version 4) UUID as text. */
void uuid4(char out[37]);

/*
 * The run lock: .deploy/NAME.lock held with flock, holding a line that
 * names the holder (pid, user, host, command, start time). Acquiring fails
 * at once when another run holds it (err names the holder), or waits up to
 * timeout_s seconds. The lock goes with the process, whatever happens.
 */
struct state_lock;

int state_lock(const char *path, const char *command, int timeout_s,
	       struct state_lock **out, struct error *err);
void state_unlock(struct state_lock *l);
/* The holder line of a lock file, or NULL when nobody holds it. */
char *state_lock_holder(const char *path);
/* Remove the lock file (deploy unlock), so that the next run makes anew. */
int state_lock_break(const char *path, struct error *err);

#endif
