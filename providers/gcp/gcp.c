/* SPDX-License-Identifier: MIT */
/* The gcp provider: settings, client, names, labels, checks, ops table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gcp/gcp-internal.h"
#include "util/file.h"
#include "util/path.h"
#include "util/strutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DEFAULT_SIZE   "e2-medium"
#define DEFAULT_IMAGE  "debian-12"
#define IN_USE_WAIT_S  300
#define MAX_NAME       63
#define NAME_HASH_HEAD 54

static const struct vspec vs_boot_size = { VT_INT, 10,	 65536, NULL, NULL,
					   NULL,   NULL, NULL,	NULL };

static const struct key_spec gcp_keys[] = {
	{ "project", &vs_string, KEY_REQUIRED, NULL, "project: my-project" },
	{ "credentials", &vs_string, 0,
	  "GOOGLE_APPLICATION_CREDENTIALS, then gcloud's application "
	  "default credentials, then the metadata server",
	  NULL },
	{ "region", &vs_string, 0,
	  "each role's region:", "region: europe-west1" },
	{ "zone", &vs_string, 0, "the region's zones in turn",
	  "zone: europe-west1-b" },
	{ "endpoint", &vs_url, 0,
	  "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, then the public API",
	  NULL },
	{ "network", &vs_string, 0, "a network made for the topology",
	  "network: my-vpc" },
	{ "boot_disk_size", &vs_boot_size, 0, "20", "boot_disk_size: 50" },
	{ 0 },
};

/* The topology's image names: an image family of a public project. */
static const char *const image_families[][2] = {
	{ "debian-12", "projects/debian-cloud/global/images/family/debian-12" },
	{ "debian-11", "projects/debian-cloud/global/images/family/debian-11" },
	{ "ubuntu-22.04",
	  "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts" },
	{ "ubuntu-24.04", "projects/ubuntu-os-cloud/global/images/family/"
			  "ubuntu-2404-lts-amd64" },
};

const char *gcp_conf(const struct provider_run *run, const char *key)
{
	const struct ynode *n = ynode_get(run->config, key);

	return n && n->kind == YNODE_SCALAR && !ynode_is_null(n) && n->len
		       ? n->value
		       : NULL;
}

const char *gcp_json_str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

void gcp_strings_add(char ***v, size_t *nr, const char *s)
{
	*v = xrealloc(*v, (*nr + 1) * sizeof(char *));
	(*v)[(*nr)++] = xstrdup(s);
}

bool gcp_strings_have(char *const *v, size_t nr, const char *s)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

bool gcp_role_is_ours(const struct role *role)
{
	return role->provider == &gcp_provider;
}

int gcp_run(struct provider_run *run, struct gcprun **out, struct error *err)
{
	struct gcprun *g = run->priv;
	struct gcp_creds creds;
	const char *file = gcp_conf(run, "credentials");
	char *path, *url = NULL;
	int rc;

	if (g && g->c) {
		*out = g;
		return 0;
	}
	path = file ? path_expand(file, run->t->dir) : NULL;
	rc = gcp_creds_load(path, &creds, err);
	free(path);
	if (rc)
		return rc;
	rc = gcp_endpoint_resolve(gcp_conf(run, "endpoint"), &url, err);
	if (!rc) {
		g = xcalloc(1, sizeof(*g));
		rc = gcp_open(&g->c, url, gcp_conf(run, "project"), &creds,
			      err);
		if (rc) {
			free(g);
		} else {
			g->c->stop = run->stop;
			run->priv = g;
			*out = g;
		}
	}
	gcp_creds_free(&creds);
	free(url);
	return rc;
}

