/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_PROVIDER_H
#define DEPLOY_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/schema.h"

/*
 * A provider is a const ops table listed in providers/registry.c, the only
 * place that names them all. Callers use the provider_*() wrappers below,
 * never p->ops members directly and never a switch on a provider's name.
 *
 * Members marked MUST are set by every provider; MAY ones may be NULL/0.
 * The operations that create, read and delete resources join this table
 * with the issues that bring them (state, local, AWS, GCP, DigitalOcean).
 */

/* The provider takes existing hosts listed in the role (bare metal over SSH)
 * instead of creating them: a role lists `hosts`, and count, size, image,
 * region, zone, disk and static_ip do not apply. */
#define PROVIDER_EXISTING_HOSTS 0x1

struct provider_ops {
	const char *name;		    /* MUST: as written in topologies */
	const char *summary;		    /* MUST: one line for help */
	unsigned flags;			    /* MAY: PROVIDER_* */
	const struct key_spec *config_keys; /* MUST: keys of providers.NAME,
					       ended by a { NULL } entry */
};

const struct provider_ops *provider_find(const char *name);
/* The registered providers, in registry order; *nr is set to their number. */
const struct provider_ops *const *provider_all(size_t *nr);
/* NULL-terminated list of names, for "did you mean" and messages. */
const char *const *provider_names(void);

const char *provider_name(const struct provider_ops *p);
bool provider_uses_existing_hosts(const struct provider_ops *p);
const struct key_spec *provider_config_keys(const struct provider_ops *p);
/* Whether providers.NAME must be written (a key of it is required). */
bool provider_needs_config(const struct provider_ops *p);

extern const struct provider_ops aws_provider;
extern const struct provider_ops digitalocean_provider;
extern const struct provider_ops gcp_provider;
extern const struct provider_ops local_provider;
extern const struct provider_ops ssh_provider;

#endif
