/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "providers/provider.h"

static const struct key_spec local_keys[] = {
	{ "subnet", &vs_cidr, 0, "10.231.0.0/24", "subnet: 10.231.0.0/24" },
	{ "apt_proxy", &vs_url, 0, NULL, "apt_proxy: http://10.231.0.1:8888" },
	{ 0 },
};

const struct provider_ops local_provider = {
	.name = "local",
	.summary = "Debian systemd-nspawn hosts on this machine, for rehearsal",
	.config_keys = local_keys,
};
