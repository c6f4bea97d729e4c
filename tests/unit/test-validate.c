/* SPDX-License-Identifier: MIT */
/* topology validation: schema errors, defaults, cross-checks, hints. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/provider.h"
#include "topology/topology.h"
#include "util/buf.h"

struct result {
	struct topology *t;
	struct diag_list dl;
	struct error err;
	int rc;
};

static void load(struct result *r, const char *text)
{
	diag_list_init(&r->dl);
	error_init(&r->err);
	r->rc = topology_parse("t.yml", text, strlen(text), &r->t, &r->dl,
			       &r->err);
}

static void done(struct result *r)
{
	topology_free(r->t);
	diag_list_free(&r->dl);
	error_clear(&r->err);
}

/* The diagnostic at line:col, failing the test when there is none. */
static const struct diag *diag_at(const struct result *r, int line, int col)
{
	for (size_t i = 0; i < r->dl.nr; i++)
		if (r->dl.items[i].line == line && r->dl.items[i].col == col)
			return &r->dl.items[i];
	for (size_t i = 0; i < r->dl.nr; i++)
		fprintf(stderr, "  have %d:%d: %s\n", r->dl.items[i].line,
			r->dl.items[i].col, r->dl.items[i].msg);
	fail_msg("no diagnostic at %d:%d", line, col);
	return NULL;
}

static void expect_error(const struct result *r, int line, int col,
			 const char *msg)
{
	const struct diag *d = diag_at(r, line, col);

	assert_int_equal(d->level, DIAG_ERROR);
	assert_string_equal(d->msg, msg);
}

#define HEAD "version: 1\nname: t\n"

static void test_minimal_topology_is_valid_with_defaults(void **state)
{
	struct result r;
	const struct role *role;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n  node: {}\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.dl.nr, 0);
	assert_int_equal(r.t->nr_roles, 1);
	role = &r.t->roles[0];
	assert_string_equal(provider_name(role->provider), "local");
	assert_int_equal(role->count, 1);
	assert_string_equal(role->hosts[0].name, "node-0");
	assert_int_equal(role->hosts[0].port, 22);
	assert_string_equal(role->hosts[0].user, "root");
	assert_int_equal(r.t->ssh.host_keys, HOST_KEYS_ACCEPT_NEW);
	done(&r);
}

static void test_empty_file_is_an_error_at_line_one(void **state)
{
	struct result r;

	(void)state;
	load(&r, "");
	assert_int_equal(r.rc, DEPLOY_ERR_INVALID);
	expect_error(&r, 1, 1,
		     "empty topology: it needs at least 'version: 1', 'name' "
		     "and 'roles' (see examples/local.yml)");
	done(&r);
}

static void test_missing_required_keys_are_each_reported(void **state)
{
	struct result r;

	(void)state;
	load(&r, "network: mainnet\n");
	assert_int_equal(r.dl.errors, 3);
	assert_string_equal(r.dl.items[0].msg,
			    "missing key 'version' at the top level (e.g. "
			    "'version: 1')");
	assert_string_equal(r.dl.items[1].msg,
			    "missing key 'name' at the top level (e.g. 'name: "
			    "icon-mainnet')");
	assert_non_null(strstr(r.dl.items[2].msg, "missing key 'roles'"));
	done(&r);
}

static void test_unknown_key_suggests_the_closest(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n  v:\n    provider: local\n"
		      "    playbook: [harden]\n");
	expect_error(&r, 6, 5,
		     "unknown key 'playbook' in roles.v (did you mean "
		     "'playbooks'?)");
	done(&r);
}

static void test_unsupported_version(void **state)
{
	struct result r;

	(void)state;
	load(&r, "version: 2\nname: t\nroles: {v: {provider: local}}\n");
	expect_error(&r, 1, 10,
		     "unsupported version 2: this deploy reads version 1 (see "
		     "docs/topology.md)");
	done(&r);
}

static void test_wrong_types_name_the_path_and_what_came(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n  v:\n    provider: local\n    count: three\n"
		      "    static_ip: yes\n    after: monitoring\n");
	expect_error(&r, 6, 12,
		     "roles.v.count must be an integer, not a string "
		     "('three')");
	expect_error(&r, 7, 16,
		     "roles.v.static_ip must be true or false, not a string "
		     "('yes')");
	expect_error(&r, 8, 12,
		     "roles.v.after must be a list, not a string "
		     "('monitoring')");
	done(&r);
}

static void test_bounds_are_checked(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n  v: {provider: local, count: 1001}\n");
	expect_error(&r, 4, 31,
		     "roles.v.count must be from 0 to 1000, not 1001");
	done(&r);
}

static void test_names_must_be_dns_labels(void **state)
{
	struct result r;

	(void)state;
	load(&r, "version: 1\nname: My_Net\nroles:\n  Validator: {provider: "
		 "local}\n");
	expect_error(&r, 2, 7,
		     "name 'My_Net' is not a DNS label: use 1 to 63 lowercase "
		     "letters, digits and '-', not starting or ending with "
		     "'-'");
	expect_error(&r, 4, 3,
		     "role name 'Validator' is not a DNS label: use 1 to 63 "
		     "lowercase letters, digits and '-', not starting or "
		     "ending with '-'");
	done(&r);
}