static void gcp_release(struct provider_run *run)
{
	struct gcprun *g = run->priv;

	if (!g)
		return;
	if (g->nr_deletes) {
		/* Deletes sent by a down that keeps protected hosts (no
		 * finish_down): they were accepted; their end is waited for
		 * here, an error in one is found by the next plan (an
		 * instance of the topology with no record). */
		struct error e;

		error_init(&e);
		gcp_wait_deletes(g, &e);
		error_clear(&e);
	}
	gcp_close(g->c);
	free(g->network);
	for (size_t i = 0; i < g->nr_regions; i++) {
		for (size_t k = 0; k < g->regions[i].nr_zones; k++)
			free(g->regions[i].zones[k]);
		free(g->regions[i].zones);
		free(g->regions[i].name);
		free(g->regions[i].subnet);
	}
	free(g->regions);
	for (size_t i = 0; i < g->nr_listed; i++)
		free(g->listed[i]);
	free(g->listed);
	for (size_t i = 0; i < g->nr_deletes; i++)
		free(g->deletes[i]);
	free(g->deletes);
	free(g);
	run->priv = NULL;
}

/* --- names and labels ---------------------------------------------------- */

static unsigned long fnv1a(const char *s)
{
	unsigned long h = 2166136261u;

	for (; *s; s++)
		h = ((h ^ (unsigned char)*s) * 16777619u) & 0xffffffffu;
	return h;
}

char *gcp_name(const char *a, const char *b, const char *c)
{
	struct buf n = BUF_INIT;
	char *out;

	buf_addf(&n, "%s%s%s%s%s", a, b ? "-" : "", b ? b : "", c ? "-" : "",
		 c ? c : "");
	for (size_t i = 0; i < n.len; i++) {
		char ch = n.data[i];

		if (ch >= 'A' && ch <= 'Z')
			n.data[i] = (char)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9')))
			n.data[i] = '-';
	}
	if (n.len > MAX_NAME) {
		unsigned long h = fnv1a(n.data);

		n.data[NAME_HASH_HEAD] = '\0';
		n.len = NAME_HASH_HEAD;
		buf_addf(&n, "-%08lx", h);
	}
	while (n.len && n.data[n.len - 1] == '-')
		n.data[--n.len] = '\0';
	out = buf_release(&n);
	if (!(*out >= 'a' && *out <= 'z')) {
		char *d = xmalloc(strlen(out) + 3);

		snprintf(d, strlen(out) + 3, "d-%s", out);
		free(out);
		out = d;
		if (strlen(out) > MAX_NAME)
			out[MAX_NAME] = '\0';
	}
	return out;
}

char *gcp_label(const char *s)
{
	char *v = xstrndup(s, strnlen(s, MAX_NAME));

	for (char *p = v; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			*p = '-';
	}
	return v;
}

void gcp_add_labels(const struct provider_run *run, cJSON *body,
		    const char *role, const char *host)
{
	cJSON *l = cJSON_AddObjectToObject(body, "labels");
	const char *keys[3] = { "deploy-topology", "deploy-role",
				"deploy-host" };
	const char *vals[3] = { run->t->name, role, host };

	for (size_t i = 0; i < 3; i++) {
		char *v;

		if (!vals[i])
			continue;
		v = gcp_label(vals[i]);
		cJSON_AddStringToObject(l, keys[i], v);
		free(v);
	}
}

char *gcp_topology_filter(const struct provider_run *run)
{
	char *v = gcp_label(run->t->name);
	struct buf f = BUF_INIT;

	buf_addf(&f, "labels.deploy-topology = \"%s\"", v);
	free(v);
	return buf_release(&f);
}

char *gcp_role_tag(const struct provider_run *run, const char *role)
{
	return gcp_name("deploy", run->t->name, role);
}

/* --- regions and zones --------------------------------------------------- */

/* "europe-west1-b" -> "europe-west1". */
static char *zone_region(const char *zone)
{
	const char *dash = strrchr(zone, '-');

	return dash ? xstrndup(zone, (size_t)(dash - zone)) : xstrdup(zone);
}

const char *gcp_role_region(const struct provider_run *run,
			    const struct role *role)
{
	static __thread char derived[64];
	const char *zone = role->zone ? role->zone : gcp_conf(run, "zone");

	if (role->region)
		return role->region;
	if (gcp_conf(run, "region"))
		return gcp_conf(run, "region");
	if (zone) {
		char *r = zone_region(zone);

		snprintf(derived, sizeof(derived), "%s", r);
		free(r);
		return derived;
	}
	return NULL;
}

