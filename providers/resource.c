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

int resource_ensure(struct provider_run *run, const struct resource_kind *k,
		    const char *name, const char *role, void *arg, char **id,
		    enum resource_outcome *outcome, struct error *err)
{
	struct resource_ref ref = { k->kind, name, role, NULL, NULL, arg };
	struct state_resource *res = find(run, k->kind, name);
	enum resource_outcome dummy;
	char *found = NULL, *key = NULL, fresh[37];
	int rc;

	if (!outcome)
		outcome = &dummy;
	*id = NULL;
	/* 1. Recorded with an id: still there? */
	if (res && res->status == RESOURCE_CREATED && res->id &&
	    k->find_by_id) {
		bool exists = false;

		ref.id = found = xstrdup(res->id);
		rc = k->find_by_id(run, &ref, &exists, err);
		ref.id = NULL;
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
		res = find(run, k->kind, name);
	}
	/* 2. Gone (or its delete was started): made anew. */
	if (res && res->status != RESOURCE_PENDING) {
		if (k->flags & RESOURCE_NEW_KEY) {
			drop(run, k->kind, name);
			res = NULL;
		} else {
			state_host_set(&res->id, NULL);
			res->status = RESOURCE_PENDING;
		}
	}
	/* 3. Pending, or not recorded: made already? */
	if (res && res->key)
		key = xstrdup(res->key);
	ref.key = key;
	rc = look_up(run, k, &ref, &found, err);
	if (rc)
		goto out;
	if (found) {
		rc = adopt(run, k, &ref, found, err);
		if (!rc) {
			*id = found;
			found = NULL;
			*outcome = RESOURCE_ADOPTED;
		}
		goto out;
	}
	/* 4. Recorded as pending and saved, then made. */
	if (!key && k->new_key) {
		key = k->new_key(run, &ref);
	} else if (!key) {
		uuid4(fresh);
		key = xstrdup(fresh);
	}
	ref.key = key;
	res = state_resource_pending(run->state, provider_name(run->provider),
				     k->kind, name, role, key);
	fill_attributes(run, k, &ref, res);
	rc = run->save(run, err);
	if (rc)
		goto out;
	rc = k->create(run, &ref, &found, err);
	if (rc)
		goto out;
	res = find(run, k->kind, name);
	if (!res) /* the create hook must not drop its own record */
		abort();
	state_resource_set_id(res, found);
	rc = run->save(run, err);
	if (!rc) {
		*id = found;
		found = NULL;
		*outcome = RESOURCE_MADE;
	}
out:
	free(found);
	free(key);
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