static void test_unknown_roles_in_after_via_and_from(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  sentry: {}\n"
		      "  validator:\n"
		      "    after: [sentri]\n"
		      "    via: bastoin\n"
		      "    firewall: [{port: 7100, from: [sentyr, "
		      "10.0.0.0/8]}]\n");
	expect_error(&r, 7, 13,
		     "unknown role 'sentri' in roles.validator.after (did you "
		     "mean 'sentry'?)");
	expect_error(&r, 8, 10,
		     "unknown role 'bastoin' in roles.validator.via");
	expect_error(&r, 9, 36,
		     "unknown role 'sentyr' in roles.validator.firewall[0]."
		     "from (did you mean 'sentry'?)");
	assert_int_equal(r.dl.errors, 3);
	done(&r);
}

static void test_cycle_is_reported_with_its_path(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  validator: {after: [sentry]}\n"
		      "  sentry: {after: [validator]}\n");
	assert_int_equal(r.dl.errors, 1);
	expect_error(&r, 5, 23,
		     "dependency cycle: validator -> sentry -> validator "
		     "(each role waits for the next through 'after' or "
		     "'via'; remove one of these)");
	done(&r);
}

static void test_longer_cycle_through_via(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  a: {via: c}\n"
		      "  b: {after: [a]}\n"
		      "  c: {after: [b]}\n");
	assert_int_equal(r.dl.errors, 1);
	assert_non_null(strstr(r.dl.items[0].msg,
			       "dependency cycle: a -> c -> b -> a"));
	done(&r);
}

static void test_role_naming_itself(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n  a: {after: [a]}\n");
	expect_error(&r, 5, 15, "role 'a' names itself in 'after'");
	assert_int_equal(r.dl.errors, 1);
	done(&r);
}

static void test_sentry_of_must_name_another_role(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  validator: {}\n"
		      "  a: {sentry_of: validatr}\n"
		      "  b: {sentry_of: b}\n"
		      "  c: {playbooks: [sentry]}\n"
		      "  d: {sentry_of: validator, playbooks: [sentry]}\n");
	expect_error(&r, 6, 18,
		     "unknown role 'validatr' in roles.a.sentry_of (did you "
		     "mean 'validator'?)");
	expect_error(&r, 7, 18, "role 'b' names itself in 'sentry_of'");
	expect_error(&r, 8, 19,
		     "role 'c' runs the playbook 'sentry' but has no "
		     "'sentry_of': name the role it fronts (sentry_of: "
		     "validator)");
	assert_int_equal(r.dl.errors, 3);
	done(&r);
}

static void test_bad_cidrs_and_ports(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "ssh: {admin_cidrs: [203.0.113.7, 10.0.0.1/8, "
		      "300.1.1.1/8]}\n"
		      "providers: {local: {}}\nroles:\n"
		      "  v: {firewall: [{port: 0, from: world}, "
		      "{port: 9000-80, from: world}, {port: 80, proto: "
		      "icmp, from: world}]}\n");
	expect_error(&r, 3, 21,
		     "ssh.admin_cidrs[0] '203.0.113.7' is an address, not a "
		     "CIDR: write '203.0.113.7/32' for this one address");
	expect_error(&r, 3, 34,
		     "ssh.admin_cidrs[1] '10.0.0.1/8' has bits set past its "
		     "prefix length (did you mean '10.0.0.0/8'?)");
	expect_error(&r, 3, 46,
		     "ssh.admin_cidrs[2] '300.1.1.1/8' is not a CIDR (not an "
		     "IP address), e.g. 203.0.113.0/24");
	expect_error(&r, 6, 25,
		     "roles.v.firewall[0].port must be a port from 1 to 65535 "
		     "or a range such as '8000-8100', not '0'");
	expect_error(&r, 6, 49,
		     "roles.v.firewall[1].port must be a port from 1 to 65535 "
		     "or a range such as '8000-8100', not '9000-80'");
	expect_error(&r, 6, 90,
		     "roles.v.firewall[2].proto 'icmp' is not one of tcp, udp");
	done(&r);
}

static void test_unknown_provider_suggests(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {digitalocaen: {}}\nroles:\n"
		      "  v: {provider: awss}\n");
	expect_error(&r, 3, 13,
		     "unknown provider 'digitalocaen' (did you mean "
		     "'digitalocean'?)");
	expect_error(&r, 5, 17,
		     "unknown provider 'awss' (did you mean 'aws'?)");
	done(&r);
}

static void test_ssh_provider_needs_hosts(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n  metal: {provider: ssh, size: big}\n");
	expect_error(&r, 4, 3,
		     "role 'metal' uses provider 'ssh' and lists no hosts: add "
		     "'hosts: [{name: metal-1, address: ADDRESS}]' or "
		     "'inventory: hosts.ini'");
	expect_error(&r, 4, 26,
		     "'size' does not apply to provider 'ssh' (its hosts exist "
		     "already; list them under 'hosts' or name an "
		     "'inventory')");
	done(&r);
}

