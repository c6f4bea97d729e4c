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
#include <uv.h>

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

/* One artifact on its way into the cache, through its temporary file. */
struct fetch_one {
	struct artifact_pin *pin;
	char shown[512];
	char *tmp_path;
	int tmp;
	int rc;
	struct error err;
	struct http_request req; /* http(s):// */
	struct http_response resp;
	struct http_exchange *x;
};

struct artifact_fetch {
	const struct topology *t;
	size_t max;
	struct fetch_one *v;
	size_t n;
	struct http_exchange *xs;
	size_t nx;
	artifact_fetch_done_fn *done;
	void *data;
	struct error err;
};

/* What the transfer of f brought, hashed into got, or f's error. */
static int http_fetched(struct artifact_fetch *af, struct fetch_one *f,
			char got[65])
{
	const struct artifact *a = f->pin->a;
	struct buf why = BUF_INIT;
	bool too_big;
	int rc = f->x->rc;

	if (fclose(f->req.sink) && !rc) {
		rc = DEPLOY_ERR_IO;
		buf_addf(&why, "cannot write into the cache");
		goto fail;
	}
	if (rc == DEPLOY_ERR_INTERRUPTED) {
		buf_adds(&why, "the download was interrupted; nothing was "
			       "cached");
		goto fail;
	}
	if (rc) {
		/* The error names the method and URL as shown: keep its
		 * reason. */
		const char *r = strstr(f->x->err.msg, ": ");

		buf_adds(&why, r ? r + 2 : f->x->err.msg);
		goto fail;
	}
	if (f->resp.status != 200) {
		rc = DEPLOY_ERR_NOT_FOUND;
		buf_addf(&why, "HTTP status %ld", f->resp.status);
		goto fail;
	}
	if (lseek(f->tmp, 0, SEEK_SET) < 0 ||
	    hash_fd(f->tmp, -1, af->max, got, &too_big)) {
		rc = DEPLOY_ERR_IO;
		buf_addf(&why, "cannot read back what was downloaded");
		goto fail;
	}
	goto out;
fail:
	rc = art_error(&f->err, rc, af->t, a->url_node, a, f->shown, why.data);
out:
	buf_free(&why);
	return rc;
}

/* The temporary file is in: checked against the pin, renamed to it. */
static int fetch_end(struct artifact_fetch *af, struct fetch_one *f, int rc,
		     const char *got)
{
	const struct artifact *a = f->pin->a;
	struct artifact_pin *pin = f->pin;

	if (!rc && fsync(f->tmp))
		rc = error_set(&f->err, DEPLOY_ERR_IO, f->tmp_path, 0, 0,
			       "cannot write: %s", strerror(errno));
	close(f->tmp);
	f->tmp = -1;
	if (!rc && strcmp(got, pin->sha256)) {
		struct buf why = BUF_INIT;

		buf_addf(&why,
			 "sha256 mismatch: the topology pins %s, the file "
			 "fetched has %s; nothing was cached",
			 pin->sha256, got);
		rc = art_error(&f->err, DEPLOY_ERR_INVALID, af->t,
			       a->sha256_node, a, f->shown, why.data);
		buf_free(&why);
	}
	if (!rc && rename(f->tmp_path, pin->path))
		rc = error_set(&f->err, DEPLOY_ERR_IO, pin->path, 0, 0,
			       "cannot write: %s", strerror(errno));
	if (rc)
		unlink(f->tmp_path);
	else
		fsync_dir_of(pin->path);
	pin->fetched = !rc;
	pin->missing = pin->missing && rc;
	return f->rc = rc;
}

/* Its temporary file, and for file:// its copy; http(s):// to come. */
static void fetch_begin(struct artifact_fetch *af,
			const struct artifact_options *o, const char *cache,
			struct fetch_one *f)
{
	const struct artifact *a = f->pin->a;
	struct buf tmp_path = BUF_INIT;
	char got[65] = "";
	int fd;

	http_url_for_humans(a->url, f->shown, sizeof(f->shown));
	if (o && o->fetching)
		o->fetching(o->data, a, f->shown);
	buf_addf(&tmp_path, "%s/.fetch-%s-XXXXXX", cache, f->pin->sha256);
	f->tmp_path = buf_release(&tmp_path);
	f->tmp = mkstemp(f->tmp_path);
	if (f->tmp < 0) {
		f->rc = error_set(&f->err, DEPLOY_ERR_IO, cache, 0, 0,
				  "cannot create a file in the artifact "
				  "cache: %s",
				  strerror(errno));
		return;
	}
	if (!strncmp(a->url, "file://", 7)) {
		fetch_end(af, f,
			  fetch_file(af->t, a, f->shown, f->tmp, af->max, got,
				     &f->err),
			  got);
		return;
	}
	fd = dup(f->tmp);
	f->req.sink = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f->req.sink) {
		if (fd >= 0)
			close(fd);
		fetch_end(af, f,
			  art_error(&f->err, DEPLOY_ERR_IO, af->t, a->url_node,
				    a, f->shown, "cannot write into the cache"),
			  got);
		return;
	}
	f->req.method = "GET";
	f->req.url = a->url;
	f->req.connect_timeout_ms =
		o && o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
	f->req.timeout_ms = o && o->timeout_ms ? o->timeout_ms
					       : ARTIFACT_DEFAULT_TIMEOUT_MS;
	f->req.max_body = af->max;
	f->req.stop = o ? o->stop : NULL;
	f->x = &af->xs[af->nx++];
	f->x->req = &f->req;
	f->x->resp = &f->resp;
}

