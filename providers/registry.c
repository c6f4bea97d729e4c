/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "providers/provider.h"
#include "util/banned.h"

static const struct provider_ops *const providers[] = {
	&aws_provider, &gcp_provider,	&digitalocean_provider,
	&ssh_provider, &local_provider,
};

#define NR_PROVIDERS (sizeof(providers) / sizeof(providers[0]))

static const char *const names[NR_PROVIDERS + 1] = {
	"aws", "gcp", "digitalocean", "ssh", "local", NULL,
};

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
	return names;
}

const char *provider_name(const struct provider_ops *p)
{
	return p->name;
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
	return run->provider->hosts_up(run, hosts, nr, err);
}

int provider_exists(struct provider_run *run, const struct state_resource *r,
		    bool *exists, struct error *err)
{
	if (!run->provider->exists)
		return not_supported(run->provider, "look resources up", err);
	return run->provider->exists(run, r, exists, err);
}

int provider_destroy(struct provider_run *run, struct state_resource *r,
		     struct error *err)
{
	if (!run->provider->destroy)
		return not_supported(run->provider, "delete resources", err);
	return run->provider->destroy(run, r, err);
}

int provider_finish_down(struct provider_run *run, struct error *err)
{
	if (!run->provider->finish_down)
		return 0;
	return run->provider->finish_down(run, err);
}

int provider_list_hosts(struct provider_run *run, char ***out, size_t *nr,
			struct error *err)
{
	*out = NULL;
	*nr = 0;
	if (!run->provider->list_hosts)
		return 0;
	return run->provider->list_hosts(run, out, nr, err);
}

int provider_import_host(struct provider_run *run, const struct host *h,
			 const char *id, struct error *err)
{
	if (!run->provider->import_host)
		return not_supported(run->provider, "import hosts", err);
	return run->provider->import_host(run, h, id, err);
}

int provider_sync(struct provider_run *run, struct buf *dry, struct error *err)
{
	if (!run->provider->sync)
		return 0;
	return run->provider->sync(run, dry, err);
}

void provider_release(struct provider_run *run)
{
	if (run->provider && run->provider->release)
		run->provider->release(run);
	run->priv = NULL;
}
