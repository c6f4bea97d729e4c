/* SPDX-License-Identifier: MIT */
/* The state backend wrappers, and local or S3 chosen from the topology. */
#include <stdlib.h>
#include <string.h>

#include "state/backend.h"
#include "topology/topology.h"
#include "util/banned.h"

int state_backend_open_local(const struct topology *t, const char *path,
			     struct state_backend **out, struct error *err)
{
	char *state = state_path_for(path, t->name, ".state.json");
	char *lock = state_path_for(path, t->name, ".lock");
	int rc;

	(void)err;
	rc = state_backend_local_new(state, lock, out);
	free(state);
	free(lock);
	return rc;
}

int state_backend_open(const struct topology *t, const char *path,
		       state_store_open_fn open_store,
		       struct state_backend **out, struct error *err)
{
	struct objstore *store;
	int rc;

	*out = NULL;
	if (!t->state.s3)
		return state_backend_open_local(t, path, out, err);
	rc = open_store(t, &store, err);
	return rc ? rc : state_backend_object_new(store, out);
}

void state_backend_free(struct state_backend *b)
{
	if (b)
		b->ops->free(b);
}

bool state_backend_is_local(const struct state_backend *b)
{
	return !strcmp(b->ops->name, "local");
}

int state_backend_load(struct state_backend *b, const char *topology,
		       struct state **out, struct error *err)
{
	return b->ops->load(b, topology, out, err);
}

int state_backend_save(struct state_backend *b, struct state *s,
		       struct error *err)
{
	return b->ops->save(b, s, err);
}

int state_backend_read_text(struct state_backend *b, struct buf *text,
			    bool *found, struct error *err)
{
	return b->ops->read_text(b, text, found, err);
}

int state_backend_write_text(struct state_backend *b, const char *text,
			     size_t len, bool overwrite, struct error *err)
{
	return b->ops->write_text(b, text, len, overwrite, err);
}

int state_backend_lock(struct state_backend *b, const char *command,
		       int timeout_s, struct error *err)
{
	return b->ops->lock(b, command, timeout_s, err);
}

void state_backend_unlock(struct state_backend *b)
{
	if (b)
		b->ops->unlock(b);
}

int state_backend_holder(struct state_backend *b, char **holder, char **id,
			 struct error *err)
{
	*holder = NULL;
	*id = NULL;
	return b->ops->holder(b, holder, id, err);
}

int state_backend_break_lock(struct state_backend *b, const char *id,
			     struct error *err)
{
	return b->ops->break_lock(b, id, err);
}
