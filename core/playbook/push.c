/* SPDX-License-Identifier: MIT */
/* Artifacts that travel beside the script: probe, transfer, image IDs. */

/*
 * A large artifact does not fit in the script (which is read whole):
 * its bytes go on a channel of their own, before the script, and only to
 * a host that lacks them. The probe asks the host, in one command, what it
 * has of each push: the file with the artifact's digest, the directory
 * unpacked from it (its marker), the docker image it holds (by image ID),
 * or a checked copy waiting in COMPILE_STAGE_DIR from a run that stopped
 * before its step. The transfer receives the bytes in COMPILE_STAGE_DIR
 * (the final place's directory may not exist before the script runs),
 * checks their digest, and renames them to COMPILE_STAGE_DIR/HOST/SHA256; the
 * script's step takes them from there and renames its copy into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "playbook/compile.h"
#include "template/template.h"
#include "util/xalloc.h"
#include "util/banned.h"

static void quote(struct buf *cmd, const char *s)
{
	template_shell_quote(cmd, s, strlen(s));
}

void script_probe(const struct script *s, struct buf *cmd)
{
	for (size_t i = 0; i < s->nr_pushes; i++) {
		const struct script_push *p = &s->pushes[i];

		switch (p->kind) {
		case PUSH_FILE:
			buf_adds(cmd, "h=$(sha256sum <");
			quote(cmd, p->dest);
			buf_addf(cmd,
				 " 2>/dev/null) && [ \"${h%%%% *}\" = %s ]",
				 p->sha256);
			break;
		case PUSH_UNPACK:
			/* The marker dp_artifact writes: "NAME SHA256". */
			buf_adds(cmd, "[ \"$(cat -- ");
			quote(cmd, p->dest);
			buf_adds(cmd, "/.deploy-artifact 2>/dev/null)\" = ");
			buf_addch(cmd, '\'');
			buf_adds(cmd, p->name); /* a name: [a-z0-9_-] */
			buf_addf(cmd, " %s' ]", p->sha256);
			break;
		case PUSH_DOCKER:
			buf_adds(cmd, "h=$(docker image inspect -f '{{.Id}}' ");
			quote(cmd, p->dest);
			buf_adds(cmd, " 2>/dev/null) && case ' ");
			buf_adds(cmd, p->image_ids); /* sha256:HEX ... */
			buf_adds(cmd, " ' in *\" $h \"*) true ;; *) false ;; "
				      "esac");
			break;
		}
		buf_addf(cmd, " && echo '%zu present' || { [ -f ", i);
		quote(cmd, p->staged);
		buf_addf(cmd, " ] && echo '%zu staged'; }; ", i);
	}
	buf_adds(cmd, "true");
}

void script_probe_parse(const struct script *s, const char *out,
			enum script_have *have)
{
	for (size_t i = 0; i < s->nr_pushes; i++)
		have[i] = HAVE_NOTHING;
	for (const char *l = out; l && *l;) {
		size_t len = strcspn(l, "\n");
		char *end;
		unsigned long i = strtoul(l, &end, 10);

		if (end != l && i < s->nr_pushes && *end == ' ') {
			if (!strncmp(end, " present\n", 9) ||
			    (!strncmp(end, " present", 8) &&
			     end + 8 == l + len))
				have[i] = HAVE_DEST;
			else if (!strncmp(end, " staged", 7) &&
				 end + 7 == l + len && have[i] != HAVE_DEST)
				have[i] = HAVE_STAGED;
		}
		l += len + (l[len] == '\n');
	}
}

void script_transfer(const struct script_push *p, struct buf *cmd)
{
	const char *slash = strrchr(p->staged, '/');

	/* Root's alone (umask 077); a part left by a transfer that was cut
	 * off is replaced; the trap removes this one unless it is done. */
	buf_adds(cmd, "umask 077; f=");
	quote(cmd, p->staged);
	buf_adds(cmd, "; d=");
	template_shell_quote(cmd, p->staged, (size_t)(slash - p->staged));
	buf_addf(cmd,
		 "; mkdir -p \"$d\" && chmod 700 " COMPILE_STAGE_DIR
		 " \"$d\" || exit 1; "
		 "rm -f \"$f.part\"; trap 'rm -f \"$f.part\"' EXIT; "
		 "trap 'exit 1' HUP INT TERM PIPE; "
		 "cat >\"$f.part\" || exit 1; "
		 "h=$(sha256sum <\"$f.part\") || exit 1; h=${h%%%% *}; "
		 "if [ \"$h\" != %s ]; then "
		 "echo \"artifact %s arrived damaged: sha256 $h, expected "
		 "%s ($(wc -c <\"$f.part\") bytes came)\" >&2; exit 1; fi; "
		 "mv -f \"$f.part\" \"$f\"",
		 p->sha256, p->name, p->sha256);
}

/* --- docker save tarballs ----------------------------------------------- */

#define TAR_BLOCK    512
#define MAX_MANIFEST (1u << 20)

