/* SPDX-License-Identifier: MIT */
/* The S3 state backend: conditional writes and a lock object. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "providers/aws/credentials.h"
#include "providers/aws/s3.h"
#include "providers/provider.h"
#include "state/backend.h"
#include "topology/topology.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * The state as an S3 object. Every save is a compare-and-swap: a PUT with
 * If-Match: the ETag of the version this run read (If-None-Match: * when
 * there was none), so a run can never overwrite a state it did not read.
 * The lock is an object KEY.lock made with If-None-Match: *, released by a
 * DELETE with If-Match: the ETag of the lock this run made.
 */

struct s3_backend {
	struct state_backend base;
	struct s3 *c;
	char *bucket;
	char *key;
	char *lock_key;
	const char *sse; /* "AES256", "aws:kms" or NULL */
	char *kms_key_id;
	bool read;	 /* the state was read: etag is what was there */
	char *etag;	 /* of the version read or last written */
	char *lock_etag; /* of the lock this run holds; NULL: none */
	char lock_id[37];
};

static struct s3_backend *s3b(struct state_backend *b)
{
	return (struct s3_backend *)b;
}

static void set_etag(char **slot, const char *etag)
{
	free(*slot);
	*slot = etag ? xstrdup(etag) : NULL;
}

/* 412, or the answers S3 gives for a condition that no longer holds. */
static bool precondition_failed(const struct s3_result *r)
{
	return r->status == 412 ||
	       (r->status == 409 &&
		!strcmp(r->code, "ConditionalRequestConflict"));
}

static int get_object(struct s3_backend *sb, const char *key,
		      struct s3_result *r, bool *found, struct error *err)
{
	int rc = s3_get(sb->c, sb->bucket, key, r, err);

	*found = false;
	if (rc)
		return rc;
	if (r->status == 200) {
		*found = true;
		return 0;
	}
	if (r->status == 404 && strcmp(r->code, "NoSuchBucket"))
		return 0;
	return s3_answer_error(r, "cannot read", sb->bucket, key, err);
}

static int s3_read_text(struct state_backend *b, struct buf *text, bool *found,
			struct error *err)
{
	struct s3_backend *sb = s3b(b);
	struct s3_result r;
	int rc;

	s3_result_init(&r);
	rc = get_object(sb, sb->key, &r, found, err);
	if (!rc) {
		sb->read = true;
		set_etag(&sb->etag, *found ? r.etag : NULL);
		if (*found)
			rc = buf_add(text, r.body.data, r.body.len);
	}
	s3_result_free(&r);
	return rc;
}

static int s3_load(struct state_backend *b, const char *topology,
		   struct state **out, struct error *err)
{
	struct buf text = BUF_INIT;
	bool found;
	int rc;

	*out = NULL;
	rc = s3_read_text(b, &text, &found, err);
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
static int put_state(struct s3_backend *sb, const char *text, size_t len,
		     const struct s3_put_opts *o, bool *conflict,
		     struct error *err)
{
	struct s3_result r, again;
	bool found = false;
	int rc;

	*conflict = false;
	s3_result_init(&r);
	s3_result_init(&again);
	rc = s3_put(sb->c, sb->bucket, sb->key, text, len, o, &r, err);
	if (rc)
		goto out;
	if (r.status >= 200 && r.status < 300) {
		set_etag(&sb->etag, r.etag);
		goto out;
	}
	if (precondition_failed(&r) && r.retried &&
	    !get_object(sb, sb->key, &again, &found, err) && found &&
	    again.body.len == len && !memcmp(again.body.data, text, len)) {
		set_etag(&sb->etag, again.etag);
		goto out;
	}
	error_clear(err);
	*conflict = precondition_failed(&r) || (o->if_match && r.status == 404);
	if (*conflict)
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "%s: the state was changed by another run "
			       "since this run read it (HTTP %ld %s): this "
			       "run stops here and leaves the state as that "
			       "run wrote it; run again to work from it",
			       sb->base.where, r.status,
			       r.code[0] ? r.code : "PreconditionFailed");
	else
		rc = s3_answer_error(&r, "cannot write the state", sb->bucket,
				     sb->key, err);
out:
	s3_result_free(&r);
	s3_result_free(&again);
	return rc;
}

static void put_opts(const struct s3_backend *sb, struct s3_put_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sse = sb->sse;
	o->kms_key_id = sb->kms_key_id;
	o->content_type = "application/json";
}

