/* SPDX-License-Identifier: MIT */
/* The digitalocean provider: its settings; it creates nothing yet. */
#include <stddef.h>

#include "providers/provider.h"

static const struct key_spec digitalocean_keys[] = {
	{ "region", &vs_string, 0, NULL, "region: fra1" },
	{ 0 },
};

const struct provider_ops digitalocean_provider = {
	.name = "digitalocean",
	.summary = "DigitalOcean: settings are checked, no hosts "
		   "are created yet",
	.config_keys = digitalocean_keys,
};
