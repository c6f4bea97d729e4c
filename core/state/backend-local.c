/* SPDX-License-Identifier: MIT */
/* The local state backend: .deploy/NAME.state.json and its flock lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/backend.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The state file and the flock()ed lock file (state.c, lock.c). */
struct local_backend {
	struct state_backend base;
	char *lock_path;
	struct state_lock *lock;
};

static struct local_backend *local(struct state_backend *b)
{
	return (struct local_backend *)b;
}

static int local_load(struct state_backend *b, const char *topology,
		      struct state **out, struct error *err)
{
	return state_load(b->where, topology, out, err);
}

static int local_save(struct state_backend *b, struct state *s,
		      struct error *err)
{
	(void)b;
	return state_save(s, err);
}

static int local_read_text(struct state_backend *b, struct buf *text,
			   bool *found, struct error *err)
{
	int rc = buf_read_file(text, b->where);

	*found = rc == 0;
	if (rc == DEPLOY_ERR_NOT_FOUND)
		return 0;
	if (rc)
		return error_set(err, rc, b->where, 0, 0, "cannot read: %s",
				 strerror(errno));
	return 0;
}

static int local_write_text(struct state_backend *b, const char *text,
			    size_t len, bool overwrite, struct error *err)
{
	struct buf backup = BUF_INIT;
	char *dir = dir_of(b->where);
	int rc;

	if (!overwrite && access(b->where, F_OK) == 0) {
		rc = error_set(err, DEPLOY_ERR_INVALID, b->where, 0, 0,
			       "a state is already there: deploy will not "
			       "overwrite it unless told (--force)");
		goto out;
	}
	rc = mkdir_p(dir, 0700, err);
	if (rc)
		goto out;
	buf_addf(&backup, "%s.backup", b->where);
	rc = file_replace(b->where, text, len, 0600, backup.data, "the state",
			  err);
out:
	buf_free(&backup);
	free(dir);
	return rc;
}

static int local_lock(struct state_backend *b, const char *command,
		      int timeout_s, struct error *err)
{
	return state_lock(local(b)->lock_path, command, timeout_s,
			  &local(b)->lock, err);
}

static void local_unlock(struct state_backend *b)
{
	state_unlock(local(b)->lock);
	local(b)->lock = NULL;
}

static int local_holder(struct state_backend *b, char **holder, char **id,
			struct error *err)
{
	(void)err;
	*id = NULL;
	*holder = state_lock_holder(local(b)->lock_path);
	return 0;
}

static int local_break(struct state_backend *b, const char *id,
		       struct error *err)
{
	(void)id;
	return state_lock_break(local(b)->lock_path, err);
}

static void local_free(struct state_backend *b)
{
	local_unlock(b);
	free(local(b)->lock_path);
	free(b->where);
	free(b);
}

static const struct state_backend_ops local_ops = {
	.name = "local",
	.load = local_load,
	.save = local_save,
	.read_text = local_read_text,
	.write_text = local_write_text,
	.lock = local_lock,
	.unlock = local_unlock,
	.holder = local_holder,
	.break_lock = local_break,
	.free = local_free,
};

int state_backend_local_new(const char *state_path, const char *lock_path,
			    struct state_backend **out)
{
	struct local_backend *l = xcalloc(1, sizeof(*l));

	l->base.ops = &local_ops;
	l->base.where = xstrdup(state_path);
	l->lock_path = xstrdup(lock_path);
	*out = &l->base;
	return 0;
}
