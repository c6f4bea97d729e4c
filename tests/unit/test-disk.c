/* SPDX-License-Identifier: MIT */
/* Data disks: each provider's device paths, and the disk in template data. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/compile.h"
#include "playbook/context.h"
#include "playbook/playbook.h"
#include "providers/provider.h"
#include "state/state.h"
#include "topology/topology.h"

static const char topology_text[] =
	"version: 1\n"
	"name: chain-1\n"
	"ssh: {user: admin, admin_cidrs: [203.0.113.7/32]}\n"
	"providers:\n"
	"  aws: {region: eu-central-1}\n"
	"  gcp: {project: p, zone: europe-west3-a}\n"
	"  digitalocean: {region: fra1}\n"
	"  local: {}\n"
	"vars: {chain: icon}\n"
	"roles:\n"
	"  a: {provider: aws, disk: {size: 100, type: gp3, mount: /srv/chain/}}\n"
	"  g: {provider: gcp, disk: 50}\n"
	"  d: {provider: digitalocean, disk: 10}\n"
	"  l: {provider: local, disk: 2}\n"
	"  plain: {provider: local}\n"
	"  metal: {provider: ssh, hosts: [{name: m1, address: 192.0.2.1}]}\n";

static struct topology *topo(void)
{
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	if (topology_parse("t.yml", topology_text, strlen(topology_text), &t,
			   &dl, &err))
		for (size_t i = 0; i < dl.nr; i++)
			fprintf(stderr, "%d:%d: %s\n", dl.items[i].line,
				dl.items[i].col, dl.items[i].msg);
	assert_non_null(t);
	diag_list_free(&dl);
	error_clear(&err);
	return t;
}

static struct state *empty_state(void)
{
	struct state *s = NULL;
	struct error err;

	error_init(&err);
	assert_int_equal(state_from_text("test", NULL, 0, "chain-1", &s, &err),
			 0);
	error_clear(&err);
	return s;
}

/* The host's device paths as compact JSON. */
static char *devices(struct topology *t, struct state *s, const char *host)
{
	const struct host *h = topology_find_host(t, host);
	cJSON *paths = cJSON_CreateArray();
	char *text;

	assert_non_null(h);
	provider_disk_devices(h->role->provider, t, s, h, paths);
	text = cJSON_PrintUnformatted(paths);
	cJSON_Delete(paths);
	return text;
}

static void expect_devices(struct topology *t, struct state *s,
			   const char *host, const char *json)
{
	char *got = devices(t, s, host);

	if (strcmp(got, json))
		fail_msg("%s: %s, expected %s", host, got, json);
	free(got);
}

/* AWS: the NVMe path of the volume the instance's mapping names, once
 * recorded; the device name asked for, and Xen's name for it, always. */
static void test_aws_devices_from_the_recorded_volume(void **unused)
{
	struct topology *t = topo();
	struct state *s = empty_state();
	struct state_resource *r;

	(void)unused;
	expect_devices(t, s, "a-0", "[\"/dev/sdf\",\"/dev/xvdf\"]");
	r = state_resource_pending(s, "aws", "host", "a-0", "a", "token");
	state_resource_set_id(r, "i-0abc");
	r->attributes = cJSON_CreateObject();
	cJSON_AddStringToObject(r->attributes, "data_volume",
				"vol-0123456789abcdef0");
	expect_devices(t, s, "a-0",
		       "[\"/dev/disk/by-id/"
		       "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0\","
		       "\"/dev/sdf\",\"/dev/xvdf\"]");
	/* Something else than a volume id is not made into a path. */
	cJSON_ReplaceItemInObjectCaseSensitive(r->attributes, "data_volume",
					       cJSON_CreateString("x/../y"));
	expect_devices(t, s, "a-0", "[\"/dev/sdf\",\"/dev/xvdf\"]");
	state_free(s);
	topology_free(t);
}

static void test_gcp_local_and_ssh_devices(void **unused)
{
	struct topology *t = topo();
	struct state *s = empty_state();

	(void)unused;
	expect_devices(t, s, "g-0", "[\"/dev/disk/by-id/google-data\"]");
	expect_devices(t, s, "l-0", "[\"/dev/disk/by-id/deploy-data\"]");
	expect_devices(t, s, "m1", "[]");
	state_free(s);
	topology_free(t);
}

