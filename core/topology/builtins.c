/* SPDX-License-Identifier: MIT */
/* What node-exporter, monitoring, icon-node, near-node and sentry add:
 * checked variables, firewall rules. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "topology/topology.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NODE_EXPORTER_PORT 9100
#define PROMETHEUS_PORT	   9090
#define ALERTMANAGER_PORT  9093
#define ICON_P2P_PORT	   7100
#define ICON_RPC_PORT	   9000
#define NEAR_P2P_PORT	   24567
#define NEAR_RPC_PORT	   3030

enum var_kind {
	VK_DURATION, /* Prometheus' 30s, 5m, 1h30m */
	VK_PERCENT,  /* a number from 0 to 100 */
	VK_COUNT,    /* an integer from 0 */
	VK_PORT,
	VK_PATH, /* an URL path: /metrics */
	VK_WORD, /* a blackbox module name */
	VK_EMAIL,
	VK_HOSTPORT,	/* smtp.example.com:587 */
	VK_TEXT,	/* one line, no quotes or backslashes */
	VK_SOURCES,	/* roles and CIDRs, never the world */
	VK_POSITIVE,	/* an integer from 1 */
	VK_RATE,	/* nginx's limit_req rate: 100r/s, 600r/m */
	VK_SIZE,	/* nginx's sizes: 1m, 512k, 1024 */
	VK_CHAIN,	/* the sentry's profile: icon or near */
	VK_RPC_SOURCES, /* the same, for a port that serves an admin API */
	VK_PEERS,	/* roles, CIDRs or world */
	VK_ICON_ROLE,	/* prep or citizen */
	VK_URLS,	/* http(s) URLs: one, or a list */
};

/* A variable a built-in playbook reads, checked where the topology sets
 * it (its vars, a role's vars) when a role runs that playbook (any role:
 * NULL). null is allowed for the optional ones. */
static const struct var_check {
	const char *name;
	enum var_kind kind;
	const char *playbook;
	bool nullable;
} var_checks[] = {
	{ "prometheus_scrape_interval", VK_DURATION, "monitoring", false },
	{ "prometheus_evaluation_interval", VK_DURATION, "monitoring", false },
	{ "prometheus_retention", VK_DURATION, "monitoring", false },
	{ "alert_instance_down_for", VK_DURATION, "monitoring", false },
	{ "alert_disk_used_percent", VK_PERCENT, "monitoring", false },
	{ "alert_disk_for", VK_DURATION, "monitoring", false },
	{ "alert_memory_used_percent", VK_PERCENT, "monitoring", false },
	{ "alert_memory_for", VK_DURATION, "monitoring", false },
	{ "alert_cpu_used_percent", VK_PERCENT, "monitoring", false },
	{ "alert_cpu_for", VK_DURATION, "monitoring", false },
	{ "alert_height_stalled_for", VK_DURATION, "monitoring", false },
	{ "alert_syncing_for", VK_DURATION, "monitoring", false },
	{ "alert_peers_min", VK_COUNT, "monitoring", false },
	{ "alert_peers_for", VK_DURATION, "monitoring", false },
	{ "alert_probe_for", VK_DURATION, "monitoring", false },
	{ "alertmanager_group_wait", VK_DURATION, "monitoring", false },
	{ "alertmanager_group_interval", VK_DURATION, "monitoring", false },
	{ "alertmanager_repeat_interval", VK_DURATION, "monitoring", false },
	{ "alert_email_to", VK_EMAIL, "monitoring", true },
	{ "alert_email_from", VK_EMAIL, "monitoring", true },
	{ "alert_smtp_smarthost", VK_HOSTPORT, "monitoring", true },
	{ "alert_smtp_username", VK_TEXT, "monitoring", true },
	{ "alert_slack_channel", VK_TEXT, "monitoring", true },
	{ "monitoring_ui_from", VK_SOURCES, "monitoring", true },
	{ "node_exporter_from", VK_SOURCES, "node-exporter", true },
	{ "near_rpc_from", VK_SOURCES, "near-node", true },
	{ "near_p2p_port", VK_PORT, "near-node", false },
	{ "near_rpc_port", VK_PORT, "near-node", false },
	{ "metrics_port", VK_PORT, NULL, true },
	{ "metrics_path", VK_PATH, NULL, false },
	{ "public_rpc_port", VK_PORT, NULL, true },
	{ "public_rpc_path", VK_PATH, NULL, false },
	{ "public_rpc_module", VK_WORD, NULL, false },
	{ "sentry_chain", VK_CHAIN, "sentry", false },
	{ "sentry_rpc_port", VK_PORT, "sentry", true },
	{ "sentry_p2p_port", VK_PORT, "sentry", true },
	{ "sentry_rate", VK_RATE, "sentry", false },
	{ "sentry_burst", VK_COUNT, "sentry", false },
	{ "sentry_rpc_conn", VK_POSITIVE, "sentry", false },
	{ "sentry_p2p_conn", VK_POSITIVE, "sentry", false },
	{ "sentry_max_body", VK_SIZE, "sentry", false },
	{ "sentry_ws_timeout", VK_DURATION, "sentry", false },
	{ "sentry_worker_connections", VK_POSITIVE, "sentry", false },
	{ "icon_role", VK_ICON_ROLE, "icon-node", false },
	{ "icon_network", VK_WORD, "icon-node", false },
	{ "icon_p2p_port", VK_PORT, "icon-node", false },
	{ "icon_rpc_port", VK_PORT, "icon-node", false },
	{ "icon_p2p_from", VK_PEERS, "icon-node", false },
	{ "icon_rpc_from", VK_RPC_SOURCES, "icon-node", true },
	{ "icon_p2p_address", VK_HOSTPORT, "icon-node", true },
	{ "icon_health_within", VK_COUNT, "icon-node", false },
	{ "icon_stop_timeout", VK_COUNT, "icon-node", false },
	{ "icon_reference", VK_URLS, "icon-node", false },
	{ "icon_log_level", VK_WORD, "icon-node", false },
};

