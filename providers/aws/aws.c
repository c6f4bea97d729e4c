/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "providers/provider.h"

static const struct key_spec aws_keys[] = {
	{ "region", &vs_string, 0, "AWS_REGION, then the profile's",
	  "region: us-east-1" },
	{ "profile", &vs_string, 0, "AWS_PROFILE, then default", NULL },
	{ "endpoint", &vs_url, 0, "AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL",
	  NULL },
	{ 0 },
};

const struct provider_ops aws_provider = {
	.name = "aws",
	.summary = "Amazon EC2 instances, VPC and security groups",
	.config_keys = aws_keys,
};
