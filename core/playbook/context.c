/* SPDX-License-Identifier: MIT */
/* What a host's templates see: host, role, vars, secrets, the fleet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "playbook/context.h"
#include "util/path.h"
#include "util/proc.h"
#include "util/redact.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SECRET_FILE_MAX (1u << 20)

/* Building blocks */

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void add_str(cJSON *o, const char *key, const char *s)
{
	cJSON_AddItemToObject(o, key, str_or_null(s));
}

/* A YAML mapping of variables as a JSON object ({} for none). */
static cJSON *vars_json(const struct ynode *m)
{
	return m ? ynode_to_json(m) : cJSON_CreateObject();
}

/* Copy every key of `from` into `into`, replacing what is there. */
static void merge_over(cJSON *into, const cJSON *from)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, from)
	{
		cJSON *copy = cJSON_Duplicate(item, true);

		if (cJSON_GetObjectItemCaseSensitive(into, item->string))
			cJSON_ReplaceItemInObjectCaseSensitive(
				into, item->string, copy);
		else
			cJSON_AddItemToObject(into, item->string, copy);
	}
}

static void merge_vars(cJSON *into, const struct ynode *m)
{
	cJSON *v;

	if (!m)
		return;
	v = ynode_to_json(m);
	merge_over(into, v);
	cJSON_Delete(v);
}

/* Addresses */

static const struct host_address *given_address(const struct context_input *in,
						const struct host *h)
{
	for (size_t i = 0; in && i < in->nr_addresses; i++)
		if (in->addresses[i].host &&
		    !strcmp(in->addresses[i].host, h->name))
			return &in->addresses[i];
	return NULL;
}

static const char *address_of(const struct context_input *in,
			      const struct host *h)
{
	const struct host_address *a = given_address(in, h);

	return a && a->address ? a->address : h->address;
}

static const char *private_address_of(const struct context_input *in,
				      const struct host *h)
{
	const struct host_address *a = given_address(in, h);

	if (a && a->private_address)
		return a->private_address;
	return address_of(in, h);
}

/* An address as it goes before ":PORT": IPv6 in brackets. */
static cJSON *url_address(const char *addr)
{
	struct buf b = BUF_INIT;
	cJSON *s;

	if (!addr)
		return cJSON_CreateNull();
	if (strchr(addr, ':'))
		buf_addf(&b, "[%s]", addr);
	else
		buf_adds(&b, addr);
	s = cJSON_CreateString(b.data);
	buf_free(&b);
	return s;
}

static cJSON *host_summary(const struct context_input *in, const struct host *h)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "name", h->name);
	add_str(o, "role", h->role->name);
	cJSON_AddNumberToObject(o, "index", h->index);
	add_str(o, "address", address_of(in, h));
	add_str(o, "private_address", private_address_of(in, h));
	cJSON_AddNumberToObject(o, "port", h->port);
	return o;
}

static bool role_is_bastion(const struct topology *t, const struct role *r)
{
	for (size_t i = 0; i < t->nr_roles; i++)
		if (t->roles[i].via.name &&
		    !strcmp(t->roles[i].via.name, r->name))
			return true;
	return false;
}

static bool role_runs_docker(const struct role *r)
{
	return role_runs_playbook(r, "docker");
}

/* Firewall data: every source resolved to address lists */

struct fw_sets {
	cJSON *v4;
	cJSON *v6;
};

static bool in_list(const cJSON *list, const char *s)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, list)
	{
		if (!strcmp(item->valuestring, s))
			return true;
	}
	return false;
}

static void add_to_set(struct fw_sets *s, const char *addr)
{
	cJSON *list = strchr(addr, ':') ? s->v6 : s->v4;

	if (!in_list(list, addr))
		cJSON_AddItemToArray(list, cJSON_CreateString(addr));
}

/* Both addresses of every host of r; 0, or -1 with the reason in why. */
static int add_role_hosts(const struct context_input *in, const struct role *r,
			  struct fw_sets *s, struct buf *why)
{
	for (size_t i = 0; i < r->nr_hosts; i++) {
		const struct host *h = &r->hosts[i];
		const char *addrs[2] = { address_of(in, h),
					 private_address_of(in, h) };

		for (int j = 0; j < 2; j++) {
			if (!addrs[j]) {
				buf_addf(why,
					 "the address of host '%s' is not "
					 "known yet",
					 h->name);
				return -1;
			}
			if (!is_ip_address(addrs[j])) {
				buf_addf(why,
					 "host '%s' has the address '%s', a "
					 "name: firewall rules need IP "
					 "addresses",
					 h->name, addrs[j]);
				return -1;
			}
			add_to_set(s, addrs[j]);
		}
	}
	return 0;
}