/* DigitalOcean: the volume's name (its recorded key), as its images name
 * it under /dev/disk/by-id; before it is recorded, the name it will get. */
static void test_digitalocean_devices_by_volume_name(void **unused)
{
	struct topology *t = topo();
	struct state *s = empty_state();

	(void)unused;
	expect_devices(
		t, s, "d-0",
		"[\"/dev/disk/by-id/scsi-0DO_Volume_deploy-chain-1-d-0\"]");
	state_resource_pending(s, "digitalocean", "volume", "d-0", "d",
			       "deploy-chain-1-d-0-adopted");
	expect_devices(
		t, s, "d-0",
		"[\"/dev/disk/by-id/scsi-0DO_Volume_deploy-chain-1-d-0-adopted\"]");
	state_free(s);
	topology_free(t);
}

static char *at(const cJSON *d, const char *a, const char *b, const char *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	if (c)
		v = cJSON_GetObjectItemCaseSensitive(v, c);
	return v ? cJSON_PrintUnformatted(v) : strdup("<missing>");
}

static void expect_at(const cJSON *d, const char *a, const char *b,
		      const char *c, const char *json)
{
	char *got = at(d, a, b, c);

	if (strcmp(got, json))
		fail_msg("%s.%s.%s: %s, expected %s", a, b ? b : "", c ? c : "",
			 got, json);
	free(got);
}

