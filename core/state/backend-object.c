/* SPDX-License-Identifier: MIT */
/* The state as an object in a store with conditional requests (S3). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "state/backend.h"
#include "state/lock-note.h"
#include "state/objstore.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Every save is a compare-and-swap: a PUT with If-Match: the ETag of the
 * version this run read (If-None-Match: * when there was none), so a run
 * can never overwrite a state it did not read. The lock is an object
 * KEY.lock made with If-None-Match: *, released by a DELETE with If-Match:
 * the ETag of the lock this run made. The store is a provider's
 * (objstore.h): nothing here knows S3's API.
 */

void objstore_result_init(struct objstore_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_MAX_BODY);
}

void objstore_result_free(struct objstore_result *r)
{
	free(r->etag);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

void objstore_close(struct objstore *s)
{
	char *prefix, *key;

	if (!s)
		return;
	prefix = s->prefix;
	key = s->key;
	s->ops->close(s);
	free(prefix);
	free(key);
}

struct obj_backend {
	struct state_backend base;
	struct objstore *c;
	const char *key; /* c->key */
	char *lock_key;
	bool read;	 /* the state was read: etag is what was there */
	char *etag;	 /* of the version read or last written */
	char *lock_etag; /* of the lock this run holds; NULL: none */
	char lock_id[37];
};

static struct obj_backend *ob(struct state_backend *b)
{
	return (struct obj_backend *)b;
}

static void set_etag(char **slot, const char *etag)
{
	free(*slot);
	*slot = etag ? xstrdup(etag) : NULL;
}

/* 412, or the answers S3 gives for a condition that no longer holds. */
bool objstore_precondition_failed(const struct objstore_result *r)
{
	return r->status == 412 ||
	       (r->status == 409 &&
		!strcmp(r->code, "ConditionalRequestConflict"));
}

static int get_object(struct obj_backend *sb, const char *key,
		      struct objstore_result *r, bool *found, struct error *err)
{
	int rc = sb->c->ops->get(sb->c, key, r, err);

	*found = false;
	if (rc)
		return rc;
	if (r->status == 200) {
		*found = true;
		return 0;
	}
	if (r->status == 404 && !sb->c->ops->no_bucket(r))
		return 0;
	return sb->c->ops->answer_error(sb->c, r, "cannot read", key, err);
}

static int obj_read_text(struct state_backend *b, struct buf *text, bool *found,
			 struct error *err)
{
	struct obj_backend *sb = ob(b);
	struct objstore_result r;
	int rc;

	objstore_result_init(&r);
	rc = get_object(sb, sb->key, &r, found, err);
	if (!rc) {
		sb->read = true;
		set_etag(&sb->etag, *found ? r.etag : NULL);
		if (*found)
			rc = buf_add(text, r.body.data, r.body.len);
	}
	objstore_result_free(&r);
	return rc;
}

static int obj_load(struct state_backend *b, const char *topology,
		    struct state **out, struct error *err)
{
	struct buf text = BUF_INIT;
	bool found;
	int rc;

	*out = NULL;
	rc = obj_read_text(b, &text, &found, err);
	if (!rc)
		rc = state_from_text(b->where, found ? text.data : NULL,
				     text.len, topology, out, err);
	if (!rc)
		(*out)->backend = b;
	buf_free(&text);
	return rc;
}

/*
 * PUT text over the version read. After a retried attempt a 412 may be
 * this run's own earlier attempt that S3 took: the object then holds
 * exactly text, and that is success.
 */
static int put_state(struct obj_backend *sb, const char *text, size_t len,
		     const struct objstore_put_opts *o, bool *conflict,
		     struct error *err)
{
	struct objstore_result r, again;
	bool found = false;
	int rc;

	*conflict = false;
	objstore_result_init(&r);
	objstore_result_init(&again);
	rc = sb->c->ops->put(sb->c, sb->key, text, len, o, &r, err);
	if (rc)
		goto out;
	if (r.status >= 200 && r.status < 300) {
		set_etag(&sb->etag, r.etag);
		goto out;
	}
	if (objstore_precondition_failed(&r) && r.retried &&
	    !get_object(sb, sb->key, &again, &found, err) && found &&
	    again.body.len == len && !memcmp(again.body.data, text, len)) {
		set_etag(&sb->etag, again.etag);
		goto out;
	}
	error_clear(err);
	*conflict = objstore_precondition_failed(&r) ||
		    (o->if_match && r.status == 404);
	if (*conflict)
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "%s: the state was changed by another run "
			       "since this run read it (HTTP %ld %s): this "
			       "run stops here and leaves the state as that "
			       "run wrote it; run again to work from it",
			       sb->base.where, r.status,
			       r.code[0] ? r.code : "PreconditionFailed");
	else
		rc = sb->c->ops->answer_error(
			sb->c, &r, "cannot write the state", sb->key, err);
out:
	objstore_result_free(&r);
	objstore_result_free(&again);
	return rc;
}