struct gcp_region *gcp_region_of(struct gcprun *g, const char *name)
{
	for (size_t i = 0; name && i < g->nr_regions; i++)
		if (!strcmp(g->regions[i].name, name))
			return &g->regions[i];
	return NULL;
}

static bool zone_in(const struct gcp_region *rg, const char *zone)
{
	for (size_t i = 0; rg && i < rg->nr_zones; i++)
		if (!strcmp(rg->zones[i], zone))
			return true;
	return false;
}

const char *gcp_host_zone(struct provider_run *run, const struct host *h)
{
	struct gcprun *g = run->priv;
	const struct role *role = h->role;
	struct gcp_region *rg =
		g ? gcp_region_of(g, gcp_role_region(run, role)) : NULL;
	const char *zone = gcp_conf(run, "zone");

	if (role->zone)
		return role->zone;
	if (zone && (!rg || zone_in(rg, zone)))
		return zone;
	if (!rg || !rg->nr_zones)
		return NULL;
	return rg->zones[(size_t)h->index % rg->nr_zones];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --- checks before anything is made -------------------------------------- */

/* The node of a role's key (for file:line:col), else the role's. */
static const struct ynode *role_key(const struct provider_run *run,
				    const struct role *role, const char *key)
{
	const struct ynode *roles =
		run->t->doc ? ynode_get(run->t->doc->root, "roles") : NULL;
	const struct ynode *n = ynode_get(ynode_get(roles, role->name), key);

	return n ? n : role->node;
}

static const struct ynode *where(const struct provider_run *run,
				 const struct role *role, const char *key)
{
	const struct ynode *n = role_key(run, role, key);

	if (n == role->node && ynode_get(run->config, key))
		return ynode_get(run->config, key);
	return n;
}

int gcp_get(struct gcp *c, const char *path, const char *what, bool *exists,
	    cJSON **out, struct error *err)
{
	int rc = gcp_call(c, "GET", path, NULL, NULL, true, what, out, err);

	*exists = !rc;
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		error_clear(err);
		rc = 0;
	}
	return rc;
}

static int load_region(struct provider_run *run, struct gcprun *g,
		       const struct role *role, const char *name,
		       struct error *err)
{
	struct gcp_region *rg;
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *z;
	const struct ynode *n = where(run, role, "region");
	bool exists;
	int rc;

	if (gcp_region_of(g, name))
		return 0;
	buf_addf(&path, "regions/%s", name);
	rc = gcp_get(g->c, path.data, "regions.get", &exists, &doc, err);
	buf_free(&path);
	if (!rc && !exists)
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
			       n->col, "role '%s': gcp has no region '%s'",
			       role->name, name);
	if (rc) {
		cJSON_Delete(doc);
		return rc;
	}
	g->regions =
		xrealloc(g->regions, (g->nr_regions + 1) * sizeof(*g->regions));
	rg = &g->regions[g->nr_regions++];
	memset(rg, 0, sizeof(*rg));
	rg->name = xstrdup(name);
	cJSON_ArrayForEach(z, cJSON_GetObjectItemCaseSensitive(doc, "zones"))
	{
		char zone[128];

		if (!cJSON_IsString(z))
			continue;
		gcp_basename(z->valuestring, zone, sizeof(zone));
		rg->zones = xrealloc(rg->zones,
				     (rg->nr_zones + 1) * sizeof(char *));
		rg->zones[rg->nr_zones++] = xstrdup(zone);
	}
	qsort(rg->zones, rg->nr_zones, sizeof(char *), cmp_str);
	cJSON_Delete(doc);
	return 0;
}

/* The image path of a role: a known name's family, or a path as given. */
static const char *image_path(const struct role *role)
{
	const char *img = role->image ? role->image : DEFAULT_IMAGE;

	for (size_t i = 0; i < sizeof(image_families) / sizeof(*image_families);
	     i++)
		if (!strcmp(img, image_families[i][0]))
			return image_families[i][1];
	return strncmp(img, "projects/", 9) ? NULL : img;
}

const char *gcp_image(const struct role *role)
{
	return image_path(role);
}

const char *gcp_size(const struct role *role)
{
	return role->size ? role->size : DEFAULT_SIZE;
}

