/* SPDX-License-Identifier: MIT */
/* The sources a role's firewall lets in, walked once for every provider. */
#include "providers/rules.h"

#include <stdio.h>
#include <string.h>

#include "util/strutil.h"
#include "util/banned.h"

void rules_role_addresses(const struct provider_run *run,
			  const struct role *src, const char *proto, int lo,
			  int hi, const struct rule_sink *s)
{
	for (size_t i = 0; i < src->nr_hosts; i++) {
		const char *addr = src->hosts[i].address;
		char cidr[80];

		for (size_t k = 0; !addr && k < run->state->nr_hosts; k++)
			if (!strcmp(run->state->hosts[k].name,
				    src->hosts[i].name))
				addr = run->state->hosts[k].address;
		if (!addr || !is_ip_address(addr))
			continue;
		snprintf(cidr, sizeof(cidr), "%s/%s", addr,
			 strchr(addr, ':') ? "128" : "32");
		s->cidr(s, proto, lo, hi, cidr);
	}
}

void rules_wanted(const struct provider_run *run, const struct role *role,
		  const struct rule_sink *s)
{
	const struct ssh_conf *ssh = &run->t->ssh;
	char cidr[80];

	/* SSH: from the bastion role for roles behind one, else from
	 * admin_cidrs (allow_world_ssh only permits a /0 there). */
	if (role->via.role) {
		s->role(s, role->via.role, "tcp", 22, 22);
	} else {
		for (size_t i = 0; i < ssh->nr_admin_cidrs; i++) {
			cidr_format_network(&ssh->admin_cidrs[i], cidr,
					    sizeof(cidr));
			s->cidr(s, "tcp", 22, 22, cidr);
		}
	}
	for (size_t i = 0; i < role->nr_firewall; i++) {
		const struct fw_rule *fw = &role->firewall[i];
		const char *proto = fw->proto == FW_UDP ? "udp" : "tcp";
		int lo = fw->port_lo, hi = fw->port_hi;

		for (size_t k = 0; k < fw->nr_from; k++) {
			const struct fw_source *f = &fw->from[k];

			switch (f->kind) {
			case FW_FROM_WORLD:
				s->cidr(s, proto, lo, hi, "0.0.0.0/0");
				s->cidr(s, proto, lo, hi, "::/0");
				break;
			case FW_FROM_CIDR:
				cidr_format_network(&f->cidr, cidr,
						    sizeof(cidr));
				s->cidr(s, proto, lo, hi, cidr);
				break;
			case FW_FROM_ROLE:
				if (f->role)
					s->role(s, f->role, proto, lo, hi);
				break;
			}
		}
	}
}
