/* SPDX-License-Identifier: MIT */
/* playbook/context: template data per host, firewall sets, secrets. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbook/context.h"
#include "util/proc.h"
#include "playbook/playbook.h"
#include "topology/topology.h"
#include "util/buf.h"

static struct topology *topo(const char *text)
{
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	if (topology_parse("t.yml", text, strlen(text), &t, &dl, &err))
		for (size_t i = 0; i < dl.nr; i++)
			fprintf(stderr, "%d:%d: %s\n", dl.items[i].line,
				dl.items[i].col, dl.items[i].msg);
	assert_non_null(t);
	diag_list_free(&dl);
	error_clear(&err);
	return t;
}

static struct playbook *book(const char *text)
{
	struct playbook *pb = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	playbook_parse("pb.yml", text, strlen(text), NULL, &pb, &dl, &err);
	assert_non_null(pb);
	diag_list_free(&dl);
	error_clear(&err);
	return pb;
}

static struct host_context *build(struct topology *t, const char *host,
				  const struct context_input *in)
{
	struct host_context *c = NULL;
	struct error err;

	error_init(&err);
	assert_int_equal(
		context_build(t, topology_find_host(t, host), in, &c, &err), 0);
	error_clear(&err);
	return c;
}

/* The value at a dotted path, as compact JSON. */
static char *at(const cJSON *d, const char *path)
{
	char *copy = strdup(path), *save = NULL;
	const cJSON *v = d;

	for (char *p = strtok_r(copy, ".", &save); p && v;
	     p = strtok_r(NULL, ".", &save))
		v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(p))
				     : cJSON_GetObjectItemCaseSensitive(v, p);
	free(copy);
	return v ? cJSON_PrintUnformatted(v) : strdup("<missing>");
}

static void expect_at(const cJSON *d, const char *path, const char *json)
{
	char *got = at(d, path);

	if (strcmp(got, json))
		fail_msg("%s: got %s, want %s", path, got, json);
	free(got);
}

#define FLEET                                                                 \
	"version: 1\nname: fleet\nnetwork: testnet\n"                         \
	"ssh: {user: admin, admin_cidrs: [203.0.113.7/32, "                   \
	"\"2001:db8:1::/48\"]}\n"                                             \
	"vars: {chain: icon, level: topology, nested: {a: 1}}\n"              \
	"providers: {ssh: {}}\n"                                              \
	"roles:\n"                                                            \
	"  bastion:\n"                                                        \
	"    provider: ssh\n"                                                 \
	"    hosts: [{name: b1, address: 198.51.100.1}]\n"                    \
	"  validator:\n"                                                      \
	"    provider: ssh\n"                                                 \
	"    via: bastion\n"                                                  \
	"    vars: {level: role, role_only: yes}\n"                           \
	"    playbooks: [harden, docker]\n"                                   \
	"    firewall:\n"                                                     \
	"      - {port: 7100, from: [sentry]}\n"                              \
	"      - {port: 9000, from: world}\n"                                 \
	"      - {port: 8000-8100, proto: udp, from: [10.0.0.0/8, "           \
	"\"2001:db8::/32\"]}\n"                                               \
	"    hosts:\n"                                                        \
	"      - {name: v1, address: 198.51.100.2, user: root, port: 2222,\n" \
	"         vars: {level: host}}\n"                                     \
	"  sentry:\n"                                                         \
	"    provider: ssh\n"                                                 \
	"    sentry_of: validator\n"                                          \
	"    hosts:\n"                                                        \
	"      - {name: s1, address: 198.51.100.3}\n"                         \
	"      - {name: s2, address: \"2001:db8::3\"}\n"

