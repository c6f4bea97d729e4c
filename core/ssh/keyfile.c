/* SPDX-License-Identifier: MIT */
/* Private key files: encrypted or not, their public key. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh/keyfile.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define KEYFILE_MAX	   (256u << 10)
#define OPENSSH_BEGIN	   "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END	   "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC	   "openssh-key-v1"
#define PKCS8_ENCRYPTED	   "-----BEGIN ENCRYPTED PRIVATE KEY-----"
#define PEM_ENCRYPTED	   "Proc-Type: 4,ENCRYPTED"
#define PEM_PRIVATE_SUFFIX "PRIVATE KEY-----"

struct reader {
	const unsigned char *p;
	size_t left;
};

/* An SSH "string": a 32-bit length, then that many bytes. */
static bool read_string(struct reader *r, const unsigned char **s, size_t *n)
{
	uint32_t len;

	if (r->left < 4)
		return false;
	len = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	      (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	if (len > r->left - 4)
		return false;
	*s = r->p + 4;
	*n = len;
	r->p += 4 + len;
	r->left -= 4 + len;
	return true;
}

/*
 * PROTOCOL.key: "openssh-key-v1\0", string ciphername, string kdfname,
 * string kdfoptions, uint32 number of keys, string public key, ...
 */
static int parse_openssh(const char *path, const char *text, size_t len,
			 struct keyfile_info *info, struct error *err)
{
	const char *begin = strstr(text, OPENSSH_BEGIN) + strlen(OPENSSH_BEGIN);
	const char *end = strstr(begin, OPENSSH_END);
	const unsigned char *cipher, *kdf, *opts, *pub;
	size_t cipher_len, kdf_len, opts_len, pub_len;
	struct buf b64, bin;
	struct reader r;
	int rc = 0;

	(void)len;
	buf_init(&b64, KEYFILE_MAX);
	buf_init(&bin, KEYFILE_MAX);
	if (!end) {
		rc = DEPLOY_ERR_INVALID;
		goto out;
	}
	for (const char *p = begin; p < end; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			buf_addch(&b64, *p);
	if (base64_decode(&bin, b64.data, b64.len) ||
	    bin.len < sizeof(OPENSSH_MAGIC) ||
	    memcmp(bin.data, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC))) {
		rc = DEPLOY_ERR_INVALID;
		goto out;
	}
	r.p = (const unsigned char *)bin.data + sizeof(OPENSSH_MAGIC);
	r.left = bin.len - sizeof(OPENSSH_MAGIC);
	if (!read_string(&r, &cipher, &cipher_len) ||
	    !read_string(&r, &kdf, &kdf_len) ||
	    !read_string(&r, &opts, &opts_len) || r.left < 4) {
		rc = DEPLOY_ERR_INVALID;
		goto out;
	}
	r.p += 4;
	r.left -= 4;
	if (!read_string(&r, &pub, &pub_len) || !pub_len) {
		rc = DEPLOY_ERR_INVALID;
		goto out;
	}
	info->encrypted = !(cipher_len == 4 && !memcmp(cipher, "none", 4));
	info->pub = xmalloc(pub_len);
	memcpy(info->pub, pub, pub_len);
	info->pub_len = pub_len;
out:
	if (rc)
		error_set(err, rc, path, 0, 0,
			  "not a private key in OpenSSH's format (a damaged "
			  "file?)");
	/* An unencrypted key is in these in the clear. */
	buf_free_secret(&b64);
	buf_free_secret(&bin);
	return rc;
}

/* text is NUL-terminated at len and holds no other NUL. */
static int inspect(const char *path, const char *text, size_t len,
		   struct keyfile_info *info, struct error *err)
{
	const char *begin;

	if (strstr(text, OPENSSH_BEGIN))
		return parse_openssh(path, text, len, info, err);
	if (strstr(text, PKCS8_ENCRYPTED)) {
		info->encrypted = true;
		return 0;
	}
	begin = strstr(text, "-----BEGIN ");
	if (begin) {
		const char *eol = strchr(begin, '\n');
		size_t n = eol ? (size_t)(eol - begin) : strlen(begin);
		size_t sl = strlen(PEM_PRIVATE_SUFFIX);

		while (n && (begin[n - 1] == '\r' || begin[n - 1] == ' '))
			n--;
		if (n >= sl &&
		    !memcmp(begin + n - sl, PEM_PRIVATE_SUFFIX, sl)) {
			info->encrypted = strstr(text, PEM_ENCRYPTED) != NULL;
			return 0;
		}
	}
	return error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
			 "not a private key (a public key or another file?)");
}

int keyfile_inspect_text(const char *path, const char *text, size_t len,
			 struct keyfile_info *info, struct error *err)
{
	struct buf copy;
	int rc;

	/* Read no byte past len: the text need not end with a NUL. */
	memset(info, 0, sizeof(*info));
	if (memchr(text, '\0', len))
		return error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
				 "not a private key (binary data)");
	buf_init(&copy, KEYFILE_MAX);
	if (buf_add(&copy, text, len))
		return error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
				 "not a private key (larger than %u bytes)",
				 KEYFILE_MAX);
	rc = inspect(path, copy.data, copy.len, info, err);
	buf_free_secret(&copy); /* an unencrypted key is in it */
	return rc;
}

int keyfile_inspect(const char *path, struct keyfile_info *info,
		    struct error *err)
{
	struct buf text;
	int rc;

	memset(info, 0, sizeof(*info));
	buf_init(&text, KEYFILE_MAX);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_NOT_FOUND)
		error_set(err, rc, path, 0, 0, "key file does not exist");
	else if (rc == DEPLOY_ERR_TOO_BIG)
		error_set(err, DEPLOY_ERR_INVALID, path, 0, 0,
			  "not a private key (larger than %u bytes)",
			  KEYFILE_MAX);
	else if (rc)
		error_set(err, rc, path, 0, 0, "cannot read: %s",
			  strerror(errno));
	else
		rc = keyfile_inspect_text(path, text.data, text.len, info, err);
	if (rc == DEPLOY_ERR_TOO_BIG)
		rc = DEPLOY_ERR_INVALID;
	/* The file may hold a key in the clear: wipe our copy. */
	buf_free_secret(&text);
	return rc;
}

void keyfile_info_free(struct keyfile_info *info)
{
	free(info->pub);
	info->pub = NULL;
	info->pub_len = 0;
}
