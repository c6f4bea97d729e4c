/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "providers/provider.h"

static const struct key_spec gcp_keys[] = {
	{ "project", &vs_string, KEY_REQUIRED, NULL, "project: my-project" },
	{ "credentials", &vs_string, 0, "GOOGLE_APPLICATION_CREDENTIALS",
	  NULL },
	{ "region", &vs_string, 0, NULL, "region: europe-west1" },
	{ "zone", &vs_string, 0, NULL, "zone: europe-west1-b" },
	{ 0 },
};

const struct provider_ops gcp_provider = {
	.name = "gcp",
	.summary = "Google Compute Engine instances, networks and firewalls",
	.config_keys = gcp_keys,
};
