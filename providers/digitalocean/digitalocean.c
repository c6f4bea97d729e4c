/* SPDX-License-Identifier: MIT */
/* The DigitalOcean provider: key, VPCs, droplets, and its ops table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "providers/digitalocean/do-internal.h"
#include "providers/resource.h"
#include "util/base64.h"
#include "util/file.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WAIT_ACTIVE_S 300
#define DEFAULT_SIZE  "s-1vcpu-1gb"
#define DEFAULT_IMAGE "debian-12-x64"
#define VPC_DELETE_S  120
#define MAX_USER_DATA (64u << 10)

static const struct key_spec digitalocean_keys[] = {
	{ "region", &vs_string, 0, "each role's region:", "region: fra1" },
	{ "endpoint", &vs_url, 0, "DIGITALOCEAN_API_URL, then the public API",
	  NULL },
	{ "context", &vs_string, 0, "DIGITALOCEAN_CONTEXT, then doctl's",
	  "context: prod" },
	{ "vpc", &vs_string, 0, "a VPC made for the topology per region",
	  "vpc: my-vpc" },
	{ "ip_range", &vs_cidr, 0, "a free /20 DigitalOcean chooses",
	  "ip_range: 10.20.0.0/20" },
	{ 0 },
};

/* The topology's names written as image slugs. */
static const char *const image_aliases[][2] = {
	{ "debian-12", "debian-12-x64" },
	{ "debian-11", "debian-11-x64" },
	{ "ubuntu-24.04", "ubuntu-24-04-x64" },
	{ "ubuntu-22.04", "ubuntu-22-04-x64" },
	{ "ubuntu-20.04", "ubuntu-20-04-x64" },
};

const char *do_conf(const struct provider_run *run, const char *key)
{
	const struct ynode *n = ynode_get(run->config, key);

	return n && n->kind == YNODE_SCALAR && !ynode_is_null(n) && n->len
		       ? n->value
		       : NULL;
}

int do_run(struct provider_run *run, struct dorun **out, struct error *err)
{
	struct dorun *d = run->priv;
	struct do_token tok;
	char *url = NULL;
	int rc;

	if (d && d->api) {
		*out = d;
		return 0;
	}
	rc = do_token_load(do_conf(run, "context"), &tok, err);
	if (rc)
		return rc;
	rc = do_endpoint_resolve(do_conf(run, "endpoint"), &url, err);
	if (!rc) {
		d = xcalloc(1, sizeof(*d));
		rc = do_open(&d->api, url, &tok, err);
		if (rc) {
			free(d);
		} else {
			do_set_stop(d->api, run->stop);
			run->priv = d;
			*out = d;
		}
	}
	do_token_free(&tok);
	free(url);
	return rc;
}

static void do_release(struct provider_run *run)
{
	struct dorun *d = run->priv;

	if (!d)
		return;
	do_close(d->api);
	free(d->key_fp);
	for (size_t i = 0; i < d->nr_vpcs; i++) {
		free(d->vpc_regions[i]);
		free(d->vpc_ids[i]);
	}
	free(d->vpc_regions);
	free(d->vpc_ids);
	cJSON_Delete(d->seen);
	free(d);
}

/* A tag: letters, digits, ':', '-' and '_' only. */
static char *tag(const char *a, const char *b, const char *c)
{
	struct buf t = BUF_INIT;

	buf_addf(&t, "deploy:%s:%s%s%s", a, b, c ? ":" : "", c ? c : "");
	for (size_t i = 0; i < t.len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789:-_",
			    t.data[i]))
			t.data[i] = '-';
	return buf_release(&t);
}

char *do_topology_tag(const struct provider_run *run)
{
	return tag("topology", run->t->name, NULL);
}

char *do_role_tag(const struct provider_run *run, const char *role)
{
	(void)run;
	return tag("role", role, NULL);
}

char *do_fw_tag(const struct provider_run *run, const char *role)
{
	return tag(run->t->name, role, NULL);
}

bool do_role_is_ours(const struct role *role)
{
	return role->provider == &digitalocean_provider;
}

const char *do_role_region(const struct provider_run *run,
			   const struct role *role)
{
	return role->region ? role->region : do_conf(run, "region");
}

static const char *role_size(const struct role *role)
{
	return role->size ? role->size : DEFAULT_SIZE;
}

static const char *role_image(const struct role *role)
{
	if (!role->image)
		return DEFAULT_IMAGE;
	for (size_t i = 0; i < sizeof(image_aliases) / sizeof(*image_aliases);
	     i++)
		if (!strcmp(role->image, image_aliases[i][0]))
			return image_aliases[i][1];
	return role->image;
}

