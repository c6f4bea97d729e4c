/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_ARTIFACT_H
#define DEPLOY_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/topology.h"
#include "util/error.h"

/*
 * Artifacts (`artifacts:` in the topology; docs/topology.md#artifacts):
 * files pinned by their SHA-256, fetched once on the operator's machine
 * into a cache beside the git sources' one and pushed to the hosts from
 * there (playbook step `artifact:`). The cache is addressed by digest:
 *
 *   CACHE/SHA256      the file, verified when it was written
 *
 * CACHE is $XDG_CACHE_HOME/deploy/artifacts, else
 * ~/.cache/deploy/artifacts. An artifact already in the cache is never
 * fetched again, so a run needs no network once the cache holds every
 * artifact (offline rehearsal). A download goes to a temporary file in the
 * cache, is hashed as it arrives, and is renamed to its digest only when
 * the digest is the pinned one. Transfers have a connect timeout, a total
 * timeout and a size cap. Messages show URLs without credentials or query
 * (http_url_for_humans()).
 */

#define ARTIFACT_DEFAULT_TIMEOUT_MS 600000
#define ARTIFACT_MAX_BYTES	    (4ull << 30)

struct artifact_options {
	const char *cache_dir;	 /* NULL: the XDG cache (above) */
	long connect_timeout_ms; /* 0: 10000 */
	long timeout_ms;	 /* one transfer; 0: the default */
	size_t max_bytes;	 /* 0: ARTIFACT_MAX_BYTES */
	/* MAY: once set, the downloads end (DEPLOY_ERR_INTERRUPTED), their
	 * temporary files removed (http_request.stop). */
	const volatile int *stop;
	/* MAY: artifact a is being fetched from url (as shown). */
	void (*fetching)(void *data, const struct artifact *a, const char *url);
	void *data;
};

/* An artifact as a run uses it: its file in the cache. */
struct artifact_pin {
	const struct artifact *a;
	char sha256[65]; /* lower case */
	char *path;	 /* NULL for fetch: host (the hosts download it) */
	bool fetched;	 /* this run fetched it */
	bool missing;	 /* not in the cache (yet): to fetch */
};

/* The cache directory (above), malloc'd. */
char *artifact_cache_dir(const struct artifact_options *o);

/*
 * Every artifact of t in the cache, fetching those that are not (all at
 * once, artifact_fetch_start() on a loop of its own). The first one, in
 * the topology's order, that cannot be had is the error: DEPLOY_ERR_INVALID (a
 * digest mismatch), DEPLOY_ERR_UNREACHABLE, DEPLOY_ERR_NOT_FOUND (an HTTP error
 * status, a missing file://), DEPLOY_ERR_TIMEOUT, DEPLOY_ERR_TOO_BIG or
 * DEPLOY_ERR_INTERRUPTED (o->stop),
 * with err at the artifact's place in the topology, naming the artifact,
 * its URL and, for a mismatch, both digests. *pins has t->nr_artifacts
 * items in the topology's order.
 */
int artifact_use(const struct topology *t, const struct artifact_options *o,
		 struct artifact_pin **pins, struct error *err);
/*
 * The pins of every artifact of t, with their places in the cache, and
 * nothing fetched: those the cache holds (verified; a damaged copy is
 * removed) are ready, *missing counts the others (pin.missing).
 */
int artifact_pins(const struct topology *t, const struct artifact_options *o,
		  struct artifact_pin **pins, size_t *missing,
		  struct error *err);

/*
 * Fetch the missing ones of the nr pins, all at once: file:// here,
 * http(s):// as exchanges on the client c, so on c's loop, beside what
 * else that loop drives (the SSH engine's sessions in `deploy up`). done()
 * runs once, from the loop, with 0 or the error artifact_use() would
 * return for the first artifact, in the topology's order, that could not
 * be had; the pins fetched are in the cache then. pins, t and o stay valid
 * until then; *out is freed with artifact_fetch_free() (which cuts
 * transfers still under way and removes their temporary files).
 */
struct http_client;
struct artifact_fetch;
typedef void artifact_fetch_done_fn(void *data, int rc,
				    const struct error *err);
void artifact_fetch_start(const struct topology *t,
			  const struct artifact_options *o,
			  struct artifact_pin *pins, size_t nr,
			  struct http_client *c, artifact_fetch_done_fn *done,
			  void *data, struct artifact_fetch **out);
void artifact_fetch_free(struct artifact_fetch *af);
/* The same, waited for on a loop of its own: 0 or that error. */
int artifact_fetch_missing(const struct topology *t,
			   const struct artifact_options *o,
			   struct artifact_pin *pins, size_t nr,
			   struct error *err);

void artifact_pins_free(struct artifact_pin *pins, size_t nr);
const struct artifact_pin *artifact_pin_find(const struct artifact_pin *pins,
					     size_t nr, const char *name);

/* The SHA-256 of a file, in lower-case hex. */
int artifact_file_sha256(const char *path, char out[65], struct error *err);

#endif
