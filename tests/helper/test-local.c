/* SPDX-License-Identifier: MIT */
/* deploy-test-tool local: boot and remove local hosts, for tests. */

/*
 * deploy-test-tool local: the local provider's host lifecycle, for the
 * shell tests, until `deploy up` drives it.
 *   local up TOPOLOGY SUBNET PUBKEY_FILE HOST...   boot hosts, print
 *                                                  "HOST ADDRESS HOSTKEY"
 *   local down TOPOLOGY SUBNET HOST...             remove hosts (and the
 *                                                  bridge when none is left)
 *   local running TOPOLOGY HOST                    exit 0 if it runs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/local/nspawn.h"
#include "ssh/probe.h"
#include "test-tool.h"
#include "util/buf.h"
#include "util/xalloc.h"

static int fail(struct error *err)
{
	char msg[1024];

	error_format(err, msg, sizeof(msg));
	fprintf(stderr, "deploy-test-tool: %s\n", msg);
	error_clear(err);
	return 1;
}

static int up(struct local_net *net, const char *keyfile, int nr, char **names)
{
	struct local_host *hosts = xcalloc((size_t)nr, sizeof(*hosts));
	struct buf keys = BUF_INIT;
	struct error err;
	char *base = NULL;
	int rc = 1;

	error_init(&err);
	if (local_check_root(&err)) {
		rc = fail(&err);
		goto out;
	}
	if (buf_read_file(&keys, keyfile)) {
		fprintf(stderr, "deploy-test-tool: cannot read %s\n", keyfile);
		goto out;
	}
	if (local_base_image(net, &base, &err) || local_net_up(net, &err)) {
		rc = fail(&err);
		goto out;
	}
	for (int i = 0; i < nr; i++) {
		hosts[i].name = names[i];
		hosts[i].slot = i;
		hosts[i].authorized_keys = keys.data;
		if (local_host_up(net, base, &hosts[i], &err)) {
			rc = fail(&err);
			goto out;
		}
	}
	{
		struct ssh_probe_target *v = xcalloc((size_t)nr, sizeof(*v));

		for (int i = 0; i < nr; i++) {
			v[i].name = hosts[i].name;
			v[i].address = hosts[i].address;
			v[i].ready = !hosts[i].booted;
		}
		rc = ssh_probe_wait(v, (size_t)nr, 60000, NULL, NULL, NULL,
				    &err);
		free(v);
		if (rc) {
			rc = fail(&err);
			goto out;
		}
		rc = 1;
	}
	for (int i = 0; i < nr; i++)
		printf("%s %s %s\n", hosts[i].name, hosts[i].address,
		       hosts[i].host_key);
	rc = 0;
out:
	buf_free(&keys);
	free(base);
	free(hosts);
	return rc;
}

static int down(struct local_net *net, int nr, char **names)
{
	struct error err;
	int rc = 0;

	error_init(&err);
	for (int i = 0; i < nr; i++)
		if (local_host_down(net, names[i], &err))
			rc = fail(&err);
	if (!rc && local_net_down(net, &err))
		rc = fail(&err);
	return rc;
}

int cmd_local(int argc, char **argv)
{
	struct local_net net = { 0 };

	net.apt_proxy = getenv("DEPLOY_TEST_APT_PROXY");
	if (argc >= 3 && !strcmp(argv[1], "running")) {
		net.topology = argv[2];
		return argc == 4 && local_host_running(&net, argv[3]) ? 0 : 1;
	}
	if (argc >= 6 && !strcmp(argv[1], "up")) {
		net.topology = argv[2];
		net.subnet = argv[3];
		return up(&net, argv[4], argc - 5, argv + 5);
	}
	if (argc >= 5 && !strcmp(argv[1], "down")) {
		net.topology = argv[2];
		net.subnet = argv[3];
		return down(&net, argc - 4, argv + 4);
	}
	fprintf(stderr, "usage: deploy-test-tool local up|down|running ...\n");
	return 64;
}
