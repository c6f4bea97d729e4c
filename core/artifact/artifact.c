/* SPDX-License-Identifier: MIT */
/* Artifacts pinned by SHA-256: fetched once into a cache, verified. */
#include "artifact/artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "http/http.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

char *artifact_cache_dir(const struct artifact_options *o)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	struct buf b = BUF_INIT;

	if (o && o->cache_dir)
		buf_adds(&b, o->cache_dir);
	else if (xdg && xdg[0] == '/') /* relative ones are ignored (XDG) */
		buf_addf(&b, "%s/deploy/artifacts", xdg);
	else
		buf_addf(&b, "%s/.cache/deploy/artifacts", home_dir());
	return buf_release(&b);
}

static void hex(const unsigned char *md, unsigned int n, char out[65])
{
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* Hash fd from where it is; with copy_to >= 0, copy it there as well. */
static int hash_fd(int fd, int copy_to, size_t max, char out[65], bool *too_big)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[65536], sum[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t total = 0;
	ssize_t got;
	int rc = 0;

	*too_big = false;
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return DEPLOY_ERR_NOMEM;
	}
	while ((got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = DEPLOY_ERR_IO;
			break;
		}
		total += (size_t)got;
		if (total > max) {
			*too_big = true;
			rc = DEPLOY_ERR_TOO_BIG;
			break;
		}
		EVP_DigestUpdate(md, buf, (size_t)got);
		if (copy_to >= 0 && write_all(copy_to, buf, (size_t)got)) {
			rc = DEPLOY_ERR_IO;
			break;
		}
	}
	if (!rc) {
		EVP_DigestFinal_ex(md, sum, &n);
		hex(sum, n, out);
	}
	EVP_MD_CTX_free(md);
	return rc;
}

int artifact_file_sha256(const char *path, char out[65], struct error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool too_big;
	int rc;

	if (fd < 0)
		return error_set(
			err,
			errno == ENOENT ? DEPLOY_ERR_NOT_FOUND : DEPLOY_ERR_IO,
			path, 0, 0, "cannot read: %s", strerror(errno));
	rc = hash_fd(fd, -1, SIZE_MAX, out, &too_big);
	close(fd);
	if (rc)
		return error_set(err, rc, path, 0, 0, "cannot read: %s",
				 deploy_strerror(rc));
	return 0;
}

/* The error of artifact a, at node n of the topology. */
static int art_error(struct error *err, int code, const struct topology *t,
		     const struct ynode *n, const struct artifact *a,
		     const char *url, const char *why)
{
	if (!n)
		n = a->node;
	return error_set(err, code, t->file, n->line, n->col,
			 "artifact '%s': %s: %s", a->name, url, why);
}

/* file:///PATH into the open temporary file. */
static int fetch_file(const struct topology *t, const struct artifact *a,
		      const char *shown, int tmp, size_t max, char got[65],
		      struct error *err)
{
	const char *path = a->url + strlen("file://");
	struct buf why = BUF_INIT;
	bool too_big;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? DEPLOY_ERR_NOT_FOUND : DEPLOY_ERR_IO;
		buf_addf(&why, "cannot read it: %s", strerror(errno));
		goto fail;
	}
	rc = hash_fd(fd, tmp, max, got, &too_big);
	close(fd);
	if (!rc)
		return 0;
	if (too_big)
		buf_addf(&why, "larger than %zu bytes", max);
	else
		buf_addf(&why, "cannot copy it into the cache: %s",
			 deploy_strerror(rc));
fail:
	rc = art_error(err, rc, t, a->url_node, a, shown, why.data);
	buf_free(&why);
	return rc;
}

/* http(s):// into the open temporary file, then hashed. */
static int fetch_http(const struct topology *t, const struct artifact *a,
		      const struct artifact_options *o, const char *shown,
		      int tmp, size_t max, char got[65], struct error *err)
{
	struct http_request req = {
		.method = "GET",
		.url = a->url,
		.connect_timeout_ms = o && o->connect_timeout_ms
					      ? o->connect_timeout_ms
					      : 10000,
		.timeout_ms = o && o->timeout_ms ? o->timeout_ms
						 : ARTIFACT_DEFAULT_TIMEOUT_MS,
		.max_body = max,
	};
	struct http_response resp;
	struct buf why = BUF_INIT;
	struct error e;
	bool too_big;
	int rc, fd = dup(tmp);

	error_init(&e);
	http_response_init(&resp);
	req.sink = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!req.sink) {
		if (fd >= 0)
			close(fd);
		rc = DEPLOY_ERR_IO;
		buf_addf(&why, "cannot write into the cache");
		goto fail;
	}
	rc = http_do(&req, &resp, &e);
	if (fclose(req.sink) && !rc) {
		rc = DEPLOY_ERR_IO;
		buf_addf(&why, "cannot write into the cache");
		goto fail;
	}
	if (rc) {
		/* e names the method and URL as shown: keep its reason. */
		const char *r = strstr(e.msg, ": ");

		buf_adds(&why, r ? r + 2 : e.msg);
		goto fail;
	}
	if (resp.status != 200) {
		rc = DEPLOY_ERR_NOT_FOUND;
		buf_addf(&why, "HTTP status %ld", resp.status);
		goto fail;
	}
	if (lseek(tmp, 0, SEEK_SET) < 0 ||
	    hash_fd(tmp, -1, max, got, &too_big)) {
		rc = DEPLOY_ERR_IO;
		buf_addf(&why, "cannot read back what was downloaded");
		goto fail;
	}
	goto out;