/* --- checks before anything is made ---------------------------------- */

struct slugs {
	char **v;
	size_t nr;
	const char *field; /* "slug" */
};

static int collect_slug(const cJSON *item, void *ud)
{
	struct slugs *s = ud;
	const cJSON *slug = cJSON_GetObjectItemCaseSensitive(item, s->field);

	if (cJSON_IsString(slug) && *slug->valuestring) {
		s->v = xrealloc(s->v, (s->nr + 1) * sizeof(*s->v));
		s->v[s->nr++] = xstrdup(slug->valuestring);
	}
	return 0;
}

static void slugs_free(struct slugs *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->v[i]);
	free(s->v);
}

static bool slug_in(const struct slugs *s, const char *slug)
{
	for (size_t i = 0; i < s->nr; i++)
		if (!strcmp(s->v[i], slug))
			return true;
	return false;
}

/* "role 'x': digitalocean size 'y' does not exist (did you mean 'z'?)" at
 * the role. */
static int bad_slug(const struct provider_run *run, const struct role *role,
		    const char *what, const char *slug, const struct slugs *s,
		    struct error *err)
{
	const char *near = suggest(slug, (const char *const *)s->v, s->nr);
	struct buf some = BUF_INIT;

	for (size_t i = 0; !near && i < s->nr && i < 8; i++)
		buf_addf(&some, "%s%s", i ? ", " : "", s->v[i]);
	error_set(err, DEPLOY_ERR_INVALID, run->t->file, role->node->line,
		  role->node->col,
		  "role '%s': digitalocean has no %s '%s' (%s%s%s%s)",
		  role->name, what, slug,
		  near ? "did you mean '" : "some: ", near ? near : some.data,
		  near ? "'?" : "", !near && s->nr > 8 ? ", ..." : "");
	buf_free(&some);
	return DEPLOY_ERR_INVALID;
}

/* Every role's region, size and image exist, before anything is made;
 * a disk type (DigitalOcean has one kind of volume) is refused here too. */
static int check_roles(struct provider_run *run, struct dorun *d,
		       struct error *err)
{
	struct slugs regions = { NULL, 0, "slug" }, sizes = { NULL, 0, "slug" },
		     images = { NULL, 0, "slug" };
	int rc;

	rc = do_list(d->api, "/v2/regions", "regions", collect_slug, &regions,
		     err);
	if (!rc)
		rc = do_list(d->api, "/v2/sizes", "sizes", collect_slug, &sizes,
			     err);
	if (!rc)
		rc = do_list(d->api, "/v2/images?type=distribution", "images",
			     collect_slug, &images, err);
	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		const struct role *role = &run->t->roles[i];

		if (!do_role_is_ours(role))
			continue;
		if (!do_role_region(run, role))
			rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
				       role->node->line, role->node->col,
				       "role '%s': no region: set region: "
				       "on the role or in "
				       "providers.digitalocean",
				       role->name);
		else if (!slug_in(&regions, do_role_region(run, role)))
			rc = bad_slug(run, role, "region",
				      do_role_region(run, role), &regions, err);
		else if (!slug_in(&sizes, role_size(role)))
			rc = bad_slug(run, role, "size", role_size(role),
				      &sizes, err);
		else if (!slug_in(&images, role_image(role)))
			rc = bad_slug(run, role, "image", role_image(role),
				      &images, err);
		else if (role->disk_size && role->disk_type)
			rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file,
				       role->node->line, role->node->col,
				       "role '%s': digitalocean volumes have "
				       "no type (disk type '%s'): leave it "
				       "out",
				       role->name, role->disk_type);
	}
	slugs_free(&regions);
	slugs_free(&sizes);
	slugs_free(&images);
	return rc;
}

/* The tags the firewalls name must exist before them. */
static int make_tags(struct provider_run *run, struct dorun *d,
		     struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->t->nr_roles; i++) {
		cJSON *body;
		char *t;

		if (!do_role_is_ours(&run->t->roles[i]))
			continue;
		t = do_fw_tag(run, run->t->roles[i].name);
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "name", t);
		rc = do_call(d->api, "POST", "/v2/tags", body, DO_SAFE, NULL,
			     NULL, err);
		cJSON_Delete(body);
		free(t);
	}
	return rc;
}

static int prepare(struct provider_run *run, struct dorun **out,
		   struct error *err)
{
	int rc = do_run(run, out, err);