static void test_ssh_hosts_take_defaults_from_ssh(void **state)
{
	struct result r;
	const struct host *h;

	(void)state;
	load(&r, HEAD "ssh: {user: admin, key: ~/.ssh/k}\nroles:\n"
		      "  metal:\n    provider: ssh\n    hosts:\n"
		      "      - {name: m1, address: 198.51.100.10}\n"
		      "      - {name: m2, address: m2.example.org, port: 2222, "
		      "user: ops}\n");
	assert_int_equal(r.rc, 0);
	h = topology_find_host(r.t, "m1");
	assert_string_equal(h->user, "admin");
	assert_string_equal(h->key, "~/.ssh/k");
	assert_int_equal(h->port, 22);
	h = topology_find_host(r.t, "m2");
	assert_string_equal(h->user, "ops");
	assert_int_equal(h->port, 2222);
	assert_string_equal(h->address, "m2.example.org");
	done(&r);
}

static void test_hosts_only_for_ssh_provider(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n  v:\n    provider: aws\n"
		      "    hosts: [{name: a, address: 192.0.2.1}]\n");
	expect_error(&r, 6, 12,
		     "'hosts' applies only to provider 'ssh'; provider 'aws' "
		     "creates this role's hosts (use 'count')");
	done(&r);
}

static void test_world_ssh_is_refused_unless_allowed(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "ssh: {admin_cidrs: [0.0.0.0/0, '::/0']}\n"
		      "providers: {local: {}}\nroles:\n"
		      "  v: {firewall: [{port: 22, from: world}]}\n");
	expect_error(&r, 3, 21,
		     "ssh.admin_cidrs opens SSH to the world (0.0.0.0/0): "
		     "list the addresses you administer from, or set "
		     "'ssh.allow_world_ssh: true' if you mean it");
	expect_error(&r, 3, 32,
		     "ssh.admin_cidrs opens SSH to the world (::/0): list the "
		     "addresses you administer from, or set "
		     "'ssh.allow_world_ssh: true' if you mean it");
	expect_error(&r, 6, 35,
		     "roles.v.firewall[0] opens SSH (port 22) to the world: "
		     "SSH is allowed from ssh.admin_cidrs and bastions "
		     "already; remove it, or set 'ssh.allow_world_ssh: true' "
		     "if you mean it");
	done(&r);
	load(&r, HEAD "ssh: {admin_cidrs: [0.0.0.0/0], allow_world_ssh: true}\n"
		      "providers: {local: {}}\nroles:\n  v: {}\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.dl.errors, 0);
	assert_int_equal(r.dl.warnings, 1);
	done(&r);
}

static void test_port_range_covering_ssh_from_world_is_refused(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  v: {firewall: [{port: 1-1024, from: [0.0.0.0/0]}, "
		      "{port: 22, proto: udp, from: world}]}\n");
	assert_int_equal(r.dl.errors, 1);
	assert_non_null(strstr(r.dl.items[0].msg,
			       "roles.v.firewall[0] opens SSH (port 22)"));
	done(&r);
}

static void test_duplicate_host_names(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n"
		      "  a: {provider: local, count: 2}\n"
		      "  b:\n    provider: ssh\n"
		      "    hosts: [{name: a-1, address: 192.0.2.1}, {name: x, "
		      "address: 192.0.2.2}, {name: x, address: 192.0.2.3}]\n");
	expect_error(&r, 7, 13,
		     "host name 'a-1' is used twice (first at line 4, column "
		     "3)");
	expect_error(&r, 7, 77,
		     "host name 'x' is used twice (first at line 7, column "
		     "46)");
	done(&r);
}

static void test_provider_defaults_to_the_only_one_configured(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {aws: {region: us-east-1}, local: {}}\n"
		      "roles:\n  v: {}\n");
	expect_error(&r, 5, 3,
		     "role 'v' has no provider: add 'provider: NAME' (more "
		     "than one is under 'providers')");
	done(&r);
}

static void test_gcp_needs_its_project(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "roles:\n  v: {provider: gcp}\n");
	expect_error(&r, 4, 17,
		     "role 'v' uses provider 'gcp', which needs settings under "
		     "'providers: gcp:' (see docs/topology.md)");
	done(&r);
	load(&r, HEAD "providers: {gcp: {region: x}}\nroles:\n  v: {}\n");
	expect_error(&r, 3, 18,
		     "missing key 'project' in providers.gcp (e.g. 'project: "
		     "my-project')");
	done(&r);
}

static void test_unused_provider_is_a_warning(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}, aws: {}}\n"
		      "roles:\n  v: {provider: local}\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.dl.warnings, 1);
	assert_string_equal(diag_at(&r, 3, 24)->msg,
			    "provider 'aws' is configured but no role uses it");
	done(&r);
}

