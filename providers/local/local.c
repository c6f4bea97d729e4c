/* SPDX-License-Identifier: MIT */
/* The local provider: its ops table on the nspawn hosts of nspawn.c. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "providers/local/nspawn.h"
#include "providers/local/proxy.h"
#include "providers/provider.h"
#include "providers/resource.h"
#include "util/buf.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DEFAULT_SUBNET "10.231.0.0/24"
#define BOOT_TIMEOUT_S 60

/* The hosts deploy's apt proxy forwards to by default: those the base
 * image's apt sources name (and its mirror's, local_mirror_host()). */
static const char *const default_allow[] = { "deb.debian.org",
					     "security.debian.org" };

/* apt_proxy: a URL, or none (no proxy at all). */
static void check_apt_proxy(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	if (strcmp(n->value, "none"))
		check_url(v, n, what);
}

static void check_host_name(struct vctx *v, const struct ynode *n,
			    const char *what)
{
	if (!is_dns_name(n->value))
		verror(v, n, "%s '%s' is not a host name", what, n->value);
}

static const struct vspec vs_apt_proxy = { .type = VT_STRING,
					   .check = check_apt_proxy };
static const struct vspec vs_host_name = { .type = VT_STRING,
					   .check = check_host_name };
static const struct vspec vs_allow = { .type = VT_SEQ, .items = &vs_host_name };

static const struct key_spec local_keys[] = {
	{ "subnet", &vs_cidr, 0, DEFAULT_SUBNET, "subnet: 10.231.0.0/24" },
	{ "apt_proxy", &vs_apt_proxy, 0, "deploy's own, on the bridge",
	  "apt_proxy: http://10.231.0.1:8888" },
	{ "apt_proxy_allow", &vs_allow, 0,
	  "[deb.debian.org, security.debian.org]",
	  "apt_proxy_allow: [deb.debian.org, security.debian.org]" },
	{ 0 },
};

static void net_of(const struct provider_run *run, struct local_net *net)
{
	const struct ynode *subnet = ynode_get(run->config, "subnet");
	const struct ynode *proxy = ynode_get(run->config, "apt_proxy");
	bool set = ynode_is_string(proxy);

	net->topology = run->t->name;
	net->subnet = ynode_is_string(subnet) ? subnet->value : DEFAULT_SUBNET;
	net->apt_proxy =
		set && strcmp(proxy->value, "none") ? proxy->value : NULL;
	net->own_proxy = !set;
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

static char *new_key(struct provider_run *run, const struct resource_ref *ref)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s", run->t->name, ref->name);
	return buf_release(&b);
}

static void attributes(struct provider_run *run, const struct resource_ref *ref,
		       struct state_resource *res)
{
	(void)ref;
	if (slot_of(res) >= 0)
		return;
	if (!res->attributes)
		res->attributes = cJSON_CreateObject();
	cJSON_AddNumberToObject(res->attributes, "slot", free_slot(run->state));
}

struct up_arg {
	const struct local_net *net;
	const char *base;
	struct host *host;
};

/*
 * The host's data disk in its record: the loop device it is on now (for
 * the operator; down finds the loop devices by the backing file, which
 * lives in the host's directory, so a run killed before this is written
 * leaves nothing down cannot find).
 */
static void record_disk(struct provider_run *run, const char *host,
			const char *loop)
{
	struct state_resource *r =
		state_resource_find(run->state, "local", "host", host);

	if (!r)
		return;
	if (!r->attributes)
		r->attributes = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(r->attributes, "disk_loop");
	if (loop[0])
		cJSON_AddStringToObject(r->attributes, "disk_loop", loop);
}

/* Boot the host (idempotent: one running already is read back) and
 * record its address and key; its id is TOPOLOGY/HOST. */