/* "a, b, c" for an nft set, or null for an empty list. */
static cJSON *set_text(const cJSON *list)
{
	struct buf b = BUF_INIT;
	const cJSON *item;
	cJSON *s;

	if (!cJSON_GetArraySize(list))
		return cJSON_CreateNull();
	cJSON_ArrayForEach(item, list)
	{
		buf_addf(&b, "%s%s", b.len ? ", " : "", item->valuestring);
	}
	s = cJSON_CreateString(b.data);
	buf_free(&b);
	return s;
}

static void add_sets(cJSON *o, const char *prefix, struct fw_sets *s)
{
	char key[64];

	snprintf(key, sizeof(key), "%sv4_set", prefix);
	cJSON_AddItemToObject(o, key, set_text(s->v4));
	snprintf(key, sizeof(key), "%sv6_set", prefix);
	cJSON_AddItemToObject(o, key, set_text(s->v6));
	snprintf(key, sizeof(key), "%sv4", prefix);
	cJSON_AddItemToObject(o, key, s->v4);
	snprintf(key, sizeof(key), "%sv6", prefix);
	cJSON_AddItemToObject(o, key, s->v6);
	s->v4 = s->v6 = NULL;
}

static cJSON *fw_rule_json(const struct topology *t,
			   const struct context_input *in,
			   const struct fw_rule *r, struct buf *why)
{
	struct fw_sets s = { cJSON_CreateArray(), cJSON_CreateArray() };
	struct buf comment = BUF_INIT, port = BUF_INIT;
	bool world = false;
	cJSON *o = cJSON_CreateObject();
	int rc = 0;

	if (r->port_lo == r->port_hi)
		buf_addf(&port, "%d", r->port_lo);
	else
		buf_addf(&port, "%d-%d", r->port_lo, r->port_hi);
	buf_addf(&comment, "%s/%s from", port.data,
		 r->proto == FW_UDP ? "udp" : "tcp");
	for (size_t i = 0; i < r->nr_from && !rc; i++) {
		const struct fw_source *f = &r->from[i];
		const struct role *role;

		buf_addf(&comment, "%s %s", i ? "," : "", f->text);
		switch (f->kind) {
		case FW_FROM_WORLD:
			world = true;
			break;
		case FW_FROM_CIDR:
			add_to_set(&s, f->text);
			break;
		case FW_FROM_ROLE:
			role = f->role ? f->role
				       : topology_find_role(t, f->text);
			if (role)
				rc = add_role_hosts(in, role, &s, why);
			break;
		}
	}
	add_str(o, "proto", r->proto == FW_UDP ? "udp" : "tcp");
	add_str(o, "dport", port.data);
	cJSON_AddBoolToObject(o, "world", world);
	add_sets(o, "", &s);
	add_str(o, "comment", comment.data);
	buf_free(&comment);
	buf_free(&port);
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *firewall_json(const struct topology *t, const struct host *h,
			    const struct context_input *in, struct buf *why)
{
	const struct role *r = h->role;
	const struct role *via =
		r->via.name ? topology_find_role(t, r->via.name) : NULL;
	struct fw_sets ssh = { cJSON_CreateArray(), cJSON_CreateArray() };
	cJSON *fw = cJSON_CreateObject(), *rules = cJSON_CreateArray();
	char text[64];

	cJSON_AddBoolToObject(fw, "flush_ruleset", !role_runs_docker(r));
	cJSON_AddBoolToObject(fw, "docker", role_runs_docker(r));
	cJSON_AddNumberToObject(fw, "ssh_port", h->port);
	cJSON_AddBoolToObject(fw, "behind_bastion", via != NULL);
	if (via) {
		if (add_role_hosts(in, via, &ssh, why))
			goto fail;
	} else {
		for (size_t i = 0; i < t->ssh.nr_admin_cidrs; i++) {
			cidr_format_network(&t->ssh.admin_cidrs[i], text,
					    sizeof(text));
			add_to_set(&ssh, text);
		}
		if (!t->ssh.nr_admin_cidrs) {
			buf_adds(why, "ssh.admin_cidrs is empty: the firewall "
				      "would refuse SSH from everywhere and "
				      "lock you out; list the networks you "
				      "administer from");
			goto fail;
		}
	}
	add_sets(fw, "ssh_", &ssh);
	for (size_t i = 0; i < r->nr_firewall; i++) {
		cJSON *rule = fw_rule_json(t, in, &r->firewall[i], why);

		if (!rule)
			goto fail;
		cJSON_AddItemToArray(rules, rule);
	}
	cJSON_AddItemToObject(fw, "rules", rules);
	return fw;
fail:
	cJSON_Delete(ssh.v4);
	cJSON_Delete(ssh.v6);
	cJSON_Delete(rules);
	cJSON_Delete(fw);
	return NULL;
}

/* Monitoring: the scrape targets of the fleet, as file_sd JSON */

/* A role variable (the role's vars, else the topology's), or NULL. */
static const struct ynode *role_var(const struct topology *t,
				    const struct role *r, const char *name)
{
	const struct ynode *v = r->vars ? ynode_get(r->vars, name) : NULL;

	if (!v && t->vars)
		v = ynode_get(t->vars, name);
	return v && v->kind == YNODE_SCALAR && !ynode_is_null(v) ? v : NULL;
}

/* A variable of the role itself (not the topology's), or NULL. */
static const char *own_var(const struct role *r, const char *name)
{
	const struct ynode *v = r->vars ? ynode_get(r->vars, name) : NULL;

	return v && v->kind == YNODE_SCALAR && !ynode_is_null(v) ? v->value
								 : NULL;
}

static const char *role_var_or(const struct topology *t, const struct role *r,
			       const char *name, const char *def)
{
	const struct ynode *v = role_var(t, r, name);

	return v ? v->value : def;
}

/* One file_sd group: one target, with the host's labels and more. */
static void add_target(cJSON *groups, const struct host *h, const char *target,
		       const char *label, const char *value)
{
	cJSON *g = cJSON_CreateObject(), *targets = cJSON_CreateArray();
	cJSON *labels = cJSON_CreateObject();

	cJSON_AddItemToArray(targets, cJSON_CreateString(target));
	cJSON_AddItemToObject(g, "targets", targets);
	cJSON_AddStringToObject(labels, "host", h->name);
	cJSON_AddStringToObject(labels, "role", h->role->name);
	if (label)
		cJSON_AddStringToObject(labels, label, value);
	cJSON_AddItemToObject(g, "labels", labels);
	cJSON_AddItemToArray(groups, g);
}

static void add_sd_text(cJSON *o, const char *key, cJSON *groups)
{
	char *text = cJSON_Print(groups);
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s\n", text);
	cJSON_AddStringToObject(o, key, b.data);
	buf_free(&b);
	cJSON_free(text);
	cJSON_Delete(groups);
}

/* What the blackbox exporter asks a role's hosts, on their public
 * address. */
struct probe {
	const char *port;
	const char *path;
	const char *module;
};

/*
 * A role with public_rpc_port is probed there; a sentry (sentry_of) is
 * probed on its RPC port (the sentry playbook's sentry_rpc_port, else its
 * chain's) with a real question of its chain's, unless public_rpc_*
 * say otherwise. false: the role is not probed.
 */
static bool role_probe(const struct topology *t, const struct role *r,
		       struct probe *p)
{
	const char *chain = role_var_or(t, r, "sentry_chain", "icon");
	bool near = !strcmp(chain, "near");

	p->port = own_var(r, "public_rpc_port");
	p->path = "/";
	p->module = "http_2xx";
	if (r->sentry_of.name) {
		if (!p->port)
			p->port = own_var(r, "sentry_rpc_port");
		if (!p->port)
			p->port = near ? "3030" : "9000";
		p->path = near ? "/status" : "/api/v3";
		p->module = near ? "near_rpc" : "icon_rpc";
	}
	p->path = role_var_or(t, r, "public_rpc_path", p->path);
	p->module = role_var_or(t, r, "public_rpc_module", p->module);
	return p->port != NULL;
}

static void add_probe(cJSON *probes, const struct host *h, const char *addr,
		      const struct probe *p)
{
	cJSON *url = url_address(addr);
	struct buf b = BUF_INIT;

	/* tcp_connect takes HOST:PORT, the others an URL. */
	if (!strcmp(p->module, "tcp_connect"))
		buf_addf(&b, "%s:%s", url->valuestring, p->port);
	else
		buf_addf(&b, "http://%s:%s%s", url->valuestring, p->port,
			 p->path);
	add_target(probes, h, b.data, "__param_module", p->module);
	buf_free(&b);
	cJSON_Delete(url);
}

/* Every role's hosts as targets of the three jobs; hosts whose address
 * is not known yet are left out. */
static void add_targets(cJSON *o, const struct topology *t,
			const struct context_input *in)
{
	cJSON *node = cJSON_CreateArray(), *metrics = cJSON_CreateArray();
	cJSON *probes = cJSON_CreateArray();
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];
		const char *mport = own_var(r, "metrics_port");
		bool exporter = role_runs_playbook(r, "node-exporter");
		struct probe probe;
		bool probed = role_probe(t, r, &probe);

		for (size_t j = 0; j < r->nr_hosts; j++) {
			const struct host *h = &r->hosts[j];
			const char *priv = private_address_of(in, h);
			const char *pub = address_of(in, h);
			cJSON *url;

			if (!priv || !pub)
				continue;
			url = url_address(priv);
			if (exporter) {
				buf_reset(&b);
				buf_addf(&b, "%s:9100", url->valuestring);
				add_target(node, h, b.data, NULL, NULL);
			}
			if (mport) {
				buf_reset(&b);
				buf_addf(&b, "%s:%s", url->valuestring, mport);
				add_target(metrics, h, b.data,
					   "__metrics_path__",
					   role_var_or(t, r, "metrics_path",
						       "/metrics"));
			}
			cJSON_Delete(url);
			if (probed)
				add_probe(probes, h, pub, &probe);
		}
	}
	buf_free(&b);
	add_sd_text(o, "node_exporter_sd", node);
	add_sd_text(o, "metrics_sd", metrics);
	add_sd_text(o, "probes_sd", probes);
}

