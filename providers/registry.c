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
