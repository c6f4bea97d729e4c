/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CLI_EXAMPLES_H
#define DEPLOY_CLI_EXAMPLES_H

/* The example topologies, embedded at build time (embed-examples.py). */
struct example {
	const char *name; /* what --example takes: "local", "aws" ... */
	const char *file; /* "examples/local.yml" */
	const char *text;
};

/* Both end with a NULL entry; example_names is --example's choices. */
extern const struct example examples[];
extern const char *const example_names[];

#endif