	if (rc || (*out)->checked)
		return rc;
	rc = check_roles(run, *out, err);
	if (!rc)
		rc = make_tags(run, *out, err);
	(*out)->checked = !rc;
	return rc;
}

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
	rc = do_call(d->api, "GET", path.data, NULL, 0, NULL, NULL, err);
	buf_free(&path);
	*exists = !rc;
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
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

static int ssh_key(struct provider_run *run, struct dorun *d, struct error *err)
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
	rc = do_call(d->api, "GET", path.data, NULL, 0, NULL, NULL, err);
	buf_free(&path);
	*exists = !rc;
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
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
static int vpc_by_name(struct provider_run *run, const struct resource_ref *ref,
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
	.find_by_key = vpc_by_name,
	.find_by_tags = vpc_by_name,
	.create = vpc_create,
};

/* The VPC of region: the one named in the block (left alone by down), or
 * the topology's own. */
static int vpc_of(struct provider_run *run, struct dorun *d, const char *region,
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

/* --- droplets --------------------------------------------------------- */

static int droplet_get(struct dorun *d, const char *id, cJSON **doc,
		       struct error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/v2/droplets/%s", id);
	rc = do_call(d->api, "GET", path.data, NULL, 0, doc, NULL, err);
	buf_free(&path);
	return rc;
}

static int droplet_by_id(struct provider_run *run,
			 const struct resource_ref *ref, bool *exists,
			 struct error *err)
{
	struct dorun *d;
	int rc = do_run(run, &d, err);

	if (!rc)
		rc = droplet_get(d, ref->id, NULL, err);
	*exists = !rc;
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
	return rc;
}

struct droplet_find {
	const char *name; /* NULL: the first */
	char *id;
};

static int match_droplet(const cJSON *item, void *ud)
{
	struct droplet_find *f = ud;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");

	if (f->name &&
	    (!cJSON_IsString(name) || strcmp(name->valuestring, f->name)))
		return 0;
	f->id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));
	return f->id ? 1 : 0;
}

static int droplets_tagged(struct dorun *d, const char *tag, const char *name,
			   char **id, struct error *err)
{
	struct droplet_find f = { name, NULL };
	struct buf path = BUF_INIT;
	int rc;

	buf_adds(&path, "/v2/droplets?tag_name=");
	do_query_value(&path, tag);
	rc = do_list(d->api, path.data, "droplets", match_droplet, &f, err);
	buf_free(&path);
	*id = f.id;
	return rc < 0 ? rc : 0;
}

static char *key_tag(const char *key)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "deploy:key:%s", key);
	return buf_release(&b);
}

/* The droplet carrying the pending record's unique tag. */
static int droplet_by_key(struct provider_run *run,
			  const struct resource_ref *ref, char **id,
			  struct error *err)
{
	char *t = key_tag(ref->key);
	int rc = droplets_tagged(run->priv, t, NULL, id, err);

	free(t);
	return rc;
}

/* A droplet of the topology with the host's name (a lost state). */
static int droplet_by_tags(struct provider_run *run,
			   const struct resource_ref *ref, char **id,
			   struct error *err)
{
	char *t = do_topology_tag(run);
	int rc = droplets_tagged(run->priv, t, ref->name, id, err);

	free(t);
	return rc;
}

struct host_arg {
	const struct host *host;
	const char *vpc;
};

static int add_user_data(struct provider_run *run, const struct role *role,
			 cJSON *body, struct error *err)
{
	struct buf text;
	int rc;

	if (!role->user_data)
		return 0;
	buf_init(&text, MAX_USER_DATA);
	rc = buf_read_file(&text, role->user_data);
	if (rc)
		rc = error_set(err, rc, run->t->file,
			       role->user_data_node->line,
			       role->user_data_node->col,
			       "role '%s': user_data '%s': %s", role->name,
			       role->user_data,
			       rc == DEPLOY_ERR_TOO_BIG
				       ? "larger than DigitalOcean's 64 KiB"
				       : "cannot be read");
	else
		cJSON_AddStringToObject(body, "user_data", text.data);
	buf_free(&text);
	return rc;
}

/* POST /v2/droplets; the key goes on the droplet as a unique tag, so that
 * a run stopped before the answer finds it by that tag. */
static int droplet_create(struct provider_run *run,
			  const struct resource_ref *ref, char **id,
			  struct error *err)
{
	const struct host_arg *a = ref->arg;
	const struct role *role = a->host->role;
	struct dorun *d = run->priv;
	cJSON *body = cJSON_CreateObject(), *doc = NULL, *tags, *keys;
	char *t[4] = { do_topology_tag(run), do_role_tag(run, role->name),
		       do_fw_tag(run, role->name), key_tag(ref->key) };
	int rc;