fail:
	rc = art_error(err, rc, t, a->url_node, a, shown, why.data);
out:
	buf_free(&why);
	http_response_free(&resp);
	error_clear(&e);
	return rc;
}

static int fetch_one(const struct topology *t, const struct artifact_options *o,
		     const char *cache, struct artifact_pin *pin,
		     struct error *err)
{
	const struct artifact *a = pin->a;
	size_t max = o && o->max_bytes ? o->max_bytes : ARTIFACT_MAX_BYTES;
	struct buf tmp_path = BUF_INIT, why = BUF_INIT;
	char shown[512], got[65] = "";
	int tmp, rc;

	http_url_for_humans(a->url, shown, sizeof(shown));
	if (o && o->fetching)
		o->fetching(o->data, a, shown);
	buf_addf(&tmp_path, "%s/.fetch-%s-XXXXXX", cache, pin->sha256);
	tmp = mkstemp(tmp_path.data);
	if (tmp < 0) {
		rc = error_set(err, DEPLOY_ERR_IO, cache, 0, 0,
			       "cannot create a file in the artifact cache: "
			       "%s",
			       strerror(errno));
		buf_free(&tmp_path);
		return rc;
	}
	if (!strncmp(a->url, "file://", 7))
		rc = fetch_file(t, a, shown, tmp, max, got, err);
	else
		rc = fetch_http(t, a, o, shown, tmp, max, got, err);
	if (!rc && fsync(tmp))
		rc = error_set(err, DEPLOY_ERR_IO, tmp_path.data, 0, 0,
			       "cannot write: %s", strerror(errno));
	close(tmp);
	if (!rc && strcmp(got, pin->sha256)) {
		buf_addf(&why,
			 "sha256 mismatch: the topology pins %s, the file "
			 "fetched has %s; nothing was cached",
			 pin->sha256, got);
		rc = art_error(err, DEPLOY_ERR_INVALID, t, a->sha256_node, a,
			       shown, why.data);
	}
	if (!rc && rename(tmp_path.data, pin->path))
		rc = error_set(err, DEPLOY_ERR_IO, pin->path, 0, 0,
			       "cannot write: %s", strerror(errno));
	if (rc)
		unlink(tmp_path.data);
	else
		fsync_dir_of(pin->path);
	pin->fetched = !rc;
	buf_free(&tmp_path);
	buf_free(&why);
	return rc;
}

/* Whether the cache has the pinned file (a damaged one is removed). */
static bool cached(struct artifact_pin *pin)
{
	struct error e;
	char got[65];
	bool ok;

	error_init(&e);
	ok = !artifact_file_sha256(pin->path, got, &e) &&
	     !strcmp(got, pin->sha256);
	if (!ok)
		unlink(pin->path);
	error_clear(&e);
	return ok;
}

int artifact_use(const struct topology *t, const struct artifact_options *o,
		 struct artifact_pin **pins, struct error *err)
{
	struct artifact_pin *p = xcalloc(t->nr_artifacts + 1, sizeof(*p));
	char *cache = artifact_cache_dir(o);
	int rc = 0;

	*pins = NULL;
	if (t->nr_artifacts)
		rc = mkdir_p(cache, 0700, err);
	for (size_t i = 0; !rc && i < t->nr_artifacts; i++) {
		const struct artifact *a = &t->artifacts[i];
		struct buf path = BUF_INIT;

		p[i].a = a;
		for (size_t j = 0; j < 64 && a->sha256[j]; j++)
			p[i].sha256[j] =
				(char)(a->sha256[j] >= 'A' &&
						       a->sha256[j] <= 'F'
					       ? a->sha256[j] - 'A' + 'a'
					       : a->sha256[j]);
		/* fetch: host: the hosts download it; nothing here. */
		if (a->fetch_host)
			continue;
		buf_addf(&path, "%s/%s", cache, p[i].sha256);
		p[i].path = buf_release(&path);
		if (!cached(&p[i]))
			rc = fetch_one(t, o, cache, &p[i], err);
	}
	free(cache);
	if (rc) {
		artifact_pins_free(p, t->nr_artifacts);
		return rc;
	}
	*pins = p;
	return 0;
}

void artifact_pins_free(struct artifact_pin *pins, size_t nr)
{
	if (!pins)
		return;
	for (size_t i = 0; i < nr; i++)
		free(pins[i].path);
	free(pins);
}

const struct artifact_pin *artifact_pin_find(const struct artifact_pin *pins,
					     size_t nr, const char *name)
{
	for (size_t i = 0; pins && i < nr; i++)
		if (pins[i].a && !strcmp(pins[i].a->name, name))
			return &pins[i];
	return NULL;
}