static void test_host_and_role_data(void **state)
{
	struct topology *t = topo(FLEET);
	struct host_context *c = build(t, "v1", NULL);

	(void)state;
	expect_at(c->data, "host",
		  "{\"name\":\"v1\",\"role\":\"validator\",\"index\":0,"
		  "\"address\":\"198.51.100.2\",\"private_address\":"
		  "\"198.51.100.2\",\"port\":2222,\"private_address_url\":"
		  "\"198.51.100.2\",\"user\":\"root\",\"root_login\":true}");
	expect_at(c->data, "role.name", "\"validator\"");
	expect_at(c->data, "role.via", "\"bastion\"");
	expect_at(c->data, "role.is_bastion", "false");
	expect_at(c->data, "role.docker", "true");
	expect_at(c->data, "role.playbooks", "[\"harden\",\"docker\"]");
	expect_at(c->data, "role.vars",
		  "{\"level\":\"role\",\"role_only\":"
		  "\"yes\"}");
	expect_at(c->data, "topology",
		  "{\"name\":\"fleet\",\"network\":"
		  "\"testnet\"}");
	expect_at(c->data, "ssh.user", "\"admin\"");
	expect_at(c->data, "ssh.admin_cidrs",
		  "[\"203.0.113.7/32\",\"2001:db8:1::/48\"]");
	context_free(c);
	c = build(t, "b1", NULL);
	expect_at(c->data, "role.is_bastion", "true");
	expect_at(c->data, "host.user", "\"admin\"");
	expect_at(c->data, "host.root_login", "false");
	context_free(c);
	topology_free(t);
}

static void test_sentry_of_names_the_fronted_hosts(void **state)
{
	struct topology *t = topo(FLEET);
	struct host_context *c = build(t, "s2", NULL);

	(void)state;
	expect_at(c->data, "role.sentry_of", "\"validator\"");
	expect_at(c->data, "sentry_of.name", "\"validator\"");
	expect_at(c->data, "sentry_of.count", "1");
	expect_at(c->data, "sentry_of.hosts",
		  "[{\"name\":\"v1\",\"role\":\"validator\",\"index\":0,"
		  "\"address\":\"198.51.100.2\",\"private_address\":"
		  "\"198.51.100.2\",\"port\":2222,\"private_address_url\":"
		  "\"198.51.100.2\"}]");
	context_free(c);
	c = build(t, "v1", NULL);
	expect_at(c->data, "role.sentry_of", "null");
	expect_at(c->data, "sentry_of", "null");
	context_free(c);
	topology_free(t);
}

static void test_vars_precedence_defaults_topology_role_host(void **state)
{
	struct topology *t = topo(FLEET);
	struct host_context *c = build(t, "v1", NULL);
	struct playbook *pb = book("name: p\n"
				   "vars: {level: playbook, chain: x, "
				   "only_default: 1, nested: {b: 2}}\n"
				   "steps: []\n");
	cJSON *d = context_playbook_data(c, pb);

	(void)state;
	expect_at(c->data, "vars.level", "\"host\"");
	expect_at(d, "vars.level", "\"host\"");
	expect_at(d, "vars.chain", "\"icon\"");
	expect_at(d, "vars.only_default", "1");
	expect_at(d, "vars.role_only", "\"yes\"");
	/* A mapping at a higher level replaces the whole value. */
	expect_at(d, "vars.nested", "{\"a\":1}");
	expect_at(d, "playbook.name", "\"p\"");
	context_data_free(d);
	context_free(c);
	/* The sentry gets topology vars over the defaults only. */
	c = build(t, "s1", NULL);
	d = context_playbook_data(c, pb);
	expect_at(d, "vars.level", "\"topology\"");
	expect_at(d, "vars.role_only", "<missing>");
	context_data_free(d);
	context_free(c);
	playbook_free(pb);
	topology_free(t);
}

static void test_every_host_by_role_with_addresses(void **state)
{
	struct topology *t = topo(FLEET);
	struct host_context *c = build(t, "s1", NULL);

	(void)state;
	expect_at(c->data, "roles.validator.hosts",
		  "[{\"name\":\"v1\",\"role\":\"validator\",\"index\":0,"
		  "\"address\":\"198.51.100.2\",\"private_address\":"
		  "\"198.51.100.2\",\"port\":2222}]");
	expect_at(c->data, "roles.sentry.count", "2");
	expect_at(c->data, "roles.sentry.hosts.1.name", "\"s2\"");
	expect_at(c->data, "roles.sentry.hosts.1.index", "1");
	expect_at(c->data, "hosts.0.name", "\"b1\"");
	expect_at(c->data, "hosts.3.name", "\"s2\"");
	context_free(c);
	topology_free(t);
}

