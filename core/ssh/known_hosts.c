/* SPDX-License-Identifier: MIT */
/* Host keys: OpenSSH known_hosts files and the one host key policy. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ssh/known_hosts.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define KH_MAX_FILE  (16u << 20)
#define SHA1_LEN     20
#define HASH_MAGIC   "|1|"
#define MAX_KEY_BLOB 16384

struct kh_entry {
	bool hashed;
	bool revoked;
	bool pending;	/* added this run, not yet in the file */
	char *patterns; /* plain entries: comma-separated, owned */
	unsigned char salt[SHA1_LEN];
	unsigned char hash[SHA1_LEN];
	char type[KH_TYPE_SIZE];
	unsigned char *blob;
	size_t blob_len;
	size_t line; /* 1-based; 0 for keys added this run */
};

struct known_hosts {
	char *path;
	struct kh_entry *entries;
	size_t nr;
	size_t alloc;
	size_t nr_pending;
};

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

bool known_hosts_blob_type(const void *blob, size_t len, char *out, size_t size)
{
	const unsigned char *p = blob;
	uint32_t n;

	if (len < 4)
		return false;
	n = get_u32(p);
	if (n == 0 || n >= size || n > len - 4)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!isgraph(p[4 + i]))
			return false;
	memcpy(out, p + 4, n);
	out[n] = '\0';
	return true;
}

const char *known_hosts_type_label(const char *type)
{
	if (!strcmp(type, "ssh-ed25519"))
		return "ED25519";
	if (!strncmp(type, "ecdsa-sha2-", 11))
		return "ECDSA";
	if (!strcmp(type, "ssh-rsa"))
		return "RSA";
	if (!strcmp(type, "ssh-dss"))
		return "DSA";
	return type;
}

void known_hosts_fingerprint(const void *blob, size_t len,
			     char out[KH_FINGERPRINT_SIZE])
{
	unsigned char md[32];
	unsigned int md_len = 0;
	struct buf b;

	EVP_Digest(blob, len, md, &md_len, EVP_sha256(), NULL);
	buf_init(&b, 0);
	buf_adds(&b, "SHA256:");
	base64_encode(&b, md, md_len, false);
	snprintf(out, KH_FINGERPRINT_SIZE, "%s", b.data);
	buf_free(&b);
}

void known_hosts_name(const char *host, int port, char *out, size_t size)
{
	if (port == 22 || port <= 0)
		snprintf(out, size, "%s", host);
	else
		snprintf(out, size, "[%s]:%d", host, port);
}

const char *known_hosts_path(const struct known_hosts *kh)
{
	return kh->path;
}

size_t known_hosts_count(const struct known_hosts *kh)
{
	return kh->nr;
}

bool known_hosts_dirty(const struct known_hosts *kh)
{
	return kh->nr_pending > 0;
}

/*
 * Glob with '*' and '?', case-insensitive (OpenSSH's match_pattern). One
 * pass with the last '*' remembered: O(len(s) * plen) at worst, whatever
 * the pattern (a known_hosts line full of '*' once took exponential time).
 */