static const struct secret_value *input_secret(const struct context_input *in,
					       const char *name)
{
	for (size_t i = 0; in && i < in->nr_secrets; i++)
		if (in->secrets[i].name && !strcmp(in->secrets[i].name, name))
			return &in->secrets[i];
	return NULL;
}

/* Receiver secrets go into alertmanager.yml in double quotes: a value
 * that would end them (or a line) is refused, without showing it. */
static int receiver_secret(cJSON *o, const char *key,
			   const struct context_input *in, const char *name,
			   bool url, struct error *err)
{
	const struct secret_value *s = input_secret(in, name);
	bool ok = true;

	cJSON_AddBoolToObject(o, key, s != NULL);
	if (!s)
		return 0;
	for (size_t i = 0; i < s->len; i++) {
		unsigned char ch = (unsigned char)s->value[i];

		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' ||
		    (url && ch == ' '))
			ok = false;
	}
	if (url && strncmp(s->value, "http://", 7) &&
	    strncmp(s->value, "https://", 8))
		ok = false;
	if (ok)
		return 0;
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "secret '%s' must be %s, without quotes, backslashes, "
			 "control characters or a final newline",
			 name,
			 url ? "an http:// or https:// URL (and no blanks)"
			     : "one line");
}

static int add_monitoring(cJSON *d, const struct topology *t,
			  const struct host *h, const struct context_input *in,
			  struct error *err)
{
	cJSON *o, *rc;

