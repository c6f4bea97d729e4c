/* SPDX-License-Identifier: MIT */
/* The one list of providers, and the provider_*() wrappers callers use. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/s3.h"
#include "providers/provider.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const struct provider_ops *const providers[] = {
	&aws_provider,	&gcp_provider,	 &digitalocean_provider,
	&ssh_provider,	&local_provider,
#ifdef DEPLOY_TEST_PROVIDERS /* test builds only: tests/unit */
	&fake_provider, &fake2_provider,
#endif
};

#define NR_PROVIDERS (sizeof(providers) / sizeof(providers[0]))

#define DEFAULT_SSH_WAIT_S 300

static const char *names[NR_PROVIDERS + 1];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_init(void)
{
	for (size_t i = 0; i < NR_PROVIDERS; i++)
		names[i] = providers[i]->name;
}

const struct provider_ops *provider_find(const char *name)
{
	for (size_t i = 0; i < NR_PROVIDERS; i++)
		if (!strcmp(providers[i]->name, name))
			return providers[i];
	return NULL;
}

const struct provider_ops *const *provider_all(size_t *nr)
{
	*nr = NR_PROVIDERS;
	return providers;
}

const char *const *provider_names(void)
{
	pthread_once(&names_once, names_init);
	return names;
}

static bool listed(const struct provider_ops *p, int which)
{
	if (which < 0)
		return true;
	if (which > 0)
		return provider_creates_hosts(p);
	return provider_uses_existing_hosts(p);
}

char *provider_list(int which, const char *last_sep)
{
	struct buf b = BUF_INIT;
	size_t n = 0, total = 0;

	for (size_t i = 0; i < NR_PROVIDERS; i++)
		total += listed(providers[i], which);
	for (size_t i = 0; i < NR_PROVIDERS; i++) {
		if (!listed(providers[i], which))
			continue;
		if (n)
			buf_adds(&b, n + 1 == total ? last_sep : ", ");
		buf_adds(&b, providers[i]->name);
		n++;
	}
	return buf_release(&b);
}

const char *provider_name(const struct provider_ops *p)
{
	return p->name;
}

const char *provider_summary(const struct provider_ops *p)
{
	return p->summary;
}

bool provider_uses_existing_hosts(const struct provider_ops *p)
{
	return p->flags & PROVIDER_EXISTING_HOSTS;
}

const struct key_spec *provider_config_keys(const struct provider_ops *p)
{
	return p->config_keys;
}

bool provider_needs_config(const struct provider_ops *p)
{
	for (const struct key_spec *k = p->config_keys; k->name; k++)
		if (k->flags & KEY_REQUIRED)
			return true;
	return false;
}

bool provider_creates_hosts(const struct provider_ops *p)
{
	return p->hosts_up != NULL;
}

int provider_ssh_wait_ms(const struct provider_ops *p)
{
	return (p->ssh_wait_s > 0 ? p->ssh_wait_s : DEFAULT_SSH_WAIT_S) * 1000;
}

const char *provider_ssh_hint(const struct provider_ops *p)
{
	return p->ssh_hint;
}

static int not_supported(const struct provider_ops *p, const char *what,
			 struct error *err)
{
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "provider '%s' cannot %s yet", p->name, what);
}

int provider_hosts_up(struct provider_run *run, struct host *const *hosts,
		      size_t nr, struct error *err)
{
	if (!run->provider->hosts_up)
		return not_supported(run->provider, "create hosts", err);
	int rc;

	provider_lock(run);
	rc = run->provider->hosts_up(run, hosts, nr, err);
	provider_unlock(run);
	return rc;
}

int provider_exists(struct provider_run *run, const struct state_resource *r,
		    bool *exists, struct error *err)
{
	if (!run->provider->exists)
		return not_supported(run->provider, "look resources up", err);
	int rc;

	provider_lock(run);
	rc = run->provider->exists(run, r, exists, err);
	provider_unlock(run);
	return rc;
}

bool provider_destroys_hosts_at_once(const struct provider_ops *p)
{
	return p->destroy_hosts != NULL;
}