static int create_host(struct provider_run *run, const struct resource_ref *ref,
		       char **id, struct error *err)
{
	const struct up_arg *a = ref->arg;
	struct local_host lh = { 0 };
	struct state_host *sh;
	int rc;

	lh.name = a->host->name;
	lh.slot = slot_of(
		state_resource_find(run->state, "local", "host", ref->name));
	lh.authorized_keys = run->authorized_keys;
	lh.docker = role_runs_playbook(a->host->role, "docker");
	lh.disk_gib = a->host->role->disk_size;
	provider_unlock(run); /* booting takes a while: others go on */
	rc = local_host_up(a->net, a->base, &lh, err);
	provider_lock(run);
	if (rc)
		return rc;
	record_disk(run, a->host->name, lh.disk_loop);
	sh = state_host_get(run->state, a->host->name, true);
	state_host_set(&sh->address, lh.address);
	state_host_set(&sh->private_address, lh.address);
	state_host_set(&sh->host_key, lh.host_key);
	sh->port = 22;
	if (lh.booted)
		provider_host_started(run, a->host);
	*id = new_key(run, ref);
	return 0;
}

/* No find hooks: a host is found by its name, so create adopts. */
static const struct resource_kind local_host = {
	.kind = "host",
	.create = create_host,
	.new_key = new_key,
	.attributes = attributes,
};

static int local_hosts_up(struct provider_run *run, struct host *const *hosts,
			  size_t nr, struct error *err)
{
	struct local_net net;
	char *base = NULL;
	int rc;

	net_of(run, &net);
	rc = local_check_root(err);
	/* The bridge first: apt_proxy is usually on its address, and the
	 * base image is fetched through it. */
	if (!rc)
		rc = local_net_up(&net, err);
	if (!rc) {
		provider_unlock(run);
		rc = local_base_image(&net, &base, err);
		provider_lock(run);
	}
	for (size_t i = 0; !rc && i < nr; i++) {
		struct up_arg a = { &net, base, hosts[i] };
		char *id = NULL;

		rc = resource_ensure(run, &local_host, hosts[i]->name,
				     hosts[i]->role->name, &a, &id, NULL, err);
		free(id);
	}
	free(base);
	return rc;
}

/* deploy's own apt proxy, while the hosts are configured (proxy.h). */
static int local_configure_begin(struct provider_run *run, struct error *err)
{
	const struct ynode *list = ynode_get(run->config, "apt_proxy_allow");
	struct local_proxy_config c = { 0 };
	struct local_proxy *proxy = NULL;
	const char *allow[64];
	char ip[16], mirror[254];
	struct local_net net;
	size_t nr = 0;
	int rc;

	net_of(run, &net);
	if (!net.own_proxy || run->priv || local_bridge_ip(&net, ip))
		return 0;
	if (list && list->kind == YNODE_SEQ) {
		for (size_t i = 0; i < list->nr && nr < 63; i++)
			if (ynode_is_string(list->items[i]))
				allow[nr++] = list->items[i]->value;
	} else {
		for (size_t i = 0; i < 2; i++)
			allow[nr++] = default_allow[i];
	}
	local_mirror_host(mirror, sizeof(mirror));
	allow[nr++] = mirror;
	c.listen = ip;
	c.port = LOCAL_PROXY_PORT;
	c.subnet = net.subnet;
	c.allow = allow;
	c.nr_allow = nr;
	rc = local_proxy_start(&c, &proxy, err);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		/* No bridge: no local host is up to need it. */
		error_clear(err);
		return 0;
	}
	run->priv = proxy;
	return rc;
}

static void local_release(struct provider_run *run)
{
	local_proxy_stop(run->priv);
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
	name = xstrdup(r->name);
	rc = resource_deleting(run, "host", name, err);
	if (!rc)
		rc = local_host_down(&net, name, err);
	if (!rc)
		rc = resource_forget(run, "host", name, err);
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

/* The loop device is bound there in the container (nspawn.h). */
static void local_disk_devices(const struct topology *t, struct state *s,
			       const struct host *h, cJSON *paths)
{
	(void)t;
	(void)s;
	(void)h;
	cJSON_AddItemToArray(paths, cJSON_CreateString(LOCAL_DISK_DEVICE));
}

const struct provider_ops local_provider = {
	.name = "local",
	.summary = "Debian systemd-nspawn hosts on this machine, for rehearsal",
	.config_keys = local_keys,
	.ssh_wait_s = BOOT_TIMEOUT_S,
	.ssh_hint = "see its console.log",
	.hosts_up = local_hosts_up,
	.exists = local_exists,
	.destroy = local_destroy,
	.finish_down = local_finish_down,
	.list_hosts = local_list,
	.configure_begin = local_configure_begin,
	.release = local_release,
	.disk_devices = local_disk_devices,
};
