/* SPDX-License-Identifier: MIT */
/* DigitalOcean networking: the operator's key and the VPC of each region. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "providers/digitalocean/do-internal.h"
#include "providers/resource.h"
#include "util/base64.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define VPC_DELETE_S 120

/* --- the operator's key ------------------------------------------------ */

/* DigitalOcean names a key by the MD5 of its blob, "aa:bb:…". */
static int key_fingerprint(const char *line, char **out, struct error *err)
{
	const char *b = strchr(line, ' ');
	size_t len = b ? strcspn(b + 1, " \n") : 0;
	struct buf blob = BUF_INIT, fp = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!b || !len || base64_decode(&blob, b + 1, len)) {
		buf_free(&blob);
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "digitalocean: the operator's public key is "
				 "not an OpenSSH public key line");
	}
	EVP_Digest(blob.data, blob.len, md, &n, EVP_md5(), NULL);
	for (unsigned int i = 0; i < n; i++)
		buf_addf(&fp, "%s%02x", i ? ":" : "", md[i]);
	buf_free(&blob);
	*out = buf_release(&fp);
	return 0;
}

static char *key_line(const struct provider_run *run)
{
	const char *k = run->authorized_keys ? run->authorized_keys : "";

	return xstrndup(k, strcspn(k, "\n"));
}

static int key_by_id(struct provider_run *run, const struct resource_ref *ref,
		     bool *exists, struct error *err)
{
	struct dorun *d = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/account/keys/%s", ref->id);
	rc = do_get_exists(d, path.data, exists, err);
	buf_free(&path);
	return rc;
}

static int key_by_fingerprint(struct provider_run *run,
			      const struct resource_ref *ref, char **id,
			      struct error *err)
{
	struct dorun *d = run->priv;
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *k;
	int rc;

	(void)ref;
	*id = NULL;
	buf_addf(&path, "/v2/account/keys/%s", d->key_fp);
	rc = do_call(d->api, "GET", path.data, NULL, 0, &doc, NULL, err);
	buf_free(&path);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		return 0;
	}
	k = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "ssh_key"), "id");
	if (!rc && cJSON_IsNumber(k)) {
		char s[32];

		snprintf(s, sizeof(s), "%.0f", k->valuedouble);
		*id = xstrdup(s);
	}
	cJSON_Delete(doc);
	return rc;
}

static int key_create(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct dorun *d = run->priv;
	cJSON *body = cJSON_CreateObject(), *doc = NULL;
	char *line = key_line(run);
	struct buf name = BUF_INIT;
	const cJSON *k;
	int rc;

	(void)ref;
	buf_addf(&name, "deploy-%s", run->t->name);
	cJSON_AddStringToObject(body, "name", name.data);
	cJSON_AddStringToObject(body, "public_key", line);
	rc = do_call(d->api, "POST", "/v2/account/keys", body, 0, &doc, NULL,
		     err);
	k = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "ssh_key"), "id");
	if (!rc && !cJSON_IsNumber(k))
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "digitalocean POST /v2/account/keys: no id in "
			       "the answer");
	if (!rc) {
		char s[32];

		snprintf(s, sizeof(s), "%.0f", k->valuedouble);
		*id = xstrdup(s);
	}
	cJSON_Delete(body);
	cJSON_Delete(doc);
	buf_free(&name);
	free(line);
	return rc;
}

/* A key deploy made is deleted by down; one found is left alone. A
 * record the protocol made carries a UUID as its key; a key found with no
 * record (the operator's own) carries its numeric id. */
static void key_attributes(struct provider_run *run,
			   const struct resource_ref *ref,
			   struct state_resource *res)
{
	(void)run;
	if (!resource_attr(res, "made"))
		resource_set_attr(res, "made",
				  ref->key && strchr(ref->key, '-') ? "yes"
								    : "no");
}

static const struct resource_kind do_key = {
	.kind = "ssh-key",
	.find_by_id = key_by_id,
	.find_by_key = key_by_fingerprint,
	.find_by_tags = key_by_fingerprint,
	.create = key_create,
	.attributes = key_attributes,
};

int do_ssh_key(struct provider_run *run, struct dorun *d, struct error *err)
{
	char *line = key_line(run), *id = NULL;
	int rc;

	if (d->key_fp) {
		free(line);
		return 0;
	}
	rc = key_fingerprint(line, &d->key_fp, err);
	free(line);
	if (!rc)
		rc = resource_ensure(run, &do_key, "operator", NULL, NULL, &id,
				     NULL, err);
	free(id);
	return rc;
}

/* --- VPCs ----------------------------------------------------------- */

static char *vpc_name(const struct provider_run *run, const char *region)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy-%s-%s", run->t->name, region);
	return buf_release(&b);
}

static int vpc_by_id(struct provider_run *run, const struct resource_ref *ref,
		     bool *exists, struct error *err)
{
	struct dorun *d = run->priv;
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/vpcs/%s", ref->id);
	rc = do_get_exists(d, path.data, exists, err);
	buf_free(&path);
	return rc;
}

struct vpc_find {
	const char *name; /* or the id */
	const char *region;
	char *id;
};