bool role_runs_playbook(const struct role *r, const char *name)
{
	for (size_t i = 0; i < r->nr_playbooks; i++)
		if (!strcmp(r->playbooks[i], name))
			return true;
	return false;
}

static bool topology_runs_playbook(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nr_roles; i++)
		if (role_runs_playbook(&t->roles[i], name))
			return true;
	return false;
}

/* Checking one value */

static bool is_duration(const char *s)
{
	static const char *const units[] = { "ms", "s", "m", "h",
					     "d",  "w", "y", NULL };
	bool any = false;

	while (*s) {
		size_t digits = strspn(s, "0123456789"), n = 0;

		if (!digits)
			return false;
		s += digits;
		for (size_t i = 0; units[i] && !n; i++)
			if (!strncmp(s, units[i], strlen(units[i])))
				n = strlen(units[i]);
		if (!n)
			return false;
		s += n;
		any = true;
	}
	return any;
}

static bool is_number_in(const char *s, double lo, double hi, bool integer)
{
	char *end;
	double v;

	if (!*s || isspace((unsigned char)*s))
		return false;
	v = strtod(s, &end);
	if (*end || v < lo || v > hi)
		return false;
	return !integer || strspn(s, "0123456789") == strlen(s);
}

static bool all_of(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static bool is_path(const char *s)
{
	return s[0] == '/' && (!s[1] || all_of(s + 1, "/._-~%?&=+:,"));
}

static bool is_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && at[1] && all_of(s, "@._+-") &&
	       !strchr(at + 1, '@');
}

static bool is_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[256];

	if (!colon || (size_t)(colon - s) >= sizeof(host) || colon == s)
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	return all_of(host, ".-") && is_number_in(colon + 1, 1, 65535, true);
}

/* nginx: 100r/s, 600r/m (a whole number of requests from 1). */
static bool is_rate(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	return digits && s[0] != '0' &&
	       (!strcmp(s + digits, "r/s") || !strcmp(s + digits, "r/m"));
}

/* nginx: 1024, 512k, 1m (also K, M, g, G). */
static bool is_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	return digits &&
	       (!s[digits] || (strchr("kKmMgG", s[digits]) && !s[digits + 1]));
}

static bool is_text(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' ||
		    *s == '\\')
			return false;
	return true;
}