	cJSON_AddStringToObject(body, "name", a->host->name);
	cJSON_AddStringToObject(body, "region", do_role_region(run, role));
	cJSON_AddStringToObject(body, "size", role_size(role));
	cJSON_AddStringToObject(body, "image", role_image(role));
	keys = cJSON_AddArrayToObject(body, "ssh_keys");
	cJSON_AddItemToArray(keys, cJSON_CreateString(d->key_fp));
	cJSON_AddStringToObject(body, "vpc_uuid", a->vpc);
	tags = cJSON_AddArrayToObject(body, "tags");
	for (size_t i = 0; i < 4; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(t[i]));
	cJSON_AddBoolToObject(body, "monitoring", true);
	rc = add_user_data(run, role, body, err);
	if (!rc)
		rc = do_call(d->api, "POST", "/v2/droplets", body, 0, &doc,
			     NULL, err);
	if (!rc) {
		*id = do_id_text(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "droplet"),
			"id"));
		if (!*id)
			rc = error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				       "digitalocean POST /v2/droplets: no "
				       "id in the answer");
	}
	for (size_t i = 0; i < 4; i++)
		free(t[i]);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	return rc;
}

static void droplet_attributes(struct provider_run *run,
			       const struct resource_ref *ref,
			       struct state_resource *res)
{
	const struct host_arg *a = ref->arg;

	if (a)
		resource_set_attr(res, "region",
				  do_role_region(run, a->host->role));
}

static const struct resource_kind do_droplet = {
	.kind = "host",
	.flags = RESOURCE_NEW_KEY,
	.find_by_id = droplet_by_id,
	.find_by_key = droplet_by_key,
	.find_by_tags = droplet_by_tags,
	.create = droplet_create,
	.attributes = droplet_attributes,
};

struct wait {
	struct provider_run *run;
	struct host *const *hosts;
	size_t nr;
	bool *done;
	bool *seen;
	size_t left;
};

static int note_droplet(const cJSON *item, void *ud)
{
	struct wait *w = ud;
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));

	for (size_t i = 0; id && i < w->nr; i++) {
		const struct state_resource *r =
			state_resource_find(w->run->state, "digitalocean",
					    "host", w->hosts[i]->name);
		char *pub, *priv;
		struct state_host *sh;

		if (w->done[i] || !r || !r->id || strcmp(r->id, id))
			continue;
		w->seen[i] = true;
		if (!do_droplet_addresses(item, &pub, &priv))
			break;
		sh = state_host_get(w->run->state, w->hosts[i]->name, true);
		state_host_set(&sh->address, pub);
		state_host_set(&sh->private_address, priv ? priv : pub);
		sh->port = w->hosts[i]->port ? w->hosts[i]->port : 22;
		w->done[i] = true;
		w->left--;
		free(pub);
		free(priv);
		break;
	}
	free(id);
	return 0;
}

/* Until every host's droplet is active with its addresses recorded: one
 * list call a round for all of them (by the topology's tag), jittered
 * pauses, a deadline. A droplet missing from the list twice in a row
 * after its create was accepted failed to be placed. */
static int wait_active(struct provider_run *run, struct dorun *d,
		       struct host *const *hosts, size_t nr, struct error *err)
{
	struct wait w = { run,
			  hosts,
			  nr,
			  xcalloc(nr + 1, sizeof(bool)),
			  xcalloc(nr + 1, sizeof(bool)),
			  nr };
	int *missing = xcalloc(nr + 1, sizeof(int));
	long long deadline = now_ms() + WAIT_ACTIVE_S * 1000LL;
	char *t = do_topology_tag(run);
	struct buf path = BUF_INIT;
	long pause = 500;
	int rc = 0;