static void test_created_hosts_have_null_addresses_until_given(void **state)
{
	struct topology *t =
		topo("version: 1\nname: f\nproviders: {local: {}}\n"
		     "ssh: {admin_cidrs: [203.0.113.7/32]}\n"
		     "roles:\n  node: {count: 2, firewall: [{port: 1, from: "
		     "node}]}\n  other: {}\n");
	struct host_address addrs[] = {
		{ "node-1", "10.0.0.2", "192.168.0.2", NULL },
	};
	struct context_input in = { .addresses = addrs, .nr_addresses = 1 };
	struct host_context *c = build(t, "other-0", NULL);

	(void)state;
	expect_at(c->data, "roles.node.hosts.0.address", "null");
	expect_at(c->data, "roles.node.hosts.0.private_address", "null");
	expect_at(c->data, "host.address", "null");
	context_free(c);
	/* node's firewall needs node-0's address, which nobody knows yet. */
	c = build(t, "node-1", &in);
	expect_at(c->data, "host.address", "\"10.0.0.2\"");
	expect_at(c->data, "host.private_address", "\"192.168.0.2\"");
	expect_at(c->data, "firewall", "null");
	assert_string_equal(c->firewall_error,
			    "the address of host 'node-0' is not known yet");
	context_free(c);
	topology_free(t);
}

static void test_firewall_rules_resolve_to_address_sets(void **state)
{
	struct topology *t = topo(FLEET);
	struct host_context *c = build(t, "v1", NULL);

	(void)state;
	assert_null(c->firewall_error);
	/* Behind a bastion: SSH from the bastion's hosts only. */
	expect_at(c->data, "firewall.behind_bastion", "true");
	expect_at(c->data, "firewall.ssh_port", "2222");
	expect_at(c->data, "firewall.ssh_v4_set", "\"198.51.100.1\"");
	expect_at(c->data, "firewall.ssh_v6_set", "null");
	/* A Docker host keeps Docker's tables. */
	expect_at(c->data, "firewall.flush_ruleset", "false");
	expect_at(c->data, "firewall.rules.0",
		  "{\"proto\":\"tcp\",\"dport\":\"7100\",\"world\":false,"
		  "\"v4_set\":\"198.51.100.3\",\"v6_set\":\"2001:db8::3\","
		  "\"v4\":[\"198.51.100.3\"],\"v6\":[\"2001:db8::3\"],"
		  "\"comment\":\"7100/tcp from sentry\"}");
	expect_at(c->data, "firewall.rules.1.world", "true");
	expect_at(c->data, "firewall.rules.2.dport", "\"8000-8100\"");
	expect_at(c->data, "firewall.rules.2.proto", "\"udp\"");
	expect_at(c->data, "firewall.rules.2.v4_set", "\"10.0.0.0/8\"");
	expect_at(c->data, "firewall.rules.2.v6_set", "\"2001:db8::/32\"");
	context_free(c);
	/* Not behind one: SSH from admin_cidrs, both families. */
	c = build(t, "s1", NULL);
	expect_at(c->data, "firewall.behind_bastion", "false");
	expect_at(c->data, "firewall.flush_ruleset", "true");
	expect_at(c->data, "firewall.ssh_v4_set", "\"203.0.113.7/32\"");
	expect_at(c->data, "firewall.ssh_v6_set", "\"2001:db8:1::/48\"");
	expect_at(c->data, "firewall.rules", "[]");
	context_free(c);
	topology_free(t);
}

static void test_no_admin_cidrs_is_a_firewall_error(void **state)
{
	struct topology *t = topo("version: 1\nname: f\nproviders: {ssh: {}}\n"
				  "roles:\n  n: {hosts: [{name: a, address: "
				  "node.example.net}]}\n");
	struct host_context *c = build(t, "a", NULL);

	(void)state;
	expect_at(c->data, "firewall", "null");
	assert_non_null(strstr(c->firewall_error, "ssh.admin_cidrs is empty"));
	context_free(c);
	topology_free(t);
}