static void put_opts(const struct obj_backend *sb, struct objstore_put_opts *o)
{
	(void)sb;
	memset(o, 0, sizeof(*o));
	o->content_type = "application/json";
}

static int obj_save(struct state_backend *b, struct state *s, struct error *err)
{
	struct obj_backend *sb = ob(b);
	struct objstore_put_opts o;
	bool conflict;
	char *text;
	int rc;

	put_opts(sb, &o);
	if (sb->etag)
		o.if_match = sb->etag;
	else
		o.if_none_match = true;
	s->serial++;
	text = state_text(s);
	rc = put_state(sb, text, strlen(text), &o, &conflict, err);
	if (rc)
		s->serial--;
	else
		s->exists = true;
	free(text);
	return rc;
}

static int obj_write_text(struct state_backend *b, const char *text, size_t len,
			  bool overwrite, struct error *err)
{
	struct obj_backend *sb = ob(b);
	struct objstore_put_opts o;
	bool conflict;
	int rc;

	put_opts(sb, &o);
	if (!overwrite || (sb->read && !sb->etag))
		o.if_none_match = true;
	else if (sb->read)
		o.if_match = sb->etag;
	rc = put_state(sb, text, len, &o, &conflict, err);
	if (rc && conflict && !overwrite) {
		error_clear(err);
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "%s: a state is already there: deploy will "
			       "not overwrite it unless told (--force)",
			       b->where);
	}
	return rc;
}

/*
 * The lock object's note as people read it, and its lock id; a note deploy
 * cannot read is told as such (its id NULL), so that a lock left by
 * something else is named and can still be broken.
 */
static char *describe_holder(const struct obj_backend *sb,
			     const struct buf *body, char **id)
{
	struct lock_note n;
	struct error err;
	struct buf b = BUF_INIT;
	char *d;

	*id = NULL;
	error_init(&err);
	if (lock_note_parse(body->data ? body->data : "", body->len, &n,
			    &err)) {
		buf_addf(&b, "an object deploy cannot read at %s%s (%s)",
			 sb->c->prefix, sb->lock_key, err.msg);
		error_clear(&err);
		return buf_release(&b);
	}
	*id = xstrdup(n.id);
	d = lock_note_describe(&n);
	lock_note_free(&n);
	return d;
}

static char *new_note(const char *id, const char *command)
{
	const struct passwd *pw = getpwuid(getuid());
	char host[256] = "?", when[32], pid[24];
	time_t now = time(NULL);
	struct buf who = BUF_INIT;
	struct lock_note n;
	struct tm tm;
	char *text;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	buf_addf(&who, "%s@%s", pw ? pw->pw_name : "?", host);
	n.id = (char *)id;
	n.who = who.data;
	n.pid = pid;
	n.command = (char *)command;
	n.created = when;
	text = lock_note_text(&n);
	buf_free(&who);
	return text;
}

static void pause_s(const volatile int *stop)
{
	for (int i = 0; i < 10 && !(stop && *stop); i++)
		usleep(100000);
}

static int locked_error(struct state_backend *b, const char *holder,
			const char *id, int timeout_s, struct error *err)
{
	if (!id)
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "%s is locked by %s: if no deploy run is "
				 "under way, 'deploy unlock --yes' removes it",
				 b->where, holder);
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "%s is locked by another deploy (%s)%s: wait "
			 "for it (--lock-timeout SECONDS), or, if that "
			 "run is gone, run 'deploy unlock %s'",
			 b->where, holder,
			 timeout_s > 0 ? ", and --lock-timeout passed" : "",
			 id);
}

static int obj_lock(struct state_backend *b, const char *command, int timeout_s,
		    struct error *err)
{
	struct obj_backend *sb = ob(b);
	struct objstore_put_opts o = { .if_none_match = true,
				       .content_type = "application/json" };
	time_t deadline = time(NULL) + (timeout_s > 0 ? timeout_s : 0);
	struct objstore_result r, held;
	char *note, *holder = NULL, *id = NULL;
	bool found;
	int rc;

