/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_RULES_H
#define DEPLOY_RULES_H

#include "providers/provider.h"

/*
 * What a role's firewall should let in, walked once for every provider:
 * SSH (port 22) from the role's via role or else from ssh.admin_cidrs, then
 * the role's firewall: rules in order. Each source is handed to the sink:
 * a CIDR to cidr() (world is "0.0.0.0/0" then "::/0"), a role to role().
 * A provider keeps its own rule list and decides there what it can hold.
 */
struct rule_sink {
	void (*cidr)(const struct rule_sink *s, const char *proto, int lo,
		     int hi, const char *cidr);
	void (*role)(const struct rule_sink *s, const struct role *src,
		     const char *proto, int lo, int hi);
	void *arg; /* the provider's own */
};

void rules_wanted(const struct provider_run *run, const struct role *role,
		  const struct rule_sink *s);

/* The addresses recorded for src's hosts (in the topology, else in the
 * state), each as a one-address CIDR (/32 or /128) handed to s->cidr(). */
void rules_role_addresses(const struct provider_run *run,
			  const struct role *src, const char *proto, int lo,
			  int hi, const struct rule_sink *s);

#endif