static void test_secrets_by_name_and_redaction(void **state)
{
	struct topology *t = topo(FLEET);
	struct secret_value secrets[] = {
		{ "password", "hunter2", 7 },
		{ "long", "hunter2-and-more", 16 },
	};
	struct context_input in = { .secrets = secrets, .nr_secrets = 2 };
	struct host_context *c = build(t, "v1", &in);
	const char *text = "pw hunter2-and-more / hunter2!";
	struct buf out = BUF_INIT;

	(void)state;
	expect_at(c->data, "secrets.password", "\"hunter2\"");
	assert_true(context_has_secret(c, text, strlen(text)));
	assert_false(context_has_secret(c, "hunter", 6));
	context_redact(c, text, strlen(text), &out);
	assert_string_equal(out.data, "pw [secret long] / [secret password]!");
	buf_reset(&out);
	/* Encoded, as a step may print it. */
	context_redact(c, "b64 aHVudGVyMg== end", 20, &out);
	assert_string_equal(out.data, "b64 [secret password] end");
	buf_free(&out);
	context_free(c);
	topology_free(t);
}

static void test_secrets_load_from_env_and_files(void **state)
{
	char dir[] = "/tmp/test-playbook-ctx.XXXXXX";
	struct buf text = BUF_INIT, path = BUF_INIT;
	struct secret_value *v = NULL;
	struct topology *t;
	struct diag_list dl;
	size_t nr = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	buf_addf(&path, "%s/key.txt", dir);
	f = fopen(path.data, "w");
	fputs("file-secret\n", f);
	fclose(f);
	setenv("TEST_PLAYBOOK_SECRET", "env-secret", 1);
	unsetenv("TEST_PLAYBOOK_UNSET");
	buf_addf(&text,
		 "version: 1\nname: f\nproviders: {local: {}}\n"
		 "secrets:\n  a: {env: TEST_PLAYBOOK_SECRET}\n"
		 "  b: {file: %s}\n  c: {env: TEST_PLAYBOOK_UNSET}\n"
		 "roles: {n: {}}\n",
		 path.data);
	t = topo(text.data);
	diag_list_init(&dl);
	secrets_load(t, &v, &nr, &dl);
	assert_int_equal(nr, 2);
	assert_string_equal(v[0].name, "a");
	assert_string_equal(v[0].value, "env-secret");
	assert_string_equal(v[1].name, "b");
	assert_string_equal(v[1].value, "file-secret\n");
	/* Read, the variable is not passed on to what deploy runs. */
	{
		char *argv[] = { "env", NULL };
		struct proc_result res;

		assert_int_equal(
			proc_run(argv, NULL, 10000, 1 << 20, &res, NULL), 0);
		assert_null(strstr(res.out.data, "env-secret"));
		proc_result_free(&res);
	}
	assert_int_equal(dl.warnings, 1);
	assert_string_equal(dl.items[0].msg,
			    "secret 'c': environment variable "
			    "'TEST_PLAYBOOK_UNSET' is not set");
	secrets_free(v, nr);
	diag_list_free(&dl);
	topology_free(t);
	remove(path.data);
	rmdir(dir);
	buf_free(&text);
	buf_free(&path);
}

#define MONITORED                                                 \
	"version: 1\nname: f\nproviders: {ssh: {}}\n"             \
	"ssh: {admin_cidrs: [203.0.113.7/32]}\n"                  \
	"secrets: {alertmanager_webhook_url: {env: T_HOOK}}\n"    \
	"roles:\n"                                                \
	"  mon:\n"                                                \
	"    playbooks: [firewall, monitoring]\n"                 \
	"    hosts: [{name: m1, address: 198.51.100.1}]\n"        \
	"  node:\n"                                               \
	"    playbooks: [firewall, node-exporter]\n"              \
	"    vars: {metrics_port: 3030, public_rpc_port: 8080,\n" \
	"           public_rpc_path: /status}\n"                  \
	"    hosts:\n"                                            \
	"      - {name: n1, address: 198.51.100.2}\n"             \
	"      - {name: n2, address: \"2001:db8::2\"}\n"          \
	"  sentry:\n"                                             \
	"    sentry_of: node\n"                                   \
	"    vars: {sentry_chain: near}\n"                        \
	"    hosts: [{name: s1, address: 198.51.100.5}]\n"