static const char *what_kind(enum var_kind k)
{
	switch (k) {
	case VK_DURATION:
		return "a duration such as 30s, 5m or 1h30m";
	case VK_PERCENT:
		return "a percentage (a number from 0 to 100)";
	case VK_COUNT:
		return "a whole number from 0";
	case VK_PORT:
		return "a port (1 to 65535)";
	case VK_PATH:
		return "an URL path such as /metrics";
	case VK_WORD:
		return "a word of letters, digits, '_', '-' and '.'";
	case VK_EMAIL:
		return "an email address";
	case VK_HOSTPORT:
		return "HOST:PORT, such as smtp.example.com:587";
	case VK_TEXT:
		return "one line without quotes or backslashes";
	case VK_POSITIVE:
		return "a whole number from 1";
	case VK_RATE:
		return "a rate such as 100r/s or 600r/m";
	case VK_SIZE:
		return "a size such as 1m, 512k or 1024";
	case VK_CHAIN:
		return "a chain deploy has a sentry profile for: 'icon' or "
		       "'near'";
	case VK_ICON_ROLE:
		return "'prep' or 'citizen'";
	case VK_URLS:
		return "an http:// or https:// URL";
	case VK_SOURCES:
	case VK_RPC_SOURCES:
	case VK_PEERS:
		break;
	}
	return "a list of roles and CIDRs";
}

static bool scalar_ok(enum var_kind k, const char *s)
{
	switch (k) {
	case VK_DURATION:
		return is_duration(s);
	case VK_PERCENT:
		return is_number_in(s, 0, 100, false);
	case VK_COUNT:
		return is_number_in(s, 0, 1e9, true);
	case VK_PORT:
		return is_number_in(s, 1, 65535, true);
	case VK_PATH:
		return is_path(s);
	case VK_WORD:
		return all_of(s, "_-.#");
	case VK_EMAIL:
		return is_email(s);
	case VK_HOSTPORT:
		return is_hostport(s);
	case VK_TEXT:
		return is_text(s);
	case VK_POSITIVE:
		return is_number_in(s, 1, 1e9, true);
	case VK_RATE:
		return is_rate(s);
	case VK_SIZE:
		return is_size(s);
	case VK_CHAIN:
		return !strcmp(s, "icon") || !strcmp(s, "near");
	case VK_ICON_ROLE:
		return !strcmp(s, "prep") || !strcmp(s, "citizen");
	case VK_URLS:
		return (!strncmp(s, "http://", 7) && s[7]) ||
		       (!strncmp(s, "https://", 8) && s[8]);
	case VK_SOURCES:
	case VK_RPC_SOURCES:
	case VK_PEERS:
		break;
	}
	return false;
}

/* One source of a *_from list: a role of the topology or a CIDR. */
static void check_source(struct topology *t, struct diag_list *dl,
			 const char *where, enum var_kind k,
			 const struct ynode *n)
{
	struct cidr c;
	const char *why;

	if (!ynode_is_string(n)) {
		diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
			 "%s: %s is not a role or a CIDR", where,
			 ynode_describe(n));
	} else if (!strcmp(n->value, "world") && k == VK_PEERS) {
		/* peers may come from anywhere */
	} else if (!strcmp(n->value, "world") && k == VK_RPC_SOURCES) {
		diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
			 "%s: 'world' is not allowed: goloop serves /admin "
			 "and /metrics on its JSON-RPC port; name the roles "
			 "(a sentry) or networks that may reach it",
			 where);
	} else if (!strcmp(n->value, "world")) {
		diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
			 "%s: 'world' is not allowed: exporters and "
			 "Prometheus answer only the roles and networks "
			 "named",
			 where);
	} else if (strchr(n->value, '/') || is_ip_address(n->value)) {
		if (cidr_parse(n->value, &c, &why))
			diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
				 "%s: '%s' is not a CIDR: %s", where, n->value,
				 why);
		else if (!c.prefix)
			diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
				 "%s: '%s' is the whole world", where,
				 n->value);
	} else if (!topology_find_role(t, n->value)) {
		diag_add(dl, DIAG_ERROR, t->file, n->line, n->col,
			 "%s: no role named '%s'", where, n->value);
	}
}

static bool is_sources(enum var_kind k)
{
	return k == VK_SOURCES || k == VK_RPC_SOURCES || k == VK_PEERS;
}

