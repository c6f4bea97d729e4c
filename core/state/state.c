/* SPDX-License-Identifier: MIT */
/* The state file: load, check, save crash-safely; resources and hosts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "state/backend.h"
#include "state/state.h"

/* Past 2^53 a double no longer holds every whole number. */
#define STATE_SERIAL_MAX 9007199254740992.0
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define STATE_MAX_BYTES (64u << 20)

static const char *const status_names[] = {
	[RESOURCE_PENDING] = "pending",
	[RESOURCE_CREATED] = "created",
	[RESOURCE_DELETING] = "deleting",
};

const char *resource_status_name(enum resource_status st)
{
	return status_names[st];
}

void uuid4(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		/* RAND_bytes only fails when the system has no entropy. */
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
			abort();
		close(fd);
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

char *state_path_for(const char *topology_file, const char *name,
		     const char *suffix)
{
	char *dir = dir_of(topology_file);
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/.deploy/%s%s", dir, name, suffix);
	free(dir);
	return buf_release(&b);
}

void state_host_set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

static char *dup_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static int corrupt(struct error *err, const char *path, const char *what)
{
	return error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
			 "state file is corrupt (%s): deploy will not use or "
			 "overwrite it; restore %s.backup or move it away and "
			 "run 'deploy plan --adopt'",
			 what, path);
}

static int read_resource(struct state *s, const cJSON *j, struct error *err)
{
	struct state_resource *r;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	enum resource_status status = RESOURCE_PENDING;
	size_t i;

	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (cJSON_IsString(st) &&
		    !strcmp(st->valuestring, status_names[i]))
			break;
	if (!cJSON_IsObject(j) || i == 3)
		return corrupt(err, s->path, "a resource has no valid status");
	status = (enum resource_status)i;
	XGROW(s->resources, s->alloc_resources, s->nr_resources + 1);
	r = &s->resources[s->nr_resources];
	memset(r, 0, sizeof(*r));
	r->provider = dup_str(j, "provider");
	r->kind = dup_str(j, "kind");
	r->name = dup_str(j, "name");
	r->role = dup_str(j, "role");
	r->id = dup_str(j, "id");
	r->key = dup_str(j, "key");
	r->status = status;
	r->attributes = cJSON_Duplicate(
		cJSON_GetObjectItemCaseSensitive(j, "attributes"), true);
	s->nr_resources++;
	if (!r->provider || !r->kind || !r->name)
		return corrupt(err, s->path,
			       "a resource lacks provider, kind or name");
	return 0;
}

static int read_host(struct state *s, const cJSON *j, struct error *err)
{
	struct state_host *h;
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(j, "port");
	const cJSON *pending = cJSON_GetObjectItemCaseSensitive(j, "pending");
	const cJSON *it;

	if (!cJSON_IsObject(j) || !j->string)
		return corrupt(err, s->path, "a host is not an object");
	/* JSON lets a key repeat; which copy is meant is anyone's guess. */
	if (state_host_get(s, j->string, false))
		return corrupt(err, s->path, "a host is listed twice");
	h = state_host_get(s, j->string, true);
	h->address = dup_str(j, "address");
	h->private_address = dup_str(j, "private_address");
	h->port = cJSON_IsNumber(port) ? port->valueint : 22;
	h->host_key = dup_str(j, "host_key");
	h->applied_at = dup_str(j, "applied_at");
	h->last_status = dup_str(j, "last_status");
	h->last_message = dup_str(j, "last_message");
	h->playbooks = cJSON_Duplicate(
		cJSON_GetObjectItemCaseSensitive(j, "playbooks"), true);
	h->artifacts = cJSON_Duplicate(
		cJSON_GetObjectItemCaseSensitive(j, "artifacts"), true);
	cJSON_ArrayForEach(it, pending)
	{
		if (!cJSON_IsString(it))
			continue;
		h->pending = xrealloc(h->pending, (h->nr_pending + 1) *
							  sizeof(*h->pending));
		h->pending[h->nr_pending++] = xstrdup(it->valuestring);
	}
	return 0;
}

static cJSON *to_json(const struct state *s);