static bool seen_before(char ***seen, size_t *nr, const char *key)
{
	for (size_t i = 0; i < *nr; i++)
		if (!strcmp((*seen)[i], key))
			return true;
	*seen = xrealloc(*seen, (*nr + 1) * sizeof(char *));
	(*seen)[(*nr)++] = xstrdup(key);
	return false;
}

static int check_image(struct provider_run *run, struct gcprun *g,
		       const struct role *role, struct error *err)
{
	const char *img = image_path(role);
	const struct ynode *n = where(run, role, "image");
	struct buf known = BUF_INIT;
	bool exists;
	int rc;

	if (!img) {
		for (size_t i = 0;
		     i < sizeof(image_families) / sizeof(*image_families); i++)
			buf_addf(&known, "%s%s", i ? ", " : "",
				 image_families[i][0]);
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
			       n->col,
			       "role '%s': image '%s' is neither a known name "
			       "(%s) nor an image path "
			       "(projects/P/global/images/[family/]NAME)",
			       role->name, role->image, known.data);
		buf_free(&known);
		return rc;
	}
	rc = gcp_get(g->c, img,
		     strstr(img, "/family/") ? "images.getFromFamily"
					     : "images.get",
		     &exists, NULL, err);
	if (!rc && !exists)
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
			       n->col, "role '%s': gcp has no image '%s'",
			       role->name, img);
	return rc;
}

static int check_machine_type(struct provider_run *run, struct gcprun *g,
			      const struct role *role, const char *zone,
			      struct error *err)
{
	const struct ynode *n = where(run, role, "size");
	struct buf path = BUF_INIT;
	bool exists;
	int rc;

	buf_addf(&path, "zones/%s/machineTypes/%s", zone, gcp_size(role));
	rc = gcp_get(g->c, path.data, "machineTypes.get", &exists, NULL, err);
	buf_free(&path);
	if (!rc && !exists)
		rc = error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
			       n->col,
			       "role '%s': gcp has no machine type '%s' in "
			       "zone '%s'",
			       role->name, gcp_size(role), zone);
	return rc;
}

/* One role: its region and zones exist, its machine type in each zone it
 * uses, its image. seen holds what was checked already. */
static int check_role(struct provider_run *run, struct gcprun *g,
		      const struct role *role, char ***seen, size_t *nr_seen,
		      struct error *err)
{
	const char *region = gcp_role_region(run, role);
	struct gcp_region *rg;
	int rc;

	if (!region)
		return error_set(err, DEPLOY_ERR_INVALID, run->t->file,
				 role->node->line, role->node->col,
				 "role '%s': no region: set region: or zone: "
				 "on the role or in providers.gcp",
				 role->name);
	rc = load_region(run, g, role, region, err);
	if (rc)
		return rc;
	rg = gcp_region_of(g, region);
	if (role->zone && !zone_in(rg, role->zone)) {
		const struct ynode *n = where(run, role, "zone");

		return error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
				 n->col,
				 "role '%s': gcp has no zone '%s' in region "
				 "'%s'",
				 role->name, role->zone, region);
	}
	if (!role->zone && gcp_conf(run, "zone") &&
	    !zone_in(rg, gcp_conf(run, "zone")) && !role->region) {
		const struct ynode *n = ynode_get(run->config, "zone");

		return error_set(err, DEPLOY_ERR_INVALID, run->t->file, n->line,
				 n->col,
				 "providers.gcp: no zone '%s' in region '%s'",
				 gcp_conf(run, "zone"), region);
	}
	for (size_t i = 0; !rc && i < role->nr_hosts; i++) {
		const char *zone = gcp_host_zone(run, &role->hosts[i]);
		struct buf key = BUF_INIT;

		if (!zone)
			return error_set(err, DEPLOY_ERR_INVALID, run->t->file,
					 role->node->line, role->node->col,
					 "role '%s': region '%s' has no zones",
					 role->name, region);
		buf_addf(&key, "mt %s %s", zone, gcp_size(role));
		if (!seen_before(seen, nr_seen, key.data))
			rc = check_machine_type(run, g, role, zone, err);
		buf_free(&key);
	}
	if (!rc && !seen_before(seen, nr_seen,
				image_path(role) ? image_path(role) : ""))
		rc = check_image(run, g, role, err);
	return rc;
}

