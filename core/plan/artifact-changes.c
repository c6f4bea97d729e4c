/* SPDX-License-Identifier: MIT */
/* The artifact changes a plan shows per host: state against topology. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plan/artifact-changes.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* A version as the plan shows it: as written, else the digest's start. */
static void shown_version(const char *version, const char *sha256, char *out,
			  size_t size)
{
	if (version)
		snprintf(out, size, "%s", version);
	else
		snprintf(out, size, "%.12s", sha256 ? sha256 : "?");
}

static bool in_limit(const struct host *h, struct host *const *limit, size_t nr)
{
	if (!limit)
		return true;
	for (size_t i = 0; i < nr; i++)
		if (limit[i] == h)
			return true;
	return false;
}

static const char *string_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One host's changes, appended to *out. */
static void host_changes(const struct topology *t, const struct role *r,
			 const struct host *h, const struct state_host *sh,
			 struct artifact_change **out, size_t *nr,
			 size_t *alloc)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, sh->artifacts)
	{
		const struct artifact *a =
			topology_find_artifact(t, it->string);
		const char *sum = string_of(it, "sha256");
		struct artifact_change *c;

		if (!a || !sum || !strcasecmp(sum, a->sha256))
			continue;
		XGROW(*out, *alloc, *nr + 1);
		c = &(*out)[(*nr)++];
		memset(c, 0, sizeof(*c));
		c->host = h->name;
		c->role = r->name;
		c->playbook = string_of(it, "playbook");
		c->artifact = it->string;
		shown_version(string_of(it, "version"), sum, c->from,
			      sizeof(c->from));
		shown_version(a->version, a->sha256, c->to, sizeof(c->to));
		snprintf(c->from_sha256, sizeof(c->from_sha256), "%s", sum);
		snprintf(c->to_sha256, sizeof(c->to_sha256), "%s", a->sha256);
		c->restart = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(it, "restart"));
	}
}

size_t artifact_changes(const struct topology *t, const struct state *s,
			struct host *const *limit, size_t nr_limit,
			struct artifact_change **out)
{
	struct artifact_change *v = NULL;
	size_t nr = 0, alloc = 0;

	for (size_t i = 0; s && i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];

		for (size_t j = 0; j < r->nr_hosts; j++) {
			const struct host *h = &r->hosts[j];
			const struct state_host *sh = state_host_get(
				(struct state *)s, h->name, false);

			if (sh && sh->artifacts && in_limit(h, limit, nr_limit))
				host_changes(t, r, h, sh, &v, &nr, &alloc);
		}
	}
	*out = v;
	return nr;
}

void artifact_change_text(const struct artifact_change *c, struct buf *out)
{
	buf_addf(out, "~ %s: %s%s%s %s \xe2\x86\x92 %s%s", c->host,
		 c->playbook ? c->playbook : "", c->playbook ? ": " : "",
		 c->artifact, c->from, c->to, c->restart ? ", restart" : "");
}

cJSON *artifact_change_json(const struct artifact_change *c)
{
	cJSON *o = cJSON_CreateObject();
	struct buf text = BUF_INIT;

	artifact_change_text(c, &text);
	cJSON_AddStringToObject(o, "type", "artifact_change");
	cJSON_AddStringToObject(o, "host", c->host);
	cJSON_AddStringToObject(o, "role", c->role);
	if (c->playbook)
		cJSON_AddStringToObject(o, "playbook", c->playbook);
	cJSON_AddStringToObject(o, "artifact", c->artifact);
	cJSON_AddStringToObject(o, "from", c->from);
	cJSON_AddStringToObject(o, "to", c->to);
	cJSON_AddStringToObject(o, "from_sha256", c->from_sha256);
	cJSON_AddStringToObject(o, "to_sha256", c->to_sha256);
	cJSON_AddBoolToObject(o, "restart", c->restart);
	cJSON_AddStringToObject(o, "text", text.data);
	buf_free(&text);
	return o;
}