static bool glob_match(const char *s, const char *p, size_t plen)
{
	const char *star_s = NULL;
	size_t pi = 0, star_p = 0;

	while (*s) {
		if (pi < plen && p[pi] == '*') {
			star_p = ++pi; /* '*' matches nothing, for now */
			star_s = s;
		} else if (pi < plen && (p[pi] == '?' ||
					 tolower((unsigned char)p[pi]) ==
						 tolower((unsigned char)*s))) {
			pi++;
			s++;
		} else if (star_s) {
			pi = star_p; /* the last '*' takes one more byte */
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* OpenSSH's match_hostname: a negated pattern that matches wins. */
static bool patterns_match(const char *patterns, const char *name)
{
	bool matched = false;
	const char *p = patterns;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool negate = len && *p == '!';

		if (glob_match(name, p + negate, len - negate)) {
			if (negate)
				return false;
			matched = true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return matched;
}

static bool hashed_match(const struct kh_entry *e, const char *name)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!HMAC(EVP_sha1(), e->salt, SHA1_LEN, (const unsigned char *)name,
		  strlen(name), md, &md_len))
		return false;
	return md_len == SHA1_LEN && !CRYPTO_memcmp(md, e->hash, SHA1_LEN);
}

static bool entry_matches(const struct kh_entry *e, const char *name)
{
	return e->hashed ? hashed_match(e, name)
			 : patterns_match(e->patterns, name);
}

/* Decode base64 of exactly `want` bytes into out. */
static bool decode_exact(const char *text, size_t len, unsigned char *out,
			 size_t want)
{
	struct buf b;
	bool ok;

	buf_init(&b, 64);
	ok = !base64_decode(&b, text, len) && b.len == want;
	if (ok)
		memcpy(out, b.data, want);
	buf_free(&b);
	return ok;
}

/* "|1|SALT|HASH" into e; false when it is not well formed. */
static bool parse_hashed(struct kh_entry *e, const char *field, size_t len)
{
	const char *salt = field + strlen(HASH_MAGIC), *bar;
	const char *end = field + len;

	bar = memchr(salt, '|', (size_t)(end - salt));
	if (!bar)
		return false;
	e->hashed = true;
	return decode_exact(salt, (size_t)(bar - salt), e->salt, SHA1_LEN) &&
	       decode_exact(bar + 1, (size_t)(end - bar - 1), e->hash,
			    SHA1_LEN);
}

/* The next whitespace-separated field of *p, advancing *p past it. */
static size_t next_field(const char **p, const char **start)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	*start = s;
	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	*p = s + n;
	return n;
}

static void add_entry(struct known_hosts *kh, const struct kh_entry *e)
{
	XGROW(kh->entries, kh->alloc, kh->nr + 1);
	kh->entries[kh->nr++] = *e;
}

static void entry_free(struct kh_entry *e)
{
	free(e->patterns);
	free(e->blob);
}

/* One line (NUL-terminated, no newline); a line that does not parse is
 * skipped, as ssh skips it. */
static void parse_line(struct known_hosts *kh, const char *line, size_t lineno)
{
	struct kh_entry e = { 0 };
	const char *p = line, *f, *bt;
	size_t n, tn;
	struct buf blob;
	char blob_type[KH_TYPE_SIZE];

	n = next_field(&p, &f);
	if (!n || *f == '#')
		return;
	if (*f == '@') {
		if (n == 8 && !strncmp(f, "@revoked", 8))
			e.revoked = true;
		else
			return; /* @cert-authority, or a marker we do not know
				 */
		n = next_field(&p, &f);
		if (!n)
			return;
	}
	if (n > strlen(HASH_MAGIC) && !strncmp(f, HASH_MAGIC, 3)) {
		if (!parse_hashed(&e, f, n))
			return;
	} else {
		e.patterns = xstrndup(f, n);
	}
	tn = next_field(&p, &bt);
	n = next_field(&p, &f);
	if (!tn || tn >= KH_TYPE_SIZE || !n)
		goto out;
	memcpy(e.type, bt, tn);
	e.type[tn] = '\0';
	buf_init(&blob, MAX_KEY_BLOB);
	if (base64_decode(&blob, f, n) ||
	    !known_hosts_blob_type(blob.data, blob.len, blob_type,
				   sizeof(blob_type)) ||
	    strcmp(blob_type, e.type)) {
		buf_free(&blob);
		goto out;
	}
	e.blob_len = blob.len;
	e.blob = (unsigned char *)buf_release(&blob);
	e.line = lineno;
	add_entry(kh, &e);
	return;
out:
	entry_free(&e);
}

int known_hosts_parse(const char *path, const char *text, size_t len,
		      struct known_hosts **out, struct error *err)
{
	struct known_hosts *kh = xcalloc(1, sizeof(*kh));
	size_t lineno = 0, pos = 0;

	(void)err;
	kh->path = xstrdup(path);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		char *line = xstrndup(text + pos, end - pos);
		size_t l = strlen(line);

		if (l && line[l - 1] == '\r')
			line[l - 1] = '\0';
		parse_line(kh, line, ++lineno);
		free(line);
		pos = end + 1;
	}
	*out = kh;
	return 0;
}