static struct playbook *book(const char *text)
{
	struct playbook *pb = NULL;
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	playbook_parse("pb.yml", text, strlen(text), NULL, &pb, &dl, &err);
	for (size_t i = 0; i < dl.nr; i++)
		fprintf(stderr, "%d:%d: %s\n", dl.items[i].line,
			dl.items[i].col, dl.items[i].msg);
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

/* role.disk: size, type, mount and this host's devices; null without a
 * disk. disk_vars defaults go under the mount, below the topology's. */
static void test_disk_in_template_data(void **unused)
{
	struct topology *t = topo();
	cJSON *devs = cJSON_CreateArray();
	struct host_address addrs[] = {
		{ "a-0", "198.51.100.1", "10.0.0.1", devs },
	};
	struct context_input in = { NULL, 0, addrs, 1 };
	struct playbook *pb = book("name: n\n"
				   "vars: {data: /var/lib/n, other: /x}\n"
				   "disk_vars: {data: n/db}\n"
				   "steps: [{shell: 'true'}]\n");
	struct host_context *c;
	cJSON *d;

	(void)unused;
	cJSON_AddItemToArray(devs, cJSON_CreateString("/dev/sdf"));
	c = build(t, "a-0", &in);
	expect_at(c->data, "role", "disk", NULL,
		  "{\"size\":100,\"type\":\"gp3\",\"mount\":\"/srv/chain/\","
		  "\"devices\":[\"/dev/sdf\"]}");
	d = context_playbook_data(c, pb);
	expect_at(d, "vars", "data", NULL, "\"/srv/chain/n/db\"");
	expect_at(d, "vars", "other", NULL, "\"/x\"");
	context_data_free(d);
	context_free(c);

	/* No disk: null, and the plain defaults. */
	c = build(t, "plain-0", &in);
	expect_at(c->data, "role", "disk", NULL, "null");
	d = context_playbook_data(c, pb);
	expect_at(d, "vars", "data", NULL, "\"/var/lib/n\"");
	context_data_free(d);
	context_free(c);

	/* Devices not given: an empty list (the mount step says so). */
	c = build(t, "g-0", NULL);
	expect_at(c->data, "role", "disk", "devices", "[]");
	expect_at(c->data, "role", "disk", "mount", "\"/data\"");
	expect_at(c->data, "role", "disk", "type", "null");
	context_free(c);

	playbook_free(pb);
	cJSON_Delete(devs);
	topology_free(t);
}

/* A variable the topology sets wins over a disk_vars default. */
static void test_topology_var_wins_over_disk_vars(void **unused)
{
	static const char text[] =
		"version: 1\nname: c\n"
		"providers: {local: {}}\n"
		"roles:\n"
		"  l: {provider: local, disk: 2, vars: {data: /mine}}\n";
	struct topology *t = NULL;
	struct diag_list dl;
	struct error err;
	struct playbook *pb = book("name: n\n"
				   "vars: {data: /var/lib/n}\n"
				   "disk_vars: {data: n}\n"
				   "steps: [{shell: 'true'}]\n");
	struct host_context *c;
	cJSON *d;

	(void)unused;
	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(
		topology_parse("t.yml", text, strlen(text), &t, &dl, &err), 0);
	c = build(t, "l-0", NULL);
	d = context_playbook_data(c, pb);
	expect_at(d, "vars", "data", NULL, "\"/mine\"");
	context_data_free(d);
	context_free(c);
	playbook_free(pb);
	topology_free(t);
	diag_list_free(&dl);
	error_clear(&err);
}

/* The script holds this line exactly. */
static void expect_script_line(const struct script *sc, const char *line)
{
	const char *p = sc->text.data;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == sc->text.data || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fprintf(stderr, "%s\n", strstr(sc->text.data, "_dp_main() {"));
	fail_msg("no line: %s", line);
}

/* The built-in disk playbook compiles to one mount step with the host's
 * devices, the role's mount and the playbook's defaults. */
static void test_builtin_disk_playbook_compiles(void **unused)
{
	struct topology *t = topo();
	struct state *s = empty_state();
	const char *src = getenv("DEPLOY_SRCDIR");
	cJSON *devs[2] = { cJSON_CreateArray(), cJSON_CreateArray() };
	struct host_address addrs[] = {
		{ "a-0", "198.51.100.1", "10.0.0.1", devs[0] },
		{ "l-0", "10.231.0.2", NULL, devs[1] },
	};
	struct context_input in = { NULL, 0, addrs, 2 };
	struct compile_opts o = { .nonce = "0123abcd",
				  .notify_dir = "/tmp/notify" };
	struct playbook *pb = NULL;
	struct diag_list dl;
	struct error err;
	char path[4096];
	const char *hosts[] = { "a-0", "l-0" };
	const char *want[] = {
		"\t_dp_step 1 'disk: data disk' '' '0' dp_mount '/srv/chain/' "
		"'ext4' 'defaults' '120' "
		"'/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc' "
		"'/dev/sdf' '/dev/xvdf'",
		"\t_dp_step 1 'disk: data disk' '' '0' dp_mount '/data' 'ext4' "
		"'defaults' '120' '/dev/disk/by-id/deploy-data'",
	};
	struct state_resource *r;

	(void)unused;
	assert_non_null(src);
	r = state_resource_pending(s, "aws", "host", "a-0", "a", "token");
	r->attributes = cJSON_CreateObject();
	cJSON_AddStringToObject(r->attributes, "data_volume", "vol-0abc");
	for (size_t i = 0; i < 2; i++)
		provider_disk_devices(
			topology_find_host(t, hosts[i])->role->provider, t, s,
			topology_find_host(t, hosts[i]), devs[i]);
	snprintf(path, sizeof(path), "%s/playbooks/disk.yml", src);
	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(playbook_load(path, src, &pb, &dl, &err), 0);
	for (size_t i = 0; i < 2; i++) {
		struct host_context *c = build(t, hosts[i], &in);
		struct script *sc = NULL;

		assert_int_equal(compile_script(c, &pb, 1, &o, &sc, &err), 0);
		expect_script_line(sc, want[i]);
		script_free(sc);
		context_free(c);
	}
	/* No devices known for the host: an error, at the step. */
	{
		struct host_context *c = build(t, "g-0", &in);
		struct script *sc = NULL;

		assert_int_equal(compile_script(c, &pb, 1, &o, &sc, &err),
				 DEPLOY_ERR_INVALID);
		assert_non_null(strstr(err.msg, "'role.disk.devices' is an "
						"empty list on this host"));
		script_free(sc);
		context_free(c);
	}
	playbook_free(pb);
	diag_list_free(&dl);
	error_clear(&err);
	cJSON_Delete(devs[0]);
	cJSON_Delete(devs[1]);
	state_free(s);
	topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_devices_from_the_recorded_volume),
		cmocka_unit_test(test_gcp_local_and_ssh_devices),
		cmocka_unit_test(test_digitalocean_devices_by_volume_name),
		cmocka_unit_test(test_disk_in_template_data),
		cmocka_unit_test(test_topology_var_wins_over_disk_vars),
		cmocka_unit_test(test_builtin_disk_playbook_compiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
