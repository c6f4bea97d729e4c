/* SPDX-License-Identifier: MIT */
/* The topology's hosts as SSH targets of one engine. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/provider.h"
#include "ssh/fleet.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct ssh_fleet {
	struct ssh_engine *e;
	const struct topology *t;
	struct state *state;
	struct ssh_host ***by_role; /* [role][host], NULL until added */
};

struct ssh_fleet *ssh_fleet_new(struct ssh_engine *e, const struct topology *t,
				struct state *s)
{
	struct ssh_fleet *f = xcalloc(1, sizeof(*f));

	f->e = e;
	f->t = t;
	f->state = s;
	f->by_role = xcalloc(t->nr_roles + 1, sizeof(*f->by_role));
	for (size_t i = 0; i < t->nr_roles; i++)
		f->by_role[i] =
			xcalloc(t->roles[i].nr_hosts + 1, sizeof(**f->by_role));
	return f;
}

void ssh_fleet_free(struct ssh_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->t->nr_roles; i++)
		free(f->by_role[i]);
	free(f->by_role);
	free(f);
}

unsigned ssh_fleet_count_bastions(const struct topology *t)
{
	unsigned n = 0;

	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];
		bool used = false;

		for (size_t j = 0; j < t->nr_roles && !used; j++)
			used = t->roles[j].via.role == r;
		n += used && r->nr_hosts;
	}
	return n;
}

static int add(struct ssh_fleet *f, const struct host *h,
	       const struct host *for_host, struct ssh_host **out,
	       struct error *err)
{
	const struct role *r = h->role;
	size_t ri = (size_t)(r - f->t->roles);
	struct ssh_host *via = NULL;
	struct state_host *sh = NULL;
	struct ssh_target target;
	char *key = NULL;
	int rc;

	if (f->by_role[ri][h->index]) {
		*out = f->by_role[ri][h->index];
		return 0;
	}
	if (!h->address) {
		if (for_host)
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "bastion '%s' of host '%s' has no "
					 "address yet (provider '%s'): run "
					 "'deploy up' first",
					 h->name, for_host->name,
					 provider_name(r->provider));
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "host '%s' has no address yet (provider "
				 "'%s'): run 'deploy up' first",
				 h->name, provider_name(r->provider));
	}
	if (r->via.role && r->via.role->nr_hosts) {
		rc = add(f, &r->via.role->hosts[0], for_host ? for_host : h,
			 &via, err);
		if (rc)
			return rc;
	}
	if (h->key)
		key = path_expand(h->key, f->t->dir);
	memset(&target, 0, sizeof(target));
	target.name = h->name;
	target.address = h->address;
	target.port = h->port;
	target.user = h->user;
	target.key = key;
	target.via = via;
	if (f->state)
		sh = state_host_get(f->state, h->name, false);
	target.pinned_key =
		sh && sh->host_key && *sh->host_key ? sh->host_key : NULL;
	/* A host deploy made is reached where the state says. */
	if (sh && sh->port > 0 && !provider_uses_existing_hosts(r->provider))
		target.port = sh->port;
	rc = ssh_engine_add_host(f->e, &target, out, err);
	free(key);
	if (!rc)
		f->by_role[ri][h->index] = *out;
	return rc;
}

int ssh_fleet_host(struct ssh_fleet *f, const struct host *h,
		   struct ssh_host **out, struct error *err)
{
	*out = NULL;
	return add(f, h, NULL, out, err);
}