	if (!role_runs_playbook(h->role, "monitoring")) {
		cJSON_AddItemToObject(d, "monitoring", cJSON_CreateNull());
		return 0;
	}
	o = cJSON_CreateObject();
	rc = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "monitoring", o);
	add_targets(o, t, in);
	cJSON_AddItemToObject(o, "receivers", rc);
	if (receiver_secret(rc, "smtp_password", in,
			    "alertmanager_smtp_password", false, err) ||
	    receiver_secret(rc, "slack", in, "alertmanager_slack_url", true,
			    err) ||
	    receiver_secret(rc, "webhook", in, "alertmanager_webhook_url", true,
			    err))
		return -1;
	return 0;
}

/* The whole data */

static cJSON *role_json(const struct topology *t, const struct role *r)
{
	cJSON *o = cJSON_CreateObject(), *pbs = cJSON_CreateArray();

	add_str(o, "name", r->name);
	cJSON_AddNumberToObject(o, "count", (double)r->nr_hosts);
	cJSON_AddItemToObject(o, "vars", vars_json(r->vars));
	add_str(o, "via", r->via.name);
	add_str(o, "sentry_of", r->sentry_of.name);
	cJSON_AddBoolToObject(o, "is_bastion", role_is_bastion(t, r));
	cJSON_AddBoolToObject(o, "docker", role_runs_docker(r));
	for (size_t i = 0; i < r->nr_playbooks; i++)
		cJSON_AddItemToArray(pbs, cJSON_CreateString(r->playbooks[i]));
	cJSON_AddItemToObject(o, "playbooks", pbs);
	return o;
}