int gcp_prepare(struct provider_run *run, struct gcprun **out,
		struct error *err)
{
	char **seen = NULL;
	size_t nr_seen = 0;
	int rc = gcp_run(run, out, err);

	if (rc || (*out)->checked)
		return rc;
	for (size_t i = 0; !rc && i < run->t->nr_roles; i++)
		if (gcp_role_is_ours(&run->t->roles[i]))
			rc = check_role(run, *out, &run->t->roles[i], &seen,
					&nr_seen, err);
	for (size_t i = 0; i < nr_seen; i++)
		free(seen[i]);
	free(seen);
	(*out)->checked = !rc;
	return rc;
}

/* --- deletes ------------------------------------------------------------- */

int gcp_delete(struct provider_run *run, struct gcp *c, const char *path,
	       const char *what, struct error *err)
{
	long long deadline = now_ms() + IN_USE_WAIT_S * 1000LL;
	long pause = 500;
	int rc;

	for (;;) {
		char rid[37];

		gcp_uuid(rid);
		rc = gcp_mutate(c, "DELETE", path, rid, NULL, what, err);
		if (rc == DEPLOY_ERR_NOT_FOUND) {
			error_clear(err);
			return 0;
		}
		if (!rc ||
		    (strcmp(gcp_reason(c), "resourceInUseByAnotherResource") &&
		     strcmp(gcp_reason(c),
			    "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE")) ||
		    now_ms() > deadline || (run->stop && *run->stop))
			break;
		error_clear(err);
		provider_sleep(run, pause / 2 + (long)(now_ms() % (pause / 2)));
		if (pause < 8000)
			pause *= 2;
	}
	if (rc &&
	    (!strcmp(gcp_reason(c), "resourceInUseByAnotherResource") ||
	     !strcmp(gcp_reason(c), "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE")))
		error_append(err,
			     " (still in use after %d s: does something deploy "
			     "did not make use it?)",
			     IN_USE_WAIT_S);
	return rc;
}

/* --- inserts not waited for ---------------------------------------------- */

/* POST path with the record's key as its requestId, not waited for: the
 * operation's name is recorded with the record ("operation") and waited
 * for with the others of its kind (by the caller), so that the inserts of a
 * fleet run at the same time at Google. The id is name, or the
 * operation's targetId when id_from_op. */
/* One insert of insert_many(). */
struct gcp_insert {
	const char *path;
	const cJSON *body;
	const char *what;
	const char *name;
	bool id_from_op;
};

static int insert_many(struct provider_run *run,
		       const struct resource_ref *const *refs,
		       const struct gcp_insert *ins, size_t n, char **ids,
		       struct error *err)
{
	struct gcprun *g = run->priv;
	struct gcp_req *v = xcalloc(n + 1, sizeof(*v));
	struct buf *q = xcalloc(n + 1, sizeof(*q));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		buf_init(&q[i], 0);
		buf_addf(&q[i], "requestId=%s", refs[i]->key);
		v[i].method = "POST";
		v[i].path = ins[i].path;
		v[i].query = q[i].data;
		v[i].body = ins[i].body;
		v[i].safe = true;
		v[i].what = ins[i].what;
		v[i].answer = true;
	}
	gcp_call_many(g->c, v, n);
	for (size_t i = 0; i < n; i++) {
		const char *tid = gcp_json_str(v[i].out, "targetId");
		const char *opname = gcp_json_str(v[i].out, "name");
		int r = v[i].rc;

		if (!r && !opname)
			r = error_set(&v[i].err, DEPLOY_ERR_SYNTAX, NULL, 0, 0,
				      "gcp %s: the answer is not an operation",
				      ins[i].what);
		if (!r) {
			struct state_resource *res = state_resource_find(
				run->state, "gcp", refs[i]->kind,
				refs[i]->name);

			resource_set_attr(res, "operation", opname);
			ids[i] = xstrdup(
				ins[i].id_from_op && tid ? tid : ins[i].name);
		}
		if (r && !rc)
			rc = error_set(err, r, NULL, 0, 0, "%s", v[i].err.msg);
		error_clear(&v[i].err);
		cJSON_Delete(v[i].out);
		buf_free(&q[i]);
	}
	free(v);
	free(q);
	return rc;
}

