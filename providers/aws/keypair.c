/* SPDX-License-Identifier: MIT */
/* AWS key pair: the operator's public key imported once per region. */
#include "providers/aws/aws-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* "TYPE BASE64" of the first key line, into out. */
static void key_blob(const char *line, char *out, size_t size)
{
	size_t a = strcspn(line, " \t"), b;

	b = a + strspn(line + a, " \t");
	b += strcspn(line + b, " \t\r\n");
	snprintf(out, size, "%.*s", (int)b, line);
}

static int create_key(struct provider_run *run, struct region *rg,
		      const struct tags *t, void *arg, char **id,
		      struct error *err)
{
	const char *pub = arg;
	struct ec2_params p;
	struct buf b64 = BUF_INIT;
	int rc;

	base64_encode(&b64, pub, strlen(pub), true);
	ec2_params_init(&p);
	ec2_param(&p, "KeyName", rg->key_name);
	ec2_param(&p, "PublicKeyMaterial", b64.data);
	add_tags(&p, run, 1, "key-pair", t);
	rc = call_for_id(rg, "ImportKeyPair", &p, "keyName", id, err);
	ec2_params_free(&p);
	buf_free(&b64);
	return rc;
}

int key_pair(struct provider_run *run, struct region *rg, struct error *err)
{
	char want[8192], have[8192], *id = NULL, *material = NULL;
	const char *keys = run->authorized_keys;
	struct ec2_params p;
	xmlDocPtr doc;
	int rc;

	if (!keys || !*keys)
		return error_set(err, DEPLOY_ERR_INVALID, run->t->file, 0, 0,
				 "aws needs the operator's public key for its "
				 "key pair: set ssh.key (KEY.pub beside it) "
				 "or load a key into ssh-agent");
	key_blob(keys, want, sizeof(want));
	if (strncmp(want, "ssh-ed25519 ", 12) && strncmp(want, "ssh-rsa ", 8))
		return error_set(
			err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			"aws key pairs take ed25519 and RSA keys only, "
			"not '%.*s': set ssh.key to one of those",
			(int)strcspn(want, " "), want);
	free(rg->key_name);
	rg->key_name = xmalloc(strlen(run->t->name) + 8);
	snprintf(rg->key_name, strlen(run->t->name) + 8, "deploy-%s",
		 run->t->name);

	/* A pair of that name with another key is not ours to reuse. */
	ec2_params_init(&p);
	ec2_param(&p, "KeyName.1", rg->key_name);
	ec2_param(&p, "IncludePublicKey", "true");
	rc = ec2_call(rg->ec2, "DescribeKeyPairs", &p, &doc, err);
	ec2_params_free(&p);
	rc = gone_is_fine(rc, err); /* doc stays NULL */
	if (rc)
		return rc;
	if (doc) {
		xmlNodePtr it =
			x_path(xmlDocGetRootElement(doc), "keySet/item");

		material = it ? x_text(it, "publicKey") : NULL;
		if (it && !material) {
			xmlFreeDoc(doc);
			return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					 "aws key pair '%s' exists in '%s' "
					 "and its public key cannot be read "
					 "to compare with yours: delete it "
					 "or rename the topology",
					 rg->key_name, rg->name);
		}
		if (material) {
			char *fp = x_text(it, "keyFingerprint");

			key_blob(material, have, sizeof(have));
			if (strcmp(have, want)) {
				rc = error_set(
					err, DEPLOY_ERR_INVALID, NULL, 0, 0,
					"aws key pair '%s' in '%s' holds "
					"another public key (fingerprint %s) "
					"than yours: it is not reused; "
					"delete it (aws ec2 delete-key-pair "
					"--key-name %s) or use that key",
					rg->key_name, rg->name, fp ? fp : "?",
					rg->key_name);
			}
			free(fp);
		}
		xmlFreeDoc(doc);
		if (!rc && material) {
			/* The pair holds this very key: it is used as it is
			 * (down deletes it only if it carries this
			 * topology's tags, that is if deploy made it). */
			struct state_resource *res = resource_record(
				run, "key-pair", rg->name, NULL, rg->key_name);

			free(material);
			set_attr(res, "region", rg->name);
			return run->save(run, err);
		}
		free(material);
		if (rc)
			return rc;
	}
	rc = aws_resource(run, rg, &K_KEY, rg->name, NULL, create_key,
			  (void *)want, &id, err);
	free(id);
	return rc;
}