int known_hosts_load(const char *path, struct known_hosts **out,
		     struct error *err)
{
	struct buf text;
	int rc;

	*out = NULL;
	buf_init(&text, KH_MAX_FILE);
	rc = buf_read_file(&text, path);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		buf_reset(&text);
		rc = 0;
	}
	if (rc == DEPLOY_ERR_TOO_BIG)
		error_set(err, rc, path, 0, 0, "file is larger than %u bytes",
			  KH_MAX_FILE);
	else if (rc)
		error_set(err, rc, path, 0, 0, "cannot read: %s",
			  strerror(errno));
	if (!rc)
		rc = known_hosts_parse(path, text.data, text.len, out, err);
	buf_free(&text);
	return rc;
}

void known_hosts_free(struct known_hosts *kh)
{
	if (!kh)
		return;
	for (size_t i = 0; i < kh->nr; i++)
		entry_free(&kh->entries[i]);
	free(kh->entries);
	free(kh->path);
	free(kh);
}

static bool same_key(const struct kh_entry *e, const void *blob, size_t len)
{
	return e->blob_len == len && !memcmp(e->blob, blob, len);
}

static void describe(struct kh_check *out, const struct kh_entry *e)
{
	out->line = e->line;
	snprintf(out->known_type, sizeof(out->known_type), "%s", e->type);
	known_hosts_fingerprint(e->blob, e->blob_len, out->known_fingerprint);
}

void known_hosts_check(const struct known_hosts *kh, const char *host, int port,
		       const void *blob, size_t len, struct kh_check *out)
{
	const struct kh_entry *changed = NULL, *other = NULL;
	char name[300], type[KH_TYPE_SIZE];
	bool matched = false;

	memset(out, 0, sizeof(*out));
	known_hosts_name(host, port, name, sizeof(name));
	if (!known_hosts_blob_type(blob, len, type, sizeof(type)))
		type[0] = '\0';
	for (size_t i = 0; i < kh->nr; i++) {
		const struct kh_entry *e = &kh->entries[i];

		if (!entry_matches(e, name))
			continue;
		if (e->revoked) {
			if (same_key(e, blob, len)) {
				out->status = KH_REVOKED;
				describe(out, e);
				return;
			}
			continue;
		}
		if (strcmp(e->type, type)) {
			if (!other)
				other = e;
		} else if (same_key(e, blob, len)) {
			matched = true;
		} else if (!changed) {
			changed = e;
		}
	}
	if (matched) {
		out->status = KH_MATCH;
	} else if (changed) {
		out->status = KH_CHANGED;
		describe(out, changed);
	} else if (other) {
		out->status = KH_OTHER_TYPE;
		describe(out, other);
	} else {
		out->status = KH_NOT_FOUND;
	}
}

void known_hosts_types(const struct known_hosts *kh, const char *host, int port,
		       char *out, size_t size)
{
	struct buf list;
	char name[300];

	known_hosts_name(host, port, name, sizeof(name));
	buf_init(&list, 0);
	for (size_t i = 0; i < kh->nr; i++) {
		const struct kh_entry *e = &kh->entries[i];
		bool seen = false;

		if (e->revoked || !entry_matches(e, name))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !kh->entries[j].revoked &&
			       !strcmp(kh->entries[j].type, e->type) &&
			       entry_matches(&kh->entries[j], name);
		if (!seen)
			buf_addf(&list, "%s%s", list.len ? "," : "", e->type);
	}
	snprintf(out, size, "%s", list.data);
	buf_free(&list);
}