	buf_adds(&path, "/v2/droplets?tag_name=");
	do_query_value(&path, t);
	while (w.left) {
		memset(w.seen, 0, nr * sizeof(bool));
		rc = do_list(d->api, path.data, "droplets", note_droplet, &w,
			     err);
		if (rc)
			break;
		rc = run->save(run, err);
		for (size_t i = 0; !rc && i < nr; i++) {
			missing[i] =
				w.done[i] || w.seen[i] ? 0 : missing[i] + 1;
			if (missing[i] >= 2)
				rc = error_set(err, DEPLOY_ERR_REMOTE, NULL, 0,
					       0,
					       "digitalocean droplet '%s' is "
					       "gone after its create was "
					       "accepted (DigitalOcean could "
					       "not place it?): run again to "
					       "make it anew",
					       hosts[i]->name);
		}
		if (rc || !w.left)
			break;
		if (run->stop && *run->stop) {
			rc = error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
				       "interrupted while waiting for "
				       "droplets");
			break;
		}
		if (now_ms() > deadline) {
			rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
				       "digitalocean: %zu droplet%s not "
				       "active after %d s",
				       w.left, w.left == 1 ? "" : "s",
				       WAIT_ACTIVE_S);
			break;
		}
		provider_sleep(run, pause / 2 + (long)(now_ms() % (pause / 2)));
		if (pause < 5000)
			pause *= 2;
	}
	buf_free(&path);
	free(t);
	free(w.done);
	free(w.seen);
	free(missing);
	return rc;
}

/* --- the operations --------------------------------------------------- */

static void forget_seen(struct dorun *d)
{
	cJSON_Delete(d->seen);
	d->seen = NULL;
}

static int do_hosts_up(struct provider_run *run, struct host *const *hosts,
		       size_t nr, struct error *err)
{
	bool *fresh = xcalloc(nr + 1, sizeof(bool));
	struct dorun *d;
	int rc = prepare(run, &d, err);

	if (!rc)
		forget_seen(d);
	if (!rc)
		rc = ssh_key(run, d, err);
	/* The firewalls before the droplets: a droplet is covered from its
	 * first boot by its role's tag. */
	if (!rc)
		rc = do_firewalls(run, d, NULL, err);
	for (size_t i = 0; !rc && i < nr; i++) {
		struct host_arg a = { hosts[i], NULL };
		enum resource_outcome how = RESOURCE_KEPT;
		char *id = NULL;

		rc = vpc_of(run, d, do_role_region(run, hosts[i]->role), &a.vpc,
			    err);
		if (!rc)
			rc = resource_ensure(run, &do_droplet, hosts[i]->name,
					     hosts[i]->role->name, &a, &id,
					     &how, err);
		fresh[i] = !rc && how == RESOURCE_MADE;
		free(id);
	}
	if (!rc)
		rc = wait_active(run, d, hosts, nr, err);
	/* Volumes and reserved IPs once their droplets are active. */
	if (!rc)
		rc = do_hosts_extras(run, d, (const struct host *const *)hosts,
				     fresh, nr, err);
	free(fresh);
	return rc;
}

/* The droplet id as the refresh read it (kept for drift), or NULL when
 * it is gone. */
static int droplet_seen(struct provider_run *run, const char *id,
			const cJSON **out, struct error *err)
{
	struct dorun *d;
	cJSON *doc = NULL, *dr;
	int rc = do_run(run, &d, err);

	*out = NULL;
	if (rc)
		return rc;
	if (!d->seen)
		d->seen = cJSON_CreateObject();
	dr = cJSON_GetObjectItemCaseSensitive(d->seen, id);
	if (dr) {
		*out = cJSON_IsObject(dr) ? dr : NULL;
		return 0;
	}
	rc = droplet_get(d, id, &doc, err);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		cJSON_AddNullToObject(d->seen, id);
		return 0;
	}
	if (rc)
		return rc;
	dr = cJSON_DetachItemFromObjectCaseSensitive(doc, "droplet");
	cJSON_Delete(doc);
	if (!cJSON_IsObject(dr)) {
		cJSON_Delete(dr);
		return error_set(err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				 "digitalocean GET /v2/droplets/%s: no "
				 "droplet in the answer",
				 id);
	}
	cJSON_AddItemToObject(d->seen, id, dr);
	*out = dr;
	return 0;
}

static int do_exists(struct provider_run *run, const struct state_resource *r,
		     bool *exists, struct error *err)
{
	const cJSON *dr;
	int rc;

	*exists = false;
	if (strcmp(r->kind, "host") || !r->id)
		return 0;
	rc = droplet_seen(run, r->id, &dr, err);
	*exists = dr != NULL;
	return rc;
}

int do_delete_gone_ok(struct dorun *d, const char *path, struct error *err)
{
	int rc = do_call(d->api, "DELETE", path, NULL, 0, NULL, NULL, err);

	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
	return rc;
}

