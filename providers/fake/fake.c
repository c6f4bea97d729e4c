/* SPDX-License-Identifier: MIT */
/* The fake providers of test builds: a cloud in memory on the kit. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/fake/fake.h"
#include "providers/provider.h"
#include "providers/resource.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define RENDEZVOUS_MS 5000

struct thing {
	char *provider;
	char *topology;
	char *kind;
	char *name;
	char *id;
	char *key;
	bool live;
};

/* One world for both fakes; they may run in two threads. */
static pthread_mutex_t world_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thing *things;
static size_t nr_things, alloc_things, next_id;
static struct buf log_text = BUF_INIT;
static unsigned steps, fail_step;
static enum fake_mode fail_mode;
static bool crashed, rendezvous, met;
static int inside, host_port;
static char host_address[64];

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&world_lock);
	va_start(ap, fmt);
	buf_vaddf(&log_text, fmt, ap);
	va_end(ap);
	buf_adds(&log_text, "\n");
	pthread_mutex_unlock(&world_lock);
}

void fake_reset(void)
{
	pthread_mutex_lock(&world_lock);
	for (size_t i = 0; i < nr_things; i++) {
		free(things[i].provider);
		free(things[i].topology);
		free(things[i].kind);
		free(things[i].name);
		free(things[i].id);
		free(things[i].key);
	}
	free(things);
	things = NULL;
	nr_things = alloc_things = next_id = 0;
	buf_free(&log_text);
	steps = fail_step = 0;
	crashed = rendezvous = met = false;
	inside = host_port = 0;
	host_address[0] = '\0';
	pthread_mutex_unlock(&world_lock);
}

void fake_fail_at(unsigned step, enum fake_mode mode)
{
	pthread_mutex_lock(&world_lock);
	fail_step = steps + step;
	fail_mode = mode;
	crashed = false;
	pthread_mutex_unlock(&world_lock);
}

int fake_step(const char *what, struct error *err)
{
	int rc = 0;
	unsigned n;

	pthread_mutex_lock(&world_lock);
	n = ++steps;
	if (crashed) {
		rc = DEPLOY_ERR_INTERRUPTED;
	} else if (n == fail_step) {
		rc = fail_mode == FAKE_CRASH ? DEPLOY_ERR_INTERRUPTED
					     : DEPLOY_ERR_IO;
		crashed = fail_mode == FAKE_CRASH;
	}
	buf_addf(&log_text, "step %u %s%s\n", n, what,
		 rc ? (crashed ? " (crash)" : " (fails)") : "");
	pthread_mutex_unlock(&world_lock);
	if (rc)
		return error_set(err, rc, NULL, 0, 0, "fake: %s %s", what,
				 crashed ? "crashed" : "failed");
	return 0;
}

unsigned fake_steps(void)
{
	return steps;
}

bool fake_crashed(void)
{
	return crashed;
}

const char *fake_log(void)
{
	return log_text.data ? log_text.data : "";
}

void fake_log_clear(void)
{
	pthread_mutex_lock(&world_lock);
	buf_free(&log_text);
	pthread_mutex_unlock(&world_lock);
}

/* The live thing matching (NULL fields match anything); world_lock held. */
static struct thing *lookup(const char *provider, const char *topology,
			    const char *kind, const char *name, const char *id,
			    const char *key)
{
	for (size_t i = 0; i < nr_things; i++) {
		struct thing *t = &things[i];

		if (!t->live || (provider && strcmp(t->provider, provider)) ||
		    (topology && strcmp(t->topology, topology)) ||
		    (kind && strcmp(t->kind, kind)) ||
		    (name && strcmp(t->name, name)) ||
		    (id && strcmp(t->id, id)) ||
		    (key && (!t->key || strcmp(t->key, key))))
			continue;
		return t;
	}
	return NULL;
}

static char *make(const char *provider, const char *topology, const char *kind,
		  const char *name, const char *key)
{
	struct thing *t;
	char id[32];

	pthread_mutex_lock(&world_lock);
	XGROW(things, alloc_things, nr_things + 1);
	t = &things[nr_things++];
	snprintf(id, sizeof(id), "%s-%zu", kind, ++next_id);
	t->provider = xstrdup(provider);
	t->topology = xstrdup(topology);
	t->kind = xstrdup(kind);
	t->name = xstrdup(name);
	t->id = xstrdup(id);
	t->key = key ? xstrdup(key) : NULL;
	t->live = true;
	pthread_mutex_unlock(&world_lock);
	return xstrdup(id);
}