/* role.disk: the role's data disk as this host has it; null without. */
static cJSON *disk_json(const struct context_input *in, const struct host *h)
{
	const struct role *r = h->role;
	const struct host_address *a = given_address(in, h);
	cJSON *o;

	if (r->disk_size <= 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "size", r->disk_size);
	add_str(o, "type", r->disk_type);
	add_str(o, "mount", r->disk_mount);
	cJSON_AddItemToObject(o, "devices",
			      a && a->disk_devices
				      ? cJSON_Duplicate(a->disk_devices, true)
				      : cJSON_CreateArray());
	return o;
}

static cJSON *host_json(const struct context_input *in, const struct host *h)
{
	cJSON *o = host_summary(in, h);

	cJSON_AddItemToObject(o, "private_address_url",
			      url_address(private_address_of(in, h)));

	add_str(o, "user", h->user);
	cJSON_AddBoolToObject(o, "root_login",
			      !h->user || !strcmp(h->user, "root"));
	return o;
}

/* sentry_of: the role this host's role fronts, as under roles; or null. */
static void add_sentry_of(cJSON *d, const struct host *h, const cJSON *roles)
{
	const char *name = h->role->sentry_of.name;
	const cJSON *of = NULL;
	cJSON *copy, *item;

	if (name)
		of = cJSON_GetObjectItemCaseSensitive(roles, name);
	if (!of) {
		cJSON_AddItemToObject(d, "sentry_of", cJSON_CreateNull());
		return;
	}
	/* Each host's private address also as it goes in an URL or an
	 * nginx server line: [2001:db8::1] for IPv6. */
	copy = cJSON_Duplicate(of, true);
	cJSON_ArrayForEach(item,
			   cJSON_GetObjectItemCaseSensitive(copy, "hosts"))
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(
			item, "private_address");

		cJSON_AddItemToObject(
			item, "private_address_url",
			url_address(cJSON_IsString(a) ? a->valuestring : NULL));
	}
	cJSON_AddItemToObject(d, "sentry_of", copy);
}

static void add_topology(cJSON *d, const struct topology *t,
			 const struct host *h, const struct context_input *in)
{
	cJSON *roles = cJSON_CreateObject(), *hosts = cJSON_CreateArray();
	cJSON *topo = cJSON_CreateObject(), *ssh = cJSON_CreateObject();
	cJSON *cidrs = cJSON_CreateArray();
	char text[64];

	for (size_t i = 0; i < t->nr_roles; i++) {
		const struct role *r = &t->roles[i];
		cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();

		add_str(o, "name", r->name);
		cJSON_AddNumberToObject(o, "count", (double)r->nr_hosts);
		for (size_t j = 0; j < r->nr_hosts; j++) {
			cJSON_AddItemToArray(list,
					     host_summary(in, &r->hosts[j]));
			cJSON_AddItemToArray(hosts,
					     host_summary(in, &r->hosts[j]));
		}
		cJSON_AddItemToObject(o, "hosts", list);
		cJSON_AddItemToObject(roles, r->name, o);
	}
	cJSON_AddItemToObject(d, "roles", roles);
	add_sentry_of(d, h, roles);
	cJSON_AddItemToObject(d, "hosts", hosts);
	add_str(topo, "name", t->name);
	add_str(topo, "network", t->network);
	cJSON_AddItemToObject(d, "topology", topo);
	add_str(ssh, "user", t->ssh.user);
	for (size_t i = 0; i < t->ssh.nr_admin_cidrs; i++) {
		cidr_format_network(&t->ssh.admin_cidrs[i], text, sizeof(text));
		cJSON_AddItemToArray(cidrs, cJSON_CreateString(text));
	}
	cJSON_AddItemToObject(ssh, "admin_cidrs", cidrs);
	cJSON_AddItemToObject(d, "ssh", ssh);
}