int gcp_inserts(struct provider_run *run,
		const struct resource_ref *const *refs, size_t n,
		gcp_insert_fn *build, char **ids, struct error *err)
{
	struct gcp_insert_of *o = xcalloc(n + 1, sizeof(*o));
	struct gcp_insert *ins = xcalloc(n + 1, sizeof(*ins));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		buf_init(&o[i].path, 0);
		buf_init(&o[i].what, 0);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		rc = build(run, refs[i], &o[i], err);
		ins[i] = (struct gcp_insert){ o[i].path.data, o[i].body,
					      o[i].what.data, o[i].name,
					      o[i].id_from_op };
	}
	if (!rc)
		rc = insert_many(run, refs, ins, n, ids, err);
	for (size_t i = 0; i < n; i++) {
		buf_free(&o[i].path);
		buf_free(&o[i].what);
		free(o[i].name);
		cJSON_Delete(o[i].body);
	}
	free(o);
	free(ins);
	return rc;
}

/* What became of the insert operation recorded with a resource. */
enum insert_fate {
	INSERT_GONE,	/* unknown, or done with an error: nothing made */
	INSERT_RUNNING, /* its resource exists soon, or it says why not */
	INSERT_DONE,	/* done without an error: its resource was made */
};

/* The fate of insert operation op; scope "zones/Z" or "regions/R". */
static int insert_fate(struct provider_run *run, const char *scope,
		       const char *op, enum insert_fate *fate,
		       struct error *err)
{
	struct gcprun *g = run->priv;
	struct buf path = BUF_INIT;
	cJSON *doc = NULL;
	const char *status;
	bool exists;
	int rc;

	buf_addf(&path, "%s/operations/%s", scope, op);
	rc = gcp_get(g->c, path.data,
		     !strncmp(scope, "zones/", 6)     ? "zoneOperations.get"
		     : !strncmp(scope, "regions/", 8) ? "regionOperations.get"
						      : "globalOperations.get",
		     &exists, &doc, err);
	buf_free(&path);
	status = !rc && exists ? gcp_json_str(doc, "status") : NULL;
	if (!status)
		*fate = INSERT_GONE;
	else if (strcmp(status, "DONE"))
		*fate = INSERT_RUNNING;
	else
		*fate = cJSON_GetObjectItemCaseSensitive(doc, "error")
				? INSERT_GONE
				: INSERT_DONE;
	cJSON_Delete(doc);
	return rc;
}

/*
 * A recorded resource (path) exists, or its insert is still under way.
 * The insert may end between the resource's 404 and the operation's read:
 * an operation done without an error sends us back to the resource.
 */
int gcp_exists_or_running(struct provider_run *run,
			  const struct resource_ref *ref, const char *scope,
			  const char *path, const char *what, bool *exists,
			  struct error *err)
{
	struct gcprun *g = run->priv;
	const struct state_resource *r =
		state_resource_find(run->state, "gcp", ref->kind, ref->name);
	char *op = r && resource_attr(r, "operation")
			   ? xstrdup(resource_attr(r, "operation"))
			   : NULL;
	enum insert_fate fate = INSERT_GONE;
	int rc = gcp_get(g->c, path, what, exists, NULL, err);

	if (!rc && !*exists && op)
		rc = insert_fate(run, scope, op, &fate, err);
	if (!rc && fate == INSERT_RUNNING)
		*exists = true;
	else if (!rc && fate == INSERT_DONE)
		rc = gcp_get(g->c, path, what, exists, NULL, err);
	free(op);
	return rc;
}

/* --- the operations ------------------------------------------------------ */

static int gcp_hosts_up(struct provider_run *run, struct host *const *hosts,
			size_t nr, struct error *err)
{
	struct gcprun *g;
	int rc = gcp_prepare(run, &g, err);

	if (!rc)
		rc = gcp_network_up(run, g, err);
	/* The firewalls before the instances: an instance is covered from
	 * its first boot by its role's tag. */
	if (!rc)
		rc = gcp_firewalls(run, g, NULL, err);
	if (!rc)
		rc = gcp_instances_up(run, g, hosts, nr, err);
	return rc;
}