static void test_secrets_missing_are_warnings_and_need_one_source(void **state)
{
	struct result r;

	(void)state;
	unsetenv("DEPLOY_TEST_NOT_SET");
	load(&r, HEAD "secrets:\n  pw: {env: DEPLOY_TEST_NOT_SET}\n"
		      "  ks: {file: ./no-such-file.json}\n"
		      "  both: {env: A, file: b}\n"
		      "providers: {local: {}}\nroles:\n  v: {}\n");
	expect_error(&r, 6, 9,
		     "secrets.both needs exactly one of 'env: VARIABLE' or "
		     "'file: PATH'");
	assert_int_equal(diag_at(&r, 4, 3)->level, DIAG_WARNING);
	assert_string_equal(diag_at(&r, 4, 3)->msg,
			    "secret 'pw': environment variable "
			    "'DEPLOY_TEST_NOT_SET' is not set ('deploy up' "
			    "will need it)");
	assert_string_equal(diag_at(&r, 5, 3)->msg,
			    "secret 'ks': file './no-such-file.json' cannot be "
			    "read ('deploy up' will need it)");
	done(&r);
}

static void test_playbook_from_unknown_source(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "sources:\n  ops: {git: 'https://example.org/ops.git', "
		      "ref: v1}\n"
		      "providers: {local: {}}\nroles:\n"
		      "  v: {playbooks: [harden, ops/node, opz/node, "
		      "./local.yml]}\n");
	assert_int_equal(r.dl.errors, 1);
	expect_error(&r, 7, 37,
		     "playbook 'opz/node' names unknown source 'opz' (did you "
		     "mean 'ops'?)");
	done(&r);
}

static void test_all_errors_are_reported_in_file_order(void **state)
{
	struct result r;

	(void)state;
	load(&r, "version: 3\nname: X\nroles:\n  a: {provider: nope, "
		 "count: -1}\n  b: {after: [zz]}\n");
	assert_true(r.dl.errors >= 5);
	for (size_t i = 1; i < r.dl.nr; i++)
		assert_true(r.dl.items[i - 1].line < r.dl.items[i].line ||
			    (r.dl.items[i - 1].line == r.dl.items[i].line &&
			     r.dl.items[i - 1].col <= r.dl.items[i].col));
	done(&r);
}

static void test_role_name_too_long_for_host_names(void **state)
{
	struct result r;
	char text[512];

	(void)state;
	snprintf(text, sizeof(text),
		 HEAD "roles:\n  %s: {provider: local, count: 10}\n",
		 "a2345678901234567890123456789012345678901234567890123456789"
		 "012");
	load(&r, text);
	expect_error(&r, 4, 3,
		     "role name 'a23456789012345678901234567890123456789012345"
		     "67890123456789012' is too long for its host names "
		     "('a2345678901234567890123456789012345678901234567890123"
		     "456789012-9' passes 63 characters)");
	done(&r);
}

static void test_null_settings_of_a_provider_that_needs_them(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {gcp: }\nroles:\n  v: {}\n");
	expect_error(&r, 3, 13,
		     "providers.gcp needs settings (see docs/topology.md), "
		     "e.g. 'gcp: {project: my-project}'");
	done(&r);
}