	uuid4(sb->lock_id);
	note = new_note(sb->lock_id, command);
	objstore_result_init(&r);
	objstore_result_init(&held);
	for (;;) {
		free(holder);
		free(id);
		holder = id = NULL;
		rc = sb->c->ops->put(sb->c, sb->lock_key, note, strlen(note),
				     &o, &r, err);
		if (rc)
			break;
		if (r.status >= 200 && r.status < 300) {
			set_etag(&sb->lock_etag, r.etag);
			break;
		}
		if (!objstore_precondition_failed(&r)) {
			rc = sb->c->ops->answer_error(sb->c, &r,
						      "cannot take the lock",
						      sb->lock_key, err);
			break;
		}
		rc = get_object(sb, sb->lock_key, &held, &found, err);
		if (rc)
			break;
		if (!found)
			continue; /* released in between: try again */
		holder = describe_holder(sb, &held.body, &id);
		if (id && !strcmp(id, sb->lock_id)) {
			/* Our own attempt, taken before a retry. */
			set_etag(&sb->lock_etag, held.etag);
			break;
		}
		if (time(NULL) < deadline && !(b->stop && *b->stop)) {
			pause_s(b->stop);
			continue;
		}
		rc = locked_error(b, holder, id, timeout_s, err);
		break;
	}
	free(holder);
	free(id);
	free(note);
	objstore_result_free(&r);
	objstore_result_free(&held);
	return rc;
}

static void obj_unlock(struct state_backend *b)
{
	struct obj_backend *sb = ob(b);
	struct objstore_result r;
	struct error err;

	if (!sb->lock_etag)
		return;
	error_init(&err);
	objstore_result_init(&r);
	sb->c->ops->del(sb->c, sb->lock_key, sb->lock_etag, &r, &err);
	objstore_result_free(&r);
	error_clear(&err);
	set_etag(&sb->lock_etag, NULL);
}

static int obj_holder(struct state_backend *b, char **holder, char **id,
		      struct error *err)
{
	struct obj_backend *sb = ob(b);
	struct objstore_result r;
	bool found;
	int rc;

	objstore_result_init(&r);
	rc = get_object(sb, sb->lock_key, &r, &found, err);
	if (!rc && found)
		*holder = describe_holder(sb, &r.body, id);
	objstore_result_free(&r);
	return rc;
}

static int obj_break(struct state_backend *b, const char *id, struct error *err)
{
	struct obj_backend *sb = ob(b);
	struct objstore_result r, d;
	char *holder = NULL, *held_id = NULL;
	bool found;
	int rc;

	objstore_result_init(&r);
	objstore_result_init(&d);
	rc = get_object(sb, sb->lock_key, &r, &found, err);
	if (rc)
		goto out;
	if (!found) {
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "%s%s: nobody holds the lock", sb->c->prefix,
			       sb->lock_key);
		goto out;
	}
	holder = describe_holder(sb, &r.body, &held_id);
	if (id && (!held_id || strcmp(id, held_id))) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "%s%s: the lock is held by %s, not by lock id "
			       "'%s': nothing broken",
			       sb->c->prefix, sb->lock_key, holder, id);
		goto out;
	}
	/* Only the lock read: one taken since is left alone. */
	rc = sb->c->ops->del(sb->c, sb->lock_key, r.etag, &d, err);
	if (rc)
		goto out;
	if (objstore_precondition_failed(&d))
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "%s%s: the lock changed while it was being "
			       "broken: nothing broken",
			       sb->c->prefix, sb->lock_key);
	else if (d.status != 204 && d.status != 200 && d.status != 404)
		rc = sb->c->ops->answer_error(
			sb->c, &d, "cannot break the lock", sb->lock_key, err);
out:
	free(holder);
	free(held_id);
	objstore_result_free(&r);
	objstore_result_free(&d);
	return rc;
}

static void obj_backend_free(struct state_backend *b)
{
	struct obj_backend *sb = ob(b);

	obj_unlock(b);
	objstore_close(sb->c);
	free(sb->lock_key);
	free(sb->etag);
	free(b->where);
	free(sb);
}

static const struct state_backend_ops object_ops = {
	.name = "s3",
	.load = obj_load,
	.save = obj_save,
	.read_text = obj_read_text,
	.write_text = obj_write_text,
	.lock = obj_lock,
	.unlock = obj_unlock,
	.holder = obj_holder,
	.break_lock = obj_break,
	.free = obj_backend_free,
};

int state_backend_object_new(struct objstore *store, struct state_backend **out)
{
	struct obj_backend *sb = xcalloc(1, sizeof(*sb));
	struct buf b = BUF_INIT;

	sb->base.ops = &object_ops;
	sb->c = store;
	sb->key = store->key;
	buf_addf(&b, "%s.lock", store->key);
	sb->lock_key = buf_release(&b);
	buf_addf(&b, "%s%s", store->prefix, store->key);
	sb->base.where = buf_release(&b);
	*out = &sb->base;
	return 0;
}
