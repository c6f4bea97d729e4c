/* SPDX-License-Identifier: MIT */
/* The ssh provider: existing hosts listed in the topology or inventory. */
#include <stddef.h>

#include "providers/provider.h"

static const struct key_spec ssh_keys[] = {
	{ 0 },
};

const struct provider_ops ssh_provider = {
	.name = "ssh",
	.summary = "existing hosts (bare metal) reached over SSH",
	.flags = PROVIDER_EXISTING_HOSTS,
	.config_keys = ssh_keys,
};