static void test_quoted_ports_are_ports(void **state)
{
	struct result r;
	const struct fw_rule *fw;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  v: {firewall: [{port: \"9000\", from: world}, "
		      "{port: \"8000-8100\", from: world}, {port: \"9x\", "
		      "from: world}]}\n");
	assert_int_equal(r.dl.errors, 1);
	assert_non_null(strstr(r.dl.items[0].msg,
			       "roles.v.firewall[2].port must be a port"));
	done(&r);
	load(&r, HEAD "providers: {local: {}}\nroles:\n"
		      "  v: {firewall: [{port: \"9000\", from: world}]}\n");
	assert_int_equal(r.rc, 0);
	fw = &r.t->roles[0].firewall[0];
	assert_int_equal(fw->port_lo, 9000);
	assert_int_equal(fw->port_hi, 9000);
	assert_int_equal(fw->from[0].kind, FW_FROM_WORLD);
	done(&r);
}

static void test_world_is_not_a_role_name(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n  world: {}\n");
	expect_error(&r, 5, 3,
		     "role name 'world' is reserved: in a firewall rule's "
		     "'from' it means every address; rename the role");
	done(&r);
}

static void test_listed_hosts_count_toward_the_host_limit(void **state)
{
	struct buf text = BUF_INIT;
	struct result r;

	(void)state;
	buf_adds(&text, HEAD "roles:\n");
	for (int i = 0; i < 10; i++)
		buf_addf(&text, "  r%d: {provider: local, count: 1000}\n", i);
	buf_adds(&text, "  m:\n    provider: ssh\n    hosts:\n"
			"      - {name: m1, address: 192.0.2.1}\n");
	load(&r, text.data);
	expect_error(&r, 14, 3,
		     "role 'm' takes the topology past 10000 hosts; split it "
		     "into several topologies");
	done(&r);
	buf_free(&text);
}

static void test_secret_with_both_sources_gives_one_error_only(void **state)
{
	struct result r;

	(void)state;
	unsetenv("DEPLOY_TEST_NOT_SET");
	load(&r, HEAD "secrets: {s: {env: DEPLOY_TEST_NOT_SET, file: x}}\n"
		      "providers: {local: {}}\nroles: {v: {}}\n");
	assert_int_equal(r.dl.nr, 1);
	assert_int_equal(r.dl.errors, 1);
	done(&r);
}

static void test_builtin_playbook_variables_are_checked(void **state)
{
	struct result r;

	(void)state;
	load(&r,
	     HEAD "providers: {local: {}}\n"
		  "vars: {alert_disk_used_percent: abc}\n"
		  "roles:\n"
		  "  mon:\n"
		  "    playbooks: [monitoring]\n"
		  "    vars: {alert_instance_down_for: 5 minutes, "
		  "monitoring_ui_from: [world], alert_peers_min: -1}\n"
		  "  node:\n"
		  "    playbooks: [node-exporter]\n"
		  "    vars: {node_exporter_from: [mon, mno], metrics_port: "
		  "70000, metrics_path: metrics}\n");
	expect_error(&r, 4, 33,
		     "vars.alert_disk_used_percent: 'abc' is not a percentage "
		     "(a number from 0 to 100)");
	expect_error(&r, 8, 37,
		     "roles.mon.vars.alert_instance_down_for: '5 minutes' is "
		     "not a duration such as 30s, 5m or 1h30m");
	expect_error(&r, 8, 69,
		     "roles.mon.vars.monitoring_ui_from: 'world' is not "
		     "allowed: exporters and Prometheus answer only the roles "
		     "and networks named");
	expect_error(&r, 8, 94,
		     "roles.mon.vars.alert_peers_min: '-1' is not a whole "
		     "number from 0");
	expect_error(&r, 11, 38,
		     "roles.node.vars.node_exporter_from: no role named 'mno'");
	expect_error(&r, 11, 58,
		     "roles.node.vars.metrics_port: '70000' is not a port (1 "
		     "to 65535)");
	expect_error(&r, 11, 79,
		     "roles.node.vars.metrics_path: 'metrics' is not an URL "
		     "path such as /metrics");
	done(&r);
	/* A variable of a playbook nobody runs is not deploy's business. */
	load(&r, HEAD "providers: {local: {}}\n"
		      "vars: {alert_disk_used_percent: abc}\n"
		      "roles: {n: {}}\n");
	assert_int_equal(r.rc, 0);
	done(&r);
}

static void test_sentry_variables_are_checked(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\n"
		      "roles:\n"
		      "  v: {}\n"
		      "  s:\n"
		      "    vars: {sentry_rate: 0r/s, sentry_max_body: 1x, "
		      "sentry_rpc_conn: 0, sentry_rpc_port: 70000}\n"
		      "    sentry_of: v\n"
		      "    playbooks: [sentry]\n");
	expect_error(&r, 7, 25,
		     "roles.s.vars.sentry_rate: '0r/s' is not a rate such as "
		     "100r/s or 600r/m");
	expect_error(&r, 7, 48,
		     "roles.s.vars.sentry_max_body: '1x' is not a size such "
		     "as 1m, 512k or 1024");
	expect_error(&r, 7, 69,
		     "roles.s.vars.sentry_rpc_conn: '0' is not a whole number "
		     "from 1");
	expect_error(&r, 7, 89,
		     "roles.s.vars.sentry_rpc_port: '70000' is not a port (1 "
		     "to 65535)");
	assert_int_equal(r.dl.errors, 4);
	done(&r);
	/* A listed host's own vars too. */
	load(&r,
	     HEAD "providers: {ssh: {}}\n"
		  "roles:\n"
		  "  v: {hosts: [{name: v1, address: 10.0.0.1}]}\n"
		  "  s:\n"
		  "    sentry_of: v\n"
		  "    playbooks: [sentry]\n"
		  "    hosts:\n"
		  "      - {name: s1, address: 10.0.0.2}\n"
		  "      - {name: s2, address: 10.0.0.3, vars: {sentry_burst: "
		  "lots}}\n");
	expect_error(&r, 11, 60,
		     "roles.s.hosts[1].vars.sentry_burst: 'lots' is not a "
		     "whole number from 0");
	assert_int_equal(r.dl.errors, 1);
	done(&r);
	load(&r, HEAD "providers: {local: {}}\n"
		      "roles:\n"
		      "  v: {}\n"
		      "  s:\n"
		      "    vars: {sentry_rate: 600r/m, sentry_max_body: 512k, "
		      "sentry_rpc_conn: 1, sentry_rpc_port: null, "
		      "sentry_chain: near, sentry_ws_timeout: 1h30m}\n"
		      "    sentry_of: v\n"
		      "    playbooks: [sentry]\n");
	assert_int_equal(r.rc, 0);
	done(&r);
}

static void test_builtin_playbooks_bring_their_firewall_rules(void **state)
{
	struct result r;
	const struct role *node, *mon;

	(void)state;
	load(&r, HEAD "ssh: {admin_cidrs: [203.0.113.0/24]}\n"
		      "providers: {local: {}}\n"
		      "roles:\n"
		      "  mon: {playbooks: [monitoring, node-exporter]}\n"
		      "  node: {playbooks: [node-exporter], vars: "
		      "{metrics_port: 3030}}\n");
	assert_int_equal(r.rc, 0);
	node = topology_find_role(r.t, "node");
	mon = topology_find_role(r.t, "mon");
	/* 9100 from the roles running monitoring; metrics_port too. */
	assert_int_equal(node->nr_firewall, 2);
	assert_int_equal(node->firewall[0].port_lo, 9100);
	assert_int_equal(node->firewall[0].nr_from, 1);
	assert_string_equal(node->firewall[0].from[0].text, "mon");
	assert_ptr_equal(node->firewall[0].from[0].role, mon);
	assert_int_equal(node->firewall[1].port_lo, 3030);
	/* Prometheus and Alertmanager from ssh.admin_cidrs (no bastion). */
	assert_int_equal(mon->nr_firewall, 3);
	assert_int_equal(mon->firewall[1].port_lo, 9090);
	assert_int_equal(mon->firewall[2].port_lo, 9093);
	assert_int_equal(mon->firewall[1].from[0].kind, FW_FROM_CIDR);
	assert_string_equal(mon->firewall[1].from[0].text, "203.0.113.0/24");
	done(&r);
}

static void test_height_checks_are_validated_at_their_place(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\nroles:\n  n:\n    health:\n"
		      "      - height: {rpc: http://127.0.0.1:9000/api/v3, "
		      "field: result.height, reference: [http://a/, "
		      "\"{{vars.refs}}\"], within: 30}\n"
		      "      - height: {field: h, reference: ftp://x, "
		      "within: -1}\n"
		      "      - {height: {rpc: \"http://x/\", field: h, "
		      "reference: []}, field: h}\n"
		      "      - {height: {rpc: \"http://x/\", field: h, "
		      "reference: \"http://r/\", methd: x}}\n");
	assert_int_equal(r.rc, DEPLOY_ERR_INVALID);
	expect_error(&r, 8, 17,
		     "missing key 'rpc' in roles.n.health[1].height (e.g. "
		     "'rpc: http://127.0.0.1:9000/api/v3')");
	expect_error(&r, 8, 39,
		     "roles.n.health[1].height.reference 'ftp://x' is not an "
		     "http:// or https:// URL");
	expect_error(&r, 8, 56,
		     "roles.n.health[1].height.within must be a number of "
		     "blocks, 0 to 1000000000");
	expect_error(&r, 9, 58, "roles.n.health[2].height.reference is empty");
	expect_error(&r, 10, 71,
		     "unknown key 'methd' in roles.n.health[3].height (did "
		     "you mean 'method'?)");
	assert_int_equal(r.dl.errors, 7);
	done(&r);
}

