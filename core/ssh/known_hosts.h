/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_KNOWN_HOSTS_H
#define DEPLOY_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * Host keys in OpenSSH's known_hosts format (sshd(8), "SSH_KNOWN_HOSTS FILE
 * FORMAT"): one key per line as `[MARKER] HOSTPATTERNS KEYTYPE BASE64
 * [COMMENT]`, where
 *   - HOSTPATTERNS is a comma-separated list of names with `*` and `?`
 *     wildcards and `!` negation, a host on a port other than 22 written
 *     `[host]:port`, or one hashed name `|1|BASE64(SALT)|BASE64(HMAC-SHA1)`;
 *   - MARKER `@revoked` marks a key that is refused wherever it shows up,
 *     and `@cert-authority` lines (certificate authorities) are skipped;
 *   - `#` starts a comment line; blank lines are skipped.
 * Lines that do not parse are skipped, as ssh does.
 *
 * The file is read once (known_hosts_load); lookups work on that copy. Keys
 * added during a run go into the copy at once and to the file when
 * known_hosts_flush() runs: under an exclusive flock(2) on the file's
 * directory (other deploy processes), the file as it is now plus the new
 * lines is written to a temporary file in the same directory, fsynced and
 * renamed over it, so a reader sees either the old file or the new one.
 * One process is single-threaded here, which serializes its own writes.
 */

/* "SHA256:" + 43 characters of unpadded base64 + NUL. */
#define KH_FINGERPRINT_SIZE 51
/* Longest key type name we keep ("ecdsa-sha2-nistp521", "ssh-ed25519"). */
#define KH_TYPE_SIZE 64

struct known_hosts;

enum kh_status {
	KH_MATCH,      /* a line for the host has this very key */
	KH_NOT_FOUND,  /* no line for the host */
	KH_CHANGED,    /* lines for the host with this key type, none equal */
	KH_OTHER_TYPE, /* lines for the host, none with this key type */
	KH_REVOKED,    /* an @revoked line matching the host has this key */
};

struct kh_check {
	enum kh_status status;
	/* KH_CHANGED, KH_OTHER_TYPE, KH_REVOKED: the line it is about */
	size_t line;
	char known_type[KH_TYPE_SIZE];
	char known_fingerprint[KH_FINGERPRINT_SIZE];
};

/*
 * Read `path`. A file that does not exist is an empty list (it is created
 * when the first key is added). DEPLOY_ERR_IO or DEPLOY_ERR_TOO_BIG (past
 * 16 MiB) with err set otherwise.
 */
int known_hosts_load(const char *path, struct known_hosts **out,
		     struct error *err);
/* The same from text in memory; flushing it writes to `path`. */
int known_hosts_parse(const char *path, const char *text, size_t len,
		      struct known_hosts **out, struct error *err);
void known_hosts_free(struct known_hosts *kh);
const char *known_hosts_path(const struct known_hosts *kh);
/* Lines that held a key (for tests and messages). */
size_t known_hosts_count(const struct known_hosts *kh);

/*
 * The name a host is filed under: "host" on port 22, "[host]:port" on any
 * other, into out (at least strlen(host) + 9 bytes).
 */
void known_hosts_name(const char *host, int port, char *out, size_t size);

/* Look up `host` on `port` with the key it presented (the SSH wire blob). */
void known_hosts_check(const struct known_hosts *kh, const char *host, int port,
		       const void *blob, size_t len, struct kh_check *out);

/*
 * The one host key policy, for every SSH connection deploy makes (the SSH
 * engine, git over ssh): what is decided about the key a host presented.
 */
enum kh_verdict {
	KH_VERDICT_MATCH,      /* known (or pinned): accepted */
	KH_VERDICT_ADDED,      /* unknown, accepted and added (accept-new) */
	KH_VERDICT_UNKNOWN,    /* unknown, refused: ssh.host_keys is strict */
	KH_VERDICT_CHANGED,    /* another key is known or pinned for it */
	KH_VERDICT_REVOKED,    /* the key is marked @revoked */
	KH_VERDICT_UNREADABLE, /* no key we can read, sent or pinned */
};

/* The host whose key is checked, and the policy for it. */
struct kh_subject {
	const char *label; /* the host's name in messages, or NULL */
	const char *host;  /* the address it is filed under */
	int port;
	/* "TYPE BASE64" pinned in the state file: the only key accepted,
	 * and known_hosts is not used. MAY be NULL. */
	const char *pinned;
	bool strict; /* an unknown key is refused, not added */
};

struct kh_verify {
	enum kh_verdict verdict;
	char name[300]; /* "host", or "[host]:port" */
	/* The key the host presented. */
	char type[KH_TYPE_SIZE];
	char fingerprint[KH_FINGERPRINT_SIZE];
	/* CHANGED, REVOKED: the known or pinned key, and its line in
	 * known_hosts (0: pinned, or added in this run). */
	size_t line;
	char known_type[KH_TYPE_SIZE];
	char known_fingerprint[KH_FINGERPRINT_SIZE];
};

/*
 * Check the key s's host presented (the SSH wire blob; NULL when it sent
 * none we can use) under the policy, into out. 0 when it is accepted: a
 * match, or a new key added to kh (written at the next known_hosts_flush(),
 * which is the caller's to run). Otherwise DEPLOY_ERR_HOST_KEY (or the
 * error of adding the key) with err saying why in the words every caller
 * reports, both fingerprints included:
 *   host key of 'web-1' ([10.0.0.5]:2222) has changed: FILE:LINE has
 *   ED25519 key SHA256:..., the host presented ED25519 key SHA256:...; ...
 * (the subject is "'LABEL' (NAME)" with a label, NAME without).
 */
int known_hosts_verify(struct known_hosts *kh, const struct kh_subject *s,
		       const void *blob, size_t len, struct kh_verify *out,
		       struct error *err);

/*
 * The key types known for host:port, each once, in file order, as a
 * comma-separated list into out (empty when none): the host key algorithms
 * to offer first, so that a known host shows the key we can check.
 */
void known_hosts_types(const struct known_hosts *kh, const char *host, int port,
		       char *out, size_t size);

/*
 * Record host:port's key: in memory now, in the file at the next flush.
 * DEPLOY_ERR_INVALID for a blob that is not a key.
 */
int known_hosts_add(struct known_hosts *kh, const char *host, int port,
		    const void *blob, size_t len, struct error *err);
/* Whether keys wait for known_hosts_flush(). */
bool known_hosts_dirty(const struct known_hosts *kh);
/* Write the added keys to the file (see above). */
int known_hosts_flush(struct known_hosts *kh, struct error *err);

/* "SHA256:..." of a key blob, as ssh-keygen -l prints it. */
void known_hosts_fingerprint(const void *blob, size_t len,
			     char out[KH_FINGERPRINT_SIZE]);
/*
 * The key type named at the start of a key blob ("ssh-ed25519") into out;
 * false when the blob does not start with a sane one.
 */
bool known_hosts_blob_type(const void *blob, size_t len, char *out,
			   size_t size);
/* "ED25519", "ECDSA", "RSA", "DSA" for a key type, as ssh prints it. */
const char *known_hosts_type_label(const char *type);

#endif