int context_build(const struct topology *t, const struct host *h,
		  const struct context_input *in, struct host_context **out,
		  struct error *err)
{
	struct host_context *c = xcalloc(1, sizeof(*c));
	cJSON *d = cJSON_CreateObject(), *vars, *secrets, *fw;
	struct buf why = BUF_INIT;

	*out = NULL;
	if (!d)
		return error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0,
				 "out of memory");
	c->t = t;
	c->host = h;
	c->data = d;
	cJSON_AddItemToObject(d, "host", host_json(in, h));
	{
		cJSON *role = role_json(t, h->role);

		cJSON_AddItemToObject(role, "disk", disk_json(in, h));
		cJSON_AddItemToObject(d, "role", role);
	}
	vars = cJSON_CreateObject();
	merge_vars(vars, t->vars);
	merge_vars(vars, h->role->vars);
	merge_vars(vars, h->vars);
	cJSON_AddItemToObject(d, "vars", vars);
	add_topology(d, t, h, in);
	secrets = cJSON_CreateObject();
	c->secrets = xcalloc(in ? in->nr_secrets + 1 : 1, sizeof(*c->secrets));
	for (size_t i = 0; in && i < in->nr_secrets; i++) {
		const struct secret_value *s = &in->secrets[i];
		struct secret_value *copy = &c->secrets[c->nr_secrets];

		if (!s->name || !s->value || strlen(s->value) != s->len) {
			context_free(c);
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "secret '%s' holds a NUL byte and "
					 "cannot be used in a template",
					 s->name ? s->name : "?");
		}
		copy->name = xstrdup(s->name);
		copy->value = xstrndup(s->value, s->len);
		copy->len = s->len;
		c->nr_secrets++;
		cJSON_AddItemToObject(secrets, s->name,
				      cJSON_CreateString(s->value));
	}
	cJSON_AddItemToObject(d, "secrets", secrets);
	if (add_monitoring(d, t, h, in, err)) {
		context_free(c);
		return err->code;
	}
	fw = firewall_json(t, h, in, &why);
	if (!fw) {
		c->firewall_error = buf_release(&why);
		fw = cJSON_CreateNull();
	}
	buf_free(&why);
	cJSON_AddItemToObject(d, "firewall", fw);
	*out = c;
	return 0;
}

/* Wipe every string under "secrets" before freeing the tree. */
static void wipe_strings(cJSON *n)
{
	cJSON *item;

	if (cJSON_IsString(n) && n->valuestring) {
		volatile char *p = n->valuestring;

		while (*p)
			*p++ = 0;
	}
	cJSON_ArrayForEach(item, n)
	{
		wipe_strings(item);
	}
}

void context_data_free(cJSON *data)
{
	if (!data)
		return;
	wipe_strings(cJSON_GetObjectItemCaseSensitive(data, "secrets"));
	cJSON_Delete(data);
}

void context_free(struct host_context *c)
{
	if (!c)
		return;
	context_data_free(c->data);
	secrets_free(c->secrets, c->nr_secrets);
	free(c->firewall_error);
	free(c);
}

void context_drop_data(struct host_context *c)
{
	if (!c)
		return;
	context_data_free(c->data);
	c->data = NULL;
}

cJSON *context_playbook_data(const struct host_context *c,
			     const struct playbook *pb)
{
	cJSON *d = cJSON_Duplicate(c->data, true);
	cJSON *vars = vars_json(pb->vars), *p = cJSON_CreateObject();
	const struct role *r = c->host->role;

	/* On the data disk: its mount before each disk_vars path. */
	for (size_t i = 0; pb->disk_vars && r->disk_size > 0 && r->disk_mount &&
			   i < pb->disk_vars->nr;
	     i++) {
		const struct ypair *kv = &pb->disk_vars->pairs[i];
		struct buf b = BUF_INIT;
		size_t len = strlen(r->disk_mount);

		if (!ynode_is_string(kv->value))
			continue;
		while (len > 1 && r->disk_mount[len - 1] == '/')
			len--;
		buf_addf(&b, "%.*s/%s", (int)len, r->disk_mount,
			 kv->value->value);
		cJSON_DeleteItemFromObjectCaseSensitive(vars, kv->key->value);
		cJSON_AddStringToObject(vars, kv->key->value, b.data);
		buf_free(&b);
	}
	merge_over(vars, cJSON_GetObjectItemCaseSensitive(c->data, "vars"));
	cJSON_ReplaceItemInObjectCaseSensitive(d, "vars", vars);
	add_str(p, "name", pb->name);
	cJSON_AddItemToObject(d, "playbook", p);
	return d;
}