static void test_icon_node_roles_are_checked(void **state)
{
	struct result r;

	(void)state;
	load(&r,
	     HEAD "providers: {local: {}}\n"
		  "roles:\n"
		  "  v:\n"
		  "    playbooks: [docker, icon-node]\n"
		  "    firewall: [{port: 9000, from: world}]\n"
		  "    vars: {icon_role: validator, icon_rpc_from: [world], "
		  "icon_reference: [ftp://x], icon_p2p_from: [world, "
		  "sentri]}\n");
	assert_int_equal(r.rc, DEPLOY_ERR_INVALID);
	expect_error(&r, 5, 3,
		     "roles.v runs icon-node but no image is named: set "
		     "vars.icon_image to REPO@sha256:DIGEST (or to the "
		     "image: of a docker_load artifact)");
	expect_error(&r, 7, 16,
		     "roles.v.firewall[0]: port 9000 is open to the world, "
		     "but goloop serves /admin and /metrics there: name the "
		     "roles (a sentry) or networks instead");
	expect_error(&r, 8, 23,
		     "roles.v.vars.icon_role: 'validator' is not 'prep' or "
		     "'citizen'");
	expect_error(&r, 8, 50,
		     "roles.v.vars.icon_rpc_from: 'world' is not allowed: "
		     "goloop serves /admin and /metrics on its JSON-RPC port; "
		     "name the roles (a sentry) or networks that may reach it");
	expect_error(&r, 8, 75,
		     "roles.v.vars.icon_reference[0] is not an http:// or "
		     "https:// URL");
	expect_error(&r, 8, 108,
		     "roles.v.vars.icon_p2p_from: no role named "
		     "'sentri'");
	assert_int_equal(r.dl.errors, 6);
	done(&r);

	/* No reference: an error unless the role gives its own 'synced'. */
	load(&r, HEAD
	     "providers: {local: {}}\n"
	     "roles:\n"
	     "  v:\n"
	     "    playbooks: [docker, icon-node]\n"
	     "    vars: {icon_image: \"i@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}\n");
	expect_error(&r, 5, 3,
		     "roles.v runs icon-node but names no reference endpoints "
		     "for its height gate: set vars.icon_reference (e.g. "
		     "[https://ctz.solidwallet.io/api/v3]), or give a health "
		     "check named 'synced'");
	done(&r);
	load(&r, HEAD
	     "providers: {local: {}}\n"
	     "roles:\n"
	     "  v:\n"
	     "    playbooks: [docker, icon-node]\n"
	     "    vars: {icon_image: \"i@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}\n"
	     "    health: [{name: synced, tcp: 9000}]\n");
	assert_int_equal(r.dl.errors, 0);
	done(&r);
}