int known_hosts_add(struct known_hosts *kh, const char *host, int port,
		    const void *blob, size_t len, struct error *err)
{
	struct kh_entry e = { 0 };
	char name[300];

	if (!known_hosts_blob_type(blob, len, e.type, sizeof(e.type)))
		return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
				 "host key of '%s' is not a key", host);
	known_hosts_name(host, port, name, sizeof(name));
	e.patterns = xstrdup(name);
	e.blob = xmalloc(len);
	memcpy(e.blob, blob, len);
	e.blob_len = len;
	e.pending = true;
	add_entry(kh, &e);
	kh->nr_pending++;
	return 0;
}

/* Whether text holds line (ending in '\n') as one of its lines. */
static bool has_line(const struct buf *text, const struct buf *line)
{
	const char *p = text->data;

	while ((p = strstr(p, line->data)) != NULL) {
		if (p == text->data || p[-1] == '\n')
			return true;
		p++;
	}
	return false;
}

/* The new lines, each "NAME TYPE BASE64\n", leaving out any that `have`
 * holds already (another process may have written it meanwhile). */
static void pending_lines(const struct known_hosts *kh, const struct buf *have,
			  struct buf *out)
{
	for (size_t i = 0; i < kh->nr; i++) {
		const struct kh_entry *e = &kh->entries[i];
		struct buf line;

		if (!e->pending)
			continue;
		buf_init(&line, 0);
		buf_addf(&line, "%s %s ", e->patterns, e->type);
		base64_encode(&line, e->blob, e->blob_len, true);
		buf_addch(&line, '\n');
		if (!has_line(have, &line) && !has_line(out, &line))
			buf_add(out, line.data, line.len);
		buf_free(&line);
	}
}

int known_hosts_flush(struct known_hosts *kh, struct error *err)
{
	char *dir = NULL, *target = NULL;
	struct buf have, add, all = BUF_INIT;
	struct stat st;
	mode_t mode = 0600;
	int dirfd = -1, rc = 0;

	buf_init(&have, KH_MAX_FILE);
	buf_init(&add, 0);
	if (!kh->nr_pending)
		goto out;
	/* Write through a symbolic link to the file it names. */
	target = realpath(kh->path, NULL);
	if (!target)
		target = xstrdup(kh->path);
	dir = dir_of(target);
	rc = mkdir_p(dir, 0700, err);
	if (rc)
		goto out;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX)) {
		rc = error_set(err, DEPLOY_ERR_IO, dir, 0, 0, "cannot lock: %s",
			       strerror(errno));
		goto out;
	}
	rc = buf_read_file(&have, target);
	if (rc == DEPLOY_ERR_NOT_FOUND) {
		rc = 0;
	} else if (rc) {
		rc = error_set(err, rc, target, 0, 0, "cannot read: %s",
			       rc == DEPLOY_ERR_TOO_BIG ? "file too large"
							: strerror(errno));
		goto out;
	}
	if (!stat(target, &st))
		mode = st.st_mode & 07777;
	pending_lines(kh, &have, &add);
	if (add.len) {
		/* The file as it is now, its last line ended, the new lines. */
		buf_add(&all, have.data, have.len);
		if (have.len && have.data[have.len - 1] != '\n')
			buf_addch(&all, '\n');
		buf_add(&all, add.data, add.len);
		rc = file_replace(target, all.data, all.len, mode, NULL, NULL,
				  err);
	}
	if (!rc) {
		for (size_t i = 0; i < kh->nr; i++)
			kh->entries[i].pending = false;
		kh->nr_pending = 0;
	}
out:
	if (dirfd >= 0)
		close(dirfd); /* releases the lock */
	buf_free(&have);
	buf_free(&add);
	buf_free(&all);
	free(dir);
	free(target);
	return rc;
}

/* The key pinned in the state file is the only one accepted. */
static int verify_pinned(const struct kh_subject *s, const char *subject,
			 const void *blob, size_t len, struct kh_verify *out,
			 struct error *err)
{
	const char *b64 = strchr(s->pinned, ' ');
	struct buf pin = BUF_INIT;
	bool same;