static int do_destroy(struct provider_run *run, struct state_resource *r,
		      struct error *err)
{
	struct dorun *d;
	char *name = xstrdup(r->name), *id = r->id ? xstrdup(r->id) : NULL;
	char *key = r->key ? xstrdup(r->key) : NULL;
	/* A run stopped after the droplet went deletes only what is left. */
	bool gone = resource_attr(r, "droplet") &&
		    !strcmp(resource_attr(r, "droplet"), "deleted");
	struct buf path = BUF_INIT;
	int rc = do_run(run, &d, err);

	if (!rc && strcmp(r->kind, "host")) {
		free(name);
		free(id);
		free(key);
		return 0; /* finish_down removes the shared resources */
	}
	/* While the droplet is there: what a stopped run left pending. */
	if (!rc && !gone)
		rc = do_extras_resolve(run, d, name, err);
	if (!rc) {
		forget_seen(d);
		rc = resource_deleting(run, "host", name, err);
	}
	/* A pending record's droplet is found by its tag. */
	if (!rc && !gone && !id && key) {
		struct resource_ref ref = {
			"host", name, NULL, key, NULL, NULL
		};

		rc = droplet_by_key(run, &ref, &id, err);
	}
	if (!rc && !gone && id) {
		buf_addf(&path, "/v2/droplets/%s", id);
		rc = do_delete_gone_ok(d, path.data, err);
	}
	if (!rc && !gone) {
		r = state_resource_find(run->state, "digitalocean", "host",
					name);
		if (r)
			resource_set_attr(r, "droplet", "deleted");
		rc = run->save(run, err);
	}
	/* Then its volume and reserved IP; the host's record goes last, so
	 * a run stopped before finds them through it. */
	if (!rc)
		rc = do_extras_delete(run, d, name, err);
	if (!rc)
		rc = resource_forget(run, "host", name, err);
	buf_free(&path);
	free(name);
	free(id);
	free(key);
	return rc;
}

/* The VPC refuses to go while droplets are leaving it: ask again,
 * bounded. */
static int delete_vpc(struct provider_run *run, struct dorun *d, const char *id,
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

/* Volume and reserved-IP records whose host record is gone (a state
 * edited by hand, an older run): deleted as their host's would be. */
static int extras_left(struct provider_run *run, struct dorun *d,
		       struct error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		const struct state_resource *r = &run->state->resources[i];
		char *name;

		if (strcmp(r->provider, "digitalocean") ||
		    (strcmp(r->kind, "volume") &&
		     strcmp(r->kind, "reserved-ip")))
			continue;
		name = xstrdup(r->name);
		rc = do_extras_delete(run, d, name, err);
		free(name);
		i = (size_t)-1; /* the records moved: from the start */
	}
	return rc;
}

/* Once no host is left: the volumes and reserved IPs a host left behind
 * (and the topology's volumes no droplet holds), the firewalls, the VPCs,
 * the key deploy made. */
static int do_finish_down(struct provider_run *run, struct error *err)
{
	struct dorun *d;
	int rc = do_run(run, &d, err);

	if (!rc)
		rc = extras_left(run, d, err);
	if (!rc)
		rc = do_volumes_orphaned(run, d, err);
	if (!rc)
		rc = do_firewalls_down(run, d, err);
	for (size_t i = 0; !rc && i < run->state->nr_resources; i++) {
		struct state_resource *r = &run->state->resources[i];
		char *name, *id;
		bool made;

		if (strcmp(r->provider, "digitalocean") ||
		    (strcmp(r->kind, "vpc") && strcmp(r->kind, "ssh-key")))
			continue;
		name = xstrdup(r->name);
		id = r->id ? xstrdup(r->id) : NULL;
		made = !resource_attr(r, "made") ||
		       !strcmp(resource_attr(r, "made"), "yes");
		rc = resource_deleting(run, r->kind, name, err);
		if (!rc && !strcmp(r->kind, "vpc")) {
			if (!id) /* pending: found by its name */
				rc = vpc_by_name(run,
						 &(struct resource_ref){
							 "vpc", name, NULL,
							 NULL, NULL, NULL },
						 &id, err);
			if (!rc && id)
				rc = delete_vpc(run, d, id, err);
			if (!rc)
				rc = resource_forget(run, "vpc", name, err);
		} else if (!rc) {
			if (id && made) {
				struct buf path = BUF_INIT;

				buf_addf(&path, "/v2/account/keys/%s", id);
				rc = do_delete_gone_ok(d, path.data, err);
				buf_free(&path);
			}
			if (!rc)
				rc = resource_forget(run, "ssh-key", name, err);
		}
		free(name);
		free(id);
		i = (size_t)-1; /* the records moved: from the start */
	}
	return rc;
}

struct names {
	char **v;
	size_t nr;
	const struct state *state;
};