static void check_var(struct topology *t, struct diag_list *dl,
		      const char *prefix, const struct var_check *vc,
		      const struct ynode *v)
{
	struct buf where = BUF_INIT;

	buf_addf(&where, "%svars.%s", prefix, vc->name);
	if (ynode_is_null(v) && vc->nullable) {
		/* left unset */
	} else if (is_sources(vc->kind) && v->kind == YNODE_SEQ) {
		for (size_t i = 0; i < v->nr; i++)
			check_source(t, dl, where.data, vc->kind, v->items[i]);
	} else if (is_sources(vc->kind)) {
		check_source(t, dl, where.data, vc->kind, v);
	} else if (vc->kind == VK_URLS && v->kind == YNODE_SEQ) {
		for (size_t i = 0; i < v->nr; i++)
			if (!ynode_is_string(v->items[i]) ||
			    !scalar_ok(VK_URLS, v->items[i]->value))
				diag_add(dl, DIAG_ERROR, t->file,
					 v->items[i]->line, v->items[i]->col,
					 "%s[%zu] is not %s", where.data, i,
					 what_kind(VK_URLS));
	} else if (v->kind != YNODE_SCALAR || ynode_is_null(v) ||
		   !scalar_ok(vc->kind, v->value)) {
		diag_add(dl, DIAG_ERROR, t->file, v->line, v->col,
			 "%s: %s%s%s is not %s", where.data,
			 v->kind == YNODE_SCALAR ? "'" : "",
			 v->kind == YNODE_SCALAR ? v->value : ynode_describe(v),
			 v->kind == YNODE_SCALAR ? "'" : "",
			 what_kind(vc->kind));
	}
	buf_free(&where);
}

static void check_vars_in(struct topology *t, struct diag_list *dl,
			  const char *prefix, const struct ynode *vars,
			  const struct role *r)
{
	for (size_t i = 0; vars && i < sizeof(var_checks) / sizeof(*var_checks);
	     i++) {
		const struct var_check *vc = &var_checks[i];
		const struct ynode *v = ynode_get(vars, vc->name);

		if (!v)
			continue;
		if (vc->playbook &&
		    !(r ? role_runs_playbook(r, vc->playbook)
			: topology_runs_playbook(t, vc->playbook)))
			continue;
		check_var(t, dl, prefix, vc, v);
	}
}

/* Firewall rules */

static const struct ynode *role_var(const struct topology *t,
				    const struct role *r, const char *name)
{
	const struct ynode *v = r->vars ? ynode_get(r->vars, name) : NULL;

	if (!v && t->vars)
		v = ynode_get(t->vars, name);
	return v && !ynode_is_null(v) ? v : NULL;
}

static struct fw_rule *new_rule(struct role *r, int port,
				const struct ynode *at, size_t max_from)
{
	struct fw_rule *fw;

	r->firewall = xrealloc(r->firewall,
			       (r->nr_firewall + 1) * sizeof(*r->firewall));
	fw = &r->firewall[r->nr_firewall++];
	memset(fw, 0, sizeof(*fw));
	fw->port_lo = fw->port_hi = port;
	fw->proto = FW_TCP;
	fw->node = at;
	fw->from = xcalloc(max_from + 1, sizeof(*fw->from));
	return fw;
}

static void add_source(struct fw_rule *fw, const struct ynode *n)
{
	struct fw_source *f = &fw->from[fw->nr_from];
	const char *why;

	if (!ynode_is_string(n))
		return;
	f->text = n->value;
	f->node = n;
	if (!strcmp(n->value, "world")) {
		f->kind = FW_FROM_WORLD;
	} else if (strchr(n->value, '/') || is_ip_address(n->value)) {
		if (cidr_parse(n->value, &f->cidr, &why) || !f->cidr.prefix)
			return;
		f->kind = FW_FROM_CIDR;
	} else {
		f->kind = FW_FROM_ROLE;
	}
	fw->nr_from++;
}

/* A rule for port from the sources a *_from variable lists. */
static void rule_from_var(struct role *r, int port, const struct ynode *v)
{
	struct fw_rule *fw = new_rule(r, port, v, v->nr ? v->nr : 1);

	if (v->kind == YNODE_SEQ)
		for (size_t i = 0; i < v->nr; i++)
			add_source(fw, v->items[i]);
	else
		add_source(fw, v);
}

