/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_IMAGE_H
#define DEPLOY_IMAGE_H

#include <stdbool.h>

#include "topology/topology.h"
#include "util/buf.h"

/*
 * Container images a host runs are pinned (docs/playbooks.md#docker): a
 * reference is either
 *
 *   REPO[:TAG]@sha256:<64 hex>   pulled by that digest, or
 *   REPO:TAG                     the image: of an artifact with
 *                                docker_load: true (a `docker save`
 *                                tarball pinned by its own sha256, which
 *                                the host `docker load`s).
 *
 * A bare tag, no tag, or `latest` is refused, with the digest form as the
 * hint. Variables named `image` or ending in `_image` hold references and
 * are checked when the topology is validated; the playbook step
 * `docker_image:` checks the reference it renders.
 */

/* Whether a variable of this name holds an image reference. */
bool image_var_name(const char *name);

/* Whether ref is REPO[:TAG]@sha256:<64 hex> (upper-case hex refused). */
bool image_ref_pinned(const char *ref);

/* The artifact with docker_load: true whose image: is ref, or NULL. */
const struct artifact *image_ref_artifact(const struct topology *t,
					  const char *ref);

/*
 * 0 when ref is pinned or a docker_load artifact's image. Otherwise -1
 * with why set to the rest of a message that starts "WHAT 'REF' ": why
 * it is refused and the digest form to write instead.
 */
int image_ref_check(const struct topology *t, const char *ref, struct buf *why);

/*
 * The same for an artifact's image: (REPO:TAG, the tag `docker save` was
 * given, not latest, no digest).
 */
int image_tag_check(const char *ref, struct buf *why);

#endif