/* A droplet's host name: the one recorded for its id (an imported droplet
 * keeps its own name), else its name. */
static int collect_name(const cJSON *item, void *ud)
{
	struct names *n = ud;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
	char *id = do_id_text(cJSON_GetObjectItemCaseSensitive(item, "id"));
	const char *host = cJSON_IsString(name) ? name->valuestring : NULL;

	for (size_t i = 0; id && i < n->state->nr_resources; i++) {
		const struct state_resource *r = &n->state->resources[i];

		if (!strcmp(r->provider, "digitalocean") &&
		    !strcmp(r->kind, "host") && r->id && !strcmp(r->id, id))
			host = r->name;
	}
	if (host) {
		n->v = xrealloc(n->v, (n->nr + 1) * sizeof(char *));
		n->v[n->nr++] = xstrdup(host);
	}
	free(id);
	return 0;
}

static int do_list_hosts(struct provider_run *run, char ***out, size_t *nr,
			 struct error *err)
{
	struct names n = { NULL, 0, run->state };
	struct buf path = BUF_INIT;
	struct dorun *d;
	char *t;
	int rc = do_run(run, &d, err);

	if (rc)
		return rc;
	t = do_topology_tag(run);
	buf_adds(&path, "/v2/droplets?tag_name=");
	do_query_value(&path, t);
	rc = do_list(d->api, path.data, "droplets", collect_name, &n, err);
	buf_free(&path);
	free(t);
	*out = n.v;
	*nr = n.nr;
	return rc;
}

static int do_sync(struct provider_run *run, struct buf *dry, struct error *err)
{
	struct dorun *d;
	int rc = do_run(run, &d, err);

	if (!rc && !dry)
		rc = prepare(run, &d, err);
	if (!rc)
		rc = do_firewalls(run, d, dry, err);
	if (!rc)
		rc = do_extras(run, d, dry, err);
	return rc;
}

/* --- deploy import, drift ----------------------------------------------- */

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool has_tag(const cJSON *dr, const char *tag)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(dr, "tags"))
	{
		if (cJSON_IsString(t) && !strcmp(t->valuestring, tag))
			return true;
	}
	return false;
}

/* Its deploy:topology:NAME tag's NAME, or NULL. */
static const char *topology_of(const cJSON *dr)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(dr, "tags"))
	{
		if (cJSON_IsString(t) &&
		    !strncmp(t->valuestring, "deploy:topology:", 16))
			return t->valuestring + 16;
	}
	return NULL;
}

static int tag_droplet(struct dorun *d, const char *tag, const char *id,
		       struct error *err)
{
	cJSON *body = cJSON_CreateObject(), *res, *r;
	struct buf path = BUF_INIT;
	int rc;

	cJSON_AddStringToObject(body, "name", tag);
	rc = do_call(d->api, "POST", "/v2/tags", body, DO_SAFE, NULL, NULL,
		     err);
	cJSON_Delete(body);
	if (rc)
		return rc;
	body = cJSON_CreateObject();
	res = cJSON_AddArrayToObject(body, "resources");
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "resource_id", id);
	cJSON_AddStringToObject(r, "resource_type", "droplet");
	cJSON_AddItemToArray(res, r);
	/* A tag is of letters, digits, ':', '-' and '_': all allowed in a
	 * path segment as they are. */
	buf_addf(&path, "/v2/tags/%s/resources", tag);
	rc = do_call(d->api, "POST", path.data, body, DO_SAFE, NULL, NULL, err);
	buf_free(&path);
	cJSON_Delete(body);
	return rc;
}

/*
 * deploy import ROLE HOST ID: the droplet ID, active and no other
 * topology's, tagged with the topology's and the role's tags (not the
 * firewall's: what reaches it stays as it was, as its size and image do;
 * plan tells the difference) and recorded as created with its addresses.
 */