struct names {
	char **v;
	size_t nr;
	struct gcprun *g;
};

static int collect_host(const cJSON *inst, void *ud)
{
	struct names *n = ud;
	const char *host =
		gcp_json_str(cJSON_GetObjectItemCaseSensitive(inst, "labels"),
			     "deploy-host");
	const char *name = gcp_json_str(inst, "name");
	char zone[128];
	struct buf key = BUF_INIT;

	if (host)
		gcp_strings_add(&n->v, &n->nr, host);
	gcp_basename(gcp_json_str(inst, "zone"), zone, sizeof(zone));
	buf_addf(&key, "%s/%s", zone, name ? name : "");
	gcp_strings_add(&n->g->listed, &n->g->nr_listed, key.data);
	buf_free(&key);
	return 0;
}

/*
 * Lists the topology's instances into g->listed (zone/name) and, when out
 * is not NULL, their host names into *out. With out NULL, a list made
 * earlier in the run is kept.
 */
static int list_instances(struct provider_run *run, char ***out, size_t *nr,
			  struct error *err)
{
	struct names n = { NULL, 0, NULL };
	struct gcprun *g;
	int rc = gcp_run(run, &g, err);

	if (!rc && (out || !g->listed_valid)) {
		n.g = g;
		for (size_t i = 0; i < g->nr_listed; i++)
			free(g->listed[i]);
		g->nr_listed = 0;
		rc = gcp_instances_list(run, g, collect_host, &n, err);
		g->listed_valid = !rc;
	}
	if (out) {
		*out = n.v;
		*nr = n.nr;
	} else {
		for (size_t i = 0; i < n.nr; i++)
			free(n.v[i]);
		free(n.v);
	}
	return rc;
}

static int gcp_list_hosts(struct provider_run *run, char ***out, size_t *nr,
			  struct error *err)
{
	return list_instances(run, out, nr, err);
}

static int gcp_exists(struct provider_run *run, const struct state_resource *r,
		      bool *exists, struct error *err)
{
	const struct state_host *sh =
		state_host_get(run->state, r->name, false);
	int rc;

	*exists = false;
	if (strcmp(r->kind, "host") || !r->id)
		return 0;
	/* A host a stopped run made but did not see running (its insert
	 * still under way, or its address not recorded) is handed to
	 * hosts_up again, which adopts it and waits. */
	if (resource_attr(r, "operation") || !sh || !sh->address)
		return 0;
	/* The first look-up of a run lists the topology's instances (one
	 * call a page, whatever the number of hosts); an instance the list
	 * has is there, one it lacks is asked for by name. */
	rc = list_instances(run, NULL, NULL, err);
	return rc ? rc : gcp_instance_exists(run, r, exists, err);
}

static int gcp_sync(struct provider_run *run, struct buf *dry,
		    struct error *err)
{
	struct gcprun *g;
	int rc = gcp_run(run, &g, err);

	if (!rc && !dry) {
		rc = gcp_prepare(run, &g, err);
		if (!rc)
			rc = gcp_network_up(run, g, err);
	}
	if (!rc && dry)
		gcp_network_plan(run, dry);
	if (!rc)
		rc = gcp_firewalls(run, g, dry, err);
	return rc;
}

const struct provider_ops gcp_provider = {
	.name = "gcp",
	.summary = "Google Compute Engine instances in a network of their "
		   "own, firewall rules per role by target tag",
	.config_keys = gcp_keys,
	.ssh_wait_s = 300,
	.ssh_hint = "check that ssh.admin_cidrs holds your address and that "
		    "the image lets ssh.user log in",
	.hosts_up = gcp_hosts_up,
	.exists = gcp_exists,
	.destroy = gcp_destroy,
	.destroy_hosts = gcp_destroy_hosts,
	.finish_down = gcp_finish_down,
	.list_hosts = gcp_list_hosts,
	.sync = gcp_sync,
	.release = gcp_release,
};