/* Every transfer is over: the first artifact (in the topology's order)
 * that could not be had is the fetch's error. */
static void on_fetched(void *data)
{
	struct artifact_fetch *af = data;
	int rc = 0;

	for (size_t i = 0; i < af->n; i++) {
		struct fetch_one *f = &af->v[i];
		char got[65] = "";

		if (f->x)
			fetch_end(af, f, http_fetched(af, f, got), got);
	}
	for (size_t i = 0; !rc && i < af->n; i++) {
		struct fetch_one *f = &af->v[i];

		if (f->rc) {
			rc = f->rc;
			error_set(&af->err, rc, f->err.file, f->err.line,
				  f->err.col, "%s", f->err.msg);
		}
	}
	af->done(af->data, rc, &af->err);
}

void artifact_fetch_start(const struct topology *t,
			  const struct artifact_options *o,
			  struct artifact_pin *pins, size_t nr,
			  struct http_client *c, artifact_fetch_done_fn *done,
			  void *data, struct artifact_fetch **out)
{
	struct artifact_fetch *af = xcalloc(1, sizeof(*af));
	char *cache = artifact_cache_dir(o);

	af->t = t;
	af->max = o && o->max_bytes ? o->max_bytes : ARTIFACT_MAX_BYTES;
	af->done = done;
	af->data = data;
	error_init(&af->err);
	af->v = xcalloc(nr + 1, sizeof(*af->v));
	af->xs = xcalloc(nr + 1, sizeof(*af->xs));
	for (size_t i = 0; i < nr; i++) {
		struct fetch_one *f;

		if (!pins[i].missing)
			continue;
		f = &af->v[af->n++];
		f->pin = &pins[i];
		f->tmp = -1;
		error_init(&f->err);
		http_response_init(&f->resp);
		fetch_begin(af, o, cache, f);
	}
	free(cache);
	/* Every download at once; done() comes from the loop. */
	http_client_start(c, af->xs, af->nx, 0, on_fetched, af);
	*out = af;
}

void artifact_fetch_free(struct artifact_fetch *af)
{
	if (!af)
		return;
	for (size_t i = 0; i < af->n; i++) {
		struct fetch_one *f = &af->v[i];

		if (f->tmp >= 0) { /* never ended: its transfer was cut */
			if (f->req.sink)
				fclose(f->req.sink);
			close(f->tmp);
			unlink(f->tmp_path);
		}
		free(f->tmp_path);
		error_clear(&f->err);
		http_response_free(&f->resp);
	}
	for (size_t i = 0; i < af->nx; i++)
		error_clear(&af->xs[i].err);
	error_clear(&af->err);
	free(af->v);
	free(af->xs);
	free(af);
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

int artifact_pins(const struct topology *t, const struct artifact_options *o,
		  struct artifact_pin **pins, size_t *missing,
		  struct error *err)
{
	struct artifact_pin *p = xcalloc(t->nr_artifacts + 1, sizeof(*p));
	char *cache = artifact_cache_dir(o);
	int rc = 0;

	*pins = p;
	*missing = 0;
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
		p[i].missing = !cached(&p[i]);
		*missing += p[i].missing;
	}
	free(cache);
	if (rc) {
		artifact_pins_free(p, t->nr_artifacts);
		*pins = NULL;
	}
	return rc;
}

struct fetch_wait {
	bool done;
	int rc;
	struct error *err;
};

static void fetch_waited(void *data, int rc, const struct error *err)
{
	struct fetch_wait *w = data;

	w->done = true;
	w->rc = rc;
	if (rc)
		error_set(w->err, rc, err->file, err->line, err->col, "%s",
			  err->msg);
}

int artifact_fetch_missing(const struct topology *t,
			   const struct artifact_options *o,
			   struct artifact_pin *pins, size_t nr,
			   struct error *err)
{
	struct fetch_wait w = { .err = err };
	struct artifact_fetch *af = NULL;
	struct http_client *c;
	uv_loop_t loop;

	if (uv_loop_init(&loop))
		return error_set(err, DEPLOY_ERR_IO, NULL, 0, 0,
				 "cannot start the event loop");
	c = http_client_new(&loop);
	if (!c) {
		w.rc = error_set(err, DEPLOY_ERR_NOMEM, NULL, 0, 0,
				 "cannot start requests");
	} else {
		artifact_fetch_start(t, o, pins, nr, c, fetch_waited, &w, &af);
		while (!w.done)
			uv_run(&loop, UV_RUN_ONCE);
	}
	artifact_fetch_free(af);
	http_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return w.rc;
}

int artifact_use(const struct topology *t, const struct artifact_options *o,
		 struct artifact_pin **pins, struct error *err)
{
	size_t missing;
	int rc;

	rc = artifact_pins(t, o, pins, &missing, err);
	if (!rc && missing)
		rc = artifact_fetch_missing(t, o, *pins, t->nr_artifacts, err);
	if (rc) {
		artifact_pins_free(*pins, t->nr_artifacts);
		*pins = NULL;
	}
	return rc;
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