/* A rule for port from every role that runs the built-in playbook pb. */
static void rule_from_runners(struct topology *t, struct role *r, int port,
			      const char *pb)
{
	struct fw_rule *fw = NULL;

	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *m = &t->roles[i];
		struct fw_source *f;

		if (!role_runs_playbook(m, pb))
			continue;
		if (!fw)
			fw = new_rule(r, port, r->node, t->nr_roles);
		f = &fw->from[fw->nr_from++];
		f->kind = FW_FROM_ROLE;
		f->text = m->name;
		f->node = m->node;
	}
}

/* Prometheus' and Alertmanager's ports: from monitoring_ui_from, else
 * from where SSH comes (the role's bastion, or ssh.admin_cidrs). */
static void monitoring_ui_rules(struct topology *t, struct role *r)
{
	const struct ynode *v = role_var(t, r, "monitoring_ui_from");
	const int ports[] = { PROMETHEUS_PORT, ALERTMANAGER_PORT };

	for (size_t p = 0; p < 2; p++) {
		struct fw_rule *fw;

		if (v) {
			rule_from_var(r, ports[p], v);
			continue;
		}
		fw = new_rule(r, ports[p], r->node,
			      t->ssh.nr_admin_cidrs ? t->ssh.nr_admin_cidrs
						    : 1);
		if (r->via.name && topology_find_role(t, r->via.name)) {
			fw->from[0].kind = FW_FROM_ROLE;
			fw->from[0].text = r->via.name;
			fw->from[0].node = r->via.node;
			fw->nr_from = 1;
			continue;
		}
		for (size_t i = 0; i < t->ssh.nr_admin_cidrs; i++)
			add_source(fw, t->ssh.admin_cidr_nodes[i]);
	}
}

/* A port variable's value, or def. */
static int port_var(const struct topology *t, const struct role *r,
		    const char *name, int def)
{
	const struct ynode *v = role_var(t, r, name);

	if (v && v->kind == YNODE_SCALAR &&
	    is_number_in(v->value, 1, 65535, true))
		return (int)strtol(v->value, NULL, 10);
	return def;
}

/* icon-node: P2P from icon_p2p_from (default the world), JSON-RPC from
 * icon_rpc_from (default nobody: goloop then listens on loopback). */
static void icon_rules(struct topology *t, struct role *r)
{
	const struct ynode *v = role_var(t, r, "icon_p2p_from");
	int p2p = port_var(t, r, "icon_p2p_port", ICON_P2P_PORT);
	struct fw_rule *fw;

	if (v) {
		rule_from_var(r, p2p, v);
	} else {
		fw = new_rule(r, p2p, r->node, 1);
		fw->from[0].kind = FW_FROM_WORLD;
		fw->from[0].text = "world";
		fw->from[0].node = r->node;
		fw->nr_from = 1;
	}
	v = role_var(t, r, "icon_rpc_from");
	if (v && (v->kind != YNODE_SEQ || v->nr))
		rule_from_var(r, port_var(t, r, "icon_rpc_port", ICON_RPC_PORT),
			      v);
}

/* Whether the role's playbooks list docker before pb. */
static bool role_runs_docker_before(const struct role *r, const char *pb)
{
	for (size_t i = 0; i < r->nr_playbooks; i++) {
		if (!strcmp(r->playbooks[i], "docker"))
			return true;
		if (!strcmp(r->playbooks[i], pb))
			return false;
	}
	return false;
}

/*
 * A role that runs icon-node: Docker before it, its image and reference
 * endpoints are named, and none of its own firewall rules opens the JSON-RPC
 * port (with /admin and /metrics) to the world.
 */