int provider_destroy_hosts(struct provider_run *run, const char *const *hosts,
			   size_t nr, struct error *err)
{
	int rc;

	if (!run->provider->destroy_hosts)
		return not_supported(run->provider, "delete hosts at once",
				     err);
	provider_lock(run);
	rc = run->provider->destroy_hosts(run, hosts, nr, err);
	provider_unlock(run);
	return rc;
}

int provider_destroy(struct provider_run *run, struct state_resource *r,
		     struct error *err)
{
	if (!run->provider->destroy)
		return not_supported(run->provider, "delete resources", err);
	int rc;

	provider_lock(run);
	rc = run->provider->destroy(run, r, err);
	provider_unlock(run);
	return rc;
}

int provider_finish_down(struct provider_run *run, struct error *err)
{
	if (!run->provider->finish_down)
		return 0;
	int rc;

	provider_lock(run);
	rc = run->provider->finish_down(run, err);
	provider_unlock(run);
	return rc;
}

int provider_list_hosts(struct provider_run *run, char ***out, size_t *nr,
			struct error *err)
{
	*out = NULL;
	*nr = 0;
	if (!run->provider->list_hosts)
		return 0;
	int rc;

	provider_lock(run);
	rc = run->provider->list_hosts(run, out, nr, err);
	provider_unlock(run);
	return rc;
}

int provider_state_store_open(const struct topology *t, struct objstore **out,
			      struct error *err)
{
	*out = NULL;
	if (t->state.s3)
		return aws_state_store_open(t, out, err);
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "the topology names no remote state");
}

int provider_import_host(struct provider_run *run, const struct host *h,
			 const char *id, struct error *err)
{
	if (!run->provider->import_host)
		return not_supported(run->provider, "import hosts", err);
	return run->provider->import_host(run, h, id, err);
}

int provider_drift(struct provider_run *run, const struct host *h,
		   const struct state_resource *r, struct buf *out,
		   struct error *err)
{
	if (!run->provider->drift)
		return 0;
	int rc;

	provider_lock(run);
	rc = run->provider->drift(run, h, r, out, err);
	provider_unlock(run);
	return rc;
}

void provider_disk_devices(const struct provider_ops *p,
			   const struct topology *t, struct state *s,
			   const struct host *h, cJSON *paths)
{
	if (p && p->disk_devices)
		p->disk_devices(t, s, h, paths);
}

int provider_sync(struct provider_run *run, struct buf *dry, struct error *err)
{
	if (!run->provider->sync)
		return 0;
	int rc;

	provider_lock(run);
	rc = run->provider->sync(run, dry, err);
	provider_unlock(run);
	return rc;
}

int provider_configure_begin(struct provider_run *run, struct error *err)
{
	if (!run->provider->configure_begin)
		return 0;
	int rc;

	provider_lock(run);
	rc = run->provider->configure_begin(run, err);
	provider_unlock(run);
	return rc;
}

void provider_release(struct provider_run *run)
{
	if (run->provider && run->provider->release)
		run->provider->release(run);
	run->priv = NULL;
	free(run->started);
	run->started = NULL;
	run->nr_started = 0;
}

void provider_unlock(struct provider_run *run)
{
	if (run->lock)
		pthread_mutex_unlock(run->lock);
}

void provider_lock(struct provider_run *run)
{
	if (run->lock)
		pthread_mutex_lock(run->lock);
}

void provider_sleep(struct provider_run *run, long ms)
{
	provider_unlock(run);
	while (ms > 0 && !(run->stop && *run->stop)) {
		long s = ms > 100 ? 100 : ms;

		usleep((useconds_t)s * 1000);
		ms -= s;
	}
	provider_lock(run);
}

void provider_host_started(struct provider_run *run, const struct host *h)
{
	for (size_t i = 0; i < run->nr_started; i++)
		if (run->started[i] == h)
			return;
	run->started = xrealloc(run->started,
				(run->nr_started + 1) * sizeof(*run->started));
	run->started[run->nr_started++] = h;
}