static void test_icon_node_brings_its_firewall_rules(void **state)
{
	struct result r;
	const struct role *v;

	(void)state;
	load(&r, HEAD
	     "providers: {local: {}}\n"
	     "vars: {icon_image: \"i@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", icon_reference: "
	     "[\"https://ctz.solidwallet.io/api/v3\"]}\n"
	     "roles:\n"
	     "  s: {}\n"
	     "  v: {playbooks: [docker, icon-node], vars: {icon_rpc_from: "
	     "[s]}}\n"
	     "  c: {playbooks: [docker, icon-node], vars: {icon_p2p_port: "
	     "7200, icon_p2p_from: [s, 10.0.0.0/8]}}\n");
	assert_int_equal(r.rc, 0);
	/* P2P from the world by default; JSON-RPC only from the roles
	 * named. */
	v = topology_find_role(r.t, "v");
	assert_int_equal(v->nr_firewall, 2);
	assert_int_equal(v->firewall[0].port_lo, 7100);
	assert_int_equal(v->firewall[0].from[0].kind, FW_FROM_WORLD);
	assert_int_equal(v->firewall[1].port_lo, 9000);
	assert_int_equal(v->firewall[1].nr_from, 1);
	assert_ptr_equal(v->firewall[1].from[0].role,
			 topology_find_role(r.t, "s"));
	/* No icon_rpc_from: no rule for 9000 (goloop listens on loopback). */
	v = topology_find_role(r.t, "c");
	assert_int_equal(v->nr_firewall, 1);
	assert_int_equal(v->firewall[0].port_lo, 7200);
	assert_int_equal(v->firewall[0].nr_from, 2);
	assert_int_equal(v->firewall[0].from[1].kind, FW_FROM_CIDR);
	done(&r);
}

#define DIGEST \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMAGE_HINT                                                          \
	"(docker inspect --format '{{index .RepoDigests 0}}' IMAGE prints " \
	"it), or ship it as a 'docker save' artifact with 'docker_load: "   \
	"true' and its 'image:'"

static void test_image_vars_need_a_digest(void **state)
{
	struct result r;

	(void)state;
	load(&r,
	     HEAD "providers: {local: {}}\n"
		  "vars:\n"
		  "  icon_image: iconloop/icon2-node:v1.4.4\n"
		  "roles:\n"
		  "  node:\n"
		  "    vars:\n"
		  "      image: nginx\n"
		  "      node_image: nginx:latest\n"
		  "      ok_image: reg.example:5000/a/b:1@sha256:" DIGEST "\n"
		  "      short_image: nginx@sha256:0123\n"
		  "      list_image: [a]\n"
		  "      imagery: nginx\n");
	assert_int_equal(r.rc, DEPLOY_ERR_INVALID);
	expect_error(&r, 5, 15,
		     "vars.icon_image 'iconloop/icon2-node:v1.4.4' is not "
		     "pinned (a tag can be moved to other content): write it "
		     "with its digest, 'iconloop/icon2-node@sha256:<64 hex "
		     "digits>' " IMAGE_HINT);
	expect_error(&r, 9, 14,
		     "roles.node.vars.image 'nginx' is not pinned (no tag "
		     "means 'latest', which moves): write it with its digest, "
		     "'nginx@sha256:<64 hex digits>' " IMAGE_HINT);
	expect_error(&r, 10, 19,
		     "roles.node.vars.node_image 'nginx:latest' is not pinned "
		     "('latest' moves): write it with its digest, "
		     "'nginx@sha256:<64 hex digits>' " IMAGE_HINT);
	expect_error(&r, 12, 20,
		     "roles.node.vars.short_image 'nginx@sha256:0123' has a "
		     "digest of 4 hex digits, not 64");
	expect_error(&r, 13, 19,
		     "roles.node.vars.list_image must be an image reference "
		     "(REPO@sha256:<64 hex digits>), not a list");
	assert_int_equal(r.dl.nr, 5); /* ok_image and imagery are fine */
	done(&r);
}

static void test_image_of_a_docker_load_artifact_is_pinned(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\n"
		      "artifacts:\n"
		      "  node-image:\n"
		      "    url: file:///srv/node.tar\n"
		      "    sha256: " DIGEST "\n"
		      "    docker_load: true\n"
		      "    image: deploy-test-node:1\n"
		      "roles:\n"
		      "  node: {vars: {node_image: deploy-test-node:1}}\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.dl.nr, 0);
	assert_true(r.t->artifacts[0].docker_load);
	assert_string_equal(r.t->artifacts[0].image, "deploy-test-node:1");
	done(&r);
}