static int s3_save(struct state_backend *b, struct state *s, struct error *err)
{
	struct s3_backend *sb = s3b(b);
	struct s3_put_opts o;
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

static int s3_write_text(struct state_backend *b, const char *text, size_t len,
			 bool overwrite, struct error *err)
{
	struct s3_backend *sb = s3b(b);
	struct s3_put_opts o;
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

/* The lock object's note, as people read it; *id its lock id. */
static char *describe_holder(const struct buf *body, char **id)
{
	cJSON *j = cJSON_ParseWithLength(body->data, body->len);
	const char *f[5] = { "?", "?", "?", "?", "?" };
	static const char *const names[5] = { "id", "who", "command", "created",
					      "pid" };
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < 5; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, names[i]);

		if (cJSON_IsString(v))
			f[i] = v->valuestring;
	}
	*id = xstrdup(f[0]);
	buf_addf(&b, "%s, pid %s, '%s', since %s; lock id %s", f[1], f[4], f[2],
		 f[3], f[0]);
	cJSON_Delete(j);
	return buf_release(&b);
}

static char *lock_note(const char *id, const char *command)
{
	const struct passwd *pw = getpwuid(getuid());
	char host[256] = "?", when[32], pid[24];
	time_t now = time(NULL);
	struct buf who = BUF_INIT;
	struct tm tm;
	cJSON *j = cJSON_CreateObject();
	char *text;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	buf_addf(&who, "%s@%s", pw ? pw->pw_name : "?", host);
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "who", who.data);
	cJSON_AddStringToObject(j, "pid", pid);
	cJSON_AddStringToObject(j, "command", command);
	cJSON_AddStringToObject(j, "created", when);
	text = cJSON_Print(j);
	cJSON_Delete(j);
	buf_free(&who);
	return text;
}

static void pause_s(const volatile int *stop)
{
	for (int i = 0; i < 10 && !(stop && *stop); i++)
		usleep(100000);
}

static int s3_lock(struct state_backend *b, const char *command, int timeout_s,
		   struct error *err)
{
	struct s3_backend *sb = s3b(b);
	struct s3_put_opts o = { .if_none_match = true,
				 .content_type = "application/json" };
	time_t deadline = time(NULL) + (timeout_s > 0 ? timeout_s : 0);
	struct s3_result r, held;
	char *note, *holder = NULL, *id = NULL;
	bool found;
	int rc;

	uuid4(sb->lock_id);
	note = lock_note(sb->lock_id, command);
	o.sse = sb->sse;
	o.kms_key_id = sb->kms_key_id;
	s3_result_init(&r);
	s3_result_init(&held);
	for (;;) {
		free(holder);
		free(id);
		holder = id = NULL;
		rc = s3_put(sb->c, sb->bucket, sb->lock_key, note, strlen(note),
			    &o, &r, err);
		if (rc)
			break;
		if (r.status >= 200 && r.status < 300) {
			set_etag(&sb->lock_etag, r.etag);
			break;
		}
		if (!precondition_failed(&r)) {
			rc = s3_answer_error(&r, "cannot take the lock",
					     sb->bucket, sb->lock_key, err);
			break;
		}
		rc = get_object(sb, sb->lock_key, &held, &found, err);
		if (rc)
			break;
		if (!found)
			continue; /* released in between: try again */
		holder = describe_holder(&held.body, &id);
		if (!strcmp(id, sb->lock_id)) {
			/* Our own attempt, taken before a retry. */
			set_etag(&sb->lock_etag, held.etag);
			break;
		}
		if (time(NULL) < deadline && !(b->stop && *b->stop)) {
			pause_s(b->stop);
			continue;
		}
		rc = error_set(
			err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			"%s is locked by another deploy (%s)%s: wait "
			"for it (--lock-timeout SECONDS), or, if that "
			"run is gone, run 'deploy unlock %s'",
			b->where, holder,
			timeout_s > 0 ? ", and --lock-timeout passed" : "", id);
		break;
	}
	free(holder);
	free(id);
	free(note);
	s3_result_free(&r);
	s3_result_free(&held);
	return rc;
}

static void s3_unlock(struct state_backend *b)
{
	struct s3_backend *sb = s3b(b);
	struct s3_result r;
	struct error err;

	if (!sb->lock_etag)
		return;
	error_init(&err);
	s3_result_init(&r);
	s3_delete(sb->c, sb->bucket, sb->lock_key, sb->lock_etag, &r, &err);
	s3_result_free(&r);
	error_clear(&err);
	set_etag(&sb->lock_etag, NULL);
}

static int s3_holder(struct state_backend *b, char **holder, char **id,
		     struct error *err)
{
	struct s3_backend *sb = s3b(b);
	struct s3_result r;
	bool found;
	int rc;