size_t fake_count(const char *provider, const char *kind)
{
	size_t n = 0;

	pthread_mutex_lock(&world_lock);
	for (size_t i = 0; i < nr_things; i++)
		n += things[i].live &&
		     (!provider || !strcmp(things[i].provider, provider)) &&
		     !strcmp(things[i].kind, kind);
	pthread_mutex_unlock(&world_lock);
	return n;
}

const char *fake_id_of(const char *provider, const char *kind, const char *name)
{
	struct thing *t;

	pthread_mutex_lock(&world_lock);
	t = lookup(provider, NULL, kind, name, NULL, NULL);
	pthread_mutex_unlock(&world_lock);
	return t ? t->id : NULL;
}

void fake_delete(const char *provider, const char *kind, const char *name)
{
	struct thing *t;

	pthread_mutex_lock(&world_lock);
	t = lookup(provider, NULL, kind, name, NULL, NULL);
	if (t)
		t->live = false;
	pthread_mutex_unlock(&world_lock);
}

void fake_make(const char *provider, const char *topology, const char *kind,
	       const char *name)
{
	free(make(provider, topology, kind, name, NULL));
}

void fake_address(const char *address, int port)
{
	snprintf(host_address, sizeof(host_address), "%s", address);
	host_port = port;
}

void fake_rendezvous(bool on)
{
	rendezvous = on;
	met = false;
}

bool fake_met(void)
{
	return met;
}

/* The hooks ------------------------------------------------------------ */

static const char *pname(const struct provider_run *run)
{
	return provider_name(run->provider);
}

/* step "PROVIDER WHAT KIND NAME", logged. */
static int step(struct provider_run *run, const char *what,
		const struct resource_ref *ref, struct error *err)
{
	struct buf b = BUF_INIT;
	int rc;

	buf_addf(&b, "%s %s %s %s", pname(run), what, ref->kind, ref->name);
	rc = fake_step(b.data, err);
	buf_free(&b);
	return rc;
}

static int find_by_id(struct provider_run *run, const struct resource_ref *ref,
		      bool *exists, struct error *err)
{
	int rc = step(run, "find_by_id", ref, err);

	pthread_mutex_lock(&world_lock);
	*exists =
		!rc && lookup(pname(run), NULL, ref->kind, NULL, ref->id, NULL);
	pthread_mutex_unlock(&world_lock);
	return rc;
}

static int find_by(struct provider_run *run, const struct resource_ref *ref,
		   bool by_key, char **id, struct error *err)
{
	struct thing *t;
	int rc = step(run, by_key ? "find_by_key" : "find_by_tags", ref, err);

	*id = NULL;
	if (rc)
		return rc;
	pthread_mutex_lock(&world_lock);
	t = by_key ? lookup(pname(run), NULL, ref->kind, NULL, NULL, ref->key)
		   : lookup(pname(run), run->t->name, ref->kind, ref->name,
			    NULL, NULL);
	*id = t ? xstrdup(t->id) : NULL;
	pthread_mutex_unlock(&world_lock);
	return 0;
}

static int find_by_key(struct provider_run *run, const struct resource_ref *ref,
		       char **id, struct error *err)
{
	return find_by(run, ref, true, id, err);
}

static int find_by_tags(struct provider_run *run,
			const struct resource_ref *ref, char **id,
			struct error *err)
{
	return find_by(run, ref, false, id, err);
}

/* Two steps: "create" fails before anything is made, "created" after it
 * was made but before its id is answered (a crash then leaves it made
 * and unrecorded but for the pending record). */
static int create(struct provider_run *run, const struct resource_ref *ref,
		  char **id, struct error *err)
{
	char *made;
	int rc = step(run, "create", ref, err);

	if (rc)
		return rc;
	made = make(pname(run), run->t->name, ref->kind, ref->name, ref->key);
	rc = step(run, "created", ref, err);
	if (rc) {
		free(made);
		return rc;
	}
	*id = made;
	return 0;
}

static int adopted(struct provider_run *run, const struct resource_ref *ref,
		   const char *id, struct error *err)
{
	(void)id;
	return step(run, "adopted", ref, err);
}

static const struct resource_kind fake_network = {
	.kind = "network",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = find_by_id,
	.find_by_tags = find_by_tags,
	.create = create,
	.adopted = adopted,
};

static const struct resource_kind fake_host = {
	.kind = "host",
	.flags = RESOURCE_NEW_KEY,
	.find_by_key = find_by_key,
	.find_by_tags = find_by_tags,
	.create = create,
};

/* The operations ------------------------------------------------------- */

static void meet(struct provider_run *run)
{
	long long deadline = now_ms() + RENDEZVOUS_MS;

	pthread_mutex_lock(&world_lock);
	inside++;
	pthread_mutex_unlock(&world_lock);
	while (now_ms() < deadline) {
		bool both;

		pthread_mutex_lock(&world_lock);
		both = inside >= 2;
		pthread_mutex_unlock(&world_lock);
		if (both) {
			met = true;
			break;
		}
		provider_sleep(run, 10);
	}
}