/* A tar header's number: octal, or base-256 (GNU, for sizes > 8 GiB). */
static int tar_number(const unsigned char *f, size_t n, unsigned long long *v)
{
	*v = 0;
	if (f[0] & 0x80) {
		for (size_t i = 1; i < n; i++) {
			if (*v >> 55)
				return -1;
			*v = *v << 8 | f[i];
		}
		return 0;
	}
	for (size_t i = 0; i < n && f[i] != '\0' && f[i] != ' '; i++) {
		if (f[i] < '0' || f[i] > '7' || *v >> 60)
			return -1;
		*v = *v << 3 | (unsigned)(f[i] - '0');
	}
	return 0;
}

static bool all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* "blobs/sha256/HEX" or "HEX.json" as "sha256:HEX"; false if neither. */
static bool config_id(const char *config, struct buf *out)
{
	const char *hex = config;
	size_t len = strlen(config);

	if (!strncmp(hex, "blobs/sha256/", 13)) {
		hex += 13;
		len -= 13;
	} else if (len == 69 && !strcmp(hex + 64, ".json")) {
		len = 64;
	}
	if (len != 64 || strspn(hex, "0123456789abcdef") < 64)
		return false;
	buf_addf(out, "%ssha256:%.64s", out->len ? " " : "", hex);
	return true;
}

static bool tags_hold(const cJSON *tags, const char *ref)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tags)
	{
		if (!cJSON_IsString(t))
			continue;
		if (!strcmp(t->valuestring, ref))
			return true;
		/* docker.io/library/x:1 is saved as x:1 */
		if (!strncmp(ref, "docker.io/", 10) &&
		    (!strcmp(t->valuestring, ref + 10) ||
		     (!strncmp(ref + 10, "library/", 8) &&
		      !strcmp(t->valuestring, ref + 18))))
			return true;
	}
	return false;
}

/* manifest.json: the config of the image tagged ref, else of the only
 * image. */
static void manifest_ids(const cJSON *m, const char *ref, struct buf *out)
{
	const cJSON *it, *pick = NULL;

	cJSON_ArrayForEach(it, m)
	{
		if (tags_hold(cJSON_GetObjectItemCaseSensitive(it, "RepoTags"),
			      ref))
			pick = it;
	}
	if (!pick && cJSON_GetArraySize(m) == 1)
		pick = cJSON_GetArrayItem(m, 0);
	it = pick ? cJSON_GetObjectItemCaseSensitive(pick, "Config") : NULL;
	if (cJSON_IsString(it))
		config_id(it->valuestring, out);
}

/* index.json (OCI layout): its manifests' digests. */
static void index_ids(const cJSON *x, struct buf *out)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(x, "manifests"))
	{
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "digest");

		if (cJSON_IsString(d) && !strncmp(d->valuestring, "sha256:", 7))
			config_id(d->valuestring + 7, out);
	}
}

int docker_tar_image_ids(const char *path, const char *ref, struct buf *out,
			 struct error *err)
{
	unsigned char h[TAR_BLOCK];
	off_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	bool seen_manifest = false;

	buf_init(out, 0);
	if (fd < 0)
		return error_set(err, DEPLOY_ERR_IO, path, 0, 0,
				 "cannot read: %s", strerror(errno));
	for (;;) {
		unsigned long long size;
		char name[260];
		ssize_t n = pread(fd, h, sizeof(h), off);

		if (n != (ssize_t)sizeof(h) || all_zero(h, sizeof(h)))
			break;
		if (tar_number(h + 124, 12, &size) ||
		    size > (unsigned long long)1 << 50) {
			rc = error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
				       "not a tarball (a header at byte %lld "
				       "is damaged)",
				       (long long)off);
			break;
		}
		/* ustar: prefix/name; docker's names are short. */
		if (h[345])
			snprintf(name, sizeof(name), "%.155s/%.100s", h + 345,
				 h);
		else
			snprintf(name, sizeof(name), "%.100s", h);
		if ((h[156] == '0' || h[156] == '\0') && size <= MAX_MANIFEST &&
		    (!strcmp(name, "manifest.json") ||
		     !strcmp(name, "./manifest.json") ||
		     !strcmp(name, "index.json") ||
		     !strcmp(name, "./index.json"))) {
			char *text = xmalloc((size_t)size + 1);
			cJSON *j = NULL;

			if (pread(fd, text, (size_t)size, off + TAR_BLOCK) ==
			    (ssize_t)size) {
				text[size] = '\0';
				j = cJSON_Parse(text);
			}
			if (strstr(name, "manifest.json")) {
				seen_manifest = true;
				manifest_ids(j, ref, out);
			} else {
				index_ids(j, out);
			}
			cJSON_Delete(j);
			free(text);
		}
		off += TAR_BLOCK +
		       (off_t)((size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK);
	}
	close(fd);
	if (!rc && !out->len)
		rc = error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
			       "not a 'docker save' tarball holding '%s' (%s)",
			       ref,
			       seen_manifest ? "its manifest.json names no "
					       "such image"
					     : "no manifest.json in it");
	return rc;
}