static int do_import_host(struct provider_run *run, const struct host *h,
			  const char *id, struct error *err)
{
	char *tags[2] = { do_topology_tag(run),
			  do_role_tag(run, h->role->name) };
	char *pub = NULL, *priv = NULL;
	const char *other, *name;
	struct state_resource *res;
	struct state_host *sh;
	const cJSON *dr;
	struct dorun *d;
	int rc = prepare(run, &d, err);

	if (!rc && (!*id || strspn(id, "0123456789") != strlen(id)))
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "'%s' is not a droplet id (digits)", id);
	if (!rc)
		rc = droplet_seen(run, id, &dr, err);
	if (rc)
		goto out;
	if (!dr) {
		rc = error_set(err, DEPLOY_ERR_NOT_FOUND, NULL, 0, 0,
			       "digitalocean droplet '%s' not found", id);
		goto out;
	}
	other = topology_of(dr);
	name = str_at(dr, "name", NULL);
	if (other &&
	    (strcmp(other, run->t->name) || (name && strcmp(name, h->name)))) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "droplet '%s' is already host '%s' of "
			       "topology '%s' (its deploy: tags): not "
			       "imported",
			       id, name ? name : "?", other);
		goto out;
	}
	if (!do_droplet_addresses(dr, &pub, &priv)) {
		rc = error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			       "droplet '%s' is %s: only an active droplet "
			       "with a public address can be imported",
			       id,
			       str_at(dr, "status", NULL)
				       ? str_at(dr, "status", NULL)
				       : "in no known state");
		goto out;
	}
	for (size_t i = 0; !rc && i < 2; i++)
		if (!has_tag(dr, tags[i]))
			rc = tag_droplet(d, tags[i], id, err);
	if (rc)
		goto out;
	res = state_resource_pending(run->state, "digitalocean", "host",
				     h->name, h->role->name, NULL);
	resource_set_attr(res, "region", str_at(dr, "region", "slug"));
	resource_set_attr(res, "imported", "true");
	state_resource_set_id(res, id);
	sh = state_host_get(run->state, h->name, true);
	state_host_set(&sh->address, pub);
	state_host_set(&sh->private_address, priv ? priv : pub);
	sh->port = h->port ? h->port : 22;
	rc = run->save(run, err);
out:
	free(tags[0]);
	free(tags[1]);
	free(pub);
	free(priv);
	return rc;
}

/* How the recorded droplet differs from its role: region, size, the
 * role's firewall (its tag), VPC and image (by slug). */
static int do_drift(struct provider_run *run, const struct host *h,
		    const struct state_resource *r, struct buf *out,
		    struct error *err)
{
	const struct role *role = h->role;
	const struct state_resource *vpc;
	const char *have, *want, *region;
	char *tag, *fw;
	const cJSON *dr;
	int rc;

	if (!r || !r->id)
		return 0;
	rc = droplet_seen(run, r->id, &dr, err);
	if (rc || !dr)
		return rc;
	tag = do_fw_tag(run, role->name);
	fw = do_fw_name(run, role->name);
	have = str_at(dr, "region", "slug");
	want = do_role_region(run, role);
	if (have && want && strcmp(have, want))
		buf_addf(out,
			 "~ digitalocean host %s: region %s, the topology "
			 "says %s\n",
			 h->name, have, want);
	have = str_at(dr, "size_slug", NULL);
	if (have && strcmp(have, role_size(role)))
		buf_addf(out,
			 "~ digitalocean host %s: size %s, the topology says "
			 "%s\n",
			 h->name, have, role_size(role));
	if (!has_tag(dr, tag))
		buf_addf(out,
			 "~ digitalocean host %s: not in firewall %s (tag %s), "
			 "the topology puts it there\n",
			 h->name, fw, tag);
	have = str_at(dr, "vpc_uuid", NULL);
	region = str_at(dr, "region", "slug");
	vpc = region ? state_resource_find(run->state, "digitalocean", "vpc",
					   region)
		     : NULL;
	if (have && vpc && vpc->status == RESOURCE_CREATED && vpc->id &&
	    strcmp(have, vpc->id))
		buf_addf(out,
			 "~ digitalocean host %s: vpc %s, the topology says "
			 "%s\n",
			 h->name, have, vpc->id);
	have = str_at(dr, "image", "slug");
	if (have && strcmp(have, role_image(role)))
		buf_addf(out,
			 "~ digitalocean host %s: image %s, the topology "
			 "says %s\n",
			 h->name, have, role_image(role));
	free(tag);
	free(fw);
	return 0;
}

const struct provider_ops digitalocean_provider = {
	.name = "digitalocean",
	.summary = "DigitalOcean droplets in a VPC of their own, cloud "
		   "firewalls per role, volumes, reserved IPs",
	.config_keys = digitalocean_keys,
	.ssh_wait_s = 300,
	.ssh_hint = "check that ssh.admin_cidrs holds your address",
	.hosts_up = do_hosts_up,
	.exists = do_exists,
	.destroy = do_destroy,
	.finish_down = do_finish_down,
	.list_hosts = do_list_hosts,
	.sync = do_sync,
	.release = do_release,
	.import_host = do_import_host,
	.drift = do_drift,
};