static int fake_hosts_up(struct provider_run *run, struct host *const *hosts,
			 size_t nr, struct error *err)
{
	struct buf names = BUF_INIT;
	char *net = NULL;
	int rc;

	for (size_t i = 0; i < nr; i++)
		buf_addf(&names, "%s%s", i ? "," : "", hosts[i]->name);
	logf_("%s hosts_up %s", pname(run), names.data);
	buf_free(&names);
	if (rendezvous)
		meet(run);
	rc = resource_ensure(run, &fake_network, "net", NULL, NULL, &net, NULL,
			     err);
	free(net);
	for (size_t i = 0; !rc && i < nr; i++) {
		struct state_host *sh;
		char *id = NULL, addr[32];

		rc = resource_ensure(run, &fake_host, hosts[i]->name,
				     hosts[i]->role->name, NULL, &id, NULL,
				     err);
		if (rc)
			break;
		snprintf(addr, sizeof(addr), "192.0.2.%zu", i + 1);
		sh = state_host_get(run->state, hosts[i]->name, true);
		state_host_set(&sh->address,
			       host_address[0] ? host_address : addr);
		sh->port = host_port ? host_port : 22;
		free(id);
	}
	if (rendezvous) {
		pthread_mutex_lock(&world_lock);
		inside--;
		pthread_mutex_unlock(&world_lock);
	}
	return rc;
}

static int fake_exists(struct provider_run *run, const struct state_resource *r,
		       bool *exists, struct error *err)
{
	const struct resource_ref ref = { r->kind, r->name, r->role,
					  r->key,  r->id,   NULL };

	return find_by_id(run, &ref, exists, err);
}

/* Delete the recorded kind/name, by the protocol's delete side. */
static int delete (struct provider_run *run, const char *kind, const char *name,
		   struct error *err)
{
	struct resource_ref ref = { kind, name, NULL, NULL, NULL, NULL };
	char *copy = xstrdup(name);
	int rc;

	ref.name = copy;
	logf_("%s destroy %s %s", pname(run), kind, copy);
	rc = resource_deleting(run, kind, copy, err);
	if (!rc)
		rc = step(run, "delete", &ref, err);
	if (!rc) {
		pthread_mutex_lock(&world_lock);
		for (size_t i = 0; i < nr_things; i++)
			if (!strcmp(things[i].provider, pname(run)) &&
			    !strcmp(things[i].kind, kind) &&
			    !strcmp(things[i].name, copy))
				things[i].live = false;
		pthread_mutex_unlock(&world_lock);
		rc = resource_forget(run, kind, copy, err);
	}
	free(copy);
	return rc;
}

static int fake_destroy(struct provider_run *run, struct state_resource *r,
			struct error *err)
{
	return delete (run, r->kind, r->name, err);
}

static int fake_finish_down(struct provider_run *run, struct error *err)
{
	logf_("%s finish_down", pname(run));
	if (!state_resource_find(run->state, pname(run), "network", "net"))
		return 0;
	return delete (run, "network", "net", err);
}

static int fake_list(struct provider_run *run, char ***names, size_t *nr,
		     struct error *err)
{
	size_t alloc = 0;

	(void)err;
	pthread_mutex_lock(&world_lock);
	for (size_t i = 0; i < nr_things; i++) {
		const struct thing *t = &things[i];

		if (!t->live || strcmp(t->provider, pname(run)) ||
		    strcmp(t->topology, run->t->name) ||
		    strcmp(t->kind, "host"))
			continue;
		XGROW(*names, alloc, *nr + 1);
		(*names)[(*nr)++] = xstrdup(t->name);
	}
	pthread_mutex_unlock(&world_lock);
	return 0;
}

static const struct key_spec fake_keys[] = {
	{ 0 },
};

const struct provider_ops fake_provider = {
	.name = "fake",
	.summary = "an in-memory cloud, for tests (test builds only)",
	.config_keys = fake_keys,
	.ssh_wait_s = 1,
	.hosts_up = fake_hosts_up,
	.exists = fake_exists,
	.destroy = fake_destroy,
	.finish_down = fake_finish_down,
	.list_hosts = fake_list,
};

const struct provider_ops fake2_provider = {
	.name = "fake2",
	.summary = "a second in-memory cloud, for tests (test builds only)",
	.config_keys = fake_keys,
	.ssh_wait_s = 1,
	.hosts_up = fake_hosts_up,
	.exists = fake_exists,
	.destroy = fake_destroy,
	.finish_down = fake_finish_down,
	.list_hosts = fake_list,
};