	s3_result_init(&r);
	rc = get_object(sb, sb->lock_key, &r, &found, err);
	if (!rc && found)
		*holder = describe_holder(&r.body, id);
	s3_result_free(&r);
	return rc;
}

static int s3_break(struct state_backend *b, const char *id, struct error *err)
{
	struct s3_backend *sb = s3b(b);
	struct s3_result r, d;
	char *holder = NULL, *held_id = NULL;
	bool found;
	int rc;

	s3_result_init(&r);
	s3_result_init(&d);
	rc = get_object(sb, sb->lock_key, &r, &found, err);
	if (rc)
		goto out;
	if (!found) {
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "s3://%s/%s: nobody holds the lock", sb->bucket,
			       sb->lock_key);
		goto out;
	}
	holder = describe_holder(&r.body, &held_id);
	if (id && strcmp(id, held_id)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "s3://%s/%s: the lock is held by %s, not by "
			       "lock id '%s': nothing broken",
			       sb->bucket, sb->lock_key, holder, id);
		goto out;
	}
	/* Only the lock read: one taken since is left alone. */
	rc = s3_delete(sb->c, sb->bucket, sb->lock_key, r.etag, &d, err);
	if (rc)
		goto out;
	if (precondition_failed(&d))
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "s3://%s/%s: the lock changed while it was "
			       "being broken: nothing broken",
			       sb->bucket, sb->lock_key);
	else if (d.status != 204 && d.status != 200 && d.status != 404)
		rc = s3_answer_error(&d, "cannot break the lock", sb->bucket,
				     sb->lock_key, err);
out:
	free(holder);
	free(held_id);
	s3_result_free(&r);
	s3_result_free(&d);
	return rc;
}

static void s3_backend_free(struct state_backend *b)
{
	struct s3_backend *sb = s3b(b);

	s3_unlock(b);
	s3_close(sb->c);
	free(sb->bucket);
	free(sb->key);
	free(sb->lock_key);
	free(sb->kms_key_id);
	free(sb->etag);
	free(b->where);
	free(sb);
}

static const struct state_backend_ops s3_ops = {
	.name = "s3",
	.load = s3_load,
	.save = s3_save,
	.read_text = s3_read_text,
	.write_text = s3_write_text,
	.lock = s3_lock,
	.unlock = s3_unlock,
	.holder = s3_holder,
	.break_lock = s3_break,
	.free = s3_backend_free,
};

/* providers.aws.region, when the topology has one. */
static const char *aws_block_region(const struct topology *t)
{
	for (size_t i = 0; i < t->nr_providers; i++) {
		const struct provider_conf *p = &t->providers[i];
		const struct ynode *r;

		if (strcmp(p->provider->name, "aws") || !p->config)
			continue;
		r = ynode_get(p->config, "region");
		return ynode_is_string(r) ? r->value : NULL;
	}
	return NULL;
}

int state_backend_s3_new(const struct topology *t, struct state_backend **out,
			 struct error *err)
{
	const struct state_conf *sc = &t->state;
	struct s3_backend *sb = NULL;
	struct aws_creds creds = { 0 };
	char *region = NULL, *endpoint = NULL;
	struct buf b = BUF_INIT;
	bool custom;
	int rc;

	*out = NULL;
	rc = aws_region_resolve(sc->region, aws_block_region(t), sc->profile,
				&region, err);
	if (!rc)
		rc = s3_endpoint_resolve(sc->endpoint, region, &endpoint,
					 &custom, err);
	if (!rc)
		rc = aws_creds_load(sc->profile, &creds, err);
	if (rc)
		goto out;
	sb = xcalloc(1, sizeof(*sb));
	rc = s3_open(&sb->c, endpoint, region,
		     sc->path_style >= 0 ? sc->path_style : custom, &creds,
		     err);
	if (rc) {
		free(sb);
		goto out;
	}
	sb->base.ops = &s3_ops;
	sb->bucket = xstrdup(sc->bucket);
	if (sc->key) {
		sb->key = xstrdup(sc->key);
	} else {
		buf_addf(&b, "%s.state.json", t->name);
		sb->key = buf_release(&b);
	}
	buf_addf(&b, "%s.lock", sb->key);
	sb->lock_key = buf_release(&b);
	if (sc->encrypt)
		sb->sse = sc->kms_key_id ? "aws:kms" : "AES256";
	sb->kms_key_id = sc->kms_key_id ? xstrdup(sc->kms_key_id) : NULL;
	buf_addf(&b, "s3://%s/%s", sb->bucket, sb->key);
	sb->base.where = buf_release(&b);
	*out = &sb->base;
out:
	aws_creds_free(&creds);
	free(region);
	free(endpoint);
	return rc;
}
