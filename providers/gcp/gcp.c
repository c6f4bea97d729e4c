/* SPDX-License-Identifier: MIT */
/* The gcp provider: its settings; it creates nothing yet. */
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
	.summary = "Google Compute Engine: settings are checked, "
		   "no hosts are created yet",
	.config_keys = gcp_keys,
};