/* Redaction */

static const struct secret_value *secret_at(const struct host_context *c,
					    const char *s, size_t len)
{
	const struct secret_value *best = NULL;

	/* The longest match wins, so one secret inside another is whole. */
	for (size_t i = 0; i < c->nr_secrets; i++) {
		const struct secret_value *v = &c->secrets[i];

		if (v->len && v->len <= len && !memcmp(s, v->value, v->len) &&
		    (!best || v->len > best->len))
			best = v;
	}
	return best;
}

const char *context_secret_in(const struct host_context *c, const char *s,
			      size_t len)
{
	for (size_t i = 0; c && i < len; i++) {
		const struct secret_value *v = secret_at(c, s + i, len - i);

		if (v)
			return v->name;
	}
	return NULL;
}

bool context_has_secret(const struct host_context *c, const char *s, size_t len)
{
	return context_secret_in(c, s, len) != NULL;
}

void context_redact(const struct host_context *c, const char *s, size_t len,
		    struct buf *out)
{
	struct buf raw = BUF_INIT;
	struct redactor r;
	size_t start = 0;

	if (!c || !c->nr_secrets) {
		buf_add(out, s, len);
		return;
	}
	/* Values as they are, whatever their length, */
	for (size_t i = 0; i < len;) {
		const struct secret_value *v = secret_at(c, s + i, len - i);

		if (!v) {
			i++;
			continue;
		}
		buf_add(&raw, s + start, i - start);
		buf_addf(&raw, "[secret %s]", v->name);
		i += v->len;
		start = i;
	}
	buf_add(&raw, s + start, len - start);
	/* then their base64 and URL-encoded forms (util/redact.h). */
	redactor_init(&r);
	for (size_t i = 0; i < c->nr_secrets; i++)
		redactor_add(&r, c->secrets[i].name, c->secrets[i].value,
			     c->secrets[i].len);
	redactor_feed(&r, raw.data, raw.len, out);
	redactor_flush(&r, out);
	redactor_free(&r);
	buf_free_secret(&raw);
}

/* Secrets from the topology */

void secrets_load(const struct topology *t, struct secret_value **out,
		  size_t *nr, struct diag_list *dl)
{
	struct secret_value *v = xcalloc(t->nr_secrets + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < t->nr_secrets; i++) {
		const struct secret *s = &t->secrets[i];
		const struct ynode *at = s->node;
		struct buf b;
		char *path;
		int rc;

		if (s->from_env) {
			const char *e = getenv(s->ref);

			if (!e) {
				diag_add(dl, DIAG_WARNING, t->file, at->line,
					 at->col,
					 "secret '%s': environment variable "
					 "'%s' is not set",
					 s->name, s->ref);
				continue;
			}
			v[n].name = xstrdup(s->name);
			v[n].len = strlen(e);
			v[n].value = xstrndup(e, v[n].len);
			n++;
			/* Not passed on to what deploy runs (util/proc.h). */
			proc_env_hide(s->ref);
			continue;
		}
		buf_init(&b, SECRET_FILE_MAX);
		path = path_expand(s->ref, t->dir);
		rc = buf_read_file(&b, path);
		if (rc || strlen(b.data) != b.len) {
			diag_add(dl, DIAG_WARNING, t->file, at->line, at->col,
				 "secret '%s': file '%s' %s", s->name, s->ref,
				 rc == DEPLOY_ERR_TOO_BIG ? "is larger than "
							    "1 MiB"
				 : rc			  ? "cannot be read"
							  : "holds a NUL byte");
			buf_free_secret(&b);
			free(path);
			continue;
		}
		free(path);
		v[n].name = xstrdup(s->name);
		v[n].len = b.len;
		v[n].value = xstrndup(b.data, b.len);
		buf_free_secret(&b);
		n++;
	}
	*out = v;
	*nr = n;
}

void secrets_free(struct secret_value *v, size_t nr)
{
	if (!v)
		return;
	for (size_t i = 0; i < nr; i++) {
		free(v[i].name);
		if (v[i].value)
			freezero(v[i].value, v[i].len);
	}
	free(v);
}