static int match_vpc(const cJSON *item, void *ud)
{
	struct vpc_find *f = ud;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
	const cJSON *rg = cJSON_GetObjectItemCaseSensitive(item, "region");

	if (!cJSON_IsString(id) || !cJSON_IsString(name) ||
	    !cJSON_IsString(rg) || strcmp(rg->valuestring, f->region))
		return 0;
	if (!strcmp(name->valuestring, f->name) ||
	    !strcmp(id->valuestring, f->name)) {
		f->id = xstrdup(id->valuestring);
		return 1;
	}
	return 0;
}

static int find_vpc(struct dorun *d, const char *name, const char *region,
		    char **id, struct error *err)
{
	struct vpc_find f = { name, region, NULL };
	int rc = do_list(d->api, "/v2/vpcs", "vpcs", match_vpc, &f, err);

	*id = f.id;
	return rc < 0 ? rc : 0;
}

/* VPC names are unique in an account: the name is the key. */
int do_vpc_by_name(struct provider_run *run, const struct resource_ref *ref,
		   char **id, struct error *err)
{
	char *name = vpc_name(run, ref->name);
	int rc = find_vpc(run->priv, name, ref->name, id, err);

	free(name);
	return rc;
}

static int vpc_create(struct provider_run *run, const struct resource_ref *ref,
		      char **id, struct error *err)
{
	struct dorun *d = run->priv;
	char *name = vpc_name(run, ref->name);
	cJSON *body = cJSON_CreateObject(), *doc = NULL;
	struct buf desc = BUF_INIT;
	const cJSON *v;
	int rc;

	buf_addf(&desc, "deploy topology %s", run->t->name);
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddStringToObject(body, "region", ref->name);
	cJSON_AddStringToObject(body, "description", desc.data);
	if (do_conf(run, "ip_range"))
		cJSON_AddStringToObject(body, "ip_range",
					do_conf(run, "ip_range"));
	rc = do_call(d->api, "POST", "/v2/vpcs", body, 0, &doc, NULL, err);
	v = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "vpc"), "id");
	if (!rc && !cJSON_IsString(v))
		rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
			       "digitalocean POST /v2/vpcs: no id in the "
			       "answer");
	if (!rc)
		*id = xstrdup(v->valuestring);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	buf_free(&desc);
	free(name);
	return rc;
}

static const struct resource_kind do_vpc = {
	.kind = "vpc",
	.find_by_id = vpc_by_id,
	.find_by_key = do_vpc_by_name,
	.find_by_tags = do_vpc_by_name,
	.create = vpc_create,
};

/* The VPC of region: the one named in the block (left alone by down), or
 * the topology's own. */
int do_vpc_of(struct provider_run *run, struct dorun *d, const char *region,
	      const char **out, struct error *err)
{
	const char *given = do_conf(run, "vpc");
	char *id = NULL;
	int rc;

	for (size_t i = 0; i < d->nr_vpcs; i++)
		if (!strcmp(d->vpc_regions[i], region)) {
			*out = d->vpc_ids[i];
			return 0;
		}
	if (given) {
		rc = find_vpc(d, given, region, &id, err);
		if (!rc && !id)
			rc = error_set(err, DEPLOY_ERR_NOT_FOUND, run->t->file,
				       run->config ? run->config->line : 0,
				       run->config ? run->config->col : 0,
				       "providers.digitalocean: no VPC '%s' "
				       "in region '%s'",
				       given, region);
	} else {
		rc = resource_ensure(run, &do_vpc, region, NULL, NULL, &id,
				     NULL, err);
	}
	if (rc) {
		free(id);
		return rc;
	}
	d->vpc_regions =
		xrealloc(d->vpc_regions, (d->nr_vpcs + 1) * sizeof(char *));
	d->vpc_ids = xrealloc(d->vpc_ids, (d->nr_vpcs + 1) * sizeof(char *));
	d->vpc_regions[d->nr_vpcs] = xstrdup(region);
	d->vpc_ids[d->nr_vpcs] = id;
	*out = d->vpc_ids[d->nr_vpcs++];
	return 0;
}

/* The VPC refuses to go while droplets are leaving it: ask again,
 * bounded. */
int do_vpc_delete(struct provider_run *run, struct dorun *d, const char *id,
		  struct error *err)
{
	long long deadline = now_ms() + VPC_DELETE_S * 1000LL;
	struct buf path = BUF_INIT;
	long pause = 500;
	int rc;

	buf_addf(&path, "/v2/vpcs/%s", id);
	for (;;) {
		rc = do_delete_gone_ok(d, path.data, err);
		if (!rc || strcmp(do_error_id(d->api), "forbidden") ||
		    now_ms() > deadline || (run->stop && *run->stop))
			break;
		error_clear(err);
		provider_sleep(run, pause);
		if (pause < 5000)
			pause *= 2;
	}
	if (rc && !strcmp(do_error_id(d->api), "forbidden"))
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 " (still refused after %d s: are there droplets in "
			 "it that deploy did not make?)",
			 VPC_DELETE_S);
	buf_free(&path);
	return rc;
}
