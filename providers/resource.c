/* SPDX-License-Identifier: MIT */
/* The crash-safe create protocol every provider uses (resource.h). */
#include <stdlib.h>
#include <string.h>

#include "providers/resource.h"
#include "util/xalloc.h"
#include "util/banned.h"

static struct state_resource *find(struct provider_run *run, const char *kind,
				   const char *name)
{
	return state_resource_find(run->state, provider_name(run->provider),
				   kind, name);
}

static void fill_attributes(struct provider_run *run,
			    const struct resource_kind *k,
			    const struct resource_ref *ref,
			    struct state_resource *res)
{
	if (k->attributes)
		k->attributes(run, ref, res);
}

/* Forget a record (and, for a host, what is known of the machine). */
static void drop(struct provider_run *run, const char *kind, const char *name)
{
	struct state_resource *res = find(run, kind, name);

	if (res)
		state_resource_remove(run->state, res);
	if (!strcmp(kind, "host"))
		state_host_remove(run->state, name);
}

/* A found resource: adopted(), then recorded as created and saved. */
static int adopt(struct provider_run *run, const struct resource_kind *k,
		 struct resource_ref *ref, const char *id, struct error *err)
{
	struct state_resource *res;
	int rc;

	if (k->adopted) {
		rc = k->adopted(run, ref, id, err);
		if (rc)
			return rc;
	}
	res = find(run, k->kind, ref->name);
	if (!res) /* a lost record: the id is the key */
		res = state_resource_pending(run->state,
					     provider_name(run->provider),
					     k->kind, ref->name, ref->role, id);
	ref->key = res->key;
	fill_attributes(run, k, ref, res);
	state_resource_set_id(res, id);
	return run->save(run, err);
}

/* Look a pending (or unrecorded) resource up: by key, then by tags. */
static int look_up(struct provider_run *run, const struct resource_kind *k,
		   const struct resource_ref *ref, char **id, struct error *err)
{
	int rc = 0;

	*id = NULL;
	if (ref->key && k->find_by_key)
		rc = k->find_by_key(run, ref, id, err);
	if (!rc && !*id && k->find_by_tags)
		rc = k->find_by_tags(run, ref, id, err);
	if (rc) {
		free(*id);
		*id = NULL;
	}
	return rc;
}

/*
 * Steps 1 to 3 for ref (ref->key is set here), and for step 4 the pending
 * record, not saved yet: *id is set when the resource was kept or
 * adopted, else *key is the key its create must use (both malloc'd).
 */
static int prepare(struct provider_run *run, const struct resource_kind *k,
		   struct resource_ref *ref, char **id, char **key,
		   enum resource_outcome *outcome, struct error *err)
{
	struct state_resource *res = find(run, k->kind, ref->name);
	char *found = NULL, fresh[37];
	int rc;

	*id = NULL;
	*key = NULL;
	/* 1. Recorded with an id: still there? */
	if (res && res->status == RESOURCE_CREATED && res->id &&
	    k->find_by_id) {
		bool exists = false;

		ref->id = found = xstrdup(res->id);
		rc = k->find_by_id(run, ref, &exists, err);
		ref->id = NULL;
		if (rc || exists) {
			if (!rc) {
				*id = found;
				*outcome = RESOURCE_KEPT;
			} else {
				free(found);
			}
			return rc;
		}
		free(found);
		found = NULL;
		res = find(run, k->kind, ref->name);
	}
	/* 2. Gone (or its delete was started): made anew. */
	if (res && res->status != RESOURCE_PENDING) {
		if (k->flags & RESOURCE_NEW_KEY) {
			drop(run, k->kind, ref->name);
			res = NULL;
		} else {
			state_host_set(&res->id, NULL);
			res->status = RESOURCE_PENDING;
		}
	}
	/* 3. Pending, or not recorded: made already? */
	if (res && res->key)
		*key = xstrdup(res->key);
	ref->key = *key;
	rc = look_up(run, k, ref, &found, err);
	if (rc)
		goto fail;
	if (found) {
		rc = adopt(run, k, ref, found, err);
		if (rc)
			goto fail;
		*id = found;
		*outcome = RESOURCE_ADOPTED;
		free(*key);
		*key = NULL;
		ref->key = NULL;
		return 0;
	}
	/* 4. Recorded as pending (the caller saves before the create). */
	if (!*key && k->new_key) {
		*key = k->new_key(run, ref);
	} else if (!*key) {
		uuid4(fresh);
		*key = xstrdup(fresh);
	}
	ref->key = *key;
	res = state_resource_pending(run->state, provider_name(run->provider),
				     k->kind, ref->name, ref->role, *key);
	fill_attributes(run, k, ref, res);
	return 0;
fail:
	free(found);
	free(*key);
	*key = NULL;
	ref->key = NULL;
	return rc;
}

/* The id of a resource made now, recorded (not saved). */
static void record_made(struct provider_run *run, const struct resource_kind *k,
			const char *name, const char *id)
{
	struct state_resource *res = find(run, k->kind, name);

	if (!res) /* the create hook must not drop its own record */
		abort();
	state_resource_set_id(res, id);
}