static void test_docker_load_artifacts_need_a_version_tag(void **state)
{
	struct result r;

	(void)state;
	load(&r, HEAD "providers: {local: {}}\n"
		      "artifacts:\n"
		      "  a: {url: file:///a.tar, sha256: " DIGEST
		      ", docker_load: true, image: foo}\n"
		      "  b: {url: file:///b.tar, sha256: " DIGEST
		      ", docker_load: true, image: \"foo:latest\"}\n"
		      "  c: {url: file:///c.tar, sha256: " DIGEST
		      ", image: \"foo:1\"}\n"
		      "  d: {url: file:///d.tar, sha256: " DIGEST
		      ", docker_load: true}\n"
		      "  e: {url: file:///e.tar, sha256: " DIGEST
		      ", docker_load: true, unpack: true, image: \"e:1\"}\n"
		      "roles:\n"
		      "  node: {}\n");
	assert_int_equal(r.rc, DEPLOY_ERR_INVALID);
	expect_error(&r, 5, 127,
		     "artifacts.a.image 'foo' has no tag (docker save records "
		     "'latest'): tag the image with its version (docker tag "
		     "IMAGE foo:v1.2.3) before 'docker save'");
	expect_error(&r, 6, 127,
		     "artifacts.b.image 'foo:latest' has the tag 'latest': tag "
		     "the image with its version (docker tag IMAGE "
		     "foo:v1.2.3) before 'docker save'");
	expect_error(&r, 7, 108,
		     "artifacts.c.image is for 'docker save' tarballs: add "
		     "'docker_load: true'");
	expect_error(&r, 8, 6,
		     "artifacts.d has docker_load: true but no 'image:' (the "
		     "REPO:TAG the tarball holds, e.g. 'image: "
		     "iconloop/icon2-node:v1.4.4')");
	expect_error(&r, 9, 128,
		     "artifacts.e: docker_load and unpack exclude each other "
		     "(docker load reads the tarball itself)");
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_topology_is_valid_with_defaults),
		cmocka_unit_test(test_empty_file_is_an_error_at_line_one),
		cmocka_unit_test(test_missing_required_keys_are_each_reported),
		cmocka_unit_test(test_unknown_key_suggests_the_closest),
		cmocka_unit_test(test_unsupported_version),
		cmocka_unit_test(test_wrong_types_name_the_path_and_what_came),
		cmocka_unit_test(test_bounds_are_checked),
		cmocka_unit_test(test_names_must_be_dns_labels),
		cmocka_unit_test(test_unknown_roles_in_after_via_and_from),
		cmocka_unit_test(test_cycle_is_reported_with_its_path),
		cmocka_unit_test(test_longer_cycle_through_via),
		cmocka_unit_test(test_role_naming_itself),
		cmocka_unit_test(test_bad_cidrs_and_ports),
		cmocka_unit_test(test_unknown_provider_suggests),
		cmocka_unit_test(test_ssh_provider_needs_hosts),
		cmocka_unit_test(test_ssh_hosts_take_defaults_from_ssh),
		cmocka_unit_test(test_hosts_only_for_ssh_provider),
		cmocka_unit_test(test_world_ssh_is_refused_unless_allowed),
		cmocka_unit_test(
			test_port_range_covering_ssh_from_world_is_refused),
		cmocka_unit_test(test_duplicate_host_names),
		cmocka_unit_test(
			test_provider_defaults_to_the_only_one_configured),
		cmocka_unit_test(test_gcp_needs_its_project),
		cmocka_unit_test(test_unused_provider_is_a_warning),
		cmocka_unit_test(
			test_secrets_missing_are_warnings_and_need_one_source),
		cmocka_unit_test(test_playbook_from_unknown_source),
		cmocka_unit_test(test_all_errors_are_reported_in_file_order),
		cmocka_unit_test(test_role_name_too_long_for_host_names),
		cmocka_unit_test(
			test_null_settings_of_a_provider_that_needs_them),
		cmocka_unit_test(test_quoted_ports_are_ports),
		cmocka_unit_test(test_world_is_not_a_role_name),
		cmocka_unit_test(
			test_height_checks_are_validated_at_their_place),
		cmocka_unit_test(test_icon_node_roles_are_checked),
		cmocka_unit_test(test_icon_node_brings_its_firewall_rules),
		cmocka_unit_test(test_sentry_of_must_name_another_role),
		cmocka_unit_test(test_sentry_variables_are_checked),
		cmocka_unit_test(test_listed_hosts_count_toward_the_host_limit),
		cmocka_unit_test(
			test_secret_with_both_sources_gives_one_error_only),
		cmocka_unit_test(test_builtin_playbook_variables_are_checked),
		cmocka_unit_test(test_image_vars_need_a_digest),
		cmocka_unit_test(
			test_image_of_a_docker_load_artifact_is_pinned),
		cmocka_unit_test(test_docker_load_artifacts_need_a_version_tag),
		cmocka_unit_test(
			test_builtin_playbooks_bring_their_firewall_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