	b64 = b64 ? b64 + 1 : s->pinned;
	if (base64_decode(&pin, b64, strcspn(b64, " \t\r\n")) ||
	    !known_hosts_blob_type(pin.data, pin.len, out->known_type,
				   sizeof(out->known_type))) {
		buf_free(&pin);
		out->verdict = KH_VERDICT_UNREADABLE;
		return error_set(err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
				 "host key of %s pinned in the state file "
				 "cannot be read",
				 subject);
	}
	same = pin.len == len && !memcmp(pin.data, blob, len);
	known_hosts_fingerprint(pin.data, pin.len, out->known_fingerprint);
	buf_free(&pin);
	if (same) {
		out->verdict = KH_VERDICT_MATCH;
		return 0;
	}
	out->verdict = KH_VERDICT_CHANGED;
	return error_set(err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
			 "host key of %s has changed: the state file pins %s "
			 "key %s, the host presented %s key %s",
			 subject, known_hosts_type_label(out->known_type),
			 out->known_fingerprint,
			 known_hosts_type_label(out->type), out->fingerprint);
}

int known_hosts_verify(struct known_hosts *kh, const struct kh_subject *s,
		       const void *blob, size_t len, struct kh_verify *out,
		       struct error *err)
{
	char subject[400], where[PATH_MAX + 32];
	const char *type = out->type, *fp = out->fingerprint;
	struct kh_check c;

	memset(out, 0, sizeof(*out));
	known_hosts_name(s->host, s->port, out->name, sizeof(out->name));
	if (s->label)
		snprintf(subject, sizeof(subject), "'%s' (%s)", s->label,
			 out->name);
	else
		snprintf(subject, sizeof(subject), "%s", out->name);
	if (!blob ||
	    !known_hosts_blob_type(blob, len, out->type, sizeof(out->type))) {
		out->verdict = KH_VERDICT_UNREADABLE;
		return error_set(err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
				 "host %s sent no host key we can read",
				 subject);
	}
	known_hosts_fingerprint(blob, len, out->fingerprint);
	if (s->pinned)
		return verify_pinned(s, subject, blob, len, out, err);
	known_hosts_check(kh, s->host, s->port, blob, len, &c);
	out->line = c.line;
	snprintf(out->known_type, sizeof(out->known_type), "%s", c.known_type);
	snprintf(out->known_fingerprint, sizeof(out->known_fingerprint), "%s",
		 c.known_fingerprint);
	if (c.line)
		snprintf(where, sizeof(where), "%s:%zu", kh->path, c.line);
	else
		snprintf(where, sizeof(where), "%s (added in this run)",
			 kh->path);
	switch (c.status) {
	case KH_MATCH:
		out->verdict = KH_VERDICT_MATCH;
		return 0;
	case KH_NOT_FOUND:
		if (s->strict) {
			out->verdict = KH_VERDICT_UNKNOWN;
			return error_set(
				err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
				"host key of %s is not known and "
				"ssh.host_keys is strict: the host presented "
				"%s key %s; check it and add it to %s",
				subject, known_hosts_type_label(type), fp,
				kh->path);
		}
		out->verdict = KH_VERDICT_ADDED;
		return known_hosts_add(kh, s->host, s->port, blob, len, err);
	case KH_CHANGED:
	case KH_OTHER_TYPE:
		out->verdict = KH_VERDICT_CHANGED;
		return error_set(
			err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
			"host key of %s has changed: %s has %s key "
			"%s, the host presented %s key %s; if the "
			"host was reinstalled, remove the old key "
			"with: ssh-keygen -R '%s' -f %s",
			subject, where, known_hosts_type_label(c.known_type),
			c.known_fingerprint, known_hosts_type_label(type), fp,
			out->name, kh->path);
	case KH_REVOKED:
		out->verdict = KH_VERDICT_REVOKED;
		return error_set(err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
				 "host key of %s is revoked in %s: %s key %s",
				 subject, where, known_hosts_type_label(type),
				 fp);
	}
	out->verdict = KH_VERDICT_UNREADABLE;
	return error_set(err, DEPLOY_ERR_HOST_KEY, NULL, 0, 0,
			 "host key of %s cannot be checked", subject);
}