static int parse_state(struct state *s, const char *text, const char *topology,
		       struct error *err)
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *v, *it;
	int rc = 0;

	if (!cJSON_IsObject(root)) {
		rc = corrupt(err, s->path, "not a JSON object");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(v)) {
		rc = corrupt(err, s->path, "no version");
		goto out;
	}
	if (v->valueint > STATE_VERSION) {
		rc = error_set(err, DEPLOY_ERR_INVALID, s->path, 0, 0,
			       "state file was written by a newer deploy "
			       "(state version %d; this deploy reads up to "
			       "%d): upgrade deploy; the file is left as it is",
			       v->valueint, STATE_VERSION);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "lineage");
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 36) {
		rc = corrupt(err, s->path, "no lineage");
		goto out;
	}
	memcpy(s->lineage, v->valuestring, 37);
	v = cJSON_GetObjectItemCaseSensitive(root, "topology");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, topology)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, s->path, 0, 0,
			       "state file belongs to topology '%s', not "
			       "'%s'; deploy will not use it",
			       cJSON_IsString(v) ? v->valuestring : "?",
			       topology);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "serial");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		  v->valuedouble > STATE_SERIAL_MAX ||
		  v->valuedouble != (double)(long)v->valuedouble)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, s->path, 0, 0,
			       "state file has a serial that is not a whole "
			       "number from 0 to %.0f; restore the file from "
			       "its backup or the state bucket's versions",
			       STATE_SERIAL_MAX);
		goto out;
	}
	s->serial = v ? (long)v->valuedouble : 0;
	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(root, "resources"))
	{
		rc = read_resource(s, it, err);
		if (rc)
			goto out;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "hosts"))
	{
		rc = read_host(s, it, err);
		if (rc)
			goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "outputs");
	if (cJSON_IsObject(v)) {
		cJSON_Delete(s->outputs);
		s->outputs = cJSON_Duplicate(v, true);
	}
out:
	cJSON_Delete(root);
	return rc;
}