int resource_ensure(struct provider_run *run, const struct resource_kind *k,
		    const char *name, const char *role, void *arg, char **id,
		    enum resource_outcome *outcome, struct error *err)
{
	struct resource_ref ref = { k->kind, name, role, NULL, NULL, arg };
	enum resource_outcome dummy;
	char *found = NULL, *key = NULL;
	int rc;

	if (!outcome)
		outcome = &dummy;
	rc = prepare(run, k, &ref, id, &key, outcome, err);
	if (rc || !key)
		return rc;
	rc = run->save(run, err);
	if (!rc)
		rc = k->create(run, &ref, &found, err);
	if (!rc) {
		record_made(run, k, name, found);
		rc = run->save(run, err);
	}
	if (!rc) {
		*id = found;
		found = NULL;
		*outcome = RESOURCE_MADE;
	}
	free(found);
	free(key);
	return rc;
}

int resource_ensure_many(struct provider_run *run,
			 const struct resource_kind *k, struct resource_want *v,
			 size_t n, struct error *err)
{
	struct resource_ref *refs = xcalloc(n + 1, sizeof(*refs));
	const struct resource_ref **todo = xcalloc(n + 1, sizeof(*todo));
	char **keys = xcalloc(n + 1, sizeof(*keys));
	char **made = xcalloc(n + 1, sizeof(*made));
	size_t *which = xcalloc(n + 1, sizeof(*which));
	size_t nr = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i].id = NULL;
		refs[i] = (struct resource_ref){ k->kind, v[i].name, v[i].role,
						 NULL,	  NULL,	     v[i].arg };
	}
	/* Each kept, adopted or recorded as pending; then one save before
	 * any create. */
	for (size_t i = 0; !rc && i < n; i++) {
		rc = prepare(run, k, &refs[i], &v[i].id, &keys[i],
			     &v[i].outcome, err);
		if (!rc && keys[i]) {
			todo[nr] = &refs[i];
			which[nr++] = i;
		}
	}
	if (!rc && nr)
		rc = run->save(run, err);
	if (!rc && nr && k->create_many) {
		rc = k->create_many(run, todo, nr, made, err);
	} else if (!rc) {
		for (size_t j = 0; !rc && j < nr; j++)
			rc = k->create(run, todo[j], &made[j], err);
	}
	/* Every one made is recorded, whatever failed beside it. */
	if (nr) {
		bool any = false;

		for (size_t j = 0; j < nr; j++) {
			struct resource_want *w = &v[which[j]];

			if (!made[j])
				continue;
			record_made(run, k, w->name, made[j]);
			w->id = made[j];
			w->outcome = RESOURCE_MADE;
			made[j] = NULL;
			any = true;
		}
		if (any)
			rc = resource_save_after(run, rc, err);
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	for (size_t j = 0; j < nr; j++)
		free(made[j]);
	free(refs);
	free(todo);
	free(keys);
	free(made);
	free(which);
	return rc;
}

int resource_save_after(struct provider_run *run, int rc, struct error *err)
{
	struct error e2;

	if (!rc)
		return run->save(run, err);
	error_init(&e2);
	run->save(run, &e2);
	error_clear(&e2);
	return rc;
}

struct state_resource *resource_record(struct provider_run *run,
				       const char *kind, const char *name,
				       const char *role, const char *id)
{
	struct state_resource *res = state_resource_pending(
		run->state, provider_name(run->provider), kind, name, role, id);

	state_resource_set_id(res, id);
	return res;
}

int resource_deleting(struct provider_run *run, const char *kind,
		      const char *name, struct error *err)
{
	struct state_resource *res = find(run, kind, name);

	if (!res)
		return DEPLOY_ERR_NOT_FOUND;
	res->status = RESOURCE_DELETING;
	return run->save(run, err);
}

int resource_forget(struct provider_run *run, const char *kind,
		    const char *name, struct error *err)
{
	/* kind and name may live in the record itself */
	char *k = xstrdup(kind), *n = xstrdup(name);

	drop(run, k, n);
	free(k);
	free(n);
	return run->save(run, err);
}

int resource_deleting_many(struct provider_run *run, const char *kind,
			   const char *const *names, size_t n,
			   struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct state_resource *res = find(run, kind, names[i]);

		if (res)
			res->status = RESOURCE_DELETING;
	}
	return run->save(run, err);
}

int resource_forget_many(struct provider_run *run, const char *kind,
			 const char *const *names, size_t n, struct error *err)
{
	for (size_t i = 0; i < n; i++)
		drop(run, kind, names[i]);
	return run->save(run, err);
}

const char *resource_attr(const struct state_resource *res, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(res->attributes, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

void resource_set_attr(struct state_resource *res, const char *key,
		       const char *value)
{
	if (!res->attributes)
		res->attributes = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(res->attributes, key);
	if (value)
		cJSON_AddStringToObject(res->attributes, key, value);
}
