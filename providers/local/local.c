/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "providers/local/nspawn.h"
#include "providers/provider.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DEFAULT_SUBNET	"10.231.0.0/24"
#define BOOT_TIMEOUT_MS 60000

static const struct key_spec local_keys[] = {
	{ "subnet", &vs_cidr, 0, DEFAULT_SUBNET, "subnet: 10.231.0.0/24" },
	{ "apt_proxy", &vs_url, 0, NULL, "apt_proxy: http://10.231.0.1:8888" },
	{ 0 },
};

static void net_of(const struct provider_run *run, struct local_net *net)
{
	const struct ynode *subnet = ynode_get(run->config, "subnet");
	const struct ynode *proxy = ynode_get(run->config, "apt_proxy");

	net->topology = run->t->name;
	net->subnet = ynode_is_string(subnet) ? subnet->value : DEFAULT_SUBNET;
	net->apt_proxy = ynode_is_string(proxy) ? proxy->value : NULL;
}

/* A host keeps its address for its life: the slot is in its attributes. */
static int slot_of(const struct state_resource *r)
{
	const cJSON *s =
		cJSON_GetObjectItemCaseSensitive(r->attributes, "slot");

	return cJSON_IsNumber(s) ? s->valueint : -1;
}

static int free_slot(const struct state *s)
{
	for (int slot = 0;; slot++) {
		bool used = false;

		for (size_t i = 0; !used && i < s->nr_resources; i++)
			used = !strcmp(s->resources[i].provider, "local") &&
			       slot_of(&s->resources[i]) == slot;
		if (!used)
			return slot;
	}
}

static char *resource_key(const struct provider_run *run, const char *host)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s", run->t->name, host);
	return buf_release(&b);
}

static int up_one(struct provider_run *run, const struct local_net *net,
		  const char *base, struct host *h, struct local_host *lh,
		  struct error *err)
{
	char *key = resource_key(run, h->name);
	struct state_resource *r;
	struct state_host *sh;
	int rc;

	r = state_resource_pending(run->state, "local", "host", h->name,
				   h->role->name, key);
	free(key);
	if (slot_of(r) < 0) {
		if (!r->attributes)
			r->attributes = cJSON_CreateObject();
		cJSON_AddNumberToObject(r->attributes, "slot",
					free_slot(run->state));
	}
	/* Recorded before it is made: a crash from here on is adopted. */
	rc = run->save(run, err);
	if (rc)
		return rc;
	lh->name = h->name;
	lh->slot = slot_of(r);
	lh->authorized_keys = run->authorized_keys;
	rc = local_host_up(net, base, lh, err);
	if (rc)
		return rc;
	sh = state_host_get(run->state, h->name, true);
	state_host_set(&sh->address, lh->address);
	state_host_set(&sh->private_address, lh->address);
	state_host_set(&sh->host_key, lh->host_key);
	sh->port = 22;
	state_resource_set_id(r, r->key);
	return run->save(run, err);
}

static int local_hosts_up(struct provider_run *run, struct host *const *hosts,
			  size_t nr, struct error *err)
{
	struct local_host *lh = xcalloc(nr + 1, sizeof(*lh));
	struct local_net net;
	char *base = NULL;
	int rc;

	net_of(run, &net);
	rc = local_check_root(err);
	/* The bridge first: apt_proxy is usually on its address, and the
	 * base image is fetched through it. */
	if (!rc)
		rc = local_net_up(&net, err);
	if (!rc)
		rc = local_base_image(&net, &base, err);
	for (size_t i = 0; !rc && i < nr; i++)
		rc = up_one(run, &net, base, hosts[i], &lh[i], err);
	if (!rc)
		rc = local_wait_ssh(lh, nr, BOOT_TIMEOUT_MS, err);
	free(base);
	free(lh);
	return rc;
}

static int local_exists(struct provider_run *run,
			const struct state_resource *r, bool *exists,
			struct error *err)
{
	struct local_net net;

	(void)err;
	net_of(run, &net);
	*exists = local_host_running(&net, r->name);
	return 0;
}

static int local_destroy(struct provider_run *run, struct state_resource *r,
			 struct error *err)
{
	struct local_net net;
	char *name;
	int rc;

	net_of(run, &net);
	rc = local_check_root(err);
	if (rc)
		return rc;
	r->status = RESOURCE_DELETING;
	rc = run->save(run, err);
	if (rc)
		return rc;
	name = xstrdup(r->name);
	rc = local_host_down(&net, name, err);
	if (!rc) {
		state_resource_remove(run->state, r);
		state_host_remove(run->state, name);
		rc = run->save(run, err);
	}
	free(name);
	return rc;
}

static int local_finish_down(struct provider_run *run, struct error *err)
{
	struct local_net net;

	net_of(run, &net);
	return local_net_down(&net, err);
}

static int local_list(struct provider_run *run, char ***names, size_t *nr,
		      struct error *err)
{
	struct local_net net;

	net_of(run, &net);
	return local_list_hosts(&net, names, nr, err);
}

const struct provider_ops local_provider = {
	.name = "local",
	.summary = "Debian systemd-nspawn hosts on this machine, for rehearsal",
	.config_keys = local_keys,
	.hosts_up = local_hosts_up,
	.exists = local_exists,
	.destroy = local_destroy,
	.finish_down = local_finish_down,
	.list_hosts = local_list,
};
