/* SPDX-License-Identifier: MIT */
/* Container image references: pinned by digest or loaded from an artifact. */
#include <string.h>

#include "topology/image.h"
#include "util/banned.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_HEX    64

bool image_var_name(const char *name)
{
	size_t len = strlen(name);

	return !strcmp(name, "image") ||
	       (len > 6 && !strcmp(name + len - 6, "_image"));
}

/* REPO[:TAG]: registry host[:port], path components, an optional tag. */
static bool name_ok(const char *s, size_t len)
{
	if (!len || s[0] == '/' || s[0] == ':' || s[len - 1] == '/' ||
	    s[len - 1] == ':')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._-/:", c)))
			return false;
	}
	return true;
}

/* The tag's colon: the last ':' after the last '/', or NULL. */
static const char *tag_colon(const char *s, size_t len)
{
	const char *slash = NULL, *colon = NULL;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/')
			slash = s + i;
		else if (s[i] == ':')
			colon = s + i;
	}
	return colon && (!slash || colon > slash) ? colon : NULL;
}

static size_t hex_len(const char *s)
{
	return strspn(s, "0123456789abcdef");
}

bool image_ref_pinned(const char *ref)
{
	const char *at = strchr(ref, '@');
	const char *d;

	if (!at || !name_ok(ref, (size_t)(at - ref)))
		return false;
	d = at + 1;
	if (strncmp(d, DIGEST_PREFIX, strlen(DIGEST_PREFIX)))
		return false;
	d += strlen(DIGEST_PREFIX);
	return hex_len(d) == DIGEST_HEX && !d[DIGEST_HEX];
}

const struct artifact *image_ref_artifact(const struct topology *t,
					  const char *ref)
{
	for (size_t i = 0; t && i < t->nr_artifacts; i++)
		if (t->artifacts[i].docker_load && t->artifacts[i].image &&
		    !strcmp(t->artifacts[i].image, ref))
			return &t->artifacts[i];
	return NULL;
}

/* "name@sha256:<64 hex digits>" for the hint: ref without tag or digest. */
static void digest_form(const char *ref, size_t len, struct buf *out)
{
	const char *colon = tag_colon(ref, len);

	buf_add(out, ref, colon ? (size_t)(colon - ref) : len);
	buf_adds(out, "@sha256:<64 hex digits>");
}

static void hint(const char *ref, size_t len, struct buf *why)
{
	buf_adds(why, ": write it with its digest, '");
	digest_form(ref, len, why);
	buf_adds(why,
		 "' (docker inspect --format '{{index .RepoDigests 0}}' "
		 "IMAGE prints it), or ship it as a 'docker save' artifact "
		 "with 'docker_load: true' and its 'image:'");
}

int image_ref_check(const struct topology *t, const char *ref, struct buf *why)
{
	const char *at = strchr(ref, '@');
	size_t len = at ? (size_t)(at - ref) : strlen(ref);
	const char *colon;

	if (image_ref_pinned(ref) || image_ref_artifact(t, ref))
		return 0;
	if (!name_ok(ref, len)) {
		buf_adds(why, "is not an image reference (REPO[:TAG]@sha256:"
			      "<64 hex digits>)");
		return -1;
	}
	if (at) {
		const char *d = at + 1;
		size_t n;

		if (strncmp(d, DIGEST_PREFIX, strlen(DIGEST_PREFIX))) {
			buf_adds(why, "has a digest that is not 'sha256:'");
			hint(ref, len, why);
			return -1;
		}
		d += strlen(DIGEST_PREFIX);
		n = hex_len(d);
		if (d[n])
			buf_addf(why,
				 "has a digest that is not lower-case hex "
				 "('%c' at character %zu of it)",
				 d[n], n + 1);
		else
			buf_addf(why, "has a digest of %zu hex digits, not 64",
				 n);
		return -1;
	}
	colon = tag_colon(ref, len);
	if (!colon)
		buf_addf(why, "is not pinned (no tag means 'latest', "
			      "which moves)");
	else if (!strcmp(colon + 1, "latest"))
		buf_addf(why, "is not pinned ('latest' moves)");
	else
		buf_addf(why, "is not pinned (a tag can be moved to "
			      "other content)");
	hint(ref, len, why);
	return -1;
}

int image_tag_check(const char *ref, struct buf *why)
{
	size_t len = strlen(ref);
	const char *colon = tag_colon(ref, len);

	if (strchr(ref, '@') || !name_ok(ref, len)) {
		buf_adds(why, "is not REPO:TAG (the name 'docker save' was "
			      "given, such as 'iconloop/icon2-node:v1.4.4')");
		return -1;
	}
	if (!colon || !strcmp(colon + 1, "latest")) {
		buf_adds(why, colon ? "has the tag 'latest'"
				    : "has no tag (docker save records "
				      "'latest')");
		buf_adds(why, ": tag the image with its version (docker tag "
			      "IMAGE ");
		buf_add(why, ref, colon ? (size_t)(colon - ref) : len);
		buf_adds(why, ":v1.2.3) before 'docker save'");
		return -1;
	}
	return 0;
}