static void check_icon_role(struct topology *t, struct diag_list *dl,
			    const struct role *r)
{
	int rpc = port_var(t, r, "icon_rpc_port", ICON_RPC_PORT);
	const struct ynode *ref = role_var(t, r, "icon_reference");
	bool synced = false;

	if (!role_runs_docker_before(r, "icon-node"))
		diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
			 "roles.%s runs icon-node, which needs Docker: list "
			 "'docker' before it in playbooks",
			 r->name);
	if (!role_var(t, r, "icon_image"))
		diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
			 "roles.%s runs icon-node but no image is named: set "
			 "vars.icon_image to REPO@sha256:DIGEST (or to the "
			 "image: of a docker_load artifact)",
			 r->name);
	for (size_t i = 0; r->health && i < r->health->nr; i++) {
		const struct ynode *n = ynode_get(r->health->items[i], "name");

		synced |= ynode_is_string(n) && !strcmp(n->value, "synced");
	}
	if (!synced && (!ref || (ref->kind == YNODE_SEQ && !ref->nr)))
		diag_add(dl, DIAG_ERROR, t->file, r->node->line, r->node->col,
			 "roles.%s runs icon-node but names no reference "
			 "endpoints for its height gate: set "
			 "vars.icon_reference (e.g. "
			 "[https://ctz.solidwallet.io/api/v3]), or give a "
			 "health check named 'synced'",
			 r->name);
	for (size_t i = 0; i < r->nr_firewall; i++) {
		const struct fw_rule *fw = &r->firewall[i];

		if (fw->port_lo > rpc || fw->port_hi < rpc)
			continue;
		for (size_t j = 0; j < fw->nr_from; j++)
			if (fw->from[j].kind == FW_FROM_WORLD)
				diag_add(dl, DIAG_ERROR, t->file,
					 fw->node->line, fw->node->col,
					 "roles.%s.firewall[%zu]: port %d is "
					 "open to the world, but goloop serves "
					 "/admin and /metrics there: name the "
					 "roles (a sentry) or networks "
					 "instead",
					 r->name, i, rpc);
	}
}

/* near-node: P2P from the world (state sync peers connect back to it),
 * RPC only from near_rpc_from (no rule without it: RPC stays local). */
static void near_rules(struct topology *t, struct role *r)
{
	const struct ynode *v = role_var(t, r, "near_rpc_from");
	struct fw_rule *fw;

	fw = new_rule(r, port_var(t, r, "near_p2p_port", NEAR_P2P_PORT),
		      r->node, 1);
	fw->from[0].kind = FW_FROM_WORLD;
	fw->from[0].text = "world";
	fw->from[0].node = r->node;
	fw->nr_from = 1;
	if (v && (v->kind != YNODE_SEQ || v->nr))
		rule_from_var(r, port_var(t, r, "near_rpc_port", NEAR_RPC_PORT),
			      v);
}

static void add_rules(struct topology *t, struct role *r)
{
	const struct ynode *v;
	long port;

	if (role_runs_playbook(r, "node-exporter")) {
		v = role_var(t, r, "node_exporter_from");
		if (v)
			rule_from_var(r, NODE_EXPORTER_PORT, v);
		else
			rule_from_runners(t, r, NODE_EXPORTER_PORT,
					  "monitoring");
	}
	v = r->vars ? ynode_get(r->vars, "metrics_port") : NULL;
	if (v && v->kind == YNODE_SCALAR && !ynode_is_null(v) &&
	    is_number_in(v->value, 1, 65535, true)) {
		port = strtol(v->value, NULL, 10);
		rule_from_runners(t, r, (int)port, "monitoring");
	}
	if (role_runs_playbook(r, "monitoring"))
		monitoring_ui_rules(t, r);
	if (role_runs_playbook(r, "icon-node"))
		icon_rules(t, r);
	if (role_runs_playbook(r, "near-node"))
		near_rules(t, r);
}

void topology_check_builtins(struct topology *t, struct diag_list *dl)
{
	size_t before = dl->errors;

	check_vars_in(t, dl, "", t->vars, NULL);
	for (size_t i = 0; i < t->nr_roles; i++) {
		struct role *r = &t->roles[i];
		struct buf prefix = BUF_INIT;

		buf_addf(&prefix, "roles.%s.", r->name);
		check_vars_in(t, dl, prefix.data, r->vars, r);
		/* Hosts listed in the topology itself (an inventory's
		 * variables are its own file's). */
		for (size_t j = 0; j < r->nr_hosts; j++) {
			const struct host *h = &r->hosts[j];

			if (!h->vars || !h->file || strcmp(h->file, t->file))
				continue;
			buf_reset(&prefix);
			buf_addf(&prefix, "roles.%s.hosts[%d].", r->name,
				 h->index);
			check_vars_in(t, dl, prefix.data, h->vars, r);
		}
		buf_free(&prefix);
		if (role_runs_playbook(r, "icon-node"))
			check_icon_role(t, dl, r);
	}
	if (dl->errors > before)
		return;
	for (size_t i = 0; i < t->nr_roles; i++)
		add_rules(t, &t->roles[i]);
}
