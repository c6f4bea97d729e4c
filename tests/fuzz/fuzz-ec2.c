/* SPDX-License-Identifier: MIT */
/* libFuzzer target: EC2 answers, read as the aws provider reads them. */

/*
 * libFuzzer target: any bytes as an EC2 answer. The first byte picks the
 * HTTP status (2xx, 4xx, 5xx); the rest is the body, turned into a
 * document or an error by ec2_answer() and walked the way the provider
 * reads DescribeInstances, Describe*Set and error answers (instances
 * across reservations, tags, id sets, nextToken). Nothing may crash, leak
 * or overflow, and an error message stays inside struct error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/aws-internal.h"
#include "providers/aws/ec2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 200, 400, 401, 403, 500, 503, 302 };

static const struct {
	const char *set, *elem;
} sets[] = {
	{ "vpcSet", "vpcId" },
	{ "subnetSet", "subnetId" },
	{ "internetGatewaySet", "internetGatewayId" },
	{ "routeTableSet", "routeTableId" },
	{ "securityGroupInfo", "groupId" },
	{ "keySet", "keyName" },
	{ "addressesSet", "allocationId" },
	{ "imagesSet", "imageId" },
};

static void walk_instances(xmlNodePtr root)
{
	static const char *const fields[] = {
		"instanceId",
		"instanceState/name",
		"ipAddress",
		"privateIpAddress",
		"placement/availabilityZone",
		"subnetId",
		"imageId",
		"instanceType",
	};
	size_t n = 0;

	for (xmlNodePtr it = next_instance(root, NULL); it && n < 10000;
	     it = next_instance(root, it), n++) {
		char *v;

		for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
			free(x_text(it, fields[i]));
		v = x_tag(it, "deploy:topology");
		free(v);
		v = x_tag(it, "Name");
		free(v);
		(void)x_text_is(it, "instanceState/name", "running");
	}
}

static void walk_sets(xmlNodePtr root)
{
	for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
		struct idlist l = { .set = sets[i].set, .elem = sets[i].elem };

		collect_ids(root, &l);
		for (size_t j = 0; j < l.nr; j++)
			if (!l.ids[j])
				abort();
		idlist_free(&l);
	}
	free(x_text(root, "nextToken"));
	free(x_text(root, "return"));
	free(x_text(root, "requestId"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ec2 *c;
	xmlDocPtr doc = NULL;
	struct error err;
	long status;
	int rc;

	if (!c) {
		struct aws_creds creds = { 0 };

		if (ec2_open(&c, "http://127.0.0.1:9", "us-east-1", &creds,
			     &err))
			abort();
		c->creds.source = strdup("fuzz");
	}
	if (!size)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(*statuses))];
	error_init(&err);
	rc = ec2_answer(c, "DescribeInstances", status, (const char *)data + 1,
			size - 1, &doc, &err);
	if (!rc != !!doc)
		abort(); /* a document exactly when it succeeded */
	if (rc && strnlen(err.msg, sizeof(err.msg)) >= sizeof(err.msg))
		abort();
	if (strnlen(ec2_error_code(c), 96) >= 96)
		abort();
	if (doc) {
		xmlNodePtr root = xmlDocGetRootElement(doc);

		walk_instances(root);
		walk_sets(root);
		xmlFreeDoc(doc);
	}
	error_clear(&err);
	return 0;
}