static void test_monitoring_targets_from_the_topology(void **state)
{
	struct topology *t = topo(MONITORED);
	struct host_address addrs[] = {
		{ "n1", "198.51.100.2", "10.0.0.2", NULL },
	};
	struct secret_value hook[] = {
		{ "alertmanager_webhook_url", "http://10.0.0.9/h", 17 },
	};
	struct context_input in = { hook, 1, addrs, 1 };
	struct host_context *c = build(t, "m1", &in);
	cJSON *sd;

	(void)state;
	expect_at(c->data, "monitoring.receivers",
		  "{\"smtp_password\":false,\"slack\":false,"
		  "\"webhook\":true}");
	sd = cJSON_Parse(
		cJSON_GetObjectItem(cJSON_GetObjectItem(c->data, "monitoring"),
				    "node_exporter_sd")
			->valuestring);
	/* The private address, IPv6 in brackets, one group per host. */
	expect_at(sd, "0",
		  "{\"targets\":[\"10.0.0.2:9100\"],\"labels\":{\"host\":"
		  "\"n1\",\"role\":\"node\"}}");
	expect_at(sd, "1.targets", "[\"[2001:db8::2]:9100\"]");
	cJSON_Delete(sd);
	sd = cJSON_Parse(
		cJSON_GetObjectItem(cJSON_GetObjectItem(c->data, "monitoring"),
				    "metrics_sd")
			->valuestring);
	expect_at(sd, "0.targets", "[\"10.0.0.2:3030\"]");
	expect_at(sd, "0.labels.__metrics_path__", "\"/metrics\"");
	cJSON_Delete(sd);
	sd = cJSON_Parse(
		cJSON_GetObjectItem(cJSON_GetObjectItem(c->data, "monitoring"),
				    "probes_sd")
			->valuestring);
	/* Probes go to the public address. */
	expect_at(sd, "0.targets", "[\"http://198.51.100.2:8080/status\"]");
	expect_at(sd, "0.labels.__param_module", "\"http_2xx\"");
	/* A sentry: its chain's RPC port and question. */
	expect_at(sd, "2.targets", "[\"http://198.51.100.5:3030/status\"]");
	expect_at(sd, "2.labels.__param_module", "\"near_rpc\"");
	expect_at(sd, "2.labels.host", "\"s1\"");
	cJSON_Delete(sd);
	/* 9090 and 9093 from admin_cidrs. */
	expect_at(c->data, "firewall.rules.0.dport", "\"9090\"");
	expect_at(c->data, "firewall.rules.0.v4_set", "\"203.0.113.7/32\"");
	context_free(c);
	/* A node: 9100 and 3030 from the monitoring host only. */
	c = build(t, "n1", &in);
	expect_at(c->data, "monitoring", "null");
	expect_at(c->data, "host.private_address_url", "\"10.0.0.2\"");
	expect_at(c->data, "firewall.rules.0.comment", "\"9100/tcp from mon\"");
	expect_at(c->data, "firewall.rules.0.v4_set", "\"198.51.100.1\"");
	expect_at(c->data, "firewall.rules.1.dport", "\"3030\"");
	context_free(c);
	topology_free(t);
}

static void test_receiver_secret_that_would_break_the_file(void **state)
{
	struct topology *t = topo(MONITORED);
	struct secret_value hook[] = {
		{ "alertmanager_webhook_url", "http://x/\"a", 11 },
	};
	struct context_input in = { .secrets = hook, .nr_secrets = 1 };
	struct host_context *c = NULL;
	struct error err;

	(void)state;
	error_init(&err);
	assert_int_equal(
		context_build(t, topology_find_host(t, "m1"), &in, &c, &err),
		DEPLOY_ERR_INVALID);
	assert_null(c);
	assert_non_null(strstr(err.msg, "secret 'alertmanager_webhook_url'"));
	assert_null(strstr(err.msg, "http://x"));
	error_clear(&err);
	topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_and_role_data),
		cmocka_unit_test(
			test_vars_precedence_defaults_topology_role_host),
		cmocka_unit_test(test_every_host_by_role_with_addresses),
		cmocka_unit_test(
			test_created_hosts_have_null_addresses_until_given),
		cmocka_unit_test(test_firewall_rules_resolve_to_address_sets),
		cmocka_unit_test(test_no_admin_cidrs_is_a_firewall_error),
		cmocka_unit_test(test_sentry_of_names_the_fronted_hosts),
		cmocka_unit_test(test_secrets_by_name_and_redaction),
		cmocka_unit_test(test_secrets_load_from_env_and_files),
		cmocka_unit_test(test_monitoring_targets_from_the_topology),
		cmocka_unit_test(
			test_receiver_secret_that_would_break_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