int state_from_text(const char *origin, const char *text, size_t len,
		    const char *topology, struct state **out, struct error *err)
{
	struct state *s = xcalloc(1, sizeof(*s));
	int rc = 0;

	*out = NULL;
	s->path = xstrdup(origin);
	s->topology = xstrdup(topology);
	s->outputs = cJSON_CreateObject();
	if (!text) {
		uuid4(s->lineage);
	} else if (strlen(text) != len) {
		rc = corrupt(err, origin, "it holds a NUL byte");
	} else {
		s->exists = true;
		rc = parse_state(s, text, topology, err);
	}
	if (rc) {
		state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

char *state_text(const struct state *s)
{
	cJSON *root = to_json(s);
	char *text = cJSON_Print(root);
	struct buf b = BUF_INIT;

	cJSON_Delete(root);
	buf_addf(&b, "%s\n", text);
	free(text);
	return buf_release(&b);
}

int state_load(const char *path, const char *topology, struct state **out,
	       struct error *err)
{
	struct state *s = xcalloc(1, sizeof(*s));
	struct buf text;
	int rc;

	*out = NULL;
	s->path = xstrdup(path);
	s->topology = xstrdup(topology);
	s->outputs = cJSON_CreateObject();
	buf_init(&text, STATE_MAX_BYTES);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		uuid4(s->lineage);
		rc = 0;
	} else if (rc == DEPLOY_ERR_TOO_BIG) {
		rc = corrupt(err, path, "larger than 64 MiB");
	} else if (rc) {
		rc = error_set(err, rc, path, 0, 0, "cannot read: %s",
			       strerror(errno));
	} else if (strlen(text.data) != text.len) {
		rc = corrupt(err, path, "it holds a NUL byte");
	} else {
		s->exists = true;
		rc = parse_state(s, text.data, topology, err);
	}
	buf_free(&text);
	if (rc) {
		state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
}

static cJSON *to_json(const struct state *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *res = cJSON_CreateArray(), *hosts = cJSON_CreateObject();

	cJSON_AddNumberToObject(root, "version", STATE_VERSION);
	cJSON_AddStringToObject(root, "lineage", s->lineage);
	cJSON_AddNumberToObject(root, "serial", (double)s->serial);
	cJSON_AddStringToObject(root, "topology", s->topology);
	for (size_t i = 0; i < s->nr_resources; i++) {
		const struct state_resource *r = &s->resources[i];
		cJSON *o = cJSON_CreateObject();

		add_str(o, "provider", r->provider);
		add_str(o, "kind", r->kind);
		add_str(o, "name", r->name);
		add_str(o, "role", r->role);
		add_str(o, "id", r->id);
		add_str(o, "key", r->key);
		cJSON_AddStringToObject(o, "status", status_names[r->status]);
		if (r->attributes)
			cJSON_AddItemToObject(
				o, "attributes",
				cJSON_Duplicate(r->attributes, true));
		cJSON_AddItemToArray(res, o);
	}
	for (size_t i = 0; i < s->nr_hosts; i++) {
		const struct state_host *h = &s->hosts[i];
		cJSON *o = cJSON_CreateObject();

		add_str(o, "address", h->address);
		add_str(o, "private_address", h->private_address);
		cJSON_AddNumberToObject(o, "port", h->port ? h->port : 22);
		add_str(o, "host_key", h->host_key);
		add_str(o, "applied_at", h->applied_at);
		add_str(o, "last_status", h->last_status);
		add_str(o, "last_message", h->last_message);
		if (h->playbooks)
			cJSON_AddItemToObject(
				o, "playbooks",
				cJSON_Duplicate(h->playbooks, true));
		if (h->artifacts)
			cJSON_AddItemToObject(
				o, "artifacts",
				cJSON_Duplicate(h->artifacts, true));
		if (h->nr_pending) {
			cJSON *p = cJSON_CreateArray();

			for (size_t j = 0; j < h->nr_pending; j++)
				cJSON_AddItemToArray(
					p, cJSON_CreateString(h->pending[j]));
			cJSON_AddItemToObject(o, "pending", p);
		}
		cJSON_AddItemToObject(hosts, h->name, o);
	}
	cJSON_AddItemToObject(root, "resources", res);
	cJSON_AddItemToObject(root, "hosts", hosts);
	cJSON_AddItemToObject(root, "outputs",
			      cJSON_Duplicate(s->outputs, true));
	return root;
}

int state_save(struct state *s, struct error *err)
{
	struct buf text = BUF_INIT, backup = BUF_INIT;
	char *dir = dir_of(s->path);
	cJSON *root;
	char *json;
	int rc;

	if (s->backend) {
		free(dir);
		return state_backend_save(s->backend, s, err);
	}
	rc = mkdir_p(dir, 0700, err);
	if (rc)
		goto out;
	s->serial++;
	root = to_json(s);
	json = cJSON_Print(root);
	cJSON_Delete(root);
	buf_adds(&text, json);
	buf_adds(&text, "\n");
	free(json);
	/* The previous copy becomes the backup; the state file is never
	 * missing, since rename() replaces it in one step. */
	buf_addf(&backup, "%s.backup", s->path);
	rc = file_replace(s->path, text.data, text.len, 0600,
			  s->exists ? backup.data : NULL, "the state", err);
	if (rc)
		s->serial--;
	else
		s->exists = true;
out:
	free(dir);
	buf_free(&text);
	buf_free(&backup);
	return rc;
}

static void free_resource(struct state_resource *r)
{
	free(r->provider);
	free(r->kind);
	free(r->name);
	free(r->role);
	free(r->id);
	free(r->key);
	cJSON_Delete(r->attributes);
}

static void free_host(struct state_host *h)
{
	free(h->name);
	free(h->address);
	free(h->private_address);
	free(h->host_key);
	free(h->applied_at);
	free(h->last_status);
	free(h->last_message);
	cJSON_Delete(h->playbooks);
	cJSON_Delete(h->artifacts);
	for (size_t i = 0; i < h->nr_pending; i++)
		free(h->pending[i]);
	free(h->pending);
}

void state_free(struct state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_resources; i++)
		free_resource(&s->resources[i]);
	for (size_t i = 0; i < s->nr_hosts; i++)
		free_host(&s->hosts[i]);
	free(s->resources);
	free(s->hosts);
	cJSON_Delete(s->outputs);
	free(s->path);
	free(s->topology);
	free(s);
}

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

struct state_resource *state_resource_find(struct state *s,
					   const char *provider,
					   const char *kind, const char *name)
{
	for (size_t i = 0; i < s->nr_resources; i++) {
		struct state_resource *r = &s->resources[i];

		if (eq(r->provider, provider) && eq(r->kind, kind) &&
		    eq(r->name, name))
			return r;
	}
	return NULL;
}

struct state_resource *
state_resource_pending(struct state *s, const char *provider, const char *kind,
		       const char *name, const char *role, const char *key)
{
	struct state_resource *r = state_resource_find(s, provider, kind, name);

	if (r)
		return r;
	XGROW(s->resources, s->alloc_resources, s->nr_resources + 1);
	r = &s->resources[s->nr_resources++];
	memset(r, 0, sizeof(*r));
	r->provider = xstrdup(provider);
	r->kind = xstrdup(kind);
	r->name = xstrdup(name);
	r->role = role ? xstrdup(role) : NULL;
	r->key = key ? xstrdup(key) : NULL;
	r->status = RESOURCE_PENDING;
	return r;
}

void state_resource_set_id(struct state_resource *r, const char *id)
{
	state_host_set(&r->id, id);
	r->status = RESOURCE_CREATED;
}

void state_resource_remove(struct state *s, struct state_resource *r)
{
	size_t i = (size_t)(r - s->resources);

	free_resource(r);
	memmove(r, r + 1, (s->nr_resources - i - 1) * sizeof(*r));
	s->nr_resources--;
}

struct state_host *state_host_get(struct state *s, const char *name,
				  bool create)
{
	struct state_host *h;

	for (size_t i = 0; i < s->nr_hosts; i++)
		if (!strcmp(s->hosts[i].name, name))
			return &s->hosts[i];
	if (!create)
		return NULL;
	XGROW(s->hosts, s->alloc_hosts, s->nr_hosts + 1);
	h = &s->hosts[s->nr_hosts++];
	memset(h, 0, sizeof(*h));
	h->name = xstrdup(name);
	h->port = 22;
	return h;
}

void state_host_remove(struct state *s, const char *name)
{
	struct state_host *h = state_host_get(s, name, false);
	size_t i;

	if (!h)
		return;
	i = (size_t)(h - s->hosts);
	free_host(h);
	memmove(h, h + 1, (s->nr_hosts - i - 1) * sizeof(*h));
	s->nr_hosts--;
}
